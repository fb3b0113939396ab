/* SPDX-License-Identifier: MIT */
/*
 * github.h - what the github gate's three files share: github.c (options, open, describe, run),
 * github_api.c (requests, replies, GitHub's errors, paging, POSTs sent once) and
 * github_actions.c (pull request, release, issue). Private to the plugin; nothing here is
 * exported.
 */
#ifndef RELHOST_PLUGIN_GITHUB_H
#define RELHOST_PLUGIN_GITHUB_H

#include <relhost/plugin.h>

#include "../common/pl_host.h"

#include "../common/pl_http.h"
#include "../common/pl_text.h"

#include <jansson.h>
#include <stddef.h>

/* The REST API version every request pins; GitHub answers a retired one with 410. */
#define GH_API_VERSION "2022-11-28"
/* GitHub's own limits, checked before sending so the plan's author hears of them at once. */
#define GH_TITLE_MAX 256           /* characters of a pull request or issue title */
#define GH_BODY_MAX 65536          /* characters of a pull request, issue or comment body */
#define GH_RELEASE_BODY_MAX 125000 /* characters of a release body */
#define GH_LABEL_MAX 50            /* characters of a label name */
/* A release notes file past this is not release notes; reading stops there. */
#define GH_NOTES_FILE_MAX ((size_t)1 << 20)
/* User text (titles, API messages) quoted in one line of a message is cut here. */
#define GH_TEXT_MAX 300

enum github_action { GH_PULL_REQUEST = 0, GH_RELEASE = 1, GH_ISSUE = 2 };

struct github_conf {
    int action;
    const char *repository;
    const char *token_env;
    const char *base_url;
    relhost_http_options http; /* timeout, retry_budget */
    const char *title;
    const char *body;
    int body_from_notes;
    int draft;
    const char *head;
    const char *base;
    const char *tag;
    const char *target_commitish;
    const char *name;
    int prerelease;
    relhost_strlist labels;
};

/* One step's instance: the conf with every default applied and every value checked. */
struct github {
    const struct github_conf *conf;
    char *api;          /* base_url without trailing slashes */
    char *owner, *repo; /* repository, split */
    char *head;         /* pull_request: the branch (maybe "owner:branch") */
    char *head_filter;  /* pull_request: OWNER:BRANCH, as the pulls list filters by it */
    char *base;         /* pull_request: the branch merged into */
    char *title;        /* pull_request, issue */
    char *tag;          /* release */
    char *name;         /* release */
    const char *rights; /* what the token needs for this action, for messages */
    char nonce[33];     /* issue: marks what this run posts, so a lost reply can be found */
};

/* ---- text (github_api.c; the shared helpers are in ../common/pl_text.h) ---- */

/* Characters (code points) of valid UTF-8 text. */
size_t gh_chars(const char *s);

/* ---- requests and replies (github_api.c) ---- */

/* Outcomes of the helpers below, besides a negative RELHOST_E* (RELHOST_EINTR, ENOMEM) that
 * ends the run: GH_OK, the caller goes on; GH_VERDICT, *out holds an ERROR and host->fail()
 * the reason. */
enum { GH_OK = 0, GH_VERDICT = 1 };

struct gh_call {
    const char *method;
    const char *url;
    json_t *body;     /* borrowed; NULL: no body */
    int once;         /* 1: one attempt, no host retries (a POST that creates something: the
                       * caller finds out itself whether a failed attempt took effect) */
    const char *what; /* "opening a pull request from X into Y", for messages */
};

void gh_set_error(relhost_verdict *out, int retryable);
void gh_set_passed(relhost_verdict *out);

/* Send c. GH_OK: *resp holds the reply, whatever its status (free it with
 * pl_host->http_response_free). GH_VERDICT: no reply (transport failure, explained by the host);
 * out->retryable says whether trying again may help. */
int gh_send(const relhost_ctx *ctx, const struct github *g, const struct gh_call *c,
            relhost_http_response **resp, relhost_verdict *out);
/* The JSON value of a 2xx reply, of type want (JSON_OBJECT or JSON_ARRAY). GH_OK: *root is the
 * caller's. GH_VERDICT: not JSON, or another type. */
int gh_parse(const relhost_ctx *ctx, const struct gh_call *c, const relhost_http_response *r,
             json_type want, json_t **root, relhost_verdict *out);
/* Explain a reply that is not what the caller wanted (any status) and set an ERROR. */
void gh_refused(const relhost_ctx *ctx, const struct github *g, const struct gh_call *c,
                const relhost_http_response *r, relhost_verdict *out);
/* Send c and read its reply, which must be a 200, as JSON of type want: GH_OK with *root the
 * caller's; GH_VERDICT for no reply, another status (gh_refused) or another body (gh_parse). */
int gh_send_read(const relhost_ctx *ctx, const struct github *g, const struct gh_call *c,
                 json_type want, json_t **root, relhost_verdict *out);

enum gh_limit { GH_LIMIT_NONE = 0, GH_LIMIT_PRIMARY, GH_LIMIT_SECONDARY };
/* Whether r is a rate-limit answer: PRIMARY (x-ratelimit-remaining: 0, ends at
 * x-ratelimit-reset) or SECONDARY (retry-after, a 429, or a 403 saying "rate limit"). */
enum gh_limit gh_rate_limit(const relhost_http_response *r);
/* The value of header name (lower case) of r, or NULL. */
const char *gh_header(const relhost_http_response *r, const char *name);
/* 1 when r's JSON body has an errors[] entry whose message contains msg (when msg is not
 * NULL) and whose code is code (when code is not NULL). */
int gh_error_has(const relhost_http_response *r, const char *msg, const char *code);
/* The URL of the Link header's rel="next", or NULL (the caller frees it). */
char *gh_next_link(const relhost_http_response *r);

/* GET url and every next page (Link rel="next", followed only under the configured base URL),
 * appending each page's array items to items. At most max_pages requests; more pages is an
 * ERROR when strict, else the list ends there (*complete = 0). */
int gh_get_all(const relhost_ctx *ctx, const struct github *g, const char *url, const char *what,
               size_t max_pages, int strict, json_t *items, int *complete, relhost_verdict *out);

/* {api}/repos/{owner}/{repo}{suffix}; NULL when out of memory. */
char *gh_repo_url(const struct github *g, const char *suffix);
/* {api}/repos/{owner}/{repo}{prefix}{the tag, percent-encoded}; NULL when out of memory. */
char *gh_tag_url(const struct github *g, const char *prefix);
/* A string or integer member of a JSON object; NULL or -1 when absent or of another type. */
const char *gh_jstr(const json_t *o, const char *key);
long long gh_jint(const json_t *o, const char *key);
/* A reply lacks what every GitHub object of its kind carries: ERROR, GH_VERDICT. */
int gh_bad_shape(const relhost_ctx *ctx, const struct gh_call *c, const char *missing,
                 relhost_verdict *out);

/* gh_post_once() outcomes besides GH_OK, GH_VERDICT and negatives. */
enum { GH_AMBIGUOUS = 2, GH_RACE = 3 };
/*
 * POST c once (c->once set). GH_OK: *created is the 2xx reply's object. GH_AMBIGUOUS: no
 * verdict yet: the request may have taken effect (no reply, 5xx) or surely did not but may
 * after waiting out a rate limit; lost says which, fail() holds the reason should the caller
 * give up. GH_RACE: a 422 whose errors[].code is race_code. GH_VERDICT: refused (explained).
 */
int gh_post_once(const relhost_ctx *ctx, const struct github *g, const struct gh_call *c,
                 const char *race_code, json_t **created, char *lost, size_t cap,
                 relhost_verdict *out);
/* A POST took effect on a later attempt: replace the earlier failure still held by fail(),
 * which must not stand as the message of a step that passed. */
void gh_sent_again(const relhost_ctx *ctx, const struct gh_call *c, int attempt, const char *lost);

/*
 * What a creating POST means to the one who sends it (gh_create_once). made(): the POST
 * created `created`: say so and set *out (GH_OK), or explain what it lacks (GH_VERDICT).
 * look(): its reply was lost (race 0), or GitHub says the thing exists already (race 1, a 422
 * carrying the code `conflict`): look for it; *settled = 1 when what was found decides the step
 * (the return and *out are final), 0 to POST again.
 */
struct gh_create {
    const char *noun;     /* what is looked for: "release", "issue", "comment" */
    const char *conflict; /* gh_post_once()'s race code, or NULL */
    int (*made)(const relhost_ctx *ctx, void *arg, const struct gh_call *c, const json_t *created,
                relhost_verdict *out);
    int (*look)(const relhost_ctx *ctx, void *arg, const struct gh_call *c, int race,
                const char *lost, int *settled, relhost_verdict *out);
    void *arg;
};

/* POST c (c->once set) at most 3 times in one run, looking for its effect before each repeat:
 * GH_OK, GH_VERDICT or a negative RELHOST_E*. */
int gh_create_once(const relhost_ctx *ctx, const struct github *g, const struct gh_call *c,
                   const struct gh_create *k, relhost_verdict *out);

/* Post evidence: a note, the label `key` = url and the url as an artifact. */
void gh_evidence(const relhost_ctx *ctx, const char *key, const char *url);
/* The step PASSED with url as its evidence: note "PART: SRC (N characters)" (part: "body" or
 * "comment", src: where text came from), gh_evidence(), gh_set_passed(). */
void gh_passed(const relhost_ctx *ctx, const char *part, const char *src, const char *text,
               const char *key, const char *url, relhost_verdict *out);

/* ---- the actions (github_actions.c) ---- */

/* Each: 0 with *out set (a GH_VERDICT included), or a negative RELHOST_E* explained by fail().
 * body is the text to post, body_src says where it came from (for notes). */
int gh_pull_request(const relhost_ctx *ctx, struct github *g, const char *body,
                    const char *body_src, relhost_verdict *out);
int gh_release(const relhost_ctx *ctx, struct github *g, const char *body, const char *body_src,
               relhost_verdict *out);
int gh_issue(const relhost_ctx *ctx, struct github *g, const char *body, const char *body_src,
             relhost_verdict *out);

#endif
