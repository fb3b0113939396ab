/* SPDX-License-Identifier: MIT */
/* plan_slices.c - the plan's step lists parsed a slice at a time (plan_slices.h says why). */
#include "plan/plan_slices.h"

#include "base/util.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

/* A slice ends after this many bytes of text or this many elements, whichever comes first:
 * its tree is then at most about a MiB. */
#define SLICE_BYTES (64u << 10)
#define SLICE_ELEMS 512u

static const char *const cut_keys[] = {"steps", "on_promote", "on_rollback"};
#define NCUT (sizeof cut_keys / sizeof *cut_keys)

/* One top-level list of the text: sep[0] is the offset of its '(', sep[i] (0 < i < n) of the
 * comma before element i, sep[n] of its ')'; line[i] is the line sep[i] is on. */
struct cut_list {
    size_t *sep;
    unsigned *line;
    size_t n, cap;
    int seen;      /* the key was found at the top level (twice: not cut) */
    int cut;       /* cut out of the text the tree is parsed from */
    int unsafe;    /* an @include inside, or an element that is empty */
    int has_value; /* the current element has something in it */
    int depth;     /* nesting depth inside the list's '(' */
};

struct plan_slices {
    char *text;
    size_t len;
    const char *path; /* borrowed: the hook of every parsed root */
    char *include_dir;
    int options;
    struct cut_list lists[NCUT];
};

static void cut_push(struct cut_list *l, size_t off, unsigned line)
{
    if (l->n + 1 >= l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->sep = xrealloc(l->sep, l->cap * sizeof *l->sep);
        l->line = xrealloc(l->line, l->cap * sizeof *l->line);
    }
    l->sep[l->n] = off;
    l->line[l->n] = line;
}

/* The whole file, NUL-terminated; NULL when it cannot be read as a regular file. */
static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "re");
    struct stat sb;
    char *t;
    if (!f)
        return NULL;
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size < 0) {
        fclose(f);
        return NULL;
    }
    t = xmalloc((size_t)sb.st_size + 1);
    *len = fread(t, 1, (size_t)sb.st_size, f);
    t[*len] = '\0';
    if (*len != (size_t)sb.st_size || getc(f) != EOF || memchr(t, '\0', *len)) {
        free(t);
        t = NULL;
    }
    fclose(f);
    return t;
}

/* Past a string, a comment or blank space starting at i (counting lines); i when none. */
static size_t skip_gap(const char *t, size_t len, size_t i, unsigned *line)
{
    if (t[i] == '"') {
        for (i++; i < len && t[i] != '"'; i++) {
            if (t[i] == '\\')
                i++;
            else if (t[i] == '\n')
                (*line)++;
        }
        return i < len ? i + 1 : len;
    }
    if (t[i] == '#' || (t[i] == '/' && t[i + 1] == '/')) {
        while (i < len && t[i] != '\n')
            i++;
        return i;
    }
    if (t[i] == '/' && t[i + 1] == '*') {
        for (i += 2; i < len && !(t[i] == '*' && t[i + 1] == '/'); i++)
            if (t[i] == '\n')
                (*line)++;
        return i < len ? i + 2 : len;
    }
    return i;
}

/* At a top-level name at i: when it is one of cut_keys followed by '=' or ':' and '(', start
 * that list. Returns the offset to go on from. */
static size_t top_name(plan_slices *sl, size_t i, unsigned *line, struct cut_list **cur)
{
    const char *t = sl->text;
    size_t e = i;
    while (e < sl->len && (isalnum((unsigned char)t[e]) || strchr("_-*", t[e])))
        e++;
    for (size_t k = 0; k < NCUT; k++) {
        struct cut_list *l = &sl->lists[k];
        size_t j = e;
        if (strlen(cut_keys[k]) != e - i || memcmp(t + i, cut_keys[k], e - i) != 0)
            continue;
        l->seen++;
        while (j < sl->len && isspace((unsigned char)t[j]) && t[j] != '\n')
            j++;
        if (j < sl->len && (t[j] == '=' || t[j] == ':'))
            j++;
        else
            return e;
        while (j < sl->len && isspace((unsigned char)t[j]) && t[j] != '\n')
            j++;
        if (j < sl->len && t[j] == '(' && l->seen == 1) {
            cut_push(l, j, *line);
            l->depth = 1;
            *cur = l;
            return j + 1;
        }
        return e;
    }
    return e;
}

/* One character inside the list being cut (t[i] is no string, comment or newline). */
static void in_list(struct cut_list *l, const char *t, size_t i, unsigned line,
                    struct cut_list **cur)
{
    char c = t[i];
    if (c == '(' || c == '[' || c == '{')
        l->depth++;
    if (c == ')' || c == ']' || c == '}')
        l->depth--;
    if (l->depth == 0 || (c == ',' && l->depth == 1)) {
        l->unsafe |= !l->has_value;
        l->has_value = 0;
        l->n++;
        cut_push(l, i, line);
        if (l->depth == 0)
            *cur = NULL;
        return;
    }
    if (!isspace((unsigned char)c))
        l->has_value = 1;
    if (c == '@')
        l->unsafe = 1;
}

/* Find the lists: 0 when the text nests cleanly, -1 otherwise. */
static int scan(plan_slices *sl)
{
    const char *t = sl->text;
    struct cut_list *cur = NULL;
    unsigned line = 1;
    int depth = 0;
    for (size_t i = 0; i < sl->len;) {
        size_t j = skip_gap(t, sl->len, i, &line);
        if (j != i) {
            if (cur && t[i] == '"')
                cur->has_value = 1;
            i = j;
            continue;
        }
        if (t[i] == '\n') {
            line++;
        } else if (cur) {
            in_list(cur, t, i, line, &cur);
        } else if (t[i] == '(' || t[i] == '[' || t[i] == '{') {
            depth++;
        } else if (t[i] == ')' || t[i] == ']' || t[i] == '}') {
            if (--depth < 0)
                return -1;
        } else if (depth == 0 && (isalpha((unsigned char)t[i]) || t[i] == '*')) {
            i = top_name(sl, i, &line, &cur);
            continue;
        }
        i++;
    }
    return depth == 0 && !cur ? 0 : -1;
}

static int set_targets(const char *const *sets, const char *key)
{
    size_t n = strlen(key);
    for (size_t i = 0; sets && sets[i]; i++)
        if (strncmp(sets[i], key, n) == 0 && (sets[i][n] == '.' || sets[i][n] == '='))
            return 1;
    return 0;
}

static void slice_cfg_init(config_t *c, const plan_slices *sl)
{
    config_init(c);
    config_set_include_dir(c, sl->include_dir);
    config_set_options(c, sl->options);
}

/* The text the tree is parsed from: the cut lists' insides blanked, their newlines kept. */
static int parse_rest(config_t *cfg, plan_slices *sl)
{
    char *rest = xmalloc(sl->len + 1);
    int ok;
    memcpy(rest, sl->text, sl->len + 1);
    for (size_t k = 0; k < NCUT; k++) {
        const struct cut_list *l = &sl->lists[k];
        if (!l->cut)
            continue;
        for (size_t i = l->sep[0] + 1; i < l->sep[l->n]; i++)
            if (rest[i] != '\n')
                rest[i] = ' ';
    }
    ok = config_read_string(cfg, rest);
    free(rest);
    if (ok)
        config_setting_set_hook(config_root_setting(cfg), (void *)sl->path);
    return ok;
}

/* Every slice of every cut list parses. */
static int slices_parse(const plan_slices *sl)
{
    for (size_t k = 0; k < NCUT; k++) {
        plan_slice_walk w;
        int ok = 1;
        if (!sl->lists[k].cut)
            continue;
        plan_slice_begin(&w, sl, cut_keys[k]);
        while (plan_slice_next(&w))
            ;
        ok = w.next == sl->lists[k].n;
        plan_slice_end(&w);
        if (!ok)
            return 0;
    }
    return 1;
}

int plan_slices_read(config_t *cfg, const char *path, const char *const *sets, plan_slices **out)
{
    plan_slices *sl = xcalloc(1, sizeof *sl);
    int any = 0;
    *out = NULL;
    sl->text = read_all(path, &sl->len);
    sl->path = path;
    sl->include_dir = config_get_include_dir(cfg) ? xstrdup(config_get_include_dir(cfg)) : NULL;
    sl->options = config_get_options(cfg);
    if (!sl->text || scan(sl) != 0) {
        plan_slices_free(sl);
        return 0;
    }
    for (size_t k = 0; k < NCUT; k++) {
        struct cut_list *l = &sl->lists[k];
        l->cut = l->seen == 1 && l->n > 0 && !l->unsafe && !set_targets(sets, cut_keys[k]);
        any |= l->cut;
    }
    if (!any || !parse_rest(cfg, sl) || !slices_parse(sl)) {
        plan_slices_free(sl);
        return 0;
    }
    /* The slices are read again from the file as the steps are filled: a plan with a huge
     * value is not held as text beside its tree. */
    free(sl->text);
    sl->text = NULL;
    *out = sl;
    return 1;
}

void plan_slices_free(plan_slices *sl)
{
    if (!sl)
        return;
    for (size_t k = 0; k < NCUT; k++) {
        free(sl->lists[k].sep);
        free(sl->lists[k].line);
    }
    free(sl->text);
    free(sl->include_dir);
    free(sl);
}

int plan_slices_count(const plan_slices *sl, const char *key)
{
    for (size_t k = 0; sl && k < NCUT; k++)
        if (strcmp(cut_keys[k], key) == 0)
            return sl->lists[k].cut ? (int)sl->lists[k].n : -1;
    return -1;
}

void plan_slice_begin(plan_slice_walk *w, const plan_slices *sl, const char *key)
{
    memset(w, 0, sizeof *w);
    w->sl = sl;
    w->list = -1;
    for (size_t k = 0; sl && k < NCUT; k++)
        if (strcmp(cut_keys[k], key) == 0 && sl->lists[k].cut)
            w->list = (int)k;
}

/* Elements a..b-1 of list l as text libconfig reads with the file's line numbers: as many
 * newlines as lines before the first one, then the elements as a list. From the text while the
 * slices keep it, else from the file. NULL when the file no longer holds them. */
static char *slice_text(const plan_slices *sl, const struct cut_list *l, size_t a, size_t b)
{
    size_t pad = l->line[a] - 1, bytes = l->sep[b] - l->sep[a] - 1;
    char *t = xmalloc(pad + 3 + bytes + 3);
    char *body = t + pad + 3;
    memset(t, '\n', pad);
    memcpy(t + pad, "x=(", 3);
    if (sl->text) {
        memcpy(body, sl->text + l->sep[a] + 1, bytes);
    } else {
        int fd = open(sl->path, O_RDONLY | O_CLOEXEC);
        ssize_t got = fd < 0 ? -1 : pread(fd, body, bytes, (off_t)(l->sep[a] + 1));
        if (fd >= 0)
            close(fd);
        if (got != (ssize_t)bytes) {
            free(t);
            return NULL;
        }
    }
    memcpy(body + bytes, ");", 3);
    return t;
}

config_setting_t *plan_slice_next(plan_slice_walk *w)
{
    const struct cut_list *l;
    size_t a, b;
    char *t;
    int ok;
    if (w->parsed)
        config_destroy(&w->cfg);
    w->parsed = 0;
    if (w->list < 0 || w->next >= w->sl->lists[w->list].n)
        return NULL;
    l = &w->sl->lists[w->list];
    a = w->next;
    for (b = a + 1; b < l->n && b - a < SLICE_ELEMS && l->sep[b] - l->sep[a] < SLICE_BYTES; b++)
        ;
    if (!(t = slice_text(w->sl, l, a, b))) {
        w->failed = 1;
        return NULL;
    }
    slice_cfg_init(&w->cfg, w->sl);
    ok = config_read_string(&w->cfg, t);
    free(t);
    w->parsed = 1;
    if (!ok || !config_lookup(&w->cfg, "x") ||
        config_setting_length(config_lookup(&w->cfg, "x")) != (int)(b - a)) {
        w->failed = 1;
        return NULL;
    }
    config_setting_set_hook(config_root_setting(&w->cfg), (void *)w->sl->path);
    w->next = b;
    return config_lookup(&w->cfg, "x");
}

void plan_slice_end(plan_slice_walk *w)
{
    if (w->parsed)
        config_destroy(&w->cfg);
    w->parsed = 0;
}
