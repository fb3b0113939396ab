/* SPDX-License-Identifier: MIT */
/* proc_spawn.c - starting a child: its environment (secrets sealed), clone, fds, exec. */
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
#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* Where child setup failed, as the child reports it (struct child_plan). */
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

/* The child shares relhost's memory until exec (CLONE_VM): the parent fills this on its stack
 * and reads stage and err back once clone() returns, which is when the child has exec'd or
 * exited (CLONE_VFORK). Everything the child needs is prepared here, so that it allocates
 * nothing and takes no lock. */
struct child_plan {
    char *const *argv;
    char *const *envp;
    const char *cwd;
    const char *path;        /* the PATH of the child's environment, searched for argv[0] */
    const char *found;       /* argv[0] as the parent found it along path (NULL: search) */
    int fd[3];               /* become 0, 1, 2 */
    volatile int stage, err; /* set by the child when a step failed: STAGE_*, errno */
};

/* Functions that run in the child get no ASan instrumentation: the child runs on its own small
 * stack in relhost's memory, which the sanitizer's stack bookkeeping of the parent thread knows
 * nothing about, and a frame that never returns (exec) would leave poisoned redzones behind. */
#if defined(__SANITIZE_ADDRESS__)
#define CHILD_FN __attribute__((no_sanitize_address))
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CHILD_FN __attribute__((no_sanitize_address))
#endif
#endif
#ifndef CHILD_FN
#define CHILD_FN
#endif

/* The child's own stack: room for execvp()'s work, the fd listing and a script's argv. */
#define CHILD_STACK ((size_t)64 << 10)
/* execvp()'s search path when the environment has no PATH (glibc's confstr(_CS_PATH)). */
#define DEFAULT_PATH "/bin:/usr/bin"

CHILD_FN static void child_fail(struct child_plan *c, int stage, int err)
{
    c->err = err;
    c->stage = stage;
    _exit(stage == STAGE_EXEC && err == ENOENT ? 127 : 126);
}

struct raw_dirent64 {
    uint64_t d_ino;
    int64_t d_off;
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[];
};

/* Closes every fd >= 3. Runs between clone and exec: system calls only, no malloc. */
CHILD_FN static void close_fds(void)
{
    union {
        char b[4096];
        struct raw_dirent64 align;
    } buf;
    struct rlimit rl;
    int dfd;

    if (!force_fd_fallback && close_range(3, ~0U, 0) == 0)
        return;
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
                if (num && fd >= 3 && fd != dfd)
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
        close(fd);
}

/* execve(), and for a file the kernel cannot run (ENOEXEC: a script without "#!") the shell on
 * it, as execvp() does. */
CHILD_FN static void exec_file(const char *file, char *const *argv, char *const *envp)
{
    size_t argc = 0;

    execve(file, argv, envp);
    if (errno != ENOEXEC)
        return;
    while (argv[argc])
        argc++;
    {
        char *sh[argc > 1 ? argc + 2 : 3];
        sh[0] = (char *)"/bin/sh";
        sh[1] = (char *)file;
        for (size_t i = 1; i <= argc; i++)
            sh[i + 1] = argv[i];
        if (argc <= 1)
            sh[2] = NULL;
        execve(sh[0], sh, envp);
    }
}

/* execvp() with the PATH of the child's environment instead of relhost's, and without touching
 * environ, which the child shares with relhost. Returns only on failure, errno set. */
CHILD_FN static void child_execvp(const struct child_plan *c)
{
    const char *file = c->argv[0], *p = c->path;
    char buf[PATH_MAX + NAME_MAX + 2];
    size_t flen = 0;
    int eacces = 0;

    if (!file[0]) {
        errno = ENOENT;
        return;
    }
    for (const char *f = file; *f; f++)
        if (*f == '/') {
            exec_file(file, c->argv, c->envp);
            return;
        }
    while (file[flen])
        flen++;
    if (flen > NAME_MAX) {
        errno = ENAMETOOLONG;
        return;
    }
    for (;;) {
        const char *e = p;
        size_t n = 0;
        while (*e && *e != ':')
            e++;
        if ((size_t)(e - p) < PATH_MAX) {
            /* An empty entry is the current folder: the name alone. */
            for (const char *d = p; d < e; d++)
                buf[n++] = *d;
            if (n)
                buf[n++] = '/';
            for (size_t i = 0; i <= flen; i++)
                buf[n + i] = file[i];
            exec_file(buf, c->argv, c->envp);
            switch (errno) {
            case EACCES: eacces = 1; break;
            case ENOENT:
            case ESTALE:
            case ENOTDIR:
            case ENODEV:
            case ETIMEDOUT: break;
            default: return;
            }
        }
        if (!*e)
            break;
        p = e + 1;
    }
    if (eacces)
        errno = EACCES;
}

/* The child between clone and exec: it runs in relhost's memory with every signal blocked (the
 * parent blocked them around clone), so first every disposition goes back to the default, and
 * only then the mask is emptied: no handler of relhost's can ever run here. System calls only,
 * nothing that allocates or locks. Never returns. */
CHILD_FN static int child_main(void *arg)
{
    struct child_plan *c = arg;
    struct sigaction dfl;
    sigset_t none;
    int fd[3];

    setpgid(0, 0);
    /* Ignored signals survive exec (SIGPIPE is ignored in relhost); handlers do not, but they
     * must not run between clone and exec either. */
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
                child_fail(c, STAGE_FDS, errno);
        } else {
            fd[i] = c->fd[i];
        }
    }
    for (int i = 0; i < 3; i++)
        if (dup2(fd[i], i) < 0)
            child_fail(c, STAGE_FDS, errno);
    close_fds();
    if (c->cwd && chdir(c->cwd) != 0)
        child_fail(c, STAGE_CHDIR, errno);
    if (c->found) {
        exec_file(c->found, c->argv, c->envp);
        /* gone or changed since the parent found it: search as execvp() would */
        switch (errno) {
        case ENOENT:
        case ENOTDIR:
        case EACCES:
        case ESTALE:
        case ENODEV:
        case ETIMEDOUT: break; /* what child_execvp() passes over too */
        default: child_fail(c, STAGE_EXEC, errno);
        }
    }
    child_execvp(c);
    child_fail(c, STAGE_EXEC, errno);
    return 126;
}

/* The value of PATH in envp, or the default search path when there is none. */
static const char *env_path(char *const *envp)
{
    for (size_t i = 0; envp && envp[i]; i++)
        if (strncmp(envp[i], "PATH=", 5) == 0)
            return envp[i] + 5;
    return DEFAULT_PATH;
}

/* ---- finding the program along PATH in relhost ------------------------------------------- */

/* The program's file along PATH, found in relhost before each start: the child then execs it
 * instead of trying every folder before it (a failed execve() each, in the child, while relhost
 * waits for it: an execve() that fails still sets up a new program's memory and copies argv and
 * the environment, a stat() does not). Searched again at every start, never remembered: a
 * program put in an earlier folder of PATH between two starts is the one execvp() would run.
 * Only absolute PATH entries are searched here (a relative one depends on the child's folder:
 * the child searches then). The child falls back to the whole search when the file is gone or
 * no longer runnable by the time it execs it. */

/* The first regular file along path named name that this process may execute (as execvp()
 * would find it), in buf; 0 when found. */
static int path_search(const char *path, const char *name, char *buf, size_t cap)
{
    size_t nlen = strlen(name);
    for (const char *p = path;;) {
        const char *e = strchr(p, ':');
        size_t dlen = e ? (size_t)(e - p) : strlen(p);
        struct stat sb;
        if (dlen == 0 || p[0] != '/' || dlen + 1 + nlen + 1 > cap)
            return -1; /* the current folder, a relative entry, a long one: the child's search */
        memcpy(buf, p, dlen);
        buf[dlen] = '/';
        memcpy(buf + dlen + 1, name, nlen + 1);
        if (stat(buf, &sb) == 0 && S_ISREG(sb.st_mode) && access(buf, X_OK) == 0)
            return 0;
        if (!e)
            return -1;
        p = e + 1;
    }
}

/* argv0's file along path in buf (PATH_MAX bytes), or NULL (a name with a '/', not found, or
 * not decidable here). */
static const char *path_find(const char *path, const char *argv0, char *buf)
{
    if (!argv0[0] || strchr(argv0, '/') || strlen(argv0) > NAME_MAX)
        return NULL;
    return path_search(path, argv0, buf, PATH_MAX) == 0 ? buf : NULL;
}

/* ---- clone ----------------------------------------------------------------------------------- */

/* The child's stack, kept from one start to the next (clone() returns only once the child has
 * exec'd or exited: the stack is free again), with a guard page below it. */
static char *child_stack;
static size_t child_stack_size;

static char *stack_for(size_t size)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    char *s;
    if (child_stack && child_stack_size >= size)
        return child_stack;
    s = mmap(NULL, size + page, PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK | MAP_NORESERVE, -1, 0);
    if (s == MAP_FAILED)
        return NULL;
    /* A guard page below the stack: an overflow faults instead of writing into relhost. */
    if (mprotect(s, page, PROT_NONE) != 0) {
        int e = errno;
        munmap(s, size + page);
        errno = e;
        return NULL;
    }
    if (child_stack)
        munmap(child_stack - page, child_stack_size + page);
    child_stack = s + page;
    child_stack_size = size;
    return child_stack;
}

/* Starts the child with clone(CLONE_VM | CLONE_VFORK) on a stack of its own: no copy of
 * relhost's page tables, so the cost does not grow with what relhost holds (fork() copied them
 * all, and the host grows with every job of a run). Returns the pid, or -1 with errno. */
static pid_t clone_child(struct child_plan *c, size_t argc)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t size = (CHILD_STACK + (argc + 2) * sizeof(char *) + page - 1) / page * page;
    sigset_t all, old;
    char *stack = stack_for(size);
    pid_t pid;
    int e;

    if (!stack)
        return -1;
    /* Every signal blocked from before clone until the child has reset the dispositions: a
     * handler of relhost's run in the child would work on relhost's own memory. */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pid = clone(child_main, stack + child_stack_size, CLONE_VM | CLONE_VFORK | SIGCHLD, c);
    e = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    errno = e;
    return pid;
}

/* Starts the child. On return p is listed (so the SIGCHLD hook knows it) and either exec'd or
 * marked exec_failed with a message: clone() returns once the child has exec'd or given up. */
int proc_start_child(struct relhost_proc *p, const relhost_proc_spec *spec, char **envp, int in,
                     int out, int err)
{
    struct child_plan c;
    char found[PATH_MAX]; /* c.found: read by the child, which is done with it when clone returns */
    size_t argc = 0;
    pid_t pid;

    memset(&c, 0, sizeof c);
    c.argv = (char *const *)spec->argv;
    c.envp = envp;
    c.cwd = spec->cwd;
    c.path = env_path(envp);
    c.found = path_find(c.path, spec->argv[0], found);
    c.fd[0] = in;
    c.fd[1] = out;
    c.fd[2] = err;
    while (spec->argv[argc])
        argc++;
    p->started = loop_now();
    pid = clone_child(&c, argc);
    if (pid < 0)
        return error_set(RELHOST_EIO, "cannot start a process to run '%s': %s", spec->argv[0],
                         strerror(errno));
    p->pid = pid;
    p->deadline = p->timeout_s > 0 ? p->started + p->timeout_s : 0;
    proc_list_add(p);
    if (c.stage) {
        p->exec_failed = 1;
        p->exec_code = c.stage == STAGE_EXEC && c.err == ENOENT ? 127 : 126;
        if (c.stage == STAGE_CHDIR)
            snprintf(p->exec_msg, sizeof p->exec_msg, "cannot run '%s' in folder '%s': %s",
                     spec->argv[0], spec->cwd, strerror(c.err));
        else if (c.stage == STAGE_FDS)
            snprintf(p->exec_msg, sizeof p->exec_msg, "cannot set up the standard fds of '%s': %s",
                     spec->argv[0], strerror(c.err));
        else
            snprintf(p->exec_msg, sizeof p->exec_msg, "cannot execute '%s': %s", spec->argv[0],
                     strerror(c.err));
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
