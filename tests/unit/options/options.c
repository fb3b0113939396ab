/* SPDX-License-Identifier: MIT */
/* tests/unit/options/options.c - core/plan/options.c: options_fill on a small synthetic option
 * table holding every type (STRING, INT with bounds, BOOL, DOUBLE, SIZE, DURATION, ENUM, STRLIST,
 * SECRET_ENV, GROUP, GROUP_LIST, MAP), defaults, required and unknown keys, the pass_env rule,
 * where a value came from (options_where_of, optstore_where, --set marks), and the size and
 * duration parsers. Plans are written to files so that errors carry file:line. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/error.h"
#include "base/secrets.h"
#include "base/util.h"
#include "plan/options.h"
#include "plan/template.h"
#include "registry/fsutil.h"

#include <relhost/plugin.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct sub_conf {
    const char *host;
    int64_t port;
} sub_conf;

typedef struct item_conf {
    const char *name;
    double weight;
} item_conf;

typedef struct conf {
    const char *s;
    int64_t i;
    int b;
    double d;
    uint64_t size;
    double dur;
    int e;
    relhost_strlist list;
    const char *secret;
    sub_conf grp;
    relhost_list items;
    relhost_map env;
    relhost_strlist pass_env;
    const char *path;
    const char *req;
} conf;

#define O(m) offsetof(conf, m)

static const char *const colours[] = {"red", "green", "blue", NULL};

static const relhost_option sub_rows[] = {
    {.name = "host",
     .type = RELHOST_OPT_STRING,
     .def = "localhost",
     .offset = offsetof(sub_conf, host)},
    {.name = "port",
     .type = RELHOST_OPT_INT,
     .def = "80",
     .offset = offsetof(sub_conf, port),
     .min = 1,
     .max = 65535},
    {0},
};

static const relhost_option item_rows[] = {
    {.name = "name",
     .type = RELHOST_OPT_STRING,
     .required = 1,
     .offset = offsetof(item_conf, name)},
    {.name = "weight",
     .type = RELHOST_OPT_DOUBLE,
     .def = "1.5",
     .offset = offsetof(item_conf, weight)},
    {0},
};

static const relhost_option rows[] = {
    {.name = "s", .type = RELHOST_OPT_STRING, .def = "dflt", .offset = O(s)},
    {.name = "i", .type = RELHOST_OPT_INT, .def = "7", .offset = O(i), .min = -5, .max = 100},
    {.name = "b", .type = RELHOST_OPT_BOOL, .def = "true", .offset = O(b)},
    {.name = "d", .type = RELHOST_OPT_DOUBLE, .def = "0.25", .offset = O(d), .min = 0, .max = 1},
    {.name = "size", .type = RELHOST_OPT_SIZE, .def = "1K", .offset = O(size)},
    {.name = "dur", .type = RELHOST_OPT_DURATION, .def = "10m", .offset = O(dur)},
    {.name = "e", .type = RELHOST_OPT_ENUM, .def = "green", .offset = O(e), .choices = colours},
    {.name = "list", .type = RELHOST_OPT_STRLIST, .def = "max,last", .offset = O(list)},
    {.name = "secret", .type = RELHOST_OPT_SECRET_ENV, .offset = O(secret)},
    {.name = "grp", .type = RELHOST_OPT_GROUP, .offset = O(grp), .sub = sub_rows},
    {.name = "items",
     .type = RELHOST_OPT_GROUP_LIST,
     .offset = O(items),
     .sub = item_rows,
     .item_size = sizeof(item_conf)},
    {.name = "env", .type = RELHOST_OPT_MAP, .offset = O(env)},
    {.name = "pass_env", .type = RELHOST_OPT_STRLIST, .offset = O(pass_env)},
    {.name = "path", .type = RELHOST_OPT_STRING, .offset = O(path), .flags = RELHOST_OPTF_PATH},
    {0},
};

static const relhost_option req_rows[] = {
    {.name = "req",
     .type = RELHOST_OPT_STRING,
     .required = 1,
     .offset = O(req),
     .doc = "must be given"},
    {0},
};

static relhost_plugin make_desc(const relhost_option *opts)
{
    relhost_plugin d = {.abi_major = RELHOST_ABI_MAJOR,
                        .abi_minor = RELHOST_ABI_MINOR,
                        .struct_size = sizeof(relhost_plugin),
                        .name = "synthetic",
                        .options = opts,
                        .option_size = sizeof(relhost_option),
                        .conf_size = sizeof(conf)};
    return d;
}

/* ---- fixture: one temp folder, one parsed file, one store per test ------------------------ */

static char *dir, *file;
static config_t cfg;
static int cfg_live;
static optstore *st;
static conf c;

static int setup(void **unused)
{
    const char *base = getenv("RELHOST_TEST_TMP");
    (void)unused;
    base = base && *base ? base : "/tmp";
    path_mkdirs(base);
    dir = xasprintf("%s/options-XXXXXX", base);
    if (!mkdtemp(dir))
        return -1;
    file = xasprintf("%s/plan.cfg", dir);
    memset(&c, 0, sizeof c);
    return 0;
}

static int teardown(void **unused)
{
    (void)unused;
    optstore_free(st);
    st = NULL;
    if (cfg_live)
        config_destroy(&cfg);
    cfg_live = 0;
    options_forget_marks();
    options_require_pass_env(0);
    secrets_clear();
    template_reset();
    fs_remove_tree(dir);
    free(dir);
    free(file);
    return 0;
}

/* Write text as plan.cfg and fill conf c from its root group with the table opts. */
static int fill_with(const relhost_option *opts, const char *text)
{
    relhost_plugin d = make_desc(opts);
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    config_init(&cfg);
    config_set_include_dir(&cfg, dir);
    cfg_live = 1;
    if (!config_read_file(&cfg, file))
        fail_msg("libconfig: %s:%d", config_error_text(&cfg), config_error_line(&cfg));
    return options_fill(&d, &c, config_root_setting(&cfg), NULL, "step \"t\"", dir, &st);
}

static int fill(const char *text) { return fill_with(rows, text); }

static void assert_error_has(const char *needle)
{
    const char *e = error_last();
    assert_non_null(e);
    if (!strstr(e, needle))
        fail_msg("error \"%s\" lacks \"%s\"", e, needle);
}

/* The error starts with "<file>:<line>: step \"t\": '<key>' ". */
static void assert_error_at(int line, const char *key)
{
    char *want = xasprintf("%s:%d: step \"t\": '%s' ", file, line, key);
    const char *e = error_last();
    assert_non_null(e);
    if (strncmp(e, want, strlen(want)) != 0)
        fail_msg("error \"%s\" does not start with \"%s\"", e, want);
    free(want);
}

/* ---- defaults and values -------------------------------------------------------------------- */

static void test_unit_options_options__an_empty_group_gets_every_default(void **state)
{
    (void)state;
    assert_int_equal(fill(""), 0);
    assert_string_equal(c.s, "dflt");
    assert_int_equal(c.i, 7);
    assert_int_equal(c.b, 1);
    assert_true(c.d == 0.25);
    assert_int_equal(c.size, 1024);
    assert_true(c.dur == 600.0);
    assert_int_equal(c.e, 1);
    assert_int_equal(c.list.n, 2);
    assert_string_equal(c.list.v[0], "max");
    assert_string_equal(c.list.v[1], "last");
    assert_null(c.list.v[2]);
    assert_null(c.secret);
    assert_string_equal(c.grp.host, "localhost"); /* an absent group still gets its defaults */
    assert_int_equal(c.grp.port, 80);
    assert_int_equal(c.items.n, 0);
    assert_int_equal(c.env.n, 0);
    assert_null(c.path);
    assert_null(optstore_where(st, &c.s)); /* a default has no file:line */
}

static void test_unit_options_options__every_type_is_filled_from_the_plan(void **state)
{
    (void)state;
    assert_int_equal(fill("s = \"hello\";\ni = -5;\nb = false;\nd = 1;\nsize = \"64M\";\n"
                          "dur = \"1h30m\";\ne = \"blue\";\nlist = [\"a\", \"b\", \"c\"];\n"
                          "grp = { host = \"h\"; port = 8080; };\n"
                          "items = ( { name = \"x\"; }, { name = \"y\"; weight = 2.5; } );\n"
                          "env = { A = \"1\"; N = 42; F = 0.5; T = true; };\n"
                          "path = \"sub/file.txt\";\n"),
                     0);
    assert_string_equal(c.s, "hello");
    assert_int_equal(c.i, -5);
    assert_int_equal(c.b, 0);
    assert_true(c.d == 1.0); /* an integer coerced to a double */
    assert_int_equal(c.size, 64ull * 1024 * 1024);
    assert_true(c.dur == 5400.0);
    assert_int_equal(c.e, 2);
    assert_int_equal(c.list.n, 3);
    assert_string_equal(c.list.v[2], "c");
    assert_string_equal(c.grp.host, "h");
    assert_int_equal(c.grp.port, 8080);
    assert_int_equal(c.items.n, 2);
    assert_string_equal(((item_conf *)c.items.items)[0].name, "x");
    assert_true(((item_conf *)c.items.items)[0].weight == 1.5);
    assert_string_equal(((item_conf *)c.items.items)[1].name, "y");
    assert_true(((item_conf *)c.items.items)[1].weight == 2.5);
    assert_int_equal(c.env.n, 4);
    assert_string_equal(c.env.keys[0], "A");
    assert_string_equal(c.env.values[0], "1");
    assert_string_equal(c.env.values[1], "42");
    assert_string_equal(c.env.values[2], "0.5");
    assert_string_equal(c.env.values[3], "true");
    {
        char *want = xasprintf("%s/sub/file.txt", dir);
        assert_string_equal(c.path, want);
        free(want);
    }
}

static void test_unit_options_options__numbers_as_plain_numbers_and_absolute_paths(void **state)
{
    (void)state;
    assert_int_equal(fill("size = 4096;\ndur = 90;\npath = \"/abs/p\";\nlist = \"only\";\n"), 0);
    assert_int_equal(c.size, 4096);
    assert_true(c.dur == 90.0);
    assert_string_equal(c.path, "/abs/p");
    assert_int_equal(c.list.n, 1); /* a single string is a list of one */
    assert_string_equal(c.list.v[0], "only");
    assert_null(c.list.v[1]);
}

/* ---- errors --------------------------------------------------------------------------------- */

static void test_unit_options_options__an_unknown_key_lists_the_allowed_ones(void **state)
{
    (void)state;
    assert_int_equal(fill("s = \"x\";\nsz = 1;\n"), RELHOST_EINVAL);
    assert_error_at(2, "sz");
    assert_error_has("is not a known key; allowed: s, i, b, d, size, dur, e, list, secret, grp, "
                     "items, env, pass_env, path");
}

static void test_unit_options_options__reserved_keys_are_skipped_and_listed(void **state)
{
    static const char *const reserved[] = {"plugin", NULL};
    relhost_plugin d = make_desc(req_rows);
    (void)state;
    config_init(&cfg);
    cfg_live = 1;
    assert_non_null(config_read_string(&cfg, "plugin = \"p\"; req = \"r\";"));
    assert_int_equal(options_fill(&d, &c, config_root_setting(&cfg), reserved, "x", NULL, &st), 0);
    assert_string_equal(c.req, "r");
    optstore_free(st);
    st = NULL;
    assert_int_equal(options_fill(&d, &c, config_root_setting(&cfg), NULL, "x", NULL, &st),
                     RELHOST_EINVAL);
    assert_error_has("'plugin' is not a known key; allowed: req");
}

static void test_unit_options_options__a_missing_required_key_is_named_with_its_doc(void **state)
{
    (void)state;
    assert_int_equal(fill_with(req_rows, "\n"), RELHOST_EINVAL);
    assert_error_has("step \"t\": 'req' is required (string: must be given)");
    teardown(NULL);
    setup(NULL);
    assert_int_equal(fill("items = ( { weight = 1.0; } );\n"), RELHOST_EINVAL);
    assert_error_has("'name' is required (string: )");
}

static void test_unit_options_options__wrong_types_are_refused_with_file_and_line(void **state)
{
    static const struct {
        const char *text, *key, *msg;
    } cases[] = {
        {"s = 1;", "s", "must be a string (string)"},
        {"i = 1.5;", "i", "must be an integer"},
        {"i = \"3\";", "i", "must be an integer"},
        {"b = 1;", "b", "must be true or false"},
        {"d = \"x\";", "d", "must be a number"},
        {"size = true;", "size", "must be a size like \"64M\" or a number of bytes"},
        {"size = \"64Q\";", "size", "\"64Q\" is not a size (like 512K, 64M, 2G)"},
        {"size = -1;", "size", "must not be negative"},
        {"dur = \"soon\";", "dur", "\"soon\" is not a duration"},
        {"dur = -3;", "dur", "must not be negative"},
        {"dur = [1];", "dur", "must be a duration like \"10m\" or a number of seconds"},
        {"e = \"purple\";", "e", "must be one of: red, green, blue"},
        {"e = 1;", "e", "must be one of: red, green, blue"},
        {"list = 3;", "list", "must be a list of strings"},
        {"grp = 1;", "grp", "must be a group { ... }"},
        {"items = 1;", "items", "must be a list of groups"},
        {"env = [\"a\"];", "env", "must be a group like { NAME = \"value\"; }"},
    };
    (void)state;
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        char *text = xasprintf("\n%s\n", cases[k].text);
        int rc = fill(text);
        free(text);
        if (rc != RELHOST_EINVAL)
            fail_msg("\"%s\" was accepted", cases[k].text);
        assert_error_at(2, cases[k].key);
        assert_error_has(cases[k].msg);
        teardown(NULL);
        setup(NULL);
    }
}

static void test_unit_options_options__bounds_are_inclusive_and_named(void **state)
{
    (void)state;
    assert_int_equal(fill("i = 100;\nd = 0.0;\n"), 0);
    assert_int_equal(c.i, 100);
    teardown(NULL);
    setup(NULL);
    assert_int_equal(fill("i = 101;\n"), RELHOST_EINVAL);
    assert_error_at(1, "i");
    assert_error_has("is 101, outside -5..100");
    teardown(NULL);
    setup(NULL);
    assert_int_equal(fill("i = -6;\n"), RELHOST_EINVAL);
    assert_error_has("is -6, outside -5..100");
    teardown(NULL);
    setup(NULL);
    assert_int_equal(fill("d = 1.5;\n"), RELHOST_EINVAL);
    assert_error_has("'d' is 1.5, outside 0..1");
    teardown(NULL);
    setup(NULL);
    assert_int_equal(fill("grp = { port = 0; };\n"), RELHOST_EINVAL);
    assert_error_has("'port' is 0, outside 1..65535");
}

static void test_unit_options_options__errors_inside_lists_and_groups_point_at_the_element(
    void **state)
{
    (void)state;
    assert_int_equal(fill("list = (\"a\",\n 1.5);\n"), RELHOST_EINVAL);
    assert_error_has("'list' element 2 must be a string");
    teardown(NULL);
    setup(NULL);
    assert_int_equal(fill("items = ( { name = \"a\"; },\n 3 );\n"), RELHOST_EINVAL);
    assert_error_has("'items' element 2 must be a group { ... }");
    teardown(NULL);
    setup(NULL);
    assert_int_equal(fill("grp = {\n bogus = 1; };\n"), RELHOST_EINVAL);
    assert_error_at(2, "bogus");
    assert_error_has("is not a known key; allowed: host, port");
}

/* ---- SECRET_ENV and pass_env ---------------------------------------------------------------- */

static void test_unit_options_options__secret_env_must_be_a_variable_name(void **state)
{
    (void)state;
    assert_int_equal(fill("secret = \"sk-live-1234567890\";\n"), RELHOST_EINVAL);
    assert_error_at(1, "secret");
    assert_error_has("must name an environment variable (like ASANA_TOKEN), never hold a secret");
    teardown(NULL);
    setup(NULL);
    assert_int_equal(fill("secret = \"1ABC\";\n"), RELHOST_EINVAL);
    teardown(NULL);
    setup(NULL);
    assert_int_equal(fill("secret = 5;\n"), RELHOST_EINVAL);
    assert_error_has("must be a string (env var name)");
}

static void test_unit_options_options__a_long_secret_env_value_is_sealed_and_masked(void **state)
{
    char *red;
    (void)state;
    setenv("RH_UT_OPT_TOKEN", "abcdefghijklmnop", 1);
    assert_int_equal(fill("secret = \"RH_UT_OPT_TOKEN\";\n"), 0);
    assert_string_equal(c.secret, "RH_UT_OPT_TOKEN"); /* the name, never the value */
    assert_true(secrets_sealed("RH_UT_OPT_TOKEN"));
    assert_true(secrets_count() >= 1);
    red = secrets_redact_dup("key=abcdefghijklmnop.");
    assert_string_equal(red, "key=" SECRETS_MASK ".");
    free(red);
    unsetenv("RH_UT_OPT_TOKEN");
}

static void test_unit_options_options__a_short_secret_env_value_is_refused_unprinted(void **state)
{
    (void)state;
    setenv("RH_UT_OPT_SHORT", "abc", 1);
    assert_int_equal(fill("secret = \"RH_UT_OPT_SHORT\";\n"), RELHOST_EINVAL);
    assert_error_at(1, "secret");
    assert_error_has("names environment variable RH_UT_OPT_SHORT, which holds fewer than 8 bytes");
    assert_null(strstr(error_last(), "abc\"")); /* the value itself is not in the message */
    assert_true(secrets_sealed("RH_UT_OPT_SHORT"));
    unsetenv("RH_UT_OPT_SHORT");
}

static void test_unit_options_options__an_unset_secret_env_is_accepted(void **state)
{
    (void)state;
    unsetenv("RH_UT_OPT_UNSET");
    assert_int_equal(fill("secret = \"RH_UT_OPT_UNSET\";\n"), 0);
    assert_string_equal(c.secret, "RH_UT_OPT_UNSET");
    assert_true(secrets_sealed("RH_UT_OPT_UNSET"));
}

static void test_unit_options_options__pass_env_entries_must_be_variable_names(void **state)
{
    (void)state;
    assert_int_equal(fill("pass_env = [\"OK_NAME\", \"bad-name\"];\n"), RELHOST_EINVAL);
    assert_error_at(1, "pass_env");
    assert_error_has("entry \"bad-name\" is not an environment variable name");
    teardown(NULL);
    setup(NULL);
    assert_int_equal(fill("pass_env = \"9LIVES\";\n"), RELHOST_EINVAL);
    assert_error_has("entry \"9LIVES\" is not an environment variable name");
}

static void test_unit_options_options__require_pass_env_refuses_an_unset_variable(void **state)
{
    (void)state;
    unsetenv("RH_UT_OPT_NOPE");
    assert_int_equal(fill("pass_env = [\"RH_UT_OPT_NOPE\"];\n"), 0); /* reports only read */
    teardown(NULL);
    setup(NULL);
    options_require_pass_env(1);
    assert_int_equal(fill("pass_env = [\"RH_UT_OPT_NOPE\"];\n"), RELHOST_EINVAL);
    assert_error_has("names RH_UT_OPT_NOPE, which is not set in relhost's environment; set it "
                     "(export RH_UT_OPT_NOPE=...) or remove it from pass_env");
    teardown(NULL);
    setup(NULL);
    options_require_pass_env(1);
    setenv("RH_UT_OPT_NOPE", "x", 1);
    assert_int_equal(fill("pass_env = [\"RH_UT_OPT_NOPE\"];\n"), 0);
    unsetenv("RH_UT_OPT_NOPE");
}

static void test_unit_options_options__pass_env_of_a_short_sealed_variable_is_refused(void **state)
{
    (void)state;
    setenv("RH_UT_OPT_PASSWORD", "short", 1);
    secrets_seal("RH_UT_OPT_PASSWORD");
    assert_int_equal(fill("pass_env = [\"RH_UT_OPT_PASSWORD\"];\n"), RELHOST_EINVAL);
    assert_error_has("hands over RH_UT_OPT_PASSWORD, which looks secret but holds fewer than 8 "
                     "bytes");
    teardown(NULL);
    setup(NULL);
    setenv("RH_UT_OPT_PASSWORD", "long-enough-value", 1);
    secrets_seal("RH_UT_OPT_PASSWORD");
    assert_int_equal(fill("pass_env = [\"RH_UT_OPT_PASSWORD\"];\n"), 0);
    unsetenv("RH_UT_OPT_PASSWORD");
}

static void test_unit_options_options__a_secret_literal_in_a_map_is_masked(void **state)
{
    char *red;
    (void)state;
    assert_int_equal(
        fill("env = { DB_PASSWORD = \"hunter2hunter2\"; PLAIN = \"visible-text\"; };\n"), 0);
    assert_int_equal(c.env.n, 2);
    red = secrets_redact_dup("hunter2hunter2 visible-text");
    assert_string_equal(red, SECRETS_MASK " visible-text");
    free(red);
}

/* ---- where a value came from ---------------------------------------------------------------- */

static void test_unit_options_options__optstore_where_names_file_and_line(void **state)
{
    char *want;
    (void)state;
    assert_int_equal(fill("\ns = \"x\";\n\n\ni = 3;\n"), 0);
    want = xasprintf("%s:2", file);
    assert_string_equal(optstore_where(st, &c.s), want);
    free(want);
    want = xasprintf("%s:5", file);
    assert_string_equal(optstore_where(st, &c.i), want);
    free(want);
    assert_null(optstore_where(st, &c.b)); /* defaulted */
    assert_null(optstore_where(NULL, &c.s));
    assert_int_equal(optstore_nrefs(st), 0);
    assert_int_equal(optstore_nrefs(NULL), 0);
}

/* Past OPT_WHERE_IN_BLOCKS values the store's where array moves to the heap and grows there:
 * every value still names its own line, and a text asked twice is the same text. */
static void test_unit_options_options__optstore_where_of_many_list_values(void **state)
{
    strbuf t;
    const item_conf *it;
    const char *first;
    char *want;
    (void)state;
    sb_init(&t);
    sb_puts(&t, "s = \"x\";\nitems = (\n");
    for (int k = 0; k < 300; k++)
        sb_printf(&t, "%s{ name = \"n%d\"; weight = 2.0; }\n", k ? "," : "", k);
    sb_puts(&t, ");\ni = 4;\n");
    assert_int_equal(fill(t.s), 0);
    sb_free(&t);
    assert_int_equal(c.items.n, 300);
    it = c.items.items;
    for (int k = 0; k < 300; k++) {
        want = xasprintf("%s:%d", file, 3 + k);
        assert_string_equal(optstore_where(st, &it[k].name), want);
        assert_string_equal(optstore_where(st, &it[k].weight), want);
        free(want);
    }
    want = xasprintf("%s:1", file);
    first = optstore_where(st, &c.s);
    assert_string_equal(first, want);
    assert_ptr_equal(optstore_where(st, &c.s), first);
    free(want);
    want = xasprintf("%s:304", file);
    assert_string_equal(optstore_where(st, &c.i), want);
    free(want);
}

static void test_unit_options_options__where_of_prefers_a_set_mark_and_resolves_includes(
    void **state)
{
    config_setting_t *s;
    char *w, *want, *inc = NULL;
    FILE *f;
    (void)state;
    inc = xasprintf("%s/inc.cfg", dir);
    f = fopen(inc, "w");
    assert_non_null(f);
    fputs("\ni = 9;\n", f);
    fclose(f);
    assert_int_equal(fill("s = \"x\";\n@include \"inc.cfg\"\n"), 0);
    s = config_lookup(&cfg, "s");
    w = options_where_of(s);
    want = xasprintf("%s:1", file);
    assert_string_equal(w, want);
    free(w);
    free(want);
    options_set_plan_dir(dir);
    w = options_where_of(config_lookup(&cfg, "i"));
    want = xasprintf("%s:2", inc);
    assert_string_equal(w, want);
    free(w);
    free(want);
    options_mark_set(s, "s=first");
    options_mark_set(s, "s=second"); /* a later --set of the same setting replaces the mark */
    w = options_where_of(s);
    assert_string_equal(w, "--set s=second");
    free(w);
    options_forget_marks();
    w = options_where_of(s);
    assert_string_equal(w + strlen(w) - 2, ":1");
    free(w);
    free(inc);
}

static void test_unit_options_options__where_of_a_setting_from_a_string_is_the_plan(void **state)
{
    char *w;
    (void)state;
    config_init(&cfg);
    cfg_live = 1;
    assert_non_null(config_read_string(&cfg, "a = 1;"));
    w = options_where_of(config_lookup(&cfg, "a"));
    assert_string_equal(w, "the plan");
    free(w);
}

static void test_unit_options_options__fill_defaults_and_fill_text(void **state)
{
    relhost_plugin d = make_desc(rows), r = make_desc(req_rows);
    (void)state;
    assert_int_equal(options_fill_defaults(&d, &c, &st), 0);
    assert_string_equal(c.s, "dflt");
    optstore_free(st);
    st = NULL;
    assert_int_equal(options_fill_defaults(&r, &c, &st), RELHOST_EINVAL);
    assert_error_has("synthetic: 'req' is required");
    optstore_free(st);
    st = NULL;
    memset(&c, 0, sizeof c);
    assert_int_equal(options_fill_text(&d, &c, "i = 12; e = \"red\";", &st), 0);
    assert_int_equal(c.i, 12);
    assert_int_equal(c.e, 0);
    optstore_free(st);
    st = NULL;
    assert_int_equal(options_fill_text(&d, &c, "i = ;", &st), RELHOST_EINVAL);
    assert_error_has("line 1: ");
}

/* ---- parsers -------------------------------------------------------------------------------- */

static void test_unit_options_options__parse_size_accepts_units_and_refuses_junk(void **state)
{
    static const struct {
        const char *s;
        uint64_t v;
    } ok[] = {
        {"0", 0},           {"512", 512},          {"1K", 1024},
        {"1k", 1024},       {"64M", 64ull << 20},  {"2G", 2ull << 30},
        {"1T", 1ull << 40}, {"1KiB", 1024},        {"1MB", 1ull << 20},
        {"1.5K", 1536},     {"10 M", 10ull << 20}, {"7B", 7},
    };
    static const char *const bad[] = {"", "x", "-1", "1Q", "1Kx", "inf", "nan", "1e30", "M"};
    (void)state;
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        uint64_t v = 99;
        if (options_parse_size(ok[i].s, &v) != 0 || v != ok[i].v)
            fail_msg("size \"%s\": %llu", ok[i].s, (unsigned long long)v);
    }
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        uint64_t v = 99;
        if (options_parse_size(bad[i], &v) != RELHOST_EINVAL || v != 99)
            fail_msg("size \"%s\" was accepted", bad[i]);
    }
}

static void test_unit_options_options__parse_duration_adds_parts_and_refuses_junk(void **state)
{
    static const struct {
        const char *s;
        double v;
    } ok[] = {
        {"0", 0},        {"90", 90},     {"90s", 90},     {"10m", 600},
        {"2h", 7200},    {"1d", 86400},  {"1h30m", 5400}, {"1d2h3m4s", 93784},
        {"250ms", 0.25}, {"1.5h", 5400}, {"1m30", -1},
    };
    static const char *const bad[] = {"", "x", "-1s", "10q", "1h-30m", "10mm", "inf", "h"};
    (void)state;
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        double v = -7;
        int rc = options_parse_duration(ok[i].s, &v);
        if (ok[i].v < 0) { /* a bare number after a unit is refused */
            if (rc == 0)
                fail_msg("duration \"%s\" was accepted as %g", ok[i].s, v);
            continue;
        }
        if (rc != 0 || v != ok[i].v)
            fail_msg("duration \"%s\": rc %d, %g", ok[i].s, rc, v);
    }
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        double v = -7;
        if (options_parse_duration(bad[i], &v) != RELHOST_EINVAL || v != -7)
            fail_msg("duration \"%s\" was accepted", bad[i]);
    }
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_unit_options_options__an_empty_group_gets_every_default),
        T(test_unit_options_options__every_type_is_filled_from_the_plan),
        T(test_unit_options_options__numbers_as_plain_numbers_and_absolute_paths),
        T(test_unit_options_options__an_unknown_key_lists_the_allowed_ones),
        T(test_unit_options_options__reserved_keys_are_skipped_and_listed),
        T(test_unit_options_options__a_missing_required_key_is_named_with_its_doc),
        T(test_unit_options_options__wrong_types_are_refused_with_file_and_line),
        T(test_unit_options_options__bounds_are_inclusive_and_named),
        T(test_unit_options_options__errors_inside_lists_and_groups_point_at_the_element),
        T(test_unit_options_options__secret_env_must_be_a_variable_name),
        T(test_unit_options_options__a_long_secret_env_value_is_sealed_and_masked),
        T(test_unit_options_options__a_short_secret_env_value_is_refused_unprinted),
        T(test_unit_options_options__an_unset_secret_env_is_accepted),
        T(test_unit_options_options__pass_env_entries_must_be_variable_names),
        T(test_unit_options_options__require_pass_env_refuses_an_unset_variable),
        T(test_unit_options_options__pass_env_of_a_short_sealed_variable_is_refused),
        T(test_unit_options_options__a_secret_literal_in_a_map_is_masked),
        T(test_unit_options_options__optstore_where_names_file_and_line),
        T(test_unit_options_options__optstore_where_of_many_list_values),
        T(test_unit_options_options__where_of_prefers_a_set_mark_and_resolves_includes),
        T(test_unit_options_options__where_of_a_setting_from_a_string_is_the_plan),
        T(test_unit_options_options__fill_defaults_and_fill_text),
        T(test_unit_options_options__parse_size_accepts_units_and_refuses_junk),
        T(test_unit_options_options__parse_duration_adds_parts_and_refuses_junk),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
