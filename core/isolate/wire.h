/* SPDX-License-Identifier: MIT */
/*
 * wire.h - the framing and the plain-data encoding of the plugin-server protocol (isolate.h).
 *
 * A message is a 4-byte length (little-endian, of what follows), a kind byte and a payload. The
 * payload is a sequence of fixed-size integers and doubles (host byte order: both ends are the
 * same relhost binary) and strings, each a u32 length (WIRE_NULL for a NULL pointer) followed by
 * its bytes and a NUL, so a decoded string points into the message and needs no copy.
 */
#ifndef RELHOST_WIRE_H
#define RELHOST_WIRE_H

#include "base/util.h"

#include <relhost/plugin.h>
#include <stddef.h>
#include <stdint.h>

#define WIRE_NULL 0xffffffffu
/* A message larger than this is a broken peer, not data (feed batches stay far below). */
#define WIRE_MAX ((size_t)256 << 20)

enum wire_kind {
    W_HELLO = 1, /* server -> client, once: i32 rc, str error */
    W_OP,        /* client -> server: u32 op, then the op's arguments */
    W_RET,       /* server -> client: the op's results */
    W_SVC,       /* server -> client: u32 service, then its arguments */
    W_SVR        /* client -> server: the service's results */
};

typedef struct wbuf {
    strbuf b;
} wbuf;

typedef struct rbuf {
    char *data; /* the whole payload (owned) */
    size_t n, off;
    int bad; /* a read ran past the end or met a malformed value */
} rbuf;

void w_init(wbuf *w, int kind);
void w_free(wbuf *w);
void w_u32(wbuf *w, uint32_t v);
void w_i32(wbuf *w, int32_t v);
void w_u64(wbuf *w, uint64_t v);
void w_f64(wbuf *w, double v);
void w_str(wbuf *w, const char *s);
void w_bytes(wbuf *w, const void *p, size_t n);
/* A NULL-terminated array of strings (NULL: absent). */
void w_strv(wbuf *w, const char *const *v);
void w_strlist(wbuf *w, const relhost_strlist *l); /* NULL: absent */
void w_map(wbuf *w, const relhost_map *m);         /* NULL: absent */
void w_checks(wbuf *w, const relhost_checks *c);   /* NULL: absent */

uint32_t r_u32(rbuf *r);
int32_t r_i32(rbuf *r);
uint64_t r_u64(rbuf *r);
double r_f64(rbuf *r);
const char *r_str(rbuf *r);
/* bytes: *n set; the pointer is into the message, NUL-terminated */
const char *r_bytes(rbuf *r, size_t *n);

/* Decoded arrays live in an arena freed with the message that holds their strings. */
typedef struct rarena {
    void **v;
    size_t n;
} rarena;
void *ra_alloc(rarena *a, size_t n);
void ra_free(rarena *a);
const char *const *r_strv(rbuf *r, rarena *a);
/* 0: absent (out untouched), 1: present (filled) */
int r_strlist(rbuf *r, rarena *a, relhost_strlist *out);
int r_map(rbuf *r, rarena *a, relhost_map *out);
int r_checks(rbuf *r, rarena *a, relhost_checks *out);

/* Send the message (the length is filled here). 0, or -1 with errno (EPIPE: the peer is gone). */
int w_send(int fd, wbuf *w);
/* Receive one message: its kind, or 0 at EOF, or -1 with errno. r owns the payload after. */
int w_recv(int fd, rbuf *r);
void r_free(rbuf *r);

/* The ctx fields an op carries (host_private stays on its side). */
void w_ctx(wbuf *w, const relhost_ctx *ctx);
void r_ctx(rbuf *r, rarena *a, relhost_ctx *out);

#endif
