/* SPDX-License-Identifier: MIT */
/* trust.c - ownership and permission checks of the folders relhost keeps its records and code in. */
#include "base/trust.h"

#include "base/util.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *kind(int is_dir) { return is_dir ? "folder" : "file"; }
static char *parents_bad(const char *path, int is_dir);

static char *writable_by_others(const char *path, const struct stat *st, int is_dir)
{
    return xasprintf("refused: %s %s is writable by %s, who could change what relhost reads "
                     "there; fix with: chmod go-w %s",
                     kind(is_dir), path, (st->st_mode & S_IWOTH) ? "others" : "its group", path);
}

char *trust_own_folder(const char *path, const struct stat *st)
{
    struct stat root;
    if (!S_ISDIR(st->st_mode))
        return xasprintf("refused: %s is not a folder", path);
    if (stat("/", &root) == 0 && root.st_dev == st->st_dev && root.st_ino == st->st_ino)
        return xasprintf("refused: %s is the root folder \"/\"; give relhost a folder of its "
                         "own (e.g. one under /var/lib/relhost)",
                         path);
    if (st->st_uid != geteuid())
        return xasprintf("refused: folder %s is owned by uid %u, not by uid %u running relhost; "
                         "fix with: chown %u %s (or use a folder of your own)",
                         path, (unsigned)st->st_uid, (unsigned)geteuid(), (unsigned)geteuid(),
                         path);
    if (st->st_mode & (S_IWGRP | S_IWOTH))
        return writable_by_others(path, st, 1);
    return parents_bad(path, 1);
}

static char *code_owner_bad(const char *path, const struct stat *st, int is_dir)
{
    if (st->st_uid != 0 && st->st_uid != geteuid())
        return xasprintf("refused: %s %s is owned by uid %u, neither root nor uid %u running "
                         "relhost; fix with: chown %u %s",
                         kind(is_dir), path, (unsigned)st->st_uid, (unsigned)geteuid(),
                         (unsigned)geteuid(), path);
    return NULL;
}

/* Every folder above path, up to "/": one that another user may write could swap the one below
 * (a folder others may write is fine with the sticky bit and owned by root, as /tmp). */
static char *parents_bad(const char *path, int is_dir)
{
    char real[PATH_MAX], *slash, *bad;
    if (!realpath(path, real))
        return xasprintf("refused: cannot resolve %s: %s", path, strerror(errno));
    while ((slash = strrchr(real, '/')) != NULL) {
        struct stat up;
        if (slash == real)
            slash[1] = '\0';
        else
            *slash = '\0';
        if (stat(real, &up) != 0)
            return xasprintf("refused: cannot check %s above %s: %s", real, path, strerror(errno));
        if ((bad = code_owner_bad(real, &up, 1)) != NULL)
            return bad;
        if ((up.st_mode & (S_IWGRP | S_IWOTH)) && !((up.st_mode & S_ISVTX) && up.st_uid == 0))
            return xasprintf("refused: %s is below %s, which %s may write, so the %s could be "
                             "replaced; fix with: chmod go-w %s (or chmod +t %s)",
                             path, real, (up.st_mode & S_IWOTH) ? "anyone" : "its group",
                             kind(is_dir), real, real);
        if (slash == real)
            break;
    }
    return NULL;
}

char *trust_code_path(const char *path, const struct stat *st, int is_dir)
{
    char *bad;
    if ((bad = code_owner_bad(path, st, is_dir)) != NULL)
        return bad;
    if (st->st_mode & (S_IWGRP | S_IWOTH))
        return writable_by_others(path, st, is_dir);
    return parents_bad(path, is_dir);
}
