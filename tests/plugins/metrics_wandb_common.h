/* SPDX-License-Identifier: MIT */
/* tests/plugins/metrics_wandb_common.h - what the metrics_wandb unit test files share: the key, the
 * scripted HTTP and the fixture (metrics_wandb_common.c), replies shaped like W&B's, and the cases
 * kept outside metrics_wandb.c. */
#ifndef RELHOST_TESTS_PLUGINS_METRICS_WANDB_COMMON_H
#define RELHOST_TESTS_PLUGINS_METRICS_WANDB_COMMON_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Before cmocka.h, whose fail() macro would rewrite the plugin's host->fail() calls. */
#include "../../plugins/common/pl_host.h"
#include "../../plugins/metrics_wandb/metrics_wandb_int.h"

#include <cmocka.h>

#include "base/error.h"
#include "mock_host.h"
#include "plan/options.h"

#define KEY "k-0123456789abcdef0123"
/* base64("api:" KEY) and the key's own base64: neither may appear anywhere */
#define KEY_B64_PAIR "YXBpOmstMDEyMzQ1Njc4OWFiY2RlZjAxMjM="

/* ---- Scripted HTTP --------------------------------------------------------------------------- */

struct reply {
    long status;
    const char *body; /* NULL: a transport failure returning rc */
    int rc;
    const char *header; /* one response header, "name: value" with the name lower-cased */
};

struct sent {
    char *method, *url, *body, *basic_user, *basic_env, *bearer_env;
    char *headers[8];
    double timeout_s, budget_s;
};

/* ---- Fixture --------------------------------------------------------------------------------- */

struct fx {
    mock_host m; /* first: the HTTP script finds its fixture from the mock's ctx */
    const relhost_plugin *pl;
    struct metrics_wandb_conf conf;
    optstore *st;
    void *inst;
    int open_rc;
    struct reply replies[8];
    size_t n_replies, next_reply;
    struct sent sent[8];
    size_t n_sent;
    const char *env[8]; /* the job's environment */
};

#define SRC_API                                                                                  \
    "base_url = \"http://127.0.0.1:8080/\"; "                                                    \
    "metrics = ( { name = \"sps\"; key = \"overview/sps\"; },"                                   \
    "            { name = \"sps_max\"; key = \"overview/sps\"; reducer = \"max\"; },"            \
    "            { name = \"sps_min\"; key = \"overview/sps\"; reducer = \"min\"; },"            \
    "            { name = \"sps_mean\"; key = \"overview/sps\"; reducer = \"mean\"; },"          \
    "            { name = \"sps_tail\"; key = \"overview/sps\"; reducer = \"mean_last_pct\"; }," \
    "            { name = \"success\"; key = \"eval/success_rate\"; } );"

/* ---- Replies shaped like W&B's --------------------------------------------------------------- */

/* summaryMetrics is a JSON-encoded string inside the JSON reply. */
#define RUN_REPLY                                                                           \
    "{\"data\":{\"project\":{\"run\":{\"id\":\"UnVuOnYxOmFiYw==\",\"name\":\"abc\","        \
    "\"displayName\":\"bright-sun-7\",\"state\":\"finished\","                              \
    "\"summaryMetrics\":\"{\\\"overview/sps\\\": 812.5, \\\"eval/success_rate\\\": 0.875, " \
    "\\\"_step\\\": 7, \\\"_runtime\\\": 31.5, \\\"train/loss\\\": 0.25}\","                \
    "\"historyKeys\":{\"lastStep\":7,\"keys\":{\"_step\":{},\"overview/sps\":{},"           \
    "\"train/loss\":{}}},\"historyLineCount\":9}}}}"

/* One list per spec; rows out of step order, one without the key, one non-numeric, one NaN. */
#define HISTORY_REPLY                                                                              \
    "{\"data\":{\"project\":{\"run\":{\"sampledHistory\":[["                                       \
    "{\"_step\":3,\"overview/sps\":400},{\"_step\":0,\"overview/sps\":100},"                       \
    "{\"_step\":1,\"overview/sps\":200},{\"_step\":2,\"overview/sps\":300},"                       \
    "{\"_step\":4,\"overview/sps\":500},{\"_step\":5,\"overview/sps\":600},"                       \
    "{\"_step\":6,\"overview/sps\":700},{\"_step\":7,\"overview/sps\":800},"                       \
    "{\"_step\":8},{\"_step\":9,\"overview/sps\":\"n/a\"},{\"_step\":10,\"overview/sps\":\"NaN\"}" \
    "]]}}}}"

/* A log naming two runs; the last (coloured) run URL is the one that counts. */
static const char LOG_TWO_RUNS[] =
    "step 1 SPS: 3000\n"
    "wandb: Syncing run bright-sun-7\n"
    "wandb: \xe2\xad\x90\xef\xb8\x8f View project at https://wandb.ai/metta/stable\n"
    "wandb: \xf0\x9f\x9a\x80 View run at https://wandb.ai/metta/stable/runs/first1\r\n"
    "[SUMMARY] Restart Count: 1\n"
    "wandb: \xf0\x9f\x9a\x80 View run at \x1b[34m\x1b[4mhttps://wandb.ai/metta/stable/runs/"
    "second2\x1b[0m\n"
    "done";

/* metrics_wandb_common.c */
struct fx *fx_new(const char *text);
void fx_reply(struct fx *f, long status, const char *body);
void fx_free(struct fx *f);
void *fx_job(struct fx *f);
int fx_run(struct fx *f, const char *log);
double metric_value(const mock_host *m, const char *key);
void assert_contains(const char *hay, const char *needle);
const char *last_fail(const struct fx *f);
void assert_no_secret(const struct fx *f);

/* metrics_wandb_api.c */
void test_plugins_metrics_wandb__api_summary_and_history_reduce_exactly(void **state);
void test_plugins_metrics_wandb__a_key_the_run_lacks_is_a_note_not_a_failure(void **state);
void test_plugins_metrics_wandb__last_falls_back_to_the_last_history_row(void **state);
void test_plugins_metrics_wandb__a_missing_run_or_project_fails_naming_it(void **state);
void test_plugins_metrics_wandb__graphql_errors_fail_with_their_messages(void **state);
void test_plugins_metrics_wandb__http_401_says_the_key_was_rejected(void **state);
void test_plugins_metrics_wandb__a_transport_failure_keeps_the_hosts_message(void **state);
void test_plugins_metrics_wandb__non_finite_values_are_skipped_with_a_note(void **state);
void test_plugins_metrics_wandb__a_long_history_says_it_was_sampled(void **state);
void test_plugins_metrics_wandb__several_runs_and_a_plan_url_mismatch_are_noted(void **state);

#endif
