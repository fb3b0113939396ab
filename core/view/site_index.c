/* SPDX-License-Identifier: MIT */
/* site_index.c - the status page's index of release states (design in site_index.h). */
#include "view/site_index.h"

#include "base/error.h"
#include "base/util.h"
#include "record/record.h"
#include "record/record_codec.h"
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

/* One entry: "V K N RECORD\n" (site_index.h), in the file's bytes or its own. */
typedef struct entry {
    const char *text;                   /* the whole entry, its line end included */
    char *owned;                        /* text, when it is not the file's */
    int gone;                           /* dropped: its version still holds its hash slot */
    size_t len, vlen, klen, roff, rlen; /* lengths of it, V and K; offset and length of RECORD */
} entry;

struct site_index {
    const char *registry_dir, *state_dir;
    char *file;          /* the index file's bytes, which the entries read from point into */
    entry *e;            /* entries, in the file's order, then the ones entered */
    size_t n, cap, live; /* entries (dropped ones included), room, entries not dropped */
    size_t *slots;       /* open-addressing hash of versions: entry index + 1, 0 when empty */
    size_t nslots;       /* a power of two, more than twice n */
    size_t loaded;       /* entries read from the file */
    int dir_fd;          /* the state folder, for the keys; -1 when it cannot be opened */
    int dirty;           /* an entry was added, replaced or dropped */
    char *damage;        /* why the file was not used, or NULL */
};

/* ---- entries ------------------------------------------------------------------------------- */

/* The characters of versions (state file names: record/state.h) and of keys. */
static const char version_chars[] =
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._+-";
static const char key_chars[] = "0123456789abcdef.;-";

/* The length of the run of bytes at s (at most n) that are in set. */
static size_t span(const char *s, size_t n, const char *set)
{
    size_t i = 0;
    while (i < n && s[i] && strchr(set, s[i]))
        i++;
    return i;
}

/* The entry at l (at most avail bytes) into *e: its length, or 0 when it is not one. V and K
 * are of plain characters, N is the decimal length of RECORD (record/record_codec.h). */
static size_t entry_head(const char *l, size_t avail, entry *e)
{
    size_t i, nlen, n = 0;
    memset(e, 0, sizeof *e);
    e->vlen = span(l, avail, version_chars);
    if (e->vlen == 0 || e->vlen >= avail || l[e->vlen] != ' ')
        return 0;
    i = e->vlen + 1;
    e->klen = span(l + i, avail - i, key_chars);
    if (e->klen == 0 || (i += e->klen) >= avail || l[i] != ' ')
        return 0;
    i++;
    nlen = span(l + i, avail - i, "0123456789");
    if (nlen == 0 || nlen > 12 || i + nlen >= avail || l[i + nlen] != ' ')
        return 0;
    for (size_t k = 0; k < nlen; k++)
        n = n * 10 + (size_t)(l[i + k] - '0');
    e->roff = i + nlen + 1;
    if (n >= avail - e->roff || l[e->roff + n] != '\n')
        return 0;
    e->rlen = n;
    e->text = l;
    return e->len = e->roff + n + 1;
}

static size_t hash_of(const char *v, size_t n)
{
    size_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)v[i]) * 16777619u;
    return h;
}

/* The hash slot of version v (vlen bytes): the one holding its entry, or the empty one where
 * it goes. Entries are found by the bytes of their version, dropped ones too. */
static size_t *slot_of(site_index *ix, const char *v, size_t vlen)
{
    size_t i = hash_of(v, vlen) & (ix->nslots - 1);
    for (;; i = (i + 1) & (ix->nslots - 1)) {
        size_t *s = &ix->slots[i];
        const entry *e = *s ? &ix->e[*s - 1] : NULL;
        if (!e || (e->vlen == vlen && memcmp(e->text, v, vlen) == 0))
            return s;
    }
}

/* Room for one more entry and its slot. */
static void grow(site_index *ix)
{
    if (ix->n == ix->cap) {
        ix->cap = ix->cap ? ix->cap * 2 : 64;
        ix->e = xrealloc(ix->e, ix->cap * sizeof *ix->e);
    }
    if (2 * (ix->n + 1) < ix->nslots)
        return;
    free(ix->slots);
    ix->nslots = ix->nslots ? ix->nslots * 2 : 128;
    while (2 * (ix->n + 1) >= ix->nslots)
        ix->nslots *= 2;
    ix->slots = xcalloc(ix->nslots, sizeof *ix->slots);
    for (size_t i = 0; i < ix->n; i++) {
        const entry *e = &ix->e[i];
        *slot_of(ix, e->text, e->vlen) = i + 1;
    }
}

/* The live entry of version, or NULL. */
static entry *find(site_index *ix, const char *version)
{
    size_t *s = ix->nslots ? slot_of(ix, version, strlen(version)) : NULL;
    entry *e = s && *s ? &ix->e[*s - 1] : NULL;
    return e && !e->gone ? e : NULL;
}

static void drop(site_index *ix, entry *e)
{
    e->gone = 1;
    ix->live--;
    ix->dirty = 1;
}

/* ---- reading ------------------------------------------------------------------------------- */

/* The file at path, whole, into *out (NUL-terminated; *len bytes): 0, or -1 with errno. */
static int read_all(const char *path, char **out, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    struct stat sb;
    size_t got = 0, cap;
    char *buf;
    if (fd < 0)
        return -1;
    if (fstat(fd, &sb) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    cap = sb.st_size > 0 ? (size_t)sb.st_size + 1 : 4096;
    buf = xmalloc(cap + 1);
    for (;;) {
        ssize_t n;
        if (got == cap)
            buf = xrealloc(buf, (cap *= 2) + 1);
        if ((n = read(fd, buf + got, cap - got)) == 0)
            break;
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            free(buf);
            close(fd);
            errno = e;
            return -1;
        }
        got += (size_t)n;
    }
    close(fd);
    buf[got] = '\0';
    *out = buf;
    *len = got;
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
    if (json_integer_value(s) < SITE_INDEX_SCHEMA)
        return "it was written by an older relhost";
    if (!json_is_string(dir) || strcmp(json_string_value(dir), ix->state_dir) != 0)
        return "it indexes another state folder";
    if (json_integer_value(json_object_get(h, "bytes")) != (json_int_t)len)
        return "it is cut short or was appended to";
    snprintf(want, sizeof want, "%08" PRIx32, state_crc32(body, len));
    if (!crc || strcmp(crc, want) != 0)
        return "its CRC-32 does not match its content";
    return NULL;
}

/* The entries of the body (len bytes at s), or why it does not hold them. Each entry's record
 * is decoded only when it is used. */
static const char *parse_entries(site_index *ix, const char *s, size_t len)
{
    for (size_t at = 0, n; at < len; at += n) {
        entry e;
        size_t *slot;
        if ((n = entry_head(s + at, len - at, &e)) == 0)
            return "an entry is not a version, a key, a length and a record";
        grow(ix);
        if (*(slot = slot_of(ix, e.text, e.vlen)) != 0)
            return "two entries are of one release";
        ix->e[ix->n++] = e;
        *slot = ix->n;
        ix->live++;
    }
    return NULL;
}

static const char *parse(site_index *ix, const char *s, size_t len)
{
    const char *nl = memchr(s, '\n', len), *bad;
    json_t *h;
    size_t want;
    if (!nl)
        return "it has no header line";
    h = json_loadb(s, (size_t)(nl - s), JSON_REJECT_DUPLICATES, NULL);
    bad = header_bad(ix, h, nl + 1, (size_t)(s + len - nl - 1));
    want = (size_t)json_integer_value(json_object_get(h, "releases"));
    json_decref(h);
    if (bad || (bad = parse_entries(ix, nl + 1, (size_t)(s + len - nl - 1))) != NULL)
        return bad;
    if (ix->live != want)
        return "it holds another number of entries than its header says";
    return NULL;
}

site_index *site_index_open(const char *registry_dir, const char *state_dir)
{
    site_index *ix = xcalloc(1, sizeof *ix);
    char *path = path_join(registry_dir, INDEX_NAME);
    const char *bad;
    size_t len;
    ix->registry_dir = registry_dir;
    ix->state_dir = state_dir;
    ix->dir_fd = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (read_all(path, &ix->file, &len) != 0) {
        if (errno != ENOENT)
            ix->damage = xasprintf("%s cannot be read: %s", path, strerror(errno));
    } else if ((bad = parse(ix, ix->file, len)) != NULL) {
        ix->damage = xasprintf("%s is not used: %s", path, bad);
    }
    if (ix->damage) {
        ix->n = ix->live = 0;
        if (ix->slots)
            memset(ix->slots, 0, ix->nslots * sizeof *ix->slots);
        ix->dirty = 1;
    }
    ix->loaded = ix->live;
    free(path);
    return ix;
}

const char *site_index_damage(const site_index *ix) { return ix->damage; }

void site_index_free(site_index *ix)
{
    if (!ix)
        return;
    for (size_t i = 0; i < ix->n; i++)
        free(ix->e[i].owned);
    free(ix->e);
    free(ix->slots);
    free(ix->file);
    if (ix->dir_fd >= 0)
        close(ix->dir_fd);
    free(ix->damage);
    free(ix);
}

/* ---- keys and entries ---------------------------------------------------------------------- */

/* One file's part of a key: "-" when missing; -1 when it cannot be stat()ed. */
static int file_key(strbuf *k, int dfd, const char *name)
{
    struct stat sb;
    if (fstatat(dfd, name, &sb, AT_SYMLINK_NOFOLLOW) != 0) {
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

char *site_index_key(const site_index *ix, const char *version)
{
    char name[96];
    strbuf k;
    int rc;
    if (ix->dir_fd < 0 || !version[0] || version[0] == '.' || version[0] == '-' ||
        strlen(version) > 64 || version[strspn(version, version_chars)] != '\0')
        return NULL;
    sb_init(&k);
    snprintf(name, sizeof name, "release_%s.json", version);
    rc = file_key(&k, ix->dir_fd, name);
    snprintf(name, sizeof name, "release_%s.journal", version);
    rc |= file_key(&k, ix->dir_fd, name);
    if (rc != 0 || (k.s && strcmp(k.s, "-;-;") == 0)) {
        sb_free(&k);
        return NULL;
    }
    return sb_take(&k);
}

int site_index_lookup(site_index *ix, const char *version, const char *key, release_record *out)
{
    entry *e = find(ix, version);
    if (!e)
        return 0;
    /* the entry of the state files as they are now, whose record decodes: else read them */
    if (key && strlen(key) == e->klen && memcmp(key, e->text + e->vlen + 1, e->klen) == 0 &&
        record_decode(e->text + e->roff, e->rlen, out) == 0)
        return 1;
    drop(ix, e);
    return 0;
}

void site_index_store(site_index *ix, const char *version, const char *key, json_t *root)
{
    json_t *pruned = record_prune_for_view(root);
    release_record rec;
    strbuf rs, line;
    size_t *slot, vlen = strlen(version);
    entry e;
    int rc = record_read(pruned, &rec);
    json_decref(pruned);
    if (rc != 0) {
        error_clear(); /* not an object: no entry, the next page reads the state again */
        return;
    }
    sb_init(&rs);
    record_encode(&rec, &rs);
    record_free(&rec);
    /* version and key are of plain characters (site_index_key() checked) */
    sb_init(&line);
    sb_printf(&line, "%s %s %zu ", version, key, rs.len);
    sb_add(&line, rs.s ? rs.s : "", rs.len);
    sb_putc(&line, '\n');
    sb_free(&rs);
    if (entry_head(line.s, line.len, &e) != line.len) { /* cannot happen: never a bad entry */
        sb_free(&line);
        return;
    }
    e.owned = sb_take(&line);
    e.text = e.owned;
    grow(ix);
    if (*(slot = slot_of(ix, version, vlen)) != 0) {
        entry *old = &ix->e[*slot - 1];
        if (!old->gone)
            drop(ix, old);
        free(old->owned);
        *old = e;
    } else {
        ix->e[ix->n++] = e;
        *slot = ix->n;
    }
    ix->live++;
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
            error_set(RELHOST_EIO,
                      "the registry lock %s stayed busy for %d s; the next `relhost site` "
                      "updates the index",
                      p, LOCK_TRIES / 100);
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
        count += find(ix, versions[i]) != NULL;
    if (!ix->dirty && count == ix->loaded)
        return 0; /* every entry was used as it is, and none is left over */
    if (!fs_exists(ix->registry_dir))
        return 0; /* no registry: no releases to index */
    if ((fd = lock_registry(ix->registry_dir)) < 0)
        return RELHOST_EIO;
    sb_init(&body);
    for (size_t i = 0; i < n; i++) {
        const entry *e = find(ix, versions[i]);
        if (e)
            sb_add(&body, e->text, e->len);
    }
    sb_init(&all);
    {
        char crc[16], *head;
        snprintf(crc, sizeof crc, "%08" PRIx32, state_crc32(body.s ? body.s : "", body.len));
        h = json_pack("{s:i, s:s, s:I, s:I, s:s}", "relhost_site_index", SITE_INDEX_SCHEMA,
                      "state_dir", ix->state_dir, "releases", (json_int_t)count, "bytes",
                      (json_int_t)body.len, "crc32", crc);
        head = h ? json_dumps(h, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        if (head) {
            sb_puts(&all, head);
            sb_putc(&all, '\n');
            sb_add(&all, body.s ? body.s : "", body.len);
        }
        free(head);
    }
    if (!all.len) { /* a state folder whose name is no UTF-8 cannot be named in the header */
        json_decref(h);
        close(fd);
        sb_free(&all);
        sb_free(&body);
        return error_set(RELHOST_EINVAL,
                         "the state folder's name %s is not UTF-8, which the index's header "
                         "cannot hold; rename the folder for a faster page",
                         ix->state_dir);
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
