/* SPDX-License-Identifier: MIT */
/*
 * git_notes.c - commit_notes: the release notes as one commit on the release branch, so the
 * pull request opened from that branch carries them while the tag stays on the validated commit.
 *
 * Plumbing only, never a checkout: the notes file becomes a blob (hash-object -w), the
 * candidate's tree plus that blob becomes a tree through an index of our own (GIT_INDEX_FILE in
 * a temporary folder: the user's index is neither read nor written), commit-tree makes the
 * commit with the candidate as its one parent, and update-ref moves the branch only if it is
 * still where it was read. The branch is never more than one commit over the candidate: a
 * re-run whose notes give the same tree keeps the commit, other notes replace it.
 */
#include "git.h"
#include "../common/pl_host.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* Beyond this a path is a mistake, not a layout; it also keeps the fixed buffers honest. */
#define NOTES_PATH_MAX 1024

const char *git_notes_path_problem(const char *path)
{
    size_t len = strlen(path);

    if (len == 0)
        return "it is empty";
    if (len > NOTES_PATH_MAX)
        return "it is longer than 1024 characters";
    if (path[0] == '/')
        return "it is absolute; name a file inside the repository, relative to its top folder, "
               "e.g. \"RELEASE_NOTES.md\" or \"docs/RELEASE_NOTES.md\"";
    if (path[len - 1] == '/')
        return "it ends with '/': name a file, not a folder";
    for (const char *c = path; *c != '\0'; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            return "it contains a control character";
    for (const char *c = path; *c != '\0';) {
        size_t n = strcspn(c, "/");
        if (n == 0)
            return "it contains \"//\"";
        if ((n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
            return "it has a \".\" or \"..\" part; the notes must stay inside the repository";
        /* Any case: git refuses ".GIT" too, as case-insensitive file systems would merge it. */
        if (n == 4 && strncasecmp(c, ".git", 4) == 0)
            return "it has a \".git\" part, where git keeps its own data";
        c += n + (c[n] == '/');
    }
    return NULL;
}

/* The notes file as a blob in the repository, filtered as `git add` would at that path (the
 * repository's attributes: end of lines, LFS). */
static int notes_blob(struct gitrun *g, const char *file, char blob[GIT_OID_MAX])
{
    char vpath[NOTES_PATH_MAX + 16];
    const char *args[] = {"hash-object", "-w", vpath, "--", file, NULL};
    struct stat sb;
    int missing = stat(file, &sb) != 0 ? errno : 0;
    int code = 0;
    int rc;

    if (missing != 0 || !S_ISREG(sb.st_mode) || sb.st_size == 0) {
        pl_host->fail(g->ctx,
                      "commit_notes: the release notes %s: %s; relhost writes them after each "
                      "step, so they exist once a step before this one has run: put the tag "
                      "step after the validations, or set commit_notes = false",
                      file,
                      missing != 0          ? strerror(missing)
                      : S_ISREG(sb.st_mode) ? "the file is empty"
                                            : "not a regular file");
        return RELHOST_EINVAL;
    }
    snprintf(vpath, sizeof vpath, "--path=%s", g->conf->notes_path);
    if ((rc = git_cmd(g, args, NULL, blob, GIT_OID_MAX, &code)) != 0)
        return rc;
    if (code != 0 || strlen(blob) < 40)
        return git_failed(g, "hash-object", code, NULL,
                          "commit_notes: could not store the release notes %s in %s", file, g->top);
    return 0;
}

/* Remove the temporary index (and the lock a killed git may leave) and its folder. */
static void drop_tmp(const char *dir, const char *index)
{
    char lock[4096 + 32];

    snprintf(lock, sizeof lock, "%s.lock", index);
    (void)unlink(index);
    (void)unlink(lock);
    (void)rmdir(dir);
}

/* The candidate's tree with the blob at notes_path (added, or replacing a file there). */
static int notes_tree(struct gitrun *g, const char *blob, char tree[GIT_OID_MAX])
{
    const char *state = g->ctx->state_dir != NULL ? g->ctx->state_dir : ".";
    char dir[4096], index[4096 + 16], env_index[4096 + 32], info[NOTES_PATH_MAX + 2 * GIT_OID_MAX];
    const char *env[] = {env_index, NULL};
    const char *read_tree[] = {"read-tree", g->commit, NULL};
    const char *add[] = {"update-index", "--add", "--cacheinfo", info, NULL};
    const char *write_tree[] = {"write-tree", NULL};
    const char *step = "read-tree";
    int code = 0;
    int rc;

    if ((size_t)snprintf(dir, sizeof dir, "%s/.git-notes-XXXXXX", state) >= sizeof dir ||
        mkdtemp(dir) == NULL) {
        pl_host->fail(g->ctx,
                      "commit_notes: could not make a temporary folder in %s for the notes "
                      "commit's index: %s; check that the state folder is writable",
                      state, strerror(errno));
        return RELHOST_EIO;
    }
    snprintf(index, sizeof index, "%s/index", dir);
    snprintf(env_index, sizeof env_index, "GIT_INDEX_FILE=%s", index);
    snprintf(info, sizeof info, "100644,%s,%s", blob, g->conf->notes_path);
    rc = git_cmd_env(g, read_tree, env, NULL, NULL, 0, &code);
    if (rc == 0 && code == 0) {
        step = "update-index";
        rc = git_cmd_env(g, add, env, NULL, NULL, 0, &code);
    }
    if (rc == 0 && code == 0) {
        step = "write-tree";
        rc = git_cmd_env(g, write_tree, env, NULL, tree, GIT_OID_MAX, &code);
    }
    drop_tmp(dir, index);
    if (rc != 0)
        return rc;
    /* The usual cause: notes_path names a folder of the candidate, or runs through a file. */
    if (code != 0)
        return git_failed(g, step, code,
                          "choose a notes_path that is not a folder of the repository and does "
                          "not run through a file",
                          "commit_notes: could not build the tree of %s plus the notes at %s in "
                          "%s",
                          g->commit, g->conf->notes_path, g->top);
    return 0;
}

/* Where refs/heads/<branch> is checked out (a work tree's folder) into where, or "". Moving a
 * branch under a work tree would leave it behind its own branch: `git status` there would show
 * the notes as deleted, a change nobody made. */
static int checked_out_at(struct gitrun *g, const char *ref, char *where, size_t cap)
{
    const char *args[] = {"worktree", "list", "--porcelain", NULL};
    char out[16384];
    const char *p = out, *tree = "";
    size_t tree_len = 0;
    int rc;

    where[0] = '\0';
    if ((rc = git_cmd_ok(g, args, out, sizeof out)) != 0)
        return rc;
    /* Stanzas: "worktree <path>", "HEAD <oid>", then "branch <ref>" or "detached". */
    while (*p != '\0') {
        size_t len = strcspn(p, "\n");
        if (strncmp(p, "worktree ", 9) == 0) {
            tree = p + 9;
            tree_len = len - 9;
        } else if (strncmp(p, "branch ", 7) == 0 && len - 7 == strlen(ref) &&
                   strncmp(p + 7, ref, len - 7) == 0) {
            snprintf(where, cap, "%.*s", (int)tree_len, tree);
            return 0;
        }
        p += len + (p[len] == '\n');
    }
    return 0;
}

/* commit-tree, as relhost: the author is how a re-run knows the commit as its own. */
static int notes_commit_object(struct gitrun *g, const char *tree, char commit[GIT_OID_MAX])
{
    static const char *const who[] = {
        "GIT_AUTHOR_NAME=" GIT_NOTES_NAME, "GIT_AUTHOR_EMAIL=" GIT_NOTES_EMAIL,
        "GIT_COMMITTER_NAME=" GIT_NOTES_NAME, "GIT_COMMITTER_EMAIL=" GIT_NOTES_EMAIL, NULL};
    /* No signature: the user's key would vouch for a commit that names relhost as its author,
     * and a signing agent may want a passphrase nobody can type. */
    const char *args[] = {"commit-tree", "--no-gpg-sign", "-p", g->commit, "-F", "-", tree, NULL};
    char msg[1024];
    int code = 0;
    int rc;

    snprintf(msg, sizeof msg,
             "Release notes for %s\n\n"
             "The release notes relhost wrote for %s, as %s, over the release\n"
             "candidate %s; the tag %s stays on the candidate.\n",
             g->ctx->version, g->ctx->version, g->conf->notes_path, g->commit,
             g->conf->tag != NULL ? g->conf->tag : "(none)");
    if ((rc = git_cmd_env(g, args, who, msg, commit, GIT_OID_MAX, &code)) != 0)
        return rc;
    if (code != 0 || strlen(commit) < 40)
        return git_failed(g, "commit-tree", code, NULL,
                          "commit_notes: could not make the notes commit over %s in %s", g->commit,
                          g->top);
    return 0;
}

int git_notes_commit(struct gitrun *g, const char *branch, char tip[GIT_OID_MAX],
                     enum git_ref_state st)
{
    const char *path = g->conf->notes_path;
    char file[4096], blob[GIT_OID_MAX], tree[GIT_OID_MAX], old_tree[GIT_OID_MAX];
    char spec[GIT_OID_MAX + 16], commit[GIT_OID_MAX], ref[GIT_NAME_MAX + 16], why[GIT_NAME_MAX];
    char where[4096];
    const char *update[] = {"update-ref", "-m", why, ref, commit, tip, NULL};
    int code = 0;
    int rc;

    snprintf(ref, sizeof ref, "refs/heads/%s", branch);
    git_notes_file(g, file, sizeof file);
    if ((rc = notes_blob(g, file, blob)) != 0 || (rc = notes_tree(g, blob, tree)) != 0)
        return rc;
    if (st == GIT_REF_NOTES) {
        /* The tree, not the commit's name: a commit made again from the same notes differs in
         * its date, and replacing it would only churn the branch. */
        snprintf(spec, sizeof spec, "%s^{tree}", tip);
        if ((rc = git_resolve(g, spec, old_tree)) != 0)
            return rc == RELHOST_ENOTFOUND ? RELHOST_EFAIL : rc;
        if (strcmp(old_tree, tree) == 0) {
            pl_host->note_add(g->ctx,
                              "branch %s already at %s, relhost's release-notes commit over %s "
                              "with these notes (%s as %s): kept",
                              branch, tip, g->commit, file, path);
            return 0;
        }
    }
    if ((rc = checked_out_at(g, ref, where, sizeof where)) != 0)
        return rc;
    if (where[0] != '\0') {
        pl_host->fail(g->ctx,
                      "commit_notes: branch %s is checked out in %s; moving it to a notes commit "
                      "would leave that work tree behind its own branch: check out another "
                      "branch there (git switch main), or set commit_notes = false",
                      branch, where);
        return RELHOST_EINVAL;
    }
    if ((rc = notes_commit_object(g, tree, commit)) != 0)
        return rc;
    /* Old value = what was read: a branch moved meanwhile is left alone. */
    snprintf(why, sizeof why, "relhost: release notes for %s", g->ctx->version);
    if ((rc = git_cmd(g, update, NULL, NULL, 0, &code)) != 0)
        return rc;
    if (code != 0)
        return git_failed(g, "update-ref", code,
                          "if someone moved the branch meanwhile, look at it and run the step "
                          "again",
                          "could not move branch %s from %s to the notes commit %s in %s", branch,
                          tip, commit, g->top);
    pl_host->note_add(g->ctx,
                      "committed the release notes %s as %s onto branch %s: commit %s, parent %s "
                      "(the candidate), author " GIT_NOTES_NAME "%s%s; the work tree and index "
                      "were not touched",
                      file, path, branch, commit, g->commit,
                      st == GIT_REF_NOTES ? "; it replaces relhost's earlier notes commit " : "",
                      st == GIT_REF_NOTES ? tip : "");
    memcpy(tip, commit, GIT_OID_MAX);
    return 0;
}
