/* SPDX-License-Identifier: MIT */
/*
 * site.h - the static status page of a release registry: <outdir>/index.html, one
 * self-contained HTML file (inline CSS and SVG; no JavaScript, no fonts, nothing fetched).
 *
 * Inputs, all read-only, no lock taken (only the index below is written, under the registry's
 * lock: core/view/site_index.h):
 *   <registry_dir>/manifest.json   the releases and the pointers (latest, last_green,
 *                                  previous_green); missing = an empty registry
 *   <state_dir>/release_<v>.json   each release's state (+ journal): its steps and checks;
 *                                  missing or unreadable = the release is listed with a note;
 *                                  read through <registry_dir>/site_index.jsonl while its entry
 *                                  matches the files (site_index.h)
 *   baseline_path                  the baseline store: one trend plot per metric; missing = no
 *                                  plots, and the page says so
 * A manifest or baseline store that does not parse, has the wrong shape or was written by a
 * newer relhost (a higher "schema") is an error, and nothing is written.
 *
 *   <registry_dir>/audit.jsonl     the last promotion or rollback (who, when, why) and when the
 *                                  live release became live; missing = the manifest's times
 *   <state_dir>/frozen.json        the kill switch (relhost freeze), the file only
 *
 * The page, top down: a banner (site_banner.c: the live release = last_green, since when, its
 * health - healthy only when promoted, its run passed, the kill switch off and readable and not
 * live through a rollback - and the last change); a table of releases, newest first (version,
 * status, pointers, commit, times, reason); per baseline metric "<validation>::<metric>" an SVG
 * plot (site_plot.c) of its value in each release's state, the baseline and the thresholds of the
 * newest release's checks on it as labelled lines, checked metrics first, metrics that never
 * changed last and folded; per release its steps and checks. Tables sit in boxes that scroll;
 * plots have a viewBox and take their box's width.
 * Stable hooks for tools and tests (documented in relhost(1), SITE):
 *   <header id="banner" data-health="healthy|degraded|unhealthy|unknown" data-live="V"
 *       data-since="T" data-frozen="true|false">, first in <body>, with <p id="last-change"
 *       data-operation="promote|rollback|rollback+quarantine" data-at="T" data-by="USER">
 *   <tr class="release" data-version="V" data-status="S">  one per release, newest first
 *   <span class="pointer" data-pointer="latest|last_green|previous_green">  in that row
 *   <details class="release-checks" data-version="V">, rows <tr class="check"
 *       data-validation="..." data-metric="..." data-passed="true|false|unknown">, and
 *       <li class="step" data-step="..." data-outcome="PASSED|FAILED|...|unfinished">
 *   <figure class="trend" data-metric="K" data-points="N" data-checked="true|false"
 *       data-flat="true|false" data-baseline-status="S">, in its <svg> N elements of class
 *       "point" (data-version, data-status, data-value), one <line class="baseline">, one
 *       <line class="threshold" data-value> per threshold, <text class="y-tick" data-value>
 *
 * Every string from the inputs is cleaned (view/text.h: text_clean, which also
 * masks registered secrets) and HTML-escaped (& < > " '). Nothing comes from the environment.
 */
#ifndef RELHOST_SITE_H
#define RELHOST_SITE_H

#include "base/util.h"
#include "plan/plan.h"
#include "record/record.h"
#include "registry/manifest.h"

#include <jansson.h>

/** The baseline store schema this relhost reads; a newer one is refused (the manifest's is
 *  MANIFEST_SCHEMA, core/registry/manifest.h). */
#define SITE_BASELINE_SCHEMA 1

/**
 * Write outdir/index.html for plan p's registry (created with its parents when missing),
 * atomically: index.html.tmp, fsync, rename, fsync(outdir). p and outdir are borrowed.
 * Returns 0; RELHOST_EINVAL when the manifest or the baseline store is corrupt or newer; or
 * RELHOST_EIO when outdir cannot be made or written. On failure error_last() says what failed,
 * on which file and what to do, and no file but a removed temporary was touched.
 */
int site_write(const plan *p, const char *outdir);

/* ---- shared by site.c (inputs) and the renderers (the page) -------------------------------- */

typedef struct site_release {
    const manifest_release *entry; /* borrowed from site_data.manifest */
    const char *version;           /* borrowed from entry; never NULL */
    const char *status;            /* borrowed from entry (the word in the manifest); never NULL */
    release_record *record;        /* owned: the release's state as typed records, or NULL (see
                               state_note) */
    char *state_note;              /* owned: why there is no state (missing, unreadable), or NULL */
    unsigned pointers;             /* bit k set: manifest pointer k (manifest_pointer) names it */
} site_release;

/* The last promotion or rollback: from the registry's audit log (its newest "promote",
 * "rollback" or "rollback+quarantine" line), else from the manifest's times (who did it is then
 * unknown). Strings owned by site_data; NULL when unknown. */
typedef struct site_change {
    int known;
    int from_audit;  /* 1: an audit line; 0: guessed from the manifest */
    char *operation; /* "promote", "rollback", "rollback+quarantine" */
    char *at, *user, *host, *from, *to, *reason;
} site_change;

typedef struct site_data {
    const char *plan_name; /* borrowed from the plan */
    int has_manifest;      /* 0 when the registry has no manifest.json */
    manifest manifest;     /* owned; zeroed (no releases) without manifest.json */
    json_t *baseline;      /* owned; NULL when there is no baseline store */
    site_release *rel;     /* owned; in manifest order (oldest first) */
    size_t nrel;
    const char *pointer[MANIFEST_NPOINTERS]; /* borrowed: the version each names, or NULL */
    char generated_at[32];                   /* UTC, ISO 8601 */
    site_change last;                        /* the last promotion or rollback */
    char *live_since;    /* owned: when last_green's release became live (a promotion or a
                            rollback to it), or NULL when unknown */
    size_t audit_bad;    /* lines of the audit log that did not parse (skipped) */
    char *audit_note;    /* owned: why the audit log could not be read at all, or NULL */
    int frozen;          /* the state folder's kill switch (frozen.json) is set */
    char *freeze_reason; /* owned, with freeze_by and freeze_at, when frozen */
    char *freeze_by, *freeze_at;
    char *freeze_note; /* owned: the freeze file is unreadable (the page cannot say healthy) */
} site_data;

/** Render the page for d (borrowed) into out (appended). Cannot fail. */
void site_render(const site_data *d, strbuf *out);

/* Shared by the renderers (site_html.c, site_banner.c, site_plot.c). */
/** s cleaned (valid UTF-8, no control bytes or terminal escapes, secrets masked) and escaped for
 *  HTML text and double-quoted attributes alike; NULL appends nothing. */
void site_text(strbuf *b, const char *s);
/** s masked, then cut to at most max bytes on a character boundary (an ellipsis added). */
void site_text_short(strbuf *b, const char *s, size_t max);
/** A number in the shortest form that reads back. */
void site_num(strbuf *b, double v);
/** ` name="value"`, value cleaned and escaped. */
void site_attr(strbuf *b, const char *name, const char *value);
/** The CSS class word of a release's status ("promoted", ... "unknown"). */
const char *site_status_class(const site_release *r);
/** The release of version in d, or NULL. */
const site_release *site_find(const site_data *d, const char *version);
/** The banner: what is live, since when, healthy or not, the last promotion or rollback. */
void site_banner(strbuf *b, const site_data *d);
/** The trend plots' section. */
void site_trends(strbuf *b, const site_data *d);
/** CSS of the banner and the plots (site_html.c adds it to the page's). */
extern const char site_banner_css[], site_plot_css[];

#endif
