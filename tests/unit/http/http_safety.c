/* SPDX-License-Identifier: MIT */
/* tests/unit/http/http_safety.c - the HTTP cases on what must never leave or be repeated:
 * credentials over plain http only to loopback, at-most-once requests, interrupts while waiting,
 * and that no form of a secret reaches stderr or an error message (main and fixtures in http.c and
 * http_common.c). */

#include "http_common.h"

/* ---- credentials and plain http ---- */

void test_unit_http_http__credentials_over_plain_http_go_only_to_loopback(void **state)
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

void test_unit_http_http__loopback_means_127_0_0_0_8_localhost_and_ipv6_1(void **state)
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

void test_unit_http_http__at_most_once_does_not_resend_a_5xx_a_timeout_or_a_reset(void **s)
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

void test_unit_http_http__at_most_once_resends_what_never_reached_the_server(void **s)
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

void test_unit_http_http__a_plugin_older_than_at_most_once_keeps_its_retries(void **s)
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

void test_unit_http_http__an_interrupt_during_a_retry_after_wait_returns_eintr(void **s)
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

void test_unit_http_http__an_interrupt_during_a_slow_reply_returns_eintr(void **state)
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

void test_unit_http_http__no_form_of_a_secret_reaches_stderr_or_an_error(void **state)
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

void test_unit_http_http__secrets_in_base64_are_masked_at_every_offset(void **state)
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
void test_unit_http_http__secrets_cut_multiline_and_json_forms_are_masked(void **state)
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

void test_unit_http_http__names_that_look_secret(void **state)
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
