/* SPDX-License-Identifier: MIT */
#include "registry/fsutil.h"

#include "base/error.h"
#include "base/util.h"
#include "registry/sha256.h"

#include <relhost/plugin.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int fs_sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = 0;
    if (fd < 0 || fsync(fd) != 0)
        rc = error_set(RELHOST_EIO, "cannot fsync folder %s: %s", dir, strerror(errno));
    if (fd >= 0)
        close(fd);
    return rc;
}

static int sync_parent(const char *path)
{
    char *d = path_dirname(path);
    int rc = fs_sync_dir(d);
    free(d);
    return rc;
}

int fs_write_atomic(const char *path, const char *data, size_t len)
{
    char *tmp = xasprintf("%s.tmp", path);
    int fd, rc = 0;
    /* A temp file left by a crash is ours to replace; after the unlink, O_EXCL | O_NOFOLLOW
     * refuses a link planted meanwhile instead of writing through it. */
    unlink(tmp);
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0 || write_all(fd, data, len) != 0 || fsync(fd) != 0) {
        rc = error_set(RELHOST_EIO,
                       "cannot write %s: %s (check that the folder is writable "
                       "and the disk not full)",
                       tmp, strerror(errno));
        if (fd >= 0)
            close(fd);
        unlink(tmp);
        free(tmp);
        return rc;
    }
    close(fd);
    if (rename(tmp, path) != 0) {
        rc = error_set(RELHOST_EIO, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
        unlink(tmp);
    }
    free(tmp);
    return rc ? rc : sync_parent(path);
}

int fs_symlink_atomic(const char *target, const char *path)
{
    char *tmp = xasprintf("%s.tmp", path);
    int rc = 0;
    unlink(tmp);
    if (symlink(target, tmp) != 0 || rename(tmp, path) != 0) {
        rc = error_set(RELHOST_EIO, "cannot point %s at %s: %s", path, target, strerror(errno));
        unlink(tmp);
    }
    free(tmp);
    return rc ? rc : sync_parent(path);
}

int fs_copy_sha256(const char *src, const char *dst, char sha[65], long long *size)
{
    char buf[65536];
    sha256_ctx c;
    ssize_t n;
    long long total = 0;
    int in = open(src, O_RDONLY | O_CLOEXEC), out = -1, rc = 0;
    struct stat sb;
    if (in < 0)
        return error_set(RELHOST_EIO, "cannot read artifact %s: %s", src, strerror(errno));
    if (fstat(in, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(in);
        return error_set(RELHOST_EINVAL,
                         "artifact %s is not a regular file: name files (or "
                         "globs of files), not folders",
                         src);
    }
    /* read-only: a staged artifact is never edited in place (its sha256 is re-checked anyway) */
    out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0444);
    if (out < 0) {
        rc = error_set(RELHOST_EIO, "cannot create %s: %s", dst, strerror(errno));
        close(in);
        return rc;
    }
    sha256_init(&c);
    while ((n = read(in, buf, sizeof buf)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 || write_all(out, buf, (size_t)n) != 0) {
            rc = error_set(RELHOST_EIO, "cannot copy %s to %s: %s", src, dst, strerror(errno));
            break;
        }
        sha256_update(&c, buf, (size_t)n);
        total += n;
    }
    if (rc == 0 && fsync(out) != 0)
        rc = error_set(RELHOST_EIO, "cannot fsync %s: %s", dst, strerror(errno));
    close(in);
    close(out);
    if (rc == 0) {
        sha256_hex(&c, sha);
        if (size)
            *size = total;
    }
    return rc;
}

int fs_remove_tree(const char *path)
{
    struct stat sb;
    if (lstat(path, &sb) != 0)
        return errno == ENOENT
                   ? 0
                   : error_set(RELHOST_EIO, "cannot stat %s: %s", path, strerror(errno));
    if (S_ISDIR(sb.st_mode)) {
        DIR *d = opendir(path);
        struct dirent *e;
        int rc = 0;
        if (!d)
            return error_set(RELHOST_EIO, "cannot open %s: %s", path, strerror(errno));
        while (rc == 0 && (e = readdir(d))) {
            char *p;
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            p = path_join(path, e->d_name);
            rc = fs_remove_tree(p);
            free(p);
        }
        closedir(d);
        if (rc == 0 && rmdir(path) != 0)
            rc = error_set(RELHOST_EIO, "cannot remove %s: %s", path, strerror(errno));
        return rc;
    }
    if (unlink(path) != 0)
        return error_set(RELHOST_EIO, "cannot remove %s: %s", path, strerror(errno));
    return 0;
}

int fs_exists(const char *path)
{
    struct stat sb;
    return lstat(path, &sb) == 0;
}

json_t *fs_load_json(const char *path, json_error_t *je)
{
    /* The registry's own files are never read through a link: one planted there would put
     * another file's releases into the manifest. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;
    if (!f) {
        snprintf(je->text, sizeof je->text, "%s",
                 errno == ELOOP ? "it is a symbolic link, and relhost follows none in its "
                                  "registry; remove the link (and check who made it)"
                                : strerror(errno));
        je->line = 0;
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    return fs_read_json(f, je);
}

json_t *fs_read_json(FILE *f, json_error_t *je)
{
    strbuf b;
    char buf[65536];
    size_t n;
    json_t *j;
    sb_init(&b);
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        sb_add(&b, buf, n);
    fclose(f);
    j = json_loadb(b.s ? b.s : "", b.len, JSON_REJECT_DUPLICATES, je);
    sb_free(&b);
    return j;
}
