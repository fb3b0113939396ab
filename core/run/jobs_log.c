/* SPDX-License-Identifier: MIT */
/*
 * jobs_log.c - a running job's log and the metrics sources it feeds: open the sources, tail
 * the log into them (noticing a job that starts its log over), close them.
 */
#include "run/guard.h"
#include "run/jobs_int.h"

#include "base/error.h"
#include "base/log.h"
#include "base/outcome.h"
#include "base/util.h"
#include "plan/options.h"
#include "plan/plan.h"
#include "plan/template.h"
#include "record/state.h"
#include "run/baseline.h"
#include "run/checks.h"
#include "run/crash.h"
#include "run/host.h"
#include "run/logmap.h"
#include "run/loop.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#define LOG_CHUNK 65536

void jobs_open_sources(relhost_job *jb, const relhost_job_spec *spec)
{
    if (!jb->w->src_jobs && jb->w->nsrc)
        jb->w->src_jobs = xcalloc(jb->w->nsrc, sizeof *jb->w->src_jobs);
    for (size_t i = 0; i < jb->w->nsrc; i++) {
        struct source_rt *s = jb->w->src[i];
        if (jb->w->src_jobs[i] && s->ops->job_close) {
            int g = guard_enter(s->pi->plugin_name, "job_close", jb->step);
            s->ops->job_close(jb->w->src_jobs[i]);
            guard_leave(g);
        }
        jb->w->src_jobs[i] = NULL;
        if (s->ops->job_open) {
            int g = guard_enter(s->pi->plugin_name, "job_open", jb->step);
            if (s->ops->job_open(&jobs_live(jb)->ev_hc.pub, s->inst, spec, &jb->w->src_jobs[i]))
                jb->w->src_jobs[i] = NULL;
            guard_leave(g);
        }
    }
}

/*
 * The job truncated its own log, or replaced the file (a restart writing from the top): what the
 * sources were fed is no longer the log. Read it again from byte 0 into fresh source state, and
 * count the restart (a runner of relhost's own children cannot know of it). 1 when so.
 */
/* 1 when the log no longer holds, at the same offsets, the bytes fed from it: its first ones
 * and the last ones before log_off (a job that truncated its log and wrote past the old length
 * before this read; max_log's holes are never in either range). */
static int log_rewritten(const relhost_job *jb)
{
    const struct job_live *lv = jb->w->lv; /* none: nothing was fed */
    unsigned char now[LOG_SEEN];
    if (!lv)
        return 0;
    if (lv->log_head_len &&
        (pread(jb->w->log_fd, now, lv->log_head_len, 0) != (ssize_t)lv->log_head_len ||
         memcmp(now, lv->log_head, lv->log_head_len) != 0))
        return 1;
    return lv->log_tail_len &&
           (pread(jb->w->log_fd, now, lv->log_tail_len,
                  (off_t)(jb->w->log_off - lv->log_tail_len)) != (ssize_t)lv->log_tail_len ||
            memcmp(now, lv->log_tail, lv->log_tail_len) != 0);
}

/* Keep the first and the last LOG_SEEN bytes fed (buf: n bytes that ended at log_off). */
static void log_remember(relhost_job *jb, const char *buf, size_t n)
{
    struct job_live *lv = jobs_live(jb);
    uint64_t start = jb->w->log_off - n;
    if (start < LOG_SEEN && lv->log_head_len == start) {
        size_t k = n < LOG_SEEN - start ? n : LOG_SEEN - (size_t)start;
        memcpy(lv->log_head + start, buf, k);
        lv->log_head_len += k;
    }
    if (n >= LOG_SEEN) {
        memcpy(lv->log_tail, buf + n - LOG_SEEN, LOG_SEEN);
        lv->log_tail_len = LOG_SEEN;
    } else {
        size_t keep = lv->log_tail_len + n > LOG_SEEN ? LOG_SEEN - n : lv->log_tail_len;
        memmove(lv->log_tail, lv->log_tail + lv->log_tail_len - keep, keep);
        memcpy(lv->log_tail + keep, buf, n);
        lv->log_tail_len = keep + n;
    }
}

/* Open the log for a read, noting which file it is the first time. 0, or -1 (errno set). */
static int log_open(relhost_job *jb)
{
    struct stat fs;
    if (jb->w->log_fd >= 0)
        return 0;
    jb->w->log_fd = open(jb->log_path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (jb->w->log_fd < 0)
        return -1;
    if (!jb->w->log_id_known && fstat(jb->w->log_fd, &fs) == 0) {
        jb->w->log_dev = fs.st_dev;
        jb->w->log_ino = fs.st_ino;
        jb->w->log_id_known = 1;
    }
    return 0;
}

/* A remote job's log is open only while it is read: thousands of jobs may wait on a cluster,
 * and a descriptor each would outgrow `ulimit -n`. Relhost's own children are bounded by
 * max_parallel and keep theirs. */
static void log_release(relhost_job *jb)
{
    if (jb->rt->ops->find && jb->w->log_fd >= 0) {
        close(jb->w->log_fd);
        jb->w->log_fd = -1;
    }
}

static void log_restart(relhost_job *jb, char *n, int replaced);

static int log_started_over(relhost_job *jb)
{
    struct stat fs, ps;
    int replaced, shrank, rewritten;
    char *n;
    if (jb->w->log_fd < 0 && (!jb->w->log_id_known || log_open(jb) != 0))
        return 0;
    if (fstat(jb->w->log_fd, &fs) != 0)
        return 0;
    /* Replaced: the path names another file than the one open, or (a log reopened for this
     * read) the one open is not the file fed from. */
    replaced =
        (stat(jb->log_path, &ps) == 0 && (ps.st_ino != fs.st_ino || ps.st_dev != fs.st_dev)) ||
        (jb->w->log_id_known && (fs.st_ino != jb->w->log_ino || fs.st_dev != jb->w->log_dev));
    shrank = !replaced && (uint64_t)fs.st_size < jb->w->log_off;
    rewritten = !replaced && !shrank && log_rewritten(jb);
    if (!replaced && !shrank && !rewritten)
        return 0;
    if (replaced)
        n = xasprintf("the job replaced its log %s after %llu bytes: read again from byte 0, "
                      "counted as a restart",
                      jb->log_path, (unsigned long long)jb->w->log_off);
    else if (shrank)
        n = xasprintf("the job's log %s shrank from %llu to %llu bytes (it started writing "
                      "from the top): read again from byte 0, counted as a restart",
                      jb->log_path, (unsigned long long)jb->w->log_off,
                      (unsigned long long)fs.st_size);
    else
        n = xasprintf("the job's log %s was written again from the top (the bytes read before "
                      "byte %llu changed): read again from byte 0, counted as a restart",
                      jb->log_path, (unsigned long long)jb->w->log_off);
    log_restart(jb, n, replaced);
    return 1;
}

/* Start the log over (note `n`, freed here): fresh source state, read again from byte 0, one
 * restart more. `replaced`: the path names another file, opened now. */
static void log_restart(relhost_job *jb, char *n, int replaced)
{
    relhost_job_spec spec;
    relhost_map ra;
    log_msg(RELHOST_LOG_WARN, jb->id, "%s", n);
    evidence_note(jb->ev, n);
    free(n);
    if (replaced) {
        close(jb->w->log_fd);
        jb->w->log_fd = -1;
        jb->w->log_id_known = 0;
        log_open(jb);
    }
    jb->w->log_off = 0;
    jb->w->log_cut_to = 0;
    jobs_live(jb)->log_head_len = jobs_live(jb)->log_tail_len = 0;
    jobs_fill_spec(jb, &spec, &ra);
    jobs_open_sources(jb, &spec);
    if (++jb->w->log_restarts > jb->restarts)
        jb->restarts = jb->w->log_restarts;
}

/* Append to the host's copy of a log a runner fetches. 0, or -1 with errno set. */
static int copy_log(relhost_job *jb, const char *buf, size_t n)
{
    int fd = open(jb->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0644);
    int rc = 0;
    if (fd < 0)
        return -1;
    rc = write_all(fd, buf, n);
    if (close(fd) != 0 && rc == 0)
        rc = -1;
    return rc;
}

/*
 * max_log: a log past its runner's max_log keeps its head (the first half) and its tail (the
 * last half) on disk; the middle, once fed to the metrics sources, is released with a hole
 * punched in the file (it then reads as NUL bytes; the file keeps its length, so the job's own
 * appends and the host's offsets are unaffected). The metrics sources saw every byte; a note
 * says what was dropped. Filesystems that cannot punch holes keep the whole log (one warning).
 */
static void cap_log(relhost_job *jb)
{
    uint64_t max = jb->rt->pi->max_log ? jb->rt->pi->max_log : PLAN_MAX_LOG;
    uint64_t head = (max / 2 + 4095) & ~4095ull, to;
    int fd;
    if (jb->w->log_off <= max || jb->w->log_cut_to == UINT64_MAX)
        return;
    to = (jb->w->log_off - max / 2) & ~4095ull; /* only bytes already fed, whole blocks */
    if (to <= head || to <= jb->w->log_cut_to)
        return;
    fd = open(jb->log_path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 ||
        fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                  (off_t)(jb->w->log_cut_to > head ? jb->w->log_cut_to : head),
                  (off_t)(to - (jb->w->log_cut_to > head ? jb->w->log_cut_to : head))) != 0) {
        log_msg(RELHOST_LOG_WARN, jb->id,
                "log %s is past max_log (%llu bytes) but its middle "
                "cannot be dropped here (%s): it is kept whole",
                jb->log_path, (unsigned long long)max, strerror(errno));
        jb->w->log_cut_to = UINT64_MAX;
    } else {
        if (!jb->w->log_cut_to) {
            char *n = xasprintf("log %s is past its runner's max_log (%llu bytes): on disk it "
                                "keeps its head and its tail; the bytes between reached the "
                                "metrics sources and now read as NUL bytes",
                                jb->log_path, (unsigned long long)max);
            evidence_note(jb->ev, n);
            free(n);
        }
        jb->w->log_cut_to = to;
    }
    if (fd >= 0)
        close(fd);
}

/* n log bytes read at log_off: past them, remembered, fed to every source. */
static void log_feed(relhost_job *jb, const char *buf, size_t n)
{
    jb->w->log_off += (uint64_t)n;
    log_remember(jb, buf, n);
    for (size_t i = 0; i < jb->w->nsrc; i++)
        if (jb->w->src_jobs && jb->w->src_jobs[i] && jb->w->src[i]->ops->feed) {
            jobs_live(jb)->ev_hc.source = jb->w->src[i]->pi->name;
            jobs_live(jb)->ev_hc.source_priority = jb->w->src[i]->pi->priority;
            int g = guard_enter(jb->w->src[i]->pi->plugin_name, "feed", jb->step);
            jb->w->src[i]->ops->feed(&jobs_live(jb)->ev_hc.pub, jb->w->src_jobs[i], buf, n);
            guard_leave(g);
        }
}

/*
 * The already-written part of a local log (below its size now) through a mapped window
 * (logmap.h), fed in LOGMAP_PIECE pieces. 1 when a window was read, 0 when pread() is the way:
 * a remainder under LOGMAP_MIN, a pipe or other non-regular file, a failed mmap(). A window a
 * truncation cut (its bytes from the cut on read as NUL bytes, never SIGBUS: guard.c) fed the
 * sources what is not the log: the log is started over, as when it is found shrunk between two
 * reads. Why not prove the window stays in the file instead: nothing stops the job (or anyone)
 * from truncating it, and a longjmp out of a plugin's feed() would leave its state half-updated.
 */
static int log_mapped(relhost_job *jb)
{
    struct stat fs;
    size_t span;
    const char *p;
    uint64_t from = jb->w->log_off;
    if (fstat(jb->w->log_fd, &fs) != 0 || !S_ISREG(fs.st_mode) ||
        (span = logmap_span(jb->w->log_off, (uint64_t)fs.st_size)) == 0 ||
        (p = logmap_map(jb->w->log_fd, jb->w->log_off, span)) == NULL)
        return 0;
    for (size_t o = 0; o < span && !logmap_cut(); o += LOGMAP_PIECE)
        log_feed(jb, p + o, span - o < LOGMAP_PIECE ? span - o : LOGMAP_PIECE);
    if (logmap_unmap())
        log_restart(jb,
                    xasprintf("the job's log %s shrank while bytes %llu to %llu were read (it "
                              "started writing from the top): read again from byte 0, counted "
                              "as a restart",
                              jb->log_path, (unsigned long long)from,
                              (unsigned long long)(from + span)),
                    0);
    return 1;
}

/* Feed new log bytes to the job's metrics sources. */
void jobs_tail_log(relhost_job *jb)
{
    char buf[LOG_CHUNK];
    const relhost_runner_ops *ops = jb->rt->ops;
    /* once per read, not per chunk: did the job start its own log over since the last one? */
    if (!ops->read_log && (jb->w->log_fd >= 0 || jb->w->log_id_known))
        log_started_over(jb);
    for (;;) {
        ssize_t n;
        size_t got = 0;
        if (ops->read_log) {
            /* The runner fetches the log (e.g. from a remote engine); keep a local copy. */
            int rrc, g = guard_enter(jb->rt->pi->plugin_name, "read_log", jb->step);
            jb->rt->busy++;
            rrc = ops->read_log(&jb->rt->hc.pub, jb->rt->inst, jb->ext_id, jb->w->handle,
                                jb->w->log_off, buf, sizeof buf, &got);
            jb->rt->busy--;
            guard_leave(g);
            if (rrc != 0 || got == 0)
                return;
            n = (ssize_t)got;
            if (!jb->w->log_errno && copy_log(jb, buf, got) != 0)
                jb->w->log_errno = errno ? errno : EIO;
        } else {
            if (log_open(jb) != 0)
                break;
            if (log_mapped(jb))
                continue;
            n = pread(jb->w->log_fd, buf, sizeof buf, (off_t)jb->w->log_off);
            if (n <= 0)
                break;
        }
        log_feed(jb, buf, (size_t)n);
        if ((size_t)n < sizeof buf)
            break;
    }
    log_release(jb);
    cap_log(jb);
}

void jobs_close_sources(relhost_job *jb)
{
    for (size_t i = 0; jb->w && jb->w->src_jobs && i < jb->w->nsrc; i++)
        if (jb->w->src_jobs[i] && jb->w->src[i]->ops->job_close) {
            int g = guard_enter(jb->w->src[i]->pi->plugin_name, "job_close", jb->step);
            jb->w->src[i]->ops->job_close(jb->w->src_jobs[i]);
            guard_leave(g);
            jb->w->src_jobs[i] = NULL;
        }
}
