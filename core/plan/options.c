/* SPDX-License-Identifier: MIT */
#include "base/secrets.h"
#include "plan/options.h"
#include "plan/options_int.h"
#include "plan/keycheck.h"

#include "base/error.h"
#include "base/log.h"
#include "base/util.h"
#include "plan/template.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

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

/* Seal the variable every SECRET_ENV row names by default, in every group and list. */
static void seal_rows(const relhost_plugin *pl, const relhost_option *opts, strvec *short_names)
{
    for (size_t k = 0; opts; k++) {
        relhost_option r = options_row(pl, opts, k);
        if (!r.name)
            break;
        if (r.type == RELHOST_OPT_SECRET_ENV && r.def && opt_valid_env_name(r.def)) {
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

int options_walk(const relhost_plugin *pl, const relhost_option *opts, const char *conf,
                 const char *group, options_visit fn, void *data)
{
    for (size_t k = 0; opts; k++) {
        relhost_option r = options_row(pl, opts, k);
        const char *f = conf + r.offset;
        char *g;
        int stop = 0;
        if (!r.name)
            break;
        if (r.type != RELHOST_OPT_GROUP && r.type != RELHOST_OPT_GROUP_LIST) {
            if (fn(&r, f, group, data))
                return 1;
            continue;
        }
        if (!r.sub)
            continue;
        g = group ? xasprintf("%s.%s", group, r.name) : xstrdup(r.name);
        if (r.type == RELHOST_OPT_GROUP) {
            stop = options_walk(pl, r.sub, f, g, fn, data);
        } else if (r.item_size) {
            relhost_list l;
            memcpy(&l, f, sizeof l);
            for (size_t i = 0; i < l.n && !stop; i++)
                stop =
                    options_walk(pl, r.sub, (const char *)l.items + i * r.item_size, g, fn, data);
        }
        free(g);
        if (stop)
            return 1;
    }
    return 0;
}

typedef struct secret_uses {
    strvec *reads, *passes;
} secret_uses;

static int secret_use(const relhost_option *r, const char *f, const char *group, void *data)
{
    secret_uses *u = data;
    (void)group;
    if (r->type == RELHOST_OPT_SECRET_ENV) {
        const char *v;
        memcpy(&v, f, sizeof v);
        if (v)
            push_once(u->reads, v);
    } else if (r->type == RELHOST_OPT_STRLIST && strcmp(r->name, "pass_env") == 0) {
        relhost_strlist l;
        memcpy(&l, f, sizeof l);
        for (size_t i = 0; i < l.n; i++)
            push_once(u->passes, l.v[i]);
    }
    return 0;
}

void options_secret_use(const relhost_plugin *pl, const void *conf, strvec *reads, strvec *passes)
{
    secret_uses u = {reads, passes};
    if (conf)
        options_walk(pl, pl->options, conf, NULL, secret_use, &u);
}

int opt_bad(const struct fillctx *c, const config_setting_t *s, const char *key, const char *fmt,
            ...)
{
    char *lead = xasprintf("%s: '%s' ", c->what, key);
    va_list ap;
    int rc;
    va_start(ap, fmt);
    rc = options_fail_at(s, lead, fmt, ap);
    va_end(ap);
    free(lead);
    return rc;
}

/* Whether a plan's pass_env must name set variables (the commands that start processes). */
static int pass_env_strict;

void options_require_pass_env(int on) { pass_env_strict = on; }

/* A STRLIST option called pass_env, in any plugin, is the one way a sealed variable reaches a
 * child: each entry must be a variable name; a sealed one must hold a maskable value; with
 * options_require_pass_env(1) each must be set. */
int opt_check_pass_env(const struct fillctx *c, const config_setting_t *s, const relhost_option *r,
                       const relhost_strlist *l)
{
    for (size_t i = 0; i < l->n; i++) {
        const char *name = l->v[i], *v;
        if (!opt_valid_env_name(name))
            return opt_bad(c, s, r->name,
                           "entry \"%s\" is not an environment variable name "
                           "(letters, digits and '_', not starting with a digit)",
                           name);
        v = getenv(name);
        if (pass_env_strict && !v)
            return opt_bad(c, s, r->name,
                           "names %s, which is not set in relhost's environment; "
                           "set it (export %s=...) or remove it from pass_env",
                           name, name);
        if (v && secrets_sealed(name) && *v && strlen(v) < SECRETS_MIN_LEN)
            return opt_bad(c, s, r->name,
                           "hands over %s, which looks secret but holds fewer than "
                           "%d bytes: too short to mask in logs and reports. Set it to the real "
                           "credential, or rename it if it is not a secret",
                           name, SECRETS_MIN_LEN);
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

static int fill_table(const struct fillctx *c, const relhost_option *opts, void *conf,
                      const config_setting_t *group, optstore_reserved reserved);

static int fill_group_list(const struct fillctx *c, const relhost_option *r,
                           const config_setting_t *s, char *field)
{
    relhost_list *l = (relhost_list *)(void *)field;
    int n;
    char *items;
    if (!s)
        return 0;
    if (config_setting_type(s) != CONFIG_TYPE_LIST)
        return opt_bad(c, s, r->name, "must be a list of groups: ( { ... }, { ... } )");
    n = config_setting_length(s);
    items = opt_alloc(c->st, (size_t)n + 1, r->item_size);
    for (int i = 0; i < n; i++) {
        const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
        if (config_setting_type(e) != CONFIG_TYPE_GROUP)
            return opt_bad(c, e, r->name, "element %d must be a group { ... }", i + 1);
        if (fill_table(c, r->sub, items + (size_t)i * r->item_size, e, NULL) != 0)
            return RELHOST_EINVAL;
    }
    l->n = (size_t)n;
    l->items = items;
    return 0;
}

/* Fill one row from setting s (NULL: from its default). */
static int fill_row(const struct fillctx *c, const relhost_option *r, void *conf,
                    const config_setting_t *s)
{
    char *field = (char *)conf + r->offset;
    int t = s ? config_setting_type(s) : CONFIG_TYPE_NONE;
    int rc = 0;

    if (!s && r->type != RELHOST_OPT_GROUP && !r->def)
        return 0; /* absent, no default: zero */
    switch (r->type) {
    case RELHOST_OPT_STRING:
    case RELHOST_OPT_SECRET_ENV:
    case RELHOST_OPT_REF: rc = opt_fill_string(c, r, s, field); break;
    case RELHOST_OPT_INT: rc = opt_fill_int(c, r, s, field); break;
    case RELHOST_OPT_BOOL: rc = opt_fill_bool(c, r, s, field); break;
    case RELHOST_OPT_DOUBLE: rc = opt_fill_double(c, r, s, field); break;
    case RELHOST_OPT_SIZE: rc = opt_fill_size(c, r, s, field); break;
    case RELHOST_OPT_DURATION: rc = opt_fill_duration(c, r, s, field); break;
    case RELHOST_OPT_ENUM: rc = opt_fill_enum(c, r, s, field); break;
    case RELHOST_OPT_STRLIST:
    case RELHOST_OPT_REF_LIST: rc = opt_fill_list(c, r, s, field); break;
    case RELHOST_OPT_GROUP: {
        struct fillctx sub = *c;
        if (s && t != CONFIG_TYPE_GROUP)
            return opt_bad(c, s, r->name, "must be a group { ... }");
        return fill_table(&sub, r->sub, field, s, NULL);
    }
    case RELHOST_OPT_GROUP_LIST: rc = fill_group_list(c, r, s, field); break;
    case RELHOST_OPT_CHECKS:
        if (s)
            rc = opt_fill_checks(c, r, s, (relhost_checks *)(void *)field);
        break;
    case RELHOST_OPT_MAP:
        if (s && opt_fill_map(c, r, s, (relhost_map *)(void *)field) != 0)
            return RELHOST_EINVAL;
        if (s)
            warn_secret_literals(c, s, r, (const relhost_map *)(void *)field);
        break;
    default:
        return error_set(RELHOST_EINVAL, "%s: option '%s' has an unknown type %d in plugin %s",
                         c->what, r->name, (int)r->type, c->pl ? c->pl->name : "?");
    }
    if (rc != 0)
        return RELHOST_EINVAL;
    opt_remember(c->st, field, s);
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
            strvec names = {0};
            const char *near;
            int rc;
            sb_init(&b);
            for (size_t k = 0; reserved && reserved[k]; k++)
                sv_push(&names, reserved[k]);
            for (size_t k = 0; k < nrows; k++)
                sv_push(&names, options_row(c->pl, opts, k).name);
            for (size_t k = 0; k < names.n; k++)
                sb_printf(&b, "%s%s", k ? ", " : "", names.v[k]);
            near = keycheck_nearest(nm, (const char *const *)names.v, names.n);
            rc = opt_bad(c, e, nm, "is not a known key%s%s%s; allowed: %s",
                         near ? " (did you mean '" : "", near ? near : "", near ? "'?)" : "",
                         b.len ? b.s : "(none)");
            sb_free(&b);
            sv_free(&names);
            return rc;
        }
    }
    for (size_t k = 0; k < nrows; k++) {
        relhost_option r = options_row(c->pl, opts, k);
        const config_setting_t *s = group ? config_setting_get_member(group, r.name) : NULL;
        if (!s && r.required)
            return opt_bad(c, group, r.name, "is required (%s: %s)", opt_type_name(r.type),
                           r.doc ? r.doc : "");
        if (fill_row(c, &r, conf, s) != 0)
            return RELHOST_EINVAL;
    }
    return 0;
}

int options_fill(const relhost_plugin *pl, void *conf, const config_setting_t *group,
                 optstore_reserved reserved, const char *what, const char *plan_dir, optstore **out)
{
    struct fillctx c;
    optstore *st = opt_store_new();
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
        *out = opt_store_new();
        return rc;
    }
    rc = options_fill(pl, conf, config_root_setting(&cfg), NULL, pl->name, NULL, out);
    config_destroy(&cfg);
    return rc;
}
