/* SPDX-License-Identifier: MIT */
/*
 * metrics_wandb's private header: the structs and helpers its files share. Not installed, not
 * part of the plugin ABI; only relhost_plugin_entry (../common/pl_host.c) leaves the .so.
 * metrics_wandb.c says what the plugin does. One job per file:
 *   metrics_wandb.c  the plugin: option table, open/close, jobs, keys and credentials, descriptor
 *   wandb_log.c      feed(): the log's lines, the W&B run URLs in them (the last one counts)
 *   wandb_collect.c  collect(): the run id, entity and project chosen, the run read, each metric
 *                    posted, the run's evidence (label, URL, notes)
 *   wandb_local.c    the local run folder (run_dir): its name's run id, its summary file
 *   wandb_api.c      the W&B GraphQL API: requests, replies judged, the run and its history
 *   wandb_reduce.c   history values reduced (last, max, min, mean, mean_last_pct) and posted
 *   wandb_json.c     JSON as W&B writes it (NaN, Infinity), nested keys, keys and errors as text
 *   wandb_text.c     small helpers: names, bounded and cleaned text, the job's environment
 */
#ifndef METRICS_WANDB_INT_H
#define METRICS_WANDB_INT_H

#include <jansson.h>
#include <limits.h>
#include <relhost/plugin.h>
#include <stddef.h>
#include <stdint.h>

/* ---- Configuration --------------------------------------------------------------------------- */

/** One row of `metrics = ( {...}, ... )`. */
struct metrics_wandb_metric {
    const char *name;
    const char *key;
    int reducer;
    double last_pct;
    int64_t samples;
};

struct metrics_wandb_conf {
    const char *entity;
    const char *project;
    const char *base_url;
    const char *api_key_env;
    const char *run_id;
    const char *run_id_env;
    const char *run_dir;
    relhost_list metrics;
    double timeout;
};

enum wb_reducer { WB_LAST, WB_MAX, WB_MIN, WB_MEAN, WB_MEAN_LAST_PCT };

/* The reducers' names, in enum wb_reducer order (the reducer option's choices). */
extern const char *const metrics_wandb_reducers[];

/* ---- Instance and job state ------------------------------------------------------------------ */

#define WB_LINE_MAX 8192 /* longest log line searched for a run URL; the job's carry buffer */
#define WB_NAME_MAX 128  /* entity, project, run id */
#define WB_AUTH_MAX 256  /* host[:port] */
#define WB_URL_MAX 640
#define WB_KEYS_SHOWN 8                 /* keys named in a "not in run" note */
#define WB_FILE_MAX (64u * 1024 * 1024) /* a summary file larger than this is not a summary */

struct metrics_wandb {
    const struct metrics_wandb_conf *conf; /* the host's, valid until close */
    char base[WB_URL_MAX];                 /* without a trailing slash */
    char graphql_url[WB_URL_MAX + 16];
    char app_url[WB_URL_MAX]; /* where people open runs */
    char auth[WB_AUTH_MAX];   /* base's host[:port], lower case, no default port */
    char base_from[160];      /* where base came from, for messages */
};

/** A W&B run URL seen in the log. */
struct wb_url {
    char entity[WB_NAME_MAX + 1];
    char project[WB_NAME_MAX + 1];
    char id[WB_NAME_MAX + 1];
    char url[WB_URL_MAX + 1];
};

struct metrics_wandb_job {
    struct metrics_wandb *inst;
    char *validation;               /* for {validation} in run_id and run_dir; NULL when unknown */
    char *attempt;                  /* for {attempt}: the job's RELHOST_ATTEMPT */
    char *env_run_id;               /* run_id_env's value in the job's environment, or NULL */
    char *env_entity, *env_project; /* the job's WANDB_ENTITY / WANDB_PROJECT */
    char *carry;                    /* the unfinished last line, at most WB_LINE_MAX bytes */
    size_t carry_len;
    int skipping; /* inside a line longer than WB_LINE_MAX: drop bytes up to its end */
    uint64_t long_lines;
    uint64_t n_urls;  /* run URLs seen */
    int several_runs; /* the URLs named more than one run */
    struct wb_url first, last;
};

/* ---- One collect() call ---------------------------------------------------------------------- */

struct wb_collect {
    const relhost_ctx *ctx;
    struct metrics_wandb_job *job;
    const struct metrics_wandb *inst;
    const struct metrics_wandb_conf *conf;

    char *run_dir;                /* run_dir, expanded */
    char dir_id[WB_NAME_MAX + 1]; /* the run id in the run folder's name */
    int dir_offline;
    char *run_id_opt;   /* run_id, expanded */
    const char *run_id; /* the run looked up, and where it came from */
    char run_id_from[96];
    const char *entity, *project;
    char run_path[3 * WB_NAME_MAX + 8]; /* entity/project/id, for messages and the label */

    json_t *summary; /* the run's summary object */
    int summary_from_file;
    char summary_file[PATH_MAX + 32];
    json_t *history_keys;    /* historyKeys.keys, when the API gave it */
    long long history_lines; /* -1: unknown */
    char state[32];
    json_t *hist_root;  /* the sampledHistory reply, alive while hist is used */
    const json_t *hist; /* one array of rows per spec */
    int *spec_of;       /* per metric: its spec, or -1 */
};

enum wb_num { WB_NUM, WB_NONFINITE, WB_NOTNUM };

/* ---- wandb_text.c ---------------------------------------------------------------------------- */

int wb_alnum(unsigned char c);
unsigned char wb_lower(unsigned char c);
int wb_ieq(const char *a, const char *b, size_t n);
int wb_name_char(unsigned char c);
int wb_valid_name(const char *s);
int wb_valid_metric(const char *s);
int wb_valid_env_name(const char *s);
void wb_clean(char *dst, size_t cap, const char *s, size_t n);
__attribute__((format(printf, 4, 5))) void wb_cat(char *buf, size_t cap, size_t *len,
                                                  const char *fmt, ...);
char *wb_strdup(const char *s);
const char *wb_env_lookup(const char *const *env, const char *name);
const struct metrics_wandb_metric *wb_row(const struct metrics_wandb_conf *conf, size_t i);

/* ---- wandb_log.c ----------------------------------------------------------------------------- */

size_t wb_parse_origin(const char *s, size_t n, char *auth, size_t cap);
int wb_public_cloud(const char *auth);
void wb_scan_line(struct metrics_wandb_job *job, const char *s, size_t n);
int metrics_wandb_feed(const relhost_ctx *ctx, void *jobp, const char *buf, size_t len);

/* ---- wandb_json.c ---------------------------------------------------------------------------- */

json_t *wb_json_parse(const char *s, size_t n, json_error_t *err);
enum wb_num wb_number(const json_t *j, double *v);
const json_t *wb_lookup(const json_t *obj, const char *key);
void wb_keys_text(const json_t *obj, char *buf, size_t cap);
void wb_errors_text(const json_t *errs, char *buf, size_t cap);

/* ---- wandb_collect.c ------------------------------------------------------------------------- */

int wb_oom(struct wb_collect *c, const char *what);
int wb_expand(struct wb_collect *c, const char *tmpl, const char *option, char **out);
int wb_needs_history(const struct metrics_wandb_metric *m);
int metrics_wandb_collect(const relhost_ctx *ctx, void *jobp);

/* ---- wandb_local.c, wandb_api.c, wandb_reduce.c ---------------------------------------------- */

int wb_open_run_dir(struct wb_collect *c);
int wb_fetch_run(struct wb_collect *c);
int wb_fetch_history(struct wb_collect *c);
const char *wb_where_read(const struct wb_collect *c);
int wb_metric(struct wb_collect *c, size_t i);

#endif
