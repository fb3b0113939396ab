/* SPDX-License-Identifier: MIT */
/* guard.c - what happens when a plugin call does not come back (guard.h). */
#include "run/guard.h"

#include "base/log.h"
#include "base/outcome.h"
#include "base/util.h"
#include "record/state.h"
#include "run/logmap.h"
#include "run/loop.h"
#include "run/proc.h"

#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

#define GUARD_DEPTH 8

typedef struct frame {
    const char *plugin, *call, *step;
} frame;

static struct {
    int installed;
    pid_t main_pid; /* relhost's own process: a plugin's forked child is none of the guard's */
    frame frames[GUARD_DEPTH];
    volatile sig_atomic_t depth;
    volatile sig_atomic_t stop_sig;        /* a stop request that came during a call */
    volatile unsigned long rounds_at_stop; /* loop_rounds() when it came */
    sigset_t stops;
    struct state *st;
    void (*hook)(void *);
    void *hook_data;
    /* What a crash and a hang record, prepared for the innermost call with a step. */
    state_emergency crashed, hung;
} G;

/* The records prepared for the last few (plugin, call, step): a job's calls take turns (submit,
 * poll, feed, collect...), and records prepared before only need the state's new seq. */
#define PREP_SLOTS 8
static struct prep {
    char *plugin, *call, *step;
    state_emergency crashed, hung;
} prep_slots[PREP_SLOTS];
static unsigned prep_next;

static void say(const char *s) { (void)!write(STDERR_FILENO, s, strlen(s)); }

static const char *signame(int sig)
{
    switch (sig) {
    case SIGSEGV: return "SIGSEGV (invalid memory access)";
    case SIGBUS: return "SIGBUS";
    case SIGILL: return "SIGILL";
    case SIGFPE: return "SIGFPE";
    case SIGABRT: return "SIGABRT (abort)";
    case SIGSYS: return "SIGSYS";
    case SIGINT: return "SIGINT";
    case SIGTERM: return "SIGTERM";
    case SIGHUP: return "SIGHUP";
    default: return "a fatal signal";
    }
}

/* The call that is open, in relhost's own process only: a child a plugin forked inherits the
 * frames, but its exit or crash is the plugin's business (getpid() is async-signal-safe). */
static const frame *innermost(void)
{
    return G.depth > 0 && getpid() == G.main_pid ? &G.frames[G.depth - 1] : NULL;
}

/* The message of a call that did not come back, for stderr and the step's record. */
static char *message_of(const frame *f, const char *what)
{
    int recorded = G.st && f->step;
    return xasprintf("plugin %s %s during its %s() call%s%s; %s: fix or remove the plugin, then "
                     "%s",
                     f->plugin, what, f->call, f->step ? " for step " : "", f->step ? f->step : "",
                     recorded ? "relhost recorded the step ERROR and stopped"
                              : "relhost stopped before any release state was opened (nothing "
                                "recorded)",
                     recorded ? "resume with --retry-failed" : "run again");
}

static void prepare(state_emergency *em, const frame *f, const char *reason, const char *what)
{
    const char *p_outcome[] = {"steps", f->step, "outcome"};
    const char *p_reason[] = {"steps", f->step, "reason"};
    const char *p_message[] = {"steps", f->step, "message"};
    const char *const *paths[] = {p_outcome, p_reason, p_message};
    size_t depths[] = {3, 3, 3};
    char *msg = message_of(f, what);
    json_t *values[] = {json_string("ERROR"), json_string(reason), json_string(msg)};
    free(msg);
    if (state_emergency_prepare(G.st, em, paths, depths, values, 3) != 0)
        em->first_seq = 0;
}

static int same(const char *a, const char *b) { return a && b && strcmp(a, b) == 0; }

static void copy_em(state_emergency *to, const state_emergency *from)
{
    to->first_seq = from->first_seq;
    to->len = from->len;
    memcpy(to->buf, from->buf, from->len);
}

/* Ahead of the call: the records its crash or hang would append. Prepared once per plugin,
 * call and step among the last PREP_SLOTS, renumbered when only the state moved on (feed() is
 * called once per chunk of a log, poll() once per tick). */
static void prepare_records(const frame *f)
{
    struct prep *s = NULL;
    if (!G.st || !f->step) {
        G.crashed.first_seq = G.hung.first_seq = 0;
        return;
    }
    for (size_t i = 0; i < PREP_SLOTS && !s; i++)
        if (prep_slots[i].crashed.first_seq && same(prep_slots[i].plugin, f->plugin) &&
            same(prep_slots[i].call, f->call) && same(prep_slots[i].step, f->step))
            s = &prep_slots[i];
    if (!s || state_emergency_reseq(G.st, &s->crashed) != 0 ||
        state_emergency_reseq(G.st, &s->hung) != 0) {
        if (!s) {
            s = &prep_slots[prep_next++ % PREP_SLOTS];
            free(s->plugin);
            free(s->call);
            free(s->step);
            s->plugin = xstrdup(f->plugin);
            s->call = xstrdup(f->call);
            s->step = xstrdup(f->step);
        }
        prepare(&s->crashed, f, "plugin_crashed", "crashed (a fatal signal)");
        prepare(&s->hung, f, "plugin_hung", "did not return after relhost was told to stop");
    }
    copy_em(&G.crashed, &s->crashed);
    copy_em(&G.hung, &s->hung);
}

/* ---- fatal signals ---------------------------------------------------------------------------- */

/* An allocation failed (util.c aborted): no crash of relhost nor of the plugin whose call was
 * open, but a machine out of memory. Nothing is recorded against the step (a resume runs it and
 * every result not yet saved again); relhost exits 75, a tool error to retry, never a verdict. */
static void out_of_memory(const frame *f)
{
    say("relhost error: out of memory (ENOMEM)");
    if (f) {
        say(" during the ");
        say(f->call);
        say("() call of plugin ");
        say(f->plugin);
        if (f->step) {
            say(" for step ");
            say(f->step);
        }
    }
    say("; nothing is recorded against it, running jobs were killed; free memory or raise the "
        "limit (ulimit -v), lower the runners' max_parallel, then resume: what was not saved "
        "runs again\n");
    proc_kill_all_now();
    syscall(SYS_exit_group, EXIT_DEFERRED);
}

static void on_fatal(int sig)
{
    const frame *f = innermost();
    if (getpid() != G.main_pid) {
        raise(sig); /* a child a plugin forked: it dies of its signal, nothing of relhost's */
        return;
    }
    if (sig == SIGABRT && util_out_of_memory())
        out_of_memory(f);
    if (f) {
        say("relhost error: plugin ");
        say(f->plugin);
        say(" crashed during its ");
        say(f->call);
        say("() call");
        if (f->step) {
            say(" for step ");
            say(f->step);
        }
        say(": ");
        say(signame(sig));
        if (f->step && G.st && G.crashed.first_seq) {
            say("; the step is recorded ERROR (plugin_crashed), running jobs were killed; fix or "
                "remove the plugin, then resume with --retry-failed\n");
            state_emergency_write(G.st, &G.crashed);
        } else {
            say("; nothing was recorded (no release state for this call), running jobs were "
                "killed; fix or remove the plugin, then run again\n");
        }
    } else {
        say("relhost error: relhost crashed: ");
        say(signame(sig));
        say("; running jobs were killed; please report this with the plan that caused it\n");
    }
    proc_kill_all_now();
    /* SA_RESETHAND restored the default action: die of the same signal. */
    raise(sig);
}

/* SIGBUS: a log truncated under the window the host maps to read it (logmap.h) is no crash;
 * the window reads as NUL bytes and the log is read again. Any other is fatal. Installed without
 * SA_RESETHAND, so that a second truncation is caught too: the default action is restored here
 * before dying. */
static void on_bus(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    if (si->si_code == BUS_ADRERR && logmap_fault(si->si_addr))
        return;
    signal(sig, SIG_DFL);
    on_fatal(sig);
}

/* ---- stop requests during a call -------------------------------------------------------------- */

static void arm_grace(void)
{
    struct itimerval t = {.it_value = {.tv_sec = GUARD_STOP_GRACE_S}};
    setitimer(ITIMER_REAL, &t, NULL);
}

static void hung_exit(int sig)
{
    const frame *f = innermost();
    say("relhost error: plugin ");
    say(f ? f->plugin : "?");
    say(" did not return from its ");
    say(f ? f->call : "?");
    say("() call after ");
    say(signame(sig));
    if (f && f->step && G.st && G.hung.first_seq) {
        say("; the step is recorded ERROR (plugin_hung), running jobs were killed\n");
        state_emergency_write(G.st, &G.hung);
    } else {
        say("; nothing was recorded (no release state for this call), running jobs were "
            "killed\n");
    }
    proc_kill_all_now();
    G.depth = 0; /* relhost's own exit, not the plugin's (core/cli/exits.c) */
    _exit(128 + sig);
}

/* A stop request while a plugin call runs goes to the loop at once, so a plugin that waits
 * through host services (a prompt, jobs, HTTP) sees the interrupt there and returns. One that
 * neither returns nor serves the loop within GUARD_STOP_GRACE_S (or gets a second request
 * while spinning) is hung. */
static void on_stop(int sig)
{
    if (sig == SIGALRM) {
        if (loop_rounds() == G.rounds_at_stop) {
            hung_exit((int)G.stop_sig);
            return;
        }
        G.rounds_at_stop = loop_rounds(); /* still serving the loop: keep watching */
        arm_grace();
        return;
    }
    if (G.stop_sig && loop_rounds() == G.rounds_at_stop) {
        hung_exit(sig);
        return;
    }
    loop_interrupt_from_handler(sig);
    if (!G.stop_sig)
        arm_grace();
    G.stop_sig = sig;
    G.rounds_at_stop = loop_rounds();
}

/* ---- exit() during a call ------------------------------------------------------------------- */

/* A plugin call ended the process (what: "called exit(0)"): record the step ERROR
 * (plugin_exited), write the reports, name it, kill the jobs, exit 3. */
static void die_in_call(const frame *f, const char *what)
{
    char *msg;
    G.depth = 0; /* whatever runs from here is relhost's own */
    msg = message_of(f, what);
    if (G.st && f->step) {
        const char *p[3] = {"steps", f->step, "outcome"};
        state_set(G.st, p, 3, json_string("ERROR"));
        p[2] = "reason";
        state_set(G.st, p, 3, json_string("plugin_exited"));
        p[2] = "message";
        state_set(G.st, p, 3, json_string(msg));
        state_flush(G.st);
    }
    if (G.hook)
        G.hook(G.hook_data);
    log_msg(RELHOST_LOG_ERROR, NULL, "%s (exit 3)", msg);
    free(msg);
    fflush(stdout);
    proc_kill_all_now();
    _exit(3);
}

static void on_exit_guard(int status, void *unused)
{
    const frame *f = innermost();
    char what[64];
    (void)unused;
    if (!f)
        return;
    snprintf(what, sizeof what, "called exit(%d)", status);
    die_in_call(f, what);
}

int guard_in_call(void) { return G.installed && innermost() != NULL; }

void guard_ended_in_call(const char *what)
{
    const frame *f = innermost();
    if (f)
        die_in_call(f, what);
}

/* ---- setup and the calls -------------------------------------------------------------------- */

void guard_install(void)
{
    static char altstack[64 * 1024];
    static const int fatal[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGSYS};
    stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack};
    struct sigaction sa;
    if (G.installed)
        return;
    G.installed = 1;
    G.main_pid = getpid();
    setvbuf(stdout, NULL, _IOLBF, 0);
    sigaltstack(&ss, NULL);
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_fatal;
    sa.sa_flags = SA_ONSTACK | SA_RESETHAND | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof fatal / sizeof fatal[0]; i++)
        sigaction(fatal[i], &sa, NULL);
    sa.sa_sigaction = on_bus;
    sa.sa_flags = SA_ONSTACK | SA_NODEFER | SA_SIGINFO;
    sigaction(SIGBUS, &sa, NULL);
    sigemptyset(&G.stops);
    sigaddset(&G.stops, SIGINT);
    sigaddset(&G.stops, SIGTERM);
    sigaddset(&G.stops, SIGHUP);
    sigaddset(&G.stops, SIGALRM);
    on_exit(on_exit_guard, NULL);
}

void guard_set_state(struct state *st)
{
    G.st = st;
    for (size_t i = 0; i < PREP_SLOTS; i++)
        prep_slots[i].crashed.first_seq = prep_slots[i].hung.first_seq = 0;
    G.crashed.first_seq = G.hung.first_seq = 0;
}

void guard_set_exit_hook(void (*fn)(void *data), void *data)
{
    G.hook = fn;
    G.hook_data = data;
}

/* While the outermost call runs: the stop signals reach on_stop(). Afterwards the signal mask
 * and the actions are what they were (the loop's signalfd reads them again, or, outside the
 * loop, they act as before). */
static void catch_stops(int on)
{
    static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGALRM};
    static struct sigaction old[4];
    static sigset_t old_mask;
    if (on) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_stop;
        sa.sa_mask = G.stops;
        for (size_t i = 0; i < 4; i++)
            sigaction(sigs[i], &sa, &old[i]);
        sigprocmask(SIG_UNBLOCK, &G.stops, &old_mask);
    } else {
        /* Blocked first, so nothing arrives between the two. */
        sigprocmask(SIG_BLOCK, &G.stops, NULL);
        for (size_t i = 0; i < 4; i++)
            sigaction(sigs[i], &old[i], NULL);
        sigprocmask(SIG_SETMASK, &old_mask, NULL);
    }
}

int guard_enter(const char *plugin, const char *call, const char *step)
{
    int token = G.depth;
    if (!G.installed || token >= GUARD_DEPTH)
        return token;
    /* A call made for no step of its own inside a step's call (a runner's open() or a poll
     * while a gate waits for its jobs) is that step's: its crash is recorded there, so a
     * resume does not run into it again unasked. */
    if (!step && token > 0)
        step = G.frames[token - 1].step;
    G.frames[token] = (frame){.plugin = plugin ? plugin : "?", .call = call, .step = step};
    if (step)
        prepare_records(&G.frames[token]);
    if (token == 0) {
        G.stop_sig = 0;
        catch_stops(1);
    }
    G.depth = token + 1;
    return token;
}

void guard_leave(int token)
{
    if (!G.installed || token >= GUARD_DEPTH)
        return;
    G.depth = token;
    if (token == 0) {
        struct itimerval off = {0};
        catch_stops(0);
        setitimer(ITIMER_REAL, &off, NULL);
        /* A request that came during the call was counted by the loop already. */
        G.stop_sig = 0;
    }
}
