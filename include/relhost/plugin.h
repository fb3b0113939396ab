/* SPDX-License-Identifier: MIT */
/*
 * relhost/plugin.h - the relhost plugin ABI, version 1.6 (1.0; 1.1 added job template variables;
 * 1.2 added baseline rules and statistics to acceptance checks, and repeated jobs; 1.3 added the
 * release's requirement set, plan-time checks of metric keys, and the keys a source can post;
 * 1.4 added sealed secrets, at-most-once HTTP requests, per-step delivery records, the reserved
 * metric and label keys, host->strerror() and the HTTP option group; 1.5 added a runner's
 * cancel_many; 1.6 added a metrics source's peek, the running values the live view shows).
 *
 * This is the only header a relhost plugin includes. A plugin is a shared object exporting one
 * symbol, relhost_plugin_entry(); the host passes a const table of services and receives a
 * descriptor naming the plugin's options and the capabilities it offers (gate, metrics source,
 * runner).
 *
 * WARNING - growth rules, read before changing anything here:
 *  - Every struct that crosses the ABI begins with `size_t struct_size` and only ever grows at its
 *    END. New members are marked with the ABI minor that added them, e.g. "Added in ABI 1.1".
 *    Neither side reads a member past the other side's struct_size: use RELHOST_HAS().
 *  - No array of structs crosses the ABI without its element size (e.g. option rows: the
 *    descriptor records sizeof(relhost_option); job status arrays carry elem_size).
 *  - relhost_host, the services table, is append-only: entries are never removed or reordered.
 *  - An enum value the host does not know, coming from a plugin, counts as RELHOST_ERROR.
 *  - A plugin built for ABI major M, minor m loads in any host of major M and minor >= m.
 *  - struct_size is set by whoever allocates the struct: a caller passing a struct for the other
 *    side to fill (relhost_verdict, relhost_proc_result, relhost_job_result, relhost_job_status)
 *    sets it, and the filler writes no member past it.
 *  - Frozen exceptions: relhost_strlist, relhost_list, relhost_map, relhost_checks and the rows
 *    of relhost_option carry no struct_size. They are embedded in plugins' conf structs or arrays
 *    whose element size is recorded elsewhere (option_size, elem_size) and never grow.
 *  tests/abi/ keeps a frozen copy of the 1.0 header; a plugin built against it must load forever.
 *
 * Ownership rules (they hold for every function below unless its comment says otherwise):
 *  - Pointers the host passes in (strings, specs, conf) are BORROWED for the duration of the call.
 *    Exception: the conf struct given to open() and every string or list inside it stay valid until
 *    the host has called close() on that instance.
 *  - What a plugin hands to the host (strings, checks, metrics, ids) is COPIED by the host before
 *    the call returns; the plugin keeps ownership of its own memory.
 *  - Memory the host allocates for a plugin (HTTP responses, process output, expanded templates)
 *    is released with the matching *_free service, or host->free() where stated.
 *  - A plugin allocates its instance in open(); after every open() that returned 0, the host calls
 *    close() exactly once. One .so serves many instances: a plugin keeps no mutable globals.
 *
 * Execution rules: the host runs one thread and calls plugin ops one at a time, never
 * re-entrantly. Plugins start no threads, install no signal handlers and never call fork, wait*,
 * prctl or curl_global_*: processes and HTTP go through the host services, which keep serving
 * signals and deadlines while they wait.
 *
 * Errors: a function that can fail returns int, 0 on success or a negative RELHOST_E* code. Before
 * returning a failure an op explains itself once through host->fail(): what failed, on which input,
 * and what to do. Secrets are never formatted into a message. A verdict (PASSED, FAILED...) is an
 * out-parameter, never a return code.
 */
#ifndef RELHOST_PLUGIN_H
#define RELHOST_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define RELHOST_ABI_MAJOR 1
#define RELHOST_ABI_MINOR 6

#if defined(__GNUC__)
#define RELHOST_EXPORT __attribute__((visibility("default")))
#define RELHOST_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define RELHOST_EXPORT
#define RELHOST_PRINTF(fmt, args)
#endif

/** Name of the one symbol every plugin exports (see relhost_plugin_entry_fn). */
#define RELHOST_ENTRY_SYMBOL "relhost_plugin_entry"

/** True when struct *p, as filled by the other side, is large enough to hold `member`. */
#define RELHOST_HAS(p, member) \
    ((p) != NULL && (p)->struct_size >= offsetof(__typeof__(*(p)), member) + sizeof((p)->member))

/* ---- Return codes ------------------------------------------------------------------------ */

#define RELHOST_OK 0
#define RELHOST_EFAIL (-1)       /**< generic failure, explained through host->fail() */
#define RELHOST_EINVAL (-2)      /**< bad argument or bad input (plan, reply, log) */
#define RELHOST_ENOMEM (-3)      /**< out of memory */
#define RELHOST_ENOTSUP (-4)     /**< this host does not offer the service (yet) */
#define RELHOST_ETIMEDOUT (-5)   /**< a deadline passed */
#define RELHOST_EIO (-6)         /**< I/O, network or child-process failure */
#define RELHOST_ENOTFOUND (-7)   /**< the thing looked up does not exist */
#define RELHOST_EINPROGRESS (-8) /**< runner submit: accepted, the id comes with a later poll */
#define RELHOST_EINTR (-9)       /**< interrupted by SIGINT/SIGTERM: stop and return soon */
#define RELHOST_ERETRY (-10)     /**< a transient tool error: the same call may succeed later */

/* ---- Outcomes (one table for the whole project, see relhost(1) EXIT STATUS) --------------- */

typedef enum relhost_outcome {
    RELHOST_NONE = 0,         /**< no outcome yet */
    RELHOST_PASSED = 1,       /**< the thing tested is good */
    RELHOST_FAILED = 2,       /**< a verdict: the thing tested is bad */
    RELHOST_ERROR = 3,        /**< a tool error: we could not find out */
    RELHOST_INCONCLUSIVE = 4, /**< no decision by design (no human, not configured, no data) */
    RELHOST_SKIPPED = 5,      /**< not run, with a reason */
    RELHOST_WAIVED = 6        /**< did not pass, but a person waived it (who, why, when) */
} relhost_outcome;

/**
 * A step's or a job's verdict, filled by the plugin. `reason` is one short machine word for every
 * non-PASSED outcome: timeout, threshold, metric_missing, upstream_failed, not_configured,
 * tool_error, tool_error_exhausted, frozen, declined, no_tty... It must be a string literal or live
 * until the instance is closed; the host copies it. `retryable` marks an ERROR that may pass when
 * tried again (network, preemption).
 */
typedef struct relhost_verdict {
    size_t struct_size;
    relhost_outcome outcome;
    const char *reason;
    int retryable;
} relhost_verdict;

/* ---- Logging levels ------------------------------------------------------------------------ */

typedef enum relhost_level {
    RELHOST_LOG_ERROR = 0,
    RELHOST_LOG_WARN = 1,
    RELHOST_LOG_INFO = 2,
    RELHOST_LOG_DEBUG = 3 /**< shown with -v */
} relhost_level;

/* ---- Option tables ------------------------------------------------------------------------- */

/**
 * Option types and the C type the host stores at relhost_option.offset in the plugin's conf:
 *  STRING      const char *        (NULL when absent and no default)
 *  INT         int64_t             (a plan's integer; a double is refused)
 *  BOOL        int                 (0 or 1)
 *  DOUBLE      double              (an integer in the plan is coerced to double, never the reverse)
 *  SIZE        uint64_t bytes      ("64M", "1G", or an integer)
 *  DURATION    double seconds      ("10m", "90s", "2h", "1d", or a number of seconds)
 *  ENUM        int                 (index into .choices)
 *  STRLIST     relhost_strlist     (a list or array of strings; a single string is a list of one)
 *  SECRET_ENV  const char *        (the NAME of an environment variable, never its value)
 *  GROUP       a struct embedded at .offset, filled from .sub (rows' offsets relative to it)
 *  GROUP_LIST  relhost_list        (items are .item_size bytes, each filled from .sub)
 *  REF         const char *        (name of a runner, metrics source or step; see .ref_kind)
 *  REF_LIST    relhost_strlist     (names, each resolved like REF)
 *  CHECKS      relhost_checks      (acceptance checks, evaluated by the host's checks service)
 *  MAP         relhost_map         (a group of string (or number) values under free keys: env)
 * The host parses, range-checks and fills these; no plugin ever reads raw libconfig.
 */
typedef enum relhost_opt_type {
    RELHOST_OPT_END = 0,
    RELHOST_OPT_STRING,
    RELHOST_OPT_INT,
    RELHOST_OPT_BOOL,
    RELHOST_OPT_DOUBLE,
    RELHOST_OPT_SIZE,
    RELHOST_OPT_DURATION,
    RELHOST_OPT_ENUM,
    RELHOST_OPT_STRLIST,
    RELHOST_OPT_SECRET_ENV,
    RELHOST_OPT_GROUP,
    RELHOST_OPT_GROUP_LIST,
    RELHOST_OPT_REF,
    RELHOST_OPT_REF_LIST,
    RELHOST_OPT_CHECKS,
    RELHOST_OPT_MAP
} relhost_opt_type;

/** What a REF / REF_LIST option names. */
typedef enum relhost_ref_kind {
    RELHOST_REF_RUNNER = 1,
    RELHOST_REF_METRICS = 2,
    RELHOST_REF_STEP = 3
} relhost_ref_kind;

/** Option flags. */
#define RELHOST_OPTF_TEMPLATE 0x1u /**< a STRING/STRLIST/MAP value whose {placeholders} expand */
/** a STRING/STRLIST path: relative ones resolve against the plan's folder */
#define RELHOST_OPTF_PATH 0x2u

/** A list of strings; v[n] is NULL. Owned by the host. */
typedef struct relhost_strlist {
    size_t n;
    const char *const *v;
} relhost_strlist;

/** A list of groups: n items of the row's item_size bytes each. Owned by the host. */
typedef struct relhost_list {
    size_t n;
    void *items;
} relhost_list;

/** Free keys to string values (e.g. a job's environment). Owned by the host. */
typedef struct relhost_map {
    size_t n;
    const char *const *keys;
    const char *const *values;
} relhost_map;

/** Comparison operators of an acceptance check. */
typedef enum relhost_op {
    RELHOST_OP_GE = 1, /**< >= */
    RELHOST_OP_GT,     /**< >  */
    RELHOST_OP_LE,     /**< <= */
    RELHOST_OP_LT,     /**< <  */
    RELHOST_OP_EQ,     /**< == */
    RELHOST_OP_NE,     /**< != */
    RELHOST_OP_RANGE   /**< expected <= actual <= expected_hi */
} relhost_op;

/**
 * Added in ABI 1.2: the op of a check with no threshold (a baseline rule only). A macro, not an
 * enumerator, so that a plugin's switch over relhost_op keeps compiling under -Wswitch; code
 * that does not know it treats it as an unknown operator.
 */
#define RELHOST_OP_NONE ((relhost_op)0)

/**
 * Which statistic of a repeated validation's samples a check uses (Added in ABI 1.2). With one
 * run every statistic is that run's value. MEDIAN of an even count is the mean of the middle two.
 */
typedef enum relhost_stat {
    RELHOST_STAT_MEDIAN = 0,
    RELHOST_STAT_MIN = 1,
    RELHOST_STAT_MAX = 2,
    RELHOST_STAT_MEAN = 3
} relhost_stat;

/** Which way a metric may not regress against its baseline (Added in ABI 1.2). */
typedef enum relhost_baseline_dir {
    RELHOST_BASELINE_NONE = 0,   /**< no baseline rule */
    RELHOST_BASELINE_HIGHER = 1, /**< higher is better (SPS): bound = baseline - allowed */
    RELHOST_BASELINE_LOWER = 2   /**< lower is better (latency): bound = baseline + allowed */
} relhost_baseline_dir;

/**
 * One acceptance check as the plan states it. Owned by the host.
 * A check holds a threshold (op, expected, expected_hi), a baseline rule (baseline, rel_tol,
 * abs_tol), or both; with both, the metric must satisfy both. The baseline is the value the
 * release registry recorded for "<validation>::<key>" at the last promotion; the allowed change
 * is max(rel_tol * |baseline|, abs_tol), the looser of the two tolerances (as Python's
 * math.isclose), because rel scales with large values and abs keeps a floor where rel shrinks to
 * nothing near zero. Read the 1.2 members with RELHOST_HAS(): a smaller struct_size means
 * MEDIAN and no baseline rule.
 */
typedef struct relhost_check_spec {
    size_t struct_size;
    const char *key; /**< metric name */
    relhost_op op;   /**< RELHOST_OP_NONE: no threshold (1.2) */
    double expected;
    double expected_hi; /**< RANGE only */
    const char *where;  /**< "file:line" of the check in the plan */
    /* Added in ABI 1.2 */
    relhost_stat stat; /**< statistic of a repeated validation's samples the check uses */
    relhost_baseline_dir baseline; /**< NONE: no baseline rule */
    /** baseline rule: allowed change as a fraction of |baseline| (0.2 = 20%); 0 when not given */
    double rel_tol;
    double abs_tol; /**< baseline rule: allowed change in the metric's unit; 0 when not given */
} relhost_check_spec;

/** The acceptance checks of an option of type CHECKS. Owned by the host. */
typedef struct relhost_checks {
    size_t n;
    size_t elem_size; /**< sizeof(relhost_check_spec) as the host built it */
    const relhost_check_spec *v;
} relhost_checks;

/**
 * One row of a plugin's option table. Declare as
 *   static const relhost_option foo_options[] = { {.name = "x", ...}, {0} };
 * The table ends with a row whose name is NULL. `def` is a default as it would be written in a
 * plan ("10m", "4", "true", "Active"); the host parses it exactly like a plan value.
 */
typedef struct relhost_option {
    const char *name;
    relhost_opt_type type;
    const char *def;
    int required;
    size_t offset;
    const char *doc;
    double min, max;            /**< bounds for INT/DOUBLE/SIZE/DURATION; both 0 = unbounded */
    const char *const *choices; /**< ENUM: NULL-terminated legal values */
    const struct relhost_option *sub; /**< GROUP / GROUP_LIST: the child table */
    size_t item_size;                 /**< GROUP_LIST: sizeof one item struct */
    relhost_ref_kind ref_kind;        /**< REF / REF_LIST */
    unsigned flags;                   /**< RELHOST_OPTF_* */
} relhost_option;

/* ---- Context --------------------------------------------------------------------------------- */

/** How a gate is being run. */
typedef enum relhost_mode {
    RELHOST_MODE_RUN = 1,   /**< do the work and wait for it */
    RELHOST_MODE_CHECK = 2, /**< --check: open() and describe() only; never run() */
    RELHOST_MODE_LAUNCH = 3 /**< relhost launch: submit jobs, record them, return without waiting.
                              *   A gate that submits no jobs does nothing and returns SKIPPED
                              *   with reason "launch". */
} relhost_mode;

/**
 * What the host tells a plugin about the current run. Read-only for plugins; valid for the call.
 * Every op receives the context of the step (or of the job, for metrics sources and runners): the
 * evidence services attach what they are given to that step or job.
 */
typedef struct relhost_ctx {
    size_t struct_size;
    relhost_mode mode;
    const char *version; /**< the release version, e.g. "2025.10.02-1200" */
    const char *commit;  /**< the candidate commit, or NULL when the plan names no repo */
    const char *step;    /**< the step name, or NULL outside a step */
    const char *profile; /**< --profile, or NULL */
    relhost_strlist profile_members; /**< validations the profile names; n == 0: no profile */
    relhost_strlist only;            /**< --only globs; n == 0: everything */
    int retry_failed;                /**< --retry-failed */
    int interactive;                 /**< a human may be asked (TTY, no --no-interactive) */
    int verbose;                     /**< -v count */
    const char *state_dir;           /**< absolute */
    const char *log_dir;             /**< absolute */
    const char *plan_dir;            /**< absolute folder of the top-level plan */
    void *host_private;              /**< the host's; plugins never touch it */
} relhost_ctx;

/* ---- Evidence ---------------------------------------------------------------------------------- */

/** A check result posted with host->check_add(). Strings are copied. */
typedef struct relhost_check {
    size_t struct_size;
    const char *key;
    const char *op; /**< ">=", "range", "exists", ... as shown to people */
    double expected;
    double expected_hi; /**< range only */
    int has_actual;     /**< 0: actual is null (metric missing or not finite) */
    double actual;
    int passed;
    const char *note; /**< NULL or a short explanation ("metric missing") */
} relhost_check;

/** Where a metric came from (provenance). Strings are copied. */
typedef struct relhost_metric_info {
    size_t struct_size;
    const char *source;  /**< the metrics source's plan name, filled by the host when NULL */
    const char *pattern; /**< regex, W&B key... */
    const char *reducer; /**< max, min, last, first, mean, count */
    uint64_t samples;    /**< how many values were reduced */
} relhost_metric_info;

/* ---- Processes --------------------------------------------------------------------------------- */

/**
 * A command to run. argv[0] is looked up in PATH; there is never a shell unless argv says so.
 * env entries are "NAME=VALUE" added to (or replacing in) relhost's environment, or "NAME"
 * alone, which removes NAME; with clear_env the child gets only env plus PATH and HOME.
 */
typedef struct relhost_proc_spec {
    size_t struct_size;
    const char *const *argv; /**< NULL-terminated */
    const char *const *env;  /**< NULL-terminated, or NULL */
    const char *cwd;         /**< NULL: relhost's */
    double timeout_s;        /**< 0: none. At the deadline: SIGTERM to the group, grace, SIGKILL */
    double grace_s;          /**< 0: 5 seconds */
    size_t capture_max;      /**< run: bytes of stdout and of stderr kept; 0: 1 MiB */
    const char *log_path;    /**< spawn: stdout+stderr appended here; run: ignored */
    const char *stdin_data;  /**< run: bytes written to the child's stdin, or NULL (/dev/null) */
    int clear_env;
} relhost_proc_spec;

/** How a process ended. */
typedef struct relhost_proc_result {
    size_t struct_size;
    int exited; /**< 1: exit_code is valid */
    int exit_code;
    int signal;      /**< killed by this signal, or 0 */
    int timed_out;   /**< killed at the deadline (exit_code is then 124) */
    int exec_failed; /**< could not start (exit_code 127 not found, 126 not executable) */
    char *out;       /**< run: captured stdout, NUL-terminated, host-allocated */
    size_t out_len;
    char *err; /**< run: captured stderr, NUL-terminated, host-allocated */
    size_t err_len;
    int truncated; /**< output was longer than capture_max */
    double duration_s;
} relhost_proc_result;

/** A spawned long-running process (opaque; owned by the host until proc_release). */
typedef struct relhost_proc relhost_proc;

/* ---- Jobs -------------------------------------------------------------------------------------- */

/** What a runner is asked to start. All strings are already template-expanded. */
typedef struct relhost_job_spec {
    size_t struct_size;
    const char *key;         /**< idempotency key rh-<version>-<validation>-a<attempt> */
    const char *validation;  /**< validation name */
    const char *const *argv; /**< NULL-terminated */
    const char *const *env;  /**< NULL-terminated "NAME=VALUE", incl. RELHOST_* and pass_env */
    const char *cwd;         /**< NULL: the plan's folder */
    double timeout_s;        /**< 0: none */
    const char *log_path;    /**< the one log file of this attempt; runners write or mirror it */
    int nodes;               /**< 0: runner default */
    int gpus;                /**< per node; 0: none or runner default */
    relhost_map runner_args; /**< per-validation runner settings (partition, accelerators...) */
} relhost_job_spec;

/** A job's lifecycle as a runner sees it. */
typedef enum relhost_job_state {
    RELHOST_JOB_SUBMITTING = 1, /**< submit returned EINPROGRESS; external_id not known yet */
    RELHOST_JOB_PENDING,
    RELHOST_JOB_RUNNING,
    RELHOST_JOB_ENDED, /**< see the end fields */
    RELHOST_JOB_LOST   /**< the engine no longer knows the job */
} relhost_job_state;

/** How a job ended on its engine, as far as the runner knows (fields ignored until ENDED). */
typedef enum relhost_job_end {
    RELHOST_END_EXITED = 1, /**< exit_code valid */
    RELHOST_END_SIGNALED,   /**< signal valid */
    RELHOST_END_TIMEOUT,    /**< engine's own time limit */
    RELHOST_END_CANCELLED,
    RELHOST_END_INFRA,      /**< NODE_FAIL, PREEMPTED, BOOT_FAIL, FAILED_NO_RESOURCE... retryable */
    RELHOST_END_EXEC_FAILED /**< the command could not be started (126/127): not retryable */
} relhost_job_end;

/**
 * One element of the array given to runner poll(). The host fills the inputs; the runner fills the
 * outputs of every element it has news of, and leaves the others untouched.
 */
typedef struct relhost_job_status {
    size_t struct_size;
    /* in */
    const char *key;         /**< idempotency key */
    const char *external_id; /**< NULL while SUBMITTING */
    void *runner_handle;     /**< what submit stored in *handle, or NULL after a host restart */
    /* out */
    relhost_job_state state;
    char new_external_id[257]; /**< SUBMITTING -> known: the runner writes the id here */
    relhost_job_end end;
    int exit_code;
    int signal;
    int restarts;
    char engine_state[64];   /**< the engine's own word: COMPLETED, NODE_FAIL, SUCCEEDED...
                              *   "SUBMIT_FAILED" with state ENDED for a SUBMITTING job: the
                              *   submission that submit() deferred (EINPROGRESS) was refused;
                              *   recorded as ERROR submit_failed (retryable when end is
                              *   RELHOST_END_INFRA), engine_reason saying why. An older host
                              *   records it as the end says (infra, exec_failed). */
    char engine_reason[128]; /**< free text from the engine, or "" */
} relhost_job_status;

/** A job as a gate submits it through host->job_submit(). */
typedef struct relhost_job_request {
    size_t struct_size;
    const char *validation;  /**< unique within the step */
    const char *runner;      /**< runner name from the plan's runners group */
    const char *const *argv; /**< templates allowed: {version} {commit} {validation} {attempt}... */
    const relhost_map *env;  /**< templates allowed; may be NULL */
    const relhost_strlist *pass_env; /**< names of relhost's environment variables handed over */
    const char *cwd;
    int shell; /**< argv is one string run by /bin/sh -c (plan said shell = true) */
    double timeout_s;
    int retries; /**< extra attempts after a retryable ERROR */
    int nodes, gpus;
    const relhost_map *runner_args;
    const relhost_strlist *metrics; /**< names of metrics sources fed this job's log */
    const relhost_checks *acceptance;
    const char *expect_termination; /**< NULL, or a termination reason that counts as success */
    const int *expect_exit;         /**< NULL, or n_expect_exit exit codes that count as success */
    size_t n_expect_exit;
    /* Added in ABI 1.1 */
    const relhost_map *vars; /**< extra template variables of this job (matrix keys
                                      *   such as nodes, condition), or NULL */
    /* Added in ABI 1.2 */
    int repeats; /**< run the job this many times (0 or 1: once; at most
                                      *   100). The host runs N jobs "<validation>.r<k>" (each
                                      *   with its own key, log, retries and state record,
                                      *   {repeat} = k in templates) within the runner's
                                      *   max_parallel, and the returned job is their aggregate:
                                      *   it finishes when all have, each metric keeps the N
                                      *   samples, and acceptance is judged once, on each
                                      *   check's statistic of them. */
} relhost_job_request;

/**
 * Added in ABI 1.3: the label a metrics source posts, with host->label_set(ctx,
 * RELHOST_LABEL_REFUSED "<key>", "<why>"), when the job's output held a value of metric <key>
 * that the source refused (not a number, out of the metric's range, a non-ASCII minus) and it
 * therefore posts no value for it (or not its last one). A check of <key> then ends
 * INCONCLUSIVE, reason "metric_refused", quoting why: the run printed a value nobody should
 * trust, which decides nothing either way (a missing metric, by contrast, is FAILED).
 */
#define RELHOST_LABEL_REFUSED "refused:"

/** The longest validation (job) name the host takes, in bytes, matrix cell and run suffix
 *  included: it names the job's key "rh-<version>-<name>-a<attempt>", its log file and its
 *  record. A longer name is refused (job_submit returns RELHOST_EINVAL), never cut. */
#define RELHOST_JOB_NAME_MAX 160

/*
 * Added in ABI 1.4: the reserved metric and label keys, which the host itself reads from a job's
 * evidence. A metrics source that posts one means exactly this by it; no other key is ever read
 * by the host (core names no plugin's keys).
 *  RELHOST_METRIC_EXIT_CODE        metric: the job's command's exit code, as the job's log tells it
 *  RELHOST_METRIC_RESTART_COUNT    metric: how often the job's process was restarted (never lowered)
 *  RELHOST_LABEL_TERMINATION_REASON label: why the job ended, as the job's engine or log says
 *  RELHOST_LABEL_RUN_URL           label: a web page of the job's run (an experiment tracker's run),
 *                                  linked by the reports; "https://..." only
 */
#define RELHOST_METRIC_EXIT_CODE "exit_code"
#define RELHOST_METRIC_RESTART_COUNT "restart_count"
#define RELHOST_LABEL_TERMINATION_REASON "termination_reason"
#define RELHOST_LABEL_RUN_URL "run_url"

/*
 * Added in ABI 1.4: the HTTP option group, the options every plugin that calls
 * host->http_request offers, spelled and bounded alike, written once. A plugin embeds a
 * relhost_http_options member in its conf and puts RELHOST_HTTP_OPTION_ROWS(conf type, member)
 * among its option rows; the rows are ordinary top-level keys of the plugin's step or source (a
 * plan writes `timeout = "30s"`, not a nested group), so adding the group changes no plan. The
 * values go to relhost_http_request: timeout -> timeout_s, retry_budget -> budget_s.
 *   timeout       DURATION, default 30s (0.1s..1h): time one HTTP attempt may take
 *   retry_budget  DURATION, default 2m (0.1s..1d): time one request may take with the host's
 *                 retries and rate-limit waits (Retry-After, x-ratelimit-reset)
 * The host never sees relhost_http_options as a type: it fills the members through the rows'
 * offsets. Like relhost_strlist it is frozen (no struct_size): a later option comes as a new
 * group, never as a new member of this one. The rows are designated initialisers: C only (a C++
 * plugin writes the two rows out).
 */
typedef struct relhost_http_options {
    double timeout;      /**< seconds, per attempt */
    double retry_budget; /**< seconds, the whole request with retries and waits */
} relhost_http_options;

/** The option rows of relhost_http_options `member` inside the conf struct `conf_type`. */
#define RELHOST_HTTP_OPTION_ROWS(conf_type, member)                                      \
    {.name = "timeout",                                                                  \
     .type = RELHOST_OPT_DURATION,                                                       \
     .def = "30s",                                                                       \
     .offset = offsetof(conf_type, member.timeout),                                      \
     .doc = "time one HTTP attempt may take",                                            \
     .min = 0.1,                                                                         \
     .max = 3600},                                                                       \
    {                                                                                    \
        .name = "retry_budget", .type = RELHOST_OPT_DURATION, .def = "2m",               \
        .offset = offsetof(conf_type, member.retry_budget),                              \
        .doc = "time one request may take with the host's retries and rate-limit waits " \
               "(Retry-After, x-ratelimit-reset)",                                       \
        .min = 0.1, .max = 86400                                                         \
    }

/** A job handle (opaque, owned by the host for the whole run). */
typedef struct relhost_job relhost_job;

/** A job's result, filled by host->job_result(). Strings are the host's, valid for the run. */
typedef struct relhost_job_result {
    size_t struct_size;
    int finished; /**< 0: still running, or launched and not waited for */
    relhost_outcome outcome;
    const char *reason;
    int retryable;
    int exit_code;                  /**< -1 when unknown */
    const char *termination_reason; /**< NULL when unknown */
    int restarts;
    int attempts;
    double duration_s;
    const char *log_path;
    const char *external_id;
    int resumed; /**< the result came from the state of an earlier run */
} relhost_job_result;

/* ---- HTTP -------------------------------------------------------------------------------------- */

/** An HTTP request. Secrets are never put into headers or URLs by a plugin: name them by env var. */
typedef struct relhost_http_request {
    size_t struct_size;
    const char *method; /**< "GET", "POST"... */
    const char *url;
    const char *const *headers; /**< NULL-terminated "Name: value" */
    const char *body;
    size_t body_len;
    const char *bearer_env;   /**< env var holding a bearer token, or NULL */
    const char *basic_user;   /**< with basic_env: HTTP basic auth user */
    const char *basic_env;    /**< env var holding the basic-auth password, or NULL */
    double connect_timeout_s; /**< 0: 10 */
    double timeout_s;         /**< 0: 60, per attempt */
    int max_attempts;         /**< 0: 4 */
    double budget_s;          /**< 0: 300, the whole call including waits */
    size_t max_response;      /**< 0: 16 MiB */
    /* Added in ABI 1.4 */
    /** 1: a request with a side effect that must not happen twice (a webhook POST). It is sent
     *  again only when the failure proves the server never received it (no connection, a name
     *  that does not resolve yet, 429); a lost reply, a timeout or a 5xx is returned as is. */
    int at_most_once;
} relhost_http_request;

/** An HTTP response, host-allocated; release with host->http_response_free(). */
typedef struct relhost_http_response {
    size_t struct_size;
    long status;
    char *body; /**< NUL-terminated */
    size_t body_len;
    const char *const *headers; /**< NULL-terminated "name: value", names lower-cased */
    int attempts;
} relhost_http_response;

/* ---- The host services table ----------------------------------------------------------------- */

/**
 * Services the host offers. Append-only: new entries go at the end, marked with the ABI minor that
 * added them. A service this host lacks is NULL, or answers RELHOST_ENOTSUP with a message.
 * Every function takes the ctx the op received; evidence goes to that ctx's step or job.
 */
typedef struct relhost_host {
    size_t struct_size;
    unsigned abi_major, abi_minor;

    /* -- ABI 1.0: diagnostics -- */
    /** Log a line, prefixed with plugin and step; secrets are redacted. */
    void (*log)(const relhost_ctx *ctx, relhost_level level, const char *fmt, ...)
        RELHOST_PRINTF(3, 4);
    /** Explain why the current op fails (what, on which input, what to do). Last call wins. */
    void (*fail)(const relhost_ctx *ctx, const char *fmt, ...) RELHOST_PRINTF(2, 3);
    /** "file:line" of the plan setting stored at conf_field (an address inside a conf the host
     *  filled), or "the plan" when unknown. Borrowed: valid until the instance is closed. */
    const char *(*where)(const relhost_ctx *ctx, const void *conf_field);

    /* -- ABI 1.0: secrets -- */
    /** Value of the environment variable `name`, registered for redaction in all output; NULL
     *  when unset or empty. Borrowed: valid for the run. Never log or format it. */
    const char *(*secret)(const relhost_ctx *ctx, const char *name);

    /* -- ABI 1.0: evidence -- */
    int (*check_add)(const relhost_ctx *ctx, const relhost_check *check);
    int (*metric_set)(const relhost_ctx *ctx, const char *key, double value,
                      const relhost_metric_info *info);
    int (*label_set)(const relhost_ctx *ctx, const char *key, const char *value);
    /** kind: "log", "json", "report", "url"...; sha256 may be NULL. */
    int (*artifact_add)(const relhost_ctx *ctx, const char *kind, const char *uri,
                        const char *sha256);
    int (*note_add)(const relhost_ctx *ctx, const char *fmt, ...) RELHOST_PRINTF(2, 3);

    /* -- ABI 1.0: checks (one implementation for every gate) -- */
    /** Evaluate checks against the metrics posted to ctx so far; posts each check; *out is
     *  PASSED when all pass, FAILED otherwise (reason "threshold" or "metric_missing").
     *  Baseline rules (1.2) look up "<step>::<key>" in the run's baseline store; with none
     *  they pass with the note "no baseline yet", or, when the plan sets require_baseline,
     *  make *out INCONCLUSIVE with reason "no_baseline" (unless another check FAILED). */
    int (*checks_eval)(const relhost_ctx *ctx, const relhost_checks *checks, relhost_verdict *out);

    /* -- ABI 1.0: processes -- */
    /** Run a short command to completion (git, sbatch, squeue). Fills *res; free with
     *  proc_result_free. Returns 0 when the command ran (whatever its exit code), RELHOST_EINTR
     *  when relhost is being interrupted. */
    int (*proc_run)(const relhost_ctx *ctx, const relhost_proc_spec *spec,
                    relhost_proc_result *res);
    /** Free what proc_run put into res (out, err). Safe on a zeroed result and after any return
     *  of proc_run, including errors and RELHOST_EINTR (partial output). */
    void (*proc_result_free)(relhost_proc_result *res);
    /** Start a long process writing into spec->log_path; *out is owned by the host. */
    int (*proc_spawn)(const relhost_ctx *ctx, const relhost_proc_spec *spec, relhost_proc **out);
    /** Non-blocking: *done = 1 and res filled once the process (and its group) has ended. */
    int (*proc_poll)(const relhost_ctx *ctx, relhost_proc *p, int *done, relhost_proc_result *res);
    /** SIGTERM to the process tree, grace, SIGKILL; returns once the tree is gone. */
    int (*proc_kill)(const relhost_ctx *ctx, relhost_proc *p);
    /** Forget a process that has ended (or kill it first). */
    void (*proc_release)(const relhost_ctx *ctx, relhost_proc *p);

    /* -- ABI 1.0: jobs (host-owned: runners, parallelism, deadlines, logs, metrics, state) -- */
    /** Queue a job; the host starts it when its runner has a free slot (max_parallel). When the
     *  release state already holds a finished result for the same spec, the job is not run again
     *  and its result says resumed. *out is the host's, valid for the run. */
    int (*job_submit)(const relhost_ctx *ctx, const relhost_job_request *req, relhost_job **out);
    /** Drive jobs until every one of jobs[] has a result (any = 0) or at least one has (any = 1;
     *  pass only unfinished jobs). In MODE_LAUNCH a job counts once it is submitted and
     *  recorded. Returns RELHOST_EINTR when relhost is being interrupted. */
    int (*job_wait)(const relhost_ctx *ctx, relhost_job *const *jobs, size_t n, int any);
    int (*job_result)(const relhost_ctx *ctx, const relhost_job *job, relhost_job_result *out);

    /* -- ABI 1.0: HTTP -- */
    int (*http_request)(const relhost_ctx *ctx, const relhost_http_request *req,
                        relhost_http_response **out);
    void (*http_response_free)(relhost_http_response *resp);

    /* -- ABI 1.0: interaction -- */
    /** Ask a yes/no question on the controlling terminal. RELHOST_ENOTSUP when not interactive;
     *  RELHOST_EINTR on SIGINT/SIGTERM. Serves signals and deadlines while it waits. */
    int (*prompt_yesno)(const relhost_ctx *ctx, const char *question, int *yes);

    /* -- ABI 1.0: templates -- */
    /** Expand {placeholders} of the run (version, commit, step...) plus vars (n pairs of
     *  name, value). *out is host-allocated: release with host->free(). */
    int (*expand)(const relhost_ctx *ctx, const char *tmpl, const char *const *vars, size_t n,
                  char **out);
    void (*free)(void *p);

    /* -- ABI 1.0: release registry (two-phase promotion) --
     * For the release of ctx (version, commit), in the plan's registry_dir. Each returns 0 when
     * done or done before (re-running is safe); RELHOST_EINVAL when the registry refuses (a
     * quarantined release, a staged artifact that changed, nothing matched): a verdict on the
     * release, explained in the step's failure message; any other negative code is a tool
     * error (registry unreadable or unwritable), also explained. NULL in hosts without one. */
    /** Copy the files or globs (relative to the candidate's checkout) into staged/<version>/. */
    int (*registry_stage)(const relhost_ctx *ctx, const relhost_strlist *artifacts);
    /** Re-check the staged sha256s, make the release last green, write the baseline. */
    int (*registry_promote)(const relhost_ctx *ctx);
    /** Mark the release never promotable; reason NULL: the first failing required step. */
    int (*registry_quarantine)(const relhost_ctx *ctx, const char *reason);

    /* -- Added in ABI 1.3: the requirement set and plan-time checks -- */
    /**
     * Declare, from a gate's open(), that job `validation` of this step (a validation name as
     * given to job_submit) must end PASSED or WAIVED before the step may pass. A gate declares
     * every job the release needs (for the workflow: the validations the profile selects, and
     * their dependencies), whatever --only narrows this run to. The host fixes the set at the
     * release's first run and stores it; from then on the step's outcome is computed from the
     * whole record of the release: a required job with no PASSED or WAIVED result makes the
     * step INCONCLUSIVE (reason "incomplete"), a FAILED one makes it FAILED, whichever run
     * produced it. validation is copied. 0, or RELHOST_EINVAL outside open().
     */
    int (*job_require)(const relhost_ctx *ctx, const char *validation);
    /**
     * Check, from a gate's open(), that the metrics sources named in `sources` (names under the
     * plan's metrics group) can post every key `acceptance` reads (each source declares its keys
     * with relhost_metrics_ops.keys), and, when the step is required, that every credential
     * those sources need (relhost_metrics_ops.credentials) is set. where_field is the conf field the
     * checks came from (for "file:line"). Returns 0, or RELHOST_EINVAL with the failure already
     * explained through fail() (file:line, the key, the keys that exist, "did you mean"): the
     * gate's open() then returns RELHOST_EINVAL itself.
     */
    int (*checks_verify)(const relhost_ctx *ctx, const relhost_strlist *sources,
                         const relhost_checks *acceptance, const void *where_field);

    /* -- Added in ABI 1.4: sealed secrets and delivery records -- */
    /** 1 when the environment variable `name` is sealed: no process relhost starts inherits it
     *  (a SECRET_ENV option's variable of any installed plugin, or a name that looks secret).
     *  A plugin that copies relhost's environment to somewhere else (a runner's export list)
     *  skips sealed names; a job's pass_env is the only way one is handed over. */
    int (*sealed)(const relhost_ctx *ctx, const char *name);
    /** The record `key` this step stored for this release in an earlier run or this one (a
     *  webhook target already posted to), or NULL. Borrowed: valid until the next record_put
     *  or the end of the op. key and value: printable, no secret (they are stored as is). */
    const char *(*record_get)(const relhost_ctx *ctx, const char *key);
    /** Store `value` under `key` for this step of this release, durably (journaled) before it
     *  returns 0; a negative RELHOST_E* when the state cannot be written (then treat the side
     *  effect as unrecorded and fail the step). */
    int (*record_put)(const relhost_ctx *ctx, const char *key, const char *value);
    /* -- Added in ABI 1.4: error messages -- */
    /** A short message for a RELHOST_E* code ("timed out", "out of memory"), for a plugin's
     *  fail() text, e.g. "could not run git: %s". Any int is accepted: 0 reads "success", a
     *  code this host does not know reads "unknown error". The string is a constant of the
     *  host: valid while the plugin is loaded, never freed. A plugin built for 1.4 that may run
     *  under a 1.3 host reads it with RELHOST_HAS(host, strerror). */
    const char *(*strerror)(int code);
} relhost_host;

/* ---- Capabilities -------------------------------------------------------------------------- */

/** A gate: one step of a release plan. */
typedef struct relhost_gate_ops {
    size_t struct_size;
    /** Validate conf and build an instance. Contacts nothing, writes nothing. */
    int (*open)(const relhost_ctx *ctx, const void *conf, void **inst);
    /** Optional: say what run() would do (notes via host->note_add), with no side effects. */
    int (*describe)(const relhost_ctx *ctx, void *inst);
    /** Do the step. Fills *out; a negative return is an ERROR explained by host->fail(). */
    int (*run)(const relhost_ctx *ctx, void *inst, relhost_verdict *out);
    void (*close)(void *inst);
} relhost_gate_ops;

/**
 * A metrics source. One instance per plan source; per job, job_open() creates the state that
 * feed() and collect() use. Sources keep nothing durable: after a restart the host re-feeds the
 * log from byte 0 into a fresh job state.
 */
typedef struct relhost_metrics_ops {
    size_t struct_size;
    int (*open)(const relhost_ctx *ctx, const void *conf, void **inst);
    int (*job_open)(const relhost_ctx *ctx, void *inst, const relhost_job_spec *spec, void **job);
    /** Bytes of the job's log, in order, cut anywhere (mid-line, mid-UTF-8). */
    int (*feed)(const relhost_ctx *ctx, void *job, const char *buf, size_t len);
    /** The job ended: post metrics and labels (host->metric_set, label_set). A negative return
     *  means the source failed (ERROR), not that a metric is missing. */
    int (*collect)(const relhost_ctx *ctx, void *job);
    void (*job_close)(void *job);
    void (*close)(void *inst);
    /* Added in ABI 1.3 */
    /** Optional: the metric keys (and labels) this source can post under configuration conf
     *  (the struct the host filled for open()), as fnmatch(3) patterns ("sps_max", "eval_*"):
     *  the source calls add(payload, key) once per key; the host copies each key. Called
     *  before any instance exists (--check opens no source). A source without keys() is taken
     *  to post any key. 0, or a negative RELHOST_E* (the host then checks no key of it). */
    int (*keys)(const void *conf, void (*add)(void *payload, const char *key), void *payload);
    /** Optional: the environment variables (names, never values) this source needs under conf
     *  to read a job's metrics, e.g. an API key's variable; add() as for keys(). The host checks
     *  them before any job of a required step starts, so a missing credential is said at once,
     *  never after hours of jobs. */
    int (*credentials)(const void *conf, void (*add)(void *payload, const char *env_name),
                       void *payload);
    /* Added in ABI 1.6 */
    /** Optional, for people watching only: the latest values read so far from a job that is
     *  still running (e.g. the last sps seen). The source calls show(payload, key, value) once
     *  per value, keys as keys() names them; the host copies what it keeps. The host draws them
     *  in the live progress table and NOWHERE else: they are never a metric of the job, never
     *  checked, reported or stored; collect() alone posts what is judged. Called between feed()
     *  calls (never inside one, never after collect()), at most a few times a second per job;
     *  it gets no ctx: it must not call the host's services, and must not change what collect()
     *  will post. 0, or a negative RELHOST_E* (nothing is shown). */
    int (*peek)(void *job, void (*show)(void *payload, const char *key, double value),
                void *payload);
} relhost_metrics_ops;

/** A runner: where jobs execute (local processes, Slurm, SkyPilot). */
typedef struct relhost_runner_ops {
    size_t struct_size;
    int (*open)(const relhost_ctx *ctx, const void *conf, void **inst);
    /** Start a job. Writes its external id (<= 256 bytes, NUL-terminated) into id; may store a
     *  private handle in *handle (given back in status.runner_handle). RELHOST_EINPROGRESS: the
     *  id comes in a later poll (status.new_external_id). RELHOST_ERETRY: try again later. */
    int (*submit)(const relhost_ctx *ctx, void *inst, const relhost_job_spec *spec, char id[257],
                  void **handle);
    /** Refresh ALL given jobs in one call (one squeue, not one per job). elem_size is
     *  sizeof(relhost_job_status) as the host built it. *next_poll_s: seconds until the next
     *  useful poll. */
    int (*poll)(const relhost_ctx *ctx, void *inst, relhost_job_status *jobs, size_t n,
                size_t elem_size, double *next_poll_s);
    /** Find a job by idempotency key (resume after a crash): 0 and id, or RELHOST_ENOTFOUND. */
    int (*find)(const relhost_ctx *ctx, void *inst, const char *key, char id[257]);
    /** Copy log bytes from `offset` into buf (up to cap); *got = 0 at the current end. Optional
     *  when the runner writes spec->log_path itself. */
    int (*read_log)(const relhost_ctx *ctx, void *inst, const char *external_id, void *handle,
                    uint64_t offset, char *buf, size_t cap, size_t *got);
    /** Cancel a job; a job already ended or unknown counts as cancelled (return 0). */
    int (*cancel)(const relhost_ctx *ctx, void *inst, const char *external_id, void *handle);
    /** Forget a handle from submit() once the host no longer needs the job. */
    void (*release)(void *inst, void *handle);
    void (*close)(void *inst);
    /** Added in ABI 1.5; optional (read it only when struct_size covers it). Cancel n jobs in
     *  as few engine calls as the engine allows (one scancel per cluster), in the order given:
     *  the host lists the jobs waiting to start first, so that none starts into resources the
     *  others free. 0 when every job is cancelled (ended or unknown ones count as cancelled). */
    int (*cancel_many)(const relhost_ctx *ctx, void *inst, const char *const *external_ids,
                       size_t n);
} relhost_runner_ops;

/* ---- The descriptor ---------------------------------------------------------------------------- */

/** Fills abi_major, abi_minor and struct_size of a relhost_plugin initialiser. */
#define RELHOST_PLUGIN_HEADER                                       \
    .abi_major = RELHOST_ABI_MAJOR, .abi_minor = RELHOST_ABI_MINOR, \
    .struct_size = sizeof(relhost_plugin)

/**
 * What a plugin is. A static const object inside the plugin; the host reads it, never writes it.
 * conf_size is sizeof the plugin's conf struct (0 when it has no options); options describe it.
 * The same conf and option table serve every capability the plugin offers.
 */
typedef struct relhost_plugin {
    unsigned abi_major;
    unsigned abi_minor;
    size_t struct_size;
    const char *name; /**< [a-z0-9_]+, unique on the plugin path */
    const char *version;
    const char *description; /**< one line */
    const relhost_option *options;
    size_t option_size; /**< sizeof(relhost_option) as the plugin was built */
    size_t conf_size;
    const relhost_gate_ops *gate;       /**< NULL: not a gate */
    const relhost_metrics_ops *metrics; /**< NULL: not a metrics source */
    const relhost_runner_ops *runner;   /**< NULL: not a runner */
} relhost_plugin;

/**
 * The entry point, exported as RELHOST_ENTRY_SYMBOL:
 *   RELHOST_EXPORT int relhost_plugin_entry(const relhost_host *host, const relhost_plugin **out);
 * host: the services table, valid for as long as the plugin is loaded (keep the pointer).
 * out: set to the plugin's static descriptor. Return 0, or a negative RELHOST_E* to refuse loading.
 */
typedef int (*relhost_plugin_entry_fn)(const relhost_host *host, const relhost_plugin **out);

RELHOST_EXPORT int relhost_plugin_entry(const relhost_host *host, const relhost_plugin **out);

#ifdef __cplusplus
}
#endif

#endif /* RELHOST_PLUGIN_H */
