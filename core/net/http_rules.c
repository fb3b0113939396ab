/* SPDX-License-Identifier: MIT */
/* The retry table: how a failed attempt or a response is judged, and how long to wait. */
#include "net/http_int.h"

#include "base/util.h"
#include "run/loop.h"

#include <curl/curl.h>

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define HTTP_BACKOFF_BASE_S 1.0
#define HTTP_BACKOFF_CAP_S 60.0
/* x-ratelimit-reset has one-second resolution and the server's clock is not ours. */
#define HTTP_RESET_MARGIN_S 1.0

/*
 * The retry table: how every failure of a call is judged, the same for every plugin (documented
 * in relhost.cfg(5) and the README under "the retry table").
 *
 *   failure                                   tried again     resent with      returned as
 *                                             in the call     at_most_once
 *   connection refused                        yes             yes              RELHOST_ERETRY
 *   timeout (connect or reply), reset,        yes             only when no     RELHOST_ERETRY
 *     send/receive error, empty or                            byte was sent
 *     truncated reply, HTTP/2 stream error
 *   could not resolve the host                yes             yes              RELHOST_EIO
 *   TLS handshake, certificate (CURLE_SSL_*,  no              -                RELHOST_EIO
 *     CURLE_PEER_FAILED_VERIFICATION)
 *   not HTTP (an HTTP/0.9 or garbage reply)   no              -                RELHOST_EIO
 *   reply larger than max_response            no              -                RELHOST_EIO
 *   anything else libcurl reports             no              -                RELHOST_EIO
 *   refused before sending: bad request, bad  no              -                RELHOST_EINVAL
 *     URL, credentials over plain http, a
 *     missing variable, RELHOST_CA_BUNDLE
 *   HTTP 5xx, 408                             yes             no               the response (0)
 *   HTTP 429, 403 + x-ratelimit-remaining: 0  yes             429 only         the response (0)
 *   any other HTTP status                     no              -                the response (0)
 *
 * RELHOST_ERETRY is the only retryable return: a plugin maps it to an ERROR with retryable = 1
 * (the release is deferred, exit 75) and every other failure to a non-retryable ERROR (exit 3),
 * and judges a response's status with the same rows (http_status_retryable()).
 *
 * With at_most_once, a failure after which the server may have received the request (a byte of
 * it was sent: a timeout, reset or cut reply after sending, a reply that is not HTTP or too
 * large) is not sent again and returns RELHOST_ETIMEDOUT, "delivery unknown", not retryable:
 * whether it took effect must be found out before sending it again. Every other failure of an
 * at_most_once request proves the server never got it.
 *
 * "Could not resolve" is tried again within the call, where a resolver hiccup passes in seconds,
 * but is not retryable afterwards: libcurl cannot tell a name that does not exist (a typo, which
 * would defer the release run after run) from a resolver that is down. Anything the table does
 * not name is not retryable either: relhost fails closed on a failure it does not know to be
 * temporary.
 */
#define ADVICE_TLS                                                                                 \
    "the server's TLS certificate did not verify (self-signed, expired, or made for another "      \
    "host name): check the URL's host; if a private CA signs it, point RELHOST_CA_BUNDLE at that " \
    "CA's PEM bundle (verification cannot be turned off); not retried, a certificate does not "    \
    "fix itself"
#define ADVICE_TLS_HANDSHAKE                                                                      \
    "the TLS handshake failed: check that the URL's port speaks https (not plain http) and that " \
    "the server accepts a current TLS version; not retried, the same handshake would fail again"

static const struct curl_rule curl_rules[] = {
    {CURLE_COULDNT_CONNECT, RULE_RETRY | RULE_UNSENT, RELHOST_ERETRY,
     "check that the service is up and the URL's host and port are right; retryable: the next "
     "run tries again"},
    {CURLE_OPERATION_TIMEDOUT, RULE_RETRY, RELHOST_ERETRY,
     "the server did not answer in time: try later, or raise timeout_s or budget_s; retryable: "
     "the next run tries again"},
    {CURLE_SEND_ERROR, RULE_RETRY, RELHOST_ERETRY,
     "the connection broke: retryable, the next run tries again"},
    {CURLE_RECV_ERROR, RULE_RETRY, RELHOST_ERETRY,
     "the connection broke: retryable, the next run tries again"},
    {CURLE_GOT_NOTHING, RULE_RETRY, RELHOST_ERETRY,
     "the server closed the connection without a reply: retryable, the next run tries again"},
    {CURLE_PARTIAL_FILE, RULE_RETRY, RELHOST_ERETRY,
     "the reply was cut short: retryable, the next run tries again"},
    {CURLE_HTTP2, RULE_RETRY, RELHOST_ERETRY,
     "the HTTP/2 connection failed: retryable, the next run tries again"},
    {CURLE_HTTP2_STREAM, RULE_RETRY, RELHOST_ERETRY,
     "the server reset the HTTP/2 stream: retryable, the next run tries again"},
    {CURLE_COULDNT_RESOLVE_HOST, RULE_RETRY | RULE_UNSENT, RELHOST_EIO,
     "check the host name in the URL (a typo?) and that DNS works here; not retryable: a name "
     "that does not resolve is taken as wrong, run again once DNS is back"},
    {CURLE_PEER_FAILED_VERIFICATION, 0, RELHOST_EIO, ADVICE_TLS},
    {CURLE_SSL_ISSUER_ERROR, 0, RELHOST_EIO, ADVICE_TLS},
    {CURLE_SSL_INVALIDCERTSTATUS, 0, RELHOST_EIO, ADVICE_TLS},
    {CURLE_SSL_PINNEDPUBKEYNOTMATCH, 0, RELHOST_EIO, ADVICE_TLS},
    {CURLE_SSL_CONNECT_ERROR, 0, RELHOST_EIO, ADVICE_TLS_HANDSHAKE},
    {CURLE_SSL_CIPHER, 0, RELHOST_EIO, ADVICE_TLS_HANDSHAKE},
    {CURLE_SSL_CLIENTCERT, 0, RELHOST_EIO,
     "the server asks for a client certificate, which relhost does not send; not retried"},
    {CURLE_SSL_CACERT_BADFILE, 0, RELHOST_EIO,
     "the CA bundle could not be loaded: point RELHOST_CA_BUNDLE at a readable PEM bundle, or "
     "unset it to use the system's; not retried"},
    {CURLE_SSL_CRL_BADFILE, 0, RELHOST_EIO, "the TLS setup failed; not retried"},
    {CURLE_SSL_CERTPROBLEM, 0, RELHOST_EIO, "the TLS setup failed; not retried"},
    {CURLE_SSL_ENGINE_NOTFOUND, 0, RELHOST_EIO, "the TLS setup failed; not retried"},
    {CURLE_SSL_ENGINE_SETFAILED, 0, RELHOST_EIO, "the TLS setup failed; not retried"},
    {CURLE_SSL_ENGINE_INITFAILED, 0, RELHOST_EIO, "the TLS setup failed; not retried"},
    {CURLE_SSL_SHUTDOWN_FAILED, 0, RELHOST_EIO, "the TLS connection failed; not retried"},
    /* validate() lets only http(s) URLs through: "unsupported protocol" is the server's reply */
    {CURLE_UNSUPPORTED_PROTOCOL, 0, RELHOST_EIO,
     "the server did not answer HTTP: check the URL's port (is it the service's?); not retried"},
    {CURLE_WEIRD_SERVER_REPLY, 0, RELHOST_EIO,
     "the server did not answer HTTP: check the URL's port (is it the service's?); not retried"},
    {CURLE_URL_MALFORMAT, 0, RELHOST_EINVAL, "give a well-formed http(s) URL"},
    {CURLE_OUT_OF_MEMORY, 0, RELHOST_ENOMEM, "out of memory"},
};

static const struct curl_rule unknown_rule = {
    CURLE_OK, 0, RELHOST_EIO,
    "relhost does not know this failure to be temporary, so it is not retried: check the URL, "
    "the service and the network, then run again"};

const struct curl_rule *http_curl_rule_of(CURLcode c)
{
    for (size_t i = 0; i < sizeof curl_rules / sizeof *curl_rules; i++)
        if (curl_rules[i].code == c)
            return &curl_rules[i];
    return &unknown_rule;
}

/* Whether a failed attempt proves that the server never got the request: the failure says so,
 * or not a byte of the request left (connecting, the TLS handshake, a certificate). */
int http_never_sent(const struct xfer *x, const struct curl_rule *rule)
{
    long sent = -1;
    if (rule->flags & RULE_UNSENT)
        return 1;
    return curl_easy_getinfo(x->easy, CURLINFO_REQUEST_SIZE, &sent) == CURLE_OK && sent == 0;
}

static int ratelimit_spent(const char *rem)
{
    return rem && isdigit((unsigned char)*rem) && strtod(rem, NULL) == 0;
}

int http_status_retryable(long status, const char *const *headers)
{
    if (status >= 500 && status <= 599)
        return 1;
    if (status == 429 || status == 408)
        return 1;
    if (status == 403) {
        for (size_t i = 0; headers && headers[i]; i++)
            if (strncasecmp(headers[i], "x-ratelimit-remaining:", 22) == 0)
                return ratelimit_spent(headers[i] + 22 + strspn(headers[i] + 22, " \t"));
    }
    return 0;
}

double http_backoff(int attempt)
{
    double wait = HTTP_BACKOFF_BASE_S * pow(2.0, attempt - 1);
    if (wait > HTTP_BACKOFF_CAP_S)
        wait = HTTP_BACKOFF_CAP_S;
    return wait * (0.5 + 0.5 * http_rand01());
}

/* Seconds to wait before the next attempt after a retryable HTTP status, and why. */
double http_status_wait(const struct xfer *x, long status, int attempt, char *why, size_t whylen)
{
    const char *ra = http_header_of(&x->headers, "retry-after");
    const char *rem = http_header_of(&x->headers, "x-ratelimit-remaining");
    const char *reset = http_header_of(&x->headers, "x-ratelimit-reset");
    double backoff = http_backoff(attempt);
    if (ra && *ra) {
        char *end;
        double s = strtod(ra, &end);
        time_t at;
        if (end != ra && *end == '\0' && isdigit((unsigned char)*ra)) {
            snprintf(why, whylen, "HTTP %ld, Retry-After: %s", status, ra);
            return s;
        }
        at = curl_getdate(ra, NULL);
        if (at != (time_t)-1) {
            double d = (double)at - time_wall();
            snprintf(why, whylen, "HTTP %ld, Retry-After: %s", status, ra);
            return d > 0 ? d : 0;
        }
    }
    if (rem && strtod(rem, NULL) == 0 && isdigit((unsigned char)*rem) && reset && *reset) {
        char *end;
        double r = strtod(reset, &end);
        if (end != reset && r >= 0) {
            /* Some services send seconds-to-wait here; no epoch is that small. */
            double d = r < 1e9 ? r : r - time_wall();
            snprintf(why, whylen, "HTTP %ld, rate limit exhausted (x-ratelimit-reset: %s)", status,
                     reset);
            return (d > 0 ? d : 0) + HTTP_RESET_MARGIN_S;
        }
    }
    snprintf(why, whylen, "HTTP %ld", status);
    return backoff;
}
