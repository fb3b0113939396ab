/* SPDX-License-Identifier: MIT */
#include "base/secrets.h"
#include "run/freeze.h"

#include "registry/audit.h"

#include "base/error.h"
#include "base/util.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <relhost/plugin.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *freeze_path(const char *state_dir) { return path_join(state_dir, "frozen.json"); }

/* The freeze file of state_dir into out (not cleared): frozen, reason, by, at. */
static int freeze_file(const char *state_dir, freeze_info *out);

int freeze_get(const char *state_dir, freeze_info *out)
{
    const char *env = getenv("RELHOST_FREEZE");
    memset(out, 0, sizeof *out);
    if (env && *env && strcmp(env, "0") != 0) {
        out->frozen = out->from_env = 1;
        snprintf(out->reason, sizeof out->reason, "RELHOST_FREEZE=%s in the environment", env);
    }
    return freeze_file(state_dir, out);
}

int freeze_read_file(const char *state_dir, freeze_info *out)
{
    memset(out, 0, sizeof *out);
    return freeze_file(state_dir, out);
}

static int freeze_file(const char *state_dir, freeze_info *out)
{
    char *path = freeze_path(state_dir);
    json_error_t je;
    json_t *j;
    if (access(path, F_OK) != 0) {
        free(path);
        return 0;
    }
    j = json_load_file(path, 0, &je);
    if (!json_is_object(j) || !json_is_string(json_object_get(j, "reason"))) {
        int rc = error_set(RELHOST_EINVAL,
                           "%s is unreadable (%s): relhost will not guess whether publishing is "
                           "frozen; fix it, or remove it with `relhost unfreeze`",
                           path, j ? "no reason" : je.text);
        json_decref(j);
        free(path);
        return rc;
    }
    out->frozen = 1;
    snprintf(out->reason, sizeof out->reason, "%s",
             json_string_value(json_object_get(j, "reason")));
    snprintf(out->by, sizeof out->by, "%s",
             json_string_value(json_object_get(j, "by"))
                 ? json_string_value(json_object_get(j, "by"))
                 : "?");
    snprintf(out->at, sizeof out->at, "%s",
             json_string_value(json_object_get(j, "at"))
                 ? json_string_value(json_object_get(j, "at"))
                 : "?");
    json_decref(j);
    free(path);
    return 0;
}

int freeze_set(const char *state_dir, const char *audit_dir, const char *reason)
{
    char user[128], host[256], ts[32];
    char *path, *tmp;
    json_t *o = json_object();
    const char *fields[2] = {"reason", reason};
    int rc = 0;
    if (path_mkdirs(state_dir) != 0)
        return RELHOST_EIO;
    audit_who(user, sizeof user, host, sizeof host);
    time_iso8601(time_wall(), ts, sizeof ts);
    {
        char *red = secrets_redact_dup(reason); /* a reason may quote what it is about */
        json_object_set_new(o, "reason", json_string(red));
        free(red);
    }
    json_object_set_new(o, "by", json_string(user));
    json_object_set_new(o, "at", json_string(ts));
    path = freeze_path(state_dir);
    tmp = xasprintf("%s.tmp", path);
    /* temp + rename: a reader sees the old freeze or the new one, never half a file */
    if (json_dump_file(o, tmp, JSON_INDENT(2)) != 0 || rename(tmp, path) != 0)
        rc = error_set(RELHOST_EIO, "cannot write %s: %s", path, strerror(errno));
    json_decref(o);
    free(tmp);
    free(path);
    if (rc == 0)
        rc = audit_append(audit_dir, "freeze", fields, 1);
    return rc;
}

int freeze_clear(const char *state_dir, const char *audit_dir, const char *reason)
{
    char *path = freeze_path(state_dir);
    const char *fields[2] = {"reason", reason ? reason : ""};
    int rc = 0;
    if (unlink(path) != 0 && errno != ENOENT)
        rc = error_set(RELHOST_EIO, "cannot remove %s: %s", path, strerror(errno));
    free(path);
    if (rc == 0)
        rc = audit_append(audit_dir, "unfreeze", fields, 1);
    return rc;
}
