/* SPDX-License-Identifier: MIT */
/*
 * text.c - text helpers shared by every view (text.h).
 */
#include "view/text.h"

#include "base/error.h"
#include "base/log.h"
#include "base/secrets.h"

#include <jansson.h>

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* One UTF-8 code point at s[*i] (strict: no overlongs, no surrogates, nothing past U+10FFFF);
 * -1 and one byte consumed when the bytes there are not one. */
static long utf8_next(const unsigned char *s, size_t n, size_t *i)
{
    unsigned char c = s[*i];
    size_t len;
    long cp, min;
    if (c < 0x80) {
        (*i)++;
        return c;
    }
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        cp = c & 0x1F;
        min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        cp = c & 0x0F;
        min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        cp = c & 0x07;
        min = 0x10000;
    } else {
        (*i)++;
        return -1;
    }
    if (*i + len > n) {
        (*i)++;
        return -1;
    }
    for (size_t k = 1; k < len; k++) {
        if ((s[*i + k] & 0xC0) != 0x80) {
            (*i)++;
            return -1;
        }
        cp = (cp << 6) | (s[*i + k] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        (*i)++;
        return -1;
    }
    *i += len;
    return cp;
}

static void put_utf8(strbuf *b, long cp)
{
    char u[4];
    if (cp < 0x80) {
        u[0] = (char)cp;
        sb_add(b, u, 1);
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3F));
        sb_add(b, u, 2);
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        sb_add(b, u, 3);
    } else {
        u[0] = (char)(0xF0 | (cp >> 18));
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[3] = (char)(0x80 | (cp & 0x3F));
        sb_add(b, u, 4);
    }
}

#define REPLACEMENT 0xFFFD

void text_clean(strbuf *out, const char *s, size_t n)
{
    strbuf red;
    const unsigned char *p;
    size_t i = 0;
    sb_init(&red);
    /* Redact first: a secret is matched in the bytes the run wrote, before any of them change. */
    secrets_redact(&red, s ? s : "", s ? n : 0);
    p = (const unsigned char *)red.s;
    n = red.len;
    while (i < n) {
        long cp;
        if (p[i] == 0x1B && i + 1 < n && p[i + 1] == '[') {
            /* CSI: colours and cursor moves are formatting, not content; dropped whole. */
            i += 2;
            while (i < n && p[i] >= 0x20 && p[i] <= 0x3F)
                i++;
            if (i < n && p[i] >= 0x40 && p[i] <= 0x7E)
                i++;
            continue;
        }
        if (p[i] == 0x1B && i + 1 < n && p[i + 1] == ']') {
            /* OSC (window titles, hyperlinks), ended by BEL or ESC \. */
            i += 2;
            while (i < n && p[i] != 0x07 && !(p[i] == 0x1B && i + 1 < n && p[i + 1] == '\\'))
                i++;
            i += i < n ? (p[i] == 0x07 ? 1 : 2) : 0;
            continue;
        }
        if (p[i] == '\r') {
            /* CR LF is one line end; a lone CR (a progress bar redrawing) ends a line too. */
            sb_putc(out, '\n');
            i += (i + 1 < n && p[i + 1] == '\n') ? 2 : 1;
            continue;
        }
        cp = utf8_next(p, n, &i);
        if (cp < 0 || (cp < 0x20 && cp != '\t' && cp != '\n') || cp == 0xFFFE || cp == 0xFFFF)
            cp = REPLACEMENT;
        put_utf8(out, cp);
    }
    sb_free(&red);
}

/* The fewest decimals d that read back as v, without printf: n = |v| 10^d rounded is the
 * decimal "%.*f" writes when the product is not near a tie (its error is below |v| 10^d 2^-53),
 * and n / 10^d, both exact doubles, rounds as strtod() reads the decimal back. For a number
 * that is not an integer, of 1e-4 <= |v| < 1e14, the fewest decimals are the fewest significant
 * digits the search below finds. 0 (and nothing written) when a product comes near a tie or
 * past 2^50: the search decides. */
static int num_decimals(double v, char *buf, size_t cap)
{
    static const double p10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                 1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    double a = fabs(v);
    if (!(a >= 1e-4 && a < 1e14))
        return 0;
    for (int d = 1; d < (int)(sizeof p10 / sizeof *p10); d++) {
        double t = a * p10[d], n = nearbyint(t);
        char dig[24], *q = dig + sizeof dig, *o = buf;
        unsigned long long u;
        size_t len;
        if (t >= 0x1p50 || fabs(t - n) >= 0.5 - t * 0x1p-52)
            return 0;
        if (n / p10[d] != a)
            continue;
        u = (unsigned long long)n;
        do
            *--q = (char)('0' + u % 10);
        while ((u /= 10) > 0);
        len = (size_t)(dig + sizeof dig - q);
        if (cap < len + (size_t)d + 4)
            return 0;
        if (v < 0)
            *o++ = '-';
        if (len <= (size_t)d) {
            *o++ = '0';
            *o++ = '.';
            memset(o, '0', (size_t)d - len);
            o += (size_t)d - len;
            memcpy(o, q, len);
            o += len;
        } else {
            memcpy(o, q, len - (size_t)d);
            o += len - (size_t)d;
            *o++ = '.';
            memcpy(o, q + len - d, (size_t)d);
            o += d;
        }
        *o = '\0';
        return 1;
    }
    return 0;
}

void text_num_format(double v, char *buf, size_t cap)
{
    char e[40];
    int p, x;
    if (isnan(v)) {
        snprintf(buf, cap, "NaN");
        return;
    }
    if (isinf(v)) {
        snprintf(buf, cap, "%s", v < 0 ? "-inf" : "inf");
        return;
    }
    if (v == 0) {
        snprintf(buf, cap, "0");
        return;
    }
    /* An integer below 1e15 reads back from its own digits: what the search below finds. */
    if (fabs(v) < 1e15 && v == trunc(v)) {
        /* its digits, as "%.0f" writes them */
        unsigned long long u = (unsigned long long)fabs(v);
        char dig[24], *q = dig + sizeof dig;
        *--q = '\0';
        do
            *--q = (char)('0' + u % 10);
        while ((u /= 10) > 0);
        if (v < 0)
            *--q = '-';
        if ((size_t)(dig + sizeof dig - q) <= cap)
            memcpy(buf, q, (size_t)(dig + sizeof dig - q));
        else
            snprintf(buf, cap, "%s", q);
        return;
    }
    if (num_decimals(v, buf, cap))
        return;
    /* The fewest significant digits that read back as the same double (at most 17). Reading
     * back is monotone in the digits (the nearest p+1-digit decimal is at least as close as
     * the nearest p-digit one), so a binary search finds the same count as trying 1, 2, ... */
    {
        int lo = 1, hi = 17;
        while (lo < hi) {
            int mid = (lo + hi) / 2;
            snprintf(e, sizeof e, "%.*e", mid - 1, v);
            if (strtod(e, NULL) == v)
                hi = mid;
            else
                lo = mid + 1;
        }
        p = lo;
    }
    snprintf(e, sizeof e, "%.*e", p - 1, v);
    x = atoi(strchr(e, 'e') + 1);
    if (x >= -5 && x < 15)
        snprintf(buf, cap, "%.*f", p - 1 - x > 0 ? p - 1 - x : 0, v);
    else
        snprintf(buf, cap, "%s", e);
}

void text_fixed1(double v, char *buf, size_t cap)
{
    double a = fabs(v), t = a * 10, n = nearbyint(t);
    unsigned long long u;
    char tmp[32], *q = tmp + sizeof tmp;
    /* Below 1e9 the product is within 1e-6 of 10|v|, so away from a tie (a fraction of .5,
     * where printf rounds the exact value, maybe to even) n is the rounding printf makes of
     * the exact value; the rest, and what is not finite, goes to printf. */
    if (!(a < 1e9) || fabs(t - n) > 0.4999) {
        snprintf(buf, cap, "%.1f", v);
        return;
    }
    u = (unsigned long long)n;
    *--q = '\0';
    *--q = (char)('0' + u % 10);
    *--q = '.';
    u /= 10;
    do
        *--q = (char)('0' + u % 10);
    while ((u /= 10) > 0);
    if (signbit(v))
        *--q = '-';
    if ((size_t)(tmp + sizeof tmp - q) <= cap)
        memcpy(buf, q, (size_t)(tmp + sizeof tmp - q));
    else
        snprintf(buf, cap, "%s", q);
}

int text_emit(FILE *out, const strbuf *b, char **err)
{
    out_write(out, b->s ? b->s : "", b->len);
    if (fflush(out) != 0 || ferror(out)) {
        int rc = error_set(RELHOST_EIO, "cannot write the report: %s", strerror(errno));
        if (err)
            *err = xstrdup(error_last());
        return rc;
    }
    return 0;
}

/* Whether actual meets "op expected" (the fixed threshold), and the relation that says it does
 * not ("<" for ">="). 1 when it holds or cannot be judged here (no threshold, unknown op). */
static int threshold_holds(const check_record *c, const char **neg)
{
    static const char *const ops[][2] = {{">=", "<"},  {">", "<="},  {"<=", ">"},  {"<", ">="},
                                         {"==", "!="}, {"!=", "=="}, {"range", ""}};
    double a = c->actual.v, e = c->expected.v;
    size_t k = 0;
    if (!c->op || !c->expected.set)
        return 1;
    while (k < sizeof ops / sizeof ops[0] && strcmp(ops[k][0], c->op) != 0)
        k++;
    if (k == sizeof ops / sizeof ops[0])
        return 1;
    *neg = ops[k][1];
    switch (k) {
    case 0: return a >= e;
    case 1: return a > e;
    case 2: return a <= e;
    case 3: return a < e;
    case 4: return a == e;
    case 5: return a != e;
    default: return c->expected_hi.set && a >= e && a <= c->expected_hi.v;
    }
}

/* How far the bound is from the baseline, as the rule says it: "-20%", "+5", "-max(20%, 5)";
 * from the numbers ("-20%") when the rule is not recorded. */
static void tolerance(const check_record *c, int higher, strbuf *out)
{
    char a[40], b[40];
    double r = c->rel.set ? c->rel.v : 0, x = c->abs.set ? c->abs.v : 0;
    if (r <= 0 && x <= 0) {
        if (c->baseline.v == 0 || !isfinite(c->bound.v))
            return;
        /* four digits: the bound was computed from the rule, not the other way round */
        snprintf(a, sizeof a, "%.4g", 100 * fabs(c->bound.v - c->baseline.v) / fabs(c->baseline.v));
        sb_printf(out, "%s%s%%", higher ? ", -" : ", +", a);
        return;
    }
    text_num_format(r * 100, a, sizeof a);
    text_num_format(x, b, sizeof b);
    sb_puts(out, higher ? ", -" : ", +");
    if (r > 0 && x > 0)
        sb_printf(out, "max(%s%%, %s)", a, b);
    else if (x > 0)
        sb_puts(out, b);
    else
        sb_printf(out, "%s%%", a);
}

int text_check_failure(const check_record *in, strbuf *out)
{
    char a[40], t[40], hi[40], key[160];
    const char *neg = NULL;
    check_record copy = *in, *c = &copy;
    int higher;
    /* a statistic other than the median goes with the name: "sps_max min 24000 < 25000" */
    snprintf(key, sizeof key, "%s%s%s", in->key ? in->key : "?",
             in->stat && strcmp(in->stat, "median") != 0 ? " " : "",
             in->stat && strcmp(in->stat, "median") != 0 ? in->stat : "");
    copy.stat = NULL;
    if (!c->actual.set || !isfinite(c->actual.v)) {
        sb_printf(out, "%s has no value (needs ", key);
        text_check_expected(c, out);
        sb_putc(out, ')');
        return 0;
    }
    text_num_format(c->actual.v, a, sizeof a);
    if (!threshold_holds(c, &neg)) {
        text_num_format(c->expected.v, t, sizeof t);
        if (*neg) {
            sb_printf(out, "%s %s %s %s (needs ", key, a, neg, t);
        } else {
            text_num_format(c->expected_hi.set ? c->expected_hi.v : NAN, hi, sizeof hi);
            sb_printf(out, "%s %s outside [%s, %s] (needs ", key, a, t, hi);
        }
        text_check_expected(c, out);
        sb_putc(out, ')');
        return 0;
    }
    higher = c->direction ? strcmp(c->direction, "higher") == 0
                          : c->bound.set && c->baseline.set && c->bound.v <= c->baseline.v;
    if (c->bound.set && c->baseline.set &&
        !(higher ? c->actual.v >= c->bound.v : c->actual.v <= c->bound.v)) {
        text_num_format(c->bound.v, t, sizeof t);
        text_num_format(c->baseline.v, hi, sizeof hi);
        sb_printf(out, "%s %s %s bound %s (baseline %s", key, a, higher ? "<" : ">", t, hi);
        tolerance(c, higher, out);
        sb_putc(out, ')');
        /* the note of core/run/checks.c says the same; another note adds to it */
        return !in->note || strstr(in->note, " bound ") != NULL;
    }
    /* it failed for another reason (no baseline, an unreadable store...): the note says which */
    sb_printf(out, "%s %s (needs ", key, a);
    text_check_expected(c, out);
    sb_putc(out, ')');
    return 0;
}

void text_check_expected(const check_record *c, strbuf *out)
{
    const char *op = c->op, *dir = c->direction, *stat = c->stat;
    char a[40] = "?", b[40] = "?";
    int higher = dir && strcmp(dir, "higher") == 0;
    if (c->expected.set)
        text_num_format(c->expected.v, a, sizeof a);
    if (c->expected_hi.set)
        text_num_format(c->expected_hi.v, b, sizeof b);
    /* A baseline rule alone has no threshold (expected null): only the rule is shown. */
    if (!dir || c->expected.set) {
        if (op && strcmp(op, "range") == 0)
            sb_printf(out, "in [%s, %s]", a, b);
        else
            sb_printf(out, "%s %s", op ? op : "?", a);
    }
    if (dir) {
        /* The rule as written, never the bound it gave: a JUnit case keeps its name across
         * releases while the baseline moves. */
        double r = c->rel.set ? c->rel.v : 0;
        double x = c->abs.set ? c->abs.v : 0;
        text_num_format(r * 100, a, sizeof a);
        text_num_format(x, b, sizeof b);
        sb_printf(out, "%s%s baseline %s ", c->expected.set ? " and " : "",
                  higher ? ">=" : "<=", higher ? "-" : "+");
        if (r > 0 && x > 0)
            sb_printf(out, "max(%s%%, %s)", a, b);
        else if (x > 0)
            sb_printf(out, "%s", b);
        else
            sb_printf(out, "%s%%", a);
    }
    if (stat && strcmp(stat, "median") != 0)
        sb_printf(out, " (%s of the runs)", stat);
}

/* Masked, or NULL when it is not UTF-8 (a damaged state): what the reports have always shown. */
static void red(char **s)
{
    char *r;
    json_t *t;
    if (!*s)
        return;
    r = secrets_redact_dup(*s);
    free(*s);
    t = json_string(r);
    if (!t) {
        free(r);
        r = NULL;
    }
    json_decref(t);
    *s = r;
}

static void redact_evidence(evidence_record *e)
{
    size_t i, n;
    for (i = 0; i < e->nmetrics; i++) {
        red(&e->metrics[i].source);
        red(&e->metrics[i].pattern);
        red(&e->metrics[i].reducer);
    }
    for (i = 0; i < e->nchecks; i++) {
        check_record *c = &e->checks[i];
        red(&c->key), red(&c->op), red(&c->stat), red(&c->direction), red(&c->note);
    }
    for (i = 0, n = 0; i < e->nlabels; i++) {
        red(&e->labels[i].value);
        if (e->labels[i].value)
            e->labels[n++] = e->labels[i];
        else
            free(e->labels[i].key);
    }
    e->nlabels = n;
    for (i = 0; i < e->nartifacts; i++) {
        red(&e->artifacts[i].kind), red(&e->artifacts[i].uri), red(&e->artifacts[i].sha256);
    }
    for (i = 0; i < e->nnotes; i++)
        red(&e->notes[i]);
}

static void redact_job(job_record *j)
{
    red(&j->runner), red(&j->lifecycle_raw), red(&j->key), red(&j->external_id);
    red(&j->reason), red(&j->termination_reason), red(&j->started_at), red(&j->ended_at);
    red(&j->log_path), red(&j->spec_hash), red(&j->accept_hash), red(&j->repeat_of);
    for (size_t i = 0; i < j->nargv; i++)
        red(&j->argv[i]);
    redact_evidence(&j->evidence);
}

void text_redact_job(job_record *j) { redact_job(j); }

void text_redact_record(release_record *rec)
{
    size_t i;
    red(&rec->version), red(&rec->plan_name), red(&rec->plan), red(&rec->plan_hash);
    red(&rec->created_at), red(&rec->updated_at);
    red(&rec->candidate.commit), red(&rec->candidate.repo), red(&rec->candidate.ref);
    red(&rec->candidate.checkout);
    for (i = 0; i < rec->nsteps; i++) {
        step_record *s = &rec->steps[i];
        red(&s->plugin), red(&s->reason), red(&s->message), red(&s->started_at);
        red(&s->ended_at), red(&s->waived_from_reason), red(&s->in_flight), red(&s->plan_hash);
        for (size_t k = 0; k < s->nrecords; k++)
            red(&s->records[k].value);
        redact_evidence(&s->evidence);
    }
    for (i = 0; i < rec->njobs; i++)
        redact_job(&rec->jobs[i]);
    for (i = 0; i < rec->nwaivers; i++) {
        waiver_record *w = &rec->waivers[i];
        red(&w->step), red(&w->validation), red(&w->who), red(&w->reason), red(&w->expires);
        red(&w->by), red(&w->host), red(&w->at);
    }
}
