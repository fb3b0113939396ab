/* SPDX-License-Identifier: MIT */
/*
 * report_json.c - the report model and the JSON report.
 *
 * The model (report_model) is the JSON report itself: one normalised, ordered, fully typed view
 * of a release that the JUnit and Markdown renderers walk too, so the three reports can never
 * disagree about order, outcome or decision. It is built from the typed release record
 * (record/record.h), which reads the state defensively: a wrong type there is null here.
 */
#include "view/report_files.h"

#include "base/error.h"
#include "base/outcome.h"
#include "base/util.h"
#include "record/record.h"
#include "view/text.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- the model --------------------------------------------------------------------------- */

/* A string of the record (masked already: text_redact_record) or null. */
static json_t *m_str(const char *s)
{
    json_t *r;
    if (!s)
        return json_null();
    r = json_string(s);
    return r ? r : json_null();
}

static json_t *m_real(record_real r) { return r.set ? json_real(r.v) : json_null(); }

static json_t *m_int(record_int i) { return i.set ? json_integer((json_int_t)i.v) : json_null(); }

static json_t *m_outcome(relhost_outcome oc)
{
    return oc == RELHOST_NONE ? json_null() : json_string(outcome_name(oc));
}

/* A repeated validation's metric: {n, values, min, median, max, mean} of its runs' values (null
 * where a run had none; the statistics are of the finite ones, null when there are none). */
static json_t *model_spread(const metric_record *m)
{
    json_t *o, *vals;
    record_spread sp;
    if (!record_metric_spread(m, &sp))
        return json_null();
    o = json_object();
    vals = json_array();
    for (size_t i = 0; i < m->nrepeats; i++)
        json_array_append_new(vals, m_real(m->repeats[i]));
    json_object_set_new(o, "n", json_integer((json_int_t)sp.n));
    json_object_set_new(o, "values", vals);
    json_object_set_new(o, "min", sp.nvalues ? json_real(sp.min) : json_null());
    json_object_set_new(o, "median", sp.nvalues ? json_real(sp.median) : json_null());
    json_object_set_new(o, "max", sp.nvalues ? json_real(sp.max) : json_null());
    json_object_set_new(o, "mean", sp.nvalues ? json_real(sp.mean) : json_null());
    return o;
}

static json_t *model_check(const check_record *c)
{
    json_t *cj = json_object();
    json_object_set_new(cj, "key", m_str(c->key));
    json_object_set_new(cj, "op", m_str(c->op));
    json_object_set_new(cj, "expected", m_real(c->expected));
    json_object_set_new(cj, "expected_hi", m_real(c->expected_hi));
    json_object_set_new(cj, "actual", m_real(c->actual));
    json_object_set_new(cj, "stat", m_str(c->stat));
    json_object_set_new(cj, "direction", m_str(c->direction));
    json_object_set_new(cj, "rel", m_real(c->rel));
    json_object_set_new(cj, "abs", m_real(c->abs));
    json_object_set_new(cj, "baseline", m_real(c->baseline));
    json_object_set_new(cj, "bound", m_real(c->bound));
    json_object_set_new(cj, "passed", json_boolean(c->passed));
    json_object_set_new(cj, "note", m_str(c->note));
    return cj;
}

static json_t *model_evidence(const evidence_record *e)
{
    json_t *o = json_object(), *metrics = json_array(), *checks = json_array();
    json_t *labels = json_object(), *arts = json_array(), *notes = json_array();
    size_t i;

    for (i = 0; i < e->nmetrics; i++) {
        const metric_record *m = &e->metrics[i];
        json_t *mj = json_object();
        json_object_set_new(mj, "key", json_string(m->key));
        json_object_set_new(mj, "value", m_real(m->value));
        json_object_set_new(mj, "source", m_str(m->source));
        json_object_set_new(mj, "pattern", m_str(m->pattern));
        json_object_set_new(mj, "reducer", m_str(m->reducer));
        json_object_set_new(mj, "samples", json_integer((json_int_t)m->samples));
        json_object_set_new(mj, "repeats", model_spread(m));
        json_array_append_new(metrics, mj);
    }
    for (i = 0; i < e->nchecks; i++)
        json_array_append_new(checks, model_check(&e->checks[i]));
    for (i = 0; i < e->nlabels; i++) {
        json_t *l = m_str(e->labels[i].value);
        if (json_is_string(l))
            json_object_set_new(labels, e->labels[i].key, l);
        else
            json_decref(l);
    }
    for (i = 0; i < e->nartifacts; i++) {
        json_t *aj = json_object();
        json_object_set_new(aj, "kind", m_str(e->artifacts[i].kind));
        json_object_set_new(aj, "uri", m_str(e->artifacts[i].uri));
        json_object_set_new(aj, "sha256", m_str(e->artifacts[i].sha256));
        json_array_append_new(arts, aj);
    }
    for (i = 0; i < e->nnotes; i++)
        json_array_append_new(notes, m_str(e->notes[i]));
    json_object_update_new(o,
                           json_pack("{s:o, s:o, s:o, s:o, s:o}", "metrics", metrics, "checks",
                                     checks, "labels", labels, "artifacts", arts, "notes", notes));
    return o;
}

/* brief: without the evidence (the status model's steps, which do not show it). */
static json_t *model_step(const step_record *s, int brief)
{
    json_t *o = json_object();
    json_object_set_new(o, "name", json_string(s->name));
    json_object_set_new(o, "position", m_int(s->position));
    json_object_set_new(o, "plugin", m_str(s->plugin));
    json_object_set_new(o, "required", json_boolean(s->required));
    json_object_set_new(o, "publishes", json_boolean(s->publishes));
    json_object_set_new(o, "outcome", m_outcome(s->outcome));
    json_object_set_new(o, "reason", m_str(s->reason));
    json_object_set_new(o, "retryable", json_boolean(s->retryable));
    json_object_set_new(o, "message", m_str(s->message));
    json_object_set_new(o, "started_at", m_str(s->started_at));
    json_object_set_new(o, "ended_at", m_str(s->ended_at));
    json_object_set_new(o, "duration_s", m_real(s->duration_s));
    if (!brief)
        json_object_set_new(o, "evidence", model_evidence(&s->evidence));
    return o;
}

/* brief: up to "log_path" (the status model's jobs: no argv, hashes, repeats, evidence). */
static json_t *model_job(const job_record *j, int brief)
{
    json_t *o = json_object(), *argv;
    json_object_set_new(o, "id", json_string(j->id));
    json_object_set_new(o, "step", json_string(j->step));
    json_object_set_new(o, "validation", json_string(j->validation));
    json_object_set_new(o, "runner", m_str(j->runner));
    json_object_set_new(o, "lifecycle", m_str(j->lifecycle_raw));
    json_object_set_new(o, "attempt", m_int(j->attempt));
    json_object_set_new(o, "key", m_str(j->key));
    json_object_set_new(o, "external_id", m_str(j->external_id));
    json_object_set_new(o, "outcome", m_outcome(j->outcome));
    json_object_set_new(o, "reason", m_str(j->reason));
    json_object_set_new(o, "retryable", json_boolean(j->retryable));
    json_object_set_new(o, "exit_code", m_int(j->exit_code));
    json_object_set_new(o, "termination_reason", m_str(j->termination_reason));
    json_object_set_new(o, "restarts", m_int(j->restarts));
    json_object_set_new(o, "started_at", m_str(j->started_at));
    json_object_set_new(o, "ended_at", m_str(j->ended_at));
    json_object_set_new(o, "duration_s", m_real(j->duration_s));
    json_object_set_new(o, "log_path", m_str(j->log_path));
    if (brief)
        return o;
    argv = json_array();
    for (size_t i = 0; i < j->nargv; i++)
        json_array_append_new(argv, m_str(j->argv[i]));
    json_object_set_new(o, "argv", argv);
    json_object_set_new(o, "spec_hash", m_str(j->spec_hash));
    json_object_set_new(o, "accept_hash", m_str(j->accept_hash));
    json_object_set_new(o, "repeats", m_int(j->repeats));
    json_object_set_new(o, "repeat_of", m_str(j->repeat_of));
    json_object_set_new(o, "repeat", m_int(j->repeat));
    json_object_set_new(o, "evidence", model_evidence(&j->evidence));
    return o;
}

static const char *const count_keys[] = {"passed",  "failed", "error", "inconclusive",
                                         "skipped", "waived", "none"};

static json_t *counts_json(const record_counts *c)
{
    json_t *o = json_object();
    json_object_set_new(o, "total", json_integer((json_int_t)c->total));
    for (size_t i = 0; i < 7; i++)
        json_object_set_new(o, count_keys[i], json_integer((json_int_t)c->n[i + 1]));
    return o;
}

static json_t *model_summary(const release_record *r)
{
    json_t *summary = json_object(), *chk = json_object();
    record_summary sum;
    record_summarize(r, &sum);
    json_object_set_new(summary, "steps", counts_json(&sum.steps));
    json_object_set_new(summary, "jobs", counts_json(&sum.jobs));
    json_object_set_new(chk, "total", json_integer(sum.checks_passed + sum.checks_failed));
    json_object_set_new(chk, "passed", json_integer(sum.checks_passed));
    json_object_set_new(chk, "failed", json_integer(sum.checks_failed));
    json_object_set_new(summary, "checks", chk);
    return summary;
}

static json_t *model_release(const release_record *r)
{
    json_t *rel = json_object();
    json_object_set_new(rel, "version", m_str(r->version));
    json_object_set_new(rel, "plan_name", m_str(r->plan_name));
    json_object_set_new(rel, "plan", m_str(r->plan));
    json_object_set_new(rel, "plan_hash", m_str(r->plan_hash));
    if (r->has_candidate) {
        json_t *c = json_object();
        json_object_set_new(c, "commit", m_str(r->candidate.commit));
        json_object_set_new(c, "repo", m_str(r->candidate.repo));
        json_object_set_new(c, "ref", m_str(r->candidate.ref));
        json_object_set_new(c, "checkout", m_str(r->candidate.checkout));
        json_object_set_new(rel, "candidate", c);
    } else {
        json_object_set_new(rel, "candidate", json_null());
    }
    json_object_set_new(rel, "created_at", m_str(r->created_at));
    json_object_set_new(rel, "updated_at", m_str(r->updated_at));
    json_object_set_new(rel, "finished", json_boolean(r->finished));
    json_object_set_new(rel, "exit_code", m_int(r->exit_code));
    json_object_set_new(rel, "decision", json_string(record_decision(r)));
    return rel;
}

static json_t *model_of(const release_record *r, int brief)
{
    json_t *o = json_object(), *st = json_object(), *steps = json_array(), *jobs = json_array();
    size_t i;
    json_object_set_new(o, "report_schema", json_integer(REPORT_SCHEMA));
    json_object_set_new(o, "release", model_release(r));
    json_object_set_new(st, "schema", m_int(r->schema));
    json_object_set_new(st, "seq", m_int(r->seq));
    json_object_set_new(o, "state", st);
    /* Steps and jobs come ordered from record_read() (report_files.h). */
    for (i = 0; i < r->nsteps; i++)
        json_array_append_new(steps, model_step(&r->steps[i], brief));
    for (i = 0; i < r->njobs; i++)
        json_array_append_new(jobs, model_job(&r->jobs[i], brief));
    json_object_set_new(o, "summary", model_summary(r));
    json_object_set_new(o, "steps", steps);
    json_object_set_new(o, "jobs", jobs);
    return o;
}

json_t *report_model_of(const release_record *r) { return model_of(r, 0); }

json_t *report_model_brief(const release_record *r) { return model_of(r, 1); }

json_t *report_model(json_t *root)
{
    release_record r;
    json_t *o;
    if (record_read(root, &r) != 0)
        return NULL;
    text_redact_record(&r);
    o = report_model_of(&r);
    record_free(&r);
    return o;
}

const char *report_decision(json_t *root)
{
    release_record r;
    const char *d;
    if (!json_is_object(root) || record_read(root, &r) != 0)
        return "in_progress";
    d = record_decision(&r);
    record_free(&r);
    return d;
}

static double num_or_nan(json_t *v) { return json_is_number(v) ? json_number_value(v) : NAN; }

static record_real real_of(json_t *v)
{
    record_real r = {json_is_number(v), num_or_nan(v), 0};
    return r;
}

void report_check_expected(json_t *check, strbuf *out)
{
    /* A check of the report model (not of the state): its members are typed already. */
    check_record c = {
        .op = (char *)json_string_value(json_object_get(check, "op")),
        .direction = (char *)json_string_value(json_object_get(check, "direction")),
        .stat = (char *)json_string_value(json_object_get(check, "stat")),
        .expected = real_of(json_object_get(check, "expected")),
        .expected_hi = real_of(json_object_get(check, "expected_hi")),
        .rel = real_of(json_object_get(check, "rel")),
        .abs = real_of(json_object_get(check, "abs")),
    };
    text_check_expected(&c, out);
}

int report_check_failure(json_t *check, strbuf *out)
{
    check_record c = {
        .key = (char *)json_string_value(json_object_get(check, "key")),
        .note = (char *)json_string_value(json_object_get(check, "note")),
        .op = (char *)json_string_value(json_object_get(check, "op")),
        .direction = (char *)json_string_value(json_object_get(check, "direction")),
        .stat = (char *)json_string_value(json_object_get(check, "stat")),
        .expected = real_of(json_object_get(check, "expected")),
        .expected_hi = real_of(json_object_get(check, "expected_hi")),
        .actual = real_of(json_object_get(check, "actual")),
        .rel = real_of(json_object_get(check, "rel")),
        .abs = real_of(json_object_get(check, "abs")),
        .baseline = real_of(json_object_get(check, "baseline")),
        .bound = real_of(json_object_get(check, "bound")),
    };
    return text_check_failure(&c, out);
}

static int dump_cb(const char *buf, size_t size, void *data)
{
    sb_add(data, buf, size);
    return 0;
}

int report_json(json_t *state_root, FILE *out, char **err)
{
    json_t *m = report_model(state_root);
    strbuf b;
    int rc;
    if (!m) {
        if (err)
            *err = xstrdup(error_last());
        return RELHOST_EINVAL;
    }
    sb_init(&b);
    /* Insertion order is the documented order; jansson keeps it (JSON_PRESERVE_ORDER is the
     * default since 2.8 and said explicitly for older ones). */
    if (json_dump_callback(m, dump_cb, &b, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0) {
        json_decref(m);
        sb_free(&b);
        error_set(RELHOST_EIO, "cannot serialise the JSON report");
        if (err)
            *err = xstrdup(error_last());
        return RELHOST_EIO;
    }
    sb_putc(&b, '\n');
    rc = text_emit(out, &b, err);
    sb_free(&b);
    json_decref(m);
    return rc;
}
