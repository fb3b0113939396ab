/* SPDX-License-Identifier: MIT */
/* tests/unit/http/http.c - the host's HTTP service against tests/http/fake_http.py on 127.0.0.1:
 * credentials from the environment, retries (5xx, 429 Retry-After, rate-limit reset), the budget,
 * transport failures (refused, slow, reset, truncated, too large), interrupts while waiting, and
 * that no form of a secret reaches stderr or an error message. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/error.h"
#include "base/log.h"
#include "base/secrets.h"
#include "base/util.h"
#include "net/http.h"
#include "run/host.h"
#include "run/loop.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

static char tmp[PATH_MAX];
static char script_path[PATH_MAX + 32];
static char log_path[PATH_MAX + 32];
static pid_t fake_pid = -1, tls_pid = -1, named_pid = -1;
static int port, tls_port, named_port;
static char cert_path[PATH_MAX + 32], key_path[PATH_MAX + 32];
/* A certificate for "localhost" only, served on 127.0.0.1: a host name mismatch. */
static char named_cert[PATH_MAX + 32], named_key[PATH_MAX + 32];

/* ---- helpers ---- */

static char *slurp(const char *path)
{
    strbuf b;
    char buf[4096];
    ssize_t n;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    sb_init(&b);
    while ((n = read(fd, buf, sizeof buf)) > 0)
        sb_add(&b, buf, (size_t)n);
    close(fd);
    return sb_take(&b);
}

/* Replace the fake's script atomically: it reads the file for every request. */
static void set_script(const char *json)
{
    char t[PATH_MAX + 40];
    FILE *f;
    snprintf(t, sizeof t, "%s.tmp", script_path);
    f = fopen(t, "we");
    assert_non_null(f);
    assert_true(fputs(json, f) >= 0);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(rename(t, script_path), 0);
}

static char *url_of(const char *path) { return xasprintf("http://127.0.0.1:%d%s", port, path); }

/* The requests the fake recorded whose path (without query) is `path`, oldest first. */
static json_t *requests_for(const char *path)
{
    json_t *arr = json_array();
    char *text = slurp(log_path), *line, *save = NULL;
    if (!text)
        return arr;
    for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        json_t *o = json_loads(line, 0, NULL);
        const char *p = o ? json_string_value(json_object_get(o, "path")) : NULL;
        size_t pl = strlen(path);
        if (p && strncmp(p, path, pl) == 0 && (p[pl] == '\0' || p[pl] == '?'))
            json_array_append_new(arr, o);
        else
            json_decref(o);
    }
    free(text);
    return arr;
}

static size_t count_requests(const char *path)
{
    json_t *a = requests_for(path);
    size_t n = json_array_size(a);
    json_decref(a);
    return n;
}

/* Header `name` of the i-th recorded request for path, copied ("" when absent). */
static char *seen_header(const char *path, size_t i, const char *name)
{
    json_t *a = requests_for(path);
    const char *v =
        json_string_value(json_object_get(json_object_get(json_array_get(a, i), "headers"), name));
    char *out = xstrdup(v ? v : "");
    json_decref(a);
    return out;
}

static relhost_http_request req_of(const char *method, const char *url)
{
    relhost_http_request r;
    memset(&r, 0, sizeof r);
    r.struct_size = sizeof r;
    r.method = method;
    r.url = url;
    return r;
}

static const char *resp_header(const relhost_http_response *resp, const char *name)
{
    size_t nl = strlen(name);
    for (size_t i = 0; resp->headers[i]; i++)
        if (strncmp(resp->headers[i], name, nl) == 0 && resp->headers[i][nl] == ':')
            return resp->headers[i] + nl + 2;
    return NULL;
}

/* A port where connections are refused: bound, never listening, kept for the test. */
static int refusing_port(int *fd_out)
{
    struct sockaddr_in a;
    socklen_t al = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
    *fd_out = fd;
    return ntohs(a.sin_port);
}

/* A real SIGINT to ourselves, sent from a loop timer callback while relhost waits. */
static int sigint_tfd = -1;

static void on_sigint_timer(int fd, short revents, void *arg)
{
    uint64_t n;
    ssize_t r = read(fd, &n, sizeof n);
    (void)r;
    (void)revents;
    (void)arg;
    loop_unwatch_fd(fd);
    kill(getpid(), SIGINT);
}

static void sigint_after(double secs)
{
    struct itimerspec its;
    memset(&its, 0, sizeof its);
    its.it_value.tv_sec = (time_t)secs;
    its.it_value.tv_nsec = (long)((secs - (double)(time_t)secs) * 1e9);
    sigint_tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
    assert_true(sigint_tfd >= 0);
    assert_int_equal(timerfd_settime(sigint_tfd, 0, &its, NULL), 0);
    assert_int_equal(loop_watch_fd(sigint_tfd, POLLIN, on_sigint_timer, NULL), 0);
}

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

/* ---- credentials and plain http ---- */

static void test_unit_http_http__credentials_over_plain_http_go_only_to_loopback(void **state)
{
    static const char secret[] = "hook-secret-0123456789abcdef";
    relhost_http_response *resp = NULL;
    /* 2130706433 is 127.0.0.1 written as one number: curl would reach the fake, but it is not
     * one of the loopback spellings relhost accepts, so it stands for "another host" without
     * any traffic leaving this machine. */
    char *far = xasprintf("http://2130706433:%d/plain", port);
    char *near = url_of("/plain");
    char *far_secret = xasprintf("http://2130706433:%d/plain/%s", port, secret);
    char *far_user = xasprintf("http://api:pw-0123@2130706433:%d/plain", port);
    char *shown = xasprintf("http://2130706433:%d/plain/" SECRETS_MASK, port);
    const char *const auth_header[] = {"Authorization: Token abc", NULL};
    const char *const secret_header[] = {"X-Hook: hook-secret-0123456789abcdef", NULL};
    relhost_http_request r;
    (void)state;
    setenv("RH_HTTP_TOKEN", "tok-1234567890abcdef", 1);
    secrets_add(secret);
    set_script("{\"routes\": {\"/plain\": [{\"status\": 200, \"body\": \"ok\"}]}}");

    /* bearer_env, basic_env, an Authorization header, a secret in the URL or in a header, a
     * user:password@: each refused before anything is sent, naming the URL and what to do */
    r = req_of("GET", far);
    r.bearer_env = "RH_HTTP_TOKEN";
    assert_int_equal(http_request(&r, "t", &resp), RELHOST_EINVAL);
    assert_null(resp);
    assert_non_null(strstr(error_last(), far));
    assert_non_null(strstr(error_last(), "bearer_env"));
    assert_non_null(strstr(error_last(), "plain http"));
    assert_non_null(strstr(error_last(), "use https://"));
    r = req_of("POST", far);
    r.basic_user = "api";
    r.basic_env = "RH_HTTP_TOKEN";
    assert_int_equal(http_request(&r, "t", &resp), RELHOST_EINVAL);
    assert_non_null(strstr(error_last(), "basic_env"));
    r = req_of("GET", far);
    r.headers = auth_header;
    assert_int_equal(http_request(&r, "t", &resp), RELHOST_EINVAL);
    assert_non_null(strstr(error_last(), "Authorization header"));
    r = req_of("POST", far_secret);
    assert_int_equal(http_request(&r, "t", &resp), RELHOST_EINVAL);
    assert_non_null(strstr(error_last(), shown));
    assert_null(strstr(error_last(), secret));
    r = req_of("GET", far);
    r.headers = secret_header;
    assert_int_equal(http_request(&r, "t", &resp), RELHOST_EINVAL);
    assert_null(strstr(error_last(), secret));
    r = req_of("GET", far_user);
    assert_int_equal(http_request(&r, "t", &resp), RELHOST_EINVAL);
    assert_null(strstr(error_last(), "pw-0123"));
    assert_int_equal(count_requests("/plain"), 0);

    /* without credentials plain http goes anywhere; with them, to loopback */
    r = req_of("GET", far);
    assert_int_equal(http_request(&r, "t", &resp), 0);
    assert_int_equal(resp->status, 200);
    http_response_free(resp);
    r = req_of("GET", near);
    r.bearer_env = "RH_HTTP_TOKEN";
    assert_int_equal(http_request(&r, "t", &resp), 0);
    assert_int_equal(resp->status, 200);
    http_response_free(resp);
    assert_int_equal(count_requests("/plain"), 2);

    free(far);
    free(near);
    free(far_secret);
    free(far_user);
    free(shown);
}

static void test_unit_http_http__loopback_means_127_0_0_0_8_localhost_and_ipv6_1(void **state)
{
    static const char *const yes[] = {
        "http://127.0.0.1/", "http://127.0.0.1:8080/x", "http://127.255.3.4",
        "http://localhost",  "http://LocalHost:9/a?b",  "http://[::1]:8080/",
        "http://[::1]",      "http://u:p@127.0.0.1/",   "https://example.com/"};
    static const char *const no[] = {"http://127.0.0.1.example.com/",
                                     "http://localhost.example.com:80/",
                                     "http://example.com/127.0.0.1",
                                     "http://example.com?x=127.0.0.1",
                                     "http://example.com#127.0.0.1",
                                     "http://127.0.0.1@example.com/",
                                     "http://localhost:pw@example.com/",
                                     "http://[::2]/",
                                     "http://[::ffff:127.0.0.1]/",
                                     "http://2130706433/",
                                     "http://127.1/",
                                     "http://128.0.0.1/",
                                     "http://0.0.0.0/",
                                     "http://[::1/",
                                     "http:///x",
                                     "http://"};
    (void)state;
    for (size_t i = 0; i < sizeof yes / sizeof *yes; i++)
        if (!http_plain_ok(yes[i]))
            fail_msg("%s should be allowed credentials", yes[i]);
    for (size_t i = 0; i < sizeof no / sizeof *no; i++)
        if (http_plain_ok(no[i]))
            fail_msg("%s should not be allowed credentials over plain http", no[i]);
}

/* ---- at most once ---- */

static void test_unit_http_http__at_most_once_does_not_resend_a_5xx_a_timeout_or_a_reset(void **s)
{
    relhost_http_response *resp = NULL;
    char *u500 = url_of("/once500"), *uslow = url_of("/onceslow"), *ureset = url_of("/oncereset");
    relhost_http_request r = req_of("POST", u500);
    (void)s;
    set_script("{\"routes\": {\"/once500\": [{\"status\": 500, \"body\": \"no\"},"
               " {\"status\": 200}], \"/onceslow\": [{\"status\": 200, \"delay\": 3}],"
               " \"/oncereset\": [{\"status\": 200, \"body\": \"0123456789abcdef\","
               " \"reset\": \"mid\"}, {\"status\": 200}]}}");
    r.at_most_once = 1;
    r.body = "{\"content\": \"released\"}";
    assert_int_equal(http_request(&r, "t", &resp), 0);
    assert_int_equal(resp->status, 500);
    assert_int_equal(resp->attempts, 1);
    assert_int_equal(count_requests("/once500"), 1);
    http_response_free(resp);
    resp = NULL;

    /* sent, then no usable reply: "delivery unknown" (RELHOST_ETIMEDOUT), never resent and
     * not retryable */
    r.url = uslow;
    r.timeout_s = 0.5;
    assert_int_equal(http_request(&r, "t", &resp), RELHOST_ETIMEDOUT);
    assert_null(resp);
    assert_non_null(strstr(error_last(), "after 1 attempt "));
    assert_non_null(strstr(error_last(), "the server may have received it"));
    assert_non_null(strstr(error_last(), "check whether it took effect"));
    assert_int_equal(count_requests("/onceslow"), 1);

    r.url = ureset;
    r.timeout_s = 0;
    assert_int_equal(http_request(&r, "t", &resp), RELHOST_ETIMEDOUT);
    assert_non_null(strstr(error_last(), "at_most_once"));
    assert_int_equal(count_requests("/oncereset"), 1);
    free(u500);
    free(uslow);
    free(ureset);
}

static void test_unit_http_http__at_most_once_resends_what_never_reached_the_server(void **s)
{
    relhost_http_response *resp = NULL;
    int fd, p = refusing_port(&fd);
    char *refused = xasprintf("http://127.0.0.1:%d/oncerefused", p), *busy = url_of("/oncebusy");
    relhost_http_request r = req_of("POST", refused);
    (void)s;
    set_script("{\"routes\": {\"/oncebusy\": [{\"status\": 429, \"headers\": {\"Retry-After\":"
               " \"0\"}}, {\"status\": 204}]}}");
    r.at_most_once = 1;
    r.max_attempts = 2;
    assert_int_equal(http_request(&r, "t", &resp), RELHOST_ERETRY);
    assert_non_null(strstr(error_last(), "after 2 attempts"));
    /* a certificate that does not verify: nothing was sent, not retryable (RELHOST_EIO) */
    if (tls_port > 0) {
        char *tls = xasprintf("https://127.0.0.1:%d/oncetls", tls_port);
        unsetenv("RELHOST_CA_BUNDLE");
        r.url = tls;
        assert_int_equal(http_request(&r, "t", &resp), RELHOST_EIO);
        assert_non_null(strstr(error_last(), "certificate"));
        assert_int_equal(count_requests("/oncetls"), 0);
        free(tls);
    }
    r.url = busy;
    assert_int_equal(http_request(&r, "t", &resp), 0);
    assert_int_equal(resp->status, 204);
    assert_int_equal(resp->attempts, 2);
    assert_int_equal(count_requests("/oncebusy"), 2);
    http_response_free(resp);
    close(fd);
    free(refused);
    free(busy);
}

static void test_unit_http_http__a_plugin_older_than_at_most_once_keeps_its_retries(void **s)
{
    relhost_http_response *resp = NULL;
    char *url = url_of("/olderretry");
    relhost_http_request r = req_of("POST", url);
    (void)s;
    set_script("{\"routes\": {\"/olderretry\": [{\"status\": 502}, {\"status\": 201}]}}");
    /* An ABI 1.3 struct ends before at_most_once: what lies past it is not read. */
    r.struct_size = offsetof(relhost_http_request, at_most_once);
    r.at_most_once = 1;
    assert_int_equal(http_request(&r, "t", &resp), 0);
    assert_int_equal(resp->status, 201);
    assert_int_equal(resp->attempts, 2);
    http_response_free(resp);
    free(url);
}

/* ---- interrupts ---- */

static void test_unit_http_http__an_interrupt_during_a_retry_after_wait_returns_eintr(void **s)
{
    relhost_http_response *resp = NULL;
    char *url = url_of("/wait");
    relhost_http_request r = req_of("GET", url);
    double t0;
    (void)s;
    set_script("{\"routes\": {\"/wait\": [{\"status\": 429, \"headers\": {\"Retry-After\":"
               " \"30\"}}]}}");
    sigint_after(0.3);
    t0 = loop_now();
    assert_int_equal(http_request(&r, "t", &resp), RELHOST_EINTR);
    /* far below the 30 s the server asked for */
    assert_true(loop_now() - t0 < 20);
    assert_null(resp);
    assert_int_equal(loop_interrupt_signal(), SIGINT);
    assert_non_null(strstr(error_last(), "interrupted while waiting to retry"));
    assert_int_equal(count_requests("/wait"), 1);
    close(sigint_tfd);
    free(url);
}

static void test_unit_http_http__an_interrupt_during_a_slow_reply_returns_eintr(void **state)
{
    relhost_http_response *resp = NULL;
    char *url = url_of("/hang");
    relhost_http_request r = req_of("GET", url);
    double t0;
    (void)state;
    set_script("{\"routes\": {\"/hang\": [{\"status\": 200, \"delay\": 30}]}}");
    sigint_after(0.3);
    t0 = loop_now();
    assert_int_equal(http_request(&r, "t", &resp), RELHOST_EINTR);
    assert_true(loop_now() - t0 < 20);
    assert_null(resp);
    assert_non_null(strstr(error_last(), "interrupted during attempt 1"));
    close(sigint_tfd);
    free(url);
}

/* ---- secrets ---- */

static void assert_absent(const char *text, const char *what, const char *form)
{
    if (strstr(text, form))
        fail_msg("%s (%s) found in the output:\n%s", what, form, text);
}

static void test_unit_http_http__no_form_of_a_secret_reaches_stderr_or_an_error(void **state)
{
    static const char tok[] = "s3cr3t/t0ken+with=chars-0123456789";
    relhost_http_response *resp = NULL;
    char errfile[PATH_MAX + 16], *out, *enc, *pair, *b64pair, *q, *url, *url2, *url3, *msg;
    int saved, fd, rfd, rport = refusing_port(&rfd);
    relhost_http_request r;
    relhost_ctx base;
    hostctx hc;
    strvec forms = {0};
    (void)state;

    setenv("RH_HTTP_SECRET", tok, 1);
    set_script("{\"routes\": {\"/s\": [{\"status\": 200, \"body\": \"ok\"}],"
               " \"/s500\": [{\"status\": 500, \"body\": \"no\"}]}}");
    /* What a plugin would do: read the secret through the host, then put it into a query. */
    assert_non_null(host_table()->secret(NULL, "RH_HTTP_SECRET"));
    enc = url_encode(tok);
    q = xasprintf("?token=%s&raw=%s", enc, tok);
    url = xasprintf("http://127.0.0.1:%d/s%s", port, q);
    url2 = xasprintf("http://127.0.0.1:%d/s500%s", port, q);
    url3 = xasprintf("http://api:%s@127.0.0.1:%d/refused%s", enc, rport, q);

    snprintf(errfile, sizeof errfile, "%s/stderr.txt", tmp);
    fd = open(errfile, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    fflush(stderr);
    saved = dup(2);
    dup2(fd, 2);
    close(fd);
    log_init(1, 0);

    r = req_of("GET", url);
    r.bearer_env = "RH_HTTP_SECRET";
    assert_int_equal(http_request(&r, "t", &resp), 0);
    http_response_free(resp);

    r = req_of("POST", url2);
    r.basic_user = "api";
    r.basic_env = "RH_HTTP_SECRET";
    r.max_attempts = 2;
    assert_int_equal(http_request(&r, "t", &resp), 0);
    assert_int_equal(resp->status, 500);
    http_response_free(resp);

    /* through the services table: the message a plugin's step would report */
    memset(&base, 0, sizeof base);
    base.struct_size = sizeof base;
    hostctx_init(&hc, &base, "plug", "step", NULL, NULL);
    r = req_of("GET", url3);
    r.bearer_env = "RH_HTTP_SECRET";
    r.max_attempts = 2;
    assert_int_equal(host_table()->http_request(&hc.pub, &r, &resp), RELHOST_ERETRY);
    msg = hostctx_take_fail(&hc);
    assert_non_null(msg);
    fprintf(stderr, "fail: %s\nerror_last: %s\n", msg, error_last());
    log_msg(RELHOST_LOG_ERROR, "t", "%s", msg);
    free(msg);
    hostctx_fini(&hc);

    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    log_init(0, 0);
    out = slurp(errfile);
    assert_non_null(out);

    /* the output is there (a redactor that dropped everything would pass too) */
    assert_non_null(strstr(out, "attempt 1/"));
    assert_non_null(strstr(out, "retrying in"));
    assert_non_null(strstr(out, "?token=" SECRETS_MASK "&raw=" SECRETS_MASK));
    assert_non_null(strstr(out, "http://" SECRETS_MASK "@127.0.0.1"));
    /* and the server did get the credentials */
    {
        char *a = seen_header("/s", 0, "authorization");
        assert_non_null(strstr(a, tok));
        free(a);
    }

    sv_push(&forms, tok);
    sv_push_take(&forms, url_encode(tok));
    pair = xasprintf("api:%s", tok);
    b64pair = base64_encode((const unsigned char *)pair, strlen(pair));
    b64pair[strcspn(b64pair, "=")] = '\0';
    sv_push(&forms, b64pair);
    /* base64 of the token at each byte offset inside a longer text, edges dropped */
    for (size_t k = 0; k < 3; k++) {
        char *pre = xasprintf("%.*s%s!", (int)k, "ab", tok);
        char *b = base64_encode((const unsigned char *)pre, strlen(pre));
        b[(8 * (k + strlen(tok))) / 6] = '\0';
        sv_push(&forms, b + (8 * k + 5) / 6);
        free(b);
        free(pre);
    }
    for (size_t i = 0; i < forms.n; i++)
        assert_absent(out, "a form of the secret", forms.v[i]);
    assert_absent(out, "the secret's distinctive part", "t0ken");

    sv_free(&forms);
    free(pair);
    free(b64pair);
    free(out);
    free(url);
    free(url2);
    free(url3);
    free(q);
    free(enc);
    close(rfd);
}

static void test_unit_http_http__secrets_in_base64_are_masked_at_every_offset(void **state)
{
    static const char key[] = "0123456789abcdefKEY";
    (void)state;
    secrets_add(key);
    for (size_t k = 0; k < 6; k++) {
        char *text = xasprintf("%.*s%s tail", (int)k, "user:x", key);
        char *b64 = base64_encode((const unsigned char *)text, strlen(text));
        char *red = secrets_redact_dup(b64);
        if (!strstr(red, SECRETS_MASK))
            fail_msg("base64 of \"%s\" (%s) is not masked", text, b64);
        free(red);
        free(b64);
        free(text);
    }
    {
        char *red = secrets_redact_dup("q=0123456789abcdefkey%2f and 0123456789abcdefKEY");
        assert_string_equal(red, "q=0123456789abcdefkey%2f and " SECRETS_MASK);
        free(red);
    }
}

/* Issue 15: forms a secret takes on its way out, each masked. */
static void test_unit_http_http__secrets_cut_multiline_and_json_forms_are_masked(void **state)
{
    (void)state;
    secrets_add("tok_SECRET_0123456789abcdef");
    secrets_add("line-one-of-key\nline-two-of-key\n");
    secrets_add("pw\"with\\quote/slash");
    static const char *const cases[][2] = {
        /* shortened by whoever printed it: the start of the secret is masked too */
        {"blocker: \"bbbb tok_SECRET_0123456789abc...\"", "blocker: \"bbbb " SECRETS_MASK "...\""},
        {"body tok_SECRET_0123\xe2\x80\xa6", "body " SECRETS_MASK "\xe2\x80\xa6"},
        {"ends with tok_SECRET_01", "ends with " SECRETS_MASK},
        /* fewer than 8 bytes of it is not a secret's start */
        {"tok_SEC...", "tok_SEC..."},
        /* a value of several lines, printed a line at a time */
        {"> line-two-of-key", "> " SECRETS_MASK},
        /* JSON-escaped, '/' as is or escaped */
        {"{\"p\": \"pw\\\"with\\\\quote/slash\"}", "{\"p\": \"" SECRETS_MASK "\"}"},
        {"{\"p\": \"pw\\\"with\\\\quote\\/slash\"}", "{\"p\": \"" SECRETS_MASK "\"}"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *red = secrets_redact_dup(cases[i][0]);
        if (strcmp(red, cases[i][1]) != 0)
            fail_msg("\"%s\" redacts to \"%s\", want \"%s\"", cases[i][0], red, cases[i][1]);
        free(red);
    }
}

static void test_unit_http_http__names_that_look_secret(void **state)
{
    static const char *const yes[] = {"HF_TOKEN",
                                      "GH_TOKEN2",
                                      "PGPASSWORD",
                                      "db_password",
                                      "AWS_SECRET_ACCESS_KEY",
                                      "GOOGLE_APPLICATION_CREDENTIALS",
                                      "SLACK_WEBHOOK_URL",
                                      "OPENAI_APIKEY",
                                      "TOKENS",
                                      NULL};
    static const char *const no[] = {"TOKENIZERS_PARALLELISM",
                                     "PATH",
                                     "HOME",
                                     "KEYBOARD",
                                     "PASSAGE",
                                     "SECRETARY",
                                     "TOKENX",
                                     NULL};
    (void)state;
    for (size_t i = 0; yes[i]; i++)
        if (!secrets_name_looks_secret(yes[i]))
            fail_msg("%s should look secret", yes[i]);
    for (size_t i = 0; no[i]; i++)
        if (secrets_name_looks_secret(no[i]))
            fail_msg("%s should not look secret", no[i]);
}

/* ---- fixtures ---- */

static int setup(void **state)
{
    (void)state;
    if (loop_init() != 0)
        return -1;
    log_init(0, 0);
    error_clear();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    loop_fini();
    return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path) == 0 ? 0 : -1;
}

/* Starts a fake (with TLS when cert is given) and reads its port; the test's own fork, not
 * relhost's proc. */
static int start_fake(const char *cert, const char *key, pid_t *pid_out)
{
    const char *src = getenv("RELHOST_SOURCE_DIR");
    const char *py = getenv("PYTHON3");
    char fake[PATH_MAX], line[32];
    size_t got = 0;
    pid_t pid;
    int p[2];
    if (!src)
        return -1;
    if (!py || !*py)
        py = "python3";
    snprintf(fake, sizeof fake, "%s/tests/http/fake_http.py", src);
    if (pipe2(p, O_CLOEXEC) != 0)
        return -1;
    pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        dup2(p[1], 1);
        if (cert)
            execlp(py, py, fake, "--port", "0", "--script", script_path, "--log", log_path,
                   "--tls-cert", cert, "--tls-key", key, (char *)NULL);
        else
            execlp(py, py, fake, "--port", "0", "--script", script_path, "--log", log_path,
                   (char *)NULL);
        _exit(127);
    }
    *pid_out = pid;
    close(p[1]);
    while (got + 1 < sizeof line) {
        ssize_t n = read(p[0], line + got, 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0 || line[got] == '\n')
            break;
        got++;
    }
    line[got] = '\0';
    close(p[0]);
    return atoi(line);
}

/* A self-signed certificate (openssl req) for subject cn and subjectAltName san; 0 when made. */
static int make_cert(const char *cert, const char *key, const char *cn, const char *san)
{
    pid_t pid;
    int st;
    pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 1);
        dup2(devnull, 2);
        execlp("openssl", "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
               key, "-out", cert, "-days", "2", "-subj", cn, "-addext", san, (char *)NULL);
        _exit(127);
    }
    if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        return -1;
    return 0;
}

static int group_setup(void **state)
{
    const char *base = getenv("RELHOST_TEST_TMP");
    (void)state;
    if (!base)
        return -1;
    snprintf(tmp, sizeof tmp, "%s/unit_http", base);
    nftw(tmp, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    if (path_mkdirs(tmp) != 0)
        return -1;
    snprintf(script_path, sizeof script_path, "%s/script.json", tmp);
    snprintf(log_path, sizeof log_path, "%s/requests.jsonl", tmp);
    set_script("{\"routes\": {}}");
    /* The fake is on loopback: a proxy from the environment must not be asked for it. */
    unsetenv("http_proxy");
    unsetenv("HTTP_PROXY");
    unsetenv("https_proxy");
    unsetenv("HTTPS_PROXY");
    unsetenv("all_proxy");
    unsetenv("ALL_PROXY");
    unsetenv("RELHOST_CA_BUNDLE");
    if (http_init() != 0)
        return -1;
    port = start_fake(NULL, NULL, &fake_pid);
    if (port <= 0)
        return -1;
    /* Without openssl the TLS test skips; every other test runs. */
    snprintf(cert_path, sizeof cert_path, "%s/cert.pem", tmp);
    snprintf(key_path, sizeof key_path, "%s/key.pem", tmp);
    snprintf(named_cert, sizeof named_cert, "%s/localhost-cert.pem", tmp);
    snprintf(named_key, sizeof named_key, "%s/localhost-key.pem", tmp);
    if (make_cert(cert_path, key_path, "/CN=127.0.0.1", "subjectAltName=IP:127.0.0.1") == 0)
        tls_port = start_fake(cert_path, key_path, &tls_pid);
    if (make_cert(named_cert, named_key, "/CN=localhost", "subjectAltName=DNS:localhost") == 0)
        named_port = start_fake(named_cert, named_key, &named_pid);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    http_fini();
    secrets_clear();
    if (fake_pid > 0) {
        kill(fake_pid, SIGTERM);
        waitpid(fake_pid, NULL, 0);
    }
    if (tls_pid > 0) {
        kill(tls_pid, SIGTERM);
        waitpid(tls_pid, NULL, 0);
    }
    if (named_pid > 0) {
        kill(named_pid, SIGTERM);
        waitpid(named_pid, NULL, 0);
    }
    return 0;
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
