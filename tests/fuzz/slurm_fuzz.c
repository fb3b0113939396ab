/* SPDX-License-Identifier: MIT */
/*
 * slurm_fuzz - a libFuzzer harness for what plugins/runner_slurm reads from Slurm's tools: sbatch
 * --parsable, `squeue -h -t all -o %i|%T|%r|%j`, `scontrol show job -o` and their error text.
 *
 * The plugin is driven as the host drives it: its poll() of three jobs (two on the default
 * cluster, one on another, one with a malformed id) and its find() of a key, every squeue and
 * scontrol answered by the scripted process service (fuzz_host.h) from the records after the
 * first. The first record goes straight to slurm_parse.c's readers (sbatch's id, scontrol's
 * fields, the error message).
 *
 * Oracle: no crash or sanitizer report; every job poll() reports is in a valid state, an ENDED
 * one with a valid end; a failing poll() or find() explains itself through fail(); a found id is
 * a Slurm job id (slurm_split_id() accepts it).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../plugins/runner_slurm/runner_slurm.h"

#include "fuzz_host.h"
#include "fuzz_util.h"
#include "mock_host.h"

static mock_host m;
static const relhost_plugin *pl;
static struct runner_slurm_conf conf;

/* The defaults of the option table, set by hand: the plugin's buffer helpers (sb_add, sv_free)
 * share their names with the core's, so this harness links no core (no options_fill_text). */
static void setup(void)
{
    mock_host_init(&m);
    if (relhost_plugin_entry(&m.host, &pl) != 0)
        fuzz_die("relhost_plugin_entry failed");
    conf.poll_interval = 10;
    conf.time_slack = 120;
    conf.command_timeout = 60;
    conf.sbatch = "sbatch";
    conf.squeue = "squeue";
    conf.scontrol = "scontrol";
    conf.scancel = "scancel";
}

/* The first record as one text, straight into the readers of slurm_parse.c. */
static void parse_direct(const uint8_t *data, size_t size)
{
    const uint8_t *rs = memchr(data, FUZZ_RS, size);
    size_t n = rs ? (size_t)(rs - data) : size;
    char *text = strndup((const char *)data, n);
    char id[257], num[32], cluster[200], v[64], msg[512];
    if (text == NULL)
        abort();
    if (slurm_parse_submit(text, id) == 0 &&
        slurm_split_id(id, num, sizeof num, cluster, sizeof cluster) != 0)
        fuzz_die("slurm_parse_submit gave \"%s\", which slurm_split_id refuses", id);
    slurm_split_id(text, num, sizeof num, cluster, sizeof cluster);
    if (slurm_kv_get(text, "JobState", v, sizeof v) == 0) {
        relhost_job_status st = {.struct_size = sizeof st};
        char ec[32] = "", restarts[16] = "";
        int code = -1, sig = 0;
        slurm_kv_get(text, "Restarts", restarts, sizeof restarts);
        if (slurm_kv_get(text, "ExitCode", ec, sizeof ec) != 0 ||
            sscanf(ec, "%d:%d", &code, &sig) != 2)
            code = -1, sig = 0;
        slurm_terminal_state(v);
        slurm_pending_state(v);
        slurm_map_end(v, code, sig, restarts[0] ? atoi(restarts) : 0, &st);
        slurm_set_word(st.engine_state, sizeof st.engine_state, v);
    }
    relhost_proc_result res = {.struct_size = sizeof res,
                               .exited = 1,
                               .exit_code = 1,
                               .out = text,
                               .out_len = n,
                               .err = text,
                               .err_len = n};
    slurm_tool_message(&res, msg, sizeof msg);
    slurm_transient(&res);
    res.err = NULL;
    slurm_tool_message(&res, msg, sizeof msg);
    free(text);
}

static void check_status(const relhost_job_status *st)
{
    if (st->state < RELHOST_JOB_SUBMITTING || st->state > RELHOST_JOB_LOST)
        fuzz_die("job %s: poll set state %d", st->external_id, (int)st->state);
    if (st->state == RELHOST_JOB_ENDED &&
        (st->end < RELHOST_END_EXITED || st->end > RELHOST_END_EXEC_FAILED))
        fuzz_die("job %s: ended with end %d", st->external_id, (int)st->end);
    if (memchr(st->engine_state, '\0', sizeof st->engine_state) == NULL ||
        memchr(st->engine_reason, '\0', sizeof st->engine_reason) == NULL)
        fuzz_die("job %s: engine_state or engine_reason is not terminated", st->external_id);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const ids[] = {"101", "102", "7;gpu", "bad id"};
    relhost_job_status jobs[4];
    void *inst = NULL;
    double next = 0;
    char id[257];

    if (pl == NULL)
        setup();
    parse_direct(data, size);

    /* The records after the first answer the plugin's squeue and scontrol calls. */
    const uint8_t *rs = memchr(data, FUZZ_RS, size);
    size_t skip = rs ? (size_t)(rs - data) + 1 : size;
    mock_host_reset(&m);
    fuzz_host_script(&m, data + skip, size - skip, NULL);
    if (pl->runner->open(&m.ctx, &conf, &inst) != 0)
        fuzz_die("open failed: %s", mock_host_last_fail(&m));
    memset(jobs, 0, sizeof jobs);
    for (size_t i = 0; i < 4; i++) {
        jobs[i].struct_size = sizeof jobs[i];
        jobs[i].key = "rh-2026.12.06-train-a1";
        jobs[i].external_id = ids[i];
        jobs[i].state = RELHOST_JOB_RUNNING;
    }
    size_t fails = m.n_fails;
    int rc = pl->runner->poll(&m.ctx, inst, jobs, 4, sizeof jobs[0], &next);
    if (rc > 0 || (rc < 0 && m.n_fails == fails))
        fuzz_die("poll returned %d without explaining it", rc);
    for (size_t i = 0; i < 4; i++)
        check_status(&jobs[i]);

    fails = m.n_fails;
    rc = pl->runner->find(&m.ctx, inst, "rh-2026.12.06-train-a1", id);
    if (rc == 0) {
        char num[32], cluster[200];
        if (slurm_split_id(id, num, sizeof num, cluster, sizeof cluster) != 0)
            fuzz_die("find gave \"%s\", not a Slurm job id", id);
    } else if (rc > 0 || (rc != RELHOST_ENOTFOUND && m.n_fails == fails)) {
        fuzz_die("find returned %d without explaining it", rc);
    }
    pl->runner->close(inst);
    if (getenv("RELHOST_FUZZ_VERBOSE"))
        for (size_t i = 0; i < 4; i++)
            fprintf(stderr, "job %s: state %d end %d exit %d restarts %d %s (%s)\n", ids[i],
                    (int)jobs[i].state, (int)jobs[i].end, jobs[i].exit_code, jobs[i].restarts,
                    jobs[i].engine_state, jobs[i].engine_reason);
    fuzz_host_dump(&m, rc == 0 ? "find found" : "find");
    return 0;
}
