/* SPDX-License-Identifier: MIT */
/*
 * metrics_regex's byte filter: what the patterns see of the log. The host feeds the log as it
 * grows, cut anywhere; complete lines free of ESC, \r, backspaces and 0x9B/0x9D (8-bit CSI/OSC)
 * are scanned straight out of the host's buffer (the fast path), and everything else goes
 * through a byte state machine that removes terminal escape sequences (7- and 8-bit), ends a
 * segment at each \r and \n and at cursor moves that start the line afresh, marks a segment
 * whose text was written over (its values are refused), and keeps the unfinished segment
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
    const __m256i vnl = _mm256_set1_epi8('\n'), nib = _mm256_set1_epi8(0x0f);
    size_t i = 0;
    uint64_t c = 0;
    for (; i + 64 <= n; i += 64) {
        __m256i x = _mm256_loadu_si256((const void *)(p + i));
        __m256i y = _mm256_loadu_si256((const void *)(p + i + 32));
        __m256i sp =
            _mm256_or_si256(mr_special_nibbles(_mm256_and_si256(x, nib),
                                               _mm256_and_si256(_mm256_srli_epi16(x, 4), nib)),
                            mr_special_nibbles(_mm256_and_si256(y, nib),
                                               _mm256_and_si256(_mm256_srli_epi16(y, 4), nib)));
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
 * Length of the prefix of [p, p+n) holding none of the bytes the fast path cannot take,
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
    const __m128i vbs = _mm_set1_epi8('\b'), v7f = _mm_set1_epi8(0x7f),
                  v9d = _mm_set1_epi8((char)0x9d);
    const __m128i zero = _mm_setzero_si128();
    __m128i acc = zero;
    unsigned steps = 0;
    for (; i + 32 <= n; i += 32) {
        __m128i x = _mm_loadu_si128((const __m128i *)(p + i));
        __m128i y = _mm_loadu_si128((const __m128i *)(p + i + 16));
        /* (b & 0x7f) == 0x1b: ESC or 0x9B */
        __m128i sx = _mm_or_si128(
            _mm_or_si128(_mm_cmpeq_epi8(_mm_and_si128(x, v7f), vesc), _mm_cmpeq_epi8(x, vcr)),
            _mm_or_si128(_mm_cmpeq_epi8(x, vbs), _mm_cmpeq_epi8(x, v9d)));
        __m128i sy = _mm_or_si128(
            _mm_or_si128(_mm_cmpeq_epi8(_mm_and_si128(y, v7f), vesc), _mm_cmpeq_epi8(y, vcr)),
            _mm_or_si128(_mm_cmpeq_epi8(y, vbs), _mm_cmpeq_epi8(y, v9d)));
        __m128i sp = _mm_or_si128(sx, sy);
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
        if (mr_special((unsigned char)p[i]))
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
    job->back = 0;
    job->rewritten = 0;
}

/* Whether a continuation byte (0x80-0xBF) c after the carried text continues a valid UTF-8
 * sequence there; if not, it stands alone (a C1 control such as 8-bit CSI 0x9B). */
static int mr_utf8_continues(const struct metrics_regex_job *job, unsigned char c)
{
    const unsigned char *s = (const unsigned char *)job->carry;
    size_t n = job->carry_len, k = 0;
    while (k < 3 && k < n && (s[n - 1 - k] & 0xc0) == 0x80)
        k++;
    if (k == n)
        return 0;
    unsigned char l = s[n - 1 - k];
    size_t need = l >= 0xc2 && l <= 0xdf   ? 1
                  : l >= 0xe0 && l <= 0xef ? 2
                  : l >= 0xf0 && l <= 0xf4 ? 3
                                           : 0;
    if (k >= need)
        return 0;
    unsigned char second = k == 0 ? c : s[n - k];
    if ((l == 0xe0 && second < 0xa0) || (l == 0xed && second > 0x9f) ||
        (l == 0xf0 && second < 0x90) || (l == 0xf4 && second > 0x8f))
        return 0; /* overlong, surrogate or past U+10FFFF: not a valid sequence */
    return 1;
}

/* The final byte c of a CSI sequence: cursor moves that start the line afresh end the segment
 * as a \r does (erase line, cursor to column 1, cursor to a row); moves to the left make the
 * next text write over the segment's own (see job->back). */
static void mr_csi_final(struct metrics_regex_job *job, unsigned char c, uint64_t next_abs)
{
    unsigned n = job->csi_arg;
    if (job->csi_priv & 1)
        return;
    switch (c) {
    case 'K': /* erase to the line's start (1) or the whole line (2) */
    case 'J': /* erase the screen */
        if ((c == 'K' && (n == 1 || n == 2)) || (c == 'J' && (n == 2 || n == 3)))
            break;
        return;
    case 'G': /* cursor to column n */
    case '`':
        if (n > 1) {
            if (n - 1 < job->carry_len)
                job->back = job->carry_len - (n - 1);
            return;
        }
        break;
    case 'D': /* cursor left */
        job->back += n > 0 ? n : 1;
        if (job->back > job->carry_len)
            job->back = job->carry_len;
        return;
    case 'C': /* cursor right */
        job->back -= job->back < (n > 0 ? n : 1) ? job->back : (n > 0 ? n : 1);
        return;
    case 'H': /* cursor to a row and column, up, down, to the next or previous line, to a row */
    case 'f':
    case 'A':
    case 'B':
    case 'E':
    case 'F':
    case 'd': break;
    default: return;
    }
    mr_end_segment(job);
    job->seg_abs = next_abs;
}

/* Whether byte c inside an OSC/DCS... string is the 8-bit string terminator ST: 0x9C alone or
 * as U+009C (0xC2 0x9C), not inside another UTF-8 character (a title may hold any). */
static int mr_str_st(struct metrics_regex_job *job, unsigned char c)
{
    int st = c == 0x9c && (job->str_need == 0 || job->str_prev == 0xc2);
    if (job->str_need > 0 && (c & 0xc0) == 0x80)
        job->str_need--;
    else
        job->str_need = c >= 0xc2 && c <= 0xdf   ? 1
                        : c >= 0xe0 && c <= 0xef ? 2
                        : c >= 0xf0 && c <= 0xf4 ? 3
                                                 : 0;
    job->str_prev = c;
    return st;
}

/* A parameter or intermediate byte c of a CSI sequence: keep its first number. */
static void mr_csi_param(struct metrics_regex_job *job, unsigned char c)
{
    if (c >= '0' && c <= '9') {
        if (job->csi_arg < 100000 && !(job->csi_priv & 2))
            job->csi_arg = job->csi_arg * 10 + (unsigned)(c - '0');
    } else if (c == ';' || c == ':') {
        job->csi_priv |= 2; /* a later parameter: the first one is complete */
    } else {
        job->csi_priv |= 1; /* ? < = > or an intermediate byte */
    }
}

/* Byte c (0x9B or 0x9D) in the text: the UTF-8 form of U+009B / U+009D (after 0xC2) or a lone
 * byte is 8-bit CSI / OSC and starts a sequence (returns 1); inside a valid UTF-8 sequence it
 * is text (returns 0). */
static int mr_c1(struct metrics_regex_job *job, unsigned char c)
{
    if (job->carry_len > 0 && (unsigned char)job->carry[job->carry_len - 1] == 0xc2)
        job->carry_len--; /* U+009B / U+009D: the 0xC2 belongs to the control */
    else if (mr_utf8_continues(job, c))
        return 0;
    if (job->back > job->carry_len)
        job->back = job->carry_len;
    job->esc = c == 0x9b ? MR_CSI : MR_STR;
    job->csi_arg = 0;
    job->csi_priv = 0;
    job->str_need = 0;
    job->str_prev = 0;
    return 1;
}

/* Byte buf[*ip] of the text (no sequence being removed): a run of text into the carry, or the
 * control that starts a sequence or moves the cursor. */
static int mr_ground(struct metrics_regex_job *job, const char *buf, size_t len, size_t *ip)
{
    size_t i = *ip;
    unsigned char c = (unsigned char)buf[i];
    *ip = i + 1;
    if (c == 0x1b) {
        job->esc = MR_ESC;
        return 0;
    }
    if (c == '\b') { /* the cursor one column left: the next text writes over */
        job->back += job->back < job->carry_len;
        return 0;
    }
    if ((c == 0x9b || c == 0x9d) && mr_c1(job, c))
        return 0;
    size_t j = i + 1;
    while (j < len && !mr_special((unsigned char)buf[j]) && buf[j] != '\n')
        j++;
    if (job->back > 0) { /* text over the segment's own text */
        job->rewritten = 1;
        job->back = 0;
    }
    if (job->carry_len + (j - i) > job->inst->max_line) {
        job->long_lines++;
        job->skipping = 1;
        job->carry_len = 0;
    } else if (mr_carry_append(job, buf + i, j - i) != 0) {
        *ip = i;
        return RELHOST_ENOMEM;
    }
    *ip = j;
    return 0;
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
    size_t i = 0;
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
        case MR_GROUND:
            if (mr_ground(job, buf, len, &i) != 0) {
                *used = i;
                job->abs = base + i;
                return RELHOST_ENOMEM;
            }
            break;
        case MR_ESC:
            job->csi_arg = 0;
            job->csi_priv = 0;
            job->str_need = 0;
            job->str_prev = 0;
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
            if (c == 0x1b) {
                job->esc = MR_ESC;
            } else if (c < 0x20 || c > (job->esc == MR_CSI ? 0x3f : 0x2f)) {
                if (job->esc == MR_CSI && c >= 0x40 && c <= 0x7e)
                    mr_csi_final(job, c, base + i + 1);
                job->esc = MR_GROUND;
            } else if (job->esc == MR_CSI) {
                mr_csi_param(job, c);
            }
            i++;
            break;
        case MR_STR:
            if (c == 0x07 || mr_str_st(job, c))
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

/*
 * At a line start with nothing carried: match the whole lines at the start of [buf, buf+len)
 * that hold no byte only the careful path reads (mr_special), straight out of the host's
 * buffer; returns the bytes taken. With the fused pass, one pass over the bytes finds both the
 * candidates and where those lines end; else a first pass finds where they end.
 */
static size_t mr_fast_lines(struct metrics_regex_job *job, const char *buf, size_t len)
{
    job->region = buf;
    job->region_abs = job->abs;
    job->count_ptr = NULL;
#if defined(MR_HAVE_AVX2)
    if (job->inst->fuse.on) {
        const char *last = memrchr(buf, '\n', len);
        size_t whole = last != NULL ? (size_t)(last + 1 - buf) : 0;
        if (whole > 0 && whole <= job->inst->max_line + 1) { /* no line here is too long */
            uint64_t nl = 0;
            size_t used = mr_scan_fused(job, buf, whole, 1, &nl);
            job->region = NULL;
            job->line += nl;
            job->abs += used;
            return used;
        }
    }
#endif
    uint64_t nl = 0;
    size_t q = mr_plain_prefix(buf, len, &nl, job->inst->avx2);
    const char *last = q > 0 ? memrchr(buf, '\n', q) : NULL;
    size_t whole = last != NULL ? (size_t)(last + 1 - buf) : 0;
    if (whole > 0) {
        mr_scan_complete(job, buf, whole);
        job->line += nl;
        job->abs += whole;
    }
    job->region = NULL;
    return whole;
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
        size_t used = mr_fast_lines(job, buf, len);
        buf += used;
        len -= used;
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
