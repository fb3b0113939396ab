/* SPDX-License-Identifier: MIT */
/*
 * runner_skypilot's private header: what its files with host services share (runner_skypilot.h
 * holds the parts that need none). Not installed, not part of the plugin ABI. One job per file:
 *  runner_skypilot.c  the runner: option table, open/close, find, read_log, cancel, descriptor
 *  sky_cli.c          the job records, and the CLI calls: `sky jobs queue`, `sky jobs logs`
 *  sky_poll.c         poll: launches reaped, one queue for all jobs, each job's news
 *  sky_submit.c       submit: the task file written, `sky jobs launch` spawned
 */
#ifndef RUNNER_SKYPILOT_INT_H
#define RUNNER_SKYPILOT_INT_H

#include "runner_skypilot.h"

#include <relhost/plugin.h>
#include <stddef.h>
#include <stdint.h>

struct runner_skypilot_conf {
    const char *sky;
    const char *task_template;
    const char *accelerators;
    int use_spot;
    int64_t max_restarts;
    int sync_workdir;
    int remote_timeout;
    double poll_interval;
    double log_interval;
    double launch_timeout;
    double cli_timeout;
    uint64_t log_max;
    relhost_strlist pass_env;
};

/* What this runner knows about one job. A job submitted by this process is the host's handle;
 * a re-attached one (after a host restart) is found by its id. */
struct sky_rec {
    struct sky_rec *next;
    char key[256];
    char id[32];
    /* launch */
    relhost_proc *launch;
    char *launch_out;     /* the launch's output file, next to the job's log */
    int id_new;           /* the id came with this poll: no queue has listed it yet */
    int id_unreported;    /* cancel() found the id of a launch it stopped: tell the host */
    int launch_cancelled; /* cancel() stopped the launch before SkyPilot had the job */
    int launch_failed;    /* ended without an id: ENDED unless the queue lists the key */
    relhost_job_end launch_end;
    char launch_why[128];
    /* last known state, reported when no queue is due */
    relhost_job_state state;
    int restarts;
    char status[32];
    /* log: bytes [log_base, log_base + log_len) of the ANSI-stripped log */
    char *log;
    size_t log_len;
    uint64_t log_base;
    double next_fetch;
    int final; /* the job ended and its whole log was fetched */
    int warned_trunc;
};

struct runner_skypilot {
    const struct runner_skypilot_conf *conf;
    char *sky;      /* conf->sky, a relative path made absolute */
    char *tmpl;     /* task_template's text */
    char **cli_env; /* NAME=VALUE of conf->pass_env, for the CLI only; NULL-ended */
    size_t ncli_env;
    struct sky_rec *recs;
    double next_queue;
};

/* What one `sky jobs logs` fetch learnt. */
struct sky_fetch {
    int ran; /* the CLI ran and printed a log */
    int exit_code;
    int has_summary, summary;
    int timed_out;    /* the run script's last word: timeout(1) stopped the command */
    char trailer[32]; /* status of the "Managed job finished" trailer, or "" */
    char last[128];   /* the line that best explains a failure */
};

/* ---- sky_cli.c ------------------------------------------------------------------------------ */

double sky_now(void);
double sky_log_every(const struct runner_skypilot *r);
char *sky_dupstr(const char *s);
struct sky_rec *sky_rec_new(struct runner_skypilot *r, const char *key, const char *id);
void sky_rec_free(struct sky_rec *rec);
void sky_rec_unlink(struct runner_skypilot *r, struct sky_rec *rec);
struct sky_rec *sky_rec_find(struct runner_skypilot *r, void *handle, const char *id);
int sky_cli_run(const relhost_ctx *ctx, struct runner_skypilot *r, const char *const *args,
                size_t capture, relhost_proc_result *res);
void sky_why(const relhost_proc_result *res, char *out, size_t cap);
int sky_queue_read(const relhost_ctx *ctx, struct runner_skypilot *r, sky_queue *q);
const sky_row *sky_row_by_id(const sky_queue *q, const char *id);
const sky_row *sky_row_by_name(const sky_queue *q, const char *key);
int sky_fetch_log(const relhost_ctx *ctx, struct runner_skypilot *r, struct sky_rec *rec,
                  struct sky_fetch *f);

/* ---- sky_poll.c, sky_submit.c ---------------------------------------------------------------- */

int runner_skypilot_poll(const relhost_ctx *ctx, void *inst, relhost_job_status *jobs, size_t n,
                         size_t elem_size, double *next_poll_s);
int runner_skypilot_submit(const relhost_ctx *ctx, void *inst, const relhost_job_spec *spec,
                           char id[257], void **handle);

#endif
