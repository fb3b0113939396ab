/* SPDX-License-Identifier: MIT */
/*
 * git.c - release actions over the git CLI: create the release branch, tag the candidate.
 *
 *   action = "prepare_branch": refs/heads/<branch> is created at the candidate commit with
 *     `git update-ref` (never a checkout: the work tree and index stay as they are) and, with
 *     push, pushed alone to the remote.
 *   action = "tag": an annotated tag on the candidate, its message the release notes' first
 *     lines, pushed together with the release branch in ONE atomic push, so the remote gets both
 *     or neither. With commit_notes, the release notes are first committed onto the branch as
 *     one commit over the candidate (git_notes.c), so the pull request carries them; the tag
 *     stays on the candidate. That branch push goes with --force-with-lease naming the commit
 *     ls-remote saw, so it replaces relhost's earlier notes commit and nothing else.
 *
 * Re-running a release must pass without changing anything, and must never move what a person
 * (or another release) made. So a branch that exists passes when it is at the candidate, or at
 * relhost's own release-notes commit on top of it (one parent, the candidate; author "relhost");
 * a tag passes when it peels to the candidate. Anything else is FAILED "exists at A, expected B"
 * and left alone: nothing here deletes a ref, and the one forced push (a notes commit replacing
 * relhost's earlier one) is leased. Before pushing, the remote's copies are read with ls-remote
 * and judged by the same rule.
 *
 * Verdicts:
 *   created, or already as wanted, locally and on the remote     PASSED
 *   branch or tag exists at another commit (here or remotely)    FAILED  branch_exists, tag_exists
 *   uncommitted changes and require_clean                        ERROR   dirty_tree
 *   the remote refused the push (a hook, a protection rule, or
 *   the branch moved after ls-remote read it: a stale lease)     ERROR   push_rejected
 *   git missing, no repository, ref missing, detached HEAD...    ERROR   tool_error
 *   a network failure or a timeout                               ERROR   tool_error, retryable
 */
#include "git.h"
#include "../common/pl_host.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const git_actions[] = {"prepare_branch", "tag", NULL};

#define OPT(f, t, ...) PL_OPT(struct git_conf, f, t, __VA_ARGS__)
static const relhost_option git_options[] = {
    OPT(action, ENUM, .required = 1,
        .doc = "prepare_branch: create (and push) the release branch at the candidate; tag: an "
               "annotated tag on it, pushed atomically with the branch",
        .choices = git_actions),
    OPT(repo, STRING, .def = ".",
        .doc = "a folder inside the repository (relative to the plan's folder); it must hold the "
               "plan's candidate commit",
        .flags = RELHOST_OPTF_PATH),
    OPT(branch, STRING,
        .doc = "the release branch, e.g. \"release/{version}\" (prepare_branch: required; tag: "
               "pushed with the tag, unset: the tag alone)",
        .flags = RELHOST_OPTF_TEMPLATE),
    OPT(tag, STRING, .doc = "the tag, e.g. \"v{version}\" (action tag: required)",
        .flags = RELHOST_OPTF_TEMPLATE),
    OPT(remote, STRING, .def = "origin",
        .doc = "the remote pushed to: a configured remote's name, or a URL"),
    OPT(push, BOOL, .def = "true", .doc = "push to the remote (false: create locally only)"),
    OPT(require_clean, BOOL, .def = "true",
        .doc = "refuse when tracked files have uncommitted changes"),
    OPT(ref, STRING,
        .doc = "only for plans that name no repo: the commit to release (default HEAD, which must "
               "be on a branch)"),
    OPT(timeout, DURATION, .def = "5m",
        .doc = "stop any one git command after this long (0: never)", .min = 0, .max = 86400),
    OPT(git, STRING, .def = "git",
        .doc = "the git program (looked up in PATH unless it holds a '/')"),
    OPT(commit_notes, BOOL, .def = "false",
        .doc = "action tag: also commit the release notes onto the branch, as one commit over the "
               "candidate (author relhost), so a pull request from the branch carries them; the "
               "tag stays on the candidate"),
    OPT(notes_path, STRING, .def = "RELEASE_NOTES.md",
        .doc = "with commit_notes: the notes' file in the repository, relative to its top folder "
               "(no \"..\", not absolute)",
        .flags = RELHOST_OPTF_TEMPLATE),
    {0}};
#undef OPT

/* A verdict other than PASSED, explained once (the host shows it as the step's message). */
static void verdict(const struct gitrun *g, relhost_verdict *out, relhost_outcome oc,
                    const char *reason, int retryable, const char *fmt, ...) RELHOST_PRINTF(6, 7);
static void verdict(const struct gitrun *g, relhost_verdict *out, relhost_outcome oc,
                    const char *reason, int retryable, const char *fmt, ...)
{
    char msg[4096];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    pl_host->fail(g->ctx, "%s", msg);
    out->outcome = oc;
    out->reason = reason;
    out->retryable = retryable;
}

static void label(const struct gitrun *g, const char *key, const char *value)
{
    if (RELHOST_HAS(pl_host, label_set) && pl_host->label_set != NULL && value != NULL)
        pl_host->label_set(g->ctx, key, value);
}

static int git_open(const relhost_ctx *ctx, const void *confp, void **inst)
{
    const struct git_conf *conf = confp;
    int rc;

    if ((rc = git_conf_check(ctx, conf)) != 0)
        return rc;
    *inst = (void *)conf;
    return 0;
}

static void gitrun_init(struct gitrun *g, const relhost_ctx *ctx, const struct git_conf *conf,
                        int check)
{
    memset(g, 0, sizeof *g);
    g->ctx = ctx;
    g->conf = conf;
    g->check = check;
    g->dir = conf->repo;
}

static void failed_exists(const struct gitrun *g, relhost_verdict *out, const char *kind,
                          const char *name, const char *where, const char *at)
{
    verdict(g, out, RELHOST_FAILED, strcmp(kind, "tag") == 0 ? "tag_exists" : "branch_exists", 0,
            "%s %s%s exists at %s, expected %s (the commit being released, from %s); relhost "
            "never moves it: delete it if it is stale, or release under another version",
            kind, name, where, at, g->commit, g->source);
}

/* Decide about the remote's copy of the branch: push it (it is absent, at the candidate, or
 * already at our tip), replace it (it holds relhost's notes commit and `replace`: the tag step
 * with commit_notes, whose push is leased), leave it (relhost's notes commit otherwise), or
 * FAILED. */
static int judge_remote_branch(struct gitrun *g, const char *name, const char *remote_tip,
                               const char *local_tip, int replace, int *push_it,
                               relhost_verdict *out)
{
    char where[1024];
    enum git_ref_state st;
    int rc;

    *push_it = 1;
    if (remote_tip[0] == '\0' || strcmp(remote_tip, local_tip) == 0 ||
        strcmp(remote_tip, g->commit) == 0)
        return 0;
    if ((rc = git_judge_tip(g, remote_tip, &st)) != 0)
        return rc;
    *push_it = 0;
    if (st == GIT_REF_NOTES && replace) {
        *push_it = 1;
        pl_host->note_add(g->ctx,
                          "%s has branch %s at %s, relhost's earlier release-notes commit over "
                          "the candidate: replaced by %s, leased on %s",
                          g->conf->remote, name, remote_tip, local_tip, remote_tip);
        return 0;
    }
    if (st == GIT_REF_NOTES) {
        /* Ours is the candidate, or another notes commit that the tag step pushes. */
        pl_host->note_add(g->ctx,
                          "%s already has branch %s at %s, relhost's release-notes commit "
                          "over the candidate: left as it is",
                          g->conf->remote, name, remote_tip);
        return 0;
    }
    snprintf(where, sizeof where, " on %s", g->conf->remote);
    failed_exists(g, out, "branch", name, where, remote_tip);
    return 0;
}

static const char *push_word(char flag)
{
    switch (flag) {
    case '*': return "created";
    case '=': return "already there";
    case ' ': return "fast-forwarded";
    case '+': return "forced";
    case '-': return "deleted";
    default: return "rejected";
    }
}

/* One `git push --porcelain` of n refspecs (atomic: all or none), with lease NULL or a
 * "--force-with-lease=REF:EXPECT" option. A refusal by the remote is an ERROR verdict quoting
 * git; a failure to reach it is a negative return. */
static int push_refs(struct gitrun *g, const char *const *specs, size_t n, int atomic,
                     const char *lease, relhost_verdict *out)
{
    const char *args[8 + GIT_PUSH_MAX];
    struct git_pushed lines[2 * GIT_PUSH_MAX];
    char res[8192], refused[1024];
    size_t k = 0, nl, used = 0;
    int code = 0;
    int rc;

    args[k++] = "push";
    if (atomic)
        args[k++] = "--atomic";
    args[k++] = "--porcelain";
    /* push.followTags in the user's config would add tags we were not asked to push. */
    args[k++] = "--no-follow-tags";
    if (lease != NULL)
        args[k++] = lease;
    args[k++] = g->conf->remote;
    for (size_t i = 0; i < n && i < GIT_PUSH_MAX; i++)
        args[k++] = specs[i];
    args[k] = NULL;
    if ((rc = git_cmd(g, args, NULL, res, sizeof res, &code)) != 0)
        return rc;
    nl = git_parse_push(res, lines, 2 * GIT_PUSH_MAX);
    if (nl > 2 * GIT_PUSH_MAX) /* never: it fills at most max; says so to the optimizer */
        nl = 2 * GIT_PUSH_MAX;
    refused[0] = '\0';
    for (size_t i = 0; i < nl; i++) {
        if (lines[i].flag != '!' || used >= sizeof refused)
            continue;
        int w = snprintf(refused + used, sizeof refused - used, "%s%s %s", used ? ", " : "",
                         lines[i].to, lines[i].summary);
        used += w > 0 ? (size_t)w : 0;
    }
    if (refused[0] != '\0' && strstr(refused, "stale info") != NULL) {
        verdict(g, out, RELHOST_ERROR, "push_rejected", 0,
                "%s refused the push: %s; the branch there moved after relhost read it "
                "(someone else pushed to it), and relhost only replaces the commit it saw; "
                "nothing was pushed%s: see what the branch holds now (git ls-remote %s), "
                "then run the step again",
                g->conf->remote, refused,
                atomic && n > 1 ? " (one atomic push: neither ref "
                                  "changed)"
                                : "",
                g->conf->remote);
        return 0;
    }
    if (refused[0] != '\0') {
        verdict(g, out, RELHOST_ERROR, "push_rejected", 0,
                "%s refused the push: %s; git said: %s; nothing was pushed%s: fix what the "
                "remote objects to and run the step again",
                g->conf->remote, refused, git_errmsg(g),
                atomic && n > 1 ? " (one atomic push: neither ref changed)" : "");
        return 0;
    }
    if (code != 0) {
        pl_host->fail(g->ctx,
                      "git push to %s failed (exit %d): %s; check the remote's name or URL "
                      "and your access to it (credential helper, ssh agent)",
                      g->conf->remote, code, git_errmsg(g));
        return g->transient ? RELHOST_ERETRY : RELHOST_EFAIL;
    }
    for (size_t i = 0; i < n; i++) {
        const char *dst = strrchr(specs[i], ':') != NULL ? strrchr(specs[i], ':') + 1 : specs[i];
        size_t j = 0;
        while (j < nl && strcmp(lines[j].to, dst) != 0)
            j++;
        if (j == nl) {
            pl_host->fail(g->ctx,
                          "git push to %s exited 0 but reported nothing about %s: check "
                          "the remote by hand (git ls-remote %s %s)",
                          g->conf->remote, dst, g->conf->remote, dst);
            return RELHOST_EFAIL;
        }
        pl_host->note_add(g->ctx, "pushed %s to %s: %s %s", dst, g->conf->remote,
                          push_word(lines[j].flag), lines[j].summary);
    }
    return 0;
}

static int prepare_branch(struct gitrun *g, relhost_verdict *out)
{
    const char *name = g->conf->branch;
    char ref[GIT_NAME_MAX + 16], spec[2 * GIT_NAME_MAX + 32];
    char tip[GIT_OID_MAX], remote_tip[1][GIT_OID_MAX];
    const char *names[1] = {ref};
    const char *specs[1] = {spec};
    enum git_ref_state st;
    int push_it = 1;
    int rc;

    snprintf(ref, sizeof ref, "refs/heads/%s", name);
    if ((rc = git_branch_state(g, name, tip, &st)) != 0)
        return rc;
    if (st == GIT_REF_ELSEWHERE) {
        failed_exists(g, out, "branch", name, "", tip);
        return 0;
    }
    if (st == GIT_REF_MISSING) {
        char zero[GIT_OID_MAX], why[GIT_NAME_MAX];
        size_t len = strlen(g->commit);
        const char *args[] = {"update-ref", "-m", why, ref, g->commit, zero, NULL};
        int code = 0;

        /* An all-zero old value: create, and fail rather than move a branch made meanwhile. */
        memset(zero, '0', len);
        zero[len] = '\0';
        snprintf(why, sizeof why, "relhost: release %s", g->ctx->version);
        if ((rc = git_cmd(g, args, NULL, NULL, 0, &code)) != 0)
            return rc;
        if (code != 0)
            return git_failed(g, "update-ref", code, NULL, "could not create branch %s at %s in %s",
                              name, g->commit, g->top);
        snprintf(tip, sizeof tip, "%s", g->commit);
        pl_host->note_add(g->ctx,
                          "created branch %s at %s, %s (the ref only: the work tree and "
                          "index were not touched)",
                          name, g->commit, g->source);
    } else if (st == GIT_REF_AT_COMMIT) {
        pl_host->note_add(g->ctx, "branch %s already at %s, %s: nothing to create", name, g->commit,
                          g->source);
    } else {
        pl_host->note_add(g->ctx,
                          "branch %s at %s, relhost's release-notes commit over %s (%s): "
                          "kept",
                          name, tip, g->commit, g->source);
    }
    label(g, "branch", name);
    label(g, "commit", g->commit);
    out->outcome = RELHOST_PASSED;
    if (!g->conf->push) {
        pl_host->note_add(g->ctx, "push = false: the branch stays in %s", g->top);
        return 0;
    }
    if ((rc = git_ls_remote(g, names, 1, remote_tip)) != 0)
        return rc;
    if ((rc = judge_remote_branch(g, name, remote_tip[0], tip, 0, &push_it, out)) != 0)
        return rc;
    if (out->outcome != RELHOST_PASSED || !push_it)
        return 0;
    snprintf(spec, sizeof spec, "%s:%s", ref, ref);
    return push_refs(g, specs, 1, 0, NULL, out);
}

/* Create the annotated tag `name` (tref: its ref) on g->commit, its message the head of the
 * release notes; obj gets the tag object. */
static int create_tag(struct gitrun *g, const char *name, const char *tref, char obj[GIT_OID_MAX])
{
    char msg[GIT_MSG_MAX], path[4096], head[256];
    const char *args[] = {"tag",     "-a", "--cleanup=whitespace", "-F", "-", "--", name,
                          g->commit, NULL};
    int from_notes = 0, code = 0;
    int rc;

    /* --cleanup=whitespace: the default would strip lines starting with '#' as comments, and
     * Markdown notes begin with exactly such a heading. */
    git_tag_message(g, msg, sizeof msg, path, sizeof path, &from_notes);
    if ((rc = git_cmd(g, args, msg, NULL, 0, &code)) != 0)
        return rc;
    if (code != 0)
        return git_failed(g, "tag", code,
                          strstr(g->err, "user.email") != NULL
                              ? "set user.name and user.email (git config), or "
                                "GIT_COMMITTER_NAME and GIT_COMMITTER_EMAIL in relhost's "
                                "environment"
                              : NULL,
                          "could not create tag %s on %s in %s", name, g->commit, g->top);
    if ((rc = git_resolve(g, tref, obj)) != 0)
        return rc == RELHOST_ENOTFOUND ? RELHOST_EFAIL : rc;
    git_message_head(msg, head, sizeof head);
    pl_host->note_add(
        g->ctx, "created annotated tag %s (tag object %s) on %s, %s; message \"%s\"%s%s", name, obj,
        g->commit, g->source, head, from_notes ? " from " : "", from_notes ? path : "");
    if (!from_notes)
        pl_host->note_add(g->ctx,
                          "the release notes %s were missing or empty: the tag's message is "
                          "\"Release %s\"",
                          path, g->ctx->version);
    return 0;
}

/* The branch pushed with the tag must exist here, at the candidate or at relhost's notes commit
 * over it: tip and *bst say where it is; 1 when it is elsewhere (the step FAILED, *out set). */
static int tag_branch(struct gitrun *g, const char *branch, char tip[GIT_OID_MAX],
                      enum git_ref_state *bst, relhost_verdict *out, int *failed)
{
    int rc;

    if ((rc = git_branch_state(g, branch, tip, bst)) != 0)
        return rc;
    if (*bst == GIT_REF_MISSING) {
        pl_host->fail(g->ctx,
                      "branch %s does not exist in %s, and the tag is pushed together with it: "
                      "run the prepare_branch step first, or leave branch unset to push the "
                      "tag alone",
                      branch, g->top);
        return RELHOST_EINVAL;
    }
    if (*bst == GIT_REF_ELSEWHERE) {
        failed_exists(g, out, "branch", branch, "", tip);
        *failed = 1;
    }
    return 0;
}

/* The remote's tag (rtag: its object, rpeel: what it peels to, "" when missing): 1 when it is
 * on another commit (the step FAILED, *out set); *push = 0 when it is another tag object on the
 * candidate (the release is tagged: pushing ours would be refused). */
static int remote_tag_elsewhere(struct gitrun *g, const char *name, const char *rtag,
                                const char *rpeel, const char *obj, int *push, relhost_verdict *out)
{
    const char *peeled = rpeel[0] != '\0' ? rpeel : rtag;
    char where[1024];

    if (rtag[0] == '\0')
        return 0;
    if (strcmp(peeled, g->commit) != 0) {
        snprintf(where, sizeof where, " on %s", g->conf->remote);
        failed_exists(g, out, "tag", name, where, peeled);
        return 1;
    }
    if (strcmp(rtag, obj) != 0) {
        /* Another tag object on the same commit: the release is tagged; pushing ours would be
         * refused ("already exists") and take the branch down with it. */
        *push = 0;
        pl_host->note_add(g->ctx,
                          "%s already has tag %s on %s (tag object %s, ours is %s): left as it is",
                          g->conf->remote, name, g->commit, rtag, obj);
    }
    return 0;
}

/* Push the branch (bref; rbranch: what the remote holds) and the tag (tref) that need it, in
 * one atomic push. */
static int push_tag_refs(struct gitrun *g, const char *bref, const char *rbranch, int push_branch,
                         const char *tref, int push_tag, relhost_verdict *out)
{
    char lease[GIT_NAME_MAX + GIT_OID_MAX + 48];
    const char *specs[2];
    size_t nspecs = 0;

    /* Branch first, as a reader of the push output expects; one push, so both or neither. */
    if (push_branch)
        specs[nspecs++] = bref;
    if (push_tag)
        specs[nspecs++] = tref;
    if (nspecs == 0) {
        pl_host->note_add(g->ctx, "%s already has the tag and the branch: nothing to push",
                          g->conf->remote);
        return 0;
    }
    /* The notes commit replaces relhost's earlier one on the remote, a forced update: leased on
     * what ls-remote saw ("" = must not exist), so a branch someone moved since is refused. */
    if (push_branch && g->conf->commit_notes)
        snprintf(lease, sizeof lease, "--force-with-lease=%s:%s", bref, rbranch);
    return push_refs(g, specs, nspecs, 1, push_branch && g->conf->commit_notes ? lease : NULL, out);
}

static int tag_action(struct gitrun *g, relhost_verdict *out)
{
    const char *name = g->conf->tag, *branch = g->conf->branch;
    char tref[GIT_NAME_MAX + 16], tpeel[GIT_NAME_MAX + 16], bref[GIT_NAME_MAX + 16];
    char obj[GIT_OID_MAX], tip[GIT_OID_MAX], remote[3][GIT_OID_MAX], kind[32];
    const char *names[3] = {tref, tpeel, bref};
    enum git_ref_state st, bst = GIT_REF_MISSING;
    int push_tag = 1, push_branch = 0, failed = 0;
    int rc;

    snprintf(tref, sizeof tref, "refs/tags/%s", name);
    snprintf(tpeel, sizeof tpeel, "refs/tags/%s^{}", name);
    if (branch != NULL) {
        snprintf(bref, sizeof bref, "refs/heads/%s", branch);
        if ((rc = tag_branch(g, branch, tip, &bst, out, &failed)) != 0 || failed)
            return rc;
    }
    if ((rc = git_tag_state(g, name, obj, &st, kind, sizeof kind)) != 0)
        return rc;
    if (st == GIT_REF_ELSEWHERE) {
        failed_exists(g, out, "tag", name, "", obj);
        return 0;
    }
    /* After the local checks that can FAIL, so a refused release leaves the branch alone. */
    if (g->conf->commit_notes && (rc = git_notes_commit(g, branch, tip, bst)) != 0)
        return rc;
    if (st == GIT_REF_MISSING) {
        if ((rc = create_tag(g, name, tref, obj)) != 0)
            return rc;
    } else {
        pl_host->note_add(g->ctx, "tag %s already on %s, %s (%s)", name, g->commit, g->source,
                          strcmp(kind, "tag") == 0 ? "annotated"
                                                   : "a lightweight tag, not made by relhost");
    }
    label(g, "tag", name);
    label(g, "commit", g->commit);
    if (branch != NULL)
        label(g, "branch", branch);
    if (g->conf->commit_notes)
        label(g, "notes_commit", tip);
    out->outcome = RELHOST_PASSED;
    if (!g->conf->push) {
        pl_host->note_add(g->ctx, "push = false: the tag%s stay%s in %s",
                          g->conf->commit_notes ? " and the notes commit" : "",
                          g->conf->commit_notes ? "" : "s", g->top);
        return 0;
    }
    if ((rc = git_ls_remote(g, names, branch != NULL ? 3 : 2, remote)) != 0)
        return rc;
    if (remote_tag_elsewhere(g, name, remote[0], remote[1], obj, &push_tag, out))
        return 0;
    if (branch != NULL) {
        if ((rc = judge_remote_branch(g, branch, remote[2], tip, g->conf->commit_notes,
                                      &push_branch, out)) != 0)
            return rc;
        if (out->outcome != RELHOST_PASSED)
            return 0;
    }
    return push_tag_refs(g, bref, remote[2], push_branch, tref, push_tag, out);
}

static int git_run(const relhost_ctx *ctx, void *inst, relhost_verdict *out)
{
    struct gitrun g;
    char dirty[1024];
    int rc;

    /* `relhost launch` only submits jobs; this gate submits none and changes nothing. */
    if (pl_launch_skips(ctx, out))
        return 0;
    if ((rc = pl_need_proc(ctx, "upgrade relhost")) != 0)
        return rc;
    gitrun_init(&g, ctx, inst, 0);
    if ((rc = git_locate(&g)) != 0)
        return rc;
    if (g.conf->require_clean) {
        if ((rc = git_dirty_files(&g, dirty, sizeof dirty)) != 0)
            return rc;
        if (dirty[0] != '\0') {
            verdict(&g, out, RELHOST_ERROR, "dirty_tree", 0,
                    "%s has uncommitted changes (%s): a release made now would not contain "
                    "them; commit or stash them, or set require_clean = false",
                    g.top, dirty);
            return 0;
        }
    }
    if (g.conf->action == GIT_PREPARE_BRANCH)
        return prepare_branch(&g, out);
    return tag_action(&g, out);
}

/* --check: what would become of the branch (tip and *bst: where it is now). */
static int describe_branch(struct gitrun *g, char tip[GIT_OID_MAX], enum git_ref_state *bst)
{
    const char *b = g->conf->branch;
    enum git_ref_state st;
    int rc;

    if ((rc = git_branch_state(g, b, tip, &st)) != 0)
        return rc;
    *bst = st;
    if (st == GIT_REF_ELSEWHERE)
        pl_host->note_add(g->ctx, "branch %s exists at %s, expected %s: the step would FAIL", b,
                          tip, g->commit);
    else if (st == GIT_REF_NOTES && g->conf->commit_notes)
        pl_host->note_add(g->ctx,
                          "branch %s at %s, relhost's release-notes commit: kept when the notes "
                          "are unchanged, else replaced by a new one over %s",
                          b, tip, g->commit);
    else if (st == GIT_REF_AT_COMMIT || st == GIT_REF_NOTES)
        pl_host->note_add(g->ctx, "branch %s already at %s%s: kept", b, tip,
                          st == GIT_REF_NOTES ? " (relhost's release-notes commit)" : "");
    else if (g->conf->action == GIT_PREPARE_BRANCH)
        pl_host->note_add(g->ctx,
                          "would create branch %s at %s in %s with git update-ref (the work "
                          "tree is not touched)",
                          b, g->commit, g->top);
    else
        pl_host->note_add(g->ctx,
                          "branch %s does not exist yet: the step would refuse unless the "
                          "prepare_branch step creates it first",
                          b);
    return 0;
}

/* --check: what would become of the tag. */
static int describe_tag(struct gitrun *g)
{
    const char *t = g->conf->tag;
    char obj[GIT_OID_MAX], kind[32];
    enum git_ref_state st;
    int rc;

    if ((rc = git_tag_state(g, t, obj, &st, kind, sizeof kind)) != 0)
        return rc;
    if (st == GIT_REF_ELSEWHERE) {
        pl_host->note_add(g->ctx, "tag %s exists at %s, expected %s: the step would FAIL", t, obj,
                          g->commit);
    } else if (st == GIT_REF_AT_COMMIT) {
        pl_host->note_add(g->ctx, "tag %s already on %s: kept", t, g->commit);
    } else {
        char msg[GIT_MSG_MAX], path[4096], head[256];
        int from_notes = 0;
        git_tag_message(g, msg, sizeof msg, path, sizeof path, &from_notes);
        git_message_head(msg, head, sizeof head);
        pl_host->note_add(
            g->ctx, "would create annotated tag %s on %s, message \"%s\" (%s%s)", t, g->commit,
            head, from_notes ? "the first lines of " : "release notes not written yet: ", path);
    }
    return 0;
}

/* --check: what would be pushed where (url: the remote's URL, scrubbed). */
static void describe_push(const struct gitrun *g, const char *url)
{
    const struct git_conf *c = g->conf;

    if (!c->push)
        pl_host->note_add(g->ctx, "push = false: nothing would be pushed");
    else if (c->action == GIT_PREPARE_BRANCH)
        pl_host->note_add(g->ctx, "would push refs/heads/%s, and nothing else, to %s (%s)",
                          c->branch, c->remote, url);
    else if (c->branch != NULL)
        pl_host->note_add(g->ctx,
                          "would push refs/heads/%s and refs/tags/%s to %s (%s) in one atomic "
                          "push: both or neither%s",
                          c->branch, c->tag, c->remote, url,
                          c->commit_notes
                              ? "; the branch with --force-with-lease on what the remote holds, "
                                "so only relhost's earlier notes commit is ever replaced"
                              : "");
    else
        pl_host->note_add(g->ctx, "would push refs/tags/%s to %s (%s)", c->tag, c->remote, url);
}

/* --check: say what run() would do, from read-only commands (see reads_only in git_cmd.c). */
static int git_describe(const relhost_ctx *ctx, void *inst)
{
    const char *get_url[] = {"remote", "get-url", NULL, NULL};
    struct gitrun g;
    char dirty[1024], tip[GIT_OID_MAX], url[1024] = "";
    enum git_ref_state bst = GIT_REF_MISSING;
    int code = 0;
    int rc;

    gitrun_init(&g, ctx, inst, 1);
    if ((rc = git_locate(&g)) != 0)
        return rc;
    pl_host->note_add(ctx, "commit %s: %s", g.commit, g.source);
    if (g.conf->require_clean) {
        if ((rc = git_dirty_files(&g, dirty, sizeof dirty)) != 0)
            return rc;
        if (dirty[0] != '\0')
            pl_host->note_add(ctx,
                              "%s has uncommitted changes (%s): the step would refuse them "
                              "(require_clean = true)",
                              g.top, dirty);
    }
    if (g.conf->push) {
        get_url[2] = g.conf->remote;
        if ((rc = git_cmd(&g, get_url, NULL, url, sizeof url, &code)) != 0)
            return rc;
        if (code != 0)
            snprintf(url, sizeof url, "not a configured remote: git reads it as a URL or path");
        git_scrub_userinfo(url);
    }
    if (g.conf->branch != NULL && (rc = describe_branch(&g, tip, &bst)) != 0)
        return rc;
    if (g.conf->action == GIT_TAG && (rc = describe_tag(&g)) != 0)
        return rc;
    if (g.conf->commit_notes && bst != GIT_REF_ELSEWHERE) {
        char file[4096];
        git_notes_file(&g, file, sizeof file);
        pl_host->note_add(ctx,
                          "would commit the release notes to %s on branch %s: one commit over "
                          "%s, author " GIT_NOTES_NAME ", holding %s as it is when the step runs "
                          "(built without a checkout: the work tree and index are not touched); "
                          "the tag stays on %s",
                          g.conf->notes_path, g.conf->branch, g.commit, file, g.commit);
    }
    describe_push(&g, url);
    return 0;
}

const relhost_plugin pl_plugin = {
    PL_PLUGIN_BASE("git", "1.1.0", git_options, struct git_conf),
    .description = "release branch and annotated tag on the candidate commit (and the release "
                   "notes committed onto the branch), pushed with the git CLI",
    .gate = PL_GATE_OPS(git, .close = pl_close_conf),
};
