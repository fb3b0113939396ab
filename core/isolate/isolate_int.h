/* SPDX-License-Identifier: MIT */
/*
 * isolate_int.h - what the client (the host's side) and the server (the plugin's process) of an
 * isolated plugin instance agree on: the op and service numbers. See isolate.h for the design.
 */
#ifndef RELHOST_ISOLATE_INT_H
#define RELHOST_ISOLATE_INT_H

#include "isolate/wire.h"
#include "plan/plan.h"

/* The hidden argv[1] that turns relhost into a plugin server. */
#define ISOLATE_SERVER_ARG "--plugin-server-internal"

/* Ops: the client calls the plugin. */
enum iso_op {
    OP_GATE_OPEN = 1,
    OP_GATE_DESCRIBE,
    OP_GATE_RUN,
    OP_GATE_CLOSE,
    OP_M_OPEN,
    OP_M_JOB_OPEN,
    OP_M_FEED,
    OP_M_COLLECT,
    OP_M_JOB_CLOSE,
    OP_M_CLOSE,
    OP_M_KEYS,        /* before any instance: the keys the conf lets the source post */
    OP_M_CREDENTIALS, /* likewise: the variables it needs */
    OP_R_OPEN,
    OP_R_SUBMIT, /* the handle submit() stores stays in the server: the host gets its number */
    OP_R_POLL,   /* every job of the poll in one message, both ways */
    OP_R_FIND,
    OP_R_READ_LOG,
    OP_R_CANCEL,
    OP_R_RELEASE,
    OP_R_CLOSE,
    OP_R_CANCEL_MANY, /* ABI 1.5: the external ids in one message, in the order given */
    OP_M_PEEK         /* ABI 1.6: a running job's values, for display: rc, count, key/value pairs */
};

/* A runner's handle as the host holds it: the server's number for the plugin's pointer + 1
 * (NULL: none), never the pointer itself. */
static inline void *iso_handle_ptr(uint32_t id)
{
    return id == WIRE_NULL ? NULL : (void *)((uintptr_t)id + 1);
}
static inline uint32_t iso_handle_id(const void *h)
{
    return h ? (uint32_t)((uintptr_t)h - 1) : WIRE_NULL;
}
/* The most log bytes one read_log() asks the server for (a larger cap reads less: allowed). */
#define ISO_READ_LOG_MAX ((size_t)4 << 20)

/* Services: the plugin calls the host. Every reply starts with an i32 (rc or value). */
enum iso_svc {
    S_LOG = 1,
    S_FAIL,
    S_SECRET,
    S_SEALED,
    S_CHECK_ADD,
    S_METRIC_SET,
    S_LABEL_SET,
    S_ARTIFACT_ADD,
    S_NOTE_ADD,
    S_CHECKS_EVAL,
    S_PROC_RUN,
    S_PROC_SPAWN,
    S_PROC_POLL,
    S_PROC_KILL,
    S_PROC_RELEASE,
    S_JOB_SUBMIT,
    S_JOB_WAIT,
    S_JOB_RESULT,
    S_HTTP,
    S_PROMPT,
    S_EXPAND,
    S_REG_STAGE,
    S_REG_PROMOTE,
    S_REG_QUARANTINE,
    S_JOB_REQUIRE,
    S_CHECKS_VERIFY,
    S_RECORD_GET,
    S_RECORD_PUT
};

/* The plugin's view of a spawned process handle: the client's number for it. */
#define ISO_PROC_PTR(id) ((relhost_proc *)(uintptr_t)(id))
#define ISO_PROC_ID(p) ((uint32_t)(uintptr_t)(p))

/* proc specs and proc results, both ways */
void iso_w_proc_spec(wbuf *w, const relhost_proc_spec *s);
void iso_r_proc_spec(rbuf *r, rarena *a, relhost_proc_spec *s);
void iso_w_proc_result(wbuf *w, const relhost_proc_result *res, int with_output);
/* out and err, when sent, are malloc()ed copies (proc_result_free releases them) */
void iso_r_proc_result(rbuf *r, relhost_proc_result *res);

/* server.c: the process's one server (answers nested ops while waiting for a service) */
void iso_server_svc(wbuf *w, rbuf *reply);
const relhost_host *iso_server_host(void);
const char *iso_server_where(const void *field);

/* ---- the host's side (client.c, client_svc.c, client_runner.c) ---- */
struct relhost_proc;

typedef struct iso_entry {
    const plan *p;
    plan_instance *in;
    const char *kind; /* "step", "metrics" or "runner": how the server finds the instance */
    const loaded_plugin *real;
    loaded_plugin proxy;
    relhost_metrics_ops mops; /* proxy_metrics, less what the plugin does not offer */
    relhost_runner_ops rops;  /* likewise for a runner (client_runner.c) */
    struct iso_conn *conn;
    char *path, *version, *commit, *hash;
    strvec sets;
} iso_entry;

typedef struct iso_conn {
    struct iso_entry *e;
    int fd;
    struct relhost_proc *proc; /* the server */
    int dead;                  /* the server is gone: every call fails with dead_msg */
    const char *dead_reason;   /* plugin_crashed, plugin_exited, plugin_hung */
    char *dead_msg;
    struct relhost_proc **procs; /* processes started for the plugin, by id - 1 */
    size_t nprocs;
    uint64_t *jobs; /* job handles given to the plugin */
    size_t njobs, capjobs;
    strvec keep; /* strings handed to the host that live as long as the instance */
    /* metrics sources: feed() batches go through a buffer shared with the server (a memfd
     * mapped on both sides), so a log's bytes are copied once, not through the socket */
    char *shm;
    size_t shm_cap, shm_len;   /* shm_cap: one half of the mapping */
    int shm_half;              /* the half being filled (0 or 1) */
    struct iso_job *shm_owner; /* the job whose bytes the half being filled holds */
    /* The other half's batch was sent and its feed() runs in the server while this half fills:
     * its reply is read before the next op (client.c settle()). */
    int feed_pending;
    const relhost_ctx *pending_ctx;
    struct iso_job *pending_job;
} iso_conn;

/* client.c, for the ops of client_runner.c: begin an op message (ctx NULL: none); send it
 * (freed) and wait for its results in *r (0, or a negative code: the fault explained, c->dead
 * set when the server is gone); the same when the only result is the rc. */
void iso_op_begin(wbuf *w, int op, const relhost_ctx *ctx);
int iso_call(iso_conn *c, const relhost_ctx *ctx, const char *name, wbuf *op, rbuf *r);
int iso_call_rc(iso_conn *c, const relhost_ctx *ctx, const char *name, wbuf *op);
/* open (the server started if need be) and close of an instance of any kind */
int iso_proxy_open(int op, const relhost_ctx *ctx, const void *conf, void **inst);
void iso_proxy_close(int op, void *inst);
/* The proxy runner ops for entry e, less what its plugin does not offer (client_runner.c). */
void iso_runner_proxy(iso_entry *e);

/* Answer one service request of the plugin (r: after the kind) in ctx; reply sent. */
void iso_client_serve(iso_conn *c, const relhost_ctx *ctx, rbuf *r);
/* Kill and release every process started for the plugin. */
void iso_client_kill_procs(iso_conn *c);

#endif
