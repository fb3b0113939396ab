/* SPDX-License-Identifier: MIT */
/* util.h - small helpers the whole core uses: checked allocation, growable strings, paths. */
#ifndef RELHOST_UTIL_H
#define RELHOST_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Allocation that cannot fail quietly: relhost aborts with a message on out-of-memory, because
 * every caller would otherwise have to unwind a half-built result it could not report anyway. */
void *xmalloc(size_t n);
/* 1 once an allocation failed, set just before that abort: the fatal-signal handler then names
 * the exhausted memory (a tool error, run again later) instead of a crash of relhost or of the
 * plugin whose call was open. Async-signal-safe. */
int util_out_of_memory(void);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/** xasprintf() with a va_list (consumed); never NULL. */
char *xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

/* FNV-1a of a NUL-terminated string: the hash of relhost's own name tables. */
static inline uint64_t str_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}
/** Write all n bytes to fd, continuing after a short write or a signal. 0, or -1 with errno
 *  set (a write that takes nothing counts as an error, errno EIO when the system set none). */
int write_all(int fd, const void *buf, size_t n);
/** pread() until want bytes are in buf, the file ends or an error (EINTR retried); returns
 *  the bytes read. */
size_t read_at(int fd, void *buf, size_t want, long long at);

/** A growable NUL-terminated string. */
typedef struct strbuf {
    char *s;
    size_t len, cap;
} strbuf;

void sb_init(strbuf *b);
void sb_free(strbuf *b);
/** Room for extra more bytes (and the NUL) without another allocation. */
void sb_reserve(strbuf *b, size_t extra);
void sb_add(strbuf *b, const char *s, size_t n);
/** Inline, so that the length of a literal is known when it is compiled. */
static inline void sb_puts(strbuf *b, const char *s) { sb_add(b, s, strlen(s)); }
void sb_putc(strbuf *b, char c);
void sb_printf(strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sb_vprintf(strbuf *b, const char *fmt, va_list ap);
/** Take ownership of the string; b is reset. */
char *sb_take(strbuf *b);

/** A growable array of owned strings, NULL-terminated. */
typedef struct strvec {
    char **v;
    size_t n, cap;
} strvec;

void sv_push(strvec *sv, const char *s);
void sv_push_take(strvec *sv, char *s);
void sv_free(strvec *sv);

/** Join a and b with one '/'; b absolute is returned as is. */
char *path_join(const char *a, const char *b);
/** The folder of path (absolute when path is), "." when none. */
char *path_dirname(const char *path);
/** Absolute, without resolving symlinks: relative paths resolve against base (or the cwd). */
char *path_absolute(const char *path, const char *base);
/** mkdir -p, mode 0755. Returns 0 or a RELHOST_E* with error_last() set. */
int path_mkdirs(const char *path);

/** UTC time as "YYYY-MM-DDTHH:MM:SSZ" into buf (>= 21 bytes). */
void time_iso8601(double epoch, char *buf, size_t cap);
double time_wall(void);
/** "YYYY-MM-DDTHH:MM:SSZ" back to epoch seconds; 0 when s is NULL or malformed. */
double time_parse_iso8601(const char *s);

/** Shell-style glob match (fnmatch without flags). */
int glob_match(const char *pattern, const char *s);

#endif
