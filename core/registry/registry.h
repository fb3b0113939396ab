/* SPDX-License-Identifier: MIT */
/*
 * registry.h - the release registry (DESIGN "Promotion"): a folder holding
 *   manifest.json    the commit point: schema, pointers {latest, last_green, previous_green},
 *                    every release {version, commit, status, times, reason, artifacts}
 *                    (manifest.h documents it and reads it into typed records)
 *   staged/<v>/      the artifacts staged for release v, with their sha256 in the manifest
 *   baselines/<v>.json  the baseline store as release v's promotion left it (a rollback to v
 *                    makes it the plan's baseline again)
 *   last_green       a symlink to staged/<last green version>, flipped atomically (deploys
 *                    follow it)
 *   audit.jsonl      one line per operation (audit.h)
 *   intent.json      present only while an operation is unfinished
 *
 * Every operation builds the whole new manifest in memory, then commits: it writes intent.json
 * (the new manifest, baseline, symlink target and audit line), then the derived files (staged
 * folder swap, baseline, symlink), then the manifest, then the audit line, then removes the
 * intent. registry_open() finishes an intent a crash left behind, so after a kill at any point the
 * manifest, symlink, baseline and audit log agree: the operation happened entirely or not at all.
 * Operations hold an exclusive flock on <dir>/.lock.
 *
 * Statuses: staged -> promoted -> rolled_back (-> promoted again by `rollback --to`), and
 * staged or rolled_back -> quarantined. A quarantined release is never promoted; the release
 * last_green names is never quarantined (roll back first).
 */
#ifndef RELHOST_REGISTRY_H
#define RELHOST_REGISTRY_H

#include "registry/manifest.h"

#include <jansson.h>
#include <stddef.h>

typedef struct registry registry;

/** Lock the registry at dir (created when missing and create is set), finish an unfinished
 *  operation, and load the manifest. A missing registry opened without create is empty. Errors
 *  (corrupt or newer manifest, unwritable folder, lock held too long) leave everything as it was:
 *  RELHOST_EINVAL or RELHOST_EIO with the error set. */
int registry_open(const char *dir, int create, registry **out);
void registry_close(registry *r);

/** The manifest (borrowed; valid until the next operation or close). */
const manifest *registry_manifest(const registry *r);
/** The release of version, or NULL (borrowed, as the manifest). */
const manifest_release *registry_entry(const registry *r, const char *version);
/** The version pointer p names, or NULL (borrowed, as the manifest). */
const char *registry_pointer(const registry *r, manifest_pointer p);
const char *registry_dir(const registry *r);

/*
 * Operations. Each returns 0 when done (or when it was already done: re-running is safe),
 * RELHOST_EINVAL when refused (a verdict: *refusal is set to a message for people, the registry
 * unchanged), or a negative error with error_last() set (nothing or everything committed).
 */

/** Copy files (absolute paths, each a regular file; names must be distinct) into
 *  staged/<version>/ with their sha256. *staged_dir (caller frees) is the folder. */
int registry_stage(registry *r, const char *version, const char *commit, const char *const *files,
                   size_t n, char **staged_dir, char **refusal);

/** Re-check the staged sha256s, flip latest, last_green and previous_green, and write baseline
 *  (the whole new store, or NULL for none) to baseline_path in the same commit, with a copy kept
 *  as baselines/<version>.json (with baseline NULL: a copy of the store at baseline_path as it
 *  is, an empty store when there is none). */
int registry_promote(registry *r, const char *version, const char *commit,
                     const char *baseline_path, const char *baseline, char **refusal);

/** Mark version quarantined with reason (a release unknown so far is entered as quarantined). */
int registry_quarantine(registry *r, const char *version, const char *commit, const char *reason,
                        char **refusal);

typedef struct rollback_plan {
    char from[80], to[80];
    char baseline[1024]; /* what happened (or would happen) to the baseline store, or "" */
    double duration_ms;
} rollback_plan;

/** Move last_green from the current one to `to` (NULL: the previous green release) and mark the
 *  current one rolled_back, or quarantined with quarantine_from. With dry_run, only fill *rp.
 *  With baseline_path (the plan's baseline store), the same commit makes the baseline `to` kept
 *  at its promotion (baselines/<to>.json) current again, or removes the store when `to` kept
 *  none (promoted by an older relhost) or its copy is unreadable: never the values of the
 *  release rolled back from. rp->baseline says which; the audit line carries it as "baseline". */
int registry_rollback(registry *r, const char *to, const char *reason, int quarantine_from,
                      int dry_run, const char *baseline_path, rollback_plan *rp, char **refusal);

#endif
