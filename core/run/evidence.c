/* SPDX-License-Identifier: MIT */
#include "run/evidence.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define GROW(arr, n, cap)                                                                          \
    do {                                                                                           \
        if ((n) == (cap)) {                                                                        \
            (cap) = (cap) ? (cap) * 2 : 8;                                                         \
            (arr) = xrealloc((arr), (cap) * sizeof *(arr));                                        \
        }                                                                                          \
    } while (0)

static char *dup_or_null(const char *s) { return s ? xstrdup(s) : NULL; }

static void metric_set(evidence *ev, const char *key, double value, const char *source,
                       const char *pattern, const char *reducer, uint64_t samples, int note);

void evidence_metric(evidence *ev, const char *key, double value, const char *source,
                     const char *pattern, const char *reducer, uint64_t samples)
{
    metric_set(ev, key, value, source, pattern, reducer, samples, 1);
}

static void metric_set(evidence *ev, const char *key, double value, const char *source,
                       const char *pattern, const char *reducer, uint64_t samples, int note)
{
    ev_metric *m = NULL;
    for (size_t i = 0; i < ev->nmetrics; i++)
        if (strcmp(ev->metrics[i].key, key) == 0) {
            m = &ev->metrics[i];
            free(m->key);
            free(m->source);
            free(m->pattern);
            free(m->reducer);
            free(m->runs);
            m->runs = NULL;
            m->nruns = 0;
        }
    if (!m) {
        GROW(ev->metrics, ev->nmetrics, ev->capmetrics);
        m = &ev->metrics[ev->nmetrics++];
        memset(m, 0, sizeof *m);
    }
    m->key = xstrdup(key);
    m->finite = isfinite(value);
    m->value = m->finite ? value : 0;
    m->source = dup_or_null(source);
    m->pattern = dup_or_null(pattern);
    m->reducer = dup_or_null(reducer);
    m->samples = samples;
    if (!m->finite && note) {
        char *n = xasprintf("metric %s was not a finite number (%g); stored as null", key, value);
        evidence_note(ev, n);
        free(n);
    }
}

const ev_metric *evidence_find_metric(const evidence *ev, const char *key)
{
    for (size_t i = 0; i < ev->nmetrics; i++)
        if (strcmp(ev->metrics[i].key, key) == 0)
            return &ev->metrics[i];
    return NULL;
}

void evidence_metric_runs(evidence *ev, const char *key, const double *runs, size_t n)
{
    for (size_t i = 0; i < ev->nmetrics; i++) {
        ev_metric *m = &ev->metrics[i];
        if (strcmp(m->key, key) != 0)
            continue;
        free(m->runs);
        m->runs = n ? xcalloc(n, sizeof *m->runs) : NULL;
        for (size_t k = 0; k < n; k++)
            m->runs[k] = isfinite(runs[k]) ? runs[k] : NAN;
        m->nruns = n;
        return;
    }
}

ev_check *evidence_check(evidence *ev, const relhost_check *c)
{
    ev_check *k;
    GROW(ev->checks, ev->nchecks, ev->capchecks);
    k = &ev->checks[ev->nchecks++];
    memset(k, 0, sizeof *k);
    k->key = xstrdup(c->key ? c->key : "?");
    k->op = xstrdup(c->op ? c->op : "?");
    k->note = dup_or_null(c->note);
    k->expected = c->expected;
    k->expected_hi = c->expected_hi;
    k->has_expected = 1;
    k->has_actual = c->has_actual && isfinite(c->actual);
    k->actual = k->has_actual ? c->actual : 0;
    k->passed = c->passed != 0;
    return k;
}

void evidence_label(evidence *ev, const char *key, const char *value)
{
    ev_label *l;
    for (size_t i = 0; i < ev->nlabels; i++)
        if (strcmp(ev->labels[i].key, key) == 0) {
            free(ev->labels[i].value);
            ev->labels[i].value = xstrdup(value);
            return;
        }
    GROW(ev->labels, ev->nlabels, ev->caplabels);
    l = &ev->labels[ev->nlabels++];
    l->key = xstrdup(key);
    l->value = xstrdup(value);
}

const char *evidence_find_label(const evidence *ev, const char *key)
{
    for (size_t i = 0; i < ev->nlabels; i++)
        if (strcmp(ev->labels[i].key, key) == 0)
            return ev->labels[i].value;
    return NULL;
}

void evidence_artifact(evidence *ev, const char *kind, const char *uri, const char *sha256)
{
    ev_artifact *a;
    GROW(ev->artifacts, ev->nartifacts, ev->capartifacts);
    a = &ev->artifacts[ev->nartifacts++];
    a->kind = xstrdup(kind ? kind : "file");
    a->uri = xstrdup(uri);
    a->sha256 = dup_or_null(sha256);
}

void evidence_note(evidence *ev, const char *note) { sv_push(&ev->notes, note); }

void evidence_free(evidence *ev)
{
    for (size_t i = 0; i < ev->nmetrics; i++) {
        free(ev->metrics[i].key);
        free(ev->metrics[i].source);
        free(ev->metrics[i].pattern);
        free(ev->metrics[i].reducer);
        free(ev->metrics[i].runs);
    }
    for (size_t i = 0; i < ev->nchecks; i++) {
        free(ev->checks[i].key);
        free(ev->checks[i].op);
        free(ev->checks[i].note);
        free(ev->checks[i].stat);
        free(ev->checks[i].direction);
    }
    for (size_t i = 0; i < ev->nlabels; i++) {
        free(ev->labels[i].key);
        free(ev->labels[i].value);
    }
    for (size_t i = 0; i < ev->nartifacts; i++) {
        free(ev->artifacts[i].kind);
        free(ev->artifacts[i].uri);
        free(ev->artifacts[i].sha256);
    }
    free(ev->metrics);
    free(ev->checks);
    free(ev->labels);
    free(ev->artifacts);
    sv_free(&ev->notes);
    memset(ev, 0, sizeof *ev);
}

static json_t *num_or_null(int has, double v)
{
    return has && isfinite(v) ? json_real(v) : json_null();
}

static json_t *str_or_null(const char *s) { return s ? json_string(s) : json_null(); }

json_t *evidence_to_json(const evidence *ev)
{
    json_t *o = json_object(), *metrics = json_object(), *checks = json_array();
    json_t *labels = json_object(), *arts = json_array(), *notes = json_array();
    for (size_t i = 0; i < ev->nmetrics; i++) {
        const ev_metric *m = &ev->metrics[i];
        json_t *mj = json_object();
        json_object_set_new(mj, "value", num_or_null(m->finite, m->value));
        json_object_set_new(mj, "source", str_or_null(m->source));
        json_object_set_new(mj, "pattern", str_or_null(m->pattern));
        json_object_set_new(mj, "reducer", str_or_null(m->reducer));
        json_object_set_new(mj, "samples", json_integer((json_int_t)m->samples));
        if (m->nruns) {
            json_t *runs = json_array();
            for (size_t k = 0; k < m->nruns; k++)
                json_array_append_new(runs, num_or_null(1, m->runs[k]));
            json_object_set_new(mj, "repeats", runs);
        }
        json_object_set_new(metrics, m->key, mj);
    }
    for (size_t i = 0; i < ev->nchecks; i++) {
        const ev_check *c = &ev->checks[i];
        json_t *cj = json_object();
        json_object_set_new(cj, "key", json_string(c->key));
        json_object_set_new(cj, "op", json_string(c->op));
        json_object_set_new(cj, "expected", num_or_null(c->has_expected, c->expected));
        if (c->has_expected && strcmp(c->op, "range") == 0)
            json_object_set_new(cj, "expected_hi", num_or_null(1, c->expected_hi));
        json_object_set_new(cj, "actual", num_or_null(c->has_actual, c->actual));
        if (c->stat)
            json_object_set_new(cj, "stat", json_string(c->stat));
        if (c->direction) {
            json_object_set_new(cj, "direction", json_string(c->direction));
            json_object_set_new(cj, "rel", num_or_null(1, c->rel));
            json_object_set_new(cj, "abs", num_or_null(1, c->abs));
            json_object_set_new(cj, "baseline", num_or_null(c->has_baseline, c->baseline));
            json_object_set_new(cj, "bound", num_or_null(c->has_bound, c->bound));
        }
        json_object_set_new(cj, "passed", json_boolean(c->passed));
        json_object_set_new(cj, "note", str_or_null(c->note));
        json_array_append_new(checks, cj);
    }
    for (size_t i = 0; i < ev->nlabels; i++)
        json_object_set_new(labels, ev->labels[i].key, json_string(ev->labels[i].value));
    for (size_t i = 0; i < ev->nartifacts; i++) {
        json_t *aj = json_object();
        json_object_set_new(aj, "kind", json_string(ev->artifacts[i].kind));
        json_object_set_new(aj, "uri", json_string(ev->artifacts[i].uri));
        json_object_set_new(aj, "sha256", str_or_null(ev->artifacts[i].sha256));
        json_array_append_new(arts, aj);
    }
    for (size_t i = 0; i < ev->notes.n; i++)
        json_array_append_new(notes, json_string(ev->notes.v[i]));
    json_object_set_new(o, "metrics", metrics);
    json_object_set_new(o, "checks", checks);
    json_object_set_new(o, "labels", labels);
    json_object_set_new(o, "artifacts", arts);
    json_object_set_new(o, "notes", notes);
    return o;
}

static const char *jstr(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

void evidence_from_json(evidence *ev, const json_t *j)
{
    const char *k;
    json_t *v;
    size_t i;
    if (!json_is_object(j))
        return;
    json_object_foreach((json_t *)json_object_get(j, "metrics"), k, v)
    {
        json_t *val = json_object_get(v, "value");
        json_int_t samples = json_integer_value(json_object_get(v, "samples"));
        /* A null value was noted when it was first set; reloading must not note it twice. */
        json_t *runs = json_object_get(v, "repeats"), *r;
        metric_set(ev, k, json_is_number(val) ? json_number_value(val) : NAN, jstr(v, "source"),
                   jstr(v, "pattern"), jstr(v, "reducer"), samples > 0 ? (uint64_t)samples : 0, 0);
        if (json_array_size(runs) > 0) {
            double *d = xcalloc(json_array_size(runs), sizeof *d);
            json_array_foreach(runs, i, r)
                d[i] = json_is_number(r) ? json_number_value(r) : NAN;
            evidence_metric_runs(ev, k, d, json_array_size(runs));
            free(d);
        }
    }
    json_array_foreach(json_object_get(j, "checks"), i, v)
    {
        relhost_check c = {.struct_size = sizeof c};
        json_t *a = json_object_get(v, "actual"), *x;
        ev_check *k2;
        c.key = jstr(v, "key");
        c.op = jstr(v, "op");
        c.note = jstr(v, "note");
        c.expected = json_number_value(json_object_get(v, "expected"));
        c.expected_hi = json_number_value(json_object_get(v, "expected_hi"));
        c.has_actual = json_is_number(a);
        c.actual = json_number_value(a);
        c.passed = json_is_true(json_object_get(v, "passed"));
        k2 = evidence_check(ev, &c);
        k2->has_expected = json_is_number(json_object_get(v, "expected"));
        k2->stat = dup_or_null(jstr(v, "stat"));
        k2->direction = dup_or_null(jstr(v, "direction"));
        k2->rel = json_number_value(json_object_get(v, "rel"));
        k2->abs = json_number_value(json_object_get(v, "abs"));
        if ((k2->has_baseline = json_is_number(x = json_object_get(v, "baseline"))))
            k2->baseline = json_number_value(x);
        if ((k2->has_bound = json_is_number(x = json_object_get(v, "bound"))))
            k2->bound = json_number_value(x);
    }
    json_object_foreach((json_t *)json_object_get(j, "labels"), k, v)
        if (json_is_string(v))
            evidence_label(ev, k, json_string_value(v));
    json_array_foreach(json_object_get(j, "artifacts"), i, v)
        if (jstr(v, "uri"))
            evidence_artifact(ev, jstr(v, "kind"), jstr(v, "uri"), jstr(v, "sha256"));
    json_array_foreach(json_object_get(j, "notes"), i, v)
        if (json_is_string(v))
            evidence_note(ev, json_string_value(v));
}
