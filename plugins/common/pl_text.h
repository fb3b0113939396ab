/* SPDX-License-Identifier: MIT */
/*
 * pl_text.h - text helpers the HTTP plugins (asana, github, metrics_wandb, notify) share. Compiled into each
 * plugin that lists pl_text.c in its SOURCES (hidden symbols: every .so has its own copy); it
 * uses only libc, no host service.
 */
#ifndef RELHOST_PL_TEXT_H
#define RELHOST_PL_TEXT_H

#include <relhost/plugin.h>

#include <stddef.h>

/* A growing heap string; after an allocation failure it stays NULL and adds are no-ops. */
struct pl_str {
    char *s;
    size_t len, cap;
    int oom;
};
void pl_str_add(struct pl_str *b, const char *fmt, ...) RELHOST_PRINTF(2, 3);
/* RFC 3986 percent-encoding of everything but the unreserved characters (an opaque offset may
 * hold '+', '/' or '=' and must survive as is). */
void pl_str_urlenc(struct pl_str *b, const char *s);
/* The string (the caller frees it), "" when nothing was added; NULL after a failure. */
char *pl_str_take(struct pl_str *b);

/* User text (a task name, a reply excerpt) for one line: control characters become spaces,
 * and past max bytes (or what fits in cap, which is at least 4) it is cut at a UTF-8 character
 * boundary and ends in "...". */
void pl_clean_text(const char *s, size_t len, size_t max, char *out, size_t cap);

/* NULL when url is http(s)://host[:port][/path] without user:password@, a query or a fragment;
 * else why not (a constant, or buf, cap bytes). example: a good base URL, quoted in the reason.
 * Plain http to a host that is not loopback passes here: the host's HTTP service refuses to send
 * the token there (the request fails, not retryable, saying to use https). */
const char *pl_bad_base_url(const char *url, const char *example, char *buf, size_t cap);

#endif
