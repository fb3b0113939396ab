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

/* Regions, each its own window's, so that the values of one read (a state) may still be held
 * while the next is made (the status built from it). */
#define JARENA_SLOTS 4
/* Address space reserved per region (not memory: pages are touched only as values fill them).
 * A window that outgrows it goes on with malloc() for the rest. */
#define JARENA_CAP ((size_t)1 << 30)
/* Bytes kept when a region empties (the rest goes back to the system): a command that opens
 * many small states one after the other (`relhost releases`) reuses the same warm pages; one
 * huge page, so that a long run keeps at most that per region it ever used. */
#define JARENA_KEEP ((size_t)2 << 20)
/* Every value is aligned as malloc() aligns. */
#define JARENA_ALIGN 16

typedef struct region {
    size_t used;        /* bytes handed out; touched only by the window's thread */
    atomic_size_t refs; /* live values, plus one while the window is open */
    atomic_int busy;    /* 1 from jarena_begin() until the region is emptied */
} region;

static char *base; /* JARENA_SLOTS regions; NULL: none (not reserved, or reserving failed) */
static region slots[JARENA_SLOTS];
static _Thread_local region *active; /* the window this thread is inside, if any */
static pthread_once_t once = PTHREAD_ONCE_INIT;

int jarena_owns(const void *p)
{
    return base && (uintptr_t)p - (uintptr_t)base < JARENA_SLOTS * JARENA_CAP;
}

static char *start(const region *r) { return base + (size_t)(r - slots) * JARENA_CAP; }

/* One reference fewer; the last one empties the region: its pages go back to the system and
 * the next window may take it. */
static void unref(region *r)
{
    if (atomic_fetch_sub_explicit(&r->refs, 1, memory_order_acq_rel) != 1)
        return;
    if (r->used > JARENA_KEEP)
        madvise(start(r) + JARENA_KEEP, r->used - JARENA_KEEP, MADV_DONTNEED);
    r->used = 0;
    atomic_store_explicit(&r->busy, 0, memory_order_release);
}

static void *jarena_malloc(size_t n)
{
    region *r = active;
    if (r) {
        size_t sz = n ? (n + JARENA_ALIGN - 1) & ~(size_t)(JARENA_ALIGN - 1) : JARENA_ALIGN;
        if (sz >= n && sz <= JARENA_CAP - r->used) {
            void *p = start(r) + r->used;
            r->used += sz;
            atomic_fetch_add_explicit(&r->refs, 1, memory_order_relaxed);
            return p;
        }
    }
    return malloc(n);
}

static void jarena_free(void *p)
{
    if (jarena_owns(p))
        unref(&slots[((uintptr_t)p - (uintptr_t)base) / JARENA_CAP]);
    else
        free(p);
}

static void reserve(void)
{
    void *p = mmap(NULL, JARENA_SLOTS * JARENA_CAP, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        return; /* no region: every window answers 0 and jansson keeps malloc() */
    /* huge pages where the system offers them: a 50 MB state is then 25 page faults, not
     * 12,000 (advice only: refused, the region works with small pages) */
    madvise(p, JARENA_SLOTS * JARENA_CAP, MADV_HUGEPAGE);
    base = p;
    json_set_alloc_funcs(jarena_malloc, jarena_free);
}

int jarena_begin(void)
{
#ifdef JARENA_OFF
    return 0; /* AddressSanitizer sees every value through malloc() */
#endif
    pthread_once(&once, reserve);
    if (!base || active)
        return 0;
    for (size_t i = 0; i < JARENA_SLOTS; i++) {
        int idle = 0;
        if (atomic_compare_exchange_strong_explicit(&slots[i].busy, &idle, 1, memory_order_acquire,
                                                    memory_order_relaxed)) {
            atomic_store_explicit(&slots[i].refs, 1, memory_order_relaxed);
            active = &slots[i];
            return 1;
        }
    }
    return 0;
}

void jarena_end(void)
{
    region *r = active;
    if (!r)
        return;
    active = NULL;
    unref(r);
}

size_t jarena_live(void)
{
    size_t n = 0;
    for (size_t i = 0; i < JARENA_SLOTS; i++)
        n += atomic_load_explicit(&slots[i].refs, memory_order_acquire);
    return n;
}
