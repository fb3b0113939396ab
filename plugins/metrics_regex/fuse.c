/* SPDX-License-Identifier: MIT */
/*
 * metrics_regex's fused pass over the host's buffer (AVX2): one load of each byte finds the
 * candidates of every literal group at once, Teddy-style (as ripgrep's aho-corasick does), and
 * in the same loop the bytes only the careful path can read (ESC, \r, backspace, 0x9B/0x9D:
 * filter.c) and the newlines. Each group has a fingerprint, the three adjacent bytes of its
 * literal that are rarest in logs, and nibble tables say which groups' fingerprints three bytes
 * could be; a candidate is verified against the whole literal, so each group finds exactly the
 * hits mr_lit_find() would. Only a line holding a verified candidate is ever delimited.
 *
 * The pass stops at the first line holding a byte the careful path must read: the lines before
 * it are matched here, and filter.c hands that line to its byte state machine. A buffer free of
 * such bytes is read once, not once for the filter and again for the candidates.
 */
#include <stdint.h>
#include <string.h>

#include "metrics_regex_int.h"

#if defined(MR_HAVE_AVX2)
#include <immintrin.h>

/* The bytes the pass stops before: mr_special()'s, and 0x1D (GS, a control no log prints),
 * which the packed tables cannot tell from ESC. A line holding one goes to the careful path,
 * which reads any line; only lines free of mr_special() bytes may be read here. */
static inline int mr_fuse_stops(unsigned char c) { return mr_special(c) || c == 0x1d; }

/* The nibble tables, held in registers through a pass. */
struct mr_fuse_tab {
    __m256i lo0, hi0, lo1, hi1, lo2, hi2;
};

#define MR_BCAST16(a) _mm256_broadcastsi128_si256(_mm_loadu_si128((const void *)(a)))

/* The table bits of 32 positions from p: bit g of byte i when bytes i, i+1, i+2 may be group
 * g's fingerprint (and, with packed tables, the class bits of byte i). Reads p[0..33].
 * Written out for each byte, so that the tables stay in registers. l0 and h0: byte i's nibbles. */
__attribute__((target("avx2"))) static inline __m256i mr_fuse_step(const char *p,
                                                                   const struct mr_fuse_tab *t,
                                                                   __m256i *l0, __m256i *h0)
{
    const __m256i nib = _mm256_set1_epi8(0x0f);
    __m256i x0 = _mm256_loadu_si256((const void *)p);
    __m256i x1 = _mm256_loadu_si256((const void *)(p + 1));
    __m256i x2 = _mm256_loadu_si256((const void *)(p + 2));
    *l0 = _mm256_and_si256(x0, nib);
    *h0 = _mm256_and_si256(_mm256_srli_epi16(x0, 4), nib);
    __m256i r0 =
        _mm256_and_si256(_mm256_shuffle_epi8(t->lo0, *l0), _mm256_shuffle_epi8(t->hi0, *h0));
    __m256i r1 = _mm256_and_si256(
        _mm256_shuffle_epi8(t->lo1, _mm256_and_si256(x1, nib)),
        _mm256_shuffle_epi8(t->hi1, _mm256_and_si256(_mm256_srli_epi16(x1, 4), nib)));
    __m256i r2 = _mm256_and_si256(
        _mm256_shuffle_epi8(t->lo2, _mm256_and_si256(x2, nib)),
        _mm256_shuffle_epi8(t->hi2, _mm256_and_si256(_mm256_srli_epi16(x2, 4), nib)));
    return _mm256_and_si256(_mm256_and_si256(r0, r1), r2);
}

_Static_assert(MR_FUSE_WINDOW / 64 <= 64, "a window's any[] words are summarised in one word");
_Static_assert(MR_FUSE_WINDOW / 64 * 2 <= 255, "a window's newlines are counted in byte lanes");

/* The groups whose fingerprint may start at p[at]: bytes at or past p[n] read as 0. */
static inline uint8_t mr_fuse_at(const struct mr_fuse *f, const char *p, size_t n, size_t at)
{
    uint8_t r = f->gmask;
    for (size_t j = 0; j < 3; j++) {
        unsigned char x = (unsigned char)(at + j < n ? p[at + j] : 0);
        r &= f->lo[j][x & 15] & f->hi[j][x >> 4];
    }
    return r;
}

/* Candidates of positions [a + from, a + to) one byte at a time, into res[] and any[] (already
 * zeroed for them); returns their summary bits as mr_fuse_pass() does. */
static uint64_t mr_fuse_tail(const struct mr_fuse *f, const char *p, size_t n, size_t a,
                             size_t from, size_t to, uint8_t *res, uint64_t *any)
{
    uint64_t sum = 0;
    for (size_t i = from; i < to; i++) {
        res[i] = mr_fuse_at(f, p, n, a + i);
        if (res[i] != 0) {
            any[i / 64] |= 1ull << (i % 64);
            sum |= 1ull << (i / 64);
        }
    }
    return sum;
}

/* One 64-byte step's candidates r0, r1 (group bits only) into res[i..i+63] and any[i / 64];
 * returns its summary bit. */
__attribute__((target("avx2"))) static inline uint64_t mr_fuse_store(__m256i r0, __m256i r1,
                                                                     size_t i, uint8_t *res,
                                                                     uint64_t *any)
{
    const __m256i zero = _mm256_setzero_si256();
    _mm256_storeu_si256((void *)(res + i), r0);
    _mm256_storeu_si256((void *)(res + i + 32), r1);
    uint64_t z = (uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(r0, zero)) |
                 (uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(r1, zero)) << 32;
    any[i / 64] = ~z;
    return (uint64_t)(z != ~0ull) << (i / 64);
}

/* The vector loop with packed tables (f->packed): the class bits ride in the same lookups, bit
 * MR_FUSE_NL for a newline, MR_FUSE_STOP for a byte mr_fuse_stops() takes. */
__attribute__((target("avx2,popcnt"))) static size_t mr_fuse_packed(
    const struct mr_fuse *f, const char *q, size_t lim, size_t w, int check, uint8_t *res,
    uint64_t *any, uint64_t *sum, uint64_t *nl, int *stopped)
{
    const struct mr_fuse_tab t = {MR_BCAST16(f->lo[0]), MR_BCAST16(f->hi[0]), MR_BCAST16(f->lo[1]),
                                  MR_BCAST16(f->hi[1]), MR_BCAST16(f->lo[2]), MR_BCAST16(f->hi[2])};
    const __m256i stop = _mm256_set1_epi8((char)MR_FUSE_STOP),
                  groups = _mm256_set1_epi8((char)f->gmask);
    size_t i = 0;
    uint64_t c = 0;
    for (; i + 64 <= w && i + 66 <= lim; i += 64) {
        __m256i l, h;
        __m256i r0 = mr_fuse_step(q + i, &t, &l, &h);
        __m256i r1 = mr_fuse_step(q + i + 32, &t, &l, &h);
        if (check && !_mm256_testz_si256(_mm256_or_si256(r0, r1), stop)) {
            *stopped = 1;
            break;
        }
        /* the newline bit, shifted to each byte's top bit (a 16-bit shift by 2 moves no bit
         * across a byte's top) */
        c += (uint64_t)__builtin_popcount(
                 (unsigned)_mm256_movemask_epi8(_mm256_slli_epi16(r0, 7 - MR_FUSE_NL_BIT))) +
             (uint64_t)__builtin_popcount(
                 (unsigned)_mm256_movemask_epi8(_mm256_slli_epi16(r1, 7 - MR_FUSE_NL_BIT)));
        *sum |=
            mr_fuse_store(_mm256_and_si256(r0, groups), _mm256_and_si256(r1, groups), i, res, any);
    }
    *nl += c;
    return i;
}

/* The lookups of the 64 bytes at p, from one load (AVX-512BW): a[0], the groups whose
 * fingerprint's first byte each byte may be, and its class bits; a[1] and a[2], as second and
 * third byte (group bits only: those tables are masked). */
__attribute__((target("avx512f,avx512bw"))) static inline void mr_fuse_look64(const char *p,
                                                                              const __m512i tab[6],
                                                                              __m512i a[3])
{
    const __m512i nib = _mm512_set1_epi8(0x0f);
    __m512i x = _mm512_loadu_si512((const void *)p);
    __m512i l = _mm512_and_si512(x, nib), h = _mm512_and_si512(_mm512_srli_epi16(x, 4), nib);
    a[0] = _mm512_and_si512(_mm512_shuffle_epi8(tab[0], l), _mm512_shuffle_epi8(tab[1], h));
    a[1] = _mm512_and_si512(_mm512_shuffle_epi8(tab[2], l), _mm512_shuffle_epi8(tab[3], h));
    a[2] = _mm512_and_si512(_mm512_shuffle_epi8(tab[4], l), _mm512_shuffle_epi8(tab[5], h));
}

/* Bytes n..n+63 of the 128 bytes x then y (0 < n < 16). */
#define MR_FUSE_SHIFT64(x, y, n) _mm512_alignr_epi8(_mm512_alignr_epi64(y, x, 2), x, n)

/*
 * The packed loop with 64-byte vectors (AVX-512BW, chosen at run time: f->avx512): each 64
 * bytes are loaded and looked up once, the second and third bytes' lookups shifted into place
 * (Teddy's way) from the next 64 bytes', which the next step reuses; the candidate, newline and
 * stop masks come straight out of mask registers. Same answers as mr_fuse_packed(), and the
 * newline masks in nlw[] (a bit per newline, a word per 64 bytes) for the positions it returns.
 */
__attribute__((target("avx512f,avx512bw,popcnt"))) static size_t mr_fuse_packed64(
    const struct mr_fuse *f, const char *q, size_t lim, size_t w, int check, uint8_t *res,
    uint64_t *any, uint64_t *nlw, uint64_t *sum, uint64_t *nl, int *stopped)
{
    const __m512i g = _mm512_set1_epi8((char)f->gmask);
    __m512i tab[6], c[3], d[3];
    for (size_t j = 0; j < 3; j++) {
        __m512i lo = _mm512_broadcast_i32x4(_mm_loadu_si128((const void *)f->lo[j]));
        __m512i hi = _mm512_broadcast_i32x4(_mm_loadu_si128((const void *)f->hi[j]));
        tab[2 * j] = j == 0 ? lo : _mm512_and_si512(lo, g);
        tab[2 * j + 1] = j == 0 ? hi : _mm512_and_si512(hi, g);
    }
    const __m512i stop = _mm512_set1_epi8((char)MR_FUSE_STOP),
                  vnl = _mm512_set1_epi8((char)MR_FUSE_NL);
    uint64_t s = 0, lines = 0;
    size_t i = 0;
    /* the last load of a step ends at q[i + 127] */
    if (w >= 64 && lim >= 128)
        mr_fuse_look64(q, tab, c);
    for (; i + 64 <= w && i + 128 <= lim; i += 64) {
        mr_fuse_look64(q + i + 64, tab, d);
        if (check && _mm512_test_epi8_mask(c[0], stop) != 0) {
            *stopped = 1;
            break;
        }
        uint64_t nlm = _mm512_test_epi8_mask(c[0], vnl);
        nlw[i / 64] = nlm;
        lines += (uint64_t)__builtin_popcountll(nlm);
        /* a AND b AND c */
        __m512i r = _mm512_ternarylogic_epi64(c[0], MR_FUSE_SHIFT64(c[1], d[1], 1),
                                              MR_FUSE_SHIFT64(c[2], d[2], 2), 0x80);
        _mm512_storeu_si512((void *)(res + i), r);
        uint64_t m = _mm512_test_epi8_mask(r, r);
        any[i / 64] = m;
        s |= (uint64_t)(m != 0) << (i / 64);
        c[0] = d[0];
        c[1] = d[1];
        c[2] = d[2];
    }
    *sum |= s;
    *nl += lines;
    return i;
}

/* The vector loop with more groups than the packed tables leave bits for: the bytes to stop
 * before and the newlines are looked up apart. */
__attribute__((target("avx2"))) static size_t mr_fuse_wide(const struct mr_fuse *f, const char *q,
                                                           size_t lim, size_t w, int check,
                                                           uint8_t *res, uint64_t *any,
                                                           uint64_t *sum, uint64_t *nl,
                                                           int *stopped)
{
    const struct mr_fuse_tab t = {MR_BCAST16(f->lo[0]), MR_BCAST16(f->hi[0]), MR_BCAST16(f->lo[1]),
                                  MR_BCAST16(f->hi[1]), MR_BCAST16(f->lo[2]), MR_BCAST16(f->hi[2])};
    const __m256i zero = _mm256_setzero_si256(), vnl = _mm256_set1_epi8('\n');
    __m256i lines = zero; /* newlines per byte lane: at most 2 per step, 64 steps a window */
    size_t i = 0;
    for (; i + 64 <= w && i + 66 <= lim; i += 64) {
        __m256i l0, h0, l1, h1;
        __m256i r0 = mr_fuse_step(q + i, &t, &l0, &h0);
        __m256i r1 = mr_fuse_step(q + i + 32, &t, &l1, &h1);
        __m256i s = _mm256_or_si256(mr_special_nibbles(l0, h0), mr_special_nibbles(l1, h1));
        if (check && !_mm256_testz_si256(s, s)) {
            *stopped = 1;
            break;
        }
        lines = _mm256_sub_epi8(lines,
                                _mm256_cmpeq_epi8(_mm256_loadu_si256((const void *)(q + i)), vnl));
        lines = _mm256_sub_epi8(
            lines, _mm256_cmpeq_epi8(_mm256_loadu_si256((const void *)(q + i + 32)), vnl));
        *sum |= mr_fuse_store(r0, r1, i, res, any);
    }
    __m256i sad = _mm256_sad_epu8(lines, zero);
    *nl += (uint64_t)_mm256_extract_epi64(sad, 0) + (uint64_t)_mm256_extract_epi64(sad, 1) +
           (uint64_t)_mm256_extract_epi64(sad, 2) + (uint64_t)_mm256_extract_epi64(sad, 3);
    return i;
}

/* The newlines of a window's first v bytes from p + a, as the AVX-512 pass found them: bit j of
 * w[k] for p[a + 64k + j] (v is a multiple of 64; 0 when the pass kept none). */
struct mr_fuse_nl {
    uint64_t w[MR_FUSE_WINDOW / 64];
    size_t a, v;
};

/* Where the line holding p[x] starts, not before pos (a line start <= x): what memrchr() over
 * [pos, x) gives, read from the window's newline bits where they cover x. */
static size_t mr_fuse_ls(const char *p, const struct mr_fuse_nl *nw, size_t pos, size_t x)
{
    if (x >= nw->a && x < nw->a + nw->v) {
        size_t r = x - nw->a, k = r / 64;
        uint64_t m = nw->w[k] & ((1ull << (r % 64)) - 1); /* the newlines before x in its word */
        while (m == 0 && k > 0)
            m = nw->w[--k];
        if (m != 0) {
            size_t at = nw->a + k * 64 + 63 - (size_t)__builtin_clzll(m);
            return at + 1 > pos ? at + 1 : pos;
        }
        x = nw->a; /* none in the window before x: look before the window */
    }
    if (x <= pos)
        return pos;
    const char *ln = memrchr(p + pos, '\n', x - pos);
    return ln != NULL ? (size_t)(ln + 1 - p) : pos;
}

/* The first newline at or after p[x] and before p[end], or end: what memchr() gives, read from
 * the window's newline bits where they cover x. */
static size_t mr_fuse_le(const char *p, const struct mr_fuse_nl *nw, size_t x, size_t end)
{
    if (x >= nw->a && x < nw->a + nw->v) {
        size_t r = x - nw->a, k = r / 64;
        uint64_t m = nw->w[k] & ~((1ull << (r % 64)) - 1); /* the newlines from x in its word */
        while (m == 0 && (k + 1) * 64 < nw->v)
            m = nw->w[++k];
        if (m != 0) {
            size_t at = nw->a + k * 64 + (size_t)__builtin_ctzll(m);
            return at < end ? at : end;
        }
        x = nw->a + nw->v; /* none in the rest of the window's known bytes */
    }
    if (x >= end)
        return end;
    const char *le = memchr(p + x, '\n', end - x);
    return le != NULL ? (size_t)(le - p) : end;
}

/*
 * For the w positions from p + a (w <= MR_FUSE_WINDOW, a + w <= n): res[i], the groups whose
 * fingerprint may start at a + i, and any[], a bit per nonzero res[i]. Returns a bit per
 * nonzero any[k], so that the scan skips the (many) empty words without a branch on each.
 * With `check`, stops at the first 64-byte block (or, in the last 64 bytes, the first byte)
 * holding a byte mr_fuse_stops() takes: *stop is where, w if none; res[] and any[] hold the
 * positions before it. *nl gains the newlines before *stop. Reads nothing past p[n - 1].
 * nw: where the window's newlines are known (struct mr_fuse_nl), when the pass kept them.
 */
static uint64_t mr_fuse_pass(const struct mr_fuse *f, const char *p, size_t n, size_t a, size_t w,
                             int check, uint8_t *res, uint64_t *any, struct mr_fuse_nl *nw,
                             size_t *stop, uint64_t *nl)
{
    const char *q = p + a;
    uint64_t sum = 0;
    int stopped = 0;
    size_t i;
    nw->a = a;
    nw->v = 0;
    if (f->avx512)
        nw->v = i = mr_fuse_packed64(f, q, n - a, w, check, res, any, nw->w, &sum, nl, &stopped);
    else if (f->packed)
        i = mr_fuse_packed(f, q, n - a, w, check, res, any, &sum, nl, &stopped);
    else
        i = mr_fuse_wide(f, q, n - a, w, check, res, any, &sum, nl, &stopped);
    for (size_t k = i / 64; k <= (w - 1) / 64; k++)
        any[k] = 0;
    *stop = w;
    if (stopped) {
        *stop = i;
        return sum;
    }
    size_t v = i; /* the vector loop's end: the rest one byte at a time */
    for (; i < w; i++) {
        if (check && mr_fuse_stops((unsigned char)q[i])) {
            *stop = i;
            break;
        }
        *nl += q[i] == '\n';
    }
    return sum | mr_fuse_tail(f, p, n, a, v, *stop, res, any);
}

/* Whether [p, p+n) holds a byte the careful path must read. */
__attribute__((target("avx2"))) static int mr_has_special(const char *p, size_t n)
{
    const __m256i nib = _mm256_set1_epi8(0x0f);
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m256i x = _mm256_loadu_si256((const void *)(p + i));
        __m256i s = mr_special_nibbles(_mm256_and_si256(x, nib),
                                       _mm256_and_si256(_mm256_srli_epi16(x, 4), nib));
        if (!_mm256_testz_si256(s, s))
            return 1;
    }
    for (; i < n; i++)
        if (mr_special((unsigned char)p[i]))
            return 1;
    return 0;
}

/*
 * Where the pass over window [a, a+w) stopped (stop < w): the first byte it stops before
 * (mr_fuse_stops) is in [a + stop, a + w). Returns the start of its line, the end of the lines
 * the fast path takes; *nl gains the newlines before it, and the candidates of [a + stop, that line
 * start), which the pass left out, are added to res[] and any[] (and *sum).
 */
static size_t mr_fuse_limit(const struct mr_fuse *f, const char *p, size_t n, size_t a, size_t w,
                            size_t stop, uint8_t *res, uint64_t *any, uint64_t *sum, uint64_t *nl)
{
    size_t sp = a + stop;
    while (sp < a + w && !mr_fuse_stops((unsigned char)p[sp]))
        *nl += p[sp++] == '\n';
    const char *ln = memrchr(p, '\n', sp);
    size_t lim = ln != NULL ? (size_t)(ln + 1 - p) : 0;
    if (lim > a + stop)
        *sum |= mr_fuse_tail(f, p, n, a, stop, lim - a, res, any);
    return lim;
}

/* Whether no window position in (i, e) may start group `bit`'s fingerprint: a literal of the
 * group after the one whose fingerprint is at i, ending by e, would have one there. */
static int mr_fuse_sole(const uint8_t *res, const uint64_t *any, size_t i, size_t e, unsigned bit)
{
    for (size_t j = i + 1; j < e;) {
        uint64_t m = any[j / 64] >> (j % 64);
        if (m == 0) {
            j = (j | 63) + 1;
            continue;
        }
        j += (size_t)__builtin_ctzll(m);
        if (j >= e)
            break;
        if (res[j] & bit)
            return 0;
        j++;
    }
    return 1;
}

/*
 * Scan the whole lines [p, p+n) (p at a line start, p[n-1] a newline) with the fused pass: a
 * window of candidates at a time (kept in L1), read in position order, each verified against
 * its group's literal. Each literal group sees the same hits, in the same order, as
 * mr_scan_group() would give it: the first hit at or after the end of the line its last hit
 * was on. Groups are interleaved line by line, as when the log comes in small chunks: no
 * result depends on the order of two groups (the fuzz oracle checks it).
 *
 * With `check`, the scan ends before the first line holding a byte the careful path must read
 * (filter.c): returns the bytes scanned, whole lines, and in *nl their newlines. Without it,
 * [p, p+n) is known to hold none of them, and all n bytes are scanned.
 */
size_t mr_scan_fused(struct metrics_regex_job *job, const char *p, size_t n, int check,
                     uint64_t *nl)
{
    const struct metrics_regex *inst = job->inst;
    const struct mr_fuse *f = &inst->fuse;
    size_t next[MR_FUSE_MAX] = {0}; /* group g has read every line before p + next[g] */
    size_t lim = n;                 /* the lines before p + lim are the fast path's */
    uint8_t res[MR_FUSE_WINDOW];
    uint64_t any[MR_FUSE_WINDOW / 64];
    struct mr_fuse_nl nw;
    *nl = 0;
    for (size_t a = 0; a < lim; a += MR_FUSE_WINDOW) {
        size_t w = n - a < MR_FUSE_WINDOW ? n - a : MR_FUSE_WINDOW, stop;
        uint64_t sum = mr_fuse_pass(f, p, n, a, w, check, res, any, &nw, &stop, nl);
        if (stop < w)
            lim = mr_fuse_limit(f, p, n, a, w, stop, res, any, &sum, nl);
        const char *wend = p + a + w;
        for (; sum != 0; sum &= sum - 1) {
            size_t blk = (size_t)__builtin_ctzll(sum);
            for (uint64_t m = any[blk]; m != 0; m &= m - 1) {
                size_t i = blk * 64 + (size_t)__builtin_ctzll(m), fp = a + i;
                for (unsigned r = res[i]; r != 0; r &= r - 1) {
                    size_t g = (size_t)__builtin_ctz(r), s = fp - f->k[g];
                    const struct mr_lit *l = &inst->groups[g].lit;
                    if (fp < f->k[g] || s < next[g] || s + l->len > lim ||
                        !mr_lit_verify(l, (const unsigned char *)p + s))
                        continue;
                    const char *hit = p + s, *end = p + lim;
                    const char *ls = p + mr_fuse_ls(p, &nw, next[g], s);
                    const char *le = p + mr_fuse_le(p, &nw, s, lim);
                    /* a line running on past the window: the pass has not looked at its end */
                    if (check && le > wend && mr_has_special(wend, (size_t)(le - wend))) {
                        lim = (size_t)(ls - p); /* later candidates lie on or after it */
                        continue;
                    }
                    /* no other candidate of g up to the line's end: no other literal */
                    job->sole_hit =
                        le <= wend && mr_fuse_sole(res, any, i, (size_t)(le - p) - a, 1u << g);
                    mr_run_group_line(job, &inst->groups[g], ls, le, hit);
                    job->sole_hit = 0;
                    next[g] = le == end ? lim : (size_t)(le + 1 - p);
                }
            }
        }
    }
    for (size_t gi = f->n; gi < inst->n_groups; gi++)
        mr_scan_group(job, &inst->groups[gi], p, p + lim);
    return lim;
}
#endif
