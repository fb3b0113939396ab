/* SPDX-License-Identifier: MIT */
/*
 * feed_fuzz - a libFuzzer harness for plugins/metrics_regex's feed() (issue 14, "Prove it").
 *
 * Oracle: whatever the bytes and however they are cut, the source posts the same metrics (key,
 * value bits or both NaN, reducer, sample count), labels, notes and fail() messages as when the
 * log is fed as one chunk, and it never carries more than max_line bytes. Any difference calls
 * abort(); the sanitizers (the fuzz build always has ASan and UBSan) catch the rest.
 *
 * Input layout (see README.md):
 *   byte 0       bits 0-1: the conf (CONFS below); bits 2-3: the chunking mode
 *   bytes 1-4    a little-endian seed for the chunk sizes
 *   bytes 5...   the log
 * Shorter inputs are a log fed with conf 0 in 1..16-byte chunks, seed 0.
 *
 * Every chunk is copied into a heap block of exactly its size, so a read past the end of a chunk
 * (e.g. by the vector prefilter search) is an ASan report, not a silent read of the next chunk.
 */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The plugin's private header (its files are compiled into this harness, instrumented): its
 * job struct is visible, so the carry bound can be checked. */
#include <math.h>

#include "../../plugins/metrics_regex/metrics_regex_int.h"

#include "base/error.h"
#include "mock_host.h"
#include "plan/options.h"

/* The confs an input can choose: the defaults, a custom pattern set (every reducer, units, a
 * label, a regex without a literal, a pattern replacing a default), a tiny max_line, and custom
 * patterns only with a small max_line. */
static const char *const CONFS[] = {
    "",
    "patterns = ("
    " { name = \"loss\"; regex = \"loss=(\\\\S+)\";"
    "   reducers = [\"max\", \"min\", \"last\", \"first\", \"mean\", \"count\"]; },"
    " { name = \"tok\"; metric = \"tokens\"; regex = \"tok=(?<value>[0-9.,]+)(?<unit>[kMGb])?\";"
    "   reducers = \"max\"; },"
    " { name = \"run\"; regex = \"run-(\\\\w+)\"; label = true; },"
    " { name = \"acc\"; regex = \"(?:acc|accuracy)[:=]\\\\s*(\\\\S+)\"; reducers = [\"last\", \"count\"];"
    "   case_insensitive = false; },"
    " { name = \"eval_success_rate\"; regex = \"success[ =:]+(\\\\S+)\"; metric = \"eval_success_rate\"; }"
    ");",
    "max_line = 64;",
    "defaults = false; max_line = 128; patterns = ("
    " { name = \"loss\"; regex = \"([0-9.]+) loss\"; reducers = [\"min\", \"last\"]; },"
    " { name = \"step\"; regex = \"step (\\\\d+)\"; reducers = [\"max\", \"count\"]; prefilter = \"\"; }"
    ");",
};
#define N_CONFS (sizeof(CONFS) / sizeof(CONFS[0]))

struct instance {
    mock_host m;
    const relhost_plugin *pl;
    struct metrics_regex_conf conf;
    optstore *st;
    void *inst;
};

static struct instance instances[N_CONFS];

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "feed_fuzz: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    abort();
}

/* Each conf is opened once (compiling its regexes); every input opens fresh jobs on it. */
static struct instance *instance_of(size_t c)
{
    struct instance *r = &instances[c];
    if (r->pl != NULL)
        return r;
    mock_host_init(&r->m);
    if (relhost_plugin_entry(&r->m.host, &r->pl) != 0)
        die("relhost_plugin_entry failed");
    if (options_fill_text(r->pl, &r->conf, CONFS[c], &r->st) != 0)
        die("conf %zu does not parse: %s", c, error_last());
    if (r->pl->metrics->open(&r->m.ctx, &r->conf, &r->inst) != 0)
        die("conf %zu does not open: %s", c, mock_host_last_fail(&r->m));
    mock_host_reset(&r->m);
    return r;
}

/* A growable text buffer for what one run posted. */
struct text {
    char *s;
    size_t n, cap;
};

static void add(struct text *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (k < 0)
        die("vsnprintf");
    if (t->n + (size_t)k + 1 > t->cap) {
        t->cap = (t->n + (size_t)k + 1) * 2;
        t->s = realloc(t->s, t->cap);
        if (t->s == NULL)
            die("out of memory");
    }
    va_start(ap, fmt);
    vsnprintf(t->s + t->n, t->cap - t->n, fmt, ap);
    va_end(ap);
    t->n += (size_t)k;
}

/* Everything posted, in order; a metric's value as its bits (every NaN alike). */
static void dump(const mock_host *m, int collect_rc, struct text *t)
{
    add(t, "collect %d\n", collect_rc);
    for (size_t i = 0; i < m->n_metrics; i++) {
        const mock_metric *mm = &m->metrics[i];
        uint64_t bits = 0;
        if (isnan(mm->value)) {
            add(t, "metric %s nan", mm->key);
        } else {
            memcpy(&bits, &mm->value, sizeof bits);
            add(t, "metric %s %016llx (%.17g)", mm->key, (unsigned long long)bits, mm->value);
        }
        add(t, " %s %s %llu\n", mm->reducer ? mm->reducer : "-", mm->pattern ? mm->pattern : "-",
            (unsigned long long)mm->samples);
    }
    for (size_t i = 0; i < m->n_labels; i++)
        add(t, "label %s=%s\n", m->labels[i].key, m->labels[i].value);
    for (size_t i = 0; i < m->n_notes; i++)
        add(t, "note %s\n", m->notes[i]);
    for (size_t i = 0; i < m->n_fails; i++)
        add(t, "fail %s\n", m->fails[i]);
}

/* A small deterministic generator for chunk sizes (xorshift32; never seeded with 0). */
static uint32_t next(uint32_t *s)
{
    uint32_t x = *s ? *s : 0x9e3779b9u;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

enum mode { RANDOM_SMALL, RANDOM_ANY, FIXED, ONE_CUT, BYTES };

/* The size of the next chunk at offset `at` of a `len`-byte log (first: the first chunk; only a
 * first chunk, or the one chunk of an empty log, may be empty). */
static size_t chunk_size(enum mode mode, uint32_t seed, uint32_t *state, size_t at, size_t len,
                         int first)
{
    size_t left = len - at, k;
    switch (mode) {
    case RANDOM_SMALL: k = 1 + next(state) % 16; break;
    case RANDOM_ANY: k = 1 + next(state) % (left ? left : 1); break;
    case FIXED: k = 1 + seed % 97; break;
    case ONE_CUT: k = first ? seed % (len + 1) : left; break;
    default: k = 1; break;
    }
    return k < left ? k : left;
}

/* Feed log in the chunks the mode gives (mode < 0: one chunk), collect, return the dump. */
static char *run(struct instance *r, const uint8_t *log, size_t len, int mode, uint32_t seed)
{
    const relhost_metrics_ops *ops = r->pl->metrics;
    void *jobp = NULL;
    struct text t = {0};
    uint32_t state = seed;
    mock_host_reset(&r->m);
    if (ops->job_open(&r->m.ctx, r->inst, NULL, &jobp) != 0)
        die("job_open failed: %s", mock_host_last_fail(&r->m));
    struct metrics_regex_job *job = jobp;
    size_t max_line = ((struct metrics_regex *)r->inst)->max_line;
    for (size_t at = 0, first = 1; first || at < len; first = 0) {
        size_t k = mode < 0 ? len : chunk_size((enum mode)mode, seed, &state, at, len, (int)first);
        char *chunk = malloc(k ? k : 1); /* exactly the chunk: an over-read is an ASan report */
        if (chunk == NULL)
            die("out of memory");
        if (k)
            memcpy(chunk, log + at, k);
        int rc = ops->feed(&r->m.ctx, job, chunk, k);
        free(chunk);
        if (rc != 0)
            add(&t, "feed %d at %zu\n", rc, at);
        if (job->carry_cap > max_line)
            die("carry of %zu bytes, max_line %zu", job->carry_cap, max_line);
        at += k;
    }
    int crc = ops->collect(&r->m.ctx, job);
    dump(&r->m, crc, &t);
    ops->job_close(job);
    return t.s;
}

static void compare(const char *whole, const char *chunked, const char *how, size_t conf,
                    uint32_t seed, size_t len)
{
    if (strcmp(whole, chunked) == 0)
        return;
    fprintf(stderr,
            "feed_fuzz: conf %zu, %zu-byte log: %s (seed %u) posts\n%s\nbut one chunk posts\n%s\n",
            conf, len, how, seed, chunked, whole);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const mode_names[] = {"1-16 byte chunks", "random chunks",
                                             "fixed-size chunks", "one cut"};
    size_t conf = 0;
    int mode = RANDOM_SMALL;
    uint32_t seed = 0;
    if (size >= 5) {
        conf = (data[0] & 3u) % N_CONFS;
        mode = (data[0] >> 2) & 3;
        seed = (uint32_t)data[1] | (uint32_t)data[2] << 8 | (uint32_t)data[3] << 16 |
               (uint32_t)data[4] << 24;
        data += 5;
        size -= 5;
    }
    struct instance *r = instance_of(conf);
    char *whole = run(r, data, size, -1, 0);
    char *chunked = run(r, data, size, mode, seed);
    compare(whole, chunked, mode_names[mode], conf, seed, size);
    free(chunked);
    if (size <= 256) { /* short logs: one byte at a time too */
        chunked = run(r, data, size, BYTES, 0);
        compare(whole, chunked, "1-byte chunks", conf, 0, size);
        free(chunked);
    }
    free(whole);
    return 0;
}
