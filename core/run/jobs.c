/* SPDX-License-Identifier: MIT */
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

#define LOG_CHUNK 65536
#define TAIL_INTERVAL 0.25   /* seconds between log reads of a running job */
#define DEADLINE_SLACK 30.0  /* the host's deadline trails the runner's own time limit */

static void finish(jobs *j, relhost_job *jb);
static void close_sources(relhost_job *jb);
static void arm_deadline(relhost_job *jb);
static void arm_tail(relhost_job *jb, double when);
static void arm_retry(relhost_job *jb);
static void stop_timers(relhost_job *jb);
static void arm_poll(struct runner_rt *r, double when);

/* ---- small helpers ---- */

static uint64_t fnv(uint64_t h, const char *s)
{
    for (; s && *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    h ^= 0xff; /* field separator, so ("ab","c") differs from ("a","bc") */
    h *= 1099511628211ULL;
    return h;
}

static void hex16(uint64_t h, char out[17]) { snprintf(out, 17, "%016llx", (unsigned long long)h); }

static const char *jstr_or(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

static void set_str(char **dst, const char *s)
{
    free(*dst);
    *dst = s ? xstrdup(s) : NULL;
}

void jobs_set_str(char **dst, const char *s) { set_str(dst, s); }

static struct runner_rt *runner_rt(jobs *j, const char *name)
{
    for (size_t i = 0; i < j->p->nrunners; i++)
        if (strcmp(j->p->runners[i].name, name) == 0)
            return &j->runners[i];
    return NULL;
}

static struct source_rt *source_rt(jobs *j, const char *name)
{
    for (size_t i = 0; i < j->p->nmetrics; i++)
        if (strcmp(j->p->metrics[i].name, name) == 0)
            return &j->sources[i];
    return NULL;
}

jobs *jobs_new(plan *p, struct state *st, const relhost_ctx *base)
{
    jobs *j = xcalloc(1, sizeof *j);
    j->p = p;
    j->st = st;
    j->base = *base;
    j->runners = xcalloc(p->nrunners + 1, sizeof *j->runners);
    j->sources = xcalloc(p->nmetrics + 1, sizeof *j->sources);
    for (size_t i = 0; i < p->nrunners; i++) {
        j->runners[i].pi = &p->runners[i];
        j->runners[i].ops = p->runners[i].pl->desc.runner;
        j->runners[i].owner = j;
    }
    for (size_t i = 0; i < p->nmetrics; i++) {
        j->sources[i].pi = &p->metrics[i];
        j->sources[i].ops = p->metrics[i].pl->desc.metrics;
    }
    j->child_gen = loop_child_events();
    return j;
}

int jobs_runner_rt_open(struct runner_rt *r, const relhost_ctx *ctx, int run, char **why)
{
    *why = NULL;
    hostctx_init(&r->hc, ctx, r->pi->plugin_name, r->prefix, NULL, r->pi->store);
    /* a runner that can find its jobs again hands them to an engine they outlive relhost in */
    if (run)
        r->hc.no_release_tag = r->ops->find != NULL;
    if (!r->ops->open || r->ops->open(&r->hc.pub, r->pi->conf, &r->inst) != 0) {
        *why = hostctx_take_fail(&r->hc);
        return RELHOST_EINVAL;
    }
    r->opened = 1;
    return 0;
}

static int runner_open(jobs *j, struct runner_rt *r, const relhost_ctx *ctx)
{
    char *m;
    (void)j;
    if (r->opened)
        return 0;
    snprintf(r->prefix, sizeof r->prefix, "runner %s", r->pi->name);
    if (jobs_runner_rt_open(r, ctx, 1, &m) != 0) {
        error_set(RELHOST_EINVAL, "%s: runner \"%s\" (plugin %s) refused its configuration: %s",
                  r->pi->where, r->pi->name, r->pi->plugin_name, m ? m : "no reason given");
        free(m);
        return RELHOST_EINVAL;
    }
    return 0;
}

static int source_open(struct source_rt *s, const relhost_ctx *ctx)
{
    hostctx hc;
    char *m;
    int rc = 0;
    if (s->opened)
        return 0;
    hostctx_init(&hc, ctx, s->pi->plugin_name, s->pi->name, NULL, s->pi->store);
    if (!s->ops->open || s->ops->open(&hc.pub, s->pi->conf, &s->inst) != 0) {
        m = hostctx_take_fail(&hc);
        rc = error_set(RELHOST_EINVAL,
                       "%s: metrics source \"%s\" (plugin %s) refused its configuration: %s",
                       s->pi->where, s->pi->name, s->pi->plugin_name, m ? m : "no reason given");
        free(m);
    } else {
        s->opened = 1;
    }
    hostctx_fini(&hc);
    return rc;
}

/* ---- the one mapping from a job's end to an outcome ---- */

job_end_verdict jobs_map_end(const job_end_facts *f)
{
    job_end_verdict v = {RELHOST_FAILED, "exit_code", 0, 0};
    int ok;
    if (f->host_cancelled) {
        v.outcome = RELHOST_NONE;
        v.reason = "stopped";
        return v;
    }
    switch (f->end) {
    case RELHOST_END_EXITED: break;
    case RELHOST_END_SIGNALED: v.reason = "signal"; return v;
    case RELHOST_END_TIMEOUT: v.reason = "timeout"; return v;
    case RELHOST_END_CANCELLED: v.reason = "cancelled"; return v;
    case RELHOST_END_INFRA:
        v.outcome = RELHOST_ERROR;
        v.reason = "infra";
        v.retryable = 1;
        return v;
    case RELHOST_END_EXEC_FAILED:
        v.outcome = RELHOST_ERROR;
        v.reason = "exec_failed";
        return v;
    default: /* an end the host does not know counts as a tool error */
        v.outcome = RELHOST_ERROR;
        v.reason = "tool_error";
        return v;
    }
    if (f->n_expect_exit) {
        ok = 0;
        for (size_t i = 0; i < f->n_expect_exit; i++)
            ok |= f->expect_exit[i] == f->exit_code;
    } else {
        /* Expecting a termination reason (a matrix cell that provokes a heartbeat timeout)
         * says nothing about the exit code the launcher then gives: the reason decides. */
        ok = f->expect_termination ? 1 : f->exit_code == 0;
    }
    if (f->expect_termination) {
        ok = ok && f->termination_reason &&
             strcmp(f->termination_reason, f->expect_termination) == 0;
        if (!ok) {
            v.reason = "termination_reason";
            return v;
        }
    } else if (!ok && f->termination_reason &&
               strcmp(f->termination_reason, "max_runtime_reached") == 0) {
        ok = 1; /* the seed's rule: reaching the runtime limit is a successful run */
    }
    if (ok && !f->expect_termination && f->termination_reason &&
        strcmp(f->termination_reason, "job_completed") != 0 &&
        strcmp(f->termination_reason, "max_runtime_reached") != 0) {
        /* The launcher's word on how the job ended outranks a wrapper's exit status. */
        v.reason = "termination_reason";
        return v;
    }
    if (ok) {
        v.outcome = RELHOST_PASSED;
        v.reason = NULL;
        v.run_checks = 1;
        return v;
    }
    if (f->exit_code == 124) {
        v.reason = "timeout";
    } else if (f->exit_code == 126 || f->exit_code == 127) {
        v.outcome = RELHOST_ERROR;
        v.reason = "exec_failed";
    }
    return v;
}

/* ---- state ---- */

/* What identifies a running local attempt's process, for stop_orphan() of a later relhost. */
static json_t *process_json(const proc_ident *id)
{
    json_t *o = json_object();
    json_object_set_new(o, "pid", json_integer(id->pid));
    json_object_set_new(o, "starttime", json_integer((json_int_t)id->starttime));
    json_object_set_new(o, "cookie", json_string(id->job));
    json_object_set_new(o, "proc_cookie", json_string(id->cookie));
    json_object_set_new(o, "grace_s", json_real(id->grace_s));
    return o;
}

static void process_from_json(const json_t *o, proc_ident *id)
{
    memset(id, 0, sizeof *id);
    if (!json_is_object(o))
        return;
    id->pid = (pid_t)json_integer_value(json_object_get(o, "pid"));
    id->starttime = (unsigned long long)json_integer_value(json_object_get(o, "starttime"));
    id->grace_s = json_number_value(json_object_get(o, "grace_s"));
    snprintf(id->job, sizeof id->job, "%s", jstr_or(o, "cookie"));
    snprintf(id->cookie, sizeof id->cookie, "%s", jstr_or(o, "proc_cookie"));
}

static json_t *job_json(const relhost_job *jb)
{
    static const char *const phases[] = {"pending", "submitting", "running", "completed"};
    json_t *o = json_object(), *argv = json_array();
    char ts[32];
    json_object_set_new(o, "step", json_string(jb->step));
    json_object_set_new(o, "validation", json_string(jb->validation));
    json_object_set_new(o, "runner", json_string(jb->rt->pi->name));
    json_object_set_new(o, "lifecycle", json_string(phases[jb->phase]));
    json_object_set_new(o, "attempt", json_integer(jb->attempt));
    json_object_set_new(o, "key", json_string(jb->key));
    json_object_set_new(o, "external_id", jb->ext_id[0] ? json_string(jb->ext_id) : json_null());
    json_object_set_new(o, "log_path", jb->log_path ? json_string(jb->log_path) : json_null());
    json_object_set_new(o, "spec_hash", json_string(jb->spec_hash));
    json_object_set_new(o, "accept_hash", json_string(jb->accept_hash));
    for (size_t i = 0; i < jb->argv_x.n; i++)
        json_array_append_new(argv, json_string(jb->argv_x.v[i]));
    json_object_set_new(o, "argv", argv);
    if (jb->started > 0) {
        time_iso8601(jb->started, ts, sizeof ts);
        json_object_set_new(o, "started_at", json_string(ts));
    }
    if (jb->phase == PH_DONE && jb->ended > 0) {
        time_iso8601(jb->ended, ts, sizeof ts);
        json_object_set_new(o, "ended_at", json_string(ts));
        json_object_set_new(o, "duration_s", json_real(jb->ended - jb->started));
    }
    if ((jb->phase == PH_SUBMITTING || jb->phase == PH_RUNNING) && jb->proc.pid > 0)
        json_object_set_new(o, "process", process_json(&jb->proc));
    if (jb->lost > 0)
        json_object_set_new(o, "lost_attempts", json_integer(jb->lost));
    if (jb->phase != PH_DONE && jb->restarts > 0)
        json_object_set_new(o, "restarts", json_integer(jb->restarts));
    if (jb->phase == PH_DONE) {
        json_object_set_new(o, "outcome", json_string(outcome_name(jb->outcome)));
        json_object_set_new(o, "reason", jb->reason ? json_string(jb->reason) : json_null());
        json_object_set_new(o, "retryable", json_boolean(jb->retryable));
        json_object_set_new(o, "exit_code", jb->exit_code >= 0 ? json_integer(jb->exit_code)
                                                                : json_null());
        json_object_set_new(o, "termination_reason", jb->term ? json_string(jb->term) : json_null());
        json_object_set_new(o, "restarts", json_integer(jb->restarts));
    }
    json_object_set_new(o, "evidence", evidence_to_json(&jb->ev));
    repeats_json_members(jb, o);
    return o;
}

void jobs_persist(relhost_job *jb)
{
    const char *path[2] = {"jobs", jb->id};
    if (!jb->owner->st)
        return;
    state_set(jb->owner->st, path, 2, job_json(jb));
    if (jb->group) {
        /* the aggregate's lifecycle follows its repeats' */
        path[1] = jb->group->id;
        state_set(jb->owner->st, path, 2, job_json(jb->group));
    }
}

static void flush_state(jobs *j)
{
    if (j->st && state_flush(j->st) != 0)
        log_msg(RELHOST_LOG_ERROR, "state", "cannot save state: %s", error_last());
}

/* ---- submit ---- */

static void compute_hashes(relhost_job *jb)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < jb->argv_t.n; i++)
        h = fnv(h, jb->argv_t.v[i]);
    h = fnv(h, "|env");
    for (size_t i = 0; i < jb->env_t.n; i++) {
        if (i < jb->env_plan_n) {
            h = fnv(h, jb->env_t.v[i]);
        } else { /* pass_env: the name only; no hash of a secret is ever stored */
            char *name = xstrndup(jb->env_t.v[i], strcspn(jb->env_t.v[i], "="));
            h = fnv(fnv(h, "|pass "), name);
            free(name);
        }
    }
    h = fnv(h, jb->rt->pi->name);
    h = fnv(h, jb->cwd_t ? jb->cwd_t : "");
    h = fnv(h, jb->shell ? "shell" : "argv");
    for (size_t i = 0; i < jb->vars.n; i++)
        h = fnv(h, jb->vars.v[i]);
    if (jb->repeat || jb->nkids) {
        /* a repeat is its own run ({repeat} may differ); an aggregate changes with its count */
        char buf[48];
        snprintf(buf, sizeof buf, "|repeat %d of %zu", jb->repeat, jb->nkids);
        h = fnv(h, buf);
    }
    hex16(h, jb->spec_hash);
    h = 1469598103934665603ULL;
    for (size_t i = 0; i < jb->nchecks; i++) {
        const relhost_check_spec *c = &jb->checks[i];
        char buf[200];
        snprintf(buf, sizeof buf, "%d:%.17g:%.17g", (int)c->op, c->expected, c->expected_hi);
        h = fnv(fnv(h, c->key), buf);
        /* Only what ABI 1.2 added and the check uses, so that older states keep their hash. */
        if (c->stat != RELHOST_STAT_MEDIAN || c->baseline != RELHOST_BASELINE_NONE) {
            snprintf(buf, sizeof buf, "stat %d baseline %d:%.17g:%.17g", (int)c->stat,
                     (int)c->baseline, c->rel_tol, c->abs_tol);
            h = fnv(h, buf);
        }
    }
    for (size_t i = 0; i < jb->n_expect_exit; i++) {
        char buf[32];
        snprintf(buf, sizeof buf, "x%d", jb->expect_exit[i]);
        h = fnv(h, buf);
    }
    h = fnv(h, jb->expect_term ? jb->expect_term : "");
    hex16(h, jb->accept_hash);
}

/* ---- checks and the baseline ---- */

int jobs_load_baseline(jobs *j)
{
    if (!j)
        return 0;
    if (!j->baseline_loaded) {
        j->baseline_loaded = 1; /* once per run, whatever the answer */
        if (j->p->baseline_path && baseline_load(j->p->baseline_path, &j->baseline) != 0)
            j->baseline_error = xstrdup(error_last());
    }
    return j->baseline_error ? error_set(RELHOST_EINVAL, "%s", j->baseline_error) : 0;
}

void jobs_checks_env(jobs *j, const char *validation, checks_env *env)
{
    memset(env, 0, sizeof *env);
    env->validation = validation;
    if (!j)
        return;
    env->require_baseline = j->p->require_baseline;
    (void)jobs_load_baseline(j);
    env->baseline = j->baseline;
    env->baseline_error = j->baseline_error;
}

void jobs_checks_eval(jobs *j, const char *name, evidence *ev, const relhost_checks *checks,
                      relhost_verdict *out)
{
    checks_env env;
    jobs_checks_env(j, name, &env);
    checks_eval_env(ev, checks, &env, out);
}

static void evaluate_checks(relhost_job *jb)
{
    relhost_checks cs = {jb->nchecks, sizeof(relhost_check_spec), jb->checks};
    relhost_verdict v;
    jobs_checks_eval(jb->owner, jb->validation, &jb->ev, &cs, &v);
    jb->outcome = v.outcome;
    set_str(&jb->reason, v.reason);
}

static void expand_for_attempt(jobs *j, relhost_job *jb);
static void fill_spec(relhost_job *jb, relhost_job_spec *spec, relhost_map *ra);
static void open_sources(relhost_job *jb, const relhost_job_spec *spec);

/* A job an earlier relhost submitted and the engine still knows: follow it again. Its metrics
 * sources start afresh and the log is fed again from byte 0 (sources keep nothing durable);
 * the host's deadline counts from when the job really started. */
static void reattach(jobs *j, relhost_job *jb, json_t *rec)
{
    relhost_job_spec spec;
    relhost_map ra;
    double started = time_parse_iso8601(json_string_value(json_object_get(rec, "started_at")));
    set_str(&jb->log_path, json_string_value(json_object_get(rec, "log_path")));
    if (!jb->log_path) {
        char *folder = path_join(j->p->log_dir, j->base.version);
        jb->log_path = xasprintf("%s/%s.log", folder, jb->validation);
        free(folder);
    }
    expand_for_attempt(j, jb);
    evidence_free(&jb->ev);
    hostctx_fini(&jb->ev_hc);
    hostctx_init(&jb->ev_hc, &j->base, "metrics", jb->id, &jb->ev, NULL);
    jb->ev_hc.pub.step = jb->step;
    fill_spec(jb, &spec, &ra);
    open_sources(jb, &spec);
    if (jb->rt->ops->read_log) {
        /* The runner serves the log again from byte 0: the local copy starts over. */
        int fd = open(jb->log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd >= 0)
            close(fd);
    }
    jb->log_off = 0;
    jb->log_fd = -1;
    jb->started = started > 0 ? started : time_wall();
    jb->deadline = 0;
    if (jb->timeout_s > 0) {
        double left = jb->started + jb->timeout_s + DEADLINE_SLACK - time_wall();
        jb->deadline = loop_now() + (left > 0 ? left : 0);
    }
    jb->restarts = (int)json_integer_value(json_object_get(rec, "restarts"));
    jb->phase = PH_RUNNING; /* re-attached: never submitted twice */
    jb->rt->running++;
    arm_deadline(jb);
    arm_tail(jb, loop_now());
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
static int stop_orphan(relhost_job *jb, json_t *rec)
{
    proc_ident id;
    char *n = NULL;
    int rc = 0;

    process_from_json(json_object_get(rec, "process"), &id);
    if (id.pid > 0 && jb->key[0] && strcmp(id.job, jb->key) == 0)
        rc = proc_stop_orphan(&id);
    if (rc == 0 && id.pid > 0 &&
        json_integer_value(json_object_get(rec, "orphan_stopped")) == (json_int_t)id.pid)
        rc = 1; /* stopped at the start of this run (jobs_stop_orphans) */
    if (rc < 0) {
        n = xasprintf("attempt %d (pid %d), left running by an earlier relhost, could not be "
                      "stopped (%s); not starting a second copy", jb->attempt, (int)id.pid,
                      error_last());
        evidence_note(&jb->ev, n);
        free(n);
        jb->phase = PH_DONE;
        jb->outcome = RELHOST_ERROR;
        set_str(&jb->reason, "orphan_alive");
        jb->retryable = 1;
        return rc;
    }
    if (rc > 0)
        n = xasprintf("attempt %d (pid %d) was left running by an earlier relhost; it was stopped "
                      "before attempt %d started", jb->attempt, (int)id.pid, jb->attempt + 1);
    else if (id.pid > 0)
        n = xasprintf("attempt %d did not finish: the relhost running it died, and its process "
                      "(pid %d) is gone; attempt %d runs it again", jb->attempt, (int)id.pid,
                      jb->attempt + 1);
    else /* it died before the process was recorded: nothing identifies it, nothing is signalled */
        n = xasprintf("attempt %d did not finish: the relhost running it died before its process "
                      "was recorded; attempt %d runs it again", jb->attempt, jb->attempt + 1);
    jb->attempt++;
    jb->lost++; /* lost to the crash, not to the validation: not counted against its retries */
    if (n) {
        log_msg(RELHOST_LOG_WARN, jb->id, "%s", n);
        set_str(&jb->resume_note, n);
        evidence_note(&jb->ev, n);
        free(n);
    }
    return 0;
}

void jobs_stop_orphans(jobs *j)
{
    const char *id;
    json_t *rec;
    if (!j || !j->st)
        return;
    json_object_foreach(json_object_get(state_root(j->st), "jobs"), id, rec) {
        const char *life = json_string_value(json_object_get(rec, "lifecycle"));
        const char *key = json_string_value(json_object_get(rec, "key"));
        struct runner_rt *rt = runner_rt(j, json_string_value(json_object_get(rec, "runner"))
                                                ? json_string_value(json_object_get(rec, "runner"))
                                                : "");
        proc_ident pi;
        int rc;
        if (!life || (strcmp(life, "running") != 0 && strcmp(life, "submitting") != 0) || !rt ||
            rt->ops->find || !key)
            continue;
        process_from_json(json_object_get(rec, "process"), &pi);
        if (pi.pid <= 0 || strcmp(pi.job, key) != 0)
            continue;
        rc = proc_stop_orphan(&pi);
        if (rc > 0) {
            const char *path[3] = {"jobs", id, "orphan_stopped"};
            log_msg(RELHOST_LOG_WARN, id, "stopped pid %d, left running by an earlier relhost "
                    "(its attempt runs again when the validation is next selected)", (int)pi.pid);
            /* the attempt's next resume says it was stopped, not that it was gone */
            state_set(j->st, path, 3, json_integer(pi.pid));
        }
        else if (rc < 0)
            log_msg(RELHOST_LOG_ERROR, id, "pid %d, left running by an earlier relhost, could not "
                    "be stopped: %s", (int)pi.pid, error_last());
    }
}

/* An earlier run of this release may already hold this validation's result. */
static void resume_from_state(jobs *j, relhost_job *jb, const relhost_ctx *ctx)
{
    json_t *rec, *root;
    const char *life, *oc, *sh, *ah;
    if (!j->st)
        return;
    root = state_root(j->st);
    rec = json_object_get(json_object_get(root, "jobs"), jb->id);
    if (!json_is_object(rec))
        return;
    life = json_string_value(json_object_get(rec, "lifecycle"));
    sh = json_string_value(json_object_get(rec, "spec_hash"));
    ah = json_string_value(json_object_get(rec, "accept_hash"));
    jb->attempt = (int)json_integer_value(json_object_get(rec, "attempt"));
    jb->lost = (int)json_integer_value(json_object_get(rec, "lost_attempts"));
    if (jb->attempt < 1)
        jb->attempt = 1;
    if (!sh || strcmp(sh, jb->spec_hash) != 0) {
        jb->attempt = 1; /* the command changed: a new validation as far as results go */
        jb->lost = 0;
        return;
    }
    if (life && strcmp(life, "completed") == 0) {
        relhost_outcome o = outcome_parse((oc = json_string_value(json_object_get(rec, "outcome")))
                                              ? oc : "");
        int retryable = json_is_true(json_object_get(rec, "retryable"));
        if (o == RELHOST_NONE || (o == RELHOST_ERROR && retryable) ||
            (ctx->retry_failed && !outcome_ok(o) && o != RELHOST_SKIPPED)) {
            jb->attempt = 1;
            jb->lost = 0;
            return;
        }
        jb->phase = PH_DONE;
        jb->resumed = 1;
        jb->outcome = o;
        set_str(&jb->reason, json_string_value(json_object_get(rec, "reason")));
        jb->retryable = retryable;
        jb->exit_code = json_is_integer(json_object_get(rec, "exit_code"))
                            ? (int)json_integer_value(json_object_get(rec, "exit_code")) : -1;
        set_str(&jb->term, json_string_value(json_object_get(rec, "termination_reason")));
        jb->restarts = (int)json_integer_value(json_object_get(rec, "restarts"));
        set_str(&jb->log_path, json_string_value(json_object_get(rec, "log_path")));
        snprintf(jb->key, sizeof jb->key, "%s",
                 jstr_or(rec, "key"));
        snprintf(jb->ext_id, sizeof jb->ext_id, "%s",
                 jstr_or(rec, "external_id"));
        evidence_from_json(&jb->ev, json_object_get(rec, "evidence"));
        if (!ah || strcmp(ah, jb->accept_hash) != 0) {
            /* Acceptance changed, the command did not: judge the stored metrics again. */
            evidence ev2 = {0};
            for (size_t i = 0; i < jb->ev.nmetrics; i++) {
                ev_metric *m = &jb->ev.metrics[i];
                evidence_metric(&ev2, m->key, m->finite ? m->value : NAN, m->source, m->pattern,
                                m->reducer, m->samples);
            }
            for (size_t i = 0; i < jb->ev.nlabels; i++)
                evidence_label(&ev2, jb->ev.labels[i].key, jb->ev.labels[i].value);
            evidence_free(&jb->ev);
            jb->ev = ev2;
            if (jb->outcome == RELHOST_PASSED ||
                (jb->reason && (strcmp(jb->reason, "threshold") == 0 ||
                                strcmp(jb->reason, "metric_missing") == 0 ||
                                strcmp(jb->reason, "no_baseline") == 0)))
                evaluate_checks(jb);
            evidence_note(&jb->ev, "acceptance changed since the run: checks re-evaluated on "
                                   "the stored metrics");
            jobs_persist(jb);
        }
        return;
    }
    /* Submitted or running when relhost stopped. */
    snprintf(jb->key, sizeof jb->key, "%s", jstr_or(rec, "key"));
    snprintf(jb->ext_id, sizeof jb->ext_id, "%s",
             jstr_or(rec, "external_id"));
    if (jb->rt->ops->find && (jb->ext_id[0] || jb->key[0])) {
        if (!jb->ext_id[0]) {
            char id[257] = "";
            int frc = runner_open(j, jb->rt, ctx);
            if (frc == 0)
                frc = jb->rt->ops->find(&jb->rt->hc.pub, jb->rt->inst, jb->key, id);
            if (frc == 0) {
                snprintf(jb->ext_id, sizeof jb->ext_id, "%s", id);
            } else if (frc != RELHOST_ENOTFOUND) {
                /* Not knowing whether the engine has the job is no licence to submit it again:
                 * a second copy would run. Defer instead. */
                char *m = hostctx_take_fail(&jb->rt->hc);
                char *n = xasprintf("cannot tell whether %s already has job %s (%s); not "
                                    "submitting it twice", jb->rt->pi->name, jb->key,
                                    m ? m : error_last());
                evidence_note(&jb->ev, n);
                free(n);
                free(m);
                jb->phase = PH_DONE;
                jb->outcome = RELHOST_ERROR;
                set_str(&jb->reason, "find_failed");
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
    jb->ext_id[0] = '\0';
    jb->key[0] = '\0';
}

int jobs_submit(jobs *j, const relhost_ctx *ctx, const relhost_job_request *rq_in,
                relhost_job **out)
{
    relhost_job_request rq;

    memset(&rq, 0, sizeof rq);
    memcpy(&rq, rq_in, rq_in->struct_size < sizeof rq ? rq_in->struct_size : sizeof rq);
    rq.struct_size = sizeof rq;
    *out = NULL;
    if (!rq.validation || !*rq.validation || !rq.runner || !rq.argv || !rq.argv[0])
        return error_set(RELHOST_EINVAL, "job_submit: validation, runner and argv are required");
    if (rq.repeats < 0 || rq.repeats > 100)
        return error_set(RELHOST_EINVAL, "validation %s: repeats = %d is not 1..100",
                         rq.validation, rq.repeats);
    if (rq.repeats > 1)
        return repeats_submit(j, ctx, &rq, out);
    return jobs_create(j, ctx, &rq, rq.validation, 0, NULL, 0, out);
}

int jobs_create(jobs *j, const relhost_ctx *ctx, const relhost_job_request *req, const char *name,
                int repeat, relhost_job *group, unsigned flags, relhost_job **out)
{
    relhost_job_request rq = *req;
    relhost_job *jb;
    struct runner_rt *rt;

    *out = NULL;
    rt = runner_rt(j, rq.runner);
    if (!rt)
        return error_set(RELHOST_EINVAL, "validation %s: unknown runner \"%s\" (plan key runners)",
                         rq.validation, rq.runner);
    if (runner_open(j, rt, ctx) != 0)
        return RELHOST_EINVAL;
    if (group)
        rq.acceptance = NULL; /* a repeat is judged only as part of its aggregate */
    jb = xcalloc(1, sizeof *jb);
    jb->owner = j;
    jb->rt = rt;
    jb->repeat = repeat;
    jb->group = group;
    if (flags & JOB_AGGREGATE)
        jb->nkids = (size_t)rq.repeats; /* kids[] is filled by repeats_submit() */
    jb->step = xstrdup(ctx->step ? ctx->step : "");
    jb->validation = xstrdup(name);
    jb->id = xasprintf("%s/%s", jb->step, jb->validation);
    jb->log_fd = -1;
    jb->exit_code = -1;
    jb->attempt = 1;
    jb->shell = rq.shell;
    jb->timeout_s = rq.timeout_s;
    jb->retries = rq.retries;
    jb->nodes = rq.nodes;
    jb->gpus = rq.gpus;
    for (size_t i = 0; rq.argv[i]; i++)
        sv_push(&jb->argv_t, rq.argv[i]);
    if (rq.env)
        for (size_t i = 0; i < rq.env->n; i++)
            sv_push_take(&jb->env_t, xasprintf("%s=%s", rq.env->keys[i], rq.env->values[i]));
    /* DESIGN: jobs get secrets only through pass_env. No process relhost starts inherits a
     * sealed variable (core/run/proc.c); pass_env hands over those the validation asked for, as
     * explicit NAME=VALUE entries (the plan checked at load that each one is set). */
    jb->env_plan_n = jb->env_t.n;
    if (rq.pass_env)
        for (size_t i = 0; i < rq.pass_env->n; i++) {
            const char *v = getenv(rq.pass_env->v[i]);
            if (v) /* the value is not hashed or stored: it may be a secret */
                sv_push_take(&jb->env_t, xasprintf("%s=%s", rq.pass_env->v[i], v));
        }
    jb->cwd_t = rq.cwd ? xstrdup(rq.cwd) : NULL;
    if (RELHOST_HAS(&rq, vars) && rq.vars)
        for (size_t i = 0; i < rq.vars->n; i++) {
            sv_push(&jb->vars, rq.vars->keys[i]);
            sv_push(&jb->vars, rq.vars->values[i]);
        }
    if (rq.runner_args)
        for (size_t i = 0; i < rq.runner_args->n; i++) {
            sv_push(&jb->rargs_k, rq.runner_args->keys[i]);
            sv_push(&jb->rargs_v, rq.runner_args->values[i]);
        }
    if (rq.metrics && rq.metrics->n) {
        jb->src = xcalloc(rq.metrics->n, sizeof *jb->src);
        for (size_t i = 0; i < rq.metrics->n; i++) {
            struct source_rt *s = source_rt(j, rq.metrics->v[i]);
            if (!s) {
                /* freed by jobs_free via the list below */
                error_set(RELHOST_EINVAL, "validation %s: unknown metrics source \"%s\"",
                          rq.validation, rq.metrics->v[i]);
                jb->phase = PH_DONE;
                jb->outcome = RELHOST_ERROR;
                goto add;
            }
            if (source_open(s, ctx) != 0) {
                jb->phase = PH_DONE;
                jb->outcome = RELHOST_ERROR;
                goto add;
            }
            jb->src[jb->nsrc++] = s;
        }
    }
    if (rq.acceptance && rq.acceptance->n) {
        size_t esz = rq.acceptance->elem_size ? rq.acceptance->elem_size : sizeof(relhost_check_spec);
        jb->checks = xcalloc(rq.acceptance->n, sizeof *jb->checks);
        for (size_t i = 0; i < rq.acceptance->n; i++) {
            const relhost_check_spec *s =
                (const void *)((const char *)rq.acceptance->v + i * esz);
            memcpy(&jb->checks[i], s, s->struct_size < sizeof *s ? s->struct_size : sizeof *s);
            sv_push(&jb->check_keys, s->key);
            jb->checks[i].key = jb->check_keys.v[i];
            jb->checks[i].where = NULL;
        }
        jb->nchecks = rq.acceptance->n;
        /* check_keys may have been reallocated while pushing: fix the pointers up */
        for (size_t i = 0; i < jb->nchecks; i++)
            jb->checks[i].key = jb->check_keys.v[i];
    }
    if (rq.expect_exit && rq.n_expect_exit) {
        jb->expect_exit = xcalloc(rq.n_expect_exit, sizeof *jb->expect_exit);
        memcpy(jb->expect_exit, rq.expect_exit, rq.n_expect_exit * sizeof *jb->expect_exit);
        jb->n_expect_exit = rq.n_expect_exit;
    }
    jb->expect_term = rq.expect_termination ? xstrdup(rq.expect_termination) : NULL;
    compute_hashes(jb);
    if (!(flags & (JOB_AGGREGATE | JOB_FRESH)))
        resume_from_state(j, jb, ctx);
add:
    if (j->n == j->cap) {
        j->cap = j->cap ? j->cap * 2 : 64;
        j->all = xrealloc(j->all, j->cap * sizeof *j->all);
    }
    j->all[j->n++] = jb;
    *out = jb;
    if (jb->phase == PH_DONE && jb->outcome == RELHOST_ERROR && !jb->resumed) {
        set_str(&jb->reason, "tool_error");
        evidence_note(&jb->ev, error_last());
        jobs_persist(jb);
        return RELHOST_EINVAL;
    }
    return 0;
}

/* ---- running ---- */

static void expand_for_attempt(jobs *j, relhost_job *jb)
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
    for (size_t i = 0; i + 1 < jb->vars.n && nv < 35; i += 2, nv++) {
        vars[2 * nv] = jb->vars.v[i];
        vars[2 * nv + 1] = jb->vars.v[i + 1];
    }
    sv_free(&jb->argv_x);
    sv_free(&jb->env_x);
    free(jb->cwd_x);
    jb->cwd_x = NULL;
    for (size_t i = 0; i < jb->argv_t.n; i++) {
        char *x;
        if (template_expand(jb->argv_t.v[i], vars, nv, 0, &x) != 0)
            x = xstrdup(jb->argv_t.v[i]);
        sv_push_take(&jb->argv_x, x);
    }
    if (jb->shell) {
        /* shell = true: the plan asked for a shell explicitly; argv is one command string. */
        strbuf b;
        sb_init(&b);
        for (size_t i = 0; i < jb->argv_x.n; i++)
            sb_printf(&b, "%s%s", i ? " " : "", jb->argv_x.v[i]);
        sv_free(&jb->argv_x);
        sv_push(&jb->argv_x, "/bin/sh");
        sv_push(&jb->argv_x, "-c");
        sv_push_take(&jb->argv_x, sb_take(&b));
    }
    for (size_t i = 0; i < jb->env_t.n; i++) {
        char *x;
        if (template_expand(jb->env_t.v[i], vars, nv, 0, &x) != 0)
            x = xstrdup(jb->env_t.v[i]);
        sv_push_take(&jb->env_x, x);
    }
    sv_push_take(&jb->env_x, xasprintf("RELHOST_JOB=%s", jb->key));
    sv_push_take(&jb->env_x, xasprintf("RELHOST_VERSION=%s", j->base.version));
    sv_push_take(&jb->env_x, xasprintf("RELHOST_VALIDATION=%s", jb->validation));
    sv_push_take(&jb->env_x, xasprintf("RELHOST_ATTEMPT=%d", jb->attempt));
    sv_push_take(&jb->env_x, xasprintf("RELHOST_REPEAT=%s", rep));
    sv_push_take(&jb->env_x, xasprintf("RELHOST_LOG=%s", jb->log_path));
    if (j->base.commit)
        sv_push_take(&jb->env_x, xasprintf("RELHOST_COMMIT=%s", j->base.commit));
    if (jb->cwd_t) {
        char *x;
        if (template_expand(jb->cwd_t, vars, nv, 0, &x) != 0)
            x = xstrdup(jb->cwd_t);
        jb->cwd_x = path_absolute(x, j->workdir ? j->workdir : j->p->dir);
        free(x);
    } else {
        jb->cwd_x = xstrdup(j->workdir ? j->workdir : j->p->dir);
    }
}

static void open_sources(relhost_job *jb, const relhost_job_spec *spec)
{
    if (!jb->src_jobs && jb->nsrc)
        jb->src_jobs = xcalloc(jb->nsrc, sizeof *jb->src_jobs);
    for (size_t i = 0; i < jb->nsrc; i++) {
        struct source_rt *s = jb->src[i];
        if (jb->src_jobs[i] && s->ops->job_close)
            s->ops->job_close(jb->src_jobs[i]);
        jb->src_jobs[i] = NULL;
        if (s->ops->job_open && s->ops->job_open(&jb->ev_hc.pub, s->inst, spec, &jb->src_jobs[i]))
            jb->src_jobs[i] = NULL;
    }
}

static void fill_spec(relhost_job *jb, relhost_job_spec *spec, relhost_map *ra)
{
    memset(spec, 0, sizeof *spec);
    spec->struct_size = sizeof *spec;
    spec->key = jb->key;
    spec->validation = jb->validation;
    spec->argv = (const char *const *)jb->argv_x.v;
    spec->env = (const char *const *)jb->env_x.v;
    spec->cwd = jb->cwd_x;
    spec->timeout_s = jb->timeout_s;
    spec->log_path = jb->log_path;
    spec->nodes = jb->nodes;
    spec->gpus = jb->gpus;
    ra->n = jb->rargs_k.n;
    ra->keys = (const char *const *)jb->rargs_k.v;
    ra->values = (const char *const *)jb->rargs_v.v;
    spec->runner_args = *ra;
}

static void finish(jobs *j, relhost_job *jb);

/* First half of a start: name the attempt, lay out its log, record the intent. The intent is
 * made durable (for all jobs starting in this tick at once) before any runner acts on it, so
 * that a crash in between means find(key), never a second submission. */
static void prepare_job(jobs *j, relhost_job *jb)
{
    relhost_job_spec spec;
    relhost_map ra;
    char *dir;
    char *folder = path_join(j->p->log_dir, j->base.version);

    snprintf(jb->key, sizeof jb->key, "rh-%s-%s-a%d", j->base.version, jb->validation,
             jb->attempt);
    free(jb->log_path);
    jb->log_path = jb->attempt == 1 ? xasprintf("%s/%s.log", folder, jb->validation)
                                    : xasprintf("%s/%s.attempt%d.log", folder, jb->validation,
                                                jb->attempt);
    dir = path_dirname(jb->log_path);
    if (!j->log_folder_made || strcmp(dir, folder) != 0) {
        path_mkdirs(dir);
        j->log_folder_made = 1;
    }
    free(folder);
    free(dir);
    /* One log per attempt, from byte 0. */
    if (jb->log_fd >= 0)
        close(jb->log_fd);
    jb->log_fd = -1;
    jb->log_off = 0;
    {
        int fd = open(jb->log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd >= 0)
            close(fd);
    }
    expand_for_attempt(j, jb);
    evidence_free(&jb->ev);
    if (jb->resume_note)
        evidence_note(&jb->ev, jb->resume_note);
    hostctx_fini(&jb->ev_hc);
    hostctx_init(&jb->ev_hc, &j->base, "metrics", jb->id, &jb->ev, NULL);
    jb->ev_hc.pub.step = jb->step;
    fill_spec(jb, &spec, &ra);
    open_sources(jb, &spec);

    jb->phase = PH_SUBMITTING;
    jb->restarts = 0;
    jb->log_restarts = 0;
    memset(&jb->proc, 0, sizeof jb->proc);
    jb->ext_id[0] = '\0';
    jb->started = time_wall();
    jb->host_cancelled = jb->deadline_hit = 0;
    jb->deadline = jb->timeout_s > 0 ? loop_now() + jb->timeout_s + DEADLINE_SLACK : 0;
    arm_deadline(jb);
    jb->rt->running++;
    jb->submit_pending = 1;
    jobs_persist(jb);
}

/* Second half: hand the job to its runner (its intent is already durable). */
static void submit_job(jobs *j, relhost_job *jb)
{
    relhost_job_spec spec;
    relhost_map ra;
    int rc;
    fill_spec(jb, &spec, &ra);
    crash_point("jobs.before_submit");
    jb->rt->busy++;
    rc = jb->rt->ops->submit(&jb->rt->hc.pub, jb->rt->inst, &spec, jb->ext_id, &jb->handle);
    jb->rt->busy--;
    jb->ext_id[sizeof jb->ext_id - 1] = '\0';
    if (rc == RELHOST_EINPROGRESS) {
        jobs_persist(jb);
        return;
    }
    if (rc != 0) {
        char *m = hostctx_take_fail(&jb->rt->hc);
        jb->phase = PH_DONE;
        jb->outcome = RELHOST_ERROR;
        jb->retryable = rc == RELHOST_ERETRY;
        set_str(&jb->reason, "submit_failed");
        stop_timers(jb);
        evidence_note(&jb->ev, m ? m : "the runner could not submit the job");
        free(m);
        jb->ended = time_wall();
        close_sources(jb);
        finish(j, jb);
        return;
    }
    crash_point("jobs.after_submit");
    /* A runner without find() runs its jobs as relhost's own children, through the host's
     * process service, which knows the job's process by its cookie (RELHOST_JOB=<key>). */
    if (!jb->rt->ops->find && proc_job_ident(jb->key, &jb->proc) != 0)
        memset(&jb->proc, 0, sizeof jb->proc);
    jb->phase = PH_RUNNING;
    arm_tail(jb, loop_now() + TAIL_INTERVAL);
    log_msg(RELHOST_LOG_DEBUG, jb->id, "submitted to %s as %s (attempt %d)", jb->rt->pi->name,
            jb->ext_id, jb->attempt);
    jobs_persist(jb);
}

/*
 * The job truncated its own log, or replaced the file (a restart writing from the top): what the
 * sources were fed is no longer the log. Read it again from byte 0 into fresh source state, and
 * count the restart (a runner of relhost's own children cannot know of it). 1 when so.
 */
static int log_started_over(relhost_job *jb)
{
    struct stat fs, ps;
    relhost_job_spec spec;
    relhost_map ra;
    int replaced, shrank;
    char *n;
    if (jb->log_fd < 0 || fstat(jb->log_fd, &fs) != 0)
        return 0;
    replaced = stat(jb->log_path, &ps) == 0 && (ps.st_ino != fs.st_ino || ps.st_dev != fs.st_dev);
    shrank = !replaced && (uint64_t)fs.st_size < jb->log_off;
    if (!replaced && !shrank)
        return 0;
    n = replaced ? xasprintf("the job replaced its log %s after %llu bytes: read again from byte "
                             "0, counted as a restart", jb->log_path,
                             (unsigned long long)jb->log_off)
                 : xasprintf("the job's log %s shrank from %llu to %llu bytes (it started writing "
                             "from the top): read again from byte 0, counted as a restart",
                             jb->log_path, (unsigned long long)jb->log_off,
                             (unsigned long long)fs.st_size);
    log_msg(RELHOST_LOG_WARN, jb->id, "%s", n);
    evidence_note(&jb->ev, n);
    free(n);
    if (replaced) {
        close(jb->log_fd);
        jb->log_fd = open(jb->log_path, O_RDONLY | O_CLOEXEC);
    }
    jb->log_off = 0;
    fill_spec(jb, &spec, &ra);
    open_sources(jb, &spec);
    if (++jb->log_restarts > jb->restarts)
        jb->restarts = jb->log_restarts;
    return 1;
}

/* Feed new log bytes to the job's metrics sources. */
static void tail_log(relhost_job *jb)
{
    char buf[LOG_CHUNK];
    const relhost_runner_ops *ops = jb->rt->ops;
    /* once per read, not per chunk: did the job start its own log over since the last one? */
    if (!ops->read_log && jb->log_fd >= 0)
        log_started_over(jb);
    for (;;) {
        ssize_t n;
        size_t got = 0;
        if (ops->read_log) {
            /* The runner fetches the log (e.g. from a remote engine); keep a local copy. */
            int rrc;
            jb->rt->busy++;
            rrc = ops->read_log(&jb->rt->hc.pub, jb->rt->inst, jb->ext_id, jb->handle,
                                jb->log_off, buf, sizeof buf, &got);
            jb->rt->busy--;
            if (rrc != 0 || got == 0)
                return;
            n = (ssize_t)got;
            {
                int fd = open(jb->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
                if (fd >= 0) {
                    ssize_t w = write(fd, buf, got);
                    (void)w;
                    close(fd);
                }
            }
        } else {
            if (jb->log_fd < 0)
                jb->log_fd = open(jb->log_path, O_RDONLY | O_CLOEXEC);
            if (jb->log_fd < 0)
                return;
            n = pread(jb->log_fd, buf, sizeof buf, (off_t)jb->log_off);
            if (n <= 0)
                return;
        }
        jb->log_off += (uint64_t)n;
        for (size_t i = 0; i < jb->nsrc; i++)
            if (jb->src_jobs && jb->src_jobs[i] && jb->src[i]->ops->feed) {
                jb->ev_hc.source = jb->src[i]->pi->name;
                jb->ev_hc.source_priority = jb->src[i]->pi->priority;
                jb->src[i]->ops->feed(&jb->ev_hc.pub, jb->src_jobs[i], buf, (size_t)n);
            }
        if ((size_t)n < sizeof buf)
            return;
    }
}

static void close_sources(relhost_job *jb)
{
    for (size_t i = 0; jb->src_jobs && i < jb->nsrc; i++)
        if (jb->src_jobs[i] && jb->src[i]->ops->job_close) {
            jb->src[i]->ops->job_close(jb->src_jobs[i]);
            jb->src_jobs[i] = NULL;
        }
}

static void release_handle(relhost_job *jb)
{
    if (jb->handle && jb->rt->ops->release)
        jb->rt->ops->release(jb->rt->inst, jb->handle);
    jb->handle = NULL;
}

/* Ask each metrics source of an ended job for what it collects (e.g. over HTTP). 0: all did;
 * 2: one failed transiently (may pass when tried again); 1: one failed otherwise. */
static int collect_sources(relhost_job *jb)
{
    int source_failed = 0;
    for (size_t i = 0; i < jb->nsrc; i++) {
        if (!jb->src_jobs || !jb->src_jobs[i] || !jb->src[i]->ops->collect)
            continue;
        int crc;
        jb->ev_hc.source = jb->src[i]->pi->name;
        jb->ev_hc.source_priority = jb->src[i]->pi->priority;
        crc = jb->src[i]->ops->collect(&jb->ev_hc.pub, jb->src_jobs[i]);
        if (crc != 0) {
            char *msg = hostctx_take_fail(&jb->ev_hc);
            char *n = xasprintf("metrics source %s failed: %s", jb->src[i]->pi->name,
                                msg ? msg : "no reason given");
            evidence_note(&jb->ev, n);
            free(n);
            free(msg);
            /* Only what the source itself calls transient (RELHOST_ERETRY: the host's retry
             * table said so) may pass when tried again; a run that does not exist, a refused
             * key, a certificate or any other error will not. */
            if (crc == RELHOST_ERETRY || crc == RELHOST_EINTR)
                source_failed = source_failed ? source_failed : 2;
            else
                source_failed = 1;
        }
    }
    jb->ev_hc.source = NULL;
    return source_failed;
}

/* The job ended on its engine: read the rest of the log, collect metrics, decide. */
static void ended(jobs *j, relhost_job *jb)
{
    job_end_facts f;
    job_end_verdict v;
    const char *term;
    int source_failed;
    const ev_metric *m;

    stop_timers(jb); /* ended: no deadline, no log reads but the last one below */
    tail_log(jb);
    source_failed = collect_sources(jb);
    close_sources(jb);
    jb->ended = time_wall();
    memset(&f, 0, sizeof f);
    f.end = jb->status.end;
    f.exit_code = jb->status.exit_code;
    f.signal = jb->status.signal;
    /* What the runner knows wins over what the log says. */
    term = jb->status.engine_reason[0] && strcmp(jb->status.engine_state, "TERMINATION") == 0
               ? jb->status.engine_reason
               : evidence_find_label(&jb->ev, "termination_reason");
    f.termination_reason = term;
    f.expect_exit = jb->expect_exit;
    f.n_expect_exit = jb->n_expect_exit;
    f.expect_termination = jb->expect_term;
    f.host_cancelled = jb->host_cancelled && !jb->deadline_hit;
    if (jb->deadline_hit) {
        f.end = RELHOST_END_TIMEOUT;
    }
    if (f.end == RELHOST_END_EXITED && f.exit_code < 0 && (m = evidence_find_metric(&jb->ev,
                                                                                    "exit_code")))
        f.exit_code = (int)m->value;
    v = jobs_map_end(&f);
    jb->exit_code = f.end == RELHOST_END_TIMEOUT ? 124 : f.exit_code;
    if (f.end == RELHOST_END_SIGNALED)
        jb->exit_code = -1;
    set_str(&jb->term, term);
    if (jb->status.restarts > jb->restarts)
        jb->restarts = jb->status.restarts;
    if ((m = evidence_find_metric(&jb->ev, "restart_count")) && m->finite &&
        (int)m->value > jb->restarts)
        jb->restarts = (int)m->value;
    if (v.outcome == RELHOST_NONE) {
        /* Stopped by relhost: no outcome; the next run starts this attempt again. */
        jb->phase = PH_QUEUED;
        jb->rt->running--;
        j->ended_count++;
        release_handle(jb);
        jobs_persist(jb);
        return;
    }
    jb->outcome = v.outcome;
    set_str(&jb->reason, v.reason);
    jb->retryable = v.retryable;
    if (v.outcome == RELHOST_FAILED || v.outcome == RELHOST_ERROR) {
        char *n;
        if (f.end == RELHOST_END_SIGNALED)
            n = xasprintf("killed by signal %d", f.signal);
        else if (f.end == RELHOST_END_EXITED)
            n = xasprintf("exited with %d%s%s", f.exit_code, term ? ", termination reason " : "",
                          term ? term : "");
        else
            n = xasprintf("ended on %s as %s%s%s", jb->rt->pi->name,
                          jb->status.engine_state[0] ? jb->status.engine_state : "?",
                          jb->status.engine_reason[0] ? ": " : "", jb->status.engine_reason);
        evidence_note(&jb->ev, n);
        free(n);
    }
    if (v.run_checks) {
        if (jb->ev_hc.conflicts) {
            /* Two sources disagree on who owns a key: no verdict on an ambiguous metric. */
            jb->outcome = RELHOST_ERROR;
            set_str(&jb->reason, "metric_conflict");
            jb->retryable = 0;
        } else if (source_failed) {
            /* A missing metric is a verdict only when its source worked. */
            jb->outcome = RELHOST_ERROR;
            set_str(&jb->reason, "source_failed");
            jb->retryable = source_failed == 2;
        } else {
            evaluate_checks(jb);
        }
    }
    jb->phase = PH_DONE;
    finish(j, jb);
}

static void finish(jobs *j, relhost_job *jb)
{
    j->ended_count++;
    jb->rt->running--;
    release_handle(jb);
    if (jb->log_fd >= 0) {
        close(jb->log_fd);
        jb->log_fd = -1;
    }
    if (jb->log_path)
        evidence_artifact(&jb->ev, "log", jb->log_path, NULL);
    if (jb->outcome == RELHOST_ERROR && jb->retryable && jb->attempt - jb->lost <= jb->retries) {
        double backoff = pow(2.0, jb->attempt);
        char *n = xasprintf("attempt %d: %s (%s); retrying in %.0f s", jb->attempt,
                            outcome_name(jb->outcome), jb->reason ? jb->reason : "?",
                            backoff > 60 ? 60 : backoff);
        log_msg(RELHOST_LOG_WARN, jb->id, "%s", n);
        free(n);
        jobs_persist(jb);
        jb->attempt++;
        jb->phase = PH_QUEUED;
        jb->not_before = loop_now() + (backoff > 60 ? 60 : backoff);
        arm_retry(jb);
        return;
    }
    jobs_persist(jb);
    crash_point("jobs.after_result");
    if (jb->group)
        repeats_kid_done(j, jb->group);
}

/*
 * ---- How a job times out: the one path (and the job layer's other loop timers) ----
 *
 * Every step below fires from a loop timer, so it runs on time whichever code serves the loop:
 * jobs_wait, or another job's metrics source waiting on HTTP (core/net/http.c), or a command.
 *
 *  1. The runner's own limit. The job spec carries timeout_s; runner_local hands it to the
 *     host's process service, whose deadline timer (core/run/proc.c proc_arm) sends SIGTERM to the
 *     job's process group (and to whatever escaped it) and writes "[TIMEOUT]" into the log; its
 *     grace timer (runner_local's `grace`) then sends SIGKILL. A remote runner's engine applies
 *     its own time limit (slurm --time, ...).
 *  2. The host's deadline, DEADLINE_SLACK after it, in case the runner's limit did not end the
 *     job: arm_deadline() at the start (prepare_job(); reattach() counts from the recorded
 *     start) -> on_deadline() -> job_deadline(): deadline_hit, and the runner's cancel
 *     (runner_local: proc_kill(), the same SIGTERM, grace, SIGKILL of core/run/proc.c kill_wait()).
 *  3. The end: the runner's next poll (its poll timer, or at once when a local child exits)
 *     reports ENDED -> ended() -> jobs_map_end(): END_TIMEOUT or deadline_hit = FAILED
 *     "timeout", exit code 124 -> finish() records it.
 *
 * The kill never waits on other work. Log reads (tail timer) and polls (poll timer) call plugin
 * ops that feed metrics sources and may end jobs, which must not run inside another plugin op:
 * their timers do the work only while jobs_wait itself waits (j->serving); otherwise jobs_wait's
 * next tick does it, since it is then overdue. A deadline inside an op of the same runner, or
 * inside jobs_wait's own wait (whose tick polls first: a job that has ended is not timed out),
 * is likewise done by the tick (tend_running).
 */

static void on_deadline(void *arg);
static void on_tail(void *arg);
static void on_poll(void *arg);
static void on_retry(void *arg) { (void)arg; /* only wakes jobs_wait: the job may start */ }

static void arm_deadline(relhost_job *jb)
{
    loop_timer_cancel(jb->deadline_timer);
    jb->deadline_timer = jb->deadline > 0 ? loop_timer_add(jb->deadline, on_deadline, jb) : 0;
}

static void arm_tail(relhost_job *jb, double when)
{
    loop_timer_cancel(jb->tail_timer);
    jb->next_tail = when;
    jb->tail_timer = loop_timer_add(when, on_tail, jb);
}

static void arm_retry(relhost_job *jb)
{
    loop_timer_cancel(jb->retry_timer);
    jb->retry_timer = loop_timer_add(jb->not_before, on_retry, jb);
}

static void arm_poll(struct runner_rt *r, double when)
{
    loop_timer_cancel(r->poll_timer);
    r->next_poll = when;
    r->poll_timer = r->running > 0 ? loop_timer_add(when, on_poll, r) : 0;
}

static void stop_timers(relhost_job *jb)
{
    loop_timer_cancel(jb->deadline_timer);
    loop_timer_cancel(jb->tail_timer);
    loop_timer_cancel(jb->retry_timer);
    jb->deadline_timer = jb->tail_timer = jb->retry_timer = 0;
}

/* Step 2: the host's deadline passed and the job still runs: cancel it on its runner. */
static void job_deadline(relhost_job *jb)
{
    if (jb->phase != PH_RUNNING || jb->deadline_hit)
        return;
    /* The runner's own limit did not end it: the host's deadline does. */
    log_msg(RELHOST_LOG_WARN, jb->id, "past its deadline; cancelling %s job %s",
            jb->rt->pi->name, jb->ext_id);
    jb->deadline_hit = jb->host_cancelled = 1;
    if (jb->rt->ops->cancel) {
        jb->rt->busy++;
        jb->rt->ops->cancel(&jb->rt->hc.pub, jb->rt->inst, jb->ext_id, jb->handle);
        jb->rt->busy--;
    }
}

static void on_deadline(void *arg)
{
    relhost_job *jb = arg;
    jb->deadline_timer = 0;
    /* Within jobs_wait's own wait, its tick comes at once and polls first, so that a job whose
     * end is already known is not called timed out; inside an op of the job's runner, the tick
     * is the next moment an op may start. Anywhere else (another job's HTTP call...): now. */
    if (!jb->owner->serving && !jb->rt->busy)
        job_deadline(jb);
}

static void on_tail(void *arg)
{
    relhost_job *jb = arg;
    jobs *j = jb->owner;
    jb->tail_timer = 0;
    if (!j->serving || jb->phase != PH_RUNNING || jb->rt->busy)
        return; /* overdue: jobs_wait's next tick reads it */
    j->serving = 0;
    tail_log(jb);
    j->serving = 1;
    if (jb->phase == PH_RUNNING)
        arm_tail(jb, loop_now() + TAIL_INTERVAL);
}

static void poll_runner(jobs *j, struct runner_rt *r);

static void on_poll(void *arg)
{
    struct runner_rt *r = arg;
    jobs *j = r->owner;
    r->poll_timer = 0;
    if (!j->serving || r->busy)
        return; /* overdue: jobs_wait's next tick polls */
    j->serving = 0;
    poll_runner(j, r);
    j->serving = 1;
}

static void poll_runner(jobs *j, struct runner_rt *r)
{
    relhost_job_status *st;
    relhost_job **who;
    size_t n = 0;
    double next = 1.0;
    int prc;
    for (size_t i = 0; i < j->n; i++)
        if (j->all[i]->rt == r && (j->all[i]->phase == PH_RUNNING ||
                                   j->all[i]->phase == PH_SUBMITTING))
            n++;
    if (n == 0)
        return;
    st = xcalloc(n, sizeof *st);
    who = xcalloc(n, sizeof *who);
    n = 0;
    for (size_t i = 0; i < j->n; i++) {
        relhost_job *jb = j->all[i];
        if (jb->rt != r || (jb->phase != PH_RUNNING && jb->phase != PH_SUBMITTING))
            continue;
        st[n].struct_size = sizeof st[n];
        st[n].key = jb->key;
        st[n].external_id = jb->ext_id[0] ? jb->ext_id : NULL;
        st[n].runner_handle = jb->handle;
        st[n].state = jb->phase == PH_SUBMITTING ? RELHOST_JOB_SUBMITTING : RELHOST_JOB_RUNNING;
        who[n++] = jb;
    }
    r->busy++;
    prc = r->ops->poll(&r->hc.pub, r->inst, st, n, sizeof *st, &next);
    r->busy--;
    if (prc != 0) {
        char *m = hostctx_take_fail(&r->hc);
        log_msg(RELHOST_LOG_WARN, r->prefix, "poll failed: %s; trying again",
                m ? m : "no reason given");
        free(m);
        next = 5;
    }
    /* A job known to have ended is not timed out while others' ends are being processed. */
    for (size_t i = 0; i < n; i++)
        if (st[i].state == RELHOST_JOB_ENDED || st[i].state == RELHOST_JOB_LOST)
            stop_timers(who[i]);
    for (size_t i = 0; i < n; i++) {
        relhost_job *jb = who[i];
        if (jb->phase == PH_SUBMITTING && st[i].new_external_id[0]) {
            snprintf(jb->ext_id, sizeof jb->ext_id, "%s", st[i].new_external_id);
            jb->phase = PH_RUNNING;
            jobs_persist(jb);
        }
        /* A count once reported is never lowered: a later status may carry none (a poll with
         * no news of this job) or a smaller one (the engine's count restarts, a LOST job). */
        if (st[i].restarts > jb->restarts) {
            jb->restarts = st[i].restarts;
            jobs_persist(jb);
        }
        if (st[i].state == RELHOST_JOB_LOST) {
            st[i].state = RELHOST_JOB_ENDED;
            st[i].end = RELHOST_END_INFRA;
            snprintf(st[i].engine_state, sizeof st[i].engine_state, "LOST");
        }
        if (st[i].state == RELHOST_JOB_ENDED) {
            jb->status = st[i];
            ended(j, jb);
        } else if (st[i].state != jb->status.state) {
            jb->status.state = st[i].state;
            jb->status.restarts = st[i].restarts;
        }
    }
    free(st);
    free(who);
    if (next < 0.01)
        next = 0.01;
    arm_poll(r, loop_now() + next);
}

/* In MODE_LAUNCH a job is done once it runs remotely with a known id, or when it cannot be
 * launched now (its runner is full, or local: a local job dies with relhost, so it waits for a
 * `relhost -c` run); only a submission in flight is waited for. */
static int counts_done(const relhost_job *jb, relhost_mode mode)
{
    if (jb->phase == PH_DONE)
        return 1;
    if (jb->kids)
        return repeats_done(jb, mode);
    return mode == RELHOST_MODE_LAUNCH && jb->phase != PH_SUBMITTING;
}

int jobs_counts_done(const relhost_job *jb, relhost_mode mode) { return counts_done(jb, mode); }

static size_t count_done(relhost_job *const *v, size_t n, relhost_mode mode)
{
    size_t done = 0;
    for (size_t i = 0; i < n; i++)
        done += counts_done(v[i], mode);
    return done;
}

/* Poll every runner that has news (a child exited) or is due (its poll timer fired while the
 * job layer could not poll). */
static void poll_runners(jobs *j)
{
    unsigned gen = loop_child_events();
    int child_news = gen != j->child_gen;
    double now = loop_now();
    j->child_gen = gen;
    for (size_t r = 0; r < j->p->nrunners; r++) {
        struct runner_rt *rt = &j->runners[r];
        if (!rt->opened || rt->running == 0)
            continue;
        /* A child exiting is news only for runners whose jobs are relhost's own children
         * (those that cannot re-attach); a remote runner's own squeue exiting is not. */
        if ((child_news && !rt->ops->find) || now >= rt->next_poll)
            poll_runner(j, rt);
    }
}

/* The overdue work of running jobs: log reads and deadlines whose timers fired while the job
 * layer could not act (see "How a job times out"). */
static void tend_running(jobs *j)
{
    double now = loop_now();
    for (size_t i = 0; i < j->n; i++) {
        relhost_job *jb = j->all[i];
        if (jb->phase != PH_RUNNING)
            continue;
        if (now >= jb->next_tail) {
            tail_log(jb);
            if (jb->phase == PH_RUNNING)
                arm_tail(jb, now + TAIL_INTERVAL);
        }
        if (jb->deadline > 0 && now >= jb->deadline && !jb->deadline_hit)
            job_deadline(jb);
    }
}

/* Record the intent of every queued job that has a free slot; returns how many. */
static size_t prepare_ready(jobs *j, relhost_mode mode)
{
    double now = loop_now();
    size_t nstart = 0;
    for (size_t i = 0; i < j->n; i++) {
        relhost_job *jb = j->all[i];
        if (jb->kids)
            continue; /* an aggregate runs nothing itself: its repeats do */
        if (mode == RELHOST_MODE_LAUNCH && !jb->rt->ops->find)
            continue; /* local jobs die with relhost: not launched, run by `relhost -c` */
        if (jb->phase == PH_QUEUED && jb->not_before <= now &&
            jb->rt->running < jb->rt->pi->max_parallel) {
            prepare_job(j, jb);
            nstart++;
        }
    }
    return nstart;
}

static void submit_prepared(jobs *j)
{
    for (size_t i = 0; i < j->n; i++)
        if (j->all[i]->submit_pending) {
            j->all[i]->submit_pending = 0;
            submit_job(j, j->all[i]);
        }
}

/*
 * One tick: poll runners, tail logs, record the intents of jobs that can start, make all of it
 * durable with ONE flush (results of ended jobs and intents alike), then submit. A tick that
 * ended or started something is followed at once by another; otherwise the loop sleeps until
 * the next poll, log read or retry is due, or a child exits.
 */
int jobs_wait(jobs *j, const relhost_ctx *ctx, relhost_job *const *v, size_t n, int any)
{
    int ticked = 0;
    for (;;) {
        size_t done = count_done(v, n, ctx->mode), nstart;
        unsigned long ended_before = j->ended_count;
        int serving = j->serving;
        /* A launch ticks once at least, so that its jobs get submitted. */
        if (((any && done > 0) || done == n || n == 0) &&
            (ticked || ctx->mode != RELHOST_MODE_LAUNCH))
            break;
        ticked = 1;
        if (loop_interrupted()) {
            jobs_stop(j);
            flush_state(j);
            return RELHOST_EINTR;
        }
        poll_runners(j);
        tend_running(j);
        nstart = prepare_ready(j, ctx->mode);
        flush_state(j);
        submit_prepared(j);
        done = count_done(v, n, ctx->mode);
        if ((any && done > 0) || done == n || nstart)
            continue;
        /* Sleep until a timer of the job layer (a poll, a log read, a deadline, a retry) or a
         * child's exit wakes the loop; the timers' work is done right there (j->serving). */
        j->serving = 1;
        loop_once(j->ended_count != ended_before ? 0 : 1.0);
        j->serving = serving;
    }
    flush_state(j);
    return 0;
}

void jobs_stop(jobs *j)
{
    /* No deadline of a job fires while another is being stopped (a cancel waits). */
    for (size_t i = 0; i < j->n; i++)
        if (j->all[i]->phase == PH_RUNNING || j->all[i]->phase == PH_SUBMITTING)
            stop_timers(j->all[i]);
    for (size_t i = 0; i < j->n; i++) {
        relhost_job *jb = j->all[i];
        if (jb->phase != PH_RUNNING && jb->phase != PH_SUBMITTING)
            continue;
        if (jb->rt->ops->find && loop_interrupted() < 2) {
            j->detached++; /* re-attachable: leave it running, state keeps its id */
            continue;
        }
        jb->host_cancelled = 1;
        if (jb->rt->ops->cancel)
            jb->rt->ops->cancel(&jb->rt->hc.pub, jb->rt->inst, jb->ext_id, jb->handle);
        jb->phase = PH_QUEUED;
        jb->rt->running--;
        close_sources(jb);
        release_handle(jb);
        jobs_persist(jb);
    }
}

size_t jobs_detached(const jobs *j) { return j->detached; }

int jobs_resumed(const jobs *j, const char *id)
{
    for (size_t i = 0; j && i < j->n; i++)
        if (strcmp(j->all[i]->id, id) == 0)
            return j->all[i]->resumed;
    return 0;
}

void jobs_ids(const jobs *j, const char *step, strvec *out)
{
    for (size_t i = 0; j && i < j->n; i++)
        if (strcmp(j->all[i]->step, step) == 0)
            sv_push(out, j->all[i]->id);
}

int jobs_result(jobs *j, const relhost_job *jb, relhost_job_result *out)
{
    relhost_job_result r;
    (void)j;
    memset(&r, 0, sizeof r);
    r.struct_size = out->struct_size < sizeof r ? out->struct_size : sizeof r;
    if (jb->kids) {
        repeats_result(jb, &r);
        memcpy(out, &r, r.struct_size);
        return 0;
    }
    r.finished = jb->phase == PH_DONE;
    r.outcome = jb->phase == PH_DONE ? jb->outcome : RELHOST_NONE;
    r.reason = jb->reason;
    r.retryable = jb->retryable;
    r.exit_code = jb->exit_code;
    r.termination_reason = jb->term;
    r.restarts = jb->restarts;
    r.attempts = jb->attempt;
    r.duration_s = jb->ended > jb->started ? jb->ended - jb->started : 0;
    r.log_path = jb->log_path;
    r.external_id = jb->ext_id[0] ? jb->ext_id : NULL;
    r.resumed = jb->resumed;
    memcpy(out, &r, r.struct_size);
    return 0;
}

const evidence *jobs_evidence(const relhost_job *job) { return &job->ev; }

static void job_free(relhost_job *jb)
{
    stop_timers(jb);
    close_sources(jb);
    release_handle(jb);
    if (jb->log_fd >= 0)
        close(jb->log_fd);
    free(jb->src_jobs);
    free(jb->src);
    free(jb->kids);
    free(jb->id);
    free(jb->step);
    free(jb->validation);
    sv_free(&jb->argv_t);
    sv_free(&jb->env_t);
    sv_free(&jb->argv_x);
    sv_free(&jb->env_x);
    free(jb->cwd_t);
    free(jb->cwd_x);
    sv_free(&jb->rargs_k);
    sv_free(&jb->rargs_v);
    sv_free(&jb->vars);
    free(jb->checks);
    sv_free(&jb->check_keys);
    free(jb->expect_exit);
    free(jb->expect_term);
    free(jb->log_path);
    free(jb->reason);
    free(jb->term);
    free(jb->resume_note);
    evidence_free(&jb->ev);
    hostctx_fini(&jb->ev_hc);
    free(jb);
}

void jobs_set_workdir(jobs *j, const char *dir)
{
    free(j->workdir);
    j->workdir = dir ? xstrdup(dir) : NULL;
}

void jobs_free(jobs *j)
{
    if (!j)
        return;
    free(j->workdir);
    json_decref(j->baseline);
    free(j->baseline_error);
    /* No timer of the job layer may fire while it is taken down (a cancel below waits). */
    for (size_t i = 0; i < j->n; i++)
        stop_timers(j->all[i]);
    for (size_t i = 0; i < j->p->nrunners; i++) {
        loop_timer_cancel(j->runners[i].poll_timer);
        j->runners[i].poll_timer = 0;
    }
    for (size_t i = 0; i < j->n; i++) {
        relhost_job *jb = j->all[i];
        if ((jb->phase == PH_RUNNING || jb->phase == PH_SUBMITTING) && !jb->rt->ops->find &&
            jb->rt->ops->cancel)
            jb->rt->ops->cancel(&jb->rt->hc.pub, jb->rt->inst, jb->ext_id, jb->handle);
        job_free(jb);
    }
    free(j->all);
    for (size_t i = 0; i < j->p->nrunners; i++) {
        if (j->runners[i].opened && j->runners[i].ops->close)
            j->runners[i].ops->close(j->runners[i].inst);
        if (j->runners[i].opened)
            hostctx_fini(&j->runners[i].hc);
    }
    for (size_t i = 0; i < j->p->nmetrics; i++)
        if (j->sources[i].opened && j->sources[i].ops->close)
            j->sources[i].ops->close(j->sources[i].inst);
    free(j->runners);
    free(j->sources);
    free(j);
}
