/* SPDX-License-Identifier: MIT */
/*
 * slurm_script.c - what a Slurm job is made of: the batch script written next to the job's log,
 * the environment sbatch runs with, and sbatch's --output pattern.
 *
 * Values never meet a shell unquoted: each is single-quoted in the script. Variables handed over
 * from relhost's own environment (pass_env, i.e. secrets) are not written into the script at all:
 * they ride in sbatch's environment, which --export=ALL carries to the job. Nothing else of
 * relhost's environment is given to sbatch (so to a job) than PATH, HOME, sbatch's own SLURM_* /
 * SBATCH_* settings and the export_env names.
 */
#include "runner_slurm.h"
#include "../common/pl_host.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

/* ---- owned buffers ---- */

void sb_add(struct sbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        char *p;
        while (cap < b->len + n + 1)
            cap *= 2;
        p = realloc(b->s, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->s = p;
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

void sb_str(struct sbuf *b, const char *s) { sb_add(b, s, strlen(s)); }

/* A word for sh: single quotes, each ' written as '\'' (nothing inside '' is special). */
void sb_shq(struct sbuf *b, const char *s)
{
    sb_add(b, "'", 1);
    for (const char *p = s; *p; p++) {
        if (*p == '\'')
            sb_add(b, "'\\''", 4);
        else
            sb_add(b, p, 1);
    }
    sb_add(b, "'", 1);
}

void sv_take(struct strv *a, char *s)
{
    if (!s || a->oom) {
        a->oom = 1;
        free(s);
        return;
    }
    if (a->n + 2 > a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 16;
        char **p = realloc(a->v, cap * sizeof *p);
        if (!p) {
            a->oom = 1;
            free(s);
            return;
        }
        a->v = p;
        a->cap = cap;
    }
    a->v[a->n++] = s;
    a->v[a->n] = NULL;
}

void sv_add(struct strv *a, const char *s) { sv_take(a, s ? strdup(s) : NULL); }

void sv_fmt(struct strv *a, const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n >= 0 && (s = malloc((size_t)n + 1)) != NULL) {
        va_start(ap, fmt);
        vsnprintf(s, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    sv_take(a, s);
}

void sv_free(struct strv *a)
{
    for (size_t i = 0; i < a->n; i++)
        free(a->v[i]);
    free(a->v);
    memset(a, 0, sizeof *a);
}

/* ---- the environment ---- */

static int shell_name(const char *s, size_t len)
{
    if (len == 0 || (s[0] >= '0' && s[0] <= '9'))
        return 0;
    for (size_t i = 0; i < len; i++) {
        char ch = s[i];
        if (!(ch == '_' || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
              (ch >= '0' && ch <= '9')))
            return 0;
    }
    return 1;
}

/* An entry of spec->env whose value relhost itself holds under that name came from relhost's
 * environment (pass_env): it travels through sbatch's environment, never into the script. So do
 * names sh cannot export (Slurm's environment propagation can). */
static int handed_over(const char *entry, const char **eq_out)
{
    const char *eq = strchr(entry, '=');
    char name[256];
    const char *mine;
    *eq_out = eq;
    if (!eq || (size_t)(eq - entry) >= sizeof name || !shell_name(entry, (size_t)(eq - entry)))
        return 1;
    memcpy(name, entry, (size_t)(eq - entry));
    name[eq - entry] = '\0';
    mine = getenv(name);
    return mine && strcmp(mine, eq + 1) == 0;
}

static int exported(const struct runner_slurm_conf *c, const char *entry)
{
    const char *eq = strchr(entry, '=');
    size_t len = eq ? (size_t)(eq - entry) : strlen(entry);
    if (len >= 8 && memcmp(entry, "RELHOST_", 8) == 0)
        return 0; /* relhost's own settings (plugin path, crash points) are not the job's */
    if ((len >= 6 && memcmp(entry, "SLURM_", 6) == 0) ||
        (len >= 7 && memcmp(entry, "SBATCH_", 7) == 0))
        return 1; /* sbatch's own configuration (SLURM_CONF, SBATCH_PARTITION...) */
    for (size_t i = 0; i < c->export_env.n; i++) {
        const char *pat = c->export_env.v[i];
        size_t pl = strlen(pat);
        if (pl && pat[pl - 1] == '*') {
            if (len >= pl - 1 && memcmp(entry, pat, pl - 1) == 0)
                return 1;
        } else if (pl == len && memcmp(entry, pat, len) == 0) {
            return 1;
        }
    }
    return 0;
}

/* A sealed variable (a secret) is never exported by a pattern, "*" included: only a
 * validation's pass_env hands one over. */
static int sealed(const relhost_ctx *ctx, const char *entry)
{
    const char *eq = strchr(entry, '=');
    char name[256];
    size_t len = eq ? (size_t)(eq - entry) : strlen(entry);
    if (len >= sizeof name)
        return 1; /* no name that long is worth the risk */
    memcpy(name, entry, len);
    name[len] = '\0';
    return pl_host->sealed(ctx, name);
}

void slurm_sbatch_env(const relhost_ctx *ctx, const struct runner_slurm_conf *c,
                      const relhost_job_spec *spec, struct strv *env)
{
    for (char **e = environ; e && *e; e++)
        if (exported(c, *e) && !sealed(ctx, *e))
            sv_add(env, *e);
    for (size_t i = 0; spec->env && spec->env[i]; i++) {
        const char *eq;
        if (handed_over(spec->env[i], &eq) && eq)
            sv_add(env, spec->env[i]);
    }
}

/* ---- the script ---- */

static int write_all(const relhost_ctx *ctx, const char *path, const struct sbuf *b)
{
    int fd, rc = 0;
    size_t off = 0;
    /* O_EXCL on a fresh name: never an old file's wider permissions, never a symlink. */
    unlink(path);
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0700);
    if (fd < 0) {
        pl_host->fail(ctx, "cannot create the batch script %s: %s", path, strerror(errno));
        return RELHOST_EIO;
    }
    while (off < b->len) {
        ssize_t w = write(fd, b->s + off, b->len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            pl_host->fail(ctx, "cannot write the batch script %s: %s", path,
                          w < 0 ? strerror(errno) : "short write");
            rc = RELHOST_EIO;
            break;
        }
        off += (size_t)w;
    }
    if (close(fd) != 0 && rc == 0) {
        pl_host->fail(ctx, "cannot write the batch script %s: %s", path, strerror(errno));
        rc = RELHOST_EIO;
    }
    return rc;
}

int slurm_write_script(const relhost_ctx *ctx, const relhost_job_spec *spec, const char *path)
{
    struct sbuf b = {0};
    int rc;

    sb_str(&b, "#!/bin/sh\n# relhost runner_slurm: job ");
    sb_str(&b, spec->key);
    sb_str(&b, ". Generated; sbatch keeps its own copy.\n"
               "# Variables handed over from relhost's environment (pass_env) are not written\n"
               "# here: they come through sbatch's environment (--export=ALL).\n");
    for (size_t i = 0; spec->env && spec->env[i]; i++) {
        const char *eq;
        if (handed_over(spec->env[i], &eq))
            continue;
        sb_str(&b, "export ");
        sb_add(&b, spec->env[i], (size_t)(eq - spec->env[i]));
        sb_add(&b, "=", 1);
        sb_shq(&b, eq + 1);
        sb_add(&b, "\n", 1);
    }
    if (spec->cwd) {
        sb_str(&b, "cd -- ");
        sb_shq(&b, spec->cwd);
        sb_str(&b, " || { echo \"relhost: cannot enter the job's folder\" >&2; exit 126; }\n");
    }
    /* exec: the command's exit status is the job's, and Slurm signals the command itself. */
    sb_str(&b, "exec");
    for (size_t i = 0; spec->argv[i]; i++) {
        sb_add(&b, " ", 1);
        sb_shq(&b, spec->argv[i]);
    }
    sb_add(&b, "\n", 1);
    if (b.oom) {
        free(b.s);
        pl_host->fail(ctx, "out of memory writing the batch script of %s", spec->key);
        return RELHOST_ENOMEM;
    }
    rc = slurm_write_file(ctx, path, &b);
    free(b.s);
    return rc;
}

int slurm_write_file(const relhost_ctx *ctx, const char *path, const struct sbuf *b)
{
    char tmp[4200];
    int rc;
    if (snprintf(tmp, sizeof tmp, "%s.tmp%ld", path, (long)getpid()) >= (int)sizeof tmp) {
        pl_host->fail(ctx, "log path too long for the batch script: %s", path);
        return RELHOST_EINVAL;
    }
    /* Written aside and renamed: sbatch never reads a half-written script. */
    rc = write_all(ctx, tmp, b);
    if (rc == 0 && rename(tmp, path) != 0) {
        pl_host->fail(ctx, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
        rc = RELHOST_EIO;
    }
    if (rc != 0)
        unlink(tmp);
    return rc;
}

int slurm_output_arg(const relhost_ctx *ctx, const char *log_path, struct strv *argv)
{
    struct sbuf b = {0};
    if (strchr(log_path, '\\')) {
        pl_host->fail(ctx,
                      "the log path %s holds a backslash, which sbatch --output would drop: "
                      "choose a log_dir without one",
                      log_path);
        return RELHOST_EINVAL;
    }
    sb_str(&b, "--output=");
    for (const char *p = log_path; *p; p++) {
        if (*p == '%')
            sb_add(&b, "%", 1);
        sb_add(&b, p, 1);
    }
    if (b.oom) {
        free(b.s);
        sv_take(argv, NULL);
        return RELHOST_ENOMEM;
    }
    sv_take(argv, b.s);
    return 0;
}
