/* SPDX-License-Identifier: MIT */
/*
 * extract_driver - time the real metrics_regex.so on a log file, the way the host feeds it.
 *
 *   extract_driver PLUGIN.so LOG [CHUNK_BYTES|host] [CONF_TEXT]
 *
 * Loads the plugin with dlopen, gets its descriptor from relhost_plugin_entry, fills the conf
 * with the option table's defaults through the host's own options_fill_defaults() (or from
 * CONF_TEXT with options_fill_text()), and feeds the file through feed() as the host does
 * (core/run/jobs_log.c: the file's bytes through mapped windows of up to LOGMAP_WINDOW, fed in
 * LOGMAP_PIECE pieces, a remainder under LOGMAP_MIN with 64 KiB pread()s; CHUNK_BYTES absent or
 * "host"), or in plain reads of CHUNK_BYTES (a number), then collect(). Prints the metrics
 * posted and one line of figures: bytes, seconds, MB/s (10^6 bytes), peak RSS in KiB
 * (getrusage ru_maxrss).
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/error.h"
#include "plan/options.h"
#include "run/logmap.h"

/* A minimal host: evidence is printed, not kept, so the driver's own memory stays flat. */
static void drv_log(const relhost_ctx *ctx, relhost_level level, const char *fmt, ...)
{
    va_list ap;
    (void)ctx;
    va_start(ap, fmt);
    fprintf(stderr, "log[%d]: ", (int)level);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static void drv_fail(const relhost_ctx *ctx, const char *fmt, ...)
{
    va_list ap;
    (void)ctx;
    va_start(ap, fmt);
    fprintf(stderr, "extract_driver: plugin failed: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static const char *drv_where(const relhost_ctx *ctx, const void *field)
{
    (void)ctx;
    (void)field;
    return "the plan";
}

static int drv_metric_set(const relhost_ctx *ctx, const char *key, double value,
                          const relhost_metric_info *info)
{
    (void)ctx;
    printf("metric %s = %.17g (%s, %llu samples)\n", key, value,
           info && info->reducer ? info->reducer : "?",
           info ? (unsigned long long)info->samples : 0ULL);
    return 0;
}

static int drv_label_set(const relhost_ctx *ctx, const char *key, const char *value)
{
    (void)ctx;
    printf("label %s = %s\n", key, value);
    return 0;
}

static int drv_note_add(const relhost_ctx *ctx, const char *fmt, ...)
{
    va_list ap;
    (void)ctx;
    va_start(ap, fmt);
    printf("note ");
    vprintf(fmt, ap);
    putchar('\n');
    va_end(ap);
    return 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc < 3 || argc > 5) {
        fprintf(stderr, "usage: extract_driver PLUGIN.so LOG [CHUNK_BYTES|host] [CONF_TEXT]\n");
        return 2;
    }
    /* no CHUNK_BYTES, or "host": as the host reads; a number: plain reads of that size */
    int host_way = argc <= 3 || strcmp(argv[3], "host") == 0;
    size_t chunk = host_way ? 0 : (size_t)strtoull(argv[3], NULL, 10);
    if (chunk == 0)
        chunk = 64 * 1024;
    logmap_catch();

    relhost_host host = {
        .struct_size = sizeof(host),
        .abi_major = RELHOST_ABI_MAJOR,
        .abi_minor = RELHOST_ABI_MINOR,
        .log = drv_log,
        .fail = drv_fail,
        .where = drv_where,
        .metric_set = drv_metric_set,
        .label_set = drv_label_set,
        .note_add = drv_note_add,
        .free = free,
    };
    relhost_ctx ctx = {.struct_size = sizeof(ctx), .mode = RELHOST_MODE_RUN, .version = "bench"};

    void *dl = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (dl == NULL) {
        fprintf(stderr, "extract_driver: %s\n", dlerror());
        return 1;
    }
    relhost_plugin_entry_fn entry = (relhost_plugin_entry_fn)dlsym(dl, RELHOST_ENTRY_SYMBOL);
    const relhost_plugin *pl = NULL;
    if (entry == NULL || entry(&host, &pl) != 0 || pl->metrics == NULL) {
        fprintf(stderr, "extract_driver: %s is not a metrics plugin\n", argv[1]);
        return 1;
    }
    void *conf = calloc(1, pl->conf_size ? pl->conf_size : 1);
    optstore *st = NULL;
    int rc =
        argc > 4 ? options_fill_text(pl, conf, argv[4], &st) : options_fill_defaults(pl, conf, &st);
    if (rc != 0) {
        fprintf(stderr, "extract_driver: conf: %s\n", error_last());
        return 1;
    }
    int fd = open(argv[2], O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        perror(argv[2]);
        return 1;
    }
    posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    char *buf = malloc(chunk);
    void *inst = NULL, *job = NULL;
    double t0 = now_s();
    rc = pl->metrics->open(&ctx, conf, &inst);
    if (rc == 0)
        rc = pl->metrics->job_open(&ctx, inst, NULL, &job);
    unsigned long long total = 0;
    while (rc == 0 && buf != NULL) {
        struct stat fs;
        size_t span;
        const char *p;
        /* the host's way (core/run/jobs_log.c): the already-written part through mapped windows,
         * fed in LOGMAP_PIECE pieces; a remainder under LOGMAP_MIN with pread() */
        if (host_way && fstat(fd, &fs) == 0 && S_ISREG(fs.st_mode) &&
            (span = logmap_span(total, (uint64_t)fs.st_size)) != 0 &&
            (p = logmap_map(fd, total, span)) != NULL) {
            for (size_t o = 0; rc == 0 && o < span && !logmap_cut(); o += LOGMAP_PIECE)
                rc = pl->metrics->feed(&ctx, job, p + o,
                                       span - o < LOGMAP_PIECE ? span - o : LOGMAP_PIECE);
            total += span;
            if (logmap_unmap()) {
                fprintf(stderr, "extract_driver: %s shrank while it was read\n", argv[2]);
                rc = 1;
            }
            continue;
        }
        ssize_t got = pread(fd, buf, chunk, (off_t)total);
        if (got <= 0)
            break;
        total += (unsigned long long)got;
        rc = pl->metrics->feed(&ctx, job, buf, (size_t)got);
    }
    if (rc == 0)
        rc = pl->metrics->collect(&ctx, job);
    double secs = now_s() - t0;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("bytes=%llu seconds=%.3f mb_per_s=%.1f maxrss_kib=%ld\n", total, secs,
           secs > 0 ? (double)total / 1e6 / secs : 0.0, ru.ru_maxrss);
    if (job != NULL)
        pl->metrics->job_close(job);
    if (inst != NULL)
        pl->metrics->close(inst);
    close(fd);
    free(buf);
    optstore_free(st);
    free(conf);
    dlclose(dl);
    return rc == 0 ? 0 : 1;
}
