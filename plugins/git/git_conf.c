/* SPDX-License-Identifier: MIT */
/*
 * git_conf.c - the step's settings, checked when it opens: the git program and the remote (no
 * credentials in the plan), what each action needs, valid ref names, where the release notes
 * go, and ref only for plans without a candidate. Every refusal names the setting's file:line.
 */
#include "git.h"
#include "../common/pl_host.h"

#include <stdio.h>
#include <string.h>

/* The git program and the remote: a remote with credentials in it is refused. */
static int check_remote(const relhost_ctx *ctx, const struct git_conf *conf)
{
    char scrubbed[2048];

    if (conf->git == NULL || conf->git[0] == '\0') {
        pl_host->fail(ctx, "%s: git is empty: name the git program, e.g. git = \"/usr/bin/git\"",
                      pl_where(ctx, &conf->git));
        return RELHOST_EINVAL;
    }
    if (conf->remote == NULL || conf->remote[0] == '\0' || conf->remote[0] == '-') {
        pl_host->fail(ctx, "%s: remote \"%s\" is not a remote name or URL",
                      pl_where(ctx, &conf->remote), conf->remote != NULL ? conf->remote : "");
        return RELHOST_EINVAL;
    }
    snprintf(scrubbed, sizeof scrubbed, "%s", conf->remote);
    git_scrub_userinfo(scrubbed);
    if (strcmp(scrubbed, conf->remote) != 0 && strncmp(conf->remote, "ssh://", 6) != 0) {
        /* Never the value itself: it is a credential, and messages end up in reports. */
        pl_host->fail(ctx,
                      "%s: remote %s holds a user name or password: credentials stay out of "
                      "the plan; name a configured remote, or let a credential helper supply "
                      "them",
                      pl_where(ctx, &conf->remote), scrubbed);
        return RELHOST_EINVAL;
    }
    return 0;
}

/* What the action needs (a branch, a tag) and what it does not take; valid ref names. */
static int check_refs(const relhost_ctx *ctx, const struct git_conf *conf)
{
    const char *names[2][2] = {{"branch", conf->branch}, {"tag", conf->tag}};
    const void *fields[2] = {&conf->branch, &conf->tag};

    if (conf->action == GIT_PREPARE_BRANCH && conf->branch == NULL) {
        pl_host->fail(ctx,
                      "%s: action = \"prepare_branch\" needs the branch to create, e.g. "
                      "branch = \"release/{version}\"",
                      pl_where(ctx, &conf->action));
        return RELHOST_EINVAL;
    }
    if (conf->action == GIT_PREPARE_BRANCH && conf->tag != NULL) {
        pl_host->fail(ctx, "%s: tag belongs to action = \"tag\": make the tag a step of its own",
                      pl_where(ctx, &conf->tag));
        return RELHOST_EINVAL;
    }
    if (conf->action == GIT_TAG && conf->tag == NULL) {
        pl_host->fail(ctx,
                      "%s: action = \"tag\" needs the tag to create, e.g. tag = \"v{version}\"",
                      pl_where(ctx, &conf->action));
        return RELHOST_EINVAL;
    }
    for (size_t i = 0; i < 2; i++) {
        const char *why;
        if (names[i][1] == NULL)
            continue;
        why = strlen(names[i][1]) > GIT_NAME_MAX ? "it is longer than 400 characters"
                                                 : git_refname_problem(names[i][1]);
        if (why != NULL) {
            pl_host->fail(ctx, "%s: %s \"%s\" is not a valid git %s name: %s",
                          pl_where(ctx, fields[i]), names[i][0], names[i][1], names[i][0], why);
            return RELHOST_EINVAL;
        }
    }
    return 0;
}

/* commit_notes and notes_path: the tag step only, with a branch, a path inside the repo. */
static int check_notes(const relhost_ctx *ctx, const struct git_conf *conf)
{
    if (conf->commit_notes && conf->action != GIT_TAG) {
        /* Only the tag step runs after the validations, when the notes are complete. */
        pl_host->fail(ctx,
                      "%s: commit_notes belongs to action = \"tag\", which runs once the "
                      "validations have filled the notes: set it on the tag step",
                      pl_where(ctx, &conf->commit_notes));
        return RELHOST_EINVAL;
    }
    if (conf->commit_notes && conf->branch == NULL) {
        pl_host->fail(ctx,
                      "%s: commit_notes commits the notes onto the release branch: set branch, "
                      "e.g. branch = \"release/{version}\"",
                      pl_where(ctx, &conf->commit_notes));
        return RELHOST_EINVAL;
    }
    if (conf->notes_path != NULL) {
        const char *why = git_notes_path_problem(conf->notes_path);
        if (why != NULL) {
            pl_host->fail(ctx, "%s: notes_path \"%s\" is not a file inside the repository: %s",
                          pl_where(ctx, &conf->notes_path), conf->notes_path, why);
            return RELHOST_EINVAL;
        }
    }
    return 0;
}

/* ref: only without the plan's candidate, and a name that cannot be read as an option. */
static int check_ref(const relhost_ctx *ctx, const struct git_conf *conf)
{
    if (conf->ref != NULL && ctx->commit != NULL) {
        /* Two sources for one commit would let the step tag something that was not tested. */
        pl_host->fail(ctx,
                      "%s: ref is only for plans that name no repo; this plan's candidate is "
                      "%.12s (the plan's repo and ref): remove the step's ref",
                      pl_where(ctx, &conf->ref), ctx->commit);
        return RELHOST_EINVAL;
    }
    if (conf->ref != NULL && (conf->ref[0] == '\0' || conf->ref[0] == '-')) {
        pl_host->fail(ctx, "%s: ref \"%s\" is not a branch, tag or commit name",
                      pl_where(ctx, &conf->ref), conf->ref);
        return RELHOST_EINVAL;
    }
    return 0;
}

int git_conf_check(const relhost_ctx *ctx, const struct git_conf *conf)
{
    int rc;

    if ((rc = check_remote(ctx, conf)) != 0 || (rc = check_refs(ctx, conf)) != 0 ||
        (rc = check_notes(ctx, conf)) != 0 || (rc = check_ref(ctx, conf)) != 0)
        return rc;
    return 0;
}
