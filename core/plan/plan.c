/* SPDX-License-Identifier: MIT */
#include "plan/plan.h"
#include "plan/plan_int.h"

#include "base/error.h"
#include "base/log.h"
#include "isolate/isolate.h"
#include "plan/keycheck.h"
#include "plan/plan_keys.h"
#include "plan/plan_slices.h"
#include "plan/template.h"
#include "record/state.h"
#include "run/candidate.h"

#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define perr plan_perr

static const char *const inst_reserved[] = {"plugin", "isolate", "call_timeout", NULL};
static const char *const runner_reserved[] = {"plugin",       "max_parallel",  "max_log", "isolate",
                                              "call_timeout", "queue_timeout", NULL};
static const char *const metrics_reserved[] = {"plugin", "priority", "isolate", "call_timeout",
                                               NULL};

#define where_of options_where_of

int plan_perr(const config_setting_t *s, const char *fmt, ...)
{
    va_list ap;
    int rc;
    va_start(ap, fmt);
    rc = options_fail_at(s, NULL, fmt, ap);
    va_end(ap);
    return rc;
}

int plan_version_valid(const char *v)
{
    size_t n = strlen(v);
    if (n == 0 || n > 64 || !isalnum((unsigned char)v[0]))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)v[i]) && v[i] != '.' && v[i] != '_' && v[i] != '-')
            return 0;
    if (strstr(v, ".."))
        return 0;
    if (n >= 5 && strcmp(v + n - 5, ".lock") == 0)
        return 0;
    return 1;
}

void plan_auto_version(char *buf, size_t cap)
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, cap, "%Y.%m.%d-%H%M", &tm);
}

int plan_name_valid(const char *s)
{
    if (!*s || !isalnum((unsigned char)*s))
        return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_' && *s != '.')
            return 0;
    return 1;
}

/* ---- instances ---- */

int plan_fill_instance(plan *p, plan_instance *in, const config_setting_t *g, const char *kind,
                       optstore_reserved reserved)
{
    const char *pname;
    char *what;
    int rc;
    in->loc = options_loc_of(g);
    if (!config_setting_lookup_string(g, "plugin", &pname))
        return perr(g, "%s \"%s\" needs plugin = \"NAME\" (a string)", kind, in->name);
    in->plugin_name = options_intern(pname);
    in->pl = loader_find(&p->ld, pname);
    if (!in->pl)
        return error_wrap(RELHOST_EINVAL, "%s: %s \"%s\"", plan_where(in), kind, in->name);
    if (strcmp(kind, "step") == 0 && !in->pl->desc.gate)
        return perr(g, "step \"%s\": plugin \"%s\" is not a gate (it offers:%s%s)", in->name, pname,
                    in->pl->desc.metrics ? " metrics" : "", in->pl->desc.runner ? " runner" : "");
    if (strcmp(kind, "runner") == 0 && !in->pl->desc.runner)
        return perr(g, "runner \"%s\": plugin \"%s\" is not a runner", in->name, pname);
    if (strcmp(kind, "metrics source") == 0 && !in->pl->desc.metrics)
        return perr(g, "metrics source \"%s\": plugin \"%s\" is not a metrics source", in->name,
                    pname);
    if (plan_isolation(in, g, kind) != 0)
        return RELHOST_EINVAL;
    in->conf = xcalloc(1, in->pl->desc.conf_size ? in->pl->desc.conf_size : 1);
    what = xasprintf("%s \"%s\"", kind, in->name);
    template_set("step", strcmp(kind, "step") == 0 ? in->name : NULL);
    rc = options_fill(&in->pl->desc, in->conf, g, reserved, what, p->dir, &in->store);
    template_set("step", NULL);
    free(what);
    return rc;
}

static int load_group_of_instances(plan *p, const char *key, const char *kind, plan_instance **out,
                                   size_t *nout)
{
    config_setting_t *g = config_lookup(&p->cfg, key);
    int n;
    if (!g)
        return 0;
    if (config_setting_type(g) != CONFIG_TYPE_GROUP)
        return perr(g, "'%s' must be a group: %s = { name = { plugin = \"...\"; ... }; };", key,
                    key);
    n = config_setting_length(g);
    *out = xcalloc((size_t)n + 1, sizeof **out);
    for (int i = 0; i < n; i++) {
        config_setting_t *e = config_setting_get_elem(g, (unsigned)i);
        plan_instance *in = &(*out)[i];
        in->name = xstrdup(config_setting_name(e));
        *nout = (size_t)i + 1;
        if (config_setting_type(e) != CONFIG_TYPE_GROUP)
            return perr(e, "%s \"%s\" must be a group { plugin = \"...\"; ... }", kind, in->name);
        in->max_parallel = strcmp(kind, "runner") == 0 ? 0 : 4; /* runners: 0 until known */
        if (strcmp(kind, "runner") == 0) {
            config_setting_t *mp = config_setting_get_member(e, "max_parallel");
            if (mp) {
                int t = config_setting_type(mp);
                if ((t != CONFIG_TYPE_INT && t != CONFIG_TYPE_INT64) ||
                    config_setting_get_int64(mp) < 1 || config_setting_get_int64(mp) > 100000)
                    return perr(mp, "runner \"%s\": max_parallel must be an integer 1..100000",
                                in->name);
                in->max_parallel = (int)config_setting_get_int64(mp);
            }
            if (plan_runner_max_log(e, in) != 0 || plan_runner_queue_timeout(e, in) != 0)
                return RELHOST_EINVAL;
        }
        if (strcmp(kind, "metrics source") == 0) {
            config_setting_t *pr = config_setting_get_member(e, "priority");
            if (pr) {
                int t = config_setting_type(pr);
                if (t != CONFIG_TYPE_INT && t != CONFIG_TYPE_INT64)
                    return perr(pr, "metrics source \"%s\": priority must be an integer", in->name);
                in->priority = (int)config_setting_get_int64(pr);
            }
        }
        if (plan_fill_instance(p, in, e, kind,
                               strcmp(kind, "runner") == 0           ? runner_reserved
                               : strcmp(kind, "metrics source") == 0 ? metrics_reserved
                                                                     : inst_reserved) != 0)
            return RELHOST_EINVAL;
        /* A runner whose jobs wait in a cluster's queue (it can find them again: remote) runs
         * as many at once as a cluster user submits; relhost's own children, a few. */
        if (!in->max_parallel)
            in->max_parallel = in->pl->desc.runner && in->pl->desc.runner->find
                                   ? PLAN_REMOTE_MAX_PARALLEL
                                   : PLAN_LOCAL_MAX_PARALLEL;
    }
    return 0;
}

static int resolve_refs(plan *p, const plan_instance *in)
{
    for (size_t i = 0; i < optstore_nrefs(in->store); i++) {
        relhost_ref_kind kind;
        const char *name, *where;
        int ok = 0;
        const char *what = "name";
        optstore_ref(in->store, i, &kind, &name, &where);
        switch (kind) {
        case RELHOST_REF_RUNNER:
            ok = plan_find_runner(p, name) != NULL;
            what = "runner (plan key runners)";
            break;
        case RELHOST_REF_METRICS:
            ok = plan_find_metrics(p, name) != NULL;
            what = "metrics source (plan key metrics)";
            break;
        case RELHOST_REF_STEP:
            ok = plan_find_step(p, name) != NULL;
            what = "step";
            break;
        default: ok = 1;
        }
        if (!ok) {
            strvec names = {0};
            char *hint;
            int rc;
            for (size_t k = 0; kind == RELHOST_REF_RUNNER && k < p->nrunners; k++)
                sv_push(&names, p->runners[k].name);
            for (size_t k = 0; kind == RELHOST_REF_METRICS && k < p->nmetrics; k++)
                sv_push(&names, p->metrics[k].name);
            for (size_t k = 0; kind == RELHOST_REF_STEP && k < p->nsteps; k++)
                sv_push(&names, p->steps[k].inst.name);
            hint = keycheck_hint(name, (const char *const *)names.v, names.n, NULL, NULL);
            rc = error_set(RELHOST_EINVAL, "%s: %s \"%s\" refers to unknown %s \"%s\"%s", where,
                           "instance", in->name, what, name, hint);
            free(hint);
            sv_free(&names);
            return rc;
        }
    }
    return 0;
}

/* Known at open: where `stage` puts this release. The rollback names have values in a
 * rollback's on_rollback steps only; elsewhere they are empty. */
static void set_registry_templates(const plan *p)
{
    static const char *const rbn[] = {"rollback_from", "rollback_to", "rollback_reason"};
    char *sd = xasprintf("%s/staged/%s", p->registry_dir, p->version);
    template_set("staged_dir", sd);
    free(sd);
    for (size_t i = 0; i < 3; i++)
        if (!template_value(rbn[i]))
            template_set(rbn[i], "");
}

/* version = "auto" and no --release: continue the newest release of this plan unless it was
 * published or quarantined (then, or with --new, make a new UTC-stamped version that no
 * existing release uses). A release that failed or stopped half-way is continued: what passed
 * stays passed, what is missing runs. */
static int pick_version(plan *p, int new_release, int newest, char **out)
{
    state_entry *e = NULL;
    size_t n = 0;
    char buf[48], cand[64];
    int rc = state_list(p->state_dir, &e, &n);
    if (rc != 0)
        return rc;
    /* Plans may share a state folder: only this plan's releases are resumed or shown. */
    for (size_t i = 0; newest && i < n; i++) {
        if (e[i].error || (e[i].plan && strcmp(e[i].plan, p->path) != 0))
            continue;
        *out = xstrdup(e[i].version);
        p->resumed = 1;
        state_list_free(e, n);
        return 0;
    }
    {
        /* The newest release is the one created last (a run of an older one, or a waiver on
         * it, touches its files but does not make it newer); an unreadable one, by its mtime,
         * stops the choice rather than letting an older one be continued quietly. */
        size_t best = n;
        for (size_t i = 0; !new_release && i < n; i++) {
            double ti, tb;
            if (!e[i].error && e[i].plan && strcmp(e[i].plan, p->path) != 0)
                continue;
            if (!e[i].error && e[i].created <= 0)
                continue; /* only waived ahead (relhost waive): it starts with --release */
            ti = e[i].created > 0 ? e[i].created : e[i].mtime;
            tb = best < n ? (e[best].created > 0 ? e[best].created : e[best].mtime) : -1;
            if (best == n || ti > tb)
                best = i;
        }
        if (best < n && e[best].error) {
            rc = error_set(RELHOST_EINVAL,
                           "release %s in %s cannot be read (%s); fix or move it, or pass "
                           "--release V or --new",
                           e[best].version, p->state_dir, e[best].message ? e[best].message : "?");
            state_list_free(e, n);
            return rc;
        }
        if (best < n && !e[best].published && !e[best].quarantined) {
            *out = xstrdup(e[best].version);
            p->resumed = 1;
            state_list_free(e, n);
            return 0;
        }
        if (best < n)
            log_msg(RELHOST_LOG_INFO, NULL, "release %s was %s: starting a new release",
                    e[best].version,
                    e[best].quarantined ? "quarantined (never promotable)" : "published");
    }
    plan_auto_version(buf, sizeof buf);
    snprintf(cand, sizeof cand, "%s", buf);
    for (int k = 2; k < 1000; k++) {
        int taken = 0;
        for (size_t i = 0; i < n; i++)
            taken |= strcmp(e[i].version, cand) == 0;
        if (!taken)
            break;
        snprintf(cand, sizeof cand, "%s-%d", buf, k);
    }
    state_list_free(e, n);
    *out = xstrdup(cand);
    p->version_auto = 1;
    return 0;
}

static char *hash_file(const char *path, const char *const *sets)
{
    FILE *f = fopen(path, "rbe");
    uint64_t h = 1469598103934665603ULL;
    int c;
    if (f) {
        while ((c = fgetc(f)) != EOF) {
            h ^= (unsigned char)c;
            h *= 1099511628211ULL;
        }
        fclose(f);
    }
    for (size_t i = 0; sets && sets[i]; i++)
        for (const char *s = sets[i]; *s; s++) {
            h ^= (unsigned char)*s;
            h *= 1099511628211ULL;
        }
    return xasprintf("%016llx", (unsigned long long)h);
}

/* The plugin folders: the plan's plugin_path, then the default ones. */
static void plugin_dirs(plan *p)
{
    for (size_t i = 0; i < p->keys.plugin_path.n; i++)
        sv_push(&p->plugin_path, p->keys.plugin_path.v[i]);
    loader_default_dirs(&p->plugin_path);
}

/* Every top-level key is one of the core table's or a structural one: a typo is named with the
 * whole list, before any value is read. */
static int check_root_keys(plan *p)
{
    config_setting_t *root = config_root_setting(&p->cfg);
    const relhost_plugin *core = plan_keys_desc();
    for (int i = 0; i < config_setting_length(root); i++) {
        config_setting_t *e = config_setting_get_elem(root, (unsigned)i);
        const char *nm = config_setting_name(e);
        int known = 0;
        strbuf b;
        int rc;
        for (size_t k = 0; core->options[k].name; k++)
            known |= strcmp(core->options[k].name, nm) == 0;
        for (size_t k = 0; PLAN_STRUCTURAL_KEYS[k]; k++)
            known |= strcmp(PLAN_STRUCTURAL_KEYS[k], nm) == 0;
        if (known)
            continue;
        {
            strvec names = {0};
            const char *near;
            sb_init(&b);
            for (size_t k = 0; core->options[k].name; k++)
                sv_push(&names, core->options[k].name);
            for (size_t k = 0; PLAN_STRUCTURAL_KEYS[k]; k++)
                sv_push(&names, PLAN_STRUCTURAL_KEYS[k]);
            for (size_t k = 0; k < names.n; k++)
                sb_printf(&b, "%s%s", k ? ", " : "", names.v[k]);
            near = keycheck_nearest(nm, (const char *const *)names.v, names.n);
            rc = perr(e, "unknown plan key '%s'%s%s%s; allowed at top level: %s", nm,
                      near ? " (did you mean '" : "", near ? near : "", near ? "'?)" : "", b.s);
            sb_free(&b);
            sv_free(&names);
        }
        return rc;
    }
    return 0;
}

/* Where the plan set a core key, or "the default <key>". */
static char *key_where(const plan *p, const void *field, const char *key)
{
    const char *w = optstore_where(p->keys_store, field);
    return w ? xstrdup(w) : xasprintf("the default %s", key);
}

int plan_parse(const plan_options *o, plan *p)
{
    int rc;
    const char *base;

    memset(p, 0, sizeof *p);
    config_init(&p->cfg);
    p->path = path_absolute(o->path, NULL);
    p->dir = path_dirname(p->path);
    base = strrchr(p->path, '/');
    p->name = xstrdup(base ? base + 1 : p->path);
    if (strrchr(p->name, '.'))
        *strrchr(p->name, '.') = '\0';
    config_set_include_dir(&p->cfg, p->dir);
    options_forget_marks();
    options_set_plan_dir(p->dir);
    config_set_options(&p->cfg, CONFIG_OPTION_AUTOCONVERT);
    {
        FILE *f = fopen(p->path, "re");
        if (!f)
            return error_set(RELHOST_EINVAL, "cannot read plan %s: %s", p->path, strerror(errno));
        fclose(f);
    }
    if (plan_check_int_literals(p->path, p->dir, 0) != 0)
        return RELHOST_EINVAL;
    /* The step lists a slice at a time when the text allows it (plan_slices.h), else whole. */
    if (!plan_slices_read(&p->cfg, p->path, o->sets, &p->slices) &&
        !config_read_file(&p->cfg, p->path)) {
        const char *file = config_error_file(&p->cfg);
        return error_set(RELHOST_EINVAL, "%s:%d: %s (libconfig syntax; see relhost.cfg(5))",
                         file ? file : p->path, config_error_line(&p->cfg),
                         config_error_text(&p->cfg));
    }
    for (size_t i = 0; o->sets && o->sets[i]; i++)
        if ((rc = plan_apply_set(&p->cfg, o->sets[i])) != 0)
            return rc;
    p->hash = hash_file(p->path, o->sets);
    if ((rc = check_root_keys(p)) != 0)
        return rc;
    if ((rc = options_fill(plan_keys_desc(), &p->keys, config_root_setting(&p->cfg),
                           PLAN_STRUCTURAL_KEYS, "plan", p->dir, &p->keys_store)) != 0)
        return rc;
    if (p->keys.name) {
        free(p->name);
        p->name = xstrdup(p->keys.name);
    }
    p->state_dir = xstrdup(p->keys.state_dir);
    p->log_dir = xstrdup(p->keys.log_dir);
    p->state_dir_where = key_where(p, &p->keys.state_dir, "state_dir");
    p->log_dir_where = key_where(p, &p->keys.log_dir, "log_dir");
    p->repo = p->keys.repo ? xstrdup(p->keys.repo) : NULL;
    p->ref = p->keys.ref ? xstrdup(p->keys.ref) : NULL;
    if (p->ref && !p->repo)
        return perr(config_lookup(&p->cfg, "ref"), "'ref' needs 'repo' (the repository it names "
                                                   "a commit of)");
    p->checkout_worktree = p->keys.checkout == PLAN_CHECKOUT_WORKTREE;
    if (config_lookup(&p->cfg, "checkout") && !p->repo)
        return perr(config_lookup(&p->cfg, "checkout"), "'checkout' needs 'repo'");
    p->max_defers = (int)p->keys.max_defers;
    p->defer_deadline = p->keys.defer_deadline;
    p->state_commit_window = p->keys.state_commit_window;
    p->registry_dir = xstrdup(p->keys.registry_dir);
    p->baseline_path =
        p->keys.baseline ? xstrdup(p->keys.baseline) : path_join(p->state_dir, "baseline.json");
    p->require_baseline = p->keys.require_baseline;
    p->monitor_profile = p->keys.monitor_profile ? xstrdup(p->keys.monitor_profile) : NULL;
    plugin_dirs(p);
    return 0;
}

/* The release: its version (--release, the plan's, or picked), template variables. */
static int open_version(const plan_options *o, plan *p)
{
    int rc;
    char *v = xstrdup(o->version ? o->version : p->keys.version);
    if (strcmp(v, "auto") == 0 && !o->any_release) {
        free(v);
        v = NULL;
        if ((rc = pick_version(p, o->new_release, o->newest, &v)) != 0)
            return rc;
    }
    p->version = v;
    if (!plan_version_valid(v)) {
        config_setting_t *vs = config_lookup(&p->cfg, "version");
        char *w = !o->version && vs ? where_of(vs) : xstrdup("--release");
        rc = error_set(RELHOST_EINVAL,
                       "%s: release version \"%s\" is not valid: use "
                       "[0-9A-Za-z][0-9A-Za-z._-]{0,63}, no \"..\", not ending in \".lock\" (it "
                       "becomes a path and a git ref)",
                       w, v);
        free(w);
        return rc;
    }
    template_set("version", v);
    return 0;
}

int plan_open(const plan_options *o, plan *p)
{
    int rc;
    if ((rc = open_version(o, p)) != 0)
        return rc;
    if (o->no_plugins)
        return 0; /* the commands that only read a release need nothing below (issue: a broken
                     plugin must not make a past release unreadable) */
    /* The candidate commit is known before any option is filled, so {commit} expands. */
    if (o->commit) {
        p->commit = xstrdup(o->commit); /* monitor: the last green release's commit */
        template_set("commit", p->commit);
    } else if (p->repo) {
        if ((rc = candidate_resolve(p, &p->commit)) != 0)
            return rc;
        template_set("commit", p->commit);
    }
    loader_scan(&p->ld, (const char *const *)p->plugin_path.v, p->plugin_path.n, o->host);
    set_registry_templates(p);
    if ((rc = load_group_of_instances(p, "runners", "runner", &p->runners, &p->nrunners)) != 0)
        return rc;
    if ((rc = load_group_of_instances(p, "metrics", "metrics source", &p->metrics, &p->nmetrics)) !=
        0)
        return rc;
    if ((rc = plan_load_steps(p)) != 0)
        return rc;
    if ((rc = plan_load_profiles(p)) != 0)
        return rc;
    if (p->monitor_profile && !plan_find_profile(p, p->monitor_profile))
        return perr(config_lookup(&p->cfg, "monitor_profile"),
                    "monitor_profile \"%s\" names no profile of the plan's 'profiles'",
                    p->monitor_profile);
    for (size_t i = 0; i < p->nrunners; i++)
        if ((rc = resolve_refs(p, &p->runners[i])) != 0)
            return rc;
    for (size_t i = 0; i < p->nmetrics; i++)
        if ((rc = resolve_refs(p, &p->metrics[i])) != 0)
            return rc;
    for (size_t i = 0; i < p->nsteps; i++)
        if ((rc = resolve_refs(p, &p->steps[i].inst)) != 0)
            return rc;
    if (!o->in_server)
        isolate_setup(p, o);
    /* Every value and its file:line is in the filled confs: the text and the tree go. */
    plan_slices_free(p->slices);
    p->slices = NULL;
    config_destroy(&p->cfg);
    config_init(&p->cfg);
    return 0;
}

int plan_load(const plan_options *o, plan *p)
{
    /* A big plan takes seconds to read. Until it is read nothing needs a clean stop (no state
     * is open, no job runs), so SIGINT, SIGTERM and SIGHUP end relhost at once, as before it
     * started; the loop (core/run/loop.c) blocks them for its signalfd, which would make a
     * Ctrl-C wait for the whole load. */
    sigset_t stops, old;
    int rc;
    sigemptyset(&stops);
    sigaddset(&stops, SIGINT);
    sigaddset(&stops, SIGTERM);
    sigaddset(&stops, SIGHUP);
    sigprocmask(SIG_UNBLOCK, &stops, &old);
    rc = plan_parse(o, p);
    if (rc == 0)
        rc = plan_open(o, p);
    sigprocmask(SIG_SETMASK, &old, NULL);
    return rc;
}

static void instance_free(plan_instance *in)
{
    free(in->name);
    free(in->conf);
    optstore_free(in->store);
    free(in->where);
}

void plan_free(plan *p)
{
    isolate_forget(p);
    optstore_free(p->keys_store);
    for (size_t i = 0; i < p->nrunners; i++)
        instance_free(&p->runners[i]);
    for (size_t i = 0; i < p->nmetrics; i++)
        instance_free(&p->metrics[i]);
    for (size_t i = 0; i < p->nsteps; i++) {
        instance_free(&p->steps[i].inst);
        free(p->steps[i].description);
    }
    for (size_t i = 0; i < p->nprofiles; i++) {
        free(p->profiles[i].name);
        sv_free(&p->profiles[i].members);
    }
    free(p->runners);
    free(p->metrics);
    free(p->steps);
    free(p->profiles);
    loader_free(&p->ld);
    sv_free(&p->plugin_path);
    free(p->path);
    free(p->dir);
    free(p->name);
    free(p->version);
    free(p->state_dir);
    free(p->log_dir);
    free(p->state_dir_where);
    free(p->registry_dir);
    free(p->baseline_path);
    free(p->monitor_profile);
    free(p->log_dir_where);
    free(p->repo);
    free(p->ref);
    free(p->commit);
    free(p->hash);
    config_destroy(&p->cfg);
    plan_slices_free(p->slices);
    memset(p, 0, sizeof *p);
}

const char *plan_where(const plan_instance *in)
{
    /* made once and kept by the instance, like a filled value (the cast: a cache) */
    if (!in->where)
        ((plan_instance *)in)->where = options_loc_text(in->loc);
    return in->where;
}

const plan_step *plan_find_step(const plan *p, const char *name)
{
    for (size_t i = 0; i < p->nsteps; i++)
        if (p->steps[i].inst.name && strcmp(p->steps[i].inst.name, name) == 0)
            return &p->steps[i];
    return NULL;
}

static const plan_instance *find_instance(const plan_instance *v, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i].name, name) == 0)
            return &v[i];
    return NULL;
}

const plan_instance *plan_find_runner(const plan *p, const char *name)
{
    return find_instance(p->runners, p->nrunners, name);
}

const plan_instance *plan_find_metrics(const plan *p, const char *name)
{
    return find_instance(p->metrics, p->nmetrics, name);
}

const plan_profile *plan_find_profile(const plan *p, const char *name)
{
    for (size_t i = 0; i < p->nprofiles; i++)
        if (strcmp(p->profiles[i].name, name) == 0)
            return &p->profiles[i];
    return NULL;
}
