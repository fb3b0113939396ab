/* SPDX-License-Identifier: MIT */
/*
 * candidate.h - the release candidate: {version, commit}, fixed at a release's first run and kept
 * in its state. When the plan names a `repo`, core resolves `ref` (default HEAD) with
 * `git rev-parse` once; every later run of the release must find the same commit (or is refused,
 * exit 2, unless --new-candidate restarts qualification on the new one). Local validations then
 * run on exactly that commit: in a `git worktree` of it (checkout = "worktree"), or in the
 * repository itself, which must have that commit checked out with a clean tree
 * (checkout = "head").
 */
#ifndef RELHOST_CANDIDATE_H
#define RELHOST_CANDIDATE_H

#include "plan/plan.h"
#include "record/state.h"

typedef struct candidate {
    char *commit;   /* 40 hex, or NULL when the plan names no repo */
    char *worktree; /* absolute folder the validations run in, or NULL */
} candidate;

/** Resolve the plan's ref to a commit without writing anything (--check). */
int candidate_resolve(const plan *p, char **commit);

/**
 * Fix the candidate of the release in st: resolve, compare with what the state holds, record it
 * (dropping earlier results when new_candidate allows a different commit), and prepare the
 * folder validations run in. 0, or RELHOST_EINVAL with error_last() saying why (exit 2).
 */
int candidate_fix(const plan *p, state *st, int new_candidate, candidate *out);
void candidate_free(candidate *c);

#endif
