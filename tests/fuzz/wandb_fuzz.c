/* SPDX-License-Identifier: MIT */
/*
 * wandb_fuzz - a libFuzzer harness for plugins/metrics_wandb's GraphQL reply parsing: a job's
 * collect() against a scripted HTTP service whose every reply comes from the input: the Run
 * query (summaryMetrics, a JSON string inside the JSON; historyKeys; a null run or project;
 * errors[] with objects or bare strings), then the sampledHistory rows the reducers read.
 *
 * Oracle: no crash, leak or sanitizer report; collect() returns 0, or a negative RELHOST_E* it
 * explained through fail(); every metric posted is one the conf names.
 *
 * Input layout: byte 0 chooses the conf (summary metrics only, or history reducers too); the
 * rest are the replies (fuzz_host.h, README.md).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../plugins/metrics_wandb/metrics_wandb_int.h"

#include "base/error.h"
#include "fuzz_host.h"
#include "fuzz_util.h"
#include "mock_host.h"
#include "plan/options.h"

#define BASE "http://127.0.0.1:9"
#define RUN \
    "run_id = \"abc123\"; entity = \"metta\"; project = \"stable\"; base_url = \"" BASE "\"; "
static const char *const CONFS[] = {
    RUN "metrics = ( { name = \"sps\"; key = \"overview/sps\"; },"
        "            { name = \"success\"; key = \"eval/success_rate\"; } );",
    RUN "metrics = ( { name = \"sps\"; key = \"overview/sps\"; },"
        "            { name = \"sps_max\"; key = \"overview/sps\"; reducer = \"max\"; },"
        "            { name = \"sps_min\"; key = \"overview/sps\"; reducer = \"min\"; },"
        "            { name = \"sps_mean\"; key = \"overview/sps\"; reducer = \"mean\"; },"
        "            { name = \"sps_tail\"; key = \"overview/sps\"; reducer = \"mean_last_pct\"; },"
        "            { name = \"loss_last\"; key = \"losses/loss\"; reducer = \"last\"; },"
        "            { name = \"success\"; key = \"eval/success_rate\"; } );",
};
#define N_CONFS (sizeof(CONFS) / sizeof(CONFS[0]))
static const char *const NAMES[] = {"sps",      "sps_max",   "sps_min", "sps_mean",
                                    "sps_tail", "loss_last", "success", NULL};
static const char *const SECRETS[] = {"WANDB_API_KEY=fuzz-key-0123456789abcdef", NULL};

struct instance {
    const relhost_plugin *pl;
    struct metrics_wandb_conf conf;
    optstore *st;
    void *inst;
};

static mock_host m;
static struct instance instances[N_CONFS];

static struct instance *instance_of(size_t c)
{
    static int init;
    struct instance *r = &instances[c];
    if (!init) {
        init = 1;
        mock_host_init(&m);
        m.secrets = SECRETS;
        fuzz_host_script(&m, NULL, 0, BASE);
    }
    if (r->pl != NULL)
        return r;
    if (relhost_plugin_entry(&m.host, &r->pl) != 0)
        fuzz_die("relhost_plugin_entry failed");
    if (options_fill_text(r->pl, &r->conf, CONFS[c], &r->st) != 0)
        fuzz_die("conf %zu does not parse: %s", c, error_last());
    if (r->pl->metrics->open(&m.ctx, &r->conf, &r->inst) != 0)
        fuzz_die("conf %zu does not open: %s", c, mock_host_last_fail(&m));
    return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t c = size ? data[0] % N_CONFS : 0;
    struct instance *r = instance_of(c);
    const char *env[] = {"RELHOST_ATTEMPT=1", NULL};
    relhost_job_spec spec = {
        .struct_size = sizeof spec, .key = "rh-fuzz-train-a1", .validation = "train", .env = env};
    void *job = NULL;
    if (size) {
        data++;
        size--;
    }
    mock_host_reset(&m);
    fuzz_host_script(&m, data, size, BASE);
    if (r->pl->metrics->job_open(&m.ctx, r->inst, &spec, &job) != 0)
        fuzz_die("job_open failed: %s", mock_host_last_fail(&m));
    int rc = r->pl->metrics->collect(&m.ctx, job);
    r->pl->metrics->job_close(job);
    fuzz_host_dump(&m, rc == 0 ? "collect 0" : "collect failed");
    if (rc > 0 || (rc < 0 && m.n_fails == 0))
        fuzz_die("collect returned %d without a fail() message", rc);
    for (size_t i = 0; i < m.n_metrics; i++) {
        size_t k = 0;
        while (NAMES[k] && strcmp(NAMES[k], m.metrics[i].key) != 0)
            k++;
        if (NAMES[k] == NULL)
            fuzz_die("collect posted \"%s\", which the conf does not name", m.metrics[i].key);
    }
    return 0;
}
