/* SPDX-License-Identifier: MIT */
/*
 * host.h - the services table handed to plugins, and the per-call context behind relhost_ctx.
 * Every service finds its target (the step's or job's evidence, the plugin's option store, the
 * log prefix) through ctx->host_private, so services keep no hidden global "current step".
 */
#ifndef RELHOST_HOST_H
#define RELHOST_HOST_H

#include "evidence.h"
#include "options.h"

#include <relhost/plugin.h>

typedef struct hostctx {
    relhost_ctx pub;        /* what the plugin sees; pub.host_private points back here */
    char prefix[160];       /* "plugin/step" for log lines */
    evidence *ev;           /* where evidence services write; NULL: nowhere (logged) */
    const optstore *store;  /* for where() */
    char *fail_msg;         /* last host->fail() message, owned */
    struct jobs *jobs;      /* the run's job layer (steps only), or NULL */
    const char *source;     /* metrics source whose op is running (jobs), or NULL */
    int source_priority;
    int conflicts;          /* keys two sources of equal priority both posted */
} hostctx;

/** The table plugins receive (static, valid for the process). */
const relhost_host *host_table(void);

/** Initialise hc from a template context; pub.host_private is set to hc. */
void hostctx_init(hostctx *hc, const relhost_ctx *base, const char *plugin, const char *step,
                  evidence *ev, const optstore *store);
/** Take (and clear) the fail message; NULL when none. Caller frees. */
char *hostctx_take_fail(hostctx *hc);
void hostctx_fini(hostctx *hc);

#endif
