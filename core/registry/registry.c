/* SPDX-License-Identifier: MIT */
#include "base/secrets.h"
#include "registry/registry.h"

#include "base/error.h"
#include "base/util.h"
#include "registry/audit.h"
#include "registry/fsutil.h"
#include "registry/sha256.h"
#include "run/baseline.h"
#include "run/crash.h"

#include <relhost/plugin.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct registry {
    char *dir;
    int lock_fd;       /* -1: opened read-only on a registry that does not exist */
    json_t *manifest;
};

/* What an operation does to the baseline store (see commit_op). */
typedef struct baseline_op {
    const char *path; /* the plan's baseline store */
    const char *data; /* its new content, or NULL */
    int remove;       /* no data: remove the store ("no baseline yet") */
    const char *keep; /* with data: also write it here, relative to the registry */
} baseline_op;

/* Each promoted release keeps the baseline store as its promotion left it, in
 * <registry>/baselines/<version>.json: a rollback makes it current again. */
#define KEPT_DIR "baselines"

static const char *const statuses[] = {"staged", "promoted", "quarantined", "rolled_back", NULL};
static const char *const pointers[] = {"latest", "last_green", "previous_green", NULL};

static char *rpath(const registry *r, const char *name) { return path_join(r->dir, name); }

static int refuse(char **refusal, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int refuse(char **refusal, const char *fmt, ...)
{
    va_list ap;
    free(*refusal);
    va_start(ap, fmt);
    *refusal = xvasprintf(fmt, ap);
    va_end(ap);
    return RELHOST_EINVAL;
}

static void now_iso(char buf[32]) { time_iso8601(time_wall(), buf, 32); }

static json_t *empty_manifest(void)
{
    return json_pack("{s:i, s:{s:n, s:n, s:n}, s:[]}", "schema", REGISTRY_SCHEMA, "pointers",
                     "latest", "last_green", "previous_green", "releases");
}

/* ---- loading and validating ---------------------------------------------------------------- */

static int in_list(const char *const *l, const char *s)
{
    for (size_t i = 0; s && l[i]; i++)
        if (strcmp(l[i], s) == 0)
            return 1;
    return 0;
}

static int bad_manifest(const char *path, const char *what)
{
    return error_set(RELHOST_EINVAL,
                     "registry manifest %s is not valid: %s. relhost changes nothing until it is "
                     "fixed: restore it from a backup (audit.jsonl in the same folder lists every "
                     "operation)", path, what);
}

static int validate_manifest(const char *path, const json_t *m)
{
    json_t *ptrs, *rels, *e;
    size_t i;
    if (!json_is_object(m))
        return bad_manifest(path, "not a JSON object");
    if (!json_is_integer(json_object_get(m, "schema")))
        return bad_manifest(path, "no integer \"schema\"");
    if (json_integer_value(json_object_get(m, "schema")) > REGISTRY_SCHEMA)
        return error_set(RELHOST_EINVAL,
                         "registry manifest %s has schema %lld, newer than this relhost reads "
                         "(%d): use a newer relhost; nothing was changed",
                         path, (long long)json_integer_value(json_object_get(m, "schema")),
                         REGISTRY_SCHEMA);
    ptrs = json_object_get(m, "pointers");
    rels = json_object_get(m, "releases");
    if (!json_is_object(ptrs) || !json_is_array(rels))
        return bad_manifest(path, "\"pointers\" must be an object and \"releases\" an array");
    for (size_t k = 0; pointers[k]; k++) {
        json_t *pv = json_object_get(ptrs, pointers[k]);
        if (pv && !json_is_null(pv) && !json_is_string(pv))
            return bad_manifest(path, "a pointer is neither a version string nor null");
    }
    json_array_foreach(rels, i, e) {
        if (!json_is_object(e) || !json_is_string(json_object_get(e, "version")) ||
            !in_list(statuses, json_string_value(json_object_get(e, "status"))))
            return bad_manifest(path, "a release lacks a version string or a known status "
                                      "(staged, promoted, quarantined, rolled_back)");
        if (json_object_get(e, "artifacts") && !json_is_array(json_object_get(e, "artifacts")))
            return bad_manifest(path, "a release's \"artifacts\" is not an array");
    }
    return 0;
}

/* json_load_file reads a byte at a time; a 1,000-release manifest is read whole instead. */
static json_t *load_json(const char *path, json_error_t *je)
{
    FILE *f = fopen(path, "re");
    strbuf b;
    char buf[65536];
    size_t n;
    json_t *j;
    if (!f) {
        snprintf(je->text, sizeof je->text, "%s", strerror(errno));
        je->line = 0;
        return NULL;
    }
    sb_init(&b);
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        sb_add(&b, buf, n);
    fclose(f);
    j = json_loadb(b.s ? b.s : "", b.len, JSON_REJECT_DUPLICATES, je);
    sb_free(&b);
    return j;
}

static int load_manifest(registry *r)
{
    char *path = rpath(r, "manifest.json");
    json_error_t je;
    json_t *m;
    int rc;
    if (!fs_exists(path)) {
        free(path);
        r->manifest = empty_manifest();
        return 0;
    }
    m = load_json(path, &je);
    if (!m) {
        char what[300];
        snprintf(what, sizeof what, "%s at line %d", je.text, je.line);
        rc = bad_manifest(path, what);
        free(path);
        return rc;
    }
    if ((rc = validate_manifest(path, m)) != 0) {
        json_decref(m);
        free(path);
        return rc;
    }
    free(path);
    r->manifest = m;
    return 0;
}

/* ---- commit: intent, derived files, manifest, audit ---------------------------------------- */

static int apply_intent(registry *r, json_t *in, int recovering)
{
    const char *swap_from = json_string_value(json_object_get(json_object_get(in, "swap"), "from"));
    const char *swap_to = json_string_value(json_object_get(json_object_get(in, "swap"), "to"));
    const char *link = json_string_value(json_object_get(in, "link"));
    const char *bpath = json_string_value(json_object_get(in, "baseline_path"));
    const char *bdata = json_string_value(json_object_get(in, "baseline"));
    const char *bkeep = json_string_value(json_object_get(in, "baseline_keep"));
    int bremove = json_is_true(json_object_get(in, "baseline_remove"));
    const char *id = json_string_value(json_object_get(in, "id"));
    json_t *audit = json_object_get(in, "audit");
    char *staged = rpath(r, "staged"), *p;
    char *text;
    int rc = 0;

    if (swap_from && swap_to) {
        char *from = path_join(staged, swap_from), *to = path_join(staged, swap_to);
        char *old = xasprintf("%s/.old-%s", staged, id);
        if (fs_exists(from)) {
            if (fs_exists(to) && rename(to, old) != 0)
                rc = error_set(RELHOST_EIO, "cannot move %s aside: %s", to, strerror(errno));
            if (rc == 0 && rename(from, to) != 0)
                rc = error_set(RELHOST_EIO, "cannot move %s to %s: %s", from, to,
                               strerror(errno));
            if (rc == 0)
                rc = fs_sync_dir(staged);
        }
        crash_point("registry.swap");
        if (rc == 0)
            rc = fs_remove_tree(old);
        free(from);
        free(to);
        free(old);
    }
    /* The baseline: the promoted release's copy under baselines/ first, then the store the
     * next run reads (a rollback writes the kept copy of the release it returns to, or removes
     * the store when that release kept none). */
    if (rc == 0 && bkeep && bdata) {
        char *kdir = rpath(r, KEPT_DIR);
        rc = path_mkdirs(kdir);
        free(kdir);
        if (rc == 0) {
            p = rpath(r, bkeep);
            rc = fs_write_atomic(p, bdata, strlen(bdata));
            free(p);
        }
    }
    if (rc == 0 && bpath && bdata) {
        char *bdir = path_dirname(bpath);
        rc = path_mkdirs(bdir);
        free(bdir);
        if (rc == 0)
            rc = fs_write_atomic(bpath, bdata, strlen(bdata));
        crash_point("registry.baseline");
    } else if (rc == 0 && bpath && bremove) {
        char *bdir = path_dirname(bpath);
        if (unlink(bpath) != 0 && errno != ENOENT)
            rc = error_set(RELHOST_EIO, "cannot remove the baseline store %s: %s (the release "
                           "rolled back to kept no baseline; remove the file by hand)", bpath,
                           strerror(errno));
        else if (fs_exists(bdir))
            rc = fs_sync_dir(bdir);
        free(bdir);
        crash_point("registry.baseline");
    }
    if (rc == 0 && link) {
        char *target = xasprintf("staged/%s", link);
        p = rpath(r, "last_green");
        rc = fs_symlink_atomic(target, p);
        free(target);
        free(p);
        crash_point("registry.link");
    }
    if (rc == 0) {
        text = json_dumps(json_object_get(in, "manifest"), JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        p = rpath(r, "manifest.json");
        rc = fs_write_atomic(p, text, strlen(text));
        free(p);
        free(text);
        crash_point("registry.manifest");
    }
    if (rc == 0 && audit && !audit_has_id(r->dir, id)) {
        json_t *line = json_deep_copy(audit);
        if (recovering)
            json_object_set_new(line, "finished_after_crash", json_true());
        else
            json_object_set_new(line, "duration_ms",
                                json_real((time_wall() - json_real_value(
                                                            json_object_get(in, "started"))) *
                                          1000.0));
        rc = audit_append_obj(r->dir, line);
        json_decref(line);
        crash_point("registry.audit");
    }
    if (rc == 0) {
        p = rpath(r, "intent.json");
        if (unlink(p) != 0)
            rc = error_set(RELHOST_EIO, "cannot remove %s: %s", p, strerror(errno));
        free(p);
        if (rc == 0)
            rc = fs_sync_dir(r->dir);
    }
    free(staged);
    return rc;
}

static void make_id(const char *op, char *buf, size_t cap)
{
    struct timespec ts;
    unsigned rnd = 0;
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    clock_gettime(CLOCK_REALTIME, &ts);
    if (fd >= 0) {
        if (read(fd, &rnd, sizeof rnd) != (ssize_t)sizeof rnd)
            rnd = (unsigned)ts.tv_nsec;
        close(fd);
    }
    snprintf(buf, cap, "%s-%lld%03ld-%d-%08x", op, (long long)ts.tv_sec, ts.tv_nsec / 1000000,
             (int)getpid(), rnd);
}

/*
 * Commit an operation: `manifest` (stolen) replaces the manifest; the others are optional.
 * bo: the baseline store at bo->path becomes bo->data (or is removed with bo->remove), and
 * bo->keep (a path under the registry) gets a copy of bo->data.
 * audit (stolen) gets id, operation and the times filled in.
 */
static int commit_op(registry *r, const char *op, double started, json_t *manifest,
                  const char *swap_from, const char *swap_to, const char *link,
                  const baseline_op *bo, json_t *audit)
{
    char id[96], ts[32];
    json_t *in = json_object();
    char *text, *p;
    int rc;
    make_id(op, id, sizeof id);
    now_iso(ts);
    json_object_set_new(in, "schema", json_integer(REGISTRY_SCHEMA));
    json_object_set_new(in, "id", json_string(id));
    json_object_set_new(in, "op", json_string(op));
    json_object_set_new(in, "started", json_real(started));
    if (swap_from)
        json_object_set_new(in, "swap", json_pack("{s:s, s:s}", "from", swap_from, "to", swap_to));
    if (link)
        json_object_set_new(in, "link", json_string(link));
    if (bo && bo->path && (bo->data || bo->remove))
        json_object_set_new(in, "baseline_path", json_string(bo->path));
    if (bo && bo->data)
        json_object_set_new(in, "baseline", json_string(bo->data));
    else if (bo && bo->path && bo->remove)
        json_object_set_new(in, "baseline_remove", json_true());
    if (bo && bo->keep && bo->data)
        json_object_set_new(in, "baseline_keep", json_string(bo->keep));
    {
        json_t *a = json_object();
        json_object_set_new(a, "at", json_string(ts));
        json_object_set_new(a, "operation", json_string(op));
        json_object_update(a, audit);
        json_object_set_new(a, "id", json_string(id));
        json_decref(audit);
        json_object_set_new(in, "audit", a);
    }
    json_object_set(in, "manifest", manifest);
    text = json_dumps(in, JSON_COMPACT);
    p = rpath(r, "intent.json");
    rc = fs_write_atomic(p, text, strlen(text));
    free(p);
    free(text);
    if (rc == 0) {
        crash_point("registry.intent");
        rc = apply_intent(r, in, 0);
    }
    json_decref(in);
    if (rc == 0) {
        json_decref(r->manifest);
        r->manifest = manifest;
    } else {
        json_decref(manifest);
        error_wrap(rc, "registry %s: %s interrupted (the next relhost command finishes it)",
                   r->dir, op);
    }
    return rc;
}

/* At open: finish what a crash left, then clear copies that never reached an intent. */
static int recover(registry *r)
{
    char *p = rpath(r, "intent.json"), *staged = rpath(r, "staged");
    json_error_t je;
    DIR *d;
    int rc = 0;
    if (fs_exists(p)) {
        json_t *in = load_json(p, &je);
        if (!json_is_object(in) || !json_is_object(json_object_get(in, "manifest")) ||
            !json_is_string(json_object_get(in, "id"))) {
            rc = error_set(RELHOST_EINVAL,
                           "registry %s: the unfinished operation in %s is unreadable (%s); "
                           "relhost will not guess: inspect it, then remove it to keep the "
                           "registry as manifest.json says", r->dir, p, in ? "fields" : je.text);
        } else if (json_integer_value(json_object_get(in, "schema")) > REGISTRY_SCHEMA) {
            rc = error_set(RELHOST_EINVAL, "registry %s: %s was written by a newer relhost; "
                           "finish it with that version", r->dir, p);
        } else if ((rc = validate_manifest(p, json_object_get(in, "manifest"))) == 0) {
            rc = apply_intent(r, in, 1);
        }
        json_decref(in);
    }
    free(p);
    if (rc == 0 && (d = opendir(staged))) {
        struct dirent *e;
        while (rc == 0 && (e = readdir(d)))
            if (strncmp(e->d_name, ".tmp-", 5) == 0 || strncmp(e->d_name, ".old-", 5) == 0) {
                char *x = path_join(staged, e->d_name);
                rc = fs_remove_tree(x);
                free(x);
            }
        closedir(d);
    }
    free(staged);
    return rc;
}

static int take_lock(registry *r)
{
    char *p = rpath(r, ".lock");
    int waited = 0;
    r->lock_fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (r->lock_fd < 0) {
        int rc = error_set(RELHOST_EIO, "cannot open %s: %s (is the registry folder writable?)",
                           p, strerror(errno));
        free(p);
        return rc;
    }
    /* Operations take milliseconds: wait up to 30 s for another relhost's to end. */
    while (flock(r->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno != EWOULDBLOCK || waited >= 3000) {
            int rc = error_set(RELHOST_EIO, "registry %s is locked by another relhost (%s); "
                               "try again when it is done", r->dir, p);
            free(p);
            return rc;
        }
        usleep(10000);
        waited++;
    }
    free(p);
    return 0;
}

int registry_open(const char *dir, int create, registry **out)
{
    registry *r = xcalloc(1, sizeof *r);
    int rc = 0;
    r->dir = xstrdup(dir);
    r->lock_fd = -1;
    *out = r;
    if (!fs_exists(dir) && !create)
        return load_manifest(r);
    if (create && (rc = path_mkdirs(dir)) != 0)
        return error_wrap(rc, "registry_dir");
    if ((rc = take_lock(r)) != 0 || (rc = recover(r)) != 0)
        return rc;
    return load_manifest(r);
}

void registry_close(registry *r)
{
    if (!r)
        return;
    if (r->lock_fd >= 0)
        close(r->lock_fd);
    json_decref(r->manifest);
    free(r->dir);
    free(r);
}

const json_t *registry_manifest(const registry *r) { return r->manifest; }
const char *registry_dir(const registry *r) { return r->dir; }

const json_t *registry_release(const registry *r, const char *version)
{
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(r->manifest, "releases"), i, e)
        if (strcmp(json_string_value(json_object_get(e, "version")), version) == 0)
            return e;
    return NULL;
}

const char *registry_pointer(const registry *r, const char *name)
{
    return json_string_value(json_object_get(json_object_get(r->manifest, "pointers"), name));
}

/* ---- operations ---------------------------------------------------------------------------- */

static int writable(const registry *r)
{
    if (r->lock_fd < 0)
        return error_set(RELHOST_EINVAL, "registry %s does not exist", r->dir);
    return 0;
}

/* In a copy of the manifest: the entry of version, created (status staged) when missing. */
static json_t *entry_in(json_t *m, const char *version, const char *commit, int *created)
{
    json_t *rels = json_object_get(m, "releases"), *e;
    size_t i;
    json_array_foreach(rels, i, e)
        if (strcmp(json_string_value(json_object_get(e, "version")), version) == 0) {
            if (created)
                *created = 0;
            return e;
        }
    e = json_pack("{s:s, s:o, s:s, s:n, s:n, s:n, s:n, s:n, s:[]}", "version", version, "commit",
                  commit ? json_string(commit) : json_null(), "status", "staged", "staged_at",
                  "promoted_at", "quarantined_at", "rolled_back_at", "reason", "artifacts");
    json_array_append_new(rels, e);
    if (created)
        *created = 1;
    return e;
}

static const char *estr(const json_t *e, const char *k)
{
    return json_string_value(json_object_get(e, k));
}

static int commit_differs(const json_t *e, const char *commit, char **refusal)
{
    const char *had = estr(e, "commit");
    if (had && commit && strcmp(had, commit) != 0)
        return refuse(refusal, "release %s is in the registry for commit %.12s, not %.12s: a "
                      "version names one candidate; use a new version for the new commit",
                      estr(e, "version"), had, commit);
    return 0;
}

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

/* "baselines/<version>.json", or NULL for a version that is no plain file name. */
static char *kept_name(const char *version)
{
    if (!version || !*version || version[0] == '.' || strchr(version, '/'))
        return NULL;
    return xasprintf("%s/%s.json", KEPT_DIR, version);
}

/* The staged bytes of e still match the sha256s recorded at staging. refusal NULL: only say
 * whether they do. */
static int verify_staged(const registry *r, const json_t *e, char **refusal)
{
    json_t *a;
    size_t i;
    json_array_foreach(json_object_get(e, "artifacts"), i, a) {
        char sha[65], *p = xasprintf("%s/staged/%s/%s", r->dir, estr(e, "version"),
                                     estr(a, "path"));
        const char *want = estr(a, "sha256");
        int rc = 0;
        if (sha256_file(p, sha) != 0)
            rc = refusal ? refuse(refusal, "staged artifact %s is unreadable (%s): the release "
                                  "cannot be promoted; stage it again", p, error_last())
                         : RELHOST_EINVAL;
        else if (!want || strcmp(sha, want) != 0)
            rc = refusal ? refuse(refusal, "staged artifact %s changed after staging: sha256 %s, "
                                  "staged as %s; it is not promoted (stage the release again "
                                  "from the candidate)", p, sha, want ? want : "(none)")
                         : RELHOST_EINVAL;
        free(p);
        if (rc != 0)
            return rc;
    }
    return 0;
}

int registry_stage(registry *r, const char *version, const char *commit,
                   const char *const *files, size_t n, char **staged_dir, char **refusal)
{
    double t0 = time_wall();
    const json_t *old = registry_release(r, version);
    char *staged, *tmpname, *tmp;
    json_t *m, *e, *arts = json_array();
    char ts[32];
    int rc;
    *staged_dir = NULL;
    if ((rc = writable(r)) != 0) {
        json_decref(arts);
        return rc;
    }
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < i; k++)
            if (strcmp(base_name(files[i]), base_name(files[k])) == 0) {
                json_decref(arts);
                return refuse(refusal, "artifacts %s and %s have the same name: staged files "
                              "keep their names, so they must differ", files[k], files[i]);
            }
    if (old && (rc = commit_differs(old, commit, refusal)) != 0) {
        json_decref(arts);
        return rc;
    }
    if (old && strcmp(estr(old, "status"), "quarantined") == 0) {
        json_decref(arts);
        return refuse(refusal, "release %s is quarantined (%s): it can never be promoted, so it "
                      "is not staged again; qualify a new version", version,
                      estr(old, "reason") ? estr(old, "reason") : "no reason recorded");
    }
    staged = rpath(r, "staged");
    if ((rc = path_mkdirs(staged)) != 0) {
        free(staged);
        json_decref(arts);
        return rc;
    }
    tmpname = xasprintf(".tmp-%s-%d", version, (int)getpid());
    tmp = path_join(staged, tmpname);
    fs_remove_tree(tmp);
    if (mkdir(tmp, 0755) != 0)
        rc = error_set(RELHOST_EIO, "cannot create %s: %s", tmp, strerror(errno));
    for (size_t i = 0; rc == 0 && i < n; i++) {
        char sha[65], *dst = path_join(tmp, base_name(files[i]));
        long long size = 0;
        rc = fs_copy_sha256(files[i], dst, sha, &size);
        if (rc == 0)
            json_array_append_new(arts, json_pack("{s:s, s:s, s:I}", "path", base_name(files[i]),
                                                  "sha256", sha, "size", (json_int_t)size));
        free(dst);
    }
    if (rc == 0)
        rc = fs_sync_dir(tmp);
    if (rc == 0 && old && json_equal(json_object_get(old, "artifacts"), arts) &&
        verify_staged(r, old, NULL) == 0) {
        /* the same bytes are staged already, intact: nothing to do */
        fs_remove_tree(tmp);
        *staged_dir = path_join(staged, version);
        free(tmp);
        free(tmpname);
        free(staged);
        json_decref(arts);
        return 0;
    }
    if (rc == 0 && old && strcmp(estr(old, "status"), "staged") != 0)
        rc = refuse(refusal, "release %s is %s with other artifacts than these: staged bytes "
                    "of a promoted release never change; qualify a new version", version,
                    estr(old, "status"));
    crash_point("registry.stage.copied");
    if (rc != 0) {
        fs_remove_tree(tmp);
        free(tmp);
        free(tmpname);
        free(staged);
        json_decref(arts);
        return rc;
    }
    m = json_deep_copy(r->manifest);
    e = entry_in(m, version, commit, NULL);
    now_iso(ts);
    json_object_set_new(e, "status", json_string("staged"));
    json_object_set_new(e, "staged_at", json_string(ts));
    json_object_set_new(e, "artifacts", arts);
    rc = commit_op(r, "stage", t0, m, tmpname, version, NULL, NULL,
                json_pack("{s:s, s:i}", "version", version, "artifacts", (int)n));
    if (rc == 0)
        *staged_dir = path_join(staged, version);
    free(tmp);
    free(tmpname);
    free(staged);
    return rc;
}

int registry_promote(registry *r, const char *version, const char *commit,
                     const char *baseline_path, const char *baseline, char **refusal)
{
    double t0 = time_wall();
    const json_t *old = registry_release(r, version);
    const char *lg = registry_pointer(r, "last_green");
    json_t *m, *e, *ptrs;
    char ts[32], *sd, *tmpname = NULL, *keep, *cur = NULL;
    int rc;
    if ((rc = writable(r)) != 0)
        return rc;
    if (old && (rc = commit_differs(old, commit, refusal)) != 0)
        return rc;
    if (old && strcmp(estr(old, "status"), "quarantined") == 0)
        return refuse(refusal, "release %s is quarantined (%s): a quarantined release is never "
                      "promoted", version, estr(old, "reason") ? estr(old, "reason") : "no reason");
    if (old && strcmp(estr(old, "status"), "rolled_back") == 0)
        return refuse(refusal, "release %s was rolled back (%s): it is not promoted again by a "
                      "run; if it is good after all, use `relhost rollback --to %s`", version,
                      estr(old, "reason") ? estr(old, "reason") : "no reason", version);
    if (old && strcmp(estr(old, "status"), "promoted") == 0) {
        if (lg && strcmp(lg, version) == 0)
            return 0; /* promoted already: a re-run changes nothing */
        return refuse(refusal, "release %s was promoted before and %s is last green now: use "
                      "`relhost rollback --to %s` to go back to it", version, lg ? lg : "none",
                      version);
    }
    if (old && (rc = verify_staged(r, old, refusal)) != 0)
        return rc;
    sd = xasprintf("%s/staged/%s", r->dir, version);
    if (!fs_exists(sd)) {
        /* Nothing was staged: last_green still needs a folder to point at. */
        char *st = rpath(r, "staged"), *tmp;
        tmpname = xasprintf(".tmp-%s-%d", version, (int)getpid());
        tmp = path_join(st, tmpname);
        rc = path_mkdirs(tmp);
        if (rc == 0)
            rc = fs_sync_dir(st);
        free(tmp);
        free(st);
    }
    free(sd);
    if (rc != 0) {
        free(tmpname);
        return rc;
    }
    m = json_deep_copy(r->manifest);
    e = entry_in(m, version, commit, NULL);
    now_iso(ts);
    json_object_set_new(e, "status", json_string("promoted"));
    json_object_set_new(e, "promoted_at", json_string(ts));
    json_object_set_new(e, "reason", json_null());
    ptrs = json_object_get(m, "pointers");
    if (lg && strcmp(lg, version) != 0)
        json_object_set_new(ptrs, "previous_green", json_string(lg));
    json_object_set_new(ptrs, "last_green", json_string(version));
    json_object_set_new(ptrs, "latest", json_string(version));
    /* The release keeps the store its promotion leaves: the new one, or (promoted with none
     * computed) the current one as it is, so that a rollback to it restores exactly that. */
    keep = kept_name(version);
    if (!baseline && baseline_path) {
        json_t *st = NULL;
        if (baseline_load(baseline_path, &st) == 0)
            cur = baseline_dump(st);
        json_decref(st);
    }
    {
        baseline_op bo = {.path = baseline ? baseline_path : NULL,
                          .data = baseline ? baseline : cur, .keep = keep};
        rc = commit_op(r, "promote", t0, m, tmpname, tmpname ? version : NULL, version, &bo,
                       json_pack("{s:s, s:o, s:s}", "version", version, "from",
                                 lg ? json_string(lg) : json_null(), "to", version));
    }
    free(keep);
    free(cur);
    free(tmpname);
    return rc;
}

static int quarantine(registry *r, const char *version, const char *commit, const char *reason,
                      char **refusal)
{
    double t0 = time_wall();
    const json_t *old = registry_release(r, version);
    const char *lg = registry_pointer(r, "last_green");
    json_t *m, *e;
    char ts[32];
    int rc;
    if ((rc = writable(r)) != 0)
        return rc;
    if (old && strcmp(estr(old, "status"), "quarantined") == 0)
        return 0; /* the first reason stands */
    if (lg && strcmp(lg, version) == 0)
        return refuse(refusal, "release %s is last green: roll it back first (`relhost rollback "
                      "-c PLAN --reason ...`), then it can be quarantined", version);
    m = json_deep_copy(r->manifest);
    e = entry_in(m, version, commit, NULL);
    now_iso(ts);
    json_object_set_new(e, "status", json_string("quarantined"));
    json_object_set_new(e, "quarantined_at", json_string(ts));
    json_object_set_new(e, "reason", json_string(reason ? reason : "no reason given"));
    return commit_op(r, "quarantine", t0, m, NULL, NULL, NULL, NULL,
                  json_pack("{s:s, s:s}", "version", version, "reason",
                            reason ? reason : "no reason given"));
}

/* The newest release before index `before` that is promoted (and not `skip`). */
static const char *green_before(const json_t *rels, size_t before, const char *skip)
{
    while (before-- > 0) {
        const json_t *e = json_array_get(rels, before);
        const char *st = estr(e, "status");
        /* a rolled-back release was judged bad: only an explicit --to brings it back */
        if (strcmp(st, "promoted") != 0 || !estr(e, "promoted_at"))
            continue;
        if (skip && strcmp(estr(e, "version"), skip) == 0)
            continue;
        return estr(e, "version");
    }
    return NULL;
}

static size_t index_of(const json_t *rels, const char *version)
{
    size_t i;
    json_t *e;
    json_array_foreach(rels, i, e)
        if (strcmp(estr(e, "version"), version) == 0)
            return i;
    return json_array_size(rels);
}

/* What a rollback to `to` does to the baseline store at bpath: *data (caller frees) is to's kept
 * store, or NULL when it kept none (or its copy cannot be read): then the store is removed, fail
 * closed ("no baseline yet", never the values of the release rolled back from). rp->baseline
 * says which, for the command's output and the audit line. */
static void rollback_baseline(const registry *r, const char *to, const char *bpath, int dry_run,
                              char **data, rollback_plan *rp)
{
    char *kn = kept_name(to), *kp = kn ? rpath(r, kn) : NULL;
    char removed[512];
    json_t *st = NULL;
    *data = NULL;
    snprintf(removed, sizeof removed, "%s the baseline store %s, so baseline rules say \"no "
             "baseline yet\" until the next promotion", dry_run ? "would remove" : "removed",
             bpath);
    if (kp && fs_exists(kp) && baseline_load(kp, &st) == 0 && (*data = baseline_dump(st)))
        snprintf(rp->baseline, sizeof rp->baseline, "%s release %s (%s)",
                 dry_run ? "would restore the baseline kept for" : "baseline restored to", to,
                 bpath);
    else if (kp && fs_exists(kp))
        snprintf(rp->baseline, sizeof rp->baseline,
                 "the baseline kept for release %s is unreadable (%s): %s", to,
                 error_last() ? error_last() : "?", removed);
    else
        snprintf(rp->baseline, sizeof rp->baseline,
                 "no baseline kept for release %s (promoted by an older relhost): %s", to,
                 removed);
    json_decref(st);
    free(kp);
    free(kn);
}

static int rollback(registry *r, const char *to, const char *reason, int quarantine_from,
                    int dry_run, const char *baseline_path, rollback_plan *rp, char **refusal)
{
    char *bdata = NULL;
    double t0 = time_wall();
    const json_t *rels = json_object_get(r->manifest, "releases");
    const char *from = registry_pointer(r, "last_green");
    const json_t *te;
    json_t *m, *e, *ptrs;
    const char *prev;
    char ts[32];
    int rc;
    memset(rp, 0, sizeof *rp);
    if (!from)
        return refuse(refusal, "registry %s has no last green release: nothing to roll back",
                      r->dir);
    if (!to) {
        const char *pg = registry_pointer(r, "previous_green");
        const json_t *pe = pg ? registry_release(r, pg) : NULL;
        if (pe && strcmp(estr(pe, "status"), "quarantined") != 0 && strcmp(pg, from) != 0)
            to = pg;
        else
            to = green_before(rels, index_of(rels, from), from);
        if (!to)
            return refuse(refusal, "no earlier promoted release to roll back to from %s (a "
                          "quarantined one never is): name one with --to VERSION", from);
    }
    te = registry_release(r, to);
    if (!te)
        return refuse(refusal, "--to %s: no such release in registry %s (`relhost releases` "
                      "lists them)", to, r->dir);
    if (strcmp(estr(te, "status"), "quarantined") == 0)
        return refuse(refusal, "--to %s: that release is quarantined (%s) and is never green "
                      "again", to, estr(te, "reason") ? estr(te, "reason") : "no reason");
    if (!estr(te, "promoted_at"))
        return refuse(refusal, "--to %s: that release was never promoted (it is %s)", to,
                      estr(te, "status"));
    if (strcmp(to, from) == 0)
        return refuse(refusal, "--to %s: that release is last green already", to);
    snprintf(rp->from, sizeof rp->from, "%s", from);
    snprintf(rp->to, sizeof rp->to, "%s", to);
    if (dry_run) {
        if (baseline_path)
            rollback_baseline(r, to, baseline_path, 1, &bdata, rp);
        free(bdata);
        return 0;
    }
    if ((rc = writable(r)) != 0)
        return rc;
    if ((rc = verify_staged(r, te, refusal)) != 0)
        return rc;
    if (baseline_path)
        rollback_baseline(r, to, baseline_path, 0, &bdata, rp);
    m = json_deep_copy(r->manifest);
    now_iso(ts);
    e = entry_in(m, from, NULL, NULL);
    json_object_set_new(e, "status", json_string(quarantine_from ? "quarantined" : "rolled_back"));
    json_object_set_new(e, quarantine_from ? "quarantined_at" : "rolled_back_at", json_string(ts));
    if (quarantine_from)
        json_object_set_new(e, "rolled_back_at", json_string(ts));
    json_object_set_new(e, "reason", json_string(reason));
    e = entry_in(m, to, NULL, NULL);
    json_object_set_new(e, "status", json_string("promoted"));
    json_object_set_new(e, "reason", json_null());
    ptrs = json_object_get(m, "pointers");
    json_object_set_new(ptrs, "last_green", json_string(to));
    prev = green_before(json_object_get(m, "releases"),
                        index_of(json_object_get(m, "releases"), to), from);
    json_object_set_new(ptrs, "previous_green", prev ? json_string(prev) : json_null());
    {
        /* The baseline goes back with last_green, in the same commit. */
        baseline_op bo = {.path = baseline_path, .data = bdata, .remove = !bdata};
        json_t *a = json_pack("{s:s, s:s, s:s}", "from", from, "to", to, "reason", reason);
        if (baseline_path)
            json_object_set_new(a, "baseline", json_string(rp->baseline));
        rc = commit_op(r, quarantine_from ? "rollback+quarantine" : "rollback", t0, m, NULL,
                       NULL, to, baseline_path ? &bo : NULL, a);
    }
    free(bdata);
    rp->duration_ms = (time_wall() - t0) * 1000.0;
    return rc;
}

/* An operator's reason may quote what it is about: the manifest, the intent and the audit log
 * keep it masked (core/base/secrets.h), like everything else relhost writes. */
int registry_quarantine(registry *r, const char *version, const char *commit, const char *reason,
                        char **refusal)
{
    char *red = reason ? secrets_redact_dup(reason) : NULL;
    int rc = quarantine(r, version, commit, red, refusal);
    free(red);
    return rc;
}

int registry_rollback(registry *r, const char *to, const char *reason, int quarantine_from,
                      int dry_run, const char *baseline_path, rollback_plan *rp, char **refusal)
{
    char *red = reason ? secrets_redact_dup(reason) : NULL;
    int rc = rollback(r, to, red, quarantine_from, dry_run, baseline_path, rp, refusal);
    free(red);
    return rc;
}
