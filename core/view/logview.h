/* SPDX-License-Identifier: MIT */
/*
 * logview.h - the gate every view of a job log's bytes passes (failure tails, status --logs,
 * JUnit <system-out>). Logs keep the raw bytes a job wrote and are masked when shown, with the
 * values the VIEWING process knows. A release run stores in its state (root "sealed_env") the
 * names of the sealed variables that held a maskable value when it ran; a viewer that lacks one
 * of them could not mask its value, so it withholds the log bytes instead (fail closed).
 */
#ifndef RELHOST_LOGVIEW_H
#define RELHOST_LOGVIEW_H

#include <jansson.h>

#include "base/util.h"

/** Record in the state's root "sealed_env" the names of the sealed variables set now with a
 *  maskable value, merged (union, sorted) with the names earlier runs stored. Names only. */
struct state;
void logview_record_sealed(struct state *st);

/**
 * Whether the bytes of a job log of a release may be shown now. names[0..n) are the names its
 * state stored in "sealed_env" (record/record.h: release_record.sealed_env), borrowed for the
 * call. NULL when every name is set in this process with a value of at least SECRETS_MIN_LEN
 * bytes (each is sealed and its value registered for masking on the way), else a heap string
 * (free it), one line without a trailing newline:
 * "[log withheld: NAME[, NAME...] was/were set when the job ran but ...]". Never a value.
 * No names (state of an older relhost, or no secret set then) passes.
 */
char *logview_withheld_names(const char *const *names, size_t n);

#endif
