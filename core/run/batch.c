/* SPDX-License-Identifier: MIT */
#include "run/batch.h"

#include "base/error.h"
#include "base/jarena.h"
#include "base/log.h"
#include "base/outcome.h"
#include "base/util.h"
#include "record/record.h"
#include "record/record_job.h"
#include "record/state.h"
#include "run/freeze.h"
#include "run/jobs.h"
#include "run/loop.h"
#include "view/report.h"
#include "view/report_files.h"
#include "view/status_json.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* One job of the state, as status and kill see it (strings borrowed from its record e). */
typedef struct bjob {
    const char *id, *validation, *runner, *lifecycle, *ext;
    const job_entry *e;
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
        char *hint;
        state_close(*st);
        *st = NULL;
        hint = state_list_hint(p->state_dir, p->version);
        log_msg(RELHOST_LOG_ERROR, NULL,
                "no state for release %s in %s: nothing was launched or run; %s; pass --release V",
                p->version, p->state_dir, hint);
        free(hint);
        return EXIT_USAGE;
    }
    return 0;
}

/* The state's jobs (read into *recs, *nrecs: free with record_job_list_free()) that status and
 * kill list: those with a validation, a runner and a lifecycle, selected by --only. */
static size_t collect(state *st, const batch_options *o, bjob **out, job_entry **recs,
                      size_t *nrecs)
{
    size_t n = 0;
    record_job_list(state_root(st), recs, nrecs);
    *out = xcalloc(*nrecs + 1, sizeof **out);
    for (size_t i = 0; i < *nrecs; i++) {
        const job_entry *e = &(*recs)[i];
        bjob *b = &(*out)[n];
        b->id = e->job.id;
        b->e = e;
        b->validation = e->job.validation_given ? e->job.validation : NULL;
        b->runner = e->job.runner;
        b->lifecycle = e->job.lifecycle_raw;
        b->ext = e->job.external_id;
        if (!b->validation || !b->runner || !b->lifecycle || !selected(o, b->validation))
            continue;
        n++;
    }
    return n;
}

/* An integer of a record as status always took it: a JSON integer, else 0. */
static long long rec_int(record_int r) { return r.set && !r.from_real ? r.v : 0; }

static int unfinished_remote(const bjob *b)
{
    return strcmp(b->lifecycle, "completed") != 0 && strcmp(b->lifecycle, "pending") != 0 &&
           b->ext && *b->ext;
}

/* One poll per runner for every unfinished remote job of this release (through the job layer:
 * core/run/jobs_runner.c). */
static void refresh(plan *p, bjob *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        jobs_runner *r;
        relhost_job_status *st;
        size_t *idx, m = 0;
        if (v[i].polled || !unfinished_remote(&v[i]))
            continue;
        if (!(r = jobs_runner_open(p, v[i].runner)))
            continue;
        st = xcalloc(n, sizeof *st);
        idx = xcalloc(n, sizeof *idx);
        for (size_t k = i; k < n; k++) {
            if (v[k].polled || !unfinished_remote(&v[k]) || strcmp(v[k].runner, v[i].runner))
                continue;
            v[k].polled = 1;
            if (!jobs_runner_remote(r))
                continue; /* a local job: only the relhost running it can see it */
            st[m].struct_size = sizeof st[m];
            st[m].key = v[k].e->job.key;
            st[m].external_id = v[k].ext;
            st[m].state = RELHOST_JOB_RUNNING;
            idx[m++] = k;
        }
        if (m && jobs_runner_poll(r, st, m) == 0)
            for (size_t k = 0; k < m; k++)
                v[idx[k]].live = st[k];
        free(st);
        free(idx);
        jobs_runner_close(r);
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

/* What the poll said, as {"<job id>": {"state": word, "restarts": n}}: kept by --follow between
 * polls and put into the JSON status. */
static json_t *live_json(const bjob *v, size_t n)
{
    json_t *o = json_object();
    for (size_t i = 0; i < n; i++) {
        const char *w = live_word(&v[i]);
        json_t *e;
        if (!w)
            continue;
        e = json_object();
        json_object_set_new(e, "state", json_string(w));
        json_object_set_new(e, "restarts",
                            json_integer(v[i].live.restarts > 0 ? v[i].live.restarts : 0));
        json_object_set_new(o, v[i].id, e);
    }
    return o;
}

static void print_row(const release_record *rel, const bjob *b, json_t *live, int tail)
{
    json_t *l = json_object_get(live, b->id);
    report_status_row(rel, &b->e->job, json_string_value(json_object_get(l, "state")),
                      (int)json_integer_value(json_object_get(l, "restarts")), tail);
}

static void print_header(plan *p, const release_record *rel, size_t n)
{
    int stopped = strcmp(record_decision(rel), "interrupted") == 0;
    out_printf("release %s of plan %s: %zu job(s)%s\n", p->version, p->name, n,
               stopped         ? " (interrupted: run it again to resume)"
               : rel->finished ? " (finished)"
                               : "");
}

/* The JSON status (docs/status.schema.json); --only narrows the jobs listed, not the summary. */
static int print_json(plan *p, const batch_options *o, json_t *root, json_t *live)
{
    freeze_info frz;
    int frc = freeze_get(p->state_dir, &frz), rc;
    char *frz_err = frc ? xstrdup(error_last()) : NULL;
    status_context ctx = {.max_defers = p->max_defers,
                          .defer_deadline = p->defer_deadline,
                          .frz = frc ? NULL : &frz,
                          .frz_error = frz_err,
                          .live = live};
    /* the model (as many values as the state) from a region of its own: base/jarena.h */
    int arena = jarena_begin();
    json_t *m = status_model(root, &ctx), *rows;
    if (arena)
        jarena_end();
    rows = json_object_get(m, "jobs");
    for (size_t i = json_array_size(rows); i-- > 0;)
        if (!selected(o, json_string_value(json_object_get(json_array_get(rows, i), "validation"))))
            json_array_remove(rows, i);
    rc = m ? status_print_json(m) : -1;
    if (rc != 0)
        log_msg(RELHOST_LOG_ERROR, NULL, "release %s: %s", p->version, error_last());
    json_decref(m);
    free(frz_err);
    return rc ? EXIT_USAGE : 0;
}

static int follow(plan *p, const batch_options *o);

int batch_status(plan *p, const batch_options *o)
{
    state *st;
    bjob *v;
    job_entry *recs;
    size_t n, nrecs;
    json_t *live;
    int rc;
    if (o->follow)
        return follow(p, o);
    if ((rc = open_state(p, &st)) != 0)
        return rc;
    n = collect(st, o, &v, &recs, &nrecs);
    refresh(p, v, n);
    live = live_json(v, n);
    if (o->json) {
        rc = print_json(p, o, state_root(st), live);
    } else {
        /* the head only (finished, the sealed names a log tail withholds): the jobs' rows come
         * from their records above, not from a second read of every job */
        release_record rel;
        record_read_head(state_root(st), &rel);
        print_header(p, &rel, n);
        if (n)
            report_status_head();
        for (size_t i = 0; i < n; i++)
            print_row(&rel, &v[i], live, o->logs ? o->tail : 0);
        record_free(&rel);
    }
    json_decref(live);
    free(v);
    record_job_list_free(recs, nrecs);
    state_close(st);
    return rc;
}

/* ---- --follow ----------------------------------------------------------------------------- */

/* Seconds between redraws, and between two polls of the remote runners (a `relhost run` of the
 * release polls them anyway; status only adds a look for releases that were launched). */
#define FOLLOW_REFRESH_S 2.0
#define FOLLOW_POLL_S 30.0
/* Consecutive unreadable refreshes tolerated: a read racing the writer's snapshot can see a
 * journal that no longer continues the snapshot it read; the next read is whole again. */
#define FOLLOW_READ_RETRIES 5

/* A row's identity as the non-TTY stream compares it: print a row only when this changed. */
static char *job_sig(const bjob *b, json_t *live)
{
    json_t *l = json_object_get(live, b->id);
    const char *oc = b->e->job.outcome_raw, *term = b->e->job.termination_reason;
    const char *w = json_string_value(json_object_get(l, "state"));
    return xasprintf("%s|%s|%s|%lld|%lld|%s|%s", b->lifecycle, oc ? oc : "", w ? w : "",
                     rec_int(b->e->job.restarts),
                     (long long)json_integer_value(json_object_get(l, "restarts")),
                     term ? term : "", b->ext ? b->ext : "");
}

static char *step_sig(const char *oc, const char *r)
{
    return xasprintf("%s|%s", oc ? oc : "", r ? r : "");
}

/* Print s once it differs from what `seen` (an object of strings) holds under key; s is
 * stolen. Returns 1 when it changed. */
static int changed(json_t *seen, const char *key, char *s)
{
    const char *was = json_string_value(json_object_get(seen, key));
    int c = !was || strcmp(was, s) != 0;
    if (c)
        json_object_set_new(seen, key, json_string(s));
    free(s);
    return c;
}

static void stamp(void)
{
    char ts[32];
    time_iso8601(time_wall(), ts, sizeof ts);
    out_printf("%.8s", ts + 11); /* HH:MM:SS, UTC like every time relhost prints */
}

static void stream_changes(plan *p, json_t *root, const release_record *rel, const bjob *v,
                           size_t n, json_t *live, json_t *seen, int first)
{
    size_t nsteps;
    const char **names = record_step_names(root, &nsteps);
    if (first)
        print_header(p, rel, n);
    for (size_t i = 0; i < n; i++)
        if (changed(seen, v[i].id, job_sig(&v[i], live))) {
            stamp();
            print_row(rel, &v[i], live, 0);
        }
    /* the steps in the state's order, each as its record says (none: not an object) */
    for (size_t i = 0; i < nsteps; i++) {
        const step_record *s = record_step_find(rel, names[i]);
        char *key = xasprintf("step:%s", names[i]);
        const char *oc = s ? s->outcome_raw : NULL, *r = s ? s->reason : NULL;
        if (changed(seen, key, step_sig(oc, r)) && oc) {
            stamp();
            out_printf("  step %-25s %s%s%s\n", names[i], oc, r ? "  reason: " : "", r ? r : "");
        }
        free(key);
    }
    free(names);
}

static void draw_frame(plan *p, json_t *root, const release_record *rel, const bjob *v, size_t n,
                       json_t *live)
{
    size_t counts[RELHOST_WAIVED + 1] = {0}, rec = 0;
    const char **names = record_step_names(root, &rec);
    /* Home and clear, then the whole table: one write per frame (stdout is fully buffered
     * while following), so the terminal never shows half a table. */
    out_printf("\033[H\033[2J");
    print_header(p, rel, n);
    for (size_t i = 0; i < rec; i++) {
        const step_record *s = record_step_find(rel, names[i]);
        /* the word as recorded: one this relhost does not know counts as none */
        relhost_outcome o = s && s->outcome_raw ? outcome_parse(s->outcome_raw) : RELHOST_NONE;
        if (o <= RELHOST_WAIVED)
            counts[o]++;
    }
    free(names);
    out_printf("steps recorded: %zu (%zu passed, %zu failed, %zu error, %zu inconclusive, "
               "%zu skipped)\n",
               rec, counts[RELHOST_PASSED], counts[RELHOST_FAILED], counts[RELHOST_ERROR],
               counts[RELHOST_INCONCLUSIVE], counts[RELHOST_SKIPPED]);
    if (n)
        report_status_head();
    for (size_t i = 0; i < n; i++)
        print_row(NULL, &v[i], live, 0);
    stamp();
    out_printf(" refreshing every %.0f s until the release ends; Ctrl-C stops\n", FOLLOW_REFRESH_S);
}

/* A run of the release has ended once it recorded an exit code: finished, or deferred (75) or
 * interrupted (130, 143) with nothing running any more. A launch records none: its jobs run on. */
static int release_ended(const release_record *rel)
{
    return rel->finished || (rel->exit_code.set && !rel->exit_code.from_real);
}

/* No run of the release will record its end: no relhost holds its lock, yet a local job of it is
 * recorded running (only the relhost running a release runs its local jobs: that one died or
 * was killed without recording an end), and no engine runs a job of it. A launch leaves no
 * local job running (the run that decides runs them), so following one still waits for that
 * run. Asked right after a poll; a lock or a runner that cannot be asked keeps following.
 * Returns the jobs left unfinished, or -1: the release may still be run. */
static long run_gone(const plan *p, const bjob *v, size_t n)
{
    long left = 0, local_running = 0;
    if (state_lock_holder(p->state_dir, p->version) != 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(v[i].lifecycle, "completed") == 0)
            continue;
        left++;
        if (!unfinished_remote(&v[i]))
            continue;
        if (!v[i].polled)
            return -1; /* its runner could not be asked: cannot tell */
        if (!v[i].live.struct_size)
            local_running++; /* a local job: its relhost is gone */
        else if (v[i].live.state != RELHOST_JOB_ENDED && v[i].live.state != RELHOST_JOB_LOST)
            return -1; /* an engine still runs it */
    }
    return local_running ? left : -1;
}

static int follow(plan *p, const batch_options *o)
{
    static char obuf[1 << 16];
    int tty = isatty(STDOUT_FILENO), fails = 0, first = 1, code = 0;
    long gone = -1;
    json_t *live = json_object(), *seen = json_object();
    double next_poll = 0;

    if (tty)
        setvbuf(stdout, obuf, _IOFBF, sizeof obuf);
    for (;;) {
        state *st = NULL;
        bjob *v;
        job_entry *recs;
        release_record rel;
        size_t n, nrecs;
        json_t *root;
        double until;
        int rc =
            first ? open_state(p, &st) : state_open(p->state_dir, p->version, STATE_READONLY, &st);
        if (rc != 0 && first) {
            code = rc;
            break;
        }
        if (rc != 0) {
            if (++fails >= FOLLOW_READ_RETRIES) {
                log_msg(RELHOST_LOG_ERROR, NULL,
                        "release %s: the state stopped being readable: "
                        "%s",
                        p->version, error_last());
                code = EXIT_USAGE;
                break;
            }
        } else {
            fails = 0;
            root = state_root(st);
            record_read(root, &rel);
            n = collect(st, o, &v, &recs, &nrecs);
            gone = -1;
            if (loop_now() >= next_poll) {
                refresh(p, v, n);
                json_decref(live);
                live = live_json(v, n);
                next_poll = loop_now() + FOLLOW_POLL_S;
                gone = release_ended(&rel) ? -1 : run_gone(p, v, n);
            }
            if (tty)
                draw_frame(p, root, &rel, v, n, live);
            else
                stream_changes(p, root, &rel, v, n, live, seen, first);
            first = 0;
            free(v);
            record_job_list_free(recs, nrecs);
            if (release_ended(&rel)) {
                out_printf("release %s ended: %s (exit %lld)\n", p->version, report_decision(root),
                           rec_int(rel.exit_code));
                /* the release's exit code is follow's: a script waits and learns the verdict */
                code = rel.exit_code.set && !rel.exit_code.from_real && rel.exit_code.v >= 0 &&
                               rel.exit_code.v <= 255
                           ? (int)rel.exit_code.v
                           : EXIT_UNDECIDED;
                if (code == EXIT_OK && rel.unmet_required)
                    code = EXIT_UNDECIDED; /* exit 0 beside a required step that never passed */
                record_free(&rel);
                state_close(st);
                break;
            }
            record_free(&rel);
            state_close(st);
            if (gone >= 0) {
                out_printf("release %s: no relhost runs it, and its run ended without recording an "
                           "end (it died or was killed); %ld job(s) left unfinished; `relhost "
                           "kill -c %s --release %s` stops what of them still runs, `relhost -c "
                           "%s --release %s` resumes the release\n",
                           p->version, gone, p->path, p->version, p->path, p->version);
                code = EXIT_UNDECIDED;
                break;
            }
        }
        fflush(stdout);
        until = loop_now() + FOLLOW_REFRESH_S;
        while (!loop_interrupted() && loop_now() < until)
            loop_once(until - loop_now());
        if (loop_interrupted())
            break;
    }
    fflush(stdout);
    json_decref(live);
    json_decref(seen);
    return code;
}

/* What kill did with each job; printed once every runner was asked. */
enum { K_DONE, K_LOCAL, K_CANCELLED, K_FAILED, K_STOPPED };

/* The local jobs of a release no relhost runs any more (its lock is free: the one running it was
 * killed): orphans, stopped here (core/run/jobs_resume.c), so that `relhost kill` leaves nothing
 * running. While a relhost holds the lock, its jobs stop with it. */
static void stop_local_orphans(plan *p, bjob *v, size_t n, int *what, char **why)
{
    state *w = NULL;
    size_t i, local = 0;
    for (i = 0; i < n; i++)
        local += what[i] == K_LOCAL;
    if (!local || state_open(p->state_dir, p->version, 0, &w) != 0)
        return; /* locked: a live relhost runs them */
    for (i = 0; i < n; i++) {
        long long pid;
        if (what[i] != K_LOCAL)
            continue;
        pid = jobs_stop_orphan_of(w, v[i].e);
        what[i] = pid > 0 ? K_STOPPED : pid == 0 ? K_DONE : K_FAILED;
        why[i] = pid > 0   ? xasprintf("%lld", pid)
                 : pid < 0 ? xasprintf("pid %lld, left running by a relhost that is gone, "
                                       "could not be stopped: %s",
                                       -pid, error_last())
                           : NULL;
    }
    if (state_close(w) != 0)
        log_msg(RELHOST_LOG_ERROR, "state", "release %s: noting the stopped jobs failed: %s",
                p->version, error_last());
}

/* The unfinished remote jobs of v[i]'s runner (pending ones first, as the poll saw them), in
 * one cancel_many; 0 when the runner has none (then each job is cancelled on its own). */
static int kill_together(jobs_runner *r, bjob *v, size_t n, size_t i, int *what, char **why)
{
    const char **ids = xcalloc(n + 1, sizeof *ids);
    size_t *idx = xcalloc(n + 1, sizeof *idx), m = 0;
    int rc;
    for (int pass = 0; pass < 2; pass++)
        for (size_t k = i; k < n; k++) {
            int waiting = v[k].polled && v[k].live.struct_size &&
                          (v[k].live.state == RELHOST_JOB_PENDING ||
                           v[k].live.state == RELHOST_JOB_SUBMITTING);
            if (what[k] != -1 || strcmp(v[k].runner, v[i].runner) || waiting != (pass == 0))
                continue;
            idx[m] = k;
            ids[m++] = v[k].ext;
        }
    rc = jobs_runner_cancel_many(r, ids, m, why);
    if (rc != RELHOST_ENOTSUP)
        for (size_t k = 0; k < m; k++)
            what[idx[k]] = rc == 0 ? K_CANCELLED : K_FAILED;
    free(ids);
    free(idx);
    return rc != RELHOST_ENOTSUP;
}

static int kill_one(jobs_runner *r, const bjob *b, char **why)
{
    int crc = RELHOST_ENOTSUP;
    if (jobs_runner_remote(r))
        crc = jobs_runner_cancel(r, b->ext, why);
    return crc == RELHOST_ENOTSUP ? K_LOCAL : crc == 0 ? K_CANCELLED : K_FAILED;
}

int batch_kill(plan *p, const batch_options *o)
{
    state *st;
    bjob *v;
    job_entry *recs;
    size_t n, nrecs, count[5] = {0};
    char **why;
    int *what, rc = open_state(p, &st);
    if (rc)
        return rc;
    n = collect(st, o, &v, &recs, &nrecs);
    what = xcalloc(n + 1, sizeof *what);
    why = xcalloc(n + 1, sizeof *why);
    for (size_t i = 0; i < n; i++)
        what[i] = unfinished_remote(&v[i]) ? -1 : K_DONE;
    /* One poll per runner: which jobs still wait to start (they are cancelled first, so that
     * none starts into the resources the running ones free). */
    refresh(p, v, n);
    for (size_t i = 0; i < n; i++) {
        jobs_runner *r;
        char *m = NULL;
        if (what[i] != -1)
            continue;
        if (!(r = jobs_runner_open(p, v[i].runner))) {
            what[i] = K_FAILED;
            continue;
        }
        if (jobs_runner_remote(r) && kill_together(r, v, n, i, what, &m)) {
            for (size_t k = i; k < n; k++)
                if (what[k] == K_FAILED && !why[k] && !strcmp(v[k].runner, v[i].runner))
                    why[k] = xstrdup(m ? m : "?");
        } else {
            what[i] = kill_one(r, &v[i], &m);
            why[i] = m ? xstrdup(m) : NULL;
        }
        free(m);
        jobs_runner_close(r);
    }
    stop_local_orphans(p, v, n, what, why);
    for (size_t i = 0; i < n; i++) {
        count[what[i]]++;
        if (what[i] == K_STOPPED)
            out_printf("%-28s stopped (pid %s, left running by a relhost that is gone)\n",
                       v[i].validation, why[i]);
        else if (what[i] == K_LOCAL)
            out_printf("%-28s local: it stops with the relhost running it (Ctrl-C there)\n",
                       v[i].validation);
        else if (what[i] == K_CANCELLED)
            out_printf("%-28s cancelled (%s job %s)\n", v[i].validation, v[i].runner, v[i].ext);
        else if (what[i] == K_FAILED)
            out_printf("%-28s NOT cancelled: %s\n", v[i].validation, why[i] ? why[i] : "?");
        free(why[i]);
    }
    out_printf("release %s: %zu cancelled, %zu stopped, %zu already finished or never started, "
               "%zu local, %zu failed\n",
               p->version, count[K_CANCELLED], count[K_STOPPED], count[K_DONE], count[K_LOCAL],
               count[K_FAILED]);
    free(what);
    free(why);
    free(v);
    record_job_list_free(recs, nrecs);
    state_close(st);
    return count[K_FAILED] ? EXIT_UNDECIDED : 0;
}
