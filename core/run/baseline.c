/* SPDX-License-Identifier: MIT */
#include "run/baseline.h"

#include "base/error.h"
#include "base/util.h"
#include "record/record_job.h"
#include "run/checks.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define FIX_HINT                                                                                 \
    "the file was left as it is; restore it from a backup or the registry, or move it aside to " \
    "start without a baseline (every baseline rule then says \"no baseline yet\")"

static const char *const stat_names[] = {"median", "min", "max", "mean", NULL};

static json_t *empty_store(void)
{
    return json_pack("{s:i, s:{}}", "schema", BASELINE_SCHEMA, "metrics");
}

/* One entry "<validation>::<metric>": {value, samples?, stat?, version?, commit?, recorded_at?}. */
static int check_entry(const char *path, const char *key, json_t *e)
{
    static const char *const strs[] = {"version", "commit", "recorded_at", NULL};
    json_t *v = json_object_get(e, "value"), *s = json_object_get(e, "samples"), *x;
    const char *sep = strstr(key, "::");
    size_t i;
    if (!sep || sep == key || !sep[2])
        return error_set(RELHOST_EINVAL,
                         "baseline store %s: key \"%s\" is not "
                         "\"<validation>::<metric>\"; %s",
                         path, key, FIX_HINT);
    if (!json_is_object(e))
        return error_set(RELHOST_EINVAL,
                         "baseline store %s: \"%s\" must be an object "
                         "{\"value\": ..., \"samples\": [...]}; %s",
                         path, key, FIX_HINT);
    if (!json_is_number(v) || !isfinite(json_number_value(v)))
        return error_set(RELHOST_EINVAL,
                         "baseline store %s: \"%s\".value must be a finite "
                         "number; %s",
                         path, key, FIX_HINT);
    if (s && !json_is_array(s))
        return error_set(RELHOST_EINVAL,
                         "baseline store %s: \"%s\".samples must be an array of "
                         "numbers; %s",
                         path, key, FIX_HINT);
    json_array_foreach(
        s, i, x) if (!json_is_number(x) ||
                     !isfinite(json_number_value(
                         x))) return error_set(RELHOST_EINVAL,
                                               "baseline store %s: \"%s\".samples[%zu] must be a "
                                               "finite number; %s",
                                               path, key, i, FIX_HINT);
    x = json_object_get(e, "stat");
    if (x) {
        int known = 0;
        for (i = 0; json_is_string(x) && stat_names[i]; i++)
            known |= strcmp(json_string_value(x), stat_names[i]) == 0;
        if (!known)
            return error_set(RELHOST_EINVAL,
                             "baseline store %s: \"%s\".stat must be one of "
                             "median, min, max, mean; %s",
                             path, key, FIX_HINT);
    }
    for (i = 0; strs[i]; i++)
        if ((x = json_object_get(e, strs[i])) && !json_is_string(x) && !json_is_null(x))
            return error_set(RELHOST_EINVAL,
                             "baseline store %s: \"%s\".%s must be a string or "
                             "null; %s",
                             path, key, strs[i], FIX_HINT);
    return 0;
}

int baseline_load(const char *path, json_t **out)
{
    json_error_t je;
    json_t *root, *schema, *metrics, *e;
    FILE *f;
    const char *key;
    int rc = 0;
    *out = NULL;
    f = fopen(path, "rbe");
    if (!f) {
        if (errno == ENOENT) {
            *out = empty_store();
            return 0;
        }
        return error_set(RELHOST_EIO,
                         "cannot read the baseline store %s: %s; fix its "
                         "permissions, or point the plan's `baseline` key elsewhere",
                         path, strerror(errno));
    }
    root = json_loadf(f, JSON_REJECT_DUPLICATES, &je);
    fclose(f);
    if (!root)
        return error_set(RELHOST_EINVAL,
                         "baseline store %s is not valid JSON (line %d, column "
                         "%d: %s); %s",
                         path, je.line, je.column, je.text, FIX_HINT);
    schema = json_object_get(root, "schema");
    metrics = json_object_get(root, "metrics");
    if (!json_is_object(root) || !json_is_integer(schema)) {
        rc = error_set(RELHOST_EINVAL,
                       "baseline store %s has no integer \"schema\" at its top "
                       "(expected {\"schema\": %d, \"metrics\": {...}}); %s",
                       path, BASELINE_SCHEMA, FIX_HINT);
    } else if (json_integer_value(schema) > BASELINE_SCHEMA) {
        rc = error_set(RELHOST_EINVAL,
                       "baseline store %s has schema %" JSON_INTEGER_FORMAT
                       ", newer than the %d this relhost reads: it was written by a newer "
                       "relhost; upgrade relhost (the file was left as it is)",
                       path, json_integer_value(schema), BASELINE_SCHEMA);
    } else if (json_integer_value(schema) < 1) {
        rc = error_set(RELHOST_EINVAL,
                       "baseline store %s has schema %" JSON_INTEGER_FORMAT
                       ", which no relhost writes; %s",
                       path, json_integer_value(schema), FIX_HINT);
    } else if (!json_is_object(metrics)) {
        rc = error_set(RELHOST_EINVAL,
                       "baseline store %s: \"metrics\" must be an object "
                       "{\"<validation>::<metric>\": {...}}; %s",
                       path, FIX_HINT);
    } else {
        json_object_foreach(metrics, key, e) if ((rc = check_entry(path, key, e)) != 0) break;
    }
    if (rc != 0) {
        json_decref(root);
        return rc;
    }
    *out = root;
    return 0;
}

static int cmp_job_id(const void *a, const void *b)
{
    return strcmp(((const job_entry *)a)->job.id, ((const job_entry *)b)->job.id);
}

/* The entry of one metric, or NULL when it has no finite value. */
static json_t *entry_of(const metric_record *m, const char *version, const char *commit,
                        const char *now_iso)
{
    json_t *samples = json_array(), *e;
    if (!m->value.set) {
        json_decref(samples);
        return NULL;
    }
    if (m->has_repeats) {
        for (size_t i = 0; i < m->nrepeats; i++)
            if (m->repeats[i].set)
                json_array_append_new(samples, json_real(m->repeats[i].v));
    } else {
        json_array_append_new(samples, json_real(m->value.v));
    }
    e = json_object();
    json_object_set_new(e, "value", json_real(m->value.v));
    json_object_set_new(e, "samples", samples);
    json_object_set_new(e, "stat", json_string("median"));
    json_object_set_new(e, "version", version ? json_string(version) : json_null());
    json_object_set_new(e, "commit", commit ? json_string(commit) : json_null());
    json_object_set_new(e, "recorded_at", now_iso ? json_string(now_iso) : json_null());
    return e;
}

json_t *baseline_next(const json_t *cur, json_t *state_root, const char *version,
                      const char *commit, const char *now_iso)
{
    json_t *next = cur ? json_deep_copy(cur) : NULL, *metrics;
    job_entry *jobs;
    size_t n;
    if (!json_is_object(next)) {
        json_decref(next);
        next = empty_store();
    }
    json_object_set_new(next, "schema", json_integer(BASELINE_SCHEMA));
    metrics = json_object_get(next, "metrics");
    if (!json_is_object(metrics)) {
        metrics = json_object();
        json_object_set_new(next, "metrics", metrics);
    }
    record_job_list(state_root, &jobs, &n);
    /* Sorted, so that the result never depends on the state's key order. */
    qsort(jobs, n, sizeof *jobs, cmp_job_id);
    for (size_t i = 0; i < n; i++) {
        const job_record *rec = &jobs[i].job;
        if (!rec->validation_given || !rec->outcome_raw ||
            strcmp(rec->outcome_raw, "PASSED") != 0 || rec->repeat_of)
            continue;
        for (size_t k = 0; k < rec->evidence.nmetrics; k++) {
            const metric_record *m = &rec->evidence.metrics[k];
            json_t *e = entry_of(m, version, commit, now_iso);
            char *key;
            if (!e)
                continue;
            key = xasprintf("%s::%s", rec->validation, m->key);
            json_object_set_new(metrics, key, e);
            free(key);
        }
    }
    record_job_list_free(jobs, n);
    return next;
}

char *baseline_dump(const json_t *store)
{
    char *s, *r;
    if (!json_is_object(store))
        return NULL;
    s = json_dumps(store, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_REAL_PRECISION(17));
    if (!s)
        return NULL;
    r = xasprintf("%s\n", s);
    free(s);
    return r;
}

int baseline_lookup(const json_t *store, const char *validation, const char *metric,
                    relhost_stat stat, double *out)
{
    json_t *e, *samples, *x, *v;
    char *key;
    size_t i, n = 0;
    double *d;
    if (!store || !validation || !metric)
        return 0;
    key = xasprintf("%s::%s", validation, metric);
    e = json_object_get(json_object_get(store, "metrics"), key);
    free(key);
    v = json_object_get(e, "value");
    if (!json_is_number(v))
        return 0;
    samples = json_object_get(e, "samples");
    if (json_array_size(samples) == 0) {
        *out = json_number_value(v);
        return 1;
    }
    d = xcalloc(json_array_size(samples), sizeof *d);
    json_array_foreach(samples, i, x) if (json_is_number(x)) d[n++] = json_number_value(x);
    *out = n ? checks_stat(stat, d, n) : json_number_value(v);
    free(d);
    return 1;
}
