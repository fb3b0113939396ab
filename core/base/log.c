/* SPDX-License-Identifier: MIT */
#include "base/log.h"

#include "base/error.h"
#include "base/secrets.h"
#include "base/util.h"

#include <stdlib.h>
#include <string.h>

static int verbosity;
static int color;
static void (*before_write)(void); /* the live progress table makes room (core/view/progress.c) */

void log_init(int v, int c)
{
    verbosity = v;
    color = c;
}

int log_verbosity(void) { return verbosity; }
int log_color(void) { return color; }

void out_write(FILE *f, const char *s, size_t n)
{
    strbuf b;
    sb_init(&b);
    secrets_redact(&b, s, n);
    fwrite(b.s, 1, b.len, f);
    sb_free(&b);
}

void log_vmsg(relhost_level level, const char *prefix, const char *fmt, va_list ap)
{
    static const char *names[] = {"error", "warning", "info", "debug"};
    strbuf b;
    char *text;
    if ((int)level > RELHOST_LOG_DEBUG)
        level = RELHOST_LOG_DEBUG;
    if (level == RELHOST_LOG_DEBUG && verbosity < 1)
        return;
    if (level >= RELHOST_LOG_INFO && verbosity < 0)
        return;
    if (level == RELHOST_LOG_WARN && verbosity < 0)
        return;
    sb_init(&b);
    sb_puts(&b, "relhost");
    if (prefix && *prefix)
        sb_printf(&b, " [%s]", prefix);
    if (level != RELHOST_LOG_INFO)
        sb_printf(&b, " %s%s%s", level == RELHOST_LOG_ERROR ? col_red() : col_yellow(),
                  names[level], col_reset());
    sb_puts(&b, ": ");
    text = xvasprintf(fmt, ap);
    {
        /* quoted input can neither drive the terminal nor forge a line (error_escape) */
        size_t cap = 4 * strlen(text) + 1;
        char *esc = xmalloc(cap);
        sb_add(&b, esc, error_escape(esc, cap, text));
        free(esc);
    }
    free(text);
    if (b.len == 0 || b.s[b.len - 1] != '\n')
        sb_putc(&b, '\n');
    if (before_write)
        before_write();
    fflush(stdout);
    out_write(stderr, b.s, b.len);
    sb_free(&b);
}

void log_set_before_write(void (*fn)(void)) { before_write = fn; }

void log_msg(relhost_level level, const char *prefix, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vmsg(level, prefix, fmt, ap);
    va_end(ap);
}

void out_vprintf(FILE *f, const char *fmt, va_list ap)
{
    char *s = xvasprintf(fmt, ap);
    out_write(f, s, strlen(s));
    free(s);
}

static int out_quiet;

int out_set_quiet(int quiet)
{
    int was = out_quiet;
    out_quiet = quiet;
    return was;
}

void out_printf(const char *fmt, ...)
{
    va_list ap;
    if (out_quiet)
        return;
    va_start(ap, fmt);
    out_vprintf(stdout, fmt, ap);
    va_end(ap);
}

const char *col_green(void) { return color ? "\033[32m" : ""; }
const char *col_red(void) { return color ? "\033[31m" : ""; }
const char *col_yellow(void) { return color ? "\033[33m" : ""; }
const char *col_dim(void) { return color ? "\033[2m" : ""; }
const char *col_bold(void) { return color ? "\033[1m" : ""; }
const char *col_reset(void) { return color ? "\033[0m" : ""; }
