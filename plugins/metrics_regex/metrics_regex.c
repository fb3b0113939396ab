/* SPDX-License-Identifier: MIT */
/*
 * metrics_regex - a metrics source reading numbers and labels out of a job's log with PCRE2.
 *
 * This file is the plugin: its option table, open/close (compile every pattern), the jobs, what
 * collect() posts, the keys() it declares and the descriptor. The log itself is read by the
 * other files of this folder; metrics_regex_int.h says which does what.
 */
#include <locale.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/pl_host.h"
#include "metrics_regex_int.h"

/* ---- Configuration --------------------------------------------------------------------------- */

/* The presets a plan may switch on (see "Format presets" below and the README). */
static const char *const metrics_regex_preset_names[] = {
    "sb3", "sample_factory", "rl_games", "rllib", "hf_trainer", "tqdm", NULL};

const char *const metrics_regex_reducer_names[] = {"max",  "min",   "last", "first",
                                                   "mean", "count", NULL};

#define OPT(f, t, ...) PL_OPT(struct metrics_regex_pattern, f, t, __VA_ARGS__)
static const relhost_option metrics_regex_pattern_options[] = {
    OPT(name, STRING, .required = 1,
        .doc = "metric base name ([A-Za-z0-9_.-]); a pattern named like a default replaces it"),
    OPT(regex, STRING, .required = 1,
        .doc =
            "PCRE2 regex run on each line (never templated); the value is the group named value, "
            "else the first capture group that took part; a group named unit scales it "
            "(k/K 1e3, m/M 1e6, g/G 1e9)"),
    OPT(reducers, STRLIST, .def = "last", .choices = metrics_regex_reducer_names,
        .doc = "max, min, last, first, mean, count; each posts the metric <name>_<reducer>"),
    OPT(metric, STRING, .doc = "exact metric (or label) name, for a pattern with a single reducer"),
    OPT(scale, DOUBLE, .def = "1", .doc = "multiplies every value (after the unit)"),
    OPT(case_insensitive, BOOL, .def = "true", .doc = "match letters in either case"),
    OPT(prefilter, STRING,
        .doc = "a literal that every match contains (searched case-insensitively before the regex "
               "runs); absent: derived from the regex; \"\": run the regex on every line"),
    OPT(label, BOOL, .def = "false",
        .doc = "the capture is a string label (reducer first or last), not a number"),
    {0}};
#undef OPT

#define OPT(f, t, ...) PL_OPT(struct metrics_regex_conf, f, t, __VA_ARGS__)
static const relhost_option metrics_regex_options[] = {
    OPT(defaults, BOOL, .def = "true",
        .doc = "include the default patterns: sps (sps_max, sps_last), eval_success_rate, and the "
               "[SUMMARY] markers exit_code, termination_reason, restart_count"),
    OPT(patterns, GROUP_LIST, .sub = metrics_regex_pattern_options,
        .item_size = sizeof(struct metrics_regex_pattern),
        .doc = "more patterns: ( { name = \"loss\"; regex = \"loss[:=]\\\\s*([0-9.]+)\"; }, ... )"),
    {.name = "max_line",
     .type = RELHOST_OPT_SIZE,
     .def = "1M",
     .offset = offsetof(struct metrics_regex_conf, max_line),
     .min = 64,
     .max = 268435456.0, /* 256 MiB: the carry buffer of a job is at most this */
     .doc = "longest line read, in bytes before the newline; longer lines are skipped and counted "
            "(a job's memory is bounded by it)"},
    OPT(presets, STRLIST, .choices = metrics_regex_preset_names,
        .doc =
            "format presets of other trainers, each posting its own keys named for what the number "
            "counts (never sps_*): "
            "sb3 (Stable-Baselines3's table: sb3_fps_max/_last env steps/s over all envs since "
            "learn() began; sb3_table_success_rate, the last success_rate row, eval/ or "
            "rollout/ alike; EvalCallback's lines: sb3_eval_success_rate, sb3_eval_mean_reward); "
            "sample_factory (Fps is (10 sec: ...): sample_factory_fps_10s/60s/300s_max/_last env "
            "frames/s incl. frameskip, all policies; sample_factory_total_frames); "
            "rl_games (fps step/fps step and policy inference/fps total: rl_games_fps_step, "
            "rl_games_fps_step_inference, rl_games_fps_total _max/_last, env steps/s over all "
            "actors, no frameskip); "
            "rllib (rllib_sample_throughput_max/_last from sample_throughput, env (or agent) "
            "steps/s of the sampling phase; rllib_env_steps_sampled_per_s_max/_last from "
            "num_env_steps_sampled_throughput_per_sec, env steps/s of the iteration); "
            "hf_trainer (HF Trainer log dicts: hf_loss_min/_last, hf_eval_loss, hf_train_loss, "
            "hf_epoch, hf_train_samples_per_second (training examples/s, not tokens), "
            "hf_train_steps_per_second (optimizer steps/s)); "
            "tqdm (tqdm and Lightning bars: tqdm_it_per_s_max/_last iterations/s of every bar in "
            "the log; 2.50s/it is read as 1/2.50 it/s); every value goes through the one number "
            "grammar and its refusals"),
    {0}};
#undef OPT

/* ---- Instance -------------------------------------------------------------------------------- */

static void metrics_regex_close(void *instp)
{
    struct metrics_regex *inst = instp;
    if (inst == NULL)
        return;
    for (size_t i = 0; i < inst->n_pats; i++)
        mr_pat_free(&inst->pats[i]);
    free(inst->pats);
    free(inst->groups);
    if (inst->c_locale != (locale_t)0)
        freelocale(inst->c_locale);
    free(inst);
}

const struct metrics_regex_pattern *mr_row(const struct metrics_regex_conf *conf, size_t i)
{
    return (const struct metrics_regex_pattern *)((const char *)conf->patterns.items +
                                                  i * sizeof(struct metrics_regex_pattern));
}

/* A plan pattern called `name` replaces the default or preset pattern of that name. */
static int replaced_by_plan(const struct metrics_regex_conf *conf, const char *name)
{
    int replaced = 0;
    for (size_t i = 0; i < conf->patterns.n; i++)
        replaced |= mr_row(conf, i)->name && strcmp(mr_row(conf, i)->name, name) == 0;
    return replaced;
}

/* Presets: each a known name, listed once (the host does not check a list's choices); the rows
 * they add are counted into *n_rows. */
static int open_check_presets(const relhost_ctx *ctx, const struct metrics_regex_conf *conf,
                              size_t *n_rows)
{
    for (size_t i = 0; i < conf->presets.n; i++) {
        const struct mr_preset *ps = mr_preset_find(conf->presets.v[i]);
        const char *w = pl_where(ctx, &conf->presets);
        if (ps == NULL) {
            pl_host->fail(ctx,
                          "presets (%s): unknown preset \"%s\"; use sb3, sample_factory, "
                          "rl_games, rllib, hf_trainer or tqdm",
                          w, conf->presets.v[i] ? conf->presets.v[i] : "");
            return RELHOST_EINVAL;
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(conf->presets.v[j], conf->presets.v[i]) == 0) {
                pl_host->fail(ctx, "presets (%s): preset \"%s\" is listed twice", w,
                              conf->presets.v[i]);
                return RELHOST_EINVAL;
            }
        *n_rows += ps->n;
    }
    return 0;
}

/* Plan patterns must have distinct names; one named like a default replaces that default. */
static int open_check_names(const relhost_ctx *ctx, const struct metrics_regex_conf *conf)
{
    for (size_t i = 0; i < conf->patterns.n; i++) {
        const struct metrics_regex_pattern *row = mr_row(conf, i);
        for (size_t j = 0; j < i; j++) {
            if (row->name != NULL && mr_row(conf, j)->name != NULL &&
                strcmp(row->name, mr_row(conf, j)->name) == 0) {
                const char *w = pl_where(ctx, &row->name);
                pl_host->fail(ctx,
                              "pattern \"%s\" (%s) is defined twice; give each pattern its "
                              "own name",
                              row->name, w);
                return RELHOST_EINVAL;
            }
        }
    }
    return 0;
}

/* An alias posts nothing: its values are posted by the pattern it adds to. */
static void drop_keys(struct mr_pat *p)
{
    for (size_t k = 0; k < MR_N_REDUCERS; k++) {
        free(p->keys[k]);
        p->keys[k] = NULL;
    }
    p->n_out = 0;
}

static int open_add_defaults(struct metrics_regex *inst, const relhost_ctx *ctx,
                             const struct metrics_regex_conf *conf)
{
    for (size_t d = 0; conf->defaults && d < MR_N_DEFAULTS; d++) {
        const struct mr_default *def = &metrics_regex_defaults[d];
        if (replaced_by_plan(conf, def->name))
            continue;
        struct mr_pat *p = &inst->pats[inst->n_pats++];
        size_t nr = 0;
        while (def->reducers[nr] != NULL)
            nr++;
        p->name = def->name;
        p->regex = def->regex;
        p->scale = 1.0;
        p->label = def->label;
        p->has_range = !def->label;
        p->lo = def->lo;
        p->hi = def->hi;
        p->integer = def->integer;
        p->summary = def->summary;
        p->alias = def->alias;
        int rc = mr_pat_build(inst, ctx, p, def->reducers, nr, def->metric, def->prefilter,
                              def->lead, !def->case_sensitive, NULL);
        if (rc == 0 && p->alias)
            drop_keys(p);
        p->fast = rc == 0 && p->n_value > 0 && (def->fast == MR_FAST_EVAL || p->n_unit > 0)
                      ? def->fast
                      : 0;
        if (rc != 0) {
            if (rc == RELHOST_ENOMEM)
                pl_host->fail(ctx, "out of memory compiling default pattern \"%s\"", p->name);
            return rc;
        }
    }
    return 0;
}

/* Preset patterns, like defaults: a plan pattern of the same name replaces one. */
static int open_add_presets(struct metrics_regex *inst, const relhost_ctx *ctx,
                            const struct metrics_regex_conf *conf)
{
    for (size_t i = 0; i < conf->presets.n; i++) {
        const struct mr_preset *ps = mr_preset_find(conf->presets.v[i]);
        for (size_t r = 0; r < ps->n; r++) {
            const struct mr_preset_row *pr = &ps->rows[r];
            if (replaced_by_plan(conf, pr->name))
                continue;
            struct mr_pat *p = &inst->pats[inst->n_pats++];
            size_t nr = 0;
            while (nr < 3 && pr->reducers[nr] != NULL)
                nr++;
            p->name = pr->name;
            p->regex = pr->regex;
            p->where_text = ps->where;
            p->scale = 1.0;
            p->has_range = 1;
            p->lo = pr->lo;
            p->hi = pr->hi;
            p->integer = pr->integer;
            p->alias = pr->alias;
            p->invert = pr->invert;
            int rc = mr_pat_build(inst, ctx, p, pr->reducers, nr, pr->metric, pr->prefilter, NULL,
                                  0, NULL);
            if (rc == 0 && p->alias)
                drop_keys(p);
            if (rc != 0) {
                if (rc == RELHOST_ENOMEM)
                    pl_host->fail(ctx, "out of memory compiling %s pattern \"%s\"", ps->where,
                                  p->name);
                return rc;
            }
        }
    }
    return 0;
}

static int open_add_plan(struct metrics_regex *inst, const relhost_ctx *ctx,
                         const struct metrics_regex_conf *conf)
{
    for (size_t i = 0; i < conf->patterns.n; i++) {
        const struct metrics_regex_pattern *row = mr_row(conf, i);
        struct mr_pat *p = &inst->pats[inst->n_pats++];
        p->name = row->name != NULL ? row->name : "";
        p->regex = row->regex != NULL ? row->regex : "";
        p->where_field = &row->regex;
        p->scale = row->scale;
        p->label = row->label;
        if (!isfinite(p->scale)) {
            pl_host->fail(ctx, "pattern \"%s\" (%s): scale must be a finite number", p->name,
                          pl_where(ctx, &row->scale));
            return RELHOST_EINVAL;
        }
        int rc = mr_pat_build(inst, ctx, p, row->reducers.v, row->reducers.n, row->metric,
                              row->prefilter, NULL, row->case_insensitive, row);
        if (rc != 0) {
            if (rc == RELHOST_ENOMEM)
                pl_host->fail(ctx, "out of memory compiling pattern \"%s\"", p->name);
            return rc;
        }
    }
    return 0;
}

/* Two patterns posting one metric would overwrite each other's evidence. */
static int open_check_keys(const struct metrics_regex *inst, const relhost_ctx *ctx)
{
    for (size_t i = 0; i < inst->n_pats; i++)
        for (size_t j = 0; j <= i; j++)
            for (size_t a = 0; a < inst->pats[i].n_out; a++)
                for (size_t b = 0; b < inst->pats[j].n_out; b++) {
                    if ((i == j && b >= a) ||
                        strcmp(inst->pats[i].keys[a], inst->pats[j].keys[b]) != 0)
                        continue;
                    pl_host->fail(ctx,
                                  "patterns \"%s\" (%s) and \"%s\" (%s) both post \"%s\"; "
                                  "rename one (a pattern named like a default or preset pattern "
                                  "replaces it)",
                                  inst->pats[j].name,
                                  mr_where(ctx, &inst->pats[j], inst->pats[j].where_field),
                                  inst->pats[i].name,
                                  mr_where(ctx, &inst->pats[i], inst->pats[i].where_field),
                                  inst->pats[i].keys[a]);
                    return RELHOST_EINVAL;
                }
    return 0;
}

/* An alias adds its samples to the default of the same name (sorting moved them). Each pattern
 * learns whether its accumulator's mean is posted (the samples keep it only then). */
static void open_link_aliases(struct metrics_regex *inst)
{
    for (size_t i = 0; i < inst->n_pats; i++) {
        inst->pats[i].acc_id = i;
        if (!inst->pats[i].alias)
            continue;
        for (size_t j = 0; j < inst->n_pats; j++)
            if (!inst->pats[j].alias && inst->pats[j].where_field == NULL &&
                inst->pats[j].where_text == inst->pats[i].where_text &&
                strcmp(inst->pats[j].name, inst->pats[i].name) == 0)
                inst->pats[i].acc_id = j;
    }
    for (size_t i = 0; i < inst->n_pats; i++) {
        const struct mr_pat *owner = &inst->pats[inst->pats[i].acc_id];
        inst->pats[i].mean = 0;
        for (size_t k = 0; k < owner->n_out; k++)
            inst->pats[i].mean |= owner->reducers[k] == MR_MEAN;
    }
}

/* Every pattern compiled (defaults, presets, then the plan's), checked and grouped by literal. */
static int open_patterns(struct metrics_regex *inst, const relhost_ctx *ctx,
                         const struct metrics_regex_conf *conf)
{
    size_t n_preset_rows = 0;
    int rc = open_check_presets(ctx, conf, &n_preset_rows);
    if (rc != 0)
        return rc;
    inst->pats = calloc(MR_N_DEFAULTS + n_preset_rows + conf->patterns.n, sizeof(*inst->pats));
    if (inst->pats == NULL || inst->c_locale == (locale_t)0) {
        return pl_oom(ctx);
    }
    if ((rc = open_check_names(ctx, conf)) != 0 || (rc = open_add_defaults(inst, ctx, conf)) != 0 ||
        (rc = open_add_presets(inst, ctx, conf)) != 0 || (rc = open_add_plan(inst, ctx, conf)) != 0)
        return rc;
    if (inst->n_pats == 0) {
        pl_host->fail(ctx, "metrics_regex has no patterns: set defaults = true, add presets or "
                           "patterns");
        return RELHOST_EINVAL;
    }
    if ((rc = open_check_keys(inst, ctx)) != 0)
        return rc;
    if ((rc = mr_group_patterns(inst)) != 0)
        return pl_oom(ctx); /* its only failure */
    open_link_aliases(inst);
    mr_fuse_build(inst);
    return 0;
}

static int metrics_regex_open(const relhost_ctx *ctx, const void *confp, void **out)
{
    const struct metrics_regex_conf *conf = confp;

    *out = NULL;
    if (pl_host == NULL)
        return RELHOST_EINVAL;
    struct metrics_regex *inst = calloc(1, sizeof(*inst));
    if (inst == NULL) {
        return pl_oom(ctx);
    }
    inst->conf = conf;
    inst->max_line = conf->max_line >= 64 ? (size_t)conf->max_line : 64;
    inst->max_pairs = 1;
    inst->c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
#if defined(MR_HAVE_AVX2)
    __builtin_cpu_init(); /* cheap, and required before the first query in some load orders */
    inst->avx2 = __builtin_cpu_supports("avx2") != 0;
    inst->avx512 = inst->avx2 && __builtin_cpu_supports("avx512f") != 0 &&
                   __builtin_cpu_supports("avx512bw") != 0;
#endif
    int rc = open_patterns(inst, ctx, conf);
    if (rc != 0) {
        metrics_regex_close(inst);
        return rc;
    }
    *out = inst;
    return 0;
}

/* ---- Jobs ------------------------------------------------------------------------------------ */

static void metrics_regex_job_close(void *jobp)
{
    struct metrics_regex_job *job = jobp;
    if (job == NULL)
        return;
    pcre2_match_data_free(job->md);
    pcre2_match_context_free(job->mctx);
    pcre2_jit_stack_free(job->jit_stack);
    free(job->fast_ov);
    free(job->carry);
    free(job->acc);
    free(job);
}

static int metrics_regex_job_open(const relhost_ctx *ctx, void *instp, const relhost_job_spec *spec,
                                  void **out)
{
    struct metrics_regex *inst = instp;
    struct metrics_regex_job *job = calloc(1, sizeof(*job));
    *out = NULL;
    if (job == NULL)
        goto oom;
    job->inst = inst;
    job->acc = calloc(inst->n_pats, sizeof(*job->acc));
    job->md = pcre2_match_data_create(inst->max_pairs, NULL);
    job->mctx = pcre2_match_context_create(NULL);
    /* Room for user regexes that backtrack deeply; grown on demand, so it costs nothing here. */
    job->jit_stack = pcre2_jit_stack_create(32 * 1024, 1024 * 1024, NULL);
    job->fast_ov = malloc(2 * (size_t)inst->max_pairs * sizeof(*job->fast_ov));
    if (job->acc == NULL || job->md == NULL || job->mctx == NULL || job->jit_stack == NULL ||
        job->fast_ov == NULL)
        goto oom;
    for (size_t i = 0; i < 2 * (size_t)inst->max_pairs; i++)
        job->fast_ov[i] = PCRE2_UNSET;
    pcre2_jit_stack_assign(job->mctx, NULL, job->jit_stack);
    *out = job;
    return 0;
oom:
    metrics_regex_job_close(job);
    pl_host->fail(ctx, "out of memory starting a metrics_regex job%s%s",
                  spec && spec->validation ? " for " : "",
                  spec && spec->validation ? spec->validation : "");
    return RELHOST_ENOMEM;
}

/* ---- Collect --------------------------------------------------------------------------------- */

static double mr_reduce(const struct mr_acc *a, enum mr_reducer r)
{
    switch (r) {
    case MR_MAX: return a->max;
    case MR_MIN: return a->min;
    case MR_LAST: return a->last;
    case MR_FIRST: return a->first;
    case MR_MEAN: return a->mean;
    case MR_COUNT: return (double)a->n;
    default: return NAN;
    }
}

/* Say that key's value was refused (ABI 1.3 RELHOST_LABEL_REFUSED): a check of it is then
 * INCONCLUSIVE, not judged on a stale value nor FAILED as missing. */
static void mr_post_refused(const relhost_ctx *ctx, const char *key, unsigned long long line)
{
    char name[300], why[120];
    snprintf(name, sizeof(name), "%s%s", RELHOST_LABEL_REFUSED, key);
    snprintf(why, sizeof(why), "the log's last value of %s (line %llu) was refused: see the notes",
             key, line);
    pl_host->label_set(ctx, name, why);
}

/* One note per cause of refused values: how many, the first text and its line. */
static void post_refusal_notes(const relhost_ctx *ctx, const struct mr_pat *p,
                               const struct mr_acc *a)
{
    for (int c = MR_C_NAN; c < MR_N_CAUSES && pl_host->note_add != NULL; c++) {
        char why[96];
        if (a->bad[c] == 0)
            continue;
        if (c == MR_C_RANGE)
            snprintf(why, sizeof(why), "outside the valid range %g..%g%s", p->lo, p->hi,
                     p->lo == 0 && p->hi == 1 ? " (a rate; 87.5% is 0.875)" : "");
        else
            snprintf(why, sizeof(why), "%s",
                     c == MR_C_NAN     ? "not a finite number"
                     : c == MR_C_MINUS ? "signed with a non-ASCII minus (unreadable, never "
                                         "read as positive)"
                     : c == MR_C_INT   ? "not a whole number"
                     : c == MR_C_LONG  ? "too long to be a number (over 100 characters)"
                     : c == MR_C_UNIT  ? "in an unknown unit"
                                       : "on a line rewritten in place by backspaces or cursor "
                                         "moves (unreadable)");
        pl_host->note_add(ctx,
                          "pattern \"%s\": %llu match%s skipped, the value was %s (first: "
                          "\"%s\", first on line %llu)",
                          p->name, (unsigned long long)a->bad[c], a->bad[c] == 1 ? "" : "es", why,
                          a->bad_example[c], (unsigned long long)a->bad_line[c]);
    }
}

/* Post pattern p's metrics (or label) from accumulator a; the first host refusal into *rc. */
static void post_pattern(const struct metrics_regex_job *job, const relhost_ctx *ctx,
                         const struct mr_pat *p, const struct mr_acc *a, int *rc)
{
    post_refusal_notes(ctx, p, a);
    /* A [SUMMARY] field missing from the last block is missing: not the earlier block's. */
    if (p->summary != 0 && a->has_block && a->block != job->block) {
        if (pl_host->note_add != NULL)
            pl_host->note_add(ctx,
                              "\"%s\" is absent from the last [SUMMARY] block (line %llu); "
                              "the value of an earlier block is not reported",
                              p->keys[0], (unsigned long long)job->block_line);
        return;
    }
    /* The last match was refused: `last` would be a stale earlier value. */
    int last_refused = a->n_bad > 0 && (a->n == 0 || a->last_bad_key > a->last_key);
    if (last_refused && !p->label && pl_host->label_set != NULL)
        for (size_t k = 0; k < p->n_out; k++)
            if (a->n == 0 || p->reducers[k] == MR_LAST)
                mr_post_refused(ctx, p->keys[k], a->last_bad_line);
    if (a->n == 0)
        return; /* not posted: the host's checks say "metric missing" */
    if (p->label) {
        if (a->label_truncated && pl_host->note_add != NULL)
            pl_host->note_add(ctx, "label \"%s\" was cut to %d bytes", p->keys[0], MR_LABEL_MAX);
        int r =
            pl_host->label_set ? pl_host->label_set(ctx, p->keys[0], a->label) : RELHOST_ENOTSUP;
        if (r < 0 && *rc == 0) {
            pl_host->fail(ctx, "the host refused label \"%s\" (error %d)", p->keys[0], r);
            *rc = r;
        }
        return;
    }
    for (size_t k = 0; k < p->n_out; k++) {
        if (last_refused && p->reducers[k] == MR_LAST) {
            if (pl_host->note_add != NULL)
                pl_host->note_add(ctx,
                                  "pattern \"%s\": its last match (line %llu) was refused, "
                                  "so %s is not posted rather than the earlier value %g",
                                  p->name, (unsigned long long)a->last_bad_line, p->keys[k],
                                  a->last);
            continue;
        }
        relhost_metric_info info = {
            .struct_size = sizeof(info),
            .source = NULL,
            .pattern = p->regex,
            .reducer = metrics_regex_reducer_names[p->reducers[k]],
            .samples = a->n,
        };
        int r = pl_host->metric_set
                    ? pl_host->metric_set(ctx, p->keys[k], mr_reduce(a, p->reducers[k]), &info)
                    : RELHOST_ENOTSUP;
        if (r < 0 && *rc == 0) {
            pl_host->fail(ctx, "the host refused metric \"%s\" (error %d)", p->keys[k], r);
            *rc = r;
        }
    }
}

static int metrics_regex_collect(const relhost_ctx *ctx, void *jobp)
{
    struct metrics_regex_job *job = jobp;
    const struct metrics_regex *inst = job->inst;
    int rc = 0;

    /* A log cut off without its last newline still ends in a segment (an escape sequence cut
     * at the end is dropped). */
    if (job->slow && job->carry_len > 0 && !job->skipping)
        mr_scan_segment(job, job->carry, job->carry_len);
    job->carry_len = 0;
    job->esc = MR_GROUND;
    job->back = 0;
    job->rewritten = 0;

    for (size_t i = 0; i < inst->n_pats; i++)
        if (!inst->pats[i].alias) /* an alias's samples are in the pattern it adds to */
            post_pattern(job, ctx, &inst->pats[i], &job->acc[i], &rc);
    if (job->long_lines > 0 && pl_host->note_add != NULL)
        pl_host->note_add(ctx,
                          "%llu log line%s longer than max_line (%zu bytes) skipped (each "
                          "\\r-ended segment counts alone); metrics on them were not read",
                          (unsigned long long)job->long_lines, job->long_lines == 1 ? "" : "s",
                          inst->max_line);
    if (job->match_errors > 0 && pl_host->note_add != NULL) {
        PCRE2_UCHAR msg[128];
        if (pcre2_get_error_message(job->first_match_error, msg, sizeof(msg)) < 0)
            snprintf((char *)msg, sizeof(msg), "error %d", job->first_match_error);
        pl_host->note_add(ctx,
                          "%llu line%s could not be matched (PCRE2: %s); values on them were "
                          "not read",
                          (unsigned long long)job->match_errors, job->match_errors == 1 ? "" : "s",
                          (const char *)msg);
    }
    return rc;
}

/* ---- Peek (ABI 1.6): the running values, for the live table only ----------------------------- */

/* Each pattern's value so far under each of its reducers (a `last` whose last match was refused
 * is not shown: collect() would not post it). Reads the accumulators; changes nothing. */
static int metrics_regex_peek(void *jobp, void (*show)(void *payload, const char *key, double v),
                              void *payload)
{
    const struct metrics_regex_job *job = jobp;
    const struct metrics_regex *inst = job->inst;
    for (size_t i = 0; i < inst->n_pats; i++) {
        const struct mr_pat *p = &inst->pats[i];
        const struct mr_acc *a = &job->acc[i];
        int last_refused = a->n_bad > 0 && a->last_bad_key > a->last_key;
        if (p->alias || p->label || a->n == 0)
            continue;
        for (size_t k = 0; k < p->n_out; k++)
            if (!(last_refused && p->reducers[k] == MR_LAST))
                show(payload, p->keys[k], mr_reduce(a, p->reducers[k]));
    }
    return 0;
}

/* ---- Keys (ABI 1.3) -------------------------------------------------------------------------- */

/*
 * The keys the plan's checks may name: exactly the names open() gives its patterns (see
 * mr_pat_build): a label or a pattern with `metric` posts that one name (a label without it, its
 * pattern's name), any other pattern posts <name>_<reducer> per reducer, and a plan pattern named
 * like a default replaces that default. keys() gets only the conf (the host asks before any
 * instance exists) and hands each name to the host, which copies it.
 */
static int mr_add_key(void (*add)(void *, const char *), void *payload, const char *a,
                      const char *b)
{
    size_t len;
    char *k;
    if (b == NULL) {
        add(payload, a);
        return 0;
    }
    len = strlen(a) + 1 + strlen(b) + 1; /* as long as open() makes it: no cap */
    k = malloc(len);
    if (k == NULL)
        return RELHOST_ENOMEM; /* keys() fails: the host then checks no key of this source */
    snprintf(k, len, "%s_%s", a, b);
    add(payload, k);
    free(k);
    return 0;
}

static int metrics_regex_keys(const void *confp, void (*add)(void *payload, const char *key),
                              void *payload)
{
    const struct metrics_regex_conf *conf = confp;
    if (conf == NULL || add == NULL)
        return RELHOST_EINVAL;
    if (conf->defaults) {
        for (size_t d = 0; d < MR_N_DEFAULTS; d++) {
            const struct mr_default *def = &metrics_regex_defaults[d];
            if (replaced_by_plan(conf, def->name) || def->alias)
                continue;
            if (def->label || def->metric != NULL) {
                if (mr_add_key(add, payload, def->metric != NULL ? def->metric : def->name, NULL))
                    return RELHOST_ENOMEM;
                continue;
            }
            for (size_t r = 0; def->reducers[r] != NULL; r++)
                if (mr_add_key(add, payload, def->name, def->reducers[r]))
                    return RELHOST_ENOMEM;
        }
    }
    /* Presets' keys, as open() posts them: an unknown preset fails open() with its message. */
    for (size_t i = 0; i < conf->presets.n; i++) {
        const struct mr_preset *ps = mr_preset_find(conf->presets.v[i]);
        int twice = 0;
        for (size_t j = 0; ps != NULL && j < i; j++)
            twice |= strcmp(conf->presets.v[j], conf->presets.v[i]) == 0;
        for (size_t r = 0; ps != NULL && !twice && r < ps->n; r++) {
            const struct mr_preset_row *pr = &ps->rows[r];
            if (replaced_by_plan(conf, pr->name) || pr->alias)
                continue;
            if (pr->metric != NULL) {
                if (mr_add_key(add, payload, pr->metric, NULL))
                    return RELHOST_ENOMEM;
                continue;
            }
            for (size_t k = 0; k < 3 && pr->reducers[k] != NULL; k++)
                if (mr_add_key(add, payload, pr->name, pr->reducers[k]))
                    return RELHOST_ENOMEM;
        }
    }
    for (size_t i = 0; i < conf->patterns.n; i++) {
        const struct metrics_regex_pattern *row = mr_row(conf, i);
        if (row->name == NULL)
            continue;
        if (row->label || row->metric != NULL) {
            if (mr_add_key(add, payload, row->metric != NULL ? row->metric : row->name, NULL))
                return RELHOST_ENOMEM;
            continue;
        }
        for (size_t r = 0; r < row->reducers.n; r++)
            if (row->reducers.v[r] != NULL)
                if (mr_add_key(add, payload, row->name, row->reducers.v[r]))
                    return RELHOST_ENOMEM;
    }
    return 0;
}

/* ---- Descriptor ------------------------------------------------------------------------------ */

const relhost_plugin pl_plugin = {
    PL_PLUGIN_BASE("metrics_regex", "1.0.0", metrics_regex_options, struct metrics_regex_conf),
    .description = "metrics from log lines: PCRE2 patterns with reducers, units and prefilters",
    .metrics =
        PL_METRICS_OPS(metrics_regex, .keys = metrics_regex_keys, .peek = metrics_regex_peek),
};
