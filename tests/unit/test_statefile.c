// SPDX-License-Identifier: GPL-2.0-only
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "statefile.h"
#include "testutil.h"

static void test_add_remove(void **state)
{
	char *dir = tu_mkdtemp(), **v, path[512];
	size_t n;
	struct stat st;

	(void)state;
	assert_int_equal(statefile_list(dir, &v, &n), 0);	/* absent: empty */
	assert_int_equal(n, 0);
	assert_int_equal(statefile_add(dir, "a"), 0);
	assert_int_equal(statefile_add(dir, "b"), 0);
	assert_int_equal(statefile_add(dir, "a"), 0);	/* once only */
	assert_int_equal(statefile_list(dir, &v, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[0], "a");
	assert_string_equal(v[1], "b");
	free(v[0]);
	free(v[1]);
	free(v);
	assert_int_equal(statefile_remove(dir, "a"), 0);
	assert_int_equal(statefile_remove(dir, "zzz"), 0);
	assert_int_equal(statefile_list(dir, &v, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(v[0], "b");
	free(v[0]);
	free(v);
	snprintf(path, sizeof(path), "%s/paused", dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	snprintf(path, sizeof(path), "%s/.paused.tmp", dir);
	assert_int_not_equal(stat(path, &st), 0);	/* renamed into place */
	tu_rmtree(dir);
}

static void test_unwritable(void **state)
{
	(void)state;
	assert_int_equal(statefile_add("/nonexistent/dir", "a"), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_remove),
		cmocka_unit_test(test_unwritable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
