// SPDX-License-Identifier: GPL-2.0-only
/* The metrics file: its figures, its format, its label sets, and how it is written. */
#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "linux/kvm_prepop.h"
#include "metrics.h"
#include "testutil.h"

static const char *const U1 = "11111111-1111-4111-8111-111111111111";
static const char *const U2 = "22222222-2222-4222-8222-222222222222";

static void counts(void *arg, struct metrics_counts *c)
{
	(void)arg;
	c->reload_failures = 3;
	c->reconnects = 2;
}

static char *render(void)
{
	struct metrics_counts c = { 0 };
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	counts(NULL, &c);
	metrics_render(f, &c);
	fclose(f);
	return buf;
}

static void has(const char *text, const char *line)
{
	char *want = NULL;

	assert_true(asprintf(&want, "\n%s\n", line) > 0);
	if (!strstr(text, want))
		fail_msg("no line \"%s\" in:\n%s", line, text);
	free(want);
}

static void lacks(const char *text, const char *part)
{
	if (strstr(text, part))
		fail_msg("\"%s\" should be gone from:\n%s", part, text);
}

static struct kvm_prepop_populate call(uint64_t k4, uint64_t m2, uint64_t hold_us, uint64_t ms)
{
	struct kvm_prepop_populate r = { .size = sizeof(r) };

	r.mapped_4k = k4;
	r.mapped_2m = m2;
	r.max_hold_ns = hold_us * 1000;
	r.elapsed_ns = ms * 1000000;
	return r;
}

/* Every line is a comment or a sample of the text format; every family is typed once. */
static void well_formed(const char *text)
{
	regex_t sample, comment;
	char *copy = strdup(text), *save = NULL, types[64][96];
	size_t ntypes = 0;

	assert_int_equal(regcomp(&sample,
		"^[a-z_:][a-z0-9_:]*(\\{([a-z_]+=\"([^\"\\\\]|\\\\.)*\",?)+\\})? (-?[0-9.e+-]+|\\+Inf)$",
		REG_EXTENDED | REG_NOSUB), 0);
	assert_int_equal(regcomp(&comment, "^# (HELP|TYPE) [a-z_]+ .+$", REG_EXTENDED | REG_NOSUB), 0);
	for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		if (regexec(&sample, l, 0, NULL, 0) && regexec(&comment, l, 0, NULL, 0))
			fail_msg("not the text format: \"%s\"", l);
		if (!strncmp(l, "# TYPE ", 7)) {
			char name[96];

			assert_int_equal(sscanf(l + 7, "%95s", name), 1);
			for (size_t i = 0; i < ntypes; i++)
				if (!strcmp(types[i], name))
					fail_msg("family %s typed twice", name);
			assert_true(ntypes < 64);
			strcpy(types[ntypes++], name);
		}
	}
	regfree(&sample);
	regfree(&comment);
	free(copy);
}

static void test_figures(void **state)
{
	struct kvm_prepop_populate r;
	char *t;

	(void)state;
	metrics_init(NULL, NULL, counts, NULL);
	metrics_decided(U1, "db-1", "m5", PP_MODE_PREPOPULATE, PP_R_ELIGIBLE);
	metrics_decided(U2, "win \"sb\" \\2", NULL, PP_MODE_FAULT, PP_R_SMM);
	/* populate 7 of db-1: three calls (one -EBUSY with figures, one -EIO without) */
	r = call(100, 10, 300, 5);		/* held 0.3 ms */
	metrics_call(U1, 7, &r, 0);
	r = call(0, 20, 4000, 40);		/* 4 ms */
	metrics_call(U1, 7, &r, -EBUSY);
	r = call(999, 999, 999999, 999);	/* -EIO: no figures */
	metrics_call(U1, 7, &r, -EIO);
	/* populate 9: a new one; a 2 s hold lands in +Inf; a call that held nothing is no hold */
	r = call(1, 0, 2000000, 2000);
	metrics_call(U1, 9, &r, 0);
	r = call(0, 0, 0, 1);
	metrics_call(U1, 9, &r, -EAGAIN);
	metrics_call(U1, 9, &r, -EBUSY);
	metrics_decided(U1, "db-1", "m5", PP_MODE_PREPOPULATE, PP_R_ELIGIBLE);

	t = render();
	well_formed(t);
	has(t, "prepop_guest_populates_total{domain=\"db-1\",uuid=\"11111111-1111-4111-8111-111111111111\",flavor=\"m5\"} 2");
	has(t, "prepop_guest_leaves_mapped_total{domain=\"db-1\",uuid=\"11111111-1111-4111-8111-111111111111\",flavor=\"m5\",size=\"4k\"} 101");
	has(t, "prepop_guest_leaves_mapped_total{domain=\"db-1\",uuid=\"11111111-1111-4111-8111-111111111111\",flavor=\"m5\",size=\"2m\"} 30");
	has(t, "prepop_guest_populate_seconds_total{domain=\"db-1\",uuid=\"11111111-1111-4111-8111-111111111111\",flavor=\"m5\"} 2.047");
	has(t, "prepop_guest_vcpu_hold_seconds_bucket{domain=\"db-1\",uuid=\"11111111-1111-4111-8111-111111111111\",flavor=\"m5\",le=\"0.0005\"} 1");
	has(t, "prepop_guest_vcpu_hold_seconds_bucket{domain=\"db-1\",uuid=\"11111111-1111-4111-8111-111111111111\",flavor=\"m5\",le=\"0.0025\"} 1");
	has(t, "prepop_guest_vcpu_hold_seconds_bucket{domain=\"db-1\",uuid=\"11111111-1111-4111-8111-111111111111\",flavor=\"m5\",le=\"0.005\"} 2");
	has(t, "prepop_guest_vcpu_hold_seconds_bucket{domain=\"db-1\",uuid=\"11111111-1111-4111-8111-111111111111\",flavor=\"m5\",le=\"1\"} 2");
	has(t, "prepop_guest_vcpu_hold_seconds_bucket{domain=\"db-1\",uuid=\"11111111-1111-4111-8111-111111111111\",flavor=\"m5\",le=\"+Inf\"} 3");
	has(t, "prepop_guest_vcpu_hold_seconds_count{domain=\"db-1\",uuid=\"11111111-1111-4111-8111-111111111111\",flavor=\"m5\"} 3");
	has(t, "prepop_guest_vcpu_hold_seconds_sum{domain=\"db-1\",uuid=\"11111111-1111-4111-8111-111111111111\",flavor=\"m5\"} 2.0043");
	has(t, "prepop_guest_decisions_total{domain=\"db-1\",uuid=\"11111111-1111-4111-8111-111111111111\",flavor=\"m5\",mode=\"prepopulate\",reason=\"eligible\"} 2");
	has(t, "prepop_guest_decision{domain=\"win \\\"sb\\\" \\\\2\",uuid=\"22222222-2222-4222-8222-222222222222\",flavor=\"\",mode=\"fault\",reason=\"smm\"} 1");
	has(t, "prepop_guests{mode=\"fault\",reason=\"smm\"} 1");
	has(t, "prepop_guests{mode=\"prepopulate\",reason=\"eligible\"} 1");
	has(t, "prepop_populates_total 2");
	has(t, "prepop_leaves_mapped_total{size=\"1g\"} 0");
	has(t, "prepop_decisions_total{mode=\"fault\",reason=\"smm\"} 1");
	has(t, "prepop_module_errors_total{errno=\"EBUSY\"} 2");
	has(t, "prepop_module_errors_total{errno=\"EIO\"} 1");
	has(t, "prepop_module_errors_total{errno=\"EAGAIN\"} 1");
	has(t, "prepop_policy_reload_failures_total 3");
	has(t, "prepop_libvirt_reconnects_total 2");
	free(t);

	/* a gone guest's series go; the host's stay */
	metrics_forget(U1);
	r = call(5, 0, 100, 1);
	metrics_call(U1, 9, &r, 0);	/* a late slice of the forgotten guest */
	t = render();
	well_formed(t);
	lacks(t, "db-1");
	lacks(t, U1);
	has(t, "prepop_populates_total 2");
	has(t, "prepop_leaves_mapped_total{size=\"4k\"} 106");
	has(t, "prepop_guests{mode=\"fault\",reason=\"smm\"} 1");
	lacks(t, "prepop_guests{mode=\"prepopulate\"");
	free(t);
	metrics_free();
}

static void test_file(void **state)
{
	char *dir = tu_mkdtemp(), path[512], tmp[520], *text, *want;
	size_t len;

	(void)state;
	snprintf(path, sizeof(path), "%s/prepop.prom", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	metrics_init(NULL, path, counts, NULL);	/* written at once */
	assert_int_equal(access(path, R_OK), 0);
	metrics_decided(U2, "vm", "f", PP_MODE_FAULT, PP_R_OVERCOMMIT);
	assert_int_equal(metrics_write(), 0);
	assert_int_not_equal(access(tmp, F_OK), 0);	/* renamed, not left behind */
	text = tu_read(path, &len);
	want = render();
	assert_string_equal(text, want);
	free(text);
	free(want);
	metrics_free();	/* a stopped prepopd exports nothing */
	assert_int_not_equal(access(path, F_OK), 0);
	tu_rmtree(dir);

	/* no node-exporter: its directory is not there; nothing written, no crash */
	metrics_init(NULL, "/nonexistent-dir/prepop.prom", counts, NULL);
	assert_int_equal(metrics_write(), -ENOENT);
	metrics_free();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_figures),
		cmocka_unit_test(test_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
