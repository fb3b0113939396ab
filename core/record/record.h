/* SPDX-License-Identifier: MIT */
/*
 * record.h - a release as typed records: what the views (core/view/) render and what the run
 * side (core/run/) reads back. Outside core/record, record_read() and the single-item readers
 * below are the only readers of the release root and its steps, and core/record/record_write.h
 * the only writer; the verdict rule (core/record/verdict.c) reads requirements, jobs and waivers
 * itself. The job side (core/run/jobs*.c, repeats.c, batch.c, evidence.c, baseline.c) still
 * reads and writes the JOB records by name. The outcomes here are the recorded ones: the
 * pipeline records a step's outcome after the verdict rule (core/record/verdict.h) has worsened
 * it, so views need not call that rule.
 *
 * The state's schema (STATE_SCHEMA 1; core/record/state.h keeps "schema", "version" and "seq"):
 *
 *   root {
 *     "schema": int, "seq": int, "version": str,
 *     "plan_name": str, "plan": str (plan file), "plan_hash": str,
 *     "candidate": {"commit", "repo", "ref", "checkout": str},
 *     "created_at", "updated_at": ISO 8601 UTC str,
 *     "finished": bool, "exit_code": int (the run's exit code; null while one goes on),
 *     "published": bool, "quarantined": bool,
 *     "sealed_env": [str] (names of secrets no longer known: core/view/logview.h),
 *     "waivers": [{"step", "validation": str|null, "reason", "by", "host", "at": str,
 *                  "expires": str|null}] (core/run/waiver.c; an older hand edit: "who", "why"),
 *     "requirements": {"profile": str|null, "steps": {"<step>": ["<job>"]},
 *                      "required_steps", "publishing_steps": [str]} (core/record/verdict.h),
 *     "steps": { "<step>": STEP }, "jobs": { "<step>/<validation>": JOB }
 *   }
 *   STEP { "position": int (index in the plan), "plugin": str, "required", "publishes": bool,
 *          "outcome": OUTCOME, "reason": str, "retryable": bool, "message": str,
 *          "started_at", "ended_at": str, "duration_s": real, "defers": int,
 *          "waived_from": {"outcome": OUTCOME, "reason": str|null} (WAIVED: what the waiver
 *          answered), "in_flight": str (a publishing step's start while no run saw it end),
 *          "records": {"<key>": str} (delivery records, core/run/host_record.c; they outlive
 *          every run of the step), "plan_hash": str (the plan it was recorded under),
 *          "evidence": EVIDENCE }
 *   JOB  { "step", "validation", "runner": str, "lifecycle": "pending" | "submitting" |
 *          "running" | "completed", "attempt": int, "key", "external_id": str,
 *          "outcome": OUTCOME, "reason": str, "retryable": bool, "exit_code": int,
 *          "termination_reason": str, "restarts": int, "started_at", "ended_at": str,
 *          "duration_s": real, "log_path": str, "argv": [str], "spec_hash", "accept_hash": str,
 *          "repeats": int (an aggregate: how many runs), "repeat_of": str (a run: its
 *          aggregate's validation), "repeat": int (a run's number), "evidence": EVIDENCE }
 *   OUTCOME  "PASSED" | "FAILED" | "ERROR" | "INCONCLUSIVE" | "SKIPPED" | "WAIVED"
 *   EVIDENCE { "metrics": { "<key>": {"value": real, "source", "pattern", "reducer": str,
 *                                     "samples": int, "repeats": [real|null]} },
 *              "checks": [ {"key", "op": str, "expected", "expected_hi", "actual": real,
 *                           "stat": str, "direction": "higher"|"lower", "rel", "abs",
 *                           "baseline", "bound": real, "passed": bool, "note": str} ],
 *              "labels": { "<key>": str }, "artifacts": [ {"kind", "uri", "sha256": str} ],
 *              "notes": [str] }
 *
 * The state may come from an older relhost or a hand edit: a member that is missing or has the
 * wrong type reads as absent (NULL string, .set = 0), never as a crash. Strings are copied as the
 * state holds them (not redacted: a view masks what it prints). Every record here is owned by
 * the release_record it belongs to and freed by record_free().
 */
#ifndef RELHOST_RECORD_H
#define RELHOST_RECORD_H

#include <jansson.h>
#include <relhost/plugin.h>
#include <stddef.h>

/** An optional integer: set = 0 when the state lacks it or holds another type (an integral
 *  real, a hand-edited 3.0, counts as an integer). */
typedef struct record_int {
    int set;
    int from_real; /* set from an integral real, not a JSON integer */
    long long v;
} record_int;

/** An optional finite number: set = 0 when absent, not a number, or not finite. */
typedef struct record_real {
    int set;
    double v;
    int is_int; /* the state held a JSON integer (explain shows it as one) */
} record_real;

typedef enum record_lifecycle {
    RECORD_LIFE_UNKNOWN = 0, /* absent or a word this relhost does not know */
    RECORD_LIFE_PENDING,
    RECORD_LIFE_SUBMITTING,
    RECORD_LIFE_RUNNING,
    RECORD_LIFE_COMPLETED,
} record_lifecycle;

/** A metric of a step or job; repeats: one value per run of a repeated validation. */
typedef struct metric_record {
    char *key, *source, *pattern, *reducer;
    record_real value;
    size_t order;      /* its place in the state's object (the order the run posted it) */
    long long samples; /* 0 when absent, negative or not an integer */
    int has_repeats;   /* "repeats" is a non-empty array */
    size_t nrepeats;
    record_real *repeats; /* nrepeats values; .set = 0 for a run without one */
} metric_record;

/** One acceptance check, as core/run/checks.c recorded it. */
typedef struct check_record {
    char *key, *op, *stat, *direction, *note;
    record_real expected, expected_hi, actual, rel, abs, baseline, bound;
    int passed;
    int passed_known; /* "passed" is a JSON boolean (the status page shows "unknown" else) */
    unsigned present; /* RECORD_HAS_* of the members the state has, null included */
} check_record;

#define RECORD_HAS_BASELINE (1u << 0)
#define RECORD_HAS_BOUND (1u << 1)
#define RECORD_HAS_STAT (1u << 2)

typedef struct label_record {
    char *key, *value;
} label_record;

typedef struct artifact_record {
    char *kind, *uri, *sha256; /* uri is never NULL: artifacts without one are dropped */
} artifact_record;

/** Evidence: metrics and labels in sorted key order, checks, artifacts and notes in the state's. */
typedef struct evidence_record {
    size_t nmetrics, nchecks, nlabels, nartifacts, nnotes;
    metric_record *metrics;
    check_record *checks;
    label_record *labels;
    artifact_record *artifacts;
    char **notes;
} evidence_record;

typedef struct step_record {
    char *name;
    record_int position;
    char *plugin, *reason, *message, *started_at, *ended_at;
    /* outcome: RELHOST_NONE when not decided yet; an unknown word reads as RELHOST_ERROR (an
     * unknown value fails closed) with outcome_raw holding the word */
    relhost_outcome outcome;
    char *outcome_raw;
    int required, publishes, retryable;
    record_real duration_s;
    record_int defers;
    relhost_outcome waived_from; /* RELHOST_NONE unless a waiver answered an outcome */
    char *waived_from_reason;
    char *in_flight; /* a publishing step's start, while no run saw it end */
    char *plan_hash; /* the plan's hash when the step was recorded */
    size_t nrecords;
    label_record *records; /* delivery records (string values), sorted by key */
    evidence_record evidence;
} step_record;

typedef struct job_record {
    char *id, *step, *validation;     /* never NULL: an older record's id "<step>/<validation>"
                                     names the ones it lacks */
    int step_given, validation_given; /* the state held them as strings (not from the id) */
    char *runner, *key, *external_id, *reason, *termination_reason;
    char *lifecycle_raw; /* the word in the state, NULL when absent */
    record_lifecycle lifecycle;
    relhost_outcome outcome; /* as step_record's */
    char *outcome_raw;
    int retryable;
    record_int attempt, exit_code, restarts, repeats, repeat;
    char *repeat_of;
    char *started_at, *ended_at, *log_path, *spec_hash, *accept_hash;
    record_real duration_s;
    size_t nargv;
    char **argv;
    evidence_record evidence;
} job_record;

/** A waiver a person gave (core/run/waiver.c); who is "who", or "by" when there is no "who";
 *  by, host and at as the state holds them. */
typedef struct waiver_record {
    char *step, *validation, *who, *reason, *expires;
    char *by, *host, *at;
} waiver_record;

typedef struct candidate_record {
    char *commit, *repo, *ref, *checkout;
} candidate_record;

/**
 * A release. steps are in report order: a recorded plan position first (by it), then by
 * "started_at", then by name; a step that never started after every started one. jobs follow
 * their step's place in that order (jobs of a step without a record last, by step name), then
 * validation, then id.
 */
typedef struct release_record {
    char *version, *plan_name, *plan, *plan_hash, *created_at, *updated_at;
    int has_candidate; /* "candidate" is an object */
    candidate_record candidate;
    int finished, published, quarantined;
    record_int exit_code, schema, seq;
    /* the first step of requirements.required_steps whose record does not allow a pass (none,
     * no outcome, or an outcome whose exit code is not 0), NULL when each does: a state saying
     * "finished, exit 0" beside one is not passed (record_decision() says "undecided") */
    char *unmet_required;
    size_t nsteps, njobs, nsealed, nwaivers;
    step_record *steps;
    job_record *jobs;
    waiver_record *waivers; /* the state's order; entries that are not objects skipped */
    char **sealed_env;      /* names of secrets no longer known (core/view/logview.h) */
} release_record;

/**
 * Read the state root (borrowed for the call) into *out (zeroed first; free with record_free()).
 * Returns 0, or RELHOST_EINVAL with error_last() set when root is not a JSON object.
 */
int record_read(json_t *root, release_record *out);

/** A release's jobs in report order, to be read one at a time (a view of a big release never
 *  holds every job's record): each names its job's record in the root it was read from
 *  (borrowed: valid while that root does not change). */
typedef struct record_job_ref {
    const char *id; /* the job's key in root["jobs"], borrowed */
    /* as record_read() gives them, for the order: borrowed from the release's step and from
     * id when they are theirs (own_step, own_validation 0), else owned */
    const char *step, *validation;
    uint32_t rank; /* its step's place in the release's step order */
    unsigned char own_step, own_validation;
    json_t *v; /* root["jobs"][id], borrowed (packed or an object) */
} record_job_ref;

typedef struct record_jobs {
    size_t n;
    record_job_ref *refs;
} record_jobs;

/**
 * record_read() without the jobs' records: out->njobs is 0 and *jobs lists the jobs in the order
 * record_read() would have given them. Each job is read once on the way, handed to each (when
 * not NULL; it may change the record, e.g. mask it, but not its id, step or validation) and freed.
 * Read a job again with record_jobs_read(); free *jobs with record_jobs_free() before the root
 * changes. Returns as record_read() (*jobs empty on error).
 */
int record_read_lazy(json_t *root, release_record *out, record_jobs *jobs,
                     void (*each)(job_record *j, void *arg), void *arg);
/** The i-th job of jobs into *out (zeroed first; free with record_job_free()): 1, or 0 when its
 *  record can no longer be read (*out then names the job and holds nothing else). */
int record_jobs_read(const record_jobs *jobs, size_t i, job_record *out);
void record_jobs_free(record_jobs *jobs);

/** Free everything rec owns (not rec itself); rec may be NULL. */
void record_free(release_record *rec);

/** One EVIDENCE object (core/run/evidence.h evidence_to_json(), or a record's "evidence"), borrowed
 *  for the call, into *out (zeroed first; free with record_evidence_free()). */
void record_read_evidence(json_t *ev, evidence_record *out);
void record_evidence_free(evidence_record *ev);

/** One JOB object of the state (borrowed for the call), whose id is id, into *out (zeroed
 *  first; free with record_job_free()). */
void record_read_job(json_t *job, const char *id, job_record *out);
/** The JOB record id of the state root (borrowed for the call) into *out (zeroed first; free
 *  with record_job_free() when 1 is returned): 1 when the state has it (an object), else 0. */
int record_read_job_id(json_t *root, const char *id, job_record *out);
void record_job_free(job_record *j);

/** The release root only (no steps, no jobs): its scalars, candidate, sealed_env and waivers,
 *  for the run side. As record_read(); free with record_free(). */
int record_read_head(json_t *root, release_record *out);

/** The STEP record name of the state root (borrowed for the call) into *out (zeroed first; free
 *  with record_step_free()). 1 when the state has it (an object), else 0 (out->name still set). */
int record_read_step(json_t *root, const char *name, step_record *out);
void record_step_free(step_record *s);

/** The jobs of step (their "step" member names it) in the state's order, into *out (free each
 *  with record_job_free(), then the array). Returns how many; *out is never NULL. */
size_t record_read_step_jobs(json_t *root, const char *step, job_record **out);

/** A delivery record steps.<step>.records.<key> as a string, borrowed from root (valid until
 *  the state changes), or NULL. */
const char *record_step_delivery(json_t *root, const char *step, const char *key);

/** One waiver object (borrowed) into *out (zeroed first; free with record_waiver_free()). */
void record_read_waiver(json_t *w, waiver_record *out);
void record_waiver_free(waiver_record *w);

/** "pending", "submitting", "running", "completed"; NULL for RECORD_LIFE_UNKNOWN. */
const char *record_lifecycle_name(record_lifecycle l);

/** The step named name, or NULL. */
const step_record *record_step_find(const release_record *rec, const char *name);

/** release.decision: "passed", "failed", "frozen", "undecided", "deferred", "interrupted" or
 *  "in_progress" (a static string), from finished and exit_code, "undecided" for a
 *  finished exit 0 beside a required step without a passing record (core/view/report_files.h). */
const char *record_decision(const release_record *rec);

/** The part of a state root (borrowed; job records may be packed, state.h) a view of many
 *  releases reads, as a new root of the same shape that record_read() takes: "schema",
 *  "version", "seq", "finished", "exit_code", "requirements", the steps, and of each job its
 *  step, validation, its evidence's metric values and checks (core/record/record_prune.c). */
json_t *record_prune_for_view(json_t *root);

/** Outcome counts: [0] unused, [RELHOST_PASSED..RELHOST_WAIVED] by outcome, [7] without one. */
typedef struct record_counts {
    long long total;
    long long n[8];
} record_counts;

/** What a release record adds up to: its steps, its jobs (a run of a repeated validation counts
 *  once, through its aggregate), and the checks of steps and jobs alike. */
typedef struct record_summary {
    record_counts steps, jobs;
    long long checks_passed, checks_failed;
} record_summary;

void record_summarize(const release_record *rec, record_summary *out);
/** Add one job's counts to *sum (what record_summarize() does for each of rec->jobs). */
void record_summarize_job(const job_record *j, record_summary *sum);

/** The defers the release spent: the sum of its steps' positive integer "defers". */
long record_defers_spent(const release_record *rec);

/** A step's defers: its positive integer "defers", else 0. */
long record_step_defers(const step_record *s);

/** The value of baseline metric key "<validation>::<metric>" (or "<metric>": any job) in rec:
 *  the validation's jobs' evidence metrics first (jobs in id order), then their checks' actual,
 *  then a step named validation (a gate without jobs); 0 and *out set, or -1 when none has one. */
int record_metric_value(const release_record *rec, const char *key, double *out);

/** The spread of a repeated validation's metric over its runs: n runs, nvalues of them with a
 *  finite value, and min, median, max and mean of those (meaningful when nvalues > 0). */
typedef struct record_spread {
    size_t n, nvalues;
    double min, median, max, mean;
} record_spread;

/** 1 and *out filled when m has per-run values ("repeats"), else 0. */
int record_metric_spread(const metric_record *m, record_spread *out);

#endif
