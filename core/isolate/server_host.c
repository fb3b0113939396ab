/* SPDX-License-Identifier: MIT */
/*
 * server_host.c - the services table a plugin sees inside its plugin server: every service is
 * sent to the host (the client) and answered there with the real table, in the context of the op
 * in progress; strerror, free, where and the *_free services are answered here.
 */
#include "isolate/isolate_int.h"
#include "run/proc.h"

#include "run/host.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* Strings the host hands out "for the run" (secrets, job results): kept until the server ends. */
static strvec keep;
/* record_get's answer: valid until the next record_get or record_put. */
static char *last_record;

static const char *kept(const char *s)
{
    if (!s)
        return NULL;
    sv_push(&keep, s);
    return keep.v[keep.n - 1];
}

/* One service round trip: w (W_SVC) out, the reply into *r; the i32 it starts with returned. */
static int call(wbuf *w, rbuf *r)
{
    iso_server_svc(w, r);
    w_free(w);
    return r_i32(r);
}

/* call() for a service whose answer is its return code and one 64-bit value (a handle, a
 * flag): *v gets it whatever the code, the message is freed. */
static int call_value(wbuf *w, uint64_t *v)
{
    rbuf r;
    int rc = call(w, &r);
    *v = r_u64(&r);
    r_free(&r);
    return rc;
}

static void svc_begin(wbuf *w, int svc, const relhost_ctx *ctx)
{
    w_init(w, W_SVC);
    w_u32(w, (uint32_t)svc);
    (void)ctx; /* the host answers with the ctx of the op in progress */
}

static int simple(wbuf *w)
{
    rbuf r;
    int rc = call(w, &r);
    r_free(&r);
    return rc;
}

/* The services whose argument is a text the plugin formats (log after its level, fail,
 * note_add): formatted here, sent whole. */
static int text_call(int svc, const relhost_ctx *ctx, const int32_t *level, const char *fmt,
                     va_list ap)
{
    wbuf w;
    char *s = xvasprintf(fmt, ap);
    svc_begin(&w, svc, ctx);
    if (level)
        w_i32(&w, *level);
    w_str(&w, s);
    free(s);
    return simple(&w);
}

static void h_log(const relhost_ctx *ctx, relhost_level level, const char *fmt, ...)
{
    int32_t lv = (int32_t)level;
    va_list ap;
    va_start(ap, fmt);
    text_call(S_LOG, ctx, &lv, fmt, ap);
    va_end(ap);
}

static void h_fail(const relhost_ctx *ctx, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    text_call(S_FAIL, ctx, NULL, fmt, ap);
    va_end(ap);
}

static int h_note_add(const relhost_ctx *ctx, const char *fmt, ...)
{
    va_list ap;
    int rc;
    va_start(ap, fmt);
    rc = text_call(S_NOTE_ADD, ctx, NULL, fmt, ap);
    va_end(ap);
    return rc;
}

static const char *h_where(const relhost_ctx *ctx, const void *field)
{
    (void)ctx;
    return iso_server_where(field);
}

/* A service whose one argument is a string and whose answer is its return code. */
static int str_simple(int svc, const relhost_ctx *ctx, const char *arg)
{
    wbuf w;
    svc_begin(&w, svc, ctx);
    w_str(&w, arg);
    return simple(&w);
}

/* A service whose one argument is a string and whose answer is a code and a value. */
static int str_value(int svc, const relhost_ctx *ctx, const char *arg, uint64_t *v)
{
    wbuf w;
    svc_begin(&w, svc, ctx);
    w_str(&w, arg);
    return call_value(&w, v);
}

static const char *str_call(int svc, const relhost_ctx *ctx, const char *arg, int keep_it)
{
    wbuf w;
    rbuf r;
    const char *s;
    svc_begin(&w, svc, ctx);
    w_str(&w, arg);
    call(&w, &r);
    s = r_str(&r);
    if (keep_it) {
        s = kept(s);
    } else {
        free(last_record);
        last_record = s ? xstrdup(s) : NULL;
        s = last_record;
    }
    r_free(&r);
    return s;
}

static const char *h_secret(const relhost_ctx *ctx, const char *name)
{
    return str_call(S_SECRET, ctx, name, 1);
}

static const char *h_record_get(const relhost_ctx *ctx, const char *key)
{
    return str_call(S_RECORD_GET, ctx, key, 0);
}

static int h_sealed(const relhost_ctx *ctx, const char *name)
{
    return str_simple(S_SEALED, ctx, name);
}

static int h_check_add(const relhost_ctx *ctx, const relhost_check *c)
{
    relhost_check k;
    wbuf w;
    if (!c)
        return RELHOST_EINVAL;
    iso_copy_in(&k, sizeof k, c);
    svc_begin(&w, S_CHECK_ADD, ctx);
    w_fields(&w, &k, wf_check, WF_COUNT(wf_check));
    return simple(&w);
}

static int h_metric_set(const relhost_ctx *ctx, const char *key, double value,
                        const relhost_metric_info *info)
{
    relhost_metric_info mi;
    wbuf w;
    iso_copy_in(&mi, sizeof mi, info);
    svc_begin(&w, S_METRIC_SET, ctx);
    w_str(&w, key);
    w_f64(&w, value);
    w_i32(&w, info != NULL);
    w_str(&w, mi.source);
    w_str(&w, mi.pattern);
    w_str(&w, mi.reducer);
    w_u64(&w, mi.samples);
    return simple(&w);
}

static int two_str(int svc, const relhost_ctx *ctx, const char *a, const char *b)
{
    wbuf w;
    svc_begin(&w, svc, ctx);
    w_str(&w, a);
    w_str(&w, b);
    return simple(&w);
}

static int h_label_set(const relhost_ctx *ctx, const char *key, const char *value)
{
    return two_str(S_LABEL_SET, ctx, key, value);
}

static int h_record_put(const relhost_ctx *ctx, const char *key, const char *value)
{
    free(last_record);
    last_record = NULL;
    return two_str(S_RECORD_PUT, ctx, key, value);
}

static int h_artifact_add(const relhost_ctx *ctx, const char *kind, const char *uri,
                          const char *sha256)
{
    wbuf w;
    svc_begin(&w, S_ARTIFACT_ADD, ctx);
    w_str(&w, kind);
    w_str(&w, uri);
    w_str(&w, sha256);
    return simple(&w);
}

static int h_checks_eval(const relhost_ctx *ctx, const relhost_checks *checks, relhost_verdict *out)
{
    wbuf w;
    rbuf r;
    int rc, oc, retry;
    const char *reason;
    svc_begin(&w, S_CHECKS_EVAL, ctx);
    w_checks(&w, checks);
    rc = call(&w, &r);
    oc = r_i32(&r);
    reason = r_str(&r);
    retry = r_i32(&r);
    if (out) {
        out->outcome = (relhost_outcome)oc;
        if (RELHOST_HAS(out, reason))
            out->reason = kept(reason);
        if (RELHOST_HAS(out, retryable))
            out->retryable = retry;
    }
    r_free(&r);
    return rc;
}

static int h_proc_run(const relhost_ctx *ctx, const relhost_proc_spec *spec,
                      relhost_proc_result *res)
{
    wbuf w;
    rbuf r;
    int rc;
    svc_begin(&w, S_PROC_RUN, ctx);
    iso_w_proc_spec(&w, spec);
    rc = call(&w, &r);
    iso_r_proc_result(&r, res);
    r_free(&r);
    return rc;
}

static int h_proc_spawn(const relhost_ctx *ctx, const relhost_proc_spec *spec, relhost_proc **out)
{
    wbuf w;
    uint64_t id;
    int rc;
    svc_begin(&w, S_PROC_SPAWN, ctx);
    iso_w_proc_spec(&w, spec);
    rc = call_value(&w, &id);
    if (out)
        *out = rc == 0 ? ISO_PROC_PTR((uint32_t)id) : NULL;
    return rc;
}

static int h_proc_poll(const relhost_ctx *ctx, relhost_proc *p, int *done, relhost_proc_result *res)
{
    wbuf w;
    rbuf r;
    int rc, d;
    svc_begin(&w, S_PROC_POLL, ctx);
    w_u32(&w, ISO_PROC_ID(p));
    rc = call(&w, &r);
    d = r_i32(&r);
    if (done)
        *done = d;
    if (res)
        iso_r_proc_result(&r, res);
    r_free(&r);
    return rc;
}

static int h_proc_kill(const relhost_ctx *ctx, relhost_proc *p)
{
    wbuf w;
    svc_begin(&w, S_PROC_KILL, ctx);
    w_u32(&w, ISO_PROC_ID(p));
    return simple(&w);
}

static void h_proc_release(const relhost_ctx *ctx, relhost_proc *p)
{
    wbuf w;
    svc_begin(&w, S_PROC_RELEASE, ctx);
    w_u32(&w, ISO_PROC_ID(p));
    simple(&w);
}

static int h_job_submit(const relhost_ctx *ctx, const relhost_job_request *rq, relhost_job **out)
{
    relhost_job_request q;
    wbuf w;
    int rc;
    uint64_t h;
    if (!rq)
        return RELHOST_EINVAL;
    iso_copy_in(&q, sizeof q, rq);
    svc_begin(&w, S_JOB_SUBMIT, ctx);
    w_str(&w, q.validation);
    w_str(&w, q.runner);
    w_strv(&w, q.argv);
    w_map(&w, q.env);
    w_strlist(&w, q.pass_env);
    w_str(&w, q.cwd);
    w_i32(&w, q.shell);
    w_f64(&w, q.timeout_s);
    w_i32(&w, q.retries);
    w_i32(&w, q.nodes);
    w_i32(&w, q.gpus);
    w_map(&w, q.runner_args);
    w_strlist(&w, q.metrics);
    w_checks(&w, q.acceptance);
    w_str(&w, q.expect_termination);
    w_u32(&w, q.expect_exit ? (uint32_t)q.n_expect_exit : WIRE_NULL);
    for (size_t i = 0; q.expect_exit && i < q.n_expect_exit; i++)
        w_i32(&w, q.expect_exit[i]);
    w_map(&w, q.vars);
    w_i32(&w, q.repeats);
    rc = call_value(&w, &h);
    if (out)
        *out = rc == 0 ? (relhost_job *)(uintptr_t)h : NULL;
    return rc;
}

static int h_job_wait(const relhost_ctx *ctx, relhost_job *const *jobs, size_t n, int any)
{
    wbuf w;
    svc_begin(&w, S_JOB_WAIT, ctx);
    w_i32(&w, any);
    w_u32(&w, (uint32_t)n);
    for (size_t i = 0; i < n; i++)
        w_u64(&w, (uint64_t)(uintptr_t)jobs[i]);
    return simple(&w);
}

static int h_job_result(const relhost_ctx *ctx, const relhost_job *job, relhost_job_result *out)
{
    relhost_job_result k;
    wbuf w;
    rbuf r;
    int rc;
    svc_begin(&w, S_JOB_RESULT, ctx);
    w_u64(&w, (uint64_t)(uintptr_t)job);
    rc = call(&w, &r);
    memset(&k, 0, sizeof k);
    k.struct_size = sizeof k;
    k.finished = r_i32(&r);
    k.outcome = (relhost_outcome)r_i32(&r);
    k.reason = kept(r_str(&r));
    k.retryable = r_i32(&r);
    k.exit_code = r_i32(&r);
    k.termination_reason = kept(r_str(&r));
    k.restarts = r_i32(&r);
    k.attempts = r_i32(&r);
    k.duration_s = r_f64(&r);
    k.log_path = kept(r_str(&r));
    k.external_id = kept(r_str(&r));
    k.resumed = r_i32(&r);
    r_free(&r);
    if (out && out->struct_size) {
        size_t sz = out->struct_size < sizeof k ? out->struct_size : sizeof k;
        k.struct_size = out->struct_size;
        memcpy(out, &k, sz);
    }
    return rc;
}

static int h_http_request(const relhost_ctx *ctx, const relhost_http_request *rq,
                          relhost_http_response **out)
{
    relhost_http_request q;
    relhost_http_response *resp;
    rarena a = {0};
    const char *const *hd;
    const char *body;
    size_t blen;
    wbuf w;
    rbuf r;
    int rc;
    if (out)
        *out = NULL;
    if (!rq)
        return RELHOST_EINVAL;
    iso_copy_in(&q, sizeof q, rq);
    svc_begin(&w, S_HTTP, ctx);
    w_fields(&w, &q, wf_http_request, WF_COUNT(wf_http_request));
    if (q.body)
        w_bytes(&w, q.body, q.body_len);
    else
        w_str(&w, NULL);
    rc = call(&w, &r);
    if (r_i32(&r) && out) {
        size_t nh = 0;
        char **hv;
        resp = xcalloc(1, sizeof *resp);
        resp->struct_size = sizeof *resp;
        resp->status = (long)r_i32(&r);
        resp->attempts = r_i32(&r);
        body = r_bytes(&r, &blen);
        resp->body = xmalloc(blen + 1);
        memcpy(resp->body, body ? body : "", blen);
        resp->body[blen] = '\0';
        resp->body_len = blen;
        hd = r_strv(&r, &a);
        while (hd && hd[nh])
            nh++;
        hv = xcalloc(nh + 1, sizeof *hv);
        for (size_t i = 0; i < nh; i++)
            hv[i] = xstrdup(hd[i] ? hd[i] : "");
        resp->headers = (const char *const *)hv;
        *out = resp;
    }
    ra_free(&a);
    r_free(&r);
    return rc;
}

static void h_http_response_free(relhost_http_response *resp)
{
    if (!resp)
        return;
    for (size_t i = 0; resp->headers && resp->headers[i]; i++)
        free((char *)resp->headers[i]);
    free((void *)resp->headers);
    free(resp->body);
    free(resp);
}

static int h_prompt_yesno(const relhost_ctx *ctx, const char *question, int *yes)
{
    uint64_t y = 0;
    int rc = str_value(S_PROMPT, ctx, question, &y);
    if (yes)
        *yes = (int)y;
    return rc;
}

static int h_expand(const relhost_ctx *ctx, const char *tmpl, const char *const *vars, size_t n,
                    char **out)
{
    wbuf w;
    rbuf r;
    int rc;
    const char *s;
    svc_begin(&w, S_EXPAND, ctx);
    w_str(&w, tmpl);
    w_u32(&w, (uint32_t)n);
    for (size_t i = 0; i < 2 * n; i++)
        w_str(&w, vars[i]);
    rc = call(&w, &r);
    s = r_str(&r);
    if (out)
        *out = rc == 0 && s ? xstrdup(s) : NULL;
    r_free(&r);
    return rc;
}

static void h_free(void *p) { free(p); }

static int h_registry_stage(const relhost_ctx *ctx, const relhost_strlist *artifacts)
{
    wbuf w;
    svc_begin(&w, S_REG_STAGE, ctx);
    w_strlist(&w, artifacts);
    return simple(&w);
}

static int h_registry_promote(const relhost_ctx *ctx)
{
    wbuf w;
    svc_begin(&w, S_REG_PROMOTE, ctx);
    return simple(&w);
}

static int h_registry_quarantine(const relhost_ctx *ctx, const char *reason)
{
    return str_simple(S_REG_QUARANTINE, ctx, reason);
}

static int h_job_require(const relhost_ctx *ctx, const char *validation)
{
    return str_simple(S_JOB_REQUIRE, ctx, validation);
}

static int h_checks_verify(const relhost_ctx *ctx, const relhost_strlist *sources,
                           const relhost_checks *acceptance, const void *where_field)
{
    wbuf w;
    svc_begin(&w, S_CHECKS_VERIFY, ctx);
    w_strlist(&w, sources);
    w_checks(&w, acceptance);
    w_str(&w, iso_server_where(where_field));
    return simple(&w);
}

static const char *h_strerror(int code) { return host_table()->strerror(code); }

/* what the server's own copy allocated */
#define h_proc_result_free proc_result_free
#define H(m) HOST_TABLE_ENTRY_(h_, m)
static const relhost_host server_host = HOST_TABLE(H);
#undef H

const relhost_host *iso_server_host(void) { return &server_host; }
