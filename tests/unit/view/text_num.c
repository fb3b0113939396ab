/* SPDX-License-Identifier: MIT */
/* Unit tests of core/view/text.c text_num_format(): the shortest form of a number that reads
 * back, as every report and the status page print numbers. The oracle is the plain search it
 * replaced (1, 2, ... significant digits until one reads back), over numbers of every kind. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "view/text.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The next value of a xorshift64 sequence (the inputs of the generated cases). */
static uint64_t xorshift(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

static void oracle(double v, char *buf, size_t cap)
{
    char e[40];
    int p, x;
    if (isnan(v)) {
        snprintf(buf, cap, "NaN");
        return;
    }
    if (isinf(v)) {
        snprintf(buf, cap, "%s", v < 0 ? "-inf" : "inf");
        return;
    }
    if (v == 0) {
        snprintf(buf, cap, "0");
        return;
    }
    for (p = 1; p < 17; p++) {
        snprintf(e, sizeof e, "%.*e", p - 1, v);
        if (strtod(e, NULL) == v)
            break;
    }
    snprintf(e, sizeof e, "%.*e", p - 1, v);
    x = atoi(strchr(e, 'e') + 1);
    if (x >= -5 && x < 15)
        snprintf(buf, cap, "%.*f", p - 1 - x > 0 ? p - 1 - x : 0, v);
    else
        snprintf(buf, cap, "%s", e);
}

static void same(double v)
{
    char got[64], want[64];
    text_num_format(v, got, sizeof got);
    oracle(v, want, sizeof want);
    if (strcmp(got, want) != 0)
        fail_msg("%.17g: text_num_format gives %s, the digit-by-digit search %s", v, got, want);
}

static void test_unit_text_num__the_shortest_form_that_reads_back(void **state)
{
    static const double fixed[] = {0.0,
                                   -0.0,
                                   1.0,
                                   -1.0,
                                   0.1,
                                   0.8,
                                   1.0 / 3,
                                   30000.0,
                                   36500,
                                   0.93,
                                   1e15,
                                   1e15 - 1,
                                   1e16,
                                   123456789012345.0,
                                   1e-5,
                                   1e-6,
                                   9.5e-6,
                                   2.5,
                                   -2.5e22,
                                   1e308,
                                   4.9e-324,
                                   NAN,
                                   INFINITY,
                                   -INFINITY,
                                   0.30000000000000004,
                                   1e21,
                                   99999.99};
    uint64_t x = 0x9E3779B97F4A7C15u;
    (void)state;
    for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++)
        same(fixed[i]);
    for (int i = 0; i < 200000; i++) {
        double v;
        xorshift(&x);
        if (i % 4 == 0) { /* any bit pattern */
            memcpy(&v, &x, sizeof v);
        } else if (i % 4 == 1) { /* plot coordinates and metric values */
            v = (double)(x % 100000000) / 1000.0;
        } else if (i % 4 == 2) { /* integers, near the 1e15 edge too */
            v = (double)(int64_t)(x % 4000000000000000u) - 2e15;
        } else { /* short decimals */
            v = (double)(x % 100000) / 100.0 * ((x >> 40) % 2 ? -1 : 1);
        }
        same(v);
    }
}

/* Where text_num_format() finds the decimals without printf (1e-4 <= |v| < 1e14, not an
 * integer): decimals of every length, near-ties, and any double of that range. */
static void test_unit_text_num__the_decimals_found_without_printf(void **state)
{
    static const double p10[] = {1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12};
    static const double fixed[] = {1e-4,
                                   1.5e-4,
                                   0.1,
                                   0.2,
                                   0.3,
                                   0.7,
                                   0.87,
                                   0.93,
                                   0.1 + 0.2,
                                   1.0 / 3,
                                   2.0 / 3,
                                   99999999999999.9,
                                   12345678.9,
                                   0.0001234,
                                   5e-5,
                                   4503599627370495.5,
                                   1125899906842623.5,
                                   0.05,
                                   0.15,
                                   0.35,
                                   100.005,
                                   1.005,
                                   2.675,
                                   9.995,
                                   0.999999999999999};
    uint64_t x = 0x2545F4914F6CDD1Du;
    (void)state;
    for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++) {
        same(fixed[i]);
        same(-fixed[i]);
    }
    for (int i = 0; i < 200000; i++) {
        double v;
        xorshift(&x);
        if (i % 3 == 0) { /* k / 10^j: what a metric or a check's value usually is */
            v = (double)(x % 10000000000000u) / p10[(x >> 44) % 13];
        } else if (i % 3 == 1) { /* any double of the range */
            v = 1e-4 * pow(1e18, (double)(x >> 11) / (double)(1ull << 53));
        } else { /* near a tie: k + 0.5 at some decimal, off by an ulp or two */
            v = ((double)(x % 1000000) + 0.5) / p10[(x >> 40) % 8];
            v = nextafter(v, (x >> 60) % 2 ? INFINITY : 0);
        }
        same((x >> 63) ? -v : v);
    }
}

static void same1(double v)
{
    char got[64], want[64];
    text_fixed1(v, got, sizeof got);
    snprintf(want, sizeof want, "%.1f", v);
    if (strcmp(got, want) != 0)
        fail_msg("%.17g: text_fixed1 gives %s, printf's %%.1f %s", v, got, want);
}

/* text_fixed1() writes what "%.1f" writes: the plot coordinates of the status page. */
static void test_unit_text_num__one_decimal_as_printf_writes_it(void **state)
{
    static const double fixed[] = {0.0,       -0.0,
                                   0.04,      -0.04,
                                   0.05,      -0.05,
                                   0.15,      0.25,
                                   0.35,      2.5,
                                   -4.5,      0.95,
                                   9.95,      99.95,
                                   1e9,       1e9 - 1,
                                   -1e9,      999999999.95,
                                   1e300,     4.9e-324,
                                   -4.9e-324, NAN,
                                   -NAN,      INFINITY,
                                   -INFINITY, 47.3499999999999,
                                   170.0,     12.0 + 158.0 * (0.5 / 0.75)};
    uint64_t x = 0xD1B54A32D192ED03u;
    (void)state;
    for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++)
        same1(fixed[i]);
    for (int i = 0; i < 400000; i++) {
        double v;
        xorshift(&x);
        if (i % 4 == 0) { /* any bit pattern */
            memcpy(&v, &x, sizeof v);
        } else if (i % 4 == 1) { /* coordinates as the plots compute them */
            v = 40.0 + 348.0 * (double)(x % 10000) / 9999.0;
        } else if (i % 4 == 2) { /* ties and near-ties: k/20, k/200 */
            v = (double)(int64_t)(x % 2000000 - 1000000) / ((x >> 50) % 2 ? 20.0 : 200.0);
        } else { /* any magnitude below 2e9, either sign */
            v = (double)(x >> 11) / (double)(1ull << 53) * 2e9 * ((x >> 3) % 2 ? -1 : 1);
        }
        same1(v);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unit_text_num__the_shortest_form_that_reads_back),
        cmocka_unit_test(test_unit_text_num__one_decimal_as_printf_writes_it),
        cmocka_unit_test(test_unit_text_num__the_decimals_found_without_printf),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
