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

int state_fsync_dir(state *st)
{
    if (fsync(st->dir_fd) != 0)
        return state_fail_fatal(st, "cannot fsync state folder %s: %s", st->dir, strerror(errno));
    return 0;
}

/* ---- writing --------------------------------------------------------------------------------- */

/* temp + fsync + rename + fsync(dir). Failures before the rename leave the target as it was
 * and may be retried; a failed folder fsync after it is fatal. */
static int write_atomic(state *st, const char *name, const char *data, size_t len,
                        const char *crash_prefix)
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
    if (state_write_all(fd, data, len) != 0 || fsync(fd) != 0) {
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

int state_snapshot(state *st)
{
    strbuf out = {0};
    int rc;
    if (st->flags & STATE_READONLY)
        return state_refuse_readonly(st);
    if (st->broken)
        return error_set(RELHOST_EIO, "%s", st->broken);
    /* Sorted keys: the same state always gives the same bytes (diffs, golden files). */
    if (json_dump_callback(st->root, state_dump_to_sb, &out, JSON_INDENT(2) | JSON_SORT_KEYS) !=
        0) {
        sb_free(&out);
        return error_set(RELHOST_EIO, "cannot encode the state of release %s", st->version);
    }
    sb_putc(&out, '\n');
    rc = write_atomic(st, st->snap_name, out.s, out.len, "state.snapshot");
    if (rc == 0)
        st->snap_len = out.len;
    sb_free(&out);
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
        rc = write_atomic(st, bak, li->snap_raw.s, li->snap_raw.len, "state.backup");
    }
    free(bak);
    return rc;
}
