/* SPDX-License-Identifier: MIT */
/* Unit tests of the streamed redactor (core/base/secrets.c, secrets_stream_*): a text fed in
 * chunks comes out exactly as secrets_redact() masks it whole, wherever the chunks are cut: a
 * secret (raw, URL-encoded, base64, shortened before "..." or at the text's end) split across
 * any chunk boundary, or across two boundaries, or fed one byte at a time, is masked. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "base/secrets.h"
#include "base/util.h"

#include <stdlib.h>
#include <string.h>

static const char secret[] = "s3cr3t-V4lue/with+parts";

static char *text_with_every_form(void)
{
    strbuf t;
    char *b64 = base64_encode((const unsigned char *)secret, strlen(secret));
    char *url = url_encode(secret);
    sb_init(&t);
    sb_printf(&t, "# report\nraw %s here\nurl ?t=%s&x=1\nb64 %s\n", secret, url, b64);
    sb_printf(&t, "twice %s%s\ncut s3cr3t-V4lue/w...\nend s3cr3t-V4l", secret, secret);
    free(b64);
    free(url);
    return sb_take(&t);
}

static char *whole(const char *s, size_t n)
{
    strbuf o;
    sb_init(&o);
    secrets_redact(&o, s, n);
    return sb_take(&o);
}

/* Feeds s in pieces cut at a and b (a <= b <= n). */
static char *streamed(const char *s, size_t n, size_t a, size_t b)
{
    strbuf o;
    secrets_stream st;
    sb_init(&o);
    secrets_stream_init(&st);
    secrets_stream_feed(&st, &o, s, a);
    secrets_stream_feed(&st, &o, s + a, b - a);
    secrets_stream_feed(&st, &o, s + b, n - b);
    secrets_stream_end(&st, &o);
    return sb_take(&o);
}

static int setup(void **state)
{
    (void)state;
    secrets_clear();
    secrets_add(secret);
    return 0;
}

static void test_unit_secrets_stream__a_secret_split_at_every_boundary_is_masked(void **state)
{
    (void)state;
    char *t = text_with_every_form();
    size_t n = strlen(t);
    char *want = whole(t, n);
    assert_null(strstr(want, "s3cr3t"));
    assert_non_null(strstr(want, "raw " SECRETS_MASK " here"));
    for (size_t a = 0; a <= n; a++) {
        char *got = streamed(t, n, a, a);
        if (strcmp(got, want) != 0)
            fail_msg("split at %zu of %zu: got\n%s\nwant\n%s", a, n, got, want);
        free(got);
    }
    free(want);
    free(t);
}

static void test_unit_secrets_stream__two_boundaries_inside_one_secret(void **state)
{
    (void)state;
    char *t = text_with_every_form();
    size_t n = strlen(t), at = (size_t)(strstr(t, secret) - t), sl = strlen(secret);
    char *want = whole(t, n);
    for (size_t a = at; a <= at + sl; a++)
        for (size_t b = a; b <= at + sl; b++) {
            char *got = streamed(t, n, a, b);
            if (strcmp(got, want) != 0)
                fail_msg("cut at %zu and %zu: got\n%s", a, b, got);
            free(got);
        }
    free(want);
    free(t);
}

static void test_unit_secrets_stream__one_byte_at_a_time(void **state)
{
    (void)state;
    char *t = text_with_every_form();
    size_t n = strlen(t);
    char *want = whole(t, n);
    strbuf o;
    secrets_stream st;
    sb_init(&o);
    secrets_stream_init(&st);
    for (size_t i = 0; i < n; i++)
        secrets_stream_feed(&st, &o, t + i, 1);
    secrets_stream_end(&st, &o);
    assert_string_equal(o.s, want);
    /* The stream holds back no more than a secret's worth of bytes. */
    assert_true(st.held_max < 3 * sizeof secret + 8);
    sb_free(&o);
    free(want);
    free(t);
}

static void test_unit_secrets_stream__no_secret_passes_through(void **state)
{
    (void)state;
    secrets_clear();
    strbuf o;
    secrets_stream st;
    sb_init(&o);
    secrets_stream_init(&st);
    secrets_stream_feed(&st, &o, "abc", 3);
    secrets_stream_feed(&st, &o, "def", 3);
    secrets_stream_end(&st, &o);
    assert_string_equal(o.s, "abcdef");
    sb_free(&o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_unit_secrets_stream__a_secret_split_at_every_boundary_is_masked,
                               setup),
        cmocka_unit_test_setup(test_unit_secrets_stream__two_boundaries_inside_one_secret, setup),
        cmocka_unit_test_setup(test_unit_secrets_stream__one_byte_at_a_time, setup),
        cmocka_unit_test_setup(test_unit_secrets_stream__no_secret_passes_through, setup),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    secrets_clear();
    return rc;
}
