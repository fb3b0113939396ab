/* SPDX-License-Identifier: MIT */
/*
 * verdict.h - one rule for every verdict (DESIGN "Decisions added 2026-12-06": verdict = a function
 * of the whole release record).
 *
 * A release's requirement set - the jobs each step needs PASSED or WAIVED, as its gates declare
 * them with host->job_require() from open() - is fixed at the release's first run, with the
 * profile that chose it, and stored in the state:
 *
 *   "requirements": { "profile": "quick" | null, "steps": { "<step>": ["<job>", ...] },
 *                     "required_steps", "publishing_steps": ["<step>", ...] }
 *
 * (written by core/record/record_write.h record_write_requirements()).
 *
 * Narrowing a run (--only, --step) changes what runs, never what is required. A step's outcome
 * is the worse of its gate's verdict in this run and what the record says of its required jobs
 * (every run of the release): one without a PASSED or WAIVED result makes the step INCONCLUSIVE
 * (reason "incomplete", naming what is missing), one that FAILED makes it FAILED. The pipeline
 * records that outcome, so every view (explain, status, reports, the status page) and the
 * publishing guard read the same answer.
 */
#ifndef RELHOST_VERDICT_H
#define RELHOST_VERDICT_H

#include "base/util.h"
#include "record/record.h"
#include "record/state.h"

#include <jansson.h>
#include <relhost/plugin.h>

/**
 * Before anything of the run touches the state: a release whose requirements were fixed under
 * another profile is refused (RELHOST_EINVAL, error_last() names --new). profile is this run's
 * (NULL: none). 0 when the release is new or the profile is the same.
 */
int verdict_check_profile(const json_t *root, const char *version, const char *profile);

/** 1 when step is required for the release: by the plan now, or by the set stored at an earlier
 *  run (a step once required stays required for the release). */
int verdict_step_required(const json_t *root, const char *step, int plan_required);
/** 1 when step publishes for the release: by the plan now, or as stored at an earlier run (a
 *  step once publishing stays guarded: dropping `publishes` never lets it run unqualified). */
int verdict_step_publishes(const json_t *root, const char *step, int plan_publishes);

/** The outcome of a step as the record stands: what its gate said, worsened by its required
 *  jobs. */
typedef struct step_verdict {
    relhost_outcome outcome;
    const char *reason; /* static string, or the gate's (borrowed) */
    char *message;      /* owned; NULL: keep the gate's message */
} step_verdict;

/**
 * Combine gate outcome oc (reason, for this run) with the record of the step's required jobs in
 * root at time now. A step with no stored requirements keeps its gate's verdict. Free
 * out->message.
 */
void verdict_step(const json_t *root, const char *step, relhost_outcome oc, const char *reason,
                  double now, step_verdict *out);

/**
 * Whether a waiver makes step count as passing at time now (an expired waiver waives nothing):
 * a waiver of the whole step, or validation waivers covering every job of the step that did not
 * pass (the first of them is the one). A step whose required jobs are not all done (a validation
 * that never ran) is covered only by a waiver of the whole step: waiving the failed validations
 * of a narrowed run never waives the ones it did not run. 1 and, when out is not NULL, the
 * waiver in *out (free with record_waiver_free()); else 0 (*out zeroed).
 */
int verdict_waiver(const json_t *root, const char *step, double now, waiver_record *out);

#endif
