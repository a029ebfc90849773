// SPDX-License-Identifier: GPL-2.0-only
/* Host facts: host.json, the probe of a (fake) /proc and /sys tree, and how memory is weighed. */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hostprobe.h"
#include "prepop/hostfacts.h"
#include "prepop/hostmem.h"
#include "testutil.h"

#define GiB (1ull << 30)
#define MiB (1ull << 20)

/* Write root/rel, creating its directories. */
static void put(const char *root, const char *rel, const char *text)
{
	char path[1024];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	for (char *p = path + strlen(root) + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		mkdir(path, 0755);
		*p = '/';
	}
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void rm_tree(char *root)
{
	nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(root);
}

#define HP "sys/kernel/mm/hugepages/"
#define N0 "sys/devices/system/node/node0/hugepages/"
#define N1 "sys/devices/system/node/node1/hugepages/"

/* A two-node host: 2 MiB pool 1024 pages (600 free, 100 reserved), 1 GiB pool 8 (all free). */
static char *fake_host(const char *ksm)
{
	char *root = tu_mkdtemp();

	put(root, "proc/meminfo", "MemTotal:       65807412 kB\nMemFree:        1000 kB\n"
				  "HugePages_Total:    1024\nHugepagesize:       2048 kB\n");
	put(root, HP "hugepages-2048kB/nr_hugepages", "1024\n");
	put(root, HP "hugepages-2048kB/free_hugepages", "600\n");
	put(root, HP "hugepages-2048kB/resv_hugepages", "100\n");
	put(root, HP "hugepages-2048kB/surplus_hugepages", "0\n");
	put(root, HP "hugepages-1048576kB/nr_hugepages", "8\n");
	put(root, HP "hugepages-1048576kB/free_hugepages", "8\n");
	put(root, HP "hugepages-1048576kB/resv_hugepages", "0\n");
	put(root, HP "hugepages-junk/nr_hugepages", "5\n");	/* not a pool */
	put(root, HP "hugepages-64/nr_hugepages", "5\n");	/* no kB: not a pool */
	put(root, N0 "hugepages-2048kB/nr_hugepages", "512\n");
	put(root, N0 "hugepages-2048kB/free_hugepages", "100\n");
	put(root, N0 "hugepages-2048kB/surplus_hugepages", "0\n");
	put(root, N1 "hugepages-2048kB/nr_hugepages", "512\n");
	put(root, N1 "hugepages-2048kB/free_hugepages", "500\n");
	put(root, N1 "hugepages-1048576kB/nr_hugepages", "8\n");
	put(root, N1 "hugepages-1048576kB/free_hugepages", "eight\n");	/* unreadable: left out */
	if (ksm)
		put(root, "sys/kernel/mm/ksm/run", ksm);
	return root;
}

static void test_probe_fake_tree(void **state)
{
	char *root = fake_host("1\n");
	struct pp_host h = { 0 };
	const struct pp_hugepool *p;

	(void)state;
	pp_host_probe(&h, root);
	assert_int_equal(h.mem_total_bytes, 65807412ull * 1024);
	assert_int_equal(h.default_hugepage_bytes, 2 * MiB);
	assert_int_equal(h.ksm, PP_KSM_RUNNING);
	assert_true(h.hugepools_known);
	/* host-wide first, by size; then per node */
	assert_int_equal(h.n_hugepools, 4);	/* node1's 1 GiB pool has no number: left out */
	assert_int_equal(h.hugepools[0].node, -1);
	assert_int_equal(h.hugepools[0].page_bytes, 2 * MiB);
	assert_int_equal(h.hugepools[0].pages, 1024);
	assert_int_equal(h.hugepools[0].free, 600);
	assert_int_equal(h.hugepools[0].reserved, 100);
	assert_int_equal(h.hugepools[1].node, -1);
	assert_int_equal(h.hugepools[1].page_bytes, GiB);
	assert_int_equal(h.hugepools[2].node, 0);
	assert_int_equal(h.hugepools[2].free, 100);
	assert_int_equal(h.hugepools[3].node, 1);
	assert_int_equal(h.hugepools[3].page_bytes, 2 * MiB);
	p = pp_host_pool(&h, GiB);
	assert_non_null(p);
	assert_int_equal(p->node, -1);
	assert_null(pp_host_pool(&h, 16 * GiB));
	rm_tree(root);
}

static void test_probe_keeps_what_is_known(void **state)
{
	char *root = fake_host("2\n");
	struct pp_host h = { .mem_total_bytes = 4 * GiB, .hugepools_known = true,
			     .ksm = PP_KSM_STOPPED };

	(void)state;
	pp_host_probe(&h, root);
	assert_int_equal(h.mem_total_bytes, 4 * GiB);	/* host.json wins */
	assert_int_equal(h.default_hugepage_bytes, 2 * MiB);	/* unknown: probed */
	assert_int_equal(h.n_hugepools, 0);	/* given as none: none */
	assert_int_equal(h.ksm, PP_KSM_STOPPED);
	rm_tree(root);

	root = fake_host("2\n");
	memset(&h, 0, sizeof(h));
	pp_host_probe(&h, root);
	assert_int_equal(h.ksm, PP_KSM_UNMERGING);
	rm_tree(root);
}

static void test_probe_nothing_there(void **state)
{
	char *root = tu_mkdtemp();
	struct pp_host h = { 0 };

	(void)state;
	pp_host_probe(&h, root);
	assert_int_equal(h.mem_total_bytes, 0);
	assert_false(h.hugepools_known);
	assert_int_equal(h.n_hugepools, 0);
	assert_int_equal(h.ksm, PP_KSM_UNKNOWN);
	rm_tree(root);
}

/* The real host: whatever it has, the probe must read it as the kernel reports it. */
static void test_probe_this_host(void **state)
{
	struct pp_host h = { 0 };

	(void)state;
	pp_host_probe(&h, "");
	assert_true(h.mem_total_bytes > 64 * MiB);
	if (access("/sys/kernel/mm/hugepages", F_OK) == 0)
		assert_true(h.hugepools_known);
	for (size_t i = 0; i < h.n_hugepools; i++)
		assert_true(h.hugepools[i].free <= h.hugepools[i].pages);
}

static void test_host_json(void **state)
{
	char *dir = tu_mkdtemp(), path[512];
	struct pp_errs errs = { 0 };
	struct pp_host h;

	(void)state;
	tu_write(dir, "host.json",
		 "{ \"host_id\": \"h1\", \"mem_total_bytes\": 1099511627776, \"reserved_bytes\": 34359738368,\n"
		 "  \"guest_memory_bytes\": 0, \"ksm_running\": true,\n"
		 "  \"hugepage_pools\": [ { \"page_bytes\": 1073741824, \"pages\": 512, \"free\": 100, \"reserved\": 12 },\n"
		 "                      { \"page_bytes\": 1073741824, \"pages\": 256, \"node\": 1 } ] }");
	snprintf(path, sizeof(path), "%s/host.json", dir);
	assert_int_equal(pp_host_load(path, true, "/nonexistent", &h, &errs), 0);
	assert_int_equal(h.reserved_bytes, 32 * GiB);
	assert_int_equal(h.ksm, PP_KSM_RUNNING);
	assert_true(h.hugepools_known);
	assert_int_equal(h.n_hugepools, 2);
	assert_int_equal(h.hugepools[0].reserved, 12);
	assert_int_equal(h.hugepools[1].node, 1);
	assert_int_equal(h.hugepools[1].free, 256);	/* unsaid: all free */
	pp_host_free(&h);

	tu_write(dir, "host.json", "{ \"host_id\": \"h1\", \"reserved_bytes\": -1, \"hugepage_pools\": {} }");
	assert_int_equal(pp_host_load(path, true, "/nonexistent", &h, &errs), -1);
	assert_true(tu_has_err(&errs, "host.json", "$.reserved_bytes", "non-negative integer"));
	assert_true(tu_has_err(&errs, "host.json", "$.hugepage_pools", "expected an array of pools"));
	pp_errs_free(&errs);
	tu_write(dir, "host.json", "{ \"host_id\": \"h1\", \"hugepage_pools\": [ 5, { \"page_bytes\": 2097152, \"pages\": 1, \"node\": 5000 } ] }");
	assert_int_equal(pp_host_load(path, true, "/nonexistent", &h, &errs), -1);
	assert_true(tu_has_err(&errs, "host.json", "$.hugepage_pools[0]", "expected an object"));
	assert_true(tu_has_err(&errs, "host.json", "$.hugepage_pools[1].node", "a NUMA node"));
	pp_errs_free(&errs);
	tu_rmtree(dir);
}

static void weigh(const struct pp_domain *d, const struct pp_host *h, struct pp_commit *c)
{
	char line[256];

	pp_commit_weigh(d, h, c);
	pp_commit_str(c, h, line, sizeof(line));
	printf("  %s\n", line);
}

static void test_commit(void **state)
{
	uint64_t two_m[] = { 2 * MiB };
	struct pp_domain small = { .memory_bytes = 16 * GiB };
	struct pp_domain huge = { .memory_bytes = 16 * GiB, .hugepages = true, .n_pages = 1,
				  .page_bytes = two_m };
	struct pp_host h = { 0 };
	struct pp_commit c;

	(void)state;
	weigh(&small, &h, &c);
	assert_false(c.known);

	/* 64 GiB host, 4 GiB reserved, 16 GiB of 2M pages, 12 GiB of them in use or promised */
	h.mem_total_bytes = 64 * GiB;
	h.reserved_bytes = 4 * GiB;
	h.hugepools_known = true;
	h.n_hugepools = 2;
	h.hugepools[0] = (struct pp_hugepool){ .page_bytes = 2 * MiB, .node = -1, .pages = 8192,
					       .free = 4096, .reserved = 2048 };
	h.hugepools[1] = (struct pp_hugepool){ .page_bytes = 2 * MiB, .node = 0, .pages = 8192,
					       .free = 0 };	/* per node: not added twice */
	h.guest_memory_bytes = 56 * GiB;	/* 12 on huge pages, 44 on small */
	h.guest_hugetlb_bytes = 12 * GiB;
	weigh(&small, &h, &c);
	assert_true(c.known);
	assert_false(c.hugetlb);
	assert_int_equal(c.pools_bytes, 16 * GiB);
	assert_int_equal(c.pools_used, 12 * GiB);
	assert_int_equal(c.capacity, 44 * GiB);
	assert_int_equal(c.committed, 44 * GiB);
	assert_true(c.ratio == 1.0);	/* exactly full is not above a 1.0 ratio */

	weigh(&huge, &h, &c);
	assert_true(c.hugetlb);
	assert_int_equal(c.capacity, 16 * GiB);
	assert_int_equal(c.committed, 16 * GiB);	/* this guest alone beats the 12 in use */

	/*
	 * the pools' other users (DPDK, a database) are not guests: 12 GiB of
	 * pages in use, but no guest known on them, so all 56 count as small
	 */
	h.guest_hugetlb_bytes = 0;
	weigh(&small, &h, &c);
	assert_int_equal(c.committed, 56 * GiB);
	assert_true(c.ratio > 1.2);

	/* the first guest of a resync: nothing decided yet, every running guest counted */
	h.guest_memory_bytes = 80 * GiB;
	weigh(&small, &h, &c);
	assert_true(c.ratio > 1.5);

	/* reserve and pools beyond RAM: nothing left for small pages */
	h.reserved_bytes = 60 * GiB;
	weigh(&small, &h, &c);
	assert_int_equal(c.capacity, 0);
	assert_true(c.ratio > 1e9);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_probe_fake_tree),
		cmocka_unit_test(test_probe_keeps_what_is_known),
		cmocka_unit_test(test_probe_nothing_there),
		cmocka_unit_test(test_probe_this_host),
		cmocka_unit_test(test_host_json),
		cmocka_unit_test(test_commit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
