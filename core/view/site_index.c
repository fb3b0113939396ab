/* SPDX-License-Identifier: MIT */
/* site_index.c - the status page's index of release states (design in site_index.h). */
#include "view/site_index.h"

#include "base/error.h"
#include "base/util.h"
#include "record/state.h"
#include "registry/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define INDEX_NAME "site_index.jsonl"
/* How long a writer waits for the registry's lock (10 ms steps) before it leaves the index. */
#define LOCK_TRIES 200

struct site_index {
    const char *registry_dir, *state_dir;
    json_t *entries; /* version -> {"version", "key", "state"} */
    size_t loaded;   /* entries read from the file */
    int dirty;       /* an entry was added, replaced or dropped */
    char *damage;    /* why the file was not used, or NULL */
};

/* ---- reading ------------------------------------------------------------------------------- */

static int read_all(const char *path, strbuf *out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    char buf[65536];
    ssize_t n;
    if (fd < 0)
        return -1;
    while ((n = read(fd, buf, sizeof buf)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            close(fd);
            return -1;
        }
        sb_add(out, buf, (size_t)n);
    }
    close(fd);
    return 0;
}

/* The header's promise about the body of len bytes at body, or why it does not hold. */
static const char *header_bad(const site_index *ix, json_t *h, const char *body, size_t len)
{
    json_t *s = json_object_get(h, "relhost_site_index"), *dir = json_object_get(h, "state_dir");
    const char *crc = json_string_value(json_object_get(h, "crc32"));
    char want[16];
    if (!json_is_object(h) || !json_is_integer(s) || json_integer_value(s) < 1)
        return "its first line is not an index header";
    if (json_integer_value(s) > SITE_INDEX_SCHEMA)
        return "it was written by a newer relhost";
    if (!json_is_string(dir) || strcmp(json_string_value(dir), ix->state_dir) != 0)
        return "it indexes another state folder";
    if (json_integer_value(json_object_get(h, "bytes")) != (json_int_t)len)
        return "it is cut short or was appended to";
    snprintf(want, sizeof want, "%08" PRIx32, state_crc32(body, len));
    if (!crc || strcmp(crc, want) != 0)
        return "its CRC-32 does not match its content";
    return NULL;
}

/* One entry line, or why it is not one. */
static const char *entry_add(site_index *ix, const char *line, size_t len)
{
    json_t *e = json_loadb(line, len, JSON_REJECT_DUPLICATES, NULL);
    json_t *v = json_object_get(e, "version");
    if (!json_is_string(v) || !json_is_string(json_object_get(e, "key")) ||
        !json_is_object(json_object_get(e, "state")) ||
        json_object_getn(ix->entries, json_string_value(v), json_string_length(v))) {
        json_decref(e);
        return "an entry does not parse or repeats a release";
    }
    json_object_setn_new(ix->entries, json_string_value(v), json_string_length(v), e);
    return NULL;
}

static const char *parse(site_index *ix, const char *s, size_t len)
{
    const char *nl = memchr(s, '\n', len), *bad, *end = s + len;
    json_t *h;
    size_t want;
    if (!nl)
        return "it has no header line";
    h = json_loadb(s, (size_t)(nl - s), JSON_REJECT_DUPLICATES, NULL);
    bad = header_bad(ix, h, nl + 1, (size_t)(end - nl - 1));
    want = (size_t)json_integer_value(json_object_get(h, "releases"));
    json_decref(h);
    if (bad)
        return bad;
    for (const char *p = nl + 1; p < end;) {
        const char *e = memchr(p, '\n', (size_t)(end - p));
        if (!e)
            return "its last entry has no end of line";
        if ((bad = entry_add(ix, p, (size_t)(e - p))) != NULL)
            return bad;
        p = e + 1;
    }
    if (json_object_size(ix->entries) != want)
        return "it holds another number of entries than its header says";
    return NULL;
}

site_index *site_index_open(const char *registry_dir, const char *state_dir)
{
    site_index *ix = xcalloc(1, sizeof *ix);
    char *path = path_join(registry_dir, INDEX_NAME);
    strbuf b;
    const char *bad;
    ix->registry_dir = registry_dir;
    ix->state_dir = state_dir;
    ix->entries = json_object();
    sb_init(&b);
    if (read_all(path, &b) != 0) {
        if (errno != ENOENT)
            ix->damage = xasprintf("%s cannot be read: %s", path, strerror(errno));
    } else if ((bad = parse(ix, b.s ? b.s : "", b.len)) != NULL) {
        ix->damage = xasprintf("%s is not used: %s", path, bad);
    }
    if (ix->damage) {
        json_object_clear(ix->entries);
        ix->dirty = 1;
    }
    ix->loaded = json_object_size(ix->entries);
    sb_free(&b);
    free(path);
    return ix;
}

const char *site_index_damage(const site_index *ix) { return ix->damage; }

void site_index_free(site_index *ix)
{
    if (!ix)
        return;
    json_decref(ix->entries);
    free(ix->damage);
    free(ix);
}

/* ---- keys and entries ---------------------------------------------------------------------- */

/* One file's part of a key: "-" when missing; -1 when it cannot be stat()ed. */
static int file_key(strbuf *k, const char *dir, const char *name)
{
    char *path = path_join(dir, name);
    struct stat sb;
    int rc = lstat(path, &sb);
    free(path);
    if (rc != 0) {
        if (errno != ENOENT)
            return -1;
        sb_puts(k, "-;");
        return 0;
    }
    sb_printf(k, "%jx.%jx.%jd.%jd.%ld.%jd.%ld.%o;", (uintmax_t)sb.st_dev, (uintmax_t)sb.st_ino,
              (intmax_t)sb.st_size, (intmax_t)sb.st_mtim.tv_sec, (long)sb.st_mtim.tv_nsec,
              (intmax_t)sb.st_ctim.tv_sec, (long)sb.st_ctim.tv_nsec, (unsigned)sb.st_mode);
    return 0;
}

char *site_index_key(const char *state_dir, const char *version)
{
    static const char ok[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._+-";
    strbuf k;
    char *snap, *journal;
    int rc;
    if (!version[0] || version[0] == '.' || version[0] == '-' ||
        version[strspn(version, ok)] != '\0')
        return NULL;
    snap = xasprintf("release_%s.json", version);
    journal = xasprintf("release_%s.journal", version);
    sb_init(&k);
    rc = file_key(&k, state_dir, snap) | file_key(&k, state_dir, journal);
    free(snap);
    free(journal);
    if (rc != 0 || (k.s && strcmp(k.s, "-;-;") == 0)) {
        sb_free(&k);
        return NULL;
    }
    return sb_take(&k);
}

int site_index_lookup(site_index *ix, const char *version, const char *key, release_record *out)
{
    json_t *e = json_object_get(ix->entries, version);
    if (!e)
        return 0;
    if (!key || strcmp(json_string_value(json_object_get(e, "key")), key) != 0) {
        json_object_del(ix->entries, version); /* the state moved on: read it again */
        ix->dirty = 1;
        return 0;
    }
    record_read(json_object_get(e, "state"), out);
    return 1;
}

/* Copy of member key of from into to, when from has it. */
static void keep(json_t *to, json_t *from, const char *key)
{
    json_t *v = json_object_get(from, key);
    if (v)
        json_object_set_new(to, key, json_deep_copy(v));
}

/* A job record as the page reads it: its step and validation, its evidence's metrics and
 * checks (the values of the trend plots and the check tables). */
static json_t *prune_job(json_t *packed)
{
    json_t *j = state_job_value(packed), *o = json_object(), *ev, *pev;
    if (!j)
        return o;
    keep(o, j, "step");
    keep(o, j, "validation");
    if ((ev = json_object_get(j, "evidence")) != NULL && json_is_object(ev)) {
        pev = json_object();
        keep(pev, ev, "metrics");
        keep(pev, ev, "checks");
        json_object_set_new(o, "evidence", pev);
    } else if (ev) {
        json_object_set_new(o, "evidence", json_deep_copy(ev));
    }
    json_decref(j);
    return o;
}

json_t *site_index_prune(json_t *root)
{
    static const char *const members[] = {"schema",    "version", "seq", "finished",
                                          "exit_code", "steps",   NULL};
    json_t *o = json_object(), *jobs = json_object_get(root, "jobs"), *v;
    const char *id;
    for (size_t i = 0; members[i]; i++)
        keep(o, root, members[i]);
    if (json_is_object(jobs)) {
        json_t *pj = json_object();
        json_object_foreach(jobs, id, v) json_object_set_new(pj, id, prune_job(v));
        json_object_set_new(o, "jobs", pj);
    } else if (jobs) {
        json_object_set_new(o, "jobs", json_deep_copy(jobs));
    }
    return o;
}

void site_index_store(site_index *ix, const char *version, const char *key, json_t *root)
{
    json_t *e = json_object();
    json_object_set_new(e, "version", json_string(version));
    json_object_set_new(e, "key", json_string(key));
    json_object_set_new(e, "state", site_index_prune(root));
    json_object_set_new(ix->entries, version, e);
    ix->dirty = 1;
}

/* ---- writing ------------------------------------------------------------------------------- */

/* The registry's lock, as registry operations take it (core/registry/registry.c): its fd, or
 * -1 with the error set when it stays busy or cannot be opened. */
static int lock_registry(const char *dir)
{
    char *p = path_join(dir, ".lock");
    int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644), tries = 0;
    if (fd < 0) {
        error_set(RELHOST_EIO, "cannot open %s: %s", p, strerror(errno));
        free(p);
        return -1;
    }
    while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno != EWOULDBLOCK || ++tries >= LOCK_TRIES) {
            error_set(RELHOST_EIO, "the registry lock %s stayed busy", p);
            close(fd);
            free(p);
            return -1;
        }
        usleep(10000);
    }
    free(p);
    return fd;
}

int site_index_save(site_index *ix, const char *const *versions, size_t n)
{
    strbuf body, all;
    size_t count = 0;
    char *path;
    int fd, rc;
    json_t *h;
    for (size_t i = 0; i < n; i++)
        count += json_object_get(ix->entries, versions[i]) != NULL;
    if (!ix->dirty && count == ix->loaded)
        return 0; /* every entry was used as it is, and none is left over */
    if (!fs_exists(ix->registry_dir))
        return 0; /* no registry: no releases to index */
    if ((fd = lock_registry(ix->registry_dir)) < 0)
        return RELHOST_EIO;
    sb_init(&body);
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_object_get(ix->entries, versions[i]);
        char *line = e ? json_dumps(e, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        if (!line)
            continue;
        sb_puts(&body, line);
        sb_putc(&body, '\n');
        free(line);
    }
    h = json_pack("{s:i, s:s, s:I, s:I, s:s}", "relhost_site_index", SITE_INDEX_SCHEMA, "state_dir",
                  ix->state_dir, "releases", (json_int_t)count, "bytes", (json_int_t)body.len,
                  "crc32", "");
    {
        char crc[16], *head;
        snprintf(crc, sizeof crc, "%08" PRIx32, state_crc32(body.s ? body.s : "", body.len));
        json_object_set_new(h, "crc32", json_string(crc));
        head = json_dumps(h, JSON_COMPACT | JSON_SORT_KEYS);
        sb_init(&all);
        sb_puts(&all, head);
        sb_putc(&all, '\n');
        sb_add(&all, body.s ? body.s : "", body.len);
        free(head);
    }
    json_decref(h);
    path = path_join(ix->registry_dir, INDEX_NAME);
    rc = fs_write_atomic(path, all.s, all.len);
    close(fd);
    free(path);
    sb_free(&all);
    sb_free(&body);
    return rc;
}
