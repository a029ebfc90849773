// SPDX-License-Identifier: GPL-2.0-only
/*
 * The operator's overrides: kept in LIB_DIR/overrides.json, written before
 * they take effect, read back by the next prepopd; a file that cannot be
 * read is an error naming the entry; a save that fails changes nothing.
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "override.h"
#include "testutil.h"
#include "timefmt.h"

#define U1 "11111111-2222-3333-4444-555555555555"
#define U2 "66666666-7777-8888-9999-000000000000"

static void test_absent_file_is_none(void **state)
{
	struct pp_errs errs = { 0 };
	char *dir = tu_mkdtemp();
	struct overrides *o = override_load(dir, &errs);

	(void)state;
	assert_non_null(o);
	assert_int_equal(errs.n, 0);
	assert_null(override_get(o, U1));
	assert_null(override_json(o, U1));
	override_free(o);
	tu_rmtree(dir);
}

static void test_set_clear_and_read_back(void **state)
{
	struct pp_errs errs = { 0 };
	char *dir = tu_mkdtemp(), path[4096];
	struct overrides *o = override_load(dir, &errs), *again;
	const struct override *x;
	json_object *j;

	(void)state;
	assert_int_equal(override_set(o, U1, "big1", PP_MODE_FAULT, &errs), 0);
	assert_int_equal(override_set(o, U2, "big2", PP_MODE_PREPOPULATE, &errs), 0);
	assert_int_equal(override_set(o, U1, "big1", PP_MODE_PREPOPULATE, &errs), 0);	/* replaced */
	assert_int_equal(errs.n, 0);
	x = override_get(o, U1);
	assert_non_null(x);
	assert_int_equal(x->mode, PP_MODE_PREPOPULATE);
	assert_true(x->since.tv_sec > 0);
	j = override_json(o, U2);
	assert_string_equal(json_object_get_string(json_object_object_get(j, "mode")), "prepopulate");
	assert_string_equal(json_object_get_string(json_object_object_get(j, "name")), "big2");
	json_object_put(j);

	/* what the next prepopd reads */
	again = override_load(dir, &errs);
	assert_non_null(again);
	assert_int_equal(override_get(again, U1)->mode, PP_MODE_PREPOPULATE);
	assert_int_equal(override_get(again, U2)->mode, PP_MODE_PREPOPULATE);
	assert_string_equal(override_get(again, U2)->name, "big2");
	assert_int_equal(override_get(again, U1)->since.tv_sec, x->since.tv_sec);
	override_free(again);

	/* auto clears it, on disk too */
	assert_int_equal(override_set(o, U1, "big1", PP_MODE_AUTO, &errs), 0);
	assert_null(override_get(o, U1));
	again = override_load(dir, &errs);
	assert_null(override_get(again, U1));
	assert_non_null(override_get(again, U2));
	override_free(again);
	/* no temporary file left behind */
	snprintf(path, sizeof(path), "%s/.overrides.json.tmp", dir);
	assert_int_not_equal(access(path, F_OK), 0);
	override_free(o);
	tu_rmtree(dir);
}

static void test_save_failure_changes_nothing(void **state)
{
	struct pp_errs errs = { 0 };
	char *dir = tu_mkdtemp(), sub[4096];
	struct overrides *o;

	(void)state;
	/* the directory to keep them in turns into a file: nothing can be written */
	snprintf(sub, sizeof(sub), "%s/lib", dir);
	assert_int_equal(mkdir(sub, 0755), 0);
	o = override_load(sub, &errs);
	assert_non_null(o);
	assert_int_equal(rmdir(sub), 0);
	tu_write(dir, "lib", "not a directory");
	assert_int_equal(override_set(o, U1, "big1", PP_MODE_FAULT, &errs), -1);
	assert_true(tu_has_err(&errs, "/lib/.overrides.json.tmp", NULL, "cannot create: Not a directory"));
	assert_null(override_get(o, U1));	/* not in force either */
	pp_errs_free(&errs);
	override_free(o);
	tu_rmtree(dir);
}

static void test_invalid_files(void **state)
{
	static const struct {
		const char *text, *path, *msg;
	} cases[] = {
		{ "{", NULL, "cannot load" },
		{ "[]", "$", "expected an object" },
		{ "{ \"version\": 2, \"overrides\": [] }", "$.version", "expected 1" },
		{ "{ \"version\": 1 }", "$.overrides", "expected an array" },
		{ "{ \"version\": 1, \"overrides\": [ { \"uuid\": \"" U1 "\", \"name\": \"a\", \"mode\": \"sometimes\" } ] }",
		  "$.overrides[0]", "expected uuid, name and mode" },
		{ "{ \"version\": 1, \"overrides\": [ { \"uuid\": \"" U1 "\", \"name\": \"a\", \"mode\": \"auto\" } ] }",
		  "$.overrides[0]", "expected uuid, name and mode" },
		{ "{ \"version\": 1, \"overrides\": [ { \"uuid\": \"" U1 "\", \"name\": \"a\", \"mode\": \"fault\" },"
		  " { \"uuid\": \"" U1 "\", \"name\": \"b\", \"mode\": \"fault\" } ] }",
		  "$.overrides[1]", "appears twice" },
		{ "{ \"version\": 1, \"overrides\": [ { \"uuid\": \"" U1 "\", \"name\": \"a\", \"mode\": \"fault\", \"since\": \"yesterday\" } ] }",
		  "$.overrides[0]", "RFC 3339" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pp_errs errs = { 0 };
		char *dir = tu_mkdtemp();

		tu_write(dir, PP_OVERRIDE_FILE, cases[i].text);
		assert_null(override_load(dir, &errs));
		if (!tu_has_err(&errs, "/" PP_OVERRIDE_FILE, cases[i].path, cases[i].msg)) {
			tu_dump_errs(&errs);
			fail_msg("case %zu: no error %s: %s", i, cases[i].path ? cases[i].path : "-",
				 cases[i].msg);
		}
		pp_errs_free(&errs);
		tu_rmtree(dir);
	}
}

static void test_time_format_round_trip(void **state)
{
	struct timespec ts = { 1767323045, 678000000 }, back;
	char buf[40];

	(void)state;
	assert_string_equal(time_format(&ts, buf, sizeof(buf)), "2026-01-02T03:04:05.678Z");
	assert_int_equal(time_parse(buf, &back), 0);
	assert_int_equal(back.tv_sec, ts.tv_sec);
	assert_int_equal(back.tv_nsec, ts.tv_nsec);
	assert_int_equal(time_parse("2026-01-02T03:04:05Z", &back), 0);
	assert_int_equal(back.tv_nsec, 0);
	assert_int_equal(time_parse("2026-01-02T03:04:05.6Z", &back), -1);
	assert_int_equal(time_parse("2026-01-02T03:04:05+01:00", &back), -1);
	assert_int_equal(time_parse("2026-01-02", &back), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_absent_file_is_none),
		cmocka_unit_test(test_set_clear_and_read_back),
		cmocka_unit_test(test_save_failure_changes_nothing),
		cmocka_unit_test(test_invalid_files),
		cmocka_unit_test(test_time_format_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
