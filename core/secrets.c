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

char *url_encode(const char *s)
{
    strbuf b;
    sb_init(&b);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~')
            sb_putc(&b, (char)c);
        else
            sb_printf(&b, "%%%02X", c);
    }
    return sb_take(&b);
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

void secrets_add(const char *value)
{
    char *enc;
    if (!value || strlen(value) < SECRETS_MIN_LEN)
        return;
    secrets_add_derived(value);
    enc = url_encode(value);
    add_form(enc);
    free(enc);
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
