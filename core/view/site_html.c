/* SPDX-License-Identifier: MIT */
/* site_html.c - the status page as HTML: the releases table, each release's checks, one SVG
 * trend plot per baseline metric. Every input string goes through text() (cleaned, secrets
 * masked, HTML-escaped); numbers through one formatter. No script, no external resource. */
#include "view/site.h"

#include "base/secrets.h"
#include "view/report_files.h"
#include "view/text.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Plot geometry (SVG user units): the plotting area is inset by PAD so that points on the
 * minimum or maximum are not cut by the axes. */
#define PLOT_W 720.0
#define PLOT_H 300.0
#define PLOT_ML 84.0
#define PLOT_MR 24.0
#define PLOT_MT 20.0
#define PLOT_MB 96.0
#define PLOT_PAD 12.0
/* More releases than this: label every k-th on the x axis (the first and last always). */
#define PLOT_XLABELS 24
/* Longer versions are cut on the x axis (the point's tooltip has the whole one). */
#define PLOT_XLABEL_MAX 16

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
    "figure.trend{margin:1rem 0;border:1px solid #d0d7de;border-radius:.375rem;padding:.5rem}"
    "figure.trend svg{max-width:100%;height:auto}figcaption{font-size:.85rem;color:#57606a}"
    "svg .axis{stroke:#57606a;stroke-width:1}svg .grid{stroke:#eaeef2;stroke-width:1}"
    "svg .baseline{stroke:#0969da;stroke-width:1.5;stroke-dasharray:6 4}"
    "svg .series{fill:none;stroke:#8c959f;stroke-width:1.5}"
    "svg text{font-size:11px;fill:#57606a}svg .baseline-label{fill:#0969da}"
    "svg .point{stroke-width:1.5}svg .point.s-promoted{fill:#1a7f37;stroke:#1a7f37}"
    "svg .point.s-quarantined{fill:#cf222e;stroke:#cf222e}"
    "svg .point.s-rolled_back{fill:#bc4c00;stroke:#bc4c00}"
    "svg .point.s-staged,svg .point.s-unknown{fill:#fff;stroke:#6e7781}"
    ".legend{font-size:.85rem;color:#57606a}.legend svg{vertical-align:middle}";

/* ---- text ---------------------------------------------------------------------------------- */

static void escape(strbuf *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        switch (s[i]) {
        case '&': sb_puts(b, "&amp;"); break;
        case '<': sb_puts(b, "&lt;"); break;
        case '>': sb_puts(b, "&gt;"); break;
        case '"': sb_puts(b, "&quot;"); break;
        case '\'': sb_puts(b, "&#39;"); break;
        default: sb_putc(b, s[i]);
        }
    }
}

/* s cleaned (valid UTF-8, no control bytes or terminal escapes, secrets masked) and escaped for
 * HTML text and double-quoted attributes alike. */
static void text(strbuf *b, const char *s)
{
    strbuf c;
    if (!s)
        return;
    sb_init(&c);
    text_clean(&c, s, strlen(s));
    escape(b, c.s ? c.s : "", c.len);
    sb_free(&c);
}

static void num(strbuf *b, double v)
{
    char buf[48];
    text_num_format(v, buf, sizeof buf);
    sb_puts(b, buf);
}

/* s shortened to at most max bytes, cut on a UTF-8 character boundary, with an ellipsis. Masked
 * before it is cut: a secret the cut went through would show its first half, unrecognisable. */
static void text_short(strbuf *b, const char *s, size_t max)
{
    strbuf red;
    char *cut;
    sb_init(&red);
    secrets_redact(&red, s, strlen(s));
    if (red.len <= max) {
        text(b, red.s ? red.s : "");
        sb_free(&red);
        return;
    }
    while (max > 0 && ((unsigned char)red.s[max] & 0xC0) == 0x80)
        max--;
    cut = xstrndup(red.s, max);
    text(b, cut);
    sb_puts(b, "&#8230;");
    free(cut);
    sb_free(&red);
}

static const char *jstr(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* An attribute, its value cleaned and escaped: ` name="value"`. */
static void attr(strbuf *b, const char *name, const char *value)
{
    sb_printf(b, " %s=\"", name);
    text(b, value);
    sb_putc(b, '"');
}

/* A string or, absent, a dash. */
static void str_cell(strbuf *b, const char *s)
{
    if (s)
        text(b, s);
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

static const char *status_class(const site_release *r)
{
    const char *known = manifest_status_name(r->entry->status);
    return known ? known : "unknown";
}

static void status_badge(strbuf *b, const site_release *r)
{
    sb_printf(b, "<span class=\"status-badge s-%s\">", status_class(r));
    text(b, r->entry->status == MANIFEST_ROLLED_BACK ? "rolled back" : r->status);
    sb_puts(b, "</span>");
}

static void time_cell(strbuf *b, const char *cls, const char *t)
{
    sb_printf(b, "<td class=\"time %s\">", cls);
    if (t) {
        sb_puts(b, "<time datetime=\"");
        text(b, t);
        sb_puts(b, "\">");
        text(b, t);
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
    text(b, commit);
    sb_puts(b, "\">");
    if (n > 10 && strspn(commit, "0123456789abcdefABCDEF") == n) {
        char shortc[11];
        memcpy(shortc, commit, 10);
        shortc[10] = '\0';
        sb_puts(b, shortc);
    } else {
        text(b, commit);
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
    sb_puts(b, "<table class=\"releases\">\n<thead><tr><th>Version</th><th>Status</th>"
               "<th>Pointers</th><th>Commit</th><th>Staged</th><th>Promoted</th>"
               "<th>Quarantined / rolled back</th><th>Reason</th></tr></thead>\n<tbody>\n");
    for (size_t i = d->nrel; i-- > 0;) {
        const site_release *r = &d->rel[i];
        const manifest_release *e = r->entry;
        sb_printf(b, "<tr class=\"release\" id=\"release-%zu\"", i);
        attr(b, "data-version", r->version);
        attr(b, "data-status", r->status);
        sb_printf(b, ">\n<td class=\"version\"><a href=\"#checks-%zu\">", i);
        text(b, r->version);
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
    sb_puts(b, "</tbody>\n</table>\n</section>\n");
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
            text(b, d->rel[at].version);
            sb_puts(b, "</a>");
        } else if (d->pointer[k]) {
            text(b, d->pointer[k]);
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

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static const char **sorted_keys(json_t *o, size_t *n)
{
    const char **keys = xcalloc(json_object_size(o) + 1, sizeof *keys);
    const char *k;
    json_t *v;
    *n = 0;
    json_object_foreach(o, k, v) keys[(*n)++] = k;
    qsort(keys, *n, sizeof *keys, cmp_str);
    return keys;
}

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
        num(b, v.v);
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
        text(b, s->name);
        sb_puts(b, "\" data-outcome=\"");
        text(b, oc ? oc : "unfinished");
        sb_puts(b, "\"><code>");
        text(b, s->name);
        sb_puts(b, "</code>: ");
        text(b, oc ? oc : "not finished");
        if (why) {
            sb_puts(b, " (");
            text(b, why);
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
    sb_puts(b, "<table class=\"checks\">\n<thead><tr><th>Validation</th><th>Metric</th><th>Op</th>"
               "<th>Expected</th><th>Actual</th>");
    for (size_t k = 0; extra_cols[k]; k++)
        if (has[k])
            sb_printf(b, "<th>%c%s</th>", extra_cols[k][0] - 'a' + 'A', extra_cols[k] + 1);
    sb_puts(b, "<th>Passed</th><th>Note</th></tr></thead>\n<tbody>\n");
    for (size_t i = 0; i < n; i++) {
        const check_record *c = cr[i].check;
        const char *p = !c->passed_known ? "unknown" : c->passed ? "true" : "false";
        sb_puts(b, "<tr class=\"check\"");
        attr(b, "data-validation", cr[i].where);
        attr(b, "data-metric", c->key);
        sb_printf(b, " data-passed=\"%s\">", p);
        td(b, "<td>", cr[i].where, "</td>");
        td(b, "<td><code>", c->key, "</code></td>");
        td(b, "<td class=\"op\">", c->op, "</td>");
        expected_cell(b, c);
        sb_puts(b, "<td class=\"actual\">");
        real_cell(b, c->actual);
        sb_puts(b, "</td>");
        for (size_t k = 0; extra_cols[k]; k++)
            if (has[k]) {
                sb_printf(b, "<td class=\"%s\">", extra_cols[k]);
                extra_cell(b, c, k);
                sb_puts(b, "</td>");
            }
        sb_printf(b, "<td class=\"passed %s\">%s</td><td class=\"note\">",
                  *p == 't'   ? "pass"
                  : *p == 'f' ? "fail"
                              : "unknown",
                  *p == 't'   ? "pass"
                  : *p == 'f' ? "FAIL"
                              : "&#8212;");
        str_cell(b, c->note);
        sb_puts(b, "</td></tr>\n");
    }
    sb_puts(b, "</tbody>\n</table>\n");
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
        attr(b, "data-version", r->version);
        sb_printf(b, "%s>\n<summary>", i + 1 == d->nrel ? " open" : "");
        text(b, r->version);
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
            text(b, r->state_note);
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

/* ---- trend plots --------------------------------------------------------------------------- */

/* An SVG line's opening, left open for more attributes. */
static void svg_line(strbuf *b, const char *cls, double x1, double y1, double x2, double y2)
{
    sb_printf(b, "<line class=\"%s\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"", cls, x1, y1,
              x2, y2);
}

static void point(strbuf *b, const site_release *r, double x, double y, double v)
{
    const char *cls = status_class(r);
    char val[48];
    if (strcmp(cls, "quarantined") == 0 || strcmp(cls, "rolled_back") == 0) {
        /* A square for a bad release (a diamond when quarantined): shape, not only colour. */
        sb_printf(b, "<rect class=\"point s-%s\" x=\"%.1f\" y=\"%.1f\" width=\"9\" height=\"9\"",
                  cls, x - 4.5, y - 4.5);
        if (*cls == 'q')
            sb_printf(b, " transform=\"rotate(45 %.1f %.1f)\"", x, y);
    } else {
        sb_printf(b, "<circle class=\"point s-%s\" cx=\"%.1f\" cy=\"%.1f\" r=\"5\"", cls, x, y);
    }
    text_num_format(v, val, sizeof val);
    attr(b, "data-version", r->version);
    attr(b, "data-status", r->status);
    sb_printf(b, " data-value=\"%s\"><title>", val);
    text(b, r->version);
    sb_printf(b, ": %s (", val);
    text(b, r->status);
    sb_printf(b, ")</title></%s>\n", *cls == 'q' || *cls == 'r' ? "rect" : "circle");
}

static void caption(strbuf *b, const site_data *d, const char *key, json_t *entry, int has_base,
                    double base, size_t npts)
{
    sb_puts(b, "<figcaption><code>");
    text(b, key);
    sb_puts(b, "</code>: ");
    if (has_base) {
        sb_puts(b, "baseline ");
        num(b, base);
        if (jstr(entry, "version")) {
            sb_puts(b, " from release ");
            text(b, jstr(entry, "version"));
        }
        if (jstr(entry, "recorded_at")) {
            sb_puts(b, ", recorded ");
            text(b, jstr(entry, "recorded_at"));
        }
    } else {
        sb_puts(b, "the baseline store holds no value");
    }
    sb_printf(b, "; %zu of %zu release%s ha%s a value (x: releases, oldest first).</figcaption>\n",
              npts, d->nrel, d->nrel == 1 ? "" : "s", d->nrel == 1 ? "s" : "ve");
}

/* The axes of a plot, with the value range at the ends of the y axis. */
static void axes(strbuf *b, double y0, double y1, double lo, double hi)
{
    svg_line(b, "grid", PLOT_ML, y0, PLOT_W - PLOT_MR, y0);
    sb_puts(b, "/>\n");
    svg_line(b, "axis", PLOT_ML, PLOT_MT, PLOT_ML, PLOT_H - PLOT_MB);
    sb_puts(b, "/>\n");
    svg_line(b, "axis", PLOT_ML, PLOT_H - PLOT_MB, PLOT_W - PLOT_MR, PLOT_H - PLOT_MB);
    sb_puts(b, "/>\n");
    sb_printf(b, "<text class=\"y-label y-max\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">",
              PLOT_ML - 6, y0 + 4);
    num(b, hi);
    sb_printf(b,
              "</text>\n<text class=\"y-label y-min\" x=\"%.1f\" y=\"%.1f\" "
              "text-anchor=\"end\">",
              PLOT_ML - 6, y1 + 4);
    num(b, lo);
    sb_puts(b, "</text>\n");
}
static void trend(strbuf *b, const site_data *d, const char *key, json_t *entry)
{
    json_t *bv = json_object_get(entry, "value");
    int has_base = json_is_number(bv) && isfinite(json_number_value(bv));
    double base = has_base ? json_number_value(bv) : 0, lo = INFINITY, hi = -INFINITY;
    double *val = xcalloc(d->nrel ? d->nrel : 1, sizeof *val);
    char *has = xcalloc(d->nrel ? d->nrel : 1, 1);
    double x0 = PLOT_ML + PLOT_PAD, x1 = PLOT_W - PLOT_MR - PLOT_PAD;
    double y0 = PLOT_MT + PLOT_PAD, y1 = PLOT_H - PLOT_MB - PLOT_PAD;
    size_t npts = 0,
           every = d->nrel > PLOT_XLABELS ? (d->nrel + PLOT_XLABELS - 1) / PLOT_XLABELS : 1;
    for (size_t i = 0; i < d->nrel; i++)
        if (d->rel[i].record && record_metric_value(d->rel[i].record, key, &val[i]) == 0) {
            has[i] = 1;
            npts++;
            lo = fmin(lo, val[i]);
            hi = fmax(hi, val[i]);
        }
    if (has_base) {
        lo = fmin(lo, base);
        hi = fmax(hi, base);
    }
    if (!(lo <= hi)) {
        lo = 0;
        hi = 1;
    } else if (hi == lo) {
        double pad = lo != 0 ? fabs(lo) * 0.05 : 1;
        lo -= pad;
        hi += pad;
    }
#define X(i) (d->nrel == 1 ? (x0 + x1) / 2 : x0 + (x1 - x0) * (double)(i) / (double)(d->nrel - 1))
#define Y(v) (y0 + (y1 - y0) * (hi - (v)) / (hi - lo))
    sb_puts(b, "<figure class=\"trend\" data-metric=\"");
    text(b, key);
    sb_printf(b, "\" data-points=\"%zu\">\n", npts);
    caption(b, d, key, entry, has_base, base, npts);
    sb_printf(b,
              "<svg class=\"plot\" viewBox=\"0 0 %.0f "
              "%.0f\" width=\"%.0f\" height=\"%.0f\" role=\"img\" aria-label=\"",
              PLOT_W, PLOT_H, PLOT_W, PLOT_H);
    text(b, key);
    sb_puts(b, " across releases\">\n<title>");
    text(b, key);
    sb_puts(b, "</title>\n");
    axes(b, y0, y1, lo, hi);
    if (has_base) {
        svg_line(b, "baseline", PLOT_ML, Y(base), PLOT_W - PLOT_MR, Y(base));
        sb_puts(b, " data-value=\"");
        num(b, base);
        sb_printf(b,
                  "\"/>\n<text class=\"baseline-label\" x=\"%.1f\" y=\"%.1f\" "
                  "text-anchor=\"end\">baseline ",
                  PLOT_W - PLOT_MR, Y(base) - 4);
        num(b, base);
        sb_puts(b, "</text>\n");
    }
    if (npts > 1) {
        sb_puts(b, "<polyline class=\"series\" points=\"");
        for (size_t i = 0, first = 1; i < d->nrel; i++)
            if (has[i]) {
                sb_printf(b, "%s%.1f,%.1f", first ? "" : " ", X(i), Y(val[i]));
                first = 0;
            }
        sb_puts(b, "\"/>\n");
    }
    for (size_t i = 0; i < d->nrel; i++)
        if (has[i])
            point(b, &d->rel[i], X(i), Y(val[i]), val[i]);
    for (size_t i = 0; i < d->nrel; i++) {
        double x = X(i), y = PLOT_H - PLOT_MB + 14;
        if (i % every != 0 && i + 1 != d->nrel)
            continue;
        sb_printf(b,
                  "<text class=\"x-label\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" "
                  "transform=\"rotate(-40 %.1f %.1f)\">",
                  x, y, x, y);
        text_short(b, d->rel[i].version, PLOT_XLABEL_MAX);
        sb_puts(b, "</text>\n");
    }
    if (npts == 0)
        sb_printf(b,
                  "<text class=\"no-data\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">no "
                  "release has a value yet</text>\n",
                  (x0 + x1) / 2, (y0 + y1) / 2);
    sb_puts(b, "</svg>\n</figure>\n");
#undef X
#undef Y
    free(val);
    free(has);
}

static void legend(strbuf *b)
{
    static const struct {
        const char *cls, *label, *shape;
    } items[] = {
        {"promoted", "promoted", "<circle class=\"point s-promoted\" cx=\"7\" cy=\"7\" r=\"5\"/>"},
        {"quarantined", "quarantined",
         "<rect class=\"point s-quarantined\" x=\"2.5\" y=\"2.5\" width=\"9\" height=\"9\" "
         "transform=\"rotate(45 7 7)\"/>"},
        {"rolled_back", "rolled back",
         "<rect class=\"point s-rolled_back\" x=\"2.5\" y=\"2.5\" width=\"9\" height=\"9\"/>"},
        {"staged", "staged", "<circle class=\"point s-staged\" cx=\"7\" cy=\"7\" r=\"5\"/>"},
    };
    sb_puts(b, "<p class=\"legend\">");
    for (size_t i = 0; i < sizeof items / sizeof items[0]; i++)
        sb_printf(b,
                  "<svg width=\"14\" height=\"14\" viewBox=\"0 0 14 14\" aria-hidden=\"true\">%s"
                  "</svg> %s &#160; ",
                  items[i].shape, items[i].label);
    sb_puts(b, "<svg width=\"24\" height=\"14\" viewBox=\"0 0 24 14\" aria-hidden=\"true\"><line "
               "class=\"baseline\" x1=\"0\" y1=\"7\" x2=\"24\" y2=\"7\"/></svg> baseline</p>\n");
}

static void trends(strbuf *b, const site_data *d)
{
    json_t *metrics = json_object_get(d->baseline, "metrics");
    size_t n;
    const char **keys;
    sb_puts(b, "<section id=\"trends\">\n<h2>Baseline metrics across releases</h2>\n");
    if (!d->baseline) {
        sb_puts(b, "<p class=\"empty\" id=\"no-baseline\">No baseline store yet, so no trend "
                   "plots: the first promotion records the baseline metrics.</p>\n</section>\n");
        return;
    }
    keys = sorted_keys(metrics, &n);
    if (n == 0)
        sb_puts(b, "<p class=\"empty\" id=\"no-baseline\">The baseline store holds no metrics "
                   "yet, so no trend plots.</p>\n");
    else
        legend(b);
    for (size_t i = 0; i < n; i++)
        trend(b, d, keys[i], json_object_get(metrics, keys[i]));
    free(keys);
    sb_puts(b, "</section>\n");
}

/* ---- the page ------------------------------------------------------------------------------ */

void site_render(const site_data *d, strbuf *b)
{
    sb_puts(b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
               "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
               "<meta name=\"generator\" content=\"relhost " RELHOST_VERSION "\">\n<title>");
    text(b, d->plan_name);
    sb_puts(b, " &#8212; release status</title>\n<style>");
    sb_puts(b, css);
    sb_puts(b, "</style>\n</head>\n<body>\n<header>\n<h1>");
    text(b, d->plan_name);
    sb_puts(b, ": release status</h1>\n");
    sb_printf(b,
              "<p class=\"meta\">%zu release%s in the registry. Generated <time datetime=\"%s\">"
              "%s</time> by relhost " RELHOST_VERSION ".</p>\n",
              d->nrel, d->nrel == 1 ? "" : "s", d->generated_at, d->generated_at);
    pointer_summary(b, d);
    sb_puts(b, "</header>\n<main>\n");
    releases_table(b, d);
    trends(b, d);
    release_checks(b, d);
    sb_puts(b, "</main>\n<footer class=\"meta\"><p>A static page made by <code>relhost site</code> "
               "from the registry manifest, the release states and the baseline store; "
               "regenerated after every promotion and rollback.</p></footer>\n</body>\n</html>\n");
}
