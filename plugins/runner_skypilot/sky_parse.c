/* SPDX-License-Identifier: MIT */
#include "runner_skypilot.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- buffer ------------------------------------------------------------------------------- */

static int buf_reserve(sky_buf *b, size_t more)
{
    size_t cap;
    char *s;
    if (b->oom)
        return -1;
    if (b->len + more + 1 <= b->cap)
        return 0;
    cap = b->cap ? b->cap : 256;
    while (cap < b->len + more + 1) {
        if (cap > ((size_t)-1) / 2) {
            b->oom = 1;
            return -1;
        }
        cap *= 2;
    }
    s = realloc(b->s, cap);
    if (!s) {
        b->oom = 1;
        return -1;
    }
    b->s = s;
    b->cap = cap;
    return 0;
}

void sky_buf_add(sky_buf *b, const char *p, size_t n)
{
    if (buf_reserve(b, n) != 0)
        return;
    if (n)
        memcpy(b->s + b->len, p, n);
    b->len += n;
    b->s[b->len] = '\0';
}

void sky_buf_puts(sky_buf *b, const char *s) { sky_buf_add(b, s, strlen(s)); }

void sky_buf_printf(sky_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || buf_reserve(b, (size_t)n) != 0)
        return;
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void sky_buf_free(sky_buf *b)
{
    free(b->s);
    memset(b, 0, sizeof *b);
}

/* ---- ANSI --------------------------------------------------------------------------------- */

/* Length of the escape sequence at s[0] == ESC: CSI (ESC [ params intermediates final, colours
 * and cursor moves), OSC (ESC ] ... BEL or ESC \, rich's hyperlinks), a charset designation
 * (ESC ( B) or another two-byte escape. 0 when the text ends before the sequence does. */
static size_t esc_len(const char *s, size_t len)
{
    size_t i;
    if (len < 2)
        return 0;
    if (s[1] == ']') {
        for (i = 2; i < len; i++) {
            if (s[i] == '\a')
                return i + 1;
            if (s[i] == '\x1b')
                return i + 1 < len ? (s[i + 1] == '\\' ? i + 2 : i) : 0;
        }
        return 0;
    }
    if (s[1] == '(' || s[1] == ')' || s[1] == '*' || s[1] == '+')
        return len < 3 ? 0 : 3;
    if (s[1] != '[')
        return 2;
    for (i = 2; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x40 && c <= 0x7e)
            return i + 1;
        if (c >= 0x20 && c <= 0x3f)
            continue; /* parameter and intermediate bytes */
        return i;     /* malformed: drop what we saw, keep the byte that broke it */
    }
    return 0;
}

size_t sky_strip_ansi(char *s, size_t len)
{
    size_t r = 0, w = 0;
    while (r < len) {
        if (s[r] == '\x1b') {
            size_t n = esc_len(s + r, len - r);
            if (n == 0) { /* cut off at the end: keep it, sky_complete_len() hides it */
                memmove(s + w, s + r, len - r);
                w += len - r;
                break;
            }
            r += n;
            continue;
        }
        s[w++] = s[r++];
    }
    if (w < len)
        s[w] = '\0';
    return w;
}

size_t sky_complete_len(const char *s, size_t len)
{
    size_t i = len;
    /* An unterminated sequence (a hyperlink's URL included) is short: look back a little. */
    while (i > 0 && len - i < 512) {
        i--;
        if (s[i] == '\x1b')
            return esc_len(s + i, len - i) == 0 ? i : len;
    }
    return len;
}

/* ---- lines and UTF-8 ---------------------------------------------------------------------- */

/* The visible part of a line: what follows its last carriage return (a spinner redraws the
 * line), without the newline. */
static void line_bounds(const char *line, size_t n, const char **start, size_t *len)
{
    const char *s = line;
    for (size_t i = 0; i < n; i++)
        if (line[i] == '\r' && i + 1 < n)
            s = line + i + 1;
    *start = s;
    *len = (size_t)(line + n - s);
    while (*len && (s[*len - 1] == '\r' || s[*len - 1] == '\n'))
        (*len)--;
}

static int is_cont(unsigned char c) { return (c & 0xc0) == 0x80; }

/* Byte offset of code point number cp in s[0..len), or len. */
static size_t cp_offset(const char *s, size_t len, size_t cp)
{
    size_t i = 0;
    while (i < len && cp > 0) {
        i++;
        while (i < len && is_cont((unsigned char)s[i]))
            i++;
        cp--;
    }
    return i;
}

static void copy_trimmed(const char *s, size_t n, char *out, size_t cap)
{
    while (n && isspace((unsigned char)*s)) {
        s++;
        n--;
    }
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    if (n >= cap) {
        n = cap - 1;
        while (n && is_cont((unsigned char)s[n]))
            n--; /* never cut a UTF-8 sequence in half */
    }
    memcpy(out, s, n);
    out[n] = '\0';
}

/* ---- sky jobs queue ----------------------------------------------------------------------- */

#define MAX_COLS 32

struct header {
    size_t n;
    size_t start[MAX_COLS]; /* in code points */
    char name[MAX_COLS][32];
};

/* Splits a header line at runs of two or more spaces; a header's own words are separated by one
 * space ("TOT. DURATION"). Returns 1 when it names ID and STATUS. */
static int parse_header(const char *s, size_t len, struct header *h)
{
    size_t i = 0, cp = 0;
    int has_id = 0, has_status = 0;
    memset(h, 0, sizeof *h);
    while (i < len && h->n < MAX_COLS) {
        size_t b, cpb;
        while (i < len && s[i] == ' ') {
            i++;
            cp++;
        }
        if (i >= len)
            break;
        b = i;
        cpb = cp;
        while (i < len && !(s[i] == ' ' && (i + 1 >= len || s[i + 1] == ' '))) {
            i++;
            if (!is_cont((unsigned char)s[i - 1]))
                cp++;
        }
        h->start[h->n] = cpb;
        copy_trimmed(s + b, i - b, h->name[h->n], sizeof h->name[h->n]);
        has_id |= strcmp(h->name[h->n], "ID") == 0;
        has_status |= strcmp(h->name[h->n], "STATUS") == 0;
        h->n++;
    }
    return has_id && has_status;
}

static int col_index(const struct header *h, const char *name)
{
    for (size_t i = 0; i < h->n; i++)
        if (strcmp(h->name[i], name) == 0)
            return (int)i;
    return -1;
}

static void cell(const struct header *h, int col, const char *s, size_t len, char *out, size_t cap)
{
    size_t b, e;
    if (col < 0) {
        out[0] = '\0';
        return;
    }
    b = cp_offset(s, len, h->start[col]);
    e = (size_t)col + 1 < h->n ? cp_offset(s, len, h->start[col + 1]) : len;
    copy_trimmed(s + b, e > b ? e - b : 0, out, cap);
}

/* Copy the n-byte word at s into out (cap bytes) and return 1; 0 when it is empty or does not
 * fit (a truncated id or status would name something else). */
static int copy_word(const char *s, size_t n, char *out, size_t cap)
{
    if (n == 0 || n >= cap)
        return 0;
    memcpy(out, s, n);
    out[n] = '\0';
    return 1;
}

int sky_all_digits(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s))
            return 0;
    return 1;
}

int sky_parse_queue(const char *text, sky_queue *q, char *err, size_t errcap)
{
    struct header h;
    int in_table = 0, c_id = -1, c_name = -1, c_status = -1, c_rec = -1;
    size_t cap = 0;
    const char *p = text;

    memset(q, 0, sizeof *q);
    while (*p) {
        const char *nl = strchr(p, '\n'), *s;
        size_t n = nl ? (size_t)(nl - p) : strlen(p), len;
        line_bounds(p, n, &s, &len);
        p += n + (nl ? 1 : 0);
        if (memmem(s, len, "No in-progress managed jobs", 27))
            q->empty_message = 1;
        if (!in_table) {
            if (!q->has_table && parse_header(s, len, &h)) {
                in_table = q->has_table = 1;
                c_id = col_index(&h, "ID");
                c_name = col_index(&h, "NAME");
                c_status = col_index(&h, "STATUS");
                c_rec = col_index(&h, "#RECOVERIES");
                q->has_name = c_name >= 0;
            }
            continue;
        }
        {
            char idtxt[32], rec[32];
            sky_row *r;
            size_t k = 0;
            while (k < len && s[k] == ' ')
                k++;
            if (k == len) { /* a blank line ends the table */
                in_table = 0;
                continue;
            }
            cell(&h, c_id, s, len, idtxt, sizeof idtxt);
            if (!sky_all_digits(idtxt))
                continue; /* a task row of a pipeline (no ID), or a trailing hint */
            if (q->n == cap) {
                size_t ncap = cap ? cap * 2 : 16;
                sky_row *nr = realloc(q->rows, ncap * sizeof *nr);
                if (!nr) {
                    snprintf(err, errcap, "out of memory");
                    return RELHOST_ENOMEM;
                }
                q->rows = nr;
                cap = ncap;
            }
            r = &q->rows[q->n++];
            memset(r, 0, sizeof *r);
            r->id = strtoll(idtxt, NULL, 10);
            cell(&h, c_name, s, len, r->name, sizeof r->name);
            cell(&h, c_status, s, len, r->status, sizeof r->status);
            /* A status cell may carry more than the word (a spinner glyph, a note). */
            r->status[strcspn(r->status, " ")] = '\0';
            cell(&h, c_rec, s, len, rec, sizeof rec);
            r->recoveries = sky_all_digits(rec) && strlen(rec) < 10 ? atoi(rec) : -1;
        }
    }
    if (!q->has_table && !q->empty_message) {
        const char *first = text;
        size_t n;
        while (*first == '\n' || *first == ' ')
            first++;
        n = strcspn(first, "\n");
        snprintf(err, errcap,
                 "no table with ID and STATUS columns and no \"No in-progress "
                 "managed jobs.\" in its output (it began \"%.*s\")",
                 (int)(n > 120 ? 120 : n), first);
        return -1;
    }
    return 0;
}

void sky_queue_free(sky_queue *q)
{
    free(q->rows);
    memset(q, 0, sizeof *q);
}

/* ---- launch and log output ---------------------------------------------------------------- */

int sky_launch_id(const char *text, char *id, size_t cap)
{
    static const char *const marks[] = {"Job submitted, ID:", "Managed Job ID:"};
    const char *best = NULL;
    for (size_t m = 0; m < 2; m++)
        for (const char *p = text; (p = strstr(p, marks[m])) != NULL; p++) {
            const char *d = p + strlen(marks[m]);
            if (*d == ' ' && isdigit((unsigned char)d[1]) && (!best || d > best))
                best = d + 1;
        }
    if (!best)
        return 0;
    {
        size_t n = 0;
        while (isdigit((unsigned char)best[n]))
            n++;
        return copy_word(best, n, id, cap);
    }
}

static int mentions_error(const char *s, size_t n)
{
    static const char *const words[] = {"error", "exception", "fail", "not found", "denied"};
    char low[512];
    size_t k = n < sizeof low - 1 ? n : sizeof low - 1;
    for (size_t i = 0; i < k; i++)
        low[i] = (char)tolower((unsigned char)s[i]);
    low[k] = '\0';
    for (size_t i = 0; i < sizeof words / sizeof *words; i++)
        if (strstr(low, words[i]))
            return 1;
    return 0;
}

void sky_error_line(const char *text, char *out, size_t cap)
{
    const char *last = NULL, *err = NULL;
    size_t last_n = 0, err_n = 0;
    const char *p = text;
    out[0] = '\0';
    while (*p) {
        const char *nl = strchr(p, '\n'), *s;
        size_t n = nl ? (size_t)(nl - p) : strlen(p), len, k = 0;
        line_bounds(p, n, &s, &len);
        p += n + (nl ? 1 : 0);
        while (k < len && isspace((unsigned char)s[k]))
            k++;
        /* The CLI's own trailer names the status, not the cause. */
        if (k == len || memmem(s, len, "Managed job finished:", 21))
            continue;
        last = s;
        last_n = len;
        if (mentions_error(s, len)) {
            err = s;
            err_n = len;
        }
    }
    if (err)
        copy_trimmed(err, err_n, out, cap);
    else if (last)
        copy_trimmed(last, last_n, out, cap);
}

int sky_summary_exit_code(const char *text, size_t len, int *code)
{
    static const char mark[] = "[SUMMARY] Exit code:";
    const char *p = text, *end = text + len;
    int found = 0;
    while (p < end) {
        const char *m = memmem(p, (size_t)(end - p), mark, sizeof mark - 1);
        const char *d;
        long v = 0;
        int digits = 0;
        if (!m)
            break;
        d = m + sizeof mark - 1;
        while (d < end && (*d == ' ' || *d == '\t'))
            d++;
        while (d < end && isdigit((unsigned char)*d) && digits < 4) {
            v = v * 10 + (*d - '0');
            d++;
            digits++;
        }
        if (digits && digits < 4 && v <= 255) {
            *code = (int)v;
            found = 1;
        }
        p = m + 1;
    }
    return found;
}

int sky_remote_timeout(const char *text, size_t len)
{
    const char *p = text, *end = text + len, *last = NULL;
    while (p < end) {
        const char *m = memmem(p, (size_t)(end - p), SKY_MARK, sizeof SKY_MARK - 1);
        if (!m)
            break;
        /* Only the script's two lines count, not another "relhost-sky: " in the output. */
        if ((size_t)(end - m) >= sizeof SKY_MARK_TIMEOUT - 1 &&
            memcmp(m, SKY_MARK_TIMEOUT, sizeof SKY_MARK_TIMEOUT - 1) == 0)
            last = m;
        else if ((size_t)(end - m) >= sizeof SKY_MARK_EXIT - 1 &&
                 memcmp(m, SKY_MARK_EXIT, sizeof SKY_MARK_EXIT - 1) == 0)
            last = NULL;
        p = m + 1;
    }
    return last != NULL;
}

int sky_finished_status(const char *text, size_t len, char *status, size_t cap)
{
    static const char mark[] = "Managed job finished:";
    const char *p = text, *end = text + len, *hit = NULL;
    while (p < end) {
        const char *m = memmem(p, (size_t)(end - p), mark, sizeof mark - 1);
        if (!m)
            break;
        hit = m;
        p = m + 1;
    }
    if (hit) {
        const char *st = memmem(hit, (size_t)(end - hit), "(status: ", 9);
        const char *eol = memchr(hit, '\n', (size_t)(end - hit));
        size_t n = 0;
        if (!st || (eol && st > eol))
            return 0;
        st += 9;
        while (st + n < end && (isupper((unsigned char)st[n]) || st[n] == '_'))
            n++;
        return copy_word(st, n, status, cap);
    }
    return 0;
}

/* ---- statuses ----------------------------------------------------------------------------- */

int sky_map_status(const char *s, relhost_job_state *state, relhost_job_end *end)
{
    static const struct {
        const char *word;
        relhost_job_state state;
        relhost_job_end end;
    } map[] = {
        {"PENDING", RELHOST_JOB_PENDING, 0},
        {"STARTING", RELHOST_JOB_PENDING, 0},
        {"RUNNING", RELHOST_JOB_RUNNING, 0},
        {"RECOVERING", RELHOST_JOB_RUNNING, 0},
        {"CANCELLING", RELHOST_JOB_RUNNING, 0},
        {"SUCCEEDED", RELHOST_JOB_ENDED, RELHOST_END_EXITED},
        {"FAILED", RELHOST_JOB_ENDED, RELHOST_END_EXITED},
        {"FAILED_SETUP", RELHOST_JOB_ENDED, RELHOST_END_EXITED},
        {"CANCELLED", RELHOST_JOB_ENDED, RELHOST_END_CANCELLED},
        /* The task itself is invalid (bad YAML, unknown cloud): trying again cannot help. */
        {"FAILED_PRECHECKS", RELHOST_JOB_ENDED, RELHOST_END_EXEC_FAILED},
        /* The cloud or SkyPilot's controller failed, not the candidate: retryable. */
        {"FAILED_NO_RESOURCE", RELHOST_JOB_ENDED, RELHOST_END_INFRA},
        {"FAILED_CONTROLLER", RELHOST_JOB_ENDED, RELHOST_END_INFRA},
    };
    for (size_t i = 0; i < sizeof map / sizeof *map; i++)
        if (strcmp(map[i].word, s) == 0) {
            *state = map[i].state;
            *end = map[i].end;
            return 0;
        }
    return -1;
}

int sky_map_logs_exit(int code, relhost_job_state *state, relhost_job_end *end, const char **status)
{
    switch (code) {
    case 0:
        *state = RELHOST_JOB_ENDED;
        *end = RELHOST_END_EXITED;
        *status = "SUCCEEDED";
        return 1;
    case 100:
        *state = RELHOST_JOB_ENDED;
        *end = RELHOST_END_EXITED;
        *status = "FAILED";
        return 1;
    case 102:
        *state = RELHOST_JOB_LOST;
        *end = RELHOST_END_INFRA;
        *status = "NOT_FOUND";
        return 1;
    case 103:
        *state = RELHOST_JOB_ENDED;
        *end = RELHOST_END_CANCELLED;
        *status = "CANCELLED";
        return 1;
    default: /* 101 not finished, or a CLI error: nothing learnt */
        *status = code == 101 ? "NOT_FINISHED" : "UNKNOWN";
        return 0;
    }
}

/* ---- quoting ------------------------------------------------------------------------------ */

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when it is not one. */
static size_t utf8_len(const unsigned char *s, unsigned *cp)
{
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    if (s[0] >= 0xc2 && s[0] <= 0xdf && is_cont(s[1])) {
        *cp = ((unsigned)(s[0] & 0x1f) << 6) | (s[1] & 0x3f);
        return 2;
    }
    if (s[0] >= 0xe0 && s[0] <= 0xef && is_cont(s[1]) && is_cont(s[2])) {
        *cp = ((unsigned)(s[0] & 0x0f) << 12) | ((unsigned)(s[1] & 0x3f) << 6) | (s[2] & 0x3f);
        if (*cp < 0x800 || (*cp >= 0xd800 && *cp <= 0xdfff))
            return 0;
        return 3;
    }
    if (s[0] >= 0xf0 && s[0] <= 0xf4 && is_cont(s[1]) && is_cont(s[2]) && is_cont(s[3])) {
        *cp = ((unsigned)(s[0] & 0x07) << 18) | ((unsigned)(s[1] & 0x3f) << 12) |
              ((unsigned)(s[2] & 0x3f) << 6) | (s[3] & 0x3f);
        if (*cp < 0x10000 || *cp > 0x10ffff)
            return 0;
        return 4;
    }
    return 0;
}

int sky_yaml_quote(sky_buf *b, const char *str)
{
    const unsigned char *s = (const unsigned char *)str;
    sky_buf_add(b, "\"", 1);
    while (*s) {
        unsigned cp;
        size_t n = utf8_len(s, &cp);
        if (n == 0)
            return -1;
        if (cp == '"' || cp == '\\') {
            char e[2] = {'\\', (char)cp};
            sky_buf_add(b, e, 2);
        } else if (cp == '\n') {
            sky_buf_add(b, "\\n", 2);
        } else if (cp == '\t') {
            sky_buf_add(b, "\\t", 2);
        } else if (cp < 0x20 || cp == 0x7f) {
            sky_buf_printf(b, "\\x%02x", cp);
        } else if (cp == 0x85 || cp == 0x2028 || cp == 0x2029 || cp == 0xfeff ||
                   (cp >= 0x80 && cp < 0xa0)) {
            /* YAML 1.1 folds NEL, LS and PS like newlines inside a quoted scalar; a BOM and C1
             * controls are not printable: escape them so the value survives as written. */
            sky_buf_printf(b, "\\u%04x", cp);
        } else {
            sky_buf_add(b, (const char *)s, n);
        }
        s += n;
    }
    sky_buf_add(b, "\"", 1);
    return 0;
}

void sky_shell_quote(sky_buf *b, const char *s)
{
    sky_buf_add(b, "'", 1);
    for (; *s; s++) {
        if (*s == '\'')
            sky_buf_add(b, "'\\''", 4);
        else
            sky_buf_add(b, s, 1);
    }
    sky_buf_add(b, "'", 1);
}

/* ---- task templates ----------------------------------------------------------------------- */

/* The top-level key a line starts, or NULL (an indented line, a comment, a sequence item...). */
static int top_key(const char *s, size_t len, char *key, size_t cap)
{
    size_t i = 0;
    char q = 0;
    if (len == 0 || s[0] == ' ' || s[0] == '#' || s[0] == '-' || s[0] == '\t')
        return 0;
    if (s[0] == '"' || s[0] == '\'')
        q = s[i++];
    while (i < len && (isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == '-' || s[i] == '.'))
        i++;
    if (q) {
        if (i >= len || s[i] != q)
            return 0;
        i++;
    }
    if (i >= len || s[i] != ':' || (i + 1 < len && s[i + 1] != ' ' && s[i + 1] != '\r'))
        return 0;
    {
        size_t b = q ? 1 : 0, e = q ? i - 1 : i;
        if (e - b >= cap)
            return 0;
        memcpy(key, s + b, e - b);
        key[e - b] = '\0';
    }
    return 1;
}

int sky_yaml_has_key(const char *text, const char *key)
{
    const char *p = text;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        char k[64];
        if (top_key(p, n, k, sizeof k) && strcmp(k, key) == 0)
            return 1;
        p += n + (nl ? 1 : 0);
    }
    return 0;
}

int sky_yaml_filter(const char *text, const char *const *drop, sky_buf *out, char *err,
                    size_t errcap)
{
    const char *p = text;
    int dropping = 0, lineno = 0, seen_content = 0;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        char k[64];
        lineno++;
        if (memchr(p, '\t', n) && !(n && p[0] == '#')) {
            const char *t = memchr(p, '\t', n), *hash = memchr(p, '#', n);
            if (!hash || t < hash) {
                snprintf(err, errcap, "line %d: a tab character (YAML indents with spaces)",
                         lineno);
                return -1;
            }
        }
        if ((n >= 3 && memcmp(p, "---", 3) == 0 && (n == 3 || p[3] == ' ' || p[3] == '\r')) ||
            (n >= 3 && memcmp(p, "...", 3) == 0 && (n == 3 || p[3] == ' ' || p[3] == '\r'))) {
            if (seen_content || p[0] == '.') {
                snprintf(err, errcap, "line %d: more than one YAML document", lineno);
                return -1;
            }
            p += n + (nl ? 1 : 0);
            continue; /* a leading document marker: drop it, relhost appends to the mapping */
        }
        if (n && p[0] != ' ' && p[0] != '#' && p[0] != '\r') {
            if (top_key(p, n, k, sizeof k)) {
                dropping = 0;
                for (size_t i = 0; drop && drop[i]; i++)
                    if (strcmp(drop[i], k) == 0)
                        dropping = 1;
                seen_content = 1;
            } else if (p[0] == '-' && seen_content) {
                /* a block sequence under the previous key, at its own indentation */
            } else {
                snprintf(err, errcap,
                         "line %d: the top level must be a block mapping of "
                         "`key: value` lines (flow style `{...}` and anchors are "
                         "not supported)",
                         lineno);
                return -1;
            }
        }
        if (!dropping)
            sky_buf_add(out, p, n + (nl ? 1 : 0));
        p += n + (nl ? 1 : 0);
    }
    if (out->len && out->s[out->len - 1] != '\n')
        sky_buf_add(out, "\n", 1);
    if (!out->s)
        sky_buf_add(out, "", 0);
    return out->oom ? RELHOST_ENOMEM : 0;
}
