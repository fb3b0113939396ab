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
#include "notify.h"

#include "../common/pl_host.h"

#include "../common/pl_http.h"
#include "../common/pl_text.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OPT(f, t, ...) PL_OPT(struct notify_conf, f, t, __VA_ARGS__)
static const relhost_option notify_options[] = {
    OPT(discord_url_env, SECRET_ENV, .def = "DISCORD_WEBHOOK_URL",
        .doc = "environment variable holding the Discord webhook URL (unset: no Discord post)"),
    OPT(slack_url_env, SECRET_ENV, .def = "SLACK_WEBHOOK_URL",
        .doc = "environment variable holding the Slack webhook URL (unset: no Slack post)"),
    OPT(message, STRING, .def = "Released stable version v{version} \xF0\x9F\x8E\x89",
        .doc = "the announcement (Discord cuts it to 2000 characters)",
        .flags = RELHOST_OPTF_TEMPLATE),
    RELHOST_HTTP_OPTION_ROWS(struct notify_conf, http),
    OPT(resend, STRLIST,
        .doc =
            "targets (discord, slack) whose delivery is unknown to post to again, after checking "
            "the channel: give it for one run, --set steps.STEP.resend=slack"),
    OPT(delivered, STRLIST,
        .doc = "targets (discord, slack) whose delivery is unknown but whose channel has the "
               "message: recorded as posted, not posted again (--set steps.STEP.delivered=slack)"),
    {0}};
#undef OPT

/* ---- text ------------------------------------------------------------------------------- */

/* Bytes of the UTF-8 character starting with lead byte c (the text is valid UTF-8: jansson
 * accepted it at open). */
static size_t utf8_len(unsigned char c) { return c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4; }

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
                if (strlen(notify_target_names[t]) == len &&
                    strncmp(p, notify_target_names[t], len) == 0) {
                    want[t] = 1;
                    found = 1;
                }
            if (!found) {
                pl_host->fail(ctx,
                              "%s: %s: \"%.*s\" is not a target of this step; the targets "
                              "are discord and slack",
                              pl_where(ctx, l), opt, (int)(len > 64 ? 64 : len), p);
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
        pl_host->fail(ctx,
                      "%s: message is empty: Discord and Slack refuse an empty post; write "
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
            pl_host->fail(ctx,
                          "%s: %s is named by both resend and delivered: say either that it "
                          "arrived (delivered) or that it should be posted again (resend)",
                          pl_where(ctx, &c->resend), notify_target_names[t]);
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

static void notify_close(void *inst) { notify_free(inst); }

/* ---- describe / run ---------------------------------------------------------------------- */

static void note_truncation(const relhost_ctx *ctx, const struct notify *n)
{
    if (n->truncated)
        pl_host->note_add(ctx,
                          "the message is %zu characters long (in UTF-16 units, as Discord "
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
    const struct service *svcs[2] = {&notify_discord, &notify_slack};
    int any = 0;

    for (int i = 0; i < 2; i++) {
        const char *rec = has_records() ? pl_host->record_get(ctx, notify_target_names[i]) : NULL;
        if (pl_host->secret(ctx, envs[i]) == NULL) {
            pl_host->note_add(ctx,
                              "%s: not configured ($%s is not set): nothing would be posted "
                              "there",
                              svcs[i]->name, envs[i]);
            continue;
        }
        any = 1;
        if (notify_delivery_of(rec) == D_POSTED) {
            pl_host->note_add(ctx,
                              "%s: already posted in an earlier run (%s): would not post "
                              "again",
                              svcs[i]->name, rec);
            continue;
        }
        pl_host->note_add(ctx, "would post to %s (webhook URL from $%s):\n%s", svcs[i]->name,
                          envs[i], i == 0 ? n->discord_text : n->conf->message);
    }
    if (!any)
        pl_host->note_add(ctx,
                          "neither webhook is configured: the step would be SKIPPED "
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
        snprintf(list + l, sizeof list - l, "%s%s", l ? "," : "", notify_target_names[t]);
        l = strlen(seen);
        snprintf(seen + l, sizeof seen - l, "%s%s: %s", l ? "; " : "", notify_target_names[t],
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
        pl_host->note_add(ctx,
                          "%s: %s = %s ignored: it applies only to a target whose delivery "
                          "is unknown",
                          svc->name, n->resend[i] ? "resend" : "delivered", notify_target_names[i]);
}

/* What an earlier run recorded of target i (tl->recs[i]) and the plan's resend and delivered
 * make of it: 1 when that settles the target (counted in tl), 0 to post, negative when the
 * state could not record a person's confirmation. */
static int settled_earlier(const relhost_ctx *ctx, const struct notify *n, int i,
                           const struct service *svc, struct tally *tl)
{
    const char *rec = tl->recs[i];
    int rc;

    switch (notify_delivery_of(rec)) {
    case D_POSTED:
        pl_host->note_add(ctx, "%s: already posted in an earlier run (%s): not posted again",
                          svc->name, rec);
        note_ignored(ctx, n, i, svc);
        notify_label(ctx, svc->label, "posted");
        tl->posted++;
        tl->earlier++;
        return 1;
    case D_UNKNOWN:
        if (n->delivered[i]) {
            if ((rc = notify_record(ctx, i, "posted", "confirmed by a person (delivered)")) < 0)
                return rc;
            pl_host->note_add(ctx,
                              "%s: recorded as posted, as delivered = %s says (the earlier "
                              "record: %s); not posted again",
                              svc->name, notify_target_names[i], rec);
            notify_label(ctx, svc->label, "posted");
            tl->posted++;
            return 1;
        }
        if (!n->resend[i]) {
            pl_host->note_add(ctx,
                              "%s: delivery unknown since an earlier run (%s): not posted "
                              "again until a person checks the channel (resend or "
                              "delivered)",
                              svc->name, rec);
            notify_label(ctx, svc->label, "unknown");
            tl->unknown[i] = 1;
            tl->nunknown++;
            return 1;
        }
        pl_host->note_add(ctx, "%s: posting again, as resend = %s asks (the earlier record: %s)",
                          svc->name, notify_target_names[i], rec);
        return 0;
    case D_NONE: note_ignored(ctx, n, i, svc); return 0;
    }
    return 0;
}

/* Keep a copy of target i's record in tl (record_get's is borrowed until the next record_put). */
static void copy_record(const relhost_ctx *ctx, int i, struct tally *tl)
{
    const char *rec;

    free(tl->rec_copy[i]);
    rec = pl_host->record_get(ctx, notify_target_names[i]);
    tl->rec_copy[i] = rec != NULL ? strdup(rec) : NULL;
    tl->recs[i] = tl->rec_copy[i];
}

/* Post to target i and count how it ended; negative: notify_post()'s. */
static int deliver(const relhost_ctx *ctx, const struct notify *n, int i, const struct service *svc,
                   const char *env, const char *body, struct tally *tl)
{
    int retryable = 0;
    int rc = notify_post(ctx, n, i, svc, env, body, &retryable);

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
        pl_host->note_add(ctx,
                          "%d of %d webhooks have the message; a re-run posts only to the "
                          "other%s",
                          tl->posted, tl->posted + tl->failed + tl->nunknown,
                          tl->failed == 1 ? "" : "s");
}

static int notify_run(const relhost_ctx *ctx, void *inst, relhost_verdict *out)
{
    struct notify *n = inst;
    const char *envs[NTARGETS] = {n->conf->discord_url_env, n->conf->slack_url_env};
    const char *bodies[NTARGETS] = {n->discord_body, n->slack_body};
    const struct service *svcs[NTARGETS] = {&notify_discord, &notify_slack};
    struct tally tl = {.all_retryable = 1};
    int configured[NTARGETS];
    int rc = 0;

    for (int i = 0; i < NTARGETS; i++) {
        configured[i] = pl_host->secret(ctx, envs[i]) != NULL;
        if (!configured[i])
            notify_label(ctx, svcs[i]->label, "not_configured");
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
        rec = pl_host->record_get(ctx, notify_target_names[i]);
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
    .gate = PL_GATE_OPS(notify, .close = notify_close),
};
