/* SPDX-License-Identifier: MIT */
/*
 * plan_slices.h - the plan's step lists parsed a slice at a time.
 *
 * libconfig holds a parsed plan as a tree about fifteen times the size of its text, so a plan
 * of 50,000 steps would need all of it at once. Instead the top-level lists steps, on_promote
 * and on_rollback of the plan file are cut out of the text: libconfig parses the rest (the
 * lists left empty, their lines kept), and each list is parsed again in slices of a few hundred
 * elements while its steps are filled, one slice in memory at a time. Every line number stays
 * the file's own. Whenever the text is anything but plain (an @include inside a list, a --set
 * into one, a syntax error anywhere) the whole file is parsed as before, so that libconfig's
 * own error messages are unchanged.
 */
#ifndef RELHOST_PLAN_SLICES_H
#define RELHOST_PLAN_SLICES_H

#include <libconfig.h>
#include <stddef.h>

typedef struct plan_slices plan_slices;

/**
 * Read the plan at path into cfg (initialised by the caller, include folder and options set),
 * its big lists left out and kept in *out for plan_slice_next(). 1 when done so; 0 when the
 * plan is to be read whole (nothing kept, cfg as given). sets: the --set arguments. path is
 * borrowed until the cfg and *out are gone: the roots of the trees name it as their file.
 */
int plan_slices_read(config_t *cfg, const char *path, const char *const *sets, plan_slices **out);
void plan_slices_free(plan_slices *sl);

/** Elements of top-level list key that were cut out, or -1 when it was not. */
int plan_slices_count(const plan_slices *sl, const char *key);

/** A walk over one cut list, a slice at a time. */
typedef struct plan_slice_walk {
    const plan_slices *sl;
    int list;     /* which list, or -1 */
    size_t next;  /* its next element */
    int parsed;   /* cfg holds a slice */
    int failed;   /* a slice could not be read again: the file changed since */
    config_t cfg; /* the current slice */
} plan_slice_walk;

/** Start a walk over list key (plan_slices_count() >= 0). */
void plan_slice_begin(plan_slice_walk *w, const plan_slices *sl, const char *key);
/** The next slice as a list setting (its elements in order), valid until the next call or
 *  plan_slice_end(); NULL after the last, or with w->failed set when the file no longer reads
 *  as it did (it changed since plan_slices_read()). */
config_setting_t *plan_slice_next(plan_slice_walk *w);
void plan_slice_end(plan_slice_walk *w);

#endif
