/* SPDX-License-Identifier: MIT */
/*
 * github_api.c - the github gate's side of GitHub's REST API: requests carrying the pinned
 * headers, replies read as JSON, GitHub's error bodies and rate-limit answers turned into
 * messages that say what to do, and lists read page by page through the Link header.
 *
 * Retries, waits and the token belong to the host: host->http_request adds "Authorization:
 * Bearer" from the variable the plan names, retries 5xx, 408, 429 and a 403 with
 * x-ratelimit-remaining: 0 (waiting for retry-after or x-ratelimit-reset) within retry_budget,
 * and hands back the last reply when the budget is spent. What comes back here is judged once,
 * by the rule every HTTP plugin follows (plugins/common/pl_http.h, "the retry table"): only
 * RELHOST_ERETRY and a retryable status make a retryable ERROR; an unreadable 2xx body is not
 * retryable.
 */
#include "github.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* ---- text ------------------------------------------------------------------------------------ */

size_t gh_chars(const char *s)
{
    size_t n = 0;

    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++)
        n += (*p & 0xC0) != 0x80;
    return n;
}

/* ---- verdicts and evidence ------------------------------------------------------------------- */

void gh_set_error(relhost_verdict *out, int retryable)
{
    out->outcome = RELHOST_ERROR;
    out->reason = "tool_error";
    out->retryable = retryable;
}

void gh_set_passed(relhost_verdict *out)
{
    out->outcome = RELHOST_PASSED;
    out->reason = NULL;
    out->retryable = 0;
}

void gh_evidence(const relhost_ctx *ctx, const char *key, const char *url)
{
    if (url == NULL)
        return;
    if (RELHOST_HAS(pl_host, label_set) && pl_host->label_set != NULL)
        pl_host->label_set(ctx, key, url);
    if (RELHOST_HAS(pl_host, artifact_add) && pl_host->artifact_add != NULL)
        pl_host->artifact_add(ctx, "url", url, NULL);
}

void gh_passed(const relhost_ctx *ctx, const char *part, const char *src, const char *text,
               const char *key, const char *url, relhost_verdict *out)
{
    pl_host->note_add(ctx, "%s: %s (%zu characters)", part, src, gh_chars(text));
    gh_evidence(ctx, key, url);
    gh_set_passed(out);
}

/* ---- requests -------------------------------------------------------------------------------- */

int gh_send(const relhost_ctx *ctx, const struct github *g, const struct gh_call *c,
            relhost_http_response **resp, relhost_verdict *out)
{
    static const char *const get_headers[] = {"Accept: application/vnd.github+json",
                                              "X-GitHub-Api-Version: " GH_API_VERSION, NULL};
    static const char *const body_headers[] = {"Accept: application/vnd.github+json",
                                               "X-GitHub-Api-Version: " GH_API_VERSION,
                                               "Content-Type: application/json", NULL};
    relhost_http_request req;
    char *body = NULL;
    int rc;

    *resp = NULL;
    if (c->body != NULL && (body = json_dumps(c->body, JSON_COMPACT)) == NULL)
        return pl_oom(ctx);
    pl_http_request_init(&req, c->method, c->url, body != NULL ? body_headers : get_headers);
    req.body = body;
    req.body_len = body != NULL ? strlen(body) : 0;
    req.bearer_env = g->conf->token_env;
    pl_http_limits(&req, &g->conf->http);
    req.max_attempts = c->once ? 1 : 0;

    rc = pl_host->http_request(ctx, &req, resp);
    free(body);
    if (rc < 0 && *resp != NULL) { /* the contract says none, but never leak one */
        pl_host->http_response_free(*resp);
        *resp = NULL;
    }
    if (rc == RELHOST_EINTR)
        return RELHOST_EINTR;
    if (rc < 0) {
        /* The host's fail() text says what failed, after how many attempts: the step's
         * message. The note names what relhost was doing. */
        if (rc == RELHOST_EINVAL)
            pl_host->note_add(ctx, "%s: relhost refused to send %s %s; check base_url (%s)",
                              c->what, c->method, c->url, pl_where(ctx, &g->conf->base_url));
        else
            pl_host->note_add(ctx, "%s: no usable reply to %s %s (%s)", c->what, c->method, c->url,
                              pl_strerror(rc));
        gh_set_error(out, pl_http_rc_retryable(rc));
        return GH_VERDICT;
    }
    if (*resp == NULL) {
        pl_host->fail(ctx,
                      "github: %s: the HTTP service returned neither a reply nor an error "
                      "for %s %s (a relhost bug)",
                      c->what, c->method, c->url);
        gh_set_error(out, 0);
        return GH_VERDICT;
    }
    return GH_OK;
}

static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_NULL: return "null";
    default: return "a scalar";
    }
}

int gh_parse(const relhost_ctx *ctx, const struct gh_call *c, const relhost_http_response *r,
             json_type want, json_t **root, relhost_verdict *out)
{
    /* A POST or PATCH answered 2xx took effect even when its reply is unreadable: say so, so
     * nobody creates the thing again by hand. */
    const char *took = strcmp(c->method, "GET") != 0
                           ? "; GitHub accepted the request (HTTP 2xx), so it probably took "
                             "effect: the next run finds it and does not repeat it"
                           : "";
    const char *body = r->body != NULL ? r->body : "";
    json_error_t jerr;

    *root = json_loadb(body, r->body != NULL ? r->body_len : 0, 0, &jerr);
    if (*root == NULL || json_typeof(*root) != want) {
        /* An unreadable body: not retryable, the same reply would come again (the rule of
         * every HTTP plugin, pl_http.h). */
        char is[256], line[1024];
        const char *kind = want == JSON_ARRAY ? "an array" : "an object";
        if (*root == NULL)
            snprintf(is, sizeof is, "is not valid JSON: %s at line %d, column %d", jerr.text,
                     jerr.line, jerr.column);
        else
            snprintf(is, sizeof is, "is %s where %s was expected", type_name(*root), kind);
        pl_http_unreadable(line, sizeof line, c->method, c->url, r, is, "JSON");
        pl_host->fail(ctx, "github: %s: %s; " PL_HTTP_UNREADABLE_ADVICE "%s", c->what, line, took);
        json_decref(*root);
        *root = NULL;
        gh_set_error(out, 0);
        return GH_VERDICT;
    }
    return GH_OK;
}

/* ---- replies --------------------------------------------------------------------------------- */

const char *gh_header(const relhost_http_response *r, const char *name)
{
    size_t n = strlen(name);

    for (size_t i = 0; r->headers != NULL && r->headers[i] != NULL; i++)
        if (strncmp(r->headers[i], name, n) == 0 && r->headers[i][n] == ':')
            return r->headers[i] + n + 1 + (r->headers[i][n + 1] == ' ');
    return NULL;
}

static json_t *body_json(const relhost_http_response *r)
{
    return r->body != NULL ? json_loadb(r->body, r->body_len, 0, NULL) : NULL;
}

enum gh_limit gh_rate_limit(const relhost_http_response *r)
{
    const char *rem = gh_header(r, "x-ratelimit-remaining");
    json_t *root;
    const char *msg;
    int said;

    if (r->status != 403 && r->status != 429)
        return GH_LIMIT_NONE;
    if (rem != NULL && strcmp(rem, "0") == 0)
        return GH_LIMIT_PRIMARY;
    if (gh_header(r, "retry-after") != NULL || r->status == 429)
        return GH_LIMIT_SECONDARY;
    /* A secondary limit may come as a bare 403 whose message says so. */
    root = body_json(r);
    msg = json_string_value(json_object_get(root, "message"));
    said = msg != NULL && strcasestr(msg, "rate limit") != NULL;
    json_decref(root);
    return said ? GH_LIMIT_SECONDARY : GH_LIMIT_NONE;
}

int gh_error_has(const relhost_http_response *r, const char *msg, const char *code)
{
    json_t *root = body_json(r);
    json_t *errs = json_object_get(root, "errors");
    const char *top = json_string_value(json_object_get(root, "message"));
    int hit = 0;
    size_t i;
    json_t *e;

    /* GitHub puts "No commits between ..." in errors[].message, behind "Validation Failed";
     * a message-only match looks at both places. */
    if (msg != NULL && code == NULL && top != NULL && strstr(top, msg) != NULL)
        hit = 1;
    json_array_foreach(errs, i, e)
    {
        const char *m = json_is_string(e) ? json_string_value(e)
                                          : json_string_value(json_object_get(e, "message"));
        const char *cd = json_string_value(json_object_get(e, "code"));
        if ((msg == NULL || (m != NULL && strstr(m, msg) != NULL)) &&
            (code == NULL || (cd != NULL && strcmp(cd, code) == 0)))
            hit = 1;
    }
    json_decref(root);
    return hit;
}

/* GitHub's words about a refused request: message, each errors[] entry (its message, else
 * resource.field code), and documentation_url; else the start of the body. */
static void api_text(const relhost_http_response *r, char *buf, size_t cap)
{
    json_t *root = body_json(r);
    const char *msg = json_string_value(json_object_get(root, "message"));
    const char *doc = json_string_value(json_object_get(root, "documentation_url"));
    json_t *errs = json_object_get(root, "errors");
    struct pl_str b = {0};
    char t[GH_TEXT_MAX + 4];
    char *s;
    size_t i;
    json_t *e;

    if (msg != NULL) {
        pl_clean_text(msg, strlen(msg), GH_TEXT_MAX, t, sizeof t);
        pl_str_add(&b, "%s", t);
    }
    json_array_foreach(errs, i, e)
    {
        const char *m = json_is_string(e) ? json_string_value(e)
                                          : json_string_value(json_object_get(e, "message"));
        const char *res = json_string_value(json_object_get(e, "resource"));
        const char *field = json_string_value(json_object_get(e, "field"));
        const char *cd = json_string_value(json_object_get(e, "code"));
        if (i == 10) {
            pl_str_add(&b, "; ... (%zu errors in all)", json_array_size(errs));
            break;
        }
        pl_str_add(&b, "%s", b.len > 0 ? (i == 0 ? ": " : "; ") : "");
        if (m != NULL) {
            pl_clean_text(m, strlen(m), GH_TEXT_MAX, t, sizeof t);
            pl_str_add(&b, "%s", t);
        } else {
            pl_str_add(&b, "%s%s%s%s%s", res != NULL ? res : "", res != NULL && field ? "." : "",
                       field != NULL ? field : "", res != NULL || field != NULL ? " " : "",
                       cd != NULL ? cd : "(no code)");
        }
        if (m != NULL && cd != NULL && strcmp(cd, "custom") != 0)
            pl_str_add(&b, " (%s%s%s)", field != NULL ? field : "", field != NULL ? " " : "", cd);
    }
    if (b.len > 0 && doc != NULL) {
        pl_clean_text(doc, strlen(doc), 200, t, sizeof t);
        pl_str_add(&b, " (%s)", t);
    }
    json_decref(root);
    s = pl_str_take(&b);
    if (s != NULL && s[0] != '\0') {
        snprintf(buf, cap, "%s", s);
    } else if (r->body == NULL || r->body_len == 0) {
        snprintf(buf, cap, "(empty body)");
    } else {
        char ex[120 + 4];
        pl_clean_text(r->body, r->body_len, 120, ex, sizeof ex);
        snprintf(buf, cap, "body \"%s\"", ex);
    }
    free(s);
}

static int attempts_of(const relhost_http_response *r)
{
    return RELHOST_HAS(r, attempts) && r->attempts > 0 ? r->attempts : 1;
}

/* "until 14:03:12 UTC (3590 s from now)" from x-ratelimit-reset (epoch seconds). */
static void reset_text(const relhost_http_response *r, char *buf, size_t cap)
{
    const char *reset = gh_header(r, "x-ratelimit-reset");
    char *end = NULL;
    long long at = reset != NULL ? strtoll(reset, &end, 10) : 0;
    time_t t;
    struct tm tm;
    char hhmmss[32];

    if (reset == NULL || end == reset || at <= 0) {
        snprintf(buf, cap, "for a while (no x-ratelimit-reset header)");
        return;
    }
    t = (time_t)at;
    if (gmtime_r(&t, &tm) == NULL || strftime(hhmmss, sizeof hhmmss, "%H:%M:%S UTC", &tm) == 0)
        snprintf(hhmmss, sizeof hhmmss, "epoch %lld", at);
    snprintf(buf, cap, "until %s (x-ratelimit-reset: %lld, %lld s from now)", hhmmss, at,
             at - (long long)time(NULL));
}

void gh_refused(const relhost_ctx *ctx, const struct github *g, const struct gh_call *c,
                const relhost_http_response *r, relhost_verdict *out)
{
    const struct github_conf *cf = g->conf;
    enum gh_limit lim = gh_rate_limit(r);
    long st = r->status;
    char detail[2048];
    int n = attempts_of(r);

    api_text(r, detail, sizeof detail);
    if (lim == GH_LIMIT_PRIMARY) {
        char when[160];
        reset_text(r, when, sizeof when);
        pl_host->fail(ctx,
                      "github: %s: %s %s: the token's GitHub rate limit is used up (HTTP "
                      "%ld, x-ratelimit-remaining: 0) %s, longer than retry_budget (%g s) "
                      "allows after %d attempt%s: %s; the next run tries again",
                      c->what, c->method, c->url, st, when, cf->http.retry_budget, n,
                      n == 1 ? "" : "s", detail);
        gh_set_error(out, 1);
    } else if (lim == GH_LIMIT_SECONDARY) {
        const char *ra = gh_header(r, "retry-after");
        pl_host->fail(ctx,
                      "github: %s: %s %s: GitHub's secondary rate limit (HTTP %ld%s%s) "
                      "after %d attempt%s: %s; the next run tries again (many requests, "
                      "or many created items, in a short time trigger it)",
                      c->what, c->method, c->url, st, ra != NULL ? ", retry-after: " : "",
                      ra != NULL ? ra : "", n, n == 1 ? "" : "s", detail);
        gh_set_error(out, 1);
    } else if (pl_http_status_retryable(r)) {
        pl_host->fail(ctx,
                      "github: %s: %s %s answered HTTP %ld after %d attempt%s: %s; the "
                      "next run tries again",
                      c->what, c->method, c->url, st, n, n == 1 ? "" : "s", detail);
        gh_set_error(out, 1);
    } else if (st == 401) {
        pl_host->fail(ctx,
                      "github: %s: %s %s answered HTTP 401: %s: $%s does not hold a "
                      "valid GitHub token (expired, revoked, or made for another GitHub "
                      "host?): create one with %s on %s/%s and export it as %s",
                      c->what, c->method, c->url, detail, cf->token_env, g->rights, g->owner,
                      g->repo, cf->token_env);
        gh_set_error(out, 0);
    } else if (st == 403 || st == 404) {
        pl_host->fail(ctx,
                      "github: %s: %s %s answered HTTP %ld: %s: the token in $%s lacks "
                      "rights to %s/%s, or it does not exist (GitHub answers 404 for what a "
                      "token may not see): check repository (%s) and give the token %s",
                      c->what, c->method, c->url, st, detail, cf->token_env, g->owner, g->repo,
                      pl_where(ctx, &cf->repository), g->rights);
        gh_set_error(out, 0);
    } else if (st == 410) {
        pl_host->fail(ctx,
                      "github: %s: %s %s answered HTTP 410 Gone: %s: GitHub retired this "
                      "API version (relhost sends X-GitHub-Api-Version: " GH_API_VERSION
                      ") or the feature is turned off for %s/%s: upgrade relhost when the "
                      "message names the API version; else turn the feature on in the "
                      "repository's settings (issues disabled?)",
                      c->what, c->method, c->url, detail, g->owner, g->repo);
        gh_set_error(out, 0);
    } else if (st == 422) {
        pl_host->fail(ctx,
                      "github: %s: %s %s answered HTTP 422: %s: GitHub refused the request "
                      "relhost built from the step's options (%s): fix them, or the "
                      "repository (a missing branch or tag?), and run again",
                      c->what, c->method, c->url, detail, pl_where(ctx, &cf->action));
        gh_set_error(out, 0);
    } else if (st >= 300 && st < 400) {
        const char *loc = gh_header(r, "location");
        char l[GH_TEXT_MAX + 4];
        pl_clean_text(loc != NULL ? loc : "(no location)", GH_TEXT_MAX, GH_TEXT_MAX, l, sizeof l);
        pl_host->fail(ctx,
                      "github: %s: %s %s answered HTTP %ld, a redirect to %s: relhost "
                      "follows no redirect (it would carry the token along): when %s/%s "
                      "was renamed or transferred, set repository (%s) to its new name; "
                      "else point base_url at the final address",
                      c->what, c->method, c->url, st, l, g->owner, g->repo,
                      pl_where(ctx, &cf->repository));
        gh_set_error(out, 0);
    } else if (st >= 200 && st < 300) {
        pl_host->fail(ctx,
                      "github: %s: %s %s answered HTTP %ld, which this request never "
                      "gets from GitHub: %s",
                      c->what, c->method, c->url, st, detail);
        gh_set_error(out, 0);
    } else {
        pl_host->fail(ctx, "github: %s: %s %s answered HTTP %ld: %s", c->what, c->method, c->url,
                      st, detail);
        gh_set_error(out, 0);
    }
}

/* ---- objects, and POSTs sent once ------------------------------------------------------------ */

char *gh_repo_url(const struct github *g, const char *suffix)
{
    struct pl_str b = {0};

    pl_str_add(&b, "%s/repos/%s/%s%s", g->api, g->owner, g->repo, suffix);
    return pl_str_take(&b);
}

char *gh_tag_url(const struct github *g, const char *prefix)
{
    struct pl_str u = {0};
    char *suffix, *url;

    pl_str_add(&u, "%s", prefix);
    pl_str_urlenc(&u, g->tag);
    suffix = pl_str_take(&u);
    url = suffix != NULL ? gh_repo_url(g, suffix) : NULL;
    free(suffix);
    return url;
}

const char *gh_jstr(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

long long gh_jint(const json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);

    return json_is_integer(v) ? (long long)json_integer_value(v) : -1;
}

int gh_bad_shape(const relhost_ctx *ctx, const struct gh_call *c, const char *missing,
                 relhost_verdict *out)
{
    pl_host->fail(ctx, "github: %s: unexpected reply to %s %s: %s", c->what, c->method, c->url,
                  missing);
    gh_set_error(out, 0);
    return GH_VERDICT;
}

int gh_post_once(const relhost_ctx *ctx, const struct github *g, const struct gh_call *c,
                 const char *race_code, json_t **created, char *lost, size_t cap,
                 relhost_verdict *out)
{
    relhost_http_response *r = NULL;
    enum gh_limit lim;
    int rc;

    *created = NULL;
    rc = gh_send(ctx, g, c, &r, out);
    if (rc < 0)
        return rc;
    if (rc == GH_VERDICT) {
        if (!out->retryable)
            return GH_VERDICT;
        snprintf(lost, cap, "no usable reply (timeout, reset or truncated)");
        return GH_AMBIGUOUS;
    }
    if (r->status == 201 || r->status == 200) {
        rc = gh_parse(ctx, c, r, JSON_OBJECT, created, out);
        pl_host->http_response_free(r);
        return rc;
    }
    if (race_code != NULL && r->status == 422 && gh_error_has(r, NULL, race_code)) {
        pl_host->http_response_free(r);
        return GH_RACE;
    }
    lim = gh_rate_limit(r);
    gh_refused(ctx, g, c, r, out);
    if (r->status >= 500 || lim == GH_LIMIT_PRIMARY) {
        snprintf(lost, cap, "HTTP %ld%s", r->status,
                 lim == GH_LIMIT_PRIMARY ? " (rate limit used up)" : "");
        pl_host->http_response_free(r);
        return GH_AMBIGUOUS;
    }
    pl_host->http_response_free(r);
    return GH_VERDICT;
}

void gh_sent_again(const relhost_ctx *ctx, const struct gh_call *c, int attempt, const char *lost)
{
    pl_host->fail(ctx,
                  "github: %s: %s %s took effect on attempt %d (an earlier attempt got %s "
                  "and had no effect)",
                  c->what, c->method, c->url, attempt, lost);
}

int gh_send_read(const relhost_ctx *ctx, const struct github *g, const struct gh_call *c,
                 json_type want, json_t **root, relhost_verdict *out)
{
    relhost_http_response *r = NULL;
    int rc = gh_send(ctx, g, c, &r, out);

    if (rc != GH_OK)
        return rc;
    if (r->status != 200) {
        gh_refused(ctx, g, c, r, out);
        rc = GH_VERDICT;
    } else {
        rc = gh_parse(ctx, c, r, want, root, out);
    }
    pl_host->http_response_free(r);
    return rc;
}

/* A creating POST is sent at most this often in one run (each after a look for its effect). */
#define GH_CREATE_TRIES 3

int gh_create_once(const relhost_ctx *ctx, const struct github *g, const struct gh_call *c,
                   const struct gh_create *k, relhost_verdict *out)
{
    json_t *created = NULL;
    char lost[128];
    int rc;

    for (int attempt = 1;; attempt++) {
        int settled = 0;
        rc = gh_post_once(ctx, g, c, k->conflict, &created, lost, sizeof lost, out);
        if (rc == GH_OK) {
            rc = k->made(ctx, k->arg, c, created, out);
            if (rc == GH_OK && attempt > 1)
                gh_sent_again(ctx, c, attempt, lost);
            break;
        }
        if (rc != GH_AMBIGUOUS && rc != GH_RACE)
            break;
        if (rc == GH_AMBIGUOUS && attempt == GH_CREATE_TRIES) {
            rc = GH_VERDICT; /* fail() and *out hold the last failure, retryable */
            break;
        }
        if (rc == GH_AMBIGUOUS)
            pl_host->note_add(ctx, "POST %s: %s; looking for the %s before trying again", c->url,
                              lost, k->noun);
        rc = k->look(ctx, k->arg, c, rc == GH_RACE, lost, &settled, out);
        if (rc != GH_OK || settled)
            break;
    }
    json_decref(created);
    return rc;
}

/* ---- paging ---------------------------------------------------------------------------------- */

/* 1 when the parameters of one Link entry (what follows its <url>) hold rel="next"; rel may
 * list several space-separated types, quoted or not. */
static int rel_is_next(const char *p, size_t n)
{
    for (size_t i = 0; i + 4 <= n; i++) {
        size_t j;
        if (strncasecmp(p + i, "rel=", 4) != 0 || (i > 0 && p[i - 1] != ';' && p[i - 1] != ' '))
            continue;
        j = i + 4;
        if (j < n && p[j] == '"')
            j++;
        while (j < n && p[j] != '"' && p[j] != ';' && p[j] != ',') {
            size_t k = j;
            while (k < n && p[k] != ' ' && p[k] != '"' && p[k] != ';' && p[k] != ',')
                k++;
            if (k - j == 4 && strncasecmp(p + j, "next", 4) == 0)
                return 1;
            j = k;
            while (j < n && p[j] == ' ')
                j++;
        }
    }
    return 0;
}

char *gh_next_link(const relhost_http_response *r)
{
    const char *p = gh_header(r, "link");

    while (p != NULL && *p != '\0') {
        const char *lt = strchr(p, '<');
        const char *gt = lt != NULL ? strchr(lt + 1, '>') : NULL;
        const char *params, *next;
        if (gt == NULL)
            break;
        params = gt + 1;
        next = strchr(params, '<');
        if (rel_is_next(params, next != NULL ? (size_t)(next - params) : strlen(params)))
            return strndup(lt + 1, (size_t)(gt - lt - 1));
        p = next;
    }
    return NULL;
}

/* The token goes only where base_url points: a next page elsewhere is not followed. */
static int under_base(const struct github *g, const char *url)
{
    size_t n = strlen(g->api);

    return strncmp(url, g->api, n) == 0 && url[n] == '/';
}

int gh_get_all(const relhost_ctx *ctx, const struct github *g, const char *url, const char *what,
               size_t max_pages, int strict, json_t *items, int *complete, relhost_verdict *out)
{
    char *cur = strdup(url);
    size_t pages = 0;
    int rc = GH_OK;

    *complete = 1;
    if (cur == NULL)
        return pl_oom(ctx);
    for (;;) {
        struct gh_call c = {.method = "GET", .url = cur, .what = what};
        relhost_http_response *r = NULL;
        json_t *page = NULL;
        char *next;

        rc = gh_send(ctx, g, &c, &r, out);
        if (rc != GH_OK)
            break;
        pages++;
        if (r->status != 200) {
            gh_refused(ctx, g, &c, r, out);
            pl_host->http_response_free(r);
            rc = GH_VERDICT;
            break;
        }
        rc = gh_parse(ctx, &c, r, JSON_ARRAY, &page, out);
        if (rc == GH_OK && json_array_extend(items, page) != 0)
            rc = pl_oom(ctx);
        json_decref(page);
        next = rc == GH_OK ? gh_next_link(r) : NULL;
        pl_host->http_response_free(r);
        if (rc != GH_OK || next == NULL)
            break;
        if (!under_base(g, next)) {
            char l[GH_TEXT_MAX + 4];
            pl_clean_text(next, strlen(next), GH_TEXT_MAX, l, sizeof l);
            pl_host->fail(ctx,
                          "github: %s: the reply to GET %s links its next page at %s, "
                          "which is not under base_url %s: relhost sends the token only "
                          "there, so the rest of the list cannot be read; when GitHub "
                          "names another address for itself, set base_url (%s) to it",
                          what, cur, l, g->api, pl_where(ctx, &g->conf->base_url));
            gh_set_error(out, 0);
            rc = GH_VERDICT;
        } else if (strcmp(next, cur) == 0) {
            pl_host->fail(ctx,
                          "github: %s: the reply to GET %s links itself as its next page: "
                          "following it would never end",
                          what, cur);
            gh_set_error(out, 0);
            rc = GH_VERDICT;
        } else if (pages >= max_pages) {
            if (strict) {
                pl_host->fail(ctx,
                              "github: %s: still more pages after %zu requests (last GET "
                              "%s): relhost stops there rather than decide on part of "
                              "the list",
                              what, pages, cur);
                gh_set_error(out, 0);
                rc = GH_VERDICT;
            }
            *complete = 0;
        }
        if (rc != GH_OK || pages >= max_pages) {
            free(next);
            break;
        }
        free(cur);
        cur = next;
    }
    free(cur);
    return rc;
}
