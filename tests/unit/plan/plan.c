/* SPDX-License-Identifier: MIT */
/* tests/unit/plan/plan.c - core/plan/plan.c's plan_parse: a plan file (written to a temp folder)
 * into a plan, with no state, git, plugin or template touched: defaults, every core key, --set, an
 * unknown top-level key, wrong types, keys that need repo, plugin_path as string or list,
 * libconfig syntax errors and integer literals libconfig would wrap; and plan_version_valid /
 * plan_name_valid. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/error.h"
#include "base/util.h"
#include "plan/plan.h"
#include "plan/plan_int.h"
#include "plan/template.h"
#include "registry/fsutil.h"

#include <relhost/plugin.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *dir; /* a fresh folder per test, removed by teardown */
static plan p;

static int setup(void **unused)
{
    const char *base = getenv("RELHOST_TEST_TMP");
    (void)unused;
    base = base && *base ? base : "/tmp";
    path_mkdirs(base);
    dir = xasprintf("%s/plan-XXXXXX", base);
    if (!mkdtemp(dir))
        return -1;
    memset(&p, 0, sizeof p);
    return 0;
}

static int teardown(void **unused)
{
    (void)unused;
    plan_free(&p);
    options_forget_marks();
    template_reset();
    error_clear();
    fs_remove_tree(dir);
    free(dir);
    return 0;
}

static char *in_dir(const char *name) { return xasprintf("%s/%s", dir, name); }

static void write_file(const char *name, const char *text)
{
    char *path = in_dir(name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    free(path);
}

/* Write text as <dir>/release.cfg and plan_parse it with --set values sets (or NULL). */
static int parse_sets(const char *text, const char *const *sets)
{
    char *path = in_dir("release.cfg");
    plan_options o = {0};
    int rc;
    write_file("release.cfg", text);
    o.path = path;
    o.sets = sets;
    plan_free(&p);
    rc = plan_parse(&o, &p);
    free(path);
    return rc;
}

static int parse(const char *text) { return parse_sets(text, NULL); }

static void assert_error_has(const char *needle)
{
    const char *e = error_last();
    assert_non_null(e);
    if (!strstr(e, needle))
        fail_msg("error \"%s\" lacks \"%s\"", e, needle);
}

/* The error starts with "<dir>/release.cfg:<line>: ". */
static void assert_error_at(int line)
{
    char *want = xasprintf("%s/release.cfg:%d: ", dir, line);
    const char *e = error_last();
    assert_non_null(e);
    if (strncmp(e, want, strlen(want)) != 0)
        fail_msg("error \"%s\" does not start with \"%s\"", e, want);
    free(want);
}

static void assert_in_dir(const char *got, const char *rel)
{
    char *want = in_dir(rel);
    assert_non_null(got);
    assert_string_equal(got, want);
    free(want);
}

/* ---- plan_parse: values --------------------------------------------------------------------- */

static void test_unit_plan_plan__an_empty_plan_gets_the_defaults(void **state)
{
    (void)state;
    assert_int_equal(parse("# nothing but a comment\n"), 0);
    assert_in_dir(p.path, "release.cfg");
    assert_string_equal(p.dir, dir);
    assert_string_equal(p.name, "release"); /* the file's stem */
    assert_null(p.version);                 /* decided by plan_open, not parse */
    assert_string_equal(p.keys.version, "auto");
    assert_in_dir(p.state_dir, ".relhost/state");
    assert_in_dir(p.log_dir, ".relhost/logs");
    assert_in_dir(p.registry_dir, ".relhost/registry");
    assert_in_dir(p.baseline_path, ".relhost/state/baseline.json");
    assert_string_equal(p.state_dir_where, "the default state_dir");
    assert_string_equal(p.log_dir_where, "the default log_dir");
    assert_int_equal(p.max_defers, 3);
    assert_true(p.defer_deadline == 0);
    assert_int_equal(p.checkout_worktree, 0);
    assert_int_equal(p.keys.checkout, PLAN_CHECKOUT_HEAD);
    assert_int_equal(p.require_baseline, 0);
    assert_null(p.repo);
    assert_null(p.ref);
    assert_null(p.commit);
    assert_null(p.monitor_profile);
    assert_int_equal(p.keys.plugin_path.n, 0);
    assert_int_equal(p.nsteps, 0); /* instances are plan_open's */
    assert_non_null(p.hash);
    assert_int_equal(strlen(p.hash), 16);
}

static void test_unit_plan_plan__every_core_key_is_read(void **state)
{
    (void)state;
    assert_int_equal(parse("name = \"nightly\";\nversion = \"1.2.3\";\n"
                           "state_dir = \"st\";\nlog_dir = \"/var/tmp/rh-logs\";\n"
                           "plugin_path = [\"pl\", \"/opt/pl\"];\nrepo = \"src\";\n"
                           "ref = \"main\";\ncheckout = \"worktree\";\nmax_defers = 0;\n"
                           "defer_deadline = \"1h30m\";\nregistry_dir = \"reg\";\n"
                           "baseline = \"base/b.json\";\nrequire_baseline = true;\n"
                           "monitor_profile = \"smoke\";\n"
                           "steps = ( { name = \"a\"; plugin = \"command\"; } );\n"),
                     0);
    assert_string_equal(p.name, "nightly");
    assert_string_equal(p.keys.version, "1.2.3");
    assert_in_dir(p.state_dir, "st");
    assert_string_equal(p.log_dir, "/var/tmp/rh-logs");
    assert_int_equal(p.keys.plugin_path.n, 2);
    assert_in_dir(p.keys.plugin_path.v[0], "pl");
    assert_string_equal(p.keys.plugin_path.v[1], "/opt/pl");
    assert_true(p.plugin_path.n >= 2); /* then the default folders */
    assert_in_dir(p.plugin_path.v[0], "pl");
    assert_string_equal(p.plugin_path.v[1], "/opt/pl");
    assert_in_dir(p.repo, "src");
    assert_string_equal(p.ref, "main"); /* a ref is not a path */
    assert_int_equal(p.checkout_worktree, 1);
    assert_int_equal(p.max_defers, 0);
    assert_true(p.defer_deadline == 5400.0);
    assert_in_dir(p.registry_dir, "reg");
    assert_in_dir(p.baseline_path, "base/b.json");
    assert_int_equal(p.require_baseline, 1);
    assert_string_equal(p.monitor_profile, "smoke");
    {
        char *want = xasprintf("%s/release.cfg:3", dir);
        assert_string_equal(p.state_dir_where, want);
        free(want);
    }
}

static void test_unit_plan_plan__plugin_path_may_be_one_string(void **state)
{
    (void)state;
    assert_int_equal(parse("plugin_path = \"plugins\";\n"), 0);
    assert_int_equal(p.keys.plugin_path.n, 1);
    assert_in_dir(p.keys.plugin_path.v[0], "plugins");
    assert_in_dir(p.plugin_path.v[0], "plugins");
    assert_int_equal(parse("plugin_path = 3;\n"), RELHOST_EINVAL);
    assert_error_at(1);
    assert_error_has("plan: 'plugin_path' must be a list of strings");
}

static void test_unit_plan_plan__set_overrides_and_adds_values(void **state)
{
    static const char *const sets[] = {"max_defers=7", "version=2.0", "require_baseline=true",
                                       "state_dir=other", NULL};
    (void)state;
    assert_int_equal(parse_sets("max_defers = 1;\nversion = \"1.0\";\n", sets), 0);
    assert_int_equal(p.max_defers, 7);
    assert_string_equal(p.keys.version, "2.0");
    assert_int_equal(p.require_baseline, 1);
    assert_in_dir(p.state_dir, "other");
    assert_string_equal(p.state_dir_where, "--set state_dir=other");
}

static void test_unit_plan_plan__set_changes_the_hash(void **state)
{
    static const char *const sets[] = {"max_defers=2", NULL};
    char *h1;
    (void)state;
    assert_int_equal(parse("max_defers = 1;\n"), 0);
    h1 = xstrdup(p.hash);
    assert_int_equal(parse("max_defers = 1;\n"), 0);
    assert_string_equal(p.hash, h1); /* the same bytes, the same hash */
    assert_int_equal(parse_sets("max_defers = 1;\n", sets), 0);
    assert_string_not_equal(p.hash, h1);
    free(h1);
}

static void test_unit_plan_plan__a_bad_set_is_named(void **state)
{
    static const char *const no_eq[] = {"max_defers", NULL};
    static const char *const no_path[] = {"nosuch.key=1", NULL};
    static const char *const wrong[] = {"max_defers=x", NULL};
    static const char *const group[] = {"grp=1", NULL};
    (void)state;
    assert_int_equal(parse_sets("", no_eq), RELHOST_EINVAL);
    assert_error_has("--set max_defers: expected KEY.PATH=VALUE");
    assert_int_equal(parse_sets("", no_path), RELHOST_EINVAL);
    assert_error_has("--set nosuch.key=1: the plan has no 'nosuch' on that path");
    assert_int_equal(parse_sets("", wrong), RELHOST_EINVAL);
    assert_error_has("--set max_defers=x: plan: 'max_defers' must be an integer");
    assert_int_equal(parse_sets("grp = { a = 1; };\n", group), RELHOST_EINVAL);
    assert_error_has("--set grp=1: 'grp' is a group or list; set one of its values");
}

/* Found by tests/fuzz (fuzz_plan_parse): libconfig's scanner exit()ed on a folder. */
static void test_unit_plan_plan__an_include_or_plan_that_is_no_regular_file_is_an_error(
    void **state)
{
    char *sub = in_dir("sub");
    (void)state;
    assert_int_equal(mkdir(sub, 0700), 0);
    assert_int_equal(parse("name = \"x\";\n@include \"\"\n"), RELHOST_EINVAL);
    assert_error_has("release.cfg:2: @include \"\": ");
    assert_error_has(" is not a regular file");
    assert_int_equal(parse("@include \"sub\"\n"), RELHOST_EINVAL);
    assert_error_has("release.cfg:1: @include \"sub\": ");
    assert_int_equal(parse("@include \"/dev/zero\"\n"), RELHOST_EINVAL);
    assert_error_has("@include \"/dev/zero\": /dev/zero is not a regular file");
    plan_options o = {0};
    o.path = sub;
    plan_free(&p);
    assert_int_equal(plan_parse(&o, &p), RELHOST_EINVAL);
    assert_error_has("/sub is not a regular file");
    free(sub);
}

/* Found by tests/fuzz (fuzz_plan_parse): a name libconfig will not add used to crash relhost. */
static void test_unit_plan_plan__a_set_of_a_name_libconfig_refuses_is_an_error_not_a_crash(
    void **state)
{
    static const char *const number[] = {"bad key=1.5", NULL};
    static const char *const integer[] = {"grp.9lives=1", NULL};
    static const char *const boolean[] = {"a+b=true", NULL};
    static const char *const text[] = {"a b=on", NULL};
    static const char *const dots[] = {"..=1", NULL};
    (void)state;
    assert_int_equal(parse_sets("", number), RELHOST_EINVAL);
    assert_error_has("--set bad key=1.5: 'bad key' is not a valid key name (a letter or '*', then "
                     "letters, digits, '_', '-' or '*')");
    assert_int_equal(parse_sets("grp = { a = 1; };\n", integer), RELHOST_EINVAL);
    assert_error_has("--set grp.9lives=1: '9lives' is not a valid key name");
    assert_int_equal(parse_sets("", boolean), RELHOST_EINVAL);
    assert_error_has("--set a+b=true: 'a+b' is not a valid key name");
    assert_int_equal(parse_sets("", text), RELHOST_EINVAL);
    assert_error_has("--set a b=on: 'a b' is not a valid key name");
    assert_int_equal(parse_sets("", dots), RELHOST_EINVAL);
    assert_error_has("--set ..=1: expected KEY.PATH=VALUE");
}

/* ---- plan_parse: errors --------------------------------------------------------------------- */

static void test_unit_plan_plan__an_unknown_top_level_key_lists_the_allowed_ones(void **state)
{
    (void)state;
    assert_int_equal(parse("name = \"x\";\nstate_dri = \"s\";\n"), RELHOST_EINVAL);
    assert_error_at(2);
    assert_error_has(
        "unknown plan key 'state_dri' (did you mean 'state_dir'?); allowed at top "
        "level: name, version, "
        "state_dir, log_dir, plugin_path, repo, ref, checkout, max_defers, "
        "defer_deadline, progress_interval, state_commit_window, registry_dir, baseline, require_baseline, monitor_profile, "
        "runners, metrics, steps, profiles, on_promote, on_rollback");
}

static void test_unit_plan_plan__wrong_types_are_named_with_file_and_line(void **state)
{
    (void)state;
    assert_int_equal(parse("\nmax_defers = \"x\";\n"), RELHOST_EINVAL);
    assert_error_at(2);
    assert_error_has("plan: 'max_defers' must be an integer");
    assert_int_equal(parse("repo = \"r\";\ncheckout = \"nope\";\n"), RELHOST_EINVAL);
    assert_error_at(2);
    assert_error_has("plan: 'checkout' must be one of: head, worktree");
    assert_int_equal(parse("require_baseline = 1;\n"), RELHOST_EINVAL);
    assert_error_at(1);
    assert_error_has("plan: 'require_baseline' must be true or false");
    assert_int_equal(parse("max_defers = 1001;\n"), RELHOST_EINVAL);
    assert_error_has("'max_defers' is 1001, outside 0..1000");
    assert_int_equal(parse("defer_deadline = \"soon\";\n"), RELHOST_EINVAL);
    assert_error_has("'defer_deadline' \"soon\" is not a duration");
    assert_int_equal(parse("name = 5;\n"), RELHOST_EINVAL);
    assert_error_has("plan: 'name' must be a string");
}

static void test_unit_plan_plan__ref_and_checkout_need_repo(void **state)
{
    (void)state;
    assert_int_equal(parse("\nref = \"main\";\n"), RELHOST_EINVAL);
    assert_error_at(2);
    assert_error_has("'ref' needs 'repo' (the repository it names a commit of)");
    assert_int_equal(parse("\n\ncheckout = \"head\";\n"), RELHOST_EINVAL);
    assert_error_at(3);
    assert_error_has("'checkout' needs 'repo'");
    assert_int_equal(parse("repo = \"r\";\ncheckout = \"head\";\nref = \"v1\";\n"), 0);
    assert_int_equal(p.checkout_worktree, 0);
}

static void test_unit_plan_plan__a_syntax_error_names_file_and_line(void **state)
{
    (void)state;
    assert_int_equal(parse("name = \"x\";\n\nmax_defers = ;\n"), RELHOST_EINVAL);
    assert_error_at(3);
    assert_error_has("(libconfig syntax; see relhost.cfg(5))");
}

static void test_unit_plan_plan__a_missing_file_is_an_error(void **state)
{
    char *path = in_dir("absent.cfg");
    plan_options o = {0};
    (void)state;
    o.path = path;
    assert_int_equal(plan_parse(&o, &p), RELHOST_EINVAL);
    assert_error_has("cannot read plan ");
    assert_error_has("absent.cfg: No such file or directory");
    free(path);
}

static void test_unit_plan_plan__integers_that_would_wrap_are_refused(void **state)
{
    (void)state;
    assert_int_equal(parse("name = \"x\";\nmax_defers = 4294967299;\n"), RELHOST_EINVAL);
    assert_error_at(2);
    assert_error_has("integer 4294967299 does not fit in 32 bits, and libconfig would silently "
                     "wrap it; write it with an L suffix (4294967299L) or as a string");
    assert_int_equal(parse("max_defers = 0x100000000;\n"), RELHOST_EINVAL);
    assert_error_has("integer 0x100000000 does not fit in 32 bits");
    assert_int_equal(parse("max_defers = 2147483648;\n"), RELHOST_EINVAL);
    assert_error_has("integer 2147483648 does not fit");
}

static void test_unit_plan_plan__literals_that_fit_or_are_not_integers_pass(void **state)
{
    (void)state;
    /* INT32_MIN fits; 64-bit literals, floats, strings, comments and names with digits pass */
    assert_int_equal(parse("steps = ( { name = \"build-2025123456789\"; a = -2147483648;\n"
                           "b = 5000000000L; c = 1.5e12; d = \"99999999999\"; } );\n"
                           "# 99999999999 in a comment\n/* 88888888888 */\n"
                           "// 77777777777\nmax_defers = 2;\n"),
                     0);
    assert_int_equal(p.max_defers, 2);
}

static void test_unit_plan_plan__wrapping_literals_in_an_include_are_refused(void **state)
{
    char *want;
    (void)state;
    write_file("inc.cfg", "\n\nbig = 9999999999;\n");
    assert_int_equal(parse("steps = ( {\n@include \"inc.cfg\"\n} );\n"), RELHOST_EINVAL);
    want = xasprintf("%s/inc.cfg:3: integer 9999999999", dir);
    assert_error_has(want);
    free(want);
}

static void test_unit_plan_plan__a_line_count_survives_strings_and_block_comments(void **state)
{
    (void)state;
    assert_int_equal(parse("name = \"a\\\"b\";\n/* one\n two\n*/\nversion = \"x\";\n"
                           "max_defers = 3000000000;\n"),
                     RELHOST_EINVAL);
    assert_error_at(6);
}

/* ---- names and versions --------------------------------------------------------------------- */

static void test_unit_plan_plan__version_valid_edge_cases(void **state)
{
    static const char *const ok[] = {"1",   "a",    "1.0",      "2025.01.02-0304", "v1_rc-2",
                                     "Z.z", "lock", "1.locked", "a.lockx"};
    static const char *const bad[] = {"",    ".1",  "-1",   "_1",    "1..2", "1.lock",
                                      "a/b", "a b", "1.0~", "rel\n", "é"};
    char longest[65], toolong[66];
    (void)state;
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++)
        if (!plan_version_valid(ok[i]))
            fail_msg("version \"%s\" refused", ok[i]);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        if (plan_version_valid(bad[i]))
            fail_msg("version \"%s\" accepted", bad[i]);
    memset(longest, 'a', 64);
    longest[64] = '\0';
    assert_true(plan_version_valid(longest));
    memset(toolong, 'a', 65);
    toolong[65] = '\0';
    assert_false(plan_version_valid(toolong));
}

static void test_unit_plan_plan__auto_version_is_a_valid_utc_stamp(void **state)
{
    char buf[48];
    (void)state;
    plan_auto_version(buf, sizeof buf);
    assert_int_equal(strlen(buf), 15); /* YYYY.MM.DD-HHMM */
    assert_int_equal(buf[4], '.');
    assert_int_equal(buf[7], '.');
    assert_int_equal(buf[10], '-');
    assert_true(plan_version_valid(buf));
}

static void test_unit_plan_plan__name_valid_edge_cases(void **state)
{
    static const char *const ok[] = {"a", "7", "bug-check", "a_b", "a.b", "A9", "x-"};
    static const char *const bad[] = {"", "-a", "_a", ".a", "a b", "a/b", "a:b", "a{b}", "ä"};
    (void)state;
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++)
        if (!plan_name_valid(ok[i]))
            fail_msg("name \"%s\" refused", ok[i]);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        if (plan_name_valid(bad[i]))
            fail_msg("name \"%s\" accepted", bad[i]);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_unit_plan_plan__an_empty_plan_gets_the_defaults),
        T(test_unit_plan_plan__every_core_key_is_read),
        T(test_unit_plan_plan__plugin_path_may_be_one_string),
        T(test_unit_plan_plan__set_overrides_and_adds_values),
        T(test_unit_plan_plan__set_changes_the_hash),
        T(test_unit_plan_plan__a_bad_set_is_named),
        T(test_unit_plan_plan__a_set_of_a_name_libconfig_refuses_is_an_error_not_a_crash),
        T(test_unit_plan_plan__an_include_or_plan_that_is_no_regular_file_is_an_error),
        T(test_unit_plan_plan__an_unknown_top_level_key_lists_the_allowed_ones),
        T(test_unit_plan_plan__wrong_types_are_named_with_file_and_line),
        T(test_unit_plan_plan__ref_and_checkout_need_repo),
        T(test_unit_plan_plan__a_syntax_error_names_file_and_line),
        T(test_unit_plan_plan__a_missing_file_is_an_error),
        T(test_unit_plan_plan__integers_that_would_wrap_are_refused),
        T(test_unit_plan_plan__literals_that_fit_or_are_not_integers_pass),
        T(test_unit_plan_plan__wrapping_literals_in_an_include_are_refused),
        T(test_unit_plan_plan__a_line_count_survives_strings_and_block_comments),
        T(test_unit_plan_plan__version_valid_edge_cases),
        T(test_unit_plan_plan__auto_version_is_a_valid_utc_stamp),
        T(test_unit_plan_plan__name_valid_edge_cases),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
