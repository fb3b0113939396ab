/* SPDX-License-Identifier: MIT */
/*
 * runner_slurm.h - what the three files of runner_slurm share (private to the plugin; every
 * symbol is hidden by the plugin build):
 *   runner_slurm.c  options, the runner ops, running the Slurm tools
 *   slurm_script.c  what a job is made of: the batch script, sbatch's environment, owned buffers
 *   slurm_parse.c   what Slurm says: ids, messages, transient errors, job states and their ends
 *   slurm_poll.c    one poll: one squeue and at most one scontrol per cluster, jobs matched by hash
 *   slurm_array.c   job arrays: submissions queued by submit, sent as sbatch --array at the poll
 */
#ifndef RUNNER_SLURM_H
#define RUNNER_SLURM_H

#include <relhost/plugin.h>

#include <stddef.h>

struct runner_slurm_conf {
    const char *partition;
    const char *account;
    const char *qos;
    relhost_strlist extra_args;
    double poll_interval;
    double time_slack;
    double command_timeout;
    relhost_strlist export_env;
    const char *sbatch;
    const char *squeue;
    const char *scontrol;
    const char *scancel;
    int arrays;
};

struct slurm_task;

struct runner_slurm {
    const struct runner_slurm_conf *conf;
    double last_poll;         /* CLOCK_MONOTONIC seconds of the last squeue, 0: none yet */
    struct slurm_task *tasks; /* the records whose handles the host holds (slurm_array.c) */
    long max_array;           /* MaxArraySize (tasks per array); -1: not read yet, 0: refused */
    char *find_list;          /* find's cached listing of the user's arrays, and its time */
    double find_list_t;
    char *disp_path, *disp_text; /* the last array script find read */
};

/* ---- owned buffers (slurm_script.c): an allocation failure sticks in oom, so callers check
 * once at the end ---- */

struct sbuf {
    char *s; /* NUL-terminated, or NULL while empty */
    size_t len, cap;
    int oom;
};

void sb_add(struct sbuf *b, const char *s, size_t n);
void sb_str(struct sbuf *b, const char *s);
void sb_shq(struct sbuf *b, const char *s); /* a word for sh: single-quoted, ' as '\'' */

/* A NULL-terminated list of owned strings (argv, env); v is NULL while empty. */
struct strv {
    char **v;
    size_t n, cap;
    int oom;
};

void sv_take(struct strv *a, char *s); /* takes s; NULL marks oom */
void sv_add(struct strv *a, const char *s);
void sv_fmt(struct strv *a, const char *fmt, ...) RELHOST_PRINTF(2, 3);
void sv_free(struct strv *a);

/* ---- the job (slurm_script.c) ---- */

/* Writes spec's batch script to path (mode 0700, temp file renamed into place): the
 * environment that is not handed over, cd to spec->cwd, exec of spec->argv, every value
 * single-quoted. 0, or a RELHOST_E* code explained through pl_host->fail. */
int slurm_write_script(const relhost_ctx *ctx, const relhost_job_spec *spec, const char *path);

/* Writes b to path (mode 0700, temp file renamed into place); 0 or RELHOST_E* (explained). */
int slurm_write_file(const relhost_ctx *ctx, const char *path, const struct sbuf *b);

/* Adds to env what sbatch runs with besides PATH and HOME: SLURM_* and SBATCH_*, the export_env
 * names of relhost's environment except sealed ones (pl_host->sealed: secrets), and spec's
 * variables handed over from relhost's environment (pass_env), which never go into the script. */
void slurm_sbatch_env(const relhost_ctx *ctx, const struct runner_slurm_conf *c,
                      const relhost_job_spec *spec, struct strv *env);

/* Adds "--output=<log_path>" to argv, with '%' written "%%" (sbatch expands %j and friends).
 * RELHOST_EINVAL (explained) for a path with a backslash, which sbatch would drop. */
int slurm_output_arg(const relhost_ctx *ctx, const char *log_path, struct strv *argv);

/* ---- what Slurm says (slurm_parse.c) ---- */

/* "123" or "123;cluster" into its number and cluster ("" when none); 0, or -1 when ext is not
 * a Slurm job id. */
int slurm_split_id(const char *ext, char *num, size_t ncap, char *cluster, size_t ccap);

/* The job id sbatch --parsable printed (alone on its line) into id; 0, or -1. */
int slurm_parse_submit(const char *out, char id[257]);

/* What a failed tool said: its "error:" / "fatal:" lines without prefixes, joined with "; ",
 * else its first line; notes a command timeout. */
void slurm_tool_message(const relhost_proc_result *res, char *out, size_t cap);

/* 1 when the same call may well succeed later (controller busy or unreachable, submit limit,
 * command timeout). */
int slurm_transient(const relhost_proc_result *res);

/* The value of Key in a `scontrol show job -o` line into out; 0, or -1 when absent. */
int slurm_kv_get(const char *line, const char *key, char *out, size_t cap);

/* Slurm job state words: ended for good / waiting to start. */
int slurm_terminal_state(const char *word);
int slurm_pending_state(const char *word);

/* Copies a Slurm word into an engine_state / engine_reason field ("None" becomes ""). */
void slurm_set_word(char *dst, size_t cap, const char *word);

/* Fills st for a job that ended in Slurm state `state` with ExitCode code:sig (code -1 when
 * unknown) and `restarts`: the one place where Slurm's ends become relhost's. */
void slurm_map_end(const char *state, int code, int sig, int restarts, relhost_job_status *st);

/* ---- running the tools (runner_slurm.c) ---- */

/* argv head for a tool, with -M <cluster> when the job lives on a named cluster. */
void slurm_tool_head(struct strv *a, const char *prog, const char *cluster);

/* Runs a tool's argv (freed here) without extra environment. 0 when it ran (look at res, free
 * it with pl_host->proc_result_free), else the host's error (explained; nothing to free). */
int slurm_run_argv(const relhost_ctx *ctx, const struct runner_slurm *r, struct strv *argv,
                   relhost_proc_result *res);

/* A job id ("123", or an array task "123_4") up to `stop` as one number: the array id shifted
 * left 23 bits plus the task index + 1 (0 for a plain job); 0 when [s, end) holds none. */
unsigned long long slurm_id_key(const char *s, const char *end, char stop);

/* sbatch's options that every job of one submission shape shares (all but its name, output and
 * script): --export=ALL, --nodes, --gpus-per-node, the runner_args, --time, extra_args. */
int slurm_shape_args(const relhost_ctx *ctx, const struct runner_slurm_conf *c,
                     const relhost_job_spec *spec, struct strv *argv);

/* Runs argv (freed here) with env as sbatch's whole environment; like slurm_run_argv. */
int slurm_run_env(const relhost_ctx *ctx, const struct runner_slurm *r, struct strv *argv,
                  const struct strv *env, relhost_proc_result *res);

/* One job submitted on its own: sbatch --job-name=key --output=log shape... script. 0 and id,
 * else a RELHOST_E* code and why in msg (RELHOST_ERETRY: the same call may work later). */
int slurm_submit_one(const relhost_ctx *ctx, struct runner_slurm *r, const char *key,
                     const char *log, const char *script, const struct strv *shape,
                     const struct strv *env, char id[257], char *msg, size_t cap);

int slurm_find_plain(const relhost_ctx *ctx, struct runner_slurm *r, const char *key, char id[257]);

/* ---- job arrays (slurm_array.c) ---- */

/* Queues a job for the next flush, taking shape and env: RELHOST_EINPROGRESS and *handle. */
int slurm_task_queue(const relhost_ctx *ctx, struct runner_slurm *r, const relhost_job_spec *spec,
                     const char *script, struct strv *shape, struct strv *env, void **handle);

/* Submits every queued job: one sbatch --array per chunk of jobs of one shape. */
void slurm_flush(const relhost_ctx *ctx, struct runner_slurm *r);

/* What became of a queued job (SUBMITTING jobs' status); 0 when it is still queued. */
int slurm_task_news(const struct slurm_task *t, relhost_job_status *st);

/* A queued job is dropped (never submitted): 1; 0 when it already went out (id in id). */
int slurm_task_cancel(struct slurm_task *t, char id[257]);

void slurm_task_release(struct runner_slurm *r, struct slurm_task *t);
void slurm_tasks_free(struct runner_slurm *r);

/* Finds the array task that runs key (see README "Job arrays"): 0 and "ARRAY_INDEX" in id,
 * RELHOST_ENOTFOUND, or the error of squeue (explained). */
int slurm_array_find(const relhost_ctx *ctx, struct runner_slurm *r, const char *key, char id[257]);

/* ---- one poll (slurm_poll.c) ---- */

/* Refreshes the jobs idx[0..k) (positions in jobs, numbers in nums) of one cluster: one squeue
 * for the user's jobs, at most one scontrol for the ones that ended. 0, or the error of a tool
 * that told nothing (explained; the jobs it concerned stay as they were: ask again). */
int slurm_poll_cluster(const relhost_ctx *ctx, struct runner_slurm *r, relhost_job_status *jobs,
                       size_t elem_size, const size_t *idx, size_t k, const char *cluster,
                       char (*nums)[32]);

#endif /* RUNNER_SLURM_H */
