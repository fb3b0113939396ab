/* SPDX-License-Identifier: MIT */
/*
 * client_runner.c - the proxy ops of an isolated runner (isolate.h): each relhost_runner_ops
 * call goes to the runner's plugin server. The handle submit() stores stays in the server; the
 * host holds its number (iso_handle_ptr), so a server whose memory went bad cannot make the
 * host follow a pointer. A poll sends every job in one message and reads every status back from
 * one, through the field tables of wire.c; the host's array is read and written at its own
 * elem_size, and no member past an element's struct_size is written.
 */
#include "isolate/isolate.h"
#include "isolate/isolate_int.h"

#include "base/util.h"
#include "run/host.h"

#include <stdlib.h>
#include <string.h>

static int pr_open(const relhost_ctx *ctx, const void *conf, void **inst)
{
    return iso_proxy_open(OP_R_OPEN, ctx, conf, inst);
}

/* The runner's id, as the server sent it, into id (257 bytes). */
static void take_id(rbuf *r, char id[257])
{
    size_t n;
    const char *s = r_bytes(r, &n);
    if (!s || n > 256)
        n = 0;
    memcpy(id, s ? s : "", n);
    id[n] = '\0';
}

static int pr_submit(const relhost_ctx *ctx, void *inst, const relhost_job_spec *in, char id[257],
                     void **handle)
{
    iso_conn *c = inst;
    relhost_job_spec s;
    wbuf w;
    rbuf r;
    int rc;
    iso_copy_in(&s, sizeof s, in);
    iso_op_begin(&w, OP_R_SUBMIT, ctx);
    w_fields(&w, &s, wf_job_spec, WF_COUNT(wf_job_spec));
    w_map(&w, &s.runner_args);
    if ((rc = iso_call(c, ctx, "submit", &w, &r)) != 0)
        return rc;
    rc = r_i32(&r);
    take_id(&r, id);
    *handle = iso_handle_ptr(r_u32(&r));
    if (r.bad) {
        *handle = NULL;
        rc = RELHOST_EIO;
    }
    r_free(&r);
    return rc;
}

static relhost_job_status *elem(relhost_job_status *jobs, size_t i, size_t elem_size)
{
    return (relhost_job_status *)(void *)((char *)jobs + i * elem_size);
}

/* The outputs of one status, decoded into a whole struct, copied into the host's element: from
 * `state` (the first output) up to the element's struct_size. */
static void status_out(relhost_job_status *dst, const relhost_job_status *got)
{
    size_t from = offsetof(relhost_job_status, state);
    size_t to = dst->struct_size < sizeof *dst ? dst->struct_size : sizeof *dst;
    if (to > from)
        memcpy((char *)dst + from, (const char *)got + from, to - from);
}

static int pr_poll(const relhost_ctx *ctx, void *inst, relhost_job_status *jobs, size_t n,
                   size_t elem_size, double *next_poll_s)
{
    iso_conn *c = inst;
    wbuf w;
    rbuf r;
    int rc;
    iso_op_begin(&w, OP_R_POLL, ctx);
    w_u32(&w, (uint32_t)n);
    for (size_t i = 0; i < n; i++) {
        relhost_job_status s;
        iso_copy_in(&s, sizeof s, elem(jobs, i, elem_size));
        w_fields(&w, &s, wf_job_status_in, WF_COUNT(wf_job_status_in));
        w_u32(&w, iso_handle_id(s.runner_handle));
    }
    if ((rc = iso_call(c, ctx, "poll", &w, &r)) != 0)
        return rc;
    rc = r_i32(&r);
    *next_poll_s = r_f64(&r);
    for (size_t i = 0; i < n && !r.bad; i++) {
        relhost_job_status got;
        memset(&got, 0, sizeof got);
        r_fields(&r, NULL, &got, wf_job_status_out, WF_COUNT(wf_job_status_out));
        if (!r.bad)
            status_out(elem(jobs, i, elem_size), &got);
    }
    if (r.bad && rc == 0) {
        host_table()->fail(ctx,
                           "the isolated process of runner plugin %s sent a malformed poll "
                           "answer; relhost polls again",
                           c->e->in->plugin_name);
        rc = RELHOST_EIO;
    }
    r_free(&r);
    return rc;
}

static int pr_find(const relhost_ctx *ctx, void *inst, const char *key, char id[257])
{
    iso_conn *c = inst;
    wbuf w;
    rbuf r;
    int rc;
    iso_op_begin(&w, OP_R_FIND, ctx);
    w_str(&w, key);
    if ((rc = iso_call(c, ctx, "find", &w, &r)) != 0)
        return rc;
    rc = r_i32(&r);
    take_id(&r, id);
    r_free(&r);
    return rc;
}

static int pr_read_log(const relhost_ctx *ctx, void *inst, const char *external_id, void *handle,
                       uint64_t offset, char *buf, size_t cap, size_t *got)
{
    iso_conn *c = inst;
    const char *bytes;
    size_t n = 0;
    wbuf w;
    rbuf r;
    int rc;
    *got = 0;
    iso_op_begin(&w, OP_R_READ_LOG, ctx);
    w_str(&w, external_id);
    w_u32(&w, iso_handle_id(handle));
    w_u64(&w, offset);
    w_u64(&w, cap < ISO_READ_LOG_MAX ? cap : ISO_READ_LOG_MAX);
    if ((rc = iso_call(c, ctx, "read_log", &w, &r)) != 0)
        return rc;
    rc = r_i32(&r);
    bytes = r_bytes(&r, &n);
    if (rc == 0 && bytes && n <= cap) {
        memcpy(buf, bytes, n);
        *got = n;
    } else if (rc == 0) {
        host_table()->fail(ctx,
                           "the isolated process of runner plugin %s sent more log bytes "
                           "than asked for; relhost reads again",
                           c->e->in->plugin_name);
        rc = RELHOST_EIO;
    }
    r_free(&r);
    return rc;
}

static int pr_cancel(const relhost_ctx *ctx, void *inst, const char *external_id, void *handle)
{
    iso_conn *c = inst;
    wbuf w;
    iso_op_begin(&w, OP_R_CANCEL, ctx);
    w_str(&w, external_id);
    w_u32(&w, iso_handle_id(handle));
    return iso_call_rc(c, ctx, "cancel", &w);
}

static int pr_cancel_many(const relhost_ctx *ctx, void *inst, const char *const *external_ids,
                          size_t n)
{
    iso_conn *c = inst;
    wbuf w;
    iso_op_begin(&w, OP_R_CANCEL_MANY, ctx);
    w_u32(&w, (uint32_t)n);
    for (size_t i = 0; i < n; i++)
        w_str(&w, external_ids[i]);
    return iso_call_rc(c, ctx, "cancel_many", &w);
}

static void pr_release(void *inst, void *handle)
{
    iso_conn *c = inst;
    wbuf w;
    if (!c || c->dead || !handle)
        return;
    iso_op_begin(&w, OP_R_RELEASE, NULL);
    w_u32(&w, iso_handle_id(handle));
    iso_call_rc(c, NULL, "release", &w);
}

static void pr_close(void *inst) { iso_proxy_close(OP_R_CLOSE, inst); }

void iso_runner_proxy(iso_entry *e)
{
    const relhost_runner_ops *real = e->real->desc.runner;
    memset(&e->rops, 0, sizeof e->rops);
    e->rops.struct_size = sizeof e->rops;
    e->rops.open = pr_open;
    e->rops.submit = pr_submit;
    e->rops.poll = pr_poll;
    e->rops.close = pr_close;
    /* what the job layer asks "does the runner have it" of, only when the plugin has it */
    if (RELHOST_HAS(real, find) && real->find)
        e->rops.find = pr_find;
    if (RELHOST_HAS(real, read_log) && real->read_log)
        e->rops.read_log = pr_read_log;
    if (RELHOST_HAS(real, cancel) && real->cancel)
        e->rops.cancel = pr_cancel;
    if (RELHOST_HAS(real, release) && real->release)
        e->rops.release = pr_release;
    if (RELHOST_HAS(real, cancel_many) && real->cancel_many)
        e->rops.cancel_many = pr_cancel_many;
}
