/* SPDX-License-Identifier: MIT */
/*
 * waiver.h - waivers: a person's decision that a failed step (or one failed validation of it)
 * counts as passing for promotion. `relhost waive` records {step, validation, reason, by, host,
 * at, expires} in the release state's "waivers" array and in the registry's audit log, also
 * before the release's first run (the state then holds only the waivers until that run). A waived
 * step is shown WAIVED with the waiver's reason; its original outcome, message and evidence stay
 * in the state ("waived_from") and in every report. An expired waiver waives nothing. Which
 * waiver covers a step is the verdict rule's business: core/record/verdict.h verdict_waiver().
 */
#ifndef RELHOST_WAIVER_H
#define RELHOST_WAIVER_H

#include "plan/plan.h"

/** `relhost waive`: validate, record in the state (under its lock) and audit. A release that
 *  never ran gets a state holding only the waiver (no run, no candidate): its first run finds
 *  the waiver where it reads the others. Returns the exit code: 0, or 2 with the reason on
 *  stderr (unknown step, a validation the step's jobs do not have, an expiry in the past, a
 *  release that is running or quarantined in the registry, an unreadable registry). */
int waiver_add(const plan *p, const char *step, const char *validation, const char *reason,
               const char *expires);

#endif
