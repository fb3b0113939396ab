/* SPDX-License-Identifier: MIT */
/* tests/unit/proc/proc_common.h - what the proc test files share: the test folder, helpers and
 * fixtures (proc_common.c), and the cases kept outside proc.c. */
#ifndef RELHOST_TESTS_UNIT_PROC_COMMON_H
#define RELHOST_TESTS_UNIT_PROC_COMMON_H

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

extern char tmp[PATH_MAX];

/* Ignores SIGTERM (as do the sleeps it starts), then writes its pid into $0. */
#define STUBBORN_SH "trap '' TERM; echo $$ > \"$0\"; while :; do sleep 0.05; done"

/* proc_common.c */
char *path_in_tmp(const char *name);
char *slurp(const char *path);
void write_file(const char *path, const char *text, mode_t mode);
relhost_proc_spec spec_of(const char *const *argv);
int pid_gone(pid_t pid);
char *wait_for_file(const char *path, double limit);
int wait_done(relhost_proc *p, relhost_proc_result *res, double limit);
long status_field(const char *text, const char *name, int base);
pid_t check_escapee(const char *report, pid_t child);
int setup(void **state);
int teardown(void **state);
int group_setup(void **state);
const char *env_line(const char *out, const char *name);
int env_count(const char *out);

/* proc_trees.c */
void test_unit_proc__timeout_kills_the_command_and_reports_124(void **state);
void test_unit_proc__timeout_kills_an_escaped_grandchild_that_ignores_sigterm(void **state);
void test_unit_proc__a_tree_scan_reads_only_the_descendants_however_many_processes_run(
    void **state);
void test_unit_proc__a_grandchild_holding_the_pipes_after_the_command_ended_is_killed(void **state);
void test_unit_proc__an_orphan_left_with_closed_pipes_is_adopted_and_reaped(void **state);
void test_unit_proc__an_interrupt_makes_run_return_eintr_and_kills_the_command(void **state);
void test_unit_proc__a_real_sigterm_to_relhost_interrupts_run(void **state);
void test_unit_proc__a_second_interrupt_during_the_grace_sends_sigkill_at_once(void **state);
void test_unit_proc__spawn_appends_to_a_log_in_new_folders_and_poll_reports_the_exit(void **state);
void test_unit_proc__spawn_exports_the_job_cookie_and_the_process_cookie(void **state);
void test_unit_proc__spawn_timeout_appends_the_timeout_line_and_reports_124(void **state);
void test_unit_proc__spawn_timeout_escalates_to_sigkill_after_the_grace(void **state);
void test_unit_proc__proc_kill_kills_an_escaped_grandchild_that_ignores_sigterm(void **state);
void test_unit_proc__a_job_that_exits_leaving_an_escaped_process_ends_once_it_is_killed(
    void **state);
void test_unit_proc__spawn_of_a_missing_command_logs_why_and_reports_127(void **state);
void test_unit_proc__kill_all_and_release_stop_every_spawned_tree(void **state);
void test_unit_proc__an_unsure_tree_is_looked_at_again_by_a_timer_and_told_as_child_news(
    void **state);

#endif
