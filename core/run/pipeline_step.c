/* SPDX-License-Identifier: MIT */
/*
 * pipeline_step.c - one step: whether it runs now (pipeline_step_decide()), its gate run and its
 * result completed by the record, waived, recorded and reported (pipeline_run_gate()), and what
 * that result does to the release (pipeline_account_step()).
 */
#include "base/error.h"
#include "base/log.h"
#include "base/outcome.h"
#include "plan/template.h"
#include "record/record.h"
#include "record/record_write.h"
#include "record/verdict.h"
#include "run/guard.h"
#include "run/freeze.h"
#include "run/host.h"
#include "run/loop.h"
#include "run/pipeline_int.h"
#include "view/progress.h"
#include "view/report.h"
#include "view/text.h"

#include <stdlib.h>
#include <string.h>

/* The outcome step `name` has for this candidate: this run's if it ran, else the state's. */
static relhost_outcome outcome_so_far(const run_result *out, size_t i, state *sto)
{
    const step_result *r = &out->steps[i];
    step_record rec;
    relhost_outcome oc;
    if (r->outcome != RELHOST_NONE)
        return r->outcome;
    if (!sto)
        return RELHOST_NONE;
    record_read_step(state_root(sto), r->step->inst.name, &rec);
    oc = pipeline_recorded_outcome(&rec);
    record_step_free(&rec);
    return oc;
}

/*
 * DESIGN "Promotion": a publishing step runs only when every required non-publishing step
 * before it PASSED or was WAIVED for this candidate, whichever invocation produced that result,
 * so `--step release` can never publish a candidate whose tests failed. Returns the index of the
 * first step that blocks, or -1.
 */
static int publish_blocker(const plan *p, const run_result *out, size_t i, state *sto,
                           relhost_outcome *blocking)
{
    for (size_t k = 0; k < i; k++) {
        const plan_step *s = &p->steps[k];
        relhost_outcome oc;
        if (!pipeline_step_required(sto, s) || pipeline_step_publishes(sto, s) ||
            s->when != WHEN_SUCCESS)
            continue;
        oc = outcome_so_far(out, k, sto);
        if (!outcome_ok(oc) && sto &&
            verdict_waiver(state_root(sto), s->inst.name, time_wall(), NULL))
            oc = RELHOST_WAIVED;
        if (!outcome_ok(oc)) {
            *blocking = oc;
            return (int)k;
        }
    }
    return -1;
}

/* A step that did not pass but is waived (the step, or each failing validation) counts as
 * passing: WAIVED with the waiver's reason; the original outcome stays in waived_from and the
 * evidence is kept as it is. */
static void apply_waiver(step_result *r, state *sto)
{
    waiver_record w;
    char *m;
    if (outcome_ok(r->outcome) || r->outcome == RELHOST_SKIPPED || r->outcome == RELHOST_NONE ||
        !verdict_waiver(state_root(sto), r->step->inst.name, time_wall(), &w))
        return;
    /* (a hand-edited waiver without "by", "at" or "reason" reads "(null)", as it always did) */
    m = xasprintf("waived by %s at %s%s%s: %s (the step was %s%s%s)", w.by ? w.by : "(null)",
                  w.at ? w.at : "(null)", w.validation ? " for validation " : "",
                  w.validation ? w.validation : "", w.reason ? w.reason : "(null)",
                  outcome_name(r->outcome), r->message ? ": " : "", r->message ? r->message : "");
    record_waiver_free(&w);
    r->waived_from = r->outcome;
    r->waived_from_reason = r->reason ? xstrdup(r->reason) : NULL;
    pipeline_set_result(r, RELHOST_WAIVED, "waived", m);
    r->retryable = 0;
    free(m);
}

/* A required step hit a retryable tool error: defer the release (exit 75) unless it has
 * deferred max_defers times or is past defer_deadline; then fail closed. */
static int defer_or_exhaust(const plan *p, step_result *r, state *sto)
{
    int defers = r->defers + 1;
    release_record head = {0};
    double created = 0;
    if (sto && record_read_head(state_root(sto), &head) == 0)
        created = time_parse_iso8601(head.created_at);
    record_free(&head);
    int late = p->defer_deadline > 0 && created > 0 && time_wall() - created > p->defer_deadline;
    r->defers = defers;
    if (defers > p->max_defers || late) {
        char *m = xasprintf("%s; deferred %d time(s)%s: failing closed (max_defers %d)",
                            r->message ? r->message : "retryable tool error", defers - 1,
                            late ? " and past defer_deadline" : "", p->max_defers);
        pipeline_set_result(r, RELHOST_FAILED, "tool_error_exhausted", m);
        free(m);
        r->retryable = 0;
        return EXIT_FAILED;
    }
    return EXIT_DEFERRED;
}

/* Why the release failed, for the quarantine reason and the alarm: the step, its message, and
 * each failing check of its jobs ("arena: sps_max 12000 < 30000 (needs >= 30000)"). */
static char *failure_summary(const step_result *r, state *sto)
{
    strbuf b;
    job_record *jr = NULL;
    size_t nj = sto ? record_read_step_jobs(state_root(sto), r->step->inst.name, &jr) : 0;
    int n = 0;
    sb_init(&b);
    sb_printf(&b, "step %s %s", r->step->inst.name, outcome_name(r->outcome));
    if (r->reason)
        sb_printf(&b, " (%s)", r->reason);
    if (r->message)
        sb_printf(&b, ": %.300s", r->message);
    for (size_t k = 0; k < nj; k++) {
        const job_record *j = &jr[k];
        for (size_t i = 0; i < j->evidence.nchecks; i++) {
            const check_record *c = &j->evidence.checks[i];
            if (c->passed || n >= 8)
                continue;
            n++;
            sb_printf(&b, "; %s: ", j->validation_given ? j->validation : j->id);
            text_check_failure(c, &b);
        }
    }
    for (size_t k = 0; k < nj; k++)
        record_job_free(&jr[k]);
    free(jr);
    return sb_take(&b);
}

/*
 * A step that PASSED in an earlier run of this release, under the same plan, is not run again
 * (its effect - a tag, a post, a promotion - never repeats) unless --rerun names it. A step
 * whose required jobs no longer all pass in the record is not complete.
 */
static int already_completed(const plan *p, const run_options *o, state *sto, step_result *r)
{
    step_record prev;
    step_verdict sv;
    int done;
    /* a publishing step's effect never repeats, whatever the plan says now; another step runs
     * again when the plan changed */
    int pub = pipeline_step_publishes(sto, r->step);
    if (!sto || o->mode != RELHOST_MODE_RUN || o->monitor || r->step->when != WHEN_SUCCESS ||
        pipeline_rerun_asked(o, r->step->inst.name))
        return 0;
    record_read_step(state_root(sto), r->step->inst.name, &prev);
    if ((!pub && (!prev.plan_hash || strcmp(prev.plan_hash, p->hash) != 0)) ||
        pipeline_recorded_outcome(&prev) != RELHOST_PASSED) {
        record_step_free(&prev);
        return 0;
    }
    verdict_step(state_root(sto), r->step->inst.name, RELHOST_PASSED, NULL, time_wall(), &sv);
    done = sv.outcome == RELHOST_PASSED;
    free(sv.message);
    if (done) {
        char *m = xasprintf("already completed (PASSED at %s); `--rerun %s` runs it again",
                            prev.ended_at ? prev.ended_at : "?", r->step->inst.name);
        pipeline_set_result(r, RELHOST_PASSED, "already_completed", m);
        free(m);
    }
    record_step_free(&prev);
    return done;
}

/*
 * A step whose plugin crashed, exited or hung in an earlier run of this release (core/run/guard.h)
 * is not run again by a plain resume, which would only crash again at the same place: it stays
 * ERROR with the recorded reason until --retry-failed or --rerun asks for it. 1 when so.
 */
static int plugin_fault_recorded(struct walk *w, const plan_step *st, step_result *r)
{
    static const char *const faults[] = {"plugin_crashed", "plugin_exited", "plugin_hung"};
    const run_options *o = w->o;
    step_record prev;
    int hit = 0;
    if (!w->sto || o->mode != RELHOST_MODE_RUN || o->retry_failed ||
        pipeline_rerun_asked(o, st->inst.name))
        return 0;
    record_read_step(state_root(w->sto), st->inst.name, &prev);
    for (size_t k = 0; prev.reason && k < sizeof faults / sizeof faults[0]; k++)
        hit |= prev.outcome == RELHOST_ERROR && strcmp(prev.reason, faults[k]) == 0;
    if (hit) {
        /* the recorded message says what happened and how to run it again */
        pipeline_set_result(r, RELHOST_ERROR, prev.reason,
                            prev.message ? prev.message
                                         : "an earlier run's plugin call did not come back; "
                                           "`--retry-failed` runs the step again");
        if (pipeline_step_required(w->sto, st)) {
            w->code = exit_code_worst(w->code, outcome_exit_code(RELHOST_ERROR, 0));
            w->stop = 1;
            w->stopper = st->inst.name;
        }
    }
    record_step_free(&prev);
    return hit;
}

/*
 * A publishing step an earlier run started and never saw end (it died, or was interrupted while
 * the step ran) may have tagged, posted or promoted already: it is not run again blindly. The
 * step is INCONCLUSIVE until a person checks and asks for it with --rerun. 1 when so.
 */
static int in_flight_publish(const run_options *o, state *sto, step_result *r)
{
    step_record prev;
    char *m;
    if (!sto || o->mode != RELHOST_MODE_RUN || pipeline_rerun_asked(o, r->step->inst.name))
        return 0;
    record_read_step(state_root(sto), r->step->inst.name, &prev);
    if (!prev.in_flight) {
        record_step_free(&prev);
        return 0;
    }
    m = xasprintf("the run that started this publishing step at %s ended before the step did: "
                  "its effect (a tag, a post, a promotion) may or may not have happened; check "
                  "it, then `--rerun %s` runs the step again",
                  prev.in_flight, r->step->inst.name);
    pipeline_set_result(r, RELHOST_INCONCLUSIVE, "interrupted_publish", m);
    free(m);
    record_step_free(&prev);
    return 1;
}

/* Mark a publishing step as started, durably, before it acts (in_flight_publish()). */
static void mark_in_flight(state *sto, const step_result *r)
{
    char ts[32];
    if (!sto)
        return;
    time_iso8601(time_wall(), ts, sizeof ts);
    if (record_write_step_in_flight(sto, r->step->inst.name, ts) != 0)
        log_msg(RELHOST_LOG_ERROR, "state", "%s", error_last());
}

/* This run's gate verdict, completed by the release's record of the step's required jobs. */
static void complete_from_record(state *sto, step_result *r)
{
    step_verdict sv;
    verdict_step(state_root(sto), r->step->inst.name, r->outcome, r->reason, time_wall(), &sv);
    if (sv.outcome != r->outcome) {
        pipeline_set_result(r, sv.outcome, sv.reason, sv.message);
        r->retryable = 0;
    }
    free(sv.message);
}

/* Publishing only for a qualified candidate, and never while frozen (the kill switch is read
 * again right before publishing: a freeze set while this run's tests ran holds; an unreadable
 * one fails closed). */
static step_go publish_gate(struct walk *w, size_t i, int is_hook)
{
    step_result *r = &w->out->steps[i];
    relhost_outcome bo = RELHOST_NONE;
    freeze_info frz;
    /* a hook follows a promotion or rollback that was itself qualified */
    int b = is_hook ? -1 : publish_blocker(w->p, w->out, i, w->sto, &bo);
    char *m;
    if (b >= 0) {
        m = xasprintf("required step \"%s\" is %s for this candidate: nothing is published until "
                      "every required step passed",
                      w->p->steps[b].inst.name, bo == RELHOST_NONE ? "not run" : outcome_name(bo));
        pipeline_set_result(r, RELHOST_SKIPPED, "not_qualified", m);
        free(m);
        w->code = exit_code_worst(w->code, bo == RELHOST_FAILED ? EXIT_FAILED : EXIT_UNDECIDED);
        return GO_SKIP;
    }
    if (freeze_get(w->p->state_dir, &frz) != 0) {
        frz.frozen = 1;
        frz.by[0] = '\0';
        snprintf(frz.reason, sizeof frz.reason, "the freeze file cannot be read (%s)",
                 error_last());
    }
    if (!frz.frozen)
        return GO_RUN;
    m = frz.by[0] ? xasprintf("publishing is frozen: %s (by %s at %s)", frz.reason, frz.by, frz.at)
                  : xasprintf("publishing is frozen: %s", frz.reason);
    pipeline_set_result(r, RELHOST_SKIPPED, "frozen", m);
    free(m);
    w->frozen_skips++;
    return GO_SKIP;
}

/*
 * Whether step i runs now; when not, its result says why, and whether that skip is recorded in
 * the state (GO_SKIP) or only reported (GO_SKIP_UNRECORDED: an alarm not needed, a step already
 * completed). The questions, in order: a monitor run publishes nothing and raises no alarm; an
 * interrupt stops the walk; an on_failure step waits for a failure; a PASSED step is not redone;
 * after a required step failed, success steps are skipped; a publishing step whose earlier run
 * died mid-way waits for --rerun; a publishing step needs a qualified candidate and no freeze.
 */
step_go pipeline_step_decide(struct walk *w, size_t i, int is_hook)
{
    const plan_step *st = &w->p->steps[i];
    step_result *r = &w->out->steps[i];
    const run_options *o = w->o;
    int publishes = pipeline_step_publishes(w->sto, st);
    if (o->monitor && (publishes || st->when == WHEN_ON_FAILURE) && !is_hook) {
        pipeline_set_result(
            r, RELHOST_SKIPPED, "monitor",
            "a monitor run publishes nothing and raises no release alarm: a failure "
            "rolls back instead");
        return GO_SKIP;
    }
    if (loop_interrupted())
        return GO_BREAK;
    /* A deferral is no failure: the alarm waits until the release fails closed. */
    if (st->when == WHEN_ON_FAILURE && (!w->stop || w->code == EXIT_DEFERRED) &&
        o->mode == RELHOST_MODE_RUN) {
        pipeline_set_result(r, RELHOST_SKIPPED, "not_needed", "runs only when the release fails");
        return GO_SKIP_UNRECORDED;
    }
    if (!is_hook && already_completed(w->p, o, w->sto, r))
        return GO_SKIP_UNRECORDED;
    if (!is_hook && plugin_fault_recorded(w, st, r))
        return GO_SKIP;
    if (w->stop && st->when == WHEN_SUCCESS) {
        char *m = xasprintf("required step \"%s\" did not pass", w->stopper);
        pipeline_set_result(r, RELHOST_SKIPPED, "upstream_failed", m);
        free(m);
        return GO_SKIP;
    }
    if (publishes && o->mode == RELHOST_MODE_RUN && !is_hook && in_flight_publish(o, w->sto, r)) {
        if (pipeline_step_required(w->sto, st)) {
            w->code = exit_code_worst(w->code, EXIT_UNDECIDED);
            w->stop = 1;
            w->stopper = st->inst.name;
        }
        return GO_SKIP;
    }
    if (publishes && o->mode == RELHOST_MODE_RUN)
        return publish_gate(w, i, is_hook);
    return GO_RUN;
}

/* The step's result from what its gate's run() returned (orc, v) and said (m). */
/* A step whose jobs' plugin (an isolated runner or metrics source) died says so only in those
 * jobs: the first such job's note (plugin, call, signal or status) becomes the step's message,
 * so explain, JUnit and the notes name what failed, not just plugin_crashed. NULL: none. */
static char *job_fault_message(state *sto, const plan_step *st, const char *reason)
{
    job_record *jr = NULL;
    size_t nj;
    char *m = NULL;
    if (!sto || !reason || strncmp(reason, "plugin_", 7) != 0)
        return NULL;
    nj = record_read_step_jobs(state_root(sto), st->inst.name, &jr);
    for (size_t k = 0; k < nj; k++) {
        const job_record *j = &jr[k];
        if (!m && j->reason && strcmp(j->reason, reason) == 0 && j->evidence.nnotes)
            m = xasprintf("validation %s: %s", j->validation_given ? j->validation : "?",
                          j->evidence.notes[0]);
        record_job_free(&jr[k]);
    }
    free(jr);
    return m;
}

static void gate_result(struct walk *w, const plan_step *st, step_result *r, int orc,
                        relhost_verdict *v, const char *m)
{
    relhost_outcome oc;
    char *jm;
    if (orc != 0 && loop_interrupted()) {
        w->out->interrupted = 1;
        pipeline_set_result(r, RELHOST_NONE, "interrupted", m ? m : "interrupted");
        return;
    }
    if (orc != 0) {
        pipeline_set_result(r, RELHOST_ERROR, "tool_error",
                            m ? m : "the plugin failed without saying why");
        r->retryable = orc == RELHOST_ERETRY;
        return;
    }
    oc = outcome_sanitize(v->outcome);
    if (oc == RELHOST_NONE) {
        oc = RELHOST_ERROR;
        v->reason = "no_outcome";
    }
    /* DESIGN: a service that is not configured is SKIPPED when the step is optional and
     * INCONCLUSIVE when it is required (it cannot decide); the same holds for any skip of a
     * required step: nothing was decided, fail closed. */
    if (oc == RELHOST_SKIPPED && pipeline_step_required(w->sto, st) &&
        w->o->mode == RELHOST_MODE_RUN)
        oc = RELHOST_INCONCLUSIVE;
    jm = oc == RELHOST_ERROR && !m ? job_fault_message(w->sto, st, v->reason) : NULL;
    pipeline_set_result(r, oc, v->reason, m ? m : jm);
    free(jm);
    r->retryable = oc == RELHOST_ERROR && v->retryable;
}

/* The defers earlier runs of this release spent on step name: they carry over. */
static int defers_so_far(state *sto, const char *name)
{
    step_record prev;
    int n = 0;
    if (!sto)
        return 0;
    record_read_step(state_root(sto), name, &prev);
    if (prev.defers.set && !prev.defers.from_real)
        n = (int)prev.defers.v;
    record_step_free(&prev);
    return n;
}

/* Step i of a walk, for hostctx.unqualified: asked only when the step promotes (walking every
 * earlier step at each step's start made a run of many steps quadratic). */
struct step_at {
    struct walk *w;
    size_t i;
};

static char *unqualified_at(void *arg)
{
    const struct step_at *at = arg;
    relhost_outcome bo = RELHOST_NONE;
    int b = publish_blocker(at->w->p, at->w->out, at->i, at->w->sto, &bo);
    if (b < 0)
        return NULL;
    return xasprintf("required step \"%s\" is %s for this candidate", at->w->p->steps[b].inst.name,
                     bo == RELHOST_NONE ? "not run" : outcome_name(bo));
}

/* Run step i's gate, then complete, waive, record and report its result. */
void pipeline_run_gate(struct walk *w, size_t i, int is_hook, void *inst)
{
    const plan_step *st = &w->p->steps[i];
    const run_options *o = w->o;
    step_result *r = &w->out->steps[i];
    relhost_verdict v = {.struct_size = sizeof v};
    struct step_at at = {w, i};
    char *m;
    hostctx hc;
    int orc;
    r->defers = defers_so_far(w->sto, st->inst.name);
    hostctx_init(&hc, w->base, st->inst.plugin_name, st->inst.name, &r->ev, st->inst.store);
    hc.jobs = w->jb;
    hc.plan = w->p;
    hc.state = w->sto;
    hc.worktree = w->worktree;
    hc.failure = w->out->failure;
    hc.failure_code = w->code;
    if (!is_hook && o->mode == RELHOST_MODE_RUN) {
        hc.unqualified = unqualified_at;
        hc.unqualified_arg = &at;
    }
    hc.promoted = &w->out->promoted;
    /* a step that may read the release notes (they are rewritten at most once a second while
     * steps end) sees them as of now */
    if (pipeline_step_publishes(w->sto, st) || st->when != WHEN_SUCCESS)
        pipeline_notes_current(w);
    template_set("step", st->inst.name);
    r->started = time_wall();
    r->ran = 1;
    if (o->mode == RELHOST_MODE_RUN && !is_hook && pipeline_step_publishes(w->sto, st))
        mark_in_flight(w->sto, r);
    {
        progress *pg = progress_start(w->jb, st->inst.name, w->p->keys.progress_interval);
        int g = guard_enter(st->inst.plugin_name, "run", st->inst.name);
        orc = st->inst.pl->desc.gate->run(&hc.pub, inst, &v);
        guard_leave(g);
        progress_stop(pg);
    }
    r->ended = time_wall();
    template_set("step", NULL);
    m = hostctx_take_fail(&hc);
    gate_result(w, st, r, orc, &v, m);
    free(m);
    hostctx_fini(&hc);
    if (o->mode == RELHOST_MODE_RUN && w->sto && !w->out->interrupted && !is_hook && !o->hooks)
        complete_from_record(w->sto, r);
    if (o->mode == RELHOST_MODE_RUN && w->sto && !w->out->interrupted)
        apply_waiver(r, w->sto);
    /* A launch decides nothing: step results are recorded by the run that waits. */
    if (o->mode == RELHOST_MODE_RUN)
        pipeline_record_step(w, r);
    report_step(w->p, r);
}

/* What step i's result does to the release: a required success step that did not pass stops
 * the walk and sets the exit code (a retryable ERROR defers, until it is exhausted); any other
 * step's failure only warns. */
void pipeline_account_step(struct walk *w, size_t i)
{
    const plan_step *st = &w->p->steps[i];
    step_result *r = &w->out->steps[i];
    static const char *const kinds[] = {"success", "on_failure", "always", "on_promote",
                                        "on_rollback"};
    int c;
    if (w->o->mode == RELHOST_MODE_LAUNCH) {
        if (r->outcome == RELHOST_ERROR)
            w->code = exit_code_worst(w->code, EXIT_UNDECIDED);
        return;
    }
    if (outcome_ok(r->outcome) || r->outcome == RELHOST_SKIPPED)
        return;
    if (st->when != WHEN_SUCCESS) {
        /* alerts, clean-ups and hooks: their own failure never changes the verdict */
        log_msg(RELHOST_LOG_WARN, st->inst.name, "%s step %s", kinds[st->when],
                outcome_name(r->outcome));
        return;
    }
    if (!pipeline_step_required(w->sto, st)) {
        log_msg(RELHOST_LOG_WARN, st->inst.name, "optional step %s; the release goes on",
                outcome_name(r->outcome));
        return;
    }
    c = outcome_exit_code(r->outcome, r->retryable);
    if (c == EXIT_DEFERRED) {
        c = defer_or_exhaust(w->p, r, w->sto);
        pipeline_record_step(w, r);
        if (c == EXIT_FAILED)
            report_step(w->p, r);
    }
    w->stop = 1;
    w->stopper = st->inst.name;
    w->code = exit_code_worst(w->code, c);
    if (!w->out->failure && c != EXIT_DEFERRED)
        w->out->failure = failure_summary(r, w->sto);
}
