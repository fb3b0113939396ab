/* SPDX-License-Identifier: MIT */
/*
 * pl_file.h - reading a local file the plugin was pointed at (a run folder's summary, a job's
 * log, the release notes). Compiled into each plugin that lists pl_file.c in its SOURCES; libc
 * only, no host service.
 */
#ifndef RELHOST_PL_FILE_H
#define RELHOST_PL_FILE_H

#include <stddef.h>
#include <sys/types.h>

/* Read up to max bytes of fd from offset `from` into buf (pread: the file offset does not
 * move), retrying on EINTR; stops early at the end of the file or at a read error. Returns the
 * bytes read; buf is not terminated. */
size_t pl_pread_all(int fd, char *buf, size_t max, off_t from);

#endif
