/* SPDX-License-Identifier: MIT */
/* tests/plugins/metrics_regex_common.h - what the metrics_regex unit test files share: the fixture
 * (a plugin instance on a mock host) and the sample log (metrics_regex_common.c), and the cases
 * kept outside metrics_regex.c. */
#ifndef RELHOST_TESTS_PLUGINS_METRICS_REGEX_COMMON_H
#define RELHOST_TESTS_PLUGINS_METRICS_REGEX_COMMON_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The plugin's private header (its files are linked in). */
#include <math.h>

#include "../../plugins/metrics_regex/metrics_regex_int.h"

#include <cmocka.h>

#include "base/error.h"
#include "mock_host.h"
#include "plan/options.h"

struct fx {
    mock_host m;
    const relhost_plugin *pl;
    struct metrics_regex_conf conf;
    optstore *st;
    void *inst;
    int open_rc;
};

/* How to cut a log into feed() calls. */
enum cut { CUT_WHOLE, CUT_BYTES, CUT_RANDOM, CUT_AT };

extern const char *const sample_conf;

/* metrics_regex_common.c */
struct fx *fx_new(const char *text);
void fx_free(struct fx *f);
void fx_run_cut(struct fx *f, const char *log, size_t len, enum cut how, unsigned seed);
void fx_run(struct fx *f, const char *log);
char *fx_dump(const mock_host *m);
double metric_value(const mock_host *m, const char *key);
size_t sample_log(char *buf, size_t cap);
void check_sample_results(const mock_host *m);

/* metrics_regex_internals.c */
void test_plugins_metrics_regex__derived_prefilters_are_literals_every_match_contains(void **state);
void test_plugins_metrics_regex__prefilter_finds_literals_in_either_case_anywhere(void **state);
void test_plugins_metrics_regex__numbers_are_read_strictly(void **state);
void test_plugins_metrics_regex__the_plain_number_fast_path_reads_as_the_grammar(void **state);
void test_plugins_metrics_regex__explicit_empty_prefilter_gives_the_same_results(void **state);
void test_plugins_metrics_regex__search_shortcuts_give_what_every_line_matching_gives(void **state);
void test_plugins_metrics_regex__without_jit_the_interpreter_gives_the_same_results(void **state);

#endif
