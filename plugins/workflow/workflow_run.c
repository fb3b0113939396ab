/* SPDX-License-Identifier: MIT */
/*
 * workflow_run.c - the workflow gate's run: which validations run (the selected ones and what
 * they depend on), submitted round after round as their dependencies pass, and the step's
 * verdict from their results.
 */
#include "workflow.h"

#include "../common/pl_host.h"

#include <stdlib.h>
#include <string.h>

static int submit(const relhost_ctx *ctx, struct workflow *w, struct vrun *r)
{
    const struct workflow_validation *v = r->v;
    relhost_job_request rq;
    const char *keys[2], *vals[2];
    relhost_map vars = {0, keys, vals};
    int rc;
    if (r->own && r->own->nodes_s) {
        keys[vars.n] = "nodes";
        vals[vars.n++] = r->own->nodes_s;
    }
    if (r->own && r->own->condition) {
        keys[vars.n] = "condition";
        vals[vars.n++] = r->own->condition;
    }
    memset(&rq, 0, sizeof rq);
    rq.struct_size = sizeof rq;
    rq.validation = r->name;
    rq.runner = v->runner ? v->runner : w->conf->runner;
    rq.argv = vrun_argv(r);
    rq.env = &v->env;
    rq.pass_env = &v->pass_env;
    rq.cwd = v->cwd;
    rq.shell = v->shell;
    rq.timeout_s = v->timeout_s;
    rq.retries = (int)v->retries;
    rq.nodes = vrun_nodes(r);
    rq.gpus = (int)v->gpus;
    rq.runner_args = &v->runner_args;
    rq.metrics = v->metrics.n ? &v->metrics : &w->conf->metrics;
    rq.acceptance = &v->acceptance;
    rq.expect_termination = vrun_expect_term(r);
    if (r->own) {
        rq.expect_exit = r->own->expect_exit;
        rq.n_expect_exit = r->own->n_expect_exit;
    }
    rq.vars = &vars;
    rq.repeats = (int)v->repeats;
    rc = pl_host->job_submit(ctx, &rq, &r->job);
    r->state = V_SUBMITTED;
    return rc;
}

/* Mark the selected validations, and those they depend on, V_WAITING (the rest V_UNSELECTED);
 * *nsel counts them. */
static int select_runs(const relhost_ctx *ctx, struct workflow *w, size_t *nsel)
{
    char *want = calloc(w->n + 1, 1), *dep = calloc(w->n + 1, 1);
    if (!want || !dep) {
        free(want);
        free(dep);
        return RELHOST_ENOMEM;
    }
    for (size_t i = 0; i < w->n; i++)
        if (workflow_chosen(ctx, &w->runs[i])) {
            want[i] = 1;
            workflow_mark_deps(w, i, dep);
        }
    for (size_t i = 0; i < w->n; i++) {
        if (!want[i] && dep[i])
            pl_host->note_add(ctx,
                              "validation %s runs too: a selected validation depends on it "
                              "(its result from an earlier run counts when it passed)",
                              w->runs[i].name);
        w->runs[i].state = want[i] || dep[i] ? V_WAITING : V_UNSELECTED;
        *nsel += w->runs[i].state == V_WAITING;
    }
    free(want);
    free(dep);
    return 0;
}

/* The name of a dependency of r that did not pass, or NULL; *ready = 0 while one is not done. */
static const char *blocker_of(const struct workflow *w, const struct vrun *r, int *ready)
{
    *ready = 1;
    for (size_t d = 0; d < r->v->depends_on.n; d++)
        for (size_t k = 0; k < w->n; k++) {
            const struct vrun *dep = &w->runs[k];
            if (!workflow_answers_to(dep, r->v->depends_on.v[d]))
                continue; /* dependencies of a selected run are selected too */
            if (dep->state == V_SKIPPED ||
                (dep->state == V_DONE && dep->res.outcome != RELHOST_PASSED &&
                 dep->res.outcome != RELHOST_WAIVED))
                return dep->name;
            if (dep->state != V_DONE)
                *ready = 0;
        }
    return NULL;
}

/* Submit every validation whose dependencies are done; skip those whose failed. *progressed
 * counts both. RELHOST_EFAIL when the host refused a job (it explained why through fail()). */
static int submit_ready(const relhost_ctx *ctx, struct workflow *w, size_t *progressed)
{
    for (size_t i = 0; i < w->n; i++) {
        struct vrun *r = &w->runs[i];
        const char *blocker;
        int ready;
        if (r->state != V_WAITING)
            continue;
        blocker = blocker_of(w, r, &ready);
        if (blocker) {
            r->state = V_SKIPPED;
            pl_host->note_add(ctx, "validation %s SKIPPED (upstream_failed): %s did not pass",
                              r->name, blocker);
            (*progressed)++;
            continue;
        }
        if (!ready || (ctx->mode == RELHOST_MODE_LAUNCH && r->v->depends_on.n))
            continue;
        if (submit(ctx, w, r) != 0 && !r->job)
            return RELHOST_EFAIL;
        (*progressed)++;
    }
    return 0;
}

/* Read the result of every submitted validation; a finished one (under launch: any) is done. */
static void collect_results(const relhost_ctx *ctx, struct workflow *w)
{
    for (size_t i = 0; i < w->n; i++) {
        struct vrun *r = &w->runs[i];
        if (r->state != V_SUBMITTED)
            continue;
        relhost_job_result res;
        memset(&res, 0, sizeof res);
        res.struct_size = sizeof res;
        pl_host->job_result(ctx, r->job, &res);
        r->res.finished = res.finished != 0;
        r->res.retryable = res.retryable != 0;
        r->res.outcome = res.outcome;
        r->res.reason = res.reason;
        r->res.external_id = res.external_id;
        if (r->res.finished || ctx->mode == RELHOST_MODE_LAUNCH)
            r->state = V_DONE;
    }
}

/* 1 when a validation still waits for its dependencies. */
static int any_waiting(const struct workflow *w)
{
    for (size_t i = 0; i < w->n; i++)
        if (w->runs[i].state == V_WAITING)
            return 1;
    return 0;
}

/* Submit and wait, round after round, until nothing is left to submit or wait for (under
 * launch: one round). wait holds w->n + 1 jobs. */
static int run_rounds(const relhost_ctx *ctx, struct workflow *w, relhost_job **wait)
{
    int rc = 0;
    for (;;) {
        size_t nwait = 0, progressed = 0;
        if ((rc = submit_ready(ctx, w, &progressed)) != 0)
            return rc;
        for (size_t i = 0; i < w->n; i++)
            if (w->runs[i].state == V_SUBMITTED)
                wait[nwait++] = w->runs[i].job;
        if (nwait == 0) {
            if (progressed)
                continue;
            break;
        }
        /* Woken at the first end only when a validation waits for others to end: otherwise
         * every round would read every result again, once per job's end. */
        rc =
            pl_host->job_wait(ctx, wait, nwait, ctx->mode != RELHOST_MODE_LAUNCH && any_waiting(w));
        if (rc != 0)
            break;
        collect_results(ctx, w);
        if (ctx->mode == RELHOST_MODE_LAUNCH)
            break;
    }
    return rc;
}

/* The step's verdict under launch: INCONCLUSIVE "launched", saying how many run remotely. */
static void judge_launch(const relhost_ctx *ctx, const struct workflow *w, size_t nsel,
                         relhost_verdict *out)
{
    size_t launched = 0;
    for (size_t i = 0; i < w->n; i++)
        launched +=
            w->runs[i].state == V_DONE && w->runs[i].res.external_id && !w->runs[i].res.finished;
    out->outcome = RELHOST_INCONCLUSIVE;
    out->reason = "launched";
    pl_host->note_add(ctx,
                      "%zu of %zu validation(s) running remotely; the others wait for "
                      "`relhost -c` (local runners, full runners, dependencies, or done)",
                      launched, nsel);
}

/* The step's verdict from its validations' results: a skipped or failed one fails the step,
 * then an ERROR (retryable when all are), then all passed; otherwise INCONCLUSIVE. */
static void judge(const relhost_ctx *ctx, const struct workflow *w, size_t nsel,
                  relhost_verdict *out)
{
    size_t npass = 0, nfail = 0, nerr = 0, nerr_retry = 0, nskip = 0;
    for (size_t i = 0; i < w->n; i++) {
        const struct vrun *r = &w->runs[i];
        if (r->state == V_SKIPPED)
            nskip++;
        if (r->state != V_DONE)
            continue;
        switch (r->res.outcome) {
        case RELHOST_PASSED:
        case RELHOST_WAIVED: npass++; break;
        case RELHOST_FAILED: nfail++; break;
        case RELHOST_ERROR:
            nerr++;
            nerr_retry += r->res.retryable != 0;
            break;
        default: break;
        }
    }
    if (nsel == 0) {
        out->outcome = RELHOST_SKIPPED;
        out->reason = "not_selected";
        pl_host->note_add(ctx, "no validation of this step is selected by the profile or --only");
    } else if (nfail || nskip) {
        out->outcome = RELHOST_FAILED;
        out->reason = "validation_failed";
    } else if (nerr) {
        out->outcome = RELHOST_ERROR;
        out->reason = "tool_error";
        out->retryable = nerr == nerr_retry;
        /* a plugin that crashed, exited or hung in its own process (plugin_crashed...) */
        for (size_t i = 0; i < w->n; i++)
            if (w->runs[i].state == V_DONE && w->runs[i].res.outcome == RELHOST_ERROR &&
                w->runs[i].res.reason && strncmp(w->runs[i].res.reason, "plugin_", 7) == 0) {
                out->reason = w->runs[i].res.reason;
                break;
            }
    } else if (npass == nsel) {
        out->outcome = RELHOST_PASSED;
        out->reason = NULL;
    } else {
        /* a validation that could not decide (no baseline with require_baseline...): say why */
        out->outcome = RELHOST_INCONCLUSIVE;
        out->reason = "no_result";
        for (size_t i = 0; i < w->n; i++)
            if (w->runs[i].state == V_DONE && w->runs[i].res.outcome == RELHOST_INCONCLUSIVE &&
                w->runs[i].res.reason) {
                out->reason = w->runs[i].res.reason;
                break;
            }
    }
    pl_host->note_add(ctx, "%zu of %zu validation(s) passed%s", npass, nsel,
                      nfail + nerr + nskip ? "" : "");
}

int workflow_run(const relhost_ctx *ctx, void *inst, relhost_verdict *out)
{
    struct workflow *w = inst;
    size_t nsel = 0;
    relhost_job **wait = calloc(w->n + 1, sizeof *wait);
    int rc;

    if (!wait)
        return RELHOST_ENOMEM;
    if (!pl_host->job_submit || !pl_host->job_wait || !pl_host->job_result) {
        pl_host->fail(ctx, "this relhost offers no job service (it is older than the workflow "
                           "gate needs)");
        free(wait);
        return RELHOST_ENOTSUP;
    }
    rc = select_runs(ctx, w, &nsel);
    if (rc == 0)
        rc = run_rounds(ctx, w, wait);
    free(wait);
    if (rc != 0)
        return rc;
    out->retryable = 0;
    if (ctx->mode == RELHOST_MODE_LAUNCH)
        judge_launch(ctx, w, nsel, out);
    else
        judge(ctx, w, nsel, out);
    return 0;
}
