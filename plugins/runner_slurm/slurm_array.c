/* SPDX-License-Identifier: MIT */
/*
 * slurm_array.c - validations that share a submission shape go out as Slurm job arrays.
 *
 * submit() writes the job's batch script as always (<log>.sbatch), then queues the job here and
 * answers RELHOST_EINPROGRESS: the host records it as SUBMITTING, never as submitted. The next
 * poll flushes the queue: the jobs whose sbatch options and sbatch environment are the same (a
 * matrix, repeats) are grouped, each group cut into chunks of at most the cluster's MaxArraySize
 * tasks (read once per open from `scontrol show config`) and 1 MiB of array script, and each
 * chunk is ONE `sbatch --array=0-(k-1)` of an array script (<first log>.array.sbatch) that runs
 * task i's own batch script with its output appended to its own log:
 *
 *   #rh-task 0 rh-1-t0-a1
 *   case "$SLURM_ARRAY_TASK_ID" in
 *   0) exec /bin/sh '/logs/t0.a1.log.sbatch' >>'/logs/t0.a1.log' 2>&1 ;;
 *   esac
 *
 * Paths are single-quoted: the shell interprets nothing of the plan. Task i becomes relhost's
 * job "ARRAY_i" only once sbatch accepted the array (the poll hands the id over). Re-attach by
 * key: the array's job name is its keys' common prefix followed by '*', its comment
 * "relhost-array:<array script>"; find(key) lists the user's arrays once (cached for one poll
 * interval) and reads the "#rh-task INDEX KEY" lines of the scripts whose prefix fits the key.
 * A cluster that refuses arrays (MaxArraySize 0, "Invalid job array specification", a QOS submit
 * limit) gets single submissions from then on, with a warning naming sbatch's message.
 */
#include "runner_slurm.h"
#include "../common/pl_host.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SCRIPT_MAX (1u << 20) /* bytes of one array script (sbatch's default cap is 4 MiB) */

enum { T_QUEUED, T_SUBMITTED, T_FAILED, T_CANCELLED };

struct slurm_task {
    struct slurm_task *prev, *next;
    int state, end, picked;
    char *key, *log, *script;
    struct strv shape, env; /* sbatch's options shared by an array, and its environment */
    unsigned long long hash;
    char id[257];
    char msg[128];
};

static unsigned long long hash_strv(unsigned long long h, const struct strv *v)
{
    for (size_t i = 0; i < v->n; i++) {
        for (const char *p = v->v[i]; *p; p++)
            h = (h ^ (unsigned char)*p) * 0x100000001b3ull;
        h = (h ^ 0x1f) * 0x100000001b3ull;
    }
    return h;
}

static int same_strv(const struct strv *a, const struct strv *b)
{
    if (a->n != b->n)
        return 0;
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->v[i], b->v[i]) != 0)
            return 0;
    return 1;
}

static int same_shape(const struct slurm_task *a, const struct slurm_task *b)
{
    return a->hash == b->hash && same_strv(&a->shape, &b->shape) && same_strv(&a->env, &b->env);
}

static void task_drop_spec(struct slurm_task *t)
{
    sv_free(&t->shape);
    sv_free(&t->env);
}

int slurm_task_queue(const relhost_ctx *ctx, struct runner_slurm *r, const relhost_job_spec *spec,
                     const char *script, struct strv *shape, struct strv *env, void **handle)
{
    struct slurm_task *t = calloc(1, sizeof *t);
    if (!t || !(t->key = strdup(spec->key)) || !(t->log = strdup(spec->log_path)) ||
        !(t->script = strdup(script))) {
        if (t)
            free(t->key), free(t->log);
        free(t);
        return pl_oom(ctx);
    }
    t->shape = *shape;
    t->env = *env;
    memset(shape, 0, sizeof *shape);
    memset(env, 0, sizeof *env);
    t->hash = hash_strv(hash_strv(0xcbf29ce484222325ull, &t->shape), &t->env);
    t->next = r->tasks;
    if (r->tasks)
        r->tasks->prev = t;
    r->tasks = t;
    *handle = t;
    return RELHOST_EINPROGRESS;
}

void slurm_task_release(struct runner_slurm *r, struct slurm_task *t)
{
    if (!t)
        return;
    if (t->prev)
        t->prev->next = t->next;
    else
        r->tasks = t->next;
    if (t->next)
        t->next->prev = t->prev;
    task_drop_spec(t);
    free(t->key), free(t->log), free(t->script);
    free(t);
}

void slurm_tasks_free(struct runner_slurm *r)
{
    while (r->tasks)
        slurm_task_release(r, r->tasks);
    free(r->find_list), free(r->disp_path), free(r->disp_text);
}

int slurm_task_news(const struct slurm_task *t, relhost_job_status *st)
{
    if (t->state == T_SUBMITTED) {
        snprintf(st->new_external_id, sizeof st->new_external_id, "%s", t->id);
        st->state = RELHOST_JOB_PENDING;
        return 1;
    }
    if (t->state == T_CANCELLED) {
        /* cancelled while queued: it never reached Slurm */
        st->state = RELHOST_JOB_ENDED;
        st->end = RELHOST_END_CANCELLED;
        st->exit_code = -1;
        snprintf(st->engine_state, sizeof st->engine_state, "CANCELLED");
        snprintf(st->engine_reason, sizeof st->engine_reason, "cancelled before submission");
        return 1;
    }
    if (t->state != T_FAILED)
        return 0;
    /* sbatch refused it: a tool error naming sbatch's message (retryable when transient) */
    st->state = RELHOST_JOB_ENDED;
    st->end = t->end;
    st->exit_code = -1;
    snprintf(st->engine_state, sizeof st->engine_state, "SUBMIT_FAILED");
    snprintf(st->engine_reason, sizeof st->engine_reason, "%.127s", t->msg);
    return 1;
}

int slurm_task_cancel(struct slurm_task *t, char id[257])
{
    if (t->state == T_SUBMITTED) {
        snprintf(id, 257, "%s", t->id);
        return 0;
    }
    if (t->state == T_QUEUED)
        t->state = T_CANCELLED;
    return 1;
}

/* ---- the cluster's MaxArraySize ---- */

static void no_arrays(const relhost_ctx *ctx, struct runner_slurm *r, const char *why)
{
    r->max_array = 0;
    pl_host->log(ctx, RELHOST_LOG_WARN,
                 "runner_slurm: no job arrays on this cluster (%s): one sbatch per validation "
                 "from now on (set arrays = false to say so in the plan)",
                 why);
}

/* The value of a `scontrol show config` line "Key   = value", or NULL. */
static const char *config_value(const char *out, const char *key)
{
    size_t kl = strlen(key);
    for (const char *line = out; line && *line;) {
        if (strncmp(line, key, kl) == 0 && (line[kl] == ' ' || line[kl] == '=')) {
            const char *eq = strchr(line, '=');
            const char *nl = strchr(line, '\n');
            return eq && (!nl || eq < nl) ? eq + 1 : NULL;
        }
        line = strchr(line, '\n');
        line = line ? line + 1 : NULL;
    }
    return NULL;
}

static void read_max_array(const relhost_ctx *ctx, struct runner_slurm *r)
{
    struct strv argv = {0};
    relhost_proc_result res;
    const char *p;
    char msg[512];
    sv_add(&argv, r->conf->scontrol);
    sv_add(&argv, "show");
    sv_add(&argv, "config");
    if (slurm_run_argv(ctx, r, &argv, &res) != 0) {
        no_arrays(ctx, r, "scontrol show config could not run");
        return;
    }
    if (!(res.exited && res.exit_code == 0)) {
        slurm_tool_message(&res, msg, sizeof msg);
        char why[600];
        snprintf(why, sizeof why, "scontrol show config failed: %s", msg);
        no_arrays(ctx, r, why);
    } else if ((p = config_value(res.out, "MaxArraySize")) != NULL) {
        long v = strtol(p, NULL, 10);
        r->max_array = v > 1 ? v : 0; /* MaxArraySize is the largest index + 1 */
        if (v <= 1)
            no_arrays(ctx, r, "its MaxArraySize is 0 or 1");
    } else {
        no_arrays(ctx, r, "scontrol show config names no MaxArraySize");
    }
    pl_host->proc_result_free(&res);
}

/* ---- one array ---- */

/* The keys' common prefix and '*': the array's job name. */
static void array_name(struct slurm_task *const *t, size_t k, char *out, size_t cap)
{
    size_t n = strlen(t[0]->key);
    for (size_t i = 1; i < k; i++) {
        size_t j = 0;
        while (j < n && t[i]->key[j] == t[0]->key[j])
            j++;
        n = j;
    }
    snprintf(out, cap, "%.*s*", (int)(n < cap - 2 ? n : cap - 2), t[0]->key);
}

static int write_array_script(const relhost_ctx *ctx, struct slurm_task *const *t, size_t k,
                              const char *path)
{
    struct sbuf b = {0};
    char num[32];
    int rc;
    sb_str(&b, "#!/bin/sh\n# relhost runner_slurm: a job array. Task I runs the batch script of "
               "the job whose key\n# its \"#rh-task I KEY\" line names, its output appended to "
               "that job's log.\n");
    for (size_t i = 0; i < k; i++) {
        snprintf(num, sizeof num, "%zu", i);
        sb_str(&b, "#rh-task "), sb_str(&b, num), sb_str(&b, " "), sb_str(&b, t[i]->key);
        sb_str(&b, "\n");
    }
    sb_str(&b, "case \"$SLURM_ARRAY_TASK_ID\" in\n");
    for (size_t i = 0; i < k; i++) {
        snprintf(num, sizeof num, "%zu", i);
        sb_str(&b, num), sb_str(&b, ") exec /bin/sh "), sb_shq(&b, t[i]->script);
        sb_str(&b, " >>"), sb_shq(&b, t[i]->log), sb_str(&b, " 2>&1 ;;\n");
    }
    sb_str(&b, "*) echo \"relhost: no task $SLURM_ARRAY_TASK_ID in this array\" >&2; exit 126 "
               ";;\nesac\n");
    if (b.oom) {
        free(b.s);
        return pl_oom(ctx);
    }
    rc = slurm_write_file(ctx, path, &b);
    free(b.s);
    return rc;
}

/* sbatch's own words that say the cluster takes no arrays (not this array's fault). */
static int refuses_arrays(const char *msg)
{
    return strstr(msg, "Invalid job array specification") ||
           strstr(msg, "QOSMaxSubmitJobPerUserLimit") || strstr(msg, "MaxArraySize") ||
           strstr(msg, "job array");
}

static void fail_all(struct slurm_task *const *t, size_t k, int end, const char *msg)
{
    for (size_t i = 0; i < k; i++) {
        t[i]->state = T_FAILED;
        t[i]->end = end;
        snprintf(t[i]->msg, sizeof t[i]->msg, "%.127s", msg);
        task_drop_spec(t[i]);
    }
}

static void accept_all(struct slurm_task *const *t, size_t k, const char *array_id)
{
    char num[32], cluster[200];
    if (slurm_split_id(array_id, num, sizeof num, cluster, sizeof cluster) != 0)
        return;
    num[strcspn(num, "_")] = '\0';
    for (size_t i = 0; i < k; i++) {
        snprintf(t[i]->id, sizeof t[i]->id, "%s_%zu%s%s", num, i, cluster[0] ? ";" : "", cluster);
        t[i]->state = T_SUBMITTED;
        task_drop_spec(t[i]);
    }
}

/* The --output of the array: <first log>.array-%A_%a.out, for what Slurm itself writes (each
 * task's own output goes to its own log). */
static void array_output(struct strv *argv, const char *path)
{
    struct sbuf b = {0};
    sb_str(&b, "--output=");
    for (const char *p = path; *p; p++) {
        if (*p == '%')
            sb_add(&b, "%", 1); /* sbatch's "%%" is a '%' */
        sb_add(&b, p, 1);
    }
    sb_str(&b, "-%A_%a.out");
    sv_take(argv, b.oom ? (free(b.s), NULL) : b.s);
}

/* One sbatch --array for t[0..k): 0 (each task accepted or failed), 1 when the cluster refused
 * arrays (the tasks stay queued), or the host's error (EINTR...: they stay queued). */
static int submit_array(const relhost_ctx *ctx, struct runner_slurm *r, struct slurm_task **t,
                        size_t k)
{
    struct strv argv = {0};
    relhost_proc_result res;
    char path[4200], name[200], id[257], msg[1024], *abs;
    int rc;

    if (snprintf(path, sizeof path, "%s.array.sbatch", t[0]->log) >= (int)sizeof path ||
        write_array_script(ctx, t, k, path) != 0) {
        snprintf(msg, sizeof msg, "cannot write the job array's script %.900s (see the log)", path);
        pl_host->log(ctx, RELHOST_LOG_ERROR, "runner_slurm: %s", msg);
        fail_all(t, k, RELHOST_END_EXEC_FAILED, msg);
        return 0;
    }
    abs = realpath(path, NULL);
    array_name(t, k, name, sizeof name);
    sv_add(&argv, r->conf->sbatch);
    sv_add(&argv, "--parsable");
    sv_fmt(&argv, "--job-name=%s", name);
    sv_fmt(&argv, "--comment=relhost-array:%s", abs ? abs : path);
    array_output(&argv, path);
    sv_add(&argv, "--open-mode=append");
    sv_fmt(&argv, "--array=0-%zu", k - 1);
    for (size_t i = 0; i < t[0]->shape.n; i++)
        sv_add(&argv, t[0]->shape.v[i]);
    sv_add(&argv, abs ? abs : path);
    free(abs);
    if ((rc = slurm_run_env(ctx, r, &argv, &t[0]->env, &res)) != 0)
        return rc;
    if (res.exited && res.exit_code == 0 && res.out && slurm_parse_submit(res.out, id) == 0) {
        accept_all(t, k, id);
        pl_host->proc_result_free(&res);
        return 0;
    }
    slurm_tool_message(&res, msg, sizeof msg);
    if (!res.exec_failed && refuses_arrays(msg)) {
        pl_host->proc_result_free(&res);
        no_arrays(ctx, r, msg);
        return 1;
    }
    /* A timed-out submission may have been accepted: look before failing (retryable). */
    rc = res.exited && res.exit_code == 0 ? 1 : res.exec_failed ? 0 : slurm_transient(&res);
    pl_host->proc_result_free(&res);
    r->find_list_t = 0; /* a fresh listing */
    if (rc && slurm_array_find(ctx, r, t[0]->key, id) == 0) {
        pl_host->log(ctx, RELHOST_LOG_WARN, "sbatch --array for %s... failed (%s) but Slurm has it",
                     t[0]->key, msg);
        accept_all(t, k, id);
        return 0;
    }
    char note[1100];
    snprintf(note, sizeof note, "sbatch --array failed: %s", msg);
    fail_all(t, k, rc ? RELHOST_END_INFRA : RELHOST_END_EXEC_FAILED, note);
    return 0;
}

/* One job on its own. 0, or the host's error (EINTR: it stays queued). */
static int submit_single(const relhost_ctx *ctx, struct runner_slurm *r, struct slurm_task *t)
{
    char msg[1300];
    int rc = slurm_submit_one(ctx, r, t->key, t->log, t->script, &t->shape, &t->env, t->id, msg,
                              sizeof msg);
    if (rc == RELHOST_EINTR)
        return rc;
    if (rc == 0) {
        t->state = T_SUBMITTED;
        task_drop_spec(t);
    } else {
        fail_all(&t, 1, rc == RELHOST_ERETRY ? RELHOST_END_INFRA : RELHOST_END_EXEC_FAILED,
                 msg[0] ? msg : "sbatch failed");
    }
    return 0;
}

/* The tasks of q (k of them, one shape) in chunks: arrays while the cluster takes them. */
static int submit_group(const relhost_ctx *ctx, struct runner_slurm *r, struct slurm_task **q,
                        size_t k)
{
    size_t i = 0;
    while (i < k) {
        size_t n = 0, bytes = 512;
        int rc;
        while (i + n < k && (long)n < r->max_array && bytes < SCRIPT_MAX) {
            bytes += strlen(q[i + n]->script) + strlen(q[i + n]->log) + strlen(q[i + n]->key) + 64;
            n++;
        }
        if (n >= 2 && r->max_array > 1) {
            rc = submit_array(ctx, r, q + i, n);
            if (rc == 1)
                continue; /* refused: the same tasks on their own */
        } else {
            n = 1;
            rc = submit_single(ctx, r, q[i]);
        }
        if (rc != 0)
            return rc;
        i += n;
    }
    return 0;
}

void slurm_flush(const relhost_ctx *ctx, struct runner_slurm *r)
{
    struct slurm_task **q, **g, *t;
    size_t n = 0;
    for (t = r->tasks; t; t = t->next)
        n += t->state == T_QUEUED;
    if (!n)
        return;
    q = calloc(n, sizeof *q);
    g = calloc(n, sizeof *g);
    if (!q || !g) {
        free(q), free(g);
        return; /* out of memory: they stay queued for the next poll */
    }
    n = 0;
    for (t = r->tasks; t; t = t->next)
        if (t->state == T_QUEUED) {
            t->picked = 0;
            q[n++] = t;
        }
    /* the list is newest first: submission order is oldest first */
    for (size_t i = 0; i < n / 2; i++)
        t = q[i], q[i] = q[n - 1 - i], q[n - 1 - i] = t;
    if (r->max_array < 0)
        read_max_array(ctx, r);
    for (size_t i = 0; i < n; i++) {
        size_t k = 0;
        if (q[i]->picked)
            continue;
        for (size_t j = i; j < n; j++)
            if (!q[j]->picked && same_shape(q[i], q[j])) {
                q[j]->picked = 1;
                g[k++] = q[j];
            }
        if (submit_group(ctx, r, g, k) != 0)
            break; /* interrupted, or out of descriptors: the rest waits for the next poll */
    }
    free(q), free(g);
}

/* ---- find by key ---- */

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The user's jobs as "ARRAYID|NAME|COMMENT" lines, listed at most once per poll interval. */
static int array_listing(const relhost_ctx *ctx, struct runner_slurm *r)
{
    struct strv argv = {0};
    relhost_proc_result res;
    char msg[512];
    int rc;
    if (r->find_list && r->find_list_t > 0 && mono() - r->find_list_t < r->conf->poll_interval)
        return 0;
    slurm_tool_head(&argv, r->conf->squeue, NULL);
    sv_add(&argv, "--me");
    sv_add(&argv, "-h");
    sv_add(&argv, "-t");
    sv_add(&argv, "all");
    sv_add(&argv, "-o");
    sv_add(&argv, "%A|%j|%k");
    if ((rc = slurm_run_argv(ctx, r, &argv, &res)) != 0)
        return rc;
    if (!res.exited || res.exit_code != 0 || res.truncated) {
        slurm_tool_message(&res, msg, sizeof msg);
        pl_host->fail(ctx, "squeue listing the job arrays failed: %s", msg);
        pl_host->proc_result_free(&res);
        return RELHOST_EIO; /* not ENOTFOUND: we do not know, so nothing may be resubmitted */
    }
    free(r->find_list);
    r->find_list = res.out ? res.out : strdup("");
    res.out = NULL;
    r->find_list_t = mono();
    pl_host->proc_result_free(&res);
    return r->find_list ? 0 : pl_oom(ctx);
}

/* The index of key in the array script at path, or -1 (unreadable files count as not there). */
static long task_index(struct runner_slurm *r, const char *path, const char *key)
{
    char needle[400];
    const char *p;
    if (!r->disp_path || strcmp(r->disp_path, path) != 0) {
        FILE *f = fopen(path, "re");
        struct sbuf b = {0};
        char buf[65536];
        size_t got;
        free(r->disp_path), free(r->disp_text);
        r->disp_path = strdup(path);
        while (f && (got = fread(buf, 1, sizeof buf, f)) > 0)
            sb_add(&b, buf, got);
        if (f)
            fclose(f);
        r->disp_text = b.oom ? (free(b.s), NULL) : b.s;
    }
    snprintf(needle, sizeof needle, " %s\n", key);
    for (p = r->disp_text; p && (p = strstr(p, needle)) != NULL; p++) {
        const char *ls = p;
        while (ls > r->disp_text && ls[-1] != '\n')
            ls--;
        if (strncmp(ls, "#rh-task ", 9) == 0)
            return strtol(ls + 9, NULL, 10);
    }
    return -1;
}

int slurm_array_find(const relhost_ctx *ctx, struct runner_slurm *r, const char *key, char id[257])
{
    static const char tag[] = "relhost-array:";
    unsigned long long best = 0;
    long best_idx = -1;
    int rc = array_listing(ctx, r);
    if (rc != 0)
        return rc;
    for (const char *line = r->find_list; *line;) {
        const char *end = strchr(line, '\n'), *b1, *b2;
        size_t len = end ? (size_t)(end - line) : strlen(line);
        char *e, path[PATH_MAX];
        unsigned long long a = strtoull(line, &e, 10);
        b1 = memchr(line, '|', len);
        b2 = b1 ? memchr(b1 + 1, '|', len - (size_t)(b1 + 1 - line)) : NULL;
        /* NAME is the keys' common prefix and '*'; COMMENT names the array script */
        if (b2 && e == b1 && a > best && b2 > b1 + 1 && b2[-1] == '*' &&
            strncmp(key, b1 + 1, (size_t)(b2 - b1 - 2)) == 0 &&
            (size_t)(line + len - b2 - 1) > sizeof tag - 1 &&
            strncmp(b2 + 1, tag, sizeof tag - 1) == 0 &&
            (size_t)(line + len - b2) - sizeof tag < sizeof path) {
            long i;
            snprintf(path, sizeof path, "%.*s", (int)(line + len - b2 - sizeof tag),
                     b2 + sizeof tag);
            if ((i = task_index(r, path, key)) >= 0)
                best = a, best_idx = i;
        }
        if (!end)
            break;
        line = end + 1;
    }
    if (!best)
        return RELHOST_ENOTFOUND;
    snprintf(id, 257, "%llu_%ld", best, best_idx);
    return 0;
}
