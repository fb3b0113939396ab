/* SPDX-License-Identifier: MIT */
/*
 * record_codec.h - a release record (record.h) as a compact text and back, for the status
 * page's index (core/view/site_index.h): decoding it is a scan and the record's allocations,
 * not a JSON parse and a read of the parsed state.
 *
 * The text is every member of every record, in a fixed order, each followed by one space:
 *   string      "~" (NULL) or LEN ":" and its LEN bytes (no NUL among them)
 *   integer     decimal ("-" for a negative one)
 *   record_int  "-" when all zero, else its set and from_real digits then its value ("103": set,
 *               not from a real, 3)
 *   record_real "-" when all zero, else its set and is_int digits then the 16 hex digits of the
 *               double's bits (exact, -0 and all)
 *   array       its count, then its items
 * Strings may hold any byte but NUL (a line end too): a reader finds the text's end by its
 * length, never by a line end. record_decode(record_encode(r)) is r member for member; the
 * layout of the records is pinned at build time (record_codec.c), so a member added to
 * record.h fails the build until it is encoded here and SITE_INDEX_SCHEMA is raised.
 */
#ifndef RELHOST_RECORD_CODEC_H
#define RELHOST_RECORD_CODEC_H

#include "base/util.h"
#include "record/record.h"

#include <stddef.h>

/** Append rec's text to out. */
void record_encode(const release_record *rec, strbuf *out);

/** The record in the len bytes at s into *out (zeroed first; free with record_free()): 0, or
 *  -1 when they are not one whole record's text (cut short, too long, a count or an outcome out
 *  of range, a required string missing); *out is then freed and empty. */
int record_decode(const char *s, size_t len, release_record *out);

#endif
