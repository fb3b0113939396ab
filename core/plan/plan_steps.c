/* SPDX-License-Identifier: MIT */
/*
 * plan_steps.c - a plan's step lists (steps, on_promote, on_rollback: one namespace of step
 * names) and its profiles.
 */
#include "plan/plan.h"
#include "plan/plan_int.h"
#include "plan/plan_slices.h"

#include "base/error.h"

#include <stdlib.h>
#include <string.h>

#define perr plan_perr

static const char *const step_reserved[] = {"name",      "plugin",       "required",
                                            "publishes", "description",  "when",
                                            "isolate",   "call_timeout", NULL};

/* Count the groups of the list `key` (0 when absent); -1 with the error set when it is no list. */
static int step_list_length(plan *p, const char *key)
{
    config_setting_t *s = config_lookup(&p->cfg, key);
    if (!s)
        return 0;
    if (config_setting_type(s) != CONFIG_TYPE_LIST)
        return perr(s, "'%s' must be a list of groups: %s = ( { ... }, { ... } );", key, key), -1;
    if (plan_slices_count(p->slices, key) >= 0)
        return plan_slices_count(p->slices, key);
    return config_setting_length(s);
}

/* Append the steps of the list `key` to p->steps (sized by the caller). Steps of on_promote and
 * on_rollback get that `when` and may not set their own. Names are unique across all lists. */
/* A step's true/false key (required, publishes): *out keeps its default when the key is
 * absent. */
static int step_flag(const config_setting_t *g, const char *key, const char *step, int *out)
{
    config_setting_t *v = config_setting_get_member(g, key);
    if (!v)
        return 0;
    if (config_setting_type(v) != CONFIG_TYPE_BOOL)
        return perr(v, "step \"%s\": '%s' must be true or false", step, key);
    *out = config_setting_get_bool(v);
    return 0;
}

/* The step names loaded so far, hashed: a duplicate is found without comparing each new name
 * with every earlier one (a plan may have tens of thousands of steps). */
struct step_names {
    size_t *slot; /* a step's index + 1, 0 when free */
    size_t cap;   /* a power of two, at least twice the steps */
};

/* The index of the step called nm, or p->nsteps when none. */
static size_t names_find(const struct step_names *t, const plan *p, const char *nm)
{
    for (size_t i = (size_t)str_hash(nm) & (t->cap - 1); t->slot[i]; i = (i + 1) & (t->cap - 1))
        if (strcmp(p->steps[t->slot[i] - 1].inst.name, nm) == 0)
            return t->slot[i] - 1;
    return p->nsteps;
}

static void names_add(struct step_names *t, const plan *p, size_t step)
{
    size_t i = (size_t)str_hash(p->steps[step].inst.name) & (t->cap - 1);
    while (t->slot[i])
        i = (i + 1) & (t->cap - 1);
    t->slot[i] = step + 1;
}

/* Element i of the list `key`, group g, as the next step of p->steps. */
static int load_step(plan *p, struct step_names *names, const char *key, step_when list_when,
                     const config_setting_t *g, int i)
{
    plan_step *st = &p->steps[p->nsteps];
    const char *nm, *desc;
    size_t k;
    p->nsteps++;
    /* "steps" is the list people mean by "step 2"; the hook lists are named */
    const char *in = strcmp(key, "steps") ? key : NULL;
    if (config_setting_type(g) != CONFIG_TYPE_GROUP)
        return perr(g, "%s%sstep %d must be a group { name = \"...\"; plugin = \"...\"; }",
                    in ? in : "", in ? ": " : "", i + 1);
    if (!config_setting_lookup_string(g, "name", &nm))
        return perr(g, "%s%sstep %d needs name = \"...\" (a string)", in ? in : "", in ? ": " : "",
                    i + 1);
    if (!plan_name_valid(nm))
        return perr(g, "step name \"%s\" must be letters, digits, '-', '_' or '.'", nm);
    if ((k = names_find(names, p, nm)) < p->nsteps)
        return perr(g, "duplicate step name \"%s\" (first at %s)", nm,
                    plan_where(&p->steps[k].inst));
    st->inst.name = xstrdup(nm);
    names_add(names, p, p->nsteps - 1);
    st->when = list_when;
    st->required = 1;
    if (step_flag(g, "required", nm, &st->required) != 0 ||
        step_flag(g, "publishes", nm, &st->publishes) != 0)
        return RELHOST_EINVAL;
    if (config_setting_lookup_string(g, "description", &desc))
        st->description = xstrdup(desc);
    if (config_setting_get_member(g, "when") && list_when != WHEN_SUCCESS)
        return perr(config_setting_get_member(g, "when"),
                    "step \"%s\": steps of '%s' take no 'when' (they run after every %s)", nm, key,
                    list_when == WHEN_ON_PROMOTE ? "promotion" : "rollback");
    if (config_setting_get_member(g, "when")) {
        config_setting_t *w = config_setting_get_member(g, "when");
        const char *ws =
            config_setting_type(w) == CONFIG_TYPE_STRING ? config_setting_get_string(w) : "";
        if (strcmp(ws, "success") == 0)
            st->when = WHEN_SUCCESS;
        else if (strcmp(ws, "on_failure") == 0)
            st->when = WHEN_ON_FAILURE;
        else if (strcmp(ws, "always") == 0)
            st->when = WHEN_ALWAYS;
        else
            return perr(w, "step \"%s\": 'when' must be one of: success, on_failure, always", nm);
    }
    if (plan_fill_instance(p, &st->inst, g, "step", step_reserved) != 0)
        return RELHOST_EINVAL;
    return 0;
}

/* Append the steps of the list `key` to p->steps (sized by the caller), from the parsed plan or
 * a slice at a time when the list was cut out of it (plan_slices.h). */
static int load_step_list(plan *p, struct step_names *names, const char *key, step_when list_when)
{
    plan_slice_walk w;
    config_setting_t *s;
    int i = 0, rc = 0;
    if (plan_slices_count(p->slices, key) < 0) {
        s = config_lookup(&p->cfg, key);
        for (int k = 0; s && rc == 0 && k < config_setting_length(s); k++)
            rc = load_step(p, names, key, list_when, config_setting_get_elem(s, (unsigned)k), k);
        return rc;
    }
    plan_slice_begin(&w, p->slices, key);
    while (rc == 0 && (s = plan_slice_next(&w)) != NULL)
        for (int k = 0; rc == 0 && k < config_setting_length(s); k++)
            rc = load_step(p, names, key, list_when, config_setting_get_elem(s, (unsigned)k), i++);
    plan_slice_end(&w);
    if (rc == 0 && w.failed)
        rc = error_set(RELHOST_EINVAL, "%s changed while it was read; run relhost again", p->path);
    return rc;
}

/* A publishing step runs once every required step BEFORE it passed: a required step after one
 * would be decided only when the release is already out. */
static int check_publish_order(const plan *p)
{
    const plan_step *pub = NULL;
    for (size_t i = 0; i < p->nsteps; i++) {
        const plan_step *st = &p->steps[i];
        if (st->when != WHEN_SUCCESS)
            continue;
        if (st->publishes && !pub)
            pub = st;
        else if (pub && st->required && !st->publishes)
            return error_set(RELHOST_EINVAL,
                             "%s: step \"%s\" is required but comes after the publishing step "
                             "\"%s\" (%s): it would be decided only after the release is out; "
                             "move it before \"%s\", or make it optional (required = false)",
                             plan_where(&st->inst), st->inst.name, pub->inst.name,
                             plan_where(&pub->inst), pub->inst.name);
    }
    return 0;
}

int plan_load_steps(plan *p)
{
    struct step_names names = {0};
    config_setting_t *s = config_lookup(&p->cfg, "steps");
    int n, np, nr, rc;
    if (!s)
        return error_set(RELHOST_EINVAL,
                         "%s: the plan has no steps = ( { name = ...; plugin = "
                         "...; }, ... ); nothing to run",
                         p->path);
    if ((n = step_list_length(p, "steps")) < 0 || (np = step_list_length(p, "on_promote")) < 0 ||
        (nr = step_list_length(p, "on_rollback")) < 0)
        return RELHOST_EINVAL;
    if (n == 0)
        return perr(s, "'steps' is empty; nothing to run");
    p->steps = xcalloc((size_t)(n + np + nr), sizeof *p->steps);
    for (names.cap = 16; names.cap < 2 * (size_t)(n + np + nr); names.cap *= 2)
        ;
    names.slot = xcalloc(names.cap, sizeof *names.slot);
    if ((rc = load_step_list(p, &names, "steps", WHEN_SUCCESS)) != 0 ||
        (rc = load_step_list(p, &names, "on_promote", WHEN_ON_PROMOTE)) != 0 ||
        (rc = load_step_list(p, &names, "on_rollback", WHEN_ON_ROLLBACK)) != 0) {
        free(names.slot);
        return rc;
    }
    free(names.slot);
    return check_publish_order(p);
}

int plan_load_profiles(plan *p)
{
    config_setting_t *g = config_lookup(&p->cfg, "profiles");
    int n;
    if (!g)
        return 0;
    if (config_setting_type(g) != CONFIG_TYPE_GROUP)
        return perr(g, "'profiles' must be a group: profiles = { quick = [\"a\", \"b\"]; };");
    n = config_setting_length(g);
    p->profiles = xcalloc((size_t)n + 1, sizeof *p->profiles);
    for (int i = 0; i < n; i++) {
        config_setting_t *e = config_setting_get_elem(g, (unsigned)i);
        plan_profile *pr = &p->profiles[i];
        int t = config_setting_type(e);
        pr->name = xstrdup(config_setting_name(e));
        p->nprofiles = (size_t)i + 1;
        if (t != CONFIG_TYPE_ARRAY && t != CONFIG_TYPE_LIST)
            return perr(e, "profile \"%s\" must be a list of validation names", pr->name);
        for (int k = 0; k < config_setting_length(e); k++) {
            config_setting_t *m = config_setting_get_elem(e, (unsigned)k);
            if (config_setting_type(m) != CONFIG_TYPE_STRING)
                return perr(m, "profile \"%s\": element %d must be a string", pr->name, k + 1);
            sv_push(&pr->members, config_setting_get_string(m));
        }
    }
    return 0;
}
