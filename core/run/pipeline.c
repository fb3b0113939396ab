/* SPDX-License-Identifier: MIT */
/*
 * pipeline.c - the walk: open every gate, open the release (pipeline_release.c), then ask each
 * selected step whether it runs and run it (pipeline_step.c), and end the run.
 */
#include "run/guard.h"
#include "run/pipeline.h"

#include "base/error.h"
#include "base/log.h"
#include "base/outcome.h"
#include "base/secrets.h"
#include "plan/keycheck.h"
#include "plan/template.h"
#include "record/state.h"
#include "record/verdict.h"
#include "run/freeze.h"
#include "run/host.h"
#include "run/loop.h"
#include "run/jobs.h"
#include "run/pipeline_int.h"
#include "view/report.h"

#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

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
int pipeline_rerun_asked(const run_options *o, const char *name)
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

int pipeline_step_required(state *sto, const plan_step *s)
{
    return sto ? verdict_step_required(state_root(sto), s->inst.name, s->required) : s->required;
}

int pipeline_step_publishes(state *sto, const plan_step *s)
{
    return sto ? verdict_step_publishes(state_root(sto), s->inst.name, s->publishes) : s->publishes;
}

relhost_outcome pipeline_recorded_outcome(const step_record *s)
{
    return s->outcome_raw ? outcome_parse(s->outcome_raw) : RELHOST_NONE;
}

void pipeline_set_result(step_result *r, relhost_outcome oc, const char *reason, const char *msg)
{
    r->outcome = oc;
    free(r->reason);
    r->reason = reason ? xstrdup(reason) : NULL;
    if (msg) {
        free(r->message);
        r->message = xstrdup(msg);
    }
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

/* --check: one step's describe() and secrets note into its evidence. 1 when its plugin died,
 * exited or hung in describe() (an isolated one: inside relhost the guard ends the run). */
static int describe_step(const plan *p, size_t i, const relhost_ctx *base, const opened *gates,
                         run_result *out)
{
    const plan_step *st = &p->steps[i];
    const relhost_gate_ops *g = st->inst.pl->desc.gate;
    hostctx hc;
    int fault;
    check_secrets_note(&st->inst, &out->steps[i].ev);
    if (!RELHOST_HAS(g, describe) || !g->describe)
        return 0;
    hostctx_init(&hc, base, st->inst.plugin_name, st->inst.name, &out->steps[i].ev, st->inst.store);
    int gd = guard_enter(st->inst.plugin_name, "describe", NULL);
    int drc = g->describe(&hc.pub, gates[i].inst);
    guard_leave(gd);
    if (drc != 0) {
        char *m = hostctx_take_fail(&hc);
        evidence_note(&out->steps[i].ev, m ? m : "describe() failed");
        free(m);
    }
    fault = hc.plugin_fault != NULL;
    hostctx_fini(&hc);
    return fault;
}

/* --check: what each step would do (its gate's describe()) and which secrets it passes, each
 * step printed once described and its notes then freed (a plan of 50,000 steps would otherwise
 * hold 100,000 notes until the end). A plugin that dies in describe() fails the check: exit 3. */
static void describe_steps(const plan *p, const relhost_ctx *base, const opened *gates,
                           run_result *out)
{
    size_t faults = 0;
    report_check_head(p);
    for (size_t i = 0; i < p->nsteps; i++) {
        faults += (size_t)describe_step(p, i, base, gates, out);
        report_check_step(p, i, &out->steps[i]);
        evidence_free(&out->steps[i].ev);
    }
    out->exit_code = faults ? EXIT_UNDECIDED : EXIT_OK;
    report_check_tail(faults);
}

/* --rerun, --step and --profile name what the plan has; the profile (a plan profile named
 * "default" applies when --profile names none) into *prof. 0 or RELHOST_EINVAL. */
static int check_selection(const plan *p, const run_options *o, const plan_profile **prof)
{
    int rc;
    strvec names = {0};
    char *hint;
    for (size_t k = 0; k < p->nsteps; k++)
        sv_push(&names, p->steps[k].inst.name);
    for (size_t i = 0; o->rerun && o->rerun[i]; i++) {
        size_t k = 0;
        while (k < p->nsteps && fnmatch(o->rerun[i], p->steps[k].inst.name, 0) != 0)
            k++;
        if (k < p->nsteps)
            continue;
        /* a glob that matches nothing is no misspelt name */
        hint = strpbrk(o->rerun[i], "*?[")
                   ? xstrdup("")
                   : keycheck_hint(o->rerun[i], (const char *const *)names.v, names.n, NULL, NULL);
        rc = error_set(RELHOST_EINVAL,
                       "--rerun %s: no such step in %s%s (a step name or a glob: --rerun '*' "
                       "runs every step again)",
                       o->rerun[i], p->path, hint);
        free(hint);
        sv_free(&names);
        return rc;
    }
    for (size_t i = 0; o->steps && o->steps[i]; i++)
        if (!plan_find_step(p, o->steps[i])) {
            strbuf b;
            sb_init(&b);
            for (size_t k = 0; k < names.n; k++)
                sb_printf(&b, "%s%s", k ? ", " : "", names.v[k]);
            hint = keycheck_hint(o->steps[i], (const char *const *)names.v, names.n, NULL, NULL);
            rc = error_set(RELHOST_EINVAL, "--step %s: no such step in %s%s; steps: %s",
                           o->steps[i], p->path, hint, b.s);
            free(hint);
            sb_free(&b);
            sv_free(&names);
            return rc;
        }
    sv_free(&names);
    /* A plan profile named "default" applies when --profile names none. */
    if (!o->profile)
        *prof = plan_find_profile(p, "default");
    if (o->profile && !(*prof = plan_find_profile(p, o->profile))) {
        strbuf b;
        sb_init(&b);
        for (size_t k = 0; k < p->nprofiles; k++) {
            sb_printf(&b, "%s%s", k ? ", " : "", p->profiles[k].name);
            sv_push(&names, p->profiles[k].name);
        }
        hint = keycheck_hint(o->profile, (const char *const *)names.v, names.n, NULL, NULL);
        rc = error_set(RELHOST_EINVAL, "--profile %s: no such profile in %s%s; profiles: %s",
                       o->profile, p->path, hint, b.len ? b.s : "(none)");
        free(hint);
        sb_free(&b);
        sv_free(&names);
        return rc;
    }
    return 0;
}

/* Open every step's gate (which validates its configuration) and collect the requirement set.
 * 0, or RELHOST_EINVAL naming the step whose configuration was refused. */

/* A gate's open(), guarded (core/run/guard.h): no state is open yet, so a crash is named only. */
static int guarded_open(const relhost_gate_ops *g, hostctx *hc, const plan_step *st, void **inst)
{
    int t = guard_enter(st->inst.plugin_name, "open", NULL);
    int rc = g->open(&hc->pub, st->inst.conf, inst);
    guard_leave(t);
    return rc;
}

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
                           plan_where(&st->inst), st->inst.name, st->inst.plugin_name);
        } else if ((rc = guarded_open(g, &hc, st, &gates[i].inst)) != 0) {
            char *m = hostctx_take_fail(&hc);
            rc = error_set(RELHOST_EINVAL, "%s: step \"%s\" (plugin %s): %s", plan_where(&st->inst),
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

/* The console's lines for the jobs of the step just run. */
static void report_step_jobs(struct walk *w, step_result *r)
{
    strvec ids = {0};
    int *resumed;
    jobs_ids_resumed(w->jb, r->step->inst.name, &ids, &resumed);
    if (ids.n && loop_stop_code(NULL) == EXIT_DEFERRED)
        /* the state broke during the step: what follows is what ran, not what was kept */
        out_printf("      NOT SAVED: the release state could not be written; the results "
                   "below are not recorded and the next run does these jobs again\n");
    report_jobs(w->p, r, state_root(w->sto), &ids, resumed);
    free(resumed);
    sv_free(&ids);
}

/* The run: every selected step in order, each asked pipeline_step_decide() "run or skip, and
 * why". Pass 0 runs the release's steps; pass 1 the hooks: on_rollback when asked for, or
 * on_promote once a promote step made this release last green. Then the exit code and the run's
 * end. */
static void walk_steps(struct walk *w, const opened *gates)
{
    plan *p = w->p;
    const run_options *o = w->o;
    run_result *out = w->out;
    out->rollback_hooks = o->hooks == WHEN_ON_ROLLBACK;
    report_begin(p, o);
    for (int pass = 0; pass < 2 && !out->interrupted; pass++)
        for (size_t i = 0; i < p->nsteps && !out->interrupted; i++) {
            const plan_step *st = &p->steps[i];
            step_result *r = &out->steps[i];
            step_when hook = o->hooks ? o->hooks : (out->promoted ? WHEN_ON_PROMOTE : WHEN_SUCCESS);
            int is_hook = st->when == WHEN_ON_PROMOTE || st->when == WHEN_ON_ROLLBACK;
            step_go go;
            if (pass == 0 ? (is_hook || o->hooks) : (!is_hook || st->when != hook))
                continue;
            if (!r->selected)
                continue;
            pipeline_notes_due(w);
            go = pipeline_step_decide(w, i, is_hook);
            if (go == GO_BREAK) {
                out->interrupted = 1;
            } else if (go != GO_RUN) {
                if (go == GO_SKIP)
                    pipeline_record_step(w, r);
                report_step(p, r);
            } else {
                pipeline_run_gate(w, i, is_hook, gates[i].inst);
                report_step_jobs(w, r);
                if (!out->interrupted)
                    pipeline_account_step(w, i);
            }
        }
    pipeline_finish_walk(w);
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
    w.state_dir = o->state_dir ? o->state_dir : p->state_dir;
    w.record = o->record ? o->record : p->version;
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
    if (rc == 0)
        rc = pipeline_check_registry(p);
    if (rc == 0 && o->mode != RELHOST_MODE_CHECK)
        rc = pipeline_check_dirs(&w);
    if (rc == 0)
        rc = freeze_get(p->state_dir, &frz);
    if (rc == 0 && o->mode != RELHOST_MODE_CHECK)
        rc = pipeline_open_release(&w, prof, &rs, &base, &sto, &cand, &jb);
    /* the gates' required validations are in the state now: not kept for the whole run */
    for (size_t i = 0; i < p->nsteps; i++)
        sv_free(&rs.reqs[i]);
    if (rc == 0 && o->mode == RELHOST_MODE_CHECK) {
        describe_steps(p, &base, gates, out);
    } else if (rc == 0) {
        w.sto = sto;
        w.base = &base;
        w.jb = jb;
        w.worktree = cand.worktree;
        walk_steps(&w, gates);
    }
    jobs_free(jb);
    candidate_free(&cand);
    guard_set_state(NULL);
    if (sto && state_close(sto) != 0)
        log_msg(RELHOST_LOG_ERROR, "state", "saving state failed: %s", error_last());

    for (size_t i = p->nsteps; i-- > 0;)
        if (gates[i].open && p->steps[i].inst.pl->desc.gate->close) {
            int g = guard_enter(p->steps[i].inst.plugin_name, "close", NULL);
            p->steps[i].inst.pl->desc.gate->close(gates[i].inst);
            guard_leave(g);
        }
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
