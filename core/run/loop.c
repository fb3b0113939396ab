/* SPDX-License-Identifier: MIT */
#include "run/loop.h"

#include "base/error.h"
#include "base/util.h"

#include <relhost/plugin.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

struct watcher {
    int fd;
    short events;
    loop_fd_cb cb;
    void *arg;
    /* Identifies this registration: within one dispatch round a callback may unwatch a fd and
     * another may watch a new fd with the same number; the id keeps stale events away from it. */
    unsigned long id;
};

struct timer {
    double when;
    loop_timer_cb cb;
    void *arg;
    unsigned long id; /* ids grow: a timer added during a round has an id above that round's */
};

static struct {
    int sigfd; /* -1 outside loop_init() .. loop_fini() */
    /* A byte written by loop_interrupt_from_handler(): the guard's handler counts a stop while
     * the signals are unblocked (core/run/guard.c), and one that lands after a round checked
     * the count but before its ppoll() would otherwise sleep until the next event. */
    int wake[2];
    sigset_t old_mask;
    struct sigaction old_pipe;
    int old_subreaper;
    struct watcher *w;
    size_t n, cap;
    unsigned long next_id;
    void (*child_cb)(void *arg);
    void *child_arg;
    volatile sig_atomic_t interrupts;
    volatile sig_atomic_t on_behalf; /* loop_stop_on_behalf() counted a request not yet seen */
    volatile sig_atomic_t first_sig;
    volatile sig_atomic_t rounds; /* loop_once() calls that began: a plugin serving the loop */
    int stop_code;                /* a tool failure stopped the run (loop_stop_failed) */
    char stop_why[512];
    unsigned child_events;
    struct timer *t; /* pending timers, unordered (a handful: one per job and runner) */
    size_t nt, capt;
    unsigned long next_timer;
} L = {.sigfd = -1, .wake = {-1, -1}};

static void loop_signals(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGHUP);
    sigaddset(set, SIGCHLD);
}

static void count_interrupt(int sig)
{
    /* A hang-up (closed terminal, ssh drop) asks for the same clean stop as SIGTERM. */
    if (sig == SIGHUP)
        sig = SIGTERM;
    if (L.interrupts == 0)
        L.first_sig = sig;
    if (L.on_behalf) { /* the request loop_stop_on_behalf() made for it: not a second one */
        L.on_behalf = 0;
        return;
    }
    L.interrupts++;
}

void loop_stop_on_behalf(int sig)
{
    if (L.interrupts)
        return;
    count_interrupt(sig);
    L.on_behalf = 1;
}

/* Reads every queued signal; returns 1 when a SIGCHLD was among them. */
static int drain_signals(void)
{
    struct signalfd_siginfo si[16];
    int child = 0;
    for (;;) {
        ssize_t n = read(L.sigfd, si, sizeof si);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        for (size_t i = 0; i < (size_t)n / sizeof si[0]; i++) {
            if (si[i].ssi_signo == SIGCHLD)
                child = 1;
            else
                count_interrupt((int)si[i].ssi_signo);
        }
    }
    return child;
}

int loop_init(void)
{
    sigset_t set;
    struct sigaction ign;
    int fd;

    if (L.sigfd >= 0)
        return 0;
    loop_signals(&set);
    if (sigprocmask(SIG_BLOCK, &set, &L.old_mask) != 0)
        return error_set(RELHOST_EIO, "cannot block signals: %s", strerror(errno));
    fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    if (fd < 0) {
        int e = errno;
        sigprocmask(SIG_SETMASK, &L.old_mask, NULL);
        return error_set(RELHOST_EIO, "cannot create a signalfd: %s", strerror(e));
    }
    if (prctl(PR_GET_CHILD_SUBREAPER, &L.old_subreaper) != 0)
        L.old_subreaper = 0;
    /* Escaped grandchildren (double fork, setsid) must be reparented to relhost, not to init,
     * so that relhost can reap them and tell when a process tree is really gone. */
    if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) {
        int e = errno;
        close(fd);
        sigprocmask(SIG_SETMASK, &L.old_mask, NULL);
        return error_set(RELHOST_EIO, "cannot become a child subreaper: %s", strerror(e));
    }
    /* A child that closes its end of a pipe must turn into EPIPE on write, not kill relhost. */
    memset(&ign, 0, sizeof ign);
    ign.sa_handler = SIG_IGN;
    sigemptyset(&ign.sa_mask);
    sigaction(SIGPIPE, &ign, &L.old_pipe);

    if (pipe2(L.wake, O_CLOEXEC | O_NONBLOCK) != 0) {
        int e = errno;
        close(fd);
        sigaction(SIGPIPE, &L.old_pipe, NULL);
        prctl(PR_SET_CHILD_SUBREAPER, L.old_subreaper);
        sigprocmask(SIG_SETMASK, &L.old_mask, NULL);
        return error_set(RELHOST_EIO, "cannot create the loop's wake-up pipe: %s", strerror(e));
    }
    L.sigfd = fd;
    L.interrupts = L.stop_code ? 1 : 0; /* a tool failure before the loop still stops it */
    L.first_sig = L.stop_code ? SIGTERM : 0;
    return 0;
}

void loop_fini(void)
{
    if (L.sigfd < 0)
        return;
    /* Consume what is queued: unblocking would otherwise deliver a pending SIGTERM with its
     * default action after the caller has already decided how to exit. */
    drain_signals();
    close(L.sigfd);
    L.sigfd = -1;
    close(L.wake[0]);
    close(L.wake[1]);
    L.wake[0] = L.wake[1] = -1;
    sigprocmask(SIG_SETMASK, &L.old_mask, NULL);
    sigaction(SIGPIPE, &L.old_pipe, NULL);
    prctl(PR_SET_CHILD_SUBREAPER, L.old_subreaper);
    free(L.w);
    L.w = NULL;
    L.n = L.cap = 0;
    L.child_cb = NULL;
    L.child_arg = NULL;
    free(L.t);
    L.t = NULL;
    L.nt = L.capt = 0;
}

int loop_active(void) { return L.sigfd >= 0; }

double loop_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct watcher *find_fd(int fd)
{
    for (size_t i = 0; i < L.n; i++)
        if (L.w[i].fd == fd)
            return &L.w[i];
    return NULL;
}

int loop_watch_fd(int fd, short events, loop_fd_cb cb, void *arg)
{
    struct watcher *w;
    if (fd < 0 || !cb)
        return error_set(RELHOST_EINVAL, "loop_watch_fd: bad fd %d or no callback", fd);
    w = find_fd(fd);
    if (!w) {
        if (L.n == L.cap) {
            L.cap = L.cap ? L.cap * 2 : 8;
            L.w = xrealloc(L.w, L.cap * sizeof *L.w);
        }
        w = &L.w[L.n++];
        w->fd = fd;
        w->id = ++L.next_id;
    }
    w->events = events;
    w->cb = cb;
    w->arg = arg;
    return 0;
}

void loop_unwatch_fd(int fd)
{
    for (size_t i = 0; i < L.n; i++) {
        if (L.w[i].fd == fd) {
            L.w[i] = L.w[--L.n];
            return;
        }
    }
}

void loop_on_child(void (*cb)(void *arg), void *arg)
{
    L.child_cb = cb;
    L.child_arg = arg;
}

unsigned long loop_timer_add(double when, loop_timer_cb cb, void *arg)
{
    if (L.nt == L.capt) {
        L.capt = L.capt ? L.capt * 2 : 16;
        L.t = xrealloc(L.t, L.capt * sizeof *L.t);
    }
    L.t[L.nt].when = isnan(when) ? 0 : when;
    L.t[L.nt].cb = cb;
    L.t[L.nt].arg = arg;
    L.t[L.nt].id = ++L.next_timer;
    return L.t[L.nt++].id;
}

void loop_timer_cancel(unsigned long id)
{
    for (size_t i = 0; id && i < L.nt; i++) {
        if (L.t[i].id == id) {
            L.t[i] = L.t[--L.nt];
            return;
        }
    }
}

double loop_timer_next(void)
{
    double next = -1;
    for (size_t i = 0; i < L.nt; i++)
        if (next < 0 || L.t[i].when < next)
            next = L.t[i].when;
    return next;
}

/* Runs the timers due now, earliest first, among those that existed when the round began
 * (id <= last): one that a callback adds waits for the next round. Each is removed before its
 * callback runs, and the list is searched again after every callback, which may have changed
 * it (or, waiting itself, run some of these timers in a nested round). */
static void run_timers(unsigned long last)
{
    for (;;) {
        double now = loop_now();
        size_t best = L.nt;
        struct timer t;
        for (size_t i = 0; i < L.nt; i++)
            if (L.t[i].id <= last && L.t[i].when <= now &&
                (best == L.nt || L.t[i].when < L.t[best].when))
                best = i;
        if (best == L.nt)
            return;
        t = L.t[best];
        L.t[best] = L.t[--L.nt];
        t.cb(t.arg);
    }
}

static struct watcher *find_id(unsigned long id)
{
    for (size_t i = 0; i < L.n; i++)
        if (L.w[i].id == id)
            return &L.w[i];
    return NULL;
}

int loop_once(double timeout_s)
{
    /* Per call, not static: a callback may itself wait through loop_once(). */
    struct pollfd pfd_small[16];
    unsigned long id_small[16];
    struct pollfd *pfd = pfd_small;
    unsigned long *ids = id_small;
    size_t n = L.n + 2;
    struct timespec ts, *tsp = NULL;
    unsigned long last_timer = L.next_timer;
    double next_timer = loop_timer_next();
    int r;

    L.rounds++;
    if (n > sizeof pfd_small / sizeof pfd_small[0]) {
        pfd = xmalloc(n * sizeof *pfd);
        ids = xmalloc(n * sizeof *ids);
    }
    pfd[0].fd = L.sigfd; /* -1 before loop_init(): poll ignores it */
    pfd[0].events = POLLIN;
    pfd[0].revents = 0;
    ids[0] = 0;
    pfd[1].fd = L.wake[0];
    pfd[1].events = POLLIN;
    pfd[1].revents = 0;
    ids[1] = 0;
    for (size_t i = 0; i < L.n; i++) {
        pfd[i + 2].fd = L.w[i].fd;
        pfd[i + 2].events = L.w[i].events;
        pfd[i + 2].revents = 0;
        ids[i + 2] = L.w[i].id;
    }
    if (isnan(timeout_s))
        timeout_s = 0;
    if (next_timer >= 0) {
        double until = next_timer - loop_now();
        if (until < 0)
            until = 0;
        if (timeout_s < 0 || until < timeout_s)
            timeout_s = until;
    }
    if (timeout_s >= 0) {
        if (timeout_s > 1e6)
            timeout_s = 1e6;
        ts.tv_sec = (time_t)timeout_s;
        ts.tv_nsec = (long)((timeout_s - (double)ts.tv_sec) * 1e9);
        if (ts.tv_nsec > 999999999L)
            ts.tv_nsec = 999999999L;
        tsp = &ts;
    }
    r = ppoll(pfd, n, tsp, NULL);
    if (r > 0) {
        if (pfd[0].revents && drain_signals()) {
            L.child_events++;
            if (L.child_cb)
                L.child_cb(L.child_arg);
        }
        if (pfd[1].revents) { /* the handler's byte(s): the count is already taken */
            char buf[64];
            while (read(L.wake[0], buf, sizeof buf) > 0)
                ;
        }
        for (size_t i = 2; i < n; i++) {
            struct watcher *w;
            if (!pfd[i].revents)
                continue;
            w = find_id(ids[i]);
            if (w && w->fd == pfd[i].fd)
                w->cb(w->fd, pfd[i].revents, w->arg);
        }
    }
    if (pfd != pfd_small) {
        free(pfd);
        free(ids);
    }
    run_timers(last_timer);
    return L.interrupts;
}

int loop_interrupted(void) { return L.interrupts; }

int loop_interrupt_signal(void) { return L.first_sig; }

void loop_fake_interrupt(int sig) { count_interrupt(sig); }

void loop_interrupt_from_handler(int sig)
{
    int e = errno; /* a signal handler: write() only, errno kept */
    count_interrupt(sig);
    if (L.wake[1] >= 0 && write(L.wake[1], "!", 1) < 0) {
        /* full (a wake-up is pending anyway) */
    }
    errno = e;
}

unsigned long loop_rounds(void) { return (unsigned long)L.rounds; }

void loop_stop_failed(int code, const char *why)
{
    if (L.stop_code)
        return;
    L.stop_code = code;
    snprintf(L.stop_why, sizeof L.stop_why, "%s", why ? why : "");
    /* Stop as a first SIGTERM does: no job starts, the running ones are stopped. */
    if (L.interrupts == 0)
        L.first_sig = SIGTERM;
    L.interrupts++;
}

int loop_stop_code(const char **why)
{
    if (why)
        *why = L.stop_code ? L.stop_why : NULL;
    return L.stop_code;
}

unsigned loop_child_events(void) { return L.child_events; }

void loop_child_news(void) { L.child_events++; }
