/* SPDX-License-Identifier: MIT */
/*
 * command.c - a gate that runs one command and judges it by its exit code.
 *
 * The command is an argv array handed to the host's process service (pl_host->proc_run), which owns
 * fork/exec, the timeout, the process-group kill and output capture: this plugin never forks,
 * waits or sleeps. There is no shell unless the plan says `shell = true`, because an argv array
 * cannot be re-split by a value that contains spaces or quotes (a version, a path), while a shell
 * string can.
 *
 * Verdicts (the same table core/run/jobs.c uses for a job's end, so a step and a validation that
 * run the same command agree):
 *   exit code listed in expect_exit        PASSED
 *   killed at `timeout`, or exit 124       FAILED  timeout
 *   could not start, or exit 126/127       ERROR   tool_error (not retryable)
 *   killed by a signal                     FAILED  signal
 *   any other exit code                    FAILED  exit_code
 * Every non-PASSED verdict comes with a note naming the exit code and the last tail_lines lines of
 * stderr and stdout, so the report says why without anyone opening a log.
 */
#include <relhost/plugin.h>

#include "../common/pl_host.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A tail longer than this is cut at its start: one runaway line must not make a report huge. */
#define COMMAND_TAIL_MAX_BYTES 4096

struct command_conf {
    relhost_strlist cmd;
    relhost_map env;
    relhost_strlist pass_env;
    const char *cwd;
    double timeout;
    int shell;
    relhost_strlist expect_exit;
    int64_t tail_lines;
};

struct command {
    const struct command_conf *conf;
    const char **argv; /* NULL-terminated; the strings are the conf's (valid until close) */
    char **env;        /* NULL-terminated "NAME=VALUE", owned: the plan's env, then pass_env */
    size_t n_plan_env; /* env[0..n_plan_env) is the plan's env, shown by describe */
    int *expect;       /* exit codes that count as success, owned */
    size_t n_expect;
};

#define OPT(f, t, ...) PL_OPT(struct command_conf, f, t, __VA_ARGS__)
static const relhost_option command_options[] = {
    OPT(cmd, STRLIST, .required = 1,
        .doc = "the program and its arguments, e.g. [\"make\", \"test\"] (one string with shell)",
        .flags = RELHOST_OPTF_TEMPLATE),
    OPT(env, MAP, .doc = "environment variables added for the command",
        .flags = RELHOST_OPTF_TEMPLATE),
    OPT(pass_env, STRLIST,
        .doc = "variables of relhost's environment handed to the command by name, the only way a "
               "sealed one (a secret) reaches it; each must be set"),
    OPT(cwd, STRING, .doc = "working directory, relative to the plan's folder (default: relhost's)",
        .flags = RELHOST_OPTF_PATH),
    OPT(timeout, DURATION, .def = "10m",
        .doc = "kill the command's process group after this long (0: never)", .min = 0,
        .max = 7 * 86400),
    OPT(shell, BOOL, .def = "false", .doc = "run cmd, one string, with /bin/sh -c"),
    OPT(expect_exit, STRLIST, .def = "0",
        .doc = "exit codes (0-255, as strings) that count as success"),
    OPT(tail_lines, INT, .def = "20",
        .doc = "lines of output shown in the note when the command does not pass", .min = 0,
        .max = 1000),
    {0}};
#undef OPT

/* A bounded text buffer for notes; an overlong text ends in "...". */
struct text {
    char s[8192];
    size_t len;
};

static void text_add(struct text *t, const char *fmt, ...) RELHOST_PRINTF(2, 3);
static void text_add(struct text *t, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (t->len >= sizeof t->s - 1)
        return;
    va_start(ap, fmt);
    n = vsnprintf(t->s + t->len, sizeof t->s - t->len, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof t->s - t->len) {
        t->len = sizeof t->s - 1;
        memcpy(t->s + sizeof t->s - 4, "...", 4);
    } else {
        t->len += (size_t)n;
    }
}

/* An argument as a person would paste it into a shell: bare when safe, else single-quoted. */
static void text_add_quoted(struct text *t, const char *arg)
{
    if (arg[0] != '\0' && strspn(arg, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                      "0123456789-_./:=,+@%") == strlen(arg)) {
        text_add(t, "%s", arg);
        return;
    }
    text_add(t, "'");
    for (const char *p = arg; *p != '\0'; p++) {
        if (*p == '\'')
            text_add(t, "'\\''");
        else
            text_add(t, "%c", *p);
    }
    text_add(t, "'");
}

static void command_free(struct command *c)
{
    if (c == NULL)
        return;
    if (c->env != NULL) {
        for (char **e = c->env; *e != NULL; e++)
            free(*e);
        free(c->env);
    }
    free(c->argv);
    free(c->expect);
    free(c);
}

/* Parse expect_exit: plain decimal codes 0-255, nothing else (no "0x1", no " 1", no "1a"). */
static int parse_exit_codes(const relhost_ctx *ctx, struct command *c)
{
    const relhost_strlist *l = &c->conf->expect_exit;
    size_t n = l->n;

    c->expect = calloc(n > 0 ? n : 1, sizeof *c->expect);
    if (c->expect == NULL)
        return RELHOST_ENOMEM;
    if (n == 0) { /* an explicit empty list would make every run fail: read it as the default */
        c->expect[0] = 0;
        c->n_expect = 1;
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        const char *s = l->v[i];
        char *end = NULL;
        long v;

        errno = 0;
        v = s[0] >= '0' && s[0] <= '9' ? strtol(s, &end, 10) : -1;
        if (end == NULL || *end != '\0' || errno != 0 || v < 0 || v > 255) {
            pl_host->fail(ctx,
                          "%s: expect_exit \"%s\" is not an exit code: give decimal codes 0-255 "
                          "as strings, e.g. expect_exit = [\"0\", \"3\"]",
                          pl_where(ctx, l), s);
            return RELHOST_EINVAL;
        }
        c->expect[i] = (int)v;
    }
    c->n_expect = n;
    return 0;
}

static int build_env(const relhost_ctx *ctx, struct command *c)
{
    const relhost_map *m = &c->conf->env;
    const relhost_strlist *pass = &c->conf->pass_env;

    if (m->n == 0 && pass->n == 0)
        return 0;
    c->env = calloc(m->n + pass->n + 1, sizeof *c->env);
    if (c->env == NULL)
        return RELHOST_ENOMEM;
    for (size_t i = 0; i < m->n; i++) {
        const char *k = m->keys[i];
        const char *v = m->values[i] != NULL ? m->values[i] : "";
        size_t len;

        if (k[0] == '\0' || strchr(k, '=') != NULL) {
            pl_host->fail(ctx, "%s: env key \"%s\" is not a variable name (empty or contains '=')",
                          pl_where(ctx, m), k);
            return RELHOST_EINVAL;
        }
        len = strlen(k) + 1 + strlen(v) + 1;
        c->env[i] = malloc(len);
        if (c->env[i] == NULL)
            return RELHOST_ENOMEM;
        snprintf(c->env[i], len, "%s=%s", k, v);
    }
    c->n_plan_env = m->n;
    for (size_t i = 0, k = m->n; i < pass->n; i++) {
        /* A sealed one is a secret (secret() keeps it masked); any other is plain text, not
         * masked. An unset one was a plan error at load (run), or is simply not handed over. */
        const char *v = pl_host->sealed(ctx, pass->v[i]) ? pl_host->secret(ctx, pass->v[i])
                                                         : getenv(pass->v[i]);
        size_t len;
        if (v == NULL)
            continue;
        len = strlen(pass->v[i]) + 1 + strlen(v) + 1;
        c->env[k] = malloc(len);
        if (c->env[k] == NULL)
            return RELHOST_ENOMEM;
        snprintf(c->env[k++], len, "%s=%s", pass->v[i], v);
    }
    return 0;
}

static int build_argv(const relhost_ctx *ctx, struct command *c)
{
    const struct command_conf *conf = c->conf;
    const relhost_strlist *cmd = &conf->cmd;

    if (cmd->n == 0 || cmd->v[0] == NULL || cmd->v[0][0] == '\0') {
        pl_host->fail(ctx,
                      "%s: cmd is empty: give the program and its arguments, e.g. "
                      "cmd = [\"make\", \"test\"]",
                      pl_where(ctx, cmd));
        return RELHOST_EINVAL;
    }
    if (conf->shell) {
        /* sh -c 'x' a b would silently make a and b into $0 and $1, not part of the command. */
        if (cmd->n != 1) {
            pl_host->fail(
                ctx,
                "%s: with shell = true, cmd is ONE string for /bin/sh -c (got %zu items): "
                "join them into one string, or drop shell to run an argv",
                pl_where(ctx, cmd), cmd->n);
            return RELHOST_EINVAL;
        }
        c->argv = calloc(4, sizeof *c->argv);
        if (c->argv == NULL)
            return RELHOST_ENOMEM;
        c->argv[0] = "/bin/sh";
        c->argv[1] = "-c";
        c->argv[2] = cmd->v[0];
        return 0;
    }
    c->argv = calloc(cmd->n + 1, sizeof *c->argv);
    if (c->argv == NULL)
        return RELHOST_ENOMEM;
    for (size_t i = 0; i < cmd->n; i++)
        c->argv[i] = cmd->v[i];
    return 0;
}

static int command_open(const relhost_ctx *ctx, const void *conf, void **inst)
{
    struct command *c = calloc(1, sizeof *c);
    int rc;

    if (c == NULL)
        return pl_oom(ctx);
    c->conf = conf;
    rc = build_argv(ctx, c);
    if (rc == 0)
        rc = build_env(ctx, c);
    if (rc == 0)
        rc = parse_exit_codes(ctx, c);
    if (rc != 0) {
        if (rc == RELHOST_ENOMEM)
            pl_host->fail(ctx, "command: out of memory");
        command_free(c);
        return rc;
    }
    *inst = c;
    return 0;
}

static void text_add_argv(struct text *t, const char *const *argv)
{
    for (size_t i = 0; argv[i] != NULL; i++) {
        if (i > 0)
            text_add(t, " ");
        text_add_quoted(t, argv[i]);
    }
}

static int command_describe(const relhost_ctx *ctx, void *inst)
{
    struct command *c = inst;
    const struct command_conf *conf = c->conf;
    struct text t = {.len = 0};

    text_add(&t, "would run: ");
    text_add_argv(&t, c->argv);
    if (conf->cwd != NULL)
        text_add(&t, " (in %s)", conf->cwd);
    if (conf->timeout > 0)
        text_add(&t, " with a timeout of %.15g s", conf->timeout);
    else
        text_add(&t, " with no timeout");
    pl_host->note_add(ctx, "%s", t.s);
    if (c->n_plan_env > 0) {
        t.len = 0;
        t.s[0] = '\0';
        text_add(&t, "environment:");
        for (size_t i = 0; i < c->n_plan_env; i++) {
            text_add(&t, " ");
            text_add_quoted(&t, c->env[i]);
        }
        pl_host->note_add(ctx, "%s", t.s);
    }
    if (conf->pass_env.n > 0) { /* the names only: the values may be secrets */
        t.len = 0;
        t.s[0] = '\0';
        text_add(&t, "hands over from relhost's environment (pass_env):");
        for (size_t i = 0; i < conf->pass_env.n; i++)
            text_add(&t, " %s", conf->pass_env.v[i]);
        pl_host->note_add(ctx, "%s", t.s);
    }
    return 0;
}

/* Start of the last `lines` lines of buf[0..len), ignoring one trailing newline, and no more
 * than COMMAND_TAIL_MAX_BYTES (then cut at a UTF-8 character boundary). *n gets the length. */
static const char *tail_of(const char *buf, size_t len, int64_t lines, size_t *n)
{
    size_t end = len;
    size_t start;

    if (end > 0 && buf[end - 1] == '\n')
        end--;
    start = end;
    for (int64_t seen = 0; start > 0; start--) {
        if (buf[start - 1] == '\n' && ++seen == lines)
            break;
    }
    if (end - start > COMMAND_TAIL_MAX_BYTES) {
        start = end - COMMAND_TAIL_MAX_BYTES;
        while (start < end && ((unsigned char)buf[start] & 0xC0) == 0x80)
            start++;
    }
    *n = end - start;
    return buf + start;
}

static void note_tail(const relhost_ctx *ctx, const struct command *c, const char *stream,
                      const char *buf, size_t len, int truncated)
{
    size_t n;
    const char *p;

    if (buf == NULL || len == 0 || c->conf->tail_lines <= 0)
        return;
    p = tail_of(buf, len, c->conf->tail_lines, &n);
    if (n == 0)
        return;
    size_t lines = 1;
    for (size_t i = 0; i < n; i++)
        lines += p[i] == '\n';
    pl_host->note_add(ctx, "%s, last %zu line%s%s:\n%.*s", stream, lines, lines == 1 ? "" : "s",
                      truncated ? " of the captured start (the output was longer than the capture)"
                                : "",
                      (int)n, p);
}

static int expected_exit(const struct command *c, int code)
{
    for (size_t i = 0; i < c->n_expect; i++)
        if (c->expect[i] == code)
            return 1;
    return 0;
}

static void expected_list(const struct command *c, struct text *t)
{
    for (size_t i = 0; i < c->n_expect; i++)
        text_add(t, "%s%d", i ? ", " : "", c->expect[i]);
}

static void set_label_int(const relhost_ctx *ctx, const char *key, int v)
{
    char buf[32];

    if (!RELHOST_HAS(pl_host, label_set) || pl_host->label_set == NULL)
        return;
    snprintf(buf, sizeof buf, "%d", v);
    pl_host->label_set(ctx, key, buf);
}

static void judge(const relhost_ctx *ctx, const struct command *c, const relhost_proc_result *res,
                  relhost_verdict *out)
{
    struct text want = {.len = 0};
    const char *prog = c->argv[0];

    expected_list(c, &want);
    out->retryable = 0;
    if (res->exec_failed) {
        out->outcome = RELHOST_ERROR;
        out->reason = "tool_error";
        pl_host->note_add(ctx, "could not start %s (exit %d: %s)", prog, res->exit_code,
                          res->exit_code == 126 ? "not executable" : "not found");
    } else if (res->timed_out) {
        out->outcome = RELHOST_FAILED;
        out->reason = "timeout";
        pl_host->note_add(ctx, "%s was killed after the timeout of %.15g s", prog,
                          c->conf->timeout);
    } else if (res->exited && expected_exit(c, res->exit_code)) {
        out->outcome = RELHOST_PASSED;
        out->reason = NULL;
        pl_host->note_add(ctx, "%s exited with %d after %.1f s", prog, res->exit_code,
                          res->duration_s);
    } else if (res->exited && (res->exit_code == 126 || res->exit_code == 127)) {
        /* The shell's (or a wrapper's) own "cannot execute" / "not found": we could not test. */
        out->outcome = RELHOST_ERROR;
        out->reason = "tool_error";
        pl_host->note_add(ctx, "%s exited with %d (a command %s; expected %s)", prog,
                          res->exit_code,
                          res->exit_code == 126 ? "was not executable" : "was not found", want.s);
    } else if (res->exited && res->exit_code == 124) {
        /* timeout(1) inside the command: the same verdict as our own deadline. */
        out->outcome = RELHOST_FAILED;
        out->reason = "timeout";
        pl_host->note_add(ctx, "%s exited with 124, a timeout (expected %s)", prog, want.s);
    } else if (res->exited) {
        out->outcome = RELHOST_FAILED;
        out->reason = "exit_code";
        pl_host->note_add(ctx, "%s exited with %d (expected %s) after %.1f s", prog, res->exit_code,
                          want.s, res->duration_s);
    } else if (res->signal != 0) {
        out->outcome = RELHOST_FAILED;
        out->reason = "signal";
        pl_host->note_add(ctx, "%s was killed by signal %d (%s)", prog, res->signal,
                          strsignal(res->signal));
    } else {
        out->outcome = RELHOST_ERROR;
        out->reason = "tool_error";
        pl_host->note_add(ctx, "%s ended with neither an exit code nor a signal", prog);
    }
    if (res->exited)
        set_label_int(ctx, "exit_code", res->exit_code);
    if (out->outcome != RELHOST_PASSED) {
        note_tail(ctx, c, "stderr", res->err, res->err_len, res->truncated);
        note_tail(ctx, c, "stdout", res->out, res->out_len, res->truncated);
    }
}

static int command_run(const relhost_ctx *ctx, void *inst, relhost_verdict *out)
{
    struct command *c = inst;
    relhost_proc_spec spec;
    relhost_proc_result res;
    int rc;

    if (pl_launch_skips(ctx, out))
        return 0;
    if ((rc = pl_need_proc(ctx, "upgrade relhost or remove the step")) != 0)
        return rc;
    memset(&spec, 0, sizeof spec);
    spec.struct_size = sizeof spec;
    spec.argv = c->argv;
    spec.env = (const char *const *)c->env;
    spec.cwd = c->conf->cwd;
    spec.timeout_s = c->conf->timeout;
    /* The caller sets struct_size of what it passes, so the host knows what it may fill. */
    memset(&res, 0, sizeof res);
    res.struct_size = sizeof res;

    rc = pl_host->proc_run(ctx, &spec, &res);
    if (rc == RELHOST_EINTR) {
        pl_host->proc_result_free(&res);
        return RELHOST_EINTR;
    }
    if (rc < 0) {
        pl_host->proc_result_free(&res);
        pl_host->fail(ctx, "command: could not run %s: %s (%d)", c->argv[0], pl_strerror(rc), rc);
        return rc;
    }
    judge(ctx, c, &res, out);
    pl_host->proc_result_free(&res);
    return 0;
}

static void command_close(void *inst) { command_free(inst); }

const relhost_plugin pl_plugin = {
    PL_PLUGIN_BASE("command", "1.0.0", command_options, struct command_conf),
    .description = "run a command (argv, no shell unless asked) and judge its exit code",
    .gate = PL_GATE_OPS(command, .close = command_close),
};
