/* SPDX-License-Identifier: MIT */
/*
 * metrics_regex's scan: which lines reach PCRE2, and what each match adds to its accumulator.
 *
 * A line is only handed to PCRE2 when it contains its pattern group's literal prefilter, found
 * with a case-folded two-byte SIMD filter over the whole chunk (as ripgrep does), so the cost on
 * the many lines that mention no metric is a vector compare, not a regex run. Each line is
 * scanned exactly once, whole, whether it lies in the host's buffer or in the carry (filter.c),
 * so results do not depend on how the log was cut.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>
#if defined(MR_FAST_CHECK)
#include <stdio.h>
#include <stdlib.h>
#endif

#include "metrics_regex_int.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#if defined(MR_HAVE_AVX2)
#include <immintrin.h>
#endif

/* Copy text for a note: bounded and printable, since it comes from an arbitrary log. */
static void mr_example(char *dst, size_t cap, const char *s, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n && k + 1 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        dst[k++] = (c >= 0x20 && c < 0x7f && c != '"') ? (char)c : '?';
    }
    dst[k] = '\0';
}

/* ---- Prefilter literals ---------------------------------------------------------------------- */

/*
 * First occurrence of the literal in [hay, hay+n), either case, or NULL; l->len > 0.
 * The vector loops compare the literal's two rarest bytes at their offsets for 16 or 32 starts
 * at once and verify only the starts where both agree. Every load ends at or before
 * i + i2 + (width - 1) <= last + i2 <= n - 1: never past the buffer.
 */
#if defined(MR_HAVE_AVX2)

__attribute__((target("avx2"))) static const char *mr_lit_find_avx2(const struct mr_lit *l,
                                                                    const unsigned char *h,
                                                                    size_t last, size_t *next)
{
    const unsigned char *a = h + l->i1, *b = h + l->i2;
    const __m256i c1 = _mm256_set1_epi8((char)l->fold[l->i1]);
    const __m256i m1 = _mm256_set1_epi8((char)l->mask[l->i1]);
    const __m256i c2 = _mm256_set1_epi8((char)l->fold[l->i2]);
    const __m256i m2 = _mm256_set1_epi8((char)l->mask[l->i2]);
    size_t i = 0;
    for (; i + 64 <= last + 1; i += 64) {
        __m256i e0 = _mm256_and_si256(
            _mm256_cmpeq_epi8(_mm256_or_si256(_mm256_loadu_si256((const void *)(a + i)), m1), c1),
            _mm256_cmpeq_epi8(_mm256_or_si256(_mm256_loadu_si256((const void *)(b + i)), m2), c2));
        __m256i e1 = _mm256_and_si256(
            _mm256_cmpeq_epi8(_mm256_or_si256(_mm256_loadu_si256((const void *)(a + i + 32)), m1),
                              c1),
            _mm256_cmpeq_epi8(_mm256_or_si256(_mm256_loadu_si256((const void *)(b + i + 32)), m2),
                              c2));
        __m256i any = _mm256_or_si256(e0, e1);
        if (_mm256_testz_si256(any, any))
            continue;
        uint64_t bits = (uint64_t)(uint32_t)_mm256_movemask_epi8(e0) |
                        (uint64_t)(uint32_t)_mm256_movemask_epi8(e1) << 32;
        while (bits != 0) {
            size_t k = (size_t)__builtin_ctzll(bits);
            if (mr_lit_verify(l, h + i + k))
                return (const char *)h + i + k;
            bits &= bits - 1;
        }
    }
    *next = i;
    return NULL;
}
#endif

const char *mr_lit_find(const struct mr_lit *l, const char *hay, size_t n, int avx2)
{
    const unsigned char *h = (const unsigned char *)hay;
    if (n < l->len)
        return NULL;
    size_t last = n - l->len; /* last possible start */
    size_t i = 0;
#if defined(MR_HAVE_AVX2)
    if (avx2) {
        const char *hit = mr_lit_find_avx2(l, h, last, &i);
        if (hit != NULL)
            return hit;
    }
#else
    (void)avx2;
#endif
#if defined(__SSE2__)
    const unsigned char *a = h + l->i1, *b = h + l->i2;
    const __m128i c1 = _mm_set1_epi8((char)l->fold[l->i1]);
    const __m128i m1 = _mm_set1_epi8((char)l->mask[l->i1]);
    const __m128i c2 = _mm_set1_epi8((char)l->fold[l->i2]);
    const __m128i m2 = _mm_set1_epi8((char)l->mask[l->i2]);
    for (; i + 16 <= last + 1; i += 16) {
        __m128i x = _mm_or_si128(_mm_loadu_si128((const __m128i *)(a + i)), m1);
        __m128i y = _mm_or_si128(_mm_loadu_si128((const __m128i *)(b + i)), m2);
        unsigned bits = (unsigned)_mm_movemask_epi8(
            _mm_and_si128(_mm_cmpeq_epi8(x, c1), _mm_cmpeq_epi8(y, c2)));
        while (bits != 0) {
            size_t k = (size_t)__builtin_ctz(bits);
            if (mr_lit_verify(l, h + i + k))
                return hay + i + k;
            bits &= bits - 1;
        }
    }
#endif
    for (; i <= last; i++)
        if ((unsigned char)(h[i + l->i1] | l->mask[l->i1]) == l->fold[l->i1] &&
            mr_lit_verify(l, h + i))
            return hay + i;
    return NULL;
}

/* ---- Matching lines -------------------------------------------------------------------------- */

/* 1-based number of the line being matched, counting newlines on demand (only for notes). */
static uint64_t mr_line_no(struct metrics_regex_job *job)
{
    if (job->region == NULL)
        return job->line + 1;
    if (job->count_ptr == NULL || job->cur_ls < job->count_ptr) {
        job->count_ptr = job->region;
        job->count_lines = job->line;
    }
    for (const char *q = job->count_ptr; q < job->cur_ls;) {
        const char *nl = memchr(q, '\n', (size_t)(job->cur_ls - q));
        if (nl == NULL)
            break;
        job->count_lines++;
        q = nl + 1;
    }
    job->count_ptr = job->cur_ls;
    return job->count_lines + 1;
}

/* A [SUMMARY] marker: an exit code, or a field the current block already has, starts a block. */
static void mr_summary(struct metrics_regex_job *job, const struct mr_pat *p, struct mr_acc *a)
{
    if (p->summary == 0)
        return;
    unsigned bit = 1u << (p->summary - 1);
    if (p->summary == 1 || (job->block_seen & bit) != 0) {
        job->block++;
        job->block_seen = 0;
        job->block_line = mr_line_no(job);
    }
    job->block_seen |= bit;
    a->block = job->block;
    a->has_block = 1;
}

static void mr_refuse(struct metrics_regex_job *job, const struct mr_pat *p, struct mr_acc *a,
                      enum mr_cause cause, const char *s, size_t n, uint64_t key)
{
    uint64_t line = mr_line_no(job);
    /* First and last by position in the log, not by when they were seen: a one-chunk scan
     * visits each literal's lines in turn, a chunked one sees them interleaved. */
    if (a->bad[cause]++ == 0 || key < a->bad_key[cause]) {
        mr_example(a->bad_example[cause], sizeof(a->bad_example[cause]), s, n);
        a->bad_line[cause] = line;
        a->bad_key[cause] = key;
    }
    if (a->n_bad++ == 0 || key >= a->last_bad_key) {
        a->last_bad_key = key;
        a->last_bad_line = line;
        a->last_bad_cause = (int)cause;
    }
    mr_summary(job, p, a);
}

static void mr_accept(struct mr_acc *a, double v, uint64_t key, int mean);

/* One match of pattern p: reduce its value (or keep its label), or refuse it with a cause. */
static void mr_sample(struct metrics_regex_job *job, const struct mr_pat *p, struct mr_acc *a,
                      const char *line, const PCRE2_SIZE *ov)
{
    const char *txt = NULL;
    size_t len = 0;
    /* The match's place in the log, then its pattern: two patterns feeding one accumulator (a
     * default and its alias) may match at one offset with different values, and which one is
     * "first" or "last" must not depend on the order a chunking visits them in. */
    size_t pi = (size_t)(p - job->inst->pats);
    uint64_t key = (job->cur_abs + ov[0]) * 4096 + (pi < 4095 ? pi : 4095);
    for (size_t i = 0; i < p->n_value; i++) {
        uint32_t g = p->value_groups[i];
        if (ov[2 * g] != PCRE2_UNSET) {
            txt = line + ov[2 * g];
            len = ov[2 * g + 1] - ov[2 * g];
            break;
        }
    }
    if (txt == NULL) {
        mr_refuse(job, p, a, MR_C_NAN, line + ov[0], ov[1] - ov[0], key);
        return;
    }
    if (p->label) {
        mr_summary(job, p, a);
        if (p->reducers[0] == MR_FIRST && a->n > 0)
            return;
        size_t keep = len < MR_LABEL_MAX ? len : MR_LABEL_MAX;
        memcpy(a->label, txt, keep);
        a->label[keep] = '\0';
        a->label_truncated = keep < len;
        a->last_key = key;
        a->n++;
        return;
    }
    /* A segment that text was written over (backspaces, cursor moves) shows something else
     * than its bytes say: no value of it is read. */
    if (job->region == NULL && job->rewritten) {
        mr_refuse(job, p, a, MR_C_REWRITTEN, txt, len, key);
        return;
    }
    double v = 0.0, unit = 1.0;
    /* A minus sign the regex left out of the capture, if it is not ASCII: never read as +. */
    if (mr_minus_before((const unsigned char *)line, (size_t)(txt - line)) != 0) {
        mr_refuse(job, p, a, MR_C_MINUS, txt - 3, len + 3, key);
        return;
    }
    int cause = mr_parse_number(job->inst->c_locale, txt, len, &v);
    if (cause != 0) {
        mr_refuse(job, p, a, (enum mr_cause)cause, txt, len, key);
        return;
    }
    for (size_t i = 0; i < p->n_unit; i++) {
        uint32_t g = p->unit_groups[i];
        if (ov[2 * g] == PCRE2_UNSET || ov[2 * g + 1] == ov[2 * g])
            continue;
        unit = mr_unit_factor(line[ov[2 * g]]);
        if (unit == 0.0) {
            mr_refuse(job, p, a, MR_C_UNIT, txt, ov[2 * g + 1] - (size_t)(txt - line), key);
            return;
        }
        break;
    }
    v *= unit;
    if (p->invert)
        v = 1.0 / v; /* 0 gives inf: refused below as not a finite number */
    v *= p->scale;
    if (!isfinite(v)) {
        mr_refuse(job, p, a, MR_C_NAN, txt, len, key);
        return;
    }
    if (p->has_range && !(v >= p->lo && v <= p->hi)) {
        mr_refuse(job, p, a, MR_C_RANGE, txt, len, key);
        return;
    }
    if (p->integer && v != (double)(long long)v) {
        mr_refuse(job, p, a, MR_C_INT, txt, len, key);
        return;
    }
    mr_summary(job, p, a);
    mr_accept(a, v, key, job->inst->pats[p->acc_id].mean);
}

/* Add an accepted value at log position key to accumulator a; its running mean only when a
 * reducer posts it (`mean`): the division is the costliest step of a sample. */
static void mr_accept(struct mr_acc *a, double v, uint64_t key, int mean)
{
    if (a->n == 0) {
        a->first = a->min = a->max = a->mean = a->last = v;
        a->first_key = a->last_key = key;
    } else {
        if (v < a->min)
            a->min = v;
        if (v > a->max)
            a->max = v;
        /* A running mean cannot overflow where a sum of large values would. */
        if (mean)
            a->mean += (v - a->mean) / (double)(a->n + 1);
        /* Two patterns may feed one accumulator (a default and its alias): order by position. */
        if (key >= a->last_key) {
            a->last = v;
            a->last_key = key;
        }
        if (key < a->first_key) {
            a->first = v;
            a->first_key = key;
        }
    }
    a->n++;
}

static int mr_pcre2(struct metrics_regex_job *job, const struct mr_pat *p, const char *line,
                    size_t len, PCRE2_SIZE from)
{
    return p->jit ? pcre2_jit_match(p->code, (PCRE2_SPTR)line, len, from, 0, job->md, job->mctx)
                  : pcre2_match(p->code, (PCRE2_SPTR)line, len, from, 0, job->md, job->mctx);
}

#if defined(MR_FAST_CHECK)
/* The first value group set in ov, and the first unit group set and not empty: what
 * mr_sample() reads of a match. */
static void mr_groups_read(const struct mr_pat *p, const PCRE2_SIZE *ov, PCRE2_SIZE out[4])
{
    out[0] = out[1] = out[2] = out[3] = PCRE2_UNSET;
    for (size_t i = 0; i < p->n_value && out[0] == PCRE2_UNSET; i++)
        if (ov[2 * p->value_groups[i]] != PCRE2_UNSET) {
            out[0] = ov[2 * p->value_groups[i]];
            out[1] = ov[2 * p->value_groups[i] + 1];
        }
    for (size_t i = 0; i < p->n_unit && out[2] == PCRE2_UNSET; i++) {
        uint32_t g = p->unit_groups[i];
        if (ov[2 * g] != PCRE2_UNSET && ov[2 * g + 1] != ov[2 * g]) {
            out[2] = ov[2 * g];
            out[3] = ov[2 * g + 1];
        }
    }
}

/* Test builds: PCRE2 must give what fast.c gave, or the process stops here. */
static void mr_fast_check(struct metrics_regex_job *job, const struct mr_pat *p, const char *line,
                          size_t len, PCRE2_SIZE from, const PCRE2_SIZE *fov)
{
    int rc = mr_pcre2(job, p, line, len, from);
    const PCRE2_SIZE *ov = pcre2_get_ovector_pointer(job->md);
    PCRE2_SIZE a[4], b[4];
    mr_groups_read(p, fov, a);
    if (rc > 0)
        mr_groups_read(p, ov, b);
    if (rc <= 0 || ov[0] != fov[0] || ov[1] != fov[1] || memcmp(a, b, sizeof a) != 0) {
        fprintf(stderr,
                "metrics_regex: fast.c and PCRE2 disagree on line \"%.*s\" from %zu: rc %d, "
                "match %zu..%zu vs %zu..%zu\n",
                (int)len, line, (size_t)from, rc, (size_t)fov[0], (size_t)fov[1],
                rc > 0 ? (size_t)ov[0] : 0, rc > 0 ? (size_t)ov[1] : 0);
        abort();
    }
}
#endif

/* fast.c's match of p on the line from `from` (hit: the first literal at or after it), as an
 * ovector (job->fast_ov), or NULL. */
static const PCRE2_SIZE *mr_fast_match(struct metrics_regex_job *job, const struct mr_pat *p,
                                       const char *line, size_t len, PCRE2_SIZE from,
                                       const char *hit)
{
    PCRE2_SIZE m[5], *ov = job->fast_ov;
    size_t at = (size_t)(hit - line);
    if (!(p->fast == MR_FAST_EVAL ? mr_fast_eval(line, len, from, at, m)
                                  : mr_fast_sps(line, len, from, at, m)))
        return NULL;
    ov[0] = m[0];
    ov[1] = m[1];
    ov[2 * p->value_groups[0]] = m[2];
    ov[2 * p->value_groups[0] + 1] = m[3];
    if (m[4] != SIZE_MAX) {
        ov[2 * p->unit_groups[0]] = m[4];
        ov[2 * p->unit_groups[0] + 1] = m[4] + 1;
    }
#if defined(MR_FAST_CHECK)
    mr_fast_check(job, p, line, len, from, ov);
#endif
    job->fast_hits++;
    return ov;
}

/* After mr_sample() read fast.c's match: unset its groups again; the offset to go on from. */
static PCRE2_SIZE mr_fast_done(struct metrics_regex_job *job, const struct mr_pat *p)
{
    PCRE2_SIZE *ov = job->fast_ov, next = ov[1];
    ov[2 * p->value_groups[0]] = ov[2 * p->value_groups[0] + 1] = PCRE2_UNSET;
    if (p->n_unit > 0)
        ov[2 * p->unit_groups[0]] = ov[2 * p->unit_groups[0] + 1] = PCRE2_UNSET;
    return next;
}

/*
 * Run pattern p over one line (no newline), taking every non-overlapping match like findall.
 * Every match holds the pattern's literal, so the search ends when no literal is left; and when
 * the bytes that can precede the literal in a match are known, it starts just before the next
 * literal. PCRE2 still sees the whole line, so \b and lookbehinds read the bytes before `from`.
 */
static void mr_match_line(struct metrics_regex_job *job, size_t pi, const char *line, size_t len,
                          const char *hit)
{
    const struct mr_pat *p = &job->inst->pats[pi];
    struct mr_acc *a = &job->acc[p->acc_id];
    PCRE2_SIZE off = 0;
    for (;;) {
        PCRE2_SIZE from = off;
        const char *o = NULL;
        if (p->lit.len > 0) {
            /* the scan's hit is the line's first literal; later ones are looked for here,
             * unless the fused pass showed there are none (job->sole_hit) */
            if (off == 0 && hit != NULL)
                o = hit;
            else if (!(job->sole_hit && hit != NULL && line + off > hit))
                o = mr_lit_find(&p->lit, line + off, len - off, job->inst->avx2);
            if (o == NULL)
                return;
            if (p->lead_known) {
                from = (PCRE2_SIZE)(o - line);
                while (from > off && (p->lead_set[(unsigned char)line[from - 1] >> 3] >>
                                          ((unsigned char)line[from - 1] & 7) &
                                      1))
                    from--;
                while (p->lead_token && from > off && !mr_is_space((unsigned char)line[from - 1]))
                    from--;
            }
        }
        /* the SPS matcher starts where the lead walk did; the eval one reads from `from` */
        if (p->fast && o != NULL && (p->lead_known || p->fast == MR_FAST_EVAL)) {
            const PCRE2_SIZE *fov = mr_fast_match(job, p, line, len, from, o);
            if (fov != NULL) {
                mr_sample(job, p, a, line, fov);
                off = mr_fast_done(job, p);
                if (off > len)
                    return;
                continue;
            }
        }
        int rc = mr_pcre2(job, p, line, len, from);
        if (rc == PCRE2_ERROR_NOMATCH)
            return;
        if (rc < 0) {
            /* A match or stack limit on a pathological line: count it, keep going. */
            if (job->match_errors++ == 0)
                job->first_match_error = rc;
            return;
        }
        const PCRE2_SIZE *ov = pcre2_get_ovector_pointer(job->md);
        mr_sample(job, p, a, line, ov);
        PCRE2_SIZE next = ov[1];
        if (ov[1] <= ov[0] || ov[1] <= from)
            next = (ov[1] > from ? ov[1] : from) + 1; /* empty match: step on one byte */
        if (next > len)
            return;
        off = next;
    }
}

/* Line [ls, le) for every pattern of g; hit: the line's first literal, or NULL. */
void mr_run_group_line(struct metrics_regex_job *job, const struct mr_group *g, const char *ls,
                       const char *le, const char *hit)
{
    job->cur_ls = ls;
    job->cur_abs =
        job->region != NULL ? job->region_abs + (uint64_t)(ls - job->region) : job->seg_abs;
    for (size_t i = 0; i < g->n; i++)
        mr_match_line(job, g->first + i, ls, (size_t)(le - ls), hit);
}

/* Run group g over the lines of [pos, end) that hold its literal (or over every line). */
void mr_scan_group(struct metrics_regex_job *job, const struct mr_group *g, const char *pos,
                   const char *end)
{
    while (pos < end) {
        const char *ls = pos, *le, *hit = NULL;
        if (g->lit.len > 0) {
            hit = mr_lit_find(&g->lit, pos, (size_t)(end - pos), job->inst->avx2);
            if (hit == NULL)
                return;
            const char *nl = memrchr(pos, '\n', (size_t)(hit - pos));
            ls = nl != NULL ? nl + 1 : pos;
            le = memchr(hit, '\n', (size_t)(end - hit));
        } else {
            le = memchr(pos, '\n', (size_t)(end - pos));
        }
        if (le == NULL)
            le = end;
        mr_run_group_line(job, g, ls, le, hit);
        pos = le == end ? end : le + 1;
    }
}

/*
 * Scan [p, p+n): whole lines, p at a line start; the last line may lack its newline (the carry
 * or the log's unterminated end). No line here is longer than max_line. One fused pass for
 * every literal group, or one pass per literal group.
 */
static void mr_scan(struct metrics_regex_job *job, const char *p, size_t n)
{
#if defined(MR_HAVE_AVX2)
    if (job->inst->fuse.on && n > 0) {
        uint64_t nl;
        mr_scan_fused(job, p, n, 0, &nl); /* [p, p+n) holds no byte the careful path reads */
        return;
    }
#endif
    for (size_t gi = 0; gi < job->inst->n_groups; gi++)
        mr_scan_group(job, &job->inst->groups[gi], p, p + n);
}

/* Lines [p, p+n), ending with a newline: skip (and count) those longer than max_line. */
void mr_scan_complete(struct metrics_regex_job *job, const char *p, size_t n)
{
    size_t max = job->inst->max_line;
    while (n > 0) {
        if (n <= max + 1) {
            mr_scan(job, p, n);
            return;
        }
        /* The last newline in the next max+1 bytes; none means the line at p is too long. */
        const char *w = memrchr(p, '\n', max + 1);
        if (w == NULL) {
            const char *e = memchr(p + max + 1, '\n', n - max - 1); /* n ends with one */
            job->long_lines++;
            n -= (size_t)(e + 1 - p);
            p = e + 1;
            continue;
        }
        size_t k = (size_t)(w + 1 - p);
        mr_scan(job, p, k);
        p += k;
        n -= k;
    }
}

/* One segment (no \r or \n in it, escape sequences removed) from the carry, for every group. */
void mr_scan_segment(struct metrics_regex_job *job, const char *p, size_t n)
{
    if (p == NULL)
        p = ""; /* an empty segment before any carry exists: NULL + 0 is undefined in C */
    job->region = NULL;
    for (size_t gi = 0; gi < job->inst->n_groups; gi++) {
        const struct mr_group *g = &job->inst->groups[gi];
        const char *hit = NULL;
        if (g->lit.len > 0 && (hit = mr_lit_find(&g->lit, p, n, job->inst->avx2)) == NULL)
            continue;
        mr_run_group_line(job, g, p, p + n, hit);
    }
}
