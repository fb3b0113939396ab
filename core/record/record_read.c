/* SPDX-License-Identifier: MIT */
/*
 * record_read.c - the state root -> typed records (record.h). The only code that reads the
 * release's keys for the views; defensive, because the state may be old or hand-edited.
 */
#include "record/record.h"
#include "record/record_job.h"
#include "record/record_json.h"
#include "record/state.h"
#include "record/verdict.h"

#include "base/error.h"
#include "base/outcome.h"
#include "base/util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int r_bool(json_t *o, const char *key) { return json_is_true(json_object_get(o, key)); }

static relhost_outcome r_outcome(json_t *o, char **raw)
{
    json_t *v = json_object_get(o, "outcome");
    relhost_outcome oc;
    *raw = NULL;
    if (!json_is_string(v))
        return RELHOST_NONE;
    *raw = xstrdup(json_string_value(v));
    oc = outcome_parse(json_string_value(v));
    return oc == RELHOST_NONE ? RELHOST_ERROR : oc;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The keys of an object, sorted: object order in a state file is an accident of its writer. */
static const char **sorted_keys(json_t *o, size_t *n)
{
    const char **k = xcalloc(json_object_size(o) + 1, sizeof *k);
    const char *key;
    json_t *v;
    *n = 0;
    json_object_foreach(o, key, v) k[(*n)++] = key;
    qsort(k, *n, sizeof *k, cmp_str);
    return k;
}

static void read_metric(metric_record *m, const char *key, json_t *src)
{
    json_t *runs = json_object_get(src, "repeats"), *v;
    record_int samples = rj_int(src, "samples");
    size_t i;
    m->key = xstrdup(key);
    m->value = rj_real(src, "value");
    m->source = rj_str(src, "source");
    m->pattern = rj_str(src, "pattern");
    m->reducer = rj_str(src, "reducer");
    m->samples = samples.set && samples.v >= 0 ? samples.v : 0;
    if (json_is_array(runs) && json_array_size(runs) > 0) {
        m->has_repeats = 1;
        m->nrepeats = json_array_size(runs);
        m->repeats = xcalloc(m->nrepeats, sizeof *m->repeats);
        json_array_foreach(runs, i, v) m->repeats[i] = rj_realv(v);
    }
}

static void read_check(check_record *c, json_t *v)
{
    c->key = rj_str(v, "key");
    c->op = rj_str(v, "op");
    c->expected = rj_real(v, "expected");
    c->expected_hi = rj_real(v, "expected_hi");
    c->actual = rj_real(v, "actual");
    c->stat = rj_str(v, "stat");
    c->direction = rj_str(v, "direction");
    c->rel = rj_real(v, "rel");
    c->abs = rj_real(v, "abs");
    c->baseline = rj_real(v, "baseline");
    c->bound = rj_real(v, "bound");
    c->passed = r_bool(v, "passed");
    c->passed_known = json_is_boolean(json_object_get(v, "passed"));
    c->note = rj_str(v, "note");
    c->present = (json_object_get(v, "baseline") ? RECORD_HAS_BASELINE : 0) |
                 (json_object_get(v, "bound") ? RECORD_HAS_BOUND : 0) |
                 (json_object_get(v, "stat") ? RECORD_HAS_STAT : 0);
}

static size_t key_index(json_t *o, const char *key)
{
    const char *k;
    json_t *v;
    size_t i = 0;
    json_object_foreach(o, k, v)
    {
        if (strcmp(k, key) == 0)
            return i;
        i++;
    }
    return i;
}

static void read_evidence(evidence_record *e, json_t *ev)
{
    json_t *src = json_object_get(ev, "metrics"), *arr, *v;
    const char **keys;
    size_t n, i;

    keys = sorted_keys(json_is_object(src) ? src : NULL, &n);
    e->metrics = xcalloc(n + 1, sizeof *e->metrics);
    for (i = 0; i < n; i++) {
        e->metrics[e->nmetrics].order = key_index(src, keys[i]);
        read_metric(&e->metrics[e->nmetrics++], keys[i], json_object_get(src, keys[i]));
    }
    free(keys);
    /* Checks keep the state's order: the order of the plan's acceptance list. */
    arr = json_object_get(ev, "checks");
    e->checks = xcalloc(json_array_size(arr) + 1, sizeof *e->checks);
    json_array_foreach(arr, i, v) if (json_is_object(v)) read_check(&e->checks[e->nchecks++], v);
    src = json_object_get(ev, "labels");
    keys = sorted_keys(json_is_object(src) ? src : NULL, &n);
    e->labels = xcalloc(n + 1, sizeof *e->labels);
    for (i = 0; i < n; i++) {
        char *l = rj_str(src, keys[i]);
        if (!l)
            continue;
        e->labels[e->nlabels].key = xstrdup(keys[i]);
        e->labels[e->nlabels++].value = l;
    }
    free(keys);
    arr = json_object_get(ev, "artifacts");
    e->artifacts = xcalloc(json_array_size(arr) + 1, sizeof *e->artifacts);
    json_array_foreach(arr, i, v)
    {
        artifact_record *a = &e->artifacts[e->nartifacts];
        if (!json_is_string(json_object_get(v, "uri")))
            continue;
        a->kind = rj_str(v, "kind");
        a->uri = rj_str(v, "uri");
        a->sha256 = rj_str(v, "sha256");
        e->nartifacts++;
    }
    arr = json_object_get(ev, "notes");
    e->notes = xcalloc(json_array_size(arr) + 1, sizeof *e->notes);
    json_array_foreach(arr, i, v) if (json_is_string(v)) e->notes[e->nnotes++] =
        xstrndup(json_string_value(v), json_string_length(v));
}

static void read_waived_from(step_record *s, json_t *wf)
{
    char *raw = NULL;
    s->waived_from = RELHOST_NONE;
    if (!json_is_object(wf))
        return;
    s->waived_from = r_outcome(wf, &raw);
    free(raw);
    s->waived_from_reason = rj_str(wf, "reason");
}

static void read_records(step_record *s, json_t *recs)
{
    const char **keys;
    size_t n;
    keys = sorted_keys(json_is_object(recs) ? recs : NULL, &n);
    s->records = xcalloc(n + 1, sizeof *s->records);
    for (size_t i = 0; i < n; i++) {
        char *v = rj_str(recs, keys[i]);
        if (!v)
            continue;
        s->records[s->nrecords].key = xstrdup(keys[i]);
        s->records[s->nrecords++].value = v;
    }
    free(keys);
}

static void read_step(step_record *s, const char *name, json_t *v)
{
    s->name = xstrdup(name);
    s->position = rj_int(v, "position");
    s->plugin = rj_str(v, "plugin");
    s->required = r_bool(v, "required");
    s->publishes = r_bool(v, "publishes");
    s->outcome = r_outcome(v, &s->outcome_raw);
    s->reason = rj_str(v, "reason");
    s->retryable = r_bool(v, "retryable");
    s->message = rj_str(v, "message");
    s->started_at = rj_str(v, "started_at");
    s->ended_at = rj_str(v, "ended_at");
    s->duration_s = rj_real(v, "duration_s");
    s->defers = rj_int(v, "defers");
    read_waived_from(s, json_object_get(v, "waived_from"));
    s->in_flight = rj_str(v, "in_flight");
    s->plan_hash = rj_str(v, "plan_hash");
    read_records(s, json_object_get(v, "records"));
    read_evidence(&s->evidence, json_object_get(v, "evidence"));
}

static record_lifecycle parse_life(const char *s)
{
    static const char *const names[] = {"pending", "submitting", "running", "completed"};
    for (size_t i = 0; s && i < sizeof names / sizeof *names; i++)
        if (strcmp(s, names[i]) == 0)
            return (record_lifecycle)(i + 1);
    return RECORD_LIFE_UNKNOWN;
}

const char *record_lifecycle_name(record_lifecycle l)
{
    static const char *const names[] = {NULL, "pending", "submitting", "running", "completed"};
    return (size_t)l < sizeof names / sizeof *names ? names[l] : NULL;
}

void record_read_evidence(json_t *ev, evidence_record *out)
{
    memset(out, 0, sizeof *out);
    read_evidence(out, ev);
}

static void read_job(job_record *j, const char *id, json_t *v)
{
    const char *slash = strchr(id, '/');
    json_t *argv = json_object_get(v, "argv"), *a;
    size_t i;
    j->id = xstrdup(id);
    /* Older or partial records: the id "<step>/<validation>" still names both. */
    j->step = rj_str(v, "step");
    j->step_given = j->step != NULL;
    if (!j->step)
        j->step = slash ? xstrndup(id, (size_t)(slash - id)) : xstrdup("");
    j->validation = rj_str(v, "validation");
    j->validation_given = j->validation != NULL;
    if (!j->validation)
        j->validation = xstrdup(slash ? slash + 1 : id);
    j->runner = rj_str(v, "runner");
    j->lifecycle_raw = rj_str(v, "lifecycle");
    j->lifecycle = parse_life(j->lifecycle_raw);
    j->attempt = rj_int(v, "attempt");
    j->key = rj_str(v, "key");
    j->external_id = rj_str(v, "external_id");
    j->outcome = r_outcome(v, &j->outcome_raw);
    j->reason = rj_str(v, "reason");
    j->retryable = r_bool(v, "retryable");
    j->exit_code = rj_int(v, "exit_code");
    j->termination_reason = rj_str(v, "termination_reason");
    j->restarts = rj_int(v, "restarts");
    j->started_at = rj_str(v, "started_at");
    j->ended_at = rj_str(v, "ended_at");
    j->duration_s = rj_real(v, "duration_s");
    j->log_path = rj_str(v, "log_path");
    j->argv = xcalloc(json_array_size(argv) + 1, sizeof *j->argv);
    json_array_foreach(argv, i, a) if (json_is_string(a)) j->argv[j->nargv++] =
        xstrndup(json_string_value(a), json_string_length(a));
    j->spec_hash = rj_str(v, "spec_hash");
    j->accept_hash = rj_str(v, "accept_hash");
    j->repeats = rj_int(v, "repeats");
    j->repeat_of = rj_str(v, "repeat_of");
    j->repeat = rj_int(v, "repeat");
    read_evidence(&j->evidence, json_object_get(v, "evidence"));
}

/* A total order, so that qsort gives the same answer for any input order: recorded plan
 * positions first, then start times, then names. */
static int cmp_step(const void *a, const void *b)
{
    const step_record *x = a, *y = b;
    int xp = x->position.set && !x->position.from_real;
    int yp = y->position.set && !y->position.from_real;
    int c;
    if (xp != yp)
        return xp ? -1 : 1;
    if (xp && x->position.v != y->position.v)
        return x->position.v < y->position.v ? -1 : 1;
    if (!x->started_at != !y->started_at)
        return x->started_at ? -1 : 1;
    if (x->started_at && (c = strcmp(x->started_at, y->started_at)) != 0)
        return c;
    return strcmp(x->name, y->name);
}

static size_t job_rank(const job_record *j, const release_record *rec)
{
    for (size_t k = 0; k < rec->nsteps; k++)
        if (strcmp(rec->steps[k].name, j->step) == 0)
            return k;
    return rec->nsteps;
}

static const release_record *sort_rec; /* qsort has no payload; single-threaded core */

static int cmp_job(const void *a, const void *b)
{
    const job_record *x = a, *y = b;
    size_t rx = job_rank(x, sort_rec), ry = job_rank(y, sort_rec);
    int c;
    if (rx != ry)
        return rx < ry ? -1 : 1;
    if ((c = strcmp(x->step, y->step)) != 0)
        return c;
    if ((c = strcmp(x->validation, y->validation)) != 0)
        return c;
    return strcmp(x->id, y->id);
}

/* The first step of the release's requirement set whose record does not allow a pass: none, no
 * outcome, or one whose exit code is not 0 (as the run's own verdict reads them). A state that
 * says "finished, exit 0" beside it was edited by hand or forged, and is not read as passed. */
static char *unmet_required(json_t *root)
{
    json_t *req = json_object_get(json_object_get(root, "requirements"), "required_steps");
    json_t *steps = json_object_get(root, "steps"), *v;
    size_t i;
    json_array_foreach(req, i, v)
    {
        json_t *st = json_object_get(steps, json_string_value(v));
        const char *oc = json_string_value(json_object_get(st, "outcome"));
        if (!json_is_string(v))
            return xstrdup("(a requirement that is not a step name)");
        if (!oc || outcome_exit_code(outcome_parse(oc),
                                     json_is_true(json_object_get(st, "retryable"))) != EXIT_OK)
            return xstrdup(json_string_value(v));
    }
    return NULL;
}

static void read_release(release_record *r, json_t *root)
{
    json_t *cand = json_object_get(root, "candidate"), *v;
    size_t i;
    r->version = rj_str(root, "version");
    r->plan_name = rj_str(root, "plan_name");
    r->plan = rj_str(root, "plan");
    r->plan_hash = rj_str(root, "plan_hash");
    if (json_is_object(cand)) {
        r->has_candidate = 1;
        r->candidate.commit = rj_str(cand, "commit");
        r->candidate.repo = rj_str(cand, "repo");
        r->candidate.ref = rj_str(cand, "ref");
        r->candidate.checkout = rj_str(cand, "checkout");
    }
    r->created_at = rj_str(root, "created_at");
    r->updated_at = rj_str(root, "updated_at");
    r->finished = r_bool(root, "finished");
    r->published = r_bool(root, "published");
    r->quarantined = r_bool(root, "quarantined");
    r->exit_code = rj_int(root, "exit_code");
    r->unmet_required = unmet_required(root);
    r->schema = rj_int(root, "schema");
    r->seq = rj_int(root, "seq");
    v = json_object_get(root, "sealed_env");
    r->sealed_env = xcalloc(json_array_size(v) + 1, sizeof *r->sealed_env);
    for (i = 0; i < json_array_size(v); i++)
        if (json_is_string(json_array_get(v, i)))
            r->sealed_env[r->nsealed++] = xstrdup(json_string_value(json_array_get(v, i)));
}

static void read_waiver(waiver_record *x, json_t *w)
{
    x->step = rj_str(w, "step");
    x->validation = rj_str(w, "validation");
    x->who = rj_str(w, json_object_get(w, "who") ? "who" : "by");
    x->reason = rj_str(w, "reason");
    x->expires = rj_str(w, "expires");
    x->by = rj_str(w, "by");
    x->host = rj_str(w, "host");
    x->at = rj_str(w, "at");
}

static void read_waivers(release_record *r, json_t *arr)
{
    json_t *w;
    size_t i;
    r->waivers = xcalloc(json_array_size(arr) + 1, sizeof *r->waivers);
    json_array_foreach(arr, i, w)
    {
        if (!json_is_object(w))
            continue;
        read_waiver(&r->waivers[r->nwaivers++], w);
    }
}

void record_read_waiver(json_t *w, waiver_record *out)
{
    memset(out, 0, sizeof *out);
    if (json_is_object(w))
        read_waiver(out, w);
}

static void free_waiver(waiver_record *w)
{
    free(w->step), free(w->validation), free(w->who), free(w->reason), free(w->expires);
    free(w->by), free(w->host), free(w->at);
}

void record_waiver_free(waiver_record *w)
{
    if (w)
        free_waiver(w);
}

int record_read_head(json_t *root, release_record *out)
{
    memset(out, 0, sizeof *out);
    if (!json_is_object(root))
        return error_set(RELHOST_EINVAL, "the release state is not a JSON object");
    read_release(out, root);
    read_waivers(out, json_object_get(root, "waivers"));
    out->steps = xcalloc(1, sizeof *out->steps);
    out->jobs = xcalloc(1, sizeof *out->jobs);
    return 0;
}

/* A step as the verdict rule sees it: required (publishing) when its record, the release's
 * requirement set or both say so, so every view agrees with the recorded verdict. */
static void read_step_of(json_t *root, step_record *s, const char *name, json_t *v)
{
    read_step(s, name, v);
    s->required = verdict_step_required(root, name, s->required);
    s->publishes = verdict_step_publishes(root, name, s->publishes);
}

int record_read_step(json_t *root, const char *name, step_record *out)
{
    json_t *v = json_object_get(json_object_get(root, "steps"), name);
    memset(out, 0, sizeof *out);
    if (!json_is_object(v)) {
        out->name = xstrdup(name);
        out->waived_from = RELHOST_NONE;
        out->records = xcalloc(1, sizeof *out->records);
        read_evidence(&out->evidence, NULL);
        return 0;
    }
    read_step_of(root, out, name, v);
    return 1;
}

size_t record_read_step_jobs(json_t *root, const char *step, job_record **out)
{
    json_t *jobs = json_object_get(root, "jobs"), *v;
    const char *id;
    size_t n = 0;
    *out = xcalloc(json_object_size(json_is_object(jobs) ? jobs : NULL) + 1, sizeof **out);
    json_object_foreach(json_is_object(jobs) ? jobs : NULL, id, v)
    {
        json_t *rec = state_job_value(v), *js = json_object_get(rec, "step");
        if (json_is_string(js) && strcmp(json_string_value(js), step) == 0)
            read_job(&(*out)[n++], id, rec);
        json_decref(rec);
    }
    return n;
}

const char *record_step_delivery(json_t *root, const char *step, const char *key)
{
    return json_string_value(json_object_get(
        json_object_get(json_object_get(json_object_get(root, "steps"), step), "records"), key));
}

/* The release's head and its steps in report order: record_read() but the jobs. */
static int read_frame(json_t *root, release_record *out)
{
    json_t *steps, *v;
    const char *key;

    memset(out, 0, sizeof *out);
    if (!json_is_object(root))
        return error_set(RELHOST_EINVAL, "the release state is not a JSON object");
    read_release(out, root);
    read_waivers(out, json_object_get(root, "waivers"));
    steps = json_object_get(root, "steps");
    out->steps =
        xcalloc(json_object_size(json_is_object(steps) ? steps : NULL) + 1, sizeof *out->steps);
    if (json_is_object(steps))
        json_object_foreach(steps, key, v) if (json_is_object(v))
            read_step_of(root, &out->steps[out->nsteps++], key, v);
    qsort(out->steps, out->nsteps, sizeof *out->steps, cmp_step);
    return 0;
}

int record_read(json_t *root, release_record *out)
{
    json_t *jobs, *v;
    const char *key;

    if (read_frame(root, out) != 0)
        return RELHOST_EINVAL;
    jobs = json_object_get(root, "jobs");
    out->jobs =
        xcalloc(json_object_size(json_is_object(jobs) ? jobs : NULL) + 1, sizeof *out->jobs);
    if (json_is_object(jobs))
        json_object_foreach(jobs, key, v)
        {
            json_t *rec = state_job_value(v);
            if (rec)
                read_job(&out->jobs[out->njobs++], key, rec);
            json_decref(rec);
        }
    sort_rec = out;
    qsort(out->jobs, out->njobs, sizeof *out->jobs, cmp_job);
    sort_rec = NULL;
    return 0;
}

static void free_job(job_record *j);

/* cmp_job() over references whose rank is known */
static int cmp_ref(const void *a, const void *b)
{
    const record_job_ref *x = a, *y = b;
    int c;
    if (x->rank != y->rank)
        return x->rank < y->rank ? -1 : 1;
    if ((c = strcmp(x->step, y->step)) != 0)
        return c;
    if ((c = strcmp(x->validation, y->validation)) != 0)
        return c;
    return strcmp(x->id, y->id);
}

/* r's step, validation and rank from its record j (what it keeps is taken from j): the step's
 * name is the release's (out) when the step is one of its steps, the validation's in r->id when
 * that is "<step>/<validation>"; else r owns a copy. */
static void ref_order(record_job_ref *r, job_record *j, const release_record *out)
{
    size_t rank = job_rank(j, out), sl = strlen(j->step);
    r->rank = (uint32_t)rank;
    if (rank < out->nsteps) {
        r->step = out->steps[rank].name;
    } else {
        r->step = j->step, r->own_step = 1;
        j->step = NULL;
    }
    if (strncmp(r->id, r->step, sl) == 0 && r->id[sl] == '/' &&
        strcmp(r->id + sl + 1, j->validation) == 0) {
        r->validation = r->id + sl + 1;
    } else {
        r->validation = j->validation, r->own_validation = 1;
        j->validation = NULL;
    }
}

int record_read_lazy(json_t *root, release_record *out, record_jobs *jobs,
                     void (*each)(job_record *j, void *arg), void *arg)
{
    json_t *all, *v;
    const char *key;

    memset(jobs, 0, sizeof *jobs);
    if (read_frame(root, out) != 0)
        return RELHOST_EINVAL;
    out->jobs = xcalloc(1, sizeof *out->jobs);
    all = json_object_get(root, "jobs");
    jobs->refs =
        xcalloc(json_object_size(json_is_object(all) ? all : NULL) + 1, sizeof *jobs->refs);
    if (json_is_object(all))
        json_object_foreach(all, key, v)
        {
            json_t *rec = state_job_value(v);
            record_job_ref *r = &jobs->refs[jobs->n];
            job_record j = {0};
            if (!rec)
                continue;
            read_job(&j, key, rec);
            json_decref(rec);
            if (each)
                each(&j, arg);
            r->id = key;
            r->v = v;
            ref_order(r, &j, out);
            free_job(&j);
            jobs->n++;
        }
    qsort(jobs->refs, jobs->n, sizeof *jobs->refs, cmp_ref);
    return 0;
}

int record_jobs_read(const record_jobs *jobs, size_t i, job_record *out)
{
    json_t *rec = state_job_value(jobs->refs[i].v);
    memset(out, 0, sizeof *out);
    if (!rec) {
        json_t *none = json_object();
        read_job(out, jobs->refs[i].id, none);
        json_decref(none);
        return 0;
    }
    read_job(out, jobs->refs[i].id, rec);
    json_decref(rec);
    return 1;
}

void record_jobs_free(record_jobs *jobs)
{
    for (size_t i = 0; jobs && i < jobs->n; i++) {
        if (jobs->refs[i].own_step)
            free((char *)jobs->refs[i].step);
        if (jobs->refs[i].own_validation)
            free((char *)jobs->refs[i].validation);
    }
    if (jobs)
        free(jobs->refs);
    if (jobs)
        memset(jobs, 0, sizeof *jobs);
}

const step_record *record_step_find(const release_record *rec, const char *name)
{
    for (size_t i = 0; rec && name && i < rec->nsteps; i++)
        if (strcmp(rec->steps[i].name, name) == 0)
            return &rec->steps[i];
    return NULL;
}

const char *record_decision(const release_record *rec)
{
    long long c;
    if (!rec->exit_code.set || rec->exit_code.from_real)
        return "in_progress";
    c = rec->exit_code.v;
    if (rec->finished) {
        switch (c) {
        case 0: return rec->unmet_required ? "undecided" : "passed";
        case 1: return "failed";
        case 4: return "frozen";
        default: return "undecided";
        }
    }
    if (c == 75)
        return "deferred";
    if (c == 130 || c == 143) /* SIGINT, SIGTERM */
        return "interrupted";
    return "in_progress";
}

static void free_strs(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static void free_evidence(evidence_record *e)
{
    size_t i;
    for (i = 0; i < e->nmetrics; i++) {
        metric_record *m = &e->metrics[i];
        free(m->key), free(m->source), free(m->pattern), free(m->reducer), free(m->repeats);
    }
    for (i = 0; i < e->nchecks; i++) {
        check_record *c = &e->checks[i];
        free(c->key), free(c->op), free(c->stat), free(c->direction), free(c->note);
    }
    for (i = 0; i < e->nlabels; i++)
        free(e->labels[i].key), free(e->labels[i].value);
    for (i = 0; i < e->nartifacts; i++) {
        artifact_record *a = &e->artifacts[i];
        free(a->kind), free(a->uri), free(a->sha256);
    }
    free(e->metrics), free(e->checks), free(e->labels), free(e->artifacts);
    free_strs(e->notes, e->nnotes);
}

void record_evidence_free(evidence_record *ev)
{
    if (ev)
        free_evidence(ev);
}

static void free_step(step_record *s)
{
    free(s->name), free(s->plugin), free(s->reason), free(s->message);
    free(s->started_at), free(s->ended_at), free(s->outcome_raw);
    free(s->waived_from_reason), free(s->in_flight), free(s->plan_hash);
    for (size_t i = 0; i < s->nrecords; i++)
        free(s->records[i].key), free(s->records[i].value);
    free(s->records);
    free_evidence(&s->evidence);
}

void record_step_free(step_record *s)
{
    if (s) {
        free_step(s);
        memset(s, 0, sizeof *s);
    }
}

static void free_job(job_record *j)
{
    free(j->id), free(j->step), free(j->validation), free(j->runner), free(j->key);
    free(j->external_id), free(j->reason), free(j->termination_reason), free(j->lifecycle_raw);
    free(j->outcome_raw), free(j->repeat_of), free(j->started_at), free(j->ended_at);
    free(j->log_path), free(j->spec_hash), free(j->accept_hash);
    free_strs(j->argv, j->nargv);
    free_evidence(&j->evidence);
}

void record_read_job(json_t *job, const char *id, job_record *out)
{
    memset(out, 0, sizeof *out);
    read_job(out, id ? id : "", job);
}

int record_read_job_id(json_t *root, const char *id, job_record *out)
{
    json_t *v = state_job_value(json_object_get(json_object_get(root, "jobs"), id));
    memset(out, 0, sizeof *out);
    if (!v)
        return 0;
    read_job(out, id, v);
    json_decref(v);
    return 1;
}

void record_job_free(job_record *j)
{
    if (j)
        free_job(j);
}

void record_free(release_record *rec)
{
    size_t i;
    if (!rec)
        return;
    free(rec->version), free(rec->plan_name), free(rec->plan), free(rec->plan_hash);
    free(rec->created_at), free(rec->updated_at), free(rec->unmet_required);
    free(rec->candidate.commit), free(rec->candidate.repo), free(rec->candidate.ref);
    free(rec->candidate.checkout);
    for (i = 0; i < rec->nsteps; i++)
        free_step(&rec->steps[i]);
    for (i = 0; i < rec->njobs; i++)
        free_job(&rec->jobs[i]);
    free(rec->steps), free(rec->jobs);
    free_strs(rec->sealed_env, rec->nsealed);
    for (i = 0; i < rec->nwaivers; i++)
        free_waiver(&rec->waivers[i]);
    free(rec->waivers);
    memset(rec, 0, sizeof *rec);
}

/* Declared in record/record_job.h: status --follow lists steps as the state holds them. */
const char **record_step_names(json_t *root, size_t *n)
{
    json_t *steps = json_object_get(root, "steps"), *v;
    const char **names = xcalloc(json_object_size(steps) + 1, sizeof *names);
    const char *key;
    *n = 0;
    json_object_foreach(steps, key, v) names[(*n)++] = key;
    return names;
}
