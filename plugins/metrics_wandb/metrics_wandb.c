/* SPDX-License-Identifier: MIT */
/*
 * metrics_wandb - a metrics source that reads a job's numbers from its Weights & Biases run.
 *
 * While the job runs, the host feeds its log; we only look for the run's URL in it (wandb prints
 * "View run at https://wandb.ai/<entity>/<project>/runs/<id>"), line by line in constant memory,
 * keeping the LAST one: a restarted job starts a new run and prints a new URL. When the job ends,
 * collect() finds the run id (the run_id option, the job's environment, the run_dir folder's
 * name, the log, in that order), reads the run's summary (a local run folder's
 * files/wandb-summary.json, or the W&B GraphQL API through the host's HTTP service) and, when a
 * metric needs more than the last value, its sampled history; each configured W&B key is reduced
 * and posted under its plan name with provenance.
 *
 * Outcomes follow DESIGN.md: a key the run does not have is not a failure of the source (nothing
 * is posted, a note names the keys the run does have, and the host's checks say "metric
 * missing"); a run we cannot find or read is (collect fails, the job is an ERROR). The API key is
 * only ever named by its environment variable: the host builds the basic-auth header, and sends
 * it over plain http only to a loopback address.
 *
 * HTTP failures follow the rule of every HTTP plugin (plugins/common/pl_http.h, "the retry
 * table"): collect returns RELHOST_ERETRY (retryable ERROR, exit 75) for the host's RELHOST_ERETRY
 * and for HTTP 5xx, 408, 429; RELHOST_EINVAL (not retryable, exit 3) for every other failure,
 * TLS and certificate errors and an unreadable reply body included.
 *
 * metrics_wandb_int.h lists the files and what each does.
 */
#include "../common/pl_host.h"
#include "metrics_wandb_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- Options --------------------------------------------------------------------------------- */

const char *const metrics_wandb_reducers[] = {"last", "max", "min", "mean", "mean_last_pct", NULL};

#define OPT(f, t, ...) PL_OPT(struct metrics_wandb_metric, f, t, __VA_ARGS__)
static const relhost_option metrics_wandb_metric_options[] = {
    OPT(name, STRING, .required = 1,
        .doc = "metric name posted to the host, as acceptance checks name it ([A-Za-z0-9_.-])"),
    OPT(key, STRING, .required = 1,
        .doc = "W&B key, e.g. \"overview/sps\"; a nested summary value may be named with dots"),
    OPT(reducer, ENUM, .def = "last", .choices = metrics_wandb_reducers,
        .doc = "last: the run summary's value (else the last history row); max, min, mean, "
               "mean_last_pct: over the sampled history"),
    OPT(last_pct, DOUBLE, .def = "25", .min = 0.01, .max = 100,
        .doc =
            "mean_last_pct: the mean of the last this-many percent of the sampled rows (at least "
            "one row)"),
    OPT(samples, INT, .def = "500", .min = 1, .max = 100000,
        .doc = "history rows W&B is asked to sample for this key (it returns at most this many)"),
    {0}};
#undef OPT

#define OPT(f, t, ...) PL_OPT(struct metrics_wandb_conf, f, t, __VA_ARGS__)
static const relhost_option metrics_wandb_options[] = {
    OPT(entity, STRING,
        .doc = "W&B entity (user or team); default: from the run URL in the log, else the job's "
               "WANDB_ENTITY"),
    OPT(project, STRING,
        .doc = "W&B project; default: from the run URL in the log, else the job's WANDB_PROJECT"),
    OPT(base_url, STRING,
        .doc = "W&B API address; default: relhost's $WANDB_BASE_URL, else https://api.wandb.ai"),
    OPT(api_key_env, SECRET_ENV, .def = "WANDB_API_KEY",
        .doc = "environment variable holding the W&B API key (sent as HTTP basic auth api:KEY)"),
    OPT(run_id, STRING, .flags = RELHOST_OPTF_TEMPLATE,
        .doc = "the run id, e.g. \"rh-{version}-{validation}\"; wins over run_id_env and the log"),
    OPT(run_id_env, STRING,
        .doc =
            "name of a variable in the job's environment holding the run id (e.g. WANDB_RUN_ID); "
            "wins over the log"),
    OPT(run_dir, STRING, .flags = RELHOST_OPTF_TEMPLATE | RELHOST_OPTF_PATH,
        .doc = "a local wandb run folder (wandb/run-<date>-<id>, or wandb/latest-run): the summary "
               "is read from its files/wandb-summary.json instead of the API"),
    OPT(metrics, GROUP_LIST, .required = 1, .sub = metrics_wandb_metric_options,
        .item_size = sizeof(struct metrics_wandb_metric),
        .doc = "what to post: ( { name = \"sps\"; key = \"overview/sps\"; reducer = \"max\"; }, "
               "... )"),
    OPT(timeout, DURATION, .def = "30s", .min = 1, .max = 600,
        .doc = "per HTTP attempt; one query, retries and waits included, takes at most 4x this"),
    {0}};
#undef OPT

/* ---- Instances and jobs ---------------------------------------------------------------------- */

static void metrics_wandb_close(void *instp) { free(instp); }

/* base_url: http(s), a host, a path at most; never credentials, a query or a fragment. */
static int wb_set_base(struct metrics_wandb *inst, const relhost_ctx *ctx, const char *url,
                       const char *from)
{
    const char *w = inst->conf->base_url != NULL ? pl_where(ctx, &inst->conf->base_url)
                                                 : "relhost's environment";
    size_t n = strlen(url);
    while (n > 0 && url[n - 1] == '/')
        n--;
    size_t i = wb_parse_origin(url, n, inst->auth, sizeof(inst->auth));
    int bad = i == 0 || n >= sizeof(inst->base) || (i < n && url[i] != '/');
    for (size_t k = 0; !bad && k < n; k++) {
        unsigned char ch = (unsigned char)url[k];
        bad = ch <= 0x20 || ch >= 0x7f || ch == '?' || ch == '#' || ch == '"' || ch == '\\';
    }
    if (memchr(url, '@', n) != NULL) {
        /* never echo it: the text before '@' is a password */
        pl_host->fail(ctx,
                      "%s (%s) must not carry credentials (user:password@): the API key is read "
                      "from the variable api_key_env names",
                      from, w);
        return RELHOST_EINVAL;
    }
    if (bad) {
        pl_host->fail(ctx,
                      "%s \"%s\" (%s) is not an http(s) URL such as https://api.wandb.ai or "
                      "http://wandb.example.com:8080",
                      from, url, w);
        return RELHOST_EINVAL;
    }
    memcpy(inst->base, url, n);
    inst->base[n] = '\0';
    snprintf(inst->base_from, sizeof(inst->base_from), "%s (%s)", from, w);
    snprintf(inst->graphql_url, sizeof(inst->graphql_url), "%s/graphql", inst->base);
    /* The public cloud serves its API and its pages on different hosts; a self-hosted server on
     * one. */
    if (strcmp(inst->auth, "api.wandb.ai") == 0)
        snprintf(inst->app_url, sizeof(inst->app_url), "https://wandb.ai");
    else
        snprintf(inst->app_url, sizeof(inst->app_url), "%s", inst->base);
    return 0;
}

static int metrics_wandb_open(const relhost_ctx *ctx, const void *confp, void **out)
{
    const struct metrics_wandb_conf *conf = confp;
    int rc;

    *out = NULL;
    struct metrics_wandb *inst = calloc(1, sizeof(*inst));
    if (inst == NULL) {
        pl_host->fail(ctx, "out of memory opening metrics_wandb");
        return RELHOST_ENOMEM;
    }
    inst->conf = conf;

    if (conf->metrics.n == 0) {
        pl_host->fail(ctx,
                      "metrics (%s) is empty: list what to read, e.g. metrics = ( { name = "
                      "\"sps\"; key = \"overview/sps\"; } )",
                      pl_where(ctx, &conf->metrics));
        goto bad;
    }
    for (size_t i = 0; i < conf->metrics.n; i++) {
        const struct metrics_wandb_metric *m = wb_row(conf, i);
        if (!wb_valid_metric(m->name)) {
            pl_host->fail(ctx, "metric name \"%s\" (%s) must be 1 to %d of A-Z a-z 0-9 _ . -",
                          m->name ? m->name : "", pl_where(ctx, &m->name), WB_NAME_MAX);
            goto bad;
        }
        if (m->key == NULL || m->key[0] == '\0' || strlen(m->key) > 256) {
            pl_host->fail(ctx, "metric \"%s\" (%s): key must be a W&B key of 1 to 256 bytes",
                          m->name, pl_where(ctx, &m->key));
            goto bad;
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(wb_row(conf, j)->name, m->name) == 0) {
                pl_host->fail(ctx, "metric \"%s\" (%s) is defined twice; give each its own name",
                              m->name, pl_where(ctx, &m->name));
                goto bad;
            }
        if (!isfinite(m->last_pct) || m->last_pct <= 0 || m->last_pct > 100) {
            pl_host->fail(ctx, "metric \"%s\" (%s): last_pct must be in (0, 100]", m->name,
                          pl_where(ctx, &m->last_pct));
            goto bad;
        }
    }
    if (conf->run_id_env != NULL && !wb_valid_env_name(conf->run_id_env)) {
        pl_host->fail(ctx,
                      "run_id_env \"%s\" (%s) must be an environment variable name such as "
                      "WANDB_RUN_ID",
                      conf->run_id_env, pl_where(ctx, &conf->run_id_env));
        goto bad;
    }
    if (conf->api_key_env == NULL || !wb_valid_env_name(conf->api_key_env)) {
        pl_host->fail(ctx,
                      "api_key_env (%s) must name an environment variable such as WANDB_API_KEY",
                      pl_where(ctx, &conf->api_key_env));
        goto bad;
    }
    if (conf->entity != NULL && conf->entity[0] == '\0') {
        pl_host->fail(ctx, "entity (%s) is empty", pl_where(ctx, &conf->entity));
        goto bad;
    }
    if (conf->project != NULL && conf->project[0] == '\0') {
        pl_host->fail(ctx, "project (%s) is empty", pl_where(ctx, &conf->project));
        goto bad;
    }
    /* WANDB_BASE_URL is what wandb itself reads for a self-hosted server: not a secret. */
    const char *env_base = getenv("WANDB_BASE_URL");
    if (conf->base_url != NULL)
        rc = wb_set_base(inst, ctx, conf->base_url, "base_url");
    else if (env_base != NULL && env_base[0] != '\0')
        rc = wb_set_base(inst, ctx, env_base, "$WANDB_BASE_URL");
    else
        rc = wb_set_base(inst, ctx, "https://api.wandb.ai", "the default base_url");
    if (rc != 0)
        goto bad;
    *out = inst;
    return 0;
bad:
    metrics_wandb_close(inst);
    return RELHOST_EINVAL;
}

static void metrics_wandb_job_close(void *jobp)
{
    struct metrics_wandb_job *job = jobp;
    if (job == NULL)
        return;
    free(job->validation);
    free(job->attempt);
    free(job->env_run_id);
    free(job->env_entity);
    free(job->env_project);
    free(job->carry);
    free(job);
}

/* Nothing here can fail for a reason of the plan's: what the job lacks is reported by collect(),
 * where it makes the job an ERROR (a failed job_open would just leave the source out). */
static int metrics_wandb_job_open(const relhost_ctx *ctx, void *instp, const relhost_job_spec *spec,
                                  void **out)
{
    struct metrics_wandb *inst = instp;
    struct metrics_wandb_job *job = calloc(1, sizeof(*job));
    const char *const *env = spec != NULL ? spec->env : NULL;
    *out = NULL;
    if (job == NULL)
        goto oom;
    job->inst = inst;
    job->carry = malloc(WB_LINE_MAX);
    if (job->carry == NULL)
        goto oom;
    if (spec != NULL && spec->validation != NULL &&
        (job->validation = wb_strdup(spec->validation)) == NULL)
        goto oom;
    /* what the job was given; the last "NAME=" entry is what its environment holds */
    static const struct {
        const char *name;
        size_t field;
    } wanted[] = {
        {"RELHOST_ATTEMPT", offsetof(struct metrics_wandb_job, attempt)},
        {"WANDB_ENTITY", offsetof(struct metrics_wandb_job, env_entity)},
        {"WANDB_PROJECT", offsetof(struct metrics_wandb_job, env_project)},
        {NULL, offsetof(struct metrics_wandb_job, env_run_id)}, /* run_id_env's */
    };
    for (size_t i = 0; i < sizeof(wanted) / sizeof(wanted[0]); i++) {
        const char *name = wanted[i].name != NULL ? wanted[i].name : inst->conf->run_id_env;
        const char *v = name != NULL ? wb_env_lookup(env, name) : NULL;
        char **field = (char **)(void *)((char *)job + wanted[i].field);
        if (v != NULL && (*field = wb_strdup(v)) == NULL)
            goto oom;
    }
    *out = job;
    return 0;
oom:
    metrics_wandb_job_close(job);
    pl_host->fail(ctx, "out of memory starting a metrics_wandb job");
    return RELHOST_ENOMEM;
}

/* ---- Descriptor ------------------------------------------------------------------------------ */

/* ---- Keys and credentials (ABI 1.3) --------------------------------------------------------- */

/* The keys the plan's checks may name: every configured metric's name, and the label wandb_run.
 * The host copies each name. */
static int metrics_wandb_keys(const void *confp, void (*add)(void *payload, const char *key),
                              void *payload)
{
    const struct metrics_wandb_conf *conf = confp;
    if (conf == NULL || add == NULL)
        return RELHOST_EINVAL;
    for (size_t i = 0; i < conf->metrics.n; i++)
        if (wb_row(conf, i)->name != NULL)
            add(payload, wb_row(conf, i)->name);
    add(payload, "wandb_run");
    return 0;
}

/* The API key's variable, unless the metrics come from a run folder (run_dir: the run's
 * files/wandb-summary.json, read with no key; see README "Reading the run"). */
static int metrics_wandb_credentials(const void *confp,
                                     void (*add)(void *payload, const char *env_name),
                                     void *payload)
{
    const struct metrics_wandb_conf *conf = confp;
    if (conf == NULL || add == NULL)
        return RELHOST_EINVAL;
    if (conf->run_dir == NULL && conf->api_key_env != NULL && *conf->api_key_env)
        add(payload, conf->api_key_env);
    return 0;
}

const relhost_plugin pl_plugin = {
    PL_PLUGIN_BASE("metrics_wandb", "1.0.0", metrics_wandb_options, struct metrics_wandb_conf),
    .description = "metrics from a job's Weights & Biases run: summary and sampled history",
    .metrics = PL_METRICS_OPS(metrics_wandb, .keys = metrics_wandb_keys,
                              .credentials = metrics_wandb_credentials),
};
