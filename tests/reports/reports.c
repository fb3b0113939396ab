/* SPDX-License-Identifier: MIT */
/*
 * tests/reports/reports.c - the report renderers on states built here: hostile strings (XML
 * specials, "]]>", NUL, invalid UTF-8, terminal escapes, Markdown pipes), log tails of any size,
 * the decision table, ordering, numbers, redaction, and report_write()'s files. The golden files,
 * the XSD and the JSON schema are checked by reports.py.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/secrets.h"
#include "base/util.h"
#include "view/report_files.h"
#include "view/text.h"

#include <relhost/plugin.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmp[PATH_MAX];

static int group_setup(void **state)
{
    const char *base = getenv("RELHOST_TEST_TMP");
    (void)state;
    snprintf(tmp, sizeof tmp, "%s/reports-XXXXXX", base ? base : "/tmp");
    return mkdtemp(tmp) ? 0 : -1;
}

static char *in_tmp(const char *name) { return xasprintf("%s/%s", tmp, name); }

static void write_file(const char *path, const char *data, size_t n)
{
    FILE *f = fopen(path, "we");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

static char *slurp(const char *path, size_t *n)
{
    strbuf b;
    char buf[4096];
    ssize_t r;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    sb_init(&b);
    while ((r = read(fd, buf, sizeof buf)) > 0)
        sb_add(&b, buf, (size_t)r);
    close(fd);
    if (n)
        *n = b.len;
    return sb_take(&b);
}

typedef int (*renderer)(json_t *, FILE *, char **);

static int md_norepo(json_t *root, FILE *out, char **err)
{
    return report_md(root, NULL, out, err);
}

/* The report as a heap string (its length in *n when n is not NULL); asserts success. Not
 * inlined: gcc 12 at -O3 then takes the returned buffer for the address of the local `text`
 * (a false -Wdangling-pointer in every caller). */
__attribute__((noinline)) static char *render_n(renderer r, json_t *root, size_t *n)
{
    char *text = NULL, *err = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    assert_int_equal(r(root, f, &err), 0);
    assert_null(err);
    assert_int_equal(fclose(f), 0);
    if (n)
        *n = len;
    return text;
}

static char *render(renderer r, json_t *root) { return render_n(r, root, NULL); }

/* A state with one step and, when validation is not NULL, one job of it. */
static json_t *state_with(const char *step_outcome, const char *validation, const char *job_outcome)
{
    json_t *root = json_pack("{s:i, s:i, s:s, s:s, s:b, s:i}", "schema", 1, "seq", 3, "version",
                             "1.0", "plan_name", "p", "finished", 1, "exit_code", 0);
    json_t *steps = json_object(), *jobs = json_object();
    json_object_set_new(steps, "tests",
                        json_pack("{s:s, s:b, s:s, s:s, s:f}", "plugin", "workflow", "required", 1,
                                  "outcome", step_outcome, "started_at", "2025-01-01T00:00:00Z",
                                  "duration_s", 1.5));
    if (validation) {
        char *id = xasprintf("tests/%s", validation);
        json_object_set_new(jobs, id,
                            json_pack("{s:s, s:s, s:s, s:s, s:i}", "step", "tests", "validation",
                                      validation, "outcome", job_outcome, "lifecycle", "completed",
                                      "attempt", 1));
        free(id);
    }
    json_object_set_new(root, "steps", steps);
    json_object_set_new(root, "jobs", jobs);
    return root;
}

static json_t *job_of(json_t *root, const char *validation)
{
    char *id = xasprintf("tests/%s", validation);
    json_t *j = json_object_get(json_object_get(root, "jobs"), id);
    free(id);
    return j;
}

static json_t *evidence_of(json_t *obj)
{
    json_t *ev = json_object_get(obj, "evidence");
    if (!ev) {
        ev = json_pack("{s:{}, s:[], s:{}, s:[], s:[]}", "metrics", "checks", "labels", "artifacts",
                       "notes");
        json_object_set_new(obj, "evidence", ev);
    }
    return ev;
}

static void add_note(json_t *obj, json_t *note)
{
    json_array_append_new(json_object_get(evidence_of(obj), "notes"), note);
}

/* Strict UTF-8 and nothing XML 1.0 forbids: no C0 control but tab and newline (CR is
 * normalised away by parsers), no U+FFFE / U+FFFF. */
static void assert_xml_chars(const char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        size_t len = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
        if (c < 0x20 && c != '\t' && c != '\n')
            fail_msg("control byte 0x%02x at offset %zu", c, i);
        if (c >= 0x80 && (c < 0xC2 || c > 0xF4))
            fail_msg("invalid UTF-8 lead byte 0x%02x at offset %zu", c, i);
        assert_true(i + len <= n);
        for (size_t k = 1; k < len; k++)
            if (((unsigned char)s[i + k] & 0xC0) != 0x80)
                fail_msg("invalid UTF-8 continuation at offset %zu", i + k);
        if (len == 3 && c == 0xEF && (unsigned char)s[i + 1] == 0xBF &&
            ((unsigned char)s[i + 2] == 0xBE || (unsigned char)s[i + 2] == 0xBF))
            fail_msg("U+FFFE/U+FFFF at offset %zu", i);
        if (len == 3 && c == 0xED && (unsigned char)s[i + 1] >= 0xA0)
            fail_msg("a surrogate at offset %zu", i);
        i += len;
    }
}

/* Every '&' starts one of the entities the renderer writes. */
static void assert_entities(const char *s)
{
    for (const char *p = strchr(s, '&'); p; p = strchr(p + 1, '&'))
        if (strncmp(p, "&amp;", 5) && strncmp(p, "&lt;", 4) && strncmp(p, "&gt;", 4) &&
            strncmp(p, "&quot;", 6) && strncmp(p, "&#10;", 5) && strncmp(p, "&#9;", 4))
            fail_msg("a bare '&' at: %.20s", p);
}

/* strstr with the text shown when the needle is missing: a failure says what was there. */
#define assert_contains(hay, needle)                                  \
    do {                                                              \
        if (!strstr((hay), (needle)))                                 \
            fail_msg("missing: %s\n--- in ---\n%s", (needle), (hay)); \
    } while (0)

static void clean_is(const char *in, size_t n, const char *want)
{
    strbuf b;
    sb_init(&b);
    text_clean(&b, in, n);
    assert_string_equal(b.s, want);
    sb_free(&b);
}

#define CLEAN_IS(lit, want) clean_is(lit, sizeof lit - 1, want)

static void test_reports__text_clean_leaves_valid_utf8_without_controls(void **state)
{
    (void)state;
    CLEAN_IS("plain ✓ 日本", "plain ✓ 日本");
    CLEAN_IS("a\0b", "a\xEF\xBF\xBD"
                     "b");
    CLEAN_IS("\xff|\xc3\x28|\xed\xa0\x80|\xc0\xaf|\xf4\x90\x80\x80|\xe2\x82",
             "\xEF\xBF\xBD|\xEF\xBF\xBD(|\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD|"
             "\xEF\xBF\xBD\xEF\xBF\xBD|\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD|"
             "\xEF\xBF\xBD\xEF\xBF\xBD");
    CLEAN_IS("\x1b[31;1mred\x1b[0m \x1b]0;title\x07"
             "after \x1b]8;;u\x1b\\"
             "x",
             "red after x");
    CLEAN_IS("a\r\nb\rc\n", "a\nb\nc\n");
    CLEAN_IS("\x01\x08\x0b\x0c\x1b\x7f\ttab",
             "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\x7f\ttab");
    CLEAN_IS("\xef\xbf\xbe\xef\xbf\xbf\xef\xbb\xbf", "\xEF\xBF\xBD\xEF\xBF\xBD\xef\xbb\xbf");
}

static void num_is(double v, const char *want)
{
    char buf[40];
    text_num_format(v, buf, sizeof buf);
    assert_string_equal(buf, want);
}

static void test_reports__numbers_are_the_shortest_that_read_back(void **state)
{
    (void)state;
    num_is(30000, "30000");
    num_is(0.93, "0.93");
    num_is(0.93000000000000005, "0.93");
    num_is(12833.333333333334, "12833.333333333334");
    num_is(0.1 + 0.2, "0.30000000000000004");
    num_is(-0.5, "-0.5");
    num_is(1e9, "1000000000");
    num_is(1e20, "1e+20");
    num_is(1.5e-7, "1.5e-07");
    num_is(0, "0");
    num_is(NAN, "NaN");
    num_is(-INFINITY, "-inf");
}

static void decision_is(int finished, json_t *code, const char *want)
{
    json_t *root = json_object();
    json_object_set_new(root, "finished", json_boolean(finished));
    if (code)
        json_object_set_new(root, "exit_code", code);
    assert_string_equal(report_decision(root), want);
    json_decref(root);
}

static void test_reports__decision_follows_finished_and_exit_code(void **state)
{
    (void)state;
    decision_is(1, json_integer(0), "passed");
    decision_is(1, json_integer(1), "failed");
    decision_is(1, json_integer(3), "undecided");
    decision_is(1, json_integer(4), "frozen");
    decision_is(1, json_integer(2), "undecided");
    decision_is(0, json_integer(75), "deferred");
    decision_is(0, json_integer(130), "interrupted");
    decision_is(0, NULL, "in_progress");
    decision_is(1, NULL, "in_progress");
    decision_is(0, json_null(), "in_progress");
    /* A run started after an earlier one ended (finished reset, old code still there). */
    decision_is(0, json_integer(1), "in_progress");
}

static void test_reports__junit_escapes_hostile_strings(void **state)
{
    json_t *root = state_with("FAILED", "v\"<&>']]>", "FAILED"), *job;
    char *logp = in_tmp("hostile.log"), *xml;
    size_t n;
    static const char log[] = "ok\0NUL ]]> <x> & \xff\xfe \x1b[31mred\x1b[0m\r\nend";
    (void)state;
    write_file(logp, log, sizeof log - 1);
    job = job_of(root, "v\"<&>']]>");
    json_object_set_new(job, "log_path", json_string(logp));
    add_note(job, json_string("note ]]> <script>alert('x')</script> & \x01 \x1b[1mb\x1b[0m"));
    /* NUL inside a state string (jansson can hold one) and a string that is not UTF-8 at all,
     * as a damaged state could carry: neither may reach the XML. */
    add_note(job, json_stringn("before\0after", 12));
    add_note(job, json_stringn_nocheck("bad \xc3\x28 utf8", 12));
    json_array_append_new(json_object_get(evidence_of(job), "checks"),
                          json_pack("{s:s, s:s, s:f, s:n, s:b, s:s}", "key", "k<&>\"", "op", ">=",
                                    "expected", 1.0, "actual", "passed", 0, "note", "]]>\"'"));
    xml = render_n(report_junit, root, &n);
    assert_xml_chars(xml, n);
    assert_entities(xml);
    assert_null(strstr(xml, "]]>"));
    assert_null(strstr(xml, "<script"));
    assert_null(strstr(xml, "<x>"));
    assert_contains(xml, "name=\"v&quot;&lt;&amp;&gt;']]&gt;\"");
    assert_contains(xml, "classname=\"01-tests.v&quot;&lt;&amp;&gt;']]&gt;\"");
    assert_contains(xml, "note ]]&gt; &lt;script&gt;alert('x')&lt;/script&gt; &amp; "
                         "\xEF\xBF\xBD b\n");
    assert_contains(xml, "ok\xEF\xBF\xBDNUL ]]&gt; &lt;x&gt; &amp; \xEF\xBF\xBD\xEF\xBF\xBD "
                         "red\nend\n");
    assert_contains(xml, "note: before\n");
    assert_null(strstr(xml, "bad "));
    assert_contains(xml, "k&lt;&amp;&gt;\" has no value (needs &gt;= 1): ]]&gt;\"'");
    /* Attributes keep their newlines as references, not as spaces a parser would fold. */
    json_object_set_new(json_object_get(json_object_get(root, "steps"), "tests"), "message",
                        json_string("line one\nline\ttwo"));
    json_object_set_new(json_object_get(json_object_get(root, "steps"), "tests"), "outcome",
                        json_string("ERROR"));
    json_object_set_new(job, "outcome", json_string("PASSED"));
    json_array_clear(json_object_get(evidence_of(job), "checks"));
    free(xml);
    xml = render(report_junit, root);
    assert_contains(xml, "message=\"ERROR: line one\""); /* the first line only */
    assert_contains(xml, "line one\nline\ttwo\n</error>");
    free(xml);
    json_decref(root);
    free(logp);
}

/* The number of '|' that separate cells (not escaped as "\|") in one line. */
static int cells(const char *line, size_t n)
{
    int k = 0;
    for (size_t i = 0; i < n; i++) {
        if (line[i] == '\\') {
            i++;
            continue;
        }
        k += line[i] == '|';
    }
    return k;
}

static void test_reports__markdown_cells_stay_in_their_column(void **state)
{
    json_t *root = state_with("FAILED", "a|b", "FAILED"), *job, *step;
    char *md;
    (void)state;
    job = job_of(root, "a|b");
    step = json_object_get(json_object_get(root, "steps"), "tests");
    json_object_set_new(step, "message",
                        json_string("pipe | here\nnew row? | no\r\n`code` <b>x</b>"
                                    " $a$ *s* _u_ snake_case [l](u) ~~d~~"));
    json_object_set_new(job, "log_path", json_string("/logs/a|b`c.log"));
    json_array_append_new(json_object_get(evidence_of(job), "checks"),
                          json_pack("{s:s, s:s, s:f, s:f, s:f, s:b, s:s}", "key", "m|x", "op",
                                    "range", "expected", 0.5, "expected_hi", 1.0, "actual", 2.0,
                                    "passed", 0, "note", "n|o\nte"));
    md = render(md_norepo, root);
    for (const char *l = md; *l;) {
        size_t n = strcspn(l, "\n");
        /* Every table row has as many separators as its header: 9 cells in the steps and
         * validations tables, 7 in the checks table (no baseline column). */
        if (n && l[0] == '|') {
            int k = cells(l, n);
            if (k != 9 && k != 10 && k != 7)
                fail_msg("a table row with %d separators: %.*s", k, (int)n, l);
        }
        l += n + (l[n] == '\n');
    }
    assert_contains(md, "pipe \\| here<br>new row? \\| no<br>\\`code\\` \\<b>x\\</b> "
                        "\\$a\\$ \\*s\\* \\_u\\_ snake_case \\[l\\](u) \\~\\~d\\~\\~ |");
    assert_contains(md, "| tests | a\\|b | FAILED |");
    assert_contains(md, "``/logs/a\\|b`c.log``");
    assert_contains(md, "| tests/a\\|b | m\\|x | 2 | in \\[0.5, 1\\] | FAIL | m\\|x 2 outside "
                        "\\[0.5, 1\\] (needs in \\[0.5, 1\\]); n\\|o<br>te |");
    /* No tag but the <br> the renderer writes: every other '<' is escaped. */
    for (const char *p = strchr(md, '<'); p; p = strchr(p + 1, '<'))
        if (strncmp(p, "<br>", 4) != 0 && (p == md || p[-1] != '\\'))
            fail_msg("an unescaped '<' at: %.20s", p);
    free(md);
    json_decref(root);
}

static void test_reports__log_tails_are_bounded(void **state)
{
    json_t *root = state_with("PASSED", "v", "PASSED"), *job = job_of(root, "v");
    char *logp = in_tmp("long.log"), *xml, *from, *to;
    strbuf b;
    (void)state;
    json_object_set_new(job, "log_path", json_string(logp));

    /* 10000 short lines: the last 50, whole. */
    sb_init(&b);
    for (int i = 0; i < 10000; i++)
        sb_printf(&b, "line %d\n", i);
    write_file(logp, b.s, b.len);
    xml = render(report_junit, root);
    from = strstr(xml, ", its last 50 lines:\nline 9950\n");
    assert_non_null(from);
    assert_contains(from, "line 9999\n</system-out>");
    assert_null(strstr(xml, "line 9949\n"));
    free(xml);

    /* One line of 1 MiB: its last REPORT_TAIL_BYTES bytes. */
    sb_free(&b);
    sb_init(&b);
    for (int i = 0; i < 1024 * 1024; i++)
        sb_putc(&b, (char)('a' + i % 26));
    write_file(logp, b.s, b.len);
    xml = render(report_junit, root);
    from = strstr(xml, ", its last 16384 bytes:\n");
    assert_non_null(from);
    from = strchr(from, '\n') + 1;
    to = strstr(from, "\n</system-out>");
    assert_non_null(to);
    assert_int_equal(to - from, REPORT_TAIL_BYTES);
    free(xml);

    /* 100 lines of 1000 bytes: 50 lines are too many bytes; whole lines still. */
    sb_free(&b);
    sb_init(&b);
    for (int i = 0; i < 100; i++) {
        sb_printf(&b, "%03d", i);
        for (int k = 0; k < 996; k++)
            sb_putc(&b, 'x');
        sb_putc(&b, '\n');
    }
    write_file(logp, b.s, b.len);
    xml = render(report_junit, root);
    from = strstr(xml, ", its last 16000 bytes:\n084x");
    assert_non_null(from);
    assert_contains(from, "\n099x");
    free(xml);

    /* An empty log, a missing one, a folder, none recorded. */
    write_file(logp, "", 0);
    xml = render(report_junit, root);
    assert_contains(xml, " is empty\n");
    free(xml);
    json_object_set_new(job, "log_path", json_string("/nonexistent/relhost.log"));
    xml = render(report_junit, root);
    assert_contains(xml, "log /nonexistent/relhost.log cannot be read: No such file or "
                         "directory\n");
    free(xml);
    json_object_set_new(job, "log_path", json_string(tmp));
    xml = render(report_junit, root);
    assert_contains(xml, "cannot be read: not a regular file\n");
    free(xml);
    json_object_set_new(job, "log_path", json_null());
    xml = render(report_junit, root);
    assert_contains(xml, "no log recorded for this job\n");
    free(xml);
    sb_free(&b);
    json_decref(root);
    free(logp);
}

static void test_reports__steps_order_by_position_then_start_then_name(void **state)
{
    json_t *root = json_object(), *steps = json_object(), *m, *arr, *v;
    const char *want[] = {"b", "a2", "z1", "a1", "x", "y"}, *s;
    size_t i;
    (void)state;
    /* Inserted in an order that is neither: the report must not depend on it. */
    json_object_set_new(steps, "y", json_pack("{s:s}", "outcome", "SKIPPED"));
    json_object_set_new(steps, "a1", json_pack("{s:s}", "started_at", "2025-01-01T00:00:02Z"));
    json_object_set_new(steps, "x", json_pack("{s:s}", "outcome", "SKIPPED"));
    json_object_set_new(steps, "z1", json_pack("{s:s}", "started_at", "2025-01-01T00:00:01Z"));
    json_object_set_new(steps, "b", json_pack("{s:s}", "started_at", "2024-12-31T23:59:59Z"));
    json_object_set_new(steps, "a2", json_pack("{s:s}", "started_at", "2025-01-01T00:00:01Z"));
    json_object_set_new(root, "steps", steps);
    json_object_set_new(root, "jobs",
                        json_pack("{s:{s:s,s:s}, s:{s:s,s:s}, s:{s:s,s:s}, s:{}}", "a1/v", "step",
                                  "a1", "validation", "v", "z1/w", "step", "z1", "validation", "w",
                                  "z1/a", "step", "z1", "validation", "a", "b/old"));
    m = report_model(root);
    assert_non_null(m);
    arr = json_object_get(m, "steps");
    assert_int_equal(json_array_size(arr), 6);
    json_array_foreach(arr, i, v)
        assert_string_equal(json_string_value(json_object_get(v, "name")), want[i]);
    /* Jobs follow their step; a record without step/validation is read from its id. */
    arr = json_object_get(m, "jobs");
    s = json_string_value(json_object_get(json_array_get(arr, 0), "id"));
    assert_string_equal(s, "b/old");
    assert_string_equal(json_string_value(json_object_get(json_array_get(arr, 0), "validation")),
                        "old");
    assert_string_equal(json_string_value(json_object_get(json_array_get(arr, 1), "id")), "z1/a");
    assert_string_equal(json_string_value(json_object_get(json_array_get(arr, 2), "id")), "z1/w");
    assert_string_equal(json_string_value(json_object_get(json_array_get(arr, 3), "id")), "a1/v");
    json_decref(m);

    /* A recorded plan position outranks the clock (steps started in the same second). */
    json_object_set_new(json_object_get(steps, "y"), "position", json_integer(0));
    json_object_set_new(json_object_get(steps, "z1"), "position", json_integer(2));
    json_object_set_new(json_object_get(steps, "a2"), "position", json_integer(1));
    m = report_model(root);
    arr = json_object_get(m, "steps");
    {
        const char *want2[] = {"y", "a2", "z1", "b", "a1", "x"};
        json_array_foreach(arr, i, v)
            assert_string_equal(json_string_value(json_object_get(v, "name")), want2[i]);
    }
    assert_int_equal(json_integer_value(json_object_get(json_array_get(arr, 1), "position")), 1);
    assert_true(json_is_null(json_object_get(json_array_get(arr, 3), "position")));
    json_decref(m);
    json_decref(root);
}

static void test_reports__wrong_types_read_as_null_and_unknown_outcomes_as_error(void **state)
{
    json_t *root, *m, *step, *job, *check;
    (void)state;
    root = json_pack("{s:s, s:s, s:f, s:[], s:{s:{s:i, s:s, s:s, s:i, s:[i]}},"
                     " s:{s:{s:s, s:s, s:s, s:f, s:{s:s, s:[i,{s:s,s:s}], s:[s], s:{s:i}}}}}",
                     "version", "1", "finished", "yes", "exit_code", 1.0, "candidate", "steps", "s",
                     "outcome", 5, "required", "true", "started_at", "2025-01-01T00:00:00Z",
                     "duration_s", 3, "evidence", 1, "jobs", "s/v", "outcome", "MAYBE", "attempt",
                     "two", "exit_code", "0", "restarts", 1.5, "evidence", "metrics", "x", "checks",
                     7, "key", "k", "actual", "3", "notes", "ok", "labels", "n", 1);
    assert_non_null(root);
    m = report_model(root);
    assert_non_null(m);
    assert_true(json_is_null(json_object_get(json_object_get(m, "release"), "candidate")));
    assert_true(json_is_false(json_object_get(json_object_get(m, "release"), "finished")));
    /* An integral real is an integer; "yes" is not true. */
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(m, "release"), "exit_code")), 1);
    step = json_array_get(json_object_get(m, "steps"), 0);
    assert_true(json_is_null(json_object_get(step, "outcome")));
    assert_true(json_is_false(json_object_get(step, "required")));
    assert_true(json_is_real(json_object_get(step, "duration_s")));
    assert_int_equal(json_array_size(json_object_get(json_object_get(step, "evidence"), "notes")),
                     0);
    job = json_array_get(json_object_get(m, "jobs"), 0);
    assert_string_equal(json_string_value(json_object_get(job, "outcome")), "ERROR");
    assert_true(json_is_null(json_object_get(job, "attempt")));
    assert_true(json_is_null(json_object_get(job, "exit_code")));
    assert_true(json_is_null(json_object_get(job, "restarts")));
    assert_int_equal(json_array_size(json_object_get(json_object_get(job, "evidence"), "metrics")),
                     0);
    check = json_array_get(json_object_get(json_object_get(job, "evidence"), "checks"), 0);
    assert_string_equal(json_string_value(json_object_get(check, "key")), "k");
    assert_true(json_is_null(json_object_get(check, "actual")));
    assert_true(json_is_false(json_object_get(check, "passed")));
    assert_int_equal(json_object_size(json_object_get(json_object_get(job, "evidence"), "labels")),
                     0);
    json_decref(m);
    json_decref(root);
}

static void test_reports__a_red_step_never_renders_as_a_green_suite(void **state)
{
    json_t *root = state_with("ERROR", "v", "PASSED");
    char *xml;
    (void)state;
    json_object_set_new(json_object_get(json_object_get(root, "steps"), "tests"), "reason",
                        json_string("tool_error"));
    xml = render(report_junit, root);
    assert_contains(xml, "<testsuite name=\"01-tests\" tests=\"2\" failures=\"0\" "
                         "errors=\"1\" skipped=\"0\"");
    assert_contains(xml, "<testcase name=\"tests\" classname=\"01-tests\" time=\"1.500\">\n"
                         "      <error message=\"ERROR (tool_error)\"");
    free(xml);
    /* A FAILED step whose job failed: the job says it, no second testcase for the step. */
    json_object_set_new(job_of(root, "v"), "outcome", json_string("FAILED"));
    json_object_set_new(json_object_get(json_object_get(root, "steps"), "tests"), "outcome",
                        json_string("FAILED"));
    xml = render(report_junit, root);
    assert_contains(xml, "tests=\"1\" failures=\"1\" errors=\"0\" skipped=\"0\"");
    assert_null(strstr(xml, "<testcase name=\"tests\""));
    free(xml);
    json_decref(root);
}

/* An optional step's FAILED or ERROR does not block the release, so it must not turn a CI build
 * red: its job, its checks and the step itself are <skipped>, saying what failed and why it does
 * not block. The same step required: <failure> and <error>, as before. */
static void test_reports__optional_failures_are_skipped_required_ones_are_not(void **state)
{
    json_t *root = state_with("FAILED", "v", "FAILED"), *job = job_of(root, "v");
    json_t *step = json_object_get(json_object_get(root, "steps"), "tests");
    char *xml;
    (void)state;
    json_array_append_new(json_object_get(evidence_of(job), "checks"),
                          json_pack("{s:s, s:s, s:f, s:f, s:b}", "key", "sps", "op",
                                    ">=", "expected", 10.0, "actual", 5.0, "passed", 0));
    json_object_set_new(job, "reason", json_string("threshold"));
    xml = render(report_junit, root);
    assert_contains(xml, "tests=\"2\" failures=\"2\" errors=\"0\" skipped=\"0\"");
    assert_contains(xml, "<failure message=\"FAILED (threshold): sps ");
    free(xml);
    json_object_set_new(step, "required", json_false());
    xml = render(report_junit, root);
    assert_null(strstr(xml, "<failure"));
    assert_null(strstr(xml, "<error"));
    assert_contains(xml, "tests=\"2\" failures=\"0\" errors=\"0\" skipped=\"2\"");
    assert_contains(xml, "<skipped message=\"FAILED (threshold; optional step, does not block "
                         "the release): sps ");
    assert_contains(xml, "<property name=\"step.required\" value=\"false\"/>");
    free(xml);
    /* An optional step that errored without a job: its own testcase, skipped. */
    json_object_set_new(step, "outcome", json_string("ERROR"));
    json_object_set_new(step, "reason", json_string("tool_error"));
    json_object_del(json_object_get(root, "jobs"), "tests/v");
    xml = render(report_junit, root);
    assert_null(strstr(xml, "<error"));
    assert_contains(xml, "<skipped message=\"ERROR (tool_error; optional step, does not block "
                         "the release)\"");
    free(xml);
    json_object_set_new(step, "required", json_true());
    xml = render(report_junit, root);
    assert_contains(xml, "<error message=\"ERROR (tool_error)\" type=\"tool_error\"");
    free(xml);
    json_decref(root);
}

static void test_reports__secrets_are_masked_in_every_format(void **state)
{
    static const char secret[] = "s3cr3t-t0ken-value";
    json_t *root = state_with("FAILED", "v", "FAILED"), *job = job_of(root, "v");
    char *logp = in_tmp("secret.log"), *text, *line;
    renderer rs[] = {report_junit, report_json, md_norepo};
    (void)state;
    line = xasprintf("Authorization: Bearer %s\n", secret);
    write_file(logp, line, strlen(line));
    json_object_set_new(job, "log_path", json_string(logp));
    add_note(job, json_string("token s3cr3t-t0ken-value <leaked>"));
    json_object_set_new(json_object_get(json_object_get(root, "steps"), "tests"), "message",
                        json_string("a&s3cr3t-t0ken-value&b"));
    secrets_add(secret);
    for (size_t i = 0; i < 3; i++) {
        text = render(rs[i], root);
        if (strstr(text, secret))
            fail_msg("format %zu shows the secret:\n%s", i, text);
        /* Markdown escapes the mask's stars; the others show it as it is. */
        assert_contains(text, i == 2 ? "\\*\\*\\*\\*\\*\\*\\*\\*" : SECRETS_MASK);
        free(text);
    }
    secrets_clear();
    free(line);
    free(logp);
    json_decref(root);
}

static void test_reports__write_replaces_or_appends_and_says_why_it_cannot(void **state)
{
    json_t *root = state_with("PASSED", NULL, NULL);
    char *path = in_tmp("summary.md"), *once, *twice, *err = NULL, *bad;
    size_t n1, n2;
    int rc;
    (void)state;
    assert_int_equal(report_write(REPORT_MD, root, NULL, path, 0, &err), 0);
    assert_null(err);
    once = slurp(path, &n1);
    assert_non_null(once);
    assert_contains(once, "# Release 1.0: passed\n");
    assert_int_equal(report_write(REPORT_MD, root, NULL, path, 0, &err), 0);
    free(twice = slurp(path, &n2));
    assert_int_equal(n2, n1); /* replaced, not appended */
    assert_int_equal(report_write(REPORT_MD, root, NULL, path, REPORT_APPEND, &err), 0);
    twice = slurp(path, &n2);
    assert_int_equal(n2, 2 * n1);
    assert_memory_equal(twice + n1, once, n1);
    free(once);
    free(twice);

    bad = in_tmp("no-such-folder/report.xml");
    rc = report_write(REPORT_JUNIT, root, NULL, bad, 0, &err);
    assert_int_equal(rc, RELHOST_EIO);
    assert_non_null(err);
    assert_contains(err, "cannot write the report to ");
    assert_contains(err, "no-such-folder/report.xml: No such file or directory");
    free(err);
    err = NULL;
    assert_int_equal(report_write(REPORT_NONE, root, NULL, path, 0, &err), RELHOST_EINVAL);
    assert_string_equal(err, "unknown report format; use junit, json or md");
    free(err);
    assert_int_equal(report_format_parse("junit"), REPORT_JUNIT);
    assert_int_equal(report_format_parse("markdown"), REPORT_MD);
    assert_int_equal(report_format_parse("html"), REPORT_NONE);
    free(bad);
    free(path);
    json_decref(root);
}

static void test_reports__a_state_that_is_not_an_object_is_refused(void **state)
{
    json_t *arr = json_array();
    renderer rs[] = {report_junit, report_json, md_norepo};
    (void)state;
    for (size_t i = 0; i < 3; i++) {
        char *text = NULL, *err = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        assert_int_equal(rs[i](arr, f, &err), RELHOST_EINVAL);
        assert_string_equal(err, "the release state is not a JSON object");
        fclose(f);
        assert_int_equal(len, 0); /* nothing half-written */
        free(text);
        free(err);
    }
    json_decref(arr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reports__text_clean_leaves_valid_utf8_without_controls),
        cmocka_unit_test(test_reports__numbers_are_the_shortest_that_read_back),
        cmocka_unit_test(test_reports__decision_follows_finished_and_exit_code),
        cmocka_unit_test(test_reports__junit_escapes_hostile_strings),
        cmocka_unit_test(test_reports__optional_failures_are_skipped_required_ones_are_not),
        cmocka_unit_test(test_reports__markdown_cells_stay_in_their_column),
        cmocka_unit_test(test_reports__log_tails_are_bounded),
        cmocka_unit_test(test_reports__steps_order_by_position_then_start_then_name),
        cmocka_unit_test(test_reports__wrong_types_read_as_null_and_unknown_outcomes_as_error),
        cmocka_unit_test(test_reports__a_red_step_never_renders_as_a_green_suite),
        cmocka_unit_test(test_reports__secrets_are_masked_in_every_format),
        cmocka_unit_test(test_reports__write_replaces_or_appends_and_says_why_it_cannot),
        cmocka_unit_test(test_reports__a_state_that_is_not_an_object_is_refused),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
