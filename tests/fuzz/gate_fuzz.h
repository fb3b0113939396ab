/* SPDX-License-Identifier: MIT */
/*
 * gate_fuzz.h - the body of the HTTP gate harnesses (asana_fuzz.c, github_fuzz.c): each defines
 * GATE_CONF (its conf struct), GATE_CONFS (plan texts), GATE_SECRETS and GATE_BASE, then includes
 * this file. Byte 0 of the input chooses the conf; the rest are the replies (fuzz_host.h).
 *
 * Oracle: no crash, leak or sanitizer report; run() returns 0 with a known outcome, a machine
 * word as the reason of every outcome but PASSED, and a message (fail() or a note) for every
 * ERROR; or it returns a negative RELHOST_E* it explained through fail().
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "fuzz_host.h"
#include "fuzz_util.h"
#include "mock_host.h"
#include "plan/options.h"

#define N_GATE_CONFS (sizeof(GATE_CONFS) / sizeof(GATE_CONFS[0]))

struct gate_instance {
    const relhost_plugin *pl;
    GATE_CONF conf;
    optstore *st;
    void *inst;
};

static mock_host gate_m;
static struct gate_instance gate_instances[N_GATE_CONFS];

/* The host's template service for {version} (the defaults use nothing else). */
static int gate_expand(const relhost_ctx *ctx, const char *tmpl, const char *const *vars, size_t n,
                       char **out)
{
    const char *at = strstr(tmpl, "{version}");
    (void)vars;
    (void)n;
    if (at == NULL) {
        *out = strdup(tmpl);
    } else {
        size_t len = strlen(tmpl) - 9 + strlen(ctx->version) + 1;
        if ((*out = malloc(len)) != NULL)
            snprintf(*out, len, "%.*s%s%s", (int)(at - tmpl), tmpl, ctx->version, at + 9);
    }
    return *out ? 0 : RELHOST_ENOMEM;
}

static struct gate_instance *gate_instance_of(size_t c)
{
    static int init;
    struct gate_instance *g = &gate_instances[c];
    if (!init) {
        init = 1;
        mock_host_init(&gate_m);
        gate_m.secrets = GATE_SECRETS;
        gate_m.host.expand = gate_expand;
        gate_m.ctx.state_dir = "/nonexistent-relhost-fuzz";
        fuzz_host_script(&gate_m, NULL, 0, GATE_BASE); /* the services exist from open on */
    }
    if (g->pl != NULL)
        return g;
    if (relhost_plugin_entry(&gate_m.host, &g->pl) != 0)
        fuzz_die("relhost_plugin_entry failed");
    if (options_fill_text(g->pl, &g->conf, GATE_CONFS[c], &g->st) != 0)
        fuzz_die("conf %zu does not parse: %s", c, error_last());
    if (g->pl->gate->open(&gate_m.ctx, &g->conf, &g->inst) != 0)
        fuzz_die("conf %zu does not open: %s", c, mock_host_last_fail(&gate_m));
    return g;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t c = size ? data[0] % N_GATE_CONFS : 0;
    struct gate_instance *g = gate_instance_of(c);
    relhost_verdict v = {.struct_size = sizeof v};
    if (size) {
        data++;
        size--;
    }
    mock_host_reset(&gate_m);
    fuzz_host_script(&gate_m, data, size, GATE_BASE);
    int rc = g->pl->gate->run(&gate_m.ctx, g->inst, &v);
    if (getenv("RELHOST_FUZZ_VERBOSE"))
        fprintf(stderr, "conf %zu: run %d, outcome %d (%s)\n", c, rc, (int)v.outcome,
                v.reason ? v.reason : "-");
    fuzz_host_dump(&gate_m, "run");
    if (rc > 0)
        fuzz_die("run returned %d", rc);
    if (rc < 0) {
        if (gate_m.n_fails == 0)
            fuzz_die("run returned %d without a fail() message", rc);
        return 0;
    }
    if (v.outcome < RELHOST_PASSED || v.outcome > RELHOST_SKIPPED)
        fuzz_die("run gave outcome %d", (int)v.outcome);
    if (v.outcome != RELHOST_PASSED && (v.reason == NULL || v.reason[0] == '\0'))
        fuzz_die("outcome %d without a reason", (int)v.outcome);
    if (v.outcome == RELHOST_ERROR && gate_m.n_fails == 0 && gate_m.n_notes == 0)
        fuzz_die("an ERROR (%s) with neither a fail() message nor a note", v.reason);
    return 0;
}
