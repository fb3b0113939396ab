/* SPDX-License-Identifier: MIT */
/*
 * proc.h - the only place relhost forks, signals and reaps.
 *
 * Every child: its own process group (setpgid(0,0)); default signal dispositions and an EMPTY
 * signal mask (the loop's signalfd mask survives exec and would make SIGTERM a no-op); stdin from
 * /dev/null unless stdin_data is given; every fd above 2 closed (close_range(3, ~0U, 0), with a
 * fallback loop); the environment cookie RELHOST_PROC=<unique id> so that processes which escaped
 * the group with setsid() are still found through /proc/<pid>/environ (Jenkins'
 * ProcessTreeKiller). exec failure is reported through a CLOEXEC pipe: 127 not found, 126 not
 * executable, with errno text.
 *
 * Tree kill: SIGTERM to the group and to every process carrying the cookie, wait grace_s (serving
 * the loop), then SIGKILL to all of them. relhost is a subreaper (loop_init), so orphans are
 * reparented to it and reaped by the SIGCHLD hook.
 */
#ifndef RELHOST_PROC_H
#define RELHOST_PROC_H

#include <relhost/plugin.h>
#include <sys/types.h>

struct relhost_proc; /* opaque: the plugin ABI's relhost_proc */

/** Install the SIGCHLD hook. Call once after every loop_init(). proc_run() and proc_spawn()
 *  refuse to start anything while the loop is not running (RELHOST_EINVAL). */
void proc_init(void);

/**
 * Run a command to completion, capturing stdout and stderr (each bounded by capture_max; the rest
 * is read and dropped, and res->truncated set). Waits through loop_once(). On timeout: tree kill,
 * res->timed_out = 1, exit_code 124. Returns 0 when the command ran or failed to exec (see
 * res->exec_failed), RELHOST_EINTR when an interrupt arrived while waiting (the child tree is
 * killed first), another RELHOST_E* when it could not even try (fork failed, bad spec).
 * Only an interrupt counted after the call began stops it, so the interrupt path can still run
 * commands (scancel). When the main child has exited but a process it left keeps the pipes
 * open, reading stops after a short drain and the rest of the tree is killed.
 * res is filled on 0 and on RELHOST_EINTR (partial output); pass it to proc_result_free() in
 * every case. exec failure: res->err holds why, e.g. "relhost: cannot execute '<argv0>': <errno
 * text>" (126 for a cwd that cannot be entered: "relhost: cannot run '<argv0>' in folder ...").
 * Killed by a signal: signal set, exited 0, exit_code 128 + signal. Timed out: as timeout(1)
 * reports it, exited 1, exit_code 124, signal 0.
 */
int proc_run(const relhost_proc_spec *spec, relhost_proc_result *res);
void proc_result_free(relhost_proc_result *res);

/**
 * Start a long process whose stdout and stderr are appended to spec->log_path (created 0644,
 * O_APPEND|O_CLOEXEC in the parent). `cookie` (may be NULL) is exported to the child as
 * RELHOST_JOB=<cookie> in addition to the per-process cookie. Never blocks on the child.
 */
int proc_spawn(const relhost_proc_spec *spec, const char *cookie, struct relhost_proc **out);

/**
 * Non-blocking. Advances the deadline state machine: past spec->timeout_s sends SIGTERM to the
 * tree and appends "[TIMEOUT] relhost: killed after <N>s (SIGTERM, SIGKILL after <G>s grace)" to
 * the log; past the grace sends SIGKILL. *done = 1 once the main child is reaped and no process of
 * its tree (group or cookie) is left; res is then filled (timed_out: exit_code 124) as proc_run()
 * fills it, without output. When the main child exits but leaves processes behind, they are
 * stopped the same way (SIGTERM, grace, SIGKILL) after a "[CLEANUP] relhost: ..." line, and the
 * exit code is the main child's. An exec failure is appended to the log as "relhost: ...".
 */
int proc_poll(struct relhost_proc *p, int *done, relhost_proc_result *res);

/** Tree-kill now and wait (serving the loop) until the tree is gone. */
int proc_kill(struct relhost_proc *p);
/** Free p; if still running, it is killed first. */
void proc_release(struct relhost_proc *p);
pid_t proc_pid(const struct relhost_proc *p);

/** Tree-kill every process still running (interrupt path). Waits at most the longest grace. */
void proc_kill_all(void);

/** Number of processes started by proc_spawn() (and not released) whose tree is still running
 *  (for tests and status). Scans /proc for those whose main child has exited. */
int proc_live_count(void);

/** Tests only: make children close their fds by listing /proc/self/fd, as on kernels without
 *  close_range(), so that the fallback is exercised too. */
void proc_test_force_fd_fallback(int on);

#endif
