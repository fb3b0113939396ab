/* SPDX-License-Identifier: MIT */
/* Unit tests of core/registry/sha256.c: the FIPS 180-4 example vectors, inputs at every padding
 * boundary (55/56/64 bytes and their neighbours), the same bytes fed in any chunking, and the
 * file digest (the registry's staged-artifact check). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "base/util.h"
#include "registry/sha256.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void digest(const void *p, size_t n, char out[65])
{
    sha256_ctx c;
    sha256_init(&c);
    sha256_update(&c, p, n);
    sha256_hex(&c, out);
}

static void test_unit_sha256__fips_example_vectors(void **state)
{
    char h[65];
    (void)state;
    digest("abc", 3, h);
    assert_string_equal(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    digest("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, h);
    assert_string_equal(h, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static const struct {
    size_t n;
    const char *hex;
} boundaries[] = {
    {0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
    {1, "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb"},
    {55, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318"},
    {56, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a"},
    {57, "f13b2d724659eb3bf47f2dd6af1accc87b81f09f59f2b75e5c0bed6589dfe8c6"},
    {63, "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34"},
    {64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb"},
    {65, "635361c48bb9eab14198e76ea8ab7f1a41685d6ad62aa9146d301d4f17eb0ae0"},
    {119, "31eba51c313a5c08226adf18d4a359cfdfd8d2e816b13f4af952f7ea6584dcfb"},
    {120, "2f3d335432c70b580af0e8e1b3674a7c020d683aa5f73aaaedfdc55af904c21c"},
    {127, "c57e9278af78fa3cab38667bef4ce29d783787a2f731d4e12200270f0c32320a"},
    {128, "6836cf13bac400e9105071cd6af47084dfacad4e5e302c94bfed24e013afb73e"},
    {1000, "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3"},
    {65536, "bf718b6f653bebc184e1479f1935b8da974d701b893afcf49e701f3e2f9f9c5a"},
    {65537, "008ffc88d3c96a9f307524eb361e47c5222a887fc45fa0c1fb8d429c5c23b430"},
};

static void test_unit_sha256__every_padding_boundary_and_any_chunking(void **state)
{
    char *buf = xmalloc(65537), h[65];
    (void)state;
    memset(buf, 'a', 65537);
    for (size_t i = 0; i < sizeof boundaries / sizeof boundaries[0]; i++) {
        size_t n = boundaries[i].n;
        digest(buf, n, h);
        assert_string_equal(h, boundaries[i].hex);
        /* the same bytes in chunks of 1, 7, 63 and 64 bytes */
        for (size_t step = 1; step <= 64; step = step == 1 ? 7 : (step == 7 ? 63 : step + 1)) {
            sha256_ctx c;
            sha256_init(&c);
            for (size_t off = 0; off < n; off += step)
                sha256_update(&c, buf + off, n - off < step ? n - off : step);
            sha256_hex(&c, h);
            assert_string_equal(h, boundaries[i].hex);
        }
    }
    free(buf);
}

static void test_unit_sha256__file_digest_and_missing_file(void **state)
{
    const char *base = getenv("RELHOST_TEST_TMP");
    char *dir = xasprintf("%s/sha256-XXXXXX", base && *base ? base : "/tmp"), *p, h[65];
    FILE *f;
    (void)state;
    path_mkdirs(base && *base ? base : "/tmp");
    assert_non_null(mkdtemp(dir));
    p = path_join(dir, "f");
    f = fopen(p, "w");
    assert_non_null(f);
    for (int i = 0; i < 1000; i++)
        fputs("a", f);
    fclose(f);
    assert_int_equal(sha256_file(p, h), 0);
    assert_string_equal(h, boundaries[12].hex); /* 1000 x 'a' */
    remove(p);
    assert_int_not_equal(sha256_file(p, h), 0);
    remove(dir);
    free(p);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unit_sha256__fips_example_vectors),
        cmocka_unit_test(test_unit_sha256__every_padding_boundary_and_any_chunking),
        cmocka_unit_test(test_unit_sha256__file_digest_and_missing_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
