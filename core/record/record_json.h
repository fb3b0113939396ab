/* SPDX-License-Identifier: MIT */
/*
 * record_json.h - the typed getters and setters core/record's files share to read and write the
 * state's JSON (record_read.c, record_job.c, record_evidence.c, record_write.c, verdict.c). A
 * member that is missing or has the wrong type reads as absent (record.h); nothing outside
 * core/record includes this header.
 */
#ifndef RELHOST_RECORD_JSON_H
#define RELHOST_RECORD_JSON_H

#include "record/record.h"

#include <jansson.h>

/** o[key] copied when it is a string (embedded NULs kept), else NULL. */
char *rj_str(const json_t *o, const char *key);
/** o[key] borrowed when it is a string, else NULL. */
const char *rj_cstr(const json_t *o, const char *key);
/** A finite number (is_int: the state held an integer), else .set = 0. */
record_real rj_realv(const json_t *v);
record_real rj_real(const json_t *o, const char *key);
/** An integer; an integral real (a hand edit's 3.0) counts, with from_real set. */
record_int rj_int(const json_t *o, const char *key);
/** 1 when array a holds the string s. */
int rj_in_array(const json_t *a, const char *s);
/** s as a JSON string, or JSON null for NULL (a new reference). */
json_t *rj_str_or_null(const char *s);

#endif
