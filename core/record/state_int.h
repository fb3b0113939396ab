/* SPDX-License-Identifier: MIT */
/*
 * state_int.h - the state store's private structures and the helpers its files share:
 * core/record/state.c (API: open, close, get, set), state_journal.c (records, replay, flush),
 * state_load.c (snapshot load, migrations), state_snapshot.c (durable writes) and state_list.c.
 * Nothing else includes this header.
 */
#ifndef RELHOST_STATE_INT_H
#define RELHOST_STATE_INT_H

#include "record/state.h"

#include "base/util.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

struct state {
    char *dir, *version;
    int flags;
    /* File names relative to dir_fd: every file operation goes through the folder's fd, so a
     * chdir() elsewhere in the process cannot redirect a write. Paths are for messages. */
    char *snap_name, *journal_name, *lock_name;
    char *snap_path, *journal_path;
    int dir_fd, lock_fd, journal_fd;
    json_t *root;
    json_t *seq_node; /* root["seq"], borrowed: updated in place at every change */
    uint64_t seq;
    strbuf pending;     /* framed records not yet written */
    off_t journal_size; /* bytes known good in the journal: a failed append is cut back to it */
    size_t unsynced;    /* bytes of it written since its last fdatasync (state_write()) */
    size_t snap_len;    /* bytes of the snapshot on disk (loaded or last written) */
    char *warning;
    char *broken; /* set once durability can no longer be promised; every save fails */
    int is_new;
};

/* What a load found besides the root, for the decisions open makes afterwards. */
typedef struct load_info {
    int have_snapshot;
    struct stat snap_st; /* identity of the snapshot read, to detect a concurrent rename */
    json_int_t schema;   /* the snapshot's schema before migration */
    strbuf snap_raw;     /* its bytes, kept for the .bak of a migration */
    int have_journal;
    size_t journal_len;
    size_t records; /* valid records in the journal (applied or already in the snapshot) */
    int torn;
    size_t torn_at;
} load_info;

/* state.c: small helpers */
void state_sb_truncate(strbuf *b, size_t len);
int state_dump_to_sb(const char *buf, size_t size, void *data);
int state_read_fd_all(int fd, strbuf *b);
int state_write_all(int fd, const char *p, size_t n);
/* strerror(e), except that ELOOP (an O_NOFOLLOW open met a symlink) is said plainly */
const char *state_strerror(int e);
int state_version_ok(const char *v);
json_t *state_new_root(const char *version);
int state_refuse_readonly(state *st);

/* state_journal.c: paths, records, replay */
int state_reserved_key(const char *k);
char *state_path_text(const char *const *path, size_t depth);
size_t state_path_blocked(json_t *root, const char *const *path, size_t depth);
int state_path_apply(json_t *root, const char *const *path, size_t depth, json_t *value, int pack);
/* 1 when v is a packed job record (state_journal.c "packed job records") */
int state_is_packed(const json_t *v);
/* Pack every job record of root["jobs"] (a loaded state): 0, or -1 out of memory. */
int state_jobs_pack(json_t *root);
int state_record_encode(strbuf *b, uint64_t seq, json_t *patharr, json_t *value);
/* The same; *value_at: where value's JSON text starts in b (it ends before the record's last
 * byte, '}'). */
int state_record_encode_at(strbuf *b, uint64_t seq, json_t *patharr, json_t *value,
                           size_t *value_at);
/* The packed form of a job record from its compact JSON text (what job_pack() makes of it). */
json_t *state_job_packed_text(const char *text, size_t len);
int state_journal_replay(state *st, const unsigned char *buf, size_t len, load_info *li);

/* state_load.c: loading */
int state_load(state *st, load_info *li);
void state_load_info_free(load_info *li);
int state_load_unlocked(state *st, load_info *li);

/* state_snapshot.c: durable writes */
int state_fail_fatal(state *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* RELHOST_EIO for a change asked of a store broken by an earlier fatal error (st->broken). */
int state_refuse_broken(const state *st);
int state_fsync_dir(state *st);
int state_backup_write(state *st, const load_info *li);

#endif
