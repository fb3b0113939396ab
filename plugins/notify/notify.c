/* SPDX-License-Identifier: MIT */
/*
 * notify.c - the announce gate: post the release message to a Discord and/or a Slack webhook.
 *
 * A webhook URL is a credential (anyone holding it can post to the channel), so the plan names
 * only the environment variables that hold the URLs; the value goes from pl_host->secret() straight
 * into the request and is never formatted into a message, a note or a log line. The message is a
 * template option: {version}, {commit}, {step}... are expanded by the host before open().
 *
 * Every configured service is tried, even after another one failed: an announcement that reaches
 * one channel is better than none. The step PASSES only when every configured service has the
 * message.
 *
 * At most once: a webhook cannot be asked "did I already post this?", so each post is recorded in
 * the release state (pl_host->record_put, key "discord" or "slack") and never repeated blindly:
 *   - before the POST the record says "sending <UTC>", durably; after a 2xx "posted <UTC>";
 *   - the request is sent with at_most_once: the host sends it again only when the failure
 *     proves the server never got it (no connection, 429); a timeout, a lost reply or a 5xx
 *     comes back at once;
 *   - a failure that proves non-delivery (4xx, or the service's ERETRY: nothing reached the
 *     server) records "not_delivered <UTC>: why": the next run posts again;
 *   - a failure after which the server may have the message (5xx, timeout, reset or truncated
 *     reply, a 2xx without the expected answer) records "unknown <UTC>: why", and so does a
 *     "sending" left by a run that died mid-post: the step is ERROR (delivery_unknown, not
 *     retryable) and nothing goes to that target until a person checked the channel and said
 *     either resend = target (post again) or delivered = target (it arrived), e.g. with
 *     `--step STEP --set steps.STEP.resend=slack`;
 *   - a target recorded "posted" is never posted to again in this release (re-runs and --rerun
 *     alike): "already posted in an earlier run".
 *
 *   Discord: POST {"content": msg} (cut to 2000 characters), success 2xx (204, or 200 with
 *            ?wait=true); errors {"message", "code"}
 *   Slack:   POST {"text": msg}, success 200 with the body "ok"; errors are plain words
 *            (invalid_payload, channel_not_found...)
 *   429 is retried by the host (Retry-After honoured); still refused -> ERROR retryable.
 *   Other 4xx -> ERROR, not retryable. Neither URL set -> SKIPPED not_configured.
 */
#include <relhost/plugin.h>

#include "../common/pl_host.h"

#include "../common/pl_http.h"
#include "../common/pl_text.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Discord's limit on `content`. Counted in UTF-16 code units, which is never less than the
 * number of code points: whichever of the two Discord counts, the cut message fits. */
#define DISCORD_MAX_CHARS 2000
#define NOTIFY_TEXT_MAX 200

struct notify_conf {
    const char *discord_url_env;
    const char *slack_url_env;
    const char *message;
    relhost_http_options http; /* timeout, retry_budget */
    relhost_strlist resend;    /* targets whose unknown delivery a person asks to post again */
    relhost_strlist delivered; /* targets whose unknown delivery a person saw arrive */
};

/* The targets of a step, in the order they are posted to; a target's name is its record key. */
enum { T_DISCORD, T_SLACK, NTARGETS };
static const char *const target_names[NTARGETS] = {"discord", "slack"};

struct notify {
    const struct notify_conf *conf;
    char *discord_text; /* the message as Discord gets it (cut when too long) */
    char *discord_body; /* {"content": discord_text} */
    char *slack_body;   /* {"text": message} */
    size_t units;       /* length of the message in UTF-16 code units */
    int truncated;
    int resend[NTARGETS];    /* from conf->resend */
    int delivered[NTARGETS]; /* from conf->delivered */
};

static const relhost_option notify_options[] = {
    {.name = "discord_url_env",
     .type = RELHOST_OPT_SECRET_ENV,
     .def = "DISCORD_WEBHOOK_URL",
     .offset = offsetof(struct notify_conf, discord_url_env),
     .doc = "environment variable holding the Discord webhook URL (unset: no Discord post)"},
    {.name = "slack_url_env",
     .type = RELHOST_OPT_SECRET_ENV,
     .def = "SLACK_WEBHOOK_URL",
     .offset = offsetof(struct notify_conf, slack_url_env),
     .doc = "environment variable holding the Slack webhook URL (unset: no Slack post)"},
    {.name = "message",
     .type = RELHOST_OPT_STRING,
     .def = "Released stable version v{version} \xF0\x9F\x8E\x89\n"
            "Release notes: devops/stable/release-notes/v{version}.md",
     .offset = offsetof(struct notify_conf, message),
     .doc = "the announcement (Discord cuts it to 2000 characters)",
     .flags = RELHOST_OPTF_TEMPLATE},
    RELHOST_HTTP_OPTION_ROWS(struct notify_conf, http),
    {.name = "resend",
     .type = RELHOST_OPT_STRLIST,
     .offset = offsetof(struct notify_conf, resend),
     .doc = "targets (discord, slack) whose delivery is unknown to post to again, after checking "
            "the channel: give it for one run, --set steps.STEP.resend=slack"},
    {.name = "delivered",
     .type = RELHOST_OPT_STRLIST,
     .offset = offsetof(struct notify_conf, delivered),
     .doc = "targets (discord, slack) whose delivery is unknown but whose channel has the "
            "message: recorded as posted, not posted again (--set steps.STEP.delivered=slack)"},
    {0},
};

/* One webhook service: how to name it and how to read its answers. */
struct service {
    const char *name;
    const char *label;
    int (*accepted)(const relhost_http_response *r);
    void (*error_text)(const relhost_http_response *r, char *buf, size_t cap);
};

/* ---- text ------------------------------------------------------------------------------- */

/* Bytes of the UTF-8 character starting with lead byte c (the text is valid UTF-8: jansson
 * accepted it at open). */
static size_t utf8_len(unsigned char c)
{
    return c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
}

/*
 * The message as Discord takes it: at most DISCORD_MAX_CHARS UTF-16 units; a longer one is cut
 * at a character boundary and ends in "\u2026" (one unit), so a reader sees it was cut. *units
 * gets the full message's length. Returns a heap string, or NULL when out of memory.
 */
static char *discord_cut(const char *msg, size_t *units, int *truncated)
{
    static const char ellipsis[] = "\xE2\x80\xA6";
    size_t total = 0, keep = 0, i = 0;
    size_t len = strlen(msg);
    char *out;

    while (i < len) {
        size_t n = utf8_len((unsigned char)msg[i]);
        total += n == 4 ? 2 : 1;
        if (total <= DISCORD_MAX_CHARS - 1)
            keep = i + n;
        i += n;
    }
    *units = total;
    *truncated = total > DISCORD_MAX_CHARS;
    if (!*truncated)
        return strdup(msg);
    out = malloc(keep + sizeof ellipsis);
    if (out == NULL)
        return NULL;
    memcpy(out, msg, keep);
    memcpy(out + keep, ellipsis, sizeof ellipsis);
    return out;
}

static char *json_body(const char *key, const char *text)
{
    json_t *o = json_object();
    json_t *s = json_string(text);
    char *body = NULL;

    if (o != NULL && s != NULL && json_object_set_new(o, key, s) == 0)
        body = json_dumps(o, JSON_COMPACT);
    else
        json_decref(s);
    json_decref(o);
    return body;
}

/* ---- open / close ------------------------------------------------------------------------ */

static void notify_free(struct notify *n)
{
    if (n == NULL)
        return;
    free(n->discord_text);
    free(n->discord_body);
    free(n->slack_body);
    free(n);
}

/* resend / delivered: target names, a list or one string with commas ("discord,slack", as
 * --set gives it). Sets want[t] for each target named; a name that is no target is a plan error. */
static int parse_targets(const relhost_ctx *ctx, const relhost_strlist *l, const char *opt,
                         int want[NTARGETS])
{
    for (size_t i = 0; i < l->n; i++) {
        const char *p = l->v[i];
        while (*p != '\0') {
            size_t len = strcspn(p, ", ");
            int found = len == 0;
            for (int t = 0; t < NTARGETS && !found; t++)
                if (strlen(target_names[t]) == len && strncmp(p, target_names[t], len) == 0) {
                    want[t] = 1;
                    found = 1;
                }
            if (!found) {
                pl_host->fail(ctx, "%s: %s: \"%.*s\" is not a target of this step; the targets "
                                   "are discord and slack",
                              pl_where(ctx, l), opt,
                              (int)(len > 64 ? 64 : len), p);
                return RELHOST_EINVAL;
            }
            p += len;
            p += strspn(p, ", ");
        }
    }
    return 0;
}

static int notify_open(const relhost_ctx *ctx, const void *conf, void **inst)
{
    const struct notify_conf *c = conf;
    const char *w = pl_where(ctx, &c->message);
    struct notify *n;
    json_t *probe;

    if (c->message == NULL || c->message[0] == '\0') {
        pl_host->fail(ctx, "%s: message is empty: Discord and Slack refuse an empty post; write "
                           "the announcement, e.g. message = \"Released v{version}\"",
                      w);
        return RELHOST_EINVAL;
    }
    /* Webhooks take JSON, which takes UTF-8 only: refuse here, not at the end of a release. */
    probe = json_string(c->message);
    if (probe == NULL) {
        pl_host->fail(ctx, "%s: message is not valid UTF-8: save the plan as UTF-8", w);
        return RELHOST_EINVAL;
    }
    json_decref(probe);

    n = calloc(1, sizeof *n);
    if (n == NULL)
        goto oom;
    n->conf = c;
    if (parse_targets(ctx, &c->resend, "resend", n->resend) != 0 ||
        parse_targets(ctx, &c->delivered, "delivered", n->delivered) != 0) {
        notify_free(n);
        return RELHOST_EINVAL;
    }
    for (int t = 0; t < NTARGETS; t++)
        if (n->resend[t] && n->delivered[t]) {
            pl_host->fail(ctx, "%s: %s is named by both resend and delivered: say either that it "
                               "arrived (delivered) or that it should be posted again (resend)",
                          pl_where(ctx, &c->resend),
                          target_names[t]);
            notify_free(n);
            return RELHOST_EINVAL;
        }
    n->discord_text = discord_cut(c->message, &n->units, &n->truncated);
    if (n->discord_text == NULL)
        goto oom;
    n->discord_body = json_body("content", n->discord_text);
    n->slack_body = json_body("text", c->message);
    if (n->discord_body == NULL || n->slack_body == NULL)
        goto oom;
    *inst = n;
    return 0;
oom:
    notify_free(n);
    return pl_oom(ctx);
}

static void notify_close(void *inst)
{
    notify_free(inst);
}

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

static const struct service discord = {"Discord", "discord", discord_accepted,
                                       discord_error_text};
static const struct service slack = {"Slack", "slack", slack_accepted, slack_error_text};

/* The value is a URL the host may send to; https only, except to a loopback test server.
 * Nothing of the value is quoted: it is the credential. */
static const char *bad_url(const char *url)
{
    static const char *const loopback[] = {"http://127.0.0.1:", "http://127.0.0.1/",
                                           "http://localhost:", "http://localhost/",
                                           "http://[::1]:",     "http://[::1]/",
                                           NULL};

    if (strncmp(url, "https://", 8) == 0 && url[8] != '\0' && url[8] != '/')
        return strpbrk(url, " \t\r\n") != NULL ? "it holds a blank or a line break" : NULL;
    for (size_t i = 0; loopback[i] != NULL; i++)
        if (strncmp(url, loopback[i], strlen(loopback[i])) == 0)
            return NULL;
    return "it is not an https:// URL";
}

static void set_label(const relhost_ctx *ctx, const char *key, const char *value)
{
    if (RELHOST_HAS(pl_host, label_set) && pl_host->label_set != NULL)
        pl_host->label_set(ctx, key, value);
}

/* ---- delivery records ------------------------------------------------------------------- */

/* What the record of a target says. */
enum delivery { D_NONE, D_POSTED, D_UNKNOWN };

static enum delivery delivery_of(const char *rec)
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
static int record(const relhost_ctx *ctx, int t, const char *what, const char *why)
{
    char ts[32], value[320];
    utc_now(ts, sizeof ts);
    if (why != NULL)
        snprintf(value, sizeof value, "%s %s: %s", what, ts, why);
    else
        snprintf(value, sizeof value, "%s %s", what, ts);
    return pl_host->record_put(ctx, target_names[t], value);
}

/* ---- posting ----------------------------------------------------------------------------- */

/* How one post ended. */
enum post_result {
    POSTED = 0,        /* the service took it */
    NOT_DELIVERED = 1, /* proved not taken: a later run may post again */
    UNKNOWN = 2,       /* the service may have it: never posted again blindly */
};

/* How post() ends for NOT_DELIVERED ("failed", recorded "not_delivered") or UNKNOWN ("unknown",
 * recorded "unknown"), why being what the record keeps: res, or the record's failure. */
static int post_ended(const relhost_ctx *ctx, int t, const struct service *svc,
                      enum post_result res, const char *why)
{
    int rc;

    set_label(ctx, svc->label, res == UNKNOWN ? "unknown" : "failed");
    rc = record(ctx, t, res == UNKNOWN ? "unknown" : "not_delivered", why);
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
    pl_host->note_add(ctx, "%s: delivery unknown: the request was sent to the webhook in $%s, "
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
        pl_host->fail(ctx, "notify: the %s webhook answered HTTP %ld after %d attempt%s: %s; the "
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
static int post(const relhost_ctx *ctx, const struct notify *n, int t, const struct service *svc,
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
        pl_host->fail(ctx, "notify: $%s does not hold a usable %s webhook URL: %s (its value is "
                           "not shown: a webhook URL is a credential)",
                      env, svc->name, why);
        pl_host->note_add(ctx, "%s: not posted: $%s does not hold a usable webhook URL", svc->name,
                          env);
        set_label(ctx, svc->label, "failed");
        return NOT_DELIVERED;
    }
    pl_http_request_init(&req, "POST", url, headers);
    req.body = body;
    req.body_len = strlen(body);
    pl_http_limits(&req, &n->conf->http);
    req.at_most_once = 1;

    /* Durable before the request leaves: a kill during the POST leaves "sending", which the
     * next run reads as unknown rather than as never tried. */
    if ((rc = record(ctx, t, "sending", NULL)) != 0) {
        set_label(ctx, svc->label, "failed");
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
        pl_host->fail(ctx, "notify: the HTTP service returned neither a reply nor an error for the "
                           "%s webhook (a relhost bug)",
                      svc->name);
        return post_ended(ctx, t, svc, UNKNOWN, "no reply from the HTTP service");
    }
    if (!svc->accepted(resp))
        return post_refused(ctx, t, svc, env, resp, retryable);
    long status = resp->status;
    pl_host->http_response_free(resp);
    set_label(ctx, svc->label, "posted");
    if ((rc = record(ctx, t, "posted", NULL)) != 0)
        return rc; /* "sending" stays: the next run asks a person */
    pl_host->note_add(ctx, "posted to %s (HTTP %ld)", svc->name, status);
    return POSTED;
}

/* ---- describe / run ---------------------------------------------------------------------- */

static void note_truncation(const relhost_ctx *ctx, const struct notify *n)
{
    if (n->truncated)
        pl_host->note_add(ctx, "the message is %zu characters long (in UTF-16 units, as Discord "
                               "counts) and Discord takes %d: Discord gets it cut at a character "
                               "boundary, with an ellipsis (Slack gets all of it)",
                          n->units, DISCORD_MAX_CHARS);
}

static int has_records(void)
{
    return RELHOST_HAS(pl_host, record_put) && pl_host->record_get != NULL &&
           pl_host->record_put != NULL;
}

static int notify_describe(const relhost_ctx *ctx, void *inst)
{
    struct notify *n = inst;
    const char *envs[2] = {n->conf->discord_url_env, n->conf->slack_url_env};
    const struct service *svcs[2] = {&discord, &slack};
    int any = 0;

    for (int i = 0; i < 2; i++) {
        const char *rec = has_records() ? pl_host->record_get(ctx, target_names[i]) : NULL;
        if (pl_host->secret(ctx, envs[i]) == NULL) {
            pl_host->note_add(ctx, "%s: not configured ($%s is not set): nothing would be posted "
                                   "there",
                              svcs[i]->name, envs[i]);
            continue;
        }
        any = 1;
        if (delivery_of(rec) == D_POSTED) {
            pl_host->note_add(ctx, "%s: already posted in an earlier run (%s): would not post "
                                   "again",
                              svcs[i]->name, rec);
            continue;
        }
        pl_host->note_add(ctx, "would post to %s (webhook URL from $%s):\n%s", svcs[i]->name,
                          envs[i], i == 0 ? n->discord_text : n->conf->message);
    }
    if (!any)
        pl_host->note_add(ctx, "neither webhook is configured: the step would be SKIPPED "
                               "(not_configured); the message would be:\n%s",
                          n->conf->message);
    else if (pl_host->secret(ctx, envs[0]) != NULL)
        note_truncation(ctx, n);
    return 0;
}

/* The step's failure when a target's delivery is unknown: what to check, what to run. */
static void fail_unknown(const relhost_ctx *ctx, const int unknown[NTARGETS],
                         const char *const recs[NTARGETS])
{
    char names[64] = "", list[64] = "", seen[256] = "";
    const char *step = ctx->step != NULL ? ctx->step : "STEP";
    for (int t = 0; t < NTARGETS; t++) {
        static const char *const pretty[NTARGETS] = {"Discord", "Slack"};
        size_t l;
        if (!unknown[t])
            continue;
        l = strlen(names);
        snprintf(names + l, sizeof names - l, "%s%s", l ? " and " : "", pretty[t]);
        l = strlen(list);
        snprintf(list + l, sizeof list - l, "%s%s", l ? "," : "", target_names[t]);
        l = strlen(seen);
        snprintf(seen + l, sizeof seen - l, "%s%s: %s", l ? "; " : "", target_names[t],
                 recs[t] != NULL ? recs[t] : "unknown");
    }
    pl_host->fail(ctx,
                  "notify: delivery to %s is unknown (%s): the message may or may not be in "
                  "the channel, and relhost does not post it again blindly. Check the channel, "
                  "then either `relhost -c PLAN --step %s --set steps.%s.resend=%s` to post it "
                  "again, or `relhost -c PLAN --step %s --set steps.%s.delivered=%s` if it "
                  "arrived",
                  names, seen, step, step, list, step, step, list);
}

/* What notify_run() learns target by target. recs[t]: the record of target t (rec_copy[t],
 * owned), NULL when none. */
struct tally {
    const char *recs[NTARGETS];
    char *rec_copy[NTARGETS];
    int unknown[NTARGETS];
    int failed, all_retryable, posted, earlier, nunknown;
};

/* resend or delivered set for a target whose delivery is not unknown: say it changes nothing. */
static void note_ignored(const relhost_ctx *ctx, const struct notify *n, int i,
                         const struct service *svc)
{
    if (n->resend[i] || n->delivered[i])
        pl_host->note_add(ctx, "%s: %s = %s ignored: it applies only to a target whose delivery "
                               "is unknown",
                          svc->name, n->resend[i] ? "resend" : "delivered", target_names[i]);
}

/* What an earlier run recorded of target i (tl->recs[i]) and the plan's resend and delivered
 * make of it: 1 when that settles the target (counted in tl), 0 to post, negative when the
 * state could not record a person's confirmation. */
static int settled_earlier(const relhost_ctx *ctx, const struct notify *n, int i,
                           const struct service *svc, struct tally *tl)
{
    const char *rec = tl->recs[i];
    int rc;

    switch (delivery_of(rec)) {
    case D_POSTED:
        pl_host->note_add(ctx, "%s: already posted in an earlier run (%s): not posted again",
                          svc->name, rec);
        note_ignored(ctx, n, i, svc);
        set_label(ctx, svc->label, "posted");
        tl->posted++;
        tl->earlier++;
        return 1;
    case D_UNKNOWN:
        if (n->delivered[i]) {
            if ((rc = record(ctx, i, "posted", "confirmed by a person (delivered)")) < 0)
                return rc;
            pl_host->note_add(ctx, "%s: recorded as posted, as delivered = %s says (the earlier "
                                   "record: %s); not posted again",
                              svc->name, target_names[i], rec);
            set_label(ctx, svc->label, "posted");
            tl->posted++;
            return 1;
        }
        if (!n->resend[i]) {
            pl_host->note_add(ctx, "%s: delivery unknown since an earlier run (%s): not posted "
                                   "again until a person checks the channel (resend or "
                                   "delivered)",
                              svc->name, rec);
            set_label(ctx, svc->label, "unknown");
            tl->unknown[i] = 1;
            tl->nunknown++;
            return 1;
        }
        pl_host->note_add(ctx, "%s: posting again, as resend = %s asks (the earlier record: %s)",
                          svc->name, target_names[i], rec);
        return 0;
    case D_NONE:
        note_ignored(ctx, n, i, svc);
        return 0;
    }
    return 0;
}

/* Keep a copy of target i's record in tl (record_get's is borrowed until the next record_put). */
static void copy_record(const relhost_ctx *ctx, int i, struct tally *tl)
{
    const char *rec;

    free(tl->rec_copy[i]);
    rec = pl_host->record_get(ctx, target_names[i]);
    tl->rec_copy[i] = rec != NULL ? strdup(rec) : NULL;
    tl->recs[i] = tl->rec_copy[i];
}

/* Post to target i and count how it ended; negative: post()'s. */
static int deliver(const relhost_ctx *ctx, const struct notify *n, int i,
                   const struct service *svc, const char *env, const char *body, struct tally *tl)
{
    int retryable = 0;
    int rc = post(ctx, n, i, svc, env, body, &retryable);

    if (rc < 0)
        return rc;
    if (rc == POSTED) {
        tl->posted++;
    } else if (rc == UNKNOWN) {
        tl->unknown[i] = 1;
        tl->nunknown++;
        copy_record(ctx, i, tl);
    } else {
        tl->failed++;
        tl->all_retryable = tl->all_retryable && retryable;
    }
    return 0;
}

/* The step's verdict: an unknown delivery first (a person must look), then failures. */
static void judge(const relhost_ctx *ctx, const struct notify *n, const struct tally *tl,
                  relhost_verdict *out)
{
    pl_host->note_add(ctx, "the announcement:\n%s", n->conf->message);
    if (tl->nunknown > 0) {
        fail_unknown(ctx, tl->unknown, tl->recs);
        out->outcome = RELHOST_ERROR;
        out->reason = "delivery_unknown";
        out->retryable = 0;
    } else if (tl->failed == 0) {
        out->outcome = RELHOST_PASSED;
        out->reason = NULL;
        out->retryable = 0;
        if (tl->earlier == tl->posted)
            pl_host->note_add(ctx, "every configured webhook already had the message: nothing "
                                   "was posted");
    } else {
        out->outcome = RELHOST_ERROR;
        out->reason = "tool_error";
        out->retryable = tl->all_retryable;
    }
    if (tl->failed > 0 && tl->posted > 0)
        pl_host->note_add(ctx, "%d of %d webhooks have the message; a re-run posts only to the "
                               "other%s",
                          tl->posted, tl->posted + tl->failed + tl->nunknown,
                          tl->failed == 1 ? "" : "s");
}

static int notify_run(const relhost_ctx *ctx, void *inst, relhost_verdict *out)
{
    struct notify *n = inst;
    const char *envs[NTARGETS] = {n->conf->discord_url_env, n->conf->slack_url_env};
    const char *bodies[NTARGETS] = {n->discord_body, n->slack_body};
    const struct service *svcs[NTARGETS] = {&discord, &slack};
    struct tally tl = {.all_retryable = 1};
    int configured[NTARGETS];
    int rc = 0;

    for (int i = 0; i < NTARGETS; i++) {
        configured[i] = pl_host->secret(ctx, envs[i]) != NULL;
        if (!configured[i])
            set_label(ctx, svcs[i]->label, "not_configured");
    }
    if (!configured[0] && !configured[1]) {
        pl_host->note_add(ctx, "no webhook configured: set $%s and/or $%s to announce the release",
                          envs[0], envs[1]);
        pl_skip(out, "not_configured");
        return 0;
    }
    if ((rc = pl_need_http(ctx)) != 0)
        return rc;
    if (!has_records()) {
        pl_host->fail(ctx,
                      "notify: this relhost cannot record deliveries (record_get, record_put), "
                      "so a re-run could post the announcement twice: upgrade relhost, or make "
                      "the step optional until then");
        return RELHOST_ENOTSUP;
    }
    if (configured[0])
        note_truncation(ctx, n);
    for (int i = 0; i < NTARGETS; i++) {
        const char *rec;
        if (!configured[i])
            continue;
        rec = pl_host->record_get(ctx, target_names[i]);
        if (rec != NULL && (tl.rec_copy[i] = strdup(rec)) == NULL) {
            rc = RELHOST_ENOMEM;
            pl_host->fail(ctx, "notify: out of memory");
            break;
        }
        tl.recs[i] = tl.rec_copy[i];
        rc = settled_earlier(ctx, n, i, svcs[i], &tl);
        if (rc == 0)
            rc = deliver(ctx, n, i, svcs[i], envs[i], bodies[i], &tl);
        if (rc < 0)
            break;
        rc = 0;
    }
    if (rc >= 0)
        judge(ctx, n, &tl, out);
    for (int i = 0; i < NTARGETS; i++)
        free(tl.rec_copy[i]);
    return rc < 0 ? rc : 0;
}

const relhost_plugin pl_plugin = {
    PL_PLUGIN_BASE("notify", "1.1.0", notify_options, struct notify_conf),
    .description = "announce the release on Discord and/or Slack webhooks",
    .gate = &(const relhost_gate_ops){.struct_size = sizeof(relhost_gate_ops), .open = notify_open,
                                      .describe = notify_describe, .run = notify_run,
                                      .close = notify_close},
};
