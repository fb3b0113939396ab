/* SPDX-License-Identifier: MIT */
/*
 * releases_json.h - `relhost releases --json`: the release registry as a versioned JSON object
 * (docs/releases.schema.json), made from its manifest. Like every JSON output of relhost it
 * names its shape's number "<name>_schema" ("releases_schema"); the manifest file itself keeps
 * "schema" (core/registry/manifest.h), which is the file's format, not this output's.
 *
 * Every member the schema lists is always present (null when the manifest lacks it or holds
 * another type); members the manifest holds that this relhost does not know are not printed.
 * Releases come oldest first, as the manifest holds them. Strings pass through the redactor.
 */
#ifndef RELHOST_RELEASES_JSON_H
#define RELHOST_RELEASES_JSON_H

#include "registry/manifest.h"

#include <jansson.h>

/** The "releases_schema" number releases_json() writes. A change to the shape is a new number
 *  and a new docs/releases.schema.json. */
#define RELEASES_SCHEMA 1

/** The registry's manifest m (borrowed) as the releases --json object (a new reference). */
json_t *releases_json(const manifest *m);

#endif
