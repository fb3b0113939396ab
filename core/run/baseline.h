/* SPDX-License-Identifier: MIT */
/*
 * baseline.h - the baseline store: what each metric of each validation measured in the last
 * promoted release, so that acceptance checks can say "may not drop more than 20% below it".
 *
 * The store is one schema-versioned JSON document (default <state_dir>/baseline.json, the plan's
 * `baseline` key):
 *
 *   {"schema": 1,
 *    "metrics": {"<validation>::<metric>": {
 *        "value": 35000.0, "samples": [34000.0, 35000.0, 36100.0], "stat": "median",
 *        "version": "2025.10.02", "commit": "9f3c...", "recorded_at": "2025-10-02T10:12:40Z"}}}
 *
 * "value" is the median of "samples" (the values of a repeated validation's runs; one sample
 * otherwise). A check whose stat is min, max or mean compares its statistic of this release's
 * samples with the same statistic of the baseline's samples (like with like); an entry without
 * samples compares with "value". Validation names are unique in a plan (their logs share one
 * folder), so "<validation>::<metric>" names one series; a step-level check uses its step name.
 *
 * Who does what: the host reads the store once per run (jobs_load_baseline(), before any step
 * runs) and core/run/checks.c looks entries up; the release registry's promotion computes the next
 * store with baseline_next() and writes baseline_dump() atomically (temp + fsync + rename + fsync
 * of the folder) as part of its commit. Nothing in this module writes a file.
 */
#ifndef RELHOST_BASELINE_H
#define RELHOST_BASELINE_H

#include <jansson.h>
#include <relhost/plugin.h>

/** The store's "schema" this relhost reads and writes. A newer one is refused, never rewritten. */
#define BASELINE_SCHEMA 1

/**
 * Read the store at path into *out (a new reference the caller releases with json_decref).
 * A missing file is a new, empty store ({"schema": 1, "metrics": {}}). An unreadable file, bad
 * JSON (an empty or truncated file included), a member of the wrong type, a non-finite value, or
 * a schema newer than BASELINE_SCHEMA is RELHOST_EINVAL (RELHOST_EIO when the file cannot be
 * read) with error_last() naming the path, what is wrong and what to do; the file is left as it
 * is and *out is NULL. Members this schema does not know are kept (a later minor may add some).
 */
int baseline_load(const char *path, json_t **out);

/**
 * The store after promoting a release: a NEW store (the caller owns it) holding everything of
 * cur (borrowed; NULL counts as empty) plus, for every validation job of state_root (the release
 * state: jobs{"<step>/<validation>": {validation, outcome, evidence{metrics{name: {value,
 * repeats?}}}}}) whose outcome is PASSED, one entry "<validation>::<metric>" per finite numeric
 * metric: value = the metric's value (the median of the repeats for a repeated validation, which
 * is what its checks use by default), samples = the finite values of the repeats (or [value]),
 * stat "median", version, commit (null when NULL), recorded_at = now_iso. An entry it writes
 * replaces the old one whole; entries of validations this release did not pass are kept as they
 * were.
 *
 * Only PASSED validations move the baseline: promotion means every REQUIRED step passed, but an
 * optional step's validation may have FAILED (or a failure may have been WAIVED), and recording
 * those metrics would silently lower the bar for the next release (a ratchet the wrong way).
 * The repeats of a repeated validation (records with "repeat_of") are not entries of their own:
 * their aggregate carries their samples.
 */
json_t *baseline_next(const json_t *cur, json_t *state_root, const char *version,
                      const char *commit, const char *now_iso);

/** The store as UTF-8 JSON text for the file: keys sorted, indented by 2, one trailing newline,
 *  numbers that read back exactly. Heap string (free()); NULL only when store is not an object. */
char *baseline_dump(const json_t *store);

/**
 * The baseline a check compares with: the entry "<validation>::<metric>" of store (borrowed, may
 * be NULL), reduced by stat as explained above. 1 and *out set when there is one, 0 when not.
 */
int baseline_lookup(const json_t *store, const char *validation, const char *metric,
                    relhost_stat stat, double *out);

#endif
