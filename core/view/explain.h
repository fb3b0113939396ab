/* SPDX-License-Identifier: MIT */
/*
 * explain.h - `relhost explain`: the decision about one release and why, from its state alone.
 *
 * Nothing is run, polled or contacted, and no plugin is asked anything: the verdict comes from
 * the release state (report_decision()), overridden by the registry's word when
 * <registry_dir>/manifest.json lists the release as promoted, quarantined or rolled_back. The
 * reasons: the first required step that did not pass, every failing check (actual vs expected,
 * and baseline, bound and stat when the check carries them), the jobs that did not pass with
 * their log paths, retries (job attempts) and defers spent, waivers, skipped steps and why,
 * unfinished jobs, the freeze and the registry entry.
 *
 * The explain object (docs/explain.schema.json) is built once; the text is rendered from it,
 * so `--json` and the text can never disagree. The text's first line is the verdict.
 */
#ifndef RELHOST_EXPLAIN_H
#define RELHOST_EXPLAIN_H

#include "plan/plan.h"
#include "run/freeze.h"

#include <jansson.h>

/** The "explain_schema" number explain_model() writes; a change of shape is a new number. */
#define EXPLAIN_SCHEMA 1

typedef struct explain_context {
    const char *manifest;   /* <registry_dir>/manifest.json, or NULL: no registry */
    const freeze_info *frz; /* the state folder's freeze, or NULL when unreadable */
    const char *frz_error;  /* why (with frz NULL) */
    int max_defers;
} explain_context;

/** The explain object (new reference) of a state root (borrowed); NULL with error_last() set
 *  when the root is not an object. A manifest that cannot be read is no error: the object's
 *  registry.error says why and the verdict comes from the state. */
json_t *explain_model(json_t *state_root, const explain_context *ctx);

/** Print the object as operator text (first line: the verdict) or, with json, as JSON. */
int explain_print(json_t *x, int json);

/** `relhost explain`: read the state of p's release (read-only, no lock), explain, print.
 *  Returns the process exit code: 0 when the explanation was printed, whatever the verdict;
 *  2 (EXIT_USAGE) when there is no state, it cannot be read, or stdout cannot be written. */
int explain_release(plan *p, int json);

#endif
