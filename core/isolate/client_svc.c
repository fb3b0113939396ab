/* SPDX-License-Identifier: MIT */
/*
 * client_svc.c - the host answers an isolated plugin's service calls (isolate.h) with the real
 * services table, in the ctx of the op in progress. Handles the plugin holds (processes, jobs)
 * are checked against the ones given to it: a server whose memory went bad cannot make the host
 * follow a wild pointer.
 */
#include "isolate/isolate_int.h"

#include "run/host.h"

#include <stdlib.h>
#include <string.h>

static void job_given(iso_conn *c, const relhost_job *j)
{
    if (c->njobs == c->capjobs) {
        c->capjobs = c->capjobs ? 2 * c->capjobs : 16;
        c->jobs = xrealloc(c->jobs, c->capjobs * sizeof *c->jobs);
    }
    c->jobs[c->njobs++] = (uint64_t)(uintptr_t)j;
}

static relhost_job *job_checked(const iso_conn *c, uint64_t h)
{
    for (size_t i = c->njobs; i-- > 0;)
        if (c->jobs[i] == h)
            return (relhost_job *)(uintptr_t)h;
    return NULL;
}

static struct relhost_proc *proc_checked(const iso_conn *c, uint32_t id)
{
    return id >= 1 && id <= c->nprocs ? c->procs[id - 1] : NULL;
}

void iso_client_kill_procs(iso_conn *c)
{
    const relhost_host *h = host_table();
    for (size_t i = 0; i < c->nprocs; i++)
        if (c->procs[i]) {
            h->proc_release(NULL, c->procs[i]); /* kills the tree first when it still runs */
            c->procs[i] = NULL;
        }
}

static int svc_job_submit(const relhost_ctx *ctx, iso_conn *c, rbuf *r, wbuf *w)
{
    relhost_job_request q = {.struct_size = sizeof q};
    relhost_map env, ra, vars;
    relhost_strlist pass, metrics;
    relhost_checks acc;
    rarena a = {0};
    relhost_job *job = NULL;
    uint32_t nexp;
    int *exp = NULL, rc;
    q.validation = r_str(r);
    q.runner = r_str(r);
    q.argv = r_strv(r, &a);
    q.env = r_map(r, &a, &env) ? &env : NULL;
    q.pass_env = r_strlist(r, &a, &pass) ? &pass : NULL;
    q.cwd = r_str(r);
    q.shell = r_i32(r);
    q.timeout_s = r_f64(r);
    q.retries = r_i32(r);
    q.nodes = r_i32(r);
    q.gpus = r_i32(r);
    q.runner_args = r_map(r, &a, &ra) ? &ra : NULL;
    q.metrics = r_strlist(r, &a, &metrics) ? &metrics : NULL;
    q.acceptance = r_checks(r, &a, &acc) ? &acc : NULL;
    q.expect_termination = r_str(r);
    nexp = r_u32(r);
    if (nexp != WIRE_NULL && nexp <= 4096) {
        exp = ra_alloc(&a, (nexp + 1) * sizeof *exp);
        for (uint32_t i = 0; i < nexp; i++)
            exp[i] = r_i32(r);
        q.expect_exit = exp;
        q.n_expect_exit = nexp;
    }
    q.vars = r_map(r, &a, &vars) ? &vars : NULL;
    q.repeats = r_i32(r);
    rc = r->bad ? RELHOST_EINVAL : host_table()->job_submit(ctx, &q, &job);
    if (rc == 0 && job)
        job_given(c, job);
    w_i32(w, rc);
    w_u64(w, (uint64_t)(uintptr_t)job);
    ra_free(&a);
    return 0;
}

static void svc_job_wait(const relhost_ctx *ctx, iso_conn *c, rbuf *r, wbuf *w)
{
    int any = r_i32(r);
    uint32_t n = r_u32(r);
    relhost_job **v;
    int rc = 0;
    if (r->bad || n > (r->n - r->off) / 8) {
        w_i32(w, RELHOST_EINVAL);
        return;
    }
    v = xcalloc((size_t)n + 1, sizeof *v);
    for (uint32_t i = 0; i < n && rc == 0; i++)
        if (!(v[i] = job_checked(c, r_u64(r))))
            rc = RELHOST_EINVAL;
    if (rc == 0)
        rc = host_table()->job_wait(ctx, v, n, any);
    free(v);
    w_i32(w, rc);
}

static void svc_job_result(const relhost_ctx *ctx, iso_conn *c, rbuf *r, wbuf *w)
{
    relhost_job_result k = {.struct_size = sizeof k};
    relhost_job *j = job_checked(c, r_u64(r));
    int rc = j ? host_table()->job_result(ctx, j, &k) : RELHOST_EINVAL;
    w_i32(w, rc);
    w_i32(w, k.finished);
    w_i32(w, (int32_t)k.outcome);
    w_str(w, k.reason);
    w_i32(w, k.retryable);
    w_i32(w, k.exit_code);
    w_str(w, k.termination_reason);
    w_i32(w, k.restarts);
    w_i32(w, k.attempts);
    w_f64(w, k.duration_s);
    w_str(w, k.log_path);
    w_str(w, k.external_id);
    w_i32(w, k.resumed);
}

static void svc_http(const relhost_ctx *ctx, rbuf *r, wbuf *w)
{
    relhost_http_request q = {.struct_size = sizeof q};
    relhost_http_response *resp = NULL;
    rarena a = {0};
    int rc;
    r_fields(r, &a, &q, wf_http_request, WF_COUNT(wf_http_request));
    q.body = r_bytes(r, &q.body_len);
    rc = r->bad ? RELHOST_EINVAL : host_table()->http_request(ctx, &q, &resp);
    w_i32(w, rc);
    w_i32(w, resp != NULL);
    if (resp) {
        w_i32(w, (int32_t)resp->status);
        w_i32(w, resp->attempts);
        w_bytes(w, resp->body ? resp->body : "", resp->body ? resp->body_len : 0);
        w_strv(w, resp->headers);
        host_table()->http_response_free(resp);
    }
    ra_free(&a);
}

static void svc_proc(int svc, const relhost_ctx *ctx, iso_conn *c, rbuf *r, wbuf *w)
{
    const relhost_host *h = host_table();
    relhost_proc_result res = {.struct_size = sizeof res};
    relhost_proc_spec spec;
    relhost_proc *p = NULL;
    rarena a = {0};
    int rc, done = 0;
    if (svc == S_PROC_RUN || svc == S_PROC_SPAWN) {
        iso_r_proc_spec(r, &a, &spec);
        if (r->bad) {
            rc = RELHOST_EINVAL;
        } else if (svc == S_PROC_RUN) {
            rc = h->proc_run(ctx, &spec, &res);
        } else if ((rc = h->proc_spawn(ctx, &spec, &p)) == 0) {
            c->procs = xrealloc(c->procs, (c->nprocs + 1) * sizeof *c->procs);
            c->procs[c->nprocs++] = p;
        }
        w_i32(w, rc);
        if (svc == S_PROC_RUN)
            iso_w_proc_result(w, &res, 1);
        else
            w_u64(w, rc == 0 ? (uint64_t)c->nprocs : 0);
        h->proc_result_free(&res);
        ra_free(&a);
        return;
    }
    {
        uint32_t id = r_u32(r);
        p = proc_checked(c, id);
        if (!p) {
            rc = RELHOST_EINVAL;
        } else if (svc == S_PROC_POLL) {
            rc = h->proc_poll(ctx, p, &done, &res);
        } else if (svc == S_PROC_KILL) {
            rc = h->proc_kill(ctx, p);
        } else {
            h->proc_release(ctx, p);
            c->procs[id - 1] = NULL;
            rc = 0;
        }
        w_i32(w, rc);
        if (svc == S_PROC_POLL) {
            w_i32(w, done);
            iso_w_proc_result(w, &res, 0);
        }
    }
}

static void svc_evidence(int svc, const relhost_ctx *ctx, rbuf *r, wbuf *w)
{
    const relhost_host *h = host_table();
    int rc = 0;
    if (svc == S_CHECK_ADD) {
        relhost_check k = {.struct_size = sizeof k};
        r_fields(r, NULL, &k, wf_check, WF_COUNT(wf_check));
        rc = r->bad ? RELHOST_EINVAL : h->check_add(ctx, &k);
    } else if (svc == S_METRIC_SET) {
        relhost_metric_info mi = {.struct_size = sizeof mi};
        const char *key = r_str(r);
        double v = r_f64(r);
        int has = r_i32(r);
        mi.source = r_str(r);
        mi.pattern = r_str(r);
        mi.reducer = r_str(r);
        mi.samples = r_u64(r);
        rc = r->bad ? RELHOST_EINVAL : h->metric_set(ctx, key, v, has ? &mi : NULL);
    } else if (svc == S_LABEL_SET) {
        const char *k = r_str(r), *v = r_str(r);
        rc = r->bad ? RELHOST_EINVAL : h->label_set(ctx, k, v);
    } else if (svc == S_ARTIFACT_ADD) {
        const char *kind = r_str(r), *uri = r_str(r), *sha = r_str(r);
        rc = r->bad ? RELHOST_EINVAL : h->artifact_add(ctx, kind, uri, sha);
    } else {
        const char *s = r_str(r);
        rc = r->bad ? RELHOST_EINVAL : h->note_add(ctx, "%s", s ? s : "");
    }
    w_i32(w, rc);
}

static void svc_checks(int svc, const relhost_ctx *ctx, rbuf *r, wbuf *w)
{
    relhost_checks chk, *cp;
    relhost_strlist src, *sp = NULL;
    relhost_verdict v = {.struct_size = sizeof v};
    rarena a = {0};
    const char *where;
    int rc;
    if (svc == S_CHECKS_VERIFY)
        sp = r_strlist(r, &a, &src) ? &src : NULL;
    cp = r_checks(r, &a, &chk) ? &chk : NULL;
    if (svc == S_CHECKS_EVAL) {
        rc = r->bad ? RELHOST_EINVAL : host_table()->checks_eval(ctx, cp, &v);
        w_i32(w, rc);
        w_i32(w, (int32_t)v.outcome);
        w_str(w, v.reason);
        w_i32(w, v.retryable);
    } else {
        where = r_str(r);
        rc = r->bad ? RELHOST_EINVAL : host_checks_verify_at(ctx, sp, cp, where);
        w_i32(w, rc);
    }
    ra_free(&a);
}

static void svc_misc(int svc, const relhost_ctx *ctx, rbuf *r, wbuf *w)
{
    const relhost_host *h = host_table();
    rarena a = {0};
    relhost_strlist l;
    const char *s, *t;
    char *out = NULL;
    int rc = 0, yes = 0;
    switch (svc) {
    case S_PROMPT:
        s = r_str(r);
        rc = h->prompt_yesno(ctx, s, &yes);
        w_i32(w, rc);
        w_u64(w, (uint64_t)yes);
        break;
    case S_EXPAND: {
        uint32_t n;
        const char **vars;
        s = r_str(r);
        n = r_u32(r);
        if (r->bad || n > (r->n - r->off) / 8) {
            w_i32(w, RELHOST_EINVAL);
            w_str(w, NULL);
            break;
        }
        vars = ra_alloc(&a, (2 * (size_t)n + 1) * sizeof *vars);
        for (uint32_t i = 0; i < 2 * n; i++)
            vars[i] = r_str(r);
        rc = h->expand(ctx, s, vars, n, &out);
        w_i32(w, rc);
        w_str(w, rc == 0 ? out : NULL);
        h->free(out);
        break;
    }
    case S_REG_STAGE:
        rc = h->registry_stage ? h->registry_stage(ctx, r_strlist(r, &a, &l) ? &l : NULL)
                               : RELHOST_ENOTSUP;
        w_i32(w, rc);
        break;
    case S_REG_PROMOTE:
        w_i32(w, h->registry_promote ? h->registry_promote(ctx) : RELHOST_ENOTSUP);
        break;
    case S_REG_QUARANTINE:
        s = r_str(r);
        w_i32(w, h->registry_quarantine ? h->registry_quarantine(ctx, s) : RELHOST_ENOTSUP);
        break;
    case S_JOB_REQUIRE: w_i32(w, h->job_require(ctx, r_str(r))); break;
    case S_SECRET: w_i32(w, 0), w_str(w, h->secret(ctx, r_str(r))); break;
    case S_SEALED: w_i32(w, h->sealed(ctx, r_str(r))); break;
    case S_RECORD_GET: w_i32(w, 0), w_str(w, h->record_get(ctx, r_str(r))); break;
    case S_RECORD_PUT:
        s = r_str(r);
        t = r_str(r);
        w_i32(w, h->record_put(ctx, s, t));
        break;
    default:
        h->fail(ctx,
                "the plugin asked for host service %d, which relhost does not offer to an "
                "isolated plugin yet; run it with isolate = false",
                svc);
        w_i32(w, RELHOST_ENOTSUP);
    }
    ra_free(&a);
}

void iso_client_serve(iso_conn *c, const relhost_ctx *ctx, rbuf *r)
{
    const relhost_host *h = host_table();
    int svc = (int)r_u32(r);
    wbuf w;
    w_init(&w, W_SVR);
    if (svc == S_LOG) {
        int level = r_i32(r);
        const char *s = r_str(r);
        h->log(ctx, (relhost_level)level, "%s", s ? s : "");
        w_i32(&w, 0);
    } else if (svc == S_FAIL) {
        const char *s = r_str(r);
        h->fail(ctx, "%s", s ? s : "");
        w_i32(&w, 0);
    } else if (svc >= S_CHECK_ADD && svc <= S_NOTE_ADD) {
        svc_evidence(svc, ctx, r, &w);
    } else if (svc == S_CHECKS_EVAL || svc == S_CHECKS_VERIFY) {
        svc_checks(svc, ctx, r, &w);
    } else if (svc >= S_PROC_RUN && svc <= S_PROC_RELEASE) {
        svc_proc(svc, ctx, c, r, &w);
    } else if (svc == S_JOB_SUBMIT) {
        svc_job_submit(ctx, c, r, &w);
    } else if (svc == S_JOB_WAIT) {
        svc_job_wait(ctx, c, r, &w);
    } else if (svc == S_JOB_RESULT) {
        svc_job_result(ctx, c, r, &w);
    } else if (svc == S_HTTP) {
        svc_http(ctx, r, &w);
    } else {
        svc_misc(svc, ctx, r, &w);
    }
    /* a server that died meanwhile is seen by the caller's next read */
    (void)w_send(c->fd, &w);
    w_free(&w);
}
