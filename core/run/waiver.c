/* SPDX-License-Identifier: MIT */
#include "run/waiver.h"

#include "base/error.h"
#include "base/log.h"
#include "base/outcome.h"
#include "base/util.h"
#include "plan/options.h"
#include "record/state.h"
#include "registry/audit.h"
#include "registry/registry.h"

#include <stdlib.h>
#include <string.h>

static const char *jstr(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static int live(const json_t *w, double now)
{
    const char *exp = jstr(w, "expires");
    return !exp || time_parse_iso8601(exp) > now;
}

const json_t *waiver_find(const json_t *root, const char *step, const char *validation,
                          double now)
{
    size_t i;
    json_t *w;
    json_array_foreach(json_object_get(root, "waivers"), i, w) {
        const char *wv = jstr(w, "validation");
        if (!jstr(w, "step") || strcmp(jstr(w, "step"), step) != 0 || !live(w, now))
            continue;
        if ((!validation && !wv) || (validation && wv && strcmp(validation, wv) == 0))
            return w;
    }
    return NULL;
}

const json_t *waiver_covering(const json_t *root, const char *step, double now)
{
    const json_t *w = waiver_find(root, step, NULL, now), *first = NULL;
    const char *id;
    json_t *job;
    int failing = 0;
    if (w)
        return w;
    json_object_foreach(json_object_get(root, "jobs"), id, job) {
        const char *js = jstr(job, "step"), *oc = jstr(job, "outcome");
        const json_t *vw;
        (void)id;
        if (!js || strcmp(js, step) != 0 || !oc || strcmp(oc, "PASSED") == 0)
            continue;
        failing++;
        vw = jstr(job, "validation") ? waiver_find(root, step, jstr(job, "validation"), now)
                                     : NULL;
        if (!vw)
            return NULL;
        if (!first)
            first = vw;
    }
    return failing ? first : NULL;
}

/* --expires: an ISO 8601 UTC time, or a duration from now ("7d", "12h"). */
static int parse_expiry(const char *s, double now, double *at)
{
    double d;
    if (options_parse_duration(s, &d) == 0) {
        *at = now + d;
        return 0;
    }
    *at = time_parse_iso8601(s);
    return *at > 0 ? 0 : -1;
}

int waiver_add(const plan *p, const char *step, const char *validation, const char *reason,
               const char *expires)
{
    const char *k[2] = {"steps", step};
    double now = time_wall(), exp_at = 0;
    char ts[32], exp_s[32], user[128], host[256];
    state *st = NULL;
    json_t *w, *list;
    int rc, ahead;
    if (!plan_find_step(p, step)) {
        strbuf b;
        sb_init(&b);
        for (size_t i = 0; i < p->nsteps; i++)
            sb_printf(&b, "%s%s", i ? ", " : "", p->steps[i].inst.name);
        log_msg(RELHOST_LOG_ERROR, NULL, "waive: no step \"%s\" in %s; steps: %s", step, p->path,
                b.s);
        sb_free(&b);
        return EXIT_USAGE;
    }
    if (expires && (parse_expiry(expires, now, &exp_at) != 0 || exp_at <= now)) {
        log_msg(RELHOST_LOG_ERROR, NULL, "waive: --expires %s is %s: give a future UTC time "
                "(2026-12-01T00:00:00Z) or a duration from now (7d, 12h)", expires,
                exp_at > 0 ? "in the past" : "neither a time nor a duration");
        return EXIT_USAGE;
    }
    /* A waiver cannot make a quarantined release promotable: say so rather than record it. */
    {
        registry *r = NULL;
        const json_t *e;
        if (registry_open(p->registry_dir, 0, &r) != 0) {
            log_msg(RELHOST_LOG_ERROR, NULL, "waive: release %s: the registry cannot be read, "
                    "so whether the release is quarantined is unknown; nothing recorded: %s",
                    p->version, error_last());
            registry_close(r);
            return EXIT_USAGE;
        }
        e = registry_release(r, p->version);
        if (e && jstr(e, "status") && strcmp(jstr(e, "status"), "quarantined") == 0) {
            log_msg(RELHOST_LOG_ERROR, NULL, "waive: release %s is quarantined in registry %s "
                    "(%s): it is never promoted, waived or not, so nothing was recorded; "
                    "qualify a new version", p->version, p->registry_dir,
                    jstr(e, "reason") ? jstr(e, "reason") : "no reason recorded");
            registry_close(r);
            return EXIT_USAGE;
        }
        registry_close(r);
    }
    /* A release that has not run yet is waived ahead (a known, accepted failure): its state is
     * created holding only the waiver, no run, and its first run finds the waiver there. */
    if ((rc = state_open(p->state_dir, p->version, STATE_CREATE, &st)) != 0) {
        log_msg(RELHOST_LOG_ERROR, NULL, "waive: release %s: %s", p->version, error_last());
        state_close(st);
        return EXIT_USAGE;
    }
    /* A run records the plan's hash (pipeline.c record_run_start): without one, none ran. */
    ahead = !json_is_string(json_object_get(state_root(st), "plan_hash"));
    if (state_is_new(st)) {
        /* the release belongs to this plan (state_list, the views) */
        const char *pk[1] = {"plan"};
        state_set(st, pk, 1, json_string(p->path));
        pk[0] = "plan_name";
        state_set(st, pk, 1, json_string(p->name));
    }
    if (validation && state_get(st, k, 2)) {
        const char *id;
        json_t *job;
        int found = 0;
        strbuf names;
        sb_init(&names);
        json_object_foreach(json_object_get(state_root(st), "jobs"), id, job) {
            (void)id;
            if (!jstr(job, "step") || strcmp(jstr(job, "step"), step) != 0 ||
                !jstr(job, "validation"))
                continue;
            found |= strcmp(jstr(job, "validation"), validation) == 0;
            sb_printf(&names, "%s%s", names.len ? ", " : "", jstr(job, "validation"));
        }
        if (!found) {
            log_msg(RELHOST_LOG_ERROR, NULL, "waive: step \"%s\" of release %s has no validation "
                    "\"%s\"; it has: %s", step, p->version, validation,
                    names.len ? names.s : "(none)");
            sb_free(&names);
            state_close(st);
            return EXIT_USAGE;
        }
        sb_free(&names);
    }
    time_iso8601(now, ts, sizeof ts);
    if (expires)
        time_iso8601(exp_at, exp_s, sizeof exp_s);
    audit_who(user, sizeof user, host, sizeof host);
    w = json_pack("{s:s, s:o, s:s, s:s, s:s, s:s, s:o}", "step", step, "validation",
                  validation ? json_string(validation) : json_null(), "reason", reason, "by",
                  user, "host", host, "at", ts, "expires",
                  expires ? json_string(exp_s) : json_null());
    list = json_deep_copy(json_object_get(state_root(st), "waivers"));
    if (!json_is_array(list)) {
        json_decref(list);
        list = json_array();
    }
    json_array_append(list, w);
    k[0] = "waivers";
    rc = state_set(st, k, 1, list);
    if (rc == 0)
        rc = state_snapshot(st);
    if (state_close(st) != 0 && rc == 0)
        rc = RELHOST_EIO;
    if (rc == 0) {
        const char *f[] = {"version", p->version, "step", step, "validation",
                           validation ? validation : "", "reason", reason, "expires",
                           expires ? exp_s : ""};
        rc = audit_append(p->registry_dir, "waive", f, 5);
    }
    if (rc != 0) {
        log_msg(RELHOST_LOG_ERROR, NULL, "waive: %s", error_last());
        json_decref(w);
        return EXIT_USAGE;
    }
    out_printf("waived %s%s of release %s%s by %s: %s%s%s\n", validation ? "validation " : "step ",
               validation ? validation : step, p->version, ahead ? " before its first run" : "",
               user, reason, expires ? "; expires " : "", expires ? exp_s : "");
    if (ahead)
        out_printf("its first run (relhost -c %s --version %s) finds it: the step counts as "
                   "passing for promotion if it does not pass%s\n", p->path, p->version,
                   validation ? "; the validation's name is checked against the step's jobs "
                                "only once it ran (a name it does not have waives nothing)"
                              : "");
    else
        out_printf("it counts as passing for promotion: run the release again (relhost -c %s "
                   "--version %s) to go on\n", p->path, p->version);
    json_decref(w);
    return 0;
}
