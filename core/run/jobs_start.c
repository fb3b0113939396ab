/* SPDX-License-Identifier: MIT */
/*
 * jobs_start.c - starting one attempt of a job: its expanded command and spec, the intent
 * made durable (prepare), then the runner's submit.
 */
#include "run/guard.h"
#include "run/jobs_int.h"

#include "base/error.h"
#include "base/log.h"
#include "base/outcome.h"
#include "base/util.h"
#include "plan/options.h"
#include "plan/template.h"
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

/* ---- running ---- */

void jobs_expand_for_attempt(jobs *j, relhost_job *jb)
{
    char att[16], rep[16];
    const char *vars[6 + 64];
    size_t nv = 3;
    snprintf(att, sizeof att, "%d", jb->attempt);
    snprintf(rep, sizeof rep, "%d", jb->repeat ? jb->repeat : 1);
    vars[0] = "validation";
    vars[1] = jb->validation;
    vars[2] = "attempt";
    vars[3] = att;
    vars[4] = "repeat";
    vars[5] = rep;
    for (size_t i = 0; i + 1 < jb->w->vars.n && nv < 35; i += 2, nv++) {
        vars[2 * nv] = jb->w->vars.v[i];
        vars[2 * nv + 1] = jb->w->vars.v[i + 1];
    }
    sv_free(&jb->w->argv_x);
    sv_free(&jb->w->env_x);
    free(jb->w->cwd_x);
    jb->w->cwd_x = NULL;
    for (size_t i = 0; i < jb->w->argv_t.n; i++) {
        char *x;
        if (template_expand(jb->w->argv_t.v[i], vars, nv, 0, &x) != 0)
            x = xstrdup(jb->w->argv_t.v[i]);
        sv_push_take(&jb->w->argv_x, x);
    }
    if (jb->w->shell) {
        /* shell = true: the plan asked for a shell explicitly; argv is one command string. */
        strbuf b;
        sb_init(&b);
        for (size_t i = 0; i < jb->w->argv_x.n; i++)
            sb_printf(&b, "%s%s", i ? " " : "", jb->w->argv_x.v[i]);
        sv_free(&jb->w->argv_x);
        sv_push(&jb->w->argv_x, "/bin/sh");
        sv_push(&jb->w->argv_x, "-c");
        sv_push_take(&jb->w->argv_x, sb_take(&b));
    }
    for (size_t i = 0; i < jb->w->env_t.n; i++) {
        char *x;
        if (template_expand(jb->w->env_t.v[i], vars, nv, 0, &x) != 0)
            x = xstrdup(jb->w->env_t.v[i]);
        sv_push_take(&jb->w->env_x, x);
    }
    sv_push_take(&jb->w->env_x, xasprintf("RELHOST_JOB=%s", jb->w->key));
    sv_push_take(&jb->w->env_x, xasprintf("RELHOST_VERSION=%s", j->base.version));
    sv_push_take(&jb->w->env_x, xasprintf("RELHOST_VALIDATION=%s", jb->validation));
    sv_push_take(&jb->w->env_x, xasprintf("RELHOST_ATTEMPT=%d", jb->attempt));
    sv_push_take(&jb->w->env_x, xasprintf("RELHOST_REPEAT=%s", rep));
    sv_push_take(&jb->w->env_x, xasprintf("RELHOST_LOG=%s", jb->log_path));
    if (j->base.commit)
        sv_push_take(&jb->w->env_x, xasprintf("RELHOST_COMMIT=%s", j->base.commit));
    if (jb->w->cwd_t) {
        char *x;
        if (template_expand(jb->w->cwd_t, vars, nv, 0, &x) != 0)
            x = xstrdup(jb->w->cwd_t);
        jb->w->cwd_x = path_absolute(x, j->workdir ? j->workdir : j->p->dir);
        free(x);
    } else {
        jb->w->cwd_x = xstrdup(j->workdir ? j->workdir : j->p->dir);
    }
}

void jobs_fill_spec(relhost_job *jb, relhost_job_spec *spec, relhost_map *ra)
{
    memset(spec, 0, sizeof *spec);
    spec->struct_size = sizeof *spec;
    spec->key = jb->w->key;
    spec->validation = jb->validation;
    spec->argv = (const char *const *)jb->w->argv_x.v;
    spec->env = (const char *const *)jb->w->env_x.v;
    spec->cwd = jb->w->cwd_x;
    spec->timeout_s = jb->w->timeout_s;
    spec->log_path = jb->log_path;
    spec->nodes = jb->w->nodes;
    spec->gpus = jb->w->gpus;
    ra->n = jb->w->rargs_k.n;
    ra->keys = (const char *const *)jb->w->rargs_k.v;
    ra->values = (const char *const *)jb->w->rargs_v.v;
    spec->runner_args = *ra;
}

/* First half of a start: name the attempt, lay out its log, record the intent. The intent is
 * made durable (for all jobs starting in this tick at once) before any runner acts on it, so
 * that a crash in between means find(key), never a second submission. */
void jobs_prepare_job(jobs *j, relhost_job *jb)
{
    relhost_job_spec spec;
    relhost_map ra;
    char *dir;
    char *folder = path_join(j->p->log_dir, j->base.version);

    {
        char *k = xasprintf("rh-%s-%s-a%d", j->base.version, jb->validation, jb->attempt);
        jobs_set_key(jb, k);
        free(k);
    }
    free(jb->log_path);
    jb->log_path = jb->attempt == 1
                       ? xasprintf("%s/%s.log", folder, jb->validation)
                       : xasprintf("%s/%s.attempt%d.log", folder, jb->validation, jb->attempt);
    dir = path_dirname(jb->log_path);
    if (!j->log_folder_made || strcmp(dir, folder) != 0) {
        path_mkdirs(dir);
        j->log_folder_made = 1;
    }
    free(folder);
    free(dir);
    /* One log per attempt, from byte 0. */
    if (jb->w->log_fd >= 0)
        close(jb->w->log_fd);
    jb->w->log_fd = -1;
    jb->w->log_id_known = 0;
    jb->w->log_off = 0;
    jobs_live(jb)->log_head_len = jobs_live(jb)->log_tail_len = 0;
    jb->w->log_cut_to = 0;
    {
        int fd = open(jb->log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd >= 0)
            close(fd);
    }
    jobs_expand_for_attempt(j, jb);
    evidence_free(jb->ev);
    if (jb->w->resume_note)
        evidence_note(jb->ev, jb->w->resume_note);
    hostctx_fini(&jobs_live(jb)->ev_hc);
    hostctx_init(&jobs_live(jb)->ev_hc, &j->base, "metrics", jb->id, jb->ev, NULL);
    jobs_live(jb)->ev_hc.pub.step = jb->step;
    jobs_fill_spec(jb, &spec, &ra);
    jobs_open_sources(jb, &spec);

    jobs_set_phase(jb, PH_SUBMITTING);
    jb->restarts = 0;
    jb->w->log_restarts = 0;
    memset(&jobs_live(jb)->proc, 0, sizeof jobs_live(jb)->proc);
    jobs_set_ext_id(jb, NULL);
    jb->started = time_wall();
    jb->w->host_cancelled = jb->w->deadline_hit = jb->w->queue_hit = 0;
    jobs_queue_deadline(jb);
    jb->rt->running++;
    jb->w->submit_pending = 1;
    jobs_persist(jb);
}

/* Second half: hand the job to its runner (its intent is already durable). */
void jobs_submit_job(jobs *j, relhost_job *jb)
{
    relhost_job_spec spec;
    relhost_map ra;
    char ext_id[257] = "";
    int rc;
    jobs_fill_spec(jb, &spec, &ra);
    crash_point("jobs.before_submit");
    jb->rt->busy++;
    {
        int g = guard_enter(jb->rt->pi->plugin_name, "submit", jb->step);
        rc = jb->rt->ops->submit(&jb->rt->hc.pub, jb->rt->inst, &spec, ext_id, &jb->w->handle);
        guard_leave(g);
    }
    jb->rt->busy--;
    ext_id[sizeof ext_id - 1] = '\0';
    jobs_set_ext_id(jb, ext_id);
    if (rc == RELHOST_EINPROGRESS) {
        jobs_persist(jb);
        return;
    }
    if (rc != 0) {
        char *m = hostctx_take_fail(&jb->rt->hc);
        jobs_set_phase(jb, PH_DONE);
        jb->outcome = RELHOST_ERROR;
        jb->retryable = rc == RELHOST_ERETRY && !jobs_runner_fault(jb->rt);
        /* an isolated runner whose process died or hung names that (core/isolate) */
        jobs_set_str(&jb->reason,
                     jobs_runner_fault(jb->rt) ? jobs_runner_fault(jb->rt) : "submit_failed");
        jobs_stop_timers(jb);
        evidence_note(jb->ev, m ? m : "the runner could not submit the job");
        jb->ended = time_wall();
        jobs_close_sources(jb);
        jobs_finish(j, jb);
        jobs_runner_faulted(j, jb->rt, m); /* and the runner's other jobs with it */
        free(m);
        return;
    }
    crash_point("jobs.after_submit");
    /* A runner without find() runs its jobs as relhost's own children, through the host's
     * process service, which knows the job's process by its cookie (RELHOST_JOB=<key>). */
    if (!jb->rt->ops->find && proc_job_ident(jb->w->key, &jobs_live(jb)->proc) != 0)
        memset(&jobs_live(jb)->proc, 0, sizeof jobs_live(jb)->proc);
    jobs_set_phase(jb, PH_RUNNING);
    jobs_arm_tail(jb, loop_now() + TAIL_INTERVAL);
    log_msg(RELHOST_LOG_DEBUG, jb->id, "submitted to %s as %s (attempt %d)", jb->rt->pi->name,
            jb->ext_id, jb->attempt);
    jobs_persist(jb);
}
