/* SPDX-License-Identifier: MIT */
/*
 * metrics_wandb: each configured metric reduced (the summary's value, or the sampled history's
 * last, max, min, mean, mean_last_pct) and posted, or a note saying why nothing was.
 */
#include "../common/pl_host.h"
#include "metrics_wandb_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- Reducing and posting -------------------------------------------------------------------- */

struct wb_sample {
    double step, v;
    size_t idx;
};

static int wb_sample_cmp(const void *a, const void *b)
{
    const struct wb_sample *x = a, *y = b;
    if (x->step != y->step)
        return x->step < y->step ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

struct wb_values {
    struct wb_sample *v;
    size_t n, nonfinite, notnum;
};

/* The key's numeric values in the rows, in step order (row order when a row lacks _step). */
static int wb_history_values(const json_t *rows, const char *key, struct wb_values *out)
{
    size_t n = json_is_array(rows) ? json_array_size(rows) : 0;
    int all_steps = 1;
    memset(out, 0, sizeof(*out));
    out->v = calloc(n + 1, sizeof(*out->v));
    if (out->v == NULL)
        return RELHOST_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        const json_t *row = json_array_get(rows, i);
        const json_t *x = json_is_object(row) ? wb_lookup(row, key) : NULL;
        double v = 0, step = 0;
        if (x == NULL || json_is_null(x))
            continue;
        switch (wb_number(x, &v)) {
        case WB_NONFINITE: out->nonfinite++; continue;
        case WB_NOTNUM: out->notnum++; continue;
        case WB_NUM: break;
        }
        if (wb_number(json_object_get(row, "_step"), &step) != WB_NUM)
            all_steps = 0;
        out->v[out->n++] = (struct wb_sample){.step = step, .v = v, .idx = i};
    }
    if (all_steps && out->n > 1)
        qsort(out->v, out->n, sizeof(*out->v), wb_sample_cmp);
    return 0;
}

/* Reduce per the metric's reducer; *used: how many values went in. */
static double wb_reduce(const struct metrics_wandb_metric *m, const struct wb_values *vals,
                        uint64_t *used)
{
    size_t n = vals->n, from = 0;
    double r = vals->v[n - 1].v, sum = 0;
    switch (m->reducer) {
    case WB_LAST: *used = 1; return r;
    case WB_MAX:
    case WB_MIN:
        for (size_t i = 0; i < n; i++)
            if (m->reducer == WB_MAX ? vals->v[i].v > r : vals->v[i].v < r)
                r = vals->v[i].v;
        *used = n;
        return r;
    case WB_MEAN_LAST_PCT: {
        /* the last ceil(n * pct / 100) rows, at least one: "the last 25% of training" */
        double k = ceil((double)n * m->last_pct / 100.0 - 1e-9);
        size_t kk = k < 1 ? 1 : (k > (double)n ? n : (size_t)k);
        from = n - kk;
    } /* fall through */
    case WB_MEAN:
    default:
        for (size_t i = from; i < n; i++)
            sum += vals->v[i].v;
        *used = n - from;
        return sum / (double)(n - from);
    }
}

static int wb_post(struct wb_collect *c, const struct metrics_wandb_metric *m, double v,
                   uint64_t samples, const char *reducer)
{
    relhost_metric_info info = {
        .struct_size = sizeof(info),
        .source = NULL,
        .pattern = m->key,
        .reducer = reducer,
        .samples = samples,
    };
    int r = pl_host->metric_set != NULL ? pl_host->metric_set(c->ctx, m->name, v, &info)
                                        : RELHOST_ENOTSUP;
    if (r < 0)
        pl_host->fail(c->ctx, "the host refused metric \"%s\" (error %d)", m->name, r);
    return r < 0 ? r : 0;
}

const char *wb_where_read(const struct wb_collect *c)
{
    return c->summary_from_file ? c->summary_file : "the W&B API";
}

/* One configured metric: post it, or say in a note why there is nothing to post. */
int wb_metric(struct wb_collect *c, size_t i)
{
    const struct metrics_wandb_metric *m = wb_row(c->conf, i);
    char keys[400];

    if (m->reducer == WB_LAST && c->summary != NULL) {
        const json_t *x = wb_lookup(c->summary, m->key);
        double v = 0;
        if (x != NULL && !json_is_null(x)) {
            switch (wb_number(x, &v)) {
            case WB_NUM: return wb_post(c, m, v, 1, "last");
            case WB_NONFINITE:
                pl_host->note_add(c->ctx,
                                  "W&B key %s of run %s is not finite (NaN or Infinity) in the "
                                  "summary; %s not posted",
                                  m->key, c->run_path, m->name);
                return 0;
            case WB_NOTNUM:
                pl_host->note_add(c->ctx,
                                  "W&B key %s of run %s is not a number in the summary (a %s); "
                                  "%s not posted",
                                  m->key, c->run_path,
                                  json_is_string(x)   ? "string"
                                  : json_is_object(x) ? "JSON object"
                                  : json_is_array(x)  ? "list"
                                                      : "boolean",
                                  m->name);
                return 0;
            }
        }
    }
    int s = c->spec_of != NULL ? c->spec_of[i] : -1;
    if (s < 0 || c->hist == NULL) {
        wb_keys_text(c->summary, keys, sizeof(keys));
        pl_host->note_add(c->ctx, "W&B key %s not in run %s (%s; keys present: %s)", m->key,
                          c->run_path, wb_where_read(c), keys);
        return 0;
    }
    const json_t *rows = json_array_get(c->hist, (size_t)s);
    struct wb_values vals;
    if (wb_history_values(rows, m->key, &vals) != 0)
        return wb_oom(c, "reducing W&B history");
    int rc = 0;
    if (vals.nonfinite > 0)
        pl_host->note_add(c->ctx,
                          "W&B key %s of run %s: %zu non-finite value%s (NaN or Infinity) in "
                          "the sampled history skipped",
                          m->key, c->run_path, vals.nonfinite, vals.nonfinite == 1 ? "" : "s");
    if (vals.n == 0) {
        if (vals.notnum > 0)
            pl_host->note_add(c->ctx,
                              "W&B key %s of run %s has no numeric value in its sampled history "
                              "(%zu non-numeric value%s); %s not posted",
                              m->key, c->run_path, vals.notnum, vals.notnum == 1 ? "" : "s",
                              m->name);
        else if (vals.nonfinite == 0) {
            wb_keys_text(c->history_keys != NULL ? c->history_keys : c->summary, keys,
                         sizeof(keys));
            pl_host->note_add(c->ctx,
                              "W&B key %s not in run %s (sampled history: %zu rows; keys "
                              "present: %s)",
                              m->key, c->run_path,
                              json_is_array(rows) ? json_array_size(rows) : (size_t)0, keys);
        }
    } else {
        uint64_t used = 0;
        double v = wb_reduce(m, &vals, &used);
        if (!isfinite(v))
            pl_host->note_add(c->ctx,
                              "W&B key %s of run %s: the %s of the sampled history is not "
                              "finite; %s not posted",
                              m->key, c->run_path, metrics_wandb_reducers[m->reducer], m->name);
        else
            rc = wb_post(c, m, v, used, metrics_wandb_reducers[m->reducer]);
        if (m->reducer != WB_LAST && c->history_lines > m->samples)
            pl_host->note_add(c->ctx,
                              "W&B run %s has %lld history rows; %s of %s is over a sample of "
                              "%zu (raise samples for more)",
                              c->run_path, c->history_lines, metrics_wandb_reducers[m->reducer],
                              m->key, vals.n);
    }
    free(vals.v);
    return rc;
}
