/* SPDX-License-Identifier: MIT */
/*
 * workflow.h - private to the workflow gate: its conf and its runs, shared by workflow.c
 * (options, open, describe) and workflow_run.c (run: selection, submission, verdict).
 */
#ifndef RELHOST_PLUGIN_WORKFLOW_H
#define RELHOST_PLUGIN_WORKFLOW_H

#include <relhost/plugin.h>

#include <stddef.h>
#include <stdint.h>

struct workflow_expect {
    relhost_strlist exit; /* exit codes that count as success */
    const char *termination_reason;
};

struct workflow_condition {
    const char *name;
    relhost_strlist args; /* appended to cmd */
    const char *termination_reason;
    relhost_strlist exit;
};

struct workflow_matrix {
    relhost_strlist nodes;   /* node counts, e.g. ["1", "2", "4"] */
    relhost_list conditions; /* struct workflow_condition */
};

struct workflow_validation {
    const char *name;
    const char *description;
    const char *runner;
    relhost_strlist cmd;
    int shell;
    relhost_map env;
    relhost_strlist pass_env;
    const char *cwd;
    double timeout_s;
    int64_t retries;
    int64_t nodes, gpus;
    relhost_map runner_args;
    relhost_strlist metrics;
    relhost_checks acceptance;
    relhost_strlist depends_on;
    struct workflow_expect expect;
    struct workflow_matrix matrix;
    int64_t repeats;
};

struct workflow_conf {
    relhost_list validations;
    relhost_strlist metrics;
    const char *runner;
};

enum vstate { V_WAITING = 0, V_SUBMITTED, V_DONE, V_SKIPPED, V_UNSELECTED };

/* What a run holds of its own, when its validation is not all it needs: a matrix cell's name,
 * command and values, the exit codes that count as success parsed. */
struct vrun_own {
    char *name;          /* <name>.<nodes>n.<condition>; NULL: the validation's */
    const char **argv;   /* cmd plus the condition's args, NULL-terminated; NULL: cmd */
    const char *nodes_s; /* matrix cell, or NULL */
    const char *condition;
    int nodes;
    const char *expect_term;
    int *expect_exit;
    size_t n_expect_exit;
};

/* One validation to run: a plan validation, or one cell of its matrix. Kept for the gate's
 * life, one per validation: what it borrows from its validation is not copied. */
struct vrun {
    const struct workflow_validation *v;
    const char *name;     /* v->name (borrowed), or own->name */
    struct vrun_own *own; /* NULL: nothing of its own */
    relhost_job *job;
    /* what the gate reads of the job's result (host->job_result(); strings the host's) */
    struct vrun_result {
        const char *reason, *external_id;
        relhost_outcome outcome;
        unsigned char finished, retryable;
    } res;
    enum vstate state;
};

/* The run's command (NULL-terminated), node count and termination reason: its own, or its
 * validation's. */
static inline const char *const *vrun_argv(const struct vrun *r)
{
    return r->own && r->own->argv ? r->own->argv : r->v->cmd.v;
}
static inline int vrun_nodes(const struct vrun *r)
{
    return r->own ? r->own->nodes : (int)r->v->nodes;
}
static inline const char *vrun_expect_term(const struct vrun *r)
{
    return r->own ? r->own->expect_term : r->v->expect.termination_reason;
}

struct workflow {
    const struct workflow_conf *conf;
    struct vrun *runs;
    size_t n, cap;
};

/* A run answers to its own name and, for a matrix cell, to its validation's name. */
int workflow_answers_to(const struct vrun *r, const char *name);

/* Is run r selected: in the profile (every run when it names none), and matched by --only
 * when given? */
int workflow_chosen(const relhost_ctx *ctx, const struct vrun *r);

/* Mark (want[k] = 1) every run that run i depends on, transitively. */
void workflow_mark_deps(const struct workflow *w, size_t i, char *want);

/* The gate's run op (workflow_run.c). */
int workflow_run(const relhost_ctx *ctx, void *inst, relhost_verdict *out);

#endif
