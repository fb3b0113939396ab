/* SPDX-License-Identifier: MIT */
/*
 * releases_json.c - `relhost releases --json` (releases_json.h, docs/releases.schema.json).
 */
#include "view/releases_json.h"

#include "base/secrets.h"

#include <stdlib.h>

/* A manifest string, masked (a reason is typed by a person and may quote anything), or null. */
static json_t *str_or_null(const char *s)
{
    json_t *v;
    char *red;
    if (!s)
        return json_null();
    red = secrets_redact_dup(s);
    v = json_string(red);
    free(red);
    return v ? v : json_null();
}

static json_t *release_json(const manifest_release *e)
{
    json_t *arts = json_array();
    const char *status = manifest_status_name(e->status);
    for (size_t k = 0; k < e->nartifacts; k++) {
        const manifest_artifact *a = &e->artifacts[k];
        json_array_append_new(arts, json_pack("{s:o, s:o, s:o}", "path", str_or_null(a->path),
                                              "sha256", str_or_null(a->sha256), "size",
                                              a->size >= 0 ? json_integer(a->size) : json_null()));
    }
    /* The registry refuses a manifest with a status word it does not know; should one reach
     * here all the same, it prints as "unknown", never as one of the four. */
    return json_pack(
        "{s:o, s:o, s:s, s:o, s:o, s:o, s:o, s:o, s:o}", "version", str_or_null(e->version),
        "commit", str_or_null(e->commit), "status", status ? status : "unknown", "staged_at",
        str_or_null(e->staged_at), "promoted_at", str_or_null(e->promoted_at), "quarantined_at",
        str_or_null(e->quarantined_at), "rolled_back_at", str_or_null(e->rolled_back_at), "reason",
        str_or_null(e->reason), "artifacts", arts);
}

json_t *releases_json(const manifest *m)
{
    json_t *o = json_object(), *ptrs = json_object(), *rels = json_array();
    for (size_t k = 0; k < MANIFEST_NPOINTERS; k++)
        json_object_set_new(ptrs, manifest_pointer_names[k], str_or_null(m->pointer[k]));
    for (size_t i = 0; i < m->nreleases; i++)
        json_array_append_new(rels, release_json(&m->releases[i]));
    json_object_set_new(o, "releases_schema", json_integer(RELEASES_SCHEMA));
    json_object_set_new(o, "pointers", ptrs);
    json_object_set_new(o, "releases", rels);
    return o;
}
