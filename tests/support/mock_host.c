/* SPDX-License-Identifier: MIT */
/* mock_host.c - the recording fake host of mock_host.h. */
#include "mock_host.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A test that runs out of memory cannot report anything useful: stop loudly. */
static void *mock_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (q == NULL) {
        fprintf(stderr, "mock_host: out of memory\n");
        abort();
    }
    return q;
}

static char *mock_xstrdup(const char *s)
{
    if (s == NULL)
        return NULL;
    size_t n = strlen(s) + 1;
    char *d = mock_xrealloc(NULL, n);
    memcpy(d, s, n);
    return d;
}

static char *mock_vformat(const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return mock_xstrdup("(unformattable message)");
    char *s = mock_xrealloc(NULL, (size_t)n + 1);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    return s;
}

/* Every service finds its recorder through the context the op was given. */
static mock_host *mock_of(const relhost_ctx *ctx)
{
    if (ctx == NULL || ctx->host_private == NULL) {
        fprintf(stderr, "mock_host: a service was called without the mock's ctx\n");
        abort();
    }
    return ctx->host_private;
}

static void mock_log_fn(const relhost_ctx *ctx, relhost_level level, const char *fmt, ...)
{
    mock_host *m = mock_of(ctx);
    va_list ap;
    va_start(ap, fmt);
    char *msg = mock_vformat(fmt, ap);
    va_end(ap);
    m->logs = mock_xrealloc(m->logs, (m->n_logs + 1) * sizeof(*m->logs));
    m->logs[m->n_logs++] = (mock_log){.level = level, .msg = msg};
}

static void mock_fail(const relhost_ctx *ctx, const char *fmt, ...)
{
    mock_host *m = mock_of(ctx);
    va_list ap;
    va_start(ap, fmt);
    char *msg = mock_vformat(fmt, ap);
    va_end(ap);
    m->fails = mock_xrealloc(m->fails, (m->n_fails + 1) * sizeof(*m->fails));
    m->fails[m->n_fails++] = msg;
}

static const char *mock_where(const relhost_ctx *ctx, const void *conf_field)
{
    mock_host *m = mock_of(ctx);
    const char *w = m->where_fn != NULL ? m->where_fn(m->where_arg, conf_field) : NULL;
    return w != NULL ? w : "the plan";
}

static const char *mock_secret(const relhost_ctx *ctx, const char *name)
{
    mock_host *m = mock_of(ctx);
    size_t n = strlen(name);
    for (size_t i = 0; m->secrets != NULL && m->secrets[i] != NULL; i++)
        if (strncmp(m->secrets[i], name, n) == 0 && m->secrets[i][n] == '=')
            return m->secrets[i][n + 1] != '\0' ? m->secrets[i] + n + 1 : NULL;
    return NULL;
}

static int mock_check_add(const relhost_ctx *ctx, const relhost_check *check)
{
    mock_host *m = mock_of(ctx);
    m->checks = mock_xrealloc(m->checks, (m->n_checks + 1) * sizeof(*m->checks));
    mock_check *c = &m->checks[m->n_checks++];
    memset(c, 0, sizeof(*c));
    size_t n = check->struct_size < sizeof(c->check) ? check->struct_size : sizeof(c->check);
    memcpy(&c->check, check, n);
    c->key = mock_xstrdup(check->key);
    c->op = mock_xstrdup(check->op);
    c->note = mock_xstrdup(check->note);
    c->check.key = c->key;
    c->check.op = c->op;
    c->check.note = c->note;
    return 0;
}

static int mock_metric_set(const relhost_ctx *ctx, const char *key, double value,
                           const relhost_metric_info *info)
{
    mock_host *m = mock_of(ctx);
    if (key == NULL)
        return RELHOST_EINVAL;
    m->metrics = mock_xrealloc(m->metrics, (m->n_metrics + 1) * sizeof(*m->metrics));
    mock_metric *mm = &m->metrics[m->n_metrics++];
    memset(mm, 0, sizeof(*mm));
    mm->key = mock_xstrdup(key);
    mm->value = value;
    if (info != NULL) {
        mm->has_info = 1;
        if (RELHOST_HAS(info, source))
            mm->source = mock_xstrdup(info->source);
        if (RELHOST_HAS(info, pattern))
            mm->pattern = mock_xstrdup(info->pattern);
        if (RELHOST_HAS(info, reducer))
            mm->reducer = mock_xstrdup(info->reducer);
        if (RELHOST_HAS(info, samples))
            mm->samples = info->samples;
    }
    return 0;
}

static int mock_label_set(const relhost_ctx *ctx, const char *key, const char *value)
{
    mock_host *m = mock_of(ctx);
    if (key == NULL || value == NULL)
        return RELHOST_EINVAL;
    m->labels = mock_xrealloc(m->labels, (m->n_labels + 1) * sizeof(*m->labels));
    m->labels[m->n_labels++] = (mock_label){.key = mock_xstrdup(key), .value = mock_xstrdup(value)};
    return 0;
}

static int mock_artifact_add(const relhost_ctx *ctx, const char *kind, const char *uri,
                             const char *sha256)
{
    mock_host *m = mock_of(ctx);
    m->artifacts = mock_xrealloc(m->artifacts, (m->n_artifacts + 1) * sizeof(*m->artifacts));
    m->artifacts[m->n_artifacts++] = (mock_artifact){
        .kind = mock_xstrdup(kind), .uri = mock_xstrdup(uri), .sha256 = mock_xstrdup(sha256)};
    return 0;
}

static int mock_note_add(const relhost_ctx *ctx, const char *fmt, ...)
{
    mock_host *m = mock_of(ctx);
    va_list ap;
    va_start(ap, fmt);
    char *msg = mock_vformat(fmt, ap);
    va_end(ap);
    m->notes = mock_xrealloc(m->notes, (m->n_notes + 1) * sizeof(*m->notes));
    m->notes[m->n_notes++] = msg;
    return 0;
}

static void mock_free_fn(void *p) { free(p); }

/* The real host's words (core/run/host.c) for the codes plugins name in their messages. */
static const char *mock_strerror(int code)
{
    switch (code) {
    case RELHOST_EINVAL: return "invalid request";
    case RELHOST_ENOMEM: return "out of memory";
    case RELHOST_ETIMEDOUT: return "timed out";
    case RELHOST_EIO: return "a failure retrying won't fix";
    case RELHOST_ERETRY: return "a transient failure";
    default: return "unknown error";
    }
}

void mock_host_init(mock_host *m)
{
    memset(m, 0, sizeof(*m));
    m->host.struct_size = sizeof(m->host);
    m->host.abi_major = RELHOST_ABI_MAJOR;
    m->host.abi_minor = RELHOST_ABI_MINOR;
    m->host.log = mock_log_fn;
    m->host.fail = mock_fail;
    m->host.where = mock_where;
    m->host.secret = mock_secret;
    m->host.check_add = mock_check_add;
    m->host.metric_set = mock_metric_set;
    m->host.label_set = mock_label_set;
    m->host.artifact_add = mock_artifact_add;
    m->host.note_add = mock_note_add;
    m->host.free = mock_free_fn;
    m->host.strerror = mock_strerror;
    m->ctx.struct_size = sizeof(m->ctx);
    m->ctx.mode = RELHOST_MODE_RUN;
    m->ctx.version = "test";
    m->ctx.step = "test-step";
    m->ctx.host_private = m;
}

void mock_host_reset(mock_host *m)
{
    for (size_t i = 0; i < m->n_metrics; i++) {
        free(m->metrics[i].key);
        free(m->metrics[i].source);
        free(m->metrics[i].pattern);
        free(m->metrics[i].reducer);
    }
    for (size_t i = 0; i < m->n_labels; i++) {
        free(m->labels[i].key);
        free(m->labels[i].value);
    }
    for (size_t i = 0; i < m->n_notes; i++)
        free(m->notes[i]);
    for (size_t i = 0; i < m->n_logs; i++)
        free(m->logs[i].msg);
    for (size_t i = 0; i < m->n_fails; i++)
        free(m->fails[i]);
    for (size_t i = 0; i < m->n_checks; i++) {
        free(m->checks[i].key);
        free(m->checks[i].op);
        free(m->checks[i].note);
    }
    for (size_t i = 0; i < m->n_artifacts; i++) {
        free(m->artifacts[i].kind);
        free(m->artifacts[i].uri);
        free(m->artifacts[i].sha256);
    }
    free(m->metrics);
    free(m->labels);
    free(m->notes);
    free(m->logs);
    free(m->fails);
    free(m->checks);
    free(m->artifacts);
    m->metrics = NULL;
    m->labels = NULL;
    m->notes = NULL;
    m->logs = NULL;
    m->fails = NULL;
    m->checks = NULL;
    m->artifacts = NULL;
    m->n_metrics = m->n_labels = m->n_notes = m->n_logs = m->n_fails = 0;
    m->n_checks = m->n_artifacts = 0;
}

void mock_host_free(mock_host *m) { mock_host_reset(m); }

const mock_metric *mock_host_metric(const mock_host *m, const char *key)
{
    for (size_t i = m->n_metrics; i-- > 0;)
        if (strcmp(m->metrics[i].key, key) == 0)
            return &m->metrics[i];
    return NULL;
}

size_t mock_host_metric_count(const mock_host *m, const char *key)
{
    size_t n = 0;
    for (size_t i = 0; i < m->n_metrics; i++)
        n += strcmp(m->metrics[i].key, key) == 0;
    return n;
}

const char *mock_host_label(const mock_host *m, const char *key)
{
    for (size_t i = m->n_labels; i-- > 0;)
        if (strcmp(m->labels[i].key, key) == 0)
            return m->labels[i].value;
    return NULL;
}

const char *mock_host_note(const mock_host *m, const char *needle)
{
    for (size_t i = 0; i < m->n_notes; i++)
        if (strstr(m->notes[i], needle) != NULL)
            return m->notes[i];
    return NULL;
}

const char *mock_host_last_fail(const mock_host *m)
{
    return m->n_fails > 0 ? m->fails[m->n_fails - 1] : NULL;
}

const char *mock_host_log_line(const mock_host *m, relhost_level max_level, const char *needle)
{
    for (size_t i = 0; i < m->n_logs; i++)
        if (m->logs[i].level <= max_level && strstr(m->logs[i].msg, needle) != NULL)
            return m->logs[i].msg;
    return NULL;
}
