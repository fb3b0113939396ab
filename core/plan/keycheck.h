/* SPDX-License-Identifier: MIT */
/*
 * keycheck.h - plan-time checks of acceptance keys and metrics sources' credentials, served to
 * gates as host->checks_verify (host_checks_verify(), declared in host.h). A typo in a metric
 * name, or a missing API key a required step's sources need, is said when the plan is opened
 * (--check, or before a run's first job), never after hours of jobs.
 */
#ifndef RELHOST_KEYCHECK_H
#define RELHOST_KEYCHECK_H

#include <stddef.h>

/** Edit distance between a and b (optimal string alignment: insertions, deletions,
 *  substitutions and swaps of two neighbours each cost 1), stopping early: any distance above
 *  `limit` is returned as limit + 1. */
size_t keycheck_distance(const char *a, const char *b, size_t limit);
/** The name of names[0..n) nearest to word for a "did you mean": within 2 edits and fewer than
 *  half of word's length; NULL when none is that near (or word is one of them). */
const char *keycheck_nearest(const char *word, const char *const *names, size_t n);
/** " (did you mean 'x'?)" for the name x of names[0..n) nearest to word (keycheck_nearest()),
 *  written between pre and post ("{" and "}" for a placeholder; NULL: nothing); "" when none
 *  is that near. Never NULL; the caller frees it. */
char *keycheck_hint(const char *word, const char *const *names, size_t n, const char *pre,
                    const char *post);

#endif
