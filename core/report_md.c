/* SPDX-License-Identifier: MIT */
/*
 * report_md.c - the release as Markdown (GitHub-flavoured): release notes, and the summary CI
 * shows for a job ($GITHUB_STEP_SUMMARY).
 *
 * Every piece of text from the state, a log or git is untrusted: it is cleaned
 * (report_text_clean), Markdown punctuation is backslash-escaped, '|' can never end a table cell
 * and a newline never ends a row (it becomes <br>). Outcomes are words, never emoji, so the
 * text reads the same in a terminal, a diff and a mail.
 */
#include "report_files.h"
#include "secrets.h"

#include "error.h"
#include "proc.h"

#include <relhost/plugin.h>

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A table cell or a note is a summary: longer text is cut (the JSON report has it all), which
 * also keeps a step summary far below GitHub's 1 MiB limit per step. */
#define MD_CELL_MAX 1000

static const char *jstr(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
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
    report_text_clean(&c, s, s ? strlen(s) : 0);
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
    report_text_clean(&c, s, s ? strlen(s) : 0);
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

static void num(strbuf *b, json_t *v)
{
    char s[40];
    if (!json_is_number(v)) {
        sb_puts(b, "-");
        return;
    }
    report_num_format(json_number_value(v), s, sizeof s);
    sb_puts(b, s);
}

static void seconds(strbuf *b, json_t *v)
{
    if (json_is_number(v) && isfinite(json_number_value(v)))
        sb_printf(b, "%.1f s", json_number_value(v));
    else
        sb_puts(b, "-");
}

static void outcome_cell(strbuf *b, json_t *o)
{
    const char *oc = jstr(o, "outcome");
    sb_puts(b, oc ? oc : "none");
}

/* The first http(s) URL in a note that contains `needle`, copied; NULL when none. */
static char *note_url(json_t *ev, const char *needle)
{
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(ev, "notes"), i, v)
    {
        const char *s = json_string_value(v);
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

/* The job's W&B run: its "wandb_run" label (entity/project/id) linked to the run's URL, which
 * metrics_wandb records as a "url" artifact and in a note. */
static void wandb_cell(strbuf *b, json_t *job)
{
    json_t *ev = json_object_get(job, "evidence"), *a;
    const char *run = jstr(json_object_get(ev, "labels"), "wandb_run");
    const char *id;
    char *needle, *url = NULL;
    size_t i;
    if (!run) {
        sb_puts(b, "-");
        return;
    }
    id = strrchr(run, '/') ? strrchr(run, '/') + 1 : run;
    needle = xasprintf("/runs/%s", id);
    json_array_foreach(json_object_get(ev, "artifacts"), i, a)
    {
        const char *u = jstr(a, "uri");
        if (!url && jstr(a, "kind") && strcmp(jstr(a, "kind"), "url") == 0 && u &&
            safe_url(u) && strstr(u, needle))
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
    if (strcmp(d, "passed") == 0)
        return "passed: every required step passed";
    if (strcmp(d, "failed") == 0)
        return "failed: a required step failed";
    if (strcmp(d, "frozen") == 0)
        return "frozen: the gates passed but publishing is frozen";
    if (strcmp(d, "deferred") == 0)
        return "deferred: a required step hit a retryable tool error; the next run retries it";
    if (strcmp(d, "interrupted") == 0)
        return "interrupted: the next run resumes it";
    if (strcmp(d, "in_progress") == 0)
        return "in progress: no decision recorded yet";
    return "undecided: a required step could not decide";
}

static void counts_line(strbuf *b, json_t *c, const char *what)
{
    static const char *const keys[] = {"passed",  "failed", "error", "inconclusive",
                                       "skipped", "waived", "none"};
    static const char *const words[] = {"PASSED",  "FAILED", "ERROR", "INCONCLUSIVE",
                                        "SKIPPED", "WAIVED", "without outcome"};
    json_int_t total = json_integer_value(json_object_get(c, "total"));
    int first = 1;
    sb_printf(b, "%" JSON_INTEGER_FORMAT " %s%s", total, what, total == 1 ? "" : "s");
    for (size_t i = 0; i < 7; i++) {
        json_int_t n = json_integer_value(json_object_get(c, keys[i]));
        if (n == 0)
            continue;
        sb_printf(b, "%s%" JSON_INTEGER_FORMAT " %s", first ? ": " : ", ", n, words[i]);
        first = 0;
    }
}

static void header(strbuf *b, json_t *model)
{
    json_t *rel = json_object_get(model, "release"), *cand = json_object_get(rel, "candidate");
    json_t *sum = json_object_get(model, "summary"), *chk = json_object_get(sum, "checks");
    const char *d = jstr(rel, "decision");
    sb_puts(b, "# Release ");
    md_text(b, jstr(rel, "version") ? jstr(rel, "version") : "(unnamed)");
    sb_printf(b, ": %s\n\n", d);
    sb_printf(b, "- **Decision:** %s", decision_text(d));
    if (json_is_integer(json_object_get(rel, "exit_code")))
        sb_printf(b, " (exit code %" JSON_INTEGER_FORMAT ")",
                  json_integer_value(json_object_get(rel, "exit_code")));
    sb_puts(b, "\n- **Plan:** ");
    md_text(b, jstr(rel, "plan_name") ? jstr(rel, "plan_name") : "(unnamed)");
    if (jstr(rel, "plan")) {
        sb_puts(b, " ");
        md_code(b, jstr(rel, "plan"), 0);
    }
    if (jstr(rel, "plan_hash")) {
        sb_puts(b, ", hash ");
        md_code(b, jstr(rel, "plan_hash"), 0);
    }
    sb_puts(b, "\n- **Commit:** ");
    if (jstr(cand, "commit")) {
        md_code(b, jstr(cand, "commit"), 0);
        if (jstr(cand, "repo")) {
            sb_puts(b, " of ");
            md_code(b, jstr(cand, "repo"), 0);
        }
        if (jstr(cand, "ref")) {
            sb_puts(b, ", ref ");
            md_code(b, jstr(cand, "ref"), 0);
        }
        if (jstr(cand, "checkout")) {
            sb_puts(b, ", checkout ");
            md_text(b, jstr(cand, "checkout"));
        }
    } else {
        sb_puts(b, "none recorded (the plan names no repository)");
    }
    sb_puts(b, "\n- **Created:** ");
    md_text(b, jstr(rel, "created_at") ? jstr(rel, "created_at") : "-");
    sb_puts(b, ", **updated:** ");
    md_text(b, jstr(rel, "updated_at") ? jstr(rel, "updated_at") : "-");
    sb_puts(b, "\n- **Summary:** ");
    counts_line(b, json_object_get(sum, "steps"), "step");
    sb_puts(b, "; ");
    counts_line(b, json_object_get(sum, "jobs"), "validation");
    sb_printf(b, "; %" JSON_INTEGER_FORMAT " of %" JSON_INTEGER_FORMAT " checks passed\n",
              json_integer_value(json_object_get(chk, "passed")),
              json_integer_value(json_object_get(chk, "total")));
}

static void steps_table(strbuf *b, json_t *model)
{
    json_t *steps = json_object_get(model, "steps"), *s, *v;
    size_t i, k;
    sb_puts(b, "\n## Steps\n\n");
    if (json_array_size(steps) == 0) {
        sb_puts(b, "No step has a result yet.\n");
        return;
    }
    sb_puts(b, "| # | Step | Plugin | Required | Outcome | Reason | Duration | Details |\n"
               "|--:|------|--------|----------|---------|--------|---------:|---------|\n");
    json_array_foreach(steps, i, s)
    {
        json_t *notes = json_object_get(json_object_get(s, "evidence"), "notes");
        strbuf d;
        sb_printf(b, "| %zu | ", i + 1);
        md_text(b, jstr(s, "name"));
        sb_puts(b, " | ");
        md_text(b, jstr(s, "plugin") ? jstr(s, "plugin") : "-");
        sb_printf(b, " | %s%s | ", json_is_true(json_object_get(s, "required")) ? "yes" : "no",
                  json_is_true(json_object_get(s, "publishes")) ? ", publishes" : "");
        outcome_cell(b, s);
        sb_puts(b, " | ");
        md_text(b, jstr(s, "reason") ? jstr(s, "reason") : "-");
        sb_puts(b, " | ");
        seconds(b, json_object_get(s, "duration_s"));
        sb_puts(b, " | ");
        /* Message, then notes, one per line: the cell is the step's story in brief. */
        sb_init(&d);
        if (jstr(s, "message"))
            sb_printf(&d, "%s", jstr(s, "message"));
        json_array_foreach(notes, k, v)
            sb_printf(&d, "%s%s", d.len ? "\n" : "", json_string_value(v));
        if (d.len)
            md_text_n(b, d.s, MD_CELL_MAX);
        else
            sb_puts(b, "-");
        sb_free(&d);
        sb_puts(b, " |\n");
    }
}

static void jobs_table(strbuf *b, json_t *model)
{
    json_t *jobs = json_object_get(model, "jobs"), *j;
    size_t i;
    if (json_array_size(jobs) == 0)
        return;
    sb_puts(b, "\n## Validations\n\n"
               "| Step | Validation | Outcome | Reason | Attempt | Duration | Exit | Log "
               "| W&B run |\n"
               "|------|------------|---------|--------|--------:|---------:|-----:|-----"
               "|---------|\n");
    json_array_foreach(jobs, i, j)
    {
        sb_puts(b, "| ");
        md_text(b, jstr(j, "step"));
        sb_puts(b, " | ");
        md_text(b, jstr(j, "validation"));
        sb_puts(b, " | ");
        if (jstr(j, "outcome"))
            outcome_cell(b, j);
        else
            md_text(b, jstr(j, "lifecycle") ? jstr(j, "lifecycle") : "none");
        sb_puts(b, " | ");
        md_text(b, jstr(j, "reason") ? jstr(j, "reason") : "-");
        sb_puts(b, " | ");
        num(b, json_object_get(j, "attempt"));
        sb_puts(b, " | ");
        seconds(b, json_object_get(j, "duration_s"));
        sb_puts(b, " | ");
        num(b, json_object_get(j, "exit_code"));
        sb_puts(b, " | ");
        if (jstr(j, "log_path"))
            md_code(b, jstr(j, "log_path"), 1);
        else
            sb_puts(b, "-");
        sb_puts(b, " | ");
        wandb_cell(b, j);
        sb_puts(b, " |\n");
    }
}

static int any_baseline(json_t *items)
{
    size_t i, k;
    json_t *it, *c;
    json_array_foreach(items, i, it)
        json_array_foreach(json_object_get(json_object_get(it, "evidence"), "checks"), k, c)
            if (json_is_number(json_object_get(c, "baseline")))
                return 1;
    return 0;
}

static void check_rows(strbuf *b, const char *where, json_t *owner, int baseline)
{
    json_t *ev = json_object_get(owner, "evidence");
    const char *oc = jstr(owner, "outcome");
    /* A check that did not hold in a waived step or job: a person accepted it. */
    const char *failed = oc && strcmp(oc, "WAIVED") == 0 ? "FAIL, waived" : "FAIL";
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(ev, "checks"), i, c)
    {
        sb_puts(b, "| ");
        md_text(b, where);
        sb_puts(b, " | ");
        md_text(b, jstr(c, "key") ? jstr(c, "key") : "?");
        sb_puts(b, " | ");
        if (json_is_number(json_object_get(c, "actual")))
            num(b, json_object_get(c, "actual"));
        else
            sb_puts(b, "no value");
        sb_puts(b, " | ");
        {
            strbuf e;
            sb_init(&e);
            report_check_expected(c, &e);
            md_text(b, e.s);
            sb_free(&e);
        }
        if (baseline) {
            sb_puts(b, " | ");
            num(b, json_object_get(c, "baseline"));
            sb_puts(b, " | ");
            num(b, json_object_get(c, "bound"));
        }
        sb_printf(b, " | %s | ", json_is_true(json_object_get(c, "passed")) ? "pass" : failed);
        md_text(b, jstr(c, "note") ? jstr(c, "note") : "-");
        sb_puts(b, " |\n");
    }
}

static void checks_table(strbuf *b, json_t *model)
{
    json_t *steps = json_object_get(model, "steps"), *jobs = json_object_get(model, "jobs"), *x;
    json_int_t total = json_integer_value(
        json_object_get(json_object_get(json_object_get(model, "summary"), "checks"), "total"));
    int baseline = any_baseline(steps) || any_baseline(jobs);
    size_t i;
    if (total == 0)
        return;
    sb_printf(b, "\n## Checks\n\n"
                 "| Step / validation | Metric | Actual | Expected |%s Result | Note |\n"
                 "|-------------------|--------|-------:|----------|%s--------|------|\n",
              baseline ? " Baseline | Bound |" : "", baseline ? "---------:|------:|" : "");
    json_array_foreach(steps, i, x)
        check_rows(b, jstr(x, "name"), x, baseline);
    json_array_foreach(jobs, i, x)
        check_rows(b, jstr(x, "id"), x, baseline);
}

/* " (1 run without a value)" when some run of a repeated validation lacked the metric. */
static void without_value(strbuf *b, json_t *spread)
{
    size_t i, n = 0;
    json_t *v;
    json_array_foreach(json_object_get(spread, "values"), i, v)
        n += !json_is_number(v);
    if (n)
        sb_printf(b, " (%zu run%s without a value)", n, n == 1 ? "" : "s");
}

/* Notes of jobs (a step's notes are in its row): failures explained, W&B runs, retries, and
 * the spread of a repeated validation's metrics. */
static void job_notes(strbuf *b, json_t *model)
{
    json_t *jobs = json_object_get(model, "jobs"), *j, *n;
    size_t i, k;
    int any = 0;
    json_array_foreach(jobs, i, j)
    {
        json_array_foreach(json_object_get(json_object_get(j, "evidence"), "metrics"), k, n)
        {
            json_t *sp = json_object_get(n, "repeats"), *c;
            size_t x;
            int checked = 0;
            /* only what a check looked at: the JSON report has every metric's spread */
            json_array_foreach(json_object_get(json_object_get(j, "evidence"), "checks"), x, c)
                checked |= jstr(c, "key") && jstr(n, "key") && strcmp(jstr(c, "key"),
                                                                      jstr(n, "key")) == 0;
            if (!json_is_object(sp) || !checked)
                continue;
            if (!any)
                sb_puts(b, "\n## Notes\n\n");
            any = 1;
            sb_puts(b, "- **");
            md_text(b, jstr(j, "id"));
            sb_puts(b, ":** ");
            md_text(b, jstr(n, "key"));
            sb_printf(b, " over %" JSON_INTEGER_FORMAT " runs: min ",
                      json_integer_value(json_object_get(sp, "n")));
            num(b, json_object_get(sp, "min"));
            sb_puts(b, ", median ");
            num(b, json_object_get(sp, "median"));
            sb_puts(b, ", max ");
            num(b, json_object_get(sp, "max"));
            without_value(b, sp);
            sb_putc(b, '\n');
        }
        json_array_foreach(json_object_get(json_object_get(j, "evidence"), "notes"), k, n)
        {
            if (!any)
                sb_puts(b, "\n## Notes\n\n");
            any = 1;
            sb_puts(b, "- **");
            md_text(b, jstr(j, "id"));
            sb_puts(b, ":** ");
            md_text_n(b, json_string_value(n), MD_CELL_MAX);
            sb_putc(b, '\n');
        }
    }
}

/* ---- commits since the previous tag, through core/proc.c --------------------------------- */

/* Run git -C repo args...; *out gets trimmed stdout; *why a one-line reason on failure. */
static int git(const char *repo, const char *const *args, char **out, char **why)
{
    const char *argv[16];
    relhost_proc_spec spec = {.struct_size = sizeof spec};
    relhost_proc_result res;
    size_t n = 0, l;
    int rc;
    argv[n++] = "git";
    argv[n++] = "-C";
    argv[n++] = repo;
    for (size_t i = 0; args[i] && n < 15; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    spec.argv = argv;
    spec.timeout_s = 60;
    memset(&res, 0, sizeof res);
    *out = NULL;
    rc = proc_run(&spec, &res);
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

static void changes(strbuf *b, json_t *model, const char *repo)
{
    json_t *cand = json_object_get(json_object_get(model, "release"), "candidate");
    const char *commit = jstr(cand, "commit");
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

int report_md(json_t *state_root, const char *repo, FILE *out, char **err)
{
    json_t *model = report_model(state_root);
    strbuf b;
    int rc;
    if (!model) {
        if (err)
            *err = xstrdup(error_last());
        return RELHOST_EINVAL;
    }
    sb_init(&b);
    header(&b, model);
    steps_table(&b, model);
    jobs_table(&b, model);
    checks_table(&b, model);
    job_notes(&b, model);
    if (repo)
        changes(&b, model, repo);
    rc = report_emit(out, &b, err);
    sb_free(&b);
    json_decref(model);
    return rc;
}
