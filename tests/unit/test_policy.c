// SPDX-License-Identifier: GPL-2.0-only
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "prepop/policy.h"
#include "testutil.h"

#define DEFAULTS_OK "{ \"version\": 1, \"eligibility\": { \"min_vcpus\": 4 } }"

/* Load files; expect failure and return the errors (caller frees). */
static struct pp_errs load_bad(const char *const *files)
{
	struct pp_errs errs = { 0 };
	char *dir = tu_policy_dir(files);
	struct pp_policy *p = pp_policy_load(dir, &errs);

	if (p)
		fail_msg("policy loaded but errors were expected");
	assert_true(errs.n > 0);
	tu_rmtree(dir);
	return errs;
}

static struct pp_policy *load_ok(const char *const *files, char **dir)
{
	struct pp_errs errs = { 0 };
	struct pp_policy *p;

	*dir = tu_policy_dir(files);
	p = pp_policy_load(*dir, &errs);
	if (!p)
		tu_dump_errs(&errs);
	assert_non_null(p);
	pp_errs_free(&errs);
	return p;
}

#define EXPECT(errs, file, path, msg) do { \
	if (!tu_has_err(&(errs), file, path, msg)) { \
		tu_dump_errs(&(errs)); \
		fail_msg("no error %s %s \"%s\"", file ? file : "-", path ? path : "-", msg); \
	} \
} while (0)

static void test_sample_policy_is_valid(void **state)
{
	struct pp_errs errs = { 0 };
	struct pp_policy *p = pp_policy_load(PP_POLICY_D, &errs);
	const struct pp_flavor *f;
	const char *glob;

	(void)state;
	if (!p)
		tu_dump_errs(&errs);
	assert_non_null(p);
	assert_int_equal(p->n_flavors, 4);
	f = pp_policy_match(p, "r5.4xlarge", &glob);
	assert_non_null(f);
	assert_string_equal(f->name, "memory-r5-x1");
	assert_string_equal(glob, "r5.*");
	assert_true(f->params.elig.require_hugepages);
	assert_int_equal(f->params.elig.min_vcpus, 4);
	/* inherited from defaults.json */
	assert_int_equal(f->params.elig.min_memory_mib, 16384);
	assert_int_equal(f->params.pop.slice_ms, 100);
	assert_int_equal(f->params.pop.gap_ms, 20);
	assert_null(pp_policy_match(p, "c5.large", NULL));
	/* the fallbacks as docs/policy.md explains them */
	assert_true(p->defaults.fb.ksm);
	assert_true(p->defaults.fb.smm);
	assert_false(p->defaults.fb.smm_default_is_on);
	pp_policy_free(p);
}

static void test_inheritance_and_builtins(void **state)
{
	const char *const files[] = {
		"defaults.json", "{ \"populate\": { \"slice_gap_ms\": 7 }, \"fallbacks\": { \"smm\": { \"default_is_on\": true } } }",
		"a.json", "{ \"flavor\": \"a\", \"match\": [\"a.*\"], \"populate\": { \"workers\": 3 }, \"fallbacks\": { \"smm\": { \"enabled\": false } } }",
		"README", "not json, ignored",
		".hidden.json", "not json, ignored",
		"a.json.dpkg-old", "not json, ignored",
		NULL
	};
	char *dir;
	struct pp_policy *p = load_ok(files, &dir);
	const struct pp_flavor *f = pp_policy_match(p, "a.1", NULL);

	(void)state;
	assert_non_null(f);
	assert_int_equal(p->defaults.pop.gap_ms, 7);
	assert_int_equal(p->defaults.pop.slice_ms, 50);	/* built-in */
	assert_int_equal(f->params.pop.gap_ms, 7);	/* from defaults.json */
	assert_int_equal(f->params.pop.workers, 3);	/* own */
	assert_false(f->params.fb.smm);
	assert_true(f->params.fb.smm_default_is_on);	/* sibling key inherited */
	assert_true(f->params.fb.ksm);	/* built-in */
	assert_true(p->rollout.enabled);
	assert_string_equal(p->rollout.salt, "prepop");
	assert_int_equal(p->rollout.max_concurrent_guests, 2);	/* built-in */
	pp_policy_free(p);
	tu_rmtree(dir);
}

static void test_concurrency_cap(void **state)
{
	const char *const files[] = {
		"defaults.json", "{ \"rollout\": { \"max_concurrent_guests\": 5 } }",
		NULL
	};
	char *dir;
	struct pp_policy *p = load_ok(files, &dir);

	(void)state;
	assert_int_equal(p->rollout.max_concurrent_guests, 5);
	pp_policy_free(p);
	tu_rmtree(dir);
}

static void test_missing_dir_and_defaults(void **state)
{
	struct pp_errs errs = { 0 };
	const char *const files[] = {
		"a.json", "{ \"flavor\": \"a\", \"match\": [\"a\"] }", NULL
	};

	(void)state;
	assert_null(pp_policy_load("/nonexistent/prepop", &errs));
	EXPECT(errs, "/nonexistent/prepop", NULL, "cannot open policy directory: No such file or directory");
	pp_errs_free(&errs);

	errs = load_bad(files);
	EXPECT(errs, "defaults.json", NULL, "missing: a policy directory needs defaults.json");
	pp_errs_free(&errs);
}

static void test_unreadable_and_syntax(void **state)
{
	char *dir = tu_mkdtemp(), link[512];
	struct pp_errs errs = { 0 };

	(void)state;
	tu_write(dir, "defaults.json", "{\n  \"mode\": \"auto\",\n  \"populate\": { \"workers\": 1, }\n}\n");
	tu_write(dir, "b.json", "{ \"flavor\": \"b\", \"match\": [\"b\"] } trailing");
	tu_write(dir, "c.json", "{ \"flavor\": \"c\", ");
	tu_write(dir, "d.json", "[1, 2]");
	snprintf(link, sizeof(link), "%s/e.json", dir);
	assert_int_equal(symlink("/nonexistent/e.json", link), 0);
	assert_null(pp_policy_load(dir, &errs));
	EXPECT(errs, "defaults.json", NULL, "invalid JSON at line 3, column");
	EXPECT(errs, "b.json", NULL, "invalid JSON at line 1, column 35: text after the top-level value");
	EXPECT(errs, "c.json", NULL, "unexpected end of file");
	EXPECT(errs, "d.json", "$", "expected an object at the top level, got array");
	EXPECT(errs, "e.json", NULL, "cannot read: No such file or directory");
	assert_int_equal(errs.n, 5);
	pp_errs_free(&errs);
	tu_rmtree(dir);
}

static void test_keys_types_ranges(void **state)
{
	const char *const files[] = {
		"defaults.json",
		"{ \"version\": 2, \"mode\": \"sometimes\", \"colour\": 1,"
		"  \"eligibility\": { \"min_vcpus\": 0, \"min_memory_mib\": \"16G\", \"require_hugepages\": 1, \"max_vcpus\": 3 },"
		"  \"fallbacks\": { \"smm\": true, \"overcommit\": { \"max_ratio\": 0 }, \"balloon\": { \"enabled\": \"yes\" },"
		"    \"ksm\": { \"enabled\": 1, \"pages\": 2 } },"
		"  \"populate\": { \"slice_budget_ms\": 2.5, \"workers\": -1, \"total_budget_ms\": 10, \"boot_delay_ms\": 700000 },"
		"  \"rollout\": { \"percent\": 101, \"salt\": \"\", \"include_groups\": [1], \"exclude_groups\": \"x\", \"kill\": true,"
		"    \"max_concurrent_guests\": 0 } }",
		NULL
	};
	struct pp_errs errs = load_bad(files);

	(void)state;
	EXPECT(errs, "defaults.json", "$.version", "unsupported version 2");
	EXPECT(errs, "defaults.json", "$.mode", "unknown mode \"sometimes\"");
	EXPECT(errs, "defaults.json", "$.colour", "unknown key \"colour\"");
	EXPECT(errs, "defaults.json", "$.eligibility.min_vcpus", "value 0 is out of range [1, 4096]");
	EXPECT(errs, "defaults.json", "$.eligibility.min_memory_mib", "expected an integer, got string");
	EXPECT(errs, "defaults.json", "$.eligibility.require_hugepages", "expected true or false, got integer");
	EXPECT(errs, "defaults.json", "$.eligibility.max_vcpus", "unknown key");
	EXPECT(errs, "defaults.json", "$.fallbacks.smm", "expected an object, got boolean");
	EXPECT(errs, "defaults.json", "$.fallbacks.overcommit.max_ratio", "out of range (0, 100]");
	EXPECT(errs, "defaults.json", "$.fallbacks.balloon.enabled", "expected true or false, got string");
	EXPECT(errs, "defaults.json", "$.fallbacks.ksm.enabled", "expected true or false, got integer");
	EXPECT(errs, "defaults.json", "$.fallbacks.ksm.pages", "unknown key \"pages\"");
	EXPECT(errs, "defaults.json", "$.populate.slice_budget_ms", "expected an integer, got number");
	EXPECT(errs, "defaults.json", "$.populate.workers", "value -1 is out of range [0, 1024]");
	EXPECT(errs, "defaults.json", "$.populate.total_budget_ms", "shorter than one slice");
	EXPECT(errs, "defaults.json", "$.populate.boot_delay_ms", "value 700000 is out of range [0, 600000]");
	EXPECT(errs, "defaults.json", "$.rollout.percent", "value 101 is out of range [0, 100]");
	EXPECT(errs, "defaults.json", "$.rollout.salt", "length 0 is out of range [1, 128]");
	EXPECT(errs, "defaults.json", "$.rollout.include_groups[0]", "expected a string, got integer");
	EXPECT(errs, "defaults.json", "$.rollout.exclude_groups", "expected an array of strings, got string");
	EXPECT(errs, "defaults.json", "$.rollout.kill", "unknown key \"kill\"");
	EXPECT(errs, "defaults.json", "$.rollout.max_concurrent_guests", "value 0 is out of range [1, 256]");
	assert_int_equal(errs.n, 22);
	pp_errs_free(&errs);
}

static void test_flavor_file_errors(void **state)
{
	const char *const files[] = {
		"defaults.json", DEFAULTS_OK,
		"a.json", "{ \"match\": [\"a.*\"], \"rollout\": {} }",
		"b.json", "{ \"flavor\": \"b\" }",
		"c.json", "{ \"flavor\": \"c\", \"match\": [] }",
		"d.json", "{ \"flavor\": \"d\", \"match\": [\"d[\", 5, \"\"] }",
		"e.json", "{ \"flavor\": \"e\", \"match\": [\"e\"], \"eligibility\": { \"page_sizes_kib\": [2048, 3000, 2048, 1] } }",
		"f.json", "{ \"flavor\": 7, \"match\": \"f\" }",
		"g.json", "{ \"flavor\": \"g\", \"match\": [\"g\"], \"populate\": { \"max_concurrent_guests\": 4 } }",
		NULL
	};
	struct pp_errs errs = load_bad(files);

	(void)state;
	EXPECT(errs, "a.json", "$", "missing required key \"flavor\"");
	EXPECT(errs, "a.json", "$.rollout", "unknown key \"rollout\"");
	EXPECT(errs, "b.json", "$", "missing required key \"match\"");
	EXPECT(errs, "c.json", "$.match", "must list at least one glob");
	EXPECT(errs, "d.json", "$.match[0]", "invalid glob \"d[\": unterminated '['");
	EXPECT(errs, "d.json", "$.match[1]", "expected a glob string, got integer");
	EXPECT(errs, "d.json", "$.match[2]", "invalid glob \"\": empty pattern");
	EXPECT(errs, "e.json", "$.eligibility.page_sizes_kib[1]", "not a power of two");
	EXPECT(errs, "e.json", "$.eligibility.page_sizes_kib[2]", "listed twice");
	EXPECT(errs, "e.json", "$.eligibility.page_sizes_kib[3]", "out of range [4, 16777216]");
	EXPECT(errs, "f.json", "$.flavor", "expected a string, got integer");
	EXPECT(errs, "f.json", "$.match", "expected an array of globs, got string");
	/* host-wide, so not in a flavor file: the error says where it goes */
	EXPECT(errs, "g.json", "$.populate.max_concurrent_guests",
	       "unknown key \"max_concurrent_guests\" (host-wide: set rollout.max_concurrent_guests in defaults.json)");
	assert_int_equal(errs.n, 13);
	pp_errs_free(&errs);
}

static void test_overlaps_and_duplicates(void **state)
{
	const char *const files[] = {
		"defaults.json", DEFAULTS_OK,
		"10-m5.json", "{ \"flavor\": \"m5\", \"match\": [\"m5.*\"] }",
		"20-big.json", "{ \"flavor\": \"big\", \"match\": [\"*.16xlarge\", \"x1.*\"] }",
		"30-again.json", "{ \"flavor\": \"m5\", \"match\": [\"m5d.small\"] }",
		"40-r5.json", "{ \"flavor\": \"r5\", \"match\": [\"r5.*large\"] }",
		NULL
	};
	struct pp_errs errs = load_bad(files);

	(void)state;
	EXPECT(errs, "20-big.json", "$.match[0]", "glob \"*.16xlarge\" overlaps glob \"m5.*\" of flavor \"m5\"");
	EXPECT(errs, "30-again.json", "$.flavor", "flavor \"m5\" is already defined in");
	EXPECT(errs, "40-r5.json", "$.match[0]", "glob \"r5.*large\" overlaps glob \"*.16xlarge\" of flavor \"big\"");
	assert_int_equal(errs.n, 3);
	pp_errs_free(&errs);
}

static void test_check_text(void **state)
{
	struct pp_errs errs = { 0 };
	const char *t = "{ \"flavor\": \"x\", \"match\": [\"x\"], \"mode\": \"fault\" }";

	(void)state;
	assert_int_equal(pp_policy_check_text(t, strlen(t), "x.json", false, &errs), 0);
	assert_int_equal(pp_policy_check_text(t, strlen(t), "x.json", true, &errs), 2);
	EXPECT(errs, "x.json", "$.flavor", "unknown key");
	EXPECT(errs, "x.json", "$.match", "unknown key");
	pp_errs_free(&errs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sample_policy_is_valid),
		cmocka_unit_test(test_inheritance_and_builtins),
		cmocka_unit_test(test_concurrency_cap),
		cmocka_unit_test(test_missing_dir_and_defaults),
		cmocka_unit_test(test_unreadable_and_syntax),
		cmocka_unit_test(test_keys_types_ranges),
		cmocka_unit_test(test_flavor_file_errors),
		cmocka_unit_test(test_overlaps_and_duplicates),
		cmocka_unit_test(test_check_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
