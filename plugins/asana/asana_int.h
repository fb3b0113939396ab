/* SPDX-License-Identifier: MIT */
/*
 * asana's private header: what its files share. Not installed, not part of the plugin ABI.
 * asana.c says what the plugin does. One job per file:
 *  asana.c        the gate: option table, open/close, describe, the not-configured path, run
 *  asana_api.c    HTTP + JSON: one GET judged by the retry table, every page of a list
 *  asana_tasks.c  the sections found by name, their open tasks listed and judged as blockers
 */
#ifndef ASANA_INT_H
#define ASANA_INT_H

#include <jansson.h>
#include <relhost/plugin.h>
#include <stddef.h>

/* The project id is not a secret (it is in every task link), so it may come from a plain
 * environment variable, as in the seed's setup; the token only ever through the host. */
#define ASANA_PROJECT_ENV "ASANA_PROJECT_ID"
/* The API's maximum page size: fewest requests against a 150/min rate limit. */
#define ASANA_LIMIT "100"
#define ASANA_TASK_FIELDS                                            \
    "name,completed,permalink_url,assignee.name,custom_fields.name," \
    "custom_fields.display_value,memberships.section.name,tags.name"
/* 100,000 items: a server still paging past this is looping, not listing. */
#define ASANA_MAX_PAGES 1000
/* Task names and people are user text: long or multi-line ones must not swamp the report. */
#define ASANA_TEXT_MAX 200
#define ASANA_EXCERPT_MAX 120

struct asana_conf {
    const char *token_env;
    const char *project;
    const char *section;
    const char *base_url;
    const char *tag;
    const char *custom_field;
    const char *custom_value;
    relhost_http_options http; /* timeout, retry_budget */
    int manual_fallback;
};

struct asana {
    const struct asana_conf *conf;
    char *base;         /* base_url without trailing slashes */
    char *project;      /* from the plan, else $ASANA_PROJECT_ID; NULL when neither */
    int project_is_env; /* for messages: where to fix a wrong project */
};

/* get_json() and get_all(): the reply came (GOT_JSON), or the request failed and the verdict is
 * set (GOT_VERDICT); a negative return ends the run. */
enum { GOT_JSON = 0, GOT_VERDICT = 1 };

/* ---- asana.c --------------------------------------------------------------------------------- */

int valid_gid(const char *s);

/* ---- asana_api.c ----------------------------------------------------------------------------- */

void set_error(relhost_verdict *out, int retryable);
int get_all(const relhost_ctx *ctx, struct asana *a, const char *path_query, const char *what,
            json_t *items, size_t *pages, relhost_verdict *out);

/* ---- asana_tasks.c --------------------------------------------------------------------------- */

int find_sections(const relhost_ctx *ctx, struct asana *a, json_t *gids, size_t *pages,
                  relhost_verdict *out);
int list_tasks(const relhost_ctx *ctx, struct asana *a, json_t *gids, json_t *tasks, size_t *pages,
               relhost_verdict *out);
int judge_tasks(const relhost_ctx *ctx, const struct asana *a, json_t *tasks, size_t *open_tasks,
                size_t *blockers, relhost_verdict *out);
void note_blocker(const relhost_ctx *ctx, json_t *t);
int is_blocker(const struct asana *a, json_t *t, char *err, size_t cap);

#endif
