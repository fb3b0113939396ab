/* SPDX-License-Identifier: MIT */
/* Unit tests of core/checks.c (acceptance checks) and the job-end mapping in core/jobs.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "checks.h"
#include "jobs.h"

#include <math.h>
#include <string.h>

static relhost_check_spec spec(const char *key, relhost_op op, double e, double hi)
{
    relhost_check_spec s = {.struct_size = sizeof s, .key = key, .op = op, .expected = e,
                            .expected_hi = hi};
    return s;
}

static void test_unit_checks_checks__every_operator_compares_as_written(void **state)
{
    relhost_check_spec s;
    (void)state;
    s = spec("x", RELHOST_OP_GE, 10, 0);
    assert_true(checks_compare(&s, 10));
    assert_false(checks_compare(&s, 9.999));
    s = spec("x", RELHOST_OP_GT, 10, 0);
    assert_false(checks_compare(&s, 10));
    assert_true(checks_compare(&s, 10.001));
    s = spec("x", RELHOST_OP_LE, 10, 0);
    assert_true(checks_compare(&s, 10));
    assert_false(checks_compare(&s, 10.5));
    s = spec("x", RELHOST_OP_LT, 10, 0);
    assert_false(checks_compare(&s, 10));
    assert_true(checks_compare(&s, -3));
    s = spec("x", RELHOST_OP_EQ, 0.5, 0);
    assert_true(checks_compare(&s, 0.5));
    assert_false(checks_compare(&s, 0.50001));
    s = spec("x", RELHOST_OP_NE, 0.5, 0);
    assert_false(checks_compare(&s, 0.5));
    assert_true(checks_compare(&s, 1));
    s = spec("x", RELHOST_OP_RANGE, 0.5, 1.0);
    assert_true(checks_compare(&s, 0.5));
    assert_true(checks_compare(&s, 1.0));
    assert_false(checks_compare(&s, 1.01));
    assert_false(checks_compare(&s, 0.49));
}

static void test_unit_checks_checks__a_non_finite_value_fails_every_operator(void **state)
{
    (void)state;
    for (relhost_op op = RELHOST_OP_GE; op <= RELHOST_OP_RANGE; op++) {
        relhost_check_spec s = spec("x", op, 1, 2);
        assert_false(checks_compare(&s, NAN));
        assert_false(checks_compare(&s, INFINITY));
        assert_false(checks_compare(&s, -INFINITY));
    }
}

static void test_unit_checks_checks__a_missing_metric_fails_with_the_note_metric_missing(void **st)
{
    evidence ev = {0};
    relhost_check_spec v[2];
    relhost_checks cs = {2, sizeof(relhost_check_spec), v};
    relhost_verdict out;
    (void)st;
    v[0] = spec("sps_max", RELHOST_OP_GE, 30000, 0);
    v[1] = spec("eval_success_rate", RELHOST_OP_GE, 0.9, 0);
    evidence_metric(&ev, "sps_max", 31000, "logs", NULL, "max", 3);
    checks_eval(&ev, &cs, &out);
    assert_int_equal(out.outcome, RELHOST_FAILED);
    assert_string_equal(out.reason, "metric_missing");
    assert_int_equal(ev.nchecks, 2);
    assert_true(ev.checks[0].passed);
    assert_true(ev.checks[0].has_actual);
    assert_false(ev.checks[1].passed);
    assert_false(ev.checks[1].has_actual);
    assert_string_equal(ev.checks[1].note, "metric missing");
    evidence_free(&ev);
}

static void test_unit_checks_checks__a_threshold_miss_is_failed_threshold(void **st)
{
    evidence ev = {0};
    relhost_check_spec v[1];
    relhost_checks cs = {1, sizeof(relhost_check_spec), v};
    relhost_verdict out;
    (void)st;
    v[0] = spec("sps_max", RELHOST_OP_GE, 30000, 0);
    evidence_metric(&ev, "sps_max", 12000, "logs", NULL, "max", 3);
    checks_eval(&ev, &cs, &out);
    assert_int_equal(out.outcome, RELHOST_FAILED);
    assert_string_equal(out.reason, "threshold");
    assert_float_equal(ev.checks[0].actual, 12000, 0);
    assert_float_equal(ev.checks[0].expected, 30000, 0);
    evidence_free(&ev);
}

static void test_unit_checks_checks__a_nan_metric_is_stored_as_null_and_fails(void **st)
{
    evidence ev = {0};
    relhost_check_spec v[1];
    relhost_checks cs = {1, sizeof(relhost_check_spec), v};
    relhost_verdict out;
    (void)st;
    v[0] = spec("loss", RELHOST_OP_NE, 1, 0); /* NaN != 1 is true in C: must still fail */
    evidence_metric(&ev, "loss", NAN, "logs", NULL, "last", 1);
    assert_false(ev.metrics[0].finite);
    assert_int_equal(ev.notes.n, 1);
    checks_eval(&ev, &cs, &out);
    assert_int_equal(out.outcome, RELHOST_FAILED);
    assert_false(ev.checks[0].passed);
    assert_false(ev.checks[0].has_actual);
    evidence_free(&ev);
}

static void test_unit_checks_checks__all_checks_passing_is_passed(void **st)
{
    evidence ev = {0};
    relhost_check_spec v[2];
    relhost_checks cs = {2, sizeof(relhost_check_spec), v};
    relhost_verdict out;
    (void)st;
    v[0] = spec("a", RELHOST_OP_LT, 1, 0);
    v[1] = spec("b", RELHOST_OP_RANGE, 0, 10);
    evidence_metric(&ev, "a", 0.5, NULL, NULL, NULL, 1);
    evidence_metric(&ev, "b", 10, NULL, NULL, NULL, 1);
    checks_eval(&ev, &cs, &out);
    assert_int_equal(out.outcome, RELHOST_PASSED);
    assert_null(out.reason);
    evidence_free(&ev);
}

static job_end_verdict end(relhost_job_end e, int code, const char *term)
{
    job_end_facts f = {.end = e, .exit_code = code, .termination_reason = term};
    return jobs_map_end(&f);
}

static void test_unit_checks_jobs__exit_zero_runs_the_checks(void **st)
{
    job_end_verdict v = end(RELHOST_END_EXITED, 0, NULL);
    (void)st;
    assert_int_equal(v.outcome, RELHOST_PASSED);
    assert_true(v.run_checks);
}

static void test_unit_checks_jobs__exit_124_and_engine_timeouts_fail_with_reason_timeout(void **st)
{
    job_end_verdict v = end(RELHOST_END_EXITED, 124, NULL);
    (void)st;
    assert_int_equal(v.outcome, RELHOST_FAILED);
    assert_string_equal(v.reason, "timeout");
    v = end(RELHOST_END_TIMEOUT, -1, NULL);
    assert_int_equal(v.outcome, RELHOST_FAILED);
    assert_string_equal(v.reason, "timeout");
}

static void test_unit_checks_jobs__exec_failures_are_errors_not_retried(void **st)
{
    job_end_verdict v = end(RELHOST_END_EXITED, 127, NULL);
    (void)st;
    assert_int_equal(v.outcome, RELHOST_ERROR);
    assert_false(v.retryable);
    v = end(RELHOST_END_EXITED, 126, NULL);
    assert_int_equal(v.outcome, RELHOST_ERROR);
    v = end(RELHOST_END_EXEC_FAILED, -1, NULL);
    assert_int_equal(v.outcome, RELHOST_ERROR);
    assert_false(v.retryable);
}

static void test_unit_checks_jobs__infrastructure_failures_are_retryable_errors(void **st)
{
    job_end_verdict v = end(RELHOST_END_INFRA, -1, NULL);
    (void)st;
    assert_int_equal(v.outcome, RELHOST_ERROR);
    assert_true(v.retryable);
}

static void test_unit_checks_jobs__a_signal_is_a_failure_and_host_stops_have_no_outcome(void **st)
{
    job_end_facts f = {.end = RELHOST_END_SIGNALED, .signal = 9};
    job_end_verdict v = jobs_map_end(&f);
    (void)st;
    assert_int_equal(v.outcome, RELHOST_FAILED);
    assert_string_equal(v.reason, "signal");
    f.host_cancelled = 1;
    v = jobs_map_end(&f);
    assert_int_equal(v.outcome, RELHOST_NONE);
}

static void test_unit_checks_jobs__max_runtime_reached_counts_as_success(void **st)
{
    job_end_verdict v = end(RELHOST_END_EXITED, 1, "max_runtime_reached");
    (void)st;
    assert_int_equal(v.outcome, RELHOST_PASSED);
    v = end(RELHOST_END_EXITED, 1, "heartbeat_timeout");
    assert_int_equal(v.outcome, RELHOST_FAILED);
}

static void test_unit_checks_jobs__a_bad_termination_reason_fails_even_with_exit_zero(void **st)
{
    job_end_verdict v = end(RELHOST_END_EXITED, 0, "heartbeat_timeout");
    (void)st;
    assert_int_equal(v.outcome, RELHOST_FAILED);
    assert_string_equal(v.reason, "termination_reason");
    v = end(RELHOST_END_EXITED, 0, "job_completed");
    assert_int_equal(v.outcome, RELHOST_PASSED);
}

static void test_unit_checks_jobs__expect_overrides_exit_codes_and_termination(void **st)
{
    int codes[] = {0, 3};
    job_end_facts f = {.end = RELHOST_END_EXITED, .exit_code = 3, .expect_exit = codes,
                       .n_expect_exit = 2};
    job_end_verdict v = jobs_map_end(&f);
    (void)st;
    assert_int_equal(v.outcome, RELHOST_PASSED);
    f.exit_code = 0;
    f.expect_termination = "heartbeat_timeout";
    f.termination_reason = "job_completed";
    v = jobs_map_end(&f);
    assert_int_equal(v.outcome, RELHOST_FAILED);
    assert_string_equal(v.reason, "termination_reason");
    f.termination_reason = "heartbeat_timeout";
    v = jobs_map_end(&f);
    assert_int_equal(v.outcome, RELHOST_PASSED);
}

static void test_unit_checks_jobs__an_unknown_end_from_a_runner_is_an_error(void **st)
{
    job_end_verdict v = end((relhost_job_end)77, 0, NULL);
    (void)st;
    assert_int_equal(v.outcome, RELHOST_ERROR);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unit_checks_checks__every_operator_compares_as_written),
        cmocka_unit_test(test_unit_checks_checks__a_non_finite_value_fails_every_operator),
        cmocka_unit_test(test_unit_checks_checks__a_missing_metric_fails_with_the_note_metric_missing),
        cmocka_unit_test(test_unit_checks_checks__a_threshold_miss_is_failed_threshold),
        cmocka_unit_test(test_unit_checks_checks__a_nan_metric_is_stored_as_null_and_fails),
        cmocka_unit_test(test_unit_checks_checks__all_checks_passing_is_passed),
        cmocka_unit_test(test_unit_checks_jobs__exit_zero_runs_the_checks),
        cmocka_unit_test(test_unit_checks_jobs__exit_124_and_engine_timeouts_fail_with_reason_timeout),
        cmocka_unit_test(test_unit_checks_jobs__exec_failures_are_errors_not_retried),
        cmocka_unit_test(test_unit_checks_jobs__infrastructure_failures_are_retryable_errors),
        cmocka_unit_test(test_unit_checks_jobs__a_signal_is_a_failure_and_host_stops_have_no_outcome),
        cmocka_unit_test(test_unit_checks_jobs__max_runtime_reached_counts_as_success),
        cmocka_unit_test(test_unit_checks_jobs__a_bad_termination_reason_fails_even_with_exit_zero),
        cmocka_unit_test(test_unit_checks_jobs__expect_overrides_exit_codes_and_termination),
        cmocka_unit_test(test_unit_checks_jobs__an_unknown_end_from_a_runner_is_an_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
