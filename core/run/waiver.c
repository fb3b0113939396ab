/* SPDX-License-Identifier: MIT */
#include "run/waiver.h"

#include "base/error.h"
#include "base/log.h"
#include "base/outcome.h"
#include "base/util.h"
#include "plan/keycheck.h"
#include "plan/options.h"
#include "record/record.h"
#include "record/record_write.h"
#include "record/state.h"
#include "registry/audit.h"
#include "registry/registry.h"

#include <stdlib.h>
#include <string.h>

/* --expires: an ISO 8601 UTC time, or a duration from now ("7d", "12h"). */
static int parse_expiry(const char *s, double now, double *at)
{
    double d;
    if (options_parse_duration(s, &d) == 0) {
        *at = now + d;
        return 0;
    }
    *at = time_parse_iso8601(s);
    return *at > 0 ? 0 : -1;
}

/* A step that ran must have the validation named (its jobs say which it has); one that has not
 * run yet is checked at its first run. 1 when fine; else 0, said, and st closed. */
static int known_validation(state *st, const plan *p, const char *step, const char *validation)
{
    step_record sr;
    job_record *jr;
    size_t n;
    int ran = record_read_step(state_root(st), step, &sr), found = 0;
    strbuf names;
    strvec seen = {0};
    char *hint;
    record_step_free(&sr);
    if (!ran)
        return 1;
    n = record_read_step_jobs(state_root(st), step, &jr);
    sb_init(&names);
    for (size_t i = 0; i < n; i++) {
        if (jr[i].validation_given) {
            found |= strcmp(jr[i].validation, validation) == 0;
            sb_printf(&names, "%s%s", names.len ? ", " : "", jr[i].validation);
            sv_push(&seen, jr[i].validation);
        }
        record_job_free(&jr[i]);
    }
    free(jr);
    hint = keycheck_hint(validation, (const char *const *)seen.v, seen.n, NULL, NULL);
    if (!found) {
        log_msg(RELHOST_LOG_ERROR, NULL,
                "waive: step \"%s\" of release %s has no validation "
                "\"%s\"%s; it has: %s",
                step, p->version, validation, hint, names.len ? names.s : "(none)");
        state_close(st);
    }
    free(hint);
    sv_free(&seen);
    sb_free(&names);
    return found;
}

/* A waiver cannot make a quarantined release promotable: say so rather than record it. 1 when
 * the registry can be read and has not quarantined the release; else 0, said. */
static int registry_allows(const plan *p)
{
    registry *r = NULL;
    const manifest_release *e;
    if (registry_open(p->registry_dir, 0, &r) != 0) {
        log_msg(RELHOST_LOG_ERROR, NULL,
                "waive: release %s: the registry cannot be read, "
                "so whether the release is quarantined is unknown; nothing recorded: %s",
                p->version, error_last());
        registry_close(r);
        return 0;
    }
    e = registry_entry(r, p->version);
    if (e && e->status == MANIFEST_QUARANTINED) {
        log_msg(RELHOST_LOG_ERROR, NULL,
                "waive: release %s is quarantined in registry %s "
                "(%s): it is never promoted, waived or not, so nothing was recorded; "
                "qualify a new version",
                p->version, p->registry_dir, e->reason ? e->reason : "no reason recorded");
        registry_close(r);
        return 0;
    }
    registry_close(r);
    return 1;
}

int waiver_add(const plan *p, const char *step, const char *validation, const char *reason,
               const char *expires)
{
    double now = time_wall(), exp_at = 0;
    char ts[32], exp_s[32], user[128], host[256];
    state *st = NULL;
    waiver_record w = {0};
    int rc, ahead;
    if (!plan_find_step(p, step)) {
        strbuf b;
        strvec names = {0};
        char *hint;
        sb_init(&b);
        for (size_t i = 0; i < p->nsteps; i++) {
            sb_printf(&b, "%s%s", i ? ", " : "", p->steps[i].inst.name);
            sv_push(&names, p->steps[i].inst.name);
        }
        hint = keycheck_hint(step, (const char *const *)names.v, names.n, NULL, NULL);
        log_msg(RELHOST_LOG_ERROR, NULL, "waive: no step \"%s\" in %s%s; steps: %s", step, p->path,
                hint, b.s);
        free(hint);
        sv_free(&names);
        sb_free(&b);
        return EXIT_USAGE;
    }
    if (expires && (parse_expiry(expires, now, &exp_at) != 0 || exp_at <= now)) {
        log_msg(RELHOST_LOG_ERROR, NULL,
                "waive: --expires %s is %s: give a future UTC time "
                "(2026-12-01T00:00:00Z) or a duration from now (7d, 12h)",
                expires, exp_at > 0 ? "in the past" : "neither a time nor a duration");
        return EXIT_USAGE;
    }
    if (!registry_allows(p))
        return EXIT_USAGE;
    /* A release that has not run yet is waived ahead (a known, accepted failure): its state is
     * created holding only the waiver, no run, and its first run finds the waiver there. */
    if ((rc = state_open(p->state_dir, p->version, STATE_CREATE, &st)) != 0) {
        log_msg(RELHOST_LOG_ERROR, NULL, "waive: release %s: %s", p->version, error_last());
        state_close(st);
        return EXIT_USAGE;
    }
    /* A run records the plan's hash (record_write_run_start()): without one, none ran. */
    {
        release_record head;
        record_read_head(state_root(st), &head);
        ahead = !head.plan_hash;
        record_free(&head);
    }
    if (state_is_new(st)) /* the release belongs to this plan (state_list, the views) */
        record_write_plan_owner(st, p->path, p->name);
    if (validation && !known_validation(st, p, step, validation))
        return EXIT_USAGE;
    time_iso8601(now, ts, sizeof ts);
    if (expires)
        time_iso8601(exp_at, exp_s, sizeof exp_s);
    audit_who(user, sizeof user, host, sizeof host);
    w.step = (char *)step;
    w.validation = (char *)validation;
    w.reason = (char *)reason;
    w.by = user;
    w.host = host;
    w.at = ts;
    w.expires = expires ? exp_s : NULL;
    rc = record_write_waiver_add(st, &w);
    if (rc == 0)
        rc = state_snapshot(st);
    if (state_close(st) != 0 && rc == 0)
        rc = RELHOST_EIO;
    if (rc == 0) {
        const char *f[] = {"version",    p->version,
                           "step",       step,
                           "validation", validation ? validation : "",
                           "reason",     reason,
                           "expires",    expires ? exp_s : ""};
        rc = audit_append(p->registry_dir, "waive", f, 5);
    }
    if (rc != 0) {
        log_msg(RELHOST_LOG_ERROR, NULL, "waive: %s", error_last());
        return EXIT_USAGE;
    }
    out_printf("waived %s%s of release %s%s by %s: %s%s%s\n", validation ? "validation " : "step ",
               validation ? validation : step, p->version, ahead ? " before its first run" : "",
               user, reason, expires ? "; expires " : "", expires ? exp_s : "");
    if (ahead)
        out_printf("its first run (relhost -c %s --release %s) finds it: the step counts as "
                   "passing for promotion if it does not pass%s\n",
                   p->path, p->version,
                   validation ? "; the validation's name is checked against the step's jobs "
                                "only once it ran (a name it does not have waives nothing)"
                              : "");
    else
        out_printf("it counts as passing for promotion: run the release again (relhost -c %s "
                   "--release %s) to go on\n",
                   p->path, p->version);
    return 0;
}
