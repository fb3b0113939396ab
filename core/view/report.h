/* SPDX-License-Identifier: MIT */
/* report.h - the console report: the only writer to stdout (redacted through log.h's out_*). */
#ifndef RELHOST_REPORT_H
#define RELHOST_REPORT_H

#include "record/record.h"
#include "run/pipeline.h"

#include <jansson.h>

void report_begin(const plan *p, const run_options *o);
void report_step(const plan *p, const step_result *r);
void report_end(const plan *p, const run_result *r);
/** The command line that report_end() prints after an interrupt as the way to resume: words
 *  (cli_resume_words(): main()'s, less --new and --rerun), quoted for a shell, then --release V
 *  unless names_release. */
void report_set_command(int argc, char **argv, int names_release);
/** The validation jobs `ids` of step r, from the release state (root["jobs"]): a table of outcome,
 *  duration, exit code, termination reason, restarts and checks (actual vs expected); for each
 *  one that did not pass, its log path and the last lines of its log. */
void report_jobs(const plan *p, const step_result *r, json_t *state_root, const strvec *ids,
                 const int *resumed);
/** --check: the plan as loaded (steps, plugins, options, what each step would do), printed as
 *  it is described: the head, then each step (its evidence may be freed once printed), then the
 *  tail. A big plan's notes are never all held at once. */
void report_check_head(const plan *p);
void report_check_step(const plan *p, size_t i, const step_result *r);
void report_check_tail(size_t faults); /* plugins that died in describe() */
/** One row of `relhost status`: the job's record, the engine's live word (or NULL), and with
 *  tail > 0 the last `tail` lines of its log, withheld when a secret variable the release's runs
 *  used (rel->sealed_env; rel may be NULL when tail is 0) is not set now (core/view/logview.h). */
/** The column headers over report_status_row()'s lines. */
void report_status_head(void);
void report_status_row(const release_record *rel, const job_record *j, const char *live,
                       int live_restarts, int tail);
/** `relhost plugins`: every plugin found on the search path. */
void report_plugins(const loader *ld);

#endif
