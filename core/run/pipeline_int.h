/* SPDX-License-Identifier: MIT */
/*
 * pipeline_int.h - what the pipeline's files share (not for other modules): pipeline.c walks the
 * steps, pipeline_step.c decides, runs and accounts one step, pipeline_release.c opens the
 * release and records steps and the run's end. Everything a run carries lives in one struct
 * walk, never in file-static variables: each file would have its own copy.
 */
#ifndef RELHOST_PIPELINE_INT_H
#define RELHOST_PIPELINE_INT_H

#include "record/record.h"
#include "record/state.h"
#include "run/candidate.h"
#include "run/jobs.h"
#include "run/pipeline.h"

/* What a run carries from step to step. */
struct walk {
    plan *p;
    const run_options *o;
    run_result *out;
    const char *state_dir; /* where this run's record lives: the plan's state_dir, or (monitor)
                              its own */
    const char *record;    /* its name there: the version, or (monitor) its own */
    state *sto;
    int stop;            /* a required step did not pass: success steps are skipped from here */
    const char *stopper; /* which one */
    int code;            /* the release's exit code so far */
    int frozen_skips;    /* publishing steps held by the freeze */
    const relhost_ctx *base;
    jobs *jb;
    const char *worktree; /* the candidate's checkout, or NULL */
    double notes_at;      /* loop_now() of the last notes written; 0: never */
    double notes_gap;     /* the least time between two rewrites at step ends */
    int notes_stale;      /* a step ended since */
    int notes_due;        /* and the notes are due: written before the next step, or at the end */
};

typedef enum { GO_RUN, GO_SKIP, GO_SKIP_UNRECORDED, GO_BREAK } step_go;

/* Per step: the jobs its gate requires (job_require), whether the plan requires it and whether
 * it publishes (a success step), its name: the release's requirement set. */
struct reqset {
    strvec *reqs;
    int *required, *publishing;
    const char **names;
};

/* pipeline.c */
int pipeline_rerun_asked(const run_options *o, const char *name);
void pipeline_set_result(step_result *r, relhost_outcome oc, const char *reason, const char *msg);
/* Required by the plan now, or by the release's stored requirements (once required, always). */
int pipeline_step_required(state *sto, const plan_step *s);
/* Publishing by the plan now, or as stored at the release's first runs (once guarded, always). */
int pipeline_step_publishes(state *sto, const plan_step *s);
/* The outcome a step record holds: RELHOST_NONE when none, or a word this relhost does not know. */
relhost_outcome pipeline_recorded_outcome(const step_record *s);

/* pipeline_step.c */
step_go pipeline_step_decide(struct walk *w, size_t i, int is_hook);
void pipeline_run_gate(struct walk *w, size_t i, int is_hook, void *inst);
void pipeline_account_step(struct walk *w, size_t i);

/* The registry folder, when it exists, is trusted as the state folder is (core/base/trust.h):
 * refused before any step runs, --check included, not at the promote step. 0 or EINVAL. */
int pipeline_check_registry(const plan *p);

/* pipeline_release.c */
int pipeline_check_dirs(const struct walk *w);
int pipeline_open_release(const struct walk *w, const plan_profile *prof, const struct reqset *rs,
                          relhost_ctx *base, state **sto, candidate *cand, jobs **jb);
void pipeline_record_step(struct walk *w, step_result *r);
/* The notes a step's end made due, written before the next step starts (the run's end writes
 * them anyway: the last step's are not written twice). */
void pipeline_notes_due(struct walk *w);
/* Write the release notes now when a step ended since they were last written. */
void pipeline_notes_current(struct walk *w);
void pipeline_finish_walk(struct walk *w);

#endif
