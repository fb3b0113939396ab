/* SPDX-License-Identifier: MIT */
/* Unit tests of core/run/checks.c (acceptance checks: thresholds, baseline rules, statistics of
 * repeats) and the job-end mapping in core/run/jobs.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "run/checks.h"
#include "run/jobs.h"

#include <math.h>
#include <string.h>

static relhost_check_spec spec(const char *key, relhost_op op, double e, double hi)
{
    relhost_check_spec s = {
        .struct_size = sizeof s, .key = key, .op = op, .expected = e, .expected_hi = hi};
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

/* ---- baseline rules and statistics (ABI 1.2) ---- */

static relhost_check_spec rule(const char *key, relhost_baseline_dir dir, double rel, double abs_)
{
    relhost_check_spec s = {.struct_size = sizeof s,
                            .key = key,
                            .op = RELHOST_OP_NONE,
                            .baseline = dir,
                            .rel_tol = rel,
                            .abs_tol = abs_};
    return s;
}

/* {"schema": 1, "metrics": {"<validation>::<metric>": {"value": v}}} */
static json_t *store1(const char *key, double v)
{
    json_t *s = json_pack("{s:i, s:{}}", "schema", 1, "metrics");
    json_object_set_new(json_object_get(s, "metrics"), key, json_pack("{s:f}", "value", v));
    return s;
}

static relhost_verdict eval1(evidence *ev, relhost_check_spec sp, const json_t *store, int require)
{
    relhost_checks cs = {1, sizeof(relhost_check_spec), &sp};
    checks_env env = {.baseline = store, .validation = "smoke", .require_baseline = require};
    relhost_verdict out;
    checks_eval_env(ev, &cs, &env, &out);
    return out;
}

static void test_unit_checks_checks__a_drop_beyond_the_relative_tolerance_fails_with_the_bound(
    void **st)
{
    evidence ev = {0};
    json_t *b = store1("smoke::sps_max", 35000);
    relhost_verdict out;
    (void)st;
    evidence_metric(&ev, "sps_max", 24000, "logs", NULL, "max", 3);
    out = eval1(&ev, rule("sps_max", RELHOST_BASELINE_HIGHER, 0.2, 0), b, 0);
    assert_int_equal(out.outcome, RELHOST_FAILED);
    assert_string_equal(out.reason, "threshold");
    assert_false(ev.checks[0].passed);
    assert_true(ev.checks[0].has_baseline && ev.checks[0].has_bound);
    assert_float_equal(ev.checks[0].baseline, 35000, 0);
    assert_float_equal(ev.checks[0].bound, 28000, 1e-9);
    assert_false(ev.checks[0].has_expected);
    assert_string_equal(ev.checks[0].op, ">=");
    assert_string_equal(ev.checks[0].direction, "higher");
    assert_string_equal(ev.checks[0].stat, "median");
    assert_string_equal(ev.checks[0].note, "sps_max 24000 < bound 28000 (baseline 35000, -20%)");
    evidence_free(&ev);
    /* within the tolerance: passes, exactly at the bound too */
    evidence_metric(&ev, "sps_max", 28000, "logs", NULL, "max", 3);
    out = eval1(&ev, rule("sps_max", RELHOST_BASELINE_HIGHER, 0.2, 0), b, 0);
    assert_int_equal(out.outcome, RELHOST_PASSED);
    assert_true(ev.checks[0].passed);
    assert_null(ev.checks[0].note);
    evidence_free(&ev);
    json_decref(b);
}

static void test_unit_checks_checks__an_absolute_tolerance_is_in_the_metrics_unit(void **st)
{
    evidence ev = {0};
    json_t *b = store1("smoke::eval_success_rate", 0.95);
    relhost_verdict out;
    (void)st;
    evidence_metric(&ev, "eval_success_rate", 0.949, "logs", NULL, "last", 1);
    out = eval1(&ev, rule("eval_success_rate", RELHOST_BASELINE_HIGHER, 0, 0.002), b, 0);
    assert_int_equal(out.outcome, RELHOST_PASSED);
    evidence_free(&ev);
    evidence_metric(&ev, "eval_success_rate", 0.947, "logs", NULL, "last", 1);
    out = eval1(&ev, rule("eval_success_rate", RELHOST_BASELINE_HIGHER, 0, 0.002), b, 0);
    assert_int_equal(out.outcome, RELHOST_FAILED);
    assert_float_equal(ev.checks[0].bound, 0.948, 1e-12);
    assert_string_equal(ev.checks[0].note,
                        "eval_success_rate 0.947 < bound 0.948 (baseline 0.95, -0.002)");
    evidence_free(&ev);
    json_decref(b);
}

static void test_unit_checks_checks__lower_is_better_bounds_from_above(void **st)
{
    evidence ev = {0};
    json_t *b = store1("smoke::latency_ms", 100);
    relhost_verdict out;
    (void)st;
    evidence_metric(&ev, "latency_ms", 121, "logs", NULL, "last", 1);
    out = eval1(&ev, rule("latency_ms", RELHOST_BASELINE_LOWER, 0.2, 0), b, 0);
    assert_int_equal(out.outcome, RELHOST_FAILED);
    assert_string_equal(ev.checks[0].op, "<=");
    assert_float_equal(ev.checks[0].bound, 120, 1e-9);
    assert_string_equal(ev.checks[0].note, "latency_ms 121 > bound 120 (baseline 100, +20%)");
    evidence_free(&ev);
    /* a big improvement is no regression */
    evidence_metric(&ev, "latency_ms", 10, "logs", NULL, "last", 1);
    out = eval1(&ev, rule("latency_ms", RELHOST_BASELINE_LOWER, 0.2, 0), b, 0);
    assert_int_equal(out.outcome, RELHOST_PASSED);
    evidence_free(&ev);
    json_decref(b);
}

static void test_unit_checks_checks__with_rel_and_abs_the_looser_bound_applies(void **st)
{
    evidence ev = {0};
    json_t *b = store1("smoke::x", 10);
    relhost_verdict out;
    (void)st;
    /* rel 10% of 10 = 1, abs 3: allowed 3 (looser), bound 7 */
    evidence_metric(&ev, "x", 7.5, NULL, NULL, NULL, 1);
    out = eval1(&ev, rule("x", RELHOST_BASELINE_HIGHER, 0.1, 3), b, 0);
    assert_int_equal(out.outcome, RELHOST_PASSED);
    assert_float_equal(ev.checks[0].bound, 7, 1e-12);
    evidence_free(&ev);
    evidence_metric(&ev, "x", 6.5, NULL, NULL, NULL, 1);
    out = eval1(&ev, rule("x", RELHOST_BASELINE_HIGHER, 0.1, 3), b, 0);
    assert_int_equal(out.outcome, RELHOST_FAILED);
    assert_string_equal(ev.checks[0].note, "x 6.5 < bound 7 (baseline 10, -max(10%, 3))");
    evidence_free(&ev);
    json_decref(b);
}

static void test_unit_checks_checks__a_threshold_and_a_baseline_rule_must_both_hold(void **st)
{
    evidence ev = {0};
    json_t *b = store1("smoke::sps_max", 35000);
    relhost_check_spec sp = rule("sps_max", RELHOST_BASELINE_HIGHER, 0.2, 0);
    relhost_verdict out;
    (void)st;
    sp.op = RELHOST_OP_GE;
    sp.expected = 30000;
    evidence_metric(&ev, "sps_max", 29000, NULL, NULL, NULL, 1); /* above the bound, below 30000 */
    out = eval1(&ev, sp, b, 0);
    assert_int_equal(out.outcome, RELHOST_FAILED);
    assert_true(ev.checks[0].has_expected);
    assert_float_equal(ev.checks[0].expected, 30000, 0);
    assert_float_equal(ev.checks[0].bound, 28000, 1e-9);
    evidence_free(&ev);
    json_decref(b);
    b = store1("smoke::sps_max", 50000);                         /* bound 40000 */
    evidence_metric(&ev, "sps_max", 35000, NULL, NULL, NULL, 1); /* above 30000, below the bound */
    out = eval1(&ev, sp, b, 0);
    assert_int_equal(out.outcome, RELHOST_FAILED);
    assert_non_null(strstr(ev.checks[0].note, "< bound 40000 (baseline 50000"));
    evidence_free(&ev);
    json_decref(b);
}

static void test_unit_checks_checks__no_baseline_passes_with_a_note_unless_required(void **st)
{
    evidence ev = {0};
    json_t *b = store1("other::sps_max", 35000);
    relhost_verdict out;
    (void)st;
    evidence_metric(&ev, "sps_max", 1, NULL, NULL, NULL, 1);
    out = eval1(&ev, rule("sps_max", RELHOST_BASELINE_HIGHER, 0.2, 0), b, 0);
    assert_int_equal(out.outcome, RELHOST_PASSED);
    assert_true(ev.checks[0].passed);
    assert_false(ev.checks[0].has_baseline);
    assert_false(ev.checks[0].has_bound);
    assert_string_equal(ev.checks[0].note, "no baseline yet for smoke::sps_max");
    evidence_free(&ev);
    evidence_metric(&ev, "sps_max", 1, NULL, NULL, NULL, 1);
    out = eval1(&ev, rule("sps_max", RELHOST_BASELINE_HIGHER, 0.2, 0), b, 1);
    assert_int_equal(out.outcome, RELHOST_INCONCLUSIVE);
    assert_string_equal(out.reason, "no_baseline");
    assert_false(ev.checks[0].passed);
    assert_non_null(strstr(ev.checks[0].note, "require_baseline"));
    evidence_free(&ev);
    /* a verdict beats "no decision": a failed threshold elsewhere makes it FAILED */
    {
        relhost_check_spec v[2] = {rule("sps_max", RELHOST_BASELINE_HIGHER, 0.2, 0),
                                   spec("sps_max", RELHOST_OP_GE, 5, 0)};
        relhost_checks cs = {2, sizeof(relhost_check_spec), v};
        checks_env env = {.baseline = b, .validation = "smoke", .require_baseline = 1};
        evidence_metric(&ev, "sps_max", 1, NULL, NULL, NULL, 1);
        checks_eval_env(&ev, &cs, &env, &out);
        assert_int_equal(out.outcome, RELHOST_FAILED);
        assert_string_equal(out.reason, "threshold");
        evidence_free(&ev);
    }
    json_decref(b);
}

static void test_unit_checks_checks__an_unreadable_baseline_store_never_passes_a_rule(void **st)
{
    evidence ev = {0};
    relhost_check_spec sp = rule("sps_max", RELHOST_BASELINE_HIGHER, 0.2, 0);
    relhost_checks cs = {1, sizeof(relhost_check_spec), &sp};
    checks_env env = {.validation = "smoke", .baseline_error = "bad JSON"};
    relhost_verdict out;
    (void)st;
    evidence_metric(&ev, "sps_max", 1, NULL, NULL, NULL, 1);
    checks_eval_env(&ev, &cs, &env, &out);
    assert_int_equal(out.outcome, RELHOST_ERROR);
    assert_string_equal(out.reason, "baseline_unreadable");
    assert_string_equal(ev.checks[0].note, "baseline store unreadable: bad JSON");
    evidence_free(&ev);
}

static void test_unit_checks_checks__repeats_are_judged_on_the_checks_statistic(void **st)
{
    static const struct {
        relhost_stat stat;
        double want;
    } cases[] = {{RELHOST_STAT_MEDIAN, 30000},
                 {RELHOST_STAT_MIN, 24000},
                 {RELHOST_STAT_MAX, 31000},
                 {RELHOST_STAT_MEAN, 85000.0 / 3}};
    double runs[] = {24000, 31000, 30000};
    (void)st;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        evidence ev = {0};
        relhost_check_spec sp = spec("sps_max", RELHOST_OP_GE, 29000, 0);
        relhost_checks cs = {1, sizeof sp, &sp};
        relhost_verdict out;
        sp.stat = cases[i].stat;
        evidence_metric(&ev, "sps_max", 30000, "logs", NULL, "max", 30);
        evidence_metric_runs(&ev, "sps_max", runs, 3);
        checks_eval(&ev, &cs, &out);
        assert_float_equal(ev.checks[0].actual, cases[i].want, 1e-9);
        assert_string_equal(ev.checks[0].stat, checks_stat_name(cases[i].stat));
        assert_int_equal(out.outcome, cases[i].want >= 29000 ? RELHOST_PASSED : RELHOST_FAILED);
        evidence_free(&ev);
    }
    /* an even count's median is the mean of the middle two */
    {
        double v[] = {4, 1, 3, 2};
        assert_float_equal(checks_stat(RELHOST_STAT_MEDIAN, v, 4), 2.5, 0);
        assert_true(isnan(checks_stat(RELHOST_STAT_MEDIAN, v, 0)));
    }
}

static void test_unit_checks_checks__a_run_without_the_metric_fails_as_missing(void **st)
{
    evidence ev = {0};
    relhost_check_spec sp = spec("sps_max", RELHOST_OP_GE, 1, 0);
    relhost_checks cs = {1, sizeof sp, &sp};
    relhost_verdict out;
    double runs[] = {24000, NAN, 30000};
    (void)st;
    evidence_metric(&ev, "sps_max", 27000, "logs", NULL, "max", 2);
    evidence_metric_runs(&ev, "sps_max", runs, 3);
    checks_eval(&ev, &cs, &out);
    assert_int_equal(out.outcome, RELHOST_FAILED);
    assert_string_equal(out.reason, "metric_missing");
    assert_false(ev.checks[0].has_actual);
    assert_string_equal(ev.checks[0].note,
                        "metric missing or not a finite number in 1 of 3 repeats");
    evidence_free(&ev);
}

static void test_unit_checks_checks__a_baseline_rule_compares_like_with_like(void **st)
{
    evidence ev = {0};
    json_t *b = json_pack("{s:i, s:{s:{s:f, s:[f,f,f]}}}", "schema", 1, "metrics", "smoke::sps_max",
                          "value", 35000.0, "samples", 30000.0, 35000.0, 36000.0);
    relhost_check_spec sp = rule("sps_max", RELHOST_BASELINE_HIGHER, 0.1, 0);
    double runs[] = {27500, 33000, 34000};
    relhost_verdict out;
    (void)st;
    sp.stat = RELHOST_STAT_MIN; /* min now 27500 vs min then 30000: bound 27000 */
    evidence_metric(&ev, "sps_max", 33000, "logs", NULL, "max", 30);
    evidence_metric_runs(&ev, "sps_max", runs, 3);
    out = eval1(&ev, sp, b, 0);
    assert_int_equal(out.outcome, RELHOST_PASSED);
    assert_float_equal(ev.checks[0].baseline, 30000, 0);
    assert_float_equal(ev.checks[0].bound, 27000, 1e-9);
    evidence_free(&ev);
    json_decref(b);
}

static void test_unit_checks_checks__a_spec_from_an_older_plugin_reads_as_median_without_rule(
    void **st)
{
    relhost_check_spec in, out;
    (void)st;
    memset(&in, 0xff, sizeof in); /* garbage past the 1.1 members must not be read */
    in.struct_size = offsetof(relhost_check_spec, where) + sizeof in.where;
    in.key = "x";
    in.op = RELHOST_OP_GE;
    in.expected = 1;
    checks_spec_read(&in, &out);
    assert_int_equal(out.stat, RELHOST_STAT_MEDIAN);
    assert_int_equal(out.baseline, RELHOST_BASELINE_NONE);
    assert_float_equal(out.rel_tol, 0, 0);
    assert_int_equal(out.op, RELHOST_OP_GE);
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
    job_end_facts f = {
        .end = RELHOST_END_EXITED, .exit_code = 3, .expect_exit = codes, .n_expect_exit = 2};
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
        cmocka_unit_test(
            test_unit_checks_checks__a_missing_metric_fails_with_the_note_metric_missing),
        cmocka_unit_test(test_unit_checks_checks__a_threshold_miss_is_failed_threshold),
        cmocka_unit_test(test_unit_checks_checks__a_nan_metric_is_stored_as_null_and_fails),
        cmocka_unit_test(test_unit_checks_checks__all_checks_passing_is_passed),
        cmocka_unit_test(
            test_unit_checks_checks__a_drop_beyond_the_relative_tolerance_fails_with_the_bound),
        cmocka_unit_test(test_unit_checks_checks__an_absolute_tolerance_is_in_the_metrics_unit),
        cmocka_unit_test(test_unit_checks_checks__lower_is_better_bounds_from_above),
        cmocka_unit_test(test_unit_checks_checks__with_rel_and_abs_the_looser_bound_applies),
        cmocka_unit_test(test_unit_checks_checks__a_threshold_and_a_baseline_rule_must_both_hold),
        cmocka_unit_test(test_unit_checks_checks__no_baseline_passes_with_a_note_unless_required),
        cmocka_unit_test(test_unit_checks_checks__an_unreadable_baseline_store_never_passes_a_rule),
        cmocka_unit_test(test_unit_checks_checks__repeats_are_judged_on_the_checks_statistic),
        cmocka_unit_test(test_unit_checks_checks__a_run_without_the_metric_fails_as_missing),
        cmocka_unit_test(test_unit_checks_checks__a_baseline_rule_compares_like_with_like),
        cmocka_unit_test(
            test_unit_checks_checks__a_spec_from_an_older_plugin_reads_as_median_without_rule),
        cmocka_unit_test(test_unit_checks_jobs__exit_zero_runs_the_checks),
        cmocka_unit_test(
            test_unit_checks_jobs__exit_124_and_engine_timeouts_fail_with_reason_timeout),
        cmocka_unit_test(test_unit_checks_jobs__exec_failures_are_errors_not_retried),
        cmocka_unit_test(test_unit_checks_jobs__infrastructure_failures_are_retryable_errors),
        cmocka_unit_test(
            test_unit_checks_jobs__a_signal_is_a_failure_and_host_stops_have_no_outcome),
        cmocka_unit_test(test_unit_checks_jobs__max_runtime_reached_counts_as_success),
        cmocka_unit_test(test_unit_checks_jobs__a_bad_termination_reason_fails_even_with_exit_zero),
        cmocka_unit_test(test_unit_checks_jobs__expect_overrides_exit_codes_and_termination),
        cmocka_unit_test(test_unit_checks_jobs__an_unknown_end_from_a_runner_is_an_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
