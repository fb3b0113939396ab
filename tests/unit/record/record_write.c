/* SPDX-License-Identifier: MIT */
/* tests/unit/record/record_write.c - the writers of the release root and its steps
 * (core/record/record_write.h) against the readers the run side uses (core/record/record.h):
 * what is written reads back, in the member order the state has always had; delivery records
 * outlive a rewrite of their step; a waiver is appended; the verdict rule answers with a typed
 * waiver. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/util.h"
#include "record/record.h"
#include "record/record_write.h"
#include "record/state.h"
#include "record/verdict.h"
#include "registry/fsutil.h"

#include <stdlib.h>
#include <string.h>

static char *dir; /* a fresh folder per test, removed by teardown */
static state *st;

static int setup(void **unused)
{
    const char *base = getenv("RELHOST_TEST_TMP");
    char *tmpl = xasprintf("%s/record-XXXXXX", base && *base ? base : "/tmp");
    (void)unused;
    path_mkdirs(base && *base ? base : "/tmp");
    if (!mkdtemp(tmpl))
        return -1;
    dir = tmpl;
    return state_open(dir, "1.0", STATE_CREATE, &st);
}

static int teardown(void **unused)
{
    (void)unused;
    state_close(st);
    st = NULL;
    fs_remove_tree(dir);
    free(dir);
    dir = NULL;
    return 0;
}

static void a_step(step_write *s, const char *name)
{
    memset(s, 0, sizeof *s);
    s->name = name;
    s->position = 2;
    s->plugin = "command";
    s->required = 1;
    s->outcome = RELHOST_WAIVED;
    s->reason = "waived";
    s->message = "waived by ann";
    s->defers = 1;
    s->waived_from = RELHOST_FAILED;
    s->waived_from_reason = "validation_failed";
    s->ran = 1;
    s->started = 1700000000;
    s->ended = 1700000003;
    s->evidence = json_object();
    s->plan_hash = "abc";
}

static void test_unit_record_record_write__a_step_reads_back_as_written(void **unused)
{
    step_write w;
    step_record r;
    (void)unused;
    a_step(&w, "tests");
    w.in_flight = "2026-12-06T10:00:00Z";
    record_write_step(st, &w);
    assert_int_equal(record_read_step(state_root(st), "tests", &r), 1);
    assert_string_equal(r.name, "tests");
    assert_true(r.position.set && r.position.v == 2);
    assert_string_equal(r.plugin, "command");
    assert_true(r.required);
    assert_false(r.publishes);
    assert_int_equal(r.outcome, RELHOST_WAIVED);
    assert_string_equal(r.reason, "waived");
    assert_string_equal(r.message, "waived by ann");
    assert_true(r.defers.set && r.defers.v == 1);
    assert_int_equal(r.waived_from, RELHOST_FAILED);
    assert_string_equal(r.waived_from_reason, "validation_failed");
    assert_string_equal(r.started_at, "2023-11-14T22:13:20Z");
    assert_string_equal(r.ended_at, "2023-11-14T22:13:23Z");
    assert_true(r.duration_s.set && r.duration_s.v == 3.0);
    assert_string_equal(r.in_flight, "2026-12-06T10:00:00Z");
    assert_string_equal(r.plan_hash, "abc");
    record_step_free(&r);
}

static void test_unit_record_record_write__a_step_keeps_the_member_order_the_state_always_had(
    void **unused)
{
    step_write w;
    const char *k[2] = {"steps", "tests"};
    char *s;
    (void)unused;
    a_step(&w, "tests");
    record_write_step(st, &w);
    s = json_dumps(state_get(st, k, 2), JSON_COMPACT);
    assert_string_equal(s, "{\"position\":2,\"plugin\":\"command\",\"required\":true,"
                           "\"publishes\":false,\"outcome\":\"WAIVED\",\"reason\":\"waived\","
                           "\"retryable\":false,\"defers\":1,\"message\":\"waived by ann\","
                           "\"waived_from\":{\"outcome\":\"FAILED\",\"reason\":"
                           "\"validation_failed\"},\"started_at\":\"2023-11-14T22:13:20Z\","
                           "\"ended_at\":\"2023-11-14T22:13:23Z\",\"duration_s\":3.0,"
                           "\"evidence\":{},\"plan_hash\":\"abc\"}");
    free(s);
}

static void test_unit_record_record_write__delivery_records_outlive_a_rewrite_of_their_step(
    void **unused)
{
    step_write w;
    step_record r;
    (void)unused;
    assert_int_equal(record_write_step_delivery(st, "notify", "posted:ops", "yes"), 0);
    assert_string_equal(record_step_delivery(state_root(st), "notify", "posted:ops"), "yes");
    a_step(&w, "notify");
    record_write_step(st, &w);
    assert_string_equal(record_step_delivery(state_root(st), "notify", "posted:ops"), "yes");
    record_read_step(state_root(st), "notify", &r);
    assert_int_equal(r.nrecords, 1);
    assert_string_equal(r.records[0].key, "posted:ops");
    assert_string_equal(r.records[0].value, "yes");
    assert_null(r.in_flight); /* written only when asked for */
    record_step_free(&r);
}

static void test_unit_record_record_write__a_step_the_state_lacks_reads_as_absent(void **unused)
{
    step_record r;
    (void)unused;
    assert_int_equal(record_read_step(state_root(st), "nope", &r), 0);
    assert_string_equal(r.name, "nope");
    assert_int_equal(r.outcome, RELHOST_NONE);
    assert_null(r.outcome_raw);
    assert_int_equal(r.waived_from, RELHOST_NONE);
    assert_int_equal(r.nrecords, 0);
    record_step_free(&r);
}

static void test_unit_record_record_write__run_start_keeps_created_at_and_run_end_decides(
    void **unused)
{
    release_record h;
    (void)unused;
    record_write_run_start(st, "/p/plan.cfg", "demo", "h1", "2026-12-06T10:00:00Z");
    record_write_run_start(st, "/p/plan.cfg", "demo", "h2", "2026-12-06T11:00:00Z");
    assert_int_equal(record_read_head(state_root(st), &h), 0);
    assert_string_equal(h.created_at, "2026-12-06T10:00:00Z");
    assert_string_equal(h.updated_at, "2026-12-06T11:00:00Z");
    assert_string_equal(h.plan_hash, "h2");
    assert_false(h.finished);
    assert_false(h.exit_code.set); /* null: undecided while a run goes on */
    assert_int_equal(h.nsteps, 0);
    record_free(&h);
    record_write_run_end(st, "2026-12-06T12:00:00Z", 1, 0);
    record_read_head(state_root(st), &h);
    assert_true(h.finished);
    assert_true(h.exit_code.set && h.exit_code.v == 0);
    assert_string_equal(record_decision(&h), "passed");
    record_free(&h);
}

static void test_unit_record_record_write__a_new_candidate_drops_steps_jobs_and_waivers(
    void **unused)
{
    step_write w;
    waiver_record wv = {
        .step = "tests", .reason = "known", .by = "ann", .host = "h", .at = "2026-12-06T10:00:00Z"};
    candidate_record c = {.commit = "c2", .repo = "/r", .ref = "HEAD", .checkout = "head"};
    release_record h;
    step_record r;
    (void)unused;
    a_step(&w, "tests");
    record_write_step(st, &w);
    assert_int_equal(record_write_waiver_add(st, &wv), 0);
    record_write_drop_results(st);
    record_write_candidate(st, &c);
    assert_int_equal(record_read_step(state_root(st), "tests", &r), 0);
    record_step_free(&r);
    record_read_head(state_root(st), &h);
    assert_int_equal(h.nwaivers, 0);
    assert_true(h.has_candidate);
    assert_string_equal(h.candidate.commit, "c2");
    assert_string_equal(h.candidate.checkout, "head");
    record_free(&h);
}

static void test_unit_record_record_write__waivers_are_appended_and_the_rule_answers_with_one(
    void **unused)
{
    waiver_record a = {.step = "tests",
                       .reason = "flaky infra",
                       .by = "ann",
                       .host = "h",
                       .at = "2026-12-06T10:00:00Z"};
    waiver_record b = {.step = "lint",
                       .validation = "style",
                       .reason = "later",
                       .by = "bob",
                       .host = "h",
                       .at = "2026-12-06T11:00:00Z",
                       .expires = "2000-01-01T00:00:00Z"};
    waiver_record got;
    release_record h;
    (void)unused;
    assert_int_equal(record_write_waiver_add(st, &a), 0);
    assert_int_equal(record_write_waiver_add(st, &b), 0);
    record_read_head(state_root(st), &h);
    assert_int_equal(h.nwaivers, 2);
    assert_string_equal(h.waivers[0].who, "ann");
    assert_null(h.waivers[0].validation);
    assert_string_equal(h.waivers[1].validation, "style");
    assert_string_equal(h.waivers[1].host, "h");
    record_free(&h);
    assert_int_equal(verdict_waiver(state_root(st), "tests", 1765000000, &got), 1);
    assert_string_equal(got.by, "ann");
    assert_string_equal(got.at, "2026-12-06T10:00:00Z");
    assert_string_equal(got.reason, "flaky infra");
    record_waiver_free(&got);
    /* an expired waiver waives nothing */
    assert_int_equal(verdict_waiver(state_root(st), "lint", 1765000000, &got), 0);
    assert_null(got.step);
}

static void test_unit_record_record_write__sealed_env_is_written_as_given(void **unused)
{
    const char *names[] = {"A_TOKEN", "B_KEY"};
    release_record h;
    (void)unused;
    record_write_sealed_env(st, names, 2);
    record_read_head(state_root(st), &h);
    assert_int_equal(h.nsealed, 2);
    assert_string_equal(h.sealed_env[0], "A_TOKEN");
    assert_string_equal(h.sealed_env[1], "B_KEY");
    record_free(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(name) \
    cmocka_unit_test_setup_teardown(test_unit_record_record_write__##name, setup, teardown)
        T(a_step_reads_back_as_written),
        T(a_step_keeps_the_member_order_the_state_always_had),
        T(delivery_records_outlive_a_rewrite_of_their_step),
        T(a_step_the_state_lacks_reads_as_absent),
        T(run_start_keeps_created_at_and_run_end_decides),
        T(a_new_candidate_drops_steps_jobs_and_waivers),
        T(waivers_are_appended_and_the_rule_answers_with_one),
        T(sealed_env_is_written_as_given),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
