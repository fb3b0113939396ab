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
#include <string.h>

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

/* A struct's plain members, described once for both ends: w_fields() writes them in table
 * order, r_fields() reads them back into a struct of the same type (strings point into the
 * message, arrays live in the arena a, which may be NULL for a table without WF_STRV). Each
 * row checks at compile time that the member has the type its kind says, so an encoder and its
 * decoder can no longer disagree. */
enum wfield_kind { WF_STR, WF_INT, WF_DBL, WF_SIZE, WF_STRV, WF_CHARS };
typedef struct wfield {
    unsigned char kind;
    unsigned short off;
    unsigned short size; /* WF_CHARS: the array's size (the string sent stops at its NUL) */
} wfield;
#define WFIELD(kind, ctype, type, m)                                                               \
    {                                                                                              \
        kind,                                                                                      \
            (unsigned short)(offsetof(type, m) + 0 * sizeof(_Generic(((type *)0)->m, ctype : 1))), \
            0                                                                                      \
    }
#define WF_STR_(type, m) WFIELD(WF_STR, const char *, type, m)
#define WF_INT_(type, m) WFIELD(WF_INT, int, type, m)
#define WF_DBL_(type, m) WFIELD(WF_DBL, double, type, m)
#define WF_SIZE_(type, m) WFIELD(WF_SIZE, size_t, type, m)
#define WF_STRV_(type, m) WFIELD(WF_STRV, const char *const *, type, m)
/* an enum member travels as an int: it must have an int's size */
#define WF_ENUM_(type, m)                                                                       \
    {                                                                                           \
        WF_INT,                                                                                 \
            (unsigned short)(offsetof(type, m) +                                                \
                             0 * sizeof(char[sizeof(((type *)0)->m) == sizeof(int) ? 1 : -1])), \
            0                                                                                   \
    }
/* a char array member: a NUL-terminated string of at most its size - 1 bytes */
#define WF_CHARS_(type, m)                                                               \
    {                                                                                    \
        WF_CHARS,                                                                        \
            (unsigned short)(offsetof(type, m) +                                         \
                             0 * sizeof(_Generic(&((type *)0)->m,                        \
                                                 char(*)[sizeof(((type *)0)->m)] : 1))), \
            (unsigned short)sizeof(((type *)0)->m)                                       \
    }
#define WF_COUNT(t) (sizeof(t) / sizeof(t)[0])
void w_fields(wbuf *w, const void *obj, const wfield *f, size_t n);
void r_fields(rbuf *r, rarena *a, void *obj, const wfield *f, size_t n);

/* *dst (size bytes) as the caller's ABI struct src (NULL: none) holds it: src was built at its
 * own struct_size, its first member; what it lacks reads as zero. */
static inline void iso_copy_in(void *dst, size_t size, const void *src)
{
    size_t have = 0;
    memset(dst, 0, size);
    if (!src)
        return;
    memcpy(&have, src, sizeof have);
    memcpy(dst, src, have < size ? have : size);
}

/* The tables of the structs that cross (wire.c). */
extern const wfield wf_check[8], wf_job_spec[9], wf_proc_spec[9], wf_proc_result[7],
    wf_http_request[12];
/* A runner's poll(): what the host fills in each relhost_job_status, what the runner fills. */
extern const wfield wf_job_status_in[3], wf_job_status_out[8];

/* Send the message (the length is filled here). 0, or -1 with errno (EPIPE: the peer is gone). */
int w_send(int fd, wbuf *w);
/* Receive one message: its kind, or 0 at EOF, or -1 with errno. r owns the payload after. */
int w_recv(int fd, rbuf *r);
void r_free(rbuf *r);

/* The ctx fields an op carries (host_private stays on its side). */
void w_ctx(wbuf *w, const relhost_ctx *ctx);
void r_ctx(rbuf *r, rarena *a, relhost_ctx *out);

#endif
