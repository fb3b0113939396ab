/* SPDX-License-Identifier: MIT */
/* Unit tests of runner_slurm's poll (slurm_poll.c): one squeue --me for the user's jobs matched
 * by hash, one scontrol for the ones that ended, a listing cut short tells nothing. The tools are
 * a fake proc_run printing Slurm 22.05's shapes (../shared/API_SHAPES.md); no Slurm, no host. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "runner_slurm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const relhost_host *pl_host;

static struct {
    char argv[8][256]; /* each call's argv, joined */
    int ncalls;
    char *squeue_out, *scontrol_out;
    int truncated;
} T;

static int fake_proc_run(const relhost_ctx *ctx, const relhost_proc_spec *spec,
                         relhost_proc_result *res)
{
    const char *out;
    size_t n = 0;
    (void)ctx;
    if (T.ncalls < 8) {
        for (size_t i = 0; spec->argv[i]; i++)
            n += (size_t)snprintf(T.argv[T.ncalls] + n, n < 256 ? 256 - n : 0, "%s%s", i ? " " : "",
                                  spec->argv[i]);
    }
    T.ncalls++;
    out = strcmp(spec->argv[0], "squeue") == 0 ? T.squeue_out : T.scontrol_out;
    res->exited = 1;
    res->exit_code = 0;
    res->out = strdup(out ? out : "");
    res->out_len = strlen(res->out);
    res->truncated = T.truncated;
    return 0;
}

static void fake_free(relhost_proc_result *res)
{
    free(res->out);
    free(res->err);
    res->out = res->err = NULL;
}

static char last_fail[512];
static void fake_fail(const relhost_ctx *ctx, const char *fmt, ...)
{
    va_list ap;
    (void)ctx;
    va_start(ap, fmt);
    vsnprintf(last_fail, sizeof last_fail, fmt, ap);
    va_end(ap);
}

static relhost_host host;
static struct runner_slurm_conf conf = {.squeue = "squeue",
                                        .scontrol = "scontrol",
                                        .scancel = "scancel",
                                        .sbatch = "sbatch",
                                        .command_timeout = 60};
static struct runner_slurm runner = {.conf = &conf};

static int setup(void **state)
{
    (void)state;
    memset(&T, 0, sizeof T);
    memset(&host, 0, sizeof host);
    host.struct_size = sizeof host;
    host.proc_run = fake_proc_run;
    host.proc_result_free = fake_free;
    host.fail = fake_fail;
    pl_host = &host;
    last_fail[0] = '\0';
    return 0;
}

static int poll(relhost_job_status *st, size_t n, char (*nums)[32])
{
    relhost_ctx ctx;
    size_t *idx = calloc(n, sizeof *idx);
    int rc;
    memset(&ctx, 0, sizeof ctx);
    for (size_t i = 0; i < n; i++) {
        idx[i] = i;
        st[i].struct_size = sizeof st[i];
        st[i].state = RELHOST_JOB_RUNNING;
    }
    rc = slurm_poll_cluster(&ctx, &runner, st, sizeof *st, idx, n, "", nums);
    free(idx);
    return rc;
}

#define SCONTROL(id, state, ec)                                                               \
    "JobId=" id " JobName=rh-1-v-a1 UserId=root(0) GroupId=root(0) MCS_label=N/A Priority=1 " \
    "Nice=0 Account=(null) QOS=(null) JobState=" state " Reason=None Dependency=(null) "      \
    "Requeue=1 Restarts=0 BatchFlag=1 Reboot=0 ExitCode=" ec " RunTime=00:00:01 "             \
    "TimeLimit=00:01:00 TimeMin=N/A StdOut=/tmp/rh/v.log\n"

static void test_slurm_poll__one_squeue_one_scontrol_matched_by_id(void **state)
{
    relhost_job_status st[5];
    char nums[5][32] = {"101", "102", "103", "104", "105"};
    (void)state;
    memset(st, 0, sizeof st);
    /* another user's job 99, ours out of order, 104 gone, an id that only shares a prefix */
    T.squeue_out = "99|RUNNING|None|theirs\n"
                   "105|PENDING|Priority|rh-1-e-a1\n"
                   "1010|RUNNING|None|other\n"
                   "103|FAILED|NonZeroExitCode|rh-1-c-a1\n"
                   "101|RUNNING|None|rh-1-a-a1\n"
                   "102|COMPLETED|None|rh-1-b|with-bar\n";
    T.scontrol_out = SCONTROL("99", "COMPLETED", "0:0") SCONTROL("102", "COMPLETED", "0:0")
        SCONTROL("103", "FAILED", "3:0") SCONTROL("1010", "RUNNING", "0:0");
    assert_int_equal(poll(st, 5, nums), 0);
    assert_int_equal(T.ncalls, 2);
    assert_non_null(strstr(T.argv[0], "squeue --me -r -h -t all"));
    assert_null(strstr(T.argv[0], "-j"));
    assert_string_equal(T.argv[1], "scontrol show job -o"); /* two ended: all jobs at once */
    assert_int_equal(st[0].state, RELHOST_JOB_RUNNING);
    assert_int_equal(st[1].state, RELHOST_JOB_ENDED);
    assert_int_equal(st[1].end, RELHOST_END_EXITED);
    assert_int_equal(st[1].exit_code, 0);
    assert_int_equal(st[2].state, RELHOST_JOB_ENDED);
    assert_int_equal(st[2].exit_code, 3);
    assert_int_equal(st[3].state, RELHOST_JOB_LOST);
    assert_int_equal(st[4].state, RELHOST_JOB_PENDING);
    assert_string_equal(st[4].engine_reason, "Priority");
}

static void test_slurm_poll__one_ended_job_is_asked_for_by_id(void **state)
{
    relhost_job_status st[2];
    char nums[2][32] = {"7", "8"};
    (void)state;
    memset(st, 0, sizeof st);
    T.squeue_out = "7|RUNNING|None|a\n8|TIMEOUT|TimeLimit|b\n";
    T.scontrol_out = SCONTROL("8", "TIMEOUT", "0:15");
    assert_int_equal(poll(st, 2, nums), 0);
    assert_int_equal(T.ncalls, 2);
    assert_string_equal(T.argv[1], "scontrol show job -o 8");
    assert_int_equal(st[1].state, RELHOST_JOB_ENDED);
    assert_int_equal(st[1].end, RELHOST_END_TIMEOUT);
}

static void test_slurm_poll__a_listing_cut_short_loses_no_job(void **state)
{
    relhost_job_status st[2];
    char nums[2][32] = {"7", "8"};
    (void)state;
    memset(st, 0, sizeof st);
    T.squeue_out = "7|RUNNING|None|a\n";
    T.truncated = 1;
    assert_int_not_equal(poll(st, 2, nums), 0);
    assert_int_equal(st[1].state, RELHOST_JOB_RUNNING); /* untouched, not LOST */
    assert_non_null(strstr(last_fail, "capture limit"));
}

static void test_slurm_poll__ten_thousand_jobs_in_one_squeue(void **state)
{
    enum { N = 10000 };
    relhost_job_status *st = calloc(N, sizeof *st);
    char(*nums)[32] = calloc(N, sizeof *nums);
    char *out = malloc((size_t)N * 40), *p = out;
    (void)state;
    for (size_t i = 0; i < N; i++) {
        snprintf(nums[i], sizeof nums[i], "%zu", 5000 + i);
        /* listed newest first, as a controller may */
        p += sprintf(p, "%zu|%s|None|rh-1-v%zu-a1\n", 5000 + (N - 1 - i),
                     (N - 1 - i) % 2 ? "RUNNING" : "PENDING", N - 1 - i);
    }
    T.squeue_out = out;
    assert_int_equal(poll(st, N, nums), 0);
    assert_int_equal(T.ncalls, 1);
    for (size_t i = 0; i < N; i++)
        assert_int_equal(st[i].state, i % 2 ? RELHOST_JOB_RUNNING : RELHOST_JOB_PENDING);
    free(out);
    free(nums);
    free(st);
}

/* Array tasks: squeue -r lists them as "ARRAY_TASK", scontrol by their own JobId with
 * ArrayJobId/ArrayTaskId; a plain job with the array's number, a task of another array and the
 * record of tasks not started yet ("ArrayTaskId=2-9") match none of them. */
#define SCONTROL_TASK(raw, array, task, state, ec)                                 \
    "JobId=" raw " ArrayJobId=" array " ArrayTaskId=" task " ArrayTaskThrottle=0 " \
    "JobName=rh-1-t* UserId=root(0) GroupId=root(0) Priority=1 JobState=" state    \
    " Reason=None Requeue=1 Restarts=0 BatchFlag=1 ExitCode=" ec " StdOut=/tmp/rh/x.out\n"

static void test_slurm_poll__array_tasks_matched_by_array_and_index(void **state)
{
    relhost_job_status st[4];
    char nums[4][32] = {"300_0", "300_1", "300_2", "300_10"};
    (void)state;
    memset(st, 0, sizeof st);
    T.squeue_out = "300_0|COMPLETED|None|rh-1-t*\n"
                   "300_1|FAILED|NonZeroExitCode|rh-1-t*\n"
                   "300_10|RUNNING|None|rh-1-t*\n"
                   "301_2|COMPLETED|None|rh-1-u*\n"
                   "300|COMPLETED|None|other\n"
                   "300_2|PENDING|Priority|rh-1-t*\n";
    T.scontrol_out = SCONTROL_TASK("303", "301", "2", "COMPLETED", "0:0")
        SCONTROL_TASK("300", "300", "2-9", "PENDING", "0:0")
            SCONTROL_TASK("302", "300", "1", "FAILED", "3:0")
                SCONTROL_TASK("301", "300", "0", "COMPLETED", "0:0")
                    SCONTROL("300", "COMPLETED", "7:0");
    assert_int_equal(poll(st, 4, nums), 0);
    assert_int_equal(T.ncalls, 2);
    assert_non_null(strstr(T.argv[0], "squeue --me -r "));
    assert_string_equal(T.argv[1], "scontrol show job -o");
    assert_int_equal(st[0].state, RELHOST_JOB_ENDED);
    assert_int_equal(st[0].end, RELHOST_END_EXITED);
    assert_int_equal(st[0].exit_code, 0);
    assert_int_equal(st[1].state, RELHOST_JOB_ENDED);
    assert_int_equal(st[1].exit_code, 3);
    assert_int_equal(st[2].state, RELHOST_JOB_PENDING);
    assert_int_equal(st[3].state, RELHOST_JOB_RUNNING);
}

static void test_slurm_poll__ids_of_array_tasks(void **state)
{
    char num[32], cl[200];
    const char *t = "123_4", *p = "123", *t0 = "123_0", *pend = "123_[4-9]|P";
    (void)state;
    assert_int_equal(slurm_split_id("123_4", num, sizeof num, cl, sizeof cl), 0);
    assert_string_equal(num, "123_4");
    assert_int_equal(slurm_split_id("123_4;east", num, sizeof num, cl, sizeof cl), 0);
    assert_string_equal(cl, "east");
    assert_int_equal(slurm_split_id("123_", num, sizeof num, cl, sizeof cl), -1);
    assert_int_equal(slurm_split_id("123_[4-9]", num, sizeof num, cl, sizeof cl), -1);
    assert_true(slurm_id_key(t, t + 5, 0) != slurm_id_key(p, p + 3, 0));
    assert_true(slurm_id_key(t0, t0 + 5, 0) != slurm_id_key(p, p + 3, 0));
    assert_true(slurm_id_key(t0, t0 + 5, 0) != 0);
    assert_int_equal(slurm_id_key(pend, pend + strlen(pend), '|'), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_slurm_poll__one_squeue_one_scontrol_matched_by_id, setup),
        cmocka_unit_test_setup(test_slurm_poll__one_ended_job_is_asked_for_by_id, setup),
        cmocka_unit_test_setup(test_slurm_poll__a_listing_cut_short_loses_no_job, setup),
        cmocka_unit_test_setup(test_slurm_poll__ten_thousand_jobs_in_one_squeue, setup),
        cmocka_unit_test_setup(test_slurm_poll__array_tasks_matched_by_array_and_index, setup),
        cmocka_unit_test_setup(test_slurm_poll__ids_of_array_tasks, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
