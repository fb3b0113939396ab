/* SPDX-License-Identifier: MIT */
/* record_shape.c - refuse a state whose members have the wrong types (record_shape.h). */
#include "record/record_shape.h"

#include "base/util.h"

#include <stdlib.h>
#include <string.h>

enum { T_OBJ = 1, T_ARR = 2, T_STR = 4, T_INT = 8, T_REAL = 16, T_BOOL = 32, T_NULL = 64 };
#define T_NUM (T_INT | T_REAL)

typedef struct member_type {
    const char *key;
    int types;
} member_type;

static const member_type root_members[] = {
    {"schema", T_INT},
    {"seq", T_INT},
    {"version", T_STR},
    {"plan_name", T_STR | T_NULL},
    {"plan", T_STR | T_NULL},
    {"plan_hash", T_STR | T_NULL},
    {"candidate", T_OBJ | T_NULL},
    {"created_at", T_STR | T_NULL},
    {"updated_at", T_STR | T_NULL},
    {"finished", T_BOOL},
    {"exit_code", T_INT | T_NULL},
    {"published", T_BOOL},
    {"quarantined", T_BOOL},
    {"sealed_env", T_ARR},
    {"waivers", T_ARR},
    {"requirements", T_OBJ | T_NULL},
    {"steps", T_OBJ},
    {"jobs", T_OBJ},
    {NULL, 0},
};

static const member_type step_members[] = {
    {"position", T_INT | T_NULL},
    {"outcome", T_STR | T_NULL},
    {"reason", T_STR | T_NULL},
    {"plugin", T_STR | T_NULL},
    {"message", T_STR | T_NULL},
    {"started_at", T_STR | T_NULL},
    {"ended_at", T_STR | T_NULL},
    {"plan_hash", T_STR | T_NULL},
    {"in_flight", T_STR | T_NULL},
    {"required", T_BOOL},
    {"publishes", T_BOOL},
    {"retryable", T_BOOL},
    {"defers", T_INT},
    {"duration_s", T_NUM | T_NULL},
    {"evidence", T_OBJ | T_NULL},
    {NULL, 0},
};

static const member_type job_members[] = {
    {"step", T_STR},
    {"validation", T_STR},
    {"lifecycle", T_STR | T_NULL},
    {"runner", T_STR | T_NULL},
    {"key", T_STR | T_NULL},
    {"external_id", T_STR | T_NULL},
    {"termination_reason", T_STR | T_NULL},
    {"log_path", T_STR | T_NULL},
    {"attempt", T_INT | T_NULL},
    {"outcome", T_STR | T_NULL},
    {"reason", T_STR | T_NULL},
    {"retryable", T_BOOL},
    {"exit_code", T_INT | T_NULL},
    {"restarts", T_INT | T_NULL},
    {"duration_s", T_NUM | T_NULL},
    {"argv", T_ARR | T_NULL},
    {"repeats", T_INT | T_NULL},
    {"repeat", T_INT | T_NULL},
    {"repeat_of", T_STR | T_NULL},
    {"evidence", T_OBJ | T_NULL},
    {NULL, 0},
};

static const member_type requirement_members[] = {
    {"profile", T_STR | T_NULL}, {"steps", T_OBJ}, {"required_steps", T_ARR},
    {"publishing_steps", T_ARR}, {NULL, 0},
};

static const member_type metric_members[] = {
    {"value", T_NUM | T_NULL},  {"samples", T_INT | T_NULL}, {"repeats", T_ARR | T_NULL},
    {"source", T_STR | T_NULL}, {"reducer", T_STR | T_NULL}, {NULL, 0},
};

static const member_type check_members[] = {
    {"key", T_STR | T_NULL},      {"op", T_STR | T_NULL},
    {"passed", T_BOOL},           {"actual", T_NUM | T_NULL},
    {"expected", T_NUM | T_NULL}, {"expected_hi", T_NUM | T_NULL},
    {"baseline", T_NUM | T_NULL}, {"bound", T_NUM | T_NULL},
    {"note", T_STR | T_NULL},     {NULL, 0},
};

static const member_type evidence_members[] = {
    {"metrics", T_OBJ},   {"checks", T_ARR}, {"labels", T_OBJ},
    {"artifacts", T_ARR}, {"notes", T_ARR},  {NULL, 0},
};

static const char *const outcome_words[] = {"PASSED",  "FAILED", "ERROR", "INCONCLUSIVE",
                                            "SKIPPED", "WAIVED", "NONE",  NULL};
static const char *const lifecycle_words[] = {"pending", "submitting", "running", "completed",
                                              NULL};

static int type_bit(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return T_OBJ;
    case JSON_ARRAY: return T_ARR;
    case JSON_STRING: return T_STR;
    case JSON_INTEGER: return T_INT;
    case JSON_REAL: return T_REAL;
    case JSON_TRUE:
    case JSON_FALSE: return T_BOOL;
    default: return T_NULL;
    }
}

static const char *type_word(int types)
{
    if (types & T_OBJ)
        return "an object";
    if (types & T_ARR)
        return "an array";
    if (types & T_STR)
        return "a string";
    if (types & T_INT)
        return "an integer";
    if (types & T_REAL)
        return "a number";
    return types & T_BOOL ? "true or false" : "null";
}

static const char *value_word(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    default: return "null";
    }
}

/* The first member of o whose type the table does not allow, as a phrase; where names o. */
static char *members_bad(const json_t *o, const member_type *table, const char *where)
{
    for (const member_type *m = table; m->key; m++) {
        const json_t *v = json_object_get(o, m->key);
        if (v && !(type_bit(v) & m->types))
            return xasprintf("has %s\"%s\" as %s where %s belongs", where, m->key, value_word(v),
                             type_word(m->types));
    }
    return NULL;
}

/* Every element of array a (or member of object a) must have one of the types; where names a. */
static char *elements_bad(const json_t *a, int types, const char *where)
{
    size_t i;
    const char *k;
    json_t *v;
    if (json_is_array(a)) {
        json_array_foreach((json_t *)a, i, v) if (!(type_bit(v) & types)) return xasprintf(
            "has %s[%zu] as %s where %s belongs", where, i, value_word(v), type_word(types));
    } else {
        json_object_foreach((json_t *)a, k, v) if (!(type_bit(v) & types)) return xasprintf(
            "has %s \"%s\" as %s where %s belongs", where, k, value_word(v), type_word(types));
    }
    return NULL;
}

/* Each member of container c (an object or an array) must be an object shaped by table. */
static char *each_bad(const json_t *c, const member_type *table, const char *where)
{
    char *bad = elements_bad(c, T_OBJ, where);
    size_t i;
    const char *k;
    json_t *v;
    if (bad)
        return bad;
    if (json_is_array(c)) {
        json_array_foreach((json_t *)c, i, v)
        {
            char *w = xasprintf("%s[%zu] with ", where, i);
            bad = members_bad(v, table, w);
            free(w);
            if (bad)
                return bad;
        }
    } else {
        json_object_foreach((json_t *)c, k, v)
        {
            char *w = xasprintf("%s \"%s\" with ", where, k);
            bad = members_bad(v, table, w);
            free(w);
            if (bad)
                return bad;
        }
    }
    return NULL;
}

static char *evidence_bad(const json_t *owner, const char *where)
{
    const json_t *ev = json_object_get(owner, "evidence");
    char *bad, *w;
    if (!json_is_object(ev))
        return NULL;
    if ((bad = members_bad(ev, evidence_members, where)) != NULL)
        return bad;
    w = xasprintf("%smetric", where);
    bad = each_bad(json_object_get(ev, "metrics"), metric_members, w);
    free(w);
    if (!bad) {
        w = xasprintf("%scheck", where);
        bad = each_bad(json_object_get(ev, "checks"), check_members, w);
        free(w);
    }
    if (!bad) {
        w = xasprintf("%slabel", where);
        bad = elements_bad(json_object_get(ev, "labels"), T_STR, w);
        free(w);
    }
    if (!bad) {
        w = xasprintf("%snotes", where);
        bad = elements_bad(json_object_get(ev, "notes"), T_STR, w);
        free(w);
    }
    return bad;
}

/* An outcome (or lifecycle) word this relhost writes, or null: an unknown word is no result
 * anyone recorded, and reading it as "not run" or as ERROR would each be a guess. */
static char *word_bad(const json_t *rec, const char *key, const char *const *words,
                      const char *where)
{
    const char *w = json_string_value(json_object_get(rec, key));
    for (size_t i = 0; w && words[i]; i++)
        if (strcmp(w, words[i]) == 0)
            return NULL;
    return w ? xasprintf("has %s\"%s\" \"%s\", which relhost never writes", where, key, w) : NULL;
}

static char *requirements_bad(const json_t *root)
{
    const json_t *req = json_object_get(root, "requirements");
    char *bad;
    if (!json_is_object(req))
        return NULL;
    if ((bad = members_bad(req, requirement_members, "requirements with ")) != NULL ||
        (bad = elements_bad(json_object_get(req, "required_steps"), T_STR,
                            "requirements required_steps")) != NULL ||
        (bad = elements_bad(json_object_get(req, "publishing_steps"), T_STR,
                            "requirements publishing_steps")) != NULL ||
        (bad = elements_bad(json_object_get(req, "steps"), T_ARR, "requirements steps")) != NULL)
        return bad;
    {
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)json_object_get(req, "steps"), k, v)
        {
            char *w = xasprintf("requirements steps \"%s\"", k);
            bad = elements_bad(v, T_STR, w);
            free(w);
            if (bad)
                return bad;
        }
    }
    return elements_bad(json_object_get(root, "sealed_env"), T_STR, "sealed_env");
}

/* Every member of the object at root[key] must be an object shaped by table. */
static char *records_bad(const json_t *root, const char *key, const member_type *table)
{
    const char *name;
    json_t *rec;
    json_object_foreach((json_t *)json_object_get(root, key), name, rec)
    {
        char *where, *bad;
        if (!json_is_object(rec))
            return xasprintf("has %s \"%s\" as %s where an object belongs", key, name,
                             value_word(rec));
        where = xasprintf("%s \"%s\" with ", key, name);
        bad = members_bad(rec, table, where);
        if (!bad)
            bad = word_bad(rec, "outcome", outcome_words, where);
        if (!bad && table == job_members)
            bad = word_bad(rec, "lifecycle", lifecycle_words, where);
        if (!bad) {
            free(where);
            where = xasprintf("%s \"%s\" with evidence ", key, name);
            bad = evidence_bad(rec, where);
        }
        free(where);
        if (bad)
            return bad;
    }
    return NULL;
}

char *record_shape_bad(json_t *root)
{
    char *bad = members_bad(root, root_members, "");
    if (!bad)
        bad = requirements_bad(root);
    if (!bad)
        bad = records_bad(root, "steps", step_members);
    if (!bad)
        bad = records_bad(root, "jobs", job_members);
    return bad;
}
