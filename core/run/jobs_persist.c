/* SPDX-License-Identifier: MIT */
/*
 * jobs_persist.c - a job's record in the state: what it says (job_json), writing and
 * flushing it, and the spec and acceptance hashes that decide whether a stored result
 * still applies (jobs_resume.c).
 */
#include "run/jobs_int.h"

#include "base/error.h"
#include "base/log.h"
#include "base/outcome.h"
#include "base/util.h"
#include "plan/options.h"
#include "plan/template.h"
#include "record/state.h"
#include "run/baseline.h"
#include "run/checks.h"
#include "run/crash.h"
#include "run/host.h"
#include "run/loop.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static uint64_t fnv(uint64_t h, const char *s)
{
    for (; s && *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    h ^= 0xff; /* field separator, so ("ab","c") differs from ("a","bc") */
    h *= 1099511628211ULL;
    return h;
}

static void hex16(uint64_t h, char out[17]) { snprintf(out, 17, "%016llx", (unsigned long long)h); }

/* ---- state ---- */

/* What identifies a running local attempt's process, for stop_orphan() of a later relhost. */
static json_t *process_json(const proc_ident *id)
{
    json_t *o = json_object();
    json_object_set_new(o, "pid", json_integer(id->pid));
    json_object_set_new(o, "starttime", json_integer((json_int_t)id->starttime));
    json_object_set_new(o, "cookie", json_string(id->job));
    json_object_set_new(o, "proc_cookie", json_string(id->cookie));
    json_object_set_new(o, "grace_s", json_real(id->grace_s));
    return o;
}

void jobs_process_from_json(const json_t *o, proc_ident *id)
{
    memset(id, 0, sizeof *id);
    if (!json_is_object(o))
        return;
    id->pid = (pid_t)json_integer_value(json_object_get(o, "pid"));
    id->starttime = (unsigned long long)json_integer_value(json_object_get(o, "starttime"));
    id->grace_s = json_number_value(json_object_get(o, "grace_s"));
    snprintf(id->job, sizeof id->job, "%s", jobs_jstr_or(o, "cookie"));
    snprintf(id->cookie, sizeof id->cookie, "%s", jobs_jstr_or(o, "proc_cookie"));
}

static json_t *job_json(const relhost_job *jb)
{
    static const char *const phases[] = {"pending", "submitting", "running", "completed"};
    json_t *o = json_object(), *argv = json_array();
    char ts[32];
    json_object_set_new(o, "step", json_string(jb->step));
    json_object_set_new(o, "validation", json_string(jb->validation));
    json_object_set_new(o, "runner", json_string(jb->rt->pi->name));
    json_object_set_new(o, "lifecycle", json_string(phases[jb->phase]));
    json_object_set_new(o, "attempt", json_integer(jb->attempt));
    json_object_set_new(o, "key", json_string(jb->key));
    json_object_set_new(o, "external_id", jb->ext_id[0] ? json_string(jb->ext_id) : json_null());
    json_object_set_new(o, "log_path", jb->log_path ? json_string(jb->log_path) : json_null());
    json_object_set_new(o, "spec_hash", json_string(jb->spec_hash));
    json_object_set_new(o, "accept_hash", json_string(jb->accept_hash));
    for (size_t i = 0; i < jb->argv_x.n; i++)
        json_array_append_new(argv, json_string(jb->argv_x.v[i]));
    json_object_set_new(o, "argv", argv);
    if (jb->started > 0) {
        time_iso8601(jb->started, ts, sizeof ts);
        json_object_set_new(o, "started_at", json_string(ts));
    }
    if (jb->phase == PH_DONE && jb->ended > 0) {
        time_iso8601(jb->ended, ts, sizeof ts);
        json_object_set_new(o, "ended_at", json_string(ts));
        json_object_set_new(o, "duration_s", json_real(jb->ended - jb->started));
    }
    if ((jb->phase == PH_SUBMITTING || jb->phase == PH_RUNNING) && jb->proc.pid > 0)
        json_object_set_new(o, "process", process_json(&jb->proc));
    if (jb->lost > 0)
        json_object_set_new(o, "lost_attempts", json_integer(jb->lost));
    if (jb->phase != PH_DONE && jb->restarts > 0)
        json_object_set_new(o, "restarts", json_integer(jb->restarts));
    if (jb->phase == PH_DONE) {
        json_object_set_new(o, "outcome", json_string(outcome_name(jb->outcome)));
        json_object_set_new(o, "reason", jb->reason ? json_string(jb->reason) : json_null());
        json_object_set_new(o, "retryable", json_boolean(jb->retryable));
        json_object_set_new(o, "exit_code", jb->exit_code >= 0 ? json_integer(jb->exit_code)
                                                                : json_null());
        json_object_set_new(o, "termination_reason", jb->term ? json_string(jb->term) : json_null());
        json_object_set_new(o, "restarts", json_integer(jb->restarts));
    }
    json_object_set_new(o, "evidence", evidence_to_json(&jb->ev));
    repeats_json_members(jb, o);
    return o;
}

void jobs_persist(relhost_job *jb)
{
    const char *path[2] = {"jobs", jb->id};
    if (!jb->owner->st)
        return;
    state_set(jb->owner->st, path, 2, job_json(jb));
    if (jb->group) {
        /* the aggregate's lifecycle follows its repeats' */
        path[1] = jb->group->id;
        state_set(jb->owner->st, path, 2, job_json(jb->group));
    }
}

void jobs_flush_state(jobs *j)
{
    if (j->st && state_flush(j->st) != 0)
        log_msg(RELHOST_LOG_ERROR, "state", "cannot save state: %s", error_last());
}

/* ---- the hashes ---- */

void jobs_compute_hashes(relhost_job *jb)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < jb->argv_t.n; i++)
        h = fnv(h, jb->argv_t.v[i]);
    h = fnv(h, "|env");
    for (size_t i = 0; i < jb->env_t.n; i++) {
        if (i < jb->env_plan_n) {
            h = fnv(h, jb->env_t.v[i]);
        } else { /* pass_env: the name only; no hash of a secret is ever stored */
            char *name = xstrndup(jb->env_t.v[i], strcspn(jb->env_t.v[i], "="));
            h = fnv(fnv(h, "|pass "), name);
            free(name);
        }
    }
    h = fnv(h, jb->rt->pi->name);
    h = fnv(h, jb->cwd_t ? jb->cwd_t : "");
    h = fnv(h, jb->shell ? "shell" : "argv");
    for (size_t i = 0; i < jb->vars.n; i++)
        h = fnv(h, jb->vars.v[i]);
    if (jb->repeat || jb->nkids) {
        /* a repeat is its own run ({repeat} may differ); an aggregate changes with its count */
        char buf[48];
        snprintf(buf, sizeof buf, "|repeat %d of %zu", jb->repeat, jb->nkids);
        h = fnv(h, buf);
    }
    hex16(h, jb->spec_hash);
    h = 1469598103934665603ULL;
    for (size_t i = 0; i < jb->nchecks; i++) {
        const relhost_check_spec *c = &jb->checks[i];
        char buf[200];
        snprintf(buf, sizeof buf, "%d:%.17g:%.17g", (int)c->op, c->expected, c->expected_hi);
        h = fnv(fnv(h, c->key), buf);
        /* Only what ABI 1.2 added and the check uses, so that older states keep their hash. */
        if (c->stat != RELHOST_STAT_MEDIAN || c->baseline != RELHOST_BASELINE_NONE) {
            snprintf(buf, sizeof buf, "stat %d baseline %d:%.17g:%.17g", (int)c->stat,
                     (int)c->baseline, c->rel_tol, c->abs_tol);
            h = fnv(h, buf);
        }
    }
    for (size_t i = 0; i < jb->n_expect_exit; i++) {
        char buf[32];
        snprintf(buf, sizeof buf, "x%d", jb->expect_exit[i]);
        h = fnv(h, buf);
    }
    h = fnv(h, jb->expect_term ? jb->expect_term : "");
    hex16(h, jb->accept_hash);
}
