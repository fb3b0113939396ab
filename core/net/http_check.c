/* SPDX-License-Identifier: MIT */
/* What a request may be: validation, credentials over plain http, loopback, redacted URLs. */
#include "net/http_int.h"

#include "base/error.h"
#include "base/secrets.h"
#include "base/util.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <math.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The URL as it may be shown: user:password@ masked, then every registered secret. */
char *http_url_shown(const char *url)
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
int http_fail(int code, const char *fmt, ...)
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
int http_validate(const relhost_http_request *r, const char *method, const char *shown)
{
    size_t ml = strlen(method);
    if (ml == 0 || ml > 32)
        return http_fail(RELHOST_EINVAL,
                         "HTTP request to %s: bad method \"%s\"; use GET, POST, PUT, "
                         "PATCH, DELETE or HEAD",
                         shown, method);
    for (size_t i = 0; i < ml; i++)
        if (!is_tchar((unsigned char)method[i]))
            return http_fail(RELHOST_EINVAL,
                             "HTTP request to %s: bad method \"%s\"; use GET, POST, "
                             "PUT, PATCH, DELETE or HEAD",
                             shown, method);
    if (strncasecmp(r->url, "http://", 7) != 0 && strncasecmp(r->url, "https://", 8) != 0)
        return http_fail(RELHOST_EINVAL,
                         "%s %s: only http:// and https:// URLs are allowed; give an "
                         "absolute http(s) URL",
                         method, shown);
    for (const char *c = r->url; *c; c++)
        if ((unsigned char)*c <= ' ' || *c == 0x7f)
            return http_fail(RELHOST_EINVAL,
                             "%s %s: the URL contains a space or a control "
                             "character; percent-encode it",
                             method, shown);
    for (size_t i = 0; r->headers && r->headers[i]; i++) {
        const char *h = r->headers[i], *colon = strchr(h, ':');
        if (strpbrk(h, "\r\n"))
            return http_fail(RELHOST_EINVAL,
                             "%s %s: request header %zu contains a line break; give "
                             "one \"Name: value\" per entry",
                             method, shown, i + 1);
        if (!colon || colon == h)
            return http_fail(RELHOST_EINVAL, "%s %s: request header \"%s\" is not \"Name: value\"",
                             method, shown, h);
        for (const char *c = h; c < colon; c++)
            if (!is_tchar((unsigned char)*c))
                return http_fail(RELHOST_EINVAL, "%s %s: request header \"%s\" has a bad name",
                                 method, shown, h);
        if ((r->bearer_env || r->basic_env) && colon - h == 13 &&
            strncasecmp(h, "Authorization", 13) == 0)
            return http_fail(RELHOST_EINVAL,
                             "%s %s: an Authorization header and bearer_env/basic_env "
                             "both given; drop the header (the host builds it from the variable)",
                             method, shown);
    }
    if (r->body_len > 0 && !r->body)
        return http_fail(RELHOST_EINVAL, "%s %s: body_len is %zu but body is NULL", method, shown,
                         r->body_len);
    if (r->bearer_env && r->basic_env)
        return http_fail(RELHOST_EINVAL,
                         "%s %s: both bearer_env (%s) and basic_env (%s) given; use "
                         "one",
                         method, shown, r->bearer_env, r->basic_env);
    if (r->basic_env && (!r->basic_user || !*r->basic_user))
        return http_fail(RELHOST_EINVAL, "%s %s: basic_env (%s) needs basic_user (e.g. \"api\")",
                         method, shown, r->basic_env);
    if (r->basic_user && !r->basic_env)
        return http_fail(RELHOST_EINVAL,
                         "%s %s: basic_user \"%s\" needs basic_env, the name of the "
                         "variable holding the password",
                         method, shown, r->basic_user);
    if (r->basic_user && strchr(r->basic_user, ':'))
        return http_fail(RELHOST_EINVAL,
                         "%s %s: basic_user \"%s\" contains ':', which HTTP basic "
                         "auth cannot carry",
                         method, shown, r->basic_user);
    if (isnan(r->connect_timeout_s) || r->connect_timeout_s < 0 || isnan(r->timeout_s) ||
        r->timeout_s < 0 || isnan(r->budget_s) || r->budget_s < 0 || r->max_attempts < 0)
        return http_fail(RELHOST_EINVAL,
                         "%s %s: negative timeout, budget or max_attempts; use 0 "
                         "for the default or a positive value",
                         method, shown);
    if (!http_plain_ok(r->url)) {
        char buf[160];
        const char *cred = credential_of(r, buf, sizeof buf);
        if (cred)
            return http_fail(RELHOST_EINVAL,
                             "%s %s: refusing to send %s over plain http to a host "
                             "that is not loopback: anyone on the way could read it; use https:// "
                             "(plain http may carry credentials only to 127.0.0.0/8, ::1 or "
                             "localhost, for tests)",
                             method, shown, cred);
    }
    return 0;
}
