/* SPDX-License-Identifier: MIT */
/*
 * report_files.h - the release reports written to files: JUnit XML (CI test views), a versioned
 * JSON document (machines), Markdown (release notes, $GITHUB_STEP_SUMMARY).
 *
 * Every report is a pure function of a release's state root (core/record/state.h), which
 * record_read() (record/record.h) turns into the typed records they render: same state, same
 * bytes. Nothing in the output comes from the clock, the environment or hash order: the only
 * times are those the state holds, objects are walked in sorted key order, and numbers are
 * printed by one formatter (view/text.h). Two inputs besides the state are read, and both are named by it:
 * the job logs at their "log_path" (JUnit's <system-out> tails; a relative path is read from the
 * current folder), and, for Markdown with a repo, `git` for the commits since the previous tag.
 *
 * Ordering (documented in docs/report.schema.json too): the state's "steps" object is keyed by
 * name. A step record that carries "position" (its index in the plan) is ordered by it, ahead
 * of records without one; the others by "started_at" (ISO 8601 UTC strings sort as times; they
 * have one-second resolution, so steps started in the same second fall back to name order),
 * then by name; a step that never started (e.g. skipped because an earlier required step
 * failed) comes after every started one. Jobs follow their step's place in that order (jobs of a
 * step the state has no record of come last, by step name), then validation name.
 *
 * Decision (release.decision), from "finished" and "exit_code": no exit code recorded ->
 * in_progress (a run is going on, a launch is waiting, or a run was killed before it recorded
 * one); finished with exit 0 passed, 1 failed, 4 frozen, any other undecided; unfinished with
 * exit 75 deferred, 130 interrupted, any other in_progress.
 *
 * Secrets: the state holds none, but every string taken from it or from a log passes through
 * the redactor (core/base/secrets.h) before it is escaped, so a value registered by the run that
 * produced the state is masked in reports written right after it.
 *
 * Errors: 0, or a negative RELHOST_E* with error_last() set and, when err is not NULL, *err a
 * heap copy of the message (the caller frees it): RELHOST_EINVAL when state_root is not a JSON
 * object, RELHOST_EIO when writing to out failed. A missing or unreadable log, or git failing, is
 * not an error: the report says so where the tail or the commits would be.
 */
#ifndef RELHOST_REPORT_FILES_H
#define RELHOST_REPORT_FILES_H

#include "base/util.h"

#include <jansson.h>
#include <stdio.h>

/** The "report_schema" number report_json() writes (docs/report.schema.json). A change to the
 *  document's shape is a new number and a new golden file (tests/reports/golden.json).
 *  2: checks gained stat, direction, rel, abs and bound; metrics repeats; jobs repeats,
 *  repeat_of and repeat (baseline rules and repeated validations). */
#define REPORT_SCHEMA 2

/** Lines and bytes of a job log's end shown in a JUnit <system-out>. */
#define REPORT_TAIL_LINES 50
#define REPORT_TAIL_BYTES (16 * 1024)

/** Commits listed by report_md() before "and N more". */
#define REPORT_MD_COMMITS 50

/**
 * JUnit XML as Jenkins' junit plugin and GitLab read it, valid against both the xunit plugin's
 * junit-10.xsd and the Ant-style JUnit.xsd (tests/fixtures/junit/): <testsuites> holding one
 * <testsuite> per step, named "NN-step" (NN its position, zero-padded, so sorting keeps step
 * order); in it one <testcase> per validation job (name = validation, classname = "NN-step") and
 * one per check (name "validation: key op expected", classname "NN-step.validation"). FAILED
 * renders as <failure>, ERROR as <error>, SKIPPED, INCONCLUSIVE and unfinished jobs as <skipped>,
 * and so do FAILED and ERROR in an optional step (the message says it does not block); the
 * suite's one <system-out> holds a block per case, a job's with the last REPORT_TAIL_LINES lines
 * (at most REPORT_TAIL_BYTES) of its log. A step without jobs is one testcase; a step with jobs
 * gets one more testcase of its own only when it did not pass although none of its jobs'
 * testcases failed, so that a red step never shows as a green suite. Text is escaped, bytes XML 1.0 forbids are replaced by U+FFFD, terminal
 * escape sequences are removed. state_root is borrowed; out receives the whole document.
 */
int report_junit(json_t *state_root, FILE *out, char **err);

/**
 * The JSON report: {"report_schema": REPORT_SCHEMA, "release", "state", "summary", "steps",
 * "jobs"}, described member by member in docs/report.schema.json. Every member is always
 * present (null when the state lacks it or holds the wrong type), so consumers need no
 * existence checks. Indented by 2, UTF-8, one trailing newline.
 */
int report_json(json_t *state_root, FILE *out, char **err);

/**
 * Markdown release notes / CI step summary: version, decision, plan, commit; a table of steps;
 * a table of validations (outcome, time, exit, log path, W&B run); a table of every check (metric,
 * actual, expected, and a baseline column when any check carries one); notes. With repo not NULL
 * and a candidate commit in the state, the commits since the previous tag (`git describe --tags
 * --abbrev=0 COMMIT^`; the whole history when there is none), at most REPORT_MD_COMMITS then
 * "and N more", run through core/run/proc.c (so the event loop must be running: loop_init(),
 * proc_init()). repo is borrowed (the plan's repository folder).
 */
int report_md(json_t *state_root, const char *repo, FILE *out, char **err);

/* ---- for the command line ---------------------------------------------------------------- */

typedef enum report_format { REPORT_NONE = 0, REPORT_JUNIT, REPORT_JSON, REPORT_MD } report_format;

/** "junit" / "json" / "md" (also "xml", "markdown"); REPORT_NONE when unknown. */
report_format report_format_parse(const char *name);

enum {
    /** Append to path instead of replacing it ($GITHUB_STEP_SUMMARY is appended to by every step
     *  of a GitHub Actions job). Without it the file is written to a temporary name beside path
     *  and renamed over it, so a CI reader never sees half a report. */
    REPORT_APPEND = 1 << 0,
};

/**
 * Render one report into path ("-" or NULL: stdout). The whole report is rendered in memory
 * first: on a rendering error nothing is written. repo is passed to report_md() and ignored by
 * the other formats. Returns 0 or a negative RELHOST_E* (error_last() and *err as above; the
 * message names path).
 */
int report_write(report_format fmt, json_t *state_root, const char *repo, const char *path,
                 int flags, char **err);

/* ---- the report model (report_json.c), also used by explain, status and the tests --------- */

/**
 * The report object report_json() prints (new reference), built from state_root with every
 * member present, typed and ordered as documented above. NULL (error_last() set) when
 * state_root is not an object.
 */
json_t *report_model(json_t *state_root);

/** The report model of a typed release record (new reference), masked already by
 *  text_redact_record() (view/text.h): what report_model() gives for the state it was read from. */
struct release_record;
json_t *report_model_of(const struct release_record *rec);
/** report_model_of() without what `relhost status --json` does not show (core/view/
 *  status_json.c): the steps' and jobs' evidence, and the jobs' argv, spec and acceptance
 *  hashes and repeat members; every other member as report_model_of() gives it. */
json_t *report_model_brief(const struct release_record *rec);

/** release.decision for a state root: "passed", "failed", ... (a static string). */
const char *report_decision(json_t *state_root);

/** "op expected" as reports show a check: ">= 30000", "in [0.5, 1]" (op "range"); a baseline
 *  rule as written, never its bound (a JUnit case name stays the same while the baseline moves):
 *  ">= baseline - 20%", "<= baseline + max(10%, 5)", ">= 30000 and >= baseline - 0.002"; a
 *  statistic other than the median is named: "... (min of the runs)". The check is one of the
 *  report model's (expected and expected_hi may be null: shown as "?"). */
void report_check_expected(json_t *check, strbuf *out);
/** text_check_failure() of a check of the report model (or of explain's failing_checks). */
int report_check_failure(json_t *check, strbuf *out);

#endif
