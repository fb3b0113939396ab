/* SPDX-License-Identifier: MIT */
/*
 * runner_slurm - runs validation jobs as Slurm batch jobs through the Slurm 22.05 command-line
 * tools (sbatch, squeue, scontrol, scancel), always through the host's process service with argv
 * arrays, never a shell.
 *
 * - submit writes a small batch script next to the job's log (<log>.sbatch, mode 0700) that
 *   exports the job's environment, changes to its folder and execs its argv, each value
 *   single-quoted; then `sbatch --parsable -J <key> --output=<log> --open-mode=append ...`.
 *   Variables whose value relhost hands over from its own environment (pass_env) are NOT written
 *   into the script: they reach the job through sbatch's environment (--export=ALL), so secrets
 *   never land in a file relhost writes nor in any argv (ps, squeue, scontrol).
 * - poll refreshes every job of the runner with ONE `squeue --me -t all` per cluster and ONE
 *   `scontrol show job -o` for the jobs that ended since the last poll (slurm_poll.c).
 * - find(key) asks squeue for a job named by the idempotency key, so a crash between the
 *   SUBMITTING record and sbatch's answer never submits twice.
 * - The job's output file is written by Slurm on the compute node and read by relhost here:
 *   the log folder must be on a file system both see (the usual shared home or project space).
 */
#include "runner_slurm.h"
#include "../common/pl_host.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define OPT(f, t, ...) PL_OPT(struct runner_slurm_conf, f, t, __VA_ARGS__)
static const relhost_option runner_slurm_options[] = {
    OPT(partition, STRING,
        .doc = "Slurm partition (sbatch --partition); unset: the cluster's default"),
    OPT(account, STRING, .doc = "account charged for the jobs (sbatch --account)"),
    OPT(qos, STRING, .doc = "quality of service (sbatch --qos)"),
    OPT(extra_args, STRLIST,
        .doc = "more sbatch arguments, one per item, e.g. [\"--mem=16G\", \"--exclusive\"]"),
    OPT(poll_interval, DURATION, .def = "10s", .min = 0.1, .max = 3600,
        .doc = "time between two polls (one squeue for all of the runner's jobs)"),
    OPT(time_slack, DURATION, .def = "2m", .min = 0, .max = 86400,
        .doc = "added to a validation's timeout_s for sbatch --time: relhost's own deadline ends "
               "the job first, Slurm's time limit is the backstop while relhost is not running"),
    OPT(command_timeout, DURATION, .def = "60s", .min = 1, .max = 3600,
        .doc = "kill a Slurm command (sbatch, squeue, scontrol, scancel) that runs longer"),
    OPT(export_env, STRLIST, .def = "USER,LOGNAME,SHELL,LANG,LC_*,TZ",
        .doc = "variables of relhost's environment every job gets besides PATH, HOME, SLURM_*, "
               "SBATCH_*, the validation's env and pass_env; NAME, PREFIX* or \"*\" (all of it); "
               "never a sealed variable (a secret): only pass_env hands one over"),
    OPT(sbatch, STRING, .def = "sbatch", .doc = "the sbatch program (looked up in PATH)"),
    OPT(squeue, STRING, .def = "squeue", .doc = "the squeue program (looked up in PATH)"),
    OPT(scontrol, STRING, .def = "scontrol", .doc = "the scontrol program (looked up in PATH)"),
    OPT(scancel, STRING, .def = "scancel", .doc = "the scancel program (looked up in PATH)"),
    OPT(arrays, BOOL, .def = "true",
        .doc = "submit validations that share a submission shape (a matrix, repeats) as Slurm job "
               "arrays, one sbatch --array per chunk of up to the cluster's MaxArraySize; false: "
               "one sbatch per validation"),
    {0}};
#undef OPT

/* Per-validation runner_args this runner understands, and the sbatch option each becomes. */
static const char *const arg_keys[] = {"partition", "account", "qos", "constraint", "gres", NULL};
static const char *const arg_flags[] = {"--partition",  "--account", "--qos",
                                        "--constraint", "--gres",    NULL};

/* ---- running the Slurm tools ---- */

/* Runs argv to completion. 0 when it ran (look at res), else the host's error (already
 * explained through pl_host->fail). res must be freed with pl_host->proc_result_free either way. */
static int run_tool(const relhost_ctx *ctx, const struct runner_slurm *r, char *const *argv,
                    const char *const *env, int clear_env, relhost_proc_result *res)
{
    relhost_proc_spec ps;
    memset(&ps, 0, sizeof ps);
    ps.struct_size = sizeof ps;
    ps.argv = (const char *const *)argv;
    ps.env = env;
    ps.clear_env = clear_env;
    ps.timeout_s = r->conf->command_timeout;
    ps.grace_s = 2;
    /* a poll lists every job of the user's (about 60 bytes each in squeue, 1 KiB in scontrol):
     * a bound against a runaway tool, never reached by a cluster's listing */
    ps.capture_max = 512u << 20;
    memset(res, 0, sizeof *res);
    res->struct_size = sizeof *res;
    return pl_host->proc_run(ctx, &ps, res);
}

/* Run a tool's argv (freed here) without extra environment; on a failure nothing is left to
 * free. RELHOST_ENOMEM when building argv ran out of memory. */
int slurm_run_argv(const relhost_ctx *ctx, const struct runner_slurm *r, struct strv *argv,
                   relhost_proc_result *res)
{
    int rc = RELHOST_ENOMEM;

    memset(res, 0, sizeof *res);
    if (!argv->oom)
        rc = run_tool(ctx, r, argv->v, NULL, 0, res);
    sv_free(argv);
    if (rc != 0)
        pl_host->proc_result_free(res);
    return rc;
}

int slurm_run_env(const relhost_ctx *ctx, const struct runner_slurm *r, struct strv *argv,
                  const struct strv *env, relhost_proc_result *res)
{
    int rc = RELHOST_ENOMEM;

    memset(res, 0, sizeof *res);
    if (!argv->oom && !env->oom)
        rc = run_tool(ctx, r, argv->v, (const char *const *)env->v, 1, res);
    sv_free(argv);
    if (rc != 0)
        pl_host->proc_result_free(res);
    return rc;
}

/* argv head for a tool, with -M <cluster> when the job lives on a named cluster. */
void slurm_tool_head(struct strv *a, const char *prog, const char *cluster)
{
    sv_add(a, prog);
    if (cluster && cluster[0]) {
        sv_add(a, "-M");
        sv_add(a, cluster);
    }
}

/* ---- open / close ---- */

static int runner_slurm_open(const relhost_ctx *ctx, const void *conf, void **inst)
{
    const struct runner_slurm_conf *c = conf;
    struct runner_slurm *r;
    const char *const *progs[] = {&c->sbatch, &c->squeue, &c->scontrol, &c->scancel};
    for (size_t i = 0; i < 4; i++)
        if (!*progs[i] || !(*progs[i])[0]) {
            pl_host->fail(ctx,
                          "%s: the Slurm program paths (sbatch, squeue, scontrol, scancel) "
                          "must not be empty",
                          pl_where(ctx, progs[i]));
            return RELHOST_EINVAL;
        }
    r = calloc(1, sizeof *r);
    if (!r)
        return pl_oom(ctx);
    r->conf = c;
    r->max_array = -1;
    *inst = r;
    return 0;
}

static void runner_slurm_close(void *inst)
{
    slurm_tasks_free(inst);
    free(inst);
}

/* ---- submit ---- */

static const char *arg_value(const relhost_job_spec *spec, const char *key)
{
    for (size_t i = 0; i < spec->runner_args.n; i++)
        if (strcmp(spec->runner_args.keys[i], key) == 0)
            return spec->runner_args.values[i];
    return NULL;
}

/* vals[k] for arg_keys[k]: the step's runner_args over the runner's partition, account and
 * qos. An unknown runner_args key is refused. */
static int arg_values(const relhost_ctx *ctx, const struct runner_slurm_conf *c,
                      const relhost_job_spec *spec, const char *vals[5])
{
    vals[0] = c->partition;
    vals[1] = c->account;
    vals[2] = c->qos;
    vals[3] = vals[4] = NULL;
    for (size_t i = 0; i < spec->runner_args.n; i++) {
        size_t k = 0;
        while (arg_keys[k] && strcmp(arg_keys[k], spec->runner_args.keys[i]) != 0)
            k++;
        if (!arg_keys[k]) {
            pl_host->fail(ctx,
                          "validation %s: runner_args key \"%s\" is not known to runner_slurm; "
                          "known keys: partition, account, qos, constraint, gres "
                          "(other sbatch options go into the runner's extra_args)",
                          spec->validation, spec->runner_args.keys[i]);
            return RELHOST_EINVAL;
        }
    }
    for (size_t k = 0; arg_keys[k]; k++) {
        const char *v = arg_value(spec, arg_keys[k]);
        if (v)
            vals[k] = v;
    }
    return 0;
}

int slurm_shape_args(const relhost_ctx *ctx, const struct runner_slurm_conf *c,
                     const relhost_job_spec *spec, struct strv *argv)
{
    const char *vals[5];
    int rc;

    if ((rc = arg_values(ctx, c, spec, vals)) != 0)
        return rc;
    sv_add(argv, "--export=ALL");
    sv_fmt(argv, "--nodes=%d", spec->nodes > 0 ? spec->nodes : 1);
    if (spec->gpus > 0)
        sv_fmt(argv, "--gpus-per-node=%d", spec->gpus);
    for (size_t k = 0; arg_keys[k]; k++)
        if (vals[k] && vals[k][0])
            sv_fmt(argv, "%s=%s", arg_flags[k], vals[k]);
    if (spec->timeout_s > 0) {
        /* Slurm counts whole minutes; relhost's deadline (timeout + its own slack) comes first,
         * Slurm's limit ends the job when no relhost is watching. */
        double minutes = ceil((spec->timeout_s + c->time_slack) / 60.0);
        if (minutes < 1)
            minutes = 1;
        sv_fmt(argv, "--time=%.0f", minutes);
    }
    for (size_t i = 0; i < c->extra_args.n; i++)
        sv_add(argv, c->extra_args.v[i]);
    return 0;
}

/* What sbatch's run (res) for the job `key` says: the job's id into id (0), or why not. */
static int sbatch_answer(const relhost_ctx *ctx, struct runner_slurm *r, const char *key,
                         const relhost_proc_result *res, char id[257], char *out, size_t cap)
{
    char msg[1024];
    int rc;

    if (res->exec_failed) {
        snprintf(out, cap, "cannot run %s (runner option sbatch): %s", r->conf->sbatch,
                 res->err ? res->err : "not found");
        return RELHOST_EFAIL;
    }
    if (res->exited && res->exit_code == 0 && res->out && slurm_parse_submit(res->out, id) == 0)
        return 0;
    /* sbatch said yes in words we cannot read: the job may well exist. */
    int accepted = res->exited && res->exit_code == 0;
    int again = accepted || slurm_transient(res);
    slurm_tool_message(res, msg, sizeof msg);
    if (accepted)
        snprintf(msg, sizeof msg, "unexpected answer \"%.200s\"", res->out ? res->out : "");
    /* A submission that timed out may still have been accepted: look before retrying. */
    if (again && slurm_find_plain(ctx, r, key, id) == 0) {
        pl_host->log(ctx, RELHOST_LOG_WARN, "sbatch for %s failed (%s) but Slurm has the job as %s",
                     key, msg, id);
        return 0;
    }
    rc = again && !accepted ? RELHOST_ERETRY : RELHOST_EFAIL;
    snprintf(out, cap, "sbatch failed for %s: %s%s", key, msg,
             rc == RELHOST_ERETRY ? " (transient: may be retried)" : "");
    return rc;
}

int slurm_submit_one(const relhost_ctx *ctx, struct runner_slurm *r, const char *key,
                     const char *log, const char *script, const struct strv *shape,
                     const struct strv *env, char id[257], char *msg, size_t cap)
{
    struct strv argv = {0};
    relhost_proc_result res;
    int rc;

    msg[0] = '\0';
    sv_add(&argv, r->conf->sbatch);
    sv_add(&argv, "--parsable");
    sv_fmt(&argv, "--job-name=%s", key);
    if ((rc = slurm_output_arg(ctx, log, &argv)) != 0) {
        sv_free(&argv);
        return rc;
    }
    sv_add(&argv, "--open-mode=append");
    for (size_t i = 0; i < shape->n; i++)
        sv_add(&argv, shape->v[i]);
    sv_add(&argv, script);
    if ((rc = slurm_run_env(ctx, r, &argv, env, &res)) != 0)
        return rc; /* the host explained it (interrupted, or out of memory) */
    rc = sbatch_answer(ctx, r, key, &res, id, msg, cap);
    pl_host->proc_result_free(&res);
    return rc;
}

static int runner_slurm_submit(const relhost_ctx *ctx, void *inst, const relhost_job_spec *spec,
                               char id[257], void **handle)
{
    struct runner_slurm *r = inst;
    const struct runner_slurm_conf *c = r->conf;
    struct strv shape = {0}, env = {0}, probe = {0};
    char script[4200], msg[1300];
    int rc;

    *handle = NULL;
    if (!spec->log_path || !spec->argv || !spec->argv[0]) {
        pl_host->fail(ctx, "job %s: no log path or no command", spec->key);
        return RELHOST_EINVAL;
    }
    if ((rc = slurm_shape_args(ctx, c, spec, &shape)) != 0 ||
        (rc = slurm_output_arg(ctx, spec->log_path, &probe)) != 0)
        goto out;
    if (snprintf(script, sizeof script, "%s.sbatch", spec->log_path) >= (int)sizeof script) {
        pl_host->fail(ctx, "log path too long: %s", spec->log_path);
        rc = RELHOST_EINVAL;
        goto out;
    }
    if ((rc = slurm_write_script(ctx, spec, script)) != 0)
        goto out;
    slurm_sbatch_env(ctx, c, spec, &env);
    if (shape.oom || env.oom || probe.oom) {
        rc = pl_oom(ctx);
        goto out;
    }
    if (c->arrays && r->max_array != 0) {
        /* Queued: it goes out with the others of its shape at the next poll (slurm_array.c). */
        rc = slurm_task_queue(ctx, r, spec, script, &shape, &env, handle);
        goto out;
    }
    rc = slurm_submit_one(ctx, r, spec->key, spec->log_path, script, &shape, &env, id, msg,
                          sizeof msg);
    if (rc != 0 && msg[0])
        pl_host->fail(ctx, "%s", msg);
out:
    sv_free(&shape);
    sv_free(&env);
    sv_free(&probe);
    return rc;
}

/* ---- poll ---- */

static relhost_job_status *elem(relhost_job_status *jobs, size_t i, size_t elem_size)
{
    return (relhost_job_status *)(void *)((char *)jobs + i * elem_size);
}

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int runner_slurm_poll(const relhost_ctx *ctx, void *inst, relhost_job_status *jobs, size_t n,
                             size_t elem_size, double *next_poll_s)
{
    struct runner_slurm *r = inst;
    char(*nums)[32], (*clusters)[200];
    size_t *idx;
    unsigned char *done;
    double now = mono_now();
    int rc = 0;

    /* The controller's load is this runner's business: whoever asks early (the host also polls
     * whenever any child process exits, squeue's own included) gets no news, not a squeue. */
    /* Jobs queued by submit go out first (one sbatch --array per shape and chunk), and the
     * SUBMITTING jobs learn their ids, or why sbatch refused them. */
    slurm_flush(ctx, r);
    for (size_t i = 0; i < n; i++) {
        relhost_job_status *st = elem(jobs, i, elem_size);
        if (st->state == RELHOST_JOB_SUBMITTING && !st->external_id && st->runner_handle)
            slurm_task_news(st->runner_handle, st);
    }
    if (r->last_poll > 0 && now - r->last_poll < r->conf->poll_interval) {
        *next_poll_s = r->conf->poll_interval - (now - r->last_poll);
        return 0;
    }
    r->last_poll = now;
    *next_poll_s = r->conf->poll_interval;
    nums = calloc(n ? n : 1, sizeof *nums);
    clusters = calloc(n ? n : 1, sizeof *clusters);
    idx = calloc(n ? n : 1, sizeof *idx);
    done = calloc(n ? n : 1, 1);
    if (!nums || !clusters || !idx || !done) {
        free(nums), free(clusters), free(idx), free(done);
        return pl_oom(ctx);
    }
    for (size_t i = 0; i < n; i++) {
        relhost_job_status *st = elem(jobs, i, elem_size);
        if (!st->external_id) {
            done[i] = 1; /* never submitted with EINPROGRESS: nothing to look up */
            continue;
        }
        if (slurm_split_id(st->external_id, nums[i], sizeof nums[i], clusters[i],
                           sizeof clusters[i]) != 0) {
            done[i] = 1;
            st->state = RELHOST_JOB_LOST;
            st->exit_code = -1;
            snprintf(st->engine_state, sizeof st->engine_state, "BAD_ID");
            snprintf(st->engine_reason, sizeof st->engine_reason,
                     "\"%.100s\" is not a Slurm job id", st->external_id);
        }
    }
    /* One squeue per cluster, normally exactly one. */
    for (size_t i = 0; i < n; i++) {
        size_t k = 0;
        int e;
        if (done[i])
            continue;
        for (size_t j = i; j < n; j++)
            if (!done[j] && strcmp(clusters[j], clusters[i]) == 0) {
                idx[k++] = j;
                done[j] = 1;
            }
        e = slurm_poll_cluster(ctx, r, jobs, elem_size, idx, k, clusters[i], nums);
        if (e != 0 && rc == 0)
            rc = e;
        if (e == RELHOST_EINTR)
            break;
    }
    free(nums), free(clusters), free(idx), free(done);
    return rc;
}

/* ---- find / cancel ---- */

int slurm_find_plain(const relhost_ctx *ctx, struct runner_slurm *r, const char *key, char id[257])
{
    struct strv argv = {0};
    relhost_proc_result res;
    unsigned long long best = 0;
    size_t kl = strlen(key);
    int rc;

    if (!kl || strpbrk(key, ", \t\n|")) {
        pl_host->fail(ctx, "job key \"%s\" cannot be looked up by name in Slurm", key);
        return RELHOST_EINVAL;
    }
    slurm_tool_head(&argv, r->conf->squeue, NULL);
    sv_add(&argv, "-h");
    sv_add(&argv, "-t");
    sv_add(&argv, "all");
    sv_add(&argv, "-n");
    sv_add(&argv, key);
    sv_add(&argv, "-o");
    sv_add(&argv, "%i|%j");
    if ((rc = slurm_run_argv(ctx, r, &argv, &res)) != 0)
        return rc;
    if (!res.exited || res.exit_code != 0) {
        char msg[512];
        slurm_tool_message(&res, msg, sizeof msg);
        pl_host->fail(ctx, "squeue -n %s failed: %s", key, msg);
        pl_host->proc_result_free(&res);
        return RELHOST_EIO; /* not ENOTFOUND: we do not know, so nothing may be resubmitted */
    }
    for (const char *line = res.out ? res.out : ""; *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        const char *bar = memchr(line, '|', len);
        /* The newest job of that name wins: a resubmission after a lost one is newer. */
        if (bar && (size_t)(line + len - bar - 1) == kl && memcmp(bar + 1, key, kl) == 0) {
            char *e;
            unsigned long long v = strtoull(line, &e, 10);
            if (e == bar && v > best)
                best = v;
        }
        if (!end)
            break;
        line = end + 1;
    }
    pl_host->proc_result_free(&res);
    if (!best)
        return RELHOST_ENOTFOUND;
    snprintf(id, 257, "%llu", best);
    return 0;
}

/* A job submitted on its own is named by its key; an array task is found through its array
 * (slurm_array.c). */
static int runner_slurm_find(const relhost_ctx *ctx, void *inst, const char *key, char id[257])
{
    struct runner_slurm *r = inst;
    int rc = slurm_find_plain(ctx, r, key, id);
    /* whatever `arrays` says now: a job array may hold it since before the plan changed */
    if (rc == RELHOST_ENOTFOUND)
        rc = slurm_array_find(ctx, r, key, id);
    return rc;
}

static void runner_slurm_release(void *inst, void *handle) { slurm_task_release(inst, handle); }

static int runner_slurm_cancel(const relhost_ctx *ctx, void *inst, const char *external_id,
                               void *handle)
{
    struct runner_slurm *r = inst;
    struct strv argv = {0};
    relhost_proc_result res;
    char num[32], cluster[200], msg[512], queued_id[257] = "";
    int rc;
    /* still queued in this runner: dropped, never submitted */
    if (handle && !(external_id && external_id[0]) && slurm_task_cancel(handle, queued_id))
        return 0;
    if (!(external_id && external_id[0]))
        external_id = queued_id; /* went out at a poll whose news the host has not seen yet */
    if (!external_id[0])
        return 0; /* never reached Slurm */
    if (slurm_split_id(external_id, num, sizeof num, cluster, sizeof cluster) != 0) {
        pl_host->fail(ctx, "\"%s\" is not a Slurm job id", external_id);
        return RELHOST_EINVAL;
    }
    slurm_tool_head(&argv, r->conf->scancel, cluster);
    sv_add(&argv, num);
    if (argv.oom) {
        sv_free(&argv);
        return RELHOST_ENOMEM;
    }
    rc = run_tool(ctx, r, argv.v, NULL, 0, &res);
    sv_free(&argv);
    if (rc == 0 && !(res.exited && res.exit_code == 0)) {
        /* scancel is silent and exits 0 for ended and unknown jobs: this is a real failure. */
        slurm_tool_message(&res, msg, sizeof msg);
        pl_host->fail(ctx, "scancel %s failed: %s", num, msg);
        rc = RELHOST_EIO;
    }
    pl_host->proc_result_free(&res);
    return rc;
}

/* One scancel per cluster for all of the jobs, in the order given (the host lists the pending
 * ones first); `scancel` takes many ids, each its own argument. */
static int runner_slurm_cancel_many(const relhost_ctx *ctx, void *inst, const char *const *ids,
                                    size_t n)
{
    struct runner_slurm *r = inst;
    char(*clusters)[200] = calloc(n ? n : 1, sizeof *clusters);
    unsigned char *done = calloc(n ? n : 1, 1);
    int rc = 0;
    if (!clusters || !done) {
        free(clusters), free(done);
        return pl_oom(ctx);
    }
    for (size_t i = 0; i < n; i++) {
        char num[32];
        if (!ids[i] || !ids[i][0])
            done[i] = 1; /* never reached Slurm */
        else if (slurm_split_id(ids[i], num, sizeof num, clusters[i], sizeof clusters[i]) != 0) {
            pl_host->fail(ctx, "\"%s\" is not a Slurm job id", ids[i]);
            free(clusters), free(done);
            return RELHOST_EINVAL;
        }
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        struct strv argv = {0};
        relhost_proc_result res;
        char msg[512];
        if (done[i])
            continue;
        slurm_tool_head(&argv, r->conf->scancel, clusters[i]);
        for (size_t j = i; j < n; j++)
            if (!done[j] && strcmp(clusters[j], clusters[i]) == 0) {
                char num[32], cl[200];
                slurm_split_id(ids[j], num, sizeof num, cl, sizeof cl);
                /* An array task "123_4": the whole array "123", once (an array holds jobs of
                 * one release only), where its first task comes in the order given. */
                size_t u = strcspn(num, "_");
                int task = num[u] != '\0';
                num[u] = '\0';
                for (size_t a = 1; task && a < argv.n && num[0]; a++)
                    if (strcmp(argv.v[a], num) == 0)
                        num[0] = '\0';
                if (num[0])
                    sv_add(&argv, num);
                done[j] = 1;
            }
        if ((rc = slurm_run_argv(ctx, r, &argv, &res)) != 0)
            break;
        if (!(res.exited && res.exit_code == 0)) {
            /* scancel is silent and exits 0 for ended and unknown jobs: a real failure. */
            slurm_tool_message(&res, msg, sizeof msg);
            pl_host->fail(ctx, "scancel failed: %s", msg);
            rc = RELHOST_EIO;
        }
        pl_host->proc_result_free(&res);
    }
    free(clusters), free(done);
    return rc;
}

const relhost_plugin pl_plugin = {
    PL_PLUGIN_BASE("runner_slurm", "1.0.0", runner_slurm_options, struct runner_slurm_conf),
    .description = "run validation jobs as Slurm batch jobs (sbatch, one squeue per poll)",
    .runner =
        PL_RUNNER_OPS(runner_slurm, .find = runner_slurm_find, .close = runner_slurm_close,
                      .cancel_many = runner_slurm_cancel_many, .release = runner_slurm_release),
};
