/* SPDX-License-Identifier: MIT */
/* tests/plugins/metrics_regex_common.c - the metrics_regex unit tests' fixture: a conf filled from
 * plan text, an instance on a mock host, a log fed however it is cut, and the sample log with its
 * expected results. */

#include "metrics_regex_common.h"

static const char *fx_where(void *arg, const void *field) { return optstore_where(arg, field); }

/* Fill the conf from plan text and open an instance; the open's return is kept in open_rc. */
struct fx *fx_new(const char *text)
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

void fx_free(struct fx *f)
{
    if (f->inst != NULL)
        f->pl->metrics->close(f->inst);
    optstore_free(f->st);
    mock_host_free(&f->m);
    free(f);
}

/* Feed `log` to a fresh job (cut as asked), collect, close. Recordings go to f->m. */
void fx_run_cut(struct fx *f, const char *log, size_t len, enum cut how, unsigned seed)
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

void fx_run(struct fx *f, const char *log) { fx_run_cut(f, log, strlen(log), CUT_WHOLE, 0); }

/* Everything the plugin told the host, as text, to compare runs. */
char *fx_dump(const mock_host *m)
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

double metric_value(const mock_host *m, const char *key)
{
    const mock_metric *mm = mock_host_metric(m, key);
    if (mm == NULL)
        fail_msg("metric %s was not posted", key);
    return mm->value;
}

/* A log with every format, markers of two attempts, CRLF, NUL bytes, invalid UTF-8, bad values
 * and a line longer than max_line (256 here), built once per test. */
size_t sample_log(char *buf, size_t cap)
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

const char *const sample_conf =
    "max_line = 256;\n"
    "patterns = ( { name = \"loss\"; regex = \"loss=(\\\\S+)\"; reducers = [\"count\", \"max\"]; "
    "} );\n";

void check_sample_results(const mock_host *m)
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
