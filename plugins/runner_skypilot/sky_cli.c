/* SPDX-License-Identifier: MIT */
/*
 * runner_skypilot: the job records, and the CLI calls every op shares: `sky ARGS` run to
 * completion, `sky jobs queue` read, `sky jobs logs` fetched.
 */
#include "runner_skypilot_int.h"
#include "../common/pl_host.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

double sky_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double sky_log_every(const struct runner_skypilot *r)
{
    return r->conf->log_interval > 0 ? r->conf->log_interval : r->conf->poll_interval;
}

char *sky_dupstr(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

/* ---- records ------------------------------------------------------------------------------ */

struct sky_rec *sky_rec_new(struct runner_skypilot *r, const char *key, const char *id)
{
    struct sky_rec *rec = calloc(1, sizeof *rec);
    if (!rec)
        return NULL;
    snprintf(rec->key, sizeof rec->key, "%s", key ? key : "");
    snprintf(rec->id, sizeof rec->id, "%s", id ? id : "");
    rec->next = r->recs;
    r->recs = rec;
    return rec;
}

void sky_rec_free(struct sky_rec *rec)
{
    if (rec->launch)
        pl_host->proc_release(NULL, rec->launch);
    free(rec->launch_out);
    free(rec->log);
    free(rec);
}

void sky_rec_unlink(struct runner_skypilot *r, struct sky_rec *rec)
{
    for (struct sky_rec **pp = &r->recs; *pp; pp = &(*pp)->next)
        if (*pp == rec) {
            *pp = rec->next;
            return;
        }
}

/* The record of a job: the handle when the host has one, else the one with this id. */
struct sky_rec *sky_rec_find(struct runner_skypilot *r, void *handle, const char *id)
{
    if (handle)
        return handle;
    for (struct sky_rec *rec = r->recs; id && *id && rec; rec = rec->next)
        if (strcmp(rec->id, id) == 0)
            return rec;
    return NULL;
}

/* ---- CLI calls ---------------------------------------------------------------------------- */

/* Runs `sky ARGS...` to completion. Returns 0 when it ran (*res holds its exit code and its
 * ANSI-stripped output), else a failure explained through pl_host->fail(). */
int sky_cli_run(const relhost_ctx *ctx, struct runner_skypilot *r, const char *const *args,
                size_t capture, relhost_proc_result *res)
{
    const char *argv[12];
    relhost_proc_spec ps;
    size_t n = 0;
    int rc;
    argv[n++] = r->sky;
    for (size_t i = 0; args[i] && n < sizeof argv / sizeof *argv - 1; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    memset(&ps, 0, sizeof ps);
    ps.struct_size = sizeof ps;
    ps.argv = argv;
    ps.env = (const char *const *)r->cli_env;
    ps.timeout_s = r->conf->cli_timeout;
    ps.capture_max = capture;
    memset(res, 0, sizeof *res);
    res->struct_size = sizeof *res;
    rc = pl_host->proc_run(ctx, &ps, res);
    if (rc != 0)
        return rc; /* the process service explained it */
    res->out_len = sky_strip_ansi(res->out, res->out_len);
    res->err_len = sky_strip_ansi(res->err, res->err_len);
    if (res->exec_failed) {
        pl_host->fail(ctx,
                      "cannot run the SkyPilot CLI \"%s\" (exit %d): set the runner's sky "
                      "option to its path, or put sky on PATH",
                      r->sky, res->exit_code);
        return RELHOST_EIO;
    }
    if (res->timed_out) {
        pl_host->fail(ctx, "`sky %s %s` did not finish within cli_timeout (%.0f s)", args[0],
                      args[1] ? args[1] : "", r->conf->cli_timeout);
        return RELHOST_ETIMEDOUT;
    }
    return 0;
}

/* The best line explaining a failed call: stderr first, then stdout. */
void sky_why(const relhost_proc_result *res, char *out, size_t cap)
{
    sky_error_line(res->err ? res->err : "", out, cap);
    if (!out[0])
        sky_error_line(res->out ? res->out : "", out, cap);
    if (!out[0])
        snprintf(out, cap, "exit code %d and no output", res->exit_code);
}

int sky_queue_read(const relhost_ctx *ctx, struct runner_skypilot *r, sky_queue *q)
{
    static const char *const args[] = {"jobs", "queue", NULL};
    relhost_proc_result res;
    char msg[256], line[160];
    int rc = sky_cli_run(ctx, r, args, 0, &res);
    memset(q, 0, sizeof *q);
    if (rc != 0) {
        pl_host->proc_result_free(&res);
        return rc;
    }
    if (res.exit_code != 0 || !res.exited) {
        sky_why(&res, line, sizeof line);
        pl_host->fail(ctx, "`sky jobs queue` failed (exit %d): %s", res.exit_code, line);
        pl_host->proc_result_free(&res);
        return RELHOST_EIO;
    }
    rc = sky_parse_queue(res.out, q, msg, sizeof msg);
    if (rc != 0)
        pl_host->fail(ctx, "cannot read `sky jobs queue`: %s", msg);
    pl_host->proc_result_free(&res);
    return rc == 0 ? 0 : rc == RELHOST_ENOMEM ? rc : RELHOST_EINVAL;
}

const sky_row *sky_row_by_id(const sky_queue *q, const char *id)
{
    long long want = strtoll(id, NULL, 10);
    for (size_t i = 0; i < q->n; i++)
        if (q->rows[i].id == want)
            return &q->rows[i];
    return NULL;
}

/* The newest job named key, or NULL. */
const sky_row *sky_row_by_name(const sky_queue *q, const char *key)
{
    const sky_row *best = NULL;
    for (size_t i = 0; i < q->n; i++)
        if (strcmp(q->rows[i].name, key) == 0 && (!best || q->rows[i].id > best->id))
            best = &q->rows[i];
    return best;
}

/* Fetches the job's whole log so far and keeps what the host has not read yet. */
int sky_fetch_log(const relhost_ctx *ctx, struct runner_skypilot *r, struct sky_rec *rec,
                  struct sky_fetch *f)
{
    const char *args[] = {"jobs", "logs", "--no-follow", rec->id, NULL};
    relhost_proc_result res;
    size_t len;
    int rc;
    memset(f, 0, sizeof *f);
    rec->next_fetch = sky_now() + sky_log_every(r);
    rc = sky_cli_run(ctx, r, args, (size_t)r->conf->log_max, &res);
    if (rc != 0) {
        pl_host->proc_result_free(&res);
        return rc;
    }
    f->ran = res.exited;
    f->exit_code = res.exit_code;
    len = sky_complete_len(res.out, res.out_len);
    f->has_summary = sky_summary_exit_code(res.out, len, &f->summary);
    f->timed_out = sky_remote_timeout(res.out, len);
    sky_finished_status(res.out, len, f->trailer, sizeof f->trailer);
    sky_why(&res, f->last, sizeof f->last);
    if (res.truncated && !rec->warned_trunc) {
        rec->warned_trunc = 1;
        pl_host->log(ctx, RELHOST_LOG_WARN,
                     "job %s: its log is longer than log_max (%llu bytes); "
                     "the rest is not read",
                     rec->id, (unsigned long long)r->conf->log_max);
    }
    /* The CLI prints the log from its start each time: keep the part past what the host has.
     * Only exit codes that come with the log count (0 running or succeeded, 100 failed, 103
     * cancelled): "not started yet" or an error is not part of the job's log. Output shorter
     * than what the host has (a rotated log) teaches nothing new. */
    if (res.exited && (res.exit_code == 0 || res.exit_code == 100 || res.exit_code == 103) &&
        len > rec->log_base + rec->log_len) {
        size_t keep = len - (size_t)rec->log_base;
        char *nb = malloc(keep + 1);
        if (!nb) {
            pl_host->proc_result_free(&res);
            return pl_oom(ctx);
        }
        memcpy(nb, res.out + rec->log_base, keep);
        free(rec->log);
        rec->log = nb;
        rec->log_len = keep;
    }
    pl_host->proc_result_free(&res);
    return 0;
}
