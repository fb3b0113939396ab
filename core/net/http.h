/* SPDX-License-Identifier: MIT */
/*
 * http.h - the host's one HTTP client (libcurl), behind host->http_request.
 *
 * One curl multi handle, driven by the relhost loop: curl's sockets are loop_watch_fd() watchers
 * and curl's timer is the loop_once() timeout, so a request in flight, a backoff and a
 * Retry-After wait all keep serving signals and children. An interrupt counted after the call
 * began ends it with RELHOST_EINTR.
 *
 * Policy (the same for every plugin):
 *  - Auth by environment-variable name only: bearer_env -> "Authorization: Bearer <value>",
 *    basic_user + basic_env -> HTTP basic. Values are read through secrets_getenv(), so their
 *    raw, base64 and URL-encoded forms (and base64 of "user:password") are redacted everywhere.
 *  - Credentials (bearer_env, basic_env, an Authorization header, a user:password@ in the URL, or
 *    a URL or header holding a registered secret, like a webhook URL) go over plain http only to
 *    loopback (127.0.0.0/8, [::1], localhost, as written); otherwise the request is refused with
 *    RELHOST_EINVAL before anything is sent. Loopback plain http never goes through a proxy.
 *  - Only http and https; TLS verification is always on. The environment variable
 *    RELHOST_CA_BUNDLE names a PEM CA bundle to verify against instead of the system's (a private
 *    CA, a test server); there is no switch to turn verification off.
 *  - Redirects are not followed (a 3xx is returned with its location header): following them
 *    could carry credentials to another host.
 *  - Retries follow one table, "the retry table" (core/net/http_rules.c, relhost.cfg(5)): refused
 *    connections, timeouts, resets, truncated replies, an unresolved name, 5xx, 408, 429 and a
 *    403 with x-ratelimit-remaining: 0 are tried again with exponential backoff and jitter;
 *    Retry-After (seconds or HTTP-date) is honoured, and for 403/429 with
 *    x-ratelimit-remaining: 0, x-ratelimit-reset (epoch seconds; values below 10^9 are read as
 *    seconds from now). Other 4xx, TLS and certificate errors are returned at once. max_attempts
 *    and budget_s bound the whole call including waits; each attempt's timeout is also cut to
 *    what is left of the budget. When the next wait would pass the budget the call stops and
 *    returns the last response (0) or the last transport error.
 *  - at_most_once (ABI 1.4): sent again only when the failure proves the server never got the
 *    request (refused, not resolved, a failure before a byte of it was sent, 429); each attempt
 *    gets a fresh connection, so libcurl does not resend on a dead kept-alive one either. A
 *    failure after which the server may have received it returns RELHOST_ETIMEDOUT (below); a
 *    5xx or 408 is returned as the response, without resending.
 *  - The body is capped at max_response bytes (after decompression; a larger Content-Length
 *    fails before the body is read): past it the call fails with RELHOST_EIO "response larger
 *    than N bytes" and is not retried. libcurl bounds the headers itself.
 *  - A body with body_len 0 is taken as a NUL-terminated string. POST, PUT and PATCH without a
 *    body send an empty one (Content-Length: 0). No "Expect: 100-continue" round trip.
 *
 * Every message (error_last(), log lines) is redacted: URLs are printed through the redactor and
 * with any user:password@ part masked.
 */
#ifndef RELHOST_HTTP_H
#define RELHOST_HTTP_H

#include <relhost/plugin.h>

/** curl_global_init and the multi handle. Idempotent; http_request() calls it when needed.
 *  Returns 0 or RELHOST_EIO with error_last() set. */
int http_init(void);
/** Release the multi handle (closing kept-alive connections) and curl_global_cleanup. Call
 *  only when no request is in flight; http_init() may be called again afterwards. */
void http_fini(void);

/**
 * Perform req (fields as documented in relhost/plugin.h; 0 picks the default). log_prefix names
 * the caller in log lines ("plugin/step"), may be NULL.
 * Returns 0 whenever an HTTP response arrived, whatever its status: *out is then host-allocated,
 * release it with http_response_free(); judge its status with http_status_retryable(). Otherwise
 * *out is NULL and the return is
 *   RELHOST_ERETRY  a transient failure (refused, timed out, reset, truncated): retryable;
 *   RELHOST_EIO     a failure retrying won't fix (TLS, certificate, unresolved name, not HTTP, a
 *                   response past max_response, anything the table does not know);
 *   RELHOST_EINVAL  refused before sending (bad request, credentials over plain http, missing
 *                   credential variable, bad RELHOST_CA_BUNDLE);
 *   RELHOST_ETIMEDOUT  only with at_most_once: the request may have reached the server and no
 *                   usable reply came back (a timeout, reset or cut reply after sending, a reply
 *                   that is not HTTP or too large): delivery unknown, not retryable; with
 *                   at_most_once every other failure proves the server never got the request;
 *   RELHOST_ENOMEM, or RELHOST_EINTR (interrupted).
 * Only RELHOST_ERETRY is retryable. error_last() says what failed, on which URL (redacted), after
 * how many attempts, and what to do.
 */
int http_request(const relhost_http_request *req, const char *log_prefix,
                 relhost_http_response **out);
/** 1 when a response with this status (and headers, "name: value", may be NULL) is worth trying
 *  again later: 5xx, 408, 429, and 403 with x-ratelimit-remaining: 0. The retry table's HTTP
 *  rows; plugins/common/pl_http.c carries the same rows for plugins (a test holds them equal). */
int http_status_retryable(long status, const char *const *headers);
/** 1 when credentials may be sent to url: https, or plain http to a loopback host
 *  (127.0.0.0/8 as a dotted quad, [::1], localhost). */
int http_plain_ok(const char *url);
/** Free a response from http_request(); NULL is fine. */
void http_response_free(relhost_http_response *resp);

#endif
