/* SPDX-License-Identifier: MIT */
/*
 * report_junit.c - the release as JUnit XML, for the test views of Jenkins (junit plugin) and
 * GitLab (artifacts:reports:junit). tests/reports/junit.xsd is the shape both read, and the
 * tests validate every rendering against it with xmllint.
 *
 * Mapping (report_files.h): suite = step, testcase = validation job or check. Outcomes a CI view
 * cannot show are mapped to what it can: INCONCLUSIVE, SKIPPED, WAIVED and unfinished work are
 * <skipped> with the outcome first in the message, so nothing undecided reads as passed and a
 * waiver never reads as a failure.
 */
#include "report_files.h"

#include "error.h"
#include "logview.h"
#include "secrets.h"

#include <relhost/plugin.h>

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef enum tc_kind { TC_PASS, TC_FAILURE, TC_ERROR, TC_SKIPPED } tc_kind;

typedef struct counts {
    long tests, failures, errors, skipped;
} counts;

static const char *jstr(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

/* Text content (attr 0) or a double-quoted attribute value (attr 1), cleaned and escaped. '>' is
 * escaped too, so "]]>" can never appear; in attributes tab and newline are character
 * references, because attribute-value normalisation would turn them into spaces. */
static void xml_put(strbuf *b, const char *s, int attr)
{
    strbuf c;
    sb_init(&c);
    report_text_clean(&c, s, s ? strlen(s) : 0);
    for (size_t i = 0; i < c.len; i++) {
        char ch = c.s[i];
        switch (ch) {
        case '&': sb_puts(b, "&amp;"); break;
        case '<': sb_puts(b, "&lt;"); break;
        case '>': sb_puts(b, "&gt;"); break;
        case '"': sb_puts(b, attr ? "&quot;" : "\""); break;
        case '\n': sb_puts(b, attr ? "&#10;" : "\n"); break;
        case '\t': sb_puts(b, attr ? "&#9;" : "\t"); break;
        default: sb_putc(b, ch);
        }
    }
    sb_free(&c);
}

static void xml_attr(strbuf *b, const char *name, const char *value)
{
    sb_printf(b, " %s=\"", name);
    xml_put(b, value, 1);
    sb_putc(b, '"');
}

static void xml_attr_time(strbuf *b, json_t *seconds)
{
    double t = json_number_value(seconds);
    if (json_is_number(seconds) && isfinite(t) && t >= 0)
        sb_printf(b, " time=\"%.3f\"", t);
}

/* xs:dateTime as the state writes it (YYYY-MM-DDTHH:MM:SSZ); anything else is left out rather
 * than making the document invalid. */
static int is_timestamp(const char *s)
{
    static const char pat[] = "dddd-dd-ddTdd:dd:ddZ";
    if (!s || strlen(s) != sizeof pat - 1)
        return 0;
    for (size_t i = 0; pat[i]; i++)
        if (pat[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != pat[i])
            return 0;
    return 1;
}

static void property(strbuf *b, const char *name, const char *value)
{
    sb_puts(b, "      <property");
    xml_attr(b, "name", name);
    xml_attr(b, "value", value);
    sb_puts(b, "/>\n");
}

/* "; over 3 runs: min 24000, median 30000, max 31000" for a repeated validation's metric (the
 * report model's "repeats"), nothing otherwise. */
static void spread_line(strbuf *b, json_t *sp)
{
    static const char *const stats[] = {"min", "median", "max"};
    if (!json_is_object(sp))
        return;
    sb_printf(b, "; over %" JSON_INTEGER_FORMAT " runs:",
              json_integer_value(json_object_get(sp, "n")));
    for (size_t i = 0; i < 3; i++) {
        char num[40] = "null";
        json_t *x = json_object_get(sp, stats[i]);
        if (json_is_number(x))
            report_num_format(json_number_value(x), num, sizeof num);
        sb_printf(b, "%s %s %s", i ? "," : "", stats[i], num);
    }
    {
        size_t i, n = 0;
        json_t *v;
        json_array_foreach(json_object_get(sp, "values"), i, v)
            n += !json_is_number(v);
        if (n)
            sb_printf(b, " (%zu run%s without a value)", n, n == 1 ? "" : "s");
    }
}

/* "sps_max = 12833, expected >= 30000" (and the baseline and note when the check has them). */
static void check_line(strbuf *b, json_t *c)
{
    json_t *a = json_object_get(c, "actual"), *base = json_object_get(c, "baseline");
    const char *note = jstr(c, "note");
    char num[40];
    const char *key = jstr(c, "key");
    if (json_is_number(a)) {
        report_num_format(json_number_value(a), num, sizeof num);
        sb_printf(b, "%s = %s, expected ", key ? key : "?", num);
    } else {
        sb_printf(b, "%s has no value, expected ", key ? key : "?");
    }
    report_check_expected(c, b);
    if (json_is_number(base)) {
        report_num_format(json_number_value(base), num, sizeof num);
        sb_printf(b, " (baseline %s", num);
        if (json_is_number(json_object_get(c, "bound"))) {
            report_num_format(json_number_value(json_object_get(c, "bound")), num, sizeof num);
            sb_printf(b, ", bound %s", num);
        }
        sb_putc(b, ')');
    }
    if (note)
        sb_printf(b, ": %s", note);
}

/* The last REPORT_TAIL_LINES lines of the log at path, at most REPORT_TAIL_BYTES, read from the
 * end of the file so a log of any size costs one bounded read. The window is read as one buffer
 * and masked whole (core/secrets.h) before it is cut: a secret is matched as the job wrote it,
 * wherever the reads or the cuts fall; a line cut by the window's start is never shown, so a
 * secret straddling it never shows half. */
/* Set by report_junit() for the report it writes: the withheld line (core/logview.h) when a
 * secret variable of the release's runs is not set now, so no log byte goes in. */
static char *tail_withheld;

static void log_tail(strbuf *b, const char *path)
{
    struct stat st;
    char *raw, *buf;
    strbuf red;
    size_t want, got = 0, start = 0, lines = 0, k;
    off_t from;
    int fd, cut_head, cut_bytes = 0;

    if (!path) {
        sb_puts(b, "no log recorded for this job\n");
        return;
    }
    if (tail_withheld) {
        sb_printf(b, "%s\n", tail_withheld);
        return;
    }
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        int e = fd < 0 ? errno : (S_ISREG(st.st_mode) ? errno : EINVAL);
        sb_printf(b, "log %s cannot be read: %s\n", path,
                  e == EINVAL ? "not a regular file" : strerror(e));
        if (fd >= 0)
            close(fd);
        return;
    }
    /* Four times the byte bound: enough for 50 lines of a normal log, and a line that is cut
     * at the window's start is dropped, not shown half. */
    want = (size_t)st.st_size < 4 * REPORT_TAIL_BYTES ? (size_t)st.st_size : 4 * REPORT_TAIL_BYTES;
    from = st.st_size - (off_t)want;
    raw = xmalloc(want + 1);
    while (got < want) {
        ssize_t r = pread(fd, raw + got, want - got, from + (off_t)got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    if (got == 0) {
        sb_printf(b, "log %s is empty\n", path);
        free(raw);
        return;
    }
    sb_init(&red);
    secrets_redact(&red, raw, got);
    free(raw);
    buf = red.s;
    got = red.len;
    cut_head = from > 0;
    if (cut_head) {
        char *nl = memchr(buf, '\n', got);
        if (nl && (size_t)(nl - buf) + 1 < got)
            start = (size_t)(nl - buf) + 1;
        else if (got <= REPORT_TAIL_BYTES)
            /* One line, cut, and masking shrank it below the byte bound: show its second half
             * only, away from the cut. */
            start = got / 2;
    }
    /* Keep the last lines: walk back over REPORT_TAIL_LINES line ends (a final newline does
     * not start another line). */
    k = got;
    if (k > start && buf[k - 1] == '\n')
        k--;
    while (k > start) {
        if (buf[k - 1] == '\n') {
            if (++lines == REPORT_TAIL_LINES)
                break;
        }
        k--;
    }
    if (k > start) {
        start = k;
        cut_head = 1;
    } else {
        lines++;
    }
    if (got - start > REPORT_TAIL_BYTES) {
        /* Long lines: the last bytes, from a line start when there is one, else from a UTF-8
         * character start. */
        size_t s = got - REPORT_TAIL_BYTES;
        char *nl = memchr(buf + s, '\n', got - s);
        if (nl && (size_t)(nl - buf) + 1 < got)
            s = (size_t)(nl - buf) + 1;
        else
            while (s < got && ((unsigned char)buf[s] & 0xC0) == 0x80)
                s++;
        start = s;
        cut_bytes = 1;
        cut_head = 1;
    }
    if (cut_bytes)
        sb_printf(b, "log %s, its last %zu bytes:\n", path, got - start);
    else if (cut_head)
        sb_printf(b, "log %s, its last %zu lines:\n", path, lines);
    else
        sb_printf(b, "log %s (%zu line%s):\n", path, lines, lines == 1 ? "" : "s");
    /* Cleaned here, where the length is known: a log may hold NUL bytes. */
    report_text_clean(b, buf + start, got - start);
    if (b->len == 0 || b->s[b->len - 1] != '\n')
        sb_putc(b, '\n');
    sb_free(&red);
}

static void notes_to(strbuf *b, json_t *ev)
{
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(ev, "notes"), i, v)
        sb_printf(b, "note: %s\n", json_string_value(v));
}

static tc_kind kind_of(const char *outcome)
{
    if (!outcome)
        return TC_SKIPPED;
    if (strcmp(outcome, "PASSED") == 0)
        return TC_PASS;
    if (strcmp(outcome, "FAILED") == 0)
        return TC_FAILURE;
    if (strcmp(outcome, "ERROR") == 0)
        return TC_ERROR;
    return TC_SKIPPED;
}

/* One <testcase>. message and body are plain text (escaped here); sysout may be NULL. */
static void testcase(strbuf *b, counts *c, const char *name, const char *classname, json_t *time,
                     tc_kind kind, const char *type, const char *message, const char *body,
                     const char *sysout)
{
    static const char *const tags[] = {NULL, "failure", "error", "skipped"};
    sb_puts(b, "    <testcase");
    /* Readers key test history on these: never empty, even for a damaged record. */
    xml_attr(b, "name", name && *name ? name : "(unnamed)");
    xml_attr(b, "classname", classname && *classname ? classname : "(unnamed)");
    if (time)
        xml_attr_time(b, time);
    else
        sb_puts(b, " time=\"0.000\"");
    c->tests++;
    c->failures += kind == TC_FAILURE;
    c->errors += kind == TC_ERROR;
    c->skipped += kind == TC_SKIPPED;
    if (kind == TC_PASS && !sysout) {
        sb_puts(b, "/>\n");
        return;
    }
    sb_puts(b, ">\n");
    if (kind != TC_PASS) {
        sb_printf(b, "      <%s", tags[kind]);
        xml_attr(b, "message", message);
        if (type && kind != TC_SKIPPED)
            xml_attr(b, "type", type);
        if (body && *body && kind != TC_SKIPPED) {
            sb_puts(b, ">");
            xml_put(b, body, 0);
            sb_printf(b, "</%s>\n", tags[kind]);
        } else {
            sb_puts(b, "/>\n");
        }
    }
    if (sysout) {
        sb_puts(b, "      <system-out>");
        xml_put(b, sysout, 0);
        sb_puts(b, "</system-out>\n");
    }
    sb_puts(b, "    </testcase>\n");
}

/* The message of a non-passing result: "OUTCOME (reason): detail". */
static char *result_message(const char *outcome, const char *reason, const char *detail)
{
    strbuf m;
    sb_init(&m);
    sb_puts(&m, outcome ? outcome : "not finished");
    if (reason)
        sb_printf(&m, " (%s)", reason);
    if (detail && *detail)
        sb_printf(&m, ": %s", detail);
    return sb_take(&m);
}

/* The first line of s, at most 300 bytes (a message attribute is a summary; the body and
 * system-out hold the rest). */
static char *first_line(const char *s)
{
    size_t n = s ? strcspn(s, "\n") : 0;
    if (n > 300) {
        n = 300;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
    }
    return xstrndup(s ? s : "", n);
}

static void job_case(strbuf *b, counts *c, json_t *job)
{
    const char *step = jstr(job, "step"), *val = jstr(job, "validation");
    const char *outcome = jstr(job, "outcome"), *reason = jstr(job, "reason");
    json_t *ev = json_object_get(job, "evidence"), *chk, *v;
    tc_kind kind = kind_of(outcome);
    strbuf body, out, detail;
    size_t i, nfailed = 0;
    char *msg, *cls;
    const char *key;

    sb_init(&body);
    sb_init(&out);
    sb_init(&detail);
    json_array_foreach(json_object_get(ev, "checks"), i, chk)
    {
        if (json_is_true(json_object_get(chk, "passed")))
            continue;
        if (nfailed++ == 0)
            check_line(&detail, chk);
        check_line(&body, chk);
        sb_putc(&body, '\n');
    }
    if (nfailed > 1)
        sb_printf(&detail, " (and %zu more failed check%s)", nfailed - 1,
                  nfailed == 2 ? "" : "s");
    if (json_is_integer(json_object_get(job, "exit_code")) || jstr(job, "termination_reason")) {
        strbuf *t = detail.len ? &body : &detail;
        json_t *x = json_object_get(job, "exit_code");
        if (json_is_integer(x))
            sb_printf(t, "exit code %" JSON_INTEGER_FORMAT, json_integer_value(x));
        if (jstr(job, "termination_reason"))
            sb_printf(t, "%stermination reason %s", json_is_integer(x) ? ", " : "",
                      jstr(job, "termination_reason"));
        if (t == &body)
            sb_putc(&body, '\n');
    }
    if (!outcome && jstr(job, "lifecycle") && detail.len == 0)
        sb_printf(&detail, "lifecycle %s", jstr(job, "lifecycle"));

    /* system-out: what the job was, its metrics with where they came from, its notes, its log. */
    sb_printf(&out, "job %s", jstr(job, "key") ? jstr(job, "key") : jstr(job, "id"));
    if (json_is_integer(json_object_get(job, "attempt")))
        sb_printf(&out, ", attempt %" JSON_INTEGER_FORMAT,
                  json_integer_value(json_object_get(job, "attempt")));
    if (jstr(job, "runner"))
        sb_printf(&out, ", runner %s", jstr(job, "runner"));
    if (jstr(job, "external_id"))
        sb_printf(&out, ", id %s", jstr(job, "external_id"));
    if (json_is_integer(json_object_get(job, "restarts")))
        sb_printf(&out, ", restarts %" JSON_INTEGER_FORMAT,
                  json_integer_value(json_object_get(job, "restarts")));
    sb_putc(&out, '\n');
    json_array_foreach(json_object_get(ev, "metrics"), i, v)
    {
        char num[40] = "null";
        json_t *value = json_object_get(v, "value");
        if (json_is_number(value))
            report_num_format(json_number_value(value), num, sizeof num);
        sb_printf(&out, "metric %s = %s", jstr(v, "key"), num);
        if (jstr(v, "source"))
            sb_printf(&out, " (source %s, %s of %" JSON_INTEGER_FORMAT " sample%s)",
                      jstr(v, "source"), jstr(v, "reducer") ? jstr(v, "reducer") : "value",
                      json_integer_value(json_object_get(v, "samples")),
                      json_integer_value(json_object_get(v, "samples")) == 1 ? "" : "s");
        spread_line(&out, json_object_get(v, "repeats"));
        sb_putc(&out, '\n');
    }
    json_object_foreach(json_object_get(ev, "labels"), key, v)
        sb_printf(&out, "label %s = %s\n", key, json_string_value(v));
    notes_to(&out, ev);
    log_tail(&out, jstr(job, "log_path"));

    {
        char *d = first_line(detail.s);
        msg = result_message(outcome, reason, d);
        free(d);
    }
    testcase(b, c, val, step, json_object_get(job, "duration_s"), kind,
             reason ? reason : outcome, msg, body.s, out.s);
    free(msg);

    /* One testcase per check: its name says what was asserted, so a CI history of
     * "arena_smoke: sps_max >= 30000" stays one line across releases. */
    cls = xasprintf("%s.%s", step, val);
    json_array_foreach(json_object_get(ev, "checks"), i, chk)
    {
        strbuf name, line;
        tc_kind k = TC_PASS;
        sb_init(&name);
        sb_init(&line);
        sb_printf(&name, "%s: %s ", val, jstr(chk, "key") ? jstr(chk, "key") : "?");
        report_check_expected(chk, &name);
        check_line(&line, chk);
        if (!json_is_true(json_object_get(chk, "passed"))) {
            /* A check that did not hold is as bad as its job says: a failure in a FAILED job,
             * an error when the job could not find out, skipped when it was waived or never
             * decided. */
            k = kind == TC_PASS ? TC_FAILURE : kind;
        }
        msg = k == TC_FAILURE ? xstrdup(line.s) : result_message(outcome, reason, line.s);
        testcase(b, c, name.s, cls, NULL, k, k == TC_FAILURE ? "threshold" : reason, msg,
                 line.s, NULL);
        free(msg);
        sb_free(&name);
        sb_free(&line);
    }
    free(cls);
    sb_free(&body);
    sb_free(&out);
    sb_free(&detail);
}

/* Checks a gate posted on the step itself (no job): one testcase each. */
static void step_checks(strbuf *b, counts *c, const char *name, json_t *step)
{
    const char *outcome = jstr(step, "outcome"), *reason = jstr(step, "reason");
    tc_kind kind = kind_of(outcome);
    size_t i;
    json_t *chk;
    json_array_foreach(json_object_get(json_object_get(step, "evidence"), "checks"), i, chk)
    {
        strbuf tn, line;
        tc_kind k = TC_PASS;
        char *msg;
        sb_init(&tn);
        sb_init(&line);
        sb_printf(&tn, "%s: %s ", name, jstr(chk, "key") ? jstr(chk, "key") : "?");
        report_check_expected(chk, &tn);
        check_line(&line, chk);
        if (!json_is_true(json_object_get(chk, "passed")))
            k = kind == TC_PASS ? TC_FAILURE : kind;
        msg = k == TC_FAILURE ? xstrdup(line.s) : result_message(outcome, reason, line.s);
        testcase(b, c, tn.s, name, NULL, k, k == TC_FAILURE ? "threshold" : reason, msg, line.s,
                 NULL);
        free(msg);
        sb_free(&tn);
        sb_free(&line);
    }
}

/* The step's own testcase: its outcome, reason, message and notes. */
static void step_case(strbuf *b, counts *c, const char *name, json_t *step)
{
    const char *outcome = jstr(step, "outcome"), *reason = jstr(step, "reason");
    const char *message = jstr(step, "message");
    json_t *ev = json_object_get(step, "evidence"), *v;
    strbuf out;
    char *msg, *d;
    size_t i;
    tc_kind kind;
    sb_init(&out);
    if (jstr(step, "plugin"))
        sb_printf(&out, "step %s (plugin %s, %s)\n", name, jstr(step, "plugin"),
                  json_is_true(json_object_get(step, "required")) ? "required" : "optional");
    if (message)
        sb_printf(&out, "%s\n", message);
    notes_to(&out, ev);
    json_array_foreach(json_object_get(ev, "artifacts"), i, v)
        sb_printf(&out, "artifact %s %s\n", jstr(v, "kind") ? jstr(v, "kind") : "file",
                  jstr(v, "uri"));
    if (!step)
        sb_puts(&out, "the state holds no result for this step: it is running, or was "
                      "interrupted\n");
    /* The message, else the first note, says why in one line. */
    d = first_line(message ? message
                           : json_string_value(json_array_get(json_object_get(ev, "notes"), 0)));
    msg = result_message(outcome, step ? reason : "no result recorded", d);
    kind = kind_of(outcome);
    /* A failure's body carries the text; system-out keeps it for results that have none. */
    /* No step record: its time is unknown (null), not zero. */
    testcase(b, c, name, name, step ? json_object_get(step, "duration_s") : json_null(), kind,
             reason ? reason : outcome, msg, out.s,
             out.len && (kind == TC_PASS || kind == TC_SKIPPED) ? out.s : NULL);
    free(msg);
    free(d);
    sb_free(&out);
}

static int counts_red(const counts *c) { return c->failures + c->errors > 0; }

static void suite(strbuf *b, counts *all, double *total_time, json_t *model, const char *name,
                  json_t *step)
{
    strbuf cases, head;
    counts c = {0};
    json_t *jobs = json_object_get(model, "jobs"), *job, *rel = json_object_get(model, "release");
    json_t *cand = json_object_get(rel, "candidate");
    double t = 0;
    int has_t = 0, njobs = 0;
    size_t i;
    const char *outcome = jstr(step, "outcome");

    sb_init(&cases);
    sb_init(&head);
    json_array_foreach(jobs, i, job)
    {
        const char *s = jstr(job, "step");
        json_t *d = json_object_get(job, "duration_s");
        if (!s || strcmp(s, name) != 0)
            continue;
        njobs++;
        job_case(&cases, &c, job);
        if (json_is_number(d)) {
            t += json_number_value(d);
            has_t = 1;
        }
    }
    step_checks(&cases, &c, name, step);
    /* The step's own testcase comes first when there is one. */
    if (njobs == 0 || !step ||
        (!counts_red(&c) && outcome &&
         (strcmp(outcome, "FAILED") == 0 || strcmp(outcome, "ERROR") == 0)))
        step_case(&head, &c, name, step);
    /* The step's own duration when it has one: its jobs ran in parallel, their sum would lie. */
    if (json_is_number(json_object_get(step, "duration_s"))) {
        t = json_number_value(json_object_get(step, "duration_s"));
        has_t = 1;
    }

    sb_puts(b, "  <testsuite");
    xml_attr(b, "name", name && *name ? name : "(unnamed)");
    sb_printf(b, " tests=\"%ld\" failures=\"%ld\" errors=\"%ld\" skipped=\"%ld\"", c.tests,
              c.failures, c.errors, c.skipped);
    if (has_t && isfinite(t) && t >= 0) {
        sb_printf(b, " time=\"%.3f\"", t);
        *total_time += t;
    }
    if (is_timestamp(jstr(step, "started_at")))
        xml_attr(b, "timestamp", jstr(step, "started_at"));
    sb_puts(b, ">\n    <properties>\n");
    property(b, "release.version", jstr(rel, "version") ? jstr(rel, "version") : "");
    property(b, "release.decision", jstr(rel, "decision"));
    if (jstr(cand, "commit"))
        property(b, "release.commit", jstr(cand, "commit"));
    if (jstr(step, "plugin"))
        property(b, "step.plugin", jstr(step, "plugin"));
    if (step) {
        property(b, "step.required", json_is_true(json_object_get(step, "required")) ? "true"
                                                                                      : "false");
        property(b, "step.publishes",
                 json_is_true(json_object_get(step, "publishes")) ? "true" : "false");
    }
    property(b, "step.outcome", outcome ? outcome : "none");
    if (jstr(step, "reason"))
        property(b, "step.reason", jstr(step, "reason"));
    sb_puts(b, "    </properties>\n");
    sb_add(b, head.s, head.len);
    sb_add(b, cases.s, cases.len);
    sb_puts(b, "  </testsuite>\n");
    sb_free(&cases);
    sb_free(&head);
    all->tests += c.tests;
    all->failures += c.failures;
    all->errors += c.errors;
    all->skipped += c.skipped;
}

int report_junit(json_t *state_root, FILE *out, char **err)
{
    json_t *model = report_model(state_root), *steps, *jobs, *s, *rel;
    strbuf b, suites;
    counts all = {0};
    double total = 0;
    const char *last = NULL;
    size_t i;
    char *name;
    int rc;

    if (!model) {
        if (err)
            *err = xstrdup(error_last());
        return RELHOST_EINVAL;
    }
    steps = json_object_get(model, "steps");
    jobs = json_object_get(model, "jobs");
    rel = json_object_get(model, "release");
    sb_init(&suites);
    tail_withheld = logview_withheld(state_root);
    json_array_foreach(steps, i, s)
        suite(&suites, &all, &total, model, jstr(s, "name"), s);
    /* Jobs of a step the state has no result for yet (running, or interrupted before the step
     * was recorded): a suite each, after the recorded ones. The model puts them last, grouped
     * by step name. */
    json_array_foreach(jobs, i, s)
    {
        const char *st = jstr(s, "step");
        int known = 0;
        size_t k;
        json_t *x;
        if (last && strcmp(last, st) == 0)
            continue;
        json_array_foreach(steps, k, x)
            known |= strcmp(jstr(x, "name"), st) == 0;
        if (!known) {
            suite(&suites, &all, &total, model, st, NULL);
            last = st;
        }
    }
    free(tail_withheld);
    tail_withheld = NULL;

    sb_init(&b);
    sb_puts(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites");
    name = xasprintf("relhost %s %s",
                     jstr(rel, "plan_name") ? jstr(rel, "plan_name") : "release",
                     jstr(rel, "version") ? jstr(rel, "version") : "?");
    xml_attr(&b, "name", name);
    free(name);
    sb_printf(&b, " tests=\"%ld\" failures=\"%ld\" errors=\"%ld\" skipped=\"%ld\" time=\"%.3f\">\n",
              all.tests, all.failures, all.errors, all.skipped, total);
    sb_add(&b, suites.s, suites.len);
    sb_puts(&b, "</testsuites>\n");
    rc = report_emit(out, &b, err);
    sb_free(&b);
    sb_free(&suites);
    json_decref(model);
    return rc;
}
