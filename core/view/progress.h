/* SPDX-License-Identifier: MIT */
/*
 * progress.h - what a running step shows while its jobs run (the console's live view).
 *
 * On a terminal (stdout is a TTY and TERM is not "dumb"): a table below the output, redrawn at
 * most 4 times a second, with the step's jobs counted by state and each running job with its
 * elapsed time and latest metric values; it is erased before any log line is written and when
 * the step ends, so what stays on the screen is the step's report. Elsewhere (CI logs): one line
 * per job end, and a progress line every `progress_interval` seconds (plan key; 0: none).
 * With -q nothing of it is printed (out_printf is quiet).
 */
#ifndef RELHOST_PROGRESS_H
#define RELHOST_PROGRESS_H

#include "run/jobs.h"

typedef struct progress progress;

/** Start showing the jobs of `step` (a step that submits none shows nothing). j may be NULL. */
progress *progress_start(jobs *j, const char *step, double interval_s);
/** Erase the live table (on a terminal), stop the timer, free. NULL: nothing. */
void progress_stop(progress *pg);

#endif
