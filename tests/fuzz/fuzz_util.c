/* SPDX-License-Identifier: MIT */
/* fuzz_util.c - see fuzz_util.h. */
#include "fuzz_util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void fuzz_die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "fuzz: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    abort();
}

static char tmpdir[512];

static void remove_tmpdir(void)
{
    if (tmpdir[0] == '\0')
        return;
    fuzz_empty_dir(tmpdir);
    rmdir(tmpdir);
}

const char *fuzz_tmpdir(const char *who)
{
    if (tmpdir[0] != '\0')
        return tmpdir;
    struct stat sb;
    const char *base = getenv("TMPDIR");
    if (stat("/dev/shm", &sb) == 0 && S_ISDIR(sb.st_mode) && access("/dev/shm", W_OK) == 0)
        base = "/dev/shm"; /* the state harness fsyncs: keep that off a real disk */
    else if (base == NULL || base[0] == '\0')
        base = "/tmp";
    snprintf(tmpdir, sizeof tmpdir, "%s/relhost-fuzz-%s-XXXXXX", base, who);
    if (mkdtemp(tmpdir) == NULL)
        fuzz_die("mkdtemp %s: %s", tmpdir, strerror(errno));
    atexit(remove_tmpdir);
    return tmpdir;
}

char *fuzz_path(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p == NULL)
        abort();
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

void fuzz_write_file(const char *path, const uint8_t *data, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        fuzz_die("open %s: %s", path, strerror(errno));
    while (n > 0) {
        ssize_t k = write(fd, data, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            fuzz_die("write %s: %s", path, strerror(errno));
        data += k;
        n -= (size_t)k;
    }
    close(fd);
}

uint8_t *fuzz_read_file(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rbe");
    if (f == NULL)
        return NULL;
    size_t cap = 4096, len = 0;
    uint8_t *b = malloc(cap);
    for (;;) {
        if (b == NULL)
            abort();
        len += fread(b + len, 1, cap - len, f);
        if (len < cap)
            break;
        cap *= 2;
        b = realloc(b, cap);
    }
    fclose(f);
    *n = len;
    return b;
}

void fuzz_empty_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    if (d == NULL)
        return;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char *p = fuzz_path(dir, e->d_name);
        unlink(p);
        free(p);
    }
    closedir(d);
}
