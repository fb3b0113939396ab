/* SPDX-License-Identifier: MIT */
/*
 * host_record.c - the delivery records of the host table (record_get, record_put): small
 * key/value strings a step keeps for its release, e.g. which webhook targets it already posted
 * to, so a re-run never repeats a side effect it knows happened.
 *
 * They live in the release state at steps.<step>.records.<key> = "value". record_put() journals
 * the change and flushes it (write + fdatasync) before it returns, so a kill right after the
 * side effect it records still finds the record on the next run. The pipeline carries the
 * records over when it rewrites a step's record at the step's end (record_write_step()), so
 * they survive re-runs of the step and --rerun; a new candidate (--new-candidate) drops them
 * with every other step record, as results of one commit never count for another.
 *
 * Values are stored as given (the state is written as is): a key or value that holds a
 * registered secret in any form is refused, never stored.
 */
#include "base/error.h"
#include "base/secrets.h"
#include "base/util.h"
#include "record/record.h"
#include "record/record_write.h"
#include "record/state.h"
#include "run/host.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define RECORD_KEY_MAX 128
#define RECORD_VALUE_MAX 1024

static hostctx *hc_of(const relhost_ctx *ctx) { return ctx ? (hostctx *)ctx->host_private : NULL; }

/* 1 when s is 1..max bytes of printable text: no control character (UTF-8 is judged by jansson). */
static int printable(const char *s, size_t max)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > max)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return 0;
    return 1;
}

static int utf8_ok(const char *s)
{
    json_t *probe = json_string(s);
    json_decref(probe);
    return probe != NULL;
}

/* 1 when s holds a registered secret in any form the redactor knows. */
static int holds_secret(const char *s)
{
    char *r = secrets_redact_dup(s);
    int differs = r == NULL || strcmp(r, s) != 0;
    free(r);
    return differs;
}

const char *host_record_get(const relhost_ctx *ctx, const char *key)
{
    hostctx *hc = hc_of(ctx);
    if (!hc || !hc->state || !ctx->step || !key || !*key)
        return NULL;
    return record_step_delivery(state_root(hc->state), ctx->step, key);
}

int host_record_put(const relhost_ctx *ctx, const char *key, const char *value)
{
    hostctx *hc = hc_of(ctx);
    int rc;
    if (!hc)
        return RELHOST_EINVAL;
    if (!hc->state || !ctx->step) {
        hostctx_fail(hc, "record_put: delivery records are kept only while a step runs in a "
                         "release (not under --check, describe or open); nothing was recorded");
        return RELHOST_ENOTSUP;
    }
    if (!printable(key, RECORD_KEY_MAX) || !printable(value, RECORD_VALUE_MAX) || !utf8_ok(key)) {
        char *m = xasprintf("record_put: step %s: the record's key must be 1 to %d and its value "
                            "1 to %d bytes of printable UTF-8 text (a plugin bug); nothing was "
                            "recorded",
                            ctx->step, RECORD_KEY_MAX, RECORD_VALUE_MAX);
        hostctx_fail(hc, m);
        free(m);
        return RELHOST_EINVAL;
    }
    if (holds_secret(key) || holds_secret(value)) {
        char *m = xasprintf("record_put: step %s: the record would hold a secret (a plugin bug: "
                            "records are stored as they are); nothing was recorded",
                            ctx->step);
        hostctx_fail(hc, m);
        free(m);
        return RELHOST_EINVAL;
    }
    if (!utf8_ok(value)) {
        char *m = xasprintf("record_put: step %s: the value of record %s is not valid UTF-8 (a "
                            "plugin bug); nothing was recorded",
                            ctx->step, key);
        hostctx_fail(hc, m);
        free(m);
        return RELHOST_EINVAL;
    }
    /* Durable before it returns: the caller acts on it (or has just acted) and a kill may
     * follow at once. */
    if ((rc = record_write_step_delivery(hc->state, ctx->step, key, value)) != 0) {
        char *m = xasprintf("record_put: step %s, record %s: the release state cannot be "
                            "written: %s; the delivery is not recorded: free disk space or fix "
                            "the state folder's permissions, then run again",
                            ctx->step, key, error_last());
        hostctx_fail(hc, m);
        free(m);
        return rc == RELHOST_EINVAL ? RELHOST_EINVAL : RELHOST_EIO;
    }
    return 0;
}
