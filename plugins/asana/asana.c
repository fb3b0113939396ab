/* SPDX-License-Identifier: MIT */
/*
 * asana.c - the bug gate: a release is blocked while its Asana section holds open tasks.
 *
 * Flow (every request through pl_host->http_request, which owns auth, timeouts, retries on 5xx/429
 * with Retry-After, and the redaction of the token; this plugin never sees the token's value):
 *   GET {base}/projects/{project}/sections?limit=100            find the section by its name
 *   GET {base}/sections/{gid}/tasks?completed_since=now&limit=100&opt_fields=...
 * Both follow next_page: the next request carries the `offset` the API returned, sent to the
 * CONFIGURED base URL. next_page.uri is never followed: it names Asana's public host, so a plan
 * pointed at a proxy or a test server would otherwise leak the token to app.asana.com.
 *
 * Verdicts:
 *   no open task in the section (after tag / custom field narrowing)   PASSED
 *   open tasks                                                          FAILED  blockers
 *   no token or no project, on a terminal, manual_fallback: asked       PASSED / FAILED declined
 *   no token or no project otherwise                                    SKIPPED not_configured
 *   section missing, HTTP 4xx, invalid JSON, unexpected shape           ERROR   (not retryable)
 *   TLS or certificate error, unresolved name, http:// refused, ...     ERROR   (not retryable)
 *   HTTP 5xx, 408 or 429 after the host's retries, refused connection,  ERROR   retryable
 *   timeout, reset or cut reply (the host's RELHOST_ERETRY)
 * That is the rule every HTTP plugin follows (plugins/common/pl_http.h, "the retry table").
 * Unknown or malformed replies fail closed: a field the narrowing needs that the API did not send
 * is an ERROR, never a task silently counted as "not a blocker".
 */
#include <relhost/plugin.h>

#include "../common/pl_host.h"

#include "../common/pl_http.h"
#include "../common/pl_text.h"

#include <jansson.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* The project id is not a secret (it is in every task link), so it may come from a plain
 * environment variable, as in the seed's setup; the token only ever through the host. */
#define ASANA_PROJECT_ENV "ASANA_PROJECT_ID"
/* The API's maximum page size: fewest requests against a 150/min rate limit. */
#define ASANA_LIMIT "100"
#define ASANA_TASK_FIELDS                                                                          \
    "name,completed,permalink_url,assignee.name,custom_fields.name,"                               \
    "custom_fields.display_value,memberships.section.name,tags.name"
/* 100,000 items: a server still paging past this is looping, not listing. */
#define ASANA_MAX_PAGES 1000
/* Task names and people are user text: long or multi-line ones must not swamp the report. */
#define ASANA_TEXT_MAX 200
#define ASANA_EXCERPT_MAX 120

struct asana_conf {
    const char *token_env;
    const char *project;
    const char *section;
    const char *base_url;
    const char *tag;
    const char *custom_field;
    const char *custom_value;
    relhost_http_options http; /* timeout, retry_budget */
    int manual_fallback;
};

struct asana {
    const struct asana_conf *conf;
    char *base;         /* base_url without trailing slashes */
    char *project;      /* from the plan, else $ASANA_PROJECT_ID; NULL when neither */
    int project_is_env; /* for messages: where to fix a wrong project */
};

static const relhost_option asana_options[] = {
    {.name = "token_env",
     .type = RELHOST_OPT_SECRET_ENV,
     .def = "ASANA_TOKEN",
     .offset = offsetof(struct asana_conf, token_env),
     .doc = "environment variable holding the Asana personal access token"},
    {.name = "project",
     .type = RELHOST_OPT_STRING,
     .offset = offsetof(struct asana_conf, project),
     .doc = "project gid (default: $" ASANA_PROJECT_ENV ", read as plain, non-secret text)"},
    {.name = "section",
     .type = RELHOST_OPT_STRING,
     .def = "Active",
     .offset = offsetof(struct asana_conf, section),
     .doc = "name of the section whose open tasks block the release"},
    {.name = "base_url",
     .type = RELHOST_OPT_STRING,
     .def = "https://app.asana.com/api/1.0",
     .offset = offsetof(struct asana_conf, base_url),
     .doc = "API base URL (https; plain http only to a loopback address)"},
    {.name = "tag",
     .type = RELHOST_OPT_STRING,
     .offset = offsetof(struct asana_conf, tag),
     .doc = "count only open tasks carrying this tag (exact name)"},
    {.name = "custom_field",
     .type = RELHOST_OPT_STRING,
     .offset = offsetof(struct asana_conf, custom_field),
     .doc = "count only open tasks whose custom field of this name is set (see custom_value)"},
    {.name = "custom_value",
     .type = RELHOST_OPT_STRING,
     .offset = offsetof(struct asana_conf, custom_value),
     .doc = "with custom_field: count only tasks whose field shows exactly this value"},
    RELHOST_HTTP_OPTION_ROWS(struct asana_conf, http),
    {.name = "manual_fallback",
     .type = RELHOST_OPT_BOOL,
     .def = "true",
     .offset = offsetof(struct asana_conf, manual_fallback),
     .doc = "when Asana is not configured and a person is at the terminal, ask them instead"},
    {0},
};

/* ---- small text helpers (the shared ones: ../common/pl_text.h) ---------------------------- */

/* A gid goes into a URL path: digits (Asana's) or at most a plain token, nothing that could
 * change the path or the query. */
static int valid_gid(const char *s)
{
    size_t n = strlen(s);

    return n > 0 && n <= 64 &&
           strspn(s, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_-") == n;
}

/* ---- open / close -------------------------------------------------------------------------- */

static void asana_free(struct asana *a)
{
    if (a == NULL)
        return;
    free(a->base);
    free(a->project);
    free(a);
}

static int asana_open(const relhost_ctx *ctx, const void *conf, void **inst)
{
    const struct asana_conf *c = conf;
    struct asana *a;
    const char *why = NULL;
    char whybuf[256];
    const char *proj;
    size_t n;

    if (c->section == NULL || c->section[0] == '\0') {
        pl_host->fail(ctx, "%s: section is empty: name the Asana section whose open tasks block a "
                           "release, e.g. section = \"Active\"",
                      pl_where(ctx, &c->section));
        return RELHOST_EINVAL;
    }
    if (c->base_url == NULL ||
        (why = pl_bad_base_url(c->base_url, "https://app.asana.com/api/1.0", whybuf,
                               sizeof whybuf)) != NULL) {
        /* The value is not echoed: it might hold a password (the very thing refused). */
        pl_host->fail(ctx, "%s: base_url is not usable: %s", pl_where(ctx, &c->base_url),
                      why != NULL ? why : "it is empty");
        return RELHOST_EINVAL;
    }
    if (c->custom_value != NULL && c->custom_field == NULL) {
        pl_host->fail(ctx, "%s: custom_value is set without custom_field: name the field too, e.g. "
                           "custom_field = \"Priority\"; custom_value = \"High\";",
                      pl_where(ctx, &c->custom_value));
        return RELHOST_EINVAL;
    }
    if (c->tag != NULL && c->tag[0] == '\0') {
        pl_host->fail(ctx, "%s: an empty tag would match no task: remove it or name the tag",
                      pl_where(ctx, &c->tag));
        return RELHOST_EINVAL;
    }
    if (c->custom_field != NULL && c->custom_field[0] == '\0') {
        pl_host->fail(ctx, "%s: an empty custom_field would match no task: remove it or name the "
                           "field",
                      pl_where(ctx, &c->custom_field));
        return RELHOST_EINVAL;
    }
    proj = c->project;
    if (proj == NULL) {
        proj = getenv(ASANA_PROJECT_ENV);
        if (proj != NULL && proj[0] == '\0')
            proj = NULL;
    }
    if (proj != NULL && !valid_gid(proj)) {
        char shown[ASANA_TEXT_MAX + 4];
        pl_clean_text(proj, strlen(proj), 64, shown, sizeof shown);
        if (c->project != NULL)
            pl_host->fail(ctx, "%s: project \"%s\" is not an Asana project gid: give the number "
                               "from the project's URL (https://app.asana.com/0/<gid>/...)",
                          pl_where(ctx, &c->project), shown);
        else
            pl_host->fail(ctx,
                          "$" ASANA_PROJECT_ENV " \"%s\" is not an Asana project gid: give the "
                          "number from the project's URL (https://app.asana.com/0/<gid>/...)",
                          shown);
        return RELHOST_EINVAL;
    }

    a = calloc(1, sizeof *a);
    if (a == NULL)
        goto oom;
    a->conf = c;
    a->project_is_env = c->project == NULL;
    n = strlen(c->base_url);
    while (n > 0 && c->base_url[n - 1] == '/')
        n--;
    a->base = strndup(c->base_url, n);
    if (a->base == NULL)
        goto oom;
    if (proj != NULL && (a->project = strdup(proj)) == NULL)
        goto oom;
    *inst = a;
    return 0;
oom:
    asana_free(a);
    return pl_oom(ctx);
}

static void asana_close(void *inst)
{
    asana_free(inst);
}

/* ---- configuration state ------------------------------------------------------------------- */

static int token_set(const relhost_ctx *ctx, const struct asana *a)
{
    /* Only asks whether it is set; the value stays with the host (which also registers it for
     * redaction here, before any request could echo it). */
    return pl_host->secret != NULL && pl_host->secret(ctx, a->conf->token_env) != NULL;
}

static void not_configured_text(const struct asana *a, int have_token, char *buf, size_t cap)
{
    static const char no_project[] = "no project (set `project` or $" ASANA_PROJECT_ENV ")";

    if (!have_token && a->project == NULL)
        snprintf(buf, cap, "Asana is not configured: $%s is not set, and %s", a->conf->token_env,
                 no_project);
    else if (!have_token)
        snprintf(buf, cap, "Asana is not configured: $%s is not set", a->conf->token_env);
    else
        snprintf(buf, cap, "Asana is not configured: %s", no_project);
}

static void narrowing_text(const struct asana *a, char *buf, size_t cap)
{
    const struct asana_conf *c = a->conf;
    int n = 0;

    buf[0] = '\0';
    if (c->tag != NULL)
        n = snprintf(buf, cap, " tagged \"%s\"", c->tag);
    if (n < 0 || (size_t)n >= cap)
        return;
    if (c->custom_field != NULL && c->custom_value != NULL)
        snprintf(buf + n, cap - (size_t)n, "%s with %s = \"%s\"", n ? " and" : "",
                 c->custom_field, c->custom_value);
    else if (c->custom_field != NULL)
        snprintf(buf + n, cap - (size_t)n, "%s with custom field \"%s\" set", n ? " and" : "",
                 c->custom_field);
}

static int asana_describe(const relhost_ctx *ctx, void *inst)
{
    struct asana *a = inst;
    const struct asana_conf *c = a->conf;
    int have_token = token_set(ctx, a);
    char narrow[512];

    if (!have_token || a->project == NULL) {
        char why[256];
        not_configured_text(a, have_token, why, sizeof why);
        if (ctx->interactive && c->manual_fallback)
            pl_host->note_add(ctx, "%s: would ask on the terminal \"Asana is not configured: "
                                   "confirm there are no open release blockers?\"",
                              why);
        else
            pl_host->note_add(ctx, "%s: the step would be SKIPPED (not_configured), which stops "
                                   "the release when the step is required",
                              why);
        return 0;
    }
    narrowing_text(a, narrow, sizeof narrow);
    pl_host->note_add(ctx, "would list the sections of project %s%s (GET %s/projects/%s/sections"
                           "?limit=" ASANA_LIMIT ") and find section \"%s\"",
                      a->project, a->project_is_env ? " (from $" ASANA_PROJECT_ENV ")" : "",
                      a->base, a->project, c->section);
    pl_host->note_add(ctx, "would list its incomplete tasks (GET %s/sections/<gid>/tasks"
                           "?completed_since=now&limit=" ASANA_LIMIT "&opt_fields=...), following "
                           "next_page offsets on %s; authenticated with $%s",
                      a->base, a->base, c->token_env);
    pl_host->note_add(ctx, "blockers: incomplete tasks in the section%s; none -> PASSED, any -> "
                           "FAILED",
                      narrow);
    return 0;
}

/* ---- the not-configured path ------------------------------------------------------------- */

static const char *who_answers(void)
{
    const char *user = getenv("USER");
    const struct passwd *pw;

    if (user == NULL || user[0] == '\0')
        user = getenv("LOGNAME");
    if (user != NULL && user[0] != '\0')
        return user;
    pw = getpwuid(geteuid());
    return pw != NULL && pw->pw_name != NULL ? pw->pw_name : "the terminal user";
}

static int not_configured(const relhost_ctx *ctx, struct asana *a, int have_token,
                          relhost_verdict *out)
{
    static const char question[] =
        "Asana is not configured: confirm there are no open release blockers?";
    char why[256];
    int yes = 0;
    int rc = RELHOST_ENOTSUP;

    not_configured_text(a, have_token, why, sizeof why);
    out->retryable = 0;
    if (ctx->interactive && a->conf->manual_fallback && RELHOST_HAS(pl_host, prompt_yesno) &&
        pl_host->prompt_yesno != NULL)
        rc = pl_host->prompt_yesno(ctx, question, &yes);
    if (rc == RELHOST_EINTR)
        return RELHOST_EINTR;
    if (rc == 0) {
        pl_host->note_add(ctx, "%s; asked \"%s\": %s answered %s", why, question, who_answers(),
                          yes ? "yes" : "no");
        out->outcome = yes ? RELHOST_PASSED : RELHOST_FAILED;
        out->reason = yes ? NULL : "declined";
        return 0;
    }
    /* Nobody to ask (or a host that cannot ask): no decision, never a silent yes. */
    pl_host->note_add(ctx, "%s; set $%s and the project to check Asana%s", why, a->conf->token_env,
                      a->conf->manual_fallback ? ", or run on a terminal to confirm by hand" : "");
    out->outcome = RELHOST_SKIPPED;
    out->reason = "not_configured";
    return 0;
}

/* ---- HTTP + JSON ------------------------------------------------------------------------ */

enum { GOT_JSON = 0, GOT_VERDICT = 1 };

static void set_error(relhost_verdict *out, int retryable)
{
    out->outcome = RELHOST_ERROR;
    out->reason = "tool_error";
    out->retryable = retryable;
}

/* What the API said went wrong: errors[].message (and .phrase, which Asana adds to a 500 so
 * that support can find the incident), else the start of the body as text. */
static void api_error_text(const relhost_http_response *r, char *buf, size_t cap)
{
    json_t *root = r->body != NULL ? json_loadb(r->body, r->body_len, 0, NULL) : NULL;
    json_t *errs = json_is_object(root) ? json_object_get(root, "errors") : NULL;
    size_t len = 0;

    buf[0] = '\0';
    if (json_is_array(errs)) {
        size_t i;
        json_t *e;
        json_array_foreach(errs, i, e) {
            const char *msg = json_string_value(json_object_get(e, "message"));
            const char *phrase = json_string_value(json_object_get(e, "phrase"));
            char m[ASANA_TEXT_MAX + 4], p[ASANA_TEXT_MAX + 4];
            int n;
            if (msg == NULL && json_is_string(e))
                msg = json_string_value(e);
            if (msg == NULL)
                continue;
            pl_clean_text(msg, strlen(msg), ASANA_TEXT_MAX, m, sizeof m);
            if (phrase != NULL)
                pl_clean_text(phrase, strlen(phrase), ASANA_TEXT_MAX, p, sizeof p);
            n = snprintf(buf + len, cap - len, "%s%s%s%s%s", len ? "; " : "", m,
                         phrase != NULL ? " (phrase: " : "", phrase != NULL ? p : "",
                         phrase != NULL ? ")" : "");
            if (n < 0 || (size_t)n >= cap - len)
                break;
            len += (size_t)n;
        }
    }
    json_decref(root);
    if (buf[0] != '\0')
        return;
    if (r->body == NULL || r->body_len == 0) {
        snprintf(buf, cap, "(empty body)");
        return;
    }
    char ex[ASANA_EXCERPT_MAX + 4];
    pl_clean_text(r->body, r->body_len, ASANA_EXCERPT_MAX, ex, sizeof ex);
    snprintf(buf, cap, "body: \"%s\"", ex);
}

static int response_attempts(const relhost_http_response *r)
{
    return RELHOST_HAS(r, attempts) && r->attempts > 0 ? r->attempts : 1;
}

/*
 * GET url and parse its JSON object. GOT_JSON: *root is the reply (the caller decrefs it).
 * GOT_VERDICT: the request failed; out holds an ERROR and pl_host->fail() the reason. A negative
 * return (RELHOST_EINTR) ends the run.
 */
static int get_json(const relhost_ctx *ctx, struct asana *a, const char *url, const char *what,
                    json_t **root, relhost_verdict *out)
{
    static const char *const headers[] = {"Accept: application/json", NULL};
    relhost_http_request req;
    relhost_http_response *resp = NULL;
    char detail[1024];
    json_error_t jerr;
    long status;
    int rc;

    memset(&req, 0, sizeof req);
    req.struct_size = sizeof req;
    req.method = "GET";
    req.url = url;
    req.headers = headers;
    req.bearer_env = a->conf->token_env;
    pl_http_limits(&req, &a->conf->http);

    rc = pl_host->http_request(ctx, &req, &resp);
    if (rc < 0 && resp != NULL) /* the contract says none, but never leak one */
        pl_host->http_response_free(resp);
    if (rc == RELHOST_EINTR)
        return RELHOST_EINTR;
    if (rc < 0) {
        /* The host has explained the failure (what, on which URL, what to do) in its fail()
         * text, which becomes the step's message; the note adds what was asked. Only
         * RELHOST_ERETRY is worth another run (the retry table). */
        int again = pl_http_rc_retryable(rc);
        if (again)
            pl_host->note_add(ctx, "%s: no usable reply (%s); the next run tries again", what,
                              pl_strerror(rc));
        else if (rc == RELHOST_EINVAL)
            pl_host->note_add(ctx, "%s: relhost refused to send GET %s; check base_url (%s)", what,
                              url, pl_where(ctx, &a->conf->base_url));
        else
            pl_host->note_add(ctx, "%s: no usable reply (%s): not retryable, fix the cause and run "
                                   "again", what, pl_strerror(rc));
        set_error(out, again);
        return GOT_VERDICT;
    }
    if (resp == NULL) {
        pl_host->fail(ctx, "asana: %s: the HTTP service returned neither a reply nor an error for "
                           "GET %s (a relhost bug)",
                      what, url);
        set_error(out, 0);
        return GOT_VERDICT;
    }
    status = resp->status;
    if (status >= 200 && status < 300) {
        *root = json_loadb(resp->body != NULL ? resp->body : "", resp->body_len, 0, &jerr);
        if (*root == NULL || !json_is_object(*root)) {
            /* An unreadable body: not retryable, the same reply would come again (the rule of
             * every HTTP plugin, pl_http.h). */
            char is[256], line[1024];
            if (*root == NULL)
                snprintf(is, sizeof is, "is not valid JSON: %s at line %d, column %d", jerr.text,
                         jerr.line, jerr.column);
            else
                snprintf(is, sizeof is, "is a JSON %s where an object {\"data\": [...], "
                                        "\"next_page\": ...} was expected",
                         json_is_array(*root) ? "array" : json_is_string(*root) ? "string"
                                                                                 : "scalar");
            pl_http_unreadable(line, sizeof line, "GET", url, resp, is, "JSON");
            pl_host->fail(ctx, "asana: %s: %s; " PL_HTTP_UNREADABLE_ADVICE " (base_url, %s)", what,
                          line, pl_where(ctx, &a->conf->base_url));
            json_decref(*root);
            *root = NULL;
            pl_host->http_response_free(resp);
            set_error(out, 0);
            return GOT_VERDICT;
        }
        pl_host->http_response_free(resp);
        return GOT_JSON;
    }

    api_error_text(resp, detail, sizeof detail);
    if (pl_http_status_retryable(resp)) {
        int n = response_attempts(resp);
        pl_host->fail(ctx, "asana: %s: GET %s answered HTTP %ld after %d attempt%s: %s; the step "
                           "is retried on the next run",
                      what, url, status, n, n == 1 ? "" : "s", detail);
        set_error(out, 1);
    } else {
        const char *hint = "";
        char h[256];
        if (status == 401) {
            snprintf(h, sizeof h, ": check that $%s holds a valid personal access token",
                     a->conf->token_env);
            hint = h;
        } else if (status >= 300 && status < 400) {
            snprintf(h, sizeof h, ": relhost follows no redirect (it would carry the token "
                                  "along): point base_url at the final address");
            hint = h;
        } else if (status == 403 || status == 404) {
            snprintf(h, sizeof h, ": check the project gid (%s) and that the token's user can "
                                  "see the project",
                     a->project_is_env ? "$" ASANA_PROJECT_ENV
                                       : pl_where(ctx, &a->conf->project));
            hint = h;
        }
        pl_host->fail(ctx, "asana: %s: GET %s answered HTTP %ld: %s%s", what, url, status, detail,
                      hint);
        set_error(out, 0);
    }
    pl_host->http_response_free(resp);
    return GOT_VERDICT;
}

/*
 * GET every page of a list (base + path_query, then with each next_page.offset) and append the
 * items of every `data` array to `items`. *pages counts the requests. Same returns as get_json.
 */
static int get_all(const relhost_ctx *ctx, struct asana *a, const char *path_query,
                   const char *what, json_t *items, size_t *pages, relhost_verdict *out)
{
    char *offset = NULL;
    char *url = NULL;
    int rc = GOT_JSON;

    for (;;) {
        struct pl_str u = {0};
        json_t *root = NULL;
        json_t *data, *next, *off;

        pl_str_add(&u, "%s%s", a->base, path_query);
        if (offset != NULL) {
            pl_str_add(&u, "&offset=");
            pl_str_urlenc(&u, offset);
        }
        free(url);
        url = pl_str_take(&u);
        if (url == NULL) {
            pl_host->fail(ctx, "asana: out of memory");
            rc = RELHOST_ENOMEM;
            break;
        }
        rc = get_json(ctx, a, url, what, &root, out);
        if (rc != GOT_JSON)
            break;
        (*pages)++;
        data = json_object_get(root, "data");
        next = json_object_get(root, "next_page");
        off = json_is_object(next) ? json_object_get(next, "offset") : NULL;
        if (!json_is_array(data)) {
            pl_host->fail(ctx, "asana: %s: unexpected reply to GET %s: \"data\" is %s, not a list",
                          what, url, data == NULL ? "missing" : "not a list");
            rc = GOT_VERDICT;
        } else if (next != NULL && !json_is_null(next) &&
                   (!json_is_string(off) || json_string_value(off)[0] == '\0')) {
            pl_host->fail(ctx, "asana: %s: unexpected reply to GET %s: next_page is neither null "
                               "nor an object with an \"offset\" string",
                          what, url);
            rc = GOT_VERDICT;
        } else if (off != NULL && offset != NULL && strcmp(json_string_value(off), offset) == 0) {
            pl_host->fail(ctx, "asana: %s: GET %s returned the offset it was given as the next "
                               "page: following it would never end",
                          what, url);
            rc = GOT_VERDICT;
        } else if (off != NULL && *pages >= ASANA_MAX_PAGES) {
            pl_host->fail(ctx, "asana: %s: still more pages after %d requests of " ASANA_LIMIT
                            " items (last GET %s): the API seems to loop",
                          what, ASANA_MAX_PAGES, url);
            rc = GOT_VERDICT;
        } else if (json_array_extend(items, data) != 0) {
            pl_host->fail(ctx, "asana: out of memory");
            rc = RELHOST_ENOMEM;
        }
        if (rc == GOT_VERDICT)
            set_error(out, 0);
        if (rc != GOT_JSON || off == NULL) {
            json_decref(root);
            break;
        }
        free(offset);
        offset = strdup(json_string_value(off));
        json_decref(root);
        if (offset == NULL) {
            pl_host->fail(ctx, "asana: out of memory");
            rc = RELHOST_ENOMEM;
            break;
        }
    }
    free(offset);
    free(url);
    return rc;
}

/* ---- sections --------------------------------------------------------------------------- */

/*
 * Find the gids of the sections named conf->section (Asana allows duplicate names: all of them
 * count, so a blocker cannot hide in the second "Active"). Fills `gids` with strings.
 */
static int find_sections(const relhost_ctx *ctx, struct asana *a, json_t *gids, size_t *pages,
                         relhost_verdict *out)
{
    const char *want = a->conf->section;
    json_t *sections = json_array();
    struct pl_str pq = {0};
    char what[256];
    char *path;
    size_t i;
    json_t *s;
    int rc;

    snprintf(what, sizeof what, "listing the sections of project %s", a->project);
    pl_str_add(&pq, "/projects/%s/sections?limit=" ASANA_LIMIT, a->project);
    path = pl_str_take(&pq);
    if (sections == NULL || path == NULL) {
        json_decref(sections);
        free(path);
        return pl_oom(ctx);
    }
    rc = get_all(ctx, a, path, what, sections, pages, out);
    free(path);
    if (rc != GOT_JSON) {
        json_decref(sections);
        return rc;
    }
    json_array_foreach(sections, i, s) {
        const char *gid = json_string_value(json_object_get(s, "gid"));
        const char *name = json_string_value(json_object_get(s, "name"));
        if (gid == NULL || name == NULL || !valid_gid(gid)) {
            pl_host->fail(ctx, "asana: %s: section %zu of the reply has no usable \"gid\" and "
                               "\"name\" strings",
                          what, i + 1);
            set_error(out, 0);
            json_decref(sections);
            return GOT_VERDICT;
        }
        if (strcmp(name, want) == 0 && json_array_append_new(gids, json_string(gid)) != 0) {
            json_decref(sections);
            return pl_oom(ctx);
        }
    }
    if (json_array_size(gids) > 0) {
        json_decref(sections);
        return GOT_JSON;
    }

    /* A configuration problem, stated with what would fix it: the names that do exist. */
    struct pl_str names = {0};
    char near[ASANA_TEXT_MAX + 4] = "";
    json_array_foreach(sections, i, s) {
        const char *name = json_string_value(json_object_get(s, "name"));
        char shown[ASANA_TEXT_MAX + 4];
        if (i == 50) {
            pl_str_add(&names, ", ... (%zu in all)", json_array_size(sections));
            break;
        }
        pl_clean_text(name, strlen(name), 80, shown, sizeof shown);
        pl_str_add(&names, "%s\"%s\"", i ? ", " : "", shown);
        if (near[0] == '\0' && strcasecmp(name, want) == 0)
            snprintf(near, sizeof near, "%s", shown);
    }
    char *list = pl_str_take(&names);
    if (json_array_size(sections) == 0)
        pl_host->fail(ctx, "asana: project %s has no sections, so section \"%s\" (%s) cannot be "
                           "checked: create it in Asana or fix `section`",
                      a->project, want, pl_where(ctx, &a->conf->section));
    else
        pl_host->fail(ctx, "asana: project %s has no section \"%s\" (%s)%s%s%s; its sections are: "
                           "%s",
                      a->project, want, pl_where(ctx, &a->conf->section),
                      near[0] != '\0' ? " (did you mean \"" : "", near,
                      near[0] != '\0' ? "\"? names are compared exactly)" : "",
                      list != NULL ? list : "(out of memory)");
    free(list);
    json_decref(sections);
    set_error(out, 0);
    return GOT_VERDICT;
}

/* ---- tasks ------------------------------------------------------------------------------- */

/* 1 when the task is a blocker, 0 when narrowing excludes it, -1 when its shape is wrong (the
 * message in err): a field the narrowing needs that is missing fails closed. */
static int is_blocker(const struct asana *a, json_t *t, char *err, size_t cap)
{
    const struct asana_conf *c = a->conf;
    json_t *completed = json_object_get(t, "completed");
    size_t i;
    json_t *e;

    if (completed != NULL && !json_is_boolean(completed)) {
        snprintf(err, cap, "\"completed\" is not true or false");
        return -1;
    }
    /* completed_since=now already hides finished tasks; this guards a server that ignores it. */
    if (json_is_true(completed))
        return 0;
    if (c->tag != NULL) {
        json_t *tags = json_object_get(t, "tags");
        int hit = 0;
        if (!json_is_array(tags)) {
            snprintf(err, cap, "no \"tags\" list, so the tag \"%s\" cannot be checked", c->tag);
            return -1;
        }
        json_array_foreach(tags, i, e) {
            const char *n = json_string_value(json_object_get(e, "name"));
            if (n != NULL && strcmp(n, c->tag) == 0)
                hit = 1;
        }
        if (!hit)
            return 0;
    }
    if (c->custom_field != NULL) {
        json_t *fields = json_object_get(t, "custom_fields");
        int hit = 0;
        if (!json_is_array(fields)) {
            snprintf(err, cap, "no \"custom_fields\" list, so the field \"%s\" cannot be checked",
                     c->custom_field);
            return -1;
        }
        json_array_foreach(fields, i, e) {
            const char *n = json_string_value(json_object_get(e, "name"));
            const char *v = json_string_value(json_object_get(e, "display_value"));
            if (n == NULL || strcmp(n, c->custom_field) != 0)
                continue;
            if (c->custom_value != NULL ? v != NULL && strcmp(v, c->custom_value) == 0
                                        : v != NULL && v[0] != '\0')
                hit = 1;
        }
        if (!hit)
            return 0;
    }
    return 1;
}

static void note_blocker(const relhost_ctx *ctx, json_t *t)
{
    const char *name = json_string_value(json_object_get(t, "name"));
    const char *gid = json_string_value(json_object_get(t, "gid"));
    const char *link = json_string_value(json_object_get(t, "permalink_url"));
    const char *who = json_string_value(json_object_get(json_object_get(t, "assignee"), "name"));
    char n[ASANA_TEXT_MAX + 4], w[ASANA_TEXT_MAX + 4], l[512 + 4];

    if (name == NULL || name[0] == '\0')
        name = "(no name)";
    pl_clean_text(name, strlen(name), ASANA_TEXT_MAX, n, sizeof n);
    if (who != NULL)
        pl_clean_text(who, strlen(who), ASANA_TEXT_MAX, w, sizeof w);
    if (link != NULL)
        pl_clean_text(link, strlen(link), 512, l, sizeof l);
    else
        snprintf(l, sizeof l, "(no link; task gid %s)", gid != NULL ? gid : "unknown");
    pl_host->note_add(ctx, "blocker: \"%s\" (%s%s) %s", n,
                      who != NULL ? "assignee: " : "unassigned", who != NULL ? w : "", l);
}

static void set_label_count(const relhost_ctx *ctx, const char *key, size_t v)
{
    char buf[32];

    if (!RELHOST_HAS(pl_host, label_set) || pl_host->label_set == NULL)
        return;
    snprintf(buf, sizeof buf, "%zu", v);
    pl_host->label_set(ctx, key, buf);
}

static int asana_run(const relhost_ctx *ctx, void *inst, relhost_verdict *out)
{
    struct asana *a = inst;
    const struct asana_conf *c = a->conf;
    int have_token = token_set(ctx, a);
    json_t *gids = NULL, *tasks = NULL;
    size_t pages = 0, open_tasks, blockers = 0;
    char narrow[512];
    char what[512];
    size_t i;
    json_t *t, *g;
    int rc;

    if (!have_token || a->project == NULL)
        return not_configured(ctx, a, have_token, out);
    if (!RELHOST_HAS(pl_host, http_response_free) || pl_host->http_request == NULL ||
        pl_host->http_response_free == NULL) {
        pl_host->fail(ctx,
                      "asana: this relhost has no HTTP service (http_request): upgrade relhost, "
                      "or make the step optional until then");
        return RELHOST_ENOTSUP;
    }

    gids = json_array();
    tasks = json_array();
    if (gids == NULL || tasks == NULL) {
        pl_host->fail(ctx, "asana: out of memory");
        rc = RELHOST_ENOMEM;
        goto done;
    }
    rc = find_sections(ctx, a, gids, &pages, out);
    if (rc != GOT_JSON)
        goto done;
    if (json_array_size(gids) > 1)
        pl_host->note_add(ctx, "project %s has %zu sections named \"%s\": all of them are checked",
                          a->project, json_array_size(gids), c->section);

    json_array_foreach(gids, i, g) {
        struct pl_str pq = {0};
        char *path;
        pl_str_add(&pq, "/sections/%s/tasks?completed_since=now&limit=" ASANA_LIMIT
                     "&opt_fields=" ASANA_TASK_FIELDS,
                json_string_value(g));
        path = pl_str_take(&pq);
        if (path == NULL) {
            pl_host->fail(ctx, "asana: out of memory");
            rc = RELHOST_ENOMEM;
            goto done;
        }
        snprintf(what, sizeof what, "listing the open tasks of section \"%s\" (gid %s)",
                 c->section, json_string_value(g));
        rc = get_all(ctx, a, path, what, tasks, &pages, out);
        free(path);
        if (rc != GOT_JSON)
            goto done;
    }

    /* Judge every task before posting anything, so a malformed task anywhere is an ERROR and
     * never a partial list of blockers under a FAILED that looks complete. */
    open_tasks = 0;
    json_array_foreach(tasks, i, t) {
        char err[256];
        int b = json_is_object(t) ? is_blocker(a, t, err, sizeof err) : -1;
        if (!json_is_object(t))
            snprintf(err, sizeof err, "it is not an object");
        if (b < 0) {
            pl_host->fail(ctx, "asana: listing the open tasks of section \"%s\": unexpected reply: "
                               "task %zu: %s",
                          c->section, i + 1, err);
            set_error(out, 0);
            rc = GOT_VERDICT;
            goto done;
        }
        if (!json_is_true(json_object_get(t, "completed")))
            open_tasks++;
        blockers += (size_t)b;
    }

    narrowing_text(a, narrow, sizeof narrow);
    set_label_count(ctx, "blockers", blockers);
    out->retryable = 0;
    if (blockers == 0) {
        pl_host->note_add(ctx,
                          "no open blockers%s in section \"%s\" of project %s (%zu open task%s, "
                          "%zu request%s)",
                          narrow, c->section, a->project, open_tasks, open_tasks == 1 ? "" : "s",
                          pages, pages == 1 ? "" : "s");
        out->outcome = RELHOST_PASSED;
        out->reason = NULL;
    } else {
        pl_host->note_add(ctx, "%zu open blocker%s%s in section \"%s\" of project %s:", blockers,
                          blockers == 1 ? "" : "s", narrow, c->section, a->project);
        json_array_foreach(tasks, i, t) {
            char err[8];
            if (is_blocker(a, t, err, sizeof err) == 1)
                note_blocker(ctx, t);
        }
        out->outcome = RELHOST_FAILED;
        out->reason = "blockers";
    }
    rc = 0;
done:
    json_decref(gids);
    json_decref(tasks);
    /* GOT_VERDICT: the verdict is in *out and the reason in the fail() text. */
    return rc == GOT_VERDICT ? 0 : rc;
}

const relhost_plugin pl_plugin = {
    PL_PLUGIN_BASE("asana", "1.0.0", asana_options, struct asana_conf),
    .description = "FAILED while an Asana section holds open tasks (release blockers)",
    .gate = &(const relhost_gate_ops){.struct_size = sizeof(relhost_gate_ops), .open = asana_open,
                                      .describe = asana_describe, .run = asana_run,
                                      .close = asana_close},
};
