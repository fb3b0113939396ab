/* SPDX-License-Identifier: MIT */
/*
 * loop.h - the one-thread event loop: ppoll over a signalfd, watched fds and timers.
 *
 * loop_init() blocks SIGINT, SIGTERM, SIGHUP and SIGCHLD, reads them from a signalfd (O_CLOEXEC),
 * makes relhost a child subreaper (PR_SET_CHILD_SUBREAPER) so escaped grandchildren are reparented
 * to it, and ignores SIGPIPE. Nothing in relhost sleeps outside loop_once(): every wait (process,
 * HTTP transfer and backoff, prompt, job poll interval) is a loop_once() call with a timeout, so
 * signals, children and timers (job deadlines, kill graces, log reads, runner polls) are always
 * served, whichever code is waiting.
 */
#ifndef RELHOST_LOOP_H
#define RELHOST_LOOP_H

#include <poll.h>
#include <signal.h>

/** Set up the loop. Returns 0 or a negative RELHOST_E* (error_last() says why). */
int loop_init(void);
/** Restore the signal mask, SIGPIPE and the subreaper flag, close the signalfd, forget every
 *  watcher and the SIGCHLD hook. Signals still queued are consumed (and counted). */
void loop_fini(void);
/** 1 between loop_init() and loop_fini(): processes can only be waited for then. */
int loop_active(void);

/** Monotonic clock in seconds. */
double loop_now(void);

typedef void (*loop_fd_cb)(int fd, short revents, void *arg);
/** Call cb when fd is ready for events (POLLIN/POLLOUT). One watcher per fd. */
int loop_watch_fd(int fd, short events, loop_fd_cb cb, void *arg);
void loop_unwatch_fd(int fd);

/** How many SIGCHLD rounds the loop has dispatched: a caller that saw a different number last
 *  time knows a child changed state (the job layer polls local runners at once then). */
unsigned loop_child_events(void);
/** Counts a child's end the loop did not see as a signal (a process tree found settled by a
 *  timer after its main process was reaped): whoever watches loop_child_events() looks again. */
void loop_child_news(void);

/** Called on every SIGCHLD (after the loop drained the signalfd); proc.c reaps there. */
void loop_on_child(void (*cb)(void *arg), void *arg);

/*
 * Timers. A timer is a one-shot callback at a monotonic time (loop_now() clock). Whatever code
 * serves the loop runs the timers that are due: jobs_wait, the HTTP client's wait (core/net/http.c
 * drive() and its backoff sleep), proc_run, a tree kill's grace: so a deadline fires on time
 * even while another part of relhost waits on something slow. A callback runs after the fd
 * callbacks of the same round, with its timer already removed: it may add timers (also itself
 * again), cancel others, and wait through loop_once() itself (nested rounds run the other
 * timers that fall due meanwhile). A timer added by a callback never fires in the same round.
 */
typedef void (*loop_timer_cb)(void *arg);
/** Call cb(arg) once at monotonic time `when` (a time already past fires in the next round).
 *  Returns the timer's id (never 0), for loop_timer_cancel(). Works before loop_init() too:
 *  loop_once() serves timers whether or not signals are set up. */
unsigned long loop_timer_add(double when, loop_timer_cb cb, void *arg);
/** Forget timer `id` if it has not fired yet; 0 or an id that already fired: nothing. */
void loop_timer_cancel(unsigned long id);
/** When the earliest pending timer is due (loop_now() clock), or -1 when none. */
double loop_timer_next(void);

/**
 * Wait up to timeout_s seconds (0: just poll; negative: no limit) for one round of events, and
 * dispatch them: fd callbacks, SIGCHLD hook, SIGINT/SIGTERM counted, then the timers that are due.
 * The wait ends early when a timer falls due before timeout_s. Returns the number of
 * interrupts seen so far (see loop_interrupted()).
 */
int loop_once(double timeout_s);

/** How many SIGINT/SIGTERM arrived (0, 1, 2...). The first asks for a clean stop; the second
 *  for a faster one (remote jobs cancelled too). SIGHUP counts as SIGTERM. loop_init() starts
 *  the count at 0. */
int loop_interrupted(void);
/** The signal number of the first interrupt (SIGINT or SIGTERM; SIGHUP reads as SIGTERM), 0
 *  when none. */
int loop_interrupt_signal(void);
/**
 * A tool failure that makes going on pointless or harmful (the release state can no longer be
 * saved: a full disk, an I/O error): stop the run as a first SIGTERM does (no job starts; the
 * running ones are stopped) and make it end with exit `code` and the message `why` (copied).
 * The first failure wins. Works before loop_init() too.
 */
void loop_stop_failed(int code, const char *why);
/** The code given to loop_stop_failed() (0: none) and, in *why (may be NULL), its message. */
int loop_stop_code(const char **why);
/** Count an interrupt from a signal handler (core/run/guard.c catches SIGINT and SIGTERM while
 *  a plugin call runs): async-signal-safe, as if the signalfd had read it. */
void loop_interrupt_from_handler(int sig);
/** How many loop_once() rounds began so far: a plugin call that waits through host services
 *  serves the loop, one that spins does not (async-signal-safe to read). */
unsigned long loop_rounds(void);
/** Tests only: pretend an interrupt arrived. */
void loop_fake_interrupt(int sig);
/** A stop signal reached a process of relhost's (an isolated plugin's server) from outside, as
 *  when a service manager stops the whole group: stop as if relhost had got sig, unless it was
 *  already told; relhost's own copy of that signal, when it comes, is not a second request. */
void loop_stop_on_behalf(int sig);

#endif
