/* SPDX-License-Identifier: MIT */
/* tests/unit/http/http.c - the host's HTTP service against tests/http/fake_http.py on 127.0.0.1:
 * credentials from the environment, retries (5xx, 429 Retry-After, rate-limit reset), the budget,
 * transport failures (refused, slow, reset, truncated, too large), interrupts while waiting, and
 * that no form of a secret reaches stderr or an error message.
 * This file holds success, statuses and retries, transport failures and TLS, and main;
 * http_safety.c the rest; helpers and fixtures are in http_common.c. */

#include "http_common.h"

/* ---- success and credentials ---- */

static void test_unit_http_http__bearer_token_from_the_environment_reaches_the_server(void **state)
{
    relhost_http_response *resp = NULL;
    char *url = url_of("/bearer"), *auth;
    relhost_http_request r = req_of("GET", url);
    (void)state;
    setenv("RH_HTTP_TOKEN", "tok-1234567890abcdef", 1);
    set_script("{\"routes\": {\"/bearer\": [{\"status\": 200, \"body\": \"hello\","
               " \"headers\": {\"X-Thing\": \"Yes\"}}]}}");
    r.bearer_env = "RH_HTTP_TOKEN";
    assert_int_equal(http_request(&r, "t", &resp), 0);
    assert_non_null(resp);
    assert_int_equal(resp->status, 200);
    assert_string_equal(resp->body, "hello");
    assert_int_equal(resp->body_len, 5);
    assert_int_equal(resp->attempts, 1);
    assert_non_null(resp_header(resp, "x-thing"));
    assert_string_equal(resp_header(resp, "x-thing"), "Yes");
    auth = seen_header("/bearer", 0, "authorization");
    assert_string_equal(auth, "Bearer tok-1234567890abcdef");
    free(auth);
    http_response_free(resp);
    free(url);
}

static void test_unit_http_http__basic_auth_sends_base64_of_user_colon_key_and_the_body(void **s)
{
    relhost_http_response *resp = NULL;
    char *url = url_of("/basic"), *auth, *ctype;
    const char *const headers[] = {"Content-Type: application/json", NULL};
    relhost_http_request r = req_of("POST", url);
    json_t *seen;
    (void)s;
    setenv("RH_HTTP_KEY", "wandb-key-0123456789", 1);
    set_script("{\"routes\": {\"/basic\": [{\"status\": 201, \"body\": \"{}\"}]}}");
    r.basic_user = "api";
    r.basic_env = "RH_HTTP_KEY";
    r.headers = headers;
    r.body = "{\"query\": 1}";
    assert_int_equal(http_request(&r, "t", &resp), 0);
    assert_int_equal(resp->status, 201);
    /* base64("api:wandb-key-0123456789") */
    auth = seen_header("/basic", 0, "authorization");
    assert_string_equal(auth, "Basic YXBpOndhbmRiLWtleS0wMTIzNDU2Nzg5");
    ctype = seen_header("/basic", 0, "content-type");
    assert_string_equal(ctype, "application/json");
    seen = requests_for("/basic");
    assert_string_equal(json_string_value(json_object_get(json_array_get(seen, 0), "method")),
                        "POST");
    assert_string_equal(json_string_value(json_object_get(json_array_get(seen, 0), "body")),
                        "{\"query\": 1}");
    json_decref(seen);
    free(auth);
    free(ctype);
    http_response_free(resp);
    free(url);
}

static void test_unit_http_http__a_missing_credential_variable_is_einval_naming_it(void **state)
{
    relhost_http_response *resp = (relhost_http_response *)1;
    char *url = url_of("/nocred");
    relhost_http_request r = req_of("GET", url);
    (void)state;
    unsetenv("RH_HTTP_UNSET_TOKEN");
    set_script("{\"routes\": {}}");
    r.bearer_env = "RH_HTTP_UNSET_TOKEN";
    assert_int_equal(http_request(&r, "t", &resp), RELHOST_EINVAL);
    assert_null(resp);
    assert_non_null(strstr(error_last(), "RH_HTTP_UNSET_TOKEN"));
    assert_non_null(strstr(error_last(), "not set"));
    r.bearer_env = NULL;
    r.basic_user = "api";
    r.basic_env = "RH_HTTP_UNSET_TOKEN";
    assert_int_equal(http_request(&r, "t", &resp), RELHOST_EINVAL);
    assert_non_null(strstr(error_last(), "RH_HTTP_UNSET_TOKEN (basic_env)"));
    assert_int_equal(count_requests("/nocred"), 0);
    free(url);
}

static void test_unit_http_http__bad_requests_are_refused_before_anything_is_sent(void **state)
{
    relhost_http_response *resp = NULL;
    char *url = url_of("/bad");
    const char *const crlf[] = {"X-A: 1\r\nX-Injected: 2", NULL};
    relhost_http_request r = req_of("GET", "ftp://127.0.0.1/x");
    (void)state;
    set_script("{\"routes\": {}}");
    assert_int_equal(http_request(&r, "t", &resp), RELHOST_EINVAL);
    assert_non_null(strstr(error_last(), "only http:// and https://"));
    r.url = "file:///etc/passwd";
    assert_int_equal(http_request(&r, "t", &resp), RELHOST_EINVAL);
    r.url = url;
    r.headers = crlf;
    assert_int_equal(http_request(&r, "t", &resp), RELHOST_EINVAL);
    assert_non_null(strstr(error_last(), "line break"));
    r.headers = NULL;
    r.basic_user = "api";
    assert_int_equal(http_request(&r, "t", &resp), RELHOST_EINVAL);
    assert_non_null(strstr(error_last(), "needs basic_env"));
    assert_null(resp);
    assert_int_equal(count_requests("/bad"), 0);
    free(url);
}

static void test_unit_http_http__a_request_struct_from_an_older_plugin_gets_the_defaults(void **s)
{
    relhost_http_response *resp = NULL;
    char *url = url_of("/old");
    relhost_http_request r = req_of("GET", url);
    (void)s;
    set_script("{\"routes\": {\"/old\": [{\"status\": 200, \"body\": \"ok\"}]}}");
    /* Fields past struct_size are garbage the host must not read. */
    r.struct_size = offsetof(relhost_http_request, bearer_env);
    r.bearer_env = "RH_HTTP_UNSET_TOKEN";
    r.max_attempts = -7;
    assert_int_equal(http_request(&r, "t", &resp), 0);
    assert_int_equal(resp->status, 200);
    assert_int_equal(resp->attempts, 1);
    http_response_free(resp);
    free(url);
}

/* ---- statuses and retries ---- */

static void test_unit_http_http__a_500_then_200_is_retried_and_succeeds(void **state)
{
    relhost_http_response *resp = NULL;
    char *url = url_of("/flaky");
    relhost_http_request r = req_of("GET", url);
    (void)state;
    set_script("{\"routes\": {\"/flaky\": [{\"status\": 500, \"body\": \"oops\"},"
               " {\"status\": 200, \"body\": \"fine\"}]}}");
    assert_int_equal(http_request(&r, "t", &resp), 0);
    assert_int_equal(resp->status, 200);
    assert_string_equal(resp->body, "fine");
    assert_int_equal(resp->attempts, 2);
    assert_int_equal(count_requests("/flaky"), 2);
    http_response_free(resp);
    free(url);
}

static void test_unit_http_http__a_404_and_a_plain_403_are_returned_at_once(void **state)
{
    relhost_http_response *resp = NULL;
    char *url = url_of("/missing"), *url403 = url_of("/forbidden");
    relhost_http_request r = req_of("GET", url);
    (void)state;
    set_script("{\"routes\": {\"/missing\": [{\"status\": 404, \"body\": \"nope\"}],"
               " \"/forbidden\": [{\"status\": 403, \"headers\": {\"x-ratelimit-remaining\":"
               " \"12\"}}]}}");
    assert_int_equal(http_request(&r, "t", &resp), 0);
    assert_int_equal(resp->status, 404);
    assert_string_equal(resp->body, "nope");
    assert_int_equal(resp->attempts, 1);
    assert_int_equal(count_requests("/missing"), 1);
    http_response_free(resp);
    r.url = url403;
    assert_int_equal(http_request(&r, "t", &resp), 0);
    assert_int_equal(resp->status, 403);
    assert_int_equal(resp->attempts, 1);
    assert_int_equal(count_requests("/forbidden"), 1);
    http_response_free(resp);
    free(url);
    free(url403);
}

static void test_unit_http_http__redirects_are_returned_not_followed(void **state)
{
    relhost_http_response *resp = NULL;
    char *url = url_of("/moved"), *json;
    relhost_http_request r = req_of("GET", url);
    (void)state;
    setenv("RH_HTTP_TOKEN", "tok-1234567890abcdef", 1);
    json = xasprintf("{\"routes\": {\"/moved\": [{\"status\": 302, \"headers\": {\"Location\":"
                     " \"http://127.0.0.1:%d/elsewhere\"}}]}}",
                     port);
    set_script(json);
    r.bearer_env = "RH_HTTP_TOKEN";
    assert_int_equal(http_request(&r, "t", &resp), 0);
    assert_int_equal(resp->status, 302);
    assert_non_null(strstr(resp_header(resp, "location"), "/elsewhere"));
    assert_int_equal(count_requests("/elsewhere"), 0);
    http_response_free(resp);
    free(json);
    free(url);
}

static void test_unit_http_http__retry_after_seconds_on_a_429_is_honoured(void **state)
{
    relhost_http_response *resp = NULL;
    char *url = url_of("/busy");
    relhost_http_request r = req_of("GET", url);
    double t0;
    (void)state;
    set_script("{\"routes\": {\"/busy\": [{\"status\": 429, \"headers\": {\"Retry-After\":"
               " \"1\"}}, {\"status\": 200, \"body\": \"now\"}]}}");
    t0 = loop_now();
    assert_int_equal(http_request(&r, "t", &resp), 0);
    assert_true(loop_now() - t0 >= 0.95);
    assert_int_equal(resp->status, 200);
    assert_int_equal(resp->attempts, 2);
    http_response_free(resp);
    free(url);
}

static void test_unit_http_http__retry_after_as_an_http_date_is_honoured(void **state)
{
    relhost_http_response *resp = NULL;
    char *url = url_of("/busydate");
    relhost_http_request r = req_of("GET", url);
    double t0;
    (void)state;
    /* The date has one-second resolution: now+2 truncated is at least one second away. */
    set_script("{\"routes\": {\"/busydate\": [{\"status\": 503, \"headers\": {\"Retry-After\":"
               " \"{httpdate+2}\"}}, {\"status\": 200}]}}");
    t0 = loop_now();
    assert_int_equal(http_request(&r, "t", &resp), 0);
    assert_true(loop_now() - t0 >= 0.95);
    assert_int_equal(resp->status, 200);
    assert_int_equal(resp->attempts, 2);
    http_response_free(resp);
    free(url);
}

static void test_unit_http_http__a_rate_limited_403_waits_for_x_ratelimit_reset(void **state)
{
    relhost_http_response *resp = NULL;
    char *url = url_of("/limited");
    relhost_http_request r = req_of("GET", url);
    double t0;
    (void)state;
    set_script("{\"routes\": {\"/limited\": [{\"status\": 403, \"headers\":"
               " {\"x-ratelimit-remaining\": \"0\", \"x-ratelimit-reset\": \"{now+1}\"}},"
               " {\"status\": 200, \"body\": \"again\"}]}}");
    t0 = loop_now();
    assert_int_equal(http_request(&r, "t", &resp), 0);
    assert_true(loop_now() - t0 >= 1.0);
    assert_int_equal(resp->status, 200);
    assert_string_equal(resp->body, "again");
    assert_int_equal(resp->attempts, 2);
    assert_int_equal(count_requests("/limited"), 2);
    http_response_free(resp);
    free(url);
}

static void test_unit_http_http__a_retry_after_past_the_budget_returns_the_429_at_once(void **s)
{
    relhost_http_response *resp = NULL;
    char *url = url_of("/later");
    relhost_http_request r = req_of("GET", url);
    (void)s;
    set_script("{\"routes\": {\"/later\": [{\"status\": 429, \"headers\": {\"Retry-After\":"
               " \"3600\"}}]}}");
    r.budget_s = 5;
    assert_int_equal(http_request(&r, "t", &resp), 0);
    assert_int_equal(resp->status, 429);
    assert_int_equal(resp->attempts, 1);
    assert_string_equal(resp_header(resp, "retry-after"), "3600");
    http_response_free(resp);
    free(url);
}

static void test_unit_http_http__the_budget_bounds_the_attempts_and_returns_the_last_reply(void **s)
{
    relhost_http_response *resp = NULL;
    char *url = url_of("/down");
    relhost_http_request r = req_of("GET", url);
    (void)s;
    set_script("{\"routes\": {\"/down\": [{\"status\": 503, \"body\": \"maintenance\"}]}}");
    r.max_attempts = 50;
    r.budget_s = 2.5;
    assert_int_equal(http_request(&r, "t", &resp), 0);
    assert_int_equal(resp->status, 503);
    assert_string_equal(resp->body, "maintenance");
    /* waits of 0.5-1 s, 1-2 s, 2-4 s: the budget leaves room for 2 or 3 attempts */
    assert_true(resp->attempts >= 2 && resp->attempts <= 3);
    assert_int_equal(count_requests("/down"), (size_t)resp->attempts);
    http_response_free(resp);
    free(url);
}

/* ---- transport failures ---- */

static void test_unit_http_http__a_refused_connection_is_retried_then_fails_clearly(void **state)
{
    relhost_http_response *resp = NULL;
    int fd, p = refusing_port(&fd);
    char *url = xasprintf("http://127.0.0.1:%d/refused", p);
    relhost_http_request r = req_of("GET", url);
    (void)state;
    r.max_attempts = 2;
    assert_int_equal(http_request(&r, "t", &resp), RELHOST_ERETRY);
    assert_null(resp);
    assert_non_null(strstr(error_last(), url));
    assert_non_null(strstr(error_last(), "after 2 attempts"));
    assert_non_null(strstr(error_last(), "max_attempts=2"));
    assert_non_null(strstr(error_last(), "Couldn't connect"));
    assert_non_null(strstr(error_last(), "check that the service is up"));
    close(fd);
    free(url);
}

static void test_unit_http_http__a_refused_connection_stops_when_the_budget_is_spent(void **state)
{
    relhost_http_response *resp = NULL;
    int fd, p = refusing_port(&fd);
    char *url = xasprintf("http://127.0.0.1:%d/refused", p);
    relhost_http_request r = req_of("GET", url);
    (void)state;
    r.max_attempts = 100;
    r.budget_s = 1.5;
    assert_int_equal(http_request(&r, "t", &resp), RELHOST_ERETRY);
    assert_non_null(strstr(error_last(), "budget_s=1.5"));
    assert_null(strstr(error_last(), "after 100 attempts"));
    close(fd);
    free(url);
}

static void test_unit_http_http__a_reply_slower_than_timeout_s_is_a_retryable_failure(void **state)
{
    relhost_http_response *resp = NULL;
    char *url = url_of("/slow");
    relhost_http_request r = req_of("GET", url);
    (void)state;
    set_script("{\"routes\": {\"/slow\": [{\"status\": 200, \"delay\": 5}]}}");
    r.timeout_s = 0.5;
    r.max_attempts = 2;
    assert_int_equal(http_request(&r, "t", &resp), RELHOST_ERETRY);
    assert_null(resp);
    assert_non_null(strstr(error_last(), "after 2 attempts"));
    assert_non_null(strstr(error_last(), "Timeout was reached"));
    assert_non_null(strstr(error_last(), "raise timeout_s"));
    assert_int_equal(count_requests("/slow"), 2);
    free(url);
}

static void test_unit_http_http__the_budget_also_cuts_a_single_attempt_short(void **state)
{
    relhost_http_response *resp = NULL;
    char *url = url_of("/slower");
    relhost_http_request r = req_of("GET", url);
    (void)state;
    /* With timeout_s alone the 3 s delay would pass and the call succeed. */
    set_script("{\"routes\": {\"/slower\": [{\"status\": 200, \"delay\": 3}]}}");
    r.timeout_s = 30;
    r.budget_s = 1;
    assert_int_equal(http_request(&r, "t", &resp), RELHOST_ERETRY);
    assert_non_null(strstr(error_last(), "after 1 attempt "));
    assert_int_equal(count_requests("/slower"), 1);
    free(url);
}

static void test_unit_http_http__a_connection_reset_mid_reply_is_retried(void **state)
{
    relhost_http_response *resp = NULL;
    char *url = url_of("/reset"), *url2 = url_of("/resetting");
    relhost_http_request r = req_of("GET", url);
    (void)state;
    set_script("{\"routes\": {\"/reset\": [{\"status\": 200, \"body\": \"0123456789abcdef\","
               " \"reset\": \"mid\"}, {\"status\": 200, \"body\": \"whole\"}],"
               " \"/resetting\": [{\"status\": 200, \"reset\": \"before\"}]}}");
    assert_int_equal(http_request(&r, "t", &resp), 0);
    assert_string_equal(resp->body, "whole");
    assert_int_equal(resp->attempts, 2);
    http_response_free(resp);
    resp = NULL;
    r.url = url2;
    r.max_attempts = 2;
    assert_int_equal(http_request(&r, "t", &resp), RELHOST_ERETRY);
    assert_null(resp);
    assert_non_null(strstr(error_last(), "after 2 attempts"));
    /* 2 attempts; curl itself may retry once more when a kept-alive connection it reused dies
     * before any reply (it cannot tell that from a server that closed an idle connection). */
    assert_true(count_requests("/resetting") >= 2 && count_requests("/resetting") <= 3);
    free(url);
    free(url2);
}

static void test_unit_http_http__a_truncated_body_is_an_error_not_a_short_success(void **state)
{
    relhost_http_response *resp = NULL;
    char *url = url_of("/short");
    relhost_http_request r = req_of("GET", url);
    (void)state;
    set_script("{\"routes\": {\"/short\": [{\"status\": 200, \"body\": \"0123456789abcdef\","
               " \"truncate\": 4}]}}");
    r.max_attempts = 2;
    assert_int_equal(http_request(&r, "t", &resp), RELHOST_ERETRY);
    assert_null(resp);
    assert_non_null(strstr(error_last(), "partial"));
    assert_int_equal(count_requests("/short"), 2);
    free(url);
}

static void test_unit_http_http__a_response_over_max_response_fails_without_retrying(void **s)
{
    relhost_http_response *resp = NULL;
    char *url = url_of("/huge"), *url2 = url_of("/hugestream"), *url3 = url_of("/exact");
    relhost_http_request r = req_of("GET", url);
    (void)s;
    set_script("{\"routes\": {\"/huge\": [{\"body_size\": 2097152}],"
               " \"/hugestream\": [{\"body_size\": 2097152, \"no_length\": true}],"
               " \"/exact\": [{\"body_size\": 1048576}]}}");
    r.max_response = 1048576;
    /* announced by Content-Length */
    assert_int_equal(http_request(&r, "t", &resp), RELHOST_EIO);
    assert_null(resp);
    assert_non_null(strstr(error_last(), "response larger than 1048576 bytes"));
    assert_int_equal(count_requests("/huge"), 1);
    /* found while reading a body of unknown length */
    r.url = url2;
    assert_int_equal(http_request(&r, "t", &resp), RELHOST_EIO);
    assert_non_null(strstr(error_last(), "response larger than 1048576 bytes"));
    assert_int_equal(count_requests("/hugestream"), 1);
    /* the cap itself is allowed */
    r.url = url3;
    assert_int_equal(http_request(&r, "t", &resp), 0);
    assert_int_equal(resp->body_len, 1048576);
    assert_int_equal(resp->body[1048576], '\0');
    http_response_free(resp);
    free(url);
    free(url2);
    free(url3);
}

/* ---- TLS ---- */

static void test_unit_http_http__tls_is_verified_and_relhost_ca_bundle_names_the_trust(void **s)
{
    relhost_http_response *resp = NULL;
    char *url, *missing;
    relhost_http_request r;
    (void)s;
    if (tls_port <= 0)
        skip();
    url = xasprintf("https://127.0.0.1:%d/tls", tls_port);
    r = req_of("GET", url);
    set_script("{\"routes\": {\"/tls\": [{\"status\": 200, \"body\": \"secure\"}]}}");
    /* self-signed: refused, at once (retrying cannot fix a certificate), with what to do */
    unsetenv("RELHOST_CA_BUNDLE");
    assert_int_equal(http_request(&r, "t", &resp), RELHOST_EIO);
    assert_null(resp);
    assert_non_null(strstr(error_last(), "after 1 attempt "));
    assert_non_null(strstr(error_last(), "RELHOST_CA_BUNDLE"));
    assert_non_null(strstr(error_last(), "not retried"));
    assert_int_equal(count_requests("/tls"), 0);
    /* trusted through the variable */
    setenv("RELHOST_CA_BUNDLE", cert_path, 1);
    assert_int_equal(http_request(&r, "t", &resp), 0);
    assert_int_equal(resp->status, 200);
    assert_string_equal(resp->body, "secure");
    http_response_free(resp);
    resp = NULL;
    /* a bundle that is not there is a configuration error naming it */
    missing = xasprintf("%s/no-such-bundle.pem", tmp);
    setenv("RELHOST_CA_BUNDLE", missing, 1);
    assert_int_equal(http_request(&r, "t", &resp), RELHOST_EINVAL);
    assert_non_null(strstr(error_last(), missing));
    unsetenv("RELHOST_CA_BUNDLE");
    free(missing);
    free(url);
}

static void test_unit_http_http__a_certificate_for_another_host_name_is_not_retried(void **s)
{
    relhost_http_response *resp = NULL;
    char *url;
    relhost_http_request r;
    (void)s;
    if (named_port <= 0)
        skip();
    /* The certificate is trusted but names "localhost": asked as 127.0.0.1, it does not match. */
    url = xasprintf("https://127.0.0.1:%d/named", named_port);
    r = req_of("GET", url);
    r.max_attempts = 4;
    set_script("{\"routes\": {\"/named\": [{\"status\": 200, \"body\": \"secure\"}]}}");
    setenv("RELHOST_CA_BUNDLE", named_cert, 1);
    assert_int_equal(http_request(&r, "t", &resp), RELHOST_EIO);
    assert_null(resp);
    assert_non_null(strstr(error_last(), url));
    assert_non_null(strstr(error_last(), "after 1 attempt "));
    assert_non_null(strstr(error_last(), "certificate"));
    assert_non_null(strstr(error_last(), "not retried"));
    assert_int_equal(count_requests("/named"), 0);
    unsetenv("RELHOST_CA_BUNDLE");
    free(url);
}

static void test_unit_http_http__https_to_a_plain_http_port_is_not_retried(void **state)
{
    relhost_http_response *resp = NULL;
    char *url = xasprintf("https://127.0.0.1:%d/plain", port);
    relhost_http_request r = req_of("GET", url);
    (void)state;
    set_script("{\"routes\": {}}");
    r.max_attempts = 4;
    /* A TLS handshake error (CURLE_SSL_CONNECT_ERROR) is in the table's "not retryable" part. */
    assert_int_equal(http_request(&r, "t", &resp), RELHOST_EIO);
    assert_null(resp);
    assert_non_null(strstr(error_last(), "after 1 attempt "));
    assert_non_null(strstr(error_last(), "TLS"));
    assert_non_null(strstr(error_last(), "not retried"));
    free(url);
}

/* A server of the test's own that answers every connection with bytes that are not HTTP. */
static void on_garbage_accept(int fd, short revents, void *arg)
{
    static const char junk[] = "SSH-2.0-OpenSSH_9.2\r\n";
    int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
    ssize_t n;
    (void)revents;
    if (c < 0)
        return;
    n = write(c, junk, sizeof junk - 1);
    (void)n;
    close(c);
    (*(int *)arg)++;
}

static void test_unit_http_http__a_failure_outside_the_table_is_not_retryable(void **state)
{
    relhost_http_response *resp = NULL;
    struct sockaddr_in a;
    socklen_t al = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), accepted = 0;
    char *url;
    relhost_http_request r;
    (void)state;
    assert_true(fd >= 0);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(fd, 8), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
    assert_int_equal(loop_watch_fd(fd, POLLIN, on_garbage_accept, &accepted), 0);
    url = xasprintf("http://127.0.0.1:%d/ssh", ntohs(a.sin_port));
    r = req_of("GET", url);
    r.max_attempts = 4;
    /* Fail closed: what the table does not name as temporary is not, and not EINVAL either
     * (the URL was fine: the server is not an HTTP server). */
    assert_int_equal(http_request(&r, "t", &resp), RELHOST_EIO);
    assert_null(resp);
    assert_non_null(strstr(error_last(), "after 1 attempt "));
    assert_non_null(strstr(error_last(), "not retried"));
    assert_int_equal(accepted, 1);
    loop_unwatch_fd(fd);
    close(fd);
    free(url);
}

static void test_unit_http_http__a_408_is_retried_like_a_5xx(void **state)
{
    relhost_http_response *resp = NULL;
    char *url = url_of("/slowclient");
    relhost_http_request r = req_of("GET", url);
    (void)state;
    set_script("{\"routes\": {\"/slowclient\": [{\"status\": 408, \"body\": \"timeout\"},"
               " {\"status\": 200, \"body\": \"fine\"}]}}");
    assert_int_equal(http_request(&r, "t", &resp), 0);
    assert_int_equal(resp->status, 200);
    assert_int_equal(resp->attempts, 2);
    assert_int_equal(count_requests("/slowclient"), 2);
    http_response_free(resp);
    free(url);
    assert_true(http_status_retryable(408, NULL));
    assert_true(http_status_retryable(429, NULL));
    assert_true(http_status_retryable(500, NULL));
    assert_true(http_status_retryable(599, NULL));
    assert_false(http_status_retryable(400, NULL));
    assert_false(http_status_retryable(404, NULL));
    assert_false(http_status_retryable(403, NULL));
    assert_false(http_status_retryable(200, NULL));
    {
        const char *const limited[] = {"x-ratelimit-remaining: 0", NULL};
        const char *const left[] = {"x-ratelimit-remaining: 12", NULL};
        assert_true(http_status_retryable(403, limited));
        assert_false(http_status_retryable(403, left));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
        T(test_unit_http_http__bearer_token_from_the_environment_reaches_the_server),
        T(test_unit_http_http__basic_auth_sends_base64_of_user_colon_key_and_the_body),
        T(test_unit_http_http__a_missing_credential_variable_is_einval_naming_it),
        T(test_unit_http_http__bad_requests_are_refused_before_anything_is_sent),
        T(test_unit_http_http__a_request_struct_from_an_older_plugin_gets_the_defaults),
        T(test_unit_http_http__a_500_then_200_is_retried_and_succeeds),
        T(test_unit_http_http__a_404_and_a_plain_403_are_returned_at_once),
        T(test_unit_http_http__redirects_are_returned_not_followed),
        T(test_unit_http_http__retry_after_seconds_on_a_429_is_honoured),
        T(test_unit_http_http__retry_after_as_an_http_date_is_honoured),
        T(test_unit_http_http__a_rate_limited_403_waits_for_x_ratelimit_reset),
        T(test_unit_http_http__a_retry_after_past_the_budget_returns_the_429_at_once),
        T(test_unit_http_http__the_budget_bounds_the_attempts_and_returns_the_last_reply),
        T(test_unit_http_http__a_refused_connection_is_retried_then_fails_clearly),
        T(test_unit_http_http__a_refused_connection_stops_when_the_budget_is_spent),
        T(test_unit_http_http__a_reply_slower_than_timeout_s_is_a_retryable_failure),
        T(test_unit_http_http__the_budget_also_cuts_a_single_attempt_short),
        T(test_unit_http_http__a_connection_reset_mid_reply_is_retried),
        T(test_unit_http_http__a_truncated_body_is_an_error_not_a_short_success),
        T(test_unit_http_http__a_response_over_max_response_fails_without_retrying),
        T(test_unit_http_http__tls_is_verified_and_relhost_ca_bundle_names_the_trust),
        T(test_unit_http_http__a_certificate_for_another_host_name_is_not_retried),
        T(test_unit_http_http__https_to_a_plain_http_port_is_not_retried),
        T(test_unit_http_http__a_failure_outside_the_table_is_not_retryable),
        T(test_unit_http_http__a_408_is_retried_like_a_5xx),
        T(test_unit_http_http__credentials_over_plain_http_go_only_to_loopback),
        T(test_unit_http_http__loopback_means_127_0_0_0_8_localhost_and_ipv6_1),
        T(test_unit_http_http__at_most_once_does_not_resend_a_5xx_a_timeout_or_a_reset),
        T(test_unit_http_http__at_most_once_resends_what_never_reached_the_server),
        T(test_unit_http_http__a_plugin_older_than_at_most_once_keeps_its_retries),
        T(test_unit_http_http__an_interrupt_during_a_retry_after_wait_returns_eintr),
        T(test_unit_http_http__an_interrupt_during_a_slow_reply_returns_eintr),
        T(test_unit_http_http__no_form_of_a_secret_reaches_stderr_or_an_error),
        T(test_unit_http_http__secrets_in_base64_are_masked_at_every_offset),
        T(test_unit_http_http__secrets_cut_multiline_and_json_forms_are_masked),
        T(test_unit_http_http__names_that_look_secret),
#undef T
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
