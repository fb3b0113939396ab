/* SPDX-License-Identifier: MIT */
/* site.c - the status page's inputs (manifest, baseline store, release states) and the atomic
 * write of index.html; the page itself is rendered by site_html.c, the manifest read by
 * core/registry/manifest.c. */
#include "view/site.h"

#include "base/error.h"
#include "record/state.h"
#include "registry/fsutil.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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
        return error_set(RELHOST_EIO,
                         "cannot read the %s %s: %s; check the path and its "
                         "permissions; nothing was written",
                         what, path, strerror(errno));
    }
    if (!S_ISREG(st.st_mode))
        return error_set(RELHOST_EINVAL,
                         "the %s %s is not a regular file; %s; nothing was "
                         "written",
                         what, path, fix);
    *out = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (!*out)
        return error_set(RELHOST_EINVAL,
                         "the %s %s is not valid JSON (line %d, column %d: %s); "
                         "%s; nothing was written",
                         what, path, je.line, je.column, je.text, fix);
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
        return error_set(RELHOST_EINVAL,
                         "the %s %s has no valid \"schema\" (a positive integer); "
                         "%s; nothing was written",
                         what, path, fix);
    if (json_integer_value(s) > known)
        return error_set(RELHOST_EINVAL,
                         "the %s %s has schema %lld, newer than the %lld this "
                         "relhost %s reads: upgrade relhost; nothing was written",
                         what, path, (long long)json_integer_value(s), (long long)known,
                         RELHOST_VERSION);
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
        return error_set(RELHOST_EINVAL,
                         "the baseline store %s is corrupt: \"metrics\" must be an "
                         "object; %s; nothing was written",
                         path, baseline_fix);
    json_object_foreach(metrics, key, e)
    {
        if (!json_is_object(e))
            return error_set(RELHOST_EINVAL,
                             "the baseline store %s is corrupt: a metric's entry "
                             "is not an object; %s; nothing was written",
                             path, baseline_fix);
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
    manifest_free(&d->manifest);
    json_decref(d->baseline);
}

/* The manifest at path, checked for the page; a missing one leaves d->manifest empty. */
static int manifest_load_page(const char *path, site_data *d)
{
    json_t *doc;
    int rc = load_json(path, "registry manifest", manifest_fix, &doc);
    if (rc == 0 && doc) {
        d->has_manifest = 1;
        rc = manifest_read(doc, path, MANIFEST_CHECK_PAGE, &d->manifest);
    }
    return rc;
}

static int data_load(const plan *p, site_data *d)
{
    char *mpath = path_join(p->registry_dir, "manifest.json");
    int rc;
    memset(d, 0, sizeof *d);
    d->plan_name = p->name;
    time_iso8601(time_wall(), d->generated_at, sizeof d->generated_at);
    if ((rc = manifest_load_page(mpath, d)) != 0 ||
        (rc = load_json(p->baseline_path, "baseline store", baseline_fix, &d->baseline)) != 0 ||
        (d->baseline && (rc = baseline_check(d->baseline, p->baseline_path)) != 0)) {
        free(mpath);
        return rc;
    }
    free(mpath);
    d->nrel = d->manifest.nreleases;
    d->rel = xcalloc(d->nrel ? d->nrel : 1, sizeof *d->rel);
    for (size_t k = 0; k < MANIFEST_NPOINTERS; k++)
        d->pointer[k] = d->manifest.pointer[k];
    for (size_t i = 0; i < d->nrel; i++) {
        site_release *sr = &d->rel[i];
        sr->entry = &d->manifest.releases[i];
        sr->version = sr->entry->version;
        sr->status = sr->entry->status_raw;
        for (size_t k = 0; k < MANIFEST_NPOINTERS; k++)
            if (d->pointer[k] && strcmp(d->pointer[k], sr->version) == 0)
                sr->pointers |= 1u << k;
        load_state(sr, p->state_dir);
    }
    return 0;
}

/* ---- writing ------------------------------------------------------------------------------- */

static int write_page(const char *outdir, const strbuf *page)
{
    char *path = path_join(outdir, "index.html");
    int rc = path_mkdirs(outdir);
    if (rc == 0)
        rc = fs_write_atomic(path, page->s ? page->s : "", page->len);
    if (rc != 0) {
        char *why = xstrdup(error_last());
        rc = error_set(RELHOST_EIO,
                       "cannot write the status page %s: %s; make %s writable or "
                       "pick another folder with -o DIR",
                       path, why, outdir);
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
