/* SPDX-License-Identifier: MIT */
/*
 * site_index.h - the status page's index of release states: <registry_dir>/site_index.jsonl, so
 * that `relhost site` over a registry of 10,000 releases reads one file instead of opening,
 * replaying and checking 10,000 states.
 *
 * What it holds: for each release of the manifest whose state could be read, the release record
 * (core/record/record.h) that record_read() gives of the part of its state the page draws from
 * (record_prune_for_view(), core/record: "finished", "exit_code", the steps, the requirement
 * set, and of each job its step, validation, and its evidence's metrics and checks), written
 * by record_encode() (core/record/record_codec.h), with the key of the state's files when it
 * was read: device, inode, size, mtime and ctime (to the nanosecond) of release_<v>.json and
 * release_<v>.journal. Everything else the page shows (statuses, pointers, times, reasons)
 * comes from the manifest, the audit log and the baseline store, read as before.
 *
 *   line 1   {"relhost_site_index": 3, "state_dir": DIR, "releases": N, "bytes": B,
 *             "crc32": "xxxxxxxx"}   (B bytes follow, whose CRC-32 is crc32)
 *   entries  V K L RECORD\n   one per release, in manifest order: V, a version, and K, a key,
 *            are of plain characters, L is the length of RECORD in bytes (its strings may
 *            hold line ends: entries are framed by L, not by lines); RECORD is decoded only
 *            when it is used, and one that does not decode is read again from the state
 *
 * The state files stay the authority: an entry is used only when its key is the files' key now
 * (a snapshot is replaced by a rename, a new inode; a journal grows); any other entry is read
 * again from the state and replaced. The index is thrown away whole (and rebuilt) when it does
 * not parse, fails its CRC or byte count, names another state folder or a newer format. A
 * release whose state is missing or unreadable has no entry: its note comes from a full read
 * each time. The file is rewritten only when an entry changed, atomically (temp, fsync, rename),
 * under the registry's lock (<registry_dir>/.lock, the one registry operations take); when the
 * lock stays busy for two seconds or the folder cannot be written, the page is written without
 * updating the index.
 */
#ifndef RELHOST_SITE_INDEX_H
#define RELHOST_SITE_INDEX_H

#include "record/record.h"

#include <jansson.h>

/** The index's format; any other one is rebuilt, never read (an older one may lack what this
 *  relhost reads: 2 added each release's requirement set, 3 holds records, not JSON states). */
#define SITE_INDEX_SCHEMA 3

typedef struct site_index site_index;

/** The index of registry_dir for the states of state_dir (both borrowed for the index's life).
 *  Never fails: a missing index is empty, a damaged one is empty and marked for a rewrite
 *  (site_index_damage() says why). Free with site_index_free(). */
site_index *site_index_open(const char *registry_dir, const char *state_dir);

/** Why the index on disk was not used (corrupt, another folder, newer), or NULL. Borrowed. */
const char *site_index_damage(const site_index *ix);

/** The key of version's state files now (caller frees), or NULL when it has none an index can
 *  hold: neither file exists, one cannot be stat()ed, or version is no state file name. */
char *site_index_key(const site_index *ix, const char *version);

/** version's entry as a record into *out (free with record_free()) when the index has one with
 *  this key: 1; else 0, and an entry with another key (or any, when key is NULL) is dropped. */
int site_index_lookup(site_index *ix, const char *version, const char *key, release_record *out);

/** Enter version's state (root, borrowed; read when the files had key) into the index. */
void site_index_store(site_index *ix, const char *version, const char *key, json_t *root);

/** Write the index with the entries of versions (n, in that order) when anything changed.
 *  0; or an error (the index is left as it was) with error_last() set, which the caller only
 *  reports: the page does not depend on it. */
int site_index_save(site_index *ix, const char *const *versions, size_t n);

void site_index_free(site_index *ix);

#endif
