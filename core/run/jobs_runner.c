/* SPDX-License-Identifier: MIT */
/*
 * jobs_runner.c - a runner opened outside a run: `relhost status` polls, `relhost kill` cancels
 * the jobs a release's state records (core/run/batch.c). Part of the job layer: the runner is
 * opened by jobs_runner_rt_open(), as a run opens it.
 */
#include "run/jobs_int.h"

#include "base/log.h"
#include "base/util.h"
#include "run/guard.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

struct jobs_runner {
    struct runner_rt rt;
};

jobs_runner *jobs_runner_open(plan *p, const char *name)
{
    relhost_ctx base;
    jobs_runner *r;
    const plan_instance *pi = plan_find_runner(p, name);
    char *m;
    if (!pi)
        return NULL;
    r = xcalloc(1, sizeof *r);
    r->rt.pi = pi;
    r->rt.ops = pi->pl->desc.runner;
    snprintf(r->rt.prefix, sizeof r->rt.prefix, "%s", pi->name);
    memset(&base, 0, sizeof base);
    base.struct_size = sizeof base;
    base.mode = RELHOST_MODE_RUN;
    base.version = p->version;
    base.commit = p->commit;
    base.state_dir = p->state_dir;
    base.log_dir = p->log_dir;
    base.plan_dir = p->dir;
    if (jobs_runner_rt_open(&r->rt, &base, 0, &m) != 0) {
        log_msg(RELHOST_LOG_ERROR, pi->name, "cannot open runner: %s", m ? m : "?");
        free(m);
        hostctx_fini(&r->rt.hc);
        free(r);
        return NULL;
    }
    return r;
}

int jobs_runner_remote(const jobs_runner *r) { return r->rt.ops->find != NULL; }

int jobs_runner_poll(jobs_runner *r, relhost_job_status *st, size_t n)
{
    double next = 0;
    /* guarded as in a run: a runner that crashes or exits here is named, never silent */
    int g = guard_enter(r->rt.pi->plugin_name, "poll", NULL);
    int rc = r->rt.ops->poll(&r->rt.hc.pub, r->rt.inst, st, n, sizeof *st, &next);
    guard_leave(g);
    return rc;
}

int jobs_runner_cancel(jobs_runner *r, const char *external_id, char **why)
{
    int rc;
    *why = NULL;
    if (!r->rt.ops->cancel)
        return RELHOST_ENOTSUP;
    {
        int g = guard_enter(r->rt.pi->plugin_name, "cancel", NULL);
        rc = r->rt.ops->cancel(&r->rt.hc.pub, r->rt.inst, external_id, NULL);
        guard_leave(g);
    }
    if (rc != 0) {
        *why = hostctx_take_fail(&r->rt.hc);
        if (rc == RELHOST_ENOTSUP)
            rc = RELHOST_EFAIL; /* the op failed: not "no cancel op" */
    }
    return rc;
}

int jobs_runner_cancel_many(jobs_runner *r, const char *const *ids, size_t n, char **why)
{
    const relhost_runner_ops *ops = r->rt.ops;
    int rc;
    *why = NULL;
    /* a runner built for ABI < 1.5 has no such member: its struct ends before it */
    if (ops->struct_size < offsetof(relhost_runner_ops, cancel_many) + sizeof ops->cancel_many ||
        !ops->cancel_many)
        return RELHOST_ENOTSUP;
    {
        int g = guard_enter(r->rt.pi->plugin_name, "cancel_many", NULL);
        rc = ops->cancel_many(&r->rt.hc.pub, r->rt.inst, ids, n);
        guard_leave(g);
    }
    if (rc != 0) {
        *why = hostctx_take_fail(&r->rt.hc);
        if (rc == RELHOST_ENOTSUP)
            rc = RELHOST_EFAIL;
    }
    return rc;
}

void jobs_runner_close(jobs_runner *r)
{
    if (!r)
        return;
    jobs_runner_rt_close(&r->rt);
    hostctx_fini(&r->rt.hc);
    free(r);
}
