/* SPDX-License-Identifier: MIT */
/*
 * runner_local - runs validation jobs on this machine through the host's process service: each
 * job in its own process group, stdout and stderr appended to the job's log file as they arrive,
 * a timeout that kills the whole tree (SIGTERM, grace, SIGKILL; exit 124 and a [TIMEOUT] line),
 * and a tree kill on cancel. A local job cannot be re-attached by a later relhost (it is not that
 * relhost's child: nothing could wait for it or read its exit status), so this runner offers no
 * find(). Jobs of a runner without find() are relhost's own children: the host's process
 * service knows each one's pid, start time and cookie (RELHOST_JOB=<key>), the host records them
 * in the job's state, and after a relhost killed with SIGKILL the next one stops such a job that
 * is still running before it runs the validation again as a new attempt (core/run/jobs.c).
 */
#include <relhost/plugin.h>

#include "../common/pl_host.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct runner_local_conf {
    double grace;
};

#define OPT(f, t, ...) PL_OPT(struct runner_local_conf, f, t, __VA_ARGS__)
static const relhost_option runner_local_options[] = {
    OPT(grace, DURATION, .def = "10s", .min = 0, .max = 3600,
        .doc = "time between SIGTERM and SIGKILL when a job times out or is cancelled"),
    {0}};
#undef OPT

static int runner_local_open(const relhost_ctx *ctx, const void *conf, void **inst)
{
    *inst = (void *)conf;
    return 0;
}

static int runner_local_submit(const relhost_ctx *ctx, void *inst, const relhost_job_spec *spec,
                               char id[257], void **handle)
{
    const struct runner_local_conf *c = inst;
    relhost_proc_spec ps = {.struct_size = sizeof ps};
    relhost_proc *p = NULL;
    int rc;
    ps.argv = spec->argv;
    ps.env = spec->env;
    ps.cwd = spec->cwd;
    ps.timeout_s = spec->timeout_s;
    ps.grace_s = c->grace > 0 ? c->grace : 0.001;
    ps.log_path = spec->log_path;
    rc = pl_host->proc_spawn(ctx, &ps, &p);
    if (rc != 0)
        return rc; /* the host's process service has explained why */
    snprintf(id, 257, "local-%s", spec->key);
    *handle = p;
    return 0;
}

static int runner_local_poll(const relhost_ctx *ctx, void *inst, relhost_job_status *jobs, size_t n,
                             size_t elem_size, double *next_poll_s)
{
    (void)inst;
    for (size_t i = 0; i < n; i++) {
        relhost_job_status *st = (relhost_job_status *)(void *)((char *)jobs + i * elem_size);
        relhost_proc_result res;
        int done = 0;
        if (!st->runner_handle) {
            st->state = RELHOST_JOB_LOST; /* a local job of an earlier relhost process */
            continue;
        }
        memset(&res, 0, sizeof res);
        res.struct_size = sizeof res;
        if (pl_host->proc_poll(ctx, st->runner_handle, &done, &res) != 0 || !done) {
            st->state = RELHOST_JOB_RUNNING;
            continue;
        }
        st->state = RELHOST_JOB_ENDED;
        st->exit_code = res.exit_code;
        if (res.exec_failed) {
            st->end = RELHOST_END_EXEC_FAILED;
            snprintf(st->engine_state, sizeof st->engine_state, "EXEC_FAILED");
        } else if (res.timed_out) {
            st->end = RELHOST_END_TIMEOUT;
            st->exit_code = 124;
            snprintf(st->engine_state, sizeof st->engine_state, "TIMEOUT");
        } else if (res.signal) {
            st->end = RELHOST_END_SIGNALED;
            st->signal = res.signal;
            snprintf(st->engine_state, sizeof st->engine_state, "SIGNALED");
        } else {
            st->end = RELHOST_END_EXITED;
            snprintf(st->engine_state, sizeof st->engine_state, "EXITED");
        }
        pl_host->proc_result_free(&res);
    }
    /* The host also polls as soon as a child exits; this is only the fallback pace. */
    *next_poll_s = 1.0;
    return 0;
}

static int runner_local_cancel(const relhost_ctx *ctx, void *inst, const char *external_id,
                               void *handle)
{
    (void)inst;
    (void)external_id;
    if (!handle)
        return 0;
    return pl_host->proc_kill(ctx, handle);
}

static void runner_local_release(void *inst, void *handle)
{
    (void)inst;
    if (handle)
        pl_host->proc_release(NULL, handle);
}

const relhost_plugin pl_plugin = {
    PL_PLUGIN_BASE("runner_local", "1.0.0", runner_local_options, struct runner_local_conf),
    .description = "run validation jobs as local process groups with tree-kill timeouts",
    .runner = PL_RUNNER_OPS(runner_local, .release = runner_local_release, .close = pl_close_conf),
};
