/* SPDX-License-Identifier: MIT */
/*
 * http_int.h - what the files of the HTTP client (core/net/http*.c) share; not for other modules.
 *
 *   http.c           the API (http_request, responses) and the call loop: attempts, waits, messages
 *   http_rules.c     the retry table: curl codes and statuses classified, at_most_once, Retry-After
 *   http_check.c     request validation, credentials over plain http, loopback, redacted URLs
 *   http_transfer.c  libcurl: the multi handle served by the loop, easy handle setup, callbacks
 */
#ifndef RELHOST_HTTP_INT_H
#define RELHOST_HTTP_INT_H

#include "net/http.h"

#include "base/util.h"

#include <curl/curl.h>

#include <stddef.h>

/* One transfer in flight (one attempt of one call). */
struct xfer {
    CURL *easy;
    strbuf body;
    strvec headers; /* "name: value", names lower-cased, of the last response head */
    size_t cap;
    int too_big;
    int done;
    CURLcode result;
    char errbuf[CURL_ERROR_SIZE];
};

/* One call: the request and its limits, the defaults filled in. */
struct call {
    const relhost_http_request *req;
    const char *method;
    const char *prefix;
    char *shown;
    double connect_s, timeout_s, budget_s;
    int max_attempts;
    int at_most_once;
    size_t max_response;
    double t0;
};

/* A row of the retry table (http_rules.c, where the table explains itself). */
enum {
    RULE_RETRY = 1,  /* tried again within the call */
    RULE_UNSENT = 2, /* proves the server never got the request: at_most_once may resend */
};

struct curl_rule {
    CURLcode code;
    unsigned flags;
    int rc;
    const char *advice;
};

/* ---- http_check.c ---- */

/* The URL as it may be shown (heap): user:password@ masked, then every registered secret. */
char *http_url_shown(const char *url);
/* error_set() with the text passed through the redactor; returns code. */
int http_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Returns 0 or RELHOST_EINVAL (error set); shown is the redacted URL. */
int http_validate(const relhost_http_request *r, const char *method, const char *shown);

/* ---- http_rules.c ---- */

/* The retry table's row for a curl code (a catch-all row for codes it does not name). */
const struct curl_rule *http_curl_rule_of(CURLcode c);
/* Whether a failed attempt proves that the server never got the request. */
int http_never_sent(const struct xfer *x, const struct curl_rule *rule);
/* Exponential backoff with jitter before attempt + 1. */
double http_backoff(int attempt);
/* Seconds to wait before the next attempt after a retryable HTTP status, and why. */
double http_status_wait(const struct xfer *x, long status, int attempt, char *why, size_t whylen);

/* ---- http_transfer.c ---- */

/* Uniform in [0, 1), for jitter. */
double http_rand01(void);
/* The value of the last header called name (lower case) in h, or NULL. */
const char *http_header_of(const strvec *h, const char *name);
/* curl's text for a failed transfer (heap): the generic string plus the specific detail. */
char *http_curl_what(const struct xfer *x);
/* Options that stay the same for every attempt of the call; *hdrs is the caller's to free. */
int http_setup_easy(struct call *c, struct xfer *x, struct curl_slist **hdrs);
/* Timeouts of the next attempt: its own, cut to what is left of the budget. */
void http_set_attempt_timeouts(const struct call *c, CURL *e);
/* Forget the previous attempt's response. */
void http_xfer_reset(struct xfer *x);
/* Run one attempt of x, serving the loop until it ends: 0, RELHOST_EINTR when an interrupt
 * newer than intr0 arrives, or RELHOST_EIO with *mc set when curl refuses the transfer. */
int http_xfer_perform(struct xfer *x, int intr0, CURLMcode *mc);

#endif
