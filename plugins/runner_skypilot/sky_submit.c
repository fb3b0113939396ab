/* SPDX-License-Identifier: MIT */
/*
 * runner_skypilot: submit. Writes the task file next to the job's log and spawns `sky jobs launch
 * -y -d --name KEY` in the background; the id comes with a later poll.
 */
#include "runner_skypilot_int.h"
#include "../common/pl_host.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- submit ------------------------------------------------------------------------------- */

/* What sky_task_build() needs of the job and the runner's options. */
static void task_in(sky_task_in *in, const struct runner_skypilot *r, const relhost_job_spec *spec)
{
    const struct runner_skypilot_conf *c = r->conf;
    memset(in, 0, sizeof *in);
    in->key = spec->key;
    in->argv = spec->argv;
    in->env = spec->env;
    in->cwd = spec->cwd;
    in->timeout_s = spec->timeout_s;
    in->nodes = spec->nodes;
    in->gpus = spec->gpus;
    in->runner_args = &spec->runner_args;
    in->accelerators = c->accelerators;
    in->use_spot = c->use_spot;
    in->max_restarts = (int)c->max_restarts;
    in->sync_workdir = c->sync_workdir;
    in->remote_timeout = c->remote_timeout;
    in->tmpl = r->tmpl;
}

/* `sky jobs launch -y -d --name KEY [flags] TASK.yaml` into argv (t->nargs + 12 entries). */
static void launch_argv(const char **argv, const struct runner_skypilot *r,
                        const relhost_job_spec *spec, const sky_task_out *t, const char *yaml_path)
{
    size_t n = 0;
    argv[n++] = r->sky;
    argv[n++] = "jobs";
    argv[n++] = "launch";
    argv[n++] = "-y";
    argv[n++] = "-d";
    argv[n++] = "--name";
    argv[n++] = spec->key;
    for (size_t i = 0; i < t->nargs; i++)
        argv[n++] = t->args[i];
    argv[n++] = yaml_path;
    argv[n] = NULL;
}

int runner_skypilot_submit(const relhost_ctx *ctx, void *inst, const relhost_job_spec *spec,
                           char id[257], void **handle)
{
    struct runner_skypilot *r = inst;
    const struct runner_skypilot_conf *c = r->conf;
    sky_task_in in;
    sky_task_out t;
    char err[512], *folder = NULL, *yaml_path = NULL, *out_path = NULL;
    const char **argv = NULL, **env = NULL;
    relhost_proc_spec ps;
    relhost_proc *p = NULL;
    struct sky_rec *rec;
    int rc;

    (void)id;
    task_in(&in, r, spec);
    rc = sky_task_build(&in, &t, err, sizeof err);
    if (rc != 0) {
        pl_host->fail(ctx, "validation %s: %s", spec->validation, err);
        sky_task_out_free(&t);
        return rc;
    }
    folder = sky_log_folder(spec->log_path);
    yaml_path = folder ? sky_job_file(folder, spec->key, ".sky.yaml") : NULL;
    out_path = folder ? sky_job_file(folder, spec->key, ".sky-launch.log") : NULL;
    argv = calloc(t.nargs + 12, sizeof *argv);
    if (!yaml_path || !out_path || !argv) {
        pl_host->fail(ctx, "out of memory");
        rc = RELHOST_ENOMEM;
        goto out;
    }
    if (sky_write_file(yaml_path, t.yaml.s, t.yaml.len) != 0) {
        pl_host->fail(ctx, "cannot write the task file %s: %s", yaml_path, strerror(errno));
        rc = RELHOST_EIO;
        goto out;
    }
    /* A launch of an earlier run of this attempt may have left its id in the file. */
    if (sky_write_file(out_path, "", 0) != 0) {
        pl_host->fail(ctx, "cannot write %s: %s", out_path, strerror(errno));
        rc = RELHOST_EIO;
        goto out;
    }
    launch_argv(argv, r, spec, &t, yaml_path);
    memset(&ps, 0, sizeof ps);
    ps.struct_size = sizeof ps;
    ps.argv = argv;
    /* The CLI's own credentials, then the values behind --env NAME (never on argv). */
    env = calloc(r->ncli_env + t.nenv + 1, sizeof *env);
    if (!env) {
        pl_host->fail(ctx, "out of memory");
        rc = RELHOST_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < r->ncli_env; i++)
        env[i] = r->cli_env[i];
    for (size_t i = 0; i < t.nenv; i++)
        env[r->ncli_env + i] = t.env[i];
    ps.env = env;
    ps.cwd = spec->cwd;
    ps.timeout_s = c->launch_timeout;
    ps.grace_s = 10;
    ps.log_path = out_path;
    rec = sky_rec_new(r, spec->key, NULL);
    if (!rec) {
        pl_host->fail(ctx, "out of memory");
        rc = RELHOST_ENOMEM;
        goto out;
    }
    rc = pl_host->proc_spawn(ctx, &ps, &p);
    if (rc != 0) {
        sky_rec_unlink(r, rec);
        sky_rec_free(rec);
        goto out; /* the process service explained it */
    }
    rec->launch = p;
    rec->launch_out = out_path;
    out_path = NULL;
    rec->state = RELHOST_JOB_SUBMITTING;
    *handle = rec;
    rc = RELHOST_EINPROGRESS;
    pl_host->log(ctx, RELHOST_LOG_DEBUG, "launching %s (task %s)", spec->key, yaml_path);
out:
    free(argv);
    free(env);
    free(folder);
    free(yaml_path);
    free(out_path);
    sky_task_out_free(&t);
    return rc;
}
