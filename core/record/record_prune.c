/* SPDX-License-Identifier: MIT */
/* record_prune.c - the part of a release state the status page draws from
 * (record_prune_for_view(), record.h): what core/view/site_index.c keeps per release. */
#include "record/record.h"
#include "record/state.h"

#include <jansson.h>

/* Copy of member key of from into to, when from has it. */
static void keep(json_t *to, json_t *from, const char *key)
{
    json_t *v = json_object_get(from, key);
    if (v)
        json_object_set_new(to, key, json_deep_copy(v));
}

/* The metrics of an evidence as the page reads them (record_metric_value()): their values. */
static json_t *prune_metrics(json_t *m)
{
    json_t *o, *v;
    const char *key;
    if (!json_is_object(m))
        return json_deep_copy(m);
    o = json_object();
    json_object_foreach(m, key, v)
    {
        json_t *p = json_is_object(v) ? json_object() : json_deep_copy(v);
        if (json_is_object(v))
            keep(p, v, "value");
        json_object_set_new(o, key, p);
    }
    return o;
}

/* A job record as the page reads it: its step and validation, its evidence's metrics' values
 * and checks (the values of the trend plots and the check tables). */
static json_t *prune_job(json_t *packed)
{
    json_t *j = state_job_value(packed), *o = json_object(), *ev, *pev;
    if (!j)
        return o;
    keep(o, j, "step");
    keep(o, j, "validation");
    if ((ev = json_object_get(j, "evidence")) != NULL && json_is_object(ev)) {
        pev = json_object();
        if (json_object_get(ev, "metrics"))
            json_object_set_new(pev, "metrics", prune_metrics(json_object_get(ev, "metrics")));
        keep(pev, ev, "checks");
        json_object_set_new(o, "evidence", pev);
    } else if (ev) {
        json_object_set_new(o, "evidence", json_deep_copy(ev));
    }
    json_decref(j);
    return o;
}

json_t *record_prune_for_view(json_t *root)
{
    /* "requirements": which steps are required, so that the view's verdict and the required
     * flags read as from the whole state (record_decision(), verdict_step_required()) */
    static const char *const members[] = {"schema",    "version", "seq",          "finished",
                                          "exit_code", "steps",   "requirements", NULL};
    json_t *o = json_object(), *jobs = json_object_get(root, "jobs"), *v;
    const char *id;
    for (size_t i = 0; members[i]; i++)
        keep(o, root, members[i]);
    if (json_is_object(jobs)) {
        json_t *pj = json_object();
        json_object_foreach(jobs, id, v) json_object_set_new(pj, id, prune_job(v));
        json_object_set_new(o, "jobs", pj);
    } else if (jobs) {
        json_object_set_new(o, "jobs", json_deep_copy(jobs));
    }
    return o;
}
