/* SPDX-License-Identifier: MIT */
/* The HTTP client's API and its call loop: attempts, waits between them, the messages a call ends
 * with. The retry table is in http_rules.c, request checks in http_check.c, libcurl in
 * http_transfer.c. */
#include "net/http.h"
#include "net/http_int.h"

#include "base/error.h"
#include "base/log.h"
#include "base/util.h"
#include "run/loop.h"

#include <curl/curl.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HTTP_DEF_CONNECT_S 10.0
#define HTTP_DEF_TIMEOUT_S 60.0
#define HTTP_DEF_ATTEMPTS 4
#define HTTP_DEF_BUDGET_S 300.0
#define HTTP_DEF_MAX_RESPONSE ((size_t)16 << 20)
/* An attempt that would get less time than this from the budget is not started. */
#define HTTP_MIN_ATTEMPT_S 0.1

/* What a response looks like to its owner: the public struct first, so the plugin's pointer is
 * also ours. */
struct http_resp {
    relhost_http_response pub;
    strvec headers;
};

static const char *const no_headers[] = {NULL};

/* Serve the loop for `secs`; RELHOST_EINTR when an interrupt newer than intr0 arrives. */
static int wait_for(double secs, int intr0)
{
    double until = loop_now() + secs;
    for (;;) {
        double left = until - loop_now();
        if (loop_interrupted() > intr0)
            return RELHOST_EINTR;
        if (left <= 0)
            return 0;
        loop_once(left);
    }
}

static relhost_http_response *take_response(struct xfer *x, long status, int attempts)
{
    struct http_resp *r = xcalloc(1, sizeof *r);
    r->pub.struct_size = sizeof r->pub;
    r->pub.status = status;
    r->pub.body_len = x->body.len;
    r->pub.body = sb_take(&x->body);
    r->headers = x->headers;
    memset(&x->headers, 0, sizeof x->headers);
    r->pub.headers = r->headers.v ? (const char *const *)r->headers.v : no_headers;
    r->pub.attempts = attempts;
    return &r->pub;
}

void http_response_free(relhost_http_response *resp)
{
    struct http_resp *r = (struct http_resp *)resp;
    if (!r)
        return;
    free(r->pub.body);
    sv_free(&r->headers);
    free(r);
}

/* The message for an at_most_once call whose request the server may have received. */
static int maybe_delivered(const struct call *c, int attempts, const char *what)
{
    http_fail(RELHOST_ETIMEDOUT,
              "%s %s failed after %d attempt%s in %.1f s: %s; the server may have "
              "received it, so it is not sent again (at_most_once): check whether it took effect "
              "before sending it again",
              c->method, c->shown, attempts, attempts == 1 ? "" : "s", loop_now() - c->t0, what);
    return RELHOST_ETIMEDOUT;
}

/* The message for a call that ends on a transport failure; returns the table's code. */
static int transport_failure(const struct call *c, const struct xfer *x, int attempts,
                             const char *stopped)
{
    const struct curl_rule *rule = http_curl_rule_of(x->result);
    char *what = http_curl_what(x);
    http_fail(rule->rc, "%s %s failed after %d attempt%s in %.1f s%s: %s; %s", c->method, c->shown,
              attempts, attempts == 1 ? "" : "s", loop_now() - c->t0, stopped ? stopped : "", what,
              rule->advice);
    free(what);
    return rule->rc;
}

/* One attempt, logged at verbosity 1: 0, or the error the call ends with. */
static int one_attempt(const struct call *c, struct xfer *x, int attempt, int intr0, long *status)
{
    double ta = loop_now();
    CURLMcode mc;
    int rc;

    http_xfer_reset(x);
    http_set_attempt_timeouts(c, x->easy);
    rc = http_xfer_perform(x, intr0, &mc);
    if (rc == RELHOST_EIO)
        return http_fail(RELHOST_EIO,
                         "%s %s: cannot start the transfer: %s; this is a relhost "
                         "bug",
                         c->method, c->shown, curl_multi_strerror(mc));
    if (rc == RELHOST_EINTR) {
        http_fail(rc, "%s %s: interrupted during attempt %d", c->method, c->shown, attempt);
        return rc;
    }
    if (x->result == CURLE_OK)
        curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, status);
    if (log_verbosity() >= 1) {
        char *what = x->result == CURLE_OK ? xasprintf("HTTP %ld", *status) : http_curl_what(x);
        log_msg(RELHOST_LOG_DEBUG, c->prefix, "%s %s -> %s in %.2f s (attempt %d/%d)", c->method,
                c->shown, what, loop_now() - ta, attempt, c->max_attempts);
        free(what);
    }
    return 0;
}

/* Judge a finished attempt by the retry table: 1 when the call ends with it (*rc set, and *out
 * for a response), 0 when it is worth another attempt after *wait seconds, for the reason in
 * why. */
static int judge_attempt(const struct call *c, struct xfer *x, int attempt, long status,
                         double *wait, char *why, size_t whylen, relhost_http_response **out,
                         int *rc)
{
    if ((x->too_big || x->result == CURLE_FILESIZE_EXCEEDED) && c->at_most_once) {
        char *what = xasprintf("response larger than %zu bytes (max_response)", c->max_response);
        *rc = maybe_delivered(c, attempt, what);
        free(what);
        return 1;
    }
    if (x->too_big || x->result == CURLE_FILESIZE_EXCEEDED) {
        *rc = http_fail(RELHOST_EIO,
                        "%s %s: response larger than %zu bytes (max_response); "
                        "raise max_response or ask for less (paging, filters)",
                        c->method, c->shown, c->max_response);
        return 1;
    }
    if (x->result != CURLE_OK) {
        const struct curl_rule *rule = http_curl_rule_of(x->result);
        char *what;
        if (c->at_most_once && !http_never_sent(x, rule)) {
            what = http_curl_what(x);
            *rc = maybe_delivered(c, attempt, what);
            free(what);
            return 1;
        }
        if (!(rule->flags & RULE_RETRY)) {
            *rc = transport_failure(c, x, attempt, NULL);
            return 1;
        }
        *wait = http_backoff(attempt);
        what = http_curl_what(x);
        snprintf(why, whylen, "%s", what);
        free(what);
        return 0;
    }
    if (http_status_retryable(status, (const char *const *)x->headers.v) &&
        (!c->at_most_once || status == 429)) {
        /* With at_most_once only a 429 proves the request was not acted on. */
        *wait = http_status_wait(x, status, attempt, why, whylen);
        return 0;
    }
    *out = take_response(x, status, attempt);
    *rc = 0;
    return 1;
}

/* Whether the call stops instead of waiting `wait` for another attempt: max_attempts reached,
 * or the wait would pass the budget. Then 1, with *rc set (and *out: the last response). */
static int give_up(const struct call *c, struct xfer *x, int attempt, long status, double wait,
                   const char *why, relhost_http_response **out, int *rc)
{
    double elapsed = loop_now() - c->t0;
    char stop[160];

    if (attempt >= c->max_attempts)
        snprintf(stop, sizeof stop, " (max_attempts=%d reached)", c->max_attempts);
    else if (elapsed + wait + HTTP_MIN_ATTEMPT_S > c->budget_s)
        snprintf(stop, sizeof stop, " (waiting %.1f s more would pass budget_s=%g)", wait,
                 c->budget_s);
    else
        return 0;
    if (x->result != CURLE_OK) {
        *rc = transport_failure(c, x, attempt, stop);
    } else {
        log_msg(RELHOST_LOG_WARN, c->prefix, "%s %s: %s; giving up after %d attempt%s%s", c->method,
                c->shown, why, attempt, attempt == 1 ? "" : "s", stop);
        *out = take_response(x, status, attempt);
        *rc = 0;
    }
    return 1;
}

static int run_call(struct call *c, struct xfer *x, relhost_http_response **out)
{
    int intr0 = loop_interrupted();
    struct curl_slist *hdrs = NULL;
    int rc, attempt;

    rc = http_setup_easy(c, x, &hdrs);
    if (rc != 0)
        goto done;
    for (attempt = 1;; attempt++) {
        long status = 0;
        double wait = 0;
        char why[512];

        rc = one_attempt(c, x, attempt, intr0, &status);
        if (rc != 0)
            goto done;
        if (judge_attempt(c, x, attempt, status, &wait, why, sizeof why, out, &rc) ||
            give_up(c, x, attempt, status, wait, why, out, &rc))
            goto done;
        log_msg(RELHOST_LOG_WARN, c->prefix, "%s %s: %s; retrying in %.1f s (attempt %d/%d)",
                c->method, c->shown, why, wait, attempt + 1, c->max_attempts);
        rc = wait_for(wait, intr0);
        if (rc == RELHOST_EINTR) {
            http_fail(rc, "%s %s: interrupted while waiting to retry (after %d attempt%s)",
                      c->method, c->shown, attempt, attempt == 1 ? "" : "s");
            goto done;
        }
    }
done:
    curl_slist_free_all(hdrs);
    return rc;
}

int http_request(const relhost_http_request *in, const char *log_prefix,
                 relhost_http_response **out)
{
    relhost_http_request r;
    struct call c;
    struct xfer x;
    int rc;

    if (out)
        *out = NULL;
    if (!in || !out || in->struct_size == 0)
        return error_set(RELHOST_EINVAL, "http_request: no request, no struct_size or no out "
                                         "pointer; this is a plugin bug");
    /* A plugin built against an older header passes a shorter struct: the rest reads as 0. */
    memset(&r, 0, sizeof r);
    memcpy(&r, in, in->struct_size < sizeof r ? in->struct_size : sizeof r);
    if (!r.url || !*r.url)
        return error_set(RELHOST_EINVAL, "http_request: no URL given; this is a plugin bug");

    memset(&c, 0, sizeof c);
    c.req = &r;
    c.method = r.method && *r.method ? r.method : "GET";
    c.prefix = log_prefix ? log_prefix : "http";
    c.shown = http_url_shown(r.url);
    c.connect_s = r.connect_timeout_s > 0 ? r.connect_timeout_s : HTTP_DEF_CONNECT_S;
    c.timeout_s = r.timeout_s > 0 ? r.timeout_s : HTTP_DEF_TIMEOUT_S;
    c.budget_s = r.budget_s > 0 ? r.budget_s : HTTP_DEF_BUDGET_S;
    c.max_attempts = r.max_attempts > 0 ? r.max_attempts : HTTP_DEF_ATTEMPTS;
    c.max_response = r.max_response > 0 ? r.max_response : HTTP_DEF_MAX_RESPONSE;
    c.at_most_once = r.at_most_once != 0;
    c.t0 = loop_now();

    rc = http_validate(&r, c.method, c.shown);
    if (rc == 0)
        rc = http_init();
    if (rc != 0) {
        free(c.shown);
        return rc;
    }

    memset(&x, 0, sizeof x);
    x.cap = c.max_response;
    sb_init(&x.body);
    x.easy = curl_easy_init();
    if (!x.easy) {
        rc = http_fail(RELHOST_ENOMEM, "%s %s: cannot create a transfer (curl_easy_init failed)",
                       c.method, c.shown);
    } else {
        rc = run_call(&c, &x, out);
        curl_easy_cleanup(x.easy);
    }
    sb_free(&x.body);
    sv_free(&x.headers);
    free(c.shown);
    return rc;
}
