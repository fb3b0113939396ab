/* SPDX-License-Identifier: MIT */
/*
 * jobs_timer.c - the job layer's loop timers: deadline, log tail, retry and runner poll,
 * and the overdue work the wait loop does for them. Read "How a job times out" below.
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
#include <unistd.h>

/*
 * ---- How a job times out: the one path (and the job layer's other loop timers) ----
 *
 * Every step below fires from a loop timer, so it runs on time whichever code serves the loop:
 * jobs_wait, or another job's metrics source waiting on HTTP (core/net/http.c), or a command.
 *
 *  1. The runner's own limit. The job spec carries timeout_s; runner_local hands it to the
 *     host's process service, whose deadline timer (core/run/proc.c proc_arm) sends SIGTERM to the
 *     job's process group (and to whatever escaped it) and writes "[TIMEOUT]" into the log; its
 *     grace timer (runner_local's `grace`) then sends SIGKILL. A remote runner's engine applies
 *     its own time limit (slurm --time, ...).
 *  2. The host's deadline, DEADLINE_SLACK after it, in case the runner's limit did not end the
 *     job: jobs_arm_deadline() at the start (jobs_prepare_job(); reattach() counts from the recorded
 *     start) -> on_deadline() -> job_deadline(): deadline_hit, and the runner's cancel
 *     (runner_local: proc_kill(), the same SIGTERM, grace, SIGKILL of core/run/proc_kill.c
 *     proc_kill_wait()).
 *  3. The end: the runner's next poll (its poll timer, or at once when a local child exits)
 *     reports ENDED -> jobs_ended() -> jobs_map_end(): END_TIMEOUT or deadline_hit = FAILED
 *     "timeout", exit code 124 -> jobs_finish() records it.
 *
 * The kill never waits on other work. Log reads (tail timer) and polls (poll timer) call plugin
 * ops that feed metrics sources and may end jobs, which must not run inside another plugin op:
 * their timers do the work only while jobs_wait itself waits (j->serving); otherwise jobs_wait's
 * next tick does it, since it is then overdue. A deadline inside an op of the same runner, or
 * inside jobs_wait's own wait (whose tick polls first: a job that has ended is not timed out),
 * is likewise done by the tick (jobs_tend_running).
 */

static void on_deadline(void *arg);
static void on_tail(void *arg);
static void on_poll(void *arg);
static void on_retry(void *arg) { (void)arg; /* only wakes jobs_wait: the job may start */ }

void jobs_arm_deadline(relhost_job *jb)
{
    loop_timer_cancel(jb->w->deadline_timer);
    jb->w->deadline_timer =
        jb->w->deadline > 0 ? loop_timer_add(jb->w->deadline, on_deadline, jb) : 0;
}

void jobs_arm_tail(relhost_job *jb, double when)
{
    loop_timer_cancel(jb->w->tail_timer);
    jb->w->next_tail = when;
    jb->w->tail_timer = loop_timer_add(when, on_tail, jb);
}

void jobs_arm_retry(relhost_job *jb)
{
    loop_timer_cancel(jb->w->retry_timer);
    jb->w->retry_timer = loop_timer_add(jb->w->not_before, on_retry, jb);
}

void jobs_arm_poll(struct runner_rt *r, double when)
{
    loop_timer_cancel(r->poll_timer);
    r->next_poll = when;
    r->poll_timer = r->running > 0 ? loop_timer_add(when, on_poll, r) : 0;
}

void jobs_stop_timers(relhost_job *jb)
{
    if (!jb->w)
        return; /* ended: its timers went with its work part */
    loop_timer_cancel(jb->w->deadline_timer);
    loop_timer_cancel(jb->w->tail_timer);
    loop_timer_cancel(jb->w->retry_timer);
    jb->w->deadline_timer = jb->w->tail_timer = jb->w->retry_timer = 0;
}

void jobs_queue_deadline(relhost_job *jb)
{
    double qt = jb->rt->pi->queue_timeout;
    jb->w->queued = jb->rt->ops->find != NULL;
    if (jb->w->queued)
        jb->w->deadline = qt > 0 ? loop_now() + qt : 0;
    else
        jb->w->deadline = jb->w->timeout_s > 0 ? loop_now() + jb->w->timeout_s + DEADLINE_SLACK : 0;
    jobs_arm_deadline(jb);
}

/* A queued job seen running: timeout_s counts from now. */
static void job_started(relhost_job *jb)
{
    jb->w->queued = 0;
    jb->w->deadline = jb->w->timeout_s > 0 ? loop_now() + jb->w->timeout_s + DEADLINE_SLACK : 0;
    jobs_arm_deadline(jb);
}

/* Step 2: the host's deadline passed and the job still runs (or, queued, never started): cancel
 * it on its runner. */
static void job_deadline(relhost_job *jb)
{
    if (jb->phase != PH_RUNNING || jb->w->deadline_hit || jb->w->queue_hit)
        return;
    if (jb->w->queued) {
        log_msg(RELHOST_LOG_WARN, jb->id,
                "waited longer than runner %s's queue_timeout (%.0f s) without starting; "
                "cancelling %s job %s",
                jb->rt->pi->name, jb->rt->pi->queue_timeout, jb->rt->pi->name, jb->ext_id);
        jb->w->queue_hit = jb->w->host_cancelled = 1;
        jobs_cancel_guarded(jb);
        return;
    }
    /* The runner's own limit did not end it: the host's deadline does. */
    log_msg(RELHOST_LOG_WARN, jb->id, "past its deadline; cancelling %s job %s", jb->rt->pi->name,
            jb->ext_id);
    jb->w->deadline_hit = jb->w->host_cancelled = 1;
    jobs_cancel_guarded(jb);
}

static void on_deadline(void *arg)
{
    relhost_job *jb = arg;
    jb->w->deadline_timer = 0;
    /* Within jobs_wait's own wait, its tick comes at once and polls first, so that a job whose
     * end is already known is not called timed out; inside an op of the job's runner, the tick
     * is the next moment an op may start. Anywhere else (another job's HTTP call...): now. */
    if (!jb->owner->serving && !jb->rt->busy)
        job_deadline(jb);
}

static void on_tail(void *arg)
{
    relhost_job *jb = arg;
    jobs *j = jb->owner;
    jb->w->tail_timer = 0;
    if (!j->serving || jb->phase != PH_RUNNING || jb->rt->busy)
        return; /* overdue: jobs_wait's next tick reads it */
    j->serving = 0;
    jobs_tail_log(jb);
    jobs_runner_faulted(j, jb->rt, NULL); /* read_log() found its process gone */
    j->serving = 1;
    if (jb->phase == PH_RUNNING)
        jobs_arm_tail(jb, loop_now() + TAIL_INTERVAL);
}

/* What one poll said of each job: new ids, restarts, a start seen, an end. */
static void apply_statuses(jobs *j, relhost_job_status *st, relhost_job **who, size_t n, int prc)
{
    /* A job known to have ended is not timed out while others' ends are being processed. */
    for (size_t i = 0; i < n; i++)
        if (st[i].state == RELHOST_JOB_ENDED || st[i].state == RELHOST_JOB_LOST)
            jobs_stop_timers(who[i]);
    for (size_t i = 0; i < n; i++) {
        relhost_job *jb = who[i];
        if (jb->phase == PH_SUBMITTING && st[i].new_external_id[0]) {
            jobs_set_ext_id(jb, st[i].new_external_id);
            jobs_set_phase(jb, PH_RUNNING);
            jobs_persist(jb);
        }
        /* A count once reported is never lowered: a later status may carry none (a poll with
         * no news of this job) or a smaller one (the engine's count restarts, a LOST job). */
        if (st[i].restarts > jb->restarts) {
            jb->restarts = st[i].restarts;
            jobs_persist(jb);
        }
        if (st[i].state == RELHOST_JOB_LOST) {
            st[i].state = RELHOST_JOB_ENDED;
            st[i].end = RELHOST_END_INFRA;
            snprintf(st[i].engine_state, sizeof st[i].engine_state, "LOST");
        }
        if (prc == 0 && jb->w->queued && st[i].state == RELHOST_JOB_RUNNING &&
            jb->phase == PH_RUNNING && !jb->w->queue_hit)
            job_started(jb);
        if (st[i].state == RELHOST_JOB_ENDED) {
            jobs_live(jb)->status = st[i];
            jobs_ended(j, jb);
        } else if (st[i].state != jobs_live(jb)->status.state) {
            jobs_live(jb)->status.state = st[i].state;
            jobs_live(jb)->status.restarts = st[i].restarts;
        }
    }
}

static void poll_runner(jobs *j, struct runner_rt *r);

static void on_poll(void *arg)
{
    struct runner_rt *r = arg;
    jobs *j = r->owner;
    r->poll_timer = 0;
    if (!j->serving || r->busy)
        return; /* overdue: jobs_wait's next tick polls */
    j->serving = 0;
    poll_runner(j, r);
    j->serving = 1;
}

/* The step all n jobs belong to, or NULL when they belong to several. */
static const char *one_step(relhost_job *const *who, size_t n)
{
    for (size_t i = 1; i < n; i++)
        if (!who[i]->step || !who[0]->step || strcmp(who[i]->step, who[0]->step) != 0)
            return NULL;
    return n ? who[0]->step : NULL;
}

static void poll_runner(jobs *j, struct runner_rt *r)
{
    relhost_job_status *st;
    relhost_job **who;
    size_t n = 0;
    double next = 1.0;
    int prc;
    relhost_job **run = jobs_running(j, r, &n);
    j->polls++;
    if (n == 0) {
        free(run);
        return;
    }
    st = xcalloc(n, sizeof *st);
    who = run;
    for (size_t i = 0; i < n; i++) {
        relhost_job *jb = who[i];
        st[i].struct_size = sizeof st[i];
        st[i].key = jb->w->key;
        st[i].external_id = jb->ext_id[0] ? jb->ext_id : NULL;
        st[i].runner_handle = jb->w->handle;
        /* a poll with no news of a job leaves this: a queued job is not taken for started */
        st[i].state = jb->phase == PH_SUBMITTING ? RELHOST_JOB_SUBMITTING
                      : jb->w->queued            ? RELHOST_JOB_PENDING
                                                 : RELHOST_JOB_RUNNING;
    }
    r->busy++;
    {
        /* A poll serves every job of the runner: a crash there is recorded against their step
         * when they all belong to one (steps run one at a time), else against none. */
        int g = guard_enter(r->pi->plugin_name, "poll", one_step(who, n));
        prc = r->ops->poll(&r->hc.pub, r->inst, st, n, sizeof *st, &next);
        guard_leave(g);
    }
    r->busy--;
    if (prc == RELHOST_ENOMEM) {
        /* Out of descriptors or memory: another poll meets the same wall. A tool error that
         * names the resource; the remote jobs run on and are re-attached by a re-run. */
        char *m = hostctx_take_fail(&r->hc);
        char *why = xasprintf("runner %s: poll failed: %s", r->pi->name, m ? m : "out of memory");
        log_msg(RELHOST_LOG_ERROR, r->prefix, "%s", why);
        loop_stop_failed(EXIT_DEFERRED, why);
        free(why);
        free(m);
        next = 5;
    } else if (prc != 0) {
        char *m = hostctx_take_fail(&r->hc);
        if (jobs_runner_fault(r)) {
            /* its isolated process is gone: its jobs with it, no poll again */
            jobs_runner_faulted(j, r, m);
            free(m);
            free(st);
            free(who);
            return;
        }
        log_msg(RELHOST_LOG_WARN, r->prefix, "poll failed: %s; trying again",
                m ? m : "no reason given");
        free(m);
        next = 5;
    }
    apply_statuses(j, st, who, n, prc);
    free(st);
    free(who);
    if (jobs_runner_fault(r)) {
        /* a read_log() of an ending job found the runner's process gone */
        jobs_runner_faulted(j, r, NULL);
        return;
    }
    if (next < 0.01)
        next = 0.01;
    jobs_arm_poll(r, loop_now() + next);
}

/* Poll every runner that has news (a child exited) or is due (its poll timer fired while the
 * job layer could not poll). */
void jobs_poll_runners(jobs *j)
{
    unsigned gen = loop_child_events();
    int child_news = gen != j->child_gen;
    double now = loop_now();
    j->child_gen = gen;
    for (size_t r = 0; r < j->p->nrunners; r++) {
        struct runner_rt *rt = &j->runners[r];
        if (!rt->opened || rt->running == 0)
            continue;
        /* A child exiting is news only for runners whose jobs are relhost's own children
         * (those that cannot re-attach); a remote runner's own squeue exiting is not. */
        if ((child_news && !rt->ops->find) || now >= rt->next_poll)
            poll_runner(j, rt);
    }
}

/* The overdue work of running jobs: log reads and deadlines whose timers fired while the job
 * layer could not act (see "How a job times out"). */
void jobs_tend_running(jobs *j)
{
    double now = loop_now();
    size_t n;
    relhost_job **run = jobs_running(j, NULL, &n);
    for (size_t i = 0; i < n; i++) {
        relhost_job *jb = run[i];
        if (jb->phase != PH_RUNNING)
            continue;
        if (now >= jb->w->next_tail) {
            jobs_tail_log(jb);
            jobs_runner_faulted(j, jb->rt, NULL);
            if (jb->phase == PH_RUNNING)
                jobs_arm_tail(jb, now + TAIL_INTERVAL);
        }
        if (jb->w->deadline > 0 && now >= jb->w->deadline && !jb->w->deadline_hit)
            job_deadline(jb);
    }
    free(run);
}
