/* SPDX-License-Identifier: MIT */
/*
 * metrics_wandb: collect(). When the job ends: the run id, entity and project chosen, the run
 * read (run folder, API), each metric posted, and the run's label, URL and notes.
 */
#include "../common/pl_host.h"
#include "metrics_wandb_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void wb_collect_free(struct wb_collect *c)
{
    free(c->run_dir);
    free(c->run_id_opt);
    json_decref(c->summary);
    json_decref(c->history_keys);
    json_decref(c->hist_root);
    free(c->spec_of);
}

int wb_oom(struct wb_collect *c, const char *what)
{
    pl_host->fail(c->ctx, "out of memory %s", what);
    return RELHOST_ENOMEM;
}

/* Expand {validation}, {attempt} (and the run's names) in a template option; *out is ours. */
int wb_expand(struct wb_collect *c, const char *tmpl, const char *option, char **out)
{
    const char *vars[4];
    size_t n = 0;
    *out = NULL;
    if (c->job->validation != NULL) {
        vars[2 * n] = "validation";
        vars[2 * n + 1] = c->job->validation;
        n++;
    }
    if (c->job->attempt != NULL) {
        vars[2 * n] = "attempt";
        vars[2 * n + 1] = c->job->attempt;
        n++;
    }
    if (pl_host->expand == NULL) {
        if (strchr(tmpl, '{') != NULL) {
            pl_host->fail(c->ctx,
                          "%s \"%s\" has placeholders but this host offers no template "
                          "service",
                          option, tmpl);
            return RELHOST_ENOTSUP;
        }
        *out = wb_strdup(tmpl);
        return *out != NULL ? 0 : wb_oom(c, "expanding a template");
    }
    char *x = NULL;
    int rc = pl_host->expand(c->ctx, tmpl, vars, n, &x);
    if (rc != 0)
        return rc; /* the host explained which placeholder */
    *out = wb_strdup(x);
    if (pl_host->free != NULL)
        pl_host->free(x);
    return *out != NULL ? 0 : wb_oom(c, "expanding a template");
}

/* ---- The run ------------------------------------------------------------------------------- */

int wb_needs_history(const struct metrics_wandb_metric *m) { return m->reducer != WB_LAST; }

/* Choose the run id, entity and project. need_api: all three are required. */
static int wb_resolve(struct wb_collect *c, int need_api)
{
    struct metrics_wandb_job *job = c->job;
    const struct metrics_wandb_conf *conf = c->conf;

    if (conf->run_id != NULL) {
        int rc = wb_expand(c, conf->run_id, "run_id", &c->run_id_opt);
        if (rc != 0)
            return rc;
    }
    if (c->run_id_opt != NULL && c->run_id_opt[0] != '\0') {
        c->run_id = c->run_id_opt;
        snprintf(c->run_id_from, sizeof(c->run_id_from), "the run_id option");
    } else if (job->env_run_id != NULL && job->env_run_id[0] != '\0') {
        c->run_id = job->env_run_id;
        snprintf(c->run_id_from, sizeof(c->run_id_from), "$%s in the job's environment",
                 conf->run_id_env);
    } else if (c->dir_id[0] != '\0') {
        /* the plan named this folder: it outranks a URL we merely spotted in the log */
        c->run_id = c->dir_id;
        snprintf(c->run_id_from, sizeof(c->run_id_from), "the name of run_dir");
    } else if (job->n_urls > 0) {
        c->run_id = job->last.id;
        snprintf(c->run_id_from, sizeof(c->run_id_from), "the run URL in the log");
    }
    if (c->run_id == NULL && need_api) {
        char why[1024];
        size_t len = 0;
        wb_cat(why, sizeof(why), &len, "no W&B run id: ");
        if (conf->run_id != NULL)
            wb_cat(why, sizeof(why), &len, "run_id \"%s\" expanded to an empty string; ",
                   conf->run_id);
        else
            wb_cat(why, sizeof(why), &len, "no run_id option; ");
        if (conf->run_id_env == NULL)
            wb_cat(why, sizeof(why), &len, "no run_id_env; ");
        else
            wb_cat(why, sizeof(why), &len, "$%s is %s the job's environment; ", conf->run_id_env,
                   job->env_run_id != NULL ? "empty in" : "not in");
        wb_cat(why, sizeof(why), &len,
               "the log printed no W&B run URL "
               "(https://wandb.ai/<entity>/<project>/runs/<id>");
        if (!wb_public_cloud(c->inst->auth))
            wb_cat(why, sizeof(why), &len, " or on %s", c->inst->auth);
        wb_cat(why, sizeof(why), &len, ")");
        if (job->long_lines > 0)
            wb_cat(why, sizeof(why), &len,
                   " in the lines it searched (%llu line%s longer than "
                   "%d bytes were skipped)",
                   (unsigned long long)job->long_lines, job->long_lines == 1 ? "" : "s",
                   WB_LINE_MAX);
        if (c->run_dir != NULL)
            wb_cat(why, sizeof(why), &len, "; run_dir %s is not named run-<date>-<id>", c->run_dir);
        wb_cat(why, sizeof(why), &len,
               ". Let the job print its run URL (wandb does unless "
               "silenced), or set run_id or run_id_env");
        pl_host->fail(c->ctx, "%s", why);
        return RELHOST_ENOTFOUND;
    }
    if (c->run_id != NULL && !wb_valid_name(c->run_id)) {
        char shown[64];
        wb_clean(shown, sizeof(shown), c->run_id, strlen(c->run_id));
        pl_host->fail(c->ctx,
                      "\"%s\" (from %s) is not a W&B run id: ids are 1 to %d of A-Z a-z 0-9 "
                      "_ . -",
                      shown, c->run_id_from, WB_NAME_MAX);
        return RELHOST_EINVAL;
    }

    /* The configured names win; else the URL's (it names the run exactly); else the job's. */
    c->entity = conf->entity != NULL ? conf->entity
                : job->n_urls > 0    ? job->last.entity
                                     : job->env_entity;
    c->project = conf->project != NULL ? conf->project
                 : job->n_urls > 0     ? job->last.project
                                       : job->env_project;
    if (need_api && (c->entity == NULL || c->entity[0] == '\0' || c->project == NULL ||
                     c->project[0] == '\0')) {
        pl_host->fail(c->ctx,
                      "no W&B %s for run %s (from %s): set %s in the plan, let the job print its "
                      "run URL, or give the job WANDB_ENTITY and WANDB_PROJECT",
                      c->entity == NULL || c->entity[0] == '\0' ? "entity" : "project", c->run_id,
                      c->run_id_from,
                      c->entity == NULL || c->entity[0] == '\0' ? "entity" : "project");
        return RELHOST_EINVAL;
    }
    if (c->run_id != NULL && c->entity != NULL && c->project != NULL)
        snprintf(c->run_path, sizeof(c->run_path), "%s/%s/%s", c->entity, c->project, c->run_id);
    else if (c->run_id != NULL)
        snprintf(c->run_path, sizeof(c->run_path), "%s", c->run_id);
    else
        snprintf(c->run_path, sizeof(c->run_path), "in %s", c->run_dir ? c->run_dir : "?");
    return 0;
}

/* ---- Evidence and collect() ----------------------------------------------------------------- */

/* The run's label, its URL in a note and as an artifact, and what else is worth knowing. */
static void wb_evidence(struct wb_collect *c)
{
    struct metrics_wandb_job *job = c->job;
    char url[WB_URL_MAX + 3 * WB_NAME_MAX + 16];

    if (c->run_id == NULL)
        return;
    if (pl_host->label_set != NULL)
        pl_host->label_set(c->ctx, "wandb_run", c->run_path);
    if (c->dir_id[0] != '\0' && strcmp(c->dir_id, c->run_id) != 0)
        pl_host->note_add(c->ctx, "run_dir %s holds run %s but the run id from %s is %s; %s",
                          c->run_dir, c->dir_id, c->run_id_from, c->run_id,
                          c->summary_from_file
                              ? "the summary is the folder's, any history the API's"
                              : "the API's run was read");
    if (job->n_urls > 0 && strcmp(job->last.id, c->run_id) != 0)
        pl_host->note_add(c->ctx,
                          "the log's last W&B run URL names run %s, but run %s (from %s) was "
                          "read",
                          job->last.id, c->run_id, c->run_id_from);
    if (job->several_runs)
        pl_host->note_add(c->ctx,
                          "the log printed URLs of more than one W&B run (first %s/%s/%s, last "
                          "%s/%s/%s): a restarted job; the last one counts",
                          job->first.entity, job->first.project, job->first.id, job->last.entity,
                          job->last.project, job->last.id);
    if (c->entity == NULL || c->project == NULL)
        return;
    if (job->n_urls > 0 && strcmp(job->last.id, c->run_id) == 0 &&
        strcmp(job->last.entity, c->entity) == 0 && strcmp(job->last.project, c->project) == 0)
        snprintf(url, sizeof(url), "%s", job->last.url);
    else
        snprintf(url, sizeof(url), "%s/%s/%s/runs/%s", c->inst->app_url, c->entity, c->project,
                 c->run_id);
    pl_host->note_add(c->ctx, "W&B run %s%s%s%s (run id from %s, read from %s): %s", c->run_path,
                      c->state[0] ? " (state " : "", c->state, c->state[0] ? ")" : "",
                      c->run_id_from, wb_where_read(c), url);
    if (pl_host->artifact_add != NULL)
        pl_host->artifact_add(c->ctx, "url", url, NULL);
    /* The reports link the run through the reserved label (ABI 1.4), which is https only: a
     * self-hosted server on plain http keeps its note and artifact. */
    if (pl_host->label_set != NULL && strncmp(url, "https://", 8) == 0)
        pl_host->label_set(c->ctx, RELHOST_LABEL_RUN_URL, url);
    if (c->state[0] && strcmp(c->state, "finished") != 0)
        pl_host->note_add(c->ctx, "W&B run %s is %s, not finished: its summary may not be final",
                          c->run_path, c->state);
    if (job->n_urls > 0 &&
        (strcmp(job->last.entity, c->entity) != 0 || strcmp(job->last.project, c->project) != 0))
        pl_host->note_add(c->ctx,
                          "the log's run URL names %s/%s but the plan says %s/%s; the plan's "
                          "entity and project were used",
                          job->last.entity, job->last.project, c->entity, c->project);
}

int metrics_wandb_collect(const relhost_ctx *ctx, void *jobp)
{
    struct metrics_wandb_job *job = jobp;
    struct wb_collect c = {
        .ctx = ctx, .job = job, .inst = job->inst, .conf = job->inst->conf, .history_lines = -1};
    int rc = 0, any_history = 0;

    /* A log cut off without its last line end still ends in a line. */
    if (job->carry_len > 0 && !job->skipping)
        wb_scan_line(job, job->carry, job->carry_len);
    job->carry_len = 0;
    job->skipping = 0;

    for (size_t i = 0; i < c.conf->metrics.n; i++)
        any_history |= wb_needs_history(wb_row(c.conf, i));
    if (c.conf->run_dir != NULL)
        rc = wb_open_run_dir(&c);
    int need_api = !c.summary_from_file || any_history;
    if (rc == 0)
        rc = wb_resolve(&c, need_api);
    if (rc == 0 && need_api) {
        if (!RELHOST_HAS(pl_host, http_request) || pl_host->http_request == NULL) {
            pl_host->fail(
                ctx,
                "no HTTP service: this relhost does not offer host->http_request yet, so "
                "W&B run %s cannot be read from %s (a run_dir with files/wandb-summary.json "
                "needs no HTTP for reducer last)",
                c.run_path, c.inst->graphql_url);
            rc = RELHOST_ENOTSUP;
        } else if (pl_host->secret == NULL || pl_host->secret(ctx, c.conf->api_key_env) == NULL) {
            /* secret() also registers the key for redaction before any request is made */
            pl_host->fail(
                ctx,
                "no W&B API key: $%s is not set (or empty) in relhost's environment; "
                "export it (relhost sends it to %s as HTTP basic auth, never to jobs or logs) "
                "or name another variable with api_key_env",
                c.conf->api_key_env, c.inst->auth);
            rc = RELHOST_EINVAL;
        }
    }
    if (rc == 0 && need_api && !c.summary_from_file)
        rc = wb_fetch_run(&c);
    if (rc == 0 && need_api)
        rc = wb_fetch_history(&c);
    for (size_t i = 0; rc == 0 && i < c.conf->metrics.n; i++)
        rc = wb_metric(&c, i);
    if (rc == 0)
        wb_evidence(&c);
    wb_collect_free(&c);
    return rc;
}
