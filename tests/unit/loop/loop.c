/* SPDX-License-Identifier: MIT */
/* tests/unit/loop/loop.c - the event loop: signals through a signalfd, fd watchers, the SIGCHLD
 * hook, the subreaper flag. The process signals itself; its signals stay blocked meanwhile. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "run/loop.h"

#include <relhost/plugin.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static int setup(void **state)
{
    (void)state;
    return loop_init();
}

static int teardown(void **state)
{
    (void)state;
    loop_fini();
    return 0;
}

/* The fd whose /proc/self/fd link reads `target`, or -1. */
static int fd_with_link(const char *target)
{
    for (int fd = 0; fd < 1024; fd++) {
        char path[64], link[PATH_MAX];
        ssize_t n;
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        n = readlink(path, link, sizeof link - 1);
        if (n < 0)
            continue;
        link[n] = '\0';
        if (strcmp(link, target) == 0)
            return fd;
    }
    return -1;
}

static void test_unit_loop__signals_are_blocked_and_read_from_a_cloexec_nonblocking_signalfd(
    void **state)
{
    sigset_t cur;
    int fd;
    (void)state;

    assert_int_equal(sigprocmask(SIG_BLOCK, NULL, &cur), 0);
    assert_true(sigismember(&cur, SIGINT));
    assert_true(sigismember(&cur, SIGTERM));
    assert_true(sigismember(&cur, SIGHUP));
    assert_true(sigismember(&cur, SIGCHLD));
    assert_int_equal(loop_active(), 1);

    fd = fd_with_link("anon_inode:[signalfd]");
    assert_true(fd >= 0);
    assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    assert_true(fcntl(fd, F_GETFL) & O_NONBLOCK);
}

static void test_unit_loop__sigpipe_is_ignored_and_relhost_is_a_subreaper_until_fini(void **state)
{
    struct sigaction sa;
    int sub = 0;
    sigset_t cur;
    (void)state;

    assert_int_equal(sigaction(SIGPIPE, NULL, &sa), 0);
    assert_true(sa.sa_handler == SIG_IGN);
    assert_int_equal(prctl(PR_GET_CHILD_SUBREAPER, &sub), 0);
    assert_int_equal(sub, 1);

    loop_fini();
    assert_int_equal(loop_active(), 0);
    assert_int_equal(sigaction(SIGPIPE, NULL, &sa), 0);
    assert_true(sa.sa_handler == SIG_DFL);
    assert_int_equal(prctl(PR_GET_CHILD_SUBREAPER, &sub), 0);
    assert_int_equal(sub, 0);
    assert_int_equal(sigprocmask(SIG_BLOCK, NULL, &cur), 0);
    assert_false(sigismember(&cur, SIGTERM));
    assert_int_equal(fd_with_link("anon_inode:[signalfd]"), -1);
    assert_int_equal(loop_init(), 0);
}

static void test_unit_loop__sigint_then_sighup_count_as_two_interrupts_and_the_first_is_kept(
    void **state)
{
    (void)state;
    assert_int_equal(loop_interrupted(), 0);
    assert_int_equal(loop_interrupt_signal(), 0);

    assert_int_equal(kill(getpid(), SIGINT), 0);
    assert_int_equal(loop_once(5), 1);
    assert_int_equal(loop_interrupt_signal(), SIGINT);

    assert_int_equal(kill(getpid(), SIGHUP), 0);
    assert_int_equal(loop_once(5), 2);
    assert_int_equal(loop_interrupted(), 2);
    assert_int_equal(loop_interrupt_signal(), SIGINT);
}

static void test_unit_loop__sighup_reads_as_sigterm_and_init_starts_the_count_again(void **state)
{
    (void)state;
    assert_int_equal(kill(getpid(), SIGHUP), 0);
    assert_int_equal(loop_once(5), 1);
    assert_int_equal(loop_interrupt_signal(), SIGTERM);

    /* The count outlives fini (main reads it to pick exit 130) and restarts with init. */
    loop_fini();
    assert_int_equal(loop_interrupted(), 1);
    assert_int_equal(loop_init(), 0);
    assert_int_equal(loop_interrupted(), 0);
    assert_int_equal(loop_interrupt_signal(), 0);

    loop_fake_interrupt(SIGTERM);
    assert_int_equal(loop_interrupted(), 1);
    assert_int_equal(loop_interrupt_signal(), SIGTERM);
}

struct seen {
    int calls;
    short revents;
    int other_fd; /* when >= 0, the callback unwatches this fd */
};

static void on_readable(int fd, short revents, void *arg)
{
    struct seen *s = arg;
    char c;
    s->calls++;
    s->revents = revents;
    if (read(fd, &c, 1) != 1)
        s->revents = 0;
    if (s->other_fd >= 0)
        loop_unwatch_fd(s->other_fd);
}

static void test_unit_loop__a_watched_fd_is_dispatched_until_it_is_unwatched(void **state)
{
    int p[2];
    struct seen s = {.other_fd = -1};
    (void)state;

    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    assert_int_equal(loop_watch_fd(p[0], POLLIN, on_readable, &s), 0);
    assert_int_equal(loop_once(0), 0);
    assert_int_equal(s.calls, 0);

    assert_int_equal(write(p[1], "x", 1), 1);
    loop_once(5);
    assert_int_equal(s.calls, 1);
    assert_true(s.revents & POLLIN);

    loop_unwatch_fd(p[0]);
    assert_int_equal(write(p[1], "y", 1), 1);
    loop_once(0);
    assert_int_equal(s.calls, 1);
    close(p[0]);
    close(p[1]);
}

static void test_unit_loop__a_callback_that_unwatches_another_ready_fd_keeps_it_from_firing(
    void **state)
{
    int a[2], b[2];
    struct seen sa = {0}, sb = {0};
    (void)state;

    assert_int_equal(pipe2(a, O_CLOEXEC), 0);
    assert_int_equal(pipe2(b, O_CLOEXEC), 0);
    sa.other_fd = b[0];
    sb.other_fd = a[0];
    assert_int_equal(loop_watch_fd(a[0], POLLIN, on_readable, &sa), 0);
    assert_int_equal(loop_watch_fd(b[0], POLLIN, on_readable, &sb), 0);
    assert_int_equal(write(a[1], "x", 1), 1);
    assert_int_equal(write(b[1], "x", 1), 1);

    loop_once(5);
    /* Both were ready in the same round; whichever ran first removed the other. */
    assert_int_equal(sa.calls + sb.calls, 1);
    loop_unwatch_fd(a[0]);
    loop_unwatch_fd(b[0]);
    close(a[0]);
    close(a[1]);
    close(b[0]);
    close(b[1]);
}

static void test_unit_loop__a_bad_watch_is_refused(void **state)
{
    struct seen s = {.other_fd = -1};
    (void)state;
    assert_int_equal(loop_watch_fd(-1, POLLIN, on_readable, &s), RELHOST_EINVAL);
    assert_int_equal(loop_watch_fd(0, POLLIN, NULL, &s), RELHOST_EINVAL);
}

static void test_unit_loop__loop_once_waits_out_its_timeout_when_nothing_happens(void **state)
{
    double t0 = loop_now();
    (void)state;
    assert_int_equal(loop_once(0.05), 0);
    assert_true(loop_now() - t0 >= 0.045);
}

struct reaped {
    int calls;
    pid_t pids[4];
    int status[4];
    int n;
};

static void on_child(void *arg)
{
    struct reaped *r = arg;
    pid_t pid;
    int st;
    r->calls++;
    while ((pid = waitpid(-1, &st, WNOHANG)) > 0 && r->n < 4) {
        r->pids[r->n] = pid;
        r->status[r->n++] = st;
    }
}

static void test_unit_loop__a_child_exit_runs_the_sigchld_hook_and_moves_the_child_event_count(
    void **state)
{
    struct reaped r = {0};
    double until;
    unsigned gen;
    pid_t pid;
    (void)state;

    loop_on_child(on_child, &r);
    gen = loop_child_events();
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(3);
    until = loop_now() + 5;
    while (r.n == 0 && loop_now() < until)
        loop_once(until - loop_now());
    assert_true(r.calls >= 1);
    assert_true(loop_child_events() != gen);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.pids[0], pid);
    assert_true(WIFEXITED(r.status[0]));
    assert_int_equal(WEXITSTATUS(r.status[0]), 3);
}

static void test_unit_loop__an_orphaned_grandchild_is_reparented_to_us_and_reaped(void **state)
{
    struct reaped r = {0};
    int p[2];
    pid_t mid, info[2] = {0, 0};
    double until;
    (void)state;

    loop_on_child(on_child, &r);
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    mid = fork();
    assert_true(mid >= 0);
    if (mid == 0) {
        pid_t parent = getppid();
        pid_t g = fork();
        if (g == 0) {
            pid_t me[2];
            /* Wait (bounded) until the middle process is gone, then say who adopted us. */
            for (int i = 0; i < 5000 && getppid() != parent; i++)
                usleep(1000);
            me[0] = getpid();
            me[1] = getppid();
            if (write(p[1], me, sizeof me) != (ssize_t)sizeof me)
                _exit(2);
            _exit(0);
        }
        _exit(0);
    }
    close(p[1]);
    assert_int_equal(read(p[0], info, sizeof info), (ssize_t)sizeof info);
    close(p[0]);
    assert_int_equal(info[1], getpid());

    until = loop_now() + 5;
    while (r.n < 2 && loop_now() < until)
        loop_once(until - loop_now());
    assert_int_equal(r.n, 2);
    assert_true((r.pids[0] == mid && r.pids[1] == info[0]) ||
                (r.pids[1] == mid && r.pids[0] == info[0]));
    assert_true(kill(info[0], 0) == -1 && errno == ESRCH);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
        T(test_unit_loop__signals_are_blocked_and_read_from_a_cloexec_nonblocking_signalfd),
        T(test_unit_loop__sigpipe_is_ignored_and_relhost_is_a_subreaper_until_fini),
        T(test_unit_loop__sigint_then_sighup_count_as_two_interrupts_and_the_first_is_kept),
        T(test_unit_loop__sighup_reads_as_sigterm_and_init_starts_the_count_again),
        T(test_unit_loop__a_watched_fd_is_dispatched_until_it_is_unwatched),
        T(test_unit_loop__a_callback_that_unwatches_another_ready_fd_keeps_it_from_firing),
        T(test_unit_loop__a_bad_watch_is_refused),
        T(test_unit_loop__loop_once_waits_out_its_timeout_when_nothing_happens),
        T(test_unit_loop__a_child_exit_runs_the_sigchld_hook_and_moves_the_child_event_count),
        T(test_unit_loop__an_orphaned_grandchild_is_reparented_to_us_and_reaped),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
