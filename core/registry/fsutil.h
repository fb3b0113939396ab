/* SPDX-License-Identifier: MIT */
/*
 * fsutil.h - durable file operations for the registry: atomic replace (temp, fsync, rename,
 * fsync of the folder), an atomic symlink flip, copying with a digest, and removal of a tree.
 */
#ifndef RELHOST_FSUTIL_H
#define RELHOST_FSUTIL_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

/** Replace path with data: path.tmp, fsync, rename, fsync of the folder. On failure the old file
 *  is left as it was. 0, or RELHOST_EIO with the error set. */
int fs_write_atomic(const char *path, const char *data, size_t len);
/** Point the symlink `path` at `target` (a relative target is fine) by renaming a fresh link
 *  over it, then fsync the folder. */
int fs_symlink_atomic(const char *target, const char *path);
/** fsync a folder, so a rename or create in it is durable. */
int fs_sync_dir(const char *dir);
/** Copy a regular file (the copy read-only), fsync it, and give the sha256 (hex) of what was
 *  written. */
int fs_copy_sha256(const char *src, const char *dst, char sha[65], long long *size);
/** rm -rf; a missing path is no error. */
int fs_remove_tree(const char *path);
/** The JSON document in path, read whole (json_load_file reads a byte at a time, slow for a
 *  1,000-release manifest), duplicate keys refused; NULL with *je set (the open error's text
 *  and line 0 when it cannot be opened). */
json_t *fs_load_json(const char *path, json_error_t *je);
/** The JSON document f holds, read whole as fs_load_json() reads it; f is closed. For a file
 *  outside the registry, which may be reached through a link. */
json_t *fs_read_json(FILE *f, json_error_t *je);
/** 1 when path exists (lstat). */
int fs_exists(const char *path);

#endif
