/* SPDX-License-Identifier: MIT */
/* site.c - the status page's inputs (manifest, baseline store, release states, the audit log's
 * last promotion or rollback, the kill switch) and the atomic write of index.html; the page
 * itself is rendered by site_html.c (with site_banner.c and site_plot.c), the manifest read by
 * core/registry/manifest.c. */
#include "view/site.h"

#include "base/error.h"
#include "base/jarena.h"
#include "base/log.h"
#include "record/state.h"
#include "registry/fsutil.h"
#include "run/freeze.h"
#include "view/site_index.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- reading the inputs -------------------------------------------------------------------- */

/* What to do about a damaged input, for its error messages. */
static const char manifest_fix[] = "fix it or restore it from a backup";
static const char baseline_fix[] = "fix it, restore it from a backup, or move it away (the page "
                                   "then has no trend plots)";

/* The JSON document in path, read in one piece (fs_read_json); NULL with *je set. The baseline
 * store may be a link, as the run reads it (core/run/baseline.c). */
static json_t *load_whole(const char *path, json_error_t *je)
{
    FILE *f = fopen(path, "re");
    json_t *doc;
    int arena;
    if (!f) {
        snprintf(je->text, sizeof je->text, "%s", strerror(errno));
        je->line = je->column = 0;
        return NULL;
    }
    arena = jarena_begin(); /* the manifest of 10,000 releases: base/jarena.h */
    doc = fs_read_json(f, je);
    if (arena)
        jarena_end();
    return doc;
}

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
    *out = load_whole(path, &je);
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

/* The state of one release, read-only; a release without a readable state gets a note. From
 * the index when its entry still matches the state's files (key: site_index.h), else read whole
 * and entered into the index. */
static void load_state(site_release *r, const char *state_dir, site_index *ix)
{
    state *st = NULL;
    char *key = site_index_key(ix, r->version);
    int rc;
    if (site_index_lookup(ix, r->version, key, (r->record = xcalloc(1, sizeof *r->record)))) {
        free(key);
        return;
    }
    free(r->record);
    r->record = NULL;
    rc = state_open(state_dir, r->version, STATE_READONLY, &st);
    if (rc != 0) {
        r->state_note = xasprintf("its state could not be read: %s", error_last());
        error_clear();
        free(key);
        return;
    }
    if (state_is_new(st))
        r->state_note = xstrdup("no state file for this release in the state folder: its steps "
                                "and checks are unknown here");
    else {
        r->record = xcalloc(1, sizeof *r->record);
        record_read(state_root(st), r->record);
        if (key) /* the key was taken before the read: a later change makes it stale */
            site_index_store(ix, r->version, key, state_root(st));
    }
    state_close(st);
    free(key);
}

/* ---- the banner's inputs: the audit log, the manifest's times, the kill switch ----------- */

static void change_free(site_change *c)
{
    free(c->operation);
    free(c->at);
    free(c->user);
    free(c->host);
    free(c->from);
    free(c->to);
    free(c->reason);
    memset(c, 0, sizeof *c);
}

static char *jdup(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? xstrdup(s) : NULL;
}

static int is_change(const char *op)
{
    return op && (strcmp(op, "promote") == 0 || strcmp(op, "rollback") == 0 ||
                  strcmp(op, "rollback+quarantine") == 0);
}

/* One audit line that is a promotion or a rollback: the last change so far, and when it made
 * the live release live. */
static void audit_line(json_t *o, site_data *d)
{
    const char *live = d->pointer[MANIFEST_LAST_GREEN], *to, *at;
    if (!is_change(json_string_value(json_object_get(o, "operation"))))
        return;
    change_free(&d->last);
    d->last = (site_change){1,
                            1,
                            jdup(o, "operation"),
                            jdup(o, "at"),
                            jdup(o, "user"),
                            jdup(o, "host"),
                            jdup(o, "from"),
                            jdup(o, "to"),
                            jdup(o, "reason")};
    to = json_string_value(json_object_get(o, "to"));
    at = json_string_value(json_object_get(o, "at"));
    if (live && to && at && strcmp(to, live) == 0) {
        free(d->live_since);
        d->live_since = xstrdup(at);
    }
}

/* The registry's audit log, oldest line first; a line that does not parse is counted and
 * skipped, a log that cannot be opened is a note (the page is still written). */
static void audit_load(const char *registry_dir, site_data *d)
{
    char *path = path_join(registry_dir, "audit.jsonl"), *line = NULL;
    FILE *f = fopen(path, "re");
    size_t cap = 0;
    ssize_t n;
    if (!f) {
        if (errno != ENOENT)
            d->audit_note = xasprintf("cannot read the audit log %s: %s", path, strerror(errno));
        free(path);
        return;
    }
    while ((n = getline(&line, &cap, f)) > 0) {
        json_t *o;
        if (strspn(line, " \t\r\n") == (size_t)n)
            continue;
        o = json_loadb(line, (size_t)n, 0, NULL);
        if (json_is_object(o))
            audit_line(o, d);
        else
            d->audit_bad++;
        json_decref(o);
    }
    free(line);
    fclose(f);
    free(path);
}

/* Without an audit line: the newest promotion or rollback time of the manifest (ISO 8601 UTC
 * strings compare as times); a rollback's target is then the live release. */
static void manifest_change(site_data *d)
{
    const char *best = NULL, *live = d->pointer[MANIFEST_LAST_GREEN];
    const manifest_release *be = NULL;
    int rb = 0;
    for (size_t i = 0; i < d->manifest.nreleases; i++) {
        const manifest_release *e = &d->manifest.releases[i];
        if (e->promoted_at && (!best || strcmp(e->promoted_at, best) > 0)) {
            best = e->promoted_at;
            be = e;
            rb = 0;
        }
        if (e->rolled_back_at && (!best || strcmp(e->rolled_back_at, best) >= 0)) {
            best = e->rolled_back_at;
            be = e;
            rb = 1;
        }
    }
    if (!be)
        return;
    d->last.known = 1;
    d->last.operation = xstrdup(rb ? "rollback" : "promote");
    d->last.at = xstrdup(best);
    if (rb) {
        d->last.from = xstrdup(be->version);
        d->last.to = live ? xstrdup(live) : NULL;
        d->last.reason = be->reason ? xstrdup(be->reason) : NULL;
    } else {
        d->last.to = xstrdup(be->version);
    }
    if (live && d->last.to && strcmp(d->last.to, live) == 0)
        d->live_since = xstrdup(best);
}

static void banner_load(const plan *p, site_data *d)
{
    const char *live = d->pointer[MANIFEST_LAST_GREEN];
    const manifest_release *le = live ? manifest_find(&d->manifest, live) : NULL;
    freeze_info fi;
    audit_load(p->registry_dir, d);
    if (!d->last.known)
        manifest_change(d);
    if (!d->live_since && le && le->promoted_at)
        d->live_since = xstrdup(le->promoted_at);
    if (freeze_read_file(p->state_dir, &fi) != 0) {
        d->freeze_note = xstrdup(error_last());
        error_clear();
    } else if (fi.frozen) {
        d->frozen = 1;
        d->freeze_reason = xstrdup(fi.reason);
        d->freeze_by = xstrdup(fi.by);
        d->freeze_at = xstrdup(fi.at);
    }
}

static void data_free(site_data *d)
{
    change_free(&d->last);
    free(d->live_since);
    free(d->audit_note);
    free(d->freeze_reason);
    free(d->freeze_by);
    free(d->freeze_at);
    free(d->freeze_note);
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
    const char **versions;
    site_index *ix;
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
    ix = site_index_open(p->registry_dir, p->state_dir);
    if (site_index_damage(ix))
        log_msg(RELHOST_LOG_WARN, NULL, "%s; it is rebuilt from the release states",
                site_index_damage(ix));
    versions = xcalloc(d->nrel + 1, sizeof *versions);
    for (size_t i = 0; i < d->nrel; i++) {
        site_release *sr = &d->rel[i];
        sr->entry = &d->manifest.releases[i];
        sr->version = versions[i] = sr->entry->version;
        sr->status = sr->entry->status_raw;
        for (size_t k = 0; k < MANIFEST_NPOINTERS; k++)
            if (d->pointer[k] && strcmp(d->pointer[k], sr->version) == 0)
                sr->pointers |= 1u << k;
        load_state(sr, p->state_dir, ix);
    }
    if (site_index_save(ix, versions, d->nrel) != 0) {
        log_msg(RELHOST_LOG_INFO, NULL, "the status page's index was not updated: %s",
                error_last());
        error_clear();
    }
    free(versions);
    site_index_free(ix);
    banner_load(p, d);
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
    /* room for the whole page at once (about 2 KiB a release, a plot point each), so that it
     * is not copied as it grows; what it does not use is never touched */
    sb_reserve(&page, (size_t)65536 + d.nrel * 3072);
    site_render(&d, &page);
    rc = write_page(outdir, &page);
    sb_free(&page);
    data_free(&d);
    return rc;
}
