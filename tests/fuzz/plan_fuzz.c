/* SPDX-License-Identifier: MIT */
/*
 * plan_fuzz - a libFuzzer harness for the plan parser: core/plan/plan.c plan_parse() on any bytes
 * written as a plan file, with up to four --set values.
 *
 * Oracle: no crash, no leak (LeakSanitizer runs at exit and on -detect_leaks), no sanitizer
 * report; a refused plan always says why (error_last() is not empty) and its plan is still
 * freeable; an accepted plan has its path, folder, name, state and log folders. Parsing only:
 * no loader, no plugin, no state (plan_parse touches nothing outside the file).
 *
 * Input layout: the plan text, then for each FUZZ_RS (0x1e) a --set value (at most four; a NUL
 * ends a value early). Any bytes at all: libconfig sees what a user's editor might save.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/error.h"
#include "fuzz_util.h"
#include "plan/plan.h"

#define MAX_SETS 4

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char *path;
    const uint8_t *rs = memchr(data, 0x1e, size);
    size_t plan_len = rs ? (size_t)(rs - data) : size;
    char *sets[MAX_SETS + 1] = {0};
    size_t nsets = 0;

    if (path == NULL)
        path = fuzz_path(fuzz_tmpdir("plan"), "release.cfg");
    fuzz_write_file(path, data, plan_len);
    for (const uint8_t *p = rs; p != NULL && nsets < MAX_SETS;) {
        const uint8_t *s = p + 1, *end = data + size;
        const uint8_t *next = memchr(s, 0x1e, (size_t)(end - s));
        size_t n = (size_t)((next ? next : end) - s);
        sets[nsets] = strndup((const char *)s, n); /* a NUL in it ends it, as in argv */
        if (sets[nsets] == NULL)
            abort();
        nsets++;
        p = next;
    }

    plan_options o = {0};
    plan p;
    o.path = path;
    o.sets = nsets ? (const char *const *)sets : NULL;
    error_clear();
    int rc = plan_parse(&o, &p);
    if (rc != 0) {
        if (rc > 0)
            fuzz_die("plan_parse returned %d, not a RELHOST_E* code", rc);
        if (error_last()[0] == '\0')
            fuzz_die("plan_parse refused the plan (%d) without a message", rc);
    } else if (!p.path || !p.dir || !p.name || !p.state_dir || !p.log_dir || !p.registry_dir ||
               !p.baseline_path) {
        fuzz_die("plan_parse accepted the plan but left a path unset");
    }
    plan_free(&p);
    for (size_t i = 0; i < nsets; i++)
        free(sets[i]);
    return 0;
}
