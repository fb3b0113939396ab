/* SPDX-License-Identifier: MIT */
/* proc_spawn.c - starting a child: its environment (secrets sealed), fork, fds, exec. */
#include "run/proc_int.h"

#include "base/error.h"
#include "base/log.h"
#include "base/util.h"
#include "run/loop.h"
#include "base/secrets.h"

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

/* Where child setup failed, as reported through the exec-report pipe. */
enum { STAGE_EXEC = 1, STAGE_CHDIR, STAGE_FDS };

static int force_fd_fallback;

void proc_test_force_fd_fallback(int on) { force_fd_fallback = on; }

/* ---- starting a child ----------------------------------------------------------------------- */

static size_t name_len(const char *e)
{
    const char *eq = strchr(e, '=');
    return eq ? (size_t)(eq - e) : strlen(e);
}

int proc_same_name(const char *a, const char *b)
{
    size_t la = name_len(a);
    return la == name_len(b) && strncmp(a, b, la) == 0;
}

static int overridden(const char *e, const char *const *add, size_t from)
{
    for (size_t i = from; add && add[i]; i++)
        if (proc_same_name(e, add[i]))
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
        snprintf(id, sizeof id, "%ld.%llu", (long)self, proc_start_time(self));
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
void proc_build_env(const relhost_proc_spec *spec, const char *cookie, const char *job, int tagged,
                    strvec *out)
{
    const char *const *add = spec->env;
    for (char **e = environ; e && *e; e++) {
        if (spec->clear_env && !proc_same_name(*e, "PATH=") && !proc_same_name(*e, "HOME="))
            continue;
        if (is_sealed(*e))
            continue; /* a secret: only an explicit NAME=VALUE in spec->env hands it over */
        if (overridden(*e, add, 0) || proc_same_name(*e, "RELHOST_PROC=") ||
            (job && proc_same_name(*e, "RELHOST_JOB=")) ||
            (proc_rel_tag &&
             (proc_same_name(*e, "RELHOST_RELEASE=") || proc_same_name(*e, "RELHOST_HOST="))))
            continue;
        sv_push(out, *e);
    }
    for (size_t i = 0; add && add[i]; i++) {
        if (!strchr(add[i], '='))
            continue; /* "NAME" alone removes NAME from what the child inherits */
        if (overridden(add[i], add, i + 1) || proc_same_name(add[i], "RELHOST_PROC=") ||
            (job && proc_same_name(add[i], "RELHOST_JOB=")) ||
            proc_same_name(add[i], "RELHOST_RELEASE=") || proc_same_name(add[i], "RELHOST_HOST="))
            continue;
        sv_push(out, add[i]);
    }
    sv_push_take(out, xasprintf("RELHOST_PROC=%s", cookie));
    if (job)
        sv_push_take(out, xasprintf("RELHOST_JOB=%s", job));
    if (tagged && proc_rel_tag && !proc_tag_suspended) {
        sv_push_take(out, xasprintf("RELHOST_RELEASE=%s", proc_rel_tag));
        sv_push_take(out, xasprintf("RELHOST_HOST=%s", host_id()));
    }
}

int proc_spec_copy(const relhost_proc_spec *in, relhost_proc_spec *s, const char *what)
{
    if (!in)
        return error_set(RELHOST_EINVAL, "%s: no process spec", what);
    if (in->struct_size < offsetof(relhost_proc_spec, argv) + sizeof in->argv)
        return error_set(RELHOST_EINVAL,
                         "%s: spec.struct_size is %zu; set it to "
                         "sizeof(relhost_proc_spec)",
                         what, in->struct_size);
    memset(s, 0, sizeof *s);
    memcpy(s, in, in->struct_size < sizeof *s ? in->struct_size : sizeof *s);
    if (!s->argv || !s->argv[0])
        return error_set(RELHOST_EINVAL, "%s: empty argv", what);
    for (size_t i = 0; s->env && s->env[i]; i++) {
        /* "NAME=VALUE" sets, a bare "NAME" removes; an entry must at least have a name */
        const char *eq = strchr(s->env[i], '=');
        if (eq == s->env[i] || !s->env[i][0])
            return error_set(RELHOST_EINVAL,
                             "%s: environment entry \"%s\" of '%s' is neither "
                             "NAME=VALUE nor NAME",
                             what, s->env[i], s->argv[0]);
    }
    if (!loop_active())
        return error_set(RELHOST_EINVAL,
                         "%s: the event loop is not running (call loop_init() "
                         "and proc_init() first)",
                         what);
    return 0;
}

struct child_plan {
    char *const *argv;
    char **envp;
    const char *cwd;
    int fd[3];  /* become 0, 1, 2 */
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
int proc_start_child(struct relhost_proc *p, const relhost_proc_spec *spec, char **envp, int in,
                     int out, int err)
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
    proc_list_add(p);
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

void proc_fill_result(const struct relhost_proc *p, relhost_proc_result *res)
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
