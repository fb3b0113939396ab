/* SPDX-License-Identifier: MIT */
/*
 * metrics_wandb: small helpers its files share: the names W&B allows, bounded and cleaned text
 * for messages, the job's environment, the metric rows.
 */
#include "metrics_wandb_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int wb_alnum(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

unsigned char wb_lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c | 0x20) : c;
}

int wb_ieq(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (wb_lower((unsigned char)a[i]) != wb_lower((unsigned char)b[i]))
            return 0;
    return 1;
}

/* A byte of an entity, project or run id in a URL. W&B forbids / \ # ? % : in them; we accept
 * the characters its own ids and names use, which also ends a URL at ANSI colour escapes. */
int wb_name_char(unsigned char c) { return wb_alnum(c) || c == '_' || c == '-' || c == '.'; }

int wb_valid_name(const char *s)
{
    size_t n = 0;
    for (; s[n] != '\0'; n++)
        if (!wb_name_char((unsigned char)s[n]))
            return 0;
    return n > 0 && n <= WB_NAME_MAX;
}

/* Plan-chosen metric names become report columns: keep them to a safe alphabet. */
int wb_valid_metric(const char *s) { return s != NULL && wb_valid_name(s); }

int wb_valid_env_name(const char *s)
{
    if (s == NULL || s[0] == '\0' || (s[0] >= '0' && s[0] <= '9'))
        return 0;
    for (; *s; s++)
        if (!wb_alnum((unsigned char)*s) && *s != '_')
            return 0;
    return 1;
}

/* Copy text from a server or a file into a message: printable, bounded, never a quote. */
void wb_clean(char *dst, size_t cap, const char *s, size_t n)
{
    size_t k = 0;
    if (cap == 0)
        return;
    for (size_t i = 0; i < n && k + 1 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        dst[k++] = (c >= 0x20 && c < 0x7f && c != '"') ? (char)c : (c == '\n' ? ' ' : '?');
    }
    if (k + 1 == cap && n > k && cap > 4) {
        memcpy(dst + cap - 4, "...", 3); /* say that the text goes on */
        k = cap - 1;
    }
    dst[k] = '\0';
}

/* Append to a bounded message buffer; silently stops at its end. */
void wb_cat(char *buf, size_t cap, size_t *len, const char *fmt, ...)
{
    if (*len + 1 >= cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + *len, cap - *len, fmt, ap);
    va_end(ap);
    if (n > 0)
        *len = (size_t)n < cap - *len ? *len + (size_t)n : cap - 1;
}

char *wb_strdup(const char *s)
{
    if (s == NULL)
        return NULL;
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d != NULL)
        memcpy(d, s, n);
    return d;
}

/* The value of NAME in a NULL-terminated "NAME=VALUE" list; the last entry wins, as it would in
 * the job's environment. */
const char *wb_env_lookup(const char *const *env, const char *name)
{
    const char *v = NULL;
    size_t n = name != NULL ? strlen(name) : 0;
    for (size_t i = 0; env != NULL && n > 0 && env[i] != NULL; i++)
        if (strncmp(env[i], name, n) == 0 && env[i][n] == '=')
            v = env[i] + n + 1;
    return v;
}

const struct metrics_wandb_metric *wb_row(const struct metrics_wandb_conf *conf, size_t i)
{
    return (const struct metrics_wandb_metric *)((const char *)conf->metrics.items +
                                                 i * sizeof(struct metrics_wandb_metric));
}
