/* SPDX-License-Identifier: MIT */
/*
 * Tests of plugins/metrics_regex: what it reads from real-looking logs, however the log is cut.
 *
 * The plugin source is compiled into this test so that a few internals (the derived prefilter,
 * the number reader, the carry buffer's size) can be checked directly; every conf is filled by
 * the host's own options_fill_text() from plan text, so the option table is tested too.
 *
 * This file holds default and plan patterns, configuration errors, bytes, lines and chunks, and
 * main; metrics_regex_internals.c the internals; the fixture is in metrics_regex_common.c.
 */

#include "metrics_regex_common.h"

/* ---- Default patterns ------------------------------------------------------------------------ */

struct sample {
    const char *line;
    const char *key;
    double value;
};

static void test_plugins_metrics_regex__default_patterns_read_every_trainer_format_exactly(
    void **state)
{
    static const struct sample cases[] = {
        {"step 12 SPS: 31000 loss 0.3", "sps_last", 31000},
        {"SPS=31000", "sps_last", 31000},
        {"[train] sps: 31,000 (avg)", "sps_last", 31000},
        {"throughput 87.75 ksps", "sps_last", 87750},
        {"950 sps", "sps_last", 950},
        {"agent steps 1.23 Msps", "sps_last", 1230000},
        {"| 1024 | 87,750 SPS | 0.31 |", "sps_last", 87750},
        {"SPS: 1.5e4", "sps_last", 15000},
        {"rate 1.5e4 sps", "sps_last", 15000},
        {"SPS: 87.75k", "sps_last", 87750},
        {"SPS:  1,234,567.5 ", "sps_last", 1234567.5},
        {"SPS: 31000.", "sps_last", 31000},
        {"SPS: 950 | 1.1 ksps", "sps_max", 1100},
        {"eval_success_rate: 0.93", "eval_success_rate", 0.93},
        {"eval-success rate=1.0", "eval_success_rate", 1.0},
        {"eval success rate: .5", "eval_success_rate", 0.5},
        {"EVAL_SUCCESS_RATE: 0", "eval_success_rate", 0.0},
        {"eval_success_rate: 1.00", "eval_success_rate", 1.0},
        {"[SUMMARY] Exit code: 137", "exit_code", 137},
        {"[SUMMARY] Restart Count: 2", "restart_count", 2},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct fx *f = fx_new(NULL);
        fx_run(f, cases[i].line);
        const mock_metric *mm = mock_host_metric(&f->m, cases[i].key);
        if (mm == NULL)
            fail_msg("\"%s\": %s not posted", cases[i].line, cases[i].key);
        if (mm->value != cases[i].value)
            fail_msg("\"%s\": %s = %.17g, want %.17g", cases[i].line, cases[i].key, mm->value,
                     cases[i].value);
        fx_free(f);
    }
}

static void test_plugins_metrics_regex__where_the_seed_misread_no_wrong_value_is_posted(
    void **state)
{
    /* Each line alone: either no metric, or the correct one; never the seed's misreading. */
    static const char *const no_match[] = {
        "eval_success_rate: 1.5", /* out of range: the seed said 1.0 */
        "eval_success_rate: 2",
        "eval_success_rate: 0.5.3", /* ambiguous */
        "SPS:\n31000",              /* the number is on the next line */
        "SPS: 31,0000",             /* not a thousands grouping: the seed said 31 */
        "SPS: 1,2,3",
        "SPS: nan",
        "sps_max: 31000", /* another word */
    };
    (void)state;
    for (size_t i = 0; i < sizeof(no_match) / sizeof(no_match[0]); i++) {
        struct fx *f = fx_new(NULL);
        fx_run(f, no_match[i]);
        if (f->m.n_metrics != 0)
            fail_msg("\"%s\" posted %s = %g", no_match[i], f->m.metrics[0].key,
                     f->m.metrics[0].value);
        fx_free(f);
    }
}

static void test_plugins_metrics_regex__sps_posts_max_and_last_with_provenance(void **state)
{
    (void)state;
    struct fx *f = fx_new(NULL);
    fx_run(f, "SPS: 31000\nstep 2 SPS: 45,000\n87.75 ksps\n12 sps\nloss 0.1\n");
    assert_true(metric_value(&f->m, "sps_max") == 87750);
    assert_true(metric_value(&f->m, "sps_last") == 12);
    const mock_metric *mm = mock_host_metric(&f->m, "sps_max");
    assert_string_equal(mm->reducer, "max");
    assert_int_equal(mm->samples, 4);
    assert_non_null(strstr(mm->pattern, "SPS"));
    assert_null(mm->source); /* the host fills in the source's plan name */
    assert_string_equal(mock_host_metric(&f->m, "sps_last")->reducer, "last");
    assert_int_equal(mock_host_metric_count(&f->m, "sps_max"), 1);
    assert_null(mock_host_metric(&f->m, "eval_success_rate")); /* no samples: not posted */
    fx_free(f);
}

static void test_plugins_metrics_regex__markers_take_the_last_attempt(void **state)
{
    (void)state;
    struct fx *f = fx_new(NULL);
    fx_run(f, "[SUMMARY] Exit code: 1\n"
              "[SUMMARY] Termination reason: heartbeat_timeout\n"
              "[SUMMARY] Restart Count: 0\n"
              "restarting...\n"
              "[SUMMARY] Exit code: 0\n"
              "[SUMMARY] Termination reason: job_completed\r\n"
              "[SUMMARY] Restart Count: 1\n");
    assert_true(metric_value(&f->m, "exit_code") == 0);
    assert_true(metric_value(&f->m, "restart_count") == 1);
    assert_string_equal(mock_host_label(&f->m, "termination_reason"), "job_completed");
    assert_int_equal(mock_host_metric(&f->m, "exit_code")->samples, 2);
    fx_free(f);
}

/* ---- Plan patterns --------------------------------------------------------------------------- */

static void test_plugins_metrics_regex__every_reducer_posts_its_own_metric(void **state)
{
    (void)state;
    struct fx *f = fx_new("defaults = false;\n"
                          "patterns = ( { name = \"loss\"; regex = \"loss[:=]\\\\s*([-0-9.e]+)\";\n"
                          "  reducers = [\"max\", \"min\", \"last\", \"first\", \"mean\", "
                          "\"count\"]; } );\n");
    fx_run(f, "loss: 4\nnoise\nloss=1\nLOSS: 7\nloss: 2\n");
    assert_true(metric_value(&f->m, "loss_max") == 7);
    assert_true(metric_value(&f->m, "loss_min") == 1);
    assert_true(metric_value(&f->m, "loss_last") == 2);
    assert_true(metric_value(&f->m, "loss_first") == 4);
    assert_true(metric_value(&f->m, "loss_mean") == 3.5);
    assert_true(metric_value(&f->m, "loss_count") == 4);
    assert_string_equal(mock_host_metric(&f->m, "loss_mean")->reducer, "mean");
    assert_int_equal(mock_host_metric(&f->m, "loss_count")->samples, 4);
    assert_int_equal(f->m.n_metrics, 6);
    fx_free(f);
}

static void test_plugins_metrics_regex__scale_and_metric_name_apply(void **state)
{
    (void)state;
    struct fx *f = fx_new("defaults = false;\n"
                          "patterns = ( { name = \"t\"; regex = \"took (\\\\d+) ms\";\n"
                          "  metric = \"step_seconds\"; reducers = \"max\"; scale = 0.001; } );\n");
    fx_run(f, "step took 250 ms\nstep took 1500 ms\n");
    assert_true(metric_value(&f->m, "step_seconds") == 1.5);
    assert_int_equal(f->m.n_metrics, 1);
    fx_free(f);
}

static void test_plugins_metrics_regex__custom_pattern_reads_value_and_unit_groups(void **state)
{
    (void)state;
    struct fx *f = fx_new(
        "defaults = false;\n"
        "patterns = ( { name = \"tok\"; metric = \"tokens\";\n"
        "  regex = \"tokens/s[:=] *(?<value>[0-9.,]+) *(?<unit>[kMG])?\"; reducers = \"max\";\n"
        "  case_insensitive = false; } );\n");
    fx_run(f, "tokens/s: 1.5 k\ntokens/s=2,500\nTOKENS/S: 9 G\ntokens/s: 0.5M\n");
    /* 9 G is not read: the pattern is case-sensitive */
    assert_true(metric_value(&f->m, "tokens") == 500000);
    assert_int_equal(mock_host_metric(&f->m, "tokens")->samples, 3);
    fx_free(f);
}

static void test_plugins_metrics_regex__label_pattern_keeps_first_or_last_string(void **state)
{
    (void)state;
    struct fx *f = fx_new("defaults = false;\n"
                          "patterns = ( { name = \"run\"; regex = \"wandb run: (\\\\S+)\"; "
                          "label = true; },\n"
                          "  { name = \"host\"; regex = \"host=(\\\\w+)\"; label = true; "
                          "reducers = \"first\"; metric = \"first_host\"; } );\n");
    fx_run(f, "wandb run: abc\nhost=n1\nwandb run: def\r\nhost=n2\n");
    assert_string_equal(mock_host_label(&f->m, "run"), "def");
    assert_string_equal(mock_host_label(&f->m, "first_host"), "n1");
    assert_int_equal(f->m.n_metrics, 0);
    fx_free(f);
}

static void test_plugins_metrics_regex__a_plan_pattern_named_like_a_default_replaces_it(
    void **state)
{
    (void)state;
    struct fx *f = fx_new("patterns = ( { name = \"sps\"; regex = \"fps=(\\\\d+)\"; "
                          "reducers = [\"max\"]; } );\n");
    fx_run(f, "SPS: 100\nfps=7\neval_success_rate: 0.5\n");
    assert_true(metric_value(&f->m, "sps_max") == 7);
    assert_null(mock_host_metric(&f->m, "sps_last"));
    assert_true(metric_value(&f->m, "eval_success_rate") == 0.5); /* other defaults stay */
    fx_free(f);
}

static void test_plugins_metrics_regex__non_finite_values_are_skipped_counted_and_noted(
    void **state)
{
    (void)state;
    struct fx *f = fx_new("defaults = false;\n"
                          "patterns = ( { name = \"loss\"; regex = \"loss=(\\\\S+)\"; } );\n");
    fx_run(f, "loss=nan\nloss=1e999\nloss=inf\nloss=0.25\nloss=abc\n");
    /* issue 14: the last match (abc) was refused, so loss_last is not the stale 0.25 */
    assert_null(mock_host_metric(&f->m, "loss_last"));
    assert_non_null(mock_host_note(&f->m, "loss_last is not posted rather than the earlier value "
                                          "0.25"));
    const char *note = mock_host_note(&f->m, "loss");
    assert_non_null(note);
    assert_non_null(strstr(note, "4 matches skipped"));
    assert_non_null(strstr(note, "\"nan\""));
    assert_non_null(strstr(note, "first on line 1"));
    mock_host_reset(&f->m);
    fx_run(f, "loss=nan\nloss=0.25\n");
    assert_true(metric_value(&f->m, "loss_last") == 0.25);
    assert_int_equal(mock_host_metric(&f->m, "loss_last")->samples, 1);
    fx_free(f);
}

/* ---- Configuration errors -------------------------------------------------------------------- */

static void test_plugins_metrics_regex__a_bad_regex_fails_open_naming_pattern_error_and_place(
    void **state)
{
    (void)state;
    struct fx *f = fx_new("defaults = false;\n"
                          "patterns = ( { name = \"ok\"; regex = \"a=(\\\\d+)\"; },\n"
                          "  { name = \"broken\"; regex = \"loss=(\\\\d+\"; } );\n");
    assert_int_equal(f->open_rc, RELHOST_EINVAL);
    assert_null(f->inst);
    const char *msg = mock_host_last_fail(&f->m);
    assert_non_null(msg);
    assert_non_null(strstr(msg, "\"broken\""));
    assert_non_null(strstr(msg, "missing closing parenthesis")); /* PCRE2's own words */
    assert_non_null(strstr(msg, "offset 9"));
    const char *where = optstore_where(f->st, &mr_row(&f->conf, 1)->regex);
    assert_non_null(where);
    assert_non_null(strstr(msg, where)); /* file:line of the regex setting */
    fx_free(f);
}

struct bad_conf {
    const char *text;
    const char *needle;
};

static void test_plugins_metrics_regex__inconsistent_patterns_are_refused_with_a_reason(
    void **state)
{
    static const struct bad_conf cases[] = {
        {"defaults = false; patterns = ( { name = \"a\"; regex = \"a=(\\\\d+)\"; "
         "reducers = [\"max\", \"median\"]; } );",
         "unknown reducer \"median\""},
        {"defaults = false; patterns = ( { name = \"a\"; regex = \"a=(\\\\d+)\"; "
         "reducers = [\"max\", \"min\"]; metric = \"x\"; } );",
         "metric names one metric"},
        {"defaults = false; patterns = ( { name = \"a\"; regex = \"a=(\\\\w+)\"; "
         "label = true; reducers = \"max\"; } );",
         "a label keeps one value"},
        {"defaults = false; patterns = ( { name = \"a\"; regex = \"a=\\\\d+\"; } );",
         "no capture group"},
        {"defaults = false; patterns = ( { name = \"a\"; regex = \"a=(\\\\d+)\"; },"
         " { name = \"a\"; regex = \"b=(\\\\d+)\"; } );",
         "defined twice"},
        {"patterns = ( { name = \"x\"; regex = \"a=(\\\\d+)\"; metric = \"sps_max\"; } );",
         "both post \"sps_max\""},
        {"defaults = false; patterns = ( { name = \"a b\"; regex = \"a=(\\\\d+)\"; } );",
         "the name must be"},
        {"defaults = false; patterns = ( { name = \"u\"; regex = \"(*UTF)a=(\\\\d+)\"; } );",
         "does not compile"},
        {"defaults = false;", "no patterns"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct fx *f = fx_new(cases[i].text);
        if (f->open_rc != RELHOST_EINVAL)
            fail_msg("%s: open returned %d", cases[i].text, f->open_rc);
        const char *msg = mock_host_last_fail(&f->m);
        if (msg == NULL || strstr(msg, cases[i].needle) == NULL)
            fail_msg("%s: message \"%s\" lacks \"%s\"", cases[i].text, msg ? msg : "(none)",
                     cases[i].needle);
        fx_free(f);
    }
}

static void test_plugins_metrics_regex__option_table_defaults_fill_a_working_conf(void **state)
{
    (void)state;
    struct fx *f = fx_new(NULL);
    assert_int_equal(f->open_rc, 0);
    assert_int_equal(f->conf.defaults, 1);
    assert_int_equal(f->conf.max_line, 1024 * 1024);
    assert_int_equal(f->conf.patterns.n, 0);
    fx_free(f);
    f = fx_new("patterns = ( { name = \"a\"; regex = \"a=(\\\\d+)\"; } );");
    const struct metrics_regex_pattern *row = mr_row(&f->conf, 0);
    assert_int_equal(row->reducers.n, 1);
    assert_string_equal(row->reducers.v[0], "last");
    assert_true(row->scale == 1.0);
    assert_int_equal(row->case_insensitive, 1);
    assert_int_equal(row->label, 0);
    assert_null(row->prefilter);
    assert_null(row->metric);
    fx_free(f);
}

/* ---- Bytes, lines and chunks ----------------------------------------------------------------- */

static void test_plugins_metrics_regex__nul_bytes_invalid_utf8_and_crlf_are_read_as_bytes(
    void **state)
{
    char log[8192];
    (void)state;
    size_t n = sample_log(log, sizeof(log));
    struct fx *f = fx_new(sample_conf);
    fx_run_cut(f, log, n, CUT_WHOLE, 0);
    check_sample_results(&f->m);
    fx_free(f);
}

static void test_plugins_metrics_regex__any_cutting_of_the_log_gives_identical_results(void **state)
{
    char log[8192];
    (void)state;
    size_t n = sample_log(log, sizeof(log));
    struct fx *f = fx_new(sample_conf);
    fx_run_cut(f, log, n, CUT_WHOLE, 0);
    char *want = fx_dump(&f->m);
    check_sample_results(&f->m);

    mock_host_reset(&f->m);
    fx_run_cut(f, log, n, CUT_BYTES, 0);
    char *got = fx_dump(&f->m);
    assert_string_equal(got, want);
    free(got);
    for (unsigned seed = 1; seed <= 50; seed++) {
        mock_host_reset(&f->m);
        fx_run_cut(f, log, n, CUT_RANDOM, seed);
        got = fx_dump(&f->m);
        assert_string_equal(got, want);
        free(got);
    }
    /* one cut at every byte offset: every line, split at every place */
    for (size_t at = 0; at <= n; at++) {
        mock_host_reset(&f->m);
        fx_run_cut(f, log, n, CUT_AT, (unsigned)at);
        got = fx_dump(&f->m);
        if (strcmp(got, want) != 0)
            fail_msg("cut at %zu:\n%s\nwant:\n%s", at, got, want);
        free(got);
    }
    free(want);
    fx_free(f);
}

static void test_plugins_metrics_regex__a_line_longer_than_max_line_is_skipped_and_the_next_read(
    void **state)
{
    (void)state;
    struct fx *f = fx_new("max_line = 64;");
    size_t n = 64 * 1024;
    char *log = malloc(n);
    assert_non_null(log);
    /* one huge line holding SPS values, then a normal one; then one exactly max_line long */
    memset(log, 'a', n);
    memcpy(log, "SPS: 5 ", 7);
    memcpy(log + 1000, " SPS: 6 ", 8);
    const char *next = "\nSPS: 7\n";
    memcpy(log + n - 200, next, strlen(next));
    char *exact = log + n - 200 + strlen(next);
    memset(exact, 'b', 64);
    memcpy(exact, "SPS: 8 ", 7);
    exact[64] = '\n';
    memcpy(exact + 65, "SPS: 9 ", 7);
    memset(exact + 72, 'c', (size_t)(log + n - (exact + 72)));
    /* the last line is long and unterminated: skipped at collect too */
    for (int how = CUT_WHOLE; how <= CUT_RANDOM; how++) {
        mock_host_reset(&f->m);
        fx_run_cut(f, log, n, (enum cut)how, 7);
        assert_true(metric_value(&f->m, "sps_max") == 8);
        assert_true(metric_value(&f->m, "sps_last") == 8);
        assert_int_equal(mock_host_metric(&f->m, "sps_max")->samples, 2);
        assert_non_null(mock_host_note(&f->m, "2 log lines longer than max_line (64 bytes)"));
    }
    free(log);
    fx_free(f);
}

static void test_plugins_metrics_regex__memory_stays_flat_the_carry_never_exceeds_max_line(
    void **state)
{
    (void)state;
    struct fx *f = fx_new("max_line = \"4K\";");
    const relhost_metrics_ops *ops = f->pl->metrics;
    void *jobp = NULL;
    assert_int_equal(ops->job_open(&f->m.ctx, f->inst, NULL, &jobp), 0);
    struct metrics_regex_job *job = jobp;
    /* 16 MiB of mixed line lengths (some over max_line) fed in odd chunk sizes */
    char chunk[7001];
    unsigned seed = 42;
    size_t fed = 0, line_len = 0, target = 0, long_lines = 0;
    while (fed < 16u << 20) {
        for (size_t i = 0; i < sizeof(chunk); i++) {
            if (line_len == target) {
                chunk[i] = '\n';
                seed = seed * 1103515245u + 12345u;
                /* now and then a line past max_line, otherwise up to 180 bytes */
                target = (seed >> 8) % 500 == 0 ? 5000 + (seed >> 4) % 3000 : (seed >> 12) % 180;
                long_lines += target > 4096;
                line_len = 0;
                continue;
            }
            chunk[i] = (char)('a' + (line_len * 7 + fed) % 26);
            line_len++;
        }
        seed = seed * 1103515245u + 12345u;
        size_t len = 1 + (seed >> 4) % sizeof(chunk);
        assert_int_equal(ops->feed(&f->m.ctx, job, chunk, len), 0);
        assert_true(job->carry_len <= 4096);
        assert_true(job->carry_cap <= 4096);
        fed += len;
    }
    assert_int_equal(ops->collect(&f->m.ctx, job), 0);
    assert_true(long_lines > 10);
    assert_true(job->long_lines > 0 && job->long_lines <= long_lines);
    ops->job_close(job);
    fx_free(f);
}

/* What peek() showed, as "key=value " text in PEEK_TEXT bytes. */
#define PEEK_TEXT 512
static void peek_add(void *payload, const char *key, double value)
{
    char *s = payload;
    size_t n = strlen(s);
    snprintf(s + n, PEEK_TEXT - n, "%s=%g ", key, value);
}

static void peek_into(const struct fx *f, void *job, char *out)
{
    out[0] = '\0';
    assert_non_null(f->pl->metrics->peek);
    assert_int_equal(f->pl->metrics->peek(job, peek_add, out), 0);
}

/* peek() (ABI 1.6, the live table's values): each numeric key under each reducer as it stands
 * so far, no refused `last`, no label; and reading them changes nothing collect() posts. */
static void test_plugins_metrics_regex__peek_shows_the_values_so_far_and_changes_nothing(
    void **state)
{
    (void)state;
    static const char *const parts[] = {"train sps: 100\n", "train sps: 300\ntrain sps: 200\n",
                                        "train sps: nan\n", "termination reason: x\n"};
    static const char *const want[] = {"sps_max=100 sps_last=100 ", "sps_max=300 sps_last=200 ",
                                       "sps_max=300 ", "sps_max=300 "};
    struct fx *f = fx_new(NULL), *plain = fx_new(NULL);
    const relhost_metrics_ops *ops = f->pl->metrics;
    char got[PEEK_TEXT], log[256] = "";
    size_t loglen = 0;
    void *job = NULL;
    assert_int_equal(ops->job_open(&f->m.ctx, f->inst, NULL, &job), 0);
    peek_into(f, job, got);
    assert_string_equal(got, ""); /* nothing read yet: nothing shown */
    for (size_t i = 0; i < sizeof parts / sizeof *parts; i++) {
        assert_int_equal(ops->feed(&f->m.ctx, job, parts[i], strlen(parts[i])), 0);
        loglen += (size_t)snprintf(log + loglen, sizeof log - loglen, "%s", parts[i]);
        assert_true(loglen < sizeof log);
        peek_into(f, job, got);
        if (strcmp(got, want[i]) != 0)
            fail_msg("after \"%s\": peek showed \"%s\", wanted \"%s\"", parts[i], got, want[i]);
    }
    assert_int_equal(ops->collect(&f->m.ctx, job), 0);
    ops->job_close(job);
    fx_run(plain, log);
    char *a = fx_dump(&f->m), *b = fx_dump(&plain->m);
    assert_string_equal(a, b);
    assert_null(mock_host_metric(&f->m, "sps_last")); /* the refused last is not posted */
    assert_true(metric_value(&f->m, "sps_max") == 300);
    free(a);
    free(b);
    fx_free(f);
    fx_free(plain);
}

/* Many plan patterns, each its own literal (more literal groups than the fused pass takes, and
 * more than a 32-bit mask's bits): every one is read; no shift past the mask's width. */
static void test_plugins_metrics_regex__forty_patterns_each_with_its_own_literal_are_all_read(
    void **state)
{
    (void)state;
    char conf[8192] = "patterns = (", log[4096] = "", key[32];
    size_t n = strlen(conf), m = 0;
    for (int i = 0; i < 40; i++) {
        n += (size_t)snprintf(conf + n, sizeof conf - n,
                              "%s{ name = \"k%03d\"; regex = \"k%03d: (\\\\d+)\"; }",
                              i ? ", " : " ", i, i);
        m += (size_t)snprintf(log + m, sizeof log - m, "k%03d: %d\n", i, 1000 + i);
    }
    snprintf(conf + n, sizeof conf - n, " );");
    struct fx *f = fx_new(conf);
    assert_int_equal(f->open_rc, 0);
    fx_run(f, log);
    for (int i = 0; i < 40; i++) {
        snprintf(key, sizeof key, "k%03d_last", i);
        assert_true(metric_value(&f->m, key) == 1000 + i);
    }
    fx_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(
            test_plugins_metrics_regex__default_patterns_read_every_trainer_format_exactly),
        cmocka_unit_test(
            test_plugins_metrics_regex__where_the_seed_misread_no_wrong_value_is_posted),
        cmocka_unit_test(test_plugins_metrics_regex__sps_posts_max_and_last_with_provenance),
        cmocka_unit_test(test_plugins_metrics_regex__markers_take_the_last_attempt),
        cmocka_unit_test(test_plugins_metrics_regex__every_reducer_posts_its_own_metric),
        cmocka_unit_test(test_plugins_metrics_regex__scale_and_metric_name_apply),
        cmocka_unit_test(test_plugins_metrics_regex__custom_pattern_reads_value_and_unit_groups),
        cmocka_unit_test(test_plugins_metrics_regex__label_pattern_keeps_first_or_last_string),
        cmocka_unit_test(
            test_plugins_metrics_regex__a_plan_pattern_named_like_a_default_replaces_it),
        cmocka_unit_test(
            test_plugins_metrics_regex__non_finite_values_are_skipped_counted_and_noted),
        cmocka_unit_test(
            test_plugins_metrics_regex__a_bad_regex_fails_open_naming_pattern_error_and_place),
        cmocka_unit_test(
            test_plugins_metrics_regex__inconsistent_patterns_are_refused_with_a_reason),
        cmocka_unit_test(test_plugins_metrics_regex__option_table_defaults_fill_a_working_conf),
        cmocka_unit_test(
            test_plugins_metrics_regex__nul_bytes_invalid_utf8_and_crlf_are_read_as_bytes),
        cmocka_unit_test(
            test_plugins_metrics_regex__any_cutting_of_the_log_gives_identical_results),
        cmocka_unit_test(
            test_plugins_metrics_regex__a_line_longer_than_max_line_is_skipped_and_the_next_read),
        cmocka_unit_test(
            test_plugins_metrics_regex__memory_stays_flat_the_carry_never_exceeds_max_line),
        cmocka_unit_test(
            test_plugins_metrics_regex__derived_prefilters_are_literals_every_match_contains),
        cmocka_unit_test(
            test_plugins_metrics_regex__prefilter_finds_literals_in_either_case_anywhere),
        cmocka_unit_test(test_plugins_metrics_regex__numbers_are_read_strictly),
        cmocka_unit_test(
            test_plugins_metrics_regex__the_plain_number_fast_path_reads_as_the_grammar),
        cmocka_unit_test(
            test_plugins_metrics_regex__explicit_empty_prefilter_gives_the_same_results),
        cmocka_unit_test(
            test_plugins_metrics_regex__search_shortcuts_give_what_every_line_matching_gives),
        cmocka_unit_test(
            test_plugins_metrics_regex__without_jit_the_interpreter_gives_the_same_results),
        cmocka_unit_test(
            test_plugins_metrics_regex__peek_shows_the_values_so_far_and_changes_nothing),
        cmocka_unit_test(
            test_plugins_metrics_regex__forty_patterns_each_with_its_own_literal_are_all_read),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
