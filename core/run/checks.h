/* SPDX-License-Identifier: MIT */
/*
 * checks.h - the one evaluator of acceptance checks, for every gate. A missing metric fails with
 * the note "metric missing"; a non-finite value fails every operator (NaN != x is true in C, so
 * each operator is tested for finiteness first).
 *
 * A check holds a threshold, a baseline rule, or both (relhost_check_spec in relhost/plugin.h):
 *  - threshold: actual <op> expected;
 *  - baseline rule: with baseline b of "<validation>::<metric>" and allowed change
 *    a = max(rel * |b|, abs) (the looser tolerance), higher-is-better needs actual >= b - a and
 *    lower-is-better actual <= b + a. With no baseline the rule passes with the note "no
 *    baseline yet", unless require_baseline: then the check does not pass and, when nothing
 *    FAILED, the verdict is INCONCLUSIVE with reason "no_baseline".
 * For a repeated validation "actual" is the check's statistic (median by default) of the
 * repeats' values; a repeat without a finite value makes the check fail as missing.
 * The record each check leaves (evidence.h ev_check) carries actual, stat, and for a baseline
 * rule baseline and bound (null: no baseline yet), plus a note that says actual vs bound vs
 * baseline when it fails ("sps_max 24000 < bound 28000 (baseline 35000, -20%)").
 */
#ifndef RELHOST_CHECKS_H
#define RELHOST_CHECKS_H

#include "run/evidence.h"

#include <jansson.h>
#include <relhost/plugin.h>

/** 1 when actual satisfies the spec's threshold (actual must be finite; OP_NONE: any value). */
int checks_compare(const relhost_check_spec *spec, double actual);

/** The statistic of n values (n > 0, all finite): median (of an even count: the mean of the
 *  middle two), min, max or mean. NAN when n == 0. */
double checks_stat(relhost_stat stat, const double *v, size_t n);
/** "median", "min", "max", "mean". */
const char *checks_stat_name(relhost_stat stat);

/** What baseline rules need; every member may be NULL / 0. */
typedef struct checks_env {
    const json_t *baseline; /* the run's baseline store (run/baseline.h), borrowed; NULL: none */
    const char *validation; /* first half of the baseline key: the validation (or step) name */
    int require_baseline;   /* the plan's require_baseline */
    const char *baseline_error; /* the store could not be read (why): baseline rules cannot
                                 * pass and, when nothing FAILED, the verdict is ERROR
                                 * "baseline_unreadable" (fail closed) */
} checks_env;

/**
 * Evaluate every check against ev's metrics, appending one ev_check each. *out: PASSED when all
 * pass; FAILED with reason "threshold" when a threshold or bound failed, else "metric_missing"
 * when the failures are missing metrics; INCONCLUSIVE "no_baseline" when the only checks that
 * did not pass lack a required baseline. env may be NULL (no baseline store).
 */
void checks_eval_env(evidence *ev, const relhost_checks *checks, const checks_env *env,
                     relhost_verdict *out);

/** checks_eval_env() without a baseline store. */
void checks_eval(evidence *ev, const relhost_checks *checks, relhost_verdict *out);

/** A spec as this host knows it, from a spec built for any ABI minor (missing members zeroed:
 *  median, no baseline rule). */
void checks_spec_read(const relhost_check_spec *in, relhost_check_spec *out);

#endif
