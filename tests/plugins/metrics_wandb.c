/* SPDX-License-Identifier: MIT */
/*
 * Tests of plugins/metrics_wandb: finding the run in a log however it is cut, reading it from a
 * run folder or from the W&B GraphQL API, reducing history exactly, and failing (or not) as
 * DESIGN.md says.
 *
 * The plugin source is compiled into this test so that its line carry can be checked directly;
 * every conf is filled by the host's own options_fill_text() from plan text, so the option table
 * is tested too. The mock host has no HTTP service, so each test that needs one installs a
 * scripted host->http_request: it records every request (URL, body, auth fields) and answers
 * with canned replies shaped like W&B's (../../../shared/API_SHAPES.md). The real HTTP path, over
 * a socket to tests/fakes/wandb_fake.py, is covered end to end by metrics_wandb.py.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Before cmocka.h, whose fail() macro would rewrite the plugin's host->fail() calls. */
#include "../../plugins/common/pl_host.h"
#include "../../plugins/metrics_wandb/metrics_wandb_int.h"

#include <cmocka.h>

#include "base/error.h"
#include "mock_host.h"
#include "plan/options.h"

#define KEY "k-0123456789abcdef0123"
/* base64("api:" KEY) and the key's own base64: neither may appear anywhere */
#define KEY_B64_PAIR "YXBpOmstMDEyMzQ1Njc4OWFiY2RlZjAxMjM="

/* ---- Scripted HTTP --------------------------------------------------------------------------- */

struct reply {
    long status;
    const char *body; /* NULL: a transport failure returning rc */
    int rc;
    const char *header; /* one response header, "name: value" with the name lower-cased */
};

struct sent {
    char *method, *url, *body, *basic_user, *basic_env, *bearer_env;
    char *headers[8];
    double timeout_s, budget_s;
};

/* ---- Fixture --------------------------------------------------------------------------------- */

struct fx {
    mock_host m; /* first: the HTTP script finds its fixture from the mock's ctx */
    const relhost_plugin *pl;
    struct metrics_wandb_conf conf;
    optstore *st;
    void *inst;
    int open_rc;
    struct reply replies[8];
    size_t n_replies, next_reply;
    struct sent sent[8];
    size_t n_sent;
    const char *env[8]; /* the job's environment */
};

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
static struct fx *fx_new(const char *text)
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

#define SRC_API                                                                                  \
    "base_url = \"http://127.0.0.1:8080/\"; "                                                    \
    "metrics = ( { name = \"sps\"; key = \"overview/sps\"; },"                                   \
    "            { name = \"sps_max\"; key = \"overview/sps\"; reducer = \"max\"; },"            \
    "            { name = \"sps_min\"; key = \"overview/sps\"; reducer = \"min\"; },"            \
    "            { name = \"sps_mean\"; key = \"overview/sps\"; reducer = \"mean\"; },"          \
    "            { name = \"sps_tail\"; key = \"overview/sps\"; reducer = \"mean_last_pct\"; }," \
    "            { name = \"success\"; key = \"eval/success_rate\"; } );"

static void fx_reply(struct fx *f, long status, const char *body)
{
    assert_true(f->n_replies < 8);
    f->replies[f->n_replies++] = (struct reply){.status = status, .body = body};
}

static void fx_free(struct fx *f)
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
static void *fx_job(struct fx *f)
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
static int fx_run(struct fx *f, const char *log)
{
    void *job = fx_job(f);
    if (log != NULL)
        assert_int_equal(f->pl->metrics->feed(&f->m.ctx, job, log, strlen(log)), 0);
    int rc = f->pl->metrics->collect(&f->m.ctx, job);
    f->pl->metrics->job_close(job);
    return rc;
}

static double metric_value(const mock_host *m, const char *key)
{
    const mock_metric *mm = mock_host_metric(m, key);
    if (mm == NULL)
        fail_msg("metric %s was not posted", key);
    return mm->value;
}

static void assert_contains(const char *hay, const char *needle)
{
    if (hay == NULL || strstr(hay, needle) == NULL)
        fail_msg("\"%s\" does not contain \"%s\"", hay ? hay : "(null)", needle);
}

static const char *last_fail(const struct fx *f)
{
    const char *m = mock_host_last_fail(&f->m);
    if (m == NULL)
        fail_msg("fail() was not called");
    return m;
}

/* Nothing the plugin handed the host, and nothing it sent, holds the key in any form. */
static void assert_no_secret(const struct fx *f)
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

/* ---- Replies shaped like W&B's --------------------------------------------------------------- */

/* summaryMetrics is a JSON-encoded string inside the JSON reply. */
#define RUN_REPLY                                                                           \
    "{\"data\":{\"project\":{\"run\":{\"id\":\"UnVuOnYxOmFiYw==\",\"name\":\"abc\","        \
    "\"displayName\":\"bright-sun-7\",\"state\":\"finished\","                              \
    "\"summaryMetrics\":\"{\\\"overview/sps\\\": 812.5, \\\"eval/success_rate\\\": 0.875, " \
    "\\\"_step\\\": 7, \\\"_runtime\\\": 31.5, \\\"train/loss\\\": 0.25}\","                \
    "\"historyKeys\":{\"lastStep\":7,\"keys\":{\"_step\":{},\"overview/sps\":{},"           \
    "\"train/loss\":{}}},\"historyLineCount\":9}}}}"

/* One list per spec; rows out of step order, one without the key, one non-numeric, one NaN. */
#define HISTORY_REPLY                                                                              \
    "{\"data\":{\"project\":{\"run\":{\"sampledHistory\":[["                                       \
    "{\"_step\":3,\"overview/sps\":400},{\"_step\":0,\"overview/sps\":100},"                       \
    "{\"_step\":1,\"overview/sps\":200},{\"_step\":2,\"overview/sps\":300},"                       \
    "{\"_step\":4,\"overview/sps\":500},{\"_step\":5,\"overview/sps\":600},"                       \
    "{\"_step\":6,\"overview/sps\":700},{\"_step\":7,\"overview/sps\":800},"                       \
    "{\"_step\":8},{\"_step\":9,\"overview/sps\":\"n/a\"},{\"_step\":10,\"overview/sps\":\"NaN\"}" \
    "]]}}}}"

/* ---- Options --------------------------------------------------------------------------------- */

static void test_plugins_metrics_wandb__option_defaults_are_the_documented_ones(void **state)
{
    (void)state;
    struct fx *f = fx_new("metrics = ( { name = \"sps\"; key = \"overview/sps\"; } );");
    assert_int_equal(f->open_rc, 0);
    assert_string_equal(f->conf.api_key_env, "WANDB_API_KEY");
    assert_null(f->conf.run_id);
    assert_null(f->conf.run_dir);
    assert_true(f->conf.timeout == 30.0);
    const struct metrics_wandb_metric *m = wb_row(&f->conf, 0);
    assert_int_equal(m->reducer, WB_LAST);
    assert_true(m->last_pct == 25.0);
    assert_int_equal(m->samples, 500);
    fx_free(f);
}

static void test_plugins_metrics_wandb__open_refuses_bad_names_duplicates_and_base_urls(
    void **state)
{
    static const struct {
        const char *text, *msg;
    } cases[] = {
        {"metrics = ( { name = \"s p s\"; key = \"a\"; } );", "metric name \"s p s\""},
        {"metrics = ( { name = \"a\"; key = \"x\"; }, { name = \"a\"; key = \"y\"; } );",
         "metric \"a\" (the plan) is defined twice; give each its own name"},
        {"metrics = ( { name = \"a\"; key = \"\"; } );", "key must be a W&B key"},
        {"metrics = ();", "metrics (the plan) is empty"},
        {"base_url = \"ftp://x\"; metrics = ( { name = \"a\"; key = \"x\"; } );",
         "base_url \"ftp://x\" (the plan) is not an http(s) URL"},
        {"base_url = \"https://h/api?x=1\"; metrics = ( { name = \"a\"; key = \"x\"; } );",
         "is not an http(s) URL"},
        {"base_url = \"https://api:hunter2@h\"; metrics = ( { name = \"a\"; key = \"x\"; } );",
         "must not carry credentials"},
        {"run_id_env = \"WANDB RUN\"; metrics = ( { name = \"a\"; key = \"x\"; } );",
         "run_id_env \"WANDB RUN\""},
        {"entity = \"\"; metrics = ( { name = \"a\"; key = \"x\"; } );", "entity (the plan)"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct fx *f = fx_new(cases[i].text);
        if (f->open_rc == 0)
            fail_msg("open accepted %s", cases[i].text);
        assert_contains(last_fail(f), cases[i].msg);
        assert_null(strstr(last_fail(f), "hunter2")); /* a URL's password is never echoed */
        fx_free(f);
    }
}

static void test_plugins_metrics_wandb__base_url_defaults_to_WANDB_BASE_URL_then_the_cloud(
    void **state)
{
    (void)state;
    const char *text = "metrics = ( { name = \"a\"; key = \"x\"; } );";
    unsetenv("WANDB_BASE_URL");
    struct fx *f = fx_new(text);
    struct metrics_wandb *inst = f->inst;
    assert_string_equal(inst->graphql_url, "https://api.wandb.ai/graphql");
    assert_string_equal(inst->app_url, "https://wandb.ai");
    fx_free(f);

    setenv("WANDB_BASE_URL", "http://WandB.example.com:80/", 1);
    f = fx_new(text);
    inst = f->inst;
    assert_string_equal(inst->graphql_url, "http://WandB.example.com:80/graphql");
    assert_string_equal(inst->auth, "wandb.example.com"); /* default port and case dropped */
    fx_free(f);

    /* the plan's base_url wins over the environment */
    f = fx_new("base_url = \"http://127.0.0.1:9\"; metrics = ( { name = \"a\"; key = \"x\"; } );");
    assert_string_equal(((struct metrics_wandb *)f->inst)->graphql_url,
                        "http://127.0.0.1:9/graphql");
    fx_free(f);
    unsetenv("WANDB_BASE_URL");
}

/* ---- Finding the run in the log -------------------------------------------------------------- */

static const char LOG_TWO_RUNS[] =
    "step 1 SPS: 3000\n"
    "wandb: Syncing run bright-sun-7\n"
    "wandb: \xe2\xad\x90\xef\xb8\x8f View project at https://wandb.ai/metta/stable\n"
    "wandb: \xf0\x9f\x9a\x80 View run at https://wandb.ai/metta/stable/runs/first1\r\n"
    "[SUMMARY] Restart Count: 1\n"
    "wandb: \xf0\x9f\x9a\x80 View run at \x1b[34m\x1b[4mhttps://wandb.ai/metta/stable/runs/"
    "second2\x1b[0m\n"
    "done";

static void feed_cut(struct fx *f, void *job, const char *log, size_t len, size_t cut)
{
    const relhost_metrics_ops *ops = f->pl->metrics;
    assert_int_equal(ops->feed(&f->m.ctx, job, log, cut), 0);
    assert_int_equal(ops->feed(&f->m.ctx, job, log + cut, len - cut), 0);
}

static void test_plugins_metrics_wandb__the_last_run_url_wins_however_the_log_is_cut(void **state)
{
    (void)state;
    struct fx *f = fx_new(SRC_API);
    size_t len = sizeof(LOG_TWO_RUNS) - 1;
    for (size_t cut = 0; cut <= len; cut++) {
        struct metrics_wandb_job *job = fx_job(f);
        feed_cut(f, job, LOG_TWO_RUNS, len, cut);
        assert_int_equal(job->n_urls, 2);
        assert_true(job->several_runs);
        assert_string_equal(job->first.id, "first1");
        assert_string_equal(job->last.entity, "metta");
        assert_string_equal(job->last.project, "stable");
        assert_string_equal(job->last.id, "second2"); /* the ANSI reset ends the id */
        assert_string_equal(job->last.url, "https://wandb.ai/metta/stable/runs/second2");
        f->pl->metrics->job_close(job);
    }
    /* byte by byte */
    struct metrics_wandb_job *job = fx_job(f);
    for (size_t i = 0; i < len; i++)
        assert_int_equal(f->pl->metrics->feed(&f->m.ctx, job, LOG_TWO_RUNS + i, 1), 0);
    assert_string_equal(job->last.id, "second2");
    assert_int_equal(job->n_urls, 2);
    f->pl->metrics->job_close(job);
    fx_free(f);
}

static void test_plugins_metrics_wandb__only_wandb_and_the_configured_server_are_run_urls(
    void **state)
{
    static const struct {
        const char *line, *id;
    } cases[] = {
        {"see https://wandb.ai/e/p/runs/abc123.\n", "abc123"}, /* a sentence's full stop */
        {"HTTPS://WANDB.AI/e/p/runs/Ab_c-1/overview?nw=1\n", "Ab_c-1"},
        {"(http://127.0.0.1:8080/e/p/runs/selfhosted)\n", "selfhosted"},
        {"https://app.wandb.ai/e/p/runs/old\n", "old"},
        {"https://example.com/e/p/runs/nope\n", NULL},   /* someone else's URL */
        {"http://127.0.0.1:9090/e/p/runs/nope\n", NULL}, /* another port */
        {"https://wandb.ai/e/p/sweeps/nope\n", NULL},    /* not a run */
        {"https://wandb.ai/e/runs/nope\n", NULL},        /* no project */
        {"https://wandb.ai/e/p/runs/\n", NULL},          /* no id */
        {"wandb.ai/e/p/runs/nope\n", NULL},              /* no scheme */
    };
    (void)state;
    struct fx *f = fx_new(SRC_API);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct metrics_wandb_job *job = fx_job(f);
        assert_int_equal(f->pl->metrics->feed(&f->m.ctx, job, cases[i].line, strlen(cases[i].line)),
                         0);
        if (cases[i].id == NULL) {
            if (job->n_urls != 0)
                fail_msg("%s: took run %s", cases[i].line, job->last.id);
        } else {
            if (job->n_urls != 1)
                fail_msg("%s: no run found", cases[i].line);
            assert_string_equal(job->last.id, cases[i].id);
        }
        f->pl->metrics->job_close(job);
    }
    fx_free(f);
}

static void test_plugins_metrics_wandb__long_lines_are_skipped_in_constant_memory(void **state)
{
    (void)state;
    struct fx *f = fx_new(SRC_API);
    /* a URL at the end of a line longer than the carry is not read, however it is cut; the
     * next line's is; and an unterminated last line is read by collect() */
    size_t big = WB_LINE_MAX + 100;
    const char *url1 = " https://wandb.ai/e/p/runs/inlong\n";
    const char *url2 = "https://wandb.ai/e/p/runs/after\n";
    size_t len = big + strlen(url1) + strlen(url2);
    char *log = malloc(len + 1);
    assert_non_null(log);
    memset(log, 'x', big);
    snprintf(log + big, len + 1 - big, "%s%s", url1, url2);
    static const size_t cuts[] = {0,
                                  1,
                                  100,
                                  WB_LINE_MAX - 1,
                                  WB_LINE_MAX,
                                  WB_LINE_MAX + 1,
                                  WB_LINE_MAX + 120,
                                  WB_LINE_MAX + 140};
    for (size_t c = 0; c < sizeof(cuts) / sizeof(cuts[0]); c++) {
        struct metrics_wandb_job *job = fx_job(f);
        feed_cut(f, job, log, len, cuts[c]);
        assert_int_equal(job->long_lines, 1);
        assert_int_equal(job->n_urls, 1);
        assert_string_equal(job->last.id, "after");
        assert_true(job->carry_len <= WB_LINE_MAX);
        f->pl->metrics->job_close(job);
    }
    free(log);

    /* an unterminated last line, and a CR-redrawn progress bar before the URL */
    static const char tail[] = "50%|#####     |\r100%|##########|\rhttps://wandb.ai/e/p/runs/end";
    struct metrics_wandb_job *job = fx_job(f);
    assert_int_equal(f->pl->metrics->feed(&f->m.ctx, job, tail, sizeof(tail) - 1), 0);
    assert_int_equal(job->n_urls, 0);
    f->m.host.http_request = NULL; /* collect stops at "no HTTP service", after the last line */
    assert_true(f->pl->metrics->collect(&f->m.ctx, job) < 0);
    assert_string_equal(job->last.id, "end");
    assert_contains(last_fail(f), "no HTTP service");
    f->pl->metrics->job_close(job);
    fx_free(f);
}

/* ---- Run id discovery ------------------------------------------------------------------------ */

static void test_plugins_metrics_wandb__no_run_id_fails_naming_everything_looked_at(void **state)
{
    (void)state;
    struct fx *f = fx_new("run_id_env = \"WANDB_RUN_ID\"; " SRC_API);
    assert_true(fx_run(f, "training...\nhttps://example.com/e/p/runs/x\n") < 0);
    const char *m = last_fail(f);
    assert_contains(m, "no W&B run id: no run_id option; $WANDB_RUN_ID is not in the job's "
                       "environment; the log printed no W&B run URL "
                       "(https://wandb.ai/<entity>/<project>/runs/<id> or on 127.0.0.1:8080)");
    assert_contains(m, "set run_id or run_id_env");
    assert_int_equal(f->n_sent, 0);
    assert_int_equal(f->m.n_metrics, 0);
    fx_free(f);
}

static void test_plugins_metrics_wandb__run_id_option_beats_env_beats_log_and_expands(void **state)
{
    (void)state;
    static const char *log = "https://wandb.ai/logent/logproj/runs/fromlog\n";
    /* option (a template) > env > log; entity/project from the URL when not configured */
    struct fx *f =
        fx_new("run_id = \"rh-{validation}-a{attempt}\"; run_id_env = \"WANDB_RUN_ID\"; " SRC_API);
    f->env[0] = "WANDB_RUN_ID=fromenv";
    f->m.host.http_request = NULL;
    assert_true(fx_run(f, log) < 0);
    assert_contains(last_fail(f), "W&B run logent/logproj/rh-train-a1 cannot be read");
    fx_free(f);

    f = fx_new("run_id_env = \"WANDB_RUN_ID\"; entity = \"ent\"; project = \"proj\"; " SRC_API);
    f->env[0] = "WANDB_RUN_ID=stale";
    f->env[1] = "WANDB_RUN_ID=fromenv"; /* the last entry is the job's value */
    f->m.host.http_request = NULL;
    assert_true(fx_run(f, log) < 0);
    assert_contains(last_fail(f), "W&B run ent/proj/fromenv cannot be read");
    fx_free(f);

    f = fx_new(SRC_API);
    f->env[0] = "WANDB_ENTITY=envent";
    f->env[1] = "WANDB_PROJECT=envproj";
    f->m.host.http_request = NULL;
    assert_true(fx_run(f, log) < 0);
    assert_contains(last_fail(f), "W&B run logent/logproj/fromlog cannot be read");
    fx_free(f);

    /* the job's WANDB_ENTITY / WANDB_PROJECT when neither the plan nor a URL names them */
    f = fx_new("run_id = \"abc\"; " SRC_API);
    f->env[0] = "WANDB_ENTITY=envent";
    f->env[1] = "WANDB_PROJECT=envproj";
    f->m.host.http_request = NULL;
    assert_true(fx_run(f, "no url\n") < 0);
    assert_contains(last_fail(f), "W&B run envent/envproj/abc cannot be read");
    fx_free(f);

    f = fx_new("run_id = \"abc\"; " SRC_API);
    assert_true(fx_run(f, "no url\n") < 0);
    assert_contains(last_fail(f), "no W&B entity for run abc (from the run_id option)");
    fx_free(f);

    f = fx_new("run_id = \"a/b\"; entity = \"e\"; project = \"p\"; " SRC_API);
    assert_true(fx_run(f, NULL) < 0);
    assert_contains(last_fail(f), "\"a/b\" (from the run_id option) is not a W&B run id");
    fx_free(f);
}

/* ---- The API path ---------------------------------------------------------------------------- */

static void test_plugins_metrics_wandb__api_summary_and_history_reduce_exactly(void **state)
{
    (void)state;
    struct fx *f = fx_new(SRC_API);
    fx_reply(f, 200, RUN_REPLY);
    fx_reply(f, 200, HISTORY_REPLY);
    assert_int_equal(fx_run(f, "wandb: View run at http://127.0.0.1:8080/ent/proj/runs/abc\n"), 0);

    /* last: the summary, double-decoded */
    assert_true(metric_value(&f->m, "sps") == 812.5);
    assert_true(metric_value(&f->m, "success") == 0.875);
    /* history: 8 numeric rows of steps 0..7 (out of order in the reply), values 100..800 */
    assert_true(metric_value(&f->m, "sps_max") == 800);
    assert_true(metric_value(&f->m, "sps_min") == 100);
    assert_true(metric_value(&f->m, "sps_mean") == 450);
    /* the last 25% of 8 rows: steps 6 and 7 */
    assert_true(metric_value(&f->m, "sps_tail") == 750);
    const mock_metric *mm = mock_host_metric(&f->m, "sps_tail");
    assert_string_equal(mm->pattern, "overview/sps");
    assert_string_equal(mm->reducer, "mean_last_pct");
    assert_int_equal(mm->samples, 2);
    assert_null(mm->source); /* the host fills in the source's plan name */
    mm = mock_host_metric(&f->m, "sps_mean");
    assert_int_equal(mm->samples, 8);
    mm = mock_host_metric(&f->m, "sps");
    assert_string_equal(mm->reducer, "last");
    assert_int_equal(mm->samples, 1);

    assert_string_equal(mock_host_label(&f->m, "wandb_run"), "ent/proj/abc");
    /* the reserved run_url label (ABI 1.4) is https only: a plain-http server gets none */
    assert_null(mock_host_label(&f->m, RELHOST_LABEL_RUN_URL));
    assert_non_null(mock_host_note(&f->m, "W&B run ent/proj/abc (state finished) (run id from "
                                          "the run URL in the log, read from the W&B API): "
                                          "http://127.0.0.1:8080/ent/proj/runs/abc"));
    assert_non_null(mock_host_note(&f->m, "W&B key overview/sps of run ent/proj/abc: 1 non-finite "
                                          "value (NaN or Infinity) in the sampled history "
                                          "skipped"));
    assert_int_equal(f->m.n_artifacts, 1);
    assert_string_equal(f->m.artifacts[0].kind, "url");

    /* what went over the wire: two POSTs to {base}/graphql, basic auth by variable name */
    assert_int_equal(f->n_sent, 2);
    for (size_t i = 0; i < 2; i++) {
        assert_string_equal(f->sent[i].method, "POST");
        assert_string_equal(f->sent[i].url, "http://127.0.0.1:8080/graphql");
        assert_string_equal(f->sent[i].basic_user, "api");
        assert_string_equal(f->sent[i].basic_env, "WANDB_API_KEY");
        assert_null(f->sent[i].bearer_env);
        assert_string_equal(f->sent[i].headers[0], "Content-Type: application/json");
        assert_true(f->sent[i].timeout_s == 30.0 && f->sent[i].budget_s == 120.0);
    }
    json_error_t jerr;
    json_t *b = json_loads(f->sent[0].body, 0, &jerr);
    assert_non_null(b);
    assert_string_equal(json_string_value(json_object_get(b, "operationName")), "Run");
    assert_contains(json_string_value(json_object_get(b, "query")),
                    "project(name: $project, entityName: $entity) { run(name: $name) { id name "
                    "displayName state summaryMetrics historyKeys historyLineCount } }");
    json_t *v = json_object_get(b, "variables");
    assert_string_equal(json_string_value(json_object_get(v, "entity")), "ent");
    assert_string_equal(json_string_value(json_object_get(v, "project")), "proj");
    assert_string_equal(json_string_value(json_object_get(v, "name")), "abc");
    json_decref(b);
    b = json_loads(f->sent[1].body, 0, &jerr);
    assert_non_null(b);
    assert_string_equal(json_string_value(json_object_get(b, "operationName")),
                        "RunSampledHistory");
    assert_contains(json_string_value(json_object_get(b, "query")),
                    "sampledHistory(specs: $specs)");
    json_t *specs = json_object_get(json_object_get(b, "variables"), "specs");
    /* one spec for the four history metrics on one key: a JSON *string* */
    assert_int_equal(json_array_size(specs), 1);
    assert_string_equal(json_string_value(json_array_get(specs, 0)),
                        "{\"keys\":[\"_step\",\"overview/sps\"],\"samples\":500}");
    json_decref(b);
    assert_no_secret(f);
    fx_free(f);
}

static void test_plugins_metrics_wandb__a_key_the_run_lacks_is_a_note_not_a_failure(void **state)
{
    (void)state;
    struct fx *f = fx_new("metrics = ( { name = \"loss\"; key = \"train/lossy\"; },"
                          "{ name = \"ret\"; key = \"eval/return\"; reducer = \"max\"; } );");
    fx_reply(f, 200, RUN_REPLY);
    fx_reply(f, 200, "{\"data\":{\"project\":{\"run\":{\"sampledHistory\":[[]]}}}}");
    assert_int_equal(fx_run(f, "https://wandb.ai/ent/proj/runs/abc\n"), 0);
    assert_int_equal(f->m.n_metrics, 0);
    assert_null(mock_host_last_fail(&f->m));
    /* wandb's own keys (_step, _runtime) are not listed */
    assert_non_null(mock_host_note(&f->m, "W&B key train/lossy not in run ent/proj/abc (the W&B "
                                          "API; keys present: overview/sps, eval/success_rate, "
                                          "train/loss)"));
    assert_non_null(mock_host_note(&f->m, "W&B key eval/return not in run ent/proj/abc (sampled "
                                          "history: 0 rows; keys present: overview/sps, "
                                          "train/loss)"));
    /* a last key absent from summary and history keys needs no history query */
    json_t *b = json_loads(f->sent[1].body, 0, NULL);
    assert_int_equal(json_array_size(json_object_get(json_object_get(b, "variables"), "specs")), 1);
    json_decref(b);
    fx_free(f);
}

static void test_plugins_metrics_wandb__last_falls_back_to_the_last_history_row(void **state)
{
    (void)state;
    struct fx *f =
        fx_new("metrics = ( { name = \"sps\"; key = \"overview/sps\"; samples = 50; } );");
    fx_reply(f, 200,
             "{\"data\":{\"project\":{\"run\":{\"name\":\"abc\",\"state\":\"running\","
             "\"summaryMetrics\":\"{}\",\"historyKeys\":\"{\\\"keys\\\":"
             "{\\\"overview/sps\\\":{}}}\",\"historyLineCount\":3}}}}");
    fx_reply(f, 200,
             "{\"data\":{\"project\":{\"run\":{\"sampledHistory\":[[{\"_step\":2,"
             "\"overview/sps\":9.5},{\"_step\":0,\"overview/sps\":1}]]}}}}");
    assert_int_equal(fx_run(f, "https://wandb.ai/ent/proj/runs/abc\n"), 0);
    assert_true(metric_value(&f->m, "sps") == 9.5);
    assert_non_null(mock_host_note(&f->m, "W&B run ent/proj/abc is running, not finished"));
    json_t *b = json_loads(f->sent[1].body, 0, NULL);
    assert_string_equal(json_string_value(json_array_get(
                            json_object_get(json_object_get(b, "variables"), "specs"), 0)),
                        "{\"keys\":[\"_step\",\"overview/sps\"],\"samples\":50}");
    json_decref(b);
    fx_free(f);
}

static void test_plugins_metrics_wandb__a_missing_run_or_project_fails_naming_it(void **state)
{
    (void)state;
    struct fx *f = fx_new(SRC_API);
    fx_reply(f, 200, "{\"data\":{\"project\":{\"run\":null}}}");
    assert_int_equal(fx_run(f, "https://wandb.ai/ent/proj/runs/gone\n"), RELHOST_ENOTFOUND);
    assert_contains(last_fail(f), "W&B run gone not found (run: null) in project ent/proj at "
                                  "http://127.0.0.1:8080; the run id came from the run URL in the "
                                  "log");
    assert_int_equal(f->m.n_metrics, 0);
    assert_null(mock_host_label(&f->m, "wandb_run"));
    fx_free(f);

    f = fx_new(SRC_API);
    fx_reply(f, 200, "{\"data\":{\"project\":null}}");
    assert_int_equal(fx_run(f, "https://wandb.ai/ent/nope/runs/abc\n"), RELHOST_ENOTFOUND);
    assert_contains(last_fail(f), "W&B project ent/nope not found (project: null)");
    assert_contains(last_fail(f), "looking for run abc");
    fx_free(f);

    /* the history query finds the run gone too */
    f = fx_new(SRC_API);
    fx_reply(f, 200, RUN_REPLY);
    fx_reply(f, 200, "{\"data\":{\"project\":{\"run\":null}}}");
    assert_int_equal(fx_run(f, "https://wandb.ai/ent/proj/runs/abc\n"), RELHOST_ENOTFOUND);
    assert_contains(last_fail(f), "W&B run abc not found (run: null)");
    fx_free(f);
}

static void test_plugins_metrics_wandb__graphql_errors_fail_with_their_messages(void **state)
{
    static const struct {
        long status;
        const char *body, *msg;
        int rc;
    } cases[] = {
        {200,
         "{\"errors\":[{\"message\":\"run history is temporarily unavailable\",\"path\":"
         "[\"project\",\"run\"],\"extensions\":{\"code\":\"INTERNAL\"}}],"
         "\"data\":{\"project\":null}}",
         "W&B answered the Run query for run ent/proj/abc with an error (HTTP 200): run history is "
         "temporarily unavailable [INTERNAL] (at project.run)",
         RELHOST_EINVAL},
        {500, "{\"errors\":[\"Server down\"]}",
         "W&B answered the Run query for run ent/proj/abc with an error (HTTP 500): Server down",
         RELHOST_ERETRY},
        {400, "{\"errors\":[{\"message\":\"a\"},{\"message\":\"b\"},7]}",
         "with errors (HTTP 400): a; b; 7", RELHOST_EINVAL},
        {502, "<html>Bad Gateway</html>",
         "W&B answered HTTP 502 to the Run query for run ent/proj/abc at "
         "http://127.0.0.1:8080/graphql: \"<html>Bad Gateway</html>\"",
         RELHOST_ERETRY},
        /* an unreadable reply: not retryable, as in every HTTP plugin (pl_http.h) */
        {200, "{\"data\":{\"project\":{\"run\":{\"summaryMetrics\":",
         "W&B's reply to the Run query for run ent/proj/abc is unreadable: the reply to POST "
         "http://127.0.0.1:8080/graphql (HTTP 200, 44 bytes) is not valid JSON: ",
         RELHOST_EINVAL},
        {200, "",
         "W&B's reply to the Run query for run ent/proj/abc is unreadable: the reply to "
         "POST http://127.0.0.1:8080/graphql (HTTP 200) is empty where a GraphQL reply was "
         "expected; not retried (the same reply would come again)",
         RELHOST_EINVAL},
        {408, "", "W&B answered HTTP 408 to the Run query", RELHOST_ERETRY},
        {429, "{}", "W&B answered HTTP 429 to the Run query", RELHOST_ERETRY},
        {200, "{\"data\":{\"project\":{\"run\":{\"summaryMetrics\":\"[1,2\"}}}}",
         "summaryMetrics is not a JSON-encoded object", RELHOST_EINVAL},
        {200, "[]", "(HTTP 200, 2 bytes) has no data object; it begins \"[]\"", RELHOST_EINVAL},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct fx *f = fx_new(SRC_API);
        fx_reply(f, cases[i].status, cases[i].body);
        int rc = fx_run(f, "https://wandb.ai/ent/proj/runs/abc\n");
        if (rc != cases[i].rc)
            fail_msg("case %zu: collect returned %d, want %d (%s)", i, rc, cases[i].rc,
                     mock_host_last_fail(&f->m));
        assert_contains(last_fail(f), cases[i].msg);
        assert_int_equal(f->m.n_metrics, 0);
        fx_free(f);
    }
}

static void test_plugins_metrics_wandb__http_401_says_the_key_was_rejected(void **state)
{
    (void)state;
    struct fx *f = fx_new(SRC_API);
    fx_reply(f, 401, "{\"errors\":[{\"message\":\"bad key " KEY "\"}]}");
    assert_int_equal(fx_run(f, "https://wandb.ai/ent/proj/runs/abc\n"), RELHOST_EINVAL);
    assert_contains(last_fail(f), "W&B rejected the API key (HTTP 401): "
                                  "http://127.0.0.1:8080/graphql refused the key in "
                                  "$WANDB_API_KEY");
    assert_no_secret(f); /* the body's echo of the key is not repeated */
    fx_free(f);

    /* no key at all: said before any request */
    f = fx_new(SRC_API);
    f->m.secrets = NULL;
    assert_int_equal(fx_run(f, "https://wandb.ai/ent/proj/runs/abc\n"), RELHOST_EINVAL);
    assert_contains(last_fail(f), "no W&B API key: $WANDB_API_KEY is not set");
    assert_int_equal(f->n_sent, 0);
    fx_free(f);
}

static void test_plugins_metrics_wandb__a_transport_failure_keeps_the_hosts_message(void **state)
{
    (void)state;
    struct fx *f = fx_new(SRC_API);
    f->replies[f->n_replies++] = (struct reply){.body = NULL, .rc = RELHOST_ERETRY};
    assert_int_equal(fx_run(f, "https://wandb.ai/ent/proj/runs/abc\n"), RELHOST_ERETRY);
    assert_string_equal(last_fail(f),
                        "POST http://127.0.0.1:8080/graphql: connection refused after 4 attempts");
    assert_non_null(mock_host_note(&f->m, "W&B Run query for run ent/proj/abc at "
                                          "http://127.0.0.1:8080/graphql got no usable answer"));
    fx_free(f);

    /* only the host's RELHOST_ERETRY may pass later: a TLS error (RELHOST_EIO), an old host's
     * RELHOST_ETIMEDOUT and a refusal to send (RELHOST_EINVAL) come back as RELHOST_EINVAL,
     * which the host never takes for a transient failure of a source */
    {
        static const int codes[] = {RELHOST_EIO, RELHOST_ETIMEDOUT, RELHOST_EINVAL};
        for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
            f = fx_new(SRC_API);
            f->replies[f->n_replies++] = (struct reply){.body = NULL, .rc = codes[i]};
            assert_int_equal(fx_run(f, "https://wandb.ai/ent/proj/runs/abc\n"), RELHOST_EINVAL);
            if (codes[i] == RELHOST_EINVAL)
                assert_non_null(mock_host_note(&f->m, "W&B Run query for run ent/proj/abc: "
                                                      "relhost refused to send it to "
                                                      "http://127.0.0.1:8080/graphql; check "
                                                      "base_url"));
            fx_free(f);
        }
    }

    /* an interrupt: the host says nothing, so the source does */
    f = fx_new(SRC_API);
    f->replies[f->n_replies++] = (struct reply){.body = NULL, .rc = RELHOST_EINTR};
    assert_int_equal(fx_run(f, "https://wandb.ai/ent/proj/runs/abc\n"), RELHOST_EINTR);
    assert_string_equal(last_fail(f), "interrupted while asking W&B (Run query) for run "
                                      "ent/proj/abc");
    fx_free(f);

    /* a redirect is not followed (credentials could go elsewhere): say where base_url should
     * point */
    f = fx_new(SRC_API);
    f->replies[f->n_replies++] = (struct reply){
        .status = 301, .body = "", .header = "location: https://api.example.com/graphql\x01"};
    assert_int_equal(fx_run(f, "https://wandb.ai/ent/proj/runs/abc\n"), RELHOST_EINVAL);
    assert_string_equal(last_fail(f), "W&B answered the Run query with a redirect (HTTP 301 to "
                                      "https://api.example.com/graphql?) from "
                                      "http://127.0.0.1:8080/graphql; set base_url to the server's "
                                      "API address");
    fx_free(f);
}

static void test_plugins_metrics_wandb__non_finite_values_are_skipped_with_a_note(void **state)
{
    (void)state;
    struct fx *f = fx_new("metrics = ( { name = \"a\"; key = \"a\"; }, "
                          "{ name = \"b\"; key = \"b\"; },"
                          "{ name = \"c\"; key = \"c\"; }, "
                          "{ name = \"d\"; key = \"nested.d\"; } );");
    /* a Python-written summary: bare NaN / Infinity are not JSON, and still read */
    fx_reply(f, 200,
             "{\"data\":{\"project\":{\"run\":{\"state\":\"finished\",\"summaryMetrics\":"
             "\"{\\\"a\\\": NaN, \\\"b\\\": -Infinity, \\\"c\\\": \\\"text\\\", "
             "\\\"nested\\\": {\\\"d\\\": 4}}\"}}}}");
    assert_int_equal(fx_run(f, "https://wandb.ai/ent/proj/runs/abc\n"), 0);
    assert_null(mock_host_metric(&f->m, "a"));
    assert_null(mock_host_metric(&f->m, "b"));
    assert_null(mock_host_metric(&f->m, "c"));
    assert_true(metric_value(&f->m, "d") == 4);
    assert_non_null(mock_host_note(&f->m, "W&B key a of run ent/proj/abc is not finite"));
    assert_non_null(mock_host_note(&f->m, "W&B key b of run ent/proj/abc is not finite"));
    assert_non_null(mock_host_note(&f->m, "W&B key c of run ent/proj/abc is not a number in the "
                                          "summary (a string)"));
    fx_free(f);
}

static void test_plugins_metrics_wandb__a_long_history_says_it_was_sampled(void **state)
{
    (void)state;
    struct fx *f = fx_new("metrics = ( { name = \"m\"; key = \"overview/sps\"; reducer = \"max\"; "
                          "samples = 2; } );");
    fx_reply(f, 200, RUN_REPLY);
    fx_reply(f, 200,
             "{\"data\":{\"project\":{\"run\":{\"sampledHistory\":[[{\"_step\":0,"
             "\"overview/sps\":1},{\"_step\":8,\"overview/sps\":3}]]}}}}");
    assert_int_equal(fx_run(f, "https://wandb.ai/ent/proj/runs/abc\n"), 0);
    assert_true(metric_value(&f->m, "m") == 3);
    assert_non_null(mock_host_note(&f->m, "W&B run ent/proj/abc has 9 history rows; max of "
                                          "overview/sps is over a sample of 2 (raise samples"));
    fx_free(f);
}

static void test_plugins_metrics_wandb__several_runs_and_a_plan_url_mismatch_are_noted(void **state)
{
    (void)state;
    struct fx *f = fx_new("entity = \"ent\"; project = \"proj\"; metrics = ( { name = \"sps\"; "
                          "key = \"overview/sps\"; } );");
    fx_reply(f, 200, RUN_REPLY);
    assert_int_equal(fx_run(f, LOG_TWO_RUNS), 0);
    json_t *b = json_loads(f->sent[0].body, 0, NULL);
    json_t *v = json_object_get(b, "variables");
    /* the last URL's run, under the plan's entity and project */
    assert_string_equal(json_string_value(json_object_get(v, "name")), "second2");
    assert_string_equal(json_string_value(json_object_get(v, "entity")), "ent");
    json_decref(b);
    assert_non_null(mock_host_note(&f->m, "the log printed URLs of more than one W&B run (first "
                                          "metta/stable/first1, last metta/stable/second2)"));
    assert_non_null(mock_host_note(&f->m, "the log's run URL names metta/stable but the plan says "
                                          "ent/proj"));
    /* the URL shown is built for the plan's names, on the app host of the public API */
    assert_non_null(mock_host_note(&f->m, "https://wandb.ai/ent/proj/runs/second2"));
    fx_free(f);
}

/* ---- The run folder -------------------------------------------------------------------------- */

/* <scratch>/<name>/files[/wandb-summary.json]: a run folder whose own name is `name`, since the
 * run id is read from it. Its path goes to out. */
static void run_dir_make(char *out, size_t cap, const char *name, const char *summary)
{
    char base[400], p[600];
    const char *tmp = getenv("RELHOST_TEST_TMP");
    snprintf(base, sizeof(base), "%s/wbunit-XXXXXX", tmp != NULL ? tmp : "/tmp");
    assert_non_null(mkdtemp(base));
    snprintf(out, cap, "%s/%s", base, name);
    assert_int_equal(mkdir(out, 0755), 0);
    snprintf(p, sizeof(p), "%s/files", out);
    assert_int_equal(mkdir(p, 0755), 0);
    if (summary != NULL) {
        snprintf(p, sizeof(p), "%s/files/wandb-summary.json", out);
        FILE *fp = fopen(p, "w");
        assert_non_null(fp);
        fputs(summary, fp);
        fclose(fp);
    }
}

/* Remove what run_dir_make made (known names only: no recursive delete, no shell). */
static void run_dir_remove(const char *dir)
{
    char p[600];
    snprintf(p, sizeof(p), "%s/files/wandb-summary.json", dir);
    unlink(p);
    snprintf(p, sizeof(p), "%s/files", dir);
    rmdir(p);
    rmdir(dir);
    snprintf(p, sizeof(p), "%s", dir);
    char *slash = strrchr(p, '/');
    if (slash != NULL) {
        *slash = '\0';
        rmdir(p);
    }
}

static void test_plugins_metrics_wandb__a_run_folder_summary_needs_no_http(void **state)
{
    (void)state;
    char conf[1600], dir[512];
    run_dir_make(dir, sizeof(dir), "run-20251002_120000-abc123",
                 "{\"overview/sps\": 31250.5, \"eval\": {\"success_rate\": 0.75}, \"lr\": NaN, "
                 "\"_step\": 99, \"_wandb\": {\"runtime\": 3}}");
    snprintf(conf, sizeof(conf),
             "run_dir = \"%s\"; entity = \"ent\"; project = \"proj\"; "
             "metrics = ( { name = \"sps\"; key = \"overview/sps\"; }, { name = \"succ\"; "
             "key = \"eval.success_rate\"; }, { name = \"lr\"; key = \"lr\"; }, "
             "{ name = \"loss\"; key = \"train/loss\"; } );",
             dir);
    struct fx *f = fx_new(conf);
    f->m.host.http_request = NULL; /* proves that no request is made */
    /* the folder the plan names outranks a URL seen in the log, and the disagreement is noted */
    assert_int_equal(fx_run(f, "https://wandb.ai/ent/proj/runs/other9\n"), 0);
    assert_non_null(mock_host_note(&f->m, "the log's last W&B run URL names run other9, but run "
                                          "abc123 (from the name of run_dir) was read"));
    assert_true(metric_value(&f->m, "sps") == 31250.5);
    assert_true(metric_value(&f->m, "succ") == 0.75);
    assert_null(mock_host_metric(&f->m, "lr"));
    assert_non_null(mock_host_note(&f->m, "W&B key lr of run ent/proj/abc123 is not finite"));
    char want[1600];
    snprintf(want, sizeof(want),
             "W&B key train/loss not in run ent/proj/abc123 (%s/files/"
             "wandb-summary.json; keys present: overview/sps, eval, lr)",
             dir);
    assert_non_null(mock_host_note(&f->m, want));
    assert_string_equal(mock_host_label(&f->m, "wandb_run"), "ent/proj/abc123");
    /* the run read, on the public cloud's pages (not the log's other run) */
    assert_string_equal(mock_host_label(&f->m, RELHOST_LABEL_RUN_URL),
                        "https://wandb.ai/ent/proj/runs/abc123");
    assert_non_null(mock_host_note(&f->m, "(run id from the name of run_dir, read from"));
    fx_free(f);
    run_dir_remove(dir);
}

static void test_plugins_metrics_wandb__an_offline_run_folder_without_summary_is_an_error(
    void **state)
{
    (void)state;
    char conf[1600], dir[512];
    run_dir_make(dir, sizeof(dir), "offline-run-20251002_120000-off1", NULL);
    snprintf(conf, sizeof(conf),
             "run_dir = \"%s\"; metrics = ( { name = \"sps\"; "
             "key = \"overview/sps\"; } );",
             dir);
    struct fx *f = fx_new(conf);
    assert_int_equal(fx_run(f, NULL), RELHOST_ENOTFOUND);
    char want[1600];
    snprintf(want, sizeof(want),
             "offline W&B run %s has no files/wandb-summary.json (offline "
             "runs may not write it); sync the run (wandb sync %s)",
             dir, dir);
    assert_contains(last_fail(f), want);
    assert_int_equal(f->n_sent, 0);
    fx_free(f);

    /* a folder that does not exist */
    snprintf(conf, sizeof(conf),
             "run_dir = \"%s/nope-{validation}\"; metrics = ( { name = "
             "\"sps\"; key = \"overview/sps\"; } );",
             dir);
    f = fx_new(conf);
    assert_int_equal(fx_run(f, NULL), RELHOST_ENOTFOUND);
    snprintf(want, sizeof(want), "W&B run_dir %s/nope-train does not exist", dir);
    assert_contains(last_fail(f), want);
    fx_free(f);
    run_dir_remove(dir);
}

static void test_plugins_metrics_wandb__an_online_run_folder_without_summary_asks_the_api(
    void **state)
{
    (void)state;
    char conf[1600], dir[512];
    run_dir_make(dir, sizeof(dir), "run-20251002_120000-abc", NULL);
    snprintf(conf, sizeof(conf),
             "run_dir = \"%s\"; entity = \"ent\"; project = \"proj\"; "
             "metrics = ( { name = \"sps\"; key = \"overview/sps\"; } );",
             dir);
    struct fx *f = fx_new(conf);
    fx_reply(f, 200, RUN_REPLY);
    assert_int_equal(fx_run(f, NULL), 0);
    assert_true(metric_value(&f->m, "sps") == 812.5);
    assert_non_null(mock_host_note(&f->m, "has no files/wandb-summary.json; reading the run from "
                                          "the W&B API"));
    fx_free(f);
    run_dir_remove(dir);
}

int main(void)
{
    /* open() reads it for the default base_url: the tests set it themselves */
    unsetenv("WANDB_BASE_URL");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plugins_metrics_wandb__option_defaults_are_the_documented_ones),
        cmocka_unit_test(
            test_plugins_metrics_wandb__open_refuses_bad_names_duplicates_and_base_urls),
        cmocka_unit_test(
            test_plugins_metrics_wandb__base_url_defaults_to_WANDB_BASE_URL_then_the_cloud),
        cmocka_unit_test(test_plugins_metrics_wandb__the_last_run_url_wins_however_the_log_is_cut),
        cmocka_unit_test(
            test_plugins_metrics_wandb__only_wandb_and_the_configured_server_are_run_urls),
        cmocka_unit_test(test_plugins_metrics_wandb__long_lines_are_skipped_in_constant_memory),
        cmocka_unit_test(test_plugins_metrics_wandb__no_run_id_fails_naming_everything_looked_at),
        cmocka_unit_test(test_plugins_metrics_wandb__run_id_option_beats_env_beats_log_and_expands),
        cmocka_unit_test(test_plugins_metrics_wandb__api_summary_and_history_reduce_exactly),
        cmocka_unit_test(test_plugins_metrics_wandb__a_key_the_run_lacks_is_a_note_not_a_failure),
        cmocka_unit_test(test_plugins_metrics_wandb__last_falls_back_to_the_last_history_row),
        cmocka_unit_test(test_plugins_metrics_wandb__a_missing_run_or_project_fails_naming_it),
        cmocka_unit_test(test_plugins_metrics_wandb__graphql_errors_fail_with_their_messages),
        cmocka_unit_test(test_plugins_metrics_wandb__http_401_says_the_key_was_rejected),
        cmocka_unit_test(test_plugins_metrics_wandb__a_transport_failure_keeps_the_hosts_message),
        cmocka_unit_test(test_plugins_metrics_wandb__non_finite_values_are_skipped_with_a_note),
        cmocka_unit_test(test_plugins_metrics_wandb__a_long_history_says_it_was_sampled),
        cmocka_unit_test(
            test_plugins_metrics_wandb__several_runs_and_a_plan_url_mismatch_are_noted),
        cmocka_unit_test(test_plugins_metrics_wandb__a_run_folder_summary_needs_no_http),
        cmocka_unit_test(
            test_plugins_metrics_wandb__an_offline_run_folder_without_summary_is_an_error),
        cmocka_unit_test(
            test_plugins_metrics_wandb__an_online_run_folder_without_summary_asks_the_api),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
