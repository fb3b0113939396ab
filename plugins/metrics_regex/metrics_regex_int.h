/* SPDX-License-Identifier: MIT */
/*
 * metrics_regex's private header: the structs its files share. Not installed, not part of the
 * plugin ABI; only relhost_plugin_entry (../common/pl_host.c) leaves the .so.
 *
 * The plugin reads a job's log as the host feeds it, in constant memory. One job per file:
 *   filter.c         the byte filter: terminal escape sequences removed, \r and \n end a
 *                    segment, the unfinished segment carried between feed() calls (max_line)
 *   scan.c           the scan: the pattern groups' literals found over the chunk (SIMD), their
 *                    lines matched with PCRE2, every match reduced into its accumulator
 *   fuse.c           the fused pass (AVX2): every literal group's candidates, the bytes only
 *                    filter.c's careful path reads, and the newlines, in one load of each byte
 *   fast.c           hand matchers for the default SPS and eval patterns' common forms, answering as
 *                    PCRE2 would or not at all (tests check each answer against PCRE2)
 *   number.c         the one number grammar: sign, thousands, fraction, exponent, %, units
 *   compile.c        open()'s work on each pattern: PCRE2 compile, value/unit groups, reducers
 *                    and keys, the prefilter literal (given or derived), grouping by literal,
 *                    the fused prefilter's tables
 *   presets.c        the default patterns and the format presets (static tables, no code)
 *   metrics_regex.c  the plugin: option table, open/close, jobs, collect, keys, descriptor
 */
#ifndef METRICS_REGEX_INT_H
#define METRICS_REGEX_INT_H

#ifndef PCRE2_CODE_UNIT_WIDTH
#define PCRE2_CODE_UNIT_WIDTH 8
#endif

#include <locale.h>
#include <pcre2.h>
#include <relhost/plugin.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__x86_64__) && defined(__GNUC__)
#define MR_HAVE_AVX2 1 /* built with an AVX2 path, taken when the CPU has it (inst->avx2) */
#endif

/* ---- Configuration (filled by the host from metrics_regex_options) --------------------------- */

/** One row of `patterns = ( {...}, ... )`. */
struct metrics_regex_pattern {
    const char *name;
    const char *regex;
    relhost_strlist reducers;
    const char *metric;
    double scale;
    int case_insensitive;
    const char *prefilter;
    int label;
};

struct metrics_regex_conf {
    int defaults;
    relhost_list patterns;
    uint64_t max_line;
    relhost_strlist presets;
};

/* "max", "min", ... in enum mr_reducer order, NULL-terminated (metrics_regex.c). */
extern const char *const metrics_regex_reducer_names[];

/* Row i of conf->patterns. */
const struct metrics_regex_pattern *mr_row(const struct metrics_regex_conf *conf, size_t i);

/* ---- Default patterns and presets (presets.c) ------------------------------------------------ */

struct mr_default {
    const char *name;
    const char *regex;
    const char *metric;
    const char *prefilter;
    const char *lead; /* every byte that can come before the prefilter inside a match */
    const char *reducers[3];
    int label;
    int case_sensitive; /* the [SUMMARY] markers are matched exactly as the trainer writes them */
    int alias;          /* more forms of the previous default of the same name: one accumulator */
    double lo, hi;      /* valid range: a value outside is refused, never clamped */
    int integer;        /* a whole number */
    int summary;        /* 1 + field of a [SUMMARY] block (1 exit code, 2 reason, 3 restarts) */
    int fast;           /* MR_FAST_SPS or MR_FAST_EVAL: fast.c matches its common forms */
};

struct mr_preset_row {
    const char *name;   /* pattern name: posts <name>_<reducer>, or metric */
    const char *regex;  /* case-sensitive: these trainers print fixed text */
    const char *metric; /* one exact key, with one reducer */
    const char *prefilter;
    const char *reducers[3];
    double lo, hi;      /* valid range: outside it a value is refused, never clamped */
    int integer;        /* a whole number */
    int alias;          /* more forms of the previous row of the same name: one accumulator */
    int invert;         /* the text is the reciprocal (tqdm's s/it): the value is 1/x */
    const char *counts; /* what the number counts */
};

struct mr_preset {
    const char *name;
    const char *where; /* for messages: preset "name" */
    const char *reads; /* what output it reads */
    const struct mr_preset_row *rows;
    size_t n;
};

extern const struct mr_default metrics_regex_defaults[];
extern const size_t mr_n_defaults;
#define MR_N_DEFAULTS mr_n_defaults
extern const struct mr_preset metrics_regex_presets[];
extern const size_t mr_n_presets;
#define MR_N_PRESETS mr_n_presets

/* The preset called name, or NULL. */
const struct mr_preset *mr_preset_find(const char *name);

/* ---- Instance and job state ------------------------------------------------------------------ */

enum mr_reducer { MR_MAX, MR_MIN, MR_LAST, MR_FIRST, MR_MEAN, MR_COUNT, MR_N_REDUCERS };

#define MR_LIT_MAX 64    /* bytes of a prefilter literal that are used */
#define MR_LABEL_MAX 256 /* bytes of a label value kept */
#define MR_EXAMPLE_MAX 40
#define MR_MAX_GROUPS 32 /* value/unit groups per regex that we look at */

/** A case-folded literal and the two positions the vector filter compares first. */
struct mr_lit {
    unsigned char fold[MR_LIT_MAX]; /* letters lower-cased */
    unsigned char mask[MR_LIT_MAX]; /* 0x20 on letters: (byte | mask) == fold matches both cases */
    size_t len;                     /* 0: no prefilter, every line is a candidate */
    size_t i1, i2;                  /* the two rarest positions */
};

struct mr_pat {
    const char *name; /* borrowed from conf or the defaults table */
    const char *regex;
    const void *where_field; /* &row->regex in the host's conf, or NULL for a default */
    pcre2_code *code;
    int jit;
    uint32_t value_groups[MR_MAX_GROUPS];
    size_t n_value;
    uint32_t unit_groups[MR_MAX_GROUPS];
    size_t n_unit;
    double scale;
    int label;
    enum mr_reducer reducers[MR_N_REDUCERS];
    char *keys[MR_N_REDUCERS]; /* metric (or label) names posted, owned */
    size_t n_out;
    struct mr_lit lit;
    /* Known: only bytes in lead_set stand between a match's start and the first literal it
     * holds, so a search may start at the first literal minus such bytes instead of at the
     * line's start (the many numbers before "SPS:" on a metric line are never tried). */
    int lead_known;
    uint8_t lead_set[32];
    /* After the lead_set bytes, a token of any non-space bytes may also come first (the value
     * of "nan ksps"): the search starts before it too. */
    int lead_token;
    int has_range, integer; /* a default's valid range and whole-number rule */
    double lo, hi;
    int summary;            /* 1 + field of a [SUMMARY] block, 0 for other patterns */
    int alias;              /* feeds the accumulator of pattern acc_id and posts nothing itself */
    int invert;             /* a preset's reciprocal form (tqdm's s/it): the value is 1/x */
    const char *where_text; /* "preset sb3" etc. for a preset's pattern, else NULL */
    size_t acc_id;          /* index of the accumulator in job->acc */
    int mean;               /* that accumulator's owner posts a mean: keep it */
    int fast; /* MR_FAST_SPS, MR_FAST_EVAL (the default patterns): fast.c answers for their
               * common forms; 0: PCRE2 only */
};

/** Patterns sharing one prefilter literal: one search of the chunk serves them all. */
struct mr_group {
    struct mr_lit lit;
    size_t first; /* patterns are sorted so that a group is a run of them */
    size_t n;
};

#define MR_FUSE_MAX 8       /* literal groups one fused prefilter pass serves */
#define MR_FUSE_WINDOW 4096 /* bytes the fused pass looks at before their candidates are read */

/*
 * The fused prefilter (fuse.c): one pass over the lines to scan finds the candidates of
 * every literal group at once, Teddy-style (as ripgrep's aho-corasick does): each group has a
 * fingerprint, the three adjacent bytes of its literal that are rarest in logs, and nibble
 * tables say which groups' fingerprints three bytes could be. The candidates are
 * then verified against the whole literal, so each group finds exactly the hits mr_lit_find()
 * would.
 */
struct mr_fuse {
    int on;                       /* AVX2, and 1..MR_FUSE_MAX literal groups */
    size_t n;                     /* the literal groups, groups[0..n) (they are sorted first) */
    size_t k[MR_FUSE_MAX];        /* where group i's fingerprint starts in its literal */
    uint8_t lo[3][16], hi[3][16]; /* bit i: a low/high nibble of group i's j-th fingerprint byte */
    uint8_t gmask;                /* the bits of groups 0..n) */
    /* At most MR_FUSE_PACKED groups: the tables' top bits also say, for the first byte of
     * three, whether it is a newline (MR_FUSE_NL) or a byte the pass stops before
     * (MR_FUSE_STOP: ESC, \r, \b, 0x9B, 0x9D, and 0x1D, which shares ESC's nibble classes). */
    int packed;
    /* Packed, and the CPU has AVX-512BW: the pass reads 64 bytes a step (fuse.c). */
    int avx512;
};

#define MR_FUSE_PACKED 5
#define MR_FUSE_NL_BIT 5
#define MR_FUSE_NL (1u << MR_FUSE_NL_BIT)
#define MR_FUSE_STOP 0xc0u /* bit 6: 0x1B 0x1D 0x9B 0x9D; bit 7: 0x08 0x0D */

struct metrics_regex {
    const void *conf;    /* the host's, valid until close */
    struct mr_pat *pats; /* n_pats, sorted by group */
    size_t n_pats;
    struct mr_group *groups;
    size_t n_groups;
    uint32_t max_pairs; /* ovector pairs the largest pattern needs */
    size_t max_line;
    locale_t c_locale; /* numbers are read the same whatever LC_NUMERIC the host runs with */
    int avx2;          /* the CPU has AVX2: the prefilter compares 32 bytes at a time */
    int avx512;        /* and AVX-512BW: the fused pass reads 64 bytes at a time */
    struct mr_fuse fuse;
};

/* Why a matched value was refused. */
enum mr_cause {
    MR_C_NAN = 1,
    MR_C_MINUS,
    MR_C_RANGE,
    MR_C_INT,
    MR_C_LONG,
    MR_C_UNIT,
    MR_C_REWRITTEN, /* on a segment that backspaces or cursor moves wrote over */
    MR_N_CAUSES
};

#define MR_NUM_MAX 100 /* longest number text read, in bytes */

struct mr_acc {
    uint64_t n;
    double mean, min, max, first, last;
    uint64_t first_key, last_key; /* log positions of the first and last accepted values */
    uint64_t bad[MR_N_CAUSES];    /* refused values, per cause */
    uint64_t bad_line[MR_N_CAUSES];
    uint64_t bad_key[MR_N_CAUSES]; /* position of the first refused value, per cause */
    char bad_example[MR_N_CAUSES][MR_EXAMPLE_MAX + 1];
    uint64_t n_bad, last_bad_key, last_bad_line; /* the last refused value */
    int last_bad_cause;
    uint64_t block; /* [SUMMARY] block of the last value, accepted or refused */
    int has_block;
    char label[MR_LABEL_MAX + 1];
    int label_truncated;
};

/* Where a terminal escape sequence being removed stands. */
enum mr_esc { MR_GROUND, MR_ESC, MR_CSI, MR_INTER, MR_STR, MR_STR_ESC };

struct metrics_regex_job {
    struct metrics_regex *inst;
    pcre2_match_data *md;
    pcre2_match_context *mctx;
    pcre2_jit_stack *jit_stack;
    char *carry; /* the unfinished segment, escape sequences removed, at most max_line bytes */
    size_t carry_len, carry_cap;
    int skipping; /* inside a segment longer than max_line: drop bytes up to its \r or \n */
    int slow;     /* bytes go through mr_slow() until the next newline */
    int prev_cr;  /* the last byte was a \r: a \n right after ends no second segment */
    enum mr_esc esc;
    unsigned csi_arg;  /* the first parameter of the CSI sequence being removed (capped) */
    int csi_priv;      /* 1: a private marker (ESC[?25l), no cursor meaning; 2: past the first */
    unsigned str_need; /* continuation bytes a UTF-8 character in an OSC... string lacks */
    unsigned char str_prev; /* the string's previous byte */
    size_t back;            /* columns the cursor stands left of the segment's end (\b, ESC[nD) */
    int rewritten;    /* text was written over the segment's own text: its values are refused */
    uint64_t abs;     /* log offset of the next byte fed */
    uint64_t seg_abs; /* log offset where the carried segment started */
    uint64_t line;    /* newlines before the current region or segment */
    /* The lines being matched: from the host's buffer (region != NULL, line numbers counted on
     * demand from it) or the carry (region == NULL). */
    const char *region, *count_ptr;
    uint64_t region_abs, count_lines;
    const char *cur_ls;         /* start of the line being matched */
    uint64_t cur_abs;           /* its log offset */
    uint64_t block, block_line; /* the current [SUMMARY] block and the line it starts on */
    unsigned block_seen;
    uint64_t long_lines;
    uint64_t match_errors;
    int first_match_error;
    struct mr_acc *acc;  /* one per pattern */
    PCRE2_SIZE *fast_ov; /* max_pairs pairs, all unset but those of fast.c's current match */
    uint64_t fast_hits;  /* matches fast.c gave (the tests check that it is used) */
    int sole_hit; /* the line being matched holds its group's literal at the hit only (fuse.c) */
};

/* ---- Small helpers --------------------------------------------------------------------------- */

static inline int mr_is_alpha(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static inline int mr_is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
static inline int mr_is_space(unsigned char c) { return c == ' ' || (c >= 9 && c <= 13); }

static inline unsigned char mr_lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c | 0x20) : c;
}

/*
 * The bytes the fast path cannot take (filter.c reads them): ESC, \r, a backspace, and
 * 0x9B / 0x9D, which are 8-bit CSI and OSC unless they continue a UTF-8 sequence (mr_slow
 * decides). The vector form is a nibble lookup: the low nibble table gives a bit per candidate
 * high nibble set, the high nibble table the matching bit:
 *   low 0xB: ESC 0x1B, CSI 0x9B (bit 0); low 0xD: \r 0x0D, OSC 0x9D (bit 1); low 0x8: \b 0x08
 *   (bit 2).
 */
static inline int mr_special(unsigned char c)
{
    return c == 0x1b || c == '\r' || c == '\b' || c == 0x9b || c == 0x9d;
}

#if defined(MR_HAVE_AVX2)
#include <immintrin.h>

/* Nonzero lanes where a byte is one mr_special() takes, from its low and high nibbles. */
__attribute__((target("avx2"))) static inline __m256i mr_special_nibbles(__m256i lo_nib,
                                                                         __m256i hi_nib)
{
    const __m256i lo = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 1, 0, 2, 0, 0, 0, 0, 0, 0,
                                        0, 0, 0, 0, 4, 0, 0, 1, 0, 2, 0, 0);
    const __m256i hi = _mm256_setr_epi8(6, 1, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 6, 1, 0, 0,
                                        0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0);
    return _mm256_and_si256(_mm256_shuffle_epi8(lo, lo_nib), _mm256_shuffle_epi8(hi, hi_nib));
}
#endif

/* ---- compile.c ------------------------------------------------------------------------------- */

/* Fold s[0..n) into l (at most MR_LIT_MAX bytes) and pick its two rarest positions. */
void mr_lit_set(struct mr_lit *l, const unsigned char *s, size_t n);
/* A literal every match of re holds (into best, at most cap bytes), or 0; see compile.c. */
size_t mr_derive_literal(const char *re, unsigned char *best, size_t cap, int *at_start);
/* Compile p (name, regex, scale, label and where_field set); explains a failure via
 * pl_host->fail. */
int mr_pat_build(struct metrics_regex *inst, const relhost_ctx *ctx, struct mr_pat *p,
                 const char *const *reducers, size_t n_reducers, const char *metric,
                 const char *prefilter, const char *lead, int case_insensitive,
                 const struct metrics_regex_pattern *row);
void mr_pat_free(struct mr_pat *p);
/* Where p's setting `field` came from, for messages: the plan's file:line, a preset, a default. */
const char *mr_where(const relhost_ctx *ctx, const struct mr_pat *p, const void *field);
/* Sort inst->pats so that patterns sharing a literal are adjacent, and fill inst->groups. */
int mr_group_patterns(struct metrics_regex *inst);
/* Fill inst->fuse from inst->groups (after mr_group_patterns). */
void mr_fuse_build(struct metrics_regex *inst);

/* ---- number.c -------------------------------------------------------------------------------- */

/* Length of a non-ASCII minus sign ending at s[n-1], or 0. */
size_t mr_minus_before(const unsigned char *s, size_t n);
/* Read a captured number; 0, or the enum mr_cause it is refused for. */
int mr_parse_number(locale_t loc, const char *s, size_t n, double *out);
/* The same reading without its fast path for plain digits (the tests compare the two). */
int mr_parse_number_general(locale_t loc, const char *s, size_t n, double *out);
/* The factor of a unit letter (k 1e3, m 1e6, g/b 1e9, either case), or 0 for any other. */
double mr_unit_factor(char c);

/* ---- scan.c ---------------------------------------------------------------------------------- */

/* First occurrence of l (either case) in [hay, hay+n), or NULL; l->len > 0. */
const char *mr_lit_find(const struct mr_lit *l, const char *hay, size_t n, int avx2);
/* Whole lines [p, p+n) from the host's buffer (job->region set), each ending with a newline;
 * those longer than max_line are skipped and counted. */
void mr_scan_complete(struct metrics_regex_job *job, const char *p, size_t n);
/* One segment from the carry (no \r or \n, escape sequences removed). */
void mr_scan_segment(struct metrics_regex_job *job, const char *p, size_t n);
/* Whether the literal (either case) stands at s; s has l->len bytes. Inline: the fused pass
 * verifies every candidate with it. */
static inline int mr_lit_verify(const struct mr_lit *l, const unsigned char *s)
{
    for (size_t i = 0; i < l->len; i++)
        if ((unsigned char)(s[i] | l->mask[i]) != l->fold[i])
            return 0;
    return 1;
}
/* Line [ls, le) for every pattern of group g; hit: the line's first literal, or NULL. */
void mr_run_group_line(struct metrics_regex_job *job, const struct mr_group *g, const char *ls,
                       const char *le, const char *hit);
/* Run group g over the lines of [pos, end) that hold its literal (or over every line). */
void mr_scan_group(struct metrics_regex_job *job, const struct mr_group *g, const char *pos,
                   const char *end);

/* ---- fuse.c (AVX2) --------------------------------------------------------------------------- */

#if defined(MR_HAVE_AVX2)
/* The whole lines [p, p+n) (p[n-1] a newline) with the fused pass (inst->fuse.on); with check,
 * only those before the first line holding a byte mr_special() takes: returns the bytes
 * scanned and in *nl their newlines. */
size_t mr_scan_fused(struct metrics_regex_job *job, const char *p, size_t n, int check,
                     uint64_t *nl);
#endif

/* ---- fast.c -------------------------------------------------------------------------------- */

enum { MR_FAST_SPS = 1, MR_FAST_EVAL = 2 }; /* which hand matcher answers for a default pattern */

/* The match pcre2_match() of the default SPS pattern would give on line [0, len) from `from`,
 * hit being the first "sps" at or after from: 1 with m[0..1] the match, m[2..3] the value, m[4]
 * the unit letter's offset (SIZE_MAX: none); 0 when unsure (then PCRE2 must run). */
int mr_fast_sps(const char *line, size_t len, size_t from, size_t hit, PCRE2_SIZE *m);
/* The same for the default eval_success_rate pattern (MR_EVAL_REGEX), hit being the first
 * "success" at or after from; m[4] is always SIZE_MAX (the pattern has no unit). */
int mr_fast_eval(const char *line, size_t len, size_t from, size_t hit, PCRE2_SIZE *m);

/* ---- filter.c -------------------------------------------------------------------------------- */

/* The feed op: the log's next bytes, cut anywhere. */
int metrics_regex_feed(const relhost_ctx *ctx, void *jobp, const char *buf, size_t len);

#endif
