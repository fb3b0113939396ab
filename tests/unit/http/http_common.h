/* SPDX-License-Identifier: MIT */
/* tests/unit/http/http_common.h - what the HTTP test files share: the fake server's paths and
 * ports, helpers and fixtures (http_common.c), and the cases kept outside http.c. */
#ifndef RELHOST_TESTS_UNIT_HTTP_COMMON_H
#define RELHOST_TESTS_UNIT_HTTP_COMMON_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/error.h"
#include "base/log.h"
#include "base/secrets.h"
#include "base/util.h"
#include "net/http.h"
#include "run/host.h"
#include "run/loop.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

extern char tmp[PATH_MAX];
extern char script_path[PATH_MAX + 32];
extern char log_path[PATH_MAX + 32];
extern pid_t fake_pid, tls_pid, named_pid;
extern int port, tls_port, named_port;
extern char cert_path[PATH_MAX + 32], key_path[PATH_MAX + 32];
/* A certificate for "localhost" only, served on 127.0.0.1: a host name mismatch. */
extern char named_cert[PATH_MAX + 32], named_key[PATH_MAX + 32];
extern int sigint_tfd;

/* http_common.c */
char *slurp(const char *path);
void set_script(const char *json);
char *url_of(const char *path);
json_t *requests_for(const char *path);
size_t count_requests(const char *path);
char *seen_header(const char *path, size_t i, const char *name);
relhost_http_request req_of(const char *method, const char *url);
const char *resp_header(const relhost_http_response *resp, const char *name);
int refusing_port(int *fd_out);
void sigint_after(double secs);
int setup(void **state);
int teardown(void **state);
int group_setup(void **state);
int group_teardown(void **state);

/* http_safety.c */
void test_unit_http_http__credentials_over_plain_http_go_only_to_loopback(void **state);
void test_unit_http_http__loopback_means_127_0_0_0_8_localhost_and_ipv6_1(void **state);
void test_unit_http_http__at_most_once_does_not_resend_a_5xx_a_timeout_or_a_reset(void **state);
void test_unit_http_http__at_most_once_resends_what_never_reached_the_server(void **state);
void test_unit_http_http__a_plugin_older_than_at_most_once_keeps_its_retries(void **state);
void test_unit_http_http__an_interrupt_during_a_retry_after_wait_returns_eintr(void **state);
void test_unit_http_http__an_interrupt_during_a_slow_reply_returns_eintr(void **state);
void test_unit_http_http__no_form_of_a_secret_reaches_stderr_or_an_error(void **state);
void test_unit_http_http__secrets_in_base64_are_masked_at_every_offset(void **state);
void test_unit_http_http__secrets_cut_multiline_and_json_forms_are_masked(void **state);
void test_unit_http_http__names_that_look_secret(void **state);

#endif
