/* SPDX-License-Identifier: MIT */
/*
 * pipeline.h - runs a plan's steps in order. Every gate is opened (its config validated) before
 * the first step runs, so a typo in the last step fails at start, not after an hour of training.
 * A required step that neither PASSED nor was WAIVED stops the pipeline: later steps are recorded
 * SKIPPED (upstream_failed); an optional one warns and the pipeline goes on.
 */
#ifndef RELHOST_PIPELINE_H
#define RELHOST_PIPELINE_H

#include "plan/plan.h"
#include "run/evidence.h"

typedef struct run_options {
    relhost_mode mode;
    const char *const *steps; /* --step names, NULL-terminated, or NULL: all */
    const char *const *rerun; /* --rerun names: run again though they PASSED, or NULL */
    const char *profile;
    const char *const *only; /* --only globs, NULL-terminated, or NULL */
    int retry_failed;
    int new_candidate; /* --new-candidate: requalify the release on a new commit */
    int new_release;   /* --new: a release of a version not generated that ran before is refused */
    int interactive;
    int verbose;
    /* Hooks: WHEN_ON_ROLLBACK runs only the plan's on_rollback steps (after `relhost rollback`);
     * WHEN_SUCCESS (0) runs the release, then on_promote when a promote step succeeded. */
    step_when hooks;
    /* `relhost monitor`: a run record of its own (under state_dir, see below) against the
     * last green release; publishing and on_failure steps are SKIPPED (reason monitor). */
    int monitor;
    const char *state_dir; /* where this run's state lives; NULL: the plan's state_dir */
    const char *record;    /* its name there; NULL: the version */
    /* Called once the run's end is recorded, before the verdict line is printed: writes the
     * reports asked for; nonzero when one was not written (a passing run then exits 3, and
     * its verdict line says why). NULL: none. */
    int (*write_reports)(void *arg);
    void *reports_arg;
} run_options;

typedef struct step_result {
    const plan_step *step;
    int selected; /* chosen by --step (or no --step given) */
    int ran;      /* run() was called */
    int unsaved;  /* its result could not be recorded (the state broke): shown, never counted */
    relhost_outcome outcome;
    int retryable;
    char *reason;
    char *message;               /* the plugin's fail() text or the host's explanation */
    double started, ended;       /* wall clock; 0 when not run */
    int defers;                  /* how often this release deferred on this step so far */
    relhost_outcome waived_from; /* WAIVED: the outcome the waiver answered, else NONE */
    char *waived_from_reason;
    evidence ev;
} step_result;

typedef struct run_result {
    step_result *steps;
    size_t nsteps;
    int exit_code;
    int interrupted;
    int not_saved;      /* the state could not be saved: the run stopped (exit 75) */
    int launch;         /* relhost launch: nothing was decided */
    int promoted;       /* a promote step made this release last green */
    int rollback_hooks; /* only the on_rollback steps ran: the release was rolled back */
    int reports_failed; /* the release passed, but a report asked for was not written */
    char *failure;      /* the first failing required step and its failing checks */
} run_result;

/** Run (or --check) the plan. Returns 0 or RELHOST_EINVAL when the plan cannot start (a gate's
 *  open() refused its config, an unknown --step or --profile, an unwritable state dir): then
 *  error_last() explains and nothing has run. */
int pipeline_run(plan *p, const run_options *o, run_result *out);
void run_result_free(run_result *r);

#endif
