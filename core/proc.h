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

/** Install the SIGCHLD hook. Call once after loop_init(). */
void proc_init(void);

/**
 * Run a command to completion, capturing stdout and stderr (each bounded by capture_max; the rest
 * is read and dropped, and res->truncated set). Waits through loop_once(). On timeout: tree kill,
 * res->timed_out = 1, exit_code 124. Returns 0 when the command ran or failed to exec (see
 * res->exec_failed), RELHOST_EINTR when an interrupt arrived while waiting (the child tree is
 * killed first), another RELHOST_E* when it could not even try (fork failed, bad spec).
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
 * tree and appends "[TIMEOUT] relhost: killed after N s (SIGTERM, then SIGKILL after G s)" to
 * the log; past the grace sends SIGKILL. *done = 1 once the main child is reaped and no process of
 * its tree (group or cookie) is left; res is then filled (timed_out: exit_code 124).
 */
int proc_poll(struct relhost_proc *p, int *done, relhost_proc_result *res);

/** Tree-kill now and wait (serving the loop) until the tree is gone. */
int proc_kill(struct relhost_proc *p);
/** Free p; if still running, it is killed first. */
void proc_release(struct relhost_proc *p);
pid_t proc_pid(const struct relhost_proc *p);

/** Tree-kill every process still running (interrupt path). Waits at most the longest grace. */
void proc_kill_all(void);

/** Number of live processes started by proc_spawn() (for tests and status). */
int proc_live_count(void);

#endif
