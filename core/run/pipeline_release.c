/* SPDX-License-Identifier: MIT */
/*
 * pipeline_release.c - the release around the steps: its folders, its state opened (refusals
 * first), the run's start and end and every step's record written (core/record/record_write.h),
 * the release notes kept current.
 */
#include "base/error.h"
#include "base/trust.h"
#include "base/log.h"
#include "base/outcome.h"
#include "plan/template.h"
#include "record/record.h"
#include "record/record_write.h"
#include "record/verdict.h"
#include "registry/registry.h"
#include "run/guard.h"
#include "run/pipeline_int.h"
#include "run/loop.h"
#include "run/proc.h"
#include "view/logview.h"
#include "view/report.h"
#include "view/report_files.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <errno.h>
#include <unistd.h>

/* The job logs are what the metrics are read from: another user who may write the log folder
 * could change a log while it is read. So log_dir is checked as the state folder is, and the
 * release's own folder in it (log_dir/<version>) must be a folder of relhost's, never a link
 * planted there to send the logs elsewhere. */
static int check_log_folders(const plan *p)
{
    struct stat sb;
    char *refusal, *rel;
    int rc = 0;
    if (stat(p->log_dir, &sb) != 0)
        return error_set(RELHOST_EINVAL, "%s: cannot check log_dir %s: %s", p->log_dir_where,
                         p->log_dir, strerror(errno));
    if ((refusal = trust_own_folder(p->log_dir, &sb)) != NULL) {
        error_set(RELHOST_EINVAL, "%s: log_dir %s", p->log_dir_where, refusal);
        free(refusal);
        return RELHOST_EINVAL;
    }
    rel = path_join(p->log_dir, p->version);
    if (lstat(rel, &sb) == 0 && !S_ISDIR(sb.st_mode))
        rc = error_set(RELHOST_EINVAL,
                       "%s: the release's log folder %s is %s, not a folder: relhost writes "
                       "no log through a link; remove it",
                       p->log_dir_where, rel, S_ISLNK(sb.st_mode) ? "a symbolic link" : "a file");
    free(rel);
    return rc;
}

int pipeline_check_registry(const plan *p)
{
    struct stat sb;
    char *refusal;
    /* not there yet: the first stage or promote makes it, as a folder of relhost's own */
    if (stat(p->registry_dir, &sb) != 0)
        return 0;
    if (!(refusal = trust_own_folder(p->registry_dir, &sb)))
        return 0;
    error_set(RELHOST_EINVAL, "%s: registry_dir %s (found before any step ran)", p->path, refusal);
    free(refusal);
    return RELHOST_EINVAL;
}

int pipeline_check_dirs(const struct walk *w)
{
    const plan *p = w->p;
    const char *dirs[2] = {w->state_dir, p->log_dir};
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
    return check_log_folders(p);
}

static void record_run_start(const plan *p, state *st)
{
    char ts[32];
    time_iso8601(time_wall(), ts, sizeof ts);
    record_write_run_start(st, p->path, p->name, p->hash, ts);
    /* The names (never values) of the secrets masked now: a later view of this release's job
     * logs withholds them unless it can mask the same variables (core/view/logview.h). */
    logview_record_sealed(st);
    if (state_flush(st) != 0)
        log_msg(RELHOST_LOG_ERROR, "state", "%s", error_last());
}

/* The release notes, <state_dir>/release_<version>.md: rewritten whole, so at step ends at most
 * once per NOTES_INTERVAL_S, or per ten times the last rewrite's own time when that is longer
 * (a run of many short steps would otherwise rewrite them at every one: its cost would grow with
 * the square of its length), always at the run's end, and before any step that may read them
 * (a publishing step: the tag's message, the GitHub release body, the announcement; an alert or
 * a hook). */
#define NOTES_INTERVAL_S 1.0
static void write_notes(struct walk *w)
{
    char *path = xasprintf("%s/release_%s.md", w->state_dir, w->record);
    char *err = NULL;
    double t0 = loop_now();
    if (report_write(REPORT_MD, state_root(w->sto), w->p->repo, path, 0, &err) != 0)
        log_msg(RELHOST_LOG_WARN, "report", "release notes %s not written: %s", path,
                err ? err : "?");
    free(err);
    free(path);
    w->notes_at = loop_now();
    w->notes_gap = 10 * (w->notes_at - t0);
    if (w->notes_gap < NOTES_INTERVAL_S)
        w->notes_gap = NOTES_INTERVAL_S;
    w->notes_stale = 0;
    w->notes_due = 0;
}

void pipeline_notes_current(struct walk *w)
{
    if (w->sto && w->notes_stale)
        write_notes(w);
}

void pipeline_record_step(struct walk *w, step_result *r)
{
    state *st = w->sto;
    step_record prev;
    step_write s = {0};
    if (!st)
        return;
    record_read_step(state_root(st), r->step->inst.name, &prev);
    s.name = r->step->inst.name;
    /* The plan's order, which reports sort steps by: started_at has one-second resolution. */
    s.position = (long)(r->step - w->p->steps);
    s.plugin = r->step->inst.plugin_name;
    s.required = pipeline_step_required(st, r->step);
    s.publishes = pipeline_step_publishes(st, r->step);
    s.outcome = r->outcome;
    s.reason = r->reason;
    s.retryable = r->retryable;
    s.defers = r->defers;
    s.message = r->message;
    s.waived_from = r->waived_from;
    s.waived_from_reason = r->waived_from_reason;
    s.ran = r->ran;
    s.started = r->started;
    s.ended = r->ended;
    s.evidence = evidence_to_json(&r->ev);
    /* a publishing step whose run died (or was interrupted) may have had its effect: the mark
     * stays until it ends with an outcome (see in_flight_publish()) */
    if (r->outcome == RELHOST_NONE || (r->reason && strcmp(r->reason, "interrupted_publish") == 0))
        s.in_flight = prev.in_flight;
    /* what "already completed" compares: a step passed under another plan runs again */
    s.plan_hash = w->p->hash;
    record_write_step(st, &s);
    record_step_free(&prev);
    /* a published release is never resumed: the next run without --release starts anew */
    if (pipeline_step_publishes(st, r->step) && r->step->when == WHEN_SUCCESS &&
        r->outcome == RELHOST_PASSED)
        record_write_published(st);
    /* A step's end is a checkpoint: durable at once, the whole state rewritten only once the
     * journal outgrew it (state_checkpoint). */
    if (state_checkpoint(st) != 0) {
        log_msg(RELHOST_LOG_ERROR, "state", "saving state failed: %s", error_last());
        r->unsaved = 1;
    }
    w->notes_stale = 1;
    if (w->notes_at == 0 || loop_now() - w->notes_at >= w->notes_gap)
        w->notes_due = 1;
}

void pipeline_notes_due(struct walk *w)
{
    if (w->sto && w->notes_due)
        write_notes(w);
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
        step_record rec;
        relhost_outcome o;
        if (s->when != WHEN_SUCCESS || !pipeline_step_required(st, s))
            continue;
        record_read_step(state_root(st), s->inst.name, &rec);
        o = pipeline_recorded_outcome(&rec);
        if (o == RELHOST_NONE)
            missing = 1;
        else if (o == RELHOST_SKIPPED && rec.reason && strcmp(rec.reason, "frozen") == 0)
            code = exit_code_worst(code, EXIT_FROZEN);
        else if (!outcome_ok(o))
            code = exit_code_worst(code, outcome_exit_code(o, rec.retryable));
        record_step_free(&rec);
    }
    *decided = !missing || code == EXIT_FAILED || code == EXIT_UNDECIDED;
    return code;
}

static void record_run_end(struct walk *w, const run_result *rr)
{
    char ts[32];
    int decided = 0, code;
    if (!w->sto)
        return;
    time_iso8601(time_wall(), ts, sizeof ts);
    /* A release is finished once its record reached a decision; an interrupted or deferred run,
     * or one that ran only some steps, leaves it for the next run to continue. */
    code = release_verdict(w->p, w->sto, &decided);
    if (rr->interrupted || rr->exit_code == EXIT_DEFERRED) {
        decided = 0;
        code = rr->exit_code;
    } else if (!decided) {
        code = rr->exit_code;
    }
    record_write_run_end(w->sto, ts, decided, code);
    if (state_snapshot(w->sto) != 0)
        log_msg(RELHOST_LOG_ERROR, "state", "saving state failed: %s", error_last());
    write_notes(w);
}

/* --new with a version that was not generated (the plan's, or --release's): a release of that
 * version that ran before would otherwise be continued quietly, as if --new were not given. */
static int refuse_new_of_existing(const plan *p, state *st)
{
    release_record rec;
    int rc = 0;
    memset(&rec, 0, sizeof rec);
    record_read_head(state_root(st), &rec);
    if (rec.created_at)
        rc = error_set(RELHOST_EINVAL,
                       "--new starts a new release, but release %s ran before (first run %s, "
                       "state in %s): drop --new to continue it, or give another version "
                       "(--release V, or version = \"auto\" in the plan, which --new makes anew)",
                       p->version, rec.created_at, p->state_dir);
    record_free(&rec);
    return rc;
}

/* Open the release's state and everything a run needs before its first step: refusals first
 * (another profile, a changed candidate), so that a refused run changes nothing; then the run
 * record, the requirement set, the candidate's template variables, the job layer, orphans of a
 * relhost that died stopped, a cut-short registry operation finished, the baseline read. */
int pipeline_open_release(const struct walk *w, const plan_profile *prof, const struct reqset *rs,
                          relhost_ctx *base, state **sto, candidate *cand, jobs **jb)
{
    plan *p = w->p;
    const run_options *o = w->o;
    int rc;
    if (state_open(w->state_dir, w->record, STATE_CREATE, sto) != 0)
        return error_wrap(RELHOST_EINVAL, "release %s", w->record);
    guard_set_state(*sto); /* a plugin that crashes from here on is recorded in it */
    if (state_warning(*sto))
        log_msg(RELHOST_LOG_WARN, "state", "%s", state_warning(*sto));
    /* Refusals first, so that a refused run changes nothing in the state. Hooks act on a
     * release qualified before: no requirement or candidate checkout to check. */
    if (!o->hooks && !o->monitor && o->new_release && !p->version_auto &&
        (rc = refuse_new_of_existing(p, *sto)) != 0)
        return rc;
    if (!o->hooks &&
        ((rc = verdict_check_profile(state_root(*sto), w->record, prof ? prof->name : NULL)) != 0 ||
         (rc = candidate_fix(p, *sto, o->new_candidate, cand)) != 0))
        return rc;
    record_run_start(p, *sto);
    if (!o->hooks)
        record_write_requirements(*sto, prof ? prof->name : NULL, rs->names, rs->reqs, rs->required,
                                  rs->publishing, p->nsteps);
    base->commit = cand->commit;
    if (cand->commit)
        template_set("commit", cand->commit);
    if (cand->worktree)
        template_set("worktree", cand->worktree);
    *jb = jobs_new(p, *sto, base);
    jobs_set_workdir(*jb, cand->worktree);
    proc_set_release(w->state_dir, w->record); /* tags every process from here */
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
void pipeline_finish_walk(struct walk *w)
{
    plan *p = w->p;
    run_result *out = w->out;
    if (w->code == EXIT_OK && w->frozen_skips)
        w->code = EXIT_FROZEN; /* every gate green, but nothing was published */
    out->exit_code = out->interrupted ? exit_code_interrupted(loop_interrupt_signal()) : w->code;
    out->launch = w->o->mode == RELHOST_MODE_LAUNCH;
    if (out->interrupted && w->jb && jobs_detached(w->jb))
        out_printf("%zu remote job(s) keep running; re-run to re-attach, or cancel them with: "
                   "relhost kill -c %s --release %s\n",
                   jobs_detached(w->jb), p->path, p->version);
    if (out->launch && w->sto && state_snapshot(w->sto) != 0)
        log_msg(RELHOST_LOG_ERROR, "state", "saving state failed: %s", error_last());
    if (out->launch)
        pipeline_notes_current(w);
    if (out->launch)
        out_printf("launched: remote jobs run on; follow them with `relhost status -c %s "
                   "--release %s`; `relhost -c %s --release %s` waits for them and decides "
                   "(and runs the local ones)\n",
                   p->path, p->version, p->path, p->version);
    else
        record_run_end(w, out);
    if (loop_stop_code(NULL)) {
        /* The state broke (core/cli/cli.c on_state_broken): whatever the steps said, nothing
         * past the last save is a decision. */
        out->not_saved = 1;
        out->exit_code = loop_stop_code(NULL);
    }
    if (w->o->write_reports && w->o->write_reports(w->o->reports_arg) != 0 &&
        out->exit_code == EXIT_OK) {
        out->reports_failed = 1;
        out->exit_code = EXIT_UNDECIDED;
    }
    report_end(p, out);
}
