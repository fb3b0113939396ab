/* SPDX-License-Identifier: MIT */
/* jarena.c - the region jansson's values come from inside a jarena_begin() window (jarena.h). */
#include "base/jarena.h"

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#if defined(__SANITIZE_ADDRESS__)
#define JARENA_OFF 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define JARENA_OFF 1
#endif
#endif

/* Address space reserved (not memory: pages are touched only as values fill them). A window
 * that outgrows it goes on with malloc() for the rest. */
#define JARENA_CAP ((size_t)1 << 30)
/* Bytes kept when the region empties (the rest goes back to the system): a command that opens
 * many small states one after the other (`relhost releases`) reuses the same warm pages. */
#define JARENA_KEEP ((size_t)4 << 20)
/* Every value is aligned as malloc() aligns. */
#define JARENA_ALIGN 16

static char *base;               /* the region; NULL: none (not reserved, or reserving failed) */
static size_t used;              /* bytes handed out; touched only by the window's thread */
static atomic_size_t refs;       /* live values, plus one while the window is open */
static atomic_int busy;          /* 1 from jarena_begin() until the region is emptied */
static _Thread_local int active; /* this thread is inside the window */
static pthread_once_t once = PTHREAD_ONCE_INIT;

int jarena_owns(const void *p) { return base && (uintptr_t)p - (uintptr_t)base < JARENA_CAP; }

/* One reference fewer; the last one empties the region: its pages go back to the system and
 * the next window may start. */
static void unref(void)
{
    if (atomic_fetch_sub_explicit(&refs, 1, memory_order_acq_rel) != 1)
        return;
    if (used > JARENA_KEEP)
        madvise(base + JARENA_KEEP, used - JARENA_KEEP, MADV_DONTNEED);
    used = 0;
    atomic_store_explicit(&busy, 0, memory_order_release);
}

static void *jarena_malloc(size_t n)
{
    if (active) {
        size_t sz = n ? (n + JARENA_ALIGN - 1) & ~(size_t)(JARENA_ALIGN - 1) : JARENA_ALIGN;
        if (sz >= n && sz <= JARENA_CAP - used) {
            void *p = base + used;
            used += sz;
            atomic_fetch_add_explicit(&refs, 1, memory_order_relaxed);
            return p;
        }
    }
    return malloc(n);
}

static void jarena_free(void *p)
{
    if (jarena_owns(p))
        unref();
    else
        free(p);
}

static void reserve(void)
{
    void *p = mmap(NULL, JARENA_CAP, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        return; /* no region: every window answers 0 and jansson keeps malloc() */
    /* huge pages where the system offers them: a 50 MB state is then 25 page faults, not
     * 12,000 (advice only: refused, the region works with small pages) */
    madvise(p, JARENA_CAP, MADV_HUGEPAGE);
    base = p;
    json_set_alloc_funcs(jarena_malloc, jarena_free);
}

int jarena_begin(void)
{
#ifdef JARENA_OFF
    return 0;
#else
    int idle = 0;
    pthread_once(&once, reserve);
    if (!base || active ||
        !atomic_compare_exchange_strong_explicit(&busy, &idle, 1, memory_order_acquire,
                                                 memory_order_relaxed))
        return 0;
    atomic_store_explicit(&refs, 1, memory_order_relaxed);
    active = 1;
    return 1;
#endif
}

void jarena_end(void)
{
    if (!active)
        return;
    active = 0;
    unref();
}

size_t jarena_live(void) { return atomic_load_explicit(&refs, memory_order_acquire); }
