/* SPDX-License-Identifier: MIT */
#include "base/util.h"

#include "base/error.h"

#include <errno.h>
#include <fnmatch.h>
#include <signal.h>
#include <relhost/plugin.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t oom_hit;

int util_out_of_memory(void) { return oom_hit != 0; }

static void oom(size_t n)
{
    oom_hit = 1;
    fprintf(stderr, "relhost: out of memory allocating %zu bytes (ENOMEM)\n", n);
    abort();
}

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        oom(n);
    return p;
}

void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        oom(n * size);
    return p;
}

void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        oom(n);
    return q;
}

char *xstrdup(const char *s) { return xstrndup(s, strlen(s)); }

char *xstrndup(const char *s, size_t n)
{
    char *p = xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *xvasprintf(const char *fmt, va_list ap)
{
    strbuf b;
    sb_init(&b);
    sb_vprintf(&b, fmt, ap);
    /* no more than it holds: callers keep many (a "file:line" per step of a big plan) */
    return xrealloc(b.s, b.len + 1);
}

char *xasprintf(const char *fmt, ...)
{
    char *s;
    va_list ap;
    va_start(ap, fmt);
    s = xvasprintf(fmt, ap);
    va_end(ap);
    return s;
}

void sb_init(strbuf *b)
{
    b->cap = 64;
    b->len = 0;
    b->s = xmalloc(b->cap);
    b->s[0] = '\0';
}

void sb_free(strbuf *b)
{
    free(b->s);
    b->s = NULL;
    b->len = b->cap = 0;
}

void sb_reserve(strbuf *b, size_t extra)
{
    if (!b->s)
        sb_init(b);
    if (b->len + extra + 1 <= b->cap)
        return;
    while (b->len + extra + 1 > b->cap)
        b->cap *= 2;
    b->s = xrealloc(b->s, b->cap);
}

void sb_add(strbuf *b, const char *s, size_t n)
{
    sb_reserve(b, n);
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

void sb_putc(strbuf *b, char c) { sb_add(b, &c, 1); }

void sb_vprintf(strbuf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    int n;
    if (!b->s)
        sb_init(b);
    /* into the room there is, formatted a second time only when it did not fit */
    va_copy(ap2, ap);
    n = vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap2);
    va_end(ap2);
    if (n < 0) {
        b->s[b->len] = '\0';
        return;
    }
    if ((size_t)n >= b->cap - b->len) {
        sb_reserve(b, (size_t)n);
        vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
    }
    b->len += (size_t)n;
}

void sb_printf(strbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sb_vprintf(b, fmt, ap);
    va_end(ap);
}

char *sb_take(strbuf *b)
{
    char *s;
    if (!b->s)
        sb_init(b);
    s = b->s;
    b->s = NULL;
    b->len = b->cap = 0;
    return s;
}

void sv_push_take(strvec *sv, char *s)
{
    if (sv->n + 2 > sv->cap) {
        /* small at first: a big plan keeps a few per step (a --check's notes) */
        sv->cap = sv->cap ? sv->cap * 2 : 4;
        sv->v = xrealloc(sv->v, sv->cap * sizeof *sv->v);
    }
    sv->v[sv->n++] = s;
    sv->v[sv->n] = NULL;
}

void sv_push(strvec *sv, const char *s) { sv_push_take(sv, xstrdup(s)); }

void sv_free(strvec *sv)
{
    for (size_t i = 0; i < sv->n; i++)
        free(sv->v[i]);
    free(sv->v);
    sv->v = NULL;
    sv->n = sv->cap = 0;
}

char *path_join(const char *a, const char *b)
{
    size_t la;
    if (!a || !*a || b[0] == '/')
        return xstrdup(b);
    la = strlen(a);
    return xasprintf("%s%s%s", a, a[la - 1] == '/' ? "" : "/", b);
}

char *path_dirname(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return xstrdup(".");
    if (slash == path)
        return xstrdup("/");
    return xstrndup(path, (size_t)(slash - path));
}

char *path_absolute(const char *path, const char *base)
{
    char cwd[4096];
    char *joined, *out;
    strbuf b;
    const char *p;
    if (path[0] == '/') {
        joined = xstrdup(path);
    } else if (base && base[0] == '/') {
        joined = path_join(base, path);
    } else {
        if (!getcwd(cwd, sizeof cwd))
            snprintf(cwd, sizeof cwd, "/");
        if (base) {
            char *b2 = path_join(cwd, base);
            joined = path_join(b2, path);
            free(b2);
        } else {
            joined = path_join(cwd, path);
        }
    }
    /* Normalise "." and ".." lexically so paths print cleanly and compare equal. */
    sb_init(&b);
    p = joined;
    while (*p) {
        const char *q;
        size_t n;
        while (*p == '/')
            p++;
        q = strchr(p, '/');
        n = q ? (size_t)(q - p) : strlen(p);
        if (n == 0)
            break;
        if (n == 1 && p[0] == '.') {
        } else if (n == 2 && p[0] == '.' && p[1] == '.') {
            char *last = strrchr(b.s, '/');
            if (last) {
                b.len = (size_t)(last - b.s);
                b.s[b.len] = '\0';
            }
        } else {
            sb_putc(&b, '/');
            sb_add(&b, p, n);
        }
        p += n;
    }
    if (b.len == 0)
        sb_putc(&b, '/');
    out = sb_take(&b);
    free(joined);
    return out;
}

int path_mkdirs(const char *path)
{
    char *tmp = xstrdup(path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST) {
            int e = errno;
            int rc = error_set(RELHOST_EIO, "cannot create folder %s: %s", tmp, strerror(e));
            free(tmp);
            return rc;
        }
        *p = '/';
    }
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST) {
        int rc = error_set(RELHOST_EIO, "cannot create folder %s: %s", tmp, strerror(errno));
        free(tmp);
        return rc;
    }
    free(tmp);
    return 0;
}

void time_iso8601(double epoch, char *buf, size_t cap)
{
    time_t t = (time_t)epoch;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

double time_parse_iso8601(const char *s)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    if (!s || !strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm))
        return 0;
    return (double)timegm(&tm);
}

double time_wall(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int glob_match(const char *pattern, const char *s) { return fnmatch(pattern, s, 0) == 0; }

int write_all(int fd, const void *buf, size_t n)
{
    const char *p = buf;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            if (w == 0)
                errno = EIO;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

size_t read_at(int fd, void *buf, size_t want, long long at)
{
    size_t got = 0;
    while (got < want) {
        ssize_t r = pread(fd, (char *)buf + got, want - got, (off_t)(at + (long long)got));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    return got;
}
