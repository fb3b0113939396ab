/* SPDX-License-Identifier: MIT */
/* tests/unit/record/record_codec.c - a release record as text and back (record_codec.h): a
 * record with every kind of member decodes to the same record (its text again, byte for byte,
 * and its values); an empty one too; a text cut anywhere, lengthened, or damaged (a count past
 * its end, an outcome out of range, a missing job id, a NUL in a string, a line of the older
 * JSON index, random bytes changed) is refused whole, never half read. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/util.h"
#include "record/record.h"
#include "record/record_codec.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A state with one of everything record_read() reads, odd strings included. */
static const char rich_state[] =
    "{\"schema\":1,\"seq\":7,\"version\":\"2.0-rc.1\",\"plan_name\":\"p\",\"plan\":\"a b\\nc\","
    "\"plan_hash\":\"h\",\"candidate\":{\"commit\":\"c0\",\"repo\":\"r\",\"ref\":\"main\","
    "\"checkout\":\"/x y\"},\"created_at\":\"2026-01-01T00:00:00Z\",\"updated_at\":\"u\","
    "\"finished\":true,\"exit_code\":0,\"published\":true,\"quarantined\":false,"
    "\"sealed_env\":[\"TOKEN\",\"~\"],"
    "\"waivers\":[{\"step\":\"s1\",\"validation\":null,\"reason\":\"why: 2\",\"by\":\"me\","
    "\"host\":\"h1\",\"at\":\"t\",\"expires\":null},{\"step\":\"s1\",\"who\":\"old\","
    "\"why\":\"older\"}],"
    "\"requirements\":{\"profile\":null,\"steps\":{\"s1\":[\"v1\"]},\"required_steps\":[\"s1\","
    "\"s2\"],\"publishing_steps\":[]},"
    "\"steps\":{\"s1\":{\"position\":0,\"plugin\":\"workflow\",\"required\":true,\"outcome\":"
    "\"WAIVED\",\"reason\":\"r 1\",\"retryable\":true,\"message\":\"m\\u00e9 \\t~\","
    "\"started_at\":\"a\",\"ended_at\":\"b\",\"duration_s\":-0.0,\"defers\":3.0,"
    "\"waived_from\":{\"outcome\":\"FAILED\",\"reason\":\"x\"},\"in_flight\":\"f\","
    "\"records\":{\"k2\":\"v2\",\"k1\":\"v 1\"},\"plan_hash\":\"ph\",\"evidence\":{"
    "\"metrics\":{\"b\":{\"value\":1e300,\"samples\":4,\"source\":\"logs\",\"pattern\":\"p\","
    "\"reducer\":\"max\",\"repeats\":[1.5,null,2]},\"a\":{\"value\":3}},"
    "\"checks\":[{\"key\":\"b\",\"op\":\"range\",\"expected\":0.1,\"expected_hi\":0.3,"
    "\"actual\":0.2,\"stat\":\"mean\",\"direction\":\"higher\",\"rel\":0.05,\"abs\":1,"
    "\"baseline\":null,\"bound\":2.5,\"passed\":false,\"note\":\"n\"},{\"key\":\"a\"}],"
    "\"labels\":{\"host\":\"n1\"},\"artifacts\":[{\"kind\":\"file\",\"uri\":\"u:1\","
    "\"sha256\":\"ab\"},{\"kind\":\"no uri\"}],\"notes\":[\"one\",\"two 2\"]}},"
    "\"s2\":{\"position\":1,\"outcome\":\"NOT A WORD\"}},"
    "\"jobs\":{\"s1/v1\":{\"step\":\"s1\",\"validation\":\"v1\",\"runner\":\"local\","
    "\"lifecycle\":\"completed\",\"attempt\":2,\"key\":\"k\",\"external_id\":\"42\","
    "\"outcome\":\"PASSED\",\"reason\":null,\"retryable\":false,\"exit_code\":-9223372036854775807,"
    "\"termination_reason\":\"exited\",\"restarts\":1,\"started_at\":\"s\",\"ended_at\":\"e\","
    "\"duration_s\":60,\"log_path\":\"l\",\"argv\":[\"true\",\"a b\",\"\"],\"spec_hash\":\"sh\","
    "\"accept_hash\":\"ah\",\"repeats\":3,\"evidence\":{\"metrics\":{\"sps\":{\"value\":"
    "30000.5}}}},\"s2/v2\":{\"lifecycle\":\"odd\",\"repeat_of\":\"v1\",\"repeat\":2}}}";

static void read_state(const char *text, release_record *out)
{
    json_t *root = json_loads(text, 0, NULL);
    assert_non_null(root);
    assert_int_equal(record_read(root, out), 0);
    json_decref(root);
}

static char *encode(const release_record *r, size_t *len)
{
    strbuf b;
    sb_init(&b);
    record_encode(r, &b);
    *len = b.len;
    return b.s ? sb_take(&b) : xstrdup("");
}

static void round_trip_is_the_same_record(void **unused)
{
    release_record a, b;
    size_t la, lb;
    char *ta, *tb;
    (void)unused;
    read_state(rich_state, &a);
    ta = encode(&a, &la);
    assert_int_equal(record_decode(ta, la, &b), 0);
    tb = encode(&b, &lb);
    assert_int_equal(la, lb);
    assert_memory_equal(ta, tb, la); /* every member is encoded: the same text, the same record */
    assert_string_equal(b.version, "2.0-rc.1");
    assert_string_equal(b.plan, "a b\nc");
    assert_int_equal(b.nsteps, 2);
    assert_int_equal(b.steps[0].outcome, RELHOST_WAIVED);
    assert_int_equal(b.steps[0].waived_from, RELHOST_FAILED);
    assert_true(b.steps[0].duration_s.set && signbit(b.steps[0].duration_s.v));
    assert_true(b.steps[0].defers.set && b.steps[0].defers.from_real && b.steps[0].defers.v == 3);
    assert_int_equal(b.steps[0].evidence.nmetrics, 2);
    assert_true(b.steps[0].evidence.metrics[1].value.v == 1e300);
    assert_int_equal(b.steps[0].evidence.metrics[1].nrepeats, 3);
    assert_false(b.steps[0].evidence.metrics[1].repeats[1].set);
    assert_true(b.steps[0].evidence.checks[0].expected.v == 0.1);
    assert_int_equal(b.steps[0].evidence.nartifacts, 1);
    assert_string_equal(b.steps[1].outcome_raw, "NOT A WORD");
    assert_int_equal(b.steps[1].outcome, RELHOST_ERROR);
    assert_int_equal(b.njobs, 2);
    assert_true(b.jobs[0].exit_code.v == -9223372036854775807LL);
    assert_int_equal(b.jobs[0].nargv, 3);
    assert_string_equal(b.jobs[0].argv[2], "");
    assert_true(b.jobs[0].evidence.metrics[0].value.v == 30000.5);
    assert_string_equal(b.sealed_env[1], "~");
    assert_int_equal(b.nwaivers, 2);
    assert_string_equal(b.unmet_required ? b.unmet_required : "",
                        a.unmet_required ? a.unmet_required : "");
    assert_string_equal(record_decision(&b), record_decision(&a));
    record_free(&a);
    record_free(&b);
    free(ta);
    free(tb);
}

static void empty_record_round_trips(void **unused)
{
    release_record a, b;
    size_t la, lb;
    char *ta, *tb;
    (void)unused;
    read_state("{}", &a);
    ta = encode(&a, &la);
    assert_int_equal(record_decode(ta, la, &b), 0);
    tb = encode(&b, &lb);
    assert_int_equal(la, lb);
    assert_memory_equal(ta, tb, la);
    assert_null(b.version);
    assert_non_null(b.steps); /* arrays are never NULL, as record_read() gives them */
    record_free(&a);
    record_free(&b);
    free(ta);
    free(tb);
}

/* Every cut, and one byte more, is refused, and *out is left empty. */
static void cut_or_lengthened_text_is_refused(void **unused)
{
    release_record a, b;
    size_t la;
    char *ta, *longer;
    (void)unused;
    read_state(rich_state, &a);
    ta = encode(&a, &la);
    for (size_t n = 0; n < la; n++) {
        assert_int_equal(record_decode(ta, n, &b), -1);
        assert_int_equal(b.nsteps + b.njobs, 0);
        assert_null(b.version);
    }
    longer = xasprintf("%s ", ta);
    assert_int_equal(record_decode(longer, la + 1, &b), -1);
    free(longer);
    record_free(&a);
    free(ta);
}

static int decodes(const char *t)
{
    release_record r;
    int rc = record_decode(t, strlen(t), &r);
    record_free(&r);
    return rc;
}

/* The text of a record with one step and one job, to damage. */
static char *small_text(void)
{
    release_record a;
    size_t n;
    char *t;
    read_state("{\"version\":\"1\",\"steps\":{\"s\":{\"outcome\":\"PASSED\"}},"
               "\"jobs\":{\"s/v\":{\"step\":\"s\",\"validation\":\"v\"}}}",
               &a);
    t = encode(&a, &n);
    record_free(&a);
    return t;
}

static char *replaced(const char *t, const char *from, const char *to)
{
    const char *at = strstr(t, from);
    assert_non_null(at);
    return xasprintf("%.*s%s%s", (int)(at - t), t, to, at + strlen(from));
}

static void damaged_text_is_refused(void **unused)
{
    char *t = small_text(), *d;
    (void)unused;
    assert_int_equal(decodes(t), 0);
    /* the step's outcome (1, PASSED) out of range */
    d = replaced(t, " 1 6:PASSED ", " 9 6:PASSED ");
    assert_int_equal(decodes(d), -1);
    free(d);
    /* the job's id missing */
    d = replaced(t, "3:s/v ", "~ ");
    assert_int_equal(decodes(d), -1);
    free(d);
    /* a string longer than the text */
    d = replaced(t, "3:s/v ", "300:s/v ");
    assert_int_equal(decodes(d), -1);
    free(d);
    /* a count of steps past the end: refused before anything is allocated for it */
    d = replaced(t, " 1 1:s ", " 99999999999999 1:s ");
    assert_int_equal(decodes(d), -1);
    free(d);
    /* not digits, a negative count, a real of 15 hex digits */
    assert_int_equal(decodes("x"), -1);
    assert_int_equal(decodes(""), -1);
    assert_int_equal(decodes("~ ~ ~ ~ ~ ~ 0 ~ ~ ~ ~ 0 0 0 - - - ~ -1 "), -1);
    assert_int_equal(decodes("~ ~ ~ ~ ~ ~ 0 ~ ~ ~ ~ 0 0 0 - - - ~ 0 0 0 0 "), 0);
    assert_int_equal(decodes("~ ~ ~ ~ ~ ~ 0 ~ ~ ~ ~ 0 0 0 - - 205 ~ 0 0 0 0 "), -1);
    /* a line of the JSON index this format replaced */
    assert_int_equal(decodes("{\"exit_code\":0,\"finished\":true}"), -1);
    free(t);
    {
        const char nul[] = "1:\0 ~ ~ ~ ~ ~ 0 ~ ~ ~ ~ 0 0 0 - - - ~ 0 0 0 0 ";
        release_record r;
        assert_int_equal(record_decode(nul, sizeof nul - 1, &r), -1);
    }
}

/* Random damage never crashes nor leaks (the sanitizer builds see it): each text either is
 * refused or decodes to a record whose own text decodes again. */
static void random_damage_never_crashes(void **unused)
{
    release_record a, b, c;
    size_t la;
    char *ta;
    unsigned x = 2463534242u;
    (void)unused;
    read_state(rich_state, &a);
    ta = encode(&a, &la);
    for (int round = 0; round < 20000; round++) {
        char *d = xmalloc(la + 1);
        memcpy(d, ta, la + 1);
        for (int k = 0; k < 1 + round % 3; k++) {
            x ^= x << 13, x ^= x >> 17, x ^= x << 5;
            d[x % la] = " ~:-019af~x\n"[(x >> 8) % 12];
        }
        if (record_decode(d, la, &b) == 0) {
            size_t lb;
            char *tb = encode(&b, &lb);
            assert_int_equal(record_decode(tb, lb, &c), 0);
            record_free(&c);
            record_free(&b);
            free(tb);
        }
        free(d);
    }
    record_free(&a);
    free(ta);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_trip_is_the_same_record),
        cmocka_unit_test(empty_record_round_trips),
        cmocka_unit_test(cut_or_lengthened_text_is_refused),
        cmocka_unit_test(damaged_text_is_refused),
        cmocka_unit_test(random_damage_never_crashes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
