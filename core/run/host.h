/* SPDX-License-Identifier: MIT */
/*
 * host.h - the services table handed to plugins, and the per-call context behind relhost_ctx.
 * Every service finds its target (the step's or job's evidence, the plugin's option store, the
 * log prefix) through ctx->host_private, so services keep no hidden global "current step".
 */
#ifndef RELHOST_HOST_H
#define RELHOST_HOST_H

#include "base/util.h"
#include "plan/options.h"
#include "run/evidence.h"

#include <relhost/plugin.h>

typedef struct hostctx {
    relhost_ctx pub;       /* what the plugin sees; pub.host_private points back here */
    char prefix[160];      /* "plugin/step" for log lines */
    evidence *ev;          /* where evidence services write; NULL: nowhere (logged) */
    const optstore *store; /* for where() */
    char *fail_msg;        /* last host->fail() message, owned */
    struct jobs *jobs;     /* the run's job layer (steps only), or NULL */
    const char *source;    /* metrics source whose op is running (jobs), or NULL */
    int source_priority;
    int conflicts; /* keys two sources of equal priority both posted */
    /* The registry services (host_registry.c) need the run around the step: */
    const struct plan *plan;
    struct state *state;
    const char *worktree; /* the candidate's worktree, or NULL */
    const char *failure;  /* why the release failed (first failing required step and checks),
                             * or NULL while it has not */
    int failure_code;     /* the run's exit code so far: 1 a verdict (FAILED), 3 undecided */
    /* Why the release may not be promoted now (a required step before this one did not pass),
     * asked when a promotion happens: an allocated message (the caller frees it), or NULL. */
    char *(*unqualified)(void *arg);
    void *unqualified_arg;
    int *promoted;      /* set to 1 when a promote succeeds (the pipeline then runs
                             * on_promote) */
    int no_release_tag; /* a runner that hands jobs to a remote engine: its processes carry
                             * no release tag (proc_tag_suspend) */
    /* Only while a gate's open() runs (NULL otherwise): */
    strvec *requires;  /* job_require(): the jobs the step needs (copied names) */
    size_t *req_slots; /* an index of requires (entry + 1 per slot, 0: free): one lookup per */
    size_t req_cap;    /* job_require() however many validations the gate has */
    int step_required; /* the step is required (checks_verify checks credentials) */
    /* An isolated plugin's server died or hung in an op of this ctx: plugin_crashed,
     * plugin_exited or plugin_hung (a job's source then makes the job ERROR with it). */
    const char *plugin_fault;
} hostctx;

/* Every service of relhost_host (include/relhost/plugin.h), in its order. A table of services
 * is built from this list (HOST_TABLE), here and in the plugin server (core/isolate), so none
 * can be left out of either. */
/* (Kept by hand: the formatter would stair-step the list.) */
// clang-format off
#define HOST_SERVICES(X)                                                                      \
    X(log) X(fail) X(where) X(secret) X(check_add) X(metric_set) X(label_set) X(artifact_add) \
    X(note_add) X(checks_eval) X(proc_run) X(proc_result_free) X(proc_spawn) X(proc_poll)     \
    X(proc_kill) X(proc_release) X(job_submit) X(job_wait) X(job_result) X(http_request)      \
    X(http_response_free) X(prompt_yesno) X(expand) X(free) X(registry_stage)                 \
    X(registry_promote) X(registry_quarantine) X(job_require) X(checks_verify) X(sealed)      \
    X(record_get) X(record_put) X(strerror)
// clang-format on
/* A relhost_host whose service m is the function prefix##m (define an alias for one named
 * otherwise). */
#define HOST_TABLE_ENTRY_(prefix, m) .m = prefix##m,
#define HOST_TABLE(prefix_entry)                                             \
    {                                                                        \
        .struct_size = sizeof(relhost_host), .abi_major = RELHOST_ABI_MAJOR, \
        .abi_minor = RELHOST_ABI_MINOR, HOST_SERVICES(prefix_entry)          \
    }

/** The table plugins receive (static, valid for the process). */
const relhost_host *host_table(void);

/** Initialise hc from a template context; pub.host_private is set to hc. */
void hostctx_init(hostctx *hc, const relhost_ctx *base, const char *plugin, const char *step,
                  evidence *ev, const optstore *store);
/** Set the fail message a plugin will see as its failure (host services use it). */
void hostctx_fail(hostctx *hc, const char *msg);
/** Take (and clear) the fail message; NULL when none. Caller frees. */
char *hostctx_take_fail(hostctx *hc);
void hostctx_fini(hostctx *hc);

/* The registry services (host_registry.c). */
int host_registry_stage(const relhost_ctx *ctx, const relhost_strlist *artifacts);
int host_registry_promote(const relhost_ctx *ctx);
int host_registry_quarantine(const relhost_ctx *ctx, const char *reason);
/* The delivery records (host_record.c): steps.<step>.records.<key> in the release state. */
const char *host_record_get(const relhost_ctx *ctx, const char *key);
int host_record_put(const relhost_ctx *ctx, const char *key, const char *value);
/* Plan-time checks of acceptance keys and source credentials (keycheck.c). */
int host_checks_verify(const relhost_ctx *ctx, const relhost_strlist *sources,
                       const relhost_checks *acceptance, const void *where_field);
/* The same with the checks' "file:line" already known (an isolated plugin's server resolved it). */
int host_checks_verify_at(const relhost_ctx *ctx, const relhost_strlist *sources,
                          const relhost_checks *acceptance, const char *where);
/** Regenerate <registry_dir>/site (after a promotion or rollback); failure only warns. */
void host_registry_site(const struct plan *p);
/** The same when the page exists already (after a freeze or an unfreeze, whose state its banner
 *  shows); a registry without a page gets none. */
void host_registry_site_refresh(const struct plan *p);

#endif
