/* SPDX-License-Identifier: MIT */
/*
 * runner_skypilot - runs validation jobs as SkyPilot managed jobs through the `sky` CLI.
 *
 * SkyPilot has no machine-readable interface that is stable across versions, so this runner
 * reads what the CLI prints, after stripping ANSI colours: the id line of `sky jobs launch`, the
 * `sky jobs queue` table by its header NAMES (columns move between versions), and the exit codes
 * of `sky jobs logs`. Every call goes through the host's process service (argv, no shell).
 *
 *  submit    writes the task file next to the job's log and spawns `sky jobs launch -y -d
 *            --name KEY` in the background (it can take minutes): RELHOST_EINPROGRESS, the id
 *            comes with a later poll.
 *  poll      reaps finished launches, then ONE `sky jobs queue` per poll_interval for all jobs;
 *            a job the queue no longer lists is asked about once with `sky jobs logs`.
 *  read_log  `sky jobs logs --no-follow ID` at most once per log_interval per job; the host
 *            appends what it returns to the job's local log and feeds its metrics sources.
 *  find      `sky jobs queue`, newest job NAMEd after the key; waits for a launch of that key
 *            still running from an earlier relhost, so that a resume never launches twice.
 *  cancel    `sky jobs cancel -y ID`; unknown or already ended counts as cancelled.
 */
#include "runner_skypilot.h"
#include "../common/pl_host.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct runner_skypilot_conf {
    const char *sky;
    const char *task_template;
    const char *accelerators;
    int use_spot;
    int64_t max_restarts;
    int sync_workdir;
    int remote_timeout;
    double poll_interval;
    double log_interval;
    double launch_timeout;
    double cli_timeout;
    uint64_t log_max;
    relhost_strlist pass_env;
};

#define C(m) offsetof(struct runner_skypilot_conf, m)
static const relhost_option runner_skypilot_options[] = {
    {.name = "sky", .type = RELHOST_OPT_STRING, .def = "sky", .offset = C(sky),
     .doc = "the SkyPilot CLI: a name looked up in PATH, or a path (relative to the plan's "
            "folder)"},
    {.name = "task_template", .type = RELHOST_OPT_STRING, .offset = C(task_template),
     .flags = RELHOST_OPTF_PATH,
     .doc = "a task YAML used as the base of every job's task (setup, file_mounts, resources...); "
            "relhost sets name and run, and num_nodes/workdir/resources/envs where it has none"},
    {.name = "accelerators", .type = RELHOST_OPT_STRING, .offset = C(accelerators),
     .doc = "default accelerators, e.g. \"H100:8\", or \"H100\" with the validation's gpus as the "
            "count; a validation's runner_args.accelerators overrides it"},
    {.name = "use_spot", .type = RELHOST_OPT_BOOL, .def = "false", .offset = C(use_spot),
     .doc = "default for resources.use_spot (runner_args.use_spot overrides it)"},
    {.name = "max_restarts", .type = RELHOST_OPT_INT, .def = "3", .offset = C(max_restarts),
     .min = 0, .max = 9999,
     .doc = "resources.job_recovery.max_restarts_on_errors: SkyPilot's own restarts of a job that "
            "failed on the cluster (runner_args.max_restarts overrides it)"},
    {.name = "sync_workdir", .type = RELHOST_OPT_BOOL, .def = "true", .offset = C(sync_workdir),
     .doc = "upload the job's folder (its cwd: the candidate's worktree or the plan's folder) as "
            "SkyPilot's workdir, where the command runs"},
    {.name = "remote_timeout", .type = RELHOST_OPT_BOOL, .def = "true",
     .offset = C(remote_timeout),
     .doc = "run the command under timeout(1) with the validation's timeout_s, so a job that no "
            "relhost watches (relhost launch) still ends; exit 124 means timeout"},
    {.name = "poll_interval", .type = RELHOST_OPT_DURATION, .def = "30s",
     .offset = C(poll_interval), .min = 0.1, .max = 3600,
     .doc = "time between two `sky jobs queue` calls (one call covers every job of the runner)"},
    {.name = "log_interval", .type = RELHOST_OPT_DURATION, .def = "0",
     .offset = C(log_interval), .min = 0, .max = 86400,
     .doc = "time between two `sky jobs logs` fetches of one running job; 0 = poll_interval"},
    {.name = "launch_timeout", .type = RELHOST_OPT_DURATION, .def = "30m",
     .offset = C(launch_timeout), .min = 1, .max = 86400,
     .doc = "how long `sky jobs launch` may take before it is killed and the attempt counts as a "
            "retryable infrastructure error"},
    {.name = "cli_timeout", .type = RELHOST_OPT_DURATION, .def = "5m", .offset = C(cli_timeout),
     .min = 1, .max = 86400,
     .doc = "time limit of one short CLI call (queue, logs, cancel)"},
    {.name = "pass_env", .type = RELHOST_OPT_STRLIST, .offset = C(pass_env),
     .doc = "variables of relhost's environment the sky CLI itself gets (cloud credentials such "
            "as AWS_SECRET_ACCESS_KEY, sealed from every child otherwise), never the job: a "
            "job's variables are its validation's env and pass_env"},
    {.name = "log_max", .type = RELHOST_OPT_SIZE, .def = "256M", .offset = C(log_max),
     .min = 65536, .max = 4294967296.0,
     .doc = "largest job log read from `sky jobs logs` (it prints the whole log each time); "
            "output past it is not read, and a note says so"},
    {0}};
#undef C

/* What this runner knows about one job. A job submitted by this process is the host's handle;
 * a re-attached one (after a host restart) is found by its id. */
struct sky_rec {
    struct sky_rec *next;
    char key[256];
    char id[32];
    /* launch */
    relhost_proc *launch;
    char *launch_out;          /* the launch's output file, next to the job's log */
    int id_new;                /* the id came with this poll: no queue has listed it yet */
    int id_unreported;         /* cancel() found the id of a launch it stopped: tell the host */
    int launch_cancelled;      /* cancel() stopped the launch before SkyPilot had the job */
    int launch_failed;         /* ended without an id: ENDED unless the queue lists the key */
    relhost_job_end launch_end;
    char launch_why[128];
    /* last known state, reported when no queue is due */
    relhost_job_state state;
    int restarts;
    char status[32];
    /* log: bytes [log_base, log_base + log_len) of the ANSI-stripped log */
    char *log;
    size_t log_len;
    uint64_t log_base;
    double next_fetch;
    int final;                 /* the job ended and its whole log was fetched */
    int warned_trunc;
};

struct runner_skypilot {
    const struct runner_skypilot_conf *conf;
    char *sky;                 /* conf->sky, a relative path made absolute */
    char *tmpl;                /* task_template's text */
    char **cli_env;            /* NAME=VALUE of conf->pass_env, for the CLI only; NULL-ended */
    size_t ncli_env;
    struct sky_rec *recs;
    double next_queue;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double log_interval(const struct runner_skypilot *r)
{
    return r->conf->log_interval > 0 ? r->conf->log_interval : r->conf->poll_interval;
}

static char *dupstr(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

/* ---- records ------------------------------------------------------------------------------ */

static struct sky_rec *rec_new(struct runner_skypilot *r, const char *key, const char *id)
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

static void rec_free(struct sky_rec *rec)
{
    if (rec->launch)
        pl_host->proc_release(NULL, rec->launch);
    free(rec->launch_out);
    free(rec->log);
    free(rec);
}

static void rec_unlink(struct runner_skypilot *r, struct sky_rec *rec)
{
    for (struct sky_rec **pp = &r->recs; *pp; pp = &(*pp)->next)
        if (*pp == rec) {
            *pp = rec->next;
            return;
        }
}

/* The record of a job: the handle when the host has one, else the one with this id. */
static struct sky_rec *rec_find(struct runner_skypilot *r, void *handle, const char *id)
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
static int sky_run(const relhost_ctx *ctx, struct runner_skypilot *r, const char *const *args,
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
        pl_host->fail(ctx, "cannot run the SkyPilot CLI \"%s\" (exit %d): set the runner's sky "
                           "option to its path, or put sky on PATH", r->sky, res->exit_code);
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
static void why(const relhost_proc_result *res, char *out, size_t cap)
{
    sky_error_line(res->err ? res->err : "", out, cap);
    if (!out[0])
        sky_error_line(res->out ? res->out : "", out, cap);
    if (!out[0])
        snprintf(out, cap, "exit code %d and no output", res->exit_code);
}

static int queue(const relhost_ctx *ctx, struct runner_skypilot *r, sky_queue *q)
{
    static const char *const args[] = {"jobs", "queue", NULL};
    relhost_proc_result res;
    char msg[256], line[160];
    int rc = sky_run(ctx, r, args, 0, &res);
    memset(q, 0, sizeof *q);
    if (rc != 0) {
        pl_host->proc_result_free(&res);
        return rc;
    }
    if (res.exit_code != 0 || !res.exited) {
        why(&res, line, sizeof line);
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

static const sky_row *row_by_id(const sky_queue *q, const char *id)
{
    long long want = strtoll(id, NULL, 10);
    for (size_t i = 0; i < q->n; i++)
        if (q->rows[i].id == want)
            return &q->rows[i];
    return NULL;
}

/* The newest job named key, or NULL. */
static const sky_row *row_by_name(const sky_queue *q, const char *key)
{
    const sky_row *best = NULL;
    for (size_t i = 0; i < q->n; i++)
        if (strcmp(q->rows[i].name, key) == 0 && (!best || q->rows[i].id > best->id))
            best = &q->rows[i];
    return best;
}

/* What one `sky jobs logs` fetch learnt. */
struct fetch {
    int ran;          /* the CLI ran and printed a log */
    int exit_code;
    int has_summary, summary;
    int timed_out;    /* the run script's last word: timeout(1) stopped the command */
    char trailer[32]; /* status of the "Managed job finished" trailer, or "" */
    char last[128];   /* the line that best explains a failure */
};

/* Fetches the job's whole log so far and keeps what the host has not read yet. */
static int fetch_log(const relhost_ctx *ctx, struct runner_skypilot *r, struct sky_rec *rec,
                     struct fetch *f)
{
    const char *args[] = {"jobs", "logs", "--no-follow", rec->id, NULL};
    relhost_proc_result res;
    size_t len;
    int rc;
    memset(f, 0, sizeof *f);
    rec->next_fetch = now_s() + log_interval(r);
    rc = sky_run(ctx, r, args, (size_t)r->conf->log_max, &res);
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
    why(&res, f->last, sizeof f->last);
    if (res.truncated && !rec->warned_trunc) {
        rec->warned_trunc = 1;
        pl_host->log(ctx, RELHOST_LOG_WARN, "job %s: its log is longer than log_max (%llu bytes); "
                     "the rest is not read", rec->id, (unsigned long long)r->conf->log_max);
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
                  relhost_job_end end, const struct fetch *known)
{
    struct fetch f;
    char reason[128] = "";
    int code = -1;
    if (known) {
        f = *known;
    } else if (fetch_log(ctx, r, rec, &f) != 0) {
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
            snprintf(reason, sizeof reason, "timeout_s reached on the cluster: timeout(1) "
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
            snprintf(rec->launch_why, sizeof rec->launch_why, "cannot run the SkyPilot CLI "
                     "\"%s\" (exit %d)", r->sky, res->exit_code);
        else if (res->timed_out)
            snprintf(rec->launch_why, sizeof rec->launch_why, "`sky jobs launch` did not "
                     "finish within launch_timeout (%.0f s)", r->conf->launch_timeout);
        else if (out)
            sky_error_line(out, rec->launch_why, sizeof rec->launch_why);
        if (!rec->launch_why[0])
            snprintf(rec->launch_why, sizeof rec->launch_why, "`sky jobs launch` exited with %d "
                     "and printed no job id", res->exit_code);
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
    struct fetch f;
    relhost_job_state state;
    relhost_job_end end;
    const char *word;
    if (fetch_log(ctx, r, rec, &f) != 0 || !f.ran) {
        pl_host->log(ctx, RELHOST_LOG_WARN, "job %s is not in `sky jobs queue` and `sky jobs logs` "
                     "failed; asking again at the next poll", rec->id);
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

static int runner_skypilot_poll(const relhost_ctx *ctx, void *inst, relhost_job_status *jobs,
                                size_t n, size_t elem_size, double *next_poll_s)
{
    struct runner_skypilot *r = inst;
    struct sky_rec **recs = calloc(n + 1, sizeof *recs);
    double now = now_s();
    int need_queue = 0, queue_ok = 0, rc = 0;
    sky_queue q;

    memset(&q, 0, sizeof q);
    if (!recs)
        return pl_oom(ctx);
    /* 1. Launches: no CLI call, only the processes started by submit. */
    for (size_t i = 0; i < n; i++) {
        relhost_job_status *st = at(jobs, i, elem_size);
        struct sky_rec *rec = rec_find(r, st->runner_handle, st->external_id);
        if (!rec && st->external_id && *st->external_id)
            rec = rec_new(r, st->key, st->external_id); /* re-attached after a restart */
        recs[i] = rec;
        if (!rec)
            continue;
        rec->id_new = 0;
        if (rec->id_unreported) {
            rec->id_unreported = 0;
            snprintf(st->new_external_id, sizeof st->new_external_id, "%s", rec->id);
        }
        if (rec->launch_cancelled) {
            rec->launch_cancelled = 0;
            end_job(st, rec, RELHOST_JOB_ENDED, RELHOST_END_CANCELLED, -1, "CANCELLED",
                    "cancelled while `sky jobs launch` ran; SkyPilot never had the job");
            continue;
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
    }

    /* 2. One `sky jobs queue` for every job of this runner. */
    if (need_queue) {
        r->next_queue = now + r->conf->poll_interval;
        rc = queue(ctx, r, &q);
        queue_ok = rc == 0;
    }

    /* 3. Each job's news, from the queue or, between queues, from what the last one said. */
    for (size_t i = 0; i < n; i++) {
        relhost_job_status *st = at(jobs, i, elem_size);
        struct sky_rec *rec = recs[i];
        int missing = 0;
        if (!rec)
            continue;
        if (rec->launch_failed) {
            const sky_row *row = queue_ok ? row_by_name(&q, rec->key) : NULL;
            rec->launch_failed = 0;
            if (!row || rec->launch_end == RELHOST_END_EXEC_FAILED) {
                end_job(st, rec, RELHOST_JOB_ENDED, rec->launch_end,
                        rec->launch_end == RELHOST_END_EXEC_FAILED ? 127 : -1, "LAUNCH_FAILED",
                        rec->launch_why);
                continue;
            }
            /* The launch failed after SkyPilot had taken the job: adopt it, never launch twice. */
            snprintf(rec->id, sizeof rec->id, "%lld", row->id);
            snprintf(st->new_external_id, sizeof st->new_external_id, "%s", rec->id);
            rec->id_new = 1;
            pl_host->log(ctx, RELHOST_LOG_WARN, "`sky jobs launch` of %s failed (%s), but SkyPilot "
                         "lists it as job %s: following that job", rec->key, rec->launch_why,
                         rec->id);
        }
        if (!rec->id[0] || rec->final)
            continue;
        if (!queue_ok) {
            if (rec->state)
                set_state(st, rec, rec->state);
            st->restarts = rec->restarts;
            continue;
        }
        {
            const sky_row *row = row_by_id(&q, rec->id);
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

/* ---- submit ------------------------------------------------------------------------------- */

static int runner_skypilot_submit(const relhost_ctx *ctx, void *inst, const relhost_job_spec *spec,
                                  char id[257], void **handle)
{
    struct runner_skypilot *r = inst;
    const struct runner_skypilot_conf *c = r->conf;
    sky_task_in in;
    sky_task_out t;
    char err[512], *folder = NULL, *yaml_path = NULL, *out_path = NULL;
    const char **argv = NULL, **env = NULL;
    relhost_proc_spec ps;
    relhost_proc *p = NULL;
    struct sky_rec *rec;
    size_t n = 0;
    int rc;

    (void)id;
    memset(&in, 0, sizeof in);
    in.key = spec->key;
    in.argv = spec->argv;
    in.env = spec->env;
    in.cwd = spec->cwd;
    in.timeout_s = spec->timeout_s;
    in.nodes = spec->nodes;
    in.gpus = spec->gpus;
    in.runner_args = &spec->runner_args;
    in.accelerators = c->accelerators;
    in.use_spot = c->use_spot;
    in.max_restarts = (int)c->max_restarts;
    in.sync_workdir = c->sync_workdir;
    in.remote_timeout = c->remote_timeout;
    in.tmpl = r->tmpl;
    rc = sky_task_build(&in, &t, err, sizeof err);
    if (rc != 0) {
        pl_host->fail(ctx, "validation %s: %s", spec->validation, err);
        sky_task_out_free(&t);
        return rc;
    }
    folder = sky_log_folder(spec->log_path);
    yaml_path = folder ? sky_job_file(folder, spec->key, ".sky.yaml") : NULL;
    out_path = folder ? sky_job_file(folder, spec->key, ".sky-launch.log") : NULL;
    argv = calloc(t.nargs + 12, sizeof *argv);
    if (!yaml_path || !out_path || !argv) {
        pl_host->fail(ctx, "out of memory");
        rc = RELHOST_ENOMEM;
        goto out;
    }
    if (sky_write_file(yaml_path, t.yaml.s, t.yaml.len) != 0) {
        pl_host->fail(ctx, "cannot write the task file %s: %s", yaml_path, strerror(errno));
        rc = RELHOST_EIO;
        goto out;
    }
    /* A launch of an earlier run of this attempt may have left its id in the file. */
    if (sky_write_file(out_path, "", 0) != 0) {
        pl_host->fail(ctx, "cannot write %s: %s", out_path, strerror(errno));
        rc = RELHOST_EIO;
        goto out;
    }
    argv[n++] = r->sky;
    argv[n++] = "jobs";
    argv[n++] = "launch";
    argv[n++] = "-y";
    argv[n++] = "-d";
    argv[n++] = "--name";
    argv[n++] = spec->key;
    for (size_t i = 0; i < t.nargs; i++)
        argv[n++] = t.args[i];
    argv[n++] = yaml_path;
    argv[n] = NULL;
    memset(&ps, 0, sizeof ps);
    ps.struct_size = sizeof ps;
    ps.argv = argv;
    /* The CLI's own credentials, then the values behind --env NAME (never on argv). */
    env = calloc(r->ncli_env + t.nenv + 1, sizeof *env);
    if (!env) {
        pl_host->fail(ctx, "out of memory");
        rc = RELHOST_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < r->ncli_env; i++)
        env[i] = r->cli_env[i];
    for (size_t i = 0; i < t.nenv; i++)
        env[r->ncli_env + i] = t.env[i];
    ps.env = env;
    ps.cwd = spec->cwd;
    ps.timeout_s = c->launch_timeout;
    ps.grace_s = 10;
    ps.log_path = out_path;
    rec = rec_new(r, spec->key, NULL);
    if (!rec) {
        pl_host->fail(ctx, "out of memory");
        rc = RELHOST_ENOMEM;
        goto out;
    }
    rc = pl_host->proc_spawn(ctx, &ps, &p);
    if (rc != 0) {
        rec_unlink(r, rec);
        rec_free(rec);
        goto out; /* the process service explained it */
    }
    rec->launch = p;
    rec->launch_out = out_path;
    out_path = NULL;
    rec->state = RELHOST_JOB_SUBMITTING;
    *handle = rec;
    rc = RELHOST_EINPROGRESS;
    pl_host->log(ctx, RELHOST_LOG_DEBUG, "launching %s (task %s)", spec->key, yaml_path);
out:
    free(argv);
    free(env);
    free(folder);
    free(yaml_path);
    free(out_path);
    sky_task_out_free(&t);
    return rc;
}

/* ---- find --------------------------------------------------------------------------------- */

/* Waits, through the process service (it keeps serving signals), until pid has ended: tail(1)
 * exits when the process does. */
static int wait_pid(const relhost_ctx *ctx, struct runner_skypilot *r, pid_t pid)
{
    char pidarg[32];
    const char *argv[] = {"tail", "-s", "0.2", "-f", pidarg, "/dev/null", NULL};
    relhost_proc_spec ps;
    relhost_proc_result res;
    int rc;
    snprintf(pidarg, sizeof pidarg, "--pid=%ld", (long)pid);
    memset(&ps, 0, sizeof ps);
    ps.struct_size = sizeof ps;
    ps.argv = argv;
    ps.timeout_s = r->conf->launch_timeout;
    memset(&res, 0, sizeof res);
    res.struct_size = sizeof res;
    rc = pl_host->proc_run(ctx, &ps, &res);
    pl_host->proc_result_free(&res);
    return rc;
}

static int runner_skypilot_find(const relhost_ctx *ctx, void *inst, const char *key, char id[257])
{
    struct runner_skypilot *r = inst;
    char folder[4096] = "", num[32];
    sky_queue q;
    const sky_row *row;
    pid_t pid;
    int rc;

    rc = queue(ctx, r, &q);
    if (rc != 0)
        return rc;
    row = row_by_name(&q, key);
    if (row)
        snprintf(id, 257, "%lld", row->id);
    sky_queue_free(&q);
    if (row)
        return 0;
    /* The job's files are next to its log, in the host's folder of this release's logs. */
    if (!ctx->log_dir || !ctx->version)
        return RELHOST_ENOTFOUND;
    snprintf(folder, sizeof folder, "%s/%s", ctx->log_dir, ctx->version);
    if ((pid = sky_launch_in_flight(key, folder)) != 0) {
        /* A second launch would double the bill: wait for the first one's word. */
        pl_host->log(ctx, RELHOST_LOG_INFO, "%s: `sky jobs launch` of an earlier relhost is still "
                     "running (pid %ld); waiting for it", key, (long)pid);
        if ((rc = wait_pid(ctx, r, pid)) != 0)
            return rc;
    }
    /* The launch's own output names the job even once it has left the queue. */
    if (sky_launched_id(folder, key, num, sizeof num)) {
        snprintf(id, 257, "%s", num);
        pl_host->log(ctx, RELHOST_LOG_INFO, "%s: an earlier launch submitted it as job %s", key,
                     num);
        return 0;
    }
    return RELHOST_ENOTFOUND;
}

/* ---- read_log ----------------------------------------------------------------------------- */

static int runner_skypilot_read_log(const relhost_ctx *ctx, void *inst, const char *external_id,
                                    void *handle, uint64_t offset, char *buf, size_t cap,
                                    size_t *got)
{
    struct runner_skypilot *r = inst;
    struct sky_rec *rec = rec_find(r, handle, external_id);
    size_t have;
    *got = 0;
    if (!rec && external_id && *external_id && !(rec = rec_new(r, NULL, external_id)))
        return pl_oom(ctx);
    if (!rec || !rec->id[0])
        return 0;
    if (offset < rec->log_base) {
        /* The host reads from an earlier point than it did (it restarted its copy): start over. */
        free(rec->log);
        rec->log = NULL;
        rec->log_len = 0;
        rec->log_base = offset;
        rec->final = 0;
        rec->next_fetch = 0;
    } else if (offset > rec->log_base) {
        uint64_t drop = offset - rec->log_base;
        if (drop >= rec->log_len) {
            rec->log_len = 0;
        } else {
            memmove(rec->log, rec->log + drop, rec->log_len - (size_t)drop);
            rec->log_len -= (size_t)drop;
        }
        rec->log_base = offset;
    }
    /* A pending job has no log yet (and `sky jobs logs` may wait for it to start). */
    if (!rec->final && rec->log_len == 0 && rec->state != RELHOST_JOB_PENDING &&
        rec->state != RELHOST_JOB_SUBMITTING && now_s() >= rec->next_fetch) {
        struct fetch f;
        int rc = fetch_log(ctx, r, rec, &f);
        if (rc != 0)
            return rc;
    }
    have = rec->log_len < cap ? rec->log_len : cap;
    if (have)
        memcpy(buf, rec->log, have);
    *got = have;
    return 0;
}

/* ---- cancel ------------------------------------------------------------------------------- */

static int cancel_id(const relhost_ctx *ctx, struct runner_skypilot *r, const char *id)
{
    const char *args[] = {"jobs", "cancel", "-y", id, NULL};
    relhost_proc_result res;
    char line[160];
    int rc = sky_run(ctx, r, args, 0, &res);
    if (rc != 0) {
        pl_host->proc_result_free(&res);
        return rc;
    }
    /* "scheduled to be cancelled", "not found. Skipped." and "already in terminal state ...
     * Skipped." all leave the job ended or ending: success. */
    if (res.exit_code == 0 || (res.out && (strstr(res.out, "not found. Skipped") ||
                                           strstr(res.out, "already in terminal state")))) {
        pl_host->proc_result_free(&res);
        return 0;
    }
    why(&res, line, sizeof line);
    pl_host->fail(ctx, "`sky jobs cancel -y %s` failed (exit %d): %s", id, res.exit_code, line);
    pl_host->proc_result_free(&res);
    return RELHOST_EIO;
}

static int runner_skypilot_cancel(const relhost_ctx *ctx, void *inst, const char *external_id,
                                  void *handle)
{
    struct runner_skypilot *r = inst;
    struct sky_rec *rec = rec_find(r, handle, external_id);
    const char *id = external_id && *external_id ? external_id : rec ? rec->id : "";
    if (!*id && rec && rec->launch) {
        /* Still launching: stop the launch, then cancel what it may already have submitted.
         * The next poll reports either that job (which then ends CANCELLED) or the end. */
        char found[257];
        pl_host->proc_kill(ctx, rec->launch);
        pl_host->proc_release(ctx, rec->launch);
        rec->launch = NULL;
        if (runner_skypilot_find(ctx, inst, rec->key, found) == 0) {
            snprintf(rec->id, sizeof rec->id, "%.31s", found);
            rec->id_unreported = 1;
            return cancel_id(ctx, r, found);
        }
        rec->launch_cancelled = 1;
        return 0;
    }
    if (!*id)
        return 0;
    return cancel_id(ctx, r, id);
}

/* ---- lifecycle ---------------------------------------------------------------------------- */

static int runner_skypilot_open(const relhost_ctx *ctx, const void *conf, void **inst)
{
    const struct runner_skypilot_conf *c = conf;
    struct runner_skypilot *r = calloc(1, sizeof *r);
    if (!r)
        return pl_oom(ctx);
    *inst = r;
    r->conf = c;
    if (!c->sky || !*c->sky) {
        pl_host->fail(ctx, "%s: sky must name the SkyPilot CLI", pl_where(ctx, &c->sky));
        return RELHOST_EINVAL;
    }
    if (c->sky[0] != '/' && strchr(c->sky, '/') && ctx->plan_dir) {
        size_t n = strlen(ctx->plan_dir) + strlen(c->sky) + 2;
        if ((r->sky = malloc(n)) != NULL)
            snprintf(r->sky, n, "%s/%s", ctx->plan_dir, c->sky);
    } else {
        r->sky = dupstr(c->sky);
    }
    if (!r->sky)
        return pl_oom(ctx);
    r->cli_env = calloc(c->pass_env.n + 1, sizeof *r->cli_env);
    if (!r->cli_env)
        return pl_oom(ctx);
    for (size_t i = 0; i < c->pass_env.n; i++) {
        /* A sealed one is a secret (secret() keeps it masked), any other plain text; unset
         * ones are skipped (a plan error already for the commands that start processes). */
        const char *v = pl_host->sealed(ctx, c->pass_env.v[i])
                            ? pl_host->secret(ctx, c->pass_env.v[i])
                            : getenv(c->pass_env.v[i]);
        size_t len;
        if (!v)
            continue;
        len = strlen(c->pass_env.v[i]) + strlen(v) + 2;
        if (!(r->cli_env[r->ncli_env] = malloc(len)))
            return pl_oom(ctx);
        snprintf(r->cli_env[r->ncli_env++], len, "%s=%s", c->pass_env.v[i], v);
    }
    if (c->task_template) {
        char err[256];
        sky_buf probe = {0};
        size_t len = 0;
        int rc;
        r->tmpl = sky_read_file(c->task_template, 1 << 20, &len);
        if (!r->tmpl) {
            pl_host->fail(ctx, "%s: cannot read task_template %s: %s",
                          pl_where(ctx, &c->task_template), c->task_template,
                          strerror(errno));
            return RELHOST_EINVAL;
        }
        if (strlen(r->tmpl) != len) {
            pl_host->fail(ctx, "%s: task_template %s holds a NUL byte or is over 1 MiB",
                          pl_where(ctx, &c->task_template), c->task_template);
            return RELHOST_EINVAL;
        }
        rc = sky_yaml_filter(r->tmpl, NULL, &probe, err, sizeof err);
        sky_buf_free(&probe);
        if (rc != 0) {
            pl_host->fail(ctx, "%s: task_template %s: %s", pl_where(ctx, &c->task_template),
                          c->task_template, err);
            return RELHOST_EINVAL;
        }
    }
    return 0;
}

static void runner_skypilot_release(void *inst, void *handle)
{
    struct runner_skypilot *r = inst;
    struct sky_rec *rec = handle;
    if (!rec)
        return;
    rec_unlink(r, rec);
    rec_free(rec);
}

static void runner_skypilot_close(void *inst)
{
    struct runner_skypilot *r = inst;
    if (!r)
        return;
    while (r->recs) {
        struct sky_rec *rec = r->recs;
        r->recs = rec->next;
        rec_free(rec);
    }
    for (size_t i = 0; i < r->ncli_env; i++)
        free(r->cli_env[i]);
    free(r->cli_env);
    free(r->sky);
    free(r->tmpl);
    free(r);
}

const relhost_plugin pl_plugin = {
    PL_PLUGIN_BASE("runner_skypilot", "1.0.0", runner_skypilot_options,
                   struct runner_skypilot_conf),
    .description = "run validation jobs as SkyPilot managed jobs through the sky CLI",
    .runner = &(const relhost_runner_ops){.struct_size = sizeof(relhost_runner_ops),
                                          .open = runner_skypilot_open,
                                          .submit = runner_skypilot_submit,
                                          .poll = runner_skypilot_poll,
                                          .find = runner_skypilot_find,
                                          .read_log = runner_skypilot_read_log,
                                          .cancel = runner_skypilot_cancel,
                                          .release = runner_skypilot_release,
                                          .close = runner_skypilot_close},
};
