/* SPDX-License-Identifier: MIT */
/*
 * slurm_poll.c - one poll of a cluster's jobs at a cost that does not grow with the calls:
 *   - ONE `squeue --me -r -h -t all -o %i|%T|%r|%j` lists the user's jobs (array tasks one
 *     per line as "123_4") (no argument grows with
 *     the number of jobs: Linux caps one argument at 128 KiB, about 16,000 ids), matched to the
 *     runner's jobs through a hash of their ids (O(N), not every job against every line);
 *   - ONE `scontrol show job -o` for the jobs that ended since the last poll (ExitCode and
 *     Restarts, which squeue lacks): `scontrol show job -o ID` when one ended, all jobs when
 *     several did (scontrol takes one id or none), again matched through the hash.
 * Output that was cut short (capture limit) tells nothing: the poll fails, no job is lost.
 */
#include "runner_slurm.h"
#include "../common/pl_host.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- a hash of job numbers to positions ---- */

struct idmap {
    unsigned long long *key; /* 0: empty (Slurm job ids start at 1) */
    size_t *pos;
    size_t mask;
};

static size_t id_slot(const struct idmap *m, unsigned long long id)
{
    size_t h = (size_t)(id * 0x9E3779B97F4A7C15ull) & m->mask;
    while (m->key[h] && m->key[h] != id)
        h = (h + 1) & m->mask;
    return h;
}

static int idmap_init(struct idmap *m, size_t n)
{
    size_t cap = 16;
    while (cap < 2 * n)
        cap *= 2;
    m->key = calloc(cap, sizeof *m->key);
    m->pos = calloc(cap, sizeof *m->pos);
    m->mask = cap - 1;
    return m->key && m->pos ? 0 : -1;
}

static void idmap_free(struct idmap *m)
{
    free(m->key);
    free(m->pos);
}

/* The position of job `id`, or SIZE_MAX. */
static size_t idmap_get(const struct idmap *m, unsigned long long id)
{
    size_t h = id_slot(m, id);
    return m->key[h] ? m->pos[h] : SIZE_MAX;
}

/* ---- the poll ---- */

struct pollset {
    relhost_job_status *jobs;
    size_t elem_size;
    const size_t *idx; /* positions in jobs */
    size_t k;
    const char *cluster;
    char (*nums)[32];
    struct idmap map;          /* job number -> i in idx */
    unsigned char *seen, *end; /* per i: listed by squeue / ended there */
};

static relhost_job_status *st_of(const struct pollset *ps, size_t i)
{
    return (relhost_job_status *)(void *)((char *)ps->jobs + ps->idx[i] * ps->elem_size);
}

/* A tool's run that tells something: exited 0 and not cut short. */
static int tool_failed(const relhost_ctx *ctx, relhost_proc_result *res, const char *what)
{
    char msg[512];
    if (res->exited && res->exit_code == 0 && !res->truncated)
        return 0;
    slurm_tool_message(res, msg, sizeof msg);
    pl_host->fail(ctx, "%s failed: %s", what,
                  res->truncated ? "its output outgrew the capture limit" : msg);
    return RELHOST_EIO;
}

/* One squeue line "id|STATE|reason|name" into its job's status. */
static void squeue_line(struct pollset *ps, const char *line, const char *end)
{
    size_t i = idmap_get(&ps->map, slurm_id_key(line, end, '|'));
    const char *f, *bar, *bar2;
    relhost_job_status *st;
    char word[64], reason[128] = "";
    if (i == SIZE_MAX)
        return; /* another job of the user's */
    f = memchr(line, '|', (size_t)(end - line)) + 1;
    bar = memchr(f, '|', (size_t)(end - f));
    if (!bar)
        return;
    bar2 = memchr(bar + 1, '|', (size_t)(end - bar - 1));
    snprintf(word, sizeof word, "%.*s", (int)(bar - f), f);
    if (bar2)
        snprintf(reason, sizeof reason, "%.*s", (int)(bar2 - bar - 1), bar + 1);
    st = st_of(ps, i);
    ps->seen[i] = 1;
    slurm_set_word(st->engine_state, sizeof st->engine_state, word);
    slurm_set_word(st->engine_reason, sizeof st->engine_reason, reason);
    if (slurm_terminal_state(word)) {
        ps->end[i] = 1; /* its end comes from scontrol */
        st->state = RELHOST_JOB_RUNNING;
    } else if (slurm_pending_state(word)) {
        st->state = RELHOST_JOB_PENDING;
    } else {
        /* RUNNING, COMPLETING, REQUEUED, SUSPENDED, STAGE_OUT, SIGNALING, RESIZING, STOPPED,
         * and any word newer than 22.05: still in progress. */
        st->state = RELHOST_JOB_RUNNING;
    }
}

/* One `scontrol show job -o` line into its (ended) job's status. */
static void scontrol_line(struct pollset *ps, const char *line, const char *end)
{
    char one[8192], state[64], reason[128] = "", ec[32] = "", restarts[16] = "";
    char aj[32], at[32], task[80];
    size_t i;
    int code = -1, sig = 0;
    relhost_job_status *st;
    if ((size_t)(end - line) < 7 || memcmp(line, "JobId=", 6) != 0)
        return;
    snprintf(one, sizeof one, "%.*s", (int)(end - line), line);
    if (slurm_kv_get(one, "ArrayJobId", aj, sizeof aj) == 0) {
        /* an array task: its own JobId, known to relhost as ArrayJobId_ArrayTaskId (a line
         * with ArrayTaskId=5-9 stands for tasks not started yet, none of them ended) */
        if (slurm_kv_get(one, "ArrayTaskId", at, sizeof at) != 0)
            return;
        snprintf(task, sizeof task, "%s_%s", aj, at);
        i = idmap_get(&ps->map, slurm_id_key(task, task + strlen(task), 0));
    } else {
        i = idmap_get(&ps->map, slurm_id_key(line + 6, end, ' '));
    }
    if (i == SIZE_MAX || !ps->end[i])
        return;
    if (slurm_kv_get(one, "JobState", state, sizeof state) != 0)
        return;
    ps->end[i] = 0;
    st = st_of(ps, i);
    slurm_kv_get(one, "Reason", reason, sizeof reason);
    slurm_kv_get(one, "Restarts", restarts, sizeof restarts);
    if (slurm_kv_get(one, "ExitCode", ec, sizeof ec) != 0 || sscanf(ec, "%d:%d", &code, &sig) != 2)
        code = -1, sig = 0;
    if (!slurm_terminal_state(state)) {
        /* requeued since squeue looked: in progress again */
        st->state = slurm_pending_state(state) ? RELHOST_JOB_PENDING : RELHOST_JOB_RUNNING;
        st->restarts = restarts[0] ? atoi(restarts) : 0;
        slurm_set_word(st->engine_state, sizeof st->engine_state, state);
        return;
    }
    slurm_map_end(state, code, sig, restarts[0] ? atoi(restarts) : 0, st);
    if (reason[0])
        slurm_set_word(st->engine_reason, sizeof st->engine_reason, reason);
}

static void each_line(struct pollset *ps, const char *out,
                      void (*fn)(struct pollset *, const char *, const char *))
{
    for (const char *line = out ? out : ""; *line;) {
        const char *nl = strchr(line, '\n');
        const char *end = nl ? nl : line + strlen(line);
        fn(ps, line, end);
        if (!nl)
            break;
        line = nl + 1;
    }
}

/* The ends of the jobs squeue saw ended: one scontrol call. */
static int read_ends(const relhost_ctx *ctx, struct runner_slurm *r, struct pollset *ps)
{
    struct strv argv = {0};
    relhost_proc_result res;
    size_t ended = 0, one = 0;
    int rc;
    for (size_t i = 0; i < ps->k; i++)
        if (ps->end[i])
            ended++, one = i;
    if (!ended)
        return 0;
    slurm_tool_head(&argv, r->conf->scontrol, ps->cluster);
    sv_add(&argv, "show");
    sv_add(&argv, "job");
    sv_add(&argv, "-o");
    if (ended == 1)
        sv_add(&argv, ps->nums[ps->idx[one]]);
    if ((rc = slurm_run_argv(ctx, r, &argv, &res)) != 0)
        return rc;
    if (ended == 1 && res.exited && res.exit_code == 1 && res.err &&
        strstr(res.err, "Invalid job id")) {
        /* purged between squeue and scontrol: squeue's word is all there is (below) */
    } else if ((rc = tool_failed(ctx, &res, "scontrol show job")) != 0) {
        pl_host->proc_result_free(&res);
        return rc; /* the ended jobs stay RUNNING: asked again at the next poll */
    } else {
        each_line(ps, res.out, scontrol_line);
    }
    pl_host->proc_result_free(&res);
    for (size_t i = 0; i < ps->k; i++)
        if (ps->end[i]) {
            /* scontrol no longer knows it (past MinJobAge): squeue's word, no exit code. */
            relhost_job_status *st = st_of(ps, i);
            char word[64];
            snprintf(word, sizeof word, "%s", st->engine_state);
            slurm_map_end(word, -1, 0, 0, st);
            ps->end[i] = 0;
        }
    return 0;
}

static int poll_run(const relhost_ctx *ctx, struct runner_slurm *r, struct pollset *ps)
{
    struct strv argv = {0};
    relhost_proc_result res;
    int rc;

    slurm_tool_head(&argv, r->conf->squeue, ps->cluster);
    sv_add(&argv, "--me");
    sv_add(&argv, "-r"); /* one line per array task, "123_4", pending ones included */
    sv_add(&argv, "-h");
    sv_add(&argv, "-t");
    sv_add(&argv, "all");
    /* The job name last: it is the only free-text field and may hold a '|'. */
    sv_add(&argv, "-o");
    sv_add(&argv, "%i|%T|%r|%j");
    if ((rc = slurm_run_argv(ctx, r, &argv, &res)) != 0)
        return rc;
    if ((rc = tool_failed(ctx, &res, "squeue")) != 0) {
        pl_host->proc_result_free(&res);
        return rc; /* controller down, timeout: tells nothing */
    }
    each_line(ps, res.out, squeue_line);
    pl_host->proc_result_free(&res);
    for (size_t i = 0; i < ps->k; i++)
        if (!ps->seen[i]) {
            relhost_job_status *st = st_of(ps, i);
            st->state = RELHOST_JOB_LOST;
            st->exit_code = -1;
            snprintf(st->engine_state, sizeof st->engine_state, "GONE");
            snprintf(st->engine_reason, sizeof st->engine_reason,
                     "squeue -t all no longer lists job %s (older than MinJobAge?)",
                     ps->nums[ps->idx[i]]);
        }
    return read_ends(ctx, r, ps);
}

int slurm_poll_cluster(const relhost_ctx *ctx, struct runner_slurm *r, relhost_job_status *jobs,
                       size_t elem_size, const size_t *idx, size_t k, const char *cluster,
                       char (*nums)[32])
{
    struct pollset ps = {jobs, elem_size, idx, k, cluster, nums, {0}, NULL, NULL};
    int rc;

    ps.seen = calloc(k ? k : 1, 1);
    ps.end = calloc(k ? k : 1, 1);
    if (!ps.seen || !ps.end || idmap_init(&ps.map, k) != 0) {
        rc = pl_oom(ctx);
        goto out;
    }
    for (size_t i = 0; i < k; i++) {
        unsigned long long id = slurm_id_key(nums[idx[i]], nums[idx[i]] + strlen(nums[idx[i]]), 0);
        size_t h = id_slot(&ps.map, id);
        ps.map.key[h] = id;
        ps.map.pos[h] = i;
    }
    rc = poll_run(ctx, r, &ps);
    if (rc != 0)
        for (size_t i = 0; i < k; i++)
            if (ps.end[i])
                st_of(&ps, i)->state = RELHOST_JOB_RUNNING; /* ask again at the next poll */
out:
    idmap_free(&ps.map);
    free(ps.seen);
    free(ps.end);
    return rc;
}
