/* SPDX-License-Identifier: MIT */
/* record_json.c - typed access to the state's JSON for core/record (record_json.h). */
#include "record/record_json.h"

#include "base/util.h"

#include <math.h>
#include <string.h>

char *rj_str(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    return json_is_string(v) ? xstrndup(json_string_value(v), json_string_length(v)) : NULL;
}

const char *rj_cstr(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

record_real rj_realv(const json_t *v)
{
    record_real r = {0, 0, 0};
    if (json_is_number(v) && isfinite(json_number_value(v))) {
        r.set = 1;
        r.v = json_number_value(v);
        r.is_int = json_is_integer(v);
    }
    return r;
}

record_real rj_real(const json_t *o, const char *key) { return rj_realv(json_object_get(o, key)); }

record_int rj_int(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    record_int r = {0, 0, 0};
    double d;
    if (json_is_integer(v)) {
        r.set = 1;
        r.v = json_integer_value(v);
    } else if (json_is_real(v)) {
        d = json_real_value(v);
        if (d == floor(d) && fabs(d) < 9e15) {
            r.set = r.from_real = 1;
            r.v = (long long)d;
        }
    }
    return r;
}

int rj_in_array(const json_t *a, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach((json_t *)a, i,
                       v) if (json_is_string(v) && strcmp(json_string_value(v), s) == 0) return 1;
    return 0;
}

json_t *rj_str_or_null(const char *s) { return s ? json_string(s) : json_null(); }
