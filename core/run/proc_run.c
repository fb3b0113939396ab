/* SPDX-License-Identifier: MIT */
/* proc_run.c - running a command to completion with its output captured (proc_run). */
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

/* Stop watching *fd and close it (-1 after; -1 before: nothing). */
static void unwatch_close(int *fd)
{
    if (*fd < 0)
        return;
    loop_unwatch_fd(*fd);
    close(*fd);
    *fd = -1;
}

static void capture_close(struct capture *c) { unwatch_close(&c->fd); }

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

static void feeder_close(struct feeder *f) { unwatch_close(&f->fd); }

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
/* A failed system call: running out of a resource (descriptors, memory) is RELHOST_ENOMEM and
 * says which one, so the caller stops as a tool error instead of retrying into the same wall. */
static int proc_resource_error(int e, const char *fmt, const char *what)
{
    char head[512];
    struct rlimit rl;
    snprintf(head, sizeof head, fmt, what);
    if (e == EMFILE && getrlimit(RLIMIT_NOFILE, &rl) == 0)
        return error_set(RELHOST_ENOMEM,
                         "%s: %s (EMFILE: relhost reached its open file limit, ulimit -n %llu; "
                         "raise it or lower the runners' max_parallel)",
                         head, strerror(e), (unsigned long long)rl.rlim_cur);
    if (e == EMFILE || e == ENFILE || e == ENOMEM)
        return error_set(RELHOST_ENOMEM, "%s: %s (%s: out of a system resource)", head, strerror(e),
                         e == ENOMEM   ? "ENOMEM"
                         : e == ENFILE ? "ENFILE"
                                       : "EMFILE");
    return error_set(RELHOST_EIO, "%s: %s", head, strerror(e));
}

static int make_pipe(int fds[2], int parent, const char *what)
{
    if (pipe2(fds, O_CLOEXEC) != 0)
        return proc_resource_error(errno, "cannot create a pipe for '%s'", what);
    fcntl(fds[parent], F_SETFL, fcntl(fds[parent], F_GETFL) | O_NONBLOCK);
    return 0;
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

/* Makes the pipes, starts the child on them and closes the child's ends. On failure every fd
 * it made is closed again. */
static int run_start(struct relhost_proc *p, const relhost_proc_spec *spec, int opipe[2],
                     int epipe[2], int ipipe[2])
{
    int rc, devnull = -1;
    strvec env = {0};

    if ((rc = make_pipe(opipe, 0, spec->argv[0])) || (rc = make_pipe(epipe, 0, spec->argv[0])))
        goto fail;
    if (spec->stdin_data) {
        if ((rc = make_pipe(ipipe, 1, spec->argv[0])))
            goto fail;
    } else if ((devnull = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0) {
        rc = error_set(RELHOST_EIO, "cannot open /dev/null: %s", strerror(errno));
        goto fail;
    }
    proc_build_env(spec, p->cookie, NULL, 1, &env);
    rc =
        proc_start_child(p, spec, env.v, spec->stdin_data ? ipipe[0] : devnull, opipe[1], epipe[1]);
    sv_free(&env);
    close_fd(&devnull);
    close_fd(&ipipe[0]);
    close_fd(&opipe[1]);
    close_fd(&epipe[1]);
    if (rc)
        goto fail;
    return 0;

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

/* Serves the loop until the child is reaped and its pipes are closed, the drain time after its
 * end is over (*leftovers), a new interrupt comes (*interrupted) or the deadline passes. */
static void run_wait(struct relhost_proc *p, const struct capture *out, const struct capture *err,
                     struct feeder *in, int *interrupted, int *leftovers)
{
    double drain_until = 0;
    /* Only a NEW interrupt stops the wait: the interrupt path itself runs commands (scancel). */
    int intr0 = loop_interrupted();
    for (;;) {
        double now, wait = -1;
        proc_reap_children();
        now = loop_now();
        if (p->reaped) {
            feeder_close(in);
            if (out->fd < 0 && err->fd < 0)
                break;
            if (!drain_until)
                drain_until = now + DRAIN_S;
            if (now >= drain_until) {
                *leftovers = 1;
                break;
            }
            wait = drain_until - now;
        }
        if (loop_interrupted() != intr0) {
            *interrupted = 1;
            break;
        }
        if (p->deadline && !p->reaped) {
            if (now >= p->deadline) {
                p->timed_out = 1;
                break;
            }
            wait = p->deadline - now;
        }
        loop_once(wait);
    }
}

int proc_run(const relhost_proc_spec *spec_in, relhost_proc_result *res)
{
    relhost_proc_spec spec;
    struct relhost_proc p, *pp = &p;
    struct capture out = {.fd = -1}, err = {.fd = -1};
    struct feeder in = {.fd = -1};
    int opipe[2] = {-1, -1}, epipe[2] = {-1, -1}, ipipe[2] = {-1, -1};
    int rc, interrupted = 0, leftovers = 0;

    if (!res)
        return error_set(RELHOST_EINVAL, "proc_run: no result");
    memset(res, 0, sizeof *res);
    res->struct_size = sizeof *res;
    rc = proc_spec_copy(spec_in, &spec, "proc_run");
    if (rc)
        return rc;

    memset(&p, 0, sizeof p);
    proc_setup(&p, &spec);
    out.max = err.max = spec.capture_max ? spec.capture_max : DEFAULT_CAPTURE;
    if (out.max > SIZE_MAX / 4)
        out.max = err.max = SIZE_MAX / 4;
    if ((rc = run_start(&p, &spec, opipe, epipe, ipipe)))
        return rc;

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
    run_wait(&p, &out, &err, &in, &interrupted, &leftovers);

    if (leftovers) {
        /* A grandchild holds the pipes past the command's end: stop reading, stop the rest. */
        capture_close(&out);
        capture_close(&err);
        rc = proc_kill_wait(&pp, 1);
    } else if (interrupted || p.timed_out) {
        double until;
        rc = proc_kill_wait(&pp, 1);
        /* What the dying tree wrote is still in the pipes. */
        until = loop_now() + DRAIN_S;
        while ((out.fd >= 0 || err.fd >= 0) && loop_now() < until)
            loop_once(until - loop_now());
    }
    capture_close(&out);
    capture_close(&err);
    feeder_close(&in);
    proc_list_remove(&p);
    proc_pins_free(&p);

    proc_fill_result(&p, res);
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
        return error_set(RELHOST_EINTR,
                         "interrupted while running '%s'; its process tree was "
                         "stopped",
                         spec.argv[0]);
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

int proc_run_git(const char *repo, const char *const *args, double timeout_s,
                 relhost_proc_result *res)
{
    const char *argv[16];
    relhost_proc_spec spec = {.struct_size = sizeof spec, .argv = argv, .timeout_s = timeout_s};
    size_t n = 0;
    argv[n++] = "git";
    argv[n++] = "-C";
    argv[n++] = repo;
    for (size_t i = 0; args[i] && n < 15; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    memset(res, 0, sizeof *res);
    return proc_run(&spec, res);
}
