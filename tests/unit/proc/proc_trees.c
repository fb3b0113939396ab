/* SPDX-License-Identifier: MIT */
/* tests/unit/proc/proc_trees.c - the proc cases on deadlines, escaped process trees and interrupts,
 * and proc_spawn (logs, cookies, timeouts, kill_all and release); main and fixtures in proc.c and
 * proc_common.c. */

#include "proc_common.h"

#include "run/proc_int.h"

#include <sys/prctl.h>
#include <sys/wait.h>

/* ---- proc_run: deadlines, escaped processes, interrupts ------------------------------------- */

void test_unit_proc__timeout_kills_the_command_and_reports_124(void **state)
{
    const char *argv[] = {"sh", "-c", "echo started; exec sleep 1000", NULL};
    relhost_proc_spec s = spec_of(argv);
    relhost_proc_result r;
    (void)state;

    s.timeout_s = 0.3;
    assert_int_equal(proc_run(&s, &r), 0);
    assert_int_equal(r.timed_out, 1);
    assert_int_equal(r.exited, 1);
    assert_int_equal(r.exit_code, 124);
    assert_int_equal(r.signal, 0);
    assert_string_equal(r.out, "started\n");
    assert_true(r.duration_s >= 0.3);
    proc_result_free(&r);
}

void test_unit_proc__timeout_kills_an_escaped_grandchild_that_ignores_sigterm(void **state)
{
    char *script = path_in_tmp("escape.sh"), *report = path_in_tmp("run-escapee");
    const char *argv[] = {script, report, "stay", NULL};
    relhost_proc_spec s = spec_of(argv);
    relhost_proc_result r;
    char *text;
    pid_t g;
    (void)state;

    unlink(report);
    s.timeout_s = 1.5;
    s.grace_s = 0.3;
    assert_int_equal(proc_run(&s, &r), 0);
    assert_int_equal(r.timed_out, 1);
    assert_int_equal(r.exit_code, 124);

    text = slurp(report);
    assert_non_null(text);
    g = check_escapee(text, -1);
    /* Dead and reaped (a zombie would still answer kill(pid, 0)). */
    assert_true(pid_gone(g));
    free(text);
    proc_result_free(&r);
    free(script);
    free(report);
}

/* n `sleep 60` that are not below this process (their parent exits while this process is no
 * subreaper, so they go to an ancestor); their pids into pids[]. */
static void start_strangers(pid_t *pids, int n)
{
    int fds[2], sub = 0;
    pid_t a;
    assert_int_equal(prctl(PR_GET_CHILD_SUBREAPER, &sub), 0);
    assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 0), 0);
    assert_int_equal(pipe(fds), 0);
    a = fork();
    assert_true(a >= 0);
    if (a == 0) {
        close(fds[0]);
        for (int i = 0; i < n; i++) {
            pid_t c = fork();
            if (c == 0) {
                execlp("sleep", "sleep", "60", (char *)NULL);
                _exit(127);
            }
            if (write(fds[1], &c, sizeof c) != (ssize_t)sizeof c)
                _exit(1);
        }
        _exit(0);
    }
    close(fds[1]);
    for (int i = 0; i < n; i++)
        assert_int_equal(read(fds[0], &pids[i], sizeof pids[i]), (ssize_t)sizeof pids[i]);
    close(fds[0]);
    assert_int_equal(waitpid(a, NULL, 0), a);
    assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, sub), 0);
}

/* Finding a dying tree's members reads /proc of relhost's descendants only (the children
 * files), not of every process on the machine: it used to read /proc/<pid>/stat of each, at
 * every job end. */
void test_unit_proc__a_tree_scan_reads_only_the_descendants_however_many_processes_run(void **state)
{
    char *script = path_in_tmp("escape.sh"), *report = path_in_tmp("scan-escapee");
    const char *argv[] = {script, report, "stay", NULL};
    relhost_proc_spec s = spec_of(argv);
    relhost_proc_result r;
    pid_t strangers[120];
    unsigned long b0, r0, b1, r1;
    char *text;
    (void)state;

    start_strangers(strangers, 120);
    unlink(report);
    s.timeout_s = 1.0;
    s.grace_s = 0.3;
    proc_scan_stats(&b0, &r0);
    assert_int_equal(proc_run(&s, &r), 0);
    proc_scan_stats(&b1, &r1);
    for (int i = 0; i < 120; i++)
        kill(strangers[i], SIGKILL);
    assert_int_equal(r.timed_out, 1);
    text = slurp(report);
    assert_non_null(text);
    assert_true(pid_gone(check_escapee(text, -1))); /* the escaped grandchild was found */
    assert_true(b1 > b0);
    /* the tree: the script, its sleep, the escaped grandchild; a few files each */
    if ((r1 - r0) / (b1 - b0) >= 40)
        fail_msg("%lu /proc files per look at a tree of 3 (%lu looks)", (r1 - r0) / (b1 - b0),
                 b1 - b0);
    free(text);
    proc_result_free(&r);
    free(script);
    free(report);
}

void test_unit_proc__a_grandchild_holding_the_pipes_after_the_command_ended_is_killed(void **state)
{
    char *script = path_in_tmp("escape.sh"), *report = path_in_tmp("run-leftover");
    const char *argv[] = {script, report, "exit", NULL};
    relhost_proc_spec s = spec_of(argv);
    relhost_proc_result r;
    char *text;
    pid_t g;
    (void)state;

    unlink(report);
    s.grace_s = 0.3;
    assert_int_equal(proc_run(&s, &r), 0);
    assert_int_equal(r.timed_out, 0);
    assert_int_equal(r.exited, 1);
    assert_int_equal(r.exit_code, 0);
    text = slurp(report);
    assert_non_null(text);
    g = check_escapee(text, -1);
    assert_true(pid_gone(g));
    free(text);
    proc_result_free(&r);
    free(script);
    free(report);
}

void test_unit_proc__an_orphan_left_with_closed_pipes_is_adopted_and_reaped(void **state)
{
    const char *argv[] = {"sh", "-c", "sleep 0.3 </dev/null >/dev/null 2>&1 & echo $!", NULL};
    relhost_proc_spec s = spec_of(argv);
    relhost_proc_result r;
    char path[64], *stat_text;
    const char *after;
    double until;
    pid_t orphan;
    (void)state;

    assert_int_equal(proc_run(&s, &r), 0);
    orphan = (pid_t)atoi(r.out);
    assert_true(orphan > 0);
    /* The subreaper adopted it: its parent (4th field of stat) is us. */
    snprintf(path, sizeof path, "/proc/%d/stat", (int)orphan);
    stat_text = slurp(path);
    assert_non_null(stat_text);
    after = strrchr(stat_text, ')');
    assert_non_null(after);
    assert_int_equal(strtol(after + 4, NULL, 10), getpid());
    free(stat_text);
    /* The SIGCHLD hook reaps it when it ends: no zombie stays behind. */
    until = loop_now() + 5;
    while (!pid_gone(orphan) && loop_now() < until)
        loop_once(0.05);
    assert_true(pid_gone(orphan));
    proc_result_free(&r);
}

struct interrupter {
    int tfd;
    const char *ready; /* interrupt once this file exists */
    int fired;
};

static void on_tick(int fd, short revents, void *arg)
{
    struct interrupter *it = arg;
    struct stat st;
    uint64_t n;
    (void)revents;
    if (read(fd, &n, sizeof n) != (ssize_t)sizeof n)
        return;
    /* Not empty: the shell creates the file before its pid is written. */
    if (stat(it->ready, &st) == 0 && st.st_size > 0) {
        loop_fake_interrupt(SIGINT);
        it->fired++;
    }
}

static void start_interrupter(struct interrupter *it, const char *ready)
{
    struct itimerspec every = {.it_interval = {0, 20000000}, .it_value = {0, 20000000}};
    it->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
    it->ready = ready;
    it->fired = 0;
    assert_true(it->tfd >= 0);
    assert_int_equal(timerfd_settime(it->tfd, 0, &every, NULL), 0);
    assert_int_equal(loop_watch_fd(it->tfd, POLLIN, on_tick, it), 0);
}

static void stop_interrupter(struct interrupter *it)
{
    loop_unwatch_fd(it->tfd);
    close(it->tfd);
}

void test_unit_proc__an_interrupt_makes_run_return_eintr_and_kills_the_command(void **state)
{
    char *pidfile = path_in_tmp("interrupted.pid");
    const char *argv[] = {"sh", "-c", "echo $$ > \"$0\"; exec sleep 1000", pidfile, NULL};
    relhost_proc_spec s = spec_of(argv);
    relhost_proc_result r;
    struct interrupter it;
    char *text;
    (void)state;

    unlink(pidfile);
    start_interrupter(&it, pidfile);
    s.grace_s = 0.3;
    assert_int_equal(proc_run(&s, &r), RELHOST_EINTR);
    stop_interrupter(&it);
    assert_int_equal(it.fired >= 1, 1);
    assert_non_null(strstr(error_last(), "interrupted while running 'sh'"));
    assert_int_equal(r.timed_out, 0);
    assert_int_equal(r.signal, SIGTERM);
    text = slurp(pidfile);
    assert_non_null(text);
    assert_true(atoi(text) > 0);
    assert_true(pid_gone((pid_t)atoi(text)));
    free(text);
    proc_result_free(&r);
    free(pidfile);
}

void test_unit_proc__a_real_sigterm_to_relhost_interrupts_run(void **state)
{
    const char *argv[] = {"sh", "-c", "kill -TERM $PPID; exec sleep 1000", NULL};
    relhost_proc_spec s = spec_of(argv);
    relhost_proc_result r;
    (void)state;

    assert_int_equal(proc_run(&s, &r), RELHOST_EINTR);
    assert_int_equal(loop_interrupted(), 1);
    assert_int_equal(loop_interrupt_signal(), SIGTERM);
    assert_int_equal(r.signal, SIGTERM);
    proc_result_free(&r);
}

void test_unit_proc__a_second_interrupt_during_the_grace_sends_sigkill_at_once(void **state)
{
    char *pidfile = path_in_tmp("stubborn.pid");
    const char *argv[] = {"sh", "-c", STUBBORN_SH, pidfile, NULL};
    relhost_proc_spec s = spec_of(argv);
    relhost_proc_result r;
    struct interrupter it;
    double t0 = loop_now();
    (void)state;

    unlink(pidfile);
    /* The ticker keeps interrupting every 20 ms once the command is up: the first interrupt
     * starts the kill, the next one must cut the 60 s grace short. */
    start_interrupter(&it, pidfile);
    s.grace_s = 60;
    assert_int_equal(proc_run(&s, &r), RELHOST_EINTR);
    stop_interrupter(&it);
    assert_true(it.fired >= 2);
    assert_int_equal(r.signal, SIGKILL);
    assert_true(loop_now() - t0 < 30);
    proc_result_free(&r);
    free(pidfile);
}

/* ---- proc_spawn ----------------------------------------------------------------------------- */

void test_unit_proc__spawn_appends_to_a_log_in_new_folders_and_poll_reports_the_exit(void **state)
{
    char *log = path_in_tmp("spawn/deep/er/job.log");
    const char *a1[] = {"sh", "-c", "echo one; echo two >&2; exit 7", NULL};
    const char *a2[] = {"sh", "-c", "echo three", NULL};
    relhost_proc_spec s = spec_of(a1);
    relhost_proc_result r;
    relhost_proc *p;
    char *text;
    (void)state;

    s.log_path = log;
    assert_int_equal(proc_spawn(&s, NULL, &p), 0);
    assert_true(proc_pid(p) > 0);
    assert_int_equal(wait_done(p, &r, 10), 1);
    assert_int_equal(r.exited, 1);
    assert_int_equal(r.exit_code, 7);
    assert_int_equal(r.timed_out, 0);
    assert_null(r.out);
    proc_release(p);

    s = spec_of(a2);
    s.log_path = log;
    assert_int_equal(proc_spawn(&s, NULL, &p), 0);
    assert_int_equal(wait_done(p, &r, 10), 1);
    assert_int_equal(r.exit_code, 0);
    proc_release(p);

    text = slurp(log);
    assert_non_null(text);
    assert_string_equal(text, "one\ntwo\nthree\n");
    free(text);
    free(log);
}

void test_unit_proc__spawn_exports_the_job_cookie_and_the_process_cookie(void **state)
{
    char *log = path_in_tmp("spawn/env.log");
    const char *argv[] = {"env", NULL};
    relhost_proc_spec s = spec_of(argv);
    relhost_proc_result r;
    relhost_proc *p;
    char *text;
    (void)state;

    unlink(log);
    s.log_path = log;
    assert_int_equal(proc_spawn(&s, "rh-1.0-smoke-a1", &p), 0);
    assert_int_equal(wait_done(p, &r, 10), 1);
    proc_release(p);
    text = slurp(log);
    assert_non_null(text);
    assert_non_null(strstr(text, "\nRELHOST_JOB=rh-1.0-smoke-a1\n"));
    assert_non_null(env_line(text, "RELHOST_PROC"));
    free(text);
    free(log);
}

void test_unit_proc__spawn_timeout_appends_the_timeout_line_and_reports_124(void **state)
{
    char *log = path_in_tmp("spawn/timeout.log");
    const char *argv[] = {"sh", "-c", "printf started; exec sleep 1000", NULL};
    relhost_proc_spec s = spec_of(argv);
    relhost_proc_result r;
    relhost_proc *p;
    char *text;
    (void)state;

    unlink(log);
    s.log_path = log;
    s.timeout_s = 0.3;
    s.grace_s = 0.2;
    assert_int_equal(proc_spawn(&s, NULL, &p), 0);
    assert_int_equal(proc_live_count(), 1);
    assert_int_equal(wait_done(p, &r, 10), 1);
    assert_int_equal(r.timed_out, 1);
    assert_int_equal(r.exit_code, 124);
    assert_int_equal(proc_live_count(), 0);
    proc_release(p);
    text = slurp(log);
    assert_non_null(text);
    /* The child's unfinished line is not glued to relhost's. */
    assert_string_equal(text, "started\n[TIMEOUT] relhost: killed after 0.3s (SIGTERM, SIGKILL "
                              "after 0.2s grace)\n");
    free(text);
    free(log);
}

void test_unit_proc__spawn_timeout_escalates_to_sigkill_after_the_grace(void **state)
{
    char *log = path_in_tmp("spawn/stubborn.log");
    const char *argv[] = {"sh", "-c", "trap '' TERM; while :; do sleep 0.05; done", NULL};
    relhost_proc_spec s = spec_of(argv);
    relhost_proc_result r;
    relhost_proc *p;
    double t0;
    (void)state;

    s.log_path = log;
    s.timeout_s = 0.5;
    s.grace_s = 0.3;
    assert_int_equal(proc_spawn(&s, NULL, &p), 0);
    t0 = loop_now();
    assert_int_equal(wait_done(p, &r, 10), 1);
    assert_int_equal(r.timed_out, 1);
    assert_int_equal(r.exit_code, 124);
    /* SIGTERM was ignored: only SIGKILL, after the grace, ended it. */
    assert_true(loop_now() - t0 >= 0.75);
    proc_release(p);
    free(log);
}

void test_unit_proc__proc_kill_kills_an_escaped_grandchild_that_ignores_sigterm(void **state)
{
    char *script = path_in_tmp("escape.sh"), *report = path_in_tmp("spawn-escapee");
    char *log = path_in_tmp("spawn/escape.log");
    const char *argv[] = {script, report, "stay", NULL};
    relhost_proc_spec s = spec_of(argv);
    relhost_proc_result r;
    relhost_proc *p;
    char *text;
    pid_t g, child;
    (void)state;

    unlink(report);
    s.log_path = log;
    s.grace_s = 0.3;
    assert_int_equal(proc_spawn(&s, NULL, &p), 0);
    child = proc_pid(p);
    text = wait_for_file(report, 10);
    assert_non_null(text);
    g = check_escapee(text, child);
    /* Alive, outside the child's group, ignoring SIGTERM: only the cookie finds it. */
    assert_int_equal(kill(g, 0), 0);

    assert_int_equal(proc_kill(p), 0);
    assert_true(pid_gone(g));
    assert_true(pid_gone(child));
    assert_int_equal(wait_done(p, &r, 1), 1);
    assert_int_equal(r.signal, SIGTERM);
    assert_int_equal(r.timed_out, 0);
    assert_int_equal(proc_live_count(), 0);
    proc_release(p);
    free(text);
    free(script);
    free(report);
    free(log);
}

void test_unit_proc__a_job_that_exits_leaving_an_escaped_process_ends_once_it_is_killed(
    void **state)
{
    char *script = path_in_tmp("escape.sh"), *report = path_in_tmp("spawn-leftover");
    char *log = path_in_tmp("spawn/leftover.log");
    const char *argv[] = {script, report, "exit", NULL};
    relhost_proc_spec s = spec_of(argv);
    relhost_proc_result r;
    relhost_proc *p;
    char *text;
    pid_t g;
    (void)state;

    unlink(report);
    unlink(log);
    s.log_path = log;
    s.grace_s = 0.3;
    assert_int_equal(proc_spawn(&s, NULL, &p), 0);
    assert_int_equal(wait_done(p, &r, 10), 1);
    assert_int_equal(r.exited, 1);
    assert_int_equal(r.exit_code, 0);
    assert_int_equal(r.timed_out, 0);
    text = slurp(report);
    assert_non_null(text);
    g = check_escapee(text, proc_pid(p));
    assert_true(pid_gone(g));
    free(text);
    text = slurp(log);
    assert_string_equal(text, "[CLEANUP] relhost: main process exited; stopping the processes it "
                              "left (SIGTERM, SIGKILL after 0.3s grace)\n");
    free(text);
    proc_release(p);
    free(script);
    free(report);
    free(log);
}

void test_unit_proc__spawn_of_a_missing_command_logs_why_and_reports_127(void **state)
{
    char *log = path_in_tmp("spawn/missing.log");
    const char *argv[] = {"relhost-no-such-command", NULL};
    relhost_proc_spec s = spec_of(argv);
    relhost_proc_result r;
    relhost_proc *p;
    char *text;
    (void)state;

    unlink(log);
    s.log_path = log;
    assert_int_equal(proc_spawn(&s, NULL, &p), 0);
    assert_int_equal(wait_done(p, &r, 10), 1);
    assert_int_equal(r.exec_failed, 1);
    assert_int_equal(r.exit_code, 127);
    proc_release(p);
    text = slurp(log);
    assert_string_equal(text, "relhost: cannot execute 'relhost-no-such-command': "
                              "No such file or directory\n");
    free(text);
    free(log);
}

void test_unit_proc__kill_all_and_release_stop_every_spawned_tree(void **state)
{
    char *log = path_in_tmp("spawn/many.log"), *ready = path_in_tmp("many.ready"), *text;
    const char *plain[] = {"sleep", "1000", NULL};
    const char *stubborn[] = {"sh", "-c", STUBBORN_SH, ready, NULL};
    relhost_proc_spec s1 = spec_of(plain), s2 = spec_of(stubborn), s3 = spec_of(plain);
    relhost_proc_result r;
    relhost_proc *a, *b, *c;
    pid_t pc;
    (void)state;

    s1.log_path = s2.log_path = s3.log_path = log;
    s1.grace_s = s2.grace_s = s3.grace_s = 0.3;
    assert_int_equal(proc_spawn(&s1, NULL, &a), 0);
    unlink(ready);
    assert_int_equal(proc_spawn(&s2, NULL, &b), 0);
    assert_int_equal(proc_live_count(), 2);
    /* Only once the trap is set is SIGTERM sure to be ignored. */
    text = wait_for_file(ready, 10);
    assert_non_null(text);
    free(text);
    proc_kill_all();
    assert_int_equal(proc_live_count(), 0);
    assert_true(pid_gone(proc_pid(a)));
    assert_true(pid_gone(proc_pid(b)));
    assert_int_equal(wait_done(a, &r, 1), 1);
    assert_int_equal(r.signal, SIGTERM);
    assert_int_equal(wait_done(b, &r, 1), 1);
    assert_int_equal(r.signal, SIGKILL);
    proc_release(a);
    proc_release(b);

    /* Releasing a running process kills it first. */
    assert_int_equal(proc_spawn(&s3, NULL, &c), 0);
    pc = proc_pid(c);
    proc_release(c);
    assert_true(pid_gone(pc));
    free(ready);
    free(log);
}

/* A tree whose first look was unsure (a descendant's environ could not be read: here a process
 * started with an empty environment) gets its second look from a timer TICK_S later, and that
 * look counts as child news, so the job layer polls the runner at once instead of at its
 * fallback pace (a second or more: the end of `true` was noticed a second late). */
void test_unit_proc__an_unsure_tree_is_looked_at_again_by_a_timer_and_told_as_child_news(
    void **state)
{
    char *log = path_in_tmp("unsure/job.log"), *blog = path_in_tmp("unsure/blocker.log");
    const char *ab[] = {"env", "-i", "sleep", "20", NULL};
    const char *aj[] = {"true", NULL};
    relhost_proc_spec s = spec_of(ab);
    relhost_proc_result r;
    relhost_proc *blocker, *job;
    unsigned news;
    int done = 0, rounds = 0;
    (void)state;

    s.log_path = blog;
    assert_int_equal(proc_spawn(&s, NULL, &blocker), 0);
    for (int i = 0; i < 200; i++) { /* until env -i has exec'd: no environ to read */
        char path[64], *text;
        snprintf(path, sizeof path, "/proc/%d/environ", (int)proc_pid(blocker));
        text = slurp(path);
        if (text && !text[0]) {
            free(text);
            break;
        }
        free(text);
        loop_once(0.01);
    }
    loop_once(0.05); /* a table of relhost's descendants read before the blocker is stale now */
    s = spec_of(aj);
    s.log_path = log;
    news = loop_child_events();
    assert_int_equal(proc_spawn(&s, NULL, &job), 0);
    /* its first look after its main process ended is unsure */
    while (!done && rounds++ < 400) {
        assert_int_equal(proc_poll(job, &done, NULL), 0);
        if (!done && job->reaped)
            break;
        loop_once(0.05);
    }
    assert_false(done);
    assert_true(job->empty_since > 0); /* seen empty once, but not sure of it */
    /* from here on only the loop runs: the timer looks again, finds it gone and says so (its
     * SIGCHLD is one child event, the timer's news another) */
    for (rounds = 0; !job->finished && rounds < 5; rounds++)
        loop_once(1.0);
    assert_true(job->finished);
    loop_once(0); /* the SIGCHLD, if it was still queued */
    assert_true(loop_child_events() - news >= 2);
    assert_int_equal(proc_poll(job, &done, &r), 0);
    assert_true(done);
    assert_int_equal(r.exit_code, 0);
    proc_result_free(&r);
    proc_release(job);
    proc_release(blocker);
    free(log);
    free(blog);
}
