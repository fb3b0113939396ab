/* SPDX-License-Identifier: MIT */
/*
 * evidence.h - what a step or a job leaves behind: checks, metrics (with provenance), labels,
 * artifacts, notes. Filled through the host services, rendered by reports, saved in state.
 */
#ifndef RELHOST_EVIDENCE_H
#define RELHOST_EVIDENCE_H

#include "base/util.h"

#include <relhost/plugin.h>
#include <stdint.h>

typedef struct ev_metric {
    char *key;
    double value;
    int finite; /* 0: stored as null with a note (NaN fails every operator) */
    char *source, *pattern, *reducer;
    uint64_t samples;
    int priority; /* of its source, when sources compete for a key */
    double *runs; /* a repeated validation: the value of each repeat, NAN where it had none */
    size_t nruns; /* 0: not repeated */
} ev_metric;

typedef struct ev_check {
    char *key, *op, *note;
    double expected, expected_hi;
    int has_expected; /* 0: no threshold (a baseline rule only) */
    int has_actual;
    double actual;
    int passed;
    char *stat;      /* statistic of the repeats the check used ("median"...), or NULL */
    char *direction; /* baseline rule: "higher" or "lower"; NULL: the check has none */
    int has_baseline, has_bound; /* baseline rule: 0 = no baseline yet (null) */
    double baseline, bound;
    double rel, abs; /* baseline rule's tolerances as the plan gave them (0: not given) */
} ev_check;

typedef struct ev_label {
    char *key, *value;
} ev_label;

typedef struct ev_artifact {
    char *kind, *uri, *sha256;
} ev_artifact;

typedef struct evidence {
    /* 32-bit counts: a --check of a big plan keeps one of these per step */
    ev_metric *metrics;
    uint32_t nmetrics, capmetrics;
    ev_check *checks;
    uint32_t nchecks, capchecks;
    ev_label *labels;
    uint32_t nlabels, caplabels;
    ev_artifact *artifacts;
    uint32_t nartifacts, capartifacts;
    strvec notes;
} evidence;

/** Set (replace) a metric. A non-finite value is stored as null and noted. */
void evidence_metric(evidence *ev, const char *key, double value, const char *source,
                     const char *pattern, const char *reducer, uint64_t samples);
/** As evidence_metric(), without the note of a non-finite value: a metric read back from the
 *  state (core/record/record_evidence.h), noted when it was first set. */
void evidence_metric_reload(evidence *ev, const char *key, double value, const char *source,
                            const char *pattern, const char *reducer, uint64_t samples);
const ev_metric *evidence_find_metric(const evidence *ev, const char *key);
/** Attach the per-repeat values (n of them, NAN where a repeat had none) to metric key, which
 *  must exist; copied. */
void evidence_metric_runs(evidence *ev, const char *key, const double *runs, size_t n);
/** Append a check (copied); returns the record so that the checks evaluator can add what a
 *  plugin's relhost_check cannot say (baseline, bound, stat); valid until the next append. */
ev_check *evidence_check(evidence *ev, const relhost_check *c);
void evidence_label(evidence *ev, const char *key, const char *value);
const char *evidence_find_label(const evidence *ev, const char *key);
void evidence_artifact(evidence *ev, const char *kind, const char *uri, const char *sha256);
void evidence_note(evidence *ev, const char *note);
void evidence_free(evidence *ev);

#include <jansson.h>

/** record_evidence_to_json() (core/record/record_evidence.h, where the state's EVIDENCE is
 *  written), kept for core/run/pipeline.c and core/view/report_console.c until they call it. */
json_t *evidence_to_json(const evidence *ev);

#endif
