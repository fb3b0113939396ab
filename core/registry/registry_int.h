/* SPDX-License-Identifier: MIT */
/*
 * registry_int.h - what the registry's files share: registry.c (open, stage, promote,
 * quarantine), registry_commit.c (the intent: commit and recovery) and registry_rollback.c.
 */
#ifndef RELHOST_REGISTRY_INT_H
#define RELHOST_REGISTRY_INT_H

#include "registry/manifest.h"
#include "registry/registry.h"

#include <jansson.h>

struct registry {
    char *dir;
    int lock_fd; /* -1: opened read-only on a registry that does not exist */
    manifest m;
};

/* What an operation does to the baseline store (see registry_commit). */
typedef struct baseline_op {
    const char *path; /* the plan's baseline store */
    const char *data; /* its new content, or NULL */
    int remove;       /* no data: remove the store ("no baseline yet") */
    const char *keep; /* with data: also write it here, relative to the registry */
} baseline_op;

/* Each promoted release keeps the baseline store as its promotion left it, in
 * <registry>/baselines/<version>.json: a rollback makes it current again. */
#define KEPT_DIR "baselines"

/* <dir>/name (caller frees). */
char *registry_path(const registry *r, const char *name);

/* *refusal (freed first) becomes the message; returns RELHOST_EINVAL. */
int registry_refuse(char **refusal, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Now, ISO 8601 UTC. */
void registry_now(char buf[32]);

/* 0, or an error when the registry was opened read-only on a folder that does not exist. */
int registry_writable(const registry *r);

/* The staged bytes of e still match the sha256s recorded at staging. refusal NULL: only say
 * whether they do. */
int registry_verify_staged(const registry *r, const manifest_release *e, char **refusal);

/* "baselines/<version>.json", or NULL for a version that is no plain file name. */
char *registry_kept_name(const char *version);

/*
 * Commit an operation: *next (taken, freed on failure) replaces the manifest; the others are
 * optional. swap_from/swap_to: staged/<swap_from> becomes staged/<swap_to>; link: last_green
 * points at staged/<link>; bo: the baseline store at bo->path becomes bo->data (or is removed
 * with bo->remove), and bo->keep (a path under the registry) gets a copy of bo->data. audit
 * (stolen) gets id, operation and the times filled in.
 */
int registry_commit(registry *r, const char *op, double started, manifest *next,
                    const char *swap_from, const char *swap_to, const char *link,
                    const baseline_op *bo, json_t *audit);

/* At open: finish what a crash left, then clear copies that never reached an intent. */
int registry_recover(registry *r);

#endif
