/* SPDX-License-Identifier: MIT */
/* record_codec.c - a release record as a compact text and back (record_codec.h). One walk of
 * the record serves both ways, so that what is written and what is read cannot drift apart. */
#include "record/record_codec.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Every member is encoded (record_codec.h): a record whose layout changed fails here until its
 * new member is walked below and SITE_INDEX_SCHEMA (core/view/site_index.h) is raised. */
#if defined(__x86_64__) && defined(__LP64__)
_Static_assert(sizeof(record_int) == 16 && sizeof(record_real) == 24, "record_codec.c");
_Static_assert(sizeof(metric_record) == 96 && sizeof(check_record) == 224, "record_codec.c");
_Static_assert(sizeof(label_record) == 16 && sizeof(artifact_record) == 24, "record_codec.c");
_Static_assert(sizeof(evidence_record) == 80 && sizeof(step_record) == 264, "record_codec.c");
_Static_assert(sizeof(job_record) == 352 && sizeof(waiver_record) == 64, "record_codec.c");
_Static_assert(sizeof(candidate_record) == 32 && sizeof(release_record) == 224, "record_codec.c");
#endif

typedef struct codec {
    strbuf *out;         /* encoding: where the text goes; NULL while decoding */
    const char *p, *end; /* decoding: the rest of the text */
    int bad;             /* decoding: the text is not a record's */
} codec;

/* ---- tokens -------------------------------------------------------------------------------- */

static void put_ll(strbuf *b, long long v)
{
    char t[24], *e = t + sizeof t, *q = e;
    unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
    do
        *--q = (char)('0' + u % 10);
    while ((u /= 10) != 0);
    if (v < 0)
        *--q = '-';
    sb_add(b, q, (size_t)(e - q));
}

/* The token's end (its space), or NULL (bad) when the text has none. */
static const char *tok_end(codec *c)
{
    const char *e = c->bad ? NULL : memchr(c->p, ' ', (size_t)(c->end - c->p));
    if (!e)
        c->bad = 1;
    return e;
}

static long long get_ll(codec *c, const char *e)
{
    const char *q = c->p;
    unsigned long long u = 0;
    int neg = q < e && *q == '-';
    q += neg;
    if (q == e || e - q > 19)
        c->bad = 1;
    for (; q < e && !c->bad; q++) {
        if (*q < '0' || *q > '9')
            c->bad = 1;
        u = u * 10 + (unsigned)(*q - '0');
    }
    if (u > (unsigned long long)INT64_MAX)
        c->bad = 1;
    return c->bad ? 0 : neg ? -(long long)u : (long long)u;
}

/* An integer in lo..hi. */
static void c_ll(codec *c, long long *v, long long lo, long long hi)
{
    const char *e;
    if (c->out) {
        put_ll(c->out, *v);
        sb_putc(c->out, ' ');
        return;
    }
    if ((e = tok_end(c)) == NULL)
        return;
    *v = get_ll(c, e);
    if (*v < lo || *v > hi)
        c->bad = 1;
    c->p = e + 1;
}

static void c_int(codec *c, int *v, int lo, int hi)
{
    long long x = *v;
    c_ll(c, &x, lo, hi);
    *v = (int)x;
}

static void c_flag(codec *c, int *v) { c_int(c, v, INT32_MIN, INT32_MAX); }

/* A count of items, each at least two bytes of the rest of the text. */
static void c_count(codec *c, size_t *n)
{
    long long x = (long long)*n;
    c_ll(c, &x, 0, c->out ? INT64_MAX : (c->end - c->p) / 2);
    *n = (size_t)x;
}

static void c_str(codec *c, char **s)
{
    const char *e;
    long long n;
    if (c->out) {
        if (!*s) {
            sb_add(c->out, "~ ", 2);
            return;
        }
        put_ll(c->out, (long long)strlen(*s));
        sb_putc(c->out, ':');
        sb_puts(c->out, *s);
        sb_putc(c->out, ' ');
        return;
    }
    if (c->bad || c->p >= c->end) {
        c->bad = 1;
        return;
    }
    if (*c->p == '~') {
        if (c->end - c->p < 2 || c->p[1] != ' ')
            c->bad = 1;
        c->p += 2;
        return;
    }
    e = memchr(c->p, ':', (size_t)(c->end - c->p));
    if (!e || (n = get_ll(c, e)) < 0 || c->bad || n >= c->end - e - 1 || e[1 + n] != ' ' ||
        memchr(e + 1, '\0', (size_t)n)) {
        c->bad = 1;
        return;
    }
    *s = xstrndup(e + 1, (size_t)n);
    c->p = e + 2 + n;
}

/* A string that is never NULL in a record record_read() gives. */
static void c_strz(codec *c, char **s)
{
    c_str(c, s);
    if (!c->out && !*s)
        c->bad = 1;
}

static int hexval(char h)
{
    return h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10 : -1;
}

/* Two digits 0/1, then the rest (e at its space): the flags into *a and *b. */
static void get_flags(codec *c, const char *e, int *a, int *b)
{
    if (e - c->p < 3 || (c->p[0] != '0' && c->p[0] != '1') || (c->p[1] != '0' && c->p[1] != '1')) {
        c->bad = 1;
        return;
    }
    *a = c->p[0] - '0';
    *b = c->p[1] - '0';
    c->p += 2;
}

static void c_real(codec *c, record_real *r)
{
    const char *e;
    uint64_t bits = 0;
    if (c->out) {
        char t[20];
        memcpy(&bits, &r->v, sizeof bits);
        if (!r->set && !r->is_int && !bits) {
            sb_add(c->out, "- ", 2);
            return;
        }
        t[0] = r->set ? '1' : '0';
        t[1] = r->is_int ? '1' : '0';
        for (int i = 0; i < 16; i++)
            t[2 + i] = "0123456789abcdef"[(bits >> (60 - 4 * i)) & 15];
        t[18] = ' ';
        sb_add(c->out, t, 19);
        return;
    }
    if ((e = tok_end(c)) == NULL)
        return;
    if (e - c->p == 1 && *c->p == '-') {
        c->p = e + 1;
        return;
    }
    get_flags(c, e, &r->set, &r->is_int);
    if (!c->bad && e - c->p != 16)
        c->bad = 1;
    for (int i = 0; i < 16 && !c->bad; i++) {
        int h = hexval(c->p[i]);
        if (h < 0)
            c->bad = 1;
        bits = bits << 4 | (uint64_t)(h & 15);
    }
    memcpy(&r->v, &bits, sizeof bits);
    c->p = e + 1;
}

static void c_rint(codec *c, record_int *r)
{
    const char *e;
    if (c->out) {
        if (!r->set && !r->from_real && !r->v) {
            sb_add(c->out, "- ", 2);
            return;
        }
        sb_putc(c->out, r->set ? '1' : '0');
        sb_putc(c->out, r->from_real ? '1' : '0');
        c_ll(c, &r->v, 0, 0);
        return;
    }
    if ((e = tok_end(c)) == NULL)
        return;
    if (e - c->p == 1 && *c->p == '-') {
        c->p = e + 1;
        return;
    }
    get_flags(c, e, &r->set, &r->from_real);
    if (!c->bad)
        c_ll(c, &r->v, INT64_MIN + 1, INT64_MAX);
}

static void c_outcome(codec *c, relhost_outcome *o)
{
    int v = (int)*o;
    c_int(c, &v, RELHOST_NONE, RELHOST_WAIVED);
    *o = (relhost_outcome)v;
}

/* The array *items of *n elements of size sz: its count, and room for it when decoding (one
 * more, as record_read() allocates, so that it is never NULL). */
static void c_array(codec *c, void **items, size_t *n, size_t sz)
{
    c_count(c, n);
    if (!c->out && !c->bad)
        *items = xcalloc(*n + 1, sz);
    else if (!c->out)
        *n = 0;
}

/* ---- the records --------------------------------------------------------------------------- */

static void c_metric(codec *c, metric_record *m)
{
    long long order = (long long)m->order;
    c_strz(c, &m->key);
    c_str(c, &m->source);
    c_str(c, &m->pattern);
    c_str(c, &m->reducer);
    c_real(c, &m->value);
    c_ll(c, &order, 0, INT64_MAX);
    m->order = (size_t)order;
    c_ll(c, &m->samples, INT64_MIN + 1, INT64_MAX);
    c_flag(c, &m->has_repeats);
    c_count(c, &m->nrepeats);
    if (!c->out && !c->bad && m->nrepeats)
        m->repeats = xcalloc(m->nrepeats, sizeof *m->repeats);
    else if (!c->out)
        m->nrepeats = 0;
    for (size_t i = 0; i < m->nrepeats && !c->bad; i++)
        c_real(c, &m->repeats[i]);
}

static void c_check(codec *c, check_record *k)
{
    long long present = k->present;
    c_str(c, &k->key);
    c_str(c, &k->op);
    c_str(c, &k->stat);
    c_str(c, &k->direction);
    c_str(c, &k->note);
    c_real(c, &k->expected);
    c_real(c, &k->expected_hi);
    c_real(c, &k->actual);
    c_real(c, &k->rel);
    c_real(c, &k->abs);
    c_real(c, &k->baseline);
    c_real(c, &k->bound);
    c_flag(c, &k->passed);
    c_flag(c, &k->passed_known);
    c_ll(c, &present, 0, UINT32_MAX);
    k->present = (unsigned)present;
}

static void c_labels(codec *c, label_record **l, size_t *n)
{
    c_array(c, (void **)l, n, sizeof **l);
    for (size_t i = 0; i < *n && !c->bad; i++) {
        c_strz(c, &(*l)[i].key);
        c_strz(c, &(*l)[i].value);
    }
}

static void c_strs(codec *c, char ***v, size_t *n)
{
    c_array(c, (void **)v, n, sizeof **v);
    for (size_t i = 0; i < *n && !c->bad; i++)
        c_strz(c, &(*v)[i]);
}

static void c_evidence(codec *c, evidence_record *e)
{
    size_t i;
    c_array(c, (void **)&e->metrics, &e->nmetrics, sizeof *e->metrics);
    for (i = 0; i < e->nmetrics && !c->bad; i++)
        c_metric(c, &e->metrics[i]);
    c_array(c, (void **)&e->checks, &e->nchecks, sizeof *e->checks);
    for (i = 0; i < e->nchecks && !c->bad; i++)
        c_check(c, &e->checks[i]);
    c_labels(c, &e->labels, &e->nlabels);
    c_array(c, (void **)&e->artifacts, &e->nartifacts, sizeof *e->artifacts);
    for (i = 0; i < e->nartifacts && !c->bad; i++) {
        c_str(c, &e->artifacts[i].kind);
        c_strz(c, &e->artifacts[i].uri);
        c_str(c, &e->artifacts[i].sha256);
    }
    c_strs(c, &e->notes, &e->nnotes);
}

static void c_step(codec *c, step_record *s)
{
    c_strz(c, &s->name);
    c_rint(c, &s->position);
    c_str(c, &s->plugin);
    c_str(c, &s->reason);
    c_str(c, &s->message);
    c_str(c, &s->started_at);
    c_str(c, &s->ended_at);
    c_outcome(c, &s->outcome);
    c_str(c, &s->outcome_raw);
    c_flag(c, &s->required);
    c_flag(c, &s->publishes);
    c_flag(c, &s->retryable);
    c_real(c, &s->duration_s);
    c_rint(c, &s->defers);
    c_outcome(c, &s->waived_from);
    c_str(c, &s->waived_from_reason);
    c_str(c, &s->in_flight);
    c_str(c, &s->plan_hash);
    c_labels(c, &s->records, &s->nrecords);
    c_evidence(c, &s->evidence);
}

static void c_job(codec *c, job_record *j)
{
    int life = (int)j->lifecycle;
    c_strz(c, &j->id);
    c_strz(c, &j->step);
    c_strz(c, &j->validation);
    c_flag(c, &j->step_given);
    c_flag(c, &j->validation_given);
    c_str(c, &j->runner);
    c_str(c, &j->key);
    c_str(c, &j->external_id);
    c_str(c, &j->reason);
    c_str(c, &j->termination_reason);
    c_str(c, &j->lifecycle_raw);
    c_int(c, &life, RECORD_LIFE_UNKNOWN, RECORD_LIFE_COMPLETED);
    j->lifecycle = (record_lifecycle)life;
    c_outcome(c, &j->outcome);
    c_str(c, &j->outcome_raw);
    c_flag(c, &j->retryable);
    c_rint(c, &j->attempt);
    c_rint(c, &j->exit_code);
    c_rint(c, &j->restarts);
    c_rint(c, &j->repeats);
    c_rint(c, &j->repeat);
    c_str(c, &j->repeat_of);
    c_str(c, &j->started_at);
    c_str(c, &j->ended_at);
    c_str(c, &j->log_path);
    c_str(c, &j->spec_hash);
    c_str(c, &j->accept_hash);
    c_real(c, &j->duration_s);
    c_strs(c, &j->argv, &j->nargv);
    c_evidence(c, &j->evidence);
}

static void c_waiver(codec *c, waiver_record *w)
{
    c_str(c, &w->step);
    c_str(c, &w->validation);
    c_str(c, &w->who);
    c_str(c, &w->reason);
    c_str(c, &w->expires);
    c_str(c, &w->by);
    c_str(c, &w->host);
    c_str(c, &w->at);
}

static void c_release(codec *c, release_record *r)
{
    size_t i;
    c_str(c, &r->version);
    c_str(c, &r->plan_name);
    c_str(c, &r->plan);
    c_str(c, &r->plan_hash);
    c_str(c, &r->created_at);
    c_str(c, &r->updated_at);
    c_flag(c, &r->has_candidate);
    c_str(c, &r->candidate.commit);
    c_str(c, &r->candidate.repo);
    c_str(c, &r->candidate.ref);
    c_str(c, &r->candidate.checkout);
    c_flag(c, &r->finished);
    c_flag(c, &r->published);
    c_flag(c, &r->quarantined);
    c_rint(c, &r->exit_code);
    c_rint(c, &r->schema);
    c_rint(c, &r->seq);
    c_str(c, &r->unmet_required);
    c_array(c, (void **)&r->steps, &r->nsteps, sizeof *r->steps);
    for (i = 0; i < r->nsteps && !c->bad; i++)
        c_step(c, &r->steps[i]);
    c_array(c, (void **)&r->jobs, &r->njobs, sizeof *r->jobs);
    for (i = 0; i < r->njobs && !c->bad; i++)
        c_job(c, &r->jobs[i]);
    c_array(c, (void **)&r->waivers, &r->nwaivers, sizeof *r->waivers);
    for (i = 0; i < r->nwaivers && !c->bad; i++)
        c_waiver(c, &r->waivers[i]);
    c_strs(c, &r->sealed_env, &r->nsealed);
}

void record_encode(const release_record *rec, strbuf *out)
{
    codec c = {out, NULL, NULL, 0};
    /* the walk only reads the record when encoding */
    c_release(&c, (release_record *)rec);
}

int record_decode(const char *s, size_t len, release_record *out)
{
    codec c = {NULL, s, s + len, 0};
    memset(out, 0, sizeof *out);
    c_release(&c, out);
    if (!c.bad && c.p == c.end)
        return 0;
    record_free(out);
    return -1;
}
