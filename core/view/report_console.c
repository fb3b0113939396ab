/* SPDX-License-Identifier: MIT */
#include "view/report.h"

#include "base/util.h"
#include "base/log.h"
#include "base/outcome.h"
#include "base/secrets.h"
#include "record/record.h"
#include "run/checks.h"
#include "view/logview.h"
#include "view/report_files.h"
#include "view/text.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *outcome_color(relhost_outcome o)
{
    switch (o) {
    case RELHOST_PASSED:
    case RELHOST_WAIVED: return col_green();
    case RELHOST_FAILED:
    case RELHOST_ERROR: return col_red();
    case RELHOST_INCONCLUSIVE: return col_yellow();
    default: return col_dim();
    }
}

/* The release's own steps; on_promote and on_rollback hooks follow them in p->steps. */
static size_t main_steps(const plan *p)
{
    size_t n = 0;
    while (n < p->nsteps && p->steps[n].when != WHEN_ON_PROMOTE &&
           p->steps[n].when != WHEN_ON_ROLLBACK)
        n++;
    return n;
}

void report_begin(const plan *p, const run_options *o)
{
    if (o->hooks == WHEN_ON_ROLLBACK) {
        out_printf("%srelhost%s %s: the on_rollback steps of plan %s, for release %s%s%s (rolled "
                   "back)\n",
                   col_bold(), col_reset(), RELHOST_VERSION, p->name, col_bold(), p->version,
                   col_reset());
        return;
    }
    out_printf("%srelhost%s %s: release %s%s%s of plan %s (%zu steps)%s%s\n", col_bold(),
               col_reset(), RELHOST_VERSION, col_bold(), p->version, col_reset(), p->name,
               main_steps(p), o->profile ? ", profile " : "", o->profile ? o->profile : "");
}

/* "ok  sps_max = 33000, expected >= baseline - 20% (baseline 35000, bound 28000)  - note", or
 * "FAIL sps_max 12833 < 30000 (needs >= 30000)  - note", from a check as the state records it
 * (evidence.h, evidence_to_json). */
static void print_check(const check_record *c, const char *indent)
{
    char actual[48] = "null", extra[96] = "";
    strbuf e;
    sb_init(&e);
    if (!c->passed) {
        /* "FAIL sps_max 12833 < 30000 (needs >= 30000)": the value, what broke, the rule */
        const char *note = text_check_failure(c, &e) ? NULL : c->note;
        out_printf("%s%sFAIL%s %s%s%s\n", indent, col_red(), col_reset(), e.s, note ? "  - " : "",
                   note ? note : "");
        sb_free(&e);
        return;
    }
    if (c->actual.set)
        snprintf(actual, sizeof actual, "%g", c->actual.v);
    text_check_expected(c, &e);
    if (c->baseline.set)
        snprintf(extra, sizeof extra, " (baseline %g, bound %g)", c->baseline.v,
                 c->bound.set ? c->bound.v : 0.0);
    out_printf("%s%s%s%s %s = %s, expected %s%s%s%s\n", indent, c->passed ? col_green() : col_red(),
               c->passed ? "ok  " : "FAIL", col_reset(), c->key, actual, e.s ? e.s : "", extra,
               c->note ? "  - " : "", c->note ? c->note : "");
    sb_free(&e);
}

static int cmp_order(const void *a, const void *b)
{
    const metric_record *x = *(const metric_record *const *)a;
    const metric_record *y = *(const metric_record *const *)b;
    return x->order < y->order ? -1 : x->order > y->order;
}

/* "sps_max over 3 runs: min 24000, median 30000, max 31000 (1 without a value)" for each
 * metric of a repeated validation that a check looks at (the JSON report has them all), in the
 * order the run posted them. */
static void print_spread(const evidence_record *ev, const char *indent)
{
    const metric_record **ms = xcalloc(ev->nmetrics + 1, sizeof *ms);
    size_t i, k;
    for (i = 0; i < ev->nmetrics; i++)
        ms[i] = &ev->metrics[i];
    qsort(ms, ev->nmetrics, sizeof *ms, cmp_order);
    for (k = 0; k < ev->nmetrics; k++) {
        const metric_record *m = ms[k];
        double d[100], lo, hi, med;
        size_t n = 0, nr = m->nrepeats;
        int checked = 0;
        for (i = 0; i < ev->nchecks; i++)
            checked |= ev->checks[i].key && strcmp(ev->checks[i].key, m->key) == 0;
        if (nr == 0 || !checked)
            continue;
        for (i = 0; i < nr; i++)
            if (m->repeats[i].set && n < 100)
                d[n++] = m->repeats[i].v;
        if (n == 0) {
            out_printf("%s%s over %zu runs: no value\n", indent, m->key, nr);
            continue;
        }
        med = checks_stat(RELHOST_STAT_MEDIAN, d, n);
        lo = checks_stat(RELHOST_STAT_MIN, d, n);
        hi = checks_stat(RELHOST_STAT_MAX, d, n);
        out_printf("%s%s over %zu runs: min %g, median %g, max %g", indent, m->key, nr, lo, med,
                   hi);
        if (n < nr)
            out_printf(" (%zu without a value)", nr - n);
        out_printf("\n");
    }
    free(ms);
}

/* Text a run wrote (a note holding an output tail, a log), one line per line under indent and
 * lead: cleaned first (core/view/text.c), so no terminal control sequence of the job's reaches
 * the terminal, and a carriage return cannot overwrite the line before. */
static void print_lines(const char *indent, const char *lead, const char *s, size_t n)
{
    strbuf clean;
    const char *p, *end;
    sb_init(&clean);
    text_clean(&clean, s, n);
    p = clean.s;
    end = clean.s + clean.len;
    while (p < end) {
        size_t l = strcspn(p, "\n");
        out_printf("%s%s%.*s\n", indent, lead, (int)l, p);
        p += l + (p[l] == '\n');
    }
    sb_free(&clean);
}

static void print_evidence(const evidence *ev, const char *indent)
{
    json_t *j = evidence_to_json(ev);
    evidence_record r;
    record_read_evidence(j, &r);
    json_decref(j);
    for (size_t k = 0; k < r.nchecks; k++)
        print_check(&r.checks[k], indent);
    record_evidence_free(&r);
    for (size_t i = 0; i < ev->notes.n; i++)
        print_lines(indent, "", ev->notes.v[i], strlen(ev->notes.v[i]));
}

void report_step(const plan *p, const step_result *r)
{
    const plan_step *st = r->step;
    size_t idx = (size_t)(st - p->steps) + 1;
    if (idx > main_steps(p))
        out_printf("[%s] ", st->when == WHEN_ON_PROMOTE ? "on_promote" : "on_rollback");
    else
        out_printf("[%zu/%zu] ", idx, main_steps(p));
    /* a step the interrupt stopped before it decided: no outcome, and the resume runs it */
    int stopped = r->outcome == RELHOST_NONE && r->reason && strcmp(r->reason, "interrupted") == 0;
    out_printf("%s%-12s%s %-20s %s(%s%s)%s",
               r->unsaved ? col_red() : (stopped ? col_yellow() : outcome_color(r->outcome)),
               r->unsaved ? "NOT SAVED" : (stopped ? "STOPPED" : outcome_name(r->outcome)),
               col_reset(), st->inst.name, col_dim(), st->inst.plugin_name,
               st->required ? "" : ", optional", col_reset());
    if (r->ran)
        out_printf(" %.1fs", r->ended - r->started);
    /* a PASSED step says why only when it did not run now: its result is the release's */
    int said =
        r->outcome != RELHOST_PASSED || (r->reason && strcmp(r->reason, "already_completed") == 0);
    if (r->reason && said)
        out_printf("  reason: %s", r->reason);
    out_printf("\n");
    if (r->unsaved && r->outcome != RELHOST_NONE)
        out_printf("      it ended %s, but the release state could not record that: the next "
                   "run does it again\n",
                   outcome_name(r->outcome));
    else if (r->unsaved)
        out_printf("      the release state could not be written before it ended: the next run "
                   "does it again\n");
    if (stopped)
        out_printf("      stopped before it decided: nothing of it is recorded as an outcome, "
                   "and resuming runs it again\n");
    else if (r->message && said)
        out_printf("      %s\n", r->message);
    print_evidence(&r->ev, "      ");
}

static char *resume_command;     /* the command line that resumes this run, quoted for a shell */
static int resume_names_release; /* it has --release V (else report_end() adds it) */
static char *resume_operands;    /* " -- ...": the words from a "--" on, or "" */

/* One word of a command line as a POSIX shell reads it back. */
static void shell_word(strbuf *b, const char *w)
{
    if (*w &&
        strspn(w, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@%") ==
            strlen(w)) {
        sb_puts(b, w);
        return;
    }
    sb_putc(b, '\'');
    for (; *w; w++)
        if (*w == '\'')
            sb_puts(b, "'\\''");
        else
            sb_putc(b, *w);
    sb_putc(b, '\'');
}

void report_set_command(int argc, char **argv, int names_release)
{
    strbuf b, ops;
    sb_init(&b);
    sb_init(&ops);
    for (int i = 0; i < argc; i++) {
        strbuf *to = i > 0 && (ops.len || strcmp(argv[i], "--") == 0) ? &ops : &b;
        if (to->len || to == &ops)
            sb_putc(to, ' ');
        shell_word(to, argv[i]);
    }
    free(resume_command);
    free(resume_operands);
    resume_command = sb_take(&b);
    resume_operands = sb_take(&ops);
    resume_names_release = names_release;
}

void report_end(const plan *p, const run_result *r)
{
    size_t counts[RELHOST_WAIVED + 1] = {0}, stopped = 0;
    for (size_t i = 0; i < r->nsteps; i++) {
        const step_result *sr = &r->steps[i];
        if (sr->selected && !sr->unsaved && sr->outcome <= RELHOST_WAIVED)
            counts[sr->outcome]++;
        /* a step the interrupt stopped has no outcome; it is counted as the console shows it */
        if (sr->selected && !sr->unsaved && sr->outcome == RELHOST_NONE && sr->reason &&
            strcmp(sr->reason, "interrupted") == 0)
            stopped++;
    }
    int quiet = out_set_quiet(0); /* -q keeps this line */
    /* after a rollback only its hooks ran: their result is no verdict on the release */
    out_printf(r->rollback_hooks ? "on_rollback steps: " : "result: ");
    if (r->not_saved)
        out_printf("%sNOT SAVED%s", col_red(), col_reset());
    else if (r->interrupted)
        out_printf("%sINTERRUPTED%s", col_yellow(), col_reset());
    else if (r->launch)
        out_printf("%sLAUNCHED%s", col_bold(), col_reset());
    else if (r->reports_failed)
        out_printf("%sNOT DECIDED%s", col_yellow(), col_reset());
    else if (r->exit_code == 0)
        out_printf("%sPASSED%s", col_green(), col_reset());
    else if (r->exit_code == 1)
        out_printf("%sFAILED%s", col_red(), col_reset());
    else
        out_printf("%sNOT DECIDED%s", col_yellow(), col_reset());
    out_printf(" (exit %d):", r->exit_code);
    if (r->reports_failed)
        out_printf(" the release passed, but a report asked for was not written;");
    for (int o = RELHOST_PASSED; o <= RELHOST_WAIVED; o++)
        if (counts[o])
            out_printf(" %zu %s", counts[o], outcome_name((relhost_outcome)o));
    if (stopped)
        out_printf(" %zu STOPPED", stopped);
    if (r->rollback_hooks)
        out_printf("; release %s stays rolled back", p->version);
    out_printf("\n");
    if (r->interrupted && resume_command) {
        /* the release by name: a run started meanwhile is not the one continued */
        strbuf v;
        sb_init(&v);
        if (!resume_names_release) {
            sb_puts(&v, " --release ");
            shell_word(&v, p->version);
        }
        out_printf("resume with: %s%s%s\n", resume_command, v.len ? v.s : "", resume_operands);
        sb_free(&v);
    }
    out_set_quiet(quiet);
}

void report_check_head(const plan *p)
{
    out_printf("plan %s (%s)\n", p->name, p->path);
    out_printf("  version    %s%s\n", p->version, p->version_auto ? " (auto)" : "");
    out_printf("  state_dir  %s\n  log_dir    %s\n", p->state_dir, p->log_dir);
    if (p->repo)
        out_printf("  repo       %s (ref %s)\n", p->repo, p->ref ? p->ref : "HEAD");
    out_printf("  plugins    from");
    for (size_t i = 0; i < p->ld.dirs.n; i++)
        out_printf(" %s", p->ld.dirs.v[i]);
    out_printf("\n");
    for (size_t i = 0; i < p->nrunners; i++)
        out_printf("  runner     %-16s %s\n", p->runners[i].name, p->runners[i].plugin_name);
    for (size_t i = 0; i < p->nmetrics; i++)
        out_printf("  metrics    %-16s %s\n", p->metrics[i].name, p->metrics[i].plugin_name);
    for (size_t i = 0; i < p->nprofiles; i++) {
        out_printf("  profile    %-16s", p->profiles[i].name);
        for (size_t k = 0; k < p->profiles[i].members.n; k++)
            out_printf(" %s", p->profiles[i].members.v[k]);
        out_printf("\n");
    }
    out_printf("steps:\n");
}

void report_check_step(const plan *p, size_t i, const step_result *r)
{
    const plan_step *st = &p->steps[i];
    out_printf("  %zu. %-20s %s %s%s%s\n", i + 1, st->inst.name, st->inst.plugin_name,
               st->required ? "required" : "optional", st->publishes ? ", publishes" : "",
               r->selected ? "" : ", not selected");
    if (st->description)
        out_printf("      %s\n", st->description);
    print_evidence(&r->ev, "      ");
}

void report_check_tail(size_t faults)
{
    int quiet = out_set_quiet(0); /* -q keeps this line */
    if (faults)
        out_printf("check: FAILED (exit 3): %zu plugin%s died, exited or hung while describing "
                   "%s step (see above); nothing was run\n",
                   faults, faults == 1 ? "" : "s", faults == 1 ? "its" : "their");
    else
        out_printf("check: plan is valid; nothing was run\n");
    out_set_quiet(quiet);
}

void report_plugins(const loader *ld)
{
    for (size_t i = 0; i < ld->n; i++) {
        const loaded_plugin *lp = &ld->v[i];
        if (lp->error) {
            out_printf("%-18s %sBROKEN%s  %s\n", lp->stem, col_red(), col_reset(), lp->error);
            continue;
        }
        char caps[40];
        snprintf(caps, sizeof caps, "%s%s%s%s%s", lp->desc.gate ? "gate" : "",
                 lp->desc.gate && (lp->desc.metrics || lp->desc.runner) ? "," : "",
                 lp->desc.metrics ? "metrics" : "", lp->desc.metrics && lp->desc.runner ? "," : "",
                 lp->desc.runner ? "runner" : "");
        out_printf("%-18s %-8s %-14s %s%s\n", lp->desc.name,
                   lp->desc.version ? lp->desc.version : "?", caps, lp->path,
                   lp->shadowed ? "  (shadowed by an earlier folder)" : "");
    }
    if (ld->n == 0)
        out_printf("no plugins found\n");
    out_printf("searched:");
    for (size_t i = 0; i < ld->dirs.n; i++)
        out_printf(" %s", ld->dirs.v[i]);
    out_printf("\n");
}

#define TAIL_LINES 20
#define TAIL_BYTES 65536
/* A line longer than the whole window: only its end is shown, far from the window's start. */
#define TAIL_LONG_LINE 4096

/* The last max_lines lines of a log, read from its end only: logs can be gigabytes. The window
 * is read as one buffer and masked whole (core/base/secrets.h) before it is cut into lines, so a
 * secret is matched as the job wrote it, wherever the reads or the line cuts fall. A line that
 * the window's start cuts is never shown: a secret straddling that start would show half,
 * which no redactor can recognise. */
static void print_log_tail(const char *withheld, const char *path, const char *indent,
                           int max_lines)
{
    struct stat sb;
    strbuf red;
    char *buf;
    size_t want, got = 0, start = 0;
    off_t from;
    const char *p, *end;
    int lines = 0, fd;
    if (withheld) { /* a secret of the run this process cannot mask: no byte of the log */
        out_printf("%s%s\n", indent, withheld);
        return;
    }
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        out_printf("%s(log %s cannot be read%s)\n", indent, path,
                   errno == ELOOP ? ": it is a symbolic link, never read through" : "");
        return;
    }
    if (fstat(fd, &sb) != 0) {
        close(fd);
        return;
    }
    from = sb.st_size > TAIL_BYTES ? sb.st_size - TAIL_BYTES : 0;
    want = (size_t)(sb.st_size - from);
    buf = xmalloc(want + 1);
    got = read_at(fd, buf, want, (long long)from);
    close(fd);
    if (got == 0) {
        free(buf);
        return;
    }
    for (size_t i = 0; i < got; i++)
        if (buf[i] == '\0')
            buf[i] = ' ';
    sb_init(&red);
    secrets_redact(&red, buf, got);
    free(buf);
    if (from > 0) {
        const char *nl = memchr(red.s, '\n', red.len);
        if (nl && (size_t)(nl - red.s) + 1 < red.len) {
            start = (size_t)(nl - red.s) + 1;
        } else if (red.len > TAIL_LONG_LINE) {
            /* One line longer than the window: its last bytes, from a UTF-8 start. */
            start = red.len - TAIL_LONG_LINE;
            while (start < red.len && ((unsigned char)red.s[start] & 0xC0) == 0x80)
                start++;
        } else {
            start = red.len;
        }
    }
    end = red.s + red.len;
    p = end;
    if (p > red.s + start && p[-1] == '\n')
        p--;
    while (p > red.s + start && lines < max_lines) {
        p--;
        if (*p == '\n')
            lines++;
    }
    if (p < end && *p == '\n')
        p++;
    out_printf("%slast lines of %s:\n", indent, path);
    print_lines(indent, "  | ", p, (size_t)(end - p));
    sb_free(&red);
}

static const char *term_color(const char *t)
{
    if (!t)
        return "";
    if (strcmp(t, "job_completed") == 0 || strcmp(t, "max_runtime_reached") == 0)
        return col_green();
    if (strstr(t, "timeout"))
        return col_yellow();
    return col_red();
}

/* The log withheld line of a release (core/view/logview.h), or NULL; the caller frees it. */
static char *withheld_of(const release_record *rec)
{
    return logview_withheld_names((const char *const *)rec->sealed_env, rec->nsealed);
}

/* A JSON integer of the state, or 0 (an integral real is not one here). */
static long long int_or_0(record_int v) { return v.set && !v.from_real ? v.v : 0; }

static void job_line(const job_record *j, int resumed, int stopped)
{
    const char *oc = j->outcome_raw, *reason = j->reason, *term = j->termination_reason;
    const char *life = j->lifecycle_raw;
    relhost_outcome o = oc ? outcome_parse(oc) : RELHOST_NONE;
    double took = j->duration_s.set ? j->duration_s.v : 0.0;
    char exitbuf[16];
    /* stopped by an interrupt while it ran: the record waits for the resume as "pending" */
    if (stopped && !oc && j->started_at && time_parse_iso8601(j->started_at) > 0) {
        life = "stopped";
        took = time_wall() - time_parse_iso8601(j->started_at);
    }
    snprintf(exitbuf, sizeof exitbuf, "%s", "-");
    if (j->exit_code.set && !j->exit_code.from_real)
        snprintf(exitbuf, sizeof exitbuf, "%lld", j->exit_code.v);
    out_printf("      %-28s %s%-12s%s %7.1fs %5s  %s%-20s%s %lld%s%s%s\n",
               j->validation_given ? j->validation : "(null)", outcome_color(o),
               oc ? oc : (life ? life : "?"), col_reset(), took < 0 ? 0.0 : took, exitbuf,
               term_color(term), term ? term : "-", col_reset(), int_or_0(j->restarts),
               reason && o != RELHOST_PASSED ? "  reason: " : "",
               reason && o != RELHOST_PASSED ? reason : "",
               resumed ? "  (resumed: result of an earlier run)" : "");
}

void report_jobs(const plan *p, const step_result *r, json_t *root, const strvec *ids,
                 const int *resumed)
{
    release_record head;
    int header = 0;
    (void)p;
    /* the step's own jobs, each read by its id: never the whole release (a run of many steps
     * would read every earlier one again at each step's end) */
    if (ids->n == 0 || record_read_head(root, &head) != 0)
        return;
    for (size_t k = 0; k < ids->n; k++) {
        job_record j;
        relhost_outcome o;
        size_t i;
        if (!record_read_job_id(root, ids->v[k], &j))
            continue;
        /* a record whose "step" is not a string has none here */
        if (!j.step_given || strcmp(j.step, r->step->inst.name) != 0) {
            record_job_free(&j);
            continue;
        }
        o = j.outcome_raw ? outcome_parse(j.outcome_raw) : RELHOST_NONE;
        if (!header) {
            out_printf("      %s%-28s %-12s %8s %5s  %-20s %s%s\n", col_dim(), "validation",
                       "outcome", "time", "exit", "termination", "restarts", col_reset());
            header = 1;
        }
        job_line(&j, resumed[k], r->reason && strcmp(r->reason, "interrupted") == 0);
        print_spread(&j.evidence, "        ");
        for (i = 0; i < j.evidence.nchecks; i++)
            print_check(&j.evidence.checks[i], "        ");
        if (o != RELHOST_PASSED && o != RELHOST_NONE) {
            for (i = 0; i < j.evidence.nnotes; i++)
                print_lines("        ", "", j.evidence.notes[i], strlen(j.evidence.notes[i]));
            if (j.log_path) {
                char *withheld = withheld_of(&head);
                print_log_tail(withheld, j.log_path, "        ", TAIL_LINES);
                free(withheld);
            }
        }
        record_job_free(&j);
    }
    record_free(&head);
}

void report_status_head(void)
{
    out_printf("  %-30s %-22s %5s  %-20s %3s  %-12s %s\n", "JOB", "STATE", "EXIT", "TERMINATION",
               "RST", "EXTERNAL ID", "RUNNER");
}

void report_status_row(const release_record *rel, const job_record *j, const char *live,
                       int live_restarts, int tail)
{
    const char *oc = j->outcome_raw, *life = j->lifecycle_raw, *term = j->termination_reason;
    const char *reason = j->reason, *ext = j->external_id;
    relhost_outcome o = oc ? outcome_parse(oc) : RELHOST_NONE;
    long long restarts = int_or_0(j->restarts);
    char exitbuf[16] = "-", what[80];
    if (j->exit_code.set && !j->exit_code.from_real)
        snprintf(exitbuf, sizeof exitbuf, "%lld", j->exit_code.v);
    if (oc && life && strcmp(life, "completed") == 0)
        snprintf(what, sizeof what, "%s", oc);
    else if (!oc && !live && life && strcmp(life, "pending") == 0 && j->started_at && rel &&
             strcmp(record_decision(rel), "interrupted") == 0)
        snprintf(what, sizeof what, "stopped"); /* it ran; the record waits for the resume */
    else
        snprintf(what, sizeof what, "%s%s%s", life ? life : "?", live ? "/" : "", live ? live : "");
    if (live && live_restarts > restarts)
        restarts = live_restarts;
    out_printf("  %-30s %s%-22s%s %5s  %s%-20s%s %3lld  %-12s %s%s%s\n",
               j->validation_given ? j->validation : "(null)", outcome_color(o), what, col_reset(),
               exitbuf, term_color(term), term ? term : "-", col_reset(), restarts, ext ? ext : "-",
               j->runner, reason && o != RELHOST_PASSED ? "  reason: " : "",
               reason && o != RELHOST_PASSED ? reason : "");
    if (tail > 0 && j->log_path) {
        char *withheld = rel ? withheld_of(rel) : NULL;
        print_log_tail(withheld, j->log_path, "      ", tail);
        free(withheld);
    }
}
