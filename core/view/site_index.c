/* SPDX-License-Identifier: MIT */
/* site_index.c - the status page's index of release states (design in site_index.h). */
#include "view/site_index.h"

#include "base/error.h"
#include "base/jarena.h"
#include "base/util.h"
#include "record/record.h"
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
    json_t *entries; /* version -> its entry line ["V","K",{state}], a JSON string */
    size_t loaded;   /* entries read from the file */
    int dir_fd;      /* the state folder, for the keys; -1 when it cannot be opened */
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

/* The characters of versions (state file names: record/state.h) and of keys. */
static const char version_chars[] =
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._+-";
static const char key_chars[] = "0123456789abcdef.;-";

/* An entry line ["V","K",{state}]: *vlen, the key at *k (*klen bytes), the state's offset
 * *soff (it ends before the closing bracket); 0, or -1 when the line is not one. V and K hold
 * plain characters only, so their JSON strings are their bytes. */
static int entry_head(const char *l, size_t len, size_t *vlen, const char **k, size_t *klen,
                      size_t *soff)
{
    size_t i;
    if (len < 8 || memcmp(l, "[\"", 2) != 0 || l[len - 1] != ']')
        return -1;
    for (i = 2; i < len && l[i] && strchr(version_chars, l[i]); i++)
        ;
    *vlen = i - 2;
    if (*vlen == 0 || len - i < 4 || memcmp(l + i, "\",\"", 3) != 0)
        return -1;
    *k = l + i + 3;
    for (i += 3; i < len && l[i] && strchr(key_chars, l[i]); i++)
        ;
    *klen = (size_t)(l + i - *k);
    if (len - i < 3 || memcmp(l + i, "\",{", 3) != 0)
        return -1;
    *soff = i + 2;
    return 0;
}

/* One entry line, or why it is not one. Its state is parsed only when it is used. */
static const char *entry_add(site_index *ix, const char *line, size_t len)
{
    size_t vlen, klen, soff;
    const char *k;
    if (entry_head(line, len, &vlen, &k, &klen, &soff) != 0)
        return "an entry is not [version, key, state]";
    if (json_object_getn(ix->entries, line + 2, vlen))
        return "two entries are of one release";
    json_object_setn_new(ix->entries, line + 2, vlen, json_stringn_nocheck(line, len));
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
    ix->dir_fd = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
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
    json_t *e = json_object_get(ix->entries, version), *st = NULL;
    const char *line = json_string_value(e), *k;
    size_t vlen, klen, soff, len = json_string_length(e);
    if (!e)
        return 0;
    /* the entry of the state files as they are now, whose state parses: else read them
     * (json_is_object() evaluates its argument twice: the parse is its own statement) */
    if (key && entry_head(line, len, &vlen, &k, &klen, &soff) == 0 && strlen(key) == klen &&
        memcmp(key, k, klen) == 0) {
        /* parsed, read and freed here: each entry in the same warm region (base/jarena.h) */
        int arena = jarena_begin();
        st = json_loadb(line + soff, len - soff - 1, 0, NULL);
        if (arena)
            jarena_end();
    }
    if (!json_is_object(st)) {
        json_decref(st);
        json_object_del(ix->entries, version);
        ix->dirty = 1;
        return 0;
    }
    record_read(st, out);
    json_decref(st);
    return 1;
}

void site_index_store(site_index *ix, const char *version, const char *key, json_t *root)
{
    json_t *pruned = record_prune_for_view(root);
    char *text = json_dumps(pruned, JSON_COMPACT | JSON_SORT_KEYS);
    char *line;
    json_decref(pruned);
    if (!text)
        return; /* out of memory: no entry, the next page reads the state again */
    /* version and key are of plain characters (site_index_key() checked) */
    line = xasprintf("[\"%s\",\"%s\",%s]", version, key, text);
    json_object_set_new(ix->entries, version, json_string_nocheck(line));
    free(text);
    free(line);
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
        if (!e)
            continue;
        sb_add(&body, json_string_value(e), json_string_length(e));
        sb_putc(&body, '\n');
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
