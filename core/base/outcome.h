/* SPDX-License-Identifier: MIT */
/* outcome.h - the one table of outcomes, reasons and exit codes (relhost(1) EXIT STATUS). */
#ifndef RELHOST_OUTCOME_H
#define RELHOST_OUTCOME_H

#include <relhost/plugin.h>

enum {
    EXIT_OK = 0,            /**< every required step passed (or was waived) */
    EXIT_FAILED = 1,        /**< a required step FAILED */
    EXIT_USAGE = 2,         /**< usage, plan, plugin, corrupt or locked state */
    EXIT_UNDECIDED = 3,     /**< a required step INCONCLUSIVE or non-retryable ERROR */
    EXIT_FROZEN = 4,        /**< gates green but publishing frozen */
    EXIT_DEFERRED = 75,     /**< a retryable ERROR: run again later (EX_TEMPFAIL) */
    EXIT_INTERRUPTED = 130, /**< SIGINT (128 + 2) */
    EXIT_TERMINATED = 143   /**< SIGTERM or SIGHUP (128 + 15) */
};

/** The exit code of a run stopped by signal sig: 130 for SIGINT, else 143 (SIGTERM; SIGHUP
 *  reads as SIGTERM). */
int exit_code_interrupted(int sig);

/** "PASSED"... ; unknown values (from a plugin) read as "ERROR". */
const char *outcome_name(relhost_outcome o);
/** Parse "passed"/"PASSED"; RELHOST_NONE when unknown. */
relhost_outcome outcome_parse(const char *s);
/** Clamp a plugin-supplied value: anything unknown is ERROR. */
relhost_outcome outcome_sanitize(relhost_outcome o);
/** Counts as passing for later steps and for promotion. */
int outcome_ok(relhost_outcome o);
/** Exit code contribution of a required step's outcome. */
int outcome_exit_code(relhost_outcome o, int retryable);
/** Combine exit codes of several required steps: the most severe wins. */
int exit_code_worst(int a, int b);

#endif
