/* SPDX-License-Identifier: MIT */
/*
 * abi_layout_body.h - records offsetof/sizeof of every ABI 1.0 member against whichever plugin
 * header was included before it, into the array named ABI_LAYOUT_NAME. Included once by
 * abi_layout_10.c (frozen header) and once by abi_layout_cur.c (current header): the two headers
 * share an include guard and type names, so they can never meet in one translation unit.
 */
#include "abi_members.h"

#define REC_MEMBER(t, m) {#t "." #m, (long long)offsetof(t, m), (long long)sizeof(((t *)0)->m)},
#define REC_GROWS(t) {"sizeof " #t, (long long)sizeof(t), 1},
#define REC_FIXED(t) {"sizeof " #t, (long long)sizeof(t), 0},
#define REC_CONST(c) {#c, (long long)(c), -1},
#define REC_CAT2(a, b) a##b
#define REC_CAT(a, b) REC_CAT2(a, b)

const struct abi_record ABI_LAYOUT_NAME[] = {
    ABI_STRUCTS(REC_GROWS, REC_FIXED) ABI_MEMBERS(REC_MEMBER) ABI_CONSTANTS(REC_CONST)};
const unsigned long REC_CAT(ABI_LAYOUT_NAME, _n) =
    sizeof ABI_LAYOUT_NAME / sizeof ABI_LAYOUT_NAME[0];
