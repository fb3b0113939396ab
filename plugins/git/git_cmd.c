/* SPDX-License-Identifier: MIT */
/*
 * git_cmd.c - running git for the git plugin, and reading what it prints.
 *
 * git runs as a program through the host's process service (argv, never a shell), so the user's
 * own configuration applies: credential helpers, ssh config and agent, hooks, insteadOf URLs.
 * Only plumbing-stable output is parsed (rev-parse, cat-file, ls-remote, push --porcelain);
 * git's human messages are quoted, never parsed, so a translated git still works.
 */
#include "git.h"
#include "../common/pl_host.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GIT_ARGV_MAX 24
#define GIT_ENV_EXTRA 8

/* git asking for a user name or password on the terminal would wait for a reply that never
 * comes: its process group is not in the foreground, so reading the TTY stops it until the
 * timeout. Without a prompt, git says "terminal prompts disabled" at once. No optional locks:
 * `git status` would otherwise rewrite a stale index, a write --check promises not to make.
 * Messages in English, because git_err_transient() reads them to tell a network failure from a
 * refusal. */
static const char *const git_env[] = {"GIT_TERMINAL_PROMPT=0", "GIT_OPTIONAL_LOCKS=0", "LC_ALL=C",
                                      NULL};

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* --check promises to write nothing: the commands it may run are listed here, and anything
 * else is refused before it starts, whatever the caller intended. */
static int reads_only(const char *const *args)
{
    static const char *const readers[] = {"rev-parse", "status", "symbolic-ref", "cat-file", NULL};

    for (size_t i = 0; readers[i] != NULL; i++)
        if (strcmp(args[0], readers[i]) == 0)
            return 1;
    return strcmp(args[0], "remote") == 0 && args[1] != NULL && strcmp(args[1], "get-url") == 0;
}

/* stderr on one line: lines trimmed, blank ones dropped, joined with "; ". When too long the
 * start goes: git ends with what decided the matter ("error: failed to push some refs"). */
static void squash_err(struct gitrun *g, const char *err, size_t len)
{
    char *all = malloc(2 * len + 1); /* each "; " replaces a newline: at most doubles */
    size_t n = 0;

    g->err[0] = '\0';
    if (all == NULL || err == NULL) {
        free(all);
        return;
    }
    for (size_t i = 0; i < len;) {
        size_t e = i, s, t;

        while (e < len && err[e] != '\n')
            e++;
        s = i;
        t = e;
        while (s < t && is_space(err[s]))
            s++;
        while (t > s && is_space(err[t - 1]))
            t--;
        if (t > s) {
            if (n > 0) {
                memcpy(all + n, "; ", 2);
                n += 2;
            }
            memcpy(all + n, err + s, t - s);
            n += t - s;
        }
        i = e + 1;
    }
    all[n] = '\0';
    git_scrub_userinfo(all);
    n = strlen(all);
    if (n < sizeof g->err) {
        memcpy(g->err, all, n + 1);
    } else {
        size_t keep = sizeof g->err - 4;
        memcpy(g->err, "...", 3);
        memcpy(g->err + 3, all + n - keep, keep + 1);
    }
    free(all);
}

void git_scrub_userinfo(char *s)
{
    char *p = s;

    while ((p = strstr(p, "://")) != NULL) {
        char *u = p + 3;
        size_t n = strcspn(u, "/@ \t'\"");
        if (u[n] == '@' && n > 0) {
            size_t stars = n < 3 ? n : 3;
            memset(u, '*', stars);
            memmove(u + stars, u + n, strlen(u + n) + 1);
        }
        p = u;
    }
}

const char *git_errmsg(const struct gitrun *g) { return g->err[0] != '\0' ? g->err : "no message"; }

int git_err_transient(const char *err)
{
    static const char *const signs[] = {"Could not resolve host",
                                        "Temporary failure in name resolution",
                                        "Connection timed out",
                                        "Connection refused",
                                        "Connection reset",
                                        "Operation timed out",
                                        "early EOF",
                                        "The remote end hung up unexpectedly",
                                        "Failed to connect",
                                        "RPC failed",
                                        "returned error: 500",
                                        "returned error: 502",
                                        "returned error: 503",
                                        "returned error: 504",
                                        NULL};

    for (size_t i = 0; signs[i] != NULL; i++)
        if (strstr(err, signs[i]) != NULL)
            return 1;
    return 0;
}

int git_cmd(struct gitrun *g, const char *const *args, const char *input, char *out, size_t cap,
            int *code)
{
    return git_cmd_env(g, args, NULL, input, out, cap, code);
}

/* Why git did not run to an exit (rc: proc_run's return, res: its result), explained through
 * fail(), and the code to return; 0 when it exited, whatever its code. */
static int not_exited(struct gitrun *g, const char *const *args, int rc,
                      const relhost_proc_result *res)
{
    if (rc == RELHOST_EINTR)
        return rc;
    if (rc < 0) {
        pl_host->fail(g->ctx, "could not run %s %s in %s (relhost error %d)", g->conf->git, args[0],
                      g->dir, rc);
        return rc;
    }
    if (res->exec_failed) {
        pl_host->fail(g->ctx,
                      "git not found: could not run \"%s\" (%s); install git, or set the "
                      "step's `git` option to its path",
                      g->conf->git, res->exit_code == 126 ? "not executable" : "no such program");
        return RELHOST_ENOTFOUND;
    }
    if (res->timed_out) {
        pl_host->fail(g->ctx,
                      "git %s in %s did not finish within the step's timeout of %.15g s "
                      "and was stopped; try again, or raise `timeout`",
                      args[0], g->dir, g->conf->timeout);
        return RELHOST_ERETRY;
    }
    if (!res->exited) {
        pl_host->fail(g->ctx, "git %s in %s was killed by signal %d", args[0], g->dir, res->signal);
        return RELHOST_EIO;
    }
    return 0;
}

/* --check reads and changes nothing, and nothing else runs while it looks: the same git
 * command in the same folder gives the same answer, so each is run once per relhost. Steps on
 * one repository then share its top folder, status, remote URL and the refs they both read. */
#define GIT_MEMO_MAX 32
#define GIT_MEMO_OUT ((size_t)64 << 10)

struct git_memo {
    char *key; /* git, folder and args, each ended by a NUL */
    size_t klen;
    char *out; /* stdout, trailing white space removed */
    size_t olen;
    char err[GIT_ERR_MAX];
    int code;
};

static struct git_memo memo[GIT_MEMO_MAX];
static size_t memo_next;

/* The key of argv (NULL-terminated) into *key (malloc'd), or NULL when out of memory. */
static char *memo_key(const char *const *argv, size_t *klen)
{
    size_t n = 0;
    char *key;

    for (size_t i = 0; argv[i] != NULL; i++)
        n += strlen(argv[i]) + 1;
    key = malloc(n > 0 ? n : 1);
    if (key == NULL)
        return NULL;
    n = 0;
    for (size_t i = 0; argv[i] != NULL; i++) {
        size_t l = strlen(argv[i]) + 1;
        memcpy(key + n, argv[i], l);
        n += l;
    }
    *klen = n;
    return key;
}

static const struct git_memo *memo_find(const char *key, size_t klen)
{
    for (size_t i = 0; i < GIT_MEMO_MAX; i++)
        if (memo[i].key != NULL && memo[i].klen == klen && memcmp(memo[i].key, key, klen) == 0)
            return &memo[i];
    return NULL;
}

/* Keeps the answer under key (taking it), replacing the oldest when full; drops it when too
 * large or out of memory (the command then simply runs again). */
static void memo_put(char *key, size_t klen, const char *out, size_t olen, const char *err,
                     int code)
{
    struct git_memo *m = &memo[memo_next];
    char *copy = olen <= GIT_MEMO_OUT ? malloc(olen + 1) : NULL;

    if (copy == NULL) {
        free(key);
        return;
    }
    memcpy(copy, out, olen);
    copy[olen] = '\0';
    free(m->key);
    free(m->out);
    m->key = key;
    m->klen = klen;
    m->out = copy;
    m->olen = olen;
    snprintf(m->err, sizeof m->err, "%s", err);
    m->code = code;
    memo_next = (memo_next + 1) % GIT_MEMO_MAX;
}

/* stdout without its trailing white space into out (cut to cap), as the caller wants it. */
static void copy_out(char *out, size_t cap, const char *text, size_t len)
{
    if (out == NULL || cap == 0)
        return;
    if (len >= cap)
        len = cap - 1;
    if (len > 0)
        memcpy(out, text, len);
    out[len] = '\0';
}

int git_cmd_env(struct gitrun *g, const char *const *args, const char *const *env,
                const char *input, char *out, size_t cap, int *code)
{
    const char *argv[GIT_ARGV_MAX];
    const char *envv[sizeof git_env / sizeof git_env[0] + GIT_ENV_EXTRA];
    relhost_proc_spec spec;
    relhost_proc_result res;
    size_t n = 0, ne = 0, klen = 0, len;
    char *key = NULL;
    int rc;

    g->err[0] = '\0';
    g->transient = 0;
    if (out != NULL && cap > 0)
        out[0] = '\0';
    if (g->check && !reads_only(args)) {
        pl_host->fail(g->ctx,
                      "git %s would change something, and --check changes nothing "
                      "(a bug in the git plugin)",
                      args[0]);
        return RELHOST_EINVAL;
    }
    argv[n++] = g->conf->git;
    argv[n++] = "-C";
    argv[n++] = g->dir;
    for (size_t i = 0; args[i] != NULL; i++) {
        if (n + 1 >= GIT_ARGV_MAX) {
            pl_host->fail(g->ctx, "git %s: too many arguments (a bug in the git plugin)", args[0]);
            return RELHOST_EINVAL;
        }
        argv[n++] = args[i];
    }
    argv[n] = NULL;
    for (size_t i = 0; git_env[i] != NULL; i++)
        envv[ne++] = git_env[i];
    for (size_t i = 0; env != NULL && env[i] != NULL; i++) {
        if (i == GIT_ENV_EXTRA) {
            pl_host->fail(g->ctx, "git %s: too many variables (a bug in the git plugin)", args[0]);
            return RELHOST_EINVAL;
        }
        envv[ne++] = env[i];
    }
    envv[ne] = NULL;

    memset(&spec, 0, sizeof spec);
    spec.struct_size = sizeof spec;
    spec.argv = argv;
    spec.env = envv;
    spec.timeout_s = g->conf->timeout;
    spec.stdin_data = input;
    memset(&res, 0, sizeof res);
    res.struct_size = sizeof res;

    if (g->check && env == NULL && input == NULL && (key = memo_key(argv, &klen)) != NULL) {
        const struct git_memo *m = memo_find(key, klen);
        if (m != NULL) {
            free(key);
            *code = m->code;
            snprintf(g->err, sizeof g->err, "%s", m->err);
            g->transient = m->code != 0 && git_err_transient(g->err);
            copy_out(out, cap, m->out, m->olen);
            return 0;
        }
    }
    rc = not_exited(g, args, pl_host->proc_run(g->ctx, &spec, &res), &res);
    if (rc != 0) {
        pl_host->proc_result_free(&res);
        free(key);
        return rc;
    }
    *code = res.exit_code;
    squash_err(g, res.err, res.err_len);
    g->transient = res.exit_code != 0 && git_err_transient(g->err);
    len = res.out != NULL ? res.out_len : 0;
    while (len > 0 && is_space(res.out[len - 1]))
        len--;
    copy_out(out, cap, res.out, len);
    if (key != NULL)
        memo_put(key, klen, len > 0 ? res.out : "", len, g->err, res.exit_code);
    pl_host->proc_result_free(&res);
    return 0;
}

int git_is_oid(const char *s)
{
    size_t n = strspn(s, "0123456789abcdef");
    return s[n] == '\0' && (n == 40 || n == 64);
}

int git_resolve(struct gitrun *g, const char *spec, char oid[GIT_OID_MAX])
{
    const char *args[] = {"rev-parse", "--verify", "--quiet", "--end-of-options", spec, NULL};
    int code = 0;
    int rc = git_cmd(g, args, NULL, oid, GIT_OID_MAX, &code);

    if (rc != 0)
        return rc;
    if (code == 0 && git_is_oid(oid))
        return 0;
    oid[0] = '\0';
    if (code == 1) /* --verify --quiet: "does not resolve", and nothing else, is a silent 1 */
        return RELHOST_ENOTFOUND;
    pl_host->fail(g->ctx, "git rev-parse %s in %s failed (exit %d): %s", spec, g->dir, code,
                  g->err[0] != '\0' ? g->err : "no message");
    return RELHOST_EFAIL;
}

int git_is_notes_commit(struct gitrun *g, const char *oid, const char *base, int *yes)
{
    const char *args[] = {"cat-file", "commit", oid, NULL};
    char head[8192];
    const char *p = head;
    size_t parents = 0;
    int parent_ok = 0, author_ok = 0;
    int code = 0;
    int rc;

    *yes = 0;
    if ((rc = git_cmd(g, args, NULL, head, sizeof head, &code)) != 0)
        return rc;
    if (code != 0) /* not here (a remote's commit never fetched): not one we know as ours */
        return 0;
    /* The raw commit's header lines, up to the blank line before the message. */
    while (*p != '\0' && *p != '\n') {
        size_t len = strcspn(p, "\n");
        if (strncmp(p, "parent ", 7) == 0) {
            parents++;
            parent_ok = len == 7 + strlen(base) && strncmp(p + 7, base, len - 7) == 0;
        } else if (strncmp(p, "author " GIT_NOTES_NAME " <", 8 + sizeof GIT_NOTES_NAME) == 0) {
            author_ok = 1;
        }
        p += len + (p[len] == '\n');
    }
    *yes = parents == 1 && parent_ok && author_ok;
    return 0;
}

int git_ls_remote(struct gitrun *g, const char *const *names, size_t n, char (*oids)[GIT_OID_MAX])
{
    const char *args[GIT_ARGV_MAX];
    char out[16384];
    const char *p = out;
    size_t k = 0;
    int code = 0;
    int rc;

    args[k++] = "ls-remote";
    args[k++] = g->conf->remote;
    for (size_t i = 0; i < n && k + 1 < GIT_ARGV_MAX; i++) {
        args[k++] = names[i];
        oids[i][0] = '\0';
    }
    args[k] = NULL;
    if ((rc = git_cmd(g, args, NULL, out, sizeof out, &code)) != 0)
        return rc;
    if (code != 0) {
        rc = git_failed(g, "ls-remote", code,
                        "check the remote's name or URL and your access to it (credential "
                        "helper, ssh agent)",
                        "could not read the refs of remote %s", g->conf->remote);
        return g->transient ? RELHOST_ERETRY : rc;
    }
    /* "<oid>\t<ref>" per line. Patterns match ref tails, so only exact names count. */
    while (*p != '\0') {
        size_t len = strcspn(p, "\n");
        const char *tab = memchr(p, '\t', len);

        if (tab != NULL && (size_t)(tab - p) < GIT_OID_MAX) {
            size_t rlen = len - (size_t)(tab + 1 - p);
            for (size_t i = 0; i < n; i++) {
                if (strlen(names[i]) == rlen && strncmp(tab + 1, names[i], rlen) == 0) {
                    memcpy(oids[i], p, (size_t)(tab - p));
                    oids[i][tab - p] = '\0';
                }
            }
        }
        p += len + (p[len] == '\n');
    }
    return 0;
}

static void copy_field(char *dst, size_t cap, const char *s, size_t len)
{
    if (len >= cap)
        len = cap - 1;
    memcpy(dst, s, len);
    dst[len] = '\0';
}

size_t git_parse_push(const char *out, struct git_pushed *v, size_t max)
{
    const char *p = out;
    size_t n = 0;

    while (*p != '\0' && n < max) {
        size_t len = strcspn(p, "\n");
        /* Ref lines are the only ones with a tab second: "To <url>" and "Done" are not. */
        if (len > 2 && p[1] == '\t' && strchr("* =!+-", p[0]) != NULL) {
            const char *ref = p + 2;
            const char *end = p + len;
            const char *tab = memchr(ref, '\t', (size_t)(end - ref));
            const char *colon;

            if (tab == NULL)
                tab = end;
            colon = memchr(ref, ':', (size_t)(tab - ref));
            v[n].flag = p[0];
            if (colon != NULL)
                copy_field(v[n].to, sizeof v[n].to, colon + 1, (size_t)(tab - colon - 1));
            else
                copy_field(v[n].to, sizeof v[n].to, ref, (size_t)(tab - ref));
            if (tab < end)
                copy_field(v[n].summary, sizeof v[n].summary, tab + 1, (size_t)(end - tab - 1));
            else
                v[n].summary[0] = '\0';
            n++;
        }
        p += len + (p[len] == '\n');
    }
    return n;
}

const char *git_refname_problem(const char *name)
{
    size_t len = strlen(name);
    const char *c = name;

    if (len == 0)
        return "it is empty";
    if (name[0] == '-')
        return "it starts with '-' (git would read it as an option)";
    if (strcmp(name, "@") == 0)
        return "\"@\" alone is not a ref name";
    if (name[0] == '/' || name[len - 1] == '/' || name[len - 1] == '.')
        return "it starts or ends with '/', or ends with '.'";
    if (strstr(name, "..") != NULL || strstr(name, "//") != NULL || strstr(name, "@{") != NULL)
        return "it contains \"..\", \"//\" or \"@{\"";
    for (; *c != '\0'; c++) {
        unsigned char u = (unsigned char)*c;
        if (u < 0x20 || u == 0x7f || strchr(" ~^:?*[\\", *c) != NULL)
            return "it contains a space, a control character or one of ~ ^ : ? * [ \\";
    }
    /* Each '/'-separated part: no leading '.', no ".lock" ending. */
    for (c = name; *c != '\0';) {
        size_t plen = strcspn(c, "/");
        if (c[0] == '.')
            return "a part of it starts with '.'";
        if (plen >= 5 && strncmp(c + plen - 5, ".lock", 5) == 0)
            return "a part of it ends with \".lock\"";
        c += plen + (c[plen] == '/');
    }
    return NULL;
}

int git_failed(struct gitrun *g, const char *cmd, int code, const char *advice, const char *fmt,
               ...)
{
    char what[8192];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    pl_host->fail(g->ctx, "%s (git %s, exit %d): %s%s%s", what, cmd, code, git_errmsg(g),
                  advice != NULL ? "; " : "", advice != NULL ? advice : "");
    return RELHOST_EFAIL;
}

int git_cmd_ok(struct gitrun *g, const char *const *args, char *out, size_t cap)
{
    char words[256] = "";
    size_t len = 0;
    int code = 0;
    int rc = git_cmd(g, args, NULL, out, cap, &code);

    if (rc != 0 || code == 0)
        return rc;
    for (size_t i = 0; args[i] != NULL && len < sizeof words; i++)
        if (args[i][0] != '-')
            len += (size_t)snprintf(words + len, sizeof words - len, " %s", args[i]);
    pl_host->fail(g->ctx, "git%s in %s failed (exit %d): %s", words, g->top, code, git_errmsg(g));
    return RELHOST_EFAIL;
}
