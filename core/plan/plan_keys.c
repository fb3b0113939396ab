/* SPDX-License-Identifier: MIT */
#include "plan/plan_keys.h"

#include "plan/options.h"

#include <stddef.h>

#define K(m) offsetof(plan_keys, m)

static const char *const checkout_choices[] = {"head", "worktree", NULL};

static const relhost_option plan_key_rows[] = {
    {.name = "name",
     .type = RELHOST_OPT_STRING,
     .offset = K(name),
     .doc = "the plan's name in reports; default the file name without extension"},
    {.name = "version",
     .type = RELHOST_OPT_STRING,
     .def = "auto",
     .offset = K(version),
     .doc = "the release version, or \"auto\": continue the newest release neither published "
            "nor quarantined, else a new one named by the UTC time (YYYY.MM.DD-HHMM); "
            "--release overrides it"},
    {.name = "state_dir",
     .type = RELHOST_OPT_STRING,
     .def = ".relhost/state",
     .offset = K(state_dir),
     .flags = RELHOST_OPTF_PATH,
     .doc = "where release state is kept: a folder of the user running relhost, not \"/\", "
            "not writable by group or others (refused otherwise; links inside are never "
            "followed)"},
    {.name = "log_dir",
     .type = RELHOST_OPT_STRING,
     .def = ".relhost/logs",
     .offset = K(log_dir),
     .flags = RELHOST_OPTF_PATH,
     .doc = "where job logs go (the metrics are read from them): like state_dir, it must be "
            "owned by the user running relhost and not writable by others, and its release "
            "folders are never links"},
    {.name = "plugin_path",
     .type = RELHOST_OPT_STRLIST,
     .offset = K(plugin_path),
     .flags = RELHOST_OPTF_PATH,
     .doc = "plugin folders searched before $RELHOST_PLUGIN_PATH and the install folder"},
    {.name = "repo",
     .type = RELHOST_OPT_STRING,
     .offset = K(repo),
     .flags = RELHOST_OPTF_PATH,
     .doc = "the repository whose commit is the release candidate"},
    {.name = "ref",
     .type = RELHOST_OPT_STRING,
     .offset = K(ref),
     .doc = "the ref of repo to qualify (needs repo); default its HEAD"},
    {.name = "checkout",
     .type = RELHOST_OPT_ENUM,
     .def = "head",
     .offset = K(checkout),
     .choices = checkout_choices,
     .doc = "where local validations run on the candidate (needs repo): head, in repo itself "
            "(the commit checked out, clean), or worktree, a git worktree of the commit under "
            "<state_dir>/worktrees/<version>"},
    {.name = "max_defers",
     .type = RELHOST_OPT_INT,
     .def = "3",
     .offset = K(max_defers),
     .min = 0,
     .max = 1000,
     .doc = "how often a required step's retryable tool error may defer the release (exit 75) "
            "before it fails closed (tool_error_exhausted)"},
    {.name = "defer_deadline",
     .type = RELHOST_OPT_DURATION,
     .offset = K(defer_deadline),
     .min = 0,
     .max = 365.0 * 86400,
     .doc = "time after the release's first run past which it no longer defers but fails "
            "closed (0: none)"},
    {.name = "progress_interval",
     .type = RELHOST_OPT_DURATION,
     .def = "30s",
     .offset = K(progress_interval),
     .min = 0,
     .max = 86400,
     .doc = "when the output is not a terminal, how often a running step prints a line of its "
            "jobs' progress (running, queued, passed, failed); each job's end is a line too "
            "(0: no periodic line)"},
    {.name = "state_commit_window",
     .type = RELHOST_OPT_DURATION,
     .def = "20ms",
     .offset = K(state_commit_window),
     .min = 0,
     .max = 10,
     .doc = "how long the result of an ended job may wait for the fdatasync that makes it "
            "durable, so that one fdatasync of the state journal serves every job that ends "
            "meanwhile (0: one per loop tick). The result is written to the journal at once: a "
            "SIGKILL of relhost loses none; a power loss or a crash of the machine loses at most "
            "the results of jobs that ended within the window, and those run again on resume. "
            "The intent of a job on a runner that finds its jobs again (a cluster's) is durable "
            "before it is submitted; a local job's is written before it starts (its process "
            "ends with the machine)"},
    {.name = "registry_dir",
     .type = RELHOST_OPT_STRING,
     .def = ".relhost/registry",
     .offset = K(registry_dir),
     .flags = RELHOST_OPTF_PATH,
     .doc = "the release registry: manifest.json, staged/, last_green, audit.jsonl"},
    {.name = "baseline",
     .type = RELHOST_OPT_STRING,
     .offset = K(baseline),
     .flags = RELHOST_OPTF_PATH,
     .doc = "the baseline store (keyed validation::metric) that baseline rules of acceptance "
            "checks compare against; written only by a promotion (which keeps a copy in the "
            "registry) and by a rollback; default <state_dir>/baseline.json"},
    {.name = "require_baseline",
     .type = RELHOST_OPT_BOOL,
     .def = "false",
     .offset = K(require_baseline),
     .doc = "a baseline rule with no baseline entry makes its validation INCONCLUSIVE "
            "(no_baseline) instead of passing"},
    {.name = "monitor_profile",
     .type = RELHOST_OPT_STRING,
     .offset = K(monitor_profile),
     .doc = "the profile `relhost monitor` runs when given no --profile; must name one of "
            "profiles"},
    {0},
};

const char *const PLAN_STRUCTURAL_KEYS[] = {"runners",    "metrics",     "steps", "profiles",
                                            "on_promote", "on_rollback", NULL};

static const char *const structural_docs[] = {
    "runners      group of groups: named runner instances, each { plugin = ...; max_parallel; "
    "max_log; queue_timeout; the plugin's options }",
    "metrics      group of groups: named metrics sources, each { plugin = ...; priority; isolate; "
    "call_timeout; the plugin's options }",
    "steps        list of groups, required: the steps, run in this order (see STEP KEYS)",
    "profiles     group of lists of strings: named sets of validations --profile picks",
    "on_promote   list of groups, like steps: run after a promotion made the release last green",
    "on_rollback  list of groups, like steps: run by a rollback after the pointer moved",
    NULL,
};

static const relhost_plugin core_desc = {
    .abi_major = RELHOST_ABI_MAJOR,
    .abi_minor = RELHOST_ABI_MINOR,
    .struct_size = sizeof(relhost_plugin),
    .name = "core",
    .version = RELHOST_VERSION,
    .description = "the plan's own top-level keys (relhost.cfg(5) TOP-LEVEL KEYS)",
    .options = plan_key_rows,
    .option_size = sizeof(relhost_option),
    .conf_size = sizeof(plan_keys),
};

const relhost_plugin *plan_keys_desc(void) { return &core_desc; }

void plan_keys_describe(FILE *out)
{
    options_describe(&core_desc, out);
    fprintf(out, "structural keys (plugin instances):\n");
    for (size_t i = 0; structural_docs[i]; i++)
        fprintf(out, "  %s\n", structural_docs[i]);
}
