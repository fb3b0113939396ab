/* SPDX-License-Identifier: MIT */
/* Unit tests of core/isolate/wire.c: what one side of a plugin server's socket encodes, the other
 * decodes unchanged (NULL stays NULL, empty stays empty, bytes keep their NULs), and a truncated
 * or lying message is refused, never read past its end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "isolate/isolate_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Send w over a socket pair and receive it: the kind, the payload in *r. */
static int roundtrip(wbuf *w, rbuf *r)
{
    int sv[2], k;
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    assert_int_equal(w_send(sv[0], w), 0);
    w_free(w);
    k = w_recv(sv[1], r);
    close(sv[0]);
    close(sv[1]);
    return k;
}

static void test_unit_isolate_wire__values_come_back_as_sent(void **state)
{
    static const char bin[] = {'a', 0, 'b', 0, 'c'};
    const char *argv[] = {"cat", "", "x y", NULL};
    const char *keys[] = {"A", "B"}, *vals[] = {"1", NULL};
    relhost_map m = {2, keys, vals};
    wbuf w;
    rbuf r;
    rarena a = {0};
    relhost_map m2 = {0};
    const char *const *v;
    const char *p;
    size_t n;
    (void)state;
    w_init(&w, W_OP);
    w_u32(&w, 7);
    w_i32(&w, -5);
    w_u64(&w, 1ull << 40);
    w_f64(&w, 0.25);
    w_str(&w, NULL);
    w_str(&w, "");
    w_bytes(&w, bin, sizeof bin);
    w_strv(&w, argv);
    w_strv(&w, NULL);
    w_map(&w, &m);
    assert_int_equal(roundtrip(&w, &r), W_OP);
    assert_int_equal(r_u32(&r), 7);
    assert_int_equal(r_i32(&r), -5);
    assert_true(r_u64(&r) == 1ull << 40);
    assert_true(r_f64(&r) == 0.25);
    assert_null(r_str(&r));
    assert_string_equal(r_str(&r), "");
    p = r_bytes(&r, &n);
    assert_int_equal(n, sizeof bin);
    assert_memory_equal(p, bin, sizeof bin);
    v = r_strv(&r, &a);
    assert_string_equal(v[0], "cat");
    assert_string_equal(v[1], "");
    assert_string_equal(v[2], "x y");
    assert_null(v[3]);
    assert_null(r_strv(&r, &a));
    assert_int_equal(r_map(&r, &a, &m2), 1);
    assert_int_equal(m2.n, 2);
    assert_string_equal(m2.keys[1], "B");
    assert_null(m2.values[1]);
    assert_false(r.bad);
    r_u32(&r); /* past the end */
    assert_true(r.bad);
    ra_free(&a);
    r_free(&r);
}

static void test_unit_isolate_wire__checks_and_ctx_keep_every_field(void **state)
{
    relhost_check_spec c[2] = {{.struct_size = sizeof c[0],
                                .key = "sps",
                                .op = RELHOST_OP_GE,
                                .expected = 3e4,
                                .where = "p.cfg:3",
                                .stat = RELHOST_STAT_MIN,
                                .baseline = RELHOST_BASELINE_HIGHER,
                                .rel_tol = 0.2},
                               {.struct_size = sizeof c[1],
                                .key = "x",
                                .op = RELHOST_OP_RANGE,
                                .expected = 1,
                                .expected_hi = 2}};
    relhost_checks k = {2, sizeof c[0], c}, k2;
    const char *only[] = {"a*", NULL};
    relhost_ctx ctx = {.struct_size = sizeof ctx,
                       .mode = RELHOST_MODE_CHECK,
                       .version = "1.0",
                       .step = "s",
                       .only = {1, only},
                       .verbose = 2,
                       .plan_dir = "/p"},
                ctx2;
    wbuf w;
    rbuf r;
    rarena a = {0};
    (void)state;
    w_init(&w, W_SVC);
    w_checks(&w, &k);
    w_ctx(&w, &ctx);
    assert_int_equal(roundtrip(&w, &r), W_SVC);
    assert_int_equal(r_checks(&r, &a, &k2), 1);
    assert_int_equal(k2.n, 2);
    assert_string_equal(k2.v[0].key, "sps");
    assert_int_equal(k2.v[0].stat, RELHOST_STAT_MIN);
    assert_int_equal(k2.v[0].baseline, RELHOST_BASELINE_HIGHER);
    assert_true(k2.v[0].rel_tol == 0.2);
    assert_string_equal(k2.v[0].where, "p.cfg:3");
    assert_int_equal(k2.v[1].op, RELHOST_OP_RANGE);
    assert_true(k2.v[1].expected_hi == 2);
    assert_null(k2.v[1].where);
    r_ctx(&r, &a, &ctx2);
    assert_false(r.bad);
    assert_int_equal(ctx2.mode, RELHOST_MODE_CHECK);
    assert_string_equal(ctx2.version, "1.0");
    assert_null(ctx2.commit);
    assert_int_equal(ctx2.only.n, 1);
    assert_string_equal(ctx2.only.v[0], "a*");
    assert_int_equal(ctx2.verbose, 2);
    assert_string_equal(ctx2.plan_dir, "/p");
    assert_null(ctx2.host_private);
    ra_free(&a);
    r_free(&r);
}

static void test_unit_isolate_wire__a_count_larger_than_the_message_is_refused(void **state)
{
    wbuf w;
    rbuf r;
    rarena a = {0};
    relhost_map m;
    (void)state;
    w_init(&w, W_RET);
    w_u32(&w, 1000000); /* a million map entries in a message of a few bytes */
    w_str(&w, "k");
    assert_int_equal(roundtrip(&w, &r), W_RET);
    assert_int_equal(r_map(&r, &a, &m), 0);
    assert_true(r.bad);
    ra_free(&a);
    r_free(&r);
    w_init(&w, W_RET);
    w_u32(&w, 50); /* a string longer than what follows */
    w_u32(&w, 0);
    assert_int_equal(roundtrip(&w, &r), W_RET);
    assert_null(r_str(&r));
    assert_true(r.bad);
    r_free(&r);
}

static void test_unit_isolate_wire__eof_reads_as_zero(void **state)
{
    int sv[2];
    rbuf r;
    (void)state;
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    close(sv[0]);
    assert_int_equal(w_recv(sv[1], &r), 0);
    close(sv[1]);
}

static void test_unit_isolate_wire__a_job_status_keeps_every_field(void **state)
{
    relhost_job_status in, got;
    wbuf w;
    rbuf r;
    (void)state;
    memset(&in, 0x55, sizeof in); /* nothing but the table's members may travel */
    in.struct_size = sizeof in;
    in.key = "rh-1-v-a1";
    in.external_id = NULL;
    in.state = RELHOST_JOB_ENDED;
    snprintf(in.new_external_id, sizeof in.new_external_id, "%s", "4242");
    in.end = RELHOST_END_SIGNALED;
    in.exit_code = -3;
    in.signal = 9;
    in.restarts = 2;
    memset(in.engine_state, 'S', sizeof in.engine_state); /* no NUL: cut at the array's end */
    snprintf(in.engine_reason, sizeof in.engine_reason, "%s", "");
    w_init(&w, W_RET);
    w_fields(&w, &in, wf_job_status_in, WF_COUNT(wf_job_status_in));
    w_fields(&w, &in, wf_job_status_out, WF_COUNT(wf_job_status_out));
    assert_int_equal(roundtrip(&w, &r), W_RET);
    memset(&got, 0, sizeof got);
    r_fields(&r, NULL, &got, wf_job_status_in, WF_COUNT(wf_job_status_in));
    r_fields(&r, NULL, &got, wf_job_status_out, WF_COUNT(wf_job_status_out));
    assert_false(r.bad);
    assert_string_equal(got.key, "rh-1-v-a1");
    assert_null(got.external_id);
    assert_null(got.runner_handle); /* a handle never travels as a pointer */
    assert_int_equal(got.state, RELHOST_JOB_ENDED);
    assert_string_equal(got.new_external_id, "4242");
    assert_int_equal(got.end, RELHOST_END_SIGNALED);
    assert_int_equal(got.exit_code, -3);
    assert_int_equal(got.signal, 9);
    assert_int_equal(got.restarts, 2);
    assert_int_equal(strlen(got.engine_state), sizeof got.engine_state - 1);
    assert_string_equal(got.engine_reason, "");
    r_free(&r);
}

static void test_unit_isolate_wire__a_string_longer_than_its_array_is_refused(void **state)
{
    static char longer[300];
    relhost_job_status got;
    wbuf w;
    rbuf r;
    (void)state;
    memset(longer, 'x', sizeof longer - 1);
    w_init(&w, W_RET);
    w_i32(&w, RELHOST_JOB_RUNNING);
    w_str(&w, longer); /* 299 bytes for new_external_id[257] */
    assert_int_equal(roundtrip(&w, &r), W_RET);
    memset(&got, 0, sizeof got);
    r_fields(&r, NULL, &got, wf_job_status_out, 2);
    assert_true(r.bad);
    assert_string_equal(got.new_external_id, "");
    r_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unit_isolate_wire__values_come_back_as_sent),
        cmocka_unit_test(test_unit_isolate_wire__checks_and_ctx_keep_every_field),
        cmocka_unit_test(test_unit_isolate_wire__a_count_larger_than_the_message_is_refused),
        cmocka_unit_test(test_unit_isolate_wire__eof_reads_as_zero),
        cmocka_unit_test(test_unit_isolate_wire__a_job_status_keeps_every_field),
        cmocka_unit_test(test_unit_isolate_wire__a_string_longer_than_its_array_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
