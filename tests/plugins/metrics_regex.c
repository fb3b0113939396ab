/* SPDX-License-Identifier: MIT */
/*
 * Tests of plugins/metrics_regex: what it reads from real-looking logs, however the log is cut.
 *
 * The plugin source is compiled into this test so that a few internals (the derived prefilter,
 * the number reader, the carry buffer's size) can be checked directly; every conf is filled by
 * the host's own options_fill_text() from plan text, so the option table is tested too.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The plugin's private header (its files are linked in). */
#include <math.h>

#include "../../plugins/metrics_regex/metrics_regex_int.h"

#include <cmocka.h>

#include "base/error.h"
#include "mock_host.h"
#include "plan/options.h"

/* ---- Fixture --------------------------------------------------------------------------------- */

struct fx {
    mock_host m;
    const relhost_plugin *pl;
    struct metrics_regex_conf conf;
    optstore *st;
    void *inst;
    int open_rc;
};

static const char *fx_where(void *arg, const void *field) { return optstore_where(arg, field); }

/* Fill the conf from plan text and open an instance; the open's return is kept in open_rc. */
static struct fx *fx_new(const char *text)
{
    struct fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    mock_host_init(&f->m);
    assert_int_equal(relhost_plugin_entry(&f->m.host, &f->pl), 0);
    assert_int_equal(f->pl->conf_size, sizeof(f->conf));
    int rc = options_fill_text(f->pl, &f->conf, text ? text : "", &f->st);
    if (rc != 0)
        fail_msg("options_fill_text(%s): %s", text, error_last());
    f->m.where_fn = fx_where;
    f->m.where_arg = f->st;
    f->open_rc = f->pl->metrics->open(&f->m.ctx, &f->conf, &f->inst);
    return f;
}

static void fx_free(struct fx *f)
{
    if (f->inst != NULL)
        f->pl->metrics->close(f->inst);
    optstore_free(f->st);
    mock_host_free(&f->m);
    free(f);
}

/* How to cut a log into feed() calls. */
enum cut { CUT_WHOLE, CUT_BYTES, CUT_RANDOM, CUT_AT };

/* Feed `log` to a fresh job (cut as asked), collect, close. Recordings go to f->m. */
static void fx_run_cut(struct fx *f, const char *log, size_t len, enum cut how, unsigned seed)
{
    void *job = NULL;
    const relhost_metrics_ops *ops = f->pl->metrics;
    assert_int_equal(f->open_rc, 0);
    assert_int_equal(ops->job_open(&f->m.ctx, f->inst, NULL, &job), 0);
    size_t i = 0;
    if (how == CUT_AT) {
        /* two feeds, [0, seed) and [seed, len); an empty feed must be harmless too */
        i = seed < len ? seed : len;
        assert_int_equal(ops->feed(&f->m.ctx, job, log, i), 0);
    }
    while (i < len) {
        size_t n = len - i;
        if (how == CUT_BYTES)
            n = 1;
        else if (how == CUT_RANDOM) {
            seed = seed * 1103515245u + 12345u;
            n = 1 + (seed >> 8) % 97;
            if (n > len - i)
                n = len - i;
        }
        assert_int_equal(ops->feed(&f->m.ctx, job, log + i, n), 0);
        i += n;
    }
    assert_int_equal(ops->collect(&f->m.ctx, job), 0);
    ops->job_close(job);
}

static void fx_run(struct fx *f, const char *log) { fx_run_cut(f, log, strlen(log), CUT_WHOLE, 0); }

/* Everything the plugin told the host, as text, to compare runs. */
static char *fx_dump(const mock_host *m)
{
    size_t cap = 1 << 16, n = 0;
    char *s = calloc(1, cap);
    assert_non_null(s);
    for (size_t i = 0; i < m->n_metrics; i++)
        n += (size_t)snprintf(s + n, cap - n, "metric %s=%.17g %s %s %llu\n", m->metrics[i].key,
                              m->metrics[i].value, m->metrics[i].reducer, m->metrics[i].pattern,
                              (unsigned long long)m->metrics[i].samples);
    for (size_t i = 0; i < m->n_labels; i++)
        n +=
            (size_t)snprintf(s + n, cap - n, "label %s=%s\n", m->labels[i].key, m->labels[i].value);
    for (size_t i = 0; i < m->n_notes; i++)
        n += (size_t)snprintf(s + n, cap - n, "note %s\n", m->notes[i]);
    for (size_t i = 0; i < m->n_fails; i++)
        n += (size_t)snprintf(s + n, cap - n, "fail %s\n", m->fails[i]);
    assert_true(n < cap);
    return s;
}

static double metric_value(const mock_host *m, const char *key)
{
    const mock_metric *mm = mock_host_metric(m, key);
    if (mm == NULL)
        fail_msg("metric %s was not posted", key);
    return mm->value;
}

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

/* A log with every format, markers of two attempts, CRLF, NUL bytes, invalid UTF-8, bad values
 * and a line longer than max_line (256 here), built once per test. */
static size_t sample_log(char *buf, size_t cap)
{
    size_t n = 0;
    const char *parts[] = {
        "2025-10-02 12:00:01 INFO starting trainer\n",
        "step 1 SPS: 31000 loss 0.3\n",
        "step 2 sps: 31,500 loss 0.29\r\n",
        "[table] | 2 | 87,750 SPS | 0.28 |\n",
        "progress \xff\xfe\xc3 87.75 ksps \xe2\x82\n",
        "eval_success_rate: 0.93\n",
        "[SUMMARY] Exit code: 1\n[SUMMARY] Termination reason: heartbeat_timeout\n",
        "SPS: 1.23 Msps\n",
        "loss=0.25 loss=0.5\n",
        "warning: nothing to see",
        " here\n",
        "eval success rate: .5\n",
        "1.5e4 sps\n",
    };
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
        size_t k = strlen(parts[i]);
        memcpy(buf + n, parts[i], k);
        n += k;
    }
    /* NUL bytes inside a line that still carries a value */
    static const char nul_line[] = "x\0y\0 SPS=950 \0tail\n";
    memcpy(buf + n, nul_line, sizeof(nul_line) - 1);
    n += sizeof(nul_line) - 1;
    /* a 1000-byte line with an SPS value in it: longer than max_line, skipped and counted */
    memcpy(buf + n, "SPS: 999999 ", 12);
    n += 12;
    memset(buf + n, 'z', 988);
    n += 988;
    buf[n++] = '\n';
    const char *tail = "loss=nan\nstep 9 SPS=2000\n[SUMMARY] Exit code: 0\n"
                       "[SUMMARY] Termination reason: job_completed\neval_success_rate: 1.5\n"
                       "SPS: 1500";
    size_t k = strlen(tail);
    assert_true(n + k <= cap);
    memcpy(buf + n, tail, k);
    return n + k;
}

static const char *const sample_conf =
    "max_line = 256;\n"
    "patterns = ( { name = \"loss\"; regex = \"loss=(\\\\S+)\"; reducers = [\"count\", \"max\"]; "
    "} );\n";

static void check_sample_results(const mock_host *m)
{
    assert_true(metric_value(m, "sps_max") == 1230000);
    assert_true(metric_value(m, "sps_last") == 1500); /* the unterminated last line counts */
    assert_int_equal(mock_host_metric(m, "sps_max")->samples, 9);
    /* issue 14: the last eval line (1.5) is refused, so the earlier 0.5 is not reported as last */
    assert_null(mock_host_metric(m, "eval_success_rate"));
    assert_non_null(mock_host_note(m, "eval_success_rate is not posted"));
    assert_true(metric_value(m, "exit_code") == 0);
    assert_string_equal(mock_host_label(m, "termination_reason"), "job_completed");
    assert_true(metric_value(m, "loss_count") == 2);
    assert_true(metric_value(m, "loss_max") == 0.5);
    assert_non_null(mock_host_note(m, "1 log line longer than max_line (256 bytes) skipped"));
    assert_non_null(mock_host_note(m, "\"nan\""));
}

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

/* ---- Internals ------------------------------------------------------------------------------- */

struct lit_case {
    const char *re;
    const char *want; /* "" = no prefilter */
    int at_start;     /* every match starts with the literal */
};

static void test_plugins_metrics_regex__derived_prefilters_are_literals_every_match_contains(
    void **state)
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

static void test_plugins_metrics_regex__prefilter_finds_literals_in_either_case_anywhere(
    void **state)
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

static void test_plugins_metrics_regex__numbers_are_read_strictly(void **state)
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

static void test_plugins_metrics_regex__explicit_empty_prefilter_gives_the_same_results(
    void **state)
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

static void test_plugins_metrics_regex__search_shortcuts_give_what_every_line_matching_gives(
    void **state)
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

static void test_plugins_metrics_regex__without_jit_the_interpreter_gives_the_same_results(
    void **state)
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
            test_plugins_metrics_regex__explicit_empty_prefilter_gives_the_same_results),
        cmocka_unit_test(
            test_plugins_metrics_regex__search_shortcuts_give_what_every_line_matching_gives),
        cmocka_unit_test(
            test_plugins_metrics_regex__without_jit_the_interpreter_gives_the_same_results),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
