/* SPDX-License-Identifier: MIT */
/*
 * metrics_wandb: the local run folder (run_dir): the run id in its name, and its
 * files/wandb-summary.json as the run's summary.
 */
#include "../common/pl_host.h"
#include "../common/pl_file.h"
#include "metrics_wandb_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- The local run folder -------------------------------------------------------------------- */

/* The id in "run-20251002_120000-<id>" or "offline-run-20251002_120000-<id>". */
static void wb_dir_name_id(struct wb_collect *c, const char *name)
{
    const char *p = name;
    c->dir_offline = strncmp(p, "offline-", 8) == 0;
    if (c->dir_offline)
        p += 8;
    if (strncmp(p, "run-", 4) != 0)
        return;
    p += 4;
    for (int i = 0; i < 15; i++)
        if (i == 8 ? p[i] != '_' : !(p[i] >= '0' && p[i] <= '9'))
            return;
    if (p[15] != '-' || !wb_valid_name(p + 16))
        return;
    snprintf(c->dir_id, sizeof(c->dir_id), "%s", p + 16);
}

static int wb_read_file(struct wb_collect *c, const char *path, char **out, size_t *n)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    *out = NULL;
    if (fd < 0)
        return -errno;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > WB_FILE_MAX) {
        close(fd);
        return S_ISREG(st.st_mode) ? -EFBIG : -EINVAL;
    }
    char *b = malloc((size_t)st.st_size + 1);
    if (b == NULL) {
        close(fd);
        return -ENOMEM;
    }
    size_t got = pl_pread_all(fd, b, (size_t)st.st_size, 0);
    close(fd);
    b[got] = '\0';
    *out = b;
    *n = got;
    (void)c;
    return 0;
}

/*
 * Look at run_dir: its name gives a run id; files/wandb-summary.json, when present, is the
 * summary. An offline run may never have written one: that is an error (the API has not seen an
 * unsynced run either), while an online run without one falls back to the API.
 */
int wb_open_run_dir(struct wb_collect *c)
{
    struct stat st;
    char real[PATH_MAX];
    int rc = wb_expand(c, c->conf->run_dir, "run_dir", &c->run_dir);
    if (rc != 0)
        return rc;
    int st_rc = stat(c->run_dir, &st), st_errno = errno;
    if (st_rc != 0 || !S_ISDIR(st.st_mode)) {
        pl_host->fail(c->ctx,
                      "W&B run_dir %s %s; point run_dir at the wandb/run-<date>-<id> folder "
                      "the job wrote (relative paths are relative to the plan's folder)",
                      c->run_dir,
                      st_rc == 0           ? "is not a folder"
                      : st_errno == ENOENT ? "does not exist"
                                           : strerror(st_errno));
        return RELHOST_ENOTFOUND;
    }
    /* wandb/latest-run is a symlink: the real folder's name holds the id */
    if (realpath(c->run_dir, real) != NULL) {
        const char *slash = strrchr(real, '/');
        wb_dir_name_id(c, slash != NULL ? slash + 1 : real);
    }
    snprintf(c->summary_file, sizeof(c->summary_file), "%s/files/wandb-summary.json", c->run_dir);
    char *text = NULL;
    size_t n = 0;
    int e = wb_read_file(c, c->summary_file, &text, &n);
    if (e == -ENOENT) {
        if (c->dir_offline) {
            pl_host->fail(
                c->ctx,
                "offline W&B run %s has no files/wandb-summary.json (offline runs "
                "may not write it); sync the run (wandb sync %s) and drop run_dir so relhost "
                "reads it from the W&B API",
                c->run_dir, c->run_dir);
            return RELHOST_ENOTFOUND;
        }
        pl_host->note_add(c->ctx,
                          "W&B run_dir %s has no files/wandb-summary.json; reading the run "
                          "from the W&B API",
                          c->run_dir);
        return 0;
    }
    if (e != 0) {
        pl_host->fail(c->ctx, "cannot read W&B summary %s: %s", c->summary_file, strerror(-e));
        return RELHOST_EIO;
    }
    json_error_t jerr;
    c->summary = wb_json_parse(text, n, &jerr);
    free(text);
    if (c->summary == NULL || !json_is_object(c->summary)) {
        pl_host->fail(c->ctx,
                      "W&B summary %s is not a JSON object (%s, line %d); the run may still "
                      "be writing it",
                      c->summary_file, c->summary ? "an array" : jerr.text, jerr.line);
        return RELHOST_EINVAL;
    }
    c->summary_from_file = 1;
    return 0;
}
