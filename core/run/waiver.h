/* SPDX-License-Identifier: MIT */
/*
 * waiver.h - waivers: a person's decision that a failed step (or one failed validation of it)
 * counts as passing for promotion. `relhost waive` records {step, validation, reason, by, host,
 * at, expires} in the release state's "waivers" array and in the registry's audit log, also
 * before the release's first run (the state then holds only the waivers until that run). A waived
 * step is shown WAIVED with the waiver's reason; its original outcome, message and evidence stay
 * in the state ("waived_from") and in every report. An expired waiver waives nothing.
 */
#ifndef RELHOST_WAIVER_H
#define RELHOST_WAIVER_H

#include "plan/plan.h"

#include <jansson.h>

/** The unexpired waiver of step (and validation, NULL for the whole step) in a release state
 *  root, or NULL. Borrowed from root. */
const json_t *waiver_find(const json_t *root, const char *step, const char *validation,
                          double now);

/** The waiver that makes step count as passing, or NULL: a step-level waiver, or (for a step
 *  whose jobs failed) validation waivers covering every job of the step that did not pass. When
 *  several validation waivers cover it, the first is returned. */
const json_t *waiver_covering(const json_t *root, const char *step, double now);

/** `relhost waive`: validate, record in the state (under its lock) and audit. A release that
 *  never ran gets a state holding only the waiver (no run, no candidate): its first run finds
 *  the waiver where it reads the others. Returns the exit code: 0, or 2 with the reason on
 *  stderr (unknown step, a validation the step's jobs do not have, an expiry in the past, a
 *  release that is running or quarantined in the registry, an unreadable registry). */
int waiver_add(const plan *p, const char *step, const char *validation, const char *reason,
               const char *expires);

#endif
