/* SPDX-License-Identifier: MIT */
/*
 * record_job.h - the JOB records of the state (record.h's schema) as the job layer writes and
 * reads them (core/run/jobs*.c, repeats.c, batch.c, baseline.c): record_job_write() is the only
 * code that writes one, record_job_get() and record_job_list() read them typed, so that the job
 * layer never reads the state's JSON by key.
 *
 * Beyond record.h's JOB, the job layer keeps in its records:
 *   "process": {"pid", "starttime": int, "cookie", "proc_cookie": str, "grace_s": real}
 *       what identifies a local attempt's process while it is submitting or running
 *       (core/run/jobs_resume.c stop_orphan);
 *   "lost_attempts": int   attempts an earlier relhost died running;
 *   "orphan_stopped": int  the pid this run stopped before the attempt runs again;
 *   "runs": [str]          an aggregate of repeats: its repeats' ids.
 * They are the members job_entry adds to job_record.
 */
#ifndef RELHOST_RECORD_JOB_H
#define RELHOST_RECORD_JOB_H

#include "record/record.h"
#include "record/state.h"
#include "run/evidence.h"

#include <jansson.h>
#include <stddef.h>

/** "process": what identifies a local attempt's process (core/run/proc.h proc_ident). */
typedef struct record_job_process {
    record_int pid, starttime;
    char *cookie;      /* the attempt's key */
    char *proc_cookie; /* the cookie in the process's environment */
    record_real grace_s;
} record_job_process;

/**
 * One JOB record. Read (record_job_get(), record_job_list()): every pointer is owned by the
 * entry, freed by record_job_entry_free(); a member that is missing or has the wrong type reads
 * as absent, as record.h says. Written (record_job_write()): every pointer is borrowed for the
 * call, and the fields below say how an absent one is written.
 */
typedef struct job_entry {
    /* What record.h's JOB holds. Written from it: job.id names the record; step, validation,
     * runner, lifecycle (record_lifecycle_name()), attempt, key, external_id, log_path,
     * spec_hash, accept_hash, argv always (a NULL string as null); started_at, ended_at and
     * duration_s when set; restarts when set; with lifecycle COMPLETED the outcome
     * (outcome_name(), so RELHOST_NONE is "NONE"), reason, retryable, exit_code (null when
     * not set) and termination_reason; repeat_of and repeat when repeat_of is set; repeats and
     * "runs" when repeats is set. job.evidence (the views' typed form) is not written: ev is. */
    job_record job;
    int has_process; /* "process" is an object; written when set */
    record_job_process process;
    record_int lost_attempts;  /* written when set */
    record_int orphan_stopped; /* read only: written by record_job_mark_orphan_stopped() */
    size_t nruns;
    char **runs; /* an aggregate's repeats' ids ("runs"); strings only */
    /* The evidence in memory, members in the state's order: written as EVIDENCE; filled by
     * record_job_get(), left empty by record_job_list(). */
    evidence ev;
} job_entry;

/**
 * Write e as the record "jobs"/e->job.id of st, replacing the one there (an "orphan_stopped"
 * included). e is borrowed for the call. Returns state_set()'s result.
 */
int record_job_write(state *st, const job_entry *e);

/** Note in record id that this run stopped its orphaned process pid (core/run/jobs_resume.c
 *  jobs_stop_orphans): the next resume of it says so. Returns state_set()'s result. */
int record_job_mark_orphan_stopped(state *st, const char *id, long long pid);

/**
 * The record "jobs"/id of the state root (borrowed for the call) into *out (zeroed first; free
 * with record_job_entry_free()). Returns 0, or -1 with *out zeroed when the state has no record
 * id that is an object.
 */
int record_job_get(json_t *root, const char *id, job_entry *out);

/**
 * Every JOB record of the state root (borrowed for the call) that is an object, in the state's
 * order (the order the jobs were first recorded), into *out (free with record_job_list_free())
 * and *n. Their ev stays empty.
 */
void record_job_list(json_t *root, job_entry **out, size_t *n);
void record_job_list_free(job_entry *v, size_t n);

/** Free everything e owns (not e itself); e may be NULL. */
void record_job_entry_free(job_entry *e);

/**
 * The names of the state root's "steps" (borrowed from root, valid while it is unchanged) in
 * the state's order, whatever their values; NULL-terminated, *n of them; free() the array.
 * (core/record/record_read.c: record_read() gives steps in report order.)
 */
const char **record_step_names(json_t *root, size_t *n);

#endif
