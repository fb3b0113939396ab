/* SPDX-License-Identifier: MIT */
/*
 * record_stats.c - what a typed release record adds up to (record.h): outcome counts and the
 * spread of repeated validations' metrics, computed once for every view.
 */
#include "record/record.h"

#include "base/util.h"

#include <stdlib.h>
#include <string.h>

static void count(record_counts *c, relhost_outcome x)
{
    c->n[x == RELHOST_NONE ? 7 : (int)x]++;
    c->total++;
}

static void count_checks(const evidence_record *e, record_summary *out)
{
    for (size_t k = 0; k < e->nchecks; k++) {
        if (e->checks[k].passed)
            out->checks_passed++;
        else
            out->checks_failed++;
    }
}

void record_summarize(const release_record *rec, record_summary *out)
{
    size_t i;
    memset(out, 0, sizeof *out);
    for (i = 0; i < rec->nsteps; i++) {
        count(&out->steps, rec->steps[i].outcome);
        count_checks(&rec->steps[i].evidence, out);
    }
    for (i = 0; i < rec->njobs; i++)
        record_summarize_job(&rec->jobs[i], out);
}

void record_summarize_job(const job_record *j, record_summary *sum)
{
    if (!j->repeat_of)
        count(&sum->jobs, j->outcome);
    count_checks(&j->evidence, sum);
}

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int record_metric_spread(const metric_record *m, record_spread *out)
{
    double *d, sum = 0;
    size_t i, n = 0;
    memset(out, 0, sizeof *out);
    if (!m->has_repeats)
        return 0;
    d = xcalloc(m->nrepeats, sizeof *d);
    for (i = 0; i < m->nrepeats; i++)
        if (m->repeats[i].set) {
            d[n++] = m->repeats[i].v;
            sum += m->repeats[i].v;
        }
    qsort(d, n, sizeof *d, cmp_dbl);
    out->n = m->nrepeats;
    out->nvalues = n;
    if (n) {
        out->min = d[0];
        out->median = n % 2 ? d[n / 2] : (d[n / 2 - 1] + d[n / 2]) / 2;
        out->max = d[n - 1];
        out->mean = sum / (double)n;
    }
    free(d);
    return 1;
}

long record_step_defers(const step_record *s)
{
    return s && s->defers.set && !s->defers.from_real && s->defers.v > 0 ? (long)s->defers.v : 0;
}

long record_defers_spent(const release_record *rec)
{
    long n = 0;
    for (size_t i = 0; i < rec->nsteps; i++)
        n += record_step_defers(&rec->steps[i]);
    return n;
}

static int value_in_evidence(const evidence_record *ev, const char *metric, double *out)
{
    size_t i;
    for (i = 0; ev && i < ev->nmetrics; i++)
        if (strcmp(ev->metrics[i].key, metric) == 0 && ev->metrics[i].value.set) {
            *out = ev->metrics[i].value.v;
            return 0;
        }
    for (i = 0; ev && i < ev->nchecks; i++) {
        const check_record *c = &ev->checks[i];
        if (c->key && strcmp(c->key, metric) == 0 && c->actual.set) {
            *out = c->actual.v;
            return 0;
        }
    }
    return -1;
}

static int cmp_job_id(const void *a, const void *b)
{
    return strcmp((*(const job_record *const *)a)->id, (*(const job_record *const *)b)->id);
}

int record_metric_value(const release_record *rec, const char *key, double *out)
{
    const char *sep = strstr(key, "::");
    char *validation = sep ? xstrndup(key, (size_t)(sep - key)) : NULL;
    const char *metric = sep ? sep + 2 : key;
    const job_record **jobs = xcalloc(rec->njobs + 1, sizeof *jobs);
    const step_record *st;
    size_t i;
    int rc = -1;
    /* Jobs in id order, so that two steps running one validation give a stable answer. */
    for (i = 0; i < rec->njobs; i++)
        jobs[i] = &rec->jobs[i];
    qsort(jobs, rec->njobs, sizeof *jobs, cmp_job_id);
    for (i = 0; i < rec->njobs && rc != 0; i++)
        if (!validation || strcmp(jobs[i]->validation, validation) == 0)
            rc = value_in_evidence(&jobs[i]->evidence, metric, out);
    /* A gate without jobs (a benchmark step) keeps its evidence on the step. */
    if (rc != 0 && validation && (st = record_step_find(rec, validation)) != NULL)
        rc = value_in_evidence(&st->evidence, metric, out);
    free(jobs);
    free(validation);
    return rc;
}
