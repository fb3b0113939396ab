/* SPDX-License-Identifier: MIT */
#include "view/logview.h"

#include "base/secrets.h"
#include "record/state.h"

#include <stdlib.h>
#include <string.h>

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void logview_record_sealed(struct state *st)
{
    const char *k[1] = {"sealed_env"};
    json_t *old = json_object_get(state_root(st), "sealed_env"), *v, *arr;
    strvec names = {0};
    size_t i, n;
    secrets_masked_names(&names);
    json_array_foreach(old, i, v)
    {
        const char *s = json_string_value(v);
        int dup = 0;
        if (!s || !*s)
            continue;
        for (size_t j = 0; j < names.n && !dup; j++)
            dup = strcmp(names.v[j], s) == 0;
        if (!dup)
            sv_push(&names, s);
    }
    if (names.n == 0) {
        sv_free(&names);
        return;
    }
    qsort(names.v, names.n, sizeof names.v[0], cmp_str);
    /* Unchanged: journal nothing. */
    n = json_is_array(old) ? json_array_size(old) : 0;
    if (n == names.n) {
        int same = 1;
        for (i = 0; i < n && same; i++)
            same = json_is_string(json_array_get(old, i)) &&
                   strcmp(json_string_value(json_array_get(old, i)), names.v[i]) == 0;
        if (same) {
            sv_free(&names);
            return;
        }
    }
    arr = json_array();
    for (i = 0; i < names.n; i++)
        json_array_append_new(arr, json_string(names.v[i]));
    state_set(st, k, 1, arr);
    sv_free(&names);
}

char *logview_withheld_names(const char *const *names, size_t n)
{
    size_t i, missing = 0;
    strbuf b;
    sb_init(&b);
    for (i = 0; i < n; i++) {
        const char *name = names[i];
        if (!name || !*name)
            continue;
        /* Sealing registers the value now, whatever sealed it (or did not) at start. */
        if (secrets_seal(name) >= SECRETS_MIN_LEN)
            continue;
        sb_printf(&b, "%s%s", missing ? ", " : "", name);
        missing++;
    }
    if (!missing) {
        sb_free(&b);
        return NULL;
    }
    sb_printf(&b, " %s set when the job ran but %s not set now, so %s value%s could not be "
                  "masked; run this command with the same secret variables set]",
              missing == 1 ? "was" : "were", missing == 1 ? "is" : "are",
              missing == 1 ? "its" : "their", missing == 1 ? "" : "s");
    {
        char *body = sb_take(&b), *line = xasprintf("[log withheld: %s", body);
        free(body);
        return line;
    }
}
