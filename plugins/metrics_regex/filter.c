/* SPDX-License-Identifier: MIT */
/*
 * metrics_regex's byte filter: what the patterns see of the log. The host feeds the log as it
 * grows, cut anywhere; complete lines free of ESC and \r are scanned straight out of the host's
 * buffer (the fast path), and everything else goes through a byte state machine that removes
 * terminal escape sequences, ends a segment at each \r and \n, and keeps the unfinished segment
 * in a carry buffer that never grows past max_line (a longer segment is skipped and counted).
 * Its state lives in the job, so a sequence or a line cut between chunks reads the same.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../common/pl_host.h"
#include "metrics_regex_int.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#if defined(MR_HAVE_AVX2)
#include <immintrin.h>
#endif

static int mr_carry_append(struct metrics_regex_job *job, const char *s, size_t n)
{
    size_t need = job->carry_len + n; /* callers keep need <= max_line */
    if (need > job->carry_cap) {
        size_t cap = job->carry_cap ? job->carry_cap * 2 : 4096;
        if (cap < need)
            cap = need;
        if (cap > job->inst->max_line)
            cap = job->inst->max_line;
        char *c = realloc(job->carry, cap);
        if (c == NULL)
            return RELHOST_ENOMEM;
        job->carry = c;
        job->carry_cap = cap;
    }
    memcpy(job->carry + job->carry_len, s, n);
    job->carry_len += n;
    return 0;
}

#if defined(MR_HAVE_AVX2)
/* The AVX2 form of the loop below: 64 bytes a step, newlines counted with popcnt (every CPU
 * with AVX2 has it). Stops at the first 64-byte block holding an ESC or a \r (or too short). */
__attribute__((target("avx2,popcnt"))) static size_t mr_plain_prefix_avx2(const char *p, size_t n,
                                                                          uint64_t *nl)
{
    const __m256i vnl = _mm256_set1_epi8('\n'), vesc = _mm256_set1_epi8(0x1b);
    const __m256i vcr = _mm256_set1_epi8('\r');
    size_t i = 0;
    uint64_t c = 0;
    for (; i + 64 <= n; i += 64) {
        __m256i x = _mm256_loadu_si256((const void *)(p + i));
        __m256i y = _mm256_loadu_si256((const void *)(p + i + 32));
        __m256i sp =
            _mm256_or_si256(_mm256_or_si256(_mm256_cmpeq_epi8(x, vesc), _mm256_cmpeq_epi8(x, vcr)),
                            _mm256_or_si256(_mm256_cmpeq_epi8(y, vesc), _mm256_cmpeq_epi8(y, vcr)));
        if (!_mm256_testz_si256(sp, sp))
            break;
        uint64_t bits = (uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(x, vnl)) |
                        (uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(y, vnl)) << 32;
        c += (uint64_t)__builtin_popcountll(bits);
    }
    *nl = c;
    return i;
}
#endif

/*
 * Length of the prefix of [p, p+n) holding no ESC and no \r (bytes the fast path cannot take),
 * and in *nl the newlines in it.
 */
static size_t mr_plain_prefix(const char *p, size_t n, uint64_t *nl, int avx2)
{
    size_t i = 0;
    uint64_t c = 0;
#if defined(MR_HAVE_AVX2)
    if (avx2) {
        i = mr_plain_prefix_avx2(p, n, &c);
        p += i;
        n -= i;
    }
    size_t done = i;
    i = 0;
#else
    (void)avx2;
    const size_t done = 0;
#endif
#if defined(__SSE2__)
    /* Newlines are summed in byte lanes (each lane gains at most 2 per step, flushed every 127
     * steps), not with a popcount per block: no popcnt instruction is assumed. */
    const __m128i vnl = _mm_set1_epi8('\n'), vesc = _mm_set1_epi8(0x1b), vcr = _mm_set1_epi8('\r');
    const __m128i zero = _mm_setzero_si128();
    __m128i acc = zero;
    unsigned steps = 0;
    for (; i + 32 <= n; i += 32) {
        __m128i x = _mm_loadu_si128((const __m128i *)(p + i));
        __m128i y = _mm_loadu_si128((const __m128i *)(p + i + 16));
        __m128i sp = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, vesc), _mm_cmpeq_epi8(x, vcr)),
                                  _mm_or_si128(_mm_cmpeq_epi8(y, vesc), _mm_cmpeq_epi8(y, vcr)));
        if (_mm_movemask_epi8(sp) != 0)
            break; /* the scalar loop finds it and counts this block's newlines */
        acc = _mm_sub_epi8(acc, _mm_cmpeq_epi8(x, vnl));
        acc = _mm_sub_epi8(acc, _mm_cmpeq_epi8(y, vnl));
        if (++steps == 127) {
            __m128i sum = _mm_sad_epu8(acc, zero);
            c += (uint64_t)_mm_cvtsi128_si32(sum) + (uint64_t)_mm_extract_epi16(sum, 4);
            acc = zero;
            steps = 0;
        }
    }
    __m128i sum = _mm_sad_epu8(acc, zero);
    c += (uint64_t)_mm_cvtsi128_si32(sum) + (uint64_t)_mm_extract_epi16(sum, 4);
#endif
    for (; i < n; i++) {
        if (p[i] == 0x1b || p[i] == '\r')
            break;
        c += p[i] == '\n';
    }
    *nl = c;
    return done + i;
}

/* End the carried segment at a \r or \n: match it unless it was too long. */
static void mr_end_segment(struct metrics_regex_job *job)
{
    if (!job->skipping)
        mr_scan_segment(job, job->carry, job->carry_len);
    job->carry_len = 0;
    job->skipping = 0;
}

/*
 * The careful path, a byte state machine: removes terminal escape sequences (CSI, OSC/DCS/SOS/
 * PM/APC strings ended by BEL or ST, two-byte and charset sequences), ends a segment at each \r
 * and \n, and keeps the segment in the carry (at most max_line bytes, else it is skipped). The
 * state lives in the job, so a sequence cut between chunks is removed all the same. Returns the
 * bytes consumed: up to and including the first \n (then the fast path takes over), or all.
 */
static int mr_slow(struct metrics_regex_job *job, const char *buf, size_t len, size_t *used)
{
    size_t max = job->inst->max_line, i = 0;
    uint64_t base = job->abs;
    while (i < len) {
        unsigned char c = (unsigned char)buf[i];
        if (c == '\n' || c == '\r') {
            /* Ends any sequence: an unterminated one never eats the rest of the log. */
            job->esc = MR_GROUND;
            if (!(c == '\n' && job->prev_cr && job->carry_len == 0 && !job->skipping))
                mr_end_segment(job);
            job->prev_cr = c == '\r';
            i++;
            job->seg_abs = base + i;
            if (c == '\n') {
                job->line++;
                job->slow = 0;
                break;
            }
            continue;
        }
        job->prev_cr = 0;
        if (job->skipping) {
            while (i < len && buf[i] != '\n' && buf[i] != '\r')
                i++;
            continue;
        }
        switch (job->esc) {
        case MR_GROUND: {
            if (c == 0x1b) {
                job->esc = MR_ESC;
                i++;
                break;
            }
            size_t j = i + 1;
            while (j < len && buf[j] != '\n' && buf[j] != '\r' && buf[j] != 0x1b)
                j++;
            if (job->carry_len + (j - i) > max) {
                job->long_lines++;
                job->skipping = 1;
                job->carry_len = 0;
            } else if (mr_carry_append(job, buf + i, j - i) != 0) {
                *used = i;
                job->abs = base + i;
                return RELHOST_ENOMEM;
            }
            i = j;
            break;
        }
        case MR_ESC:
            if (c == '[')
                job->esc = MR_CSI;
            else if (c == ']' || c == 'P' || c == 'X' || c == '^' || c == '_')
                job->esc = MR_STR;
            else if (c >= 0x20 && c <= 0x2f)
                job->esc = MR_INTER;
            else if (c != 0x1b)
                job->esc = MR_GROUND; /* a two-byte sequence, or garbage: dropped */
            i++;
            break;
        case MR_CSI:
        case MR_INTER:
            /* CSI parameters run to 0x3f, intermediates to 0x2f; past them comes the final
             * byte, or an invalid one: dropped, with the sequence */
            if (c == 0x1b)
                job->esc = MR_ESC;
            else if (c < 0x20 || c > (job->esc == MR_CSI ? 0x3f : 0x2f))
                job->esc = MR_GROUND;
            i++;
            break;
        case MR_STR:
            if (c == 0x07)
                job->esc = MR_GROUND;
            else if (c == 0x1b)
                job->esc = MR_STR_ESC;
            i++;
            break;
        case MR_STR_ESC:
            if (c == '\\') {
                job->esc = MR_GROUND;
                i++;
            } else {
                job->esc = MR_ESC; /* not ST: this ESC starts a new sequence */
            }
            break;
        }
    }
    *used = i;
    job->abs = base + i;
    return 0;
}

int metrics_regex_feed(const relhost_ctx *ctx, void *jobp, const char *buf, size_t len)
{
    struct metrics_regex_job *job = jobp;

    while (len > 0) {
        if (job->slow) {
            size_t used = 0;
            if (mr_slow(job, buf, len, &used) != 0)
                goto oom;
            buf += used;
            len -= used;
            continue;
        }
        /* At a line start with nothing carried: whole lines free of ESC and \r are matched
         * straight out of the host's buffer. */
        uint64_t nl = 0;
        size_t q = mr_plain_prefix(buf, len, &nl, job->inst->avx2);
        const char *last = q > 0 ? memrchr(buf, '\n', q) : NULL;
        size_t whole = last != NULL ? (size_t)(last + 1 - buf) : 0;
        if (whole > 0) {
            job->region = buf;
            job->region_abs = job->abs;
            job->count_ptr = NULL;
            mr_scan_complete(job, buf, whole);
            job->region = NULL;
            job->line += nl;
            job->abs += whole;
            buf += whole;
            len -= whole;
        }
        if (len > 0) {
            job->slow = 1;
            job->seg_abs = job->abs;
        }
    }
    return 0;
oom:
    pl_host->fail(ctx, "out of memory keeping a partial log line (%zu bytes)", job->carry_len);
    return RELHOST_ENOMEM;
}
