/* SPDX-License-Identifier: MIT */
/* tests/unit/proc/proc.c - running, spawning and tree-killing processes: what the child sees
 * (mask, dispositions, fds, stdin, environment), capture, exec failures, deadlines, and the
 * escaped grandchild (double fork + setsid + SIGTERM ignored) that must die with its tree.
 * This file holds proc_run's exit status, output, exec failures and what the child sees, and main;
 * proc_trees.c deadlines, escaped trees, interrupts and proc_spawn; helpers and fixtures are in
 * proc_common.c. */

#include "proc_common.h"

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
        T(test_unit_proc__a_tree_scan_reads_only_the_descendants_however_many_processes_run),
        T(test_unit_proc__a_grandchild_holding_the_pipes_after_the_command_ended_is_killed),
        T(test_unit_proc__an_orphan_left_with_closed_pipes_is_adopted_and_reaped),
        T(test_unit_proc__an_interrupt_makes_run_return_eintr_and_kills_the_command),
        T(test_unit_proc__a_real_sigterm_to_relhost_interrupts_run),
        T(test_unit_proc__a_second_interrupt_during_the_grace_sends_sigkill_at_once),
        T(test_unit_proc__spawn_appends_to_a_log_in_new_folders_and_poll_reports_the_exit),
        T(test_unit_proc__an_unsure_tree_is_looked_at_again_by_a_timer_and_told_as_child_news),
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
