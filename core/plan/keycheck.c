/* SPDX-License-Identifier: MIT */
/*
 * keycheck.c - host->checks_verify(): from a gate's open(), before any job runs, every key an
 * acceptance check reads must be one its metrics sources can post (each declares its keys with
 * relhost_metrics_ops.keys), and a required step's sources must find their credentials.
 *
 * A source without keys() (a plugin older than ABI 1.3, or one whose keys are not known before
 * the job runs) may post anything: its checks are not judged here, because a false "unknown key"
 * would refuse a valid plan. Credentials are the variables a source declares it needs under its
 * conf (relhost_metrics_ops.credentials): each must be set and non-empty; a source without that
 * op is not judged here (its jobs say so when they end). Values are never read into a message,
 * only tested for presence.
 */
#include "plan/keycheck.h"

#include "base/log.h"
#include "base/util.h"
#include "plan/options.h"
#include "plan/plan.h"
#include "run/host.h"
#include "run/guard.h"

#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#define KEYS_SHOWN 30 /* keys named in an "unknown key" message */
#define SUGGEST_MAX 2 /* edit distance of a "did you mean" */

size_t keycheck_distance(const char *a, const char *b, size_t limit)
{
    size_t na = strlen(a), nb = strlen(b);
    size_t *block, *prev2, *prev, *cur, d;
    if ((na > nb ? na - nb : nb - na) > limit)
        return limit + 1;
    /* three rows (two back for the swap), rotated */
    block = xcalloc(3 * (nb + 1), sizeof *block);
    prev2 = block;
    prev = prev2 + nb + 1;
    cur = prev + nb + 1;
    for (size_t j = 0; j <= nb; j++)
        prev[j] = j;
    for (size_t i = 1; i <= na; i++) {
        size_t row_min;
        cur[0] = i;
        row_min = cur[0];
        for (size_t j = 1; j <= nb; j++) {
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            size_t v = prev[j - 1] + cost;
            if (prev[j] + 1 < v)
                v = prev[j] + 1;
            if (cur[j - 1] + 1 < v)
                v = cur[j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                prev2[j - 2] + 1 < v)
                v = prev2[j - 2] + 1;
            cur[j] = v;
            if (v < row_min)
                row_min = v;
        }
        if (row_min > limit) {
            free(block);
            return limit + 1;
        }
        {
            size_t *t = prev2;
            prev2 = prev;
            prev = cur;
            cur = t;
        }
    }
    d = prev[nb];
    free(block);
    return d > limit ? limit + 1 : d;
}

static int is_glob(const char *s) { return strpbrk(s, "*?[") != NULL; }

/* What the named sources can post. */
struct keyset {
    strvec keys;  /* fnmatch patterns, copied */
    int any;      /* some source declares no keys: it may post anything */
    strbuf names; /* "<source> (<plugin>), ..." for messages */
    size_t nsources;
};

static void keyset_free(struct keyset *ks)
{
    sv_free(&ks->keys);
    sb_free(&ks->names);
}

static int keyset_has(const struct keyset *ks, const char *key)
{
    for (size_t i = 0; i < ks->keys.n; i++)
        if (fnmatch(ks->keys.v[i], key, 0) == 0)
            return 1;
    return 0;
}

const char *keycheck_nearest(const char *word, const char *const *names, size_t n)
{
    const char *best = NULL;
    size_t best_d = SUGGEST_MAX + 1, len = strlen(word);
    for (size_t i = 0; i < n; i++) {
        size_t d = names[i] ? keycheck_distance(word, names[i], SUGGEST_MAX) : best_d;
        if (d == 0)
            return NULL;
        if (d < best_d && 2 * d < len) {
            best_d = d;
            best = names[i];
        }
    }
    return best;
}

char *keycheck_hint(const char *word, const char *const *names, size_t n, const char *pre,
                    const char *post)
{
    const char *near = keycheck_nearest(word, names, n);
    return near ? xasprintf(" (did you mean '%s%s%s'?)", pre ? pre : "", near, post ? post : "")
                : xstrdup("");
}

static const relhost_check_spec *spec_at(const relhost_checks *c, size_t i)
{
    size_t esz = c->elem_size ? c->elem_size : sizeof(relhost_check_spec);
    return (const relhost_check_spec *)(const void *)((const char *)c->v + i * esz);
}

/* "did you mean \"x\"?" for key, or nothing: the nearest literal key within SUGGEST_MAX edits
 * (and fewer than half the key's length), else the keys that extend it ("sps" -> "sps_max"). */
static int suggest(strbuf *b, const struct keyset *ks, const char *key)
{
    const char *best = NULL;
    size_t best_d = SUGGEST_MAX + 1, len = strlen(key), shown = 0;
    for (size_t i = 0; i < ks->keys.n; i++) {
        const char *k = ks->keys.v[i];
        size_t d;
        if (is_glob(k))
            continue;
        d = keycheck_distance(key, k, SUGGEST_MAX);
        if (d < best_d && 2 * d < len) {
            best_d = d;
            best = k;
        }
    }
    if (best) {
        sb_printf(b, "; did you mean \"%s\"?", best);
        return 1;
    }
    for (size_t i = 0; i < ks->keys.n && shown < 3; i++) {
        const char *k = ks->keys.v[i];
        if (!is_glob(k) && strncmp(k, key, len) == 0 && k[len] == '_')
            sb_printf(b, "%s\"%s\"", shown++ ? " or " : "; did you mean ", k);
    }
    if (shown)
        sb_puts(b, "?");
    return shown > 0;
}

/* The SECRET_ENV option of conf (under table opts) that names variable var: its row name (with
 * its group's, "group.name") into *name and the field's address into *field. 1 when found. */
typedef struct secret_find {
    const char *var;
    char **name;
    const void **field;
} secret_find;

static int secret_is(const relhost_option *r, const char *f, const char *group, void *data)
{
    secret_find *sf = data;
    const char *v;
    if (r->type != RELHOST_OPT_SECRET_ENV)
        return 0;
    memcpy(&v, f, sizeof v);
    if (!v || strcmp(v, sf->var) != 0)
        return 0;
    *sf->name = group ? xasprintf("%s.%s", group, r->name) : xstrdup(r->name);
    *sf->field = f;
    return 1;
}

static int secret_option(const relhost_plugin *pl, const relhost_option *opts, const char *conf,
                         const char *group, const char *var, char **name, const void **field)
{
    secret_find sf = {var, name, field};
    return options_walk(pl, opts, conf, group, secret_is, &sf);
}

/* Check i is the first to read its key (a key read twice is named once). */
static int first_mention(const relhost_checks *c, size_t i)
{
    for (size_t j = 0; j < i; j++)
        if (spec_at(c, j)->key && strcmp(spec_at(c, j)->key, spec_at(c, i)->key) == 0)
            return 0;
    return 1;
}

/* keys() and credentials() hand names one by one: copy each into the strvec payload. */
static void add_to(void *payload, const char *name)
{
    if (name && *name)
        sv_push(payload, name);
}

/* A credential source pi declares that is unset or empty: explained into msg, 1. */
static int missing_credential(hostctx *hc, const plan_instance *pi, const char *step, strbuf *msg)
{
    const relhost_metrics_ops *ops = pi && pi->pl ? pi->pl->desc.metrics : NULL;
    strvec need = {0};
    int found = 0;
    int g, rc;
    if (!pi || !pi->conf || !RELHOST_HAS(ops, credentials) || !ops->credentials)
        return 0;
    g = guard_enter(pi->plugin_name, "credentials", NULL);
    rc = ops->credentials(pi->conf, add_to, &need);
    guard_leave(g);
    if (rc != 0) {
        sv_free(&need);
        return 0;
    }
    for (size_t i = 0; i < need.n && !found; i++) {
        const char *env = getenv(need.v[i]), *w = NULL;
        char *opt = NULL;
        const void *field = NULL;
        if (env && *env)
            continue;
        if (secret_option(&pi->pl->desc, pi->pl->desc.options, pi->conf, NULL, need.v[i], &opt,
                          &field))
            w = optstore_where(pi->store, field);
        sb_printf(msg,
                  "%s: metrics source %s needs $%s%s%s%s for required step %s; set it, or "
                  "make the step optional",
                  w ? w : plan_where(pi), pi->name, need.v[i], opt ? " (its option " : "",
                  opt ? opt : "", opt ? ")" : "", step ? step : "(unnamed)");
        free(opt);
        found = 1;
    }
    sv_free(&need);
    (void)hc;
    return found;
}

static int refuse(hostctx *hc, strbuf *msg)
{
    hostctx_fail(hc, msg->s);
    sb_free(msg);
    return RELHOST_EINVAL;
}

/* Checks but no source named to post their keys. */
static int no_sources(hostctx *hc, const plan *p, const char *where,
                      const relhost_checks *acceptance)
{
    strbuf msg;
    sb_init(&msg);
    sb_printf(&msg, "%s: acceptance checks read \"%s\"", where, spec_at(acceptance, 0)->key);
    for (size_t i = 1; i < acceptance->n && i < 4; i++)
        sb_printf(&msg, ", \"%s\"", spec_at(acceptance, i)->key);
    sb_printf(&msg,
              "%s but no metrics source is named to post them; name one with metrics = "
              "[\"...\"] (defined:",
              acceptance->n > 4 ? "..." : "");
    for (size_t i = 0; i < p->nmetrics; i++)
        sb_printf(&msg, "%s%s", i ? ", " : " ", p->metrics[i].name);
    sb_puts(&msg, p->nmetrics ? ")" : " none; add one under the plan's metrics group)");
    return refuse(hc, &msg);
}

/* The keys the named sources post, into ks (ks->any: one cannot tell). A source that does not
 * exist is refused into msg (then 1). */
static int collect_keys(hostctx *hc, const plan *p, const char *where,
                        const relhost_strlist *sources, struct keyset *ks, strbuf *msg)
{
    for (size_t s = 0; s < sources->n; s++) {
        const plan_instance *pi = plan_find_metrics(p, sources->v[s]);
        const relhost_metrics_ops *ops;
        int rc;
        if (!pi) {
            sb_printf(msg, "%s: metrics source \"%s\" named for these checks does not exist; ",
                      where, sources->v[s]);
            if (p->nmetrics == 0)
                sb_puts(msg, "the plan defines none: add it under the plan's metrics group");
            for (size_t i = 0; i < p->nmetrics; i++)
                sb_printf(msg, "%s%s",
                          i ? ", " : "the plan's metrics group defines: ", p->metrics[i].name);
            return 1;
        }
        sb_printf(&ks->names, "%s%s (%s)", ks->nsources++ ? ", " : "", pi->name, pi->plugin_name);
        ops = pi->pl ? pi->pl->desc.metrics : NULL;
        if (!RELHOST_HAS(ops, keys) || !ops->keys) {
            ks->any = 1;
            continue;
        }
        {
            int g = guard_enter(pi->plugin_name, "keys", NULL);
            rc = ops->keys(pi->conf, add_to, &ks->keys);
            guard_leave(g);
        }
        if (rc != 0) {
            /* Cannot tell what it posts: judging its checks could refuse a valid plan. */
            log_msg(RELHOST_LOG_WARN, hc->prefix,
                    "metrics source %s (%s) could not list its keys (error %d); acceptance keys "
                    "read from it are not checked before the run",
                    pi->name, pi->plugin_name, rc);
            ks->any = 1;
        }
    }
    return 0;
}

/* The first acceptance key none of the sources posts (and how many there are), or NULL. */
static const relhost_check_spec *first_unknown(const relhost_checks *acceptance,
                                               const struct keyset *ks, size_t *n)
{
    const relhost_check_spec *first = NULL;
    *n = 0;
    for (size_t i = 0; !ks->any && i < acceptance->n; i++) {
        const relhost_check_spec *c = spec_at(acceptance, i);
        if (!c->key || keyset_has(ks, c->key) || !first_mention(acceptance, i))
            continue;
        if (!first)
            first = c;
        (*n)++;
    }
    return first;
}

/* "acceptance key "x" is not posted by ...; did you mean ...? (nor ...); it posts keys: ..." */
static void unknown_key_message(strbuf *msg, const char *where, const relhost_checks *acceptance,
                                const struct keyset *ks, const relhost_check_spec *first,
                                size_t nunknown)
{
    const char *unknown = first->key;
    int several = ks->nsources > 1, asked;
    sb_printf(msg, "%s: acceptance key \"%s\" is not posted by metrics source%s %s",
              first->where && *first->where ? first->where : where, unknown, several ? "s" : "",
              ks->names.s);
    asked = suggest(msg, ks, unknown);
    if (nunknown > 1) {
        size_t shown = 0;
        sb_puts(msg, " (nor");
        for (size_t i = 0; i < acceptance->n; i++) {
            const relhost_check_spec *c = spec_at(acceptance, i);
            if (!c->key || strcmp(c->key, unknown) == 0 || keyset_has(ks, c->key) ||
                !first_mention(acceptance, i))
                continue;
            sb_printf(msg, "%s\"%s\"", shown++ ? ", " : " ", c->key);
        }
        sb_puts(msg, ")");
    }
    sb_printf(msg, "%skeys %s:", asked && nunknown == 1 ? " " : "; ",
              several ? "they post" : "it posts");
    for (size_t i = 0; i < ks->keys.n && i < KEYS_SHOWN; i++)
        sb_printf(msg, "%s%s", i ? ", " : " ", ks->keys.v[i]);
    if (ks->keys.n == 0)
        sb_puts(msg, " none");
    else if (ks->keys.n > KEYS_SHOWN)
        sb_printf(msg, "... (%zu more)", ks->keys.n - KEYS_SHOWN);
    sb_puts(msg, "; fix the key, or make one of these sources post it");
}

int host_checks_verify(const relhost_ctx *ctx, const relhost_strlist *sources,
                       const relhost_checks *acceptance, const void *where_field)
{
    hostctx *hc = ctx ? (hostctx *)ctx->host_private : NULL;
    return host_checks_verify_at(ctx, sources, acceptance,
                                 hc ? optstore_where(hc->store, where_field) : NULL);
}

int host_checks_verify_at(const relhost_ctx *ctx, const relhost_strlist *sources,
                          const relhost_checks *acceptance, const char *where)
{
    hostctx *hc = ctx ? (hostctx *)ctx->host_private : NULL;
    const plan *p;
    struct keyset ks;
    strbuf msg;
    relhost_checks none = {0, sizeof(relhost_check_spec), NULL};
    const relhost_check_spec *first;
    size_t nunknown;

    if (!hc)
        return RELHOST_EINVAL;
    p = hc->plan;
    if (!p)
        return 0; /* no plan around this call (tests, tools): nothing to check against */
    if (!where)
        where = "the plan";
    if (!sources || sources->n == 0)
        return acceptance && acceptance->n ? no_sources(hc, p, where, acceptance) : 0;
    if (!acceptance)
        acceptance = &none;
    sb_init(&msg);
    memset(&ks, 0, sizeof ks);
    sb_init(&ks.names);
    if (collect_keys(hc, p, where, sources, &ks, &msg)) {
        keyset_free(&ks);
        return refuse(hc, &msg);
    }
    if ((first = first_unknown(acceptance, &ks, &nunknown)) != NULL) {
        unknown_key_message(&msg, where, acceptance, &ks, first, nunknown);
        keyset_free(&ks);
        return refuse(hc, &msg);
    }
    keyset_free(&ks);

    /* A required step would run every job and only then find its source unable to read the
     * metrics: say so now. An optional step may go ahead (its jobs then end ERROR). */
    if (hc->step_required)
        for (size_t s = 0; s < sources->n; s++)
            if (missing_credential(hc, plan_find_metrics(p, sources->v[s]), ctx->step, &msg))
                return refuse(hc, &msg);
    sb_free(&msg);
    return 0;
}
