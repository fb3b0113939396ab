/* SPDX-License-Identifier: MIT */
/*
 * state_load.c - loading a release's state into memory: the snapshot (checked for schema, seq and
 * version), the journal replayed onto it, older schemas migrated; and the retried load of a
 * read-only open, which takes no lock. Design in state.h.
 */
#include "record/state.h"
#include "record/state_int.h"
#include "record/record_shape.h"

#include "base/error.h"
#include "base/util.h"

#include <relhost/plugin.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- loading --------------------------------------------------------------------------------- */

static int snapshot_bad(state *st, const char *what)
{
    return error_set(RELHOST_EINVAL,
                     "state snapshot %s %s; it was left untouched: restore it from a backup, or "
                     "move it and release_%s.journal away to start release %s over",
                     st->snap_path, what, st->version, st->version);
}

static int snapshot_load(state *st, load_info *li)
{
    int fd = openat(st->dir_fd, st->snap_name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    json_error_t je;
    json_t *root, *j;
    json_int_t schema = 0, seq = 0;
    if (fd < 0) {
        if (errno == ENOENT)
            return 0;
        return error_set(RELHOST_EIO, "cannot open state snapshot %s: %s", st->snap_path,
                         state_strerror(errno));
    }
    if (fstat(fd, &li->snap_st) != 0 || state_read_fd_all(fd, &li->snap_raw) != 0) {
        int e = errno;
        close(fd);
        return error_set(RELHOST_EIO, "cannot read state snapshot %s: %s", st->snap_path,
                         strerror(e));
    }
    close(fd);
    li->have_snapshot = 1;
    root = json_loadb(li->snap_raw.s ? li->snap_raw.s : "", li->snap_raw.len,
                      JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        char what[320];
        snprintf(what, sizeof what, "is not valid JSON (%s, line %d column %d)", je.text, je.line,
                 je.column);
        return snapshot_bad(st, what);
    }
    if (!json_is_object(root)) {
        json_decref(root);
        return snapshot_bad(st, "is not a JSON object");
    }
    /* Schema 0 is the unversioned layout: no "schema", possibly no "seq" or "version". */
    if ((j = json_object_get(root, "schema"))) {
        if (!json_is_integer(j) || (schema = json_integer_value(j)) < 0) {
            json_decref(root);
            return snapshot_bad(st, "has a \"schema\" that is not a schema number");
        }
    }
    if (schema > STATE_SCHEMA) {
        json_decref(root);
        return error_set(RELHOST_EINVAL,
                         "state snapshot %s has schema %" JSON_INTEGER_FORMAT ", newer than "
                         "schema %d that this relhost understands; it was left untouched: run "
                         "release %s with a newer relhost",
                         st->snap_path, schema, STATE_SCHEMA, st->version);
    }
    if ((j = json_object_get(root, "seq"))) {
        if (!json_is_integer(j) || (seq = json_integer_value(j)) < 0) {
            json_decref(root);
            return snapshot_bad(st, "has a \"seq\" that is not a change number");
        }
    } else if (schema >= 1) {
        json_decref(root);
        return snapshot_bad(st, "has no \"seq\"");
    }
    if ((j = json_object_get(root, "version"))) {
        if (!json_is_string(j) || strcmp(json_string_value(j), st->version) != 0) {
            json_decref(root);
            return snapshot_bad(st, "belongs to another release (its \"version\" differs)");
        }
    } else if (schema >= 1) {
        json_decref(root);
        return snapshot_bad(st, "has no \"version\"");
    }
    json_decref(st->root);
    st->root = root;
    st->seq = (uint64_t)seq;
    li->schema = schema;
    return 0;
}

/* Migrations, indexed by the schema they start from. Each moves the root one schema up in
 * memory; open keeps the original file as .v<N>.bak and writes the result. A migration may not
 * fail on a snapshot that passed snapshot_load(); when it must, it returns RELHOST_EINVAL with a
 * message naming the file. */
typedef int (*migration)(state *st, json_t *root);

/* 0 -> 1: schema 0 is the unversioned layout; schema 1 only adds the store's own keys. The
 * callers' keys are unchanged: this entry is the worked example for the next migration. */
static int migrate_0_to_1(state *st, json_t *root)
{
    if (!json_object_get(root, "version"))
        json_object_set_new(root, "version", json_string(st->version));
    if (!json_object_get(root, "seq"))
        json_object_set_new(root, "seq", json_integer(0));
    return 0;
}

static const migration migrations[STATE_SCHEMA] = {
    migrate_0_to_1,
};

static int migrate(state *st, json_int_t from)
{
    for (json_int_t s = from; s < STATE_SCHEMA; s++) {
        int rc = migrations[s](st, st->root);
        if (rc)
            return rc;
        json_object_set_new(st->root, "schema", json_integer(s + 1));
    }
    return 0;
}

/* Snapshot, journal, migration, all in memory. */
int state_load(state *st, load_info *li)
{
    int fd, rc;
    char *bad;
    strbuf jbuf = {0};
    json_decref(st->root);
    st->root = NULL;
    st->seq = 0;
    rc = snapshot_load(st, li);
    if (rc)
        return rc;
    if (!st->root) {
        /* No snapshot: a release whose creation was interrupted, or one whose snapshot was
         * deleted. The journal alone is then the whole history, in the current schema. */
        st->root = state_new_root(st->version);
        li->schema = STATE_SCHEMA;
    }
    fd = openat(st->dir_fd, st->journal_name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 && errno != ENOENT)
        return error_set(RELHOST_EIO, "cannot open state journal %s: %s", st->journal_path,
                         state_strerror(errno));
    if (fd >= 0) {
        li->have_journal = 1;
        if (state_read_fd_all(fd, &jbuf) != 0) {
            int e = errno;
            close(fd);
            sb_free(&jbuf);
            return error_set(RELHOST_EIO, "cannot read state journal %s: %s", st->journal_path,
                             strerror(e));
        }
        close(fd);
        li->journal_len = jbuf.len;
        rc = state_journal_replay(st, (const unsigned char *)jbuf.s, jbuf.len, li);
        sb_free(&jbuf);
        if (rc)
            return rc;
    }
    if (li->schema < STATE_SCHEMA && (rc = migrate(st, li->schema)) != 0)
        return rc;
    if ((bad = record_shape_bad(st->root)) != NULL) {
        rc = error_set(RELHOST_EINVAL,
                       "state of release %s is corrupt: it %s (in %s%s); it was "
                       "left untouched: repair that member or restore the snapshot from a backup",
                       st->version, bad, st->snap_path, li->have_journal ? " and its journal" : "");
        free(bad);
        return rc;
    }
    /* Packed job records save memory for the life of a run; a read-only open (a view) would
     * only unpack each again, so it keeps the objects the snapshot parsed. */
    if (!(st->flags & STATE_READONLY) && state_jobs_pack(st->root) != 0)
        return error_set(RELHOST_ENOMEM, "out of memory loading the state of release %s",
                         st->version);
    st->seq_node = json_object_get(st->root, "seq");
    json_integer_set(st->seq_node, (json_int_t)st->seq);
    return 0;
}

void state_load_info_free(load_info *li) { sb_free(&li->snap_raw); }

/* A read-only open takes no lock, so a running relhost may snapshot while we read: it renames
 * a new snapshot in, then cuts the journal. Reading the old snapshot and the cut journal would
 * lose the changes in between, so the load is retried until the snapshot read is still the one
 * in place after the journal was read. */
int state_load_unlocked(state *st, load_info *li)
{
    for (int attempt = 0; attempt < 20; attempt++) {
        struct stat now;
        int rc, same;
        state_load_info_free(li);
        memset(li, 0, sizeof *li);
        rc = state_load(st, li);
        if (fstatat(st->dir_fd, st->snap_name, &now, AT_SYMLINK_NOFOLLOW) == 0)
            same = li->have_snapshot && now.st_ino == li->snap_st.st_ino &&
                   now.st_dev == li->snap_st.st_dev;
        else
            same = !li->have_snapshot;
        if (same)
            return rc;
    }
    return error_set(RELHOST_EIO,
                     "the state of release %s in %s kept changing while it was read; "
                     "try again",
                     st->version, st->dir);
}
