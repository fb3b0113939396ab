/* SPDX-License-Identifier: MIT */
/* tests/unit/template/template.c - core/plan/template.c: run-level variables (set, replace, unset,
 * reset), template_check on known and unknown placeholders, template_expand with run values,
 * call-site variables, keep_job, the "{{" / "}}" escapes, and the words of every error. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/error.h"
#include "base/util.h"
#include "plan/template.h"

#include <relhost/plugin.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int teardown(void **unused)
{
    (void)unused;
    template_reset();
    error_clear();
    return 0;
}

/* Expand with no call-site variables; the result (or NULL on error) is the caller's. */
static char *expand(const char *tmpl, int keep_job, int *rc)
{
    static char sentinel[] = "unset";
    char *out = sentinel;
    *rc = template_expand(tmpl, NULL, 0, keep_job, &out);
    return out;
}

static void assert_expands(const char *tmpl, int keep_job, const char *want)
{
    int rc;
    char *out = expand(tmpl, keep_job, &rc);
    assert_int_equal(rc, 0);
    assert_non_null(out);
    assert_string_equal(out, want);
    free(out);
}

static void assert_error_has(const char *needle)
{
    const char *e = error_last();
    assert_non_null(e);
    if (!strstr(e, needle))
        fail_msg("error \"%s\" lacks \"%s\"", e, needle);
}

/* ---- variables ------------------------------------------------------------------------------ */

static void test_unit_template_template__set_value_replace_and_unset(void **state)
{
    (void)state;
    assert_null(template_value("version"));
    template_set("version", "1.0");
    template_set("commit", "abc");
    assert_string_equal(template_value("version"), "1.0");
    template_set("version", "2.0");
    assert_string_equal(template_value("version"), "2.0");
    template_set("version", NULL);
    assert_null(template_value("version"));
    assert_string_equal(template_value("commit"), "abc");
    template_set("never_set", NULL); /* unsetting an unknown name is a no-op */
    assert_null(template_value("never_set"));
    template_set("step", "s1");
    template_reset();
    assert_null(template_value("commit"));
    assert_null(template_value("step"));
}

static void test_unit_template_template__the_name_is_copied(void **state)
{
    char name[16] = "rc";
    (void)state;
    template_set(name, "rc1");
    snprintf(name, sizeof name, "xx");
    assert_string_equal(template_value("rc"), "rc1");
    assert_null(template_value("xx"));
}

static void test_unit_template_template__known_names_are_run_job_and_extra(void **state)
{
    static const char *const extra[] = {"gpu", "shard"};
    static const char *const run[] = {"version",       "rc",          "commit",
                                      "step",          "staged_dir",  "worktree",
                                      "rollback_from", "rollback_to", "rollback_reason"};
    static const char *const job[] = {"validation", "attempt", "repeat", "nodes", "condition"};
    (void)state;
    for (size_t i = 0; i < sizeof run / sizeof *run; i++)
        assert_true(template_known(run[i], NULL, 0));
    for (size_t i = 0; i < sizeof job / sizeof *job; i++)
        assert_true(template_known(job[i], NULL, 0));
    assert_true(template_known("gpu", extra, 2));
    assert_true(template_known("shard", extra, 2));
    assert_false(template_known("shard", extra, 1)); /* n_extra bounds the list */
    assert_false(template_known("gpu", NULL, 0));
    assert_false(template_known("Version", NULL, 0)); /* case matters */
}

/* ---- template_check ------------------------------------------------------------------------- */

static void test_unit_template_template__check_accepts_known_placeholders_and_escapes(void **state)
{
    static const char *const extra[] = {"gpu"};
    (void)state;
    assert_int_equal(template_check("", NULL, 0), 0);
    assert_int_equal(template_check("plain text", NULL, 0), 0);
    assert_int_equal(template_check("v{version}-{commit}/{validation}.{attempt}", NULL, 0), 0);
    assert_int_equal(template_check("{gpu}", extra, 1), 0);
    assert_int_equal(template_check("{{not a placeholder}}", NULL, 0), 0);
    assert_int_equal(template_check("a } b", NULL, 0), 0);
}

static void test_unit_template_template__check_names_an_unknown_placeholder_and_the_legal_ones(
    void **state)
{
    static const char *const extra[] = {"gpu"};
    (void)state;
    assert_int_equal(template_check("x-{verison}", extra, 1), RELHOST_EINVAL);
    assert_error_has("unknown placeholder {verison} in \"x-{verison}\"");
    assert_error_has("known: {version} {rc} {commit} {step} {staged_dir} {worktree}");
    assert_error_has("{validation} {attempt} {repeat} {nodes} {condition} {gpu} ");
    assert_error_has("(write {{ for a literal brace)");
}

static void test_unit_template_template__check_refuses_unclosed_empty_and_overlong_braces(
    void **state)
{
    char longname[200];
    (void)state;
    assert_int_equal(template_check("a {version", NULL, 0), RELHOST_EINVAL);
    assert_error_has("unclosed '{' in template \"a {version\" (write {{ for a literal brace)");
    assert_int_equal(template_check("a {} b", NULL, 0), RELHOST_EINVAL);
    assert_error_has("bad placeholder in template \"a {} b\"");
    longname[0] = '{';
    memset(longname + 1, 'n', 150);
    memcpy(longname + 151, "}", 2);
    assert_int_equal(template_check(longname, NULL, 0), RELHOST_EINVAL);
    assert_error_has("bad placeholder in template");
}

/* ---- template_expand ------------------------------------------------------------------------ */

static void test_unit_template_template__expand_substitutes_run_values(void **state)
{
    (void)state;
    template_set("version", "2025.01.02-0304");
    template_set("commit", "deadbeef");
    assert_expands("", 0, "");
    assert_expands("no placeholders", 0, "no placeholders");
    assert_expands("rel-{version}@{commit}", 0, "rel-2025.01.02-0304@deadbeef");
    assert_expands("{version}{version}", 0, "2025.01.02-03042025.01.02-0304");
    template_set("rc", "");
    assert_expands("[{rc}]", 0, "[]"); /* an empty value is a value */
}

static void test_unit_template_template__escapes_are_literal_braces(void **state)
{
    (void)state;
    template_set("version", "9");
    assert_expands("{{version}}", 0, "{version}");
    assert_expands("{{{version}}}", 0, "{9}");
    assert_expands("json: {{\"a\": 1}}", 0, "json: {\"a\": 1}");
    assert_expands("a}b", 0, "a}b");
    assert_expands("}}", 0, "}");
}

static void test_unit_template_template__call_site_variables_win_over_run_values(void **state)
{
    static const char *const vars[] = {"validation", "smoke", "version", "override"};
    char *out = NULL;
    (void)state;
    template_set("version", "1.0");
    assert_int_equal(template_expand("{validation}/{version}", vars, 2, 0, &out), 0);
    assert_string_equal(out, "smoke/override");
    free(out);
    /* n counts pairs: with n = 1 only validation is a call-site variable */
    assert_int_equal(template_expand("{validation}/{version}", vars, 1, 0, &out), 0);
    assert_string_equal(out, "smoke/1.0");
    free(out);
}

static void test_unit_template_template__keep_job_leaves_job_level_names_as_written(void **state)
{
    (void)state;
    template_set("version", "3");
    assert_expands("{version}-{validation}-{attempt}-{repeat}", 1,
                   "3-{validation}-{attempt}-{repeat}");
    assert_expands("{nodes}x{condition}", 1, "{nodes}x{condition}");
}

static void test_unit_template_template__a_run_name_without_value_is_an_error_even_with_keep_job(
    void **state)
{
    int rc;
    char *out;
    (void)state;
    out = expand("at {commit}", 1, &rc);
    assert_int_equal(rc, RELHOST_EINVAL);
    assert_null(out);
    assert_error_has("placeholder {commit} in \"at {commit}\" has no value in this run");
    assert_error_has("{commit} needs the plan's repo");
    out = expand("at {commit}", 0, &rc);
    assert_int_equal(rc, RELHOST_EINVAL);
    assert_null(out);
}

static void test_unit_template_template__a_job_name_without_value_is_an_error_without_keep_job(
    void **state)
{
    int rc;
    char *out;
    (void)state;
    out = expand("{validation}", 0, &rc);
    assert_int_equal(rc, RELHOST_EINVAL);
    assert_null(out);
    assert_error_has("unknown placeholder {validation} in \"{validation}\"");
    out = expand("{bogus}", 0, &rc);
    assert_int_equal(rc, RELHOST_EINVAL);
    assert_null(out);
    assert_error_has("unknown placeholder {bogus} in \"{bogus}\"");
}

static void test_unit_template_template__expand_reports_syntax_errors_and_returns_null(void **state)
{
    int rc;
    char *out;
    (void)state;
    template_set("version", "1");
    out = expand("{version", 0, &rc);
    assert_int_equal(rc, RELHOST_EINVAL);
    assert_null(out);
    assert_error_has("unclosed '{' in template \"{version\"");
    out = expand("x{}", 1, &rc);
    assert_int_equal(rc, RELHOST_EINVAL);
    assert_null(out);
    assert_error_has("bad placeholder in template \"x{}\"");
}

static void test_unit_template_template__a_value_is_not_expanded_again(void **state)
{
    (void)state;
    template_set("step", "{version}");
    template_set("version", "1");
    assert_expands("{step}", 0, "{version}");
    template_set("rc", "{{");
    assert_expands("{rc}", 0, "{{");
}

int main(void)
{
#define T(name) cmocka_unit_test_teardown(name, teardown)
    const struct CMUnitTest tests[] = {
        T(test_unit_template_template__set_value_replace_and_unset),
        T(test_unit_template_template__the_name_is_copied),
        T(test_unit_template_template__known_names_are_run_job_and_extra),
        T(test_unit_template_template__check_accepts_known_placeholders_and_escapes),
        T(test_unit_template_template__check_names_an_unknown_placeholder_and_the_legal_ones),
        T(test_unit_template_template__check_refuses_unclosed_empty_and_overlong_braces),
        T(test_unit_template_template__expand_substitutes_run_values),
        T(test_unit_template_template__escapes_are_literal_braces),
        T(test_unit_template_template__call_site_variables_win_over_run_values),
        T(test_unit_template_template__keep_job_leaves_job_level_names_as_written),
        T(test_unit_template_template__a_run_name_without_value_is_an_error_even_with_keep_job),
        T(test_unit_template_template__a_job_name_without_value_is_an_error_without_keep_job),
        T(test_unit_template_template__expand_reports_syntax_errors_and_returns_null),
        T(test_unit_template_template__a_value_is_not_expanded_again),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
