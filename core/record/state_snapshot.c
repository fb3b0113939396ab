/* SPDX-License-Identifier: MIT */
/*
 * state_snapshot.c - the state's durable file writes: temp + fsync + rename + fsync(dir) for the
 * snapshot and for the .bak kept before a migration, and the rule that a failed sync makes the
 * store refuse every later save. Design in state.h.
 */
#include "record/state.h"
#include "record/state_int.h"

#include "base/error.h"
#include "base/util.h"
#include "run/crash.h"

#include <relhost/plugin.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Once a sync failed, the kernel may have dropped the dirty pages and a retry could report
 * success for data that is gone (the "fsyncgate" lesson): refuse every later save instead. */
static void (*broken_hook)(const char *why);

int state_fail_fatal(state *st, const char *fmt, ...)
{
    strbuf b = {0};
    va_list ap;
    va_start(ap, fmt);
    sb_vprintf(&b, fmt, ap);
    va_end(ap);
    sb_printf(&b,
              "; the state of release %s can no longer be saved safely: stop, check the disk, "
              "then resume (recovery keeps everything saved before this failure)",
              st->version);
    free(st->broken);
    st->broken = sb_take(&b);
    if (broken_hook)
        broken_hook(st->broken);
    return error_set(RELHOST_EIO, "%s", st->broken);
}

void state_on_broken(void (*fn)(const char *why)) { broken_hook = fn; }

int state_refuse_broken(const state *st)
{
    /* the cause was said once, when it happened (and goes to the broken hook): every later
     * refusal points at it instead of repeating it */
    return error_set(RELHOST_EIO,
                     "the state of release %s can no longer be saved since an earlier error "
                     "(above); nothing after it is recorded",
                     st->version);
}

int state_fsync_dir(state *st)
{
    if (fsync(st->dir_fd) != 0)
        return state_fail_fatal(st, "cannot fsync state folder %s: %s", st->dir, strerror(errno));
    return 0;
}

/* ---- writing --------------------------------------------------------------------------------- */

/* temp + fsync + rename + fsync(dir). Failures before the rename leave the target as it was
 * and may be retried; a failed folder fsync after it is fatal. */
/* What write_atomic() writes into the temp file: 0, or -1 with errno set (EINVAL: the content
 * could not be encoded); *len the bytes written. */
typedef int (*content_fn)(int fd, const void *arg, size_t *len);

static int write_atomic(state *st, const char *name, content_fn content, const void *arg,
                        size_t *len, const char *crash_prefix)
{
    char *tmp = xasprintf("%s.tmp", name);
    char point[96];
    int fd, e;
    /* A temp file left by a crash is ours to replace; O_EXCL after the unlink means a link
     * planted meanwhile is refused, never written through. */
    unlinkat(st->dir_fd, tmp, 0);
    fd = openat(st->dir_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) {
        e = errno;
        goto fail;
    }
    snprintf(point, sizeof point, "%s.before_write", crash_prefix);
    crash_point(point);
    if (content(fd, arg, len) != 0 || fsync(fd) != 0) {
        e = errno;
        close(fd);
        unlinkat(st->dir_fd, tmp, 0);
        goto fail;
    }
    if (close(fd) != 0) {
        e = errno;
        unlinkat(st->dir_fd, tmp, 0);
        goto fail;
    }
    snprintf(point, sizeof point, "%s.before_rename", crash_prefix);
    crash_point(point);
    if (renameat(st->dir_fd, tmp, st->dir_fd, name) != 0) {
        e = errno;
        unlinkat(st->dir_fd, tmp, 0);
        goto fail;
    }
    snprintf(point, sizeof point, "%s.after_rename", crash_prefix);
    crash_point(point);
    free(tmp);
    return state_fsync_dir(st);
fail:
    error_set(RELHOST_EIO, "cannot write %s/%s: %s", st->dir, tmp, state_strerror(e));
    free(tmp);
    errno = e;
    return RELHOST_EIO;
}

/* A buffer of bytes, written as they are (the .bak of a migration). */
struct raw_content {
    const char *data;
    size_t len;
};

static int write_raw(int fd, const void *arg, size_t *len)
{
    const struct raw_content *r = arg;
    *len = r->len;
    return state_write_all(fd, r->data, r->len);
}

/* The root encoded straight into the file through a small buffer: a snapshot never needs a
 * second copy of the whole state in memory (at 10,000 jobs the text is about 10 MB). */
struct dump_sink {
    int fd, err;
    size_t len, total;
    char buf[64 << 10];
};

static int sink_drain(struct dump_sink *s)
{
    if (s->len && !s->err && state_write_all(s->fd, s->buf, s->len) != 0)
        s->err = errno ? errno : EIO;
    s->total += s->len;
    s->len = 0;
    return s->err ? -1 : 0;
}

static int sink_add(const char *p, size_t n, void *data)
{
    struct dump_sink *s = data;
    while (n) {
        size_t k = sizeof s->buf - s->len < n ? sizeof s->buf - s->len : n;
        memcpy(s->buf + s->len, p, k);
        s->len += k;
        p += k;
        n -= k;
        if (s->len == sizeof s->buf && sink_drain(s) != 0)
            return -1;
    }
    return 0;
}

/* v at depth `depth` of an object, as json_dump_callback(JSON_INDENT(2) | JSON_SORT_KEYS) writes
 * it there: the same text as a whole dump, each line but the first indented 2 * depth more. A
 * string in JSON text holds no raw newline, so every newline is the indentation's. */
static int dump_at(const json_t *v, int depth, struct dump_sink *s)
{
    strbuf b = {0};
    const char *p, *nl;
    static const char pad[] = "        ";
    int rc = json_dump_callback(v, state_dump_to_sb, &b,
                                JSON_INDENT(2) | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    for (p = b.s; rc == 0 && p && *p; p = nl + 1) {
        nl = strchr(p, '\n');
        if (!nl)
            return rc = sink_add(p, strlen(p), s), sb_free(&b), rc;
        rc = sink_add(p, (size_t)(nl - p + 1), s) || sink_add(pad, (size_t)(2 * depth), s);
    }
    sb_free(&b);
    return rc;
}

static int cmp_key(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Object o at depth `depth` as the dump writes it, keys sorted; each job record of a "jobs"
 * object at depth 0 unpacked (state_journal.c), one at a time. */
static int dump_object(const json_t *o, int depth, int jobs, struct dump_sink *s)
{
    size_t n = json_object_size(o), i = 0;
    const char **keys, *k;
    static const char pad[] = "          ";
    json_t *v;
    int rc = 0;
    if (n == 0)
        return sink_add("{}", 2, s);
    keys = xcalloc(n, sizeof *keys);
    json_object_foreach((json_t *)o, k, v) keys[i++] = k;
    qsort(keys, n, sizeof *keys, cmp_key);
    rc = sink_add("{", 1, s);
    for (i = 0; rc == 0 && i < n; i++) {
        json_t *val = json_object_get(o, keys[i]), *rec = NULL;
        json_t *key = json_string_nocheck(keys[i]);
        rc = sink_add("\n", 1, s) || sink_add(pad, (size_t)(2 * (depth + 1)), s) ||
             dump_at(key, depth + 1, s) || sink_add(": ", 2, s);
        json_decref(key);
        if (rc == 0 && depth == 0 && !jobs && strcmp(keys[i], "jobs") == 0 && json_is_object(val))
            rc = dump_object(val, 1, 1, s);
        else if (rc == 0 && jobs && (rec = state_job_value(val)) != NULL)
            rc = dump_at(rec, depth + 1, s);
        else if (rc == 0)
            rc = dump_at(val, depth + 1, s);
        json_decref(rec);
        if (rc == 0 && i + 1 < n)
            rc = sink_add(",", 1, s);
    }
    if (rc == 0)
        rc = sink_add("\n", 1, s) || sink_add(pad, (size_t)(2 * depth), s) || sink_add("}", 1, s);
    free(keys);
    return rc;
}

static int write_root(int fd, const void *arg, size_t *len)
{
    struct dump_sink *s = xcalloc(1, sizeof *s);
    int rc;
    s->fd = fd;
    /* Sorted keys: the same state always gives the same bytes (diffs, golden files). */
    rc = dump_object(arg, 0, 0, s);
    if (rc == 0)
        rc = sink_add("\n", 1, s);
    if (rc == 0)
        rc = sink_drain(s);
    if (rc != 0)
        errno = s->err ? s->err : EINVAL;
    *len = s->total;
    free(s);
    return rc;
}

int state_snapshot(state *st)
{
    size_t len = 0;
    int rc;
    if (st->flags & STATE_READONLY)
        return state_refuse_readonly(st);
    if (st->broken)
        return state_refuse_broken(st);
    rc = write_atomic(st, st->snap_name, write_root, st->root, &len, "state.snapshot");
    if (rc == 0)
        st->snap_len = len;
    if (rc && (errno == ENOSPC || errno == EDQUOT || errno == EIO || errno == EROFS)) {
        /* The disk will not take more within this run: keep what the journal still takes,
         * then stop saving (the run stops: state_on_broken). */
        char *why = xstrdup(error_last());
        state_flush(st);
        rc = state_fail_fatal(st, "%s", why);
        free(why);
    }
    if (rc)
        return rc;
    /* The snapshot now holds every change up to st->seq, pending ones included: they need no
     * journal record any more. Until the cut below is durable, replay skips the journal's
     * records by their seq. */
    state_sb_truncate(&st->pending, 0);
    crash_point("state.snapshot.before_truncate");
    if (ftruncate(st->journal_fd, 0) != 0 || fdatasync(st->journal_fd) != 0)
        return state_fail_fatal(st, "cannot empty state journal %s after a snapshot: %s",
                                st->journal_path, strerror(errno));
    st->journal_size = 0;
    st->unsynced = 0;
    crash_point("state.snapshot.after_truncate");
    return 0;
}

int state_checkpoint(state *st)
{
    int rc = state_flush(st);
    if (rc)
        return rc;
    /* Rewriting the whole state at every checkpoint made a run's cost grow with the square of
     * its length; replaying a journal at most as long as the snapshot costs at most the
     * snapshot's own read again. */
    if ((size_t)st->journal_size < STATE_CHECKPOINT_MIN || (size_t)st->journal_size < st->snap_len)
        return 0;
    return state_snapshot(st);
}

int state_backup_write(state *st, const load_info *li)
{
    char *bak = xasprintf("%s.v%" JSON_INTEGER_FORMAT ".bak", st->snap_name, li->schema);
    int fd = openat(st->dir_fd, bak, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    int rc = 0;
    if (fd >= 0) {
        /* Left by an open that died before writing the migrated snapshot: the same bytes
         * are fine; other bytes are an older original we must not overwrite. */
        strbuf old = {0};
        int same = state_read_fd_all(fd, &old) == 0 && old.len == li->snap_raw.len &&
                   memcmp(old.s, li->snap_raw.s, old.len) == 0;
        close(fd);
        sb_free(&old);
        if (!same)
            rc = error_set(RELHOST_EINVAL,
                           "cannot migrate state snapshot %s: its backup %s/%s "
                           "already exists with other content; move that backup away and retry",
                           st->snap_path, st->dir, bak);
    } else {
        struct raw_content raw = {li->snap_raw.s, li->snap_raw.len};
        size_t len = 0;
        rc = write_atomic(st, bak, write_raw, &raw, &len, "state.backup");
    }
    free(bak);
    return rc;
}
