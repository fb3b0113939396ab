/* SPDX-License-Identifier: MIT */
#include "base/secrets.h"
#include "cli/cli.h"

#include "base/error.h"
#include "isolate/isolate.h"
#include "base/log.h"
#include "base/outcome.h"
#include "net/http.h"
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

static void usage_options(FILE *out);

void cli_usage(FILE *out)
{
    fprintf(
        out,
        "usage: relhost [run] -c PLAN [options]        qualify a release: run the plan's steps in order\n"
        "       relhost launch -c PLAN [options]        submit the release's remote jobs and return\n"
        "       relhost status -c PLAN [--version V] [--only GLOB] [--logs] [--tail N]\n"
        "                      [--json | --follow]\n"
        "                                               refresh and show the release's jobs\n"
        "       relhost explain -c PLAN [--version V] [--json]\n"
        "                                               why a release is where it is, from its state\n"
        "       relhost kill -c PLAN [--version V] [--only GLOB]   cancel its unfinished remote jobs\n"
        "       relhost freeze -c PLAN --reason TEXT   stop publishing (gates still run; exit 4)\n"
        "       relhost unfreeze -c PLAN [--reason TEXT]\n"
        "       relhost releases -c PLAN [--json]         the registry: releases, status, pointers\n"
        "       relhost rollback -c PLAN --reason TEXT [--to VERSION] [--dry-run]\n"
        "                                               move last_green back (to the previous green\n"
        "                                               release, or VERSION), then run on_rollback\n"
        "       relhost waive -c PLAN --version V --step S [--validation N] --reason TEXT\n"
        "                     [--expires T]           count a failed step (or validation) as passing\n"
        "                                               for promotion, audited; shown as WAIVED\n"
        "       relhost monitor -c PLAN [--profile P] [--dry-run]\n"
        "                                               run the monitor profile against last_green;\n"
        "                                               a required failure rolls back by itself\n"
        "       relhost report -c PLAN [--version V] --format junit|json|md [-o FILE]\n"
        "                                               a release's report, from its state (default:\n"
        "                                               the newest release of the plan; -o -: stdout)\n"
        "       relhost site -c PLAN [-o DIR]           write the registry's status page DIR/index.html\n"
        "                                               (default DIR: <registry_dir>/site)\n"
        "       relhost plugins [-c PLAN] [--describe NAME]   list plugins, or one plugin's options\n"
        "       relhost -V | --help\n"
        "\n");
    usage_options(out);
}

/* The options, the secrets and the exit codes of --help. */
static void usage_options(FILE *out)
{
    fprintf(
        out,
        "options:\n"
        "  -c, --config PLAN      the release plan (libconfig; see relhost.cfg(5))\n"
        "      --step NAME        run only this step (repeatable) of the release; others are left as\n"
        "                         they are\n"
        "      --rerun STEP       run STEP (a name or glob; repeatable) again although it already\n"
        "                         PASSED in this release; a PASSED step is otherwise \"already\n"
        "                         completed\" and not run again (its tag, post, promotion not redone)\n"
        "      --check            load and validate everything, print the plan and what each step\n"
        "                         would do and which secrets it passes; run nothing, contact\n"
        "                         nothing, write nothing\n"
        "      --version V        the release version (default: the plan's `version`, or UTC\n"
        "                         YYYY.MM.DD-HHMM); [0-9A-Za-z][0-9A-Za-z._-]{0,63}\n"
        "      --new              start a new release instead of continuing the newest one that was\n"
        "                         neither published nor quarantined\n"
        "      --new-candidate    the plan's ref moved: requalify this release on the new commit\n"
        "                         (its earlier results are dropped; without it, exit 2)\n"
        "      --profile NAME     run the validations of this plan profile (e.g. quick, comprehensive)\n"
        "      --only GLOB        only validations whose name matches GLOB (repeatable)\n"
        "      --retry-failed     re-run validations that failed in an earlier run of this release\n"
        "      --set KEY.PATH=V   override one plan setting after loading, validated like the file\n"
        "                         (repeatable), e.g. --set runners.cluster.partition=debug;\n"
        "                         steps are addressed by name: --set steps.smoke.timeout=5m\n"
        "      --describe NAME    with `plugins`: print NAME's option table (core: the plan's\n"
        "                         own top-level keys)\n"
        "      --reason TEXT      with `freeze` / `unfreeze`: why (kept in the audit log)\n"
        "      --report-junit FILE  after the run, write the release as JUnit XML to FILE\n"
        "      --report-json FILE   ... as the JSON report (docs/report.schema.json)\n"
        "      --report-md FILE     ... as Markdown release notes\n"
        "      --format F         with `report`: junit, json or md\n"
        "      --to VERSION       with `rollback`: the release to make last green (default: the\n"
        "                         previous green one)\n"
        "      --dry-run          with `rollback` / `monitor`: say what would happen, change nothing\n"
        "      --validation N     with `waive`: waive this validation of the step only\n"
        "      --expires T        with `waive`: the waiver ends at T (UTC 2026-12-01T00:00:00Z, or a\n"
        "                         duration from now: 7d, 12h)\n"
        "  -o, --output FILE      with `report`: write to FILE (default: stdout); with `site`: the\n"
        "                         folder of index.html\n"
        "      --logs             with `status`: print the last lines of each job's log\n"
        "      --tail N           with `status --logs`: how many lines (default 20)\n"
        "      --json             with `status` / `explain`: one JSON object (docs/status.schema.json,\n"
        "                         docs/explain.schema.json)\n"
        "      --follow           with `status`: redraw every 2 s until the release's run ends\n"
        "                         (on a terminal in place, else a line per change); Ctrl-C stops\n"
        "      --no-interactive   never ask a human (manual gates become INCONCLUSIVE)\n"
        "      --no-color         no ANSI colours (also when NO_COLOR is set or stdout is no TTY)\n"
        "  -q, --quiet            only errors on stderr\n"
        "  -v, --verbose          more detail on stderr (repeatable): commands run, plugin debug\n"
        "  -V                     print relhost's own version\n"
        "  -h, --help             this text\n"
        "\n"
        "environment:\n"
        "  RELHOST_PLUGIN_PATH    colon-separated plugin folders, searched after the plan's plugin_path\n"
        "  NO_COLOR               disables colours\n"
        "  RELHOST_CA_BUNDLE      PEM CA bundle for HTTPS (verification cannot be turned off)\n"
        "  RELHOST_FREEZE         1: publishing is frozen, as after `relhost freeze`\n"
        "  GITHUB_STEP_SUMMARY    set (GitHub Actions): each run appends its Markdown report there\n"
        "  *TOKEN* *SECRET* *PASSWORD* *PASSWD* *API_KEY* *APIKEY* *WEBHOOK* *CREDENTIAL*\n"
        "  *PRIVATE_KEY* *ACCESS_KEY*, and every plugin's secret variable: sealed. No process\n"
        "                         relhost starts inherits them (pass_env hands one over) and their\n"
        "                         values are masked in all output; see relhost.cfg(5) SECRETS\n"
        "\n"
        "exit status:\n"
        "  0    every required step passed (or was waived)\n"
        "  1    a required step FAILED (a verdict: the candidate is bad)\n"
        "  2    usage error, invalid plan, missing or broken plugin, corrupt or locked state\n"
        "  3    a required step could not decide (INCONCLUSIVE, or an ERROR that retrying won't fix);\n"
        "       also a plugin that called exit() inside a call (its step is ERROR plugin_exited),\n"
        "       and a passing run whose --report-* file could not be written\n"
        "  4    gates green but publishing is frozen\n"
        "  75   deferred: a required step hit a retryable tool error, or the state could not be\n"
        "       saved (a full disk: the run stopped at once); run again later\n"
        "  130  interrupted (SIGINT/SIGTERM); state is saved, run again to resume\n");
}

/* A usage error on stderr, masked like all output: an argument may hold a secret. */
static void usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    out_vprintf(stderr, fmt, ap);
    va_end(ap);
}

enum {
    O_STEP = 256,
    O_CHECK,
    O_VERSION,
    O_NEW,
    O_NEWCAND,
    O_PROFILE,
    O_ONLY,
    O_RETRY,
    O_SET,
    O_NOINT,
    O_NOCOLOR,
    O_DESCRIBE,
    O_LOGS,
    O_TAIL,
    O_REASON,
    O_REPORT_JUNIT,
    O_REPORT_JSON,
    O_REPORT_MD,
    O_FORMAT,
    O_JSON,
    O_FOLLOW,
    O_TO,
    O_DRYRUN,
    O_VALIDATION,
    O_EXPIRES,
    O_RERUN
};
static const struct option longopts[] = {{"config", required_argument, NULL, 'c'},
                                         {"step", required_argument, NULL, O_STEP},
                                         {"rerun", required_argument, NULL, O_RERUN},
                                         {"check", no_argument, NULL, O_CHECK},
                                         {"version", required_argument, NULL, O_VERSION},
                                         {"new", no_argument, NULL, O_NEW},
                                         {"new-candidate", no_argument, NULL, O_NEWCAND},
                                         {"profile", required_argument, NULL, O_PROFILE},
                                         {"only", required_argument, NULL, O_ONLY},
                                         {"retry-failed", no_argument, NULL, O_RETRY},
                                         {"set", required_argument, NULL, O_SET},
                                         {"no-interactive", no_argument, NULL, O_NOINT},
                                         {"no-color", no_argument, NULL, O_NOCOLOR},
                                         {"describe", required_argument, NULL, O_DESCRIBE},
                                         {"logs", no_argument, NULL, O_LOGS},
                                         {"tail", required_argument, NULL, O_TAIL},
                                         {"reason", required_argument, NULL, O_REASON},
                                         {"report-junit", required_argument, NULL, O_REPORT_JUNIT},
                                         {"report-json", required_argument, NULL, O_REPORT_JSON},
                                         {"report-md", required_argument, NULL, O_REPORT_MD},
                                         {"format", required_argument, NULL, O_FORMAT},
                                         {"json", no_argument, NULL, O_JSON},
                                         {"follow", no_argument, NULL, O_FOLLOW},
                                         {"to", required_argument, NULL, O_TO},
                                         {"dry-run", no_argument, NULL, O_DRYRUN},
                                         {"validation", required_argument, NULL, O_VALIDATION},
                                         {"expires", required_argument, NULL, O_EXPIRES},
                                         {"output", required_argument, NULL, 'o'},
                                         {"quiet", no_argument, NULL, 'q'},
                                         {"verbose", no_argument, NULL, 'v'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};

/* The subcommands: `relhost NAME ...`; a first argument that is an option means `run`. */
static const struct {
    const char *name;
    cli_command command;
} commands[] = {
    {"run", CLI_RUN},           {"plugins", CLI_PLUGINS}, {"launch", CLI_LAUNCH},
    {"status", CLI_STATUS},     {"kill", CLI_KILL},       {"freeze", CLI_FREEZE},
    {"unfreeze", CLI_UNFREEZE}, {"report", CLI_REPORT},   {"releases", CLI_RELEASES},
    {"rollback", CLI_ROLLBACK}, {"monitor", CLI_MONITOR}, {"waive", CLI_WAIVE},
    {"explain", CLI_EXPLAIN},   {"site", CLI_SITE},
};

/* The options after the command (argv[first..]), into c. */
static int read_options(cli *c, int argc, char **argv, int first)
{
    int opt;
    optind = first;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":c:o:qvVh", longopts, NULL)) != -1) {
        switch (opt) {
        case 'c': c->plan = optarg; break;
        case O_STEP: sv_push(&c->steps, optarg); break;
        case O_RERUN: sv_push(&c->rerun, optarg); break;
        case O_CHECK: c->check = 1; break;
        case O_VERSION: c->version = optarg; break;
        case O_NEW: c->new_release = 1; break;
        case O_NEWCAND: c->new_candidate = 1; break;
        case O_PROFILE: c->profile = optarg; break;
        case O_ONLY: sv_push(&c->only, optarg); break;
        case O_RETRY: c->retry_failed = 1; break;
        case O_SET: sv_push(&c->sets, optarg); break;
        case O_NOINT: c->no_interactive = 1; break;
        case O_NOCOLOR: c->no_color = 1; break;
        case O_DESCRIBE: c->describe = optarg; break;
        case O_LOGS: c->logs = 1; break;
        case O_REASON: c->reason = optarg; break;
        case O_TAIL: {
            char *end;
            long t = strtol(optarg, &end, 10);
            if (*end || t < 1 || t > 100000) {
                usage_error("relhost: --tail wants a number of lines 1..100000, got '%s'\n",
                            optarg);
                return EXIT_USAGE;
            }
            c->tail = (int)t;
            break;
        }
        case O_REPORT_JUNIT: c->report_junit = optarg; break;
        case O_REPORT_JSON: c->report_json = optarg; break;
        case O_REPORT_MD: c->report_md = optarg; break;
        case O_FORMAT: c->format = optarg; break;
        case O_JSON: c->json = 1; break;
        case O_FOLLOW: c->follow = 1; break;
        case O_TO: c->to = optarg; break;
        case O_DRYRUN: c->dry_run = 1; break;
        case O_VALIDATION: c->validation = optarg; break;
        case O_EXPIRES: c->expires = optarg; break;
        case 'o': c->output = optarg; break;
        case 'q': c->quiet = 1; break;
        case 'v': c->verbose++; break;
        case 'V': c->show_version = 1; break;
        case 'h': c->help = 1; break;
        case ':':
            usage_error("relhost: option %s needs a value; try relhost --help\n", argv[optind - 1]);
            return EXIT_USAGE;
        default:
            usage_error("relhost: unknown option %s; try relhost --help\n", argv[optind - 1]);
            return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        usage_error("relhost: unexpected argument '%s'; try relhost --help\n", argv[optind]);
        return EXIT_USAGE;
    }
    return 0;
}

/* Which options go with which command, and what each command needs. */
static int options_fit(cli *c)
{
    if (c->command != CLI_PLUGINS && !c->plan) {
        usage_error("relhost: no plan given; use relhost -c PLAN (try relhost --help)\n");
        return EXIT_USAGE;
    }
    if (c->describe && c->command != CLI_PLUGINS) {
        usage_error("relhost: --describe goes with `relhost plugins`\n");
        return EXIT_USAGE;
    }
    if ((c->logs || c->tail) && c->command != CLI_STATUS) {
        usage_error("relhost: --logs and --tail go with `relhost status`\n");
        return EXIT_USAGE;
    }
    if (c->json && c->command != CLI_STATUS && c->command != CLI_EXPLAIN &&
        c->command != CLI_RELEASES) {
        usage_error("relhost: --json goes with `relhost status`, `explain` or `releases`\n");
        return EXIT_USAGE;
    }
    if (c->follow && c->command != CLI_STATUS) {
        usage_error("relhost: --follow goes with `relhost status`\n");
        return EXIT_USAGE;
    }
    if (c->follow && (c->json || c->logs)) {
        usage_error("relhost: status --follow shows the table; it takes neither --json "
                    "(poll `relhost status --json` instead) nor --logs\n");
        return EXIT_USAGE;
    }
    if (c->json && c->logs) {
        usage_error("relhost: status --json lists each job's log_path; --logs goes with the "
                    "table\n");
        return EXIT_USAGE;
    }
    if (c->command == CLI_FREEZE && (!c->reason || !*c->reason)) {
        usage_error("relhost: freeze needs --reason TEXT (it goes into the audit log)\n");
        return EXIT_USAGE;
    }
    if (c->reason && c->command != CLI_FREEZE && c->command != CLI_UNFREEZE &&
        c->command != CLI_ROLLBACK && c->command != CLI_WAIVE) {
        usage_error("relhost: --reason goes with `relhost freeze` / `unfreeze` / `rollback` "
                    "/ `waive`\n");
        return EXIT_USAGE;
    }
    if ((c->command == CLI_ROLLBACK || c->command == CLI_WAIVE) && (!c->reason || !*c->reason)) {
        usage_error("relhost: %s needs --reason TEXT (it goes into the audit log)\n",
                    c->command == CLI_ROLLBACK ? "rollback" : "waive");
        return EXIT_USAGE;
    }
    if (c->command == CLI_WAIVE && (!c->version || c->steps.n != 1)) {
        usage_error("relhost: waive needs --version V and one --step S (the release and the "
                    "step whose result it waives)\n");
        return EXIT_USAGE;
    }
    if ((c->validation || c->expires) && c->command != CLI_WAIVE) {
        usage_error("relhost: --validation and --expires go with `relhost waive`\n");
        return EXIT_USAGE;
    }
    if (c->to && c->command != CLI_ROLLBACK) {
        usage_error("relhost: --to goes with `relhost rollback`\n");
        return EXIT_USAGE;
    }
    if (c->dry_run && c->command != CLI_ROLLBACK && c->command != CLI_MONITOR) {
        usage_error("relhost: --dry-run goes with `relhost rollback` / `monitor`\n");
        return EXIT_USAGE;
    }
    if ((c->format && c->command != CLI_REPORT) ||
        (c->output && c->command != CLI_REPORT && c->command != CLI_SITE)) {
        usage_error("relhost: --format goes with `relhost report`, -o with `report` or "
                    "`site`\n");
        return EXIT_USAGE;
    }
    if (c->command == CLI_REPORT && report_format_parse(c->format) == REPORT_NONE) {
        usage_error("relhost: report needs --format junit, json or md%s%s%s\n",
                    c->format ? " (not '" : "", c->format ? c->format : "", c->format ? "')" : "");
        return EXIT_USAGE;
    }
    if ((c->report_junit || c->report_json || c->report_md) &&
        (c->command != CLI_RUN || c->check)) {
        usage_error("relhost: --report-junit/--report-json/--report-md go with a run "
                    "(`relhost -c PLAN`); for an earlier release use `relhost report`\n");
        return EXIT_USAGE;
    }
    if (c->check && c->command != CLI_RUN) {
        usage_error("relhost: --check goes with `relhost -c PLAN` (run)\n");
        return EXIT_USAGE;
    }
    return 0;
}

int cli_parse(cli *c, int argc, char **argv)
{
    int first = 1;
    memset(c, 0, sizeof *c);
    c->command = CLI_RUN;
    if (argc > 1 && argv[1][0] != '-') {
        size_t k = 0;
        while (k < sizeof commands / sizeof commands[0] && strcmp(argv[1], commands[k].name) != 0)
            k++;
        if (k == sizeof commands / sizeof commands[0]) {
            usage_error("relhost: unknown command '%s'; try relhost --help\n", argv[1]);
            return EXIT_USAGE;
        }
        c->command = commands[k].command;
        first = 2;
    }
    if (read_options(c, argc, argv, first) != 0)
        return EXIT_USAGE;
    if (c->help || c->show_version)
        return 0;
    return options_fit(c);
}

void cli_free(cli *c)
{
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
        if (!lp) {
            log_msg(RELHOST_LOG_ERROR, NULL, "%s", error_last());
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

static int cmd_run(const cli *c)
{
    plan p;
    plan_options po = {.path = c->plan,
                       .version = c->version,
                       .sets = (const char *const *)c->sets.v,
                       .host = host_table(),
                       .new_release = c->new_release,
                       .newest = c->command == CLI_STATUS || c->command == CLI_REPORT ||
                                 c->command == CLI_EXPLAIN || c->command == CLI_SITE};
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
        int rc = c->command == CLI_FREEZE ? freeze_set(p.state_dir, p.registry_dir, c->reason)
                                          : freeze_clear(p.state_dir, p.registry_dir, c->reason);
        if (rc != 0)
            log_msg(RELHOST_LOG_ERROR, NULL, "%s", error_last());
        else {
            out_printf("%s %s (audit: %s/audit.jsonl)\n",
                       c->command == CLI_FREEZE ? "publishing frozen for"
                                                : "publishing unfrozen for",
                       p.state_dir, p.registry_dir);
            host_registry_site_refresh(&p); /* its banner shows the kill switch */
        }
        plan_free(&p);
        return rc ? EXIT_USAGE : 0;
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
    ro.interactive = !c->no_interactive && isatty(STDIN_FILENO);
    ro.verbose = c->verbose;
    if (ro.mode == RELHOST_MODE_RUN)
        guard_set_exit_hook(reports_on_plugin_exit, &xr);
    if (pipeline_run(&p, &ro, &rr) != 0) {
        log_msg(RELHOST_LOG_ERROR, NULL, "%s", error_last());
        code = EXIT_USAGE;
    } else {
        code = c->check ? EXIT_OK : rr.exit_code;
        if (ro.mode == RELHOST_MODE_RUN && write_reports(&p, c) && code == EXIT_OK) {
            log_msg(RELHOST_LOG_ERROR, "report",
                    "the release passed, but a report asked for was not written: exit 3");
            code = EXIT_UNDECIDED;
        }
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
    const char *nc = getenv("NO_COLOR");
    strvec shorts = {0};

    if (isolate_is_server(argc, argv))
        return isolate_server_main(argc, argv); /* an isolated plugin's process (hidden) */
    secrets_seal_environ(&shorts); /* first: even a usage error never echoes a secret */
    code = cli_parse(&c, argc, argv);
    if (code != 0 || c.help || c.show_version)
        sv_free(&shorts);
    if (code != 0) {
        cli_free(&c);
        return code;
    }
    if (c.help) {
        cli_usage(stdout);
        cli_free(&c);
        return 0;
    }
    if (c.show_version) {
        printf("relhost %s (plugin ABI %d.%d)\n", RELHOST_VERSION, RELHOST_ABI_MAJOR,
               RELHOST_ABI_MINOR);
        cli_free(&c);
        return 0;
    }
    log_init(c.quiet ? -1 : c.verbose,
             !c.no_color && !(nc && *nc) && isatty(STDOUT_FILENO) && isatty(STDERR_FILENO));
    warn_short_secrets(&shorts);
    if (loop_init() != 0) {
        log_msg(RELHOST_LOG_ERROR, NULL, "%s", error_last());
        cli_free(&c);
        return EXIT_USAGE;
    }
    options_require_pass_env(c.command == CLI_RUN || c.command == CLI_LAUNCH ||
                             c.command == CLI_MONITOR);
    proc_init();
    if (http_init() != 0) {
        log_msg(RELHOST_LOG_ERROR, NULL, "%s", error_last());
        loop_fini();
        cli_free(&c);
        return EXIT_USAGE;
    }
    code = c.command == CLI_PLUGINS    ? cmd_plugins(&c)
           : c.command == CLI_RELEASES ? cli_releases(&c)
           : c.command == CLI_ROLLBACK ? cli_rollback(&c)
           : c.command == CLI_MONITOR  ? cli_monitor(&c)
           : c.command == CLI_WAIVE    ? cli_waive(&c)
                                       : cmd_run(&c);
    if (loop_interrupted() && code != EXIT_USAGE && !loop_stop_code(NULL))
        code = EXIT_INTERRUPTED;
    proc_kill_all();
    http_fini();
    loop_fini();
    fflush(stdout);
    cli_free(&c);
    return code;
}
