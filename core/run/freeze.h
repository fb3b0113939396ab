/* SPDX-License-Identifier: MIT */
/*
 * freeze.h - the kill switch and the audit log. A frozen state folder (relhost freeze, or
 * RELHOST_FREEZE=1) still runs every gate and reports, but no step with publishes = true runs:
 * they are SKIPPED with reason frozen and the run exits 4. Freeze and unfreeze record who, when
 * and why in the registry's audit log (audit.h), next to promotions and rollbacks.
 */
#ifndef RELHOST_FREEZE_H
#define RELHOST_FREEZE_H

#include <stddef.h>

typedef struct freeze_info {
    int frozen;
    char reason[512];
    char by[128];
    char at[32];
    int from_env; /* RELHOST_FREEZE=1 */
} freeze_info;

/** Read the freeze of a state folder (and RELHOST_FREEZE). 0, or RELHOST_EINVAL on a corrupt
 *  freeze file (never ignored: a kill switch that silently fails open is worse than none). */
int freeze_get(const char *state_dir, freeze_info *out);
/** The freeze file of a state folder only, without RELHOST_FREEZE (the status page shows what
 *  the folder says, not the environment of whoever wrote the page). As freeze_get(). */
int freeze_read_file(const char *state_dir, freeze_info *out);
/** Freeze (reason required) or unfreeze; both append to the audit log in audit_dir. */
int freeze_set(const char *state_dir, const char *audit_dir, const char *reason);
int freeze_clear(const char *state_dir, const char *audit_dir, const char *reason);

#endif
