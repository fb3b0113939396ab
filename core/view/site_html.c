/* SPDX-License-Identifier: MIT */
/* site_html.c - the status page as HTML: the page's frame, the releases table and each release's
 * checks (the banner is site_banner.c's, the trend plots site_plot.c's), and the text helpers
 * they share. Every input string goes through site_text() (cleaned, secrets masked,
 * HTML-escaped); numbers through one formatter. No script, no external resource. */
#include "view/site.h"

#include "base/secrets.h"
#include "view/report_files.h"
#include "view/text.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char css[] =
    "body{font-family:system-ui,-apple-system,\"Segoe UI\",Roboto,sans-serif;margin:0 auto;"
    "max-width:78rem;padding:1rem 1.5rem;color:#1f2328;background:#fff;line-height:1.4}"
    "h1{font-size:1.5rem;margin:.5rem 0}h2{font-size:1.2rem;margin-top:2rem;"
    "border-bottom:1px solid #d0d7de;padding-bottom:.25rem}"
    "table{border-collapse:collapse;width:100%;font-size:.9rem;margin:.5rem 0}"
    "th,td{border:1px solid #d0d7de;padding:.3rem .5rem;text-align:left;vertical-align:top}"
    "th{background:#f6f8fa}tbody tr:nth-child(even){background:#fbfbfc}"
    "code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.85em}"
    ".meta,.note,.empty{color:#57606a}.note{font-style:italic}"
    ".status-badge{display:inline-block;padding:0 .45rem;border-radius:1rem;font-weight:600;"
    "font-size:.8rem;color:#fff;background:#6e7781}"
    ".s-promoted{background:#1a7f37}.s-quarantined{background:#cf222e}"
    ".s-rolled_back{background:#bc4c00}.s-staged{background:#6e7781}.s-unknown{background:#8250df}"
    ".pointer{display:inline-block;margin:0 .2rem .1rem 0;padding:0 .4rem;border-radius:.25rem;"
    "font-size:.75rem;border:1px solid #0969da;color:#0969da;background:#ddf4ff}"
    ".pass{color:#1a7f37;font-weight:600}.fail{color:#cf222e;font-weight:600}"
    ".unknown{color:#57606a}"
    "details{margin:.5rem 0;border:1px solid #d0d7de;border-radius:.375rem;padding:.25rem .75rem}"
    "summary{cursor:pointer;font-weight:600}ul.steps{margin:.25rem 0;padding-left:1.2rem;"
    "font-size:.85rem}"
    ".table-scroll{overflow-x:auto;max-width:100%;margin:.5rem 0}.table-scroll table{margin:0}"
    "td.reason{min-width:12rem;overflow-wrap:anywhere}"
    "h1,h2,p,li,summary,figcaption{overflow-wrap:anywhere}"
    "@media (max-width:40rem){body{padding:.5rem .75rem}details{padding:.25rem .5rem}}";

/* ---- text ---------------------------------------------------------------------------------- */

static void escape(strbuf *b, const char *s, size_t n)
{
    size_t run = 0; /* s[run..i) needs no escape: added in one piece */
    for (size_t i = 0; i < n; i++) {
        const char *e;
        switch (s[i]) {
        case '&': e = "&amp;"; break;
        case '<': e = "&lt;"; break;
        case '>': e = "&gt;"; break;
        case '"': e = "&quot;"; break;
        case '\'': e = "&#39;"; break;
        default: continue;
        }
        sb_add(b, s + run, i - run);
        sb_puts(b, e);
        run = i + 1;
    }
    sb_add(b, s + run, n - run);
}

/* s cleaned (valid UTF-8, no control bytes or terminal escapes, secrets masked) and escaped for
 * HTML text and double-quoted attributes alike. */
void site_text(strbuf *b, const char *s)
{
    strbuf c;
    size_t n, i = 0;
    if (!s)
        return;
    n = strlen(s);
    sb_init(&c);
    /* Printable ASCII (most of the page: versions, names, statuses) is what text_clean()
     * leaves of it once masked: only the mask, itself printable, can differ. */
    while (i < n && s[i] >= 0x20 && s[i] < 0x7F)
        i++;
    if (i == n)
        secrets_redact(&c, s, n);
    else
        text_clean(&c, s, n);
    escape(b, c.s ? c.s : "", c.len);
    sb_free(&c);
}

void site_num(strbuf *b, double v)
{
    char buf[48];
    text_num_format(v, buf, sizeof buf);
    sb_puts(b, buf);
}

/* s shortened to at most max bytes, cut on a UTF-8 character boundary, with an ellipsis. Masked
 * before it is cut: a secret the cut went through would show its first half, unrecognisable. */
void site_text_short(strbuf *b, const char *s, size_t max)
{
    strbuf red;
    char *cut;
    sb_init(&red);
    secrets_redact(&red, s, strlen(s));
    if (red.len <= max) {
        site_text(b, red.s ? red.s : "");
        sb_free(&red);
        return;
    }
    while (max > 0 && ((unsigned char)red.s[max] & 0xC0) == 0x80)
        max--;
    cut = xstrndup(red.s, max);
    site_text(b, cut);
    sb_puts(b, "&#8230;");
    free(cut);
    sb_free(&red);
}

/* An attribute, its value cleaned and escaped: ` name="value"`. */
void site_attr(strbuf *b, const char *name, const char *value)
{
    sb_putc(b, ' ');
    sb_puts(b, name);
    sb_puts(b, "=\"");
    site_text(b, value);
    sb_putc(b, '"');
}

/* A string or, absent, a dash. */
static void str_cell(strbuf *b, const char *s)
{
    if (s)
        site_text(b, s);
    else
        sb_puts(b, "&#8212;");
}

/* A table cell: open, s (a dash when absent), close. */
static void td(strbuf *b, const char *open, const char *s, const char *close)
{
    sb_puts(b, open);
    str_cell(b, s);
    sb_puts(b, close);
}

const char *site_status_class(const site_release *r)
{
    const char *known = manifest_status_name(r->entry->status);
    return known ? known : "unknown";
}

const site_release *site_find(const site_data *d, const char *version)
{
    for (size_t i = 0; version && i < d->nrel; i++)
        if (strcmp(d->rel[i].version, version) == 0)
            return &d->rel[i];
    return NULL;
}

static void status_badge(strbuf *b, const site_release *r)
{
    sb_puts(b, "<span class=\"status-badge s-");
    sb_puts(b, site_status_class(r));
    sb_puts(b, "\">");
    site_text(b, r->entry->status == MANIFEST_ROLLED_BACK ? "rolled back" : r->status);
    sb_puts(b, "</span>");
}

static void time_cell(strbuf *b, const char *cls, const char *t)
{
    sb_puts(b, "<td class=\"time ");
    sb_puts(b, cls);
    sb_puts(b, "\">");
    if (t) {
        sb_puts(b, "<time datetime=\"");
        site_text(b, t);
        sb_puts(b, "\">");
        site_text(b, t);
        sb_puts(b, "</time>");
    } else {
        sb_puts(b, "&#8212;");
    }
    sb_puts(b, "</td>");
}

/* ---- the releases table -------------------------------------------------------------------- */

static void commit_cell(strbuf *b, const char *commit)
{
    size_t n = commit ? strlen(commit) : 0;
    sb_puts(b, "<td class=\"commit\">");
    if (!commit) {
        sb_puts(b, "&#8212;</td>");
        return;
    }
    sb_puts(b, "<code title=\"");
    site_text(b, commit);
    sb_puts(b, "\">");
    if (n > 10 && strspn(commit, "0123456789abcdefABCDEF") == n) {
        char shortc[11];
        memcpy(shortc, commit, 10);
        shortc[10] = '\0';
        sb_puts(b, shortc);
    } else {
        site_text(b, commit);
    }
    sb_puts(b, "</code></td>");
}

static void releases_table(strbuf *b, const site_data *d)
{
    sb_puts(b, "<section id=\"releases\">\n<h2>Releases</h2>\n");
    if (d->nrel == 0) {
        sb_printf(b,
                  "<p class=\"empty\" id=\"no-releases\">No releases in the registry yet%s. A "
                  "release enters it when a qualified candidate is staged; this page is "
                  "regenerated after every promotion and rollback.</p>\n</section>\n",
                  d->has_manifest ? "" : " (it has no manifest.json)");
        return;
    }
    sb_puts(
        b,
        "<div class=\"table-scroll\">\n<table class=\"releases\">\n<thead><tr><th>Version</th><th>Status</th>"
        "<th>Pointers</th><th>Commit</th><th>Staged</th><th>Promoted</th>"
        "<th>Quarantined / rolled back</th><th>Reason</th></tr></thead>\n<tbody>\n");
    for (size_t i = d->nrel; i-- > 0;) {
        const site_release *r = &d->rel[i];
        const manifest_release *e = r->entry;
        sb_printf(b, "<tr class=\"release\" id=\"release-%zu\"", i);
        site_attr(b, "data-version", r->version);
        site_attr(b, "data-status", r->status);
        sb_printf(b, ">\n<td class=\"version\"><a href=\"#checks-%zu\">", i);
        site_text(b, r->version);
        sb_puts(b, "</a></td><td class=\"status\">");
        status_badge(b, r);
        sb_puts(b, "</td><td class=\"pointers\">");
        for (size_t k = 0; k < MANIFEST_NPOINTERS; k++)
            if (r->pointers & (1u << k))
                sb_printf(b, "<span class=\"pointer\" data-pointer=\"%s\">%s</span>",
                          manifest_pointer_names[k], manifest_pointer_names[k]);
        sb_puts(b, "</td>");
        commit_cell(b, e->commit);
        time_cell(b, "staged", e->staged_at);
        time_cell(b, "promoted", e->promoted_at);
        time_cell(b, "ended", e->rolled_back_at ? e->rolled_back_at : e->quarantined_at);
        td(b, "<td class=\"reason\">", e->reason, "</td>\n</tr>\n");
    }
    sb_puts(b, "</tbody>\n</table>\n</div>\n</section>\n");
}

static void pointer_summary(strbuf *b, const site_data *d)
{
    sb_puts(b, "<ul class=\"pointer-summary\">\n");
    for (size_t k = 0; k < MANIFEST_NPOINTERS; k++) {
        size_t at = d->nrel;
        for (size_t i = 0; i < d->nrel; i++)
            if (d->rel[i].pointers & (1u << k))
                at = i;
        sb_printf(b,
                  "<li data-pointer-target=\"%s\"><strong>%s</strong>: ", manifest_pointer_names[k],
                  manifest_pointer_names[k]);
        if (at < d->nrel) {
            sb_printf(b, "<a href=\"#release-%zu\">", at);
            site_text(b, d->rel[at].version);
            sb_puts(b, "</a>");
        } else if (d->pointer[k]) {
            site_text(b, d->pointer[k]);
            sb_puts(b, " <span class=\"note\">(not in the list of releases)</span>");
        } else {
            sb_puts(b, "<span class=\"note\">none</span>");
        }
        sb_puts(b, "</li>\n");
    }
    sb_puts(b, "</ul>\n");
}

/* ---- checks per release -------------------------------------------------------------------- */

/* Members a check may carry beyond the basic ones; a column each, shown when any check of the
 * release has it. */
static const char *const extra_cols[] = {"baseline", "bound", "stat", NULL};

/* Every (owner name, check) of a release: jobs in id order, then steps with checks of their
 * own in name order. */
typedef struct check_ref {
    const char *where;
    const check_record *check;
} check_ref;

static int cmp_job_id(const void *a, const void *b)
{
    return strcmp((*(const job_record *const *)a)->id, (*(const job_record *const *)b)->id);
}

static int cmp_step_name(const void *a, const void *b)
{
    return strcmp((*(const step_record *const *)a)->name, (*(const step_record *const *)b)->name);
}

static void add_checks(check_ref **out, size_t *n, size_t *cap, const char *where,
                       const evidence_record *ev)
{
    for (size_t k = 0; k < ev->nchecks; k++) {
        if (*n == *cap)
            *out = xrealloc(*out, (*cap *= 2) * sizeof **out);
        (*out)[(*n)++] = (check_ref){where, &ev->checks[k]};
    }
}

static check_ref *collect_checks(const release_record *rec, size_t *n)
{
    const job_record **jobs = xcalloc(rec->njobs + 1, sizeof *jobs);
    const step_record **steps = xcalloc(rec->nsteps + 1, sizeof *steps);
    size_t cap = 16, i;
    check_ref *out = xmalloc(cap * sizeof *out);
    *n = 0;
    for (i = 0; i < rec->njobs; i++)
        jobs[i] = &rec->jobs[i];
    for (i = 0; i < rec->nsteps; i++)
        steps[i] = &rec->steps[i];
    qsort(jobs, rec->njobs, sizeof *jobs, cmp_job_id);
    qsort(steps, rec->nsteps, sizeof *steps, cmp_step_name);
    for (i = 0; i < rec->njobs; i++)
        add_checks(&out, n, &cap, jobs[i]->validation_given ? jobs[i]->validation : jobs[i]->id,
                   &jobs[i]->evidence);
    for (i = 0; i < rec->nsteps; i++)
        add_checks(&out, n, &cap, steps[i]->name, &steps[i]->evidence);
    free(jobs);
    free(steps);
    return out;
}

/* A number of the record as a table cell's text; absent shows as a dash. */
static void real_cell(strbuf *b, record_real v)
{
    if (v.set)
        site_num(b, v.v);
    else
        sb_puts(b, "&#8212;");
}

static void expected_cell(strbuf *b, const check_record *c)
{
    sb_puts(b, "<td class=\"expected\">");
    real_cell(b, c->expected);
    if (c->op && strcmp(c->op, "range") == 0) {
        sb_puts(b, " .. ");
        real_cell(b, c->expected_hi);
    }
    sb_puts(b, "</td>");
}

/* Steps come in the reports' order (record_read(): by "position" when recorded, then by start
 * time, then by name; steps that never started last). */
static void steps_list(strbuf *b, const release_record *rec)
{
    if (!rec->nsteps)
        return;
    sb_puts(b, "<ul class=\"steps\">");
    for (size_t i = 0; i < rec->nsteps; i++) {
        const step_record *s = &rec->steps[i];
        const char *oc = s->outcome_raw, *why = s->reason;
        sb_puts(b, "<li class=\"step\" data-step=\"");
        site_text(b, s->name);
        sb_puts(b, "\" data-outcome=\"");
        site_text(b, oc ? oc : "unfinished");
        sb_puts(b, "\"><code>");
        site_text(b, s->name);
        sb_puts(b, "</code>: ");
        site_text(b, oc ? oc : "not finished");
        if (why) {
            sb_puts(b, " (");
            site_text(b, why);
            sb_puts(b, ")");
        }
        sb_puts(b, "</li>");
    }
    sb_puts(b, "</ul>\n");
}

static void extra_cell(strbuf *b, const check_record *c, size_t k)
{
    if (k == 0)
        real_cell(b, c->baseline);
    else if (k == 1)
        real_cell(b, c->bound);
    else
        str_cell(b, c->stat);
}

static void checks_table(strbuf *b, const check_ref *cr, size_t n)
{
    int has[3] = {0, 0, 0};
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; extra_cols[k]; k++)
            has[k] |= (cr[i].check->present & (1u << k)) != 0;
    sb_puts(
        b,
        "<div class=\"table-scroll\">\n<table class=\"checks\">\n<thead><tr><th>Validation</th><th>Metric</th><th>Op</th>"
        "<th>Expected</th><th>Actual</th>");
    for (size_t k = 0; extra_cols[k]; k++)
        if (has[k])
            sb_printf(b, "<th>%c%s</th>", extra_cols[k][0] - 'a' + 'A', extra_cols[k] + 1);
    sb_puts(b, "<th>Passed</th><th>Note</th></tr></thead>\n<tbody>\n");
    for (size_t i = 0; i < n; i++) {
        const check_record *c = cr[i].check;
        const char *p = !c->passed_known ? "unknown" : c->passed ? "true" : "false";
        sb_puts(b, "<tr class=\"check\"");
        site_attr(b, "data-validation", cr[i].where);
        site_attr(b, "data-metric", c->key);
        sb_puts(b, " data-passed=\"");
        sb_puts(b, p);
        sb_puts(b, "\">");
        td(b, "<td>", cr[i].where, "</td>");
        td(b, "<td><code>", c->key, "</code></td>");
        td(b, "<td class=\"op\">", c->op, "</td>");
        expected_cell(b, c);
        sb_puts(b, "<td class=\"actual\">");
        real_cell(b, c->actual);
        sb_puts(b, "</td>");
        for (size_t k = 0; extra_cols[k]; k++)
            if (has[k]) {
                sb_puts(b, "<td class=\"");
                sb_puts(b, extra_cols[k]);
                sb_puts(b, "\">");
                extra_cell(b, c, k);
                sb_puts(b, "</td>");
            }
        sb_puts(b, *p == 't'   ? "<td class=\"passed pass\">pass</td><td class=\"note\">"
                   : *p == 'f' ? "<td class=\"passed fail\">FAIL</td><td class=\"note\">"
                               : "<td class=\"passed unknown\">&#8212;</td><td class=\"note\">");
        str_cell(b, c->note);
        sb_puts(b, "</td></tr>\n");
    }
    sb_puts(b, "</tbody>\n</table>\n</div>\n");
}

static void release_checks(strbuf *b, const site_data *d)
{
    sb_puts(b, "<section id=\"checks\">\n<h2>Checks by release</h2>\n");
    if (d->nrel == 0)
        sb_puts(b, "<p class=\"empty\">No releases, no checks.</p>\n");
    for (size_t i = d->nrel; i-- > 0;) {
        const site_release *r = &d->rel[i];
        size_t n = 0, failed = 0;
        check_ref *cr = r->record ? collect_checks(r->record, &n) : NULL;
        for (size_t k = 0; k < n; k++)
            failed += cr[k].check->passed_known && !cr[k].check->passed;
        sb_printf(b, "<details class=\"release-checks\" id=\"checks-%zu\"", i);
        site_attr(b, "data-version", r->version);
        sb_printf(b, "%s>\n<summary>", i + 1 == d->nrel ? " open" : "");
        site_text(b, r->version);
        sb_puts(b, " ");
        status_badge(b, r);
        if (r->record)
            sb_printf(b, " &#8212; run %s; %zu check%s, %zu failed", record_decision(r->record), n,
                      n == 1 ? "" : "s", failed);
        else
            sb_puts(b, " &#8212; no state");
        sb_puts(b, "</summary>\n");
        if (r->state_note) {
            sb_puts(b, "<p class=\"note state-missing\">");
            site_text(b, r->state_note);
            sb_puts(b, "</p>\n");
        } else {
            steps_list(b, r->record);
            if (n)
                checks_table(b, cr, n);
            else
                sb_puts(b, "<p class=\"note\">No checks recorded in this release's state.</p>\n");
        }
        free(cr);
        sb_puts(b, "</details>\n");
    }
    sb_puts(b, "</section>\n");
}

/* ---- the page ------------------------------------------------------------------------------ */

void site_render(const site_data *d, strbuf *b)
{
    sb_puts(b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
               "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
               "<meta name=\"generator\" content=\"relhost " RELHOST_VERSION "\">\n<title>");
    site_text(b, d->plan_name);
    sb_puts(b, " &#8212; release status</title>\n<style>");
    sb_puts(b, css);
    sb_puts(b, site_banner_css);
    sb_puts(b, site_plot_css);
    sb_puts(b, "</style>\n</head>\n<body>\n");
    site_banner(b, d);
    sb_puts(b, "<header>\n");
    sb_printf(b,
              "<p class=\"meta\">%zu release%s in the registry. Generated <time datetime=\"%s\">"
              "%s</time> by relhost " RELHOST_VERSION ".</p>\n",
              d->nrel, d->nrel == 1 ? "" : "s", d->generated_at, d->generated_at);
    pointer_summary(b, d);
    sb_puts(b, "</header>\n<main>\n");
    releases_table(b, d);
    site_trends(b, d);
    release_checks(b, d);
    sb_puts(b, "</main>\n<footer class=\"meta\"><p>A static page made by <code>relhost site</code> "
               "from the registry manifest, the release states and the baseline store; "
               "regenerated after every promotion and rollback.</p></footer>\n</body>\n</html>\n");
}
