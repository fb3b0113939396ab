/* SPDX-License-Identifier: MIT */
/* wire.c - framing and plain-data encoding of the plugin-server protocol (wire.h). */
#include "isolate/isolate_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

void w_init(wbuf *w, int kind)
{
    char k = (char)kind;
    sb_init(&w->b);
    sb_add(&w->b, "\0\0\0\0", 4); /* the length, filled by w_send */
    sb_add(&w->b, &k, 1);
}

void w_free(wbuf *w) { sb_free(&w->b); }

void w_u32(wbuf *w, uint32_t v) { sb_add(&w->b, (const char *)&v, sizeof v); }
void w_i32(wbuf *w, int32_t v) { sb_add(&w->b, (const char *)&v, sizeof v); }
void w_u64(wbuf *w, uint64_t v) { sb_add(&w->b, (const char *)&v, sizeof v); }
void w_f64(wbuf *w, double v) { sb_add(&w->b, (const char *)&v, sizeof v); }

void w_bytes(wbuf *w, const void *p, size_t n)
{
    w_u32(w, (uint32_t)n);
    sb_add(&w->b, p, n);
    sb_add(&w->b, "", 1);
}

void w_str(wbuf *w, const char *s)
{
    if (!s)
        w_u32(w, WIRE_NULL);
    else
        w_bytes(w, s, strlen(s));
}

void w_strv(wbuf *w, const char *const *v)
{
    uint32_t n = 0;
    if (!v) {
        w_u32(w, WIRE_NULL);
        return;
    }
    while (v[n])
        n++;
    w_u32(w, n);
    for (uint32_t i = 0; i < n; i++)
        w_str(w, v[i]);
}

/* n, then a[i] (and b[i] when b is given) for each i; absent: WIRE_NULL. */
static void w_counted(wbuf *w, int absent, size_t n, const char *const *a, const char *const *b)
{
    w_u32(w, absent ? WIRE_NULL : (uint32_t)n);
    for (size_t i = 0; !absent && i < n; i++) {
        w_str(w, a[i]);
        if (b)
            w_str(w, b[i]);
    }
}

void w_strlist(wbuf *w, const relhost_strlist *l)
{
    w_counted(w, !l, l ? l->n : 0, l ? l->v : NULL, NULL);
}

void w_map(wbuf *w, const relhost_map *m)
{
    w_counted(w, !m, m ? m->n : 0, m ? m->keys : NULL, m ? m->values : NULL);
}

void w_checks(wbuf *w, const relhost_checks *c)
{
    if (!c) {
        w_u32(w, WIRE_NULL);
        return;
    }
    w_u32(w, (uint32_t)c->n);
    for (size_t i = 0; i < c->n; i++) {
        const relhost_check_spec *s =
            (const relhost_check_spec *)((const char *)c->v + i * c->elem_size);
        int has12 = RELHOST_HAS(s, abs_tol);
        w_str(w, s->key);
        w_i32(w, (int32_t)s->op);
        w_f64(w, s->expected);
        w_f64(w, s->expected_hi);
        w_str(w, s->where);
        w_i32(w, has12 ? (int32_t)s->stat : 0);
        w_i32(w, has12 ? (int32_t)s->baseline : 0);
        w_f64(w, has12 ? s->rel_tol : 0);
        w_f64(w, has12 ? s->abs_tol : 0);
    }
}

static const void *take(rbuf *r, size_t n)
{
    const void *p;
    if (r->bad || r->n - r->off < n) {
        r->bad = 1;
        return NULL;
    }
    p = r->data + r->off;
    r->off += n;
    return p;
}

#define R_FIXED(name, type)                \
    type name(rbuf *r)                     \
    {                                      \
        type v = 0;                        \
        const void *p = take(r, sizeof v); \
        if (p)                             \
            memcpy(&v, p, sizeof v);       \
        return v;                          \
    }
R_FIXED(r_u32, uint32_t)
R_FIXED(r_i32, int32_t)
R_FIXED(r_u64, uint64_t)
R_FIXED(r_f64, double)

const char *r_bytes(rbuf *r, size_t *n)
{
    uint32_t len = r_u32(r);
    const char *p;
    *n = 0;
    if (len == WIRE_NULL || r->bad)
        return NULL;
    p = take(r, (size_t)len + 1);
    if (!p || p[len] != '\0') {
        r->bad = 1;
        return NULL;
    }
    *n = len;
    return p;
}

const char *r_str(rbuf *r)
{
    size_t n;
    return r_bytes(r, &n);
}

void *ra_alloc(rarena *a, size_t n)
{
    void *p = xcalloc(1, n ? n : 1);
    a->v = xrealloc(a->v, (a->n + 1) * sizeof *a->v);
    a->v[a->n++] = p;
    return p;
}

void ra_free(rarena *a)
{
    for (size_t i = 0; i < a->n; i++)
        free(a->v[i]);
    free(a->v);
    a->v = NULL;
    a->n = 0;
}

/* A count of n items of at least `min` bytes each must fit in what is left. */
static int count_ok(rbuf *r, uint32_t n, size_t min)
{
    if (r->bad || (size_t)n > (r->n - r->off) / min) {
        r->bad = 1;
        return 0;
    }
    return 1;
}

const char *const *r_strv(rbuf *r, rarena *a)
{
    uint32_t n = r_u32(r);
    const char **v;
    if (n == WIRE_NULL || !count_ok(r, n, 4))
        return NULL;
    v = ra_alloc(a, ((size_t)n + 1) * sizeof *v);
    for (uint32_t i = 0; i < n; i++)
        v[i] = r_str(r);
    return v;
}

int r_strlist(rbuf *r, rarena *a, relhost_strlist *out)
{
    uint32_t n = r_u32(r);
    const char **v;
    if (n == WIRE_NULL || !count_ok(r, n, 4))
        return 0;
    v = ra_alloc(a, ((size_t)n + 1) * sizeof *v);
    for (uint32_t i = 0; i < n; i++)
        v[i] = r_str(r);
    out->n = n;
    out->v = v;
    return 1;
}

int r_map(rbuf *r, rarena *a, relhost_map *out)
{
    uint32_t n = r_u32(r);
    const char **k, **v;
    if (n == WIRE_NULL || !count_ok(r, n, 8))
        return 0;
    k = ra_alloc(a, ((size_t)n + 1) * sizeof *k);
    v = ra_alloc(a, ((size_t)n + 1) * sizeof *v);
    for (uint32_t i = 0; i < n; i++) {
        k[i] = r_str(r);
        v[i] = r_str(r);
    }
    out->n = n;
    out->keys = k;
    out->values = v;
    return 1;
}

int r_checks(rbuf *r, rarena *a, relhost_checks *out)
{
    uint32_t n = r_u32(r);
    relhost_check_spec *v;
    if (n == WIRE_NULL || !count_ok(r, n, 48))
        return 0;
    v = ra_alloc(a, ((size_t)n + 1) * sizeof *v);
    for (uint32_t i = 0; i < n; i++) {
        v[i].struct_size = sizeof v[i];
        v[i].key = r_str(r);
        v[i].op = (relhost_op)r_i32(r);
        v[i].expected = r_f64(r);
        v[i].expected_hi = r_f64(r);
        v[i].where = r_str(r);
        v[i].stat = (relhost_stat)r_i32(r);
        v[i].baseline = (relhost_baseline_dir)r_i32(r);
        v[i].rel_tol = r_f64(r);
        v[i].abs_tol = r_f64(r);
    }
    out->n = n;
    out->elem_size = sizeof *v;
    out->v = v;
    return 1;
}

int w_send(int fd, wbuf *w)
{
    uint32_t len = (uint32_t)(w->b.len - 4);
    memcpy(w->b.s, &len, sizeof len);
    return write_all(fd, w->b.s, w->b.len);
}

static int read_full(int fd, void *buf, size_t n)
{
    char *p = buf;
    while (n) {
        ssize_t k = read(fd, p, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return -1;
        if (k == 0)
            return 0;
        p += k;
        n -= (size_t)k;
    }
    return 1;
}

int w_recv(int fd, rbuf *r)
{
    uint32_t len;
    int rc;
    memset(r, 0, sizeof *r);
    rc = read_full(fd, &len, sizeof len);
    if (rc <= 0)
        return rc;
    if (len < 1 || len > WIRE_MAX) {
        errno = EPROTO;
        return -1;
    }
    r->data = xmalloc(len);
    rc = read_full(fd, r->data, len);
    if (rc <= 0) {
        free(r->data);
        r->data = NULL;
        return rc < 0 ? -1 : 0;
    }
    r->n = len;
    r->off = 1;
    return (unsigned char)r->data[0];
}

void r_free(rbuf *r)
{
    free(r->data);
    memset(r, 0, sizeof *r);
}

void w_ctx(wbuf *w, const relhost_ctx *c)
{
    w_i32(w, (int32_t)c->mode);
    w_str(w, c->version);
    w_str(w, c->commit);
    w_str(w, c->step);
    w_str(w, c->profile);
    w_strlist(w, &c->profile_members);
    w_strlist(w, &c->only);
    w_i32(w, c->retry_failed);
    w_i32(w, c->interactive);
    w_i32(w, c->verbose);
    w_str(w, c->state_dir);
    w_str(w, c->log_dir);
    w_str(w, c->plan_dir);
}

void r_ctx(rbuf *r, rarena *a, relhost_ctx *c)
{
    memset(c, 0, sizeof *c);
    c->struct_size = sizeof *c;
    c->mode = (relhost_mode)r_i32(r);
    c->version = r_str(r);
    c->commit = r_str(r);
    c->step = r_str(r);
    c->profile = r_str(r);
    r_strlist(r, a, &c->profile_members);
    r_strlist(r, a, &c->only);
    c->retry_failed = r_i32(r);
    c->interactive = r_i32(r);
    c->verbose = r_i32(r);
    c->state_dir = r_str(r);
    c->log_dir = r_str(r);
    c->plan_dir = r_str(r);
}

void w_fields(wbuf *w, const void *obj, const wfield *f, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const char *m = (const char *)obj + f[i].off;
        switch (f[i].kind) {
        case WF_STR: w_str(w, *(const char *const *)(const void *)m); break;
        case WF_INT: w_i32(w, (int32_t) * (const int *)(const void *)m); break;
        case WF_DBL: w_f64(w, *(const double *)(const void *)m); break;
        case WF_SIZE: w_u64(w, (uint64_t) * (const size_t *)(const void *)m); break;
        case WF_CHARS: w_bytes(w, m, strnlen(m, f[i].size ? f[i].size - 1u : 0)); break;
        default: w_strv(w, *(const char *const *const *)(const void *)m); break;
        }
    }
}

void r_fields(rbuf *r, rarena *a, void *obj, const wfield *f, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char *m = (char *)obj + f[i].off;
        switch (f[i].kind) {
        case WF_STR: *(const char **)(void *)m = r_str(r); break;
        case WF_INT: *(int *)(void *)m = (int)r_i32(r); break;
        case WF_DBL: *(double *)(void *)m = r_f64(r); break;
        case WF_SIZE: *(size_t *)(void *)m = (size_t)r_u64(r); break;
        case WF_CHARS: {
            size_t len;
            const char *v = r_bytes(r, &len);
            if (f[i].size == 0)
                break;
            if (!v || len >= f[i].size) {
                r->bad |= v != NULL; /* longer than the array: a broken peer */
                len = 0;
            }
            if (len)
                memcpy(m, v, len);
            m[len] = '\0';
            break;
        }
        default: *(const char *const **)(void *)m = r_strv(r, a); break;
        }
    }
}

/* WF(KIND, member) of the struct WF_T names for the table below it. */
#define WF(kind, m) WF_##kind##_(WF_T, m)
#define WF_T relhost_check
const wfield wf_check[8] = {WF(STR, key),         WF(STR, op),         WF(DBL, expected),
                            WF(DBL, expected_hi), WF(INT, has_actual), WF(DBL, actual),
                            WF(INT, passed),      WF(STR, note)};
#undef WF_T
#define WF_T relhost_job_spec
const wfield wf_job_spec[9] = {WF(STR, key),      WF(STR, validation), WF(STRV, argv),
                               WF(STRV, env),     WF(STR, cwd),        WF(DBL, timeout_s),
                               WF(STR, log_path), WF(INT, nodes),      WF(INT, gpus)};
#undef WF_T
#define WF_T relhost_proc_spec
const wfield wf_proc_spec[9] = {WF(STRV, argv),     WF(STRV, env),       WF(STR, cwd),
                                WF(DBL, timeout_s), WF(DBL, grace_s),    WF(SIZE, capture_max),
                                WF(STR, log_path),  WF(STR, stdin_data), WF(INT, clear_env)};
#undef WF_T
#define WF_T relhost_proc_result
const wfield wf_proc_result[7] = {WF(INT, exited),    WF(INT, exit_code),   WF(INT, signal),
                                  WF(INT, timed_out), WF(INT, exec_failed), WF(INT, truncated),
                                  WF(DBL, duration_s)};
#undef WF_T
#define WF_T relhost_http_request
const wfield wf_http_request[12] = {
    WF(STR, method),       WF(STR, url),       WF(STRV, headers),          WF(STR, bearer_env),
    WF(STR, basic_user),   WF(STR, basic_env), WF(DBL, connect_timeout_s), WF(DBL, timeout_s),
    WF(INT, max_attempts), WF(DBL, budget_s),  WF(SIZE, max_response),     WF(INT, at_most_once)};
#undef WF_T
#define WF_T relhost_job_status
const wfield wf_job_status_in[3] = {WF(STR, key), WF(STR, external_id), WF(ENUM, state)};
const wfield wf_job_status_out[8] = {
    WF(ENUM, state), WF(CHARS, new_external_id), WF(ENUM, end),           WF(INT, exit_code),
    WF(INT, signal), WF(INT, restarts),          WF(CHARS, engine_state), WF(CHARS, engine_reason)};
#undef WF_T
#undef WF

void iso_w_proc_spec(wbuf *w, const relhost_proc_spec *in)
{
    relhost_proc_spec s;
    iso_copy_in(&s, sizeof s, in);
    w_fields(w, &s, wf_proc_spec, WF_COUNT(wf_proc_spec));
}

void iso_r_proc_spec(rbuf *r, rarena *a, relhost_proc_spec *s)
{
    memset(s, 0, sizeof *s);
    s->struct_size = sizeof *s;
    r_fields(r, a, s, wf_proc_spec, WF_COUNT(wf_proc_spec));
}

void iso_w_proc_result(wbuf *w, const relhost_proc_result *res, int with_output)
{
    w_fields(w, res, wf_proc_result, WF_COUNT(wf_proc_result));
    w_i32(w, with_output);
    if (with_output) {
        w_bytes(w, res->out ? res->out : "", res->out ? res->out_len : 0);
        w_bytes(w, res->err ? res->err : "", res->err ? res->err_len : 0);
    }
}

static char *dup_bytes(const char *p, size_t n)
{
    char *s = xmalloc(n + 1);
    memcpy(s, p ? p : "", n);
    s[n] = '\0';
    return s;
}

void iso_r_proc_result(rbuf *r, relhost_proc_result *res)
{
    relhost_proc_result k;
    memset(&k, 0, sizeof k);
    k.struct_size = sizeof k;
    r_fields(r, NULL, &k, wf_proc_result, WF_COUNT(wf_proc_result));
    if (r_i32(r)) {
        const char *p = r_bytes(r, &k.out_len);
        k.out = dup_bytes(p, k.out_len);
        p = r_bytes(r, &k.err_len);
        k.err = dup_bytes(p, k.err_len);
    }
    if (!res) {
        free(k.out);
        free(k.err);
        return;
    }
    /* the caller's struct_size bounds what is written; 0 (a zeroed result) takes all of it */
    if (res->struct_size && res->struct_size < sizeof k) {
        size_t sz = res->struct_size;
        if (sz <= offsetof(relhost_proc_result, err)) {
            free(k.err);
            k.err = NULL;
        }
        if (sz <= offsetof(relhost_proc_result, out)) {
            free(k.out);
            k.out = NULL;
        }
        k.struct_size = sz;
        memcpy(res, &k, sz);
        return;
    }
    *res = k;
}
