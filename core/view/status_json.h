/* SPDX-License-Identifier: MIT */
/*
 * status_json.h - `relhost status --json`: one release's progress as a versioned JSON object
 * (docs/status.schema.json), made from its state, the state folder's freeze and what a poll of
 * the remote runners said. The operator's view of a release in flight: which jobs run where,
 * restarts, termination reasons, how many defers are spent, whether publishing is frozen.
 *
 * It is built on the typed release record (record/record.h) and its report model
 * (report_model_of(), view/report_files.h), so steps and jobs come in the reports'
 * order, typed and redacted the same way; the pieces explain.c needs too are exported below.
 * Every member the schema lists is always present (null when unknown); nothing else appears.
 */
#ifndef RELHOST_STATUS_JSON_H
#define RELHOST_STATUS_JSON_H

#include "run/freeze.h"

#include <jansson.h>

/** The "status_schema" number status_model() writes. A change to the shape is a new number, a
 *  new docs/status.schema.json and a new tests/ops/status_keys.golden. */
#define STATUS_SCHEMA 1

typedef struct status_context {
    int max_defers;         /* the plan's max_defers */
    double defer_deadline;  /* the plan's defer_deadline in seconds; 0: none */
    const freeze_info *frz; /* the state folder's freeze, or NULL when it could not be read */
    const char *frz_error;  /* why it could not be read (with frz NULL), or NULL */
    /* Borrowed, or NULL: {"<job id>": {"state": "RUNNING", "restarts": 1}} from a runner poll. */
    json_t *live;
} status_context;

/**
 * The status object (a new reference) of the state root (borrowed), or NULL with error_last()
 * set when the root is not an object.
 */
json_t *status_model(json_t *state_root, const status_context *ctx);

/** {"frozen", "reason", "by", "at", "from_env", "error"}: a freeze as JSON (new reference).
 *  frz NULL means the freeze file could not be read (error says why): reported as frozen, as
 *  the pipeline would refuse to publish. */
json_t *status_freeze_json(const freeze_info *frz, const char *error);

/** Write v to stdout as indented JSON plus a newline, redacted. Returns 0, or RELHOST_EIO with
 *  error_last() set. */
int status_print_json(json_t *v);

#endif
