/* SPDX-License-Identifier: MIT */
#include "run/evidence.h"

#include "record/record_evidence.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define GROW(arr, n, cap)                                   \
    do {                                                    \
        if ((n) == (cap)) {                                 \
            (cap) = (cap) ? (cap)*2 : 8;                    \
            (arr) = xrealloc((arr), (cap) * sizeof *(arr)); \
        }                                                   \
    } while (0)

static char *dup_or_null(const char *s) { return s ? xstrdup(s) : NULL; }

static void metric_set(evidence *ev, const char *key, double value, const char *source,
                       const char *pattern, const char *reducer, uint64_t samples, int note);

void evidence_metric(evidence *ev, const char *key, double value, const char *source,
                     const char *pattern, const char *reducer, uint64_t samples)
{
    metric_set(ev, key, value, source, pattern, reducer, samples, 1);
}

void evidence_metric_reload(evidence *ev, const char *key, double value, const char *source,
                            const char *pattern, const char *reducer, uint64_t samples)
{
    metric_set(ev, key, value, source, pattern, reducer, samples, 0);
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

json_t *evidence_to_json(const evidence *ev) { return record_evidence_to_json(ev); }
