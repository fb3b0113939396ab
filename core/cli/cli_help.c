/* SPDX-License-Identifier: MIT */
/*
 * cli_help.c - the help texts and the shell completion scripts, made from the tables of
 * cli_args.c: a new option or command shows up in --help, in its commands' help and in the
 * completions at once.
 */
#include "cli/cli_int.h"

#include "base/outcome.h"
#include "base/util.h"
#include "plan/keycheck.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COL 25 /* where an option's text starts */

/* "  -c, --config PLAN      the release plan ..." with its continuation lines under the text. */
static void print_opt(FILE *out, const cli_opt *o)
{
    char head[64];
    const char *h = o->help;
    int n;
    if (o->letter)
        n = snprintf(head, sizeof head, "  -%c, --%s%s%s", o->letter, o->name, o->arg ? " " : "",
                     o->arg ? o->arg : "");
    else
        n = snprintf(head, sizeof head, "      --%s%s%s", o->name, o->arg ? " " : "",
                     o->arg ? o->arg : "");
    fputs(head, out);
    if (n + 1 > COL) {
        fputc('\n', out);
        n = 0;
    }
    for (;;) {
        size_t len = strcspn(h, "\n");
        fprintf(out, "%*s%.*s\n", COL - n, "", (int)len, h);
        if (!h[len])
            break;
        h += len + 1;
        n = 0;
    }
}

/* text from column COL on, wrapped at spaces to lines of at most WIDTH characters */
#define WIDTH 99
static void print_wrapped(FILE *out, const char *text)
{
    while (*text) {
        size_t len = strlen(text), cut = len;
        if (COL + len > WIDTH) {
            cut = WIDTH - COL;
            while (cut > 0 && text[cut] != ' ')
                cut--;
            if (cut == 0)
                cut = len;
        }
        fprintf(out, "%*s%.*s\n", COL, "", (int)cut, text);
        text += cut;
        while (*text == ' ')
            text++;
    }
}

static void print_command(FILE *out, const cli_cmd *k)
{
    fprintf(out, "  relhost %s %s\n", k->name, k->synopsis);
    print_wrapped(out, k->summary);
}

static const char environment[] =
    "environment:\n"
    "  RELHOST_CONFIG         the plan when -c is absent (before relhost.cfg at the repository "
    "root)\n"
    "  RELHOST_PLUGIN_PATH    colon-separated plugin folders, searched after the plan's plugin_path\n"
    "  NO_COLOR               set: no colours (unless --color=always)\n"
    "  FORCE_COLOR            set: colours also without a terminal (CI logs), unless NO_COLOR\n"
    "  RELHOST_CA_BUNDLE      PEM CA bundle for HTTPS (verification cannot be turned off)\n"
    "  RELHOST_FREEZE         1: publishing is frozen, as after `relhost freeze`\n"
    "  GITHUB_STEP_SUMMARY    set (GitHub Actions): each run appends its Markdown report there\n"
    "  *TOKEN* *SECRET* *PASSWORD* *PASSWD* *API_KEY* *APIKEY* *WEBHOOK* *CREDENTIAL*\n"
    "  *PRIVATE_KEY* *ACCESS_KEY*, and every plugin's secret variable: sealed. No process\n"
    "                         relhost starts inherits them (pass_env hands one over) and their\n"
    "                         values are masked in all output; see relhost.cfg(5) SECRETS\n";

static const char exit_status[] =
    "exit status:\n"
    "  0    every required step passed (or was waived)\n"
    "  1    a required step FAILED (a verdict: the candidate is bad)\n"
    "  2    usage error, invalid plan, missing or broken plugin, corrupt or locked state\n"
    "  3    a required step could not decide (INCONCLUSIVE, or an ERROR that retrying won't fix);\n"
    "       also a plugin that called exit() inside a call (its step is ERROR plugin_exited),\n"
    "       and a passing run whose --report-* file could not be written\n"
    "  4    gates green but publishing is frozen\n"
    "  75   deferred: a required step hit a retryable tool error, or the state could not be\n"
    "       saved (a full disk: the run stopped at once), or relhost ran out of memory or\n"
    "       descriptors (ENOMEM, EMFILE: named on stderr); run again later\n"
    "  130  interrupted (SIGINT); state is saved, run again to resume\n"
    "  143  terminated (SIGTERM or SIGHUP); state is saved, run again to resume\n";

void cli_usage(FILE *out)
{
    fprintf(out, "usage: relhost [COMMAND] [-c PLAN] [options]   (the command defaults to run;\n"
                 "       options go before or after it)\n\ncommands:\n");
    for (size_t i = 0; i < cli_ncmds; i++)
        if (cli_cmds[i].summary)
            print_command(out, &cli_cmds[i]);
    fprintf(out, "\noptions:\n");
    for (size_t i = 0; i < cli_nopts; i++)
        print_opt(out, &cli_opts[i]);
    fprintf(out, "\n%s\n%s", environment, exit_status);
}

void cli_usage_short(FILE *out)
{
    fprintf(out, "usage: relhost [COMMAND] [-c PLAN] [options]\n\ncommands:\n");
    for (size_t i = 0; i < cli_ncmds; i++)
        if (cli_cmds[i].summary) {
            const char *s = cli_cmds[i].summary;
            int len = (int)strcspn(s, ";(");
            while (len > 0 && s[len - 1] == ' ')
                len--;
            fprintf(out, "  %-10s %.*s\n", cli_cmds[i].name, len, s);
        }
    fprintf(out,
            "\n`relhost help COMMAND` (or `relhost COMMAND --help`) shows a command's options;\n"
            "`relhost --help` everything. The plan: -c PLAN, $RELHOST_CONFIG, or relhost.cfg\n"
            "at the repository root. Manuals: relhost(1), relhost.cfg(5).\n");
}

void cli_usage_command(FILE *out, cli_command cmd)
{
    const cli_cmd *k = cli_cmd_of(cmd);
    fprintf(out, "usage: relhost %s %s\n\n%s\n", k->name, k->synopsis,
            k->summary ? k->summary : "print a shell completion script");
    if (cmd == CLI_HELP || cmd == CLI_COMPLETION)
        return;
    fprintf(out, "\noptions:\n");
    for (size_t i = 0; i < cli_nopts; i++)
        if (cli_opts[i].cmds && cli_opt_fits(&cli_opts[i], cmd))
            print_opt(out, &cli_opts[i]);
    fprintf(out, "\nglobal options:\n");
    for (size_t i = 0; i < cli_nopts; i++)
        if (!cli_opts[i].cmds && !(cmd == CLI_PLUGINS && cli_opts[i].id == O_NOINT))
            print_opt(out, &cli_opts[i]);
    fprintf(out, "\nexit status and environment: relhost --help; the manual: relhost(1)\n");
}

/* ---- completion scripts ---------------------------------------------------------------------- */

/* The words of the visible commands, or of the options going with cmd ("--x -y ..."). */
static void words(FILE *out, int commands, cli_command cmd)
{
    int first = 1;
    if (commands) {
        for (size_t i = 0; i < cli_ncmds; i++)
            if (cli_cmds[i].summary) {
                fprintf(out, "%s%s", first ? "" : " ", cli_cmds[i].name);
                first = 0;
            }
        return;
    }
    for (size_t i = 0; i < cli_nopts; i++)
        if (cli_opt_fits(&cli_opts[i], cmd)) {
            fprintf(out, "%s--%s", first ? "" : " ", cli_opts[i].name);
            if (cli_opts[i].letter)
                fprintf(out, " -%c", cli_opts[i].letter);
            first = 0;
        }
}

static void bash_script(FILE *out)
{
    fprintf(out, "# bash completion for relhost (made by `relhost completion bash`)\n"
                 "_relhost() {\n"
                 "    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} cmd="
                 " i w\n"
                 "    for ((i = 1; i < COMP_CWORD; i++)); do\n"
                 "        w=${COMP_WORDS[i]}\n"
                 "        case \" ");
    words(out, 1, CLI_RUN);
    fprintf(out, " \" in *\" $w \"*) cmd=$w; break ;; esac\n"
                 "    done\n"
                 "    case $prev in\n"
                 "        -c|--config|-o|--output|--report-junit|--report-json|--report-md)\n"
                 "            COMPREPLY=($(compgen -f -- \"$cur\")); return ;;\n"
                 "        --format) COMPREPLY=($(compgen -W 'junit json md' -- \"$cur\")); "
                 "return ;;\n"
                 "        --color) COMPREPLY=($(compgen -W 'auto always never' -- \"$cur\")); "
                 "return ;;\n"
                 "    esac\n"
                 "    if [[ $cur == -* ]]; then\n"
                 "        case ${cmd:-run} in\n");
    for (size_t i = 0; i < cli_ncmds; i++) {
        if (!cli_cmds[i].summary)
            continue;
        fprintf(out, "            %s) COMPREPLY=($(compgen -W '", cli_cmds[i].name);
        words(out, 0, cli_cmds[i].command);
        fprintf(out, "' -- \"$cur\")) ;;\n");
    }
    fprintf(out, "        esac\n"
                 "    elif [[ -z $cmd ]]; then\n"
                 "        COMPREPLY=($(compgen -W '");
    words(out, 1, CLI_RUN);
    fprintf(out, "' -- \"$cur\"))\n"
                 "    fi\n"
                 "}\n"
                 "complete -F _relhost relhost\n");
}

static void zsh_script(FILE *out)
{
    fprintf(out, "#compdef relhost\n# zsh completion for relhost (made by `relhost completion "
                 "zsh`)\n_relhost() {\n  local -a cmds opts\n  cmds=(");
    words(out, 1, CLI_RUN);
    fprintf(out,
            ")\n  local cmd= w\n  for w in ${words[2,CURRENT-1]}; do\n"
            "    (( ${cmds[(Ie)$w]} )) && { cmd=$w; break; }\n  done\n  case ${cmd:-run} in\n");
    for (size_t i = 0; i < cli_ncmds; i++) {
        if (!cli_cmds[i].summary)
            continue;
        fprintf(out, "    %s) opts=(", cli_cmds[i].name);
        words(out, 0, cli_cmds[i].command);
        fprintf(out, ") ;;\n");
    }
    fprintf(out, "  esac\n"
                 "  case ${words[CURRENT-1]} in\n"
                 "    -c|--config|-o|--output|--report-*) _files; return ;;\n"
                 "    --format) compadd junit json md; return ;;\n"
                 "    --color) compadd auto always never; return ;;\n"
                 "  esac\n"
                 "  if [[ $PREFIX == -* ]]; then compadd -- $opts\n"
                 "  elif [[ -z $cmd ]]; then compadd -- $cmds; fi\n"
                 "}\n"
                 "# autoloaded from fpath: complete now; sourced: register\n"
                 "if [[ $zsh_eval_context[-1] == loadautofunc ]]; then _relhost \"$@\"\n"
                 "else compdef _relhost relhost; fi\n");
}

/* A fish description in single quotes: text up to the first of stop (or its end), its quotes
 * and backslashes escaped. */
static void fish_desc(FILE *out, const char *text, const char *stop)
{
    size_t n = strcspn(text, stop);
    while (n > 0 && text[n - 1] == ' ')
        n--;
    fputs(" -d '", out);
    for (size_t i = 0; i < n; i++) {
        if (text[i] == '\'' || text[i] == '\\')
            fputc('\\', out);
        fputc(text[i], out);
    }
    fputs("'\n", out);
}

static void fish_script(FILE *out)
{
    /* the conditions run at completion time: the command list is written into each */
    fprintf(out, "# fish completion for relhost (made by `relhost completion fish`)\n"
                 "complete -c relhost -f\n");
    for (size_t i = 0; i < cli_ncmds; i++)
        if (cli_cmds[i].summary) {
            fprintf(out, "complete -c relhost -n \"not __fish_seen_subcommand_from ");
            words(out, 1, CLI_RUN);
            fprintf(out, "\" -a %s", cli_cmds[i].name);
            fish_desc(out, cli_cmds[i].summary, ";:(");
        }
    for (size_t i = 0; i < cli_nopts; i++) {
        const cli_opt *o = &cli_opts[i];
        fprintf(out, "complete -c relhost");
        if (o->cmds) {
            fprintf(out, " -n \"__fish_seen_subcommand_from");
            for (size_t k = 0; k < cli_ncmds; k++)
                if (cli_cmds[k].summary && cli_opt_fits(o, cli_cmds[k].command))
                    fprintf(out, " %s", cli_cmds[k].name);
            if (cli_opt_fits(o, CLI_RUN)) {
                fprintf(out, "; or not __fish_seen_subcommand_from ");
                words(out, 1, CLI_RUN);
            }
            fprintf(out, "\"");
        }
        fprintf(out, " -l %s", o->name);
        if (o->letter)
            fprintf(out, " -s %c", o->letter);
        /* -r -F: a file; -x: a value that is no file (-r alone offers the folder's files) */
        if (o->id == 'c' || o->id == 'o' || strncmp(o->name, "report-", 7) == 0)
            fprintf(out, " -r -F");
        else if (o->arg)
            fprintf(out, " -x");
        if (o->id == O_FORMAT) /* the same value lists as bash's and zsh's */
            fprintf(out, " -a 'junit json md'");
        else if (o->id == O_COLOR)
            fprintf(out, " -a 'auto always never'");
        /* --color's help begins with its values ("auto (the default: ..."): not a description */
        fish_desc(out, o->id == O_COLOR ? "when to use colours" : o->help, "\n(;:");
    }
}

int cli_completion(const char *shell)
{
    if (shell && strcmp(shell, "bash") == 0)
        bash_script(stdout);
    else if (shell && strcmp(shell, "zsh") == 0)
        zsh_script(stdout);
    else if (shell && strcmp(shell, "fish") == 0)
        fish_script(stdout);
    else {
        const char *const shells[] = {"bash", "zsh", "fish"};
        char *hint = shell ? keycheck_hint(shell, shells, 3, NULL, NULL) : xstrdup("");
        cli_usage_error("relhost: completion wants bash, zsh or fish%s%s%s%s\n",
                        shell ? " (not '" : "", shell ? shell : "", shell ? "')" : "", hint);
        free(hint);
        return EXIT_USAGE;
    }
    return 0;
}
