/* SPDX-License-Identifier: MIT */
/* tests/unit/state/state_common.c - the state tests' per-test folder and fixtures, file and
 * journal-frame helpers, JSON get/set by dotted path, and the schema-0 state the migration cases
 * start from. */

#include "state_common.h"

char *dir; /* a fresh folder per test, removed by teardown */

/* ---- helpers ------------------------------------------------------------------------------ */

static int rm_one(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
    (void)sb;
    (void)type;
    (void)ftw;
    return remove(path);
}

void rm_rf(const char *path) { nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS); }

int setup(void **unused)
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

int teardown(void **unused)
{
    (void)unused;
    rm_rf(dir);
    free(dir);
    dir = NULL;
    return 0;
}

char *in_dir(const char *name) { return xasprintf("%s/%s", dir, name); }

/* The bytes of dir/name; NULL (and *len 0) when it does not exist. */
unsigned char *slurp(const char *name, size_t *len)
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

void put_file(const char *name, const void *data, size_t len, int append)
{
    char *p = in_dir(name);
    int fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC), 0644);
    free(p);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    assert_int_equal(close(fd), 0);
}

int exists(const char *name)
{
    char *p = in_dir(name);
    int r = access(p, F_OK) == 0;
    free(p);
    return r;
}

off_t file_size(const char *name)
{
    char *p = in_dir(name);
    struct stat sb;
    int r = stat(p, &sb);
    free(p);
    return r == 0 ? sb.st_size : -1;
}

/* The reference CRC: bit by bit, independent of the store's table. */
uint32_t crc_bitwise(const unsigned char *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1)));
    }
    return ~c;
}

uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* A framed record as the store should write it, for journals written by hand. */
void append_frame(const char *name, const char *payload)
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
json_t *journal_frames(void)
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
int set(state *st, const char *dotted, json_t *v)
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

json_t *get(state *st, const char *dotted)
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

/* A copy of a root with its job records unpacked (the store keeps them packed in memory:
 * state.h state_job_value), so that roots compare as the records they hold. */
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

void assert_json_equal(json_t *got_root, json_t *want_root)
{
    json_t *got = as_records(got_root), *want = as_records(want_root);
    int same = json_equal(got, want);
    json_decref(got);
    json_decref(want);
    got = got_root;
    want = want_root;
    if (!same) {
        char *g = json_dumps(got, JSON_SORT_KEYS | JSON_ENCODE_ANY);
        char *w = json_dumps(want, JSON_SORT_KEYS | JSON_ENCODE_ANY);
        print_error("JSON differs\n  got:  %s\n  want: %s\n", g ? g : "NULL", w ? w : "NULL");
        free(g);
        free(w);
        fail();
    }
}

state *open_ok(int flags)
{
    state *st = NULL;
    int rc = state_open(dir, V, flags, &st);
    if (rc)
        print_error("state_open: %d %s\n", rc, error_last());
    assert_int_equal(rc, 0);
    assert_non_null(st);
    return st;
}

void close_ok(state *st) { assert_int_equal(state_close(st), 0); }

void assert_error_contains(const char *needle)
{
    if (!strstr(error_last(), needle)) {
        print_error("error \"%s\" lacks \"%s\"\n", error_last(), needle);
        fail();
    }
}

/* Three flushed changes a=1, b=2, c=3, each its own record; returns the journal length after
 * each record in ends[]. */
void three_records(size_t ends[3])
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

/* Schema 0: no "schema", "seq" or "version"; a journal record written by the old relhost. */
const char old_snap[] = "{\"steps\": {\"build\": {\"outcome\": \"PASSED\"}}}\n";

void write_old_state(void)
{
    put_file("release_" V ".json", old_snap, strlen(old_snap), 0);
    append_frame("release_" V ".journal",
                 "{\"seq\":1,\"path\":[\"steps\",\"test\"],\"value\":{\"outcome\":\"FAILED\"}}");
}

json_t *old_state_migrated(void)
{
    return json_pack("{s:i, s:s, s:i, s:{s:{s:s}, s:{s:s}}}", "schema", 1, "version", V, "seq", 1,
                     "steps", "build", "outcome", "PASSED", "test", "outcome", "FAILED");
}
