/* SPDX-License-Identifier: MIT */
/* tests/unit/state/state_common.h - what the state test files share: the per-test folder, helpers
 * and fixtures (state_common.c), and the cases kept outside state.c. */
#ifndef RELHOST_TESTS_UNIT_STATE_COMMON_H
#define RELHOST_TESTS_UNIT_STATE_COMMON_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/error.h"
#include "base/util.h"
#include "record/state.h"

#include <relhost/plugin.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define V "1.0"

extern char *dir; /* a fresh folder per test, removed by teardown */
extern const char old_snap[];

/* state_common.c */
void rm_rf(const char *path);
int setup(void **unused);
int teardown(void **unused);
char *in_dir(const char *name);
unsigned char *slurp(const char *name, size_t *len);
void put_file(const char *name, const void *data, size_t len, int append);
int exists(const char *name);
off_t file_size(const char *name);
uint32_t crc_bitwise(const unsigned char *p, size_t n);
uint32_t le32(const unsigned char *p);
void append_frame(const char *name, const char *payload);
json_t *journal_frames(void);
int set(state *st, const char *dotted, json_t *v);
json_t *get(state *st, const char *dotted);
void assert_json_equal(json_t *got, json_t *want);
state *open_ok(int flags);
void close_ok(state *st);
void assert_error_contains(const char *needle);
void three_records(size_t ends[3]);
void write_old_state(void);
json_t *old_state_migrated(void);

/* state_crash.c */
void test_unit_state_state__a_kill_at_every_crash_point_leaves_the_state_before_or_after(
    void **state);
void test_unit_state_state__a_kill_while_cutting_a_torn_tail_keeps_every_flushed_record(
    void **state);
void test_unit_state_state__a_kill_during_migration_never_loses_the_original_snapshot(void **state);
void test_unit_state_state__ten_thousand_changes_append_and_replay_to_the_same_state(void **state);
void test_unit_state_state__list_orders_releases_newest_first_with_their_finished_flag(
    void **state);
void test_unit_state_state__a_failed_fdatasync_breaks_the_store_and_refuses_every_later_save(
    void **unused);

/* state_pack.c */
void test_unit_state_state__a_snapshot_of_packed_records_is_the_dump_of_the_records(void **unused);
void test_unit_state_state__a_finished_job_record_costs_its_text_not_a_tree(void **unused);

#endif
