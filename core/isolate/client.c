/* SPDX-License-Identifier: MIT */
/*
 * client.c - the host's side of an isolated plugin instance (isolate.h): the proxy descriptor
 * whose ops forward each call to the instance's plugin server, the server's start and stop, and
 * what its death or hang turns into.
 */
#include "isolate/isolate.h"
#include "isolate/isolate_int.h"

#include "base/error.h"
#include "base/log.h"
#include "run/guard.h"
#include "run/host.h"
#include "run/loop.h"
#include "run/proc.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

/* How long a server may take to load the plan and the plugin when call_timeout sets none. */
#define START_TIMEOUT_S 120.0
/* After a stop request (SIGINT, SIGTERM) a computing server gets this long to come back before
 * it is killed: shorter than the guard's own grace (core/run/guard.h). */
#define STOP_GRACE_S (GUARD_STOP_GRACE_S - 2)
/* A read of the log shorter than this reached the log's current end: send the batch. */
#define FEED_SHORT ((size_t)65536)

typedef struct iso_job {
    iso_conn *c;
    uint32_t id;
    const relhost_ctx *ctx; /* of its last feed(): the batch's, when another job sends it */
    int feed_rc;            /* a batch sent ahead failed (settle()): its next call says so */
} iso_job;

static iso_entry **entries;
static size_t nentries;

static iso_entry *entry_of_conf(const void *conf)
{
    for (size_t i = 0; i < nentries; i++)
        if (entries[i]->in->conf == conf)
            return entries[i];
    return NULL;
}

static hostctx *hc_of(const relhost_ctx *ctx) { return ctx ? (hostctx *)ctx->host_private : NULL; }

static const char *signame(int sig)
{
    switch (sig) {
    case SIGSEGV: return "SIGSEGV, invalid memory access";
    case SIGABRT: return "SIGABRT, abort";
    case SIGBUS: return "SIGBUS";
    case SIGILL: return "SIGILL";
    case SIGFPE: return "SIGFPE";
    case SIGKILL: return "SIGKILL";
    case SIGTERM: return "SIGTERM";
    default: return "a signal";
    }
}

/* The server is gone or stuck (hung): stop its tree and what it started, say why once. */
static int fault(iso_conn *c, const relhost_ctx *ctx, const char *call, int hung)
{
    relhost_proc_result res = {.struct_size = sizeof res};
    const char *plugin = c->e->in->plugin_name;
    int runner = strcmp(c->e->kind, "runner") == 0;
    /* a runner's ctx names the runner, not a step: its jobs' steps are told apart */
    const char *step = ctx && ctx->step && !runner ? ctx->step : NULL;
    char *what;
    int done = 0;
    proc_kill(c->proc); /* the group and anything that escaped it; waits until gone */
    proc_poll(c->proc, &done, &res);
    iso_client_kill_procs(c);
    if (!hung && !res.timed_out &&
        (res.signal == SIGTERM || res.signal == SIGINT || res.signal == SIGHUP)) {
        /* Stopped from outside, not crashed: a service manager stopping the whole group (the
         * default of `systemctl stop`) reaches the server too, maybe before relhost reads its
         * own signal. The run stops as if relhost had been told; the step is resumable. */
        loop_stop_on_behalf(res.signal);
        log_msg(RELHOST_LOG_WARN, plugin,
                "its isolated process got %s from outside during its %s() call: relhost stops "
                "the run as if it had got it, and a resume runs the step again",
                signame(res.signal), call);
        c->dead = 1;
        c->dead_reason = "interrupted";
        free(c->dead_msg);
        c->dead_msg = xasprintf("the plugin's process was stopped by %s", signame(res.signal));
        proc_result_free(&res);
        return RELHOST_EINTR;
    }
    if (hung) {
        c->dead_reason = "plugin_hung";
        what = xasprintf("did not return from its %s() call within call_timeout %gs (in its "
                         "isolated process, pid %ld, now killed)",
                         call, c->e->in->call_timeout, (long)proc_pid(c->proc));
    } else if (res.signal && !res.timed_out) {
        c->dead_reason = "plugin_crashed";
        what = xasprintf("crashed during its %s() call (its isolated process was killed by "
                         "signal %d, %s)",
                         call, res.signal, signame(res.signal));
    } else {
        c->dead_reason = "plugin_exited";
        what = xasprintf("exited during its %s() call (its isolated process ended with status "
                         "%d)",
                         call, res.exit_code);
    }
    free(c->dead_msg);
    c->dead_msg = xasprintf(
        "plugin %s %s%s%s; relhost stopped the processes it had started%s; "
        "fix or remove the plugin, then %s",
        plugin, what, step ? " for step " : (runner ? " as runner " : ""),
        step ? step : (runner ? c->e->in->name : ""), runner ? " (the runner's jobs)" : "",
        ctx && ctx->mode == RELHOST_MODE_CHECK ? "check again" : "resume with --retry-failed");
    free(what);
    c->dead = 1;
    proc_result_free(&res);
    log_msg(RELHOST_LOG_ERROR, plugin, "%s", c->dead_msg);
    if (ctx) {
        host_table()->fail(ctx, "%s", c->dead_msg);
        if (hc_of(ctx))
            hc_of(ctx)->plugin_fault = c->dead_reason;
    }
    return RELHOST_EIO;
}

/* A call to an instance whose server died earlier fails the same way, without a server. */
static int dead_again(iso_conn *c, const relhost_ctx *ctx)
{
    if (ctx) {
        host_table()->fail(ctx, "%s", c->dead_msg);
        if (hc_of(ctx))
            hc_of(ctx)->plugin_fault = c->dead_reason;
    }
    return RELHOST_EIO;
}

/* Wait for the reply of the op in progress, answering the plugin's service calls meanwhile in
 * ctx. Only the server's own time counts against call_timeout. 0 and *r filled (W_RET, or
 * W_HELLO at start), or a negative code after the fault was handled. */
static int wait_reply(iso_conn *c, const relhost_ctx *ctx, const char *call, rbuf *r, int want)
{
    double budget = c->e->in->call_timeout, used = 0, stop_at = 0;
    if (want == W_HELLO && (budget <= 0 || budget < START_TIMEOUT_S))
        budget = START_TIMEOUT_S;
    for (;;) {
        struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
        double t0 = loop_now(), left = budget > 0 ? budget - used : -1;
        int n, k;
        if (loop_interrupted() && stop_at == 0)
            stop_at = t0 + STOP_GRACE_S;
        if (stop_at > 0 && (left < 0 || stop_at - t0 < left))
            left = stop_at - t0 > 0 ? stop_at - t0 : 0;
        n = poll(&pfd, 1, left < 0 ? -1 : (int)(left * 1000) + 1);
        used += loop_now() - t0;
        if (n < 0 && errno == EINTR)
            continue;
        if (n == 0 && stop_at > 0 && loop_now() >= stop_at) {
            proc_kill(c->proc);
            iso_client_kill_procs(c);
            c->dead = 1;
            c->dead_reason = "interrupted";
            c->dead_msg = xstrdup("relhost was interrupted while the plugin computed");
            return RELHOST_EINTR;
        }
        if (n == 0 && budget > 0 && used >= budget)
            return fault(c, ctx, call, 1);
        if (n <= 0)
            continue;
        k = w_recv(c->fd, r);
        if (k == want)
            return 0;
        if (k == W_SVC) {
            iso_client_serve(c, ctx, r);
            r_free(r);
            continue;
        }
        if (k > 0)
            r_free(r);
        return fault(c, ctx, call, 0); /* EOF, a reset or a message out of place */
    }
}

/* Send op (freed) and wait for its results in *r: 0, or a negative code, explained. */
/* The reply of the feed() batch sent last (the other half of the shared buffer): read before
 * anything else is sent, so ops stay in order and each service call of the plugin is answered
 * in the ctx of the feed that made it. A failed feed is kept for its job's next call. */
static void settle(iso_conn *c)
{
    rbuf r;
    int rc;
    if (!c->feed_pending)
        return;
    c->feed_pending = 0;
    if (c->dead) { /* gone meanwhile: its fault was said already */
        c->pending_job = NULL;
        return;
    }
    rc = wait_reply(c, c->pending_ctx, "feed", &r, W_RET);
    if (rc == 0) {
        rc = r_i32(&r);
        r_free(&r);
    }
    if (rc != 0 && c->pending_job && !c->pending_job->feed_rc)
        c->pending_job->feed_rc = rc;
    c->pending_job = NULL;
}

int iso_call(iso_conn *c, const relhost_ctx *ctx, const char *name, wbuf *op, rbuf *r)
{
    int rc;
    memset(r, 0, sizeof *r);
    settle(c);
    if (c->dead) {
        w_free(op);
        return dead_again(c, ctx);
    }
    rc = w_send(c->fd, op);
    w_free(op);
    if (rc != 0)
        return fault(c, ctx, name, 0);
    return wait_reply(c, ctx, name, r, W_RET);
}

void iso_op_begin(wbuf *w, int op, const relhost_ctx *ctx)
{
    w_init(w, W_OP);
    w_u32(w, (uint32_t)op);
    if (ctx)
        w_ctx(w, ctx);
}

/* An op whose only result is its rc. */
int iso_call_rc(iso_conn *c, const relhost_ctx *ctx, const char *name, wbuf *op)
{
    rbuf r;
    int rc = iso_call(c, ctx, name, op, &r);
    if (rc == 0)
        rc = r_i32(&r);
    r_free(&r);
    return rc;
}

/* The feed buffer shared with a metrics source's server: created here, its fd handed over with
 * the first byte the server reads ('M'; 'N': none, as for a gate or when memfd fails). */
static int send_shm(iso_conn *c)
{
    char byte = 'N', ctl[CMSG_SPACE(sizeof(int))];
    struct iovec iov = {.iov_base = &byte, .iov_len = 1};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
    size_t cap = 2 * (ISOLATE_FEED_BATCH + FEED_SHORT); /* two halves: one fills, one is fed */
    int fd = -1;
    ssize_t n;
    if (strcmp(c->e->kind, "metrics") == 0 &&
        (fd = memfd_create("relhost-feed", MFD_CLOEXEC)) >= 0 && ftruncate(fd, (off_t)cap) == 0) {
        void *p = mmap(NULL, cap, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (p != MAP_FAILED) {
            struct cmsghdr *cm;
            c->shm = p;
            c->shm_cap = cap / 2;
            byte = 'M';
            memset(ctl, 0, sizeof ctl);
            m.msg_control = ctl;
            m.msg_controllen = sizeof ctl;
            cm = CMSG_FIRSTHDR(&m);
            cm->cmsg_level = SOL_SOCKET;
            cm->cmsg_type = SCM_RIGHTS;
            cm->cmsg_len = CMSG_LEN(sizeof(int));
            memcpy(CMSG_DATA(cm), &fd, sizeof fd);
        }
    }
    do
        n = sendmsg(c->fd, &m, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    if (fd >= 0)
        close(fd); /* the mapping and the server's copy keep it */
    return n == 1 ? 0 : -1;
}

static void conn_free(iso_conn *c)
{
    if (c->shm)
        munmap(c->shm, 2 * c->shm_cap);
    if (c->fd >= 0)
        close(c->fd);
    if (c->proc) {
        /* the server ends at the socket's EOF; what is left of its tree is killed */
        proc_kill(c->proc);
        proc_release(c->proc);
    }
    iso_client_kill_procs(c);
    if (c->e->conn == c)
        c->e->conn = NULL;
    free(c->procs);
    free(c->jobs);
    free(c->dead_msg);
    sv_free(&c->keep);
    free(c);
}

/* Start the instance's server and wait until it has loaded the plan and the plugin. */
static int conn_start(iso_entry *e, const relhost_ctx *ctx, const char *call, iso_conn **out)
{
    strvec argv = {0};
    relhost_proc_spec spec = {.struct_size = sizeof spec};
    iso_conn *c;
    rbuf r;
    int sv[2], rc;
    *out = NULL;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
        host_table()->fail(ctx, "cannot create a socket pair for isolated plugin %s: %s",
                           e->in->plugin_name, strerror(errno));
        return RELHOST_EIO;
    }
    sv_push(&argv, "/proc/self/exe");
    sv_push(&argv, ISOLATE_SERVER_ARG);
    sv_push(&argv, e->kind);
    sv_push(&argv, e->in->name);
    sv_push(&argv, e->path);
    sv_push(&argv, e->version);
    sv_push(&argv, e->commit ? e->commit : "");
    sv_push(&argv, e->hash);
    for (size_t i = 0; i < e->sets.n; i++)
        sv_push(&argv, e->sets.v[i]);
    spec.argv = (const char *const *)argv.v;
    c = xcalloc(1, sizeof *c);
    c->e = e;
    c->fd = sv[0];
    fflush(stdout);
    rc = proc_spawn_fds(&spec, sv[1], STDOUT_FILENO, STDERR_FILENO, &c->proc);
    close(sv[1]);
    sv_free(&argv);
    if (rc != 0) {
        host_table()->fail(ctx, "cannot start the isolated process of plugin %s: %s",
                           e->in->plugin_name, error_last());
        conn_free(c);
        return rc;
    }
    e->conn = c;
    if (send_shm(c) != 0) {
        rc = fault(c, ctx, call, 0);
        conn_free(c);
        return rc;
    }
    if ((rc = wait_reply(c, ctx, call, &r, W_HELLO)) != 0) {
        conn_free(c);
        return rc;
    }
    if ((rc = r_i32(&r)) != 0) {
        const char *m = r_str(&r);
        host_table()->fail(ctx, "the isolated process of plugin %s could not load the plan: %s",
                           e->in->plugin_name, m ? m : "no reason given");
        r_free(&r);
        conn_free(c);
        return rc;
    }
    r_free(&r);
    *out = c;
    return 0;
}

int iso_proxy_open(int op, const relhost_ctx *ctx, const void *conf, void **inst)
{
    iso_entry *e = entry_of_conf(conf);
    iso_conn *c;
    wbuf w;
    int rc;
    *inst = NULL;
    if (!e) {
        host_table()->fail(ctx, "no isolated instance owns this configuration (a relhost bug); "
                                "set isolate = false to run the plugin inside relhost");
        return RELHOST_EINVAL;
    }
    /* a server keys() or credentials() started is the one the instance gets */
    if (e->conn && e->conn->dead) {
        rc = dead_again(e->conn, ctx);
        conn_free(e->conn);
        return rc;
    }
    if (!(c = e->conn) && (rc = conn_start(e, ctx, "open", &c)) != 0)
        return rc;
    iso_op_begin(&w, op, ctx);
    if ((rc = iso_call_rc(c, ctx, "open", &w)) != 0) {
        conn_free(c); /* no close() follows a failed open() */
        return rc;
    }
    *inst = c;
    return 0;
}

void iso_proxy_close(int op, void *inst)
{
    iso_conn *c = inst;
    wbuf w;
    if (!c)
        return;
    if (!c->dead) {
        iso_op_begin(&w, op, NULL);
        iso_call_rc(c, NULL, "close", &w);
    }
    conn_free(c);
}

/* ---- gate ops ---- */

static int pg_open(const relhost_ctx *ctx, const void *conf, void **inst)
{
    return iso_proxy_open(OP_GATE_OPEN, ctx, conf, inst);
}

static int pg_describe(const relhost_ctx *ctx, void *inst)
{
    iso_conn *c = inst;
    const relhost_gate_ops *g = c->e->real->desc.gate;
    wbuf w;
    if (!RELHOST_HAS(g, describe) || !g->describe)
        return 0;
    iso_op_begin(&w, OP_GATE_DESCRIBE, ctx);
    return iso_call_rc(c, ctx, "describe", &w);
}

static int pg_run(const relhost_ctx *ctx, void *inst, relhost_verdict *out)
{
    iso_conn *c = inst;
    wbuf w;
    rbuf r;
    int rc;
    const char *reason;
    iso_op_begin(&w, OP_GATE_RUN, ctx);
    if ((rc = iso_call(c, ctx, "run", &w, &r)) != 0) {
        if (rc == RELHOST_EINTR || !c->dead)
            return rc;
        /* the plugin's fault is the step's outcome, with its own reason */
        out->outcome = RELHOST_ERROR;
        out->reason = c->dead_reason;
        out->retryable = 0;
        return 0;
    }
    rc = r_i32(&r);
    out->outcome = (relhost_outcome)r_i32(&r);
    reason = r_str(&r);
    out->retryable = r_i32(&r);
    if (reason) {
        sv_push(&c->keep, reason);
        out->reason = c->keep.v[c->keep.n - 1];
    } else {
        out->reason = NULL;
    }
    r_free(&r);
    return rc;
}

static void pg_close(void *inst) { iso_proxy_close(OP_GATE_CLOSE, inst); }

static const relhost_gate_ops proxy_gate = {
    .struct_size = sizeof(relhost_gate_ops),
    .open = pg_open,
    .describe = pg_describe,
    .run = pg_run,
    .close = pg_close,
};

/* ---- metrics source ops ---- */

static const relhost_metrics_ops *real_metrics(const iso_conn *c)
{
    return c->e->real->desc.metrics;
}

static int pm_open(const relhost_ctx *ctx, const void *conf, void **inst)
{
    return iso_proxy_open(OP_M_OPEN, ctx, conf, inst);
}

static int pm_job_open(const relhost_ctx *ctx, void *inst, const relhost_job_spec *in, void **job)
{
    iso_conn *c = inst;
    relhost_job_spec s;
    iso_job *j;
    wbuf w;
    rbuf r;
    int rc;
    uint32_t id;
    *job = NULL;
    if (!real_metrics(c)->job_open)
        return 0;
    iso_copy_in(&s, sizeof s, in);
    iso_op_begin(&w, OP_M_JOB_OPEN, ctx);
    w_fields(&w, &s, wf_job_spec, WF_COUNT(wf_job_spec));
    w_map(&w, &s.runner_args);
    if ((rc = iso_call(c, ctx, "job_open", &w, &r)) != 0 && !c->dead)
        return rc;
    if (rc == 0) {
        rc = r_i32(&r);
        id = r_u32(&r);
        r_free(&r);
        if (rc != 0 || id == WIRE_NULL)
            return rc;
    } else {
        /* A job of a source whose process is gone still gets a state: its collect() then
         * fails with the fault, so the job is ERROR, never judged without the source's
         * metrics (a missing metric would read as a FAILED verdict). */
        id = WIRE_NULL;
    }
    j = xcalloc(1, sizeof *j);
    j->c = c;
    j->id = id;
    *job = j;
    return 0;
}

/* Send the feed batch gathered in the half being filled (its owner's) as one feed() call, and
 * go on filling the other half while the server works: its reply is read by the next op
 * (settle()), so reading the log and feeding it overlap. */
static int flush(iso_conn *c)
{
    iso_job *j = c->shm_owner;
    wbuf w;
    int rc;
    if (!j || !c->shm_len)
        return 0;
    settle(c); /* the other half is free once its batch was fed */
    if (c->dead)
        return dead_again(c, j->ctx);
    iso_op_begin(&w, OP_M_FEED, j->ctx);
    w_u32(&w, j->id);
    w_u32(&w, 2); /* the bytes are in the shared buffer, at this offset */
    w_u64(&w, (uint64_t)c->shm_half * c->shm_cap);
    w_u64(&w, c->shm_len);
    c->shm_len = 0;
    c->shm_owner = NULL;
    rc = w_send(c->fd, &w);
    w_free(&w);
    if (rc != 0)
        return fault(c, j->ctx, "feed", 0);
    c->feed_pending = 1;
    c->pending_ctx = j->ctx;
    c->pending_job = j;
    c->shm_half ^= 1;
    return 0;
}

static int pm_feed(const relhost_ctx *ctx, void *job, const char *buf, size_t len)
{
    iso_job *j = job;
    iso_conn *c = j->c;
    wbuf w;
    int rc;
    if (c->dead)
        return dead_again(c, ctx);
    if (!real_metrics(c)->feed)
        return 0;
    j->ctx = ctx;
    if (j->feed_rc) /* an earlier batch of this job failed: say so now */
        return j->feed_rc;
    /* another job's batch, or no room for this chunk: send what is gathered first */
    if ((c->shm_owner && c->shm_owner != j) || c->shm_len + len > c->shm_cap)
        if ((rc = flush(c)) != 0)
            return rc;
    if (len > c->shm_cap) {
        iso_op_begin(&w, OP_M_FEED, ctx);
        w_u32(&w, j->id);
        w_u32(&w, 0);
        w_bytes(&w, buf, len);
        return iso_call_rc(c, ctx, "feed", &w);
    }
    memcpy(c->shm + (size_t)c->shm_half * c->shm_cap + c->shm_len, buf, len);
    c->shm_len += len;
    c->shm_owner = j;
    if (c->shm_len >= ISOLATE_FEED_BATCH || len < FEED_SHORT)
        return flush(c);
    return 0;
}

static int pm_collect(const relhost_ctx *ctx, void *job)
{
    iso_job *j = job;
    wbuf w;
    int rc = j->c->shm_owner == j ? flush(j->c) : 0;
    settle(j->c);
    if (rc == 0 && j->feed_rc)
        rc = j->feed_rc;
    if (rc != 0 || !real_metrics(j->c)->collect)
        return rc != 0 ? rc : (j->c->dead ? dead_again(j->c, ctx) : 0);
    iso_op_begin(&w, OP_M_COLLECT, ctx);
    w_u32(&w, j->id);
    return iso_call_rc(j->c, ctx, "collect", &w);
}

static void pm_job_close(void *job)
{
    iso_job *j = job;
    wbuf w;
    if (!j)
        return;
    if (j->c->pending_job == j)
        settle(j->c); /* its last batch is fed before it closes */
    /* bytes never sent belong to a job read again from the start, or to none */
    if (j->c->shm_owner == j) {
        j->c->shm_owner = NULL;
        j->c->shm_len = 0;
    }
    if (!j->c->dead) {
        iso_op_begin(&w, OP_M_JOB_CLOSE, NULL);
        w_u32(&w, j->id);
        iso_call_rc(j->c, NULL, "job_close", &w);
    }
    free(j);
}

static void pm_close(void *inst) { iso_proxy_close(OP_M_CLOSE, inst); }

/* keys() and credentials() read the conf only, before any instance exists (a gate's open()
 * checks its acceptance keys): answered by the instance's server, started for them if need be
 * and kept for the instance's open(). */
static int names(int op, const void *conf, void (*add)(void *, const char *), void *payload)
{
    iso_entry *e = entry_of_conf(conf);
    const char *const *v;
    const char *what = op == OP_M_KEYS ? "keys" : "credentials";
    rarena a = {0};
    iso_conn *c;
    wbuf w;
    rbuf r;
    int rc;
    if (!e)
        return RELHOST_EINVAL;
    if (!(c = e->conn) && (rc = conn_start(e, NULL, what, &c)) != 0)
        return rc;
    iso_op_begin(&w, op, NULL);
    if ((rc = iso_call(c, NULL, what, &w, &r)) != 0)
        return rc;
    rc = r_i32(&r);
    v = r_strv(&r, &a);
    for (size_t i = 0; rc == 0 && v && v[i]; i++)
        add(payload, v[i]);
    ra_free(&a);
    r_free(&r);
    return rc;
}

/* peek(): the server's values, each shown here in the order it showed them. A server gone
 * shows nothing now; the job's collect() then fails with the fault. */
static int pm_peek(void *job, void (*show)(void *, const char *, double), void *payload)
{
    iso_job *j = job;
    wbuf w;
    rbuf r;
    int rc;
    uint32_t n;
    if (!j || j->c->dead || j->id == WIRE_NULL)
        return RELHOST_EIO;
    iso_op_begin(&w, OP_M_PEEK, NULL);
    w_u32(&w, j->id);
    if ((rc = iso_call(j->c, NULL, "peek", &w, &r)) != 0)
        return rc;
    rc = r_i32(&r);
    n = r_u32(&r);
    for (uint32_t i = 0; rc == 0 && i < n && !r.bad; i++) {
        const char *key = r_str(&r);
        double v = r_f64(&r);
        if (!r.bad && key)
            show(payload, key, v);
    }
    r_free(&r);
    return rc;
}

static int pm_keys(const void *conf, void (*add)(void *, const char *), void *payload)
{
    return names(OP_M_KEYS, conf, add, payload);
}

static int pm_credentials(const void *conf, void (*add)(void *, const char *), void *payload)
{
    return names(OP_M_CREDENTIALS, conf, add, payload);
}

static const relhost_metrics_ops proxy_metrics = {
    .struct_size = sizeof(relhost_metrics_ops),
    .open = pm_open,
    .job_open = pm_job_open,
    .feed = pm_feed,
    .collect = pm_collect,
    .job_close = pm_job_close,
    .close = pm_close,
    .keys = pm_keys,
    .credentials = pm_credentials,
    .peek = pm_peek,
};

/* ---- setup ---- */

static void add_entry(plan *p, plan_instance *in, const char *kind, const plan_options *o)
{
    iso_entry *e = xcalloc(1, sizeof *e);
    e->p = p;
    e->in = in;
    e->kind = kind;
    e->real = in->pl;
    e->proxy = *in->pl;
    if (strcmp(kind, "step") == 0) {
        e->proxy.desc.gate = &proxy_gate;
        e->proxy.desc.metrics = NULL;
    } else if (strcmp(kind, "runner") == 0) {
        e->proxy.desc.gate = NULL;
        e->proxy.desc.metrics = NULL;
        iso_runner_proxy(e);
        e->proxy.desc.runner = &e->rops;
    } else {
        const relhost_metrics_ops *m = in->pl->desc.metrics;
        e->mops = proxy_metrics;
        if (!RELHOST_HAS(m, keys) || !m->keys)
            e->mops.keys = NULL;
        if (!RELHOST_HAS(m, credentials) || !m->credentials)
            e->mops.credentials = NULL;
        if (!RELHOST_HAS(m, peek) || !m->peek)
            e->mops.peek = NULL;
        e->proxy.desc.metrics = &e->mops;
        e->proxy.desc.gate = NULL;
    }
    if (strcmp(kind, "runner") != 0)
        e->proxy.desc.runner = NULL;
    e->path = xstrdup(p->path);
    e->version = xstrdup(p->version);
    e->commit = p->commit ? xstrdup(p->commit) : NULL;
    e->hash = xstrdup(p->hash ? p->hash : "");
    for (size_t i = 0; o->sets && o->sets[i]; i++)
        sv_push(&e->sets, o->sets[i]);
    in->pl = &e->proxy;
    entries = xrealloc(entries, (nentries + 1) * sizeof *entries);
    entries[nentries++] = e;
}

void isolate_setup(plan *p, const plan_options *o)
{
    for (size_t i = 0; i < p->nsteps; i++)
        if (p->steps[i].inst.isolate && p->steps[i].inst.pl)
            add_entry(p, &p->steps[i].inst, "step", o);
    for (size_t i = 0; i < p->nmetrics; i++)
        if (p->metrics[i].isolate && p->metrics[i].pl)
            add_entry(p, &p->metrics[i], "metrics", o);
    for (size_t i = 0; i < p->nrunners; i++)
        if (p->runners[i].isolate && p->runners[i].pl)
            add_entry(p, &p->runners[i], "runner", o);
}

void isolate_forget(const plan *p)
{
    size_t k = 0;
    for (size_t i = 0; i < nentries; i++) {
        iso_entry *e = entries[i];
        if (e->p != p) {
            entries[k++] = e;
            continue;
        }
        if (e->conn)
            conn_free(e->conn);
        e->in->pl = e->real;
        free(e->path);
        free(e->version);
        free(e->commit);
        free(e->hash);
        sv_free(&e->sets);
        free(e);
    }
    nentries = k;
    if (!k) {
        free(entries);
        entries = NULL;
    }
}

int isolate_is_server(int argc, char **argv)
{
    return argc > 1 && strcmp(argv[1], ISOLATE_SERVER_ARG) == 0;
}
