/* SPDX-License-Identifier: MIT */
/* Unit tests of core/run/baseline.c: loading the store (and refusing a bad one without touching
 * it), the next store after a promotion, the file text, and lookups by statistic. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "base/error.h"
#include "base/util.h"
#include "run/baseline.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *tmpdir(void)
{
    const char *base = getenv("RELHOST_TEST_TMP");
    char *t = xasprintf("%s/baseline-XXXXXX", base && *base ? base : "/tmp");
    path_mkdirs(base && *base ? base : "/tmp");
    assert_non_null(mkdtemp(t));
    return t;
}

static char *write_file(const char *dir, const char *name, const char *text)
{
    char *p = path_join(dir, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return p;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    strbuf b;
    char buf[4096];
    size_t n;
    assert_non_null(f);
    sb_init(&b);
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        sb_add(&b, buf, n);
    fclose(f);
    return sb_take(&b);
}

static void test_unit_baseline_baseline__a_missing_file_is_an_empty_store(void **st)
{
    char *d = tmpdir(), *p = path_join(d, "baseline.json");
    json_t *s = NULL;
    (void)st;
    assert_int_equal(baseline_load(p, &s), 0);
    assert_int_equal(json_integer_value(json_object_get(s, "schema")), BASELINE_SCHEMA);
    assert_int_equal(json_object_size(json_object_get(s, "metrics")), 0);
    assert_int_equal(access(p, F_OK), -1); /* reading creates nothing */
    json_decref(s);
    free(p);
    free(d);
}

/* Each bad store is refused with a message naming the file and the problem, and left as is. */
static void test_unit_baseline_baseline__a_bad_store_is_refused_and_left_untouched(void **st)
{
    static const struct {
        const char *text, *says;
    } bad[] = {
        {"", "not valid JSON"},
        {"{\"schema\": 1, \"metrics\": {", "not valid JSON"},
        {"[1, 2]", "no integer \"schema\""},
        {"{\"metrics\": {}}", "no integer \"schema\""},
        {"{\"schema\": \"1\", \"metrics\": {}}", "no integer \"schema\""},
        {"{\"schema\": 2, \"metrics\": {}}", "has schema 2, newer than the 1"},
        {"{\"schema\": 0, \"metrics\": {}}", "schema 0"},
        {"{\"schema\": 1, \"metrics\": []}", "\"metrics\" must be an object"},
        {"{\"schema\": 1, \"metrics\": {\"a::b\": 3}}", "\"a::b\" must be an object"},
        {"{\"schema\": 1, \"metrics\": {\"ab\": {\"value\": 3}}}",
         "is not \"<validation>::<metric>\""},
        {"{\"schema\": 1, \"metrics\": {\"a::b\": {\"value\": \"3\"}}}", "value must be a finite"},
        {"{\"schema\": 1, \"metrics\": {\"a::b\": {}}}", "value must be a finite"},
        {"{\"schema\": 1, \"metrics\": {\"a::b\": {\"value\": 3, \"samples\": 3}}}",
         "samples must be an array"},
        {"{\"schema\": 1, \"metrics\": {\"a::b\": {\"value\": 3, \"samples\": [1, null]}}}",
         "samples[1] must be a finite number"},
        {"{\"schema\": 1, \"metrics\": {\"a::b\": {\"value\": 3, \"stat\": \"p99\"}}}",
         "stat must be one of median, min, max, mean"},
        {"{\"schema\": 1, \"metrics\": {\"a::b\": {\"value\": 3, \"commit\": 7}}}",
         "commit must be a string or null"},
        {"{\"schema\": 1, \"schema\": 1, \"metrics\": {}}", "not valid JSON"},
    };
    char *d = tmpdir();
    (void)st;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *p = write_file(d, "baseline.json", bad[i].text), *after;
        json_t *s = (json_t *)(void *)&s; /* must be reset to NULL */
        int rc = baseline_load(p, &s);
        if (rc != RELHOST_EINVAL || !strstr(error_last(), bad[i].says) || !strstr(error_last(), p))
            fail_msg("case %zu (%s): rc %d, message \"%s\"", i, bad[i].text, rc, error_last());
        assert_null(s);
        after = slurp(p);
        assert_string_equal(after, bad[i].text);
        free(after);
        free(p);
    }
    free(d);
}

static void test_unit_baseline_baseline__a_good_store_loads_and_unknown_members_are_kept(void **st)
{
    char *d = tmpdir();
    char *p = write_file(d, "baseline.json",
                         "{\"schema\": 1, \"future\": true, \"metrics\": {\"smoke::sps_max\": "
                         "{\"value\": 35000, \"samples\": [34000, 35000, 36100], \"stat\": "
                         "\"median\", \"version\": \"1\", \"commit\": null, \"note\": \"x\"}}}");
    json_t *s = NULL;
    double v = 0;
    (void)st;
    assert_int_equal(baseline_load(p, &s), 0);
    assert_true(json_is_true(json_object_get(s, "future")));
    assert_int_equal(baseline_lookup(s, "smoke", "sps_max", RELHOST_STAT_MEDIAN, &v), 1);
    assert_float_equal(v, 35000, 0);
    assert_int_equal(baseline_lookup(s, "smoke", "sps_max", RELHOST_STAT_MIN, &v), 1);
    assert_float_equal(v, 34000, 0);
    assert_int_equal(baseline_lookup(s, "smoke", "sps_max", RELHOST_STAT_MAX, &v), 1);
    assert_float_equal(v, 36100, 0);
    assert_int_equal(baseline_lookup(s, "smoke", "eval", RELHOST_STAT_MEDIAN, &v), 0);
    assert_int_equal(baseline_lookup(s, "other", "sps_max", RELHOST_STAT_MEDIAN, &v), 0);
    assert_int_equal(baseline_lookup(NULL, "smoke", "sps_max", RELHOST_STAT_MEDIAN, &v), 0);
    json_decref(s);
    free(p);
    free(d);
}

/* A release state with: a PASSED single job, a PASSED repeated validation and its runs, a FAILED
 * job, a metric that is null, and a job of an optional step that was WAIVED. */
static json_t *release_state(void)
{
    json_error_t je;
    json_t *root = json_loads(
        "{\"jobs\": {"
        " \"tests/smoke\": {\"validation\": \"smoke\", \"outcome\": \"PASSED\", \"evidence\":"
        "   {\"metrics\": {\"sps_max\": {\"value\": 41000.0, \"samples\": 12},"
        "                  \"loss\": {\"value\": null}}}},"
        " \"tests/speed\": {\"validation\": \"speed\", \"outcome\": \"PASSED\", \"repeats\": 3,"
        "   \"evidence\": {\"metrics\": {\"sps_max\": {\"value\": 30000.0,"
        "                  \"repeats\": [24000.0, 31000.0, null, 30000.0]}}}},"
        " \"tests/speed.r1\": {\"validation\": \"speed.r1\", \"outcome\": \"PASSED\","
        "   \"repeat_of\": \"speed\","
        "   \"evidence\": {\"metrics\": {\"sps_max\": {\"value\": 1.0}}}},"
        " \"tests/slow\": {\"validation\": \"slow\", \"outcome\": \"FAILED\", \"evidence\":"
        "   {\"metrics\": {\"sps_max\": {\"value\": 12000.0}}}},"
        " \"opt/waived\": {\"validation\": \"waived\", \"outcome\": \"WAIVED\", \"evidence\":"
        "   {\"metrics\": {\"sps_max\": {\"value\": 5.0}}}},"
        " \"tests/running\": {\"validation\": \"running\", \"lifecycle\": \"running\","
        "   \"evidence\": {\"metrics\": {\"sps_max\": {\"value\": 5.0}}}}"
        "}}",
        0, &je);
    assert_non_null(root);
    return root;
}

static void test_unit_baseline_baseline__next_records_every_passed_validations_metrics(void **st)
{
    json_t *cur = json_pack("{s:i, s:{s:{s:f}, s:{s:f}}}", "schema", 1, "metrics", "slow::sps_max",
                            "value", 20000.0, "smoke::sps_max", "value", 1.0);
    json_t *root = release_state(), *next, *e;
    (void)st;
    next = baseline_next(cur, root, "2025.10.02", "abc123", "2025-10-02T10:00:00Z");
    assert_non_null(next);
    assert_ptr_not_equal(next, cur);
    /* cur is not changed */
    assert_float_equal(
        json_number_value(json_object_get(
            json_object_get(json_object_get(cur, "metrics"), "smoke::sps_max"), "value")),
        1.0, 0);
    e = json_object_get(json_object_get(next, "metrics"), "smoke::sps_max");
    assert_float_equal(json_number_value(json_object_get(e, "value")), 41000, 0);
    assert_int_equal(json_array_size(json_object_get(e, "samples")), 1);
    assert_string_equal(json_string_value(json_object_get(e, "stat")), "median");
    assert_string_equal(json_string_value(json_object_get(e, "version")), "2025.10.02");
    assert_string_equal(json_string_value(json_object_get(e, "commit")), "abc123");
    assert_string_equal(json_string_value(json_object_get(e, "recorded_at")),
                        "2025-10-02T10:00:00Z");
    /* a repeated validation: its median and the finite samples of its runs */
    e = json_object_get(json_object_get(next, "metrics"), "speed::sps_max");
    assert_float_equal(json_number_value(json_object_get(e, "value")), 30000, 0);
    assert_int_equal(json_array_size(json_object_get(e, "samples")), 3);
    assert_float_equal(json_number_value(json_array_get(json_object_get(e, "samples"), 1)), 31000,
                       0);
    /* not recorded: null values, the runs themselves, FAILED / WAIVED / unfinished validations */
    assert_null(json_object_get(json_object_get(next, "metrics"), "smoke::loss"));
    assert_null(json_object_get(json_object_get(next, "metrics"), "speed.r1::sps_max"));
    assert_null(json_object_get(json_object_get(next, "metrics"), "waived::sps_max"));
    assert_null(json_object_get(json_object_get(next, "metrics"), "running::sps_max"));
    /* a validation that did not pass keeps its old baseline */
    e = json_object_get(json_object_get(next, "metrics"), "slow::sps_max");
    assert_float_equal(json_number_value(json_object_get(e, "value")), 20000, 0);
    assert_int_equal(json_object_size(json_object_get(next, "metrics")), 3);
    json_decref(next);
    /* no current store: a new one */
    next = baseline_next(NULL, root, "v", NULL, "2025-10-02T10:00:00Z");
    assert_int_equal(json_integer_value(json_object_get(next, "schema")), BASELINE_SCHEMA);
    assert_true(json_is_null(json_object_get(
        json_object_get(json_object_get(next, "metrics"), "smoke::sps_max"), "commit")));
    json_decref(next);
    json_decref(root);
    json_decref(cur);
}

static void test_unit_baseline_baseline__the_dump_is_stable_and_reads_back(void **st)
{
    json_t *root = release_state(), *a, *b, *back = NULL;
    char *d = tmpdir(), *p, *t1, *t2;
    (void)st;
    a = baseline_next(NULL, root, "1", "c", "2025-10-02T10:00:00Z");
    /* the same store built in another key order dumps to the same bytes */
    b = json_pack("{s:o, s:i}", "metrics", json_deep_copy(json_object_get(a, "metrics")), "schema",
                  1);
    t1 = baseline_dump(a);
    t2 = baseline_dump(b);
    assert_non_null(t1);
    assert_string_equal(t1, t2);
    assert_true(t1[strlen(t1) - 1] == '\n');
    assert_true(strstr(t1, "\"metrics\"") < strstr(t1, "\"schema\"")); /* sorted keys */
    p = write_file(d, "baseline.json", t1);
    assert_int_equal(baseline_load(p, &back), 0);
    assert_true(json_equal(back, a));
    assert_null(baseline_dump(NULL));
    json_decref(back);
    json_decref(a);
    json_decref(b);
    json_decref(root);
    free(t1);
    free(t2);
    free(p);
    free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unit_baseline_baseline__a_missing_file_is_an_empty_store),
        cmocka_unit_test(test_unit_baseline_baseline__a_bad_store_is_refused_and_left_untouched),
        cmocka_unit_test(
            test_unit_baseline_baseline__a_good_store_loads_and_unknown_members_are_kept),
        cmocka_unit_test(
            test_unit_baseline_baseline__next_records_every_passed_validations_metrics),
        cmocka_unit_test(test_unit_baseline_baseline__the_dump_is_stable_and_reads_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
