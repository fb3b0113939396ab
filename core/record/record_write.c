/* SPDX-License-Identifier: MIT */
/*
 * record_write.c - typed records -> the state (record_write.h). Members are written in the order
 * the state has always held them, so that snapshots stay comparable across versions.
 */
#include "record/record_write.h"
#include "record/record_json.h"

#include "base/error.h"
#include "base/outcome.h"
#include "base/util.h"

#include <string.h>

static void set_root(state *st, const char *key, json_t *v)
{
    const char *k[1] = {key};
    state_set(st, k, 1, v);
}

/* Add the steps flag[i] marks that the stored list `key` lacks. */
static void store_step_list(state *st, const json_t *old, const char *key, const char *const *steps,
                            const int *flag, size_t n)
{
    const json_t *was = json_object_get(old, key);
    json_t *a = json_is_array(was) ? json_deep_copy(was) : json_array();
    const char *path[2] = {"requirements", key};
    size_t added = 0;
    for (size_t i = 0; i < n; i++)
        if (flag[i] && !rj_in_array(a, steps[i])) {
            json_array_append_new(a, json_string(steps[i]));
            added++;
        }
    if (added || !json_is_array(was))
        state_set(st, path, 2, a);
    else
        json_decref(a);
}

void record_write_requirements(state *st, const char *profile, const char *const *steps,
                               const strvec *reqs, const int *required, const int *publishes,
                               size_t n)
{
    const json_t *old = json_object_get(state_root(st), "requirements");
    const char *path[3] = {"requirements", "steps", NULL};
    if (!json_is_object(old)) {
        json_t *o = json_object(), *s = json_object(), *rs = json_array(), *ps = json_array();
        for (size_t i = 0; i < n; i++) {
            if (required[i])
                json_array_append_new(rs, json_string(steps[i]));
            if (publishes[i])
                json_array_append_new(ps, json_string(steps[i]));
        }
        json_object_set_new(o, "required_steps", rs);
        json_object_set_new(o, "publishing_steps", ps);
        json_object_set_new(o, "profile", profile ? json_string(profile) : json_null());
        for (size_t i = 0; i < n; i++) {
            json_t *a = json_array();
            if (!reqs[i].n) {
                json_decref(a);
                continue;
            }
            for (size_t k = 0; k < reqs[i].n; k++)
                json_array_append_new(a, json_string(reqs[i].v[k]));
            json_object_set_new(s, steps[i], a);
        }
        json_object_set_new(o, "steps", s);
        path[1] = NULL;
        state_set(st, path, 1, o);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const json_t *was = json_object_get(json_object_get(old, "steps"), steps[i]);
        json_t *a;
        size_t added = 0;
        if (!reqs[i].n)
            continue;
        a = json_is_array(was) ? json_deep_copy(was) : json_array();
        for (size_t k = 0; k < reqs[i].n; k++)
            if (!rj_in_array(a, reqs[i].v[k])) {
                json_array_append_new(a, json_string(reqs[i].v[k]));
                added++;
            }
        path[2] = steps[i];
        if (added)
            state_set(st, path, 3, a);
        else
            json_decref(a);
    }
    store_step_list(st, old, "required_steps", steps, required, n);
    store_step_list(st, old, "publishing_steps", steps, publishes, n);
}

void record_write_run_start(state *st, const char *plan_path, const char *plan_name,
                            const char *plan_hash, const char *now)
{
    if (!json_is_string(json_object_get(state_root(st), "created_at")))
        set_root(st, "created_at", json_string(now));
    set_root(st, "plan", json_string(plan_path));
    set_root(st, "plan_name", json_string(plan_name));
    set_root(st, "plan_hash", json_string(plan_hash));
    set_root(st, "finished", json_false());
    set_root(st, "exit_code", json_null());
    set_root(st, "updated_at", json_string(now));
}

void record_write_run_end(state *st, const char *now, int finished, int exit_code)
{
    set_root(st, "updated_at", json_string(now));
    set_root(st, "finished", json_boolean(finished));
    set_root(st, "exit_code", json_integer(exit_code));
}

void record_write_plan_owner(state *st, const char *plan_path, const char *plan_name)
{
    set_root(st, "plan", json_string(plan_path));
    set_root(st, "plan_name", json_string(plan_name));
}

void record_write_published(state *st) { set_root(st, "published", json_true()); }

void record_write_sealed_env(state *st, const char *const *names, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, json_string(names[i]));
    set_root(st, "sealed_env", arr);
}

int record_write_waiver_add(state *st, const waiver_record *w)
{
    const char *k[1] = {"waivers"};
    json_t *list = json_deep_copy(json_object_get(state_root(st), "waivers"));
    if (!json_is_array(list)) {
        json_decref(list);
        list = json_array();
    }
    json_array_append_new(list, json_pack("{s:s, s:o, s:s, s:s, s:s, s:s, s:o}", "step", w->step,
                                          "validation", rj_str_or_null(w->validation), "reason",
                                          w->reason, "by", w->by, "host", w->host, "at", w->at,
                                          "expires", rj_str_or_null(w->expires)));
    return state_set(st, k, 1, list);
}

void record_write_candidate(state *st, const candidate_record *c)
{
    json_t *o = json_object();
    json_object_set_new(o, "commit", json_string(c->commit));
    json_object_set_new(o, "repo", json_string(c->repo));
    json_object_set_new(o, "ref", json_string(c->ref));
    json_object_set_new(o, "checkout", json_string(c->checkout));
    set_root(st, "candidate", o);
}

void record_write_drop_results(state *st)
{
    set_root(st, "jobs", NULL);
    set_root(st, "steps", NULL);
    set_root(st, "waivers", NULL);
}

void record_write_step(state *st, const step_write *s)
{
    const char *k[2] = {"steps", s->name};
    json_t *o = json_object(), *recs;
    char ts[32];
    json_object_set_new(o, "position", json_integer((json_int_t)s->position));
    json_object_set_new(o, "plugin", json_string(s->plugin));
    json_object_set_new(o, "required", json_boolean(s->required));
    json_object_set_new(o, "publishes", json_boolean(s->publishes));
    json_object_set_new(o, "outcome",
                        s->outcome ? json_string(outcome_name(s->outcome)) : json_null());
    json_object_set_new(o, "reason", rj_str_or_null(s->reason));
    json_object_set_new(o, "retryable", json_boolean(s->retryable));
    if (s->defers)
        json_object_set_new(o, "defers", json_integer(s->defers));
    json_object_set_new(o, "message", rj_str_or_null(s->message));
    if (s->waived_from)
        json_object_set_new(o, "waived_from",
                            json_pack("{s:s, s:o}", "outcome", outcome_name(s->waived_from),
                                      "reason", rj_str_or_null(s->waived_from_reason)));
    if (s->ran) {
        time_iso8601(s->started, ts, sizeof ts);
        json_object_set_new(o, "started_at", json_string(ts));
        time_iso8601(s->ended, ts, sizeof ts);
        json_object_set_new(o, "ended_at", json_string(ts));
        json_object_set_new(o, "duration_s", json_real(s->ended - s->started));
    }
    json_object_set_new(o, "evidence", s->evidence);
    if (s->in_flight)
        json_object_set_new(o, "in_flight", json_string(s->in_flight));
    recs = json_object_get(state_get(st, k, 2), "records");
    if (json_is_object(recs))
        json_object_set(o, "records", recs);
    json_object_set_new(o, "plan_hash", json_string(s->plan_hash));
    state_set(st, k, 2, o);
}

int record_write_step_in_flight(state *st, const char *step, const char *ts)
{
    const char *k[3] = {"steps", step, "in_flight"};
    state_set(st, k, 3, json_string(ts));
    return state_flush(st);
}

int record_write_step_delivery(state *st, const char *step, const char *key, const char *value)
{
    const char *path[4] = {"steps", step, "records", key};
    json_t *v = json_string(value);
    int rc;
    if (!v)
        return error_set(RELHOST_EINVAL, "delivery record %s of step %s is not valid UTF-8", key,
                         step);
    if ((rc = state_set(st, path, 4, v)) != 0)
        return rc;
    return state_flush(st);
}
