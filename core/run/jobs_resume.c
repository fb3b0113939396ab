/* SPDX-License-Identifier: MIT */
/*
 * jobs_resume.c - resuming a job from the state an earlier relhost left: take its result,
 * re-attach to a job its engine still runs, or stop an orphaned local attempt.
 */
#include "run/jobs_int.h"
#include "run/guard.h"

#include "base/error.h"
#include "base/log.h"
#include "base/outcome.h"
#include "base/util.h"
#include "plan/options.h"
#include "plan/template.h"
#include "record/record_job.h"
#include "record/state.h"
#include "run/baseline.h"
#include "run/checks.h"
#include "run/crash.h"
#include "run/host.h"
#include "run/loop.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A job an earlier relhost submitted and the engine still knows: follow it again. Its metrics
 * sources start afresh and the log is fed again from byte 0 (sources keep nothing durable);
 * the host's deadline counts from when the job really started. */
static void reattach(jobs *j, relhost_job *jb, const job_entry *rec)
{
    relhost_job_spec spec;
    relhost_map ra;
    double started = time_parse_iso8601(rec->job.started_at);
    jobs_set_str(&jb->log_path, rec->job.log_path);
    if (!jb->log_path) {
        char *folder = path_join(j->p->log_dir, j->base.version);
        jb->log_path = xasprintf("%s/%s.log", folder, jb->validation);
        free(folder);
    }
    jobs_expand_for_attempt(j, jb);
    evidence_free(jb->ev);
    hostctx_fini(&jobs_live(jb)->ev_hc);
    hostctx_init(&jobs_live(jb)->ev_hc, &j->base, "metrics", jb->id, jb->ev, NULL);
    jobs_live(jb)->ev_hc.pub.step = jb->step;
    jobs_fill_spec(jb, &spec, &ra);
    jobs_open_sources(jb, &spec);
    if (jb->rt->ops->read_log) {
        /* The runner serves the log again from byte 0: the local copy starts over. */
        int fd = open(jb->log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd >= 0)
            close(fd);
    }
    jb->w->log_off = 0;
    jobs_live(jb)->log_head_len = jobs_live(jb)->log_tail_len = 0;
    jb->w->log_cut_to = 0;
    jb->w->log_fd = -1;
    jb->w->log_id_known = 0;
    jb->started = started > 0 ? started : time_wall();
    jb->w->deadline = 0;
    if (jb->rt->ops->find) {
        /* Whether it started meanwhile comes with the next poll: until then it is queued (the
         * engine's own time limit, counted from the job's start, bounds it meanwhile). */
        jb->w->queue_hit = 0;
        jobs_queue_deadline(jb);
    } else if (jb->w->timeout_s > 0) {
        double left = jb->started + jb->w->timeout_s + DEADLINE_SLACK - time_wall();
        jb->w->deadline = loop_now() + (left > 0 ? left : 0);
    }
    jb->restarts = (int)jobs_rec_int(rec->job.restarts);
    jobs_set_phase(jb, PH_RUNNING); /* re-attached: never submitted twice */
    jb->rt->running++;
    jobs_arm_deadline(jb);
    jobs_arm_tail(jb, loop_now());
    log_msg(RELHOST_LOG_INFO, jb->id, "re-attached to %s job %s", jb->rt->pi->name, jb->ext_id);
}

/*
 * The attempt an earlier relhost was running when it died (SIGKILL, OOM, power), on a runner
 * whose jobs are relhost's own children (no find()): the job has a process group of its own and
 * outlived that relhost (which is gone: we hold the release's lock). It cannot be re-attached
 * (not our child: neither waitpid() nor anything else tells how it ends), so the rule is to stop
 * it, once its pid, start time and cookie prove it is that very process (proc_stop_orphan(); a gone or reused pid is never signalled). The
 * validation then runs as the next attempt, with its own key and log: the old log stays as
 * evidence, and two attempts never run at once nor share a log. Returns 0, or RELHOST_EIO when
 * the old attempt could not be stopped: then nothing may start (jb is an ERROR, retryable).
 */
static int stop_orphan(relhost_job *jb, const job_entry *rec)
{
    proc_ident id;
    char *n = NULL;
    int rc = 0;

    jobs_process_from_entry(rec, &id);
    if (id.pid > 0 && jb->w->key[0] && strcmp(id.job, jb->w->key) == 0)
        rc = proc_stop_orphan(&id);
    if (rc == 0 && id.pid > 0 && jobs_rec_int(rec->orphan_stopped) == (long long)id.pid)
        rc = 1; /* stopped at the start of this run (jobs_stop_orphans) */
    if (rc < 0) {
        n = xasprintf("attempt %d (pid %d), left running by an earlier relhost, could not be "
                      "stopped (%s); not starting a second copy",
                      jb->attempt, (int)id.pid, error_last());
        evidence_note(jb->ev, n);
        free(n);
        jobs_set_phase(jb, PH_DONE);
        jb->outcome = RELHOST_ERROR;
        jobs_set_str(&jb->reason, "orphan_alive");
        jb->retryable = 1;
        return rc;
    }
    if (rc > 0)
        n = xasprintf("attempt %d (pid %d) was left running by an earlier relhost; it was stopped "
                      "before attempt %d started",
                      jb->attempt, (int)id.pid, jb->attempt + 1);
    else if (id.pid > 0)
        n = xasprintf("attempt %d did not finish: the run that started it ended (it died, or "
                      "stopped) before recording its end, and its process (pid %d) is gone; "
                      "attempt %d runs it again",
                      jb->attempt, (int)id.pid, jb->attempt + 1);
    else /* it died before the process was recorded: nothing identifies it, nothing is signalled */
        n = xasprintf("attempt %d did not finish: the run that started it ended (it died, or "
                      "stopped) before its process was recorded; attempt %d runs it again",
                      jb->attempt, jb->attempt + 1);
    jb->attempt++;
    jb->w->lost++; /* lost to the crash, not to the validation: not counted against its retries */
    if (n) {
        log_msg(RELHOST_LOG_WARN, jb->id, "%s", n);
        jobs_set_str(&jb->w->resume_note, n);
        evidence_note(jb->ev, n);
        free(n);
    }
    return 0;
}

void jobs_stop_orphans(jobs *j)
{
    job_entry *v;
    size_t n;
    if (!j || !j->st)
        return;
    record_job_list(state_root(j->st), &v, &n);
    for (size_t i = 0; i < n; i++) {
        const job_record *rec = &v[i].job;
        const char *life = rec->lifecycle_raw, *id = rec->id;
        struct runner_rt *rt = jobs_runner_find(j, rec->runner ? rec->runner : "");
        long long pid;
        if (!life || (strcmp(life, "running") != 0 && strcmp(life, "submitting") != 0) || !rt ||
            rt->ops->find)
            continue;
        pid = jobs_stop_orphan_of(j->st, &v[i]);
        if (pid > 0)
            log_msg(RELHOST_LOG_WARN, id,
                    "stopped pid %lld, left running by an earlier relhost "
                    "(its attempt runs again when the validation is next selected)",
                    pid);
        else if (pid < 0)
            log_msg(RELHOST_LOG_ERROR, id,
                    "pid %lld, left running by an earlier relhost, could not "
                    "be stopped: %s",
                    -pid, error_last());
    }
    record_job_list_free(v, n);
}

long long jobs_stop_orphan_of(state *st, const job_entry *e)
{
    const job_record *rec = &e->job;
    proc_ident pi;
    int rc;
    if (!rec->key || !rec->id)
        return 0;
    jobs_process_from_entry(e, &pi);
    if (pi.pid <= 0 || strcmp(pi.job, rec->key) != 0)
        return 0;
    rc = proc_stop_orphan(&pi);
    if (rc > 0) /* the attempt's next resume says it was stopped, not that it was gone */
        record_job_mark_orphan_stopped(st, rec->id, pi.pid);
    return rc > 0 ? (long long)pi.pid : rc < 0 ? -(long long)pi.pid : 0;
}

/* The stored record is a result of the same command: take it, unless it is to be run again
 * (no outcome, a retryable error, --retry-failed). ah: the stored acceptance hash. */
static void resume_completed(relhost_job *jb, const relhost_ctx *ctx, job_entry *e)
{
    const job_record *rec = &e->job;
    const char *ah = rec->accept_hash;
    relhost_outcome o = outcome_parse(rec->outcome_raw ? rec->outcome_raw : "");
    int retryable = rec->retryable;
    if (o == RELHOST_NONE || (o == RELHOST_ERROR && retryable) ||
        (ctx->retry_failed && !outcome_ok(o) && o != RELHOST_SKIPPED)) {
        jb->attempt = 1;
        jb->w->lost = 0;
        return;
    }
    jobs_set_phase(jb, PH_DONE);
    jb->resumed = 1;
    jb->outcome = o;
    jobs_set_str(&jb->reason, rec->reason);
    jb->retryable = retryable;
    jb->exit_code = rec->exit_code.set && !rec->exit_code.from_real ? (int)rec->exit_code.v : -1;
    jobs_set_str(&jb->term, rec->termination_reason);
    jb->restarts = (int)jobs_rec_int(rec->restarts);
    jobs_set_str(&jb->log_path, rec->log_path);
    jobs_set_key(jb, rec->key ? rec->key : "");
    jobs_set_ext_id(jb, rec->external_id);
    /* the job's evidence is still empty: the stored one becomes it */
    evidence_free(jb->ev);
    *jb->ev = e->ev;
    memset(&e->ev, 0, sizeof e->ev);
    if (!ah || strcmp(ah, jb->w->accept_hash) != 0) {
        /* Acceptance changed, the command did not: judge the stored metrics again. */
        evidence ev2 = {0};
        for (size_t i = 0; i < jb->ev->nmetrics; i++) {
            ev_metric *m = &jb->ev->metrics[i];
            evidence_metric(&ev2, m->key, m->finite ? m->value : NAN, m->source, m->pattern,
                            m->reducer, m->samples);
        }
        for (size_t i = 0; i < jb->ev->nlabels; i++)
            evidence_label(&ev2, jb->ev->labels[i].key, jb->ev->labels[i].value);
        evidence_free(jb->ev);
        *jb->ev = ev2;
        if (jb->outcome == RELHOST_PASSED ||
            (jb->reason &&
             (strcmp(jb->reason, "threshold") == 0 || strcmp(jb->reason, "metric_missing") == 0 ||
              strcmp(jb->reason, "no_baseline") == 0)))
            jobs_evaluate_checks(jb);
        evidence_note(jb->ev, "acceptance changed since the run: checks re-evaluated on "
                              "the stored metrics");
        jobs_persist(jb);
    }
}

/* The stored record is an attempt that was submitted or running when relhost stopped. */
static void resume_in_flight(jobs *j, relhost_job *jb, const relhost_ctx *ctx, const job_entry *rec)
{
    const char *life = rec->job.lifecycle_raw;
    jobs_set_key(jb, rec->job.key ? rec->job.key : "");
    jobs_set_ext_id(jb, rec->job.external_id);
    if (jb->rt->ops->find && (jb->ext_id[0] || jb->w->key[0])) {
        if (!jb->ext_id[0]) {
            char id[257] = "";
            int frc = jobs_runner_ensure_open(j, jb->rt, ctx);
            if (frc == 0) {
                int g = guard_enter(jb->rt->pi->plugin_name, "find", jb->step);
                frc = jb->rt->ops->find(&jb->rt->hc.pub, jb->rt->inst, jb->w->key, id);
                guard_leave(g);
            }
            if (frc == 0) {
                jobs_set_ext_id(jb, id);
            } else if (frc != RELHOST_ENOTFOUND) {
                /* Not knowing whether the engine has the job is no licence to submit it again:
                 * a second copy would run. Defer instead. */
                char *m = hostctx_take_fail(&jb->rt->hc);
                char *n = xasprintf("cannot tell whether %s already has job %s (%s); not "
                                    "submitting it twice",
                                    jb->rt->pi->name, jb->w->key, m ? m : error_last());
                evidence_note(jb->ev, n);
                free(n);
                free(m);
                jobs_set_phase(jb, PH_DONE);
                jb->outcome = RELHOST_ERROR;
                jobs_set_str(&jb->reason, "find_failed");
                jb->retryable = 1;
                return;
            }
        }
        if (jb->ext_id[0]) {
            reattach(j, jb, rec);
            return;
        }
    }
    /* Not found by its runner (then submitting it again under its key is safe), or a job of
     * relhost's own, which may have outlived the relhost that ran it: stop that one first. */
    if (!jb->rt->ops->find && life &&
        (strcmp(life, "running") == 0 || strcmp(life, "submitting") == 0) &&
        stop_orphan(jb, rec) != 0)
        return;
    jobs_set_ext_id(jb, NULL);
    jobs_set_key(jb, "");
}

/* An earlier run of this release may already hold this validation's result. */
void jobs_resume_from_state(jobs *j, relhost_job *jb, const relhost_ctx *ctx)
{
    job_entry rec;
    const char *life, *sh;
    if (!j->st || record_job_get(state_root(j->st), jb->id, &rec) != 0)
        return;
    life = rec.job.lifecycle_raw;
    sh = rec.job.spec_hash;
    jb->attempt = (int)jobs_rec_int(rec.job.attempt);
    jb->w->lost = (int)jobs_rec_int(rec.lost_attempts);
    if (jb->attempt < 1)
        jb->attempt = 1;
    if (!sh || strcmp(sh, jb->w->spec_hash) != 0) {
        jb->attempt = 1; /* the command changed: a new validation as far as results go */
        jb->w->lost = 0;
    } else if (life && strcmp(life, "completed") == 0) {
        resume_completed(jb, ctx, &rec);
    } else {
        /* Submitted or running when relhost stopped. */
        resume_in_flight(j, jb, ctx, &rec);
    }
    record_job_entry_free(&rec);
}
