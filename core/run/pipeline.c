/* SPDX-License-Identifier: MIT */
#include "base/secrets.h"
#include "run/pipeline.h"

#include "base/error.h"
#include "base/log.h"
#include "base/outcome.h"
#include "plan/template.h"
#include "record/state.h"
#include "record/verdict.h"
#include "registry/registry.h"
#include "run/candidate.h"
#include "run/freeze.h"
#include "run/host.h"
#include "run/jobs.h"
#include "run/loop.h"
#include "run/proc.h"
#include "run/waiver.h"
#include "view/logview.h"
#include "view/report.h"
#include "view/report_files.h"

#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct opened {
    void *inst;
    int open;
} opened;

static int listed(const char *const *names, const char *name)
{
    for (size_t i = 0; names && names[i]; i++)
        if (strcmp(names[i], name) == 0)
            return 1;
    return 0;
}

/* --rerun takes step names or globs ("*": every step). */
static int rerun_asked(const run_options *o, const char *name)
{
    for (size_t i = 0; o->rerun && o->rerun[i]; i++)
        if (fnmatch(o->rerun[i], name, 0) == 0)
            return 1;
    return 0;
}

/* --step names the steps to run; a step --rerun names by its exact name runs too (a glob
 * such as "*" only lifts "already completed" from the steps that are selected). */
static int selected(const run_options *o, const char *name)
{
    return !o->steps || listed(o->steps, name) || listed(o->rerun, name);
}

static void base_ctx(const plan *p, const run_options *o, relhost_ctx *c, strvec *only,
                     const plan_profile *prof)
{
    memset(c, 0, sizeof *c);
    c->struct_size = sizeof *c;
    c->mode = o->mode;
    c->version = p->version;
    c->profile = prof ? prof->name : NULL;
    if (prof) {
        c->profile_members.n = prof->members.n;
        c->profile_members.v = (const char *const *)prof->members.v;
    }
    for (size_t i = 0; o->only && o->only[i]; i++)
        sv_push(only, o->only[i]);
    c->only.n = only->n;
    c->only.v = (const char *const *)only->v;
    c->retry_failed = o->retry_failed;
    c->interactive = o->interactive;
    c->verbose = o->verbose;
    c->state_dir = p->state_dir;
    c->log_dir = p->log_dir;
    c->plan_dir = p->dir;
}

/* Where this run's record lives: the plan's state_dir and the version, or (monitor) its own. */
static const char *run_state_dir, *run_record;

static int check_writable_dirs(const plan *p)
{
    const char *dirs[2] = {run_state_dir, p->log_dir};
    const char *where[2] = {p->state_dir_where, p->log_dir_where};
    for (int i = 0; i < 2; i++) {
        if (path_mkdirs(dirs[i]) != 0)
            return error_wrap(RELHOST_EINVAL, "%s: %s %s", where[i], i ? "log_dir" : "state_dir",
                              dirs[i]);
        if (access(dirs[i], W_OK) != 0)
            return error_set(RELHOST_EINVAL,
                             "%s: %s %s is not writable; fix its permissions or point %s "
                             "elsewhere",
                             where[i], i ? "log_dir" : "state_dir", dirs[i],
                             i ? "log_dir" : "state_dir");
    }
    return 0;
}

/* Required by the plan now, or by the release's stored requirements (once required, always). */
static int step_required(state *sto, const plan_step *s)
{
    return sto ? verdict_step_required(state_root(sto), s->inst.name, s->required) : s->required;
}

/* Publishing by the plan now, or as stored at the release's first runs (once guarded, always). */
static int step_publishes(state *sto, const plan_step *s)
{
    return sto ? verdict_step_publishes(state_root(sto), s->inst.name, s->publishes)
               : s->publishes;
}

static void set_result(step_result *r, relhost_outcome oc, const char *reason, const char *msg)
{
    r->outcome = oc;
    free(r->reason);
    r->reason = reason ? xstrdup(reason) : NULL;
    if (msg) {
        free(r->message);
        r->message = xstrdup(msg);
    }
}

static void record_run_start(const plan *p, state *st)
{
    const char *k[1];
    char ts[32];
    time_iso8601(time_wall(), ts, sizeof ts);
    if (!json_is_string(json_object_get(state_root(st), "created_at"))) {
        /* new, or only waived ahead of its first run (relhost waive) */
        k[0] = "created_at";
        state_set(st, k, 1, json_string(ts));
    }
    k[0] = "plan";
    state_set(st, k, 1, json_string(p->path));
    k[0] = "plan_name";
    state_set(st, k, 1, json_string(p->name));
    k[0] = "plan_hash";
    state_set(st, k, 1, json_string(p->hash));
    k[0] = "finished";
    state_set(st, k, 1, json_false());
    k[0] = "exit_code"; /* a resumed run is undecided until it ends */
    state_set(st, k, 1, json_null());
    k[0] = "updated_at";
    state_set(st, k, 1, json_string(ts));
    /* The names (never values) of the secrets masked now: a later view of this release's job
     * logs withholds them unless it can mask the same variables (core/view/logview.h). */
    logview_record_sealed(st);
    if (state_flush(st) != 0)
        log_msg(RELHOST_LOG_ERROR, "state", "%s", error_last());
}

/* The release notes, <state_dir>/release_<version>.md, kept current at every step's end: a
 * later step of the same run (the tag's message, the GitHub release body, the announcement)
 * reads them. */
static void write_notes(state *st, const plan *p)
{
    char *path = xasprintf("%s/release_%s.md", run_state_dir, run_record);
    char *err = NULL;
    if (report_write(REPORT_MD, state_root(st), p->repo, path, 0, &err) != 0)
        log_msg(RELHOST_LOG_WARN, "report", "release notes %s not written: %s", path,
                err ? err : "?");
    free(err);
    free(path);
}

static void record_step(state *st, const plan *p, const step_result *r)
{
    const char *k[2] = {"steps", r->step->inst.name};
    json_t *o = json_object();
    char ts[32];
    if (!st)
        return;
    /* The plan's order, which reports sort steps by: started_at has one-second resolution. */
    json_object_set_new(o, "position", json_integer((json_int_t)(r->step - p->steps)));
    json_object_set_new(o, "plugin", json_string(r->step->inst.plugin_name));
    json_object_set_new(o, "required", json_boolean(step_required(st, r->step)));
    json_object_set_new(o, "publishes", json_boolean(step_publishes(st, r->step)));
    json_object_set_new(o, "outcome", r->outcome ? json_string(outcome_name(r->outcome))
                                                 : json_null());
    json_object_set_new(o, "reason", r->reason ? json_string(r->reason) : json_null());
    json_object_set_new(o, "retryable", json_boolean(r->retryable));
    if (r->defers)
        json_object_set_new(o, "defers", json_integer(r->defers));
    json_object_set_new(o, "message", r->message ? json_string(r->message) : json_null());
    if (r->waived_from)
        json_object_set_new(o, "waived_from",
                            json_pack("{s:s, s:o}", "outcome", outcome_name(r->waived_from),
                                      "reason", r->waived_from_reason
                                                    ? json_string(r->waived_from_reason)
                                                    : json_null()));
    if (r->ran) {
        time_iso8601(r->started, ts, sizeof ts);
        json_object_set_new(o, "started_at", json_string(ts));
        time_iso8601(r->ended, ts, sizeof ts);
        json_object_set_new(o, "ended_at", json_string(ts));
        json_object_set_new(o, "duration_s", json_real(r->ended - r->started));
    }
    json_object_set_new(o, "evidence", evidence_to_json(&r->ev));
    {
        /* a publishing step whose run died (or was interrupted) may have had its effect: the
         * mark stays until it ends with an outcome (see in_flight_publish()) */
        json_t *prev = state_get(st, k, 2);
        json_t *fl = json_object_get(prev, "in_flight");
        if (fl && (r->outcome == RELHOST_NONE ||
                   (r->reason && strcmp(r->reason, "interrupted_publish") == 0)))
            json_object_set(o, "in_flight", fl);
        /* delivery records (host_record.c: targets already posted to) outlive every run */
        if (json_is_object(json_object_get(prev, "records")))
            json_object_set(o, "records", json_object_get(prev, "records"));
    }
    /* what "already completed" compares: a step passed under another plan runs again */
    json_object_set_new(o, "plan_hash", json_string(p->hash));
    state_set(st, k, 2, o);
    if (step_publishes(st, r->step) && r->step->when == WHEN_SUCCESS &&
        r->outcome == RELHOST_PASSED) {
        /* a published release is never resumed: the next run without --version starts anew */
        k[0] = "published";
        state_set(st, k, 1, json_true());
    }
    /* A step's end is a snapshot point: the whole state is rewritten once per step. */
    if (state_snapshot(st) != 0)
        log_msg(RELHOST_LOG_ERROR, "state", "saving state failed: %s", error_last());
    write_notes(st, p);
}

/*
 * The release's verdict from its whole record, every run of it: FAILED (or undecided) as soon as
 * a required step recorded that; otherwise decided only once every required step of the plan has
 * an outcome (a `--step` run leaves the others to later runs). Returns the exit code the record
 * gives; *decided = 0 while required steps have none.
 */
static int release_verdict(const plan *p, state *st, int *decided)
{
    int code = EXIT_OK, missing = 0;
    for (size_t i = 0; i < p->nsteps; i++) {
        const plan_step *s = &p->steps[i];
        const char *k[2] = {"steps", s->inst.name};
        json_t *rec;
        const char *oc, *why;
        relhost_outcome o;
        if (s->when != WHEN_SUCCESS || !step_required(st, s))
            continue;
        rec = state_get(st, k, 2);
        oc = json_string_value(json_object_get(rec, "outcome"));
        why = json_string_value(json_object_get(rec, "reason"));
        o = oc ? outcome_parse(oc) : RELHOST_NONE;
        if (o == RELHOST_NONE)
            missing = 1;
        else if (o == RELHOST_SKIPPED && why && strcmp(why, "frozen") == 0)
            code = exit_code_worst(code, EXIT_FROZEN);
        else if (!outcome_ok(o))
            code = exit_code_worst(code, outcome_exit_code(o, json_is_true(json_object_get(
                                                                 rec, "retryable"))));
    }
    *decided = !missing || code == EXIT_FAILED || code == EXIT_UNDECIDED;
    return code;
}

static void record_run_end(state *st, const plan *p, const run_result *rr)
{
    const char *k[1];
    char ts[32];
    int decided = 0, code;
    if (!st)
        return;
    time_iso8601(time_wall(), ts, sizeof ts);
    k[0] = "updated_at";
    state_set(st, k, 1, json_string(ts));
    /* A release is finished once its record reached a decision; an interrupted or deferred run,
     * or one that ran only some steps, leaves it for the next run to continue. */
    code = release_verdict(p, st, &decided);
    if (rr->interrupted || rr->exit_code == EXIT_DEFERRED) {
        decided = 0;
        code = rr->exit_code;
    } else if (!decided) {
        code = rr->exit_code;
    }
    k[0] = "finished";
    state_set(st, k, 1, json_boolean(decided));
    k[0] = "exit_code";
    state_set(st, k, 1, json_integer(code));
    if (state_snapshot(st) != 0)
        log_msg(RELHOST_LOG_ERROR, "state", "saving state failed: %s", error_last());
    write_notes(st, p);
}

/* The outcome step `name` has for this candidate: this run's if it ran, else the state's. */
static relhost_outcome outcome_so_far(const run_result *out, size_t i, state *sto)
{
    const step_result *r = &out->steps[i];
    const char *k[2] = {"steps", r->step->inst.name};
    json_t *rec;
    if (r->outcome != RELHOST_NONE)
        return r->outcome;
    rec = sto ? state_get(sto, k, 2) : NULL;
    return outcome_parse(json_string_value(json_object_get(rec, "outcome"))
                             ? json_string_value(json_object_get(rec, "outcome"))
                             : "");
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
        if (!step_required(sto, s) || step_publishes(sto, s) || s->when != WHEN_SUCCESS)
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
    set_result(r, RELHOST_WAIVED, "waived", m);
    r->retryable = 0;
    free(m);
}

/* A required step hit a retryable tool error: defer the release (exit 75) unless it has
 * deferred max_defers times or is past defer_deadline; then fail closed. */
static int defer_or_exhaust(const plan *p, step_result *r, state *sto)
{
    int defers = r->defers + 1;
    double created = sto ? time_parse_iso8601(json_string_value(json_object_get(state_root(sto),
                                                                       "created_at")))
                         : 0;
    int late = p->defer_deadline > 0 && created > 0 && time_wall() - created > p->defer_deadline;
    r->defers = defers;
    if (defers > p->max_defers || late) {
        char *m = xasprintf("%s; deferred %d time(s)%s: failing closed (max_defers %d)",
                            r->message ? r->message : "retryable tool error", defers - 1,
                            late ? " and past defer_deadline" : "", p->max_defers);
        set_result(r, RELHOST_FAILED, "tool_error_exhausted", m);
        free(m);
        r->retryable = 0;
        return EXIT_FAILED;
    }
    return EXIT_DEFERRED;
}

/* Why the release failed, for the quarantine reason and the alarm: the step, its message, and
 * each failing check of its jobs ("arena: sps_max 12000 >= 30000"). */
static char *failure_summary(const step_result *r, state *sto)
{
    strbuf b;
    const char *id;
    json_t *job;
    int n = 0;
    sb_init(&b);
    sb_printf(&b, "step %s %s", r->step->inst.name, outcome_name(r->outcome));
    if (r->reason)
        sb_printf(&b, " (%s)", r->reason);
    if (r->message)
        sb_printf(&b, ": %.300s", r->message);
    json_object_foreach(sto ? json_object_get(state_root(sto), "jobs") : NULL, id, job) {
        size_t i;
        json_t *c;
        const char *js = json_string_value(json_object_get(job, "step"));
        (void)id;
        if (!js || strcmp(js, r->step->inst.name) != 0)
            continue;
        json_array_foreach(json_object_get(json_object_get(job, "evidence"), "checks"), i, c) {
            json_t *act = json_object_get(c, "actual");
            if (json_is_true(json_object_get(c, "passed")) || n >= 8)
                continue;
            n++;
            sb_printf(&b, "; %s: %s ",
                      json_string_value(json_object_get(job, "validation")) ?: id,
                      json_string_value(json_object_get(c, "key")) ?: "?");
            if (json_is_number(act))
                sb_printf(&b, "%g", json_number_value(act));
            else
                sb_puts(&b, "missing");
            sb_printf(&b, " %s %g", json_string_value(json_object_get(c, "op")) ?: "?",
                      json_number_value(json_object_get(c, "expected")));
            if (json_is_number(json_object_get(c, "baseline")))
                sb_printf(&b, " (baseline %g)", json_number_value(json_object_get(c, "baseline")));
        }
    }
    return sb_take(&b);
}

/*
 * A step that PASSED in an earlier run of this release, under the same plan, is not run again
 * (its effect - a tag, a post, a promotion - never repeats) unless --rerun names it. A step
 * whose required jobs no longer all pass in the record is not complete.
 */
static int already_completed(const plan *p, const run_options *o, state *sto, step_result *r)
{
    const char *k[2] = {"steps", r->step->inst.name};
    json_t *prev = sto ? state_get(sto, k, 2) : NULL;
    const char *ph = json_string_value(json_object_get(prev, "plan_hash"));
    step_verdict sv;
    int done;
    /* a publishing step's effect never repeats, whatever the plan says now; another step runs
     * again when the plan changed */
    int pub = step_publishes(sto, r->step);
    if (o->mode != RELHOST_MODE_RUN || o->monitor || r->step->when != WHEN_SUCCESS ||
        rerun_asked(o, r->step->inst.name) || (!pub && (!ph || strcmp(ph, p->hash) != 0)) ||
        outcome_parse(json_string_value(json_object_get(prev, "outcome"))
                          ? json_string_value(json_object_get(prev, "outcome")) : "") !=
            RELHOST_PASSED)
        return 0;
    verdict_step(state_root(sto), r->step->inst.name, RELHOST_PASSED, NULL, time_wall(), &sv);
    done = sv.outcome == RELHOST_PASSED;
    free(sv.message);
    if (done) {
        char *m = xasprintf("already completed (PASSED at %s); `--rerun %s` runs it again",
                            json_string_value(json_object_get(prev, "ended_at"))
                                ? json_string_value(json_object_get(prev, "ended_at")) : "?",
                            r->step->inst.name);
        set_result(r, RELHOST_PASSED, "already_completed", m);
        free(m);
    }
    return done;
}

/*
 * A publishing step an earlier run started and never saw end (it died, or was interrupted while
 * the step ran) may have tagged, posted or promoted already: it is not run again blindly. The
 * step is INCONCLUSIVE until a person checks and asks for it with --rerun. 1 when so.
 */
static int in_flight_publish(const run_options *o, state *sto, step_result *r)
{
    const char *k[2] = {"steps", r->step->inst.name};
    json_t *prev = sto ? state_get(sto, k, 2) : NULL;
    const char *at = json_string_value(json_object_get(prev, "in_flight"));
    char *m;
    if (!at || o->mode != RELHOST_MODE_RUN || rerun_asked(o, r->step->inst.name))
        return 0;
    m = xasprintf("the run that started this publishing step at %s ended before the step did: "
                  "its effect (a tag, a post, a promotion) may or may not have happened; check "
                  "it, then `--rerun %s` runs the step again",
                  at, r->step->inst.name);
    set_result(r, RELHOST_INCONCLUSIVE, "interrupted_publish", m);
    free(m);
    return 1;
}

/* Mark a publishing step as started, durably, before it acts (in_flight_publish()). */
static void mark_in_flight(state *sto, const step_result *r)
{
    const char *k[3] = {"steps", r->step->inst.name, "in_flight"};
    char ts[32];
    if (!sto)
        return;
    time_iso8601(time_wall(), ts, sizeof ts);
    state_set(sto, k, 3, json_string(ts));
    if (state_flush(sto) != 0)
        log_msg(RELHOST_LOG_ERROR, "state", "%s", error_last());
}

/* This run's gate verdict, completed by the release's record of the step's required jobs. */
static void complete_from_record(state *sto, step_result *r)
{
    step_verdict sv;
    verdict_step(state_root(sto), r->step->inst.name, r->outcome, r->reason, time_wall(), &sv);
    if (sv.outcome != r->outcome) {
        set_result(r, sv.outcome, sv.reason, sv.message);
        r->retryable = 0;
    }
    free(sv.message);
}

/* --check: the secret variables a step hands to the processes it starts (pass_env: the only
 * way a sealed variable reaches a child) and those its plugin reads itself. */
static void check_secrets_note(const plan_instance *in, evidence *ev)
{
    strvec reads = {0}, passes = {0};
    strbuf b;
    size_t secret = 0;
    sb_init(&b);
    options_secret_use(&in->pl->desc, in->conf, &reads, &passes);
    sb_puts(&b, "secrets: passes ");
    for (size_t i = 0; i < passes.n; i++)
        if (secrets_sealed(passes.v[i]))
            sb_printf(&b, "%s%s", secret++ ? ", " : "", passes.v[i]);
    sb_printf(&b, "%s to its processes (pass_env)", secret ? "" : "none");
    if (passes.n > secret) {
        sb_puts(&b, "; also hands over ");
        for (size_t i = 0, k = 0; i < passes.n; i++)
            if (!secrets_sealed(passes.v[i]))
                sb_printf(&b, "%s%s", k++ ? ", " : "", passes.v[i]);
    }
    if (reads.n) {
        sb_puts(&b, "; reads ");
        for (size_t i = 0; i < reads.n; i++)
            sb_printf(&b, "%s%s", i ? ", " : "", reads.v[i]);
        sb_puts(&b, " itself");
    }
    evidence_note(ev, b.s);
    sb_free(&b);
    sv_free(&reads);
    sv_free(&passes);
}

/* What one pass over the steps carries from step to step. */
struct walk {
    plan *p;
    const run_options *o;
    run_result *out;
    state *sto;
    int stop;            /* a required step did not pass: success steps are skipped from here */
    const char *stopper; /* which one */
    int code;            /* the release's exit code so far */
    int frozen_skips;    /* publishing steps held by the freeze */
    const relhost_ctx *base;
    jobs *jb;
    const char *worktree; /* the candidate's checkout, or NULL */
};

typedef enum { GO_RUN, GO_SKIP, GO_SKIP_UNRECORDED, GO_BREAK } step_go;

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
        set_result(r, RELHOST_SKIPPED, "not_qualified", m);
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
    set_result(r, RELHOST_SKIPPED, "frozen", m);
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
static step_go step_decide(struct walk *w, size_t i, int is_hook)
{
    const plan_step *st = &w->p->steps[i];
    step_result *r = &w->out->steps[i];
    const run_options *o = w->o;
    int publishes = step_publishes(w->sto, st);
    if (o->monitor && (publishes || st->when == WHEN_ON_FAILURE) && !is_hook) {
        set_result(r, RELHOST_SKIPPED, "monitor",
                   "a monitor run publishes nothing and raises no release alarm: a failure "
                   "rolls back instead");
        return GO_SKIP;
    }
    if (loop_interrupted())
        return GO_BREAK;
    /* A deferral is no failure: the alarm waits until the release fails closed. */
    if (st->when == WHEN_ON_FAILURE && (!w->stop || w->code == EXIT_DEFERRED) &&
        o->mode == RELHOST_MODE_RUN) {
        set_result(r, RELHOST_SKIPPED, "not_needed", "runs only when the release fails");
        return GO_SKIP_UNRECORDED;
    }
    if (!is_hook && already_completed(w->p, o, w->sto, r))
        return GO_SKIP_UNRECORDED;
    if (w->stop && st->when == WHEN_SUCCESS) {
        char *m = xasprintf("required step \"%s\" did not pass", w->stopper);
        set_result(r, RELHOST_SKIPPED, "upstream_failed", m);
        free(m);
        return GO_SKIP;
    }
    if (publishes && o->mode == RELHOST_MODE_RUN && !is_hook && in_flight_publish(o, w->sto, r)) {
        if (step_required(w->sto, st)) {
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
static void gate_result(struct walk *w, const plan_step *st, step_result *r, int orc,
                        relhost_verdict *v, const char *m)
{
    relhost_outcome oc;
    if (orc != 0 && loop_interrupted()) {
        w->out->interrupted = 1;
        set_result(r, RELHOST_NONE, "interrupted", m ? m : "interrupted");
        return;
    }
    if (orc != 0) {
        set_result(r, RELHOST_ERROR, "tool_error", m ? m : "the plugin failed without saying why");
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
    if (oc == RELHOST_SKIPPED && step_required(w->sto, st) && w->o->mode == RELHOST_MODE_RUN)
        oc = RELHOST_INCONCLUSIVE;
    set_result(r, oc, v->reason, m);
    r->retryable = oc == RELHOST_ERROR && v->retryable;
}

/* Run step i's gate, then complete, waive, record and report its result. */
static void run_gate(struct walk *w, size_t i, int is_hook, void *inst)
{
    const plan_step *st = &w->p->steps[i];
    const run_options *o = w->o;
    step_result *r = &w->out->steps[i];
    relhost_verdict v = {.struct_size = sizeof v};
    char *unqualified = NULL, *m;
    hostctx hc;
    int orc;
    {
        /* defers spent by earlier runs of this release carry over */
        const char *k[2] = {"steps", st->inst.name};
        json_t *prev = w->sto ? state_get(w->sto, k, 2) : NULL;
        r->defers = (int)json_integer_value(json_object_get(prev, "defers"));
    }
    hostctx_init(&hc, w->base, st->inst.plugin_name, st->inst.name, &r->ev, st->inst.store);
    hc.jobs = w->jb;
    hc.plan = w->p;
    hc.state = w->sto;
    hc.worktree = w->worktree;
    hc.failure = w->out->failure;
    hc.failure_code = w->code;
    if (!is_hook && o->mode == RELHOST_MODE_RUN) {
        relhost_outcome bo = RELHOST_NONE;
        int b = publish_blocker(w->p, w->out, i, w->sto, &bo);
        if (b >= 0)
            unqualified = xasprintf("required step \"%s\" is %s for this candidate",
                                    w->p->steps[b].inst.name,
                                    bo == RELHOST_NONE ? "not run" : outcome_name(bo));
        hc.unqualified = unqualified;
    }
    hc.promoted = &w->out->promoted;
    template_set("step", st->inst.name);
    r->started = time_wall();
    r->ran = 1;
    if (o->mode == RELHOST_MODE_RUN && !is_hook && step_publishes(w->sto, st))
        mark_in_flight(w->sto, r);
    orc = st->inst.pl->desc.gate->run(&hc.pub, inst, &v);
    r->ended = time_wall();
    template_set("step", NULL);
    m = hostctx_take_fail(&hc);
    gate_result(w, st, r, orc, &v, m);
    free(m);
    hostctx_fini(&hc);
    free(unqualified);
    if (o->mode == RELHOST_MODE_RUN && w->sto && !w->out->interrupted && !is_hook && !o->hooks)
        complete_from_record(w->sto, r);
    if (o->mode == RELHOST_MODE_RUN && w->sto && !w->out->interrupted)
        apply_waiver(r, w->sto);
    /* A launch decides nothing: step results are recorded by the run that waits. */
    if (o->mode == RELHOST_MODE_RUN)
        record_step(w->sto, w->p, r);
    report_step(w->p, r);
}

/* The console's lines for the jobs of the step just run. */
static void report_step_jobs(struct walk *w, step_result *r)
{
    strvec ids = {0};
    int *resumed;
    jobs_ids(w->jb, r->step->inst.name, &ids);
    resumed = xcalloc(ids.n + 1, sizeof *resumed);
    for (size_t k = 0; k < ids.n; k++)
        resumed[k] = jobs_resumed(w->jb, ids.v[k]);
    report_jobs(w->p, r, state_root(w->sto), &ids, resumed);
    free(resumed);
    sv_free(&ids);
}

/* What step i's result does to the release: a required success step that did not pass stops
 * the walk and sets the exit code (a retryable ERROR defers, until it is exhausted); any other
 * step's failure only warns. */
static void account_step(struct walk *w, size_t i)
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
    if (!step_required(w->sto, st)) {
        log_msg(RELHOST_LOG_WARN, st->inst.name, "optional step %s; the release goes on",
                outcome_name(r->outcome));
        return;
    }
    c = outcome_exit_code(r->outcome, r->retryable);
    if (c == EXIT_DEFERRED) {
        c = defer_or_exhaust(w->p, r, w->sto);
        record_step(w->sto, w->p, r);
        if (c == EXIT_FAILED)
            report_step(w->p, r);
    }
    w->stop = 1;
    w->stopper = st->inst.name;
    w->code = exit_code_worst(w->code, c);
    if (!w->out->failure && c != EXIT_DEFERRED)
        w->out->failure = failure_summary(r, w->sto);
}

/* --rerun, --step and --profile name what the plan has; the profile (a plan profile named
 * "default" applies when --profile names none) into *prof. 0 or RELHOST_EINVAL. */
static int check_selection(const plan *p, const run_options *o, const plan_profile **prof)
{
    int rc;
    for (size_t i = 0; o->rerun && o->rerun[i]; i++) {
        size_t k = 0;
        while (k < p->nsteps && fnmatch(o->rerun[i], p->steps[k].inst.name, 0) != 0)
            k++;
        if (k == p->nsteps)
            return error_set(RELHOST_EINVAL, "--rerun %s: no such step in %s (a step name or a "
                             "glob: --rerun '*' runs every step again)", o->rerun[i], p->path);
    }
    for (size_t i = 0; o->steps && o->steps[i]; i++)
        if (!plan_find_step(p, o->steps[i])) {
            strbuf b;
            sb_init(&b);
            for (size_t k = 0; k < p->nsteps; k++)
                sb_printf(&b, "%s%s", k ? ", " : "", p->steps[k].inst.name);
            rc = error_set(RELHOST_EINVAL, "--step %s: no such step in %s; steps: %s",
                           o->steps[i], p->path, b.s);
            sb_free(&b);
            return rc;
        }
    /* A plan profile named "default" applies when --profile names none. */
    if (!o->profile)
        *prof = plan_find_profile(p, "default");
    if (o->profile && !(*prof = plan_find_profile(p, o->profile))) {
        strbuf b;
        sb_init(&b);
        for (size_t k = 0; k < p->nprofiles; k++)
            sb_printf(&b, "%s%s", k ? ", " : "", p->profiles[k].name);
        rc = error_set(RELHOST_EINVAL, "--profile %s: no such profile in %s; profiles: %s",
                       o->profile, p->path, b.len ? b.s : "(none)");
        sb_free(&b);
        return rc;
    }
    return 0;
}

/* Per step: the jobs its gate requires (job_require), whether the plan requires it and whether
 * it publishes (a success step), its name: the release's requirement set. */
struct reqset {
    strvec *reqs;
    int *required, *publishing;
    const char **names;
};

/* Open every step's gate (which validates its configuration) and collect the requirement set.
 * 0, or RELHOST_EINVAL naming the step whose configuration was refused. */
static int open_gates(plan *p, const run_options *o, const relhost_ctx *base, run_result *out,
                      opened *gates, struct reqset *rs)
{
    int rc = 0;
    for (size_t i = 0; i < p->nsteps && rc == 0; i++) {
        const plan_step *st = &p->steps[i];
        const relhost_gate_ops *g = st->inst.pl->desc.gate;
        hostctx hc;
        out->steps[i].step = st;
        out->steps[i].selected = selected(o, st->inst.name);
        hostctx_init(&hc, base, st->inst.plugin_name, st->inst.name, &out->steps[i].ev,
                     st->inst.store);
        hc.requires = &rs->reqs[i];
        hc.step_required = st->required && st->when == WHEN_SUCCESS;
        hc.plan = p;
        rs->names[i] = st->inst.name;
        rs->required[i] = st->required && st->when == WHEN_SUCCESS;
        rs->publishing[i] = st->publishes && st->when == WHEN_SUCCESS;
        template_set("step", st->inst.name);
        if (!g->open) {
            rc = error_set(RELHOST_EINVAL, "%s: step \"%s\": plugin %s has no open()",
                           st->inst.where, st->inst.name, st->inst.plugin_name);
        } else if ((rc = g->open(&hc.pub, st->inst.conf, &gates[i].inst)) != 0) {
            char *m = hostctx_take_fail(&hc);
            rc = error_set(RELHOST_EINVAL, "%s: step \"%s\" (plugin %s): %s", st->inst.where,
                           st->inst.name, st->inst.plugin_name,
                           m ? m : "its configuration was refused (no reason given)");
            free(m);
        } else {
            gates[i].open = 1;
        }
        template_set("step", NULL);
        hostctx_fini(&hc);
    }
    return rc;
}

/* Open the release's state and everything a run needs before its first step: refusals first
 * (another profile, a changed candidate), so that a refused run changes nothing; then the run
 * record, the requirement set, the candidate's template variables, the job layer, orphans of a
 * relhost that died stopped, a cut-short registry operation finished, the baseline read. */
static int open_release(plan *p, const run_options *o, const plan_profile *prof,
                        const struct reqset *rs, relhost_ctx *base, state **sto, candidate *cand,
                        jobs **jb)
{
    int rc;
    if (state_open(run_state_dir, run_record, STATE_CREATE, sto) != 0)
        return error_wrap(RELHOST_EINVAL, "release %s", run_record);
    if (state_warning(*sto))
        log_msg(RELHOST_LOG_WARN, "state", "%s", state_warning(*sto));
    /* Refusals first, so that a refused run changes nothing in the state. Hooks act on a
     * release qualified before: no requirement or candidate checkout to check. */
    if (!o->hooks &&
        ((rc = verdict_check_profile(state_root(*sto), run_record, prof ? prof->name : NULL)) != 0 ||
         (rc = candidate_fix(p, *sto, o->new_candidate, cand)) != 0))
        return rc;
    record_run_start(p, *sto);
    if (!o->hooks)
        verdict_store_requirements(*sto, prof ? prof->name : NULL, rs->names, rs->reqs,
                                   rs->required, rs->publishing, p->nsteps);
    base->commit = cand->commit;
    if (cand->commit)
        template_set("commit", cand->commit);
    if (cand->worktree)
        template_set("worktree", cand->worktree);
    *jb = jobs_new(p, *sto, base);
    jobs_set_workdir(*jb, cand->worktree);
    proc_set_release(run_state_dir, run_record); /* tags every process from here */
    if (o->hooks)
        return 0;
    jobs_stop_orphans(*jb);
    /* then whatever else a relhost that died left running in this state folder */
    if (proc_stop_release_orphans(proc_release_tag()) < 0)
        log_msg(RELHOST_LOG_ERROR, "release", "%s", error_last());
    /* A promotion or rollback a crash cut short is finished (or undone) first, so that the
     * baseline read next agrees with last_green. A registry that cannot be opened is the
     * registry steps' business: they say why. */
    {
        registry *rg = NULL;
        if (registry_open(p->registry_dir, 0, &rg) != 0)
            log_msg(RELHOST_LOG_DEBUG, "registry", "%s", error_last());
        registry_close(rg);
    }
    /* The baseline store, read once per run: a corrupt one is exit 2 before any step runs
     * (hooks never evaluate checks: a rollback must not depend on it). */
    if (jobs_load_baseline(*jb) != 0)
        return error_wrap(RELHOST_EINVAL, "release %s", p->version);
    return 0;
}

/* The release's exit code (a freeze that held back every publication is exit 4), what keeps
 * running remotely, and the run's end in the state and on the console. */
static void finish_walk(struct walk *w)
{
    plan *p = w->p;
    run_result *out = w->out;
    if (w->code == EXIT_OK && w->frozen_skips)
        w->code = EXIT_FROZEN; /* every gate green, but nothing was published */
    out->exit_code = out->interrupted ? EXIT_INTERRUPTED : w->code;
    out->launch = w->o->mode == RELHOST_MODE_LAUNCH;
    if (out->interrupted && w->jb && jobs_detached(w->jb))
        out_printf("%zu remote job(s) keep running; re-run to re-attach, or cancel them with: "
                   "relhost kill -c %s --version %s\n", jobs_detached(w->jb), p->path,
                   p->version);
    if (out->launch && w->sto && state_snapshot(w->sto) != 0)
        log_msg(RELHOST_LOG_ERROR, "state", "saving state failed: %s", error_last());
    if (out->launch)
        out_printf("launched: remote jobs run on; follow them with `relhost status -c %s "
                   "--version %s`; `relhost -c %s --version %s` waits for them and decides "
                   "(and runs the local ones)\n",
                   p->path, p->version, p->path, p->version);
    else
        record_run_end(w->sto, p, out);
    report_end(p, out);
}

/* --check: what each step would do (its gate's describe()) and which secrets it passes. */
static void describe_steps(const plan *p, const relhost_ctx *base, const opened *gates,
                           run_result *out)
{
    for (size_t i = 0; i < p->nsteps; i++) {
        const plan_step *st = &p->steps[i];
        const relhost_gate_ops *g = st->inst.pl->desc.gate;
        hostctx hc;
        check_secrets_note(&st->inst, &out->steps[i].ev);
        if (!RELHOST_HAS(g, describe) || !g->describe)
            continue;
        hostctx_init(&hc, base, st->inst.plugin_name, st->inst.name, &out->steps[i].ev,
                     st->inst.store);
        if (g->describe(&hc.pub, gates[i].inst) != 0) {
            char *m = hostctx_take_fail(&hc);
            evidence_note(&out->steps[i].ev, m ? m : "describe() failed");
            free(m);
        }
        hostctx_fini(&hc);
    }
}

/* The run: every selected step in order, each asked step_decide() "run or skip, and why".
 * Pass 0 runs the release's steps; pass 1 the hooks: on_rollback when asked for, or on_promote
 * once a promote step made this release last green. Then the exit code and the run's end. */
static void walk_steps(struct walk *w, const opened *gates)
{
    plan *p = w->p;
    const run_options *o = w->o;
    run_result *out = w->out;
    report_begin(p, o);
    for (int pass = 0; pass < 2 && !out->interrupted; pass++)
        for (size_t i = 0; i < p->nsteps && !out->interrupted; i++) {
            const plan_step *st = &p->steps[i];
            step_result *r = &out->steps[i];
            step_when hook = o->hooks ? o->hooks
                                      : (out->promoted ? WHEN_ON_PROMOTE : WHEN_SUCCESS);
            int is_hook = st->when == WHEN_ON_PROMOTE || st->when == WHEN_ON_ROLLBACK;
            step_go go;
            if (pass == 0 ? (is_hook || o->hooks) : (!is_hook || st->when != hook))
                continue;
            if (!r->selected)
                continue;
            go = step_decide(w, i, is_hook);
            if (go == GO_BREAK) {
                out->interrupted = 1;
            } else if (go != GO_RUN) {
                if (go == GO_SKIP)
                    record_step(w->sto, p, r);
                report_step(p, r);
            } else {
                run_gate(w, i, is_hook, gates[i].inst);
                report_step_jobs(w, r);
                if (!out->interrupted)
                    account_step(w, i);
            }
        }
    finish_walk(w);
}

int pipeline_run(plan *p, const run_options *o, run_result *out)
{
    relhost_ctx base;
    strvec only = {0};
    const plan_profile *prof = NULL;
    opened *gates;
    int rc = 0;
    state *sto = NULL;
    jobs *jb = NULL;
    candidate cand = {0};
    freeze_info frz;
    struct walk w = {.p = p, .o = o, .out = out, .code = EXIT_OK};
    struct reqset rs = {0};

    memset(out, 0, sizeof *out);
    run_state_dir = o->state_dir ? o->state_dir : p->state_dir;
    run_record = o->record ? o->record : p->version;
    if ((rc = check_selection(p, o, &prof)) != 0)
        return rc;
    base_ctx(p, o, &base, &only, prof);
    base.commit = p->commit;

    out->nsteps = p->nsteps;
    out->steps = xcalloc(p->nsteps, sizeof *out->steps);
    gates = xcalloc(p->nsteps, sizeof *gates);
    rs.reqs = xcalloc(p->nsteps + 1, sizeof *rs.reqs);
    rs.names = xcalloc(p->nsteps + 1, sizeof *rs.names);
    rs.required = xcalloc(p->nsteps + 1, sizeof *rs.required);
    rs.publishing = xcalloc(p->nsteps + 1, sizeof *rs.publishing);

    /* Open every gate first: all configuration errors surface before anything runs. */
    rc = open_gates(p, o, &base, out, gates, &rs);
    if (rc == 0 && o->mode != RELHOST_MODE_CHECK)
        rc = check_writable_dirs(p);
    if (rc == 0)
        rc = freeze_get(p->state_dir, &frz);
    if (rc == 0 && o->mode != RELHOST_MODE_CHECK)
        rc = open_release(p, o, prof, &rs, &base, &sto, &cand, &jb);
    if (rc == 0 && o->mode == RELHOST_MODE_CHECK) {
        describe_steps(p, &base, gates, out);
        report_check(p, out);
    } else if (rc == 0) {
        w.sto = sto;
        w.base = &base;
        w.jb = jb;
        w.worktree = cand.worktree;
        walk_steps(&w, gates);
    }
    jobs_free(jb);
    candidate_free(&cand);
    if (sto && state_close(sto) != 0)
        log_msg(RELHOST_LOG_ERROR, "state", "saving state failed: %s", error_last());

    for (size_t i = p->nsteps; i-- > 0;)
        if (gates[i].open && p->steps[i].inst.pl->desc.gate->close)
            p->steps[i].inst.pl->desc.gate->close(gates[i].inst);
    free(gates);
    for (size_t i = 0; rs.reqs && i < p->nsteps; i++)
        sv_free(&rs.reqs[i]);
    free(rs.reqs);
    free(rs.names);
    free(rs.required);
    free(rs.publishing);
    sv_free(&only);
    return rc;
}

void run_result_free(run_result *r)
{
    for (size_t i = 0; i < r->nsteps; i++) {
        free(r->steps[i].reason);
        free(r->steps[i].message);
        free(r->steps[i].waived_from_reason);
        evidence_free(&r->steps[i].ev);
    }
    free(r->steps);
    free(r->failure);
    memset(r, 0, sizeof *r);
}
