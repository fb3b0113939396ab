/* SPDX-License-Identifier: MIT */
/*
 * crash.h - named crash points, so tests can prove that a kill at every write boundary leaves
 * state a later run can recover (DESIGN "Candidate, state and resume").
 *
 * In builds with RELHOST_TESTING, crash_point(name) kills the process on the spot when the
 * environment variable RELHOST_CRASH_AT names that point: "NAME" dies at its first hit,
 * "NAME:N" at its N-th hit (N >= 1), so a test can reach every occurrence of a point in a
 * sequence. Death is SIGKILL: no atexit handlers, no stdio flush, no core file, exactly what a
 * `kill -9` or the OOM killer does. Other builds compile the calls to nothing.
 *
 * The points (keep this list in step with the code and with tests/unit/state/state.c):
 *   state.journal.before_write    records are buffered, nothing written yet
 *   state.journal.after_write     records are in the journal, not yet fdatasync'ed
 *   state.journal.after_sync      records are durable
 *   state.snapshot.before_write   release_<v>.json.tmp created empty
 *   state.snapshot.before_rename  the temp file is complete and fsync'ed
 *   state.snapshot.after_rename   renamed over release_<v>.json, folder not yet fsync'ed
 *   state.snapshot.before_truncate folder fsync'ed, journal still holds the absorbed records
 *   state.snapshot.after_truncate journal cut to zero and fdatasync'ed
 *   state.recover.before_truncate  a torn journal tail was found at open, not yet cut
 *   state.recover.after_truncate   the torn tail is cut and the cut is durable
 *   state.backup.before_write     migration: release_<v>.json.v<N>.bak.tmp created empty
 *   state.backup.before_rename    migration: the backup temp file is complete and fsync'ed
 *   state.backup.after_rename     migration: the backup is in place (the migrated snapshot follows
 *                                 through the state.snapshot.* points)
 * The registry (core/registry/registry.c; proved by tests/registry, one kill per point and
 * operation):
 *   registry.stage.copied         artifacts copied into staged/.tmp-*, no intent yet
 *   registry.intent               intent.json durable, nothing applied
 *   registry.swap                 the staged folder swapped into place
 *   registry.manifest             manifest.json written (the commit point), nothing derived yet
 *   registry.baseline             the baseline store written (after the manifest)
 *   registry.link                 the last_green symlink flipped (after the manifest)
 *   registry.audit                audit line appended, intent.json not yet removed
 */
#ifndef RELHOST_CRASH_H
#define RELHOST_CRASH_H

#ifdef RELHOST_TESTING
void crash_point(const char *name);
#else
static inline void crash_point(const char *name) { (void)name; }
#endif

#endif
