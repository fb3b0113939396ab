/* SPDX-License-Identifier: MIT */
/*
 * pl_http.h - how an HTTP plugin judges what host->http_request gave it: one rule for asana,
 * github, metrics_wandb and notify, the plugin side of "the retry table" (core/net/http.c,
 * relhost.cfg(5)). Compiled into each plugin that lists pl_http.c (and pl_text.c) in its SOURCES.
 *
 * The rule:
 *   - http_request returned RELHOST_EINTR: return it at once (relhost is stopping; no verdict).
 *   - returned RELHOST_ERETRY: ERROR, reason tool_error, retryable (the release is deferred,
 *     exit 75). The host's fail() text is the step's message; add a note naming what was asked.
 *   - returned any other negative code (RELHOST_EIO: TLS, certificate, unresolved name, not HTTP,
 *     too large, unknown; RELHOST_EINVAL: refused before sending, e.g. credentials over plain
 *     http; RELHOST_ENOMEM...): ERROR, tool_error, NOT retryable (exit 3).
 *   - returned 0 with a status pl_http_status_retryable() accepts (5xx, 408, 429, 403 with
 *     x-ratelimit-remaining: 0, after the host's own retries): ERROR, retryable.
 *   - returned 0 with any other status the plugin does not expect: ERROR, not retryable.
 *   - a 2xx whose body is not what the plugin reads (empty, not JSON, another shape): ERROR,
 *     tool_error, not retryable, with pl_http_unreadable()'s text: the same reply would come
 *     again. A metrics source returns RELHOST_ERETRY for "retryable" and RELHOST_EINVAL for "not
 *     retryable" from collect().
 */
#ifndef RELHOST_PL_HTTP_H
#define RELHOST_PL_HTTP_H

#include <relhost/plugin.h>

#include <stddef.h>

/* A request with nothing set but its size, method, url and headers (borrowed: they must outlive
 * the http_request call). */
void pl_http_request_init(relhost_http_request *req, const char *method, const char *url,
                          const char *const *headers);

/* Fill req's timeout_s, connect_timeout_s (the timeout, at most 10 s) and budget_s from the
 * plugin's HTTP option group (RELHOST_HTTP_OPTION_ROWS in plugin.h). */
void pl_http_limits(relhost_http_request *req, const relhost_http_options *opts);

/* 1 when http_request's failure rc may pass on a later run: rc == RELHOST_ERETRY, nothing else. */
int pl_http_rc_retryable(int rc);
/* 1 when a response's status is worth trying again later: 5xx, 408, 429, and 403 with
 * x-ratelimit-remaining: 0 (the rows of http_status_retryable() in core/net/http.c). */
int pl_http_status_retryable(const relhost_http_response *r);
/* The value of response header `name` (lower case), or NULL. */
const char *pl_http_header(const relhost_http_response *r, const char *name);
/* One line for a 2xx reply whose body the plugin cannot read, into buf (cap bytes):
 *   the reply to METHOD URL (HTTP 200, N bytes) IS; it begins "..."
 * where IS says what is wrong ("is not valid JSON: <parser's words>", "is a JSON array where an
 * object was expected"); an empty body reads "the reply to ... (HTTP 204) is empty where WANT was
 * expected" when IS is NULL. The excerpt is cut to one line of at most 120 bytes (the host
 * masks any secret in it). Callers add their advice and mark the ERROR not retryable. */
void pl_http_unreadable(char *buf, size_t cap, const char *method, const char *url,
                        const relhost_http_response *r, const char *is, const char *want);
/* Advice for pl_http_unreadable's line: what answered is not the API (a proxy, a login page) or
 * it changed; not retried, because the same reply would come again. */
#define PL_HTTP_UNREADABLE_ADVICE                                                              \
    "not retried (the same reply would come again): check that the URL reaches the service's " \
    "API and not a proxy or a login page"

#endif
