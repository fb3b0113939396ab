/* SPDX-License-Identifier: MIT */
/* logmap.c - a log's already-written bytes through a mapped window (logmap.h). */
#include "run/logmap.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* The window; the SIGBUS handler reads these, so each is set in an order it can rely on: base
 * last when mapping, first when unmapping. */
static char *volatile W_base;
static volatile size_t W_len;
static volatile sig_atomic_t W_cut;
static volatile size_t W_page = 4096; /* sysconf() is not async-signal-safe: kept here */

size_t logmap_span(uint64_t off, uint64_t size)
{
    uint64_t end = (off / LOGMAP_WINDOW + 1) * LOGMAP_WINDOW;
    if (end > size)
        end = size;
    return end > off && end - off >= LOGMAP_MIN ? (size_t)(end - off) : 0;
}

const char *logmap_map(int fd, uint64_t off, size_t n)
{
    uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE), start = off & ~(page - 1);
    size_t len = (size_t)(off - start) + n;
    char *m;
    W_page = (size_t)page;
    if (W_base != NULL) {
        errno = EBUSY;
        return NULL;
    }
    m = mmap(NULL, len, PROT_READ, MAP_SHARED | MAP_POPULATE, fd, (off_t)start);
    if (m == MAP_FAILED)
        return NULL;
    W_len = len;
    W_cut = 0;
    W_base = m;
    return m + (off - start);
}

int logmap_cut(void) { return W_cut != 0; }

int logmap_unmap(void)
{
    char *base = W_base;
    int cut = W_cut != 0;
    if (base == NULL)
        return 0;
    W_base = NULL;
    munmap(base, W_len);
    W_cut = 0;
    return cut;
}

int logmap_fault(const void *addr)
{
    char *base = W_base;
    const char *a = addr;
    size_t page = W_page, at;
    if (base == NULL || a < base || a >= base + W_len)
        return 0;
    at = (size_t)(a - base) & ~(page - 1);
    if (mmap(base + at, W_len - at, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) ==
        MAP_FAILED)
        return 0;
    W_cut = 1;
    return 1;
}

static void on_bus(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    if (si->si_code == BUS_ADRERR && logmap_fault(si->si_addr))
        return;
    signal(sig, SIG_DFL);
    raise(sig);
}

void logmap_catch(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_bus;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGBUS, &sa, NULL);
}
