/* SPDX-License-Identifier: MIT */
/*
 * report_junit.c - the release as JUnit XML, for the test views of Jenkins (junit plugin) and
 * GitLab (artifacts:reports:junit). tests/reports/junit.xsd is the shape both read, and the
 * tests validate every rendering against it with xmllint.
 *
 * Mapping (report_files.h): suite = step, testcase = validation job or check. Outcomes a CI view
 * cannot show are mapped to what it can: INCONCLUSIVE, SKIPPED, WAIVED and unfinished work are
 * <skipped> with the outcome first in the message, so nothing undecided reads as passed and a
 * waiver never reads as a failure. A FAILED or ERROR result of an optional step is <skipped>
 * too, its message saying so ("FAILED (threshold; optional step, does not block the release)"):
 * it does not block the release, so it must not turn the CI build red or unstable either.
 *
 * One document is valid against both readers' schemas as published (tests/fixtures/junit/:
 * the Jenkins xunit plugin's junit-10.xsd and the Ant-style JUnit.xsd), so where they differ it
 * takes what both accept: <testsuites> has no attribute (totals in a comment); every suite has
 * name, counts, time, a zone-less UTC timestamp, hostname, id and package, then <properties>,
 * its testcases, one <system-out> (each case's output a block of it: no testcase holds one)
 * and one <system-err>. Suites are named "NN-step" (NN the step's position, zero-padded) and
 * their id counts from 0, so readers that sort by name (Jenkins) keep the step order.
 */
#include "view/report_files.h"
#include "view/text.h"

#include "base/error.h"
#include "base/outcome.h"
#include "base/secrets.h"
#include "record/record.h"
#include "view/logview.h"

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

/* What one suite collects while its testcases are written: the counts, the cases' output (the
 * suite's <system-out>), and whether its step is optional (failures do not block). */
typedef struct suite_acc {
    counts c;
    strbuf out;
    int optional;
    long demoted; /* results demote() turned from failure or error into <skipped> */
} suite_acc;

static const char optional_note[] = "optional step, does not block the release";

/* An outcome as the reports name it; NULL when not decided yet. */
static const char *oc_name(relhost_outcome oc)
{
    return oc == RELHOST_NONE ? NULL : outcome_name(oc);
}

/* Text content (attr 0) or a double-quoted attribute value (attr 1), cleaned and escaped. '>' is
 * escaped too, so "]]>" can never appear; in attributes tab and newline are character
 * references, because attribute-value normalisation would turn them into spaces. */
static void xml_put(strbuf *b, const char *s, int attr)
{
    strbuf c;
    sb_init(&c);
    text_clean(&c, s, s ? strlen(s) : 0);
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

static void xml_attr_time(strbuf *b, record_real seconds)
{
    if (seconds.set && seconds.v >= 0)
        sb_printf(b, " time=\"%.3f\"", seconds.v);
}

/* xs:dateTime as the state writes it (YYYY-MM-DDTHH:MM:SSZ, UTC); anything else is refused. */
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

/* "; over 3 runs: min 24000, median 30000, max 31000" for a repeated validation's metric,
 * nothing otherwise. */
static void spread_line(strbuf *b, const metric_record *m)
{
    record_spread sp;
    static const char *const stats[] = {"min", "median", "max"};
    if (!record_metric_spread(m, &sp))
        return;
    sb_printf(b, "; over %zu runs:", sp.n);
    for (size_t i = 0; i < 3; i++) {
        char num[40] = "null";
        double v = i == 0 ? sp.min : i == 1 ? sp.median : sp.max;
        if (sp.nvalues)
            text_num_format(v, num, sizeof num);
        sb_printf(b, "%s %s %s", i ? "," : "", stats[i], num);
    }
    if (sp.n - sp.nvalues)
        sb_printf(b, " (%zu run%s without a value)", sp.n - sp.nvalues,
                  sp.n - sp.nvalues == 1 ? "" : "s");
}

/* "sps_max = 12833, expected >= 30000" (and the baseline and note when the check has them); a
 * failed one "sps_max 12833 < 30000 (needs >= 30000)" (text_check_failure) and its note. */
static void check_line(strbuf *b, const check_record *c)
{
    char num[40];
    const char *key = c->key;
    if (!c->passed) {
        if (!text_check_failure(c, b) && c->note)
            sb_printf(b, ": %s", c->note);
        return;
    }
    if (c->actual.set) {
        text_num_format(c->actual.v, num, sizeof num);
        sb_printf(b, "%s = %s, expected ", key ? key : "?", num);
    } else {
        sb_printf(b, "%s has no value, expected ", key ? key : "?");
    }
    text_check_expected(c, b);
    if (c->baseline.set) {
        text_num_format(c->baseline.v, num, sizeof num);
        sb_printf(b, " (baseline %s", num);
        if (c->bound.set) {
            text_num_format(c->bound.v, num, sizeof num);
            sb_printf(b, ", bound %s", num);
        }
        sb_putc(b, ')');
    }
    if (c->note)
        sb_printf(b, ": %s", c->note);
}

/* The last REPORT_TAIL_LINES lines of the log at path, at most REPORT_TAIL_BYTES, read from the
 * end of the file so a log of any size costs one bounded read. The window is read as one buffer
 * and masked whole (core/base/secrets.h) before it is cut: a secret is matched as the job wrote it,
 * wherever the reads or the cuts fall; a line cut by the window's start is never shown, so a
 * secret straddling it never shows half. */
/* Set by report_junit() for the report it writes: the withheld line (core/view/logview.h) when a
 * secret variable of the release's runs is not set now, so no log byte goes in. */
static char *tail_withheld;

/* The log's last bytes (four times the byte bound: enough for 50 lines of a normal log, and a
 * line cut at the window's start is dropped, not shown half), masked, into *red and where the
 * window starts into *from. 0, or -1 after saying into b why there is nothing to show. */
static int log_end(strbuf *b, const char *path, strbuf *red, off_t *from)
{
    struct stat st;
    char *raw;
    size_t want, got = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        int e = fd < 0 ? errno : (S_ISREG(st.st_mode) ? errno : EINVAL);
        sb_printf(b, "log %s cannot be read: %s\n", path,
                  e == EINVAL ? "not a regular file" : strerror(e));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    want = (size_t)st.st_size < 4 * REPORT_TAIL_BYTES ? (size_t)st.st_size : 4 * REPORT_TAIL_BYTES;
    *from = st.st_size - (off_t)want;
    raw = xmalloc(want + 1);
    got = read_at(fd, raw, want, (long long)*from);
    close(fd);
    if (got == 0) {
        sb_printf(b, "log %s is empty\n", path);
        free(raw);
        return -1;
    }
    sb_init(red);
    secrets_redact(red, raw, got);
    free(raw);
    return 0;
}

static void log_tail(strbuf *b, const char *path)
{
    char *buf;
    strbuf red;
    size_t got, start = 0, lines = 0, k;
    off_t from;
    int cut_head, cut_bytes = 0;

    if (!path) {
        sb_puts(b, "no log recorded for this job\n");
        return;
    }
    if (tail_withheld) {
        sb_printf(b, "%s\n", tail_withheld);
        return;
    }
    if (log_end(b, path, &red, &from) != 0)
        return;
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
    text_clean(b, buf + start, got - start);
    if (b->len == 0 || b->s[b->len - 1] != '\n')
        sb_putc(b, '\n');
    sb_free(&red);
}

static void notes_to(strbuf *b, const evidence_record *ev)
{
    for (size_t i = 0; i < ev->nnotes; i++)
        sb_printf(b, "note: %s\n", ev->notes[i]);
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

/* One <testcase>. message and body are plain text (escaped here); body goes into a <failure>
 * or <error>, or into a <skipped> that stands for an optional step's failure; sysout (may be
 * NULL) becomes a block of the suite's <system-out>, headed by the case's name. A time the
 * record lacks is written as 0: both readers' schemas require one. */
static void testcase(strbuf *b, suite_acc *sa, const char *name, const char *classname,
                     const record_real *time, tc_kind kind, const char *type, const char *message,
                     const char *body, const char *sysout)
{
    static const char *const tags[] = {NULL, "failure", "error", "skipped"};
    counts *c = &sa->c;
    /* Readers key test history on these: never empty, even for a damaged record. */
    name = name && *name ? name : "(unnamed)";
    sb_puts(b, "    <testcase");
    xml_attr(b, "name", name);
    xml_attr(b, "classname", classname && *classname ? classname : "(unnamed)");
    if (time && time->set && time->v >= 0 && isfinite(time->v))
        xml_attr_time(b, *time);
    else
        sb_puts(b, " time=\"0.000\"");
    c->tests++;
    c->failures += kind == TC_FAILURE;
    c->errors += kind == TC_ERROR;
    c->skipped += kind == TC_SKIPPED;
    if (sysout) {
        sb_printf(&sa->out, "%s=== %s ===\n", sa->out.len ? "\n" : "", name);
        sb_puts(&sa->out, sysout);
    }
    if (kind == TC_PASS) {
        sb_puts(b, "/>\n");
        return;
    }
    sb_printf(b, ">\n      <%s", tags[kind]);
    xml_attr(b, "message", message);
    if (kind != TC_SKIPPED)
        xml_attr(b, "type", type && *type ? type : tags[kind]);
    if (body && *body) {
        sb_puts(b, ">");
        xml_put(b, body, 0);
        sb_printf(b, "</%s>\n", tags[kind]);
    } else {
        sb_puts(b, "/>\n");
    }
    sb_puts(b, "    </testcase>\n");
}

/* The message of a non-passing result: "OUTCOME (reason): detail"; for the failure of an
 * optional step "OUTCOME (reason; optional step, does not block the release): detail". */
static char *result_message(const char *outcome, const char *reason, const char *detail,
                            int optional)
{
    strbuf m;
    sb_init(&m);
    sb_puts(&m, outcome ? outcome : "not finished");
    if (reason && optional)
        sb_printf(&m, " (%s; %s)", reason, optional_note);
    else if (reason || optional)
        sb_printf(&m, " (%s)", reason ? reason : optional_note);
    if (detail && *detail)
        sb_printf(&m, ": %s", detail);
    return sb_take(&m);
}

/* A FAILED or ERROR result in an optional step becomes <skipped>: 1 when k was demoted. */
static int demote(suite_acc *sa, tc_kind *k)
{
    if (!sa->optional || (*k != TC_FAILURE && *k != TC_ERROR))
        return 0;
    *k = TC_SKIPPED;
    sa->demoted++;
    return 1;
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

/* Why a job did not pass, in one line (detail) and in full (body). */
static void job_detail(strbuf *detail, strbuf *body, const job_record *j)
{
    const evidence_record *ev = &j->evidence;
    size_t i, nfailed = 0;
    for (i = 0; i < ev->nchecks; i++) {
        if (ev->checks[i].passed)
            continue;
        if (nfailed++ == 0)
            check_line(detail, &ev->checks[i]);
        check_line(body, &ev->checks[i]);
        sb_putc(body, '\n');
    }
    if (nfailed > 1)
        sb_printf(detail, " (and %zu more failed check%s)", nfailed - 1, nfailed == 2 ? "" : "s");
    if (j->exit_code.set || j->termination_reason) {
        strbuf *t = detail->len ? body : detail;
        if (j->exit_code.set)
            sb_printf(t, "exit code %lld", j->exit_code.v);
        if (j->termination_reason)
            sb_printf(t, "%stermination reason %s", j->exit_code.set ? ", " : "",
                      j->termination_reason);
        if (t == body)
            sb_putc(body, '\n');
    }
    if (j->outcome == RELHOST_NONE && j->lifecycle_raw && detail->len == 0)
        sb_printf(detail, "lifecycle %s", j->lifecycle_raw);
}

/* system-out: what the job was, its metrics with where they came from, its notes, its log. */
static void job_sysout(strbuf *out, const job_record *j)
{
    const evidence_record *ev = &j->evidence;
    size_t i;
    sb_printf(out, "job %s", j->key ? j->key : j->id);
    if (j->attempt.set)
        sb_printf(out, ", attempt %lld", j->attempt.v);
    if (j->runner)
        sb_printf(out, ", runner %s", j->runner);
    if (j->external_id)
        sb_printf(out, ", id %s", j->external_id);
    if (j->restarts.set)
        sb_printf(out, ", restarts %lld", j->restarts.v);
    sb_putc(out, '\n');
    for (i = 0; i < ev->nmetrics; i++) {
        const metric_record *m = &ev->metrics[i];
        char num[40] = "null";
        if (m->value.set)
            text_num_format(m->value.v, num, sizeof num);
        sb_printf(out, "metric %s = %s", m->key, num);
        if (m->source)
            sb_printf(out, " (source %s, %s of %lld sample%s)", m->source,
                      m->reducer ? m->reducer : "value", m->samples, m->samples == 1 ? "" : "s");
        spread_line(out, m);
        sb_putc(out, '\n');
    }
    for (i = 0; i < ev->nlabels; i++)
        sb_printf(out, "label %s = %s\n", ev->labels[i].key, ev->labels[i].value);
    notes_to(out, ev);
    log_tail(out, j->log_path);
}

/* One testcase per check of a job or step: its name says what was asserted, so a CI history of
 * "arena_smoke: sps_max >= 30000" stays one line across releases. */
static void check_cases(strbuf *b, suite_acc *sa, const char *prefix, const char *cls,
                        const evidence_record *ev, relhost_outcome oc, const char *reason)
{
    const char *outcome = oc_name(oc);
    tc_kind kind = kind_of(outcome);
    for (size_t i = 0; i < ev->nchecks; i++) {
        const check_record *chk = &ev->checks[i];
        strbuf name, line;
        tc_kind k = TC_PASS, was;
        char *msg;
        sb_init(&name);
        sb_init(&line);
        sb_printf(&name, "%s: %s ", prefix, chk->key ? chk->key : "?");
        text_check_expected(chk, &name);
        check_line(&line, chk);
        if (!chk->passed) {
            /* A check that did not hold is as bad as its job says: a failure in a FAILED job,
             * an error when the job could not find out, skipped when it was waived or never
             * decided. */
            k = kind == TC_PASS ? TC_FAILURE : kind;
        }
        was = k;
        if (demote(sa, &k))
            msg = result_message(was == TC_FAILURE ? "FAILED" : "ERROR",
                                 was == TC_FAILURE ? "threshold" : reason, line.s, 1);
        else
            msg = k == TC_FAILURE ? xstrdup(line.s) : result_message(outcome, reason, line.s, 0);
        testcase(b, sa, name.s, cls, NULL, k, k == TC_FAILURE ? "threshold" : reason, msg,
                 k == TC_SKIPPED && was == TC_SKIPPED ? NULL : line.s, NULL);
        free(msg);
        sb_free(&name);
        sb_free(&line);
    }
}

static void job_case(strbuf *b, suite_acc *sa, const char *cls, const job_record *j)
{
    const char *outcome = oc_name(j->outcome), *reason = j->reason;
    strbuf body, out, detail;
    char *msg, *ccls, *d;
    tc_kind k = kind_of(outcome);
    int demoted = demote(sa, &k);

    sb_init(&body);
    sb_init(&out);
    sb_init(&detail);
    job_detail(&detail, &body, j);
    job_sysout(&out, j);
    d = first_line(detail.s);
    msg = result_message(outcome, reason, d, demoted);
    free(d);
    testcase(b, sa, j->validation, cls, &j->duration_s, k, reason ? reason : outcome, msg,
             k == TC_SKIPPED && !demoted ? NULL : body.s, out.s);
    free(msg);
    ccls = xasprintf("%s.%s", cls, j->validation);
    check_cases(b, sa, j->validation, ccls, &j->evidence, j->outcome, reason);
    free(ccls);
    sb_free(&body);
    sb_free(&out);
    sb_free(&detail);
}

/* The step's own testcase: its outcome, reason, message and notes. step NULL: the state has no
 * record of it. */
static void step_case(strbuf *b, suite_acc *sa, const char *name, const char *cls,
                      const step_record *step)
{
    static const evidence_record none;
    const evidence_record *ev = step ? &step->evidence : &none;
    const char *outcome = step ? oc_name(step->outcome) : NULL;
    const char *reason = step ? step->reason : NULL, *message = step ? step->message : NULL;
    record_real unknown = {0, 0, 0};
    strbuf out;
    char *msg, *d;
    size_t i;
    tc_kind kind;
    int demoted;
    sb_init(&out);
    if (step && step->plugin)
        sb_printf(&out, "step %s (plugin %s, %s)\n", name, step->plugin,
                  step->required ? "required" : "optional");
    if (message)
        sb_printf(&out, "%s\n", message);
    notes_to(&out, ev);
    for (i = 0; i < ev->nartifacts; i++)
        sb_printf(&out, "artifact %s %s\n", ev->artifacts[i].kind ? ev->artifacts[i].kind : "file",
                  ev->artifacts[i].uri);
    if (!step)
        sb_puts(&out, "the state holds no result for this step: it is running, or was "
                      "interrupted\n");
    /* The message, else the first note, says why in one line. */
    d = first_line(message ? message : ev->nnotes ? ev->notes[0] : NULL);
    kind = kind_of(outcome);
    demoted = demote(sa, &kind);
    msg = result_message(outcome, step ? reason : "no result recorded", d, demoted);
    /* A failure's body carries the text (an optional step's too); system-out keeps it for
     * results that have none. No step record: its time is unknown, written as 0. */
    testcase(b, sa, name, cls, step ? &step->duration_s : &unknown, kind, reason ? reason : outcome,
             msg, demoted || kind != TC_SKIPPED ? out.s : NULL,
             out.len && (kind == TC_PASS || (kind == TC_SKIPPED && !demoted)) ? out.s : NULL);
    free(msg);
    free(d);
    sb_free(&out);
}

/* Red: a failure or error, or one an optional step's demote() turned into <skipped>. */
static int suite_red(const suite_acc *sa)
{
    return sa->c.failures + sa->c.errors + sa->demoted > 0;
}

/* What the whole report adds up while its suites are written. */
typedef struct report_acc {
    counts all;
    double total;
    size_t index; /* the next suite's position, from 0 */
    int width;    /* digits of the "NN-" prefix */
} report_acc;

static void suite_head(strbuf *b, const release_record *rec, const step_record *step,
                       const char *name, size_t index, const char *outcome)
{
    char num[24];
    sb_puts(b, ">\n    <properties>\n");
    property(b, "release.version", rec->version ? rec->version : "");
    property(b, "release.decision", record_decision(rec));
    if (rec->candidate.commit)
        property(b, "release.commit", rec->candidate.commit);
    property(b, "step.name", name);
    snprintf(num, sizeof num, "%zu", index + 1);
    property(b, "step.index", num);
    if (step && step->plugin)
        property(b, "step.plugin", step->plugin);
    if (step) {
        property(b, "step.required", step->required ? "true" : "false");
        property(b, "step.publishes", step->publishes ? "true" : "false");
    }
    property(b, "step.outcome", outcome ? outcome : "none");
    if (step && step->reason)
        property(b, "step.reason", step->reason);
    sb_puts(b, "    </properties>\n");
}

/* The <testsuite> start tag's attributes after the name. JUnit.xsd requires a timestamp without
 * a zone: the step's start (UTC, as the state writes it, its 'Z' dropped), else the release's
 * creation for a step that never started (neither readable: left out, as a made-up time would
 * lie, and JUnit.xsd then refuses the suite); time is 0 when the step has none; hostname is
 * "localhost", the value JUnit.xsd prescribes when the host is not known (jobs run on many). */
static void suite_attrs(strbuf *b, const suite_acc *sa, double t, const release_record *rec,
                        const step_record *step, size_t index, const char *name)
{
    const char *ts = step && is_timestamp(step->started_at) ? step->started_at : rec->created_at;
    sb_printf(b, " tests=\"%ld\" failures=\"%ld\" errors=\"%ld\" skipped=\"%ld\" time=\"%.3f\"",
              sa->c.tests, sa->c.failures, sa->c.errors, sa->c.skipped, t);
    if (is_timestamp(ts))
        sb_printf(b, " timestamp=\"%.19s\"", ts);
    sb_printf(b, " hostname=\"localhost\" id=\"%zu\"", index);
    xml_attr(b, "package", name && *name ? name : "(unnamed)");
}

static void suite(strbuf *b, report_acc *ra, const release_record *rec, const char *name,
                  const step_record *step)
{
    strbuf cases, head;
    suite_acc sa = {{0}, {0}, 0, 0};
    double t = 0;
    int njobs = 0;
    size_t i, index = ra->index++;
    const char *outcome = step ? oc_name(step->outcome) : NULL;
    /* "NN-step": the suite's name and its cases' classname, so sorting keeps step order. */
    char *sname = xasprintf("%0*zu-%s", ra->width, index + 1, name && *name ? name : "(unnamed)");

    sb_init(&cases);
    sb_init(&head);
    sb_init(&sa.out);
    /* A step the state has no record of could be required: its results are never demoted. */
    sa.optional = step && !step->required;
    for (i = 0; i < rec->njobs; i++) {
        const job_record *j = &rec->jobs[i];
        if (strcmp(j->step, name) != 0)
            continue;
        njobs++;
        job_case(&cases, &sa, sname, j);
        if (j->duration_s.set && isfinite(j->duration_s.v) && j->duration_s.v >= 0)
            t += j->duration_s.v;
    }
    /* Checks a gate posted on the step itself (no job): one testcase each. */
    if (step)
        check_cases(&cases, &sa, name, sname, &step->evidence, step->outcome, step->reason);
    /* The step's own testcase comes first when there is one. */
    if (njobs == 0 || !step ||
        (!suite_red(&sa) && outcome &&
         (strcmp(outcome, "FAILED") == 0 || strcmp(outcome, "ERROR") == 0)))
        step_case(&head, &sa, name, sname, step);
    /* The step's own duration when it has one: its jobs ran in parallel, their sum would lie. */
    if (step && step->duration_s.set && isfinite(step->duration_s.v) && step->duration_s.v >= 0)
        t = step->duration_s.v;
    if (!isfinite(t)) /* a sum of absurd durations: "inf" is no time either schema reads */
        t = 0;
    ra->total += t;

    sb_puts(b, "  <testsuite");
    xml_attr(b, "name", sname);
    suite_attrs(b, &sa, t, rec, step, index, name);
    suite_head(b, rec, step, name, index, outcome);
    sb_add(b, head.s, head.len);
    sb_add(b, cases.s, cases.len);
    sb_puts(b, "    <system-out>");
    xml_put(b, sa.out.s ? sa.out.s : "", 0);
    sb_puts(b, "</system-out>\n    <system-err/>\n  </testsuite>\n");
    sb_free(&cases);
    sb_free(&head);
    sb_free(&sa.out);
    free(sname);
    ra->all.tests += sa.c.tests;
    ra->all.failures += sa.c.failures;
    ra->all.errors += sa.c.errors;
    ra->all.skipped += sa.c.skipped;
}

/* Steps the state has no result for yet whose jobs it holds (running, or interrupted before the
 * step was recorded): their names, each once, in the record's order (it puts them last, grouped
 * by step name). The caller frees the array, not the names. */
static size_t unrecorded_steps(const release_record *rec, const char ***out)
{
    size_t i, n = 0;
    const char *last = NULL;
    *out = xcalloc(rec->njobs + 1, sizeof **out);
    for (i = 0; i < rec->njobs; i++) {
        const char *st = rec->jobs[i].step;
        if (last && strcmp(last, st) == 0)
            continue;
        if (!record_step_find(rec, st)) {
            (*out)[n++] = st;
            last = st;
        }
    }
    return n;
}

int report_junit(json_t *state_root, FILE *out, char **err)
{
    release_record rec;
    strbuf b, suites;
    report_acc ra = {{0}, 0, 0, 2};
    const char **extra;
    size_t i, nextra, nsuites;
    int rc;

    if (record_read(state_root, &rec) != 0) {
        if (err)
            *err = xstrdup(error_last());
        return RELHOST_EINVAL;
    }
    text_redact_record(&rec);
    sb_init(&suites);
    nextra = unrecorded_steps(&rec, &extra);
    for (nsuites = rec.nsteps + nextra; nsuites >= 100; nsuites /= 10)
        ra.width++;
    tail_withheld = logview_withheld_names((const char *const *)rec.sealed_env, rec.nsealed);
    for (i = 0; i < rec.nsteps; i++)
        suite(&suites, &ra, &rec, rec.steps[i].name, &rec.steps[i]);
    /* Jobs of a step with no result: a suite each, after the recorded ones. */
    for (i = 0; i < nextra; i++)
        suite(&suites, &ra, &rec, extra[i], NULL);
    free(extra);
    free(tail_withheld);
    tail_withheld = NULL;

    /* JUnit.xsd allows <testsuites> no attribute: the totals are a comment, for people (readers
     * add up the suites). Only numbers and a fixed word go in, so no "--" can end it early. */
    sb_init(&b);
    sb_printf(&b,
              "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
              "<!-- relhost release report: decision %s; tests %ld, failures %ld, errors %ld, "
              "skipped %ld, time %.3f s -->\n<testsuites>\n",
              record_decision(&rec), ra.all.tests, ra.all.failures, ra.all.errors, ra.all.skipped,
              ra.total);
    sb_add(&b, suites.s, suites.len);
    sb_puts(&b, "</testsuites>\n");
    rc = text_emit(out, &b, err);
    sb_free(&b);
    sb_free(&suites);
    record_free(&rec);
    return rc;
}
