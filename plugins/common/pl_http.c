/* SPDX-License-Identifier: MIT */
#include "pl_http.h"

#include "pl_text.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int pl_http_rc_retryable(int rc) { return rc == RELHOST_ERETRY; }

const char *pl_http_header(const relhost_http_response *r, const char *name)
{
    size_t n = strlen(name);

    for (size_t i = 0; r->headers != NULL && r->headers[i] != NULL; i++)
        if (strncmp(r->headers[i], name, n) == 0 && r->headers[i][n] == ':')
            return r->headers[i] + n + 1 + strspn(r->headers[i] + n + 1, " \t");
    return NULL;
}

int pl_http_status_retryable(const relhost_http_response *r)
{
    long st = r->status;
    const char *rem;

    if (st >= 500 && st <= 599)
        return 1;
    if (st == 429 || st == 408)
        return 1;
    if (st != 403)
        return 0;
    rem = pl_http_header(r, "x-ratelimit-remaining");
    return rem != NULL && isdigit((unsigned char)*rem) && strtod(rem, NULL) == 0;
}

void pl_http_unreadable(char *buf, size_t cap, const char *method, const char *url,
                        const relhost_http_response *r, const char *is, const char *want)
{
    char ex[120 + 4];

    if (r->body == NULL || r->body_len == 0) {
        snprintf(buf, cap, "the reply to %s %s (HTTP %ld) is empty where %s was expected", method,
                 url, r->status, want != NULL ? want : "JSON");
        return;
    }
    pl_clean_text(r->body, r->body_len, 120, ex, sizeof ex);
    snprintf(buf, cap, "the reply to %s %s (HTTP %ld, %zu bytes) %s; it begins \"%s\"", method, url,
             r->status, r->body_len, is != NULL ? is : "cannot be read", ex);
}

void pl_http_request_init(relhost_http_request *req, const char *method, const char *url,
                          const char *const *headers)
{
    memset(req, 0, sizeof *req);
    req->struct_size = sizeof *req;
    req->method = method;
    req->url = url;
    req->headers = headers;
}

void pl_http_limits(relhost_http_request *req, const relhost_http_options *opts)
{
    req->timeout_s = opts->timeout;
    /* A server that does not answer the handshake in 10 s is down, whatever a reply may take. */
    req->connect_timeout_s = opts->timeout < 10 ? opts->timeout : 10;
    req->budget_s = opts->retry_budget;
}
