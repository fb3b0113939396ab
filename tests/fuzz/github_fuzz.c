/* SPDX-License-Identifier: MIT */
/*
 * github_fuzz - a libFuzzer harness for plugins/github's reply parsing: the gate's run() (a pull
 * request, a release, a quarantine issue) against a scripted HTTP service whose every reply
 * (status, rate-limit and link headers, body) comes from the input: created objects, existing
 * ones found by listing (Link rel="next" followed), 422 errors[] bodies, rate limits. Oracle and
 * layout: gate_fuzz.h and README.md.
 */
#include "../../plugins/github/github.h"

#define GATE_CONF struct github_conf
#define GATE_BASE "http://127.0.0.1:9/api/v3"
#define GH_PLAN(action) \
    "action = \"" action "\"; repository = \"octo-org/octo-repo\"; base_url = \"" GATE_BASE "\"; "
static const char *const GATE_CONFS[] = {
    GH_PLAN("pull_request") "head = \"release/1.0\"; base = \"main\";",
    GH_PLAN("release") "tag = \"v1.0\"; target_commitish = \"main\";",
    GH_PLAN("issue") "labels = [\"quarantine\"];",
};
static const char *const GATE_SECRETS[] = {"GITHUB_TOKEN=fuzz-token-0123456789", NULL};

#include "gate_fuzz.h"
