/* SPDX-License-Identifier: MIT */
/*
 * report_md.c - the release as Markdown (GitHub-flavoured): release notes, and the summary CI
 * shows for a job ($GITHUB_STEP_SUMMARY).
 *
 * Every piece of text from the state, a log or git is untrusted: it is cleaned
 * (text_clean), Markdown punctuation is backslash-escaped, '|' can never end a table cell
 * and a newline never ends a row (it becomes <br>). Outcomes are words, never emoji, so the
 * text reads the same in a terminal, a diff and a mail.
 */
#include "base/secrets.h"
#include "view/report_files.h"
#include "view/text.h"

#include "base/error.h"
#include "base/outcome.h"
#include "record/record.h"
#include "run/proc.h"

#include <relhost/plugin.h>

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A table cell or a note is a summary: longer text is cut (the JSON report has it all), which
 * also keeps a step summary far below GitHub's 1 MiB limit per step. */
#define MD_CELL_MAX 1000

static const char *oc_name(relhost_outcome oc)
{
    return oc == RELHOST_NONE ? NULL : outcome_name(oc);
}

static const char *label_of(const evidence_record *ev, const char *key)
{
    for (size_t i = 0; i < ev->nlabels; i++)
        if (strcmp(ev->labels[i].key, key) == 0)
            return ev->labels[i].value;
    return NULL;
}

/* After a '&': would "&...;" read as an HTML entity? */
static int entity_at(const char *s)
{
    size_t n = 0;
    while (n < 32 && (isalnum((unsigned char)s[n]) || (n == 0 && s[n] == '#')))
        n++;
    return n > 0 && s[n] == ';';
}

/* Inline text (after a list marker or in a table cell; never at a block's start, so '>', '#'
 * and list markers need no escape). A newline becomes <br>: a table row is one line. */
static void md_text_n(strbuf *b, const char *s, size_t max)
{
    strbuf c;
    size_t n;
    sb_init(&c);
    text_clean(&c, s, s ? strlen(s) : 0);
    n = c.len;
    if (max && n > max) {
        n = max;
        while (n > 0 && ((unsigned char)c.s[n] & 0xC0) == 0x80)
            n--;
    }
    for (size_t i = 0; i < n; i++) {
        char ch = c.s[i];
        if (ch == '\n')
            sb_puts(b, "<br>");
        else if (ch == '\t')
            sb_putc(b, ' ');
        else if (ch == '_' && i > 0 && i + 1 < n && isalnum((unsigned char)c.s[i - 1]) &&
                 isalnum((unsigned char)c.s[i + 1]))
            sb_putc(b, ch); /* intraword: never emphasis in GFM, and names are full of it */
        else if (ch == '&' && entity_at(c.s + i + 1))
            sb_puts(b, "\\&"); /* "&amp;" in a note is text, not an ampersand */
        else if (strchr("\\`*_[]<|~$", ch))
            sb_printf(b, "\\%c", ch); /* '$' too: GitHub renders $...$ as math */
        else
            sb_putc(b, ch);
    }
    if (n < c.len)
        sb_puts(b, " ... (cut)");
    sb_free(&c);
}

static void md_text(strbuf *b, const char *s) { md_text_n(b, s, 0); }

/* A code span (paths, hashes, commands): the fence is one backtick longer than the longest run
 * inside. In a table '|' is still escaped: GFM splits cells before it parses code spans. */
static void md_code(strbuf *b, const char *s, int in_table)
{
    strbuf c;
    size_t run = 0, longest = 0;
    int pad;
    sb_init(&c);
    text_clean(&c, s, s ? strlen(s) : 0);
    if (c.len == 0) {
        sb_puts(b, "(empty)");
        sb_free(&c);
        return;
    }
    for (size_t i = 0; i < c.len; i++) {
        run = c.s[i] == '`' ? run + 1 : 0;
        if (run > longest)
            longest = run;
    }
    pad = c.s[0] == '`' || c.s[c.len - 1] == '`' || c.s[0] == ' ';
    for (size_t i = 0; i <= longest; i++)
        sb_putc(b, '`');
    if (pad)
        sb_putc(b, ' ');
    for (size_t i = 0; i < c.len; i++) {
        char ch = c.s[i];
        if (ch == '\n' || ch == '\t')
            sb_putc(b, ' ');
        else if (ch == '|' && in_table)
            sb_puts(b, "\\|");
        else
            sb_putc(b, ch);
    }
    if (pad)
        sb_putc(b, ' ');
    for (size_t i = 0; i <= longest; i++)
        sb_putc(b, '`');
    sb_free(&c);
}

/* An http(s) URL made only of characters that need no escaping in a Markdown link. */
static int safe_url(const char *u)
{
    if (!u || (strncmp(u, "https://", 8) != 0 && strncmp(u, "http://", 7) != 0))
        return 0;
    for (const char *p = u; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("-._~:/?#@!$&'*+,;=%", *p))
            return 0;
    return 1;
}

static void md_link(strbuf *b, const char *text, const char *url, int in_table)
{
    if (safe_url(url)) {
        /* The target is not cleaned like text (it must stay a URL): masked here. */
        char *u = secrets_redact_dup(url);
        sb_putc(b, '[');
        md_text(b, text);
        sb_printf(b, "](%s)", u);
        free(u);
    } else {
        md_text(b, text);
        if (url) {
            sb_puts(b, " (");
            md_code(b, url, in_table);
            sb_putc(b, ')');
        }
    }
}

static void num(strbuf *b, record_real v)
{
    char s[40];
    if (!v.set) {
        sb_puts(b, "-");
        return;
    }
    text_num_format(v.v, s, sizeof s);
    sb_puts(b, s);
}

static void num_int(strbuf *b, record_int v)
{
    record_real r = {v.set, (double)v.v, 0};
    num(b, r);
}

static void seconds(strbuf *b, record_real v)
{
    if (v.set)
        sb_printf(b, "%.1f s", v.v);
    else
        sb_puts(b, "-");
}

static void outcome_cell(strbuf *b, relhost_outcome oc)
{
    sb_puts(b, oc_name(oc) ? oc_name(oc) : "none");
}

/* The first http(s) URL in a note that contains `needle`, copied; NULL when none. */
static char *note_url(const evidence_record *ev, const char *needle)
{
    for (size_t i = 0; i < ev->nnotes; i++) {
        const char *s = ev->notes[i];
        while (s && (s = strstr(s, "http")) != NULL) {
            size_t n = 0;
            char *u;
            while (s[n] && !isspace((unsigned char)s[n]) && !strchr("()<>\"'|", s[n]))
                n++;
            u = xstrndup(s, n);
            if (safe_url(u) && strstr(u, needle))
                return u;
            free(u);
            s += n ? n : 1;
        }
    }
    return NULL;
}

/* The job's run in an experiment tracker. The reserved label RELHOST_LABEL_RUN_URL is its web
 * page; a "wandb_run" label (entity/project/id), as states written before that label existed
 * hold (tests/reports/golden.md), is linked to the URL recorded with it as a "url" artifact or
 * in a note. */
static void wandb_cell(strbuf *b, const job_record *j)
{
    const evidence_record *ev = &j->evidence;
    const char *run = label_of(ev, "wandb_run"), *run_url = label_of(ev, RELHOST_LABEL_RUN_URL);
    const char *id;
    char *needle, *url = NULL;
    size_t i;
    if (run_url) {
        md_link(b, run ? run : run_url, run_url, 1);
        return;
    }
    if (!run) {
        sb_puts(b, "-");
        return;
    }
    id = strrchr(run, '/') ? strrchr(run, '/') + 1 : run;
    needle = xasprintf("/runs/%s", id);
    for (i = 0; i < ev->nartifacts; i++) {
        const char *u = ev->artifacts[i].uri, *kind = ev->artifacts[i].kind;
        if (!url && kind && strcmp(kind, "url") == 0 && u && safe_url(u) && strstr(u, needle))
            url = xstrdup(u);
    }
    if (!url)
        url = note_url(ev, needle);
    md_link(b, run, url, 1);
    free(url);
    free(needle);
}

static const char *decision_text(const char *d)
{
    static const char *const words[][2] = {
        {"passed", "passed: every required step passed"},
        {"failed", "failed: a required step failed"},
        {"frozen", "frozen: the gates passed but publishing is frozen"},
        {"deferred",
         "deferred: a required step hit a retryable tool error; the next run retries it"},
        {"interrupted", "interrupted: the next run resumes it"},
        {"in_progress", "in progress: no decision recorded yet"},
    };
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (strcmp(d, words[i][0]) == 0)
            return words[i][1];
    return "undecided: a required step could not decide";
}

static void counts_line(strbuf *b, const record_counts *c, const char *what)
{
    static const char *const words[] = {"PASSED",  "FAILED", "ERROR",          "INCONCLUSIVE",
                                        "SKIPPED", "WAIVED", "without outcome"};
    int first = 1;
    sb_printf(b, "%lld %s%s", c->total, what, c->total == 1 ? "" : "s");
    for (size_t i = 0; i < 7; i++) {
        long long n = c->n[i + 1];
        if (n == 0)
            continue;
        sb_printf(b, "%s%lld %s", first ? ": " : ", ", n, words[i]);
        first = 0;
    }
}

/* lead then value as code, when there is a value */
static void code_after(strbuf *b, const char *lead, const char *value)
{
    if (!value)
        return;
    sb_puts(b, lead);
    md_code(b, value, 0);
}

static void header_commit(strbuf *b, const release_record *rec)
{
    const candidate_record *cand = &rec->candidate;
    sb_puts(b, "\n- **Commit:** ");
    if (!cand->commit) {
        sb_puts(b, "none recorded (the plan names no repository)");
        return;
    }
    md_code(b, cand->commit, 0);
    code_after(b, " of ", cand->repo);
    code_after(b, ", ref ", cand->ref);
    if (cand->checkout) {
        sb_puts(b, ", checkout ");
        md_text(b, cand->checkout);
    }
}

/* 1 when every step recorded so far that is required PASSED or was WAIVED (and one is): what a
 * publishing step reading the notes mid-run may say of the release. */
static int required_so_far_passed(const release_record *rec)
{
    size_t n = 0;
    for (size_t i = 0; i < rec->nsteps; i++) {
        const step_record *s = &rec->steps[i];
        if (!s->required || s->outcome == RELHOST_NONE) /* not decided yet: a step running now */
            continue;
        if (s->outcome != RELHOST_PASSED && s->outcome != RELHOST_WAIVED)
            return 0;
        n++;
    }
    return n > 0;
}

static void header(strbuf *b, const release_record *rec, const record_summary *sum)
{
    const char *d = record_decision(rec);
    sb_puts(b, "# Release ");
    md_text(b, rec->version ? rec->version : "(unnamed)");
    sb_printf(b, ": %s\n\n", d);
    if (strcmp(d, "in_progress") == 0 && required_so_far_passed(rec))
        /* the notes a tag or a release body takes while its publishing steps run */
        sb_puts(b, "- **Decision:** in progress: every required step recorded so far passed; "
                   "the publishing steps run now");
    else
        sb_printf(b, "- **Decision:** %s", decision_text(d));
    if (rec->exit_code.set)
        sb_printf(b, " (exit code %lld)", rec->exit_code.v);
    sb_puts(b, "\n- **Plan:** ");
    md_text(b, rec->plan_name ? rec->plan_name : "(unnamed)");
    code_after(b, " ", rec->plan);
    code_after(b, ", hash ", rec->plan_hash);
    header_commit(b, rec);
    sb_puts(b, "\n- **Created:** ");
    md_text(b, rec->created_at ? rec->created_at : "-");
    sb_puts(b, ", **updated:** ");
    md_text(b, rec->updated_at ? rec->updated_at : "-");
    sb_puts(b, "\n- **Summary:** ");
    counts_line(b, &sum->steps, "step");
    sb_puts(b, "; ");
    counts_line(b, &sum->jobs, "validation");
    sb_printf(b, "; %lld of %lld checks passed\n", sum->checks_passed,
              sum->checks_passed + sum->checks_failed);
}

static void steps_table(strbuf *b, const release_record *rec)
{
    size_t i, k;
    sb_puts(b, "\n## Steps\n\n");
    if (rec->nsteps == 0) {
        sb_puts(b, "No step has a result yet.\n");
        return;
    }
    sb_puts(b, "| # | Step | Plugin | Required | Outcome | Reason | Duration | Details |\n"
               "|--:|------|--------|----------|---------|--------|---------:|---------|\n");
    for (i = 0; i < rec->nsteps; i++) {
        const step_record *s = &rec->steps[i];
        strbuf d;
        sb_printf(b, "| %zu | ", i + 1);
        md_text(b, s->name);
        sb_puts(b, " | ");
        md_text(b, s->plugin ? s->plugin : "-");
        sb_printf(b, " | %s%s | ", s->required ? "yes" : "no", s->publishes ? ", publishes" : "");
        outcome_cell(b, s->outcome);
        sb_puts(b, " | ");
        md_text(b, s->reason ? s->reason : "-");
        sb_puts(b, " | ");
        seconds(b, s->duration_s);
        sb_puts(b, " | ");
        /* Message, then notes, one per line: the cell is the step's story in brief. */
        sb_init(&d);
        if (s->message)
            sb_printf(&d, "%s", s->message);
        for (k = 0; k < s->evidence.nnotes; k++)
            sb_printf(&d, "%s%s", d.len ? "\n" : "", s->evidence.notes[k]);
        if (d.len)
            md_text_n(b, d.s, MD_CELL_MAX);
        else
            sb_puts(b, "-");
        sb_free(&d);
        sb_puts(b, " |\n");
    }
}

/* A path as the notes show it: relative to the candidate's repository when it lies in it (the
 * notes become a release's body and a tag's message, read far from the runner's disk). */
static const char *in_repo(const release_record *rec, const char *path)
{
    const char *repo = rec->candidate.repo;
    size_t n = repo ? strlen(repo) : 0;
    while (n > 1 && repo[n - 1] == '/')
        n--;
    if (n && path[0] == '/' && strncmp(path, repo, n) == 0 && path[n] == '/' && path[n + 1])
        return path + n + 1;
    return path;
}

static void jobs_head(strbuf *b)
{
    sb_puts(b, "\n## Validations\n\n"
               "| Step | Validation | Outcome | Reason | Attempt | Duration | Exit | Log "
               "| W&B run |\n"
               "|------|------------|---------|--------|--------:|---------:|-----:|-----"
               "|---------|\n");
}

static void job_row(strbuf *b, const release_record *rec, const job_record *j)
{
    sb_puts(b, "| ");
    md_text(b, j->step);
    sb_puts(b, " | ");
    md_text(b, j->validation);
    sb_puts(b, " | ");
    if (j->outcome != RELHOST_NONE)
        outcome_cell(b, j->outcome);
    else
        md_text(b, j->lifecycle_raw ? j->lifecycle_raw : "none");
    sb_puts(b, " | ");
    md_text(b, j->reason ? j->reason : "-");
    sb_puts(b, " | ");
    num_int(b, j->attempt);
    sb_puts(b, " | ");
    seconds(b, j->duration_s);
    sb_puts(b, " | ");
    num_int(b, j->exit_code);
    sb_puts(b, " | ");
    if (j->log_path)
        md_code(b, in_repo(rec, j->log_path), 1);
    else
        sb_puts(b, "-");
    sb_puts(b, " | ");
    wandb_cell(b, j);
    sb_puts(b, " |\n");
}

static int any_baseline(const evidence_record *ev)
{
    for (size_t k = 0; k < ev->nchecks; k++)
        if (ev->checks[k].baseline.set)
            return 1;
    return 0;
}

static void check_rows(strbuf *b, const char *where, const evidence_record *ev, relhost_outcome oc,
                       int baseline)
{
    /* A check that did not hold in a waived step or job: a person accepted it. */
    const char *failed = oc == RELHOST_WAIVED ? "FAIL, waived" : "FAIL";
    for (size_t i = 0; i < ev->nchecks; i++) {
        const check_record *c = &ev->checks[i];
        strbuf e;
        sb_puts(b, "| ");
        md_text(b, where);
        sb_puts(b, " | ");
        md_text(b, c->key ? c->key : "?");
        sb_puts(b, " | ");
        if (c->actual.set)
            num(b, c->actual);
        else
            sb_puts(b, "no value");
        sb_puts(b, " | ");
        sb_init(&e);
        text_check_expected(c, &e);
        md_text(b, e.s);
        sb_free(&e);
        if (baseline) {
            sb_puts(b, " | ");
            num(b, c->baseline);
            sb_puts(b, " | ");
            num(b, c->bound);
        }
        sb_printf(b, " | %s | ", c->passed ? "pass" : failed);
        if (!c->passed) {
            /* what broke the rule, in words: "sps_max 12833 < 30000 (needs >= 30000)" */
            strbuf f;
            sb_init(&f);
            if (!text_check_failure(c, &f) && c->note)
                sb_printf(&f, "; %s", c->note);
            md_text(b, f.s);
            sb_free(&f);
        } else {
            md_text(b, c->note ? c->note : "-");
        }
        sb_puts(b, " |\n");
    }
}

/* The checks table's head and the steps' rows; the jobs' rows follow (check_rows()). */
static void checks_head(strbuf *b, const release_record *rec, int baseline)
{
    size_t i;
    sb_printf(b,
              "\n## Checks\n\n"
              "| Step / validation | Metric | Actual | Expected |%s Result | Note |\n"
              "|-------------------|--------|-------:|----------|%s--------|------|\n",
              baseline ? " Baseline | Bound |" : "", baseline ? "---------:|------:|" : "");
    for (i = 0; i < rec->nsteps; i++)
        check_rows(b, rec->steps[i].name, &rec->steps[i].evidence, rec->steps[i].outcome, baseline);
}

static void notes_head(strbuf *b, int *any, const job_record *j)
{
    if (!*any)
        sb_puts(b, "\n## Notes\n\n");
    *any = 1;
    sb_puts(b, "- **");
    md_text(b, j->id);
    sb_puts(b, ":** ");
}

/* A repeated validation's metric a check looked at: " over 3 runs: min .., median .., max .."
 * (the JSON report has every metric's spread). */
static void spread_note(strbuf *b, int *any, const job_record *j, const metric_record *m)
{
    record_spread sp;
    record_real v = {0, 0, 0};
    int checked = 0;
    for (size_t x = 0; x < j->evidence.nchecks; x++)
        checked |= j->evidence.checks[x].key && strcmp(j->evidence.checks[x].key, m->key) == 0;
    if (!record_metric_spread(m, &sp) || !checked)
        return;
    notes_head(b, any, j);
    md_text(b, m->key);
    sb_printf(b, " over %zu runs: min ", sp.n);
    v.set = sp.nvalues > 0;
    v.v = sp.min;
    num(b, v);
    sb_puts(b, ", median ");
    v.v = sp.median;
    num(b, v);
    sb_puts(b, ", max ");
    v.v = sp.max;
    num(b, v);
    if (sp.n - sp.nvalues)
        sb_printf(b, " (%zu run%s without a value)", sp.n - sp.nvalues,
                  sp.n - sp.nvalues == 1 ? "" : "s");
    sb_putc(b, '\n');
}

/* Notes of a job (a step's notes are in its row): failures explained, W&B runs, retries, and
 * the spread of a repeated validation's metrics. */
static void job_notes(strbuf *b, int *any, const job_record *j)
{
    size_t k;
    for (k = 0; k < j->evidence.nmetrics; k++)
        spread_note(b, any, j, &j->evidence.metrics[k]);
    for (k = 0; k < j->evidence.nnotes; k++) {
        notes_head(b, any, j);
        md_text_n(b, j->evidence.notes[k], MD_CELL_MAX);
        sb_putc(b, '\n');
    }
}

/* ---- commits since the previous tag, through core/run/proc.c --------------------------------- */

/* Run git -C repo args...; *out gets trimmed stdout; *why a one-line reason on failure. */
static int git(const char *repo, const char *const *args, char **out, char **why)
{
    relhost_proc_result res;
    size_t l;
    int rc;
    *out = NULL;
    rc = proc_run_git(repo, args, 60, &res);
    if (rc != 0) {
        *why = xasprintf("git %s could not run: %s", args[0], error_last());
    } else if (res.exec_failed) {
        *why = xasprintf("git could not be started (is it installed?)");
        rc = RELHOST_EIO;
    } else if (res.exit_code != 0) {
        const char *e = res.err ? res.err : "";
        *why = xasprintf("git %s exited with %d: %.*s", args[0], res.exit_code,
                         (int)strcspn(e, "\n"), e);
        rc = RELHOST_EIO;
    } else {
        l = res.out ? strlen(res.out) : 0;
        while (l && isspace((unsigned char)res.out[l - 1]))
            l--;
        *out = xstrndup(res.out ? res.out : "", l);
    }
    proc_result_free(&res);
    return rc;
}

static int is_hex_commit(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n < 7 || n > 64)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isxdigit((unsigned char)s[i]))
            return 0;
    return 1;
}

/* A tag name as git prints it, safe to pass on as part of an argument (never an option). */
static int is_tag(const char *s)
{
    if (!s || !*s || s[0] == '-' || strlen(s) > 255)
        return 0;
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7F)
            return 0;
    return 1;
}

static void changes(strbuf *b, const release_record *rec, const char *repo)
{
    const char *commit = rec->candidate.commit;
    char *prev = NULL, *why = NULL, *count = NULL, *log = NULL, *range, *parent;
    long total;

    if (!is_hex_commit(commit)) {
        sb_puts(b, "\n## Changes\n\n");
        sb_puts(b, commit ? "The candidate commit in the state is not a commit id; the changes "
                            "are not listed.\n"
                          : "The state records no candidate commit, so the changes since the "
                            "previous release are not listed.\n");
        return;
    }
    parent = xasprintf("%s^", commit);
    {
        const char *args[] = {"describe", "--tags", "--abbrev=0", parent, NULL};
        /* No tag before this commit (or a root commit): everything up to it is new. */
        if (git(repo, args, &prev, &why) != 0 || !is_tag(prev)) {
            free(prev);
            prev = NULL;
        }
        free(why);
        why = NULL;
    }
    free(parent);
    range = prev ? xasprintf("%s..%s", prev, commit) : xstrdup(commit);
    {
        const char *cargs[] = {"rev-list", "--count", range, NULL};
        char nmax[16];
        const char *largs[] = {"log", "--no-color", "--format=%h%x09%s", "-n", nmax, range, NULL};
        snprintf(nmax, sizeof nmax, "%d", REPORT_MD_COMMITS);
        if (git(repo, cargs, &count, &why) == 0)
            git(repo, largs, &log, &why);
    }
    sb_puts(b, "\n## Changes");
    if (prev) {
        sb_puts(b, " since ");
        md_code(b, prev, 0);
    }
    sb_puts(b, "\n\n");
    if (why) {
        sb_puts(b, "The commits could not be listed: ");
        md_text(b, why);
        sb_puts(b, "\n");
        goto out;
    }
    total = strtol(count, NULL, 10);
    if (total == 0) {
        sb_puts(b, "No commits since the previous release.\n");
        goto out;
    }
    md_code(b, range, 0);
    sb_printf(b, ": %ld commit%s%s\n\n", total, total == 1 ? "" : "s",
              prev ? "" : " (no earlier tag: the whole history)");
    for (const char *p = log; p && *p;) {
        size_t n = strcspn(p, "\n"), h = strcspn(p, "\t");
        char *hash, *subj;
        if (h > n)
            h = n;
        hash = xstrndup(p, h);
        subj = xstrndup(p + (h < n ? h + 1 : h), h < n ? n - h - 1 : 0);
        sb_puts(b, "- ");
        md_code(b, hash, 0);
        sb_puts(b, " ");
        md_text(b, subj);
        sb_putc(b, '\n');
        free(hash);
        free(subj);
        p += n + (p[n] == '\n');
    }
    if (total > REPORT_MD_COMMITS)
        sb_printf(b, "- and %ld more\n", total - REPORT_MD_COMMITS);
out:
    free(why);
    free(prev);
    free(count);
    free(log);
    free(range);
}

/* What the first read of every job gathers: the summary's job counts and whether any check of
 * a job has a baseline (the checks table's columns). */
struct first_read {
    record_summary sum;
    int baseline;
};

static void first_read(job_record *j, void *arg)
{
    struct first_read *f = arg;
    text_redact_job(j);
    record_summarize_job(j, &f->sum);
    f->baseline |= any_baseline(&j->evidence);
}

/* Rendered text goes out once this much has gathered: the notes of a release of any size are
 * never all in memory at once, and neither are its jobs' records. */
#define MD_CHUNK (64 * 1024)

/* The validations table, then the checks and the notes gathered on the way: every job is read,
 * masked and rendered once, one at a time. */
static int jobs_sections(strbuf *b, const release_record *rec, const record_jobs *jobs,
                         const struct first_read *f, FILE *out, char **err)
{
    strbuf checks, notes;
    int any = 0, rc = 0;
    /* f: the whole release's summary and baseline flag, steps included */
    int with_checks = f->sum.checks_passed + f->sum.checks_failed > 0;
    sb_init(&checks);
    sb_init(&notes);
    if (jobs->n)
        jobs_head(b);
    if (with_checks)
        checks_head(&checks, rec, f->baseline);
    for (size_t i = 0; i < jobs->n && rc == 0; i++) {
        job_record j;
        record_jobs_read(jobs, i, &j);
        text_redact_job(&j);
        job_row(b, rec, &j);
        if (with_checks)
            check_rows(&checks, j.id, &j.evidence, j.outcome, f->baseline);
        job_notes(&notes, &any, &j);
        record_job_free(&j);
        if (b->len >= MD_CHUNK) {
            rc = text_emit(out, b, err);
            b->len = 0;
            b->s[0] = '\0';
        }
    }
    sb_add(b, checks.s ? checks.s : "", checks.len);
    sb_add(b, notes.s ? notes.s : "", notes.len);
    sb_free(&checks);
    sb_free(&notes);
    return rc;
}

int report_md(json_t *state_root, const char *repo, FILE *out, char **err)
{
    release_record rec;
    record_summary sum;
    record_jobs jobs;
    struct first_read f;
    strbuf b;
    int rc;
    memset(&f, 0, sizeof f);
    if (record_read_lazy(state_root, &rec, &jobs, first_read, &f) != 0) {
        if (err)
            *err = xstrdup(error_last());
        return RELHOST_EINVAL;
    }
    text_redact_record(&rec);
    record_summarize(&rec, &sum); /* the steps: rec holds no job */
    f.sum.steps = sum.steps;
    f.sum.checks_passed += sum.checks_passed;
    f.sum.checks_failed += sum.checks_failed;
    for (size_t i = 0; i < rec.nsteps; i++)
        f.baseline |= any_baseline(&rec.steps[i].evidence);
    sb_init(&b);
    header(&b, &rec, &f.sum);
    steps_table(&b, &rec);
    rc = jobs_sections(&b, &rec, &jobs, &f, out, err);
    record_jobs_free(&jobs);
    if (rc == 0 && repo)
        changes(&b, &rec, repo);
    if (rc == 0)
        rc = text_emit(out, &b, err);
    sb_free(&b);
    record_free(&rec);
    return rc;
}
