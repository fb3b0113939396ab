/* SPDX-License-Identifier: MIT */
/*
 * report_write.c - the command line's way to a report: a format by name, rendered and masked
 * once more chunk by chunk, written to a file as it goes (temp + rename), or held until rendered
 * whole when appended or written to stdout.
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

/* Where the rendered text goes: masked chunk by chunk as the renderer writes it (the stream
 * holds back only a secret's length between chunks), then written to fd at once, or kept in
 * `out` when fd < 0 (stdout and appends: nothing goes out before the whole report rendered). */
typedef struct sink {
    secrets_stream st;
    strbuf out;
    int fd, err;
} sink;

static int sink_flush(sink *k)
{
    if (k->fd >= 0 && k->out.len) {
        if (write_all(k->fd, k->out.s, k->out.len) != 0 && k->err == 0)
            k->err = errno ? errno : EIO;
        k->out.len = 0;
        k->out.s[0] = '\0';
    }
    return k->err;
}

static ssize_t sink_write(void *cookie, const char *buf, size_t size)
{
    sink *k = cookie;
    secrets_stream_feed(&k->st, &k->out, buf, size);
    if (sink_flush(k) != 0) {
        errno = k->err;
        return -1;
    }
    return (ssize_t)size;
}

static int render(report_format fmt, json_t *state_root, const char *repo, sink *k, char **err)
{
    cookie_io_functions_t io = {.write = sink_write};
    FILE *f = fopencookie(k, "w", io);
    int rc;
    if (!f)
        return fail(err, RELHOST_EIO, "cannot render the report: out of memory");
    secrets_stream_init(&k->st);
    setvbuf(f, NULL, _IOFBF, 64 * 1024);
    switch (fmt) {
    case REPORT_JUNIT: rc = report_junit(state_root, f, err); break;
    case REPORT_JSON: rc = report_json(state_root, f, err); break;
    case REPORT_MD: rc = report_md(state_root, repo, f, err); break;
    default: rc = fail(err, RELHOST_EINVAL, "unknown report format; use junit, json or md");
    }
    if (fclose(f) != 0 && rc == 0 && k->err == 0)
        rc = fail(err, RELHOST_EIO, "cannot render the report: out of memory");
    /* The renderers mask every string before they escape it; the whole document is masked
     * once more, so a renderer's slip (a raw link target, a value cut before it was masked) is
     * caught here, before a byte leaves. */
    secrets_stream_end(&k->st, &k->out);
    sink_flush(k);
    return rc;
}

static int write_stdout(report_format fmt, json_t *state_root, const char *repo, char **err)
{
    sink k = {.fd = -1};
    int rc;
    sb_init(&k.out);
    rc = render(fmt, state_root, repo, &k, err);
    if (rc == 0 && (fwrite(k.out.s, 1, k.out.len, stdout) != k.out.len || fflush(stdout) != 0))
        rc = fail(err, RELHOST_EIO, "cannot write the report to stdout");
    sb_free(&k.out);
    return rc;
}

int report_write(report_format fmt, json_t *state_root, const char *repo, const char *path,
                 int flags, char **err)
{
    sink k = {.fd = -1};
    int rc, e = 0;
    char *tmp = NULL;

    if (err)
        *err = NULL;
    if (!path || strcmp(path, "-") == 0)
        return write_stdout(fmt, state_root, repo, err);
    if (flags & REPORT_APPEND) {
        /* Appended only once rendered whole: a failed render leaves the file as it was. */
        k.fd = -1;
    } else {
        tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
        k.fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (k.fd < 0)
            e = errno;
    }
    sb_init(&k.out);
    rc = e ? 0 : render(fmt, state_root, repo, &k, err);
    if (rc == 0 && e == 0 && (flags & REPORT_APPEND)) {
        k.fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (k.fd < 0)
            e = errno;
        else if (write_all(k.fd, k.out.s, k.out.len) != 0)
            e = errno ? errno : EIO;
    }
    if (e == 0)
        e = k.err;
    if (k.fd >= 0 && close(k.fd) != 0 && e == 0)
        e = errno;
    sb_free(&k.out);
    if (rc == 0 && e != 0) {
        rc = error_set(RELHOST_EIO,
                       "cannot write the report to %s: %s; check that its folder "
                       "exists and is writable",
                       path, strerror(e));
        if (err)
            *err = xstrdup(error_last());
    } else if (rc == 0 && tmp && rename(tmp, path) != 0) {
        rc = error_set(RELHOST_EIO, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
        if (err)
            *err = xstrdup(error_last());
    }
    if (rc != 0 && tmp)
        unlink(tmp);
    free(tmp);
    return rc;
}
