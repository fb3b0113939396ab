/* SPDX-License-Identifier: MIT */
/*
 * git_repo.c - reading the repository for the git plugin: its top folder, the commit a release
 * action applies to, uncommitted changes, where a branch or tag stands, the tag's message.
 *
 * Everything here only reads (it also serves --check); what to create and push, and the
 * verdicts, are git.c's.
 */
#include "git.h"
#include "../common/pl_host.h"
#include "../common/pl_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* The branch HEAD is on (head gets its ref name); a detached HEAD is refused. */
static int head_branch(struct gitrun *g, char *head, size_t cap)
{
    const char *sym[] = {"symbolic-ref", "--quiet", "HEAD", NULL};
    int code = 0;
    int rc;

    if ((rc = git_cmd(g, sym, NULL, head, cap, &code)) != 0)
        return rc;
    if (code == 1) {
        char at[GIT_OID_MAX];
        if (git_resolve(g, "HEAD^{commit}", at) != 0)
            snprintf(at, sizeof at, "?");
        pl_host->fail(g->ctx,
                      "HEAD of %s is detached (at %.12s): a release is cut from a named "
                      "commit, not from whatever is checked out; check out the release "
                      "branch, set the step's ref, or name repo and ref in the plan",
                      g->top, at);
        return RELHOST_EINVAL;
    }
    if (code != 0) {
        pl_host->fail(g->ctx, "git symbolic-ref HEAD in %s failed (exit %d): %s", g->top, code,
                      git_errmsg(g));
        return RELHOST_EFAIL;
    }
    return 0;
}

/* Where the commit came from, for notes: the plan's candidate, or the step's ref (head: the
 * branch HEAD is on, when ref is HEAD). */
static void set_source(struct gitrun *g, const char *ref, const char *head)
{
    if (g->ctx->commit != NULL)
        snprintf(g->source, sizeof g->source, "the release candidate");
    else
        snprintf(g->source, sizeof g->source,
                 "%s%s%s of %s; the plan names no repo, so the step resolved it",
                 head != NULL ? "HEAD (" : "ref ", head != NULL ? head : ref,
                 head != NULL ? ")" : "", g->top);
}

/* The commit when the plan names no repo: the step's ref, by default HEAD, which must be on a
 * branch with a commit (a detached HEAD is whatever someone last checked out). */
static int commit_from_ref(struct gitrun *g)
{
    const char *ref = g->conf->ref != NULL ? g->conf->ref : "HEAD";
    int is_head = strcmp(ref, "HEAD") == 0;
    char spec[GIT_NAME_MAX + 16];
    char head[512];
    int rc;

    if (is_head && (rc = head_branch(g, head, sizeof head)) != 0)
        return rc;
    snprintf(spec, sizeof spec, "%s^{commit}", ref);
    rc = git_resolve(g, spec, g->commit);
    if (rc == RELHOST_ENOTFOUND) {
        if (is_head)
            pl_host->fail(g->ctx,
                          "HEAD of %s is %s, which has no commit yet (an unborn branch): "
                          "commit first, or set the step's ref",
                          g->top, head);
        else
            pl_host->fail(g->ctx,
                          "%s: ref \"%s\" does not resolve to a commit in %s: fix the step's "
                          "ref, or fetch it",
                          pl_where(g->ctx, &g->conf->ref), ref, g->top);
        return RELHOST_EINVAL;
    }
    if (rc != 0)
        return rc;
    set_source(g, ref, is_head ? head : NULL);
    return 0;
}

/* The top folder, the commit of spec and (head != NULL) the branch HEAD is on, from one
 * `git rev-parse` instead of three: 1 when it answered all of them, 0 when it did not (a
 * detached or unborn HEAD, no such commit, not a repository: each question is then asked on
 * its own, for the exact answer and message), or a failure of git itself. */
static int locate_at_once(struct gitrun *g, const char *spec, char *head, size_t hcap)
{
    const char *args[] = {
        "rev-parse", "--show-toplevel", spec, "--symbolic-full-name", "HEAD", "--", NULL};
    char out[sizeof g->top + GIT_OID_MAX + 600];
    char *line[4];
    size_t n = 0, want = head != NULL ? 4 : 3;
    int code = 0;
    int rc;

    if (spec[0] == '-')
        return 0; /* would read as an option: only --verify --end-of-options takes it */
    if (head == NULL) {
        args[3] = "--";
        args[4] = NULL;
    }
    if ((rc = git_cmd(g, args, NULL, out, sizeof out, &code)) != 0)
        return rc;
    if (code != 0)
        return 0;
    /* Exactly: top, the commit, [HEAD's ref,] "--". Anything else (a range, a truncated top)
     * is left to the questions one by one. */
    for (char *p = out;;) {
        if (n == want)
            return 0; /* more lines than asked for */
        line[n++] = p;
        p = strchr(p, '\n');
        if (p == NULL)
            break;
        *p++ = '\0';
    }
    if (n != want || strcmp(line[n - 1], "--") != 0 || line[0][0] == '\0' ||
        strlen(line[0]) >= sizeof g->top || !git_is_oid(line[1]))
        return 0;
    if (head != NULL && (strncmp(line[2], "refs/", 5) != 0 || strlen(line[2]) >= hcap))
        return 0; /* "HEAD": detached */
    snprintf(g->top, sizeof g->top, "%s", line[0]);
    snprintf(g->commit, sizeof g->commit, "%s", line[1]);
    if (head != NULL)
        snprintf(head, hcap, "%s", line[2]);
    return 1;
}

int git_locate(struct gitrun *g)
{
    const char *top[] = {"rev-parse", "--show-toplevel", NULL};
    const char *ref = g->conf->ref != NULL ? g->conf->ref : "HEAD";
    int is_head = g->ctx->commit == NULL && strcmp(ref, "HEAD") == 0;
    char spec[GIT_NAME_MAX + GIT_OID_MAX + 16], head[512];
    int code = 0;
    int rc;

    snprintf(spec, sizeof spec, "%s^{commit}", g->ctx->commit != NULL ? g->ctx->commit : ref);
    if ((rc = locate_at_once(g, spec, is_head ? head : NULL, sizeof head)) < 0)
        return rc;
    if (rc == 1) {
        g->dir = g->top;
        set_source(g, ref, is_head ? head : NULL);
        return 0;
    }
    if ((rc = git_cmd(g, top, NULL, g->top, sizeof g->top, &code)) != 0)
        return rc;
    if (code != 0 || g->top[0] == '\0') {
        pl_host->fail(g->ctx,
                      "%s is not in a git work tree (git rev-parse --show-toplevel: %s): "
                      "set the step's repo (%s) to the repository's folder",
                      g->conf->repo, git_errmsg(g), pl_where(g->ctx, &g->conf->repo));
        return RELHOST_EINVAL;
    }
    g->dir = g->top;
    if (g->ctx->commit == NULL)
        return commit_from_ref(g);
    rc = git_resolve(g, spec, g->commit);
    if (rc == RELHOST_ENOTFOUND) {
        pl_host->fail(g->ctx,
                      "the release candidate %s is not a commit of %s: the step's repo "
                      "(%s) must be the plan's repo, or a clone that has fetched it",
                      g->ctx->commit, g->top, pl_where(g->ctx, &g->conf->repo));
        return RELHOST_EINVAL;
    }
    if (rc != 0)
        return rc;
    set_source(g, ref, NULL);
    return 0;
}

/* Untracked files are ignored, as core's checkout check ignores them: they are in no commit
 * either way, and build output would otherwise block every release. */
int git_dirty_files(struct gitrun *g, char *list, size_t cap)
{
    const char *args[] = {"status", "--porcelain", "--untracked-files=no", NULL};
    char out[2048];
    const char *p = out;
    size_t shown = 0, more = 0, len = 0;
    int rc;

    list[0] = '\0';
    if ((rc = git_cmd_ok(g, args, out, sizeof out)) != 0)
        return rc;
    while (*p != '\0') {
        size_t n = strcspn(p, "\n");
        if (n > 3 && shown < 3 && len < cap) {
            int w =
                snprintf(list + len, cap - len, "%s%.*s", shown ? ", " : "", (int)(n - 3), p + 3);
            len += w > 0 ? (size_t)w : 0;
            shown++;
        } else if (n > 3) {
            more++;
        }
        p += n + (p[n] == '\n');
    }
    if (more > 0 && len < cap)
        snprintf(list + len, cap - len, " (and %zu more)", more);
    return 0;
}

int git_judge_tip(struct gitrun *g, const char *tip, enum git_ref_state *st)
{
    int ours = 0;
    int rc;

    if (strcmp(tip, g->commit) == 0) {
        *st = GIT_REF_AT_COMMIT;
        return 0;
    }
    if ((rc = git_is_notes_commit(g, tip, g->commit, &ours)) != 0)
        return rc;
    *st = ours ? GIT_REF_NOTES : GIT_REF_ELSEWHERE;
    return 0;
}

/* The object name of prefix+name into oid (*found = 1), or *st = GIT_REF_MISSING when it does
 * not resolve (*found = 0, and 0 returned). */
static int ref_lookup(struct gitrun *g, const char *prefix, const char *name, char oid[GIT_OID_MAX],
                      enum git_ref_state *st, int *found)
{
    char ref[GIT_NAME_MAX + 16];
    int rc;

    snprintf(ref, sizeof ref, "%s%s", prefix, name);
    rc = git_resolve(g, ref, oid);
    *found = rc == 0;
    if (rc == RELHOST_ENOTFOUND) {
        *st = GIT_REF_MISSING;
        return 0;
    }
    return rc;
}

int git_branch_state(struct gitrun *g, const char *name, char tip[GIT_OID_MAX],
                     enum git_ref_state *st)
{
    int found;
    int rc = ref_lookup(g, "refs/heads/", name, tip, st, &found);

    if (rc != 0 || !found)
        return rc;
    return git_judge_tip(g, tip, st);
}

void git_notes_file(const struct gitrun *g, char *path, size_t cap)
{
    snprintf(path, cap, "%s/release_%s.md", g->ctx->state_dir != NULL ? g->ctx->state_dir : ".",
             g->ctx->version);
}

/* The notes are written by the host after each step, so by the tag step they hold everything
 * the steps before it found; --check may run before they exist. */
void git_tag_message(const struct gitrun *g, char *msg, size_t cap, char *path, size_t pcap,
                     int *from_notes)
{
    size_t len = 0, lines = 0, keep = 0;
    int fd;

    *from_notes = 0;
    git_notes_file(g, path, pcap);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        len = pl_pread_all(fd, msg, cap - 1, 0);
        close(fd);
    }
    msg[len] = '\0';
    len = strlen(msg); /* a NUL in the file ends the message: git would refuse it anyway */
    /* Whole lines only, at most GIT_MSG_LINES of them, trailing white space dropped. */
    for (size_t i = 0; i < len && lines < GIT_MSG_LINES; i++) {
        if (msg[i] == '\n') {
            lines++;
            keep = i;
        }
    }
    if (lines < GIT_MSG_LINES && len < cap - 1)
        keep = len;
    while (keep > 0 && strchr(" \t\r\n", msg[keep - 1]) != NULL)
        keep--;
    msg[keep] = '\0';
    if (strspn(msg, " \t\r\n") == keep) {
        snprintf(msg, cap, "Release %s", g->ctx->version);
        return;
    }
    *from_notes = 1;
}

void git_message_head(const char *msg, char *head, size_t cap)
{
    size_t n;

    msg += strspn(msg, " \t\r\n");
    n = strcspn(msg, "\n");
    snprintf(head, cap, "%.*s", (int)(n < 200 ? n : 200), msg);
}

int git_tag_state(struct gitrun *g, const char *name, char obj[GIT_OID_MAX], enum git_ref_state *st,
                  char *kind, size_t kcap)
{
    char ref[GIT_NAME_MAX + 16], peeled[GIT_OID_MAX];
    const char *args[] = {"cat-file", "-t", obj, NULL};
    int code = 0, found;
    int rc;

    if ((rc = ref_lookup(g, "refs/tags/", name, obj, st, &found)) != 0 || !found)
        return rc;
    snprintf(ref, sizeof ref, "refs/tags/%s^{commit}", name);
    rc = git_resolve(g, ref, peeled);
    if (rc == RELHOST_ENOTFOUND) { /* a tag of a tree or blob */
        *st = GIT_REF_ELSEWHERE;
        snprintf(obj, GIT_OID_MAX, "%s", "a non-commit object");
        return 0;
    }
    if (rc != 0)
        return rc;
    if (strcmp(peeled, g->commit) != 0) {
        *st = GIT_REF_ELSEWHERE;
        memcpy(obj, peeled, sizeof peeled);
        return 0;
    }
    *st = GIT_REF_AT_COMMIT;
    if ((rc = git_cmd(g, args, NULL, kind, kcap, &code)) != 0)
        return rc;
    if (code != 0)
        snprintf(kind, kcap, "?");
    return 0;
}
