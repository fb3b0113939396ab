/* SPDX-License-Identifier: MIT */
/*
 * batch.h - `relhost status` and `relhost kill`: the seed's check and kill commands over the
 * jobs of one release, on any plan, without knowing which gate submitted them. Both read the
 * release state without taking its lock, so they work while a `relhost -c` waits on the jobs.
 */
#ifndef RELHOST_BATCH_H
#define RELHOST_BATCH_H

#include "plan/plan.h"

typedef struct batch_options {
    const char *const *only; /* validation globs, NULL-terminated, or NULL: all */
    int logs;                /* status: print each job's log tail */
    int tail;                /* lines of log tail (default 20) */
    int json;                /* status: the JSON object of docs/status.schema.json */
    int follow;              /* status: redraw every 2 s until the release ends */
} batch_options;

/** Refresh (one poll per remote runner) and print the release's jobs: a table, the JSON object
 *  (docs/status.schema.json), or with follow a table redrawn in place on a terminal (appended
 *  lines of what changed otherwise) until a run of the release records its end or SIGINT /
 *  SIGTERM arrives (through the event loop: loop_init() must have run). Exit code: 0, or 2
 *  when the state is missing or unreadable; with follow, the release's recorded exit code once
 *  its run ended (3 when the state holds no readable one). */
int batch_status(plan *p, const batch_options *o);
/** Cancel the release's unfinished remote jobs. Exit code. */
int batch_kill(plan *p, const batch_options *o);

#endif
