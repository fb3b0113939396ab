/* SPDX-License-Identifier: MIT */
/*
 * fuzz_host.h - scripted HTTP and process services for the plugin harnesses: every reply a plugin
 * gets comes from the fuzz input, so its reply and output parsers see arbitrary bytes through the
 * same calls a real host answers.
 *
 * The input is a list of records separated by FUZZ_RS (0x1e). A record's first byte chooses the
 * envelope (an HTTP status and headers, or a process's exit); the rest is the body (HTTP) or
 * stdout, FUZZ_US (0x1f), stderr (a process). Once the records are used up, or after
 * FUZZ_MAX_CALLS calls, a request fails with RELHOST_EIO (explained through fail()), as a host
 * whose transport broke would answer. tests/fuzz/README.md has the table of envelopes.
 */
#ifndef RELHOST_TESTS_FUZZ_HOST_H
#define RELHOST_TESTS_FUZZ_HOST_H

#include "mock_host.h"

#include <stddef.h>
#include <stdint.h>

#define FUZZ_RS 0x1e
#define FUZZ_US 0x1f
#define FUZZ_MAX_CALLS 64

/** Install the scripted http_request/proc_run services on m, answering from data[0..size)
 *  (borrowed until the next fuzz_host_script()). The base URL is what a "link: rel=next" header
 *  points under. */
void fuzz_host_script(mock_host *m, const uint8_t *data, size_t size, const char *base_url);
/** With RELHOST_FUZZ_VERBOSE set in the environment: print what m recorded (fail() messages,
 *  notes, metrics) and the call count to stderr, to see where a replayed input went. */
void fuzz_host_dump(const mock_host *m, const char *what);

#endif
