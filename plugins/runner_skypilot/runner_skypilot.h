/* SPDX-License-Identifier: MIT */
/*
 * runner_skypilot.h - the parts of runner_skypilot that need no host services, so that
 * tests/skypilot/sky_unit.c can pin them down without a CLI:
 *  sky_parse.c  what the SkyPilot CLI prints (ANSI, the `sky jobs queue` table, launch and log
 *               output, status words) and YAML / shell quoting;
 *  sky_task.c   the task file and `sky jobs launch` flags built for one job;
 *  sky_local.c  the job's files next to its log, and launches left running by an earlier relhost.
 */
#ifndef RUNNER_SKYPILOT_H
#define RUNNER_SKYPILOT_H

#include <relhost/plugin.h>

#include <stddef.h>
#include <sys/types.h>

/* A growable NUL-terminated byte buffer. Out of memory sets oom and drops later writes, so a
 * builder checks once at the end. */
typedef struct sky_buf {
    char *s;
    size_t len, cap;
    int oom;
} sky_buf;

void sky_buf_add(sky_buf *b, const char *p, size_t n);
void sky_buf_puts(sky_buf *b, const char *s);
void sky_buf_printf(sky_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sky_buf_free(sky_buf *b);

/* Removes ANSI/ECMA-48 escape sequences (colours `ESC[..m`, but also the cursor and erase
 * sequences of spinners) in place; returns the new length. A sequence cut off at the end of the
 * text is kept: see sky_complete_len(). */
size_t sky_strip_ansi(char *s, size_t len);

/* Length of s without a trailing, unterminated escape sequence: the part that a later, longer
 * read of the same stream will strip exactly the same way. */
size_t sky_complete_len(const char *s, size_t len);

/* One job row of `sky jobs queue`. */
typedef struct sky_row {
    long long id;
    char name[256];
    char status[32];
    int recoveries; /* -1: no #RECOVERIES column or no number in it */
} sky_row;

typedef struct sky_queue {
    sky_row *rows;
    size_t n;
    int has_table;     /* a header with ID and STATUS was found */
    int empty_message; /* "No in-progress managed jobs." */
    int has_name;      /* the header has NAME (find() needs it) */
} sky_queue;

/* Parses the (ANSI-stripped) output of `sky jobs queue`. Columns are found by header name and cut
 * at the header's character positions, so empty cells and either header version work. Returns 0,
 * or -1 with a reason in err when the output holds neither a table nor the empty message
 * (RELHOST_ENOMEM on allocation failure). */
int sky_parse_queue(const char *text, sky_queue *q, char *err, size_t errcap);
void sky_queue_free(sky_queue *q);

/* The id in `sky jobs launch` output, `Job submitted, ID: 7` or `Managed Job ID: 7` (the last
 * one printed). Returns 1 and writes the digits, 0 when there is none. */
int sky_launch_id(const char *text, char *id, size_t cap);

/* The line that best explains a failed CLI call: the last one mentioning an error, exception or
 * failure, else the last non-empty one (never the "Managed job finished" trailer); trimmed, cut
 * at a UTF-8 boundary to fit cap. */
void sky_error_line(const char *text, char *out, size_t cap);

/* 1 when s is a non-empty run of ASCII digits (a job id, a count). */
int sky_all_digits(const char *s);

/* The last `[SUMMARY] Exit code: N` of a log (N in 0..255). Returns 1 and sets *code, or 0. */
int sky_summary_exit_code(const char *text, size_t len, int *code);

/* The lines the run script (sky_task.c, remote_timeout) prints after its command failed: SkyPilot
 * reports a failed job as FAILED and never its exit code, so the script says itself whether
 * timeout(1) stopped the command (exit 124, or 137 once `-k` had to kill it after the limit). */
#define SKY_MARK "relhost-sky: "
#define SKY_MARK_TIMEOUT SKY_MARK "timeout_s reached"
#define SKY_MARK_EXIT SKY_MARK "the command exited with"

/* Whether the LAST of those lines in a log says timeout: a job that SkyPilot restarted after a
 * timed-out run ends the way its last run did. Returns 1 or 0. */
int sky_remote_timeout(const char *text, size_t len);

/* The status word of a `Managed job finished: 7 (status: SUCCEEDED).` trailer. Returns 1 or 0. */
int sky_finished_status(const char *text, size_t len, char *status, size_t cap);

/* Maps a managed-job status to the runner ABI. Returns 0 for a known status, -1 for a word this
 * runner does not know (the caller then asks `sky jobs logs` how the job ended). */
int sky_map_status(const char *status, relhost_job_state *state, relhost_job_end *end);

/* Maps the exit code of `sky jobs logs --no-follow ID`: 1 = finished (state ENDED with *end, or
 * LOST), 0 = not finished (101) or an exit code with no documented meaning. *status gets the
 * matching status word (SUCCEEDED, FAILED, CANCELLED, NOT_FOUND) for messages. */
int sky_map_logs_exit(int code, relhost_job_state *state, relhost_job_end *end,
                      const char **status);

/* Appends s as a YAML double-quoted scalar. Returns -1 when s is not valid UTF-8 (YAML cannot
 * carry arbitrary bytes), 0 otherwise. */
int sky_yaml_quote(sky_buf *b, const char *s);

/* Appends s single-quoted for a POSIX shell ('it'\''s'). */
void sky_shell_quote(sky_buf *b, const char *s);

/* Whether a YAML document (block style) has `key:` at its top level. */
int sky_yaml_has_key(const char *text, const char *key);

/* Copies a block-style YAML mapping without the top-level keys in drop (NULL-terminated) and
 * their indented blocks. Returns 0, or -1 with a reason in err for what this line-based filter
 * cannot handle safely: several documents, a flow-style or non-mapping top level, tabs. */
int sky_yaml_filter(const char *text, const char *const *drop, sky_buf *out, char *err,
                    size_t errcap);

/* ---- sky_task.c ---------------------------------------------------------------------------- */

/* What a job's task is built from: the job spec and the runner's defaults. Borrowed. */
typedef struct sky_task_in {
    const char *key; /* the idempotency key: the managed job's name */
    const char *const *argv;
    const char *const *env; /* NAME=VALUE (values may be secrets), or NAME: unset */
    const char *cwd;        /* synced as SkyPilot's workdir when sync_workdir */
    double timeout_s;       /* > 0 with remote_timeout: the command runs under timeout(1) */
    int nodes, gpus;
    const relhost_map *runner_args;
    const char *accelerators; /* runner default, or NULL */
    int use_spot;
    int max_restarts;
    int sync_workdir;
    int remote_timeout;
    const char *tmpl; /* task template text, or NULL */
} sky_task_in;

/* The task file, the flags that go between `--name KEY` and the file, and NAME=VALUE entries for
 * the CLI's own environment (read back by `--env NAME`). Free with sky_task_out_free(). */
typedef struct sky_task_out {
    sky_buf yaml;
    char **args;
    size_t nargs, cap_args;
    char **env;
    size_t nenv, cap_env;
    int oom;
} sky_task_out;

/* Builds the task. Values that may be secrets (every variable relhost did not set itself) reach
 * neither the task file nor argv: they are passed as `--env NAME` with the value in out->env.
 * Returns 0, RELHOST_EINVAL with a reason in err (an unknown runner_args key, a conflict between
 * gpus and accelerators, a value YAML cannot hold), or RELHOST_ENOMEM. */
int sky_task_build(const sky_task_in *in, sky_task_out *out, char *err, size_t errcap);
void sky_task_out_free(sky_task_out *out);

/* Appends the task's `run:` script (before YAML quoting): the argv, exec'd, or with
 * remote_timeout and a timeout_s under timeout(1) followed by the SKY_MARK_* line that says how
 * the command ended. Returns 0 or RELHOST_ENOMEM. */
int sky_run_script(const sky_task_in *in, sky_buf *b);

/* Whether the variable NAME=... would change how the sky CLI itself runs (PATH, PYTHON*, ...),
 * so that it must be written into the task instead of the CLI's environment. */
int sky_env_affects_cli(const char *entry);

/* ---- sky_local.c --------------------------------------------------------------------------- */

/* A whole file of at most max bytes (the last max bytes of a longer one), NUL-terminated, or NULL
 * (errno says why). Free with free(). */
char *sky_read_file(const char *path, size_t max, size_t *len_out);

/* Writes len bytes to path (created or truncated). 0, or -1 with errno. */
int sky_write_file(const char *path, const char *data, size_t len);

/* "<folder>/<key><suffix>": a file of the job next to its log, named by the idempotency key so
 * that find(key) can read what an earlier relhost's launch printed. NULL: out of memory. */
char *sky_job_file(const char *folder, const char *key, const char *suffix);

/* The folder of a log file ("." for a bare name). NULL: out of memory. */
char *sky_log_folder(const char *log_path);

/* A `sky jobs launch ... --name KEY` still running on this machine (an earlier relhost died
 * while launching) whose task file (its last word) is in folder: its pid, or 0. The folder tells
 * this plan's launch from another plan's with the same key. */
pid_t sky_launch_in_flight(const char *key, const char *folder);

/* The id that a launch of key printed into "<folder>/<key>.sky-launch.log". 1, or 0. */
int sky_launched_id(const char *folder, const char *key, char *id, size_t cap);

#endif
