/* SPDX-License-Identifier: MIT */
#include "run/checks.h"

#include "plan/options.h"
#include "run/baseline.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int checks_compare(const relhost_check_spec *s, double a)
{
    if (!isfinite(a))
        return 0;
    if (s->op == RELHOST_OP_NONE)
        return 1;
    switch (s->op) {
    case RELHOST_OP_GE: return a >= s->expected;
    case RELHOST_OP_GT: return a > s->expected;
    case RELHOST_OP_LE: return a <= s->expected;
    case RELHOST_OP_LT: return a < s->expected;
    case RELHOST_OP_EQ: return a == s->expected;
    case RELHOST_OP_NE: return a != s->expected;
    case RELHOST_OP_RANGE: return a >= s->expected && a <= s->expected_hi;
    default: return 0;
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

double checks_stat(relhost_stat stat, const double *v, size_t n)
{
    double r, *s;
    if (n == 0)
        return NAN;
    switch (stat) {
    case RELHOST_STAT_MIN:
    case RELHOST_STAT_MAX:
        r = v[0];
        for (size_t i = 1; i < n; i++)
            r = stat == RELHOST_STAT_MIN ? fmin(r, v[i]) : fmax(r, v[i]);
        return r;
    case RELHOST_STAT_MEAN:
        r = 0;
        for (size_t i = 0; i < n; i++)
            r += v[i];
        return r / (double)n;
    default:
        s = malloc(n * sizeof *s);
        if (!s)
            return NAN;
        memcpy(s, v, n * sizeof *s);
        qsort(s, n, sizeof *s, cmp_double);
        r = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
        free(s);
        return r;
    }
}

const char *checks_stat_name(relhost_stat stat)
{
    static const char *const names[] = {"median", "min", "max", "mean"};
    return (unsigned)stat < 4 ? names[stat] : "median";
}

void checks_spec_read(const relhost_check_spec *in, relhost_check_spec *out)
{
    memset(out, 0, sizeof *out);
    memcpy(out, in, in->struct_size < sizeof *out ? in->struct_size : sizeof *out);
    out->struct_size = sizeof *out;
    if ((unsigned)out->stat > RELHOST_STAT_MEAN)
        out->stat = RELHOST_STAT_MEDIAN;
}

/* "20%", "0.002", or "max(20%, 0.002)": how far the bound may be from the baseline. */
static void tolerance_text(const relhost_check_spec *s, char *buf, size_t cap)
{
    if (s->rel_tol > 0 && s->abs_tol > 0)
        snprintf(buf, cap, "max(%g%%, %g)", s->rel_tol * 100, s->abs_tol);
    else if (s->abs_tol > 0)
        snprintf(buf, cap, "%g", s->abs_tol);
    else
        snprintf(buf, cap, "%g%%", s->rel_tol * 100);
}

/* The check's value of metric m: its stat of the repeats, or its value. 0 with *why when there
 * is none (missing in some repeat, or not finite). */
static int actual_of(const ev_metric *m, relhost_stat stat, double *out, char *why, size_t cap)
{
    size_t bad = 0, n = 0;
    double *v;
    if (m->nruns == 0) {
        if (!m->finite) {
            snprintf(why, cap, "value is not a finite number");
            return 0;
        }
        *out = m->value;
        return 1;
    }
    v = calloc(m->nruns, sizeof *v);
    if (!v) {
        snprintf(why, cap, "out of memory");
        return 0;
    }
    for (size_t i = 0; i < m->nruns; i++) {
        if (isfinite(m->runs[i]))
            v[n++] = m->runs[i];
        else
            bad++;
    }
    if (bad) {
        snprintf(why, cap, "metric missing or not a finite number in %zu of %zu repeats", bad,
                 m->nruns);
        free(v);
        return 0;
    }
    *out = checks_stat(stat, v, n);
    free(v);
    return 1;
}

/* Why a source refused the value of key (label RELHOST_LABEL_REFUSED "<key>"), or NULL. */
static const char *refused_label(const evidence *ev, const char *key)
{
    char name[256];
    snprintf(name, sizeof name, "%s%s", RELHOST_LABEL_REFUSED, key);
    return evidence_find_label(ev, name);
}

/* How many checks ended which way (checks_eval_env). */
struct tally {
    int missing, failed, nobase, broken, refused;
};

/* One check: compared, recorded in ev, counted in t. */
static void eval_one(evidence *ev, const relhost_check_spec *spec, const checks_env *env,
                     struct tally *t)
{
    relhost_check_spec s;
    const ev_metric *m;
    relhost_check c = {.struct_size = sizeof c};
    ev_check *rec;
    char note[320] = "", why[128] = "", tol[96];
    const char *why_refused;
    int has_base = 0, higher, ok = 1, has_actual = 0;
    double base = 0, bound = 0, actual = 0;

    checks_spec_read(spec, &s);
    higher = s.baseline == RELHOST_BASELINE_HIGHER;
    m = evidence_find_metric(ev, s.key);
    if (s.baseline != RELHOST_BASELINE_NONE && env && env->baseline && env->validation)
        has_base = baseline_lookup(env->baseline, env->validation, s.key, s.stat, &base);
    if (has_base) {
        double allowed = fmax(s.rel_tol * fabs(base), s.abs_tol);
        bound = higher ? base - allowed : base + allowed;
    }
    if (!m && (why_refused = refused_label(ev, s.key)) != NULL) {
        /* the output held a value the source would not trust: no decision either way */
        snprintf(note, sizeof note, "metric refused: %.280s", why_refused);
        t->refused++;
        ok = 0;
    } else if (!m) {
        snprintf(note, sizeof note, "metric missing");
        t->missing++;
        ok = 0;
    } else if (!actual_of(m, s.stat, &actual, why, sizeof why)) {
        if (m->nruns && (why_refused = refused_label(ev, s.key)) != NULL) {
            /* a repeat's value was refused: no decision either way, as for one job */
            snprintf(note, sizeof note, "%.100s; metric refused %.200s", why, why_refused);
            t->refused++;
        } else {
            snprintf(note, sizeof note, "%s", why);
            if (m->nruns)
                t->missing++;
            else
                t->failed++;
        }
        ok = 0;
    } else {
        has_actual = 1;
        if (!checks_compare(&s, actual)) {
            ok = 0;
            t->failed++;
        }
        if (s.baseline != RELHOST_BASELINE_NONE && has_base &&
            !(higher ? actual >= bound : actual <= bound)) {
            tolerance_text(&s, tol, sizeof tol);
            snprintf(note, sizeof note, "%s %s%s%g %s bound %g (baseline %g, %s%s)", s.key,
                     m->nruns ? checks_stat_name(s.stat) : "", m->nruns ? " " : "", actual,
                     higher ? "<" : ">", bound, base, higher ? "-" : "+", tol);
            if (ok)
                t->failed++;
            ok = 0;
        }
    }
    if (s.baseline != RELHOST_BASELINE_NONE && env && env->baseline_error) {
        if (!note[0])
            snprintf(note, sizeof note, "baseline store unreadable: %.250s", env->baseline_error);
        if (ok)
            t->broken++;
        ok = 0;
    } else if (s.baseline != RELHOST_BASELINE_NONE && !has_base) {
        int need = env && env->require_baseline;
        if (!note[0])
            snprintf(note, sizeof note, "no baseline yet for %s::%s%s",
                     env && env->validation ? env->validation : "?", s.key,
                     need ? " (require_baseline = true: no decision without one)" : "");
        if (need) {
            if (ok)
                t->nobase++;
            ok = 0;
        }
    }
    c.key = s.key;
    c.op = s.op != RELHOST_OP_NONE ? options_op_name(s.op) : higher ? ">=" : "<=";
    c.expected = s.expected;
    c.expected_hi = s.expected_hi;
    c.has_actual = has_actual;
    c.actual = actual;
    c.passed = ok;
    c.note = note[0] ? note : NULL;
    rec = evidence_check(ev, &c);
    rec->has_expected = s.op != RELHOST_OP_NONE;
    rec->stat = xstrdup(checks_stat_name(s.stat));
    if (s.baseline != RELHOST_BASELINE_NONE) {
        rec->direction = xstrdup(higher ? "higher" : "lower");
        rec->rel = s.rel_tol;
        rec->abs = s.abs_tol;
        rec->has_baseline = rec->has_bound = has_base;
        rec->baseline = base;
        rec->bound = bound;
    }
}

void checks_eval_env(evidence *ev, const relhost_checks *checks, const checks_env *env,
                     relhost_verdict *out)
{
    struct tally t = {0};
    size_t esz = checks && checks->elem_size ? checks->elem_size : sizeof(relhost_check_spec);
    for (size_t i = 0; checks && i < checks->n; i++)
        eval_one(ev, (const relhost_check_spec *)(const void *)((const char *)checks->v + i * esz),
                 env, &t);
    /* The first that applies decides: a verdict before a tool error before no decision. */
    const struct {
        int count;
        relhost_outcome outcome;
        const char *reason;
    } order[] = {
        {t.failed, RELHOST_FAILED, "threshold"},
        {t.missing, RELHOST_FAILED, "metric_missing"},
        {t.broken, RELHOST_ERROR, "baseline_unreadable"},
        {t.refused, RELHOST_INCONCLUSIVE, "metric_refused"},
        {t.nobase, RELHOST_INCONCLUSIVE, "no_baseline"},
        {1, RELHOST_PASSED, NULL},
    };
    size_t k = 0;
    while (!order[k].count)
        k++;
    out->struct_size = sizeof *out;
    out->retryable = 0;
    out->outcome = order[k].outcome;
    out->reason = order[k].reason;
}

void checks_eval(evidence *ev, const relhost_checks *checks, relhost_verdict *out)
{
    checks_eval_env(ev, checks, NULL, out);
}
