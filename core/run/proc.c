/* SPDX-License-Identifier: MIT */
/* proc.c - the process table and the public API over it: spawn, poll, kill, release (proc.h). */
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

static struct relhost_proc *procs;
static unsigned long cookie_seq;

/* ---- bookkeeping ---------------------------------------------------------------------------- */

void proc_list_add(struct relhost_proc *p)
{
    p->next = procs;
    procs = p;
}

void proc_list_remove(struct relhost_proc *p)
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
void proc_reap_children(void)
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
    proc_reap_children();
}

void proc_init(void) { loop_on_child(on_child, NULL); }

void proc_setup(struct relhost_proc *p, const relhost_proc_spec *spec)
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
        (rfd = open(p->log_path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) >= 0) {
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
 * proc_build_env(); a bare "RELHOST_JOB" removes it), or NULL. */
static const char *job_of_env(const char *const *env)
{
    const char *job = NULL;
    for (size_t i = 0; env && env[i]; i++)
        if (proc_same_name(env[i], "RELHOST_JOB="))
            job = strchr(env[i], '=') ? strchr(env[i], '=') + 1 : NULL;
    return job;
}

static void proc_arm(struct relhost_proc *p);

/* A job that cannot start because relhost ran out of descriptors or memory: nothing is wrong
 * with the job, so the error names the resource and is retryable (the release defers, exit 75,
 * and a run with the resource back starts it); any other failure is an I/O error. fmt takes
 * the strings a and b. */
static int spawn_error(int e, const char *fmt, const char *a, const char *b)
{
    char head[PATH_MAX + 256];
    struct rlimit rl;
    snprintf(head, sizeof head, fmt, a, b);
    if (e == EMFILE && getrlimit(RLIMIT_NOFILE, &rl) == 0)
        return error_set(RELHOST_ERETRY,
                         "%s: %s (EMFILE: relhost reached its open file limit, ulimit -n %llu; "
                         "raise it or lower the runners' max_parallel, then run again)",
                         head, strerror(e), (unsigned long long)rl.rlim_cur);
    if (e == ENFILE || e == ENOMEM)
        return error_set(RELHOST_ERETRY,
                         "%s: %s (%s: the system ran out of a resource; free it or lower the "
                         "runners' max_parallel, then run again)",
                         head, strerror(e), e == ENOMEM ? "ENOMEM" : "ENFILE");
    if (e == ENOSPC || e == EDQUOT)
        return error_set(RELHOST_ERETRY,
                         "%s: %s (%s: the disk is full; free space on it, then run again)", head,
                         strerror(e), e == ENOSPC ? "ENOSPC" : "EDQUOT");
    return error_set(RELHOST_EIO, "%s: %s", head, strerror(e));
}

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
    rc = proc_spec_copy(spec_in, &spec, "proc_spawn");
    if (rc)
        return rc;
    if (!spec.log_path || !*spec.log_path)
        return error_set(RELHOST_EINVAL, "proc_spawn: no log_path for '%s'", spec.argv[0]);
    /* The log's folder is made when the log cannot be opened for want of it (once per folder,
     * not once per job). */
    log_fd = open(spec.log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (log_fd < 0 && errno == ENOENT) {
        dir = path_dirname(spec.log_path);
        rc = path_mkdirs(dir);
        free(dir);
        if (rc)
            return error_wrap(rc, "log of '%s'", spec.argv[0]);
        log_fd = open(spec.log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0644);
    }
    if (log_fd < 0 && errno == ELOOP)
        return error_set(RELHOST_EIO,
                         "cannot open log %s for '%s': it is a symbolic link, and relhost never "
                         "writes a log through one; remove the link (its target was not touched)",
                         spec.log_path, spec.argv[0]);
    if (log_fd < 0)
        return spawn_error(errno, "cannot open log %s for '%s'", spec.log_path, spec.argv[0]);
    devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (devnull < 0) {
        rc = spawn_error(errno, "cannot open /dev/null for '%s'", spec.argv[0], NULL);
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
    proc_build_env(&spec, p->cookie, cookie, job != NULL, &env);
    rc = proc_start_child(p, &spec, env.v, devnull, log_fd, log_fd);
    sv_free(&env);
    close(devnull);
    if (rc) {
        close(log_fd);
        free(p->log_path);
        free(p);
        return rc;
    }
    p->job = job ? xstrdup(job) : NULL;
    p->starttime = proc_start_time(p->pid);
    if (p->exec_failed)
        log_note(p, "relhost: %s\n", p->exec_msg);
    proc_arm(p);
    *out = p;
    return 0;
}

int proc_spawn_fds(const relhost_proc_spec *spec_in, int in, int out, int err,
                   struct relhost_proc **pp)
{
    relhost_proc_spec spec;
    struct relhost_proc *p;
    strvec env = {0};
    int rc;
    *pp = NULL;
    if ((rc = proc_spec_copy(spec_in, &spec, "proc_spawn_fds")) != 0)
        return rc;
    p = xcalloc(1, sizeof *p);
    proc_setup(p, &spec);
    p->spawned = 1;
    proc_build_env(&spec, p->cookie, NULL, 0, &env);
    rc = proc_start_child(p, &spec, env.v, in, out, err);
    sv_free(&env);
    if (rc) {
        free(p);
        return rc;
    }
    p->starttime = proc_start_time(p->pid);
    proc_arm(p);
    *pp = p;
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
    else if (p->reaped && p->empty_since > 0)
        when = p->empty_since + TICK_S; /* the second look at a tree that seemed gone */
    if (when > 0)
        p->timer = loop_timer_add(when, proc_timer_cb, p);
}

static void proc_timer_cb(void *arg)
{
    struct relhost_proc *p = arg;
    int done = 0;
    p->timer = 0;
    proc_poll(p, &done, NULL); /* re-arms for the next step (proc_arm) */
    if (done)
        loop_child_news(); /* its runner is polled at once, not at its next fallback poll */
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
        proc_reap_children();
        now = loop_now();
        if (p->ks == KS_NONE && !p->reaped) {
            if (!p->deadline || now < p->deadline)
                return 0;
            p->timed_out = 1;
            proc_kill_start(p, now);
            log_note(p, "[TIMEOUT] relhost: killed after %gs (SIGTERM, SIGKILL after %gs grace)\n",
                     p->timeout_s, p->grace_s);
        }
        if (p->ks == KS_NONE) {
            alive = proc_tree_alive(p);
            if (alive) {
                /* The job is over when its main process is (as batch schedulers have it): what it left running
                 * is stopped, not waited for. */
                proc_kill_start(p, now);
                log_note(p,
                         "[CLEANUP] relhost: main process exited; stopping the processes it "
                         "left (SIGTERM, SIGKILL after %gs grace)\n",
                         p->grace_s);
            }
        } else {
            alive = proc_kill_advance(p, now);
        }
        if (!proc_settled(p, alive, now))
            return 0;
    }
    *done = 1;
    if (res)
        proc_fill_result(p, res);
    return 0;
}

int proc_kill(struct relhost_proc *p)
{
    if (!p)
        return error_set(RELHOST_EINVAL, "proc_kill: no process");
    if (p->finished)
        return 0;
    return proc_kill_wait(&p, 1);
}

void proc_release(struct relhost_proc *p)
{
    if (!p)
        return;
    loop_timer_cancel(p->timer);
    p->timer = 0;
    if (!p->finished)
        proc_kill_wait(&p, 1);
    proc_list_remove(p);
    proc_pins_free(p);
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
    proc_kill_wait(ps, n);
    free(ps);
}

void proc_kill_all_now(void)
{
    /* From a signal handler: kill(2) only, no allocation, no wait. Each child leads its own
     * process group (setsid), so the group is its tree; a group seen gone is never signalled
     * (its number may have been reused). */
    for (struct relhost_proc *p = procs; p; p = p->next)
        if (p->spawned && !p->finished && !p->group_gone && p->pid > 0)
            kill(-p->pid, SIGKILL);
}

int proc_live_count(void)
{
    int n = 0;
    proc_reap_children();
    for (struct relhost_proc *p = procs; p; p = p->next)
        if (p->spawned && !p->finished && proc_tree_alive(p))
            n++;
    return n;
}
