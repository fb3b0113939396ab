/* SPDX-License-Identifier: MIT */
/*
 * jobs_int.h - the job layer's private structures, shared by core/run/jobs*.c (one job: submit
 * and queue in jobs.c, start jobs_start.c, log jobs_log.c, timers jobs_timer.c, end and retry
 * jobs_end.c, state jobs_persist.c, resume jobs_resume.c; runners for status / kill
 * jobs_runner.c; what a tick walks instead of every job jobs_index.c) and core/run/repeats.c (a repeated validation: N jobs and their aggregate).
 * Nothing else includes this header.
 */
#ifndef RELHOST_JOBS_INT_H
#define RELHOST_JOBS_INT_H

#include "record/record_job.h"
#include "run/checks.h"
#include "run/host.h"
#include "run/jobs.h"
#include "run/proc.h"

#include <jansson.h>
#include <string.h>

#define TAIL_INTERVAL 0.25  /* seconds between log reads of a running job */
#define DEADLINE_SLACK 30.0 /* the host's deadline trails the runner's own time limit */
#define LOG_SEEN 256        /* bytes of a log's head and of its last read kept to compare */

enum phase { PH_QUEUED = 0, PH_SUBMITTING, PH_RUNNING, PH_DONE };

struct runner_rt {
    const plan_instance *pi;
    const relhost_runner_ops *ops;
    void *inst;
    int opened;
    int running; /* jobs submitted and not ended */
    double next_poll;
    unsigned long poll_timer; /* loop timer at next_poll (jobs_timer.c jobs_arm_poll), 0: none */
    int busy;                 /* one of its ops is running: no other op may start (timers wait) */
    jobs *owner;
    hostctx hc;
    char prefix[96];
};

struct source_rt {
    const plan_instance *pi;
    const relhost_metrics_ops *ops;
    void *inst;
    int opened;
};

/* What a job needs only until its end (jobs_compact() frees it): its engine's status, its
 * process, the bytes of its log kept to compare, the context its metrics sources post to. */
struct job_live {
    relhost_job_status status;
    /* A runner without find() runs jobs as relhost's own children: what identifies the
     * attempt's process (pid 0: none known), so that a later relhost can stop it if this one
     * dies (jobs_resume.c stop_orphan). */
    proc_ident proc;
    /* The first and the last LOG_SEEN bytes fed (the last ones end at log_off): a log written
     * again from the top that grew past log_off before the next read no longer holds them. */
    unsigned char log_head[LOG_SEEN], log_tail[LOG_SEEN];
    size_t log_head_len, log_tail_len;
    hostctx ev_hc;
};

/* What a job needs from its creation to its final end, and no longer (jobs_compact() frees it;
 * NULL after): what it runs (templates, expanded attempt, sources, checks, expectations) and
 * the state of its attempts (log, handle, timers, flags). A finished job keeps only struct
 * relhost_job's own fields: what jobs_result(), the progress display and the reports read. */
struct job_work {
    struct job_live *lv; /* from its first use (jobs_live()) to the job's end (jobs_compact) */
    size_t run_pos;      /* 1 + its place in owner->run while submitting or running; 0: not there */
    char spec_hash[17], accept_hash[17];
    char *key;            /* the attempt's idempotency key; "" before the first */
    strvec argv_t, env_t; /* as written (templates) */
    size_t env_plan_n;    /* env_t[0..env_plan_n) is the plan's env; the rest pass_env NAME=VALUE */
    char *cwd_t;
    double timeout_s;
    int shell, retries, nodes, gpus;
    strvec rargs_k, rargs_v;
    strvec vars; /* name, value pairs for templates (matrix keys) */
    struct source_rt **src;
    size_t nsrc;
    relhost_check_spec *checks;
    size_t nchecks;
    strvec check_keys;
    int *expect_exit;
    size_t n_expect_exit;
    char *expect_term;

    void *handle;
    uint64_t log_off;
    int log_fd; /* a remote job's log is open only while it is read (jobs_log.c) */
    int log_id_known;
    /* The file fed from (log_fd's once opened), to notice a replaced log across reopenings. */
    dev_t log_dev;
    ino_t log_ino;
    void **src_jobs;
    double deadline, not_before, next_tail;
    /* loop timers (jobs_timer.c, "How a job times out"), 0: none */
    unsigned long deadline_timer, tail_timer, retry_timer;
    int host_cancelled, deadline_hit;
    /* A remote job not yet seen running: its deadline is the runner's queue_timeout; timeout_s
     * counts from the poll that first sees it run. queue_hit: that deadline passed. */
    int queued, queue_hit;
    int submit_pending;   /* intent recorded, runner not asked yet */
    int log_restarts;     /* times the job truncated or replaced its own log this attempt */
    uint64_t log_cut_to;  /* max_log: the log's bytes up to here past its head were dropped */
    int log_errno;        /* the log could not be written (the host's copy of a remote log) */
    int lost;             /* attempts an earlier relhost died running: not counted as retries */
    char *resume_note;    /* what resuming found of such an attempt; in every later attempt's
                          * evidence */
    strvec argv_x, env_x; /* expanded for the current attempt */
    char *cwd_x;
};

/* A job. Kept for the whole run, so it holds only what is read once the job has ended; the
 * rest is in its work part (w) and its live part (lv). */
struct relhost_job {
    jobs *owner;
    struct job_work *w; /* from its creation to its final end (jobs_compact) */
    size_t idx;         /* its place in owner->all (submission order) */
    char *id;           /* "<step>/<validation>": the key in state */
    char *step;         /* the owner's copy of the step's name (in step_names), shared */
    char *validation;   /* in id, past "<step>/" */
    struct runner_rt *rt;
    char *log_path;
    char *ext_id; /* the engine's id, "" before one; at most 256 bytes */
    char *reason;
    char *term;
    double started, ended;
    evidence *ev; /* from its creation to its end (a repeat's: to its aggregate's verdict) */
    enum phase phase;
    int attempt;
    relhost_outcome outcome;
    int retryable, exit_code, resumed;
    int restarts; /* the most the runner or the log ever reported for this attempt */

    /* repeats (core/run/repeats.c) */
    int repeat;                /* 1..n: this job is repeat `repeat` of `group`; 0: not a repeat */
    struct relhost_job *group; /* the aggregate this job is a repeat of, or NULL */
    struct relhost_job **kids; /* an aggregate: its n repeats (owned by jobs->all); else NULL */
    size_t nkids;
};

struct jobs {
    plan *p;
    struct state *st;
    relhost_ctx base;
    struct runner_rt *runners;
    struct source_rt *sources;
    relhost_job **all;
    size_t n, cap;
    size_t detached;
    unsigned child_gen;
    unsigned long ended_count; /* jobs that reached an end, for the wait loop */
    int serving;               /* jobs_wait is in its own loop_once(): timers may do its work */
    char *workdir;             /* default cwd of jobs: the candidate's checkout, or NULL */
    int log_folder_made;
    json_t *baseline; /* the baseline store, read once per run (jobs_load_baseline) */
    int baseline_loaded;
    char *baseline_error; /* why it could not be read, or NULL */
    jobs_end_cb on_end;   /* the progress display's call at each job's end (jobs_progress.c) */
    void *on_end_arg;
    double dirty_since; /* when the oldest change not yet durable was made (0: none) */
    /* What a tick walks instead of every job (jobs_set_phase() keeps them): */
    relhost_job **run; /* the jobs submitting or running, in no order */
    size_t nrun, caprun;
    relhost_job **ends; /* each job every time it reaches PH_DONE, in that order */
    size_t nends, capends;
    size_t qfrom;             /* all[0..qfrom) holds no queued job that may start */
    relhost_job **prepared;   /* intents recorded this tick, to submit after the flush */
    strvec step_names;        /* the steps' names the jobs point to (jobs_step_name) */
    struct job_block *blocks; /* where the jobs and their ids are carved from (jobs_carve) */
    size_t nprepared, capprepared;
    /* What the ticks cost, logged at the end of each wait (and read by tests/unit/jobs): ticks
     * of the wait loop, runner polls, and jobs looked at by both. */
    unsigned long ticks, polls;
    size_t visits;
};

/** Move jb to phase ph (the one way a job's phase changes), keeping what a tick walks instead
 *  of every job: the running set, the queue's start and the log of ends. */
void jobs_set_phase(relhost_job *jb, enum phase ph);
/** The jobs submitting or running on r (every runner: r NULL), in submission order; *n set.
 *  The caller frees the array. */
relhost_job **jobs_running(const jobs *j, const struct runner_rt *r, size_t *n);

/* A wait's view of the jobs it waits for (jobs_wait in a run): how many count as done, kept up
 * from the log of ends, so that a tick does not ask every job again. */
typedef struct jobs_waitset {
    relhost_job **v;        /* the jobs waited for, by address */
    unsigned char *counted; /* v[i] is counted in done */
    size_t n, done;
    size_t seen; /* owner->ends[0..seen) are taken into account */
} jobs_waitset;
void jobs_waitset_init(jobs_waitset *w, jobs *j, relhost_job *const *v, size_t n,
                       relhost_mode mode);
/** Take the ends since the last call into account; returns how many of the jobs count as done
 *  (valid in a run, where a job counts as done once it is PH_DONE: not in a launch). */
size_t jobs_waitset_update(jobs_waitset *w, jobs *j, relhost_mode mode);
void jobs_waitset_free(jobs_waitset *w);

/** A job reached its final end (its record written, its end told): free what only a running
 *  job needs (its live part, templates, expanded argv and env, sources, checks; its evidence
 *  too unless keep_ev: a repeat's until its aggregate is judged). What stays is what
 *  jobs_result() and the progress display read. */
void jobs_compact(relhost_job *jb, int keep_ev);

/** A job reached its end (not a retry): tell the progress display (jobs_progress.c). */
void jobs_tell_end(const relhost_job *jb);

/* jobs_create() flags. */
#define JOB_AGGREGATE 0x1u /* the aggregate of repeats: never scheduled, never resumed by itself */
#define JOB_FRESH 0x2u     /* do not take a result from the state (--retry-failed of a group) */

/**
 * Build one job from a request (jobs.c): name is its validation name (rq->validation, or
 * "<validation>.r<k>" for repeat k of group, which then carries no acceptance checks), resumed
 * from the state unless flags say otherwise, appended to j->all. Same returns as jobs_submit().
 */
int jobs_create(jobs *j, const relhost_ctx *ctx, const relhost_job_request *rq, const char *name,
                int repeat, relhost_job *group, unsigned flags, relhost_job **out);
/** Record jb in the state (the aggregate too, when jb is one of its repeats). */
void jobs_persist(relhost_job *jb);
/** 1 when jb counts as done for a wait in `mode` (finished; in a launch: launched or held). */
int jobs_counts_done(const relhost_job *jb, relhost_mode mode);
/** Set jb's idempotency key to s, cut at JOBS_KEY_MAX bytes as the runners' keys are. */
#define JOBS_KEY_MAX 255
/** The job's live part (struct job_live), allocated zeroed at its first use: a job waiting in
 *  the queue holds none, and jobs_compact() frees it at the job's end. */
struct job_live *jobs_live(relhost_job *jb);
void jobs_set_key(relhost_job *jb, const char *s);
/** The job's external id: s (NULL: none) cut to the 256 bytes a runner may give. */
void jobs_set_ext_id(relhost_job *jb, const char *s);
/** Replace *dst by a copy of s (NULL allowed). */
void jobs_set_str(char **dst, const char *s);
/** What the checks of the job or step named `validation` need (baseline store, plan flags). */
void jobs_checks_env(jobs *j, const char *validation, checks_env *env);

/** Open runner instance r (r->pi, r->ops and r->prefix set): the one place a runner's open op
 *  is called, for a run's runners (jobs.c, run = 1: a runner with find() gets no release tag)
 *  and for relhost status / kill (jobs_runner.c, run = 0). 0, or RELHOST_EINVAL with *why the
 *  runner's message (owned by the caller; may be NULL). */
int jobs_runner_rt_open(struct runner_rt *r, const relhost_ctx *ctx, int run, char **why);
/* The runner's close op (when it was opened and has one), guarded like every plugin call. */
void jobs_runner_rt_close(struct runner_rt *r);
/* The job's runner cancel op (when it has one), guarded like every plugin call. */
void jobs_cancel_guarded(relhost_job *jb);

/* ---- shared by the job layer's own files (jobs*.c) ---- */

/* jobs.c */
/** The runner instance named name, or NULL. */
struct runner_rt *jobs_runner_find(jobs *j, const char *name);
/** Open r for this run once (error_set with the plan's location when it refuses). */
int jobs_runner_ensure_open(jobs *j, struct runner_rt *r, const relhost_ctx *ctx);

/* jobs_start.c: one attempt's start */
/** Expand jb's templates (argv, env, cwd) for its current attempt. */
void jobs_expand_for_attempt(jobs *j, relhost_job *jb);
/** Fill spec (and ra, which it points into) from jb's expanded attempt. */
void jobs_fill_spec(relhost_job *jb, relhost_job_spec *spec, relhost_map *ra);
/** First half of a start: name the attempt, lay out its log, record the intent. */
void jobs_prepare_job(jobs *j, relhost_job *jb);
/** Second half: hand the job to its runner (its intent is already durable). */
void jobs_submit_job(jobs *j, relhost_job *jb);

/* jobs_log.c: the log and the metrics sources it feeds */
void jobs_open_sources(relhost_job *jb, const relhost_job_spec *spec);
/** Feed new log bytes to the job's metrics sources. */
void jobs_tail_log(relhost_job *jb);
void jobs_close_sources(relhost_job *jb);

/* jobs_timer.c: loop timers ("How a job times out") */
void jobs_arm_deadline(relhost_job *jb);
void jobs_arm_tail(relhost_job *jb, double when);
void jobs_arm_retry(relhost_job *jb);
void jobs_arm_poll(struct runner_rt *r, double when);
/* A job handed to its runner: a remote one waits in its engine's queue (deadline: the runner's
 * queue_timeout), a local one starts now (deadline: timeout_s). Arms the deadline timer. */
void jobs_queue_deadline(relhost_job *jb);
void jobs_stop_timers(relhost_job *jb);
/** Poll every runner that has news or is due. */
void jobs_poll_runners(jobs *j);
/** The overdue work of running jobs: log reads and deadlines. */
void jobs_tend_running(jobs *j);

/* jobs_end.c: a job's end */
/** Judge jb's evidence against its acceptance checks: outcome and reason. */
void jobs_evaluate_checks(relhost_job *jb);
void jobs_release_handle(relhost_job *jb);
/** The job ended on its engine (jb->status): read the rest of the log, collect, decide. */
void jobs_ended(jobs *j, relhost_job *jb);
/** Record jb's result, or queue its retry. */
void jobs_finish(jobs *j, relhost_job *jb);
/** The runner's isolated plugin died or hung (r->hc.plugin_fault set; else nothing): every job
 *  it runs is ERROR with that reason, msg (NULL: the runner's fail message) in its evidence. */
void jobs_runner_faulted(jobs *j, struct runner_rt *r, const char *msg);
/** The reason of r's isolated plugin fault (plugin_crashed, plugin_exited, plugin_hung), or
 *  NULL (none; a call cut short because relhost was told to stop is no fault of the plugin). */
static inline const char *jobs_runner_fault(const struct runner_rt *r)
{
    const char *f = r->hc.plugin_fault;
    return f && strncmp(f, "plugin_", 7) == 0 ? f : NULL;
}

/* jobs_persist.c: the state record */
/** The local process the record e names ("process"; zeroed when it names none). */
void jobs_process_from_entry(const job_entry *e, proc_ident *id);
/** An integer of a record as the job layer takes it: 0 unless the state held a JSON integer
 *  (an integral real, which record.h reads as set, counts as none here). */
long long jobs_rec_int(record_int r);
/** Make the state durable (an error is logged). */
void jobs_flush_state(jobs *j);
/** Group commit: make the state durable when `must` (the intent of a job that can outlive
 *  this machine precedes its submission) or once its oldest change not yet durable is
 *  state_commit_window old; else write the changes to the journal without the fdatasync (a
 *  SIGKILL of relhost loses none of them), so that one fdatasync serves every job that ends
 *  within the window. */
void jobs_commit(jobs *j, int must);
/** How long the loop may sleep (at most `wait` seconds) before jobs_commit() is due. */
double jobs_commit_wait(const jobs *j, double wait);
/** jb's spec_hash and accept_hash. */
void jobs_compute_hashes(relhost_job *jb);

/* jobs_resume.c */
/** An earlier run of this release may already hold this validation's result: take it. */
void jobs_resume_from_state(jobs *j, relhost_job *jb, const relhost_ctx *ctx);

/** Submit the aggregate of rq->repeats runs of rq (repeats.c); see jobs_submit(). */
int repeats_submit(jobs *j, const relhost_ctx *ctx, const relhost_job_request *rq,
                   relhost_job **out);
/** One repeat of g reached its final result: once all have, judge g. */
void repeats_kid_done(jobs *j, relhost_job *g);
/** Add what the state record e of jb says about repeats: an aggregate's "repeats" (n), "runs"
 *  (its repeats' ids: e->runs, a new array of borrowed strings the caller frees), lifecycle and
 *  key (none); a repeat's "repeat_of" (the aggregate's validation) and "repeat" (k). Nothing
 *  for other jobs. */
void repeats_entry_members(const relhost_job *jb, job_entry *e);
/** Fill r (zeroed, full size) from aggregate g. */
void repeats_result(const relhost_job *g, relhost_job_result *r);
/** 1 when every repeat of g counts as done for a wait in `mode` (g not finished yet). */
int repeats_done(const relhost_job *g, relhost_mode mode);

#endif
