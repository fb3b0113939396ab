/* SPDX-License-Identifier: MIT */
/* plan_set.c - --set KEY.PATH=VALUE: one setting of the loaded plan replaced (or added), by key,
 * by a list item's index, or by a named item of a list (steps.smoke.timeout), before the plan
 * is validated; the set is marked so that an error names the --set that made the value. */
#include "plan/plan_int.h"

#include "base/error.h"
#include "base/util.h"
#include "plan/keycheck.h"
#include "plan/options.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static config_setting_t *child_of(config_setting_t *parent, const char *seg)
{
    int t = config_setting_type(parent);
    if (t == CONFIG_TYPE_GROUP)
        return config_setting_get_member(parent, seg);
    if (t == CONFIG_TYPE_LIST || t == CONFIG_TYPE_ARRAY) {
        char *end;
        long idx = strtol(seg, &end, 10);
        if (*end == '\0' && end != seg)
            return config_setting_get_elem(parent, (unsigned)idx);
        for (int i = 0; i < config_setting_length(parent); i++) {
            config_setting_t *e = config_setting_get_elem(parent, (unsigned)i);
            const char *nm;
            if (config_setting_type(e) == CONFIG_TYPE_GROUP &&
                config_setting_lookup_string(e, "name", &nm) && strcmp(nm, seg) == 0)
                return e;
        }
    }
    return NULL;
}

/* val into the scalar item of type (string, integer, float or boolean): 0, or -1 when val is
 * not one of that type. */
static int set_scalar(config_setting_t *item, int type, const char *val)
{
    char *end;
    errno = 0;
    switch (type) {
    case CONFIG_TYPE_STRING: return config_setting_set_string(item, val) ? 0 : -1;
    case CONFIG_TYPE_BOOL:
        if (strcmp(val, "true") != 0 && strcmp(val, "false") != 0)
            return -1;
        return config_setting_set_bool(item, val[0] == 't') ? 0 : -1;
    case CONFIG_TYPE_FLOAT: {
        double d = strtod(val, &end); /* nan and inf are no number a plan holds */
        return *val && !*end && isfinite(d) && config_setting_set_float(item, d) ? 0 : -1;
    }
    default: {
        long long v = strtoll(val, &end, 10);
        if (!*val || *end || errno)
            return -1;
        return (type == CONFIG_TYPE_INT ? config_setting_set_int(item, (int)v)
                                        : config_setting_set_int64(item, v))
                   ? 0
                   : -1;
    }
    }
}

/* --set steps.t.cmd.1=-x: item idx of list (or array) cur, replaced; idx == its length appends
 * one. The item keeps its type (a string, or a number read as the list's other numbers). */
static int set_item(config_setting_t *cur, const char *seg, const char *val, const char *arg)
{
    char *end;
    long idx = strtol(seg, &end, 10);
    int n = config_setting_length(cur), type;
    config_setting_t *item;
    if (*end || end == seg || idx < 0 || idx > n)
        return error_set(RELHOST_EINVAL,
                         "--set %s: '%s' is no index of that list (it has %d item(s): 0..%d, or %d "
                         "to add one)",
                         arg, seg, n, n - 1, n);
    item = idx < n ? config_setting_get_elem(cur, (unsigned)idx) : NULL;
    type = item ? config_setting_type(item)
           : n  ? config_setting_type(config_setting_get_elem(cur, 0))
                : CONFIG_TYPE_STRING;
    if (type == CONFIG_TYPE_GROUP || type == CONFIG_TYPE_LIST || type == CONFIG_TYPE_ARRAY)
        return error_set(RELHOST_EINVAL,
                         "--set %s: item %s is a group or list; set one of its values", arg, seg);
    if (!item && !(item = config_setting_add(cur, NULL, type)))
        return error_set(RELHOST_EINVAL, "--set %s: cannot add an item to that list", arg);
    if (set_scalar(item, type, val) != 0)
        return error_set(RELHOST_EINVAL, "--set %s: the items of that list are %s; '%s' is none",
                         arg,
                         type == CONFIG_TYPE_BOOL     ? "true or false"
                         : type == CONFIG_TYPE_STRING ? "strings"
                                                      : "numbers",
                         val);
    options_mark_set(item, arg);
    return 0;
}

/* " (did you mean 'x'?)" for seg among the names under parent: a group's members, a list's
 * named items; freed by the caller. */
static char *child_hint(const config_setting_t *parent, const char *seg)
{
    strvec names = {0};
    char *hint;
    for (int i = 0; i < config_setting_length(parent); i++) {
        config_setting_t *e = config_setting_get_elem(parent, (unsigned)i);
        const char *nm = config_setting_name(e);
        if (!nm && config_setting_type(e) == CONFIG_TYPE_GROUP)
            config_setting_lookup_string(e, "name", &nm);
        if (nm)
            sv_push(&names, nm);
    }
    hint = keycheck_hint(seg, (const char *const *)names.v, names.n, NULL, NULL);
    sv_free(&names);
    return hint;
}

int plan_apply_set(config_t *cfg, const char *arg)
{
    const char *eq = strchr(arg, '=');
    char *path, *seg, *save = NULL, *next;
    config_setting_t *cur = config_root_setting(cfg), *target;
    const char *val;
    int type, rc = 0;
    char *end;

    if (!eq || eq == arg)
        return error_set(RELHOST_EINVAL, "--set %s: expected KEY.PATH=VALUE", arg);
    path = xstrndup(arg, (size_t)(eq - arg));
    val = eq + 1;
    if (path[0] == '.' || strstr(path, "..") || path[strlen(path) - 1] == '.') {
        free(path); /* strtok_r would skip the empty name and read another path */
        return error_set(RELHOST_EINVAL,
                         "--set %s: expected KEY.PATH=VALUE (an empty name between dots)", arg);
    }
    seg = strtok_r(path, ".", &save);
    while (seg) {
        next = strtok_r(NULL, ".", &save);
        if (!next)
            break;
        config_setting_t *child = child_of(cur, seg);
        if (!child) {
            char *hint = child_hint(cur, seg);
            rc = error_set(RELHOST_EINVAL, "--set %s: the plan has no '%s' on that path%s", arg,
                           seg, hint);
            free(hint);
            cur = NULL;
            goto out;
        }
        cur = child;
        seg = next;
    }
    if (!seg) { /* the path was only dots */
        rc = error_set(RELHOST_EINVAL, "--set %s: expected KEY.PATH=VALUE", arg);
        goto out;
    }
    if (config_setting_type(cur) == CONFIG_TYPE_LIST ||
        config_setting_type(cur) == CONFIG_TYPE_ARRAY) {
        rc = set_item(cur, seg, val, arg);
        free(path);
        return rc;
    }
    if (config_setting_type(cur) != CONFIG_TYPE_GROUP) {
        rc = error_set(RELHOST_EINVAL, "--set %s: '%s' is not inside a group", arg, seg);
        goto out;
    }
    target = config_setting_get_member(cur, seg);
    type = target ? config_setting_type(target) : CONFIG_TYPE_NONE;
    if (type == CONFIG_TYPE_GROUP || type == CONFIG_TYPE_LIST || type == CONFIG_TYPE_ARRAY) {
        rc = error_set(RELHOST_EINVAL, "--set %s: '%s' is a group or list; set one of its values",
                       arg, seg);
        goto out;
    }
    if (type != CONFIG_TYPE_STRING) {
        /* Infer the type the way the plan file would have written it. */
        long long iv;
        double dv;
        if (target)
            config_setting_remove(cur, seg);
        errno = 0;
        iv = strtoll(val, &end, 10);
        if (*val && *end == '\0' && errno == 0) {
            if ((target = config_setting_add(cur, seg, CONFIG_TYPE_INT64)) != NULL)
                config_setting_set_int64(target, iv);
            goto added;
        }
        dv = strtod(val, &end);
        if (*val && *end == '\0' && isfinite(dv)) { /* "nan", "inf": a string, never a number */
            if ((target = config_setting_add(cur, seg, CONFIG_TYPE_FLOAT)) != NULL)
                config_setting_set_float(target, dv);
            goto added;
        }
        if (strcmp(val, "true") == 0 || strcmp(val, "false") == 0) {
            if ((target = config_setting_add(cur, seg, CONFIG_TYPE_BOOL)) != NULL)
                config_setting_set_bool(target, val[0] == 't');
            goto added;
        }
        target = config_setting_add(cur, seg, CONFIG_TYPE_STRING);
    }
    if (target && !config_setting_set_string(target, val))
        rc = error_set(RELHOST_EINVAL, "--set %s: cannot set '%s'", arg, seg);
added:
    /* libconfig adds no member whose name it would not parse in a file. */
    if (!target)
        rc = error_set(RELHOST_EINVAL,
                       "--set %s: '%s' is not a valid key name (a letter or '*', "
                       "then letters, digits, '_', '-' or '*')",
                       arg, seg);
out:
    if (rc == 0 && (target = config_setting_get_member(cur, seg)) != NULL)
        options_mark_set(target, arg);
    free(path);
    return rc;
}
