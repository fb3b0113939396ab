/* SPDX-License-Identifier: MIT */
/* site.c - the status page's inputs (manifest, baseline store, release states) and the atomic
 * write of index.html; the page itself is rendered by site_html.c. */
#include "view/site.h"

#include "base/error.h"
#include "record/state.h"
#include "registry/fsutil.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

const char *const site_pointer_names[SITE_NPOINTERS] = {"latest", "last_green", "previous_green"};

static const char *const release_strings[] = {"commit",         "staged_at", "promoted_at",
                                              "quarantined_at", "rolled_back_at", "reason", NULL};

/* ---- reading the inputs -------------------------------------------------------------------- */

/* What to do about a damaged input, for its error messages. */
static const char manifest_fix[] = "fix it or restore it from a backup";
static const char baseline_fix[] = "fix it, restore it from a backup, or move it away (the page "
                                   "then has no trend plots)";

/* A JSON document, or *out NULL when the file does not exist. `what` names it in errors
 * ("registry manifest"), `fix` says what to do about a damaged one. */
static int load_json(const char *path, const char *what, const char *fix, json_t **out)
{
    json_error_t je;
    struct stat st;
    *out = NULL;
    if (stat(path, &st) != 0) {
        if (errno == ENOENT)
            return 0;
        return error_set(RELHOST_EIO, "cannot read the %s %s: %s; check the path and its "
                         "permissions; nothing was written", what, path, strerror(errno));
    }
    if (!S_ISREG(st.st_mode))
        return error_set(RELHOST_EINVAL, "the %s %s is not a regular file; %s; nothing was "
                         "written", what, path, fix);
    *out = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (!*out)
        return error_set(RELHOST_EINVAL, "the %s %s is not valid JSON (line %d, column %d: %s); "
                         "%s; nothing was written", what, path, je.line, je.column, je.text, fix);
    return 0;
}

/* The document's "schema": 0, or an error for a missing, odd or newer one. */
static int check_schema(json_t *doc, const char *path, const char *what, const char *fix,
                        json_int_t known)
{
    json_t *s = json_object_get(doc, "schema");
    if (!json_is_object(doc))
        return error_set(RELHOST_EINVAL, "the %s %s is not a JSON object; %s; nothing was written",
                         what, path, fix);
    if (!json_is_integer(s) || json_integer_value(s) < 1)
        return error_set(RELHOST_EINVAL, "the %s %s has no valid \"schema\" (a positive integer); "
                         "%s; nothing was written", what, path, fix);
    if (json_integer_value(s) > known)
        return error_set(RELHOST_EINVAL, "the %s %s has schema %lld, newer than the %lld this "
                         "relhost %s reads: upgrade relhost; nothing was written", what, path,
                         (long long)json_integer_value(s), (long long)known, RELHOST_VERSION);
    return 0;
}

static int manifest_bad(const char *path, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int manifest_bad(const char *path, const char *fmt, ...)
{
    strbuf b;
    va_list ap;
    int rc;
    sb_init(&b);
    va_start(ap, fmt);
    sb_vprintf(&b, fmt, ap);
    va_end(ap);
    rc = error_set(RELHOST_EINVAL, "the registry manifest %s is corrupt: %s; %s; nothing was "
                   "written", path, b.s, manifest_fix);
    sb_free(&b);
    return rc;
}

/* Shape checks of the manifest, so that the renderer can trust every type it reads. Versions
 * are not formatted into messages: they came from users and may hold terminal escapes. */
static int manifest_check(json_t *m, const char *path)
{
    json_t *ptrs = json_object_get(m, "pointers"), *rels = json_object_get(m, "releases"), *r;
    size_t i, k;
    int rc;
    if ((rc = check_schema(m, path, "registry manifest", manifest_fix, SITE_MANIFEST_SCHEMA)) != 0)
        return rc;
    if (ptrs && !json_is_object(ptrs))
        return manifest_bad(path, "\"pointers\" must be an object");
    for (k = 0; k < SITE_NPOINTERS; k++) {
        json_t *v = json_object_get(ptrs, site_pointer_names[k]);
        if (v && !json_is_null(v) && !json_is_string(v))
            return manifest_bad(path, "pointer \"%s\" must be a version string or null",
                                site_pointer_names[k]);
    }
    if (rels && !json_is_array(rels))
        return manifest_bad(path, "\"releases\" must be an array");
    json_array_foreach(rels, i, r)
    {
        json_t *v = json_object_get(r, "version"), *a = json_object_get(r, "artifacts");
        if (!json_is_object(r))
            return manifest_bad(path, "release #%zu is not an object", i + 1);
        if (!json_is_string(v) || json_string_length(v) == 0)
            return manifest_bad(path, "release #%zu has no \"version\" string", i + 1);
        if (!json_is_string(json_object_get(r, "status")))
            return manifest_bad(path, "release #%zu has no \"status\" string (staged, promoted, "
                                "quarantined or rolled_back)", i + 1);
        for (k = 0; release_strings[k]; k++) {
            json_t *s = json_object_get(r, release_strings[k]);
            if (s && !json_is_null(s) && !json_is_string(s))
                return manifest_bad(path, "release #%zu: \"%s\" must be a string or null", i + 1,
                                    release_strings[k]);
        }
        if (a && !json_is_array(a))
            return manifest_bad(path, "release #%zu: \"artifacts\" must be an array", i + 1);
        for (k = 0; k < i; k++)
            if (json_equal(v, json_object_get(json_array_get(rels, k), "version")))
                return manifest_bad(path, "releases #%zu and #%zu have the same version", k + 1,
                                    i + 1);
    }
    return 0;
}

static int baseline_check(json_t *b, const char *path)
{
    json_t *metrics = json_object_get(b, "metrics"), *e;
    const char *key;
    int rc;
    if ((rc = check_schema(b, path, "baseline store", baseline_fix, SITE_BASELINE_SCHEMA)) != 0)
        return rc;
    if (metrics && !json_is_object(metrics))
        return error_set(RELHOST_EINVAL, "the baseline store %s is corrupt: \"metrics\" must be an "
                         "object; %s; nothing was written", path, baseline_fix);
    json_object_foreach(metrics, key, e)
    {
        if (!json_is_object(e))
            return error_set(RELHOST_EINVAL, "the baseline store %s is corrupt: a metric's entry "
                             "is not an object; %s; nothing was written", path, baseline_fix);
    }
    return 0;
}

/* The state of one release, read-only; a release without a readable state gets a note. */
static void load_state(site_release *r, const char *state_dir)
{
    state *st = NULL;
    int rc = state_open(state_dir, r->version, STATE_READONLY, &st);
    if (rc != 0) {
        r->state_note = xasprintf("its state could not be read: %s", error_last());
        error_clear();
        return;
    }
    if (state_is_new(st))
        r->state_note = xstrdup("no state file for this release in the state folder: its steps "
                                "and checks are unknown here");
    else {
        r->record = xcalloc(1, sizeof *r->record);
        record_read(state_root(st), r->record);
    }
    state_close(st);
}

static void data_free(site_data *d)
{
    for (size_t i = 0; i < d->nrel; i++) {
        record_free(d->rel[i].record);
        free(d->rel[i].record);
        free(d->rel[i].state_note);
    }
    free(d->rel);
    json_decref(d->manifest);
    json_decref(d->baseline);
}

static int data_load(const plan *p, site_data *d)
{
    char *mpath = path_join(p->registry_dir, "manifest.json");
    json_t *rels, *r, *ptrs;
    size_t i;
    int rc;
    memset(d, 0, sizeof *d);
    d->plan_name = p->name;
    time_iso8601(time_wall(), d->generated_at, sizeof d->generated_at);
    if ((rc = load_json(mpath, "registry manifest", manifest_fix, &d->manifest)) != 0 ||
        (d->manifest && (rc = manifest_check(d->manifest, mpath)) != 0) ||
        (rc = load_json(p->baseline_path, "baseline store", baseline_fix, &d->baseline)) != 0 ||
        (d->baseline && (rc = baseline_check(d->baseline, p->baseline_path)) != 0)) {
        free(mpath);
        return rc;
    }
    free(mpath);
    rels = json_object_get(d->manifest, "releases");
    d->nrel = json_array_size(rels);
    d->rel = xcalloc(d->nrel ? d->nrel : 1, sizeof *d->rel);
    ptrs = json_object_get(d->manifest, "pointers");
    for (size_t k = 0; k < SITE_NPOINTERS; k++)
        d->pointer[k] = json_string_value(json_object_get(ptrs, site_pointer_names[k]));
    json_array_foreach(rels, i, r)
    {
        site_release *sr = &d->rel[i];
        sr->entry = r;
        sr->version = json_string_value(json_object_get(r, "version"));
        sr->status = json_string_value(json_object_get(r, "status"));
        for (size_t k = 0; k < SITE_NPOINTERS; k++)
            if (d->pointer[k] && strcmp(d->pointer[k], sr->version) == 0)
                sr->pointers |= 1u << k;
        load_state(sr, p->state_dir);
    }
    return 0;
}

/* ---- metric values ------------------------------------------------------------------------- */

/* ---- writing ------------------------------------------------------------------------------- */

static int write_page(const char *outdir, const strbuf *page)
{
    char *path = path_join(outdir, "index.html");
    int rc = path_mkdirs(outdir);
    if (rc == 0)
        rc = fs_write_atomic(path, page->s ? page->s : "", page->len);
    if (rc != 0) {
        char *why = xstrdup(error_last());
        rc = error_set(RELHOST_EIO, "cannot write the status page %s: %s; make %s writable or "
                       "pick another folder with -o DIR", path, why, outdir);
        free(why);
    }
    free(path);
    return rc;
}

int site_write(const plan *p, const char *outdir)
{
    site_data d;
    strbuf page;
    int rc = data_load(p, &d);
    if (rc != 0) {
        data_free(&d);
        return rc;
    }
    sb_init(&page);
    site_render(&d, &page);
    rc = write_page(outdir, &page);
    sb_free(&page);
    data_free(&d);
    return rc;
}
