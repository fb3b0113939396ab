/* SPDX-License-Identifier: MIT */
/*
 * manifest.h - the registry's manifest.json as a typed record: what registry.c commits and the
 * commands and the status page read. manifest.c is the only code that touches the manifest's
 * JSON keys.
 *
 * The manifest's schema (MANIFEST_SCHEMA 1):
 *
 *   root {
 *     "schema": int,
 *     "pointers": { "latest", "last_green", "previous_green": str (a version) | null },
 *     "releases": [ RELEASE ] (oldest first: the order releases entered the registry)
 *   }
 *   RELEASE { "version": str, "commit": str | null,
 *             "status": "staged" | "promoted" | "quarantined" | "rolled_back",
 *             "staged_at", "promoted_at", "quarantined_at", "rolled_back_at": ISO 8601 UTC str
 *                 | null,
 *             "reason": str | null (why it was quarantined or rolled back),
 *             "artifacts": [ {"path": str (a file name under staged/<version>/),
 *                             "sha256": str (hex), "size": int} ] }
 *
 * A release a registry operation enters has every member above, in that order, the ones it does
 * not know yet null. Members this relhost does not know, and members it knows holding another
 * type, are kept as they are when the manifest is written again; a member that is missing or
 * has the wrong type reads as absent (NULL). Every string of a manifest is owned by it and freed
 * by manifest_free().
 */
#ifndef RELHOST_MANIFEST_H
#define RELHOST_MANIFEST_H

#include <jansson.h>
#include <stddef.h>

#define MANIFEST_SCHEMA 1

typedef enum manifest_pointer {
    MANIFEST_LATEST,
    MANIFEST_LAST_GREEN,
    MANIFEST_PREVIOUS_GREEN,
    MANIFEST_NPOINTERS
} manifest_pointer;

/** "latest", "last_green", "previous_green", in manifest_pointer order. */
extern const char *const manifest_pointer_names[MANIFEST_NPOINTERS];

typedef enum manifest_status {
    MANIFEST_UNKNOWN = 0, /* a word this relhost does not know (only the page reads one) */
    MANIFEST_STAGED,
    MANIFEST_PROMOTED,
    MANIFEST_QUARANTINED,
    MANIFEST_ROLLED_BACK,
} manifest_status;

/** "staged", "promoted", "quarantined", "rolled_back"; NULL for MANIFEST_UNKNOWN. */
const char *manifest_status_name(manifest_status s);

typedef struct manifest_artifact {
    char *path, *sha256; /* NULL when missing or not a string (an entry that is no object) */
    long long size;      /* -1 when missing or not an integer */
} manifest_artifact;

typedef struct manifest_release {
    char *version; /* never NULL */
    manifest_status status;
    char *status_raw; /* the word in the manifest; never NULL */
    char *commit, *staged_at, *promoted_at, *quarantined_at, *rolled_back_at, *reason;
    size_t nartifacts;
    manifest_artifact *artifacts; /* the manifest's order */
} manifest_release;

typedef struct manifest {
    long long schema;
    char *pointer[MANIFEST_NPOINTERS]; /* the version each names, or NULL */
    size_t nreleases;
    manifest_release *releases; /* oldest first */
    json_t *doc; /* private to manifest.c: the document, written back with what it holds */
} manifest;

/** How strictly a reader holds the manifest, with the messages each reader has always given. */
typedef enum manifest_check {
    /* The registry (registry_open, an unfinished operation's intent): "pointers" an object and
     * "releases" an array, every release with a version and a known status. */
    MANIFEST_CHECK_REGISTRY,
    /* The status page: a positive schema, "pointers" and "releases" may be missing, any status
     * word, the optional strings strings or null, versions non-empty and distinct. */
    MANIFEST_CHECK_PAGE,
} manifest_check;

/**
 * Read doc (stolen, also on failure), the manifest at path (named in errors only), into *out
 * (zeroed first; free with manifest_free()). Returns 0, or RELHOST_EINVAL with error_last()
 * saying what is wrong (a newer schema included) and what to do.
 */
int manifest_read(json_t *doc, const char *path, manifest_check check, manifest *out);

/** The registry's manifest file at path into *out, checked as MANIFEST_CHECK_REGISTRY; a
 *  missing file reads as an empty manifest. 0, or RELHOST_EINVAL with error_last() set. */
int manifest_load(const char *path, manifest *out);

/** An empty manifest (no release, every pointer null) into *out. */
void manifest_empty(manifest *out);

/** A deep copy of m into *out, to build the next manifest in. */
void manifest_copy(const manifest *m, manifest *out);

/** Free everything m owns (not m itself); m may be NULL. */
void manifest_free(manifest *m);

/** The manifest as manifest.json holds it (indented; caller frees). */
char *manifest_text(const manifest *m);

/** The manifest's document (borrowed, valid while m is): what an intent carries. */
json_t *manifest_json(const manifest *m);

/** The release of version, or NULL. Borrowed; valid until the next manifest_enter() on m. */
const manifest_release *manifest_find(const manifest *m, const char *version);

/*
 * Changes, each to the typed record and the document alike. Members set in an object that
 * lacked them are added at its end, as registry operations always did.
 */

/** The release of version in m, entered at the end (status staged, commit, the rest null, no
 *  artifacts) when missing. Valid until the next manifest_enter() on m. */
manifest_release *manifest_enter(manifest *m, const char *version, const char *commit);

/** Set the release's status and, when at is not NULL, its "<status>_at" time to at. */
void manifest_set_status(manifest *m, manifest_release *e, manifest_status s, const char *at);

/** Set "rolled_back_at" (a release rolled back and quarantined in one operation has both). */
void manifest_set_rolled_back_at(manifest *m, manifest_release *e, const char *at);

/** Set the reason; NULL writes null. */
void manifest_set_reason(manifest *m, manifest_release *e, const char *reason);

/** The artifacts as staging records them: one {path, sha256, size} each, n of them. */
typedef struct manifest_staged {
    const char *path, *sha256;
    long long size;
} manifest_staged;

/** Replace the release's artifacts. */
void manifest_set_artifacts(manifest *m, manifest_release *e, const manifest_staged *a, size_t n);

/** 1 when the release's artifacts are exactly these (members and order), else 0. */
int manifest_same_artifacts(const manifest *m, const manifest_release *e, const manifest_staged *a,
                            size_t n);

/** Point p at version; NULL writes null. */
void manifest_set_pointer(manifest *m, manifest_pointer p, const char *version);

#endif
