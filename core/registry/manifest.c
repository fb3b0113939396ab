/* SPDX-License-Identifier: MIT */
/* manifest.c - the registry manifest's JSON: checked, read into the typed record, changed and
 * written back (manifest.h documents the schema). */
#include "registry/manifest.h"

#include "base/error.h"
#include "base/util.h"
#include "registry/fsutil.h"

#include <relhost/plugin.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const manifest_pointer_names[MANIFEST_NPOINTERS] = {"latest", "last_green",
                                                                "previous_green"};

/* In manifest_status order, from MANIFEST_STAGED. */
static const char *const statuses[] = {"staged", "promoted", "quarantined", "rolled_back", NULL};

/* The optional strings of a release (the page holds them to string or null), and where the
 * typed record keeps each. */
static const struct {
    const char *key;
    size_t offset;
} release_strings[] = {
    {"commit", offsetof(manifest_release, commit)},
    {"staged_at", offsetof(manifest_release, staged_at)},
    {"promoted_at", offsetof(manifest_release, promoted_at)},
    {"quarantined_at", offsetof(manifest_release, quarantined_at)},
    {"rolled_back_at", offsetof(manifest_release, rolled_back_at)},
    {"reason", offsetof(manifest_release, reason)},
    {NULL, 0},
};

static char **release_string(manifest_release *e, size_t k)
{
    return (char **)((char *)e + release_strings[k].offset);
}

const char *manifest_status_name(manifest_status s)
{
    return s >= MANIFEST_STAGED && s <= MANIFEST_ROLLED_BACK ? statuses[s - MANIFEST_STAGED] : NULL;
}

static manifest_status status_of(const char *s)
{
    for (size_t i = 0; s && statuses[i]; i++)
        if (strcmp(statuses[i], s) == 0)
            return (manifest_status)(MANIFEST_STAGED + i);
    return MANIFEST_UNKNOWN;
}

/* ---- the registry's checks ----------------------------------------------------------------- */

static int bad_manifest(const char *path, const char *what)
{
    return error_set(RELHOST_EINVAL,
                     "registry manifest %s is not valid: %s. relhost changes nothing until it is "
                     "fixed: restore it from a backup (audit.jsonl in the same folder lists every "
                     "operation)",
                     path, what);
}

static int check_registry(const char *path, const json_t *m)
{
    json_t *ptrs, *rels, *e;
    size_t i;
    if (!json_is_object(m))
        return bad_manifest(path, "not a JSON object");
    if (!json_is_integer(json_object_get(m, "schema")))
        return bad_manifest(path, "no integer \"schema\"");
    if (json_integer_value(json_object_get(m, "schema")) > MANIFEST_SCHEMA)
        return error_set(RELHOST_EINVAL,
                         "registry manifest %s has schema %lld, newer than this relhost reads "
                         "(%d): use a newer relhost; nothing was changed",
                         path, (long long)json_integer_value(json_object_get(m, "schema")),
                         MANIFEST_SCHEMA);
    ptrs = json_object_get(m, "pointers");
    rels = json_object_get(m, "releases");
    if (!json_is_object(ptrs) || !json_is_array(rels))
        return bad_manifest(path, "\"pointers\" must be an object and \"releases\" an array");
    for (size_t k = 0; k < MANIFEST_NPOINTERS; k++) {
        json_t *pv = json_object_get(ptrs, manifest_pointer_names[k]);
        if (pv && !json_is_null(pv) && !json_is_string(pv))
            return bad_manifest(path, "a pointer is neither a version string nor null");
    }
    json_array_foreach(rels, i, e)
    {
        if (!json_is_object(e) || !json_is_string(json_object_get(e, "version")) ||
            !status_of(json_string_value(json_object_get(e, "status"))))
            return bad_manifest(path, "a release lacks a version string or a known status "
                                      "(staged, promoted, quarantined, rolled_back)");
        if (json_object_get(e, "artifacts") && !json_is_array(json_object_get(e, "artifacts")))
            return bad_manifest(path, "a release's \"artifacts\" is not an array");
    }
    return 0;
}

/* ---- the page's checks --------------------------------------------------------------------- */

/* What to do about a damaged manifest, in the page's messages. */
static const char page_fix[] = "fix it or restore it from a backup";

static int page_bad(const char *path, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int page_bad(const char *path, const char *fmt, ...)
{
    va_list ap;
    char *what;
    int rc;
    va_start(ap, fmt);
    what = xvasprintf(fmt, ap);
    va_end(ap);
    rc = error_set(RELHOST_EINVAL, "the registry manifest %s %s; %s; nothing was written", path,
                   what, page_fix);
    free(what);
    return rc;
}

static int page_schema(const json_t *m, const char *path)
{
    json_t *s = json_object_get(m, "schema");
    if (!json_is_object(m))
        return page_bad(path, "is not a JSON object");
    if (!json_is_integer(s) || json_integer_value(s) < 1)
        return page_bad(path, "has no valid \"schema\" (a positive integer)");
    if (json_integer_value(s) > MANIFEST_SCHEMA)
        return error_set(RELHOST_EINVAL,
                         "the registry manifest %s has schema %lld, newer than "
                         "the %lld this relhost %s reads: upgrade relhost; nothing was written",
                         path, (long long)json_integer_value(s), (long long)MANIFEST_SCHEMA,
                         RELHOST_VERSION);
    return 0;
}

/* Release #i's version v (a non-empty string) entered in seen (an object: version -> its
 * release's index), or an error naming the two releases that share it. One hashed lookup per
 * release, so that a registry of 10,000 releases is not checked in 50 million comparisons. */
static int page_distinct(const char *path, json_t *seen, const json_t *v, size_t i)
{
    json_t *was = json_object_getn(seen, json_string_value(v), json_string_length(v));
    if (was)
        return page_bad(path, "is corrupt: releases #%zu and #%zu have the same version",
                        (size_t)json_integer_value(was) + 1, i + 1);
    json_object_setn_new(seen, json_string_value(v), json_string_length(v),
                         json_integer((json_int_t)i));
    return 0;
}

/* Release #i (r) of the manifest, checked so that the page can trust every type it reads. */
static int check_page_release(const char *path, const json_t *r, size_t i)
{
    json_t *v = json_object_get(r, "version"), *a = json_object_get(r, "artifacts");
    if (!json_is_object(r))
        return page_bad(path, "is corrupt: release #%zu is not an object", i + 1);
    if (!json_is_string(v) || json_string_length(v) == 0)
        return page_bad(path, "is corrupt: release #%zu has no \"version\" string", i + 1);
    if (!json_is_string(json_object_get(r, "status")))
        return page_bad(path,
                        "is corrupt: release #%zu has no \"status\" string (staged, "
                        "promoted, quarantined or rolled_back)",
                        i + 1);
    for (size_t k = 0; release_strings[k].key; k++) {
        json_t *s = json_object_get(r, release_strings[k].key);
        if (s && !json_is_null(s) && !json_is_string(s))
            return page_bad(path, "is corrupt: release #%zu: \"%s\" must be a string or null",
                            i + 1, release_strings[k].key);
    }
    if (a && !json_is_array(a))
        return page_bad(path, "is corrupt: release #%zu: \"artifacts\" must be an array", i + 1);
    return 0;
}

/* So that the page can trust every type it reads. Versions are not formatted into messages:
 * they came from users and may hold terminal escapes. */
static int check_page(const char *path, const json_t *m)
{
    json_t *ptrs = json_object_get(m, "pointers"), *rels = json_object_get(m, "releases"), *r;
    json_t *seen;
    size_t i, k;
    int rc;
    if ((rc = page_schema(m, path)) != 0)
        return rc;
    if (ptrs && !json_is_object(ptrs))
        return page_bad(path, "is corrupt: \"pointers\" must be an object");
    for (k = 0; k < MANIFEST_NPOINTERS; k++) {
        json_t *v = json_object_get(ptrs, manifest_pointer_names[k]);
        if (v && !json_is_null(v) && !json_is_string(v))
            return page_bad(path, "is corrupt: pointer \"%s\" must be a version string or null",
                            manifest_pointer_names[k]);
    }
    if (rels && !json_is_array(rels))
        return page_bad(path, "is corrupt: \"releases\" must be an array");
    seen = json_object();
    json_array_foreach(rels, i, r)
    {
        if ((rc = check_page_release(path, r, i)) != 0 ||
            (rc = page_distinct(path, seen, json_object_get(r, "version"), i)) != 0)
            break;
    }
    json_decref(seen);
    return rc;
}

/* ---- reading ------------------------------------------------------------------------------- */

static char *str_of(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? xstrdup(s) : NULL;
}

static void artifacts_free(manifest_release *e)
{
    for (size_t i = 0; i < e->nartifacts; i++) {
        free(e->artifacts[i].path);
        free(e->artifacts[i].sha256);
    }
    free(e->artifacts);
    e->artifacts = NULL;
    e->nartifacts = 0;
}

static void read_artifacts(const json_t *o, manifest_release *e)
{
    json_t *arts = json_object_get(o, "artifacts"), *a;
    size_t i;
    artifacts_free(e);
    e->artifacts = xcalloc(json_array_size(arts) + 1, sizeof *e->artifacts);
    json_array_foreach(arts, i, a)
    {
        manifest_artifact *x = &e->artifacts[e->nartifacts++];
        json_t *size = json_object_get(a, "size");
        x->path = str_of(a, "path");
        x->sha256 = str_of(a, "sha256");
        x->size = json_is_integer(size) ? (long long)json_integer_value(size) : -1;
    }
}

/* A checked release object (version and status strings) into *e. */
static void read_release(const json_t *o, manifest_release *e)
{
    memset(e, 0, sizeof *e);
    e->version = str_of(o, "version");
    e->status_raw = str_of(o, "status");
    e->status = status_of(e->status_raw);
    for (size_t k = 0; release_strings[k].key; k++)
        *release_string(e, k) = str_of(o, release_strings[k].key);
    read_artifacts(o, e);
}

static void release_free(manifest_release *e)
{
    free(e->version);
    free(e->status_raw);
    for (size_t k = 0; release_strings[k].key; k++)
        free(*release_string(e, k));
    artifacts_free(e);
}

/* The typed record of m->doc, a checked document. */
static void read_doc(manifest *m)
{
    json_t *ptrs = json_object_get(m->doc, "pointers"), *rels = json_object_get(m->doc, "releases");
    json_t *r;
    size_t i;
    m->schema = (long long)json_integer_value(json_object_get(m->doc, "schema"));
    for (size_t k = 0; k < MANIFEST_NPOINTERS; k++)
        m->pointer[k] = str_of(ptrs, manifest_pointer_names[k]);
    m->releases = xcalloc(json_array_size(rels) + 1, sizeof *m->releases);
    json_array_foreach(rels, i, r) read_release(r, &m->releases[m->nreleases++]);
}

int manifest_read(json_t *doc, const char *path, manifest_check check, manifest *out)
{
    int rc = check == MANIFEST_CHECK_PAGE ? check_page(path, doc) : check_registry(path, doc);
    memset(out, 0, sizeof *out);
    if (rc != 0) {
        json_decref(doc);
        return rc;
    }
    out->doc = doc;
    read_doc(out);
    return 0;
}

int manifest_load(const char *path, manifest *out)
{
    json_error_t je;
    json_t *doc;
    memset(out, 0, sizeof *out);
    if (!fs_exists(path)) {
        manifest_empty(out);
        return 0;
    }
    if (!(doc = fs_load_json(path, &je))) {
        char what[300];
        snprintf(what, sizeof what, "%s at line %d", je.text, je.line);
        return bad_manifest(path, what);
    }
    return manifest_read(doc, path, MANIFEST_CHECK_REGISTRY, out);
}

void manifest_empty(manifest *out)
{
    memset(out, 0, sizeof *out);
    out->doc = json_pack("{s:i, s:{s:n, s:n, s:n}, s:[]}", "schema", MANIFEST_SCHEMA, "pointers",
                         "latest", "last_green", "previous_green", "releases");
    read_doc(out);
}

void manifest_copy(const manifest *m, manifest *out)
{
    memset(out, 0, sizeof *out);
    out->doc = json_deep_copy(m->doc);
    read_doc(out);
}

void manifest_free(manifest *m)
{
    if (!m)
        return;
    for (size_t k = 0; k < MANIFEST_NPOINTERS; k++)
        free(m->pointer[k]);
    for (size_t i = 0; i < m->nreleases; i++)
        release_free(&m->releases[i]);
    free(m->releases);
    json_decref(m->doc);
    memset(m, 0, sizeof *m);
}

char *manifest_text(const manifest *m)
{
    return json_dumps(m->doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
}

json_t *manifest_json(const manifest *m) { return m->doc; }

const manifest_release *manifest_find(const manifest *m, const char *version)
{
    for (size_t i = 0; i < m->nreleases; i++)
        if (strcmp(m->releases[i].version, version) == 0)
            return &m->releases[i];
    return NULL;
}

static json_t *obj_of(const manifest *m, const manifest_release *e)
{
    return json_array_get(json_object_get(m->doc, "releases"), (size_t)(e - m->releases));
}

/* ---- changing ------------------------------------------------------------------------------ */

/* Member key of o and its typed copy *field become s (NULL: null). */
static void set_str(json_t *o, const char *key, char **field, const char *s)
{
    char *copy = s ? xstrdup(s) : NULL;
    json_object_set_new(o, key, s ? json_string(s) : json_null());
    free(*field);
    *field = copy;
}

manifest_release *manifest_enter(manifest *m, const char *version, const char *commit)
{
    manifest_release *e = (manifest_release *)manifest_find(m, version);
    json_t *o;
    if (e)
        return e;
    o = json_pack("{s:s, s:o, s:s, s:n, s:n, s:n, s:n, s:n, s:[]}", "version", version, "commit",
                  commit ? json_string(commit) : json_null(), "status", "staged", "staged_at",
                  "promoted_at", "quarantined_at", "rolled_back_at", "reason", "artifacts");
    json_array_append_new(json_object_get(m->doc, "releases"), o);
    m->releases = xrealloc(m->releases, (m->nreleases + 1) * sizeof *m->releases);
    e = &m->releases[m->nreleases++];
    read_release(o, e);
    return e;
}

void manifest_set_status(manifest *m, manifest_release *e, manifest_status s, const char *at)
{
    json_t *o = obj_of(m, e);
    set_str(o, "status", &e->status_raw, manifest_status_name(s));
    e->status = s;
    if (!at)
        return;
    switch (s) {
    case MANIFEST_STAGED: set_str(o, "staged_at", &e->staged_at, at); break;
    case MANIFEST_PROMOTED: set_str(o, "promoted_at", &e->promoted_at, at); break;
    case MANIFEST_QUARANTINED: set_str(o, "quarantined_at", &e->quarantined_at, at); break;
    case MANIFEST_ROLLED_BACK: set_str(o, "rolled_back_at", &e->rolled_back_at, at); break;
    case MANIFEST_UNKNOWN: break;
    }
}

void manifest_set_rolled_back_at(manifest *m, manifest_release *e, const char *at)
{
    set_str(obj_of(m, e), "rolled_back_at", &e->rolled_back_at, at);
}

void manifest_set_reason(manifest *m, manifest_release *e, const char *reason)
{
    set_str(obj_of(m, e), "reason", &e->reason, reason);
}

static json_t *staged_json(const manifest_staged *a, size_t n)
{
    json_t *arts = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arts, json_pack("{s:s, s:s, s:I}", "path", a[i].path, "sha256",
                                              a[i].sha256, "size", (json_int_t)a[i].size));
    return arts;
}

void manifest_set_artifacts(manifest *m, manifest_release *e, const manifest_staged *a, size_t n)
{
    json_t *o = obj_of(m, e);
    json_object_set_new(o, "artifacts", staged_json(a, n));
    read_artifacts(o, e);
}

int manifest_same_artifacts(const manifest *m, const manifest_release *e, const manifest_staged *a,
                            size_t n)
{
    json_t *arts = staged_json(a, n);
    int same = json_equal(json_object_get(obj_of(m, e), "artifacts"), arts);
    json_decref(arts);
    return same;
}

void manifest_set_pointer(manifest *m, manifest_pointer p, const char *version)
{
    set_str(json_object_get(m->doc, "pointers"), manifest_pointer_names[p], &m->pointer[p],
            version);
}
