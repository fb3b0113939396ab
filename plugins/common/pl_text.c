/* SPDX-License-Identifier: MIT */
#include "pl_text.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void pl_str_add(struct pl_str *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (b->oom)
        return;
    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        free(b->s);
        b->s = NULL;
        b->oom = 1;
        return;
    }
    if (b->len + (size_t)n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 128;
        char *p;
        while (cap < b->len + (size_t)n + 1)
            cap *= 2;
        p = realloc(b->s, cap);
        if (p == NULL) {
            free(b->s);
            b->s = NULL;
            b->oom = 1;
            return;
        }
        b->s = p;
        b->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void pl_str_urlenc(struct pl_str *b, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '_' || *p == '.' || *p == '~')
            pl_str_add(b, "%c", *p);
        else
            pl_str_add(b, "%%%02X", *p);
    }
}

char *pl_str_take(struct pl_str *b)
{
    char *s = b->oom ? NULL : b->s;

    if (s == NULL && !b->oom)
        s = calloc(1, 1);
    b->s = NULL;
    b->len = b->cap = 0;
    return s;
}

void pl_clean_text(const char *s, size_t len, size_t max, char *out, size_t cap)
{
    size_t avail = strnlen(s, len);
    size_t limit = max < cap - 4 ? max : cap - 4;
    int cut = avail > limit;
    size_t n = cut ? limit : avail;
    size_t o = 0;

    /* s[n] is the first byte left out: while it continues a character, leave that one out too. */
    while (cut && n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        out[o++] = (c < 0x20 || c == 0x7F) ? ' ' : (char)c;
    }
    if (cut) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
}

const char *pl_bad_base_url(const char *url, const char *example, char *buf, size_t cap)
{
    const char *auth;
    size_t alen;

    /* Plain http to a host that is not loopback is the host's to refuse, when the request
     * carries the token (core/net/http.c): one rule for every plugin, applied where it is sent. */
    if (strncmp(url, "https://", 8) == 0)
        auth = url + 8;
    else if (strncmp(url, "http://", 7) == 0)
        auth = url + 7;
    else
        return "it must start with https:// (or http:// to 127.0.0.1 or localhost, for tests)";
    alen = strcspn(auth, "/");
    if (alen == 0)
        return "it names no host";
    if (memchr(auth, '@', alen) != NULL)
        return "it holds user:password@: the token comes from token_env, never from the URL";
    if (strpbrk(url, "?# \t\r\n") != NULL) {
        snprintf(buf, cap, "it holds a query, a fragment or a blank: give the bare base, like %s",
                 example);
        return buf;
    }
    return NULL;
}
