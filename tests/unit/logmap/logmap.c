/* SPDX-License-Identifier: MIT */
/* tests/unit/logmap/logmap.c - a log read through a mapped window (core/run/logmap.c) and its
 * hazards: a log of zero bytes, of exactly a window, growing while read, truncated while read
 * (through logmap_catch() and through the host's own guard), and a SIGBUS outside the window,
 * which stays fatal. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "run/guard.h"
#include "run/logmap.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static char path[4096];

/* The byte at offset i of every test log: never 0, so a NUL read shows a cut. */
static char byte_at(size_t i) { return (char)('a' + (i * 7 + i / 4099) % 26); }

/* A fresh log of n bytes; returns a read-only descriptor (*wfd: a writable one, or NULL). */
static int make_log(size_t n, int *wfd)
{
    const char *tmp = getenv("RELHOST_TEST_TMP");
    static char chunk[65536];
    int fd;
    snprintf(path, sizeof path, "%s/logmap-%d.log", tmp ? tmp : "/tmp", (int)getpid());
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    assert_true(fd >= 0);
    for (size_t o = 0; o < n; o += sizeof chunk) {
        size_t k = n - o < sizeof chunk ? n - o : sizeof chunk;
        for (size_t i = 0; i < k; i++)
            chunk[i] = byte_at(o + i);
        assert_int_equal(write(fd, chunk, k), (ssize_t)k);
    }
    if (wfd)
        *wfd = fd;
    else
        close(fd);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    return fd;
}

static void check_bytes(const char *p, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++)
        if (p[i - from] != byte_at(i))
            fail_msg("byte %zu reads %d, want %d", i, p[i - from], byte_at(i));
}

static void test_span_rule(void **state)
{
    (void)state;
    assert_int_equal(logmap_span(0, 0), 0); /* zero bytes: nothing to map */
    assert_int_equal(logmap_span(0, LOGMAP_MIN - 1), 0);
    assert_int_equal(logmap_span(0, LOGMAP_MIN), LOGMAP_MIN);
    assert_int_equal(logmap_span(0, LOGMAP_WINDOW), LOGMAP_WINDOW);
    assert_int_equal(logmap_span(0, LOGMAP_WINDOW + 1), LOGMAP_WINDOW);
    assert_int_equal(logmap_span(LOGMAP_WINDOW, LOGMAP_WINDOW + 1), 0);
    assert_int_equal(logmap_span(10, 3 * LOGMAP_WINDOW), LOGMAP_WINDOW - 10);
    assert_int_equal(logmap_span(LOGMAP_WINDOW - 100, 3 * LOGMAP_WINDOW), 0);
    assert_int_equal(logmap_span(5 * LOGMAP_WINDOW, 4 * LOGMAP_WINDOW), 0); /* past the end */
}

static void test_zero_bytes(void **state)
{
    int fd = make_log(0, NULL);
    (void)state;
    assert_int_equal(logmap_span(0, 0), 0);
    assert_null(logmap_map(fd, 0, 0)); /* never asked by the readers; refused all the same */
    assert_int_equal(logmap_unmap(), 0);
    close(fd);
    unlink(path);
}

static void test_exactly_a_window(void **state)
{
    int fd = make_log(LOGMAP_WINDOW, NULL);
    const char *p;
    (void)state;
    assert_int_equal(logmap_span(0, LOGMAP_WINDOW), LOGMAP_WINDOW);
    p = logmap_map(fd, 0, LOGMAP_WINDOW);
    assert_non_null(p);
    assert_null(logmap_map(fd, 0, LOGMAP_WINDOW)); /* one window at a time */
    assert_int_equal(errno, EBUSY);
    check_bytes(p, 0, LOGMAP_WINDOW);
    assert_int_equal(logmap_cut(), 0);
    assert_int_equal(logmap_unmap(), 0);
    /* not page aligned: the pointer is to the byte asked for */
    p = logmap_map(fd, 4097, LOGMAP_MIN);
    assert_non_null(p);
    check_bytes(p, 4097, 4097 + LOGMAP_MIN);
    assert_int_equal(logmap_unmap(), 0);
    close(fd);
    unlink(path);
}

static void test_growing_while_read(void **state)
{
    int wfd, fd = make_log(LOGMAP_WINDOW + 100, &wfd);
    char more[4096];
    const char *p;
    (void)state;
    p = logmap_map(fd, 0, logmap_span(0, LOGMAP_WINDOW + 100));
    assert_non_null(p);
    for (size_t i = 0; i < sizeof more; i++)
        more[i] = 'Z';
    for (int k = 0; k < 512; k++) /* 2 MiB appended under the window */
        assert_int_equal(write(wfd, more, sizeof more), (ssize_t)sizeof more);
    check_bytes(p, 0, LOGMAP_WINDOW);
    assert_int_equal(logmap_unmap(), 0);
    assert_int_equal(logmap_span(LOGMAP_WINDOW, LOGMAP_WINDOW + 100 + 2 * 1048576), 2097252);
    close(wfd);
    close(fd);
    unlink(path);
}

/* Map a window of 4 MiB, truncate the file to 1 MiB + 10 under it, read every byte. */
static void truncate_under_window(void)
{
    int wfd, fd = make_log(LOGMAP_WINDOW, &wfd);
    const char *p = logmap_map(fd, 0, LOGMAP_WINDOW);
    size_t cut = LOGMAP_MIN + 10, page = (size_t)sysconf(_SC_PAGESIZE);
    assert_non_null(p);
    assert_int_equal(ftruncate(wfd, (off_t)cut), 0);
    check_bytes(p, 0, cut); /* what is still the file reads as the file */
    assert_int_equal(logmap_cut(), 0);
    for (size_t i = (cut + page - 1) & ~(page - 1); i < LOGMAP_WINDOW; i++)
        if (p[i] != 0)
            fail_msg("byte %zu past the cut reads %d, want 0", i, p[i]);
    assert_int_equal(logmap_cut(), 1);
    assert_int_equal(logmap_unmap(), 1);
    assert_int_equal(logmap_cut(), 0);
    close(wfd);
    close(fd);
    unlink(path);
}

static void test_truncated_while_read(void **state)
{
    (void)state;
    logmap_catch();
    truncate_under_window();
    truncate_under_window(); /* the handler stays: a second truncation is caught too */
}

/* The host's own handler (guard.c) does the same, in a child so the guard stays out of the
 * test process. */
static void test_truncated_while_read_under_the_guard(void **state)
{
    int status;
    pid_t pid;
    (void)state;
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        guard_install();
        truncate_under_window();
        truncate_under_window();
        _exit(0);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* A SIGBUS outside the window (here: a mapping of the test's own) is fatal as before, under
 * logmap_catch() and under the guard. */
static void bus_outside(int guarded)
{
    int status;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int wfd, fd = make_log(LOGMAP_WINDOW, &wfd);
        if (guarded)
            guard_install();
        else
            logmap_catch();
        const char *w = logmap_map(fd, 0, LOGMAP_MIN); /* a window elsewhere */
        volatile const char *p = mmap(NULL, LOGMAP_WINDOW, PROT_READ, MAP_SHARED, fd, 0);
        if (w == NULL || p == MAP_FAILED || ftruncate(wfd, 0) != 0)
            _exit(2);
        (void)p[LOGMAP_WINDOW - 1];
        _exit(0);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGBUS);
    unlink(path);
}

static void test_a_fault_outside_the_window_is_fatal(void **state)
{
    (void)state;
    bus_outside(0);
    bus_outside(1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_span_rule),
        cmocka_unit_test(test_zero_bytes),
        cmocka_unit_test(test_exactly_a_window),
        cmocka_unit_test(test_growing_while_read),
        cmocka_unit_test(test_truncated_while_read),
        cmocka_unit_test(test_truncated_while_read_under_the_guard),
        cmocka_unit_test(test_a_fault_outside_the_window_is_fatal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
