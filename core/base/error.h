/* SPDX-License-Identifier: MIT */
/*
 * error.h - the core's last-error message (libgit2's giterr_last, single-threaded).
 * A failing core function sets one message saying what failed, on which input and what to do,
 * then returns a negative RELHOST_E* code. The caller prints error_last() or adds context.
 */
#ifndef RELHOST_ERROR_H
#define RELHOST_ERROR_H

#include <stdarg.h>
#include <stddef.h>

/** Set the message and return code (so `return error_set(RELHOST_EINVAL, "...")` reads well). */
int error_set(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int error_setv(int code, const char *fmt, va_list ap);
/** Prefix the current message: "<prefix>: <old message>". Returns code. */
int error_wrap(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/** dst (cap bytes, NUL-terminated, cut when full) as src with its control characters shown as
 *  \xHH, so a message quoting input (a version, a name, a reply) can neither drive the terminal
 *  nor forge a line of its own. Newlines and tabs stay (some messages are several lines on
 *  purpose) except inside "double quotes", where a quoted value is. Returns the length. */
size_t error_escape(char *dst, size_t cap, const char *src);
/** The message ("" when none); valid until the next error_* call. */
const char *error_last(void);
void error_clear(void);

#endif
