/* SPDX-License-Identifier: MIT */
/*
 * sky_task.c - the SkyPilot task of one job: a YAML file (name, num_nodes, workdir, resources,
 * envs, run) plus the flags of `sky jobs launch`, optionally on top of a task template.
 *
 * Secrets: relhost cannot tell a pass_env value (a secret) from a plan `env` value (not one) in
 * the job spec, so every variable relhost did not set itself is treated as a secret: it is
 * passed as `--env NAME` and its value reaches the CLI through the CLI's own environment, so it
 * is never written to the task file on disk nor shown in argv (ps, relhost -v). The exceptions
 * are names that would change how the CLI itself runs (PATH, PYTHONPATH...): those go into the
 * task, as the job's configuration.
 */
#include "runner_skypilot.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int vpush(char ***v, size_t *n, size_t *cap, const char *fmt, va_list ap)
{
    va_list ap2;
    int len;
    char *s;
    va_copy(ap2, ap);
    len = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (len < 0 || !(s = malloc((size_t)len + 1)))
        return RELHOST_ENOMEM;
    vsnprintf(s, (size_t)len + 1, fmt, ap);
    if (*n + 2 > *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        char **nv = realloc(*v, nc * sizeof *nv);
        if (!nv) {
            free(s);
            return RELHOST_ENOMEM;
        }
        *v = nv;
        *cap = nc;
    }
    (*v)[(*n)++] = s;
    (*v)[*n] = NULL;
    return 0;
}

/* Which of the task's lists add() appends to. */
enum sky_list { SKY_ARGS, SKY_ENV };

static int add(sky_task_out *o, enum sky_list to, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int add(sky_task_out *o, enum sky_list to, const char *fmt, ...)
{
    va_list ap;
    int rc;
    va_start(ap, fmt);
    if (to == SKY_ENV)
        rc = vpush(&o->env, &o->nenv, &o->cap_env, fmt, ap);
    else
        rc = vpush(&o->args, &o->nargs, &o->cap_args, fmt, ap);
    va_end(ap);
    o->oom |= rc != 0;
    return rc;
}

void sky_task_out_free(sky_task_out *o)
{
    for (size_t i = 0; i < o->nargs; i++)
        free(o->args[i]);
    for (size_t i = 0; i < o->nenv; i++)
        free(o->env[i]);
    free(o->args);
    free(o->env);
    sky_buf_free(&o->yaml);
    memset(o, 0, sizeof *o);
}

static int name_is(const char *entry, const char *name)
{
    size_t n = strlen(name);
    return strncmp(entry, name, n) == 0 && entry[n] == '=';
}

static int name_has_prefix(const char *entry, const char *prefix)
{
    return strncmp(entry, prefix, strlen(prefix)) == 0;
}

int sky_env_affects_cli(const char *e)
{
    static const char *const exact[] = {"PATH", "HOME", "SHELL", "TMPDIR", "VIRTUAL_ENV", NULL};
    static const char *const prefix[] = {"LD_", "PYTHON", "CONDA_", "SKYPILOT_", NULL};
    for (size_t i = 0; exact[i]; i++)
        if (name_is(e, exact[i]))
            return 1;
    for (size_t i = 0; prefix[i]; i++)
        if (name_has_prefix(e, prefix[i]))
            return 1;
    return 0;
}

static int valid_env_name(const char *e, size_t n)
{
    if (n == 0 || !(isalpha((unsigned char)e[0]) || e[0] == '_'))
        return 0;
    for (size_t i = 1; i < n; i++)
        if (!(isalnum((unsigned char)e[i]) || e[i] == '_'))
            return 0;
    return 1;
}

/* The same NAME twice (plan env and pass_env, or a "NAME" that unsets it): the later entry
 * wins, as in the host's spawn. */
static int later_has(const char *const *env, size_t from, const char *e, size_t n)
{
    for (size_t i = from; env[i]; i++)
        if (strncmp(env[i], e, n) == 0 && (env[i][n] == '=' || env[i][n] == '\0'))
            return 1;
    return 0;
}

static int parse_bool(const char *s, int *out)
{
    if (!strcmp(s, "true") || !strcmp(s, "yes") || !strcmp(s, "1")) {
        *out = 1;
        return 0;
    }
    if (!strcmp(s, "false") || !strcmp(s, "no") || !strcmp(s, "0")) {
        *out = 0;
        return 0;
    }
    return -1;
}

/* Resource settings a validation may give in runner_args, with their `sky jobs launch` flag
 * (used when a task template brings its own resources block). */
static const struct res_key {
    const char *name, *flag;
    int whole_number;
} res_keys[] = {
    {"cpus", "--cpus", 0},   {"memory", "--memory", 0}, {"disk_size", "--disk-size", 1},
    {"cloud", "--cloud", 0}, {"region", "--region", 0}, {"image_id", "--image-id", 0},
};
#define N_RES (sizeof res_keys / sizeof *res_keys)

struct resources {
    char accel[160];
    int spot, spot_given;
    int restarts, restarts_given;
    const char *val[N_RES];
};

static int read_runner_args(const sky_task_in *in, struct resources *rs, char *err, size_t cap)
{
    const char *acc = in->accelerators;
    memset(rs, 0, sizeof *rs);
    rs->spot = in->use_spot;
    rs->restarts = in->max_restarts;
    for (size_t i = 0; in->runner_args && i < in->runner_args->n; i++) {
        const char *k = in->runner_args->keys[i], *v = in->runner_args->values[i];
        size_t r;
        if (!strcmp(k, "accelerators")) {
            acc = v;
            continue;
        }
        if (!strcmp(k, "use_spot")) {
            if (parse_bool(v, &rs->spot) != 0) {
                snprintf(err, cap, "runner_args.use_spot is \"%s\"; use true or false", v);
                return RELHOST_EINVAL;
            }
            rs->spot_given = 1;
            continue;
        }
        if (!strcmp(k, "max_restarts")) {
            if (!sky_all_digits(v) || strlen(v) > 4) {
                snprintf(err, cap,
                         "runner_args.max_restarts is \"%s\"; use a whole number "
                         "0..9999",
                         v);
                return RELHOST_EINVAL;
            }
            rs->restarts = atoi(v);
            rs->restarts_given = 1;
            continue;
        }
        for (r = 0; r < N_RES; r++)
            if (!strcmp(k, res_keys[r].name))
                break;
        if (r == N_RES) {
            snprintf(err, cap,
                     "runner_args.%s is not a runner_skypilot setting; known: "
                     "accelerators, use_spot, max_restarts, cpus, memory, disk_size, "
                     "cloud, region, image_id",
                     k);
            return RELHOST_EINVAL;
        }
        if (res_keys[r].whole_number && !sky_all_digits(v)) {
            snprintf(err, cap, "runner_args.%s is \"%s\"; use a whole number (GB)", k, v);
            return RELHOST_EINVAL;
        }
        rs->val[r] = v;
    }
    if (acc && *acc) {
        const char *colon = strchr(acc, ':');
        if (strpbrk(acc, "{[,") || in->gpus <= 0) {
            /* a set or list of choices, or no per-node count from the plan: as written */
            snprintf(rs->accel, sizeof rs->accel, "%s", acc);
        } else if (!colon) {
            snprintf(rs->accel, sizeof rs->accel, "%s:%d", acc, in->gpus);
        } else if (atoi(colon + 1) != in->gpus) {
            snprintf(err, cap,
                     "gpus = %d contradicts accelerators \"%s\"; give the count in one "
                     "place",
                     in->gpus, acc);
            return RELHOST_EINVAL;
        } else {
            snprintf(rs->accel, sizeof rs->accel, "%s", acc);
        }
    } else if (in->gpus > 0) {
        snprintf(err, cap,
                 "gpus = %d needs an accelerator type: set runner_args.accelerators "
                 "(e.g. \"H100\") or the runner's accelerators option",
                 in->gpus);
        return RELHOST_EINVAL;
    }
    return 0;
}

static int quote(sky_buf *b, const char *what, const char *s, char *err, size_t cap)
{
    if (sky_yaml_quote(b, s) != 0) {
        snprintf(err, cap, "%s is not valid UTF-8 and cannot be written into a task file", what);
        return RELHOST_EINVAL;
    }
    return 0;
}

/* The `run:` script: the argv, each word single-quoted. Without a time limit it is exec'd, so
 * that its exit code is the job's. With remote_timeout it runs under timeout(1), so that a job
 * nobody watches (relhost launch) still ends; SkyPilot then only says FAILED (no exit code), so
 * the script prints how the command ended, for sky_remote_timeout(): 124 is timeout(1)'s own
 * code, and 137 after the limit is its `-k` SIGKILL (timeout(1) then kills itself too). The
 * script's exit code stays the command's. */
int sky_run_script(const sky_task_in *in, sky_buf *b)
{
    double limit = ceil(in->timeout_s);
    if (!(in->remote_timeout && in->timeout_s > 0)) {
        sky_buf_puts(b, "exec ");
    } else {
        sky_buf_puts(b, "relhost_t0=$(date +%s); ");
        sky_buf_printf(b, "timeout -k 60 %.0f ", limit);
    }
    for (size_t i = 0; in->argv[i]; i++) {
        if (i)
            sky_buf_puts(b, " ");
        sky_shell_quote(b, in->argv[i]);
    }
    if (in->remote_timeout && in->timeout_s > 0)
        sky_buf_printf(b,
                       "; relhost_rc=$?; "
                       "if [ \"$relhost_rc\" -eq 124 ] || { [ \"$relhost_rc\" -eq 137 ] && "
                       "[ $(($(date +%%s) - relhost_t0)) -ge %.0f ]; }; then "
                       "echo \"" SKY_MARK_TIMEOUT " (%.0f s): timeout(1) stopped the "
                       "command, exit $relhost_rc\"; "
                       "elif [ \"$relhost_rc\" -ne 0 ]; then "
                       "echo \"" SKY_MARK_EXIT " $relhost_rc\"; fi; "
                       "exit \"$relhost_rc\"",
                       limit, limit);
    return b->oom ? RELHOST_ENOMEM : 0;
}

/* The task's resources (t_res 0), or, over a template's own (t_res 1), the launch flags that
 * override them. */
static int put_resources(sky_task_out *out, const struct resources *rs, int t_res, char *err,
                         size_t cap)
{
    sky_buf *y = &out->yaml;
    int rc;

    if (!t_res) {
        sky_buf_puts(y, "resources:\n");
        if (rs->accel[0]) {
            sky_buf_puts(y, "  accelerators: ");
            if ((rc = quote(y, "accelerators", rs->accel, err, cap)) != 0)
                return rc;
            sky_buf_puts(y, "\n");
        }
        sky_buf_printf(y, "  use_spot: %s\n", rs->spot ? "true" : "false");
        for (size_t r = 0; r < N_RES; r++) {
            if (!rs->val[r])
                continue;
            sky_buf_printf(y, "  %s: ", res_keys[r].name);
            if (res_keys[r].whole_number)
                sky_buf_puts(y, rs->val[r]);
            else if ((rc = quote(y, res_keys[r].name, rs->val[r], err, cap)) != 0)
                return rc;
            sky_buf_puts(y, "\n");
        }
        sky_buf_printf(y, "  job_recovery:\n    max_restarts_on_errors: %d\n", rs->restarts);
    } else {
        /* The template's resources stay; what this validation asks for overrides them the way
         * a person would on the command line. */
        if (rs->accel[0] && add(out, SKY_ARGS, "--gpus") == 0)
            add(out, SKY_ARGS, "%s", rs->accel);
        if (rs->spot_given)
            add(out, SKY_ARGS, "%s", rs->spot ? "--use-spot" : "--no-use-spot");
        for (size_t r = 0; r < N_RES; r++)
            if (rs->val[r] && add(out, SKY_ARGS, "%s", res_keys[r].flag) == 0)
                add(out, SKY_ARGS, "%s", rs->val[r]);
    }
    return 0;
}

/* The job's environment: plain values in envs (or --env NAME=VALUE over a template's own envs),
 * every other one as --env NAME with its value in the CLI's environment (never on argv). */
static int put_envs(const sky_task_in *in, sky_task_out *out, int t_envs, char *err, size_t cap)
{
    sky_buf *y = &out->yaml;
    int rc, nplain = 0;

    for (size_t i = 0; in->env && in->env[i]; i++) {
        const char *e = in->env[i], *eq = strchr(e, '=');
        size_t n = eq ? (size_t)(eq - e) : strlen(e);
        if (!valid_env_name(e, n)) {
            snprintf(err, cap,
                     "environment entry \"%.*s\" does not start with a shell variable "
                     "name",
                     (int)n, e);
            return RELHOST_EINVAL;
        }
        /* "NAME" alone unsets NAME for the job: a cluster inherits nothing from relhost's
         * environment anyway. RELHOST_LOG names a file on this machine, not on the cluster. */
        if (!eq || later_has(in->env, i + 1, e, n) || name_is(e, "RELHOST_LOG"))
            continue;
        if (name_has_prefix(e, "RELHOST_") || sky_env_affects_cli(e)) {
            /* Set by relhost or configuration of the job's interpreter: not secrets. */
            if (t_envs) {
                add(out, SKY_ARGS, "--env");
                add(out, SKY_ARGS, "%s", e);
                continue;
            }
            if (nplain++ == 0)
                sky_buf_puts(y, "envs:\n");
            sky_buf_printf(y, "  %.*s: ", (int)n, e);
            if ((rc = quote(y, "an environment value", eq + 1, err, cap)) != 0)
                return rc;
            sky_buf_puts(y, "\n");
            continue;
        }
        add(out, SKY_ARGS, "--env");
        add(out, SKY_ARGS, "%.*s", (int)n, e);
        add(out, SKY_ENV, "%s", e);
    }
    return 0;
}

int sky_task_build(const sky_task_in *in, sky_task_out *out, char *err, size_t cap)
{
    struct resources rs;
    sky_buf *y = &out->yaml, run = {0};
    int t_res = 0, t_envs = 0, t_workdir = 0, rc;

    memset(out, 0, sizeof *out);
    err[0] = '\0';
    if (!in->argv || !in->argv[0]) {
        snprintf(err, cap, "the job has no command");
        return RELHOST_EINVAL;
    }
    if ((rc = read_runner_args(in, &rs, err, cap)) != 0)
        return rc;
    if (in->tmpl) {
        const char *drop[4] = {"name", "run", NULL, NULL};
        t_res = sky_yaml_has_key(in->tmpl, "resources");
        t_envs = sky_yaml_has_key(in->tmpl, "envs");
        t_workdir = sky_yaml_has_key(in->tmpl, "workdir");
        if (in->nodes > 0)
            drop[2] = "num_nodes";
        if (t_res && rs.restarts_given) {
            snprintf(err, cap,
                     "runner_args.max_restarts cannot be applied to a task template "
                     "with its own resources: set resources.job_recovery there");
            return RELHOST_EINVAL;
        }
        sky_buf_printf(y, "# relhost runner_skypilot: job %s, from the task template\n", in->key);
        if ((rc = sky_yaml_filter(in->tmpl, drop, y, err, cap)) != 0)
            return rc;
    } else {
        sky_buf_printf(y, "# relhost runner_skypilot: job %s\n", in->key);
    }

    sky_buf_puts(y, "name: ");
    if ((rc = quote(y, "the job key", in->key, err, cap)) != 0)
        return rc;
    sky_buf_puts(y, "\n");
    if (in->nodes > 0)
        sky_buf_printf(y, "num_nodes: %d\n", in->nodes);
    if (in->sync_workdir && in->cwd && !t_workdir) {
        sky_buf_puts(y, "workdir: ");
        if ((rc = quote(y, "the job's folder", in->cwd, err, cap)) != 0)
            return rc;
        sky_buf_puts(y, "\n");
    }

    if ((rc = put_resources(out, &rs, t_res, err, cap)) != 0)
        return rc;
    if ((rc = put_envs(in, out, t_envs, err, cap)) != 0)
        return rc;

    if ((rc = sky_run_script(in, &run)) != 0) {
        sky_buf_free(&run);
        return rc;
    }
    sky_buf_puts(y, "run: ");
    rc = quote(y, "the command", run.s, err, cap);
    sky_buf_free(&run);
    if (rc != 0)
        return rc;
    sky_buf_puts(y, "\n");
    if (y->oom || out->oom) {
        snprintf(err, cap, "out of memory");
        return RELHOST_ENOMEM;
    }
    return 0;
}
