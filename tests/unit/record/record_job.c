/* SPDX-License-Identifier: MIT */
/* tests/unit/record/record_job.c - a JOB record written through record_job_write() into a real
 * state, closed, reopened and read back typed has every field it was given; a record written
 * for a job still running leaves its result out; a hand-edited record of the wrong types reads
 * as absent, never as a crash. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/error.h"
#include "base/util.h"
#include "record/record_job.h"
#include "record/state.h"
#include "registry/fsutil.h"

#include <relhost/plugin.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define V "1.0"

static char *dir; /* a fresh folder per test, removed by teardown */

static int setup(void **unused)
{
    const char *base = getenv("RELHOST_TEST_TMP");
    (void)unused;
    base = base && *base ? base : "/tmp";
    path_mkdirs(base);
    dir = xasprintf("%s/record-XXXXXX", base);
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **unused)
{
    (void)unused;
    fs_remove_tree(dir);
    free(dir);
    dir = NULL;
    return 0;
}

static state *open_state(int flags)
{
    state *st = NULL;
    assert_int_equal(state_open(dir, V, flags, &st), 0);
    return st;
}

static record_int an_int(long long v)
{
    record_int r = {1, 0, v};
    return r;
}

static record_real a_real(double v)
{
    record_real r = {1, v, 0};
    return r;
}

/* Evidence with one of everything: a repeated metric (one run without a value), a baseline
 * check, a label, an artifact and a note. */
static void fill_evidence(evidence *ev)
{
    const double runs[3] = {10.0, NAN, 12.5};
    relhost_check c = {.struct_size = sizeof c,
                       .key = "sps",
                       .op = ">=",
                       .expected = 9.0,
                       .has_actual = 1,
                       .actual = 11.0,
                       .passed = 1,
                       .note = "ok"};
    ev_check *k;
    evidence_metric(ev, "sps", 11.0, "log", "sps=(\\S+)", "last", 4);
    evidence_metric_runs(ev, "sps", runs, 3);
    evidence_metric(ev, "loss", 0.25, "wandb", NULL, NULL, 1);
    k = evidence_check(ev, &c);
    k->stat = xstrdup("median");
    k->direction = xstrdup("higher");
    k->rel = 0.2;
    k->abs = 0;
    k->has_baseline = k->has_bound = 1;
    k->baseline = 10.0;
    k->bound = 8.0;
    evidence_label(ev, "gpu", "a100");
    evidence_artifact(ev, "model", "s3://bucket/m.pt", "abc");
    evidence_note(ev, "first note");
}

static void test_unit_record_record_job__a_written_job_reads_back_with_every_field(void **unused)
{
    char *argv[] = {"train.sh", "--steps", "10"};
    char *runs[] = {"s/v.r1", "s/v.r2"};
    job_entry w, r;
    state *st;
    (void)unused;

    memset(&w, 0, sizeof w);
    w.job.id = "s/v";
    w.job.step = "s";
    w.job.validation = "v";
    w.job.runner = "local";
    w.job.lifecycle = RECORD_LIFE_COMPLETED;
    w.job.attempt = an_int(2);
    w.job.key = "rh-1.0-v-a2";
    w.job.external_id = "4711";
    w.job.outcome = RELHOST_FAILED;
    w.job.reason = "threshold";
    w.job.retryable = 1;
    w.job.exit_code = an_int(3);
    w.job.termination_reason = "max_runtime_reached";
    w.job.restarts = an_int(1);
    w.job.started_at = "2026-01-02T03:04:05Z";
    w.job.ended_at = "2026-01-02T03:05:05Z";
    w.job.duration_s = a_real(60.5);
    w.job.log_path = "/logs/1.0/v.log";
    w.job.nargv = 3;
    w.job.argv = argv;
    w.job.spec_hash = "0123456789abcdef";
    w.job.accept_hash = "fedcba9876543210";
    w.job.repeats = an_int(2);
    w.nruns = 2;
    w.runs = runs;
    w.job.repeat_of = "u";
    w.job.repeat = an_int(4);
    w.has_process = 1;
    w.process.pid = an_int(12345);
    w.process.starttime = an_int(987654321);
    w.process.cookie = "rh-1.0-v-a2";
    w.process.proc_cookie = "c00k1e";
    w.process.grace_s = a_real(7.5);
    w.lost_attempts = an_int(1);
    fill_evidence(&w.ev);

    st = open_state(STATE_CREATE);
    assert_int_equal(record_job_write(st, &w), 0);
    assert_int_equal(record_job_mark_orphan_stopped(st, "s/v", 12345), 0);
    assert_int_equal(state_close(st), 0);
    evidence_free(&w.ev);

    st = open_state(STATE_READONLY);
    assert_int_equal(record_job_get(state_root(st), "s/v", &r), 0);
    assert_string_equal(r.job.id, "s/v");
    assert_string_equal(r.job.step, "s");
    assert_true(r.job.step_given && r.job.validation_given);
    assert_string_equal(r.job.validation, "v");
    assert_string_equal(r.job.runner, "local");
    assert_int_equal(r.job.lifecycle, RECORD_LIFE_COMPLETED);
    assert_string_equal(r.job.lifecycle_raw, "completed");
    assert_true(r.job.attempt.set && !r.job.attempt.from_real);
    assert_int_equal(r.job.attempt.v, 2);
    assert_string_equal(r.job.key, "rh-1.0-v-a2");
    assert_string_equal(r.job.external_id, "4711");
    assert_int_equal(r.job.outcome, RELHOST_FAILED);
    assert_string_equal(r.job.outcome_raw, "FAILED");
    assert_string_equal(r.job.reason, "threshold");
    assert_int_equal(r.job.retryable, 1);
    assert_true(r.job.exit_code.set);
    assert_int_equal(r.job.exit_code.v, 3);
    assert_string_equal(r.job.termination_reason, "max_runtime_reached");
    assert_true(r.job.restarts.set);
    assert_int_equal(r.job.restarts.v, 1);
    assert_string_equal(r.job.started_at, "2026-01-02T03:04:05Z");
    assert_string_equal(r.job.ended_at, "2026-01-02T03:05:05Z");
    assert_true(r.job.duration_s.set);
    assert_true(r.job.duration_s.v == 60.5);
    assert_string_equal(r.job.log_path, "/logs/1.0/v.log");
    assert_int_equal(r.job.nargv, 3);
    assert_string_equal(r.job.argv[0], "train.sh");
    assert_string_equal(r.job.argv[1], "--steps");
    assert_string_equal(r.job.argv[2], "10");
    assert_string_equal(r.job.spec_hash, "0123456789abcdef");
    assert_string_equal(r.job.accept_hash, "fedcba9876543210");
    assert_true(r.job.repeats.set);
    assert_int_equal(r.job.repeats.v, 2);
    assert_int_equal(r.nruns, 2);
    assert_string_equal(r.runs[0], "s/v.r1");
    assert_string_equal(r.runs[1], "s/v.r2");
    assert_string_equal(r.job.repeat_of, "u");
    assert_true(r.job.repeat.set);
    assert_int_equal(r.job.repeat.v, 4);
    assert_true(r.has_process);
    assert_int_equal(r.process.pid.v, 12345);
    assert_int_equal(r.process.starttime.v, 987654321);
    assert_string_equal(r.process.cookie, "rh-1.0-v-a2");
    assert_string_equal(r.process.proc_cookie, "c00k1e");
    assert_true(r.process.grace_s.set && r.process.grace_s.v == 7.5);
    assert_true(r.lost_attempts.set);
    assert_int_equal(r.lost_attempts.v, 1);
    assert_true(r.orphan_stopped.set);
    assert_int_equal(r.orphan_stopped.v, 12345);

    /* the evidence in memory, in the order it was posted */
    assert_int_equal(r.ev.nmetrics, 2);
    assert_string_equal(r.ev.metrics[0].key, "sps");
    assert_true(r.ev.metrics[0].finite && r.ev.metrics[0].value == 11.0);
    assert_string_equal(r.ev.metrics[0].source, "log");
    assert_string_equal(r.ev.metrics[0].pattern, "sps=(\\S+)");
    assert_string_equal(r.ev.metrics[0].reducer, "last");
    assert_int_equal(r.ev.metrics[0].samples, 4);
    assert_int_equal(r.ev.metrics[0].nruns, 3);
    assert_true(r.ev.metrics[0].runs[0] == 10.0);
    assert_true(isnan(r.ev.metrics[0].runs[1]));
    assert_true(r.ev.metrics[0].runs[2] == 12.5);
    assert_string_equal(r.ev.metrics[1].key, "loss");
    assert_null(r.ev.metrics[1].pattern);
    assert_int_equal(r.ev.nchecks, 1);
    assert_string_equal(r.ev.checks[0].key, "sps");
    assert_string_equal(r.ev.checks[0].op, ">=");
    assert_true(r.ev.checks[0].has_expected && r.ev.checks[0].expected == 9.0);
    assert_true(r.ev.checks[0].has_actual && r.ev.checks[0].actual == 11.0);
    assert_int_equal(r.ev.checks[0].passed, 1);
    assert_string_equal(r.ev.checks[0].note, "ok");
    assert_string_equal(r.ev.checks[0].stat, "median");
    assert_string_equal(r.ev.checks[0].direction, "higher");
    assert_true(r.ev.checks[0].rel == 0.2);
    assert_true(r.ev.checks[0].has_baseline && r.ev.checks[0].baseline == 10.0);
    assert_true(r.ev.checks[0].has_bound && r.ev.checks[0].bound == 8.0);
    assert_int_equal(r.ev.nlabels, 1);
    assert_string_equal(r.ev.labels[0].key, "gpu");
    assert_string_equal(r.ev.labels[0].value, "a100");
    assert_int_equal(r.ev.nartifacts, 1);
    assert_string_equal(r.ev.artifacts[0].kind, "model");
    assert_string_equal(r.ev.artifacts[0].uri, "s3://bucket/m.pt");
    assert_string_equal(r.ev.artifacts[0].sha256, "abc");
    assert_int_equal(r.ev.notes.n, 1);
    assert_string_equal(r.ev.notes.v[0], "first note");
    /* and in the views' typed form */
    assert_int_equal(r.job.evidence.nmetrics, 2);
    assert_int_equal(r.job.evidence.nchecks, 1);
    record_job_entry_free(&r);
    state_close(st);
}

static void test_unit_record_record_job__a_running_job_has_no_result_and_nulls_read_as_absent(
    void **unused)
{
    job_entry w, r;
    job_entry *v;
    size_t n;
    state *st;
    (void)unused;

    memset(&w, 0, sizeof w);
    w.job.id = "s/run";
    w.job.step = "s";
    w.job.validation = "run";
    w.job.runner = "slurm";
    w.job.lifecycle = RECORD_LIFE_RUNNING;
    w.job.attempt = an_int(1);
    w.job.restarts = an_int(2);
    /* given, but a job without a result writes none of them */
    w.job.outcome = RELHOST_PASSED;
    w.job.reason = "ignored";
    w.job.exit_code = an_int(0);
    st = open_state(STATE_CREATE);
    assert_int_equal(record_job_write(st, &w), 0);
    assert_int_equal(state_close(st), 0);

    st = open_state(0);
    assert_int_equal(record_job_get(state_root(st), "s/run", &r), 0);
    assert_int_equal(r.job.lifecycle, RECORD_LIFE_RUNNING);
    assert_int_equal(r.job.outcome, RELHOST_NONE);
    assert_null(r.job.outcome_raw);
    assert_null(r.job.reason);
    assert_false(r.job.exit_code.set);
    assert_true(r.job.restarts.set);
    assert_int_equal(r.job.restarts.v, 2);
    /* written as null or left out: absent alike */
    assert_null(r.job.key);
    assert_null(r.job.external_id);
    assert_null(r.job.log_path);
    assert_null(r.job.started_at);
    assert_null(r.job.ended_at);
    assert_false(r.job.duration_s.set);
    assert_false(r.has_process);
    assert_false(r.lost_attempts.set);
    assert_false(r.orphan_stopped.set);
    assert_false(r.job.repeats.set);
    assert_null(r.job.repeat_of);
    assert_int_equal(r.nruns, 0);
    assert_int_equal(r.job.nargv, 0);
    assert_int_equal(r.ev.nmetrics + r.ev.nchecks + r.ev.nlabels + r.ev.notes.n, 0);
    record_job_entry_free(&r);

    /* no such record */
    assert_int_equal(record_job_get(state_root(st), "s/nope", &r), -1);
    assert_null(r.job.id);
    record_job_list(state_root(st), &v, &n);
    assert_int_equal(n, 1);
    assert_string_equal(v[0].job.id, "s/run");
    record_job_list_free(v, n);
    state_close(st);
}

static void test_unit_record_record_job__a_hand_edited_wrong_type_reads_as_absent(void **unused)
{
    const char *path[2] = {"jobs", "s/bad"};
    const char *path2[2] = {"jobs", "s/text"};
    json_error_t je;
    job_entry r, *v;
    size_t n;
    state *st;
    json_t *root;
    json_t *bad = json_loads(
        "{\"step\": 1, \"validation\": [], \"runner\": null, \"lifecycle\": \"dancing\","
        " \"attempt\": \"2\", \"key\": 5, \"external_id\": {}, \"outcome\": 3,"
        " \"reason\": false, \"retryable\": \"yes\", \"exit_code\": 1.5, \"restarts\": \"1\","
        " \"started_at\": 0, \"duration_s\": \"60\", \"argv\": [\"ok\", 2, null],"
        " \"repeats\": [2], \"repeat_of\": 7, \"runs\": \"s/x.r1\", \"process\": \"pid 1\","
        " \"lost_attempts\": 2.5, \"orphan_stopped\": \"12\","
        " \"evidence\": {\"metrics\": {\"m\": {\"value\": \"high\", \"samples\": \"3\","
        "   \"repeats\": 5}}, \"checks\": [7, {\"key\": 1, \"expected\": \"9\"}],"
        "   \"labels\": {\"l\": 1, \"k\": \"v\"}, \"artifacts\": [{\"uri\": 3}], \"notes\": [1]}}",
        0, &je);
    (void)unused;
    assert_non_null(bad);

    st = open_state(STATE_CREATE);
    assert_int_equal(state_set(st, path, 2, json_incref(bad)), 0);
    assert_int_equal(state_set(st, path2, 2, json_string("not a record")), 0);
    assert_int_equal(state_close(st), 0);

    /* Such a state is refused as corrupt when opened (core/record/record_shape.h), never
     * half-used; the typed reader below is what stands behind members the shape does not
     * cover, so it is tried on the same JSON in memory. */
    st = NULL;
    assert_int_not_equal(state_open(dir, V, STATE_READONLY, &st), 0);
    assert_non_null(strstr(error_last(), "is corrupt"));
    root = json_pack("{s:{s:o, s:s}}", "jobs", "s/bad", bad, "s/text", "not a record");
    assert_non_null(root);
    assert_int_equal(record_job_get(root, "s/bad", &r), 0);
    /* the id still names step and validation */
    assert_string_equal(r.job.step, "s");
    assert_string_equal(r.job.validation, "bad");
    assert_false(r.job.step_given || r.job.validation_given);
    assert_null(r.job.runner);
    assert_int_equal(r.job.lifecycle, RECORD_LIFE_UNKNOWN);
    assert_false(r.job.attempt.set);
    assert_null(r.job.key);
    assert_null(r.job.external_id);
    assert_int_equal(r.job.outcome, RELHOST_NONE);
    assert_null(r.job.reason);
    assert_int_equal(r.job.retryable, 0);
    assert_false(r.job.exit_code.set); /* 1.5 is not an integer */
    assert_false(r.job.restarts.set);
    assert_null(r.job.started_at);
    assert_false(r.job.duration_s.set);
    assert_int_equal(r.job.nargv, 1);
    assert_string_equal(r.job.argv[0], "ok");
    assert_false(r.job.repeats.set);
    assert_null(r.job.repeat_of);
    assert_int_equal(r.nruns, 0);
    assert_false(r.has_process);
    assert_false(r.process.pid.set);
    assert_false(r.lost_attempts.set);
    assert_false(r.orphan_stopped.set);
    /* the evidence keeps what it can: a metric without a number, a check that is not an object
     * as a failing "?" one (the views' typed form drops it), no bad label, artifact or note */
    assert_int_equal(r.ev.nmetrics, 1);
    assert_false(r.ev.metrics[0].finite);
    assert_int_equal(r.ev.metrics[0].samples, 0);
    assert_int_equal(r.ev.metrics[0].nruns, 0);
    assert_int_equal(r.ev.notes.n, 0); /* a reload notes no non-finite value */
    assert_int_equal(r.ev.nlabels, 1);
    assert_string_equal(r.ev.labels[0].key, "k");
    assert_int_equal(r.ev.nartifacts, 0);
    assert_int_equal(r.ev.nchecks, 2);
    assert_string_equal(r.ev.checks[0].key, "?");
    assert_string_equal(r.ev.checks[0].op, "?");
    assert_false(r.ev.checks[0].passed);
    assert_string_equal(r.ev.checks[1].key, "?");
    assert_false(r.ev.checks[1].has_expected);
    assert_int_equal(r.job.evidence.nchecks, 1);
    record_job_entry_free(&r);

    /* a record that is not an object is no record */
    assert_int_equal(record_job_get(root, "s/text", &r), -1);
    record_job_list(root, &v, &n);
    assert_int_equal(n, 1);
    assert_string_equal(v[0].job.id, "s/bad");
    record_job_list_free(v, n);
    json_decref(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_unit_record_record_job__a_written_job_reads_back_with_every_field, setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            test_unit_record_record_job__a_running_job_has_no_result_and_nulls_read_as_absent,
            setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_unit_record_record_job__a_hand_edited_wrong_type_reads_as_absent, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
