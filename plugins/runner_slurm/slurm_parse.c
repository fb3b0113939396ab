/* SPDX-License-Identifier: MIT */
/*
 * slurm_parse.c - what Slurm 22.05's tools print, read: job ids, error messages, which errors
 * are worth another try, `scontrol show job -o` fields, and how a job's end in Slurm becomes a
 * relhost job end (the table in README.md).
 */
#include "runner_slurm.h"

#include <stdio.h>
#include <string.h>

int slurm_split_id(const char *ext, char *num, size_t ncap, char *cluster, size_t ccap)
{
    size_t n = 0;
    while (ext[n] >= '0' && ext[n] <= '9')
        n++;
    if (n > 0 && ext[n] == '_' && ext[n + 1] >= '0' && ext[n + 1] <= '9') {
        n++; /* an array task: "123_4" */
        while (ext[n] >= '0' && ext[n] <= '9')
            n++;
    }
    if (n == 0 || n >= ncap || (ext[n] && ext[n] != ';'))
        return -1;
    memcpy(num, ext, n);
    num[n] = '\0';
    if (snprintf(cluster, ccap, "%s", ext[n] == ';' ? ext + n + 1 : "") >= (int)ccap)
        return -1;
    /* The cluster becomes one argv item of -M; a list or a blank is no cluster name. */
    if ((ext[n] == ';' && !cluster[0]) || strpbrk(cluster, " \t\r\n,"))
        return -1;
    return 0;
}

unsigned long long slurm_id_key(const char *s, const char *end, char stop)
{
    unsigned long long v = 0, t = 0;
    const char *p = s;
    while (p < end && *p >= '0' && *p <= '9' && v < (1ull << 40))
        v = v * 10 + (unsigned long long)(*p++ - '0');
    if (p == s || v >= (1ull << 40))
        return 0;
    if (p < end && *p == '_') {
        const char *q = ++p;
        while (p < end && *p >= '0' && *p <= '9' && t < (1ull << 22))
            t = t * 10 + (unsigned long long)(*p++ - '0');
        if (p == q || t >= (1ull << 22))
            return 0; /* "123_[4-9]": pending tasks squeue -r would list one by one */
        t++;
    }
    if (stop ? (p >= end || *p != stop) : p != end)
        return 0;
    return (v << 23) | t;
}

int slurm_parse_submit(const char *out, char id[257])
{
    /* A site's wrapper or cli_filter may print more lines around the id. */
    for (const char *p = out; *p;) {
        char line[257], num[32], cluster[200];
        size_t n = strcspn(p, "\r\n");
        if (n > 0 && n < sizeof line) {
            memcpy(line, p, n);
            line[n] = '\0';
            if (slurm_split_id(line, num, sizeof num, cluster, sizeof cluster) == 0) {
                snprintf(id, 257, "%s", line);
                return 0;
            }
        }
        p += n;
        p += strspn(p, "\r\n");
    }
    return -1;
}

/* Where a Slurm message line says what went wrong ("sbatch: error: X", "sinfo: fatal: X"). */
static const char *message_start(const char *line, size_t len)
{
    const char *e = memmem(line, len, "error: ", 7);
    if (!e)
        e = memmem(line, len, "fatal: ", 7);
    return e ? e + 7 : NULL;
}

void slurm_tool_message(const relhost_proc_result *res, char *out, size_t cap)
{
    const char *text = res->err && res->err[0] ? res->err : (res->out ? res->out : "");
    size_t used = 0;
    int errors_only = 0;
    out[0] = '\0';
    for (const char *line = text; *line && !errors_only;) {
        size_t len = strcspn(line, "\n");
        errors_only = message_start(line, len) != NULL;
        line += len + (line[len] == '\n');
    }
    for (const char *line = text; *line && used + 1 < cap;) {
        size_t len = strcspn(line, "\n");
        const char *from = errors_only ? message_start(line, len) : line;
        if (from && line + len > from) {
            int n = snprintf(out + used, cap - used, "%s%.*s", used ? "; " : "",
                             (int)(len - (size_t)(from - line)), from);
            if (n < 0)
                break;
            used += (size_t)n < cap - used ? (size_t)n : cap - used - 1;
            if (!errors_only)
                break;
        }
        line += len + (line[len] == '\n');
    }
    if (res->timed_out) {
        size_t n = strlen(out);
        snprintf(out + n, cap - n, "%sno answer within the command timeout", n ? "; " : "");
    } else if (!out[0]) {
        if (res->signal)
            snprintf(out, cap, "killed by signal %d", res->signal);
        else
            snprintf(out, cap, "exit code %d and no message", res->exit_code);
    }
}

int slurm_transient(const relhost_proc_result *res)
{
    static const char *const words[] = {"Socket timed out",
                                        "Resource temporarily unavailable",
                                        "Unable to contact slurm controller",
                                        "Connection refused",
                                        "Connection timed out",
                                        "Zero Bytes were transmitted",
                                        "temporarily unable to accept job",
                                        "Communication connection failure",
                                        "backup controller in standby",
                                        "Transport endpoint",
                                        "Slurmctld is not responding",
                                        "submit limit",
                                        NULL};
    const char *text = res->err ? res->err : "";
    if (res->timed_out || res->signal)
        return 1;
    for (size_t i = 0; words[i]; i++)
        if (strstr(text, words[i]))
            return 1;
    return 0;
}

int slurm_kv_get(const char *line, const char *key, char *out, size_t cap)
{
    size_t kl = strlen(key);
    for (const char *p = line; (p = strstr(p, key)) != NULL; p += kl) {
        if ((p == line || p[-1] == ' ') && p[kl] == '=') {
            const char *v = p + kl + 1;
            size_t n = strcspn(v, " \n");
            snprintf(out, cap, "%.*s", (int)n, v);
            return 0;
        }
    }
    return -1;
}

static int word_in(const char *w, const char *const *t)
{
    for (size_t i = 0; t[i]; i++)
        if (strcmp(w, t[i]) == 0)
            return 1;
    return 0;
}

int slurm_terminal_state(const char *word)
{
    static const char *const t[] = {"COMPLETED", "FAILED",       "TIMEOUT",   "CANCELLED",
                                    "NODE_FAIL", "PREEMPTED",    "BOOT_FAIL", "OUT_OF_MEMORY",
                                    "DEADLINE",  "SPECIAL_EXIT", "REVOKED",   NULL};
    return word_in(word, t);
}

int slurm_pending_state(const char *word)
{
    static const char *const t[] = {"PENDING",     "CONFIGURING",   "REQUEUE_HOLD",
                                    "REQUEUE_FED", "RESV_DEL_HOLD", NULL};
    return word_in(word, t);
}

void slurm_set_word(char *dst, size_t cap, const char *word)
{
    int none = strcmp(word, "None") == 0 || strcmp(word, "(null)") == 0;
    snprintf(dst, cap, "%s", none ? "" : word);
}

void slurm_map_end(const char *state, int code, int sig, int restarts, relhost_job_status *st)
{
    st->state = RELHOST_JOB_ENDED;
    st->exit_code = code;
    st->signal = 0;
    st->restarts = restarts;
    slurm_set_word(st->engine_state, sizeof st->engine_state, state);
    if (strcmp(state, "COMPLETED") == 0) {
        st->end = RELHOST_END_EXITED;
        st->exit_code = code >= 0 ? code : 0;
    } else if (strcmp(state, "FAILED") == 0 || strcmp(state, "SPECIAL_EXIT") == 0) {
        if (sig > 0) {
            st->end = RELHOST_END_SIGNALED;
            st->signal = sig;
        } else if (code > 0) {
            st->end = RELHOST_END_EXITED;
        } else {
            /* Slurm says it failed but names no code (a launch failure, or the job was purged
             * before scontrol could tell): a tool error, never a pass. */
            st->end = RELHOST_END_INFRA;
        }
    } else if (strcmp(state, "TIMEOUT") == 0 || strcmp(state, "DEADLINE") == 0) {
        st->end = RELHOST_END_TIMEOUT;
        st->exit_code = 124;
    } else if (strcmp(state, "CANCELLED") == 0) {
        st->end = RELHOST_END_CANCELLED;
        st->signal = sig;
        st->exit_code = -1;
    } else if (strcmp(state, "OUT_OF_MEMORY") == 0) {
        /* The tested program outgrew its memory: a verdict (FAILED, killed), not an infra
         * error. Slurm reports 0:125 (its own marker, not a signal): call it SIGKILL, which is
         * what the kernel's OOM killer sends. */
        st->end = RELHOST_END_SIGNALED;
        st->signal = sig > 0 && sig < 65 ? sig : 9;
    } else {
        /* NODE_FAIL, PREEMPTED, BOOT_FAIL, REVOKED: the machine failed, not the thing tested. */
        st->end = RELHOST_END_INFRA;
    }
    if (st->end == RELHOST_END_INFRA || st->end == RELHOST_END_SIGNALED)
        st->exit_code = -1; /* "0:0" of a failed node is no exit code */
}
