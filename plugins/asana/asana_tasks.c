/* SPDX-License-Identifier: MIT */
/*
 * asana: the sections named conf->section found in the project, their open tasks listed, and
 * each task judged a blocker or not (tag and custom field narrowing, failing closed).
 */
#include "asana_int.h"

#include "../common/pl_host.h"

#include "../common/pl_text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- sections --------------------------------------------------------------------------- */

/*
 * Find the gids of the sections named conf->section (Asana allows duplicate names: all of them
 * count, so a blocker cannot hide in the second "Active"). Fills `gids` with strings.
 */
int find_sections(const relhost_ctx *ctx, struct asana *a, json_t *gids, size_t *pages,
                  relhost_verdict *out)
{
    const char *want = a->conf->section;
    json_t *sections = json_array();
    struct pl_str pq = {0};
    char what[256];
    char *path;
    size_t i;
    json_t *s;
    int rc;

    snprintf(what, sizeof what, "listing the sections of project %s", a->project);
    pl_str_add(&pq, "/projects/%s/sections?limit=" ASANA_LIMIT, a->project);
    path = pl_str_take(&pq);
    if (sections == NULL || path == NULL) {
        json_decref(sections);
        free(path);
        return pl_oom(ctx);
    }
    rc = get_all(ctx, a, path, what, sections, pages, out);
    free(path);
    if (rc != GOT_JSON) {
        json_decref(sections);
        return rc;
    }
    json_array_foreach(sections, i, s)
    {
        const char *gid = json_string_value(json_object_get(s, "gid"));
        const char *name = json_string_value(json_object_get(s, "name"));
        if (gid == NULL || name == NULL || !valid_gid(gid)) {
            pl_host->fail(ctx,
                          "asana: %s: section %zu of the reply has no usable \"gid\" and "
                          "\"name\" strings",
                          what, i + 1);
            set_error(out, 0);
            json_decref(sections);
            return GOT_VERDICT;
        }
        if (strcmp(name, want) == 0 && json_array_append_new(gids, json_string(gid)) != 0) {
            json_decref(sections);
            return pl_oom(ctx);
        }
    }
    if (json_array_size(gids) > 0) {
        json_decref(sections);
        return GOT_JSON;
    }

    /* A configuration problem, stated with what would fix it: the names that do exist. */
    struct pl_str names = {0};
    char near[ASANA_TEXT_MAX + 4] = "";
    json_array_foreach(sections, i, s)
    {
        const char *name = json_string_value(json_object_get(s, "name"));
        char shown[ASANA_TEXT_MAX + 4];
        if (i == 50) {
            pl_str_add(&names, ", ... (%zu in all)", json_array_size(sections));
            break;
        }
        pl_clean_text(name, strlen(name), 80, shown, sizeof shown);
        pl_str_add(&names, "%s\"%s\"", i ? ", " : "", shown);
        if (near[0] == '\0' && strcasecmp(name, want) == 0)
            snprintf(near, sizeof near, "%s", shown);
    }
    char *list = pl_str_take(&names);
    if (json_array_size(sections) == 0)
        pl_host->fail(ctx,
                      "asana: project %s has no sections, so section \"%s\" (%s) cannot be "
                      "checked: create it in Asana or fix `section`",
                      a->project, want, pl_where(ctx, &a->conf->section));
    else
        pl_host->fail(ctx,
                      "asana: project %s has no section \"%s\" (%s)%s%s%s; its sections are: "
                      "%s",
                      a->project, want, pl_where(ctx, &a->conf->section),
                      near[0] != '\0' ? " (did you mean \"" : "", near,
                      near[0] != '\0' ? "\"? names are compared exactly)" : "",
                      list != NULL ? list : "(out of memory)");
    free(list);
    json_decref(sections);
    set_error(out, 0);
    return GOT_VERDICT;
}

/* ---- tasks ------------------------------------------------------------------------------- */

/* 1 when the task is a blocker, 0 when narrowing excludes it, -1 when its shape is wrong (the
 * message in err): a field the narrowing needs that is missing fails closed. */
int is_blocker(const struct asana *a, json_t *t, char *err, size_t cap)
{
    const struct asana_conf *c = a->conf;
    json_t *completed = json_object_get(t, "completed");
    size_t i;
    json_t *e;

    if (completed != NULL && !json_is_boolean(completed)) {
        snprintf(err, cap, "\"completed\" is not true or false");
        return -1;
    }
    /* completed_since=now already hides finished tasks; this guards a server that ignores it. */
    if (json_is_true(completed))
        return 0;
    if (c->tag != NULL) {
        json_t *tags = json_object_get(t, "tags");
        int hit = 0;
        if (!json_is_array(tags)) {
            snprintf(err, cap, "no \"tags\" list, so the tag \"%s\" cannot be checked", c->tag);
            return -1;
        }
        json_array_foreach(tags, i, e)
        {
            const char *n = json_string_value(json_object_get(e, "name"));
            if (n != NULL && strcmp(n, c->tag) == 0)
                hit = 1;
        }
        if (!hit)
            return 0;
    }
    if (c->custom_field != NULL) {
        json_t *fields = json_object_get(t, "custom_fields");
        int hit = 0;
        if (!json_is_array(fields)) {
            snprintf(err, cap, "no \"custom_fields\" list, so the field \"%s\" cannot be checked",
                     c->custom_field);
            return -1;
        }
        json_array_foreach(fields, i, e)
        {
            const char *n = json_string_value(json_object_get(e, "name"));
            const char *v = json_string_value(json_object_get(e, "display_value"));
            if (n == NULL || strcmp(n, c->custom_field) != 0)
                continue;
            if (c->custom_value != NULL ? v != NULL && strcmp(v, c->custom_value) == 0
                                        : v != NULL && v[0] != '\0')
                hit = 1;
        }
        if (!hit)
            return 0;
    }
    return 1;
}

void note_blocker(const relhost_ctx *ctx, json_t *t)
{
    const char *name = json_string_value(json_object_get(t, "name"));
    const char *gid = json_string_value(json_object_get(t, "gid"));
    const char *link = json_string_value(json_object_get(t, "permalink_url"));
    const char *who = json_string_value(json_object_get(json_object_get(t, "assignee"), "name"));
    char n[ASANA_TEXT_MAX + 4], w[ASANA_TEXT_MAX + 4], l[512 + 4];

    if (name == NULL || name[0] == '\0')
        name = "(no name)";
    pl_clean_text(name, strlen(name), ASANA_TEXT_MAX, n, sizeof n);
    if (who != NULL)
        pl_clean_text(who, strlen(who), ASANA_TEXT_MAX, w, sizeof w);
    if (link != NULL)
        pl_clean_text(link, strlen(link), 512, l, sizeof l);
    else
        snprintf(l, sizeof l, "(no link; task gid %s)", gid != NULL ? gid : "unknown");
    pl_host->note_add(ctx, "blocker: \"%s\" (%s%s) %s", n,
                      who != NULL ? "assignee: " : "unassigned", who != NULL ? w : "", l);
}

/* GET the open tasks of every section in gids (strings) into tasks. Returns as get_all(). */
int list_tasks(const relhost_ctx *ctx, struct asana *a, json_t *gids, json_t *tasks, size_t *pages,
               relhost_verdict *out)
{
    const struct asana_conf *c = a->conf;
    char what[512];
    size_t i;
    json_t *g;
    int rc;

    json_array_foreach(gids, i, g)
    {
        struct pl_str pq = {0};
        char *path;
        pl_str_add(&pq,
                   "/sections/%s/tasks?completed_since=now&limit=" ASANA_LIMIT
                   "&opt_fields=" ASANA_TASK_FIELDS,
                   json_string_value(g));
        path = pl_str_take(&pq);
        if (path == NULL) {
            pl_host->fail(ctx, "asana: out of memory");
            return RELHOST_ENOMEM;
        }
        snprintf(what, sizeof what, "listing the open tasks of section \"%s\" (gid %s)", c->section,
                 json_string_value(g));
        rc = get_all(ctx, a, path, what, tasks, pages, out);
        free(path);
        if (rc != GOT_JSON)
            return rc;
    }
    return GOT_JSON;
}

/* Count the open tasks and the blockers. A malformed task is GOT_VERDICT (an ERROR in out). */
int judge_tasks(const relhost_ctx *ctx, const struct asana *a, json_t *tasks, size_t *open_tasks,
                size_t *blockers, relhost_verdict *out)
{
    size_t i;
    json_t *t;

    /* Judge every task before posting anything, so a malformed task anywhere is an ERROR and
     * never a partial list of blockers under a FAILED that looks complete. */
    *open_tasks = 0;
    json_array_foreach(tasks, i, t)
    {
        char err[256];
        int b = json_is_object(t) ? is_blocker(a, t, err, sizeof err) : -1;
        if (!json_is_object(t))
            snprintf(err, sizeof err, "it is not an object");
        if (b < 0) {
            pl_host->fail(ctx,
                          "asana: listing the open tasks of section \"%s\": unexpected reply: "
                          "task %zu: %s",
                          a->conf->section, i + 1, err);
            set_error(out, 0);
            return GOT_VERDICT;
        }
        if (!json_is_true(json_object_get(t, "completed")))
            (*open_tasks)++;
        *blockers += (size_t)b;
    }
    return GOT_JSON;
}
