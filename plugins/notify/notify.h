/* SPDX-License-Identifier: MIT */
/*
 * notify.h - private to the notify gate: shared by notify.c (options, message, open, describe,
 * run) and notify_post.c (the services, the delivery records, the POST).
 */
#ifndef RELHOST_PLUGIN_NOTIFY_H
#define RELHOST_PLUGIN_NOTIFY_H

#include <relhost/plugin.h>

#include <stddef.h>

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
extern const char *const notify_target_names[NTARGETS];

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

/* One webhook service: how to name it and how to read its answers. */
struct service {
    const char *name;
    const char *label;
    int (*accepted)(const relhost_http_response *r);
    void (*error_text)(const relhost_http_response *r, char *buf, size_t cap);
};

/* How one post ended. */
enum post_result {
    POSTED = 0,        /* the service took it */
    NOT_DELIVERED = 1, /* proved not taken: a later run may post again */
    UNKNOWN = 2,       /* the service may have it: never posted again blindly */
};

/* What the record of a target says. */
enum delivery { D_NONE, D_POSTED, D_UNKNOWN };

/* The two services. */
extern const struct service notify_discord, notify_slack;

/* What target t's record (rec, NULL: none) says. */
enum delivery notify_delivery_of(const char *rec);

/* Record "<what> <UTC>[: why]" for target t. 0, or the host's negative code (explained). */
int notify_record(const relhost_ctx *ctx, int t, const char *what, const char *why);

/* Set label key (a host without labels: nothing). */
void notify_label(const relhost_ctx *ctx, const char *key, const char *value);

/* POST body to target t's webhook (env: the variable holding its URL): a post_result, or
 * negative (see notify_post.c). */
int notify_post(const relhost_ctx *ctx, const struct notify *n, int t, const struct service *svc,
                const char *env, const char *body, int *retryable);

#endif
