/* SPDX-License-Identifier: MIT */
/* oom_preload: an LD_PRELOAD library that makes every allocation of 4 KiB or more fail (ENOMEM)
 * once the file named by RELHOST_TEST_OOM_AFTER exists, so that a test can starve relhost of
 * memory in the middle of a run, at a moment a job chooses (oom.py). */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t n);

static int starved(size_t n)
{
    const char *marker;
    if (n < 4096)
        return 0;
    marker = getenv("RELHOST_TEST_OOM_AFTER");
    if (!marker || access(marker, F_OK) != 0)
        return 0;
    errno = ENOMEM;
    return 1;
}

void *malloc(size_t n) { return starved(n) ? NULL : __libc_malloc(n); }

void *calloc(size_t n, size_t size)
{
    return size && n > (size_t)-1 / size ? __libc_calloc(n, size)
           : starved(n * size)           ? NULL
                                         : __libc_calloc(n, size);
}

void *realloc(void *p, size_t n) { return starved(n) ? NULL : __libc_realloc(p, n); }
