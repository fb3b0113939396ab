/* SPDX-License-Identifier: MIT */
/*
 * metrics_regex's hand matcher for the commonest forms of the default SPS pattern (presets.c,
 * MR_SPS_REGEX): "SPS: 31000", "sps=31,000", "87,750 SPS", "87.75 ksps", "1.23 Msps". It answers
 * the question one pcre2_match() call on the line from `from` would: it either returns the same
 * match (start, end, value group, unit group) or says it is unsure, and then PCRE2 runs. It never
 * says "no match": that answer always comes from PCRE2.
 *
 * Why the answer is PCRE2's (the regex is compiled caseless, PCRE2_NEVER_UTF, no UCP: \s, \w,
 * \b and case folding are ASCII). The regex has three top-level alternatives:
 *   A  MR_NAME "SPS" (...)             starts with the literal "sps";
 *   B  MR_VLEFT MR_VTOK ... sps\b ...  starts with a value token: a digit, + - . \xe2 \xef n i
 *                                      (either case) after a byte MR_VLEFT allows;
 *   C  MR_SGR_VAL                      starts with "[".
 * The search starts at `from` and `hit` is the first "sps" at or after it (the scan's literal),
 * so A cannot start before hit. Each position before hit is shown to start neither B nor C (or
 * B's match there is computed, for a value-first line), then A is followed at hit. Every step
 * that is not plainly determined (quotes, signs, exponents, units after a label-first number,
 * words that could be nan/inf, a "/" after a number, long runs) answers "unsure".
 *
 * Builds that compile MR_FAST_CHECK (the unit, table and fuzz tests) run PCRE2 after every
 * answer and abort on any difference (mr_fast_check in scan.c).
 */
#include "metrics_regex_int.h"

#define FS_RUN_MAX 64 /* the longest run of bytes a step looks at before it answers "unsure" */

enum { FS_UNSURE, FS_NO, FS_MATCH };

static int fs_word(unsigned char c) { return mr_is_alpha(c) || mr_is_digit(c) || c == '_'; }

/* MR_TC: a byte of a value token. */
static int fs_tc(unsigned char c)
{
    return !mr_is_space(c) && c != ';' && c != '|' && c != ')' && c != '}' && c != ']' &&
           c != '\'' && c != '"';
}

/* MR_VLEFT at p: the line's start, or a byte before p that may precede a value token. */
static int fs_vleft(const unsigned char *s, size_t p)
{
    if (p == 0)
        return 1;
    unsigned char c = s[p - 1];
    return mr_is_space(c) || c >= 0x80 || c == '|' || c == '(' || c == '[' || c == '{' ||
           c == ':' || c == '=' || c == ',' || c == ';' || c == '\'' || c == '"';
}

/* Whether "sps" (either case) stands at p, followed by a \b. */
static int fs_sps_b(const unsigned char *s, size_t len, size_t p)
{
    return p + 3 <= len && (s[p] | 0x20) == 's' && (s[p + 1] | 0x20) == 'p' &&
           (s[p + 2] | 0x20) == 's' && (p + 3 == len || !fs_word(s[p + 3]));
}

static int fs_unit_letter(unsigned char c)
{
    c = (unsigned char)(c | 0x20);
    return c == 'k' || c == 'm' || c == 'g' || c == 'b';
}

/* Skip \s from p, at most FS_RUN_MAX bytes; SIZE_MAX when longer. */
static size_t fs_skip_space(const unsigned char *s, size_t len, size_t p)
{
    size_t q = p;
    while (q < len && mr_is_space(s[q]))
        if (++q - p > FS_RUN_MAX)
            return SIZE_MAX;
    return q;
}

/*
 * Alternative B at p (s[p] a digit, MR_VLEFT true): MR_VTOK's possessive run of token bytes
 * (none a letter or a non-ASCII byte here, so its "unit word ahead" stop cannot fire inside
 * it), then \s*+, an optional unit letter and \s*+, "sps\b", and the negative lookahead.
 */
static int fs_value_first(const unsigned char *s, size_t len, size_t p, size_t hit, PCRE2_SIZE *m)
{
    size_t q = p + 1;
    while (q < len && fs_tc(s[q])) {
        if (mr_is_alpha(s[q]) || s[q] >= 0x80 || q - p > FS_RUN_MAX)
            return FS_UNSURE;
        q++;
    }
    unsigned char last = s[q - 1];
    if (last == '_' || last == '.' || last == '/' || last == '-')
        return FS_UNSURE; /* B fails here, but a later start could still match */
    size_t r = fs_skip_space(s, len, q), unit = SIZE_MAX, at;
    if (r == SIZE_MAX)
        return FS_UNSURE;
    if (r < len && fs_unit_letter(s[r])) {
        at = fs_skip_space(s, len, r + 1);
        if (at == SIZE_MAX)
            return FS_UNSURE;
        if (!fs_sps_b(s, len, at))
            return FS_UNSURE; /* the unit letter given back cannot be "s" either: B fails */
        unit = r;
    } else if (r < len && (s[r] | 0x20) == 's') {
        if (!fs_sps_b(s, len, r))
            return FS_UNSURE;
        at = r;
    } else {
        return FS_NO; /* neither a unit letter nor "sps" after the token: B fails at p */
    }
    if (at != hit)
        return FS_UNSURE;
    /* (?!['"]?\s*[:=]|\s+TSTART) after "sps" */
    size_t u = at + 3, v = u;
    if (v < len && (s[v] == '\'' || s[v] == '"'))
        v++;
    v = fs_skip_space(s, len, v);
    if (v == SIZE_MAX || (v < len && (s[v] == ':' || s[v] == '=')))
        return FS_UNSURE;
    if (u < len && mr_is_space(s[u])) {
        size_t w = fs_skip_space(s, len, u);
        if (w == SIZE_MAX)
            return FS_UNSURE;
        unsigned char c = w < len ? (unsigned char)(s[w] | 0x20) : ' ';
        if (w < len && (mr_is_digit(s[w]) || s[w] == '+' || s[w] == '-' || s[w] == '.' ||
                        s[w] == 0xe2 || s[w] == 0xef || c == 'n' || c == 'i'))
            return FS_UNSURE;
    }
    m[0] = p;
    m[1] = u;
    m[2] = p;
    m[3] = q;
    m[4] = unit;
    return FS_MATCH;
}

/*
 * Alternative A at hit, its "SPS" directly followed by ':' or '=': MR_NUM read as the atomic
 * group does (thousands groups first, else digits and a fraction), then MR_GUARD, MR_UNIT
 * (empty: no unit letter may follow) and MR_END.
 */
static int fs_label_first(const unsigned char *s, size_t len, size_t hit, PCRE2_SIZE *m)
{
    if (hit > 0 &&
        (fs_word(s[hit - 1]) || s[hit - 1] == '.' || s[hit - 1] == '/' || s[hit - 1] == '-'))
        return FS_UNSURE;
    size_t c = hit + 3;
    if (c >= len || (s[c] != ':' && s[c] != '='))
        return FS_UNSURE;
    size_t v = fs_skip_space(s, len, c + 1);
    if (v == SIZE_MAX || v >= len || !mr_is_digit(s[v]))
        return FS_UNSURE;
    size_t d = v;
    while (d < len && mr_is_digit(s[d]))
        if (++d - v > FS_RUN_MAX)
            return FS_UNSURE;
    size_t e = d;
    if (d - v <= 3 && d + 3 < len && s[d] == ',' && mr_is_digit(s[d + 1]) &&
        mr_is_digit(s[d + 2]) && mr_is_digit(s[d + 3])) {
        while (e + 3 < len && s[e] == ',' && mr_is_digit(s[e + 1]) && mr_is_digit(s[e + 2]) &&
               mr_is_digit(s[e + 3]))
            if ((e += 4) - v > FS_RUN_MAX)
                return FS_UNSURE;
    }
    if (e + 1 < len && s[e] == '.' && mr_is_digit(s[e + 1])) {
        e++;
        while (e < len && mr_is_digit(s[e]))
            if (++e - v > FS_RUN_MAX)
                return FS_UNSURE;
    }
    if (e < len && s[e] != ' ' && s[e] != '\t' && s[e] != '|' && s[e] != ';' && s[e] != ')' &&
        s[e] != ']' && s[e] != '}')
        return FS_UNSURE;
    size_t f = fs_skip_space(s, len, e);
    if (f == SIZE_MAX || (f < len && (fs_unit_letter(s[f]) || s[f] == '/')))
        return FS_UNSURE;
    m[0] = hit;
    m[1] = e;
    m[2] = v;
    m[3] = e;
    m[4] = SIZE_MAX;
    return FS_MATCH;
}

/* The bytes B or C may start with: a digit, + - . \xe2 \xef n N i I (B), [ (C). */
static const unsigned char fs_start[256] = {
    ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1,  ['5'] = 1, ['6'] = 1,
    ['7'] = 1, ['8'] = 1, ['9'] = 1, ['+'] = 1, ['-'] = 1,  ['.'] = 1, ['n'] = 1,
    ['N'] = 1, ['i'] = 1, ['I'] = 1, ['['] = 1, [0xe2] = 1, [0xef] = 1};

int mr_fast_sps(const char *line, size_t len, size_t from, size_t hit, PCRE2_SIZE *m)
{
    const unsigned char *s = (const unsigned char *)line;
    if (hit < from || hit - from > FS_RUN_MAX || hit + 3 > len)
        return 0;
    for (size_t p = from; p < hit; p++) {
        /* no value token starts with these bytes, nor "[": neither B nor C starts there */
        while (!fs_start[s[p]])
            if (++p == hit)
                return fs_label_first(s, len, hit, m) == FS_MATCH;
        unsigned char c = s[p];
        if (c == '[')
            return 0; /* C may start here */
        if (!fs_vleft(s, p))
            continue; /* MR_VLEFT fails: B does not start at p */
        if (!mr_is_digit(c))
            return 0;
        int r = fs_value_first(s, len, p, hit, m);
        if (r == FS_MATCH)
            return 1;
        if (r == FS_UNSURE)
            return 0;
    }
    return fs_label_first(s, len, hit, m) == FS_MATCH;
}

/*
 * The default eval pattern (presets.c, MR_EVAL_REGEX), compiled like the SPS one (caseless,
 * ASCII \s \w \b), has five top-level alternatives:
 *   1  (?<value>\[[0-9;]*m) NAME           a colour remnant right before the name;
 *   2  MR_NAME NAME (?<value>\[[0-9;]*m)...  a colour remnant right after it;
 *   3  MR_NAME NAME ['"]?\s*[:=]\s*(?:MR_NUMPCT MR_GUARD MR_END|MR_BAD);
 *   4  MR_NAME total\s+\d+\s+evals?\s+...successful\b;
 *   5  MR_NAME successes\s*:...
 * with NAME = eval[_\s-]?success[_\s-]?rate. hit is the first "success" at or after `from`, and
 * every match holds a "success". Only 3 is answered, with a plain number: its start e, "eval"
 * and at most one separator before hit, is the leftmost start of any match when no "total"
 * stands in [from, e) (4), the byte before e is no "m" (1: the remnant ends right before
 * "eval"), and 2 fails at e (no "[" after "rate"); 5 starts at its own "success", after e. All
 * else, and every step not plainly determined, answers "unsure".
 */

/* Whether the four letters of w (lower case) stand at s, either case. */
static int fs_is4(const unsigned char *s, const char *w)
{
    for (size_t i = 0; i < 4; i++)
        if ((s[i] | 0x20) != (unsigned char)w[i])
            return 0;
    return 1;
}

static int fs_evsep(unsigned char c) { return c == '_' || c == '-' || mr_is_space(c); }

/* Whether "total" (either case) stands anywhere in [from, to). */
static int fs_total_in(const unsigned char *s, size_t from, size_t to)
{
    for (size_t i = from; i + 5 <= to; i++)
        if ((s[i] | 0x20) == 't' && fs_is4(s + i + 1, "otal"))
            return 1;
    return 0;
}

/* Alternative 3's value from v (after [:=]\s*): a plain number (digits, an optional fraction),
 * not followed by a digit, ',', '.', '%', an exponent, a slash or a token byte. Its end, or 0. */
static size_t fs_eval_number(const unsigned char *s, size_t len, size_t v)
{
    size_t e = v;
    while (e < len && mr_is_digit(s[e]))
        if (++e - v > FS_RUN_MAX)
            return 0;
    if (e == v || (e < len && s[e] == ','))
        return 0; /* no digit, or thousands groups (the atomic group's first form) */
    if (e + 1 < len && s[e] == '.' && mr_is_digit(s[e + 1])) {
        e++;
        while (e < len && mr_is_digit(s[e]))
            if (++e - v > FS_RUN_MAX)
                return 0;
    }
    /* MR_END's class, and nothing that could continue the number or make it a ratio */
    if (e < len && s[e] != ' ' && s[e] != '\t' && s[e] != '|' && s[e] != ';' && s[e] != ')' &&
        s[e] != ']' && s[e] != '}')
        return 0;
    size_t f = fs_skip_space(s, len, e);
    if (f == SIZE_MAX || (f < len && s[f] == '/'))
        return 0;
    return e;
}

int mr_fast_eval(const char *line, size_t len, size_t from, size_t hit, PCRE2_SIZE *m)
{
    const unsigned char *s = (const unsigned char *)line;
    size_t e, r;
    if (hit + 11 > len || hit - from > 16 * FS_RUN_MAX)
        return 0;
    if (hit >= from + 5 && fs_is4(s + hit - 5, "eval") && fs_evsep(s[hit - 1]))
        e = hit - 5;
    else if (hit >= from + 4 && fs_is4(s + hit - 4, "eval"))
        e = hit - 4;
    else
        return 0;
    /* MR_NAME at e; no colour remnant ending right before it (1); no "total" before it (4) */
    if (e > 0 && (fs_word(s[e - 1]) || s[e - 1] == '.' || s[e - 1] == '/' || s[e - 1] == '-'))
        return 0;
    if ((e > from && (s[e - 1] | 0x20) == 'm') || fs_total_in(s, from, e))
        return 0;
    /* "success" is at hit (the scan verified it); then [_\s-]? and "rate" */
    r = hit + 7;
    if (fs_evsep(s[r]))
        r++;
    if (r + 4 > len || !fs_is4(s + r, "rate"))
        return 0;
    r += 4;
    /* 2 needs "[" here; 3: no quote (left to PCRE2), \s*, [:=], \s* */
    if (r < len && (s[r] == '[' || s[r] == '\'' || s[r] == '"'))
        return 0;
    size_t c = fs_skip_space(s, len, r);
    if (c == SIZE_MAX || c >= len || (s[c] != ':' && s[c] != '='))
        return 0;
    size_t v = fs_skip_space(s, len, c + 1);
    if (v == SIZE_MAX || v >= len)
        return 0;
    size_t end = fs_eval_number(s, len, v);
    if (end == 0)
        return 0;
    m[0] = e;
    m[1] = end;
    m[2] = v;
    m[3] = end;
    m[4] = SIZE_MAX;
    return 1;
}
