/* SPDX-License-Identifier: MIT */
/* site_banner.c - the status page's banner, the first thing on it: which release is live (the
 * one last_green names), since when, whether it is healthy (its run's outcome, the kill switch, a
 * rollback) and the last promotion or rollback, by whom and why. The inputs are read by site.c
 * (the audit log, the manifest, frozen.json); nothing here reads a file. */
#include "view/site.h"

#include <string.h>

const char site_banner_css[] =
    ".banner{border:2px solid #8250df;border-radius:.5rem;padding:.5rem 1rem;margin:.5rem 0 1rem;"
    "background:#fbefff}.banner h1{margin:.25rem 0}.banner p{margin:.35rem 0}"
    ".banner ul{margin:.25rem 0;padding-left:1.2rem}.banner .live{font-size:1.1rem}"
    ".h-healthy{border-color:#1a7f37;background:#dafbe1}"
    ".h-degraded{border-color:#bc4c00;background:#fff1e5}"
    ".h-unhealthy{border-color:#cf222e;background:#ffebe9}"
    ".health-badge{display:inline-block;padding:0 .5rem;border-radius:1rem;font-weight:700;"
    "color:#fff;background:#8250df}.h-healthy .health-badge{background:#1a7f37}"
    ".h-degraded .health-badge{background:#bc4c00}.h-unhealthy .health-badge{background:#cf222e}";

/* Worst first: a worse finding is never hidden by a milder one. */
typedef enum health { H_HEALTHY, H_DEGRADED, H_UNKNOWN, H_UNHEALTHY } health;

static const char *const health_word[] = {"healthy", "degraded", "unknown", "unhealthy"};
static const char *const health_label[] = {"Healthy", "Degraded", "Health unknown", "Unhealthy"};

static void worsen(health *h, health to)
{
    if (to > *h)
        *h = to;
}

static int is_rollback(const site_change *c)
{
    return c->known && c->operation && strncmp(c->operation, "rollback", 8) == 0;
}

/* A required step of rec that ended and did not pass (nor was waived or skipped), or NULL. */
static const step_record *required_not_passed(const release_record *rec)
{
    for (size_t i = 0; i < rec->nsteps; i++) {
        const step_record *s = &rec->steps[i];
        if (s->required && (s->outcome == RELHOST_FAILED || s->outcome == RELHOST_ERROR ||
                            s->outcome == RELHOST_INCONCLUSIVE))
            return s;
    }
    return NULL;
}

/* What the live release's recorded run says. A run still going (the registry writes this page
 * from its promote step, before the run ends) is judged by its required steps so far: the
 * promotion came after they passed, and one that ended otherwise is unhealthy. */
static health run_health(const site_release *live, strbuf *why)
{
    const char *dec = record_decision(live->record);
    const step_record *bad = required_not_passed(live->record);
    sb_printf(why, "<li class=\"run\" data-decision=\"%s\">", dec);
    if (strcmp(dec, "passed") == 0 && !bad) {
        sb_puts(why, "Its run passed.</li>");
        return H_HEALTHY;
    }
    if (strcmp(dec, "in_progress") == 0 && !bad && live->entry->status == MANIFEST_PROMOTED) {
        sb_puts(why, "Its run was still going when this page was written; every required step "
                     "that has ended passed.</li>");
        return H_HEALTHY;
    }
    sb_printf(why, "Its run did not pass: %s", dec);
    if (bad) {
        sb_puts(why, " (required step <code>");
        site_text(why, bad->name);
        sb_puts(why, "</code> ");
        site_text(why, bad->outcome_raw ? bad->outcome_raw : "did not pass");
        sb_puts(why, ")");
    }
    sb_puts(why, ".</li>");
    return H_UNHEALTHY;
}

/* The reasons for the verdict, one <li> each, into why; the verdict returned. Fails closed: only
 * a live release that is promoted, whose recorded run passed, with a readable kill switch that is
 * off and not live through a rollback, is healthy. */
static health assess(const site_data *d, const site_release *live, strbuf *why)
{
    const char *lg = d->pointer[MANIFEST_LAST_GREEN];
    health h = H_HEALTHY;
    if (!lg) {
        sb_puts(why, "<li>Nothing is live: no release is last_green (none promoted yet).</li>");
        return H_UNHEALTHY;
    }
    if (!live) {
        sb_puts(why, "<li>last_green names ");
        site_text(why, lg);
        sb_puts(why, ", which is not in the registry&#8217;s list of releases.</li>");
        worsen(&h, H_UNKNOWN);
    } else if (live->entry->status != MANIFEST_PROMOTED) {
        sb_puts(why, "<li>Its status in the registry is ");
        site_text(why, live->status);
        sb_puts(why, ", not promoted.</li>");
        worsen(&h, H_UNHEALTHY);
    }
    if (live && !live->record) {
        sb_puts(why, "<li>Its run cannot be checked: ");
        site_text(why, live->state_note);
        sb_puts(why, ".</li>");
        worsen(&h, H_UNKNOWN);
    } else if (live) {
        worsen(&h, run_health(live, why));
    }
    if (d->freeze_note) {
        sb_puts(why, "<li>The kill switch cannot be read: ");
        site_text(why, d->freeze_note);
        sb_puts(why, "</li>");
        worsen(&h, H_UNKNOWN);
    } else if (d->frozen) {
        sb_puts(why, "<li class=\"frozen\">Publishing is frozen (kill switch) since ");
        site_text(why, d->freeze_at);
        sb_puts(why, " by ");
        site_text(why, d->freeze_by);
        sb_puts(why, ": ");
        site_text(why, d->freeze_reason);
        sb_puts(why, "</li>");
        worsen(&h, H_DEGRADED);
    }
    if (is_rollback(&d->last) && d->last.to && strcmp(d->last.to, lg) == 0) {
        sb_puts(why, "<li class=\"rolled-back\">It is live after a rollback from ");
        site_text(why, d->last.from ? d->last.from : "?");
        sb_puts(why, " (below).</li>");
        worsen(&h, H_DEGRADED);
    }
    return h;
}

static void last_change(strbuf *b, const site_data *d)
{
    const site_change *c = &d->last;
    if (!c->known) {
        sb_puts(b, "<p id=\"last-change\">No promotion or rollback yet.</p>\n");
        return;
    }
    sb_puts(b, "<p id=\"last-change\"");
    site_attr(b, "data-operation", c->operation);
    if (c->at)
        site_attr(b, "data-at", c->at);
    if (c->user)
        site_attr(b, "data-by", c->user);
    sb_puts(b, "><strong>Last change:</strong> ");
    if (is_rollback(c)) {
        site_text(b, c->operation);
        sb_puts(b, " from <code>");
        site_text(b, c->from ? c->from : "?");
        sb_puts(b, "</code> to <code>");
        site_text(b, c->to ? c->to : "?");
    } else {
        sb_puts(b, "promotion of <code>");
        site_text(b, c->to ? c->to : "?");
        if (c->from) {
            sb_puts(b, "</code> (after <code>");
            site_text(b, c->from);
            sb_puts(b, "</code>)");
        } else {
            sb_puts(b, "</code>");
        }
    }
    if (is_rollback(c))
        sb_puts(b, "</code>");
    sb_puts(b, ", ");
    site_text(b, c->at ? c->at : "at an unknown time");
    if (c->user) {
        sb_puts(b, ", by <strong>");
        site_text(b, c->user);
        sb_puts(b, "</strong>");
        if (c->host) {
            sb_puts(b, " on ");
            site_text(b, c->host);
        }
    } else if (!c->from_audit) {
        sb_puts(b,
                ", by an unknown user (no audit log line: taken from the manifest&#8217;s times)");
    }
    sb_puts(b, ". <span class=\"why\">Why: ");
    if (c->reason)
        site_text(b, c->reason);
    else
        sb_puts(b, is_rollback(c) ? "no reason recorded" : "its run passed the gate");
    sb_puts(b, "</span></p>\n");
}

/* The newest release when it is not the live one: what is waiting, or what failed. */
static void latest_line(strbuf *b, const site_data *d, const site_release *live)
{
    const site_release *lt = site_find(d, d->pointer[MANIFEST_LATEST]);
    if (!lt || lt == live)
        return;
    sb_puts(b, "<p class=\"latest\">Newest release: <a href=\"#checks-");
    sb_printf(b, "%zu\"><code>", (size_t)(lt - d->rel));
    site_text(b, lt->version);
    sb_puts(b, "</code></a>, ");
    site_text(b, lt->entry->status == MANIFEST_ROLLED_BACK ? "rolled back" : lt->status);
    if (lt->record) {
        sb_puts(b, "; its run: ");
        sb_puts(b, record_decision(lt->record));
    }
    sb_puts(b, ".</p>\n");
}

void site_banner(strbuf *b, const site_data *d)
{
    const char *lg = d->pointer[MANIFEST_LAST_GREEN];
    const site_release *live = site_find(d, lg);
    strbuf why;
    health h;
    sb_init(&why);
    h = assess(d, live, &why);
    sb_printf(b, "<header id=\"banner\" class=\"banner h-%s\" data-health=\"%s\"", health_word[h],
              health_word[h]);
    if (lg)
        site_attr(b, "data-live", lg);
    if (d->live_since)
        site_attr(b, "data-since", d->live_since);
    sb_printf(b, " data-frozen=\"%s\">\n<h1>", d->frozen ? "true" : "false");
    site_text(b, d->plan_name);
    sb_printf(b, ": release status</h1>\n<p class=\"live\"><span class=\"health-badge\">%s</span> ",
              health_label[h]);
    if (lg) {
        sb_puts(b, "Live: <strong>");
        if (live)
            sb_printf(b, "<a href=\"#release-%zu\">", (size_t)(live - d->rel));
        site_text(b, lg);
        sb_puts(b, live ? "</a></strong>" : "</strong>");
        sb_puts(b, " (last_green) since ");
        if (d->live_since) {
            sb_puts(b, "<time datetime=\"");
            site_text(b, d->live_since);
            sb_puts(b, "\">");
            site_text(b, d->live_since);
            sb_puts(b, "</time>");
        } else {
            sb_puts(b, "an unknown time");
        }
    } else {
        sb_puts(b, "Nothing is live.");
    }
    sb_puts(b, "</p>\n<ul class=\"health-why\">");
    sb_puts(b, why.s ? why.s : "");
    sb_puts(b, "</ul>\n");
    sb_free(&why);
    last_change(b, d);
    latest_line(b, d, live);
    if (d->audit_bad)
        sb_printf(b,
                  "<p class=\"note audit-note\">%zu line%s of the registry&#8217;s audit log could "
                  "not be read and %s skipped.</p>\n",
                  d->audit_bad, d->audit_bad == 1 ? "" : "s", d->audit_bad == 1 ? "was" : "were");
    if (d->audit_note) {
        sb_puts(b, "<p class=\"note audit-note\">");
        site_text(b, d->audit_note);
        sb_puts(b, "</p>\n");
    }
    sb_puts(b, "</header>\n");
}
