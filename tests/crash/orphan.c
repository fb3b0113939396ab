/* SPDX-License-Identifier: MIT */
/* tests/crash/orphan.c - proc_stop_orphan(): a job process that an earlier relhost left running
 * is stopped only when pid, start time and cookies all say it is that process; then its group
 * and what escaped with setsid get SIGTERM, and SIGKILL after the grace. The "orphans" here are
 * this test's own children (a real orphan's parent is init): the checks are the same. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/util.h"
#include "run/loop.h"
#include "run/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmp[PATH_MAX];

static int pid_gone(pid_t pid) { return kill(pid, 0) == -1 && errno == ESRCH; }

/* Spawns sh -c script for job `job` (grace 0.2 s) and returns its handle and identity. */
static relhost_proc *spawn_job(const char *script, const char *job, proc_ident *id)
{
    const char *argv[] = {"sh", "-c", script, NULL};
    relhost_proc_spec s;
    relhost_proc *p = NULL;
    char *log = xasprintf("%s/%s.log", tmp, job);
    memset(&s, 0, sizeof s);
    s.struct_size = sizeof s;
    s.argv = argv;
    s.log_path = log;
    s.grace_s = 0.2;
    assert_int_equal(proc_spawn(&s, job, &p), 0);
    free(log);
    assert_int_equal(proc_job_ident(job, id), 0);
    assert_int_equal(id->pid, proc_pid(p));
    assert_true(id->starttime > 0);
    assert_string_equal(id->job, job);
    return p;
}

/* Serves the loop until p's tree is done, and returns how it ended. */
static relhost_proc_result wait_end(relhost_proc *p)
{
    relhost_proc_result r;
    double until = loop_now() + 10;
    int done = 0;
    while (!done && loop_now() < until) {
        assert_int_equal(proc_poll(p, &done, &r), 0);
        if (!done)
            loop_once(0.02);
    }
    assert_int_equal(done, 1);
    return r;
}

/* Serves the loop until path holds a pid, and returns it. */
static pid_t pid_in(const char *path)
{
    double until = loop_now() + 10;
    while (loop_now() < until) {
        FILE *f = fopen(path, "re");
        int pid = 0;
        if (f) {
            int ok = fscanf(f, "%d", &pid) == 1;
            fclose(f);
            if (ok && pid > 0)
                return (pid_t)pid;
        }
        loop_once(0.02);
    }
    fail_msg("no pid in %s", path);
    return 0;
}

static void test_crash_orphan__a_process_whose_start_time_or_cookie_differs_is_never_signalled(
    void **state)
{
    proc_ident id, other;
    relhost_proc *p = spawn_job("exec sleep 30", "rh-1-a-a1", &id);
    relhost_proc_result r;
    (void)state;

    other = id;
    other.starttime = id.starttime + 1; /* the pid was reused by another process */
    assert_int_equal(proc_stop_orphan(&other), 0);
    other = id;
    snprintf(other.job, sizeof other.job, "rh-1-a-a2"); /* another job's cookie */
    assert_int_equal(proc_stop_orphan(&other), 0);
    other = id;
    snprintf(other.cookie, sizeof other.cookie, "1-2-3"); /* another spawn of the same job */
    assert_int_equal(proc_stop_orphan(&other), 0);
    other = id;
    other.pid = getpid(); /* relhost itself */
    assert_int_equal(proc_stop_orphan(&other), 0);
    assert_false(pid_gone(id.pid));

    assert_int_equal(proc_stop_orphan(&id), 1);
    r = wait_end(p);
    assert_int_equal(r.signal, SIGTERM);        /* asked first; SIGKILL only after the grace */
    assert_int_equal(proc_stop_orphan(&id), 0); /* gone now: nothing to stop, nothing signalled */
    proc_release(p);
}

static void test_crash_orphan__its_group_and_what_escaped_with_setsid_are_stopped(void **state)
{
    char *pidfile = xasprintf("%s/escaped.pid", tmp);
    char *script = xasprintf("setsid sh -c 'echo $$ > %s.tmp; mv %s.tmp %s; exec sleep 30' & "
                             "sleep 30 & wait",
                             pidfile, pidfile, pidfile);
    proc_ident id;
    relhost_proc *p;
    pid_t escaped;
    double until;
    (void)state;

    unlink(pidfile);
    p = spawn_job(script, "rh-1-b-a1", &id);
    escaped = pid_in(pidfile);
    assert_int_equal(getpgid(escaped), escaped); /* it really left the job's group */
    assert_int_equal(proc_stop_orphan(&id), 1);
    until = loop_now() + 5; /* our descendant: a zombie until the loop reaps it */
    while (!pid_gone(escaped) && loop_now() < until)
        loop_once(0.02);
    assert_true(pid_gone(escaped));
    wait_end(p);
    proc_release(p);
    free(script);
    free(pidfile);
}

static void test_crash_orphan__one_that_ignores_sigterm_gets_sigkill_after_the_grace(void **state)
{
    char *pidfile = xasprintf("%s/stubborn.pid", tmp);
    char *script = xasprintf("trap '' TERM; echo $$ > %s.tmp; mv %s.tmp %s; exec sleep 30", pidfile,
                             pidfile, pidfile);
    proc_ident id;
    relhost_proc *p;
    relhost_proc_result r;
    (void)state;

    unlink(pidfile);
    p = spawn_job(script, "rh-1-c-a1", &id);
    assert_int_equal(pid_in(pidfile), id.pid); /* SIGTERM is ignored from here on */
    assert_int_equal(proc_stop_orphan(&id), 1);
    r = wait_end(p);
    assert_int_equal(r.signal, SIGKILL);
    proc_release(p);
    free(script);
    free(pidfile);
}

static int setup(void **state)
{
    (void)state;
    if (loop_init() != 0)
        return -1;
    proc_init();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    proc_kill_all();
    loop_fini();
    return 0;
}

int main(void)
{
    const char *base = getenv("RELHOST_TEST_TMP");
    const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
        T(test_crash_orphan__a_process_whose_start_time_or_cookie_differs_is_never_signalled),
        T(test_crash_orphan__its_group_and_what_escaped_with_setsid_are_stopped),
        T(test_crash_orphan__one_that_ignores_sigterm_gets_sigkill_after_the_grace),
#undef T
    };
    snprintf(tmp, sizeof tmp, "%s/crash-orphan-%ld", base ? base : "/tmp", (long)getpid());
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
