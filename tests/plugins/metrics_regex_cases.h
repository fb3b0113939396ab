/* SPDX-License-Identifier: MIT */
/*
 * metrics_regex_cases.h - the harness the table-driven tests of plugins/metrics_regex share
 * (metrics_regex_table.c, metrics_regex_presets.c): a case, running it through the plugin with a
 * mock host at every chunking, and the expectation syntax (see metrics_regex_table.c). Included
 * after the plugin's source, cmocka.h and mock_host.h, by one test file each.
 */
#ifndef RELHOST_TEST_METRICS_REGEX_CASES_H
#define RELHOST_TEST_METRICS_REGEX_CASES_H

struct tcase {
    const char *log;
    size_t len; /* 0: strlen(log) */
    const char *conf;
    const char *expect;
};

#define L(s) s, sizeof(s) - 1

/* ---- Running a case -------------------------------------------------------------------------- */

static char *dump(const mock_host *m)
{
    size_t cap = 1 << 16, n = 0;
    char *s = calloc(1, cap);
    assert_non_null(s);
    for (size_t i = 0; i < m->n_metrics; i++)
        n += (size_t)snprintf(s + n, cap - n, "metric %s=%.17g %s %llu\n", m->metrics[i].key,
                              m->metrics[i].value, m->metrics[i].reducer,
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

struct runner {
    mock_host m;
    const relhost_plugin *pl;
    struct metrics_regex_conf conf;
    optstore *st;
    void *inst;
};

static void runner_open(struct runner *r, const char *conf)
{
    memset(r, 0, sizeof(*r));
    mock_host_init(&r->m);
    assert_int_equal(relhost_plugin_entry(&r->m.host, &r->pl), 0);
    if (options_fill_text(r->pl, &r->conf, conf ? conf : "", &r->st) != 0)
        fail_msg("conf %s: %s", conf, error_last());
    if (r->pl->metrics->open(&r->m.ctx, &r->conf, &r->inst) != 0)
        fail_msg("open: %s", mock_host_last_fail(&r->m));
}

static void runner_close(struct runner *r)
{
    r->pl->metrics->close(r->inst);
    optstore_free(r->st);
    mock_host_free(&r->m);
}

/* Feed [0, cut) then [cut, len) in chunks of `chunk` bytes; return what was posted. */
static char *run(struct runner *r, const char *log, size_t len, size_t cut, size_t chunk)
{
    const relhost_metrics_ops *ops = r->pl->metrics;
    void *job = NULL;
    mock_host_reset(&r->m);
    assert_int_equal(ops->job_open(&r->m.ctx, r->inst, NULL, &job), 0);
    assert_int_equal(ops->feed(&r->m.ctx, job, log, cut), 0);
    for (size_t i = cut; i < len;) {
        size_t n = len - i < chunk ? len - i : chunk;
        assert_int_equal(ops->feed(&r->m.ctx, job, log + i, n), 0);
        i += n;
    }
    assert_int_equal(ops->collect(&r->m.ctx, job), 0);
    struct metrics_regex_job *j = job;
    assert_true(j->carry_cap <= ((struct metrics_regex *)r->inst)->max_line);
    ops->job_close(job);
    return dump(&r->m);
}

/* Does the recorded output satisfy the expectation? Explains the first mismatch in *why. */
static int check(const mock_host *m, const char *expect, char *why, size_t cap)
{
    char buf[1024];
    size_t notes_wanted = 0;
    char *save = NULL;
    snprintf(buf, sizeof(buf), "%s", expect);
    int *metric_seen = calloc(m->n_metrics + 1, sizeof(int));
    int *label_seen = calloc(m->n_labels + 1, sizeof(int));
    int ok = 1;
    for (char *t = strtok_r(buf, ";", &save); t != NULL && ok; t = strtok_r(NULL, ";", &save)) {
        if (t[0] == '~') {
            notes_wanted++;
            if (mock_host_note(m, t + 1) == NULL) {
                snprintf(why, cap, "no note contains \"%s\"", t + 1);
                ok = 0;
            }
            continue;
        }
        if (t[0] == '!') {
            /* "!key": the source says key's value was refused (RELHOST_LABEL_REFUSED) */
            char name[300];
            snprintf(name, sizeof(name), "%s%s", RELHOST_LABEL_REFUSED, t + 1);
            if (mock_host_label(m, name) == NULL) {
                snprintf(why, cap, "no label %s", name);
                ok = 0;
            }
            for (size_t i = 0; i < m->n_labels; i++)
                label_seen[i] |= strcmp(m->labels[i].key, name) == 0;
            continue;
        }
        int label = t[0] == '@';
        char *key = t + label, *eq = strchr(key, '=');
        assert_non_null(eq);
        *eq = '\0';
        if (label) {
            const char *v = mock_host_label(m, key);
            if (v == NULL || strcmp(v, eq + 1) != 0) {
                snprintf(why, cap, "label %s is %s, want %s", key, v ? v : "(not posted)", eq + 1);
                ok = 0;
            }
            for (size_t i = 0; i < m->n_labels; i++)
                label_seen[i] |= strcmp(m->labels[i].key, key) == 0;
            continue;
        }
        const mock_metric *mm = mock_host_metric(m, key);
        double want = strtod(eq + 1, NULL);
        if (mm == NULL || mm->value != want) {
            if (mm == NULL)
                snprintf(why, cap, "metric %s not posted, want %.17g", key, want);
            else
                snprintf(why, cap, "metric %s = %.17g, want %.17g", key, mm->value, want);
            ok = 0;
        }
        for (size_t i = 0; i < m->n_metrics; i++)
            metric_seen[i] |= strcmp(m->metrics[i].key, key) == 0;
    }
    for (size_t i = 0; ok && i < m->n_metrics; i++)
        if (!metric_seen[i]) {
            snprintf(why, cap, "unexpected metric %s = %.17g", m->metrics[i].key,
                     m->metrics[i].value);
            ok = 0;
        }
    for (size_t i = 0; ok && i < m->n_labels; i++)
        if (!label_seen[i]) {
            snprintf(why, cap, "unexpected label %s = %s", m->labels[i].key, m->labels[i].value);
            ok = 0;
        }
    if (ok && notes_wanted == 0 && m->n_notes > 0) {
        snprintf(why, cap, "unexpected note: %s", m->notes[0]);
        ok = 0;
    }
    if (ok && m->n_fails > 0) {
        snprintf(why, cap, "fail: %s", m->fails[0]);
        ok = 0;
    }
    free(metric_seen);
    free(label_seen);
    return ok;
}

static void printable(char *dst, size_t cap, const char *s, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n && k + 5 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f)
            dst[k++] = (char)c;
        else
            k += (size_t)snprintf(dst + k, cap - k, "\\x%02x", c);
    }
    dst[k] = '\0';
}

/* Run every case whole, then at every chunking and every cut: each must post what the whole
 * log posts, and the whole log what the case expects. */
static void run_cases(const struct tcase *cases, size_t n_cases)
{
    size_t failures = 0, runs = 0;
    for (size_t c = 0; c < n_cases; c++) {
        const struct tcase *tc = &cases[c];
        size_t len = tc->len ? tc->len : strlen(tc->log);
        char shown[160], why[512] = "";
        printable(shown, sizeof(shown), tc->log, len < 60 ? len : 60);
        struct runner r;
        runner_open(&r, tc->conf);
        char *whole = run(&r, tc->log, len, 0, len ? len : 1);
        if (!check(&r.m, tc->expect, why, sizeof(why))) {
            print_message("case %zu \"%s\": %s\n%s", c, shown, why, whole);
            failures++;
            free(whole);
            runner_close(&r);
            continue;
        }
        /* Long logs: every chunk size up to 64, then a sample; every cut up to 64, then a
         * sample. Short logs: all of them. */
        size_t step = len > 512 ? len / 97 + 1 : 1;
        int differs = 0;
        for (size_t k = 1; k <= len && !differs; k += (k < 64 ? 1 : step)) {
            char *got = run(&r, tc->log, len, 0, k);
            runs++;
            if (strcmp(got, whole) != 0) {
                print_message("case %zu \"%s\": %zu-byte chunks give\n%sbut whole gives\n%s", c,
                              shown, k, got, whole);
                differs = 1;
            }
            free(got);
        }
        for (size_t k = 0; k <= len && !differs; k += (k < 64 ? 1 : step)) {
            char *got = run(&r, tc->log, len, k, len);
            runs++;
            if (strcmp(got, whole) != 0) {
                print_message("case %zu \"%s\": cut at %zu gives\n%sbut whole gives\n%s", c, shown,
                              k, got, whole);
                differs = 1;
            }
            free(got);
        }
        failures += (size_t)differs;
        free(whole);
        runner_close(&r);
    }
    print_message("%zu cases, %zu chunked runs compared with the whole-log run\n", n_cases, runs);
    if (failures > 0)
        fail_msg("%zu of %zu cases failed", failures, n_cases);
}

#endif
