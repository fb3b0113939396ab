/* SPDX-License-Identifier: MIT */
#include "registry/audit.h"

#include "base/error.h"
#include "base/secrets.h"
#include "base/util.h"

#include <relhost/plugin.h>

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void audit_who(char *user, size_t ucap, char *host, size_t hcap)
{
    struct passwd *pw = getpwuid(geteuid());
    const char *u = getenv("SUDO_USER");
    snprintf(user, ucap, "%s", u && *u ? u : (pw ? pw->pw_name : "?"));
    if (gethostname(host, hcap) != 0)
        snprintf(host, hcap, "?");
    host[hcap - 1] = '\0';
}

/* Every string of v (members of objects and arrays, at any depth) masked in place: a reason
 * typed on the command line or a message taken from a server may hold a secret. Strings are
 * masked before they are escaped as JSON, so a secret holding '"' or '\\' is still matched. */
static void redact_strings(json_t *v)
{
    const char *k;
    json_t *m;
    size_t i;
    if (json_is_string(v)) {
        strbuf b;
        sb_init(&b);
        secrets_redact(&b, json_string_value(v), json_string_length(v));
        if (json_string_setn(v, b.s ? b.s : "", b.len) != 0)
            json_string_set(v, SECRETS_MASK); /* never kept unmasked */
        sb_free(&b);
    } else if (json_is_object(v)) {
        json_object_foreach(v, k, m) redact_strings(m);
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, m) redact_strings(m);
    }
}

int audit_append_obj(const char *dir, json_t *o)
{
    char user[128], host[256], ts[32];
    char *path, *line;
    json_t *masked;
    int fd, rc = 0;
    size_t len;
    audit_who(user, sizeof user, host, sizeof host);
    time_iso8601(time_wall(), ts, sizeof ts);
    if (!json_object_get(o, "at"))
        json_object_set_new(o, "at", json_string(ts));
    if (!json_object_get(o, "user"))
        json_object_set_new(o, "user", json_string(user));
    if (!json_object_get(o, "host"))
        json_object_set_new(o, "host", json_string(host));
    masked = json_deep_copy(o);
    redact_strings(masked);
    line = json_dumps(masked, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(masked);
    if (path_mkdirs(dir) != 0) {
        free(line);
        return RELHOST_EIO;
    }
    path = path_join(dir, "audit.jsonl");
    fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0644);
    len = strlen(line);
    line[len] = '\n'; /* json_dumps leaves room for the NUL, which becomes the newline */
    if (fd < 0 || write(fd, line, len + 1) != (ssize_t)(len + 1) || fsync(fd) != 0)
        rc = error_set(RELHOST_EIO, "cannot append to the audit log %s: %s", path, strerror(errno));
    if (fd >= 0)
        close(fd);
    free(path);
    free(line);
    return rc;
}

int audit_append(const char *dir, const char *operation, const char *const *fields, size_t n)
{
    json_t *o = json_object();
    int rc;
    char ts[32];
    time_iso8601(time_wall(), ts, sizeof ts);
    json_object_set_new(o, "at", json_string(ts));
    json_object_set_new(o, "operation", json_string(operation));
    for (size_t i = 0; i < n; i++)
        json_object_set_new(o, fields[2 * i], json_string(fields[2 * i + 1]));
    rc = audit_append_obj(dir, o);
    json_decref(o);
    return rc;
}

int audit_has_id(const char *dir, const char *id)
{
    char *path = path_join(dir, "audit.jsonl");
    FILE *f = fopen(path, "re");
    char *line = NULL, *needle = xasprintf("\"id\":\"%s\"", id);
    size_t cap = 0;
    int found = 0;
    free(path);
    if (!f) {
        free(needle);
        return 0;
    }
    /* The id is unique (time, pid, random): a substring match cannot hit another line. */
    while (!found && getline(&line, &cap, f) > 0)
        found = strstr(line, needle) != NULL;
    free(line);
    free(needle);
    fclose(f);
    return found;
}
