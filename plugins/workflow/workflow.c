/* SPDX-License-Identifier: MIT */
/*
 * workflow - the gate that runs a plan's validations (training runs, smoke tests) as jobs through
 * the host, and passes when every selected validation passes its acceptance checks. The host owns
 * the jobs (runners, parallelism, logs, metrics, checks, state, resume); this gate chooses what to
 * run (profiles, --only, depends_on) and turns the validations' results into the step's verdict.
 */
#include "workflow.h"

#include "../common/pl_host.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OPT(f, t, ...) PL_OPT(struct workflow_expect, f, t, __VA_ARGS__)
static const relhost_option workflow_expect_options[] = {
    OPT(exit, STRLIST,
        .doc = "exit codes that count as success (default: 0 only), e.g. [\"0\", \"1\"]"),
    OPT(termination_reason, STRING,
        .doc = "the [SUMMARY] Termination reason the job must end with (e.g. heartbeat_timeout)"),
    {0}};
#undef OPT

#define OPT(f, t, ...) PL_OPT(struct workflow_condition, f, t, __VA_ARGS__)
static const relhost_option workflow_condition_options[] = {
    OPT(name, STRING, .required = 1,
        .doc = "condition name, the last part of the expanded validation's name"),
    OPT(args, STRLIST, .flags = RELHOST_OPTF_TEMPLATE,
        .doc = "arguments appended to cmd for this condition"),
    OPT(termination_reason, STRING,
        .doc = "the termination reason this condition must end with (any exit code then counts)"),
    OPT(exit, STRLIST, .doc = "exit codes that count as success for this condition"),
    {0}};
#undef OPT

#define OPT(f, t, ...) PL_OPT(struct workflow_matrix, f, t, __VA_ARGS__)
static const relhost_option workflow_matrix_options[] = {
    OPT(nodes, STRLIST,
        .doc = "node counts, e.g. [1, 2, 4]: one validation per count ({nodes} in cmd)"),
    OPT(conditions, GROUP_LIST, .sub = workflow_condition_options,
        .item_size = sizeof(struct workflow_condition),
        .doc = "conditions ({condition} in cmd): ( { name = \"normal\"; }, { name = ...; args = "
               "[...]; termination_reason = ...; } )"),
    {0}};
#undef OPT

#define OPT(f, t, ...) PL_OPT(struct workflow_validation, f, t, __VA_ARGS__)
static const relhost_option workflow_validation_options[] = {
    OPT(name, STRING, .required = 1,
        .doc = "unique validation name (letters, digits, '-', '_', '.'; at most 160 bytes with "
               "its matrix cell)"),
    OPT(description, STRING, .doc = "one line shown by --check"),
    OPT(runner, REF, .ref_kind = RELHOST_REF_RUNNER,
        .doc = "runner to use (a name under the plan's runners); default: the "
               "gate's runner"),
    OPT(cmd, STRLIST, .required = 1, .flags = RELHOST_OPTF_TEMPLATE,
        .doc = "program and arguments; no shell unless shell = true (then one command string)"),
    OPT(shell, BOOL, .def = "false", .doc = "run cmd with /bin/sh -c (explicit opt-in)"),
    OPT(env, MAP, .flags = RELHOST_OPTF_TEMPLATE,
        .doc = "environment variables for the job (never secrets: use pass_env)"),
    OPT(pass_env, STRLIST,
        .doc = "names of relhost's environment variables handed to the job (secrets go here)"),
    OPT(cwd, STRING, .flags = RELHOST_OPTF_TEMPLATE | RELHOST_OPTF_PATH,
        .doc = "working directory (default: the plan's folder)"),
    OPT(timeout_s, DURATION, .def = "1h", .min = 0, .max = 30 * 86400,
        .doc = "kill the job after this long (seconds, or \"10m\"); it then FAILS with exit 124. "
               "Counted from the job's start: on a cluster runner, time waiting in the queue is "
               "bounded by the runner's queue_timeout instead"),
    OPT(retries, INT, .def = "0", .min = 0, .max = 20,
        .doc = "extra attempts after a retryable tool error (never after a verdict)"),
    OPT(nodes, INT, .def = "0", .min = 0, .max = 100000,
        .doc = "nodes for remote runners (0: runner default)"),
    OPT(gpus, INT, .def = "0", .min = 0, .max = 1024, .doc = "GPUs per node for remote runners"),
    OPT(runner_args, MAP,
        .doc = "runner-specific settings for this validation (partition, accelerators...)"),
    OPT(metrics, REF_LIST, .ref_kind = RELHOST_REF_METRICS,
        .doc = "metrics sources fed this job's log (default: the gate's)"),
    OPT(acceptance, CHECKS,
        .doc = "checks on the job's metrics: thresholds ( (\"sps_max\", \">=\", 30000.0) ) or "
               "groups { metric = \"sps_max\"; op = \">=\"; value = 30000.0; baseline = "
               "\"higher\"; rel = 0.2; abs = 100.0; stat = \"median\"; } (see relhost.cfg(5) "
               "ACCEPTANCE CHECKS)"),
    OPT(depends_on, STRLIST,
        .doc = "validations that must pass first (in this run or an earlier one of the release; "
               "selecting this one runs them too); otherwise this one is SKIPPED"),
    OPT(expect, GROUP, .sub = workflow_expect_options,
        .doc = "what counts as a successful end (exit codes, termination reason)"),
    OPT(matrix, GROUP, .sub = workflow_matrix_options,
        .doc = "expand into <name>.<nodes>n.<condition> validations (seed 002's cluster matrix)"),
    OPT(repeats, INT, .def = "1", .min = 1, .max = 100,
        .doc = "run the validation (each matrix cell) this many times, as jobs <name>.r1.. "
               "<name>.rN within the runner's max_parallel ({repeat} in cmd); checks judge each "
               "metric's median of the runs (or a check's stat) and reports show the spread"),
    {0}};
#undef OPT

#define OPT(f, t, ...) PL_OPT(struct workflow_conf, f, t, __VA_ARGS__)
static const relhost_option workflow_options[] = {
    OPT(validations, GROUP_LIST, .required = 1, .sub = workflow_validation_options,
        .item_size = sizeof(struct workflow_validation),
        .doc = "the validations: ( { name = ...; cmd = [...]; acceptance = (...); }, ... )"),
    OPT(metrics, REF_LIST, .ref_kind = RELHOST_REF_METRICS,
        .doc = "metrics sources for every validation that names none"),
    OPT(runner, REF, .ref_kind = RELHOST_REF_RUNNER, .def = "local",
        .doc = "runner for every validation that names none"),
    {0}};
#undef OPT

static const struct workflow_validation *val(const struct workflow_conf *c, size_t i)
{
    return (const struct workflow_validation *)c->validations.items + i;
}

static const struct workflow_condition *cond(const struct workflow_validation *v, size_t i)
{
    return (const struct workflow_condition *)v->matrix.conditions.items + i;
}

/* A run answers to its own name and, for a matrix cell, to its validation's name. */
int workflow_answers_to(const struct vrun *r, const char *name)
{
    return strcmp(r->name, name) == 0 || strcmp(r->v->name, name) == 0;
}

static int find_validation(const struct workflow *w, const char *name)
{
    for (size_t i = 0; i < w->n; i++)
        if (workflow_answers_to(&w->runs[i], name))
            return (int)i;
    return -1;
}

static void workflow_close(void *inst)
{
    struct workflow *w = inst;
    if (!w)
        return;
    for (size_t i = 0; i < w->n; i++)
        if (w->runs[i].own) {
            free(w->runs[i].own->expect_exit);
            free(w->runs[i].own->argv);
            free(w->runs[i].own->name);
            free(w->runs[i].own);
        }
    free(w->runs);
    free(w);
}

/* Depth-first search for a cycle through depends_on. */
static int has_cycle(const struct workflow *w, size_t i, char *mark)
{
    if (mark[i] == 1)
        return 1;
    if (mark[i] == 2)
        return 0;
    mark[i] = 1;
    for (size_t d = 0; d < w->runs[i].v->depends_on.n; d++)
        for (size_t k = 0; k < w->n; k++)
            if (workflow_answers_to(&w->runs[k], w->runs[i].v->depends_on.v[d]) &&
                has_cycle(w, k, mark))
                return 1;
    mark[i] = 2;
    return 0;
}

static int parse_exits(const relhost_ctx *ctx, const relhost_strlist *l, const void *field,
                       const char *name, int **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (!l->n)
        return 0;
    *out = calloc(l->n, sizeof(int));
    if (!*out)
        return RELHOST_ENOMEM;
    for (size_t k = 0; k < l->n; k++) {
        char *end;
        long code = strtol(l->v[k], &end, 10);
        if (*end || end == l->v[k] || code < 0 || code > 255) {
            pl_host->fail(ctx, "%s: validation %s: exit code \"%s\" is not 0..255",
                          pl_where(ctx, field), name, l->v[k]);
            return RELHOST_EINVAL;
        }
        (*out)[k] = (int)code;
    }
    *n = l->n;
    return 0;
}

/* A matrix cell's name, "<name>.<nodes>n.<condition>" (its parts as given), in *out; its
 * length (over RELHOST_JOB_NAME_MAX: too long, *out unset). */
static int cell_name(const struct workflow_validation *v, const char *nodes_s,
                     const struct workflow_condition *c, char **out)
{
    char cell[RELHOST_JOB_NAME_MAX + 2];
    int len;
    if (nodes_s && c)
        len = snprintf(cell, sizeof cell, "%s.%sn.%s", v->name, nodes_s, c->name);
    else if (nodes_s)
        len = snprintf(cell, sizeof cell, "%s.%sn", v->name, nodes_s);
    else
        len = snprintf(cell, sizeof cell, "%s.%s", v->name, c->name);
    if (len >= 0 && len <= RELHOST_JOB_NAME_MAX && !(*out = strdup(cell)))
        return -2;
    return len;
}

/* What run r of v holds of its own: a matrix cell (nodes_s, c), or v's parsed exit codes. */
static int own_part(const relhost_ctx *ctx, struct vrun *r, const char *nodes_s,
                    const struct workflow_condition *c)
{
    const struct workflow_validation *v = r->v;
    struct vrun_own *o = r->own;
    if (c && c->args.n) {
        if (!(o->argv = calloc(v->cmd.n + c->args.n + 1, sizeof *o->argv)))
            return RELHOST_ENOMEM;
        for (size_t i = 0; i < v->cmd.n; i++)
            o->argv[i] = v->cmd.v[i];
        for (size_t i = 0; i < c->args.n; i++)
            o->argv[v->cmd.n + i] = c->args.v[i];
    }
    o->nodes_s = nodes_s;
    o->condition = c ? c->name : NULL;
    o->nodes = (int)v->nodes;
    if (nodes_s) {
        char *end;
        long nn = strtol(nodes_s, &end, 10);
        if (*end || end == nodes_s || nn < 1 || nn > 100000) {
            pl_host->fail(ctx, "%s: validation %s: matrix node count \"%s\" is not 1..100000",
                          pl_where(ctx, &v->matrix.nodes), v->name, nodes_s);
            return RELHOST_EINVAL;
        }
        o->nodes = (int)nn;
    }
    o->expect_term =
        c && c->termination_reason ? c->termination_reason : v->expect.termination_reason;
    if (c && c->exit.n)
        return parse_exits(ctx, &c->exit, &c->exit, r->name, &o->expect_exit, &o->n_expect_exit);
    return parse_exits(ctx, &v->expect.exit, &v->expect.exit, r->name, &o->expect_exit,
                       &o->n_expect_exit);
}

/* Append one run: v itself, or its matrix cell (nodes_s, c). A run of a validation that is no
 * matrix and names no exit codes borrows all it needs from the validation. */
static int add_run(const relhost_ctx *ctx, struct workflow *w, const struct workflow_validation *v,
                   const char *nodes_s, const struct workflow_condition *c)
{
    struct vrun *r;
    int len;
    if (w->n == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 16;
        struct vrun *nr = realloc(w->runs, cap * sizeof *nr);
        if (!nr)
            return RELHOST_ENOMEM;
        w->runs = nr;
        w->cap = cap;
    }
    r = &w->runs[w->n];
    memset(r, 0, sizeof *r);
    r->v = v;
    r->name = v->name; /* the plan's, for the gate's life */
    if (nodes_s || c || v->expect.exit.n) {
        if (!(r->own = calloc(1, sizeof *r->own)))
            return RELHOST_ENOMEM;
        w->n++; /* from here on, close() frees what this run holds */
    }
    len = (int)strlen(v->name);
    if ((nodes_s || c) && (len = cell_name(v, nodes_s, c, &r->own->name)) == -2)
        return RELHOST_ENOMEM;
    if (r->own && r->own->name)
        r->name = r->own->name;
    if (len < 0 || len > RELHOST_JOB_NAME_MAX) {
        /* never cut: two long names would collide as one */
        pl_host->fail(ctx,
                      "%s: validation name \"%.40s...\"%s is %d bytes, more than the %d a job "
                      "name may hold; shorten it",
                      pl_where(ctx, &v->name), v->name,
                      nodes_s || c ? " (with its matrix cell)" : "", len, RELHOST_JOB_NAME_MAX);
        return RELHOST_EINVAL;
    }
    if (!r->own) {
        w->n++;
        return 0;
    }
    return own_part(ctx, r, nodes_s, c);
}

static int expand(const relhost_ctx *ctx, struct workflow *w, const struct workflow_validation *v)
{
    size_t nn = v->matrix.nodes.n, nc = v->matrix.conditions.n;
    int rc = 0;
    if (!nn && !nc)
        return add_run(ctx, w, v, NULL, NULL);
    for (size_t i = 0; i < (nn ? nn : 1) && rc == 0; i++)
        for (size_t k = 0; k < (nc ? nc : 1) && rc == 0; k++)
            rc = add_run(ctx, w, v, nn ? v->matrix.nodes.v[i] : NULL, nc ? cond(v, k) : NULL);
    return rc;
}

/* 1 when b's name is "<a's name>.r<k>", a run of a when a is repeated k or more times. */
static int is_repeat_of(const struct vrun *a, const struct vrun *b)
{
    size_t n = strlen(a->name);
    char *end;
    long k;
    if (a->v->repeats < 2 || strncmp(b->name, a->name, n) != 0 || strncmp(b->name + n, ".r", 2))
        return 0;
    k = strtol(b->name + n + 2, &end, 10);
    return *end == '\0' && end != b->name + n + 2 && k >= 1 && k <= a->v->repeats;
}

static int by_name(const void *a, const void *b)
{
    const struct vrun *x = *(const struct vrun *const *)a, *y = *(const struct vrun *const *)b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x < y ? -1 : x > y);
}

/* The run named `name` in sorted[0..n), or NULL. */
static const struct vrun *named(const struct vrun **sorted, size_t n, const char *name, size_t len)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strncmp(sorted[mid]->name, name, len);
        if (c == 0 && sorted[mid]->name[len])
            c = 1;
        if (c < 0)
            lo = mid + 1;
        else if (c > 0)
            hi = mid;
        else
            return sorted[mid];
    }
    return NULL;
}

/* No two runs share a name, and no run is named like a run of a repeated validation
 * ("<name>.r<k>"): sorted by name, so a plan of 100,000 validations is checked in N log N. */
static int names_unique(const relhost_ctx *ctx, const struct workflow *w)
{
    const struct vrun **s = calloc(w->n + 1, sizeof *s);
    int rc = 0;
    if (!s)
        return RELHOST_ENOMEM;
    for (size_t i = 0; i < w->n; i++)
        s[i] = &w->runs[i];
    qsort(s, w->n, sizeof *s, by_name);
    for (size_t i = 1; i < w->n && !rc; i++)
        if (strcmp(s[i - 1]->name, s[i]->name) == 0) {
            pl_host->fail(ctx, "%s: duplicate validation name \"%s\"",
                          pl_where(ctx, &s[i]->v->name), s[i]->name);
            rc = RELHOST_EINVAL;
        }
    for (size_t i = 0; i < w->n && !rc; i++) {
        const struct vrun *b = &w->runs[i], *a;
        const char *r = strrchr(b->name, '.');
        if (!r || r[1] != 'r' || !(a = named(s, w->n, b->name, (size_t)(r - b->name))) || a == b ||
            !is_repeat_of(a, b))
            continue;
        pl_host->fail(ctx,
                      "%s: validation name \"%s\" is also the name of a run of the repeated "
                      "validation %s; rename one",
                      pl_where(ctx, &b->v->name), b->name, a->name);
        rc = RELHOST_EINVAL;
    }
    free(s);
    return rc;
}

static int declare_requirements(const relhost_ctx *ctx, const struct workflow *w);
static int verify_checks(const relhost_ctx *ctx, const struct workflow *w);

static int open_checked(const relhost_ctx *ctx, struct workflow *w);

/* The host calls close() only after an open() that succeeded: a refused one frees itself. */
static int workflow_open(const relhost_ctx *ctx, const void *conf, void **inst)
{
    struct workflow *w = calloc(1, sizeof *w);
    int rc;
    *inst = NULL;
    if (!w)
        return RELHOST_ENOMEM;
    w->conf = conf;
    if ((rc = open_checked(ctx, w)) != 0) {
        workflow_close(w);
        return rc;
    }
    *inst = w;
    return 0;
}

static int open_checked(const relhost_ctx *ctx, struct workflow *w)
{
    const struct workflow_conf *c = w->conf;
    char *mark;
    int rc;
    for (size_t i = 0; i < c->validations.n; i++) {
        const struct workflow_validation *v = val(c, i);
        for (const char *p = v->name; *p; p++)
            if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                  (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.')) {
                pl_host->fail(ctx,
                              "%s: validation name \"%s\" may hold only letters, digits, '-', "
                              "'_' and '.' (it names log files and job keys)",
                              pl_where(ctx, &v->name), v->name);
                return RELHOST_EINVAL;
            }
        if (v->shell && v->cmd.n != 1) {
            pl_host->fail(ctx, "%s: validation %s: with shell = true, cmd is one command string",
                          pl_where(ctx, &v->cmd), v->name);
            return RELHOST_EINVAL;
        }
        if (v->shell && v->matrix.conditions.n) {
            pl_host->fail(ctx,
                          "%s: validation %s: a matrix appends arguments, which a shell "
                          "command string cannot take; use {condition} in the string instead",
                          pl_where(ctx, &v->matrix), v->name);
            return RELHOST_EINVAL;
        }
        if ((rc = expand(ctx, w, v)) != 0)
            return rc;
    }
    if (w->n && w->n < w->cap) { /* the list is complete: no room kept for more */
        struct vrun *fit = realloc(w->runs, w->n * sizeof *fit);
        if (fit) {
            w->runs = fit;
            w->cap = w->n;
        }
    }
    if ((rc = names_unique(ctx, w)) != 0)
        return rc;
    for (size_t i = 0; i < w->n; i++)
        for (size_t d = 0; d < w->runs[i].v->depends_on.n; d++)
            if (find_validation(w, w->runs[i].v->depends_on.v[d]) < 0) {
                pl_host->fail(ctx, "%s: validation %s depends on unknown validation \"%s\"",
                              pl_where(ctx, &w->runs[i].v->depends_on), w->runs[i].name,
                              w->runs[i].v->depends_on.v[d]);
                return RELHOST_EINVAL;
            }
    mark = calloc(w->n + 1, 1);
    if (!mark)
        return RELHOST_ENOMEM;
    for (size_t i = 0; i < w->n; i++)
        if (has_cycle(w, i, mark)) {
            pl_host->fail(ctx, "%s: depends_on forms a cycle through validation %s",
                          pl_where(ctx, &w->runs[i].v->depends_on), w->runs[i].name);
            free(mark);
            return RELHOST_EINVAL;
        }
    free(mark);
    if ((rc = verify_checks(ctx, w)) != 0)
        return rc;
    return declare_requirements(ctx, w);
}

/* The profile chooses what the release requires (a matrix cell also answers to its
 * validation's name); --only narrows what this run runs within it. */
static int in_profile(const relhost_ctx *ctx, const struct vrun *r)
{
    int ok = 1;
    if (ctx->profile_members.n) {
        ok = 0;
        for (size_t i = 0; i < ctx->profile_members.n; i++)
            ok |= workflow_answers_to(r, ctx->profile_members.v[i]);
    }
    return ok;
}

int workflow_chosen(const relhost_ctx *ctx, const struct vrun *r)
{
    int ok = in_profile(ctx, r);
    if (ok && ctx->only.n) {
        ok = 0;
        for (size_t i = 0; i < ctx->only.n; i++)
            ok |= fnmatch(ctx->only.v[i], r->name, 0) == 0 ||
                  fnmatch(ctx->only.v[i], r->v->name, 0) == 0;
    }
    return ok;
}

/* Mark (want[k] = 1) every run that run i depends on, transitively (the seed's rule: a chosen
 * validation brings its dependencies, whatever the profile or --only say). */
void workflow_mark_deps(const struct workflow *w, size_t i, char *want)
{
    for (size_t d = 0; d < w->runs[i].v->depends_on.n; d++)
        for (size_t k = 0; k < w->n; k++)
            if (!want[k] && workflow_answers_to(&w->runs[k], w->runs[i].v->depends_on.v[d])) {
                want[k] = 1;
                workflow_mark_deps(w, k, want);
            }
}

/* The release requires every validation of the profile and their dependencies: declared to
 * the host, which fixes the set at the release's first run (--only never narrows it). */
static int declare_requirements(const relhost_ctx *ctx, const struct workflow *w)
{
    char *want;
    int rc = 0;
    if (!RELHOST_HAS(pl_host, job_require) || !pl_host->job_require)
        return 0;
    want = calloc(w->n + 1, 1);
    if (!want)
        return RELHOST_ENOMEM;
    for (size_t i = 0; i < w->n; i++)
        if (in_profile(ctx, &w->runs[i])) {
            want[i] = 1;
            workflow_mark_deps(w, i, want);
        }
    for (size_t i = 0; i < w->n && rc == 0; i++)
        if (want[i])
            rc = pl_host->job_require(ctx, w->runs[i].name);
    free(want);
    return rc;
}

/* Every acceptance key must be one the validation's metrics sources can post, and their
 * credentials must be set: said at load, never after hours of jobs. */
static int verify_checks(const relhost_ctx *ctx, const struct workflow *w)
{
    if (!RELHOST_HAS(pl_host, checks_verify) || !pl_host->checks_verify)
        return 0;
    for (size_t i = 0; i < w->conf->validations.n; i++) {
        const struct workflow_validation *v = val(w->conf, i);
        const relhost_strlist *src = v->metrics.n ? &v->metrics : &w->conf->metrics;
        if (v->acceptance.n && pl_host->checks_verify(ctx, src, &v->acceptance, &v->acceptance))
            return RELHOST_EINVAL;
    }
    return 0;
}

static void cmd_text(const struct vrun *r, char *buf, size_t cap)
{
    size_t used = 0;
    buf[0] = '\0';
    const char *const *argv = vrun_argv(r);
    for (size_t i = 0; argv[i] && used < cap; i++) {
        int n = snprintf(buf + used, cap - used, "%s%s", i ? " " : "", argv[i]);
        if (n < 0)
            break;
        used += (size_t)n;
    }
}

/* "  accept sps_max >= 30000 and within 20% below the baseline (median of the runs)" */
static void describe_check(const relhost_ctx *ctx, const relhost_check_spec *s, int repeated)
{
    static const char *const ops[] = {"?", ">=", ">", "<=", "<", "==", "!=", "range"};
    static const char *const stats[] = {"median", "min", "max", "mean"};
    char thr[96] = "", rule[160] = "", stat[48] = "";
    relhost_baseline_dir dir = RELHOST_HAS(s, abs_tol) ? s->baseline : RELHOST_BASELINE_NONE;
    if (s->op == RELHOST_OP_RANGE)
        snprintf(thr, sizeof thr, " in [%g, %g]", s->expected, s->expected_hi);
    else if (s->op != RELHOST_OP_NONE)
        snprintf(thr, sizeof thr, " %s %g", ops[(unsigned)s->op <= RELHOST_OP_RANGE ? s->op : 0],
                 s->expected);
    if (dir != RELHOST_BASELINE_NONE)
        snprintf(rule, sizeof rule, "%s may %s at most max(%g%%, %g) from the baseline",
                 thr[0] ? " and" : "", dir == RELHOST_BASELINE_HIGHER ? "drop" : "rise",
                 s->rel_tol * 100, s->abs_tol);
    if (repeated && RELHOST_HAS(s, stat))
        snprintf(stat, sizeof stat, " (%s of the runs)",
                 stats[(unsigned)s->stat <= RELHOST_STAT_MEAN ? s->stat : 0]);
    pl_host->note_add(ctx, "  accept %s%s%s%s", s->key, thr, rule, stat);
}

static int workflow_describe(const relhost_ctx *ctx, void *inst)
{
    struct workflow *w = inst;
    const struct workflow_conf *c = w->conf;
    for (size_t i = 0; i < w->n; i++) {
        const struct vrun *r = &w->runs[i];
        const struct workflow_validation *v = r->v;
        char cmd[512];
        cmd_text(r, cmd, sizeof cmd);
        char times[40] = "";
        if (v->repeats > 1)
            snprintf(times, sizeof times, ", %lld runs", (long long)v->repeats);
        pl_host->note_add(ctx, "validation %s%s: runner %s, timeout %.0f s%s%s: %s%s%s%s", r->name,
                          workflow_chosen(ctx, r) ? "" : " (not selected)",
                          v->runner ? v->runner : c->runner, v->timeout_s, times,
                          v->shell ? ", shell" : "", cmd,
                          v->depends_on.n ? " (after its dependencies)" : "",
                          vrun_expect_term(r) ? "; must end with " : "",
                          vrun_expect_term(r) ? vrun_expect_term(r) : "");
        for (size_t k = 0; k < v->acceptance.n; k++)
            describe_check(
                ctx,
                (const relhost_check_spec *)(const void *)((const char *)v->acceptance.v +
                                                           k * v->acceptance.elem_size),
                v->repeats > 1);
    }
    return 0;
}

const relhost_plugin pl_plugin = {
    PL_PLUGIN_BASE("workflow", "1.2.0", workflow_options, struct workflow_conf),
    .description = "run validation jobs and hold their metrics against acceptance checks",
    .gate = PL_GATE_OPS(workflow, .close = workflow_close),
};
