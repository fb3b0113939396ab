/* SPDX-License-Identifier: MIT */
/*
 * record_evidence.c - the state's EVIDENCE object <-> the in-memory evidence (record_evidence.h).
 */
#include "record/record_evidence.h"
#include "record/record_json.h"

#include "base/util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static char *evdup(const char *s) { return s ? xstrdup(s) : NULL; }

static json_t *num_or_null(int has, double v)
{
    return has && isfinite(v) ? json_real(v) : json_null();
}

json_t *record_evidence_to_json(const evidence *ev)
{
    json_t *o = json_object(), *metrics = json_object(), *checks = json_array();
    json_t *labels = json_object(), *arts = json_array(), *notes = json_array();
    for (size_t i = 0; i < ev->nmetrics; i++) {
        const ev_metric *m = &ev->metrics[i];
        json_t *mj = json_object();
        json_object_set_new(mj, "value", num_or_null(m->finite, m->value));
        json_object_set_new(mj, "source", rj_str_or_null(m->source));
        json_object_set_new(mj, "pattern", rj_str_or_null(m->pattern));
        json_object_set_new(mj, "reducer", rj_str_or_null(m->reducer));
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
        json_object_set_new(cj, "note", rj_str_or_null(c->note));
        json_array_append_new(checks, cj);
    }
    for (size_t i = 0; i < ev->nlabels; i++)
        json_object_set_new(labels, ev->labels[i].key, json_string(ev->labels[i].value));
    for (size_t i = 0; i < ev->nartifacts; i++) {
        json_t *aj = json_object();
        json_object_set_new(aj, "kind", json_string(ev->artifacts[i].kind));
        json_object_set_new(aj, "uri", json_string(ev->artifacts[i].uri));
        json_object_set_new(aj, "sha256", rj_str_or_null(ev->artifacts[i].sha256));
        json_array_append_new(arts, aj);
    }
    for (size_t i = 0; i < ev->notes.n; i++)
        json_array_append_new(notes, json_string(ev->notes.v[i]));
    json_object_update_new(o,
                           json_pack("{s:o, s:o, s:o, s:o, s:o}", "metrics", metrics, "checks",
                                     checks, "labels", labels, "artifacts", arts, "notes", notes));
    return o;
}

void record_evidence_from_json(evidence *ev, const json_t *j)
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
        evidence_metric_reload(ev, k, json_is_number(val) ? json_number_value(val) : NAN,
                               rj_cstr(v, "source"), rj_cstr(v, "pattern"), rj_cstr(v, "reducer"),
                               samples > 0 ? (uint64_t)samples : 0);
        if (json_array_size(runs) > 0) {
            double *d = xcalloc(json_array_size(runs), sizeof *d);
            json_array_foreach(runs, i, r) d[i] = json_is_number(r) ? json_number_value(r) : NAN;
            evidence_metric_runs(ev, k, d, json_array_size(runs));
            free(d);
        }
    }
    json_array_foreach(json_object_get(j, "checks"), i, v)
    {
        relhost_check c = {.struct_size = sizeof c};
        json_t *a = json_object_get(v, "actual"), *x;
        ev_check *k2;
        c.key = rj_cstr(v, "key");
        c.op = rj_cstr(v, "op");
        c.note = rj_cstr(v, "note");
        c.expected = json_number_value(json_object_get(v, "expected"));
        c.expected_hi = json_number_value(json_object_get(v, "expected_hi"));
        c.has_actual = json_is_number(a);
        c.actual = json_number_value(a);
        c.passed = json_is_true(json_object_get(v, "passed"));
        k2 = evidence_check(ev, &c);
        k2->has_expected = json_is_number(json_object_get(v, "expected"));
        k2->stat = evdup(rj_cstr(v, "stat"));
        k2->direction = evdup(rj_cstr(v, "direction"));
        k2->rel = json_number_value(json_object_get(v, "rel"));
        k2->abs = json_number_value(json_object_get(v, "abs"));
        if ((k2->has_baseline = json_is_number(x = json_object_get(v, "baseline"))))
            k2->baseline = json_number_value(x);
        if ((k2->has_bound = json_is_number(x = json_object_get(v, "bound"))))
            k2->bound = json_number_value(x);
    }
    json_object_foreach((json_t *)json_object_get(j, "labels"), k, v) if (json_is_string(v))
        evidence_label(ev, k, json_string_value(v));
    json_array_foreach(json_object_get(j, "artifacts"), i, v) if (rj_cstr(v, "uri"))
        evidence_artifact(ev, rj_cstr(v, "kind"), rj_cstr(v, "uri"), rj_cstr(v, "sha256"));
    json_array_foreach(json_object_get(j, "notes"), i, v) if (json_is_string(v))
        evidence_note(ev, json_string_value(v));
}
