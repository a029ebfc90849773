// SPDX-License-Identifier: GPL-2.0-only
#include <string.h>

#include "prepop/units.h"
#include "testutil.h"

static uint64_t ok(const char *v, const char *u)
{
	uint64_t out = 0;
	const char *err = NULL;

	if (pp_scale(v, u, 1024, &out, &err) < 0)
		fail_msg("pp_scale(%s, %s): %s", v, u ? u : "NULL", err);
	return out;
}

static const char *bad(const char *v, const char *u)
{
	uint64_t out;
	const char *err = NULL;

	assert_int_equal(pp_scale(v, u, 1024, &out, &err), -1);
	return err;
}

static void test_units_as_libvirt(void **state)
{
	(void)state;
	assert_int_equal(ok("4", NULL), 4096);	/* KiB when absent */
	assert_int_equal(ok("4", ""), 4096);
	assert_int_equal(ok("4096", "b"), 4096);
	assert_int_equal(ok("4096", "bytes"), 4096);
	assert_int_equal(ok("4096", "Byte"), 4096);
	assert_int_equal(ok("1", "k"), 1024);
	assert_int_equal(ok("1", "KiB"), 1024);
	assert_int_equal(ok("1", "kib"), 1024);
	assert_int_equal(ok("1", "KB"), 1000);
	assert_int_equal(ok("1", "kb"), 1000);
	assert_int_equal(ok("2", "M"), 2ull << 20);
	assert_int_equal(ok("2", "MiB"), 2ull << 20);
	assert_int_equal(ok("2", "MB"), 2000000);
	assert_int_equal(ok("1", "G"), 1ull << 30);
	assert_int_equal(ok("1", "gib"), 1ull << 30);
	assert_int_equal(ok("1", "GB"), 1000000000ull);
	assert_int_equal(ok("1", "T"), 1ull << 40);
	assert_int_equal(ok("1", "TB"), 1000000000000ull);
	assert_int_equal(ok("1", "PiB"), 1ull << 50);
	assert_int_equal(ok("1", "PB"), 1000000000000000ull);
	assert_int_equal(ok("1", "E"), 1ull << 60);
	assert_int_equal(ok("1", "EB"), 1000000000000000000ull);
	assert_int_equal(ok(" 16 \n", "GiB"), 16ull << 30);
}

static void test_bad_units(void **state)
{
	(void)state;
	assert_string_equal(bad("-1", "KiB"), "negative value");
	assert_string_equal(bad("1", "KiBB"), "unknown unit");
	assert_string_equal(bad("1", "X"), "unknown unit");
	assert_string_equal(bad("1", "Mi"), "unknown unit");
	assert_string_equal(bad("abc", NULL), "not a number");
	assert_string_equal(bad("", NULL), "empty value");
	assert_string_equal(bad("12x", NULL), "trailing characters after the number");
	assert_string_equal(bad("99999999999999999999999", NULL), "value overflows 64 bits");
	assert_string_equal(bad("16", "EiB"), "value overflows 64 bits once scaled");
	assert_string_equal(bad("18014398509481984", NULL), "value overflows 64 bits once scaled");
}

static void test_fmt(void **state)
{
	char b[32];

	(void)state;
	assert_string_equal(pp_fmt_bytes(b, sizeof(b), 64ull << 30), "64 GiB");
	assert_string_equal(pp_fmt_bytes(b, sizeof(b), 3ull << 29), "1.5 GiB");
	assert_string_equal(pp_fmt_bytes(b, sizeof(b), 512), "512 B");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_units_as_libvirt),
		cmocka_unit_test(test_bad_units),
		cmocka_unit_test(test_fmt),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
