/* SPDX-License-Identifier: MIT */
/* Values by type: the size and duration parsers, and each option type's value (from the plan or
 * its default) checked and stored into the conf. */
#include "plan/options.h"
#include "plan/options_int.h"

#include "base/error.h"
#include "base/secrets.h"
#include "base/util.h"
#include "plan/template.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- scalar parsers shared by plan values and defaults ---- */

int options_parse_size(const char *s, uint64_t *out)
{
    char *end;
    double v;
    double mul = 1;
    errno = 0;
    v = strtod(s, &end);
    if (end == s || v < 0 || !isfinite(v))
        return RELHOST_EINVAL;
    while (*end == ' ')
        end++;
    switch (toupper((unsigned char)*end)) {
    case '\0': break;
    case 'K':
        mul = 1024.0;
        end++;
        break;
    case 'M':
        mul = 1024.0 * 1024;
        end++;
        break;
    case 'G':
        mul = 1024.0 * 1024 * 1024;
        end++;
        break;
    case 'T':
        mul = 1024.0 * 1024 * 1024 * 1024;
        end++;
        break;
    case 'B': break;
    default: return RELHOST_EINVAL;
    }
    if (*end == 'i')
        end++;
    if (*end == 'B' || *end == 'b')
        end++;
    if (*end || v * mul >= 18446744073709551616.0)
        return RELHOST_EINVAL; /* past 2^64 - 1: refused, never wrapped */
    *out = (uint64_t)(v * mul);
    return 0;
}

int options_parse_duration(const char *s, double *out)
{
    double total = 0;
    const char *p = s;
    int parts = 0;
    while (*p) {
        char *end;
        double v = strtod(p, &end);
        double mul;
        if (end == p || v < 0 || !isfinite(v))
            return RELHOST_EINVAL;
        p = end;
        if (strncmp(p, "ms", 2) == 0) {
            mul = 0.001;
            p += 2;
        } else if (*p == 's') {
            mul = 1;
            p++;
        } else if (*p == 'm') {
            mul = 60;
            p++;
        } else if (*p == 'h') {
            mul = 3600;
            p++;
        } else if (*p == 'd') {
            mul = 86400;
            p++;
        } else if (*p == '\0' && parts == 0) {
            mul = 1;
        } else {
            return RELHOST_EINVAL;
        }
        total += v * mul;
        parts++;
    }
    if (parts == 0)
        return RELHOST_EINVAL;
    *out = total;
    return 0;
}

static int check_bounds(const struct fillctx *c, const config_setting_t *s, const relhost_option *r,
                        double v)
{
    if (r->min == 0 && r->max == 0)
        return 0;
    if (v < r->min || v > r->max)
        return opt_bad(c, s, r->name, "is %g, outside %g..%g", v, r->min, r->max);
    return 0;
}

int opt_valid_env_name(const char *s)
{
    if (!*s || isdigit((unsigned char)*s))
        return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_')
            return 0;
    return 1;
}

/* A string option value: template-checked, expanded for run-level names, path-resolved. */
static int store_string(const struct fillctx *c, const relhost_option *r, const config_setting_t *s,
                        const char *v, const char **field)
{
    char *val;
    if (r->flags & RELHOST_OPTF_TEMPLATE) {
        if (template_check(v, NULL, 0) != 0) {
            char *w = s ? where_of(s) : xstrdup("default");
            error_wrap(RELHOST_EINVAL, "%s: %s: '%s'", w, c->what, r->name);
            free(w);
            return RELHOST_EINVAL;
        }
        if (template_expand(v, NULL, 0, 1, &val) != 0) {
            char *w = s ? where_of(s) : xstrdup("default");
            error_wrap(RELHOST_EINVAL, "%s: %s: '%s'", w, c->what, r->name);
            free(w);
            return RELHOST_EINVAL;
        }
    } else {
        val = xstrdup(v);
    }
    if ((r->flags & RELHOST_OPTF_PATH) && c->st->plan_dir && val[0] != '/' && val[0] != '{') {
        char *abs = path_absolute(val, c->st->plan_dir);
        free(val);
        val = abs;
    }
    *field = opt_keep(c->st, val);
    return 0;
}

static int fill_strlist(const struct fillctx *c, const relhost_option *r, const config_setting_t *s,
                        relhost_strlist *out)
{
    int n, type = config_setting_type(s);
    const char **v;
    if (type == CONFIG_TYPE_STRING) {
        v = opt_alloc(c->st, 2, sizeof *v);
        if (store_string(c, r, s, config_setting_get_string(s), &v[0]) != 0)
            return RELHOST_EINVAL;
        out->n = 1;
        out->v = v;
        return 0;
    }
    if (type != CONFIG_TYPE_ARRAY && type != CONFIG_TYPE_LIST)
        return opt_bad(c, s, r->name, "must be a list of strings, e.g. [\"a\", \"b\"]");
    n = config_setting_length(s);
    v = opt_alloc(c->st, (size_t)n + 1, sizeof *v);
    for (int i = 0; i < n; i++) {
        const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
        char num[64];
        const char *str;
        switch (config_setting_type(e)) {
        case CONFIG_TYPE_STRING: str = config_setting_get_string(e); break;
        case CONFIG_TYPE_INT:
        case CONFIG_TYPE_INT64:
            snprintf(num, sizeof num, "%lld", config_setting_get_int64(e));
            str = num;
            break;
        default: return opt_bad(c, e, r->name, "element %d must be a string", i + 1);
        }
        if (store_string(c, r, e, str, &v[i]) != 0)
            return RELHOST_EINVAL;
    }
    out->n = (size_t)n;
    out->v = v;
    return 0;
}

static const struct {
    const char *name;
    relhost_op op;
} op_names[] = {{">=", RELHOST_OP_GE},      {">", RELHOST_OP_GT},  {"<=", RELHOST_OP_LE},
                {"<", RELHOST_OP_LT},       {"==", RELHOST_OP_EQ}, {"!=", RELHOST_OP_NE},
                {"range", RELHOST_OP_RANGE}};

const char *options_op_name(relhost_op op)
{
    for (size_t i = 0; i < sizeof op_names / sizeof op_names[0]; i++)
        if (op_names[i].op == op)
            return op_names[i].name;
    return "?";
}

/* The number a setting holds, or -1: a float that is not finite (1e400 reads as inf) is none. */
static int number_of(const config_setting_t *e, double *out)
{
    switch (config_setting_type(e)) {
    case CONFIG_TYPE_INT:
    case CONFIG_TYPE_INT64: *out = (double)config_setting_get_int64(e); return 0;
    case CONFIG_TYPE_FLOAT: *out = config_setting_get_float(e); return isfinite(*out) ? 0 : -1;
    default: return -1;
    }
}

/* Keys of the group form of a check. */
static const char *const check_keys[] = {"metric", "op",  "value", "max", "baseline",
                                         "rel",    "abs", "stat",  NULL};

/* A number >= 0 of a check group (rel, abs). */
static int tolerance_of(const struct fillctx *c, const relhost_option *r, const config_setting_t *t,
                        const char *metric, double *out)
{
    if (number_of(t, out) != 0 || !isfinite(*out) || *out < 0)
        return opt_bad(c, t, r->name,
                       "check on \"%s\": %s must be a number >= 0 (rel is a fraction: "
                       "0.2 = 20%%; abs is in the metric's unit)",
                       metric, config_setting_name(t));
    return 0;
}

/* The group form's baseline rule and stat: { ...; baseline = "higher"; rel = 0.2; abs = 0.002;
 * stat = "median"; }. */
static int fill_check_rule(const struct fillctx *c, const relhost_option *r,
                           const config_setting_t *e, relhost_check_spec *cs)
{
    static const char *const stats[] = {"median", "min", "max", "mean", NULL};
    const config_setting_t *b = config_setting_get_member(e, "baseline");
    const config_setting_t *rel = config_setting_get_member(e, "rel");
    const config_setting_t *abs_ = config_setting_get_member(e, "abs");
    const config_setting_t *st = config_setting_get_member(e, "stat");
    const char *v;
    cs->stat = RELHOST_STAT_MEDIAN;
    if (st) {
        v = config_setting_type(st) == CONFIG_TYPE_STRING ? config_setting_get_string(st) : "";
        for (cs->stat = 0; stats[cs->stat] && strcmp(stats[cs->stat], v) != 0; cs->stat++)
            ;
        if (!stats[cs->stat])
            return opt_bad(c, st, r->name,
                           "check on \"%s\": stat must be one of median, min, max, "
                           "mean (the statistic of a repeated validation's runs)",
                           cs->key);
    }
    if (!b) {
        if (rel || abs_)
            return opt_bad(c, rel ? rel : abs_, r->name,
                           "check on \"%s\": %s needs baseline = "
                           "\"higher\" or \"lower\" (a tolerance against the last promoted "
                           "release)",
                           cs->key, rel ? "rel" : "abs");
        return 0;
    }
    v = config_setting_type(b) == CONFIG_TYPE_STRING ? config_setting_get_string(b) : "";
    if (strcmp(v, "higher") == 0)
        cs->baseline = RELHOST_BASELINE_HIGHER;
    else if (strcmp(v, "lower") == 0)
        cs->baseline = RELHOST_BASELINE_LOWER;
    else
        return opt_bad(c, b, r->name,
                       "check on \"%s\": baseline must be \"higher\" (higher is "
                       "better, e.g. SPS) or \"lower\" (lower is better, e.g. latency)",
                       cs->key);
    if (!rel && !abs_)
        return opt_bad(
            c, b, r->name,
            "check on \"%s\": a baseline rule needs rel = 0.2 (a "
            "fraction of the baseline) and/or abs = ... (in the metric's unit); rel = 0.0 "
            "allows no change at all",
            cs->key);
    if (rel && tolerance_of(c, r, rel, cs->key, &cs->rel_tol) != 0)
        return RELHOST_EINVAL;
    if (abs_ && tolerance_of(c, r, abs_, cs->key, &cs->abs_tol) != 0)
        return RELHOST_EINVAL;
    return 0;
}

/* One check: ("key", ">=", 1.0), ("key", "range", lo, hi), or a group { metric; op; value; max;
 * baseline; rel; abs; stat; } holding a threshold (op, value), a baseline rule, or both. */
static int fill_check(const struct fillctx *c, const relhost_option *r, const config_setting_t *e,
                      relhost_check_spec *cs)
{
    const config_setting_t *k, *o, *v, *hi = NULL;
    const char *ops;
    int t = config_setting_type(e), group = t == CONFIG_TYPE_GROUP;
    memset(cs, 0, sizeof *cs);
    cs->struct_size = sizeof *cs;
    if (t == CONFIG_TYPE_LIST || t == CONFIG_TYPE_ARRAY) {
        int n = config_setting_length(e);
        if (n != 3 && n != 4)
            return opt_bad(c, e, r->name,
                           "check must be (\"metric\", \"op\", value) or "
                           "(\"metric\", \"range\", lo, hi)");
        k = config_setting_get_elem(e, 0);
        o = config_setting_get_elem(e, 1);
        v = config_setting_get_elem(e, 2);
        if (n == 4)
            hi = config_setting_get_elem(e, 3);
    } else if (group) {
        k = config_setting_get_member(e, "metric");
        o = config_setting_get_member(e, "op");
        v = config_setting_get_member(e, "value");
        hi = config_setting_get_member(e, "max");
        for (int i = 0; i < config_setting_length(e); i++) {
            const char *nm = config_setting_name(config_setting_get_elem(e, (unsigned)i));
            size_t x = 0;
            while (check_keys[x] && strcmp(check_keys[x], nm) != 0)
                x++;
            if (!check_keys[x])
                return opt_bad(c, config_setting_get_elem(e, (unsigned)i), r->name,
                               "check has unknown key '%s'; allowed: metric, op, value, max, "
                               "baseline, rel, abs, stat",
                               nm);
        }
        if (!k || config_setting_type(k) != CONFIG_TYPE_STRING)
            return opt_bad(c, e, r->name, "check group needs metric = \"name\" (a string)");
        if (!o != !v)
            return opt_bad(c, o ? o : v, r->name,
                           "check on \"%s\": a threshold needs both op and "
                           "value",
                           config_setting_get_string(k));
        if (!o && !config_setting_get_member(e, "baseline"))
            return opt_bad(c, e, r->name,
                           "check on \"%s\" needs op and value (a threshold), "
                           "baseline = \"higher\" or \"lower\" with rel and/or abs (a rule "
                           "against the last promoted release), or both",
                           config_setting_get_string(k));
    } else {
        return opt_bad(
            c, e, r->name,
            "each check must be a list like (\"sps_max\", \">=\", 30000.0) "
            "or a group like { metric = \"sps_max\"; baseline = \"higher\"; rel = 0.2; }");
    }
    if (config_setting_type(k) != CONFIG_TYPE_STRING ||
        (o && config_setting_type(o) != CONFIG_TYPE_STRING))
        return opt_bad(c, e, r->name, "check's metric and operator must be strings");
    cs->key = opt_own_str(c->st, config_setting_get_string(k));
    cs->where = opt_keep(c->st, where_of(e));
    if (group && fill_check_rule(c, r, e, cs) != 0)
        return RELHOST_EINVAL;
    if (!o) {
        cs->op = RELHOST_OP_NONE;
        if (hi)
            return opt_bad(c, hi, r->name, "check on \"%s\": max belongs to op = \"range\"",
                           cs->key);
        return 0;
    }
    ops = config_setting_get_string(o);
    cs->op = RELHOST_OP_NONE;
    for (size_t i = 0; i < sizeof op_names / sizeof op_names[0]; i++)
        if (strcmp(op_names[i].name, ops) == 0)
            cs->op = op_names[i].op;
    if (cs->op == RELHOST_OP_NONE)
        return opt_bad(c, o, r->name, "unknown operator \"%s\"; legal: >=, >, <=, <, ==, !=, range",
                       ops);
    if (number_of(v, &cs->expected) != 0)
        return opt_bad(c, v, r->name, "check value for \"%s\" must be a finite number", cs->key);
    if (cs->op == RELHOST_OP_RANGE) {
        if (!hi || number_of(hi, &cs->expected_hi) != 0)
            return group
                       ? opt_bad(c, e, r->name,
                                 "range check on \"%s\" needs max = hi (a finite number)", cs->key)
                       : opt_bad(c, e, r->name,
                                 "range check on \"%s\" needs (\"%s\", \"range\", "
                                 "lo, hi)",
                                 cs->key, cs->key);
        if (cs->expected_hi < cs->expected)
            return opt_bad(c, e, r->name, "range check on \"%s\" has lo %g above hi %g", cs->key,
                           cs->expected, cs->expected_hi);
    } else if (hi) {
        return opt_bad(c, e, r->name, "only a range check takes a fourth value");
    }
    return 0;
}

int opt_fill_checks(const struct fillctx *c, const relhost_option *r, const config_setting_t *s,
                    relhost_checks *out)
{
    int t = config_setting_type(s), n;
    relhost_check_spec *v;
    if (t != CONFIG_TYPE_LIST && t != CONFIG_TYPE_ARRAY)
        return opt_bad(c, s, r->name,
                       "must be a list of checks: ( (\"sps_max\", \">=\", 30000.0) )");
    n = config_setting_length(s);
    /* A single tuple written without the outer list: ("sps_max", ">=", 1.0). */
    if (n > 0 && config_setting_type(config_setting_get_elem(s, 0)) == CONFIG_TYPE_STRING) {
        v = opt_alloc(c->st, 1, sizeof *v);
        if (fill_check(c, r, s, &v[0]) != 0)
            return RELHOST_EINVAL;
        n = 1;
    } else {
        v = opt_alloc(c->st, (size_t)n + 1, sizeof *v);
        for (int i = 0; i < n; i++)
            if (fill_check(c, r, config_setting_get_elem(s, (unsigned)i), &v[i]) != 0)
                return RELHOST_EINVAL;
    }
    out->n = (size_t)n;
    out->elem_size = sizeof *v;
    out->v = v;
    return 0;
}

int opt_fill_map(const struct fillctx *c, const relhost_option *r, const config_setting_t *s,
                 relhost_map *out)
{
    int n;
    const char **k, **v;
    if (config_setting_type(s) != CONFIG_TYPE_GROUP)
        return opt_bad(c, s, r->name, "must be a group like { NAME = \"value\"; }");
    n = config_setting_length(s);
    k = opt_alloc(c->st, (size_t)n + 1, sizeof *k);
    v = opt_alloc(c->st, (size_t)n + 1, sizeof *v);
    for (int i = 0; i < n; i++) {
        const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
        char num[64];
        const char *str = num;
        switch (config_setting_type(e)) {
        case CONFIG_TYPE_STRING: str = config_setting_get_string(e); break;
        case CONFIG_TYPE_INT:
        case CONFIG_TYPE_INT64:
            snprintf(num, sizeof num, "%lld", config_setting_get_int64(e));
            break;
        case CONFIG_TYPE_FLOAT:
            snprintf(num, sizeof num, "%.17g", config_setting_get_float(e));
            break;
        case CONFIG_TYPE_BOOL:
            snprintf(num, sizeof num, "%s", config_setting_get_bool(e) ? "true" : "false");
            break;
        default:
            return opt_bad(c, e, r->name, "value of '%s' must be a string or number",
                           config_setting_name(e));
        }
        k[i] = opt_own_str(c->st, config_setting_name(e));
        if (store_string(c, r, e, str, &v[i]) != 0)
            return RELHOST_EINVAL;
    }
    out->n = (size_t)n;
    out->keys = k;
    out->values = v;
    return 0;
}

static int list_choices(const relhost_option *r, strbuf *b)
{
    for (size_t i = 0; r->choices && r->choices[i]; i++)
        sb_printf(b, "%s%s", i ? ", " : "", r->choices[i]);
    return 0;
}

/* STRING, SECRET_ENV and REF: a string, a variable's name, a reference. */
int opt_fill_string(const struct fillctx *c, const relhost_option *r, const config_setting_t *s,
                    char *field)
{
    int t = s ? config_setting_type(s) : CONFIG_TYPE_NONE;
    const char *def = r->def;
    const char *v;
    if (s && t != CONFIG_TYPE_STRING)
        return opt_bad(c, s, r->name, "must be a string (%s)", opt_type_name(r->type));
    v = s ? config_setting_get_string(s) : def;
    if (r->type == RELHOST_OPT_SECRET_ENV && !opt_valid_env_name(v))
        return opt_bad(c, s, r->name,
                       "must name an environment variable (like ASANA_TOKEN), never hold a secret");
    if (store_string(c, r, s, v, (const char **)(void *)field) != 0)
        return RELHOST_EINVAL;
    if (r->type == RELHOST_OPT_REF)
        opt_add_ref(c->st, r->ref_kind, v, s);
    if (r->type == RELHOST_OPT_SECRET_ENV) {
        /* The plan uses this variable: sealed, and its value masked everywhere. A value too
         * short to mask without shredding ordinary words is refused, never printed. */
        size_t len = secrets_seal(v);
        if (len > 0 && len < SECRETS_MIN_LEN)
            return opt_bad(c, s, r->name,
                           "names environment variable %s, which holds fewer than %d bytes: "
                           "a secret that short cannot be masked in logs and reports without "
                           "masking ordinary words. Set %s to the real credential, or unset it",
                           v, SECRETS_MIN_LEN, v);
    }
    return 0;
}

int opt_fill_int(const struct fillctx *c, const relhost_option *r, const config_setting_t *s,
                 char *field)
{
    int t = s ? config_setting_type(s) : CONFIG_TYPE_NONE;
    const char *def = r->def;
    int64_t v;
    if (s) {
        if (t != CONFIG_TYPE_INT && t != CONFIG_TYPE_INT64)
            return opt_bad(c, s, r->name, "must be an integer");
        v = config_setting_get_int64(s);
    } else {
        char *end;
        v = strtoll(def, &end, 10);
    }
    if (check_bounds(c, s, r, (double)v) != 0)
        return RELHOST_EINVAL;
    memcpy(field, &v, sizeof v);
    return 0;
}

int opt_fill_bool(const struct fillctx *c, const relhost_option *r, const config_setting_t *s,
                  char *field)
{
    int t = s ? config_setting_type(s) : CONFIG_TYPE_NONE;
    const char *def = r->def;
    int v;
    if (s) {
        if (t != CONFIG_TYPE_BOOL)
            return opt_bad(c, s, r->name, "must be true or false");
        v = config_setting_get_bool(s);
    } else {
        v = strcmp(def, "true") == 0 || strcmp(def, "1") == 0;
    }
    memcpy(field, &v, sizeof v);
    return 0;
}

int opt_fill_double(const struct fillctx *c, const relhost_option *r, const config_setting_t *s,
                    char *field)
{
    const char *def = r->def;
    double v;
    if (s) {
        if (number_of(s, &v) != 0)
            return opt_bad(c, s, r->name, "must be a number%s",
                           config_setting_type(s) == CONFIG_TYPE_FLOAT ? " (a finite one)" : "");
    } else {
        v = strtod(def, NULL);
    }
    if (check_bounds(c, s, r, v) != 0)
        return RELHOST_EINVAL;
    memcpy(field, &v, sizeof v);
    return 0;
}

int opt_fill_size(const struct fillctx *c, const relhost_option *r, const config_setting_t *s,
                  char *field)
{
    int t = s ? config_setting_type(s) : CONFIG_TYPE_NONE;
    const char *def = r->def;
    uint64_t v;
    if (s && (t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64)) {
        if (config_setting_get_int64(s) < 0)
            return opt_bad(c, s, r->name, "must not be negative");
        v = (uint64_t)config_setting_get_int64(s);
    } else if ((s && t == CONFIG_TYPE_STRING) || !s) {
        const char *str = s ? config_setting_get_string(s) : def;
        if (options_parse_size(str, &v) != 0)
            return opt_bad(c, s, r->name, "\"%s\" is not a size (like 512K, 64M, 2G)", str);
    } else {
        return opt_bad(c, s, r->name, "must be a size like \"64M\" or a number of bytes");
    }
    if (check_bounds(c, s, r, (double)v) != 0)
        return RELHOST_EINVAL;
    memcpy(field, &v, sizeof v);
    return 0;
}

int opt_fill_duration(const struct fillctx *c, const relhost_option *r, const config_setting_t *s,
                      char *field)
{
    int t = s ? config_setting_type(s) : CONFIG_TYPE_NONE;
    const char *def = r->def;
    double v;
    if (s && number_of(s, &v) == 0) {
        if (v < 0)
            return opt_bad(c, s, r->name, "must not be negative");
    } else if ((s && t == CONFIG_TYPE_STRING) || !s) {
        const char *str = s ? config_setting_get_string(s) : def;
        if (options_parse_duration(str, &v) != 0)
            return opt_bad(c, s, r->name,
                           "\"%s\" is not a duration (like 90s, 10m, 2h, 1d, or seconds)", str);
    } else {
        return opt_bad(c, s, r->name, "must be a duration like \"10m\" or a number of seconds");
    }
    if (check_bounds(c, s, r, v) != 0)
        return RELHOST_EINVAL;
    memcpy(field, &v, sizeof v);
    return 0;
}

int opt_fill_enum(const struct fillctx *c, const relhost_option *r, const config_setting_t *s,
                  char *field)
{
    int t = s ? config_setting_type(s) : CONFIG_TYPE_NONE;
    const char *def = r->def;
    const char *v = s ? config_setting_get_string(s) : def;
    int idx = -1;
    if (s && t != CONFIG_TYPE_STRING)
        v = NULL;
    for (int i = 0; v && r->choices && r->choices[i]; i++)
        if (strcmp(r->choices[i], v) == 0)
            idx = i;
    if (idx < 0) {
        strbuf b;
        int rc;
        sb_init(&b);
        list_choices(r, &b);
        rc = opt_bad(c, s, r->name, "must be one of: %s", b.s);
        sb_free(&b);
        return rc;
    }
    memcpy(field, &idx, sizeof idx);
    return 0;
}

/* STRLIST and REF_LIST, from the plan or from a default. */
int opt_fill_list(const struct fillctx *c, const relhost_option *r, const config_setting_t *s,
                  char *field)
{
    const char *def = r->def;
    relhost_strlist *l = (relhost_strlist *)(void *)field;
    if (s) {
        if (fill_strlist(c, r, s, l) != 0)
            return RELHOST_EINVAL;
        if (r->type == RELHOST_OPT_REF_LIST)
            for (size_t i = 0; i < l->n; i++)
                opt_add_ref(c->st, r->ref_kind, l->v[i], s);
        if (r->type == RELHOST_OPT_STRLIST && strcmp(r->name, "pass_env") == 0 &&
            opt_check_pass_env(c, s, r, l) != 0)
            return RELHOST_EINVAL;
    } else {
        /* A default list is written comma-separated: "max,last". */
        strvec parts = {0};
        const char **v;
        const char *p = def;
        while (*p) {
            size_t n = strcspn(p, ",");
            sv_push_take(&parts, xstrndup(p, n));
            p += n + (p[n] == ',');
        }
        v = opt_alloc(c->st, parts.n + 1, sizeof *v);
        for (size_t i = 0; i < parts.n; i++)
            v[i] = opt_own_str(c->st, parts.v[i]);
        l->n = parts.n;
        l->v = v;
        sv_free(&parts);
    }
    return 0;
}
