/* SPDX-License-Identifier: MIT */
/*
 * options_int.h - what the files of the option filler (core/plan/options*.c) share; not for
 * other modules.
 *
 *   options.c           the fill API, walking tables, groups and lists; pass_env and secret rules
 *   options_values.c    each type's value parsed, checked and stored; size and duration parsers
 *   options_where.c     the optstore (owned values, file:line of each, references), --set marks
 *   options_describe.c  `relhost plugins --describe`
 */
#ifndef RELHOST_OPTIONS_INT_H
#define RELHOST_OPTIONS_INT_H

#include "plan/options.h"

#include "base/util.h"

#include <libconfig.h>
#include <relhost/plugin.h>
#include <stdint.h>

/* Where one value came from: an interned source (a file, "--set ARG" or "the plan") and a line
 * (0: the source alone). The "file:line" text is made when first asked for (struct where_text):
 * few are, and a plan of 100,000 validations remembers several values of each. */
struct where_ent {
    const void *field;
    options_loc loc;
};

struct where_text {
    struct where_text *next;
    const void *field;
    char *text;
};

/* Up to this many entries the store's where array lives in its blocks (a small step's few
 * values, no allocation of their own); past it on the heap, grown in place by realloc, so the
 * arrays it outgrows are not kept. */
#define OPT_WHERE_IN_BLOCKS 16u

struct ref_ent {
    relhost_ref_kind kind;
    char *name;
    char *where;
};

/* The store's values live in blocks it owns, many to a block: a plan of many small steps pays
 * for its values, not for one heap allocation each. */
struct opt_block;

struct optstore {
    struct opt_block *blocks;
    struct where_ent *w; /* on the heap when capw > OPT_WHERE_IN_BLOCKS */
    uint32_t nw, capw;
    struct where_text *texts;
    struct ref_ent *refs;
    uint32_t nrefs, caprefs;
    const char *plan_dir;
};

/* Context for error messages: "<what> key 'x' at file:line". */
struct fillctx {
    optstore *st;
    const relhost_plugin *pl;
    const char *what;
};

#define where_of options_where_of

/* ---- options.c ---- */

/* error_set(RELHOST_EINVAL, "<file:line>: <what>: '<key>' <message>"); returns RELHOST_EINVAL. */
int opt_bad(const struct fillctx *c, const config_setting_t *s, const char *key, const char *fmt,
            ...) __attribute__((format(printf, 4, 5)));
/* The rules of a STRLIST option called pass_env; 0 or RELHOST_EINVAL. */
int opt_check_pass_env(const struct fillctx *c, const config_setting_t *s, const relhost_option *r,
                       const relhost_strlist *l);

/* ---- options_where.c ---- */

/* An empty store. */
optstore *opt_store_new(void);
/* n zeroed items of size bytes, owned by the store until optstore_free(). */
void *opt_alloc(optstore *st, size_t n, size_t size);
/* A copy of s owned by the store. */
char *opt_own_str(optstore *st, const char *s);
/* The store's copy of heap string s, which is freed. */
char *opt_keep(optstore *st, char *s);
/* Remember the file:line of setting s (NULL: nothing) as where the value at field came from. */
void opt_remember(optstore *st, const void *field, const config_setting_t *s);
/* Record a reference for the plan to resolve. */
void opt_add_ref(optstore *st, relhost_ref_kind kind, const char *name, const config_setting_t *s);

/* ---- options_describe.c ---- */

/* A type as a plan author calls it ("size", "list of strings"). */
const char *opt_type_name(relhost_opt_type t);

/* ---- options_values.c ---- */

/* Letters, digits and '_', not starting with a digit. */
int opt_valid_env_name(const char *s);
/* Fill one row's field from setting s (NULL: from the row's default, which is not NULL);
 * 0 or RELHOST_EINVAL. */
int opt_fill_string(const struct fillctx *c, const relhost_option *r, const config_setting_t *s,
                    char *field);
int opt_fill_int(const struct fillctx *c, const relhost_option *r, const config_setting_t *s,
                 char *field);
int opt_fill_bool(const struct fillctx *c, const relhost_option *r, const config_setting_t *s,
                  char *field);
int opt_fill_double(const struct fillctx *c, const relhost_option *r, const config_setting_t *s,
                    char *field);
int opt_fill_size(const struct fillctx *c, const relhost_option *r, const config_setting_t *s,
                  char *field);
int opt_fill_duration(const struct fillctx *c, const relhost_option *r, const config_setting_t *s,
                      char *field);
int opt_fill_enum(const struct fillctx *c, const relhost_option *r, const config_setting_t *s,
                  char *field);
int opt_fill_list(const struct fillctx *c, const relhost_option *r, const config_setting_t *s,
                  char *field);
/* CHECKS and MAP, from a plan setting only (they take no default). */
int opt_fill_checks(const struct fillctx *c, const relhost_option *r, const config_setting_t *s,
                    relhost_checks *out);
int opt_fill_map(const struct fillctx *c, const relhost_option *r, const config_setting_t *s,
                 relhost_map *out);

#endif
