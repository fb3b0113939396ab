/* SPDX-License-Identifier: MIT */
/*
 * abi10_gate.c - a gate built ONLY against the frozen ABI 1.0 header (tests/abi/plugin-1.0.h).
 *
 * The promise of the growth rules is that a plugin compiled against 1.0 loads and runs in every
 * later 1.x host. This gate is that plugin: it is compiled from the frozen copy, never from
 * include/relhost/plugin.h, so a host change that breaks 1.0 plugins (a reordered service, a
 * descriptor member moved, an option row read past option_size) fails the abi10 plan test.
 */
#include "plugin-1.0.h"

#include <stdlib.h>

#if RELHOST_ABI_MAJOR != 1 || RELHOST_ABI_MINOR != 0
#error "abi10_gate must be built against the frozen 1.0 header, not the current one"
#endif

struct abi10_gate_conf {
    const char *greeting;
    int64_t times;
    int fail;
};

struct abi10_gate {
    const struct abi10_gate_conf *conf;
};

/* Kept from the entry call: the host promises it stays valid while the plugin is loaded, and a
 * const pointer set once per load is not mutable state shared between instances. */
static const relhost_host *host;

static const relhost_option abi10_gate_options[] = {
    {.name = "greeting",
     .type = RELHOST_OPT_STRING,
     .def = "hello from ABI 1.0",
     .offset = offsetof(struct abi10_gate_conf, greeting),
     .doc = "text posted as a note (templates expand)",
     .flags = RELHOST_OPTF_TEMPLATE},
    {.name = "times",
     .type = RELHOST_OPT_INT,
     .def = "1",
     .offset = offsetof(struct abi10_gate_conf, times),
     .doc = "how many notes to post",
     .min = 1,
     .max = 10},
    {.name = "fail",
     .type = RELHOST_OPT_BOOL,
     .def = "false",
     .offset = offsetof(struct abi10_gate_conf, fail),
     .doc = "report FAILED (reason \"abi10\") instead of PASSED"},
    {0},
};

static int abi10_gate_open(const relhost_ctx *ctx, const void *conf, void **inst)
{
    struct abi10_gate *g = calloc(1, sizeof *g);
    if (g == NULL) {
        host->fail(ctx, "abi10_gate: out of memory");
        return RELHOST_ENOMEM;
    }
    g->conf = conf;
    *inst = g;
    return 0;
}

static int abi10_gate_describe(const relhost_ctx *ctx, void *inst)
{
    struct abi10_gate *g = inst;
    host->note_add(ctx, "abi10_gate would post \"%s\" %lld time(s)", g->conf->greeting,
                   (long long)g->conf->times);
    return 0;
}

static int abi10_gate_run(const relhost_ctx *ctx, void *inst, relhost_verdict *out)
{
    struct abi10_gate *g = inst;
    for (int64_t i = 0; i < g->conf->times; i++)
        host->note_add(ctx, "abi10_gate (ABI 1.0): %s", g->conf->greeting);
    out->outcome = g->conf->fail ? RELHOST_FAILED : RELHOST_PASSED;
    out->reason = g->conf->fail ? "abi10" : NULL;
    out->retryable = 0;
    return 0;
}

static void abi10_gate_close(void *inst)
{
    free(inst);
}

static const relhost_gate_ops abi10_gate_gate = {
    .struct_size = sizeof(relhost_gate_ops),
    .open = abi10_gate_open,
    .describe = abi10_gate_describe,
    .run = abi10_gate_run,
    .close = abi10_gate_close,
};

static const relhost_plugin abi10_gate_plugin = {
    RELHOST_PLUGIN_HEADER,
    .name = "abi10_gate",
    .version = "1.0.0",
    .description = "a gate built against the frozen ABI 1.0 header",
    .options = abi10_gate_options,
    .option_size = sizeof(relhost_option),
    .conf_size = sizeof(struct abi10_gate_conf),
    .gate = &abi10_gate_gate,
};

RELHOST_EXPORT int relhost_plugin_entry(const relhost_host *h, const relhost_plugin **out)
{
    host = h;
    *out = &abi10_gate_plugin;
    return 0;
}
