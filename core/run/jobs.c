/* SPDX-License-Identifier: MIT */
/*
 * jobs.c - the job layer's public API (core/run/jobs.h) and its queue: building jobs from
 * requests, the wait loop that starts them when their runner has room, stop, results, free.
 * A job's start is jobs_start.c, its log jobs_log.c, its timers jobs_timer.c ("How a job
 * times out"), its end jobs_end.c, its state record jobs_persist.c, its resume jobs_resume.c.
 */
#include "run/jobs_int.h"
#include "run/guard.h"

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
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void jobs_set_key(relhost_job *jb, const char *s)
{
    size_t n = strlen(s);
    free(jb->w->key);
    jb->w->key = xstrndup(s, n > JOBS_KEY_MAX ? JOBS_KEY_MAX : n);
}

struct job_live *jobs_live(relhost_job *jb)
{
    if (!jb->w->lv)
        jb->w->lv = xcalloc(1, sizeof *jb->w->lv);
    return jb->w->lv;
}

void jobs_set_ext_id(relhost_job *jb, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    free(jb->ext_id);
    jb->ext_id = xstrndup(s ? s : "", n > 256 ? 256 : n);
}

void jobs_set_str(char **dst, const char *s)
{
    free(*dst);
    *dst = s ? xstrdup(s) : NULL;
}

struct runner_rt *jobs_runner_find(jobs *j, const char *name)
{
    for (size_t i = 0; i < j->p->nrunners; i++)
        if (strcmp(j->p->runners[i].name, name) == 0)
            return &j->runners[i];
    return NULL;
}

static struct source_rt *source_rt(jobs *j, const char *name)
{
    for (size_t i = 0; i < j->p->nmetrics; i++)
        if (strcmp(j->p->metrics[i].name, name) == 0)
            return &j->sources[i];
    return NULL;
}

jobs *jobs_new(plan *p, struct state *st, const relhost_ctx *base)
{
    jobs *j = xcalloc(1, sizeof *j);
    j->p = p;
    j->st = st;
    j->base = *base;
    j->runners = xcalloc(p->nrunners + 1, sizeof *j->runners);
    j->sources = xcalloc(p->nmetrics + 1, sizeof *j->sources);
    for (size_t i = 0; i < p->nrunners; i++) {
        j->runners[i].pi = &p->runners[i];
        j->runners[i].ops = p->runners[i].pl->desc.runner;
        j->runners[i].owner = j;
    }
    for (size_t i = 0; i < p->nmetrics; i++) {
        j->sources[i].pi = &p->metrics[i];
        j->sources[i].ops = p->metrics[i].pl->desc.metrics;
    }
    j->child_gen = loop_child_events();
    return j;
}

int jobs_runner_rt_open(struct runner_rt *r, const relhost_ctx *ctx, int run, char **why)
{
    *why = NULL;
    hostctx_init(&r->hc, ctx, r->pi->plugin_name, r->prefix, NULL, r->pi->store);
    /* a runner that can find its jobs again hands them to an engine they outlive relhost in */
    if (run)
        r->hc.no_release_tag = r->ops->find != NULL;
    if (r->ops->open) {
        int g = guard_enter(r->pi->plugin_name, "open", NULL);
        int orc = r->ops->open(&r->hc.pub, r->pi->conf, &r->inst);
        guard_leave(g);
        if (orc == 0) {
            r->opened = 1;
            return 0;
        }
    }
    *why = hostctx_take_fail(&r->hc);
    return RELHOST_EINVAL;
}

void jobs_runner_rt_close(struct runner_rt *r)
{
    if (r->opened && r->ops->close) {
        int g = guard_enter(r->pi->plugin_name, "close", NULL);
        r->ops->close(r->inst);
        guard_leave(g);
    }
}

/* A runner's cancel, guarded like every plugin call (a crash or exit in it is named). */
void jobs_cancel_guarded(relhost_job *jb)
{
    int g;
    if (!jb->rt->ops->cancel)
        return;
    g = guard_enter(jb->rt->pi->plugin_name, "cancel", jb->step);
    jb->rt->busy++;
    jb->rt->ops->cancel(&jb->rt->hc.pub, jb->rt->inst, jb->ext_id, jb->w->handle);
    jb->rt->busy--;
    guard_leave(g);
}

int jobs_runner_ensure_open(jobs *j, struct runner_rt *r, const relhost_ctx *ctx)
{
    char *m;
    (void)j;
    if (r->opened)
        return 0;
    snprintf(r->prefix, sizeof r->prefix, "runner %s", r->pi->name);
    if (jobs_runner_rt_open(r, ctx, 1, &m) != 0) {
        /* an isolated runner's process that died or hung in open() did not refuse anything */
        error_set(RELHOST_EINVAL, "%s: runner \"%s\" (plugin %s) %s: %s", plan_where(r->pi),
                  r->pi->name, r->pi->plugin_name,
                  jobs_runner_fault(r) ? "could not be opened" : "refused its configuration",
                  m ? m : "no reason given");
        free(m);
        return RELHOST_EINVAL;
    }
    return 0;
}

static int source_open(struct source_rt *s, const relhost_ctx *ctx)
{
    hostctx hc;
    char *m;
    int rc = 0;
    if (s->opened)
        return 0;
    hostctx_init(&hc, ctx, s->pi->plugin_name, s->pi->name, NULL, s->pi->store);
    if (s->ops->open) {
        int g = guard_enter(s->pi->plugin_name, "open", NULL);
        rc = s->ops->open(&hc.pub, s->pi->conf, &s->inst);
        guard_leave(g);
    }
    if (!s->ops->open || rc != 0) {
        m = hostctx_take_fail(&hc);
        rc = error_set(
            RELHOST_EINVAL, "%s: metrics source \"%s\" (plugin %s) refused its configuration: %s",
            plan_where(s->pi), s->pi->name, s->pi->plugin_name, m ? m : "no reason given");
        free(m);
    } else {
        s->opened = 1;
    }
    hostctx_fini(&hc);
    return rc;
}

int jobs_submit(jobs *j, const relhost_ctx *ctx, const relhost_job_request *rq_in,
                relhost_job **out)
{
    relhost_job_request rq;

    memset(&rq, 0, sizeof rq);
    memcpy(&rq, rq_in, rq_in->struct_size < sizeof rq ? rq_in->struct_size : sizeof rq);
    rq.struct_size = sizeof rq;
    *out = NULL;
    if (!rq.validation || !*rq.validation || !rq.runner || !rq.argv || !rq.argv[0])
        return error_set(RELHOST_EINVAL, "job_submit: validation, runner and argv are required");
    if (rq.repeats < 0 || rq.repeats > 100)
        return error_set(RELHOST_EINVAL, "validation %s: repeats = %d is not 1..100", rq.validation,
                         rq.repeats);
    if (rq.repeats > 1)
        return repeats_submit(j, ctx, &rq, out);
    return jobs_create(j, ctx, &rq, rq.validation, 0, NULL, 0, out);
}

/* Open the metrics sources rq names for jb: 0, or -1 (error set, jb an ERROR) for one that is
 * unknown or refuses its configuration. */
static int take_sources(jobs *j, relhost_job *jb, const relhost_ctx *ctx,
                        const relhost_job_request *rq)
{
    if (rq->metrics && rq->metrics->n) {
        jb->w->src = xcalloc(rq->metrics->n, sizeof *jb->w->src);
        for (size_t i = 0; i < rq->metrics->n; i++) {
            struct source_rt *s = source_rt(j, rq->metrics->v[i]);
            if (!s) {
                /* freed by jobs_free via the list below */
                error_set(RELHOST_EINVAL, "validation %s: unknown metrics source \"%s\"",
                          rq->validation, rq->metrics->v[i]);
                jobs_set_phase(jb, PH_DONE);
                jb->outcome = RELHOST_ERROR;
                return -1;
            }
            if (source_open(s, ctx) != 0) {
                jobs_set_phase(jb, PH_DONE);
                jb->outcome = RELHOST_ERROR;
                return -1;
            }
            jb->w->src[jb->w->nsrc++] = s;
        }
    }
    return 0;
}

/* Copy what rq accepts (checks, exit codes, termination reason) into jb. */
static void take_acceptance(relhost_job *jb, const relhost_job_request *rq)
{
    if (rq->acceptance && rq->acceptance->n) {
        size_t esz =
            rq->acceptance->elem_size ? rq->acceptance->elem_size : sizeof(relhost_check_spec);
        jb->w->checks = xcalloc(rq->acceptance->n, sizeof *jb->w->checks);
        for (size_t i = 0; i < rq->acceptance->n; i++) {
            const relhost_check_spec *s = (const void *)((const char *)rq->acceptance->v + i * esz);
            memcpy(&jb->w->checks[i], s, s->struct_size < sizeof *s ? s->struct_size : sizeof *s);
            sv_push(&jb->w->check_keys, s->key);
            jb->w->checks[i].key = jb->w->check_keys.v[i];
            jb->w->checks[i].where = NULL;
        }
        jb->w->nchecks = rq->acceptance->n;
        /* check_keys may have been reallocated while pushing: fix the pointers up */
        for (size_t i = 0; i < jb->w->nchecks; i++)
            jb->w->checks[i].key = jb->w->check_keys.v[i];
    }
    if (rq->expect_exit && rq->n_expect_exit) {
        jb->w->expect_exit = xcalloc(rq->n_expect_exit, sizeof *jb->w->expect_exit);
        memcpy(jb->w->expect_exit, rq->expect_exit, rq->n_expect_exit * sizeof *jb->w->expect_exit);
        jb->w->n_expect_exit = rq->n_expect_exit;
    }
    jb->w->expect_term = rq->expect_termination ? xstrdup(rq->expect_termination) : NULL;
}

/* The jobs and their ids live for the whole run: they are carved from blocks of their own,
 * freed by jobs_free(). A job's parts it frees at its end (work part, live part, evidence) thus
 * leave whole free runs the next allocations reuse, not holes between the jobs that stay. */
#if defined(__SANITIZE_ADDRESS__)
#define JOB_BLOCK 0 /* one block per piece: AddressSanitizer sees each one's bounds */
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define JOB_BLOCK 0
#endif
#endif
#ifndef JOB_BLOCK
#define JOB_BLOCK (64 * 1024)
#endif
struct job_block {
    struct job_block *next;
    size_t used, cap;
    max_align_t data[];
};

/* n zeroed bytes from j's blocks, aligned to align (a power of two, at most max_align_t's). */
static void *jobs_carve(jobs *j, size_t n, size_t align)
{
    struct job_block *b = j->blocks;
    size_t at = b ? (b->used + align - 1) & ~(align - 1) : 0;
    if (!b || at > b->cap || b->cap - at < n) {
        size_t cap = n > JOB_BLOCK ? n : JOB_BLOCK;
        b = xcalloc(1, sizeof *b + cap);
        b->cap = cap;
        b->next = j->blocks;
        j->blocks = b;
        at = 0;
    }
    b->used = at + n;
    return (char *)b->data + at;
}

/* The jobs' shared copy of step name s (a run has few steps: a walk finds it). */
static char *step_name(jobs *j, const char *s)
{
    for (size_t i = j->step_names.n; i-- > 0;)
        if (strcmp(j->step_names.v[i], s) == 0)
            return j->step_names.v[i];
    sv_push(&j->step_names, s);
    return j->step_names.v[j->step_names.n - 1];
}

int jobs_create(jobs *j, const relhost_ctx *ctx, const relhost_job_request *req, const char *name,
                int repeat, relhost_job *group, unsigned flags, relhost_job **out)
{
    relhost_job_request rq = *req;
    relhost_job *jb;
    struct runner_rt *rt;
    size_t n;

    *out = NULL;
    if (strlen(name) > RELHOST_JOB_NAME_MAX)
        return error_set(RELHOST_EINVAL,
                         "validation name \"%.40s...\" is %zu bytes, more than "
                         "the %d a job name may hold (its key, log and record are named by it); "
                         "shorten it",
                         name, strlen(name), RELHOST_JOB_NAME_MAX);
    rt = jobs_runner_find(j, rq.runner);
    if (!rt)
        return error_set(RELHOST_EINVAL, "validation %s: unknown runner \"%s\" (plan key runners)",
                         rq.validation, rq.runner);
    if (jobs_runner_ensure_open(j, rt, ctx) != 0)
        return RELHOST_EINVAL;
    if (group)
        rq.acceptance = NULL; /* a repeat is judged only as part of its aggregate */
    jb = jobs_carve(j, sizeof *jb, _Alignof(relhost_job));
    jb->w = xcalloc(1, sizeof *jb->w);
    jb->ev = xcalloc(1, sizeof *jb->ev);
    jb->owner = j;
    jb->idx = j->n; /* appended below */
    jb->w->key = xstrdup("");
    jb->ext_id = xstrdup("");
    jb->rt = rt;
    jb->repeat = repeat;
    jb->group = group;
    if (flags & JOB_AGGREGATE)
        jb->nkids = (size_t)rq.repeats; /* kids[] is filled by repeats_submit() */
    jb->step = step_name(j, ctx->step ? ctx->step : "");
    n = strlen(jb->step) + 1 + strlen(name) + 1;
    jb->id = jobs_carve(j, n, 1);
    snprintf(jb->id, n, "%s/%s", jb->step, name);
    jb->validation = jb->id + strlen(jb->step) + 1;
    jb->w->log_fd = -1;
    jb->exit_code = -1;
    jb->attempt = 1;
    jb->w->shell = rq.shell;
    jb->w->timeout_s = rq.timeout_s;
    jb->w->retries = rq.retries;
    jb->w->nodes = rq.nodes;
    jb->w->gpus = rq.gpus;
    for (size_t i = 0; rq.argv[i]; i++)
        sv_push(&jb->w->argv_t, rq.argv[i]);
    if (rq.env)
        for (size_t i = 0; i < rq.env->n; i++)
            sv_push_take(&jb->w->env_t, xasprintf("%s=%s", rq.env->keys[i], rq.env->values[i]));
    /* DESIGN: jobs get secrets only through pass_env. No process relhost starts inherits a
     * sealed variable (core/run/proc.c); pass_env hands over those the validation asked for, as
     * explicit NAME=VALUE entries (the plan checked at load that each one is set). */
    jb->w->env_plan_n = jb->w->env_t.n;
    if (rq.pass_env)
        for (size_t i = 0; i < rq.pass_env->n; i++) {
            const char *v = getenv(rq.pass_env->v[i]);
            if (v) /* the value is not hashed or stored: it may be a secret */
                sv_push_take(&jb->w->env_t, xasprintf("%s=%s", rq.pass_env->v[i], v));
        }
    jb->w->cwd_t = rq.cwd ? xstrdup(rq.cwd) : NULL;
    if (RELHOST_HAS(&rq, vars) && rq.vars)
        for (size_t i = 0; i < rq.vars->n; i++) {
            sv_push(&jb->w->vars, rq.vars->keys[i]);
            sv_push(&jb->w->vars, rq.vars->values[i]);
        }
    if (rq.runner_args)
        for (size_t i = 0; i < rq.runner_args->n; i++) {
            sv_push(&jb->w->rargs_k, rq.runner_args->keys[i]);
            sv_push(&jb->w->rargs_v, rq.runner_args->values[i]);
        }
    if (take_sources(j, jb, ctx, &rq) != 0)
        goto add;
    take_acceptance(jb, &rq);
    jobs_compute_hashes(jb);
    if (!(flags & (JOB_AGGREGATE | JOB_FRESH)))
        jobs_resume_from_state(j, jb, ctx);
add:
    if (j->n == j->cap) {
        j->cap = j->cap ? j->cap * 2 : 64;
        j->all = xrealloc(j->all, j->cap * sizeof *j->all);
    }
    j->all[j->n++] = jb;
    *out = jb;
    if (jb->phase == PH_DONE && jb->outcome == RELHOST_ERROR && !jb->resumed) {
        jobs_set_str(&jb->reason, "tool_error");
        evidence_note(jb->ev, error_last());
        jobs_persist(jb);
        jobs_compact(jb, jb->group != NULL);
        return RELHOST_EINVAL;
    }
    if (jb->phase == PH_DONE && !jb->kids)
        jobs_compact(jb, jb->group != NULL); /* resumed: its result is in the state */
    return 0;
}

/* ---- the queue ---- */

/* In MODE_LAUNCH a job is done once it runs remotely with a known id, or when it cannot be
 * launched now (its runner is full, or local: a local job dies with relhost, so it waits for a
 * `relhost -c` run); only a submission in flight is waited for. */
static int counts_done(const relhost_job *jb, relhost_mode mode)
{
    if (jb->phase == PH_DONE)
        return 1;
    if (jb->kids)
        return repeats_done(jb, mode);
    return mode == RELHOST_MODE_LAUNCH && jb->phase != PH_SUBMITTING;
}

int jobs_counts_done(const relhost_job *jb, relhost_mode mode) { return counts_done(jb, mode); }

static size_t count_done(relhost_job *const *v, size_t n, relhost_mode mode)
{
    size_t done = 0;
    for (size_t i = 0; i < n; i++)
        done += counts_done(v[i], mode);
    return done;
}

/* Runners that have room for one more job. */
static size_t runners_with_room(const jobs *j)
{
    size_t n = 0;
    for (size_t i = 0; i < j->p->nrunners; i++)
        n += j->runners[i].opened && j->runners[i].running < j->runners[i].pi->max_parallel;
    return n;
}

/* Record the intent of every queued job that has a free slot, in submission order; returns how
 * many. The walk starts at the first job that may still be queued (j->qfrom) and stops once no
 * runner has room: a tick costs what it starts, not the length of the queue. */
static size_t prepare_ready(jobs *j, relhost_mode mode)
{
    double now = loop_now();
    size_t nstart = 0, room = runners_with_room(j);
    while (j->qfrom < j->n && (j->all[j->qfrom]->phase != PH_QUEUED || j->all[j->qfrom]->kids)) {
        j->qfrom++; /* an aggregate runs nothing itself: its repeats do */
        j->visits++;
    }
    for (size_t i = j->qfrom; i < j->n && room > 0; i++) {
        relhost_job *jb = j->all[i];
        j->visits++;
        if (jb->kids)
            continue;
        if (mode == RELHOST_MODE_LAUNCH && !jb->rt->ops->find)
            continue; /* local jobs die with relhost: not launched, run by `relhost -c` */
        if (jb->phase == PH_QUEUED && jb->w->not_before <= now &&
            jb->rt->running < jb->rt->pi->max_parallel) {
            jobs_prepare_job(j, jb);
            if (jb->w->submit_pending) {
                if (j->nprepared == j->capprepared) {
                    j->capprepared = j->capprepared ? j->capprepared * 2 : 16;
                    j->prepared = xrealloc(j->prepared, j->capprepared * sizeof *j->prepared);
                }
                j->prepared[j->nprepared++] = jb;
            }
            nstart++;
            if (jb->rt->running >= jb->rt->pi->max_parallel)
                room--;
        }
    }
    return nstart;
}

/* Whether a job about to be submitted runs where relhost's machine going down would not end it
 * (its runner finds its jobs again: find()). */
static int prepared_remote(const jobs *j)
{
    for (size_t i = 0; i < j->nprepared; i++)
        if (j->prepared[i]->w->submit_pending && j->prepared[i]->rt->ops->find)
            return 1;
    return 0;
}

static void submit_prepared(jobs *j)
{
    for (size_t i = 0; i < j->nprepared; i++)
        if (j->prepared[i]->w->submit_pending) {
            j->prepared[i]->w->submit_pending = 0;
            jobs_submit_job(j, j->prepared[i]);
        }
    j->nprepared = 0;
}

/* How many of the waited-for jobs count as done: in a run from the log of ends (a job counts
 * once it is PH_DONE), in a launch by asking each (a launch ticks once or twice). */
static size_t waited_done(jobs *j, jobs_waitset *ws, relhost_job *const *v, size_t n,
                          relhost_mode mode)
{
    if (mode == RELHOST_MODE_LAUNCH)
        return count_done(v, n, mode);
    return jobs_waitset_update(ws, j, mode);
}

/*
 * One tick: poll runners, tail logs, record the intents of jobs that can start, make all of it
 * durable with ONE flush (results of ended jobs and intents alike), then submit. A tick that
 * ended or started something is followed at once by another; otherwise the loop sleeps until
 * the next poll, log read or retry is due, or a child exits. A tick costs O(running + changed):
 * it walks the running jobs, the jobs it starts and the ends since the last one, never all.
 */
int jobs_wait(jobs *j, const relhost_ctx *ctx, relhost_job *const *v, size_t n, int any)
{
    int ticked = 0, rc = 0;
    jobs_waitset ws;
    jobs_waitset_init(&ws, j, v, n, ctx->mode);
    for (;;) {
        size_t done = waited_done(j, &ws, v, n, ctx->mode), nstart;
        unsigned long ended_before = j->ended_count;
        int serving = j->serving;
        /* A launch ticks once at least, so that its jobs get submitted. */
        if (((any && done > 0) || done == n || n == 0) &&
            (ticked || ctx->mode != RELHOST_MODE_LAUNCH))
            break;
        ticked = 1;
        j->ticks++;
        if (loop_interrupted()) {
            jobs_stop(j);
            jobs_flush_state(j);
            rc = RELHOST_EINTR;
            break;
        }
        jobs_poll_runners(j);
        jobs_tend_running(j);
        nstart = prepare_ready(j, ctx->mode);
        /* One fdatasync for the tick's intents and results when a job that can outlive this
         * machine (a runner with find(): a cluster's) is about to be submitted: its intent is
         * durable first. Otherwise the tick's changes are written, not synced: a local job's
         * intent then survives relhost's death, which its process may outlive, and a power
         * loss, which ends the process too, loses at most the window's changes. */
        jobs_commit(j, prepared_remote(j));
        submit_prepared(j);
        jobs_commit(j, 0); /* the submissions' pids and external ids: written at once */
        done = waited_done(j, &ws, v, n, ctx->mode);
        if ((any && done > 0) || done == n || nstart)
            continue;
        /* Sleep until a timer of the job layer (a poll, a log read, a deadline, a retry) or a
         * child's exit wakes the loop; the timers' work is done right there (j->serving). */
        j->serving = 1;
        loop_once(j->ended_count != ended_before ? 0 : jobs_commit_wait(j, 1.0));
        j->serving = serving;
    }
    jobs_waitset_free(&ws);
    log_msg(RELHOST_LOG_DEBUG, "jobs",
            "waited for %zu job(s): %lu tick(s), %lu poll(s), %zu job(s) looked at so far", n,
            j->ticks, j->polls, j->visits);
    if (rc == 0)
        jobs_commit(j, 0);
    return rc;
}

void jobs_stop(jobs *j)
{
    /* No deadline of a job fires while another is being stopped (a cancel waits). */
    for (size_t i = 0; i < j->n; i++)
        if (j->all[i]->phase == PH_RUNNING || j->all[i]->phase == PH_SUBMITTING)
            jobs_stop_timers(j->all[i]);
    for (size_t i = 0; i < j->n; i++) {
        relhost_job *jb = j->all[i];
        if (jb->phase != PH_RUNNING && jb->phase != PH_SUBMITTING)
            continue;
        if (jb->rt->ops->find && loop_interrupted() < 2) {
            j->detached++; /* re-attachable: leave it running, state keeps its id */
            continue;
        }
        jb->w->host_cancelled = 1;
        jobs_cancel_guarded(jb);
        jobs_set_phase(jb, PH_QUEUED);
        jb->rt->running--;
        jobs_close_sources(jb);
        jobs_release_handle(jb);
        jobs_persist(jb);
    }
}

size_t jobs_detached(const jobs *j) { return j->detached; }

int jobs_resumed(const jobs *j, const char *id)
{
    for (size_t i = 0; j && i < j->n; i++)
        if (strcmp(j->all[i]->id, id) == 0)
            return j->all[i]->resumed;
    return 0;
}

void jobs_ids(const jobs *j, const char *step, strvec *out)
{
    jobs_ids_resumed(j, step, out, NULL);
}

int *jobs_ids_resumed(const jobs *j, const char *step, strvec *out, int **resumed)
{
    size_t from = out->n, k;
    for (size_t i = 0; j && i < j->n; i++)
        if (strcmp(j->all[i]->step, step) == 0)
            sv_push(out, j->all[i]->id);
    if (!resumed)
        return NULL;
    *resumed = xcalloc(out->n - from + 1, sizeof **resumed);
    k = 0;
    for (size_t i = 0; j && i < j->n; i++)
        if (strcmp(j->all[i]->step, step) == 0)
            (*resumed)[k++] = j->all[i]->resumed;
    return *resumed;
}

int jobs_result(jobs *j, const relhost_job *jb, relhost_job_result *out)
{
    relhost_job_result r;
    (void)j;
    memset(&r, 0, sizeof r);
    r.struct_size = out->struct_size < sizeof r ? out->struct_size : sizeof r;
    if (jb->kids) {
        repeats_result(jb, &r);
        memcpy(out, &r, r.struct_size);
        return 0;
    }
    r.finished = jb->phase == PH_DONE;
    r.outcome = jb->phase == PH_DONE ? jb->outcome : RELHOST_NONE;
    r.reason = jb->reason;
    r.retryable = jb->retryable;
    r.exit_code = jb->exit_code;
    r.termination_reason = jb->term;
    r.restarts = jb->restarts;
    r.attempts = jb->attempt;
    r.duration_s = jb->ended > jb->started ? jb->ended - jb->started : 0;
    r.log_path = jb->log_path;
    r.external_id = jb->ext_id[0] ? jb->ext_id : NULL;
    r.resumed = jb->resumed;
    memcpy(out, &r, r.struct_size);
    return 0;
}

const evidence *jobs_evidence(const relhost_job *job)
{
    static const evidence none; /* an ended job's: its evidence is in the state */
    return job->ev ? job->ev : &none;
}

static void free_ev(relhost_job *jb)
{
    if (jb->ev)
        evidence_free(jb->ev);
    free(jb->ev);
    jb->ev = NULL;
}

/* What a job holds only until its end (job_free and jobs_compact): its work and live parts. */
static void free_live(relhost_job *jb)
{
    struct job_work *w = jb->w;
    if (w) {
        jobs_stop_timers(jb);
        jobs_close_sources(jb);
        jobs_release_handle(jb);
        if (w->log_fd >= 0)
            close(w->log_fd);
        free(w->src_jobs);
        free(w->src);
        sv_free(&w->argv_t);
        sv_free(&w->env_t);
        sv_free(&w->argv_x);
        sv_free(&w->env_x);
        free(w->cwd_t);
        free(w->cwd_x);
        sv_free(&w->rargs_k);
        sv_free(&w->rargs_v);
        sv_free(&w->vars);
        free(w->checks);
        sv_free(&w->check_keys);
        free(w->expect_exit);
        free(w->expect_term);
        free(w->resume_note);
        free(w->key);
        if (w->lv) {
            hostctx_fini(&w->lv->ev_hc);
            free(w->lv);
        }
        free(w);
        jb->w = NULL;
    }
}

void jobs_compact(relhost_job *jb, int keep_ev)
{
    free_live(jb);
    if (!keep_ev)
        free_ev(jb);
}

static void job_free(relhost_job *jb)
{
    free_live(jb);
    free(jb->kids);
    free(jb->ext_id);
    free(jb->log_path);
    free(jb->reason);
    free(jb->term);
    free_ev(jb); /* jb and its id: with the blocks (jobs_free) */
}

void jobs_set_workdir(jobs *j, const char *dir)
{
    free(j->workdir);
    j->workdir = dir ? xstrdup(dir) : NULL;
}

void jobs_free(jobs *j)
{
    if (!j)
        return;
    free(j->workdir);
    json_decref(j->baseline);
    free(j->baseline_error);
    /* No timer of the job layer may fire while it is taken down (a cancel below waits). */
    for (size_t i = 0; i < j->n; i++)
        jobs_stop_timers(j->all[i]);
    for (size_t i = 0; i < j->p->nrunners; i++) {
        loop_timer_cancel(j->runners[i].poll_timer);
        j->runners[i].poll_timer = 0;
    }
    for (size_t i = 0; i < j->n; i++) {
        relhost_job *jb = j->all[i];
        if ((jb->phase == PH_RUNNING || jb->phase == PH_SUBMITTING) && !jb->rt->ops->find)
            jobs_cancel_guarded(jb);
        job_free(jb);
    }
    free(j->all);
    free(j->run);
    free(j->ends);
    free(j->prepared);
    sv_free(&j->step_names);
    while (j->blocks) {
        struct job_block *b = j->blocks;
        j->blocks = b->next;
        free(b);
    }
    for (size_t i = 0; i < j->p->nrunners; i++) {
        jobs_runner_rt_close(&j->runners[i]);
        if (j->runners[i].opened)
            hostctx_fini(&j->runners[i].hc);
    }
    for (size_t i = 0; i < j->p->nmetrics; i++)
        if (j->sources[i].opened && j->sources[i].ops->close) {
            int g = guard_enter(j->sources[i].pi->plugin_name, "close", NULL);
            j->sources[i].ops->close(j->sources[i].inst);
            guard_leave(g);
        }
    free(j->runners);
    free(j->sources);
    free(j);
}
