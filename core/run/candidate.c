/* SPDX-License-Identifier: MIT */
#include "run/candidate.h"

#include "base/error.h"
#include "base/log.h"
#include "base/util.h"
#include "record/record.h"
#include "record/record_write.h"
#include "run/proc.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Run git with argv in the plan's repo; trimmed stdout into *out. */
static int git(const plan *p, const char *const *args, char **out, int *exit_code)
{
    relhost_proc_result res;
    int rc = proc_run_git(p->repo, args, 120, &res);
    if (rc != 0) {
        proc_result_free(&res);
        return rc;
    }
    if (res.exec_failed) {
        proc_result_free(&res);
        return error_set(RELHOST_EINVAL,
                         "cannot run git (needed because the plan names repo "
                         "%s): is git installed?",
                         p->repo);
    }
    *exit_code = res.exit_code;
    if (out) {
        size_t l = res.out ? strlen(res.out) : 0;
        while (l && isspace((unsigned char)res.out[l - 1]))
            l--;
        *out = xstrndup(res.out ? res.out : "", l);
    }
    if (res.exit_code != 0) {
        char *e = xstrdup(res.err ? res.err : "");
        size_t l = strlen(e);
        while (l && isspace((unsigned char)e[l - 1]))
            e[--l] = '\0';
        error_set(RELHOST_EINVAL, "git %s in %s failed (exit %d): %s", args[0], p->repo,
                  res.exit_code, e);
        free(e);
    }
    proc_result_free(&res);
    return 0;
}

int candidate_resolve(const plan *p, char **commit)
{
    char *ref = xasprintf("%s^{commit}", p->ref ? p->ref : "HEAD");
    const char *args[] = {"rev-parse", "--verify", "--quiet", ref, NULL};
    int code = 0, rc;
    *commit = NULL;
    rc = git(p, args, commit, &code);
    if (rc == 0 && code != 0) {
        rc = error_set(RELHOST_EINVAL,
                       "ref \"%s\" does not resolve to a commit in %s; fix the "
                       "plan's ref or fetch it",
                       p->ref ? p->ref : "HEAD", p->repo);
        free(*commit);
        *commit = NULL;
    }
    free(ref);
    return rc;
}

static int checkout_ok(const plan *p, const char *commit)
{
    const char *head[] = {"rev-parse", "--verify", "HEAD^{commit}", NULL};
    const char *status[] = {"status", "--porcelain", "--untracked-files=no", NULL};
    char *out = NULL;
    int code = 0, rc;
    if ((rc = git(p, head, &out, &code)) != 0 || code != 0) {
        free(out);
        return rc ? rc : RELHOST_EINVAL;
    }
    if (strcmp(out, commit) != 0) {
        rc = error_set(RELHOST_EINVAL,
                       "%s has %.12s checked out, but the candidate is %.12s: check it out, or "
                       "set checkout = \"worktree\" so relhost tests the candidate in a worktree",
                       p->repo, out, commit);
        free(out);
        return rc;
    }
    free(out);
    out = NULL;
    if ((rc = git(p, status, &out, &code)) != 0 || code != 0) {
        free(out);
        return rc ? rc : RELHOST_EINVAL;
    }
    if (*out) {
        rc = error_set(RELHOST_EINVAL,
                       "%s has uncommitted changes, so what would be tested is not commit %.12s: "
                       "commit or stash them, or set checkout = \"worktree\"",
                       p->repo, commit);
        free(out);
        return rc;
    }
    free(out);
    return 0;
}

static int make_worktree(const plan *p, const char *commit, char **dir)
{
    struct stat sb;
    char *wt = xasprintf("%s/worktrees/%s", p->state_dir, p->version);
    int code = 0, rc = 0;
    if (stat(wt, &sb) == 0) {
        const char *head[] = {"-C", wt, "rev-parse", "HEAD", NULL};
        char *out = NULL;
        /* git -C repo -C wt ...: the second -C wins, relative to the first. */
        if (git(p, head, &out, &code) == 0 && code == 0 && strcmp(out, commit) == 0) {
            free(out);
            *dir = wt;
            return 0;
        }
        free(out);
        {
            /* relhost's own folder, at another commit (--new-candidate): make it anew. */
            const char *rm[] = {"worktree", "remove", "--force", wt, NULL};
            if ((rc = git(p, rm, NULL, &code)) != 0 || code != 0) {
                rc = error_wrap(RELHOST_EINVAL,
                                "%s is not a worktree at %.12s and cannot be "
                                "removed",
                                wt, commit);
                free(wt);
                return rc;
            }
        }
    }
    {
        char *parent = path_dirname(wt);
        const char *add[] = {"worktree", "add", "--detach", wt, commit, NULL};
        if (path_mkdirs(parent) != 0) {
            free(parent);
            free(wt);
            return RELHOST_EINVAL;
        }
        free(parent);
        if ((rc = git(p, add, NULL, &code)) != 0 || code != 0) {
            free(wt);
            return rc ? rc : RELHOST_EINVAL;
        }
    }
    *dir = wt;
    return 0;
}

int candidate_fix(const plan *p, state *st, int new_candidate, candidate *out)
{
    release_record head;
    candidate_record c;
    char *commit = NULL;
    int rc;

    memset(out, 0, sizeof *out);
    if (!p->repo || !p->commit)
        return 0;
    commit = xstrdup(p->commit);
    record_read_head(state_root(st), &head);
    if (head.candidate.commit && strcmp(head.candidate.commit, commit) != 0) {
        const char *was = head.candidate.commit;
        if (!new_candidate) {
            rc = error_set(RELHOST_EINVAL,
                           "release %s qualifies commit %.12s, but %s now resolves to %.12s; "
                           "results of one commit never count for another: start a new "
                           "release (--new, or --release and another version), or pass "
                           "--new-candidate to requalify %s on %.12s",
                           p->version, was, p->ref ? p->ref : "HEAD", commit, p->version, commit);
            free(commit);
            record_free(&head);
            return rc;
        }
        /* Requalify: nothing that was decided about the old commit may count; a waiver is a
         * person's decision about a failure of the old commit: the registry's audit log keeps
         * it, the new commit does not inherit it. */
        log_msg(RELHOST_LOG_WARN, NULL,
                "release %s: candidate changes from %.12s to %.12s; "
                "earlier results and waivers are dropped",
                p->version, was, commit);
        record_write_drop_results(st);
    }
    record_free(&head);
    c.commit = commit;
    c.repo = (char *)p->repo;
    c.ref = (char *)(p->ref ? p->ref : "HEAD");
    c.checkout = (char *)(p->checkout_worktree ? "worktree" : "head");
    record_write_candidate(st, &c);
    if (state_flush(st) != 0)
        log_msg(RELHOST_LOG_ERROR, "state", "%s", error_last());
    out->commit = commit;
    if (p->checkout_worktree)
        return make_worktree(p, commit, &out->worktree);
    if ((rc = checkout_ok(p, commit)) != 0)
        return rc;
    out->worktree = xstrdup(p->repo);
    return 0;
}

void candidate_free(candidate *c)
{
    free(c->commit);
    free(c->worktree);
    memset(c, 0, sizeof *c);
}
