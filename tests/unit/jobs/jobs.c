/* SPDX-License-Identifier: MIT */
/* tests/unit/jobs/jobs.c - the job layer (core/run/jobs*.c) driven directly, with no relhost
 * binary and no dlopen: a plan built here names one runner, whose ops are an in-memory fake
 * defined below (submit, poll, cancel as include/relhost/plugin.h describes them; no find, so
 * its jobs are "relhost's own" as runner_local's are), and a real release state records the
 * jobs. Each case says how the fake ends each attempt; the job layer's wait loop, poll timer,
 * deadline timer and retry timer do the rest. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/util.h"
#include "plan/plan.h"
#include "record/record_job.h"
#include "record/state.h"
#include "registry/fsutil.h"
#include "run/jobs.h"
#include "run/host.h"
#include "run/jobs_int.h" /* DEADLINE_SLACK, and one job's deadline brought in: shorten_deadline */
#include "run/loop.h"

#include <relhost/plugin.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define V "1.0"
#define STEP "s"
#define MAX_FAKE 64

/* ---- the fake runner ---- */

/* How one attempt of a validation ends on the fake engine. */
typedef struct fake_end {
    int polls; /* ENDED at the first poll after this many polls as RUNNING; -1: never
                         * on its own (only a cancel ends it) */
    relhost_job_end end;
    int exit_code;
    int after_cancel; /* does not end before the runner was asked to cancel some other job */
} fake_end;

typedef struct fake_job {
    char key[256], id[32], validation[64];
    fake_end how;
    int polls, cancelled, ended;
    double submitted_at, cancelled_at;
} fake_job;

typedef struct fake_script {
    const char *validation;
    fake_end attempt[4]; /* attempt k (1-based) ends as attempt[k-1]; past the list: the last */
    size_t n;
} fake_script;

static struct {
    fake_job v[MAX_FAKE];
    size_t n;
    int running, max_running; /* submitted and not yet reported ENDED */
    int cancels;
    int running_at_cancel; /* jobs running on the engine when the first cancel came */
    int in_wait;           /* the case is inside jobs_wait (set around the call) */
    int cancels_in_wait;   /* cancels that came while it was */
    int npolls;            /* poll calls so far */
    int interrupt_at_poll; /* >0: a SIGTERM "arrives" during the poll with this number */
    const fake_script *script;
    size_t nscript;
    /* shorten_deadline: the job whose host deadline is brought in once it is armed */
    const char *shorten_validation;
    relhost_job *shorten_job;
    double shorten_to;        /* seconds after its submission */
    double armed_deadline_in; /* how far away the job layer had put that deadline */
    double shortened_deadline;
} F;

static const fake_end PASS = {1, RELHOST_END_EXITED, 0, 0};

/* A job that never ends by itself is ended this long after its submission all the same, with
 * STUCK_EXIT, so that a job layer that fails to cancel it fails the case instead of hanging it. */
#define STUCK_AFTER_S 20.0
#define STUCK_EXIT 99

static fake_end how_ends(const char *validation, int attempt)
{
    for (size_t i = 0; i < F.nscript; i++) {
        const fake_script *s = &F.script[i];
        if (strcmp(s->validation, validation) != 0)
            continue;
        return s->attempt[(size_t)attempt <= s->n ? (size_t)attempt - 1 : s->n - 1];
    }
    return PASS;
}

static fake_job *fake_find(const char *id)
{
    for (size_t i = 0; id && i < F.n; i++)
        if (strcmp(F.v[i].id, id) == 0)
            return &F.v[i];
    return NULL;
}

static int fake_open(const relhost_ctx *ctx, const void *conf, void **inst)
{
    (void)ctx;
    (void)conf;
    *inst = &F;
    return 0;
}

/* The host's deadline of a job trails its timeout by DEADLINE_SLACK (30 s). So that a case need
 * not wait that long, the deadline the job layer armed is brought in, through the job layer's
 * own jobs_arm_deadline(), once the job is handed to the runner: the timer, its firing and
 * what follows are the production path; only the instant differs. */
static void shorten_deadline(const relhost_job_spec *spec)
{
    relhost_job *jb = F.shorten_job;
    if (!F.shorten_validation || !jb || strcmp(spec->validation, F.shorten_validation) != 0)
        return;
    F.armed_deadline_in = jb->w->deadline - loop_now();
    jb->w->deadline = loop_now() + F.shorten_to;
    F.shortened_deadline = jb->w->deadline;
    jobs_arm_deadline(jb);
}

static int fake_submit(const relhost_ctx *ctx, void *inst, const relhost_job_spec *spec,
                       char id[257], void **handle)
{
    fake_job *fj;
    int attempt = 1;
    (void)ctx;
    (void)inst;
    assert_true(F.n < MAX_FAKE);
    for (size_t i = 0; i < F.n; i++)
        attempt += strcmp(F.v[i].validation, spec->validation) == 0;
    fj = &F.v[F.n++];
    memset(fj, 0, sizeof *fj);
    snprintf(fj->key, sizeof fj->key, "%s", spec->key);
    snprintf(fj->id, sizeof fj->id, "fake-%zu", F.n);
    snprintf(fj->validation, sizeof fj->validation, "%s", spec->validation);
    fj->how = how_ends(spec->validation, attempt);
    fj->submitted_at = loop_now();
    if (++F.running > F.max_running)
        F.max_running = F.running;
    snprintf(id, 257, "%s", fj->id);
    *handle = NULL;
    shorten_deadline(spec);
    return 0;
}

static int fake_poll(const relhost_ctx *ctx, void *inst, relhost_job_status *sv, size_t n,
                     size_t elem_size, double *next_poll_s)
{
    (void)ctx;
    (void)inst;
    if (++F.npolls == F.interrupt_at_poll)
        loop_fake_interrupt(SIGTERM);
    for (size_t i = 0; i < n; i++) {
        relhost_job_status *s = (void *)((char *)sv + i * elem_size);
        fake_job *fj = fake_find(s->external_id);
        assert_non_null(fj);
        assert_false(fj->ended); /* the host never polls a job it was told has ended */
        if (fj->cancelled) {
            s->state = RELHOST_JOB_ENDED;
            s->end = RELHOST_END_SIGNALED;
            s->signal = SIGTERM;
        } else if (fj->how.polls >= 0 && fj->polls >= fj->how.polls &&
                   (!fj->how.after_cancel || F.cancels > 0)) {
            s->state = RELHOST_JOB_ENDED;
            s->end = fj->how.end;
            s->exit_code = fj->how.exit_code;
        } else if (loop_now() - fj->submitted_at > STUCK_AFTER_S) {
            s->state = RELHOST_JOB_ENDED;
            s->end = RELHOST_END_EXITED;
            s->exit_code = STUCK_EXIT;
        } else {
            fj->polls++;
            s->state = RELHOST_JOB_RUNNING;
            continue;
        }
        snprintf(s->engine_state, sizeof s->engine_state, "%s",
                 fj->cancelled ? "CANCELLED" : "DONE");
        fj->ended = 1;
        F.running--;
    }
    *next_poll_s = 0.02;
    return 0;
}

static int fake_cancel(const relhost_ctx *ctx, void *inst, const char *external_id, void *handle)
{
    fake_job *fj = fake_find(external_id);
    (void)ctx;
    (void)inst;
    (void)handle;
    if (fj && !fj->ended && !fj->cancelled) {
        if (F.cancels++ == 0)
            F.running_at_cancel = F.running;
        fj->cancelled = 1;
        fj->cancelled_at = loop_now();
        F.cancels_in_wait += F.in_wait;
    }
    return 0;
}

static const relhost_runner_ops fake_ops = {
    .struct_size = sizeof fake_ops,
    .open = fake_open,
    .submit = fake_submit,
    .poll = fake_poll,
    .cancel = fake_cancel,
};

/* ---- one run of the job layer: a plan with the fake runner, a state, the jobs ---- */

static char *dir; /* a fresh folder per case, removed by teardown */
static plan P;
static loaded_plugin PL;
static plan_instance RI;
static state *st;
static jobs *J;
static relhost_ctx sctx; /* the step's context */

static void open_run(int max_parallel)
{
    relhost_ctx base;
    memset(&P, 0, sizeof P);
    memset(&PL, 0, sizeof PL);
    memset(&RI, 0, sizeof RI);
    PL.desc.name = "fake";
    PL.desc.runner = &fake_ops;
    RI.name = "fake";
    RI.plugin_name = "fake";
    RI.pl = &PL;
    RI.where = "jobs.plan:3";
    RI.max_parallel = max_parallel;
    P.dir = dir;
    P.log_dir = xasprintf("%s/logs", dir);
    P.state_dir = dir;
    P.version = V;
    P.runners = &RI;
    P.nrunners = 1;
    assert_int_equal(state_open(dir, V, STATE_CREATE, &st), 0);
    memset(&base, 0, sizeof base);
    base.struct_size = sizeof base;
    base.mode = RELHOST_MODE_RUN;
    base.version = V;
    base.state_dir = dir;
    base.log_dir = P.log_dir;
    base.plan_dir = dir;
    J = jobs_new(&P, st, &base);
    sctx = base;
    sctx.step = STEP;
}

static void close_run(void)
{
    jobs_free(J);
    J = NULL;
    assert_int_equal(state_close(st), 0);
    st = NULL;
    free(P.log_dir);
    P.log_dir = NULL;
}

static int setup(void **unused)
{
    const char *base = getenv("RELHOST_TEST_TMP");
    (void)unused;
    memset(&F, 0, sizeof F);
    base = base && *base ? base : "/tmp";
    path_mkdirs(base);
    dir = xasprintf("%s/jobs-XXXXXX", base);
    if (!mkdtemp(dir))
        return -1;
    return loop_init();
}

static int teardown(void **unused)
{
    (void)unused;
    if (J)
        close_run();
    loop_fini();
    fs_remove_tree(dir);
    free(dir);
    dir = NULL;
    return 0;
}

static relhost_job *submit(const char *validation, const char *arg, double timeout_s, int retries)
{
    const char *argv[] = {"train", arg, NULL};
    relhost_job_request rq;
    relhost_job *jb = NULL;
    memset(&rq, 0, sizeof rq);
    rq.struct_size = sizeof rq;
    rq.validation = validation;
    rq.runner = "fake";
    rq.argv = argv;
    rq.timeout_s = timeout_s;
    rq.retries = retries;
    assert_int_equal(jobs_submit(J, &sctx, &rq, &jb), 0);
    assert_non_null(jb);
    return jb;
}

/* jobs_wait, noting for the fake that the job layer's own wait loop is running. */
static int wait_jobs(relhost_job *const *v, size_t n, int any)
{
    int rc;
    F.in_wait = 1;
    rc = jobs_wait(J, &sctx, v, n, any);
    F.in_wait = 0;
    return rc;
}

static relhost_job_result result_of(const relhost_job *jb)
{
    relhost_job_result r;
    memset(&r, 0, sizeof r);
    r.struct_size = sizeof r;
    assert_int_equal(jobs_result(J, jb, &r), 0);
    return r;
}

/* The JOB record "s/<validation>" as the state holds it. */
static void record_of(const char *validation, job_entry *e)
{
    char *id = xasprintf("%s/%s", STEP, validation);
    assert_int_equal(record_job_get(state_root(st), id, e), 0);
    free(id);
}

/* ---- the cases ---- */

static void test_unit_jobs__a_job_that_exits_0_passes_and_its_exit_code_and_duration_are_recorded(
    void **unused)
{
    static const fake_script script[] = {{"ok", {{3, RELHOST_END_EXITED, 0, 0}}, 1}};
    relhost_job *jb;
    relhost_job_result r;
    job_entry e;
    (void)unused;
    F.script = script;
    F.nscript = 1;
    open_run(4);
    jb = submit("ok", "--epochs=1", 0, 0);
    assert_int_equal(wait_jobs(&jb, 1, 0), 0);

    r = result_of(jb);
    assert_true(r.finished);
    assert_int_equal(r.outcome, RELHOST_PASSED);
    assert_null(r.reason);
    assert_int_equal(r.exit_code, 0);
    assert_int_equal(r.attempts, 1);
    assert_false(r.resumed);
    assert_string_equal(r.external_id, "fake-1");
    assert_true(r.duration_s > 0);
    assert_int_equal(F.n, 1);
    assert_string_equal(F.v[0].key, "rh-" V "-ok-a1");

    record_of("ok", &e);
    assert_int_equal(e.job.lifecycle, RECORD_LIFE_COMPLETED);
    assert_int_equal(e.job.outcome, RELHOST_PASSED);
    assert_string_equal(e.job.runner, "fake");
    assert_true(e.job.exit_code.set);
    assert_int_equal(e.job.exit_code.v, 0);
    assert_int_equal(e.job.attempt.v, 1);
    assert_string_equal(e.job.external_id, "fake-1");
    assert_non_null(e.job.started_at);
    assert_non_null(e.job.ended_at);
    assert_true(e.job.duration_s.set);
    assert_true(e.job.duration_s.v > 0);
    assert_true(e.job.duration_s.v == r.duration_s);
    record_job_entry_free(&e);
    close_run();
}

static void test_unit_jobs__a_job_that_exits_3_fails_on_its_exit_code_and_is_not_retried(
    void **unused)
{
    static const fake_script script[] = {{"bad", {{1, RELHOST_END_EXITED, 3, 0}}, 1}};
    relhost_job *jb;
    relhost_job_result r;
    job_entry e;
    (void)unused;
    F.script = script;
    F.nscript = 1;
    open_run(4);
    /* retries apply to retryable ERRORs only: a FAILED verdict is final */
    jb = submit("bad", "--epochs=1", 0, 2);
    assert_int_equal(wait_jobs(&jb, 1, 0), 0);

    r = result_of(jb);
    assert_int_equal(r.outcome, RELHOST_FAILED);
    assert_string_equal(r.reason, "exit_code");
    assert_false(r.retryable);
    assert_int_equal(r.exit_code, 3);
    assert_int_equal(r.attempts, 1);
    assert_int_equal(F.n, 1);

    record_of("bad", &e);
    assert_int_equal(e.job.lifecycle, RECORD_LIFE_COMPLETED);
    assert_int_equal(e.job.outcome, RELHOST_FAILED);
    assert_string_equal(e.job.reason, "exit_code");
    assert_int_equal(e.job.exit_code.v, 3);
    assert_false(e.job.retryable);
    /* the failure explains itself in the job's evidence */
    assert_true(e.ev.notes.n > 0);
    assert_non_null(strstr(e.ev.notes.v[0], "exited with 3"));
    record_job_entry_free(&e);
    close_run();
}

static void test_unit_jobs__a_hung_job_is_cancelled_at_its_deadline_as_a_timeout_while_another_runs(
    void **unused)
{
    /* "hang" never ends by itself (its runner's own limit "did not work"); "slow" runs until
     * after the cancel, then exits 0. */
    static const fake_script script[] = {{"hang", {{-1, RELHOST_END_EXITED, 0, 0}}, 1},
                                         {"slow", {{1, RELHOST_END_EXITED, 0, 1}}, 1}};
    relhost_job *v[2];
    relhost_job_result r;
    job_entry e;
    (void)unused;
    F.script = script;
    F.nscript = 2;
    open_run(4);
    v[0] = submit("hang", "--forever", 2.0, 0);
    v[1] = submit("slow", "--epochs=9", 0, 0);
    F.shorten_validation = "hang";
    F.shorten_job = v[0];
    F.shorten_to = 0.3;
    assert_int_equal(wait_jobs(v, 2, 0), 0);

    /* the job layer armed the deadline at timeout + DEADLINE_SLACK */
    assert_true(F.armed_deadline_in > 2.0 + DEADLINE_SLACK - 1.0);
    assert_true(F.armed_deadline_in <= 2.0 + DEADLINE_SLACK);
    /* one cancel, of "hang", not before its deadline, while "slow" was still running */
    assert_int_equal(F.cancels, 1);
    assert_true(F.v[0].cancelled);
    assert_false(F.v[1].cancelled);
    assert_true(F.v[0].cancelled_at >= F.shortened_deadline);
    assert_int_equal(F.running_at_cancel, 2);

    r = result_of(v[0]);
    assert_int_equal(r.outcome, RELHOST_FAILED);
    assert_string_equal(r.reason, "timeout");
    assert_int_equal(r.exit_code, 124);
    assert_int_equal(r.attempts, 1);
    r = result_of(v[1]);
    assert_int_equal(r.outcome, RELHOST_PASSED);
    assert_int_equal(r.exit_code, 0);

    record_of("hang", &e);
    assert_int_equal(e.job.lifecycle, RECORD_LIFE_COMPLETED);
    assert_int_equal(e.job.outcome, RELHOST_FAILED);
    assert_string_equal(e.job.reason, "timeout");
    assert_int_equal(e.job.exit_code.v, 124);
    record_job_entry_free(&e);
    record_of("slow", &e);
    assert_int_equal(e.job.outcome, RELHOST_PASSED);
    record_job_entry_free(&e);
    close_run();
}

static void test_unit_jobs__a_deadline_fires_from_its_loop_timer_while_other_code_serves_the_loop(
    void **unused)
{
    /* "quick" ends at its first poll, "hang" never by itself. The gate waits for any one of
     * them, then serves the loop itself (as an HTTP wait does): the deadline of "hang" must be
     * enforced right there, by its timer, not by the next jobs_wait. */
    static const fake_script script[] = {{"hang", {{-1, RELHOST_END_EXITED, 0, 0}}, 1},
                                         {"quick", {{0, RELHOST_END_EXITED, 0, 0}}, 1}};
    relhost_job *v[2];
    relhost_job_result r;
    double until;
    (void)unused;
    F.script = script;
    F.nscript = 2;
    open_run(4);
    v[0] = submit("hang", "--forever", 5.0, 0);
    v[1] = submit("quick", "--epochs=1", 0, 0);
    F.shorten_validation = "hang";
    F.shorten_job = v[0];
    F.shorten_to = 2.0;
    assert_int_equal(wait_jobs(v, 2, 1), 0);
    assert_true(result_of(v[1]).finished);
    assert_false(result_of(v[0]).finished);
    assert_int_equal(F.cancels, 0);

    until = loop_now() + STUCK_AFTER_S;
    while (F.cancels == 0 && loop_now() < until)
        loop_once(0.1);
    assert_int_equal(F.cancels, 1);
    assert_int_equal(F.cancels_in_wait, 0);
    assert_true(F.v[0].cancelled);
    assert_true(F.v[0].cancelled_at >= F.shortened_deadline);

    /* the end is then collected by the next wait, and is a timeout */
    assert_int_equal(wait_jobs(v, 1, 0), 0);
    r = result_of(v[0]);
    assert_int_equal(r.outcome, RELHOST_FAILED);
    assert_string_equal(r.reason, "timeout");
    assert_int_equal(r.exit_code, 124);
    close_run();
}

static void test_unit_jobs__a_retryable_error_is_retried_and_the_second_attempt_passes(
    void **unused)
{
    /* attempt 1: the engine lost the node (retryable ERROR); attempt 2 exits 0 */
    static const fake_script script[] = {
        {"flaky", {{0, RELHOST_END_INFRA, 0, 0}, {1, RELHOST_END_EXITED, 0, 0}}, 2}};
    relhost_job *jb;
    relhost_job_result r;
    job_entry e;
    (void)unused;
    F.script = script;
    F.nscript = 1;
    open_run(4);
    jb = submit("flaky", "--epochs=1", 0, 1);
    assert_int_equal(wait_jobs(&jb, 1, 0), 0);

    assert_int_equal(F.n, 2);
    assert_string_equal(F.v[0].key, "rh-" V "-flaky-a1");
    assert_string_equal(F.v[1].key, "rh-" V "-flaky-a2");
    r = result_of(jb);
    assert_int_equal(r.outcome, RELHOST_PASSED);
    assert_int_equal(r.exit_code, 0);
    assert_int_equal(r.attempts, 2);
    /* one log per attempt */
    assert_non_null(strstr(r.log_path, "/flaky.attempt2.log"));

    record_of("flaky", &e);
    assert_int_equal(e.job.outcome, RELHOST_PASSED);
    assert_int_equal(e.job.attempt.v, 2);
    assert_string_equal(e.job.key, "rh-" V "-flaky-a2");
    record_job_entry_free(&e);
    close_run();
}

static void test_unit_jobs__retries_stop_when_the_attempts_are_spent(void **unused)
{
    static const fake_script script[] = {{"down", {{0, RELHOST_END_INFRA, 0, 0}}, 1}};
    relhost_job *jb;
    relhost_job_result r;
    (void)unused;
    F.script = script;
    F.nscript = 1;
    open_run(4);
    jb = submit("down", "--epochs=1", 0, 1);
    assert_int_equal(wait_jobs(&jb, 1, 0), 0);

    assert_int_equal(F.n, 2); /* the first attempt and its one retry */
    r = result_of(jb);
    assert_int_equal(r.outcome, RELHOST_ERROR);
    assert_string_equal(r.reason, "infra");
    assert_true(r.retryable);
    assert_int_equal(r.attempts, 2);
    close_run();
}

static void test_unit_jobs__a_finished_job_in_the_state_is_resumed_not_run_again(void **unused)
{
    /* run 1: "bad" exits 3, "lost" loses its node with no retries left (a retryable ERROR) */
    static const fake_script script[] = {{"bad", {{0, RELHOST_END_EXITED, 3, 0}}, 1},
                                         {"lost", {{0, RELHOST_END_INFRA, 0, 0}}, 1}};
    relhost_job *v[4];
    relhost_job_result r;
    (void)unused;
    F.script = script;
    F.nscript = 2;
    open_run(4);
    v[0] = submit("ok", "--epochs=1", 0, 0);
    v[1] = submit("bad", "--epochs=1", 0, 0);
    v[2] = submit("edited", "--epochs=1", 0, 0);
    v[3] = submit("lost", "--epochs=1", 0, 0);
    assert_int_equal(wait_jobs(v, 4, 0), 0);
    assert_int_equal(F.n, 4);
    assert_int_equal(result_of(v[3]).outcome, RELHOST_ERROR);
    assert_true(result_of(v[3]).retryable);
    close_run();

    /* A later run of the same release, in which every job would pass: the same commands, but
     * for "edited" */
    F.n = 0;
    F.nscript = 0;
    open_run(4);
    v[0] = submit("ok", "--epochs=1", 0, 0);
    v[1] = submit("bad", "--epochs=1", 0, 0);
    v[2] = submit("edited", "--epochs=2", 0, 0);
    v[3] = submit("lost", "--epochs=1", 0, 0);
    assert_int_equal(wait_jobs(v, 4, 0), 0);

    r = result_of(v[0]);
    assert_true(r.resumed);
    assert_int_equal(r.outcome, RELHOST_PASSED);
    assert_int_equal(r.exit_code, 0);
    assert_string_equal(r.external_id, "fake-1");
    assert_true(jobs_resumed(J, STEP "/ok"));
    /* a FAILED result is a result too: only --retry-failed runs it again */
    r = result_of(v[1]);
    assert_true(r.resumed);
    assert_int_equal(r.outcome, RELHOST_FAILED);
    assert_string_equal(r.reason, "exit_code");
    assert_int_equal(r.exit_code, 3);
    /* a changed command is a new validation as far as results go */
    r = result_of(v[2]);
    assert_false(r.resumed);
    assert_false(jobs_resumed(J, STEP "/edited"));
    assert_int_equal(r.outcome, RELHOST_PASSED);
    /* a retryable ERROR is no result: it runs again */
    r = result_of(v[3]);
    assert_false(r.resumed);
    assert_int_equal(r.outcome, RELHOST_PASSED);
    assert_int_equal(F.n, 2);
    assert_string_equal(F.v[0].validation, "edited");
    assert_string_equal(F.v[1].validation, "lost");
    close_run();
}

static void test_unit_jobs__an_interrupt_cancels_a_running_job_which_runs_again_in_the_next_run(
    void **unused)
{
    static const fake_script script[] = {{"long", {{-1, RELHOST_END_EXITED, 0, 0}}, 1}};
    relhost_job *jb;
    relhost_job_result r;
    job_entry e;
    (void)unused;
    F.script = script;
    F.nscript = 1;
    F.interrupt_at_poll = 3;
    open_run(4);
    jb = submit("long", "--epochs=1", 0, 0);
    assert_int_equal(wait_jobs(&jb, 1, 0), RELHOST_EINTR);

    /* stopped by relhost: cancelled on its runner, no outcome, recorded as not yet run */
    assert_int_equal(F.cancels, 1);
    assert_true(F.v[0].cancelled);
    r = result_of(jb);
    assert_false(r.finished);
    assert_int_equal(r.outcome, RELHOST_NONE);
    record_of("long", &e);
    assert_int_equal(e.job.lifecycle, RECORD_LIFE_PENDING);
    assert_null(e.job.outcome_raw);
    record_job_entry_free(&e);
    close_run();

    /* the next run (no interrupt now) runs it again, and it passes this time */
    loop_fini();
    assert_int_equal(loop_init(), 0);
    assert_int_equal(loop_interrupted(), 0);
    F.nscript = 0;
    F.n = 0;
    open_run(4);
    jb = submit("long", "--epochs=1", 0, 0);
    assert_int_equal(wait_jobs(&jb, 1, 0), 0);
    r = result_of(jb);
    assert_false(r.resumed);
    assert_int_equal(r.outcome, RELHOST_PASSED);
    assert_int_equal(r.attempts, 1);
    assert_int_equal(F.n, 1);
    close_run();
}

static void test_unit_jobs__a_runner_never_has_more_than_max_parallel_jobs_running(void **unused)
{
    static const char *const names[] = {"m1", "m2", "m3", "m4", "m5"};
    static const fake_script script[] = {{"m1", {{3, RELHOST_END_EXITED, 0, 0}}, 1},
                                         {"m2", {{1, RELHOST_END_EXITED, 0, 0}}, 1},
                                         {"m3", {{4, RELHOST_END_EXITED, 0, 0}}, 1},
                                         {"m4", {{2, RELHOST_END_EXITED, 0, 0}}, 1},
                                         {"m5", {{1, RELHOST_END_EXITED, 0, 0}}, 1}};
    relhost_job *v[5];
    job_entry e;
    (void)unused;
    F.script = script;
    F.nscript = 5;
    open_run(2);
    for (size_t i = 0; i < 5; i++)
        v[i] = submit(names[i], "--epochs=1", 0, 0);
    assert_int_equal(F.n, 0); /* submitting queues: nothing starts before the wait */
    assert_int_equal(wait_jobs(v, 5, 0), 0);

    assert_int_equal(F.n, 5);
    assert_int_equal(F.max_running, 2); /* the slots are used, never exceeded */
    assert_int_equal(F.running, 0);
    for (size_t i = 0; i < 5; i++) {
        relhost_job_result r = result_of(v[i]);
        assert_int_equal(r.outcome, RELHOST_PASSED);
        record_of(names[i], &e);
        assert_int_equal(e.job.lifecycle, RECORD_LIFE_COMPLETED);
        record_job_entry_free(&e);
    }
    /* queued jobs start in submission order as slots free up */
    for (size_t i = 0; i < 2; i++)
        assert_string_equal(F.v[i].validation, names[i]);
    close_run();
}

/* A tick walks the running jobs, the jobs it starts and the ends since the last one, never all
 * the jobs (issue 18): what the wait looks at stays linear in the jobs, where asking every job
 * at every tick would be (ticks x jobs). */
static void test_unit_jobs__a_tick_looks_at_the_running_jobs_not_at_every_job(void **unused)
{
    enum { N = 60, PAR = 2 };
    relhost_job *v[N];
    char name[N][16];
    (void)unused;
    open_run(PAR);
    for (size_t i = 0; i < N; i++) {
        snprintf(name[i], sizeof name[i], "t%zu", i);
        v[i] = submit(name[i], "--epochs=1", 0, 0);
    }
    assert_int_equal(wait_jobs(v, N, 0), 0);
    assert_int_equal(F.n, N);
    for (size_t i = 0; i < N; i++)
        assert_int_equal(result_of(v[i]).outcome, RELHOST_PASSED);
    assert_true(J->ticks >= N / PAR); /* PAR start per tick at most */
    /* each tick looks at its running jobs (and the one it cannot start), each poll at the
     * runner's; each job is passed and counted as ended once */
    assert_true(J->visits <= 3 * N + 3 * (J->ticks + J->polls) * (PAR + 1));
    assert_true(J->visits < J->ticks * N / 2);
    close_run();
}

/* A finished job keeps its result and nothing of its run (issue 18: at most 2 KiB retained per
 * finished job): no live part, templates, argv, env or evidence; the evidence is in the state. */
static void test_unit_jobs__a_finished_job_keeps_its_result_and_frees_what_it_ran_with(
    void **unused)
{
    relhost_job *jb;
    relhost_job_result r;
    job_entry e;
    size_t kept;
    (void)unused;
    open_run(2);
    jb = submit("small", "--epochs=1", 0, 0);
    assert_null(jb->w->lv); /* queued: its live part comes when it starts */
    assert_int_equal(wait_jobs(&jb, 1, 0), 0);
    r = result_of(jb);
    assert_int_equal(r.outcome, RELHOST_PASSED);
    assert_int_equal(r.exit_code, 0);
    assert_string_equal(r.external_id, "fake-1");
    assert_non_null(strstr(r.log_path, "small.log"));
    assert_true(r.duration_s > 0);
    assert_null(jb->w); /* live part, templates, argv, env, sources, log, timers went with it */
    assert_int_equal(jobs_evidence(jb)->nartifacts + jobs_evidence(jb)->notes.n, 0);
    /* its own allocations: the struct, id (validation points into it; the step's name is
     * shared by the step's jobs), log path and external id; the idempotency key, hashes and
     * evidence went with the work part (the state has them) */
    assert_ptr_equal(jb->validation, jb->id + strlen(jb->step) + 1);
    assert_null(jb->ev);
    kept = sizeof *jb + strlen(jb->id) + strlen(jb->log_path) + strlen(jb->ext_id) +
           4 * 16 /* overheads */;
    assert_true(sizeof *jb <= 176); /* was 776 with what it ran with inline */
    assert_true(kept <= 640);       /* and the state's packed record: under 1.6 KiB in all */
    record_of("small", &e);         /* what reports read: the state */
    assert_int_equal(e.job.outcome, RELHOST_PASSED);
    assert_int_equal(e.ev.nartifacts, 1);
    assert_string_equal(e.ev.artifacts[0].kind, "log");
    record_job_entry_free(&e);
    close_run();
}

/* job_require() keeps each name once, in the order first asked, for a gate of many
 * validations: an index, not a scan of the list per name (quadratic at 100,000). */
static void test_unit_jobs__job_require_keeps_each_name_once_in_first_order(void **unused)
{
    relhost_ctx base;
    hostctx hc;
    strvec req = {0};
    const relhost_host *h = host_table();
    char name[32];
    (void)unused;
    memset(&base, 0, sizeof base);
    hostctx_init(&hc, &base, "workflow", "tests", NULL, NULL);
    hc.requires = &req;
    for (int round = 0; round < 3; round++)
        for (int i = 0; i < 5000; i++) {
            snprintf(name, sizeof name, "v%d", round == 1 ? 4999 - i : i);
            assert_int_equal(h->job_require(&hc.pub, name), 0);
        }
    assert_int_equal(h->job_require(&hc.pub, "late"), 0);
    assert_int_equal(h->job_require(&hc.pub, "v17"), 0);
    assert_int_equal(req.n, 5001);
    for (int i = 0; i < 5000; i++) {
        snprintf(name, sizeof name, "v%d", i);
        assert_string_equal(req.v[i], name);
    }
    assert_string_equal(req.v[5000], "late");
    hostctx_fini(&hc);
    sv_free(&req);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_unit_jobs__a_job_that_exits_0_passes_and_its_exit_code_and_duration_are_recorded,
            setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_unit_jobs__a_job_that_exits_3_fails_on_its_exit_code_and_is_not_retried, setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            test_unit_jobs__a_hung_job_is_cancelled_at_its_deadline_as_a_timeout_while_another_runs,
            setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_unit_jobs__a_deadline_fires_from_its_loop_timer_while_other_code_serves_the_loop,
            setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_unit_jobs__a_retryable_error_is_retried_and_the_second_attempt_passes, setup,
            teardown),
        cmocka_unit_test_setup_teardown(test_unit_jobs__retries_stop_when_the_attempts_are_spent,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_unit_jobs__a_finished_job_in_the_state_is_resumed_not_run_again, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_unit_jobs__an_interrupt_cancels_a_running_job_which_runs_again_in_the_next_run,
            setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_unit_jobs__a_runner_never_has_more_than_max_parallel_jobs_running, setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            test_unit_jobs__a_tick_looks_at_the_running_jobs_not_at_every_job, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_unit_jobs__a_finished_job_keeps_its_result_and_frees_what_it_ran_with, setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            test_unit_jobs__job_require_keeps_each_name_once_in_first_order, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
