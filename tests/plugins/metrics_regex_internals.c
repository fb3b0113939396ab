/* SPDX-License-Identifier: MIT */
/* tests/plugins/metrics_regex_internals.c - the metrics_regex cases on its internals checked
 * directly: derived prefilters, the number reader, search shortcuts and the interpreter without
 * JIT; main and fixture in metrics_regex.c and metrics_regex_common.c. */

#include "metrics_regex_common.h"

/* ---- Internals ------------------------------------------------------------------------------- */

struct lit_case {
    const char *re;
    const char *want; /* "" = no prefilter */
    int at_start;     /* every match starts with the literal */
};

void test_plugins_metrics_regex__derived_prefilters_are_literals_every_match_contains(void **state)
{
    static const struct lit_case cases[] = {
        {"loss[:=]\\s*(\\d+)", "loss", 1},
        {"\\[SUMMARY\\]\\s*Exit code:\\s*(\\d+)", "exit code:", 0},
        {"\\[SUMMARY\\] (\\d+)", "[summary] ", 1},
        {"colou?r=(\\d+)", "colo", 1},
        {"ab*c=(\\d+)", "c=", 0},
        {"abc+d(\\d)", "abc", 1},
        {"a?bcd(\\d)", "bcd", 0},
        {"^\\bstep=(\\d+)", "step=", 1},
        {"\\s*step=(\\d+)", "step=", 0},
        {"x{0,3}yz=(\\d)", "yz=", 0},
        {"(loss|cost)=(\\d+)", "=", 0},
        {"a=(\\d+)|b=(\\d+)", "", 0},
        {"(?x) l o s s (\\d+)", "", 0},
        {"\\x41BCD=(\\d)", "", 0},
        {"\\Qa.b\\E(\\d)", "", 0},
        {"[(|]step: (\\d+)", "step: ", 0},
        {"(?:a|b)+total=(\\d+)", "total=", 0},
        {"(?i)Reward=(\\d+)", "reward=", 0},
        {"\\bSPS[:=]\\s*(\\d+(?:\\.\\d+)?)", "sps", 1},
        {"t\\.o\\.k(\\d)", "t.o.k", 1},
        {"caf\xc3\xa9=(\\d)", "caf", 1},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        unsigned char lit[MR_LIT_MAX + 1];
        int at_start = -1;
        size_t n = mr_derive_literal(cases[i].re, lit, MR_LIT_MAX, &at_start);
        struct mr_lit l;
        mr_lit_set(&l, lit, n);
        char got[MR_LIT_MAX + 1];
        memcpy(got, l.fold, l.len);
        got[l.len] = '\0';
        if (strcmp(got, cases[i].want) != 0)
            fail_msg("%s: derived \"%s\", want \"%s\"", cases[i].re, got, cases[i].want);
        if (n > 0 && at_start != cases[i].at_start)
            fail_msg("%s: at_start %d, want %d", cases[i].re, at_start, cases[i].at_start);
    }
}

void test_plugins_metrics_regex__prefilter_finds_literals_in_either_case_anywhere(void **state)
{
    (void)state;
    int avx2 = 0;
#if defined(MR_HAVE_AVX2)
    avx2 = __builtin_cpu_supports("avx2");
#endif
    /* every code path: AVX2 (when the CPU has it), SSE2 and the scalar tail */
    for (int v = 0; v <= avx2; v++) {
        struct mr_lit l;
        mr_lit_set(&l, (const unsigned char *)"[Summary]", 9);
        char hay[300];
        for (size_t at = 0; at + 9 <= sizeof(hay); at++) {
            memset(hay, '[', sizeof(hay)); /* near misses everywhere */
            memcpy(hay + at, "[sUMMARY]", 9);
            assert_ptr_equal(mr_lit_find(&l, hay, sizeof(hay), v), hay + at);
            assert_null(mr_lit_find(&l, hay, at + 8, v)); /* cut one byte short */
            /* two occurrences: the first wins */
            if (at + 9 + 9 <= sizeof(hay)) {
                memcpy(hay + at + 9, "[summary]", 9);
                assert_ptr_equal(mr_lit_find(&l, hay, sizeof(hay), v), hay + at);
            }
        }
        /* letters fold, other bytes do not: '{' is '[' | 0x20 */
        assert_null(mr_lit_find(&l, "{summary}", 9, v));
        mr_lit_set(&l, (const unsigned char *)"sps", 3);
        assert_non_null(mr_lit_find(&l, "SPS", 3, v));
        assert_non_null(mr_lit_find(&l, "xxSpSxx", 7, v));
        assert_null(mr_lit_find(&l, "s\x10s", 3, v));
        assert_null(mr_lit_find(&l, "sp", 2, v));
    }
}

void test_plugins_metrics_regex__numbers_are_read_strictly(void **state)
{
    (void)state;
    locale_t c = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    double v = 0;
    assert_int_equal(mr_parse_number(c, "31,000", 6, &v), 0);
    assert_true(v == 31000);
    assert_int_equal(mr_parse_number(c, "1,234,567.25", 12, &v), 0);
    assert_true(v == 1234567.25);
    assert_int_equal(mr_parse_number(c, " -1.5e4 ", 8, &v), 0);
    assert_true(v == -15000);
    assert_int_equal(mr_parse_number(c, ".5", 2, &v), 0);
    assert_true(v == 0.5);
    assert_int_equal(mr_parse_number(c, "7.", 2, &v), 0);
    assert_true(v == 7);
    static const char *const bad[] = {"31,0000", "1,23", "1234,567", ",123", "1e",
                                      "nan",     "inf",  "1e999",    "0x10", "",
                                      ".",       "-",    "1.2.3",    "12a",  "1 2"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (mr_parse_number(c, bad[i], strlen(bad[i]), &v) == 0)
            fail_msg("\"%s\" read as %g", bad[i], v);
    freelocale(c);
}

void test_plugins_metrics_regex__the_plain_number_fast_path_reads_as_the_grammar(void **state)
{
    (void)state;
    locale_t c = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    /* mostly digits, some grouping and fraction marks, a few of every other kind */
    static const char alpha[] = "0123456789012345678901234567890123456789,,,,.. e-+%";
    static const char *const cases[] = {"0",
                                        "00",
                                        "000,000",
                                        "1,234",
                                        "1,2345",
                                        "1234,567",
                                        "31,0000",
                                        "7.",
                                        ".5",
                                        "1,234.",
                                        "1.2.3",
                                        "123456789012345",
                                        "1234567890123456",
                                        "12345678901234.5",
                                        "99,999,999,999,999",
                                        "1,234,567.2500000000",
                                        "18446744073709551616123"};
    uint32_t x = 2463534242u;
    char s[32];
    for (size_t k = 0; k < 200000 + sizeof(cases) / sizeof(cases[0]); k++) {
        size_t n;
        if (k < sizeof(cases) / sizeof(cases[0])) {
            n = strlen(cases[k]);
            memcpy(s, cases[k], n);
        } else {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            n = x % 24;
            for (size_t i = 0; i < n; i++) {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                s[i] = alpha[x % (sizeof(alpha) - 1)];
            }
        }
        s[n] = '\0';
        double a = -1.0, b = -1.0;
        int ra = mr_parse_number(c, s, n, &a), rb = mr_parse_number_general(c, s, n, &b);
        if (ra != rb || (ra == 0 && memcmp(&a, &b, sizeof a) != 0))
            fail_msg("\"%s\": %d %.17g with the fast path, %d %.17g without", s, ra, a, rb, b);
    }
    freelocale(c);
}

void test_plugins_metrics_regex__explicit_empty_prefilter_gives_the_same_results(void **state)
{
    char log[8192];
    (void)state;
    size_t n = sample_log(log, sizeof(log));
    struct fx *a = fx_new("defaults = false; max_line = 256;\n"
                          "patterns = ( { name = \"x\"; regex = \"SPS[:=]\\\\s*(\\\\d+)\"; "
                          "reducers = [\"count\", \"max\", \"first\"]; } );");
    struct fx *b = fx_new("defaults = false; max_line = 256;\n"
                          "patterns = ( { name = \"x\"; regex = \"SPS[:=]\\\\s*(\\\\d+)\"; "
                          "reducers = [\"count\", \"max\", \"first\"]; prefilter = \"\"; } );");
    assert_int_equal(a->inst ? ((struct metrics_regex *)a->inst)->pats[0].lit.len : 9, 3);
    assert_int_equal(b->inst ? ((struct metrics_regex *)b->inst)->pats[0].lit.len : 9, 0);
    fx_run_cut(a, log, n, CUT_WHOLE, 0);
    fx_run_cut(b, log, n, CUT_BYTES, 0);
    char *da = fx_dump(&a->m), *db = fx_dump(&b->m);
    assert_string_equal(da, db);
    assert_true(metric_value(&a->m, "x_count") == 6);
    free(da);
    free(db);
    fx_free(a);
    fx_free(b);
}

/* Escape a regex for a libconfig string. */
static void conf_quote(char *dst, size_t cap, const char *s)
{
    size_t k = 0;
    for (; *s != '\0' && k + 3 < cap; s++) {
        if (*s == '\\' || *s == '"')
            dst[k++] = '\\';
        dst[k++] = *s;
    }
    dst[k] = '\0';
}

void test_plugins_metrics_regex__search_shortcuts_give_what_every_line_matching_gives(void **state)
{
    /* Fragments around the literals: numbers before, after, glued, units, labels, near misses. */
    static const char *const frags[] = {
        "SPS: 31000",
        "sps=12",
        "950 sps",
        "87.75 ksps",
        "1.23 Msps",
        "87,750 SPS",
        "12 SPS:",
        "x1 sps",
        "1.5e4 sps",
        "SPS: 1,2,3",
        "sps",
        "ksps",
        "SPS:",
        "step 12",
        "| 7 |",
        "3sps",
        "eval_success_rate: 0.5",
        "eval success rate=1",
        "success",
        "evalsuccessrate: .25",
        "[SUMMARY] Exit code: 3",
        "[SUMMARY] Restart Count: 2",
        "[summary]",
        "0.93",
        "1,000",
        /* "-5 sps" is refused by the default's range (sps >= 0), which the twin has not */
        "+5 sps",
        "SPS = 4",
        "\t",
        "  ",
        "e",
        "k",
        "5 k sps",
        "SPS:5k",
        "SPS: 2 msps",
        /* whole value tokens: the search must start before a token of any bytes */
        "nan ksps",
        "1x sps",
        "n/a steps/sec",
        "--min-sps",
        "2k5 sps",
        "total 3 evals",
        "nan% successful",
        "Successes: 0/0 (nan%)",
    };
    char log[64 * 1024];
    size_t n = 0;
    unsigned seed = 99;
    (void)state;
    for (int line = 0; line < 1500; line++) {
        int parts = 1 + (int)(seed % 5);
        for (int i = 0; i < parts; i++) {
            seed = seed * 1103515245u + 12345u;
            const char *f = frags[(seed >> 8) % (sizeof(frags) / sizeof(frags[0]))];
            const char *sep = (seed >> 20) % 3 == 0 ? "" : " ";
            n += (size_t)snprintf(log + n, sizeof(log) - n, "%s%s", f, sep);
        }
        n += (size_t)snprintf(log + n, sizeof(log) - n, "\n");
        assert_true(n < sizeof(log) - 256);
    }
    const struct mr_default *d = metrics_regex_defaults;
    char conf[8192], q0[2048], q1[2048], q2[2048];
    conf_quote(q0, sizeof(q0), d[0].regex);
    conf_quote(q1, sizeof(q1), d[1].regex);
    conf_quote(q2, sizeof(q2), d[2].regex);
    /* the same regexes with prefilter "": run on every line from its start */
    snprintf(conf, sizeof(conf),
             "defaults = false; patterns = (\n"
             "{ name = \"sps\"; regex = \"%s\"; reducers = [\"max\", \"last\", \"count\", "
             "\"first\"]; prefilter = \"\"; },\n"
             "{ name = \"e\"; regex = \"%s\"; reducers = [\"last\", \"count\"]; "
             "prefilter = \"\"; },\n"
             "{ name = \"x\"; regex = \"%s\"; reducers = [\"last\", \"count\"]; "
             "prefilter = \"\"; } );",
             q0, q1, q2);
    struct fx *slow = fx_new(conf);
    struct fx *dflt = fx_new(NULL);
    assert_int_equal(slow->open_rc, 0);
    assert_int_equal(dflt->open_rc, 0);
    /* the defaults use their lead sets (but eval's, whose "total N evals TOKEN successful"
     * puts words before its literal); the slow twin uses none */
    const struct metrics_regex *di = dflt->inst;
    for (size_t i = 0; i < di->n_pats; i++)
        assert_true(di->pats[i].lead_known || strcmp(di->pats[i].name, "eval_success_rate") == 0);
    fx_run_cut(slow, log, n, CUT_WHOLE, 0);
    fx_run_cut(dflt, log, n, CUT_RANDOM, 5);
    assert_true(metric_value(&dflt->m, "sps_max") == metric_value(&slow->m, "sps_max"));
    /* "SPS:" with no value is refused by both: then neither posts sps_last */
    if (mock_host_metric(&slow->m, "sps_last") == NULL)
        assert_null(mock_host_metric(&dflt->m, "sps_last"));
    else
        assert_true(metric_value(&dflt->m, "sps_last") == metric_value(&slow->m, "sps_last"));
    assert_int_equal(mock_host_metric(&dflt->m, "sps_max")->samples,
                     (uint64_t)metric_value(&slow->m, "sps_count"));
    assert_true(metric_value(&dflt->m, "eval_success_rate") == metric_value(&slow->m, "e_last"));
    /* issue 14: the default refuses a rate outside 0..1, which the twin (no range) reads */
    assert_true(mock_host_metric(&dflt->m, "eval_success_rate")->samples <=
                (uint64_t)metric_value(&slow->m, "e_count"));
    /* issue 14: exit_code is posted only when the last [SUMMARY] block has one (the twin has
     * no blocks); the bare twin below checks it exactly */
    if (mock_host_metric(&dflt->m, "exit_code") != NULL)
        assert_true(metric_value(&dflt->m, "exit_code") == metric_value(&slow->m, "x_last"));
    assert_true(metric_value(&slow->m, "sps_count") > 500); /* the log is worth comparing */
    assert_true(metric_value(&dflt->m, "sps_max") > 0);
    /* The defaults themselves with every shortcut off (no literal, no lead set: each regex runs
     * on every line from its start) must post exactly the same metrics, labels and notes. */
    struct fx *bare = fx_new(NULL);
    struct metrics_regex *bi = bare->inst;
    for (size_t i = 0; i < bi->n_pats; i++) {
        bi->pats[i].lit.len = 0;
        bi->pats[i].lead_known = 0;
    }
    for (size_t i = 0; i < bi->n_groups; i++)
        bi->groups[i].lit.len = 0;
    fx_run_cut(bare, log, n, CUT_WHOLE, 0);
    char *want = fx_dump(&bare->m), *got = fx_dump(&dflt->m);
    assert_string_equal(got, want);
    free(want);
    free(got);
    fx_free(bare);
    fx_free(slow);
    fx_free(dflt);
}

void test_plugins_metrics_regex__without_jit_the_interpreter_gives_the_same_results(void **state)
{
    char log[8192];
    (void)state;
    size_t n = sample_log(log, sizeof(log));
    struct fx *f = fx_new(sample_conf);
    fx_run_cut(f, log, n, CUT_RANDOM, 3);
    char *want = fx_dump(&f->m);
    /* as on a platform where pcre2_jit_compile fails */
    struct metrics_regex *inst = f->inst;
    for (size_t i = 0; i < inst->n_pats; i++) {
        assert_true(inst->pats[i].jit); /* this test is only worth something with JIT on */
        inst->pats[i].jit = 0;
    }
    mock_host_reset(&f->m);
    fx_run_cut(f, log, n, CUT_RANDOM, 4);
    char *got = fx_dump(&f->m);
    assert_string_equal(got, want);
    check_sample_results(&f->m);
    free(want);
    free(got);
    fx_free(f);
}
