/* SPDX-License-Identifier: MIT */
/*
 * metrics_regex's one number grammar, used by every default, preset and plan pattern (the README's
 * "What a regex captures"): what a captured value reads as, or why it is refused.
 */
#include <locale.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "metrics_regex_int.h"

/* Length of a minus-like character other than ASCII '-' ending at s[n-1] (U+2212, U+2010-2015,
 * U+207B, U+208B, U+FE63, U+FF0D in UTF-8), or 0. */
size_t mr_minus_before(const unsigned char *s, size_t n)
{
    if (n < 3)
        return 0;
    const unsigned char *t = s + n - 3;
    if ((t[0] == 0xe2 && t[1] == 0x88 && t[2] == 0x92) ||
        (t[0] == 0xe2 && t[1] == 0x80 && t[2] >= 0x90 && t[2] <= 0x95) ||
        (t[0] == 0xe2 && t[1] == 0x81 && t[2] == 0xbb) ||
        (t[0] == 0xe2 && t[1] == 0x82 && t[2] == 0x8b) ||
        (t[0] == 0xef && t[1] == 0xb9 && t[2] == 0xa3) ||
        (t[0] == 0xef && t[1] == 0xbc && t[2] == 0x8d))
        return 3;
    return 0;
}

/*
 * Read a captured number, the one grammar of every pattern: an optional ASCII sign, digits with
 * optional thousands groups ("87,750"), an optional fraction and exponent, or a bare fraction
 * (".5"), then an optional "%" (divides by 100). Returns 0, or why it is refused: MR_C_MINUS for a
 * non-ASCII minus sign, MR_C_LONG for more than MR_NUM_MAX bytes, MR_C_NAN for anything else
 * ("nan", "inf", overflow, "31,0000").
 */
/*
 * The common case of mr_parse_number(), read without copying: digits, optionally in thousands
 * groups ("87,750"), with an optional fraction, starting and ending with a digit, at most 15
 * digits in all. Returns 1 with *out as mr_parse_number() gives it, or 0 when the text is of
 * any other form (then the general reading decides, refusals included).
 */
static int mr_parse_plain(const char *s, size_t n, double *out)
{
    static const double pow10[] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                   1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
    uint64_t mant = 0;
    size_t i = 0, digits = 0, frac = 0;
    if (n == 0 || n > 20 || !mr_is_digit((unsigned char)s[n - 1]))
        return 0;
    while (i < n && mr_is_digit((unsigned char)s[i]))
        mant = mant * 10 + (uint64_t)(s[i++] - '0');
    digits = i;
    if (i < n && s[i] == ',') {
        if (digits < 1 || digits > 3)
            return 0;
        while (i + 3 < n && s[i] == ',' && mr_is_digit((unsigned char)s[i + 1]) &&
               mr_is_digit((unsigned char)s[i + 2]) && mr_is_digit((unsigned char)s[i + 3])) {
            mant = mant * 1000 + (uint64_t)(s[i + 1] - '0') * 100 +
                   (uint64_t)(s[i + 2] - '0') * 10 + (uint64_t)(s[i + 3] - '0');
            digits += 3;
            i += 4;
        }
    }
    if (i < n && s[i] == '.') {
        size_t f = ++i;
        while (i < n && mr_is_digit((unsigned char)s[i]))
            mant = mant * 10 + (uint64_t)(s[i++] - '0');
        frac = i - f;
    }
    if (i != n || digits == 0 || digits + frac > 15)
        return 0;
    /* x / 1.0 is x: no division (and its latency) for a whole number */
    double v = frac == 0 ? (double)mant : (double)mant / pow10[frac];
    *out = v == 0.0 ? 0.0 : v;
    return 1;
}

int mr_parse_number(locale_t loc, const char *s, size_t n, double *out)
{
    if (mr_parse_plain(s, n, out))
        return 0;
    return mr_parse_number_general(loc, s, n, out);
}

int mr_parse_number_general(locale_t loc, const char *s, size_t n, double *out)
{
    char buf[MR_NUM_MAX + 8];
    size_t k = 0, i = 0, int_digits = 0, frac_digits = 0;
    uint64_t mant = 0; /* the digits read as one integer; exact while there are at most 15 */
    int pct = 0;

    while (n > 0 && (s[0] == ' ' || s[0] == '\t'))
        s++, n--;
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    if (n >= 3 && mr_minus_before((const unsigned char *)s, 3) != 0)
        return MR_C_MINUS;
    if (n > MR_NUM_MAX)
        return MR_C_LONG;
    if (n > 0 && s[n - 1] == '%') {
        pct = 1;
        n--;
    }
    if (n == 0)
        return MR_C_NAN;
    if (s[i] == '+' || s[i] == '-')
        buf[k++] = s[i++];
    while (i < n && mr_is_digit((unsigned char)s[i])) {
        mant = mant * 10 + (uint64_t)(s[i] - '0');
        buf[k++] = s[i++];
        int_digits++;
    }
    if (i < n && s[i] == ',') {
        if (int_digits < 1 || int_digits > 3)
            return MR_C_NAN;
        while (i < n && s[i] == ',') {
            if (i + 3 >= n || !mr_is_digit((unsigned char)s[i + 1]) ||
                !mr_is_digit((unsigned char)s[i + 2]) || !mr_is_digit((unsigned char)s[i + 3]))
                return MR_C_NAN;
            if (i + 4 < n && mr_is_digit((unsigned char)s[i + 4]))
                return MR_C_NAN;
            memcpy(buf + k, s + i + 1, 3);
            mant = mant * 1000 + (uint64_t)(s[i + 1] - '0') * 100 +
                   (uint64_t)(s[i + 2] - '0') * 10 + (uint64_t)(s[i + 3] - '0');
            k += 3;
            int_digits += 3;
            i += 4;
        }
    }
    if (i < n && s[i] == '.') {
        buf[k++] = s[i++];
        while (i < n && mr_is_digit((unsigned char)s[i])) {
            mant = mant * 10 + (uint64_t)(s[i] - '0');
            buf[k++] = s[i++];
            frac_digits++;
        }
    }
    if (int_digits == 0 && frac_digits == 0)
        return MR_C_NAN;
    int has_exp = 0;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        size_t exp_digits = 0;
        has_exp = 1;
        buf[k++] = s[i++];
        if (i < n && (s[i] == '+' || s[i] == '-'))
            buf[k++] = s[i++];
        while (i < n && mr_is_digit((unsigned char)s[i])) {
            buf[k++] = s[i++];
            exp_digits++;
        }
        if (exp_digits == 0)
            return MR_C_NAN;
    }
    if (i != n)
        return MR_C_NAN;
    buf[k] = '\0';
    double v;
    /* Clinger's fast path: up to 15 digits and no exponent is an exact integer divided by an
     * exact power of ten, one correctly rounded operation, so the same double strtod gives. */
    if (int_digits + frac_digits <= 15 && !has_exp) {
        static const double pow10[] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                       1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
        v = (double)mant / pow10[frac_digits];
        if (buf[0] == '-')
            v = -v;
    } else {
        char *end = NULL;
        v = strtod_l(buf, &end, loc);
        if (end != buf + k || !isfinite(v))
            return MR_C_NAN;
    }
    v = pct ? v / 100.0 : v;
    /* "-0" reads as 0: a negative zero would make max and min depend on the order two equal
     * values were seen in (found by the fuzzer: the whole log and its chunks disagreed). */
    *out = v == 0.0 ? 0.0 : v;
    return 0;
}

/* Throughputs are never in milli units, so m and M both mean mega (see README); PufferLib writes
 * b for billions. */
double mr_unit_factor(char c)
{
    switch (c) {
    case 'k':
    case 'K': return 1e3;
    case 'm':
    case 'M': return 1e6;
    case 'g':
    case 'G':
    case 'b':
    case 'B': return 1e9;
    default: return 0.0;
    }
}
