/* SPDX-License-Identifier: MIT */
#include "record/state.h"

#include "base/error.h"
#include "base/secrets.h"
#include "base/util.h"
#include "run/crash.h"

#include <relhost/plugin.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

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
    strbuf pending;      /* framed records not yet written */
    off_t journal_size;  /* bytes known good in the journal: a failed append is cut back to it */
    char *warning;
    char *broken;        /* set once durability can no longer be promised; every save fails */
    int is_new;
};

/* What a load found besides the root, for the decisions open makes afterwards. */
typedef struct load_info {
    int have_snapshot;
    struct stat snap_st;  /* identity of the snapshot read, to detect a concurrent rename */
    json_int_t schema;    /* the snapshot's schema before migration */
    strbuf snap_raw;      /* its bytes, kept for the .bak of a migration */
    int have_journal;
    size_t journal_len;
    size_t records;       /* valid records in the journal (applied or already in the snapshot) */
    int torn;
    size_t torn_at;
} load_info;

/* ---- CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320), table-driven --------------------- */

static uint32_t crc_table[256];

static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        crc_table[i] = c;
    }
}

uint32_t state_crc32(const void *buf, size_t len)
{
    const unsigned char *p = buf;
    uint32_t c = 0xFFFFFFFFu;
    /* Entry 1 of the table is never zero once filled: a cheap "initialised" flag. */
    if (!crc_table[1])
        crc_init();
    for (size_t i = 0; i < len; i++)
        c = crc_table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

static uint32_t get_le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_le32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

/* ---- small helpers --------------------------------------------------------------------------- */

static void sb_truncate(strbuf *b, size_t len)
{
    b->len = len;
    if (b->s)
        b->s[len] = '\0';
}

static int dump_to_sb(const char *buf, size_t size, void *data)
{
    sb_add(data, buf, size);
    return 0;
}

static int read_fd_all(int fd, strbuf *b)
{
    char chunk[65536];
    for (;;) {
        ssize_t r = read(fd, chunk, sizeof chunk);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0)
            return 0;
        sb_add(b, chunk, (size_t)r);
    }
}

/* Normally one write(); a short write (disk full, a signal) continues with the rest. */
static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int version_ok(const char *v)
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

static int reserved_key(const char *k)
{
    return strcmp(k, "schema") == 0 || strcmp(k, "seq") == 0 || strcmp(k, "version") == 0;
}

/* "a.b.c" for messages: keys are names chosen by the code, never values. */
static char *path_text(const char *const *path, size_t depth)
{
    strbuf b = {0};
    for (size_t i = 0; i < depth; i++) {
        if (i)
            sb_putc(&b, '.');
        sb_puts(&b, path[i] ? path[i] : "(null)");
    }
    return sb_take(&b);
}

/* Once a sync failed, the kernel may have dropped the dirty pages and a retry could report
 * success for data that is gone (the "fsyncgate" lesson): refuse every later save instead. */
static int fail_fatal(state *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail_fatal(state *st, const char *fmt, ...)
{
    strbuf b = {0};
    va_list ap;
    va_start(ap, fmt);
    sb_vprintf(&b, fmt, ap);
    va_end(ap);
    sb_printf(&b, "; the state of release %s can no longer be saved safely: stop, check the disk, "
              "then resume (recovery keeps everything saved before this failure)",
              st->version);
    free(st->broken);
    st->broken = sb_take(&b);
    return error_set(RELHOST_EIO, "%s", st->broken);
}

static int fsync_dir(state *st)
{
    if (fsync(st->dir_fd) != 0)
        return fail_fatal(st, "cannot fsync state folder %s: %s", st->dir, strerror(errno));
    return 0;
}

static json_t *new_root(const char *version)
{
    return json_pack("{s:i, s:s, s:I}", "schema", STATE_SCHEMA, "version", version, "seq",
                     (json_int_t)0);
}

/* ---- applying a change (shared by state_set and replay) -------------------------------------- */

/* 0 when the path can be set; else the index of the first value on the way that exists and is
 * not an object, plus one. */
static size_t path_blocked(json_t *root, const char *const *path, size_t depth)
{
    json_t *o = root;
    for (size_t i = 0; i + 1 < depth; i++) {
        o = json_object_get(o, path[i]);
        if (!o)
            return 0;
        if (!json_is_object(o))
            return i + 1;
    }
    return 0;
}

/* value is stolen; NULL deletes. The path was checked with path_blocked(). Returns 1 when
 * something changed, 0 when a delete found nothing, -1 when jansson failed (out of memory). */
static int path_apply(json_t *root, const char *const *path, size_t depth, json_t *value)
{
    json_t *o = root;
    for (size_t i = 0; i + 1 < depth; i++) {
        json_t *next = json_object_get(o, path[i]);
        if (!next) {
            if (!value)
                return 0;
            next = json_object();
            if (json_object_set_new(o, path[i], next) != 0) {
                json_decref(value);
                return -1;
            }
        }
        o = next;
    }
    if (!value)
        return json_object_del(o, path[depth - 1]) == 0;
    return json_object_set_new(o, path[depth - 1], value) == 0 ? 1 : -1;
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
        json_object_foreach(v, k, c)
            if (value_shared(c))
                return 1;
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, c)
            if (value_shared(c))
                return 1;
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
        json_object_foreach_safe(v, tmp, k, c) {
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
        json_array_foreach(v, i, c)
            redact_in_place(c);
    }
}

/* ---- journal records ------------------------------------------------------------------------- */

/* Append [len][crc][{"seq":N,"path":[...],"value":V}] to b. Returns 0 or RELHOST_EINVAL with b
 * unchanged. */
static int record_encode(strbuf *b, uint64_t seq, json_t *patharr, json_t *value)
{
    static const char header[8] = {0};
    size_t start = b->len;
    size_t len;
    sb_add(b, header, sizeof header);
    sb_printf(b, "{\"seq\":%" PRIu64 ",\"path\":", seq);
    if (json_dump_callback(patharr, dump_to_sb, b, JSON_COMPACT) != 0)
        goto bad;
    if (value) {
        sb_puts(b, ",\"value\":");
        if (json_dump_callback(value, dump_to_sb, b, JSON_COMPACT | JSON_ENCODE_ANY) != 0)
            goto bad;
    }
    sb_putc(b, '}');
    len = b->len - start - sizeof header;
    if (len > STATE_RECORD_MAX) {
        sb_truncate(b, start);
        return error_set(RELHOST_EINVAL, "the change is %zu bytes of JSON, more than the %u a "
                         "state record may hold; keep large data in a file, its path in the state",
                         len, STATE_RECORD_MAX);
    }
    put_le32((unsigned char *)b->s + start, (uint32_t)len);
    put_le32((unsigned char *)b->s + start + 4, state_crc32(b->s + start + 8, len));
    return 0;
bad:
    sb_truncate(b, start);
    return error_set(RELHOST_EINVAL, "the value cannot be written as JSON");
}

typedef struct record {
    uint64_t seq;
    const char *path[STATE_PATH_MAX];
    size_t depth;
    json_t *value; /* borrowed from obj; NULL = delete */
    json_t *obj;   /* owned */
} record;

/* Decode one record at p. Returns 0 with *r filled and *size its framed size; -1 when the frame
 * is damaged (what an interrupted write leaves); -2 when the frame is intact but its payload is
 * not a state change (not a torn write: a bug or a hand edit). *why says what is wrong. */
static int record_decode(const unsigned char *p, size_t avail, record *r, size_t *size,
                         const char **why)
{
    uint32_t len;
    json_t *seq, *path;
    json_int_t n;
    memset(r, 0, sizeof *r);
    if (avail < 8) {
        *why = "a record header cut short";
        return -1;
    }
    len = get_le32(p);
    if (len == 0 || len > STATE_RECORD_MAX) {
        *why = "an impossible record length";
        return -1;
    }
    if (len > avail - 8) {
        *why = "a record shorter than its length";
        return -1;
    }
    if (state_crc32(p + 8, len) != get_le32(p + 4)) {
        *why = "a CRC mismatch";
        return -1;
    }
    *size = 8 + (size_t)len;
    r->obj = json_loadb((const char *)p + 8, len, JSON_REJECT_DUPLICATES, NULL);
    *why = "an intact record that is not a state change";
    if (!json_is_object(r->obj))
        goto bad;
    seq = json_object_get(r->obj, "seq");
    path = json_object_get(r->obj, "path");
    if (!json_is_integer(seq) || (n = json_integer_value(seq)) < 1 || !json_is_array(path))
        goto bad;
    r->seq = (uint64_t)n;
    r->depth = json_array_size(path);
    if (r->depth == 0 || r->depth > STATE_PATH_MAX)
        goto bad;
    for (size_t i = 0; i < r->depth; i++) {
        r->path[i] = json_string_value(json_array_get(path, i));
        if (!r->path[i])
            goto bad;
    }
    if (reserved_key(r->path[0]))
        goto bad;
    r->value = json_object_get(r->obj, "value");
    return 0;
bad:
    json_decref(r->obj);
    r->obj = NULL;
    return -2;
}

/* Replay buf (the journal) onto st->root. Records at or below the snapshot's seq are already in
 * it; the rest must follow it without a gap. Damage with a valid record anywhere after it is
 * corruption (an interrupted append only ever damages the end); damage with nothing valid after
 * it is a torn tail, reported through li. */
static int journal_replay(state *st, const unsigned char *buf, size_t len, load_info *li)
{
    size_t off = 0;
    uint64_t prev = 0;
    while (off < len) {
        record r;
        size_t size = 0;
        const char *why = NULL;
        int applied, rc = record_decode(buf + off, len - off, &r, &size, &why);
        if (rc == -2)
            return error_set(RELHOST_EINVAL,
                             "state journal %s holds %s at byte %zu; it was left untouched: "
                             "restore it from a backup, or move it and the snapshot away to "
                             "start release %s over",
                             st->journal_path, why, off, st->version);
        if (rc != 0) {
            /* Any intact frame further on, whatever its payload, proves this is not the end. */
            for (size_t q = off + 1; q + 8 <= len; q++) {
                record later;
                size_t lsize;
                const char *lwhy;
                if (record_decode(buf + q, len - q, &later, &lsize, &lwhy) != -1) {
                    json_decref(later.obj);
                    return error_set(RELHOST_EINVAL,
                                     "state journal %s is damaged at byte %zu (%s) but a valid "
                                     "record follows at byte %zu; it was left untouched: restore "
                                     "it from a backup, or move it and the snapshot away to start "
                                     "release %s over",
                                     st->journal_path, off, why, q, st->version);
                }
            }
            li->torn = 1;
            li->torn_at = off;
            free(st->warning);
            st->warning = xasprintf("state journal %s: %s %zu bytes at byte %zu (%s), left by an "
                                    "interrupted write; changes after the last flush were lost",
                                    st->journal_path,
                                    (st->flags & STATE_READONLY) ? "ignored a torn tail of"
                                                                 : "cut a torn tail of",
                                    len - off, off, why);
            return 0;
        }
        if (prev && r.seq <= prev) {
            json_decref(r.obj);
            return error_set(RELHOST_EINVAL,
                             "state journal %s: the record at byte %zu has seq %" PRIu64
                             " after %" PRIu64 "; it was left untouched: restore it from a "
                             "backup, or move it and the snapshot away to start release %s over",
                             st->journal_path, off, r.seq, prev, st->version);
        }
        prev = r.seq;
        li->records++;
        if (r.seq > st->seq) {
            size_t blocked = path_blocked(st->root, r.path, r.depth);
            if (r.seq != st->seq + 1 || blocked) {
                char *pt = path_text(r.path, blocked ? blocked : r.depth);
                if (r.seq != st->seq + 1)
                    error_set(RELHOST_EINVAL,
                              "state journal %s: the record at byte %zu has seq %" PRIu64
                              " but the state stops at %" PRIu64 " (records are missing); it "
                              "was left untouched: restore the journal and snapshot from a backup",
                              st->journal_path, off, r.seq, st->seq);
                else
                    error_set(RELHOST_EINVAL,
                              "state journal %s: the record at byte %zu sets below %s, which is "
                              "not an object; it was left untouched: restore the journal and "
                              "snapshot from a backup",
                              st->journal_path, off, pt);
                free(pt);
                json_decref(r.obj);
                return RELHOST_EINVAL;
            }
            applied = path_apply(st->root, r.path, r.depth, json_incref(r.value));
            json_decref(r.obj);
            if (applied < 0)
                return error_set(RELHOST_ENOMEM, "out of memory replaying state journal %s",
                                 st->journal_path);
            st->seq = r.seq;
        } else {
            json_decref(r.obj);
        }
        off += size;
    }
    return 0;
}

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
    int fd = openat(st->dir_fd, st->snap_name, O_RDONLY | O_CLOEXEC);
    json_error_t je;
    json_t *root, *j;
    json_int_t schema = 0, seq = 0;
    if (fd < 0) {
        if (errno == ENOENT)
            return 0;
        return error_set(RELHOST_EIO, "cannot open state snapshot %s: %s", st->snap_path,
                         strerror(errno));
    }
    if (fstat(fd, &li->snap_st) != 0 || read_fd_all(fd, &li->snap_raw) != 0) {
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
        snprintf(what, sizeof what, "is not valid JSON (%s, line %d column %d)", je.text,
                 je.line, je.column);
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
static int load(state *st, load_info *li)
{
    int fd, rc;
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
        st->root = new_root(st->version);
        li->schema = STATE_SCHEMA;
    }
    fd = openat(st->dir_fd, st->journal_name, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno != ENOENT)
        return error_set(RELHOST_EIO, "cannot open state journal %s: %s", st->journal_path,
                         strerror(errno));
    if (fd >= 0) {
        li->have_journal = 1;
        if (read_fd_all(fd, &jbuf) != 0) {
            int e = errno;
            close(fd);
            sb_free(&jbuf);
            return error_set(RELHOST_EIO, "cannot read state journal %s: %s", st->journal_path,
                             strerror(e));
        }
        close(fd);
        li->journal_len = jbuf.len;
        rc = journal_replay(st, (const unsigned char *)jbuf.s, jbuf.len, li);
        sb_free(&jbuf);
        if (rc)
            return rc;
    }
    if (li->schema < STATE_SCHEMA && (rc = migrate(st, li->schema)) != 0)
        return rc;
    st->seq_node = json_object_get(st->root, "seq");
    json_integer_set(st->seq_node, (json_int_t)st->seq);
    return 0;
}

static void load_info_free(load_info *li) { sb_free(&li->snap_raw); }

/* A read-only open takes no lock, so a running relhost may snapshot while we read: it renames
 * a new snapshot in, then cuts the journal. Reading the old snapshot and the cut journal would
 * lose the changes in between, so the load is retried until the snapshot read is still the one
 * in place after the journal was read. */
static int load_unlocked(state *st, load_info *li)
{
    for (int attempt = 0; attempt < 20; attempt++) {
        struct stat now;
        int rc, same;
        load_info_free(li);
        memset(li, 0, sizeof *li);
        rc = load(st, li);
        if (fstatat(st->dir_fd, st->snap_name, &now, 0) == 0)
            same = li->have_snapshot && now.st_ino == li->snap_st.st_ino &&
                   now.st_dev == li->snap_st.st_dev;
        else
            same = !li->have_snapshot;
        if (same)
            return rc;
    }
    return error_set(RELHOST_EIO, "the state of release %s in %s kept changing while it was read; "
                     "try again", st->version, st->dir);
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
    fd = openat(st->dir_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        e = errno;
        goto fail;
    }
    snprintf(point, sizeof point, "%s.before_write", crash_prefix);
    crash_point(point);
    if (write_all(fd, data, len) != 0 || fsync(fd) != 0) {
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
    return fsync_dir(st);
fail:
    error_set(RELHOST_EIO, "cannot write %s/%s: %s", st->dir, tmp, strerror(e));
    free(tmp);
    return RELHOST_EIO;
}

static int refuse_readonly(state *st)
{
    return error_set(RELHOST_EINVAL, "the state of release %s was opened read-only and cannot "
                     "change", st->version);
}

int state_snapshot(state *st)
{
    strbuf out = {0};
    int rc;
    if (st->flags & STATE_READONLY)
        return refuse_readonly(st);
    if (st->broken)
        return error_set(RELHOST_EIO, "%s", st->broken);
    /* Sorted keys: the same state always gives the same bytes (diffs, golden files). */
    if (json_dump_callback(st->root, dump_to_sb, &out, JSON_INDENT(2) | JSON_SORT_KEYS) != 0) {
        sb_free(&out);
        return error_set(RELHOST_EIO, "cannot encode the state of release %s", st->version);
    }
    sb_putc(&out, '\n');
    rc = write_atomic(st, st->snap_name, out.s, out.len, "state.snapshot");
    sb_free(&out);
    if (rc)
        return rc;
    /* The snapshot now holds every change up to st->seq, pending ones included: they need no
     * journal record any more. Until the cut below is durable, replay skips the journal's
     * records by their seq. */
    sb_truncate(&st->pending, 0);
    crash_point("state.snapshot.before_truncate");
    if (ftruncate(st->journal_fd, 0) != 0 || fdatasync(st->journal_fd) != 0)
        return fail_fatal(st, "cannot empty state journal %s after a snapshot: %s",
                          st->journal_path, strerror(errno));
    st->journal_size = 0;
    crash_point("state.snapshot.after_truncate");
    return 0;
}

int state_flush(state *st)
{
    if (!st->pending.len)
        return 0;
    if (st->broken)
        return error_set(RELHOST_EIO, "%s", st->broken);
    crash_point("state.journal.before_write");
    if (write_all(st->journal_fd, st->pending.s, st->pending.len) != 0) {
        int e = errno;
        /* A partial record would turn into "damage followed by valid records" at the next
         * append: cut back to the last good length so the changes can be retried. */
        if (ftruncate(st->journal_fd, st->journal_size) != 0 || fdatasync(st->journal_fd) != 0)
            return fail_fatal(st, "cannot append to state journal %s (%s) nor cut it back: %s",
                              st->journal_path, strerror(e), strerror(errno));
        return error_set(RELHOST_EIO, "cannot append to state journal %s: %s; the changes since "
                         "the last save are kept in memory and retried at the next flush",
                         st->journal_path, strerror(e));
    }
    crash_point("state.journal.after_write");
    if (fdatasync(st->journal_fd) != 0)
        return fail_fatal(st, "cannot fdatasync state journal %s: %s", st->journal_path,
                          strerror(errno));
    crash_point("state.journal.after_sync");
    st->journal_size += (off_t)st->pending.len;
    sb_truncate(&st->pending, 0);
    return 0;
}

int state_set(state *st, const char *const *path, size_t depth, json_t *value)
{
    json_t *patharr;
    size_t start, blocked;
    int rc;
    if (st->flags & STATE_READONLY) {
        json_decref(value);
        return refuse_readonly(st);
    }
    if (st->broken) {
        json_decref(value);
        return error_set(RELHOST_EIO, "%s", st->broken);
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
    if (reserved_key(path[0])) {
        json_decref(value);
        return error_set(RELHOST_EINVAL, "\"%s\" is kept by the state store itself; callers may "
                         "not set it", path[0]);
    }
    if ((blocked = path_blocked(st->root, path, depth)) != 0) {
        char *want = path_text(path, depth), *at = path_text(path, blocked);
        error_set(RELHOST_EINVAL, "cannot set %s in the state of release %s: %s is not an object",
                  want, st->version, at);
        free(want);
        free(at);
        json_decref(value);
        return RELHOST_EINVAL;
    }
    if (!value && !state_get(st, path, depth))
        return 0;
    if (value && value_shared(value)) {
        json_t *copy = json_deep_copy(value);
        json_decref(value);
        if (!(value = copy))
            return error_set(RELHOST_ENOMEM, "out of memory copying a value for the state of "
                             "release %s", st->version);
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
    rc = record_encode(&st->pending, st->seq + 1, patharr, value);
    json_decref(patharr);
    if (rc) {
        json_decref(value);
        return rc;
    }
    if (path_apply(st->root, path, depth, value) < 0) {
        sb_truncate(&st->pending, start);
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
    int fd = openat(st->dir_fd, st->lock_name, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    int n;
    if (fd < 0)
        return error_set(RELHOST_EIO, "cannot open lock file %s/%s: %s", st->dir, st->lock_name,
                         strerror(errno));
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
            return error_set(RELHOST_EINVAL, "release %s is locked by pid %ld (another relhost is "
                             "running it); wait for it or stop it", st->version, pid);
        /* The holder has the lock but has not written its pid yet. */
        return error_set(RELHOST_EINVAL, "release %s is locked by another process (another "
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
    int existed = fstatat(st->dir_fd, st->journal_name, &sb, 0) == 0;
    st->journal_fd = openat(st->dir_fd, st->journal_name,
                            O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (st->journal_fd < 0)
        return error_set(RELHOST_EIO, "cannot open state journal %s: %s", st->journal_path,
                         strerror(errno));
    /* A new file's name is only durable once its folder is synced; records fdatasync'ed into a
     * file whose name is lost would be lost with it. */
    return existed ? 0 : fsync_dir(st);
}

static int backup_write(state *st, const load_info *li)
{
    char *bak = xasprintf("%s.v%" JSON_INTEGER_FORMAT ".bak", st->snap_name, li->schema);
    int fd = openat(st->dir_fd, bak, O_RDONLY | O_CLOEXEC);
    int rc = 0;
    if (fd >= 0) {
        /* Left by an open that died before writing the migrated snapshot: the same bytes
         * are fine; other bytes are an older original we must not overwrite. */
        strbuf old = {0};
        int same = read_fd_all(fd, &old) == 0 && old.len == li->snap_raw.len &&
                   memcmp(old.s, li->snap_raw.s, old.len) == 0;
        close(fd);
        sb_free(&old);
        if (!same)
            rc = error_set(RELHOST_EINVAL, "cannot migrate state snapshot %s: its backup %s/%s "
                           "already exists with other content; move that backup away and retry",
                           st->snap_path, st->dir, bak);
    } else {
        rc = write_atomic(st, bak, li->snap_raw.s, li->snap_raw.len, "state.backup");
    }
    free(bak);
    return rc;
}

/* Open under the lock: load, cut a torn tail, create or migrate. */
static int open_writable(state *st)
{
    load_info li = {0};
    int rc = lock_take(st);
    if (rc)
        return rc;
    if ((rc = load(st, &li)) != 0)
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
    if (li.torn) {
        crash_point("state.recover.before_truncate");
        if (ftruncate(st->journal_fd, (off_t)li.torn_at) != 0 ||
            fdatasync(st->journal_fd) != 0) {
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
        if ((rc = backup_write(st, &li)) != 0 || (rc = state_snapshot(st)) != 0)
            goto out;
    } else if (st->is_new) {
        /* Written at once so that the release is listed, and any journal has a snapshot
         * naming its schema. */
        rc = state_snapshot(st);
    }
out:
    load_info_free(&li);
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

int state_open(const char *dir, const char *version, int flags, state **out)
{
    state *st;
    int rc = 0;
    *out = NULL;
    if (!version || !version_ok(version))
        return error_set(RELHOST_EINVAL, "release version \"%s\" cannot name a state file: use "
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
            st->root = new_root(version);
            st->seq_node = json_object_get(st->root, "seq");
            st->is_new = 1;
            *out = st;
            return 0;
        }
        if (errno == ENOENT)
            rc = error_set(RELHOST_ENOTFOUND, "there is no state of release %s to resume: folder "
                           "%s does not exist", version, dir);
        else
            rc = error_set(RELHOST_EIO, "cannot open state folder %s: %s", dir, strerror(errno));
        goto fail;
    }
    if (flags & STATE_READONLY) {
        load_info li = {0};
        rc = load_unlocked(st, &li);
        st->is_new = !li.have_snapshot && li.records == 0;
        load_info_free(&li);
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

/* ---- listing --------------------------------------------------------------------------------- */

static int entry_cmp(const void *a, const void *b)
{
    const state_entry *x = a, *y = b;
    if (x->mtime != y->mtime)
        return x->mtime < y->mtime ? 1 : -1;
    return -strcmp(x->version, y->version);
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static double file_mtime(int dfd, const char *name)
{
    struct stat sb;
    if (fstatat(dfd, name, &sb, 0) != 0)
        return 0;
    return (double)sb.st_mtim.tv_sec + (double)sb.st_mtim.tv_nsec / 1e9;
}

int state_list(const char *dir, state_entry **out, size_t *n)
{
    static const char *const suffixes[] = {".json", ".journal"};
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), ddup = -1;
    DIR *d;
    strvec names = {0};
    state_entry *e;
    size_t k = 0;
    struct dirent *de;
    *out = NULL;
    *n = 0;
    if (dfd < 0 && errno == ENOENT)
        return 0;
    /* fdopendir owns the fd it is given; dfd stays ours for the fstatat() calls below. */
    if (dfd < 0 || (ddup = fcntl(dfd, F_DUPFD_CLOEXEC, 0)) < 0 || !(d = fdopendir(ddup))) {
        int e0 = errno;
        if (ddup >= 0)
            close(ddup);
        if (dfd >= 0)
            close(dfd);
        return error_set(RELHOST_EIO, "cannot list state folder %s: %s", dir, strerror(e0));
    }
    while ((de = readdir(d))) {
        size_t len = strlen(de->d_name);
        if (strncmp(de->d_name, "release_", 8) != 0)
            continue;
        for (size_t i = 0; i < 2; i++) {
            size_t sl = strlen(suffixes[i]);
            char *v;
            if (len <= 8 + sl || strcmp(de->d_name + len - sl, suffixes[i]) != 0)
                continue;
            v = xstrndup(de->d_name + 8, len - 8 - sl);
            if (version_ok(v))
                sv_push_take(&names, v);
            else
                free(v);
        }
    }
    closedir(d);
    if (names.n)
        qsort(names.v, names.n, sizeof *names.v, str_cmp);
    e = xcalloc(names.n ? names.n : 1, sizeof *e);
    for (size_t i = 0; i < names.n; i++) {
        state *st;
        char *sn, *jn;
        double a, b;
        if (i && strcmp(names.v[i], names.v[i - 1]) == 0)
            continue;
        e[k].version = xstrdup(names.v[i]);
        e[k].error = state_open(dir, names.v[i], STATE_READONLY, &st);
        if (e[k].error) {
            e[k].message = xstrdup(error_last());
        } else {
            e[k].finished = json_is_true(json_object_get(st->root, "finished"));
            e[k].published = json_is_true(json_object_get(st->root, "published"));
            e[k].quarantined = json_is_true(json_object_get(st->root, "quarantined"));
            e[k].created = time_parse_iso8601(
                json_string_value(json_object_get(st->root, "created_at")));
            if (json_is_string(json_object_get(st->root, "plan")))
                e[k].plan = xstrdup(json_string_value(json_object_get(st->root, "plan")));
            state_close(st);
        }
        sn = xasprintf("release_%s.json", names.v[i]);
        jn = xasprintf("release_%s.journal", names.v[i]);
        a = file_mtime(dfd, sn);
        b = file_mtime(dfd, jn);
        e[k].mtime = a > b ? a : b;
        free(sn);
        free(jn);
        k++;
    }
    sv_free(&names);
    close(dfd);
    if (k)
        qsort(e, k, sizeof *e, entry_cmp);
    *out = e;
    *n = k;
    return 0;
}

void state_list_free(state_entry *entries, size_t n)
{
    if (!entries)
        return;
    for (size_t i = 0; i < n; i++) {
        free(entries[i].version);
        free(entries[i].message);
        free(entries[i].plan);
    }
    free(entries);
}
