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
 *
 * runner_skypilot_int.h lists the files and what each does.
 */
#include "runner_skypilot_int.h"
#include "../common/pl_host.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OPT(f, t, ...) PL_OPT(struct runner_skypilot_conf, f, t, __VA_ARGS__)
static const relhost_option runner_skypilot_options[] = {
    OPT(sky, STRING, .def = "sky",
        .doc = "the SkyPilot CLI: a name looked up in PATH, or a path (relative to the plan's "
               "folder)"),
    OPT(task_template, STRING, .flags = RELHOST_OPTF_PATH,
        .doc =
            "a task YAML used as the base of every job's task (setup, file_mounts, resources...); "
            "relhost sets name and run, and num_nodes/workdir/resources/envs where it has none"),
    OPT(accelerators, STRING,
        .doc =
            "default accelerators, e.g. \"H100:8\", or \"H100\" with the validation's gpus as the "
            "count; a validation's runner_args.accelerators overrides it"),
    OPT(use_spot, BOOL, .def = "false",
        .doc = "default for resources.use_spot (runner_args.use_spot overrides it)"),
    OPT(max_restarts, INT, .def = "3", .min = 0, .max = 9999,
        .doc =
            "resources.job_recovery.max_restarts_on_errors: SkyPilot's own restarts of a job that "
            "failed on the cluster (runner_args.max_restarts overrides it)"),
    OPT(sync_workdir, BOOL, .def = "true",
        .doc =
            "upload the job's folder (its cwd: the candidate's worktree or the plan's folder) as "
            "SkyPilot's workdir, where the command runs"),
    OPT(remote_timeout, BOOL, .def = "true",
        .doc = "run the command under timeout(1) with the validation's timeout_s, so a job that no "
               "relhost watches (relhost launch) still ends; exit 124 means timeout"),
    OPT(poll_interval, DURATION, .def = "30s", .min = 0.1, .max = 3600,
        .doc = "time between two `sky jobs queue` calls (one call covers every job of the runner)"),
    OPT(log_interval, DURATION, .def = "0", .min = 0, .max = 86400,
        .doc = "time between two `sky jobs logs` fetches of one running job; 0 = poll_interval"),
    OPT(launch_timeout, DURATION, .def = "30m", .min = 1, .max = 86400,
        .doc =
            "how long `sky jobs launch` may take before it is killed and the attempt counts as a "
            "retryable infrastructure error"),
    OPT(cli_timeout, DURATION, .def = "5m", .min = 1, .max = 86400,
        .doc = "time limit of one short CLI call (queue, logs, cancel)"),
    OPT(pass_env, STRLIST,
        .doc = "variables of relhost's environment the sky CLI itself gets (cloud credentials such "
               "as AWS_SECRET_ACCESS_KEY, sealed from every child otherwise), never the job: a "
               "job's variables are its validation's env and pass_env"),
    OPT(log_max, SIZE, .def = "256M", .min = 65536, .max = 4294967296.0,
        .doc = "largest job log read from `sky jobs logs` (it prints the whole log each time); "
               "output past it is not read, and a note says so"),
    {0}};
#undef OPT

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

    rc = sky_queue_read(ctx, r, &q);
    if (rc != 0)
        return rc;
    row = sky_row_by_name(&q, key);
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
        pl_host->log(ctx, RELHOST_LOG_INFO,
                     "%s: `sky jobs launch` of an earlier relhost is still "
                     "running (pid %ld); waiting for it",
                     key, (long)pid);
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
    struct sky_rec *rec = sky_rec_find(r, handle, external_id);
    size_t have;
    *got = 0;
    if (!rec && external_id && *external_id && !(rec = sky_rec_new(r, NULL, external_id)))
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
        rec->state != RELHOST_JOB_SUBMITTING && sky_now() >= rec->next_fetch) {
        struct sky_fetch f;
        int rc = sky_fetch_log(ctx, r, rec, &f);
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
    int rc = sky_cli_run(ctx, r, args, 0, &res);
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
    sky_why(&res, line, sizeof line);
    pl_host->fail(ctx, "`sky jobs cancel -y %s` failed (exit %d): %s", id, res.exit_code, line);
    pl_host->proc_result_free(&res);
    return RELHOST_EIO;
}

static int runner_skypilot_cancel(const relhost_ctx *ctx, void *inst, const char *external_id,
                                  void *handle)
{
    struct runner_skypilot *r = inst;
    struct sky_rec *rec = sky_rec_find(r, handle, external_id);
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
        r->sky = sky_dupstr(c->sky);
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
                          pl_where(ctx, &c->task_template), c->task_template, strerror(errno));
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
    sky_rec_unlink(r, rec);
    sky_rec_free(rec);
}

static void runner_skypilot_close(void *inst)
{
    struct runner_skypilot *r = inst;
    if (!r)
        return;
    while (r->recs) {
        struct sky_rec *rec = r->recs;
        r->recs = rec->next;
        sky_rec_free(rec);
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
    .runner = PL_RUNNER_OPS(runner_skypilot, .find = runner_skypilot_find,
                            .read_log = runner_skypilot_read_log,
                            .release = runner_skypilot_release, .close = runner_skypilot_close),
};
