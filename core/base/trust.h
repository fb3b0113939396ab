/* SPDX-License-Identifier: MIT */
/*
 * trust.h - may relhost trust a folder with what it keeps there? The state folder, the registry
 * and the plugin folders hold what decides a release (results, the promoted manifest, code that
 * relhost runs), so another user who can write there, or replace a folder on the way to it, could
 * turn a failing release green. Each check returns NULL when the path may be used, or a refusal
 * (malloc'd, one line) that names the path, what is wrong and the chmod / chown that fixes it.
 */
#ifndef RELHOST_TRUST_H
#define RELHOST_TRUST_H

#include <sys/stat.h>

/**
 * A folder relhost writes into (state_dir, the registry): st describes it after its symlinks were
 * followed once (fstat of the opened folder). Refused: not a folder, the root folder "/", owned
 * by another user than the one running relhost, writable by group or others, or below a folder
 * that another user may write (as for code, below).
 */
char *trust_own_folder(const char *path, const struct stat *st);

/**
 * A file or folder relhost loads code from (a plugin folder or .so): st as above. Refused: owned
 * by another user than root or the one running relhost, writable by group or others; and the same
 * for every folder above it up to "/" (as ssh's StrictModes walks to the root), where a folder
 * writable by others is allowed only with the sticky bit and owned by root (/tmp).
 */
char *trust_code_path(const char *path, const struct stat *st, int is_dir);

#endif
