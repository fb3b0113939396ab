/* SPDX-License-Identifier: MIT */
/*
 * options.h - fills a plugin's conf struct from its option table (Fluent Bit's config_map).
 *
 * The host parses, range-checks and stores every value at the row's offset; an unknown key lists
 * the allowed ones, a bad value names the legal values, all with file:line. Every string, list
 * and group item stored in the conf is owned by the optstore and lives until optstore_free().
 */
#ifndef RELHOST_OPTIONS_H
#define RELHOST_OPTIONS_H

#include <libconfig.h>
#include <stdarg.h>
#include <stdint.h>
#include "base/util.h"

#include <relhost/plugin.h>
#include <stdio.h>

/** Owns what was stored into one conf, and remembers where each value came from. */
typedef struct optstore optstore;

/** Names a host-level key of the group that the option table does not list (e.g. "plugin",
 *  "name", "required"); NULL-terminated. */
typedef const char *const *optstore_reserved;

/**
 * Fill conf (conf_size bytes, zeroed by the caller) from the libconfig group `group` using the
 * plugin's table. Keys in `reserved` are skipped. Missing keys get their defaults; a missing
 * required key, unknown key, wrong type or out-of-range value is an error with file:line naming
 * `what` (e.g. "step \"bug-check\"").
 * plan_dir resolves RELHOST_OPTF_PATH values; may be NULL (then they stay as written).
 * Returns 0 or RELHOST_EINVAL (error_last() explains); *out is the store (also on error: free it).
 */
int options_fill(const relhost_plugin *pl, void *conf, const config_setting_t *group,
                 optstore_reserved reserved, const char *what, const char *plan_dir,
                 optstore **out);

/** Fill conf with defaults only (no plan); a required option without default is an error. */
int options_fill_defaults(const relhost_plugin *pl, void *conf, optstore **out);

/** Fill conf from libconfig text whose top-level settings are the plugin's options (tests,
 *  bench): e.g. "patterns = ( { name = \"x\"; regex = \"x=(\\\\d+)\"; } );". */
int options_fill_text(const relhost_plugin *pl, void *conf, const char *text, optstore **out);

/**
 * "file:line" of a plan setting as a heap string: a relative @include name is resolved against
 * the plan folder given to options_set_plan_dir(); a setting made by --set names that argument.
 */
char *options_where_of(const config_setting_t *s);
/** Where a setting came from, compactly: a source (file, "--set ARG", "the plan") kept once for
 *  the process, and a line. src 0: nowhere (a zeroed loc). */
typedef struct options_loc {
    uint32_t src, line;
} options_loc;
options_loc options_loc_of(const config_setting_t *s);
/** "file:line" of l as a heap string; "the plan" for a zeroed loc. */
char *options_loc_text(options_loc l);
/** s kept for the process, once: the same pointer for the same text (few distinct ones). */
const char *options_intern(const char *s);
/** Set the error "<file:line of s>: <lead><fmt...>" (no location when s is NULL); returns
 *  RELHOST_EINVAL. */
int options_fail_at(const config_setting_t *s, const char *lead, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
void options_set_plan_dir(const char *dir);
/** Remember that setting s was written by `--set arg` (arg is copied). */
void options_mark_set(const config_setting_t *s, const char *arg);
void options_forget_marks(void);

/** "file:line" of the value stored at `field` (an address inside the filled conf), or NULL. */
const char *optstore_where(const optstore *st, const void *field);

void optstore_free(optstore *st);

/** With on = 1 (run, launch, check, monitor: the commands that start processes), a pass_env
 *  option naming an unset variable is a plan error; reports and status only read the plan. */
void options_require_pass_env(int on);

/** Row i of a plugin's option table, read with the plugin's own row size (an older, smaller
 *  relhost_option reads as zero past its end). */
relhost_option options_row(const relhost_plugin *pl, const relhost_option *base, size_t i);

/** Called by options_walk() for every option that is not a group, with its field in the conf
 *  and its group's dotted name (NULL at the top); 1 stops the walk. */
typedef int (*options_visit)(const relhost_option *r, const char *field, const char *group,
                             void *data);
/** Visit every option of table opts over conf, groups and group lists included. 1 when fn
 *  stopped it. */
int options_walk(const relhost_plugin *pl, const relhost_option *opts, const char *conf,
                 const char *group, options_visit fn, void *data);
/** Seal (core/base/secrets.h) the variable every SECRET_ENV row of pl names by default, in every
 *  group and list, whether or not the plan uses the plugin; a set value shorter than
 *  SECRETS_MIN_LEN is sealed, not masked, and its name added to *short_names. */
void options_seal_defaults(const relhost_plugin *pl, strvec *short_names);
/** The variables a filled conf of pl names: SECRET_ENV values (the plugin reads them itself)
 *  into *reads, entries of every STRLIST option called pass_env (handed to its processes)
 *  into *passes; each name once, in table order. */
void options_secret_use(const relhost_plugin *pl, const void *conf, strvec *reads, strvec *passes);

/** References (REF / REF_LIST values) recorded while filling, for the plan to resolve. */
size_t optstore_nrefs(const optstore *st);
void optstore_ref(const optstore *st, size_t i, relhost_ref_kind *kind, const char **name,
                  const char **where);

/** "10m" -> 600 seconds; "64M" -> bytes. 0 or RELHOST_EINVAL. */
int options_parse_duration(const char *s, double *out);
int options_parse_size(const char *s, uint64_t *out);
/** ">=" for RELHOST_OP_GE... */
const char *options_op_name(relhost_op op);

/** Print the option table as `relhost plugins --describe` shows it. */
void options_describe(const relhost_plugin *pl, FILE *out);

#endif
