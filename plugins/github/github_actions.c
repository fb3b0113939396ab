/* SPDX-License-Identifier: MIT */
/*
 * github_actions.c - what the github gate does: open (or reuse) the release pull request,
 * create (or update) the release of a tag, raise (or comment on) the alarm issue.
 *
 * Each is safe to run again, because a release is run again after any failure:
 *  - a pull request that already exists is found and reused (GitHub refuses a second one);
 *  - a release is looked up by its tag first (published: GET .../releases/tags/{tag}; a draft
 *    has no tag yet and only shows in GET .../releases) and updated, never duplicated;
 *  - an issue is looked up by its title among the open ones; a second run comments on it.
 * A POST that creates something is sent ONCE (no host retries): when its reply is lost (reset,
 * timeout, truncated, 5xx, rate limit) it may or may not have taken effect, so the gate looks
 * for what it posted before posting again. Issues and comments carry a hidden marker with a
 * random id for that; a release is known by its tag. The host's retries stay on for the rest:
 * GETs and PATCHes repeat harmlessly, and a repeated pull request POST answers "already exists".
 */
#include "github.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* 10,000 open issues: past that relhost will not guess whether the alarm is already raised. */
#define GH_ISSUE_PAGES 100
/* Releases come newest first: a draft of this release is near the top. */
#define GH_RELEASE_PAGES 10
#define GH_COMMENT_PAGES 10
/* Comments since this long before the first POST are searched for its marker (clock skew). */
#define GH_SINCE_SLACK_S 600

/* ---- pull request ---------------------------------------------------------------------------- */

static int reuse_pull(const relhost_ctx *ctx, struct github *g, const char *body_src,
                      relhost_verdict *out)
{
    struct pl_str u = {0};
    json_t *list = NULL, *pr = NULL;
    char what[512];
    char *suffix, *url;
    size_t i;
    json_t *e;
    int rc;

    pl_str_add(&u, "/pulls?head=");
    pl_str_urlenc(&u, g->head_filter);
    pl_str_add(&u, "&base=");
    pl_str_urlenc(&u, g->base);
    pl_str_add(&u, "&state=open&per_page=100");
    suffix = pl_str_take(&u);
    url = suffix != NULL ? gh_repo_url(g, suffix) : NULL;
    free(suffix);
    if (url == NULL)
        return pl_oom(ctx);
    snprintf(what, sizeof what, "finding the open pull request from %s into %s in %s/%s",
             g->head_filter, g->base, g->owner, g->repo);
    struct gh_call c = {.method = "GET", .url = url, .what = what};
    rc = gh_send_read(ctx, g, &c, JSON_ARRAY, &list, out);
    if (rc != GH_OK)
        goto done;
    json_array_foreach(list, i, e)
    {
        if (gh_jint(e, "number") > 0 && gh_jstr(e, "html_url") != NULL) {
            pr = e;
            break;
        }
    }
    if (pr == NULL) {
        /* GitHub said one exists a moment ago: it was closed since, or lives elsewhere. */
        pl_host->fail(ctx,
                      "github: GitHub says a pull request from %s into %s already exists "
                      "in %s/%s, but GET %s lists no open one (closed meanwhile?); the next "
                      "run tries again",
                      g->head_filter, g->base, g->owner, g->repo, url);
        gh_set_error(out, 1);
        rc = GH_VERDICT;
        goto done;
    }
    pl_host->note_add(ctx,
                      "pull request #%lld from %s into %s is already open: reused, not "
                      "modified: %s",
                      gh_jint(pr, "number"), g->head, g->base, gh_jstr(pr, "html_url"));
    if (json_array_size(list) > 1)
        pl_host->note_add(ctx, "%zu open pull requests match; the first one is reused",
                          json_array_size(list));
    pl_host->note_add(ctx, "body (not sent): %s", body_src);
    gh_evidence(ctx, "pull_request", gh_jstr(pr, "html_url"));
    gh_set_passed(out);
done:
    json_decref(list);
    free(url);
    return rc;
}

int gh_pull_request(const relhost_ctx *ctx, struct github *g, const char *body,
                    const char *body_src, relhost_verdict *out)
{
    relhost_http_response *r = NULL;
    json_t *payload, *pr = NULL;
    char what[512];
    char *url = gh_repo_url(g, "/pulls");
    int rc;

    payload = json_pack("{s:s, s:s, s:s, s:s, s:b}", "title", g->title, "head", g->head, "base",
                        g->base, "body", body, "draft", g->conf->draft);
    if (url == NULL || payload == NULL) {
        free(url);
        json_decref(payload);
        return pl_oom(ctx);
    }
    snprintf(what, sizeof what, "opening a pull request from %s into %s in %s/%s", g->head, g->base,
             g->owner, g->repo);
    /* The host may repeat this POST after a lost reply: a second one answers "already
     * exists", which is handled below, so no duplicate can come of it. */
    struct gh_call c = {.method = "POST", .url = url, .body = payload, .what = what};
    rc = gh_send(ctx, g, &c, &r, out);
    json_decref(payload);
    if (rc != GH_OK)
        goto done;
    if (r->status == 201 || r->status == 200) {
        rc = gh_parse(ctx, &c, r, JSON_OBJECT, &pr, out);
        if (rc != GH_OK)
            goto done;
        if (gh_jint(pr, "number") <= 0 || gh_jstr(pr, "html_url") == NULL) {
            rc = gh_bad_shape(ctx, &c, "the pull request has no \"number\" or \"html_url\"", out);
            goto done;
        }
        pl_host->note_add(ctx, "opened pull request #%lld \"%s\" (%s into %s%s): %s",
                          gh_jint(pr, "number"), g->title, g->head, g->base,
                          g->conf->draft ? ", draft" : "", gh_jstr(pr, "html_url"));
        gh_passed(ctx, "body", body_src, body, "pull_request", gh_jstr(pr, "html_url"), out);
    } else if (r->status == 422 && gh_error_has(r, "A pull request already exists for", NULL)) {
        rc = reuse_pull(ctx, g, body_src, out);
    } else if (r->status == 422 && gh_error_has(r, "No commits between", NULL)) {
        /*
         * The head branch holds nothing the base lacks: the release's commits are already in
         * the base, which is what the pull request was for. PASSED, said plainly: blocking the
         * release (INCONCLUSIVE) would ask a person to decide something already true, and a
         * FAILED would call a good candidate bad.
         */
        pl_host->note_add(ctx,
                          "no pull request needed: GitHub says there are no commits between "
                          "%s and %s, so %s already holds everything on %s",
                          g->base, g->head, g->base, g->head);
        if (RELHOST_HAS(pl_host, label_set) && pl_host->label_set != NULL)
            pl_host->label_set(ctx, "pull_request", "none");
        gh_set_passed(out);
    } else {
        gh_refused(ctx, g, &c, r, out);
        rc = GH_VERDICT;
    }
done:
    json_decref(pr);
    if (r != NULL)
        pl_host->http_response_free(r);
    free(url);
    return rc < 0 ? rc : 0;
}

/* ---- release --------------------------------------------------------------------------------- */

static int is_sha(const char *s)
{
    return s != NULL && strlen(s) == 40 && strspn(s, "0123456789abcdefABCDEF") == 40;
}

/*
 * The release of g->tag: *rel is the published one (GET .../releases/tags/{tag}), else a draft
 * carrying the tag from the list, else NULL. GH_OK / GH_VERDICT / negative.
 */
static int find_release(const relhost_ctx *ctx, const struct github *g, json_t **rel,
                        relhost_verdict *out)
{
    relhost_http_response *r = NULL;
    json_t *list = NULL;
    char what[512];
    char *url, *list_url = NULL;
    int complete = 1;
    size_t i, n = 0;
    json_t *e;
    int rc;

    *rel = NULL;
    url = gh_tag_url(g, "/releases/tags/");
    if (url == NULL)
        return pl_oom(ctx);
    snprintf(what, sizeof what, "looking up the release of tag %s in %s/%s", g->tag, g->owner,
             g->repo);
    struct gh_call c = {.method = "GET", .url = url, .what = what};
    rc = gh_send(ctx, g, &c, &r, out);
    if (rc != GH_OK)
        goto done;
    if (r->status == 200) {
        rc = gh_parse(ctx, &c, r, JSON_OBJECT, rel, out);
        if (rc == GH_OK && gh_jint(*rel, "id") <= 0) {
            json_decref(*rel);
            *rel = NULL;
            rc = gh_bad_shape(ctx, &c, "the release has no \"id\"", out);
        }
        goto done;
    }
    if (r->status != 404) {
        gh_refused(ctx, g, &c, r, out);
        rc = GH_VERDICT;
        goto done;
    }
    /* 404: no published release; a draft's tag only shows in the list. */
    list = json_array();
    list_url = gh_repo_url(g, "/releases?per_page=100");
    if (list == NULL || list_url == NULL) {
        rc = pl_oom(ctx);
        goto done;
    }
    snprintf(what, sizeof what, "looking for a draft release of tag %s in %s/%s", g->tag, g->owner,
             g->repo);
    rc = gh_get_all(ctx, g, list_url, what, GH_RELEASE_PAGES, 0, list, &complete, out);
    if (rc != GH_OK)
        goto done;
    json_array_foreach(list, i, e)
    {
        const char *t = gh_jstr(e, "tag_name");
        if (t == NULL || strcmp(t, g->tag) != 0 || gh_jint(e, "id") <= 0)
            continue;
        if (n++ == 0)
            *rel = json_incref(e);
    }
    if (n > 1)
        pl_host->note_add(ctx, "%zu draft releases carry tag %s; the newest (id %lld) is used", n,
                          g->tag, gh_jint(*rel, "id"));
    if (!complete)
        pl_host->note_add(ctx, "only the newest %d releases were searched for a draft of tag %s",
                          GH_RELEASE_PAGES * 100, g->tag);
done:
    json_decref(list);
    if (r != NULL)
        pl_host->http_response_free(r);
    free(url);
    free(list_url);
    return rc;
}

/* Does refs/tags/{tag} exist? GH_OK with *exists, GH_VERDICT, negative. */
static int tag_exists(const relhost_ctx *ctx, const struct github *g, int *exists,
                      relhost_verdict *out)
{
    relhost_http_response *r = NULL;
    char what[512];
    char *url;
    int rc;

    url = gh_tag_url(g, "/git/ref/tags/");
    if (url == NULL)
        return pl_oom(ctx);
    snprintf(what, sizeof what, "looking up tag %s in %s/%s", g->tag, g->owner, g->repo);
    struct gh_call c = {.method = "GET", .url = url, .what = what};
    rc = gh_send(ctx, g, &c, &r, out);
    if (rc == GH_OK) {
        if (r->status == 200 || r->status == 404) {
            *exists = r->status == 200;
        } else {
            gh_refused(ctx, g, &c, r, out);
            rc = GH_VERDICT;
        }
        pl_host->http_response_free(r);
    }
    free(url);
    return rc;
}

static int update_release(const relhost_ctx *ctx, const struct github *g, const json_t *rel,
                          const char *target, const char *body, const char *body_src,
                          const char *why, relhost_verdict *out)
{
    const struct github_conf *cf = g->conf;
    long long id = gh_jint(rel, "id");
    const char *was = gh_jstr(rel, "target_commitish");
    int is_draft = json_is_true(json_object_get(rel, "draft"));
    int publish = is_draft && !cf->draft;
    json_t *payload = NULL, *done_rel = NULL;
    char what[512], suffix[64];
    char *url = NULL;
    int rc;

    if (is_sha(was) && is_sha(target) && strcasecmp(was, target) != 0) {
        pl_host->fail(ctx,
                      "github: release \"%s\" of tag %s in %s/%s (id %lld) was made for "
                      "commit %s, but this candidate is commit %s: relhost does not put one "
                      "candidate's release on another's tag; use another tag (%s), or "
                      "delete that release if it is wrong",
                      gh_jstr(rel, "name") != NULL ? gh_jstr(rel, "name") : "", g->tag, g->owner,
                      g->repo, id, was, target, pl_where(ctx, &cf->tag));
        gh_set_error(out, 0);
        return GH_VERDICT;
    }
    if (!is_draft && cf->draft)
        pl_host->note_add(ctx,
                          "release of tag %s is already published: it stays published "
                          "(draft = true applies to a new release only)",
                          g->tag);
    snprintf(suffix, sizeof suffix, "/releases/%lld", id);
    if (gh_jstr(rel, "name") != NULL && strcmp(gh_jstr(rel, "name"), g->name) == 0 &&
        gh_jstr(rel, "body") != NULL && strcmp(gh_jstr(rel, "body"), body) == 0 &&
        json_is_true(json_object_get(rel, "prerelease")) == (cf->prerelease != 0) && !publish) {
        /* Nothing to change: no write, so a re-run leaves the release's history alone. */
        pl_host->note_add(ctx,
                          "release \"%s\" (tag %s, id %lld%s) is up to date%s: nothing "
                          "sent: %s",
                          g->name, g->tag, id, is_draft ? ", draft" : "", why,
                          gh_jstr(rel, "html_url") != NULL ? gh_jstr(rel, "html_url")
                                                           : "(no link)");
        gh_passed(ctx, "body", body_src, body, "release", gh_jstr(rel, "html_url"), out);
        return GH_OK;
    }
    payload =
        json_pack("{s:s, s:s, s:b}", "name", g->name, "body", body, "prerelease", cf->prerelease);
    url = gh_repo_url(g, suffix);
    if (payload == NULL || url == NULL ||
        (publish && json_object_set_new(payload, "draft", json_false()) != 0)) {
        rc = pl_oom(ctx);
        goto done;
    }
    snprintf(what, sizeof what, "updating release %lld (tag %s) in %s/%s", id, g->tag, g->owner,
             g->repo);
    struct gh_call c = {.method = "PATCH", .url = url, .body = payload, .what = what};
    rc = gh_send_read(ctx, g, &c, JSON_OBJECT, &done_rel, out);
    if (rc != GH_OK)
        goto done;
    pl_host->note_add(
        ctx, "updated release \"%s\" (tag %s, id %lld%s)%s: %s", g->name, g->tag, id,
        publish    ? ", published the draft"
        : is_draft ? ", draft"
                   : "",
        why, gh_jstr(done_rel, "html_url") != NULL ? gh_jstr(done_rel, "html_url") : "(no link)");
    gh_passed(ctx, "body", body_src, body, "release", gh_jstr(done_rel, "html_url"), out);
done:
    json_decref(payload);
    json_decref(done_rel);
    free(url);
    return rc;
}

/* The release gh_release() creates: what its made() and look() need. */
struct new_release {
    const struct github *g;
    const char *target; /* the commit to tag, or NULL: the tag exists */
    const char *body, *body_src;
};

static int release_made(const relhost_ctx *ctx, void *arg, const struct gh_call *c,
                        const json_t *created, relhost_verdict *out)
{
    const struct new_release *nr = arg;
    const struct github *g = nr->g;
    const struct github_conf *cf = g->conf;
    const char *link = gh_jstr(created, "html_url");

    if (gh_jint(created, "id") <= 0 || link == NULL)
        return gh_bad_shape(ctx, c, "the release has no \"id\" or \"html_url\"", out);
    pl_host->note_add(ctx, "created release \"%s\" (tag %s at %s%s%s, id %lld): %s", g->name,
                      g->tag, nr->target != NULL ? nr->target : "the existing tag",
                      cf->draft ? ", draft" : "", cf->prerelease ? ", pre-release" : "",
                      gh_jint(created, "id"), link);
    gh_passed(ctx, "body", nr->body_src, nr->body, "release", link, out);
    return GH_OK;
}

/* A release is known by its tag: one found is updated, whoever created it. */
static int release_look(const relhost_ctx *ctx, void *arg, const struct gh_call *c, int race,
                        const char *lost, int *settled, relhost_verdict *out)
{
    const struct new_release *nr = arg;
    const struct github *g = nr->g;
    json_t *rel = NULL;
    int rc = find_release(ctx, g, &rel, out);

    if (rc != GH_OK)
        return rc;
    if (rel != NULL) {
        *settled = 1;
        rc = update_release(
            ctx, g, rel, nr->target, nr->body, nr->body_src,
            race ? " (created by someone else meanwhile)" : " (found after a lost reply)", out);
        json_decref(rel);
        if (rc == GH_OK && !race)
            pl_host->fail(ctx,
                          "github: the reply to POST %s was lost (%s); the release of tag %s "
                          "was found by its tag",
                          c->url, lost, g->tag);
        return rc;
    }
    if (race) {
        pl_host->fail(ctx,
                      "github: GitHub says a release of tag %s already exists in %s/%s, but "
                      "neither GET .../releases/tags/%s nor the list of releases shows it; "
                      "the next run tries again",
                      g->tag, g->owner, g->repo, g->tag);
        gh_set_error(out, 1);
        return GH_VERDICT;
    }
    return GH_OK;
}

/* Without a target GitHub tags the default branch's head, which is not what was tested: only
 * an existing tag is safe. GH_OK when the tag exists. */
static int need_tag(const relhost_ctx *ctx, const struct github *g, relhost_verdict *out)
{
    int exists = 1;
    int rc = tag_exists(ctx, g, &exists, out);

    if (rc != GH_OK || exists)
        return rc;
    pl_host->fail(ctx,
                  "github: tag %s does not exist in %s/%s, and relhost knows no commit to "
                  "create it at (no target_commitish, and the plan names no repo for a "
                  "candidate commit): GitHub would tag the default branch's head, which is "
                  "not the tested candidate; push the tag first, set target_commitish (%s), "
                  "or name the plan's repo",
                  g->tag, g->owner, g->repo, pl_where(ctx, &g->conf->action));
    gh_set_error(out, 0);
    return GH_VERDICT;
}

int gh_release(const relhost_ctx *ctx, struct github *g, const char *body, const char *body_src,
               relhost_verdict *out)
{
    const struct github_conf *cf = g->conf;
    const char *target = cf->target_commitish != NULL ? cf->target_commitish : ctx->commit;
    struct new_release nr = {.g = g, .target = target, .body = body, .body_src = body_src};
    struct gh_create k = {.noun = "release",
                          .conflict = "already_exists",
                          .made = release_made,
                          .look = release_look,
                          .arg = &nr};
    json_t *rel = NULL, *payload = NULL;
    char what[512];
    char *url = NULL;
    int rc;

    rc = find_release(ctx, g, &rel, out);
    if (rc != GH_OK)
        goto done;
    if (rel != NULL) {
        rc = update_release(ctx, g, rel, target, body, body_src, "", out);
        goto done;
    }
    if (target == NULL && (rc = need_tag(ctx, g, out)) != GH_OK)
        goto done;
    payload = json_pack("{s:s, s:s, s:s, s:b, s:b}", "tag_name", g->tag, "name", g->name, "body",
                        body, "draft", cf->draft, "prerelease", cf->prerelease);
    url = gh_repo_url(g, "/releases");
    if (payload == NULL || url == NULL ||
        (target != NULL &&
         json_object_set_new(payload, "target_commitish", json_string(target)) != 0)) {
        rc = pl_oom(ctx);
        goto done;
    }
    snprintf(what, sizeof what, "creating the release of tag %s in %s/%s", g->tag, g->owner,
             g->repo);
    struct gh_call c = {.method = "POST", .url = url, .body = payload, .once = 1, .what = what};
    rc = gh_create_once(ctx, g, &c, &k, out);
done:
    json_decref(rel);
    json_decref(payload);
    free(url);
    return rc < 0 ? rc : 0;
}

/* ---- issue ----------------------------------------------------------------------------------- */

struct found {
    long long number;
    char url[512];
    int mine; /* its body carries this run's marker */
};

/*
 * The open issue titled g->title (pull requests, which the issues list also holds, left out):
 * the one carrying this run's marker, else the oldest. f->number 0: none.
 */
static int find_issue(const relhost_ctx *ctx, const struct github *g, struct found *f,
                      relhost_verdict *out)
{
    json_t *list = json_array();
    char *url = gh_repo_url(g, "/issues?state=open&per_page=100");
    char what[512];
    int complete;
    size_t i;
    json_t *e;
    int rc;

    memset(f, 0, sizeof *f);
    if (list == NULL || url == NULL) {
        json_decref(list);
        free(url);
        return pl_oom(ctx);
    }
    snprintf(what, sizeof what, "looking for an open issue titled \"%s\" in %s/%s", g->title,
             g->owner, g->repo);
    rc = gh_get_all(ctx, g, url, what, GH_ISSUE_PAGES, 1, list, &complete, out);
    json_array_foreach(list, i, e)
    {
        const char *t = gh_jstr(e, "title");
        const char *b = gh_jstr(e, "body");
        long long n = gh_jint(e, "number");
        int mine;
        if (rc != GH_OK)
            break;
        if (json_object_get(e, "pull_request") != NULL)
            continue;
        if (t == NULL || n <= 0) {
            pl_host->fail(ctx,
                          "github: %s: unexpected reply to GET %s: item %zu has no "
                          "\"title\" or \"number\"",
                          what, url, i + 1);
            gh_set_error(out, 0);
            rc = GH_VERDICT;
            break;
        }
        if (strcmp(t, g->title) != 0)
            continue;
        mine = b != NULL && strstr(b, g->nonce) != NULL;
        if (f->number == 0 || (mine && !f->mine) || (mine == f->mine && n < f->number)) {
            const char *link = gh_jstr(e, "html_url");
            f->number = n;
            f->mine = mine;
            snprintf(f->url, sizeof f->url, "%s", link != NULL ? link : "(no link)");
        }
    }
    json_decref(list);
    free(url);
    return rc;
}

/* Did a comment of ours (by marker) reach issue n since `since`? */
static int find_comment(const relhost_ctx *ctx, const struct github *g, long long n,
                        const char *since, struct found *f, relhost_verdict *out)
{
    json_t *list = json_array();
    char suffix[160], what[256];
    char *url;
    int complete;
    size_t i;
    json_t *e;
    int rc;

    memset(f, 0, sizeof *f);
    snprintf(suffix, sizeof suffix, "/issues/%lld/comments?since=%s&per_page=100", n, since);
    url = gh_repo_url(g, suffix);
    if (list == NULL || url == NULL) {
        json_decref(list);
        free(url);
        return pl_oom(ctx);
    }
    snprintf(what, sizeof what, "looking for this run's comment on issue #%lld in %s/%s", n,
             g->owner, g->repo);
    rc = gh_get_all(ctx, g, url, what, GH_COMMENT_PAGES, 0, list, &complete, out);
    json_array_foreach(list, i, e)
    {
        const char *b = gh_jstr(e, "body");
        if (rc != GH_OK)
            break;
        if (b != NULL && strstr(b, g->nonce) != NULL) {
            f->number = gh_jint(e, "id");
            f->mine = 1;
            snprintf(f->url, sizeof f->url, "%s",
                     gh_jstr(e, "html_url") != NULL ? gh_jstr(e, "html_url") : "(no link)");
            break;
        }
    }
    json_decref(list);
    free(url);
    return rc;
}

/* A comment comment() posts on an open issue. */
struct new_comment {
    const struct github *g;
    const struct found *issue;
    const char *text, *body_src, *since;
};

static int comment_made(const relhost_ctx *ctx, void *arg, const struct gh_call *c,
                        const json_t *created, relhost_verdict *out)
{
    const struct new_comment *nc = arg;
    const char *link = gh_jstr(created, "html_url");

    if (link == NULL)
        return gh_bad_shape(ctx, c, "the comment has no \"html_url\"", out);
    pl_host->note_add(ctx, "commented on open issue #%lld \"%s\": %s", nc->issue->number,
                      nc->g->title, link);
    gh_passed(ctx, "comment", nc->body_src, nc->text, "issue", nc->issue->url, out);
    return GH_OK;
}

static int comment_look(const relhost_ctx *ctx, void *arg, const struct gh_call *c, int race,
                        const char *lost, int *settled, relhost_verdict *out)
{
    const struct new_comment *nc = arg;
    struct found mine;
    int rc = find_comment(ctx, nc->g, nc->issue->number, nc->since, &mine, out);

    if (rc != GH_OK || !mine.mine)
        return rc;
    pl_host->fail(ctx,
                  "github: the reply to POST %s was lost (%s); the comment it made was "
                  "found by its marker",
                  c->url, lost);
    pl_host->note_add(ctx, "commented on open issue #%lld \"%s\" (found after a lost reply): %s",
                      nc->issue->number, nc->g->title, mine.url);
    gh_evidence(ctx, "issue", nc->issue->url);
    gh_set_passed(out);
    *settled = 1;
    return GH_OK;
}

static int comment(const relhost_ctx *ctx, const struct github *g, const struct found *issue,
                   const char *text, const char *body_src, const char *since, relhost_verdict *out)
{
    struct new_comment nc = {
        .g = g, .issue = issue, .text = text, .body_src = body_src, .since = since};
    struct gh_create k = {
        .noun = "comment", .made = comment_made, .look = comment_look, .arg = &nc};
    json_t *payload = json_pack("{s:s}", "body", text);
    char suffix[64], what[512];
    char *url;
    int rc;

    snprintf(suffix, sizeof suffix, "/issues/%lld/comments", issue->number);
    url = gh_repo_url(g, suffix);
    if (payload == NULL || url == NULL) {
        json_decref(payload);
        free(url);
        return pl_oom(ctx);
    }
    snprintf(what, sizeof what, "commenting on issue #%lld in %s/%s", issue->number, g->owner,
             g->repo);
    struct gh_call c = {.method = "POST", .url = url, .body = payload, .once = 1, .what = what};
    rc = gh_create_once(ctx, g, &c, &k, out);
    json_decref(payload);
    free(url);
    return rc;
}

/* The issue gh_issue() opens: text is body with this run's marker. */
struct new_issue {
    const struct github *g;
    const char *body, *text, *body_src, *since;
};

static int issue_made(const relhost_ctx *ctx, void *arg, const struct gh_call *c,
                      const json_t *created, relhost_verdict *out)
{
    const struct new_issue *ni = arg;
    const char *link = gh_jstr(created, "html_url");

    if (gh_jint(created, "number") <= 0 || link == NULL)
        return gh_bad_shape(ctx, c, "the issue has no \"number\" or \"html_url\"", out);
    pl_host->note_add(ctx, "opened issue #%lld \"%s\": %s", gh_jint(created, "number"),
                      ni->g->title, link);
    gh_passed(ctx, "body", ni->body_src, ni->body, "issue", link, out);
    return GH_OK;
}

static int issue_look(const relhost_ctx *ctx, void *arg, const struct gh_call *c, int race,
                      const char *lost, int *settled, relhost_verdict *out)
{
    const struct new_issue *ni = arg;
    const struct github *g = ni->g;
    struct found f;
    int rc = find_issue(ctx, g, &f, out);

    if (rc != GH_OK || f.number <= 0)
        return rc;
    *settled = 1;
    if (!f.mine) {
        /* Someone else raised it meanwhile: join them rather than open a second one. */
        return comment(ctx, g, &f, ni->text, ni->body_src, ni->since, out);
    }
    pl_host->fail(ctx,
                  "github: the reply to POST %s was lost (%s); the issue it opened was "
                  "found by its marker",
                  c->url, lost);
    pl_host->note_add(ctx, "opened issue #%lld \"%s\" (found after a lost reply): %s", f.number,
                      g->title, f.url);
    gh_passed(ctx, "body", ni->body_src, ni->body, "issue", f.url, out);
    return GH_OK;
}

/* The labels as a JSON array, or NULL when out of memory. */
static json_t *label_array(const relhost_strlist *labels)
{
    json_t *a = json_array();

    for (size_t i = 0; a != NULL && i < labels->n; i++)
        if (json_array_append_new(a, json_string(labels->v[i])) != 0) {
            json_decref(a);
            a = NULL;
        }
    return a;
}

int gh_issue(const relhost_ctx *ctx, struct github *g, const char *body, const char *body_src,
             relhost_verdict *out)
{
    struct pl_str t = {0};
    json_t *payload = NULL, *labels = NULL;
    struct found f;
    char what[512], since[32];
    char *text = NULL, *url = NULL;
    time_t t0 = time(NULL) - GH_SINCE_SLACK_S;
    struct tm tm;
    int rc;

    if (gmtime_r(&t0, &tm) == NULL ||
        strftime(since, sizeof since, "%Y-%m-%dT%H%%3A%M%%3A%SZ", &tm) == 0)
        snprintf(since, sizeof since, "1970-01-01T00%%3A00%%3A00Z");
    /* An HTML comment: invisible on GitHub's page, and how a lost reply's post is found. */
    pl_str_add(&t, "%s\n\n<!-- relhost: release %s, step %s, post %s -->", body,
               ctx->version != NULL ? ctx->version : "", ctx->step != NULL ? ctx->step : "github",
               g->nonce);
    text = pl_str_take(&t);
    if (text == NULL)
        return pl_oom(ctx);

    rc = find_issue(ctx, g, &f, out);
    if (rc != GH_OK)
        goto done;
    if (f.number > 0) {
        rc = comment(ctx, g, &f, text, body_src, since, out);
        goto done;
    }

    labels = label_array(&g->conf->labels);
    payload = labels != NULL
                  ? json_pack("{s:s, s:s, s:O}", "title", g->title, "body", text, "labels", labels)
                  : NULL;
    url = gh_repo_url(g, "/issues");
    if (payload == NULL || url == NULL) {
        rc = pl_oom(ctx);
        goto done;
    }
    snprintf(what, sizeof what, "opening issue \"%s\" in %s/%s", g->title, g->owner, g->repo);
    struct new_issue ni = {
        .g = g, .body = body, .text = text, .body_src = body_src, .since = since};
    struct gh_create k = {.noun = "issue", .made = issue_made, .look = issue_look, .arg = &ni};
    struct gh_call c = {.method = "POST", .url = url, .body = payload, .once = 1, .what = what};
    rc = gh_create_once(ctx, g, &c, &k, out);
done:
    json_decref(payload);
    json_decref(labels);
    free(text);
    free(url);
    return rc < 0 ? rc : 0;
}
