/* SPDX-License-Identifier: MIT */
/* proc_release.c - release tags, and stopping what a dead relhost left of a release. */
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

/* proc_set_release(): the absolute state folder of the run, or NULL */
char *proc_rel_tag;
int proc_tag_suspended; /* proc_tag_suspend(): children handed to a remote engine */

/* ---- processes of a release whose relhost died ----------------------------------------------- */

void proc_set_release(const char *state_dir, const char *record)
{
    char *dir;
    free(proc_rel_tag);
    proc_rel_tag = NULL;
    if (!state_dir || !*state_dir || !record || !*record)
        return;
    /* One spelling per folder, however the plan reached it (symlinks, relative paths). */
    dir = realpath(state_dir, NULL);
    if (!dir)
        dir = path_absolute(state_dir, NULL);
    /* The folder, not the record: a run stops what a dead relhost left of ANY release of the
     * folder (a kill during release A followed by `--new` must not leave A's jobs running). */
    proc_rel_tag = dir;
}

const char *proc_release_tag(void) { return proc_rel_tag; }

void proc_tag_suspend(int on) { proc_tag_suspended += on ? 1 : -1; }

/* The value of the entry `name` ("NAME=") in a NUL-separated environment, copied into val
 * (cut to cap); 0 when there is none. */
static int environ_get(const char *buf, size_t len, const char *name, char *val, size_t cap)
{
    size_t nl = strlen(name), i = 0;
    while (i < len) {
        const char *e = buf + i;
        const char *end = memchr(e, '\0', len - i);
        size_t l = end ? (size_t)(end - e) : len - i;
        if (l >= nl && memcmp(e, name, nl) == 0) {
            size_t vl = l - nl < cap - 1 ? l - nl : cap - 1;
            memcpy(val, e + nl, vl);
            val[vl] = '\0';
            return 1;
        }
        i += l + 1;
    }
    return 0;
}

/* What RELHOST_HOST of an environment says of the relhost it names. */
enum host_state { HOST_UNKNOWN, HOST_ALIVE, HOST_DEAD };

/* HOST_DEAD when it names a relhost that is no longer alive (its pid is gone, a zombie, or now
 * another process's: another start time), *host set to its pid; HOST_ALIVE when that relhost
 * runs (this one included); HOST_UNKNOWN when the entry is missing or malformed. Nothing is
 * ever stopped unless it is HOST_DEAD. */
static enum host_state host_of(int procfd, const char *buf, size_t len, pid_t *host)
{
    char val[64], *end;
    unsigned long long start;
    struct pstat ps;
    long pid;

    if (!environ_get(buf, len, "RELHOST_HOST=", val, sizeof val))
        return HOST_UNKNOWN;
    errno = 0;
    pid = strtol(val, &end, 10);
    if (errno || end == val || *end != '.' || pid <= 0 || pid > 0x7fffffffL)
        return HOST_UNKNOWN;
    errno = 0;
    start = strtoull(end + 1, &end, 10);
    if (errno || *end || !start)
        return HOST_UNKNOWN;
    *host = (pid_t)pid;
    if ((pid_t)pid == getpid())
        return HOST_ALIVE; /* ours (or a relhost before us under our pid: not guessed at) */
    if (kill((pid_t)pid, 0) != 0 && errno == ESRCH)
        return HOST_DEAD;
    if (proc_read_stat(procfd, (pid_t)pid, &ps) != 0)
        return HOST_ALIVE; /* it exists but cannot be read */
    return ps.starttime != start || ps.state == 'Z' || ps.state == 'X' ? HOST_DEAD : HOST_ALIVE;
}

/* A process group the sweep found a stray of, for its warning line. */
struct stray_group {
    pid_t pgrp, pid, host;
    char comm[32];
};

struct sweep {
    struct relhost_proc o; /* only its pins */
    struct stray_group *g;
    size_t ng, capg;
    char want[PATH_MAX + 40];
    size_t wlen;
    char *buf;
    size_t cap;
};

static void read_comm(int procfd, pid_t pid, char *comm, size_t cap)
{
    char path[64];
    ssize_t n;
    int fd;
    snprintf(path, sizeof path, "%d/comm", (int)pid);
    snprintf(comm, cap, "?");
    fd = openat(procfd, path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    n = read(fd, comm, cap - 1);
    close(fd);
    if (n <= 0) {
        snprintf(comm, cap, "?");
        return;
    }
    comm[n] = '\0';
    comm[strcspn(comm, "\n")] = '\0';
}

static struct stray_group *sweep_group(struct sweep *sw, pid_t pgrp)
{
    for (size_t i = 0; i < sw->ng; i++)
        if (sw->g[i].pgrp == pgrp)
            return &sw->g[i];
    return NULL;
}

/* Pins pid when it carries the tag and a RELHOST_HOST naming a dead relhost, checked again
 * through the pinned pid (the first read may have been of a previous owner of the number). */
static void sweep_pin(struct sweep *sw, int procfd, const char *name, pid_t pid)
{
    struct stray_group *g;
    struct pstat ps;
    pid_t host = 0;
    ssize_t n;
    int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (pfd < 0 && errno == ESRCH)
        return;
    n = proc_read_environ(procfd, name, &sw->buf, &sw->cap);
    if (n <= 0 || !proc_environ_has(sw->buf, (size_t)n, sw->want, sw->wlen) ||
        host_of(procfd, sw->buf, (size_t)n, &host) != HOST_DEAD ||
        proc_read_stat(procfd, pid, &ps) != 0 || ps.state == 'Z' || ps.state == 'X') {
        if (pfd >= 0)
            close(pfd);
        return;
    }
    if (sw->o.npins == sw->o.cap_pins) {
        sw->o.cap_pins = sw->o.cap_pins ? sw->o.cap_pins * 2 : 8;
        sw->o.pins = xrealloc(sw->o.pins, sw->o.cap_pins * sizeof *sw->o.pins);
    }
    sw->o.pins[sw->o.npins++] = (struct pin){.pid = pid, .fd = pfd, .sent = 0};
    g = sweep_group(sw, ps.pgrp);
    if (!g) {
        if (sw->ng == sw->capg) {
            sw->capg = sw->capg ? sw->capg * 2 : 8;
            sw->g = xrealloc(sw->g, sw->capg * sizeof *sw->g);
        }
        g = &sw->g[sw->ng++];
        memset(g, 0, sizeof *g);
        g->pgrp = ps.pgrp;
        g->pid = 0;
    }
    if (!g->pid || pid == ps.pgrp) { /* the group's leader names it best */
        g->pid = pid;
        g->host = host;
        read_comm(procfd, pid, g->comm, sizeof g->comm);
    }
}

/* Whether a stray group's leader is pinned: only then is the group's number known to be its,
 * and the rest of the group (which may have lost the tag: env -i, a rewritten environ) is
 * stopped with it. */
static int leader_pinned(struct sweep *sw, pid_t pgrp)
{
    return sweep_group(sw, pgrp) && proc_pinned(&sw->o, pgrp);
}

/* One look at every process of the machine: pins those carrying the tag whose relhost died,
 * and the members of their groups (led by one of them). Returns how many were pinned now. */
static size_t sweep_scan(struct sweep *sw, int procfd)
{
    struct dirent *de;
    pid_t self = getpid();
    size_t before = sw->o.npins;
    int dfd = openat(procfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;

    if (!d) {
        if (dfd >= 0)
            close(dfd);
        return 0;
    }
    for (int pass = 0; pass < 2; pass++) {
        if (pass && !sw->ng)
            break; /* no stray: no group to look through */
        if (pass)
            rewinddir(d);
        while ((de = readdir(d)) != NULL) {
            pid_t pid = proc_parse_pid(de->d_name), host = 0;
            struct pstat ps;
            ssize_t len;
            if (pid <= 0 || pid == self || proc_pinned(&sw->o, pid) ||
                proc_read_stat(procfd, pid, &ps) != 0 || ps.state == 'Z' || ps.state == 'X')
                continue;
            if (pass == 0) {
                len = proc_read_environ(procfd, de->d_name, &sw->buf, &sw->cap);
                if (len > 0 && proc_environ_has(sw->buf, (size_t)len, sw->want, sw->wlen))
                    sweep_pin(sw, procfd, de->d_name, pid);
                continue;
            }
            if (!leader_pinned(sw, ps.pgrp))
                continue;
            /* a member that names a relhost still alive is that relhost's, whatever its group */
            len = proc_read_environ(procfd, de->d_name, &sw->buf, &sw->cap);
            if (len > 0 && host_of(procfd, sw->buf, (size_t)len, &host) == HOST_ALIVE)
                continue;
            proc_pin_member(&sw->o, procfd, pid, ps.pgrp);
        }
    }
    closedir(d);
    return sw->o.npins - before;
}

static void sweep_report(const struct sweep *sw, int procfd, int all)
{
    for (size_t i = 0; i < sw->ng; i++) {
        const struct stray_group *g = &sw->g[i];
        int left = 0;
        for (size_t k = 0; !all && k < sw->o.npins; k++) {
            struct pstat ps;
            left |= proc_read_stat(procfd, sw->o.pins[k].pid, &ps) == 0 && ps.pgrp == g->pgrp;
        }
        if (!left)
            log_msg(RELHOST_LOG_WARN, "release",
                    "stopped pid %d (%s), left running by relhost "
                    "pid %d that died",
                    (int)g->pid, g->comm, (int)g->host);
    }
}

int proc_stop_release_orphans(const char *tag)
{
    struct sweep sw;
    int procfd, rc = 0, empty = 0, intr0;

    if (!tag || !*tag)
        return 0;
    if (!loop_active())
        return error_set(RELHOST_EINVAL, "proc_stop_release_orphans: the event loop is not "
                                         "running");
    memset(&sw, 0, sizeof sw);
    if (strlen(tag) + sizeof "RELHOST_RELEASE=" > sizeof sw.want)
        return error_set(RELHOST_EINVAL, "proc_stop_release_orphans: release tag too long");
    sw.wlen = (size_t)snprintf(sw.want, sizeof sw.want, "RELHOST_RELEASE=%s", tag);
    procfd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (procfd < 0)
        return error_set(RELHOST_EIO,
                         "cannot open /proc to look for processes of release %s "
                         "left running: %s",
                         tag, strerror(errno));
    if (sweep_scan(&sw, procfd) == 0)
        goto out; /* the usual case: one look, no wait */
    intr0 = loop_interrupted();
    sw.o.ks = KS_TERM;
    sw.o.kill_at = loop_now() + DEFAULT_GRACE_S;
    for (;;) {
        double now;
        sweep_scan(&sw, procfd); /* what they forked meanwhile */
        now = loop_now();
        if (sw.o.ks == KS_TERM && (now >= sw.o.kill_at || loop_interrupted() > intr0)) {
            sw.o.ks = KS_KILL;
            sw.o.kill_sent = now;
        }
        if (proc_orphan_signal(&sw.o, procfd, sw.o.ks == KS_KILL ? SIGKILL : SIGTERM) > 0) {
            empty = 0;
            if (sw.o.ks == KS_KILL && now - sw.o.kill_sent > KILL_WAIT_S) {
                char comm[32];
                read_comm(procfd, sw.o.pins[0].pid, comm, sizeof comm);
                sweep_report(&sw, procfd, 0);
                rc = error_set(RELHOST_EIO,
                               "process %d (%s) of release %s, left running by a relhost that "
                               "died, is still alive %gs after SIGKILL (stuck in uninterruptible "
                               "I/O?); stop it, then run relhost again",
                               (int)sw.o.pins[0].pid, comm, tag, KILL_WAIT_S);
                goto out;
            }
        } else if (empty++) {
            break; /* two empty looks: a member inside execve() has no environ for a moment */
        }
        loop_once(TICK_S);
    }
    sweep_report(&sw, procfd, 1);
    rc = (int)sw.ng;
out:
    proc_pins_free(&sw.o);
    free(sw.g);
    free(sw.buf);
    close(procfd);
    return rc;
}
