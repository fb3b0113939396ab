/* SPDX-License-Identifier: MIT */
/*
 * isolate.h - plugin instances in a process of their own (`isolate = true` on a step, a metrics
 * source or a runner; the default for plugins found outside relhost's own plugin folder).
 *
 * The host starts relhost itself again (/proc/self/exe, a hidden argv mode) as the instance's
 * plugin server, in its own process group, with a socketpair on its stdin. The server loads the
 * same plan (path, --set, version and commit passed at start) with the host's plan code, so the
 * plugin's conf and where() are what they would be in relhost, then dlopen()s nothing else and
 * answers ops. In the host, the instance's descriptor is replaced by a proxy whose gate,
 * metrics and runner ops send the call over the socket (wire.h) and, while they wait, answer the
 * plugin's service calls with the real host table in the ctx of the op in progress; so pipeline
 * and jobs call an isolated instance exactly as an in-process one and the plugin needs no
 * rebuild.
 *
 * Processes the plugin starts go through the host's proc service, so the host owns them. When
 * the server dies during a call (signal: plugin_crashed; exit: plugin_exited) or computes past
 * the instance's call_timeout (time inside host services does not count: plugin_hung), its
 * process tree and every process it started are killed, the op fails with a message naming the
 * plugin, the call and the signal or status, and the step (or the job, for a source) is ERROR
 * with that reason; later calls to the instance fail the same way without a server.
 *
 * A metrics source's feed() chunks are gathered into batches of up to ISOLATE_FEED_BATCH bytes
 * in a buffer shared with the server (a memfd both map; its fd goes over the socket once, at
 * start), sent as one feed() when a batch is full, when a read of the log comes to its current
 * end, and before another job's bytes or any other call of that job: a large log costs a copy
 * and a round trip per MiB, not a trip through the socket per chunk. The buffer has two halves:
 * a batch is sent without waiting, the host fills the other half meanwhile, and the reply is
 * read before the next op (client.c settle()), so reading the log and feeding it overlap.
 * A source's keys() and credentials() (asked for by a gate's open(), before the source is open)
 * start its server early; open() then takes that server over.
 *
 * A runner's ops go the same way (client_runner.c): the handle its submit() stores stays in the
 * server, the host holds the server's number for it; one poll() sends every job and reads
 * every status back in one message each way (wire.c wf_job_status_in / _out, at the host's
 * elem_size, nothing written past an element's struct_size). A runner whose server dies or
 * hangs takes its jobs with it: the processes it started through the host are killed, every job
 * it still runs is ERROR with the fault's reason (core/run/jobs_end.c jobs_runner_faulted) and it
 * is polled no more; a job still queued for it fails the same way at its submit.
 */
#ifndef RELHOST_ISOLATE_H
#define RELHOST_ISOLATE_H

#include "plan/plan.h"

#define ISOLATE_FEED_BATCH ((size_t)1 << 20)

/** In the host, after the plan is open: put proxies in place of the descriptors of the
 *  instances whose `isolate` is set. Starts nothing (a server starts at the instance's open). */
void isolate_setup(plan *p, const plan_options *o);
/** Forget the proxies of plan p (plan_free). Servers still running are stopped. */
void isolate_forget(const plan *p);
/** 1 when argv asks for the hidden plugin-server mode. */
int isolate_is_server(int argc, char **argv);
/** The plugin server's main (never returns). */
int isolate_server_main(int argc, char **argv);

#endif
