/* SPDX-License-Identifier: MIT */
/* Unit tests of core/registry/manifest.c: the typed record of manifest.json, what it writes back
 * (members it does not know, wrong types and member order kept), and the two readers' checks
 * (the registry's and the status page's), each with its own message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "base/error.h"
#include "registry/manifest.h"

#include <relhost/plugin.h>

#include <stdlib.h>
#include <string.h>

static int read_text(const char *text, manifest_check check, manifest *m)
{
    json_error_t je;
    json_t *doc = json_loads(text, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
    assert_non_null(doc);
    return manifest_read(doc, "/reg/manifest.json", check, m);
}

/* The manifest written back, compact, for comparing with an expected text. */
static char *compact(const manifest *m) { return json_dumps(manifest_json(m), JSON_COMPACT); }

static void test_unit_manifest__wrong_types_read_as_absent_and_are_written_back_as_they_were(
    void **state)
{
    static const char text[] =
        "{\"schema\":1,\"note\":\"hand\",\"pointers\":{\"last_green\":\"0.8\",\"latest\":\"0.8\"},"
        "\"releases\":[{\"status\":\"promoted\",\"version\":\"0.8\",\"commit\":5,\"reason\":7,"
        "\"promoted_at\":\"2026-01-02T00:00:00Z\",\"extra\":{\"a\":1},"
        "\"artifacts\":[{\"path\":\"x.bin\",\"sha256\":\"00\",\"size\":3,\"more\":true},"
        "{\"sha256\":\"11\"},3]}]}";
    manifest m;
    const manifest_release *e;
    char *out;
    (void)state;
    assert_int_equal(read_text(text, MANIFEST_CHECK_REGISTRY, &m), 0);
    assert_int_equal(m.schema, 1);
    assert_string_equal(m.pointer[MANIFEST_LAST_GREEN], "0.8");
    assert_null(m.pointer[MANIFEST_PREVIOUS_GREEN]);
    e = manifest_find(&m, "0.8");
    assert_non_null(e);
    assert_int_equal(e->status, MANIFEST_PROMOTED);
    assert_null(e->commit);
    assert_null(e->reason);
    assert_null(e->staged_at);
    assert_string_equal(e->promoted_at, "2026-01-02T00:00:00Z");
    assert_int_equal(e->nartifacts, 3);
    assert_string_equal(e->artifacts[0].path, "x.bin");
    assert_int_equal(e->artifacts[0].size, 3);
    assert_null(e->artifacts[1].path);
    assert_string_equal(e->artifacts[1].sha256, "11");
    assert_int_equal(e->artifacts[1].size, -1);
    assert_null(e->artifacts[2].path);
    assert_null(manifest_find(&m, "0.9"));
    out = compact(&m);
    assert_string_equal(out, text);
    free(out);
    manifest_free(&m);
}

static void test_unit_manifest__changes_keep_member_order_and_add_missing_members_at_the_end(
    void **state)
{
    manifest m, next;
    manifest_release *e;
    char *out;
    (void)state;
    assert_int_equal(read_text("{\"schema\":1,\"pointers\":{\"latest\":\"0.8\"},\"releases\":["
                               "{\"status\":\"promoted\",\"version\":\"0.8\",\"x\":1}]}",
                               MANIFEST_CHECK_REGISTRY, &m),
                     0);
    manifest_copy(&m, &next);
    e = manifest_enter(&next, "0.8", "abc");
    manifest_set_status(&next, e, MANIFEST_ROLLED_BACK, "T1");
    manifest_set_reason(&next, e, "bad");
    manifest_set_pointer(&next, MANIFEST_LATEST, NULL);
    manifest_set_pointer(&next, MANIFEST_LAST_GREEN, "0.7");
    out = compact(&next);
    assert_string_equal(out, "{\"schema\":1,\"pointers\":{\"latest\":null,\"last_green\":\"0.7\"},"
                             "\"releases\":[{\"status\":\"rolled_back\",\"version\":\"0.8\","
                             "\"x\":1,\"rolled_back_at\":\"T1\",\"reason\":\"bad\"}]}");
    free(out);
    /* the typed record follows the document; the manifest copied from is untouched */
    assert_int_equal(e->status, MANIFEST_ROLLED_BACK);
    assert_string_equal(e->status_raw, "rolled_back");
    assert_string_equal(e->rolled_back_at, "T1");
    assert_null(next.pointer[MANIFEST_LATEST]);
    assert_string_equal(next.pointer[MANIFEST_LAST_GREEN], "0.7");
    assert_int_equal(manifest_find(&m, "0.8")->status, MANIFEST_PROMOTED);
    assert_string_equal(m.pointer[MANIFEST_LATEST], "0.8");
    manifest_free(&next);
    manifest_free(&m);
}

static void test_unit_manifest__a_new_release_has_every_member_in_the_documented_order(void **state)
{
    manifest m;
    manifest_release *e;
    const manifest_staged arts[] = {{"model.bin", "ab12", 11}};
    char *out;
    (void)state;
    manifest_empty(&m);
    assert_int_equal(m.nreleases, 0);
    e = manifest_enter(&m, "1.0", NULL);
    assert_int_equal(e->status, MANIFEST_STAGED);
    assert_int_equal(manifest_same_artifacts(&m, e, arts, 1), 0);
    manifest_set_status(&m, e, MANIFEST_STAGED, "T0");
    manifest_set_artifacts(&m, e, arts, 1);
    assert_int_equal(manifest_same_artifacts(&m, e, arts, 1), 1);
    assert_ptr_equal(manifest_enter(&m, "1.0", "other"), e); /* found, not entered again */
    out = compact(&m);
    assert_string_equal(out, "{\"schema\":1,\"pointers\":{\"latest\":null,\"last_green\":null,"
                             "\"previous_green\":null},\"releases\":[{\"version\":\"1.0\","
                             "\"commit\":null,\"status\":\"staged\",\"staged_at\":\"T0\","
                             "\"promoted_at\":null,\"quarantined_at\":null,"
                             "\"rolled_back_at\":null,\"reason\":null,\"artifacts\":[{\"path\":"
                             "\"model.bin\",\"sha256\":\"ab12\",\"size\":11}]}]}");
    free(out);
    assert_string_equal(e->artifacts[0].sha256, "ab12");
    assert_int_equal(e->artifacts[0].size, 11);
    manifest_free(&m);
}

/* text is refused by check with a message holding want. */
static void refused(const char *text, manifest_check check, const char *want)
{
    manifest m;
    assert_int_equal(read_text(text, check, &m), RELHOST_EINVAL);
    if (!strstr(error_last(), want))
        fail_msg("\"%s\" not in \"%s\"", want, error_last());
    assert_non_null(strstr(error_last(), "/reg/manifest.json"));
    manifest_free(&m);
    error_clear();
}

static void test_unit_manifest__the_registry_and_the_page_each_refuse_with_their_own_words(
    void **state)
{
    manifest m;
    (void)state;
    refused("[1]", MANIFEST_CHECK_REGISTRY, "is not valid: not a JSON object");
    refused("[1]", MANIFEST_CHECK_PAGE, "is not a JSON object; fix it or restore it");
    refused("{\"schema\":2,\"pointers\":{},\"releases\":[]}", MANIFEST_CHECK_REGISTRY,
            "has schema 2, newer than this relhost reads (1)");
    refused("{\"schema\":2}", MANIFEST_CHECK_PAGE, "has schema 2, newer than the 1 this relhost");
    refused("{\"schema\":1}", MANIFEST_CHECK_REGISTRY,
            "\"pointers\" must be an object and \"releases\" an array");
    refused("{\"schema\":1,\"pointers\":{},\"releases\":[{\"version\":\"a\",\"status\":\"x\"}]}",
            MANIFEST_CHECK_REGISTRY, "a release lacks a version string or a known status");
    refused("{\"schema\":0}", MANIFEST_CHECK_PAGE, "has no valid \"schema\" (a positive integer)");
    refused("{\"schema\":1,\"pointers\":{\"latest\":3}}", MANIFEST_CHECK_PAGE,
            "is corrupt: pointer \"latest\" must be a version string or null");
    refused("{\"schema\":1,\"releases\":[{\"version\":\"a\",\"status\":\"staged\",\"reason\":7}]}",
            MANIFEST_CHECK_PAGE, "release #1: \"reason\" must be a string or null");
    refused("{\"schema\":1,\"releases\":[{\"version\":\"a\",\"status\":\"x\"},"
            "{\"version\":\"a\",\"status\":\"y\"}]}",
            MANIFEST_CHECK_PAGE, "releases #1 and #2 have the same version");
    /* the first two that share a version are named, however far apart */
    refused("{\"schema\":1,\"releases\":[{\"version\":\"b\",\"status\":\"x\"},"
            "{\"version\":\"a\",\"status\":\"x\"},{\"version\":\"aa\",\"status\":\"x\"},"
            "{\"version\":\"c\",\"status\":\"x\"},{\"version\":\"a\",\"status\":\"y\"},"
            "{\"version\":\"b\",\"status\":\"y\"}]}",
            MANIFEST_CHECK_PAGE, "releases #2 and #5 have the same version");
    /* what only the page refuses, the registry reads (and the other way round) */
    assert_int_equal(read_text("{\"schema\":0,\"pointers\":{},\"releases\":[{\"version\":\"a\","
                               "\"status\":\"staged\",\"reason\":7}]}",
                               MANIFEST_CHECK_REGISTRY, &m),
                     0);
    manifest_free(&m);
    assert_int_equal(read_text("{\"schema\":1,\"releases\":[{\"version\":\"a\",\"status\":"
                               "\"weird\"}]}",
                               MANIFEST_CHECK_PAGE, &m),
                     0);
    assert_int_equal(m.releases[0].status, MANIFEST_UNKNOWN);
    assert_string_equal(m.releases[0].status_raw, "weird");
    assert_null(m.pointer[MANIFEST_LATEST]);
    manifest_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(
            test_unit_manifest__wrong_types_read_as_absent_and_are_written_back_as_they_were),
        cmocka_unit_test(
            test_unit_manifest__changes_keep_member_order_and_add_missing_members_at_the_end),
        cmocka_unit_test(
            test_unit_manifest__a_new_release_has_every_member_in_the_documented_order),
        cmocka_unit_test(
            test_unit_manifest__the_registry_and_the_page_each_refuse_with_their_own_words),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
