/* SPDX-License-Identifier: MIT */
/*
 * plan_keys.h - the plan's own top-level keys, as an option table like a plugin's: the host
 * fills them with the same code (core/plan/options.c) and `relhost plugins --describe core` prints
 * them. The structural keys (runners, metrics, steps, profiles, on_promote, on_rollback) hold
 * plugin instances and are read by core/plan/plan.c and core/plan/plan_steps.c;
 * PLAN_STRUCTURAL_KEYS names them.
 */
#ifndef RELHOST_PLAN_KEYS_H
#define RELHOST_PLAN_KEYS_H

#include <relhost/plugin.h>
#include <stdint.h>
#include <stdio.h>

/** What the table fills; paths are absolute (resolved against the plan's folder). */
typedef struct plan_keys {
    const char *name;    /* NULL: the file's stem */
    const char *version; /* "auto" by default */
    const char *state_dir, *log_dir;
    relhost_strlist plugin_path;
    const char *repo, *ref;
    int checkout; /* PLAN_CHECKOUT_HEAD or PLAN_CHECKOUT_WORKTREE */
    int64_t max_defers;
    double defer_deadline;      /* seconds; 0: none */
    double progress_interval;   /* seconds; 0: no periodic progress line */
    double state_commit_window; /* seconds an ended job's result may wait for a shared sync */
    const char *registry_dir;
    const char *baseline; /* NULL: <state_dir>/baseline.json */
    int require_baseline;
    const char *monitor_profile;
} plan_keys;

enum { PLAN_CHECKOUT_HEAD = 0, PLAN_CHECKOUT_WORKTREE = 1 };

/** The keys whose values are plugin instances, NULL-terminated. */
extern const char *const PLAN_STRUCTURAL_KEYS[];

/** A descriptor named "core" holding the table (no capability): options_fill() and
 *  options_describe() take it like a plugin's. */
const relhost_plugin *plan_keys_desc(void);

/** `relhost plugins --describe core`: the table, then the structural keys. */
void plan_keys_describe(FILE *out);

#endif
