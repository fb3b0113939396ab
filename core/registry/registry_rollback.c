/* SPDX-License-Identifier: MIT */
/* registry_rollback.c - moving last_green back (registry.h registry_rollback), with the
 * baseline the release it returns to kept at its promotion. */
#include "base/secrets.h"
#include "registry/registry_int.h"

#include "base/error.h"
#include "base/util.h"
#include "plan/keycheck.h"
#include "registry/fsutil.h"
#include "run/baseline.h"

#include <relhost/plugin.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The newest release of m before index `before` that is promoted (and not `skip`). */
static const char *green_before(const manifest *m, size_t before, const char *skip)
{
    while (before-- > 0) {
        const manifest_release *e = &m->releases[before];
        /* a rolled-back release was judged bad: only an explicit --to brings it back */
        if (e->status != MANIFEST_PROMOTED || !e->promoted_at)
            continue;
        if (skip && strcmp(e->version, skip) == 0)
            continue;
        return e->version;
    }
    return NULL;
}

static size_t index_of(const manifest *m, const char *version)
{
    const manifest_release *e = manifest_find(m, version);
    return e ? (size_t)(e - m->releases) : m->nreleases;
}

/* What a rollback to `to` does to the baseline store at bpath: *data (caller frees) is to's kept
 * store, or NULL when it kept none (or its copy cannot be read): then the store is removed, fail
 * closed ("no baseline yet", never the values of the release rolled back from). rp->baseline
 * says which, for the command's output and the audit line. */
static void rollback_baseline(const registry *r, const char *to, const char *bpath, int dry_run,
                              char **data, rollback_plan *rp)
{
    char *kn = registry_kept_name(to), *kp = kn ? registry_path(r, kn) : NULL;
    char removed[512];
    json_t *st = NULL;
    *data = NULL;
    snprintf(removed, sizeof removed,
             "%s the baseline store %s, so baseline rules say \"no "
             "baseline yet\" until the next promotion",
             dry_run ? "would remove" : "removed", bpath);
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
                 "no baseline kept for release %s (promoted by an older relhost): %s", to, removed);
    json_decref(st);
    free(kp);
    free(kn);
}

/* *to: the release to roll back to from `from` (*to itself when named); or RELHOST_EINVAL with
 * *refusal set. */
static int rollback_target(const registry *r, const char *from, const char **to, char **refusal)
{
    const manifest_release *te;
    if (!*to) {
        const char *pg = registry_pointer(r, MANIFEST_PREVIOUS_GREEN);
        const manifest_release *pe = pg ? registry_entry(r, pg) : NULL;
        if (pe && pe->status != MANIFEST_QUARANTINED && strcmp(pg, from) != 0)
            *to = pg;
        else
            *to = green_before(&r->m, index_of(&r->m, from), from);
        if (!*to)
            return registry_refuse(refusal,
                                   "no earlier promoted release to roll back to from %s "
                                   "(a quarantined one never is): name one with --to VERSION",
                                   from);
    }
    te = registry_entry(r, *to);
    if (!te) {
        strvec names = {0};
        char *hint;
        int rc;
        for (size_t i = 0; i < r->m.nreleases; i++)
            sv_push(&names, r->m.releases[i].version);
        hint = keycheck_hint(*to, (const char *const *)names.v, names.n, NULL, NULL);
        rc = registry_refuse(refusal,
                             "--to %s: no such release in registry %s%s (`relhost releases` "
                             "lists them)",
                             *to, r->dir, hint);
        free(hint);
        sv_free(&names);
        return rc;
    }
    if (te->status == MANIFEST_QUARANTINED)
        return registry_refuse(refusal,
                               "--to %s: that release is quarantined (%s) and is never "
                               "green again",
                               *to, te->reason ? te->reason : "no reason");
    if (!te->promoted_at)
        return registry_refuse(refusal, "--to %s: that release was never promoted (it is %s)", *to,
                               te->status_raw);
    if (strcmp(*to, from) == 0)
        return registry_refuse(refusal, "--to %s: that release is last green already", *to);
    return 0;
}

static int rollback(registry *r, const char *to, const char *reason, int quarantine_from,
                    int dry_run, const char *baseline_path, rollback_plan *rp, char **refusal)
{
    char *bdata = NULL;
    double t0 = time_wall();
    const char *from = registry_pointer(r, MANIFEST_LAST_GREEN), *prev;
    manifest next;
    manifest_release *e;
    int rc;
    memset(rp, 0, sizeof *rp);
    if (!from)
        return registry_refuse(refusal,
                               "registry %s has no last green release: nothing to roll "
                               "back",
                               r->dir);
    if ((rc = rollback_target(r, from, &to, refusal)) != 0)
        return rc;
    snprintf(rp->from, sizeof rp->from, "%s", from);
    snprintf(rp->to, sizeof rp->to, "%s", to);
    if (dry_run) {
        if (baseline_path)
            rollback_baseline(r, to, baseline_path, 1, &bdata, rp);
        free(bdata);
        return 0;
    }
    if ((rc = registry_writable(r)) != 0)
        return rc;
    if ((rc = registry_verify_staged(r, registry_entry(r, to), refusal)) != 0)
        return rc;
    if (baseline_path)
        rollback_baseline(r, to, baseline_path, 0, &bdata, rp);
    {
        char ts[32];
        registry_now(ts);
        manifest_copy(&r->m, &next);
        e = manifest_enter(&next, from, NULL);
        manifest_set_status(&next, e, quarantine_from ? MANIFEST_QUARANTINED : MANIFEST_ROLLED_BACK,
                            ts);
        if (quarantine_from)
            manifest_set_rolled_back_at(&next, e, ts);
    }
    manifest_set_reason(&next, e, reason);
    e = manifest_enter(&next, to, NULL);
    manifest_set_status(&next, e, MANIFEST_PROMOTED, NULL);
    manifest_set_reason(&next, e, NULL);
    manifest_set_pointer(&next, MANIFEST_LAST_GREEN, to);
    prev = green_before(&next, index_of(&next, to), from);
    manifest_set_pointer(&next, MANIFEST_PREVIOUS_GREEN, prev);
    {
        /* The baseline goes back with last_green, in the same commit. */
        baseline_op bo = {.path = baseline_path, .data = bdata, .remove = !bdata};
        json_t *a = json_pack("{s:s, s:s, s:s}", "from", from, "to", to, "reason", reason);
        if (baseline_path)
            json_object_set_new(a, "baseline", json_string(rp->baseline));
        rc = registry_commit(r, quarantine_from ? "rollback+quarantine" : "rollback", t0, &next,
                             NULL, NULL, to, baseline_path ? &bo : NULL, a);
    }
    free(bdata);
    rp->duration_ms = (time_wall() - t0) * 1000.0;
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
