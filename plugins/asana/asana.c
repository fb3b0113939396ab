/* SPDX-License-Identifier: MIT */
/*
 * asana.c - the bug gate: a release is blocked while its Asana section holds open tasks.
 *
 * Flow (every request through pl_host->http_request, which owns auth, timeouts, retries on 5xx/429
 * with Retry-After, and the redaction of the token; this plugin never sees the token's value):
 *   GET {base}/projects/{project}/sections?limit=100            find the section by its name
 *   GET {base}/sections/{gid}/tasks?completed_since=now&limit=100&opt_fields=...
 * Both follow next_page: the next request carries the `offset` the API returned, sent to the
 * CONFIGURED base URL. next_page.uri is never followed: it names Asana's public host, so a plan
 * pointed at a proxy or a test server would otherwise leak the token to app.asana.com.
 *
 * Verdicts:
 *   no open task in the section (after tag / custom field narrowing)   PASSED
 *   open tasks                                                          FAILED  blockers
 *   no token or no project, on a terminal, manual_fallback: asked       PASSED / FAILED declined
 *   no token or no project otherwise                                    SKIPPED not_configured
 *   section missing, HTTP 4xx, invalid JSON, unexpected shape           ERROR   (not retryable)
 *   TLS or certificate error, unresolved name, http:// refused, ...     ERROR   (not retryable)
 *   HTTP 5xx, 408 or 429 after the host's retries, refused connection,  ERROR   retryable
 *   timeout, reset or cut reply (the host's RELHOST_ERETRY)
 * That is the rule every HTTP plugin follows (plugins/common/pl_http.h, "the retry table").
 * Unknown or malformed replies fail closed: a field the narrowing needs that the API did not send
 * is an ERROR, never a task silently counted as "not a blocker".
 *
 * asana_int.h lists the files and what each does.
 */
#include "asana_int.h"

#include <relhost/plugin.h>

#include "../common/pl_host.h"

#include "../common/pl_http.h"
#include "../common/pl_text.h"

#include <jansson.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define OPT(f, t, ...) PL_OPT(struct asana_conf, f, t, __VA_ARGS__)
static const relhost_option asana_options[] = {
    OPT(token_env, SECRET_ENV, .def = "ASANA_TOKEN",
        .doc = "environment variable holding the Asana personal access token"),
    OPT(project, STRING,
        .doc = "project gid (default: $" ASANA_PROJECT_ENV ", read as plain, non-secret text)"),
    OPT(section, STRING, .def = "Active",
        .doc = "name of the section whose open tasks block the release"),
    OPT(base_url, STRING, .def = "https://app.asana.com/api/1.0",
        .doc = "API base URL (https; plain http only to a loopback address)"),
    OPT(tag, STRING, .doc = "count only open tasks carrying this tag (exact name)"),
    OPT(custom_field, STRING,
        .doc = "count only open tasks whose custom field of this name is set (see custom_value)"),
    OPT(custom_value, STRING,
        .doc = "with custom_field: count only tasks whose field shows exactly this value"),
    RELHOST_HTTP_OPTION_ROWS(struct asana_conf, http),
    OPT(manual_fallback, BOOL, .def = "true",
        .doc = "when Asana is not configured and a person is at the terminal, ask them instead"),
    {0}};
#undef OPT

/* ---- small text helpers (the shared ones: ../common/pl_text.h) ---------------------------- */

/* A gid goes into a URL path: digits (Asana's) or at most a plain token, nothing that could
 * change the path or the query. */
int valid_gid(const char *s)
{
    size_t n = strlen(s);

    return n > 0 && n <= 64 &&
           strspn(s, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_-") == n;
}

/* ---- open / close -------------------------------------------------------------------------- */

static void asana_free(struct asana *a)
{
    if (a == NULL)
        return;
    free(a->base);
    free(a->project);
    free(a);
}

static int asana_open(const relhost_ctx *ctx, const void *conf, void **inst)
{
    const struct asana_conf *c = conf;
    struct asana *a;
    const char *why = NULL;
    char whybuf[256];
    const char *proj;
    size_t n;

    if (c->section == NULL || c->section[0] == '\0') {
        pl_host->fail(ctx,
                      "%s: section is empty: name the Asana section whose open tasks block a "
                      "release, e.g. section = \"Active\"",
                      pl_where(ctx, &c->section));
        return RELHOST_EINVAL;
    }
    if (c->base_url == NULL || (why = pl_bad_base_url(c->base_url, "https://app.asana.com/api/1.0",
                                                      whybuf, sizeof whybuf)) != NULL) {
        /* The value is not echoed: it might hold a password (the very thing refused). */
        pl_host->fail(ctx, "%s: base_url is not usable: %s", pl_where(ctx, &c->base_url),
                      why != NULL ? why : "it is empty");
        return RELHOST_EINVAL;
    }
    if (c->custom_value != NULL && c->custom_field == NULL) {
        pl_host->fail(ctx,
                      "%s: custom_value is set without custom_field: name the field too, e.g. "
                      "custom_field = \"Priority\"; custom_value = \"High\";",
                      pl_where(ctx, &c->custom_value));
        return RELHOST_EINVAL;
    }
    if (c->tag != NULL && c->tag[0] == '\0') {
        pl_host->fail(ctx, "%s: an empty tag would match no task: remove it or name the tag",
                      pl_where(ctx, &c->tag));
        return RELHOST_EINVAL;
    }
    if (c->custom_field != NULL && c->custom_field[0] == '\0') {
        pl_host->fail(ctx,
                      "%s: an empty custom_field would match no task: remove it or name the "
                      "field",
                      pl_where(ctx, &c->custom_field));
        return RELHOST_EINVAL;
    }
    proj = c->project;
    if (proj == NULL) {
        proj = getenv(ASANA_PROJECT_ENV);
        if (proj != NULL && proj[0] == '\0')
            proj = NULL;
    }
    if (proj != NULL && !valid_gid(proj)) {
        char shown[ASANA_TEXT_MAX + 4];
        pl_clean_text(proj, strlen(proj), 64, shown, sizeof shown);
        if (c->project != NULL)
            pl_host->fail(ctx,
                          "%s: project \"%s\" is not an Asana project gid: give the number "
                          "from the project's URL (https://app.asana.com/0/<gid>/...)",
                          pl_where(ctx, &c->project), shown);
        else
            pl_host->fail(ctx,
                          "$" ASANA_PROJECT_ENV " \"%s\" is not an Asana project gid: give the "
                          "number from the project's URL (https://app.asana.com/0/<gid>/...)",
                          shown);
        return RELHOST_EINVAL;
    }

    a = calloc(1, sizeof *a);
    if (a == NULL)
        goto oom;
    a->conf = c;
    a->project_is_env = c->project == NULL;
    n = strlen(c->base_url);
    while (n > 0 && c->base_url[n - 1] == '/')
        n--;
    a->base = strndup(c->base_url, n);
    if (a->base == NULL)
        goto oom;
    if (proj != NULL && (a->project = strdup(proj)) == NULL)
        goto oom;
    *inst = a;
    return 0;
oom:
    asana_free(a);
    return pl_oom(ctx);
}

static void asana_close(void *inst) { asana_free(inst); }

/* ---- configuration state ------------------------------------------------------------------- */

static int token_set(const relhost_ctx *ctx, const struct asana *a)
{
    /* Only asks whether it is set; the value stays with the host (which also registers it for
     * redaction here, before any request could echo it). */
    return pl_host->secret != NULL && pl_host->secret(ctx, a->conf->token_env) != NULL;
}

static void not_configured_text(const struct asana *a, int have_token, char *buf, size_t cap)
{
    static const char no_project[] = "no project (set `project` or $" ASANA_PROJECT_ENV ")";

    if (!have_token && a->project == NULL)
        snprintf(buf, cap, "Asana is not configured: $%s is not set, and %s", a->conf->token_env,
                 no_project);
    else if (!have_token)
        snprintf(buf, cap, "Asana is not configured: $%s is not set", a->conf->token_env);
    else
        snprintf(buf, cap, "Asana is not configured: %s", no_project);
}

static void narrowing_text(const struct asana *a, char *buf, size_t cap)
{
    const struct asana_conf *c = a->conf;
    int n = 0;

    buf[0] = '\0';
    if (c->tag != NULL)
        n = snprintf(buf, cap, " tagged \"%s\"", c->tag);
    if (n < 0 || (size_t)n >= cap)
        return;
    if (c->custom_field != NULL && c->custom_value != NULL)
        snprintf(buf + n, cap - (size_t)n, "%s with %s = \"%s\"", n ? " and" : "", c->custom_field,
                 c->custom_value);
    else if (c->custom_field != NULL)
        snprintf(buf + n, cap - (size_t)n, "%s with custom field \"%s\" set", n ? " and" : "",
                 c->custom_field);
}

static int asana_describe(const relhost_ctx *ctx, void *inst)
{
    struct asana *a = inst;
    const struct asana_conf *c = a->conf;
    int have_token = token_set(ctx, a);
    char narrow[512];

    if (!have_token || a->project == NULL) {
        char why[256];
        not_configured_text(a, have_token, why, sizeof why);
        if (ctx->interactive && c->manual_fallback)
            pl_host->note_add(ctx,
                              "%s: would ask on the terminal \"Asana is not configured: "
                              "confirm there are no open release blockers?\"",
                              why);
        else
            pl_host->note_add(ctx,
                              "%s: the step would be SKIPPED (not_configured), which stops "
                              "the release when the step is required",
                              why);
        return 0;
    }
    narrowing_text(a, narrow, sizeof narrow);
    pl_host->note_add(ctx,
                      "would list the sections of project %s%s (GET %s/projects/%s/sections"
                      "?limit=" ASANA_LIMIT ") and find section \"%s\"",
                      a->project, a->project_is_env ? " (from $" ASANA_PROJECT_ENV ")" : "",
                      a->base, a->project, c->section);
    pl_host->note_add(ctx,
                      "would list its incomplete tasks (GET %s/sections/<gid>/tasks"
                      "?completed_since=now&limit=" ASANA_LIMIT "&opt_fields=...), following "
                      "next_page offsets on %s; authenticated with $%s",
                      a->base, a->base, c->token_env);
    pl_host->note_add(ctx,
                      "blockers: incomplete tasks in the section%s; none -> PASSED, any -> "
                      "FAILED",
                      narrow);
    return 0;
}

/* ---- the not-configured path ------------------------------------------------------------- */

static const char *who_answers(void)
{
    const char *user = getenv("USER");
    const struct passwd *pw;

    if (user == NULL || user[0] == '\0')
        user = getenv("LOGNAME");
    if (user != NULL && user[0] != '\0')
        return user;
    pw = getpwuid(geteuid());
    return pw != NULL && pw->pw_name != NULL ? pw->pw_name : "the terminal user";
}

static int not_configured(const relhost_ctx *ctx, struct asana *a, int have_token,
                          relhost_verdict *out)
{
    static const char question[] =
        "Asana is not configured: confirm there are no open release blockers?";
    char why[256];
    int yes = 0;
    int rc = RELHOST_ENOTSUP;

    not_configured_text(a, have_token, why, sizeof why);
    out->retryable = 0;
    if (ctx->interactive && a->conf->manual_fallback && RELHOST_HAS(pl_host, prompt_yesno) &&
        pl_host->prompt_yesno != NULL)
        rc = pl_host->prompt_yesno(ctx, question, &yes);
    if (rc == RELHOST_EINTR)
        return RELHOST_EINTR;
    if (rc == 0) {
        pl_host->note_add(ctx, "%s; asked \"%s\": %s answered %s", why, question, who_answers(),
                          yes ? "yes" : "no");
        out->outcome = yes ? RELHOST_PASSED : RELHOST_FAILED;
        out->reason = yes ? NULL : "declined";
        return 0;
    }
    /* Nobody to ask (or a host that cannot ask): no decision, never a silent yes. */
    pl_host->note_add(ctx, "%s; set $%s and the project to check Asana%s", why, a->conf->token_env,
                      a->conf->manual_fallback ? ", or run on a terminal to confirm by hand" : "");
    pl_skip(out, "not_configured");
    return 0;
}

static void set_label_count(const relhost_ctx *ctx, const char *key, size_t v)
{
    char buf[32];

    if (!RELHOST_HAS(pl_host, label_set) || pl_host->label_set == NULL)
        return;
    snprintf(buf, sizeof buf, "%zu", v);
    pl_host->label_set(ctx, key, buf);
}

static int asana_run(const relhost_ctx *ctx, void *inst, relhost_verdict *out)
{
    struct asana *a = inst;
    const struct asana_conf *c = a->conf;
    int have_token = token_set(ctx, a);
    json_t *gids = NULL, *tasks = NULL;
    size_t pages = 0, open_tasks = 0, blockers = 0;
    char narrow[512];
    size_t i;
    json_t *t;
    int rc;

    if (!have_token || a->project == NULL)
        return not_configured(ctx, a, have_token, out);
    if ((rc = pl_need_http(ctx)) != 0)
        return rc;

    gids = json_array();
    tasks = json_array();
    if (gids == NULL || tasks == NULL) {
        pl_host->fail(ctx, "asana: out of memory");
        rc = RELHOST_ENOMEM;
        goto done;
    }
    rc = find_sections(ctx, a, gids, &pages, out);
    if (rc != GOT_JSON)
        goto done;
    if (json_array_size(gids) > 1)
        pl_host->note_add(ctx, "project %s has %zu sections named \"%s\": all of them are checked",
                          a->project, json_array_size(gids), c->section);

    rc = list_tasks(ctx, a, gids, tasks, &pages, out);
    if (rc != GOT_JSON)
        goto done;
    rc = judge_tasks(ctx, a, tasks, &open_tasks, &blockers, out);
    if (rc != GOT_JSON)
        goto done;

    narrowing_text(a, narrow, sizeof narrow);
    set_label_count(ctx, "blockers", blockers);
    out->retryable = 0;
    if (blockers == 0) {
        pl_host->note_add(ctx,
                          "no open blockers%s in section \"%s\" of project %s (%zu open task%s, "
                          "%zu request%s)",
                          narrow, c->section, a->project, open_tasks, open_tasks == 1 ? "" : "s",
                          pages, pages == 1 ? "" : "s");
        out->outcome = RELHOST_PASSED;
        out->reason = NULL;
    } else {
        pl_host->note_add(ctx, "%zu open blocker%s%s in section \"%s\" of project %s:", blockers,
                          blockers == 1 ? "" : "s", narrow, c->section, a->project);
        json_array_foreach(tasks, i, t)
        {
            char err[8];
            if (is_blocker(a, t, err, sizeof err) == 1)
                note_blocker(ctx, t);
        }
        out->outcome = RELHOST_FAILED;
        out->reason = "blockers";
    }
    rc = 0;
done:
    json_decref(gids);
    json_decref(tasks);
    /* GOT_VERDICT: the verdict is in *out and the reason in the fail() text. */
    return rc == GOT_VERDICT ? 0 : rc;
}

const relhost_plugin pl_plugin = {
    PL_PLUGIN_BASE("asana", "1.0.0", asana_options, struct asana_conf),
    .description = "FAILED while an Asana section holds open tasks (release blockers)",
    .gate = PL_GATE_OPS(asana, .close = asana_close),
};
