/* SPDX-License-Identifier: MIT */
/*
 * checks.h - the one evaluator of acceptance checks, for every gate. A missing metric fails with
 * the note "metric missing"; a non-finite value fails every operator (NaN != x is true in C, so
 * each operator is tested for finiteness first).
 */
#ifndef RELHOST_CHECKS_H
#define RELHOST_CHECKS_H

#include "evidence.h"

#include <relhost/plugin.h>

/** 1 when actual satisfies the spec (actual must be finite). */
int checks_compare(const relhost_check_spec *spec, double actual);

/**
 * Evaluate every check against ev's metrics, appending one ev_check each. *out: PASSED when all
 * pass; else FAILED with reason "metric_missing" when the only failures are missing metrics,
 * "threshold" otherwise.
 */
void checks_eval(evidence *ev, const relhost_checks *checks, relhost_verdict *out);

#endif
