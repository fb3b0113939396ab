/* SPDX-License-Identifier: MIT */
/*
 * metrics_regex's pattern compiler, open()'s work on each default, preset and plan pattern: the
 * PCRE2 compile, its value and unit groups, its reducers and the keys they post, its prefilter
 * literal (given or derived from the regex), and the grouping of patterns by literal so that one
 * search of a chunk serves every pattern of a group.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/pl_host.h"
#include "metrics_regex_int.h"

/* Plugin-chosen names become metric keys and report columns: keep them to a safe alphabet. */
static int mr_valid_key(const char *s)
{
    size_t n = 0;
    for (; s[n] != '\0'; n++) {
        unsigned char c = (unsigned char)s[n];
        if (!mr_is_alpha(c) && !mr_is_digit(c) && c != '_' && c != '.' && c != '-')
            return 0;
    }
    return n > 0 && n <= 128;
}

/* ---- Prefilter literals ---------------------------------------------------------------------- */

/* How common a byte is in training logs; the rarest two of a literal are compared first. */
static int mr_commonness(unsigned char c)
{
    static const char order[] = " 0123456789etaoinsrlhdcu.:=_-,/pmfgwybv|k()x[]jqz";
    const char *p = c != '\0' ? strchr(order, mr_lower(c)) : NULL;
    return p != NULL ? (int)(sizeof(order) - (size_t)(p - order)) : 0;
}

void mr_lit_set(struct mr_lit *l, const unsigned char *s, size_t n)
{
    if (n > MR_LIT_MAX)
        n = MR_LIT_MAX; /* a prefix of a required literal is still required */
    l->len = n;
    for (size_t i = 0; i < n; i++) {
        l->fold[i] = mr_lower(s[i]);
        l->mask[i] = mr_is_alpha(s[i]) ? 0x20 : 0x00;
    }
    l->i1 = l->i2 = 0;
    for (size_t i = 0; i < n; i++)
        if (mr_commonness(l->fold[i]) < mr_commonness(l->fold[l->i1]))
            l->i1 = i;
    l->i2 = l->i1 == 0 && n > 1 ? 1 : 0;
    for (size_t i = 0; i < n; i++)
        if (i != l->i1 && mr_commonness(l->fold[i]) < mr_commonness(l->fold[l->i2]))
            l->i2 = i;
}

static int mr_lit_equal(const struct mr_lit *a, const struct mr_lit *b)
{
    return a->len == b->len && memcmp(a->fold, b->fold, a->len) == 0;
}

/* ---- Deriving a literal from a regex --------------------------------------------------------- */

/* A regex read left to right: the current run of plain bytes and the longest run so far. */
struct lit_scan {
    unsigned char run[MR_LIT_MAX];
    size_t run_len;
    unsigned char *best;
    size_t best_len, cap;
    int *at_start;
    size_t atoms;     /* atoms before the current one that may consume bytes */
    size_t run_atoms; /* atoms before the run's first byte */
};

static void lit_run_end(struct lit_scan *s)
{
    if (s->run_len > s->best_len) {
        s->best_len = s->run_len < s->cap ? s->run_len : s->cap;
        memcpy(s->best, s->run, s->best_len);
        *s->at_start = s->run_atoms == 0;
    }
    s->run_len = 0;
}

static void lit_run_push(struct lit_scan *s, unsigned char byte)
{
    if (s->run_len == sizeof(s->run))
        lit_run_end(s);
    if (s->run_len == 0)
        s->run_atoms = s->atoms;
    s->run[s->run_len++] = byte;
    s->atoms++;
}

/* q just after a class's "[": the byte after its "]", or NULL when it cannot be read. "]" first
 * (after an optional "^") is literal, escapes and [:posix:] names inside are skipped whole. */
static const char *skip_class(const char *q)
{
    if (*q == '^')
        q++;
    if (*q == ']')
        q++;
    while (*q != '\0' && *q != ']') {
        if (*q == '\\' && q[1] != '\0')
            q += 2;
        else if (*q == '[' && q[1] == ':') {
            const char *e = strstr(q + 2, ":]");
            if (e == NULL)
                return NULL;
            q = e + 2;
        } else
            q++;
    }
    return *q == ']' ? q + 1 : NULL;
}

/* p at a group's "(": the byte after its ")", or NULL. Option settings such as (?x) change how
 * the rest reads: refused; every other group is skipped whole (it may be optional or an
 * alternation), a class inside it may hold parentheses. */
static const char *skip_group(const char *p)
{
    if (p[1] == '?') {
        for (const char *q = p + 2; mr_is_alpha((unsigned char)*q) || *q == '-' || *q == '^'; q++)
            if (*q == 'x')
                return NULL;
    }
    int depth = 0;
    const char *q = p;
    while (*q != '\0') {
        if (*q == '\\' && q[1] != '\0') {
            q += 2;
            continue;
        }
        if (*q == '[') {
            q = skip_class(q + 1);
            if (q == NULL)
                return NULL;
            continue;
        }
        if (*q == '(')
            depth++;
        else if (*q == ')' && --depth == 0)
            break;
        q++;
    }
    return *q == ')' ? q + 1 : NULL;
}

/* p at a quantifier (? * + or {n} {n,} {n,m} {,m}): the byte after it and its lazy or
 * possessive mark, its minimum in *min; NULL for a "{" PCRE2 would read as literal text. */
static const char *skip_quantifier(const char *p, unsigned long *min)
{
    const char *q = p + 1;
    *min = *p == '+' ? 1 : 0;
    if (*p == '{') {
        int digits = 0;
        while (mr_is_digit((unsigned char)*q)) {
            *min = *min * 10 + (unsigned long)(*q - '0');
            if (*min > 100000)
                return NULL;
            q++;
            digits = 1;
        }
        if (*q == ',') {
            q++;
            while (mr_is_digit((unsigned char)*q)) {
                q++;
                digits = 1;
            }
        }
        if (*q != '}' || !digits)
            return NULL;
        q++;
    }
    if (*q == '?' || *q == '+')
        q++; /* lazy or possessive */
    return q;
}

/*
 * Derive a literal that every match of `re` contains, or return 0 (no prefilter: the regex
 * runs on every line). Only top-level literal bytes count; groups, classes, escapes other than
 * escaped punctuation, and anything we do not fully understand end a run or give up, so the
 * answer is always safe (a shorter literal than possible, never a wrong one). *at_start is set
 * when nothing that consumes bytes comes before the literal, i.e. every match starts with it.
 * Called only on a regex that PCRE2 compiled, so its syntax is valid.
 */
size_t mr_derive_literal(const char *re, unsigned char *best, size_t cap, int *at_start)
{
    struct lit_scan s = {.best = best, .cap = cap, .at_start = at_start};
    int last_literal = 0; /* the previous atom is the last byte of the run */
    const char *p = re;

    *at_start = 0;
    while (*p != '\0') {
        unsigned char c = (unsigned char)*p;
        if (c == '\\') {
            unsigned char n = (unsigned char)p[1];
            if (n == '\0')
                return 0;
            if (!mr_is_alpha(n) && !mr_is_digit(n)) {
                if (n >= 0x80)
                    return 0;
                lit_run_push(&s, n); /* escaped punctuation is that byte */
                last_literal = 1;
                p += 2;
                continue;
            }
            /* One-character escapes (classes, assertions, control characters). Others (\x, \p,
             * \Q, \g, \k, back-references...) take arguments: give up rather than misread. */
            if (strchr("dDsSwWbBhHvVRAzZGKXCntrfea", n) == NULL || (n == 'N' && p[2] == '{'))
                return 0;
            lit_run_end(&s);
            if (strchr("bBAG", n) == NULL)
                s.atoms++; /* \b, \B, \A and \G consume nothing */
            last_literal = 0;
            p += 2;
            continue;
        }
        if (c == '[' || c == '(') {
            const char *q = c == '[' ? skip_class(p + 1) : skip_group(p);
            if (q == NULL)
                return 0;
            lit_run_end(&s);
            s.atoms++;
            last_literal = 0;
            p = q;
            continue;
        }
        if (c == '|' || c == ')')
            return 0; /* a top-level alternation: no literal is common to every branch */
        if (c == '?' || c == '*' || c == '+' || c == '{') {
            unsigned long min = 0;
            const char *q = skip_quantifier(p, &min);
            if (q == NULL)
                return 0;
            if (last_literal && s.run_len > 0 && min == 0)
                s.run_len--; /* the byte may be absent */
            lit_run_end(&s);
            last_literal = 0;
            p = q;
            continue;
        }
        if (c == '.' || c == '^' || c == '$' || c >= 0x80 || c == '\n') {
            lit_run_end(&s);
            if (c != '^')
                s.atoms++;
            last_literal = 0;
            p++;
            continue;
        }
        lit_run_push(&s, c);
        last_literal = 1;
        p++;
    }
    lit_run_end(&s);
    return s.best_len;
}

/* ---- Compiling patterns ---------------------------------------------------------------------- */

static int mr_reducer_from_name(const char *s)
{
    for (int i = 0; metrics_regex_reducer_names[i] != NULL; i++)
        if (strcmp(s, metrics_regex_reducer_names[i]) == 0)
            return i;
    return -1;
}

/* Where a setting came from, for messages: the plan's file:line or "default pattern". */
const char *mr_where(const relhost_ctx *ctx, const struct mr_pat *p, const void *field)
{
    if (p->where_text != NULL)
        return p->where_text;
    if (p->where_field == NULL)
        return "default pattern";
    return pl_where(ctx, field);
}

/* Group numbers of every group called `name` (names may repeat across alternatives). */
static size_t mr_named_groups(const pcre2_code *code, const char *name, uint32_t *out, size_t cap)
{
    uint32_t count = 0, entry = 0;
    PCRE2_SPTR table = NULL;
    size_t n = 0;
    if (pcre2_pattern_info(code, PCRE2_INFO_NAMECOUNT, &count) != 0 || count == 0)
        return 0;
    pcre2_pattern_info(code, PCRE2_INFO_NAMEENTRYSIZE, &entry);
    pcre2_pattern_info(code, PCRE2_INFO_NAMETABLE, &table);
    for (uint32_t i = 0; i < count && n < cap; i++) {
        const unsigned char *e = table + (size_t)i * entry;
        if (strcmp((const char *)e + 2, name) == 0)
            out[n++] = ((uint32_t)e[0] << 8) | e[1];
    }
    return n;
}

/* PCRE2-compile p and find its value and unit groups. */
static int pat_compile(struct metrics_regex *inst, const relhost_ctx *ctx, struct mr_pat *p,
                       int case_insensitive)
{
    int err = 0;
    PCRE2_SIZE off = 0;

    /* (*UTF) is refused: logs are bytes, and a JIT match on invalid UTF-8 would be undefined. */
    uint32_t opts = PCRE2_DUPNAMES | PCRE2_NEVER_UTF | (case_insensitive ? PCRE2_CASELESS : 0);
    p->code = pcre2_compile((PCRE2_SPTR)p->regex, PCRE2_ZERO_TERMINATED, opts, &err, &off, NULL);
    if (p->code == NULL) {
        PCRE2_UCHAR msg[256];
        if (pcre2_get_error_message(err, msg, sizeof(msg)) < 0)
            snprintf((char *)msg, sizeof(msg), "error %d", err);
        pl_host->fail(
            ctx, "pattern \"%s\" (%s): regex does not compile: %s at offset %zu of \"%s\"", p->name,
            mr_where(ctx, p, p->where_field), (const char *)msg, (size_t)off, p->regex);
        return RELHOST_EINVAL;
    }
    /* JIT is much faster; a build or platform without it still works with the interpreter. */
    p->jit = pcre2_jit_compile(p->code, PCRE2_JIT_COMPLETE) == 0;

    uint32_t captures = 0;
    pcre2_pattern_info(p->code, PCRE2_INFO_CAPTURECOUNT, &captures);
    if (captures + 1 > inst->max_pairs)
        inst->max_pairs = captures + 1;
    p->n_unit = mr_named_groups(p->code, "unit", p->unit_groups, MR_MAX_GROUPS);
    p->n_value = mr_named_groups(p->code, "value", p->value_groups, MR_MAX_GROUPS);
    if (p->n_value == 0) {
        for (uint32_t g = 1; g <= captures && p->n_value < MR_MAX_GROUPS; g++) {
            int is_unit = 0;
            for (size_t u = 0; u < p->n_unit; u++)
                is_unit |= p->unit_groups[u] == g;
            if (!is_unit)
                p->value_groups[p->n_value++] = g;
        }
    }
    if (p->n_value == 0) {
        pl_host->fail(ctx,
                      "pattern \"%s\" (%s): the regex has no capture group for the value; "
                      "put the number in parentheses, e.g. \"loss[:=]\\\\s*([0-9.]+)\"",
                      p->name, mr_where(ctx, p, p->where_field));
        return RELHOST_EINVAL;
    }
    return 0;
}

/* Check p's reducers and name the keys they post. */
static int pat_reducers(const relhost_ctx *ctx, struct mr_pat *p, const char *const *reducers,
                        size_t n_reducers, const char *metric,
                        const struct metrics_regex_pattern *row)
{
    const void *red_field = row ? (const void *)&row->reducers : NULL;
    if (n_reducers == 0) {
        pl_host->fail(ctx,
                      "pattern \"%s\" (%s): reducers is empty; use one or more of max, min, "
                      "last, first, mean, count",
                      p->name, mr_where(ctx, p, red_field));
        return RELHOST_EINVAL;
    }
    if (n_reducers > MR_N_REDUCERS) {
        pl_host->fail(ctx,
                      "pattern \"%s\" (%s): %zu reducers given; each of max, min, last, "
                      "first, mean, count may appear once",
                      p->name, mr_where(ctx, p, red_field), n_reducers);
        return RELHOST_EINVAL;
    }
    for (size_t i = 0; i < n_reducers; i++) {
        int r = mr_reducer_from_name(reducers[i]);
        if (r < 0) {
            pl_host->fail(ctx,
                          "pattern \"%s\" (%s): unknown reducer \"%s\"; use max, min, last, "
                          "first, mean or count",
                          p->name, mr_where(ctx, p, red_field), reducers[i]);
            return RELHOST_EINVAL;
        }
        for (size_t j = 0; j < i; j++)
            if ((int)p->reducers[j] == r) {
                pl_host->fail(ctx, "pattern \"%s\" (%s): reducer \"%s\" is listed twice", p->name,
                              mr_where(ctx, p, red_field), reducers[i]);
                return RELHOST_EINVAL;
            }
        p->reducers[i] = (enum mr_reducer)r;
    }
    p->n_out = n_reducers;
    if (p->label) {
        if (n_reducers != 1 || (p->reducers[0] != MR_LAST && p->reducers[0] != MR_FIRST)) {
            pl_host->fail(ctx,
                          "pattern \"%s\" (%s): a label keeps one value: reducers must be "
                          "\"last\" or \"first\"",
                          p->name, mr_where(ctx, p, red_field));
            return RELHOST_EINVAL;
        }
        p->keys[0] = strdup(metric != NULL ? metric : p->name);
        if (p->keys[0] == NULL)
            return RELHOST_ENOMEM;
    } else if (metric != NULL) {
        if (n_reducers != 1) {
            pl_host->fail(ctx,
                          "pattern \"%s\" (%s): metric names one metric but %zu reducers are "
                          "listed; keep one reducer, or drop metric to get %s_<reducer>",
                          p->name, mr_where(ctx, p, row ? (const void *)&row->metric : NULL),
                          n_reducers, p->name);
            return RELHOST_EINVAL;
        }
        p->keys[0] = strdup(metric);
        if (p->keys[0] == NULL)
            return RELHOST_ENOMEM;
    } else {
        for (size_t i = 0; i < n_reducers; i++) {
            size_t len = strlen(p->name) + 1 + strlen(reducers[i]) + 1;
            p->keys[i] = malloc(len);
            if (p->keys[i] == NULL)
                return RELHOST_ENOMEM;
            snprintf(p->keys[i], len, "%s_%s", p->name, reducers[i]);
        }
    }
    return 0;
}

/* p's prefilter literal: given, derived from the regex, or none. */
static int pat_prefilter(const relhost_ctx *ctx, struct mr_pat *p, const char *prefilter,
                         const char *lead, const struct metrics_regex_pattern *row)
{
    if (prefilter != NULL) {
        if (memchr(prefilter, '\n', strlen(prefilter)) != NULL) {
            pl_host->fail(ctx,
                          "pattern \"%s\" (%s): prefilter contains a newline, but lines "
                          "never do",
                          p->name, mr_where(ctx, p, row ? (const void *)&row->prefilter : NULL));
            return RELHOST_EINVAL;
        }
        mr_lit_set(&p->lit, (const unsigned char *)prefilter, strlen(prefilter));
        if (lead != NULL && p->lit.len > 0) {
            p->lead_known = 1;
            for (const unsigned char *b = (const unsigned char *)lead; *b != '\0'; b++)
                p->lead_set[*b >> 3] |= (uint8_t)(1u << (*b & 7));
            /* a space in the lead: a value token may stand before it, whatever its bytes */
            p->lead_token = strchr(lead, ' ') != NULL;
        }
    } else {
        unsigned char lit[MR_LIT_MAX];
        int at_start = 0;
        size_t n = mr_derive_literal(p->regex, lit, sizeof(lit), &at_start);
        mr_lit_set(&p->lit, lit, n);
        p->lead_known = n > 0 && at_start; /* nothing may precede the literal */
    }
    return 0;
}

/*
 * Compile one pattern (already holding name, regex, scale, label and where_field) and fill its
 * value/unit groups, reducers, keys and literal. Explains a failure through host->fail().
 */
int mr_pat_build(struct metrics_regex *inst, const relhost_ctx *ctx, struct mr_pat *p,
                 const char *const *reducers, size_t n_reducers, const char *metric,
                 const char *prefilter, const char *lead, int case_insensitive,
                 const struct metrics_regex_pattern *row)
{
    int rc;

    if (!mr_valid_key(p->name)) {
        pl_host->fail(ctx,
                      "pattern \"%s\" (%s): the name must be 1-128 characters of A-Z a-z 0-9 _ . -",
                      p->name, mr_where(ctx, p, row ? (const void *)&row->name : NULL));
        return RELHOST_EINVAL;
    }
    if (metric != NULL && !mr_valid_key(metric)) {
        pl_host->fail(ctx,
                      "pattern \"%s\" (%s): metric \"%s\" must be 1-128 characters of "
                      "A-Z a-z 0-9 _ . -",
                      p->name, mr_where(ctx, p, row ? (const void *)&row->metric : NULL), metric);
        return RELHOST_EINVAL;
    }

    if ((rc = pat_compile(inst, ctx, p, case_insensitive)) != 0 ||
        (rc = pat_reducers(ctx, p, reducers, n_reducers, metric, row)) != 0)
        return rc;
    return pat_prefilter(ctx, p, prefilter, lead, row);
}

void mr_pat_free(struct mr_pat *p)
{
    if (p == NULL)
        return;
    pcre2_code_free(p->code);
    for (size_t i = 0; i < MR_N_REDUCERS; i++)
        free(p->keys[i]);
}

/* Order patterns so that those sharing a literal are adjacent (one search serves them all),
 * keeping plan order otherwise; the every-line group, if any, comes last. */
int mr_group_patterns(struct metrics_regex *inst)
{
    struct mr_pat *sorted = calloc(inst->n_pats, sizeof(*sorted));
    inst->groups = calloc(inst->n_pats, sizeof(*inst->groups));
    if (sorted == NULL || inst->groups == NULL) {
        free(sorted);
        return RELHOST_ENOMEM;
    }
    int *taken = calloc(inst->n_pats, sizeof(*taken));
    if (taken == NULL) {
        free(sorted);
        return RELHOST_ENOMEM;
    }
    size_t k = 0;
    for (size_t r = 0; r < 2 * inst->n_pats; r++) {
        size_t i = r % inst->n_pats;
        if (taken[i] || (r < inst->n_pats) != (inst->pats[i].lit.len > 0))
            continue;
        struct mr_group *g = &inst->groups[inst->n_groups++];
        g->lit = inst->pats[i].lit;
        g->first = k;
        for (size_t j = i; j < inst->n_pats; j++) {
            if (!taken[j] && mr_lit_equal(&inst->pats[j].lit, &g->lit)) {
                taken[j] = 1;
                sorted[k++] = inst->pats[j];
                g->n++;
            }
        }
    }
    free(taken);
    free(inst->pats);
    inst->pats = sorted;
    return 0;
}

/* Each literal group's fingerprint: its three adjacent bytes rarest in logs (a shorter literal's
 * bytes, any byte passing for the missing ones). A letter passes in either case (its high
 * nibble 4 or 6, 5 or 7), as in mr_lit_verify(). */
void mr_fuse_build(struct metrics_regex *inst)
{
    struct mr_fuse *f = &inst->fuse;
    memset(f, 0, sizeof(*f));
    while (f->n < inst->n_groups && inst->groups[f->n].lit.len > 0)
        f->n++;
    f->on = inst->avx2 && f->n > 0 && f->n <= MR_FUSE_MAX;
    for (size_t g = 0; f->on && g < f->n; g++) {
        const struct mr_lit *l = &inst->groups[g].lit;
        uint8_t bit = (uint8_t)(1u << g);
        size_t k = 0, best = (size_t)-1;
        for (size_t i = 0; i + 3 <= l->len; i++) {
            size_t c = 0;
            for (size_t j = 0; j < 3; j++)
                c += (size_t)mr_commonness(l->fold[i + j]);
            if (c < best) {
                best = c;
                k = i;
            }
        }
        f->k[g] = k;
        for (size_t j = 0; j < 3; j++) {
            if (k + j >= l->len) {
                for (size_t v = 0; v < 16; v++) {
                    f->lo[j][v] |= bit;
                    f->hi[j][v] |= bit;
                }
                continue;
            }
            unsigned char b = l->fold[k + j];
            f->lo[j][b & 15] |= bit;
            f->hi[j][b >> 4] |= bit;
            if (l->mask[k + j] != 0)
                f->hi[j][(b & 0xdf) >> 4] |= bit;
        }
    }
    f->gmask = f->on ? (uint8_t)((1u << f->n) - 1) : 0; /* on: n <= MR_FUSE_MAX (8) groups */
    f->packed = f->on && f->n <= MR_FUSE_PACKED;
    if (!f->packed)
        return;
    /* the class bits: set for any second and third byte, and for the first byte's nibbles */
    for (size_t v = 0; v < 16; v++)
        for (size_t j = 1; j < 3; j++) {
            f->lo[j][v] |= MR_FUSE_NL | MR_FUSE_STOP;
            f->hi[j][v] |= MR_FUSE_NL | MR_FUSE_STOP;
        }
    f->lo[0][0xa] |= MR_FUSE_NL; /* 0x0A */
    f->hi[0][0x0] |= MR_FUSE_NL | 0x80;
    f->lo[0][0x8] |= 0x80; /* 0x08 0x0D */
    f->lo[0][0xd] |= 0x80 | 0x40;
    f->lo[0][0xb] |= 0x40; /* 0x1B 0x1D 0x9B 0x9D */
    f->hi[0][0x1] |= 0x40;
    f->hi[0][0x9] |= 0x40;
    f->avx512 = inst->avx512;
}
