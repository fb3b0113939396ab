/* SPDX-License-Identifier: MIT */
#include "base/secrets.h"
#include "cli/cli.h"
#include "cli/cli_int.h"

#include "base/error.h"
#include "isolate/isolate.h"
#include "base/log.h"
#include "base/outcome.h"
#include "net/http.h"
#include "plan/keycheck.h"
#include "plan/options.h"
#include "plan/plan.h"
#include "plan/plan_keys.h"
#include "record/state.h"
#include "run/batch.h"
#include "run/guard.h"
#include "run/freeze.h"
#include "run/host.h"
#include "run/loop.h"
#include "run/pipeline.h"
#include "run/proc.h"
#include "view/explain.h"
#include "view/report.h"
#include "view/report_files.h"
#include "view/site.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Which options go with which command, and what each command needs. */
static int options_fit(cli *c)
{
    if (c->command != CLI_PLUGINS && !c->plan) {
        char *why = NULL;
        if (!(c->plan = c->plan_owned = cli_default_plan(&why))) {
            cli_usage_error("relhost: no plan given: pass -c PLAN, set RELHOST_CONFIG, or add "
                            "relhost.cfg at the repository root (%s)\n",
                            why);
            free(why);
            return EXIT_USAGE;
        }
    }
    if (c->describe && c->command != CLI_PLUGINS) {
        cli_usage_error("relhost: --describe goes with `relhost plugins`\n");
        return EXIT_USAGE;
    }
    if ((c->logs || c->tail) && c->command != CLI_STATUS) {
        cli_usage_error("relhost: --logs and --tail go with `relhost status`\n");
        return EXIT_USAGE;
    }
    if (c->json && c->command != CLI_STATUS && c->command != CLI_EXPLAIN &&
        c->command != CLI_RELEASES) {
        cli_usage_error("relhost: --json goes with `relhost status`, `explain` or `releases`\n");
        return EXIT_USAGE;
    }
    if (c->follow && c->command != CLI_STATUS) {
        cli_usage_error("relhost: --follow goes with `relhost status`\n");
        return EXIT_USAGE;
    }
    if (c->follow && (c->json || c->logs)) {
        cli_usage_error("relhost: status --follow shows the table; it takes neither --json "
                        "(poll `relhost status --json` instead) nor --logs\n");
        return EXIT_USAGE;
    }
    if (c->json && c->logs) {
        cli_usage_error("relhost: status --json lists each job's log_path; --logs goes with the "
                        "table\n");
        return EXIT_USAGE;
    }
    if (c->command == CLI_FREEZE && (!c->reason || !*c->reason)) {
        cli_usage_error("relhost: freeze needs --reason TEXT (it goes into the audit log)\n");
        return EXIT_USAGE;
    }
    if (c->reason && c->command != CLI_FREEZE && c->command != CLI_UNFREEZE &&
        c->command != CLI_ROLLBACK && c->command != CLI_WAIVE) {
        cli_usage_error("relhost: --reason goes with `relhost freeze` / `unfreeze` / `rollback` "
                        "/ `waive`\n");
        return EXIT_USAGE;
    }
    if (((c->command == CLI_ROLLBACK && !c->dry_run) || c->command == CLI_WAIVE) &&
        (!c->reason || !*c->reason)) {
        cli_usage_error("relhost: %s needs --reason TEXT (it goes into the audit log)\n",
                        c->command == CLI_ROLLBACK ? "rollback" : "waive");
        return EXIT_USAGE;
    }
    if (c->command == CLI_WAIVE && (!c->version || c->steps.n != 1)) {
        cli_usage_error("relhost: waive needs --release V and one --step S (the release and the "
                        "step whose result it waives)\n");
        return EXIT_USAGE;
    }
    if ((c->validation || c->expires) && c->command != CLI_WAIVE) {
        cli_usage_error("relhost: --validation and --expires go with `relhost waive`\n");
        return EXIT_USAGE;
    }
    if (c->to && c->command != CLI_ROLLBACK) {
        cli_usage_error("relhost: --to goes with `relhost rollback`\n");
        return EXIT_USAGE;
    }
    if (c->dry_run && c->command != CLI_ROLLBACK && c->command != CLI_MONITOR) {
        cli_usage_error("relhost: --dry-run goes with `relhost rollback` / `monitor`\n");
        return EXIT_USAGE;
    }
    if ((c->format && c->command != CLI_REPORT) ||
        (c->output && c->command != CLI_REPORT && c->command != CLI_SITE)) {
        cli_usage_error("relhost: --format goes with `relhost report`, -o with `report` or "
                        "`site`\n");
        return EXIT_USAGE;
    }
    if (c->command == CLI_REPORT && report_format_parse(c->format) == REPORT_NONE) {
        const char *const formats[] = {"junit", "json", "md"};
        char *hint = c->format ? keycheck_hint(c->format, formats, 3, NULL, NULL) : xstrdup("");
        cli_usage_error("relhost: report needs --format junit, json or md%s%s%s%s\n",
                        c->format ? " (not '" : "", c->format ? c->format : "",
                        c->format ? "')" : "", hint);
        free(hint);
        return EXIT_USAGE;
    }
    if ((c->report_junit || c->report_json || c->report_md) &&
        (c->command != CLI_RUN || c->check)) {
        cli_usage_error("relhost: --report-junit/--report-json/--report-md go with a run "
                        "(`relhost -c PLAN`); for an earlier release use `relhost report`\n");
        return EXIT_USAGE;
    }
    if (c->check && c->command != CLI_RUN) {
        cli_usage_error("relhost: --check goes with `relhost -c PLAN` (run)\n");
        return EXIT_USAGE;
    }
    return 0;
}

int cli_parse(cli *c, int argc, char **argv)
{
    int rc;
    memset(c, 0, sizeof *c);
    c->command = CLI_RUN;
    if (argc <= 1) {
        c->help = CLI_HELP_SHORT; /* `relhost` alone */
        return 0;
    }
    if ((rc = cli_read_args(c, argc, argv)) != 0)
        return rc;
    if (c->help || c->show_version || c->command == CLI_HELP || c->command == CLI_COMPLETION)
        return 0;
    return options_fit(c);
}

void cli_free(cli *c)
{
    free(c->plan_owned);
    sv_free(&c->steps);
    sv_free(&c->only);
    sv_free(&c->rerun);
    sv_free(&c->sets);
}

static int cmd_plugins(const cli *c)
{
    plan p;
    loader ld = {0};
    strvec dirs = {0};
    loader *use = &ld;
    int code = 0;
    memset(&p, 0, sizeof p);
    if (c->plan) {
        plan_options po = {
            .path = c->plan, .sets = (const char *const *)c->sets.v, .host = host_table()};
        /* A plan that fails to validate still names its plugin_path; list what is there. */
        if (plan_load(&po, &p) != 0 && p.ld.dirs.n == 0) {
            log_msg(RELHOST_LOG_ERROR, NULL, "%s", error_last());
            plan_free(&p);
            return EXIT_USAGE;
        }
        use = &p.ld;
    } else {
        loader_default_dirs(&dirs);
        loader_scan(&ld, (const char *const *)dirs.v, dirs.n, host_table());
    }
    if (c->describe && strcmp(c->describe, "core") == 0) {
        plan_keys_describe(stdout); /* the plan's own top-level keys */
    } else if (c->describe) {
        const loaded_plugin *lp = loader_find(use, c->describe);
        const char *const core[] = {"core"};
        if (!lp) {
            /* "core" is no file: the loader cannot suggest it */
            int near_core = !strstr(error_last(), "did you mean") &&
                            keycheck_nearest(c->describe, core, 1) != NULL;
            log_msg(RELHOST_LOG_ERROR, NULL, "%s%s", error_last(),
                    near_core ? " (did you mean 'core'?)" : "");
            code = EXIT_USAGE;
        } else {
            options_describe(&lp->desc, stdout);
        }
    } else {
        loader_open_all(use); /* the listing shows every file, broken ones too */
        report_plugins(use);
    }
    plan_free(&p);
    loader_free(&ld);
    sv_free(&dirs);
    return code;
}

/* After a run: the reports asked for with --report-*, and the Markdown appended to
 * $GITHUB_STEP_SUMMARY under GitHub Actions, all made from the state as the run saved it. A
 * report that cannot be written is an error on stderr; returns how many were not written (a
 * passing run then exits 3: the CI that reads the report must not see a pass without it). */
static int write_reports(const plan *p, const cli *c)
{
    const char *gh = getenv("GITHUB_STEP_SUMMARY");
    const struct {
        report_format fmt;
        const char *path;
        int flags;
    } w[] = {{REPORT_JUNIT, c->report_junit, 0},
             {REPORT_JSON, c->report_json, 0},
             {REPORT_MD, c->report_md, 0},
             {REPORT_MD, gh && *gh ? gh : NULL, REPORT_APPEND}};
    state *st = NULL;
    int any = 0, failed = 0;
    for (size_t i = 0; i < sizeof w / sizeof w[0]; i++)
        any += w[i].path != NULL;
    if (!any)
        return 0;
    if (state_open(p->state_dir, p->version, STATE_READONLY, &st) != 0) {
        log_msg(RELHOST_LOG_ERROR, "report", "release %s: %s", p->version, error_last());
        return any;
    }
    for (size_t i = 0; i < sizeof w / sizeof w[0]; i++) {
        char *err = NULL;
        if (w[i].path &&
            report_write(w[i].fmt, state_root(st), p->repo, w[i].path, w[i].flags, &err) != 0) {
            log_msg(RELHOST_LOG_ERROR, "report", "%s", err ? err : error_last());
            failed++;
        }
        free(err);
    }
    state_close(st);
    return failed;
}

/* The state can no longer be saved (a full disk, an I/O error): the run stops at once, as on
 * SIGTERM, and ends with 75 naming the file and the cause; nothing is reported that was not
 * stored (the reports are read back from the state). */
static void on_state_broken(const char *why) { loop_stop_failed(EXIT_DEFERRED, why); }

/* An exit() inside a plugin call ends relhost with 3 (core/run/guard.h); the reports the
 * command line asked for are written first, from the state the guard recorded. */
typedef struct exit_reports {
    const plan *p;
    const cli *c;
} exit_reports;

static void reports_on_plugin_exit(void *data)
{
    const exit_reports *x = data;
    (void)write_reports(x->p, x->c); /* relhost exits 3 anyway */
}

static int reports_at_end(void *data)
{
    const exit_reports *x = data;
    int failed = write_reports(x->p, x->c);
    if (failed)
        log_msg(RELHOST_LOG_ERROR, "report", "a report asked for was not written: exit 3");
    return failed;
}

/* relhost report: one report of a release, from its state (read-only, no lock). */
static int cmd_report(const cli *c, const plan *p)
{
    state *st = state_open_recorded(p->state_dir, p->version, "was run");
    char *err = NULL;
    int code = 0;
    if (!st)
        return EXIT_USAGE;
    if (report_write(report_format_parse(c->format), state_root(st), p->repo, c->output, 0, &err) !=
        0) {
        log_msg(RELHOST_LOG_ERROR, NULL, "%s", err ? err : error_last());
        code = EXIT_USAGE;
    }
    free(err);
    state_close(st);
    return code;
}

/* relhost site: the registry's status page, from the manifest, the states and the baseline. */
static int cmd_site(const cli *c, const plan *p)
{
    char *dir = c->output ? path_absolute(c->output, NULL) : path_join(p->registry_dir, "site");
    int rc = site_write(p, dir);
    if (rc != 0)
        log_msg(RELHOST_LOG_ERROR, NULL, "%s", error_last());
    else
        out_printf("status page written to %s/index.html\n", dir);
    free(dir);
    return rc ? EXIT_USAGE : 0;
}

/* relhost freeze / unfreeze: the kill switch, audited; the status page shows it. */
static int cmd_freeze(const cli *c, plan *p)
{
    int rc = c->command == CLI_FREEZE ? freeze_set(p->state_dir, p->registry_dir, c->reason)
                                      : freeze_clear(p->state_dir, p->registry_dir, c->reason);
    if (rc != 0) {
        log_msg(RELHOST_LOG_ERROR, NULL, "%s", error_last());
        return EXIT_USAGE;
    }
    out_printf("%s %s (audit: %s/audit.jsonl)\n",
               c->command == CLI_FREEZE ? "publishing frozen for" : "publishing unfrozen for",
               p->state_dir, p->registry_dir);
    host_registry_site_refresh(p); /* its banner shows the kill switch */
    return 0;
}

static int cmd_run(const cli *c)
{
    plan p;
    plan_options po = {.path = c->plan,
                       .version = c->version,
                       .sets = (const char *const *)c->sets.v,
                       .host = host_table(),
                       .new_release = c->new_release,
                       .newest = c->command == CLI_STATUS || c->command == CLI_REPORT ||
                                 c->command == CLI_EXPLAIN || c->command == CLI_SITE,
                       .no_plugins = c->command == CLI_REPORT || c->command == CLI_EXPLAIN ||
                                     c->command == CLI_SITE,
                       .any_release = c->command == CLI_SITE};
    run_options ro;
    run_result rr;
    exit_reports xr = {.p = &p, .c = c};
    int code;

    guard_install(); /* before the first plugin is loaded */
    state_on_broken(on_state_broken);
    if (plan_load(&po, &p) != 0) {
        log_msg(RELHOST_LOG_ERROR, NULL, "%s", error_last());
        plan_free(&p);
        return EXIT_USAGE;
    }
    if (c->command == CLI_SITE || c->command == CLI_EXPLAIN || c->command == CLI_REPORT) {
        /* the commands that only read a release */
        code = c->command == CLI_SITE      ? cmd_site(c, &p)
               : c->command == CLI_EXPLAIN ? explain_release(&p, c->json)
                                           : cmd_report(c, &p);
        plan_free(&p);
        return code;
    }
    if (p.resumed && c->command != CLI_STATUS)
        log_msg(RELHOST_LOG_INFO, NULL,
                "%s release %s (the newest, neither published nor "
                "quarantined; --new starts a new one)",
                c->command == CLI_KILL ? "cancelling the jobs of" : "continuing", p.version);
    if (c->command == CLI_FREEZE || c->command == CLI_UNFREEZE) {
        code = cmd_freeze(c, &p);
        plan_free(&p);
        return code;
    }
    if (c->command == CLI_KILL && !p.resumed && !c->version) {
        out_printf("no unfinished release in %s: nothing to cancel\n", p.state_dir);
        plan_free(&p);
        return 0;
    }
    if (c->command == CLI_STATUS || c->command == CLI_KILL) {
        batch_options bo = {.only = c->only.n ? (const char *const *)c->only.v : NULL,
                            .logs = c->logs,
                            .tail = c->tail ? c->tail : 20,
                            .json = c->json,
                            .follow = c->follow};
        code = c->command == CLI_STATUS ? batch_status(&p, &bo) : batch_kill(&p, &bo);
        plan_free(&p);
        return code;
    }
    memset(&ro, 0, sizeof ro);
    ro.mode = c->check ? RELHOST_MODE_CHECK
                       : (c->command == CLI_LAUNCH ? RELHOST_MODE_LAUNCH : RELHOST_MODE_RUN);
    ro.steps = c->steps.n ? (const char *const *)c->steps.v : NULL;
    ro.rerun = c->rerun.n ? (const char *const *)c->rerun.v : NULL;
    ro.only = c->only.n ? (const char *const *)c->only.v : NULL;
    ro.profile = c->profile;
    ro.retry_failed = c->retry_failed;
    ro.new_candidate = c->new_candidate;
    ro.new_release = c->new_release;
    ro.interactive = !c->no_interactive && isatty(STDIN_FILENO);
    ro.verbose = c->verbose;
    if (ro.mode == RELHOST_MODE_RUN) {
        guard_set_exit_hook(reports_on_plugin_exit, &xr);
        ro.write_reports = reports_at_end; /* before the verdict line, which says if one failed */
        ro.reports_arg = &xr;
    }
    if (pipeline_run(&p, &ro, &rr) != 0) {
        log_msg(RELHOST_LOG_ERROR, NULL, "%s", error_last());
        code = EXIT_USAGE;
    } else {
        code = rr.exit_code; /* --check: 0, or 3 when a plugin died describing its step */
    }
    guard_set_exit_hook(NULL, NULL);
    {
        const char *why;
        if (loop_stop_code(&why)) {
            log_msg(RELHOST_LOG_ERROR, NULL, "the run was stopped: %s", why);
            code = loop_stop_code(NULL);
        }
    }
    run_result_free(&rr);
    plan_free(&p);
    return code;
}

/* Before anything runs, whatever the subcommand: every variable whose name looks secret is
 * sealed (no child inherits it) and its value masked in everything relhost writes or prints.
 * The installed plugins' secret variables are sealed when the plugins are scanned. */
static void warn_short_secrets(strvec *shorts_in)
{
    strvec shorts = *shorts_in;
    for (size_t i = 0; i < shorts.n; i++)
        log_msg(RELHOST_LOG_WARN, NULL,
                "%s looks like a secret but holds fewer than %d bytes: no process relhost "
                "starts gets it, but it is too short to mask in output",
                shorts.v[i], SECRETS_MIN_LEN);
    sv_free(shorts_in);
}

int cli_main(int argc, char **argv)
{
    cli c;
    int code;
    strvec shorts = {0};

    if (isolate_is_server(argc, argv))
        return isolate_server_main(argc, argv); /* an isolated plugin's process (hidden) */
    secrets_seal_environ(&shorts); /* first: even a usage error never echoes a secret */
    code = cli_parse(&c, argc, argv);
    if (code != 0 || c.help || c.show_version || c.command == CLI_COMPLETION)
        sv_free(&shorts);
    if (code != 0) {
        cli_free(&c);
        return code;
    }
    if (c.help || c.command == CLI_COMPLETION) {
        if (c.command == CLI_COMPLETION)
            code = cli_completion(c.topic);
        else if (c.help == CLI_HELP_SHORT)
            cli_usage_short(stdout);
        else if (c.help == CLI_HELP_COMMAND)
            cli_usage_command(stdout, c.help_of);
        else
            cli_usage(stdout);
        cli_free(&c);
        return code;
    }
    if (c.show_version) {
        printf("relhost %s (plugin ABI %d.%d)\n", RELHOST_VERSION, RELHOST_ABI_MAJOR,
               RELHOST_ABI_MINOR);
        cli_free(&c);
        return 0;
    }
    log_init(c.quiet ? -1 : c.verbose, cli_use_color(&c));
    if (c.quiet && (c.command == CLI_RUN || c.command == CLI_LAUNCH))
        out_set_quiet(1); /* the console report's verdict line lifts it for itself */
    {
        strvec words = {0};
        int names_release;
        cli_resume_words(argc, argv, &words, &names_release);
        report_set_command((int)words.n, words.v, names_release);
        sv_free(&words);
    }
    warn_short_secrets(&shorts);
    if (loop_init() != 0) {
        log_msg(RELHOST_LOG_ERROR, NULL, "%s", error_last());
        cli_free(&c);
        return EXIT_USAGE;
    }
    options_require_pass_env(c.command == CLI_RUN || c.command == CLI_LAUNCH ||
                             c.command == CLI_MONITOR);
    proc_init(); /* the HTTP client starts with the first request (core/net/curl_load.c) */
    code = c.command == CLI_PLUGINS    ? cmd_plugins(&c)
           : c.command == CLI_RELEASES ? cli_releases(&c)
           : c.command == CLI_ROLLBACK ? cli_rollback(&c)
           : c.command == CLI_MONITOR  ? cli_monitor(&c)
           : c.command == CLI_WAIVE    ? cli_waive(&c)
                                       : cmd_run(&c);
    if (loop_interrupted() && code != EXIT_USAGE && !loop_stop_code(NULL))
        code = exit_code_interrupted(loop_interrupt_signal());
    proc_kill_all();
    http_fini();
    loop_fini();
    fflush(stdout);
    cli_free(&c);
    return code;
}
