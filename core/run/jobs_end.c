/* SPDX-License-Identifier: MIT */
/*
 * jobs_end.c - a job's end: the one mapping from an end to an outcome (jobs_map_end), the
 * metrics its sources collect, the acceptance checks, and finish (result or retry).
 */
#include "run/guard.h"
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
#include <sys/statvfs.h>
#include <unistd.h>

/* ---- the one mapping from a job's end to an outcome ---- */

job_end_verdict jobs_map_end(const job_end_facts *f)
{
    job_end_verdict v = {RELHOST_FAILED, "exit_code", 0, 0};
    int ok;
    if (f->host_cancelled) {
        v.outcome = RELHOST_NONE;
        v.reason = "stopped";
        return v;
    }
    switch (f->end) {
    case RELHOST_END_EXITED: break;
    case RELHOST_END_SIGNALED: v.reason = "signal"; return v;
    case RELHOST_END_TIMEOUT: v.reason = "timeout"; return v;
    case RELHOST_END_CANCELLED: v.reason = "cancelled"; return v;
    case RELHOST_END_INFRA:
        v.outcome = RELHOST_ERROR;
        v.reason = "infra";
        v.retryable = 1;
        return v;
    case RELHOST_END_EXEC_FAILED:
        v.outcome = RELHOST_ERROR;
        v.reason = "exec_failed";
        return v;
    default: /* an end the host does not know counts as a tool error */
        v.outcome = RELHOST_ERROR;
        v.reason = "tool_error";
        return v;
    }
    if (f->n_expect_exit) {
        ok = 0;
        for (size_t i = 0; i < f->n_expect_exit; i++)
            ok |= f->expect_exit[i] == f->exit_code;
    } else {
        /* Expecting a termination reason (a matrix cell that provokes a heartbeat timeout)
         * says nothing about the exit code the launcher then gives: the reason decides. */
        ok = f->expect_termination ? 1 : f->exit_code == 0;
    }
    if (f->expect_termination) {
        ok = ok && f->termination_reason &&
             strcmp(f->termination_reason, f->expect_termination) == 0;
        if (!ok) {
            v.reason = "termination_reason";
            return v;
        }
    } else if (!ok && f->termination_reason &&
               strcmp(f->termination_reason, "max_runtime_reached") == 0) {
        ok = 1; /* the seed's rule: reaching the runtime limit is a successful run */
    }
    if (ok && !f->expect_termination && f->termination_reason &&
        strcmp(f->termination_reason, "job_completed") != 0 &&
        strcmp(f->termination_reason, "max_runtime_reached") != 0) {
        /* The launcher's word on how the job ended outranks a wrapper's exit status. */
        v.reason = "termination_reason";
        return v;
    }
    if (ok) {
        v.outcome = RELHOST_PASSED;
        v.reason = NULL;
        v.run_checks = 1;
        return v;
    }
    if (f->exit_code == 124) {
        v.reason = "timeout";
    } else if (f->exit_code == 126 || f->exit_code == 127) {
        v.outcome = RELHOST_ERROR;
        v.reason = "exec_failed";
    }
    return v;
}

/* ---- checks and the baseline ---- */

int jobs_load_baseline(jobs *j)
{
    if (!j)
        return 0;
    if (!j->baseline_loaded) {
        j->baseline_loaded = 1; /* once per run, whatever the answer */
        if (j->p->baseline_path && baseline_load(j->p->baseline_path, &j->baseline) != 0)
            j->baseline_error = xstrdup(error_last());
    }
    return j->baseline_error ? error_set(RELHOST_EINVAL, "%s", j->baseline_error) : 0;
}

void jobs_checks_env(jobs *j, const char *validation, checks_env *env)
{
    memset(env, 0, sizeof *env);
    env->validation = validation;
    if (!j)
        return;
    env->require_baseline = j->p->require_baseline;
    (void)jobs_load_baseline(j);
    env->baseline = j->baseline;
    env->baseline_error = j->baseline_error;
}

void jobs_checks_eval(jobs *j, const char *name, evidence *ev, const relhost_checks *checks,
                      relhost_verdict *out)
{
    checks_env env;
    jobs_checks_env(j, name, &env);
    checks_eval_env(ev, checks, &env, out);
}

void jobs_evaluate_checks(relhost_job *jb)
{
    relhost_checks cs = {jb->w->nchecks, sizeof(relhost_check_spec), jb->w->checks};
    relhost_verdict v;
    jobs_checks_eval(jb->owner, jb->validation, jb->ev, &cs, &v);
    jb->outcome = v.outcome;
    jobs_set_str(&jb->reason, v.reason);
}

void jobs_release_handle(relhost_job *jb)
{
    if (!jb->w)
        return; /* ended: released then */
    if (jb->w->handle && jb->rt->ops->release) {
        int g = guard_enter(jb->rt->pi->plugin_name, "release", jb->step);
        jb->rt->ops->release(jb->rt->inst, jb->w->handle);
        guard_leave(g);
    }
    jb->w->handle = NULL;
}

/* Ask each metrics source of an ended job for what it collects (e.g. over HTTP). 0: all did;
 * 2: one failed transiently (may pass when tried again); 1: one failed otherwise. */
static int collect_sources(relhost_job *jb)
{
    struct job_live *lv = jobs_live(jb);
    int source_failed = 0;
    for (size_t i = 0; i < jb->w->nsrc; i++) {
        if (!jb->w->src_jobs || !jb->w->src_jobs[i] || !jb->w->src[i]->ops->collect)
            continue;
        int crc;
        lv->ev_hc.source = jb->w->src[i]->pi->name;
        lv->ev_hc.source_priority = jb->w->src[i]->pi->priority;
        {
            int g = guard_enter(jb->w->src[i]->pi->plugin_name, "collect", jb->step);
            crc = jb->w->src[i]->ops->collect(&lv->ev_hc.pub, jb->w->src_jobs[i]);
            guard_leave(g);
        }
        if (crc != 0) {
            char *msg = hostctx_take_fail(&lv->ev_hc);
            char *n = xasprintf("metrics source %s failed: %s", jb->w->src[i]->pi->name,
                                msg ? msg : "no reason given");
            evidence_note(jb->ev, n);
            free(n);
            free(msg);
            /* Only what the source itself calls transient (RELHOST_ERETRY: the host's retry
             * table said so) may pass when tried again; a run that does not exist, a refused
             * key, a certificate or any other error will not. */
            if (crc == RELHOST_ERETRY || crc == RELHOST_EINTR)
                source_failed = source_failed ? source_failed : 2;
            else
                source_failed = 1;
        }
    }
    lv->ev_hc.source = NULL;
    return source_failed;
}

/* The job ended on its engine: read the rest of the log, collect metrics, decide. */
/* Why the job's log could not be written in full, or 0: the host's copy of a remote log failed
 * a write, or a local job's log lies on a full filesystem (the job's own writes then failed). */
static int log_write_error(const relhost_job *jb)
{
    struct statvfs fs;
    if (jb->w->log_errno)
        return jb->w->log_errno;
    if (jb->rt->ops->read_log)
        return 0;
    /* a remote job's log is not held open between reads */
    if (jb->w->log_fd >= 0 ? fstatvfs(jb->w->log_fd, &fs) != 0
                           : !jb->log_path || statvfs(jb->log_path, &fs) != 0)
        return 0;
    if (fs.f_bavail == 0 && (geteuid() != 0 || fs.f_bfree == 0))
        return ENOSPC;
    return 0;
}

/* A job the host's deadline cancelled: past timeout_s, a timeout; still queued past the runner's
 * queue_timeout, it never ran and nothing was tested: a tool error, not a verdict. */
static void host_deadline_end(relhost_job *jb, job_end_facts *f)
{
    f->host_cancelled = jb->w->host_cancelled && !jb->w->deadline_hit && !jb->w->queue_hit;
    if (jb->w->deadline_hit) {
        f->end = RELHOST_END_TIMEOUT;
    } else if (jb->w->queue_hit) {
        char *n = xasprintf("waited in %s's queue longer than its queue_timeout (%.0f s) "
                            "without starting: cancelled; raise queue_timeout or free the queue",
                            jb->rt->pi->name, jb->rt->pi->queue_timeout);
        evidence_note(jb->ev, n);
        free(n);
        f->end = RELHOST_END_INFRA;
    }
}

/* A log cut short by a full disk may lack the very lines that would fail the job: no verdict
 * on it, whatever the exit code says. */
static void no_verdict_on_a_cut_log(relhost_job *jb, job_end_verdict *v)
{
    int log_err = log_write_error(jb);
    char *n;
    if (!log_err)
        return;
    n = xasprintf("the job's log %s could not be written in full: %s; free the disk and run the "
                  "validation again",
                  jb->log_path, strerror(log_err));
    evidence_note(jb->ev, n);
    free(n);
    v->outcome = RELHOST_ERROR;
    v->reason = "log_write_failed";
    v->retryable = 0;
    v->run_checks = 0;
}

void jobs_ended(jobs *j, relhost_job *jb)
{
    struct job_live *lv = jobs_live(jb);
    job_end_facts f;
    job_end_verdict v;
    const char *term;
    int source_failed;
    const ev_metric *m;

    jobs_stop_timers(jb); /* ended: no deadline, no log reads but the last one below */
    jobs_tail_log(jb);
    source_failed = collect_sources(jb);
    jobs_close_sources(jb);
    jb->ended = time_wall();
    memset(&f, 0, sizeof f);
    f.end = lv->status.end;
    f.exit_code = lv->status.exit_code;
    f.signal = lv->status.signal;
    /* What the runner knows wins over what the log says. */
    term = lv->status.engine_reason[0] && strcmp(lv->status.engine_state, "TERMINATION") == 0
               ? lv->status.engine_reason
               : evidence_find_label(jb->ev, "termination_reason");
    f.termination_reason = term;
    f.expect_exit = jb->w->expect_exit;
    f.n_expect_exit = jb->w->n_expect_exit;
    f.expect_termination = jb->w->expect_term;
    host_deadline_end(jb, &f);
    if (f.end == RELHOST_END_EXITED && f.exit_code < 0 &&
        (m = evidence_find_metric(jb->ev, "exit_code")))
        f.exit_code = (int)m->value;
    v = jobs_map_end(&f);
    if (v.outcome == RELHOST_ERROR && strcmp(lv->status.engine_state, "SUBMIT_FAILED") == 0)
        v.reason = "submit_failed"; /* a deferred submission the engine refused (plugin.h) */
    if (v.outcome != RELHOST_NONE)
        no_verdict_on_a_cut_log(jb, &v);
    jb->exit_code = f.end == RELHOST_END_TIMEOUT ? 124 : f.exit_code;
    if (f.end == RELHOST_END_SIGNALED)
        jb->exit_code = -1;
    jobs_set_str(&jb->term, term);
    if (lv->status.restarts > jb->restarts)
        jb->restarts = lv->status.restarts;
    if ((m = evidence_find_metric(jb->ev, "restart_count")) && m->finite &&
        (int)m->value > jb->restarts)
        jb->restarts = (int)m->value;
    if (v.outcome == RELHOST_NONE) {
        /* Stopped by relhost: no outcome; the next run starts this attempt again. */
        jobs_set_phase(jb, PH_QUEUED);
        jb->rt->running--;
        j->ended_count++;
        jobs_release_handle(jb);
        jobs_persist(jb);
        return;
    }
    jb->outcome = v.outcome;
    jobs_set_str(&jb->reason, v.reason);
    jb->retryable = v.retryable;
    if (v.outcome == RELHOST_FAILED || v.outcome == RELHOST_ERROR) {
        char *n;
        if (f.end == RELHOST_END_SIGNALED)
            n = xasprintf("killed by signal %d", f.signal);
        else if (f.end == RELHOST_END_EXITED)
            n = xasprintf("exited with %d%s%s", f.exit_code, term ? ", termination reason " : "",
                          term ? term : "");
        else
            n = xasprintf("ended on %s as %s%s%s", jb->rt->pi->name,
                          lv->status.engine_state[0] ? lv->status.engine_state : "?",
                          lv->status.engine_reason[0] ? ": " : "", lv->status.engine_reason);
        evidence_note(jb->ev, n);
        free(n);
    }
    if (v.run_checks) {
        if (lv->ev_hc.conflicts) {
            /* Two sources disagree on who owns a key: no verdict on an ambiguous metric. */
            jb->outcome = RELHOST_ERROR;
            jobs_set_str(&jb->reason, "metric_conflict");
            jb->retryable = 0;
        } else if (source_failed) {
            /* A missing metric is a verdict only when its source worked. */
            jb->outcome = RELHOST_ERROR;
            /* an isolated source whose process died or hung names that (isolate.h) */
            jobs_set_str(&jb->reason,
                         lv->ev_hc.plugin_fault ? lv->ev_hc.plugin_fault : "source_failed");
            jb->retryable = source_failed == 2;
        } else {
            jobs_evaluate_checks(jb);
        }
    }
    jobs_set_phase(jb, PH_DONE);
    jobs_finish(j, jb);
}

void jobs_finish(jobs *j, relhost_job *jb)
{
    j->ended_count++;
    jb->rt->running--;
    jobs_release_handle(jb);
    if (jb->w->log_fd >= 0) {
        close(jb->w->log_fd);
        jb->w->log_fd = -1;
    }
    if (jb->log_path)
        evidence_artifact(jb->ev, "log", jb->log_path, NULL);
    if (jb->outcome == RELHOST_ERROR && jb->retryable &&
        jb->attempt - jb->w->lost <= jb->w->retries) {
        double backoff = pow(2.0, jb->attempt);
        char *n = xasprintf("attempt %d: %s (%s); retrying in %.0f s", jb->attempt,
                            outcome_name(jb->outcome), jb->reason ? jb->reason : "?",
                            backoff > 60 ? 60 : backoff);
        log_msg(RELHOST_LOG_WARN, jb->id, "%s", n);
        free(n);
        jobs_persist(jb);
        jb->attempt++;
        jobs_set_phase(jb, PH_QUEUED);
        jb->w->not_before = loop_now() + (backoff > 60 ? 60 : backoff);
        jobs_arm_retry(jb);
        return;
    }
    jobs_persist(jb);
    crash_point("jobs.after_result");
    jobs_tell_end(jb);
    if (jb->group)
        repeats_kid_done(j, jb->group);
    /* its result is recorded: keep only what jobs_result() reads (a repeat keeps its evidence
     * until its aggregate is judged) */
    jobs_compact(jb, jb->group && jb->group->phase != PH_DONE);
}

/* The runner's plugin died or hung in its isolated process (core/isolate/client.c fault(): its
 * processes, and so the jobs it ran through the host, are killed already): every job it still
 * runs or submits is ERROR with the fault's reason and message, none is polled again. A job
 * queued for it fails the same way at its submit (the dead runner answers every call so). */
void jobs_runner_faulted(jobs *j, struct runner_rt *r, const char *msg)
{
    char *own = NULL;
    const char *reason = jobs_runner_fault(r);
    if (!reason)
        return;
    if (!msg)
        msg = own = hostctx_take_fail(&r->hc);
    for (size_t i = 0; i < j->n; i++) {
        relhost_job *jb = j->all[i];
        /* (one whose submit is still to come fails there, the same way) */
        if (jb->rt != r || (jb->phase != PH_RUNNING && jb->phase != PH_SUBMITTING) ||
            jb->w->submit_pending)
            continue;
        jobs_stop_timers(jb);
        jobs_close_sources(jb);
        jb->w->handle = NULL; /* it named a job of the dead server */
        jobs_set_phase(jb, PH_DONE);
        jb->outcome = RELHOST_ERROR;
        jb->retryable = 0;
        jobs_set_str(&jb->reason, reason);
        evidence_note(jb->ev, msg ? msg : "the runner's plugin is gone");
        jb->ended = time_wall();
        jobs_finish(j, jb);
    }
    loop_timer_cancel(r->poll_timer);
    r->poll_timer = 0;
    free(own);
}
