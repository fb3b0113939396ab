/* SPDX-License-Identifier: MIT */
#include "run/host.h"

#include "base/error.h"
#include "base/log.h"
#include "base/secrets.h"
#include "base/util.h"
#include "net/http.h"
#include "plan/template.h"
#include "run/checks.h"
#include "run/jobs.h"
#include "run/loop.h"
#include "run/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

static hostctx *hc_of(const relhost_ctx *ctx) { return ctx ? (hostctx *)ctx->host_private : NULL; }

void hostctx_init(hostctx *hc, const relhost_ctx *base, const char *plugin, const char *step,
                  evidence *ev, const optstore *store)
{
    memset(hc, 0, sizeof *hc);
    hc->pub = *base;
    hc->pub.struct_size = sizeof hc->pub;
    hc->pub.step = step;
    hc->pub.host_private = hc;
    hc->ev = ev;
    hc->store = store;
    if (step && plugin && strcmp(step, plugin) != 0)
        snprintf(hc->prefix, sizeof hc->prefix, "%s/%s", plugin, step);
    else
        snprintf(hc->prefix, sizeof hc->prefix, "%s", plugin ? plugin : (step ? step : ""));
}

void hostctx_fail(hostctx *hc, const char *msg)
{
    free(hc->fail_msg);
    hc->fail_msg = secrets_redact_dup(msg);
}

char *hostctx_take_fail(hostctx *hc)
{
    char *m = hc->fail_msg;
    hc->fail_msg = NULL;
    return m;
}

void hostctx_fini(hostctx *hc)
{
    free(hc->fail_msg);
    free(hc->req_slots);
    hc->req_slots = NULL;
    hc->req_cap = 0;
}

static void svc_log(const relhost_ctx *ctx, relhost_level level, const char *fmt, ...)
{
    hostctx *hc = hc_of(ctx);
    va_list ap;
    va_start(ap, fmt);
    log_vmsg(level, hc ? hc->prefix : "plugin", fmt, ap);
    va_end(ap);
}

static void svc_fail(const relhost_ctx *ctx, const char *fmt, ...)
{
    hostctx *hc = hc_of(ctx);
    char *s;
    va_list ap;
    va_start(ap, fmt);
    s = xvasprintf(fmt, ap);
    va_end(ap);
    if (!hc) {
        log_msg(RELHOST_LOG_ERROR, "plugin", "%s", s);
        free(s);
        return;
    }
    free(hc->fail_msg);
    hc->fail_msg = secrets_redact_dup(s);
    free(s);
}

static const char *svc_where(const relhost_ctx *ctx, const void *field)
{
    hostctx *hc = hc_of(ctx);
    const char *w = hc ? optstore_where(hc->store, field) : NULL;
    return w ? w : "the plan";
}

static const char *svc_secret(const relhost_ctx *ctx, const char *name)
{
    (void)ctx;
    return secrets_getenv(name);
}

static int svc_sealed(const relhost_ctx *ctx, const char *name)
{
    (void)ctx;
    return secrets_sealed(name);
}

static int need_ev(const relhost_ctx *ctx, const char *what)
{
    hostctx *hc = hc_of(ctx);
    if (hc && hc->ev)
        return 0;
    log_msg(RELHOST_LOG_WARN, hc ? hc->prefix : "plugin",
            "%s outside a step or job is ignored (plugin bug)", what);
    return RELHOST_EINVAL;
}

static int svc_check_add(const relhost_ctx *ctx, const relhost_check *c)
{
    relhost_check k;
    if (!c || need_ev(ctx, "check_add"))
        return RELHOST_EINVAL;
    memset(&k, 0, sizeof k);
    memcpy(&k, c, c->struct_size < sizeof k ? c->struct_size : sizeof k);
    evidence_check(hc_of(ctx)->ev, &k);
    return 0;
}

static int svc_metric_set(const relhost_ctx *ctx, const char *key, double value,
                          const relhost_metric_info *info)
{
    relhost_metric_info mi;
    hostctx *hc = hc_of(ctx);
    const ev_metric *old;
    ev_metric *m;
    if (!key || need_ev(ctx, "metric_set"))
        return RELHOST_EINVAL;
    memset(&mi, 0, sizeof mi);
    if (info)
        memcpy(&mi, info, info->struct_size < sizeof mi ? info->struct_size : sizeof mi);
    if (!mi.source)
        mi.source = hc->source;
    /* Metrics of several sources merge; a key two of them provide goes to the higher
     * priority, and at equal priority it is a conflict the plan must settle. */
    old = evidence_find_metric(hc->ev, key);
    if (old && hc->source && old->source && strcmp(old->source, hc->source) != 0) {
        if (old->priority > hc->source_priority)
            return 0;
        if (old->priority == hc->source_priority) {
            char *n = xasprintf("metric %s is provided by both metrics sources %s and %s; give "
                                "one a higher `priority` in the plan's metrics group",
                                key, old->source, hc->source);
            evidence_note(hc->ev, n);
            free(n);
            hc->conflicts++;
            return 0;
        }
    }
    evidence_metric(hc->ev, key, value, mi.source, mi.pattern, mi.reducer, mi.samples);
    m = (ev_metric *)evidence_find_metric(hc->ev, key);
    if (m)
        m->priority = hc->source_priority;
    return 0;
}

static int svc_label_set(const relhost_ctx *ctx, const char *key, const char *value)
{
    if (!key || !value || need_ev(ctx, "label_set"))
        return RELHOST_EINVAL;
    evidence_label(hc_of(ctx)->ev, key, value);
    return 0;
}

static int svc_artifact_add(const relhost_ctx *ctx, const char *kind, const char *uri,
                            const char *sha256)
{
    if (!uri || need_ev(ctx, "artifact_add"))
        return RELHOST_EINVAL;
    evidence_artifact(hc_of(ctx)->ev, kind, uri, sha256);
    return 0;
}

static int svc_note_add(const relhost_ctx *ctx, const char *fmt, ...)
{
    strbuf b;
    va_list ap;
    if (need_ev(ctx, "note_add"))
        return RELHOST_EINVAL;
    sb_init(&b);
    va_start(ap, fmt);
    sb_vprintf(&b, fmt, ap);
    va_end(ap);
    evidence_note(hc_of(ctx)->ev, b.s);
    sb_free(&b);
    return 0;
}

static int svc_checks_eval(const relhost_ctx *ctx, const relhost_checks *checks,
                           relhost_verdict *out)
{
    if (!out || need_ev(ctx, "checks_eval"))
        return RELHOST_EINVAL;
    /* steps have the run's job layer, and with it the baseline store; --check has neither */
    jobs_checks_eval(hc_of(ctx)->jobs, ctx->step, hc_of(ctx)->ev, checks, out);
    return 0;
}

static int svc_proc_run(const relhost_ctx *ctx, const relhost_proc_spec *spec,
                        relhost_proc_result *res)
{
    relhost_proc_spec s;
    int rc;
    memset(&s, 0, sizeof s);
    memcpy(&s, spec, spec->struct_size < sizeof s ? spec->struct_size : sizeof s);
    memset(res, 0, sizeof *res);
    res->struct_size = sizeof *res;
    if (!s.argv || !s.argv[0]) {
        svc_fail(ctx, "proc_run: empty argv");
        return RELHOST_EINVAL;
    }
    if (log_verbosity() > 0) {
        strbuf b;
        sb_init(&b);
        for (size_t i = 0; s.argv[i]; i++)
            sb_printf(&b, "%s%s", i ? " " : "", s.argv[i]);
        log_msg(RELHOST_LOG_DEBUG, hc_of(ctx) ? hc_of(ctx)->prefix : "", "run: %s", b.s);
        sb_free(&b);
    }
    if (hc_of(ctx) && hc_of(ctx)->no_release_tag)
        proc_tag_suspend(1);
    rc = proc_run(&s, res);
    if (hc_of(ctx) && hc_of(ctx)->no_release_tag)
        proc_tag_suspend(0);
    if (rc != 0 && rc != RELHOST_EINTR)
        svc_fail(ctx, "%s", error_last());
    return rc;
}

static int svc_proc_spawn(const relhost_ctx *ctx, const relhost_proc_spec *spec, relhost_proc **out)
{
    relhost_proc_spec s;
    int rc;
    memset(&s, 0, sizeof s);
    memcpy(&s, spec, spec->struct_size < sizeof s ? spec->struct_size : sizeof s);
    if (hc_of(ctx) && hc_of(ctx)->no_release_tag)
        proc_tag_suspend(1);
    rc = proc_spawn(&s, NULL, out);
    if (hc_of(ctx) && hc_of(ctx)->no_release_tag)
        proc_tag_suspend(0);
    if (rc != 0)
        svc_fail(ctx, "%s", error_last());
    return rc;
}

static int svc_proc_poll(const relhost_ctx *ctx, relhost_proc *p, int *done,
                         relhost_proc_result *res)
{
    (void)ctx;
    return proc_poll(p, done, res);
}

static int svc_proc_kill(const relhost_ctx *ctx, relhost_proc *p)
{
    (void)ctx;
    return proc_kill(p);
}

static void svc_proc_release(const relhost_ctx *ctx, relhost_proc *p)
{
    (void)ctx;
    proc_release(p);
}

/* ---- prompt: read a line from the terminal while the loop keeps serving signals ---- */

struct prompt_state {
    char line[256];
    size_t len;
    int done, eof;
};

static void on_tty(int fd, short revents, void *arg)
{
    struct prompt_state *ps = arg;
    char c;
    (void)revents;
    while (!ps->done) {
        ssize_t n = read(fd, &c, 1);
        if (n == 0) {
            ps->eof = ps->done = 1;
        } else if (n < 0) {
            if (errno != EAGAIN && errno != EINTR)
                ps->eof = ps->done = 1;
            return;
        } else if (c == '\n') {
            ps->done = 1;
        } else if (ps->len + 1 < sizeof ps->line) {
            ps->line[ps->len++] = c;
        }
    }
}

static int svc_prompt_yesno(const relhost_ctx *ctx, const char *question, int *yes)
{
    struct prompt_state ps;
    int fd, rc = 0;
    if (!ctx || !ctx->interactive)
        return RELHOST_ENOTSUP;
    fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return RELHOST_ENOTSUP;
    for (;;) {
        char *q = xasprintf("%s [y/n] ", question);
        char *red = secrets_redact_dup(q);
        ssize_t wr = write(fd, red, strlen(red));
        (void)wr;
        free(q);
        free(red);
        memset(&ps, 0, sizeof ps);
        loop_watch_fd(fd, POLLIN, on_tty, &ps);
        while (!ps.done && !loop_interrupted())
            loop_once(-1);
        loop_unwatch_fd(fd);
        if (loop_interrupted()) {
            rc = RELHOST_EINTR;
            break;
        }
        if (ps.eof) {
            rc = RELHOST_ENOTSUP;
            break;
        }
        ps.line[ps.len] = '\0';
        if (strcmp(ps.line, "y") == 0 || strcmp(ps.line, "Y") == 0 || strcmp(ps.line, "yes") == 0 ||
            strcmp(ps.line, "YES") == 0 || strcmp(ps.line, "Yes") == 0) {
            *yes = 1;
            break;
        }
        if (strcmp(ps.line, "n") == 0 || strcmp(ps.line, "N") == 0 || strcmp(ps.line, "no") == 0 ||
            strcmp(ps.line, "NO") == 0 || strcmp(ps.line, "No") == 0) {
            *yes = 0;
            break;
        }
        {
            static const char again[] = "please answer y or n\n";
            wr = write(fd, again, sizeof again - 1);
            (void)wr;
        }
    }
    close(fd);
    return rc;
}

static int svc_expand(const relhost_ctx *ctx, const char *tmpl, const char *const *vars, size_t n,
                      char **out)
{
    int rc;
    if (ctx && ctx->step)
        template_set("step", ctx->step);
    rc = template_expand(tmpl, vars, n, 0, out);
    if (rc != 0)
        svc_fail(ctx, "%s", error_last());
    return rc;
}

static void svc_free(void *p) { free(p); }

static int no_jobs(const relhost_ctx *ctx)
{
    svc_fail(ctx, "jobs can only be submitted by a step during a run");
    return RELHOST_ENOTSUP;
}

static int svc_job_submit(const relhost_ctx *ctx, const relhost_job_request *req, relhost_job **out)
{
    hostctx *hc = hc_of(ctx);
    int rc;
    if (!hc || !hc->jobs)
        return no_jobs(ctx);
    rc = jobs_submit(hc->jobs, ctx, req, out);
    if (rc != 0)
        svc_fail(ctx, "%s", error_last());
    return rc;
}

static int svc_job_wait(const relhost_ctx *ctx, relhost_job *const *v, size_t n, int any)
{
    hostctx *hc = hc_of(ctx);
    if (!hc || !hc->jobs)
        return no_jobs(ctx);
    return jobs_wait(hc->jobs, ctx, v, n, any);
}

static int svc_job_result(const relhost_ctx *ctx, const relhost_job *job, relhost_job_result *out)
{
    hostctx *hc = hc_of(ctx);
    if (!hc || !hc->jobs || !job || !out)
        return no_jobs(ctx);
    return jobs_result(hc->jobs, job, out);
}

static int svc_http_request(const relhost_ctx *ctx, const relhost_http_request *req,
                            relhost_http_response **out)
{
    hostctx *hc = hc_of(ctx);
    int rc = http_request(req, hc ? hc->prefix : NULL, out);
    if (rc != 0 && rc != RELHOST_EINTR)
        svc_fail(ctx, "%s", error_last());
    return rc;
}

static void svc_http_response_free(relhost_http_response *resp) { http_response_free(resp); }

/* The slot of name in hc's index of requires: its own, or the free one it would take. */
static size_t *req_slot(const hostctx *hc, const char *name)
{
    size_t mask = hc->req_cap - 1, i = (size_t)str_hash(name) & mask;
    while (hc->req_slots[i] && strcmp(hc->requires->v[hc->req_slots[i] - 1], name) != 0)
        i = (i + 1) & mask;
    return &hc->req_slots[i];
}

/* Whether name is required already; if not, it is indexed as the entry requires is about to
 * get. A gate of 100,000 validations requires each once: a scan of the list per name made its
 * open() quadratic. */
static int req_add(hostctx *hc, const char *name)
{
    size_t *slot;
    if (2 * (hc->requires->n + 1) > hc->req_cap) {
        size_t cap = hc->req_cap ? hc->req_cap * 2 : 64;
        while (2 * (hc->requires->n + 1) > cap)
            cap *= 2;
        free(hc->req_slots);
        hc->req_slots = xcalloc(cap, sizeof *hc->req_slots);
        hc->req_cap = cap;
        for (size_t i = 0; i < hc->requires->n; i++)
            *req_slot(hc, hc->requires->v[i]) = i + 1; /* names in requires are distinct */
    }
    slot = req_slot(hc, name);
    if (*slot)
        return 1;
    *slot = hc->requires->n + 1;
    return 0;
}

static int svc_job_require(const relhost_ctx *ctx, const char *validation)
{
    hostctx *hc = hc_of(ctx);
    if (!hc || !hc->requires || !validation || !*validation) {
        if (hc)
            svc_fail(ctx, "job_require() is a service of a gate's open(), with a validation name");
        return RELHOST_EINVAL;
    }
    if (!req_add(hc, validation))
        sv_push(hc->requires, validation);
    return 0;
}

/* Worded for a plugin's sentence "could not X: %s"; EIO and ERETRY say what a retry would do,
 * the distinction the plugin's verdict draws (pl_http.h). */
static const char *svc_strerror(int code)
{
    switch (code) {
    case RELHOST_OK: return "success";
    case RELHOST_EFAIL: return "failure";
    case RELHOST_EINVAL: return "invalid request";
    case RELHOST_ENOMEM: return "out of memory";
    case RELHOST_ENOTSUP: return "not supported";
    case RELHOST_ETIMEDOUT: return "timed out";
    case RELHOST_EIO: return "a failure retrying won't fix";
    case RELHOST_ENOTFOUND: return "not found";
    case RELHOST_EINPROGRESS: return "in progress";
    case RELHOST_EINTR: return "interrupted";
    case RELHOST_ERETRY: return "a transient failure";
    default: return "unknown error";
    }
}

/* The services named otherwise than svc_<member>. */
#define svc_proc_result_free proc_result_free
#define svc_registry_stage host_registry_stage
#define svc_registry_promote host_registry_promote
#define svc_registry_quarantine host_registry_quarantine
#define svc_checks_verify host_checks_verify
#define svc_record_get host_record_get
#define svc_record_put host_record_put
#define SVC(m) HOST_TABLE_ENTRY_(svc_, m)
static const relhost_host table = HOST_TABLE(SVC);
#undef SVC

const relhost_host *host_table(void) { return &table; }
