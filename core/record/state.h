/* SPDX-License-Identifier: MIT */
/*
 * state.h - the crash-safe state store of one release (DESIGN "Candidate, state and resume").
 *
 * The state of release V is one JSON object in memory. Every change goes through state_set(),
 * which updates memory and appends a framed record to an in-memory buffer; state_flush() makes
 * the buffer durable with one write() and one fdatasync() (once per loop tick, and before any
 * action a record enables, e.g. SUBMITTING{key} before a submission); state_snapshot() rewrites the
 * whole object at step ends and exit. Files in the state folder:
 *
 *   release_<v>.json     snapshot: the root object, written temp + fsync + rename + fsync(dir)
 *   release_<v>.journal  records since the snapshot, appended O_APPEND, cut to 0 after a snapshot
 *   release_<v>.lock     flock()ed by the one process running the release; holds its pid
 *   release_<v>.json.v<N>.bak   the snapshot as it was before a schema migration from N
 *
 * Journal record, little endian: [u32 length][u32 CRC-32 (IEEE) of the payload][payload], the
 * payload being compact JSON {"seq":N,"path":["k1","k2",...],"value":V}; a record without
 * "value" deletes the path. seq grows by one per change and is never reused; the snapshot's
 * "seq" is the last change it contains, so records at or below it are skipped on replay.
 *
 * Recovery = snapshot + replay of the journal. A torn tail (a short record, an impossible
 * length or a CRC mismatch, with no intact frame after it) is what an interrupted write leaves:
 * it is cut, and state_warning() says so. Damage followed by an intact frame, an intact record
 * that is not a state change, a gap in seq, a snapshot that does not parse, or one written by a
 * newer relhost is an error (RELHOST_EINVAL: exit 2) and no file is modified.
 *
 * Single-threaded, like the rest of the core. Errors: a negative RELHOST_E* with error_last()
 * set, saying what failed, on which file and what to do. Values are never formatted into
 * messages (they may hold secrets the caller has not redacted).
 */
#ifndef RELHOST_STATE_H
#define RELHOST_STATE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/** The snapshot schema this relhost writes. Older ones are migrated on open; newer are refused. */
#define STATE_SCHEMA 1

/** Longest journal record payload accepted, written or read (a guard against a corrupt length). */
#define STATE_RECORD_MAX (64u * 1024 * 1024)

/** Deepest path state_set() takes. */
#define STATE_PATH_MAX 32

enum {
    /** For --check and status: no lock, no write, no folder created. A missing state reads as
     *  a root holding only the store's keys; a torn journal tail is ignored, not cut. Job
     *  records stay objects (a view reads each once; packing is for a run's memory), so
     *  state_job_value() returns them as they are. */
    STATE_READONLY = 1 << 0,
    /** Create the folder and a new state (snapshot written at once) when none exists. Without
     *  it, opening a release that has no state is RELHOST_ENOTFOUND. */
    STATE_CREATE = 1 << 1,
};

typedef struct state state;

/**
 * Open the state of release `version` in folder `dir`.
 *
 * Writable opens take an exclusive, non-blocking flock() on release_<version>.lock and write
 * the pid into it; a held lock is RELHOST_EINVAL "release V is locked by pid N ...". Then the
 * snapshot is loaded, the journal replayed, a torn tail cut, an older schema migrated (the
 * original kept as .v<N>.bak and the migrated snapshot written at once, so that every journal
 * record after it speaks the current schema).
 *
 * version must be a plain file-name part: [A-Za-z0-9._+-], not starting with '.' or '-'.
 * dir and version are copied. *out is the new store (free with state_close()) or NULL on error.
 * Returns 0, RELHOST_EINVAL (bad version, locked, corrupt or newer state), RELHOST_ENOTFOUND
 * (no state and no STATE_CREATE) or RELHOST_EIO.
 */
int state_open(const char *dir, const char *version, int flags, state **out);

/**
 * The root object, borrowed: valid until state_close(). It always holds "schema", "version"
 * and "seq" (kept by the store) next to whatever callers put ("steps", "jobs", "candidate",
 * "finished"...). Read it freely; never modify it or anything in it directly: a change made
 * outside state_set() is not journaled and would silently vanish after a crash.
 */
json_t *state_root(state *st);

/**
 * The value at root[path[0]]...[path[depth-1]], borrowed like state_root(); NULL when a key on
 * the way is missing or a value on the way is not an object. A job record (root["jobs"][id]) is
 * kept packed in memory: read it with state_job_value(), not below it with state_get().
 */
json_t *state_get(state *st, const char *const *path, size_t depth);

/**
 * A job record as an object: v is root["jobs"][id] of a loaded state, which the store keeps
 * packed in memory (its compact JSON text, a tenth of the tree's size), or an object (a root
 * built by hand). A new reference (the caller decrefs it once done with everything it borrowed
 * from it), or NULL when v is neither. The snapshot and the journal hold the objects themselves.
 */
json_t *state_job_value(const json_t *v);

/**
 * Set root[path[0]]...[path[depth-1]] = value, creating missing intermediate objects; value NULL
 * deletes the key (deleting what is not there is a no-op that journals nothing). The change is
 * in memory at once and journaled at the next state_flush() or state_snapshot().
 *
 * path: 1 to STATE_PATH_MAX object keys in valid UTF-8, borrowed for the call; path[0] may not
 * be "schema", "seq" or "version". value: the reference is stolen, on failure too; the caller
 * must not modify the value afterwards (it now belongs to the root). A value that shares any node
 * with the root or with the caller (a reference still held) is deep-copied first, so that memory
 * never holds links a replay would not rebuild.
 * Returns 0, or RELHOST_EINVAL (read-only store, bad path, a value on the way that is not an
 * object, record too large) with nothing changed, or RELHOST_EIO after an earlier fatal error.
 */
int state_set(state *st, const char *const *path, size_t depth, json_t *value);

/**
 * Make every change since the last flush durable: the changes not yet written go out in one
 * write(), then one fdatasync() on the journal serves them and whatever state_write() wrote
 * since the last one; nothing when no change is pending. On a failed write the journal is cut
 * back to its previous length and the store is broken; a failed fdatasync is fatal for the
 * store (the kernel may have dropped the pages). Returns 0 or RELHOST_EIO.
 */
int state_flush(state *st);

/**
 * Write the pending changes to the journal in one write(), without the fdatasync: from then on
 * they survive the death of relhost (even by SIGKILL: the kernel holds them), not a power loss
 * or a crash of the machine; the next state_flush() makes them durable. Errors as state_flush().
 */
int state_write(state *st);

/** Bytes of changes not yet made durable (0: every change is on disk): written or not. */
size_t state_pending(const state *st);

/** Bytes of changes still only in relhost's memory (not yet written to the journal). */
size_t state_unwritten(const state *st);

/**
 * Open release `version` of folder `dir` read-only for a command that shows it (report,
 * explain): NULL, with the reason logged, when it cannot be read or nothing was recorded for it
 * ("no state for release V in DIR: nothing <what>; pass --release V").
 */
state *state_open_recorded(const char *dir, const char *version, const char *what);

/** Called once each time a state becomes unable to save (a full disk, an I/O error: every
 *  later save fails), with the message that names the file and the cause; the run layer
 *  stops the run there (core/cli/cli.c: exit 75). NULL: none. */
void state_on_broken(void (*fn)(const char *why));

/**
 * Changes written by a dying relhost (core/run/guard.c): a plugin crashed inside a call, and the
 * handler of that signal may neither allocate nor lock. state_emergency_prepare() encodes, ahead
 * of the call, the records that set paths[i] = values[i] (values consumed) as the changes that
 * would follow the state as it is now; state_emergency_write() appends the changes still pending
 * and then those records to the journal and fdatasyncs it, using write(2) and fdatasync(2) only.
 * It writes nothing when the state changed after the prepare (the records would be out of
 * order), nor for a read-only state. prepare returns 0, or RELHOST_EINVAL when the records do
 * not fit (em is then empty).
 */
typedef struct state_emergency {
    uint64_t first_seq; /* seq of the first record; 0: nothing prepared */
    size_t len;
    char buf[2048];
} state_emergency;
int state_emergency_prepare(state *st, state_emergency *em, const char *const *const *paths,
                            const size_t *depths, json_t **values, size_t n);
void state_emergency_write(state *st, const state_emergency *em);
/** Renumber what em holds to follow the state as it is now (the same changes, prepared before
 *  other changes were made): cheaper than preparing them again. Returns 0, or -1 when em holds
 *  nothing or what it holds cannot be renumbered (prepare it again). */
int state_emergency_reseq(const state *st, state_emergency *em);

/**
 * Write the whole root to release_<v>.json (temp, fsync, rename, fsync(dir)), then cut the
 * journal to zero. Pending changes are absorbed by the snapshot, not written to the journal.
 * A crash between any two steps leaves a pair open can recover. Returns 0, RELHOST_EINVAL
 * (read-only store) or RELHOST_EIO.
 */
int state_snapshot(state *st);

/**
 * A checkpoint at a point of the run (a step's end): the changes made durable as by
 * state_flush(), then a snapshot only once the journal has grown at least as large as the
 * snapshot (and STATE_CHECKPOINT_MIN bytes), so that the cost of a checkpoint stays constant
 * however large the state grows, and a load never replays more than about the snapshot's size.
 * Returns what state_flush() or state_snapshot() returns.
 */
#define STATE_CHECKPOINT_MIN ((size_t)64 << 10)
int state_checkpoint(state *st);

/**
 * Flush, release the lock and free everything; st may be NULL. Returns the flush's result:
 * the store is freed and the lock released either way.
 */
int state_close(state *st);

/** A warning about the recovery at open (a torn journal tail), or NULL; borrowed until close. */
const char *state_warning(const state *st);

/** 1 when no state of this release existed on disk before the open, else 0. */
int state_is_new(const state *st);

/** Last change number: grows by one per state_set() that changed something. */
uint64_t state_seq(const state *st);

/** One release found by state_list(). */
typedef struct state_entry {
    char *version;   /* owned */
    int finished;    /* root["finished"] is true */
    int published;   /* root["published"]: a publishing step of it PASSED */
    int quarantined; /* root["quarantined"]: the registry quarantined it */
    double created;  /* root["created_at"] in seconds since the epoch, 0 when absent */
    double mtime;    /* newest of the snapshot's and journal's mtimes, seconds since the epoch */
    int error;       /* 0, or the RELHOST_E* its read-only open gave (corrupt, newer schema) */
    char *message;   /* owned: error_last() of that open, NULL when error is 0 */
    char *plan;      /* owned: root["plan"] (the plan file that made it), or NULL */
} state_entry;

/**
 * The releases with state in dir (a snapshot or a journal), newest mtime first, ties by version
 * descending. Each is read with a read-only open (snapshot + journal), so a "finished" set
 * after the last snapshot counts. A release whose state cannot be read is listed with error
 * set rather than skipped, so "resume the newest unfinished release" stops on it instead of
 * quietly resuming an older one. A missing dir is an empty list.
 * *out (free with state_list_free()) and *n are set on success. Returns 0 or RELHOST_EIO.
 */
int state_list(const char *dir, state_entry **out, size_t *n);
void state_list_free(state_entry *entries, size_t n);
/** For a message that release `version` has no state in dir: "releases there: a, b, ..." (the
 *  newest 10 of state_list()), with " (did you mean 'x'?)" for the nearest version, or "no
 *  release has state there". Never NULL; the caller frees it. */
char *state_list_hint(const char *dir, const char *version);

/** Who runs release `version` of dir now: the pid holding its lock (a writable open's flock on
 *  release_<version>.lock), 0 when nobody does (the lock is free, or there is no lock file), -1
 *  when that cannot be told (/proc/locks unreadable). Reads only: it takes no lock, so it never
 *  makes a relhost starting the release at that moment find it locked. */
long state_lock_holder(const char *dir, const char *version);

/** The IEEE CRC-32 the journal frames use (zlib's crc32(0, buf, len)). */
uint32_t state_crc32(const void *buf, size_t len);

#endif
