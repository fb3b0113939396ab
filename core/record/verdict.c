/* SPDX-License-Identifier: MIT */
/*
 * verdict.c - the verdict rule (verdict.h) over the state's requirements, jobs and waivers. It
 * reads the state's JSON directly, as the rest of core/record does: it runs for every step of
 * every run, and a whole record_read() per question would read every job's evidence.
 */
#include "record/verdict.h"
#include "record/record_json.h"
#include "record/state.h"

#include "base/error.h"
#include "base/outcome.h"

#include <stdlib.h>
#include <string.h>

static int live(const json_t *w, double now)
{
    const char *exp = rj_cstr(w, "expires");
    return !exp || time_parse_iso8601(exp) > now;
}

/* The unexpired waiver of step (and validation, NULL for the whole step), or NULL. */
static const json_t *waiver_find(const json_t *root, const char *step, const char *validation,
                                 double now)
{
    size_t i;
    json_t *w;
    json_array_foreach(json_object_get(root, "waivers"), i, w)
    {
        const char *wv = rj_cstr(w, "validation");
        if (!rj_cstr(w, "step") || strcmp(rj_cstr(w, "step"), step) != 0 || !live(w, now))
            continue;
        if ((!validation && !wv) || (validation && wv && strcmp(validation, wv) == 0))
            return w;
    }
    return NULL;
}

/* The waiver that makes step count as passing, or NULL: a step-level waiver, or (for a step
 * whose jobs failed) validation waivers covering every job of the step that did not pass. When
 * several validation waivers cover it, the first is returned. */
static const json_t *waiver_covering(const json_t *root, const char *step, double now)
{
    const json_t *w = waiver_find(root, step, NULL, now), *first = NULL;
    const char *id;
    json_t *packed;
    int failing = 0;
    if (w)
        return w;
    json_object_foreach(json_object_get(root, "jobs"), id, packed)
    {
        json_t *job = state_job_value(packed);
        const char *js = rj_cstr(job, "step"), *oc = rj_cstr(job, "outcome");
        const json_t *vw;
        (void)id;
        if (!js || strcmp(js, step) != 0 || !oc || strcmp(oc, "PASSED") == 0) {
            json_decref(job);
            continue;
        }
        failing++;
        vw = rj_cstr(job, "validation") ? waiver_find(root, step, rj_cstr(job, "validation"), now)
                                        : NULL;
        json_decref(job);
        if (!vw)
            return NULL;
        if (!first)
            first = vw;
    }
    return failing ? first : NULL;
}

static const char *profile_of(const json_t *req)
{
    return json_string_value(json_object_get(req, "profile"));
}

int verdict_check_profile(const json_t *root, const char *version, const char *profile)
{
    const json_t *req = json_object_get(root, "requirements");
    const char *was;
    if (!json_is_object(req))
        return 0;
    was = profile_of(req);
    if ((!was && !profile) || (was && profile && strcmp(was, profile) == 0))
        return 0;
    {
        char *w = was ? xasprintf("profile %s", was) : xstrdup("no profile");
        char *now = profile ? xasprintf("profile %s", profile) : xstrdup("no profile");
        int rc = error_set(RELHOST_EINVAL,
                           "release %s was started with %s, and a release's requirements are "
                           "fixed at its first run; this run asks for %s: start a new release "
                           "with it (--new, or --release and another version), or run %s",
                           version, w, now, was ? "with that profile again" : "without --profile");
        free(w);
        free(now);
        return rc;
    }
}

/* Once required (or publishing), always: the plan now, the release's requirement set, or the
 * step's own record saying so (a requirement set lost to a hand edit cannot make it optional). */
static int once(const json_t *root, const char *step, int plan_says, const char *list,
                const char *flag)
{
    const json_t *rec = json_object_get(json_object_get(root, "steps"), step);
    return plan_says ||
           rj_in_array(json_object_get(json_object_get(root, "requirements"), list), step) ||
           json_is_true(json_object_get(rec, flag));
}

int verdict_step_required(const json_t *root, const char *step, int plan_required)
{
    return once(root, step, plan_required, "required_steps", "required");
}

int verdict_step_publishes(const json_t *root, const char *step, int plan_publishes)
{
    return once(root, step, plan_publishes, "publishing_steps", "publishes");
}

/* Severity for combining: the worse outcome wins. */
static int rank(relhost_outcome o)
{
    switch (o) {
    case RELHOST_FAILED: return 5;
    case RELHOST_ERROR: return 4;
    case RELHOST_INCONCLUSIVE: return 3;
    case RELHOST_PASSED:
    case RELHOST_WAIVED: return 1;
    default: return 0; /* SKIPPED (not selected), NONE: the record decides */
    }
}

void verdict_step(const json_t *root, const char *step, relhost_outcome oc, const char *reason,
                  double now, step_verdict *out)
{
    const json_t *req =
        json_object_get(json_object_get(json_object_get(root, "requirements"), "steps"), step);
    const json_t *jobs = json_object_get(root, "jobs"), *v;
    strbuf missing, failed;
    size_t i, nmiss = 0, nfail = 0, nwaived = 0, n = json_array_size(req);
    out->outcome = oc;
    out->reason = reason;
    out->message = NULL;
    if (!json_is_array(req) || n == 0)
        return;
    sb_init(&missing);
    sb_init(&failed);
    json_array_foreach(req, i, v)
    {
        const char *name = json_string_value(v);
        char *id;
        const json_t *rec;
        const char *life, *jo;
        relhost_outcome o;
        if (!name)
            continue;
        id = xasprintf("%s/%s", step, name);
        rec = state_job_value(json_object_get(jobs, id));
        free(id);
        life = json_string_value(json_object_get(rec, "lifecycle"));
        jo = json_string_value(json_object_get(rec, "outcome"));
        o = life && strcmp(life, "completed") == 0 && jo ? outcome_parse(jo) : RELHOST_NONE;
        json_decref((json_t *)rec);
        if (o == RELHOST_FAILED && !waiver_find(root, step, name, now)) {
            sb_printf(&failed, "%s%s", nfail++ ? ", " : "", name);
        } else if (!outcome_ok(o) && o != RELHOST_NONE && waiver_find(root, step, name, now)) {
            nwaived++;
        } else if (!outcome_ok(o) && o != RELHOST_FAILED && !waiver_find(root, step, name, now)) {
            sb_printf(&missing, "%s%s%s%s", nmiss++ ? ", " : "", name, o == RELHOST_NONE ? "" : " ",
                      o == RELHOST_NONE ? "" : outcome_name(o));
        }
    }
    if (nfail && rank(oc) < rank(RELHOST_FAILED)) {
        out->outcome = RELHOST_FAILED;
        out->reason = "validation_failed";
        out->message =
            xasprintf("required validation(s) FAILED in this release's record: %s", failed.s);
    } else if (!nfail && nmiss &&
               (rank(oc) < rank(RELHOST_INCONCLUSIVE) || (oc == RELHOST_FAILED && nwaived))) {
        /* (a gate FAILED on what is now waived: what never ran still decides nothing) */
        out->outcome = RELHOST_INCONCLUSIVE;
        out->reason = "incomplete";
        out->message = xasprintf("%zu of %zu required validation(s) have no PASSED or WAIVED "
                                 "result in this release: %s; run them (without --only, or "
                                 "--only naming them)",
                                 nmiss, n, missing.s);
    } else if (!nfail && !nmiss && rank(oc) == 0) {
        out->outcome = RELHOST_PASSED; /* nothing ran now, and the record is complete */
        out->reason = NULL;
        out->message = xasprintf("every required validation (%zu) passed in this release", n);
    }
    sb_free(&missing);
    sb_free(&failed);
}

int verdict_waiver(const json_t *root, const char *step, double now, waiver_record *out)
{
    step_verdict sv;
    int incomplete;
    const json_t *w;
    verdict_step(root, step, RELHOST_PASSED, NULL, now, &sv);
    incomplete = sv.outcome == RELHOST_INCONCLUSIVE;
    free(sv.message);
    w = incomplete ? waiver_find(root, step, NULL, now) : waiver_covering(root, step, now);
    if (out)
        record_read_waiver((json_t *)w, out);
    return w != NULL;
}
