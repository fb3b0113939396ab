/* SPDX-License-Identifier: MIT */
/* Unit tests of core/plan/keycheck.c: host->checks_verify() against a hand-built plan whose metrics
 * sources are fakes (keys() and credentials() or neither, an old ABI, secret env options at every
 * depth). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "plan/keycheck.h"
#include "plan/plan.h"
#include "run/host.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- a fake metrics plugin ---------------------------------------------------------------- */

struct fake_item {
    const char *item_env;
};

struct fake_conf {
    const char *token_env;
    struct {
        const char *inner_env;
    } grp;
    relhost_list items;
    const char *plain_env; /* declared by credentials() but no option of the table */
};

static const relhost_option fake_item_options[] = {{.name = "item_env",
                                                    .type = RELHOST_OPT_SECRET_ENV,
                                                    .offset = offsetof(struct fake_item, item_env)},
                                                   {0}};
static const relhost_option fake_grp_options[] = {
    {.name = "inner_env", .type = RELHOST_OPT_SECRET_ENV, .offset = 0}, {0}};
static const relhost_option fake_options[] = {{.name = "token_env",
                                               .type = RELHOST_OPT_SECRET_ENV,
                                               .offset = offsetof(struct fake_conf, token_env)},
                                              {.name = "grp",
                                               .type = RELHOST_OPT_GROUP,
                                               .offset = offsetof(struct fake_conf, grp),
                                               .sub = fake_grp_options},
                                              {.name = "items",
                                               .type = RELHOST_OPT_GROUP_LIST,
                                               .offset = offsetof(struct fake_conf, items),
                                               .sub = fake_item_options,
                                               .item_size = sizeof(struct fake_item)},
                                              {0}};

static const char *const fake_keys_v[] = {"acc", "loss_*", "eval_success_rate", NULL};

/* Hand name to add() from a buffer that is wiped right after: the host must copy it. */
static void add_from_scratch(void (*add)(void *, const char *), void *payload, const char *name)
{
    char buf[64];
    snprintf(buf, sizeof buf, "%s", name);
    add(payload, buf);
    memset(buf, 'X', sizeof buf - 1);
    buf[sizeof buf - 1] = '\0';
}

static int fake_keys(const void *conf, void (*add)(void *payload, const char *key), void *payload)
{
    assert_non_null(conf);
    assert_non_null(add);
    for (size_t i = 0; fake_keys_v[i]; i++)
        add_from_scratch(add, payload, fake_keys_v[i]);
    return 0;
}

static int fake_credentials_calls;
static int fake_skip_items; /* declare no item's variable (they are not credentials) */

/* Declares every variable its conf names, at any depth (as a source whose options all hold
 * credentials would; items only unless fake_skip_items), and plain_env, which no option holds. */
static int fake_credentials(const void *confp, void (*add)(void *payload, const char *env_name),
                            void *payload)
{
    const struct fake_conf *conf = confp;
    const struct fake_item *items;
    assert_non_null(conf);
    assert_non_null(add);
    fake_credentials_calls++;
    if (conf->token_env)
        add_from_scratch(add, payload, conf->token_env);
    if (conf->grp.inner_env)
        add_from_scratch(add, payload, conf->grp.inner_env);
    items = conf->items.items;
    for (size_t i = 0; i < conf->items.n && !fake_skip_items; i++)
        if (items[i].item_env)
            add_from_scratch(add, payload, items[i].item_env);
    if (conf->plain_env)
        add_from_scratch(add, payload, conf->plain_env);
    return 0;
}

static const relhost_metrics_ops ops_keys = {
    .struct_size = sizeof(relhost_metrics_ops), .keys = fake_keys, .credentials = fake_credentials};
static const relhost_metrics_ops ops_nokeys = {.struct_size = sizeof(relhost_metrics_ops)};
/* Built against ABI 1.2: its struct ends before keys (whatever lies past it is not read). */
static const relhost_metrics_ops ops_old = {.struct_size = offsetof(relhost_metrics_ops, keys),
                                            .keys = fake_keys,
                                            .credentials = fake_credentials};
/* keys() but no credentials(): its SECRET_ENV options are not judged at plan time. */
static const relhost_metrics_ops ops_keys_only = {.struct_size = sizeof(relhost_metrics_ops),
                                                  .keys = fake_keys};
/* A struct that ends before credentials: the member past its end is never read. */
static const relhost_metrics_ops ops_short = {.struct_size =
                                                  offsetof(relhost_metrics_ops, credentials),
                                              .keys = fake_keys,
                                              .credentials = fake_credentials};

/* ---- fixture: a plan with sources a (keys, credentials), b (neither), c (old ABI) -------- */

struct fx {
    loaded_plugin pl[3];
    struct fake_conf conf[3];
    struct fake_item items[2];
    plan_instance inst[3];
    plan p;
    hostctx hc;
};

static struct fx *fx_new(int required)
{
    static const char *const names[] = {"a", "b", "c"};
    static const relhost_metrics_ops *const ops[] = {&ops_keys, &ops_nokeys, &ops_old};
    struct fx *f = calloc(1, sizeof *f);
    relhost_ctx base = {.struct_size = sizeof base, .mode = RELHOST_MODE_CHECK};
    assert_non_null(f);
    for (size_t i = 0; i < 3; i++) {
        f->pl[i].desc.name = "fake";
        f->pl[i].desc.options = fake_options;
        f->pl[i].desc.option_size = sizeof(relhost_option);
        f->pl[i].desc.conf_size = sizeof(struct fake_conf);
        f->pl[i].desc.metrics = ops[i];
        f->inst[i].name = (char *)names[i];
        f->inst[i].plugin_name = (char *)"fake";
        f->inst[i].pl = &f->pl[i];
        f->inst[i].conf = &f->conf[i];
        f->inst[i].where = (char *)"plan.cfg:7";
    }
    f->conf[0].items.n = 2;
    f->conf[0].items.items = f->items;
    f->p.metrics = f->inst;
    f->p.nmetrics = 3;
    hostctx_init(&f->hc, &base, "workflow", "workflow-tests", NULL, NULL);
    f->hc.plan = &f->p;
    f->hc.step_required = required;
    return f;
}

static void fx_free(struct fx *f)
{
    hostctx_fini(&f->hc);
    free(f);
}

static relhost_check_spec spec(const char *key)
{
    relhost_check_spec s = {
        .struct_size = sizeof s, .key = key, .op = RELHOST_OP_GE, .where = "plan.cfg:12"};
    return s;
}

static int verify(struct fx *f, const char *const *sources, size_t nsources,
                  const relhost_check_spec *v, size_t n)
{
    relhost_strlist src = {nsources, sources};
    relhost_checks c = {n, sizeof *v, v};
    return host_checks_verify(&f->hc.pub, &src, &c, &c);
}

static char *take_fail(struct fx *f)
{
    char *m = hostctx_take_fail(&f->hc);
    assert_non_null(m);
    return m;
}

/* ---- cases ------------------------------------------------------------------------------- */

static void test_unit_keycheck_keycheck__declared_keys_and_globs_pass(void **state)
{
    static const char *const src[] = {"a", NULL};
    struct fx *f = fx_new(1);
    relhost_check_spec v[] = {spec("acc"), spec("loss_min"), spec("eval_success_rate")};
    (void)state;
    assert_int_equal(verify(f, src, 1, v, 3), 0);
    assert_null(hostctx_take_fail(&f->hc));
    fx_free(f);
}

static void test_unit_keycheck_keycheck__an_unknown_key_names_the_source_keys_and_nearest(
    void **state)
{
    static const char *const src[] = {"a", NULL};
    struct fx *f = fx_new(0);
    relhost_check_spec v[] = {spec("acc"), spec("eval_succes_rate"), spec("zzz"),
                              spec("eval_succes_rate")};
    char *m;
    (void)state;
    assert_int_equal(verify(f, src, 1, v, 4), RELHOST_EINVAL);
    m = take_fail(f);
    assert_string_equal(m, "plan.cfg:12: acceptance key \"eval_succes_rate\" is not posted by "
                           "metrics source a (fake); did you mean \"eval_success_rate\"? (nor "
                           "\"zzz\"); keys it posts: acc, loss_*, eval_success_rate; fix the "
                           "key, or make one of these sources post it");
    free(m);
    fx_free(f);
}

static void test_unit_keycheck_keycheck__a_source_without_keys_may_post_anything(void **state)
{
    static const char *const nokeys[] = {"a", "b", NULL};
    static const char *const old[] = {"c", NULL};
    struct fx *f = fx_new(0);
    relhost_check_spec v[] = {spec("whatever_it_likes")};
    (void)state;
    assert_int_equal(verify(f, nokeys, 2, v, 1), 0);
    /* an ABI 1.2 plugin's ops end before keys: its keys member is never read */
    assert_int_equal(verify(f, old, 1, v, 1), 0);
    assert_null(hostctx_take_fail(&f->hc));
    fx_free(f);
}

static void test_unit_keycheck_keycheck__a_source_that_does_not_exist_is_named(void **state)
{
    static const char *const src[] = {"a", "nope", NULL};
    struct fx *f = fx_new(0);
    relhost_check_spec v[] = {spec("acc")};
    char *m;
    (void)state;
    assert_int_equal(verify(f, src, 2, v, 1), RELHOST_EINVAL);
    m = take_fail(f);
    assert_non_null(strstr(m, "metrics source \"nope\" named for these checks does not exist; "
                              "the plan's metrics group defines: a, b, c"));
    free(m);
    fx_free(f);
}

static void test_unit_keycheck_keycheck__no_source_at_all_is_refused(void **state)
{
    struct fx *f = fx_new(0);
    relhost_check_spec v[] = {spec("acc")};
    char *m;
    (void)state;
    assert_int_equal(verify(f, NULL, 0, v, 1), RELHOST_EINVAL);
    m = take_fail(f);
    assert_non_null(strstr(m, "no metrics source is named to post them"));
    free(m);
    fx_free(f);
}

static void test_unit_keycheck_keycheck__a_required_step_needs_every_declared_credential(
    void **state)
{
    static const char *const src[] = {"a", NULL};
    static const char *const both[] = {"b", "a", NULL};
    struct fx *f = fx_new(1);
    relhost_check_spec v[] = {spec("acc")};
    char *m;
    (void)state;
    setenv("KC_TOP", "top-secret-value-1", 1);
    setenv("KC_INNER", "inner-secret-value-2", 1);
    unsetenv("KC_ITEM");
    f->conf[0].token_env = "KC_TOP";
    f->conf[0].grp.inner_env = "KC_INNER";
    f->items[1].item_env = "KC_ITEM";
    /* declared by credentials(), the value of an option in a list of groups */
    fake_credentials_calls = 0;
    assert_int_equal(verify(f, src, 1, v, 1), RELHOST_EINVAL);
    assert_int_equal(fake_credentials_calls, 1);
    m = take_fail(f);
    assert_string_equal(m, "plan.cfg:7: metrics source a needs $KC_ITEM (its option "
                           "items.item_env) for required step workflow-tests; set it, or make "
                           "the step optional");
    free(m);

    setenv("KC_ITEM", "", 1); /* empty is unset */
    assert_int_equal(verify(f, src, 1, v, 1), RELHOST_EINVAL);
    m = take_fail(f);
    assert_non_null(strstr(m, "needs $KC_ITEM (its option items.item_env)"));
    free(m);

    /* the value of an option in a group */
    setenv("KC_ITEM", "item-secret-value-3", 1);
    unsetenv("KC_INNER");
    assert_int_equal(verify(f, src, 1, v, 1), RELHOST_EINVAL);
    m = take_fail(f);
    assert_string_equal(m, "plan.cfg:7: metrics source a needs $KC_INNER (its option "
                           "grp.inner_env) for required step workflow-tests; set it, or make "
                           "the step optional");
    free(m);

    /* a source without credentials() named first does not hide the next one's */
    assert_int_equal(verify(f, both, 2, v, 1), RELHOST_EINVAL);
    m = take_fail(f);
    assert_non_null(strstr(m, "metrics source a needs $KC_INNER (its option grp.inner_env)"));
    free(m);

    setenv("KC_INNER", "inner-secret-value-2", 1);
    assert_int_equal(verify(f, src, 1, v, 1), 0);
    assert_null(hostctx_take_fail(&f->hc));

    /* a gate may ask about credentials alone, with no checks; a value is never shown */
    unsetenv("KC_TOP");
    assert_int_equal(verify(f, src, 1, v, 0), RELHOST_EINVAL);
    m = take_fail(f);
    assert_string_equal(m, "plan.cfg:7: metrics source a needs $KC_TOP (its option token_env) "
                           "for required step workflow-tests; set it, or make the step optional");
    assert_null(strstr(m, "secret-value"));
    free(m);

    /* a declared variable no option holds: named without an option */
    setenv("KC_TOP", "top-secret-value-1", 1);
    unsetenv("KC_PLAIN");
    f->conf[0].plain_env = "KC_PLAIN";
    assert_int_equal(verify(f, src, 1, v, 1), RELHOST_EINVAL);
    m = take_fail(f);
    assert_string_equal(m, "plan.cfg:7: metrics source a needs $KC_PLAIN for required step "
                           "workflow-tests; set it, or make the step optional");
    free(m);
    fx_free(f);
    unsetenv("KC_TOP");
    unsetenv("KC_INNER");
    unsetenv("KC_ITEM");
}

/* Only what credentials() declares is judged: a SECRET_ENV option it does not declare is not. */
static void test_unit_keycheck_keycheck__only_declared_credentials_are_judged(void **state)
{
    static const char *const src[] = {"a", NULL};
    struct fx *f = fx_new(1);
    relhost_check_spec v[] = {spec("acc")};
    (void)state;
    unsetenv("KC_UNSET_ITEM");
    setenv("KC_TOP", "top-secret-value-1", 1);
    f->conf[0].token_env = "KC_TOP";
    f->items[1].item_env = "KC_UNSET_ITEM";
    fake_skip_items = 1;
    assert_int_equal(verify(f, src, 1, v, 1), 0);
    assert_null(hostctx_take_fail(&f->hc));
    /* declared, the same unset variable is refused */
    fake_skip_items = 0;
    assert_int_equal(verify(f, src, 1, v, 1), RELHOST_EINVAL);
    free(take_fail(f));
    fx_free(f);
    unsetenv("KC_TOP");
}

static void test_unit_keycheck_keycheck__a_source_without_credentials_is_not_refused(void **state)
{
    static const char *const a[] = {"a", NULL};
    static const char *const b[] = {"b", NULL};
    static const char *const c[] = {"c", NULL};
    struct fx *f = fx_new(1);
    relhost_check_spec v[] = {spec("acc")};
    (void)state;
    unsetenv("KC_UNSET_TOP");
    unsetenv("KC_UNSET_INNER");
    unsetenv("KC_UNSET_ITEM");
    for (size_t i = 0; i < 3; i++) {
        f->conf[i].token_env = "KC_UNSET_TOP";
        f->conf[i].grp.inner_env = "KC_UNSET_INNER";
    }
    f->items[0].item_env = "KC_UNSET_ITEM";
    fake_credentials_calls = 0;
    /* keys() but no credentials(): its SECRET_ENV options name unset variables at every depth */
    f->pl[0].desc.metrics = &ops_keys_only;
    assert_int_equal(verify(f, a, 1, v, 1), 0);
    /* neither op */
    assert_int_equal(verify(f, b, 1, v, 1), 0);
    assert_int_equal(verify(f, b, 1, v, 0), 0);
    /* ABI 1.2: the struct ends before keys and credentials */
    assert_int_equal(verify(f, c, 1, v, 1), 0);
    /* the struct ends before credentials: that member is not read */
    f->pl[0].desc.metrics = &ops_short;
    assert_int_equal(verify(f, a, 1, v, 1), 0);
    assert_null(hostctx_take_fail(&f->hc));
    assert_int_equal(fake_credentials_calls, 0);

    /* the same conf under a source with credentials() is refused */
    f->pl[0].desc.metrics = &ops_keys;
    assert_int_equal(verify(f, a, 1, v, 1), RELHOST_EINVAL);
    assert_int_equal(fake_credentials_calls, 1);
    free(take_fail(f));
    fx_free(f);
}

static void test_unit_keycheck_keycheck__an_optional_step_is_not_held_to_its_secrets(void **state)
{
    static const char *const src[] = {"a", NULL};
    struct fx *f = fx_new(0);
    relhost_check_spec v[] = {spec("acc")};
    (void)state;
    unsetenv("KC_UNSET");
    f->conf[0].token_env = "KC_UNSET";
    assert_int_equal(verify(f, src, 1, v, 1), 0);
    assert_null(hostctx_take_fail(&f->hc));
    /* the same plan in a required step is refused */
    f->hc.step_required = 1;
    assert_int_equal(verify(f, src, 1, v, 1), RELHOST_EINVAL);
    free(take_fail(f));
    fx_free(f);
}

static void test_unit_keycheck_keycheck__distance_counts_edits_and_swaps(void **state)
{
    (void)state;
    assert_int_equal(keycheck_distance("eval_succes_rate", "eval_success_rate", 2), 1);
    assert_int_equal(keycheck_distance("sps_mxa", "sps_max", 2), 1); /* a swap */
    assert_int_equal(keycheck_distance("spsmax", "sps_max", 2), 1);
    assert_int_equal(keycheck_distance("loss", "lr", 5), 3);
    assert_int_equal(keycheck_distance("abc", "abc", 2), 0);
    assert_int_equal(keycheck_distance("", "ab", 2), 2);
    assert_int_equal(keycheck_distance("throughput", "sps_max", 2), 3); /* limit + 1 */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unit_keycheck_keycheck__declared_keys_and_globs_pass),
        cmocka_unit_test(
            test_unit_keycheck_keycheck__an_unknown_key_names_the_source_keys_and_nearest),
        cmocka_unit_test(test_unit_keycheck_keycheck__a_source_without_keys_may_post_anything),
        cmocka_unit_test(test_unit_keycheck_keycheck__a_source_that_does_not_exist_is_named),
        cmocka_unit_test(test_unit_keycheck_keycheck__no_source_at_all_is_refused),
        cmocka_unit_test(
            test_unit_keycheck_keycheck__a_required_step_needs_every_declared_credential),
        cmocka_unit_test(test_unit_keycheck_keycheck__only_declared_credentials_are_judged),
        cmocka_unit_test(test_unit_keycheck_keycheck__a_source_without_credentials_is_not_refused),
        cmocka_unit_test(test_unit_keycheck_keycheck__an_optional_step_is_not_held_to_its_secrets),
        cmocka_unit_test(test_unit_keycheck_keycheck__distance_counts_edits_and_swaps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
