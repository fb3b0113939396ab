/* SPDX-License-Identifier: MIT */
/*
 * guard.h - a plugin call that does not come back: the plugin calls exit(), dies of a fatal
 * signal, or loops while relhost is told to stop. Plugins run in relhost's process, so without
 * this a gate's exit(0) would end relhost with 0 (green, with the required step never run), a
 * segfault would lose the output and orphan the jobs, and a loop would leave relhost deaf to
 * SIGTERM. Every call into a plugin is bracketed by guard_enter() / guard_leave() (calls nest: a
 * gate's run() waits for jobs whose metrics sources are plugins too); while one is open:
 *
 *   exit(N)        the step is recorded ERROR (reason plugin_exited) through the state, the hook
 *                  writes the reports, a message names the plugin, the call and N, running jobs
 *                  are killed, and relhost exits 3 (a tool error, never a verdict). The same for
 *                  _exit(), _Exit(), quick_exit() and the exec family, which the relhost
 *                  executable interposes for its plugins (core/cli/exits.c): they would end or
 *                  replace relhost's process past every exit handler.
 *   fatal signal   (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGSYS) the handler, on its own
 *                  stack, appends the records prepared at guard_enter() (ERROR, plugin_crashed)
 *                  to the journal, names the plugin, the call and the signal on stderr, kills the
 *                  running jobs' process groups and dies of the signal. A resume does not run
 *                  the step again unless asked (--retry-failed or --rerun).
 *   SIGINT, SIGTERM, SIGHUP  stay deliverable: the loop counts the request at once, so a
 *                  plugin waiting through host services (a prompt, its jobs, HTTP) sees it and
 *                  returns, and the run stops as usual. A call that neither returns nor serves
 *                  the loop for GUARD_STOP_GRACE_S seconds after the request (or gets a second
 *                  one meanwhile) is hung: the step is recorded ERROR (plugin_hung), jobs are
 *                  killed and relhost exits 128 + the signal.
 *
 * Only relhost's own process is guarded: a child a plugin forks inherits the open calls, but its
 * exit() or crash records nothing and kills nothing of relhost's.
 * stdout is line-buffered once guard_install() ran, so no finished line is lost to a crash.
 * Outside a plugin call a fatal signal still kills the jobs' groups before relhost dies.
 */
#ifndef RELHOST_GUARD_H
#define RELHOST_GUARD_H

struct state;

#define GUARD_STOP_GRACE_S 5

/** Once, before the first plugin is loaded: handlers, the alternate signal stack, on_exit. */
void guard_install(void);

/** The release state the records go into (NULL: none, messages only). Borrowed. */
void guard_set_state(struct state *st);

/** Called after an exit() inside a plugin call was recorded, before relhost exits 3: writes
 *  the reports from the state (normal context: it may allocate). NULL: none. */
void guard_set_exit_hook(void (*fn)(void *data), void *data);

/**
 * A call into plugin `plugin` (its `call`, e.g. "run", "feed") for step `step` (NULL: no
 * step to record) begins. The strings must outlive the call. Returns a token for guard_leave().
 */
int guard_enter(const char *plugin, const char *call, const char *step);
void guard_leave(int token);

/** 1 while a plugin call is open in relhost's own process (async-signal-safe). */
int guard_in_call(void);

/** A plugin call is about to end the process (what: "called _exit(0)"): when one is open in
 *  relhost's own process, record and report it as for exit() and exit 3; otherwise return. */
void guard_ended_in_call(const char *what);

#endif
