/* SPDX-License-Identifier: MIT */
/*
 * cli_registry.c - the commands over the release registry: `releases` (list), `rollback` (flip
 * last_green back with the baseline of the release it returns to, then run the plan's on_rollback
 * steps) and `monitor` (run the monitor profile
 * against the last green release as a run record of its own; a required failure rolls back and
 * quarantines that release by itself), and `waive` (a failed step counts as passing for
 * promotion, audited).
 */
#include "cli/cli.h"

#include "base/error.h"
#include "base/log.h"
#include "base/outcome.h"
#include "base/util.h"
#include "plan/plan.h"
#include "plan/template.h"
#include "registry/registry.h"
#include "run/host.h"
#include "run/pipeline.h"
#include "run/waiver.h"
#include "view/releases_json.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int load(const cli *c, const char *version, const char *commit, plan *p)
{
    plan_options po = {.path = c->plan,
                       .version = version,
                       .commit = commit,
                       .sets = (const char *const *)c->sets.v,
                       .host = host_table(),
                       .newest = 1};
    if (plan_load(&po, p) != 0) {
        log_msg(RELHOST_LOG_ERROR, NULL, "%s", error_last());
        return EXIT_USAGE;
    }
    return 0;
}

/* The plan and its registry (read-only); on failure the error is logged and the exit code
 * returned. The caller frees p and closes *r either way. */
static int open_registry(const cli *c, plan *p, registry **r)
{
    int code = load(c, NULL, NULL, p);
    if (code == 0 && registry_open(p->registry_dir, 0, r) != 0) {
        log_msg(RELHOST_LOG_ERROR, NULL, "%s", error_last());
        code = EXIT_USAGE;
    }
    return code;
}

static const char *or_dash(const char *s) { return s ? s : "-"; }

static void list_releases(const plan *p, const manifest *m)
{
    const char *lg = m->pointer[MANIFEST_LAST_GREEN];
    out_printf("registry %s\n", p->registry_dir);
    out_printf("  latest %s   last_green %s   previous_green %s\n",
               or_dash(m->pointer[MANIFEST_LATEST]), or_dash(lg),
               or_dash(m->pointer[MANIFEST_PREVIOUS_GREEN]));
    if (m->nreleases == 0)
        out_printf("  no releases yet: a plan's registry steps (stage, promote) fill it\n");
    else
        out_printf("  %-24s %-12s %-12s %-20s %-20s %s\n", "VERSION", "STATUS", "COMMIT", "STAGED",
                   "PROMOTED", "REASON");
    /* newest first, as people read a release list */
    for (size_t i = m->nreleases; i-- > 0;) {
        const manifest_release *e = &m->releases[i];
        out_printf("  %-24s %-12s %-12.12s %-20s %-20s %s%s\n", e->version, e->status_raw,
                   or_dash(e->commit), or_dash(e->staged_at), or_dash(e->promoted_at),
                   e->reason ? e->reason : "",
                   lg && strcmp(lg, e->version) == 0 ? "  <- last_green" : "");
    }
}

int cli_releases(const cli *c)
{
    plan p;
    registry *r = NULL;
    int code = open_registry(c, &p, &r);
    if (code == 0 && c->json) {
        json_t *doc = releases_json(registry_manifest(r));
        char *s = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        out_printf("%s\n", s);
        free(s);
        json_decref(doc);
    } else if (code == 0) {
        list_releases(&p, registry_manifest(r));
    }
    registry_close(r);
    plan_free(&p);
    return code;
}

/* Run the plan's on_rollback steps, with {version} the release rolled back from. */
static int run_rollback_hooks(const cli *c, const rollback_plan *rp, const char *reason,
                              const char *from_commit)
{
    plan p;
    run_options ro;
    run_result rr;
    char record[96], *dir;
    int any = 0, code;
    /* set before loading: the steps' options expand them */
    template_set("rollback_from", rp->from);
    template_set("rollback_to", rp->to);
    template_set("rollback_reason", reason);
    if ((code = load(c, rp->from, from_commit, &p)) != 0) {
        plan_free(&p);
        return code;
    }
    for (size_t i = 0; i < p.nsteps; i++)
        any |= p.steps[i].when == WHEN_ON_ROLLBACK;
    if (any) {
        time_t t = time(NULL);
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(record, sizeof record, "rollback-%Y%m%dT%H%M%SZ", &tm);
        dir = path_join(p.state_dir, "rollbacks");
        memset(&ro, 0, sizeof ro);
        ro.mode = RELHOST_MODE_RUN;
        ro.hooks = WHEN_ON_ROLLBACK;
        ro.state_dir = dir;
        ro.record = record;
        ro.interactive = 0;
        ro.verbose = c->verbose;
        if (pipeline_run(&p, &ro, &rr) != 0)
            log_msg(RELHOST_LOG_ERROR, "on_rollback", "%s", error_last());
        run_result_free(&rr);
        free(dir);
    }
    plan_free(&p);
    return 0;
}

/* Roll back (or say what would happen) and regenerate the status page. */
static int do_rollback(const cli *c, const plan *p, const char *to, const char *reason,
                       int quarantine_from, int dry_run)
{
    registry *r = NULL;
    rollback_plan rp;
    char *refusal = NULL, *from_commit = NULL;
    int rc;
    if ((rc = registry_open(p->registry_dir, 0, &r)) == 0) {
        rc = registry_rollback(r, to, reason, quarantine_from, dry_run, p->baseline_path, &rp,
                               &refusal);
        if (rc == 0) {
            const manifest_release *fe = registry_entry(r, rp.from);
            from_commit = fe && fe->commit ? xstrdup(fe->commit) : NULL;
        }
    }
    registry_close(r);
    if (rc != 0) {
        log_msg(RELHOST_LOG_ERROR, NULL, "rollback: %s", refusal ? refusal : error_last());
        free(refusal);
        free(from_commit);
        return EXIT_USAGE;
    }
    if (dry_run) {
        out_printf("would roll back last_green %s -> %s%s%s (reason: %s); nothing changed\n",
                   rp.from, rp.to, quarantine_from ? " and quarantine " : "",
                   quarantine_from ? rp.from : "", reason ? reason : "none given");
        if (rp.baseline[0])
            out_printf("  %s\n", rp.baseline);
    } else {
        out_printf("rolled back last_green %s -> %s%s%s in %.1f ms (audit: %s/audit.jsonl)\n",
                   rp.from, rp.to, quarantine_from ? "; quarantined " : "",
                   quarantine_from ? rp.from : "", rp.duration_ms, p->registry_dir);
        if (rp.baseline[0])
            out_printf("  %s\n", rp.baseline);
        host_registry_site(p);
        run_rollback_hooks(c, &rp, reason, from_commit);
    }
    free(from_commit);
    return 0;
}

int cli_rollback(const cli *c)
{
    plan p;
    int code;
    if ((code = load(c, NULL, NULL, &p)) == 0)
        code = do_rollback(c, &p, c->to, c->reason, 0, c->dry_run);
    plan_free(&p);
    return code;
}

int cli_monitor(const cli *c)
{
    plan p;
    registry *r = NULL;
    char *version = NULL, *commit = NULL, record[128], *dir;
    const char *profile;
    run_options ro;
    run_result rr;
    int code = open_registry(c, &p, &r);
    if (code != 0) {
        registry_close(r);
        plan_free(&p);
        return code;
    }
    if (!registry_pointer(r, MANIFEST_LAST_GREEN)) {
        log_msg(RELHOST_LOG_ERROR, NULL,
                "monitor: registry %s has no last green release: "
                "nothing to monitor (a promote step sets it)",
                p.registry_dir);
        code = EXIT_USAGE;
    } else {
        const manifest_release *e = registry_entry(r, registry_pointer(r, MANIFEST_LAST_GREEN));
        version = xstrdup(registry_pointer(r, MANIFEST_LAST_GREEN));
        commit = e && e->commit ? xstrdup(e->commit) : NULL;
    }
    registry_close(r);
    profile = c->profile ? c->profile : p.monitor_profile;
    if (code == 0 && c->dry_run) {
        rollback_plan rp;
        char *refusal = NULL;
        out_printf("would run %s%s against last green release %s (commit %.12s)\n",
                   profile ? "profile " : "the plan's validations", profile ? profile : "", version,
                   commit ? commit : "unknown");
        if (registry_open(p.registry_dir, 0, &r) != 0)
            out_printf("the registry cannot be read now: %s\n", error_last());
        else if (registry_rollback(r, NULL, "monitor", 1, 1, p.baseline_path, &rp, &refusal) == 0)
            out_printf("on a failing required check it would roll back %s -> %s, quarantine "
                       "%s, and run the plan's on_rollback steps; %s\n",
                       rp.from, rp.to, rp.from, rp.baseline);
        else
            out_printf("on a failing required check it could not roll back: %s\n", refusal);
        free(refusal);
        registry_close(r);
    }
    plan_free(&p);
    if (code != 0 || c->dry_run) {
        free(version);
        free(commit);
        return code;
    }
    /* Reload for that release: its version and commit expand in the plan's templates. */
    if ((code = load(c, version, commit, &p)) != 0) {
        plan_free(&p);
        free(version);
        free(commit);
        return code;
    }
    {
        time_t t = time(NULL);
        struct tm tm;
        gmtime_r(&t, &tm);
        snprintf(record, sizeof record, "%s-monitor-", version);
        strftime(record + strlen(record), sizeof record - strlen(record), "%Y%m%dT%H%M%SZ", &tm);
    }
    profile = c->profile ? c->profile : p.monitor_profile; /* the first plan is freed */
    dir = path_join(p.state_dir, "monitor");
    memset(&ro, 0, sizeof ro);
    ro.mode = RELHOST_MODE_RUN;
    ro.monitor = 1;
    ro.profile = profile;
    ro.only = c->only.n ? (const char *const *)c->only.v : NULL;
    ro.state_dir = dir;
    ro.record = record;
    ro.interactive = 0;
    ro.verbose = c->verbose;
    out_printf("monitoring last green release %s (run record %s/release_%s.json)\n", version, dir,
               record);
    if (pipeline_run(&p, &ro, &rr) != 0) {
        log_msg(RELHOST_LOG_ERROR, NULL, "%s", error_last());
        code = EXIT_USAGE;
    } else {
        code = rr.exit_code;
        /* Only a verdict rolls back: a tool error says nothing about the release. */
        if (code == EXIT_FAILED) {
            char *reason = xasprintf("monitor %s: %s", record,
                                     rr.failure ? rr.failure : "a required step failed");
            if (do_rollback(c, &p, NULL, reason, 1, 0) != 0)
                log_msg(RELHOST_LOG_ERROR, NULL,
                        "monitor: release %s failed and could not be "
                        "rolled back: act by hand (relhost rollback --to VERSION)",
                        version);
            free(reason);
        }
    }
    run_result_free(&rr);
    free(dir);
    plan_free(&p);
    free(version);
    free(commit);
    return code;
}

int cli_waive(const cli *c)
{
    plan p;
    int code;
    if ((code = load(c, c->version, NULL, &p)) == 0)
        code = waiver_add(&p, c->steps.v[0], c->validation, c->reason, c->expires);
    plan_free(&p);
    return code;
}
