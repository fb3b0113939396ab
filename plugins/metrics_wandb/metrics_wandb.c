/* SPDX-License-Identifier: MIT */
/*
 * metrics_wandb - a metrics source that reads a job's numbers from its Weights & Biases run.
 *
 * While the job runs, the host feeds its log; we only look for the run's URL in it (wandb prints
 * "View run at https://wandb.ai/<entity>/<project>/runs/<id>"), line by line in constant memory,
 * keeping the LAST one: a restarted job starts a new run and prints a new URL. When the job ends,
 * collect() finds the run id (the run_id option, the job's environment, the run_dir folder's
 * name, the log, in that order), reads the run's summary (a local run folder's
 * files/wandb-summary.json, or the W&B GraphQL API through the host's HTTP service) and, when a
 * metric needs more than the last value, its sampled history; each configured W&B key is reduced
 * and posted under its plan name with provenance.
 *
 * Outcomes follow DESIGN.md: a key the run does not have is not a failure of the source (nothing
 * is posted, a note names the keys the run does have, and the host's checks say "metric
 * missing"); a run we cannot find or read is (collect fails, the job is an ERROR). The API key is
 * only ever named by its environment variable: the host builds the basic-auth header, and sends
 * it over plain http only to a loopback address.
 *
 * HTTP failures follow the rule of every HTTP plugin (plugins/common/pl_http.h, "the retry
 * table"): collect returns RELHOST_ERETRY (retryable ERROR, exit 75) for the host's RELHOST_ERETRY
 * and for HTTP 5xx, 408, 429; RELHOST_EINVAL (not retryable, exit 3) for every other failure,
 * TLS and certificate errors and an unreadable reply body included.
 */
#include "../common/pl_host.h"
#include "../common/pl_file.h"
#include "../common/pl_http.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <relhost/plugin.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- Configuration --------------------------------------------------------------------------- */

/** One row of `metrics = ( {...}, ... )`. */
struct metrics_wandb_metric {
    const char *name;
    const char *key;
    int reducer;
    double last_pct;
    int64_t samples;
};

struct metrics_wandb_conf {
    const char *entity;
    const char *project;
    const char *base_url;
    const char *api_key_env;
    const char *run_id;
    const char *run_id_env;
    const char *run_dir;
    relhost_list metrics;
    double timeout;
};

enum wb_reducer { WB_LAST, WB_MAX, WB_MIN, WB_MEAN, WB_MEAN_LAST_PCT };

static const char *const metrics_wandb_reducers[] = {"last", "max", "min", "mean",
                                                     "mean_last_pct", NULL};

static const relhost_option metrics_wandb_metric_options[] = {
    {.name = "name",
     .type = RELHOST_OPT_STRING,
     .required = 1,
     .offset = offsetof(struct metrics_wandb_metric, name),
     .doc = "metric name posted to the host, as acceptance checks name it ([A-Za-z0-9_.-])"},
    {.name = "key",
     .type = RELHOST_OPT_STRING,
     .required = 1,
     .offset = offsetof(struct metrics_wandb_metric, key),
     .doc = "W&B key, e.g. \"overview/sps\"; a nested summary value may be named with dots"},
    {.name = "reducer",
     .type = RELHOST_OPT_ENUM,
     .def = "last",
     .offset = offsetof(struct metrics_wandb_metric, reducer),
     .choices = metrics_wandb_reducers,
     .doc = "last: the run summary's value (else the last history row); max, min, mean, "
            "mean_last_pct: over the sampled history"},
    {.name = "last_pct",
     .type = RELHOST_OPT_DOUBLE,
     .def = "25",
     .offset = offsetof(struct metrics_wandb_metric, last_pct),
     .min = 0.01,
     .max = 100,
     .doc = "mean_last_pct: the mean of the last this-many percent of the sampled rows (at least "
            "one row)"},
    {.name = "samples",
     .type = RELHOST_OPT_INT,
     .def = "500",
     .offset = offsetof(struct metrics_wandb_metric, samples),
     .min = 1,
     .max = 100000,
     .doc = "history rows W&B is asked to sample for this key (it returns at most this many)"},
    {0}};

static const relhost_option metrics_wandb_options[] = {
    {.name = "entity",
     .type = RELHOST_OPT_STRING,
     .offset = offsetof(struct metrics_wandb_conf, entity),
     .doc = "W&B entity (user or team); default: from the run URL in the log, else the job's "
            "WANDB_ENTITY"},
    {.name = "project",
     .type = RELHOST_OPT_STRING,
     .offset = offsetof(struct metrics_wandb_conf, project),
     .doc = "W&B project; default: from the run URL in the log, else the job's WANDB_PROJECT"},
    {.name = "base_url",
     .type = RELHOST_OPT_STRING,
     .offset = offsetof(struct metrics_wandb_conf, base_url),
     .doc = "W&B API address; default: relhost's $WANDB_BASE_URL, else https://api.wandb.ai"},
    {.name = "api_key_env",
     .type = RELHOST_OPT_SECRET_ENV,
     .def = "WANDB_API_KEY",
     .offset = offsetof(struct metrics_wandb_conf, api_key_env),
     .doc = "environment variable holding the W&B API key (sent as HTTP basic auth api:KEY)"},
    {.name = "run_id",
     .type = RELHOST_OPT_STRING,
     .offset = offsetof(struct metrics_wandb_conf, run_id),
     .flags = RELHOST_OPTF_TEMPLATE,
     .doc = "the run id, e.g. \"rh-{version}-{validation}\"; wins over run_id_env and the log"},
    {.name = "run_id_env",
     .type = RELHOST_OPT_STRING,
     .offset = offsetof(struct metrics_wandb_conf, run_id_env),
     .doc = "name of a variable in the job's environment holding the run id (e.g. WANDB_RUN_ID); "
            "wins over the log"},
    {.name = "run_dir",
     .type = RELHOST_OPT_STRING,
     .offset = offsetof(struct metrics_wandb_conf, run_dir),
     .flags = RELHOST_OPTF_TEMPLATE | RELHOST_OPTF_PATH,
     .doc = "a local wandb run folder (wandb/run-<date>-<id>, or wandb/latest-run): the summary "
            "is read from its files/wandb-summary.json instead of the API"},
    {.name = "metrics",
     .type = RELHOST_OPT_GROUP_LIST,
     .required = 1,
     .offset = offsetof(struct metrics_wandb_conf, metrics),
     .sub = metrics_wandb_metric_options,
     .item_size = sizeof(struct metrics_wandb_metric),
     .doc = "what to post: ( { name = \"sps\"; key = \"overview/sps\"; reducer = \"max\"; }, "
            "... )"},
    {.name = "timeout",
     .type = RELHOST_OPT_DURATION,
     .def = "30s",
     .offset = offsetof(struct metrics_wandb_conf, timeout),
     .min = 1,
     .max = 600,
     .doc = "per HTTP attempt; one query, retries and waits included, takes at most 4x this"},
    {0}};

/* ---- Instance and job state ------------------------------------------------------------------ */

#define WB_LINE_MAX 8192  /* longest log line searched for a run URL; the job's carry buffer */
#define WB_NAME_MAX 128   /* entity, project, run id */
#define WB_AUTH_MAX 256   /* host[:port] */
#define WB_URL_MAX 640
#define WB_KEYS_SHOWN 8   /* keys named in a "not in run" note */
#define WB_FILE_MAX (64u * 1024 * 1024) /* a summary file larger than this is not a summary */

/* The GraphQL operations, as API_SHAPES.md and the wandb client spell them. */
#define WB_QUERY_RUN                                                                               \
    "query Run($project: String!, $entity: String!, $name: String!) { "                           \
    "project(name: $project, entityName: $entity) { run(name: $name) { "                           \
    "id name displayName state summaryMetrics historyKeys historyLineCount } } }"
#define WB_QUERY_HISTORY                                                                           \
    "query RunSampledHistory($project: String!, $entity: String!, $name: String!, "               \
    "$specs: [JSONString!]!) { project(name: $project, entityName: $entity) { "                   \
    "run(name: $name) { sampledHistory(specs: $specs) } } }"

struct metrics_wandb {
    const struct metrics_wandb_conf *conf; /* the host's, valid until close */
    char base[WB_URL_MAX];                 /* without a trailing slash */
    char graphql_url[WB_URL_MAX + 16];
    char app_url[WB_URL_MAX];              /* where people open runs */
    char auth[WB_AUTH_MAX];                /* base's host[:port], lower case, no default port */
    char base_from[160];                   /* where base came from, for messages */
};

/** A W&B run URL seen in the log. */
struct wb_url {
    char entity[WB_NAME_MAX + 1];
    char project[WB_NAME_MAX + 1];
    char id[WB_NAME_MAX + 1];
    char url[WB_URL_MAX + 1];
};

struct metrics_wandb_job {
    struct metrics_wandb *inst;
    char *validation;  /* for {validation} in run_id and run_dir; NULL when unknown */
    char *attempt;     /* for {attempt}: the job's RELHOST_ATTEMPT */
    char *env_run_id;  /* run_id_env's value in the job's environment, or NULL */
    char *env_entity, *env_project; /* the job's WANDB_ENTITY / WANDB_PROJECT */
    char *carry;       /* the unfinished last line, at most WB_LINE_MAX bytes */
    size_t carry_len;
    int skipping;      /* inside a line longer than WB_LINE_MAX: drop bytes up to its end */
    uint64_t long_lines;
    uint64_t n_urls;   /* run URLs seen */
    int several_runs;  /* the URLs named more than one run */
    struct wb_url first, last;
};

/* ---- Small helpers --------------------------------------------------------------------------- */

static int wb_alnum(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static unsigned char wb_lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c | 0x20) : c;
}

static int wb_ieq(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (wb_lower((unsigned char)a[i]) != wb_lower((unsigned char)b[i]))
            return 0;
    return 1;
}

/* A byte of an entity, project or run id in a URL. W&B forbids / \ # ? % : in them; we accept
 * the characters its own ids and names use, which also ends a URL at ANSI colour escapes. */
static int wb_name_char(unsigned char c)
{
    return wb_alnum(c) || c == '_' || c == '-' || c == '.';
}

static int wb_valid_name(const char *s)
{
    size_t n = 0;
    for (; s[n] != '\0'; n++)
        if (!wb_name_char((unsigned char)s[n]))
            return 0;
    return n > 0 && n <= WB_NAME_MAX;
}

/* Plan-chosen metric names become report columns: keep them to a safe alphabet. */
static int wb_valid_metric(const char *s)
{
    return s != NULL && wb_valid_name(s);
}

static int wb_valid_env_name(const char *s)
{
    if (s == NULL || s[0] == '\0' || (s[0] >= '0' && s[0] <= '9'))
        return 0;
    for (; *s; s++)
        if (!wb_alnum((unsigned char)*s) && *s != '_')
            return 0;
    return 1;
}

/* Copy text from a server or a file into a message: printable, bounded, never a quote. */
static void wb_clean(char *dst, size_t cap, const char *s, size_t n)
{
    size_t k = 0;
    if (cap == 0)
        return;
    for (size_t i = 0; i < n && k + 1 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        dst[k++] = (c >= 0x20 && c < 0x7f && c != '"') ? (char)c : (c == '\n' ? ' ' : '?');
    }
    if (k + 1 == cap && n > k && cap > 4) {
        memcpy(dst + cap - 4, "...", 3); /* say that the text goes on */
        k = cap - 1;
    }
    dst[k] = '\0';
}

/* Append to a bounded message buffer; silently stops at its end. */
__attribute__((format(printf, 4, 5))) static void wb_cat(char *buf, size_t cap, size_t *len,
                                                         const char *fmt, ...)
{
    if (*len + 1 >= cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + *len, cap - *len, fmt, ap);
    va_end(ap);
    if (n > 0)
        *len = (size_t)n < cap - *len ? *len + (size_t)n : cap - 1;
}

static char *wb_strdup(const char *s)
{
    if (s == NULL)
        return NULL;
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d != NULL)
        memcpy(d, s, n);
    return d;
}

/* The value of NAME in a NULL-terminated "NAME=VALUE" list; the last entry wins, as it would in
 * the job's environment. */
static const char *wb_env_lookup(const char *const *env, const char *name)
{
    const char *v = NULL;
    size_t n = name != NULL ? strlen(name) : 0;
    for (size_t i = 0; env != NULL && n > 0 && env[i] != NULL; i++)
        if (strncmp(env[i], name, n) == 0 && env[i][n] == '=')
            v = env[i] + n + 1;
    return v;
}

static const struct metrics_wandb_metric *wb_row(const struct metrics_wandb_conf *conf, size_t i)
{
    return (const struct metrics_wandb_metric *)((const char *)conf->metrics.items +
                                                 i * sizeof(struct metrics_wandb_metric));
}

/* ---- URLs ------------------------------------------------------------------------------------ */

/*
 * Parse "http[s]://host[:port]" at s: the authority goes to auth (lower case, without the
 * scheme's default port). Returns the bytes consumed, or 0 when s is no http(s) origin.
 */
static size_t wb_parse_origin(const char *s, size_t n, char *auth, size_t cap)
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

static int wb_public_cloud(const char *auth)
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
static void wb_scan_line(struct metrics_wandb_job *job, const char *s, size_t n)
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
static int metrics_wandb_feed(const relhost_ctx *ctx, void *jobp, const char *buf, size_t len)
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

/* ---- JSON ------------------------------------------------------------------------------------ */

/*
 * Python's json writes NaN and Infinity as bare words, which is not JSON; wandb's summary file and
 * some servers carry them. Quote them (outside strings) so the document parses and the value is
 * reported as not finite instead of the whole reply as unreadable. NULL: nothing to quote.
 */
static char *wb_quote_nonfinite(const char *s, size_t n, size_t *out_len)
{
    static const char *const toks[] = {"-Infinity", "Infinity", "NaN"};
    char *o = malloc(2 * n + 1); /* the shortest token, 3 bytes, grows by 2 */
    int in_str = 0, esc = 0, changed = 0;
    size_t k = 0;
    if (o == NULL)
        return NULL;
    for (size_t i = 0; i < n;) {
        char c = s[i];
        if (in_str) {
            o[k++] = c;
            i++;
            if (esc)
                esc = 0;
            else if (c == '\\')
                esc = 1;
            else if (c == '"')
                in_str = 0;
            continue;
        }
        size_t t = 0, tl = 0;
        for (; t < 3; t++) {
            tl = strlen(toks[t]);
            if (n - i >= tl && memcmp(s + i, toks[t], tl) == 0)
                break;
        }
        if (t < 3) {
            o[k++] = '"';
            memcpy(o + k, s + i, tl);
            k += tl;
            o[k++] = '"';
            i += tl;
            changed = 1;
            continue;
        }
        in_str = c == '"';
        o[k++] = c;
        i++;
    }
    if (!changed) {
        free(o);
        return NULL;
    }
    o[k] = '\0';
    *out_len = k;
    return o;
}

/* Parse an object or array; err keeps the position of the first attempt on failure. */
static json_t *wb_json_parse(const char *s, size_t n, json_error_t *err)
{
    json_t *j = json_loadb(s, n, 0, err);
    if (j != NULL)
        return j;
    size_t m = 0;
    char *q = wb_quote_nonfinite(s, n, &m);
    if (q == NULL)
        return NULL;
    json_error_t err2;
    j = json_loadb(q, m, 0, &err2);
    free(q);
    return j;
}

enum wb_num { WB_NUM, WB_NONFINITE, WB_NOTNUM };

static enum wb_num wb_number(const json_t *j, double *v)
{
    if (json_is_integer(j)) {
        *v = (double)json_integer_value(j);
        return WB_NUM;
    }
    if (json_is_real(j)) {
        *v = json_real_value(j);
        return isfinite(*v) ? WB_NUM : WB_NONFINITE;
    }
    if (json_is_string(j)) {
        static const char *const words[] = {"nan", "infinity", "-infinity", "+infinity",
                                            "inf", "-inf", "+inf", NULL};
        for (size_t i = 0; words[i] != NULL; i++)
            if (strcasecmp(json_string_value(j), words[i]) == 0)
                return WB_NONFINITE;
    }
    return WB_NOTNUM;
}

/* obj[key]; a key absent as written may name a nested value with dots ("eval.success" is
 * {"eval": {"success": ...}}, which is how wandb keeps a logged dict in the summary). */
static const json_t *wb_lookup(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    if (v != NULL || strchr(key, '.') == NULL)
        return v;
    char part[512];
    const char *p = key;
    v = obj;
    while (v != NULL) {
        const char *dot = strchr(p, '.');
        size_t n = dot != NULL ? (size_t)(dot - p) : strlen(p);
        if (n == 0 || n >= sizeof(part) || !json_is_object(v))
            return NULL;
        memcpy(part, p, n);
        part[n] = '\0';
        v = json_object_get(v, part);
        if (dot == NULL)
            return v;
        p = dot + 1;
    }
    return NULL;
}

/* "a, b, c and 12 more": the first user keys (wandb's own start with '_'). */
static void wb_keys_text(const json_t *obj, char *buf, size_t cap)
{
    size_t len = 0, shown = 0, more = 0;
    const char *k;
    json_t *v;
    buf[0] = '\0';
    if (json_is_object(obj)) {
        json_object_foreach((json_t *)obj, k, v) {
            (void)v;
            if (k[0] == '_')
                continue;
            if (shown == WB_KEYS_SHOWN) {
                more++;
                continue;
            }
            char c[96];
            wb_clean(c, sizeof(c), k, strlen(k));
            wb_cat(buf, cap, &len, "%s%s", shown ? ", " : "", c);
            shown++;
        }
    }
    if (shown == 0)
        wb_cat(buf, cap, &len, "none");
    if (more > 0)
        wb_cat(buf, cap, &len, " and %zu more", more);
}

/* The messages of a GraphQL "errors" value, joined: objects by their message (with path and
 * code when given), other entries (["Server down"]) as they are. */
static void wb_errors_text(const json_t *errs, char *buf, size_t cap)
{
    size_t len = 0, n = json_is_array(errs) ? json_array_size(errs) : 1;
    buf[0] = '\0';
    for (size_t i = 0; i < n && i < 5; i++) {
        const json_t *e = json_is_array(errs) ? json_array_get(errs, i) : errs;
        char piece[320];
        if (json_is_string(e)) {
            wb_clean(piece, sizeof(piece), json_string_value(e), json_string_length(e));
        } else if (json_is_object(e) && json_is_string(json_object_get(e, "message"))) {
            const json_t *m = json_object_get(e, "message");
            const json_t *code = json_object_get(json_object_get(e, "extensions"), "code");
            const json_t *path = json_object_get(e, "path");
            size_t pl = 0;
            wb_clean(piece, sizeof(piece), json_string_value(m), json_string_length(m));
            pl = strlen(piece);
            if (json_is_string(code)) {
                char c[64];
                wb_clean(c, sizeof(c), json_string_value(code), json_string_length(code));
                wb_cat(piece, sizeof(piece), &pl, " [%s]", c);
            }
            if (json_is_array(path) && json_array_size(path) > 0) {
                wb_cat(piece, sizeof(piece), &pl, " (at ");
                for (size_t k = 0; k < json_array_size(path) && k < 6; k++) {
                    const json_t *pe = json_array_get(path, k);
                    char c[64];
                    if (json_is_string(pe))
                        wb_clean(c, sizeof(c), json_string_value(pe), json_string_length(pe));
                    else
                        snprintf(c, sizeof(c), "%lld", (long long)json_integer_value(pe));
                    wb_cat(piece, sizeof(piece), &pl, "%s%s", k ? "." : "", c);
                }
                wb_cat(piece, sizeof(piece), &pl, ")");
            }
        } else {
            char *d = json_dumps(e, JSON_COMPACT | JSON_ENCODE_ANY);
            wb_clean(piece, sizeof(piece), d != NULL ? d : "?", d != NULL ? strlen(d) : 1);
            free(d);
        }
        wb_cat(buf, cap, &len, "%s%s", i ? "; " : "", piece);
    }
    if (n > 5)
        wb_cat(buf, cap, &len, " (and %zu more)", n - 5);
}

/* ---- One collect() call ---------------------------------------------------------------------- */

struct wb_collect {
    const relhost_ctx *ctx;
    struct metrics_wandb_job *job;
    const struct metrics_wandb *inst;
    const struct metrics_wandb_conf *conf;

    char *run_dir;              /* run_dir, expanded */
    char dir_id[WB_NAME_MAX + 1]; /* the run id in the run folder's name */
    int dir_offline;
    char *run_id_opt;           /* run_id, expanded */
    const char *run_id;         /* the run looked up, and where it came from */
    char run_id_from[96];
    const char *entity, *project;
    char run_path[3 * WB_NAME_MAX + 8]; /* entity/project/id, for messages and the label */

    json_t *summary;            /* the run's summary object */
    int summary_from_file;
    char summary_file[PATH_MAX + 32];
    json_t *history_keys;       /* historyKeys.keys, when the API gave it */
    long long history_lines;    /* -1: unknown */
    char state[32];
    json_t *hist_root;          /* the sampledHistory reply, alive while hist is used */
    const json_t *hist;         /* one array of rows per spec */
    int *spec_of;               /* per metric: its spec, or -1 */
};

static void wb_collect_free(struct wb_collect *c)
{
    free(c->run_dir);
    free(c->run_id_opt);
    json_decref(c->summary);
    json_decref(c->history_keys);
    json_decref(c->hist_root);
    free(c->spec_of);
}

static int wb_oom(struct wb_collect *c, const char *what)
{
    pl_host->fail(c->ctx, "out of memory %s", what);
    return RELHOST_ENOMEM;
}

/* Expand {validation}, {attempt} (and the run's names) in a template option; *out is ours. */
static int wb_expand(struct wb_collect *c, const char *tmpl, const char *option, char **out)
{
    const char *vars[4];
    size_t n = 0;
    *out = NULL;
    if (c->job->validation != NULL) {
        vars[2 * n] = "validation";
        vars[2 * n + 1] = c->job->validation;
        n++;
    }
    if (c->job->attempt != NULL) {
        vars[2 * n] = "attempt";
        vars[2 * n + 1] = c->job->attempt;
        n++;
    }
    if (pl_host->expand == NULL) {
        if (strchr(tmpl, '{') != NULL) {
            pl_host->fail(c->ctx, "%s \"%s\" has placeholders but this host offers no template "
                          "service", option, tmpl);
            return RELHOST_ENOTSUP;
        }
        *out = wb_strdup(tmpl);
        return *out != NULL ? 0 : wb_oom(c, "expanding a template");
    }
    char *x = NULL;
    int rc = pl_host->expand(c->ctx, tmpl, vars, n, &x);
    if (rc != 0)
        return rc; /* the host explained which placeholder */
    *out = wb_strdup(x);
    if (pl_host->free != NULL)
        pl_host->free(x);
    return *out != NULL ? 0 : wb_oom(c, "expanding a template");
}

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
static int wb_open_run_dir(struct wb_collect *c)
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
        pl_host->note_add(c->ctx, "W&B run_dir %s has no files/wandb-summary.json; reading the run "
                          "from the W&B API", c->run_dir);
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

/* ---- The run ------------------------------------------------------------------------------- */

static int wb_needs_history(const struct metrics_wandb_metric *m)
{
    return m->reducer != WB_LAST;
}

/* Choose the run id, entity and project. need_api: all three are required. */
static int wb_resolve(struct wb_collect *c, int need_api)
{
    struct metrics_wandb_job *job = c->job;
    const struct metrics_wandb_conf *conf = c->conf;

    if (conf->run_id != NULL) {
        int rc = wb_expand(c, conf->run_id, "run_id", &c->run_id_opt);
        if (rc != 0)
            return rc;
    }
    if (c->run_id_opt != NULL && c->run_id_opt[0] != '\0') {
        c->run_id = c->run_id_opt;
        snprintf(c->run_id_from, sizeof(c->run_id_from), "the run_id option");
    } else if (job->env_run_id != NULL && job->env_run_id[0] != '\0') {
        c->run_id = job->env_run_id;
        snprintf(c->run_id_from, sizeof(c->run_id_from), "$%s in the job's environment",
                 conf->run_id_env);
    } else if (c->dir_id[0] != '\0') {
        /* the plan named this folder: it outranks a URL we merely spotted in the log */
        c->run_id = c->dir_id;
        snprintf(c->run_id_from, sizeof(c->run_id_from), "the name of run_dir");
    } else if (job->n_urls > 0) {
        c->run_id = job->last.id;
        snprintf(c->run_id_from, sizeof(c->run_id_from), "the run URL in the log");
    }
    if (c->run_id == NULL && need_api) {
        char why[1024];
        size_t len = 0;
        wb_cat(why, sizeof(why), &len, "no W&B run id: ");
        if (conf->run_id != NULL)
            wb_cat(why, sizeof(why), &len, "run_id \"%s\" expanded to an empty string; ",
                   conf->run_id);
        else
            wb_cat(why, sizeof(why), &len, "no run_id option; ");
        if (conf->run_id_env == NULL)
            wb_cat(why, sizeof(why), &len, "no run_id_env; ");
        else
            wb_cat(why, sizeof(why), &len, "$%s is %s the job's environment; ", conf->run_id_env,
                   job->env_run_id != NULL ? "empty in" : "not in");
        wb_cat(why, sizeof(why), &len, "the log printed no W&B run URL "
               "(https://wandb.ai/<entity>/<project>/runs/<id>");
        if (!wb_public_cloud(c->inst->auth))
            wb_cat(why, sizeof(why), &len, " or on %s", c->inst->auth);
        wb_cat(why, sizeof(why), &len, ")");
        if (job->long_lines > 0)
            wb_cat(why, sizeof(why), &len, " in the lines it searched (%llu line%s longer than "
                   "%d bytes were skipped)", (unsigned long long)job->long_lines,
                   job->long_lines == 1 ? "" : "s", WB_LINE_MAX);
        if (c->run_dir != NULL)
            wb_cat(why, sizeof(why), &len, "; run_dir %s is not named run-<date>-<id>",
                   c->run_dir);
        wb_cat(why, sizeof(why), &len, ". Let the job print its run URL (wandb does unless "
               "silenced), or set run_id or run_id_env");
        pl_host->fail(c->ctx, "%s", why);
        return RELHOST_ENOTFOUND;
    }
    if (c->run_id != NULL && !wb_valid_name(c->run_id)) {
        char shown[64];
        wb_clean(shown, sizeof(shown), c->run_id, strlen(c->run_id));
        pl_host->fail(c->ctx,
                      "\"%s\" (from %s) is not a W&B run id: ids are 1 to %d of A-Z a-z 0-9 "
                      "_ . -",
                      shown, c->run_id_from, WB_NAME_MAX);
        return RELHOST_EINVAL;
    }

    /* The configured names win; else the URL's (it names the run exactly); else the job's. */
    c->entity = conf->entity != NULL ? conf->entity
                : job->n_urls > 0    ? job->last.entity
                                     : job->env_entity;
    c->project = conf->project != NULL ? conf->project
                 : job->n_urls > 0     ? job->last.project
                                       : job->env_project;
    if (need_api && (c->entity == NULL || c->entity[0] == '\0' || c->project == NULL ||
                     c->project[0] == '\0')) {
        pl_host->fail(c->ctx,
                      "no W&B %s for run %s (from %s): set %s in the plan, let the job print its "
                      "run URL, or give the job WANDB_ENTITY and WANDB_PROJECT",
                      c->entity == NULL || c->entity[0] == '\0' ? "entity" : "project", c->run_id,
                      c->run_id_from,
                      c->entity == NULL || c->entity[0] == '\0' ? "entity" : "project");
        return RELHOST_EINVAL;
    }
    if (c->run_id != NULL && c->entity != NULL && c->project != NULL)
        snprintf(c->run_path, sizeof(c->run_path), "%s/%s/%s", c->entity, c->project, c->run_id);
    else if (c->run_id != NULL)
        snprintf(c->run_path, sizeof(c->run_path), "%s", c->run_id);
    else
        snprintf(c->run_path, sizeof(c->run_path), "in %s", c->run_dir ? c->run_dir : "?");
    return 0;
}

/* ---- GraphQL --------------------------------------------------------------------------------- */

/* Judge a reply: HTTP status, GraphQL errors, JSON. 0 and *root (ours) when it carries data. */
static int wb_check_reply(struct wb_collect *c, const char *op, const relhost_http_response *r,
                          json_t **root)
{
    const char *url = c->inst->graphql_url;
    long st = r->status;
    json_error_t jerr;
    memset(&jerr, 0, sizeof(jerr));
    json_t *j = r->body != NULL && r->body_len > 0 ? wb_json_parse(r->body, r->body_len, &jerr)
                                                   : NULL;
    const json_t *errs = json_is_object(j) ? json_object_get(j, "errors") : NULL;
    int has_errs = errs != NULL && !json_is_null(errs) &&
                   !(json_is_array(errs) && json_array_size(errs) == 0);
    int again = pl_http_status_retryable(r);
    char etext[700], excerpt[160];
    int rc = 0;

    *root = NULL;
    excerpt[0] = '\0';
    if (r->body != NULL && r->body_len > 0)
        wb_clean(excerpt, sizeof(excerpt), r->body, r->body_len);
    if (has_errs)
        wb_errors_text(errs, etext, sizeof(etext));
    if (again && !has_errs && st == 403) {
        pl_host->fail(c->ctx,
                      "W&B's rate limit is used up (HTTP 403, x-ratelimit-remaining: 0) for "
                      "the %s query for run %s at %s; the next run tries again",
                      op, c->run_path, url);
        rc = RELHOST_ERETRY;
    } else if (st == 401) {
        pl_host->fail(c->ctx,
                      "W&B rejected the API key (HTTP 401): %s refused the key in $%s; check "
                      "that it is a valid key for this W&B server",
                      url, c->conf->api_key_env);
        rc = RELHOST_EINVAL;
    } else if (st == 403) {
        pl_host->fail(
            c->ctx, "W&B refused access (HTTP 403) to run %s at %s with the key in $%s%s%s",
            c->run_path, url, c->conf->api_key_env, has_errs ? ": " : "", has_errs ? etext : "");
        rc = RELHOST_EINVAL;
    } else if (has_errs) {
        size_t n = json_is_array(errs) ? json_array_size(errs) : 1;
        pl_host->fail(c->ctx, "W&B answered the %s query for run %s with %s (HTTP %ld): %s", op,
                      c->run_path, n == 1 ? "an error" : "errors", st, etext);
        rc = again ? RELHOST_ERETRY : RELHOST_EINVAL;
    } else if (st < 200 || st > 299) {
        char loc[200] = "";
        for (size_t i = 0; r->headers != NULL && r->headers[i] != NULL; i++)
            if (strncmp(r->headers[i], "location:", 9) == 0)
                wb_clean(loc, sizeof(loc), r->headers[i] + 9, strlen(r->headers[i] + 9));
        if (st >= 300 && st < 400)
            pl_host->fail(c->ctx,
                          "W&B answered the %s query with a redirect (HTTP %ld%s%s) from %s; set "
                          "base_url to the server's API address",
                          op, st, loc[0] ? " to" : "", loc, url);
        else
            pl_host->fail(c->ctx, "W&B answered HTTP %ld to the %s query for run %s at %s%s%s%s",
                          st, op, c->run_path, url, excerpt[0] ? ": \"" : "", excerpt,
                          excerpt[0] ? "\"" : "");
        rc = again ? RELHOST_ERETRY : RELHOST_EINVAL;
    } else if (j == NULL || !json_is_object(json_object_get(j, "data"))) {
        /* An unreadable body: not retryable, the same reply would come again (the rule of
         * every HTTP plugin, pl_http.h; a reply cut short is the host's RELHOST_ERETRY). */
        char is[256], line[1024];
        if (j == NULL)
            snprintf(is, sizeof(is), "is not valid JSON: %s at byte %d", jerr.text,
                     jerr.position);
        else
            snprintf(is, sizeof(is), "has no data object");
        pl_http_unreadable(line, sizeof(line), "POST", url, r, is, "a GraphQL reply");
        pl_host->fail(c->ctx, "W&B's reply to the %s query for run %s is unreadable: %s; "
                      PL_HTTP_UNREADABLE_ADVICE ": %s", op, c->run_path, line, c->inst->base_from);
        rc = RELHOST_EINVAL;
    }
    if (rc != 0) {
        json_decref(j);
        return rc;
    }
    *root = j;
    return 0;
}

/* POST one operation to {base}/graphql as api:$KEY. vars is taken. */
static int wb_graphql(struct wb_collect *c, const char *op, const char *query, json_t *vars,
                      json_t **root)
{
    static const char *const headers[] = {"Content-Type: application/json",
                                          "Accept: application/json", NULL};
    *root = NULL;
    json_t *body = json_object();
    if (body == NULL || vars == NULL) {
        json_decref(body);
        json_decref(vars);
        return wb_oom(c, "building a W&B query");
    }
    json_object_set_new(body, "operationName", json_string(op));
    json_object_set_new(body, "query", json_string(query));
    json_object_set_new(body, "variables", vars);
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (text == NULL)
        return wb_oom(c, "building a W&B query");

    double t = c->conf->timeout > 0 ? c->conf->timeout : 30;
    relhost_http_request req = {
        .struct_size = sizeof(req),
        .method = "POST",
        .url = c->inst->graphql_url,
        .headers = headers,
        .body = text,
        .body_len = strlen(text),
        .basic_user = "api",
        .basic_env = c->conf->api_key_env,
        .connect_timeout_s = t < 10 ? t : 10,
        .timeout_s = t,
        .max_attempts = 0,
        /* A silent server must not hold the job (and the loop's other work) for the host's
         * default five minutes. */
        .budget_s = 4 * t,
    };
    relhost_http_response *resp = NULL;
    int rc = pl_host->http_request(c->ctx, &req, &resp);
    free(text);
    if (rc != 0) {
        if (resp != NULL && pl_host->http_response_free != NULL)
            pl_host->http_response_free(resp);
        if (rc == RELHOST_EINTR) {
            /* the host explains nothing here: relhost is stopping */
            pl_host->fail(c->ctx, "interrupted while asking W&B (%s query) for run %s", op,
                          c->run_path);
            return rc;
        }
        /* The host's fail() names the URL, the attempts and the cause; say what we asked.
         * Only the host's RELHOST_ERETRY may pass later: every other code becomes
         * RELHOST_EINVAL, which the host never takes for a transient failure of a source. */
        if (rc == RELHOST_EINVAL)
            pl_host->note_add(c->ctx,
                              "W&B %s query for run %s: relhost refused to send it to %s; "
                              "check %s",
                              op, c->run_path, c->inst->graphql_url, c->inst->base_from);
        else
            pl_host->note_add(c->ctx, "W&B %s query for run %s at %s got no usable answer", op,
                              c->run_path, c->inst->graphql_url);
        return pl_http_rc_retryable(rc) ? RELHOST_ERETRY : RELHOST_EINVAL;
    }
    if (resp == NULL) {
        pl_host->fail(c->ctx,
                      "the host's HTTP service returned no response for the W&B %s query (a "
                      "relhost bug)",
                      op);
        return RELHOST_EINVAL;
    }
    rc = wb_check_reply(c, op, resp, root);
    if (pl_host->http_response_free != NULL)
        pl_host->http_response_free(resp);
    return rc;
}

/* data.project.run of a reply, or a failure naming what is missing. */
static int wb_reply_run(struct wb_collect *c, const json_t *root, const json_t **run)
{
    const json_t *project = json_object_get(json_object_get(root, "data"), "project");
    *run = NULL;
    if (project == NULL || json_is_null(project)) {
        pl_host->fail(c->ctx, "W&B project %s/%s not found (project: null) at %s, looking for run "
                      "%s (from %s); check entity and project, and that the API key's user can see "
                      "them", c->entity, c->project, c->inst->base, c->run_id, c->run_id_from);
        return RELHOST_ENOTFOUND;
    }
    const json_t *run_j = json_object_get(project, "run");
    if (run_j == NULL || json_is_null(run_j)) {
        pl_host->fail(c->ctx, "W&B run %s not found (run: null) in project %s/%s at %s; the run id "
                      "came from %s", c->run_id, c->entity, c->project, c->inst->base,
                      c->run_id_from);
        return RELHOST_ENOTFOUND;
    }
    if (!json_is_object(run_j)) {
        pl_host->fail(c->ctx, "W&B's reply for run %s is malformed: data.project.run is not an "
                      "object", c->run_path);
        return RELHOST_EINVAL;
    }
    *run = run_j;
    return 0;
}

/* A JSONString field (or, from a friendlier server, the object itself): a new reference. */
static json_t *wb_json_field(const json_t *v)
{
    if (json_is_string(v)) {
        json_error_t jerr;
        return wb_json_parse(json_string_value(v), json_string_length(v), &jerr);
    }
    if (json_is_object(v))
        return json_incref((json_t *)v);
    return NULL;
}

static int wb_fetch_run(struct wb_collect *c)
{
    json_t *root = NULL;
    const json_t *run = NULL;
    json_t *vars = json_pack("{s:s, s:s, s:s}", "project", c->project, "entity", c->entity,
                             "name", c->run_id);
    int rc = wb_graphql(c, "Run", WB_QUERY_RUN, vars, &root);
    if (rc == 0)
        rc = wb_reply_run(c, root, &run);
    if (rc != 0) {
        json_decref(root);
        return rc;
    }
    /* summaryMetrics is JSON inside a JSON string: decode it a second time */
    const json_t *sm = json_object_get(run, "summaryMetrics");
    if (sm == NULL || json_is_null(sm)) {
        c->summary = json_object();
    } else {
        c->summary = wb_json_field(sm);
        if (c->summary == NULL || !json_is_object(c->summary)) {
            char ex[120];
            const char *s = json_is_string(sm) ? json_string_value(sm) : "(not a string)";
            wb_clean(ex, sizeof(ex), s, strlen(s));
            pl_host->fail(c->ctx, "W&B run %s: summaryMetrics is not a JSON-encoded object: \"%s\"",
                          c->run_path, ex);
            json_decref(root);
            return RELHOST_EINVAL;
        }
    }
    json_t *hk = wb_json_field(json_object_get(run, "historyKeys"));
    if (hk != NULL) {
        const json_t *keys = json_object_get(hk, "keys");
        if (json_is_object(keys))
            c->history_keys = json_incref((json_t *)keys);
        json_decref(hk);
    }
    const json_t *lines = json_object_get(run, "historyLineCount");
    c->history_lines = json_is_integer(lines) ? (long long)json_integer_value(lines) : -1;
    const json_t *state = json_object_get(run, "state");
    if (json_is_string(state))
        wb_clean(c->state, sizeof(c->state), json_string_value(state), json_string_length(state));
    json_decref(root);
    return c->summary != NULL ? 0 : wb_oom(c, "reading a W&B run");
}

/* Which metrics need sampled history, one spec per distinct (key, samples). */
static size_t wb_plan_history(struct wb_collect *c, size_t *spec_metric)
{
    size_t n = c->conf->metrics.n, n_specs = 0;
    for (size_t i = 0; i < n; i++) {
        const struct metrics_wandb_metric *m = wb_row(c->conf, i);
        int need = wb_needs_history(m);
        if (!need && !c->summary_from_file && wb_lookup(c->summary, m->key) == NULL)
            /* "last" of a key the summary lacks: the last history row, if history has it */
            need = c->history_keys == NULL || json_object_get(c->history_keys, m->key) != NULL;
        c->spec_of[i] = -1;
        if (!need)
            continue;
        for (size_t s = 0; s < n_specs; s++) {
            const struct metrics_wandb_metric *o = wb_row(c->conf, spec_metric[s]);
            if (strcmp(o->key, m->key) == 0 && o->samples == m->samples) {
                c->spec_of[i] = (int)s;
                break;
            }
        }
        if (c->spec_of[i] < 0) {
            spec_metric[n_specs] = i;
            c->spec_of[i] = (int)n_specs++;
        }
    }
    return n_specs;
}

static int wb_fetch_history(struct wb_collect *c)
{
    size_t n = c->conf->metrics.n;
    size_t *spec_metric = calloc(n + 1, sizeof(*spec_metric));
    c->spec_of = calloc(n + 1, sizeof(*c->spec_of));
    if (spec_metric == NULL || c->spec_of == NULL) {
        free(spec_metric);
        return wb_oom(c, "planning W&B history queries");
    }
    size_t n_specs = wb_plan_history(c, spec_metric);
    if (n_specs == 0) {
        free(spec_metric);
        return 0;
    }
    /* Each spec is a JSON *string* holding {"keys":[...],"samples":N} (a JSONString scalar). */
    json_t *specs = json_array();
    for (size_t s = 0; specs != NULL && s < n_specs; s++) {
        const struct metrics_wandb_metric *m = wb_row(c->conf, spec_metric[s]);
        json_t *spec = strcmp(m->key, "_step") == 0
                           ? json_pack("{s:[s], s:I}", "keys", "_step", "samples",
                                       (json_int_t)m->samples)
                           : json_pack("{s:[s,s], s:I}", "keys", "_step", m->key, "samples",
                                       (json_int_t)m->samples);
        char *txt = spec != NULL ? json_dumps(spec, JSON_COMPACT) : NULL;
        json_decref(spec);
        if (txt == NULL || json_array_append_new(specs, json_string(txt)) != 0) {
            free(txt);
            json_decref(specs);
            specs = NULL;
            break;
        }
        free(txt);
    }
    free(spec_metric);
    if (specs == NULL)
        return wb_oom(c, "building a W&B history query");
    json_t *vars = json_pack("{s:s, s:s, s:s, s:o}", "project", c->project, "entity", c->entity,
                             "name", c->run_id, "specs", specs);
    json_t *root = NULL;
    const json_t *run = NULL;
    int rc = wb_graphql(c, "RunSampledHistory", WB_QUERY_HISTORY, vars, &root);
    if (rc == 0)
        rc = wb_reply_run(c, root, &run);
    if (rc != 0) {
        json_decref(root);
        return rc;
    }
    const json_t *sh = json_object_get(run, "sampledHistory");
    int ok = json_is_array(sh) && json_array_size(sh) == n_specs;
    for (size_t s = 0; ok && s < n_specs; s++) {
        const json_t *rows = json_array_get(sh, s);
        ok = json_is_array(rows) || json_is_null(rows);
    }
    if (!ok) {
        pl_host->fail(c->ctx, "W&B's sampledHistory for run %s is not a list of %zu row lists (one "
                      "per spec)", c->run_path, n_specs);
        json_decref(root);
        return RELHOST_EINVAL;
    }
    c->hist_root = root;
    c->hist = sh;
    return 0;
}

/* ---- Reducing and posting -------------------------------------------------------------------- */

struct wb_sample {
    double step, v;
    size_t idx;
};

static int wb_sample_cmp(const void *a, const void *b)
{
    const struct wb_sample *x = a, *y = b;
    if (x->step != y->step)
        return x->step < y->step ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

struct wb_values {
    struct wb_sample *v;
    size_t n, nonfinite, notnum;
};

/* The key's numeric values in the rows, in step order (row order when a row lacks _step). */
static int wb_history_values(const json_t *rows, const char *key, struct wb_values *out)
{
    size_t n = json_is_array(rows) ? json_array_size(rows) : 0;
    int all_steps = 1;
    memset(out, 0, sizeof(*out));
    out->v = calloc(n + 1, sizeof(*out->v));
    if (out->v == NULL)
        return RELHOST_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        const json_t *row = json_array_get(rows, i);
        const json_t *x = json_is_object(row) ? wb_lookup(row, key) : NULL;
        double v = 0, step = 0;
        if (x == NULL || json_is_null(x))
            continue;
        switch (wb_number(x, &v)) {
        case WB_NONFINITE: out->nonfinite++; continue;
        case WB_NOTNUM: out->notnum++; continue;
        case WB_NUM: break;
        }
        if (wb_number(json_object_get(row, "_step"), &step) != WB_NUM)
            all_steps = 0;
        out->v[out->n++] = (struct wb_sample){.step = step, .v = v, .idx = i};
    }
    if (all_steps && out->n > 1)
        qsort(out->v, out->n, sizeof(*out->v), wb_sample_cmp);
    return 0;
}

/* Reduce per the metric's reducer; *used: how many values went in. */
static double wb_reduce(const struct metrics_wandb_metric *m, const struct wb_values *vals,
                        uint64_t *used)
{
    size_t n = vals->n, from = 0;
    double r = vals->v[n - 1].v, sum = 0;
    switch (m->reducer) {
    case WB_LAST:
        *used = 1;
        return r;
    case WB_MAX:
    case WB_MIN:
        for (size_t i = 0; i < n; i++)
            if (m->reducer == WB_MAX ? vals->v[i].v > r : vals->v[i].v < r)
                r = vals->v[i].v;
        *used = n;
        return r;
    case WB_MEAN_LAST_PCT: {
        /* the last ceil(n * pct / 100) rows, at least one: "the last 25% of training" */
        double k = ceil((double)n * m->last_pct / 100.0 - 1e-9);
        size_t kk = k < 1 ? 1 : (k > (double)n ? n : (size_t)k);
        from = n - kk;
    } /* fall through */
    case WB_MEAN:
    default:
        for (size_t i = from; i < n; i++)
            sum += vals->v[i].v;
        *used = n - from;
        return sum / (double)(n - from);
    }
}

static int wb_post(struct wb_collect *c, const struct metrics_wandb_metric *m, double v,
                   uint64_t samples, const char *reducer)
{
    relhost_metric_info info = {
        .struct_size = sizeof(info),
        .source = NULL,
        .pattern = m->key,
        .reducer = reducer,
        .samples = samples,
    };
    int r = pl_host->metric_set != NULL ? pl_host->metric_set(c->ctx, m->name, v, &info)
                                     : RELHOST_ENOTSUP;
    if (r < 0)
        pl_host->fail(c->ctx, "the host refused metric \"%s\" (error %d)", m->name, r);
    return r < 0 ? r : 0;
}

static const char *wb_where_read(const struct wb_collect *c)
{
    return c->summary_from_file ? c->summary_file : "the W&B API";
}

/* One configured metric: post it, or say in a note why there is nothing to post. */
static int wb_metric(struct wb_collect *c, size_t i)
{
    const struct metrics_wandb_metric *m = wb_row(c->conf, i);
    char keys[400];

    if (m->reducer == WB_LAST && c->summary != NULL) {
        const json_t *x = wb_lookup(c->summary, m->key);
        double v = 0;
        if (x != NULL && !json_is_null(x)) {
            switch (wb_number(x, &v)) {
            case WB_NUM: return wb_post(c, m, v, 1, "last");
            case WB_NONFINITE:
                pl_host->note_add(c->ctx,
                                  "W&B key %s of run %s is not finite (NaN or Infinity) in the "
                                  "summary; %s not posted",
                                  m->key, c->run_path, m->name);
                return 0;
            case WB_NOTNUM:
                pl_host->note_add(c->ctx,
                                  "W&B key %s of run %s is not a number in the summary (a %s); "
                                  "%s not posted",
                                  m->key, c->run_path,
                                  json_is_string(x)   ? "string"
                                  : json_is_object(x) ? "JSON object"
                                  : json_is_array(x)  ? "list"
                                                      : "boolean",
                                  m->name);
                return 0;
            }
        }
    }
    int s = c->spec_of != NULL ? c->spec_of[i] : -1;
    if (s < 0 || c->hist == NULL) {
        wb_keys_text(c->summary, keys, sizeof(keys));
        pl_host->note_add(c->ctx, "W&B key %s not in run %s (%s; keys present: %s)", m->key,
                          c->run_path, wb_where_read(c), keys);
        return 0;
    }
    const json_t *rows = json_array_get(c->hist, (size_t)s);
    struct wb_values vals;
    if (wb_history_values(rows, m->key, &vals) != 0)
        return wb_oom(c, "reducing W&B history");
    int rc = 0;
    if (vals.nonfinite > 0)
        pl_host->note_add(c->ctx,
                          "W&B key %s of run %s: %zu non-finite value%s (NaN or Infinity) in "
                          "the sampled history skipped",
                          m->key, c->run_path, vals.nonfinite, vals.nonfinite == 1 ? "" : "s");
    if (vals.n == 0) {
        if (vals.notnum > 0)
            pl_host->note_add(c->ctx,
                              "W&B key %s of run %s has no numeric value in its sampled history "
                              "(%zu non-numeric value%s); %s not posted",
                              m->key, c->run_path, vals.notnum, vals.notnum == 1 ? "" : "s",
                              m->name);
        else if (vals.nonfinite == 0) {
            wb_keys_text(c->history_keys != NULL ? c->history_keys : c->summary, keys,
                         sizeof(keys));
            pl_host->note_add(c->ctx, "W&B key %s not in run %s (sampled history: %zu rows; keys "
                              "present: %s)", m->key, c->run_path,
                              json_is_array(rows) ? json_array_size(rows) : (size_t)0, keys);
        }
    } else {
        uint64_t used = 0;
        double v = wb_reduce(m, &vals, &used);
        if (!isfinite(v))
            pl_host->note_add(c->ctx, "W&B key %s of run %s: the %s of the sampled history is not "
                              "finite; %s not posted", m->key, c->run_path,
                              metrics_wandb_reducers[m->reducer], m->name);
        else
            rc = wb_post(c, m, v, used, metrics_wandb_reducers[m->reducer]);
        if (m->reducer != WB_LAST && c->history_lines > m->samples)
            pl_host->note_add(c->ctx,
                              "W&B run %s has %lld history rows; %s of %s is over a sample of "
                              "%zu (raise samples for more)",
                              c->run_path, c->history_lines, metrics_wandb_reducers[m->reducer],
                              m->key, vals.n);
    }
    free(vals.v);
    return rc;
}

/* The run's label, its URL in a note and as an artifact, and what else is worth knowing. */
static void wb_evidence(struct wb_collect *c)
{
    struct metrics_wandb_job *job = c->job;
    char url[WB_URL_MAX + 3 * WB_NAME_MAX + 16];

    if (c->run_id == NULL)
        return;
    if (pl_host->label_set != NULL)
        pl_host->label_set(c->ctx, "wandb_run", c->run_path);
    if (c->dir_id[0] != '\0' && strcmp(c->dir_id, c->run_id) != 0)
        pl_host->note_add(c->ctx, "run_dir %s holds run %s but the run id from %s is %s; %s",
                          c->run_dir, c->dir_id, c->run_id_from, c->run_id,
                          c->summary_from_file
                              ? "the summary is the folder's, any history the API's"
                              : "the API's run was read");
    if (job->n_urls > 0 && strcmp(job->last.id, c->run_id) != 0)
        pl_host->note_add(c->ctx,
                          "the log's last W&B run URL names run %s, but run %s (from %s) was "
                          "read",
                          job->last.id, c->run_id, c->run_id_from);
    if (job->several_runs)
        pl_host->note_add(c->ctx,
                          "the log printed URLs of more than one W&B run (first %s/%s/%s, last "
                          "%s/%s/%s): a restarted job; the last one counts",
                          job->first.entity, job->first.project, job->first.id, job->last.entity,
                          job->last.project, job->last.id);
    if (c->entity == NULL || c->project == NULL)
        return;
    if (job->n_urls > 0 && strcmp(job->last.id, c->run_id) == 0 &&
        strcmp(job->last.entity, c->entity) == 0 && strcmp(job->last.project, c->project) == 0)
        snprintf(url, sizeof(url), "%s", job->last.url);
    else
        snprintf(url, sizeof(url), "%s/%s/%s/runs/%s", c->inst->app_url, c->entity, c->project,
                 c->run_id);
    pl_host->note_add(c->ctx, "W&B run %s%s%s%s (run id from %s, read from %s): %s", c->run_path,
                      c->state[0] ? " (state " : "", c->state, c->state[0] ? ")" : "",
                      c->run_id_from, wb_where_read(c), url);
    if (pl_host->artifact_add != NULL)
        pl_host->artifact_add(c->ctx, "url", url, NULL);
    /* The reports link the run through the reserved label (ABI 1.4), which is https only: a
     * self-hosted server on plain http keeps its note and artifact. */
    if (pl_host->label_set != NULL && strncmp(url, "https://", 8) == 0)
        pl_host->label_set(c->ctx, RELHOST_LABEL_RUN_URL, url);
    if (c->state[0] && strcmp(c->state, "finished") != 0)
        pl_host->note_add(c->ctx, "W&B run %s is %s, not finished: its summary may not be final",
                          c->run_path, c->state);
    if (job->n_urls > 0 && (strcmp(job->last.entity, c->entity) != 0 ||
                            strcmp(job->last.project, c->project) != 0))
        pl_host->note_add(c->ctx,
                          "the log's run URL names %s/%s but the plan says %s/%s; the plan's "
                          "entity and project were used",
                          job->last.entity, job->last.project, c->entity, c->project);
}

static int metrics_wandb_collect(const relhost_ctx *ctx, void *jobp)
{
    struct metrics_wandb_job *job = jobp;
    struct wb_collect c = {.ctx = ctx, .job = job, .inst = job->inst, .conf = job->inst->conf,
                           .history_lines = -1};
    int rc = 0, any_history = 0;

    /* A log cut off without its last line end still ends in a line. */
    if (job->carry_len > 0 && !job->skipping)
        wb_scan_line(job, job->carry, job->carry_len);
    job->carry_len = 0;
    job->skipping = 0;

    for (size_t i = 0; i < c.conf->metrics.n; i++)
        any_history |= wb_needs_history(wb_row(c.conf, i));
    if (c.conf->run_dir != NULL)
        rc = wb_open_run_dir(&c);
    int need_api = !c.summary_from_file || any_history;
    if (rc == 0)
        rc = wb_resolve(&c, need_api);
    if (rc == 0 && need_api) {
        if (!RELHOST_HAS(pl_host, http_request) || pl_host->http_request == NULL) {
            pl_host->fail(
                ctx,
                "no HTTP service: this relhost does not offer host->http_request yet, so "
                "W&B run %s cannot be read from %s (a run_dir with files/wandb-summary.json "
                "needs no HTTP for reducer last)",
                c.run_path, c.inst->graphql_url);
            rc = RELHOST_ENOTSUP;
        } else if (pl_host->secret == NULL || pl_host->secret(ctx, c.conf->api_key_env) == NULL) {
            /* secret() also registers the key for redaction before any request is made */
            pl_host->fail(
                ctx,
                "no W&B API key: $%s is not set (or empty) in relhost's environment; "
                "export it (relhost sends it to %s as HTTP basic auth, never to jobs or logs) "
                "or name another variable with api_key_env",
                c.conf->api_key_env, c.inst->auth);
            rc = RELHOST_EINVAL;
        }
    }
    if (rc == 0 && need_api && !c.summary_from_file)
        rc = wb_fetch_run(&c);
    if (rc == 0 && need_api)
        rc = wb_fetch_history(&c);
    for (size_t i = 0; rc == 0 && i < c.conf->metrics.n; i++)
        rc = wb_metric(&c, i);
    if (rc == 0)
        wb_evidence(&c);
    wb_collect_free(&c);
    return rc;
}

/* ---- Instances and jobs ---------------------------------------------------------------------- */

static void metrics_wandb_close(void *instp) { free(instp); }

/* base_url: http(s), a host, a path at most; never credentials, a query or a fragment. */
static int wb_set_base(struct metrics_wandb *inst, const relhost_ctx *ctx, const char *url,
                       const char *from)
{
    const char *w = inst->conf->base_url != NULL ? pl_where(ctx, &inst->conf->base_url)
                                                 : "relhost's environment";
    size_t n = strlen(url);
    while (n > 0 && url[n - 1] == '/')
        n--;
    size_t i = wb_parse_origin(url, n, inst->auth, sizeof(inst->auth));
    int bad = i == 0 || n >= sizeof(inst->base) || (i < n && url[i] != '/');
    for (size_t k = 0; !bad && k < n; k++) {
        unsigned char ch = (unsigned char)url[k];
        bad = ch <= 0x20 || ch >= 0x7f || ch == '?' || ch == '#' || ch == '"' || ch == '\\';
    }
    if (memchr(url, '@', n) != NULL) {
        /* never echo it: the text before '@' is a password */
        pl_host->fail(ctx,
                      "%s (%s) must not carry credentials (user:password@): the API key is read "
                      "from the variable api_key_env names",
                      from, w);
        return RELHOST_EINVAL;
    }
    if (bad) {
        pl_host->fail(ctx, "%s \"%s\" (%s) is not an http(s) URL such as https://api.wandb.ai or "
                      "http://wandb.example.com:8080", from, url, w);
        return RELHOST_EINVAL;
    }
    memcpy(inst->base, url, n);
    inst->base[n] = '\0';
    snprintf(inst->base_from, sizeof(inst->base_from), "%s (%s)", from, w);
    snprintf(inst->graphql_url, sizeof(inst->graphql_url), "%s/graphql", inst->base);
    /* The public cloud serves its API and its pages on different hosts; a self-hosted server on
     * one. */
    if (strcmp(inst->auth, "api.wandb.ai") == 0)
        snprintf(inst->app_url, sizeof(inst->app_url), "https://wandb.ai");
    else
        snprintf(inst->app_url, sizeof(inst->app_url), "%s", inst->base);
    return 0;
}

static int metrics_wandb_open(const relhost_ctx *ctx, const void *confp, void **out)
{
    const struct metrics_wandb_conf *conf = confp;
    int rc;

    *out = NULL;
    struct metrics_wandb *inst = calloc(1, sizeof(*inst));
    if (inst == NULL) {
        pl_host->fail(ctx, "out of memory opening metrics_wandb");
        return RELHOST_ENOMEM;
    }
    inst->conf = conf;

    if (conf->metrics.n == 0) {
        pl_host->fail(ctx, "metrics (%s) is empty: list what to read, e.g. metrics = ( { name = "
                      "\"sps\"; key = \"overview/sps\"; } )", pl_where(ctx, &conf->metrics));
        goto bad;
    }
    for (size_t i = 0; i < conf->metrics.n; i++) {
        const struct metrics_wandb_metric *m = wb_row(conf, i);
        if (!wb_valid_metric(m->name)) {
            pl_host->fail(ctx, "metric name \"%s\" (%s) must be 1 to %d of A-Z a-z 0-9 _ . -",
                          m->name ? m->name : "", pl_where(ctx, &m->name), WB_NAME_MAX);
            goto bad;
        }
        if (m->key == NULL || m->key[0] == '\0' || strlen(m->key) > 256) {
            pl_host->fail(ctx, "metric \"%s\" (%s): key must be a W&B key of 1 to 256 bytes",
                          m->name, pl_where(ctx, &m->key));
            goto bad;
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(wb_row(conf, j)->name, m->name) == 0) {
                pl_host->fail(ctx, "metric \"%s\" (%s) is defined twice; give each its own name",
                              m->name, pl_where(ctx, &m->name));
                goto bad;
            }
        if (!isfinite(m->last_pct) || m->last_pct <= 0 || m->last_pct > 100) {
            pl_host->fail(ctx, "metric \"%s\" (%s): last_pct must be in (0, 100]", m->name,
                          pl_where(ctx, &m->last_pct));
            goto bad;
        }
    }
    if (conf->run_id_env != NULL && !wb_valid_env_name(conf->run_id_env)) {
        pl_host->fail(ctx, "run_id_env \"%s\" (%s) must be an environment variable name such as "
                      "WANDB_RUN_ID", conf->run_id_env, pl_where(ctx, &conf->run_id_env));
        goto bad;
    }
    if (conf->api_key_env == NULL || !wb_valid_env_name(conf->api_key_env)) {
        pl_host->fail(ctx,
                      "api_key_env (%s) must name an environment variable such as WANDB_API_KEY",
                      pl_where(ctx, &conf->api_key_env));
        goto bad;
    }
    if (conf->entity != NULL && conf->entity[0] == '\0') {
        pl_host->fail(ctx, "entity (%s) is empty", pl_where(ctx, &conf->entity));
        goto bad;
    }
    if (conf->project != NULL && conf->project[0] == '\0') {
        pl_host->fail(ctx, "project (%s) is empty", pl_where(ctx, &conf->project));
        goto bad;
    }
    /* WANDB_BASE_URL is what wandb itself reads for a self-hosted server: not a secret. */
    const char *env_base = getenv("WANDB_BASE_URL");
    if (conf->base_url != NULL)
        rc = wb_set_base(inst, ctx, conf->base_url, "base_url");
    else if (env_base != NULL && env_base[0] != '\0')
        rc = wb_set_base(inst, ctx, env_base, "$WANDB_BASE_URL");
    else
        rc = wb_set_base(inst, ctx, "https://api.wandb.ai", "the default base_url");
    if (rc != 0)
        goto bad;
    *out = inst;
    return 0;
bad:
    metrics_wandb_close(inst);
    return RELHOST_EINVAL;
}

static void metrics_wandb_job_close(void *jobp)
{
    struct metrics_wandb_job *job = jobp;
    if (job == NULL)
        return;
    free(job->validation);
    free(job->attempt);
    free(job->env_run_id);
    free(job->env_entity);
    free(job->env_project);
    free(job->carry);
    free(job);
}

/* Nothing here can fail for a reason of the plan's: what the job lacks is reported by collect(),
 * where it makes the job an ERROR (a failed job_open would just leave the source out). */
static int metrics_wandb_job_open(const relhost_ctx *ctx, void *instp, const relhost_job_spec *spec,
                                  void **out)
{
    struct metrics_wandb *inst = instp;
    struct metrics_wandb_job *job = calloc(1, sizeof(*job));
    const char *const *env = spec != NULL ? spec->env : NULL;
    *out = NULL;
    if (job == NULL)
        goto oom;
    job->inst = inst;
    job->carry = malloc(WB_LINE_MAX);
    if (job->carry == NULL)
        goto oom;
    if (spec != NULL && spec->validation != NULL &&
        (job->validation = wb_strdup(spec->validation)) == NULL)
        goto oom;
    /* what the job was given; the last "NAME=" entry is what its environment holds */
    static const struct {
        const char *name;
        size_t field;
    } wanted[] = {
        {"RELHOST_ATTEMPT", offsetof(struct metrics_wandb_job, attempt)},
        {"WANDB_ENTITY", offsetof(struct metrics_wandb_job, env_entity)},
        {"WANDB_PROJECT", offsetof(struct metrics_wandb_job, env_project)},
        {NULL, offsetof(struct metrics_wandb_job, env_run_id)}, /* run_id_env's */
    };
    for (size_t i = 0; i < sizeof(wanted) / sizeof(wanted[0]); i++) {
        const char *name = wanted[i].name != NULL ? wanted[i].name : inst->conf->run_id_env;
        const char *v = name != NULL ? wb_env_lookup(env, name) : NULL;
        char **field = (char **)(void *)((char *)job + wanted[i].field);
        if (v != NULL && (*field = wb_strdup(v)) == NULL)
            goto oom;
    }
    *out = job;
    return 0;
oom:
    metrics_wandb_job_close(job);
    pl_host->fail(ctx, "out of memory starting a metrics_wandb job");
    return RELHOST_ENOMEM;
}

/* ---- Descriptor ------------------------------------------------------------------------------ */

/* ---- Keys and credentials (ABI 1.3) --------------------------------------------------------- */

/* The keys the plan's checks may name: every configured metric's name, and the label wandb_run.
 * The host copies each name. */
static int metrics_wandb_keys(const void *confp, void (*add)(void *payload, const char *key),
                              void *payload)
{
    const struct metrics_wandb_conf *conf = confp;
    if (conf == NULL || add == NULL)
        return RELHOST_EINVAL;
    for (size_t i = 0; i < conf->metrics.n; i++)
        if (wb_row(conf, i)->name != NULL)
            add(payload, wb_row(conf, i)->name);
    add(payload, "wandb_run");
    return 0;
}

/* The API key's variable, unless the metrics come from a run folder (run_dir: the run's
 * files/wandb-summary.json, read with no key; see README "Reading the run"). */
static int metrics_wandb_credentials(const void *confp,
                                     void (*add)(void *payload, const char *env_name),
                                     void *payload)
{
    const struct metrics_wandb_conf *conf = confp;
    if (conf == NULL || add == NULL)
        return RELHOST_EINVAL;
    if (conf->run_dir == NULL && conf->api_key_env != NULL && *conf->api_key_env)
        add(payload, conf->api_key_env);
    return 0;
}

const relhost_plugin pl_plugin = {
    PL_PLUGIN_BASE("metrics_wandb", "1.0.0", metrics_wandb_options, struct metrics_wandb_conf),
    .description = "metrics from a job's Weights & Biases run: summary and sampled history",
    .metrics = &(const relhost_metrics_ops){.struct_size = sizeof(relhost_metrics_ops),
                                            .open = metrics_wandb_open,
                                            .job_open = metrics_wandb_job_open,
                                            .feed = metrics_wandb_feed,
                                            .collect = metrics_wandb_collect,
                                            .job_close = metrics_wandb_job_close,
                                            .close = metrics_wandb_close,
                                            .keys = metrics_wandb_keys,
                                            .credentials = metrics_wandb_credentials},
};
