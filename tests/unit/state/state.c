/* SPDX-License-Identifier: MIT */
/* tests/unit/state/state.c - the release state store: journal framing and replay, torn tails
 * against damage in the middle, schema migration and refusal, the flock, listing, and a kill at
 * every crash point (a forked child with RELHOST_CRASH_AT) leaving state a reopen recovers to
 * exactly the value before or after the change in flight.
 * This file holds basic behaviour, recovery, schema and the lock, and main; state_crash.c crash
 * safety, scale and listing; helpers and fixtures are in state_common.c. */

#include "state_common.h"

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

/* state_write(): the changes reach the journal (a relhost killed right after loses none of them)
 * while still counted as not durable; the next state_flush() only syncs them. */
static void test_unit_state_state__written_changes_survive_a_kill_and_flush_only_syncs_them(
    void **unused)
{
    pid_t pid;
    int status;
    state *st;
    (void)unused;
    close_ok(open_ok(STATE_CREATE));
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        state *c = NULL;
        if (state_open(dir, V, 0, &c) != 0 || set(c, "tasks.a", json_string("running")) != 0 ||
            state_write(c) != 0)
            _exit(2);
        _exit(state_pending(c) > 0 && state_unwritten(c) == 0 ? 0 : 3); /* no close, no flush */
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    st = open_ok(0);
    assert_string_equal(json_string_value(get(st, "tasks.a")), "running");
    assert_int_equal(set(st, "tasks.b", json_string("done")), 0);
    assert_int_equal(state_unwritten(st), state_pending(st));
    assert_int_equal(state_write(st), 0);
    {
        off_t written = file_size("release_" V ".journal");
        assert_int_equal(state_unwritten(st), 0);
        assert_true(state_pending(st) > 0);
        assert_int_equal(state_flush(st), 0);
        assert_int_equal(state_pending(st), 0);
        assert_int_equal(file_size("release_" V ".journal"), written); /* synced only */
    }
    close_ok(st);
    st = open_ok(0);
    assert_string_equal(json_string_value(get(st, "tasks.b")), "done");
    close_ok(st);
}

/* Records a crash would append, prepared before other changes and renumbered after them, are
 * byte for byte what a fresh prepare gives (seq of 1 and of 2 digits alike). */
static void prepare_two(state *st, state_emergency *em)
{
    const char *p1[] = {"steps", "s", "outcome"}, *p2[] = {"steps", "s", "message"};
    const char *const *paths[] = {p1, p2};
    size_t depths[] = {3, 3};
    json_t *values[] = {json_string("ERROR"), json_string("plugin x crashed \"here\", 1,2")};
    assert_int_equal(state_emergency_prepare(st, em, paths, depths, values, 2), 0);
}

static void test_unit_state_state__renumbered_crash_records_equal_freshly_prepared_ones(
    void **unused)
{
    state *st = open_ok(STATE_CREATE);
    state_emergency a, b;
    (void)unused;
    memset(&a, 0, sizeof a);
    assert_int_equal(state_emergency_reseq(st, &a), -1); /* nothing prepared */
    prepare_two(st, &a);
    assert_int_equal(state_emergency_reseq(st, &a), 0); /* nothing changed since */
    for (int i = 0; i < 12; i++) {
        char key[32];
        snprintf(key, sizeof key, "tasks.k%d", i);
        assert_int_equal(set(st, key, json_integer(i)), 0);
        assert_int_equal(state_emergency_reseq(st, &a), 0);
        prepare_two(st, &b);
        assert_int_equal(a.first_seq, b.first_seq);
        assert_int_equal(a.len, b.len);
        assert_memory_equal(a.buf, b.buf, a.len);
    }
    a.buf[9] = 'X'; /* no longer a record that starts with its seq */
    assert_int_equal(set(st, "tasks.last", json_true()), 0);
    assert_int_equal(state_emergency_reseq(st, &a), -1);
    close_ok(st);
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
        T(a_failed_fdatasync_breaks_the_store_and_refuses_every_later_save),
        T(a_snapshot_of_packed_records_is_the_dump_of_the_records),
        T(a_finished_job_record_costs_its_text_not_a_tree),
        T(written_changes_survive_a_kill_and_flush_only_syncs_them),
        T(renumbered_crash_records_equal_freshly_prepared_ones),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
