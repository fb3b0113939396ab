/* SPDX-License-Identifier: MIT */
/*
 * state_journal.c - the state's journal: the record frame ([len][CRC-32][JSON change]), applying a
 * change to the root (shared by state_set and replay), replay at open and state_flush(), the one
 * write() + fdatasync() that makes pending records durable. Design in state.h.
 */
#include "record/state.h"
#include "record/state_int.h"

#include "base/error.h"
#include "base/util.h"
#include "run/crash.h"

#include <relhost/plugin.h>

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320), table-driven --------------------- */

/* crc_table[0] is the byte-at-a-time table; crc_table[k] the CRC of a byte followed by k zero
 * bytes, so that eight bytes take eight lookups and no dependency chain between them
 * ("slicing by 8"): the status page's index is megabytes. */
static uint32_t crc_table[8][256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        crc_table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int k = 1; k < 8; k++)
            crc_table[k][i] = (crc_table[k - 1][i] >> 8) ^ crc_table[0][crc_table[k - 1][i] & 0xFF];
}

uint32_t state_crc32(const void *buf, size_t len)
{
    const unsigned char *p = buf;
    uint32_t c = 0xFFFFFFFFu;
    pthread_once(&crc_once, crc_init);
    for (; len >= 8; p += 8, len -= 8) {
        uint32_t lo = c ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                           (uint32_t)p[3] << 24);
        uint32_t hi =
            (uint32_t)p[4] | (uint32_t)p[5] << 8 | (uint32_t)p[6] << 16 | (uint32_t)p[7] << 24;
        c = crc_table[7][lo & 0xFF] ^ crc_table[6][(lo >> 8) & 0xFF] ^
            crc_table[5][(lo >> 16) & 0xFF] ^ crc_table[4][lo >> 24] ^ crc_table[3][hi & 0xFF] ^
            crc_table[2][(hi >> 8) & 0xFF] ^ crc_table[1][(hi >> 16) & 0xFF] ^
            crc_table[0][hi >> 24];
    }
    for (; len > 0; p++, len--)
        c = crc_table[0][(c ^ *p) & 0xFF] ^ (c >> 8);
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

int state_reserved_key(const char *k)
{
    return strcmp(k, "schema") == 0 || strcmp(k, "seq") == 0 || strcmp(k, "version") == 0;
}

/* "a.b.c" for messages: keys are names chosen by the code, never values. */
char *state_path_text(const char *const *path, size_t depth)
{
    strbuf b = {0};
    for (size_t i = 0; i < depth; i++) {
        if (i)
            sb_putc(&b, '.');
        sb_puts(&b, path[i] ? path[i] : "(null)");
    }
    return sb_take(&b);
}

/* ---- applying a change (shared by state_set and replay) -------------------------------------- */

/* ---- packed job records ---------------------------------------------------------------------- */

/* A job record is a few hundred bytes of JSON but seven kilobytes as a jansson tree, and a
 * release keeps one per validation: in memory the store keeps each root["jobs"][id] object
 * packed, as a string holding a NUL byte and then the record's compact JSON text (the order of
 * its keys kept: metrics read back in the order they were posted). A NUL byte cannot start a record's text, and a state holding a job that is not
 * an object is refused when it is loaded (record_shape.c), so a packed record is never mistaken
 * for a value. Readers take records through state_job_value(); the snapshot writes them out as
 * the objects they are (state_snapshot.c), so the files do not change. */

int state_is_packed(const json_t *v)
{
    return json_is_string(v) && json_string_length(v) > 1 && json_string_value(v)[0] == '\0';
}

json_t *state_job_value(const json_t *v)
{
    json_t *o;
    if (json_is_object(v))
        return json_incref((json_t *)v);
    if (!state_is_packed(v))
        return NULL;
    o = json_loadb(json_string_value(v) + 1, json_string_length(v) - 1,
                   JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    if (o && !json_is_object(o)) {
        json_decref(o);
        o = NULL;
    }
    return o;
}

/* The packed form of object o (stolen), or o itself when it is not an object (NULL on failure). */
static json_t *job_pack(json_t *o)
{
    strbuf b = {0};
    json_t *p;
    if (!json_is_object(o))
        return o;
    sb_putc(&b, '\0');
    if (json_dump_callback(o, state_dump_to_sb, &b, JSON_COMPACT) != 0) {
        sb_free(&b);
        json_decref(o);
        return NULL;
    }
    json_decref(o);
    p = json_stringn_nocheck(b.s, b.len);
    sb_free(&b);
    return p;
}

json_t *state_job_packed_text(const char *text, size_t len)
{
    strbuf b = {0};
    json_t *p;
    sb_putc(&b, '\0');
    sb_add(&b, text, len);
    p = json_stringn_nocheck(b.s, b.len);
    sb_free(&b);
    return p;
}

int state_jobs_pack(json_t *root)
{
    json_t *jobs = json_object_get(root, "jobs"), *v;
    const char *id;
    json_object_foreach(jobs, id, v)
    {
        json_t *p;
        if (!json_is_object(v))
            continue;
        if (!(p = job_pack(json_incref(v))) || json_object_set_new(jobs, id, p) != 0)
            return -1;
    }
    return 0;
}

static int under_a_job(const char *const *path, size_t depth)
{
    return depth >= 3 && strcmp(path[0], "jobs") == 0;
}

/* ---- applying a change (shared by state_set and replay) -------------------------------------- */

/* 0 when the path can be set; else the index of the first value on the way that exists and is
 * not an object, plus one. */
size_t state_path_blocked(json_t *root, const char *const *path, size_t depth)
{
    json_t *o = root;
    for (size_t i = 0; i + 1 < depth; i++) {
        o = json_object_get(o, path[i]);
        if (!o)
            return 0;
        if (i == 1 && under_a_job(path, depth) && state_is_packed(o)) {
            json_t *rec = state_job_value(o);
            size_t b = rec ? state_path_blocked(rec, path + 2, depth - 2) : 0;
            json_decref(rec);
            return rec ? (b ? b + 2 : 0) : i + 1;
        }
        if (!json_is_object(o))
            return i + 1;
    }
    return 0;
}

/* A change below a packed job record: unpacked, changed, packed again. */
static int apply_in_job(json_t *jobs, const char *const *path, size_t depth, json_t *value)
{
    json_t *rec = state_job_value(json_object_get(jobs, path[1])), *p;
    int rc;
    if (!rec) { /* the path was checked: there is no record yet */
        if (!value)
            return 0;
        rec = json_object();
    }
    rc = state_path_apply(rec, path + 2, depth - 2, value, 0);
    if (rc <= 0) {
        json_decref(rec);
        return rc;
    }
    if (!(p = job_pack(rec)))
        return -1;
    return json_object_set_new(jobs, path[1], p) == 0 ? 1 : -1;
}

/* value is stolen; NULL deletes. The path was checked with state_path_blocked(). Returns 1 when
 * something changed, 0 when a delete found nothing, -1 when jansson failed (out of memory).
 * pack: job records are kept packed (every change once the state is loaded). */
int state_path_apply(json_t *root, const char *const *path, size_t depth, json_t *value, int pack)
{
    json_t *o = root;
    if (pack && depth == 1 && value && strcmp(path[0], "jobs") == 0 && json_is_object(value) &&
        state_jobs_pack(value) != 0) {
        json_decref(value);
        return -1;
    }
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
        if (pack && i == 0 && under_a_job(path, depth))
            return apply_in_job(next, path, depth, value);
        o = next;
    }
    if (!value)
        return json_object_del(o, path[depth - 1]) == 0;
    if (pack && depth == 2 && strcmp(path[0], "jobs") == 0 && !(value = job_pack(value)))
        return -1;
    return json_object_set_new(o, path[depth - 1], value) == 0 ? 1 : -1;
}

/* ---- journal records ------------------------------------------------------------------------- */

/* Append [len][crc][{"seq":N,"path":[...],"value":V}] to b. Returns 0 or RELHOST_EINVAL with b
 * unchanged. */
int state_record_encode(strbuf *b, uint64_t seq, json_t *patharr, json_t *value)
{
    size_t at;
    return state_record_encode_at(b, seq, patharr, value, &at);
}

int state_record_encode_at(strbuf *b, uint64_t seq, json_t *patharr, json_t *value,
                           size_t *value_at)
{
    static const char header[8] = {0};
    size_t start = b->len;
    size_t len;
    sb_add(b, header, sizeof header);
    sb_printf(b, "{\"seq\":%" PRIu64 ",\"path\":", seq);
    if (json_dump_callback(patharr, state_dump_to_sb, b, JSON_COMPACT) != 0)
        goto bad;
    *value_at = b->len;
    if (value) {
        sb_puts(b, ",\"value\":");
        *value_at = b->len;
        if (json_dump_callback(value, state_dump_to_sb, b, JSON_COMPACT | JSON_ENCODE_ANY) != 0)
            goto bad;
    }
    sb_putc(b, '}');
    len = b->len - start - sizeof header;
    if (len > STATE_RECORD_MAX) {
        state_sb_truncate(b, start);
        return error_set(RELHOST_EINVAL,
                         "the change is %zu bytes of JSON, more than the %u a "
                         "state record may hold; keep large data in a file, its path in the state",
                         len, STATE_RECORD_MAX);
    }
    put_le32((unsigned char *)b->s + start, (uint32_t)len);
    put_le32((unsigned char *)b->s + start + 4, state_crc32(b->s + start + 8, len));
    return 0;
bad:
    state_sb_truncate(b, start);
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
    if (state_reserved_key(r->path[0]))
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
int state_journal_replay(state *st, const unsigned char *buf, size_t len, load_info *li)
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
            size_t blocked = state_path_blocked(st->root, r.path, r.depth);
            if (r.seq != st->seq + 1 || blocked) {
                char *pt = state_path_text(r.path, blocked ? blocked : r.depth);
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
            applied = state_path_apply(st->root, r.path, r.depth, json_incref(r.value), 0);
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

/* ---- flush ----------------------------------------------------------------------------------- */

int state_write(state *st)
{
    if (!st->pending.len)
        return 0;
    if (st->broken)
        return state_refuse_broken(st);
    crash_point("state.journal.before_write");
    if (state_write_all(st->journal_fd, st->pending.s, st->pending.len) != 0) {
        int e = errno;
        /* A partial record would turn into "damage followed by valid records" at the next
         * append: cut back to the last good length so the changes can be retried. */
        if (ftruncate(st->journal_fd, st->journal_size) != 0 || fdatasync(st->journal_fd) != 0)
            return state_fail_fatal(st,
                                    "cannot append to state journal %s (%s) nor cut it back: %s",
                                    st->journal_path, strerror(e), strerror(errno));
        /* A full disk or an I/O error does not heal by itself within a run: going on would
         * start jobs whose results cannot be stored. The changes not saved are named lost. */
        return state_fail_fatal(st,
                                "cannot append to state journal %s: %s (the changes since "
                                "the last save are lost; everything saved before is kept)",
                                st->journal_path, strerror(e));
    }
    crash_point("state.journal.after_write");
    st->journal_size += (off_t)st->pending.len;
    st->unsynced += st->pending.len;
    state_sb_truncate(&st->pending, 0);
    return 0;
}

int state_flush(state *st)
{
    int rc = state_write(st);
    if (rc || !st->unsynced)
        return rc;
    if (fdatasync(st->journal_fd) != 0)
        return state_fail_fatal(st, "cannot fdatasync state journal %s: %s", st->journal_path,
                                strerror(errno));
    crash_point("state.journal.after_sync");
    st->unsynced = 0;
    return 0;
}

/* ---- a dying relhost's last changes (state.h) ------------------------------------------------ */

int state_emergency_prepare(state *st, state_emergency *em, const char *const *const *paths,
                            const size_t *depths, json_t **values, size_t n)
{
    strbuf b = {0};
    int rc = 0;
    em->first_seq = 0;
    em->len = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *patharr = json_array();
        for (size_t k = 0; k < depths[i]; k++)
            json_array_append_new(patharr, json_string(paths[i][k]));
        if (!rc)
            rc = state_record_encode(&b, st->seq + 1 + i, patharr, values[i]);
        json_decref(patharr);
        json_decref(values[i]);
    }
    if (!rc && b.len > sizeof em->buf)
        rc = error_set(RELHOST_EINVAL,
                       "the changes a crash would record are %zu bytes, more "
                       "than %zu",
                       b.len, sizeof em->buf);
    if (!rc && !(st->flags & STATE_READONLY) && st->journal_fd >= 0) {
        memcpy(em->buf, b.s, b.len);
        em->len = b.len;
        em->first_seq = st->seq + 1;
    }
    sb_free(&b);
    return rc;
}

int state_emergency_reseq(const state *st, state_emergency *em)
{
    static const char head[] = "{\"seq\":";
    unsigned char out[sizeof em->buf];
    size_t o = 0, off = 0;
    uint64_t seq = st->seq + 1;
    if (!em->first_seq)
        return -1;
    if (em->first_seq == seq)
        return 0;
    while (off + 8 <= em->len) {
        const unsigned char *body = (const unsigned char *)em->buf + off + 8;
        size_t len = get_le32((const unsigned char *)em->buf + off), rest, hl;
        const unsigned char *after;
        char num[48];
        if (off + 8 + len > em->len || len < sizeof head || memcmp(body, head, sizeof head - 1))
            return -1;
        after = memchr(body, ',', len); /* the end of the seq's digits */
        if (!after)
            return -1;
        rest = len - (size_t)(after - body);
        hl = (size_t)snprintf(num, sizeof num, "%s%" PRIu64, head, seq++);
        if (o + 8 + hl + rest > sizeof out)
            return -1;
        memcpy(out + o + 8, num, hl);
        memcpy(out + o + 8 + hl, after, rest);
        put_le32(out + o, (uint32_t)(hl + rest));
        put_le32(out + o + 4, state_crc32((const char *)out + o + 8, hl + rest));
        o += 8 + hl + rest;
        off += 8 + len;
    }
    memcpy(em->buf, out, o);
    em->len = o;
    em->first_seq = st->seq + 1;
    return 0;
}

void state_emergency_write(state *st, const state_emergency *em)
{
    if (!st || !em->first_seq || em->first_seq != st->seq + 1 || st->broken || st->journal_fd < 0)
        return;
    if (st->pending.len && state_write_all(st->journal_fd, st->pending.s, st->pending.len) != 0)
        return;
    if (state_write_all(st->journal_fd, em->buf, em->len) == 0)
        fdatasync(st->journal_fd);
}
