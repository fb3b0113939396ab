/* SPDX-License-Identifier: MIT */
/*
 * plugins/metrics_regex/fuse.c, the fused pass over the host's buffer: it finds the candidates,
 * the bytes only the careful path reads (ESC, \r, \b, 0x9B, 0x9D) and the newlines in one load
 * of each byte, and stops before the first line holding such a byte. A log fed whole goes
 * through it; fed one byte at a time, no line is ever whole in the buffer, so every byte takes
 * the careful path. Both must post the same metrics, labels and notes (line numbers included),
 * with the packed tables (up to five literal groups; read 32 bytes a step with AVX2 and, where
 * the CPU has AVX-512BW, 64 bytes a step) and the wide ones (more groups), on logs whose lines
 * cross the pass's 4 KiB windows with such bytes on the far side.
 */
#include "metrics_regex_common.h"

/* Append printf-style text to buf (cap bytes); returns the new length. */
static size_t put(char *buf, size_t cap, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(buf + n, cap - n, fmt, ap);
    va_end(ap);
    assert_true(k >= 0 && (size_t)k < cap - n);
    return n + (size_t)k;
}

static size_t pad(char *buf, size_t cap, size_t n, char c, size_t k)
{
    assert_true(n + k < cap);
    memset(buf + n, c, k);
    buf[n + k] = '\0';
    return n + k;
}

/* A log of about `lines` lines: chatter, every default literal's lines, refused values (notes
 * with line numbers), [SUMMARY] blocks, and lines that only the careful path reads right, some
 * long enough to cross one or two 4 KiB windows with the byte that decides it on the far side. */
static size_t make_log(char *buf, size_t cap, unsigned seed, size_t lines)
{
    size_t n = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < lines; i++) {
        seed = seed * 1103515245u + 12345u;
        unsigned r = (seed >> 8) % 26, v = (seed >> 4) % 90000 + 1000;
        size_t longpad = 3000 + (seed >> 3) % 6000;
        switch (r) {
        case 0: n = put(buf, cap, n, "step %zu | SPS: %u | loss 0.1\n", i, v); break;
        case 1: n = put(buf, cap, n, "| %zu | %u,%03u SPS | 0.2 |\n", i, v / 1000, v % 1000); break;
        case 2: n = put(buf, cap, n, "eval_success_rate: 0.%02u\n", v % 100); break;
        case 3: n = put(buf, cap, n, "[SUMMARY] Exit code: %u\n", v % 3); break;
        case 4: n = put(buf, cap, n, "[SUMMARY] Termination reason: r%u\n", v % 7); break;
        case 5: n = put(buf, cap, n, "%u steps/sec\n", v); break;
        case 6: n = put(buf, cap, n, "sps: nan and SPS: %u%%\n", v); break; /* refused: notes */
        case 7: n = put(buf, cap, n, "\x1b[1mSPS \x1b[0m: %u\n", v); break; /* colour */
        case 8: n = put(buf, cap, n, "bar %u%%\rSPS: %u\r\n", v % 100, v); break;
        case 9: /* a literal only the careful path sees, past a window's end */
            n = pad(buf, cap, n, 'x', longpad);
            n = put(buf, cap, n, " S\x1b[0mPS: %u\n", v);
            break;
        case 10: /* a value the careful path refuses (rewritten), the rewrite far past it */
            n = put(buf, cap, n, "SPS: %u ", v);
            n = pad(buf, cap, n, 'y', longpad);
            n = put(buf, cap, n, "\bz\n");
            break;
        case 11: /* a \r far past the value: the last segment holds another value */
            n = put(buf, cap, n, "SPS: %u ", v);
            n = pad(buf, cap, n, 'y', longpad);
            n = put(buf, cap, n, "\rSPS: %u\n", v + 1);
            break;
        case 12: n = put(buf, cap, n, "gs \x1d SPS: %u\n", v); break;           /* 0x1D: text */
        case 13: n = put(buf, cap, n, "snow \xe2\x9b\x84 SPS: %u\n", v); break; /* 0x9B in UTF-8 */
        case 14:
            n = put(buf, cap, n,
                    "csi \x9b"
                    "1mSPS: %u\n",
                    v);
            break; /* 8-bit CSI */
        case 15: n = put(buf, cap, n, "sun \xe2\x98\x80 eval success rate: 0.5\n"); break;
        case 16: /* two literals, the second after the line crosses a window */
            n = put(buf, cap, n, "SPS: %u ", v);
            n = pad(buf, cap, n, 'w', longpad);
            n = put(buf, cap, n, " SPS: %u\n", v + 2);
            break;
        case 17: n = put(buf, cap, n, "SPS: %u then sps: %u\n", v, v + 3); break; /* two */
        case 18:
            n = put(buf, cap, n, "[SUMMARY] Exit code: 0 [SUMMARY] Exit code: %u\n", v % 5);
            break;
        default:
            n = put(buf, cap, n, "[2025-10-02 12:00:%02u] INFO rollout %zu collected %u steps\n",
                    v % 60, i, v);
        }
    }
    return n;
}

/* avx2_only: the packed pass in its AVX2 form even where the CPU has AVX-512BW. */
static void same_fed_whole_and_bytewise(const char *conf, int packed, int avx2_only)
{
    size_t cap = 8u << 20;
    char *log = malloc(cap);
    assert_non_null(log);
    struct fx *f = fx_new(conf);
    assert_int_equal(f->open_rc, 0);
    struct metrics_regex *inst = f->inst;
#if defined(MR_HAVE_AVX2)
    if (inst->avx2) { /* the pass under test runs, in the form asked for */
        assert_true(inst->fuse.on);
        assert_int_equal(inst->fuse.packed, packed);
        assert_int_equal(inst->fuse.avx512, packed && inst->avx512);
        if (avx2_only)
            inst->fuse.avx512 = 0;
    }
#else
    (void)inst;
    (void)packed;
    (void)avx2_only;
#endif
    for (unsigned seed = 1; seed <= 3; seed++) {
        size_t len = make_log(log, cap, seed, 3000);
        fx_run_cut(f, log, len, CUT_BYTES, 0);
        char *bytewise = fx_dump(&f->m);
        assert_non_null(strstr(bytewise, "rewritten")); /* the log holds what it is meant to */
        mock_host_reset(&f->m);
        static const enum cut cuts[] = {CUT_WHOLE, CUT_RANDOM, CUT_AT};
        for (size_t c = 0; c < sizeof(cuts) / sizeof(cuts[0]); c++) {
            fx_run_cut(f, log, len, cuts[c], cuts[c] == CUT_AT ? (unsigned)(len / 3) : seed);
            char *got = fx_dump(&f->m);
            if (strcmp(got, bytewise) != 0)
                fail_msg("seed %u, cut %d: fed one byte at a time\n%s\nfed otherwise\n%s", seed,
                         (int)cuts[c], bytewise, got);
            free(got);
            mock_host_reset(&f->m);
        }
        free(bytewise);
    }
    fx_free(f);
    free(log);
}

static void test_plugins_metrics_regex_fuse__packed_pass_reads_what_the_careful_path_reads(
    void **state)
{
    (void)state;
    same_fed_whole_and_bytewise(NULL, 1, 0);
}

static void test_plugins_metrics_regex_fuse__packed_avx2_pass_reads_what_the_careful_path_reads(
    void **state)
{
    (void)state;
    same_fed_whole_and_bytewise(NULL, 1, 1);
}

static void test_plugins_metrics_regex_fuse__wide_pass_reads_what_the_careful_path_reads(
    void **state)
{
    (void)state;
    /* sb3's four literals and the defaults' four: eight groups, too many for the packed bits */
    same_fed_whole_and_bytewise("presets = [\"sb3\"];", 0, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(
            test_plugins_metrics_regex_fuse__packed_pass_reads_what_the_careful_path_reads),
        cmocka_unit_test(
            test_plugins_metrics_regex_fuse__packed_avx2_pass_reads_what_the_careful_path_reads),
        cmocka_unit_test(
            test_plugins_metrics_regex_fuse__wide_pass_reads_what_the_careful_path_reads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
