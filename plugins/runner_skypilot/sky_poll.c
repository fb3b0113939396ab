/* SPDX-License-Identifier: MIT */
/*
 * runner_skypilot: poll. Reaps finished launches, then ONE `sky jobs queue` per poll_interval for
 * all jobs; a job the queue no longer lists is asked about once with `sky jobs logs`.
 */
#include "runner_skypilot_int.h"
#include "../common/pl_host.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- status ------------------------------------------------------------------------------- */

static void set_state(relhost_job_status *st, struct sky_rec *rec, relhost_job_state state)
{
    st->state = state;
    if (rec)
        rec->state = state;
}

static void end_job(relhost_job_status *st, struct sky_rec *rec, relhost_job_state state,
                    relhost_job_end end, int exit_code, const char *word, const char *reason)
{
    set_state(st, rec, state);
    st->end = end;
    st->exit_code = exit_code;
    snprintf(st->engine_state, sizeof st->engine_state, "%s", word);
    snprintf(st->engine_reason, sizeof st->engine_reason, "%s", reason ? reason : "");
    if (rec) {
        rec->final = 1;
        st->restarts = rec->restarts;
    }
}

/* The job ended as `word` (a queue status or the logs trailer): fetch its whole log once (the
 * host reads it right after this poll) and report how it ended. */
static void ended(const relhost_ctx *ctx, struct runner_skypilot *r, relhost_job_status *st,
                  struct sky_rec *rec, const char *word, relhost_job_state state,
                  relhost_job_end end, const struct sky_fetch *known)
{
    struct sky_fetch f;
    char reason[128] = "";
    int code = -1;
    if (known) {
        f = *known;
    } else if (sky_fetch_log(ctx, r, rec, &f) != 0) {
        pl_host->log(ctx, RELHOST_LOG_WARN, "job %s ended as %s, but its log could not be fetched",
                     rec->id, word);
        memset(&f, 0, sizeof f);
    }
    if (state == RELHOST_JOB_ENDED && end == RELHOST_END_EXITED) {
        if (strcmp(word, "SUCCEEDED") == 0) {
            code = 0;
        } else if (strcmp(word, "FAILED") == 0 && f.timed_out) {
            /* remote_timeout: timeout(1) on the cluster stopped the command at timeout_s. The
             * same end as the host's own deadline or Slurm's TIMEOUT: exit 124, timeout. */
            end = RELHOST_END_TIMEOUT;
            code = 124;
            snprintf(reason, sizeof reason,
                     "timeout_s reached on the cluster: timeout(1) "
                     "stopped the command");
        } else if (f.has_summary && f.summary != 0) {
            code = f.summary; /* the job's own last word, as metrics_regex reads it */
        } else {
            /* SkyPilot does not say the exit code of a failed job; a log without a non-zero
             * [SUMMARY] Exit code counts as 1, never 0: the engine said it failed. */
            code = 1;
            snprintf(reason, sizeof reason, "%s", f.last);
        }
    } else if (end != RELHOST_END_CANCELLED) {
        snprintf(reason, sizeof reason, "%s", f.last);
    }
    end_job(st, rec, state, end, code, word, reason);
}

/* A launch process ended: its id, or why there is none. */
static void launch_done(const relhost_ctx *ctx, struct runner_skypilot *r, relhost_job_status *st,
                        struct sky_rec *rec, const relhost_proc_result *res)
{
    size_t len = 0;
    char *out = sky_read_file(rec->launch_out, 1 << 20, &len);
    char id[32];
    if (out)
        len = sky_strip_ansi(out, len);
    if (out && sky_launch_id(out, id, sizeof id)) {
        snprintf(rec->id, sizeof rec->id, "%s", id);
        snprintf(st->new_external_id, sizeof st->new_external_id, "%s", id);
        rec->id_new = 1;
        set_state(st, rec, RELHOST_JOB_PENDING);
        pl_host->log(ctx, RELHOST_LOG_DEBUG, "%s launched as managed job %s", rec->key, id);
    } else {
        rec->launch_failed = 1;
        rec->launch_end = res->exec_failed ? RELHOST_END_EXEC_FAILED : RELHOST_END_INFRA;
        if (res->exec_failed)
            snprintf(rec->launch_why, sizeof rec->launch_why,
                     "cannot run the SkyPilot CLI "
                     "\"%s\" (exit %d)",
                     r->sky, res->exit_code);
        else if (res->timed_out)
            snprintf(rec->launch_why, sizeof rec->launch_why,
                     "`sky jobs launch` did not "
                     "finish within launch_timeout (%.0f s)",
                     r->conf->launch_timeout);
        else if (out)
            sky_error_line(out, rec->launch_why, sizeof rec->launch_why);
        if (!rec->launch_why[0])
            snprintf(rec->launch_why, sizeof rec->launch_why,
                     "`sky jobs launch` exited with %d "
                     "and printed no job id",
                     res->exit_code);
    }
    free(out);
    pl_host->proc_release(ctx, rec->launch);
    rec->launch = NULL;
}

static void apply_row(const relhost_ctx *ctx, struct runner_skypilot *r, relhost_job_status *st,
                      struct sky_rec *rec, const sky_row *row, int *missing)
{
    relhost_job_state state;
    relhost_job_end end;
    if (row->recoveries >= 0)
        rec->restarts = row->recoveries;
    st->restarts = rec->restarts;
    snprintf(rec->status, sizeof rec->status, "%s", row->status);
    if (sky_map_status(row->status, &state, &end) != 0) {
        *missing = 1; /* a status word this runner does not know: ask `sky jobs logs` */
        return;
    }
    snprintf(st->engine_state, sizeof st->engine_state, "%s", row->status);
    if (state == RELHOST_JOB_ENDED)
        ended(ctx, r, st, rec, row->status, state, end, NULL);
    else
        set_state(st, rec, state);
}

/* The queue does not list the job (or shows a word we do not know): `sky jobs logs` says by its
 * exit code, and its trailer, how the job ended. */
static void ask_logs(const relhost_ctx *ctx, struct runner_skypilot *r, relhost_job_status *st,
                     struct sky_rec *rec)
{
    struct sky_fetch f;
    relhost_job_state state;
    relhost_job_end end;
    const char *word;
    if (sky_fetch_log(ctx, r, rec, &f) != 0 || !f.ran) {
        pl_host->log(ctx, RELHOST_LOG_WARN,
                     "job %s is not in `sky jobs queue` and `sky jobs logs` "
                     "failed; asking again at the next poll",
                     rec->id);
        return;
    }
    if (f.trailer[0] && sky_map_status(f.trailer, &state, &end) == 0 &&
        state == RELHOST_JOB_ENDED) {
        ended(ctx, r, st, rec, f.trailer, state, end, &f);
        return;
    }
    if (!sky_map_logs_exit(f.exit_code, &state, &end, &word)) {
        if (rec->state)
            set_state(st, rec, rec->state);
        return; /* not finished: the next poll looks again */
    }
    if (state == RELHOST_JOB_LOST) {
        char reason[128];
        snprintf(reason, sizeof reason, "`sky jobs logs %.31s`: %.76s", rec->id, f.last);
        end_job(st, rec, RELHOST_JOB_LOST, RELHOST_END_INFRA, -1, "NOT_FOUND", reason);
        return;
    }
    ended(ctx, r, st, rec, word, state, end, &f);
}

static relhost_job_status *at(relhost_job_status *jobs, size_t i, size_t elem_size)
{
    return (relhost_job_status *)(void *)((char *)jobs + i * elem_size);
}

/* 1. of a poll for one job: its launch's news. No CLI call, only the process started by
 * submit. Returns whether the job wants a `sky jobs queue` in this poll. */
static int poll_launch(const relhost_ctx *ctx, struct runner_skypilot *r, relhost_job_status *st,
                       struct sky_rec *rec, double now)
{
    int need_queue = 0;
    rec->id_new = 0;
    if (rec->id_unreported) {
        rec->id_unreported = 0;
        snprintf(st->new_external_id, sizeof st->new_external_id, "%s", rec->id);
    }
    if (rec->launch_cancelled) {
        rec->launch_cancelled = 0;
        end_job(st, rec, RELHOST_JOB_ENDED, RELHOST_END_CANCELLED, -1, "CANCELLED",
                "cancelled while `sky jobs launch` ran; SkyPilot never had the job");
        return 0;
    }
    if (rec->launch) {
        relhost_proc_result res;
        int done = 0;
        memset(&res, 0, sizeof res);
        res.struct_size = sizeof res;
        if (pl_host->proc_poll(ctx, rec->launch, &done, &res) == 0 && done)
            launch_done(ctx, r, st, rec, &res);
        else
            set_state(st, rec, RELHOST_JOB_SUBMITTING);
    }
    if (rec->launch_failed && rec->launch_end != RELHOST_END_EXEC_FAILED)
        need_queue = 1; /* did the launch submit the job before it failed? */
    if (rec->id[0])
        need_queue |= now >= r->next_queue;
    return need_queue;
}

/* 3. of a poll for one job: its news, from the queue q or, between queues (q NULL: none ran or
 * it failed), from what the last one said. */
static void poll_news(const relhost_ctx *ctx, struct runner_skypilot *r, relhost_job_status *st,
                      struct sky_rec *rec, const sky_queue *q)
{
    int missing = 0;
    if (rec->launch_failed) {
        const sky_row *row = q ? sky_row_by_name(q, rec->key) : NULL;
        rec->launch_failed = 0;
        if (!row || rec->launch_end == RELHOST_END_EXEC_FAILED) {
            end_job(st, rec, RELHOST_JOB_ENDED, rec->launch_end,
                    rec->launch_end == RELHOST_END_EXEC_FAILED ? 127 : -1, "LAUNCH_FAILED",
                    rec->launch_why);
            return;
        }
        /* The launch failed after SkyPilot had taken the job: adopt it, never launch twice. */
        snprintf(rec->id, sizeof rec->id, "%lld", row->id);
        snprintf(st->new_external_id, sizeof st->new_external_id, "%s", rec->id);
        rec->id_new = 1;
        pl_host->log(ctx, RELHOST_LOG_WARN,
                     "`sky jobs launch` of %s failed (%s), but SkyPilot "
                     "lists it as job %s: following that job",
                     rec->key, rec->launch_why, rec->id);
    }
    if (!rec->id[0] || rec->final)
        return;
    if (!q) {
        if (rec->state)
            set_state(st, rec, rec->state);
        st->restarts = rec->restarts;
        return;
    }
    {
        const sky_row *row = sky_row_by_id(q, rec->id);
        if (row)
            apply_row(ctx, r, st, rec, row, &missing);
        else if (!rec->id_new)
            missing = 1;
        else
            set_state(st, rec, RELHOST_JOB_PENDING); /* just launched; give it a poll */
    }
    if (missing)
        ask_logs(ctx, r, st, rec);
}

int runner_skypilot_poll(const relhost_ctx *ctx, void *inst, relhost_job_status *jobs, size_t n,
                         size_t elem_size, double *next_poll_s)
{
    struct runner_skypilot *r = inst;
    struct sky_rec **recs = calloc(n + 1, sizeof *recs);
    double now = sky_now();
    int need_queue = 0, queue_ok = 0, rc = 0;
    sky_queue q;

    memset(&q, 0, sizeof q);
    if (!recs)
        return pl_oom(ctx);
    /* 1. Launches: no CLI call, only the processes started by submit. */
    for (size_t i = 0; i < n; i++) {
        relhost_job_status *st = at(jobs, i, elem_size);
        struct sky_rec *rec = sky_rec_find(r, st->runner_handle, st->external_id);
        if (!rec && st->external_id && *st->external_id)
            rec = sky_rec_new(r, st->key, st->external_id); /* re-attached after a restart */
        recs[i] = rec;
        if (rec)
            need_queue |= poll_launch(ctx, r, st, rec, now);
    }

    /* 2. One `sky jobs queue` for every job of this runner. */
    if (need_queue) {
        r->next_queue = now + r->conf->poll_interval;
        rc = sky_queue_read(ctx, r, &q);
        queue_ok = rc == 0;
    }

    /* 3. Each job's news, from the queue or, between queues, from what the last one said. */
    for (size_t i = 0; i < n; i++)
        if (recs[i])
            poll_news(ctx, r, at(jobs, i, elem_size), recs[i], queue_ok ? &q : NULL);
    sky_queue_free(&q);
    free(recs);
    /* The host also polls as soon as a launch process exits; this is the pace of the queue. */
    *next_poll_s = r->next_queue > now ? r->next_queue - now : r->conf->poll_interval;
    if (*next_poll_s < 0.05)
        *next_poll_s = 0.05;
    /* A failed queue is reported (the host logs it and tries again); the launches' news in
     * jobs[] stand either way. */
    return need_queue && !queue_ok ? rc : 0;
}
