/* SPDX-License-Identifier: MIT */
/*
 * tests/reports/reports_big.c - the Markdown notes of a release with thousands of jobs: written
 * with a bounded heap (the jobs' records are read one at a time, the text goes out in chunks),
 * and the same rows in the same order as the whole record (record_read()) gives them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/util.h"
#include "record/record.h"
#include "view/report_files.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { N = 3000 };

/* A release of one step "bench" with N jobs (a check each, a note on every tenth, in a shuffled
 * key order) and one job of a step the state has no record of (it comes last). */
static json_t *big_state(void)
{
    json_t *root = json_object(), *jobs = json_object(), *steps = json_object();
    json_object_set_new(root, "schema", json_integer(1));
    json_object_set_new(root, "version", json_string("big"));
    json_object_set_new(root, "finished", json_true());
    json_object_set_new(root, "exit_code", json_integer(0));
    json_object_set_new(steps, "bench",
                        json_pack("{s:i, s:s, s:b, s:s, s:s}", "position", 0, "plugin", "workflow",
                                  "required", 1, "outcome", "PASSED", "started_at",
                                  "2026-12-07T05:00:00Z"));
    json_object_set_new(root, "steps", steps);
    for (int k = 0; k <= N; k++) {
        int i = k == N ? -1 : (k * 7919) % N; /* every i once, not in order */
        char *id = i < 0 ? xstrdup("other/late") : xasprintf("bench/v%05d", i);
        json_t *ev = json_pack("{s:{s:{s:f}}, s:[{s:s, s:s, s:f, s:f, s:b}], s:[]}", "metrics",
                               "sps", "value", 100.0 + i, "checks", "key", "sps", "op",
                               ">=", "expected", 50.0, "actual", 100.0 + i, "passed", 1, "notes");
        if (i % 10 == 0)
            json_array_append_new(json_object_get(ev, "notes"),
                                  json_sprintf("run %d: retried once", i));
        json_object_set_new(jobs, id,
                            json_pack("{s:s, s:s, s:s, s:s, s:i, s:i, s:f, s:s, s:o}", "step",
                                      i < 0 ? "other" : "bench", "validation", strchr(id, '/') + 1,
                                      "lifecycle", "completed", "outcome", "PASSED", "attempt", 1,
                                      "exit_code", 0, "duration_s", 0.25, "log_path",
                                      "/var/tmp/relhost/logs/bench/a-log.log", "evidence", ev));
        free(id);
    }
    json_object_set_new(root, "jobs", jobs);
    return root;
}

/* The heap in use, sampled at each write of the report: its high mark above a start. */
struct sampler {
    FILE *sink;
    size_t start, peak;
};

static ssize_t sample_write(void *c, const char *buf, size_t n)
{
    struct sampler *s = c;
    struct mallinfo2 m = mallinfo2();
    if (m.uordblks > s->start && m.uordblks - s->start > s->peak)
        s->peak = m.uordblks - s->start;
    return (ssize_t)fwrite(buf, 1, n, s->sink);
}

static void test_reports_big__notes_of_many_jobs_keep_a_bounded_heap(void **unused)
{
    json_t *root;
    struct sampler s = {0};
    cookie_io_functions_t io = {.write = sample_write};
    FILE *out;
    (void)unused;
#if defined(__SANITIZE_ADDRESS__)
    skip(); /* the sanitizer's allocator keeps its own books */
#endif
    root = big_state();
    assert_non_null(s.sink = tmpfile());
    assert_non_null(out = fopencookie(&s, "w", io));
    s.start = mallinfo2().uordblks;
    assert_int_equal(report_md(root, NULL, out, NULL), 0);
    assert_int_equal(fclose(out), 0);
    /* The text is about 200 bytes a job here (a row and a check); each job's record read back
     * was over 1.5 KiB, and the whole text was held three times over. */
    if (s.peak / N > 640)
        fail_msg("%zu bytes of heap a job while the notes were written (at most 640)", s.peak / N);
    fclose(s.sink);
    json_decref(root);
}

/* The next line of text from *p that starts with lead, or NULL. */
static char *next_line(char **p, const char *lead)
{
    while (*p && **p) {
        char *line = *p, *nl = strchr(line, '\n');
        *p = nl ? nl + 1 : line + strlen(line);
        if (strncmp(line, lead, strlen(lead)) == 0)
            return line;
    }
    return NULL;
}

static void test_reports_big__notes_of_many_jobs_follow_the_record_order(void **unused)
{
    json_t *root = big_state();
    release_record rec;
    char *text = NULL, *p;
    size_t len = 0, notes = 0;
    FILE *out = open_memstream(&text, &len);
    (void)unused;
    assert_int_equal(report_md(root, NULL, out, NULL), 0);
    assert_int_equal(fclose(out), 0);
    assert_int_equal(record_read(root, &rec), 0);
    assert_int_equal(rec.njobs, N + 1);
    assert_string_equal(rec.jobs[N].id, "other/late");
    assert_non_null(strstr(text, "3001 validations: 3001 PASSED; 3001 of 3001 checks passed"));
    p = strstr(text, "\n## Validations\n");
    assert_non_null(p);
    next_line(&p, "|---");
    for (size_t i = 0; i < rec.njobs; i++) {
        char *want = xasprintf("| %s | %s | PASSED |", rec.jobs[i].step, rec.jobs[i].validation);
        char *line = next_line(&p, "| ");
        if (!line || strncmp(line, want, strlen(want)) != 0)
            fail_msg("validation row %zu: want \"%s\"", i, want);
        free(want);
    }
    p = strstr(p, "\n## Checks\n");
    assert_non_null(p);
    next_line(&p, "|---");
    for (size_t i = 0; i < rec.njobs; i++) {
        char *want = xasprintf("| %s | sps | ", rec.jobs[i].id);
        char *line = next_line(&p, "| ");
        if (!line || strncmp(line, want, strlen(want)) != 0)
            fail_msg("check row %zu: want \"%s\"", i, want);
        free(want);
    }
    p = strstr(p, "\n## Notes\n");
    assert_non_null(p);
    while (next_line(&p, "- **bench/v"))
        notes++;
    assert_int_equal(notes, N / 10);
    record_free(&rec);
    free(text);
    json_decref(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reports_big__notes_of_many_jobs_keep_a_bounded_heap),
        cmocka_unit_test(test_reports_big__notes_of_many_jobs_follow_the_record_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
