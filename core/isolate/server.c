/* SPDX-License-Identifier: MIT */
/*
 * server.c - relhost re-executed as the plugin server of one isolated plugin instance
 * (isolate.h): it loads the same plan with the host's own plan code (so the plugin's conf and
 * where() are what they would be in relhost), reports ready, then answers the ops the host
 * sends over the socket on fd 0 until the host closes it. The plugin's services go back over
 * the same socket (server_host.c); while one waits for its answer, ops the host sends meanwhile
 * (a nested call) are answered first.
 */
#include "isolate/isolate.h"
#include "isolate/isolate_int.h"

#include "base/error.h"
#include "base/log.h"
#include "plan/plan.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static struct {
    int fd;
    plan p;
    const plan_instance *in;
    void *inst;
    void **jobs; /* the plugin's job states (a source) or handles (a runner), by the number the
                  * host holds */
    size_t njobs;
    const char *shm; /* the feed buffer shared with the host (client.c: send_shm) */
    size_t shm_len;
} S = {.fd = -1};

const char *iso_server_where(const void *field)
{
    const char *w = S.in ? optstore_where(S.in->store, field) : NULL;
    return w ? w : "the plan";
}

static void *job_of(uint32_t id) { return id < S.njobs ? S.jobs[id] : NULL; }

static uint32_t job_add(void *job)
{
    size_t i = 0;
    while (i < S.njobs && S.jobs[i])
        i++;
    if (i == S.njobs) {
        S.jobs = xrealloc(S.jobs, (S.njobs + 1) * sizeof *S.jobs);
        S.njobs++;
    }
    S.jobs[i] = job;
    return (uint32_t)i;
}

static void r_job_spec(rbuf *r, rarena *a, relhost_job_spec *s)
{
    memset(s, 0, sizeof *s);
    s->struct_size = sizeof *s;
    r_fields(r, a, s, wf_job_spec, WF_COUNT(wf_job_spec));
    r_map(r, a, &s->runner_args);
}

static void gate_op(uint32_t op, rbuf *r, rarena *a, wbuf *w)
{
    const relhost_gate_ops *g = S.in->pl->desc.gate;
    relhost_ctx ctx;
    relhost_verdict v = {.struct_size = sizeof v};
    int rc = 0;
    if (op != OP_GATE_CLOSE)
        r_ctx(r, a, &ctx);
    switch (op) {
    case OP_GATE_OPEN: rc = g->open(&ctx, S.in->conf, &S.inst); break;
    case OP_GATE_DESCRIBE:
        rc = RELHOST_HAS(g, describe) && g->describe ? g->describe(&ctx, S.inst) : 0;
        break;
    case OP_GATE_RUN: rc = g->run(&ctx, S.inst, &v); break;
    default:
        if (g->close)
            g->close(S.inst);
        S.inst = NULL;
    }
    w_i32(w, rc);
    if (op == OP_GATE_RUN) {
        w_i32(w, (int32_t)v.outcome);
        w_str(w, v.reason);
        w_i32(w, v.retryable);
    }
}

static void add_name(void *payload, const char *name)
{
    if (name)
        sv_push(payload, name);
}

/* keys() or credentials() of the conf: rc, then the names. */
static void names_op(uint32_t op, const relhost_metrics_ops *m, wbuf *w)
{
    strvec names = {0};
    int rc = RELHOST_ENOTSUP;
    if (op == OP_M_KEYS && RELHOST_HAS(m, keys) && m->keys)
        rc = m->keys(S.in->conf, add_name, &names);
    else if (op == OP_M_CREDENTIALS && RELHOST_HAS(m, credentials) && m->credentials)
        rc = m->credentials(S.in->conf, add_name, &names);
    w_i32(w, rc);
    w_strv(w, (const char *const *)names.v);
    sv_free(&names);
}

/* peek() of a job: rc, then the values shown, as count and key/value pairs, all of them up to
 * PEEK_MAX: the host picks what its table draws (the keys the job's checks read first, wherever
 * the source showed them), so a cut here would hide those past it, as it never does inside
 * relhost. PEEK_MAX only bounds a source that shows without end. */
#define PEEK_MAX 4096
struct peek_buf {
    strvec keys;
    double *v;
};

static void peek_add(void *payload, const char *key, double value)
{
    struct peek_buf *b = payload;
    if (key && b->keys.n < PEEK_MAX) {
        if (!b->v)
            b->v = xcalloc(PEEK_MAX, sizeof *b->v);
        b->v[b->keys.n] = value;
        sv_push(&b->keys, key);
    }
}

static void peek_op(const relhost_metrics_ops *m, void *job, wbuf *w)
{
    struct peek_buf b = {0};
    int rc = job && RELHOST_HAS(m, peek) && m->peek ? m->peek(job, peek_add, &b) : RELHOST_ENOTSUP;
    w_i32(w, rc);
    w_u32(w, rc == 0 ? (uint32_t)b.keys.n : 0);
    for (size_t i = 0; rc == 0 && i < b.keys.n; i++) {
        w_str(w, b.keys.v[i]);
        w_f64(w, b.v[i]);
    }
    sv_free(&b.keys);
    free(b.v);
}

static void metrics_op(uint32_t op, rbuf *r, rarena *a, wbuf *w)
{
    const relhost_metrics_ops *m = S.in->pl->desc.metrics;
    relhost_ctx ctx;
    relhost_job_spec spec;
    const char *buf;
    size_t len;
    void *job = NULL;
    uint32_t id = 0, k;
    int rc = 0;
    if (op == OP_M_KEYS || op == OP_M_CREDENTIALS) {
        names_op(op, m, w);
        return;
    }
    if (op == OP_M_PEEK) {
        id = r_u32(r);
        peek_op(m, job_of(id), w);
        return;
    }
    if (op != OP_M_JOB_CLOSE && op != OP_M_CLOSE)
        r_ctx(r, a, &ctx);
    if (op == OP_M_FEED || op == OP_M_COLLECT || op == OP_M_JOB_CLOSE)
        id = r_u32(r);
    switch (op) {
    case OP_M_OPEN: rc = m->open(&ctx, S.in->conf, &S.inst); break;
    case OP_M_JOB_OPEN:
        r_job_spec(r, a, &spec);
        rc = m->job_open ? m->job_open(&ctx, S.inst, &spec, &job) : 0;
        id = rc == 0 && job ? job_add(job) : WIRE_NULL;
        break;
    case OP_M_FEED:
        if ((k = r_u32(r)) == 1 || k == 2) {
            /* in the shared buffer: 1 at its start, 2 at the offset given (a half of it) */
            size_t off = k == 2 ? (size_t)r_u64(r) : 0;
            len = (size_t)r_u64(r);
            buf = off <= S.shm_len && len <= S.shm_len - off ? S.shm + off : NULL;
            len = buf ? len : 0;
        } else {
            buf = r_bytes(r, &len);
        }
        if (job_of(id) && m->feed && len)
            rc = m->feed(&ctx, job_of(id), buf, len);
        break;
    case OP_M_COLLECT: rc = job_of(id) && m->collect ? m->collect(&ctx, job_of(id)) : 0; break;
    case OP_M_JOB_CLOSE:
        if (job_of(id) && m->job_close)
            m->job_close(job_of(id));
        if (id < S.njobs)
            S.jobs[id] = NULL;
        break;
    default:
        if (m->close)
            m->close(S.inst);
        S.inst = NULL;
    }
    w_i32(w, rc);
    if (op == OP_M_JOB_OPEN)
        w_u32(w, id);
}

/* A runner's poll(): every job in, every status out, in one message each way. */
static void runner_poll(const relhost_runner_ops *ro, const relhost_ctx *ctx, rbuf *r, wbuf *w)
{
    uint32_t n = r_u32(r);
    relhost_job_status *st;
    double next = 1.0;
    int rc;
    /* each job takes at least 16 bytes of the message: a count past that is a broken peer */
    if (r->bad || n > (r->n - r->off) / 16) {
        w_i32(w, RELHOST_EINVAL);
        w_f64(w, 5.0);
        return;
    }
    st = xcalloc(n ? n : 1, sizeof *st);
    for (uint32_t i = 0; i < n; i++) {
        st[i].struct_size = sizeof st[i];
        r_fields(r, NULL, &st[i], wf_job_status_in, WF_COUNT(wf_job_status_in));
        st[i].runner_handle = job_of(r_u32(r));
    }
    rc = r->bad ? RELHOST_EINVAL : ro->poll(ctx, S.inst, st, n, sizeof *st, &next);
    w_i32(w, rc);
    w_f64(w, next);
    for (uint32_t i = 0; i < n; i++)
        w_fields(w, &st[i], wf_job_status_out, WF_COUNT(wf_job_status_out));
    free(st);
}

/* A runner's read_log(): up to the cap asked (at most ISO_READ_LOG_MAX) bytes back. */
static void runner_read_log(const relhost_runner_ops *ro, const relhost_ctx *ctx, rbuf *r, wbuf *w)
{
    const char *ext = r_str(r);
    void *h = job_of(r_u32(r));
    uint64_t off = r_u64(r), cap = r_u64(r);
    size_t got = 0;
    char *buf;
    int rc;
    if (cap > ISO_READ_LOG_MAX)
        cap = ISO_READ_LOG_MAX;
    buf = xmalloc((size_t)cap + 1);
    rc = r->bad ? RELHOST_EINVAL : ro->read_log(ctx, S.inst, ext, h, off, buf, (size_t)cap, &got);
    w_i32(w, rc);
    w_bytes(w, buf, rc == 0 && got <= cap ? got : 0);
    free(buf);
}

static void runner_op(uint32_t op, rbuf *r, rarena *a, wbuf *w)
{
    const relhost_runner_ops *ro = S.in->pl->desc.runner;
    relhost_ctx ctx;
    relhost_job_spec spec;
    char id[257] = "";
    void *h = NULL;
    uint32_t hid;
    int rc = 0;
    if (op != OP_R_RELEASE && op != OP_R_CLOSE)
        r_ctx(r, a, &ctx);
    switch (op) {
    case OP_R_OPEN: rc = ro->open ? ro->open(&ctx, S.in->conf, &S.inst) : 0; break;
    case OP_R_SUBMIT:
        r_job_spec(r, a, &spec);
        rc = ro->submit(&ctx, S.inst, &spec, id, &h);
        id[sizeof id - 1] = '\0';
        w_i32(w, rc);
        w_str(w, id);
        w_u32(w, (rc == 0 || rc == RELHOST_EINPROGRESS) && h ? job_add(h) : WIRE_NULL);
        return;
    case OP_R_POLL: runner_poll(ro, &ctx, r, w); return;
    case OP_R_FIND:
        rc = ro->find ? ro->find(&ctx, S.inst, r_str(r), id) : RELHOST_ENOTSUP;
        id[sizeof id - 1] = '\0';
        w_i32(w, rc);
        w_str(w, id);
        return;
    case OP_R_READ_LOG:
        if (ro->read_log) {
            runner_read_log(ro, &ctx, r, w);
            return;
        }
        rc = RELHOST_ENOTSUP;
        break;
    case OP_R_CANCEL: {
        const char *ext = r_str(r);
        rc = ro->cancel ? ro->cancel(&ctx, S.inst, ext, job_of(r_u32(r))) : 0;
        break;
    }
    case OP_R_CANCEL_MANY: {
        const char *const *ids = r_strv(r, a); /* the count, then each id */
        size_t n = 0;
        while (ids && ids[n])
            n++;
        rc = !ids ? RELHOST_EINVAL
             : RELHOST_HAS(ro, cancel_many) && ro->cancel_many
                 ? ro->cancel_many(&ctx, S.inst, ids, n)
                 : RELHOST_ENOTSUP;
        break;
    }
    case OP_R_RELEASE:
        hid = r_u32(r);
        if (job_of(hid) && ro->release)
            ro->release(S.inst, job_of(hid));
        if (hid < S.njobs)
            S.jobs[hid] = NULL;
        break;
    default:
        if (ro->close)
            ro->close(S.inst);
        S.inst = NULL;
    }
    w_i32(w, rc);
}

/* One op from the host: call the plugin, send the results. */
static void dispatch(rbuf *r)
{
    uint32_t op = r_u32(r);
    rarena a = {0};
    wbuf w;
    w_init(&w, W_RET);
    if (op >= OP_GATE_OPEN && op <= OP_GATE_CLOSE && S.in->pl->desc.gate)
        gate_op(op, r, &a, &w);
    else if (((op >= OP_M_OPEN && op <= OP_M_CREDENTIALS) || op == OP_M_PEEK) &&
             S.in->pl->desc.metrics)
        metrics_op(op, r, &a, &w);
    else if (op >= OP_R_OPEN && op <= OP_R_CANCEL_MANY && S.in->pl->desc.runner)
        runner_op(op, r, &a, &w);
    else
        w_i32(&w, RELHOST_ENOTSUP);
    fflush(stdout);
    if (w_send(S.fd, &w) != 0)
        _exit(0); /* the host is gone */
    w_free(&w);
    ra_free(&a);
}

void iso_server_svc(wbuf *w, rbuf *reply)
{
    fflush(stdout);
    if (w_send(S.fd, w) != 0)
        _exit(0);
    for (;;) {
        int k = w_recv(S.fd, reply);
        if (k <= 0)
            _exit(0);
        if (k == W_SVR)
            return;
        if (k == W_OP)
            dispatch(reply);
        r_free(reply);
    }
}

/* The first byte from the host: 'M' with the feed buffer's fd, or 'N'. 0, or -1 (host gone). */
static int recv_shm(void)
{
    char byte = 0, ctl[CMSG_SPACE(sizeof(int))];
    struct iovec iov = {.iov_base = &byte, .iov_len = 1};
    struct msghdr m = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof ctl};
    struct cmsghdr *cm;
    struct stat st;
    ssize_t n;
    int fd = -1;
    do
        n = recvmsg(S.fd, &m, MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    if (n != 1)
        return -1;
    cm = CMSG_FIRSTHDR(&m);
    if (cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
        memcpy(&fd, CMSG_DATA(cm), sizeof fd);
    if (byte == 'M' && fd >= 0 && fstat(fd, &st) == 0 && st.st_size > 0) {
        void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
        if (p != MAP_FAILED) {
            S.shm = p;
            S.shm_len = (size_t)st.st_size;
        }
    }
    if (fd >= 0)
        close(fd);
    return 0;
}

static int hello(int rc, const char *err)
{
    wbuf w;
    w_init(&w, W_HELLO);
    w_i32(&w, rc);
    w_str(&w, err);
    rc = w_send(S.fd, &w);
    w_free(&w);
    return rc;
}

/* argv: relhost ISOLATE_SERVER_ARG KIND NAME PLAN VERSION COMMIT HASH [SET...]; the socket on
 * fd 0. HASH is the plan's (plan.h) as the host read it. */
static int load(int argc, char **argv)
{
    plan_options o = {0};
    const plan_step *st;
    if (argc < 8)
        return error_set(RELHOST_EINVAL, "plugin server: too few arguments");
    o.path = argv[4];
    o.version = argv[5];
    o.commit = argv[6][0] ? argv[6] : NULL;
    o.sets = argc > 8 ? (const char *const *)&argv[8] : NULL;
    o.host = iso_server_host();
    o.in_server = 1;
    if (plan_load(&o, &S.p) != 0)
        return RELHOST_EINVAL;
    if (!S.p.hash || strcmp(S.p.hash, argv[7]) != 0)
        return error_set(RELHOST_EINVAL,
                         "%s changed since relhost read it; run relhost again (the plan's "
                         "isolated plugins read the plan as relhost did, or not at all)",
                         argv[4]);
    if (strcmp(argv[2], "step") == 0 && (st = plan_find_step(&S.p, argv[3])))
        S.in = &st->inst;
    else if (strcmp(argv[2], "metrics") == 0)
        S.in = plan_find_metrics(&S.p, argv[3]);
    else if (strcmp(argv[2], "runner") == 0)
        S.in = plan_find_runner(&S.p, argv[3]);
    if (!S.in)
        return error_set(RELHOST_ENOTFOUND, "plugin server: no %s \"%s\" in %s", argv[2], argv[3],
                         argv[4]);
    return 0;
}

int isolate_server_main(int argc, char **argv)
{
    static const int fatal[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGSYS};
    int null;
    /* The host's death ends the server, even in the middle of a plugin's endless loop. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    /* A plugin's fatal signal kills the server, so the host sees the signal: no handler of a
     * runtime (a sanitizer's) turns it into an exit status. */
    for (size_t i = 0; i < sizeof fatal / sizeof fatal[0]; i++)
        signal(fatal[i], SIG_DFL);
    S.fd = fcntl(0, F_DUPFD_CLOEXEC, 3);
    null = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (S.fd < 0 || null < 0 || dup2(null, 0) < 0)
        return 2;
    close(null);
    setvbuf(stdout, NULL, _IOLBF, 0); /* a crash loses no finished line */
    log_init(-1, 0);                  /* the host already said what the plan load says */
    if (getppid() == 1 || recv_shm() != 0)
        _exit(2);
    if (load(argc, argv) != 0) {
        hello(RELHOST_EINVAL, error_last());
        _exit(2);
    }
    if (hello(0, NULL) != 0)
        _exit(0);
    for (;;) {
        rbuf r;
        int k = w_recv(S.fd, &r);
        if (k <= 0)
            break;
        if (k == W_OP)
            dispatch(&r);
        r_free(&r);
    }
    fflush(stdout);
    _exit(0);
}
