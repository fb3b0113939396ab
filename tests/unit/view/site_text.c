/* SPDX-License-Identifier: MIT */
/* Unit tests of core/view/site_html.c site_text(): every string of the status page cleaned
 * (text_clean(): masked, valid UTF-8, no control bytes or terminal escapes) and escaped for
 * HTML. The oracle is what it did before its fast path for printable ASCII: text_clean() and
 * one entity or byte at a time, over strings of every kind, with and without a secret. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "base/secrets.h"
#include "base/util.h"
#include "view/site.h"
#include "view/text.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The next value of a xorshift64 sequence (the inputs of the generated cases). */
static uint64_t xorshift(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

static void oracle(strbuf *b, const char *s)
{
    strbuf c;
    sb_init(&c);
    text_clean(&c, s, strlen(s));
    for (size_t i = 0; i < c.len; i++) {
        switch (c.s[i]) {
        case '&': sb_puts(b, "&amp;"); break;
        case '<': sb_puts(b, "&lt;"); break;
        case '>': sb_puts(b, "&gt;"); break;
        case '"': sb_puts(b, "&quot;"); break;
        case '\'': sb_puts(b, "&#39;"); break;
        default: sb_putc(b, c.s[i]);
        }
    }
    sb_free(&c);
}

static void same(const char *s)
{
    strbuf got, want;
    sb_init(&got);
    sb_init(&want);
    sb_puts(&got, "<");
    sb_puts(&want, "<");
    site_text(&got, s);
    oracle(&want, s);
    if (strcmp(got.s, want.s) != 0)
        fail_msg("site_text(\"%s\") gives \"%s\", text_clean and escape \"%s\"", s, got.s, want.s);
    sb_free(&got);
    sb_free(&want);
}

static void test_unit_site_text__as_cleaned_and_escaped_one_by_one(void **state)
{
    static const char *const fixed[] = {"",
                                        "1.0.3",
                                        "a & b <c> \"d\" 'e'",
                                        "&&&",
                                        "tok-s3cr3t-value here",
                                        "x tok-s3cr3t-value",
                                        "tok-s3cr3",
                                        "caf\xc3\xa9 \xff\xfe",
                                        "red \x1b[31mword\x1b[0m",
                                        "line\r\nnext\rback\ttab\x7f",
                                        "title \x1b]0;t\x07 end"};
    static const char alphabet[] = "abc &<>\"'tok-s3cr3t-value\x1b[]\r\n\t\x7f\xc3\xa9\xff";
    uint64_t x = 0x9E3779B97F4A7C15u;
    char s[64];
    (void)state;
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1)
            secrets_add("tok-s3cr3t-value");
        for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++)
            same(fixed[i]);
        for (int i = 0; i < 20000; i++) {
            size_t n;
            xorshift(&x);
            n = x % (sizeof s - 1);
            for (size_t k = 0; k < n; k++) {
                xorshift(&x);
                /* half the strings printable ASCII only, half from the whole alphabet */
                s[k] = i % 2 ? alphabet[x % (sizeof alphabet - 1)] : (char)(0x20 + x % 0x5F);
            }
            s[n] = '\0';
            same(s);
        }
    }
    secrets_clear();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unit_site_text__as_cleaned_and_escaped_one_by_one),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
