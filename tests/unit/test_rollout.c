// SPDX-License-Identifier: GPL-2.0-only
#include <stdio.h>
#include <string.h>

#include "prepop/rollout.h"
#include "testutil.h"

static void test_stability(void **state)
{
	(void)state;
	/*
	 * Pinned values: a change of hash silently moves hosts in and out of
	 * every fleet's rollout, so it must be a deliberate, visible change.
	 */
	assert_int_equal(pp_rollout_bucket("prepop", "host-0001"), 7404);
	assert_int_equal(pp_rollout_bucket("prepop", "host-0002"), 7720);
	assert_int_equal(pp_rollout_bucket("prepop-2026", "hv-eu1-rack12-07"), 8738);
	assert_int_equal(pp_rollout_bucket("prepop", "host-0001"),
			 pp_rollout_bucket("prepop", "host-0001"));
	assert_int_not_equal(pp_rollout_bucket("a", "bc"), pp_rollout_bucket("ab", "c"));
}

static void test_spread(void **state)
{
	struct pp_rollout r = { .enabled = true, .percent = 10, .salt = (char *)"prepop" };
	struct pp_rollout_result res;
	struct pp_host h = { 0 };
	char id[64];
	unsigned in = 0, in_other_salt = 0, both = 0;

	(void)state;
	h.host_id = id;
	for (int i = 0; i < 10000; i++) {
		bool a;

		snprintf(id, sizeof(id), "compute-%05d.example.net", i);
		pp_rollout_check(&r, &h, &res);
		a = res.in;
		in += a;
		r.salt = (char *)"other";
		pp_rollout_check(&r, &h, &res);
		in_other_salt += res.in;
		both += a && res.in;
		r.salt = (char *)"prepop";
	}
	printf("10%% rollout: %u of 10000 (other salt %u, in both %u)\n", in,
	       in_other_salt, both);
	assert_in_range(in, 900, 1100);
	assert_in_range(in_other_salt, 900, 1100);
	assert_true(both < 200);	/* a new salt reshuffles: ~1% expected */
}

static void test_monotonic_percent(void **state)
{
	struct pp_rollout r = { .enabled = true, .salt = (char *)"s" };
	struct pp_rollout_result res;
	struct pp_host h = { .host_id = (char *)"h" };
	bool was_in = false;

	(void)state;
	for (int pct = 0; pct <= 100; pct++) {
		r.percent = pct;
		pp_rollout_check(&r, &h, &res);
		assert_true(!was_in || res.in);	/* raising the percent only adds */
		was_in = res.in;
	}
	assert_true(was_in);
	r.percent = 0;
	pp_rollout_check(&r, &h, &res);
	assert_false(res.in);
	assert_int_equal(res.why, PP_ROLLOUT_OUT_OF_PERCENT);
}

static void test_groups(void **state)
{
	char *inc[] = { (char *)"canary" }, *exc[] = { (char *)"az=eu1-b" };
	char *groups[] = { (char *)"compute", (char *)"canary", (char *)"az=eu1-b" };
	struct pp_rollout r = { .enabled = true, .percent = 0, .salt = (char *)"s",
				.include_groups = inc, .n_include = 1,
				.exclude_groups = exc, .n_exclude = 1 };
	struct pp_host h = { .host_id = (char *)"h", .groups = groups, .n_groups = 2 };
	struct pp_rollout_result res;

	(void)state;
	pp_rollout_check(&r, &h, &res);
	assert_true(res.in);
	assert_int_equal(res.why, PP_ROLLOUT_INCLUDED_GROUP);
	h.n_groups = 3;	/* exclusion wins over inclusion */
	pp_rollout_check(&r, &h, &res);
	assert_false(res.in);
	assert_int_equal(res.why, PP_ROLLOUT_EXCLUDED_GROUP);
	assert_string_equal(res.group, "az=eu1-b");
	r.enabled = false;
	pp_rollout_check(&r, &h, &res);
	assert_int_equal(res.why, PP_ROLLOUT_DISABLED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stability),
		cmocka_unit_test(test_spread),
		cmocka_unit_test(test_monotonic_percent),
		cmocka_unit_test(test_groups),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
