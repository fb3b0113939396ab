/* SPDX-License-Identifier: MIT */
/*
 * state.c - the state store's API: open (lock, load, recover, create or migrate), close, get and
 * set (path checks, sharing and secret redaction, the journal record of each change), plus the
 * small helpers the store's files share. The store's design is in state.h; its other files are
 * state_journal.c (records, replay, flush), state_load.c (snapshot load, migrations),
 * state_snapshot.c (durable writes) and state_list.c (listing releases).
 */
#include "record/state.h"
#include "record/state_int.h"

#include "base/error.h"
#include "base/jarena.h"
#include "base/secrets.h"
#include "base/trust.h"
#include "base/util.h"
#include "run/crash.h"

#include <relhost/plugin.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- small helpers --------------------------------------------------------------------------- */

void state_sb_truncate(strbuf *b, size_t len)
{
    b->len = len;
    if (b->s)
        b->s[len] = '\0';
}

int state_dump_to_sb(const char *buf, size_t size, void *data)
{
    sb_add(data, buf, size);
    return 0;
}

int state_read_fd_all(int fd, strbuf *b)
{
    struct stat sb;
    /* read straight into the buffer, with room for the whole file at once: a 10 MB snapshot
     * is neither copied from a chunk nor copied again each time the buffer doubles */
    sb_reserve(b, fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size > 0
                      ? (size_t)sb.st_size + 1
                      : 65536);
    for (;;) {
        ssize_t r;
        if (b->cap - b->len - 1 < 4096)
            sb_reserve(b, 65536);
        r = read(fd, b->s + b->len, b->cap - b->len - 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0)
            return 0;
        b->len += (size_t)r;
        b->s[b->len] = '\0';
    }
}

/* Normally one write(); a short write (disk full, a signal) continues with the rest. */
const char *state_strerror(int e)
{
    if (e == ELOOP)
        return "it is a symbolic link, and relhost follows none inside its state folder; remove "
               "the link (and check who made it)";
    return strerror(e);
}

int state_write_all(int fd, const char *p, size_t n) { return write_all(fd, p, n); }

int state_version_ok(const char *v)
{
    size_t n = strlen(v);
    if (n == 0 || n > 128 || v[0] == '.' || v[0] == '-')
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = v[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '+' || c == '-'))
            return 0;
    }
    return 1;
}

json_t *state_new_root(const char *version)
{
    return json_pack("{s:i, s:s, s:I}", "schema", STATE_SCHEMA, "version", version, "seq",
                     (json_int_t)0);
}

int state_refuse_readonly(state *st)
{
    return error_set(RELHOST_EINVAL,
                     "the state of release %s was opened read-only and cannot "
                     "change",
                     st->version);
}

/* 1 when v, or anything in it, is also referenced elsewhere (e.g. taken from state_get()). Such a
 * value would tie two places of the root together in memory, so that a later change to one shows
 * in the other, while replay rebuilds them apart: the state after a crash would differ from the
 * state before it. O(size of v), like the encoding that follows anyway. */
static int value_shared(json_t *v)
{
    const char *k;
    json_t *c;
    size_t i;
    if (v->refcount != (size_t)-1 && v->refcount > 1) /* -1: true, false and null singletons */
        return 1;
    if (json_is_object(v)) {
        json_object_foreach(v, k, c) if (value_shared(c)) return 1;
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, c) if (value_shared(c)) return 1;
    }
    return 0;
}

/* Mask every registered secret (core/base/secrets.h) in the strings and keys of a value the state
 * owns alone: nothing a plugin or a job echoed (an API error quoting a token, a task named after
 * it) reaches the journal or the snapshot, whatever the writer forgot to mask. */
static void redact_in_place(json_t *v)
{
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        size_t n = json_string_length(v);
        strbuf b;
        sb_init(&b);
        secrets_redact(&b, s, n);
        if (b.len != n || memcmp(b.s, s, n) != 0)
            json_string_setn(v, b.s, b.len);
        sb_free(&b);
    } else if (json_is_object(v)) {
        const char *k;
        json_t *c;
        void *tmp;
        json_object_foreach_safe(v, tmp, k, c)
        {
            char *rk = secrets_redact_dup(k);
            redact_in_place(c);
            if (strcmp(rk, k) != 0) {
                json_incref(c);
                json_object_del(v, k);
                json_object_set_new(v, rk, c);
            }
            free(rk);
        }
    } else if (json_is_array(v)) {
        size_t i;
        json_t *c;
        json_array_foreach(v, i, c) redact_in_place(c);
    }
}

/* Whether root holds path (inside a packed job record too). */
static int path_exists(json_t *root, const char *const *path, size_t depth)
{
    json_t *o = root, *rec;
    int found;
    for (size_t i = 0; i < depth && o; i++) {
        if (i == 2 && strcmp(path[0], "jobs") == 0 && state_is_packed(o)) {
            rec = state_job_value(o);
            found = rec && path_exists(rec, path + 2, depth - 2);
            json_decref(rec);
            return found;
        }
        o = json_object_get(o, path[i]);
    }
    return o != NULL;
}

int state_set(state *st, const char *const *path, size_t depth, json_t *value)
{
    json_t *patharr;
    size_t start, blocked, value_at;
    int rc;
    if (st->flags & STATE_READONLY) {
        json_decref(value);
        return state_refuse_readonly(st);
    }
    if (st->broken) {
        json_decref(value);
        return state_refuse_broken(st);
    }
    if (!path || depth == 0 || depth > STATE_PATH_MAX) {
        json_decref(value);
        return error_set(RELHOST_EINVAL, "a state path has 1 to %d keys, not %zu", STATE_PATH_MAX,
                         depth);
    }
    for (size_t i = 0; i < depth; i++)
        if (!path[i]) {
            json_decref(value);
            return error_set(RELHOST_EINVAL, "key %zu of a state path is NULL", i + 1);
        }
    if (state_reserved_key(path[0])) {
        json_decref(value);
        return error_set(RELHOST_EINVAL,
                         "\"%s\" is kept by the state store itself; callers may "
                         "not set it",
                         path[0]);
    }
    if ((blocked = state_path_blocked(st->root, path, depth)) != 0) {
        char *want = state_path_text(path, depth), *at = state_path_text(path, blocked);
        error_set(RELHOST_EINVAL, "cannot set %s in the state of release %s: %s is not an object",
                  want, st->version, at);
        free(want);
        free(at);
        json_decref(value);
        return RELHOST_EINVAL;
    }
    if (!value && !path_exists(st->root, path, depth))
        return 0;
    if (value && value_shared(value)) {
        json_t *copy = json_deep_copy(value);
        json_decref(value);
        if (!(value = copy))
            return error_set(RELHOST_ENOMEM,
                             "out of memory copying a value for the state of "
                             "release %s",
                             st->version);
    }
    if (value && secrets_count() > 0)
        redact_in_place(value);
    patharr = json_array();
    for (size_t i = 0; i < depth; i++)
        if (json_array_append_new(patharr, json_string(path[i])) != 0) {
            json_decref(patharr);
            json_decref(value);
            return error_set(RELHOST_EINVAL, "key %zu of a state path is not valid UTF-8", i + 1);
        }
    start = st->pending.len;
    rc = state_record_encode_at(&st->pending, st->seq + 1, patharr, value, &value_at);
    json_decref(patharr);
    if (rc) {
        json_decref(value);
        return rc;
    }
    if (depth == 2 && json_is_object(value) && strcmp(path[0], "jobs") == 0) {
        /* A whole job record: its packed form is the text just written, not a second dump. */
        json_t *packed =
            state_job_packed_text(st->pending.s + value_at, st->pending.len - 1 - value_at);
        json_decref(value);
        if (!(value = packed)) {
            state_sb_truncate(&st->pending, start);
            return error_set(RELHOST_ENOMEM, "out of memory changing the state of release %s",
                             st->version);
        }
    }
    if (state_path_apply(st->root, path, depth, value, 1) < 0) {
        state_sb_truncate(&st->pending, start);
        return error_set(RELHOST_ENOMEM, "out of memory changing the state of release %s",
                         st->version);
    }
    st->seq++;
    json_integer_set(st->seq_node, (json_int_t)st->seq);
    return 0;
}

/* ---- open / close ---------------------------------------------------------------------------- */

static int lock_take(state *st)
{
    char buf[32];
    int fd = openat(st->dir_fd, st->lock_name, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    int n;
    if (fd < 0)
        return error_set(RELHOST_EIO, "cannot open lock file %s/%s: %s", st->dir, st->lock_name,
                         state_strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        ssize_t r;
        long pid = 0;
        if (e != EWOULDBLOCK) {
            close(fd);
            return error_set(RELHOST_EIO, "cannot lock %s/%s: %s", st->dir, st->lock_name,
                             strerror(e));
        }
        r = pread(fd, buf, sizeof buf - 1, 0);
        close(fd);
        if (r > 0) {
            buf[r] = '\0';
            pid = strtol(buf, NULL, 10);
        }
        if (pid > 0)
            return error_set(RELHOST_EINVAL,
                             "release %s is locked by pid %ld (another relhost is "
                             "running it); wait for it or stop it",
                             st->version, pid);
        /* The holder has the lock but has not written its pid yet. */
        return error_set(RELHOST_EINVAL,
                         "release %s is locked by another process (another "
                         "relhost is running it; %s/%s names no pid yet); wait for it or stop it",
                         st->version, st->dir, st->lock_name);
    }
    n = snprintf(buf, sizeof buf, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, buf, (size_t)n, 0) != (ssize_t)n) {
        /* Only the message above reads the pid: the run does not stop for it. */
    }
    st->lock_fd = fd;
    return 0;
}

static int journal_open_append(state *st)
{
    struct stat sb;
    int existed = fstatat(st->dir_fd, st->journal_name, &sb, AT_SYMLINK_NOFOLLOW) == 0;
    st->journal_fd = openat(st->dir_fd, st->journal_name,
                            O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (st->journal_fd < 0)
        return error_set(RELHOST_EIO, "cannot open state journal %s: %s", st->journal_path,
                         state_strerror(errno));
    /* A new file's name is only durable once its folder is synced; records fdatasync'ed into a
     * file whose name is lost would be lost with it. */
    return existed ? 0 : state_fsync_dir(st);
}

/* Open under the lock: load, cut a torn tail, create or migrate. */
static int open_writable(state *st)
{
    load_info li = {0};
    int rc = lock_take(st);
    if (rc)
        return rc;
    if ((rc = state_load(st, &li)) != 0)
        goto out;
    st->is_new = !li.have_snapshot && li.records == 0;
    if (st->is_new && !(st->flags & STATE_CREATE)) {
        rc = error_set(RELHOST_ENOTFOUND, "there is no state of release %s in %s to resume",
                       st->version, st->dir);
        goto out;
    }
    if ((rc = journal_open_append(st)) != 0)
        goto out;
    st->journal_size = (off_t)li.journal_len;
    st->snap_len = li.have_snapshot ? (size_t)li.snap_st.st_size : 0;
    if (li.torn) {
        crash_point("state.recover.before_truncate");
        if (ftruncate(st->journal_fd, (off_t)li.torn_at) != 0 || fdatasync(st->journal_fd) != 0) {
            rc = error_set(RELHOST_EIO, "cannot cut the torn tail of state journal %s: %s",
                           st->journal_path, strerror(errno));
            goto out;
        }
        st->journal_size = (off_t)li.torn_at;
        crash_point("state.recover.after_truncate");
    }
    if (li.have_snapshot && li.schema < STATE_SCHEMA) {
        /* The journal after the migrated snapshot must hold current-schema records only, so
         * the snapshot is written now rather than at the next step end. */
        if ((rc = state_backup_write(st, &li)) != 0 || (rc = state_snapshot(st)) != 0)
            goto out;
    } else if (st->is_new) {
        /* Written at once so that the release is listed, and any journal has a snapshot
         * naming its schema. */
        rc = state_snapshot(st);
    }
out:
    state_load_info_free(&li);
    return rc;
}

static void state_free(state *st)
{
    if (st->journal_fd >= 0)
        close(st->journal_fd);
    if (st->lock_fd >= 0)
        close(st->lock_fd); /* releases the flock */
    if (st->dir_fd >= 0)
        close(st->dir_fd);
    json_decref(st->root);
    sb_free(&st->pending);
    free(st->dir);
    free(st->version);
    free(st->snap_name);
    free(st->journal_name);
    free(st->lock_name);
    free(st->snap_path);
    free(st->journal_path);
    free(st->warning);
    free(st->broken);
    free(st);
}

/* The folder was opened once, following its symlinks; from here on every file goes through
 * dir_fd with O_NOFOLLOW, so the folder checked is the folder written. */
static int folder_trusted(state *st)
{
    struct stat sb;
    char *refusal;
    if (fstat(st->dir_fd, &sb) != 0)
        return error_set(RELHOST_EIO, "cannot check state folder %s: %s", st->dir, strerror(errno));
    if (!(refusal = trust_own_folder(st->dir, &sb)))
        return 0;
    error_set(RELHOST_EINVAL, "state folder %s", refusal);
    free(refusal);
    return RELHOST_EINVAL;
}

int state_open(const char *dir, const char *version, int flags, state **out)
{
    state *st;
    int rc = 0;
    *out = NULL;
    if (!version || !state_version_ok(version))
        return error_set(RELHOST_EINVAL,
                         "release version \"%s\" cannot name a state file: use "
                         "letters, digits, '.', '_', '+' and '-', not starting with '.' or '-'",
                         version ? version : "(null)");
    st = xcalloc(1, sizeof *st);
    st->dir = xstrdup(dir);
    st->version = xstrdup(version);
    st->flags = flags;
    st->dir_fd = st->lock_fd = st->journal_fd = -1;
    st->snap_name = xasprintf("release_%s.json", version);
    st->journal_name = xasprintf("release_%s.journal", version);
    st->lock_name = xasprintf("release_%s.lock", version);
    st->snap_path = path_join(dir, st->snap_name);
    st->journal_path = path_join(dir, st->journal_name);

    if ((flags & STATE_CREATE) && !(flags & STATE_READONLY) && (rc = path_mkdirs(dir)) != 0)
        goto fail;
    st->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (st->dir_fd < 0) {
        if (errno == ENOENT && (flags & STATE_READONLY)) {
            st->root = state_new_root(version);
            st->seq_node = json_object_get(st->root, "seq");
            st->is_new = 1;
            *out = st;
            return 0;
        }
        if (errno == ENOENT)
            rc = error_set(RELHOST_ENOTFOUND,
                           "there is no state of release %s to resume: folder "
                           "%s does not exist",
                           version, dir);
        else
            rc = error_set(RELHOST_EIO, "cannot open state folder %s: %s", dir, strerror(errno));
        goto fail;
    }
    if (!(flags & STATE_READONLY) && (rc = folder_trusted(st)) != 0)
        goto fail;
    if (flags & STATE_READONLY) {
        /* a read-only state is parsed once and freed once: its values from one region
         * (base/jarena.h); the window holds nothing jansson hands out to be free()d */
        load_info li = {0};
        int arena = jarena_begin();
        rc = state_load_unlocked(st, &li);
        if (arena)
            jarena_end();
        st->is_new = !li.have_snapshot && li.records == 0;
        state_load_info_free(&li);
        if (rc)
            goto fail;
    } else {
        /* Without STATE_CREATE a missing release fails before a lock file is left behind. */
        if (!(flags & STATE_CREATE) && faccessat(st->dir_fd, st->snap_name, F_OK, 0) != 0 &&
            faccessat(st->dir_fd, st->journal_name, F_OK, 0) != 0) {
            rc = error_set(RELHOST_ENOTFOUND, "there is no state of release %s in %s to resume",
                           version, dir);
            goto fail;
        }
        if ((rc = open_writable(st)) != 0)
            goto fail;
    }
    *out = st;
    return 0;
fail:
    state_free(st);
    return rc;
}

int state_close(state *st)
{
    int rc = 0;
    if (!st)
        return 0;
    if (!(st->flags & STATE_READONLY))
        rc = state_flush(st);
    state_free(st);
    return rc;
}

json_t *state_root(state *st) { return st->root; }

json_t *state_get(state *st, const char *const *path, size_t depth)
{
    json_t *o = st->root;
    for (size_t i = 0; i < depth && o; i++)
        o = json_object_get(o, path[i]);
    return o;
}

const char *state_warning(const state *st) { return st->warning; }

int state_is_new(const state *st) { return st->is_new; }

uint64_t state_seq(const state *st) { return st->seq; }

size_t state_pending(const state *st) { return st->pending.len + st->unsynced; }

size_t state_unwritten(const state *st) { return st->pending.len; }
