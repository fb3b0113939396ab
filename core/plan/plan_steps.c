/* SPDX-License-Identifier: MIT */
/*
 * plan_steps.c - a plan's step lists (steps, on_promote, on_rollback: one namespace of step
 * names) and its profiles.
 */
#include "plan/plan.h"
#include "plan/plan_int.h"

#include "base/error.h"

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

static int load_step_list(plan *p, const char *key, step_when list_when)
{
    config_setting_t *s = config_lookup(&p->cfg, key);
    int n = s ? config_setting_length(s) : 0;
    for (int i = 0; i < n; i++) {
        config_setting_t *g = config_setting_get_elem(s, (unsigned)i);
        plan_step *st = &p->steps[p->nsteps];
        const char *nm, *desc;
        p->nsteps++;
        /* "steps" is the list people mean by "step 2"; the hook lists are named */
        const char *in = strcmp(key, "steps") ? key : NULL;
        if (config_setting_type(g) != CONFIG_TYPE_GROUP)
            return perr(g, "%s%sstep %d must be a group { name = \"...\"; plugin = \"...\"; }",
                        in ? in : "", in ? ": " : "", i + 1);
        if (!config_setting_lookup_string(g, "name", &nm))
            return perr(g, "%s%sstep %d needs name = \"...\" (a string)", in ? in : "",
                        in ? ": " : "", i + 1);
        if (!plan_name_valid(nm))
            return perr(g, "step name \"%s\" must be letters, digits, '-', '_' or '.'", nm);
        for (size_t k = 0; k + 1 < p->nsteps; k++)
            if (strcmp(p->steps[k].inst.name, nm) == 0)
                return perr(g, "duplicate step name \"%s\" (first at %s)", nm,
                            p->steps[k].inst.where);
        st->inst.name = xstrdup(nm);
        st->when = list_when;
        st->required = 1;
        if (step_flag(g, "required", nm, &st->required) != 0 ||
            step_flag(g, "publishes", nm, &st->publishes) != 0)
            return RELHOST_EINVAL;
        if (config_setting_lookup_string(g, "description", &desc))
            st->description = xstrdup(desc);
        if (config_setting_get_member(g, "when") && list_when != WHEN_SUCCESS)
            return perr(config_setting_get_member(g, "when"),
                        "step \"%s\": steps of '%s' take no 'when' (they run after every %s)", nm,
                        key, list_when == WHEN_ON_PROMOTE ? "promotion" : "rollback");
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
                return perr(w, "step \"%s\": 'when' must be one of: success, on_failure, always",
                            nm);
        }
        if (plan_fill_instance(p, &st->inst, g, "step", step_reserved) != 0)
            return RELHOST_EINVAL;
    }
    return 0;
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
                             st->inst.where, st->inst.name, pub->inst.name, pub->inst.where,
                             pub->inst.name);
    }
    return 0;
}

int plan_load_steps(plan *p)
{
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
    if ((rc = load_step_list(p, "steps", WHEN_SUCCESS)) != 0 ||
        (rc = load_step_list(p, "on_promote", WHEN_ON_PROMOTE)) != 0 ||
        (rc = load_step_list(p, "on_rollback", WHEN_ON_ROLLBACK)) != 0)
        return rc;
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
