/* SPDX-License-Identifier: MIT */
/*
 * record_shape.h - the types a release state must have to be used at all (the schema in
 * core/record/record.h). A snapshot or journal that gives a member the wrong container or
 * decision type ("jobs": true, an outcome that is a number) is refused as corrupt when it is
 * loaded: half-using it would lose results (a save into "jobs": true fails) or read a verdict
 * that was never recorded. Members the schema does not name are left alone.
 */
#ifndef RELHOST_RECORD_SHAPE_H
#define RELHOST_RECORD_SHAPE_H

#include <jansson.h>

/** NULL when root has the schema's shape, else a malloc'd phrase naming the first wrong member
 *  ("has \"jobs\" as a boolean where an object belongs"). */
char *record_shape_bad(json_t *root);

#endif
