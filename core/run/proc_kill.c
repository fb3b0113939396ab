/* SPDX-License-Identifier: MIT */
/* proc_kill.c - signalling a tree: SIGTERM, grace, SIGKILL, and waiting until it is gone. */
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

int proc_pin_signal(const struct pin *pn, int sig)
{
    if (pn->fd >= 0)
        return (int)syscall(SYS_pidfd_send_signal, pn->fd, sig, NULL, 0);
    return kill(pn->pid, sig);
}

/* Signals the pinned carriers (sig 0: only looks), forgets those fully gone (reaped), and
 * returns how many are left, zombies included. */
static size_t pins_signal(struct relhost_proc *p, int sig, int cont)
{
    size_t j = 0;
    for (size_t i = 0; i < p->npins; i++) {
        struct pin pn = p->pins[i];
        if (proc_pin_signal(&pn, sig) != 0 && errno == ESRCH) {
            if (pn.fd >= 0)
                close(pn.fd);
            continue;
        }
        if (cont)
            proc_pin_signal(&pn, SIGCONT);
        p->pins[j++] = pn;
    }
    p->npins = j;
    return j;
}

void proc_pins_free(struct relhost_proc *p)
{
    for (size_t i = 0; i < p->npins; i++)
        if (p->pins[i].fd >= 0)
            close(p->pins[i].fd);
    free(p->pins);
    p->pins = NULL;
    p->npins = p->cap_pins = 0;
}

/* Signals the whole tree (sig 0: only looks) and says whether anything of it is left. SIGCONT
 * follows SIGTERM so that a stopped process (SIGTTIN, ^Z) gets to act on it. */
static int signal_tree(struct relhost_proc *p, int sig, int cont)
{
    int alive = 0;
    if (!p->reaped) {
        alive = 1;
        if (sig) {
            kill(p->pid, sig);
            if (cont)
                kill(p->pid, SIGCONT);
        }
    }
    if (!p->group_gone) {
        if (kill(-p->pid, sig) == 0 || errno == EPERM) {
            alive = 1;
            if (cont)
                kill(-p->pid, SIGCONT);
        } else if (errno == ESRCH && p->reaped) {
            p->group_gone = 1;
        }
    }
    if (!sig && alive)
        return 1;
    proc_scan_carriers(p);
    return pins_signal(p, sig, cont) > 0 || alive;
}

int proc_tree_alive(struct relhost_proc *p)
{
    if (!p->reaped)
        return 1;
    return signal_tree(p, 0, 0);
}

void proc_kill_start(struct relhost_proc *p, double now)
{
    if (p->ks != KS_NONE)
        return;
    signal_tree(p, SIGTERM, 1);
    p->ks = KS_TERM;
    p->kill_at = now + p->grace_s;
}

/* Moves a started kill along (SIGKILL once the grace is over, again for anything forked
 * since) and says whether anything of the tree is left. Call proc_reap_children() first. */
int proc_kill_advance(struct relhost_proc *p, double now)
{
    if (p->ks == KS_TERM && now >= p->kill_at) {
        p->ks = KS_KILL;
        p->kill_sent = now;
    }
    if (p->ks == KS_KILL)
        return signal_tree(p, SIGKILL, 0);
    return proc_tree_alive(p);
}

/* Records one look at the tree and says whether it is gone for good. One empty look is enough
 * when every descendant's environ could be read; a member caught inside execve() has no environ
 * to read for a moment, so then the verdict waits for a second empty look TICK_S later. */
int proc_settled(struct relhost_proc *p, int alive, double now)
{
    if (alive) {
        p->empty_since = 0;
        return 0;
    }
    if (!p->empty_since && !p->scan_unsure) {
        p->finished = 1; /* every descendant was read: nothing of the tree is left */
        return 1;
    }
    if (!p->empty_since) {
        p->empty_since = now;
        return 0;
    }
    if (now - p->empty_since < TICK_S)
        return 0;
    p->finished = 1;
    return 1;
}

/* Tree-kills every process of ps[] at once and waits, serving the loop, until all are gone. A
 * further interrupt while waiting cuts the grace short. */
int proc_kill_wait(struct relhost_proc **ps, size_t n)
{
    int intr0 = loop_interrupted();
    double now = loop_now();

    for (size_t i = 0; i < n; i++)
        if (!ps[i]->finished)
            proc_kill_start(ps[i], now);
    for (;;) {
        double wait = TICK_S;
        size_t alive = 0;
        int hurry, left;

        proc_reap_children();
        now = loop_now();
        hurry = loop_interrupted() > intr0;
        for (size_t i = 0; i < n; i++) {
            struct relhost_proc *p = ps[i];
            if (p->finished)
                continue;
            if (hurry && p->ks == KS_TERM)
                p->kill_at = now;
            left = proc_kill_advance(p, now);
            if (proc_settled(p, left, now))
                continue;
            if (left && p->ks == KS_KILL && now - p->kill_sent > KILL_WAIT_S)
                return error_set(RELHOST_EIO,
                                 "process tree of pid %d is still alive %gs after SIGKILL "
                                 "(stuck in uninterruptible I/O?)",
                                 (int)p->pid, KILL_WAIT_S);
            alive++;
            if (p->ks == KS_TERM && p->kill_at - now < wait)
                wait = p->kill_at - now > 0 ? p->kill_at - now : 0;
        }
        if (!alive)
            return 0;
        loop_once(wait);
    }
}
