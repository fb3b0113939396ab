/* SPDX-License-Identifier: MIT */
/*
 * jobs_index.c - what a tick of the job layer walks instead of every job, so that its cost is
 * O(running + changed), not O(all jobs): the set of jobs submitting or running (polls, log reads,
 * deadlines), the start of the queue (the first job that may still wait to start), the log of
 * ends (what a wait counts), and a wait's own view of the jobs it waits for. jobs_set_phase() is
 * the one way a job's phase changes, and keeps them.
 */
#include "run/jobs_int.h"

#include "base/util.h"

#include <stdlib.h>

void jobs_set_phase(relhost_job *jb, enum phase ph)
{
    jobs *j = jb->owner;
    int was_running = jb->w && jb->w->run_pos != 0; /* an ended job has no work part */
    int running = ph == PH_RUNNING || ph == PH_SUBMITTING;
    jb->phase = ph;
    if (running && !was_running) {
        if (j->nrun == j->caprun) {
            j->caprun = j->caprun ? j->caprun * 2 : 16;
            j->run = xrealloc(j->run, j->caprun * sizeof *j->run);
        }
        j->run[j->nrun++] = jb;
        jb->w->run_pos = j->nrun;
    } else if (!running && was_running) {
        /* swap the last one into its place */
        relhost_job *last = j->run[--j->nrun];
        j->run[jb->w->run_pos - 1] = last;
        last->w->run_pos = jb->w->run_pos;
        jb->w->run_pos = 0;
    }
    if (ph == PH_QUEUED && jb->idx < j->qfrom)
        j->qfrom = jb->idx; /* back in the queue (a retry, a stop): the queue starts there */
    if (ph == PH_DONE) {
        if (j->nends == j->capends) {
            j->capends = j->capends ? j->capends * 2 : 64;
            j->ends = xrealloc(j->ends, j->capends * sizeof *j->ends);
        }
        j->ends[j->nends++] = jb;
    }
}

static int by_idx(const void *a, const void *b)
{
    const relhost_job *x = *(relhost_job *const *)a, *y = *(relhost_job *const *)b;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

relhost_job **jobs_running(const jobs *j, const struct runner_rt *r, size_t *n)
{
    relhost_job **v = xcalloc(j->nrun + 1, sizeof *v);
    ((jobs *)j)->visits += j->nrun;
    *n = 0;
    for (size_t i = 0; i < j->nrun; i++)
        if (!r || j->run[i]->rt == r)
            v[(*n)++] = j->run[i];
    qsort(v, *n, sizeof *v, by_idx);
    return v;
}

static int by_ptr(const void *a, const void *b)
{
    const char *x = *(const char *const *)a, *y = *(const char *const *)b;
    return x < y ? -1 : x > y;
}

void jobs_waitset_init(jobs_waitset *w, jobs *j, relhost_job *const *v, size_t n, relhost_mode mode)
{
    w->v = xcalloc(n + 1, sizeof *w->v);
    w->counted = xcalloc(n + 1, 1);
    w->n = n;
    w->done = 0;
    for (size_t i = 0; i < n; i++)
        w->v[i] = v[i];
    qsort(w->v, n, sizeof *w->v, by_ptr);
    for (size_t i = 0; i < n; i++)
        if (jobs_counts_done(w->v[i], mode)) {
            w->counted[i] = 1;
            w->done++;
        }
    w->seen = j->nends;
}

size_t jobs_waitset_update(jobs_waitset *w, jobs *j, relhost_mode mode)
{
    for (; w->seen < j->nends; w->seen++) {
        const relhost_job *x = j->ends[w->seen];
        j->visits++;
        size_t lo = 0, hi = w->n;
        while (lo < hi) { /* the first entry >= x */
            size_t mid = lo + (hi - lo) / 2;
            if ((const char *)w->v[mid] < (const char *)x)
                lo = mid + 1;
            else
                hi = mid;
        }
        /* a job that reached PH_DONE and went back to the queue (a retry) counts only once it
         * counts as done; it is logged again when it does */
        for (; lo < w->n && w->v[lo] == x; lo++)
            if (!w->counted[lo] && jobs_counts_done(x, mode)) {
                w->counted[lo] = 1;
                w->done++;
            }
    }
    return w->done;
}

void jobs_waitset_free(jobs_waitset *w)
{
    free(w->v);
    free(w->counted);
}
