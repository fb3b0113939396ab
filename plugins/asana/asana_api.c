/* SPDX-License-Identifier: MIT */
/*
 * asana: HTTP + JSON. One GET through pl_host->http_request, judged by the rule every HTTP plugin
 * follows (../common/pl_http.h, "the retry table"), and every page of a list, next_page.offset
 * sent to the CONFIGURED base URL (asana.c says why).
 */
#include "asana_int.h"

#include "../common/pl_host.h"

#include "../common/pl_http.h"
#include "../common/pl_text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- HTTP + JSON ------------------------------------------------------------------------ */

void set_error(relhost_verdict *out, int retryable)
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
        json_array_foreach(errs, i, e)
        {
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

/* A 2xx reply to GET url: its JSON object, as get_json() returns it. resp is freed. */
static int parse_reply(const relhost_ctx *ctx, struct asana *a, const char *url, const char *what,
                       relhost_http_response *resp, json_t **root, relhost_verdict *out)
{
    json_error_t jerr;

    *root = json_loadb(resp->body != NULL ? resp->body : "", resp->body_len, 0, &jerr);
    if (*root == NULL || !json_is_object(*root)) {
        /* An unreadable body: not retryable, the same reply would come again (the rule of
         * every HTTP plugin, pl_http.h). */
        char is[256], line[1024];
        if (*root == NULL)
            snprintf(is, sizeof is, "is not valid JSON: %s at line %d, column %d", jerr.text,
                     jerr.line, jerr.column);
        else
            snprintf(is, sizeof is,
                     "is a JSON %s where an object {\"data\": [...], "
                     "\"next_page\": ...} was expected",
                     json_is_array(*root)    ? "array"
                     : json_is_string(*root) ? "string"
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
    long status;
    int rc;

    pl_http_request_init(&req, "GET", url, headers);
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
            pl_host->note_add(ctx,
                              "%s: no usable reply (%s): not retryable, fix the cause and run "
                              "again",
                              what, pl_strerror(rc));
        set_error(out, again);
        return GOT_VERDICT;
    }
    if (resp == NULL) {
        pl_host->fail(ctx,
                      "asana: %s: the HTTP service returned neither a reply nor an error for "
                      "GET %s (a relhost bug)",
                      what, url);
        set_error(out, 0);
        return GOT_VERDICT;
    }
    status = resp->status;
    if (status >= 200 && status < 300)
        return parse_reply(ctx, a, url, what, resp, root, out);

    api_error_text(resp, detail, sizeof detail);
    if (pl_http_status_retryable(resp)) {
        int n = response_attempts(resp);
        pl_host->fail(ctx,
                      "asana: %s: GET %s answered HTTP %ld after %d attempt%s: %s; the step "
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
            snprintf(h, sizeof h,
                     ": relhost follows no redirect (it would carry the token "
                     "along): point base_url at the final address");
            hint = h;
        } else if (status == 403 || status == 404) {
            snprintf(h, sizeof h,
                     ": check the project gid (%s) and that the token's user can "
                     "see the project",
                     a->project_is_env ? "$" ASANA_PROJECT_ENV : pl_where(ctx, &a->conf->project));
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
int get_all(const relhost_ctx *ctx, struct asana *a, const char *path_query, const char *what,
            json_t *items, size_t *pages, relhost_verdict *out)
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
            pl_host->fail(ctx,
                          "asana: %s: unexpected reply to GET %s: next_page is neither null "
                          "nor an object with an \"offset\" string",
                          what, url);
            rc = GOT_VERDICT;
        } else if (off != NULL && offset != NULL && strcmp(json_string_value(off), offset) == 0) {
            pl_host->fail(ctx,
                          "asana: %s: GET %s returned the offset it was given as the next "
                          "page: following it would never end",
                          what, url);
            rc = GOT_VERDICT;
        } else if (off != NULL && *pages >= ASANA_MAX_PAGES) {
            pl_host->fail(ctx,
                          "asana: %s: still more pages after %d requests of " ASANA_LIMIT
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
