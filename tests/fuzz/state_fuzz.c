/* SPDX-License-Identifier: MIT */
/*
 * state_fuzz - a libFuzzer harness for the state store's recovery: core/record/state.h
 * state_open() of a folder holding any snapshot bytes and any journal bytes, read-only and
 * writable, then core/record/record.h record_read() of the root.
 *
 * Oracle: no crash, leak or sanitizer report; every refusal says why (error_last()); a read-only
 * open never changes a file, and a refused writable open leaves the snapshot and the journal
 * byte-identical (state.h: "no file is modified"); whatever a writable open accepted (a torn tail
 * cut, an older schema migrated) reads back, read-only, as the same root; state.h's own keys
 * (schema, version, seq) are always in an opened root.
 *
 * Input layout (see README.md):
 *   byte 0       bit 0: no snapshot file; bit 1: no journal file; bit 2: a change is set and
 *                flushed after the writable open
 *   bytes 1-2    little-endian length of the snapshot (cut to what is left)
 *   then         the snapshot (release_1.0.json), then the journal (release_1.0.journal)
 */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "fuzz_util.h"
#include "record/record.h"
#include "record/state.h"

#define VERSION "1.0"

static const char *dir;
static char *snap_path, *jour_path;

/* The file is what we wrote (absent when we wrote none). */
static void same_file(const char *path, int present, const uint8_t *want, size_t n,
                      const char *after)
{
    size_t got_n = 0;
    uint8_t *got = fuzz_read_file(path, &got_n);
    if (!present) {
        if (got != NULL)
            fuzz_die("%s: %s created it", path, after);
        return;
    }
    if (got == NULL)
        fuzz_die("%s: %s removed it", path, after);
    if (got_n != n || (n && memcmp(got, want, n) != 0))
        fuzz_die("%s: %s changed it (%zu bytes, was %zu)", path, after, got_n, n);
    free(got);
}

static void has_store_keys(state *st, const char *how)
{
    json_t *root = state_root(st);
    if (!json_is_object(root))
        fuzz_die("%s: the root is not an object", how);
    if (!json_is_integer(json_object_get(root, "seq")) || json_object_get(root, "schema") == NULL ||
        !json_is_string(json_object_get(root, "version")))
        fuzz_die("%s: the root lacks schema, version or seq", how);
    release_record rec;
    if (record_read(root, &rec) != 0)
        fuzz_die("%s: record_read refused an object root: %s", how, error_last());
    record_free(&rec);
}

/* A copy of a root with its job records unpacked: the store keeps them packed in memory as
 * their compact text (state.h state_job_value), whose member order may differ after a reopen
 * while the records are the same. */
static json_t *as_records(json_t *v)
{
    json_t *c = json_deep_copy(v), *jobs = json_object_get(c, "jobs"), *rec;
    const char *id;
    void *tmp;
    if (json_is_object(jobs))
        json_object_foreach_safe(jobs, tmp, id, rec)
        {
            json_t *u = state_job_value(rec);
            if (u)
                json_object_set_new(jobs, id, u);
        }
    return c;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (dir == NULL) {
        dir = fuzz_tmpdir("state");
        snap_path = fuzz_path(dir, "release_" VERSION ".json");
        jour_path = fuzz_path(dir, "release_" VERSION ".journal");
    }
    unsigned flags = size > 0 ? data[0] : 0;
    size_t snap_n = size >= 3 ? (size_t)data[1] | (size_t)data[2] << 8 : 0;
    const uint8_t *rest = size >= 3 ? data + 3 : data + size;
    size_t rest_n = size >= 3 ? size - 3 : 0;
    if (snap_n > rest_n)
        snap_n = rest_n;
    const uint8_t *snap = rest, *jour = rest + snap_n;
    size_t jour_n = rest_n - snap_n;
    int has_snap = !(flags & 1), has_jour = !(flags & 2);

    fuzz_empty_dir(dir);
    if (has_snap)
        fuzz_write_file(snap_path, snap, snap_n);
    if (has_jour)
        fuzz_write_file(jour_path, jour, jour_n);

    /* Read-only, as --check and status read it: never a change on disk. */
    state *st = NULL;
    error_clear();
    int rc = state_open(dir, VERSION, STATE_READONLY, &st);
    if (rc != 0) {
        if (st != NULL || rc > 0 || error_last()[0] == '\0')
            fuzz_die("read-only open: %d, store %p, message \"%s\"", rc, (void *)st, error_last());
    } else {
        has_store_keys(st, "read-only open");
        state_close(st);
    }
    same_file(snap_path, has_snap, snap, snap_n, "a read-only open");
    same_file(jour_path, has_jour, jour, jour_n, "a read-only open");

    /* Writable, as a resume opens it. */
    st = NULL;
    error_clear();
    rc = state_open(dir, VERSION, 0, &st);
    if (rc != 0) {
        if (st != NULL || rc > 0 || error_last()[0] == '\0')
            fuzz_die("writable open: %d, store %p, message \"%s\"", rc, (void *)st, error_last());
        same_file(snap_path, has_snap, snap, snap_n, "a refused writable open");
        same_file(jour_path, has_jour, jour, jour_n, "a refused writable open");
        return 0;
    }
    has_store_keys(st, "writable open");
    if (flags & 4) {
        const char *path[] = {"fuzz", "note"};
        if (state_set(st, path, 2, json_string("x")) != 0)
            fuzz_die("state_set on an opened store: %s", error_last());
        if (state_flush(st) != 0)
            fuzz_die("state_flush: %s", error_last());
    }
    json_t *before = json_deep_copy(state_root(st));
    if (state_close(st) != 0)
        fuzz_die("state_close: %s", error_last());

    /* What the writable open kept (and cut, migrated or added) reads back the same. */
    st = NULL;
    rc = state_open(dir, VERSION, STATE_READONLY, &st);
    if (rc != 0)
        fuzz_die("the state a writable open accepted no longer opens: %s", error_last());
    json_t *after = as_records(state_root(st));
    json_t *was = as_records(before);
    if (!json_equal(was, after)) {
        char *a = json_dumps(was, JSON_SORT_KEYS | JSON_COMPACT);
        char *b = json_dumps(after, JSON_SORT_KEYS | JSON_COMPACT);
        fuzz_die("reopened root differs:\n before %s\n after  %s", a ? a : "?", b ? b : "?");
    }
    json_decref(after);
    json_decref(was);
    json_decref(before);
    state_close(st);
    return 0;
}
