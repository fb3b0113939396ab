/* SPDX-License-Identifier: MIT */
/* progress.c - the console's live view of a running step's jobs (progress.h). */
#include "view/progress.h"

#include "base/log.h"
#include "base/outcome.h"
#include "base/util.h"
#include "run/loop.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define TTY_PERIOD_S 0.25 /* at most 4 redraws a second */
#define ROWS_MAX 8        /* running jobs listed; the rest counted */
#define METRICS_MAX 3     /* latest values shown per job */

struct progress {
    jobs *j;
    char *step;
    int tty;
    double interval, t0;
    unsigned long timer;
    int drawn; /* lines of the table on the screen now */
};

static progress *live; /* the one being drawn, for the log hook */

static void fmt_time(char *b, size_t cap, double s)
{
    long t = s < 0 ? 0 : (long)s;
    if (t >= 3600)
        snprintf(b, cap, "%ldh%02ldm", t / 3600, t / 60 % 60);
    else if (t >= 60)
        snprintf(b, cap, "%ldm%02lds", t / 60, t % 60);
    else
        snprintf(b, cap, "%.1fs", s < 0 ? 0.0 : s);
}

static void counts_line(strbuf *b, const progress *pg, const jobs_count *c)
{
    char t[32];
    fmt_time(t, sizeof t, loop_now() - pg->t0);
    sb_printf(b, "  [%s] %zu running, %zu queued, %zu passed, %zu failed", pg->step, c->running,
              c->queued, c->passed, c->failed);
    if (c->other)
        sb_printf(b, ", %zu other", c->other);
    sb_printf(b, " after %s", t);
}

/* A running job's latest values as its sources show them (display only), else its posted
 * metrics. */
static void metrics_of(strbuf *b, const jobs_row *r)
{
    const evidence *ev = r->ev;
    for (size_t i = 0; i < r->nlive && i < METRICS_MAX; i++)
        sb_printf(b, "  %s %.6g", r->live[i].key, r->live[i].value);
    for (uint32_t i = 0; !r->nlive && ev && i < ev->nmetrics && i < METRICS_MAX; i++)
        sb_printf(b, "  %s %.6g", ev->metrics[i].key, ev->metrics[i].value);
}

/* The terminal's size now, however small (every line drawn stays within its width: a line that
 * wrapped would take rows the next redraw does not erase; and the table within its height: a
 * row scrolled off the top is out of the redraw's reach); 80x24 when it does not say. */
static void term_size(int *width, int *height)
{
    struct winsize ws;
    int ok = ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0;
    *width = ok && ws.ws_col > 0 ? ws.ws_col : 80;
    *height = ok && ws.ws_row > 0 ? ws.ws_row : 24;
}

/* Out with the table drawn last (cursor back to where it began). */
static void erase(progress *pg)
{
    if (!pg->drawn)
        return;
    out_printf("\033[%dA\r\033[J", pg->drawn);
    pg->drawn = 0;
    fflush(stdout);
}

static void put_line(strbuf *b, const char *line, int width)
{
    size_t n = strlen(line);
    sb_add(b, line, n > (size_t)width - 1 ? (size_t)width - 1 : n);
    sb_puts(b, "\033[K\n");
}

/* One running job's row: its name cut (ending "...") where the whole row would not fit width,
 * so that its state, time and metrics stay in view. */
static void job_line(strbuf *line, const jobs_row *r, int width)
{
    char t[32];
    int room = width - 1 - 4 - 20, n = (int)strlen(r->validation); /* " %-10s %8s" is 20 */
    fmt_time(t, sizeof t, r->elapsed);
    if (room < 8)
        room = 8;
    if (n <= room)
        sb_printf(line, "    %-*s %-10s %8s", room < 24 ? room : 24, r->validation, r->state, t);
    else
        sb_printf(line, "    %.*s... %-10s %8s", room - 3, r->validation, r->state, t);
    metrics_of(line, r);
}

static void draw(progress *pg)
{
    jobs_row rows[ROWS_MAX];
    jobs_count c;
    int width, height;
    size_t n, fit;
    strbuf b, line;
    term_size(&width, &height);
    /* the counts, the jobs that fit, "... and N more", and the cursor's line below them all */
    fit = height > 3 ? (size_t)height - 3 : 0;
    n = jobs_progress(pg->j, pg->step, &c, rows, fit < ROWS_MAX ? fit : ROWS_MAX);
    if (c.running + c.queued + c.passed + c.failed + c.other == 0)
        return;
    sb_init(&b);
    sb_init(&line);
    counts_line(&line, pg, &c);
    put_line(&b, line.s, width);
    for (size_t i = 0; i < n; i++) {
        line.len = 0;
        line.s[0] = '\0';
        job_line(&line, &rows[i], width);
        put_line(&b, line.s, width);
    }
    if (c.running > n) {
        line.len = 0;
        line.s[0] = '\0';
        sb_printf(&line, "    ... and %zu more running", c.running - n);
        put_line(&b, line.s, width);
    }
    erase(pg);
    out_printf("%s", b.s);
    fflush(stdout);
    pg->drawn = (int)(1 + n + (c.running > n));
    sb_free(&line);
    sb_free(&b);
}

static void tick(void *arg)
{
    progress *pg = arg;
    pg->timer = 0;
    if (pg->tty) {
        draw(pg);
    } else {
        jobs_count c;
        strbuf b;
        jobs_progress(pg->j, pg->step, &c, NULL, 0);
        if (c.running + c.queued) {
            sb_init(&b);
            counts_line(&b, pg, &c);
            out_printf("%s\n", b.s);
            sb_free(&b);
        }
    }
    pg->timer = loop_timer_add(loop_now() + (pg->tty ? TTY_PERIOD_S : pg->interval), tick, pg);
}

static void job_ended(void *arg, const char *step, const jobs_row *r)
{
    progress *pg = arg;
    char t[32];
    if (pg->tty || strcmp(step, pg->step) != 0)
        return;
    fmt_time(t, sizeof t, r->elapsed);
    out_printf("  [%s] %s %s after %s", step, r->validation, outcome_name(r->outcome), t);
    if (r->exit_code >= 0 && r->outcome != RELHOST_NONE)
        out_printf(" (exit %d)", r->exit_code);
    if (r->reason && r->outcome != RELHOST_PASSED)
        out_printf("  reason: %s", r->reason);
    out_printf("\n");
}

/* A log line is about to be written: the table makes room and comes back at the next tick. */
static void before_log(void)
{
    if (live)
        erase(live);
}

progress *progress_start(jobs *j, const char *step, double interval_s)
{
    progress *pg;
    const char *term = getenv("TERM");
    if (!j)
        return NULL;
    pg = xcalloc(1, sizeof *pg);
    pg->j = j;
    pg->step = xstrdup(step);
    pg->tty = isatty(STDOUT_FILENO) && !(term && strcmp(term, "dumb") == 0);
    pg->interval = interval_s;
    pg->t0 = loop_now();
    jobs_on_end(j, job_ended, pg);
    if (pg->tty || interval_s > 0)
        pg->timer = loop_timer_add(loop_now() + (pg->tty ? TTY_PERIOD_S : interval_s), tick, pg);
    if (pg->tty) {
        live = pg;
        log_set_before_write(before_log);
    }
    return pg;
}

void progress_stop(progress *pg)
{
    if (!pg)
        return;
    if (pg->timer)
        loop_timer_cancel(pg->timer);
    erase(pg);
    if (live == pg) {
        live = NULL;
        log_set_before_write(NULL);
    }
    jobs_on_end(pg->j, NULL, NULL);
    free(pg->step);
    free(pg);
}
