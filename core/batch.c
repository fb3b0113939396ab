/* SPDX-License-Identifier: MIT */
#include "batch.h"

#include "error.h"
#include "host.h"
#include "log.h"
#include "outcome.h"
#include "report.h"
#include "state.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

/* One job of the state, as status and kill see it. */
typedef struct bjob {
    const char *id, *validation, *runner, *lifecycle, *ext;
    json_t *rec;
    relhost_job_status live; /* filled by a poll when the job is remote and unfinished */
    int polled;
} bjob;

static int selected(const batch_options *o, const char *validation)
{
    if (!o->only || !o->only[0])
        return 1;
    for (size_t i = 0; o->only[i]; i++)
        if (glob_match(o->only[i], validation))
            return 1;
    return 0;
}

static int open_state(plan *p, state **st)
{
    int rc = state_open(p->state_dir, p->version, STATE_READONLY, st);
    if (rc != 0) {
        log_msg(RELHOST_LOG_ERROR, NULL, "release %s: %s", p->version, error_last());
        return EXIT_USAGE;
    }
    if (state_is_new(*st)) {
        log_msg(RELHOST_LOG_ERROR, NULL,
                "no state for release %s in %s: nothing was launched or run; pass --version V "
                "(see the release_*.json files there)",
                p->version, p->state_dir);
        state_close(*st);
        return EXIT_USAGE;
    }
    return 0;
}

static size_t collect(json_t *root, const batch_options *o, bjob **out)
{
    json_t *jobs = json_object_get(root, "jobs"), *rec;
    const char *id;
    size_t n = 0;
    *out = xcalloc(json_object_size(jobs) + 1, sizeof **out);
    json_object_foreach(jobs, id, rec)
    {
        bjob *b = &(*out)[n];
        b->id = id;
        b->rec = rec;
        b->validation = json_string_value(json_object_get(rec, "validation"));
        b->runner = json_string_value(json_object_get(rec, "runner"));
        b->lifecycle = json_string_value(json_object_get(rec, "lifecycle"));
        b->ext = json_string_value(json_object_get(rec, "external_id"));
        if (!b->validation || !b->runner || !b->lifecycle || !selected(o, b->validation))
            continue;
        n++;
    }
    return n;
}

/* A runner instance for a read-only query; NULL when the plan no longer has that runner. */
typedef struct rinst {
    const plan_instance *pi;
    void *inst;
    hostctx hc;
    int open;
} rinst;

static int rinst_open(plan *p, const char *name, rinst *r)
{
    relhost_ctx base;
    const relhost_runner_ops *ops;
    memset(r, 0, sizeof *r);
    r->pi = plan_find_runner(p, name);
    if (!r->pi)
        return -1;
    ops = r->pi->pl->desc.runner;
    memset(&base, 0, sizeof base);
    base.struct_size = sizeof base;
    base.mode = RELHOST_MODE_RUN;
    base.version = p->version;
    base.commit = p->commit;
    base.state_dir = p->state_dir;
    base.log_dir = p->log_dir;
    base.plan_dir = p->dir;
    hostctx_init(&r->hc, &base, r->pi->plugin_name, r->pi->name, NULL, r->pi->store);
    if (ops->open(&r->hc.pub, r->pi->conf, &r->inst) != 0) {
        char *m = hostctx_take_fail(&r->hc);
        log_msg(RELHOST_LOG_ERROR, r->pi->name, "cannot open runner: %s", m ? m : "?");
        free(m);
        hostctx_fini(&r->hc);
        return -1;
    }
    r->open = 1;
    return 0;
}

static void rinst_close(rinst *r)
{
    if (!r->open)
        return;
    if (r->pi->pl->desc.runner->close)
        r->pi->pl->desc.runner->close(r->inst);
    hostctx_fini(&r->hc);
    r->open = 0;
}

static int unfinished_remote(const bjob *b)
{
    return strcmp(b->lifecycle, "completed") != 0 && strcmp(b->lifecycle, "pending") != 0 &&
           b->ext && *b->ext;
}

/* One poll per runner for every unfinished remote job of this release. */
static void refresh(plan *p, bjob *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        rinst r;
        relhost_job_status *st;
        size_t *idx, m = 0;
        double next = 0;
        const relhost_runner_ops *ops;
        if (v[i].polled || !unfinished_remote(&v[i]))
            continue;
        if (rinst_open(p, v[i].runner, &r) != 0)
            continue;
        ops = r.pi->pl->desc.runner;
        st = xcalloc(n, sizeof *st);
        idx = xcalloc(n, sizeof *idx);
        for (size_t k = i; k < n; k++) {
            if (v[k].polled || !unfinished_remote(&v[k]) || strcmp(v[k].runner, v[i].runner))
                continue;
            v[k].polled = 1;
            if (!ops->find)
                continue; /* a local job: only the relhost running it can see it */
            st[m].struct_size = sizeof st[m];
            st[m].key = json_string_value(json_object_get(v[k].rec, "key"));
            st[m].external_id = v[k].ext;
            st[m].state = RELHOST_JOB_RUNNING;
            idx[m++] = k;
        }
        if (m && ops->poll(&r.hc.pub, r.inst, st, m, sizeof *st, &next) == 0)
            for (size_t k = 0; k < m; k++)
                v[idx[k]].live = st[k];
        free(st);
        free(idx);
        rinst_close(&r);
    }
}

static const char *live_word(const bjob *b)
{
    static const char *const states[] = {"?", "submitting", "pending", "running", "ended", "lost"};
    if (!b->polled || !b->live.struct_size)
        return NULL;
    if (b->live.engine_state[0])
        return b->live.engine_state;
    return states[b->live.state <= RELHOST_JOB_LOST ? b->live.state : 0];
}

int batch_status(plan *p, const batch_options *o)
{
    state *st;
    bjob *v;
    size_t n;
    int rc = open_state(p, &st);
    if (rc)
        return rc;
    n = collect(state_root(st), o, &v);
    refresh(p, v, n);
    out_printf("release %s of plan %s: %zu job(s)%s\n", p->version, p->name, n,
               json_is_true(json_object_get(state_root(st), "finished")) ? " (finished)" : "");
    for (size_t i = 0; i < n; i++)
        report_status_row(v[i].rec, live_word(&v[i]), v[i].live.restarts, o->logs ? o->tail : 0);
    free(v);
    state_close(st);
    return 0;
}

int batch_kill(plan *p, const batch_options *o)
{
    state *st;
    bjob *v;
    size_t n, cancelled = 0, done = 0, local = 0, failed = 0;
    int rc = open_state(p, &st);
    if (rc)
        return rc;
    n = collect(state_root(st), o, &v);
    for (size_t i = 0; i < n; i++) {
        rinst r;
        const relhost_runner_ops *ops;
        if (!unfinished_remote(&v[i])) {
            done++;
            continue;
        }
        if (rinst_open(p, v[i].runner, &r) != 0) {
            failed++;
            continue;
        }
        ops = r.pi->pl->desc.runner;
        if (!ops->find || !ops->cancel) {
            local++;
            out_printf("%-28s local: it stops with the relhost running it (Ctrl-C there)\n",
                       v[i].validation);
        } else if (ops->cancel(&r.hc.pub, r.inst, v[i].ext, NULL) == 0) {
            cancelled++;
            out_printf("%-28s cancelled (%s job %s)\n", v[i].validation, v[i].runner, v[i].ext);
        } else {
            char *m = hostctx_take_fail(&r.hc);
            failed++;
            out_printf("%-28s NOT cancelled: %s\n", v[i].validation, m ? m : "?");
            free(m);
        }
        rinst_close(&r);
    }
    out_printf("release %s: %zu cancelled, %zu already finished or never started, %zu local, "
               "%zu failed\n", p->version, cancelled, done, local, failed);
    free(v);
    state_close(st);
    return failed ? EXIT_UNDECIDED : 0;
}
