/* SPDX-License-Identifier: MIT */
/*
 * manual.c - a gate that asks a person a yes/no question on the terminal.
 *
 * The question goes through pl_host->prompt_yesno, which owns the terminal and keeps serving
 * signals and job deadlines while it waits; this plugin never reads a TTY itself. With no person to
 * ask (no TTY, --no-interactive, CI) the gate is INCONCLUSIVE with reason "no_tty": no decision by
 * design, never a silent yes and never a FAILED that blames the release for a missing human.
 *   yes -> PASSED; no -> FAILED "declined"; nobody to ask -> INCONCLUSIVE "no_tty";
 *   SIGINT/SIGTERM while asking -> RELHOST_EINTR (no outcome; asked again on resume).
 */
#include <relhost/plugin.h>

#include "../common/pl_host.h"

#include <pwd.h>
#include <stdlib.h>
#include <unistd.h>

struct manual_conf {
    const char *question;
};

#define OPT(f, t, ...) PL_OPT(struct manual_conf, f, t, __VA_ARGS__)
static const relhost_option manual_options[] = {
    OPT(question, STRING, .def = "Proceed with the release?",
        .doc = "the yes/no question asked on the terminal", .flags = RELHOST_OPTF_TEMPLATE),
    {0}};
#undef OPT

static int manual_open(const relhost_ctx *ctx, const void *conf, void **inst)
{
    const struct manual_conf *c = conf;

    if (c->question == NULL || c->question[0] == '\0') {
        pl_host->fail(ctx,
                      "%s: question is empty: say what the person approves, e.g. "
                      "question = \"Release notes reviewed for {version}?\"",
                      pl_where(ctx, &c->question));
        return RELHOST_EINVAL;
    }
    *inst = (void *)c;
    return 0;
}

static int manual_describe(const relhost_ctx *ctx, void *inst)
{
    const struct manual_conf *c = inst;

    pl_host->note_add(ctx, "would ask: %s [y/n]%s", c->question,
                      ctx->interactive ? "" : " (not interactive: the step would be INCONCLUSIVE)");
    return 0;
}

static int manual_run(const relhost_ctx *ctx, void *inst, relhost_verdict *out)
{
    const struct manual_conf *c = inst;
    int yes = 0;
    int rc;

    /* `relhost launch` only submits jobs; nobody is asked anything. */
    if (pl_launch_skips(ctx, out))
        return 0;

    /* A host without the service is the same situation as a host without a terminal. */
    if (!RELHOST_HAS(pl_host, prompt_yesno) || pl_host->prompt_yesno == NULL)
        rc = RELHOST_ENOTSUP;
    else
        rc = pl_host->prompt_yesno(ctx, c->question, &yes);

    switch (rc) {
    case 0: break;
    case RELHOST_ENOTSUP:
        pl_host->note_add(ctx,
                          "nobody to ask \"%s\": not interactive (no terminal, or "
                          "--no-interactive); run relhost on a terminal to decide",
                          c->question);
        out->outcome = RELHOST_INCONCLUSIVE;
        out->reason = "no_tty";
        out->retryable = 0;
        return 0;
    case RELHOST_EINTR: return RELHOST_EINTR;
    default:
        pl_host->fail(ctx, "manual: could not ask \"%s\" on the terminal (error %d)", c->question,
                      rc);
        return rc;
    }

    /* Who answered is part of the evidence: the account on the terminal, as the OS names it. */
    const char *user = getenv("USER");
    if (user == NULL || user[0] == '\0')
        user = getenv("LOGNAME");
    if (user == NULL || user[0] == '\0') {
        const struct passwd *pw = getpwuid(geteuid());
        user = pw != NULL ? pw->pw_name : NULL;
    }
    if (user == NULL || user[0] == '\0')
        user = "the terminal user";
    pl_host->note_add(ctx, "asked \"%s\": %s answered %s", c->question, user, yes ? "yes" : "no");
    out->retryable = 0;
    if (yes) {
        out->outcome = RELHOST_PASSED;
        out->reason = NULL;
    } else {
        out->outcome = RELHOST_FAILED;
        out->reason = "declined";
    }
    return 0;
}

const relhost_plugin pl_plugin = {
    PL_PLUGIN_BASE("manual", "1.0.0", manual_options, struct manual_conf),
    .description = "ask a person a yes/no question; INCONCLUSIVE when nobody can answer",
    .gate = PL_GATE_OPS(manual, .close = pl_close_conf),
};
