/* SPDX-License-Identifier: MIT */
/*
 * metrics_wandb: the W&B GraphQL API (API_SHAPES.md): one operation POSTed through the host's
 * HTTP service, its reply judged by the rule of every HTTP plugin (../common/pl_http.h), the run
 * (summary, history keys, state) and its sampled history read.
 */
#include "../common/pl_host.h"
#include "../common/pl_http.h"
#include "metrics_wandb_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The GraphQL operations, as API_SHAPES.md and the wandb client spell them. */
#define WB_QUERY_RUN                                                     \
    "query Run($project: String!, $entity: String!, $name: String!) { "  \
    "project(name: $project, entityName: $entity) { run(name: $name) { " \
    "id name displayName state summaryMetrics historyKeys historyLineCount } } }"
#define WB_QUERY_HISTORY                                                            \
    "query RunSampledHistory($project: String!, $entity: String!, $name: String!, " \
    "$specs: [JSONString!]!) { project(name: $project, entityName: $entity) { "     \
    "run(name: $name) { sampledHistory(specs: $specs) } } }"

/* ---- GraphQL --------------------------------------------------------------------------------- */

/* Judge a reply: HTTP status, GraphQL errors, JSON. 0 and *root (ours) when it carries data. */
static int wb_check_reply(struct wb_collect *c, const char *op, const relhost_http_response *r,
                          json_t **root)
{
    const char *url = c->inst->graphql_url;
    long st = r->status;
    json_error_t jerr;
    memset(&jerr, 0, sizeof(jerr));
    json_t *j =
        r->body != NULL && r->body_len > 0 ? wb_json_parse(r->body, r->body_len, &jerr) : NULL;
    const json_t *errs = json_is_object(j) ? json_object_get(j, "errors") : NULL;
    int has_errs =
        errs != NULL && !json_is_null(errs) && !(json_is_array(errs) && json_array_size(errs) == 0);
    int again = pl_http_status_retryable(r);
    char etext[700], excerpt[160];
    int rc = 0;

    *root = NULL;
    excerpt[0] = '\0';
    if (r->body != NULL && r->body_len > 0)
        wb_clean(excerpt, sizeof(excerpt), r->body, r->body_len);
    if (has_errs)
        wb_errors_text(errs, etext, sizeof(etext));
    if (again && !has_errs && st == 403) {
        pl_host->fail(c->ctx,
                      "W&B's rate limit is used up (HTTP 403, x-ratelimit-remaining: 0) for "
                      "the %s query for run %s at %s; the next run tries again",
                      op, c->run_path, url);
        rc = RELHOST_ERETRY;
    } else if (st == 401) {
        pl_host->fail(c->ctx,
                      "W&B rejected the API key (HTTP 401): %s refused the key in $%s; check "
                      "that it is a valid key for this W&B server",
                      url, c->conf->api_key_env);
        rc = RELHOST_EINVAL;
    } else if (st == 403) {
        pl_host->fail(
            c->ctx, "W&B refused access (HTTP 403) to run %s at %s with the key in $%s%s%s",
            c->run_path, url, c->conf->api_key_env, has_errs ? ": " : "", has_errs ? etext : "");
        rc = RELHOST_EINVAL;
    } else if (has_errs) {
        size_t n = json_is_array(errs) ? json_array_size(errs) : 1;
        pl_host->fail(c->ctx, "W&B answered the %s query for run %s with %s (HTTP %ld): %s", op,
                      c->run_path, n == 1 ? "an error" : "errors", st, etext);
        rc = again ? RELHOST_ERETRY : RELHOST_EINVAL;
    } else if (st < 200 || st > 299) {
        char loc[200] = "";
        for (size_t i = 0; r->headers != NULL && r->headers[i] != NULL; i++)
            if (strncmp(r->headers[i], "location:", 9) == 0)
                wb_clean(loc, sizeof(loc), r->headers[i] + 9, strlen(r->headers[i] + 9));
        if (st >= 300 && st < 400)
            pl_host->fail(c->ctx,
                          "W&B answered the %s query with a redirect (HTTP %ld%s%s) from %s; set "
                          "base_url to the server's API address",
                          op, st, loc[0] ? " to" : "", loc, url);
        else
            pl_host->fail(c->ctx, "W&B answered HTTP %ld to the %s query for run %s at %s%s%s%s",
                          st, op, c->run_path, url, excerpt[0] ? ": \"" : "", excerpt,
                          excerpt[0] ? "\"" : "");
        rc = again ? RELHOST_ERETRY : RELHOST_EINVAL;
    } else if (j == NULL || !json_is_object(json_object_get(j, "data"))) {
        /* An unreadable body: not retryable, the same reply would come again (the rule of
         * every HTTP plugin, pl_http.h; a reply cut short is the host's RELHOST_ERETRY). */
        char is[256], line[1024];
        if (j == NULL)
            snprintf(is, sizeof(is), "is not valid JSON: %s at byte %d", jerr.text, jerr.position);
        else
            snprintf(is, sizeof(is), "has no data object");
        pl_http_unreadable(line, sizeof(line), "POST", url, r, is, "a GraphQL reply");
        pl_host->fail(
            c->ctx,
            "W&B's reply to the %s query for run %s is unreadable: %s; " PL_HTTP_UNREADABLE_ADVICE
            ": %s",
            op, c->run_path, line, c->inst->base_from);
        rc = RELHOST_EINVAL;
    }
    if (rc != 0) {
        json_decref(j);
        return rc;
    }
    *root = j;
    return 0;
}

/* POST one operation to {base}/graphql as api:$KEY. vars is taken. */
static int wb_graphql(struct wb_collect *c, const char *op, const char *query, json_t *vars,
                      json_t **root)
{
    static const char *const headers[] = {"Content-Type: application/json",
                                          "Accept: application/json", NULL};
    *root = NULL;
    json_t *body = json_object();
    if (body == NULL || vars == NULL) {
        json_decref(body);
        json_decref(vars);
        return wb_oom(c, "building a W&B query");
    }
    json_object_set_new(body, "operationName", json_string(op));
    json_object_set_new(body, "query", json_string(query));
    json_object_set_new(body, "variables", vars);
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (text == NULL)
        return wb_oom(c, "building a W&B query");

    double t = c->conf->timeout > 0 ? c->conf->timeout : 30;
    relhost_http_request req = {
        .struct_size = sizeof(req),
        .method = "POST",
        .url = c->inst->graphql_url,
        .headers = headers,
        .body = text,
        .body_len = strlen(text),
        .basic_user = "api",
        .basic_env = c->conf->api_key_env,
        .connect_timeout_s = t < 10 ? t : 10,
        .timeout_s = t,
        .max_attempts = 0,
        /* A silent server must not hold the job (and the loop's other work) for the host's
         * default five minutes. */
        .budget_s = 4 * t,
    };
    relhost_http_response *resp = NULL;
    int rc = pl_host->http_request(c->ctx, &req, &resp);
    free(text);
    if (rc != 0) {
        if (resp != NULL && pl_host->http_response_free != NULL)
            pl_host->http_response_free(resp);
        if (rc == RELHOST_EINTR) {
            /* the host explains nothing here: relhost is stopping */
            pl_host->fail(c->ctx, "interrupted while asking W&B (%s query) for run %s", op,
                          c->run_path);
            return rc;
        }
        /* The host's fail() names the URL, the attempts and the cause; say what we asked.
         * Only the host's RELHOST_ERETRY may pass later: every other code becomes
         * RELHOST_EINVAL, which the host never takes for a transient failure of a source. */
        if (rc == RELHOST_EINVAL)
            pl_host->note_add(c->ctx,
                              "W&B %s query for run %s: relhost refused to send it to %s; "
                              "check %s",
                              op, c->run_path, c->inst->graphql_url, c->inst->base_from);
        else
            pl_host->note_add(c->ctx, "W&B %s query for run %s at %s got no usable answer", op,
                              c->run_path, c->inst->graphql_url);
        return pl_http_rc_retryable(rc) ? RELHOST_ERETRY : RELHOST_EINVAL;
    }
    if (resp == NULL) {
        pl_host->fail(c->ctx,
                      "the host's HTTP service returned no response for the W&B %s query (a "
                      "relhost bug)",
                      op);
        return RELHOST_EINVAL;
    }
    rc = wb_check_reply(c, op, resp, root);
    if (pl_host->http_response_free != NULL)
        pl_host->http_response_free(resp);
    return rc;
}

/* data.project.run of a reply, or a failure naming what is missing. */
static int wb_reply_run(struct wb_collect *c, const json_t *root, const json_t **run)
{
    const json_t *project = json_object_get(json_object_get(root, "data"), "project");
    *run = NULL;
    if (project == NULL || json_is_null(project)) {
        pl_host->fail(c->ctx,
                      "W&B project %s/%s not found (project: null) at %s, looking for run "
                      "%s (from %s); check entity and project, and that the API key's user can see "
                      "them",
                      c->entity, c->project, c->inst->base, c->run_id, c->run_id_from);
        return RELHOST_ENOTFOUND;
    }
    const json_t *run_j = json_object_get(project, "run");
    if (run_j == NULL || json_is_null(run_j)) {
        pl_host->fail(c->ctx,
                      "W&B run %s not found (run: null) in project %s/%s at %s; the run id "
                      "came from %s",
                      c->run_id, c->entity, c->project, c->inst->base, c->run_id_from);
        return RELHOST_ENOTFOUND;
    }
    if (!json_is_object(run_j)) {
        pl_host->fail(c->ctx,
                      "W&B's reply for run %s is malformed: data.project.run is not an "
                      "object",
                      c->run_path);
        return RELHOST_EINVAL;
    }
    *run = run_j;
    return 0;
}

/* Ask W&B query `op` (vars: stolen, as by wb_graphql) about the run: *root is the reply (the
 * caller's) and *run its data.project.run. On failure nothing is left to free. */
static int wb_query_run(struct wb_collect *c, const char *op, const char *query, json_t *vars,
                        json_t **root, const json_t **run)
{
    int rc = wb_graphql(c, op, query, vars, root);
    if (rc == 0)
        rc = wb_reply_run(c, *root, run);
    if (rc != 0) {
        json_decref(*root);
        *root = NULL;
    }
    return rc;
}

/* A JSONString field (or, from a friendlier server, the object itself): a new reference. */
static json_t *wb_json_field(const json_t *v)
{
    if (json_is_string(v)) {
        json_error_t jerr;
        return wb_json_parse(json_string_value(v), json_string_length(v), &jerr);
    }
    if (json_is_object(v))
        return json_incref((json_t *)v);
    return NULL;
}

int wb_fetch_run(struct wb_collect *c)
{
    json_t *root = NULL;
    const json_t *run = NULL;
    json_t *vars =
        json_pack("{s:s, s:s, s:s}", "project", c->project, "entity", c->entity, "name", c->run_id);
    int rc = wb_query_run(c, "Run", WB_QUERY_RUN, vars, &root, &run);
    if (rc != 0)
        return rc;
    /* summaryMetrics is JSON inside a JSON string: decode it a second time */
    const json_t *sm = json_object_get(run, "summaryMetrics");
    if (sm == NULL || json_is_null(sm)) {
        c->summary = json_object();
    } else {
        c->summary = wb_json_field(sm);
        if (c->summary == NULL || !json_is_object(c->summary)) {
            char ex[120];
            const char *s = json_is_string(sm) ? json_string_value(sm) : "(not a string)";
            wb_clean(ex, sizeof(ex), s, strlen(s));
            pl_host->fail(c->ctx, "W&B run %s: summaryMetrics is not a JSON-encoded object: \"%s\"",
                          c->run_path, ex);
            json_decref(root);
            return RELHOST_EINVAL;
        }
    }
    json_t *hk = wb_json_field(json_object_get(run, "historyKeys"));
    if (hk != NULL) {
        const json_t *keys = json_object_get(hk, "keys");
        if (json_is_object(keys))
            c->history_keys = json_incref((json_t *)keys);
        json_decref(hk);
    }
    const json_t *lines = json_object_get(run, "historyLineCount");
    c->history_lines = json_is_integer(lines) ? (long long)json_integer_value(lines) : -1;
    const json_t *state = json_object_get(run, "state");
    if (json_is_string(state))
        wb_clean(c->state, sizeof(c->state), json_string_value(state), json_string_length(state));
    json_decref(root);
    return c->summary != NULL ? 0 : wb_oom(c, "reading a W&B run");
}

/* Which metrics need sampled history, one spec per distinct (key, samples). */
static size_t wb_plan_history(struct wb_collect *c, size_t *spec_metric)
{
    size_t n = c->conf->metrics.n, n_specs = 0;
    for (size_t i = 0; i < n; i++) {
        const struct metrics_wandb_metric *m = wb_row(c->conf, i);
        int need = wb_needs_history(m);
        if (!need && !c->summary_from_file && wb_lookup(c->summary, m->key) == NULL)
            /* "last" of a key the summary lacks: the last history row, if history has it */
            need = c->history_keys == NULL || json_object_get(c->history_keys, m->key) != NULL;
        c->spec_of[i] = -1;
        if (!need)
            continue;
        for (size_t s = 0; s < n_specs; s++) {
            const struct metrics_wandb_metric *o = wb_row(c->conf, spec_metric[s]);
            if (strcmp(o->key, m->key) == 0 && o->samples == m->samples) {
                c->spec_of[i] = (int)s;
                break;
            }
        }
        if (c->spec_of[i] < 0) {
            spec_metric[n_specs] = i;
            c->spec_of[i] = (int)n_specs++;
        }
    }
    return n_specs;
}

int wb_fetch_history(struct wb_collect *c)
{
    size_t n = c->conf->metrics.n;
    size_t *spec_metric = calloc(n + 1, sizeof(*spec_metric));
    c->spec_of = calloc(n + 1, sizeof(*c->spec_of));
    if (spec_metric == NULL || c->spec_of == NULL) {
        free(spec_metric);
        return wb_oom(c, "planning W&B history queries");
    }
    size_t n_specs = wb_plan_history(c, spec_metric);
    if (n_specs == 0) {
        free(spec_metric);
        return 0;
    }
    /* Each spec is a JSON *string* holding {"keys":[...],"samples":N} (a JSONString scalar). */
    json_t *specs = json_array();
    for (size_t s = 0; specs != NULL && s < n_specs; s++) {
        const struct metrics_wandb_metric *m = wb_row(c->conf, spec_metric[s]);
        json_t *spec =
            strcmp(m->key, "_step") == 0
                ? json_pack("{s:[s], s:I}", "keys", "_step", "samples", (json_int_t)m->samples)
                : json_pack("{s:[s,s], s:I}", "keys", "_step", m->key, "samples",
                            (json_int_t)m->samples);
        char *txt = spec != NULL ? json_dumps(spec, JSON_COMPACT) : NULL;
        json_decref(spec);
        if (txt == NULL || json_array_append_new(specs, json_string(txt)) != 0) {
            free(txt);
            json_decref(specs);
            specs = NULL;
            break;
        }
        free(txt);
    }
    free(spec_metric);
    if (specs == NULL)
        return wb_oom(c, "building a W&B history query");
    json_t *vars = json_pack("{s:s, s:s, s:s, s:o}", "project", c->project, "entity", c->entity,
                             "name", c->run_id, "specs", specs);
    json_t *root = NULL;
    const json_t *run = NULL;
    int rc = wb_query_run(c, "RunSampledHistory", WB_QUERY_HISTORY, vars, &root, &run);
    if (rc != 0)
        return rc;
    const json_t *sh = json_object_get(run, "sampledHistory");
    int ok = json_is_array(sh) && json_array_size(sh) == n_specs;
    for (size_t s = 0; ok && s < n_specs; s++) {
        const json_t *rows = json_array_get(sh, s);
        ok = json_is_array(rows) || json_is_null(rows);
    }
    if (!ok) {
        pl_host->fail(c->ctx,
                      "W&B's sampledHistory for run %s is not a list of %zu row lists (one "
                      "per spec)",
                      c->run_path, n_specs);
        json_decref(root);
        return RELHOST_EINVAL;
    }
    c->hist_root = root;
    c->hist = sh;
    return 0;
}
