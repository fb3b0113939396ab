/* SPDX-License-Identifier: MIT */
/*
 * metrics_regex's keys() (ABI 1.3) declares exactly the names its instance posts: for each conf,
 * the declared list equals the keys open() gives its patterns (which collect() posts, and no
 * others), and a log that matches every default pattern posts only declared keys. A key it could
 * post but did not declare would make the host refuse a valid plan.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The plugin's private header (its files are linked in). */
#include <math.h>

#include "../../../plugins/metrics_regex/metrics_regex_int.h"

#include <cmocka.h>
#include <fnmatch.h>

#include "base/error.h"
#include "mock_host.h"
#include "plan/options.h"

/* What keys() hands the host, copied (add() gets each name once; the host copies it). */
typedef struct keylist {
    char **v;
    size_t n;
} keylist;

static void keylist_add(void *payload, const char *key)
{
    keylist *l = payload;
    assert_non_null(key);
    l->v = realloc(l->v, (l->n + 1) * sizeof(*l->v));
    assert_non_null(l->v);
    l->v[l->n] = strdup(key);
    assert_non_null(l->v[l->n]);
    l->n++;
}

static void keylist_free(keylist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

static void assert_same_keys(const keylist *a, const keylist *b)
{
    assert_int_equal(a->n, b->n);
    for (size_t i = 0; i < a->n; i++)
        assert_string_equal(a->v[i], b->v[i]);
}

struct fx {
    mock_host m;
    const relhost_plugin *pl;
    struct metrics_regex_conf *conf;
    optstore *st;
    void *inst;
    keylist keys;
};

static struct fx *fx_new(const char *text)
{
    struct fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    f->conf = calloc(1, sizeof(*f->conf));
    assert_non_null(f->conf);
    mock_host_init(&f->m);
    assert_int_equal(relhost_plugin_entry(&f->m.host, &f->pl), 0);
    if (options_fill_text(f->pl, f->conf, text, &f->st) != 0)
        fail_msg("options_fill_text(%s): %s", text, error_last());
    assert_non_null(f->pl->metrics->keys);
    assert_true(RELHOST_HAS(f->pl->metrics, keys));
    /* asked before any instance exists, as the host does at --check */
    assert_int_equal(f->pl->metrics->keys(f->conf, keylist_add, &f->keys), 0);
    assert_int_equal(f->pl->metrics->open(&f->m.ctx, f->conf, &f->inst), 0);
    return f;
}

static void fx_free(struct fx *f)
{
    if (f->inst != NULL)
        f->pl->metrics->close(f->inst);
    keylist_free(&f->keys);
    optstore_free(f->st);
    mock_host_free(&f->m);
    free(f->conf);
    free(f);
}

static int declared(const keylist *l, const char *key)
{
    for (size_t i = 0; i < l->n; i++)
        if (fnmatch(l->v[i], key, 0) == 0)
            return 1;
    return 0;
}

/* The declared keys are the instance's keys, one for one. */
static void assert_keys_are_the_instance_keys(const struct fx *f)
{
    const struct metrics_regex *inst = f->inst;
    size_t n = 0;
    for (size_t i = 0; i < inst->n_pats; i++)
        for (size_t k = 0; k < inst->pats[i].n_out; k++) {
            if (!declared(&f->keys, inst->pats[i].keys[k]))
                fail_msg("pattern %s posts %s, which keys() does not declare", inst->pats[i].name,
                         inst->pats[i].keys[k]);
            n++;
        }
    assert_int_equal(f->keys.n, n);
}

static void test_keycheck_regex_keys__defaults_declare_every_key_they_post(void **state)
{
    static const char *const want[] = {"sps_max",   "sps_last",           "eval_success_rate",
                                       "exit_code", "termination_reason", "restart_count"};
    struct fx *f = fx_new("");
    void *job = NULL;
    static const char log[] = "step 1 SPS: 31,000\nstep 2 87.75 ksps\neval_success_rate: 0.9\n"
                              "[SUMMARY] Exit code: 0\n[SUMMARY] Termination reason: "
                              "job_completed\n[SUMMARY] Restart Count: 1\n";
    (void)state;
    assert_int_equal(f->keys.n, 6);
    for (size_t i = 0; i < 6; i++)
        assert_string_equal(f->keys.v[i], want[i]);
    assert_keys_are_the_instance_keys(f);

    assert_int_equal(f->pl->metrics->job_open(&f->m.ctx, f->inst, NULL, &job), 0);
    assert_int_equal(f->pl->metrics->feed(&f->m.ctx, job, log, sizeof(log) - 1), 0);
    assert_int_equal(f->pl->metrics->collect(&f->m.ctx, job), 0);
    f->pl->metrics->job_close(job);
    assert_int_equal(f->m.n_metrics + f->m.n_labels, 6); /* every pattern matched */
    for (size_t i = 0; i < f->m.n_metrics; i++)
        assert_true(declared(&f->keys, f->m.metrics[i].key));
    for (size_t i = 0; i < f->m.n_labels; i++)
        assert_true(declared(&f->keys, f->m.labels[i].key));
    fx_free(f);
}

static void test_keycheck_regex_keys__plan_patterns_declare_their_derived_names(void **state)
{
    struct fx *f = fx_new(
        "patterns = ( { name = \"loss\"; regex = \"loss=([0-9.]+)\"; reducers = [\"max\", \"min\", "
        "\"last\", \"first\", \"mean\", \"count\"]; },\n"
        "  { name = \"sps\"; regex = \"it/s=([0-9.]+)\"; reducers = [\"mean\"]; },\n"
        "  { name = \"lr\"; regex = \"lr=([0-9.]+)\"; metric = \"learning_rate\"; },\n"
        "  { name = \"gpu\"; regex = \"gpu=(\\\\w+)\"; label = true; },\n"
        "  { name = \"host\"; regex = \"host=(\\\\w+)\"; label = true; reducers = [\"first\"]; "
        "metric = \"node\"; } );");
    (void)state;
    assert_keys_are_the_instance_keys(f);
    assert_true(declared(&f->keys, "loss_count"));
    assert_true(declared(&f->keys, "sps_mean"));
    assert_false(declared(&f->keys, "sps_max")); /* the default sps was replaced */
    assert_true(declared(&f->keys, "learning_rate"));
    assert_false(declared(&f->keys, "lr_last"));
    assert_true(declared(&f->keys, "gpu"));
    assert_true(declared(&f->keys, "node"));
    assert_true(declared(&f->keys, "eval_success_rate"));
    fx_free(f);
}

static void test_keycheck_regex_keys__without_defaults_only_plan_patterns(void **state)
{
    struct fx *f = fx_new("defaults = false;\n"
                          "patterns = ( { name = \"loss\"; regex = \"loss=([0-9.]+)\"; } );");
    (void)state;
    assert_keys_are_the_instance_keys(f);
    assert_int_equal(f->keys.n, 1);
    assert_string_equal(f->keys.v[0], "loss_last");
    fx_free(f);
}

static void test_keycheck_regex_keys__the_same_conf_gives_the_same_list(void **state)
{
    struct fx *f = fx_new("patterns = ( { name = \"loss\"; regex = \"loss=([0-9.]+)\"; "
                          "reducers = [\"max\", \"min\"]; },\n"
                          "  { name = \"gpu\"; regex = \"gpu=(\\\\w+)\"; label = true; } );");
    keylist again = {0}, after = {0};
    (void)state;
    assert_true(declared(&f->keys, "loss_max"));
    assert_true(declared(&f->keys, "gpu"));
    /* asked again (an instance is open): the same names, in the same order */
    assert_int_equal(f->pl->metrics->keys(f->conf, keylist_add, &again), 0);
    assert_same_keys(&again, &f->keys);
    /* and after the instance closed: keys() needs only the conf */
    f->pl->metrics->close(f->inst);
    f->inst = NULL;
    assert_int_equal(f->pl->metrics->keys(f->conf, keylist_add, &after), 0);
    assert_same_keys(&after, &f->keys);
    keylist_free(&again);
    keylist_free(&after);
    fx_free(f);
}

static void test_keycheck_regex_keys__no_conf_or_no_add_is_einval(void **state)
{
    struct fx *f = fx_new("");
    keylist l = {0};
    (void)state;
    assert_int_equal(f->pl->metrics->keys(NULL, keylist_add, &l), RELHOST_EINVAL);
    assert_int_equal(f->pl->metrics->keys(f->conf, NULL, &l), RELHOST_EINVAL);
    assert_int_equal(l.n, 0);
    fx_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keycheck_regex_keys__defaults_declare_every_key_they_post),
        cmocka_unit_test(test_keycheck_regex_keys__plan_patterns_declare_their_derived_names),
        cmocka_unit_test(test_keycheck_regex_keys__without_defaults_only_plan_patterns),
        cmocka_unit_test(test_keycheck_regex_keys__the_same_conf_gives_the_same_list),
        cmocka_unit_test(test_keycheck_regex_keys__no_conf_or_no_add_is_einval),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
