/* SPDX-License-Identifier: MIT */
/*
 * host_registry.c - the registry services of the host table (registry_stage, registry_promote,
 * registry_quarantine): the step's context (plan, state, candidate) turned into registry
 * operations. A refusal (quarantined release, changed artifact, nothing to stage) returns
 * RELHOST_EINVAL with the reason as the step's failure message, which the registry gate reports
 * as FAILED; anything else negative is a tool error.
 */
#include "base/error.h"
#include "base/log.h"
#include "base/util.h"
#include "plan/plan.h"
#include "plan/template.h"
#include "record/state.h"
#include "registry/registry.h"
#include "run/baseline.h"
#include "run/host.h"
#include "view/site.h"

#include <glob.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static hostctx *hc_of(const relhost_ctx *ctx) { return (hostctx *)ctx->host_private; }

static int fail(hostctx *hc, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The step's failure message; returns rc. */
static int fail(hostctx *hc, int rc, const char *fmt, ...)
{
    va_list ap;
    char *m;
    va_start(ap, fmt);
    m = xvasprintf(fmt, ap);
    va_end(ap);
    hostctx_fail(hc, m);
    free(m);
    return rc;
}

/* Open the plan's registry for an operation; on failure the step's message is set. */
static int open_for(hostctx *hc, const char *what, registry **r)
{
    int rc;
    if (!hc->plan) {
        hostctx_fail(hc, "the registry services work only inside a step of a run");
        return RELHOST_EINVAL;
    }
    if ((rc = registry_open(hc->plan->registry_dir, 1, r)) != 0)
        /* an unusable registry is a tool error, never a verdict */
        rc = fail(hc, RELHOST_EIO, "%s: %s", what, error_last());
    return rc;
}

/* The operation's outcome as the step sees it. */
static int finish(hostctx *hc, registry *r, int rc, char *refusal, const char *what)
{
    if (rc == RELHOST_EINVAL && refusal) {
        hostctx_fail(hc, refusal);
    } else if (rc != 0) {
        /* bad input (a corrupt baseline) is no verdict on the release */
        rc = fail(hc, rc == RELHOST_EINVAL ? RELHOST_EIO : rc, "%s: %s", what, error_last());
    }
    free(refusal);
    registry_close(r);
    return rc;
}

/* Regenerate <registry_dir>/site after a promotion or rollback; a failure is only a warning. */
void host_registry_site(const plan *p)
{
    char *dir = path_join(p->registry_dir, "site");
    if (site_write(p, dir) != 0)
        log_msg(RELHOST_LOG_WARN, "registry", "status page %s not regenerated: %s", dir,
                error_last());
    free(dir);
}

void host_registry_site_refresh(const plan *p)
{
    char *page = path_join(p->registry_dir, "site/index.html");
    if (access(page, F_OK) == 0)
        host_registry_site(p);
    free(page);
}

int host_registry_stage(const relhost_ctx *ctx, const relhost_strlist *artifacts)
{
    hostctx *hc = hc_of(ctx);
    const char *base;
    strvec files = {0};
    registry *r = NULL;
    char *refusal = NULL, *staged = NULL;
    int rc;
    if (!artifacts || artifacts->n == 0) {
        hostctx_fail(hc, "stage: no artifacts named: list files or globs in `artifacts`");
        return RELHOST_EINVAL;
    }
    if ((rc = open_for(hc, "stage", &r)) != 0) {
        registry_close(r);
        return rc;
    }
    base = hc->worktree ? hc->worktree : (hc->plan->repo ? hc->plan->repo : hc->plan->dir);
    for (size_t i = 0; rc == 0 && i < artifacts->n; i++) {
        char *pat =
            artifacts->v[i][0] == '/' ? xstrdup(artifacts->v[i]) : path_join(base, artifacts->v[i]);
        glob_t g;
        int gr = glob(pat, GLOB_ERR, NULL, &g);
        if (gr == GLOB_NOMATCH)
            rc = RELHOST_EINVAL, refusal = xasprintf("artifact %s matched nothing in %s: build it "
                                                     "before the stage step, or fix the path",
                                                     artifacts->v[i], base);
        else if (gr != 0)
            rc = error_set(RELHOST_EIO, "cannot list artifact %s", pat);
        for (size_t k = 0; gr == 0 && k < g.gl_pathc; k++)
            sv_push(&files, g.gl_pathv[k]);
        if (gr == 0)
            globfree(&g);
        free(pat);
    }
    if (rc == 0)
        rc = registry_stage(r, ctx->version, ctx->commit, (const char *const *)files.v, files.n,
                            &staged, &refusal);
    if (rc == 0) {
        const manifest_release *e = registry_entry(r, ctx->version);
        template_set("staged_dir", staged);
        for (size_t i = 0; e && i < e->nartifacts; i++) {
            char *uri = path_join(staged, e->artifacts[i].path);
            evidence_artifact(hc->ev, "staged", uri, e->artifacts[i].sha256);
            free(uri);
        }
        evidence_note(hc->ev, staged);
    }
    free(staged);
    sv_free(&files);
    return finish(hc, r, rc, refusal, "stage");
}

int host_registry_promote(const relhost_ctx *ctx)
{
    hostctx *hc = hc_of(ctx);
    registry *r = NULL;
    json_t *cur = NULL, *next = NULL;
    char *refusal = NULL, *dump = NULL, ts[32];
    int rc;
    /* The pipeline's publishing guard, again where the promotion happens: whatever the plan
     * now says about the step, an unqualified release is never made last green. */
    char *why = hc->unqualified ? hc->unqualified(hc->unqualified_arg) : NULL;
    if (why) {
        rc = fail(hc, RELHOST_EINVAL,
                  "not promoted: %s; a release is promoted only when "
                  "every required step before the promote step passed for its candidate",
                  why);
        free(why);
        return rc;
    }
    if ((rc = open_for(hc, "promote", &r)) != 0) {
        registry_close(r);
        return rc;
    }
    /* The baseline is written by a promotion only, with the manifest, in one commit. */
    time_iso8601(time_wall(), ts, sizeof ts);
    if ((rc = baseline_load(hc->plan->baseline_path, &cur)) == 0 && hc->state) {
        next = baseline_next(cur, state_root(hc->state), ctx->version, ctx->commit, ts);
        dump = next ? baseline_dump(next) : NULL;
    }
    if (rc == 0)
        rc =
            registry_promote(r, ctx->version, ctx->commit, hc->plan->baseline_path, dump, &refusal);
    if (rc == 0) {
        if (hc->promoted)
            *hc->promoted = 1;
        evidence_note(hc->ev, "last_green is now this release");
    }
    json_decref(cur);
    json_decref(next);
    free(dump);
    rc = finish(hc, r, rc, refusal, "promote");
    if (rc == 0)
        host_registry_site(hc->plan);
    return rc;
}

int host_registry_quarantine(const relhost_ctx *ctx, const char *reason)
{
    hostctx *hc = hc_of(ctx);
    registry *r = NULL;
    char *refusal = NULL, *why;
    int rc;
    if (hc->failure && hc->failure_code != 1 && !(reason && *reason)) {
        /* Quarantine is a verdict on the candidate ("never promotable"); a release that could
         * not decide (a tool or infrastructure error, no data) is not one: it stays open for a
         * re-run or a waiver, and publishes nothing meanwhile. */
        char *n = xasprintf("not quarantined: the release is undecided (exit %d), not failed; "
                            "re-run it, or waive what could not be decided (relhost waive)",
                            hc->failure_code);
        evidence_note(hc->ev, n);
        free(n);
        return 0;
    }
    if ((rc = open_for(hc, "quarantine", &r)) != 0) {
        registry_close(r);
        return rc;
    }
    why = reason && *reason ? xstrdup(reason)
          : hc->failure     ? xstrdup(hc->failure)
                            : xasprintf("quarantined by step %s", ctx->step ? ctx->step : "?");
    rc = registry_quarantine(r, ctx->version, ctx->commit, why, &refusal);
    if (rc == 0)
        evidence_note(hc->ev, why);
    if (rc == 0 && hc->state) {
        /* a quarantined release is never resumed: the next run without --release starts anew */
        const char *k[1] = {"quarantined"};
        state_set(hc->state, k, 1, json_true());
    }
    free(why);
    return finish(hc, r, rc, refusal, "quarantine");
}
