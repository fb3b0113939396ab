/* SPDX-License-Identifier: MIT */
/*
 * record_write.h - the only code that writes the release root and its STEP records into the state
 * (the layout: core/record/record.h). Each writer goes through state_set() (core/record/state.h):
 * the change is in memory at once and journaled at the next flush or snapshot; the caller decides
 * when to flush or snapshot, except where a writer says otherwise. Strings are borrowed for the
 * call. The JOB records are written by the job side (core/run/jobs*.c).
 */
#ifndef RELHOST_RECORD_WRITE_H
#define RELHOST_RECORD_WRITE_H

#include "base/util.h"
#include "record/record.h"
#include "record/state.h"

#include <jansson.h>
#include <relhost/plugin.h>

/** A run starts (at now, ISO 8601): created_at when the release has none yet (new, or only
 *  waived ahead of its first run), the plan (file, name, hash), finished = false, exit_code =
 *  null (a resumed run is undecided until it ends), updated_at. */
void record_write_run_start(state *st, const char *plan_path, const char *plan_name,
                            const char *plan_hash, const char *now);

/** A run ends: updated_at, finished and the run's exit code. */
void record_write_run_end(state *st, const char *now, int finished, int exit_code);

/** The release belongs to this plan (a state created by `relhost waive` before any run). */
void record_write_plan_owner(state *st, const char *plan_path, const char *plan_name);

/** A publishing step PASSED: the release is published (never resumed). */
void record_write_published(state *st);

/** The names of the sealed variables (core/view/logview.h), n of them, in the order given. */
void record_write_sealed_env(state *st, const char *const *names, size_t n);

/** Append a waiver (step, validation or NULL, reason, by, host, at, expires or NULL) to
 *  "waivers", keeping the entries there as they are. 0 or state_set()'s error. */
int record_write_waiver_add(state *st, const waiver_record *w);

/** The candidate {commit, repo, ref, checkout}. */
void record_write_candidate(state *st, const candidate_record *c);

/** A new candidate: drop every job and step record and every waiver of the old one. */
void record_write_drop_results(state *st);

/**
 * The requirement set (core/record/verdict.h): at the first run, the profile, every step's jobs,
 * and the names of the steps that are required (required[i]) and that publish (publishes[i]);
 * later, what a changed plan added is added (a set only grows: removing a job from the plan, or
 * making a step optional, never makes the release need less). steps[i] names step i, reqs[i] its
 * jobs; n steps.
 */
void record_write_requirements(state *st, const char *profile, const char *const *steps,
                               const strvec *reqs, const int *required, const int *publishes,
                               size_t n);

/** What record_write_step() writes of one step. */
typedef struct step_write {
    const char *name;
    long position; /* the plan's order, which reports sort steps by */
    const char *plugin;
    int required, publishes;
    relhost_outcome outcome;      /* RELHOST_NONE: null */
    const char *reason, *message; /* NULL: null */
    int retryable;
    int defers;                  /* 0: not written */
    relhost_outcome waived_from; /* RELHOST_NONE: not written */
    const char *waived_from_reason;
    int ran;               /* started_at, ended_at and duration_s are written */
    double started, ended; /* wall clock */
    json_t *evidence;      /* stolen: core/run/evidence.h evidence_to_json() */
    const char *in_flight; /* NULL: not written */
    const char *plan_hash;
} step_write;

/** Replace STEP record s->name. The delivery records the state holds for it are carried over:
 *  they outlive every run of the step (core/run/host_record.c). */
void record_write_step(state *st, const step_write *s);

/** Mark publishing step step as started at ts, and flush: durable before the step acts. 0 or
 *  state_flush()'s error. */
int record_write_step_in_flight(state *st, const char *step, const char *ts);

/** Delivery record steps.<step>.records.<key> = value, flushed before it returns (the caller
 *  acts on it, and a kill may follow at once). 0, or state_set()'s or state_flush()'s error. */
int record_write_step_delivery(state *st, const char *step, const char *key, const char *value);

#endif
