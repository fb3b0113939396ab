/* SPDX-License-Identifier: MIT */
/*
 * cli_args.c - the command line's tables (commands and options), read once by getopt_long, the
 * help texts (`relhost`, `relhost --help`, `relhost help CMD`, `relhost CMD --help`), the "did
 * you mean" for a mistyped command or option, and the shell completion scripts
 * (`relhost completion bash|zsh|fish`, hidden), all made from the same two tables.
 */
#include "cli/cli.h"
#include "cli/cli_int.h"

#include "base/log.h"
#include "base/outcome.h"
#include "plan/keycheck.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define C(x) (1u << (x))
#define ALL 0u /* a global option: goes with every command */

/* The commands, in the order the help lists them. */
const cli_cmd cli_cmds[] = {
    {"run", CLI_RUN, "[-c PLAN] [options]", "qualify a release: run the plan's steps in order"},
    {"launch", CLI_LAUNCH, "[-c PLAN] [options]", "submit the release's remote jobs and return"},
    {"status", CLI_STATUS, "[-c PLAN] [-r V] [--only GLOB] [--logs] [--tail N] [--json | --follow]",
     "refresh and show the release's jobs; --follow exits with the release's exit code"},
    {"explain", CLI_EXPLAIN, "[-c PLAN] [-r V] [--json]",
     "why a release is where it is, from its state"},
    {"kill", CLI_KILL, "[-c PLAN] [-r V] [--only GLOB]", "cancel its unfinished jobs"},
    {"freeze", CLI_FREEZE, "[-c PLAN] --reason TEXT", "stop publishing (gates still run; exit 4)"},
    {"unfreeze", CLI_UNFREEZE, "[-c PLAN] [--reason TEXT]", "publish again"},
    {"releases", CLI_RELEASES, "[-c PLAN] [--json]", "the registry: releases, status, pointers"},
    {"rollback", CLI_ROLLBACK, "[-c PLAN] --reason TEXT [--to VERSION] | --dry-run",
     "move last_green back (to the previous green release, or VERSION), then run on_rollback; "
     "--dry-run says what would happen (no --reason needed)"},
    {"waive", CLI_WAIVE, "[-c PLAN] -r V --step S [--validation N] --reason TEXT [--expires T]",
     "count a failed step (or validation) as passing for promotion, audited; shown as WAIVED"},
    {"monitor", CLI_MONITOR, "[-c PLAN] [--profile P] [--dry-run]",
     "run the monitor profile against last_green; a required failure rolls back by itself"},
    {"report", CLI_REPORT, "[-c PLAN] [-r V] --format junit|json|md [-o FILE]",
     "a release's report, from its state (default: the newest release; -o -: stdout)"},
    {"site", CLI_SITE, "[-c PLAN] [-o DIR]",
     "write the registry's status page DIR/index.html (default DIR: <registry_dir>/site)"},
    {"plugins", CLI_PLUGINS, "[-c PLAN] [--describe NAME]",
     "list plugins, or one plugin's options"},
    {"help", CLI_HELP, "[COMMAND]", "this help, or one command's"},
    {"completion", CLI_COMPLETION, "bash|zsh|fish", NULL}, /* hidden: the completion scripts */
};
const size_t cli_ncmds = sizeof cli_cmds / sizeof cli_cmds[0];

#define RUNS (C(CLI_RUN) | C(CLI_LAUNCH))
#define ONE_RELEASE \
    (RUNS | C(CLI_STATUS) | C(CLI_EXPLAIN) | C(CLI_KILL) | C(CLI_REPORT) | C(CLI_WAIVE))

/* The options: long name, letter, getopt value, argument, the commands it goes with (ALL: every
 * one), and its --help text ("\n" continues under it). */
const cli_opt cli_opts[] = {
    {"config", 'c', 'c', "PLAN", ALL,
     "the release plan (libconfig; see relhost.cfg(5)); default:\n"
     "$RELHOST_CONFIG, else relhost.cfg at the repository root (the git\n"
     "top level of the current folder)"},
    {"release", 'r', 'r', "V", ONE_RELEASE,
     "the release version (default: the plan's `version`, or UTC\n"
     "YYYY.MM.DD-HHMM); [0-9A-Za-z][0-9A-Za-z._-]{0,63}; formerly\n"
     "--version V (--version now prints relhost's own version)"},
    {"step", 0, O_STEP, "NAME", RUNS | C(CLI_WAIVE),
     "run only this step (repeatable) of the release; others are left as\n"
     "they are"},
    {"rerun", 0, O_RERUN, "STEP", RUNS,
     "run STEP (a name or glob; repeatable) again although it already\n"
     "PASSED in this release; a PASSED step is otherwise \"already\n"
     "completed\" and not run again"},
    {"check", 0, O_CHECK, NULL, C(CLI_RUN),
     "load and validate everything, print the plan and what each step\n"
     "would do and which secrets it passes; run nothing, contact nothing,\n"
     "write nothing"},
    {"new", 0, O_NEW, NULL, RUNS,
     "start a new release instead of continuing the newest one that was\n"
     "neither published nor quarantined (a fixed version that ran: exit 2)"},
    {"new-candidate", 0, O_NEWCAND, NULL, RUNS,
     "the plan's ref moved: requalify this release on the new commit\n"
     "(its earlier results are dropped; without it, exit 2)"},
    {"profile", 0, O_PROFILE, "NAME", RUNS | C(CLI_MONITOR),
     "run the validations of this plan profile (e.g. quick,\n"
     "comprehensive)"},
    {"only", 0, O_ONLY, "GLOB", RUNS | C(CLI_STATUS) | C(CLI_KILL) | C(CLI_MONITOR),
     "only validations (jobs) whose name matches GLOB (repeatable)"},
    {"retry-failed", 0, O_RETRY, NULL, RUNS,
     "re-run validations that failed in an earlier run of this release"},
    {"set", 0, O_SET, "KEY.PATH=V", ALL,
     "override one plan setting after loading, validated like the file\n"
     "(repeatable), e.g. --set runners.cluster.partition=debug; steps by\n"
     "name: --set steps.smoke.timeout=5m; a list's items by index from 0:\n"
     "--set steps.smoke.cmd.1=-x"},
    {"describe", 0, O_DESCRIBE, "NAME", C(CLI_PLUGINS),
     "print NAME's option table (core: the plan's own top-level keys)"},
    {"reason", 0, O_REASON, "TEXT",
     C(CLI_FREEZE) | C(CLI_UNFREEZE) | C(CLI_ROLLBACK) | C(CLI_WAIVE),
     "why (kept in the audit log)"},
    {"report-junit", 0, O_REPORT_JUNIT, "FILE", C(CLI_RUN),
     "after the run, write the release as JUnit XML to FILE"},
    {"report-json", 0, O_REPORT_JSON, "FILE", C(CLI_RUN),
     "... as the JSON report (docs/report.schema.json)"},
    {"report-md", 0, O_REPORT_MD, "FILE", C(CLI_RUN), "... as Markdown release notes"},
    {"format", 0, O_FORMAT, "F", C(CLI_REPORT), "junit, json or md"},
    {"to", 0, O_TO, "VERSION", C(CLI_ROLLBACK),
     "the release to make last green (default: the previous green one)"},
    {"dry-run", 0, O_DRYRUN, NULL, C(CLI_ROLLBACK) | C(CLI_MONITOR),
     "say what would happen, change nothing"},
    {"validation", 0, O_VALIDATION, "N", C(CLI_WAIVE), "waive this validation of the step only"},
    {"expires", 0, O_EXPIRES, "T", C(CLI_WAIVE),
     "the waiver ends at T (UTC 2026-12-01T00:00:00Z, or a duration\n"
     "from now: 7d, 12h)"},
    {"output", 'o', 'o', "FILE", C(CLI_REPORT) | C(CLI_SITE),
     "report: write to FILE (default: stdout); site: the folder of\n"
     "index.html"},
    {"logs", 0, O_LOGS, NULL, C(CLI_STATUS), "print the last lines of each job's log"},
    {"tail", 0, O_TAIL, "N", C(CLI_STATUS), "with --logs: how many lines (default 20)"},
    {"json", 0, O_JSON, NULL, C(CLI_STATUS) | C(CLI_EXPLAIN) | C(CLI_RELEASES),
     "one JSON object (docs/status.schema.json, docs/explain.schema.json,\n"
     "registry: the manifest)"},
    {"follow", 0, O_FOLLOW, NULL, C(CLI_STATUS),
     "redraw every 2 s until the release's run ends (on a terminal in\n"
     "place, else a line per change), then exit with the release's exit\n"
     "code; Ctrl-C stops"},
    {"no-interactive", 0, O_NOINT, NULL, ALL,
     "never ask a human (manual gates become INCONCLUSIVE)"},
    {"color", 0, O_COLOR, "WHEN", ALL,
     "auto (the default: colours on a terminal that is not TERM=dumb,\n"
     "or when FORCE_COLOR is set; never when NO_COLOR is set), always,\n"
     "never"},
    {"no-color", 0, O_NOCOLOR, NULL, ALL, "the same as --color=never"},
    {"quiet", 'q', 'q', NULL, ALL,
     "only errors on stderr; with run, launch and --check only the verdict line on stdout"},
    {"verbose", 'v', 'v', NULL, ALL,
     "more detail on stderr (repeatable): commands run, plugin debug"},
    {"version", 'V', 'V', NULL, ALL, "print relhost's own version"},
    {"help", 'h', 'h', NULL, ALL, "this text; with a command, that command's help"},
};
const size_t cli_nopts = sizeof cli_opts / sizeof cli_opts[0];

int cli_opt_fits(const cli_opt *o, cli_command cmd) { return o->cmds == ALL || (o->cmds & C(cmd)); }

const cli_cmd *cli_cmd_of(cli_command cmd)
{
    for (size_t i = 0; i < cli_ncmds; i++)
        if (cli_cmds[i].command == cmd)
            return &cli_cmds[i];
    return &cli_cmds[0];
}

/* A usage error on stderr, masked like all output: an argument may hold a secret. */
void cli_usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    out_vprintf(stderr, fmt, ap);
    va_end(ap);
}

/* The nearest of the commands (hidden ones too) or NULL. */
static const char *near_command(const char *word)
{
    const char *names[sizeof cli_cmds / sizeof cli_cmds[0]];
    for (size_t i = 0; i < cli_ncmds; i++)
        names[i] = cli_cmds[i].name;
    return keycheck_nearest(word, names, cli_ncmds);
}

/* "unknown option --foo; did you mean --for?" from the long names (and "-x" for letters). */
static void unknown_option(const char *arg, int letter)
{
    const char *names[sizeof cli_opts / sizeof cli_opts[0]], *best = NULL;
    char word[64];
    if (letter) {
        cli_usage_error("relhost: unknown option -%c; try relhost --help\n", letter);
        return;
    }
    snprintf(word, sizeof word, "%s", arg + (arg[0] == '-' && arg[1] == '-' ? 2 : 0));
    word[strcspn(word, "=")] = 0;
    for (size_t i = 0; i < cli_nopts; i++)
        names[i] = cli_opts[i].name;
    best = keycheck_nearest(word, names, cli_nopts);
    cli_usage_error("relhost: unknown option %.*s%s%s%s; try relhost --help\n",
                    (int)strcspn(arg, "="), arg, best ? " (did you mean --" : "", best ? best : "",
                    best ? "?)" : "");
}

/* The refusal of the old `--version V` (the release version is --release now). */
static int old_version_spelling(const char *value)
{
    cli_usage_error("relhost: --version prints relhost's own version and takes no value%s%s%s; "
                    "the release version is --release V (-r V)\n",
                    value ? " ('" : "", value ? value : "", value ? "' given)" : "");
    return EXIT_USAGE;
}

static struct option longopts[sizeof cli_opts / sizeof cli_opts[0] + 1];
static char shortopts[3 * (sizeof cli_opts / sizeof cli_opts[0]) + 2];

static void build_tables(void)
{
    size_t k = 0;
    shortopts[k++] = ':';
    for (size_t i = 0; i < cli_nopts; i++) {
        longopts[i] =
            (struct option){cli_opts[i].name, cli_opts[i].arg ? required_argument : no_argument,
                            NULL, cli_opts[i].id};
        if (cli_opts[i].letter) {
            shortopts[k++] = (char)cli_opts[i].letter;
            if (cli_opts[i].arg)
                shortopts[k++] = ':';
        }
    }
    shortopts[k] = 0;
}

/* One parsed option into c; 0 or EXIT_USAGE. */
static int take(cli *c, int opt, const char *arg, char **argv)
{
    switch (opt) {
    case 'c': c->plan = arg; break;
    case 'r': c->version = arg; break;
    case O_STEP: sv_push(&c->steps, arg); break;
    case O_RERUN: sv_push(&c->rerun, arg); break;
    case O_CHECK: c->check = 1; break;
    case O_NEW: c->new_release = 1; break;
    case O_NEWCAND: c->new_candidate = 1; break;
    case O_PROFILE: c->profile = arg; break;
    case O_ONLY: sv_push(&c->only, arg); break;
    case O_RETRY: c->retry_failed = 1; break;
    case O_SET: sv_push(&c->sets, arg); break;
    case O_NOINT: c->no_interactive = 1; break;
    case O_NOCOLOR: c->color = CLI_COLOR_NEVER; break;
    case O_COLOR:
        if (strcmp(arg, "auto") == 0)
            c->color = CLI_COLOR_AUTO;
        else if (strcmp(arg, "always") == 0)
            c->color = CLI_COLOR_ALWAYS;
        else if (strcmp(arg, "never") == 0)
            c->color = CLI_COLOR_NEVER;
        else {
            const char *const whens[] = {"auto", "always", "never"};
            char *hint = keycheck_hint(arg, whens, 3, NULL, NULL);
            cli_usage_error("relhost: --color wants auto, always or never, got '%s'%s\n", arg,
                            hint);
            free(hint);
            return EXIT_USAGE;
        }
        break;
    case O_DESCRIBE: c->describe = arg; break;
    case O_LOGS: c->logs = 1; break;
    case O_REASON: c->reason = arg; break;
    case O_TAIL: {
        char *end;
        long t = strtol(arg, &end, 10);
        if (*end || t < 1 || t > 100000) {
            cli_usage_error("relhost: --tail wants a number of lines 1..100000, got '%s'\n", arg);
            return EXIT_USAGE;
        }
        c->tail = (int)t;
        break;
    }
    case O_REPORT_JUNIT: c->report_junit = arg; break;
    case O_REPORT_JSON: c->report_json = arg; break;
    case O_REPORT_MD: c->report_md = arg; break;
    case O_FORMAT: c->format = arg; break;
    case O_JSON: c->json = 1; break;
    case O_FOLLOW: c->follow = 1; break;
    case O_TO: c->to = arg; break;
    case O_DRYRUN: c->dry_run = 1; break;
    case O_VALIDATION: c->validation = arg; break;
    case O_EXPIRES: c->expires = arg; break;
    case 'o': c->output = arg; break;
    case 'q': c->quiet = 1; break;
    case 'v': c->verbose++; break;
    case 'V': c->show_version = 1; break;
    case 'h': c->help = CLI_HELP_FULL; break;
    case ':':
        cli_usage_error("relhost: option %s needs a value; try relhost --help\n", argv[optind - 1]);
        return EXIT_USAGE;
    default:
        if (strncmp(argv[optind - 1], "--version=", 10) == 0)
            return old_version_spelling(argv[optind - 1] + 10);
        unknown_option(argv[optind - 1],
                       argv[optind - 1][1] == '-' ? 0 : (optopt ? optopt : argv[optind - 1][1]));
        return EXIT_USAGE;
    }
    return 0;
}

/* The command and what follows it (argv[first..] holds only operands after getopt). */
static int operands(cli *c, int argc, char **argv, int first)
{
    int i = first;
    if (i < argc) {
        size_t k = 0;
        while (k < cli_ncmds && strcmp(argv[i], cli_cmds[k].name) != 0)
            k++;
        if (k == cli_ncmds) {
            const char *near = near_command(argv[i]);
            if (c->show_version)
                return old_version_spelling(argv[i]);
            cli_usage_error("relhost: unknown command '%s'%s%s%s; try relhost help\n", argv[i],
                            near ? " (did you mean '" : "", near ? near : "", near ? "'?)" : "");
            return EXIT_USAGE;
        }
        c->command = cli_cmds[k].command;
        c->command_given = 1;
        i++;
    }
    if ((c->command == CLI_HELP || c->command == CLI_COMPLETION) && i < argc)
        c->topic = argv[i++];
    if (i < argc) {
        if (c->show_version)
            return old_version_spelling(argv[i]);
        cli_usage_error("relhost: unexpected argument '%s'; try relhost help %s\n", argv[i],
                        cli_cmd_of(c->command)->name);
        return EXIT_USAGE;
    }
    if (c->command == CLI_HELP && c->topic) {
        size_t k = 0;
        while (k < cli_ncmds && strcmp(c->topic, cli_cmds[k].name) != 0)
            k++;
        if (k == cli_ncmds) {
            const char *near = near_command(c->topic);
            cli_usage_error("relhost: no command '%s'%s%s%s; try relhost help\n", c->topic,
                            near ? " (did you mean '" : "", near ? near : "", near ? "'?)" : "");
            return EXIT_USAGE;
        }
        c->help_of = cli_cmds[k].command;
    }
    return 0;
}

/* The row of a long option word ("--name" or "--name=v"): its exact name, else the only one it
 * abbreviates (as getopt_long reads it); NULL for none or several. */
static const cli_opt *long_row(const char *word)
{
    size_t n = strcspn(word + 2, "=");
    const cli_opt *hit = NULL;
    for (size_t i = 0; i < cli_nopts; i++) {
        if (strncmp(cli_opts[i].name, word + 2, n) != 0)
            continue;
        if (strlen(cli_opts[i].name) == n)
            return &cli_opts[i];
        hit = hit ? (const cli_opt *)-1 : &cli_opts[i];
    }
    return hit == (const cli_opt *)-1 ? NULL : hit;
}

void cli_resume_words(int argc, char **argv, strvec *out, int *names_release)
{
    *names_release = 0;
    for (int i = 0; i < argc; i++) {
        const char *w = argv[i];
        int drop = 0, takes_next = 0;
        if (i > 0 && strcmp(w, "--") == 0) { /* operands only from here */
            for (; i < argc; i++)
                sv_push(out, argv[i]);
            break;
        }
        if (i > 0 && strncmp(w, "--", 2) == 0) {
            const cli_opt *o = long_row(w);
            drop = o && (o->id == O_NEW || o->id == O_RERUN);
            takes_next = o && o->arg && !strchr(w, '=');
            *names_release |= o && o->id == 'r';
        } else if (i > 0 && w[0] == '-' && w[1]) {
            /* letters: the first that takes a value takes the rest of the word, or the next */
            for (const char *l = w + 1; *l; l++) {
                const cli_opt *o = NULL;
                for (size_t k = 0; k < cli_nopts && !o; k++)
                    if (cli_opts[k].letter == *l)
                        o = &cli_opts[k];
                *names_release |= *l == 'r';
                if (o && o->arg) {
                    takes_next = l[1] == '\0';
                    break;
                }
            }
        }
        if (!drop)
            sv_push(out, w);
        if (takes_next && i + 1 < argc) {
            i++;
            if (!drop)
                sv_push(out, argv[i]);
        }
    }
}

int cli_read_args(cli *c, int argc, char **argv)
{
    int opt, rc;
    build_tables();
    optind = 1;
    opterr = 0;
    /* GNU getopt permutes: options go before or after the command */
    while ((opt = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1)
        if ((rc = take(c, opt, optarg, argv)) != 0)
            return rc;
    if ((rc = operands(c, argc, argv, optind)) != 0)
        return rc;
    if (c->command == CLI_HELP) {
        c->help = c->topic ? CLI_HELP_COMMAND : CLI_HELP_FULL;
        c->show_version = 0;
    } else if (c->help && c->command_given) {
        c->help = CLI_HELP_COMMAND;
        c->help_of = c->command;
    }
    return 0;
}

int cli_use_color(const cli *c)
{
    const char *no = getenv("NO_COLOR"), *force = getenv("FORCE_COLOR"), *term = getenv("TERM");
    if (c->color != CLI_COLOR_AUTO)
        return c->color == CLI_COLOR_ALWAYS;
    if (no && *no)
        return 0;
    if (force && *force && strcmp(force, "0") != 0 && strcmp(force, "false") != 0)
        return 1;
    if (term && strcmp(term, "dumb") == 0)
        return 0; /* it shows escapes as text (the live table is off there too) */
    return isatty(STDOUT_FILENO) && isatty(STDERR_FILENO);
}

/* The repository root of cwd: the nearest folder up that holds .git (a folder, or the file of a
 * worktree), as `git rev-parse --show-toplevel` finds it; NULL outside one. */
static char *repository_root(void)
{
    char *dir = getcwd(NULL, 0);
    while (dir) {
        char *git = path_join(dir, ".git");
        char *slash;
        int found = access(git, F_OK) == 0;
        free(git);
        if (found)
            return dir;
        slash = strrchr(dir, '/');
        if (!slash || slash == dir) {
            free(dir);
            return NULL;
        }
        *slash = 0;
    }
    return NULL;
}

char *cli_default_plan(char **why)
{
    const char *env = getenv("RELHOST_CONFIG");
    char *root, *plan;
    if (env && *env)
        return xstrdup(env);
    if (!(root = repository_root())) {
        *why = xstrdup("RELHOST_CONFIG is not set and the current folder is in no git repository");
        return NULL;
    }
    plan = path_join(root, "relhost.cfg");
    if (access(plan, F_OK) == 0) {
        free(root);
        return plan;
    }
    *why = xasprintf("RELHOST_CONFIG is not set and %s does not exist", plan);
    free(plan);
    free(root);
    return NULL;
}
