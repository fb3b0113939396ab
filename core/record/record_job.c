/* SPDX-License-Identifier: MIT */
/*
 * record_job.c - the job layer's JOB records (record_job.h): the one writer of them, and their
 * typed reader on top of record_read_job() (record_read.c), defensive like it.
 */
#include "record/record_job.h"
#include "record/record_json.h"
#include "record/state.h"

#include "base/outcome.h"
#include "base/util.h"
#include "record/record_evidence.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- writing ---- */

static void put(json_t *o, const char *key, json_t *v) { json_object_set_new(o, key, v); }

static json_t *process_json(const record_job_process *p)
{
    json_t *o = json_object();
    put(o, "pid", json_integer((json_int_t)p->pid.v));
    put(o, "starttime", json_integer((json_int_t)p->starttime.v));
    put(o, "cookie", rj_str_or_null(p->cookie));
    put(o, "proc_cookie", rj_str_or_null(p->proc_cookie));
    put(o, "grace_s", json_real(p->grace_s.v));
    return o;
}

/* The members in the order the job layer has always written them, so that the journal's bytes
 * stay what they were (the snapshot sorts its keys anyway). */
static json_t *entry_json(const job_entry *e)
{
    const job_record *j = &e->job;
    int done = j->lifecycle == RECORD_LIFE_COMPLETED;
    json_t *o = json_object(), *argv = json_array();
    put(o, "step", rj_str_or_null(j->step));
    put(o, "validation", rj_str_or_null(j->validation));
    put(o, "runner", rj_str_or_null(j->runner));
    put(o, "lifecycle", rj_str_or_null(record_lifecycle_name(j->lifecycle)));
    put(o, "attempt", json_integer(j->attempt.v));
    put(o, "key", rj_str_or_null(j->key));
    put(o, "external_id", rj_str_or_null(j->external_id));
    put(o, "log_path", rj_str_or_null(j->log_path));
    put(o, "spec_hash", rj_str_or_null(j->spec_hash));
    put(o, "accept_hash", rj_str_or_null(j->accept_hash));
    for (size_t i = 0; i < j->nargv; i++)
        json_array_append_new(argv, json_string(j->argv[i]));
    put(o, "argv", argv);
    if (j->started_at)
        put(o, "started_at", json_string(j->started_at));
    if (j->ended_at)
        put(o, "ended_at", json_string(j->ended_at));
    if (j->duration_s.set)
        put(o, "duration_s", json_real(j->duration_s.v));
    if (e->has_process)
        put(o, "process", process_json(&e->process));
    if (e->lost_attempts.set)
        put(o, "lost_attempts", json_integer(e->lost_attempts.v));
    if (!done && j->restarts.set)
        put(o, "restarts", json_integer(j->restarts.v));
    if (done) {
        put(o, "outcome", json_string(outcome_name(j->outcome)));
        put(o, "reason", rj_str_or_null(j->reason));
        put(o, "retryable", json_boolean(j->retryable));
        put(o, "exit_code", j->exit_code.set ? json_integer(j->exit_code.v) : json_null());
        put(o, "termination_reason", rj_str_or_null(j->termination_reason));
        if (j->restarts.set)
            put(o, "restarts", json_integer(j->restarts.v));
    }
    put(o, "evidence", record_evidence_to_json(&e->ev));
    if (j->repeat_of) {
        put(o, "repeat_of", json_string(j->repeat_of));
        put(o, "repeat", json_integer(j->repeat.v));
    }
    if (j->repeats.set) {
        json_t *runs = json_array();
        for (size_t i = 0; i < e->nruns; i++)
            json_array_append_new(runs, json_string(e->runs[i]));
        put(o, "repeats", json_integer(j->repeats.v));
        put(o, "runs", runs);
    }
    return o;
}

int record_job_write(state *st, const job_entry *e)
{
    const char *path[2] = {"jobs", e->job.id};
    return state_set(st, path, 2, entry_json(e));
}

int record_job_mark_orphan_stopped(state *st, const char *id, long long pid)
{
    const char *path[3] = {"jobs", id, "orphan_stopped"};
    return state_set(st, path, 3, json_integer((json_int_t)pid));
}

/* ---- reading ---- */

static void read_entry(job_entry *e, const char *id, json_t *rec)
{
    json_t *proc = json_object_get(rec, "process"), *runs = json_object_get(rec, "runs"), *v;
    size_t i;
    record_read_job(rec, id, &e->job);
    if ((e->has_process = json_is_object(proc))) {
        e->process.pid = rj_int(proc, "pid");
        e->process.starttime = rj_int(proc, "starttime");
        e->process.cookie = rj_str(proc, "cookie");
        e->process.proc_cookie = rj_str(proc, "proc_cookie");
        e->process.grace_s = rj_real(proc, "grace_s");
    }
    e->lost_attempts = rj_int(rec, "lost_attempts");
    e->orphan_stopped = rj_int(rec, "orphan_stopped");
    e->runs = xcalloc(json_array_size(runs) + 1, sizeof *e->runs);
    json_array_foreach(runs, i, v) if (json_is_string(v)) e->runs[e->nruns++] =
        xstrndup(json_string_value(v), json_string_length(v));
}

int record_job_get(json_t *root, const char *id, job_entry *out)
{
    json_t *rec = id ? state_job_value(json_object_get(json_object_get(root, "jobs"), id)) : NULL;
    memset(out, 0, sizeof *out);
    if (!rec)
        return -1;
    read_entry(out, id, rec);
    record_evidence_from_json(&out->ev, json_object_get(rec, "evidence"));
    json_decref(rec);
    return 0;
}

void record_job_list(json_t *root, job_entry **out, size_t *n)
{
    json_t *jobs = json_object_get(root, "jobs"), *v;
    const char *id;
    *n = 0;
    *out = xcalloc(json_object_size(jobs) + 1, sizeof **out);
    json_object_foreach(jobs, id, v)
    {
        json_t *rec = state_job_value(v);
        if (rec)
            read_entry(&(*out)[(*n)++], id, rec);
        json_decref(rec);
    }
}

void record_job_entry_free(job_entry *e)
{
    if (!e)
        return;
    record_job_free(&e->job);
    free(e->process.cookie);
    free(e->process.proc_cookie);
    for (size_t i = 0; i < e->nruns; i++)
        free(e->runs[i]);
    free(e->runs);
    evidence_free(&e->ev);
    memset(e, 0, sizeof *e);
}

void record_job_list_free(job_entry *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        record_job_entry_free(&v[i]);
    free(v);
}
