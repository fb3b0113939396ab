/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the notify gate against the mock host, with a scripted HTTP service and an
 * in-memory record store: Discord's 2000-character cut at its exact boundaries, Slack's "ok"
 * body, a host without HTTP, an interrupt, a webhook variable that holds no https URL (refused
 * without showing it), and the at-most-once rules: what each failure records, which records
 * stop a post, resend and delivered, a record that cannot be written.
 * The conf is filled from plan text through the plugin's own option table.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The plugin itself, so its statics (discord_cut) are testable too. */
#include "../../plugins/notify/notify.c"

#include <cmocka.h>

#include "base/error.h"
#include "mock_host.h"
#include "plan/options.h"

struct reply {
    int rc;
    long status;
    const char *body;
};

/* Test-only state: one test at a time drives the scripted HTTP service. */
static struct {
    const struct reply *script;
    size_t n, next;
    char bodies[4][256];
} http;

/* The delivery records, as the host keeps them for one step of one release. */
static struct {
    char key[4][32];
    char value[4][320];
    size_t n;
    int puts;
    int fail_puts; /* record_put fails from this call on (1-based); 0: never */
} recs;

static const char *fake_record_get(const relhost_ctx *ctx, const char *key)
{
    (void)ctx;
    for (size_t i = 0; i < recs.n; i++)
        if (strcmp(recs.key[i], key) == 0)
            return recs.value[i];
    return NULL;
}

static int fake_record_put(const relhost_ctx *ctx, const char *key, const char *value)
{
    size_t i;
    recs.puts++;
    (void)ctx;
    if (recs.fail_puts != 0 && recs.puts >= recs.fail_puts)
        return RELHOST_EIO;
    for (i = 0; i < recs.n && strcmp(recs.key[i], key) != 0; i++)
        ;
    assert_true(i < 4);
    if (i == recs.n)
        recs.n++;
    snprintf(recs.key[i], sizeof recs.key[i], "%s", key);
    snprintf(recs.value[i], sizeof recs.value[i], "%s", value);
    return 0;
}

static void seed_record(const char *key, const char *value)
{
    assert_int_equal(fake_record_put(NULL, key, value), 0);
    recs.puts = 0;
}

static int scripted_http(const relhost_ctx *ctx, const relhost_http_request *req,
                         relhost_http_response **out)
{
    const struct reply *r;
    relhost_http_response *resp;

    (void)ctx;
    *out = NULL;
    assert_true(http.next < http.n && http.next < 4);
    assert_string_equal(req->method, "POST");
    assert_true(req->at_most_once);
    /* the intent is durable before the request leaves */
    {
        const char *rec = fake_record_get(ctx, strstr(req->url, "slack") ? "slack" : "discord");
        assert_non_null(rec);
        assert_memory_equal(rec, "sending ", 8);
    }
    snprintf(http.bodies[http.next], sizeof http.bodies[0], "%.*s", (int)req->body_len, req->body);
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

struct fx {
    mock_host m;
    const relhost_plugin *pl;
    struct notify_conf conf;
    optstore *st;
    void *inst;
    relhost_verdict v;
};

static struct fx *fx_new(const char *text, const char *const *env, const struct reply *script,
                         size_t n)
{
    struct fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    mock_host_init(&f->m);
    f->m.secrets = env;
    memset(&http, 0, sizeof http);
    memset(&recs, 0, sizeof recs);
    http.script = script;
    http.n = n;
    f->m.host.record_get = fake_record_get;
    f->m.host.record_put = fake_record_put;
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

static const char *const discord_only[] = {
    "DISCORD_WEBHOOK_URL=https://discord.test/api/webhooks/1/tok-0123456789abcdefghij", NULL};
static const char *const both[] = {
    "DISCORD_WEBHOOK_URL=https://discord.test/api/webhooks/1/tok-0123456789abcdefghij",
    "SLACK_WEBHOOK_URL=https://hooks.slack.test/services/T1/B2/sec-0123456789abcdef", NULL};

static void assert_fail_has(const struct fx *f, const char *needle)
{
    const char *m = mock_host_last_fail(&f->m);
    if (m == NULL || strstr(m, needle) == NULL)
        fail_msg("last fail() is \"%s\", wanted it to contain \"%s\"", m ? m : "(none)", needle);
}

/* A string of n copies of the UTF-8 character c, on the heap. */
static char *repeat(const char *c, size_t n)
{
    size_t len = strlen(c);
    char *s = malloc(n * len + 1);
    assert_non_null(s);
    for (size_t i = 0; i < n; i++)
        memcpy(s + i * len, c, len);
    s[n * len] = '\0';
    return s;
}

static void test_plugins_notify__discord_cut_keeps_2000_and_cuts_2001(void **state)
{
    size_t units;
    int cut;
    char *s, *out;
    (void)state;

    s = repeat("\xC3\xA9", 2000); /* 2000 characters of two bytes: fits exactly */
    out = discord_cut(s, &units, &cut);
    assert_int_equal(units, 2000);
    assert_false(cut);
    assert_string_equal(out, s);
    free(out);
    free(s);

    s = repeat("a", 2001);
    out = discord_cut(s, &units, &cut);
    assert_true(cut);
    assert_int_equal(strlen(out), 1999 + 3); /* 1999 'a' and the 3-byte ellipsis */
    assert_string_equal(out + 1999, "\xE2\x80\xA6");
    free(out);
    free(s);

    /* 999 astral characters are 1998 units; the 1000th would pass 1999: never half of one. */
    s = repeat("\xF0\x9F\x8E\x89", 1001);
    out = discord_cut(s, &units, &cut);
    assert_int_equal(units, 2002);
    assert_true(cut);
    assert_int_equal(strlen(out), 999 * 4 + 3);
    assert_memory_equal(out, s, 999 * 4);
    free(out);
    free(s);
}

static void test_plugins_notify__no_http_service_is_an_error_that_says_so(void **state)
{
    (void)state;
    struct fx *f = fx_new("message = \"hi\";", discord_only, NULL, 0);
    assert_int_equal(fx_run(f), RELHOST_ENOTSUP);
    assert_fail_has(f, "this relhost has no HTTP service");
    fx_free(f);
}

static void test_plugins_notify__slack_ok_with_a_newline_passes(void **state)
{
    static const struct reply script[] = {{0, 204, ""}, {0, 200, "ok\n"}};
    (void)state;
    struct fx *f = fx_new("message = \"hi \\\"there\\\"\";", both, script, 2);
    assert_int_equal(fx_run(f), 0);
    assert_int_equal(f->v.outcome, RELHOST_PASSED);
    assert_string_equal(http.bodies[0], "{\"content\":\"hi \\\"there\\\"\"}");
    assert_string_equal(http.bodies[1], "{\"text\":\"hi \\\"there\\\"\"}");
    assert_string_equal(mock_host_label(&f->m, "discord"), "posted");
    assert_string_equal(mock_host_label(&f->m, "slack"), "posted");
    fx_free(f);
}

static void test_plugins_notify__slack_200_with_another_word_is_an_error(void **state)
{
    static const struct reply script[] = {{0, 200, "ok-ish"}};
    static const char *const slack_only[] = {
        "SLACK_WEBHOOK_URL=https://hooks.slack.test/services/T1/B2/sec-0123456789abcdef", NULL};
    (void)state;
    struct fx *f = fx_new("message = \"hi\";", slack_only, script, 1);
    assert_int_equal(fx_run(f), 0);
    assert_int_equal(f->v.outcome, RELHOST_ERROR);
    assert_false(f->v.retryable);
    assert_string_equal(f->v.reason, "delivery_unknown");
    assert_fail_has(f, "delivery to Slack is unknown (slack: unknown ");
    assert_fail_has(f, ": HTTP 200)");
    assert_non_null(mock_host_note(&f->m, "Slack: delivery unknown: HTTP 200: \"ok-ish\" "
                                          "instead of \"ok\""));
    fx_free(f);
}

static void test_plugins_notify__an_interrupt_stops_before_the_next_service(void **state)
{
    static const struct reply script[] = {{RELHOST_EINTR, 0, NULL}};
    (void)state;
    struct fx *f = fx_new("message = \"hi\";", both, script, 1);
    assert_int_equal(fx_run(f), RELHOST_EINTR);
    assert_int_equal(http.next, 1); /* Slack was not tried */
    fx_free(f);
}

static void test_plugins_notify__a_url_that_is_not_https_is_refused_unshown(void **state)
{
    static const char *const plain[] = {
        "DISCORD_WEBHOOK_URL=http://discord.test/api/webhooks/1/tok-0123456789abcdefghij", NULL};
    static const struct reply script[] = {{0, 204, ""}};
    (void)state;
    struct fx *f = fx_new("message = \"hi\";", plain, script, 1);
    assert_int_equal(fx_run(f), 0);
    assert_int_equal(f->v.outcome, RELHOST_ERROR);
    assert_int_equal(http.next, 0);
    assert_fail_has(f, "$DISCORD_WEBHOOK_URL does not hold a usable Discord webhook URL");
    assert_null(strstr(mock_host_last_fail(&f->m), "discord.test"));
    assert_null(strstr(mock_host_last_fail(&f->m), "tok-0123456789"));
    fx_free(f);
}

/* The record of key, which must exist and start with prefix. */
static void assert_record(const char *key, const char *prefix)
{
    const char *v = fake_record_get(NULL, key);
    if (v == NULL || strncmp(v, prefix, strlen(prefix)) != 0)
        fail_msg("record %s is \"%s\", wanted it to start with \"%s\"", key, v ? v : "(none)",
                 prefix);
}

static void test_plugins_notify__a_5xx_is_delivery_unknown_and_fails_closed(void **state)
{
    static const struct reply script[] = {{0, 500, "{\"message\": \"boom\", \"code\": 0}"}};
    (void)state;
    struct fx *f = fx_new("message = \"hi\";", discord_only, script, 1);
    assert_int_equal(fx_run(f), 0);
    assert_int_equal(f->v.outcome, RELHOST_ERROR);
    assert_string_equal(f->v.reason, "delivery_unknown");
    assert_false(f->v.retryable);
    assert_int_equal(http.next, 1);
    assert_record("discord", "unknown ");
    assert_non_null(strstr(fake_record_get(NULL, "discord"), ": HTTP 500"));
    assert_fail_has(f, "delivery to Discord is unknown");
    assert_fail_has(f, "--set steps.test-step.resend=discord");
    assert_fail_has(f, "--set steps.test-step.delivered=discord");
    assert_string_equal(mock_host_label(&f->m, "discord"), "unknown");
    fx_free(f);
}

static void test_plugins_notify__a_lost_reply_is_delivery_unknown(void **state)
{
    static const struct reply script[] = {{RELHOST_ETIMEDOUT, 0, NULL}};
    (void)state;
    struct fx *f = fx_new("message = \"hi\";", discord_only, script, 1);
    assert_int_equal(fx_run(f), 0);
    assert_int_equal(f->v.outcome, RELHOST_ERROR);
    assert_string_equal(f->v.reason, "delivery_unknown");
    assert_record("discord", "unknown ");
    fx_free(f);
}

static void test_plugins_notify__a_request_that_never_arrived_is_retryable_and_unposted(
    void **state)
{
    static const struct reply script[] = {{RELHOST_ERETRY, 0, NULL}, {0, 200, "ok"}};
    (void)state;
    struct fx *f = fx_new("message = \"hi\";", both, script, 2);
    assert_int_equal(fx_run(f), 0);
    assert_int_equal(f->v.outcome, RELHOST_ERROR);
    assert_string_equal(f->v.reason, "tool_error");
    assert_true(f->v.retryable);
    assert_record("discord", "not_delivered ");
    assert_record("slack", "posted ");
    assert_non_null(mock_host_note(&f->m, "1 of 2 webhooks have the message; a re-run posts "
                                          "only to the other"));
    fx_free(f);
}

static void test_plugins_notify__a_4xx_is_not_delivered(void **state)
{
    static const struct reply script[] = {{0, 404, "{\"message\": \"Unknown Webhook\"}"}};
    (void)state;
    struct fx *f = fx_new("message = \"hi\";", discord_only, script, 1);
    assert_int_equal(fx_run(f), 0);
    assert_string_equal(f->v.reason, "tool_error");
    assert_false(f->v.retryable);
    assert_record("discord", "not_delivered ");
    assert_non_null(strstr(fake_record_get(NULL, "discord"), ": HTTP 404"));
    fx_free(f);
}

static void test_plugins_notify__a_target_already_posted_is_not_posted_again(void **state)
{
    static const struct reply script[] = {{0, 200, "ok"}};
    (void)state;
    struct fx *f = fx_new("message = \"hi\"; resend = \"discord\";", both, script, 1);
    seed_record("discord", "posted 2026-01-01T00:00:00Z");
    seed_record("slack", "not_delivered 2026-01-01T00:00:00Z: HTTP 429");
    assert_int_equal(fx_run(f), 0);
    assert_int_equal(f->v.outcome, RELHOST_PASSED);
    assert_int_equal(http.next, 1); /* Slack only */
    assert_non_null(strstr(http.bodies[0], "\"text\""));
    assert_non_null(mock_host_note(&f->m, "Discord: already posted in an earlier run (posted "
                                          "2026-01-01T00:00:00Z): not posted again"));
    assert_non_null(mock_host_note(&f->m, "resend = discord ignored"));
    assert_record("discord", "posted 2026-01-01T00:00:00Z");
    assert_record("slack", "posted ");
    fx_free(f);
}

static void test_plugins_notify__an_unknown_or_interrupted_post_is_not_resent(void **state)
{
    (void)state;
    struct fx *f = fx_new("message = \"hi\";", both, NULL, 0);
    f->m.host.http_request = scripted_http; /* any call fails: nothing is scripted */
    f->m.host.http_response_free = scripted_free;
    seed_record("discord", "unknown 2026-01-01T00:00:00Z: HTTP 502");
    seed_record("slack", "sending 2026-01-01T00:00:00Z");
    assert_int_equal(fx_run(f), 0);
    assert_int_equal(f->v.outcome, RELHOST_ERROR);
    assert_string_equal(f->v.reason, "delivery_unknown");
    assert_false(f->v.retryable);
    assert_int_equal(http.next, 0);
    assert_int_equal(recs.puts, 0);
    assert_fail_has(f, "delivery to Discord and Slack is unknown");
    assert_fail_has(f, "--set steps.test-step.resend=discord,slack");
    fx_free(f);
}

static void test_plugins_notify__resend_and_delivered_settle_unknown_targets(void **state)
{
    static const struct reply script[] = {{0, 200, "ok"}};
    (void)state;
    struct fx *f =
        fx_new("message = \"hi\"; resend = \"slack\"; delivered = [\"discord\"];", both, script, 1);
    seed_record("discord", "unknown 2026-01-01T00:00:00Z: HTTP 502");
    seed_record("slack", "sending 2026-01-01T00:00:00Z");
    assert_int_equal(fx_run(f), 0);
    assert_int_equal(f->v.outcome, RELHOST_PASSED);
    assert_int_equal(http.next, 1);
    assert_non_null(strstr(http.bodies[0], "\"text\""));
    assert_record("discord", "posted ");
    assert_non_null(strstr(fake_record_get(NULL, "discord"), "confirmed by a person"));
    assert_record("slack", "posted ");
    fx_free(f);
}

static void test_plugins_notify__a_record_that_cannot_be_written_stops_before_posting(void **state)
{
    static const struct reply script[] = {{0, 204, ""}};
    (void)state;
    struct fx *f = fx_new("message = \"hi\";", discord_only, script, 1);
    recs.fail_puts = 1;
    assert_int_equal(fx_run(f), RELHOST_EIO);
    assert_int_equal(http.next, 0);
    fx_free(f);
}

static void test_plugins_notify__resend_names_only_targets(void **state)
{
    struct notify_conf conf;
    const relhost_plugin *pl;
    optstore *st = NULL;
    void *inst = NULL;
    mock_host m;
    (void)state;
    mock_host_init(&m);
    assert_int_equal(relhost_plugin_entry(&m.host, &pl), 0);
    memset(&conf, 0, sizeof conf);
    if (options_fill_text(pl, &conf, "message = \"hi\"; resend = \"discord,teams\";", &st) != 0)
        fail_msg("options_fill_text: %s", error_last());
    assert_int_equal(pl->gate->open(&m.ctx, &conf, &inst), RELHOST_EINVAL);
    assert_non_null(strstr(mock_host_last_fail(&m), "resend: \"teams\" is not a target of this "
                                                    "step; the targets are discord and slack"));
    optstore_free(st);
    memset(&conf, 0, sizeof conf);
    assert_int_equal(options_fill_text(pl, &conf,
                                       "message = \"hi\"; resend = \"slack\"; "
                                       "delivered = \"slack\";",
                                       &st),
                     0);
    assert_int_equal(pl->gate->open(&m.ctx, &conf, &inst), RELHOST_EINVAL);
    assert_non_null(strstr(mock_host_last_fail(&m), "slack is named by both resend and "
                                                    "delivered"));
    optstore_free(st);
    mock_host_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plugins_notify__discord_cut_keeps_2000_and_cuts_2001),
        cmocka_unit_test(test_plugins_notify__no_http_service_is_an_error_that_says_so),
        cmocka_unit_test(test_plugins_notify__slack_ok_with_a_newline_passes),
        cmocka_unit_test(test_plugins_notify__slack_200_with_another_word_is_an_error),
        cmocka_unit_test(test_plugins_notify__an_interrupt_stops_before_the_next_service),
        cmocka_unit_test(test_plugins_notify__a_url_that_is_not_https_is_refused_unshown),
        cmocka_unit_test(test_plugins_notify__a_5xx_is_delivery_unknown_and_fails_closed),
        cmocka_unit_test(test_plugins_notify__a_lost_reply_is_delivery_unknown),
        cmocka_unit_test(
            test_plugins_notify__a_request_that_never_arrived_is_retryable_and_unposted),
        cmocka_unit_test(test_plugins_notify__a_4xx_is_not_delivered),
        cmocka_unit_test(test_plugins_notify__a_target_already_posted_is_not_posted_again),
        cmocka_unit_test(test_plugins_notify__an_unknown_or_interrupted_post_is_not_resent),
        cmocka_unit_test(test_plugins_notify__resend_and_delivered_settle_unknown_targets),
        cmocka_unit_test(test_plugins_notify__a_record_that_cannot_be_written_stops_before_posting),
        cmocka_unit_test(test_plugins_notify__resend_names_only_targets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
