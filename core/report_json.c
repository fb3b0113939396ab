/* SPDX-License-Identifier: MIT */
/*
 * report_json.c - the report model and the JSON report.
 *
 * The model (report_model) is the JSON report itself: one normalised, ordered, fully typed view
 * of a release state that the JUnit and Markdown renderers walk too, so the three reports can
 * never disagree about order, outcome or decision. The state is read defensively: it may come
 * from an older relhost or a hand edit, and a wrong type must give null, never a crash or a
 * document that breaks its schema.
 */
#include "report_files.h"

#include "error.h"
#include "log.h"
#include "outcome.h"
#include "secrets.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- shared text helpers ----------------------------------------------------------------- */

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

void report_text_clean(strbuf *out, const char *s, size_t n)
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

void report_num_format(double v, char *buf, size_t cap)
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
    /* The fewest significant digits that read back as the same double. */
    for (p = 1; p < 17; p++) {
        snprintf(e, sizeof e, "%.*e", p - 1, v);
        if (strtod(e, NULL) == v)
            break;
    }
    snprintf(e, sizeof e, "%.*e", p - 1, v);
    x = atoi(strchr(e, 'e') + 1);
    if (x >= -5 && x < 15)
        snprintf(buf, cap, "%.*f", p - 1 - x > 0 ? p - 1 - x : 0, v);
    else
        snprintf(buf, cap, "%s", e);
}

void report_check_expected(json_t *check, strbuf *out)
{
    const char *op = json_string_value(json_object_get(check, "op"));
    const char *dir = json_string_value(json_object_get(check, "direction"));
    const char *stat = json_string_value(json_object_get(check, "stat"));
    json_t *lo = json_object_get(check, "expected"), *hi = json_object_get(check, "expected_hi");
    json_t *rel = json_object_get(check, "rel"), *abs_ = json_object_get(check, "abs");
    char a[40] = "?", b[40] = "?";
    int higher = dir && strcmp(dir, "higher") == 0;
    if (json_is_number(lo))
        report_num_format(json_number_value(lo), a, sizeof a);
    if (json_is_number(hi))
        report_num_format(json_number_value(hi), b, sizeof b);
    /* A baseline rule alone has no threshold (expected null): only the rule is shown. */
    if (!dir || json_is_number(lo)) {
        if (op && strcmp(op, "range") == 0)
            sb_printf(out, "in [%s, %s]", a, b);
        else
            sb_printf(out, "%s %s", op ? op : "?", a);
    }
    if (dir) {
        /* The rule as written, never the bound it gave: a JUnit case keeps its name across
         * releases while the baseline moves. */
        double r = json_is_number(rel) ? json_number_value(rel) : 0;
        double x = json_is_number(abs_) ? json_number_value(abs_) : 0;
        report_num_format(r * 100, a, sizeof a);
        report_num_format(x, b, sizeof b);
        sb_printf(out, "%s%s baseline %s ", json_is_number(lo) ? " and " : "", higher ? ">=" : "<=",
                  higher ? "-" : "+");
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

int report_emit(FILE *out, const strbuf *b, char **err)
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

static int fail(char **err, int code, const char *what)
{
    error_set(code, "%s", what);
    if (err)
        *err = xstrdup(error_last());
    return code;
}

/* ---- the model --------------------------------------------------------------------------- */

/* A string as a new JSON string (redacted), or null when absent or not a string. */
static json_t *m_strv(json_t *v)
{
    json_t *r;
    strbuf b;
    if (!json_is_string(v))
        return json_null();
    sb_init(&b);
    secrets_redact(&b, json_string_value(v), json_string_length(v));
    r = json_stringn(b.s, b.len);
    sb_free(&b);
    return r ? r : json_null();
}

static json_t *m_str(json_t *o, const char *key) { return m_strv(json_object_get(o, key)); }

static json_t *m_real(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_number(v) && isfinite(json_number_value(v)) ? json_real(json_number_value(v))
                                                                : json_null();
}

/* An integer member; an integral real (a hand-edited 3.0) counts, anything else is null. */
static json_t *m_int(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    double d;
    if (json_is_integer(v))
        return json_integer(json_integer_value(v));
    if (!json_is_real(v))
        return json_null();
    d = json_real_value(v);
    return d == floor(d) && fabs(d) < 9e15 ? json_integer((json_int_t)d) : json_null();
}

static json_t *m_bool(json_t *o, const char *key)
{
    return json_boolean(json_is_true(json_object_get(o, key)));
}

/* Outcomes as the one table names them; an unknown word counts as ERROR (DESIGN: an unknown
 * value fails closed), a missing one is null (not decided yet). */
static json_t *m_outcome(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    relhost_outcome oc;
    if (!json_is_string(v))
        return json_null();
    oc = outcome_parse(json_string_value(v));
    return json_string(outcome_name(oc == RELHOST_NONE ? RELHOST_ERROR : oc));
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
    json_object_foreach(o, key, v)
        k[(*n)++] = key;
    qsort(k, *n, sizeof *k, cmp_str);
    return k;
}

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* A repeated validation's metric: {n, values, min, median, max, mean} of its runs' values (null
 * where a run had none; the statistics are of the finite ones, null when there are none). */
static json_t *model_spread(json_t *runs)
{
    json_t *o, *vals, *v;
    double *d, sum = 0;
    size_t i, n = 0;
    if (!json_is_array(runs) || json_array_size(runs) == 0)
        return json_null();
    o = json_object();
    vals = json_array();
    d = xcalloc(json_array_size(runs), sizeof *d);
    json_array_foreach(runs, i, v)
    {
        if (json_is_number(v) && isfinite(json_number_value(v))) {
            d[n++] = json_number_value(v);
            sum += json_number_value(v);
            json_array_append_new(vals, json_real(json_number_value(v)));
        } else {
            json_array_append_new(vals, json_null());
        }
    }
    qsort(d, n, sizeof *d, cmp_dbl);
    json_object_set_new(o, "n", json_integer((json_int_t)json_array_size(runs)));
    json_object_set_new(o, "values", vals);
    json_object_set_new(o, "min", n ? json_real(d[0]) : json_null());
    json_object_set_new(o, "median", n ? json_real(n % 2 ? d[n / 2] : (d[n / 2 - 1] + d[n / 2]) / 2)
                                       : json_null());
    json_object_set_new(o, "max", n ? json_real(d[n - 1]) : json_null());
    json_object_set_new(o, "mean", n ? json_real(sum / (double)n) : json_null());
    free(d);
    return o;
}

static json_t *model_evidence(json_t *ev)
{
    json_t *o = json_object(), *metrics = json_array(), *checks = json_array();
    json_t *labels = json_object(), *arts = json_array(), *notes = json_array(), *v;
    json_t *src = json_object_get(ev, "metrics");
    const char **keys;
    size_t n, i;

    keys = sorted_keys(json_is_object(src) ? src : NULL, &n);
    for (i = 0; i < n; i++) {
        json_t *m = json_object_get(src, keys[i]), *mj = json_object();
        json_t *samples = m_int(m, "samples");
        json_object_set_new(mj, "key", json_string(keys[i]));
        json_object_set_new(mj, "value", m_real(m, "value"));
        json_object_set_new(mj, "source", m_str(m, "source"));
        json_object_set_new(mj, "pattern", m_str(m, "pattern"));
        json_object_set_new(mj, "reducer", m_str(m, "reducer"));
        if (!json_is_integer(samples) || json_integer_value(samples) < 0) {
            json_decref(samples);
            samples = json_integer(0);
        }
        json_object_set_new(mj, "samples", samples);
        json_object_set_new(mj, "repeats", model_spread(json_object_get(m, "repeats")));
        json_array_append_new(metrics, mj);
    }
    free(keys);
    /* Checks keep the state's order: the order of the plan's acceptance list. */
    json_array_foreach(json_object_get(ev, "checks"), i, v)
    {
        json_t *cj = json_object();
        if (!json_is_object(v)) {
            json_decref(cj);
            continue;
        }
        json_object_set_new(cj, "key", m_str(v, "key"));
        json_object_set_new(cj, "op", m_str(v, "op"));
        json_object_set_new(cj, "expected", m_real(v, "expected"));
        json_object_set_new(cj, "expected_hi", m_real(v, "expected_hi"));
        json_object_set_new(cj, "actual", m_real(v, "actual"));
        json_object_set_new(cj, "stat", m_str(v, "stat"));
        json_object_set_new(cj, "direction", m_str(v, "direction"));
        json_object_set_new(cj, "rel", m_real(v, "rel"));
        json_object_set_new(cj, "abs", m_real(v, "abs"));
        json_object_set_new(cj, "baseline", m_real(v, "baseline"));
        json_object_set_new(cj, "bound", m_real(v, "bound"));
        json_object_set_new(cj, "passed", m_bool(v, "passed"));
        json_object_set_new(cj, "note", m_str(v, "note"));
        json_array_append_new(checks, cj);
    }
    src = json_object_get(ev, "labels");
    keys = sorted_keys(json_is_object(src) ? src : NULL, &n);
    for (i = 0; i < n; i++) {
        json_t *l = m_str(src, keys[i]);
        if (json_is_string(l))
            json_object_set_new(labels, keys[i], l);
        else
            json_decref(l);
    }
    free(keys);
    json_array_foreach(json_object_get(ev, "artifacts"), i, v)
    {
        json_t *aj;
        if (!json_is_string(json_object_get(v, "uri")))
            continue;
        aj = json_object();
        json_object_set_new(aj, "kind", m_str(v, "kind"));
        json_object_set_new(aj, "uri", m_str(v, "uri"));
        json_object_set_new(aj, "sha256", m_str(v, "sha256"));
        json_array_append_new(arts, aj);
    }
    json_array_foreach(json_object_get(ev, "notes"), i, v)
    {
        if (json_is_string(v))
            json_array_append_new(notes, m_strv(v));
    }
    json_object_set_new(o, "metrics", metrics);
    json_object_set_new(o, "checks", checks);
    json_object_set_new(o, "labels", labels);
    json_object_set_new(o, "artifacts", arts);
    json_object_set_new(o, "notes", notes);
    return o;
}

typedef struct step_ref {
    const char *name;
    int has_pos;
    json_int_t pos;      /* the step's index in the plan, when the state records it */
    const char *started; /* NULL: never started */
} step_ref;

/* A total order, so that qsort gives the same answer for any input order: recorded plan
 * positions first, then start times, then names. */
static int cmp_step(const void *a, const void *b)
{
    const step_ref *x = a, *y = b;
    int c;
    if (x->has_pos != y->has_pos)
        return x->has_pos ? -1 : 1;
    if (x->has_pos && x->pos != y->pos)
        return x->pos < y->pos ? -1 : 1;
    if (!x->started != !y->started)
        return x->started ? -1 : 1;
    if (x->started && (c = strcmp(x->started, y->started)) != 0)
        return c;
    return strcmp(x->name, y->name);
}

typedef struct job_ref {
    const char *id, *step, *validation;
    size_t rank; /* position of its step; nsteps when the state has no record of the step */
    char *step_own, *validation_own;
} job_ref;

static int cmp_job(const void *a, const void *b)
{
    const job_ref *x = a, *y = b;
    int c;
    if (x->rank != y->rank)
        return x->rank < y->rank ? -1 : 1;
    if ((c = strcmp(x->step, y->step)) != 0)
        return c;
    if ((c = strcmp(x->validation, y->validation)) != 0)
        return c;
    return strcmp(x->id, y->id);
}

static json_t *model_step(const char *name, json_t *s)
{
    json_t *o = json_object();
    json_object_set_new(o, "name", json_string(name));
    json_object_set_new(o, "position", m_int(s, "position"));
    json_object_set_new(o, "plugin", m_str(s, "plugin"));
    json_object_set_new(o, "required", m_bool(s, "required"));
    json_object_set_new(o, "publishes", m_bool(s, "publishes"));
    json_object_set_new(o, "outcome", m_outcome(s, "outcome"));
    json_object_set_new(o, "reason", m_str(s, "reason"));
    json_object_set_new(o, "retryable", m_bool(s, "retryable"));
    json_object_set_new(o, "message", m_str(s, "message"));
    json_object_set_new(o, "started_at", m_str(s, "started_at"));
    json_object_set_new(o, "ended_at", m_str(s, "ended_at"));
    json_object_set_new(o, "duration_s", m_real(s, "duration_s"));
    json_object_set_new(o, "evidence", model_evidence(json_object_get(s, "evidence")));
    return o;
}

static json_t *model_job(const job_ref *r, json_t *j)
{
    json_t *o = json_object(), *argv = json_array(), *v;
    size_t i;
    json_object_set_new(o, "id", json_string(r->id));
    json_object_set_new(o, "step", json_string(r->step));
    json_object_set_new(o, "validation", json_string(r->validation));
    json_object_set_new(o, "runner", m_str(j, "runner"));
    json_object_set_new(o, "lifecycle", m_str(j, "lifecycle"));
    json_object_set_new(o, "attempt", m_int(j, "attempt"));
    json_object_set_new(o, "key", m_str(j, "key"));
    json_object_set_new(o, "external_id", m_str(j, "external_id"));
    json_object_set_new(o, "outcome", m_outcome(j, "outcome"));
    json_object_set_new(o, "reason", m_str(j, "reason"));
    json_object_set_new(o, "retryable", m_bool(j, "retryable"));
    json_object_set_new(o, "exit_code", m_int(j, "exit_code"));
    json_object_set_new(o, "termination_reason", m_str(j, "termination_reason"));
    json_object_set_new(o, "restarts", m_int(j, "restarts"));
    json_object_set_new(o, "started_at", m_str(j, "started_at"));
    json_object_set_new(o, "ended_at", m_str(j, "ended_at"));
    json_object_set_new(o, "duration_s", m_real(j, "duration_s"));
    json_object_set_new(o, "log_path", m_str(j, "log_path"));
    json_array_foreach(json_object_get(j, "argv"), i, v)
        if (json_is_string(v))
            json_array_append_new(argv, m_strv(v));
    json_object_set_new(o, "argv", argv);
    json_object_set_new(o, "spec_hash", m_str(j, "spec_hash"));
    json_object_set_new(o, "accept_hash", m_str(j, "accept_hash"));
    json_object_set_new(o, "repeats", m_int(j, "repeats"));
    json_object_set_new(o, "repeat_of", m_str(j, "repeat_of"));
    json_object_set_new(o, "repeat", m_int(j, "repeat"));
    json_object_set_new(o, "evidence", model_evidence(json_object_get(j, "evidence")));
    return o;
}

static const char *const count_keys[] = {"passed",  "failed", "error", "inconclusive",
                                         "skipped", "waived", "none"};

static json_t *counts_of(json_t *items)
{
    json_int_t c[7] = {0};
    json_t *o = json_object(), *v;
    size_t i;
    json_int_t total = 0;
    json_array_foreach(items, i, v)
    {
        const char *oc = json_string_value(json_object_get(v, "outcome"));
        relhost_outcome x = oc ? outcome_parse(oc) : RELHOST_NONE;
        /* a run of a repeated validation counts once, through its aggregate */
        if (json_is_string(json_object_get(v, "repeat_of")))
            continue;
        c[x == RELHOST_NONE ? 6 : (int)x - 1]++;
        total++;
    }
    json_object_set_new(o, "total", json_integer(total));
    for (i = 0; i < 7; i++)
        json_object_set_new(o, count_keys[i], json_integer(c[i]));
    return o;
}

const char *report_decision(json_t *root)
{
    json_t *code = json_object_get(root, "exit_code");
    int finished = json_is_true(json_object_get(root, "finished"));
    json_int_t c;
    if (!json_is_integer(code))
        return "in_progress";
    c = json_integer_value(code);
    if (finished) {
        switch (c) {
        case 0: return "passed";
        case 1: return "failed";
        case 4: return "frozen";
        default: return "undecided";
        }
    }
    if (c == 75)
        return "deferred";
    if (c == 130)
        return "interrupted";
    return "in_progress";
}

json_t *report_model(json_t *root)
{
    json_t *o, *rel, *cand, *st, *steps_src, *jobs_src, *steps, *jobs, *summary, *chk;
    step_ref *sr;
    job_ref *jr;
    size_t ns = 0, nj = 0, i;
    const char *key;
    json_t *v;
    json_int_t cpass = 0, cfail = 0;

    if (!json_is_object(root)) {
        error_set(RELHOST_EINVAL, "the release state is not a JSON object");
        return NULL;
    }
    steps_src = json_object_get(root, "steps");
    jobs_src = json_object_get(root, "jobs");
    if (!json_is_object(steps_src))
        steps_src = NULL;
    if (!json_is_object(jobs_src))
        jobs_src = NULL;

    o = json_object();
    json_object_set_new(o, "report_schema", json_integer(REPORT_SCHEMA));

    rel = json_object();
    json_object_set_new(rel, "version", m_str(root, "version"));
    json_object_set_new(rel, "plan_name", m_str(root, "plan_name"));
    json_object_set_new(rel, "plan", m_str(root, "plan"));
    json_object_set_new(rel, "plan_hash", m_str(root, "plan_hash"));
    cand = json_object_get(root, "candidate");
    if (json_is_object(cand)) {
        json_t *c = json_object();
        json_object_set_new(c, "commit", m_str(cand, "commit"));
        json_object_set_new(c, "repo", m_str(cand, "repo"));
        json_object_set_new(c, "ref", m_str(cand, "ref"));
        json_object_set_new(c, "checkout", m_str(cand, "checkout"));
        json_object_set_new(rel, "candidate", c);
    } else {
        json_object_set_new(rel, "candidate", json_null());
    }
    json_object_set_new(rel, "created_at", m_str(root, "created_at"));
    json_object_set_new(rel, "updated_at", m_str(root, "updated_at"));
    json_object_set_new(rel, "finished", m_bool(root, "finished"));
    json_object_set_new(rel, "exit_code", m_int(root, "exit_code"));
    json_object_set_new(rel, "decision", json_string(report_decision(root)));
    json_object_set_new(o, "release", rel);

    st = json_object();
    json_object_set_new(st, "schema", m_int(root, "schema"));
    json_object_set_new(st, "seq", m_int(root, "seq"));
    json_object_set_new(o, "state", st);

    /* Steps: by plan position when recorded, else started_at, then name (report_files.h). */
    sr = xcalloc(json_object_size(steps_src) + 1, sizeof *sr);
    json_object_foreach(steps_src, key, v)
    {
        if (!json_is_object(v))
            continue;
        sr[ns].name = key;
        sr[ns].has_pos = json_is_integer(json_object_get(v, "position"));
        sr[ns].pos = json_integer_value(json_object_get(v, "position"));
        sr[ns].started = json_string_value(json_object_get(v, "started_at"));
        ns++;
    }
    qsort(sr, ns, sizeof *sr, cmp_step);
    steps = json_array();
    for (i = 0; i < ns; i++)
        json_array_append_new(steps,
                              model_step(sr[i].name, json_object_get(steps_src, sr[i].name)));

    /* Jobs: by their step's position, then validation. */
    jr = xcalloc(json_object_size(jobs_src) + 1, sizeof *jr);
    json_object_foreach(jobs_src, key, v)
    {
        job_ref *r = &jr[nj];
        const char *s = json_string_value(json_object_get(v, "step"));
        const char *val = json_string_value(json_object_get(v, "validation"));
        const char *slash = strchr(key, '/');
        if (!json_is_object(v))
            continue;
        r->id = key;
        /* Older or partial records: the id "<step>/<validation>" still names both. */
        if (!s)
            s = r->step_own = slash ? xstrndup(key, (size_t)(slash - key)) : xstrdup("");
        if (!val)
            val = r->validation_own = xstrdup(slash ? slash + 1 : key);
        r->step = s;
        r->validation = val;
        r->rank = ns;
        for (size_t k = 0; k < ns; k++)
            if (strcmp(sr[k].name, s) == 0) {
                r->rank = k;
                break;
            }
        nj++;
    }
    qsort(jr, nj, sizeof *jr, cmp_job);
    jobs = json_array();
    for (i = 0; i < nj; i++) {
        json_array_append_new(jobs, model_job(&jr[i], json_object_get(jobs_src, jr[i].id)));
        free(jr[i].step_own);
        free(jr[i].validation_own);
    }
    free(jr);
    free(sr);

    summary = json_object();
    json_object_set_new(summary, "steps", counts_of(steps));
    json_object_set_new(summary, "jobs", counts_of(jobs));
    /* Checks of steps and jobs alike: what a dashboard counts as assertions. */
    for (int pass = 0; pass < 2; pass++)
        json_array_foreach(pass ? jobs : steps, i, v)
        {
            size_t k;
            json_t *c;
            json_array_foreach(json_object_get(json_object_get(v, "evidence"), "checks"), k, c)
            {
                if (json_is_true(json_object_get(c, "passed")))
                    cpass++;
                else
                    cfail++;
            }
        }
    chk = json_object();
    json_object_set_new(chk, "total", json_integer(cpass + cfail));
    json_object_set_new(chk, "passed", json_integer(cpass));
    json_object_set_new(chk, "failed", json_integer(cfail));
    json_object_set_new(summary, "checks", chk);
    json_object_set_new(o, "summary", summary);
    json_object_set_new(o, "steps", steps);
    json_object_set_new(o, "jobs", jobs);
    return o;
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
        return fail(err, RELHOST_EIO, "cannot serialise the JSON report");
    }
    sb_putc(&b, '\n');
    rc = report_emit(out, &b, err);
    sb_free(&b);
    json_decref(m);
    return rc;
}

/* ---- writing a report to a file ---------------------------------------------------------- */

report_format report_format_parse(const char *name)
{
    if (!name)
        return REPORT_NONE;
    if (strcmp(name, "junit") == 0 || strcmp(name, "xml") == 0)
        return REPORT_JUNIT;
    if (strcmp(name, "json") == 0)
        return REPORT_JSON;
    if (strcmp(name, "md") == 0 || strcmp(name, "markdown") == 0)
        return REPORT_MD;
    return REPORT_NONE;
}

static int write_all(int fd, const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, s, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -1;
        s += w;
        n -= (size_t)w;
    }
    return 0;
}

int report_write(report_format fmt, json_t *state_root, const char *repo, const char *path,
                 int flags, char **err)
{
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    int rc, fd;
    char *tmp = NULL;

    if (err)
        *err = NULL;
    if (!mem)
        return fail(err, RELHOST_EIO, "cannot render the report: out of memory");
    switch (fmt) {
    case REPORT_JUNIT: rc = report_junit(state_root, mem, err); break;
    case REPORT_JSON: rc = report_json(state_root, mem, err); break;
    case REPORT_MD: rc = report_md(state_root, repo, mem, err); break;
    default: rc = fail(err, RELHOST_EINVAL, "unknown report format; use junit, json or md");
    }
    if (fclose(mem) != 0 && rc == 0)
        rc = fail(err, RELHOST_EIO, "cannot render the report: out of memory");
    if (rc != 0) {
        free(text);
        return rc;
    }
    {
        /* The renderers mask every string before they escape it; the whole document is masked
         * once more, so a renderer's slip (a raw link target, a value cut before it was
         * masked) is caught here, before a byte leaves. */
        strbuf red;
        sb_init(&red);
        secrets_redact(&red, text ? text : "", len);
        free(text);
        len = red.len;
        text = sb_take(&red);
    }
    if (!path || strcmp(path, "-") == 0) {
        rc = fwrite(text, 1, len, stdout) == len && fflush(stdout) == 0
                 ? 0
                 : fail(err, RELHOST_EIO, "cannot write the report to stdout");
        free(text);
        return rc;
    }
    if (flags & REPORT_APPEND) {
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    } else {
        tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    }
    rc = 0;
    if (fd < 0) {
        rc = -errno;
    } else {
        int e = write_all(fd, text, len) != 0 ? errno : 0;
        if (close(fd) != 0 && e == 0)
            e = errno;
        rc = -e;
    }
    if (rc != 0) {
        rc = error_set(RELHOST_EIO, "cannot write the report to %s: %s; check that its folder "
                       "exists and is writable", path, strerror(-rc));
    } else if (tmp && rename(tmp, path) != 0) {
        rc = error_set(RELHOST_EIO, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
    }
    if (rc != 0 && tmp)
        unlink(tmp);
    if (rc != 0 && err)
        *err = xstrdup(error_last());
    free(tmp);
    free(text);
    return rc;
}
