/* SPDX-License-Identifier: MIT */
/* tests/unit/state/state_crash.c - the state cases on crash safety (a kill at every crash point,
 * while cutting a torn tail, during migration), scale, and listing; main and fixtures in state.c
 * and state_common.c. */

#include "state_common.h"

#include "record/state_int.h"

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

void test_unit_state_state__a_kill_at_every_crash_point_leaves_the_state_before_or_after(
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

void test_unit_state_state__a_kill_while_cutting_a_torn_tail_keeps_every_flushed_record(
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

void test_unit_state_state__a_kill_during_migration_never_loses_the_original_snapshot(void **unused)
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

void test_unit_state_state__ten_thousand_changes_append_and_replay_to_the_same_state(void **unused)
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

void test_unit_state_state__list_orders_releases_newest_first_with_their_finished_flag(
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

static char *broken_why;
static void on_broken(const char *why)
{
    free(broken_why);
    broken_why = xstrdup(why);
}

/* A journal whose fdatasync fails (here: a device that cannot sync) breaks the store for good:
 * the flush says so naming the journal, the run's hook is told (the run stops: exit 75), and no
 * later change or save is accepted, so nothing is reported as stored that was not. */
void test_unit_state_state__a_failed_fdatasync_breaks_the_store_and_refuses_every_later_save(
    void **unused)
{
    state *st = open_ok(STATE_CREATE);
    int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
    (void)unused;
    assert_true(null >= 0);
    state_on_broken(on_broken);
    assert_int_equal(set(st, "jobs.s/v.outcome", json_string("PASSED")), 0);
    assert_true(dup2(null, st->journal_fd) == st->journal_fd); /* writes pass, syncs fail */
    close(null);
    assert_int_equal(state_flush(st), RELHOST_EIO);
    assert_error_contains("cannot fdatasync state journal");
    assert_non_null(broken_why);
    assert_non_null(strstr(broken_why, "can no longer be saved safely"));
    assert_int_equal(set(st, "jobs.s/w.outcome", json_string("PASSED")), RELHOST_EIO);
    assert_int_equal(state_flush(st), RELHOST_EIO);
    assert_int_equal(state_snapshot(st), RELHOST_EIO);
    state_on_broken(NULL);
    free(broken_why);
    broken_why = NULL;
    assert_int_equal(state_close(st), RELHOST_EIO);
}
