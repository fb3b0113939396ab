/* SPDX-License-Identifier: MIT */
/*
 * metrics_wandb: JSON as W&B and wandb write it (bare NaN and Infinity), numbers, nested keys,
 * and a run's keys and a GraphQL reply's errors as message text.
 */
#include "metrics_wandb_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- JSON ------------------------------------------------------------------------------------ */

/*
 * Python's json writes NaN and Infinity as bare words, which is not JSON; wandb's summary file and
 * some servers carry them. Quote them (outside strings) so the document parses and the value is
 * reported as not finite instead of the whole reply as unreadable. NULL: nothing to quote.
 */
static char *wb_quote_nonfinite(const char *s, size_t n, size_t *out_len)
{
    static const char *const toks[] = {"-Infinity", "Infinity", "NaN"};
    char *o = malloc(2 * n + 1); /* the shortest token, 3 bytes, grows by 2 */
    int in_str = 0, esc = 0, changed = 0;
    size_t k = 0;
    if (o == NULL)
        return NULL;
    for (size_t i = 0; i < n;) {
        char c = s[i];
        if (in_str) {
            o[k++] = c;
            i++;
            if (esc)
                esc = 0;
            else if (c == '\\')
                esc = 1;
            else if (c == '"')
                in_str = 0;
            continue;
        }
        size_t t = 0, tl = 0;
        for (; t < 3; t++) {
            tl = strlen(toks[t]);
            if (n - i >= tl && memcmp(s + i, toks[t], tl) == 0)
                break;
        }
        if (t < 3) {
            o[k++] = '"';
            memcpy(o + k, s + i, tl);
            k += tl;
            o[k++] = '"';
            i += tl;
            changed = 1;
            continue;
        }
        in_str = c == '"';
        o[k++] = c;
        i++;
    }
    if (!changed) {
        free(o);
        return NULL;
    }
    o[k] = '\0';
    *out_len = k;
    return o;
}

/* Parse an object or array; err keeps the position of the first attempt on failure. */
json_t *wb_json_parse(const char *s, size_t n, json_error_t *err)
{
    json_t *j = json_loadb(s, n, 0, err);
    if (j != NULL)
        return j;
    size_t m = 0;
    char *q = wb_quote_nonfinite(s, n, &m);
    if (q == NULL)
        return NULL;
    json_error_t err2;
    j = json_loadb(q, m, 0, &err2);
    free(q);
    return j;
}

enum wb_num wb_number(const json_t *j, double *v)
{
    if (json_is_integer(j)) {
        *v = (double)json_integer_value(j);
        return WB_NUM;
    }
    if (json_is_real(j)) {
        *v = json_real_value(j);
        return isfinite(*v) ? WB_NUM : WB_NONFINITE;
    }
    if (json_is_string(j)) {
        static const char *const words[] = {"nan", "infinity", "-infinity", "+infinity",
                                            "inf", "-inf",     "+inf",      NULL};
        for (size_t i = 0; words[i] != NULL; i++)
            if (strcasecmp(json_string_value(j), words[i]) == 0)
                return WB_NONFINITE;
    }
    return WB_NOTNUM;
}

/* obj[key]; a key absent as written may name a nested value with dots ("eval.success" is
 * {"eval": {"success": ...}}, which is how wandb keeps a logged dict in the summary). */
const json_t *wb_lookup(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    if (v != NULL || strchr(key, '.') == NULL)
        return v;
    char part[512];
    const char *p = key;
    v = obj;
    while (v != NULL) {
        const char *dot = strchr(p, '.');
        size_t n = dot != NULL ? (size_t)(dot - p) : strlen(p);
        if (n == 0 || n >= sizeof(part) || !json_is_object(v))
            return NULL;
        memcpy(part, p, n);
        part[n] = '\0';
        v = json_object_get(v, part);
        if (dot == NULL)
            return v;
        p = dot + 1;
    }
    return NULL;
}

/* "a, b, c and 12 more": the first user keys (wandb's own start with '_'). */
void wb_keys_text(const json_t *obj, char *buf, size_t cap)
{
    size_t len = 0, shown = 0, more = 0;
    const char *k;
    json_t *v;
    buf[0] = '\0';
    if (json_is_object(obj)) {
        json_object_foreach((json_t *)obj, k, v)
        {
            (void)v;
            if (k[0] == '_')
                continue;
            if (shown == WB_KEYS_SHOWN) {
                more++;
                continue;
            }
            char c[96];
            wb_clean(c, sizeof(c), k, strlen(k));
            wb_cat(buf, cap, &len, "%s%s", shown ? ", " : "", c);
            shown++;
        }
    }
    if (shown == 0)
        wb_cat(buf, cap, &len, "none");
    if (more > 0)
        wb_cat(buf, cap, &len, " and %zu more", more);
}

/* The messages of a GraphQL "errors" value, joined: objects by their message (with path and
 * code when given), other entries (["Server down"]) as they are. */
void wb_errors_text(const json_t *errs, char *buf, size_t cap)
{
    size_t len = 0, n = json_is_array(errs) ? json_array_size(errs) : 1;
    buf[0] = '\0';
    for (size_t i = 0; i < n && i < 5; i++) {
        const json_t *e = json_is_array(errs) ? json_array_get(errs, i) : errs;
        char piece[320];
        if (json_is_string(e)) {
            wb_clean(piece, sizeof(piece), json_string_value(e), json_string_length(e));
        } else if (json_is_object(e) && json_is_string(json_object_get(e, "message"))) {
            const json_t *m = json_object_get(e, "message");
            const json_t *code = json_object_get(json_object_get(e, "extensions"), "code");
            const json_t *path = json_object_get(e, "path");
            size_t pl = 0;
            wb_clean(piece, sizeof(piece), json_string_value(m), json_string_length(m));
            pl = strlen(piece);
            if (json_is_string(code)) {
                char c[64];
                wb_clean(c, sizeof(c), json_string_value(code), json_string_length(code));
                wb_cat(piece, sizeof(piece), &pl, " [%s]", c);
            }
            if (json_is_array(path) && json_array_size(path) > 0) {
                wb_cat(piece, sizeof(piece), &pl, " (at ");
                for (size_t k = 0; k < json_array_size(path) && k < 6; k++) {
                    const json_t *pe = json_array_get(path, k);
                    char c[64];
                    if (json_is_string(pe))
                        wb_clean(c, sizeof(c), json_string_value(pe), json_string_length(pe));
                    else
                        snprintf(c, sizeof(c), "%lld", (long long)json_integer_value(pe));
                    wb_cat(piece, sizeof(piece), &pl, "%s%s", k ? "." : "", c);
                }
                wb_cat(piece, sizeof(piece), &pl, ")");
            }
        } else {
            char *d = json_dumps(e, JSON_COMPACT | JSON_ENCODE_ANY);
            wb_clean(piece, sizeof(piece), d != NULL ? d : "?", d != NULL ? strlen(d) : 1);
            free(d);
        }
        wb_cat(buf, cap, &len, "%s%s", i ? "; " : "", piece);
    }
    if (n > 5)
        wb_cat(buf, cap, &len, " (and %zu more)", n - 5);
}
