/* SPDX-License-Identifier: MIT */
/*
 * git.h - private to the git plugin: running git through the host and reading what it prints.
 *
 * git.c holds the release actions (what to create and push, when a re-run passes, verdicts);
 * git_conf.c checks the step's settings; git_repo.c reads the repository (top folder, commit,
 * ref states, tag message); git_notes.c commits the release notes onto the release branch;
 * git_cmd.c runs git and parses its output.
 * The rules can be read without the plumbing.
 */
#ifndef RELHOST_PLUGIN_GIT_H
#define RELHOST_PLUGIN_GIT_H

#include <relhost/plugin.h>

#include <stddef.h>

/* A full object name: 40 hex digits (SHA-1) or 64 (SHA-256), NUL-terminated. */
#define GIT_OID_MAX 72
/* git's stderr is quoted in messages; past this it is cut, keeping its end (the verdict). */
#define GIT_ERR_MAX 1536
/* How many refs one push names (the tag action pushes a branch and a tag). */
#define GIT_PUSH_MAX 4
/* The tag message is the head of the release notes: a tag is read in `git show` and in forge
 * UIs, where a whole changelog is noise; the notes file keeps the rest. */
#define GIT_MSG_LINES 20
#define GIT_MSG_MAX 4096
/* Longer names would not fit the fixed buffers; git itself allows more, nobody needs it. */
#define GIT_NAME_MAX 400
/* Who relhost's release-notes commit is by: git_is_notes_commit() knows it by this author. */
#define GIT_NOTES_NAME "relhost"
#define GIT_NOTES_EMAIL "relhost@localhost"

enum git_action { GIT_PREPARE_BRANCH = 0, GIT_TAG = 1 };

/* Where a branch or tag stands relative to the commit being released. */
enum git_ref_state {
    GIT_REF_MISSING,
    GIT_REF_AT_COMMIT, /* at it (a tag: peels to it) */
    GIT_REF_NOTES,     /* at relhost's release-notes commit on top of it (branches only) */
    GIT_REF_ELSEWHERE  /* anywhere else: the release refuses to move it */
};

struct git_conf {
    int action;
    const char *repo;
    const char *branch;
    const char *tag;
    const char *remote;
    int push;
    int require_clean;
    const char *ref;
    double timeout;
    const char *git;
    int commit_notes;       /* tag: commit the release notes onto the branch */
    const char *notes_path; /* where, in the repository */
};

/* One step's call into git: where it runs and what the last command said. Lives for one op. */
struct gitrun {
    const relhost_ctx *ctx;
    const struct git_conf *conf;
    int check;                /* --check: only commands that read (git_cmd refuses the others) */
    const char *dir;          /* where git runs: the repo option, then the toplevel */
    char top[4096];           /* the work tree's top folder */
    char commit[GIT_OID_MAX]; /* the commit the action applies to */
    char source[4096 + 640];  /* where that commit came from, for notes */
    char err[GIT_ERR_MAX];    /* the last command's stderr, one line ("a; b; c") */
    int transient;            /* that stderr reads like a network failure worth retrying */
};

/* One line of `git push --porcelain`: <flag>\t<from>:<to>\t<summary>. */
struct git_pushed {
    char flag; /* '*' new, ' ' fast-forward, '=' up to date, '!' rejected... */
    char to[512];
    char summary[256];
};

/*
 * Run `git -C dir args...` through pl_host->proc_run with the step's timeout and no terminal
 * prompt. input: bytes for git's stdin, or NULL. out: stdout with trailing white space removed (cut
 * to cap), or NULL to drop it. *code: git's exit code. g->err gets stderr on one line. Returns 0
 * when git ran to an exit, whatever its code. Otherwise the failure is explained with
 * pl_host->fail() and returned: RELHOST_ENOTFOUND git is missing, RELHOST_ERETRY timed out,
 * RELHOST_EINTR relhost is being interrupted, another negative code for the rest. Under --check
 * (g->check) a command without input runs once per relhost: a repeat gets the first answer.
 */
int git_cmd(struct gitrun *g, const char *const *args, const char *input, char *out, size_t cap,
            int *code);

/* git_cmd() for a command that must succeed: an exit code other than 0 fails the op with "git
 * WORDS in TOP failed (exit N): STDERR" (WORDS: args that are not options) and returns
 * RELHOST_EFAIL. */
int git_cmd_ok(struct gitrun *g, const char *const *args, char *out, size_t cap);

/* A git command that had to succeed exited `code`: fail the op with "WHAT (git CMD, exit N):
 * STDERR", then "; ADVICE" unless advice is NULL, WHAT being fmt's text. Returns RELHOST_EFAIL. */
int git_failed(struct gitrun *g, const char *cmd, int code, const char *advice, const char *fmt,
               ...) RELHOST_PRINTF(5, 6);

/* git_cmd() with env: NULL, or up to 8 "NAME=VALUE" entries for this command alone (a
 * temporary index, the notes commit's identity). Borrowed for the call. */
int git_cmd_env(struct gitrun *g, const char *const *args, const char *const *env,
                const char *input, char *out, size_t cap, int *code);

/* Is s a full object name: 40 (SHA-1) or 64 (SHA-256) lowercase hex digits? */
int git_is_oid(const char *s);

/* Full object name of `spec` into oid: 0, RELHOST_ENOTFOUND when it does not resolve, or a
 * failure explained with pl_host->fail() (not a repository, git missing...). */
int git_resolve(struct gitrun *g, const char *spec, char oid[GIT_OID_MAX]);

/* Is `oid` relhost's own release-notes commit on top of `base`: a commit with one parent, base,
 * authored by "relhost"? *yes = 0 also when oid is not in the repository. */
int git_is_notes_commit(struct gitrun *g, const char *oid, const char *base, int *yes);

/* Refs of the remote: for each of the n names, oids[i] gets its object name or "" when the
 * remote lacks it. A name "X^{}" gets the commit an annotated tag X peels to. */
int git_ls_remote(struct gitrun *g, const char *const *names, size_t n, char (*oids)[GIT_OID_MAX]);

/* Parse porcelain push output: up to max lines into v; returns how many. */
size_t git_parse_push(const char *out, struct git_pushed *v, size_t max);

/* Replace the user and password (or token) of every "scheme://user:secret@host" in s by "***",
 * in place: git's messages and remote URLs may carry them, and reports are read by many. */
void git_scrub_userinfo(char *s);

/* g->err, or "no message" when git printed nothing on stderr. */
const char *git_errmsg(const struct gitrun *g);

/* Does git's message (g->err) read like a network failure that may pass when tried again? */
int git_err_transient(const char *err);

/* Checks a branch or tag name the way `git check-ref-format` does, plus: no leading '-', so a
 * name can never be read as an option. Returns NULL when valid, else why not. */
const char *git_refname_problem(const char *name);

/* ---- git_conf.c: the settings ---- */

/* Check the step's settings at open: 0, or RELHOST_EINVAL with the reason (and the setting's
 * file:line) in pl_host->fail(). */
int git_conf_check(const relhost_ctx *ctx, const struct git_conf *conf);

/* ---- git_repo.c: reading the repository (also for --check) ---- */

/* Find the work tree's top (g->top, g->dir) and the commit to act on (g->commit, g->source):
 * the plan's candidate, or the step's ref (HEAD by default, which must be a branch with a
 * commit) when the plan names no repo. Failures are explained with pl_host->fail(). */
int git_locate(struct gitrun *g);

/* Uncommitted changes to tracked files as "a, b, c (and n more)" into list; "" when clean. */
int git_dirty_files(struct gitrun *g, char *list, size_t cap);

/* Where `tip` stands relative to g->commit (never GIT_REF_MISSING). */
int git_judge_tip(struct gitrun *g, const char *tip, enum git_ref_state *st);

/* refs/heads/<name>: its tip into tip (when it exists) and its state. */
int git_branch_state(struct gitrun *g, const char *name, char tip[GIT_OID_MAX],
                     enum git_ref_state *st);

/* refs/tags/<name>: MISSING; AT_COMMIT with obj = the tag object and kind = its type ("tag" for
 * an annotated tag); or ELSEWHERE with obj = the commit it peels to (or why it peels to none). */
int git_tag_state(struct gitrun *g, const char *name, char obj[GIT_OID_MAX], enum git_ref_state *st,
                  char *kind, size_t kcap);

/* <state_dir>/release_<version>.md, the release notes the host rewrites after every step. */
void git_notes_file(const struct gitrun *g, char *path, size_t cap);

/* The tag's message: the first GIT_MSG_LINES lines of <state_dir>/release_<version>.md (path
 * gets that name), or "Release <version>" when it is missing or blank (*from_notes = 0). */
void git_tag_message(const struct gitrun *g, char *msg, size_t cap, char *path, size_t pcap,
                     int *from_notes);

/* The message's first non-blank line (at most 200 bytes), for notes. */
void git_message_head(const char *msg, char *head, size_t cap);

/* ---- git_notes.c: the release notes committed onto the release branch ---- */

/* Why `path` cannot be where the notes go inside the repository (empty, absolute, a "." or ".."
 * part, a ".git" part...), or NULL when it can. */
const char *git_notes_path_problem(const char *path);

/*
 * Put the release notes file at conf->notes_path in one commit over g->commit (parent the
 * candidate, author and committer "relhost") and move refs/heads/<branch> to it, without
 * touching the work tree or the index (a temporary index under the state folder).
 * tip, st: where the branch stands, GIT_REF_AT_COMMIT or GIT_REF_NOTES. When it already is
 * relhost's notes commit with the same tree, nothing changes; otherwise a new commit replaces
 * it and tip gets its name. Notes say what happened; failures are explained with pl_host->fail().
 */
int git_notes_commit(struct gitrun *g, const char *branch, char tip[GIT_OID_MAX],
                     enum git_ref_state st);

#endif /* RELHOST_PLUGIN_GIT_H */
