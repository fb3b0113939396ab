/* SPDX-License-Identifier: MIT */
#include "view/explain.h"

#include "base/error.h"
#include "base/log.h"
#include "base/outcome.h"
#include "base/secrets.h"
#include "base/util.h"
#include "record/record.h"
#include "record/state.h"
#include "view/report_files.h"
#include "view/status_json.h"
#include "view/text.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- reading ------------------------------------------------------------------------------ */

static json_t *jstr(const char *s) { return s ? json_string(s) : json_null(); }

/* A value taken from the raw state for output: strings redacted, finite numbers kept, anything
 * else null (the shape of future members such as bound and stat is not ours to trust). */
static json_t *scalar(json_t *v)
{
    if (json_is_string(v)) {
        strbuf b;
        json_t *r;
        sb_init(&b);
        secrets_redact(&b, json_string_value(v), json_string_length(v));
        r = json_stringn(b.s, b.len);
        sb_free(&b);
        return r ? r : json_null();
    }
    if (json_is_number(v) && isfinite(json_number_value(v)))
        return json_is_integer(v) ? json_integer(json_integer_value(v))
                                  : json_real(json_real_value(v));
    return json_null();
}

static const char *str(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static relhost_outcome oc_of(json_t *o)
{
    const char *s = str(o, "outcome");
    return s ? outcome_parse(s) : RELHOST_NONE;
}

/* The registry's word on this release: {"manifest", "found", "status", "reason", "error"}. A
 * missing manifest is the normal state of a plan without promotion; a broken one is said, not
 * fatal. Read directly, without registry_open(): that takes the registry's lock and may finish
 * an operation, and explain writes nothing. */
static json_t *registry_of(const char *manifest, const char *version)
{
    json_t *o = json_object(), *doc, *rels, *e, *found = NULL;
    json_error_t je;
    size_t i;
    json_object_set_new(o, "manifest", jstr(manifest));
    json_object_set_new(o, "found", json_false());
    json_object_set_new(o, "status", json_null());
    json_object_set_new(o, "reason", json_null());
    json_object_set_new(o, "error", json_null());
    if (!manifest || access(manifest, F_OK) != 0)
        return o;
    json_object_set_new(o, "found", json_true());
    doc = json_load_file(manifest, 0, &je);
    rels = json_object_get(doc, "releases");
    if (!doc || !json_is_array(rels)) {
        char *m = doc ? xasprintf("%s has no \"releases\" array; the verdict comes from the "
                                  "release state",
                                  manifest)
                      : xasprintf("cannot read %s: %s (line %d); the verdict comes from the "
                                  "release state",
                                  manifest, je.text, je.line);
        json_object_set_new(o, "error", json_string(m));
        free(m);
        json_decref(doc);
        return o;
    }
    /* The last entry wins: a registry appends, so a later status supersedes an earlier one. */
    json_array_foreach(rels, i, e)
    {
        const char *v = str(e, "version");
        if (v && version && strcmp(v, version) == 0 && str(e, "status"))
            found = e;
    }
    if (found) {
        json_object_set_new(o, "status", scalar(json_object_get(found, "status")));
        json_object_set_new(o, "reason", scalar(json_object_get(found, "reason")));
    }
    json_decref(doc);
    return o;
}

static const char *verdict_of(json_t *registry, const char *decision)
{
    static const char *const reg[] = {"promoted", "quarantined", "rolled_back", NULL};
    const char *s = str(registry, "status");
    for (size_t i = 0; s && reg[i]; i++)
        if (strcmp(s, reg[i]) == 0)
            return reg[i];
    return decision;
}

/* A check member the model does not list the way explain shows it: a JSON integer in the state
 * stays an integer. */
static json_t *real_out(record_real r)
{
    if (!r.set)
        return json_null();
    return r.is_int ? json_integer((json_int_t)r.v) : json_real(r.v);
}

/* The failing checks of a step or job: item is its report model object, ev its record (the k-th
 * check of one is the k-th of the other). */
static void add_failing_checks(json_t *out, json_t *item, const evidence_record *ev,
                               const char *step, const char *validation)
{
    json_t *c;
    size_t k;
    json_array_foreach(json_object_get(json_object_get(item, "evidence"), "checks"), k, c)
    {
        const check_record *r = k < ev->nchecks ? &ev->checks[k] : NULL;
        json_t *o;
        static const char *const keys[] = {"key",    "op",       "expected", "expected_hi",
                                           "actual", "baseline", NULL};
        if (json_is_true(json_object_get(c, "passed")))
            continue;
        o = json_object();
        json_object_set_new(o, "step", jstr(step));
        json_object_set_new(o, "validation", jstr(validation));
        for (size_t i = 0; keys[i]; i++)
            json_object_set(o, keys[i], json_object_get(c, keys[i]));
        json_object_set_new(o, "bound", r ? real_out(r->bound) : json_null());
        json_object_set_new(o, "stat", jstr(r ? r->stat : NULL));
        json_object_set(o, "note", json_object_get(c, "note"));
        json_array_append_new(out, o);
    }
}

static json_t *step_brief(json_t *s)
{
    json_t *o = json_object();
    json_object_set(o, "name", json_object_get(s, "name"));
    json_object_set(o, "outcome", json_object_get(s, "outcome"));
    json_object_set(o, "reason", json_object_get(s, "reason"));
    json_object_set(o, "message", json_object_get(s, "message"));
    json_object_set(o, "notes", json_object_get(json_object_get(s, "evidence"), "notes"));
    return o;
}

static json_t *job_brief(json_t *j)
{
    static const char *const keys[] = {
        "id",       "step",      "validation",         "outcome",     "reason",    "attempt",
        "restarts", "exit_code", "termination_reason", "external_id", "lifecycle", "log_path",
        NULL};
    json_t *o = json_object();
    for (size_t i = 0; keys[i]; i++)
        json_object_set(o, keys[i], json_object_get(j, keys[i]));
    return o;
}

static json_t *waivers_of(const release_record *rec)
{
    json_t *out = json_array();
    for (size_t i = 0; i < rec->nwaivers; i++) {
        const waiver_record *w = &rec->waivers[i];
        json_t *o = json_object();
        json_object_set_new(o, "step", jstr(w->step));
        json_object_set_new(o, "validation", jstr(w->validation));
        json_object_set_new(o, "who", jstr(w->who));
        json_object_set_new(o, "reason", jstr(w->reason));
        json_object_set_new(o, "expires", jstr(w->expires));
        json_array_append_new(out, o);
    }
    return out;
}

/* The verdict line: the word people read first, then what it means. in_progress has its own. */
static const struct {
    const char *verdict, *word, *meaning;
} headlines[] = {
    {"promoted", "PROMOTED", "the registry lists it as promoted"},
    {"quarantined", "QUARANTINED", "never published, never promotable"},
    {"rolled_back", "ROLLED BACK", "the registry rolled it back"},
    {"passed", "PASSED (not promoted)", "every required step passed"},
    {"failed", "FAILED", "a required step failed"},
    {"frozen", "FROZEN", "every gate passed, but publishing is frozen"},
    {"deferred", "DEFERRED", "a retryable tool error; run it again to retry"},
    {"interrupted", "INTERRUPTED", "run it again to resume"},
    {"undecided", "UNDECIDED", "a required step could not decide"},
};

static char *headline(const char *verdict, json_t *rel, json_t *jobs)
{
    const char *v = str(rel, "version"), *pl = str(rel, "plan_name");
    json_t *code = json_object_get(rel, "exit_code"), *j;
    char ec[64] = "";
    size_t done = 0, i;
    /* A registry verdict says what the runs decided too: "quarantined" alone hides whether a
     * gate failed or someone quarantined a green release. */
    if (json_is_integer(code) &&
        strcmp(verdict, str(rel, "decision") ? str(rel, "decision") : "") == 0)
        snprintf(ec, sizeof ec, " (exit %lld)", (long long)json_integer_value(code));
    else if (json_is_integer(code))
        snprintf(ec, sizeof ec, " (the run: %s, exit %lld)", str(rel, "decision"),
                 (long long)json_integer_value(code));
    for (i = 0; i < sizeof headlines / sizeof headlines[0]; i++)
        if (strcmp(verdict, headlines[i].verdict) == 0)
            return xasprintf("%s: release %s of plan %s: %s%s", headlines[i].word, v ? v : "?",
                             pl ? pl : "?", headlines[i].meaning, ec);
    json_array_foreach(jobs, i, j) done += str(j, "outcome") != NULL;
    return xasprintf("IN PROGRESS: release %s of plan %s: %zu of %zu job(s) finished, no "
                     "decision yet",
                     v ? v : "?", pl ? pl : "?", done, json_array_size(jobs));
}

/* Steps: failing checks, skipped and optional failures, the blocking step, defers. */
static json_t *explain_steps(json_t *x, json_t *m, const release_record *rec, json_t *checks)
{
    json_t *skipped = json_array(), *optional = json_array(), *dlist = json_array();
    json_t *blocking = NULL, *s;
    size_t i;
    json_array_foreach(json_object_get(m, "steps"), i, s)
    {
        const step_record *r = &rec->steps[i];
        relhost_outcome oc = oc_of(s);
        int req = json_is_true(json_object_get(s, "required"));
        long d = record_step_defers(r);
        add_failing_checks(checks, s, &r->evidence, r->name, NULL);
        if (oc == RELHOST_SKIPPED)
            json_array_append_new(skipped, step_brief(s));
        else if (!req && oc != RELHOST_NONE && !outcome_ok(oc))
            json_array_append_new(optional, step_brief(s));
        if (req && !blocking && oc != RELHOST_NONE && !outcome_ok(oc))
            blocking = step_brief(s);
        if (d > 0) {
            json_t *o = json_object();
            json_object_set_new(o, "step", jstr(r->name));
            json_object_set_new(o, "defers", json_integer(d));
            json_array_append_new(dlist, o);
        }
    }
    json_object_set_new(x, "optional_failures", optional);
    json_object_set_new(x, "skipped", skipped);
    json_object_set_new(x, "steps_defers", dlist);
    return blocking;
}

/* Jobs: failing checks, failing and unfinished jobs, retries. */
static void explain_jobs(json_t *x, json_t *m, const release_record *rec, json_t *checks)
{
    json_t *fjobs = json_array(), *unfin = json_array(), *rlist = json_array(), *retries, *j;
    json_int_t spent = 0;
    size_t i;
    json_array_foreach(json_object_get(m, "jobs"), i, j)
    {
        const job_record *r = &rec->jobs[i];
        json_t *att = json_object_get(j, "attempt");
        relhost_outcome oc = oc_of(j);
        add_failing_checks(checks, j, &r->evidence, str(j, "step"), str(j, "validation"));
        if (oc != RELHOST_NONE && !outcome_ok(oc) && oc != RELHOST_SKIPPED)
            json_array_append_new(fjobs, job_brief(j));
        if (!str(j, "lifecycle") || strcmp(str(j, "lifecycle"), "completed") != 0)
            json_array_append_new(unfin, job_brief(j));
        if (json_is_integer(att) && json_integer_value(att) > 1) {
            json_t *o = json_object();
            json_object_set(o, "id", json_object_get(j, "id"));
            json_object_set(o, "attempt", att);
            json_object_set_new(o, "retries", json_integer(json_integer_value(att) - 1));
            json_object_set(o, "restarts", json_object_get(j, "restarts"));
            json_array_append_new(rlist, o);
            spent += json_integer_value(att) - 1;
        }
    }
    retries = json_object();
    json_object_set_new(retries, "spent", json_integer(spent));
    json_object_set_new(retries, "jobs", rlist);
    json_object_set_new(x, "failing_jobs", fjobs);
    json_object_set_new(x, "unfinished_jobs", unfin);
    json_object_set_new(x, "retries", retries);
}

/* The explain object in its documented member order, from the parts x holds. */
static json_t *explain_assemble(json_t *parts, const char *verdict, const char *head, json_t *m,
                                json_t *reg, json_t *blocking, json_t *checks, json_t *defers,
                                json_t *waivers, const explain_context *ctx)
{
    json_t *x = json_object();
    json_object_set_new(x, "explain_schema", json_integer(EXPLAIN_SCHEMA));
    json_object_set_new(x, "verdict", json_string(verdict));
    json_object_set_new(x, "headline", json_string(head));
    json_object_set(x, "release", json_object_get(m, "release"));
    json_object_set_new(x, "registry", reg);
    json_object_set_new(x, "blocking_step", blocking ? blocking : json_null());
    json_object_set_new(x, "failing_checks", checks);
    json_object_set(x, "failing_jobs", json_object_get(parts, "failing_jobs"));
    json_object_set(x, "unfinished_jobs", json_object_get(parts, "unfinished_jobs"));
    json_object_set(x, "optional_failures", json_object_get(parts, "optional_failures"));
    json_object_set(x, "skipped", json_object_get(parts, "skipped"));
    json_object_set_new(x, "waivers", waivers);
    json_object_set(x, "retries", json_object_get(parts, "retries"));
    json_object_set_new(x, "defers", defers);
    json_object_set_new(x, "freeze", status_freeze_json(ctx->frz, ctx->frz_error));
    return x;
}

json_t *explain_model(json_t *root, const explain_context *ctx)
{
    release_record rec;
    json_t *m, *x, *reg, *checks = json_array(), *parts = json_object(), *defers, *blocking;
    const char *decision, *verdict;
    char *head;
    if (record_read(root, &rec) != 0) {
        json_decref(checks);
        json_decref(parts);
        return NULL;
    }
    text_redact_record(&rec);
    m = report_model_of(&rec);
    decision = record_decision(&rec);
    reg = registry_of(ctx->manifest, str(json_object_get(m, "release"), "version"));
    verdict = verdict_of(reg, decision);
    blocking = explain_steps(parts, m, &rec, checks);
    /* A green or promoted release has nothing blocking it, whatever an alert step did. */
    if (blocking && (strcmp(decision, "passed") == 0 || strcmp(verdict, "promoted") == 0)) {
        json_decref(blocking);
        blocking = NULL;
    }
    explain_jobs(parts, m, &rec, checks);
    defers = json_object();
    json_object_set_new(defers, "spent", json_integer(record_defers_spent(&rec)));
    json_object_set_new(defers, "max_defers", json_integer(ctx->max_defers));
    json_object_set(defers, "steps", json_object_get(parts, "steps_defers"));

    head = headline(verdict, json_object_get(m, "release"), json_object_get(m, "jobs"));
    if (strcmp(verdict, "quarantined") == 0 && rec.published) {
        /* a publishing step (a tag, a post) ran before a later one failed: say so */
        char *h =
            xasprintf("%s; but a publishing step of it had already run (see its steps)", head);
        free(head);
        head = h;
    }
    if (rec.unmet_required && strcmp(decision, "undecided") == 0) {
        /* finished with exit 0 beside a required step without a passing record: say which */
        char *h = xasprintf("%s; the state says exit 0, but required step %s has no passing "
                            "record (was the state edited by hand? run the release again to "
                            "decide it)",
                            head, rec.unmet_required);
        free(head);
        head = h;
    }
    x = explain_assemble(parts, verdict, head, m, reg, blocking, checks, defers, waivers_of(&rec),
                         ctx);
    free(head);
    json_decref(parts);
    json_decref(m);
    record_free(&rec);
    return x;
}

/* ---- text --------------------------------------------------------------------------------- */

/* "text" with every line after the first indented, so a multi-line message stays readable. */
/* A message or note (which may quote a job's output), cleaned of terminal control sequences
 * (core/view/text.c), its later lines under indent. */
static void put_indented(const char *text, const char *indent)
{
    strbuf clean;
    const char *s;
    if (!text)
        return;
    sb_init(&clean);
    text_clean(&clean, text, strlen(text));
    s = clean.s;
    while (*s) {
        size_t n = strcspn(s, "\n");
        out_printf("%.*s", (int)n, s);
        s += n;
        if (*s == '\n' && *++s)
            out_printf("\n%s", indent);
    }
    sb_free(&clean);
}

static void print_check(json_t *c)
{
    strbuf e;
    const char *val = str(c, "validation"), *note = str(c, "note");
    sb_init(&e);
    /* "sps_max 12833 < 30000 (needs >= 30000)": the value, what broke, the rule */
    if (report_check_failure(c, &e))
        note = NULL; /* a broken bound: the note says the same */
    out_printf("    %s%s%s: %s%s", str(c, "step") ? str(c, "step") : "?", val ? "/" : "",
               val ? val : "", e.s, note ? "  - " : "");
    put_indented(note, "      ");
    out_printf("\n");
    sb_free(&e);
}

/* For the text only (the JSON's key set is fixed): each unfinished job's "started_at" from the
 * state, so that one an interrupt stopped while it ran reads "stopped", not "pending". */
static void mark_started(json_t *x, json_t *root)
{
    release_record rec;
    json_t *v;
    size_t i;
    record_read(root, &rec);
    json_array_foreach(json_object_get(x, "unfinished_jobs"), i, v)
    {
        for (size_t k = 0; k < rec.njobs; k++)
            if (str(v, "id") && strcmp(rec.jobs[k].id, str(v, "id")) == 0 && rec.jobs[k].started_at)
                json_object_set_new(v, "started_at", json_string(rec.jobs[k].started_at));
    }
    record_free(&rec);
}

/* stopped: the release was interrupted (a job it stopped waits as "pending" for the resume) */
static void print_job(json_t *j, int failing, int stopped)
{
    const char *oc = str(j, "outcome"), *reason = str(j, "reason"), *log = str(j, "log_path");
    const char *term = str(j, "termination_reason"), *ext = str(j, "external_id");
    const char *life = str(j, "lifecycle");
    json_t *ex = json_object_get(j, "exit_code");
    if (stopped && life && strcmp(life, "pending") == 0 && str(j, "started_at"))
        life = "stopped";
    out_printf("    %s: %s", str(j, "id") ? str(j, "id") : "?",
               failing ? (oc ? oc : "?") : (life ? life : "?"));
    if (failing && reason)
        out_printf(" (%s)", reason);
    if (json_is_integer(json_object_get(j, "attempt")))
        out_printf(", attempt %lld", (long long)json_integer_value(json_object_get(j, "attempt")));
    if (json_is_integer(ex))
        out_printf(", exit %lld", (long long)json_integer_value(ex));
    if (term)
        out_printf(", %s", term);
    if (json_integer_value(json_object_get(j, "restarts")) > 0)
        out_printf(", %lld restart(s)",
                   (long long)json_integer_value(json_object_get(j, "restarts")));
    if (ext)
        out_printf(", external id %s", ext);
    out_printf("\n");
    if (failing)
        out_printf("      log: %s\n", log ? log : "(none recorded)");
}

/* ": message", or, when the step gave none, ": note; note" (a gate often explains in a note). */
static void print_why(json_t *s, const char *indent)
{
    const char *msg = str(s, "message");
    json_t *n;
    size_t i;
    if (msg) {
        out_printf(": ");
        put_indented(msg, indent);
        return;
    }
    json_array_foreach(json_object_get(s, "notes"), i, n)
    {
        out_printf("%s", i ? "; " : ": ");
        put_indented(json_string_value(n), indent);
    }
}

static void print_steps(const char *title, json_t *list)
{
    json_t *s;
    size_t i;
    if (!json_array_size(list))
        return;
    out_printf("  %s:\n", title);
    json_array_foreach(list, i, s)
    {
        const char *reason = str(s, "reason");
        out_printf("    %s: %s%s%s", str(s, "name"), str(s, "outcome") ? str(s, "outcome") : "?",
                   reason ? ", " : "", reason ? reason : "");
        print_why(s, "      ");
        out_printf("\n");
    }
}

static void print_text(json_t *x)
{
    json_t *b = json_object_get(x, "blocking_step"), *v, *reg = json_object_get(x, "registry");
    json_t *frz = json_object_get(x, "freeze"), *def = json_object_get(x, "defers");
    json_t *ret = json_object_get(x, "retries");
    size_t i;
    const char *dec = str(json_object_get(x, "release"), "decision");
    int stopped = dec && strcmp(dec, "interrupted") == 0;
    out_printf("%s\n", str(x, "headline"));
    if ((v = json_object_get(json_object_get(x, "release"), "candidate")) && str(v, "commit"))
        out_printf("  candidate: %.12s (%s of %s)\n", str(v, "commit"),
                   str(v, "ref") ? str(v, "ref") : "?", str(v, "repo") ? str(v, "repo") : "?");
    if (json_is_object(b)) {
        const char *reason = str(b, "reason");
        out_printf("  why: required step %s is %s%s%s%s", str(b, "name"), str(b, "outcome"),
                   reason ? " (" : "", reason ? reason : "", reason ? ")" : "");
        print_why(b, "       ");
        out_printf("\n");
    }
    if (json_array_size(json_object_get(x, "failing_checks"))) {
        out_printf("  failing checks:\n");
        json_array_foreach(json_object_get(x, "failing_checks"), i, v) print_check(v);
    }
    if (json_array_size(json_object_get(x, "failing_jobs"))) {
        out_printf("  jobs that did not pass:\n");
        json_array_foreach(json_object_get(x, "failing_jobs"), i, v) print_job(v, 1, 0);
    }
    if (json_array_size(json_object_get(x, "unfinished_jobs"))) {
        out_printf("  unfinished jobs:\n");
        json_array_foreach(json_object_get(x, "unfinished_jobs"), i, v) print_job(v, 0, stopped);
    }
    print_steps("optional steps that did not pass", json_object_get(x, "optional_failures"));
    print_steps("skipped", json_object_get(x, "skipped"));
    json_array_foreach(json_object_get(x, "waivers"), i, v)
    {
        const char *val = str(v, "validation"), *exp = str(v, "expires"), *r = str(v, "reason");
        out_printf("%s    %s%s%s waived by %s%s%s: %s\n", i ? "" : "  waivers:\n",
                   str(v, "step") ? str(v, "step") : "?", val ? "/" : "", val ? val : "",
                   str(v, "who") ? str(v, "who") : "?", exp ? " until " : "", exp ? exp : "",
                   r ? r : "(no reason given)");
    }
    if (json_integer_value(json_object_get(ret, "spent")) == 0) {
        out_printf("  retries: none (every job ran once)\n");
    } else {
        out_printf("  retries: %lld:",
                   (long long)json_integer_value(json_object_get(ret, "spent")));
        json_array_foreach(json_object_get(ret, "jobs"), i, v)
            out_printf("%s %s attempt %lld", i ? "," : "", str(v, "id"),
                       (long long)json_integer_value(json_object_get(v, "attempt")));
        out_printf("\n");
    }
    out_printf("  defers: ");
    if (json_integer_value(json_object_get(def, "spent")) == 0)
        out_printf("none");
    json_array_foreach(json_object_get(def, "steps"), i, v)
        out_printf("%s%s %lld", i ? ", " : "", str(v, "step"),
                   (long long)json_integer_value(json_object_get(v, "defers")));
    out_printf(" (max_defers %lld per step)\n",
               (long long)json_integer_value(json_object_get(def, "max_defers")));
    if (json_is_true(json_object_get(frz, "frozen"))) {
        const char *by = str(frz, "by"), *at = str(frz, "at");
        const char *why = str(frz, "reason") ? str(frz, "reason") : str(frz, "error");
        if (by)
            out_printf("  publishing is frozen now: %s (by %s at %s)\n", why, by, at ? at : "?");
        else
            out_printf("  publishing is frozen now: %s\n", why ? why : "?");
    }
    if (str(reg, "error"))
        out_printf("  registry: %s\n", str(reg, "error"));
    else if (str(reg, "status"))
        out_printf("  registry: %s in %s%s%s\n", str(reg, "status"), str(reg, "manifest"),
                   str(reg, "reason") ? ": " : "", str(reg, "reason") ? str(reg, "reason") : "");
    else if (json_is_true(json_object_get(reg, "found")))
        out_printf("  registry: %s has no entry for this release\n", str(reg, "manifest"));
    else
        out_printf("  registry: none (no %s); the verdict comes from the release state\n",
                   str(reg, "manifest") ? str(reg, "manifest") : "registry_dir");
}

int explain_print(json_t *x, int json)
{
    if (json)
        return status_print_json(x);
    print_text(x);
    if (fflush(stdout) != 0 || ferror(stdout))
        return error_set(RELHOST_EIO, "cannot write to standard output: %s", strerror(errno));
    return 0;
}

int explain_release(plan *p, int json)
{
    state *st = NULL;
    freeze_info frz;
    char *manifest = p->registry_dir ? path_join(p->registry_dir, "manifest.json") : NULL;
    char *frz_err = NULL;
    json_t *x;
    int code = 0, frc;
    if (!(st = state_open_recorded(p->state_dir, p->version, "to explain"))) {
        free(manifest);
        return EXIT_USAGE;
    }
    if ((frc = freeze_get(p->state_dir, &frz)) != 0)
        frz_err = xstrdup(error_last());
    {
        explain_context ctx = {.manifest = manifest,
                               .frz = frc ? NULL : &frz,
                               .frz_error = frz_err,
                               .max_defers = p->max_defers};
        x = explain_model(state_root(st), &ctx);
    }
    if (x && !json)
        mark_started(x, state_root(st));
    if (!x || explain_print(x, json) != 0) {
        log_msg(RELHOST_LOG_ERROR, NULL, "release %s: %s", p->version, error_last());
        code = EXIT_USAGE;
    } else if (json_is_string(json_object_get(json_object_get(x, "registry"), "error"))) {
        log_msg(RELHOST_LOG_WARN, "registry", "%s",
                json_string_value(json_object_get(json_object_get(x, "registry"), "error")));
    }
    json_decref(x);
    free(frz_err);
    free(manifest);
    state_close(st);
    return code;
}
