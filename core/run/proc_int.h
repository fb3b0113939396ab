/* SPDX-License-Identifier: MIT */
/*
 * proc_int.h - internals shared by the core/run/proc*.c files; not for callers (they use proc.h).
 *
 * proc.c: the process table and the public API over it; proc_scan.c: reading /proc and pinning;
 * proc_kill.c: tree kill with grace; proc_spawn.c: environment, clone and exec; proc_run.c:
 * proc_run(); proc_orphan.c: proc_stop_orphan(); proc_release.c: release tags and their sweep.
 */
#ifndef RELHOST_PROC_INT_H
#define RELHOST_PROC_INT_H

#include "base/util.h"
#include "run/proc.h"

#include <stddef.h>
#include <sys/types.h>

#define DEFAULT_GRACE_S 5.0
#define DEFAULT_CAPTURE ((size_t)1 << 20)
/* After the main child exited, how long a grandchild may keep our pipes open before we stop
 * reading: the command is over, its output must not wait on a daemon it forgot to detach. */
#define DRAIN_S 0.25
/* After SIGKILL, how long a tree may take to vanish before we give up (a process stuck in D). */
#define KILL_WAIT_S 5.0
/* How often /proc is re-scanned while a tree is dying: escaped members send no SIGCHLD to us. */
#define TICK_S 0.05
/* /proc/<pid>/environ larger than this is not read further (ARG_MAX is far below). */
#define ENVIRON_MAX ((size_t)16 << 20)

enum kill_state { KS_NONE, KS_TERM, KS_KILL };

struct pin {
    pid_t pid;
    int fd;   /* pidfd, or -1 */
    int sent; /* an orphan's member: the last signal sent to it, 0 none */
};

struct relhost_proc {
    struct relhost_proc *next;
    pid_t pid;
    int spawned;
    int reaped;
    int status;
    double reaped_at;
    /* The group was seen empty: its number may be reused by now, so it is never signalled
     * again. The main pid is likewise never signalled once reaped. */
    int group_gone;
    int finished;       /* main child reaped and nothing of its tree left */
    double empty_since; /* when the tree was first seen empty, 0 while not */
    int scan_unsure;    /* the last scan met a descendant whose environ it could not read */
    enum kill_state ks;
    double kill_at;   /* KS_TERM: when SIGKILL is due */
    double kill_sent; /* KS_KILL: when SIGKILL went out */
    int timed_out;
    int exec_failed;
    int exec_code;
    char exec_msg[512];
    double started, deadline, timeout_s, grace_s;
    int log_fd; /* spawn: the log, kept for the lines relhost appends */
    char *log_path;
    char cookie[64];
    char *job;                    /* spawn: the RELHOST_JOB value it was given, or NULL */
    unsigned long long starttime; /* field 22 of /proc/<pid>/stat, 0 when unread */
    struct pin *pins;             /* cookie carriers seen so far */
    size_t npins, cap_pins;
    unsigned long timer; /* spawn: the loop timer of its deadline or grace (proc_arm), 0: none */
};

struct pstat {
    char state; /* Z: a zombie, which runs nothing and has no environ left to read */
    pid_t ppid, pgrp;
    unsigned long long starttime; /* field 22: clock ticks after boot */
};

/* proc_release.c: proc_set_release(): the absolute state folder of the run, or NULL */
extern char *proc_rel_tag;
extern int proc_tag_suspended; /* proc_tag_suspend(): children handed to a remote engine */

/* proc.c: the process table */
void proc_list_add(struct relhost_proc *p);
void proc_list_remove(struct relhost_proc *p);
void proc_reap_children(void);
void proc_setup(struct relhost_proc *p, const relhost_proc_spec *spec);

/* proc_scan.c: /proc */
ssize_t proc_read_environ(int procfd, const char *pid, char **buf, size_t *cap);
int proc_environ_has(const char *buf, size_t len, const char *want, size_t wlen);
pid_t proc_parse_pid(const char *s);
int proc_pinned(const struct relhost_proc *p, pid_t pid);
void proc_pin_carrier(struct relhost_proc *p, int procfd, const char *name, pid_t pid,
                      const char *want, size_t wlen, char **buf, size_t *cap);
void proc_pin_member(struct relhost_proc *o, int procfd, pid_t pid, pid_t pgrp);
/* procfd AT_FDCWD: reads /proc/<pid>/stat by its full path (one open instead of two). */
int proc_read_stat(int procfd, pid_t pid, struct pstat *ps);
void proc_scan_carriers(struct relhost_proc *p);
/** Tables of relhost's descendants built so far, and the /proc files opened for them (the tests
 *  hold a build to O(descendants): it never reads every process of the machine when the kernel
 *  lists children). */
void proc_scan_stats(unsigned long *builds, unsigned long *reads);
unsigned long long proc_start_time(pid_t pid);

/* proc_kill.c: signalling a tree */
int proc_pin_signal(const struct pin *pn, int sig);
void proc_pins_free(struct relhost_proc *p);
int proc_tree_alive(struct relhost_proc *p);
void proc_kill_start(struct relhost_proc *p, double now);
int proc_kill_advance(struct relhost_proc *p, double now);
int proc_settled(struct relhost_proc *p, int alive, double now);
int proc_kill_wait(struct relhost_proc **ps, size_t n);

/* proc_spawn.c: starting a child */
int proc_same_name(const char *a, const char *b);
void proc_build_env(const relhost_proc_spec *spec, const char *cookie, const char *job, int tagged,
                    strvec *out);
int proc_spec_copy(const relhost_proc_spec *in, relhost_proc_spec *s, const char *what);
int proc_start_child(struct relhost_proc *p, const relhost_proc_spec *spec, char **envp, int in,
                     int out, int err);
void proc_fill_result(const struct relhost_proc *p, relhost_proc_result *res);

/* proc_orphan.c */
size_t proc_orphan_signal(struct relhost_proc *o, int procfd, int sig);

#endif
