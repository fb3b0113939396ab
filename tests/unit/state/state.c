/* SPDX-License-Identifier: MIT */
/* tests/unit/state/state.c - the release state store: journal framing and replay, torn tails
 * against damage in the middle, schema migration and refusal, the flock, listing, and a kill at
 * every crash point (a forked child with RELHOST_CRASH_AT) leaving state a reopen recovers to
 * exactly the value before or after the change in flight. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/error.h"
#include "base/util.h"
#include "record/state.h"

#include <relhost/plugin.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define V "1.0"

static char *dir; /* a fresh folder per test, removed by teardown */

/* ---- helpers ------------------------------------------------------------------------------ */

static int rm_one(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
    (void)sb;
    (void)type;
    (void)ftw;
    return remove(path);
}

static void rm_rf(const char *path) { nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS); }

static int setup(void **unused)
{
    const char *base = getenv("RELHOST_TEST_TMP");
    char *tmpl = xasprintf("%s/state-XXXXXX", base && *base ? base : "/tmp");
    (void)unused;
    path_mkdirs(base && *base ? base : "/tmp");
    if (!mkdtemp(tmpl))
        return -1;
    dir = tmpl;
    return 0;
}

static int teardown(void **unused)
{
    (void)unused;
    rm_rf(dir);
    free(dir);
    dir = NULL;
    return 0;
}

static char *in_dir(const char *name) { return xasprintf("%s/%s", dir, name); }

/* The bytes of dir/name; NULL (and *len 0) when it does not exist. */
static unsigned char *slurp(const char *name, size_t *len)
{
    char *p = in_dir(name);
    int fd = open(p, O_RDONLY | O_CLOEXEC);
    strbuf b = {0};
    char buf[65536];
    ssize_t n;
    free(p);
    *len = 0;
    if (fd < 0)
        return NULL;
    sb_init(&b);
    while ((n = read(fd, buf, sizeof buf)) > 0)
        sb_add(&b, buf, (size_t)n);
    close(fd);
    *len = b.len;
    return (unsigned char *)sb_take(&b);
}

static void put_file(const char *name, const void *data, size_t len, int append)
{
    char *p = in_dir(name);
    int fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC), 0644);
    free(p);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    assert_int_equal(close(fd), 0);
}

static int exists(const char *name)
{
    char *p = in_dir(name);
    int r = access(p, F_OK) == 0;
    free(p);
    return r;
}

static off_t file_size(const char *name)
{
    char *p = in_dir(name);
    struct stat sb;
    int r = stat(p, &sb);
    free(p);
    return r == 0 ? sb.st_size : -1;
}

/* The reference CRC: bit by bit, independent of the store's table. */
static uint32_t crc_bitwise(const unsigned char *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1)));
    }
    return ~c;
}

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* A framed record as the store should write it, for journals written by hand. */
static void append_frame(const char *name, const char *payload)
{
    size_t n = strlen(payload);
    unsigned char *f = xmalloc(n + 8);
    uint32_t crc = crc_bitwise((const unsigned char *)payload, n);
    for (int i = 0; i < 4; i++) {
        f[i] = (unsigned char)(n >> (8 * i));
        f[4 + i] = (unsigned char)(crc >> (8 * i));
    }
    memcpy(f + 8, payload, n);
    put_file(name, f, n + 8, 1);
    free(f);
}

/* Parse every frame of the journal, checking lengths and CRCs with the reference CRC; returns
 * the payloads as a JSON array. */
static json_t *journal_frames(void)
{
    size_t len, off = 0;
    unsigned char *b = slurp("release_" V ".journal", &len);
    json_t *out = json_array();
    while (off < len) {
        uint32_t n;
        json_t *rec;
        assert_true(len - off >= 8);
        n = le32(b + off);
        assert_true(n > 0 && n <= len - off - 8);
        assert_int_equal(le32(b + off + 4), crc_bitwise(b + off + 8, n));
        rec = json_loadb((const char *)b + off + 8, n, 0, NULL);
        assert_non_null(rec);
        json_array_append_new(out, rec);
        off += 8 + n;
    }
    free(b);
    return out;
}

/* Set a dotted path ("stages.build.outcome"). */
static int set(state *st, const char *dotted, json_t *v)
{
    char *copy = xstrdup(dotted), *save = NULL;
    const char *path[8];
    size_t n = 0;
    int rc;
    for (char *t = strtok_r(copy, ".", &save); t && n < 8; t = strtok_r(NULL, ".", &save))
        path[n++] = t;
    rc = state_set(st, path, n, v);
    free(copy);
    return rc;
}

static json_t *get(state *st, const char *dotted)
{
    char *copy = xstrdup(dotted), *save = NULL;
    const char *path[8];
    size_t n = 0;
    json_t *r;
    for (char *t = strtok_r(copy, ".", &save); t && n < 8; t = strtok_r(NULL, ".", &save))
        path[n++] = t;
    r = state_get(st, path, n);
    free(copy);
    return r;
}

static void assert_json_equal(json_t *got, json_t *want)
{
    if (!json_equal(got, want)) {
        char *g = json_dumps(got, JSON_SORT_KEYS | JSON_ENCODE_ANY);
        char *w = json_dumps(want, JSON_SORT_KEYS | JSON_ENCODE_ANY);
        print_error("JSON differs\n  got:  %s\n  want: %s\n", g ? g : "NULL", w ? w : "NULL");
        free(g);
        free(w);
        fail();
    }
}

static state *open_ok(int flags)
{
    state *st = NULL;
    int rc = state_open(dir, V, flags, &st);
    if (rc)
        print_error("state_open: %d %s\n", rc, error_last());
    assert_int_equal(rc, 0);
    assert_non_null(st);
    return st;
}

static void close_ok(state *st) { assert_int_equal(state_close(st), 0); }

static void assert_error_contains(const char *needle)
{
    if (!strstr(error_last(), needle)) {
        print_error("error \"%s\" lacks \"%s\"\n", error_last(), needle);
        fail();
    }
}

/* ---- basic behaviour ----------------------------------------------------------------------- */

static void test_unit_state_state__set_flush_reopen_gives_the_same_json(void **unused)
{
    state *st = open_ok(STATE_CREATE);
    json_t *want;
    (void)unused;
    assert_int_equal(state_is_new(st), 1);
    assert_true(exists("release_" V ".json")); /* the snapshot is written at creation */
    assert_int_equal(
        set(st, "stages.build",
            json_pack("{s:s, s:i, s:f}", "outcome", "PASSED", "restarts", 2, "loss", 0.1)),
        0);
    assert_int_equal(set(st, "tasks.rh-1.0-train-a1", json_string("SUBMITTING")), 0);
    assert_int_equal(set(st, "candidate",
                         json_pack("{s:s, s:[s,s], s:n, s:b}", "commit", "abc123", "digests",
                                   "sha256:1", "h\xc3\xa9", "note", "pinned", 0)),
                     0);
    assert_int_equal(set(st, "stages.build.outcome", json_string("WAIVED")), 0);
    assert_int_equal(state_flush(st), 0);
    want = json_deep_copy(state_root(st));
    assert_int_equal(json_integer_value(json_object_get(want, "seq")), 4);
    close_ok(st);

    st = open_ok(0);
    assert_int_equal(state_is_new(st), 0);
    assert_null(state_warning(st));
    assert_json_equal(state_root(st), want);
    assert_string_equal(json_string_value(get(st, "stages.build.outcome")), "WAIVED");
    assert_true(json_real_value(get(st, "stages.build.loss")) == 0.1);
    close_ok(st);
    st = open_ok(STATE_READONLY);
    assert_json_equal(state_root(st), want);
    close_ok(st);
    json_decref(want);
}

static void test_unit_state_state__setting_null_deletes_the_key_and_the_delete_survives_reopen(
    void **unused)
{
    state *st = open_ok(STATE_CREATE);
    (void)unused;
    assert_int_equal(set(st, "tasks.k1", json_string("RUNNING")), 0);
    assert_int_equal(set(st, "tasks.k2", json_string("DONE")), 0);
    assert_int_equal(state_flush(st), 0);
    assert_int_equal(set(st, "tasks.k1", NULL), 0);
    /* Nothing there: no change, no record, no seq. */
    assert_int_equal(set(st, "tasks.k1", NULL), 0);
    assert_int_equal(set(st, "nothing.here", NULL), 0);
    assert_int_equal(state_seq(st), 3);
    assert_int_equal(state_flush(st), 0);
    close_ok(st);

    st = open_ok(0);
    assert_null(get(st, "tasks.k1"));
    assert_string_equal(json_string_value(get(st, "tasks.k2")), "DONE");
    assert_int_equal(state_seq(st), 3);
    close_ok(st);
    /* A deletion is a record without "value" (json null would be a value). */
    {
        json_t *frames = journal_frames();
        json_t *last = json_array_get(frames, json_array_size(frames) - 1);
        assert_int_equal(json_array_size(frames), 3);
        assert_null(json_object_get(last, "value"));
        assert_string_equal(json_string_value(json_array_get(json_object_get(last, "path"), 1)),
                            "k1");
        json_decref(frames);
    }
}

static void test_unit_state_state__a_value_shared_with_the_root_is_copied_so_replay_agrees(
    void **unused)
{
    state *st = open_ok(STATE_CREATE);
    json_t *mine = json_pack("{s:i}", "n", 1), *want;
    (void)unused;
    assert_int_equal(set(st, "a", json_pack("{s:{s:i}}", "inner", "x", 1)), 0);
    /* b takes a's object, c a value the caller keeps: both must become copies. */
    assert_int_equal(set(st, "b", json_incref(get(st, "a"))), 0);
    assert_int_equal(set(st, "c", json_pack("{s:O}", "held", mine)), 0);
    assert_int_equal(set(st, "a.inner.x", json_integer(2)), 0);
    json_object_set_new(mine, "n", json_integer(99));
    assert_int_equal(json_integer_value(get(st, "b.inner.x")), 1);
    assert_int_equal(json_integer_value(get(st, "c.held.n")), 1);
    want = json_deep_copy(state_root(st));
    close_ok(st);
    st = open_ok(0);
    assert_json_equal(state_root(st), want);
    close_ok(st);
    json_decref(want);
    json_decref(mine);
}

static void test_unit_state_state__flush_appends_one_crc_framed_record_per_change(void **unused)
{
    state *st = open_ok(STATE_CREATE);
    size_t len1, len2;
    unsigned char *before, *after;
    static const char rec1[] = "{\"seq\":1,\"path\":[\"a\",\"b\"],\"value\":{\"x\":1}}";
    (void)unused;
    assert_int_equal(file_size("release_" V ".journal"), 0);
    assert_int_equal(set(st, "a.b", json_pack("{s:i}", "x", 1)), 0);
    /* Buffered until the flush: nothing reaches the file before it. */
    assert_int_equal(file_size("release_" V ".journal"), 0);
    assert_int_equal(state_flush(st), 0);
    before = slurp("release_" V ".journal", &len1);
    assert_int_equal(len1, 8 + strlen(rec1));
    assert_int_equal(le32(before), strlen(rec1));
    assert_int_equal(le32(before + 4), crc_bitwise((const unsigned char *)rec1, strlen(rec1)));
    assert_memory_equal(before + 8, rec1, strlen(rec1));
    assert_int_equal(state_crc32("123456789", 9), 0xCBF43926u); /* the CRC-32 check value */

    assert_int_equal(set(st, "a.c", json_true()), 0);
    assert_int_equal(set(st, "a.d", json_null()), 0);
    assert_int_equal(state_flush(st), 0);
    assert_int_equal(state_flush(st), 0); /* nothing pending: nothing written */
    after = slurp("release_" V ".journal", &len2);
    assert_true(len2 > len1);
    assert_memory_equal(after, before, len1); /* appended, earlier bytes untouched */
    {
        json_t *frames = journal_frames();
        assert_int_equal(json_array_size(frames), 3);
        assert_true(json_is_null(json_object_get(json_array_get(frames, 2), "value")));
        json_decref(frames);
    }
    free(before);
    free(after);
    close_ok(st);
}

static void test_unit_state_state__seq_grows_by_one_per_change_and_continues_after_reopen(
    void **unused)
{
    state *st = open_ok(STATE_CREATE);
    json_t *frames;
    (void)unused;
    for (int i = 0; i < 5; i++)
        assert_int_equal(set(st, "n", json_integer(i)), 0);
    assert_int_equal(state_flush(st), 0);
    assert_int_equal(state_snapshot(st), 0);
    assert_int_equal(set(st, "n", json_integer(5)), 0);
    close_ok(st);

    st = open_ok(0);
    assert_int_equal(state_seq(st), 6);
    assert_int_equal(json_integer_value(json_object_get(state_root(st), "seq")), 6);
    assert_int_equal(set(st, "n", json_integer(6)), 0);
    assert_int_equal(set(st, "m", json_integer(7)), 0);
    close_ok(st);
    frames = journal_frames();
    assert_int_equal(json_array_size(frames), 3);
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(json_integer_value(json_object_get(json_array_get(frames, i), "seq")),
                         6 + i);
    json_decref(frames);
}

static void test_unit_state_state__snapshot_then_more_journal_then_reopen_has_both(void **unused)
{
    state *st = open_ok(STATE_CREATE);
    size_t len;
    unsigned char *snap;
    json_t *disk, *frames;
    (void)unused;
    assert_int_equal(set(st, "stages.build", json_string("PASSED")), 0);
    assert_int_equal(state_flush(st), 0);
    assert_int_equal(set(st, "stages.test", json_string("RUNNING")), 0); /* never flushed */
    assert_int_equal(state_snapshot(st), 0);
    assert_int_equal(file_size("release_" V ".journal"), 0);
    snap = slurp("release_" V ".json", &len);
    disk = json_loadb((const char *)snap, len, 0, NULL);
    free(snap);
    assert_non_null(disk);
    assert_json_equal(disk, state_root(st)); /* pending changes were absorbed */
    assert_int_equal(json_integer_value(json_object_get(disk, "schema")), STATE_SCHEMA);
    json_decref(disk);

    assert_int_equal(set(st, "stages.test", json_string("PASSED")), 0);
    assert_int_equal(state_flush(st), 0);
    close_ok(st);
    frames = journal_frames();
    assert_int_equal(json_array_size(frames), 1);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(frames, 0), "seq")), 3);
    json_decref(frames);

    st = open_ok(0);
    assert_string_equal(json_string_value(get(st, "stages.build")), "PASSED");
    assert_string_equal(json_string_value(get(st, "stages.test")), "PASSED");
    assert_int_equal(state_seq(st), 3);
    close_ok(st);
}

static void test_unit_state_state__bad_versions_paths_and_readonly_changes_are_refused(
    void **unused)
{
    state *st = NULL;
    const char *deep[STATE_PATH_MAX + 1];
    (void)unused;
    for (size_t i = 0; i <= STATE_PATH_MAX; i++)
        deep[i] = "k";
    assert_int_equal(state_open(dir, "../etc", STATE_CREATE, &st), RELHOST_EINVAL);
    assert_null(st);
    assert_error_contains("\"../etc\" cannot name a state file");
    assert_int_equal(state_open(dir, "", STATE_CREATE, &st), RELHOST_EINVAL);

    st = open_ok(STATE_CREATE);
    assert_int_equal(set(st, "stages.build", json_string("PASSED")), 0);
    assert_int_equal(state_flush(st), 0);
    assert_int_equal(set(st, "stages.build.outcome", json_string("x")), RELHOST_EINVAL);
    assert_string_equal(error_last(), "cannot set stages.build.outcome in the state of release "
                                      "1.0: stages.build is not an object");
    assert_int_equal(set(st, "seq", json_integer(99)), RELHOST_EINVAL);
    assert_error_contains("\"seq\" is kept by the state store");
    assert_int_equal(set(st, "schema", json_integer(9)), RELHOST_EINVAL);
    assert_int_equal(set(st, "ok.bad\xff", json_true()), RELHOST_EINVAL);
    assert_error_contains("not valid UTF-8");
    assert_null(get(st, "ok"));
    assert_int_equal(state_set(st, deep, 0, json_true()), RELHOST_EINVAL);
    assert_int_equal(state_set(st, deep, STATE_PATH_MAX + 1, json_true()), RELHOST_EINVAL);
    assert_int_equal(state_set(st, deep, STATE_PATH_MAX, json_true()), 0);
    /* The refused changes left no record and no seq behind. */
    assert_int_equal(state_seq(st), 2);
    close_ok(st);
    {
        json_t *frames = journal_frames();
        assert_int_equal(json_array_size(frames), 2);
        json_decref(frames);
    }

    st = open_ok(STATE_READONLY);
    assert_int_equal(set(st, "x", json_true()), RELHOST_EINVAL);
    assert_error_contains("opened read-only");
    assert_int_equal(state_snapshot(st), RELHOST_EINVAL);
    close_ok(st);
}

static void test_unit_state_state__readonly_open_of_a_missing_release_is_empty_and_writes_nothing(
    void **unused)
{
    char *missing = in_dir("not/there");
    state *st = NULL;
    json_t *want = json_pack("{s:i, s:s, s:i}", "schema", STATE_SCHEMA, "version", V, "seq", 0);
    (void)unused;
    assert_int_equal(state_open(missing, V, STATE_READONLY, &st), 0);
    assert_int_equal(state_is_new(st), 1);
    assert_json_equal(state_root(st), want);
    close_ok(st);
    assert_false(exists("not"));
    /* The folder exists but the release does not: still nothing written, not even a lock. */
    assert_int_equal(state_open(dir, V, STATE_READONLY, &st), 0);
    assert_json_equal(state_root(st), want);
    close_ok(st);
    assert_false(exists("release_" V ".lock"));
    free(missing);
    json_decref(want);
}

static void test_unit_state_state__writable_open_without_create_of_a_missing_release_is_not_found(
    void **unused)
{
    state *st = NULL;
    char *missing = in_dir("nope");
    (void)unused;
    assert_int_equal(state_open(dir, V, 0, &st), RELHOST_ENOTFOUND);
    assert_null(st);
    assert_error_contains("there is no state of release 1.0");
    assert_false(exists("release_" V ".lock"));
    assert_int_equal(state_open(missing, V, 0, &st), RELHOST_ENOTFOUND);
    assert_false(exists("nope"));
    free(missing);
}

/* ---- recovery ------------------------------------------------------------------------------ */

/* Three flushed changes a=1, b=2, c=3, each its own record; returns the journal length after
 * each record in ends[]. */
static void three_records(size_t ends[3])
{
    state *st = open_ok(STATE_CREATE);
    const char *keys[] = {"a", "b", "c"};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(set(st, keys[i], json_integer(i + 1)), 0);
        assert_int_equal(state_flush(st), 0);
        ends[i] = (size_t)file_size("release_" V ".journal");
    }
    close_ok(st);
}

static void test_unit_state_state__a_torn_tail_is_cut_with_a_warning_and_earlier_records_kept(
    void **unused)
{
    size_t ends[3], len0, len1;
    unsigned char partial[18] = {100, 0, 0, 0, 1, 2, 3, 4, '{', '"', 's', 'e', 'q', '"', ':', '4'};
    unsigned char *before, *after;
    char want[512];
    state *st;
    (void)unused;
    three_records(ends);
    put_file("release_" V ".journal", partial, sizeof partial, 1);
    before = slurp("release_" V ".journal", &len0);

    /* Read-only: the tail is ignored, not cut. */
    st = open_ok(STATE_READONLY);
    assert_non_null(state_warning(st));
    assert_non_null(strstr(state_warning(st), "ignored a torn tail of 18 bytes"));
    assert_int_equal(json_integer_value(get(st, "c")), 3);
    close_ok(st);
    after = slurp("release_" V ".journal", &len1);
    assert_int_equal(len1, len0);
    assert_memory_equal(after, before, len0);
    free(after);

    st = open_ok(0);
    snprintf(want, sizeof want,
             "state journal %s/release_1.0.journal: cut a torn tail of 18 bytes "
             "at byte %zu (a record shorter than its length), left by an interrupted write; "
             "changes after the last flush were lost",
             dir, ends[2]);
    assert_string_equal(state_warning(st), want);
    assert_int_equal(file_size("release_" V ".journal"), (off_t)ends[2]);
    assert_int_equal(json_integer_value(get(st, "a")), 1);
    assert_int_equal(json_integer_value(get(st, "c")), 3);
    assert_int_equal(state_seq(st), 3);
    assert_int_equal(set(st, "d", json_integer(4)), 0);
    close_ok(st);

    st = open_ok(0);
    assert_null(state_warning(st));
    assert_int_equal(json_integer_value(get(st, "d")), 4);
    assert_int_equal(state_seq(st), 4);
    close_ok(st);
    free(before);
}

static void test_unit_state_state__a_crc_mismatch_in_the_last_record_is_cut_as_a_torn_tail(
    void **unused)
{
    size_t ends[3], len;
    unsigned char *j;
    state *st;
    (void)unused;
    three_records(ends);
    j = slurp("release_" V ".journal", &len);
    j[len - 2] ^= 0x01; /* inside the last payload: length intact, CRC wrong */
    put_file("release_" V ".journal", j, len, 0);
    free(j);

    st = open_ok(0);
    assert_non_null(state_warning(st));
    assert_non_null(strstr(state_warning(st), "(a CRC mismatch)"));
    assert_int_equal(file_size("release_" V ".journal"), (off_t)ends[1]);
    assert_int_equal(json_integer_value(get(st, "b")), 2);
    assert_null(get(st, "c"));
    assert_int_equal(state_seq(st), 2);
    close_ok(st);
}

static void test_unit_state_state__an_impossible_length_at_the_end_is_cut_as_a_torn_tail(
    void **unused)
{
    size_t ends[3];
    static const unsigned char bad[8] = {0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0};
    static const unsigned char zeros[4096] = {0};
    state *st;
    (void)unused;
    three_records(ends);
    put_file("release_" V ".journal", bad, sizeof bad, 1);
    st = open_ok(0);
    assert_non_null(strstr(state_warning(st), "(an impossible record length)"));
    assert_int_equal(file_size("release_" V ".journal"), (off_t)ends[2]);
    close_ok(st);
    /* What a crashed file system leaves: a zero-filled tail. */
    put_file("release_" V ".journal", zeros, sizeof zeros, 1);
    st = open_ok(0);
    assert_non_null(strstr(state_warning(st), "cut a torn tail of 4096 bytes"));
    assert_int_equal(json_integer_value(get(st, "c")), 3);
    close_ok(st);
}

typedef struct files {
    unsigned char *snap, *journal;
    size_t snap_len, journal_len;
} files;

static files files_take(void)
{
    files f;
    f.snap = slurp("release_" V ".json", &f.snap_len);
    f.journal = slurp("release_" V ".journal", &f.journal_len);
    return f;
}

static void files_assert_same(const files *a)
{
    files b = files_take();
    assert_int_equal(b.snap_len, a->snap_len);
    assert_int_equal(b.journal_len, a->journal_len);
    if (a->snap_len)
        assert_memory_equal(b.snap, a->snap, a->snap_len);
    if (a->journal_len)
        assert_memory_equal(b.journal, a->journal, a->journal_len);
    assert_false(exists("release_" V ".json.tmp"));
    free(b.snap);
    free(b.journal);
}

static void files_free(files *f)
{
    free(f->snap);
    free(f->journal);
}

static void test_unit_state_state__damage_in_the_middle_is_an_error_and_no_file_changes(
    void **unused)
{
    size_t ends[3], len;
    unsigned char *j;
    files f;
    state *st = NULL;
    char want[128];
    (void)unused;
    three_records(ends);
    j = slurp("release_" V ".journal", &len);
    j[ends[0] + 12] ^= 0x20; /* in record 2's payload */
    put_file("release_" V ".journal", j, len, 0);
    free(j);
    f = files_take();

    for (int ro = 0; ro < 2; ro++) {
        for (int create = 0; create < 2; create++) {
            int flags = (ro ? STATE_READONLY : 0) | (create ? STATE_CREATE : 0);
            assert_int_equal(state_open(dir, V, flags, &st), RELHOST_EINVAL);
            assert_null(st);
            assert_error_contains("release_1.0.journal is damaged at byte");
            snprintf(want, sizeof want,
                     "at byte %zu (a CRC mismatch) but a valid record follows "
                     "at byte %zu",
                     ends[0], ends[1]);
            assert_error_contains(want);
            assert_error_contains("left untouched");
            files_assert_same(&f);
        }
    }
    files_free(&f);
}

static void test_unit_state_state__an_intact_record_that_is_no_state_change_is_an_error_not_a_tail(
    void **unused)
{
    size_t ends[3];
    files f;
    state *st = NULL;
    (void)unused;
    three_records(ends);
    /* Framed and CRC-correct, so no interrupted write made it: cutting it would hide a bug. */
    append_frame("release_" V ".journal", "{\"seq\":4,\"path\":[\"seq\"],\"value\":1}");
    f = files_take();
    assert_int_equal(state_open(dir, V, 0, &st), RELHOST_EINVAL);
    assert_null(st);
    assert_error_contains("holds an intact record that is not a state change at byte");
    files_assert_same(&f);
    files_free(&f);
}

/* ---- schema -------------------------------------------------------------------------------- */

static void test_unit_state_state__a_newer_schema_is_refused_and_left_untouched(void **unused)
{
    static const char snap[] = "{\"schema\": 2, \"version\": \"1.0\", \"seq\": 1, \"x\": {}}\n";
    files f;
    state *st = NULL;
    char want[512];
    (void)unused;
    put_file("release_" V ".json", snap, strlen(snap), 0);
    append_frame("release_" V ".journal", "{\"seq\":2,\"path\":[\"x\",\"y\"],\"value\":1}");
    f = files_take();
    snprintf(want, sizeof want,
             "state snapshot %s/release_1.0.json has schema 2, newer than "
             "schema 1 that this relhost understands; it was left untouched: run release 1.0 "
             "with a newer relhost",
             dir);
    for (int flags = 0; flags <= (STATE_READONLY | STATE_CREATE); flags++) {
        assert_int_equal(state_open(dir, V, flags, &st), RELHOST_EINVAL);
        assert_null(st);
        assert_string_equal(error_last(), want);
        files_assert_same(&f);
    }
    files_free(&f);
}

static void test_unit_state_state__an_unparsable_snapshot_is_refused_and_left_untouched(
    void **unused)
{
    static const char snap[] = "{\"schema\": 1, \"version\": \"1.0\", \"seq\": ";
    files f;
    state *st = NULL;
    (void)unused;
    put_file("release_" V ".json", snap, strlen(snap), 0);
    f = files_take();
    for (int flags = 0; flags <= (STATE_READONLY | STATE_CREATE); flags++) {
        assert_int_equal(state_open(dir, V, flags, &st), RELHOST_EINVAL);
        assert_error_contains("release_1.0.json is not valid JSON");
        assert_error_contains("left untouched: restore it from a backup");
        files_assert_same(&f);
    }
    /* A snapshot of another release is damage too. */
    {
        static const char other[] = "{\"schema\":1,\"version\":\"2.0\",\"seq\":0}";
        put_file("release_" V ".json", other, strlen(other), 0);
    }
    assert_int_equal(state_open(dir, V, 0, &st), RELHOST_EINVAL);
    assert_error_contains("belongs to another release");
    files_free(&f);
}

/* Schema 0: no "schema", "seq" or "version"; a journal record written by the old relhost. */
static const char old_snap[] = "{\"steps\": {\"build\": {\"outcome\": \"PASSED\"}}}\n";

static void write_old_state(void)
{
    put_file("release_" V ".json", old_snap, strlen(old_snap), 0);
    append_frame("release_" V ".journal",
                 "{\"seq\":1,\"path\":[\"steps\",\"test\"],\"value\":{\"outcome\":\"FAILED\"}}");
}

static json_t *old_state_migrated(void)
{
    return json_pack("{s:i, s:s, s:i, s:{s:{s:s}, s:{s:s}}}", "schema", 1, "version", V, "seq", 1,
                     "steps", "build", "outcome", "PASSED", "test", "outcome", "FAILED");
}

static void test_unit_state_state__an_older_schema_is_migrated_and_the_original_kept_as_bak(
    void **unused)
{
    json_t *want = old_state_migrated(), *disk;
    files f;
    size_t len;
    unsigned char *b;
    state *st;
    (void)unused;
    write_old_state();
    f = files_take();

    /* Read-only: migrated in memory, nothing written. */
    st = open_ok(STATE_READONLY);
    assert_json_equal(state_root(st), want);
    close_ok(st);
    files_assert_same(&f);
    assert_false(exists("release_" V ".json.v0.bak"));

    st = open_ok(0);
    assert_json_equal(state_root(st), want);
    close_ok(st);
    b = slurp("release_" V ".json.v0.bak", &len);
    assert_non_null(b);
    assert_int_equal(len, strlen(old_snap));
    assert_memory_equal(b, old_snap, len);
    free(b);
    /* The migrated snapshot is on disk at once and the old-schema journal is folded into it. */
    b = slurp("release_" V ".json", &len);
    disk = json_loadb((const char *)b, len, 0, NULL);
    free(b);
    assert_json_equal(disk, want);
    json_decref(disk);
    assert_int_equal(file_size("release_" V ".journal"), 0);

    st = open_ok(0);
    assert_json_equal(state_root(st), want);
    close_ok(st);
    files_free(&f);
    json_decref(want);
}

static void test_unit_state_state__migration_refuses_to_overwrite_a_different_backup(void **unused)
{
    files f;
    state *st = NULL;
    (void)unused;
    write_old_state();
    put_file("release_" V ".json.v0.bak", "{}", 2, 0);
    f = files_take();
    assert_int_equal(state_open(dir, V, 0, &st), RELHOST_EINVAL);
    assert_error_contains("release_1.0.json.v0.bak already exists with other content");
    files_assert_same(&f);
    assert_int_equal(file_size("release_" V ".json.v0.bak"), 2);
    files_free(&f);
}

/* ---- lock ---------------------------------------------------------------------------------- */

static void test_unit_state_state__a_lock_held_by_another_process_refuses_open_naming_its_pid(
    void **unused)
{
    int ready[2], release[2], status;
    char c, want[256];
    pid_t pid;
    state *st = NULL;
    (void)unused;
    close_ok(open_ok(STATE_CREATE));
    assert_int_equal(pipe2(ready, O_CLOEXEC), 0);
    assert_int_equal(pipe2(release, O_CLOEXEC), 0);
    fflush(NULL);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* The child: hold the release until the parent closes the pipe. No cmocka here. */
        state *held = NULL;
        close(ready[0]);
        close(release[1]);
        if (state_open(dir, V, 0, &held) != 0)
            _exit(2);
        if (write(ready[1], "r", 1) != 1)
            _exit(3);
        while (read(release[0], &c, 1) > 0)
            ;
        state_close(held);
        _exit(0);
    }
    close(ready[1]);
    close(release[0]);
    assert_int_equal(read(ready[0], &c, 1), 1);

    assert_int_equal(state_open(dir, V, 0, &st), RELHOST_EINVAL);
    assert_null(st);
    snprintf(want, sizeof want,
             "release 1.0 is locked by pid %ld (another relhost is running it); "
             "wait for it or stop it",
             (long)pid);
    assert_string_equal(error_last(), want);
    assert_int_equal(state_open(dir, V, STATE_CREATE, &st), RELHOST_EINVAL);
    /* Status and --check still read it. */
    st = open_ok(STATE_READONLY);
    close_ok(st);

    close(release[1]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    close(ready[0]);
    st = open_ok(0);
    /* The lock is per open file description: even this process cannot open it twice. */
    {
        state *again = NULL;
        assert_int_equal(state_open(dir, V, 0, &again), RELHOST_EINVAL);
        snprintf(want, sizeof want, "locked by pid %ld", (long)getpid());
        assert_error_contains(want);
    }
    close_ok(st);
}

/* ---- crash safety -------------------------------------------------------------------------- */

/* The release's life in durable steps. Before op k starts the child reports 's'+k on fd, after
 * it ends 'd'+k (write(2): the report survives the kill). With expect non-NULL (the reference
 * run), the root after each op is appended to it. Returns 0, or 10+k when op k failed. */
#define NOPS 8
static int life(int fd, json_t *expect)
{
    state *st = NULL;
    char m[2];
    for (int k = 0; k < NOPS; k++) {
        int rc = 0;
        m[0] = 's';
        m[1] = (char)k;
        if (fd >= 0 && write(fd, m, 2) != 2)
            return 99;
        switch (k) {
        case 0: rc = state_open(dir, V, STATE_CREATE, &st); break;
        case 1:
            rc = set(st, "stages.build", json_pack("{s:s}", "outcome", "RUNNING")) ||
                 set(st, "tasks.k1", json_string("SUBMITTING")) || state_flush(st);
            break;
        case 2:
            rc = set(st, "tasks.k1", json_string("RUNNING")) ||
                 set(st, "stages.build.outcome", json_string("PASSED")) || state_flush(st);
            break;
        case 3: rc = state_snapshot(st); break;
        case 4:
            rc = set(st, "tasks.k2", json_string("SUBMITTING")) || set(st, "tasks.k1", NULL) ||
                 state_flush(st);
            break;
        case 5: /* a snapshot absorbing a change never flushed */
            rc = set(st, "stages.test", json_pack("{s:s}", "outcome", "FAILED")) ||
                 state_snapshot(st);
            break;
        case 6: rc = set(st, "finished", json_true()) || state_flush(st); break;
        case 7: /* close flushes */
            rc = set(st, "note", json_string("closed"));
            if (!rc && expect)
                json_array_append_new(expect, json_deep_copy(state_root(st)));
            rc = rc || state_close(st);
            st = NULL;
            break;
        }
        if (rc)
            return 10 + k;
        if (expect && k < 7)
            json_array_append_new(expect, json_deep_copy(state_root(st)));
        m[0] = 'd';
        if (fd >= 0 && write(fd, m, 2) != 2)
            return 99;
    }
    return 0;
}

/* For each point: which side of the change in flight a killed process leaves. The kernel keeps
 * what write() handed it when the process dies, so after the journal write or the rename the
 * change is in. */
static const struct {
    const char *name;
    int after;
} life_points[] = {
    {"state.journal.before_write", 0},     {"state.journal.after_write", 1},
    {"state.journal.after_sync", 1},       {"state.snapshot.before_write", 0},
    {"state.snapshot.before_rename", 0},   {"state.snapshot.after_rename", 1},
    {"state.snapshot.before_truncate", 1}, {"state.snapshot.after_truncate", 1},
};

/* Run fn in a child with RELHOST_CRASH_AT=point; the child's reports are read into rep.
 * Returns the wait status. */
static int run_crashing(const char *point, int (*fn)(int fd), unsigned char *rep, size_t *nrep)
{
    int p[2], status;
    pid_t pid;
    ssize_t r;
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    fflush(NULL);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        setenv("RELHOST_CRASH_AT", point, 1);
        _exit(fn(p[1]));
    }
    close(p[1]);
    *nrep = 0;
    while ((r = read(p[0], rep + *nrep, 256 - *nrep)) > 0)
        *nrep += (size_t)r;
    close(p[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return status;
}

static int life_child(int fd) { return life(fd, NULL); }

/* Reopen after a kill: read-only first (it must not need a repair), then writable, which must
 * get the lock the dead process held and carry on from there. */
static void reopen_and_check(json_t *want)
{
    state *st = open_ok(STATE_READONLY);
    json_t *extra;
    assert_null(state_warning(st));
    assert_json_equal(state_root(st), want);
    close_ok(st);

    st = open_ok(STATE_CREATE);
    assert_null(state_warning(st));
    assert_json_equal(state_root(st), want);
    assert_int_equal(set(st, "after_crash", json_true()), 0);
    close_ok(st);
    st = open_ok(0);
    extra = json_deep_copy(want);
    json_object_set_new(extra, "after_crash", json_true());
    json_object_set_new(extra, "seq",
                        json_integer(json_integer_value(json_object_get(want, "seq")) + 1));
    assert_json_equal(state_root(st), extra);
    json_decref(extra);
    close_ok(st);
}

static void test_unit_state_state__a_kill_at_every_crash_point_leaves_the_state_before_or_after(
    void **unused)
{
    json_t *expect = json_array(), *none;
    unsigned char rep[256];
    size_t nrep, kills = 0;
    (void)unused;
    /* The reference run, uninterrupted, gives the root after each op. */
    assert_int_equal(life(-1, expect), 0);
    assert_int_equal(json_array_size(expect), NOPS);
    /* Before op 0 there is no state: a read-only open reads the empty root. */
    none = json_pack("{s:i, s:s, s:i}", "schema", STATE_SCHEMA, "version", V, "seq", 0);

    for (size_t p = 0; p < sizeof life_points / sizeof life_points[0]; p++) {
        for (int nth = 1;; nth++) {
            char point[96];
            int status, started = -1, done = -1;
            json_t *want;
            rm_rf(dir);
            assert_int_equal(mkdir(dir, 0755), 0);
            snprintf(point, sizeof point, "%s:%d", life_points[p].name, nth);
            status = run_crashing(point, life_child, rep, &nrep);
            if (WIFEXITED(status)) {
                /* Ran to the end: the point has nth-1 occurrences, and has at least one. */
                assert_int_equal(WEXITSTATUS(status), 0);
                assert_true(nth > 1);
                break;
            }
            assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
            kills++;
            for (size_t i = 0; i + 1 < nrep; i += 2)
                *(rep[i] == 's' ? &started : &done) = rep[i + 1];
            assert_true(started >= 0 && done == started - 1);
            if (life_points[p].after)
                want = json_array_get(expect, (size_t)started);
            else
                want = started ? json_array_get(expect, (size_t)started - 1) : none;
            reopen_and_check(want);
        }
    }
    /* 5 snapshot points x 3 snapshots (create, op 3, op 5), 3 journal points x 5 flushes. */
    assert_int_equal(kills, 5 * 3 + 3 * 5);
    json_decref(expect);
    json_decref(none);
}

static int recover_child(int fd)
{
    state *st = NULL;
    (void)fd;
    return state_open(dir, V, 0, &st) == 0 ? 0 : 1;
}

static void test_unit_state_state__a_kill_while_cutting_a_torn_tail_keeps_every_flushed_record(
    void **unused)
{
    static const char *const points[] = {"state.recover.before_truncate",
                                         "state.recover.after_truncate"};
    unsigned char rep[256];
    size_t nrep, ends[3];
    (void)unused;
    for (size_t p = 0; p < 2; p++) {
        state *st;
        int status;
        rm_rf(dir);
        assert_int_equal(mkdir(dir, 0755), 0);
        three_records(ends);
        put_file("release_" V ".journal", "\x30\0\0\0garbage", 11, 1);
        status = run_crashing(points[p], recover_child, rep, &nrep);
        assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        assert_int_equal(file_size("release_" V ".journal"), (off_t)(p ? ends[2] : ends[2] + 11));
        st = open_ok(0);
        assert_int_equal(state_warning(st) != NULL, p == 0);
        assert_int_equal(json_integer_value(get(st, "c")), 3);
        assert_int_equal(set(st, "d", json_integer(4)), 0);
        close_ok(st);
        st = open_ok(0);
        assert_null(state_warning(st));
        assert_int_equal(json_integer_value(get(st, "a")), 1);
        assert_int_equal(json_integer_value(get(st, "d")), 4);
        close_ok(st);
    }
}

static void test_unit_state_state__a_kill_during_migration_never_loses_the_original_snapshot(
    void **unused)
{
    static const char *const points[] = {
        "state.backup.before_write",      "state.backup.before_rename",
        "state.backup.after_rename",      "state.snapshot.before_write",
        "state.snapshot.before_rename",   "state.snapshot.after_rename",
        "state.snapshot.before_truncate", "state.snapshot.after_truncate",
    };
    json_t *want = old_state_migrated();
    unsigned char rep[256];
    size_t nrep;
    (void)unused;
    for (size_t p = 0; p < sizeof points / sizeof points[0]; p++) {
        state *st;
        int status;
        size_t ls, lb;
        unsigned char *s, *b;
        rm_rf(dir);
        assert_int_equal(mkdir(dir, 0755), 0);
        write_old_state();
        status = run_crashing(points[p], recover_child, rep, &nrep);
        assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        /* The original bytes are the snapshot still, or the backup already. */
        s = slurp("release_" V ".json", &ls);
        b = slurp("release_" V ".json.v0.bak", &lb);
        assert_true((ls == strlen(old_snap) && memcmp(s, old_snap, ls) == 0) ||
                    (lb == strlen(old_snap) && memcmp(b, old_snap, lb) == 0));
        free(s);
        free(b);
        st = open_ok(STATE_READONLY);
        assert_json_equal(state_root(st), want);
        close_ok(st);
        st = open_ok(0);
        assert_json_equal(state_root(st), want);
        close_ok(st);
        b = slurp("release_" V ".json.v0.bak", &lb);
        assert_int_equal(lb, strlen(old_snap));
        assert_memory_equal(b, old_snap, lb);
        free(b);
    }
    json_decref(want);
}

/* ---- scale and listing --------------------------------------------------------------------- */

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void test_unit_state_state__ten_thousand_changes_append_and_replay_to_the_same_state(
    void **unused)
{
    enum { N = 10000, TICK = 100 };
    state *st = open_ok(STATE_CREATE);
    struct stat snap0, snap1;
    char *snap_path = in_dir("release_" V ".json");
    json_t *want, *frames;
    double t0, t1, t2;
    (void)unused;
    assert_int_equal(stat(snap_path, &snap0), 0);
    t0 = now_ms();
    for (int i = 0; i < N; i++) {
        char key[32];
        snprintf(key, sizeof key, "rh-1.0-v%d-a1", i % 2500);
        {
            const char *path[2] = {"jobs", key};
            assert_int_equal(state_set(st, path, 2,
                                       json_pack("{s:s, s:i, s:f}", "state", "DONE", "exit", i,
                                                 "loss", i * 0.001)),
                             0);
        }
        if (i % TICK == TICK - 1)
            assert_int_equal(state_flush(st), 0);
    }
    t1 = now_ms();
    want = json_deep_copy(state_root(st));
    close_ok(st);
    /* Changes went to the journal only: the snapshot is the one written at creation. */
    assert_int_equal(stat(snap_path, &snap1), 0);
    assert_int_equal(snap1.st_ino, snap0.st_ino);
    assert_int_equal(snap1.st_size, snap0.st_size);
    frames = journal_frames();
    assert_int_equal(json_array_size(frames), N);
    json_decref(frames);

    t2 = now_ms();
    st = open_ok(0);
    assert_json_equal(state_root(st), want);
    print_message("      %d changes in %.1f ms (%.2f us each, flush every %d); replay %.1f ms\n", N,
                  t1 - t0, (t1 - t0) * 1e3 / N, TICK, now_ms() - t2);
    assert_int_equal(state_snapshot(st), 0);
    close_ok(st);
    st = open_ok(0);
    assert_json_equal(state_root(st), want);
    close_ok(st);
    json_decref(want);
    free(snap_path);
}

static void set_mtime(const char *name, time_t t)
{
    char *p = in_dir(name);
    struct timespec ts[2] = {{t, 0}, {t, 0}};
    assert_int_equal(utimensat(AT_FDCWD, p, ts, 0), 0);
    free(p);
}

static void test_unit_state_state__list_orders_releases_newest_first_with_their_finished_flag(
    void **unused)
{
    static const char *const versions[] = {"1.0", "1.1", "2.0-rc.1"};
    state_entry *e;
    size_t n;
    char *missing = in_dir("none");
    (void)unused;
    for (size_t i = 0; i < 3; i++) {
        state *st = NULL;
        assert_int_equal(state_open(dir, versions[i], STATE_CREATE, &st), 0);
        /* 1.0 finished, in the journal only: listing must replay it. */
        if (i == 0)
            assert_int_equal(set(st, "finished", json_true()), 0);
        if (i == 1)
            assert_int_equal(set(st, "finished", json_false()), 0);
        close_ok(st);
    }
    put_file("release_2.0-rc.1.json", "{", 1, 0); /* damaged: listed, not skipped */
    put_file("release_9.9.json.tmp", "{}", 2, 0);
    put_file("release_9.8.json.v0.bak", "{}", 2, 0);
    set_mtime("release_1.0.json", 1000);
    set_mtime("release_1.0.journal", 3000);
    set_mtime("release_1.1.json", 2000);
    set_mtime("release_1.1.journal", 1500);
    set_mtime("release_2.0-rc.1.json", 500);
    set_mtime("release_2.0-rc.1.journal", 500);

    assert_int_equal(state_list(dir, &e, &n), 0);
    assert_int_equal(n, 3);
    assert_string_equal(e[0].version, "1.0");
    assert_int_equal(e[0].finished, 1);
    assert_true(e[0].mtime == 3000);
    assert_int_equal(e[0].error, 0);
    assert_null(e[0].message);
    assert_string_equal(e[1].version, "1.1");
    assert_int_equal(e[1].finished, 0);
    assert_true(e[1].mtime == 2000);
    assert_string_equal(e[2].version, "2.0-rc.1");
    assert_int_equal(e[2].error, RELHOST_EINVAL);
    assert_non_null(strstr(e[2].message, "is not valid JSON"));
    state_list_free(e, n);

    assert_int_equal(state_list(missing, &e, &n), 0);
    assert_int_equal(n, 0);
    state_list_free(e, n);
    free(missing);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(test_unit_state_state__##name, setup, teardown)
        T(set_flush_reopen_gives_the_same_json),
        T(setting_null_deletes_the_key_and_the_delete_survives_reopen),
        T(a_value_shared_with_the_root_is_copied_so_replay_agrees),
        T(flush_appends_one_crc_framed_record_per_change),
        T(seq_grows_by_one_per_change_and_continues_after_reopen),
        T(snapshot_then_more_journal_then_reopen_has_both),
        T(bad_versions_paths_and_readonly_changes_are_refused),
        T(readonly_open_of_a_missing_release_is_empty_and_writes_nothing),
        T(writable_open_without_create_of_a_missing_release_is_not_found),
        T(a_torn_tail_is_cut_with_a_warning_and_earlier_records_kept),
        T(a_crc_mismatch_in_the_last_record_is_cut_as_a_torn_tail),
        T(an_impossible_length_at_the_end_is_cut_as_a_torn_tail),
        T(damage_in_the_middle_is_an_error_and_no_file_changes),
        T(an_intact_record_that_is_no_state_change_is_an_error_not_a_tail),
        T(a_newer_schema_is_refused_and_left_untouched),
        T(an_unparsable_snapshot_is_refused_and_left_untouched),
        T(an_older_schema_is_migrated_and_the_original_kept_as_bak),
        T(migration_refuses_to_overwrite_a_different_backup),
        T(a_lock_held_by_another_process_refuses_open_naming_its_pid),
        T(a_kill_at_every_crash_point_leaves_the_state_before_or_after),
        T(a_kill_while_cutting_a_torn_tail_keeps_every_flushed_record),
        T(a_kill_during_migration_never_loses_the_original_snapshot),
        T(ten_thousand_changes_append_and_replay_to_the_same_state),
        T(list_orders_releases_newest_first_with_their_finished_flag),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
