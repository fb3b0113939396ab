/* SPDX-License-Identifier: MIT */
/* Where values come from: the optstore (what a filled conf owns, each value's file:line, the
 * references to resolve) and the marks of settings made by --set. */
#include "plan/options.h"
#include "plan/options_int.h"
#include "base/error.h"

#include "base/util.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

struct opt_block {
    struct opt_block *next;
    uint32_t used, cap;
    char data[]; /* at offset 16: as aligned as malloc's blocks are, at least OPT_ALIGN */
};

/* A store's first block comes with it (one allocation): room for a small step's few values. */
#define OPT_BLOCK_FIRST 80u
#define OPT_BLOCK_MAX (64u << 10)
/* Values are pointers, integers, doubles and structs of them (no long double in a conf). */
#define OPT_ALIGN 8u

struct optstore_first {
    optstore st;
    struct opt_block b;
};

optstore *opt_store_new(void)
{
    struct optstore_first *f = xcalloc(1, sizeof *f + OPT_BLOCK_FIRST);
    f->b.cap = OPT_BLOCK_FIRST;
    f->st.blocks = &f->b;
    return &f->st;
}

static void *block_take(optstore *st, size_t bytes, size_t align)
{
    struct opt_block *b = st->blocks;
    size_t at = (b->used + align - 1) / align * align;
    if (bytes > UINT32_MAX - OPT_BLOCK_MAX)
        return xmalloc((size_t)-1); /* the out-of-memory abort: no plan value is that big */
    if (at + bytes > b->cap) {
        size_t cap = b->cap * 2 > OPT_BLOCK_MAX ? OPT_BLOCK_MAX : b->cap * 2;
        if (cap < bytes)
            cap = bytes;
        b = xmalloc(sizeof *b + cap);
        b->cap = (uint32_t)cap;
        b->used = 0;
        /* a block made for one big value goes behind the current one, which keeps filling */
        if (cap == bytes && bytes > OPT_BLOCK_FIRST) {
            b->next = st->blocks->next;
            st->blocks->next = b;
        } else {
            b->next = st->blocks;
            st->blocks = b;
        }
        at = 0;
    }
    b->used = (uint32_t)(at + bytes);
    return b->data + at;
}

void *opt_alloc(optstore *st, size_t n, size_t size)
{
    void *p;
    if (size && n > ((size_t)-1 - 64) / size)
        return xmalloc((size_t)-1); /* the out-of-memory abort, as for any allocation */
    p = block_take(st, n * size > 0 ? n * size : 1, OPT_ALIGN);
    memset(p, 0, n * size);
    return p;
}

char *opt_own_str(optstore *st, const char *s)
{
    size_t n = strlen(s) + 1;
    return memcpy(block_take(st, n, 1), s, n);
}

char *opt_keep(optstore *st, char *s)
{
    char *c = opt_own_str(st, s);
    free(s);
    return c;
}

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

/* The sources of every location remembered (files, "--set ARG", "the plan"), each once: a
 * value's location is an index here and a line, not a string of its own. Kept for the process:
 * a plan names few files. Index 0 is no source. */
static char **srcs;
static uint32_t nsrcs = 1, capsrcs;

static uint32_t src_intern(const char *name)
{
    static uint32_t last;
    if (last && strcmp(srcs[last], name) == 0)
        return last;
    for (uint32_t i = 1; i < nsrcs; i++)
        if (strcmp(srcs[i], name) == 0)
            return last = i;
    if (nsrcs >= capsrcs) {
        capsrcs = capsrcs ? capsrcs * 2 : 8;
        srcs = xrealloc(srcs, capsrcs * sizeof *srcs);
    }
    srcs[nsrcs] = xstrdup(name);
    return last = nsrcs++;
}

const char *options_intern(const char *s)
{
    uint32_t i = src_intern(s); /* first: it may move srcs */
    return srcs[i];
}

/* A setting parsed from a slice of the plan's text (core/plan/plan_slices.c) has no file of its
 * own in libconfig: the root of its config holds the plan's path as its hook. */
static const char *setting_file(const config_setting_t *s)
{
    const char *f = config_setting_source_file(s);
    if (!f && s->config && s->config->root)
        f = config_setting_get_hook(s->config->root);
    return f;
}

options_loc options_loc_of(const config_setting_t *s)
{
    options_loc l = {0, 0};
    const char *f;
    for (size_t i = 0; i < nmarks; i++)
        if (marks[i].s == s) {
            char *w = xasprintf("--set %s", marks[i].arg);
            l.src = src_intern(w);
            free(w);
            return l;
        }
    f = setting_file(s);
    if (!f) {
        l.src = src_intern("the plan");
        return l;
    }
    l.line = config_setting_source_line(s);
    if (f[0] != '/' && plan_dir_for_where) {
        char *abs = path_absolute(f, plan_dir_for_where);
        l.src = src_intern(abs);
        free(abs);
    } else {
        l.src = src_intern(f);
    }
    return l;
}

char *options_loc_text(options_loc l)
{
    if (!l.src)
        return xstrdup("the plan");
    return l.line ? xasprintf("%s:%u", srcs[l.src], l.line) : xstrdup(srcs[l.src]);
}

char *options_where_of(const config_setting_t *s) { return options_loc_text(options_loc_of(s)); }

void opt_remember(optstore *st, const void *field, const config_setting_t *s)
{
    if (!s)
        return;
    if (st->nw == st->capw) {
        uint32_t cap = st->capw ? st->capw * 2 : 1;
        struct where_ent *w;
        if (st->capw > OPT_WHERE_IN_BLOCKS) {
            w = xrealloc(st->w, cap * sizeof *w); /* moves the entries itself */
        } else {
            /* up to OPT_WHERE_IN_BLOCKS in the store's blocks (the outgrown small arrays stay
             * there, unused), then on the heap */
            w = cap <= OPT_WHERE_IN_BLOCKS ? opt_alloc(st, cap, sizeof *w)
                                           : xmalloc(cap * sizeof *w);
            if (st->nw)
                memcpy(w, st->w, st->nw * sizeof *w);
        }
        st->capw = cap;
        st->w = w;
    }
    st->w[st->nw].field = field;
    st->w[st->nw].loc = options_loc_of(s);
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
    for (const struct where_text *t = st->texts; t; t = t->next)
        if (t->field == field)
            return t->text;
    for (size_t i = 0; i < st->nw; i++)
        if (st->w[i].field == field) {
            /* made once, kept by the store: callers hold it until optstore_free() */
            struct where_text *t = xmalloc(sizeof *t);
            t->field = field;
            t->text = options_loc_text(st->w[i].loc);
            t->next = st->texts;
            ((optstore *)st)->texts = t;
            return t->text;
        }
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
    while (st->texts) {
        struct where_text *t = st->texts;
        st->texts = t->next;
        free(t->text);
        free(t);
    }
    if (st->capw > OPT_WHERE_IN_BLOCKS)
        free(st->w);
    for (size_t i = 0; i < st->nrefs; i++) {
        free(st->refs[i].name);
        free(st->refs[i].where);
    }
    free(st->refs);
    while (st->blocks) {
        struct opt_block *b = st->blocks;
        st->blocks = b->next;
        if (b != &((struct optstore_first *)(void *)st)->b) /* that one is st's own */
            free(b);
    }
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
