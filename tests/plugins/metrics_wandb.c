/* SPDX-License-Identifier: MIT */
/*
 * Tests of plugins/metrics_wandb: finding the run in a log however it is cut, reading it from a
 * run folder or from the W&B GraphQL API, reducing history exactly, and failing (or not) as
 * DESIGN.md says.
 *
 * The plugin source is compiled into this test so that its line carry can be checked directly;
 * every conf is filled by the host's own options_fill_text() from plan text, so the option table
 * is tested too. The mock host has no HTTP service, so each test that needs one installs a
 * scripted host->http_request: it records every request (URL, body, auth fields) and answers
 * with canned replies shaped like W&B's (../../../shared/API_SHAPES.md). The real HTTP path, over
 * a socket to tests/fakes/wandb_fake.py, is covered end to end by metrics_wandb.py.
 *
 * This file holds options, finding the run, run id discovery and the run folder, and main;
 * metrics_wandb_api.c the API path; the fixture is in metrics_wandb_common.c.
 */

#include "metrics_wandb_common.h"

/* ---- Options --------------------------------------------------------------------------------- */

static void test_plugins_metrics_wandb__option_defaults_are_the_documented_ones(void **state)
{
    (void)state;
    struct fx *f = fx_new("metrics = ( { name = \"sps\"; key = \"overview/sps\"; } );");
    assert_int_equal(f->open_rc, 0);
    assert_string_equal(f->conf.api_key_env, "WANDB_API_KEY");
    assert_null(f->conf.run_id);
    assert_null(f->conf.run_dir);
    assert_true(f->conf.timeout == 30.0);
    const struct metrics_wandb_metric *m = wb_row(&f->conf, 0);
    assert_int_equal(m->reducer, WB_LAST);
    assert_true(m->last_pct == 25.0);
    assert_int_equal(m->samples, 500);
    fx_free(f);
}

static void test_plugins_metrics_wandb__open_refuses_bad_names_duplicates_and_base_urls(
    void **state)
{
    static const struct {
        const char *text, *msg;
    } cases[] = {
        {"metrics = ( { name = \"s p s\"; key = \"a\"; } );", "metric name \"s p s\""},
        {"metrics = ( { name = \"a\"; key = \"x\"; }, { name = \"a\"; key = \"y\"; } );",
         "metric \"a\" (the plan) is defined twice; give each its own name"},
        {"metrics = ( { name = \"a\"; key = \"\"; } );", "key must be a W&B key"},
        {"metrics = ();", "metrics (the plan) is empty"},
        {"base_url = \"ftp://x\"; metrics = ( { name = \"a\"; key = \"x\"; } );",
         "base_url \"ftp://x\" (the plan) is not an http(s) URL"},
        {"base_url = \"https://h/api?x=1\"; metrics = ( { name = \"a\"; key = \"x\"; } );",
         "is not an http(s) URL"},
        {"base_url = \"https://api:hunter2@h\"; metrics = ( { name = \"a\"; key = \"x\"; } );",
         "must not carry credentials"},
        {"run_id_env = \"WANDB RUN\"; metrics = ( { name = \"a\"; key = \"x\"; } );",
         "run_id_env \"WANDB RUN\""},
        {"entity = \"\"; metrics = ( { name = \"a\"; key = \"x\"; } );", "entity (the plan)"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct fx *f = fx_new(cases[i].text);
        if (f->open_rc == 0)
            fail_msg("open accepted %s", cases[i].text);
        assert_contains(last_fail(f), cases[i].msg);
        assert_null(strstr(last_fail(f), "hunter2")); /* a URL's password is never echoed */
        fx_free(f);
    }
}

static void test_plugins_metrics_wandb__base_url_defaults_to_WANDB_BASE_URL_then_the_cloud(
    void **state)
{
    (void)state;
    const char *text = "metrics = ( { name = \"a\"; key = \"x\"; } );";
    unsetenv("WANDB_BASE_URL");
    struct fx *f = fx_new(text);
    struct metrics_wandb *inst = f->inst;
    assert_string_equal(inst->graphql_url, "https://api.wandb.ai/graphql");
    assert_string_equal(inst->app_url, "https://wandb.ai");
    fx_free(f);

    setenv("WANDB_BASE_URL", "http://WandB.example.com:80/", 1);
    f = fx_new(text);
    inst = f->inst;
    assert_string_equal(inst->graphql_url, "http://WandB.example.com:80/graphql");
    assert_string_equal(inst->auth, "wandb.example.com"); /* default port and case dropped */
    fx_free(f);

    /* the plan's base_url wins over the environment */
    f = fx_new("base_url = \"http://127.0.0.1:9\"; metrics = ( { name = \"a\"; key = \"x\"; } );");
    assert_string_equal(((struct metrics_wandb *)f->inst)->graphql_url,
                        "http://127.0.0.1:9/graphql");
    fx_free(f);
    unsetenv("WANDB_BASE_URL");
}

/* ---- Finding the run in the log -------------------------------------------------------------- */

static void feed_cut(struct fx *f, void *job, const char *log, size_t len, size_t cut)
{
    const relhost_metrics_ops *ops = f->pl->metrics;
    assert_int_equal(ops->feed(&f->m.ctx, job, log, cut), 0);
    assert_int_equal(ops->feed(&f->m.ctx, job, log + cut, len - cut), 0);
}

static void test_plugins_metrics_wandb__the_last_run_url_wins_however_the_log_is_cut(void **state)
{
    (void)state;
    struct fx *f = fx_new(SRC_API);
    size_t len = sizeof(LOG_TWO_RUNS) - 1;
    for (size_t cut = 0; cut <= len; cut++) {
        struct metrics_wandb_job *job = fx_job(f);
        feed_cut(f, job, LOG_TWO_RUNS, len, cut);
        assert_int_equal(job->n_urls, 2);
        assert_true(job->several_runs);
        assert_string_equal(job->first.id, "first1");
        assert_string_equal(job->last.entity, "metta");
        assert_string_equal(job->last.project, "stable");
        assert_string_equal(job->last.id, "second2"); /* the ANSI reset ends the id */
        assert_string_equal(job->last.url, "https://wandb.ai/metta/stable/runs/second2");
        f->pl->metrics->job_close(job);
    }
    /* byte by byte */
    struct metrics_wandb_job *job = fx_job(f);
    for (size_t i = 0; i < len; i++)
        assert_int_equal(f->pl->metrics->feed(&f->m.ctx, job, LOG_TWO_RUNS + i, 1), 0);
    assert_string_equal(job->last.id, "second2");
    assert_int_equal(job->n_urls, 2);
    f->pl->metrics->job_close(job);
    fx_free(f);
}

static void test_plugins_metrics_wandb__only_wandb_and_the_configured_server_are_run_urls(
    void **state)
{
    static const struct {
        const char *line, *id;
    } cases[] = {
        {"see https://wandb.ai/e/p/runs/abc123.\n", "abc123"}, /* a sentence's full stop */
        {"HTTPS://WANDB.AI/e/p/runs/Ab_c-1/overview?nw=1\n", "Ab_c-1"},
        {"(http://127.0.0.1:8080/e/p/runs/selfhosted)\n", "selfhosted"},
        {"https://app.wandb.ai/e/p/runs/old\n", "old"},
        {"https://example.com/e/p/runs/nope\n", NULL},   /* someone else's URL */
        {"http://127.0.0.1:9090/e/p/runs/nope\n", NULL}, /* another port */
        {"https://wandb.ai/e/p/sweeps/nope\n", NULL},    /* not a run */
        {"https://wandb.ai/e/runs/nope\n", NULL},        /* no project */
        {"https://wandb.ai/e/p/runs/\n", NULL},          /* no id */
        {"wandb.ai/e/p/runs/nope\n", NULL},              /* no scheme */
    };
    (void)state;
    struct fx *f = fx_new(SRC_API);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct metrics_wandb_job *job = fx_job(f);
        assert_int_equal(f->pl->metrics->feed(&f->m.ctx, job, cases[i].line, strlen(cases[i].line)),
                         0);
        if (cases[i].id == NULL) {
            if (job->n_urls != 0)
                fail_msg("%s: took run %s", cases[i].line, job->last.id);
        } else {
            if (job->n_urls != 1)
                fail_msg("%s: no run found", cases[i].line);
            assert_string_equal(job->last.id, cases[i].id);
        }
        f->pl->metrics->job_close(job);
    }
    fx_free(f);
}

static void test_plugins_metrics_wandb__long_lines_are_skipped_in_constant_memory(void **state)
{
    (void)state;
    struct fx *f = fx_new(SRC_API);
    /* a URL at the end of a line longer than the carry is not read, however it is cut; the
     * next line's is; and an unterminated last line is read by collect() */
    size_t big = WB_LINE_MAX + 100;
    const char *url1 = " https://wandb.ai/e/p/runs/inlong\n";
    const char *url2 = "https://wandb.ai/e/p/runs/after\n";
    size_t len = big + strlen(url1) + strlen(url2);
    char *log = malloc(len + 1);
    assert_non_null(log);
    memset(log, 'x', big);
    snprintf(log + big, len + 1 - big, "%s%s", url1, url2);
    static const size_t cuts[] = {0,
                                  1,
                                  100,
                                  WB_LINE_MAX - 1,
                                  WB_LINE_MAX,
                                  WB_LINE_MAX + 1,
                                  WB_LINE_MAX + 120,
                                  WB_LINE_MAX + 140};
    for (size_t c = 0; c < sizeof(cuts) / sizeof(cuts[0]); c++) {
        struct metrics_wandb_job *job = fx_job(f);
        feed_cut(f, job, log, len, cuts[c]);
        assert_int_equal(job->long_lines, 1);
        assert_int_equal(job->n_urls, 1);
        assert_string_equal(job->last.id, "after");
        assert_true(job->carry_len <= WB_LINE_MAX);
        f->pl->metrics->job_close(job);
    }
    free(log);

    /* an unterminated last line, and a CR-redrawn progress bar before the URL */
    static const char tail[] = "50%|#####     |\r100%|##########|\rhttps://wandb.ai/e/p/runs/end";
    struct metrics_wandb_job *job = fx_job(f);
    assert_int_equal(f->pl->metrics->feed(&f->m.ctx, job, tail, sizeof(tail) - 1), 0);
    assert_int_equal(job->n_urls, 0);
    f->m.host.http_request = NULL; /* collect stops at "no HTTP service", after the last line */
    assert_true(f->pl->metrics->collect(&f->m.ctx, job) < 0);
    assert_string_equal(job->last.id, "end");
    assert_contains(last_fail(f), "no HTTP service");
    f->pl->metrics->job_close(job);
    fx_free(f);
}

/* ---- Run id discovery ------------------------------------------------------------------------ */

static void test_plugins_metrics_wandb__no_run_id_fails_naming_everything_looked_at(void **state)
{
    (void)state;
    struct fx *f = fx_new("run_id_env = \"WANDB_RUN_ID\"; " SRC_API);
    assert_true(fx_run(f, "training...\nhttps://example.com/e/p/runs/x\n") < 0);
    const char *m = last_fail(f);
    assert_contains(m, "no W&B run id: no run_id option; $WANDB_RUN_ID is not in the job's "
                       "environment; the log printed no W&B run URL "
                       "(https://wandb.ai/<entity>/<project>/runs/<id> or on 127.0.0.1:8080)");
    assert_contains(m, "set run_id or run_id_env");
    assert_int_equal(f->n_sent, 0);
    assert_int_equal(f->m.n_metrics, 0);
    fx_free(f);
}

static void test_plugins_metrics_wandb__run_id_option_beats_env_beats_log_and_expands(void **state)
{
    (void)state;
    static const char *log = "https://wandb.ai/logent/logproj/runs/fromlog\n";
    /* option (a template) > env > log; entity/project from the URL when not configured */
    struct fx *f =
        fx_new("run_id = \"rh-{validation}-a{attempt}\"; run_id_env = \"WANDB_RUN_ID\"; " SRC_API);
    f->env[0] = "WANDB_RUN_ID=fromenv";
    f->m.host.http_request = NULL;
    assert_true(fx_run(f, log) < 0);
    assert_contains(last_fail(f), "W&B run logent/logproj/rh-train-a1 cannot be read");
    fx_free(f);

    f = fx_new("run_id_env = \"WANDB_RUN_ID\"; entity = \"ent\"; project = \"proj\"; " SRC_API);
    f->env[0] = "WANDB_RUN_ID=stale";
    f->env[1] = "WANDB_RUN_ID=fromenv"; /* the last entry is the job's value */
    f->m.host.http_request = NULL;
    assert_true(fx_run(f, log) < 0);
    assert_contains(last_fail(f), "W&B run ent/proj/fromenv cannot be read");
    fx_free(f);

    f = fx_new(SRC_API);
    f->env[0] = "WANDB_ENTITY=envent";
    f->env[1] = "WANDB_PROJECT=envproj";
    f->m.host.http_request = NULL;
    assert_true(fx_run(f, log) < 0);
    assert_contains(last_fail(f), "W&B run logent/logproj/fromlog cannot be read");
    fx_free(f);

    /* the job's WANDB_ENTITY / WANDB_PROJECT when neither the plan nor a URL names them */
    f = fx_new("run_id = \"abc\"; " SRC_API);
    f->env[0] = "WANDB_ENTITY=envent";
    f->env[1] = "WANDB_PROJECT=envproj";
    f->m.host.http_request = NULL;
    assert_true(fx_run(f, "no url\n") < 0);
    assert_contains(last_fail(f), "W&B run envent/envproj/abc cannot be read");
    fx_free(f);

    f = fx_new("run_id = \"abc\"; " SRC_API);
    assert_true(fx_run(f, "no url\n") < 0);
    assert_contains(last_fail(f), "no W&B entity for run abc (from the run_id option)");
    fx_free(f);

    f = fx_new("run_id = \"a/b\"; entity = \"e\"; project = \"p\"; " SRC_API);
    assert_true(fx_run(f, NULL) < 0);
    assert_contains(last_fail(f), "\"a/b\" (from the run_id option) is not a W&B run id");
    fx_free(f);
}

/* ---- The run folder -------------------------------------------------------------------------- */

/* <scratch>/<name>/files[/wandb-summary.json]: a run folder whose own name is `name`, since the
 * run id is read from it. Its path goes to out. */
static void run_dir_make(char *out, size_t cap, const char *name, const char *summary)
{
    char base[400], p[600];
    const char *tmp = getenv("RELHOST_TEST_TMP");
    snprintf(base, sizeof(base), "%s/wbunit-XXXXXX", tmp != NULL ? tmp : "/tmp");
    assert_non_null(mkdtemp(base));
    snprintf(out, cap, "%s/%s", base, name);
    assert_int_equal(mkdir(out, 0755), 0);
    snprintf(p, sizeof(p), "%s/files", out);
    assert_int_equal(mkdir(p, 0755), 0);
    if (summary != NULL) {
        snprintf(p, sizeof(p), "%s/files/wandb-summary.json", out);
        FILE *fp = fopen(p, "w");
        assert_non_null(fp);
        fputs(summary, fp);
        fclose(fp);
    }
}

/* Remove what run_dir_make made (known names only: no recursive delete, no shell). */
static void run_dir_remove(const char *dir)
{
    char p[600];
    snprintf(p, sizeof(p), "%s/files/wandb-summary.json", dir);
    unlink(p);
    snprintf(p, sizeof(p), "%s/files", dir);
    rmdir(p);
    rmdir(dir);
    snprintf(p, sizeof(p), "%s", dir);
    char *slash = strrchr(p, '/');
    if (slash != NULL) {
        *slash = '\0';
        rmdir(p);
    }
}

static void test_plugins_metrics_wandb__a_run_folder_summary_needs_no_http(void **state)
{
    (void)state;
    char conf[1600], dir[512];
    run_dir_make(dir, sizeof(dir), "run-20251002_120000-abc123",
                 "{\"overview/sps\": 31250.5, \"eval\": {\"success_rate\": 0.75}, \"lr\": NaN, "
                 "\"_step\": 99, \"_wandb\": {\"runtime\": 3}}");
    snprintf(conf, sizeof(conf),
             "run_dir = \"%s\"; entity = \"ent\"; project = \"proj\"; "
             "metrics = ( { name = \"sps\"; key = \"overview/sps\"; }, { name = \"succ\"; "
             "key = \"eval.success_rate\"; }, { name = \"lr\"; key = \"lr\"; }, "
             "{ name = \"loss\"; key = \"train/loss\"; } );",
             dir);
    struct fx *f = fx_new(conf);
    f->m.host.http_request = NULL; /* proves that no request is made */
    /* the folder the plan names outranks a URL seen in the log, and the disagreement is noted */
    assert_int_equal(fx_run(f, "https://wandb.ai/ent/proj/runs/other9\n"), 0);
    assert_non_null(mock_host_note(&f->m, "the log's last W&B run URL names run other9, but run "
                                          "abc123 (from the name of run_dir) was read"));
    assert_true(metric_value(&f->m, "sps") == 31250.5);
    assert_true(metric_value(&f->m, "succ") == 0.75);
    assert_null(mock_host_metric(&f->m, "lr"));
    assert_non_null(mock_host_note(&f->m, "W&B key lr of run ent/proj/abc123 is not finite"));
    char want[1600];
    snprintf(want, sizeof(want),
             "W&B key train/loss not in run ent/proj/abc123 (%s/files/"
             "wandb-summary.json; keys present: overview/sps, eval, lr)",
             dir);
    assert_non_null(mock_host_note(&f->m, want));
    assert_string_equal(mock_host_label(&f->m, "wandb_run"), "ent/proj/abc123");
    /* the run read, on the public cloud's pages (not the log's other run) */
    assert_string_equal(mock_host_label(&f->m, RELHOST_LABEL_RUN_URL),
                        "https://wandb.ai/ent/proj/runs/abc123");
    assert_non_null(mock_host_note(&f->m, "(run id from the name of run_dir, read from"));
    fx_free(f);
    run_dir_remove(dir);
}

static void test_plugins_metrics_wandb__an_offline_run_folder_without_summary_is_an_error(
    void **state)
{
    (void)state;
    char conf[1600], dir[512];
    run_dir_make(dir, sizeof(dir), "offline-run-20251002_120000-off1", NULL);
    snprintf(conf, sizeof(conf),
             "run_dir = \"%s\"; metrics = ( { name = \"sps\"; "
             "key = \"overview/sps\"; } );",
             dir);
    struct fx *f = fx_new(conf);
    assert_int_equal(fx_run(f, NULL), RELHOST_ENOTFOUND);
    char want[1600];
    snprintf(want, sizeof(want),
             "offline W&B run %s has no files/wandb-summary.json (offline "
             "runs may not write it); sync the run (wandb sync %s)",
             dir, dir);
    assert_contains(last_fail(f), want);
    assert_int_equal(f->n_sent, 0);
    fx_free(f);

    /* a folder that does not exist */
    snprintf(conf, sizeof(conf),
             "run_dir = \"%s/nope-{validation}\"; metrics = ( { name = "
             "\"sps\"; key = \"overview/sps\"; } );",
             dir);
    f = fx_new(conf);
    assert_int_equal(fx_run(f, NULL), RELHOST_ENOTFOUND);
    snprintf(want, sizeof(want), "W&B run_dir %s/nope-train does not exist", dir);
    assert_contains(last_fail(f), want);
    fx_free(f);
    run_dir_remove(dir);
}

static void test_plugins_metrics_wandb__an_online_run_folder_without_summary_asks_the_api(
    void **state)
{
    (void)state;
    char conf[1600], dir[512];
    run_dir_make(dir, sizeof(dir), "run-20251002_120000-abc", NULL);
    snprintf(conf, sizeof(conf),
             "run_dir = \"%s\"; entity = \"ent\"; project = \"proj\"; "
             "metrics = ( { name = \"sps\"; key = \"overview/sps\"; } );",
             dir);
    struct fx *f = fx_new(conf);
    fx_reply(f, 200, RUN_REPLY);
    assert_int_equal(fx_run(f, NULL), 0);
    assert_true(metric_value(&f->m, "sps") == 812.5);
    assert_non_null(mock_host_note(&f->m, "has no files/wandb-summary.json; reading the run from "
                                          "the W&B API"));
    fx_free(f);
    run_dir_remove(dir);
}

int main(void)
{
    /* open() reads it for the default base_url: the tests set it themselves */
    unsetenv("WANDB_BASE_URL");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plugins_metrics_wandb__option_defaults_are_the_documented_ones),
        cmocka_unit_test(
            test_plugins_metrics_wandb__open_refuses_bad_names_duplicates_and_base_urls),
        cmocka_unit_test(
            test_plugins_metrics_wandb__base_url_defaults_to_WANDB_BASE_URL_then_the_cloud),
        cmocka_unit_test(test_plugins_metrics_wandb__the_last_run_url_wins_however_the_log_is_cut),
        cmocka_unit_test(
            test_plugins_metrics_wandb__only_wandb_and_the_configured_server_are_run_urls),
        cmocka_unit_test(test_plugins_metrics_wandb__long_lines_are_skipped_in_constant_memory),
        cmocka_unit_test(test_plugins_metrics_wandb__no_run_id_fails_naming_everything_looked_at),
        cmocka_unit_test(test_plugins_metrics_wandb__run_id_option_beats_env_beats_log_and_expands),
        cmocka_unit_test(test_plugins_metrics_wandb__api_summary_and_history_reduce_exactly),
        cmocka_unit_test(test_plugins_metrics_wandb__a_key_the_run_lacks_is_a_note_not_a_failure),
        cmocka_unit_test(test_plugins_metrics_wandb__last_falls_back_to_the_last_history_row),
        cmocka_unit_test(test_plugins_metrics_wandb__a_missing_run_or_project_fails_naming_it),
        cmocka_unit_test(test_plugins_metrics_wandb__graphql_errors_fail_with_their_messages),
        cmocka_unit_test(test_plugins_metrics_wandb__http_401_says_the_key_was_rejected),
        cmocka_unit_test(test_plugins_metrics_wandb__a_transport_failure_keeps_the_hosts_message),
        cmocka_unit_test(test_plugins_metrics_wandb__non_finite_values_are_skipped_with_a_note),
        cmocka_unit_test(test_plugins_metrics_wandb__a_long_history_says_it_was_sampled),
        cmocka_unit_test(
            test_plugins_metrics_wandb__several_runs_and_a_plan_url_mismatch_are_noted),
        cmocka_unit_test(test_plugins_metrics_wandb__a_run_folder_summary_needs_no_http),
        cmocka_unit_test(
            test_plugins_metrics_wandb__an_offline_run_folder_without_summary_is_an_error),
        cmocka_unit_test(
            test_plugins_metrics_wandb__an_online_run_folder_without_summary_asks_the_api),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
