/* SPDX-License-Identifier: MIT */
#include "base/secrets.h"
#include "plan/options.h"

#include "base/error.h"
#include "base/log.h"
#include "base/util.h"
#include "plan/template.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct where_ent {
    const void *field;
    char *where;
};

struct ref_ent {
    relhost_ref_kind kind;
    char *name;
    char *where;
};

struct optstore {
    void **allocs;
    size_t nalloc, capalloc;
    struct where_ent *w;
    size_t nw, capw;
    struct ref_ent *refs;
    size_t nrefs, caprefs;
    const char *plan_dir;
};

/* Rows are read with the plugin's own row size, so a plugin built with a smaller (older)
 * relhost_option still works: fields past its size read as zero. */
relhost_option options_row(const relhost_plugin *pl, const relhost_option *base, size_t i)
{
    relhost_option r;
    size_t sz = pl && pl->option_size ? pl->option_size : sizeof(relhost_option);
    const char *p = (const char *)base + i * sz;
    memset(&r, 0, sizeof r);
    memcpy(&r, p, sz < sizeof r ? sz : sizeof r);
    return r;
}

static int valid_env_name(const char *s);

/* Seal the variable every SECRET_ENV row names by default, in every group and list. */
static void seal_rows(const relhost_plugin *pl, const relhost_option *opts, strvec *short_names)
{
    for (size_t k = 0; opts; k++) {
        relhost_option r = options_row(pl, opts, k);
        if (!r.name)
            break;
        if (r.type == RELHOST_OPT_SECRET_ENV && r.def && valid_env_name(r.def)) {
            size_t len = secrets_seal(r.def);
            if (len > 0 && len < SECRETS_MIN_LEN && short_names)
                sv_push(short_names, r.def);
        }
        if ((r.type == RELHOST_OPT_GROUP || r.type == RELHOST_OPT_GROUP_LIST) && r.sub)
            seal_rows(pl, r.sub, short_names);
    }
}

void options_seal_defaults(const relhost_plugin *pl, strvec *short_names)
{
    seal_rows(pl, pl->options, short_names);
}

static void push_once(strvec *v, const char *s)
{
    for (size_t i = 0; i < v->n; i++)
        if (strcmp(v->v[i], s) == 0)
            return;
    sv_push(v, s);
}

static void secret_use(const relhost_plugin *pl, const relhost_option *opts, const char *conf,
                       strvec *reads, strvec *passes)
{
    for (size_t k = 0; opts; k++) {
        relhost_option r = options_row(pl, opts, k);
        const char *f = conf + r.offset;
        if (!r.name)
            break;
        if (r.type == RELHOST_OPT_SECRET_ENV) {
            const char *v;
            memcpy(&v, f, sizeof v);
            if (v)
                push_once(reads, v);
        } else if (r.type == RELHOST_OPT_STRLIST && strcmp(r.name, "pass_env") == 0) {
            relhost_strlist l;
            memcpy(&l, f, sizeof l);
            for (size_t i = 0; i < l.n; i++)
                push_once(passes, l.v[i]);
        } else if (r.type == RELHOST_OPT_GROUP && r.sub) {
            secret_use(pl, r.sub, f, reads, passes);
        } else if (r.type == RELHOST_OPT_GROUP_LIST && r.sub && r.item_size) {
            relhost_list l;
            memcpy(&l, f, sizeof l);
            for (size_t i = 0; i < l.n; i++)
                secret_use(pl, r.sub, (const char *)l.items + i * r.item_size, reads, passes);
        }
    }
}

void options_secret_use(const relhost_plugin *pl, const void *conf, strvec *reads,
                        strvec *passes)
{
    if (conf)
        secret_use(pl, pl->options, conf, reads, passes);
}

static void *own(optstore *st, void *p)
{
    if (st->nalloc == st->capalloc) {
        st->capalloc = st->capalloc ? st->capalloc * 2 : 16;
        st->allocs = xrealloc(st->allocs, st->capalloc * sizeof *st->allocs);
    }
    st->allocs[st->nalloc++] = p;
    return p;
}

static char *own_str(optstore *st, const char *s) { return own(st, xstrdup(s)); }

static char *plan_dir_for_where;
static struct set_mark {
    const config_setting_t *s;
    char *arg;
} *marks;
static size_t nmarks;

void options_set_plan_dir(const char *dir)
{
    free(plan_dir_for_where);
    plan_dir_for_where = dir ? xstrdup(dir) : NULL;
}

void options_mark_set(const config_setting_t *s, const char *arg)
{
    /* A later --set of the same setting (or a new setting at a reused address) replaces the
     * mark: the error must name the --set that produced the value. */
    for (size_t i = 0; i < nmarks; i++)
        if (marks[i].s == s) {
            free(marks[i].arg);
            marks[i].arg = xstrdup(arg);
            return;
        }
    marks = xrealloc(marks, (nmarks + 1) * sizeof *marks);
    marks[nmarks].s = s;
    marks[nmarks].arg = xstrdup(arg);
    nmarks++;
}

void options_forget_marks(void)
{
    for (size_t i = 0; i < nmarks; i++)
        free(marks[i].arg);
    free(marks);
    marks = NULL;
    nmarks = 0;
    options_set_plan_dir(NULL);
}

char *options_where_of(const config_setting_t *s)
{
    const char *f;
    for (size_t i = 0; i < nmarks; i++)
        if (marks[i].s == s)
            return xasprintf("--set %s", marks[i].arg);
    f = config_setting_source_file(s);
    if (!f)
        return xstrdup("the plan");
    if (f[0] != '/' && plan_dir_for_where) {
        char *abs = path_absolute(f, plan_dir_for_where);
        char *w = xasprintf("%s:%u", abs, config_setting_source_line(s));
        free(abs);
        return w;
    }
    return xasprintf("%s:%u", f, config_setting_source_line(s));
}

#define where_of options_where_of

static void remember(optstore *st, const void *field, const config_setting_t *s)
{
    if (!s)
        return;
    if (st->nw == st->capw) {
        st->capw = st->capw ? st->capw * 2 : 32;
        st->w = xrealloc(st->w, st->capw * sizeof *st->w);
    }
    st->w[st->nw].field = field;
    st->w[st->nw].where = where_of(s);
    st->nw++;
}

static void add_ref(optstore *st, relhost_ref_kind kind, const char *name,
                    const config_setting_t *s)
{
    if (st->nrefs == st->caprefs) {
        st->caprefs = st->caprefs ? st->caprefs * 2 : 8;
        st->refs = xrealloc(st->refs, st->caprefs * sizeof *st->refs);
    }
    st->refs[st->nrefs].kind = kind;
    st->refs[st->nrefs].name = xstrdup(name);
    st->refs[st->nrefs].where = s ? where_of(s) : xstrdup("the plan");
    st->nrefs++;
}

const char *optstore_where(const optstore *st, const void *field)
{
    if (!st)
        return NULL;
    for (size_t i = 0; i < st->nw; i++)
        if (st->w[i].field == field)
            return st->w[i].where;
    return NULL;
}

size_t optstore_nrefs(const optstore *st) { return st ? st->nrefs : 0; }

void optstore_ref(const optstore *st, size_t i, relhost_ref_kind *kind, const char **name,
                  const char **where)
{
    *kind = st->refs[i].kind;
    *name = st->refs[i].name;
    *where = st->refs[i].where;
}

void optstore_free(optstore *st)
{
    if (!st)
        return;
    for (size_t i = 0; i < st->nalloc; i++)
        free(st->allocs[i]);
    for (size_t i = 0; i < st->nw; i++)
        free(st->w[i].where);
    for (size_t i = 0; i < st->nrefs; i++) {
        free(st->refs[i].name);
        free(st->refs[i].where);
    }
    free(st->allocs);
    free(st->w);
    free(st->refs);
    free(st);
}

static const char *type_name(relhost_opt_type t)
{
    switch (t) {
    case RELHOST_OPT_STRING: return "string";
    case RELHOST_OPT_INT: return "integer";
    case RELHOST_OPT_BOOL: return "boolean";
    case RELHOST_OPT_DOUBLE: return "number";
    case RELHOST_OPT_SIZE: return "size";
    case RELHOST_OPT_DURATION: return "duration";
    case RELHOST_OPT_ENUM: return "choice";
    case RELHOST_OPT_STRLIST: return "list of strings";
    case RELHOST_OPT_SECRET_ENV: return "env var name";
    case RELHOST_OPT_GROUP: return "group";
    case RELHOST_OPT_GROUP_LIST: return "list of groups";
    case RELHOST_OPT_REF: return "name";
    case RELHOST_OPT_REF_LIST: return "list of names";
    case RELHOST_OPT_CHECKS: return "acceptance checks";
    case RELHOST_OPT_MAP: return "group of values";
    default: return "?";
    }
}

/* Context for error messages: "<what> key 'x' at file:line". */
struct fillctx {
    optstore *st;
    const relhost_plugin *pl;
    const char *what;
};

static int bad(const struct fillctx *c, const config_setting_t *s, const char *key,
               const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int bad(const struct fillctx *c, const config_setting_t *s, const char *key,
               const char *fmt, ...)
{
    char msg[1024];
    char *w = s ? where_of(s) : NULL;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    error_set(RELHOST_EINVAL, "%s%s%s: '%s' %s", w ? w : "", w ? ": " : "", c->what, key, msg);
    free(w);
    return RELHOST_EINVAL;
}

/* Whether a plan's pass_env must name set variables (the commands that start processes). */
static int pass_env_strict;

void options_require_pass_env(int on) { pass_env_strict = on; }

/* A STRLIST option called pass_env, in any plugin, is the one way a sealed variable reaches a
 * child: each entry must be a variable name; a sealed one must hold a maskable value; with
 * options_require_pass_env(1) each must be set. */
static int check_pass_env(const struct fillctx *c, const config_setting_t *s,
                          const relhost_option *r, const relhost_strlist *l)
{
    for (size_t i = 0; i < l->n; i++) {
        const char *name = l->v[i], *v;
        if (!valid_env_name(name))
            return bad(c, s, r->name, "entry \"%s\" is not an environment variable name "
                       "(letters, digits and '_', not starting with a digit)", name);
        v = getenv(name);
        if (pass_env_strict && !v)
            return bad(c, s, r->name, "names %s, which is not set in relhost's environment; "
                       "set it (export %s=...) or remove it from pass_env", name, name);
        if (v && secrets_sealed(name) && *v && strlen(v) < SECRETS_MIN_LEN)
            return bad(c, s, r->name, "hands over %s, which looks secret but holds fewer than "
                       "%d bytes: too short to mask in logs and reports. Set it to the real "
                       "credential, or rename it if it is not a secret", name, SECRETS_MIN_LEN);
    }
    return 0;
}

/* A secret-looking name given a literal value in a plan's map (env = { DB_PASSWORD = "..." }):
 * the plan holds a secret. Say so, and mask the value like one. */
static void warn_secret_literals(const struct fillctx *c, const config_setting_t *s,
                                 const relhost_option *r, const relhost_map *m)
{
    for (size_t i = 0; i < m->n; i++) {
        char *w;
        if (!secrets_name_looks_secret(m->keys[i]) || !m->values[i] || !*m->values[i])
            continue;
        secrets_add(m->values[i]);
        w = where_of(s);
        log_msg(RELHOST_LOG_WARN, NULL,
                "%s%s%s: '%s' gives %s a literal value in the plan; secrets belong in relhost's "
                "environment, handed over with pass_env = [\"%s\"] (the value is masked)",
                w ? w : "", w ? ": " : "", c->what, r->name, m->keys[i], m->keys[i]);
        free(w);
    }
}

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
    case 'K': mul = 1024.0; end++; break;
    case 'M': mul = 1024.0 * 1024; end++; break;
    case 'G': mul = 1024.0 * 1024 * 1024; end++; break;
    case 'T': mul = 1024.0 * 1024 * 1024 * 1024; end++; break;
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
        return bad(c, s, r->name, "is %g, outside %g..%g", v, r->min, r->max);
    return 0;
}

static int valid_env_name(const char *s)
{
    if (!*s || isdigit((unsigned char)*s))
        return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_')
            return 0;
    return 1;
}

static int fill_table(const struct fillctx *c, const relhost_option *opts, void *conf,
                      const config_setting_t *group, optstore_reserved reserved);

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
    *field = own(c->st, val);
    return 0;
}

static int fill_strlist(const struct fillctx *c, const relhost_option *r, const config_setting_t *s,
                        relhost_strlist *out)
{
    int n, type = config_setting_type(s);
    const char **v;
    if (type == CONFIG_TYPE_STRING) {
        v = own(c->st, xcalloc(2, sizeof *v));
        if (store_string(c, r, s, config_setting_get_string(s), &v[0]) != 0)
            return RELHOST_EINVAL;
        out->n = 1;
        out->v = v;
        return 0;
    }
    if (type != CONFIG_TYPE_ARRAY && type != CONFIG_TYPE_LIST)
        return bad(c, s, r->name, "must be a list of strings, e.g. [\"a\", \"b\"]");
    n = config_setting_length(s);
    v = own(c->st, xcalloc((size_t)n + 1, sizeof *v));
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
        default:
            return bad(c, e, r->name, "element %d must be a string", i + 1);
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
} op_names[] = {{">=", RELHOST_OP_GE}, {">", RELHOST_OP_GT},  {"<=", RELHOST_OP_LE},
                {"<", RELHOST_OP_LT},  {"==", RELHOST_OP_EQ}, {"!=", RELHOST_OP_NE},
                {"range", RELHOST_OP_RANGE}};

const char *options_op_name(relhost_op op)
{
    for (size_t i = 0; i < sizeof op_names / sizeof op_names[0]; i++)
        if (op_names[i].op == op)
            return op_names[i].name;
    return "?";
}

static int number_of(const config_setting_t *e, double *out)
{
    switch (config_setting_type(e)) {
    case CONFIG_TYPE_INT:
    case CONFIG_TYPE_INT64: *out = (double)config_setting_get_int64(e); return 0;
    case CONFIG_TYPE_FLOAT: *out = config_setting_get_float(e); return 0;
    default: return -1;
    }
}

/* Keys of the group form of a check. */
static const char *const check_keys[] = {"metric", "op", "value", "max", "baseline", "rel",
                                         "abs", "stat", NULL};

/* A number >= 0 of a check group (rel, abs). */
static int tolerance_of(const struct fillctx *c, const relhost_option *r, const config_setting_t *t,
                        const char *metric, double *out)
{
    if (number_of(t, out) != 0 || !isfinite(*out) || *out < 0)
        return bad(c, t, r->name, "check on \"%s\": %s must be a number >= 0 (rel is a fraction: "
                   "0.2 = 20%%; abs is in the metric's unit)", metric, config_setting_name(t));
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
            return bad(c, st, r->name, "check on \"%s\": stat must be one of median, min, max, "
                       "mean (the statistic of a repeated validation's runs)", cs->key);
    }
    if (!b) {
        if (rel || abs_)
            return bad(c, rel ? rel : abs_, r->name, "check on \"%s\": %s needs baseline = "
                       "\"higher\" or \"lower\" (a tolerance against the last promoted "
                       "release)", cs->key, rel ? "rel" : "abs");
        return 0;
    }
    v = config_setting_type(b) == CONFIG_TYPE_STRING ? config_setting_get_string(b) : "";
    if (strcmp(v, "higher") == 0)
        cs->baseline = RELHOST_BASELINE_HIGHER;
    else if (strcmp(v, "lower") == 0)
        cs->baseline = RELHOST_BASELINE_LOWER;
    else
        return bad(c, b, r->name, "check on \"%s\": baseline must be \"higher\" (higher is "
                   "better, e.g. SPS) or \"lower\" (lower is better, e.g. latency)", cs->key);
    if (!rel && !abs_)
        return bad(c, b, r->name, "check on \"%s\": a baseline rule needs rel = 0.2 (a "
                   "fraction of the baseline) and/or abs = ... (in the metric's unit); rel = 0.0 "
                   "allows no change at all", cs->key);
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
            return bad(c, e, r->name, "check must be (\"metric\", \"op\", value) or "
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
                return bad(c, config_setting_get_elem(e, (unsigned)i), r->name,
                           "check has unknown key '%s'; allowed: metric, op, value, max, "
                           "baseline, rel, abs, stat", nm);
        }
        if (!k || config_setting_type(k) != CONFIG_TYPE_STRING)
            return bad(c, e, r->name, "check group needs metric = \"name\" (a string)");
        if (!o != !v)
            return bad(c, o ? o : v, r->name, "check on \"%s\": a threshold needs both op and "
                       "value", config_setting_get_string(k));
        if (!o && !config_setting_get_member(e, "baseline"))
            return bad(c, e, r->name, "check on \"%s\" needs op and value (a threshold), "
                       "baseline = \"higher\" or \"lower\" with rel and/or abs (a rule "
                       "against the last promoted release), or both",
                       config_setting_get_string(k));
    } else {
        return bad(c, e, r->name, "each check must be a list like (\"sps_max\", \">=\", 30000.0) "
                   "or a group like { metric = \"sps_max\"; baseline = \"higher\"; rel = 0.2; }");
    }
    if (config_setting_type(k) != CONFIG_TYPE_STRING ||
        (o && config_setting_type(o) != CONFIG_TYPE_STRING))
        return bad(c, e, r->name, "check's metric and operator must be strings");
    cs->key = own_str(c->st, config_setting_get_string(k));
    cs->where = own(c->st, where_of(e));
    if (group && fill_check_rule(c, r, e, cs) != 0)
        return RELHOST_EINVAL;
    if (!o) {
        cs->op = RELHOST_OP_NONE;
        if (hi)
            return bad(c, hi, r->name, "check on \"%s\": max belongs to op = \"range\"",
                       cs->key);
        return 0;
    }
    ops = config_setting_get_string(o);
    cs->op = RELHOST_OP_NONE;
    for (size_t i = 0; i < sizeof op_names / sizeof op_names[0]; i++)
        if (strcmp(op_names[i].name, ops) == 0)
            cs->op = op_names[i].op;
    if (cs->op == RELHOST_OP_NONE)
        return bad(c, o, r->name, "unknown operator \"%s\"; legal: >=, >, <=, <, ==, !=, range",
                   ops);
    if (number_of(v, &cs->expected) != 0)
        return bad(c, v, r->name, "check value for \"%s\" must be a number", cs->key);
    if (cs->op == RELHOST_OP_RANGE) {
        if (!hi || number_of(hi, &cs->expected_hi) != 0)
            return group ? bad(c, e, r->name, "range check on \"%s\" needs max = hi (a number)",
                               cs->key)
                         : bad(c, e, r->name, "range check on \"%s\" needs (\"%s\", \"range\", "
                               "lo, hi)", cs->key, cs->key);
        if (cs->expected_hi < cs->expected)
            return bad(c, e, r->name, "range check on \"%s\" has lo %g above hi %g", cs->key,
                       cs->expected, cs->expected_hi);
    } else if (hi) {
        return bad(c, e, r->name, "only a range check takes a fourth value");
    }
    return 0;
}

static int fill_checks(const struct fillctx *c, const relhost_option *r, const config_setting_t *s,
                       relhost_checks *out)
{
    int t = config_setting_type(s), n;
    relhost_check_spec *v;
    if (t != CONFIG_TYPE_LIST && t != CONFIG_TYPE_ARRAY)
        return bad(c, s, r->name, "must be a list of checks: ( (\"sps_max\", \">=\", 30000.0) )");
    n = config_setting_length(s);
    /* A single tuple written without the outer list: ("sps_max", ">=", 1.0). */
    if (n > 0 && config_setting_type(config_setting_get_elem(s, 0)) == CONFIG_TYPE_STRING) {
        v = own(c->st, xcalloc(1, sizeof *v));
        if (fill_check(c, r, s, &v[0]) != 0)
            return RELHOST_EINVAL;
        n = 1;
    } else {
        v = own(c->st, xcalloc((size_t)n + 1, sizeof *v));
        for (int i = 0; i < n; i++)
            if (fill_check(c, r, config_setting_get_elem(s, (unsigned)i), &v[i]) != 0)
                return RELHOST_EINVAL;
    }
    out->n = (size_t)n;
    out->elem_size = sizeof *v;
    out->v = v;
    return 0;
}

static int fill_map(const struct fillctx *c, const relhost_option *r, const config_setting_t *s,
                    relhost_map *out)
{
    int n;
    const char **k, **v;
    if (config_setting_type(s) != CONFIG_TYPE_GROUP)
        return bad(c, s, r->name, "must be a group like { NAME = \"value\"; }");
    n = config_setting_length(s);
    k = own(c->st, xcalloc((size_t)n + 1, sizeof *k));
    v = own(c->st, xcalloc((size_t)n + 1, sizeof *v));
    for (int i = 0; i < n; i++) {
        const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
        char num[64];
        const char *str = num;
        switch (config_setting_type(e)) {
        case CONFIG_TYPE_STRING: str = config_setting_get_string(e); break;
        case CONFIG_TYPE_INT:
        case CONFIG_TYPE_INT64: snprintf(num, sizeof num, "%lld", config_setting_get_int64(e)); break;
        case CONFIG_TYPE_FLOAT: snprintf(num, sizeof num, "%.17g", config_setting_get_float(e)); break;
        case CONFIG_TYPE_BOOL: snprintf(num, sizeof num, "%s", config_setting_get_bool(e) ? "true" : "false"); break;
        default: return bad(c, e, r->name, "value of '%s' must be a string or number",
                            config_setting_name(e));
        }
        k[i] = own_str(c->st, config_setting_name(e));
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

/* Fill one row from setting s (NULL: from its default). */
static int fill_row(const struct fillctx *c, const relhost_option *r, void *conf,
                    const config_setting_t *s)
{
    char *field = (char *)conf + r->offset;
    int t = s ? config_setting_type(s) : CONFIG_TYPE_NONE;
    const char *def = r->def;

    if (!s && r->type != RELHOST_OPT_GROUP && !def)
        return 0; /* absent, no default: zero */
    switch (r->type) {
    case RELHOST_OPT_STRING:
    case RELHOST_OPT_SECRET_ENV:
    case RELHOST_OPT_REF: {
        const char *v;
        if (s && t != CONFIG_TYPE_STRING)
            return bad(c, s, r->name, "must be a string (%s)", type_name(r->type));
        v = s ? config_setting_get_string(s) : def;
        if (r->type == RELHOST_OPT_SECRET_ENV && !valid_env_name(v))
            return bad(c, s, r->name,
                       "must name an environment variable (like ASANA_TOKEN), never hold a secret");
        if (store_string(c, r, s, v, (const char **)(void *)field) != 0)
            return RELHOST_EINVAL;
        if (r->type == RELHOST_OPT_REF)
            add_ref(c->st, r->ref_kind, v, s);
        if (r->type == RELHOST_OPT_SECRET_ENV) {
            /* The plan uses this variable: sealed, and its value masked everywhere. A value too
             * short to mask without shredding ordinary words is refused, never printed. */
            size_t len = secrets_seal(v);
            if (len > 0 && len < SECRETS_MIN_LEN)
                return bad(c, s, r->name,
                           "names environment variable %s, which holds fewer than %d bytes: "
                           "a secret that short cannot be masked in logs and reports without "
                           "masking ordinary words. Set %s to the real credential, or unset it",
                           v, SECRETS_MIN_LEN, v);
        }
        break;
    }
    case RELHOST_OPT_INT: {
        int64_t v;
        if (s) {
            if (t != CONFIG_TYPE_INT && t != CONFIG_TYPE_INT64)
                return bad(c, s, r->name, "must be an integer");
            v = config_setting_get_int64(s);
        } else {
            char *end;
            v = strtoll(def, &end, 10);
        }
        if (check_bounds(c, s, r, (double)v) != 0)
            return RELHOST_EINVAL;
        memcpy(field, &v, sizeof v);
        break;
    }
    case RELHOST_OPT_BOOL: {
        int v;
        if (s) {
            if (t != CONFIG_TYPE_BOOL)
                return bad(c, s, r->name, "must be true or false");
            v = config_setting_get_bool(s);
        } else {
            v = strcmp(def, "true") == 0 || strcmp(def, "1") == 0;
        }
        memcpy(field, &v, sizeof v);
        break;
    }
    case RELHOST_OPT_DOUBLE: {
        double v;
        if (s) {
            if (number_of(s, &v) != 0)
                return bad(c, s, r->name, "must be a number");
        } else {
            v = strtod(def, NULL);
        }
        if (check_bounds(c, s, r, v) != 0)
            return RELHOST_EINVAL;
        memcpy(field, &v, sizeof v);
        break;
    }
    case RELHOST_OPT_SIZE: {
        uint64_t v;
        if (s && (t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64)) {
            if (config_setting_get_int64(s) < 0)
                return bad(c, s, r->name, "must not be negative");
            v = (uint64_t)config_setting_get_int64(s);
        } else if ((s && t == CONFIG_TYPE_STRING) || !s) {
            const char *str = s ? config_setting_get_string(s) : def;
            if (options_parse_size(str, &v) != 0)
                return bad(c, s, r->name, "\"%s\" is not a size (like 512K, 64M, 2G)", str);
        } else {
            return bad(c, s, r->name, "must be a size like \"64M\" or a number of bytes");
        }
        if (check_bounds(c, s, r, (double)v) != 0)
            return RELHOST_EINVAL;
        memcpy(field, &v, sizeof v);
        break;
    }
    case RELHOST_OPT_DURATION: {
        double v;
        if (s && number_of(s, &v) == 0) {
            if (v < 0)
                return bad(c, s, r->name, "must not be negative");
        } else if ((s && t == CONFIG_TYPE_STRING) || !s) {
            const char *str = s ? config_setting_get_string(s) : def;
            if (options_parse_duration(str, &v) != 0)
                return bad(c, s, r->name,
                           "\"%s\" is not a duration (like 90s, 10m, 2h, 1d, or seconds)", str);
        } else {
            return bad(c, s, r->name, "must be a duration like \"10m\" or a number of seconds");
        }
        if (check_bounds(c, s, r, v) != 0)
            return RELHOST_EINVAL;
        memcpy(field, &v, sizeof v);
        break;
    }
    case RELHOST_OPT_ENUM: {
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
            rc = bad(c, s, r->name, "must be one of: %s", b.s);
            sb_free(&b);
            return rc;
        }
        memcpy(field, &idx, sizeof idx);
        break;
    }
    case RELHOST_OPT_STRLIST:
    case RELHOST_OPT_REF_LIST: {
        relhost_strlist *l = (relhost_strlist *)(void *)field;
        if (s) {
            if (fill_strlist(c, r, s, l) != 0)
                return RELHOST_EINVAL;
            if (r->type == RELHOST_OPT_REF_LIST)
                for (size_t i = 0; i < l->n; i++)
                    add_ref(c->st, r->ref_kind, l->v[i], s);
            if (r->type == RELHOST_OPT_STRLIST && strcmp(r->name, "pass_env") == 0 &&
                check_pass_env(c, s, r, l) != 0)
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
            v = own(c->st, xcalloc(parts.n + 1, sizeof *v));
            for (size_t i = 0; i < parts.n; i++)
                v[i] = own_str(c->st, parts.v[i]);
            l->n = parts.n;
            l->v = v;
            sv_free(&parts);
        }
        break;
    }
    case RELHOST_OPT_GROUP: {
        struct fillctx sub = *c;
        if (s && t != CONFIG_TYPE_GROUP)
            return bad(c, s, r->name, "must be a group { ... }");
        return fill_table(&sub, r->sub, field, s, NULL);
    }
    case RELHOST_OPT_GROUP_LIST: {
        relhost_list *l = (relhost_list *)(void *)field;
        int n;
        char *items;
        if (!s)
            break;
        if (t != CONFIG_TYPE_LIST)
            return bad(c, s, r->name, "must be a list of groups: ( { ... }, { ... } )");
        n = config_setting_length(s);
        items = own(c->st, xcalloc((size_t)n + 1, r->item_size));
        for (int i = 0; i < n; i++) {
            const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
            if (config_setting_type(e) != CONFIG_TYPE_GROUP)
                return bad(c, e, r->name, "element %d must be a group { ... }", i + 1);
            if (fill_table(c, r->sub, items + (size_t)i * r->item_size, e, NULL) != 0)
                return RELHOST_EINVAL;
        }
        l->n = (size_t)n;
        l->items = items;
        break;
    }
    case RELHOST_OPT_CHECKS:
        if (s && fill_checks(c, r, s, (relhost_checks *)(void *)field) != 0)
            return RELHOST_EINVAL;
        break;
    case RELHOST_OPT_MAP:
        if (s && fill_map(c, r, s, (relhost_map *)(void *)field) != 0)
            return RELHOST_EINVAL;
        if (s)
            warn_secret_literals(c, s, r, (const relhost_map *)(void *)field);
        break;
    default:
        return error_set(RELHOST_EINVAL, "%s: option '%s' has an unknown type %d in plugin %s",
                         c->what, r->name, (int)r->type, c->pl ? c->pl->name : "?");
    }
    remember(c->st, field, s);
    return 0;
}

static int fill_table(const struct fillctx *c, const relhost_option *opts, void *conf,
                      const config_setting_t *group, optstore_reserved reserved)
{
    size_t nrows = 0;
    if (opts)
        while (options_row(c->pl, opts, nrows).name)
            nrows++;
    /* Unknown keys first: a typo is the likeliest error and the most useful to report. */
    for (int i = 0; group && i < config_setting_length(group); i++) {
        const config_setting_t *e = config_setting_get_elem(group, (unsigned)i);
        const char *nm = config_setting_name(e);
        int known = 0;
        for (size_t k = 0; reserved && reserved[k]; k++)
            if (strcmp(reserved[k], nm) == 0)
                known = 1;
        for (size_t k = 0; !known && k < nrows; k++)
            if (strcmp(options_row(c->pl, opts, k).name, nm) == 0)
                known = 1;
        if (!known) {
            strbuf b;
            int rc;
            sb_init(&b);
            for (size_t k = 0; reserved && reserved[k]; k++)
                sb_printf(&b, "%s%s", b.len ? ", " : "", reserved[k]);
            for (size_t k = 0; k < nrows; k++)
                sb_printf(&b, "%s%s", b.len ? ", " : "", options_row(c->pl, opts, k).name);
            rc = bad(c, e, nm, "is not a known key; allowed: %s", b.len ? b.s : "(none)");
            sb_free(&b);
            return rc;
        }
    }
    for (size_t k = 0; k < nrows; k++) {
        relhost_option r = options_row(c->pl, opts, k);
        const config_setting_t *s = group ? config_setting_get_member(group, r.name) : NULL;
        if (!s && r.required)
            return bad(c, group, r.name, "is required (%s: %s)", type_name(r.type),
                       r.doc ? r.doc : "");
        if (fill_row(c, &r, conf, s) != 0)
            return RELHOST_EINVAL;
    }
    return 0;
}

int options_fill(const relhost_plugin *pl, void *conf, const config_setting_t *group,
                 optstore_reserved reserved, const char *what, const char *plan_dir,
                 optstore **out)
{
    struct fillctx c;
    optstore *st = xcalloc(1, sizeof *st);
    *out = st;
    st->plan_dir = plan_dir;
    c.st = st;
    c.pl = pl;
    c.what = what;
    return fill_table(&c, pl->options, conf, group, reserved);
}

int options_fill_defaults(const relhost_plugin *pl, void *conf, optstore **out)
{
    return options_fill(pl, conf, NULL, NULL, pl->name, NULL, out);
}

int options_fill_text(const relhost_plugin *pl, void *conf, const char *text, optstore **out)
{
    config_t cfg;
    int rc;
    config_init(&cfg);
    if (!config_read_string(&cfg, text)) {
        rc = error_set(RELHOST_EINVAL, "line %d: %s", config_error_line(&cfg),
                       config_error_text(&cfg));
        config_destroy(&cfg);
        *out = xcalloc(1, sizeof **out);
        return rc;
    }
    rc = options_fill(pl, conf, config_root_setting(&cfg), NULL, pl->name, NULL, out);
    config_destroy(&cfg);
    return rc;
}

/* A default as one line: control characters (a two-line message) are shown escaped. */
static const char *one_line(const char *s, char *buf, size_t cap)
{
    size_t o = 0;
    for (; s && *s && o + 3 < cap; s++) {
        if (*s == '\n') {
            buf[o++] = '\\';
            buf[o++] = 'n';
        } else if ((unsigned char)*s < 0x20) {
            buf[o++] = ' ';
        } else {
            buf[o++] = *s;
        }
    }
    buf[o] = '\0';
    return buf;
}

static void describe_rows(const relhost_plugin *pl, const relhost_option *opts, int depth,
                          FILE *out)
{
    for (size_t k = 0; opts && options_row(pl, opts, k).name; k++) {
        relhost_option r = options_row(pl, opts, k);
        char defbuf[512];
        fprintf(out, "%*s%-22s %-18s %s%s%s", depth * 2 + 2, "", r.name, type_name(r.type),
                r.required ? "required" : "default ", r.required ? "" : " ",
                r.required ? "" : (r.def ? one_line(r.def, defbuf, sizeof defbuf) : "(none)"));
        fprintf(out, "\n%*s%s", depth * 2 + 4, "", r.doc ? r.doc : "");
        if (r.type == RELHOST_OPT_ENUM) {
            fprintf(out, " (one of:");
            for (size_t i = 0; r.choices && r.choices[i]; i++)
                fprintf(out, " %s", r.choices[i]);
            fprintf(out, ")");
        }
        if (r.min != 0 || r.max != 0)
            fprintf(out, " (%g..%g)", r.min, r.max);
        if (r.flags & RELHOST_OPTF_TEMPLATE)
            fprintf(out, " [template]");
        fprintf(out, "\n");
        if (r.type == RELHOST_OPT_GROUP || r.type == RELHOST_OPT_GROUP_LIST)
            describe_rows(pl, r.sub, depth + 1, out);
    }
}

void options_describe(const relhost_plugin *pl, FILE *out)
{
    fprintf(out, "%s %s - %s\n", pl->name, pl->version ? pl->version : "?",
            pl->description ? pl->description : "");
    fprintf(out, "capabilities:%s%s%s\n", pl->gate ? " gate" : "", pl->metrics ? " metrics" : "",
            pl->runner ? " runner" : "");
    fprintf(out, "options:\n");
    if (!pl->options || !options_row(pl, pl->options, 0).name)
        fprintf(out, "  (none)\n");
    describe_rows(pl, pl->options, 0, out);
}
