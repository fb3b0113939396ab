/* SPDX-License-Identifier: MIT */
/* Unit tests of core/base/jarena.c, the region the values of a read-only state are parsed into:
 * the values are the ones json_loadb() makes, the region empties only when the last of them is
 * freed (never under a value still held), one window at a time, and a read-only state_open()
 * parses into it and state_close() gives it back. Builds with AddressSanitizer never use the
 * region: there the cases that need it are skipped. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "base/jarena.h"
#include "base/util.h"
#include "record/state.h"

#include <dirent.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char doc[] =
    "{\"schema\": 1, \"jobs\": {\"s/a\": {\"exit_code\": 0, \"argv\": [\"true\"],"
    " \"duration_s\": 1.5, \"reason\": null}}, \"name\": \"caf\\u00e9\"}";

static json_t *parse(void)
{
    json_error_t je;
    json_t *v = json_loadb(doc, sizeof doc - 1, JSON_REJECT_DUPLICATES, &je);
    if (!v)
        fail_msg("the fixture does not parse: %s", je.text);
    return v;
}

static void begin_or_skip(void)
{
    if (!jarena_begin())
        skip(); /* AddressSanitizer build, or no address space to reserve */
}

/* Before a case allocates anything: skipped there, it leaves nothing behind. */
static void probe(void)
{
    begin_or_skip();
    jarena_end();
}

static void test_unit_jarena__values_parsed_in_a_window_are_the_same_values(void **unused)
{
    probe();
    json_t *plain = parse(), *in;
    begin_or_skip();
    in = parse();
    json_object_set_new(json_object_get(in, "jobs"), "s/b", json_string("made in the window"));
    jarena_end();
    assert_true(jarena_owns(in));
    assert_false(jarena_owns(plain));
    json_object_del(json_object_get(in, "jobs"), "s/b");
    assert_true(json_equal(in, plain));
    assert_string_equal(json_string_value(json_object_get(in, "name")), "caf\xc3\xa9");
    /* values made after the window come from malloc, also inside a region value */
    json_object_set_new(in, "later", json_integer(7));
    assert_false(jarena_owns(json_object_get(in, "later")));
    assert_true(jarena_live() > 0);
    json_decref(in);
    assert_int_equal(jarena_live(), 0);
    json_decref(plain);
}

static void test_unit_jarena__a_value_held_past_the_window_keeps_the_region(void **unused)
{
    probe();
    json_t *root, *held;
    size_t live;
    begin_or_skip();
    root = parse();
    jarena_end();
    held = json_incref(json_object_get(json_object_get(root, "jobs"), "s/a"));
    json_decref(root);
    live = jarena_live();
    assert_true(live > 0); /* the held job and what it holds */
    /* the region is not emptied under it: windows after it, and malloc(), write elsewhere, and
     * the job reads as parsed */
    for (int i = 0; i < 8; i++) {
        static char pad[4096];
        json_t *c;
        char *s;
        memset(pad, 'x', sizeof pad);
        begin_or_skip();
        c = parse();
        json_object_set_new(c, "pad", json_stringn(pad, sizeof pad));
        jarena_end();
        assert_false(c == held);
        json_decref(c);
        s = malloc(64 * 1024);
        memset(s, 0x5a, 64 * 1024);
        free(s);
    }
    assert_int_equal(jarena_live(), live);
    assert_int_equal(json_integer_value(json_object_get(held, "exit_code")), 0);
    assert_string_equal(json_string_value(json_array_get(json_object_get(held, "argv"), 0)),
                        "true");
    json_decref(held);
    assert_int_equal(jarena_live(), 0);
    begin_or_skip(); /* emptied: the next window may start */
    jarena_end();
    assert_int_equal(jarena_live(), 0);
}

static void test_unit_jarena__one_window_at_a_time(void **unused)
{
    probe();
    json_t *a;
    begin_or_skip();
    assert_int_equal(jarena_begin(), 0);
    a = parse();
    jarena_end();
    jarena_end(); /* a second end outside a window does nothing */
    assert_true(jarena_owns(a));
    assert_true(jarena_live() > 0);
    json_decref(a);
    assert_int_equal(jarena_live(), 0);
}

static void test_unit_jarena__a_second_window_while_the_first_values_live(void **unused)
{
    probe();
    json_t *a, *b;
    begin_or_skip();
    a = parse();
    jarena_end();
    assert_int_equal(jarena_begin(), 1); /* another region: a's values are still held */
    b = json_deep_copy(a);
    jarena_end();
    assert_true(jarena_owns(a));
    assert_true(jarena_owns(b));
    json_decref(a);
    assert_true(jarena_live() > 0); /* b's region is not emptied by a's frees */
    {
        json_t *plain = parse();
        assert_true(json_equal(b, plain));
        json_decref(plain);
    }
    assert_string_equal(json_string_value(json_object_get(b, "name")), "caf\xc3\xa9");
    json_decref(b);
    assert_int_equal(jarena_live(), 0);
}

static void *free_there(void *v)
{
    json_decref(v);
    return NULL;
}

static void test_unit_jarena__values_freed_on_another_thread(void **unused)
{
    probe();
    json_t *a;
    pthread_t t;
    char *text;
    begin_or_skip();
    a = parse();
    jarena_end();
    /* jansson's strings handed to free() are never from the region outside a window */
    text = json_dumps(a, JSON_COMPACT);
    assert_false(jarena_owns(text));
    free(text);
    assert_int_equal(pthread_create(&t, NULL, free_there, a), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(jarena_live(), 0);
}

static void test_unit_jarena__a_read_only_state_is_parsed_into_it(void **unused)
{
    probe();
    const char *tmp = getenv("RELHOST_TEST_TMP");
    char *dir = xasprintf("%s/jarena-XXXXXX", tmp ? tmp : "/tmp");
    const char *path[] = {"jobs", "s/a"};
    state *st;
    assert_non_null(mkdtemp(dir));
    assert_int_equal(state_open(dir, "1.0", STATE_CREATE, &st), 0);
    assert_int_equal(
        state_set(st, path, 2, json_pack("{s:i, s:[s]}", "exit_code", 0, "argv", "true")), 0);
    assert_int_equal(state_snapshot(st), 0);
    assert_int_equal(state_close(st), 0);
    assert_int_equal(state_open(dir, "1.0", STATE_READONLY, &st), 0);
    assert_true(jarena_owns(state_root(st)));
    assert_int_equal(json_integer_value(json_object_get(state_get(st, path, 2), "exit_code")), 0);
    assert_true(jarena_live() > 0);
    /* the window closed with the open: the next read-only state could take the region */
    {
        json_t *x = json_string("x");
        assert_false(jarena_owns(x));
        json_decref(x);
    }
    assert_int_equal(state_close(st), 0);
    assert_int_equal(jarena_live(), 0);
    {
        DIR *d = opendir(dir);
        struct dirent *e;
        while (d && (e = readdir(d)))
            if (e->d_name[0] != '.')
                unlinkat(dirfd(d), e->d_name, 0);
        if (d)
            closedir(d);
        rmdir(dir);
    }
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unit_jarena__values_parsed_in_a_window_are_the_same_values),
        cmocka_unit_test(test_unit_jarena__a_value_held_past_the_window_keeps_the_region),
        cmocka_unit_test(test_unit_jarena__one_window_at_a_time),
        cmocka_unit_test(test_unit_jarena__a_second_window_while_the_first_values_live),
        cmocka_unit_test(test_unit_jarena__values_freed_on_another_thread),
        cmocka_unit_test(test_unit_jarena__a_read_only_state_is_parsed_into_it),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
