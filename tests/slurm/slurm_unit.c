/* SPDX-License-Identifier: MIT */
/* Unit tests of runner_slurm's reading of what Slurm 22.05 says (slurm_parse.c), against the
 * formats in ../shared/API_SHAPES.md: no Slurm, no host. The end-to-end cases are in slurm.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "runner_slurm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* `scontrol show job -o ID` of a job that hit its time limit after one requeue (22.05). */
static const char TIMED_OUT[] =
    "JobId=42 JobName=rh-1-v-a1 UserId=root(0) GroupId=root(0) MCS_label=N/A Priority=1 "
    "Nice=0 Account=(null) QOS=(null) JobState=TIMEOUT Reason=TimeLimit Dependency=(null) "
    "Requeue=1 Restarts=1 BatchFlag=1 Reboot=0 ExitCode=0:15 RunTime=00:01:00 "
    "TimeLimit=00:01:00 TimeMin=N/A StdOut=/tmp/rh/v.log\n";

static relhost_job_status status_of(const char *line)
{
    relhost_job_status st;
    char state[64], ec[32], restarts[16];
    int code = -1, sig = 0;
    memset(&st, 0, sizeof st);
    st.struct_size = sizeof st;
    assert_int_equal(slurm_kv_get(line, "JobState", state, sizeof state), 0);
    assert_int_equal(slurm_kv_get(line, "Restarts", restarts, sizeof restarts), 0);
    assert_int_equal(slurm_kv_get(line, "ExitCode", ec, sizeof ec), 0);
    assert_int_equal(sscanf(ec, "%d:%d", &code, &sig), 2);
    slurm_map_end(state, code, sig, atoi(restarts), &st);
    return st;
}

static void test_slurm_unit__timeout_is_a_timeout_with_exit_124(void **state)
{
    relhost_job_status st = status_of(TIMED_OUT);
    (void)state;
    assert_int_equal(st.state, RELHOST_JOB_ENDED);
    assert_int_equal(st.end, RELHOST_END_TIMEOUT);
    assert_int_equal(st.exit_code, 124);
    assert_int_equal(st.signal, 0);
    assert_string_equal(st.engine_state, "TIMEOUT");
    /* the restart count Slurm knows reaches the job's final status */
    assert_int_equal(st.restarts, 1);
}

static void test_slurm_unit__every_time_limit_end_is_a_timeout(void **state)
{
    static const struct {
        const char *word;
        int code, sig;
    } ends[] = {
        {"TIMEOUT", 0, 15}, {"TIMEOUT", 0, 0},
        {"TIMEOUT", 0, 9},  {"TIMEOUT", -1, 0}, /* purged before scontrol: squeue's word only */
        {"DEADLINE", 0, 0},
    };
    (void)state;
    for (size_t i = 0; i < sizeof ends / sizeof *ends; i++) {
        relhost_job_status st;
        memset(&st, 0, sizeof st);
        slurm_map_end(ends[i].word, ends[i].code, ends[i].sig, 2, &st);
        assert_int_equal(st.end, RELHOST_END_TIMEOUT);
        assert_int_equal(st.exit_code, 124);
        assert_int_equal(st.restarts, 2);
    }
}

static void test_slurm_unit__every_end_keeps_the_restart_count(void **state)
{
    static const char *const words[] = {"COMPLETED", "FAILED",       "TIMEOUT",   "CANCELLED",
                                        "NODE_FAIL", "PREEMPTED",    "BOOT_FAIL", "OUT_OF_MEMORY",
                                        "DEADLINE",  "SPECIAL_EXIT", "REVOKED",   NULL};
    (void)state;
    for (size_t i = 0; words[i]; i++) {
        relhost_job_status st;
        memset(&st, 0, sizeof st);
        assert_true(slurm_terminal_state(words[i]));
        slurm_map_end(words[i], 3, 0, 4, &st);
        assert_int_equal(st.state, RELHOST_JOB_ENDED);
        assert_int_equal(st.restarts, 4);
    }
}

static void test_slurm_unit__a_scripts_own_exit_124_stays_an_exit_code(void **state)
{
    /* The batch script's own timeout(1) ended it: FAILED 124:0. The runner reports the code;
     * the host's one mapping turns 124 into FAILED (timeout). */
    relhost_job_status st;
    (void)state;
    memset(&st, 0, sizeof st);
    slurm_map_end("FAILED", 124, 0, 0, &st);
    assert_int_equal(st.end, RELHOST_END_EXITED);
    assert_int_equal(st.exit_code, 124);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slurm_unit__timeout_is_a_timeout_with_exit_124),
        cmocka_unit_test(test_slurm_unit__every_time_limit_end_is_a_timeout),
        cmocka_unit_test(test_slurm_unit__every_end_keeps_the_restart_count),
        cmocka_unit_test(test_slurm_unit__a_scripts_own_exit_124_stays_an_exit_code),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
