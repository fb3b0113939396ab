/* SPDX-License-Identifier: MIT */
/* proc_scan.c - reading /proc: environ, stat, relhost's descendants, and pinning what is found. */
#include "run/proc_int.h"

#include "base/error.h"
#include "base/log.h"
#include "base/util.h"
#include "run/loop.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- finding and signalling a tree ---------------------------------------------------------- */

ssize_t proc_read_environ(int procfd, const char *pid, char **buf, size_t *cap)
{
    char path[64];
    size_t len = 0;
    int fd;

    snprintf(path, sizeof path, "%s/environ", pid);
    fd = openat(procfd, path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    for (;;) {
        ssize_t n;
        if (len == *cap) {
            if (*cap >= ENVIRON_MAX)
                break;
            *cap = *cap ? *cap * 2 : 65536;
            *buf = xrealloc(*buf, *cap);
        }
        n = read(fd, *buf + len, *cap - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    return (ssize_t)len;
}

/* Whether the NUL-separated environment holds exactly the entry `want` (a whole entry, not a
 * prefix of a longer value). */
int proc_environ_has(const char *buf, size_t len, const char *want, size_t wlen)
{
    size_t i = 0;
    while (i < len) {
        const char *e = buf + i;
        const char *end = memchr(e, '\0', len - i);
        size_t l = end ? (size_t)(end - e) : len - i;
        if (l == wlen && memcmp(e, want, wlen) == 0)
            return 1;
        i += l + 1;
    }
    return 0;
}

pid_t proc_parse_pid(const char *s)
{
    long v = 0;
    if (!*s)
        return 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > 100000000L)
            return 0;
        v = v * 10 + (*s - '0');
    }
    return (pid_t)v;
}

int proc_pinned(const struct relhost_proc *p, pid_t pid)
{
    for (size_t i = 0; i < p->npins; i++)
        if (p->pins[i].pid == pid)
            return 1;
    return 0;
}

/* Pins a cookie carrier found in /proc. The pidfd keeps the pid from being reused behind our
 * back, and keeps the process visible while it dies: its environ reads empty from the moment
 * it releases its memory, before it becomes a zombie we could reap. */
void proc_pin_carrier(struct relhost_proc *p, int procfd, const char *name, pid_t pid,
                      const char *want, size_t wlen, char **buf, size_t *cap)
{
    ssize_t n;
    int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (pfd < 0 && errno == ESRCH)
        return; /* gone already */
    /* Read again through the pinned pid: the first read may have been of a previous owner. */
    n = proc_read_environ(procfd, name, buf, cap);
    if (n <= 0 || !proc_environ_has(*buf, (size_t)n, want, wlen)) {
        if (pfd >= 0)
            close(pfd);
        return;
    }
    if (p->npins == p->cap_pins) {
        p->cap_pins = p->cap_pins ? p->cap_pins * 2 : 8;
        p->pins = xrealloc(p->pins, p->cap_pins * sizeof *p->pins);
    }
    p->pins[p->npins].pid = pid;
    p->pins[p->npins].fd = pfd; /* -1 without pidfds (kernel < 5.3, fds exhausted): kill() */
    p->pins[p->npins].sent = 0;
    p->npins++;
}

/* Fields of /proc/<pid>/stat ("pid (comm) state ppid pgrp ..."; comm may hold spaces and
 * parentheses, so the fields are counted from the last ')'). -1 when unreadable. */
int proc_read_stat(int procfd, pid_t pid, struct pstat *ps)
{
    char path[64], buf[1024];
    const char *rp;
    ssize_t n;
    int fd;
    snprintf(path, sizeof path, procfd == AT_FDCWD ? "/proc/%d/stat" : "%d/stat", (int)pid);
    fd = openat(procfd, path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    rp = strrchr(buf, ')');
    if (!rp || rp[1] != ' ' || !rp[2] || rp[3] != ' ')
        return -1;
    memset(ps, 0, sizeof *ps);
    ps->state = rp[2];
    /* ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime stime cutime
     * cstime priority nice num_threads itrealvalue starttime */
    if (sscanf(rp + 4,
               "%d %d %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s "
               "%llu",
               &ps->ppid, &ps->pgrp, &ps->starttime) < 2)
        return -1; /* fields 6 to 21 are skipped as words */
    return 0;
}

/* The parent pid from /proc/<pid>/stat, 0 when unreadable; *state gets the state letter. */
static pid_t read_ppid(int procfd, pid_t pid, char *state)
{
    struct pstat ps;
    if (proc_read_stat(procfd, pid, &ps) != 0)
        return 0;
    *state = ps.state;
    return ps.ppid;
}

/* relhost's descendants. relhost is a child subreaper (core/run/loop.c), so everything a job
 * started and left behind (a double fork, a setsid) is reparented to relhost, never to init:
 * the tree below relhost is walked from /proc/<pid>/task/<tid>/children (every thread's
 * children), which costs O(descendants) whatever else runs on the machine. A kernel without
 * those files (CONFIG_PROC_CHILDREN off) falls back to reading /proc/<pid>/stat of every
 * process. The walk races with the tree as it changes: a descendant that exits between the
 * read of its parent's children and the read of its own lets its children be reparented to
 * relhost after relhost's own list was read, so the walk says it was unsure (`racy`) and the
 * scan looks again (TICK_S later). One table serves every scan within TABLE_TTL_S: a process
 * forked since is the child of a descendant in the table, whose environ is read live below; if
 * that parent has exited meanwhile its read fails, the scan is unsure, and the second look
 * builds a fresh table. */
#define TABLE_TTL_S 0.01

struct ent {
    pid_t pid, ppid;
    int below;
    char state;
};

static struct {
    struct ent *e;
    size_t n, cap;
    double at;
    int valid, racy;
    unsigned long builds, reads; /* tables built, /proc files opened for them (proc_scan_stats) */
} table;

void proc_scan_stats(unsigned long *builds, unsigned long *reads)
{
    *builds = table.builds;
    *reads = table.reads;
}

static struct ent *table_add(pid_t pid)
{
    if (table.n == table.cap) {
        table.cap = table.cap ? table.cap * 2 : 256;
        table.e = xrealloc(table.e, table.cap * sizeof *table.e);
    }
    table.e[table.n] = (struct ent){.pid = pid, .state = '?'};
    return &table.e[table.n++];
}

/* Every process's stat: the fallback without children files. */
static void table_build_all(int procfd, DIR *d)
{
    struct dirent *de;
    pid_t self = getpid();
    int changed;
    while ((de = readdir(d)) != NULL) {
        pid_t pid = proc_parse_pid(de->d_name);
        struct ent *x;
        if (pid <= 0 || pid == self)
            continue;
        x = table_add(pid);
        x->ppid = read_ppid(procfd, pid, &x->state);
        table.reads++;
        x->below = x->ppid == self;
    }
    do {
        changed = 0;
        for (size_t i = 0; i < table.n; i++) {
            if (table.e[i].below)
                continue;
            for (size_t k = 0; k < table.n; k++)
                if (table.e[k].below && table.e[k].pid == table.e[i].ppid) {
                    table.e[i].below = changed = 1;
                    break;
                }
        }
    } while (changed);
}

/* Adds the children of one thread of pid ("<pid>/task/<tid>/children": pids separated by
 * spaces). 0, or -1 when the file cannot be read. */
static int add_thread_children(int taskfd, const char *tid, pid_t pid)
{
    char path[64], buf[4096], num[16];
    size_t nl = 0;
    ssize_t n;
    int fd;
    snprintf(path, sizeof path, "%s/children", tid);
    fd = openat(taskfd, path, O_RDONLY | O_CLOEXEC);
    table.reads++;
    if (fd < 0)
        return -1;
    while ((n = read(fd, buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
        for (ssize_t i = 0; i < n; i++) {
            if (buf[i] >= '0' && buf[i] <= '9' && nl < sizeof num - 1) {
                num[nl++] = buf[i];
                continue;
            }
            num[nl] = '\0';
            if (nl && proc_parse_pid(num) > 0)
                table_add(proc_parse_pid(num))->ppid = pid;
            nl = 0;
        }
    close(fd);
    num[nl] = '\0';
    if (nl && proc_parse_pid(num) > 0)
        table_add(proc_parse_pid(num))->ppid = pid;
    return n < 0 ? -1 : 0;
}

/* Adds the children of every thread of pid. 0, or -1 when pid's threads could not be listed
 * (gone) or a children file could not be read; -2 when the kernel has no children files. */
static int add_children(int procfd, pid_t pid)
{
    char path[32];
    struct dirent *de;
    int rc = 0, taskfd, dfd;
    DIR *d;
    snprintf(path, sizeof path, "%d/task", (int)pid);
    taskfd = openat(procfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    table.reads++;
    if (taskfd < 0)
        return -1;
    dfd = fcntl(taskfd, F_DUPFD_CLOEXEC, 0);
    d = dfd >= 0 ? fdopendir(dfd) : NULL;
    if (!d) {
        if (dfd >= 0)
            close(dfd);
        close(taskfd);
        return -1;
    }
    while ((de = readdir(d)) != NULL)
        if (proc_parse_pid(de->d_name) > 0 && add_thread_children(taskfd, de->d_name, pid) != 0)
            rc = errno == ENOENT && faccessat(taskfd, de->d_name, F_OK, 0) == 0 ? -2 : -1;
    closedir(d);
    close(taskfd);
    return rc;
}

/* The walk from relhost down. 0, or -1 when the kernel has no children files. */
static int table_walk(int procfd)
{
    pid_t self = getpid();
    int rc = add_children(procfd, self);
    if (rc == -2)
        return -1;
    if (rc != 0)
        table.racy = 1;
    for (size_t i = 0; i < table.n; i++) {
        struct ent *x = &table.e[i];
        x->below = 1;
        table.reads++;
        if (read_ppid(procfd, x->pid, &x->state) == 0) {
            table.racy = 1; /* gone since its parent listed it */
            continue;
        }
        if (x->state != 'Z' && x->state != 'X' && add_children(procfd, x->pid) != 0)
            table.racy = 1;
    }
    return 0;
}

/* 0, or -1 when /proc could not be listed (the scan is unsure). */
static int table_build(int procfd)
{
    int dfd;
    DIR *d;
    table.n = 0;
    table.racy = 0;
    table.builds++;
    if (table_walk(procfd) != 0) {
        table.n = 0;
        dfd = fcntl(procfd, F_DUPFD_CLOEXEC, 0);
        d = dfd >= 0 ? fdopendir(dfd) : NULL;
        if (!d) {
            if (dfd >= 0)
                close(dfd);
            return -1;
        }
        table_build_all(procfd, d);
        closedir(d);
    }
    table.at = loop_now();
    table.valid = 1;
    return 0;
}

/* Finds the processes carrying p's cookie: those that left the group with setsid() or setpgid()
 * are found here, as Jenkins' ProcessTreeKiller finds them. Only relhost's descendants are read:
 * relhost is a subreaper, so whatever a job started and left behind is reparented to relhost,
 * never to init, and stays below it; reading /proc/<pid>/stat of every process to find them is
 * far cheaper than reading every process's environ (that maps the other process's memory). */
void proc_scan_carriers(struct relhost_proc *p)
{
    char want[96], name[24];
    size_t wlen;
    char *buf = NULL;
    size_t cap = 0;
    int procfd;

    wlen = (size_t)snprintf(want, sizeof want, "RELHOST_PROC=%s", p->cookie);
    procfd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (procfd < 0)
        return;
    for (int pass = 0; pass < 2; pass++) {
        int fresh = 0, vanished = 0;
        if (pass > 0 || !table.valid || loop_now() - table.at > TABLE_TTL_S) {
            if (table_build(procfd) != 0) {
                p->scan_unsure = 1;
                break;
            }
            fresh = 1;
        }
        p->scan_unsure = table.racy;
        for (size_t i = 0; i < table.n; i++) {
            const struct ent *x = &table.e[i];
            ssize_t len;
            if (!x->below || proc_pinned(p, x->pid) || x->state == 'Z' || x->state == 'X')
                continue;
            snprintf(name, sizeof name, "%d", (int)x->pid);
            len = proc_read_environ(procfd, name, &buf, &cap);
            if (len > 0) {
                if (proc_environ_has(buf, (size_t)len, want, wlen))
                    proc_pin_carrier(p, procfd, name, x->pid, want, wlen, &buf, &cap);
            } else if (len < 0 && !fresh) {
                vanished = 1; /* gone since the table was built: build it again */
            } else {
                p->scan_unsure = 1; /* exiting, or inside execve(): look again later */
            }
        }
        if (!vanished)
            break;
    }
    close(procfd);
    free(buf);
}

/* The start time of pid (field 22 of /proc/<pid>/stat), 0 when unreadable. */
unsigned long long proc_start_time(pid_t pid)
{
    struct pstat ps;
    return proc_read_stat(AT_FDCWD, pid, &ps) == 0 ? ps.starttime : 0;
}

/* Pins pid as a member of process group pgrp, if it still is one once pinned. */
void proc_pin_member(struct relhost_proc *o, int procfd, pid_t pid, pid_t pgrp)
{
    struct pstat ps;
    int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (pfd < 0 && errno == ESRCH)
        return;
    if (proc_read_stat(procfd, pid, &ps) != 0 || ps.pgrp != pgrp || ps.state == 'Z') {
        if (pfd >= 0)
            close(pfd);
        return;
    }
    if (o->npins == o->cap_pins) {
        o->cap_pins = o->cap_pins ? o->cap_pins * 2 : 8;
        o->pins = xrealloc(o->pins, o->cap_pins * sizeof *o->pins);
    }
    o->pins[o->npins++] = (struct pin){.pid = pid, .fd = pfd, .sent = 0};
}
