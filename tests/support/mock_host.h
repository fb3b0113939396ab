/* SPDX-License-Identifier: MIT */
/*
 * mock_host.h - a fake relhost_host services table for plugin unit tests.
 *
 * It records what a plugin hands the host (metrics with provenance, labels, notes, checks,
 * artifacts, log lines, fail() messages) so a test can assert on the evidence, error messages
 * included. Services a plugin test has no use for (processes, jobs, HTTP, registry...) are NULL,
 * as a host that lacks them would report. Each recording is copied, as the real host copies.
 *
 * Usage:
 *   mock_host m;
 *   mock_host_init(&m);
 *   plugin_entry(&m.host, &desc);              // m.host is the relhost_host table
 *   desc->metrics->open(&m.ctx, conf, &inst);  // m.ctx routes every service call back to m
 *   assert_true(mock_host_metric(&m, "sps_max") != NULL);
 *   mock_host_free(&m);
 *
 * One mock_host serves one test at a time; calls find their recorder through
 * ctx->host_private, so two mock_hosts can live side by side.
 */
#ifndef RELHOST_TESTS_MOCK_HOST_H
#define RELHOST_TESTS_MOCK_HOST_H

#include <relhost/plugin.h>
#include <stddef.h>
#include <stdint.h>

/** One metric_set() call. */
typedef struct mock_metric {
    char *key;
    double value;
    int has_info;
    char *source; /* NULL when the plugin left it NULL */
    char *pattern;
    char *reducer;
    uint64_t samples;
} mock_metric;

/** One label_set() call. */
typedef struct mock_label {
    char *key;
    char *value;
} mock_label;

/** One log() call. */
typedef struct mock_log {
    relhost_level level;
    char *msg;
} mock_log;

/** One check_add() call (strings copied). */
typedef struct mock_check {
    relhost_check check;
    char *key, *op, *note;
} mock_check;

/** One artifact_add() call. */
typedef struct mock_artifact {
    char *kind, *uri, *sha256;
} mock_artifact;

typedef struct mock_host {
    relhost_host host; /* hand &host to the plugin's entry */
    relhost_ctx ctx;   /* hand &ctx to every op; ctx.host_private points at this mock_host */

    mock_metric *metrics;
    size_t n_metrics;
    mock_label *labels;
    size_t n_labels;
    char **notes;
    size_t n_notes;
    mock_log *logs;
    size_t n_logs;
    char **fails;
    size_t n_fails;
    mock_check *checks;
    size_t n_checks;
    mock_artifact *artifacts;
    size_t n_artifacts;

    /* where(): when set, answers for a conf field (e.g. optstore_where on the store that filled
     * the conf); NULL or a NULL answer gives "the plan", as the header specifies. */
    const char *(*where_fn)(void *arg, const void *conf_field);
    void *where_arg;
    /* secret(): values for names, as NULL-terminated "NAME=value" entries; NULL: none set. */
    const char *const *secrets;
} mock_host;

/** Set up an empty recorder, its services table and a context (mode RUN, version "test"). */
void mock_host_init(mock_host *m);
/** Forget every recording (the table and context stay usable). */
void mock_host_reset(mock_host *m);
/** Free every recording. */
void mock_host_free(mock_host *m);

/** The last metric posted under key, or NULL. */
const mock_metric *mock_host_metric(const mock_host *m, const char *key);
/** How many times key was posted. */
size_t mock_host_metric_count(const mock_host *m, const char *key);
/** The last label value posted under key, or NULL. */
const char *mock_host_label(const mock_host *m, const char *key);
/** The first note containing needle, or NULL. */
const char *mock_host_note(const mock_host *m, const char *needle);
/** The last fail() message, or NULL when none. */
const char *mock_host_last_fail(const mock_host *m);
/** The first log line at level <= max_level containing needle, or NULL. */
const char *mock_host_log_line(const mock_host *m, relhost_level max_level, const char *needle);

#endif
