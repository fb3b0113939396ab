/* SPDX-License-Identifier: MIT */
/* cli.h - the command line (getopt_long); `relhost --help` documents everything parsed here. */
#ifndef RELHOST_CLI_H
#define RELHOST_CLI_H

#include "base/util.h"

#include <stdio.h>

typedef enum cli_command {
    CLI_RUN = 1,
    CLI_PLUGINS,
    CLI_LAUNCH,
    CLI_STATUS,
    CLI_KILL,
    CLI_FREEZE,
    CLI_UNFREEZE,
    CLI_REPORT,
    CLI_SITE,
    CLI_EXPLAIN,
    CLI_RELEASES,
    CLI_ROLLBACK,
    CLI_MONITOR,
    CLI_WAIVE,
    CLI_HELP,      /* relhost help [COMMAND] */
    CLI_COMPLETION /* relhost completion bash|zsh|fish (hidden) */
} cli_command;

enum { CLI_COLOR_AUTO, CLI_COLOR_ALWAYS, CLI_COLOR_NEVER };
enum { CLI_HELP_NONE, CLI_HELP_SHORT, CLI_HELP_FULL, CLI_HELP_COMMAND };

typedef struct cli {
    cli_command command;
    const char *plan;  /* -c, or the default plan (plan_owned) */
    char *plan_owned;  /* $RELHOST_CONFIG or <repository root>/relhost.cfg when -c is absent */
    int command_given; /* the command was named (not the default `run`) */
    const char *topic; /* help COMMAND, completion SHELL */
    cli_command help_of;
    int color; /* CLI_COLOR_*: --color WHEN, --no-color */
    strvec steps, only, sets, rerun;
    const char *version; /* --release V / -r V: the release version */
    const char *profile;
    const char *describe;
    int check, new_release, new_candidate, retry_failed, no_interactive, verbose, quiet;
    int help;         /* CLI_HELP_*: -h, --help, help, `relhost` alone */
    int show_version; /* -V, --version: relhost's own version */
    int logs, tail;
    int json, follow; /* status --json / --follow, explain --json */
    const char *reason;
    const char *to;                   /* rollback --to VERSION */
    const char *validation, *expires; /* waive --validation N --expires T */
    int dry_run;                      /* rollback / monitor --dry-run */
    /* --report-junit/--report-json/--report-md FILE (run), --format and -o (report), -o (site) */
    const char *report_junit, *report_json, *report_md, *format, *output;
} cli;

/** Parse argv. Returns 0, or EXIT_USAGE (2) after printing a one-line error to stderr. */
int cli_parse(cli *c, int argc, char **argv);
/** `relhost --help`: every command, option, variable and exit code. */
void cli_usage(FILE *out);
/** Whether to write ANSI colours: --color/--no-color, then NO_COLOR, FORCE_COLOR, a terminal. */
int cli_use_color(const cli *c);
/** The plan when -c is absent: $RELHOST_CONFIG, else relhost.cfg at the repository root of cwd
 *  (the nearest folder up holding .git). NULL when there is none, and *why says why (free it). */
char *cli_default_plan(char **why);
void cli_free(cli *c);
/* The registry commands (cli_registry.c). Each returns the process exit code. */
int cli_releases(const cli *c);
int cli_rollback(const cli *c);
int cli_monitor(const cli *c);
int cli_waive(const cli *c);

/** Entry point used by main(): parse, run, and return the process exit code. */
int cli_main(int argc, char **argv);

#endif
