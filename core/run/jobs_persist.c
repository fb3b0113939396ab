/* SPDX-License-Identifier: MIT */
/*
 * jobs_persist.c - a job's record in the state: what it says (entry_of, written by
 * core/record/record_job.c), flushing it, and the spec and acceptance hashes that decide whether a stored result
 * still applies (jobs_resume.c).
 */
#include "run/jobs_int.h"

#include "base/error.h"
#include "base/log.h"
#include "base/outcome.h"
#include "base/util.h"
#include "plan/options.h"
#include "plan/template.h"
#include "record/record_job.h"
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

static record_int rec_int(long long v)
{
    record_int r = {1, 0, v};
    return r;
}

long long jobs_rec_int(record_int r) { return r.set && !r.from_real ? r.v : 0; }

void jobs_process_from_entry(const job_entry *e, proc_ident *id)
{
    memset(id, 0, sizeof *id);
    if (!e->has_process)
        return;
    id->pid = (pid_t)jobs_rec_int(e->process.pid);
    id->starttime = (unsigned long long)jobs_rec_int(e->process.starttime);
    id->grace_s = e->process.grace_s.set ? e->process.grace_s.v : 0;
    snprintf(id->job, sizeof id->job, "%s", e->process.cookie ? e->process.cookie : "");
    snprintf(id->cookie, sizeof id->cookie, "%s",
             e->process.proc_cookie ? e->process.proc_cookie : "");
}

/* jb as its state record says it: every pointer borrowed from jb, the times formatted into
 * started and ended; e->runs (an aggregate's) is the caller's to free. */
static void entry_of(relhost_job *jb, job_entry *e, char started[32], char ended[32])
{
    static const record_lifecycle life[] = {RECORD_LIFE_PENDING, RECORD_LIFE_SUBMITTING,
                                            RECORD_LIFE_RUNNING, RECORD_LIFE_COMPLETED};
    job_record *r = &e->job;
    memset(e, 0, sizeof *e);
    r->id = jb->id;
    r->step = jb->step;
    r->validation = jb->validation;
    r->runner = jb->rt->pi->name;
    r->lifecycle = life[jb->phase];
    r->attempt = rec_int(jb->attempt);
    r->external_id = jb->ext_id[0] ? jb->ext_id : NULL;
    r->log_path = jb->log_path;
    if (jb->w) { /* an ended job's (an aggregate recorded again for a late repeat) is gone */
        r->key = jb->w->key;
        r->spec_hash = jb->w->spec_hash;
        r->accept_hash = jb->w->accept_hash;
        r->nargv = jb->w->argv_x.n;
        r->argv = jb->w->argv_x.v;
    }
    if (jb->started > 0) {
        time_iso8601(jb->started, started, 32);
        r->started_at = started;
    }
    if (jb->phase == PH_DONE && jb->ended > 0) {
        time_iso8601(jb->ended, ended, 32);
        r->ended_at = ended;
        r->duration_s.set = 1;
        r->duration_s.v = jb->ended - jb->started;
    }
    if ((jb->phase == PH_SUBMITTING || jb->phase == PH_RUNNING) && jb->w && jb->w->lv &&
        jb->w->lv->proc.pid > 0) {
        e->has_process = 1;
        e->process.pid = rec_int(jb->w->lv->proc.pid);
        e->process.starttime = rec_int((long long)jb->w->lv->proc.starttime);
        e->process.cookie = jb->w->lv->proc.job;
        e->process.proc_cookie = jb->w->lv->proc.cookie;
        e->process.grace_s.set = 1;
        e->process.grace_s.v = jb->w->lv->proc.grace_s;
    }
    if (jb->w && jb->w->lost > 0)
        e->lost_attempts = rec_int(jb->w->lost);
    if (jb->phase == PH_DONE || jb->restarts > 0)
        r->restarts = rec_int(jb->restarts);
    r->outcome = jb->outcome;
    r->reason = jb->reason;
    r->retryable = jb->retryable;
    if (jb->exit_code >= 0)
        r->exit_code = rec_int(jb->exit_code);
    r->termination_reason = jb->term;
    e->ev = *jobs_evidence(jb);
    repeats_entry_members(jb, e);
}

static void persist_one(relhost_job *jb)
{
    job_entry e;
    char started[32], ended[32];
    entry_of(jb, &e, started, ended);
    record_job_write(jb->owner->st, &e);
    free(e.runs);
}

void jobs_persist(relhost_job *jb)
{
    if (!jb->owner->st)
        return;
    /* A job whose work part is gone ended and was recorded whole (jobs_compact()): its record is
     * final, and written again now it would lose its key, hashes and argv. */
    if (jb->w)
        persist_one(jb);
    if (jb->group && jb->group->w) /* the aggregate's lifecycle follows its repeats' */
        persist_one(jb->group);
}

void jobs_commit(jobs *j, int must)
{
    if (!j->st || state_pending(j->st) == 0) {
        j->dirty_since = 0;
        return;
    }
    if (j->dirty_since == 0)
        j->dirty_since = loop_now();
    if (must || loop_now() - j->dirty_since >= j->p->state_commit_window) {
        jobs_flush_state(j);
        j->dirty_since = 0;
    } else if (state_write(j->st) != 0) { /* nothing to write: nothing done */
        log_msg(RELHOST_LOG_ERROR, "state", "cannot save state: %s", error_last());
    }
}

double jobs_commit_wait(const jobs *j, double wait)
{
    double left;
    if (j->dirty_since == 0)
        return wait;
    left = j->dirty_since + j->p->state_commit_window - loop_now();
    return left < 0 ? 0 : left < wait ? left : wait;
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
    for (size_t i = 0; i < jb->w->argv_t.n; i++)
        h = fnv(h, jb->w->argv_t.v[i]);
    h = fnv(h, "|env");
    for (size_t i = 0; i < jb->w->env_t.n; i++) {
        if (i < jb->w->env_plan_n) {
            h = fnv(h, jb->w->env_t.v[i]);
        } else { /* pass_env: the name only; no hash of a secret is ever stored */
            char *name = xstrndup(jb->w->env_t.v[i], strcspn(jb->w->env_t.v[i], "="));
            h = fnv(fnv(h, "|pass "), name);
            free(name);
        }
    }
    h = fnv(h, jb->rt->pi->name);
    h = fnv(h, jb->w->cwd_t ? jb->w->cwd_t : "");
    h = fnv(h, jb->w->shell ? "shell" : "argv");
    for (size_t i = 0; i < jb->w->vars.n; i++)
        h = fnv(h, jb->w->vars.v[i]);
    if (jb->repeat || jb->nkids) {
        /* a repeat is its own run ({repeat} may differ); an aggregate changes with its count */
        char buf[48];
        snprintf(buf, sizeof buf, "|repeat %d of %zu", jb->repeat, jb->nkids);
        h = fnv(h, buf);
    }
    hex16(h, jb->w->spec_hash);
    h = 1469598103934665603ULL;
    for (size_t i = 0; i < jb->w->nchecks; i++) {
        const relhost_check_spec *c = &jb->w->checks[i];
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
    for (size_t i = 0; i < jb->w->n_expect_exit; i++) {
        char buf[32];
        snprintf(buf, sizeof buf, "x%d", jb->w->expect_exit[i]);
        h = fnv(h, buf);
    }
    h = fnv(h, jb->w->expect_term ? jb->w->expect_term : "");
    hex16(h, jb->w->accept_hash);
}
