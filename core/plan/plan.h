/* SPDX-License-Identifier: MIT */
/*
 * plan.h - a release plan: a libconfig file validated whole before anything runs. Unknown keys,
 * wrong types, missing keys, duplicate step names, unknown plugins, runners, metrics sources or
 * steps are each one error with file:line (exit 2, nothing run). Relative paths resolve against
 * the top-level plan's folder, which is also libconfig's @include folder.
 */
#ifndef RELHOST_PLAN_H
#define RELHOST_PLAN_H

#include "base/util.h"
#include "plan/loader.h"
#include "plan/options.h"
#include "plan/plan_keys.h"

#include <libconfig.h>
#include <stdint.h>

/** One configured plugin instance: a step, a runner or a metrics source. */
/* A runner's max_parallel default: relhost's own children / jobs queued on a cluster (a runner
 * with a find op). */
#define PLAN_LOCAL_MAX_PARALLEL 4
#define PLAN_REMOTE_MAX_PARALLEL 1000
/* A remote runner's queue_timeout default: a job may wait a day in its engine's queue. */
#define PLAN_QUEUE_TIMEOUT 86400.0

/* A runner's max_log default: 256 MiB of a job's log kept on disk (its head and its tail). */
#define PLAN_MAX_LOG (256ull << 20)
#define PLAN_MAX_LOG_MIN (64ull << 10)
/* An isolated instance's call_timeout default: 10 minutes of the plugin's own computing. */
#define PLAN_CALL_TIMEOUT 600.0

typedef struct plan_instance {
    char *name;
    const char *plugin_name; /* kept for the process (options_intern) */
    const loaded_plugin *pl;
    void *conf; /* pl->desc.conf_size bytes, filled from the plan */
    optstore *store;
    options_loc loc;      /* where the instance's group is: read it with plan_where() */
    char *where;          /* its "file:line", made when first asked for, or set by a test */
    int max_parallel;     /* runners: jobs at once (host-level key, default 4; remote: 1000) */
    int priority;         /* metrics sources: which wins when two post one key (default 0) */
    double queue_timeout; /* runners: seconds a remote job may wait to start (0: no limit) */
    uint64_t max_log;     /* runners: bytes of a job's log kept on disk, head and tail (host-level
                       * key, default PLAN_MAX_LOG) */
    int isolate;          /* run in a plugin server process (core/isolate/isolate.h) */
    double call_timeout;  /* isolated: seconds one call may compute (host services excluded); 0
                          * none */
} plan_instance;

/* SUCCESS / ON_FAILURE / ALWAYS come from a step's `when`; ON_PROMOTE and ON_ROLLBACK mark the
 * steps of the plan's on_promote and on_rollback lists, run only by a promotion or a rollback. */
typedef enum step_when {
    WHEN_SUCCESS = 0,
    WHEN_ON_FAILURE,
    WHEN_ALWAYS,
    WHEN_ON_PROMOTE,
    WHEN_ON_ROLLBACK
} step_when;

typedef struct plan_step {
    plan_instance inst;
    int required;
    int publishes;
    step_when when;
    char *description;
} plan_step;

typedef struct plan_profile {
    char *name;
    strvec members;
} plan_profile;

typedef struct plan {
    char *path;                /* absolute */
    char *dir;                 /* absolute folder of the plan */
    char *name;                /* plan's `name`, or the file's stem */
    char *version;             /* decided: --release, the plan's version, or auto (UTC) */
    int version_auto;          /* the version was generated */
    int resumed;               /* no --release: the newest unfinished release was picked up */
    char *state_dir, *log_dir; /* absolute */
    char *state_dir_where, *log_dir_where; /* where the plan set them, for errors */
    char *repo, *ref;                      /* NULL when the plan names no repository */
    char *commit;   /* the repo's ref resolved at load (git rev-parse), or NULL */
    int max_defers; /* a required step's retryable ERROR defers the release at most this often */
    double defer_deadline; /* seconds after the release's creation when deferring stops; 0: none */
    double state_commit_window; /* seconds results of ended jobs may wait for one shared sync */
    int checkout_worktree; /* checkout = "worktree": validations run in a worktree of the commit */
    char *registry_dir;   /* absolute: the release registry (manifest.json, staged/, audit.jsonl) */
    char *baseline_path;  /* absolute: the baseline store (default <state_dir>/baseline.json) */
    int require_baseline; /* a baseline rule with no baseline entry is INCONCLUSIVE, not passed */
    char *monitor_profile; /* the profile `relhost monitor` runs when given no --profile, or NULL */
    strvec plugin_path;    /* the full search path actually used */
    loader ld;
    plan_instance *runners;
    size_t nrunners;
    plan_instance *metrics;
    size_t nmetrics;
    plan_step *steps;
    size_t nsteps;
    plan_profile *profiles;
    size_t nprofiles;
    char *hash;     /* sha-like hash of the plan file's bytes (after --set) */
    plan_keys keys; /* the core's own top-level keys, as filled (core/plan/plan_keys.h) */
    optstore *keys_store;
    config_t cfg;               /* the parsed plan, until plan_open() has filled everything */
    struct plan_slices *slices; /* the step lists cut out of cfg (plan_slices.h), or NULL */
} plan;

typedef struct plan_options {
    const char *path;
    const char *version;     /* --release, or NULL */
    const char *const *sets; /* --set KEY.PATH=VALUE, NULL-terminated or NULL */
    int new_release;         /* --new: never resume an unfinished release */
    const char *commit;      /* the candidate commit is this one (monitor: the last
                                        green release's), not the plan's ref resolved */
    int newest;              /* status: without --release, the newest release, finished
                                        or not */
    const relhost_host *host;
    int in_server;   /* loaded by an isolated plugin's server: no proxies (core/isolate) */
    int no_plugins;  /* a command that only reads what a release recorded (explain, report,
                       site, releases): the release is named, no plugin is loaded, no step or
                       instance is filled, no git process runs */
    int any_release; /* a command over every release (site): "auto" is not resolved (no
                        state of the folder is read to pick one); p->version stays "auto" */
} plan_options;

/** Parse the plan file into *p: libconfig syntax, --set, the core's own keys (typed, checked,
 *  paths made absolute). Touches nothing outside the file: no state, git, plugin or template.
 *  0, or RELHOST_EINVAL with error_last() set; on failure *p is still freeable. */
int plan_parse(const plan_options *o, plan *p);
/** Open the release the parsed plan names: its version (picked from the state folder when
 *  "auto"), the candidate commit (git), the template variables, the plugins (dlopen) and every
 *  instance's options. 0, or RELHOST_EINVAL/ENOTFOUND with error_last() set. */
int plan_open(const plan_options *o, plan *p);
/** plan_parse, then plan_open: the whole plan, validated. On failure *p is still freeable. */
int plan_load(const plan_options *o, plan *p);
void plan_free(plan *p);

/** Valid release version: [0-9A-Za-z][0-9A-Za-z._-]{0,63}, no "..", not ending ".lock". */
int plan_version_valid(const char *v);
/** UTC now as YYYY.MM.DD-HHMM into buf. */
void plan_auto_version(char *buf, size_t cap);

/** "file:line" of the instance's group, valid until plan_free() ("the plan" when unknown). A
 *  big plan keeps a compact location per step and makes the text only when it is needed. */
const char *plan_where(const plan_instance *in);

const plan_step *plan_find_step(const plan *p, const char *name);
const plan_instance *plan_find_runner(const plan *p, const char *name);
const plan_instance *plan_find_metrics(const plan *p, const char *name);
const plan_profile *plan_find_profile(const plan *p, const char *name);

#endif
