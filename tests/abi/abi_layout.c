/* SPDX-License-Identifier: MIT */
/*
 * abi_layout.c - the current header keeps every promise the 1.0 header made.
 *
 * A plugin built years ago against plugin-1.0.h reads and writes memory at the offsets that header
 * gave it. These cases compare those offsets, sizes and constants with the current header's, so
 * that a reordered member, a widened type, a grown embedded struct or a renumbered enum fails here
 * instead of corrupting an old plugin's conf in a user's release.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "abi_members.h"

enum record_kind { KIND_STRUCT, KIND_MEMBER, KIND_CONST };

static enum record_kind kind_of(const struct abi_record *r)
{
    if (strncmp(r->what, "sizeof ", 7) == 0)
        return KIND_STRUCT;
    return r->size < 0 ? KIND_CONST : KIND_MEMBER;
}

/* Compare every record of one kind and report ALL mismatches before failing, so one run shows
 * the whole damage of a header change. */
static void compare(enum record_kind kind)
{
    int bad = 0;
    int seen = 0;

    assert_int_equal(abi_layout_10_n, abi_layout_cur_n);
    for (unsigned long i = 0; i < abi_layout_10_n; i++) {
        const struct abi_record *old = &abi_layout_10[i];
        const struct abi_record *cur = &abi_layout_cur[i];
        assert_string_equal(old->what, cur->what);
        if (kind_of(old) != kind)
            continue;
        seen++;
        switch (kind) {
        case KIND_STRUCT:
            /* size 1: may grow at its end; size 0: embedded by value, frozen. */
            if (old->size == 1 ? cur->value < old->value : cur->value != old->value) {
                print_error("%s: 1.0 has %lld bytes, current has %lld (%s)\n", old->what,
                            old->value, cur->value,
                            old->size == 1 ? "it may only grow" : "it is embedded: frozen");
                bad++;
            }
            break;
        case KIND_MEMBER:
            if (old->value != cur->value || old->size != cur->size) {
                print_error("%s: 1.0 has offset %lld size %lld, current has offset %lld size "
                            "%lld\n",
                            old->what, old->value, old->size, cur->value, cur->size);
                bad++;
            }
            break;
        case KIND_CONST:
            if (old->value != cur->value) {
                print_error("%s: 1.0 value %lld, current value %lld\n", old->what, old->value,
                            cur->value);
                bad++;
            }
            break;
        }
    }
    assert_true(seen > 0);
    assert_int_equal(bad, 0);
}

static void test_abi_layout__every_1_0_member_keeps_its_offset_and_size(void **state)
{
    (void)state;
    compare(KIND_MEMBER);
}

static void test_abi_layout__sized_structs_only_grow_and_embedded_ones_never_change(void **state)
{
    (void)state;
    compare(KIND_STRUCT);
}

static void test_abi_layout__enum_values_and_codes_keep_their_1_0_numbers(void **state)
{
    (void)state;
    compare(KIND_CONST);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_abi_layout__every_1_0_member_keeps_its_offset_and_size),
        cmocka_unit_test(test_abi_layout__sized_structs_only_grow_and_embedded_ones_never_change),
        cmocka_unit_test(test_abi_layout__enum_values_and_codes_keep_their_1_0_numbers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
