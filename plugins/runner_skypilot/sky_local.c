/* SPDX-License-Identifier: MIT */
/*
 * sky_local.c - the files and processes of a job on this machine: the task file and the launch's
 * output next to the job's log, and a `sky jobs launch` that an earlier relhost left running.
 */
#include "runner_skypilot.h"
#include "../common/pl_file.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Reads a whole file of at most max bytes (the last max bytes of a longer one). */
char *sky_read_file(const char *path, size_t max, size_t *len_out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    char *buf;
    size_t len = 0;
    off_t from = 0;
    if (fd < 0)
        return NULL;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return NULL;
    }
    if ((uint64_t)st.st_size > max)
        from = st.st_size - (off_t)max;
    buf = malloc(max + 1);
    if (!buf) {
        close(fd);
        return NULL;
    }
    len = pl_pread_all(fd, buf, max, from);
    close(fd);
    buf[len] = '\0';
    if (len_out)
        *len_out = len;
    return buf;
}

/* "<folder>/<key><suffix>": a file of the job next to its log, named by the idempotency key so
 * that find(key) can read what an earlier relhost's launch printed. */
char *sky_job_file(const char *folder, const char *key, const char *suffix)
{
    size_t n = strlen(folder) + strlen(key) + strlen(suffix) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s%s", folder, key, suffix);
    return p;
}

char *sky_log_folder(const char *log_path)
{
    const char *slash = strrchr(log_path, '/');
    size_t n = slash ? (size_t)(slash - log_path) : 1;
    char *d = malloc(n + 1);
    if (!d)
        return NULL;
    memcpy(d, slash ? log_path : ".", n);
    d[n] = '\0';
    return d;
}

int sky_write_file(const char *path, const char *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    size_t off = 0;
    if (fd < 0)
        return -1;
    while (off < len) {
        ssize_t w = write(fd, data + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            close(fd);
            return -1;
        }
        off += (size_t)w;
    }
    return close(fd);
}

/* A `sky jobs launch ... --name KEY` still running on this machine (an earlier relhost died
 * while launching) whose task file (its last word) is in folder: its pid, or 0. The folder tells
 * this plan's launch from another plan's with the same key. */
pid_t sky_launch_in_flight(const char *key, const char *folder)
{
    DIR *d = opendir("/proc");
    struct dirent *e;
    pid_t found = 0, self = getpid();
    if (!d)
        return 0;
    while (!found && (e = readdir(d)) != NULL) {
        char path[300], *cmd;
        size_t len = 0;
        const char *lastarg = "";
        int launch = 0, jobs = 0;
        if (!isdigit((unsigned char)e->d_name[0]) || (pid_t)atol(e->d_name) == self)
            continue;
        snprintf(path, sizeof path, "/proc/%s/cmdline", e->d_name);
        cmd = sky_read_file(path, 65536, &len);
        if (!cmd)
            continue;
        for (size_t i = 0; i < len;) {
            const char *a = cmd + i;
            size_t al = strnlen(a, len - i);
            const char *nx = i + al + 1 < len ? a + al + 1 : "";
            jobs |= strcmp(a, "jobs") == 0;
            launch |= jobs && strcmp(a, "launch") == 0;
            if (launch && ((strcmp(a, "--name") == 0 && strcmp(nx, key) == 0) ||
                           (strncmp(a, "--name=", 7) == 0 && strcmp(a + 7, key) == 0)))
                found = (pid_t)atol(e->d_name);
            lastarg = a;
            i += al + 1;
        }
        if (found) {
            const char *slash = strrchr(lastarg, '/');
            size_t fl = strlen(folder);
            if (!slash || (size_t)(slash - lastarg) != fl || strncmp(lastarg, folder, fl) != 0)
                found = 0;
        }
        free(cmd);
    }
    closedir(d);
    return found;
}

/* The id a launch of key printed into its output file in folder, or 0. */
int sky_launched_id(const char *folder, const char *key, char *id, size_t cap)
{
    char *path = sky_job_file(folder, key, ".sky-launch.log"), *out;
    size_t len = 0;
    int ok = 0;
    if (!path)
        return 0;
    out = sky_read_file(path, 1 << 20, &len);
    if (out) {
        sky_strip_ansi(out, len);
        ok = sky_launch_id(out, id, cap);
        free(out);
    }
    free(path);
    return ok;
}
