/* SPDX-License-Identifier: MIT */
/*
 * metrics_regex_feed - feed stdin to the real metrics_regex.so in seeded random chunks and print
 * what it posts as JSON lines, for the differential test (metrics_regex_diff.py).
 *
 *   metrics_regex_feed [--seed N] [--max-chunk N] [--conf TEXT] [--plugin PATH] < log
 *
 * Output, one object per line, in the order posted:
 *   {"metric":"sps_max","value":31000,"reducer":"max","samples":3}
 *   {"label":"termination_reason","value":"job_completed"}
 *   {"note":"..."}
 * Exit 0 when the plugin worked, 1 when it failed (the fail() message goes to stderr), 2 on usage.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mock_host.h"
#include "base/error.h"
#include "plan/options.h"

#ifndef METRICS_REGEX_SO
#define METRICS_REGEX_SO "metrics_regex.so"
#endif

static void json_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(out, "\\%c", *p);
        else if (*p < 0x20 || *p >= 0x7f)
            fprintf(out, "\\u%04x", *p); /* bytes, not code points: the test only compares */
        else
            fputc(*p, out);
    }
    fputc('"', out);
}

static int usage(void)
{
    fprintf(stderr, "usage: metrics_regex_feed [--seed N] [--max-chunk N] [--conf TEXT] "
                    "[--plugin PATH] < log\n");
    return 2;
}

int main(int argc, char **argv)
{
    unsigned long long seed = 1;
    size_t max_chunk = 4096;
    const char *conf_text = NULL, *so = METRICS_REGEX_SO;

    for (int i = 1; i < argc; i++) {
        if (i + 1 >= argc)
            return usage();
        if (strcmp(argv[i], "--seed") == 0)
            seed = strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--max-chunk") == 0)
            max_chunk = (size_t)strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--conf") == 0)
            conf_text = argv[++i];
        else if (strcmp(argv[i], "--plugin") == 0)
            so = argv[++i];
        else
            return usage();
    }
    if (max_chunk == 0)
        return usage();

    void *dl = dlopen(so, RTLD_NOW | RTLD_LOCAL);
    if (dl == NULL) {
        fprintf(stderr, "metrics_regex_feed: %s\n", dlerror());
        return 1;
    }
    relhost_plugin_entry_fn entry = (relhost_plugin_entry_fn)dlsym(dl, RELHOST_ENTRY_SYMBOL);
    mock_host m;
    mock_host_init(&m);
    const relhost_plugin *pl = NULL;
    if (entry == NULL || entry(&m.host, &pl) != 0 || pl->metrics == NULL) {
        fprintf(stderr, "metrics_regex_feed: %s is not a metrics plugin\n", so);
        return 1;
    }
    void *conf = calloc(1, pl->conf_size ? pl->conf_size : 1);
    optstore *st = NULL;
    int rc = conf_text ? options_fill_text(pl, conf, conf_text, &st)
                       : options_fill_defaults(pl, conf, &st);
    if (rc != 0) {
        fprintf(stderr, "metrics_regex_feed: conf: %s\n", error_last());
        return 1;
    }
    void *inst = NULL, *job = NULL;
    rc = pl->metrics->open(&m.ctx, conf, &inst);
    if (rc == 0)
        rc = pl->metrics->job_open(&m.ctx, inst, NULL, &job);

    /* Random chunk sizes in [1, max_chunk], from a seeded xorshift so runs repeat exactly. */
    char *buf = malloc(max_chunk);
    unsigned long long x = seed * 2654435761ULL + 0x9E3779B97F4A7C15ULL;
    while (rc == 0 && buf != NULL) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        size_t want = 1 + (size_t)(x % max_chunk);
        ssize_t got = read(STDIN_FILENO, buf, want);
        if (got <= 0)
            break;
        rc = pl->metrics->feed(&m.ctx, job, buf, (size_t)got);
    }
    if (rc == 0)
        rc = pl->metrics->collect(&m.ctx, job);

    for (size_t i = 0; i < m.n_metrics; i++) {
        printf("{\"metric\":");
        json_string(stdout, m.metrics[i].key);
        printf(",\"value\":%.17g,\"reducer\":", m.metrics[i].value);
        json_string(stdout, m.metrics[i].reducer ? m.metrics[i].reducer : "");
        printf(",\"samples\":%llu}\n", (unsigned long long)m.metrics[i].samples);
    }
    for (size_t i = 0; i < m.n_labels; i++) {
        printf("{\"label\":");
        json_string(stdout, m.labels[i].key);
        printf(",\"value\":");
        json_string(stdout, m.labels[i].value);
        printf("}\n");
    }
    for (size_t i = 0; i < m.n_notes; i++) {
        printf("{\"note\":");
        json_string(stdout, m.notes[i]);
        printf("}\n");
    }
    if (rc != 0)
        fprintf(stderr, "metrics_regex_feed: %s\n",
                mock_host_last_fail(&m) ? mock_host_last_fail(&m) : "failed");

    if (job != NULL)
        pl->metrics->job_close(job);
    if (inst != NULL)
        pl->metrics->close(inst);
    optstore_free(st);
    free(conf);
    free(buf);
    mock_host_free(&m);
    dlclose(dl);
    return rc == 0 ? 0 : 1;
}
