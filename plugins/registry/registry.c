/* SPDX-License-Identifier: MIT */
/*
 * registry.c - the release registry's actions as a gate (DESIGN "Promotion"). The registry
 * itself is the host's (its files, commit protocol and crash recovery live in core); this gate
 * only says which operation a step performs:
 *   action = "stage"       copy the candidate's artifacts (files or globs, relative to the
 *                          candidate's worktree, else the plan's repo, else the plan's folder)
 *                          into <registry_dir>/staged/<version>/ with their sha256s
 *   action = "promote"     re-check the staged sha256s, flip latest / last_green /
 *                          previous_green, write the baseline (give it publishes = true)
 *   action = "quarantine"  mark the release quarantined: never promotable (use it with
 *                          when = "on_failure"; the reason defaults to the failing step and checks)
 * Outcomes: done (or done before: re-running is safe) PASSED; refused by the registry (a
 * quarantined release, a changed staged artifact, nothing to stage) FAILED with the registry's
 * reason; a registry that cannot be read or written ERROR.
 */
#include <relhost/plugin.h>

#include "../common/pl_host.h"

#include <stddef.h>
#include <stdlib.h>

enum registry_action { ACT_STAGE = 0, ACT_PROMOTE, ACT_QUARANTINE };

struct registry_conf {
    int action;
    relhost_strlist artifacts;
    const char *reason;
};

static const char *const actions[] = {"stage", "promote", "quarantine", NULL};

#define OPT(f, t, ...) PL_OPT(struct registry_conf, f, t, __VA_ARGS__)
static const relhost_option registry_options[] = {
    OPT(action, ENUM, .required = 1,
        .doc = "stage: copy the artifacts into the registry; promote: make the release last green "
               "(publishes); quarantine: mark it never promotable",
        .choices = actions),
    OPT(artifacts, STRLIST,
        .doc = "stage: files or globs to stage, e.g. [\"dist/*.whl\", \"model/{version}.pt\"]; "
               "relative to the candidate's worktree, else the plan's repo, else the plan's folder",
        .flags = RELHOST_OPTF_TEMPLATE),
    OPT(reason, STRING,
        .doc = "quarantine: the reason recorded (default: the first failing required step and its "
               "failing checks)",
        .flags = RELHOST_OPTF_TEMPLATE),
    {0}};
#undef OPT

static int registry_open(const relhost_ctx *ctx, const void *conf, void **inst)
{
    const struct registry_conf *c = conf;
    if (c->action == ACT_STAGE && c->artifacts.n == 0) {
        pl_host->fail(ctx, "%s: action \"stage\" needs artifacts = [\"path or glob\", ...]",
                      pl_where(ctx, &c->action));
        return RELHOST_EINVAL;
    }
    if (c->action != ACT_STAGE && c->artifacts.n) {
        pl_host->fail(ctx, "%s: artifacts go with action \"stage\" only",
                      pl_where(ctx, &c->artifacts));
        return RELHOST_EINVAL;
    }
    if (c->action != ACT_QUARANTINE && c->reason) {
        pl_host->fail(ctx, "%s: reason goes with action \"quarantine\" only",
                      pl_where(ctx, &c->reason));
        return RELHOST_EINVAL;
    }
    if (!pl_host->registry_stage || !pl_host->registry_promote || !pl_host->registry_quarantine) {
        pl_host->fail(ctx, "this relhost offers no release registry (ABI %d.%d host without it)",
                      RELHOST_ABI_MAJOR, RELHOST_ABI_MINOR);
        return RELHOST_ENOTSUP;
    }
    *inst = (void *)c;
    return 0;
}

static int registry_describe(const relhost_ctx *ctx, void *inst)
{
    const struct registry_conf *c = inst;
    switch (c->action) {
    case ACT_STAGE:
        for (size_t i = 0; i < c->artifacts.n; i++)
            pl_host->note_add(ctx, "would stage %s for release %s", c->artifacts.v[i],
                              ctx->version);
        break;
    case ACT_PROMOTE:
        pl_host->note_add(ctx,
                          "would re-check the staged sha256s of %s and make it last green, "
                          "writing the baseline",
                          ctx->version);
        break;
    default: pl_host->note_add(ctx, "would quarantine %s when the release fails", ctx->version);
    }
    return 0;
}

static int registry_run(const relhost_ctx *ctx, void *inst, relhost_verdict *out)
{
    const struct registry_conf *c = inst;
    int rc;
    if (pl_launch_skips(ctx, out))
        return 0;
    rc = c->action == ACT_STAGE     ? pl_host->registry_stage(ctx, &c->artifacts)
         : c->action == ACT_PROMOTE ? pl_host->registry_promote(ctx)
                                    : pl_host->registry_quarantine(ctx, c->reason);
    if (rc == RELHOST_EINVAL) {
        /* refused: the host put the registry's reason into the step's message */
        out->outcome = RELHOST_FAILED;
        out->reason = c->action == ACT_PROMOTE ? "not_promotable" : "refused";
        return 0;
    }
    if (rc != 0)
        return rc;
    out->outcome = RELHOST_PASSED;
    return 0;
}

const relhost_plugin pl_plugin = {
    PL_PLUGIN_BASE("registry", "1.0.0", registry_options, struct registry_conf),
    .description = "stage, promote or quarantine the release in the host's release registry",
    .gate = PL_GATE_OPS(registry, .close = pl_close_conf),
};
