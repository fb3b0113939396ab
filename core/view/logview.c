/* SPDX-License-Identifier: MIT */
#include "view/logview.h"

#include "base/secrets.h"
#include "record/record.h"
#include "record/record_write.h"
#include "record/state.h"

#include <stdlib.h>
#include <string.h>

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int same_names(const release_record *head, const strvec *names)
{
    if (head->nsealed != names->n)
        return 0;
    for (size_t i = 0; i < names->n; i++)
        if (strcmp(head->sealed_env[i], names->v[i]) != 0)
            return 0;
    return 1;
}

void logview_record_sealed(struct state *st)
{
    release_record head;
    strvec names = {0};
    size_t i;
    record_read_head(state_root(st), &head);
    secrets_masked_names(&names);
    for (i = 0; i < head.nsealed; i++) {
        const char *s = head.sealed_env[i];
        int dup = 0;
        if (!*s)
            continue;
        for (size_t j = 0; j < names.n && !dup; j++)
            dup = strcmp(names.v[j], s) == 0;
        if (!dup)
            sv_push(&names, s);
    }
    if (names.n > 0)
        qsort(names.v, names.n, sizeof names.v[0], cmp_str);
    /* Unchanged: journal nothing. */
    if (names.n > 0 && !same_names(&head, &names))
        record_write_sealed_env(st, (const char *const *)names.v, names.n);
    record_free(&head);
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
    sb_printf(&b,
              " %s set when the job ran but %s not set now, so %s value%s could not be "
              "masked; run this command with the same secret variables set]",
              missing == 1 ? "was" : "were", missing == 1 ? "is" : "are",
              missing == 1 ? "its" : "their", missing == 1 ? "" : "s");
    {
        char *body = sb_take(&b), *line = xasprintf("[log withheld: %s", body);
        free(body);
        return line;
    }
}
