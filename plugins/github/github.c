/* SPDX-License-Identifier: MIT */
/*
 * github.c - the github gate: open the release pull request, create or update the GitHub
 * release, or raise the alarm in an issue, through GitHub's REST API (api.github.com or a
 * GitHub Enterprise Server at https://HOST/api/v3).
 *
 * Every action is idempotent, because a release is run again after any failure:
 *   pull_request  POST /repos/{o}/{r}/pulls; "A pull request already exists" (422) -> the open
 *                 one is found (GET .../pulls?head=OWNER:BRANCH&base=BASE&state=open) and reused
 *   release       GET .../releases/tags/{tag} (published) or the draft in GET .../releases ->
 *                 PATCH .../releases/{id}; none -> POST .../releases; "already_exists" (422,
 *                 a race) -> GET again and PATCH
 *   issue         the open issue of the same title (GET .../issues?state=open, every page,
 *                 pull requests left out) -> POST .../issues/{n}/comments; none -> POST
 *                 .../issues. These two POSTs are sent once, never retried blindly: after a
 *                 lost reply the gate looks for what it posted (a marker in the body) first.
 *
 * The token is the host's business: the plan names its environment variable, the host builds
 * the Authorization header and masks the value in every output; this file never sees it.
 * This file holds the options, open, describe and run; github_api.c the requests and GitHub's
 * errors; github_actions.c the three actions.
 */
#include "github.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *const action_names[] = {"pull_request", "release", "issue", NULL};

#define OPT(f, t, ...) PL_OPT(struct github_conf, f, t, __VA_ARGS__)
static const relhost_option github_options[] = {
    OPT(action, ENUM, .required = 1,
        .doc = "what the step does: pull_request (open the release pull request, or reuse the "
               "open one), release (create the GitHub release of the tag, or update it), issue "
               "(open an issue, or comment on the open one of the same title)",
        .choices = action_names),
    OPT(repository, STRING, .required = 1, .doc = "the repository, as owner/name"),
    OPT(token_env, SECRET_ENV, .def = "GITHUB_TOKEN",
        .doc = "environment variable holding the GitHub token (unset: the step is SKIPPED, "
               "not_configured)"),
    OPT(base_url, STRING, .def = "https://api.github.com",
        .doc = "API base URL: https://api.github.com, or https://HOST/api/v3 for GitHub Enterprise "
               "Server (https; plain http only to a loopback address)"),
    RELHOST_HTTP_OPTION_ROWS(struct github_conf, http),
    OPT(title, STRING,
        .doc =
            "pull_request, issue: the title (default \"Release {version}\"; for an issue "
            "\"Release {version} did not qualify\"); an issue is found again by this exact title",
        .flags = RELHOST_OPTF_TEMPLATE),
    OPT(body, STRING,
        .doc = "the text posted (pull request, release or issue body, or comment) when the release "
               "notes file is not used (default: a line naming the release and its commit)",
        .flags = RELHOST_OPTF_TEMPLATE),
    OPT(body_from_notes, BOOL, .def = "true",
        .doc = "post the release notes file <state_dir>/release_<version>.md as the body when it "
               "exists (then `body` is the fallback)"),
    OPT(draft, BOOL, .def = "false",
        .doc = "pull_request, release: create it as a draft (an existing release is never turned "
               "back into a draft)"),
    OPT(head, STRING,
        .doc = "pull_request: the branch to merge (default \"release/{version}\"; \"owner:branch\" "
               "for a fork)",
        .flags = RELHOST_OPTF_TEMPLATE),
    OPT(base, STRING, .doc = "pull_request: the branch merged into (default \"main\")",
        .flags = RELHOST_OPTF_TEMPLATE),
    OPT(tag, STRING, .doc = "release: the tag the release belongs to (default \"v{version}\")",
        .flags = RELHOST_OPTF_TEMPLATE),
    OPT(target_commitish, STRING,
        .doc = "release: where GitHub creates the tag when it does not exist yet (default: the "
               "candidate commit; without one, the tag must exist)",
        .flags = RELHOST_OPTF_TEMPLATE),
    {.name = "release_name",
     .type = RELHOST_OPT_STRING,
     .offset = offsetof(struct github_conf, name),
     .doc = "release: the release's title (default: the tag); `name` is the step's own",
     .flags = RELHOST_OPTF_TEMPLATE},
    OPT(prerelease, BOOL, .def = "false", .doc = "release: mark it as a pre-release"),
    OPT(labels, STRLIST, .doc = "issue: labels of a new issue (GitHub creates missing ones)",
        .flags = RELHOST_OPTF_TEMPLATE),
    {0}};
#undef OPT

/* ---- checks of the plan's values ------------------------------------------------------------- */

/* GitHub's rules: an owner is 1-39 letters, digits and hyphens; a repository name 1-100
 * letters, digits, '.', '-', '_' (not "." or ".."). Both go into URL paths as they are. */
static const char *bad_repository(const char *s, size_t *slash)
{
    const char *sl = strchr(s, '/');
    size_t on, rn;

    if (sl == NULL || strchr(sl + 1, '/') != NULL)
        return "it must be owner/name, e.g. \"octo-org/octo-repo\"";
    on = (size_t)(sl - s);
    rn = strlen(sl + 1);
    if (on == 0 || on > 39 ||
        strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") < on)
        return "the owner must be 1 to 39 letters, digits or hyphens";
    if (rn == 0 || rn > 100 ||
        strspn(sl + 1, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != rn ||
        strcmp(sl + 1, ".") == 0 || strcmp(sl + 1, "..") == 0)
        return "the name must be 1 to 100 letters, digits, '.', '-' or '_'";
    if (rn > 4 && strcmp(sl + 1 + rn - 4, ".git") == 0)
        return "drop the \".git\" ending: GitHub's API names the repository without it";
    *slash = on;
    return NULL;
}

/* git's rules for a branch or tag name (git check-ref-format), so GitHub's 422 does not come
 * at the end of a release for something a look at the plan could have said. */
static const char *bad_ref(const char *s)
{
    size_t n = strlen(s);

    if (n == 0)
        return "it is empty";
    if (n > 255)
        return "it is longer than 255 bytes";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= ' ' || c == 0x7F || strchr("~^:?*[\\", c) != NULL)
            return "it holds a blank, a control character or one of ~ ^ : ? * [ \\";
    }
    if (s[0] == '-' || s[0] == '/' || s[n - 1] == '/' || s[n - 1] == '.')
        return "it starts with '-' or '/', or ends with '/' or '.'";
    if (strstr(s, "..") != NULL || strstr(s, "//") != NULL || strstr(s, "@{") != NULL ||
        strstr(s, "/.") != NULL || s[0] == '.' || strcmp(s, "@") == 0)
        return "it holds \"..\", \"//\", \"@{\" or a component starting with '.'";
    if (n >= 5 && strcmp(s + n - 5, ".lock") == 0)
        return "it ends with \".lock\"";
    return NULL;
}

/* A title: one line of valid UTF-8, 1 to GH_TITLE_MAX characters. */
static const char *bad_title(const char *s)
{
    json_t *probe;

    if (s[0] == '\0')
        return "it is empty";
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++)
        if (*p < 0x20 || *p == 0x7F)
            return "it holds a line break or a control character";
    probe = json_string(s);
    if (probe == NULL)
        return "it is not valid UTF-8";
    json_decref(probe);
    if (gh_chars(s) > GH_TITLE_MAX)
        return "it is longer than GitHub's 256 characters";
    return NULL;
}

/* ---- open / close ---------------------------------------------------------------------------- */

static void github_free(struct github *g)
{
    if (g == NULL)
        return;
    free(g->api);
    free(g->owner);
    free(g->repo);
    free(g->head);
    free(g->head_filter);
    free(g->base);
    free(g->title);
    free(g->tag);
    free(g->name);
    free(g);
}

/* The value from the plan, else the default template expanded for this run. */
static int value_or(const relhost_ctx *ctx, const char *v, const char *def, char **out)
{
    if (v != NULL) {
        *out = strdup(v);
        return *out != NULL ? 0 : pl_oom(ctx);
    }
    if (pl_host->expand == NULL || pl_host->expand(ctx, def, NULL, 0, out) != 0 || *out == NULL) {
        pl_host->fail(ctx, "github: cannot expand the default \"%s\" (no {version} in this run?)",
                      def);
        return RELHOST_EINVAL;
    }
    /* The host's allocation: take a copy of our own, so that close() frees with free(). */
    {
        char *mine = strdup(*out);
        pl_host->free(*out);
        *out = mine;
    }
    return *out != NULL ? 0 : pl_oom(ctx);
}

/* An option that the chosen action does not use is a mistake in the plan, not something to
 * ignore: `tag` on a pull_request step would otherwise be silently dropped. */
static int refuse_option(const relhost_ctx *ctx, const struct github_conf *c, const void *field,
                         const char *name, const char *for_what)
{
    pl_host->fail(ctx,
                  "%s: `%s` does not apply to action = \"%s\" (it is for %s): remove it, "
                  "or change the action",
                  pl_where(ctx, field), name, action_names[c->action], for_what);
    return RELHOST_EINVAL;
}

static int check_options(const relhost_ctx *ctx, const struct github_conf *c)
{
    int pr = c->action == GH_PULL_REQUEST, rel = c->action == GH_RELEASE;
    int iss = c->action == GH_ISSUE;

    if (!pr && c->head != NULL)
        return refuse_option(ctx, c, &c->head, "head", "pull_request");
    if (!pr && c->base != NULL)
        return refuse_option(ctx, c, &c->base, "base", "pull_request");
    if (rel && c->title != NULL)
        return refuse_option(ctx, c, &c->title, "title",
                             "pull_request and issue; a release has `release_name`");
    if (!rel && c->tag != NULL)
        return refuse_option(ctx, c, &c->tag, "tag", "release");
    if (!rel && c->target_commitish != NULL)
        return refuse_option(ctx, c, &c->target_commitish, "target_commitish", "release");
    if (!rel && c->name != NULL)
        return refuse_option(ctx, c, &c->name, "release_name",
                             "release; pull requests and issues have `title`");
    if (!iss && c->labels.n > 0)
        return refuse_option(ctx, c, &c->labels, "labels", "issue");
    return 0;
}

static int check_values(const relhost_ctx *ctx, const struct github *g)
{
    const struct github_conf *c = g->conf;
    const char *why;
    json_t *probe;

    if (g->head != NULL) {
        const char *colon = strchr(g->head, ':');
        const char *branch = colon != NULL ? colon + 1 : g->head;
        size_t on = colon != NULL ? (size_t)(colon - g->head) : 0;
        if (colon != NULL &&
            (on == 0 || on > 39 ||
             strspn(g->head, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") <
                 on))
            why = "the owner before ':' must be 1 to 39 letters, digits or hyphens";
        else
            why = bad_ref(branch);
        if (why != NULL) {
            pl_host->fail(ctx, "%s: head \"%s\" is not a branch name: %s", pl_where(ctx, &c->head),
                          g->head, why);
            return RELHOST_EINVAL;
        }
    }
    if (g->base != NULL && (why = bad_ref(g->base)) != NULL) {
        pl_host->fail(ctx, "%s: base \"%s\" is not a branch name: %s", pl_where(ctx, &c->base),
                      g->base, why);
        return RELHOST_EINVAL;
    }
    if (g->tag != NULL && (why = bad_ref(g->tag)) != NULL) {
        pl_host->fail(ctx, "%s: tag \"%s\" is not a tag name: %s", pl_where(ctx, &c->tag), g->tag,
                      why);
        return RELHOST_EINVAL;
    }
    if (c->target_commitish != NULL && (why = bad_ref(c->target_commitish)) != NULL) {
        pl_host->fail(ctx, "%s: target_commitish \"%s\" is not a branch or commit: %s",
                      pl_where(ctx, &c->target_commitish), c->target_commitish, why);
        return RELHOST_EINVAL;
    }
    if (g->title != NULL && (why = bad_title(g->title)) != NULL) {
        pl_host->fail(ctx, "%s: title is not usable: %s", pl_where(ctx, &c->title), why);
        return RELHOST_EINVAL;
    }
    if (g->name != NULL && (why = bad_title(g->name)) != NULL) {
        pl_host->fail(ctx, "%s: release_name is not usable: %s", pl_where(ctx, &c->name), why);
        return RELHOST_EINVAL;
    }
    if (c->body != NULL) {
        if (c->body[0] == '\0') {
            pl_host->fail(ctx,
                          "%s: body is empty: remove it for the default text, or write "
                          "one",
                          pl_where(ctx, &c->body));
            return RELHOST_EINVAL;
        }
        if ((probe = json_string(c->body)) == NULL) {
            pl_host->fail(ctx, "%s: body is not valid UTF-8: save the plan as UTF-8",
                          pl_where(ctx, &c->body));
            return RELHOST_EINVAL;
        }
        json_decref(probe);
    }
    for (size_t i = 0; i < c->labels.n; i++) {
        const char *l = c->labels.v[i];
        if (l[0] == '\0' || gh_chars(l) > GH_LABEL_MAX || (probe = json_string(l)) == NULL) {
            pl_host->fail(ctx,
                          "%s: label %zu is empty, longer than GitHub's %d characters, or "
                          "not UTF-8",
                          pl_where(ctx, &c->labels), i + 1, GH_LABEL_MAX);
            return RELHOST_EINVAL;
        }
        json_decref(probe);
    }
    return 0;
}

static void make_nonce(char out[33])
{
    unsigned char raw[16];
    size_t i;

    /* Random so that two runs (or two steps) never take each other's post for their own. */
    if (getrandom(raw, sizeof raw, GRND_NONBLOCK) != (ssize_t)sizeof raw) {
        unsigned long long x =
            (unsigned long long)time(NULL) ^ ((unsigned long long)getpid() << 32) ^ (uintptr_t)out;
        for (i = 0; i < sizeof raw; i++) {
            x = x * 6364136223846793005ULL + 1442695040888963407ULL;
            raw[i] = (unsigned char)(x >> 56);
        }
    }
    for (i = 0; i < sizeof raw; i++)
        snprintf(out + 2 * i, 3, "%02x", raw[i]);
}

static int github_open(const relhost_ctx *ctx, const void *conf, void **inst)
{
    const struct github_conf *c = conf;
    struct github *g;
    const char *why = NULL;
    char whybuf[256];
    size_t slash = 0, n;
    int rc;

    if (c->action < GH_PULL_REQUEST || c->action > GH_ISSUE) {
        pl_host->fail(ctx, "%s: action must be pull_request, release or issue",
                      pl_where(ctx, &c->action));
        return RELHOST_EINVAL;
    }
    if (c->repository == NULL || (why = bad_repository(c->repository, &slash)) != NULL) {
        pl_host->fail(ctx, "%s: repository \"%s\" is not usable: %s", pl_where(ctx, &c->repository),
                      c->repository != NULL ? c->repository : "", why != NULL ? why : "unset");
        return RELHOST_EINVAL;
    }
    if (c->base_url == NULL ||
        (why = pl_bad_base_url(c->base_url,
                               "https://api.github.com or https://github.example.com/api/v3",
                               whybuf, sizeof whybuf)) != NULL) {
        /* The value is not echoed: it might hold a password (the very thing refused). */
        pl_host->fail(ctx, "%s: base_url is not usable: %s", pl_where(ctx, &c->base_url),
                      why != NULL ? why : "it is empty");
        return RELHOST_EINVAL;
    }
    if ((rc = check_options(ctx, c)) != 0)
        return rc;

    g = calloc(1, sizeof *g);
    if (g == NULL)
        return pl_oom(ctx);
    g->conf = c;
    n = strlen(c->base_url);
    while (n > 0 && c->base_url[n - 1] == '/')
        n--;
    g->api = strndup(c->base_url, n);
    g->owner = strndup(c->repository, slash);
    g->repo = strdup(c->repository + slash + 1);
    if (g->api == NULL || g->owner == NULL || g->repo == NULL) {
        github_free(g);
        return pl_oom(ctx);
    }
    switch (c->action) {
    case GH_PULL_REQUEST:
        g->rights = "write access to pull requests (fine-grained: Pull requests: write; "
                    "classic: the repo scope)";
        rc = value_or(ctx, c->head, "release/{version}", &g->head);
        if (rc == 0)
            rc = value_or(ctx, c->base, "main", &g->base);
        if (rc == 0)
            rc = value_or(ctx, c->title, "Release {version}", &g->title);
        if (rc == 0) {
            struct pl_str b = {0};
            if (strchr(g->head, ':') != NULL)
                pl_str_add(&b, "%s", g->head);
            else
                pl_str_add(&b, "%s:%s", g->owner, g->head);
            if ((g->head_filter = pl_str_take(&b)) == NULL)
                rc = pl_oom(ctx);
        }
        break;
    case GH_RELEASE:
        g->rights = "write access to contents (fine-grained: Contents: write; classic: the "
                    "repo scope)";
        rc = value_or(ctx, c->tag, "v{version}", &g->tag);
        if (rc == 0 && (g->name = strdup(c->name != NULL ? c->name : g->tag)) == NULL)
            rc = pl_oom(ctx);
        break;
    default:
        g->rights = "write access to issues (fine-grained: Issues: write; classic: the repo "
                    "scope)";
        rc = value_or(ctx, c->title, "Release {version} did not qualify", &g->title);
        make_nonce(g->nonce);
        break;
    }
    if (rc == 0)
        rc = check_values(ctx, g);
    if (rc != 0) {
        github_free(g);
        return rc;
    }
    *inst = g;
    return 0;
}

static void github_close(void *inst) { github_free(inst); }

/* ---- the body -------------------------------------------------------------------------------- */

struct body {
    char *text;
    char src[4096 + 256]; /* where it came from, for notes */
};

static size_t body_max(const struct github *g)
{
    return g->conf->action == GH_RELEASE ? GH_RELEASE_BODY_MAX : GH_BODY_MAX;
}

/* The release notes file's text, or NULL with *why set (missing: *why = NULL). */
static char *read_notes(const char *path, char *why, size_t cap, int *missing)
{
    FILE *f = fopen(path, "re");
    char *buf;
    size_t len;
    json_t *probe;

    *missing = 0;
    if (f == NULL) {
        *missing = errno == ENOENT;
        snprintf(why, cap, "cannot read it: %s", strerror(errno));
        return NULL;
    }
    buf = malloc(GH_NOTES_FILE_MAX + 1);
    if (buf == NULL) {
        fclose(f);
        snprintf(why, cap, "out of memory");
        return NULL;
    }
    len = fread(buf, 1, GH_NOTES_FILE_MAX + 1, f);
    if (ferror(f)) {
        snprintf(why, cap, "cannot read it: %s", strerror(errno));
        fclose(f);
        free(buf);
        return NULL;
    }
    fclose(f);
    if (len > GH_NOTES_FILE_MAX) {
        snprintf(why, cap, "it is larger than %zu bytes", GH_NOTES_FILE_MAX);
        free(buf);
        return NULL;
    }
    buf[len] = '\0';
    if (memchr(buf, '\0', len) != NULL || (probe = json_string(buf)) == NULL) {
        snprintf(why, cap, "it is not UTF-8 text");
        free(buf);
        return NULL;
    }
    json_decref(probe);
    return buf;
}

/*
 * The text to post: the release notes file when body_from_notes and it exists, else `body`,
 * else a default line. 0; RELHOST_EINVAL with the reason in err (unreadable notes, too long
 * for GitHub); RELHOST_ENOMEM.
 */
static int make_body(const relhost_ctx *ctx, const struct github *g, struct body *b, char *err,
                     size_t cap)
{
    const struct github_conf *c = g->conf;
    char path[4096];
    char why[256];
    int missing = 1;
    size_t chars;

    memset(b, 0, sizeof *b);
    snprintf(path, sizeof path, "%s/release_%s.md", ctx->state_dir != NULL ? ctx->state_dir : ".",
             ctx->version != NULL ? ctx->version : "");
    if (c->body_from_notes) {
        b->text = read_notes(path, why, sizeof why, &missing);
        if (b->text == NULL && !missing) {
            snprintf(err, cap,
                     "the release notes file %s is not usable: %s; fix it, or set "
                     "body_from_notes = false (%s)",
                     path, why, pl_where(ctx, &c->body_from_notes));
            return RELHOST_EINVAL;
        }
        if (b->text != NULL)
            snprintf(b->src, sizeof b->src, "the release notes file %s", path);
    }
    if (b->text == NULL && c->body != NULL) {
        b->text = strdup(c->body);
        snprintf(b->src, sizeof b->src, "`body` (%s)", pl_where(ctx, &c->body));
    } else if (b->text == NULL) {
        struct pl_str s = {0};
        const char *step = ctx->step != NULL ? ctx->step : "github";
        const char *version = ctx->version != NULL ? ctx->version : "";
        if (c->action == GH_ISSUE)
            pl_str_add(&s,
                       "Release %s did not qualify%s%s%s.\n\nRaised by relhost (step %s): "
                       "see the release's report for what failed.",
                       version, ctx->commit != NULL ? " (commit " : "",
                       ctx->commit != NULL ? ctx->commit : "", ctx->commit != NULL ? ")" : "",
                       step);
        else
            pl_str_add(&s, "Release %s%s%s.\n\n%s by relhost (step %s).", version,
                       ctx->commit != NULL ? " of commit " : "",
                       ctx->commit != NULL ? ctx->commit : "",
                       c->action == GH_RELEASE ? "Published" : "Opened", step);
        b->text = pl_str_take(&s);
        snprintf(b->src, sizeof b->src, "the default text (%s%s)",
                 c->body_from_notes ? "no release notes file at " : "body_from_notes = false",
                 c->body_from_notes ? path : "");
    }
    if (b->text == NULL)
        return RELHOST_ENOMEM;
    chars = gh_chars(b->text);
    if (chars > body_max(g)) {
        snprintf(err, cap,
                 "the body from %s holds %zu characters; GitHub takes at most %zu in "
                 "a %s: shorten it, or post a short `body` that links to the notes",
                 b->src, chars, body_max(g),
                 c->action == GH_RELEASE ? "release" : "pull request, issue or comment");
        free(b->text);
        b->text = NULL;
        return RELHOST_EINVAL;
    }
    return 0;
}

/* ---- describe -------------------------------------------------------------------------------- */

static int token_set(const relhost_ctx *ctx, const struct github *g)
{
    /* Only asks whether it is set; the value stays with the host (which also registers it for
     * redaction here, before any request could echo it). */
    return pl_host->secret != NULL && pl_host->secret(ctx, g->conf->token_env) != NULL;
}

static int github_describe(const relhost_ctx *ctx, void *inst)
{
    struct github *g = inst;
    const struct github_conf *c = g->conf;
    const char *target = c->target_commitish != NULL ? c->target_commitish : ctx->commit;
    struct pl_str q = {0};
    struct body b;
    char err[8192] = "out of memory";
    char *enc;

    if (c->action == GH_PULL_REQUEST) {
        pl_str_urlenc(&q, g->head_filter);
        pl_str_add(&q, "&base=");
        pl_str_urlenc(&q, g->base);
        enc = pl_str_take(&q);
        pl_host->note_add(ctx, "would POST %s/repos/%s/%s/pulls: \"%s\" (head %s into base %s%s)",
                          g->api, g->owner, g->repo, g->title, g->head, g->base,
                          c->draft ? ", draft" : "");
        pl_host->note_add(ctx,
                          "a pull request from %s into %s that is already open is reused: "
                          "GET %s/repos/%s/%s/pulls?head=%s&state=open",
                          g->head, g->base, g->api, g->owner, g->repo, enc != NULL ? enc : "");
        free(enc);
    } else if (c->action == GH_RELEASE) {
        pl_str_urlenc(&q, g->tag);
        enc = pl_str_take(&q);
        pl_host->note_add(ctx,
                          "would GET %s/repos/%s/%s/releases/tags/%s (a draft: GET "
                          "%s/repos/%s/%s/releases) for release \"%s\" of tag %s",
                          g->api, g->owner, g->repo, enc != NULL ? enc : "", g->api, g->owner,
                          g->repo, g->name, g->tag);
        pl_host->note_add(ctx,
                          "found: PATCH %s/repos/%s/%s/releases/<id> with its name and "
                          "body; else POST %s/repos/%s/%s/releases: \"%s\" (tag %s at %s%s%s)",
                          g->api, g->owner, g->repo, g->api, g->owner, g->repo, g->name, g->tag,
                          target != NULL ? target
                                         : "the existing tag, which must exist (no "
                                           "target_commitish, no candidate commit)",
                          c->draft ? ", draft" : "", c->prerelease ? ", pre-release" : "");
        free(enc);
    } else {
        struct pl_str l = {0};
        char *labels;
        for (size_t i = 0; i < c->labels.n; i++)
            pl_str_add(&l, "%s%s", i ? ", " : "; labels: ", c->labels.v[i]);
        labels = pl_str_take(&l);
        pl_host->note_add(ctx,
                          "would GET %s/repos/%s/%s/issues?state=open&per_page=100 (every "
                          "page) for an open issue titled \"%s\"",
                          g->api, g->owner, g->repo, g->title);
        pl_host->note_add(ctx,
                          "found: POST %s/repos/%s/%s/issues/<number>/comments; else POST "
                          "%s/repos/%s/%s/issues: \"%s\"%s",
                          g->api, g->owner, g->repo, g->api, g->owner, g->repo, g->title,
                          labels != NULL ? labels : "");
        free(labels);
    }
    if (make_body(ctx, g, &b, err, sizeof err) == 0) {
        pl_host->note_add(ctx, "body: %s (%zu characters)", b.src, gh_chars(b.text));
        free(b.text);
    } else {
        pl_host->note_add(ctx, "body: %s: the step would be an ERROR", err);
    }
    if (token_set(ctx, g))
        pl_host->note_add(ctx, "authenticated with $%s", c->token_env);
    else
        pl_host->note_add(ctx,
                          "%s unset: the step would be SKIPPED (not_configured), "
                          "INCONCLUSIVE when it is required",
                          c->token_env);
    return 0;
}

/* ---- run ------------------------------------------------------------------------------------- */

static int github_run(const relhost_ctx *ctx, void *inst, relhost_verdict *out)
{
    struct github *g = inst;
    const struct github_conf *c = g->conf;
    struct body b;
    char err[8192] = "out of memory";
    int rc;

    if (pl_launch_skips(ctx, out))
        return 0;
    if (!token_set(ctx, g)) {
        pl_host->fail(ctx,
                      "%s unset: GitHub is not configured, so nothing was sent to %s/%s; "
                      "export %s with a token that has %s",
                      c->token_env, g->owner, g->repo, c->token_env, g->rights);
        pl_skip(out, "not_configured");
        return 0;
    }
    if ((rc = pl_need_http(ctx)) != 0)
        return rc;
    rc = make_body(ctx, g, &b, err, sizeof err);
    if (rc == RELHOST_EINVAL) {
        pl_host->fail(ctx, "github: %s", err);
        gh_set_error(out, 0);
        return 0;
    }
    if (rc != 0)
        return pl_oom(ctx);
    switch (c->action) {
    case GH_PULL_REQUEST: rc = gh_pull_request(ctx, g, b.text, b.src, out); break;
    case GH_RELEASE: rc = gh_release(ctx, g, b.text, b.src, out); break;
    default: rc = gh_issue(ctx, g, b.text, b.src, out); break;
    }
    free(b.text);
    return rc;
}

const relhost_plugin pl_plugin = {
    PL_PLUGIN_BASE("github", "1.0.0", github_options, struct github_conf),
    .description = "opens the release pull request, creates or updates the GitHub release, or "
                   "raises an issue; idempotent on re-runs",
    .gate = PL_GATE_OPS(github, .close = github_close),
};
