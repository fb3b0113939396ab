/* SPDX-License-Identifier: MIT */
#include "secrets.h"

#include <stdlib.h>
#include <string.h>

static strvec forms;

static void add_form(const char *f)
{
    if (strlen(f) < SECRETS_MIN_LEN)
        return;
    for (size_t i = 0; i < forms.n; i++)
        if (strcmp(forms.v[i], f) == 0)
            return;
    sv_push(&forms, f);
}

char *base64_encode(const unsigned char *p, size_t n)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *out = xmalloc(4 * ((n + 2) / 3) + 1);
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16;
        if (i + 1 < n)
            v |= (unsigned)p[i + 1] << 8;
        if (i + 2 < n)
            v |= p[i + 2];
        out[o++] = tbl[(v >> 18) & 63];
        out[o++] = tbl[(v >> 12) & 63];
        out[o++] = i + 1 < n ? tbl[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? tbl[v & 63] : '=';
    }
    out[o] = '\0';
    return out;
}


void secrets_add_derived(const char *value)
{
    char *b64;
    add_form(value);
    b64 = base64_encode((const unsigned char *)value, strlen(value));
    /* Drop the padding: a secret inside a longer base64 text is not followed by '='. */
    b64[strcspn(b64, "=")] = '\0';
    add_form(b64);
    free(b64);
}

/* Percent-encoding with lower-case hex digits, or leaving '/' alone (Python's quote()): other
 * encoders than ours put a secret into URLs and form bodies. */
static char *url_encode_variant(const char *s, int lower_hex, int keep_slash)
{
    strbuf b;
    sb_init(&b);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/'))
            sb_putc(&b, (char)c);
        else
            sb_printf(&b, lower_hex ? "%%%02x" : "%%%02X", c);
    }
    return sb_take(&b);
}

char *url_encode(const char *s) { return url_encode_variant(s, 0, 0); }

/*
 * Inside a longer base64 text (a "user:KEY" pair, a JSON blob, a config file) a secret starts at
 * any byte offset, and its encoding then differs with offset mod 3; the characters at its two
 * edges also mix in neighbouring bytes. So register, for each offset, only the characters that
 * encode the secret's bits alone: they appear whatever surrounds the secret.
 */
static void add_base64_cores(const char *value)
{
    size_t n = strlen(value);
    for (size_t k = 0; k < 3; k++) {
        unsigned char *buf = xcalloc(k + n + 1, 1);
        size_t first = (8 * k + 5) / 6, end = (8 * (k + n)) / 6;
        char *b64;
        memcpy(buf + k, value, n);
        b64 = base64_encode(buf, k + n);
        if (end > first) {
            b64[end] = '\0';
            add_form(b64 + first);
        }
        free(b64);
        free(buf);
    }
}

/* A secret URL (a webhook) carries its credential in a path segment or query value; the
 * segment alone may appear in a message (an API echoing it), so each long one is a secret too. */
static void add_url_parts(const char *value)
{
    const char *p = strstr(value, "://");
    if (!p)
        return;
    p = strchr(p + 3, '/');
    while (p && *p) {
        size_t n;
        p++;
        n = strcspn(p, "/?&=#");
        if (n >= 16) {
            char *seg = xstrndup(p, n);
            secrets_add(seg);
            free(seg);
        }
        p += n;
    }
}

void secrets_add(const char *value)
{
    if (!value || strlen(value) < SECRETS_MIN_LEN)
        return;
    add_url_parts(value);
    secrets_add_derived(value);
    add_base64_cores(value);
    for (int lower = 0; lower < 2; lower++) {
        for (int slash = 0; slash < 2; slash++) {
            char *enc = url_encode_variant(value, lower, slash);
            add_form(enc);
            free(enc);
        }
    }
}

const char *secrets_getenv(const char *name)
{
    const char *v = name ? getenv(name) : NULL;
    if (!v || !*v)
        return NULL;
    secrets_add(v);
    return v;
}

void secrets_redact(strbuf *out, const char *s, size_t n)
{
    size_t i = 0, start = 0;
    if (forms.n == 0) {
        sb_add(out, s, n);
        return;
    }
    while (i < n) {
        size_t hit = 0;
        for (size_t k = 0; k < forms.n; k++) {
            size_t fl = strlen(forms.v[k]);
            if (fl <= n - i && memcmp(s + i, forms.v[k], fl) == 0 && fl > hit)
                hit = fl;
        }
        if (hit) {
            sb_add(out, s + start, i - start);
            sb_puts(out, SECRETS_MASK);
            i += hit;
            start = i;
        } else {
            i++;
        }
    }
    sb_add(out, s + start, n - start);
}

char *secrets_redact_dup(const char *s)
{
    strbuf b;
    sb_init(&b);
    secrets_redact(&b, s, strlen(s));
    return sb_take(&b);
}

size_t secrets_count(void) { return forms.n; }

void secrets_clear(void) { sv_free(&forms); }
