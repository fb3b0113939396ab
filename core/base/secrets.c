/* SPDX-License-Identifier: MIT */
#include "base/secrets.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

static strvec forms;
static strvec sealed;
/* The first bytes of the registered forms: the redactor compares only at those. */
static unsigned char first_byte[256];
/* The longest registered form: how far a decision at one byte looks ahead. */
static size_t max_form;

static void add_form(const char *f)
{
    if (strlen(f) < SECRETS_MIN_LEN)
        return;
    for (size_t i = 0; i < forms.n; i++)
        if (strcmp(forms.v[i], f) == 0)
            return;
    sv_push(&forms, f);
    first_byte[(unsigned char)f[0]] = 1;
    if (strlen(f) > max_form)
        max_form = strlen(f);
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

/* The value as a JSON string holds it ('"' and '\\' escaped, control characters as \n or
 * \u00XX, '/' as is or as \/): a job that prints a config, a plugin that quotes a reply. Only
 * the forms that differ from the raw value add anything. */
static void add_json_forms(const char *value)
{
    for (int esc_slash = 0; esc_slash < 2; esc_slash++) {
        strbuf b;
        sb_init(&b);
        for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
            switch (*p) {
            case '"': sb_puts(&b, "\\\""); break;
            case '\\': sb_puts(&b, "\\\\"); break;
            case '\n': sb_puts(&b, "\\n"); break;
            case '\r': sb_puts(&b, "\\r"); break;
            case '\t': sb_puts(&b, "\\t"); break;
            case '\b': sb_puts(&b, "\\b"); break;
            case '\f': sb_puts(&b, "\\f"); break;
            case '/': sb_puts(&b, esc_slash ? "\\/" : "/"); break;
            default:
                if (*p < 0x20)
                    sb_printf(&b, "\\u%04x", *p);
                else
                    sb_putc(&b, (char)*p);
            }
        }
        if (strcmp(b.s ? b.s : "", value) != 0)
            add_form(b.s);
        sb_free(&b);
    }
}

/* A value of several lines (a PEM key, a JSON credential) is shown line by line by whatever
 * prints it a line at a time: each line long enough is a secret of its own. */
static void add_lines(const char *value)
{
    const char *p = value;
    if (!strpbrk(value, "\r\n"))
        return;
    while (*p) {
        size_t n = strcspn(p, "\r\n");
        if (n >= SECRETS_MIN_LEN) {
            char *line = xstrndup(p, n);
            secrets_add(line);
            free(line);
        }
        p += n;
        p += strspn(p, "\r\n");
    }
}

void secrets_add(const char *value)
{
    if (!value || strlen(value) < SECRETS_MIN_LEN)
        return;
    add_lines(value);
    add_url_parts(value);
    add_json_forms(value);
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

/* Whether a text was cut here: its end, or an ellipsis ("..." or U+2026) that a shortener
 * appended. A message cut inside a secret ("...token=abc123def4...") must not show the start
 * of it, whoever shortened the text before it reached the redactor. */
static int cut_at(const char *s, size_t n)
{
    return n == 0 || (n >= 3 && memcmp(s, "...", 3) == 0) ||
           (n >= 3 && memcmp(s, "\xe2\x80\xa6", 3) == 0);
}

/* Masks s (n bytes) into out. When `final` is 0 the text goes on after s: a byte is decided
 * only when the longest form and a "..." after it fit before n (so every decision is the one the
 * whole text would get); the bytes from the first undecided one on are left out. Returns how many
 * bytes of s were decided and written. */
static size_t redact_span(strbuf *out, const char *s, size_t n, int final)
{
    size_t i = 0, start = 0, look = max_form + 3;
    while (i < n && (final || n - i >= look)) {
        size_t hit = 0;
        if (!first_byte[(unsigned char)s[i]]) {
            i++;
            continue;
        }
        for (size_t k = 0; k < forms.n; k++) {
            const char *f = forms.v[k];
            size_t fl = strlen(f), m = 0;
            while (m < fl && i + m < n && s[i + m] == f[m])
                m++;
            if (m == fl) {
                if (fl > hit)
                    hit = fl;
            } else if (m >= SECRETS_MIN_LEN && m > hit && cut_at(s + i + m, n - i - m)) {
                hit = m; /* text shortened inside a secret: its start is masked as well */
            }
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
    sb_add(out, s + start, i - start);
    return i;
}

void secrets_redact(strbuf *out, const char *s, size_t n)
{
    if (forms.n == 0) {
        sb_add(out, s, n);
        return;
    }
    redact_span(out, s, n, 1);
}

void secrets_stream_init(secrets_stream *st)
{
    sb_init(&st->pend);
    st->held_max = 0;
}

void secrets_stream_feed(secrets_stream *st, strbuf *out, const char *s, size_t n)
{
    size_t done;
    if (forms.n == 0 && st->pend.len == 0) {
        sb_add(out, s, n);
        return;
    }
    if (st->pend.len == 0) {
        done = redact_span(out, s, n, 0);
        sb_add(&st->pend, s + done, n - done);
    } else {
        sb_add(&st->pend, s, n);
        done = redact_span(out, st->pend.s, st->pend.len, 0);
        memmove(st->pend.s, st->pend.s + done, st->pend.len - done);
        st->pend.len -= done;
        st->pend.s[st->pend.len] = '\0';
    }
    if (st->pend.len > st->held_max)
        st->held_max = st->pend.len;
}

void secrets_stream_end(secrets_stream *st, strbuf *out)
{
    if (st->pend.len)
        secrets_redact(out, st->pend.s, st->pend.len);
    sb_free(&st->pend);
}

char *secrets_redact_dup(const char *s)
{
    strbuf b;
    sb_init(&b);
    secrets_redact(&b, s, strlen(s));
    return sb_take(&b);
}

size_t secrets_count(void) { return forms.n; }

void secrets_clear(void)
{
    sv_free(&forms);
    sv_free(&sealed);
    memset(first_byte, 0, sizeof first_byte);
    max_form = 0;
}

int secrets_name_looks_secret(const char *name)
{
    static const char *const words[] = {"TOKEN",       "SECRET",     "PASSWORD", "PASSWD",
                                        "API_KEY",     "APIKEY",     "WEBHOOK",  "CREDENTIAL",
                                        "PRIVATE_KEY", "ACCESS_KEY", NULL};
    size_t n = name ? strlen(name) : 0;
    for (size_t w = 0; words[w]; w++) {
        size_t k = strlen(words[w]);
        for (size_t i = 0; i + k <= n; i++) {
            size_t j = 0;
            while (j < k && toupper((unsigned char)name[i + j]) == words[w][j])
                j++;
            /* The word must end the name or a part of it ('_'), plural allowed: HF_TOKEN,
             * PGPASSWORD and GOOGLE_APPLICATION_CREDENTIALS look secret, TOKENIZERS_PARALLELISM
             * does not. */
            if (j == k) {
                const char *after = name + i + k;
                if (*after == 'S' || *after == 's')
                    after++;
                while (*after >= '0' && *after <= '9')
                    after++;
                if (*after == '\0' || *after == '_')
                    return 1;
            }
        }
    }
    return 0;
}

int secrets_sealed_n(const char *name, size_t n)
{
    for (size_t i = 0; name && i < sealed.n; i++)
        if (strncmp(sealed.v[i], name, n) == 0 && sealed.v[i][n] == '\0')
            return 1;
    return 0;
}

int secrets_sealed(const char *name) { return name && secrets_sealed_n(name, strlen(name)); }

const strvec *secrets_sealed_names(void) { return &sealed; }

size_t secrets_seal(const char *name)
{
    const char *v;
    if (!name || !*name)
        return 0;
    if (!secrets_sealed(name))
        sv_push(&sealed, name);
    v = getenv(name);
    if (!v || !*v)
        return 0;
    secrets_add(v);
    return strlen(v);
}

void secrets_seal_environ(strvec *short_names)
{
    for (char **e = environ; e && *e; e++) {
        const char *eq = strchr(*e, '=');
        char *name;
        if (!eq || eq == *e)
            continue;
        name = xstrndup(*e, (size_t)(eq - *e));
        if (secrets_name_looks_secret(name)) {
            size_t len = secrets_seal(name);
            if (len > 0 && len < SECRETS_MIN_LEN && short_names)
                sv_push(short_names, name);
        }
        free(name);
    }
}

void secrets_masked_names(strvec *out)
{
    for (size_t i = 0; i < sealed.n; i++) {
        const char *v = getenv(sealed.v[i]);
        if (v && strlen(v) >= SECRETS_MIN_LEN)
            sv_push(out, sealed.v[i]);
    }
}
