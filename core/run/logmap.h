/* SPDX-License-Identifier: MIT */
/*
 * logmap.h - a log's already-written bytes seen through a mapped window instead of a copy.
 *
 * pread() of a log copies every byte from the page cache into a buffer; for a big log that copy
 * is a fifth of the host's time (bench/README.md, extract). For the part of a regular file below
 * its size at the time of reading, the host (jobs_log.c) and bench/extract_driver.c instead map
 * a window of up to LOGMAP_WINDOW bytes (MAP_POPULATE: the pages are mapped in one call, not
 * faulted in one by one), feed its bytes in LOGMAP_PIECE pieces (fewer feed() calls than 64 KiB
 * reads, each small enough to stay in the cache for the matching that follows the pass over
 * it, and under the isolated sources' batch size), and unmap it. A remainder under LOGMAP_MIN,
 * a pipe or other non-regular file, and a failed mmap() are read with pread() as before.
 *
 * A log truncated under the window: the job may truncate its log at any time (a restart writing
 * from the top), and nothing stops it, so the window cannot be proven to stay within the file.
 * A load from a page past the new end raises SIGBUS. The process's SIGBUS handler (guard.c in
 * relhost, logmap_catch() in a process without the guard) asks logmap_fault() first: for an
 * address inside the window it replaces the window from that page to its end with zero pages
 * (one mmap(MAP_FIXED) over the range: a system call, async-signal-safe) and returns, so the
 * load runs again and reads NUL bytes. Nothing is interrupted (no longjmp out of a plugin's
 * feed(), which would leave its state half-updated); the reader just sees NULs. logmap_unmap()
 * then says the window was cut: what was fed from it is not the log, and the caller starts the
 * log over as for a log found shrunk between two reads (fresh source state, read again from
 * byte 0, counted as a restart). A fault outside the window is fatal as before.
 *
 * One window at a time per process (the host reads its logs one after another).
 */
#ifndef RELHOST_LOGMAP_H
#define RELHOST_LOGMAP_H

#include <stddef.h>
#include <stdint.h>

#define LOGMAP_WINDOW ((size_t)4 << 20)  /* window size; windows end on multiples of it */
#define LOGMAP_MIN ((size_t)1 << 20)     /* fewer bytes than this left: pread() */
#define LOGMAP_PIECE ((size_t)256 << 10) /* a window is fed in pieces of this size */

/** How many bytes from `off` to map in a file of `size` bytes: up to the next multiple of
 *  LOGMAP_WINDOW (or the end), 0 when that is under LOGMAP_MIN (then read with pread()). */
size_t logmap_span(uint64_t off, uint64_t size);

/** Map bytes [off, off + n) of `fd` read-only, populated. Returns a pointer to byte `off`, valid
 *  until logmap_unmap(), or NULL (errno set; also when a window is already mapped). */
const char *logmap_map(int fd, uint64_t off, size_t n);

/** 1 when the window was cut by a truncation since logmap_map() (its bytes from the cut on read
 *  as NUL bytes). */
int logmap_cut(void);

/** Unmap the window. Returns logmap_cut() as it was. */
int logmap_unmap(void);

/** From a SIGBUS handler (async-signal-safe): 1 when `addr` lies in the window, which is then
 *  zero-filled from that page on and marked cut (return from the handler); 0 otherwise. */
int logmap_fault(const void *addr);

/** For a process without guard_install() (bench/extract_driver.c, tests): a SIGBUS handler that
 *  asks logmap_fault() and otherwise dies of the signal. */
void logmap_catch(void);

#endif
