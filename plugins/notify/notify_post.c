/* SPDX-License-Identifier: MIT */
/*
 * notify_post.c - posting the announcement at most once (see notify.c): how Discord and Slack
 * answer, the delivery record of each target, and the POST with what its failures mean.
 */
#include "notify.h"

#include "../common/pl_host.h"

#include "../common/pl_http.h"
#include "../common/pl_text.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *const notify_target_names[NTARGETS] = {"discord", "slack"};

/* ---- services ---------------------------------------------------------------------------- */

static int discord_accepted(const relhost_http_response *r)
{
    return r->status >= 200 && r->status < 300;
}

/* {"message": "Unknown Webhook", "code": 10015} -> "Unknown Webhook (code 10015)". */
static void discord_error_text(const relhost_http_response *r, char *buf, size_t cap)
{
    json_t *root = r->body != NULL ? json_loadb(r->body, r->body_len, 0, NULL) : NULL;
    const char *msg = json_string_value(json_object_get(root, "message"));
    json_t *code = json_object_get(root, "code");
    json_t *after = json_object_get(root, "retry_after");
    char m[NOTIFY_TEXT_MAX + 4];

    if (msg != NULL) {
        pl_clean_text(msg, strlen(msg), NOTIFY_TEXT_MAX, m, sizeof m);
        if (json_is_integer(code))
            snprintf(buf, cap, "%s (code %lld)", m, (long long)json_integer_value(code));
        else if (json_is_number(after))
            snprintf(buf, cap, "%s (retry_after %.3g s)", m, json_number_value(after));
        else
            snprintf(buf, cap, "%s", m);
    } else if (r->body != NULL && r->body_len > 0) {
        pl_clean_text(r->body, r->body_len, NOTIFY_TEXT_MAX, m, sizeof m);
        snprintf(buf, cap, "body \"%s\"", m);
    } else {
        snprintf(buf, cap, "(empty body)");
    }
    json_decref(root);
}

/* Slack's body is the word "ok", possibly with a newline after it. */
static int slack_ok_body(const relhost_http_response *r)
{
    size_t n = r->body != NULL ? r->body_len : 0;

    while (n > 0 && (r->body[n - 1] == '\n' || r->body[n - 1] == '\r' || r->body[n - 1] == ' '))
        n--;
    return n == 2 && memcmp(r->body, "ok", 2) == 0;
}

static int slack_accepted(const relhost_http_response *r)
{
    return r->status == 200 && slack_ok_body(r);
}

static void slack_error_text(const relhost_http_response *r, char *buf, size_t cap)
{
    char m[NOTIFY_TEXT_MAX + 4];

    if (r->body == NULL || r->body_len == 0) {
        snprintf(buf, cap, "(empty body)");
        return;
    }
    pl_clean_text(r->body, r->body_len, NOTIFY_TEXT_MAX, m, sizeof m);
    if (r->status >= 200 && r->status < 300)
        snprintf(buf, cap, "\"%s\" instead of \"ok\"", m);
    else
        snprintf(buf, cap, "%s", m);
}

const struct service notify_discord = {"Discord", "discord", discord_accepted, discord_error_text};
const struct service notify_slack = {"Slack", "slack", slack_accepted, slack_error_text};

/* The value is a URL the host may send to; https only, except to a loopback test server.
 * Nothing of the value is quoted: it is the credential. */
static const char *bad_url(const char *url)
{
    static const char *const loopback[] = {"http://127.0.0.1:",
                                           "http://127.0.0.1/",
                                           "http://localhost:",
                                           "http://localhost/",
                                           "http://[::1]:",
                                           "http://[::1]/",
                                           NULL};

    if (strncmp(url, "https://", 8) == 0 && url[8] != '\0' && url[8] != '/')
        return strpbrk(url, " \t\r\n") != NULL ? "it holds a blank or a line break" : NULL;
    for (size_t i = 0; loopback[i] != NULL; i++)
        if (strncmp(url, loopback[i], strlen(loopback[i])) == 0)
            return NULL;
    return "it is not an https:// URL";
}

void notify_label(const relhost_ctx *ctx, const char *key, const char *value)
{
    if (RELHOST_HAS(pl_host, label_set) && pl_host->label_set != NULL)
        pl_host->label_set(ctx, key, value);
}

/* ---- delivery records ------------------------------------------------------------------- */

enum delivery notify_delivery_of(const char *rec)
{
    if (rec == NULL)
        return D_NONE;
    if (strncmp(rec, "posted", 6) == 0)
        return D_POSTED;
    /* "sending": a run died or was stopped between the record and the reply */
    if (strncmp(rec, "unknown", 7) == 0 || strncmp(rec, "sending", 7) == 0)
        return D_UNKNOWN;
    return D_NONE; /* "not_delivered ...": the server never took it */
}

static void utc_now(char *buf, size_t cap)
{
    time_t now = time(NULL);
    struct tm tm;
    if (gmtime_r(&now, &tm) == NULL || strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(buf, cap, "(time unknown)");
}

/* Record "<what> <UTC>[: why]" for target t. 0, or the host's negative code (explained). */
int notify_record(const relhost_ctx *ctx, int t, const char *what, const char *why)
{
    char ts[32], value[320];
    utc_now(ts, sizeof ts);
    if (why != NULL)
        snprintf(value, sizeof value, "%s %s: %s", what, ts, why);
    else
        snprintf(value, sizeof value, "%s %s", what, ts);
    return pl_host->record_put(ctx, notify_target_names[t], value);
}

/* ---- posting ----------------------------------------------------------------------------- */

/* How notify_post() ends for NOT_DELIVERED ("failed", recorded "not_delivered") or UNKNOWN ("unknown",
 * recorded "unknown"), why being what the record keeps: res, or the record's failure. */
static int post_ended(const relhost_ctx *ctx, int t, const struct service *svc,
                      enum post_result res, const char *why)
{
    int rc;

    notify_label(ctx, svc->label, res == UNKNOWN ? "unknown" : "failed");
    rc = notify_record(ctx, t, res == UNKNOWN ? "unknown" : "not_delivered", why);
    return rc < 0 ? rc : (int)res;
}

/* http_request failed (rc < 0, not RELHOST_EINTR): was the request delivered? */
static int post_lost(const relhost_ctx *ctx, int t, const struct service *svc, const char *env,
                     int rc, int *retryable)
{
    /* The host's fail() text says what went wrong on the wire; it stays the message. An
     * at_most_once request comes back RELHOST_ERETRY only when nothing reached the server (it
     * may be sent again later); EINVAL, ENOTSUP and ENOMEM are refusals before sending.
     * Anything else (a timeout, a reset or truncated reply) may have been delivered. */
    if (rc == RELHOST_ERETRY || rc == RELHOST_EINVAL || rc == RELHOST_ENOTSUP ||
        rc == RELHOST_ENOMEM) {
        *retryable = rc == RELHOST_ERETRY;
        pl_host->note_add(ctx, "%s: not posted: the request did not reach the webhook in $%s",
                          svc->name, env);
        return post_ended(ctx, t, svc, NOT_DELIVERED, "the request did not reach the server");
    }
    pl_host->note_add(ctx,
                      "%s: delivery unknown: the request was sent to the webhook in $%s, "
                      "and no reply came back (timeout, reset or cut reply)",
                      svc->name, env);
    return post_ended(ctx, t, svc, UNKNOWN, "sent, no usable reply");
}

/* The webhook answered, but not that it took the message: UNKNOWN or NOT_DELIVERED, said in
 * fail() and a note. Frees resp. */
static int post_refused(const relhost_ctx *ctx, int t, const struct service *svc, const char *env,
                        relhost_http_response *resp, int *retryable)
{
    int attempts = RELHOST_HAS(resp, attempts) && resp->attempts > 0 ? resp->attempts : 1;
    char detail[512], short_why[256];

    svc->error_text(resp, detail, sizeof detail);
    snprintf(short_why, sizeof short_why, "HTTP %ld", resp->status);
    if ((resp->status >= 500 && resp->status < 600) ||
        (resp->status >= 200 && resp->status < 300)) {
        /* A 5xx may come after the message was posted (a proxy timing out, a crash after the
         * write), and a 2xx without the expected answer says nothing reliable either. */
        pl_host->note_add(ctx, "%s: delivery unknown: HTTP %ld: %s", svc->name, resp->status,
                          detail);
        pl_host->fail(ctx, "notify: the %s webhook answered HTTP %ld: %s", svc->name, resp->status,
                      detail);
        pl_host->http_response_free(resp);
        return post_ended(ctx, t, svc, UNKNOWN, short_why);
    }
    /* 408, 429 (after the host's waits) and other 4xx: the service did not take the message. */
    *retryable = resp->status == 429 || resp->status == 408;
    if (*retryable) {
        pl_host->fail(ctx,
                      "notify: the %s webhook answered HTTP %ld after %d attempt%s: %s; the "
                      "step is retried on the next run",
                      svc->name, resp->status, attempts, attempts == 1 ? "" : "s", detail);
    } else {
        /* 401/403/404/410: the webhook was deleted or the URL is wrong, not the message; a
         * redirect is not followed (it would carry the URL's credential elsewhere). */
        int gone = resp->status == 401 || resp->status == 403 || resp->status == 404 ||
                   resp->status == 410;
        int moved = resp->status >= 300 && resp->status < 400;
        pl_host->fail(ctx, "notify: the %s webhook refused the announcement: HTTP %ld: %s%s%s",
                      svc->name, resp->status, detail,
                      gone    ? "; check the webhook URL in $"
                      : moved ? "; relhost follows no redirect: put the final URL in $"
                              : "",
                      gone || moved ? env : "");
    }
    pl_host->note_add(ctx, "%s: not posted: HTTP %ld: %s", svc->name, resp->status, detail);
    pl_host->http_response_free(resp);
    return post_ended(ctx, t, svc, NOT_DELIVERED, short_why);
}

/* POST body to target t's webhook. Returns a post_result, with *retryable (NOT_DELIVERED) and
 * the reason in pl_host->fail() and a note; negative: RELHOST_EINTR, or the state could not record
 * the delivery (explained). The record says "sending" before the request leaves and what became
 * of it after. */
int notify_post(const relhost_ctx *ctx, const struct notify *n, int t, const struct service *svc,
                const char *env, const char *body, int *retryable)
{
    static const char *const headers[] = {"Content-Type: application/json", NULL};
    relhost_http_request req;
    relhost_http_response *resp = NULL;
    const char *url = pl_host->secret(ctx, env);
    const char *why;
    int rc;

    *retryable = 0;
    if (url == NULL) { /* the caller checked; only a host bug gets here */
        pl_host->fail(ctx, "notify: $%s is not set", env);
        return NOT_DELIVERED;
    }
    if ((why = bad_url(url)) != NULL) {
        pl_host->fail(ctx,
                      "notify: $%s does not hold a usable %s webhook URL: %s (its value is "
                      "not shown: a webhook URL is a credential)",
                      env, svc->name, why);
        pl_host->note_add(ctx, "%s: not posted: $%s does not hold a usable webhook URL", svc->name,
                          env);
        notify_label(ctx, svc->label, "failed");
        return NOT_DELIVERED;
    }
    pl_http_request_init(&req, "POST", url, headers);
    req.body = body;
    req.body_len = strlen(body);
    pl_http_limits(&req, &n->conf->http);
    req.at_most_once = 1;

    /* Durable before the request leaves: a kill during the POST leaves "sending", which the
     * next run reads as unknown rather than as never tried. */
    if ((rc = notify_record(ctx, t, "sending", NULL)) != 0) {
        notify_label(ctx, svc->label, "failed");
        return rc;
    }
    pl_host->log(ctx, RELHOST_LOG_DEBUG, "posting the announcement to %s ($%s)", svc->name, env);
    rc = pl_host->http_request(ctx, &req, &resp);
    if (rc < 0 && resp != NULL) {
        pl_host->http_response_free(resp);
        resp = NULL;
    }
    if (rc == RELHOST_EINTR)
        return RELHOST_EINTR; /* "sending" stays: the next run treats it as unknown */
    if (rc < 0)
        return post_lost(ctx, t, svc, env, rc, retryable);
    if (resp == NULL) {
        pl_host->fail(ctx,
                      "notify: the HTTP service returned neither a reply nor an error for the "
                      "%s webhook (a relhost bug)",
                      svc->name);
        return post_ended(ctx, t, svc, UNKNOWN, "no reply from the HTTP service");
    }
    if (!svc->accepted(resp))
        return post_refused(ctx, t, svc, env, resp, retryable);
    long status = resp->status;
    pl_host->http_response_free(resp);
    notify_label(ctx, svc->label, "posted");
    if ((rc = notify_record(ctx, t, "posted", NULL)) != 0)
        return rc; /* "sending" stays: the next run asks a person */
    pl_host->note_add(ctx, "posted to %s (HTTP %ld)", svc->name, status);
    return POSTED;
}
