/* SPDX-License-Identifier: MIT */
/* tests/unit/state/state_pack.c - job records kept packed in memory (state.h state_job_value):
 * the snapshot holds the same bytes as the unpacked root's dump, records read back whole after
 * a reopen and a change below one, and a finished job's record costs memory in proportion to
 * its text, not a tree of it (issue 18: at most 2 KiB retained per finished job). */
#include "state_common.h"

#include <malloc.h>

/* A job record as the job layer writes it (bench/orchestrate's `true` validation). */
static json_t *job_record(int i)
{
    char id[32], log[96], key[48];
    snprintf(id, sizeof id, "v%d", i);
    snprintf(log, sizeof log, "/tmp/relhost-bench/logs/bench/v%d.log", i);
    snprintf(key, sizeof key, "rh-bench-v%d-a1", i);
    return json_pack(
        "{s:s, s:[s], s:i, s:f, s:s, s:{s:[{s:s, s:n, s:s}], s:[], s:{}, s:{}, s:[]}, s:i, s:s, "
        "s:s, s:s, s:s, s:s, s:n, s:i, s:b, s:s, s:s, s:s, s:s, s:n, s:s}",
        "accept_hash", "44bd24d473ccebb4", "argv", "true", "attempt", 1, "duration_s",
        0.038649320602 + i, "ended_at", "2026-12-06T23:10:59Z", "evidence", "artifacts", "kind",
        "log", "sha256", "uri", log, "checks", "labels", "metrics", "notes", "exit_code", 0,
        "external_id", key, "key", key, "lifecycle", "completed", "log_path", log, "outcome",
        "PASSED", "reason", "restarts", 0, "retryable", 0, "runner", "local", "spec_hash",
        "e0689e10cdc228fc", "started_at", "2026-12-06T23:10:59Z", "step", "bench",
        "termination_reason", "validation", id);
}

static int set_job(state *st, const char *id, json_t *v)
{
    const char *path[2] = {"jobs", id};
    return state_set(st, path, 2, v);
}

/* The root with every job record unpacked, dumped as the snapshot is. */
static char *unpacked_dump(state *st)
{
    json_t *c = json_deep_copy(state_root(st)), *jobs = json_object_get(c, "jobs"), *v;
    const char *id;
    void *tmp;
    char *text;
    json_object_foreach_safe(jobs, tmp, id, v)
    {
        json_t *u = state_job_value(v);
        if (u)
            json_object_set_new(jobs, id, u);
    }
    text = json_dumps(c, JSON_INDENT(2) | JSON_SORT_KEYS);
    json_decref(c);
    return text;
}

void test_unit_state_state__a_snapshot_of_packed_records_is_the_dump_of_the_records(void **unused)
{
    state *st = open_ok(STATE_CREATE);
    json_t *odd = json_pack("{s:s, s:{s:{s:{s:f}}}, s:{s:[i, {}, []]}, s:[], s:{}, s:s, s:n}",
                            "step", "s\xc3\xa9", "evidence", "metrics", "loss", "value", 0.1,
                            "extra", "x", 1, "empty", "obj", "quote", "a \"b\"\n\tc/\\", "none");
    const char *deep[4] = {"jobs", "s/odd", "evidence", "labels"};
    const char *stop[3] = {"jobs", "s/odd", "orphan_stopped"};
    unsigned char *disk;
    size_t len;
    char *want;
    json_t *rec;
    (void)unused;
    for (int i = 0; i < 20; i++) {
        char id[16];
        snprintf(id, sizeof id, "bench/v%d", i);
        assert_int_equal(set_job(st, id, job_record(i)), 0);
    }
    assert_int_equal(set_job(st, "s/odd", odd), 0);
    assert_int_equal(set_job(st, "s/text", json_string("not a record")), 0);
    /* a change below a packed record, then one creating a record by its member */
    assert_int_equal(state_set(st, deep, 4, json_pack("{s:s}", "k", "v")), 0);
    assert_int_equal(state_set(st, stop, 3, json_integer(12)), 0);
    assert_int_equal(set(st, "steps.s.outcome", json_string("PASSED")), 0);
    assert_int_equal(state_snapshot(st), 0);
    want = unpacked_dump(st);
    disk = slurp("release_" V ".json", &len);
    assert_non_null(disk);
    assert_int_equal(len, strlen(want) + 1);
    assert_memory_equal(disk, want, len - 1);
    assert_int_equal(disk[len - 1], '\n');
    free(disk);
    free(want);

    rec = state_job_value(json_object_get(json_object_get(state_root(st), "jobs"), "s/odd"));
    assert_non_null(rec);
    assert_int_equal(json_integer_value(json_object_get(rec, "orphan_stopped")), 12);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_object_get(rec, "evidence"), "labels"), "k")),
                        "v");
    json_decref(rec);
    assert_int_equal(set_job(st, "s/text", NULL), 0); /* a state holding it is refused */
    close_ok(st);

    /* reopened (snapshot, then a journal on top): the same records */
    st = open_ok(0);
    assert_int_equal(set(st, "jobs.bench/v3.reason", json_string("again")), 0);
    close_ok(st);
    st = open_ok(STATE_READONLY);
    rec = state_job_value(json_object_get(json_object_get(state_root(st), "jobs"), "bench/v3"));
    assert_non_null(rec);
    assert_string_equal(json_string_value(json_object_get(rec, "reason")), "again");
    assert_string_equal(json_string_value(json_object_get(rec, "key")), "rh-bench-v3-a1");
    json_decref(rec);
    close_ok(st);
}

void test_unit_state_state__a_finished_job_record_costs_its_text_not_a_tree(void **unused)
{
    enum { N = 4000 };
    state *st;
    struct mallinfo2 m0, m1;
    size_t per;
    (void)unused;
#if defined(__SANITIZE_ADDRESS__)
    skip(); /* the sanitizer's allocator keeps its own books */
#endif
    st = open_ok(STATE_CREATE);
    m0 = mallinfo2();
    for (int i = 0; i < N; i++) {
        char id[16];
        snprintf(id, sizeof id, "bench/v%d", i);
        assert_int_equal(set_job(st, id, job_record(i)), 0);
        if (i % 100 == 99)
            assert_int_equal(state_flush(st), 0);
    }
    assert_int_equal(state_flush(st), 0);
    m1 = mallinfo2();
    per = (m1.uordblks - m0.uordblks) / N;
    /* The record's text is about 650 bytes; its tree was about 7 KiB. */
    if (per > 1536)
        fail_msg("%zu bytes of heap kept per job record (at most 1536)", per);
    close_ok(st);
}
