/* SPDX-License-Identifier: MIT */
/* Where values come from: the optstore (what a filled conf owns, each value's file:line, the
 * references to resolve) and the marks of settings made by --set. */
#include "plan/options.h"
#include "plan/options_int.h"
#include "base/error.h"

#include "base/util.h"

#include <stdlib.h>
#include <string.h>

void *opt_own(optstore *st, void *p)
{
    if (st->nalloc == st->capalloc) {
        st->capalloc = st->capalloc ? st->capalloc * 2 : 16;
        st->allocs = xrealloc(st->allocs, st->capalloc * sizeof *st->allocs);
    }
    st->allocs[st->nalloc++] = p;
    return p;
}

char *opt_own_str(optstore *st, const char *s) { return opt_own(st, xstrdup(s)); }

static char *plan_dir_for_where;
static struct set_mark {
    const config_setting_t *s;
    char *arg;
} * marks;
static size_t nmarks;

void options_set_plan_dir(const char *dir)
{
    free(plan_dir_for_where);
    plan_dir_for_where = dir ? xstrdup(dir) : NULL;
}

void options_mark_set(const config_setting_t *s, const char *arg)
{
    /* A later --set of the same setting (or a new setting at a reused address) replaces the
     * mark: the error must name the --set that produced the value. */
    for (size_t i = 0; i < nmarks; i++)
        if (marks[i].s == s) {
            free(marks[i].arg);
            marks[i].arg = xstrdup(arg);
            return;
        }
    marks = xrealloc(marks, (nmarks + 1) * sizeof *marks);
    marks[nmarks].s = s;
    marks[nmarks].arg = xstrdup(arg);
    nmarks++;
}

void options_forget_marks(void)
{
    for (size_t i = 0; i < nmarks; i++)
        free(marks[i].arg);
    free(marks);
    marks = NULL;
    nmarks = 0;
    options_set_plan_dir(NULL);
}

char *options_where_of(const config_setting_t *s)
{
    const char *f;
    for (size_t i = 0; i < nmarks; i++)
        if (marks[i].s == s)
            return xasprintf("--set %s", marks[i].arg);
    f = config_setting_source_file(s);
    if (!f)
        return xstrdup("the plan");
    if (f[0] != '/' && plan_dir_for_where) {
        char *abs = path_absolute(f, plan_dir_for_where);
        char *w = xasprintf("%s:%u", abs, config_setting_source_line(s));
        free(abs);
        return w;
    }
    return xasprintf("%s:%u", f, config_setting_source_line(s));
}

void opt_remember(optstore *st, const void *field, const config_setting_t *s)
{
    if (!s)
        return;
    if (st->nw == st->capw) {
        st->capw = st->capw ? st->capw * 2 : 32;
        st->w = xrealloc(st->w, st->capw * sizeof *st->w);
    }
    st->w[st->nw].field = field;
    st->w[st->nw].where = where_of(s);
    st->nw++;
}

void opt_add_ref(optstore *st, relhost_ref_kind kind, const char *name, const config_setting_t *s)
{
    if (st->nrefs == st->caprefs) {
        st->caprefs = st->caprefs ? st->caprefs * 2 : 8;
        st->refs = xrealloc(st->refs, st->caprefs * sizeof *st->refs);
    }
    st->refs[st->nrefs].kind = kind;
    st->refs[st->nrefs].name = xstrdup(name);
    st->refs[st->nrefs].where = s ? where_of(s) : xstrdup("the plan");
    st->nrefs++;
}

const char *optstore_where(const optstore *st, const void *field)
{
    if (!st)
        return NULL;
    for (size_t i = 0; i < st->nw; i++)
        if (st->w[i].field == field)
            return st->w[i].where;
    return NULL;
}

size_t optstore_nrefs(const optstore *st) { return st ? st->nrefs : 0; }

void optstore_ref(const optstore *st, size_t i, relhost_ref_kind *kind, const char **name,
                  const char **where)
{
    *kind = st->refs[i].kind;
    *name = st->refs[i].name;
    *where = st->refs[i].where;
}

void optstore_free(optstore *st)
{
    if (!st)
        return;
    for (size_t i = 0; i < st->nalloc; i++)
        free(st->allocs[i]);
    for (size_t i = 0; i < st->nw; i++)
        free(st->w[i].where);
    for (size_t i = 0; i < st->nrefs; i++) {
        free(st->refs[i].name);
        free(st->refs[i].where);
    }
    free(st->allocs);
    free(st->w);
    free(st->refs);
    free(st);
}

int options_fail_at(const config_setting_t *s, const char *lead, const char *fmt, va_list ap)
{
    char *w = s ? options_where_of(s) : NULL;
    char *msg = xvasprintf(fmt, ap);
    error_set(RELHOST_EINVAL, "%s%s%s%s", w ? w : "", w ? ": " : "", lead ? lead : "", msg);
    free(w);
    free(msg);
    return RELHOST_EINVAL;
}
