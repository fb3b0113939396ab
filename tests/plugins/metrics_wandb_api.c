/* SPDX-License-Identifier: MIT */
/* tests/plugins/metrics_wandb_api.c - the metrics_wandb cases on the API path: summary and history
 * reduced exactly, missing keys, runs and projects, GraphQL errors, HTTP 401, transport failures,
 * non-finite values, sampled history and URL mismatches; main and fixture in metrics_wandb.c and
 * metrics_wandb_common.c. */

#include "metrics_wandb_common.h"

/* ---- The API path ---------------------------------------------------------------------------- */

void test_plugins_metrics_wandb__api_summary_and_history_reduce_exactly(void **state)
{
    (void)state;
    struct fx *f = fx_new(SRC_API);
    fx_reply(f, 200, RUN_REPLY);
    fx_reply(f, 200, HISTORY_REPLY);
    assert_int_equal(fx_run(f, "wandb: View run at http://127.0.0.1:8080/ent/proj/runs/abc\n"), 0);

    /* last: the summary, double-decoded */
    assert_true(metric_value(&f->m, "sps") == 812.5);
    assert_true(metric_value(&f->m, "success") == 0.875);
    /* history: 8 numeric rows of steps 0..7 (out of order in the reply), values 100..800 */
    assert_true(metric_value(&f->m, "sps_max") == 800);
    assert_true(metric_value(&f->m, "sps_min") == 100);
    assert_true(metric_value(&f->m, "sps_mean") == 450);
    /* the last 25% of 8 rows: steps 6 and 7 */
    assert_true(metric_value(&f->m, "sps_tail") == 750);
    const mock_metric *mm = mock_host_metric(&f->m, "sps_tail");
    assert_string_equal(mm->pattern, "overview/sps");
    assert_string_equal(mm->reducer, "mean_last_pct");
    assert_int_equal(mm->samples, 2);
    assert_null(mm->source); /* the host fills in the source's plan name */
    mm = mock_host_metric(&f->m, "sps_mean");
    assert_int_equal(mm->samples, 8);
    mm = mock_host_metric(&f->m, "sps");
    assert_string_equal(mm->reducer, "last");
    assert_int_equal(mm->samples, 1);

    assert_string_equal(mock_host_label(&f->m, "wandb_run"), "ent/proj/abc");
    /* the reserved run_url label (ABI 1.4) is https only: a plain-http server gets none */
    assert_null(mock_host_label(&f->m, RELHOST_LABEL_RUN_URL));
    assert_non_null(mock_host_note(&f->m, "W&B run ent/proj/abc (state finished) (run id from "
                                          "the run URL in the log, read from the W&B API): "
                                          "http://127.0.0.1:8080/ent/proj/runs/abc"));
    assert_non_null(mock_host_note(&f->m, "W&B key overview/sps of run ent/proj/abc: 1 non-finite "
                                          "value (NaN or Infinity) in the sampled history "
                                          "skipped"));
    assert_int_equal(f->m.n_artifacts, 1);
    assert_string_equal(f->m.artifacts[0].kind, "url");

    /* what went over the wire: two POSTs to {base}/graphql, basic auth by variable name */
    assert_int_equal(f->n_sent, 2);
    for (size_t i = 0; i < 2; i++) {
        assert_string_equal(f->sent[i].method, "POST");
        assert_string_equal(f->sent[i].url, "http://127.0.0.1:8080/graphql");
        assert_string_equal(f->sent[i].basic_user, "api");
        assert_string_equal(f->sent[i].basic_env, "WANDB_API_KEY");
        assert_null(f->sent[i].bearer_env);
        assert_string_equal(f->sent[i].headers[0], "Content-Type: application/json");
        assert_true(f->sent[i].timeout_s == 30.0 && f->sent[i].budget_s == 120.0);
    }
    json_error_t jerr;
    json_t *b = json_loads(f->sent[0].body, 0, &jerr);
    assert_non_null(b);
    assert_string_equal(json_string_value(json_object_get(b, "operationName")), "Run");
    assert_contains(json_string_value(json_object_get(b, "query")),
                    "project(name: $project, entityName: $entity) { run(name: $name) { id name "
                    "displayName state summaryMetrics historyKeys historyLineCount } }");
    json_t *v = json_object_get(b, "variables");
    assert_string_equal(json_string_value(json_object_get(v, "entity")), "ent");
    assert_string_equal(json_string_value(json_object_get(v, "project")), "proj");
    assert_string_equal(json_string_value(json_object_get(v, "name")), "abc");
    json_decref(b);
    b = json_loads(f->sent[1].body, 0, &jerr);
    assert_non_null(b);
    assert_string_equal(json_string_value(json_object_get(b, "operationName")),
                        "RunSampledHistory");
    assert_contains(json_string_value(json_object_get(b, "query")),
                    "sampledHistory(specs: $specs)");
    json_t *specs = json_object_get(json_object_get(b, "variables"), "specs");
    /* one spec for the four history metrics on one key: a JSON *string* */
    assert_int_equal(json_array_size(specs), 1);
    assert_string_equal(json_string_value(json_array_get(specs, 0)),
                        "{\"keys\":[\"_step\",\"overview/sps\"],\"samples\":500}");
    json_decref(b);
    assert_no_secret(f);
    fx_free(f);
}

void test_plugins_metrics_wandb__a_key_the_run_lacks_is_a_note_not_a_failure(void **state)
{
    (void)state;
    struct fx *f = fx_new("metrics = ( { name = \"loss\"; key = \"train/lossy\"; },"
                          "{ name = \"ret\"; key = \"eval/return\"; reducer = \"max\"; } );");
    fx_reply(f, 200, RUN_REPLY);
    fx_reply(f, 200, "{\"data\":{\"project\":{\"run\":{\"sampledHistory\":[[]]}}}}");
    assert_int_equal(fx_run(f, "https://wandb.ai/ent/proj/runs/abc\n"), 0);
    assert_int_equal(f->m.n_metrics, 0);
    assert_null(mock_host_last_fail(&f->m));
    /* wandb's own keys (_step, _runtime) are not listed */
    assert_non_null(mock_host_note(&f->m, "W&B key train/lossy not in run ent/proj/abc (the W&B "
                                          "API; keys present: overview/sps, eval/success_rate, "
                                          "train/loss)"));
    assert_non_null(mock_host_note(&f->m, "W&B key eval/return not in run ent/proj/abc (sampled "
                                          "history: 0 rows; keys present: overview/sps, "
                                          "train/loss)"));
    /* a last key absent from summary and history keys needs no history query */
    json_t *b = json_loads(f->sent[1].body, 0, NULL);
    assert_int_equal(json_array_size(json_object_get(json_object_get(b, "variables"), "specs")), 1);
    json_decref(b);
    fx_free(f);
}

void test_plugins_metrics_wandb__last_falls_back_to_the_last_history_row(void **state)
{
    (void)state;
    struct fx *f =
        fx_new("metrics = ( { name = \"sps\"; key = \"overview/sps\"; samples = 50; } );");
    fx_reply(f, 200,
             "{\"data\":{\"project\":{\"run\":{\"name\":\"abc\",\"state\":\"running\","
             "\"summaryMetrics\":\"{}\",\"historyKeys\":\"{\\\"keys\\\":"
             "{\\\"overview/sps\\\":{}}}\",\"historyLineCount\":3}}}}");
    fx_reply(f, 200,
             "{\"data\":{\"project\":{\"run\":{\"sampledHistory\":[[{\"_step\":2,"
             "\"overview/sps\":9.5},{\"_step\":0,\"overview/sps\":1}]]}}}}");
    assert_int_equal(fx_run(f, "https://wandb.ai/ent/proj/runs/abc\n"), 0);
    assert_true(metric_value(&f->m, "sps") == 9.5);
    assert_non_null(mock_host_note(&f->m, "W&B run ent/proj/abc is running, not finished"));
    json_t *b = json_loads(f->sent[1].body, 0, NULL);
    assert_string_equal(json_string_value(json_array_get(
                            json_object_get(json_object_get(b, "variables"), "specs"), 0)),
                        "{\"keys\":[\"_step\",\"overview/sps\"],\"samples\":50}");
    json_decref(b);
    fx_free(f);
}

void test_plugins_metrics_wandb__a_missing_run_or_project_fails_naming_it(void **state)
{
    (void)state;
    struct fx *f = fx_new(SRC_API);
    fx_reply(f, 200, "{\"data\":{\"project\":{\"run\":null}}}");
    assert_int_equal(fx_run(f, "https://wandb.ai/ent/proj/runs/gone\n"), RELHOST_ENOTFOUND);
    assert_contains(last_fail(f), "W&B run gone not found (run: null) in project ent/proj at "
                                  "http://127.0.0.1:8080; the run id came from the run URL in the "
                                  "log");
    assert_int_equal(f->m.n_metrics, 0);
    assert_null(mock_host_label(&f->m, "wandb_run"));
    fx_free(f);

    f = fx_new(SRC_API);
    fx_reply(f, 200, "{\"data\":{\"project\":null}}");
    assert_int_equal(fx_run(f, "https://wandb.ai/ent/nope/runs/abc\n"), RELHOST_ENOTFOUND);
    assert_contains(last_fail(f), "W&B project ent/nope not found (project: null)");
    assert_contains(last_fail(f), "looking for run abc");
    fx_free(f);

    /* the history query finds the run gone too */
    f = fx_new(SRC_API);
    fx_reply(f, 200, RUN_REPLY);
    fx_reply(f, 200, "{\"data\":{\"project\":{\"run\":null}}}");
    assert_int_equal(fx_run(f, "https://wandb.ai/ent/proj/runs/abc\n"), RELHOST_ENOTFOUND);
    assert_contains(last_fail(f), "W&B run abc not found (run: null)");
    fx_free(f);
}

void test_plugins_metrics_wandb__graphql_errors_fail_with_their_messages(void **state)
{
    static const struct {
        long status;
        const char *body, *msg;
        int rc;
    } cases[] = {
        {200,
         "{\"errors\":[{\"message\":\"run history is temporarily unavailable\",\"path\":"
         "[\"project\",\"run\"],\"extensions\":{\"code\":\"INTERNAL\"}}],"
         "\"data\":{\"project\":null}}",
         "W&B answered the Run query for run ent/proj/abc with an error (HTTP 200): run history is "
         "temporarily unavailable [INTERNAL] (at project.run)",
         RELHOST_EINVAL},
        {500, "{\"errors\":[\"Server down\"]}",
         "W&B answered the Run query for run ent/proj/abc with an error (HTTP 500): Server down",
         RELHOST_ERETRY},
        {400, "{\"errors\":[{\"message\":\"a\"},{\"message\":\"b\"},7]}",
         "with errors (HTTP 400): a; b; 7", RELHOST_EINVAL},
        {502, "<html>Bad Gateway</html>",
         "W&B answered HTTP 502 to the Run query for run ent/proj/abc at "
         "http://127.0.0.1:8080/graphql: \"<html>Bad Gateway</html>\"",
         RELHOST_ERETRY},
        /* an unreadable reply: not retryable, as in every HTTP plugin (pl_http.h) */
        {200, "{\"data\":{\"project\":{\"run\":{\"summaryMetrics\":",
         "W&B's reply to the Run query for run ent/proj/abc is unreadable: the reply to POST "
         "http://127.0.0.1:8080/graphql (HTTP 200, 44 bytes) is not valid JSON: ",
         RELHOST_EINVAL},
        {200, "",
         "W&B's reply to the Run query for run ent/proj/abc is unreadable: the reply to "
         "POST http://127.0.0.1:8080/graphql (HTTP 200) is empty where a GraphQL reply was "
         "expected; not retried (the same reply would come again)",
         RELHOST_EINVAL},
        {408, "", "W&B answered HTTP 408 to the Run query", RELHOST_ERETRY},
        {429, "{}", "W&B answered HTTP 429 to the Run query", RELHOST_ERETRY},
        {200, "{\"data\":{\"project\":{\"run\":{\"summaryMetrics\":\"[1,2\"}}}}",
         "summaryMetrics is not a JSON-encoded object", RELHOST_EINVAL},
        {200, "[]", "(HTTP 200, 2 bytes) has no data object; it begins \"[]\"", RELHOST_EINVAL},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct fx *f = fx_new(SRC_API);
        fx_reply(f, cases[i].status, cases[i].body);
        int rc = fx_run(f, "https://wandb.ai/ent/proj/runs/abc\n");
        if (rc != cases[i].rc)
            fail_msg("case %zu: collect returned %d, want %d (%s)", i, rc, cases[i].rc,
                     mock_host_last_fail(&f->m));
        assert_contains(last_fail(f), cases[i].msg);
        assert_int_equal(f->m.n_metrics, 0);
        fx_free(f);
    }
}

void test_plugins_metrics_wandb__http_401_says_the_key_was_rejected(void **state)
{
    (void)state;
    struct fx *f = fx_new(SRC_API);
    fx_reply(f, 401, "{\"errors\":[{\"message\":\"bad key " KEY "\"}]}");
    assert_int_equal(fx_run(f, "https://wandb.ai/ent/proj/runs/abc\n"), RELHOST_EINVAL);
    assert_contains(last_fail(f), "W&B rejected the API key (HTTP 401): "
                                  "http://127.0.0.1:8080/graphql refused the key in "
                                  "$WANDB_API_KEY");
    assert_no_secret(f); /* the body's echo of the key is not repeated */
    fx_free(f);

    /* no key at all: said before any request */
    f = fx_new(SRC_API);
    f->m.secrets = NULL;
    assert_int_equal(fx_run(f, "https://wandb.ai/ent/proj/runs/abc\n"), RELHOST_EINVAL);
    assert_contains(last_fail(f), "no W&B API key: $WANDB_API_KEY is not set");
    assert_int_equal(f->n_sent, 0);
    fx_free(f);
}

void test_plugins_metrics_wandb__a_transport_failure_keeps_the_hosts_message(void **state)
{
    (void)state;
    struct fx *f = fx_new(SRC_API);
    f->replies[f->n_replies++] = (struct reply){.body = NULL, .rc = RELHOST_ERETRY};
    assert_int_equal(fx_run(f, "https://wandb.ai/ent/proj/runs/abc\n"), RELHOST_ERETRY);
    assert_string_equal(last_fail(f),
                        "POST http://127.0.0.1:8080/graphql: connection refused after 4 attempts");
    assert_non_null(mock_host_note(&f->m, "W&B Run query for run ent/proj/abc at "
                                          "http://127.0.0.1:8080/graphql got no usable answer"));
    fx_free(f);

    /* only the host's RELHOST_ERETRY may pass later: a TLS error (RELHOST_EIO), an old host's
     * RELHOST_ETIMEDOUT and a refusal to send (RELHOST_EINVAL) come back as RELHOST_EINVAL,
     * which the host never takes for a transient failure of a source */
    {
        static const int codes[] = {RELHOST_EIO, RELHOST_ETIMEDOUT, RELHOST_EINVAL};
        for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
            f = fx_new(SRC_API);
            f->replies[f->n_replies++] = (struct reply){.body = NULL, .rc = codes[i]};
            assert_int_equal(fx_run(f, "https://wandb.ai/ent/proj/runs/abc\n"), RELHOST_EINVAL);
            if (codes[i] == RELHOST_EINVAL)
                assert_non_null(mock_host_note(&f->m, "W&B Run query for run ent/proj/abc: "
                                                      "relhost refused to send it to "
                                                      "http://127.0.0.1:8080/graphql; check "
                                                      "base_url"));
            fx_free(f);
        }
    }

    /* an interrupt: the host says nothing, so the source does */
    f = fx_new(SRC_API);
    f->replies[f->n_replies++] = (struct reply){.body = NULL, .rc = RELHOST_EINTR};
    assert_int_equal(fx_run(f, "https://wandb.ai/ent/proj/runs/abc\n"), RELHOST_EINTR);
    assert_string_equal(last_fail(f), "interrupted while asking W&B (Run query) for run "
                                      "ent/proj/abc");
    fx_free(f);

    /* a redirect is not followed (credentials could go elsewhere): say where base_url should
     * point */
    f = fx_new(SRC_API);
    f->replies[f->n_replies++] = (struct reply){
        .status = 301, .body = "", .header = "location: https://api.example.com/graphql\x01"};
    assert_int_equal(fx_run(f, "https://wandb.ai/ent/proj/runs/abc\n"), RELHOST_EINVAL);
    assert_string_equal(last_fail(f), "W&B answered the Run query with a redirect (HTTP 301 to "
                                      "https://api.example.com/graphql?) from "
                                      "http://127.0.0.1:8080/graphql; set base_url to the server's "
                                      "API address");
    fx_free(f);
}

void test_plugins_metrics_wandb__non_finite_values_are_skipped_with_a_note(void **state)
{
    (void)state;
    struct fx *f = fx_new("metrics = ( { name = \"a\"; key = \"a\"; }, "
                          "{ name = \"b\"; key = \"b\"; },"
                          "{ name = \"c\"; key = \"c\"; }, "
                          "{ name = \"d\"; key = \"nested.d\"; } );");
    /* a Python-written summary: bare NaN / Infinity are not JSON, and still read */
    fx_reply(f, 200,
             "{\"data\":{\"project\":{\"run\":{\"state\":\"finished\",\"summaryMetrics\":"
             "\"{\\\"a\\\": NaN, \\\"b\\\": -Infinity, \\\"c\\\": \\\"text\\\", "
             "\\\"nested\\\": {\\\"d\\\": 4}}\"}}}}");
    assert_int_equal(fx_run(f, "https://wandb.ai/ent/proj/runs/abc\n"), 0);
    assert_null(mock_host_metric(&f->m, "a"));
    assert_null(mock_host_metric(&f->m, "b"));
    assert_null(mock_host_metric(&f->m, "c"));
    assert_true(metric_value(&f->m, "d") == 4);
    assert_non_null(mock_host_note(&f->m, "W&B key a of run ent/proj/abc is not finite"));
    assert_non_null(mock_host_note(&f->m, "W&B key b of run ent/proj/abc is not finite"));
    assert_non_null(mock_host_note(&f->m, "W&B key c of run ent/proj/abc is not a number in the "
                                          "summary (a string)"));
    fx_free(f);
}

void test_plugins_metrics_wandb__a_long_history_says_it_was_sampled(void **state)
{
    (void)state;
    struct fx *f = fx_new("metrics = ( { name = \"m\"; key = \"overview/sps\"; reducer = \"max\"; "
                          "samples = 2; } );");
    fx_reply(f, 200, RUN_REPLY);
    fx_reply(f, 200,
             "{\"data\":{\"project\":{\"run\":{\"sampledHistory\":[[{\"_step\":0,"
             "\"overview/sps\":1},{\"_step\":8,\"overview/sps\":3}]]}}}}");
    assert_int_equal(fx_run(f, "https://wandb.ai/ent/proj/runs/abc\n"), 0);
    assert_true(metric_value(&f->m, "m") == 3);
    assert_non_null(mock_host_note(&f->m, "W&B run ent/proj/abc has 9 history rows; max of "
                                          "overview/sps is over a sample of 2 (raise samples"));
    fx_free(f);
}

void test_plugins_metrics_wandb__several_runs_and_a_plan_url_mismatch_are_noted(void **state)
{
    (void)state;
    struct fx *f = fx_new("entity = \"ent\"; project = \"proj\"; metrics = ( { name = \"sps\"; "
                          "key = \"overview/sps\"; } );");
    fx_reply(f, 200, RUN_REPLY);
    assert_int_equal(fx_run(f, LOG_TWO_RUNS), 0);
    json_t *b = json_loads(f->sent[0].body, 0, NULL);
    json_t *v = json_object_get(b, "variables");
    /* the last URL's run, under the plan's entity and project */
    assert_string_equal(json_string_value(json_object_get(v, "name")), "second2");
    assert_string_equal(json_string_value(json_object_get(v, "entity")), "ent");
    json_decref(b);
    assert_non_null(mock_host_note(&f->m, "the log printed URLs of more than one W&B run (first "
                                          "metta/stable/first1, last metta/stable/second2)"));
    assert_non_null(mock_host_note(&f->m, "the log's run URL names metta/stable but the plan says "
                                          "ent/proj"));
    /* the URL shown is built for the plan's names, on the app host of the public API */
    assert_non_null(mock_host_note(&f->m, "https://wandb.ai/ent/proj/runs/second2"));
    fx_free(f);
}
