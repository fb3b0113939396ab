/* SPDX-License-Identifier: MIT */
/* tests/unit/proc/spawn.c - how a child is started (clone in relhost's memory until exec): the
 * command is searched in the PATH of the child's environment, never relhost's, and relhost's own
 * environment is not touched; a script without "#!" runs under the shell; a long argv fits. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/util.h"
#include "run/loop.h"
#include "run/proc.h"

#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

extern char **environ;

static char tmp[PATH_MAX];

static char *path_in_tmp(const char *name) { return xasprintf("%s/%s", tmp, name); }

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

static void test_unit_proc_spawn__the_command_is_found_in_the_path_of_its_own_environment(
    void **state)
{
    char *dir = path_in_tmp("pathbin"), *path_env, *probe;
    const char *argv[] = {"relhost-path-probe", "arg", NULL};
    const char *env[2];
    relhost_proc_spec s = spec_of(argv);
    relhost_proc_result r;
    char **environ_before = environ;
    char *path_before = getenv("PATH") ? xstrdup(getenv("PATH")) : NULL;
    (void)state;

    assert_int_equal(path_mkdirs(dir), 0);
    probe = xasprintf("%s/relhost-path-probe", dir);
    write_file(probe, "#!/bin/sh\necho \"found $1\"\n", 0755);
    path_env = xasprintf("PATH=/nonexistent-relhost:%s:/usr/bin:/bin", dir);
    env[0] = path_env;
    env[1] = NULL;
    s.env = env;
    assert_int_equal(proc_run(&s, &r), 0);
    assert_int_equal(r.exec_failed, 0);
    assert_int_equal(r.exit_code, 0);
    assert_string_equal(r.out, "found arg\n");
    proc_result_free(&r);
    /* relhost's own environment is not the child's, even for a moment. */
    assert_ptr_equal(environ, environ_before);
    if (path_before)
        assert_string_equal(getenv("PATH"), path_before);
    assert_null(strstr(getenv("PATH") ? getenv("PATH") : "", "pathbin"));

    /* Not in the child's PATH: not found, whatever relhost's own PATH holds. */
    env[0] = "PATH=/nonexistent-relhost";
    assert_int_equal(proc_run(&s, &r), 0);
    assert_int_equal(r.exec_failed, 1);
    assert_int_equal(r.exit_code, 127);
    assert_string_equal(r.err, "relhost: cannot execute 'relhost-path-probe': "
                               "No such file or directory\n");
    proc_result_free(&r);

    /* An empty PATH entry is the folder the command runs in. */
    env[0] = "PATH=/nonexistent-relhost:";
    s.cwd = dir;
    assert_int_equal(proc_run(&s, &r), 0);
    assert_int_equal(r.exit_code, 0);
    assert_string_equal(r.out, "found arg\n");
    proc_result_free(&r);
    free(path_before);
    free(path_env);
    free(probe);
    free(dir);
}

/* What the parent found along PATH is a shortcut, never another answer: once the program
 * found is gone, or another folder of PATH gets one first... the child searches again as
 * execvp() would; a script without "#!" found there runs under the shell. */
static void run_expect(relhost_proc_spec *s, const char *out)
{
    relhost_proc_result r;
    assert_int_equal(proc_run(s, &r), 0);
    assert_int_equal(r.exec_failed, 0);
    assert_int_equal(r.exit_code, 0);
    assert_string_equal(r.out, out);
    proc_result_free(&r);
}

static void test_unit_proc_spawn__a_program_found_before_is_searched_again_once_it_is_gone(
    void **state)
{
    char *a = path_in_tmp("path-a"), *b = path_in_tmp("path-b"), *pa, *pb, *path_env;
    const char *argv[] = {"relhost-found-once", NULL};
    const char *env[2];
    relhost_proc_spec s = spec_of(argv);
    relhost_proc_result r;
    (void)state;

    assert_int_equal(path_mkdirs(a), 0);
    assert_int_equal(path_mkdirs(b), 0);
    pa = xasprintf("%s/relhost-found-once", a);
    pb = xasprintf("%s/relhost-found-once", b);
    write_file(pa, "echo a\n", 0755); /* no "#!": the shell runs it */
    write_file(pb, "#!/bin/sh\necho b\n", 0755);
    path_env = xasprintf("PATH=%s:%s", a, b);
    env[0] = path_env;
    env[1] = NULL;
    s.env = env;
    run_expect(&s, "a\n");
    run_expect(&s, "a\n");
    assert_int_equal(unlink(pa), 0);
    run_expect(&s, "b\n"); /* the first one is gone: b's, as a fresh search finds */
    write_file(pa, "#!/bin/sh\necho a again\n", 0644); /* not executable: skipped */
    run_expect(&s, "b\n");
    assert_int_equal(unlink(pb), 0);
    assert_int_equal(proc_run(&s, &r), 0);
    assert_int_equal(r.exit_code, 126); /* only a file it may not run: EACCES, as execvp() */
    proc_result_free(&r);
    assert_int_equal(chmod(pa, 0755), 0);
    run_expect(&s, "a again\n");
    /* Another PATH is another search, even for the same name. */
    write_file(pb, "#!/bin/sh\necho b again\n", 0755);
    free(path_env);
    path_env = xasprintf("PATH=%s", b);
    env[0] = path_env;
    run_expect(&s, "b again\n");
    free(path_env);
    free(pa);
    free(pb);
    free(a);
    free(b);
}

/* A program that appears in an earlier folder of PATH after a first start is the one the next
 * start runs, as execvp() would pick it (a plan step that installs the candidate's build in a
 * folder before the system's must not go on testing the system's copy). */
static void test_unit_proc_spawn__a_program_put_earlier_in_path_is_the_one_run_next(void **state)
{
    char *a = path_in_tmp("early-a"), *b = path_in_tmp("early-b"), *pa, *pb, *path_env;
    const char *argv[] = {"relhost-put-earlier", NULL};
    const char *env[2];
    relhost_proc_spec s = spec_of(argv);
    (void)state;

    assert_int_equal(path_mkdirs(a), 0);
    assert_int_equal(path_mkdirs(b), 0);
    pa = xasprintf("%s/relhost-put-earlier", a);
    pb = xasprintf("%s/relhost-put-earlier", b);
    write_file(pb, "#!/bin/sh\necho b\n", 0755);
    path_env = xasprintf("PATH=%s:%s", a, b);
    env[0] = path_env;
    env[1] = NULL;
    s.env = env;
    run_expect(&s, "b\n");
    run_expect(&s, "b\n");
    write_file(pa, "#!/bin/sh\necho a\n", 0755); /* installed before b's: execvp() runs it */
    run_expect(&s, "a\n");
    assert_int_equal(unlink(pa), 0);
    run_expect(&s, "b\n");
    /* a directory named like the program earlier in PATH is skipped, as execvp() skips it */
    assert_int_equal(mkdir(pa, 0755), 0);
    run_expect(&s, "b\n");
    assert_int_equal(rmdir(pa), 0);
    free(path_env);
    free(pa);
    free(pb);
    free(a);
    free(b);
}

static void test_unit_proc_spawn__a_script_without_a_shebang_runs_under_the_shell(void **state)
{
    char *path = path_in_tmp("no-shebang");
    const char *argv[] = {path, "one", "two", NULL};
    relhost_proc_spec s = spec_of(argv);
    relhost_proc_result r;
    (void)state;

    write_file(path, "echo \"sh ran $# args: $1 $2\"\n", 0755);
    assert_int_equal(proc_run(&s, &r), 0);
    assert_int_equal(r.exec_failed, 0);
    assert_int_equal(r.exit_code, 0);
    assert_string_equal(r.out, "sh ran 2 args: one two\n");
    proc_result_free(&r);
    free(path);
}

static void test_unit_proc_spawn__a_long_argv_reaches_a_script_without_a_shebang(void **state)
{
    enum { N = 20000 };
    char *path = path_in_tmp("count-args");
    const char **argv = calloc(N + 2, sizeof *argv);
    relhost_proc_spec s;
    relhost_proc_result r;
    char want[32];
    (void)state;

    /* The shell's argv is built on the child's own stack: it is sized for the whole list. */
    assert_non_null(argv);
    write_file(path, "echo \"$# ${20000}\"\n", 0755);
    argv[0] = path;
    for (size_t i = 1; i <= N; i++)
        argv[i] = "x";
    argv[N] = "last";
    s = spec_of(argv);
    assert_int_equal(proc_run(&s, &r), 0);
    assert_int_equal(r.exec_failed, 0);
    assert_int_equal(r.exit_code, 0);
    snprintf(want, sizeof want, "%d last\n", N);
    assert_string_equal(r.out, want);
    proc_result_free(&r);
    free(argv);
    free(path);
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
    (void)state;
    if (!base)
        return -1;
    /* One folder, emptied at the start: the last run's files stay for a look after a failure. */
    snprintf(tmp, sizeof tmp, "%s/unit_proc_spawn", base);
    nftw(tmp, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    return path_mkdirs(tmp) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
        T(test_unit_proc_spawn__the_command_is_found_in_the_path_of_its_own_environment),
        T(test_unit_proc_spawn__a_script_without_a_shebang_runs_under_the_shell),
        T(test_unit_proc_spawn__a_program_found_before_is_searched_again_once_it_is_gone),
        T(test_unit_proc_spawn__a_program_put_earlier_in_path_is_the_one_run_next),
        T(test_unit_proc_spawn__a_long_argv_reaches_a_script_without_a_shebang),
#undef T
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
