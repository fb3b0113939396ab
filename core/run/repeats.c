/* SPDX-License-Identifier: MIT */
/*
 * repeats.c - a validation run N times (`repeats = N`): N ordinary jobs "<validation>.r<k>" and
 * their aggregate, the job the gate holds. Each repeat is scheduled, logged, retried, persisted
 * and resumed by core/run/jobs.c like any job; this file makes the aggregate: it finishes when
 * every repeat has, carries each metric's N values (value = their median), and is judged once by
 * the acceptance checks, each on its own statistic of the values (core/run/checks.c).
 */
#include "run/jobs_int.h"

#include "base/error.h"
#include "base/outcome.h"
#include "base/util.h"
#include "record/record_job.h"
#include "record/state.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The aggregate's record in the state before this run touched it, read before recording the
 * repeats rewrites it (zeroed, which reads as no record, when there is none). */
static void prev_record(jobs *j, const relhost_job *g, job_entry *out)
{
    if (j->st)
        record_job_get(state_root(j->st), g->id, out);
    else
        memset(out, 0, sizeof *out);
}

static int same_str(const char *s, const char *want) { return s && strcmp(s, want) == 0; }

static relhost_outcome rec_outcome(const job_entry *rec)
{
    if (rec->job.lifecycle != RECORD_LIFE_COMPLETED || !rec->job.outcome_raw)
        return RELHOST_NONE;
    return outcome_parse(rec->job.outcome_raw);
}

/* Each metric any repeat posted: its values per repeat (NAN where a repeat has none), value =
 * the median of the finite ones, provenance of the first repeat that has it. */
static void merge_metrics(relhost_job *g)
{
    double *runs = xcalloc(g->nkids, sizeof *runs), *fin = xcalloc(g->nkids, sizeof *fin);
    for (size_t k = 0; k < g->nkids; k++) {
        const evidence *ev = g->kids[k]->ev;
        for (size_t i = 0; i < ev->nmetrics; i++) {
            const ev_metric *m = &ev->metrics[i], *first = m;
            uint64_t samples = 0;
            size_t nfin = 0;
            if (evidence_find_metric(g->ev, m->key))
                continue;
            for (size_t r = 0; r < g->nkids; r++) {
                const ev_metric *x = evidence_find_metric(g->kids[r]->ev, m->key);
                runs[r] = x && x->finite ? x->value : NAN;
                if (x && x->finite)
                    fin[nfin++] = x->value;
                if (x)
                    samples += x->samples;
            }
            evidence_metric(g->ev, m->key, nfin ? checks_stat(RELHOST_STAT_MEDIAN, fin, nfin) : NAN,
                            first->source, first->pattern, first->reducer, samples);
            evidence_metric_runs(g->ev, m->key, runs, g->nkids);
        }
    }
    free(runs);
    free(fin);
    /* A value a repeat's source refused stays refused in the aggregate: its check is then
     * undecided (metric_refused), not failed as if the metric were missing. */
    for (size_t k = 0; k < g->nkids; k++) {
        const evidence *ev = g->kids[k]->ev;
        for (size_t i = 0; i < ev->nlabels; i++) {
            const ev_label *l = &ev->labels[i];
            if (strncmp(l->key, RELHOST_LABEL_REFUSED, strlen(RELHOST_LABEL_REFUSED)) == 0 &&
                !evidence_find_label(g->ev, l->key)) {
                char *why = xasprintf("in repeat %zu: %s", k + 1, l->value);
                evidence_label(g->ev, l->key, why);
                free(why);
            }
        }
    }
}

/* Every repeat has its final result: decide the aggregate. */
static void judge(jobs *j, relhost_job *g)
{
    const relhost_job *bad_fail = NULL, *bad_err = NULL;
    size_t nerr = 0, nretry = 0;
    int exit_code = -2;

    evidence_free(g->ev);
    merge_metrics(g);
    g->restarts = 0;
    g->started = g->ended = 0;
    for (size_t k = 0; k < g->nkids; k++) {
        const relhost_job *kid = g->kids[k];
        g->restarts += kid->restarts;
        if (kid->started > 0 && (g->started == 0 || kid->started < g->started))
            g->started = kid->started;
        if (kid->ended > g->ended)
            g->ended = kid->ended;
        exit_code = exit_code == -2 || exit_code == kid->exit_code ? kid->exit_code : -1;
        if (kid->outcome == RELHOST_PASSED)
            continue;
        {
            char *n = xasprintf("repeat %d of %zu (%s): %s%s%s", kid->repeat, g->nkids,
                                kid->validation, outcome_name(kid->outcome),
                                kid->reason ? ", reason " : "", kid->reason ? kid->reason : "");
            evidence_note(g->ev, n);
            free(n);
        }
        if (kid->outcome == RELHOST_FAILED) {
            bad_fail = bad_fail ? bad_fail : kid;
        } else {
            /* ERROR, or anything a repeat cannot end with: no verdict on its samples */
            bad_err = bad_err ? bad_err : kid;
            nerr++;
            nretry += kid->outcome == RELHOST_ERROR && kid->retryable;
        }
    }
    g->exit_code = exit_code < 0 ? -1 : exit_code;
    /* the runs' termination reason when they all agree */
    jobs_set_str(&g->term, g->kids[0]->term);
    for (size_t k = 1; k < g->nkids && g->term; k++)
        if (!g->kids[k]->term || strcmp(g->kids[k]->term, g->term) != 0)
            jobs_set_str(&g->term, NULL);
    g->retryable = 0;
    if (bad_fail) {
        g->outcome = RELHOST_FAILED;
        jobs_set_str(&g->reason, bad_fail->reason ? bad_fail->reason : "repeat_failed");
    } else if (bad_err) {
        g->outcome = RELHOST_ERROR;
        jobs_set_str(&g->reason, bad_err->reason ? bad_err->reason : "tool_error");
        g->retryable = nerr == nretry;
    } else {
        relhost_checks cs = {g->w->nchecks, sizeof(relhost_check_spec), g->w->checks};
        relhost_verdict v;
        jobs_checks_eval(j, g->validation, g->ev, &cs, &v);
        g->outcome = v.outcome;
        jobs_set_str(&g->reason, v.reason);
    }
    jobs_set_phase(g, PH_DONE);
    jobs_persist(g);
}

/* An earlier run's verdict on the same repeats and the same acceptance stands, as a single
 * job's does (the baseline store may have moved since: a result is not judged twice). Its
 * evidence moves from prev to g. */
static int restore(relhost_job *g, job_entry *prev)
{
    relhost_outcome o = rec_outcome(prev);
    const job_record *r = &prev->job;
    for (size_t k = 0; k < g->nkids; k++)
        if (!g->kids[k]->resumed)
            return 0;
    if (o == RELHOST_NONE || o == RELHOST_ERROR || !same_str(r->spec_hash, g->w->spec_hash) ||
        !same_str(r->accept_hash, g->w->accept_hash))
        return 0;
    g->outcome = o;
    jobs_set_str(&g->reason, r->reason);
    g->retryable = r->retryable;
    jobs_set_str(&g->term, r->termination_reason);
    g->exit_code = r->exit_code.set && !r->exit_code.from_real ? (int)r->exit_code.v : -1;
    g->restarts = (int)jobs_rec_int(r->restarts);
    /* the record is written again: keep its times */
    g->started = time_parse_iso8601(r->started_at);
    g->ended = g->started > 0 ? g->started + (r->duration_s.set ? r->duration_s.v : 0) : 0;
    evidence_free(g->ev);
    *g->ev = prev->ev;
    memset(&prev->ev, 0, sizeof prev->ev);
    g->resumed = 1;
    jobs_set_phase(g, PH_DONE);
    return 1;
}

/* g is judged and recorded: its repeats' evidence and its own are in the state. */
static void compact_group(relhost_job *g)
{
    for (size_t k = 0; k < g->nkids; k++)
        if (g->kids[k] && g->kids[k]->phase == PH_DONE)
            jobs_compact(g->kids[k], 0);
    jobs_compact(g, 0);
}

int repeats_submit(jobs *j, const relhost_ctx *ctx, const relhost_job_request *rq,
                   relhost_job **out)
{
    relhost_job *g = NULL;
    job_entry prev;
    unsigned flags = 0;
    size_t made = 0;
    int rc;

    rc = jobs_create(j, ctx, rq, rq->validation, 0, NULL, JOB_AGGREGATE, &g);
    *out = g;
    if (rc != 0)
        return rc;
    g->kids = xcalloc(g->nkids, sizeof *g->kids);
    prev_record(j, g, &prev);
    if (ctx->retry_failed && same_str(prev.job.spec_hash, g->w->spec_hash)) {
        relhost_outcome o = rec_outcome(&prev);
        if (o != RELHOST_NONE && !outcome_ok(o) && o != RELHOST_SKIPPED)
            flags |= JOB_FRESH; /* --retry-failed: a new set of samples, not a patched one */
    }
    for (size_t k = 1; k <= g->nkids; k++) {
        char *name = xasprintf("%s.r%zu", rq->validation, k);
        char *id = xasprintf("%s/%s", g->step, name);
        relhost_job *kid = NULL;
        for (size_t i = 0; i < j->n && rc == 0; i++)
            if (strcmp(j->all[i]->id, id) == 0)
                rc = error_set(RELHOST_EINVAL,
                               "validation %s: its repeat %zu would be named %s, "
                               "which another validation of step %s already is; rename one",
                               rq->validation, k, name, g->step);
        if (rc == 0)
            rc = jobs_create(j, ctx, rq, name, (int)k, g, flags, &kid);
        free(name);
        free(id);
        if (kid)
            g->kids[made++] = kid;
        if (rc != 0)
            break;
    }
    if (rc != 0) {
        g->nkids = made;
        jobs_set_phase(g, PH_DONE);
        g->outcome = RELHOST_ERROR;
        jobs_set_str(&g->reason, "tool_error");
        evidence_note(g->ev, error_last());
        jobs_persist(g);
        record_job_entry_free(&prev);
        return rc;
    }
    for (made = 0; made < g->nkids && g->kids[made]->phase == PH_DONE; made++)
        ;
    if (made == g->nkids && !restore(g, &prev)) {
        judge(j, g);
        if (rec_outcome(&prev) != RELHOST_NONE && g->kids[0]->resumed &&
            !same_str(prev.job.accept_hash, g->w->accept_hash)) {
            evidence_note(g->ev, "acceptance changed since the run: checks re-evaluated on the "
                                 "stored metrics");
        }
    }
    jobs_persist(g);
    record_job_entry_free(&prev);
    if (g->phase == PH_DONE)
        compact_group(g);
    return 0;
}

void repeats_kid_done(jobs *j, relhost_job *g)
{
    if (g->phase == PH_DONE || !g->kids)
        return;
    for (size_t k = 0; k < g->nkids; k++)
        if (!g->kids[k] || g->kids[k]->phase != PH_DONE)
            return;
    judge(j, g);
    compact_group(g);
}

int repeats_done(const relhost_job *g, relhost_mode mode)
{
    /* A run waits for the verdict, which comes with the last repeat's result; a launch only
     * for its repeats to be launched (or held for a later run). */
    if (mode != RELHOST_MODE_LAUNCH)
        return 0;
    for (size_t k = 0; k < g->nkids; k++)
        if (g->kids[k] && !jobs_counts_done(g->kids[k], mode))
            return 0;
    return 1;
}

void repeats_result(const relhost_job *g, relhost_job_result *r)
{
    r->finished = g->phase == PH_DONE;
    r->outcome = g->phase == PH_DONE ? g->outcome : RELHOST_NONE;
    r->reason = g->reason;
    r->retryable = g->retryable;
    r->exit_code = g->exit_code;
    r->termination_reason = g->term;
    r->restarts = g->restarts;
    r->attempts = 1;
    r->duration_s = g->ended > g->started ? g->ended - g->started : 0;
    r->log_path = NULL;
    r->external_id = NULL;
    r->resumed = g->resumed;
    for (size_t k = 0; k < g->nkids; k++) {
        const relhost_job *kid = g->kids[k];
        if (!kid)
            continue;
        if (kid->attempt > r->attempts)
            r->attempts = kid->attempt;
        if (!r->external_id && kid->ext_id[0])
            r->external_id = kid->ext_id;
    }
}

void repeats_entry_members(const relhost_job *jb, job_entry *e)
{
    if (jb->group) {
        e->job.repeat_of = jb->group->validation;
        e->job.repeat.set = 1;
        e->job.repeat.v = jb->repeat;
    }
    if (jb->kids) {
        record_lifecycle life = RECORD_LIFE_PENDING;
        e->runs = xcalloc(jb->nkids + 1, sizeof *e->runs);
        for (size_t k = 0; k < jb->nkids; k++) {
            const relhost_job *kid = jb->kids[k];
            if (!kid)
                continue;
            e->runs[e->nruns++] = kid->id;
            if (kid->phase == PH_RUNNING || kid->phase == PH_SUBMITTING)
                life = RECORD_LIFE_RUNNING;
        }
        if (jb->phase == PH_DONE)
            life = RECORD_LIFE_COMPLETED;
        e->job.lifecycle = life;
        e->job.key = NULL;
        e->job.repeats.set = 1;
        e->job.repeats.v = (long long)jb->nkids;
    }
}
