/* SPDX-License-Identifier: MIT */
/* cli_int.h - the command line's tables, shared by the parser, the help and the completion
 * scripts (core/cli/cli_args.c, cli_help.c). */
#ifndef RELHOST_CLI_INT_H
#define RELHOST_CLI_INT_H

#include "base/util.h"
#include "cli/cli.h"

#include <stddef.h>

enum {
    O_STEP = 256,
    O_CHECK,
    O_NEW,
    O_NEWCAND,
    O_PROFILE,
    O_ONLY,
    O_RETRY,
    O_SET,
    O_NOINT,
    O_NOCOLOR,
    O_COLOR,
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

typedef struct cli_cmd {
    const char *name;
    cli_command command;
    const char *synopsis; /* what follows `relhost NAME` */
    const char *summary;  /* NULL: hidden from the help */
} cli_cmd;

typedef struct cli_opt {
    const char *name; /* --name */
    int letter;       /* -x, or 0 */
    int id;           /* getopt's value */
    const char *arg;  /* the value's name, NULL: takes none */
    unsigned cmds;    /* 1 << cli_command of each command it goes with; 0: every one */
    const char *help; /* "\n" continues the text under it */
} cli_opt;

extern const cli_cmd cli_cmds[];
extern const size_t cli_ncmds;
extern const cli_opt cli_opts[];
extern const size_t cli_nopts;

/** Whether option o goes with command cmd (a global option goes with all). */
int cli_opt_fits(const cli_opt *o, cli_command cmd);
/** The table row of cmd. */
const cli_cmd *cli_cmd_of(cli_command cmd);
/** The words of argv[0..argc) that resume an interrupted run, into *out (copies):
 *  all but --new and --rerun STEP (also as getopt's abbreviations, --opt=V or -xV); *names_release
 *  is 1 when they name the release (-r, --release), so the caller need not add it. */
void cli_resume_words(int argc, char **argv, strvec *out, int *names_release);
/** Options and operands of argv into c (memset and defaults by the caller). 0 or EXIT_USAGE. */
int cli_read_args(cli *c, int argc, char **argv);
void cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/** The short help (`relhost` alone), and one command's (`relhost help CMD`). */
void cli_usage_short(FILE *out);
void cli_usage_command(FILE *out, cli_command cmd);
/** `relhost completion SHELL`: the script on stdout; 0, or EXIT_USAGE for an unknown shell. */
int cli_completion(const char *shell);

#endif
