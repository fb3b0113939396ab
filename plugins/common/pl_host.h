/* SPDX-License-Identifier: MIT */
/*
 * pl_host.h - what every bundled plugin shares about its host: the one spelling of the services
 * table (pl_host), the entry point that keeps it, and the small helpers every plugin wrote for
 * itself before. Compiled into each plugin that lists pl_host.c in its SOURCES (hidden symbols:
 * every .so has its own copy, so pl_host is per plugin, set once, the same for every instance).
 *
 * A plugin defines its descriptor as `const relhost_plugin pl_plugin = {...}`; pl_host.c
 * exports relhost_plugin_entry(), which keeps the host and hands pl_plugin out.
 */
#ifndef RELHOST_PL_HOST_H
#define RELHOST_PL_HOST_H

#include <stddef.h>

#include <relhost/plugin.h>

/* The host's services, kept by the entry: valid while the plugin is loaded. Plugins and their
 * helpers call pl_host->fail(), pl_host->http_request()...; no other copy of it exists. */
extern const relhost_host *pl_host;

/* The plugin's descriptor, defined by the plugin (its only non-static object), which
 * relhost_plugin_entry() hands the host:
 *   const relhost_plugin pl_plugin = {
 *       PL_PLUGIN_BASE("foo", "1.0.0", foo_options, struct foo_conf),
 *       .description = "...",
 *       .gate = PL_GATE_OPS(foo, .close = foo_close),
 *   };
 * (a file-scope compound literal is static: the ops live as long as the descriptor). */
extern const relhost_plugin pl_plugin;

/* The members every descriptor fills alike: the ABI header, name and version, the option table,
 * its row size and the conf struct the host fills from it. */
#define PL_PLUGIN_BASE(name_, version_, options_, conf_type)                              \
    RELHOST_PLUGIN_HEADER, .name = (name_), .version = (version_), .options = (options_), \
                           .option_size = sizeof(relhost_option), .conf_size = sizeof(conf_type)

/* One row of an option table whose plan key is the name of the field it fills in `conf` (the
 * struct type): the option type without its RELHOST_OPT_ prefix, then the row's other members
 * by name. A file wraps it for each table, e.g.
 *   #define OPT(f, t, ...) PL_OPT(struct foo_conf, f, t, __VA_ARGS__)
 *   OPT(timeout, DURATION, .def = "10m", .min = 1, .doc = "..."),
 * so a key can never name one field and fill another; a key spelled unlike its field is
 * written out as a plain relhost_option row. Needs <stddef.h> (offsetof). */
#define PL_OPT(conf, field, type_, ...)                                                           \
    {                                                                                             \
        .name = #field, .type = RELHOST_OPT_##type_, .offset = offsetof(conf, field), __VA_ARGS__ \
    }

/* A capability's ops table from the functions named after the plugin: the ops every plugin of
 * that kind has come from the prefix (PL_GATE_OPS(foo) takes foo_open, foo_describe, foo_run),
 * the ones that vary are given by name after it (.close = pl_close_conf, .find = foo_find...).
 * An op left out is NULL, which the ABI reads as "not offered" for optional ops. */
#define PL_GATE_OPS(p, ...)                                                                  \
    &(const relhost_gate_ops)                                                                \
    {                                                                                        \
        .struct_size = sizeof(relhost_gate_ops), .open = p##_open, .describe = p##_describe, \
        .run = p##_run, __VA_ARGS__                                                          \
    }
/* Metrics sources: open, job_open, feed, collect, job_close and close from the prefix. */
#define PL_METRICS_OPS(p, ...)                                                                    \
    &(const relhost_metrics_ops)                                                                  \
    {                                                                                             \
        .struct_size = sizeof(relhost_metrics_ops), .open = p##_open, .job_open = p##_job_open,   \
        .feed = p##_feed, .collect = p##_collect, .job_close = p##_job_close, .close = p##_close, \
        __VA_ARGS__                                                                               \
    }
/* Runners: open, submit, poll and cancel from the prefix. */
#define PL_RUNNER_OPS(p, ...)                                                              \
    &(const relhost_runner_ops)                                                            \
    {                                                                                      \
        .struct_size = sizeof(relhost_runner_ops), .open = p##_open, .submit = p##_submit, \
        .poll = p##_poll, .cancel = p##_cancel, __VA_ARGS__                                \
    }

/* "file:line" of the plan setting stored at conf_field, or "the plan" (a host without the
 * where service still gets a message). Borrowed from the host: valid until the instance closes. */
const char *pl_where(const relhost_ctx *ctx, const void *conf_field);

/* Say "out of memory" through fail() (the host prefixes plugin and step) and return
 * RELHOST_ENOMEM: `return pl_oom(ctx);`. */
int pl_oom(const relhost_ctx *ctx);

/* The host's short message for a RELHOST_E* code (host->strerror, ABI 1.4), or "error" under a
 * host that lacks it. A constant: never freed. */
const char *pl_strerror(int code);

/* For a plugin whose instance is its conf: open() sets *inst to the conf the host filled (the
 * host owns it, valid until close), and this close op has nothing to free. */
void pl_close_conf(void *inst);

/* Mark the step SKIPPED for `reason` (a constant: "launch", "not_configured"...), not
 * retryable. */
void pl_skip(relhost_verdict *out, const char *reason);

/* 1 under `relhost launch`, which only submits jobs: the step is then SKIPPED "launch" and a
 * gate that submits none returns at once (`if (pl_launch_skips(ctx, out)) return 0;`). */
int pl_launch_skips(const relhost_ctx *ctx, relhost_verdict *out);

/* 0 when the host offers the process service (proc_run, proc_result_free). Otherwise fail
 * "<plugin>: this relhost offers no process service (proc_run); <advice>" and return
 * RELHOST_ENOTSUP. */
int pl_need_proc(const relhost_ctx *ctx, const char *advice);

/* 0 when the host offers the HTTP service (http_request, http_response_free). Otherwise fail
 * "<plugin>: this relhost has no HTTP service (http_request): upgrade relhost, or make the step
 * optional until then" and return RELHOST_ENOTSUP. */
int pl_need_http(const relhost_ctx *ctx);

#endif
