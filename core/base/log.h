/* SPDX-License-Identifier: MIT */
/*
 * log.h - diagnostics on stderr, levelled and redacted. Reports (the only stdout writers) live in
 * report_*.c and use out_*() below so that redaction and colour are decided in one place.
 */
#ifndef RELHOST_LOG_H
#define RELHOST_LOG_H

#include <relhost/plugin.h>
#include <stdarg.h>
#include <stdio.h>

/** verbosity: -1 quiet (errors only), 0 default (warnings and info), 1+ debug. */
void log_init(int verbosity, int color);
int log_verbosity(void);
int log_color(void);
void log_msg(relhost_level level, const char *prefix, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void log_vmsg(relhost_level level, const char *prefix, const char *fmt, va_list ap);

/** Write report text to stdout, redacted. */
void out_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/** fn() is called before each log line is written to stderr (NULL: none): a live display on
 *  the terminal erases itself first. */
void log_set_before_write(void (*fn)(void));
/** -q: out_printf() prints nothing until set back (the verdict line lifts it for itself).
 *  Returns the setting it replaces. */
int out_set_quiet(int quiet);
/** out_printf() to stream f (stdout or stderr), masked the same way. */
void out_vprintf(FILE *f, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
void out_write(FILE *f, const char *s, size_t n);

/** ANSI colour helpers: return "" when colour is off. */
const char *col_green(void);
const char *col_red(void);
const char *col_yellow(void);
const char *col_dim(void);
const char *col_bold(void);
const char *col_reset(void);

#endif
