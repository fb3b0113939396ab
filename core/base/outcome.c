/* SPDX-License-Identifier: MIT */
#include "base/outcome.h"

#include <signal.h>
#include <strings.h>

static const char *const names[] = {"NONE",         "PASSED",  "FAILED", "ERROR",
                                    "INCONCLUSIVE", "SKIPPED", "WAIVED"};

relhost_outcome outcome_sanitize(relhost_outcome o)
{
    return (o >= RELHOST_NONE && o <= RELHOST_WAIVED) ? o : RELHOST_ERROR;
}

const char *outcome_name(relhost_outcome o) { return names[outcome_sanitize(o)]; }

relhost_outcome outcome_parse(const char *s)
{
    for (int i = 1; i <= RELHOST_WAIVED; i++)
        if (strcasecmp(s, names[i]) == 0)
            return (relhost_outcome)i;
    return RELHOST_NONE;
}

int outcome_ok(relhost_outcome o) { return o == RELHOST_PASSED || o == RELHOST_WAIVED; }

int outcome_exit_code(relhost_outcome o, int retryable)
{
    switch (outcome_sanitize(o)) {
    case RELHOST_PASSED:
    case RELHOST_WAIVED: return EXIT_OK;
    case RELHOST_FAILED: return EXIT_FAILED;
    case RELHOST_ERROR: return retryable ? EXIT_DEFERRED : EXIT_UNDECIDED;
    case RELHOST_SKIPPED: return EXIT_OK;
    default: return EXIT_UNDECIDED;
    }
}

/* Severity: a verdict (1) outranks "could not decide" (3), which outranks a deferral (75):
 * a release with a known failure must say FAILED even if another step merely erred. */
static int rank(int code)
{
    switch (code) {
    case EXIT_OK: return 0;
    case EXIT_FROZEN: return 1;
    case EXIT_DEFERRED: return 2;
    case EXIT_UNDECIDED: return 3;
    case EXIT_FAILED: return 4;
    case EXIT_USAGE: return 5;
    case EXIT_INTERRUPTED: return 6;
    case EXIT_TERMINATED: return 6;
    default: return 3;
    }
}

int exit_code_worst(int a, int b) { return rank(a) >= rank(b) ? a : b; }

int exit_code_interrupted(int sig) { return sig == SIGINT ? EXIT_INTERRUPTED : EXIT_TERMINATED; }
