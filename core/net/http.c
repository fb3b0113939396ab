/* SPDX-License-Identifier: MIT */
#include "net/http.h"

#include "base/error.h"
#include "base/log.h"
#include "base/secrets.h"
#include "base/util.h"
#include "run/loop.h"

#include <curl/curl.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define HTTP_DEF_CONNECT_S 10.0
#define HTTP_DEF_TIMEOUT_S 60.0
#define HTTP_DEF_ATTEMPTS 4
#define HTTP_DEF_BUDGET_S 300.0
#define HTTP_DEF_MAX_RESPONSE ((size_t)16 << 20)
#define HTTP_BACKOFF_BASE_S 1.0
#define HTTP_BACKOFF_CAP_S 60.0
/* An attempt that would get less time than this from the budget is not started. */
#define HTTP_MIN_ATTEMPT_S 0.1
/* x-ratelimit-reset has one-second resolution and the server's clock is not ours. */
#define HTTP_RESET_MARGIN_S 1.0

static struct {
    int global;      /* curl_global_init done */
    CURLM *multi;    /* one client: its connection cache serves every plugin */
    double timer_at; /* when curl wants CURL_SOCKET_TIMEOUT (loop_now()), < 0: never */
    int *fds;        /* sockets curl asked us to watch, so that http_fini() can unwatch them */
    size_t nfds, capfds;
    uint64_t rng;
} H = {.timer_at = -1};

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

/* What a response looks like to its owner: the public struct first, so the plugin's pointer is
 * also ours. */
struct http_resp {
    relhost_http_response pub;
    strvec headers;
};

static const char *const no_headers[] = {NULL};

/* ---- the loop <-> curl multi glue ---- */

static void track_fd(int fd)
{
    for (size_t i = 0; i < H.nfds; i++)
        if (H.fds[i] == fd)
            return;
    if (H.nfds == H.capfds) {
        H.capfds = H.capfds ? H.capfds * 2 : 8;
        H.fds = xrealloc(H.fds, H.capfds * sizeof *H.fds);
    }
    H.fds[H.nfds++] = fd;
}

static void untrack_fd(int fd)
{
    for (size_t i = 0; i < H.nfds; i++) {
        if (H.fds[i] == fd) {
            H.fds[i] = H.fds[--H.nfds];
            return;
        }
    }
}

static void on_socket_ready(int fd, short revents, void *arg)
{
    int mask = 0, running;
    (void)arg;
    if (revents & (POLLIN | POLLHUP))
        mask |= CURL_CSELECT_IN;
    if (revents & POLLOUT)
        mask |= CURL_CSELECT_OUT;
    if (revents & (POLLERR | POLLNVAL))
        mask |= CURL_CSELECT_ERR;
    /* A descriptor closed behind our back would make every ppoll return at once. */
    if (revents & POLLNVAL) {
        loop_unwatch_fd(fd);
        untrack_fd(fd);
    }
    curl_multi_socket_action(H.multi, fd, mask, &running);
}

static int on_socket(CURL *e, curl_socket_t s, int what, void *userp, void *socketp)
{
    short ev = 0;
    (void)e;
    (void)userp;
    (void)socketp;
    if (what == CURL_POLL_REMOVE) {
        loop_unwatch_fd(s);
        untrack_fd(s);
        return 0;
    }
    if (what & CURL_POLL_IN)
        ev |= POLLIN;
    if (what & CURL_POLL_OUT)
        ev |= POLLOUT;
    if (loop_watch_fd(s, ev, on_socket_ready, NULL) != 0)
        return -1;
    track_fd(s);
    return 0;
}

static int on_timer(CURLM *m, long ms, void *userp)
{
    (void)m;
    (void)userp;
    H.timer_at = ms < 0 ? -1 : loop_now() + (double)ms / 1000.0;
    return 0;
}

/* Every fd relhost opens is close-on-exec: a child must not inherit a connection. */
static int on_sockopt(void *arg, curl_socket_t fd, curlsocktype purpose)
{
    int fl = fcntl(fd, F_GETFD);
    (void)arg;
    (void)purpose;
    if (fl >= 0)
        fcntl(fd, F_SETFD, fl | FD_CLOEXEC);
    return CURL_SOCKOPT_OK;
}

static void collect_done(void)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(H.multi, &left)) != NULL) {
        char *priv = NULL;
        struct xfer *x;
        if (m->msg != CURLMSG_DONE)
            continue;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &priv);
        x = (struct xfer *)priv;
        if (x) {
            x->done = 1;
            x->result = m->data.result;
        }
    }
}

/* Serve the loop until x is done; RELHOST_EINTR when an interrupt newer than intr0 arrives. */
static int drive(struct xfer *x, int intr0)
{
    int running;
    collect_done();
    while (!x->done) {
        double now, wait;
        if (loop_interrupted() > intr0)
            return RELHOST_EINTR;
        now = loop_now();
        if (H.timer_at >= 0 && now >= H.timer_at) {
            H.timer_at = -1;
            curl_multi_socket_action(H.multi, CURL_SOCKET_TIMEOUT, 0, &running);
            collect_done();
            continue;
        }
        /* curl always keeps a timer while a transfer runs; the cap only guards against a
         * transfer that would otherwise never be looked at again. */
        wait = H.timer_at >= 0 ? H.timer_at - now : 1.0;
        loop_once(wait > 1.0 ? 1.0 : wait);
        collect_done();
    }
    return 0;
}

int http_init(void)
{
    if (H.multi)
        return 0;
    if (!H.global) {
        CURLcode c = curl_global_init(CURL_GLOBAL_DEFAULT);
        if (c != CURLE_OK)
            return error_set(RELHOST_EIO, "cannot initialise libcurl: %s; check the TLS library "
                             "installation", curl_easy_strerror(c));
        H.global = 1;
    }
    H.multi = curl_multi_init();
    if (!H.multi)
        return error_set(RELHOST_EIO, "cannot create the HTTP client (curl_multi_init failed); "
                         "out of memory?");
    curl_multi_setopt(H.multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(H.multi, CURLMOPT_TIMERFUNCTION, on_timer);
    H.timer_at = -1;
    if (H.rng == 0) {
        uint64_t seed = 0;
        if (getrandom(&seed, sizeof seed, GRND_NONBLOCK) != (ssize_t)sizeof seed)
            seed = (uint64_t)(loop_now() * 1e9) ^ ((uint64_t)getpid() << 32);
        H.rng = seed | 1;
    }
    return 0;
}

void http_fini(void)
{
    if (H.multi) {
        curl_multi_cleanup(H.multi);
        H.multi = NULL;
    }
    for (size_t i = 0; i < H.nfds; i++)
        loop_unwatch_fd(H.fds[i]);
    free(H.fds);
    H.fds = NULL;
    H.nfds = H.capfds = 0;
    H.timer_at = -1;
    if (H.global) {
        curl_global_cleanup();
        H.global = 0;
    }
}

/* Uniform in [0, 1): xorshift64*, seeded once; jitter needs no more. */
static double rand01(void)
{
    H.rng ^= H.rng >> 12;
    H.rng ^= H.rng << 25;
    H.rng ^= H.rng >> 27;
    return (double)((H.rng * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

/* ---- transfer callbacks ---- */

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    struct xfer *x = arg;
    size_t len = size * n;
    if (len > x->cap || x->body.len > x->cap - len) {
        x->too_big = 1;
        return 0; /* curl ends the transfer with CURLE_WRITE_ERROR */
    }
    sb_add(&x->body, p, len);
    return len;
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
    struct xfer *x = arg;
    size_t len = size * n, l = len, nl;
    const char *colon, *v, *end;
    strbuf b;
    while (l > 0 && (p[l - 1] == '\r' || p[l - 1] == '\n'))
        l--;
    /* A new status line starts a new head (after 100 Continue, or a proxy's CONNECT reply):
     * only the final response's headers are the response's. */
    if (l >= 5 && memcmp(p, "HTTP/", 5) == 0) {
        sv_free(&x->headers);
        return len;
    }
    if (l == 0)
        return len;
    if ((p[0] == ' ' || p[0] == '\t') && x->headers.n > 0) {
        /* obsolete line folding: the line continues the previous header's value */
        char *prev = x->headers.v[x->headers.n - 1];
        char *joined = xasprintf("%s %.*s", prev, (int)l, p);
        free(prev);
        x->headers.v[x->headers.n - 1] = joined;
        return len;
    }
    colon = memchr(p, ':', l);
    if (!colon || colon == p)
        return len;
    sb_init(&b);
    for (const char *c = p; c < colon; c++)
        sb_putc(&b, (char)tolower((unsigned char)*c));
    sb_puts(&b, ": ");
    v = colon + 1;
    end = p + l;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    nl = (size_t)(end - v);
    sb_add(&b, v, nl);
    sv_push_take(&x->headers, sb_take(&b));
    return len;
}

static const char *header_of(const strvec *h, const char *name)
{
    size_t nl = strlen(name);
    for (size_t i = h->n; i-- > 0;)
        if (strncmp(h->v[i], name, nl) == 0 && h->v[i][nl] == ':')
            return h->v[i] + nl + 2;
    return NULL;
}

/* ---- messages ---- */

/* The URL as it may be shown: user:password@ masked, then every registered secret. */
static char *url_shown(const char *url)
{
    const char *s = strstr(url, "://"), *auth_end, *at;
    char *masked, *out;
    if (!s)
        return secrets_redact_dup(url);
    s += 3;
    auth_end = s + strcspn(s, "/?#");
    at = memchr(s, '@', (size_t)(auth_end - s));
    if (at) {
        /* the last '@' ends the userinfo: a password may itself contain '@' */
        for (const char *c = at; c < auth_end; c++)
            if (*c == '@')
                at = c;
        masked = xasprintf("%.*s%s%s", (int)(s - url), url, SECRETS_MASK, at);
    } else {
        masked = xstrdup(url);
    }
    out = secrets_redact_dup(masked);
    free(masked);
    return out;
}

/* error_set() with the text passed through the redactor: an error message may be printed by
 * a caller that does not redact. */
static int fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(int code, const char *fmt, ...)
{
    strbuf b;
    char *red;
    va_list ap;
    sb_init(&b);
    va_start(ap, fmt);
    sb_vprintf(&b, fmt, ap);
    va_end(ap);
    red = secrets_redact_dup(b.s);
    error_set(code, "%s", red);
    free(red);
    sb_free(&b);
    return code;
}

/* curl's text for a failed transfer: the generic string plus the specific detail. */
static char *curl_what(const struct xfer *x)
{
    const char *gen = curl_easy_strerror(x->result);
    size_t dl = strlen(x->errbuf);
    while (dl > 0 && (x->errbuf[dl - 1] == '\n' || x->errbuf[dl - 1] == '\r'))
        dl--;
    if (dl == 0)
        return xstrdup(gen);
    /* The detail often ends with the generic text already ("...: Couldn't connect to server"). */
    if (strstr(x->errbuf, gen))
        return xstrndup(x->errbuf, dl);
    return xasprintf("%s (%.*s)", gen, (int)dl, x->errbuf);
}

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

#define ADVICE_TLS                                                                                 \
    "the server's TLS certificate did not verify (self-signed, expired, or made for another "     \
    "host name): check the URL's host; if a private CA signs it, point RELHOST_CA_BUNDLE at that " \
    "CA's PEM bundle (verification cannot be turned off); not retried, a certificate does not "   \
    "fix itself"
#define ADVICE_TLS_HANDSHAKE                                                                       \
    "the TLS handshake failed: check that the URL's port speaks https (not plain http) and that "  \
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

static const struct curl_rule *curl_rule_of(CURLcode c)
{
    for (size_t i = 0; i < sizeof curl_rules / sizeof *curl_rules; i++)
        if (curl_rules[i].code == c)
            return &curl_rules[i];
    return &unknown_rule;
}

/* Whether a failed attempt proves that the server never got the request: the failure says so,
 * or not a byte of the request left (connecting, the TLS handshake, a certificate). */
static int never_sent(const struct xfer *x, const struct curl_rule *rule)
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

/* ---- credentials over plain http ---- */

/* Whether host (len bytes, brackets of an IPv6 literal removed) is a loopback address as written:
 * 127.0.0.0/8 in dotted-quad form, ::1, or "localhost". Other spellings of the same addresses
 * (2130706433, 127.1, ::ffff:127.0.0.1) are refused: fail closed. */
static int host_is_loopback(const char *host, size_t len, int bracketed)
{
    char h[64];
    unsigned char a[16];
    if (len == 0 || len >= sizeof h)
        return 0;
    memcpy(h, host, len);
    h[len] = '\0';
    if (bracketed)
        return inet_pton(AF_INET6, h, a) == 1 && memcmp(a, &in6addr_loopback, 16) == 0;
    if (strcasecmp(h, "localhost") == 0)
        return 1;
    /* inet_pton takes only the four-part decimal form: "127.0.0.1.example.com" is no address */
    return inet_pton(AF_INET, h, a) == 1 && a[0] == 127;
}

int http_plain_ok(const char *url)
{
    const char *auth, *end, *host, *at, *hend;
    int bracketed = 0;
    if (strncasecmp(url, "https://", 8) == 0)
        return 1;
    if (strncasecmp(url, "http://", 7) != 0)
        return 0;
    auth = url + 7;
    end = auth + strcspn(auth, "/?#");
    host = auth;
    /* the last '@' ends the userinfo: a password may itself contain '@' */
    for (at = auth; at < end; at++)
        if (*at == '@')
            host = at + 1;
    if (host < end && *host == '[') {
        hend = memchr(host, ']', (size_t)(end - host));
        if (!hend || (hend + 1 < end && hend[1] != ':'))
            return 0;
        host++;
        bracketed = 1;
    } else {
        hend = memchr(host, ':', (size_t)(end - host));
        if (!hend)
            hend = end;
    }
    return host_is_loopback(host, (size_t)(hend - host), bracketed);
}

/* Whether text carries a registered secret (the redactor would change it). */
static int holds_secret(const char *text)
{
    char *red = secrets_redact_dup(text);
    int differs = strcmp(red, text) != 0;
    free(red);
    return differs;
}

/* What of the request is a credential, for the refusal's text (buf), or NULL when nothing is. */
static const char *credential_of(const relhost_http_request *r, char *buf, size_t cap)
{
    const char *auth = r->url + strcspn(r->url, ":") + 3;
    const char *end = auth + strcspn(auth, "/?#");
    if (r->bearer_env) {
        snprintf(buf, cap, "the token in $%s (bearer_env)", r->bearer_env);
        return buf;
    }
    if (r->basic_env) {
        snprintf(buf, cap, "the credential in $%s (basic_env)", r->basic_env);
        return buf;
    }
    if (memchr(auth, '@', (size_t)(end - auth)))
        return "the user:password@ of the URL";
    for (size_t i = 0; r->headers && r->headers[i]; i++) {
        const char *h = r->headers[i];
        if (strncasecmp(h, "Authorization:", 14) == 0 ||
            strncasecmp(h, "Proxy-Authorization:", 20) == 0)
            return "an Authorization header";
        if (holds_secret(h)) {
            snprintf(buf, cap, "a secret in request header %zu", i + 1);
            return buf;
        }
    }
    if (holds_secret(r->url))
        return "a secret in the URL (a webhook URL is one)";
    return NULL;
}

/* ---- request validation ---- */

static int is_tchar(int c)
{
    return isalnum(c) || (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* Returns 0 or RELHOST_EINVAL (error set); shown is the redacted URL. */
static int validate(const relhost_http_request *r, const char *method, const char *shown)
{
    size_t ml = strlen(method);
    if (ml == 0 || ml > 32)
        return fail(RELHOST_EINVAL, "HTTP request to %s: bad method \"%s\"; use GET, POST, PUT, "
                    "PATCH, DELETE or HEAD", shown, method);
    for (size_t i = 0; i < ml; i++)
        if (!is_tchar((unsigned char)method[i]))
            return fail(RELHOST_EINVAL, "HTTP request to %s: bad method \"%s\"; use GET, POST, "
                        "PUT, PATCH, DELETE or HEAD", shown, method);
    if (strncasecmp(r->url, "http://", 7) != 0 && strncasecmp(r->url, "https://", 8) != 0)
        return fail(RELHOST_EINVAL, "%s %s: only http:// and https:// URLs are allowed; give an "
                    "absolute http(s) URL", method, shown);
    for (const char *c = r->url; *c; c++)
        if ((unsigned char)*c <= ' ' || *c == 0x7f)
            return fail(RELHOST_EINVAL, "%s %s: the URL contains a space or a control "
                        "character; percent-encode it", method, shown);
    for (size_t i = 0; r->headers && r->headers[i]; i++) {
        const char *h = r->headers[i], *colon = strchr(h, ':');
        if (strpbrk(h, "\r\n"))
            return fail(RELHOST_EINVAL, "%s %s: request header %zu contains a line break; give "
                        "one \"Name: value\" per entry", method, shown, i + 1);
        if (!colon || colon == h)
            return fail(RELHOST_EINVAL, "%s %s: request header \"%s\" is not \"Name: value\"",
                        method, shown, h);
        for (const char *c = h; c < colon; c++)
            if (!is_tchar((unsigned char)*c))
                return fail(RELHOST_EINVAL, "%s %s: request header \"%s\" has a bad name", method,
                            shown, h);
        if ((r->bearer_env || r->basic_env) && colon - h == 13 &&
            strncasecmp(h, "Authorization", 13) == 0)
            return fail(RELHOST_EINVAL, "%s %s: an Authorization header and bearer_env/basic_env "
                        "both given; drop the header (the host builds it from the variable)",
                        method, shown);
    }
    if (r->body_len > 0 && !r->body)
        return fail(RELHOST_EINVAL, "%s %s: body_len is %zu but body is NULL", method, shown,
                    r->body_len);
    if (r->bearer_env && r->basic_env)
        return fail(RELHOST_EINVAL, "%s %s: both bearer_env (%s) and basic_env (%s) given; use "
                    "one", method, shown, r->bearer_env, r->basic_env);
    if (r->basic_env && (!r->basic_user || !*r->basic_user))
        return fail(RELHOST_EINVAL, "%s %s: basic_env (%s) needs basic_user (e.g. \"api\")",
                    method, shown, r->basic_env);
    if (r->basic_user && !r->basic_env)
        return fail(RELHOST_EINVAL, "%s %s: basic_user \"%s\" needs basic_env, the name of the "
                    "variable holding the password", method, shown, r->basic_user);
    if (r->basic_user && strchr(r->basic_user, ':'))
        return fail(RELHOST_EINVAL, "%s %s: basic_user \"%s\" contains ':', which HTTP basic "
                    "auth cannot carry", method, shown, r->basic_user);
    if (isnan(r->connect_timeout_s) || r->connect_timeout_s < 0 || isnan(r->timeout_s) ||
        r->timeout_s < 0 || isnan(r->budget_s) || r->budget_s < 0 || r->max_attempts < 0)
        return fail(RELHOST_EINVAL, "%s %s: negative timeout, budget or max_attempts; use 0 "
                    "for the default or a positive value", method, shown);
    if (!http_plain_ok(r->url)) {
        char buf[160];
        const char *cred = credential_of(r, buf, sizeof buf);
        if (cred)
            return fail(RELHOST_EINVAL, "%s %s: refusing to send %s over plain http to a host "
                        "that is not loopback: anyone on the way could read it; use https:// "
                        "(plain http may carry credentials only to 127.0.0.0/8, ::1 or "
                        "localhost, for tests)", method, shown, cred);
    }
    return 0;
}

/* ---- one call ---- */

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

/* Seconds to wait before the next attempt after a retryable HTTP status, and why. */
static double status_wait(const struct xfer *x, long status, int attempt, char *why,
                          size_t whylen)
{
    const char *ra = header_of(&x->headers, "retry-after");
    const char *rem = header_of(&x->headers, "x-ratelimit-remaining");
    const char *reset = header_of(&x->headers, "x-ratelimit-reset");
    double backoff = HTTP_BACKOFF_BASE_S * pow(2.0, attempt - 1);
    if (backoff > HTTP_BACKOFF_CAP_S)
        backoff = HTTP_BACKOFF_CAP_S;
    backoff *= 0.5 + 0.5 * rand01();
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
            snprintf(why, whylen, "HTTP %ld, rate limit exhausted (x-ratelimit-reset: %s)",
                     status, reset);
            return (d > 0 ? d : 0) + HTTP_RESET_MARGIN_S;
        }
    }
    snprintf(why, whylen, "HTTP %ld", status);
    return backoff;
}

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

static void set_attempt_timeouts(const struct call *c, CURL *e)
{
    double left = c->budget_s - (loop_now() - c->t0);
    double total = c->timeout_s < left ? c->timeout_s : left;
    double conn;
    long total_ms, conn_ms;
    /* curl takes milliseconds in a long; a few days is "no limit" for one attempt. */
    if (total > 1e6)
        total = 1e6;
    conn = c->connect_s < total ? c->connect_s : total;
    total_ms = (long)ceil(total * 1000.0);
    conn_ms = (long)ceil(conn * 1000.0);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, total_ms > 0 ? total_ms : 1L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, conn_ms > 0 ? conn_ms : 1L);
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

/* Options that stay the same for every attempt of the call. */
static int setup_easy(struct call *c, struct xfer *x, struct curl_slist **hdrs)
{
    const relhost_http_request *r = c->req;
    CURL *e = x->easy;
    const char *ca = getenv("RELHOST_CA_BUNDLE");
    const char *body = r->body;
    size_t body_len = r->body_len;
    int has_expect = 0;

    if (body && body_len == 0)
        body_len = strlen(body);
    curl_easy_setopt(e, CURLOPT_URL, r->url);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
    if (ca && *ca) {
        if (access(ca, R_OK) != 0)
            return fail(RELHOST_EINVAL, "%s %s: RELHOST_CA_BUNDLE names %s, which cannot be "
                        "read; point it at a PEM CA bundle or unset it", c->method, c->shown, ca);
        curl_easy_setopt(e, CURLOPT_CAINFO, ca);
    }
    curl_easy_setopt(e, CURLOPT_NETRC, (long)CURL_NETRC_IGNORED);
    /* Plain http goes only to loopback with credentials: never through a proxy from the
     * environment, which would carry them over the network after all. */
    if (strncasecmp(r->url, "http://", 7) == 0 && http_plain_ok(r->url))
        curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
    /* On a kept-alive connection that died, libcurl sends the request again by itself: a side
     * effect that must not happen twice gets a connection of its own. */
    if (c->at_most_once) {
        curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
        curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
    }
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(e, CURLOPT_USERAGENT, "relhost/" RELHOST_VERSION);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
    curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)x);
    curl_easy_setopt(e, CURLOPT_SOCKOPTFUNCTION, on_sockopt);
    /* Fails a response announcing a larger Content-Length before its body is read. */
    curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)c->max_response);

    if (strcmp(c->method, "HEAD") == 0) {
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else if (strcmp(c->method, "GET") == 0 && !body) {
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    } else {
        if (body || strcmp(c->method, "POST") == 0 || strcmp(c->method, "PUT") == 0 ||
            strcmp(c->method, "PATCH") == 0) {
            curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
            curl_easy_setopt(e, CURLOPT_POSTFIELDS, body ? body : "");
        }
        if (strcmp(c->method, "POST") != 0)
            curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, c->method);
    }

    for (size_t i = 0; r->headers && r->headers[i]; i++) {
        struct curl_slist *n;
        if (strncasecmp(r->headers[i], "Expect:", 7) == 0)
            has_expect = 1;
        n = curl_slist_append(*hdrs, r->headers[i]);
        if (!n)
            return fail(RELHOST_ENOMEM, "%s %s: out of memory building headers", c->method,
                        c->shown);
        *hdrs = n;
    }
    /* curl would wait up to a second for "100 Continue" before sending a large body. */
    if (!has_expect) {
        struct curl_slist *n = curl_slist_append(*hdrs, "Expect:");
        if (!n)
            return fail(RELHOST_ENOMEM, "%s %s: out of memory building headers", c->method,
                        c->shown);
        *hdrs = n;
    }
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, *hdrs);

    if (r->bearer_env) {
        const char *tok = secrets_getenv(r->bearer_env);
        if (!tok)
            return fail(RELHOST_EINVAL, "%s %s: environment variable %s (bearer_env) is not set "
                        "or empty; export it with the API token", c->method, c->shown,
                        r->bearer_env);
        curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BEARER);
        curl_easy_setopt(e, CURLOPT_XOAUTH2_BEARER, tok);
    } else if (r->basic_env) {
        const char *pw = secrets_getenv(r->basic_env);
        char *pair;
        if (!pw)
            return fail(RELHOST_EINVAL, "%s %s: environment variable %s (basic_env) is not set "
                        "or empty; export it with the password or API key", c->method, c->shown,
                        r->basic_env);
        /* The header carries base64("user:password"), whose text no form of the bare password
         * predicts at its edges: register the pair itself too. */
        pair = xasprintf("%s:%s", r->basic_user, pw);
        secrets_add_derived(pair);
        free(pair);
        curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(e, CURLOPT_USERNAME, r->basic_user);
        curl_easy_setopt(e, CURLOPT_PASSWORD, pw);
    }
    return 0;
}

static void xfer_reset(struct xfer *x)
{
    sb_free(&x->body);
    sb_init(&x->body);
    sv_free(&x->headers);
    x->too_big = 0;
    x->done = 0;
    x->result = CURLE_OK;
    x->errbuf[0] = '\0';
}

/* The message for an at_most_once call whose request the server may have received. */
static int maybe_delivered(const struct call *c, int attempts, const char *what)
{
    fail(RELHOST_ETIMEDOUT, "%s %s failed after %d attempt%s in %.1f s: %s; the server may have "
         "received it, so it is not sent again (at_most_once): check whether it took effect "
         "before sending it again", c->method, c->shown, attempts, attempts == 1 ? "" : "s",
         loop_now() - c->t0, what);
    return RELHOST_ETIMEDOUT;
}

/* The message for a call that ends on a transport failure; returns the table's code. */
static int transport_failure(const struct call *c, const struct xfer *x, int attempts,
                             const char *stopped)
{
    const struct curl_rule *rule = curl_rule_of(x->result);
    char *what = curl_what(x);
    fail(rule->rc, "%s %s failed after %d attempt%s in %.1f s%s: %s; %s", c->method, c->shown,
         attempts, attempts == 1 ? "" : "s", loop_now() - c->t0, stopped ? stopped : "", what,
         rule->advice);
    free(what);
    return rule->rc;
}

static int run_call(struct call *c, struct xfer *x, relhost_http_response **out)
{
    int intr0 = loop_interrupted();
    struct curl_slist *hdrs = NULL;
    int rc, attempt;

    rc = setup_easy(c, x, &hdrs);
    if (rc != 0)
        goto done;
    for (attempt = 1;; attempt++) {
        double ta = loop_now(), wait, elapsed;
        long status = 0;
        char why[512];
        const char *stop = NULL;
        char stopbuf[160];
        CURLMcode mc;

        xfer_reset(x);
        set_attempt_timeouts(c, x->easy);
        mc = curl_multi_add_handle(H.multi, x->easy);
        if (mc != CURLM_OK) {
            rc = fail(RELHOST_EIO, "%s %s: cannot start the transfer: %s; this is a relhost bug",
                      c->method, c->shown, curl_multi_strerror(mc));
            goto done;
        }
        rc = drive(x, intr0);
        curl_multi_remove_handle(H.multi, x->easy);
        if (rc == RELHOST_EINTR) {
            fail(rc, "%s %s: interrupted during attempt %d", c->method, c->shown, attempt);
            goto done;
        }
        if (x->result == CURLE_OK)
            curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
        if (log_verbosity() >= 1) {
            char *what = x->result == CURLE_OK ? xasprintf("HTTP %ld", status) : curl_what(x);
            log_msg(RELHOST_LOG_DEBUG, c->prefix, "%s %s -> %s in %.2f s (attempt %d/%d)",
                    c->method, c->shown, what, loop_now() - ta, attempt, c->max_attempts);
            free(what);
        }

        if ((x->too_big || x->result == CURLE_FILESIZE_EXCEEDED) && c->at_most_once) {
            char *what = xasprintf("response larger than %zu bytes (max_response)",
                                   c->max_response);
            rc = maybe_delivered(c, attempt, what);
            free(what);
            goto done;
        }
        if (x->too_big || x->result == CURLE_FILESIZE_EXCEEDED) {
            rc = fail(RELHOST_EIO, "%s %s: response larger than %zu bytes (max_response); raise "
                      "max_response or ask for less (paging, filters)", c->method, c->shown,
                      c->max_response);
            goto done;
        }
        if (x->result != CURLE_OK) {
            const struct curl_rule *rule = curl_rule_of(x->result);
            char *what;
            if (c->at_most_once && !never_sent(x, rule)) {
                what = curl_what(x);
                rc = maybe_delivered(c, attempt, what);
                free(what);
                goto done;
            }
            if (!(rule->flags & RULE_RETRY)) {
                rc = transport_failure(c, x, attempt, NULL);
                goto done;
            }
            wait = HTTP_BACKOFF_BASE_S * pow(2.0, attempt - 1);
            if (wait > HTTP_BACKOFF_CAP_S)
                wait = HTTP_BACKOFF_CAP_S;
            wait *= 0.5 + 0.5 * rand01();
            what = curl_what(x);
            snprintf(why, sizeof why, "%s", what);
            free(what);
        } else if (http_status_retryable(status, (const char *const *)x->headers.v) &&
                   (!c->at_most_once || status == 429)) {
            /* With at_most_once only a 429 proves the request was not acted on. */
            wait = status_wait(x, status, attempt, why, sizeof why);
        } else {
            *out = take_response(x, status, attempt);
            rc = 0;
            goto done;
        }

        elapsed = loop_now() - c->t0;
        if (attempt >= c->max_attempts) {
            snprintf(stopbuf, sizeof stopbuf, " (max_attempts=%d reached)", c->max_attempts);
            stop = stopbuf;
        } else if (elapsed + wait + HTTP_MIN_ATTEMPT_S > c->budget_s) {
            snprintf(stopbuf, sizeof stopbuf, " (waiting %.1f s more would pass budget_s=%g)",
                     wait, c->budget_s);
            stop = stopbuf;
        }
        if (stop) {
            if (x->result != CURLE_OK) {
                rc = transport_failure(c, x, attempt, stop);
            } else {
                log_msg(RELHOST_LOG_WARN, c->prefix, "%s %s: %s; giving up after %d attempt%s%s",
                        c->method, c->shown, why, attempt, attempt == 1 ? "" : "s", stop);
                *out = take_response(x, status, attempt);
                rc = 0;
            }
            goto done;
        }
        log_msg(RELHOST_LOG_WARN, c->prefix, "%s %s: %s; retrying in %.1f s (attempt %d/%d)",
                c->method, c->shown, why, wait, attempt + 1, c->max_attempts);
        rc = wait_for(wait, intr0);
        if (rc == RELHOST_EINTR) {
            fail(rc, "%s %s: interrupted while waiting to retry (after %d attempt%s)", c->method,
                 c->shown, attempt, attempt == 1 ? "" : "s");
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
    c.shown = url_shown(r.url);
    c.connect_s = r.connect_timeout_s > 0 ? r.connect_timeout_s : HTTP_DEF_CONNECT_S;
    c.timeout_s = r.timeout_s > 0 ? r.timeout_s : HTTP_DEF_TIMEOUT_S;
    c.budget_s = r.budget_s > 0 ? r.budget_s : HTTP_DEF_BUDGET_S;
    c.max_attempts = r.max_attempts > 0 ? r.max_attempts : HTTP_DEF_ATTEMPTS;
    c.max_response = r.max_response > 0 ? r.max_response : HTTP_DEF_MAX_RESPONSE;
    c.at_most_once = r.at_most_once != 0;
    c.t0 = loop_now();

    rc = validate(&r, c.method, c.shown);
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
        rc = fail(RELHOST_ENOMEM, "%s %s: cannot create a transfer (curl_easy_init failed)",
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
