/* SPDX-License-Identifier: MIT */
/* registry.c - opening the registry (lock, recovery, manifest) and the operations stage, promote
 * and quarantine; rollback is registry_rollback.c, the commit registry_commit.c. */
#include "base/secrets.h"
#include "registry/registry_int.h"

#include "base/error.h"
#include "base/trust.h"
#include "base/util.h"
#include "registry/fsutil.h"
#include "registry/sha256.h"
#include "run/baseline.h"
#include "run/crash.h"

#include <relhost/plugin.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

char *registry_path(const registry *r, const char *name) { return path_join(r->dir, name); }

int registry_refuse(char **refusal, const char *fmt, ...)
{
    va_list ap;
    free(*refusal);
    va_start(ap, fmt);
    *refusal = xvasprintf(fmt, ap);
    va_end(ap);
    return RELHOST_EINVAL;
}

void registry_now(char buf[32]) { time_iso8601(time_wall(), buf, 32); }

/* ---- opening ------------------------------------------------------------------------------- */

static int load_manifest(registry *r)
{
    char *path = registry_path(r, "manifest.json");
    int rc = manifest_load(path, &r->m);
    free(path);
    return rc;
}

/* The registry decides what is live: a folder another user may write (or "/") is refused
 * before anything in it is read or written, with the fix (core/base/trust.h). */
static int folder_trusted(const char *dir)
{
    struct stat sb;
    char *refusal;
    if (stat(dir, &sb) != 0)
        return error_set(RELHOST_EIO, "cannot check registry folder %s: %s", dir, strerror(errno));
    if (!(refusal = trust_own_folder(dir, &sb)))
        return 0;
    error_set(RELHOST_EINVAL, "registry folder %s", refusal);
    free(refusal);
    return RELHOST_EINVAL;
}

static int take_lock(registry *r)
{
    char *p = registry_path(r, ".lock");
    int waited = 0;
    r->lock_fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (r->lock_fd < 0) {
        int rc = error_set(RELHOST_EIO, "cannot open %s: %s (is the registry folder writable?)", p,
                           strerror(errno));
        free(p);
        return rc;
    }
    /* Operations take milliseconds: wait up to 30 s for another relhost's to end. */
    while (flock(r->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno != EWOULDBLOCK || waited >= 3000) {
            int rc = error_set(RELHOST_EIO,
                               "registry %s is locked by another relhost (%s); "
                               "try again when it is done",
                               r->dir, p);
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
    if ((rc = folder_trusted(dir)) != 0 || (rc = take_lock(r)) != 0 ||
        (rc = registry_recover(r)) != 0)
        return rc;
    return load_manifest(r);
}

void registry_close(registry *r)
{
    if (!r)
        return;
    if (r->lock_fd >= 0)
        close(r->lock_fd);
    manifest_free(&r->m);
    free(r->dir);
    free(r);
}

const manifest *registry_manifest(const registry *r) { return &r->m; }
const char *registry_dir(const registry *r) { return r->dir; }

const manifest_release *registry_entry(const registry *r, const char *version)
{
    return manifest_find(&r->m, version);
}

const char *registry_pointer(const registry *r, manifest_pointer p) { return r->m.pointer[p]; }

/* ---- what the operations share ------------------------------------------------------------- */

int registry_writable(const registry *r)
{
    if (r->lock_fd < 0)
        return error_set(RELHOST_EINVAL, "registry %s does not exist", r->dir);
    return 0;
}

char *registry_kept_name(const char *version)
{
    if (!version || !*version || version[0] == '.' || strchr(version, '/'))
        return NULL;
    return xasprintf("%s/%s.json", KEPT_DIR, version);
}

int registry_verify_staged(const registry *r, const manifest_release *e, char **refusal)
{
    for (size_t i = 0; i < e->nartifacts; i++) {
        const manifest_artifact *a = &e->artifacts[i];
        /* an entry without a path names "(null)", which no staging wrote: unreadable */
        char sha[65],
            *p = xasprintf("%s/staged/%s/%s", r->dir, e->version, a->path ? a->path : "(null)");
        int rc = 0;
        if (sha256_file(p, sha) != 0)
            rc = refusal ? registry_refuse(refusal,
                                           "staged artifact %s is unreadable (%s): the "
                                           "release cannot be promoted; stage it again",
                                           p, error_last())
                         : RELHOST_EINVAL;
        else if (!a->sha256 || strcmp(sha, a->sha256) != 0)
            rc = refusal ? registry_refuse(refusal,
                                           "staged artifact %s changed after staging: "
                                           "sha256 %s, staged as %s; it is not promoted (stage "
                                           "the release again from the candidate)",
                                           p, sha, a->sha256 ? a->sha256 : "(none)")
                         : RELHOST_EINVAL;
        free(p);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int commit_differs(const manifest_release *e, const char *commit, char **refusal)
{
    if (e->commit && commit && strcmp(e->commit, commit) != 0)
        return registry_refuse(refusal,
                               "release %s is in the registry for commit %.12s, not "
                               "%.12s: a version names one candidate; use a new version for the "
                               "new commit",
                               e->version, e->commit, commit);
    return 0;
}

static const char *reason_or(const manifest_release *e, const char *none)
{
    return e->reason ? e->reason : none;
}

/* The next manifest: a copy of r's with version entered and given status s now. */
static manifest_release *next_with(const registry *r, manifest *next, const char *version,
                                   const char *commit, manifest_status s)
{
    char ts[32];
    manifest_release *e;
    manifest_copy(&r->m, next);
    e = manifest_enter(next, version, commit);
    registry_now(ts);
    manifest_set_status(next, e, s, ts);
    return e;
}

/* ---- stage --------------------------------------------------------------------------------- */

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

/* Why version cannot be staged with these files, or 0. */
static int stage_refused(const registry *r, const manifest_release *old, const char *version,
                         const char *commit, const char *const *files, size_t n, char **refusal)
{
    int rc;
    if ((rc = registry_writable(r)) != 0)
        return rc;
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < i; k++)
            if (strcmp(base_name(files[i]), base_name(files[k])) == 0)
                return registry_refuse(refusal,
                                       "artifacts %s and %s have the same name: staged "
                                       "files keep their names, so they must differ",
                                       files[k], files[i]);
    if (old && (rc = commit_differs(old, commit, refusal)) != 0)
        return rc;
    if (old && old->status == MANIFEST_QUARANTINED)
        return registry_refuse(refusal,
                               "release %s is quarantined (%s): it can never be "
                               "promoted, so it is not staged again; qualify a new version",
                               version, reason_or(old, "no reason recorded"));
    return 0;
}

/* Copy files into the new folder tmp, each with its sha256 (sha: n of them) into arts. */
static int stage_copy(const char *tmp, const char *const *files, size_t n, manifest_staged *arts,
                      char (*sha)[65])
{
    int rc = 0;
    fs_remove_tree(tmp);
    if (mkdir(tmp, 0755) != 0)
        rc = error_set(RELHOST_EIO, "cannot create %s: %s", tmp, strerror(errno));
    for (size_t i = 0; rc == 0 && i < n; i++) {
        char *dst = path_join(tmp, base_name(files[i]));
        rc = fs_copy_sha256(files[i], dst, sha[i], &arts[i].size);
        arts[i].path = base_name(files[i]);
        arts[i].sha256 = sha[i];
        free(dst);
    }
    if (rc == 0)
        rc = fs_sync_dir(tmp);
    return rc;
}

int registry_stage(registry *r, const char *version, const char *commit, const char *const *files,
                   size_t n, char **staged_dir, char **refusal)
{
    double t0 = time_wall();
    const manifest_release *old = registry_entry(r, version);
    manifest_staged *arts;
    char(*sha)[65], *staged, *tmpname = NULL, *tmp = NULL;
    manifest next;
    int rc;
    *staged_dir = NULL;
    if ((rc = stage_refused(r, old, version, commit, files, n, refusal)) != 0)
        return rc;
    staged = registry_path(r, "staged");
    if ((rc = path_mkdirs(staged)) != 0) {
        free(staged);
        return rc;
    }
    arts = xcalloc(n + 1, sizeof *arts);
    sha = xcalloc(n + 1, sizeof *sha);
    tmpname = xasprintf(".tmp-%s-%d", version, (int)getpid());
    tmp = path_join(staged, tmpname);
    rc = stage_copy(tmp, files, n, arts, sha);
    if (rc == 0 && old && manifest_same_artifacts(&r->m, old, arts, n) &&
        registry_verify_staged(r, old, NULL) == 0) {
        /* the same bytes are staged already, intact: nothing to do */
        fs_remove_tree(tmp);
        *staged_dir = path_join(staged, version);
    } else {
        if (rc == 0 && old && old->status != MANIFEST_STAGED)
            rc = registry_refuse(refusal,
                                 "release %s is %s with other artifacts than these: "
                                 "staged bytes of a promoted release never change; qualify a "
                                 "new version",
                                 version, old->status_raw);
        crash_point("registry.stage.copied");
        if (rc != 0) {
            fs_remove_tree(tmp);
        } else {
            manifest_set_artifacts(&next, next_with(r, &next, version, commit, MANIFEST_STAGED),
                                   arts, n);
            rc = registry_commit(r, "stage", t0, &next, tmpname, version, NULL, NULL,
                                 json_pack("{s:s, s:i}", "version", version, "artifacts", (int)n));
            if (rc == 0)
                *staged_dir = path_join(staged, version);
        }
    }
    free(arts);
    free(sha);
    free(tmp);
    free(tmpname);
    free(staged);
    return rc;
}

/* ---- promote ------------------------------------------------------------------------------- */

/* Why version cannot be promoted, or 0; *done set when it is promoted already. */
static int promote_refused(const registry *r, const manifest_release *old, const char *version,
                           const char *commit, int *done, char **refusal)
{
    const char *lg = registry_pointer(r, MANIFEST_LAST_GREEN);
    int rc;
    *done = 0;
    if ((rc = registry_writable(r)) != 0)
        return rc;
    if (!old)
        return 0;
    if ((rc = commit_differs(old, commit, refusal)) != 0)
        return rc;
    if (old->status == MANIFEST_QUARANTINED)
        return registry_refuse(refusal,
                               "release %s is quarantined (%s): a quarantined release "
                               "is never promoted",
                               version, reason_or(old, "no reason"));
    if (old->status == MANIFEST_ROLLED_BACK)
        return registry_refuse(refusal,
                               "release %s was rolled back (%s): it is not promoted "
                               "again by a run; if it is good after all, use `relhost rollback "
                               "--to %s`",
                               version, reason_or(old, "no reason"), version);
    if (old->status == MANIFEST_PROMOTED) {
        if (lg && strcmp(lg, version) == 0)
            return *done = 1, 0; /* promoted already: a re-run changes nothing */
        return registry_refuse(refusal,
                               "release %s was promoted before and %s is last green "
                               "now: use `relhost rollback --to %s` to go back to it",
                               version, lg ? lg : "none", version);
    }
    return registry_verify_staged(r, old, refusal);
}

/* Nothing was staged for version: last_green still needs a folder to point at. *tmpname
 * (caller frees) is the empty folder made under staged/, or NULL when version has one. */
static int promote_folder(const registry *r, const char *version, char **tmpname)
{
    char *sd = xasprintf("%s/staged/%s", r->dir, version);
    int rc = 0;
    *tmpname = NULL;
    if (!fs_exists(sd)) {
        char *st = registry_path(r, "staged"), *tmp;
        *tmpname = xasprintf(".tmp-%s-%d", version, (int)getpid());
        tmp = path_join(st, *tmpname);
        rc = path_mkdirs(tmp);
        if (rc == 0)
            rc = fs_sync_dir(st);
        free(tmp);
        free(st);
    }
    free(sd);
    return rc;
}

int registry_promote(registry *r, const char *version, const char *commit,
                     const char *baseline_path, const char *baseline, char **refusal)
{
    double t0 = time_wall();
    const char *lg = registry_pointer(r, MANIFEST_LAST_GREEN);
    manifest next;
    char *tmpname = NULL, *keep, *cur = NULL;
    int rc, done;
    if ((rc = promote_refused(r, registry_entry(r, version), version, commit, &done, refusal)) !=
            0 ||
        done)
        return rc;
    if ((rc = promote_folder(r, version, &tmpname)) != 0) {
        free(tmpname);
        return rc;
    }
    manifest_set_reason(&next, next_with(r, &next, version, commit, MANIFEST_PROMOTED), NULL);
    if (lg && strcmp(lg, version) != 0)
        manifest_set_pointer(&next, MANIFEST_PREVIOUS_GREEN, lg);
    manifest_set_pointer(&next, MANIFEST_LAST_GREEN, version);
    manifest_set_pointer(&next, MANIFEST_LATEST, version);
    /* The release keeps the store its promotion leaves: the new one, or (promoted with none
     * computed) the current one as it is, so that a rollback to it restores exactly that. */
    keep = registry_kept_name(version);
    if (!baseline && baseline_path) {
        json_t *st = NULL;
        if (baseline_load(baseline_path, &st) == 0)
            cur = baseline_dump(st);
        json_decref(st);
    }
    {
        baseline_op bo = {.path = baseline ? baseline_path : NULL,
                          .data = baseline ? baseline : cur,
                          .keep = keep};
        rc = registry_commit(r, "promote", t0, &next, tmpname, tmpname ? version : NULL, version,
                             &bo,
                             json_pack("{s:s, s:o, s:s}", "version", version, "from",
                                       lg ? json_string(lg) : json_null(), "to", version));
    }
    free(keep);
    free(cur);
    free(tmpname);
    return rc;
}

/* ---- quarantine ---------------------------------------------------------------------------- */

static int quarantine(registry *r, const char *version, const char *commit, const char *reason,
                      char **refusal)
{
    double t0 = time_wall();
    const manifest_release *old = registry_entry(r, version);
    const char *lg = registry_pointer(r, MANIFEST_LAST_GREEN);
    manifest next;
    int rc;
    if ((rc = registry_writable(r)) != 0)
        return rc;
    if (old && old->status == MANIFEST_QUARANTINED)
        return 0; /* the first reason stands */
    if (lg && strcmp(lg, version) == 0)
        return registry_refuse(refusal,
                               "release %s is last green: roll it back first (`relhost "
                               "rollback -c PLAN --reason ...`), then it can be quarantined",
                               version);
    manifest_set_reason(&next, next_with(r, &next, version, commit, MANIFEST_QUARANTINED),
                        reason ? reason : "no reason given");
    return registry_commit(
        r, "quarantine", t0, &next, NULL, NULL, NULL, NULL,
        json_pack("{s:s, s:s}", "version", version, "reason", reason ? reason : "no reason given"));
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
