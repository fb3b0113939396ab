/* SPDX-License-Identifier: MIT */
/*
 * state_list.c - state_list(): the releases with state in a folder, each read with a read-only
 * open. Design in state.h.
 */
#include "record/state.h"
#include "record/state_int.h"

#include "base/error.h"
#include "base/log.h"
#include "base/util.h"
#include "plan/keycheck.h"

#include <relhost/plugin.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* ---- listing --------------------------------------------------------------------------------- */

static int entry_cmp(const void *a, const void *b)
{
    const state_entry *x = a, *y = b;
    if (x->mtime != y->mtime)
        return x->mtime < y->mtime ? 1 : -1;
    return -strcmp(x->version, y->version);
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static double file_mtime(int dfd, const char *name)
{
    struct stat sb;
    if (fstatat(dfd, name, &sb, 0) != 0)
        return 0;
    return (double)sb.st_mtim.tv_sec + (double)sb.st_mtim.tv_nsec / 1e9;
}

int state_list(const char *dir, state_entry **out, size_t *n)
{
    static const char *const suffixes[] = {".json", ".journal"};
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), ddup = -1;
    DIR *d;
    strvec names = {0};
    state_entry *e;
    size_t k = 0;
    struct dirent *de;
    *out = NULL;
    *n = 0;
    if (dfd < 0 && errno == ENOENT)
        return 0;
    /* fdopendir owns the fd it is given; dfd stays ours for the fstatat() calls below. */
    if (dfd < 0 || (ddup = fcntl(dfd, F_DUPFD_CLOEXEC, 0)) < 0 || !(d = fdopendir(ddup))) {
        int e0 = errno;
        if (ddup >= 0)
            close(ddup);
        if (dfd >= 0)
            close(dfd);
        return error_set(RELHOST_EIO, "cannot list state folder %s: %s", dir, strerror(e0));
    }
    while ((de = readdir(d))) {
        size_t len = strlen(de->d_name);
        if (strncmp(de->d_name, "release_", 8) != 0)
            continue;
        for (size_t i = 0; i < 2; i++) {
            size_t sl = strlen(suffixes[i]);
            char *v;
            if (len <= 8 + sl || strcmp(de->d_name + len - sl, suffixes[i]) != 0)
                continue;
            v = xstrndup(de->d_name + 8, len - 8 - sl);
            if (state_version_ok(v))
                sv_push_take(&names, v);
            else
                free(v);
        }
    }
    closedir(d);
    if (names.n)
        qsort(names.v, names.n, sizeof *names.v, str_cmp);
    e = xcalloc(names.n ? names.n : 1, sizeof *e);
    for (size_t i = 0; i < names.n; i++) {
        state *st;
        char *sn, *jn;
        double a, b;
        if (i && strcmp(names.v[i], names.v[i - 1]) == 0)
            continue;
        e[k].version = xstrdup(names.v[i]);
        e[k].error = state_open(dir, names.v[i], STATE_READONLY, &st);
        if (e[k].error) {
            e[k].message = xstrdup(error_last());
        } else {
            e[k].finished = json_is_true(json_object_get(st->root, "finished"));
            e[k].published = json_is_true(json_object_get(st->root, "published"));
            e[k].quarantined = json_is_true(json_object_get(st->root, "quarantined"));
            e[k].created =
                time_parse_iso8601(json_string_value(json_object_get(st->root, "created_at")));
            if (json_is_string(json_object_get(st->root, "plan")))
                e[k].plan = xstrdup(json_string_value(json_object_get(st->root, "plan")));
            state_close(st);
        }
        sn = xasprintf("release_%s.json", names.v[i]);
        jn = xasprintf("release_%s.journal", names.v[i]);
        a = file_mtime(dfd, sn);
        b = file_mtime(dfd, jn);
        e[k].mtime = a > b ? a : b;
        free(sn);
        free(jn);
        k++;
    }
    sv_free(&names);
    close(dfd);
    if (k)
        qsort(e, k, sizeof *e, entry_cmp);
    *out = e;
    *n = k;
    return 0;
}

void state_list_free(state_entry *entries, size_t n)
{
    if (!entries)
        return;
    for (size_t i = 0; i < n; i++) {
        free(entries[i].version);
        free(entries[i].message);
        free(entries[i].plan);
    }
    free(entries);
}

#define HINT_SHOWN 10 /* versions named by state_list_hint() */

char *state_list_hint(const char *dir, const char *version)
{
    state_entry *e = NULL;
    size_t n = 0;
    strvec names = {0};
    strbuf b;
    char *hint;
    if (state_list(dir, &e, &n) != 0 || n == 0) {
        state_list_free(e, n);
        return xstrdup("no release has state there");
    }
    sb_init(&b);
    sb_puts(&b, "releases there: ");
    for (size_t i = 0; i < n; i++) {
        sv_push(&names, e[i].version);
        if (i < HINT_SHOWN)
            sb_printf(&b, "%s%s", i ? ", " : "", e[i].version);
    }
    if (n > HINT_SHOWN)
        sb_printf(&b, " and %zu older", n - HINT_SHOWN);
    hint = keycheck_hint(version, (const char *const *)names.v, names.n, NULL, NULL);
    sb_puts(&b, hint);
    free(hint);
    sv_free(&names);
    state_list_free(e, n);
    return b.s;
}

state *state_open_recorded(const char *dir, const char *version, const char *what)
{
    state *st = NULL;
    char *hint;
    if (state_open(dir, version, STATE_READONLY, &st) != 0) {
        log_msg(RELHOST_LOG_ERROR, NULL, "release %s: %s", version, error_last());
        return NULL;
    }
    if (!state_is_new(st))
        return st;
    state_close(st);
    hint = state_list_hint(dir, version);
    log_msg(RELHOST_LOG_ERROR, NULL,
            "no state for release %s in %s: nothing %s; %s; pass --release V", version, dir, what,
            hint);
    free(hint);
    return NULL;
}

/* ---- who holds a release's lock ------------------------------------------------------------ */

/* /proc/locks lists every lock held, one a line ("1: FLOCK  ADVISORY  WRITE 4711 08:01:1234 0
 * EOF"; a waiter's line has "->" after its number): the holder is the FLOCK line of the lock
 * file's device and inode. Read, never a lock of our own: a probe by flock(LOCK_SH|LOCK_NB),
 * however short, could make a relhost starting the release then find it locked. */
long state_lock_holder(const char *dir, const char *version)
{
    char *path = xasprintf("%s/release_%s.lock", dir, version), line[256];
    struct stat sb;
    long holder = 0;
    FILE *f;
    int rc = stat(path, &sb);
    free(path);
    if (rc != 0)
        return errno == ENOENT ? 0 : -1;
    if (!(f = fopen("/proc/locks", "re")))
        return -1;
    while (!holder && fgets(line, sizeof line, f)) {
        char type[16], mode[16], kind[16];
        unsigned maj, mnr;
        unsigned long long ino;
        long pid;
        if (strstr(line, "->") != NULL)
            continue;
        if (sscanf(line, "%*[^:]: %15s %15s %15s %ld %x:%x:%llu", type, mode, kind, &pid, &maj,
                   &mnr, &ino) == 7 &&
            strcmp(type, "FLOCK") == 0 && maj == major(sb.st_dev) && mnr == minor(sb.st_dev) &&
            ino == (unsigned long long)sb.st_ino)
            holder = pid > 0 ? pid : 1;
    }
    fclose(f);
    return holder;
}
