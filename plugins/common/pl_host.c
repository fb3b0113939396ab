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
