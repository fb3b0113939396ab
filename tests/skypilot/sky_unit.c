/* SPDX-License-Identifier: MIT */
/* Unit tests of runner_skypilot's CLI parsing (sky_parse.c) and task building (sky_task.c),
 * against the formats in ../shared/API_SHAPES.md: no CLI, no host. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "runner_skypilot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char CUR_QUEUE[] =
    "Fetching managed job statuses...\n"
    "\x1b[1mManaged jobs\x1b[0m\n"
    "In progress tasks: 1 PENDING, 2 RUNNING\n"
    "\x1b[1mID  TASK  NAME          REQUESTED   SUBMITTED    TOT. DURATION  JOB DURATION  "
    "#RECOVERIES  STATUS              PROGRESS  POOL\x1b[0m\n"
    "13  -     rh-1-b-a1     1x[H100:8]  1 min ago    1m 1s          50s           2            "
    "\x1b[34mRUNNING\x1b[0m             -         -\n"
    "12  -     rh-1-a-a1     1x[CPU:2+]  6 mins ago   1m 1s          5s            0            "
    "\x1b[32mSUCCEEDED\x1b[0m           -         -\n"
    "11  -     rh-1-c-a1     1x[CPU:2+]  7 mins ago   1m 1s          -             0            "
    "\x1b[31mFAILED_NO_RESOURCE\x1b[0m  -         -\n";

static const char OLD_QUEUE[] =
    "Fetching managed job statuses...\n"
    "Managed jobs\n"
    "In progress tasks: 1 RUNNING\n"
    "ID  TASK  NAME     RESOURCES   SUBMITTED   TOT. DURATION  JOB DURATION  #RECOVERIES  STATUS\n"
    "11  -     sky-cmd  1x[CPU:2+]  6 mins ago  1m 1s          5s            1            "
    "SUCCEEDED\n"
    "10  -     other    1x[CPU:2+]  7 mins ago  1m 1s          5s            0            "
    "RUNNING\n";

static char *stripped(const char *s)
{
    char *c = strdup(s);
    sky_strip_ansi(c, strlen(c));
    return c;
}

static void test_skypilot_sky_unit__colours_and_spinner_codes_are_stripped(void **state)
{
    char s[] = "\x1b[1;32mok\x1b[0m \x1b[?25lspin\x1b[2K\r\x1b]8;;http://x\x1b\\link\x1b]8;;\a"
               " \x1b(Bend";
    size_t n;
    (void)state;
    n = sky_strip_ansi(s, strlen(s));
    assert_int_equal(n, strlen("ok spin\rlink end"));
    assert_string_equal(s, "ok spin\rlink end");
}

static void test_skypilot_sky_unit__a_cut_off_escape_is_held_back_until_complete(void **state)
{
    char a[] = "SPS: 1\n\x1b[3";
    char b[] = "SPS: 1\n\x1b[32mSPS: 2\x1b[0m\n";
    size_t na, nb;
    (void)state;
    na = sky_strip_ansi(a, strlen(a));
    /* The first read must not give the host bytes that a later read strips away. */
    assert_int_equal(sky_complete_len(a, na), strlen("SPS: 1\n"));
    nb = sky_strip_ansi(b, strlen(b));
    assert_int_equal(sky_complete_len(b, nb), nb);
    assert_memory_equal(a, b, strlen("SPS: 1\n"));
    assert_string_equal(b, "SPS: 1\nSPS: 2\n");
}

static void test_skypilot_sky_unit__queue_current_header_is_read_by_column_name(void **state)
{
    char *t = stripped(CUR_QUEUE), err[256];
    sky_queue q;
    (void)state;
    assert_int_equal(sky_parse_queue(t, &q, err, sizeof err), 0);
    assert_true(q.has_table);
    assert_true(q.has_name);
    assert_false(q.empty_message);
    assert_int_equal(q.n, 3);
    assert_int_equal(q.rows[0].id, 13);
    assert_string_equal(q.rows[0].name, "rh-1-b-a1");
    assert_string_equal(q.rows[0].status, "RUNNING");
    assert_int_equal(q.rows[0].recoveries, 2);
    assert_string_equal(q.rows[1].status, "SUCCEEDED");
    assert_string_equal(q.rows[2].status, "FAILED_NO_RESOURCE");
    sky_queue_free(&q);
    free(t);
}

static void test_skypilot_sky_unit__queue_old_header_is_read_by_column_name(void **state)
{
    char err[256];
    sky_queue q;
    (void)state;
    assert_int_equal(sky_parse_queue(OLD_QUEUE, &q, err, sizeof err), 0);
    assert_int_equal(q.n, 2);
    assert_int_equal(q.rows[0].id, 11);
    assert_string_equal(q.rows[0].name, "sky-cmd");
    assert_string_equal(q.rows[0].status, "SUCCEEDED");
    assert_int_equal(q.rows[0].recoveries, 1);
    assert_string_equal(q.rows[1].status, "RUNNING");
    sky_queue_free(&q);
}

static void test_skypilot_sky_unit__empty_cells_and_task_rows_do_not_shift_columns(void **state)
{
    /* Splitting at runs of spaces would read "PENDING" as the NAME of job 7 and "1" as the ID
     * of a pipeline's task row; cutting at the header's positions does not. */
    static const char t[] =
        "ID  TASK  NAME        REQUESTED  SUBMITTED  TOT. DURATION  JOB DURATION  #RECOVERIES  "
        "STATUS\n"
        "7   -                 1x[CPU:2]  now        1s             -                          "
        "PENDING\n"
        "    0     train       1x[CPU:2]  now        1s             -             0            "
        "RUNNING\n"
        "    1     eval        1x[CPU:2]  now        1s             -             0            "
        "PENDING\n"
        "\n"
        "Hint: 3 more jobs; use --all\n";
    char err[256];
    sky_queue q;
    (void)state;
    assert_int_equal(sky_parse_queue(t, &q, err, sizeof err), 0);
    assert_int_equal(q.n, 1);
    assert_int_equal(q.rows[0].id, 7);
    assert_string_equal(q.rows[0].name, "");
    assert_string_equal(q.rows[0].status, "PENDING");
    assert_int_equal(q.rows[0].recoveries, -1);
    sky_queue_free(&q);
}

static void test_skypilot_sky_unit__utf8_cells_are_cut_by_character(void **state)
{
    static const char t[] = "ID  NAME    STATUS\n"
                            "5   ärger   RUNNING\n"
                            "6   ↳ x     FAILED\n";
    char err[256];
    sky_queue q;
    (void)state;
    assert_int_equal(sky_parse_queue(t, &q, err, sizeof err), 0);
    assert_int_equal(q.n, 2);
    assert_string_equal(q.rows[0].name, "ärger");
    assert_string_equal(q.rows[0].status, "RUNNING");
    assert_string_equal(q.rows[1].name, "↳ x");
    assert_string_equal(q.rows[1].status, "FAILED");
    sky_queue_free(&q);
}

static void test_skypilot_sky_unit__no_in_progress_jobs_is_an_empty_queue(void **state)
{
    char err[256];
    sky_queue q;
    (void)state;
    assert_int_equal(sky_parse_queue("Fetching managed job statuses...\nManaged jobs\n"
                                     "No in-progress managed jobs.\n",
                                     &q, err, sizeof err),
                     0);
    assert_true(q.empty_message);
    assert_false(q.has_table);
    assert_int_equal(q.n, 0);
    sky_queue_free(&q);
}

static void test_skypilot_sky_unit__output_without_a_table_is_an_error(void **state)
{
    char err[256];
    sky_queue q;
    (void)state;
    assert_int_equal(sky_parse_queue("\nsky.exceptions.ClusterNotUpError: controller down\n", &q,
                                     err, sizeof err),
                     -1);
    assert_non_null(strstr(err, "no table with ID and STATUS"));
    assert_non_null(strstr(err, "ClusterNotUpError"));
    sky_queue_free(&q);
}

static void test_skypilot_sky_unit__launch_id_comes_from_either_line(void **state)
{
    char id[32];
    (void)state;
    assert_true(sky_launch_id("x\n⚙︎ Job submitted, ID: 152\n", id, sizeof id));
    assert_string_equal(id, "152");
    assert_true(
        sky_launch_id("📋 Useful Commands\nManaged Job ID: 7\n├── To cancel", id, sizeof id));
    assert_string_equal(id, "7");
    assert_false(sky_launch_id("Managed Job ID: pending\nJob submitted, ID:\n", id, sizeof id));
    assert_false(sky_launch_id("", id, sizeof id));
}

static void test_skypilot_sky_unit__error_line_prefers_errors_to_the_last_line(void **state)
{
    char out[64];
    (void)state;
    sky_error_line("Traceback...\nValueError: bad cloud 'xyz'\n  \nHint: see docs\n", out,
                   sizeof out);
    assert_string_equal(out, "ValueError: bad cloud 'xyz'");
    sky_error_line("x failed\n✓ Managed job finished: 7 (status: FAILED).\n", out, sizeof out);
    assert_string_equal(out, "x failed");
    sky_error_line("one\ntwo  \n\n", out, sizeof out);
    assert_string_equal(out, "two");
    sky_error_line("", out, sizeof out);
    assert_string_equal(out, "");
    sky_error_line("error: ääääääääääääääääääää", out, 16);
    assert_true(strlen(out) < 16);
    assert_int_equal(strncmp(out, "error: ää", strlen("error: ää")), 0);
    {
        sky_buf b = {0}; /* cut between characters, never inside one: still valid UTF-8 */
        assert_int_equal(sky_yaml_quote(&b, out), 0);
        sky_buf_free(&b);
    }
}

static void test_skypilot_sky_unit__the_last_summary_exit_code_counts(void **state)
{
    static const char log[] = "[SUMMARY] Exit code: 1\nrestarting\n[SUMMARY] Exit code:  3\n"
                              "[SUMMARY] Exit code: 999\n";
    int code = -1;
    (void)state;
    assert_true(sky_summary_exit_code(log, strlen(log), &code));
    assert_int_equal(code, 3);
    assert_false(sky_summary_exit_code("no summary", 10, &code));
}

static void test_skypilot_sky_unit__the_run_scripts_last_word_says_timeout(void **state)
{
    static const char timed_out[] =
        "step 1 SPS: 1\nrelhost-sky: timeout_s reached (600 s): timeout(1) stopped the "
        "command, exit 124\n\xe2\x9c\x93 Managed job finished: 7 (status: FAILED).\n";
    /* SkyPilot restarted the job after a timeout (max_restarts_on_errors); the last run failed
     * otherwise: not a timeout. And the other way round. */
    static const char then_failed[] =
        "relhost-sky: timeout_s reached (600 s): timeout(1) stopped the command, exit 124\n"
        "restarting\nrelhost-sky: the command exited with 3\n";
    static const char then_timed_out[] =
        "relhost-sky: the command exited with 3\n(head, rank=0, pid=1) relhost-sky: timeout_s "
        "reached (600 s): timeout(1) stopped the command, exit 137\n";
    /* Only the script's own two lines count. */
    static const char other[] = "relhost-sky: timeout_s reached\nrelhost-sky: hello\n";
    static const char summary[] = "step 1\n[SUMMARY] Exit code: 124\n", cut[] = "relhost-sky: t";
    (void)state;
    assert_true(sky_remote_timeout(timed_out, strlen(timed_out)));
    assert_false(sky_remote_timeout(then_failed, strlen(then_failed)));
    assert_true(sky_remote_timeout(then_timed_out, strlen(then_timed_out)));
    assert_true(sky_remote_timeout(other, strlen(other)));
    assert_false(sky_remote_timeout(summary, strlen(summary)));
    assert_false(sky_remote_timeout(cut, strlen(cut)));
    assert_false(sky_remote_timeout("", 0));
}

static void test_skypilot_sky_unit__finished_trailer_names_the_status(void **state)
{
    static const char log[] = "x\n✓ Managed job finished: 7 (status: FAILED_SETUP).\n";
    char st[32];
    (void)state;
    assert_true(sky_finished_status(log, strlen(log), st, sizeof st));
    assert_string_equal(st, "FAILED_SETUP");
    assert_false(sky_finished_status("still running\n", 14, st, sizeof st));
}

static void test_skypilot_sky_unit__every_status_maps_as_documented(void **state)
{
    static const struct {
        const char *word;
        relhost_job_state state;
        relhost_job_end end;
    } want[] = {
        {"PENDING", RELHOST_JOB_PENDING, 0},
        {"STARTING", RELHOST_JOB_PENDING, 0},
        {"RUNNING", RELHOST_JOB_RUNNING, 0},
        {"RECOVERING", RELHOST_JOB_RUNNING, 0},
        {"CANCELLING", RELHOST_JOB_RUNNING, 0},
        {"SUCCEEDED", RELHOST_JOB_ENDED, RELHOST_END_EXITED},
        {"FAILED", RELHOST_JOB_ENDED, RELHOST_END_EXITED},
        {"FAILED_SETUP", RELHOST_JOB_ENDED, RELHOST_END_EXITED},
        {"CANCELLED", RELHOST_JOB_ENDED, RELHOST_END_CANCELLED},
        {"FAILED_PRECHECKS", RELHOST_JOB_ENDED, RELHOST_END_EXEC_FAILED},
        {"FAILED_NO_RESOURCE", RELHOST_JOB_ENDED, RELHOST_END_INFRA},
        {"FAILED_CONTROLLER", RELHOST_JOB_ENDED, RELHOST_END_INFRA},
    };
    relhost_job_state s;
    relhost_job_end e;
    (void)state;
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        s = 0;
        e = 0;
        assert_int_equal(sky_map_status(want[i].word, &s, &e), 0);
        assert_int_equal(s, want[i].state);
        if (want[i].state == RELHOST_JOB_ENDED)
            assert_int_equal(e, want[i].end);
    }
    assert_int_equal(sky_map_status("SUBMITTED_TO_MARS", &s, &e), -1);
    assert_int_equal(sky_map_status("", &s, &e), -1);
}

static void test_skypilot_sky_unit__logs_exit_codes_map_as_documented(void **state)
{
    relhost_job_state s;
    relhost_job_end e;
    const char *w;
    (void)state;
    assert_int_equal(sky_map_logs_exit(0, &s, &e, &w), 1);
    assert_true(s == RELHOST_JOB_ENDED && e == RELHOST_END_EXITED);
    assert_string_equal(w, "SUCCEEDED");
    assert_int_equal(sky_map_logs_exit(100, &s, &e, &w), 1);
    assert_string_equal(w, "FAILED");
    assert_int_equal(sky_map_logs_exit(101, &s, &e, &w), 0);
    assert_int_equal(sky_map_logs_exit(102, &s, &e, &w), 1);
    assert_int_equal(s, RELHOST_JOB_LOST);
    assert_int_equal(sky_map_logs_exit(103, &s, &e, &w), 1);
    assert_true(s == RELHOST_JOB_ENDED && e == RELHOST_END_CANCELLED);
    assert_int_equal(sky_map_logs_exit(1, &s, &e, &w), 0);
}

static void test_skypilot_sky_unit__yaml_quoting_keeps_every_character(void **state)
{
    sky_buf b = {0};
    (void)state;
    assert_int_equal(sky_yaml_quote(&b, "a\"b\\c\nd\te\x01 é \xe2\x80\xa8 \xc2\x85"), 0);
    /* NEL and LS would be folded into spaces by YAML 1.1 if written raw. */
    assert_string_equal(b.s, "\"a\\\"b\\\\c\\nd\\te\\x01 é \\u2028 \\u0085\"");
    sky_buf_free(&b);
    assert_int_equal(sky_yaml_quote(&b, "bad \xff byte"), -1);
    sky_buf_free(&b);
    assert_int_equal(sky_yaml_quote(&b, "overlong \xc0\xaf"), -1);
    sky_buf_free(&b);
}

static void test_skypilot_sky_unit__shell_quoting_survives_quotes(void **state)
{
    sky_buf b = {0};
    (void)state;
    sky_shell_quote(&b, "it's $HOME `x`");
    assert_string_equal(b.s, "'it'\\''s $HOME `x`'");
    sky_buf_free(&b);
    sky_shell_quote(&b, "");
    assert_string_equal(b.s, "''");
    sky_buf_free(&b);
}

static sky_task_in task_in(const char *const *argv, const char *const *env)
{
    sky_task_in in;
    memset(&in, 0, sizeof in);
    in.key = "rh-1-v-a1";
    in.argv = argv;
    in.env = env;
    in.cwd = "/work/tree";
    in.max_restarts = 3;
    in.sync_workdir = 1;
    in.remote_timeout = 1;
    return in;
}

static int has_arg(const sky_task_out *o, const char *a)
{
    for (size_t i = 0; i < o->nargs; i++)
        if (strcmp(o->args[i], a) == 0)
            return 1;
    return 0;
}

static void test_skypilot_sky_unit__secrets_go_by_name_never_into_yaml_or_argv(void **state)
{
    static const char *const argv[] = {"python", "train.py", "lr=1e-3", NULL};
    /* "NAME" alone: the host unsets a secret the job did not ask for; a later entry wins. */
    static const char *const env[] = {"WANDB_API_KEY=s3cr3t-value-123",
                                      "RELHOST_JOB=rh-1-v-a1",
                                      "RELHOST_LOG=/local/v.log",
                                      "PYTHONPATH=src",
                                      "MODE=fast",
                                      "MODE=slow",
                                      "GH_TOKEN=ghp-in-plan-env",
                                      "GH_TOKEN",
                                      "SLACK_URL",
                                      NULL};
    sky_task_in in = task_in(argv, env);
    sky_task_out o;
    char err[256];
    (void)state;
    in.timeout_s = 90.5;
    assert_int_equal(sky_task_build(&in, &o, err, sizeof err), 0);
    assert_null(strstr(o.yaml.s, "s3cr3t"));
    for (size_t i = 0; i < o.nargs; i++)
        assert_null(strstr(o.args[i], "s3cr3t"));
    assert_true(has_arg(&o, "WANDB_API_KEY"));
    assert_false(has_arg(&o, "GH_TOKEN"));
    assert_false(has_arg(&o, "SLACK_URL"));
    assert_null(strstr(o.yaml.s, "GH_TOKEN"));
    assert_int_equal(o.nenv, 2);
    assert_string_equal(o.env[0], "WANDB_API_KEY=s3cr3t-value-123");
    assert_string_equal(o.env[1], "MODE=slow"); /* the later of two entries wins */
    /* relhost's own variables and the interpreter's configuration are in the task */
    assert_non_null(strstr(o.yaml.s, "envs:\n  RELHOST_JOB: \"rh-1-v-a1\"\n"));
    assert_non_null(strstr(o.yaml.s, "  PYTHONPATH: \"src\"\n"));
    assert_null(strstr(o.yaml.s, "RELHOST_LOG"));
    assert_non_null(strstr(o.yaml.s, "name: \"rh-1-v-a1\"\n"));
    assert_non_null(strstr(o.yaml.s, "workdir: \"/work/tree\"\n"));
    assert_non_null(strstr(o.yaml.s, "  job_recovery:\n    max_restarts_on_errors: 3\n"));
    assert_non_null(strstr(o.yaml.s, "run: \"relhost_t0=$(date +%s); timeout -k 60 91 'python' "
                                     "'train.py' 'lr=1e-3'; relhost_rc=$?; "));
    sky_task_out_free(&o);
}

/* Runs the task's run script as SkyPilot would (a shell, here /bin/sh: the script is POSIX) with
 * PATH=path; returns its exit code and what it printed in out. */
static int run_script(const char *const *argv, double timeout_s, const char *path, char *out,
                      size_t cap)
{
    sky_task_in in = task_in(argv, NULL);
    sky_buf b = {0};
    int fds[2], status = -1;
    size_t got = 0;
    ssize_t n;
    pid_t pid;
    in.timeout_s = timeout_s;
    assert_int_equal(sky_run_script(&in, &b), 0);
    assert_int_equal(pipe(fds), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        if (path)
            setenv("PATH", path, 1);
        execl("/bin/sh", "sh", "-c", b.s, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    while (got + 1 < cap && (n = read(fds[0], out + got, cap - 1 - got)) > 0)
        got += (size_t)n;
    out[got] = '\0';
    close(fds[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    sky_buf_free(&b);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void test_skypilot_sky_unit__the_run_script_names_a_remote_timeout(void **state)
{
    static const char *const sleeps[] = {"sleep", "5", NULL};
    static const char *const fails[] = {"sh", "-c", "echo it\\'s; exit 5", NULL};
    static const char *const passes[] = {"true", NULL};
    static const char *const killed[] = {"never-run", NULL};
    char out[1024], dir[] = "/tmp/sky-unit-XXXXXX", fake[64], path[128];
    FILE *f;
    (void)state;
    /* The real timeout(1): exit 124 at the limit, and the line that says so. */
    assert_int_equal(run_script(sleeps, 0.5, NULL, out, sizeof out), 124);
    assert_string_equal(out, "relhost-sky: timeout_s reached (1 s): timeout(1) stopped the "
                             "command, exit 124\n");
    assert_true(sky_remote_timeout(out, strlen(out)));
    /* Another failure keeps its code and is no timeout; a success prints nothing. */
    assert_int_equal(run_script(fails, 30, NULL, out, sizeof out), 5);
    assert_string_equal(out, "it's\nrelhost-sky: the command exited with 5\n");
    assert_false(sky_remote_timeout(out, strlen(out)));
    assert_int_equal(run_script(passes, 30, NULL, out, sizeof out), 0);
    assert_string_equal(out, "");
    /* A command that ignores SIGTERM is killed at -k 60, and timeout(1) kills itself too (137):
     * a stand-in timeout(1) dies that way after the limit, then before it (an OOM kill). */
    assert_non_null(mkdtemp(dir));
    snprintf(fake, sizeof fake, "%s/timeout", dir);
    snprintf(path, sizeof path, "%s:/usr/bin:/bin", dir);
    assert_non_null(f = fopen(fake, "w"));
    fputs("#!/bin/sh\nsleep \"$SKY_UNIT_DELAY\"; kill -9 $$\n", f);
    fclose(f);
    assert_int_equal(chmod(fake, 0700), 0);
    setenv("SKY_UNIT_DELAY", "1.2", 1);
    assert_int_equal(run_script(killed, 1, path, out, sizeof out), 137);
    assert_string_equal(out, "relhost-sky: timeout_s reached (1 s): timeout(1) stopped the "
                             "command, exit 137\n");
    setenv("SKY_UNIT_DELAY", "0", 1);
    assert_int_equal(run_script(killed, 30, path, out, sizeof out), 137);
    assert_string_equal(out, "relhost-sky: the command exited with 137\n");
    unsetenv("SKY_UNIT_DELAY");
    unlink(fake);
    rmdir(dir);
}

static void test_skypilot_sky_unit__resources_come_from_runner_args_and_gpus(void **state)
{
    static const char *const argv[] = {"x", NULL};
    static const char *const keys[] = {"accelerators", "use_spot", "disk_size", "cpus",
                                       "max_restarts"};
    static const char *const vals[] = {"H100", "true", "512", "8+", "0"};
    relhost_map ra = {5, keys, vals};
    sky_task_in in = task_in(argv, NULL);
    sky_task_out o;
    char err[256];
    (void)state;
    in.runner_args = &ra;
    in.gpus = 8;
    in.nodes = 2;
    in.remote_timeout = 0;
    in.timeout_s = 60;
    assert_int_equal(sky_task_build(&in, &o, err, sizeof err), 0);
    assert_non_null(strstr(o.yaml.s, "num_nodes: 2\n"));
    assert_non_null(strstr(o.yaml.s, "resources:\n  accelerators: \"H100:8\"\n"
                                     "  use_spot: true\n  cpus: \"8+\"\n  disk_size: 512\n"
                                     "  job_recovery:\n    max_restarts_on_errors: 0\n"));
    assert_non_null(strstr(o.yaml.s, "run: \"exec 'x'\"\n"));
    assert_null(strstr(o.yaml.s, "envs:"));
    assert_int_equal(o.nargs, 0);
    sky_task_out_free(&o);
}

static void test_skypilot_sky_unit__bad_runner_args_are_refused_with_the_reason(void **state)
{
    static const char *const argv[] = {"x", NULL};
    static const char *const k1[] = {"partition"}, *const v1[] = {"gpu"};
    static const char *const k2[] = {"accelerators"}, *const v2[] = {"H100:4"};
    static const char *const k3[] = {"use_spot"}, *const v3[] = {"maybe"};
    relhost_map m1 = {1, k1, v1}, m2 = {1, k2, v2}, m3 = {1, k3, v3};
    sky_task_in in = task_in(argv, NULL);
    sky_task_out o;
    char err[256];
    (void)state;
    in.runner_args = &m1;
    assert_int_equal(sky_task_build(&in, &o, err, sizeof err), RELHOST_EINVAL);
    assert_non_null(strstr(err, "runner_args.partition is not a runner_skypilot setting"));
    sky_task_out_free(&o);
    in.runner_args = &m2;
    in.gpus = 8;
    assert_int_equal(sky_task_build(&in, &o, err, sizeof err), RELHOST_EINVAL);
    assert_non_null(strstr(err, "gpus = 8 contradicts accelerators \"H100:4\""));
    sky_task_out_free(&o);
    in.runner_args = NULL;
    assert_int_equal(sky_task_build(&in, &o, err, sizeof err), RELHOST_EINVAL);
    assert_non_null(strstr(err, "needs an accelerator type"));
    sky_task_out_free(&o);
    in.gpus = 0;
    in.runner_args = &m3;
    assert_int_equal(sky_task_build(&in, &o, err, sizeof err), RELHOST_EINVAL);
    assert_non_null(strstr(err, "use true or false"));
    sky_task_out_free(&o);
}

static void test_skypilot_sky_unit__a_template_keeps_its_keys_and_loses_name_and_run(void **state)
{
    static const char tmpl[] = "---\n# base task\nname: base\nresources:\n  cloud: aws\n"
                               "  accelerators: A100:8\nsetup: |\n  pip install -e .\n"
                               "run: |\n  echo old\nfile_mounts:\n  /data: s3://b\nenvs:\n"
                               "  A: 1\ndepends:\n- x\n- y\n";
    static const char *const argv[] = {"train", NULL};
    static const char *const env[] = {"RELHOST_JOB=k", "TOKEN=abc12345678", NULL};
    static const char *const keys[] = {"accelerators", "use_spot"};
    static const char *const vals[] = {"H100:8", "false"};
    relhost_map ra = {2, keys, vals};
    sky_task_in in = task_in(argv, env);
    sky_task_out o;
    char err[256];
    (void)state;
    in.tmpl = tmpl;
    in.runner_args = &ra;
    in.remote_timeout = 0;
    assert_int_equal(sky_task_build(&in, &o, err, sizeof err), 0);
    assert_null(strstr(o.yaml.s, "name: base"));
    assert_null(strstr(o.yaml.s, "echo old"));
    assert_null(strstr(o.yaml.s, "---"));
    assert_non_null(strstr(o.yaml.s, "resources:\n  cloud: aws\n  accelerators: A100:8\n"));
    assert_non_null(strstr(o.yaml.s, "setup: |\n  pip install -e .\n"));
    assert_non_null(strstr(o.yaml.s, "file_mounts:\n  /data: s3://b\n"));
    assert_non_null(strstr(o.yaml.s, "depends:\n- x\n- y\n"));
    assert_non_null(strstr(o.yaml.s, "name: \"rh-1-v-a1\"\n"));
    assert_non_null(strstr(o.yaml.s, "run: \"exec 'train'\"\n"));
    /* one resources block, one envs block: what relhost adds goes on the command line */
    assert_null(strstr(strstr(o.yaml.s, "resources:") + 1, "resources:"));
    assert_null(strstr(strstr(o.yaml.s, "envs:") + 1, "envs:"));
    assert_true(has_arg(&o, "--gpus") && has_arg(&o, "H100:8"));
    assert_true(has_arg(&o, "--no-use-spot"));
    assert_true(has_arg(&o, "RELHOST_JOB=k"));
    assert_true(has_arg(&o, "TOKEN"));
    assert_false(has_arg(&o, "TOKEN=abc12345678"));
    sky_task_out_free(&o);
}

static void test_skypilot_sky_unit__templates_it_cannot_edit_safely_are_refused(void **state)
{
    sky_buf b = {0};
    char err[256];
    (void)state;
    assert_int_equal(sky_yaml_filter("{name: x, run: y}\n", NULL, &b, err, sizeof err), -1);
    assert_non_null(strstr(err, "line 1: the top level must be a block mapping"));
    sky_buf_free(&b);
    assert_int_equal(sky_yaml_filter("name: a\n---\nname: b\n", NULL, &b, err, sizeof err), -1);
    assert_non_null(strstr(err, "line 2: more than one YAML document"));
    sky_buf_free(&b);
    assert_int_equal(sky_yaml_filter("run: |\n\techo\n", NULL, &b, err, sizeof err), -1);
    assert_non_null(strstr(err, "line 2: a tab"));
    sky_buf_free(&b);
    assert_int_equal(sky_yaml_filter("# only a comment\n", NULL, &b, err, sizeof err), 0);
    sky_buf_free(&b);
}

static void test_skypilot_sky_unit__launch_files_sit_next_to_the_log_named_by_key(void **state)
{
    char dir[] = "/tmp/sky_unit_XXXXXX", id[32], *folder, *path;
    static const char out[] = "\x1b[33mManaged job 'k' will be launched\x1b[0m\n"
                              "\x1b[32m\xe2\x9a\x99\xef\xb8\x8e Job submitted, ID: 42\x1b[0m\n";
    (void)state;
    assert_non_null(mkdtemp(dir));
    folder = sky_log_folder("/logs/2025.10.02/smoke.attempt2.log");
    assert_string_equal(folder, "/logs/2025.10.02");
    free(folder);
    folder = sky_log_folder("smoke.log");
    assert_string_equal(folder, ".");
    free(folder);
    path = sky_job_file(dir, "rh-1-v-a1", ".sky-launch.log");
    assert_false(sky_launched_id(dir, "rh-1-v-a1", id, sizeof id)); /* no file yet */
    assert_int_equal(sky_write_file(path, out, strlen(out)), 0);
    assert_true(sky_launched_id(dir, "rh-1-v-a1", id, sizeof id));
    assert_string_equal(id, "42");
    assert_false(sky_launched_id(dir, "rh-1-v-a2", id, sizeof id));
    /* no `sky jobs launch` of this key runs in this folder */
    assert_int_equal(sky_launch_in_flight("rh-1-v-a1", dir), 0);
    unlink(path);
    free(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_skypilot_sky_unit__colours_and_spinner_codes_are_stripped),
        cmocka_unit_test(test_skypilot_sky_unit__a_cut_off_escape_is_held_back_until_complete),
        cmocka_unit_test(test_skypilot_sky_unit__queue_current_header_is_read_by_column_name),
        cmocka_unit_test(test_skypilot_sky_unit__queue_old_header_is_read_by_column_name),
        cmocka_unit_test(test_skypilot_sky_unit__empty_cells_and_task_rows_do_not_shift_columns),
        cmocka_unit_test(test_skypilot_sky_unit__utf8_cells_are_cut_by_character),
        cmocka_unit_test(test_skypilot_sky_unit__no_in_progress_jobs_is_an_empty_queue),
        cmocka_unit_test(test_skypilot_sky_unit__output_without_a_table_is_an_error),
        cmocka_unit_test(test_skypilot_sky_unit__launch_id_comes_from_either_line),
        cmocka_unit_test(test_skypilot_sky_unit__error_line_prefers_errors_to_the_last_line),
        cmocka_unit_test(test_skypilot_sky_unit__the_last_summary_exit_code_counts),
        cmocka_unit_test(test_skypilot_sky_unit__the_run_scripts_last_word_says_timeout),
        cmocka_unit_test(test_skypilot_sky_unit__finished_trailer_names_the_status),
        cmocka_unit_test(test_skypilot_sky_unit__every_status_maps_as_documented),
        cmocka_unit_test(test_skypilot_sky_unit__logs_exit_codes_map_as_documented),
        cmocka_unit_test(test_skypilot_sky_unit__yaml_quoting_keeps_every_character),
        cmocka_unit_test(test_skypilot_sky_unit__shell_quoting_survives_quotes),
        cmocka_unit_test(test_skypilot_sky_unit__secrets_go_by_name_never_into_yaml_or_argv),
        cmocka_unit_test(test_skypilot_sky_unit__the_run_script_names_a_remote_timeout),
        cmocka_unit_test(test_skypilot_sky_unit__resources_come_from_runner_args_and_gpus),
        cmocka_unit_test(test_skypilot_sky_unit__bad_runner_args_are_refused_with_the_reason),
        cmocka_unit_test(test_skypilot_sky_unit__a_template_keeps_its_keys_and_loses_name_and_run),
        cmocka_unit_test(test_skypilot_sky_unit__templates_it_cannot_edit_safely_are_refused),
        cmocka_unit_test(test_skypilot_sky_unit__launch_files_sit_next_to_the_log_named_by_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
