/* SPDX-License-Identifier: MIT */
/* tests/unit/proc/proc.c - running, spawning and tree-killing processes: what the child sees
 * (mask, dispositions, fds, stdin, environment), capture, exec failures, deadlines, and the
 * escaped grandchild (double fork + setsid + SIGTERM ignored) that must die with its tree. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/error.h"
#include "base/util.h"
#include "run/loop.h"
#include "run/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

static char tmp[PATH_MAX];

/* The grandchild of this script double-forks away (a subshell that exits), calls setsid() and
 * ignores SIGTERM, then reports its Pid, NSpgid, NSsid and SigIgn into $1. The script waits for
 * that report, then stays ("stay") or exits 0 ("exit"), leaving the grandchild behind. */
static const char escape_sh[] =
    "#!/bin/sh\n"
    "( setsid sh -c 'trap \"\" TERM\n"
    "  grep -E \"^(Pid|NSpgid|NSsid|SigIgn):\" /proc/$$/status > \"$1.tmp\"\n"
    "  mv \"$1.tmp\" \"$1\"\n"
    "  exec sleep 1000' sh \"$1\" & )\n"
    "n=0\n"
    "while [ ! -s \"$1\" ] && [ $n -lt 500 ]; do sleep 0.01; n=$((n+1)); done\n"
    "[ \"$2\" = stay ] && exec sleep 1000\n"
    "exit 0\n";

/* Ignores SIGTERM (as do the sleeps it starts), then writes its pid into $0. */
#define STUBBORN_SH "trap '' TERM; echo $$ > \"$0\"; while :; do sleep 0.05; done"

static char *path_in_tmp(const char *name) { return xasprintf("%s/%s", tmp, name); }

static char *slurp(const char *path)
{
    strbuf b;
    char buf[4096];
    ssize_t n;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    sb_init(&b);
    while ((n = read(fd, buf, sizeof buf)) > 0)
        sb_add(&b, buf, (size_t)n);
    close(fd);
    return sb_take(&b);
}

static void write_file(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "we");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(chmod(path, mode), 0);
}

static relhost_proc_spec spec_of(const char *const *argv)
{
    relhost_proc_spec s;
    memset(&s, 0, sizeof s);
    s.struct_size = sizeof s;
    s.argv = argv;
    return s;
}

static int pid_gone(pid_t pid) { return kill(pid, 0) == -1 && errno == ESRCH; }

/* Serves the loop (as relhost does) until the file exists and is not empty, or `limit` s. */
static char *wait_for_file(const char *path, double limit)
{
    double until = loop_now() + limit;
    for (;;) {
        struct stat st;
        if (stat(path, &st) == 0 && st.st_size > 0)
            return slurp(path);
        if (loop_now() >= until)
            return NULL;
        loop_once(0.02);
    }
}

static int wait_done(relhost_proc *p, relhost_proc_result *res, double limit)
{
    double until = loop_now() + limit;
    int done = 0;
    while (!done && loop_now() < until) {
        assert_int_equal(proc_poll(p, &done, res), 0);
        if (!done)
            loop_once(0.05);
    }
    return done;
}

/* Value of a "Name:\tvalue" line in a /proc status dump. */
static long status_field(const char *text, const char *name, int base)
{
    char key[32];
    const char *at;
    snprintf(key, sizeof key, "%s:", name);
    at = strstr(text, key);
    assert_non_null(at);
    return strtol(at + strlen(key), NULL, base);
}

/* The escaped grandchild's report: asserts it really escaped (own session, not in the child's
 * group) and really ignores SIGTERM, and returns its pid. */
static pid_t check_escapee(const char *report, pid_t child)
{
    pid_t pid = (pid_t)status_field(report, "Pid", 10);
    assert_true(pid > 0);
    assert_int_equal(status_field(report, "NSsid", 10), pid);
    assert_true(status_field(report, "NSpgid", 10) != child);
    assert_true(status_field(report, "SigIgn", 16) & (1L << (SIGTERM - 1)));
    return pid;
}

static int setup(void **state)
{
    (void)state;
    proc_test_force_fd_fallback(0);
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

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path) == 0 ? 0 : -1;
}

static int group_setup(void **state)
{
    const char *base = getenv("RELHOST_TEST_TMP");
    char *script;
    (void)state;
    if (!base)
        return -1;
    /* One folder, emptied at the start: the last run's files stay for a look after a failure. */
    snprintf(tmp, sizeof tmp, "%s/unit_proc", base);
    nftw(tmp, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    if (path_mkdirs(tmp) != 0)
        return -1;
    script = path_in_tmp("escape.sh");
    write_file(script, escape_sh, 0755);
    free(script);
    return 0;
}

/* ---- proc_run: exit status and output ------------------------------------------------------- */

static void test_unit_proc__run_reports_the_exit_code_and_captures_stdout_and_stderr_apart(
    void **state)
{
    const char *argv[] = {"sh", "-c", "echo out; echo err >&2; exit 3", NULL};
    relhost_proc_spec s = spec_of(argv);
    relhost_proc_result r;
    (void)state;

    assert_int_equal(proc_run(&s, &r), 0);
    assert_int_equal(r.exited, 1);
    assert_int_equal(r.exit_code, 3);
    assert_int_equal(r.signal, 0);
    assert_int_equal(r.timed_out, 0);
    assert_int_equal(r.exec_failed, 0);
    assert_string_equal(r.out, "out\n");
    assert_int_equal(r.out_len, 4);
    assert_string_equal(r.err, "err\n");
    assert_int_equal(r.truncated, 0);
    assert_true(r.duration_s >= 0);
    proc_result_free(&r);
    assert_null(r.out);
}

static void test_unit_proc__run_reports_the_signal_that_killed_the_command(void **state)
{
    const char *argv[] = {"sh", "-c", "kill -KILL $$", NULL};
    relhost_proc_spec s = spec_of(argv);
    relhost_proc_result r;
    (void)state;

    assert_int_equal(proc_run(&s, &r), 0);
    assert_int_equal(r.exited, 0);
    assert_int_equal(r.signal, SIGKILL);
    assert_int_equal(r.exit_code, 128 + SIGKILL);
    proc_result_free(&r);
}

static void test_unit_proc__output_past_capture_max_is_drained_dropped_and_marked_truncated(
    void **state)
{
    const char *argv[] = {"sh", "-c", "head -c 300000 /dev/zero; printf abcde >&2", NULL};
    relhost_proc_spec s = spec_of(argv);
    relhost_proc_result r;
    (void)state;

    s.capture_max = 1000;
    assert_int_equal(proc_run(&s, &r), 0);
    /* head wrote everything: relhost kept reading after the cap, nobody got SIGPIPE. */
    assert_int_equal(r.exited, 1);
    assert_int_equal(r.exit_code, 0);
    assert_int_equal(r.out_len, 1000);
    assert_int_equal(r.truncated, 1);
    assert_string_equal(r.err, "abcde");
    proc_result_free(&r);
}

static void test_unit_proc__capture_defaults_to_one_mebibyte(void **state)
{
    const char *argv[] = {"head", "-c", "3000000", "/dev/zero", NULL};
    relhost_proc_spec s = spec_of(argv);
    relhost_proc_result r;
    (void)state;

    assert_int_equal(proc_run(&s, &r), 0);
    assert_int_equal(r.exit_code, 0);
    assert_int_equal(r.out_len, 1 << 20);
    assert_int_equal(r.truncated, 1);
    proc_result_free(&r);
}

/* ---- proc_run: exec failures ---------------------------------------------------------------- */

static void test_unit_proc__a_missing_command_fails_exec_with_127_and_says_why(void **state)
{
    const char *argv[] = {"relhost-no-such-command", "x", NULL};
    relhost_proc_spec s = spec_of(argv);
    relhost_proc_result r;
    (void)state;

    assert_int_equal(proc_run(&s, &r), 0);
    assert_int_equal(r.exec_failed, 1);
    assert_int_equal(r.exited, 1);
    assert_int_equal(r.exit_code, 127);
    assert_string_equal(r.err, "relhost: cannot execute 'relhost-no-such-command': "
                               "No such file or directory\n");
    proc_result_free(&r);
}

static void test_unit_proc__a_file_without_exec_permission_fails_exec_with_126(void **state)
{
    char *path = path_in_tmp("not-executable.sh");
    const char *argv[] = {path, NULL};
    relhost_proc_spec s = spec_of(argv);
    relhost_proc_result r;
    char *want;
    (void)state;

    write_file(path, "#!/bin/sh\necho should not run\n", 0644);
    assert_int_equal(proc_run(&s, &r), 0);
    assert_int_equal(r.exec_failed, 1);
    assert_int_equal(r.exit_code, 126);
    assert_string_equal(r.out, "");
    want = xasprintf("relhost: cannot execute '%s': Permission denied\n", path);
    assert_string_equal(r.err, want);
    free(want);
    proc_result_free(&r);
    free(path);
}

static void test_unit_proc__a_missing_cwd_fails_exec_with_126_naming_the_folder(void **state)
{
    const char *argv[] = {"true", NULL};
    relhost_proc_spec s = spec_of(argv);
    relhost_proc_result r;
    (void)state;

    s.cwd = "/nonexistent/relhost-test";
    assert_int_equal(proc_run(&s, &r), 0);
    assert_int_equal(r.exec_failed, 1);
    assert_int_equal(r.exit_code, 126);
    assert_string_equal(r.err, "relhost: cannot run 'true' in folder '/nonexistent/relhost-test': "
                               "No such file or directory\n");
    proc_result_free(&r);
}

static void test_unit_proc__bad_specs_are_refused_with_a_message(void **state)
{
    const char *empty[] = {NULL};
    const char *argv[] = {"true", NULL};
    const char *env[] = {"GOOD=1", "=nameless", NULL};
    relhost_proc_spec s = spec_of(empty);
    relhost_proc_result r;
    relhost_proc *p = (relhost_proc *)&s;
    (void)state;

    assert_int_equal(proc_run(&s, &r), RELHOST_EINVAL);
    assert_string_equal(error_last(), "proc_run: empty argv");

    s = spec_of(argv);
    s.env = env;
    assert_int_equal(proc_run(&s, &r), RELHOST_EINVAL);
    assert_string_equal(error_last(), "proc_run: environment entry \"=nameless\" of 'true' is "
                                      "neither NAME=VALUE nor NAME");

    s = spec_of(argv);
    s.struct_size = 4;
    assert_int_equal(proc_run(&s, &r), RELHOST_EINVAL);
    assert_non_null(strstr(error_last(), "set it to sizeof(relhost_proc_spec)"));

    s = spec_of(argv);
    assert_int_equal(proc_spawn(&s, NULL, &p), RELHOST_EINVAL);
    assert_string_equal(error_last(), "proc_spawn: no log_path for 'true'");
    assert_null(p);

    loop_fini();
    assert_int_equal(proc_run(&s, &r), RELHOST_EINVAL);
    assert_non_null(strstr(error_last(), "the event loop is not running"));
    assert_int_equal(loop_init(), 0);
    proc_init();
}

/* ---- proc_run: what the child sees ---------------------------------------------------------- */

static void test_unit_proc__the_child_has_an_empty_signal_mask_and_no_ignored_signals(void **state)
{
    const char *argv[] = {"grep", "-E", "^Sig(Blk|Ign):", "/proc/self/status", NULL};
    relhost_proc_spec s = spec_of(argv);
    relhost_proc_result r;
    struct sigaction ign = {.sa_handler = SIG_IGN}, old_usr1;
    sigset_t usr2, old_mask;
    char *ours;
    (void)state;

    /* Make relhost's own state as hostile as it gets: more blocked, more ignored. */
    sigaction(SIGUSR1, &ign, &old_usr1);
    sigemptyset(&usr2);
    sigaddset(&usr2, SIGUSR2);
    sigprocmask(SIG_BLOCK, &usr2, &old_mask);
    ours = slurp("/proc/self/status");
    assert_non_null(ours);
    assert_true(status_field(ours, "SigBlk", 16) & (1L << (SIGTERM - 1)));
    assert_true(status_field(ours, "SigIgn", 16) & (1L << (SIGPIPE - 1)));
    free(ours);

    assert_int_equal(proc_run(&s, &r), 0);
    /* The child shares relhost's memory until exec: what it reset is its own, not relhost's. */
    ours = slurp("/proc/self/status");
    assert_non_null(ours);
    assert_true(status_field(ours, "SigBlk", 16) & (1L << (SIGUSR2 - 1)));
    assert_true(status_field(ours, "SigIgn", 16) & (1L << (SIGUSR1 - 1)));
    free(ours);
    sigprocmask(SIG_SETMASK, &old_mask, NULL);
    sigaction(SIGUSR1, &old_usr1, NULL);
    assert_int_equal(r.exit_code, 0);
    assert_string_equal(r.out, "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n");
    proc_result_free(&r);
}

static void test_unit_proc__stdin_is_dev_null(void **state)
{
    const char *argv[] = {"readlink", "/proc/self/fd/0", NULL};
    relhost_proc_spec s = spec_of(argv);
    relhost_proc_result r;
    (void)state;

    assert_int_equal(proc_run(&s, &r), 0);
    assert_string_equal(r.out, "/dev/null\n");
    proc_result_free(&r);
}

static void test_unit_proc__stdin_data_reaches_the_command_whole(void **state)
{
    const char *argv[] = {"cat", NULL};
    relhost_proc_spec s = spec_of(argv);
    relhost_proc_result r;
    size_t n = 300000;
    char *data = xmalloc(n + 1);
    (void)state;

    /* Several pipe buffers' worth: feeding and capturing must interleave through the loop. */
    for (size_t i = 0; i < n; i++)
        data[i] = (char)('a' + i % 26);
    data[n] = '\0';
    s.stdin_data = data;
    assert_int_equal(proc_run(&s, &r), 0);
    assert_int_equal(r.exit_code, 0);
    assert_int_equal(r.out_len, n);
    assert_memory_equal(r.out, data, n);
    proc_result_free(&r);
    free(data);
}

/* Runs `ls -l /proc/self/fd` with two inheritable fds open in relhost and checks that the
 * child had only 0, 1, 2 and the directory ls itself opened. */
static void check_only_std_fds(void)
{
    const char *argv[] = {"ls", "-l", "/proc/self/fd", NULL};
    relhost_proc_spec s = spec_of(argv);
    relhost_proc_result r;
    int leak = open("/dev/null", O_RDONLY); /* deliberately without O_CLOEXEC */
    int seen[3] = {0, 0, 0};
    char *line, *save = NULL;

    assert_true(leak >= 0);
    assert_int_equal(dup2(leak, 100), 100);
    assert_int_equal(proc_run(&s, &r), 0);
    close(100);
    close(leak);
    assert_int_equal(r.exit_code, 0);
    for (line = strtok_r(r.out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        const char *arrow = strstr(line, " -> ");
        const char *num;
        int fd;
        if (!arrow)
            continue; /* "total 0" */
        for (num = arrow; num > line && num[-1] != ' '; num--)
            ;
        fd = atoi(num);
        if (fd < 3) {
            seen[fd] = 1;
            continue;
        }
        /* Anything else must be ls's own listing of the folder. */
        if (strncmp(arrow + 4, "/proc/", 6) != 0 || !strstr(arrow, "/fd"))
            fail_msg("fd %d leaked into the child: %s", fd, line);
    }
    assert_true(seen[0] && seen[1] && seen[2]);
    proc_result_free(&r);
}

static void test_unit_proc__fds_above_2_are_closed_in_the_child(void **state)
{
    (void)state;
    check_only_std_fds();
}

static void test_unit_proc__fds_above_2_are_closed_by_the_fallback_without_close_range(void **state)
{
    (void)state;
    proc_test_force_fd_fallback(1);
    check_only_std_fds();
}

/* "NAME=" line of `env` output, or NULL. */
static const char *env_line(const char *out, const char *name)
{
    size_t n = strlen(name);
    for (const char *l = out; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
        if (strncmp(l, name, n) == 0 && l[n] == '=')
            return l + n + 1;
    return NULL;
}

static int env_count(const char *out)
{
    int n = 0;
    for (const char *c = out; *c; c++)
        n += *c == '\n';
    return n;
}

static void test_unit_proc__env_gets_a_unique_cookie_and_additions_replace_inherited_names(
    void **state)
{
    const char *argv[] = {"env", NULL};
    const char *env[] = {"RELHOST_T_FOO=new", "RELHOST_T_BAR=x", "RELHOST_PROC=forged",
                         "RELHOST_T_SECRET", NULL};
    relhost_proc_spec s = spec_of(argv);
    relhost_proc_result r1, r2;
    const char *c1, *c2;
    char v1[128], v2[128];
    (void)state;

    setenv("RELHOST_T_FOO", "old", 1);
    setenv("RELHOST_T_SECRET", "hunter22hunter22", 1);
    s.env = env;
    assert_int_equal(proc_run(&s, &r1), 0);
    assert_int_equal(proc_run(&s, &r2), 0);
    unsetenv("RELHOST_T_FOO");
    unsetenv("RELHOST_T_SECRET");
    /* a bare NAME removes the variable from what the child inherits */
    assert_null(strstr(r1.out, "RELHOST_T_SECRET"));

    assert_non_null(env_line(r1.out, "RELHOST_T_FOO"));
    assert_true(strncmp(env_line(r1.out, "RELHOST_T_FOO"), "new\n", 4) == 0);
    assert_null(strstr(r1.out, "RELHOST_T_FOO=old"));
    assert_true(strncmp(env_line(r1.out, "RELHOST_T_BAR"), "x\n", 2) == 0);
    assert_non_null(env_line(r1.out, "RELHOST_TEST_TMP")); /* the rest is inherited */
    c1 = env_line(r1.out, "RELHOST_PROC");
    c2 = env_line(r2.out, "RELHOST_PROC");
    assert_non_null(c1);
    assert_non_null(c2);
    snprintf(v1, sizeof v1, "%.*s", (int)strcspn(c1, "\n"), c1);
    snprintf(v2, sizeof v2, "%.*s", (int)strcspn(c2, "\n"), c2);
    assert_true(strlen(v1) > 0);
    assert_string_not_equal(v1, "forged");
    assert_string_not_equal(v1, v2);
    assert_null(strstr(r1.out, "RELHOST_JOB="));
    proc_result_free(&r1);
    proc_result_free(&r2);
}

static void test_unit_proc__clear_env_keeps_only_path_home_and_the_given_env(void **state)
{
    const char *argv[] = {"env", NULL};
    const char *env[] = {"RELHOST_T_BAR=x", NULL};
    relhost_proc_spec s = spec_of(argv);
    relhost_proc_result r;
    int want = 2;
    (void)state;

    s.env = env;
    s.clear_env = 1;
    assert_int_equal(proc_run(&s, &r), 0);
    if (getenv("PATH")) {
        assert_non_null(env_line(r.out, "PATH"));
        want++;
    }
    if (getenv("HOME")) {
        assert_non_null(env_line(r.out, "HOME"));
        want++;
    }
    assert_non_null(env_line(r.out, "RELHOST_T_BAR"));
    assert_non_null(env_line(r.out, "RELHOST_PROC"));
    assert_null(env_line(r.out, "RELHOST_TEST_TMP"));
    assert_int_equal(env_count(r.out), want);
    proc_result_free(&r);
}

static void test_unit_proc__the_command_runs_in_the_given_cwd(void **state)
{
    const char *argv[] = {"pwd", "-P", NULL};
    relhost_proc_spec s = spec_of(argv);
    relhost_proc_result r;
    char real[PATH_MAX], *want;
    (void)state;

    assert_non_null(realpath(tmp, real));
    s.cwd = tmp;
    assert_int_equal(proc_run(&s, &r), 0);
    want = xasprintf("%s\n", real);
    assert_string_equal(r.out, want);
    free(want);
    proc_result_free(&r);
}

/* ---- proc_run: deadlines, escaped processes, interrupts ------------------------------------- */

static void test_unit_proc__timeout_kills_the_command_and_reports_124(void **state)
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

static void test_unit_proc__timeout_kills_an_escaped_grandchild_that_ignores_sigterm(void **state)
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

static void test_unit_proc__a_grandchild_holding_the_pipes_after_the_command_ended_is_killed(
    void **state)
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

static void test_unit_proc__an_orphan_left_with_closed_pipes_is_adopted_and_reaped(void **state)
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

static void test_unit_proc__an_interrupt_makes_run_return_eintr_and_kills_the_command(void **state)
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

static void test_unit_proc__a_real_sigterm_to_relhost_interrupts_run(void **state)
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

static void test_unit_proc__a_second_interrupt_during_the_grace_sends_sigkill_at_once(void **state)
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

static void test_unit_proc__spawn_appends_to_a_log_in_new_folders_and_poll_reports_the_exit(
    void **state)
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

static void test_unit_proc__spawn_exports_the_job_cookie_and_the_process_cookie(void **state)
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

static void test_unit_proc__spawn_timeout_appends_the_timeout_line_and_reports_124(void **state)
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

static void test_unit_proc__spawn_timeout_escalates_to_sigkill_after_the_grace(void **state)
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

static void test_unit_proc__proc_kill_kills_an_escaped_grandchild_that_ignores_sigterm(void **state)
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

static void test_unit_proc__a_job_that_exits_leaving_an_escaped_process_ends_once_it_is_killed(
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

static void test_unit_proc__spawn_of_a_missing_command_logs_why_and_reports_127(void **state)
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

static void test_unit_proc__kill_all_and_release_stop_every_spawned_tree(void **state)
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

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
        T(test_unit_proc__run_reports_the_exit_code_and_captures_stdout_and_stderr_apart),
        T(test_unit_proc__run_reports_the_signal_that_killed_the_command),
        T(test_unit_proc__output_past_capture_max_is_drained_dropped_and_marked_truncated),
        T(test_unit_proc__capture_defaults_to_one_mebibyte),
        T(test_unit_proc__a_missing_command_fails_exec_with_127_and_says_why),
        T(test_unit_proc__a_file_without_exec_permission_fails_exec_with_126),
        T(test_unit_proc__a_missing_cwd_fails_exec_with_126_naming_the_folder),
        T(test_unit_proc__bad_specs_are_refused_with_a_message),
        T(test_unit_proc__the_child_has_an_empty_signal_mask_and_no_ignored_signals),
        T(test_unit_proc__stdin_is_dev_null),
        T(test_unit_proc__stdin_data_reaches_the_command_whole),
        T(test_unit_proc__fds_above_2_are_closed_in_the_child),
        T(test_unit_proc__fds_above_2_are_closed_by_the_fallback_without_close_range),
        T(test_unit_proc__env_gets_a_unique_cookie_and_additions_replace_inherited_names),
        T(test_unit_proc__clear_env_keeps_only_path_home_and_the_given_env),
        T(test_unit_proc__the_command_runs_in_the_given_cwd),
        T(test_unit_proc__timeout_kills_the_command_and_reports_124),
        T(test_unit_proc__timeout_kills_an_escaped_grandchild_that_ignores_sigterm),
        T(test_unit_proc__a_grandchild_holding_the_pipes_after_the_command_ended_is_killed),
        T(test_unit_proc__an_orphan_left_with_closed_pipes_is_adopted_and_reaped),
        T(test_unit_proc__an_interrupt_makes_run_return_eintr_and_kills_the_command),
        T(test_unit_proc__a_real_sigterm_to_relhost_interrupts_run),
        T(test_unit_proc__a_second_interrupt_during_the_grace_sends_sigkill_at_once),
        T(test_unit_proc__spawn_appends_to_a_log_in_new_folders_and_poll_reports_the_exit),
        T(test_unit_proc__spawn_exports_the_job_cookie_and_the_process_cookie),
        T(test_unit_proc__spawn_timeout_appends_the_timeout_line_and_reports_124),
        T(test_unit_proc__spawn_timeout_escalates_to_sigkill_after_the_grace),
        T(test_unit_proc__proc_kill_kills_an_escaped_grandchild_that_ignores_sigterm),
        T(test_unit_proc__a_job_that_exits_leaving_an_escaped_process_ends_once_it_is_killed),
        T(test_unit_proc__spawn_of_a_missing_command_logs_why_and_reports_127),
        T(test_unit_proc__kill_all_and_release_stop_every_spawned_tree),
#undef T
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
