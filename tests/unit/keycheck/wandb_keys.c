/* SPDX-License-Identifier: MIT */
/*
 * metrics_wandb's keys() (ABI 1.3) declares every metric it is configured to post, under its
 * plan name, and its label wandb_run; nothing else (the W&B keys are what it reads, not posts).
 * Its credentials() declares the API key's variable (api_key_env), unless run_dir is set (a run
 * folder's summary is read with no key).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Before cmocka.h, whose fail() macro would rewrite the plugin's host->fail() calls. */
#include "../../../plugins/common/pl_host.h"
#include "../../../plugins/metrics_wandb/metrics_wandb_int.h"

#include <cmocka.h>

#include "base/error.h"
#include "mock_host.h"
#include "plan/options.h"

/* What keys() / credentials() hand the host, copied (the host copies each name). */
typedef struct namelist {
    char **v;
    size_t n;
} namelist;

static void namelist_add(void *payload, const char *name)
{
    namelist *l = payload;
    assert_non_null(name);
    l->v = realloc(l->v, (l->n + 1) * sizeof(*l->v));
    assert_non_null(l->v);
    l->v[l->n] = strdup(name);
    assert_non_null(l->v[l->n]);
    l->n++;
}

static void namelist_free(namelist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

struct fx {
    struct metrics_wandb_conf conf;
    const relhost_plugin *pl;
    mock_host m;
    optstore *st;
};

static void fx_init(struct fx *f, const char *text)
{
    memset(f, 0, sizeof(*f));
    mock_host_init(&f->m);
    assert_int_equal(relhost_plugin_entry(&f->m.host, &f->pl), 0);
    if (options_fill_text(f->pl, &f->conf, text, &f->st) != 0)
        fail_msg("options_fill_text(%s): %s", text, error_last());
    assert_true(RELHOST_HAS(f->pl->metrics, keys));
    assert_true(RELHOST_HAS(f->pl->metrics, credentials));
    assert_non_null(f->pl->metrics->keys);
    assert_non_null(f->pl->metrics->credentials);
}

static void fx_fini(struct fx *f)
{
    optstore_free(f->st);
    mock_host_free(&f->m);
}

#define WB_METRICS                                                                       \
    "metrics = ( { name = \"sps\"; key = \"overview/sps\"; },\n"                         \
    "  { name = \"sps_tail\"; key = \"overview/sps\"; reducer = \"mean_last_pct\"; },\n" \
    "  { name = \"success_rate\"; key = \"eval.success\"; } );"

static void test_keycheck_wandb_keys__every_configured_name_and_the_run_label(void **state)
{
    struct fx f;
    namelist k = {0}, again = {0}, after = {0};
    void *inst = NULL;
    (void)state;
    fx_init(&f, "entity = \"e\"; project = \"p\";\n" WB_METRICS);
    assert_int_equal(f.pl->metrics->keys(&f.conf, namelist_add, &k), 0);
    assert_int_equal(k.n, 4);
    assert_string_equal(k.v[0], "sps");
    assert_string_equal(k.v[1], "sps_tail");
    assert_string_equal(k.v[2], "success_rate");
    assert_string_equal(k.v[3], "wandb_run");

    /* the same conf asked again, before and after an instance came and went: the same list */
    assert_int_equal(f.pl->metrics->keys(&f.conf, namelist_add, &again), 0);
    assert_int_equal(again.n, k.n);
    for (size_t i = 0; i < k.n; i++)
        assert_string_equal(again.v[i], k.v[i]);
    assert_int_equal(f.pl->metrics->open(&f.m.ctx, &f.conf, &inst), 0);
    f.pl->metrics->close(inst);
    assert_int_equal(f.pl->metrics->keys(&f.conf, namelist_add, &after), 0);
    assert_int_equal(after.n, k.n);
    for (size_t i = 0; i < k.n; i++)
        assert_string_equal(after.v[i], k.v[i]);

    assert_int_equal(f.pl->metrics->keys(NULL, namelist_add, &k), RELHOST_EINVAL);
    assert_int_equal(f.pl->metrics->keys(&f.conf, NULL, &k), RELHOST_EINVAL);
    assert_int_equal(k.n, 4);
    namelist_free(&k);
    namelist_free(&again);
    namelist_free(&after);
    fx_fini(&f);
}

static void test_keycheck_wandb_keys__credentials_are_the_api_key_variable(void **state)
{
    struct fx f;
    namelist c = {0};
    (void)state;
    /* the default variable */
    fx_init(&f, "entity = \"e\"; project = \"p\";\n" WB_METRICS);
    assert_int_equal(f.pl->metrics->credentials(&f.conf, namelist_add, &c), 0);
    assert_int_equal(c.n, 1);
    assert_string_equal(c.v[0], "WANDB_API_KEY");
    assert_int_equal(f.pl->metrics->credentials(NULL, namelist_add, &c), RELHOST_EINVAL);
    assert_int_equal(f.pl->metrics->credentials(&f.conf, NULL, &c), RELHOST_EINVAL);
    assert_int_equal(c.n, 1);
    namelist_free(&c);
    fx_fini(&f);

    /* the one api_key_env names (a name, never a value) */
    fx_init(&f, "entity = \"e\"; project = \"p\"; api_key_env = \"MY_WB_KEY\";\n" WB_METRICS);
    assert_int_equal(f.pl->metrics->credentials(&f.conf, namelist_add, &c), 0);
    assert_int_equal(c.n, 1);
    assert_string_equal(c.v[0], "MY_WB_KEY");
    namelist_free(&c);
    fx_fini(&f);
}

static void test_keycheck_wandb_keys__a_run_dir_needs_no_credentials(void **state)
{
    struct fx f;
    namelist c = {0}, k = {0};
    (void)state;
    fx_init(&f, "entity = \"e\"; project = \"p\"; api_key_env = \"MY_WB_KEY\";\n"
                "run_dir = \"wandb/latest-run\";\n" WB_METRICS);
    assert_non_null(f.conf.run_dir);
    assert_int_equal(f.pl->metrics->credentials(&f.conf, namelist_add, &c), 0);
    assert_int_equal(c.n, 0);
    /* its keys are the same as without run_dir */
    assert_int_equal(f.pl->metrics->keys(&f.conf, namelist_add, &k), 0);
    assert_int_equal(k.n, 4);
    assert_string_equal(k.v[3], "wandb_run");
    namelist_free(&c);
    namelist_free(&k);
    fx_fini(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keycheck_wandb_keys__every_configured_name_and_the_run_label),
        cmocka_unit_test(test_keycheck_wandb_keys__credentials_are_the_api_key_variable),
        cmocka_unit_test(test_keycheck_wandb_keys__a_run_dir_needs_no_credentials),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
