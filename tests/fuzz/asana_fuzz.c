/* SPDX-License-Identifier: MIT */
/*
 * asana_fuzz - a libFuzzer harness for plugins/asana's reply parsing: the gate's run() against a
 * scripted HTTP service whose every reply (status, headers, body) comes from the input: the
 * sections page, the tasks pages (next_page.offset followed), the errors bodies, the blockers
 * judged by tag or custom field. Oracle and layout: gate_fuzz.h and README.md.
 */
#include "../../plugins/asana/asana_int.h"

#define GATE_CONF struct asana_conf
#define GATE_BASE "http://127.0.0.1:9/api/1.0"
static const char *const GATE_CONFS[] = {
    "project = \"1201\"; base_url = \"" GATE_BASE "\";",
    "project = \"1201\"; base_url = \"" GATE_BASE "\"; section = \"Release blockers\";",
    "project = \"1201\"; base_url = \"" GATE_BASE "\"; tag = \"release-blocker\";",
    "project = \"1201\"; base_url = \"" GATE_BASE "\"; custom_field = \"Priority\";"
    " custom_value = \"High\";",
};
static const char *const GATE_SECRETS[] = {"ASANA_TOKEN=fuzz-token-0123456789", NULL};

#include "gate_fuzz.h"
