/* SPDX-License-Identifier: MIT */
/*
 * batch.h - `relhost status` and `relhost kill`: the seed's check and kill commands over the
 * jobs of one release, on any plan, without knowing which gate submitted them. Both read the
 * release state without taking its lock, so they work while a `relhost -c` waits on the jobs.
 */
#ifndef RELHOST_BATCH_H
#define RELHOST_BATCH_H

#include "plan.h"

typedef struct batch_options {
    const char *const *only; /* validation globs, NULL-terminated, or NULL: all */
    int logs;                /* status: print each job's log tail */
    int tail;                /* lines of log tail (default 20) */
} batch_options;

/** Refresh (one poll per remote runner) and print the release's jobs. Exit code. */
int batch_status(plan *p, const batch_options *o);
/** Cancel the release's unfinished remote jobs. Exit code. */
int batch_kill(plan *p, const batch_options *o);

#endif
