/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the github gate against the mock host, with a scripted HTTP service: the paths
 * the end-to-end tests (github.py) cannot reach with a well-behaved server or a complete host
 * (no HTTP service, an interrupt, a redirect, odd Link headers, a lost reply on every attempt,
 * what exactly each request asks of the host). The conf is filled from plan text through the
 * plugin's own option table.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../plugins/github/github.h"

#include <cmocka.h>

#include "base/error.h"
#include "mock_host.h"
#include "plan/options.h"

/* ---- a scripted HTTP service ----------------------------------------------------------------- */

struct reply {
    int rc; /* what http_request returns; 0: a response */
    long status;
    const char *body;
    const char *const *headers;
};

#define MAX_CALLS 16

/* Test-only state: one test at a time drives the scripted HTTP service. */
static struct {
    const struct reply *script;
    size_t n, next;
    char methods[MAX_CALLS][8];
    char urls[MAX_CALLS][512];
    char bodies[MAX_CALLS][1024];
    char headers[MAX_CALLS][512];
    char bearer[MAX_CALLS][64];
    int max_attempts[MAX_CALLS];
} http;

static const char *const no_headers[] = {NULL};

static int scripted_http(const relhost_ctx *ctx, const relhost_http_request *req,
                         relhost_http_response **out)
{
    const struct reply *r;
    relhost_http_response *resp;
    size_t k = http.next;
    size_t used = 0;

    (void)ctx;
    *out = NULL;
    assert_true(http.next < http.n && http.next < MAX_CALLS);
    snprintf(http.methods[k], sizeof http.methods[0], "%s", req->method);
    snprintf(http.urls[k], sizeof http.urls[0], "%s", req->url);
    snprintf(http.bodies[k], sizeof http.bodies[0], "%s", req->body != NULL ? req->body : "");
    snprintf(http.bearer[k], sizeof http.bearer[0], "%s",
             req->bearer_env != NULL ? req->bearer_env : "");
    for (size_t i = 0; req->headers != NULL && req->headers[i] != NULL; i++)
        used += (size_t)snprintf(http.headers[k] + used, sizeof http.headers[0] - used, "%s|",
                                 req->headers[i]);
    http.max_attempts[k] = req->max_attempts;
    r = &http.script[http.next++];
    if (r->rc != 0)
        return r->rc;
    resp = calloc(1, sizeof *resp);
    assert_non_null(resp);
    resp->struct_size = sizeof *resp;
    resp->status = r->status;
    resp->body = strdup(r->body);
    resp->body_len = strlen(r->body);
    resp->headers = r->headers != NULL ? r->headers : no_headers;
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

/* The host's template service, for {version} only (the defaults use nothing else). */
static int scripted_expand(const relhost_ctx *ctx, const char *tmpl, const char *const *vars,
                           size_t n, char **out)
{
    const char *at = strstr(tmpl, "{version}");
    size_t len;

    (void)vars;
    (void)n;
    if (at == NULL) {
        *out = strdup(tmpl);
        return 0;
    }
    len = strlen(tmpl) - 9 + strlen(ctx->version) + 1;
    *out = malloc(len);
    assert_non_null(*out);
    snprintf(*out, len, "%.*s%s%s", (int)(at - tmpl), tmpl, ctx->version, at + 9);
    return 0;
}

/* ---- fixture --------------------------------------------------------------------------------- */

struct fx {
    mock_host m;
    const relhost_plugin *pl;
    struct github_conf conf;
    optstore *st;
    void *inst;
    relhost_verdict v;
};

static const char *const token_set_env[] = {"GITHUB_TOKEN=unit-test-token-0123456789", NULL};

#define BASE "https://ghe.example.com/api/v3"
#define REPO BASE "/repos/octo-org/octo-repo"
#define PLAN(action, extra) \
    "action = \"" action "\"; repository = \"octo-org/octo-repo\"; base_url = \"" BASE "\"; " extra

static struct fx *fx_new(const char *text, const struct reply *script, size_t n)
{
    struct fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    mock_host_init(&f->m);
    f->m.secrets = token_set_env;
    f->m.host.expand = scripted_expand;
    /* No release notes file here: the default body is used. */
    f->m.ctx.state_dir = "/nonexistent-relhost-unit-test";
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

static void assert_fail_has(const struct fx *f, const char *needle)
{
    const char *m = mock_host_last_fail(&f->m);
    if (m == NULL || strstr(m, needle) == NULL)
        fail_msg("last fail() is \"%s\", wanted it to contain \"%s\"", m ? m : "(none)", needle);
}

static const char *const link_page2[] = {
    "link: <" BASE "/repositories/1/issues?state=open&per_page=100&page=2>; rel=\"next\", <" BASE
    "/repositories/1/issues?state=open&per_page=100&page=2>; rel=\"last\"",
    NULL};

/* ---- cases ----------------------------------------------------------------------------------- */

static void test_plugins_github__no_http_service_is_an_error_that_says_so(void **state)
{
    (void)state;
    struct fx *f = fx_new(PLAN("issue", ""), NULL, 0);
    assert_int_equal(fx_run(f), RELHOST_ENOTSUP);
    assert_fail_has(f, "this relhost has no HTTP service");
    fx_free(f);
}

static void test_plugins_github__not_configured_is_skipped_and_names_the_variable(void **state)
{
    (void)state;
    struct fx *f = fx_new(PLAN("pull_request", "token_env = \"RELEASE_BOT_TOKEN\";"), NULL, 0);
    assert_int_equal(fx_run(f), 0);
    assert_int_equal(f->v.outcome, RELHOST_SKIPPED);
    assert_string_equal(f->v.reason, "not_configured");
    assert_fail_has(f, "RELEASE_BOT_TOKEN unset: GitHub is not configured");
    fx_free(f);
}

static void test_plugins_github__launch_sends_nothing(void **state)
{
    (void)state;
    struct fx *f = fx_new(PLAN("release", ""), NULL, 0);
    f->m.ctx.mode = RELHOST_MODE_LAUNCH;
    assert_int_equal(fx_run(f), 0);
    assert_int_equal(f->v.outcome, RELHOST_SKIPPED);
    assert_string_equal(f->v.reason, "launch");
    fx_free(f);
}

static void test_plugins_github__requests_carry_githubs_headers_and_no_token(void **state)
{
    static const struct reply script[] = {
        {0, 201, "{\"number\":7,\"html_url\":\"https://ghe.example.com/o/r/pull/7\"}", NULL},
    };
    (void)state;
    struct fx *f = fx_new(PLAN("pull_request", "head = \"rel/x\";"), script, 1);
    assert_int_equal(fx_run(f), 0);
    assert_int_equal(f->v.outcome, RELHOST_PASSED);
    assert_string_equal(http.methods[0], "POST");
    assert_string_equal(http.urls[0], REPO "/pulls");
    assert_string_equal(http.headers[0], "Accept: application/vnd.github+json|"
                                         "X-GitHub-Api-Version: 2022-11-28|"
                                         "Content-Type: application/json|");
    /* The token is named, never carried: the host builds the Authorization header. */
    assert_string_equal(http.bearer[0], "GITHUB_TOKEN");
    assert_null(strstr(http.headers[0], "unit-test-token"));
    /* A repeated pull request POST answers "already exists": the host may retry it. */
    assert_int_equal(http.max_attempts[0], 0);
    assert_non_null(strstr(http.bodies[0], "\"title\":\"Release test\""));
    assert_non_null(strstr(http.bodies[0], "\"head\":\"rel/x\""));
    assert_string_equal(mock_host_label(&f->m, "pull_request"),
                        "https://ghe.example.com/o/r/pull/7");
    fx_free(f);
}

static void test_plugins_github__a_redirect_names_where_the_repository_went(void **state)
{
    static const char *const moved[] = {
        "location: https://ghe.example.com/api/v3/repositories/42/pulls", NULL};
    static const struct reply script[] = {
        {0, 301, "{\"message\":\"Moved Permanently\",\"url\":\"x\",\"documentation_url\":\"d\"}",
         moved},
    };
    (void)state;
    struct fx *f = fx_new(PLAN("pull_request", ""), script, 1);
    assert_int_equal(fx_run(f), 0);
    assert_int_equal(f->v.outcome, RELHOST_ERROR);
    assert_false(f->v.retryable);
    assert_fail_has(f, "answered HTTP 301, a redirect to https://ghe.example.com/api/v3/"
                       "repositories/42/pulls: relhost follows no redirect");
    assert_fail_has(f, "when octo-org/octo-repo was renamed or transferred, set repository");
    fx_free(f);
}

static void test_plugins_github__an_interrupt_ends_the_run_without_a_verdict(void **state)
{
    static const struct reply script[] = {{RELHOST_EINTR, 0, NULL, NULL}};
    (void)state;
    struct fx *f = fx_new(PLAN("issue", ""), script, 1);
    assert_int_equal(fx_run(f), RELHOST_EINTR);
    assert_int_equal(f->v.outcome, RELHOST_NONE);
    fx_free(f);
}

static void test_plugins_github__a_lost_issue_reply_is_looked_for_before_posting_again(void **state)
{
    static const struct reply script[] = {
        {0, 200, "[]", NULL},
        {RELHOST_ERETRY, 0, NULL, NULL},
        {0, 200, "[]", NULL},
        {0, 201, "{\"number\":9,\"html_url\":\"https://ghe.example.com/o/r/issues/9\"}", NULL},
    };
    (void)state;
    struct fx *f = fx_new(PLAN("issue", "labels = [\"a\", \"b\"];"), script, 4);
    assert_int_equal(fx_run(f), 0);
    assert_int_equal(f->v.outcome, RELHOST_PASSED);
    assert_string_equal(http.methods[1], "POST");
    assert_string_equal(http.methods[2], "GET");
    assert_string_equal(http.methods[3], "POST");
    /* Creating POSTs get one attempt each: a blind retry could open the issue twice. */
    assert_int_equal(http.max_attempts[1], 1);
    assert_int_equal(http.max_attempts[3], 1);
    assert_int_equal(http.max_attempts[2], 0);
    assert_string_equal(http.bodies[1], http.bodies[3]);
    assert_non_null(strstr(http.bodies[1], "\"labels\":[\"a\",\"b\"]"));
    assert_non_null(strstr(http.bodies[1], "<!-- relhost: release test, step test-step, post "));
    assert_non_null(mock_host_note(&f->m, "no usable reply (timeout, reset or truncated); "
                                          "looking for the issue before trying again"));
    assert_non_null(mock_host_note(&f->m, "opened issue #9 \"Release test did not qualify\""));
    fx_free(f);
}

static void test_plugins_github__three_lost_replies_are_a_retryable_error(void **state)
{
    static const struct reply script[] = {
        {0, 200, "[]", NULL}, {0, 502, "{\"message\":\"Server Error\"}", NULL},
        {0, 200, "[]", NULL}, {0, 502, "{\"message\":\"Server Error\"}", NULL},
        {0, 200, "[]", NULL}, {0, 503, "{\"message\":\"Unavailable\"}", NULL},
    };
    (void)state;
    struct fx *f = fx_new(PLAN("issue", ""), script, 6);
    assert_int_equal(fx_run(f), 0);
    assert_int_equal(f->v.outcome, RELHOST_ERROR);
    assert_true(f->v.retryable);
    assert_int_equal(http.next, 6);
    assert_fail_has(f, "answered HTTP 503 after 1 attempt: Unavailable; the next run tries again");
    fx_free(f);
}

static void test_plugins_github__a_failure_retrying_wont_fix_is_not_retryable(void **state)
{
    /* A certificate error on the creating POST (RELHOST_EIO): no lost reply to look for, no
     * second POST, and no deferral (exit 3, not 75). */
    static const struct reply script[] = {
        {0, 200, "[]", NULL},
        {RELHOST_EIO, 0, NULL, NULL},
    };
    (void)state;
    struct fx *f = fx_new(PLAN("issue", ""), script, 2);
    assert_int_equal(fx_run(f), 0);
    assert_int_equal(f->v.outcome, RELHOST_ERROR);
    assert_string_equal(f->v.reason, "tool_error");
    assert_false(f->v.retryable);
    assert_int_equal(http.next, 2);
    assert_non_null(mock_host_note(&f->m, "(a failure retrying won't fix)"));
    fx_free(f);
}

static void test_plugins_github__a_408_is_retryable_an_unreadable_reply_is_not(void **state)
{
    static const struct reply timeout408[] = {{0, 408, "{\"message\":\"Request Timeout\"}", NULL}};
    static const struct reply html[] = {{0, 200, "<html>Sign in to your proxy</html>", NULL}};
    static const struct reply object[] = {{0, 200, "{\"items\": []}", NULL}};
    (void)state;
    struct fx *f = fx_new(PLAN("issue", ""), timeout408, 1);
    assert_int_equal(fx_run(f), 0);
    assert_int_equal(f->v.outcome, RELHOST_ERROR);
    assert_true(f->v.retryable);
    assert_fail_has(f, "answered HTTP 408 after 1 attempt: Request Timeout; the next run tries "
                       "again");
    fx_free(f);

    f = fx_new(PLAN("issue", ""), html, 1);
    assert_int_equal(fx_run(f), 0);
    assert_int_equal(f->v.outcome, RELHOST_ERROR);
    assert_string_equal(f->v.reason, "tool_error");
    assert_false(f->v.retryable);
    assert_fail_has(f, "(HTTP 200, 34 bytes) is not valid JSON: ");
    assert_fail_has(f, "it begins \"<html>Sign in to your proxy</html>\"; not retried (the same "
                       "reply would come again)");
    fx_free(f);

    f = fx_new(PLAN("issue", ""), object, 1);
    assert_int_equal(fx_run(f), 0);
    assert_false(f->v.retryable);
    assert_fail_has(f, "is an object where an array was expected; it begins \"{\"items\": []}\"");
    fx_free(f);
}

static void test_plugins_github__a_marker_found_after_a_lost_reply_is_not_posted_again(void **state)
{
    /* The second list must show the issue with this run's marker, which is random: the scripted HTTP service
     * script is built after open(), from the instance's nonce. */
    static char listed[512];
    static struct reply script[] = {
        {0, 200, "[]", NULL},
        {RELHOST_ERETRY, 0, NULL, NULL},
        {0, 200, listed, NULL},
    };
    (void)state;
    struct fx *f = fx_new(PLAN("issue", "title = \"Alarm\";"), script, 3);
    snprintf(listed, sizeof listed,
             "[{\"number\":3,\"title\":\"Alarm\",\"body\":\"x\",\"pull_request\":{}},"
             "{\"number\":5,\"title\":\"Alarm\",\"body\":\"someone else's\"},"
             "{\"number\":8,\"title\":\"Alarm\",\"html_url\":\"u8\",\"body\":\"<!-- relhost: "
             "post %s -->\"}]",
             ((struct github *)f->inst)->nonce);
    assert_int_equal(fx_run(f), 0);
    assert_int_equal(f->v.outcome, RELHOST_PASSED);
    assert_int_equal(http.next, 3);
    assert_non_null(mock_host_note(&f->m, "opened issue #8 \"Alarm\" (found after a lost reply)"));
    fx_free(f);
}

static void test_plugins_github__an_issue_without_a_title_fails_closed(void **state)
{
    static const struct reply script[] = {{0, 200, "[{\"number\":1}]", NULL}};
    (void)state;
    struct fx *f = fx_new(PLAN("issue", ""), script, 1);
    assert_int_equal(fx_run(f), 0);
    assert_int_equal(f->v.outcome, RELHOST_ERROR);
    assert_fail_has(f, "item 1 has no \"title\" or \"number\"");
    fx_free(f);
}

static void test_plugins_github__a_page_linking_itself_is_an_error_not_a_loop(void **state)
{
    static const char *const self[] = {"link: <" REPO "/issues?state=open&per_page=100>; "
                                       "rel=\"next\"",
                                       NULL};
    static const struct reply script[] = {{0, 200, "[]", self}};
    (void)state;
    struct fx *f = fx_new(PLAN("issue", ""), script, 1);
    assert_int_equal(fx_run(f), 0);
    assert_int_equal(f->v.outcome, RELHOST_ERROR);
    assert_fail_has(f, "links itself as its next page");
    fx_free(f);
}

static void test_plugins_github__the_next_page_is_followed_under_the_base(void **state)
{
    static const struct reply script[] = {
        {0, 200, "[]", link_page2},
        {0, 200, "[{\"number\":2,\"title\":\"Release test did not qualify\",\"html_url\":\"h\"}]",
         NULL},
        {0, 201, "{\"id\":1,\"html_url\":\"c\"}", NULL},
    };
    (void)state;
    struct fx *f = fx_new(PLAN("issue", ""), script, 3);
    assert_int_equal(fx_run(f), 0);
    assert_int_equal(f->v.outcome, RELHOST_PASSED);
    assert_string_equal(http.urls[1], BASE "/repositories/1/issues?state=open&per_page=100&page=2");
    assert_string_equal(http.urls[2], REPO "/issues/2/comments");
    assert_int_equal(http.max_attempts[2], 1);
    fx_free(f);
}

static void test_plugins_github__link_headers_are_read_like_rfc_8288(void **state)
{
    static const char *const variants[][2] = {
        {"link: <https://a/1>; rel=\"prev\", <https://a/3>; rel=\"next\"", "https://a/3"},
        {"link: <https://a/3>; rel=next", "https://a/3"},
        {"link: <https://a/3>; title=\"x\"; rel=\"prev next\"", "https://a/3"},
        {"link: <https://a/3,4>; REL=\"next\"", "https://a/3,4"},
        {"link: <https://a/9>; rel=\"nextpage\", <https://a/1>; rel=\"first\"", NULL},
        {"link: <https://a/9>; anchor=\"rel=next\"", NULL},
        {"x-other: 1", NULL},
    };
    (void)state;
    for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++) {
        const char *h[] = {variants[i][0], NULL};
        relhost_http_response r = {.struct_size = sizeof r, .status = 200, .headers = h};
        char *got = gh_next_link(&r);
        if (variants[i][1] == NULL && got != NULL)
            fail_msg("%s: got next %s, want none", variants[i][0], got);
        if (variants[i][1] != NULL && (got == NULL || strcmp(got, variants[i][1]) != 0))
            fail_msg("%s: got next %s, want %s", variants[i][0], got ? got : "(none)",
                     variants[i][1]);
        free(got);
    }
}

static void test_plugins_github__user_text_is_cut_at_a_character_boundary(void **state)
{
    char out[16];
    (void)state;
    pl_clean_text("ab\xC3\xA9\xC3\xA9\xC3\xA9", 8, 5, out, sizeof out);
    assert_string_equal(out, "ab\xC3\xA9...");
    pl_clean_text("line\none\t", 9, 100, out, sizeof out);
    assert_string_equal(out, "line one ");
    assert_int_equal(gh_chars("\xC3\xA9t\xC3\xA9"), 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plugins_github__no_http_service_is_an_error_that_says_so),
        cmocka_unit_test(test_plugins_github__not_configured_is_skipped_and_names_the_variable),
        cmocka_unit_test(test_plugins_github__launch_sends_nothing),
        cmocka_unit_test(test_plugins_github__requests_carry_githubs_headers_and_no_token),
        cmocka_unit_test(test_plugins_github__a_redirect_names_where_the_repository_went),
        cmocka_unit_test(test_plugins_github__an_interrupt_ends_the_run_without_a_verdict),
        cmocka_unit_test(
            test_plugins_github__a_lost_issue_reply_is_looked_for_before_posting_again),
        cmocka_unit_test(test_plugins_github__three_lost_replies_are_a_retryable_error),
        cmocka_unit_test(test_plugins_github__a_failure_retrying_wont_fix_is_not_retryable),
        cmocka_unit_test(test_plugins_github__a_408_is_retryable_an_unreadable_reply_is_not),
        cmocka_unit_test(
            test_plugins_github__a_marker_found_after_a_lost_reply_is_not_posted_again),
        cmocka_unit_test(test_plugins_github__an_issue_without_a_title_fails_closed),
        cmocka_unit_test(test_plugins_github__a_page_linking_itself_is_an_error_not_a_loop),
        cmocka_unit_test(test_plugins_github__the_next_page_is_followed_under_the_base),
        cmocka_unit_test(test_plugins_github__link_headers_are_read_like_rfc_8288),
        cmocka_unit_test(test_plugins_github__user_text_is_cut_at_a_character_boundary),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
