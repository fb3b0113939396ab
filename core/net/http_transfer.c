/* SPDX-License-Identifier: MIT */
/* The transfer: libcurl's multi handle served by the relhost loop, and each easy handle's setup. */
#include "net/http_int.h"

#include "base/error.h"
#include "base/secrets.h"
#include "base/util.h"
#include "run/loop.h"

#include <curl/curl.h>

#include <ctype.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <unistd.h>

static struct {
    int global;      /* curl_global_init done */
    CURLM *multi;    /* one client: its connection cache serves every plugin */
    double timer_at; /* when curl wants CURL_SOCKET_TIMEOUT (loop_now()), < 0: never */
    int *fds;        /* sockets curl asked us to watch, so that http_fini() can unwatch them */
    size_t nfds, capfds;
    uint64_t rng;
} H = {.timer_at = -1};

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
            return error_set(RELHOST_EIO,
                             "cannot initialise libcurl: %s; check the TLS library "
                             "installation",
                             curl_easy_strerror(c));
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
double http_rand01(void)
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

const char *http_header_of(const strvec *h, const char *name)
{
    size_t nl = strlen(name);
    for (size_t i = h->n; i-- > 0;)
        if (strncmp(h->v[i], name, nl) == 0 && h->v[i][nl] == ':')
            return h->v[i] + nl + 2;
    return NULL;
}

/* curl's text for a failed transfer: the generic string plus the specific detail. */
char *http_curl_what(const struct xfer *x)
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

void http_set_attempt_timeouts(const struct call *c, CURL *e)
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

static void setup_method(const struct call *c, CURL *e, const char *body, size_t body_len)
{
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
}

static int setup_headers(const struct call *c, CURL *e, struct curl_slist **hdrs)
{
    const relhost_http_request *r = c->req;
    int has_expect = 0;

    for (size_t i = 0; r->headers && r->headers[i]; i++) {
        struct curl_slist *n;
        if (strncasecmp(r->headers[i], "Expect:", 7) == 0)
            has_expect = 1;
        n = curl_slist_append(*hdrs, r->headers[i]);
        if (!n)
            return http_fail(RELHOST_ENOMEM, "%s %s: out of memory building headers", c->method,
                             c->shown);
        *hdrs = n;
    }
    /* curl would wait up to a second for "100 Continue" before sending a large body. */
    if (!has_expect) {
        struct curl_slist *n = curl_slist_append(*hdrs, "Expect:");
        if (!n)
            return http_fail(RELHOST_ENOMEM, "%s %s: out of memory building headers", c->method,
                             c->shown);
        *hdrs = n;
    }
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, *hdrs);
    return 0;
}

static int setup_auth(const struct call *c, CURL *e)
{
    const relhost_http_request *r = c->req;

    if (r->bearer_env) {
        const char *tok = secrets_getenv(r->bearer_env);
        if (!tok)
            return http_fail(RELHOST_EINVAL,
                             "%s %s: environment variable %s (bearer_env) is not set "
                             "or empty; export it with the API token",
                             c->method, c->shown, r->bearer_env);
        curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BEARER);
        curl_easy_setopt(e, CURLOPT_XOAUTH2_BEARER, tok);
    } else if (r->basic_env) {
        const char *pw = secrets_getenv(r->basic_env);
        char *pair;
        if (!pw)
            return http_fail(RELHOST_EINVAL,
                             "%s %s: environment variable %s (basic_env) is not set "
                             "or empty; export it with the password or API key",
                             c->method, c->shown, r->basic_env);
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

/* Options that stay the same for every attempt of the call. */
int http_setup_easy(struct call *c, struct xfer *x, struct curl_slist **hdrs)
{
    const relhost_http_request *r = c->req;
    CURL *e = x->easy;
    const char *ca = getenv("RELHOST_CA_BUNDLE");
    const char *body = r->body;
    size_t body_len = r->body_len;
    int rc;

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
            return http_fail(RELHOST_EINVAL,
                             "%s %s: RELHOST_CA_BUNDLE names %s, which cannot be "
                             "read; point it at a PEM CA bundle or unset it",
                             c->method, c->shown, ca);
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

    setup_method(c, e, body, body_len);
    rc = setup_headers(c, e, hdrs);
    if (rc != 0)
        return rc;
    return setup_auth(c, e);
}

void http_xfer_reset(struct xfer *x)
{
    sb_free(&x->body);
    sb_init(&x->body);
    sv_free(&x->headers);
    x->too_big = 0;
    x->done = 0;
    x->result = CURLE_OK;
    x->errbuf[0] = '\0';
}

int http_xfer_perform(struct xfer *x, int intr0, CURLMcode *mc)
{
    int rc;
    *mc = curl_multi_add_handle(H.multi, x->easy);
    if (*mc != CURLM_OK)
        return RELHOST_EIO;
    rc = drive(x, intr0);
    curl_multi_remove_handle(H.multi, x->easy);
    return rc;
}
