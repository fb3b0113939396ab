/* SPDX-License-Identifier: MIT */
#include "base/secrets.h"
#include "run/proc.h"

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

extern char **environ;

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

/* Where child setup failed, as reported through the exec-report pipe. */
enum { STAGE_EXEC = 1, STAGE_CHDIR, STAGE_FDS };

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
    int finished; /* main child reaped and nothing of its tree left */
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
    struct pin *pins; /* cookie carriers seen so far */
    size_t npins, cap_pins;
    unsigned long timer; /* spawn: the loop timer of its deadline or grace (proc_arm), 0: none */
};

static struct relhost_proc *procs;
static unsigned long cookie_seq;
static int force_fd_fallback;
/* proc_set_release(): the absolute state folder of the run, or NULL */
static char *release_tag;
static int tag_suspended; /* proc_tag_suspend(): children handed to a remote engine */

/* ---- bookkeeping ---------------------------------------------------------------------------- */

static void list_add(struct relhost_proc *p)
{
    p->next = procs;
    procs = p;
}

static void list_remove(struct relhost_proc *p)
{
    for (struct relhost_proc **pp = &procs; *pp; pp = &(*pp)->next) {
        if (*pp == p) {
            *pp = p->next;
            return;
        }
    }
}

/* Reaps every ended child, ours or an orphan reparented to us (we are a subreaper): a zombie
 * would keep its process group alive and make a dead tree look alive. */
static void reap_children(void)
{
    for (;;) {
        int st;
        pid_t pid = waitpid(-1, &st, WNOHANG);
        if (pid < 0 && errno == EINTR)
            continue;
        if (pid <= 0)
            return;
        for (struct relhost_proc *p = procs; p; p = p->next) {
            if (p->pid == pid && !p->reaped) {
                p->reaped = 1;
                p->status = st;
                p->reaped_at = loop_now();
                break;
            }
        }
    }
}

static void on_child(void *arg)
{
    (void)arg;
    reap_children();
}

void proc_init(void) { loop_on_child(on_child, NULL); }

void proc_test_force_fd_fallback(int on) { force_fd_fallback = on; }

static void proc_setup(struct relhost_proc *p, const relhost_proc_spec *spec)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    /* Unique among live processes of this host and, with pid and time, across hosts' runs. */
    snprintf(p->cookie, sizeof p->cookie, "%ld-%lu-%lx", (long)getpid(), ++cookie_seq,
             (unsigned long)ts.tv_sec * 1000000000UL + (unsigned long)ts.tv_nsec);
    p->grace_s = spec->grace_s > 0 ? spec->grace_s : DEFAULT_GRACE_S;
    p->timeout_s = spec->timeout_s > 0 ? spec->timeout_s : 0;
    p->log_fd = -1;
}

/* ---- finding and signalling a tree ---------------------------------------------------------- */

static ssize_t read_environ(int procfd, const char *pid, char **buf, size_t *cap)
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
static int environ_has(const char *buf, size_t len, const char *want, size_t wlen)
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

static pid_t parse_pid(const char *s)
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

static int pinned(const struct relhost_proc *p, pid_t pid)
{
    for (size_t i = 0; i < p->npins; i++)
        if (p->pins[i].pid == pid)
            return 1;
    return 0;
}

/* Pins a cookie carrier found in /proc. The pidfd keeps the pid from being reused behind our
 * back, and keeps the process visible while it dies: its environ reads empty from the moment
 * it releases its memory, before it becomes a zombie we could reap. */
static void pin_carrier(struct relhost_proc *p, int procfd, const char *name, pid_t pid,
                        const char *want, size_t wlen, char **buf, size_t *cap)
{
    ssize_t n;
    int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (pfd < 0 && errno == ESRCH)
        return; /* gone already */
    /* Read again through the pinned pid: the first read may have been of a previous owner. */
    n = read_environ(procfd, name, buf, cap);
    if (n <= 0 || !environ_has(*buf, (size_t)n, want, wlen)) {
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

struct pstat {
    char state; /* Z: a zombie, which runs nothing and has no environ left to read */
    pid_t ppid, pgrp;
    unsigned long long starttime; /* field 22: clock ticks after boot */
};

/* Fields of /proc/<pid>/stat ("pid (comm) state ppid pgrp ..."; comm may hold spaces and
 * parentheses, so the fields are counted from the last ')'). -1 when unreadable. */
static int read_stat(int procfd, pid_t pid, struct pstat *ps)
{
    char path[64], buf[1024];
    const char *rp;
    ssize_t n;
    int fd;
    snprintf(path, sizeof path, "%d/stat", (int)pid);
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
    if (sscanf(rp + 4, "%d %d %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s "
               "%llu", &ps->ppid, &ps->pgrp, &ps->starttime) < 2)
        return -1; /* fields 6 to 21 are skipped as words */
    return 0;
}

/* The parent pid from /proc/<pid>/stat, 0 when unreadable; *state gets the state letter. */
static pid_t read_ppid(int procfd, pid_t pid, char *state)
{
    struct pstat ps;
    if (read_stat(procfd, pid, &ps) != 0)
        return 0;
    *state = ps.state;
    return ps.ppid;
}

/* relhost's descendants, from /proc/<pid>/stat of every process. Building it is the costly
 * part of a scan, so one table serves every scan within TABLE_TTL_S: a process forked since is
 * the child of a descendant in the table, whose environ is read live below; if that parent has
 * exited meanwhile its read fails, the scan is unsure, and the second look (TICK_S later, past
 * the TTL) builds a fresh table. */
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
    int valid;
} table;

static void table_build(int procfd, DIR *d)
{
    struct dirent *de;
    pid_t self = getpid();
    int changed;
    table.n = 0;
    while ((de = readdir(d)) != NULL) {
        pid_t pid = parse_pid(de->d_name);
        struct ent *x;
        if (pid <= 0 || pid == self)
            continue;
        if (table.n == table.cap) {
            table.cap = table.cap ? table.cap * 2 : 256;
            table.e = xrealloc(table.e, table.cap * sizeof *table.e);
        }
        x = &table.e[table.n++];
        x->pid = pid;
        x->state = '?';
        x->ppid = read_ppid(procfd, pid, &x->state);
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
    table.at = loop_now();
    table.valid = 1;
}

/* Finds the processes carrying p's cookie: those that left the group with setsid() or setpgid()
 * are found here, as Jenkins' ProcessTreeKiller finds them. Only relhost's descendants are read:
 * relhost is a subreaper, so whatever a job started and left behind is reparented to relhost,
 * never to init, and stays below it; reading /proc/<pid>/stat of every process to find them is
 * far cheaper than reading every process's environ (that maps the other process's memory). */
static void scan_carriers(struct relhost_proc *p)
{
    char want[96], name[24];
    size_t wlen;
    char *buf = NULL;
    size_t cap = 0;
    int procfd;
    DIR *d = NULL;

    wlen = (size_t)snprintf(want, sizeof want, "RELHOST_PROC=%s", p->cookie);
    procfd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (procfd < 0)
        return;
    for (int pass = 0; pass < 2; pass++) {
        int fresh = 0, vanished = 0;
        if (pass > 0 || !table.valid || loop_now() - table.at > TABLE_TTL_S) {
            int dfd = fcntl(procfd, F_DUPFD_CLOEXEC, 0);
            d = dfd >= 0 ? fdopendir(dfd) : NULL;
            if (!d) {
                if (dfd >= 0)
                    close(dfd);
                p->scan_unsure = 1;
                break;
            }
            table_build(procfd, d);
            closedir(d);
            fresh = 1;
        }
        p->scan_unsure = 0;
        for (size_t i = 0; i < table.n; i++) {
            const struct ent *x = &table.e[i];
            ssize_t len;
            if (!x->below || pinned(p, x->pid) || x->state == 'Z' || x->state == 'X')
                continue;
            snprintf(name, sizeof name, "%d", (int)x->pid);
            len = read_environ(procfd, name, &buf, &cap);
            if (len > 0) {
                if (environ_has(buf, (size_t)len, want, wlen))
                    pin_carrier(p, procfd, name, x->pid, want, wlen, &buf, &cap);
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

static int pin_signal(const struct pin *pn, int sig)
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
        if (pin_signal(&pn, sig) != 0 && errno == ESRCH) {
            if (pn.fd >= 0)
                close(pn.fd);
            continue;
        }
        if (cont)
            pin_signal(&pn, SIGCONT);
        p->pins[j++] = pn;
    }
    p->npins = j;
    return j;
}

static void pins_free(struct relhost_proc *p)
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
    scan_carriers(p);
    return pins_signal(p, sig, cont) > 0 || alive;
}

static int tree_alive(struct relhost_proc *p)
{
    if (!p->reaped)
        return 1;
    return signal_tree(p, 0, 0);
}

static void kill_start(struct relhost_proc *p, double now)
{
    if (p->ks != KS_NONE)
        return;
    signal_tree(p, SIGTERM, 1);
    p->ks = KS_TERM;
    p->kill_at = now + p->grace_s;
}

/* Moves a started kill along (SIGKILL once the grace is over, again for anything forked
 * since) and says whether anything of the tree is left. Call reap_children() first. */
static int kill_advance(struct relhost_proc *p, double now)
{
    if (p->ks == KS_TERM && now >= p->kill_at) {
        p->ks = KS_KILL;
        p->kill_sent = now;
    }
    if (p->ks == KS_KILL)
        return signal_tree(p, SIGKILL, 0);
    return tree_alive(p);
}

/* Records one look at the tree and says whether it is gone for good. One empty look is enough
 * when every descendant's environ could be read; a member caught inside execve() has no environ
 * to read for a moment, so then the verdict waits for a second empty look TICK_S later. */
static int settled(struct relhost_proc *p, int alive, double now)
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
static int kill_wait(struct relhost_proc **ps, size_t n)
{
    int intr0 = loop_interrupted();
    double now = loop_now();

    for (size_t i = 0; i < n; i++)
        if (!ps[i]->finished)
            kill_start(ps[i], now);
    for (;;) {
        double wait = TICK_S;
        size_t alive = 0;
        int hurry, left;

        reap_children();
        now = loop_now();
        hurry = loop_interrupted() > intr0;
        for (size_t i = 0; i < n; i++) {
            struct relhost_proc *p = ps[i];
            if (p->finished)
                continue;
            if (hurry && p->ks == KS_TERM)
                p->kill_at = now;
            left = kill_advance(p, now);
            if (settled(p, left, now))
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

/* ---- starting a child ----------------------------------------------------------------------- */

static unsigned long long start_time_of(pid_t pid);

static size_t name_len(const char *e)
{
    const char *eq = strchr(e, '=');
    return eq ? (size_t)(eq - e) : strlen(e);
}

static int same_name(const char *a, const char *b)
{
    size_t la = name_len(a);
    return la == name_len(b) && strncmp(a, b, la) == 0;
}

static int overridden(const char *e, const char *const *add, size_t from)
{
    for (size_t i = from; add && add[i]; i++)
        if (same_name(e, add[i]))
            return 1;
    return 0;
}

/* "<pid>.<start time>" of this relhost (field 22 of /proc/self/stat: a pid reused by another
 * process has another start time), for RELHOST_HOST. */
static const char *host_id(void)
{
    static char id[48];
    static pid_t of;
    pid_t self = getpid();
    if (of != self) {
        snprintf(id, sizeof id, "%ld.%llu", (long)self, start_time_of(self));
        of = self;
    }
    return id;
}

/* Whether the environment entry "NAME=VALUE" names a sealed variable (core/base/secrets.h). */
static int is_sealed(const char *entry) { return secrets_sealed_n(entry, strcspn(entry, "=")); }

/* relhost's environment minus every sealed variable (only PATH and HOME with clear_env), then
 * spec->env replacing entries
 * of the same name, then the cookies, which nothing may override. With `tagged` and a release
 * tag set, the child is marked as a process of this relhost's release (RELHOST_RELEASE and
 * RELHOST_HOST, replacing what relhost inherited); otherwise those two are passed on only as
 * relhost inherited them, and only when no release tag is set. */
static void build_env(const relhost_proc_spec *spec, const char *cookie, const char *job,
                      int tagged, strvec *out)
{
    const char *const *add = spec->env;
    for (char **e = environ; e && *e; e++) {
        if (spec->clear_env && !same_name(*e, "PATH=") && !same_name(*e, "HOME="))
            continue;
        if (is_sealed(*e))
            continue; /* a secret: only an explicit NAME=VALUE in spec->env hands it over */
        if (overridden(*e, add, 0) || same_name(*e, "RELHOST_PROC=") ||
            (job && same_name(*e, "RELHOST_JOB=")) ||
            (release_tag && (same_name(*e, "RELHOST_RELEASE=") || same_name(*e, "RELHOST_HOST="))))
            continue;
        sv_push(out, *e);
    }
    for (size_t i = 0; add && add[i]; i++) {
        if (!strchr(add[i], '='))
            continue; /* "NAME" alone removes NAME from what the child inherits */
        if (overridden(add[i], add, i + 1) || same_name(add[i], "RELHOST_PROC=") ||
            (job && same_name(add[i], "RELHOST_JOB=")) || same_name(add[i], "RELHOST_RELEASE=") ||
            same_name(add[i], "RELHOST_HOST="))
            continue;
        sv_push(out, add[i]);
    }
    sv_push_take(out, xasprintf("RELHOST_PROC=%s", cookie));
    if (job)
        sv_push_take(out, xasprintf("RELHOST_JOB=%s", job));
    if (tagged && release_tag && !tag_suspended) {
        sv_push_take(out, xasprintf("RELHOST_RELEASE=%s", release_tag));
        sv_push_take(out, xasprintf("RELHOST_HOST=%s", host_id()));
    }
}

static int spec_copy(const relhost_proc_spec *in, relhost_proc_spec *s, const char *what)
{
    if (!in)
        return error_set(RELHOST_EINVAL, "%s: no process spec", what);
    if (in->struct_size < offsetof(relhost_proc_spec, argv) + sizeof in->argv)
        return error_set(RELHOST_EINVAL, "%s: spec.struct_size is %zu; set it to "
                         "sizeof(relhost_proc_spec)", what, in->struct_size);
    memset(s, 0, sizeof *s);
    memcpy(s, in, in->struct_size < sizeof *s ? in->struct_size : sizeof *s);
    if (!s->argv || !s->argv[0])
        return error_set(RELHOST_EINVAL, "%s: empty argv", what);
    for (size_t i = 0; s->env && s->env[i]; i++) {
        /* "NAME=VALUE" sets, a bare "NAME" removes; an entry must at least have a name */
        const char *eq = strchr(s->env[i], '=');
        if (eq == s->env[i] || !s->env[i][0])
            return error_set(RELHOST_EINVAL, "%s: environment entry \"%s\" of '%s' is neither "
                             "NAME=VALUE nor NAME", what, s->env[i], s->argv[0]);
    }
    if (!loop_active())
        return error_set(RELHOST_EINVAL, "%s: the event loop is not running (call loop_init() "
                         "and proc_init() first)", what);
    return 0;
}

struct child_plan {
    char *const *argv;
    char **envp;
    const char *cwd;
    int fd[3]; /* become 0, 1, 2 */
    int report; /* write end of the exec-report pipe, CLOEXEC */
};

static void child_fail(int report, int stage, int err)
{
    int msg[2] = {stage, err};
    ssize_t r = write(report, msg, sizeof msg);
    (void)r;
    _exit(stage == STAGE_EXEC && err == ENOENT ? 127 : 126);
}

struct raw_dirent64 {
    uint64_t d_ino;
    int64_t d_off;
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[];
};

/* Closes every fd >= 3 except keep. Runs between fork and exec: system calls only, no malloc. */
static void close_fds(int keep)
{
    union {
        char b[4096];
        struct raw_dirent64 align;
    } buf;
    struct rlimit rl;
    int dfd;

    if (!force_fd_fallback) {
        int ok = keep > 3 ? close_range(3, (unsigned)keep - 1, 0) == 0 : 1;
        if (ok && close_range((unsigned)keep + 1, ~0U, 0) == 0)
            return;
    }
    /* Older kernels (< 5.9) or seccomp filters refuse close_range(): list /proc/self/fd. */
    dfd = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        long n;
        while ((n = syscall(SYS_getdents64, dfd, buf.b, sizeof buf.b)) > 0) {
            for (long off = 0; off < n;) {
                struct raw_dirent64 *d = (struct raw_dirent64 *)(buf.b + off);
                int fd = 0, num = d->d_name[0] != '\0';
                for (const char *c = d->d_name; *c; c++) {
                    if (*c < '0' || *c > '9')
                        num = 0;
                    else
                        fd = fd * 10 + (*c - '0');
                }
                if (num && fd >= 3 && fd != keep && fd != dfd)
                    close(fd);
                off += d->d_reclen;
            }
        }
        close(dfd);
        return;
    }
    /* No /proc either: every possible number. */
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > 1 << 20)
        rl.rlim_cur = 1 << 20;
    for (int fd = 3; fd < (int)rl.rlim_cur; fd++)
        if (fd != keep)
            close(fd);
}

/* The child between fork and exec: async-signal-safe calls only. Never returns. */
static void child_main(const struct child_plan *c)
{
    struct sigaction dfl;
    sigset_t none;
    int fd[3], report = c->report;

    setpgid(0, 0);
    /* Ignored signals survive exec (SIGPIPE is ignored in relhost); handlers do not, but reset
     * them before unblocking anyway. */
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    for (int s = 1; s < NSIG; s++)
        if (s != SIGKILL && s != SIGSTOP)
            sigaction(s, &dfl, NULL);
    /* The loop's blocked set survives exec: SIGTERM would be a no-op for the whole tree. */
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);

    /* Lift every fd still needed above 2 first, so a dup2() onto 0-2 cannot clobber one (relhost
     * may have been started with a standard fd closed). */
    if (report < 3) {
        report = fcntl(report, F_DUPFD_CLOEXEC, 3);
        if (report < 0)
            _exit(126);
    }
    for (int i = 0; i < 3; i++) {
        int same = -1;
        for (int j = 0; j < i; j++)
            if (c->fd[j] == c->fd[i])
                same = j;
        if (same >= 0) {
            fd[i] = fd[same];
        } else if (c->fd[i] < 3) {
            fd[i] = fcntl(c->fd[i], F_DUPFD_CLOEXEC, 3);
            if (fd[i] < 0)
                child_fail(report, STAGE_FDS, errno);
        } else {
            fd[i] = c->fd[i];
        }
    }
    for (int i = 0; i < 3; i++)
        if (dup2(fd[i], i) < 0)
            child_fail(report, STAGE_FDS, errno);
    close_fds(report);
    if (c->cwd && chdir(c->cwd) != 0)
        child_fail(report, STAGE_CHDIR, errno);
    /* execvp() searches the PATH of the child's environment, not relhost's. */
    environ = c->envp;
    execvp(c->argv[0], c->argv);
    child_fail(report, STAGE_EXEC, errno);
}

/* Forks and execs. On return p is listed (so the SIGCHLD hook knows it) and either exec'd or
 * marked exec_failed with a message: the blocking read of the report pipe ends at exec. */
static int start_child(struct relhost_proc *p, const relhost_proc_spec *spec, char **envp,
                       int in, int out, int err)
{
    struct child_plan c;
    int rp[2], msg[2];
    ssize_t n;
    pid_t pid;

    if (pipe2(rp, O_CLOEXEC) != 0)
        return error_set(RELHOST_EIO, "cannot create a pipe for '%s': %s", spec->argv[0],
                         strerror(errno));
    c.argv = (char *const *)spec->argv;
    c.envp = envp;
    c.cwd = spec->cwd;
    c.fd[0] = in;
    c.fd[1] = out;
    c.fd[2] = err;
    c.report = rp[1];
    p->started = loop_now();
    pid = fork();
    if (pid < 0) {
        int e = errno;
        close(rp[0]);
        close(rp[1]);
        return error_set(RELHOST_EIO, "cannot fork to run '%s': %s", spec->argv[0], strerror(e));
    }
    if (pid == 0)
        child_main(&c);
    close(rp[1]);
    p->pid = pid;
    p->deadline = p->timeout_s > 0 ? p->started + p->timeout_s : 0;
    list_add(p);
    do
        n = read(rp[0], msg, sizeof msg);
    while (n < 0 && errno == EINTR);
    close(rp[0]);
    if (n == (ssize_t)sizeof msg) {
        p->exec_failed = 1;
        p->exec_code = msg[0] == STAGE_EXEC && msg[1] == ENOENT ? 127 : 126;
        if (msg[0] == STAGE_CHDIR)
            snprintf(p->exec_msg, sizeof p->exec_msg, "cannot run '%s' in folder '%s': %s",
                     spec->argv[0], spec->cwd, strerror(msg[1]));
        else if (msg[0] == STAGE_FDS)
            snprintf(p->exec_msg, sizeof p->exec_msg, "cannot set up the standard fds of '%s': %s",
                     spec->argv[0], strerror(msg[1]));
        else
            snprintf(p->exec_msg, sizeof p->exec_msg, "cannot execute '%s': %s", spec->argv[0],
                     strerror(msg[1]));
    }
    return 0;
}

static void fill_result(const struct relhost_proc *p, relhost_proc_result *res)
{
    memset(res, 0, sizeof *res);
    res->struct_size = sizeof *res;
    if (p->reaped) {
        if (WIFEXITED(p->status)) {
            res->exited = 1;
            res->exit_code = WEXITSTATUS(p->status);
        } else if (WIFSIGNALED(p->status)) {
            res->signal = WTERMSIG(p->status);
            res->exit_code = 128 + res->signal;
        }
    }
    if (p->exec_failed) {
        res->exec_failed = 1;
        res->exited = 1;
        res->exit_code = p->exec_code;
    }
    /* As timeout(1) reports it: whatever signal ended the tree, the cause was the deadline. */
    if (p->timed_out) {
        res->timed_out = 1;
        res->exited = 1;
        res->exit_code = 124;
        res->signal = 0;
    }
    res->duration_s = (p->reaped ? p->reaped_at : loop_now()) - p->started;
}

/* ---- proc_run ------------------------------------------------------------------------------- */

struct capture {
    int fd;
    char *buf;
    size_t len, cap, max;
    int truncated;
};

struct feeder {
    int fd;
    const char *data;
    size_t len, off;
};

static void capture_close(struct capture *c)
{
    if (c->fd < 0)
        return;
    loop_unwatch_fd(c->fd);
    close(c->fd);
    c->fd = -1;
}

static void capture_cb(int fd, short revents, void *arg)
{
    struct capture *c = arg;
    char tmp[65536];
    (void)revents;
    /* Bounded per round so that one chatty pipe cannot starve the rest of the loop. */
    for (int round = 0; round < 16; round++) {
        ssize_t n = read(fd, tmp, sizeof tmp);
        if (n > 0) {
            size_t keep = c->max - c->len < (size_t)n ? c->max - c->len : (size_t)n;
            if (keep < (size_t)n)
                c->truncated = 1;
            if (keep) {
                if (c->len + keep + 1 > c->cap) {
                    size_t cap = c->cap ? c->cap : 4096;
                    while (cap < c->len + keep + 1)
                        cap *= 2;
                    if (cap > c->max + 1)
                        cap = c->max + 1;
                    c->buf = xrealloc(c->buf, cap);
                    c->cap = cap;
                }
                memcpy(c->buf + c->len, tmp, keep);
                c->len += keep;
            }
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        capture_close(c); /* end of file, or the pipe broke */
        return;
    }
}

static void feeder_close(struct feeder *f)
{
    if (f->fd < 0)
        return;
    loop_unwatch_fd(f->fd);
    close(f->fd);
    f->fd = -1;
}

static void feeder_cb(int fd, short revents, void *arg)
{
    struct feeder *f = arg;
    (void)revents;
    while (f->off < f->len) {
        ssize_t n = write(fd, f->data + f->off, f->len - f->off);
        if (n > 0) {
            f->off += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        break; /* EPIPE: the child does not read its stdin */
    }
    feeder_close(f);
}

static char *capture_take(struct capture *c, size_t *len)
{
    char *s = c->buf ? c->buf : xmalloc(1);
    s[c->len] = '\0';
    *len = c->len;
    c->buf = NULL;
    return s;
}

/* Pipe whose parent end (index `parent`) is non-blocking; both ends CLOEXEC. */
static int make_pipe(int fds[2], int parent, const char *what)
{
    if (pipe2(fds, O_CLOEXEC) != 0)
        return error_set(RELHOST_EIO, "cannot create a pipe for '%s': %s", what, strerror(errno));
    fcntl(fds[parent], F_SETFL, fcntl(fds[parent], F_GETFL) | O_NONBLOCK);
    return 0;
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

int proc_run(const relhost_proc_spec *spec_in, relhost_proc_result *res)
{
    relhost_proc_spec spec;
    struct relhost_proc p, *pp = &p;
    struct capture out = {.fd = -1}, err = {.fd = -1};
    struct feeder in = {.fd = -1};
    int opipe[2] = {-1, -1}, epipe[2] = {-1, -1}, ipipe[2] = {-1, -1}, devnull = -1;
    int rc, intr0, interrupted = 0, leftovers = 0;
    double drain_until = 0;
    strvec env = {0};

    if (!res)
        return error_set(RELHOST_EINVAL, "proc_run: no result");
    memset(res, 0, sizeof *res);
    res->struct_size = sizeof *res;
    rc = spec_copy(spec_in, &spec, "proc_run");
    if (rc)
        return rc;

    memset(&p, 0, sizeof p);
    proc_setup(&p, &spec);
    out.max = err.max = spec.capture_max ? spec.capture_max : DEFAULT_CAPTURE;
    if (out.max > SIZE_MAX / 4)
        out.max = err.max = SIZE_MAX / 4;
    if ((rc = make_pipe(opipe, 0, spec.argv[0])) || (rc = make_pipe(epipe, 0, spec.argv[0])))
        goto fail;
    if (spec.stdin_data) {
        if ((rc = make_pipe(ipipe, 1, spec.argv[0])))
            goto fail;
    } else if ((devnull = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0) {
        rc = error_set(RELHOST_EIO, "cannot open /dev/null: %s", strerror(errno));
        goto fail;
    }
    build_env(&spec, p.cookie, NULL, 1, &env);
    rc = start_child(&p, &spec, env.v, spec.stdin_data ? ipipe[0] : devnull, opipe[1], epipe[1]);
    sv_free(&env);
    close_fd(&devnull);
    close_fd(&ipipe[0]);
    close_fd(&opipe[1]);
    close_fd(&epipe[1]);
    if (rc)
        goto fail;

    out.fd = opipe[0];
    err.fd = epipe[0];
    loop_watch_fd(out.fd, POLLIN, capture_cb, &out);
    loop_watch_fd(err.fd, POLLIN, capture_cb, &err);
    if (ipipe[1] >= 0) {
        in.fd = ipipe[1];
        in.data = spec.stdin_data;
        in.len = strlen(spec.stdin_data);
        loop_watch_fd(in.fd, POLLOUT, feeder_cb, &in);
    }
    /* Only a NEW interrupt stops the wait: the interrupt path itself runs commands (scancel). */
    intr0 = loop_interrupted();
    for (;;) {
        double now, wait = -1;
        reap_children();
        now = loop_now();
        if (p.reaped) {
            feeder_close(&in);
            if (out.fd < 0 && err.fd < 0)
                break;
            if (!drain_until)
                drain_until = now + DRAIN_S;
            if (now >= drain_until) {
                leftovers = 1;
                break;
            }
            wait = drain_until - now;
        }
        if (loop_interrupted() != intr0) {
            interrupted = 1;
            break;
        }
        if (p.deadline && !p.reaped) {
            if (now >= p.deadline) {
                p.timed_out = 1;
                break;
            }
            wait = p.deadline - now;
        }
        loop_once(wait);
    }

    if (leftovers) {
        /* A grandchild holds the pipes past the command's end: stop reading, stop the rest. */
        capture_close(&out);
        capture_close(&err);
        rc = kill_wait(&pp, 1);
    } else if (interrupted || p.timed_out) {
        double until;
        rc = kill_wait(&pp, 1);
        /* What the dying tree wrote is still in the pipes. */
        until = loop_now() + DRAIN_S;
        while ((out.fd >= 0 || err.fd >= 0) && loop_now() < until)
            loop_once(until - loop_now());
    }
    capture_close(&out);
    capture_close(&err);
    feeder_close(&in);
    list_remove(&p);
    pins_free(&p);

    fill_result(&p, res);
    res->out = capture_take(&out, &res->out_len);
    if (p.exec_failed) {
        free(err.buf);
        err.buf = NULL;
        res->err = xasprintf("relhost: %s\n", p.exec_msg);
        res->err_len = strlen(res->err);
    } else {
        res->err = capture_take(&err, &res->err_len);
    }
    res->truncated = out.truncated || err.truncated;
    if (interrupted)
        return error_set(RELHOST_EINTR, "interrupted while running '%s'; its process tree was "
                         "stopped", spec.argv[0]);
    return rc;

fail:
    close_fd(&devnull);
    close_fd(&opipe[0]);
    close_fd(&opipe[1]);
    close_fd(&epipe[0]);
    close_fd(&epipe[1]);
    close_fd(&ipipe[0]);
    close_fd(&ipipe[1]);
    return rc;
}

void proc_result_free(relhost_proc_result *res)
{
    if (!res)
        return;
    free(res->out);
    free(res->err);
    res->out = res->err = NULL;
    res->out_len = res->err_len = 0;
}

/* ---- proc_spawn and friends ----------------------------------------------------------------- */

/* Appends one line of relhost's own to the log, on a line of its own. */
static void log_note(struct relhost_proc *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void log_note(struct relhost_proc *p, const char *fmt, ...)
{
    char line[512];
    char last = '\n';
    struct stat st;
    size_t off = 0;
    int n, rfd;
    va_list ap;

    if (p->log_fd < 0)
        return;
    if (fstat(p->log_fd, &st) == 0 && st.st_size > 0 &&
        (rfd = open(p->log_path, O_RDONLY | O_CLOEXEC)) >= 0) {
        if (pread(rfd, &last, 1, st.st_size - 1) != 1)
            last = '\n';
        close(rfd);
    }
    if (last != '\n')
        line[off++] = '\n';
    va_start(ap, fmt);
    n = vsnprintf(line + off, sizeof line - off, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    off += (size_t)n < sizeof line - off ? (size_t)n : sizeof line - off - 1;
    if (write(p->log_fd, line, off) < 0)
        return; /* a full disk must not stop the kill */
}

/* The RELHOST_JOB value a child gets from env (the last entry of that name wins, as in
 * build_env(); a bare "RELHOST_JOB" removes it), or NULL. */
static const char *job_of_env(const char *const *env)
{
    const char *job = NULL;
    for (size_t i = 0; env && env[i]; i++)
        if (same_name(env[i], "RELHOST_JOB="))
            job = strchr(env[i], '=') ? strchr(env[i], '=') + 1 : NULL;
    return job;
}

/* The start time of pid (field 22 of /proc/<pid>/stat), 0 when unreadable. */
static unsigned long long start_time_of(pid_t pid)
{
    struct pstat ps;
    int procfd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = procfd >= 0 ? read_stat(procfd, pid, &ps) : -1;
    if (procfd >= 0)
        close(procfd);
    return rc == 0 ? ps.starttime : 0;
}

static void proc_arm(struct relhost_proc *p);

int proc_spawn(const relhost_proc_spec *spec_in, const char *cookie, struct relhost_proc **out)
{
    relhost_proc_spec spec;
    struct relhost_proc *p;
    strvec env = {0};
    const char *job;
    char *dir;
    int rc, log_fd, devnull;

    if (!out)
        return error_set(RELHOST_EINVAL, "proc_spawn: no output handle");
    *out = NULL;
    rc = spec_copy(spec_in, &spec, "proc_spawn");
    if (rc)
        return rc;
    if (!spec.log_path || !*spec.log_path)
        return error_set(RELHOST_EINVAL, "proc_spawn: no log_path for '%s'", spec.argv[0]);
    dir = path_dirname(spec.log_path);
    rc = path_mkdirs(dir);
    free(dir);
    if (rc)
        return error_wrap(rc, "log of '%s'", spec.argv[0]);
    log_fd = open(spec.log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log_fd < 0)
        return error_set(RELHOST_EIO, "cannot open log %s for '%s': %s", spec.log_path,
                         spec.argv[0], strerror(errno));
    devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (devnull < 0) {
        rc = error_set(RELHOST_EIO, "cannot open /dev/null: %s", strerror(errno));
        close(log_fd);
        return rc;
    }
    p = xcalloc(1, sizeof *p);
    proc_setup(p, &spec);
    p->spawned = 1;
    p->log_fd = log_fd;
    p->log_path = xstrdup(spec.log_path);
    job = cookie ? cookie : job_of_env(spec.env);
    /* A long process without a job is a runner's own (a launch command handing the job to a
     * remote engine), which the runner's find() waits for after a crash: it is not marked for
     * the release's sweep. */
    build_env(&spec, p->cookie, cookie, job != NULL, &env);
    rc = start_child(p, &spec, env.v, devnull, log_fd, log_fd);
    sv_free(&env);
    close(devnull);
    if (rc) {
        close(log_fd);
        free(p->log_path);
        free(p);
        return rc;
    }
    p->job = job ? xstrdup(job) : NULL;
    p->starttime = start_time_of(p->pid);
    if (p->exec_failed)
        log_note(p, "relhost: %s\n", p->exec_msg);
    proc_arm(p);
    *out = p;
    return 0;
}

static void proc_timer_cb(void *arg);

/*
 * The timeout path of a spawned process (runner_local's jobs), on loop timers so that it runs
 * on time whichever code serves the loop (jobs_wait, another job's HTTP metrics call, a gate's
 * command): deadline timer -> proc_poll(): SIGTERM to the tree and the "[TIMEOUT]" log line ->
 * grace timer -> proc_poll(): SIGKILL -> the runner's next poll reports the end. proc_poll() is
 * the one state machine; the timers only make it move at the right moment. A cleanup kill (the
 * main process exited, leaving others) gets its grace timer the same way.
 */
static void proc_arm(struct relhost_proc *p)
{
    double when = 0;
    loop_timer_cancel(p->timer);
    p->timer = 0;
    if (!p->spawned || p->finished)
        return;
    if (p->ks == KS_NONE && !p->reaped && p->deadline > 0)
        when = p->deadline;
    else if (p->ks == KS_TERM)
        when = p->kill_at;
    if (when > 0)
        p->timer = loop_timer_add(when, proc_timer_cb, p);
}

static void proc_timer_cb(void *arg)
{
    struct relhost_proc *p = arg;
    int done = 0;
    p->timer = 0;
    proc_poll(p, &done, NULL); /* re-arms for the next step (proc_arm) */
}

static int proc_advance(struct relhost_proc *p, int *done, relhost_proc_result *res);

int proc_poll(struct relhost_proc *p, int *done, relhost_proc_result *res)
{
    int rc = proc_advance(p, done, res);
    if (p)
        proc_arm(p);
    return rc;
}

static int proc_advance(struct relhost_proc *p, int *done, relhost_proc_result *res)
{
    double now;
    if (!p || !done)
        return error_set(RELHOST_EINVAL, "proc_poll: no process or no done flag");
    *done = 0;
    if (!p->finished) {
        int alive;
        reap_children();
        now = loop_now();
        if (p->ks == KS_NONE && !p->reaped) {
            if (!p->deadline || now < p->deadline)
                return 0;
            p->timed_out = 1;
            kill_start(p, now);
            log_note(p, "[TIMEOUT] relhost: killed after %gs (SIGTERM, SIGKILL after %gs grace)\n",
                     p->timeout_s, p->grace_s);
        }
        if (p->ks == KS_NONE) {
            alive = tree_alive(p);
            if (alive) {
                /* The job is over when its main process is (as batch schedulers have it): what it left running
                 * is stopped, not waited for. */
                kill_start(p, now);
                log_note(p, "[CLEANUP] relhost: main process exited; stopping the processes it "
                         "left (SIGTERM, SIGKILL after %gs grace)\n", p->grace_s);
            }
        } else {
            alive = kill_advance(p, now);
        }
        if (!settled(p, alive, now))
            return 0;
    }
    *done = 1;
    if (res)
        fill_result(p, res);
    return 0;
}

int proc_kill(struct relhost_proc *p)
{
    if (!p)
        return error_set(RELHOST_EINVAL, "proc_kill: no process");
    if (p->finished)
        return 0;
    return kill_wait(&p, 1);
}

void proc_release(struct relhost_proc *p)
{
    if (!p)
        return;
    loop_timer_cancel(p->timer);
    p->timer = 0;
    if (!p->finished)
        kill_wait(&p, 1);
    list_remove(p);
    pins_free(p);
    if (p->log_fd >= 0)
        close(p->log_fd);
    free(p->log_path);
    free(p->job);
    free(p);
}

pid_t proc_pid(const struct relhost_proc *p) { return p ? p->pid : -1; }

/* ---- an attempt an earlier relhost left running ----------------------------------------------- */

int proc_job_ident(const char *job, proc_ident *out)
{
    if (!job || !out)
        return error_set(RELHOST_EINVAL, "proc_job_ident: no job or no output");
    for (struct relhost_proc *p = procs; p; p = p->next) { /* newest first */
        if (!p->spawned || !p->job || strcmp(p->job, job) != 0)
            continue;
        memset(out, 0, sizeof *out);
        out->pid = p->pid;
        out->starttime = p->starttime;
        out->grace_s = p->grace_s;
        snprintf(out->job, sizeof out->job, "%s", p->job);
        snprintf(out->cookie, sizeof out->cookie, "%s", p->cookie);
        return 0;
    }
    return RELHOST_ENOTFOUND;
}

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

    if (read_stat(procfd, pn->pid, &ps) != 0 || ps.state == 'Z' || ps.state == 'X' ||
        ps.starttime != id->starttime)
        return 0;
    snprintf(name, sizeof name, "%d", (int)pn->pid);
    n = read_environ(procfd, name, &buf, &cap);
    wlen = (size_t)snprintf(want, sizeof want, "RELHOST_JOB=%s", id->job);
    ok = n > 0 && environ_has(buf, (size_t)n, want, wlen);
    if (ok && id->cookie[0]) {
        wlen = (size_t)snprintf(want, sizeof want, "RELHOST_PROC=%s", id->cookie);
        ok = environ_has(buf, (size_t)n, want, wlen);
    }
    free(buf);
    return ok && pin_signal(pn, 0) == 0;
}

/* Pins pid as a member of process group pgrp, if it still is one once pinned. */
static void pin_member(struct relhost_proc *o, int procfd, pid_t pid, pid_t pgrp)
{
    struct pstat ps;
    int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (pfd < 0 && errno == ESRCH)
        return;
    if (read_stat(procfd, pid, &ps) != 0 || ps.pgrp != pgrp || ps.state == 'Z') {
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

/* Pins every live member of an orphan's tree not pinned yet: the processes of its group (only
 * while its leader lives: once it is gone, the group's number may be reused) and those
 * carrying its cookie wherever they went (setsid). Unlike scan_carriers() this reads every
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
        pid_t pid = parse_pid(de->d_name);
        struct pstat ps;
        ssize_t len;
        if (pid <= 0 || pid == self || pinned(o, pid) || read_stat(procfd, pid, &ps) != 0 ||
            ps.state == 'Z' || ps.state == 'X')
            continue;
        if (leader_alive && ps.pgrp == o->pid) {
            pin_member(o, procfd, pid, o->pid);
            continue;
        }
        len = read_environ(procfd, de->d_name, &buf, &cap);
        if (len > 0 && environ_has(buf, (size_t)len, want, wlen))
            pin_carrier(o, procfd, de->d_name, pid, want, wlen, &buf, &cap);
    }
    closedir(d);
    free(buf);
}

/* Sends sig to the pinned members of an orphan tree (SIGTERM once each, with SIGCONT so that a
 * stopped one acts on it; SIGKILL at every call), forgets those gone (reaped, or a zombie: its
 * parent is not relhost, and a zombie runs nothing) and returns how many are left. */
static size_t orphan_signal(struct relhost_proc *o, int procfd, int sig)
{
    size_t j = 0;
    for (size_t i = 0; i < o->npins; i++) {
        struct pin pn = o->pins[i];
        struct pstat ps;
        if ((pin_signal(&pn, 0) != 0 && errno == ESRCH) ||
            (read_stat(procfd, pn.pid, &ps) == 0 && (ps.state == 'Z' || ps.state == 'X'))) {
            if (pn.fd >= 0)
                close(pn.fd);
            continue;
        }
        if (sig == SIGKILL || !pn.sent) {
            pin_signal(&pn, sig);
            if (sig == SIGTERM)
                pin_signal(&pn, SIGCONT);
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
    size_t wlen = id->cookie[0]
                      ? (size_t)snprintf(want, sizeof want, "RELHOST_PROC=%s", id->cookie)
                      : (size_t)snprintf(want, sizeof want, "RELHOST_JOB=%s", id->job);
    int intr0 = loop_interrupted(), empty = 0;

    o->ks = KS_TERM;
    o->kill_at = loop_now() + (id->grace_s > 0 ? id->grace_s : DEFAULT_GRACE_S);
    for (;;) {
        double now;
        orphan_scan(o, procfd, pinned(o, o->pid), want, wlen);
        now = loop_now();
        if (o->ks == KS_TERM && (now >= o->kill_at || loop_interrupted() > intr0)) {
            o->ks = KS_KILL;
            o->kill_sent = now;
        }
        if (orphan_signal(o, procfd, o->ks == KS_KILL ? SIGKILL : SIGTERM) > 0) {
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
        rc = procfd < 0 ? error_set(RELHOST_EIO, "cannot open /proc to look for process %d of "
                                    "job %s: %s", (int)id->pid, id->job, strerror(errno)) : 0;
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
    pins_free(&o);
    close(procfd);
    return rc ? rc : 1;
}

/* ---- processes of a release whose relhost died ----------------------------------------------- */

void proc_set_release(const char *state_dir, const char *record)
{
    char *dir;
    free(release_tag);
    release_tag = NULL;
    if (!state_dir || !*state_dir || !record || !*record)
        return;
    /* One spelling per folder, however the plan reached it (symlinks, relative paths). */
    dir = realpath(state_dir, NULL);
    if (!dir)
        dir = path_absolute(state_dir, NULL);
    /* The folder, not the record: a run stops what a dead relhost left of ANY release of the
     * folder (a kill during release A followed by `--new` must not leave A's jobs running). */
    release_tag = dir;
}

const char *proc_release_tag(void) { return release_tag; }

void proc_tag_suspend(int on) { tag_suspended += on ? 1 : -1; }

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
    if (read_stat(procfd, (pid_t)pid, &ps) != 0)
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
    n = read_environ(procfd, name, &sw->buf, &sw->cap);
    if (n <= 0 || !environ_has(sw->buf, (size_t)n, sw->want, sw->wlen) ||
        host_of(procfd, sw->buf, (size_t)n, &host) != HOST_DEAD || read_stat(procfd, pid, &ps) != 0 ||
        ps.state == 'Z' || ps.state == 'X') {
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
    return sweep_group(sw, pgrp) && pinned(&sw->o, pgrp);
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
            pid_t pid = parse_pid(de->d_name), host = 0;
            struct pstat ps;
            ssize_t len;
            if (pid <= 0 || pid == self || pinned(&sw->o, pid) ||
                read_stat(procfd, pid, &ps) != 0 || ps.state == 'Z' || ps.state == 'X')
                continue;
            if (pass == 0) {
                len = read_environ(procfd, de->d_name, &sw->buf, &sw->cap);
                if (len > 0 && environ_has(sw->buf, (size_t)len, sw->want, sw->wlen))
                    sweep_pin(sw, procfd, de->d_name, pid);
                continue;
            }
            if (!leader_pinned(sw, ps.pgrp))
                continue;
            /* a member that names a relhost still alive is that relhost's, whatever its group */
            len = read_environ(procfd, de->d_name, &sw->buf, &sw->cap);
            if (len > 0 && host_of(procfd, sw->buf, (size_t)len, &host) == HOST_ALIVE)
                continue;
            pin_member(&sw->o, procfd, pid, ps.pgrp);
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
            left |= read_stat(procfd, sw->o.pins[k].pid, &ps) == 0 && ps.pgrp == g->pgrp;
        }
        if (!left)
            log_msg(RELHOST_LOG_WARN, "release", "stopped pid %d (%s), left running by relhost "
                    "pid %d that died", (int)g->pid, g->comm, (int)g->host);
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
        return error_set(RELHOST_EIO, "cannot open /proc to look for processes of release %s "
                         "left running: %s", tag, strerror(errno));
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
        if (orphan_signal(&sw.o, procfd, sw.o.ks == KS_KILL ? SIGKILL : SIGTERM) > 0) {
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
    pins_free(&sw.o);
    free(sw.g);
    free(sw.buf);
    close(procfd);
    return rc;
}

void proc_kill_all(void)
{
    struct relhost_proc **ps;
    size_t n = 0, i = 0;
    for (struct relhost_proc *p = procs; p; p = p->next)
        n += !p->finished;
    if (!n)
        return;
    ps = xmalloc(n * sizeof *ps);
    for (struct relhost_proc *p = procs; p; p = p->next)
        if (!p->finished)
            ps[i++] = p;
    kill_wait(ps, n);
    free(ps);
}

int proc_live_count(void)
{
    int n = 0;
    reap_children();
    for (struct relhost_proc *p = procs; p; p = p->next)
        if (p->spawned && !p->finished && tree_alive(p))
            n++;
    return n;
}
