/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the asana gate against the mock host, with a scripted HTTP service: the paths the
 * end-to-end tests (asana.py) cannot reach with a well-behaved server or a complete host (no HTTP
 * service, a server that repeats an offset or ignores completed_since, a redirect, an interrupt).
 * The conf is filled from plan text through the plugin's own option table.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The plugin itself, so its statics are testable too. */
#include "../../plugins/asana/asana.c"

#include <cmocka.h>

#include "base/error.h"
#include "mock_host.h"
#include "plan/options.h"

/* ---- a scripted HTTP service  ---------------------------------------------------------------- */

struct reply {
    int rc; /* what http_request returns; 0: a response */
    long status;
    const char *body;
};

/* Test-only state: one test at a time drives the scripted HTTP service. */
static struct {
    const struct reply *script;
    size_t n, next;
    char urls[16][512];
    char bearer[16][64];
} http;

static int scripted_http(const relhost_ctx *ctx, const relhost_http_request *req,
                         relhost_http_response **out)
{
    const struct reply *r;
    relhost_http_response *resp;

    (void)ctx;
    *out = NULL;
    assert_true(http.next < http.n && http.next < 16);
    snprintf(http.urls[http.next], sizeof http.urls[0], "%s", req->url);
    snprintf(http.bearer[http.next], sizeof http.bearer[0], "%s",
             req->bearer_env != NULL ? req->bearer_env : "");
    r = &http.script[http.next++];
    if (r->rc != 0)
        return r->rc;
    resp = calloc(1, sizeof *resp);
    assert_non_null(resp);
    resp->struct_size = sizeof *resp;
    resp->status = r->status;
    resp->body = strdup(r->body);
    resp->body_len = strlen(r->body);
    resp->attempts = 1;
    *out = resp;
    return 0;
}

static void scripted_free(relhost_http_response *resp)
{
    if (resp == NULL)
        return;
    free(resp->body);
    free(resp);
}

/* ---- fixture  -------------------------------------------------------------------------------- */

struct fx {
    mock_host m;
    const relhost_plugin *pl;
    struct asana_conf conf;
    optstore *st;
    void *inst;
    relhost_verdict v;
};

static const char *const token_set_env[] = {"ASANA_TOKEN=unit-test-token-0123456789", NULL};

static struct fx *fx_new(const char *text, const struct reply *script, size_t n)
{
    struct fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    unsetenv("ASANA_PROJECT_ID");
    mock_host_init(&f->m);
    f->m.secrets = token_set_env;
    memset(&http, 0, sizeof http);
    http.script = script;
    http.n = n;
    if (script != NULL) {
        f->m.host.http_request = scripted_http;
        f->m.host.http_response_free = scripted_free;
    }
    assert_int_equal(relhost_plugin_entry(&f->m.host, &f->pl), 0);
    if (options_fill_text(f->pl, &f->conf, text, &f->st) != 0)
        fail_msg("options_fill_text(%s): %s", text, error_last());
    assert_int_equal(f->pl->gate->open(&f->m.ctx, &f->conf, &f->inst), 0);
    f->v.struct_size = sizeof f->v;
    return f;
}

static void fx_free(struct fx *f)
{
    f->pl->gate->close(f->inst);
    optstore_free(f->st);
    mock_host_free(&f->m);
    free(f);
}

static int fx_run(struct fx *f) { return f->pl->gate->run(&f->m.ctx, f->inst, &f->v); }

#define SECTIONS "{\"data\":[{\"gid\":\"11\",\"name\":\"Active\"}],\"next_page\":null}"
#define BASE "https://asana.test/api/1.0"

static void assert_fail_has(const struct fx *f, const char *needle)
{
    const char *m = mock_host_last_fail(&f->m);
    if (m == NULL || strstr(m, needle) == NULL)
        fail_msg("last fail() is \"%s\", wanted it to contain \"%s\"", m ? m : "(none)", needle);
}

/* ---- cases  ---------------------------------------------------------------------------------- */

static void test_plugins_asana__no_http_service_is_an_error_that_says_so(void **state)
{
    (void)state;
    struct fx *f = fx_new("project = \"1201\";", NULL, 0);
    assert_int_equal(fx_run(f), RELHOST_ENOTSUP);
    assert_fail_has(f, "this relhost has no HTTP service");
    fx_free(f);
}

static void test_plugins_asana__not_configured_without_a_terminal_is_skipped(void **state)
{
    (void)state;
    struct fx *f = fx_new("project = \"1201\";", NULL, 0);
    f->m.secrets = NULL;
    assert_int_equal(fx_run(f), 0);
    assert_int_equal(f->v.outcome, RELHOST_SKIPPED);
    assert_string_equal(f->v.reason, "not_configured");
    assert_non_null(mock_host_note(&f->m, "$ASANA_TOKEN is not set"));
    fx_free(f);
}

static void test_plugins_asana__offset_is_encoded_and_sent_to_the_configured_base(void **state)
{
    static const struct reply script[] = {
        {0, 200,
         "{\"data\":[],\"next_page\":{\"offset\":\"a+b/c=d\",\"path\":\"/x\","
         "\"uri\":\"https://elsewhere.example/api/1.0/projects/1201/sections?offset=z\"}}"},
        {0, 200, SECTIONS},
        {0, 200, "{\"data\":[],\"next_page\":null}"},
    };
    (void)state;
    struct fx *f = fx_new("project = \"1201\"; base_url = \"" BASE "/\";", script, 3);
    assert_int_equal(fx_run(f), 0);
    assert_int_equal(f->v.outcome, RELHOST_PASSED);
    assert_string_equal(http.urls[0], BASE "/projects/1201/sections?limit=100");
    assert_string_equal(http.urls[1],
                        BASE "/projects/1201/sections?limit=100&offset=a%2Bb%2Fc%3Dd");
    assert_non_null(strstr(http.urls[2], BASE "/sections/11/tasks?completed_since=now&limit=100"));
    assert_string_equal(http.bearer[0], "ASANA_TOKEN");
    fx_free(f);
}

static void test_plugins_asana__a_repeated_offset_is_an_error_not_a_loop(void **state)
{
    static const struct reply script[] = {
        {0, 200, "{\"data\":[],\"next_page\":{\"offset\":\"same\"}}"},
        {0, 200, "{\"data\":[],\"next_page\":{\"offset\":\"same\"}}"},
    };
    (void)state;
    struct fx *f = fx_new("project = \"1201\";", script, 2);
    assert_int_equal(fx_run(f), 0);
    assert_int_equal(f->v.outcome, RELHOST_ERROR);
    assert_false(f->v.retryable);
    assert_fail_has(f, "returned the offset it was given as the next page");
    fx_free(f);
}

static void test_plugins_asana__a_completed_task_is_no_blocker_even_if_sent(void **state)
{
    static const struct reply script[] = {
        {0, 200, SECTIONS},
        {0, 200,
         "{\"data\":[{\"gid\":\"1\",\"name\":\"done\",\"completed\":true}],"
         "\"next_page\":null}"},
    };
    (void)state;
    struct fx *f = fx_new("project = \"1201\";", script, 2);
    assert_int_equal(fx_run(f), 0);
    assert_int_equal(f->v.outcome, RELHOST_PASSED);
    assert_non_null(mock_host_note(&f->m, "no open blockers in section \"Active\""));
    assert_string_equal(mock_host_label(&f->m, "blockers"), "0");
    fx_free(f);
}

static void test_plugins_asana__a_task_without_tags_fails_closed_when_narrowing(void **state)
{
    static const struct reply script[] = {
        {0, 200, SECTIONS},
        {0, 200,
         "{\"data\":[{\"gid\":\"1\",\"name\":\"x\",\"completed\":false}],"
         "\"next_page\":null}"},
    };
    (void)state;
    struct fx *f = fx_new("project = \"1201\"; tag = \"release-blocker\";", script, 2);
    assert_int_equal(fx_run(f), 0);
    assert_int_equal(f->v.outcome, RELHOST_ERROR);
    assert_fail_has(f, "task 1: no \"tags\" list, so the tag \"release-blocker\" cannot be");
    fx_free(f);
}

static void test_plugins_asana__a_redirect_is_an_error_with_a_hint(void **state)
{
    static const struct reply script[] = {{0, 302, ""}};
    (void)state;
    struct fx *f = fx_new("project = \"1201\";", script, 1);
    assert_int_equal(fx_run(f), 0);
    assert_int_equal(f->v.outcome, RELHOST_ERROR);
    assert_false(f->v.retryable);
    assert_fail_has(f, "answered HTTP 302: (empty body): relhost follows no redirect");
    fx_free(f);
}

static void test_plugins_asana__only_the_hosts_eretry_is_retryable(void **state)
{
    static const struct {
        int rc;
        int retryable;
        const char *note;
    } cases[] = {
        {RELHOST_ERETRY, 1,
         "listing the sections of project 1201: no usable reply (a transient "
         "failure); the next run tries again"},
        /* a TLS or certificate error, an unresolved name, a failure the table does not know */
        {RELHOST_EIO, 0,
         "listing the sections of project 1201: no usable reply (a failure "
         "retrying won't fix): not retryable"},
        /* refused before sending, e.g. the token over plain http to another host */
        {RELHOST_EINVAL, 0, "listing the sections of project 1201: relhost refused to send GET "},
        /* an older host's code is not the table's retryable one: fail closed */
        {RELHOST_ETIMEDOUT, 0, "no usable reply (timed out): not retryable"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct reply script[] = {{cases[i].rc, 0, NULL}};
        struct fx *f = fx_new("project = \"1201\";", script, 1);
        assert_int_equal(fx_run(f), 0);
        assert_int_equal(f->v.outcome, RELHOST_ERROR);
        assert_string_equal(f->v.reason, "tool_error");
        if (f->v.retryable != cases[i].retryable)
            fail_msg("case %zu (rc %d): retryable %d, want %d", i, cases[i].rc, f->v.retryable,
                     cases[i].retryable);
        if (mock_host_note(&f->m, cases[i].note) == NULL)
            fail_msg("case %zu (rc %d): no note \"%s\"", i, cases[i].rc, cases[i].note);
        fx_free(f);
    }
}

static void test_plugins_asana__statuses_follow_the_retry_table(void **state)
{
    static const struct {
        long status;
        int retryable;
    } cases[] = {{500, 1}, {503, 1}, {429, 1}, {408, 1}, {400, 0}, {401, 0}, {404, 0}, {410, 0}};
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct reply script[] = {{0, cases[i].status, "{\"errors\":[{\"message\":\"no\"}]}"}};
        struct fx *f = fx_new("project = \"1201\";", script, 1);
        assert_int_equal(fx_run(f), 0);
        assert_int_equal(f->v.outcome, RELHOST_ERROR);
        if (f->v.retryable != cases[i].retryable)
            fail_msg("HTTP %ld: retryable %d, want %d", cases[i].status, f->v.retryable,
                     cases[i].retryable);
        fx_free(f);
    }
}

static void test_plugins_asana__an_unreadable_reply_is_not_retryable(void **state)
{
    static const struct {
        const char *body, *msg;
    } cases[] = {
        {"<html>Sign in</html>", "(HTTP 200, 20 bytes) is not valid JSON: "},
        {"", "(HTTP 200) is empty where JSON was expected"},
        {"[1, 2]", "is a JSON array where an object"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct reply script[] = {{0, 200, cases[i].body}};
        struct fx *f = fx_new("project = \"1201\";", script, 1);
        assert_int_equal(fx_run(f), 0);
        assert_int_equal(f->v.outcome, RELHOST_ERROR);
        assert_string_equal(f->v.reason, "tool_error");
        assert_false(f->v.retryable);
        assert_fail_has(f, cases[i].msg);
        assert_fail_has(f, "the reply to GET https://app.asana.com/api/1.0/projects/1201/sections"
                           "?limit=100 (HTTP 200");
        assert_fail_has(f, "not retried (the same reply would come again)");
        fx_free(f);
    }
}

static void test_plugins_asana__an_interrupt_ends_the_run_without_a_verdict(void **state)
{
    static const struct reply script[] = {{RELHOST_EINTR, 0, NULL}};
    (void)state;
    struct fx *f = fx_new("project = \"1201\";", script, 1);
    assert_int_equal(fx_run(f), RELHOST_EINTR);
    assert_int_equal(f->v.outcome, RELHOST_NONE);
    fx_free(f);
}

static void test_plugins_asana__user_text_is_cut_at_a_character_boundary(void **state)
{
    char out[16];
    (void)state;
    /* "ab" then three 2-byte characters: 5 bytes allowed ends inside the second one. */
    pl_clean_text("ab\xC3\xA9\xC3\xA9\xC3\xA9", 8, 5, out, sizeof out);
    assert_string_equal(out, "ab\xC3\xA9...");
    pl_clean_text("line\none\t", 9, 100, out, sizeof out);
    assert_string_equal(out, "line one ");
    pl_clean_text("0123456789abcdefghij", 20, 100, out, sizeof out);
    assert_string_equal(out, "0123456789ab...");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plugins_asana__no_http_service_is_an_error_that_says_so),
        cmocka_unit_test(test_plugins_asana__not_configured_without_a_terminal_is_skipped),
        cmocka_unit_test(test_plugins_asana__offset_is_encoded_and_sent_to_the_configured_base),
        cmocka_unit_test(test_plugins_asana__a_repeated_offset_is_an_error_not_a_loop),
        cmocka_unit_test(test_plugins_asana__a_completed_task_is_no_blocker_even_if_sent),
        cmocka_unit_test(test_plugins_asana__a_task_without_tags_fails_closed_when_narrowing),
        cmocka_unit_test(test_plugins_asana__a_redirect_is_an_error_with_a_hint),
        cmocka_unit_test(test_plugins_asana__only_the_hosts_eretry_is_retryable),
        cmocka_unit_test(test_plugins_asana__statuses_follow_the_retry_table),
        cmocka_unit_test(test_plugins_asana__an_unreadable_reply_is_not_retryable),
        cmocka_unit_test(test_plugins_asana__an_interrupt_ends_the_run_without_a_verdict),
        cmocka_unit_test(test_plugins_asana__user_text_is_cut_at_a_character_boundary),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
