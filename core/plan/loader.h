/* SPDX-License-Identifier: MIT */
/*
 * loader.h - finds plugins on the search path, dlopen()s them (RTLD_NOW | RTLD_LOCAL), calls
 * their entry with the host table and checks the ABI. Search order: the plan's plugin_path, then
 * $RELHOST_PLUGIN_PATH (colon list), then the build folder (when relhost runs from its build tree)
 * and the install folder. A plugin's file is named after the plugin (<name>.so; a file declaring
 * another name is refused), so a name found in an earlier folder shadows later ones and one
 * folder cannot hold two plugins of one name. A file or folder writable by group or others, or
 * owned by another user than root or us, or below a folder that is, is refused
 * (core/base/trust.h).
 *
 * Only what a command needs is dlopen()ed: a plan's plugin `x` opens the files named x.so along
 * the path, so no other plugin's constructors run; `relhost plugins` opens them all.
 * Installed plugins that are not opened are not asked for their secret variables: those are
 * sealed by their names (core/base/secrets.h), as every variable whose name looks secret is.
 */
#ifndef RELHOST_LOADER_H
#define RELHOST_LOADER_H

#include "base/util.h"

#include <relhost/plugin.h>

typedef struct loaded_plugin {
    char *path; /**< the .so */
    char *dir;  /**< its folder, as searched */
    char *stem; /**< file name without .so */
    void *dl;
    relhost_plugin desc; /**< copied, zero-padded past the plugin's struct_size */
    char *error;         /**< non-NULL: this file could not be used, and why */
    int shadowed;        /**< an earlier folder has a plugin of the same name */
    int opened;          /**< dlopen()ed (or refused): desc is valid when error is NULL */
} loaded_plugin;

typedef struct loader {
    const relhost_host *host;
    strvec dirs;
    loaded_plugin *v;
    size_t n;
} loader;

/** Scan every folder (missing folders are skipped) for .so files; nothing is dlopen()ed yet
 *  (a plugin's constructors run only when a command needs it). Never fails. */
void loader_scan(loader *ld, const char *const *dirs, size_t n, const relhost_host *host);
/** dlopen every file scanned (`relhost plugins` lists them all); broken files are recorded. */
void loader_open_all(loader *ld);

/**
 * The plugin called `name`, or NULL with error_last() set to one clear line: not found (naming
 * the folders searched), not a relhost plugin, ABI mismatch, a file declaring another name, unsafe permissions.
 */
const loaded_plugin *loader_find(loader *ld, const char *name);

void loader_free(loader *ld);

/** 1 when lp was found in relhost's own plugin folder (the build's or the installation's), not
 *  in a folder of the plan's plugin_path or $RELHOST_PLUGIN_PATH: its instances run inside
 *  relhost unless the plan says isolate = true (core/isolate/isolate.h). */
int loader_is_own(const loaded_plugin *lp);

/** The default folders after the plan's: $RELHOST_PLUGIN_PATH, build dir, install dir. */
void loader_default_dirs(strvec *out);

#endif
