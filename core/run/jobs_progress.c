/* SPDX-License-Identifier: MIT */
/*
 * jobs_progress.c - what the progress display (core/view/progress.h) reads of the job layer
 * while a step runs: the counts of its jobs by state, the running ones with their elapsed time
 * and latest metrics, and a call at each job's end. Reads only; decides nothing.
 */
#include "run/jobs.h"
#include "run/jobs_int.h"
#include "base/util.h"

#include <string.h>

static void row_of(const relhost_job *jb, jobs_row *r)
{
    memset(r, 0, sizeof *r);
    r->validation = jb->validation;
    r->ev = &jb->ev;
    r->outcome = jb->outcome;
    r->reason = jb->reason;
    r->exit_code = jb->exit_code;
    r->attempt = jb->attempt;
    r->resumed = jb->resumed;
    switch (jb->phase) {
    case PH_QUEUED: r->state = "queued"; break;
    case PH_SUBMITTING: r->state = "submitting"; break;
    case PH_RUNNING: r->state = "running"; break;
    case PH_DONE: r->state = "done"; break;
    }
    if (jb->started > 0)
        r->elapsed =
            (jb->phase == PH_DONE && jb->ended > 0 ? jb->ended : time_wall()) - jb->started;
}

size_t jobs_progress(const jobs *j, const char *step, jobs_count *c, jobs_row *rows, size_t max)
{
    size_t n = 0;
    memset(c, 0, sizeof *c);
    for (size_t i = 0; j && i < j->n; i++) {
        const relhost_job *jb = j->all[i];
        if (jb->kids || strcmp(jb->step, step) != 0)
            continue; /* an aggregate of repeats is counted through its repeats */
        switch (jb->phase) {
        case PH_QUEUED: c->queued++; break;
        case PH_SUBMITTING:
        case PH_RUNNING:
            c->running++;
            if (n < max)
                row_of(jb, &rows[n++]);
            break;
        case PH_DONE:
            if (jb->outcome == RELHOST_PASSED)
                c->passed++;
            else if (jb->outcome == RELHOST_FAILED)
                c->failed++;
            else
                c->other++;
            break;
        }
    }
    return n;
}

void jobs_on_end(jobs *j, jobs_end_cb cb, void *arg)
{
    j->on_end = cb;
    j->on_end_arg = arg;
}

void jobs_tell_end(const relhost_job *jb)
{
    jobs_row r;
    if (!jb->owner->on_end || jb->kids)
        return;
    row_of(jb, &r);
    jb->owner->on_end(jb->owner->on_end_arg, jb->step, &r);
}
