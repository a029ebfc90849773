// SPDX-License-Identifier: GPL-2.0-only
#include <stdio.h>
#include <string.h>

#include "prepop/glob.h"
#include "testutil.h"

static void test_match(void **state)
{
	(void)state;
	assert_true(pp_glob_match("m5.*", "m5.large"));
	assert_true(pp_glob_match("m5.*", "m5."));
	assert_false(pp_glob_match("m5.*", "m5d.large"));
	assert_true(pp_glob_match("*.large", "r5.large"));
	assert_true(pp_glob_match("r?.x*", "r6.xlarge"));
	assert_false(pp_glob_match("r?.x*", "r66.xlarge"));
	assert_true(pp_glob_match("[rx][0-9].*", "x1.16xlarge"));
	assert_false(pp_glob_match("[!rx]*", "r5.large"));
	assert_true(pp_glob_match("[^rx]*", "m5.large"));
	assert_true(pp_glob_match("a\\*b", "a*b"));
	assert_false(pp_glob_match("a\\*b", "axb"));
	assert_true(pp_glob_match("[]]", "]"));
	assert_true(pp_glob_match("a**b", "ab"));
	assert_true(pp_glob_match("exact", "exact"));
	assert_false(pp_glob_match("exact", "exactly"));
	assert_false(pp_glob_match("[", "["));	/* invalid: matches nothing */
}

static void test_invalid(void **state)
{
	char err[128];

	(void)state;
	assert_int_equal(pp_glob_check("", err, sizeof(err)), -1);
	assert_string_equal(err, "empty pattern");
	assert_int_equal(pp_glob_check("m5.[ab", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "unterminated '['"));
	assert_int_equal(pp_glob_check("x\\", err, sizeof(err)), -1);
	assert_string_equal(err, "trailing backslash");
	assert_int_equal(pp_glob_check("[z-a]", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "reversed range"));
	assert_int_equal(pp_glob_check("[[:alpha:]]", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not supported"));
	assert_int_equal(pp_glob_check("ok.*", err, sizeof(err)), 0);
}

static void test_overlap(void **state)
{
	(void)state;
	assert_true(pp_glob_overlap("m5.*", "m5.large"));
	assert_true(pp_glob_overlap("m5.*", "*.large"));
	assert_true(pp_glob_overlap("*", "anything"));
	assert_true(pp_glob_overlap("m5.*", "m5.*"));
	assert_true(pp_glob_overlap("[mr]5.*", "r?.x*"));
	assert_false(pp_glob_overlap("m5.*", "m5d.*"));
	assert_false(pp_glob_overlap("m5.*", "r5.*"));
	assert_false(pp_glob_overlap("*.large", "*.xlarge"));	/* 'l' vs 'x' at the same distance from the end */
	assert_true(pp_glob_overlap("*large", "*.xlarge"));
	assert_false(pp_glob_overlap("[!m]*", "m*"));
	assert_false(pp_glob_overlap("a?", "a"));
}

/* Every pattern over a small alphabet: overlap <=> a witness string exists. */
static const char *const toks[] = { "a", "b", "*", "?", "[ab]", "[!a]" };
#define NTOK 6

static void build(int code, int len, char *out)
{
	out[0] = '\0';
	for (int i = 0; i < len; i++, code /= NTOK)
		strcat(out, toks[code % NTOK]);
}

static int witness(const char *a, const char *b, char *s, int pos, int max)
{
	s[pos] = '\0';
	if (pp_glob_match(a, s) && pp_glob_match(b, s))
		return 1;
	if (pos == max)
		return 0;
	for (const char *c = "abc"; *c; c++) {
		s[pos] = *c;
		if (witness(a, b, s, pos + 1, max))
			return 1;
	}
	return 0;
}

static void test_overlap_exhaustive(void **state)
{
	char a[32], b[32], s[16];
	int checked = 0;

	(void)state;
	for (int la = 1; la <= 2; la++)
		for (int ca = 0; ca < (la == 1 ? NTOK : NTOK * NTOK); ca++)
			for (int lb = 1; lb <= 3; lb++) {
				int nb = lb == 1 ? NTOK : lb == 2 ? NTOK * NTOK : NTOK * NTOK * NTOK;

				for (int cb = 0; cb < nb; cb++) {
					build(ca, la, a);
					build(cb, lb, b);
					if (pp_glob_overlap(a, b) != witness(a, b, s, 0, 5))
						fail_msg("overlap(\"%s\", \"%s\") disagrees with brute force", a, b);
					assert_int_equal(pp_glob_overlap(a, b), pp_glob_overlap(b, a));
					checked++;
				}
			}
	assert_true(checked > 5000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_overlap),
		cmocka_unit_test(test_overlap_exhaustive),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
