/* SPDX-License-Identifier: MIT */
/*
 * custom_gate.c - a third-party relhost gate, built outside relhost's tree.
 *
 * It needs nothing from relhost but the installed header (pkg-config relhost-plugin) and links
 * nothing: every service comes through the table handed to relhost_plugin_entry(). Copy this
 * folder to start a gate of your own.
 *
 * The gate checks that the file named by `path` exists and contains the text `contains`:
 *   found -> PASSED; file missing or text absent -> FAILED; file unreadable -> ERROR.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memmem */
#endif

#include <relhost/plugin.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The conf struct: relhost parses the plan and stores each option at its row's offset. */
struct custom_gate_conf {
    const char *path;
    const char *contains;
};

/* One instance per plan step. The conf stays valid until close(), so keeping a pointer is fine. */
struct custom_gate {
    const struct custom_gate_conf *conf;
};

/* The host's services, kept from the entry call; the same table serves every instance. */
static const relhost_host *host;

static const relhost_option custom_gate_options[] = {
    {.name = "path",
     .type = RELHOST_OPT_STRING,
     .required = 1,
     .offset = offsetof(struct custom_gate_conf, path),
     .doc = "the file to check; a relative path is relative to the plan's folder",
     .flags = RELHOST_OPTF_PATH},
    {.name = "contains",
     .type = RELHOST_OPT_STRING,
     .required = 1,
     .offset = offsetof(struct custom_gate_conf, contains),
     .doc = "text the file must contain"},
    {0},
};

/* open(): validate the conf and build the instance. It must contact nothing and write nothing:
 * `relhost --check` calls it too. */
static int custom_gate_open(const relhost_ctx *ctx, const void *conf, void **inst)
{
    const struct custom_gate_conf *c = conf;
    struct custom_gate *g;

    if (c->contains[0] == '\0') {
        host->fail(ctx, "%s: contains is empty: give the text the file must contain",
                   host->where(ctx, &c->contains));
        return RELHOST_EINVAL;
    }
    g = calloc(1, sizeof *g);
    if (g == NULL) {
        host->fail(ctx, "custom_gate: out of memory");
        return RELHOST_ENOMEM;
    }
    g->conf = c;
    *inst = g;
    return 0;
}

/* describe(): what run() would do, as notes, with no side effects. */
static int custom_gate_describe(const relhost_ctx *ctx, void *inst)
{
    struct custom_gate *g = inst;

    host->note_add(ctx, "would check that %s contains \"%s\"", g->conf->path, g->conf->contains);
    return 0;
}

/* Search the file in chunks, keeping the last len-1 bytes of each chunk in front of the next, so
 * a match across a chunk boundary is found and memory stays bounded whatever the file's size.
 * Returns 1 found, 0 not found, -1 read error (errno set). */
static int file_contains(int fd, const char *needle, size_t len)
{
    enum { CHUNK = 64 * 1024 };
    char *buf = malloc(CHUNK + len);
    size_t kept = 0;
    int found = 0;

    if (buf == NULL) {
        errno = ENOMEM;
        return -1;
    }
    for (;;) {
        ssize_t n = read(fd, buf + kept, CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            found = -1;
            break;
        }
        if (n == 0)
            break;
        size_t have = kept + (size_t)n;
        if (memmem(buf, have, needle, len) != NULL) {
            found = 1;
            break;
        }
        kept = have < len - 1 ? have : len - 1;
        memmove(buf, buf + have - kept, kept);
    }
    int saved = errno;
    free(buf);
    errno = saved;
    return found;
}

/* run(): do the check and fill the verdict. A verdict is never a return code: return 0 with
 * out->outcome set, or a negative RELHOST_E* (after host->fail) when the gate itself broke. */
static int custom_gate_run(const relhost_ctx *ctx, void *inst, relhost_verdict *out)
{
    struct custom_gate *g = inst;
    const char *path = g->conf->path;
    const char *text = g->conf->contains;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0 && errno == ENOENT) {
        host->note_add(ctx, "%s does not exist", path);
        out->outcome = RELHOST_FAILED;
        out->reason = "missing";
        return 0;
    }
    if (fd < 0) {
        /* We could not find out: a tool error, not a verdict on the release. */
        host->note_add(ctx, "cannot open %s: %s", path, strerror(errno));
        out->outcome = RELHOST_ERROR;
        out->reason = "tool_error";
        out->retryable = 0;
        return 0;
    }
    int found = file_contains(fd, text, strlen(text));
    int err = errno;
    close(fd);

    if (found < 0) {
        host->note_add(ctx, "cannot read %s: %s", path, strerror(err));
        out->outcome = RELHOST_ERROR;
        out->reason = "tool_error";
        out->retryable = 0;
    } else if (found) {
        host->note_add(ctx, "%s contains \"%s\"", path, text);
        out->outcome = RELHOST_PASSED;
    } else {
        host->note_add(ctx, "%s does not contain \"%s\"", path, text);
        out->outcome = RELHOST_FAILED;
        out->reason = "no_match";
    }
    return 0;
}

/* close(): called exactly once after every successful open(); free what open() allocated. */
static void custom_gate_close(void *inst) { free(inst); }

static const relhost_gate_ops custom_gate_gate = {
    .struct_size = sizeof(relhost_gate_ops),
    .open = custom_gate_open,
    .describe = custom_gate_describe,
    .run = custom_gate_run,
    .close = custom_gate_close,
};

/* The descriptor: RELHOST_PLUGIN_HEADER records the ABI this file was compiled against, so an
 * older relhost refuses it cleanly instead of misreading it. */
static const relhost_plugin custom_gate_plugin = {
    RELHOST_PLUGIN_HEADER,
    .name = "custom_gate",
    .version = "1.0.0",
    .description = "example: a file exists and contains a text",
    .options = custom_gate_options,
    .option_size = sizeof(relhost_option),
    .conf_size = sizeof(struct custom_gate_conf),
    .gate = &custom_gate_gate,
};

/* The one exported symbol; everything else in this file is static, and the build hides the rest
 * (-fvisibility=hidden). */
RELHOST_EXPORT int relhost_plugin_entry(const relhost_host *h, const relhost_plugin **out)
{
    host = h;
    *out = &custom_gate_plugin;
    return 0;
}
