/* SPDX-License-Identifier: MIT */
/*
 * metrics_wandb: feed(). The host feeds the job's log; we only look for the run's URL in it,
 * line by line in constant memory, keeping the LAST one (a restarted job starts a new run and
 * prints a new URL).
 */
#include "metrics_wandb_int.h"

#include <string.h>

/* ---- URLs ------------------------------------------------------------------------------------ */

/*
 * Parse "http[s]://host[:port]" at s: the authority goes to auth (lower case, without the
 * scheme's default port). Returns the bytes consumed, or 0 when s is no http(s) origin.
 */
size_t wb_parse_origin(const char *s, size_t n, char *auth, size_t cap)
{
    size_t i;
    int https;
    if (n >= 8 && wb_ieq(s, "https://", 8)) {
        https = 1;
        i = 8;
    } else if (n >= 7 && wb_ieq(s, "http://", 7)) {
        https = 0;
        i = 7;
    } else {
        return 0;
    }
    size_t a = i;
    while (i < n && (wb_alnum((unsigned char)s[i]) || s[i] == '.' || s[i] == '-' || s[i] == ':' ||
                     s[i] == '[' || s[i] == ']' || s[i] == '_'))
        i++;
    size_t len = i - a;
    if (len == 0 || len >= cap)
        return 0;
    for (size_t k = 0; k < len; k++)
        auth[k] = (char)wb_lower((unsigned char)s[a + k]);
    auth[len] = '\0';
    const char *dp = https ? ":443" : ":80";
    size_t dl = strlen(dp);
    if (len > dl && memcmp(auth + len - dl, dp, dl) == 0)
        auth[len - dl] = '\0';
    return i;
}

int wb_public_cloud(const char *auth)
{
    return strcmp(auth, "wandb.ai") == 0 || strcmp(auth, "app.wandb.ai") == 0 ||
           strcmp(auth, "api.wandb.ai") == 0;
}

/* Hosts whose run URLs we take: W&B's own, and the configured server's (self-hosted W&B prints
 * its own address). Any other host's ".../runs/..." is someone else's URL. */
static int wb_known_host(const struct metrics_wandb *inst, const char *auth)
{
    return strcmp(auth, "wandb.ai") == 0 || strcmp(auth, "app.wandb.ai") == 0 ||
           strcmp(auth, inst->auth) == 0;
}

/* s points at "http"; remember the run if s starts a run URL on a known host. */
static void wb_try_url(struct metrics_wandb_job *job, const char *s, size_t n)
{
    char auth[WB_AUTH_MAX];
    const char *seg[3];
    size_t len[3];
    size_t i = wb_parse_origin(s, n, auth, sizeof(auth));
    if (i == 0 || !wb_known_host(job->inst, auth))
        return;
    for (int k = 0; k < 3; k++) {
        if (i >= n || s[i] != '/')
            return;
        i++;
        if (k == 2) {
            if (n - i < 5 || memcmp(s + i, "runs/", 5) != 0)
                return;
            i += 5;
        }
        seg[k] = s + i;
        while (i < n && wb_name_char((unsigned char)s[i]))
            i++;
        len[k] = (size_t)(s + i - seg[k]);
        if (k == 2) {
            /* "... runs/abc123." ends a sentence: the dot is not the id's */
            while (len[k] > 0 && seg[k][len[k] - 1] == '.')
                len[k]--;
        }
        if (len[k] == 0 || len[k] > WB_NAME_MAX)
            return;
    }
    size_t url_len = (size_t)(seg[2] + len[2] - s);
    if (url_len > WB_URL_MAX)
        return;
    struct wb_url *u = &job->last;
    if (job->n_urls > 0 && (strlen(u->id) != len[2] || memcmp(u->id, seg[2], len[2]) != 0))
        job->several_runs = 1;
    memcpy(u->entity, seg[0], len[0]);
    u->entity[len[0]] = '\0';
    memcpy(u->project, seg[1], len[1]);
    u->project[len[1]] = '\0';
    memcpy(u->id, seg[2], len[2]);
    u->id[len[2]] = '\0';
    memcpy(u->url, s, url_len);
    u->url[url_len] = '\0';
    if (job->n_urls++ == 0)
        job->first = *u;
}

/* One log line (no terminator): every run URL in it, left to right. */
void wb_scan_line(struct metrics_wandb_job *job, const char *s, size_t n)
{
    if (n < 20 || memmem(s, n, "/runs/", 6) == NULL)
        return;
    const char *end = s + n, *p = s;
    while ((p = memmem(p, (size_t)(end - p), "://", 3)) != NULL) {
        if (p - s >= 5 && wb_ieq(p - 5, "https", 5))
            wb_try_url(job, p - 5, (size_t)(end - p + 5));
        else if (p - s >= 4 && wb_ieq(p - 4, "http", 4))
            wb_try_url(job, p - 4, (size_t)(end - p + 4));
        p += 3;
    }
}

/* ---- Feeding the log ------------------------------------------------------------------------- */

/* The first line end in [p, p+n): progress bars redraw with a bare CR, so it ends a line too. */
static const char *wb_eol(const char *p, size_t n)
{
    const char *nl = memchr(p, '\n', n);
    const char *cr = memchr(p, '\r', nl != NULL ? (size_t)(nl - p) : n);
    return cr != NULL ? cr : nl;
}

/*
 * Lines are searched whole, exactly once, whether they came in one chunk or several: complete
 * lines straight from the host's buffer, an unfinished one from the carry buffer. A line longer
 * than WB_LINE_MAX is skipped (and counted) however it was cut, so results never depend on the
 * chunking, and a job's memory is one carry buffer.
 */
int metrics_wandb_feed(const relhost_ctx *ctx, void *jobp, const char *buf, size_t len)
{
    struct metrics_wandb_job *job = jobp;
    (void)ctx;
    while (len > 0) {
        const char *e = wb_eol(buf, len);
        if (e == NULL) {
            if (job->skipping)
                return 0;
            if (job->carry_len + len > WB_LINE_MAX) {
                job->long_lines++;
                job->skipping = 1;
                job->carry_len = 0;
                return 0;
            }
            memcpy(job->carry + job->carry_len, buf, len);
            job->carry_len += len;
            return 0;
        }
        size_t n = (size_t)(e - buf);
        if (job->skipping) {
            job->skipping = 0; /* the long line ends here; it was counted when it overflowed */
        } else if (job->carry_len > 0) {
            if (job->carry_len + n > WB_LINE_MAX) {
                job->long_lines++;
            } else {
                memcpy(job->carry + job->carry_len, buf, n);
                wb_scan_line(job, job->carry, job->carry_len + n);
            }
            job->carry_len = 0;
        } else if (n > WB_LINE_MAX) {
            job->long_lines++;
        } else {
            wb_scan_line(job, buf, n);
        }
        buf = e + 1;
        len -= n + 1;
    }
    return 0;
}
