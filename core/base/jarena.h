/* SPDX-License-Identifier: MIT */
/* jarena.h - regions of memory for the JSON values a read-only command parses or builds in bulk.
 *
 * A 10 MB state parsed by jansson is about a million small values, each one malloc() when it
 * is read and one free() when the state is closed: on `relhost status` of a 10,000-job release
 * that was half of the command's time. While a thread is inside jarena_begin() .. jarena_end(),
 * jansson takes that thread's values from a reserved region, one pointer bump each; their
 * free() only counts them, and the region's pages go back at once when the last of them is
 * freed. Nothing else changes: the values are ordinary jansson values, and freeing them stays
 * the caller's job as before (a value freed late only keeps its region busy longer; one never
 * freed keeps it, as a leak would).
 *
 * Only a window in which jansson allocates nothing its caller frees with free() may be wrapped:
 * json_loadb(), building values and changing them are fine; json_dumps() (its string is freed
 * with free()) is not. A thread is in one window at a time; the process has four regions and a
 * window takes an idle one, so the values of one window (a state) may still be held while the
 * next is built (the status made from it). Builds with AddressSanitizer never use the regions,
 * so its checks keep seeing every value. */
#ifndef RELHOST_JARENA_H
#define RELHOST_JARENA_H

#include <stddef.h>

/** Start taking this thread's jansson allocations from an idle region. Returns 1 when they do
 *  (the caller then calls jarena_end() exactly once), 0 when they go on with malloc() (the
 *  thread is in a window already, every region is in use, none could be reserved, or the build
 *  has AddressSanitizer): the caller then does nothing more. The first call installs relhost's
 *  allocation functions into jansson. */
int jarena_begin(void);
/** Stop taking this thread's allocations from its window's region (the values made stay
 *  valid). The region's memory returns when the last of its values is freed, which may be now. */
void jarena_end(void);
/** Values of the regions not freed yet, plus one per open window: 0 when all are idle. */
size_t jarena_live(void);
/** 1 when p is memory of a region. */
int jarena_owns(const void *p);

#endif
