/* SPDX-License-Identifier: MIT */
#include "plan/loader.h"

#include "base/error.h"
#include "base/log.h"
#include "base/secrets.h"
#include "base/trust.h"
#include "plan/keycheck.h"
#include "plan/options.h"
#include "run/guard.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void load_one_unguarded(loaded_plugin *lp, const relhost_host *host);

/* Loading runs the plugin's code (its constructors, its entry point): guarded like every call
 * into it, so an exit() or a crash there is named, never a silent exit 0. */
static void load_one(loaded_plugin *lp, const relhost_host *host)
{
    int g = guard_enter(lp->stem, "load", NULL);
    load_one_unguarded(lp, host);
    guard_leave(g);
}

static void load_one_unguarded(loaded_plugin *lp, const relhost_host *host)
{
    relhost_plugin_entry_fn entry;
    const relhost_plugin *d = NULL;
    size_t sz;
    int rc;
    void *sym;

    lp->dl = dlopen(lp->path, RTLD_NOW | RTLD_LOCAL);
    if (!lp->dl) {
        lp->error = xasprintf("cannot load %s: %s", lp->path, dlerror());
        return;
    }
    sym = dlsym(lp->dl, RELHOST_ENTRY_SYMBOL);
    if (!sym) {
        lp->error = xasprintf("%s is not a relhost plugin: it exports no %s() (see "
                              "relhost/plugin.h)",
                              lp->path, RELHOST_ENTRY_SYMBOL);
        return;
    }
    memcpy(&entry, &sym, sizeof entry);
    rc = entry(host, &d);
    if (rc != 0 || !d) {
        lp->error = xasprintf("%s: its %s() refused to load (returned %d)", lp->path,
                              RELHOST_ENTRY_SYMBOL, rc);
        return;
    }
    if (d->abi_major != RELHOST_ABI_MAJOR || d->abi_minor > RELHOST_ABI_MINOR) {
        lp->error = xasprintf("%s: plugin ABI mismatch: wanted %d.x (up to %d.%d), got %u.%u; "
                              "rebuild it against this relhost's relhost/plugin.h",
                              lp->path, RELHOST_ABI_MAJOR, RELHOST_ABI_MAJOR, RELHOST_ABI_MINOR,
                              d->abi_major, d->abi_minor);
        return;
    }
    sz = d->struct_size < sizeof lp->desc ? d->struct_size : sizeof lp->desc;
    if (sz < offsetof(relhost_plugin, runner) + sizeof(void *)) {
        lp->error = xasprintf("%s: descriptor is %zu bytes, too small for ABI 1.0", lp->path,
                              d->struct_size);
        return;
    }
    memcpy(&lp->desc, d, sz);
    if (!lp->desc.name || !*lp->desc.name) {
        lp->error = xasprintf("%s: descriptor has no name", lp->path);
        return;
    }
    if (strcmp(lp->desc.name, lp->stem) != 0) {
        /* A plugin is found by its file name, so that only the plugins a plan uses are ever
         * opened: a file named otherwise would be found by no plan. */
        lp->error = xasprintf("%s declares plugin \"%s\": a plugin's file is named after it; "
                              "rename the file %s.so",
                              lp->path, lp->desc.name, lp->desc.name);
        return;
    }
    if (lp->desc.options && lp->desc.option_size == 0) {
        lp->error = xasprintf("%s: descriptor has options but option_size 0", lp->path);
        return;
    }
    if (!lp->desc.gate && !lp->desc.metrics && !lp->desc.runner) {
        lp->error = xasprintf("%s: plugin %s offers no capability (gate, metrics or runner)",
                              lp->path, lp->desc.name);
        return;
    }
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every installed plugin's secret variables are sealed, used by the plan or not: a job never
 * inherits ASANA_TOKEN because the plan happens to lack an asana step. A short value is sealed
 * but not masked; names that look secret were warned about already (secrets_seal_environ). */
static void seal_plugin_secrets(const loaded_plugin *lp)
{
    strvec shorts = {0};
    options_seal_defaults(&lp->desc, &shorts);
    for (size_t i = 0; i < shorts.n; i++)
        if (!secrets_name_looks_secret(shorts.v[i]))
            log_msg(RELHOST_LOG_WARN, NULL,
                    "%s (plugin %s's secret variable) holds fewer than %d bytes: no process "
                    "relhost starts gets it, but it is too short to mask in output",
                    shorts.v[i], lp->desc.name, SECRETS_MIN_LEN);
    sv_free(&shorts);
}

/* A usable plugin's name: opened without error. */
static const char *usable_name(const loaded_plugin *lp)
{
    return lp->opened && !lp->error ? lp->desc.name : NULL;
}

/* Shadowing by earlier folders (entries are in folder order). One folder cannot hold two
 * plugins of one name: a plugin's file is named after it. */
static void mark_names(loader *ld)
{
    for (size_t a = 0; a < ld->n; a++) {
        const char *na = usable_name(&ld->v[a]);
        ld->v[a].shadowed = 0;
        for (size_t b = 0; na && b < a; b++) {
            const char *nb = usable_name(&ld->v[b]);
            if (nb && strcmp(na, nb) == 0 && strcmp(ld->v[a].dir, ld->v[b].dir) != 0)
                ld->v[a].shadowed = 1;
        }
    }
}

/* dlopen one file found by the scan (its constructors run now), checked first. */
static void open_entry(loader *ld, loaded_plugin *lp)
{
    struct stat st;
    if (lp->opened)
        return;
    lp->opened = 1;
    if (stat(lp->path, &st) != 0) {
        lp->error = xasprintf("cannot stat %s: %s", lp->path, strerror(errno));
        return;
    }
    lp->error = trust_code_path(lp->path, &st, 0);
    if (!lp->error)
        load_one(lp, ld->host);
    if (!lp->error)
        seal_plugin_secrets(lp);
    mark_names(ld);
}

void loader_open_all(loader *ld)
{
    for (size_t i = 0; i < ld->n; i++)
        open_entry(ld, &ld->v[i]);
}

void loader_scan(loader *ld, const char *const *dirs, size_t n, const relhost_host *host)
{
    size_t cap = ld->n;
    ld->host = host;
    for (size_t i = 0; i < n; i++) {
        DIR *dir;
        struct dirent *de;
        struct stat st;
        char *dir_err = NULL;
        strvec files = {0};
        int dup_seen = 0;

        for (size_t k = 0; k < ld->dirs.n; k++)
            dup_seen |= strcmp(ld->dirs.v[k], dirs[i]) == 0;
        if (dup_seen)
            continue;
        sv_push(&ld->dirs, dirs[i]);
        if (stat(dirs[i], &st) != 0 || !S_ISDIR(st.st_mode))
            continue;
        dir_err = trust_code_path(dirs[i], &st, 1);
        dir = opendir(dirs[i]);
        if (!dir) {
            free(dir_err);
            continue;
        }
        while ((de = readdir(dir)) != NULL) {
            size_t l = strlen(de->d_name);
            if (l > 3 && strcmp(de->d_name + l - 3, ".so") == 0)
                sv_push(&files, de->d_name);
        }
        closedir(dir);
        if (files.n)
            qsort(files.v, files.n, sizeof *files.v, cmp_names);
        for (size_t f = 0; f < files.n; f++) {
            loaded_plugin *lp;
            if (ld->n == cap) {
                cap = cap ? cap * 2 : 16;
                ld->v = xrealloc(ld->v, cap * sizeof *ld->v);
            }
            lp = &ld->v[ld->n++];
            memset(lp, 0, sizeof *lp);
            lp->dir = xstrdup(dirs[i]);
            lp->path = path_join(dirs[i], files.v[f]);
            lp->stem = xstrndup(files.v[f], strlen(files.v[f]) - 3);
            if (dir_err) {
                lp->error = xstrdup(dir_err);
                lp->opened = 1; /* nothing to open: the folder is refused */
            }
        }
        sv_free(&files);
        free(dir_err);
    }
}

const loaded_plugin *loader_find(loader *ld, const char *name)
{
    strbuf searched;
    const loaded_plugin *broken = NULL;
    /* Only what the name needs is opened: the files called <name>.so along the path. */
    for (size_t i = 0; i < ld->n; i++)
        if (strcmp(ld->v[i].stem, name) == 0)
            open_entry(ld, &ld->v[i]);
    for (size_t i = 0; i < ld->n; i++) {
        const loaded_plugin *lp = &ld->v[i];
        if (!lp->opened)
            continue;
        if (lp->error) {
            if (!broken && strcmp(lp->stem, name) == 0)
                broken = lp;
            continue;
        }
        if (strcmp(lp->desc.name, name) != 0)
            continue;
        if (broken) /* a file named <name>.so in an earlier folder is broken: say so */
            break;
        return lp;
    }
    if (broken) {
        error_set(RELHOST_EINVAL, "plugin \"%s\": %s", name, broken->error);
        return NULL;
    }
    sb_init(&searched);
    for (size_t i = 0; i < ld->dirs.n; i++)
        sb_printf(&searched, "%s%s", i ? ", " : "", ld->dirs.v[i]);
    {
        /* the nearest of the files found, by their names (a descriptor's name is its file's) */
        strvec stems = {0};
        char *hint;
        for (size_t i = 0; i < ld->n; i++)
            sv_push(&stems, ld->v[i].stem);
        hint = keycheck_hint(name, (const char *const *)stems.v, stems.n, NULL, NULL);
        error_set(RELHOST_ENOTFOUND,
                  "plugin \"%s\" not found%s; searched: %s for %s.so (add its folder to "
                  "plugin_path or RELHOST_PLUGIN_PATH; `relhost plugins` lists what is found)",
                  name, hint, searched.len ? searched.s : "(no folders)", name);
        free(hint);
        sv_free(&stems);
    }
    sb_free(&searched);
    return NULL;
}

void loader_free(loader *ld)
{
    for (size_t i = 0; i < ld->n; i++) {
        /* dlclose is skipped on purpose: ASan reports leaks in unloaded modules without
         * symbols, and the process is about to end anyway. */
        free(ld->v[i].path);
        free(ld->v[i].dir);
        free(ld->v[i].stem);
        free(ld->v[i].error);
    }
    free(ld->v);
    sv_free(&ld->dirs);
    memset(ld, 0, sizeof *ld);
}

/* relhost's own plugin folders: the build's (when running from the build tree) or the one
 * installed beside the binary, then the install folder. */
static void own_dirs(strvec *out)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        char *d, *bd;
        exe[n] = '\0';
        d = path_dirname(exe);
        bd = path_dirname(RELHOST_BUILD_PLUGIN_DIR);
        if (strncmp(d, bd, strlen(bd)) == 0) {
            sv_push(out, RELHOST_BUILD_PLUGIN_DIR);
        } else {
            /* Installed: the plugins installed beside this binary (an installation moved to
             * another prefix still finds its own plugins). */
            char *rel = path_absolute(RELHOST_PLUGIN_DIR_FROM_BIN, d);
            if (strcmp(rel, RELHOST_INSTALL_PLUGIN_DIR) != 0)
                sv_push(out, rel);
            free(rel);
        }
        free(d);
        free(bd);
    }
    sv_push(out, RELHOST_INSTALL_PLUGIN_DIR);
}

void loader_default_dirs(strvec *out)
{
    const char *env = getenv("RELHOST_PLUGIN_PATH");
    if (env && *env) {
        const char *p = env;
        while (*p) {
            size_t l = strcspn(p, ":");
            if (l)
                sv_push_take(out, xstrndup(p, l));
            p += l + (p[l] == ':');
        }
    }
    own_dirs(out);
}

int loader_is_own(const loaded_plugin *lp)
{
    strvec own = {0};
    char *dir, *d;
    int hit = 0;
    if (!lp || !lp->dir || !(dir = realpath(lp->dir, NULL)))
        return 0;
    own_dirs(&own);
    for (size_t i = 0; i < own.n && !hit; i++)
        if ((d = realpath(own.v[i], NULL))) {
            hit = strcmp(d, dir) == 0;
            free(d);
        }
    free(dir);
    sv_free(&own);
    return hit;
}
