/* SPDX-License-Identifier: MIT */
/*
 * crash_restarts - a fake runner for tests/crash/crash.py: it runs nothing. A job's env
 * FAKE_RESTARTS="a,b,...,z" is what its polls report, one number per poll: RUNNING with a
 * restarts, then b, ..., and at the last number ENDED (exited 0) with z restarts. FAKE_LOG, when
 * set, is written to the job's log at submit (a [SUMMARY] marker for the metrics source).
 */
#include <relhost/plugin.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_POLLS 16

struct fake_job {
    int restarts[MAX_POLLS];
    size_t n, next;
};

static const relhost_option crash_restarts_options[] = {{0}};

static const relhost_host *host;

static const char *env_of(const relhost_job_spec *spec, const char *name)
{
    size_t len = strlen(name);
    for (size_t i = 0; spec->env && spec->env[i]; i++)
        if (strncmp(spec->env[i], name, len) == 0 && spec->env[i][len] == '=')
            return spec->env[i] + len + 1;
    return NULL;
}

static int crash_restarts_open(const relhost_ctx *ctx, const void *conf, void **inst)
{
    (void)ctx;
    (void)conf;
    *inst = NULL;
    return 0;
}

static int crash_restarts_submit(const relhost_ctx *ctx, void *inst, const relhost_job_spec *spec,
                                 char id[257], void **handle)
{
    const char *counts = env_of(spec, "FAKE_RESTARTS"), *log = env_of(spec, "FAKE_LOG");
    struct fake_job *j = calloc(1, sizeof *j);
    (void)inst;
    if (!j) {
        host->fail(ctx, "out of memory");
        return RELHOST_ENOMEM;
    }
    for (const char *s = counts ? counts : "0"; *s && j->n < MAX_POLLS;
         s += strcspn(s, ","), s += *s == ',')
        j->restarts[j->n++] = atoi(s);
    if (log) {
        FILE *f = fopen(spec->log_path, "ae");
        if (f) {
            fprintf(f, "%s\n", log);
            fclose(f);
        }
    }
    snprintf(id, 257, "fake-%s", spec->key);
    *handle = j;
    return 0;
}

static int crash_restarts_poll(const relhost_ctx *ctx, void *inst, relhost_job_status *jobs,
                               size_t n, size_t elem_size, double *next_poll_s)
{
    (void)ctx;
    (void)inst;
    for (size_t i = 0; i < n; i++) {
        relhost_job_status *st = (relhost_job_status *)(void *)((char *)jobs + i * elem_size);
        struct fake_job *j = st->runner_handle;
        if (!j) {
            st->state = RELHOST_JOB_LOST;
            continue;
        }
        st->restarts = j->restarts[j->next];
        if (++j->next < j->n) {
            st->state = RELHOST_JOB_RUNNING;
            continue;
        }
        j->next = j->n - 1;
        st->state = RELHOST_JOB_ENDED;
        st->end = RELHOST_END_EXITED;
        st->exit_code = 0;
        snprintf(st->engine_state, sizeof st->engine_state, "EXITED");
    }
    *next_poll_s = 0.02;
    return 0;
}

static void crash_restarts_release(void *inst, void *handle)
{
    (void)inst;
    free(handle);
}

static void crash_restarts_close(void *inst) { (void)inst; }

static const relhost_runner_ops crash_restarts_ops = {
    .struct_size = sizeof(relhost_runner_ops),
    .open = crash_restarts_open,
    .submit = crash_restarts_submit,
    .poll = crash_restarts_poll,
    .release = crash_restarts_release,
    .close = crash_restarts_close,
};

static const relhost_plugin crash_restarts_plugin = {
    RELHOST_PLUGIN_HEADER,
    .name = "crash_restarts",
    .version = "1.0.0",
    .description = "fake runner: polls report the restart counts a job's env asks for",
    .options = crash_restarts_options,
    .option_size = sizeof(relhost_option),
    .conf_size = 0,
    .runner = &crash_restarts_ops,
};

RELHOST_EXPORT int relhost_plugin_entry(const relhost_host *h, const relhost_plugin **out)
{
    host = h;
    *out = &crash_restarts_plugin;
    return 0;
}
