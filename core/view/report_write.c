/* SPDX-License-Identifier: MIT */
/*
 * report_write.c - the command line's way to a report: a format by name, rendered in memory,
 * masked once more, then written to a file (temp + rename, or appended) or stdout.
 */
#include "view/report_files.h"

#include "base/error.h"
#include "base/secrets.h"
#include "base/util.h"

#include <relhost/plugin.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int fail(char **err, int code, const char *what)
{
    error_set(code, "%s", what);
    if (err)
        *err = xstrdup(error_last());
    return code;
}

report_format report_format_parse(const char *name)
{
    if (!name)
        return REPORT_NONE;
    if (strcmp(name, "junit") == 0 || strcmp(name, "xml") == 0)
        return REPORT_JUNIT;
    if (strcmp(name, "json") == 0)
        return REPORT_JSON;
    if (strcmp(name, "md") == 0 || strcmp(name, "markdown") == 0)
        return REPORT_MD;
    return REPORT_NONE;
}

int report_write(report_format fmt, json_t *state_root, const char *repo, const char *path,
                 int flags, char **err)
{
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    int rc, fd;
    char *tmp = NULL;

    if (err)
        *err = NULL;
    if (!mem)
        return fail(err, RELHOST_EIO, "cannot render the report: out of memory");
    switch (fmt) {
    case REPORT_JUNIT: rc = report_junit(state_root, mem, err); break;
    case REPORT_JSON: rc = report_json(state_root, mem, err); break;
    case REPORT_MD: rc = report_md(state_root, repo, mem, err); break;
    default: rc = fail(err, RELHOST_EINVAL, "unknown report format; use junit, json or md");
    }
    if (fclose(mem) != 0 && rc == 0)
        rc = fail(err, RELHOST_EIO, "cannot render the report: out of memory");
    if (rc != 0) {
        free(text);
        return rc;
    }
    {
        /* The renderers mask every string before they escape it; the whole document is masked
         * once more, so a renderer's slip (a raw link target, a value cut before it was
         * masked) is caught here, before a byte leaves. */
        strbuf red;
        sb_init(&red);
        secrets_redact(&red, text ? text : "", len);
        free(text);
        len = red.len;
        text = sb_take(&red);
    }
    if (!path || strcmp(path, "-") == 0) {
        rc = fwrite(text, 1, len, stdout) == len && fflush(stdout) == 0
                 ? 0
                 : fail(err, RELHOST_EIO, "cannot write the report to stdout");
        free(text);
        return rc;
    }
    if (flags & REPORT_APPEND) {
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    } else {
        tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    }
    rc = 0;
    if (fd < 0) {
        rc = -errno;
    } else {
        int e = write_all(fd, text, len) != 0 ? errno : 0;
        if (close(fd) != 0 && e == 0)
            e = errno;
        rc = -e;
    }
    if (rc != 0) {
        rc = error_set(RELHOST_EIO,
                       "cannot write the report to %s: %s; check that its folder "
                       "exists and is writable",
                       path, strerror(-rc));
    } else if (tmp && rename(tmp, path) != 0) {
        rc = error_set(RELHOST_EIO, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
    }
    if (rc != 0 && tmp)
        unlink(tmp);
    if (rc != 0 && err)
        *err = xstrdup(error_last());
    free(tmp);
    free(text);
    return rc;
}
