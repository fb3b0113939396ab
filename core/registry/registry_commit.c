/* SPDX-License-Identifier: MIT */
/*
 * registry_commit.c - the registry's commit point (registry.h): an operation's intent is
 * written first, then the staged folder swap, the manifest (the commit point readers see), the
 * files derived from it (baseline, symlink) and the audit line; recovery finishes an intent a
 * crash left behind, so a reader never finds a derived file ahead of the manifest.
 *
 * intent.json { "schema": int, "id", "op": str, "started": real (epoch seconds),
 *               "swap": {"from", "to": str}, "link": str, "baseline_path": str,
 *               "baseline": str | "baseline_remove": true, "baseline_keep": str,
 *               "audit": {...the audit line}, "manifest": {...the whole new manifest} }
 */
#include "registry/registry_int.h"

#include "base/error.h"
#include "base/util.h"
#include "registry/audit.h"
#include "registry/fsutil.h"
#include "run/crash.h"

#include <relhost/plugin.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* An intent, as written and as read back (every pointer borrowed). */
typedef struct intent {
    const char *id, *op;
    double started;
    const char *swap_from, *swap_to, *link;
    const char *bpath, *bdata, *bkeep;
    int bremove;
    json_t *audit;
} intent;

static void intent_read(json_t *in, intent *it)
{
    json_t *swap = json_object_get(in, "swap");
    memset(it, 0, sizeof *it);
    it->id = json_string_value(json_object_get(in, "id"));
    it->op = json_string_value(json_object_get(in, "op"));
    it->started = json_real_value(json_object_get(in, "started"));
    it->swap_from = json_string_value(json_object_get(swap, "from"));
    it->swap_to = json_string_value(json_object_get(swap, "to"));
    it->link = json_string_value(json_object_get(in, "link"));
    it->bpath = json_string_value(json_object_get(in, "baseline_path"));
    it->bdata = json_string_value(json_object_get(in, "baseline"));
    it->bkeep = json_string_value(json_object_get(in, "baseline_keep"));
    it->bremove = json_is_true(json_object_get(in, "baseline_remove"));
    it->audit = json_object_get(in, "audit");
}

/* The intent of an operation: what intent_read() reads back from it. */
static json_t *intent_json(const char *id, const char *op, double started, const char *swap_from,
                           const char *swap_to, const char *link, const baseline_op *bo,
                           json_t *audit, const manifest *next)
{
    json_t *in = json_object();
    json_object_set_new(in, "schema", json_integer(MANIFEST_SCHEMA));
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
    json_object_set_new(in, "audit", audit);
    json_object_set(in, "manifest", manifest_json(next));
    return in;
}

/* staged/<swap_from> becomes staged/<swap_to>, the old one moved aside and removed. */
static int apply_swap(const registry *r, const intent *it)
{
    char *staged = registry_path(r, "staged");
    char *from = path_join(staged, it->swap_from), *to = path_join(staged, it->swap_to);
    char *old = xasprintf("%s/.old-%s", staged, it->id);
    int rc = 0;
    if (fs_exists(from)) {
        if (fs_exists(to) && rename(to, old) != 0)
            rc = error_set(RELHOST_EIO, "cannot move %s aside: %s", to, strerror(errno));
        if (rc == 0 && rename(from, to) != 0)
            rc = error_set(RELHOST_EIO, "cannot move %s to %s: %s", from, to, strerror(errno));
        if (rc == 0)
            rc = fs_sync_dir(staged);
    }
    crash_point("registry.swap");
    if (rc == 0)
        rc = fs_remove_tree(old);
    free(from);
    free(to);
    free(old);
    free(staged);
    return rc;
}

/* The baseline: the promoted release's copy under baselines/ first, then the store the next run
 * reads (a rollback writes the kept copy of the release it returns to, or removes the store when
 * that release kept none). */
static int apply_baseline(const registry *r, const intent *it)
{
    int rc = 0;
    if (it->bkeep && it->bdata) {
        char *kdir = registry_path(r, KEPT_DIR);
        rc = path_mkdirs(kdir);
        free(kdir);
        if (rc == 0) {
            char *p = registry_path(r, it->bkeep);
            rc = fs_write_atomic(p, it->bdata, strlen(it->bdata));
            free(p);
        }
    }
    if (rc == 0 && it->bpath && it->bdata) {
        char *bdir = path_dirname(it->bpath);
        rc = path_mkdirs(bdir);
        free(bdir);
        if (rc == 0)
            rc = fs_write_atomic(it->bpath, it->bdata, strlen(it->bdata));
        crash_point("registry.baseline");
    } else if (rc == 0 && it->bpath && it->bremove) {
        char *bdir = path_dirname(it->bpath);
        if (unlink(it->bpath) != 0 && errno != ENOENT)
            rc = error_set(RELHOST_EIO,
                           "cannot remove the baseline store %s: %s (the release "
                           "rolled back to kept no baseline; remove the file by hand)",
                           it->bpath, strerror(errno));
        else if (fs_exists(bdir))
            rc = fs_sync_dir(bdir);
        free(bdir);
        crash_point("registry.baseline");
    }
    return rc;
}

/* The manifest: the commit point, written before every file derived from it, so that a reader
 * never finds the symlink or the baseline ahead of the manifest (only behind it, until the
 * intent is finished). */
static int apply_manifest(const registry *r, const manifest *next)
{
    char *text = manifest_text(next), *p = registry_path(r, "manifest.json");
    int rc = fs_write_atomic(p, text, strlen(text));
    free(p);
    free(text);
    crash_point("registry.manifest");
    return rc;
}

/* The last_green symlink, after the manifest. */
static int apply_link(const registry *r, const intent *it)
{
    char *target, *p;
    int rc;
    if (!it->link)
        return 0;
    target = xasprintf("staged/%s", it->link);
    p = registry_path(r, "last_green");
    rc = fs_symlink_atomic(target, p);
    free(target);
    free(p);
    crash_point("registry.link");
    return rc;
}

/* The audit line (once: a recovery finds it written when the crash came after it), then the
 * intent's removal. */
static int apply_audit(const registry *r, const intent *it, int recovering)
{
    char *p;
    int rc = 0;
    if (it->audit && !audit_has_id(r->dir, it->id)) {
        json_t *line = json_deep_copy(it->audit);
        if (recovering)
            json_object_set_new(line, "finished_after_crash", json_true());
        else
            json_object_set_new(line, "duration_ms",
                                json_real((time_wall() - it->started) * 1000.0));
        rc = audit_append_obj(r->dir, line);
        json_decref(line);
        crash_point("registry.audit");
    }
    if (rc == 0) {
        p = registry_path(r, "intent.json");
        if (unlink(p) != 0)
            rc = error_set(RELHOST_EIO, "cannot remove %s: %s", p, strerror(errno));
        free(p);
        if (rc == 0)
            rc = fs_sync_dir(r->dir);
    }
    return rc;
}

static int apply_intent(const registry *r, const intent *it, const manifest *next, int recovering)
{
    int rc = 0;
    if (it->swap_from && it->swap_to)
        rc = apply_swap(r, it);
    if (rc == 0)
        rc = apply_manifest(r, next);
    if (rc == 0)
        rc = apply_baseline(r, it);
    if (rc == 0)
        rc = apply_link(r, it);
    if (rc == 0)
        rc = apply_audit(r, it, recovering);
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

int registry_commit(registry *r, const char *op, double started, manifest *next,
                    const char *swap_from, const char *swap_to, const char *link,
                    const baseline_op *bo, json_t *audit)
{
    char id[96], ts[32];
    json_t *in, *a = json_object();
    intent it;
    char *text, *p;
    int rc;
    make_id(op, id, sizeof id);
    registry_now(ts);
    json_object_set_new(a, "at", json_string(ts));
    json_object_set_new(a, "operation", json_string(op));
    json_object_update(a, audit);
    json_object_set_new(a, "id", json_string(id));
    json_decref(audit);
    in = intent_json(id, op, started, swap_from, swap_to, link, bo, a, next);
    text = json_dumps(in, JSON_COMPACT);
    p = registry_path(r, "intent.json");
    rc = fs_write_atomic(p, text, strlen(text));
    free(p);
    free(text);
    if (rc == 0) {
        crash_point("registry.intent");
        intent_read(in, &it);
        rc = apply_intent(r, &it, next, 0);
    }
    json_decref(in);
    if (rc == 0) {
        manifest_free(&r->m);
        r->m = *next;
    } else {
        manifest_free(next);
        error_wrap(rc, "registry %s: %s interrupted (the next relhost command finishes it)", r->dir,
                   op);
    }
    memset(next, 0, sizeof *next);
    return rc;
}

/* Finish the intent at p. */
static int recover_intent(registry *r, const char *p)
{
    json_error_t je;
    json_t *in = fs_load_json(p, &je);
    manifest next;
    intent it;
    int rc;
    if (!json_is_object(in) || !json_is_object(json_object_get(in, "manifest")) ||
        !json_is_string(json_object_get(in, "id")))
        rc = error_set(RELHOST_EINVAL,
                       "registry %s: the unfinished operation in %s is unreadable (%s); relhost "
                       "will not guess: inspect it, then remove it to keep the registry as "
                       "manifest.json says",
                       r->dir, p, in ? "fields" : je.text);
    else if (json_integer_value(json_object_get(in, "schema")) > MANIFEST_SCHEMA)
        rc = error_set(RELHOST_EINVAL,
                       "registry %s: %s was written by a newer relhost; finish "
                       "it with that version",
                       r->dir, p);
    else if ((rc = manifest_read(json_incref(json_object_get(in, "manifest")), p,
                                 MANIFEST_CHECK_REGISTRY, &next)) == 0) {
        intent_read(in, &it);
        rc = apply_intent(r, &it, &next, 1);
        manifest_free(&next);
    }
    json_decref(in);
    return rc;
}

int registry_recover(registry *r)
{
    char *p = registry_path(r, "intent.json"), *staged = registry_path(r, "staged");
    DIR *d;
    int rc = 0;
    if (fs_exists(p))
        rc = recover_intent(r, p);
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
