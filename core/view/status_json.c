/* SPDX-License-Identifier: MIT */
#include "view/status_json.h"

#include "base/error.h"
#include "base/secrets.h"
#include "base/util.h"
#include "record/record.h"
#include "view/report_files.h"
#include "view/text.h"

#include <relhost/plugin.h>
#include <stdlib.h>
#include <string.h>

/* Members copied from the report model's step and job objects, in this order. */
static const char *const step_keys[] = {
    "name",      "position", "plugin",     "required", "publishes",  "outcome", "reason",
    "retryable", "message",  "started_at", "ended_at", "duration_s", NULL};
static const char *const job_keys[] = {
    "id",          "step",      "validation", "runner",     "lifecycle", "outcome",
    "reason",      "retryable", "attempt",    "restarts",   "exit_code", "termination_reason",
    "external_id", "key",       "log_path",   "started_at", "ended_at",  "duration_s",
    NULL};
static const char *const lifecycles[] = {"pending", "submitting", "running", "completed", NULL};

static json_t *pick(json_t *src, const char *const *keys)
{
    json_t *o = json_object();
    for (size_t i = 0; keys[i]; i++) {
        json_t *v = json_object_get(src, keys[i]);
        json_object_set(o, keys[i], v ? v : json_null());
    }
    return o;
}

/* Masked: a freeze reason is typed by a person and may quote anything. */
static json_t *str_or_null(const char *s)
{
    json_t *v;
    char *red;
    if (!s || !*s)
        return json_null();
    red = secrets_redact_dup(s);
    v = json_string(red);
    free(red);
    return v ? v : json_null();
}

json_t *status_freeze_json(const freeze_info *frz, const char *error)
{
    json_t *o = json_object();
    json_object_set_new(o, "frozen", json_boolean(!frz || frz->frozen));
    json_object_set_new(o, "reason", str_or_null(frz && frz->frozen ? frz->reason : NULL));
    json_object_set_new(o, "by", str_or_null(frz && frz->frozen ? frz->by : NULL));
    json_object_set_new(o, "at", str_or_null(frz && frz->frozen ? frz->at : NULL));
    json_object_set_new(o, "from_env", json_boolean(frz && frz->from_env));
    json_object_set_new(o, "error", str_or_null(frz ? NULL : (error ? error : "?")));
    return o;
}

static json_t *live_of(json_t *live, const char *id)
{
    json_t *l = json_object_get(live, id), *o;
    const char *st = json_string_value(json_object_get(l, "state"));
    if (!st)
        return json_null();
    o = json_object();
    json_object_set_new(o, "state", json_string(st));
    json_object_set_new(o, "restarts",
                        json_integer(json_integer_value(json_object_get(l, "restarts"))));
    return o;
}

json_t *status_model(json_t *root, const status_context *ctx)
{
    release_record rec;
    json_t *m, *o, *steps, *jobs, *v, *d, *life, *sum;
    json_int_t counts[5] = {0};
    size_t i;
    if (record_read(root, &rec) != 0)
        return NULL;
    text_redact_record(&rec);
    /* The report model of the record: steps and jobs typed, ordered and masked as the reports
     * show them; status picks its members from it (none of those the brief model leaves out:
     * building a 10,000-job release's evidence only to drop it was half of the model). */
    m = report_model_brief(&rec);
    o = json_object();
    json_object_set_new(o, "status_schema", json_integer(STATUS_SCHEMA));
    json_object_set(o, "release", json_object_get(m, "release"));
    json_object_set_new(o, "freeze", status_freeze_json(ctx->frz, ctx->frz_error));
    d = json_object();
    json_object_set_new(d, "spent", json_integer(record_defers_spent(&rec)));
    json_object_set_new(d, "max_defers", json_integer(ctx->max_defers));
    json_object_set_new(d, "defer_deadline_s",
                        ctx->defer_deadline > 0 ? json_real(ctx->defer_deadline) : json_null());
    json_object_set_new(o, "defers", d);

    steps = json_array();
    json_array_foreach(json_object_get(m, "steps"), i, v)
    {
        json_t *s = pick(v, step_keys);
        json_object_set_new(s, "defers", json_integer(record_step_defers(&rec.steps[i])));
        json_array_append_new(steps, s);
    }
    jobs = json_array();
    json_array_foreach(json_object_get(m, "jobs"), i, v)
    {
        json_t *j = pick(v, job_keys);
        const char *lc = json_string_value(json_object_get(v, "lifecycle"));
        size_t k = 0;
        json_object_set_new(j, "live",
                            live_of(ctx->live, json_string_value(json_object_get(v, "id"))));
        while (lifecycles[k] && (!lc || strcmp(lifecycles[k], lc) != 0))
            k++;
        counts[k]++;
        json_array_append_new(jobs, j);
    }
    life = json_object();
    for (i = 0; lifecycles[i]; i++)
        json_object_set_new(life, lifecycles[i], json_integer(counts[i]));
    json_object_set_new(life, "other", json_integer(counts[4]));
    sum = json_object();
    json_object_set(sum, "steps", json_object_get(json_object_get(m, "summary"), "steps"));
    json_object_set(sum, "jobs", json_object_get(json_object_get(m, "summary"), "jobs"));
    json_object_set_new(sum, "lifecycle", life);
    json_object_set_new(o, "summary", sum);
    json_object_set_new(o, "steps", steps);
    json_object_set_new(o, "jobs", jobs);
    json_decref(m);
    record_free(&rec);
    return o;
}

static int dump_cb(const char *buf, size_t size, void *data)
{
    sb_add(data, buf, size);
    return 0;
}

int status_print_json(json_t *v)
{
    strbuf b;
    int rc;
    sb_init(&b);
    if (json_dump_callback(v, dump_cb, &b, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0) {
        sb_free(&b);
        return error_set(RELHOST_EIO, "cannot serialise the JSON document (out of memory?)");
    }
    sb_putc(&b, '\n');
    rc = text_emit(stdout, &b, NULL);
    sb_free(&b);
    return rc;
}
