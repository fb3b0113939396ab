/* SPDX-License-Identifier: MIT */
/* proc_orphan.c - stopping an attempt an earlier relhost left running (proc_stop_orphan). */
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

/* ---- an attempt an earlier relhost left running ----------------------------------------------- */

/* Whether the pinned process is the one id names: alive and no zombie, started at
 * id->starttime, RELHOST_JOB=<id->job> (and RELHOST_PROC=<id->cookie>) in its environ. The
 * reads go through /proc/<pid> by number, so the pin is asked afterwards whether its process
 * still lives: had it died meanwhile, what was read may be a newcomer's under that number. */
static int is_orphan(int procfd, const struct pin *pn, const proc_ident *id)
{
    char name[24], want[300];
    char *buf = NULL;
    size_t cap = 0, wlen;
    struct pstat ps;
    ssize_t n;
    int ok;

    if (proc_read_stat(procfd, pn->pid, &ps) != 0 || ps.state == 'Z' || ps.state == 'X' ||
        ps.starttime != id->starttime)
        return 0;
    snprintf(name, sizeof name, "%d", (int)pn->pid);
    /* While the process execs (sh running the job's command), its environ reads empty for an
     * instant: read again before calling it someone else's. */
    for (int tries = 0; (n = proc_read_environ(procfd, name, &buf, &cap)) <= 0 && tries < 20;
         tries++)
        loop_once(0.005); /* the loop's timers are served meanwhile */
    wlen = (size_t)snprintf(want, sizeof want, "RELHOST_JOB=%s", id->job);
    ok = n > 0 && proc_environ_has(buf, (size_t)n, want, wlen);
    if (ok && id->cookie[0]) {
        wlen = (size_t)snprintf(want, sizeof want, "RELHOST_PROC=%s", id->cookie);
        ok = proc_environ_has(buf, (size_t)n, want, wlen);
    }
    free(buf);
    return ok && proc_pin_signal(pn, 0) == 0;
}

/* Pins every live member of an orphan's tree not pinned yet: the processes of its group (only
 * while its leader lives: once it is gone, the group's number may be reused) and those
 * carrying its cookie wherever they went (setsid). Unlike proc_scan_carriers() this reads every
 * process on the machine: an orphan is below init now, not below this relhost. It runs only
 * while an orphan is being stopped. */
static void orphan_scan(struct relhost_proc *o, int procfd, int leader_alive, const char *want,
                        size_t wlen)
{
    char *buf = NULL;
    size_t cap = 0;
    struct dirent *de;
    pid_t self = getpid();
    int dfd = openat(procfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;

    if (!d) {
        if (dfd >= 0)
            close(dfd);
        return; /* the pins already held are still signalled and watched */
    }
    while ((de = readdir(d)) != NULL) {
        pid_t pid = proc_parse_pid(de->d_name);
        struct pstat ps;
        ssize_t len;
        if (pid <= 0 || pid == self || proc_pinned(o, pid) ||
            proc_read_stat(procfd, pid, &ps) != 0 || ps.state == 'Z' || ps.state == 'X')
            continue;
        if (leader_alive && ps.pgrp == o->pid) {
            proc_pin_member(o, procfd, pid, o->pid);
            continue;
        }
        len = proc_read_environ(procfd, de->d_name, &buf, &cap);
        if (len > 0 && proc_environ_has(buf, (size_t)len, want, wlen))
            proc_pin_carrier(o, procfd, de->d_name, pid, want, wlen, &buf, &cap);
    }
    closedir(d);
    free(buf);
}

/* Sends sig to the pinned members of an orphan tree (SIGTERM once each, with SIGCONT so that a
 * stopped one acts on it; SIGKILL at every call), forgets those gone (reaped, or a zombie: its
 * parent is not relhost, and a zombie runs nothing) and returns how many are left. */
size_t proc_orphan_signal(struct relhost_proc *o, int procfd, int sig)
{
    size_t j = 0;
    for (size_t i = 0; i < o->npins; i++) {
        struct pin pn = o->pins[i];
        struct pstat ps;
        if ((proc_pin_signal(&pn, 0) != 0 && errno == ESRCH) ||
            (proc_read_stat(procfd, pn.pid, &ps) == 0 && (ps.state == 'Z' || ps.state == 'X'))) {
            if (pn.fd >= 0)
                close(pn.fd);
            continue;
        }
        if (sig == SIGKILL || !pn.sent) {
            proc_pin_signal(&pn, sig);
            if (sig == SIGTERM)
                proc_pin_signal(&pn, SIGCONT);
            pn.sent = sig;
        }
        o->pins[j++] = pn;
    }
    o->npins = j;
    return j;
}

/* SIGTERM, grace, SIGKILL to the tree of the verified orphan o (its leader pinned), watching
 * /proc every TICK_S until nothing of it is left. A further interrupt cuts the grace short. */
static int orphan_kill_wait(struct relhost_proc *o, int procfd, const proc_ident *id)
{
    char want[300];
    size_t wlen = id->cookie[0] ? (size_t)snprintf(want, sizeof want, "RELHOST_PROC=%s", id->cookie)
                                : (size_t)snprintf(want, sizeof want, "RELHOST_JOB=%s", id->job);
    int intr0 = loop_interrupted(), empty = 0;

    o->ks = KS_TERM;
    o->kill_at = loop_now() + (id->grace_s > 0 ? id->grace_s : DEFAULT_GRACE_S);
    for (;;) {
        double now;
        orphan_scan(o, procfd, proc_pinned(o, o->pid), want, wlen);
        now = loop_now();
        if (o->ks == KS_TERM && (now >= o->kill_at || loop_interrupted() > intr0)) {
            o->ks = KS_KILL;
            o->kill_sent = now;
        }
        if (proc_orphan_signal(o, procfd, o->ks == KS_KILL ? SIGKILL : SIGTERM) > 0) {
            empty = 0;
            if (o->ks == KS_KILL && now - o->kill_sent > KILL_WAIT_S)
                return error_set(RELHOST_EIO,
                                 "process %d of job %s, left running by an earlier relhost, is "
                                 "still alive %gs after SIGKILL (stuck in uninterruptible I/O?); "
                                 "stop it, then run relhost again",
                                 (int)o->pins[0].pid, id->job, KILL_WAIT_S);
        } else if (empty++) {
            return 0; /* two empty looks: a member inside execve() has no environ for a moment */
        }
        loop_once(TICK_S);
    }
}

/* Re-attaching to an orphan is impossible: it is not our child (it was reparented to init or to
 * a subreaper above the relhost that died), so neither waitpid() nor anything else tells how it
 * ends, and its exit status is lost. The rule is therefore to stop it; the caller runs the job
 * again. */
int proc_stop_orphan(const proc_ident *id)
{
    struct relhost_proc o;
    struct pin leader;
    int procfd, rc;

    if (!id || id->pid <= 1 || id->pid == getpid() || !id->job[0] || !id->starttime)
        return 0;
    if (!loop_active())
        return error_set(RELHOST_EINVAL, "proc_stop_orphan: the event loop is not running");
    leader.pid = id->pid;
    leader.sent = 0;
    leader.fd = (int)syscall(SYS_pidfd_open, id->pid, 0);
    if (leader.fd < 0 && errno == ESRCH)
        return 0; /* gone */
    procfd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (procfd < 0 || !is_orphan(procfd, &leader, id)) {
        rc = procfd < 0 ? error_set(RELHOST_EIO,
                                    "cannot open /proc to look for process %d of "
                                    "job %s: %s",
                                    (int)id->pid, id->job, strerror(errno))
                        : 0;
        if (leader.fd >= 0)
            close(leader.fd);
        if (procfd >= 0)
            close(procfd);
        return rc; /* gone, or someone else's process under a reused number: never signalled */
    }
    memset(&o, 0, sizeof o);
    o.pid = id->pid;
    o.pins = xmalloc(sizeof *o.pins);
    o.pins[0] = leader;
    o.npins = o.cap_pins = 1;
    rc = orphan_kill_wait(&o, procfd, id);
    proc_pins_free(&o);
    close(procfd);
    return rc ? rc : 1;
}
