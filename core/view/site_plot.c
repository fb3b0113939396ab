/* SPDX-License-Identifier: MIT */
/* site_plot.c - the status page's trend plots: one inline SVG per metric of the baseline store,
 * one point per release (oldest first), the baseline and the threshold of the newest check on
 * the metric drawn and labelled, y ticks at nice numbers, axis titles with the unit when the
 * metric's name gives one. Checked metrics (a check of some release's state names them) come
 * first, metrics that never changed last, folded away. The SVG has a viewBox and no fixed size:
 * it takes the width of its box, and its text stays readable from a phone to a desktop. */
#include "view/site.h"

#include "view/text.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Geometry in SVG user units; the page lays plots out about as wide as PLOT_W px (a grid of
 * columns at least 22rem wide), so FONT is about the text's size on screen. */
#define PLOT_W 400.0
#define PLOT_INNER_H 170.0 /* the plotting area's height; the x labels add to the plot's */
#define PLOT_MR 12.0
#define PLOT_MT 30.0
#define PLOT_PAD 10.0
#define FONT 13.0
/* A glyph's width at FONT, generous, to keep text inside the plot. */
#define CHAR_W 8.0
/* Label at most this many releases on the x axis (the first and the last always). */
#define PLOT_XLABELS 12
/* Longer versions are cut on the x axis (the point's tooltip has the whole one). */
#define PLOT_XLABEL_MAX 16
/* cos 45 degrees: the x labels are turned by 45. */
#define DIAG 0.7072
/* At most this many checks of one metric are drawn (a plan has one or two). */
#define PLOT_CHECKS 4

const char site_plot_css[] =
    ".plots{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(100%,22rem),1fr));"
    "gap:1rem;margin:.5rem 0}"
    "figure.trend{margin:0;border:1px solid #d0d7de;border-radius:.375rem;padding:.5rem;"
    "min-width:0}figure.trend svg{display:block;width:100%;height:auto}"
    "figcaption{font-size:.85rem;color:#57606a}"
    "details.flat-metrics{margin:1rem 0}"
    "svg .axis{stroke:#57606a;stroke-width:1}svg .grid{stroke:#eaeef2;stroke-width:1}"
    "svg .baseline{stroke:#0969da;stroke-width:1.5;stroke-dasharray:6 4}"
    "svg .threshold{stroke:#cf222e;stroke-width:1.5;stroke-dasharray:2 3}"
    "svg .threshold.bound{stroke:#8250df}"
    "svg .series{fill:none;stroke:#8c959f;stroke-width:1.5}"
    "svg text{font-size:13px;fill:#57606a}svg .baseline-label{fill:#0969da}"
    "svg .threshold-label{fill:#cf222e}svg .y-title,svg .x-title{fill:#1f2328}"
    "svg .baseline-label,svg .threshold-label{paint-order:stroke;stroke:#fff;stroke-width:3px;"
    "stroke-linejoin:round}"
    "svg .point{stroke-width:1.5}svg .point.s-promoted{fill:#1a7f37;stroke:#1a7f37}"
    "svg .point.s-quarantined{fill:#cf222e;stroke:#cf222e}"
    "svg .point.s-rolled_back{fill:#bc4c00;stroke:#bc4c00}"
    "svg .point.s-staged,svg .point.s-unknown{fill:#fff;stroke:#6e7781}"
    ".legend{font-size:.85rem;color:#57606a}.legend svg{vertical-align:middle}";

/* One metric's plot: its values, baseline, newest check and the scale. */
typedef struct series {
    const char *key;
    json_t *entry;
    double *val;
    char *has;
    size_t npts;
    int has_base, flat;
    double base;
    /* the checks on the metric of the newest release that has any; none: unchecked */
    const check_record *chk[PLOT_CHECKS];
    size_t nchk;
    double lo, hi, step; /* the y axis: lo and hi are ticks, step apart */
    double ml, mb, h;    /* left and bottom margins, the plot's height */
} series;

static const char *jstr(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* ---- which metrics, in which order --------------------------------------------------------- */

/* 1 when "<where>::<metric>" is key. */
static int names(const char *key, const char *where, const char *metric)
{
    size_t n = strlen(where);
    return metric && strncmp(key, where, n) == 0 && strncmp(key + n, "::", 2) == 0 &&
           strcmp(key + n + 2, metric) == 0;
}

/* The checks on key of one evidence record (owned by where) appended to out[n..PLOT_CHECKS). */
static size_t checks_in(const evidence_record *ev, const char *key, const char *where,
                        const check_record **out, size_t n)
{
    for (size_t k = 0; k < ev->nchecks && n < PLOT_CHECKS; k++)
        if (names(key, where, ev->checks[k].key))
            out[n++] = &ev->checks[k];
    return n;
}

/* The checks on key of the newest release whose state checks it, into out; how many. */
static size_t newest_checks(const site_data *d, const char *key, const check_record **out)
{
    for (size_t i = d->nrel; i-- > 0;) {
        const release_record *rec = d->rel[i].record;
        size_t n = 0;
        for (size_t j = 0; rec && j < rec->njobs; j++) {
            const job_record *jr = &rec->jobs[j];
            n = checks_in(&jr->evidence, key, jr->validation_given ? jr->validation : jr->id, out,
                          n);
        }
        for (size_t j = 0; rec && j < rec->nsteps; j++)
            n = checks_in(&rec->steps[j].evidence, key, rec->steps[j].name, out, n);
        if (n)
            return n;
    }
    return 0;
}

static void series_read(series *s, const site_data *d, const char *key, json_t *entry)
{
    json_t *bv = json_object_get(entry, "value");
    size_t n = d->nrel ? d->nrel : 1;
    memset(s, 0, sizeof *s);
    s->key = key;
    s->entry = entry;
    s->val = xcalloc(n, sizeof *s->val);
    s->has = xcalloc(n, 1);
    s->has_base = json_is_number(bv) && isfinite(json_number_value(bv));
    s->base = s->has_base ? json_number_value(bv) : 0;
    for (size_t i = 0; i < d->nrel; i++)
        if (d->rel[i].record && record_metric_value(d->rel[i].record, key, &s->val[i]) == 0) {
            s->has[i] = 1;
            s->npts++;
        }
    s->nchk = newest_checks(d, key, s->chk);
    s->flat = s->npts > 0 && !s->nchk;
    {
        double first = NAN;
        for (size_t i = 0; s->flat && i < d->nrel; i++)
            if (s->has[i]) {
                if (isnan(first))
                    first = s->val[i];
                s->flat = s->val[i] == first;
            }
        if (s->flat && s->has_base)
            s->flat = s->base == first;
    }
}

/* Checked first, then the rest, then the flat ones; by name within each group. */
static int rank(const series *s) { return s->nchk ? 0 : s->flat ? 2 : 1; }

static int cmp_series(const void *a, const void *b)
{
    const series *x = a, *y = b;
    int r = rank(x) - rank(y);
    return r ? r : strcmp(x->key, y->key);
}

/* ---- the scale ----------------------------------------------------------------------------- */

/* The smallest of 1, 2, 2.5, 5 and 10 times a power of ten that is at least raw (> 0). */
static double nice_step(double raw)
{
    double e = pow(10, floor(log10(raw))), m = raw / e;
    return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 2.5 ? 2.5 : m <= 5 ? 5 : 10) * e;
}

static void widen(double *lo, double *hi, record_real v)
{
    if (v.set) {
        *lo = fmin(*lo, v.v);
        *hi = fmax(*hi, v.v);
    }
}

/* lo and hi: ticks at a nice step around every value, the baseline and the thresholds, at least
 * three of them. */
static void scale(series *s, const site_data *d)
{
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < d->nrel; i++)
        if (s->has[i])
            widen(&lo, &hi, (record_real){1, s->val[i], 0});
    widen(&lo, &hi, (record_real){s->has_base, s->base, 0});
    for (size_t k = 0; k < s->nchk; k++) {
        widen(&lo, &hi, s->chk[k]->expected);
        widen(&lo, &hi, s->chk[k]->expected_hi);
        widen(&lo, &hi, s->chk[k]->bound);
    }
    if (!(lo <= hi)) {
        lo = 0;
        hi = 1;
    } else if (hi - lo <= fabs(hi) * 1e-12) {
        double pad = lo != 0 ? fabs(lo) * 0.05 : 1;
        lo -= pad;
        hi += pad;
    }
    lo = fmax(lo, -DBL_MAX);
    hi = fmin(hi, DBL_MAX);
    for (double parts = 4; parts <= 16; parts *= 2) {
        s->step = nice_step((hi - lo) / parts);
        s->lo = floor(lo / s->step) * s->step;
        s->hi = ceil(hi / s->step) * s->step;
        if (isfinite(s->hi - s->lo) && s->step > 0 && (s->hi - s->lo) / s->step >= 1.5)
            return;
    }
    /* beyond what a double spans: the ends and the middle */
    s->lo = lo;
    s->hi = hi;
    s->step = hi / 2 - lo / 2;
}

/* How many ticks: lo, hi and those between, step apart. */
static size_t nticks(const series *s)
{
    return isfinite(s->hi - s->lo) ? (size_t)llround((s->hi - s->lo) / s->step) + 1 : 3;
}

/* The i-th tick's value (the last is hi itself: no sum runs past the largest double). */
static double tick_value(const series *s, size_t i)
{
    double v = i + 1 == nticks(s) ? s->hi : s->lo + s->step * (double)i;
    return fabs(v) < s->step * 1e-9 ? 0.0 : v;
}

/* The i-th tick as the label and data-value show it: fixed decimals enough for the step, or, for
 * very large or very fine scales, as many significant digits as tell the ticks apart. */
static void tick_text(const series *s, size_t i, char *buf, size_t cap)
{
    double v = tick_value(s, i), e = floor(log10(s->step));
    double top = fmax(fabs(s->lo), fabs(s->hi));
    int dec = e < 0 ? (int)-e : 0;
    if (fabs(s->step / pow(10, e) - 2.5) < 1e-9 && e <= 0)
        dec++;
    if (s->step < 1e-6 || top >= 1e9 || !isfinite(s->hi - s->lo)) {
        double p = floor(log10(top)) - e + 2;
        snprintf(buf, cap, "%.*g", (int)fmin(17, fmax(2, p)), v);
    } else {
        snprintf(buf, cap, "%.*f", dec, v);
    }
}

/* Characters (not bytes) of s. */
static size_t glyphs(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

static size_t xlabel_every(const site_data *d)
{
    return d->nrel > PLOT_XLABELS ? (d->nrel + PLOT_XLABELS - 1) / PLOT_XLABELS : 1;
}

static int xlabel_shown(const site_data *d, size_t i)
{
    return i % xlabel_every(d) == 0 || i + 1 == d->nrel;
}

static double xlabel_w(const char *version)
{
    size_t n = glyphs(version);
    return (double)(n > PLOT_XLABEL_MAX ? PLOT_XLABEL_MAX + 1 : n) * CHAR_W;
}

/* The margins: room for the widest tick label on the left, and for the turned x labels below
 * and (the first ones) to the left. */
static void margins(series *s, const site_data *d)
{
    char t[64];
    double wmax = 0, need = 0, x0, dx;
    s->ml = 0;
    for (size_t i = 0; i < nticks(s); i++) {
        tick_text(s, i, t, sizeof t);
        s->ml = fmax(s->ml, (double)strlen(t) * CHAR_W + 10);
    }
    x0 = s->ml + PLOT_PAD;
    dx = d->nrel > 1 ? (PLOT_W - PLOT_MR - PLOT_PAD - x0) / (double)(d->nrel - 1) : 0;
    for (size_t i = 0; i < d->nrel; i++)
        if (xlabel_shown(d, i)) {
            double w = xlabel_w(d->rel[i].version);
            double left = (d->nrel == 1 ? (PLOT_W - PLOT_MR + x0) / 2 : x0 + dx * (double)i) -
                          (w + FONT) * DIAG;
            wmax = fmax(wmax, w);
            need = fmax(need, 2 - left);
        }
    s->ml += need;
    s->ml = fmin(s->ml, PLOT_W / 2);
    s->mb = (wmax + FONT) * DIAG + 14 + FONT + 10;
    s->h = PLOT_MT + PLOT_INNER_H + s->mb;
}

/* ---- drawing ------------------------------------------------------------------------------- */

#define X0(s) ((s)->ml + PLOT_PAD)
#define X1 (PLOT_W - PLOT_MR - PLOT_PAD)
#define YAXIS (PLOT_MT + PLOT_INNER_H)

static double xpos(const series *s, const site_data *d, size_t i)
{
    return d->nrel == 1 ? (X0(s) + X1) / 2
                        : X0(s) + (X1 - X0(s)) * (double)i / (double)(d->nrel - 1);
}

static double ypos(const series *s, double v)
{
    /* halves: the differences of any two finite doubles stay finite */
    return PLOT_MT + PLOT_INNER_H * ((s->hi / 2 - v / 2) / (s->hi / 2 - s->lo / 2));
}

/* An SVG line's opening, left open for more attributes. */
static void svg_line(strbuf *b, const char *cls, double x1, double y1, double x2, double y2)
{
    sb_printf(b, "<line class=\"%s\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"", cls, x1, y1,
              x2, y2);
}

/* A coordinate as "%.1f" prints it (text_fixed1: the page has about ten per release and
 * metric), after the text pre. */
static void coord(strbuf *b, const char *pre, double v)
{
    char t[32];
    text_fixed1(v, t, sizeof t);
    sb_puts(b, pre);
    sb_puts(b, t);
}

static void point(strbuf *b, const site_release *r, double x, double y, double v)
{
    const char *cls = site_status_class(r);
    char val[48];
    if (strcmp(cls, "quarantined") == 0 || strcmp(cls, "rolled_back") == 0) {
        /* A square for a bad release (a diamond when quarantined): shape, not only colour. */
        sb_printf(b, "<rect class=\"point s-%s\"", cls);
        coord(b, " x=\"", x - 4.5);
        coord(b, "\" y=\"", y - 4.5);
        sb_puts(b, "\" width=\"9\" height=\"9\"");
        if (*cls == 'q') {
            coord(b, " transform=\"rotate(45 ", x);
            coord(b, " ", y);
            sb_puts(b, ")\"");
        }
    } else {
        sb_puts(b, "<circle class=\"point s-");
        sb_puts(b, cls);
        coord(b, "\" cx=\"", x);
        coord(b, "\" cy=\"", y);
        sb_puts(b, "\" r=\"5\"");
    }
    text_num_format(v, val, sizeof val);
    site_attr(b, "data-version", r->version);
    site_attr(b, "data-status", r->status);
    sb_puts(b, " data-value=\"");
    sb_puts(b, val);
    sb_puts(b, "\"><title>");
    site_text(b, r->version);
    sb_puts(b, ": ");
    sb_puts(b, val);
    sb_puts(b, " (");
    site_text(b, r->status);
    sb_puts(b, *cls == 'q' || *cls == 'r' ? ")</title></rect>\n" : ")</title></circle>\n");
}

/* The unit a metric's name gives by its last word, or NULL. */
static const char *unit_of(const char *key)
{
    static const struct {
        const char *suffix, *unit;
    } units[] = {{"_seconds", "s"}, {"_secs", "s"},       {"_sec", "s"}, {"_s", "s"},
                 {"_ms", "ms"},     {"_us", "\xc2\xb5s"}, {"_ns", "ns"}, {"_bytes", "bytes"},
                 {"_mb", "MB"},     {"_mib", "MiB"},      {"_gb", "GB"}, {"_gib", "GiB"},
                 {"_pct", "%"},     {"_percent", "%"}};
    size_t n = strlen(key);
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        size_t k = strlen(units[i].suffix);
        if (n > k && strcmp(key + n - k, units[i].suffix) == 0)
            return units[i].unit;
    }
    return NULL;
}

/* The baseline's release, when the page knows it. */
static const site_release *base_release(const site_data *d, const series *s)
{
    return site_find(d, jstr(s->entry, "version"));
}

static int base_is_bad(const site_release *r)
{
    return r &&
           (r->entry->status == MANIFEST_ROLLED_BACK || r->entry->status == MANIFEST_QUARANTINED);
}

/* The y ticks and grid, the axes and their titles. */
static void axes(strbuf *b, const series *s, const site_data *d)
{
    const char *m = strstr(s->key, "::"), *unit = unit_of(s->key);
    char t[64];
    for (size_t i = 0; i < nticks(s); i++) {
        double y;
        tick_text(s, i, t, sizeof t);
        y = ypos(s, tick_value(s, i));
        svg_line(b, "grid", s->ml, y, PLOT_W - PLOT_MR, y);
        sb_printf(b,
                  "/>\n<text class=\"y-tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" "
                  "data-value=\"%s\">%s</text>\n",
                  s->ml - 6, y + FONT / 3, t, t);
    }
    svg_line(b, "axis", s->ml, PLOT_MT - 6, s->ml, YAXIS);
    sb_puts(b, "/>\n");
    svg_line(b, "axis", s->ml, YAXIS, PLOT_W - PLOT_MR, YAXIS);
    sb_printf(b, "/>\n<text class=\"y-title\" x=\"4\" y=\"%.1f\">", FONT + 2);
    site_text_short(b, m ? m + 2 : s->key, (size_t)((PLOT_W - 8) / CHAR_W) - 6);
    if (unit) {
        sb_puts(b, " (");
        site_text(b, unit);
        sb_puts(b, ")");
    }
    sb_printf(b,
              "</text>\n<text class=\"x-title\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">"
              "release%s, oldest first</text>\n",
              (s->ml + PLOT_W - PLOT_MR) / 2, s->h - 6, d->nrel == 1 ? "" : "s");
}

/* A labelled horizontal line at v: the label above it (below when there is no room), at the
 * left end (start) or the right end. */
static void hline(strbuf *b, const series *s, const char *cls, double v, int start)
{
    double y = ypos(s, v), ly = y - 4 - FONT < 2 ? y + FONT + 2 : y - 4;
    char val[48];
    text_num_format(v, val, sizeof val);
    svg_line(b, cls, s->ml, y, PLOT_W - PLOT_MR, y);
    sb_printf(b,
              " data-value=\"%s\"/>\n<text class=\"%s-label\" x=\"%.1f\" y=\"%.1f\" "
              "text-anchor=\"%s\">",
              val, strncmp(cls, "threshold", 9) == 0 ? "threshold" : cls,
              start ? X0(s) - PLOT_PAD + 4 : PLOT_W - PLOT_MR - 2, ly, start ? "start" : "end");
}

static void threshold(strbuf *b, const series *s, const check_record *c)
{
    int range = c->op && strcmp(c->op, "range") == 0;
    if (c->expected.set) {
        hline(b, s, "threshold", c->expected.v, 1);
        sb_puts(b, range ? "range &gt;= " : "threshold ");
        if (!range) {
            site_text(b, c->op ? c->op : "?");
            sb_puts(b, " ");
        }
        site_num(b, c->expected.v);
        sb_puts(b, "</text>\n");
    }
    if (range && c->expected_hi.set) {
        hline(b, s, "threshold", c->expected_hi.v, 1);
        sb_puts(b, "range &lt;= ");
        site_num(b, c->expected_hi.v);
        sb_puts(b, "</text>\n");
    }
    if (c->bound.set) {
        hline(b, s, "threshold bound", c->bound.v, 1);
        sb_puts(b, "bound ");
        site_text(b, c->direction && strcmp(c->direction, "lower") == 0 ? "<=" : ">=");
        sb_puts(b, " ");
        site_num(b, c->bound.v);
        sb_puts(b, "</text>\n");
    }
}

static void baseline_line(strbuf *b, const series *s, const site_data *d)
{
    const site_release *r = base_release(d, s);
    const char *v = jstr(s->entry, "version");
    hline(b, s, "baseline", s->base, 0);
    sb_puts(b, "baseline ");
    site_num(b, s->base);
    if (v) {
        sb_puts(b, base_is_bad(r) ? (r->entry->status == MANIFEST_ROLLED_BACK ? " (rolled back "
                                                                              : " (quarantined ")
                                  : " (");
        site_text_short(b, v, PLOT_XLABEL_MAX);
        sb_puts(b, ")");
    }
    sb_puts(b, "</text>\n");
}

static void series_points(strbuf *b, const series *s, const site_data *d)
{
    if (s->npts > 1) {
        sb_puts(b, "<polyline class=\"series\" points=\"");
        for (size_t i = 0, first = 1; i < d->nrel; i++)
            if (s->has[i]) {
                coord(b, first ? "" : " ", xpos(s, d, i));
                coord(b, ",", ypos(s, s->val[i]));
                first = 0;
            }
        sb_puts(b, "\"/>\n");
    }
    for (size_t i = 0; i < d->nrel; i++)
        if (s->has[i])
            point(b, &d->rel[i], xpos(s, d, i), ypos(s, s->val[i]), s->val[i]);
    for (size_t i = 0; i < d->nrel; i++) {
        double x = xpos(s, d, i), y = YAXIS + 14;
        if (!xlabel_shown(d, i))
            continue;
        coord(b, "<text class=\"x-label\" x=\"", x);
        coord(b, "\" y=\"", y);
        coord(b, "\" text-anchor=\"end\" transform=\"rotate(-45 ", x);
        coord(b, " ", y);
        sb_puts(b, ")\">");
        site_text_short(b, d->rel[i].version, PLOT_XLABEL_MAX);
        sb_puts(b, "</text>\n");
    }
    if (s->npts == 0)
        sb_printf(b,
                  "<text class=\"no-data\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">no "
                  "release has a value yet</text>\n",
                  (X0(s) + X1) / 2, PLOT_MT + PLOT_INNER_H / 2);
}

static void caption(strbuf *b, const site_data *d, const series *s)
{
    const site_release *r = base_release(d, s);
    sb_puts(b, "<figcaption><code>");
    site_text(b, s->key);
    sb_puts(b, "</code>: ");
    if (s->has_base) {
        sb_puts(b, "baseline ");
        site_num(b, s->base);
        if (jstr(s->entry, "version")) {
            sb_puts(b, base_is_bad(r) ? (r->entry->status == MANIFEST_ROLLED_BACK
                                             ? " from rolled-back release "
                                             : " from quarantined release ")
                                      : " from release ");
            site_text(b, jstr(s->entry, "version"));
        }
        if (jstr(s->entry, "recorded_at")) {
            sb_puts(b, ", recorded ");
            site_text(b, jstr(s->entry, "recorded_at"));
        }
    } else {
        sb_puts(b, "the baseline store holds no value");
    }
    for (size_t k = 0; k < s->nchk; k++) {
        const check_record *c = s->chk[k];
        sb_puts(b, k ? ", " : "; checked: ");
        site_text(b, c->op ? c->op : "?");
        sb_puts(b, " ");
        if (c->expected.set)
            site_num(b, c->expected.v);
        else
            sb_puts(b, "(baseline rule)");
        if (c->expected_hi.set && c->op && strcmp(c->op, "range") == 0) {
            sb_puts(b, " .. ");
            site_num(b, c->expected_hi.v);
        }
    }
    sb_printf(b, "; %zu of %zu release%s ha%s a value.</figcaption>\n", s->npts, d->nrel,
              d->nrel == 1 ? "" : "s", d->nrel == 1 ? "s" : "ve");
}

static void trend(strbuf *b, const site_data *d, const series *s)
{
    const site_release *r = base_release(d, s);
    sb_puts(b, "<figure class=\"trend\"");
    site_attr(b, "data-metric", s->key);
    sb_printf(b, " data-points=\"%zu\" data-checked=\"%s\" data-flat=\"%s\"", s->npts,
              s->nchk ? "true" : "false", s->flat ? "true" : "false");
    if (s->has_base && r)
        site_attr(b, "data-baseline-status", r->status);
    sb_puts(b, ">\n");
    caption(b, d, s);
    sb_printf(b, "<svg class=\"plot\" viewBox=\"0 0 %.0f %.0f\" role=\"img\" aria-label=\"", PLOT_W,
              s->h);
    site_text(b, s->key);
    sb_puts(b, " across releases\">\n<title>");
    site_text(b, s->key);
    sb_puts(b, "</title>\n");
    axes(b, s, d);
    if (s->has_base)
        baseline_line(b, s, d);
    for (size_t k = 0; k < s->nchk; k++)
        threshold(b, s, s->chk[k]);
    series_points(b, s, d);
    sb_puts(b, "</svg>\n</figure>\n");
}

static void legend(strbuf *b)
{
    static const struct {
        const char *label, *shape;
    } items[] = {
        {"promoted", "<circle class=\"point s-promoted\" cx=\"7\" cy=\"7\" r=\"5\"/>"},
        {"quarantined", "<rect class=\"point s-quarantined\" x=\"2.5\" y=\"2.5\" width=\"9\" "
                        "height=\"9\" transform=\"rotate(45 7 7)\"/>"},
        {"rolled back",
         "<rect class=\"point s-rolled_back\" x=\"2.5\" y=\"2.5\" width=\"9\" height=\"9\"/>"},
        {"staged", "<circle class=\"point s-staged\" cx=\"7\" cy=\"7\" r=\"5\"/>"},
    };
    sb_puts(b, "<p class=\"legend\">");
    for (size_t i = 0; i < sizeof items / sizeof items[0]; i++)
        sb_printf(b,
                  "<svg width=\"14\" height=\"14\" viewBox=\"0 0 14 14\" aria-hidden=\"true\">%s"
                  "</svg> %s &#160; ",
                  items[i].shape, items[i].label);
    sb_puts(b, "<svg width=\"24\" height=\"14\" viewBox=\"0 0 24 14\" aria-hidden=\"true\"><line "
               "class=\"baseline\" x1=\"0\" y1=\"7\" x2=\"24\" y2=\"7\"/></svg> baseline &#160; "
               "<svg width=\"24\" height=\"14\" viewBox=\"0 0 24 14\" aria-hidden=\"true\"><line "
               "class=\"threshold\" x1=\"0\" y1=\"7\" x2=\"24\" y2=\"7\"/></svg> threshold of the "
               "newest check</p>\n");
}

static void flat_fold(strbuf *b, const site_data *d, const series *s, size_t n)
{
    sb_printf(
        b, "<details class=\"flat-metrics\"><summary>%zu metric%s that never changed (folded): ", n,
        n == 1 ? "" : "s");
    for (size_t i = 0; i < n; i++) {
        sb_puts(b, i ? ", <code>" : "<code>");
        site_text(b, s[i].key);
        sb_puts(b, "</code>");
    }
    sb_puts(b, "</summary>\n<div class=\"plots\">\n");
    for (size_t i = 0; i < n; i++)
        trend(b, d, &s[i]);
    sb_puts(b, "</div>\n</details>\n");
}

void site_trends(strbuf *b, const site_data *d)
{
    json_t *metrics = json_object_get(d->baseline, "metrics"), *e;
    size_t n = 0, i, flat;
    const char *key;
    series *s;
    sb_puts(b, "<section id=\"trends\">\n<h2>Baseline metrics across releases</h2>\n");
    if (!d->baseline) {
        sb_puts(b, "<p class=\"empty\" id=\"no-baseline\">No baseline store yet, so no trend "
                   "plots: the first promotion records the baseline metrics.</p>\n</section>\n");
        return;
    }
    s = xcalloc(json_object_size(metrics) + 1, sizeof *s);
    json_object_foreach(metrics, key, e) series_read(&s[n++], d, key, e);
    qsort(s, n, sizeof *s, cmp_series);
    if (n == 0)
        sb_puts(b, "<p class=\"empty\" id=\"no-baseline\">The baseline store holds no metrics "
                   "yet, so no trend plots.</p>\n");
    else
        legend(b);
    for (i = 0; i < n; i++) {
        scale(&s[i], d);
        margins(&s[i], d);
    }
    for (flat = 0; flat < n && !s[flat].flat; flat++)
        ;
    if (flat)
        sb_puts(b, "<div class=\"plots\">\n");
    for (i = 0; i < flat; i++)
        trend(b, d, &s[i]);
    if (flat)
        sb_puts(b, "</div>\n");
    if (flat < n)
        flat_fold(b, d, s + flat, n - flat);
    for (i = 0; i < n; i++) {
        free(s[i].val);
        free(s[i].has);
    }
    free(s);
    sb_puts(b, "</section>\n");
}
