/* SPDX-License-Identifier: MIT */
/*
 * proc.h - the only place relhost starts, signals and reaps processes.
 *
 * Every child: its own process group (setpgid(0,0)); default signal dispositions and an EMPTY
 * signal mask (the loop's signalfd mask survives exec and would make SIGTERM a no-op); stdin from
 * /dev/null unless stdin_data is given; every fd above 2 closed (close_range(3, ~0U, 0), with a
 * fallback loop); the environment cookie RELHOST_PROC=<unique id> so that processes which escaped
 * the group with setsid() are still found through /proc/<pid>/environ (Jenkins'
 * ProcessTreeKiller). The child is started with clone(CLONE_VM | CLONE_VFORK) on a stack of its
 * own, so its cost does not grow with relhost's memory; argv[0] is searched in the PATH of the
 * child's environment. A failed setup or exec is reported back through memory the child shares
 * until then: 127 not found, 126 not executable, with errno text.
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
 * killed first), another RELHOST_E* when it could not even try (no process could be started, bad
 * spec).
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
/** proc_run() of `git -C repo args...` (at most 12 args, NULL-terminated) with a deadline of
 *  timeout_s; res as proc_run's (the caller frees it with proc_result_free). */
int proc_run_git(const char *repo, const char *const *args, double timeout_s,
                 relhost_proc_result *res);
void proc_result_free(relhost_proc_result *res);

/**
 * Start a long process whose stdout and stderr are appended to spec->log_path (created 0644,
 * O_APPEND|O_CLOEXEC in the parent). `cookie` (may be NULL) is exported to the child as
 * RELHOST_JOB=<cookie> in addition to the per-process cookie. Never blocks on the child.
 */
int proc_spawn(const relhost_proc_spec *spec, const char *cookie, struct relhost_proc **out);
/** proc_spawn() with the child's stdin, stdout and stderr given (in, out, err: the parent's fds,
 *  inherited by the child only as its 0, 1 and 2) instead of a log: an isolated plugin's
 *  server (core/isolate). Poll, kill and release it like any spawned process. */
int proc_spawn_fds(const relhost_proc_spec *spec, int in, int out, int err,
                   struct relhost_proc **out_proc);

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

/**
 * What identifies a process proc_spawn() started for a job, so that a later relhost can tell
 * whether that very process still runs: its pid, its start time (field 22 of /proc/<pid>/stat,
 * clock ticks since boot: a reused pid has another), the job cookie it was given (RELHOST_JOB),
 * its process cookie (RELHOST_PROC, unique to that spawn) and the grace its runner asked for.
 */
typedef struct proc_ident {
    pid_t pid;
    unsigned long long starttime;
    double grace_s;
    char job[256];
    char cookie[64];
} proc_ident;

/** The newest process proc_spawn() started (and not released) whose environment holds
 *  RELHOST_JOB=<job>, given as its cookie or in spec->env: 0 and *out filled, or
 *  RELHOST_ENOTFOUND (nothing spawned for that job, e.g. a runner that runs jobs elsewhere). */
int proc_job_ident(const char *job, proc_ident *out);

/**
 * Stops what an earlier relhost process left running of a job (relhost died, its job did not:
 * the job has a process group of its own). Only when id->pid still runs AND its start time is
 * id->starttime AND its environment holds RELHOST_JOB=<id->job> (and RELHOST_PROC=<id->cookie>
 * when given) is it that process; otherwise nothing is signalled. Then: SIGTERM to its process
 * group and to every process carrying its cookie (those that escaped with setsid), id->grace_s
 * (default 5 s; serving the loop), SIGKILL, and a wait (polling /proc: they are not our
 * children) until all are gone. Returns 1 when it was found and stopped, 0 when there was
 * nothing to stop, RELHOST_EIO when some of it survived SIGKILL (explained).
 */
int proc_stop_orphan(const proc_ident *id);

/**
 * The release this relhost works on, set by the pipeline before any step runs (NULL clears it).
 * Its tag is the absolute state folder (symlinks resolved; record names the release, for the
 * caller's own messages): a run stops what a dead relhost left of any release of the folder.
 * While one is set, every
 * child gets RELHOST_RELEASE=<tag> and RELHOST_HOST=<relhost pid>.<relhost start time> (field 22
 * of /proc/self/stat), which neither spec->env nor relhost's own environment can override; a
 * proc_spawn() without a job (no cookie, no RELHOST_JOB in spec->env: a runner's own process,
 * such as a command launching a job on a remote engine, which its find() waits for after a
 * crash) gets neither.
 * With no tag set, both are passed on only as relhost inherited them.
 */
void proc_set_release(const char *state_dir, const char *record);
/** The tag proc_set_release() set, or NULL. */
const char *proc_release_tag(void);
/** Nested on/off: while on, children get no release tag (and none inherited): the processes of
 *  runners that hand jobs to a remote engine (runners with find()), whose environment it would
 *  pass on to jobs that must outlive relhost and be re-attached, never stopped as orphans. */
void proc_tag_suspend(int on);

/**
 * Stops what a relhost that died (SIGKILL, OOM) left running of release `tag`: every process
 * whose environment holds RELHOST_RELEASE=<tag> and whose RELHOST_HOST names a relhost that is
 * no longer alive (its pid gone or a zombie, or that pid now has another start time). Never a
 * process whose RELHOST_HOST is this relhost or another live one, never one without the tag or
 * without a readable RELHOST_HOST; the rest of a process group is stopped only when its leader is
 * such a process (members naming a live relhost excepted). As proc_stop_orphan(): SIGTERM (and
 * SIGCONT) to each, 5 s of grace serving the loop, SIGKILL, and a wait, polling /proc, until
 * all are gone (zombies count as gone); pidfds keep the numbers from being reused meanwhile.
 * Logs one warning per process group stopped ("stopped pid N (comm), left running by relhost
 * pid M that died"). Returns the number of process groups stopped (0: none found, after a
 * single look), or RELHOST_EIO when some survived SIGKILL (explained; the groups that did stop
 * are logged), RELHOST_EINVAL without a running loop.
 */
int proc_stop_release_orphans(const char *tag);

/** Tree-kill every process still running (interrupt path). Waits at most the longest grace. */
void proc_kill_all(void);

/** SIGKILL the process group of every child still running, at once and without waiting:
 *  async-signal-safe, for a relhost that is dying (core/run/guard.c). */
void proc_kill_all_now(void);

/** Number of processes started by proc_spawn() (and not released) whose tree is still running
 *  (for tests and status). Scans /proc for those whose main child has exited. */
int proc_live_count(void);

/** Tests only: make children close their fds by listing /proc/self/fd, as on kernels without
 *  close_range(), so that the fallback is exercised too. */
void proc_test_force_fd_fallback(int on);

#endif
