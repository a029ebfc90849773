// SPDX-License-Identifier: GPL-2.0-only
/*
 * The memory of every running guest, as libvirt (its test driver here)
 * reports it: what the overcommit check weighs, before any guest is decided.
 */
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "census.h"
#include "testutil.h"

#define GiB (1ull << 30)

static void quiet(void *opaque, virErrorPtr err)
{
	(void)opaque;
	(void)err;
}

/* A test-driver host: running guests of 4, 8 and 16 GiB, and a shut-off one of 64. */
static virConnectPtr open_host(char **dir)
{
	char uri[600], path[512];
	virConnectPtr c;
	virDomainPtr d;

	*dir = tu_mkdtemp();
	tu_write(*dir, "node.xml",
		 "<node>\n"
		 "<domain type='test'><name>a</name><uuid>00000000-0000-4000-8000-00000000000a</uuid>"
		 "<memory unit='GiB'>4</memory><os><type>hvm</type></os></domain>\n"
		 "<domain type='test'><name>b</name><uuid>00000000-0000-4000-8000-00000000000b</uuid>"
		 "<memory unit='GiB'>8</memory><os><type>hvm</type></os></domain>\n"
		 "<domain type='test'><name>c</name><uuid>00000000-0000-4000-8000-00000000000c</uuid>"
		 "<memory unit='GiB'>16</memory><os><type>hvm</type></os></domain>\n"
		 "<domain type='test'><name>off</name>"
		 "<memory unit='GiB'>64</memory><os><type>hvm</type></os></domain>\n"
		 "</node>\n");
	snprintf(path, sizeof(path), "%s/node.xml", *dir);
	snprintf(uri, sizeof(uri), "test://%s", path);
	virSetErrorFunc(NULL, quiet);
	c = virConnectOpen(uri);
	assert_non_null(c);
	d = virDomainLookupByName(c, "off");	/* the test driver starts them all */
	assert_non_null(d);
	assert_int_equal(virDomainDestroy(d), 0);
	virDomainFree(d);
	return c;
}

static void test_every_running_guest(void **state)
{
	char *dir;
	virConnectPtr c = open_host(&dir);
	virDomainPtr d;
	uint64_t huge;

	(void)state;
	census_reset();
	/* the first guest decided sees every running guest, not itself alone */
	assert_int_equal(census_guest_memory(c, "00000000-0000-4000-8000-00000000000a", 4 * GiB, false, &huge),
			 28 * GiB);
	/* its own XML's size is the freshest */
	assert_int_equal(census_guest_memory(c, "00000000-0000-4000-8000-00000000000a", 6 * GiB, false, &huge),
			 30 * GiB);
	/* a guest that started since: absent from what is known, so libvirt is asked again */
	d = virDomainLookupByName(c, "off");
	assert_non_null(d);
	assert_int_equal(virDomainCreate(d), 0);
	assert_int_equal(census_guest_memory(c, NULL, 0, false, &huge), 30 * GiB);	/* within the list's lifetime */
	{
		char uuid[VIR_UUID_STRING_BUFLEN];

		assert_int_equal(virDomainGetUUIDString(d, uuid), 0);
		assert_int_equal(census_guest_memory(c, uuid, 64 * GiB, false, &huge), 94 * GiB);
	}
	/* a guest that stopped: gone once the list is asked for again */
	assert_int_equal(virDomainDestroy(d), 0);
	virDomainFree(d);
	usleep(CENSUS_LIST_NS / 1000 + 10000);
	assert_int_equal(census_guest_memory(c, NULL, 0, false, &huge), 30 * GiB);
	assert_int_equal(huge, 0);
	/* a guest decided on huge pages: its pool weighs it, not small-page RAM */
	assert_int_equal(census_guest_memory(c, "00000000-0000-4000-8000-00000000000a", 6 * GiB, true, &huge),
			 30 * GiB);
	assert_int_equal(huge, 6 * GiB);
	/* libvirt not there: unknown */
	assert_int_equal(census_guest_memory(NULL, NULL, 0, false, &huge), 0);
	census_reset();
	virConnectClose(c);
	tu_rmtree(dir);
}

static void test_host_facts(void **state)
{
	char *dir, *root = tu_mkdtemp();
	virConnectPtr c = open_host(&dir);
	struct pp_host loaded = { .host_id = (char *)"h", .guest_memory_bytes = 1,
				  .reserved_bytes = GiB, .ksm = PP_KSM_STOPPED };
	struct pp_host h;

	(void)state;
	census_reset();
	mkdir(root, 0755);
	{
		char proc[600];

		snprintf(proc, sizeof(proc), "%s/proc", root);
		mkdir(proc, 0755);
		tu_write(proc, "meminfo", "MemTotal: 33554432 kB\nHugepagesize: 2048 kB\n");
	}
	setenv("PREPOP_HOST_ROOT", root, 1);
	census_host_facts(c, &loaded, NULL, 0, false, &h);
	unsetenv("PREPOP_HOST_ROOT");
	assert_string_equal(h.host_id, "h");	/* the loaded facts, shallow */
	assert_int_equal(h.reserved_bytes, GiB);
	assert_int_equal(h.mem_total_bytes, 32 * GiB);	/* probed under the root */
	assert_int_equal(h.ksm, PP_KSM_STOPPED);	/* the file's */
	assert_int_equal(h.guest_memory_bytes, 28 * GiB);	/* libvirt's, not the file's */
	census_reset();
	virConnectClose(c);
	tu_rmtree(dir);
	{
		char proc[600];

		snprintf(proc, sizeof(proc), "%s/proc", root);
		tu_rmtree(strdup(proc));
	}
	tu_rmtree(root);	/* frees root */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_running_guest),
		cmocka_unit_test(test_host_facts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
