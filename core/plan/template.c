/* SPDX-License-Identifier: MIT */
#include "plan/template.h"

#include "base/error.h"
#include "base/util.h"
#include "plan/keycheck.h"

#include <relhost/plugin.h>
#include <stdlib.h>
#include <string.h>

/* rollback_* are set for the on_rollback steps of a rollback. */
static const char *const run_names[] = {
    "version",       "rc",          "commit",          "step", "staged_dir", "worktree",
    "rollback_from", "rollback_to", "rollback_reason", NULL};
/* nodes and condition are the workflow gate's matrix axes; repeat is k of a repeated job. */
static const char *const job_names[] = {"validation", "attempt",   "repeat",
                                        "nodes",      "condition", NULL};

static strvec names, values;

static int in_list(const char *const *list, const char *s, size_t n)
{
    for (size_t i = 0; list && (n == (size_t)-1 ? list[i] != NULL : i < n); i++)
        if (strcmp(list[i], s) == 0)
            return 1;
    return 0;
}

void template_set(const char *name, const char *value)
{
    for (size_t i = 0; i < names.n; i++) {
        if (strcmp(names.v[i], name) == 0) {
            free(values.v[i]);
            if (value) {
                values.v[i] = xstrdup(value);
            } else {
                /* Unset: move the last pair into this slot. */
                free(names.v[i]);
                names.v[i] = names.v[names.n - 1];
                values.v[i] = values.v[values.n - 1];
                names.v[--names.n] = NULL;
                values.v[--values.n] = NULL;
            }
            return;
        }
    }
    if (!value)
        return;
    sv_push(&names, name);
    sv_push(&values, value);
}

void template_reset(void)
{
    sv_free(&names);
    sv_free(&values);
}

int template_known(const char *name, const char *const *extra, size_t n_extra)
{
    return in_list(run_names, name, (size_t)-1) || in_list(job_names, name, (size_t)-1) ||
           in_list(extra, name, n_extra);
}

const char *template_value(const char *name)
{
    for (size_t i = 0; i < names.n; i++)
        if (strcmp(names.v[i], name) == 0)
            return values.v[i];
    return NULL;
}

#define run_value template_value

/* Walk tmpl; for each placeholder call `on`; literal text goes to out when out != NULL. */
static int walk(const char *tmpl, strbuf *out, int (*on)(const char *name, strbuf *out, void *arg),
                void *arg)
{
    const char *p = tmpl;
    while (*p) {
        if (p[0] == '{' && p[1] == '{') {
            if (out)
                sb_putc(out, '{');
            p += 2;
        } else if (p[0] == '}' && p[1] == '}') {
            if (out)
                sb_putc(out, '}');
            p += 2;
        } else if (p[0] == '{') {
            const char *end = strchr(p + 1, '}');
            char name[128];
            size_t n;
            int rc;
            if (!end)
                return error_set(RELHOST_EINVAL,
                                 "unclosed '{' in template \"%s\" (write {{ for a literal brace)",
                                 tmpl);
            n = (size_t)(end - p - 1);
            if (n == 0 || n >= sizeof name)
                return error_set(RELHOST_EINVAL, "bad placeholder in template \"%s\"", tmpl);
            memcpy(name, p + 1, n);
            name[n] = '\0';
            if ((rc = on(name, out, arg)) != 0)
                return rc;
            p = end + 1;
        } else {
            if (out)
                sb_putc(out, *p);
            p++;
        }
    }
    return 0;
}

struct check_arg {
    const char *tmpl;
    const char *const *extra;
    size_t n_extra;
};

static int on_check(const char *name, strbuf *out, void *arg)
{
    struct check_arg *a = arg;
    (void)out;
    if (template_known(name, a->extra, a->n_extra))
        return 0;
    {
        strbuf legal;
        strvec known = {0};
        char *hint;
        sb_init(&legal);
        for (size_t i = 0; run_names[i]; i++)
            sv_push(&known, run_names[i]);
        for (size_t i = 0; job_names[i]; i++)
            sv_push(&known, job_names[i]);
        for (size_t i = 0; i < a->n_extra; i++)
            sv_push(&known, a->extra[i]);
        for (size_t i = 0; i < known.n; i++)
            sb_printf(&legal, "{%s} ", known.v[i]);
        hint = keycheck_hint(name, (const char *const *)known.v, known.n, "{", "}");
        error_set(RELHOST_EINVAL,
                  "unknown placeholder {%s} in \"%s\"%s; known: %s(write {{ for a literal brace)",
                  name, a->tmpl, hint, legal.s);
        free(hint);
        sv_free(&known);
        sb_free(&legal);
    }
    return RELHOST_EINVAL;
}

int template_check(const char *tmpl, const char *const *extra, size_t n_extra)
{
    struct check_arg a = {tmpl, extra, n_extra};
    return walk(tmpl, NULL, on_check, &a);
}

struct expand_arg {
    const char *tmpl;
    const char *const *vars;
    size_t n;
    int keep_job;
};

static int on_expand(const char *name, strbuf *out, void *arg)
{
    struct expand_arg *a = arg;
    const char *v = NULL;
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->vars[2 * i], name) == 0)
            v = a->vars[2 * i + 1];
    if (!v)
        v = run_value(name);
    if (v) {
        sb_puts(out, v);
        return 0;
    }
    if (a->keep_job && !in_list(run_names, name, (size_t)-1)) {
        sb_printf(out, "{%s}", name);
        return 0;
    }
    if (in_list(run_names, name, (size_t)-1))
        return error_set(RELHOST_EINVAL,
                         "placeholder {%s} in \"%s\" has no value in this run (e.g. {commit} "
                         "needs the plan's repo)",
                         name, a->tmpl);
    return error_set(RELHOST_EINVAL, "unknown placeholder {%s} in \"%s\"", name, a->tmpl);
}

int template_expand(const char *tmpl, const char *const *vars, size_t n, int keep_job, char **out)
{
    struct expand_arg a = {tmpl, vars, n, keep_job};
    strbuf b;
    int rc;
    sb_init(&b);
    rc = walk(tmpl, &b, on_expand, &a);
    if (rc != 0) {
        sb_free(&b);
        *out = NULL;
        return rc;
    }
    *out = sb_take(&b);
    return 0;
}
