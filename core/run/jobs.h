/* SPDX-License-Identifier: MIT */
/*
 * jobs.h - jobs are a host concept. A gate submits validation jobs through the host services;
 * this module owns everything after that: runner instances and their max_parallel, submission
 * with an idempotency key, batch polling, host deadlines (loop timers; the whole timeout path is
 * the comment "How a job times out" in jobs_timer.c), one log file per attempt, streaming the
 * log into metrics sources, mapping how a job ended to an outcome (one function), acceptance
 * checks, retries of retryable tool errors, persistence in the release state, resume after a
 * restart, and cancel on interrupt.
 */
#ifndef RELHOST_JOBS_H
#define RELHOST_JOBS_H

#include "plan/plan.h"
#include "run/evidence.h"

#include <relhost/plugin.h>

struct state;
typedef struct jobs jobs;
struct state;
struct job_entry;

/** Create the job layer of one run. st may be NULL (--check: nothing is submitted). */
jobs *jobs_new(plan *p, struct state *st, const relhost_ctx *base);
/** Folder jobs run in when a validation names no cwd (the candidate's worktree); NULL: the
 *  plan's folder. Copied. */
void jobs_set_workdir(jobs *j, const char *dir);
/** Close runner and metrics instances. Jobs still running on local runners are killed. */
void jobs_free(jobs *j);

/**
 * Read the baseline store (the plan's `baseline`, core/run/baseline.h) for this run's checks. Done
 * once per run: the pipeline calls it before any step runs, so that a corrupt or too new store
 * stops the run with exit 2 and nothing run; later calls (and checks, which load it lazily when
 * nobody did) get the same answer. 0, or RELHOST_EINVAL with error_last() explaining.
 */
int jobs_load_baseline(jobs *j);

/**
 * Evaluate checks for a step or job named `name` (the first half of its baseline keys) with the
 * run's baseline store and the plan's require_baseline: checks_eval_env() of core/run/checks.h.
 * j may be NULL (--check: no baseline store, baseline rules say "no baseline yet").
 */
void jobs_checks_eval(jobs *j, const char *name, evidence *ev, const relhost_checks *checks,
                      relhost_verdict *out);

/**
 * Queue a job (host->job_submit). With req->repeats = N > 1 the job is the aggregate of N runs
 * "<validation>.r1".."<validation>.rN" (core/run/repeats.c): each an ordinary job with its own key,
 * log, retries and state record ("<step>/<validation>.r<k>", with "repeat_of" and "repeat"),
 * {repeat} = k in its templates, scheduled within the runner's max_parallel; the aggregate
 * (state record "<step>/<validation>" with "repeats" and "runs") finishes when all have, keeps
 * each metric's N values, and is judged once by the acceptance checks on each check's statistic
 * of them. A repeat that FAILED (or hit an ERROR) makes the aggregate FAILED (ERROR) with that
 * repeat's reason. On resume each repeat resumes on its own; with --retry-failed an aggregate
 * that did not pass runs all its repeats again.
 */
int jobs_submit(jobs *j, const relhost_ctx *ctx, const relhost_job_request *req, relhost_job **out);
int jobs_wait(jobs *j, const relhost_ctx *ctx, relhost_job *const *v, size_t n, int any);
int jobs_result(jobs *j, const relhost_job *job, relhost_job_result *out);

/** The evidence (metrics, checks, labels, notes) of a job; borrowed. */
const evidence *jobs_evidence(const relhost_job *job);
/** The state keys ("<step>/<validation>") of the jobs submitted in this run for `step`, in
 *  submission order, appended to out. */
void jobs_ids(const jobs *j, const char *step, strvec *out);
/** jobs_ids(), and *resumed (a new array the caller frees, also returned; NULL: not wanted)
 *  says of each id appended whether it took its result from an earlier run: one walk of the
 *  jobs, where jobs_resumed() of each id would be one per id. */
int *jobs_ids_resumed(const jobs *j, const char *step, strvec *out, int **resumed);
/** 1 when the job with state key id took its result from an earlier run of this release. */
int jobs_resumed(const jobs *j, const char *id);
/**
 * Stop every local job an earlier relhost of this release left running when it died (records
 * still "running" or "submitting" on a runner without find(), whose recorded pid, start time
 * and cookie prove the process is that job): called at the start of every run, so that no job
 * outlives its host unseen, whatever this run selects. Records stay as they are; the attempt
 * runs again when the validation is next selected.
 */
void jobs_stop_orphans(jobs *j);
/**
 * Stop the local process job record e (of the release whose writable state st is) names, when
 * its recorded pid, start time and cookie prove it is that job's and it still runs: its group
 * and what escaped it (proc_stop_orphan), noting in the record that it was stopped. For a
 * caller that holds the release's lock, so no live relhost runs the job. Returns the pid
 * stopped, 0 when nothing of it runs (or the record names no process), -pid on an error
 * (error_last() says which).
 */
long long jobs_stop_orphan_of(struct state *st, const struct job_entry *e);
/** What the progress display shows of one job (core/run/jobs_progress.c); borrowed, valid until
 *  the loop runs again. */
#define JOBS_LIVE_MAX 3      /* running values a row holds */
#define JOBS_LIVE_KEY_MAX 40 /* bytes of a key kept, its NUL included (a cut one: head...tail) */
typedef struct jobs_row {
    const char *validation;
    const char *state; /* queued, submitting, running, done */
    double elapsed;    /* seconds since it started (to its end once done); 0: not started */
    const evidence *ev;
    relhost_outcome outcome; /* done: its outcome */
    const char *reason;
    int exit_code, attempt, resumed;
    /* A running job: the latest values its metrics sources read so far (their peek(), ABI
     * 1.6), the keys its checks read first. For display only: never evidence, never checked. */
    size_t nlive;
    struct {
        char key[JOBS_LIVE_KEY_MAX];
        double value;
    } live[JOBS_LIVE_MAX];
} jobs_row;
/** The jobs of `step` in this run by state (repeats counted one by one, not their aggregate). */
typedef struct jobs_count {
    size_t queued, running, passed, failed, other;
} jobs_count;
/** Count the jobs of step into *c and fill rows[0..max) with its running ones, oldest first;
 *  returns how many rows were filled. */
size_t jobs_progress(const jobs *j, const char *step, jobs_count *c, jobs_row *rows, size_t max);
/** cb(arg, step, row) at each job's end (not at an attempt that is retried); NULL: none. */
typedef void (*jobs_end_cb)(void *arg, const char *step, const jobs_row *r);
void jobs_on_end(jobs *j, jobs_end_cb cb, void *arg);

/** First interrupt: kill jobs that cannot outlive relhost, keep remote ones (re-attachable). */
void jobs_stop(jobs *j);
/** How many jobs were left running remotely by jobs_stop (for the `relhost kill` hint). */
size_t jobs_detached(const jobs *j);

/*
 * One runner of the plan opened outside a run, for `relhost status` and `relhost kill`
 * (core/run/batch.c): they ask about and cancel jobs the release's state records, and follow none.
 * core/run/jobs_runner.c; the runner is opened as a run opens it (jobs_runner_rt_open()).
 */
typedef struct jobs_runner jobs_runner;
/** Open runner `name` of p: NULL when p has no such runner (quiet) or it refused its
 *  configuration (logged, with the runner's reason). Close with jobs_runner_close(). */
jobs_runner *jobs_runner_open(plan *p, const char *name);
/** 1 when the runner's jobs outlive relhost and can be found again (its find op): only those
 *  can be asked about or cancelled from another relhost. */
int jobs_runner_remote(const jobs_runner *r);
/** One poll of n jobs (st[i].struct_size, key, external_id and state set by the caller); 0, or
 *  the poll op's failure. */
int jobs_runner_poll(jobs_runner *r, relhost_job_status *st, size_t n);
/** Cancel job external_id. 0; RELHOST_ENOTSUP when the runner has no cancel op; another
 *  RELHOST_E* with *why the runner's message (caller frees; may be NULL). */
int jobs_runner_cancel(jobs_runner *r, const char *external_id, char **why);
/** Cancel n jobs in one call of the runner's cancel_many (ABI 1.5), in the order given (jobs
 *  waiting to start first). RELHOST_ENOTSUP when the runner has no cancel_many (cancel one by
 *  one); else as jobs_runner_cancel. */
int jobs_runner_cancel_many(jobs_runner *r, const char *const *ids, size_t n, char **why);
/** Close the runner (NULL allowed). */
void jobs_runner_close(jobs_runner *r);

/**
 * The one mapping from how a job ended to an outcome (DESIGN "Outcomes"): exit 0 -> checks;
 * 124 or a deadline -> FAILED timeout; a signal -> FAILED; 126/127 -> ERROR not retryable;
 * infrastructure failures -> ERROR retryable; `expect` overrides; max_runtime_reached counts as
 * success. Exposed for unit tests.
 */
typedef struct job_end_facts {
    relhost_job_end end;
    int exit_code; /* valid with END_EXITED; -1 unknown */
    int signal;
    const char *termination_reason; /* from the runner or the log, may be NULL */
    const int *expect_exit;
    size_t n_expect_exit;
    const char *expect_termination;
    int host_cancelled; /* relhost itself stopped the job */
} job_end_facts;

typedef struct job_end_verdict {
    relhost_outcome outcome; /* NONE: stopped by the host, run again on resume */
    const char *reason;
    int retryable;
    int run_checks; /* the job succeeded: acceptance checks decide */
} job_end_verdict;

job_end_verdict jobs_map_end(const job_end_facts *f);

#endif
