/* SPDX-License-Identifier: MIT */
/* fuzz_host.c - the scripted services of fuzz_host.h. */
#include "fuzz_host.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One input at a time: the harnesses are single-threaded, like the host. */
static struct {
    const uint8_t *p, *end;
    size_t calls;
    int done;
    char link[512];
    mock_host *m;
} script;

static const long STATUSES[] = {200, 200, 201, 200, 404, 422, 429, 500,
                                401, 403, 502, 204, 302, 410, 400, 503};

/* Header sets, chosen by the envelope byte's high nibble (bits 4-7, modulo the count). */
static const char *const H_NONE[] = {NULL};
static const char *const H_RETRY[] = {"retry-after: 1", NULL};
static const char *const H_PRIMARY[] = {"x-ratelimit-remaining: 0", "x-ratelimit-reset: 1", NULL};
static const char *const H_JSON[] = {"content-type: application/json; charset=utf-8", NULL};
static const char *const H_BAD[] = {"x-ratelimit-remaining: x", "retry-after: -5",
                                    "link: <>; rel=\"next\"", NULL};

/* The next record, or 0 when none is left (or too many calls were made). */
static int next_record(const uint8_t **rec, size_t *len)
{
    if (script.done || script.p >= script.end || ++script.calls > FUZZ_MAX_CALLS) {
        script.done = 1;
        return 0;
    }
    const uint8_t *s = script.p;
    const uint8_t *rs = memchr(s, FUZZ_RS, (size_t)(script.end - s));
    *rec = s;
    *len = rs ? (size_t)(rs - s) : (size_t)(script.end - s);
    script.p = rs ? rs + 1 : script.end;
    return 1;
}

static char *dup_n(const uint8_t *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d == NULL)
        abort();
    if (n)
        memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

/* The response and its header array in one block, so free() needs nothing but the two. */
struct resp_block {
    relhost_http_response r;
    const char *headers[4];
};

static int scripted_http(const relhost_ctx *ctx, const relhost_http_request *req,
                         relhost_http_response **out)
{
    const uint8_t *rec;
    size_t len;
    *out = NULL;
    (void)req;
    if (!next_record(&rec, &len)) {
        script.m->host.fail(ctx, "fuzz: no reply left (connection refused)");
        return RELHOST_EIO;
    }
    struct resp_block *b = calloc(1, sizeof *b);
    if (b == NULL)
        abort();
    unsigned env = len ? rec[0] : 0;
    b->r.struct_size = sizeof b->r;
    b->r.status = STATUSES[env % (sizeof STATUSES / sizeof STATUSES[0])];
    b->r.body = dup_n(rec + (len ? 1 : 0), len ? len - 1 : 0);
    b->r.body_len = len ? len - 1 : 0;
    b->r.attempts = 1 + (int)((env >> 7) & 1);
    switch ((env >> 4) % 6) {
    case 0: b->r.headers = H_NONE; break;
    case 1: b->r.headers = H_RETRY; break;
    case 2: b->r.headers = H_PRIMARY; break;
    case 3: b->r.headers = H_JSON; break;
    case 4:
        b->headers[0] = script.link;
        b->headers[1] = NULL;
        b->r.headers = b->headers;
        break;
    default: b->r.headers = H_BAD; break;
    }
    *out = &b->r;
    return 0;
}

static void scripted_http_free(relhost_http_response *r)
{
    if (r == NULL)
        return;
    free(r->body);
    free(r); /* r is the first member of its resp_block */
}

static int scripted_proc_run(const relhost_ctx *ctx, const relhost_proc_spec *spec,
                             relhost_proc_result *res)
{
    const uint8_t *rec;
    size_t len;
    (void)spec;
    if (!next_record(&rec, &len)) {
        script.m->host.fail(ctx, "fuzz: the command could not be started (no output left)");
        return RELHOST_EIO;
    }
    unsigned env = len ? rec[0] : 0;
    const uint8_t *body = rec + (len ? 1 : 0);
    size_t blen = len ? len - 1 : 0;
    const uint8_t *us = memchr(body, FUZZ_US, blen);
    size_t olen = us ? (size_t)(us - body) : blen;
    res->out = dup_n(body, olen);
    res->out_len = olen;
    res->err = us ? dup_n(us + 1, blen - olen - 1) : dup_n(body, 0);
    res->err_len = us ? blen - olen - 1 : 0;
    switch (env % 8) {
    case 0:
    case 1:
    case 2:
        res->exited = 1;
        res->exit_code = 0;
        break;
    case 3:
        res->exited = 1;
        res->exit_code = 1;
        break;
    case 4:
        res->exited = 1;
        res->exit_code = (int)(env >> 3);
        break;
    case 5: res->signal = 9; break;
    case 6:
        res->exited = 1;
        res->exit_code = 124;
        res->timed_out = 1;
        break;
    default:
        res->exited = 1;
        res->exit_code = 127;
        res->exec_failed = 1;
        break;
    }
    res->truncated = (env >> 7) & 1;
    return 0;
}

static void scripted_proc_free(relhost_proc_result *res)
{
    if (res == NULL)
        return;
    free(res->out);
    free(res->err);
    res->out = res->err = NULL;
}

void fuzz_host_script(mock_host *m, const uint8_t *data, size_t size, const char *base_url)
{
    static const uint8_t none[1];
    script.m = m;
    script.p = data ? data : none; /* never NULL + 0 */
    script.end = script.p + size;
    script.calls = 0;
    script.done = 0;
    snprintf(script.link, sizeof script.link, "link: <%s/page2?page=2>; rel=\"next\"",
             base_url ? base_url : "http://127.0.0.1:9");
    m->host.http_request = scripted_http;
    m->host.http_response_free = scripted_http_free;
    m->host.proc_run = scripted_proc_run;
    m->host.proc_result_free = scripted_proc_free;
}

void fuzz_host_dump(const mock_host *m, const char *what)
{
    if (getenv("RELHOST_FUZZ_VERBOSE") == NULL)
        return;
    fprintf(stderr, "%s after %zu call(s)\n", what, script.calls);
    for (size_t i = 0; i < m->n_fails; i++)
        fprintf(stderr, "  fail: %s\n", m->fails[i]);
    for (size_t i = 0; i < m->n_notes; i++)
        fprintf(stderr, "  note: %s\n", m->notes[i]);
    for (size_t i = 0; i < m->n_metrics; i++)
        fprintf(stderr, "  metric: %s = %g\n", m->metrics[i].key, m->metrics[i].value);
}
