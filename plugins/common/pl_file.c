/* SPDX-License-Identifier: MIT */
/* pl_file.c - see pl_file.h. */
#include "pl_file.h"

#include <errno.h>
#include <unistd.h>

size_t pl_pread_all(int fd, char *buf, size_t max, off_t from)
{
    size_t len = 0;

    while (len < max) {
        ssize_t r = pread(fd, buf + len, max - len, from + (off_t)len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        len += (size_t)r;
    }
    return len;
}
