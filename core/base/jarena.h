/* SPDX-License-Identifier: MIT */
/* jarena.h - one region of memory for the JSON values a read-only command parses in bulk.
 *
 * A 10 MB state parsed by jansson is about a million small values, each one malloc() when it
 * is read and one free() when the state is closed: on `relhost status` of a 10,000-job release
 * that was half of the command's time. While a thread is inside jarena_begin() .. jarena_end(),
 * jansson takes that thread's values from one reserved region, one pointer bump each; their
 * free() only counts them, and the region's pages go back at once when the last of them is
 * freed. Nothing else changes: the values are ordinary jansson values, and freeing them stays
 * the caller's job as before (a value freed late only keeps the region busy longer; one never
 * freed keeps it, as a leak would).
 *
 * Only a window in which jansson allocates nothing its caller frees with free() may be wrapped:
 * json_loadb() and changes to the values it made are fine; json_dumps() (its string is freed with
 * free()) is not. One region per process, so one window at a time: a jarena_begin() while the
 * region is in use (or when it cannot be had) answers 0 and jansson goes on with malloc().
 * Builds with AddressSanitizer never use the region, so its checks keep seeing every value. */
#ifndef RELHOST_JARENA_H
#define RELHOST_JARENA_H

#include <stddef.h>

/** Start taking this thread's jansson allocations from the region. Returns 1 when they do (the
 *  caller then calls jarena_end() exactly once), 0 when they go on with malloc() (the region is
 *  in use, cannot be reserved, or the build has AddressSanitizer): the caller does nothing
 *  more. The first call installs relhost's allocation functions into jansson. */
int jarena_begin(void);
/** Stop taking allocations from the region (the values made stay valid). Its memory returns when
 *  the last of its values is freed, which may be now. */
void jarena_end(void);
/** Values of the region not freed yet, plus one while a window is open: 0 when it is idle. */
size_t jarena_live(void);
/** 1 when p is memory of the region. */
int jarena_owns(const void *p);

#endif
