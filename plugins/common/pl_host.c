/* SPDX-License-Identifier: MIT */
/* pl_host.c - the entry point and host helpers of every bundled plugin (see pl_host.h). */
#include "pl_host.h"

#include <stddef.h>

const relhost_host *pl_host;

RELHOST_EXPORT int relhost_plugin_entry(const relhost_host *host, const relhost_plugin **out)
{
    if (host == NULL || out == NULL)
        return RELHOST_EINVAL;
    pl_host = host;
    *out = &pl_plugin;
    return 0;
}

const char *pl_where(const relhost_ctx *ctx, const void *conf_field)
{
    const char *w = pl_host->where != NULL ? pl_host->where(ctx, conf_field) : NULL;

    return w != NULL ? w : "the plan";
}

int pl_oom(const relhost_ctx *ctx)
{
    pl_host->fail(ctx, "out of memory");
    return RELHOST_ENOMEM;
}

const char *pl_strerror(int code)
{
    if (RELHOST_HAS(pl_host, strerror) && pl_host->strerror != NULL)
        return pl_host->strerror(code);
    return "error";
}

void pl_close_conf(void *inst) { (void)inst; }

void pl_skip(relhost_verdict *out, const char *reason)
{
    out->outcome = RELHOST_SKIPPED;
    out->reason = reason;
    out->retryable = 0;
}

int pl_launch_skips(const relhost_ctx *ctx, relhost_verdict *out)
{
    if (ctx->mode != RELHOST_MODE_LAUNCH)
        return 0;
    pl_skip(out, "launch");
    return 1;
}

int pl_need_proc(const relhost_ctx *ctx, const char *advice)
{
    if (RELHOST_HAS(pl_host, proc_result_free) && pl_host->proc_run != NULL &&
        pl_host->proc_result_free != NULL)
        return 0;
    pl_host->fail(ctx, "%s: this relhost offers no process service (proc_run); %s", pl_plugin.name,
                  advice);
    return RELHOST_ENOTSUP;
}

int pl_need_http(const relhost_ctx *ctx)
{
    if (RELHOST_HAS(pl_host, http_response_free) && pl_host->http_request != NULL &&
        pl_host->http_response_free != NULL)
        return 0;
    pl_host->fail(ctx,
                  "%s: this relhost has no HTTP service (http_request): upgrade relhost, or "
                  "make the step optional until then",
                  pl_plugin.name);
    return RELHOST_ENOTSUP;
}
