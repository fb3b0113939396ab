/* SPDX-License-Identifier: MIT */
/* fuzz_util.h - what the harnesses share: temp folders, files, and dying loudly. */
#ifndef RELHOST_TESTS_FUZZ_UTIL_H
#define RELHOST_TESTS_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>

/** Print "fuzz: <message>" to stderr and abort() (libFuzzer saves the input). */
void fuzz_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/** A fresh folder (in /dev/shm when it exists, else $TMPDIR or /tmp) for this process, removed
 *  with everything in it at exit. The name says which harness made it. Never NULL. */
const char *fuzz_tmpdir(const char *who);
/** dir/name, malloc'ed; never NULL. */
char *fuzz_path(const char *dir, const char *name);
/** Write exactly data[0..n) to path (created or truncated); dies on any error. */
void fuzz_write_file(const char *path, const uint8_t *data, size_t n);
/** The bytes of path (malloc'ed, *n set), or NULL when it does not exist. */
uint8_t *fuzz_read_file(const char *path, size_t *n);
/** Remove every entry of dir (not dir itself; no subfolders expected). */
void fuzz_empty_dir(const char *dir);

#endif
