/* SPDX-License-Identifier: MIT */
/*
 * headertest.c - include/relhost/plugin.h must compile ALONE, first, with
 * -std=c11 -pedantic -Wall -Wextra -Werror (and as C++11 when a C++ compiler exists): a plugin
 * author includes nothing else, so the header must bring every type it uses and lean on no
 * extension that -pedantic rejects. Nothing here is ever linked or run; compiling it is the test.
 *
 * The static assertions pin the growth rules that the loader relies on, so that breaking one is a
 * build failure here instead of a silent misread in a host built years later.
 */
#include <relhost/plugin.h> /* first and alone: it must be self-contained */

#ifdef __cplusplus
#define HT_STATIC_ASSERT(cond, msg) static_assert(cond, msg)
#else
#define HT_STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)
#endif

/* Every struct that crosses the ABI starts with its size, so a reader can check it first. */
#define HT_SIZED_FIRST(type) \
    HT_STATIC_ASSERT(offsetof(type, struct_size) == 0, #type " must begin with struct_size")

HT_SIZED_FIRST(relhost_verdict);
HT_SIZED_FIRST(relhost_check_spec);
HT_SIZED_FIRST(relhost_ctx);
HT_SIZED_FIRST(relhost_check);
HT_SIZED_FIRST(relhost_metric_info);
HT_SIZED_FIRST(relhost_proc_spec);
HT_SIZED_FIRST(relhost_proc_result);
HT_SIZED_FIRST(relhost_job_spec);
HT_SIZED_FIRST(relhost_job_status);
HT_SIZED_FIRST(relhost_job_request);
HT_SIZED_FIRST(relhost_job_result);
HT_SIZED_FIRST(relhost_http_request);
HT_SIZED_FIRST(relhost_http_response);
HT_SIZED_FIRST(relhost_host);
HT_SIZED_FIRST(relhost_gate_ops);
HT_SIZED_FIRST(relhost_metrics_ops);
HT_SIZED_FIRST(relhost_runner_ops);

/* The loader reads the version pair before anything else, whatever the major: it must stay the
 * first two members of the descriptor, with struct_size right after them. */
HT_STATIC_ASSERT(offsetof(relhost_plugin, abi_major) == 0, "abi_major must open the descriptor");
HT_STATIC_ASSERT(offsetof(relhost_plugin, abi_minor) == sizeof(unsigned),
                 "abi_minor must follow abi_major");
HT_STATIC_ASSERT(offsetof(relhost_plugin, struct_size) >= 2 * sizeof(unsigned),
                 "struct_size must follow the version pair");

/* Option tables end with a zeroed row ({0}), so the END type must be zero. */
HT_STATIC_ASSERT(RELHOST_OPT_END == 0, "RELHOST_OPT_END must be 0 so that {0} ends a table");
HT_STATIC_ASSERT(RELHOST_NONE == 0, "a zeroed verdict must mean 'no outcome yet'");

/* Return codes are negative and distinct from RELHOST_OK. */
HT_STATIC_ASSERT(RELHOST_OK == 0 && RELHOST_EFAIL < 0 && RELHOST_ERETRY < 0,
                 "failures are negative");

/* Runner ids are written into char[257] by contract (<= 256 bytes plus NUL). */
HT_STATIC_ASSERT(sizeof(((relhost_job_status *)0)->new_external_id) == 257,
                 "external ids are 256 bytes plus NUL");

/* The exported entry must have exactly the type the loader casts dlsym() to. */
relhost_plugin_entry_fn headertest_entry_type(void);
relhost_plugin_entry_fn headertest_entry_type(void) { return relhost_plugin_entry; }

/* RELHOST_HAS must expand under -pedantic for const and non-const pointers of every sized kind
 * a plugin meets: the host table, a ctx, an out-parameter. */
int headertest_has(const relhost_host *host, const relhost_ctx *ctx, relhost_verdict *v);
int headertest_has(const relhost_host *host, const relhost_ctx *ctx, relhost_verdict *v)
{
    return RELHOST_HAS(host, registry_quarantine) + RELHOST_HAS(host, log) +
           RELHOST_HAS(ctx, host_private) + RELHOST_HAS(v, retryable);
}

/* The option-table idiom the header documents, in the subset of C shared with C++ (no designated
 * initialisers, which C++ lacks before C++20). */
struct headertest_conf {
    const char *s;
};
static const char *const headertest_choices[] = {"a", "b", NULL};
static const relhost_option headertest_options[] = {
    {"s", RELHOST_OPT_STRING, "x", 0, offsetof(struct headertest_conf, s), "doc", 0, 0,
     headertest_choices, NULL, 0, RELHOST_REF_STEP, RELHOST_OPTF_TEMPLATE | RELHOST_OPTF_PATH},
    {NULL, RELHOST_OPT_END, NULL, 0, 0, NULL, 0, 0, NULL, NULL, 0, RELHOST_REF_RUNNER, 0},
};

const relhost_option *headertest_table(void);
const relhost_option *headertest_table(void) { return headertest_options; }

#ifndef __cplusplus
/* C plugins fill the descriptor's header with RELHOST_PLUGIN_HEADER (designated initialisers). */
static const relhost_plugin headertest_plugin = {
    RELHOST_PLUGIN_HEADER,
    .name = "headertest",
    .version = "0",
    .description = "compiles the header",
    .options = headertest_options,
    .option_size = sizeof(relhost_option),
    .conf_size = sizeof(struct headertest_conf),
};

const relhost_plugin *headertest_descriptor(void);
const relhost_plugin *headertest_descriptor(void) { return &headertest_plugin; }
#endif

#ifndef __cplusplus
/* ABI 1.4: the HTTP option group expands under -pedantic inside a C plugin's option table. */
struct headertest_http_conf {
    const char *url;
    relhost_http_options http;
};
static const relhost_option headertest_http_options[] = {
    {.name = "url",
     .type = RELHOST_OPT_STRING,
     .offset = offsetof(struct headertest_http_conf, url)},
    RELHOST_HTTP_OPTION_ROWS(struct headertest_http_conf, http),
    {0},
};

const relhost_option *headertest_http_table(const relhost_host *host, const char **msg);
const relhost_option *headertest_http_table(const relhost_host *host, const char **msg)
{
    *msg = RELHOST_HAS(host, strerror) ? host->strerror(RELHOST_EIO) : "";
    return headertest_http_options;
}
#endif
