/* SPDX-License-Identifier: MIT */
/*
 * notify.c - the announce gate: post the release message to a Discord and/or a Slack webhook.
 *
 * A webhook URL is a credential (anyone holding it can post to the channel), so the plan names
 * only the environment variables that hold the URLs; the value goes from host->secret() straight
 * into the request and is never formatted into a message, a note or a log line. The message is a
 * template option: {version}, {commit}, {step}... are expanded by the host before open().
 *
 * Every configured service is tried, even after another one failed: an announcement that reaches
 * one channel is better than none. The step PASSES only when every configured service took the
 * message; a re-run after a failure posts again to the services that had succeeded (a webhook
 * offers no way to ask "did I already post this?").
 *
 *   Discord: POST {"content": msg} (cut to 2000 characters), success 2xx (204, or 200 with
 *            ?wait=true); errors {"message", "code"}
 *   Slack:   POST {"text": msg}, success 200 with the body "ok"; errors are plain words
 *            (invalid_payload, channel_not_found...)
 *   429 and 5xx are retried by the host (Retry-After honoured); still failing -> ERROR retryable.
 *   Other 4xx -> ERROR, not retryable. Neither URL set -> SKIPPED not_configured.
 */
#include <relhost/plugin.h>

#include "../common/pl_text.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Discord's limit on `content`. Counted in UTF-16 code units, which is never less than the
 * number of code points: whichever of the two Discord counts, the cut message fits. */
#define DISCORD_MAX_CHARS 2000
#define NOTIFY_TEXT_MAX 200

struct notify_conf {
    const char *discord_url_env;
    const char *slack_url_env;
    const char *message;
    double timeout;
    double retry_budget;
};

struct notify {
    const struct notify_conf *conf;
    char *discord_text; /* the message as Discord gets it (cut when too long) */
    char *discord_body; /* {"content": discord_text} */
    char *slack_body;   /* {"text": message} */
    size_t units;       /* length of the message in UTF-16 code units */
    int truncated;
};

/* Kept from the entry: valid while the plugin is loaded, and the same for every instance. */
static const relhost_host *host;

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
    {.name = "timeout",
     .type = RELHOST_OPT_DURATION,
     .def = "30s",
     .offset = offsetof(struct notify_conf, timeout),
     .doc = "time one HTTP attempt may take",
     .min = 0.1,
     .max = 3600},
    {.name = "retry_budget",
     .type = RELHOST_OPT_DURATION,
     .def = "2m",
     .offset = offsetof(struct notify_conf, retry_budget),
     .doc = "time one post may take with the host's retries and Retry-After waits",
     .min = 0.1,
     .max = 86400},
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

static int notify_open(const relhost_ctx *ctx, const void *conf, void **inst)
{
    const struct notify_conf *c = conf;
    const char *w = host->where != NULL ? host->where(ctx, &c->message) : "the plan";
    struct notify *n;
    json_t *probe;

    if (c->message == NULL || c->message[0] == '\0') {
        host->fail(ctx, "%s: message is empty: Discord and Slack refuse an empty post; write "
                        "the announcement, e.g. message = \"Released v{version}\"",
                   w);
        return RELHOST_EINVAL;
    }
    /* Webhooks take JSON, which takes UTF-8 only: refuse here, not at the end of a release. */
    probe = json_string(c->message);
    if (probe == NULL) {
        host->fail(ctx, "%s: message is not valid UTF-8: save the plan as UTF-8", w);
        return RELHOST_EINVAL;
    }
    json_decref(probe);

    n = calloc(1, sizeof *n);
    if (n == NULL)
        goto oom;
    n->conf = c;
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
    host->fail(ctx, "notify: out of memory");
    return RELHOST_ENOMEM;
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
    if (RELHOST_HAS(host, label_set) && host->label_set != NULL)
        host->label_set(ctx, key, value);
}

enum { POSTED = 0, POST_FAILED = 1 };

/* POST body to the service's webhook. POSTED, or POST_FAILED with *retryable set and the reason
 * in host->fail() (the step's message is the last failure's); negative: RELHOST_EINTR. */
static int post(const relhost_ctx *ctx, const struct notify *n, const struct service *svc,
                const char *env, const char *body, int *retryable)
{
    static const char *const headers[] = {"Content-Type: application/json", NULL};
    relhost_http_request req;
    relhost_http_response *resp = NULL;
    const char *url = host->secret(ctx, env);
    const char *why;
    char detail[512];
    int attempts, rc;

    *retryable = 0;
    if (url == NULL) { /* the caller checked; only a host bug gets here */
        host->fail(ctx, "notify: $%s is not set", env);
        return POST_FAILED;
    }
    if ((why = bad_url(url)) != NULL) {
        host->fail(ctx, "notify: $%s does not hold a usable %s webhook URL: %s (its value is "
                        "not shown: a webhook URL is a credential)",
                   env, svc->name, why);
        host->note_add(ctx, "%s: not posted: $%s does not hold a usable webhook URL", svc->name,
                       env);
        set_label(ctx, svc->label, "failed");
        return POST_FAILED;
    }
    memset(&req, 0, sizeof req);
    req.struct_size = sizeof req;
    req.method = "POST";
    req.url = url;
    req.headers = headers;
    req.body = body;
    req.body_len = strlen(body);
    req.timeout_s = n->conf->timeout;
    req.connect_timeout_s = n->conf->timeout < 10 ? n->conf->timeout : 10;
    req.budget_s = n->conf->retry_budget;

    host->log(ctx, RELHOST_LOG_DEBUG, "posting the announcement to %s ($%s)", svc->name, env);
    rc = host->http_request(ctx, &req, &resp);
    if (rc < 0 && resp != NULL)
        host->http_response_free(resp);
    if (rc == RELHOST_EINTR)
        return RELHOST_EINTR;
    if (rc < 0) {
        /* The host's fail() text says what went wrong on the wire; it stays the message. */
        *retryable = rc != RELHOST_EINVAL && rc != RELHOST_ENOTSUP && rc != RELHOST_ENOMEM;
        host->note_add(ctx, "%s: not posted: no usable reply from the webhook in $%s", svc->name,
                       env);
        set_label(ctx, svc->label, "failed");
        return POST_FAILED;
    }
    if (resp == NULL) {
        host->fail(ctx, "notify: the HTTP service returned neither a reply nor an error for the "
                        "%s webhook (a relhost bug)",
                   svc->name);
        set_label(ctx, svc->label, "failed");
        return POST_FAILED;
    }
    attempts = RELHOST_HAS(resp, attempts) && resp->attempts > 0 ? resp->attempts : 1;
    if (svc->accepted(resp)) {
        host->note_add(ctx, "posted to %s (HTTP %ld)", svc->name, resp->status);
        set_label(ctx, svc->label, "posted");
        host->http_response_free(resp);
        return POSTED;
    }
    svc->error_text(resp, detail, sizeof detail);
    *retryable = resp->status == 429 || resp->status >= 500;
    if (*retryable) {
        host->fail(ctx, "notify: the %s webhook answered HTTP %ld after %d attempt%s: %s; the "
                        "step is retried on the next run",
                   svc->name, resp->status, attempts, attempts == 1 ? "" : "s", detail);
    } else {
        /* 401/403/404/410: the webhook was deleted or the URL is wrong, not the message; a
         * redirect is not followed (it would carry the URL's credential elsewhere). */
        int gone = resp->status == 401 || resp->status == 403 || resp->status == 404 ||
                   resp->status == 410;
        int moved = resp->status >= 300 && resp->status < 400;
        host->fail(ctx, "notify: the %s webhook refused the announcement: HTTP %ld: %s%s%s",
                   svc->name, resp->status, detail,
                   gone    ? "; check the webhook URL in $"
                   : moved ? "; relhost follows no redirect: put the final URL in $"
                           : "",
                   gone || moved ? env : "");
    }
    host->note_add(ctx, "%s: not posted: HTTP %ld: %s", svc->name, resp->status, detail);
    set_label(ctx, svc->label, "failed");
    host->http_response_free(resp);
    return POST_FAILED;
}

/* ---- describe / run ---------------------------------------------------------------------- */

static void note_truncation(const relhost_ctx *ctx, const struct notify *n)
{
    if (n->truncated)
        host->note_add(ctx, "the message is %zu characters long (in UTF-16 units, as Discord "
                            "counts) and Discord takes %d: Discord gets it cut at a character "
                            "boundary, with an ellipsis (Slack gets all of it)",
                       n->units, DISCORD_MAX_CHARS);
}

static int notify_describe(const relhost_ctx *ctx, void *inst)
{
    struct notify *n = inst;
    const char *envs[2] = {n->conf->discord_url_env, n->conf->slack_url_env};
    const struct service *svcs[2] = {&discord, &slack};
    int any = 0;

    for (int i = 0; i < 2; i++) {
        if (host->secret(ctx, envs[i]) == NULL) {
            host->note_add(ctx, "%s: not configured ($%s is not set): nothing would be posted "
                                "there",
                           svcs[i]->name, envs[i]);
            continue;
        }
        any = 1;
        host->note_add(ctx, "would post to %s (webhook URL from $%s):\n%s", svcs[i]->name,
                       envs[i], i == 0 ? n->discord_text : n->conf->message);
    }
    if (!any)
        host->note_add(ctx, "neither webhook is configured: the step would be SKIPPED "
                            "(not_configured); the message would be:\n%s",
                       n->conf->message);
    else if (host->secret(ctx, envs[0]) != NULL)
        note_truncation(ctx, n);
    return 0;
}

static int notify_run(const relhost_ctx *ctx, void *inst, relhost_verdict *out)
{
    struct notify *n = inst;
    const char *envs[2] = {n->conf->discord_url_env, n->conf->slack_url_env};
    const char *bodies[2] = {n->discord_body, n->slack_body};
    const struct service *svcs[2] = {&discord, &slack};
    int configured[2];
    int failed = 0, all_retryable = 1, posted = 0;

    for (int i = 0; i < 2; i++) {
        configured[i] = host->secret(ctx, envs[i]) != NULL;
        if (!configured[i])
            set_label(ctx, svcs[i]->label, "not_configured");
    }
    if (!configured[0] && !configured[1]) {
        host->note_add(ctx, "no webhook configured: set $%s and/or $%s to announce the release",
                       envs[0], envs[1]);
        out->outcome = RELHOST_SKIPPED;
        out->reason = "not_configured";
        out->retryable = 0;
        return 0;
    }
    if (!RELHOST_HAS(host, http_response_free) || host->http_request == NULL ||
        host->http_response_free == NULL) {
        host->fail(ctx, "notify: this relhost has no HTTP service (http_request): upgrade "
                        "relhost, or make the step optional until then");
        return RELHOST_ENOTSUP;
    }
    if (configured[0])
        note_truncation(ctx, n);
    for (int i = 0; i < 2; i++) {
        int retryable = 0;
        int rc;
        if (!configured[i])
            continue;
        rc = post(ctx, n, svcs[i], envs[i], bodies[i], &retryable);
        if (rc < 0)
            return rc;
        if (rc == POSTED) {
            posted++;
        } else {
            failed++;
            all_retryable = all_retryable && retryable;
        }
    }
    host->note_add(ctx, "the announcement:\n%s", n->conf->message);
    if (failed == 0) {
        out->outcome = RELHOST_PASSED;
        out->reason = NULL;
        out->retryable = 0;
        return 0;
    }
    if (posted > 0)
        host->note_add(ctx, "%d of %d webhooks took the message; a re-run posts it to every "
                            "configured webhook again",
                       posted, posted + failed);
    out->outcome = RELHOST_ERROR;
    out->reason = "tool_error";
    out->retryable = all_retryable;
    return 0;
}

static const relhost_gate_ops notify_gate = {
    .struct_size = sizeof(relhost_gate_ops),
    .open = notify_open,
    .describe = notify_describe,
    .run = notify_run,
    .close = notify_close,
};

static const relhost_plugin notify_plugin = {
    RELHOST_PLUGIN_HEADER,
    .name = "notify",
    .version = "1.0.0",
    .description = "announce the release on Discord and/or Slack webhooks",
    .options = notify_options,
    .option_size = sizeof(relhost_option),
    .conf_size = sizeof(struct notify_conf),
    .gate = &notify_gate,
};

RELHOST_EXPORT int relhost_plugin_entry(const relhost_host *h, const relhost_plugin **out)
{
    host = h;
    *out = &notify_plugin;
    return 0;
}
