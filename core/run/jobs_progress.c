/* SPDX-License-Identifier: MIT */
/*
 * jobs_progress.c - what the progress display (core/view/progress.h) reads of the job layer
 * while a step runs: the counts of its jobs by state, the running ones with their elapsed time
 * and the latest values their metrics sources show (peek(): display only, never evidence),
 * and a call at each job's end. Reads only; decides nothing.
 */
#include "run/jobs.h"
#include "run/jobs_int.h"
#include "run/guard.h"
#include "base/util.h"

#include <stdint.h>
#include <string.h>

/* What a row gathers of the values its sources show: the JOBS_LIVE_MAX of lowest rank, where
 * a key the job's checks read ranks by its place among them and any other after them all, in
 * the order shown. A key is told apart by all of it (hash), not by the cut text the row keeps. */
struct peek_acc {
    jobs_row *r;
    const strvec *checked;
    size_t seen;
    size_t rank[JOBS_LIVE_MAX];
    uint64_t hash[JOBS_LIVE_MAX];
};

static char printable(char c) { return c > 0x20 && c < 0x7f ? c : '?'; }

/* A key as the table may print it: printable ASCII only (a source's bytes never reach the
 * terminal as control codes); one longer than the room keeps its head and its tail around
 * "..." (the tail tells a key's reducers apart: ..._max, ..._last). */
static void live_key(char *dst, const char *key)
{
    size_t len = strlen(key), keep = JOBS_LIVE_KEY_MAX - 1, head = (keep - 3) / 2, n = 0;
    if (len <= keep) {
        for (; n < len; n++)
            dst[n] = printable(key[n]);
    } else {
        for (; n < head; n++)
            dst[n] = printable(key[n]);
        memcpy(dst + n, "...", 3);
        n += 3;
        for (const char *t = key + len - (keep - n); *t; t++)
            dst[n++] = printable(*t);
    }
    dst[n] = '\0';
}

static void peek_show(void *payload, const char *key, double value)
{
    struct peek_acc *a = payload;
    jobs_row *r = a->r;
    size_t rank = a->checked->n + a->seen++, at;
    uint64_t h;
    if (!key || !*key)
        return;
    h = str_hash(key);
    for (size_t i = 0; i < r->nlive; i++)
        if (a->hash[i] == h)
            return; /* the first source that shows a key is the one shown */
    for (size_t i = 0; i < a->checked->n; i++)
        if (strcmp(a->checked->v[i], key) == 0) {
            rank = i;
            break;
        }
    if (r->nlive == JOBS_LIVE_MAX && rank >= a->rank[JOBS_LIVE_MAX - 1])
        return;
    at = r->nlive < JOBS_LIVE_MAX ? r->nlive++ : JOBS_LIVE_MAX - 1;
    for (; at > 0 && a->rank[at - 1] > rank; at--) {
        r->live[at] = r->live[at - 1];
        a->rank[at] = a->rank[at - 1];
        a->hash[at] = a->hash[at - 1];
    }
    live_key(r->live[at].key, key);
    r->live[at].value = value;
    a->rank[at] = rank;
    a->hash[at] = h;
}

/* The running job's latest values, from each source that offers peek() (ABI 1.6). */
static void peek_row(const relhost_job *jb, jobs_row *r)
{
    struct peek_acc a = {.r = r, .checked = &jb->w->check_keys};
    for (size_t i = 0; jb->w->src_jobs && i < jb->w->nsrc; i++) {
        const relhost_metrics_ops *ops = jb->w->src[i]->ops;
        if (!jb->w->src_jobs[i] || !RELHOST_HAS(ops, peek) || !ops->peek)
            continue;
        int g = guard_enter(jb->w->src[i]->pi->plugin_name, "peek", jb->step);
        ops->peek(jb->w->src_jobs[i], peek_show, &a);
        guard_leave(g);
    }
}

static void row_of(const relhost_job *jb, jobs_row *r)
{
    memset(r, 0, sizeof *r);
    r->validation = jb->validation;
    r->ev = jobs_evidence(jb);
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
            if (n < max) {
                row_of(jb, &rows[n]);
                if (jb->phase == PH_RUNNING)
                    peek_row(jb, &rows[n]);
                n++;
            }
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
