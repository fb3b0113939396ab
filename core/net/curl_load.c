/* SPDX-License-Identifier: MIT */
/*
 * curl_load.c - libcurl, loaded when the first HTTP call needs it, not at every start.
 *
 * Linking libcurl made the dynamic loader map and relocate it and the thirty libraries it
 * needs (TLS, Kerberos, LDAP, HTTP/2...) before main(): about 5 ms of every relhost start, the
 * bulk of `relhost --check` and of each isolated plugin's server, although most commands never
 * speak HTTP. relhost is therefore built against libcurl's headers only, and this file defines
 * the few libcurl functions core/net calls, each forwarding to the real one, which the first
 * call to curl_global_init() loads with dlopen(). The callers keep libcurl's own prototypes and
 * its compile-time type checks of curl_easy_setopt().
 *
 * When the library cannot be loaded, curl_global_init() fails with CURLE_FAILED_INIT and
 * curl_easy_strerror() says which library and why, so http_init() reports it like any other
 * initialisation failure. No other function is reached before a successful curl_global_init().
 * The variadic setters forward their one argument by the type its option number announces,
 * exactly as libcurl reads it (CURLOPTTYPE_* ranges).
 */
#include <curl/curl.h>

#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* libcurl's soname since 7.16 (2006); Debian's GnuTLS build as the second choice. */
static const char *const sonames[] = {"libcurl.so.4", "libcurl-gnutls.so.4", NULL};

#define CURL_FNS(X)                                                           \
    X(CURLcode, global_init, (long))                                          \
    X(void, global_cleanup, (void))                                           \
    X(CURL *, easy_init, (void))                                              \
    X(void, easy_cleanup, (CURL *))                                           \
    X(CURLcode, easy_setopt, (CURL *, CURLoption, ...))                       \
    X(CURLcode, easy_getinfo, (CURL *, CURLINFO, ...))                        \
    X(const char *, easy_strerror, (CURLcode))                                \
    X(time_t, getdate, (const char *, const time_t *))                        \
    X(struct curl_slist *, slist_append, (struct curl_slist *, const char *)) \
    X(void, slist_free_all, (struct curl_slist *))                            \
    X(CURLM *, multi_init, (void))                                            \
    X(CURLMcode, multi_cleanup, (CURLM *))                                    \
    X(CURLMcode, multi_setopt, (CURLM *, CURLMoption, ...))                   \
    X(CURLMcode, multi_add_handle, (CURLM *, CURL *))                         \
    X(CURLMcode, multi_remove_handle, (CURLM *, CURL *))                      \
    X(CURLMcode, multi_socket_action, (CURLM *, curl_socket_t, int, int *))   \
    X(CURLMsg *, multi_info_read, (CURLM *, int *))                           \
    X(const char *, multi_strerror, (CURLMcode))

#define FIELD(ret, name, args) ret(*name) args;
static struct {
    CURL_FNS(FIELD) int loaded;
    char why[512];
} C;
#undef FIELD

static int load(void)
{
    void *h = NULL;
    if (C.loaded)
        return 0;
    for (size_t i = 0; sonames[i] && !h; i++)
        h = dlopen(sonames[i], RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *e = dlerror();
        snprintf(C.why, sizeof C.why,
                 "libcurl (%s) could not be loaded: %s; install libcurl (Debian: libcurl4)",
                 sonames[0], e ? e : "not found");
        return -1;
    }
#define SYM(ret, name, args)                                                                      \
    if (!(*(void **)&C.name = dlsym(h, "curl_" #name))) {                                         \
        snprintf(C.why, sizeof C.why, "%s has no curl_" #name ": too old a libcurl", sonames[0]); \
        return -1;                                                                                \
    }
    CURL_FNS(SYM)
#undef SYM
    C.loaded = 1;
    return 0;
}

CURLcode curl_global_init(long flags)
{
    if (load() != 0)
        return CURLE_FAILED_INIT;
    return C.global_init(flags);
}

void curl_global_cleanup(void)
{
    if (C.loaded)
        C.global_cleanup();
}

const char *curl_easy_strerror(CURLcode c)
{
    return C.loaded ? C.easy_strerror(c) : (C.why[0] ? C.why : "libcurl is not loaded");
}

CURL *curl_easy_init(void) { return C.easy_init(); }
void curl_easy_cleanup(CURL *e) { C.easy_cleanup(e); }
time_t curl_getdate(const char *s, const time_t *unused) { return C.getdate(s, unused); }
struct curl_slist *curl_slist_append(struct curl_slist *l, const char *s)
{
    return C.slist_append(l, s);
}
void curl_slist_free_all(struct curl_slist *l) { C.slist_free_all(l); }
CURLM *curl_multi_init(void) { return C.multi_init(); }
CURLMcode curl_multi_cleanup(CURLM *m) { return C.multi_cleanup(m); }
CURLMcode curl_multi_add_handle(CURLM *m, CURL *e) { return C.multi_add_handle(m, e); }
CURLMcode curl_multi_remove_handle(CURLM *m, CURL *e) { return C.multi_remove_handle(m, e); }
CURLMcode curl_multi_socket_action(CURLM *m, curl_socket_t s, int mask, int *running)
{
    return C.multi_socket_action(m, s, mask, running);
}
CURLMsg *curl_multi_info_read(CURLM *m, int *left) { return C.multi_info_read(m, left); }
const char *curl_multi_strerror(CURLMcode c) { return C.multi_strerror(c); }

/* The one argument after an option, read as libcurl reads it: by the option's type range. */
typedef void (*any_fn)(void);
#define FORWARD_OPTION(call, handle, option, ap)           \
    do {                                                   \
        if ((option) < CURLOPTTYPE_OBJECTPOINT) {          \
            long v = va_arg(ap, long);                     \
            rc = call(handle, option, v);                  \
        } else if ((option) < CURLOPTTYPE_FUNCTIONPOINT) { \
            void *v = va_arg(ap, void *);                  \
            rc = call(handle, option, v);                  \
        } else if ((option) < CURLOPTTYPE_OFF_T) {         \
            any_fn v = va_arg(ap, any_fn);                 \
            rc = call(handle, option, v);                  \
        } else if ((option) < CURLOPTTYPE_BLOB) {          \
            curl_off_t v = va_arg(ap, curl_off_t);         \
            rc = call(handle, option, v);                  \
        } else {                                           \
            void *v = va_arg(ap, void *);                  \
            rc = call(handle, option, v);                  \
        }                                                  \
    } while (0)

#undef curl_easy_setopt
CURLcode curl_easy_setopt(CURL *e, CURLoption option, ...)
{
    CURLcode rc;
    va_list ap;
    va_start(ap, option);
    FORWARD_OPTION(C.easy_setopt, e, option, ap);
    va_end(ap);
    return rc;
}

#undef curl_multi_setopt
CURLMcode curl_multi_setopt(CURLM *m, CURLMoption option, ...)
{
    CURLMcode rc;
    va_list ap;
    va_start(ap, option);
    FORWARD_OPTION(C.multi_setopt, m, option, ap);
    va_end(ap);
    return rc;
}

/* Every CURLINFO takes a pointer to where the value goes. */
#undef curl_easy_getinfo
CURLcode curl_easy_getinfo(CURL *e, CURLINFO info, ...)
{
    void *where;
    va_list ap;
    va_start(ap, info);
    where = va_arg(ap, void *);
    va_end(ap);
    return C.easy_getinfo(e, info, where);
}
