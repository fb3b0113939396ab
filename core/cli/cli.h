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
    CLI_WAIVE
} cli_command;

typedef struct cli {
    cli_command command;
    const char *plan;
    strvec steps, only, sets, rerun;
    const char *version;
    const char *profile;
    const char *describe;
    int check, new_release, new_candidate, retry_failed, no_interactive, no_color, verbose, quiet;
    int help, show_version;
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
void cli_usage(FILE *out);
void cli_free(cli *c);
/* The registry commands (cli_registry.c). Each returns the process exit code. */
int cli_releases(const cli *c);
int cli_rollback(const cli *c);
int cli_monitor(const cli *c);
int cli_waive(const cli *c);

/** Entry point used by main(): parse, run, and return the process exit code. */
int cli_main(int argc, char **argv);

#endif
