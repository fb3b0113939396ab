/* SPDX-License-Identifier: MIT */
/*
 * template.h - the one place {placeholders} expand. Only options flagged RELHOST_OPTF_TEMPLATE
 * (and job argv/env/cwd) are templates; regexes never are. "{{" and "}}" are literal braces.
 * Run-level names (version, rc, commit, step, staged_dir) are known when a step opens; job-level
 * names (validation, attempt, repeat, and matrix keys) only when a job is submitted, so expanding
 * with keep_job = 1 leaves them as written for the job layer.
 */
#ifndef RELHOST_TEMPLATE_H
#define RELHOST_TEMPLATE_H

#include <stddef.h>

/** Set (or with value NULL, unset) a run-level variable. Names are copied. */
void template_set(const char *name, const char *value);
/** The run-level value of name, or NULL when it has none. */
const char *template_value(const char *name);
void template_reset(void);

/** 1 when name is a legal placeholder (run-level, job-level, or in extra[n_extra]). */
int template_known(const char *name, const char *const *extra, size_t n_extra);

/**
 * Check that every placeholder in tmpl is legal. Returns 0, or RELHOST_EINVAL with error_last()
 * naming the placeholder and the legal ones.
 */
int template_check(const char *tmpl, const char *const *extra, size_t n_extra);

/**
 * Expand tmpl with the run variables plus vars (n pairs name, value; they win). keep_job: leave
 * job-level and extra names that have no value as written. An unset name otherwise is an error.
 * Returns 0 and a heap string in *out, or RELHOST_EINVAL.
 */
int template_expand(const char *tmpl, const char *const *vars, size_t n, int keep_job, char **out);

#endif
