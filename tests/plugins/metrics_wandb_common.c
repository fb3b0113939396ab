/* SPDX-License-Identifier: MIT */
/* tests/plugins/metrics_wandb_common.c - the metrics_wandb unit tests' fixture: a scripted
 * host->http_request that records every request and answers with canned replies, a conf filled from
 * plan text, jobs, and the checks that no form of the key leaks. */

#include "metrics_wandb_common.h"

static const char *fx_where(void *arg, const void *field) { return optstore_where(arg, field); }

static char *xdup(const char *s) { return s != NULL ? strdup(s) : NULL; }

static int http_script(const relhost_ctx *ctx, const relhost_http_request *req,
                       relhost_http_response **out)
{
    struct fx *f = ctx->host_private; /* the mock_host, which is the fixture's first member */
    *out = NULL;
    if (f->n_sent == 8)
        fail_msg("more than 8 HTTP requests");
    struct sent *s = &f->sent[f->n_sent++];
    s->method = xdup(req->method);
    s->url = xdup(req->url);
    s->body = req->body != NULL ? strndup(req->body, req->body_len) : NULL;
    s->basic_user = xdup(req->basic_user);
    s->basic_env = xdup(req->basic_env);
    s->bearer_env = xdup(req->bearer_env);
    for (size_t i = 0; req->headers != NULL && req->headers[i] != NULL && i < 7; i++)
        s->headers[i] = xdup(req->headers[i]);
    s->timeout_s = req->timeout_s;
    s->budget_s = req->budget_s;
    if (f->next_reply == f->n_replies)
        fail_msg("unexpected HTTP request %zu: %s", f->n_sent, s->body);
    const struct reply *r = &f->replies[f->next_reply++];
    if (r->body == NULL) {
        if (r->rc != RELHOST_EINTR) /* as the host does: an interrupt explains nothing */
            (f->m.host.fail)(ctx, "POST %s: connection refused after 4 attempts", req->url);
        return r->rc;
    }
    relhost_http_response *resp = calloc(1, sizeof(*resp) + 2 * sizeof(char *));
    assert_non_null(resp);
    const char **headers = (const char **)(resp + 1); /* stored after the struct, freed with it */
    headers[0] = r->header;
    resp->struct_size = sizeof(*resp);
    resp->status = r->status;
    resp->body = strdup(r->body);
    resp->body_len = strlen(r->body);
    resp->headers = headers;
    resp->attempts = 1;
    *out = resp;
    return 0;
}

static void http_free(relhost_http_response *r)
{
    if (r != NULL)
        free(r->body);
    free(r);
}

/* {validation} and {attempt} only: enough to see what the plugin passes. */
static int fake_expand(const relhost_ctx *ctx, const char *tmpl, const char *const *vars, size_t n,
                       char **out)
{
    char buf[512];
    size_t k = 0;
    (void)ctx;
    for (const char *p = tmpl; *p && k + 1 < sizeof(buf);) {
        int done = 0;
        for (size_t i = 0; i < n && !done; i++) {
            char ph[64];
            snprintf(ph, sizeof(ph), "{%s}", vars[2 * i]);
            if (strncmp(p, ph, strlen(ph)) == 0) {
                k += (size_t)snprintf(buf + k, sizeof(buf) - k, "%s", vars[2 * i + 1]);
                p += strlen(ph);
                done = 1;
            }
        }
        if (!done)
            buf[k++] = *p++;
    }
    buf[k] = '\0';
    *out = strdup(buf);
    return 0;
}

static const char *const fx_secrets[] = {"WANDB_API_KEY=" KEY, NULL};

/* Fill the conf from plan text and open an instance; the open's return is kept in open_rc. */
struct fx *fx_new(const char *text)
{
    struct fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    mock_host_init(&f->m);
    f->m.host.http_request = http_script;
    f->m.host.http_response_free = http_free;
    f->m.host.expand = fake_expand;
    f->m.secrets = fx_secrets;
    assert_int_equal(relhost_plugin_entry(&f->m.host, &f->pl), 0);
    assert_int_equal(f->pl->conf_size, sizeof(f->conf));
    int rc = options_fill_text(f->pl, &f->conf, text, &f->st);
    if (rc != 0)
        fail_msg("options_fill_text(%s): %s", text, error_last());
    f->m.where_fn = fx_where;
    f->m.where_arg = f->st;
    f->open_rc = f->pl->metrics->open(&f->m.ctx, &f->conf, &f->inst);
    return f;
}

void fx_reply(struct fx *f, long status, const char *body)
{
    assert_true(f->n_replies < 8);
    f->replies[f->n_replies++] = (struct reply){.status = status, .body = body};
}

void fx_free(struct fx *f)
{
    if (f->inst != NULL)
        f->pl->metrics->close(f->inst);
    for (size_t i = 0; i < f->n_sent; i++) {
        struct sent *s = &f->sent[i];
        free(s->method);
        free(s->url);
        free(s->body);
        free(s->basic_user);
        free(s->basic_env);
        free(s->bearer_env);
        for (size_t k = 0; k < 8; k++)
            free(s->headers[k]);
    }
    optstore_free(f->st);
    mock_host_free(&f->m);
    free(f);
}

/* A job of validation "train", attempt 1, with the fixture's env; returns the job. */
void *fx_job(struct fx *f)
{
    const char *env[10] = {"RELHOST_ATTEMPT=1"};
    size_t n = 1;
    for (size_t i = 0; f->env[i] != NULL && n < 9; i++)
        env[n++] = f->env[i];
    relhost_job_spec spec = {
        .struct_size = sizeof(spec), .key = "rh-test-train-a1", .validation = "train", .env = env};
    void *job = NULL;
    assert_int_equal(f->open_rc, 0);
    assert_int_equal(f->pl->metrics->job_open(&f->m.ctx, f->inst, &spec, &job), 0);
    return job;
}

/* Feed log whole to a fresh job, collect, close; returns collect's result. */
int fx_run(struct fx *f, const char *log)
{
    void *job = fx_job(f);
    if (log != NULL)
        assert_int_equal(f->pl->metrics->feed(&f->m.ctx, job, log, strlen(log)), 0);
    int rc = f->pl->metrics->collect(&f->m.ctx, job);
    f->pl->metrics->job_close(job);
    return rc;
}

double metric_value(const mock_host *m, const char *key)
{
    const mock_metric *mm = mock_host_metric(m, key);
    if (mm == NULL)
        fail_msg("metric %s was not posted", key);
    return mm->value;
}

void assert_contains(const char *hay, const char *needle)
{
    if (hay == NULL || strstr(hay, needle) == NULL)
        fail_msg("\"%s\" does not contain \"%s\"", hay ? hay : "(null)", needle);
}

const char *last_fail(const struct fx *f)
{
    const char *m = mock_host_last_fail(&f->m);
    if (m == NULL)
        fail_msg("fail() was not called");
    return m;
}

/* Nothing the plugin handed the host, and nothing it sent, holds the key in any form. */
void assert_no_secret(const struct fx *f)
{
    const char *forms[] = {KEY, KEY_B64_PAIR, "ay0wMTIzNDU2Nzg5YWJjZGVmMDEyMw=="};
    for (size_t k = 0; k < 3; k++) {
        for (size_t i = 0; i < f->m.n_notes; i++)
            assert_null(strstr(f->m.notes[i], forms[k]));
        for (size_t i = 0; i < f->m.n_fails; i++)
            assert_null(strstr(f->m.fails[i], forms[k]));
        for (size_t i = 0; i < f->m.n_logs; i++)
            assert_null(strstr(f->m.logs[i].msg, forms[k]));
        for (size_t i = 0; i < f->m.n_labels; i++)
            assert_null(strstr(f->m.labels[i].value, forms[k]));
        for (size_t i = 0; i < f->n_sent; i++) {
            assert_null(strstr(f->sent[i].body, forms[k]));
            assert_null(strstr(f->sent[i].url, forms[k]));
            for (size_t h = 0; f->sent[i].headers[h] != NULL; h++)
                assert_null(strstr(f->sent[i].headers[h], forms[k]));
        }
    }
}
