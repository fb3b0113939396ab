/* SPDX-License-Identifier: MIT */
/*
 * plugins/metrics_regex/fast.c, the hand matchers for the default SPS and eval patterns' common
 * forms: they must give exactly what PCRE2 gives. This file is compiled with MR_FAST_CHECK, so every answer
 * it gives is also checked against PCRE2 on the spot (the process aborts on a difference); on top
 * of that, each log here is read twice, with the hand matcher and with it switched off, and
 * everything posted (metrics, samples, labels, notes) must be the same. The tests also check that
 * the hand matcher does answer for the trainer's forms, so that the comparison is not vacuous.
 */
#include "metrics_regex_common.h"

/* Feed log (in chunks of `chunk` bytes, 0: whole) to a fresh job with the hand matcher on or
 * off; what was posted goes to f->m (reset first). Returns the matches the hand matcher gave. */
static uint64_t run_log(struct fx *f, const char *log, size_t len, size_t chunk, int fast)
{
    struct metrics_regex *inst = f->inst;
    const relhost_metrics_ops *ops = f->pl->metrics;
    void *job = NULL;
    int was[64];
    assert_true(inst->n_pats <= 64);
    for (size_t i = 0; i < inst->n_pats; i++) {
        was[i] = inst->pats[i].fast;
        if (!fast)
            inst->pats[i].fast = 0;
    }
    mock_host_reset(&f->m);
    assert_int_equal(ops->job_open(&f->m.ctx, inst, NULL, &job), 0);
    for (size_t i = 0; i < len;) {
        size_t n = chunk == 0 || chunk > len - i ? len - i : chunk;
        assert_int_equal(ops->feed(&f->m.ctx, job, log + i, n), 0);
        i += n;
    }
    assert_int_equal(ops->collect(&f->m.ctx, job), 0);
    uint64_t hits = ((struct metrics_regex_job *)job)->fast_hits;
    ops->job_close(job);
    for (size_t i = 0; i < inst->n_pats; i++)
        inst->pats[i].fast = was[i];
    return hits;
}

/* The log read with and without the hand matcher posts the same; returns the hand matches. */
static uint64_t same_both_ways(struct fx *f, const char *log, size_t len, size_t chunk)
{
    uint64_t hits = run_log(f, log, len, chunk, 1);
    char *with = fx_dump(&f->m);
    assert_int_equal(run_log(f, log, len, chunk, 0), 0);
    char *without = fx_dump(&f->m);
    if (strcmp(with, without) != 0)
        fail_msg("log \"%.200s\": with the hand matcher\n%s\nwithout\n%s", log, with, without);
    free(with);
    free(without);
    return hits;
}

static void test_plugins_metrics_regex_fast__the_trainer_forms_are_matched_by_hand(void **state)
{
    (void)state;
    static const struct {
        const char *line;
        double last;
    } forms[] = {
        {"[2025-10-02 12:00:01] INFO  step 7 | SPS: 31000 | loss 0.1 | reward 0.2\n", 31000},
        {"[2025-10-02 12:00:01] INFO  step 7 | sps: 31,000 | policy_loss 0.1\n", 31000},
        {"[2025-10-02 12:00:01] INFO  throughput 87.75 ksps, agent steps 12\n", 87750},
        {"| 1024 | 87,750 SPS | 0.1 | 0.2 | 0.3 |\n", 87750},
        {"[2025-10-02 12:00:01] INFO  env 3: 41000 sps\n", 41000},
        {"[2025-10-02 12:00:01] INFO  total 1.23 Msps across 4 nodes\n", 1230000},
        {"SPS=2500\n", 2500},
        {"sps:   1,234,567.5\n", 1234567.5},
        {"(950 sps)\n", 950},
    };
    struct fx *f = fx_new(NULL);
    for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        size_t len = strlen(forms[i].line);
        if (same_both_ways(f, forms[i].line, len, 0) != 1)
            fail_msg("\"%s\" was not matched by hand", forms[i].line);
        run_log(f, forms[i].line, len, 0, 1);
        assert_true(metric_value(&f->m, "sps_last") == forms[i].last);
    }
    fx_free(f);
}

static void test_plugins_metrics_regex_fast__the_eval_forms_are_matched_by_hand(void **state)
{
    (void)state;
    static const struct {
        const char *line;
        double last;
    } forms[] = {
        {"[2025-10-02 12:00:01] INFO  eval_success_rate: 0.13\n", 0.13},
        {"[2025-10-02 12:00:01] INFO  eval success rate: 0.5\n", 0.5},
        {"Eval-Success-Rate=1 | step 4\n", 1},
        {"evalsuccessrate : 0\n", 0},
        {"(eval_success_rate: 0.75)\n", 0.75},
    };
    struct fx *f = fx_new(NULL);
    for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        size_t len = strlen(forms[i].line);
        if (same_both_ways(f, forms[i].line, len, 0) != 1)
            fail_msg("\"%s\" was not matched by hand", forms[i].line);
        run_log(f, forms[i].line, len, 0, 1);
        assert_true(metric_value(&f->m, "eval_success_rate") == forms[i].last);
    }
    fx_free(f);
}

/* Near misses of the eval forms: left to PCRE2, or answered exactly as it does. */
static void test_plugins_metrics_regex_fast__eval_near_misses_read_as_pcre2_reads_them(void **state)
{
    (void)state;
    static const char *const lines[] = {
        "eval_success_rate: 1.5\n",
        "eval_success_rate: 87.5%\n",
        "eval_success_rate: .5\n",
        "eval_success_rate: -0.5\n",
        "eval_success_rate: 0.5.1\n",
        "eval_success_rate: 1,000\n",
        "eval_success_rate: 1e-1\n",
        "eval_success_rate: 1 / 2\n",
        "eval_success_rate: 1/2\n",
        "eval_success_rate: nan\n",
        "eval_success_rate: '0.5'\n",
        "eval_success_rate': 0.5\n",
        "eval_success_rate[0m: 0.5\n",
        "[1meval_success_rate: 0.5\n",
        "[1;32meval_success_rate: 0.5\n",
        "xeval_success_rate: 0.5\n",
        "my.eval_success_rate: 0.5\n",
        "--eval_success_rate: 0.5\n",
        "eval__success_rate: 0.5\n",
        "eval_successrate: 0.5\n",
        "eval_success_rates: 0.5\n",
        "eval_success_rate 0.5\n",
        "eval_success_rate:\n",
        "eval_success_rate: 0.5x\n",
        "eval_success_rate: 0.5, 0.6\n",
        "total 10 evals 50% successful eval_success_rate: 0.5\n",
        "successes: 3/4 (75%) eval_success_rate: 0.5\n",
        "eval_success_rate: 0.5 eval_success_rate: 0.25\n",
        "eval_success eval_success_rate: 0.5\n",
        "m eval_success_rate: 0.5\n",
        "eval\tsuccess\vrate=0\n",
    };
    struct fx *f = fx_new(NULL);
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
        same_both_ways(f, lines[i], strlen(lines[i]), 0);
    fx_free(f);
}

/* Near misses the hand matcher must leave to PCRE2 (or answer exactly as it does). */
static void test_plugins_metrics_regex_fast__near_misses_read_as_pcre2_reads_them(void **state)
{
    (void)state;
    static const char *const lines[] = {
        "SPS: 31,0000\n",
        "SPS: 1.5e4\n",
        "SPS: 31000ksps\n",
        "SPS: 31000 ksps\n",
        "SPS: 1 / 40\n",
        "SPS: 31000.\n",
        "SPS: -5\n",
        "SPS:nan\n",
        "--min-sps: 5\n",
        "x.SPS: 5\n",
        "12 SPS: 31000\n",
        "1.5. sps\n",
        "3 sps: 4\n",
        "3 sps 4\n",
        "3 sps nan\n",
        "3 spsx 4 sps\n",
        "3 k 2 sps\n",
        "[1m3 sps\n",
        "step_3 sps\n",
        "n 3 sps\n",
        "nan sps 3 sps\n",
        "3:4 sps\n",
        "3, 4 sps\n",
        "3 'sps'\n",
        "3 sps' : 1\n",
        "SPS: 10 | SPS: 20\n",
        "1 sps 2 sps 3 sps\n",
        "SPS: 1,000,000.25|\n",
        "SPS: 1,00\n",
        "SPS: 12,345,6\n",
        "\xe2\x88\x92"
        "5 sps\n",
        "SPS: 5 /2\n",
        "SPS: 5 M\n",
        "SPS: 5)\n",
        "env 1: 2 k sps\n",
        "[;m5 sps: 7\n",
        "[0m5 sps\n",
        "x [;m5 sps\n",
        "[m 5 sps\n",
    };
    struct fx *f = fx_new(NULL);
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
        same_both_ways(f, lines[i], strlen(lines[i]), 0);
    fx_free(f);
}

/* Lines built from the bytes and words these forms are made of, in every order: PCRE2 is the
 * oracle for each answer (MR_FAST_CHECK), and the whole log must post the same both ways. */
/* Lines of k random parts each, 40 logs of 1 MiB, every one read both ways; returns the hand
 * matches. */
static uint64_t generated_both_ways(const char *const *parts, size_t np, unsigned seed)
{
    size_t cap = 1 << 20, n = 0;
    char *log = malloc(cap);
    assert_non_null(log);
    struct fx *f = fx_new(NULL);
    uint64_t hits = 0;
    for (int round = 0; round < 40; round++) {
        n = 0;
        while (n + 512 < cap) {
            seed = seed * 1103515245u + 12345u;
            size_t k = 1 + (seed >> 8) % 12;
            for (size_t j = 0; j < k; j++) {
                seed = seed * 1103515245u + 12345u;
                const char *s = parts[(seed >> 8) % np];
                size_t l = strlen(s);
                memcpy(log + n, s, l);
                n += l;
            }
            log[n++] = '\n';
        }
        hits += same_both_ways(f, log, n, round % 2 ? 65536 : 0);
    }
    fx_free(f);
    free(log);
    return hits;
}

static void test_plugins_metrics_regex_fast__generated_lines_read_as_pcre2_reads_them(void **state)
{
    (void)state;
    static const char *const parts[] = {
        "SPS",      "sps",
        "Sps",      "ksps",
        "Msps",     "msps",
        "bsps",     "gsps",
        "spsx",     ":",
        "=",        " ",
        "  ",       "\t",
        "|",        "[",
        "]",        "(",
        ")",        "'",
        "\"",       ",",
        ".",        "/",
        "-",        "+",
        "_",        "0",
        "7",        "31000",
        "87,75",    "1,000,000",
        "1,0000",   "12",
        "1.5",      "1.",
        ".5",       "1e5",
        "1e-",      "nan",
        "inf",      "n/a",
        "none",     "NaN",
        "k",        "M",
        "x",        "step",
        "env",      "total",
        "1:",       ";",
        "{",        "}",
        "%",        "[1m",
        "[0m",      "\xe2\x88\x92",
        "\xc3\xa9", "steps/s",
        "[;m",      "[1;32m",
        "m5",       "\v",
        "\f",
    };
    uint64_t hits = generated_both_ways(parts, sizeof(parts) / sizeof(parts[0]), 20261206u);
    /* the generator does produce lines the hand matcher answers for */
    if (hits < 1000)
        fail_msg("only %llu matches by hand in the generated lines", (unsigned long long)hits);
}

/* The same for the eval forms, from the bytes and words they are made of. */
static void test_plugins_metrics_regex_fast__generated_eval_lines_read_as_pcre2_reads_them(
    void **state)
{
    (void)state;
    static const char *const parts[] = {
        "eval_success_rate",
        "eval success rate",
        "Eval-Success-Rate",
        "evalsuccessrate",
        "eval",
        "Eval",
        "success",
        "successes",
        "successful",
        "rate",
        "RATE",
        "total",
        "evals",
        "_",
        "-",
        " ",
        "  ",
        "\t",
        ":",
        "=",
        ": ",
        "0",
        "1",
        "0.13",
        "1.0",
        ".5",
        "1,000",
        "1e-1",
        "%",
        "/",
        " / ",
        "nan",
        "'",
        "\"",
        "[",
        "[1m",
        "[0;32m",
        "m",
        "x",
        ".",
        ",",
        "|",
        ")",
        "(",
        "]",
        "}",
        ";",
        "+",
        "\xe2\x88\x92",
        "eval_success_rate: ",
        "eval success rate=",
        " 0.25 ",
        "EVAL_SUCCESS_RATE:",
        " 1 ",
    };
    uint64_t hits = generated_both_ways(parts, sizeof(parts) / sizeof(parts[0]), 20261207u);
    if (hits < 1000)
        fail_msg("only %llu eval matches by hand in the generated lines", (unsigned long long)hits);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plugins_metrics_regex_fast__the_trainer_forms_are_matched_by_hand),
        cmocka_unit_test(test_plugins_metrics_regex_fast__the_eval_forms_are_matched_by_hand),
        cmocka_unit_test(
            test_plugins_metrics_regex_fast__eval_near_misses_read_as_pcre2_reads_them),
        cmocka_unit_test(test_plugins_metrics_regex_fast__near_misses_read_as_pcre2_reads_them),
        cmocka_unit_test(test_plugins_metrics_regex_fast__generated_lines_read_as_pcre2_reads_them),
        cmocka_unit_test(
            test_plugins_metrics_regex_fast__generated_eval_lines_read_as_pcre2_reads_them),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
