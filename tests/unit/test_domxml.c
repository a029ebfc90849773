// SPDX-License-Identifier: GPL-2.0-only
#include <stdio.h>
#include <string.h>

#include "domxml.h"
#include "testutil.h"

#define GiB (1ull << 30)
#define MiB (1ull << 20)

static void test_nova_2m_numa(void **state)
{
	struct pp_domain d;

	(void)state;
	tu_domain("nova-r5-2m-numa.xml", &d);
	assert_string_equal(d.name, "instance-0000a1b2");
	assert_string_equal(d.uuid, "7f3c2a9e-1d4b-4c5e-9a8f-2b6d0e1f3a47");
	assert_string_equal(d.domain_type, "kvm");
	assert_string_equal(d.machine, "pc-q35-7.2");
	assert_int_equal(d.vcpus, 16);
	assert_int_equal(d.vcpus_max, 16);
	assert_int_equal(d.memory_bytes, 64 * GiB);
	assert_int_equal(d.current_memory_bytes, 64 * GiB);
	assert_false(d.has_max_memory);
	assert_true(d.hugepages);
	assert_int_equal(d.n_pages, 1);
	assert_int_equal(d.page_bytes[0], 2 * MiB);
	assert_false(d.locked);
	assert_int_equal(d.smm_state, PP_SMM_DEFAULT);
	assert_false(pp_domain_smm(&d));
	assert_true(d.balloon);
	assert_string_equal(d.balloon_model, "virtio");
	assert_false(d.balloon_free_page_reporting);
	assert_false(d.balloon_autodeflate);
	assert_string_equal(d.nova_flavor, "r5.4xlarge");
	assert_null(d.prepop_flavor);
	assert_int_equal(d.n_extra_specs, 3);
	assert_string_equal(d.extra_specs[0].name, "hw:mem_page_size");
	assert_string_equal(d.extra_specs[0].value, "2MB");
	assert_string_equal(d.extra_specs[2].name, "hw:numa_nodes");
	assert_string_equal(d.extra_specs[2].value, "2");
	pp_domain_free(&d);
}

static void test_nova10_1g_per_node(void **state)
{
	struct pp_domain d;

	(void)state;
	tu_domain("nova10-x1-1g-per-node.xml", &d);
	assert_string_equal(d.nova_flavor, "x1.16xlarge");	/* matched by URI, prefix "n" */
	assert_int_equal(d.n_extra_specs, 0);
	assert_int_equal(d.memory_bytes, 128 * GiB);
	assert_int_equal(d.n_pages, 2);
	assert_int_equal(d.page_bytes[0], GiB);	/* size='1' unit='G' */
	assert_int_equal(d.page_bytes[1], GiB);	/* 1048576 KiB */
	assert_true(d.locked);
	assert_string_equal(d.mem_source, "file");
	assert_string_equal(d.mem_access, "shared");
	assert_string_equal(d.mem_allocation, "immediate");
	assert_int_equal(d.smm_state, PP_SMM_OFF);
	assert_false(d.balloon);	/* model='none' */
	pp_domain_free(&d);
}

static void test_small_fpr_balloon(void **state)
{
	struct pp_domain d;

	(void)state;
	tu_domain("small-fpr-balloon.xml", &d);
	assert_int_equal(d.vcpus, 2);
	assert_int_equal(d.memory_bytes, 2 * GiB);
	assert_int_equal(d.current_memory_bytes, 1536 * MiB);
	assert_false(d.hugepages);
	assert_true(d.balloon);
	assert_true(d.balloon_free_page_reporting);
	assert_true(d.balloon_autodeflate);
	assert_null(d.nova_flavor);
	pp_domain_free(&d);
}

static void test_secure_boot_and_smm(void **state)
{
	struct pp_domain d;

	(void)state;
	tu_domain("ovmf-secure-boot.xml", &d);
	assert_true(d.secure_boot);
	assert_int_equal(d.smm_state, PP_SMM_DEFAULT);
	assert_true(pp_domain_smm(&d));
	assert_string_equal(d.prepop_flavor, "m5.4xlarge");
	pp_domain_free(&d);

	tu_domain("explicit-smm.xml", &d);
	assert_false(d.secure_boot);	/* loader secure='no' */
	assert_int_equal(d.smm_state, PP_SMM_ON);
	assert_true(pp_domain_smm(&d));
	pp_domain_free(&d);
}

static void test_virtio_mem(void **state)
{
	struct pp_domain d;

	(void)state;
	tu_domain("virtio-mem-hotplug.xml", &d);
	assert_int_equal(d.vcpus, 16);
	assert_int_equal(d.vcpus_max, 32);
	assert_true(d.has_max_memory);
	assert_int_equal(d.max_memory_bytes, 256 * GiB);
	assert_int_equal(d.n_memdevs, 2);
	assert_string_equal(d.memdevs[0].model, "virtio-mem");
	assert_int_equal(d.memdevs[0].size_bytes, 64 * GiB);
	assert_true(d.memdevs[0].has_requested);
	assert_int_equal(d.memdevs[0].requested_bytes, 16 * GiB);
	assert_int_equal(d.memdevs[0].node, 0);
	assert_string_equal(d.memdevs[1].model, "dimm");
	assert_int_equal(d.memdevs[1].size_bytes, 16 * GiB);
	assert_false(d.memdevs[1].has_requested);
	assert_string_equal(d.prepop_flavor, "m5.8xlarge");	/* nested in prepop:domain */
	pp_domain_free(&d);
}

/* The facts the virtio-mem, file-backed and KSM fallbacks read. */
static void test_memory_backing_facts(void **state)
{
	struct pp_errs errs = { 0 };
	struct pp_domain d;

	(void)state;
	tu_domain("nvdimm-pmem.xml", &d);
	assert_int_equal(d.memory_bytes, 96 * GiB);
	assert_int_equal(d.n_memdevs, 1);
	assert_string_equal(d.memdevs[0].model, "nvdimm");
	assert_string_equal(d.memdevs[0].source_path, "/var/lib/libvirt/pmem/pmem-db-02.img");
	assert_false(d.memdevs[0].has_current);
	assert_false(d.nosharepages);
	assert_null(d.mem_source);
	pp_domain_free(&d);

	tu_domain("balloon-inflated.xml", &d);
	assert_int_equal(d.current_memory_bytes, 40 * GiB);
	assert_true(d.balloon);
	assert_false(d.balloon_autodeflate || d.balloon_free_page_reporting);
	pp_domain_free(&d);

	/* a live XML: virtio-mem's <current>, file-backed RAM, <nosharepages/> */
	assert_int_equal(tu_domain_str(
		"<domain type='kvm'><name>n</name><memory unit='GiB'>20</memory>"
		"<memoryBacking><nosharepages/><source type='file'/><access mode='shared'/></memoryBacking>"
		"<devices><memory model='virtio-mem'><target><size unit='GiB'>4</size><node>0</node>"
		"<block unit='MiB'>2</block><requested unit='GiB'>4</requested>"
		"<current unit='MiB'>1024</current></target></memory>"
		"<memory model='virtio-pmem' access='shared'><source><path>/srv/pmem0</path></source>"
		"<target><size unit='GiB'>1</size></target></memory></devices></domain>", &d, &errs), 0);
	assert_true(d.nosharepages);
	assert_string_equal(d.mem_source, "file");
	assert_string_equal(d.mem_access, "shared");
	assert_true(d.memdevs[0].has_current);
	assert_int_equal(d.memdevs[0].current_bytes, GiB);
	assert_int_equal(d.memdevs[0].requested_bytes, 4 * GiB);
	assert_null(d.memdevs[0].source_path);
	assert_string_equal(d.memdevs[1].source_path, "/srv/pmem0");
	pp_domain_free(&d);
	assert_int_equal(tu_domain_str(
		"<domain type='kvm'><name>n</name><memory>1048576</memory><devices><memory model='virtio-mem'>"
		"<target><size>1048576</size><current unit='parsecs'>1</current></target></memory></devices></domain>",
		&d, &errs), -1);
	assert_true(tu_has_err(&errs, NULL, "/domain/devices/memory[1]/target/current", "unknown unit"));
	pp_errs_free(&errs);
}

static void test_tcg_and_defaults(void **state)
{
	struct pp_domain d;
	struct pp_errs errs = { 0 };

	(void)state;
	tu_domain("tcg-guest.xml", &d);
	assert_string_equal(d.domain_type, "qemu");
	assert_int_equal(d.memory_bytes, 128 * MiB);
	pp_domain_free(&d);

	/* No <vcpu>: libvirt's default of one.  No <memory>: the NUMA cells' sum. */
	assert_int_equal(tu_domain_str(
		"<domain type='kvm'><name>n</name><cpu><numa>"
		"<cell id='0' cpus='0' memory='1' unit='GiB'/>"
		"<cell id='1' cpus='0' memory='512' unit='MiB'/>"
		"</numa></cpu><memoryBacking><hugepages/></memoryBacking></domain>", &d, &errs), 0);
	assert_int_equal(d.vcpus, 1);
	assert_int_equal(d.memory_bytes, GiB + 512 * MiB);
	assert_true(d.hugepages);
	assert_int_equal(d.n_pages, 0);
	pp_domain_free(&d);

	/* <smm/> without a state means on */
	assert_int_equal(tu_domain_str(
		"<domain type='kvm'><name>n</name><memory>1048576</memory>"
		"<features><smm/></features></domain>", &d, &errs), 0);
	assert_int_equal(d.smm_state, PP_SMM_ON);
	pp_domain_free(&d);
	assert_int_equal(errs.n, 0);
}

struct bad_case {
	const char *xml;
	const char *path;
	const char *msg;
};

static void test_malformed(void **state)
{
	static const struct bad_case cases[] = {
		{ "<domain type='kvm'><name>x</name>", NULL, "malformed XML at line 1" },
		{ "", NULL, "malformed XML" },
		{ "<vm/>", "/", "the root element is not <domain>" },
		{ "<domain><name>x</name><memory>1</memory></domain>", "/domain/@type", "missing" },
		{ "<domain type='kvm'><memory>1</memory></domain>", "/domain/name", "missing" },
		{ "<domain type='kvm'><name>x</name><memory>-4</memory></domain>", "/domain/memory", "negative value" },
		{ "<domain type='kvm'><name>x</name><memory unit='KiBi'>4</memory></domain>", "/domain/memory", "unknown unit" },
		{ "<domain type='kvm'><name>x</name><memory unit='EiB'>64</memory></domain>", "/domain/memory", "overflows 64 bits once scaled" },
		{ "<domain type='kvm'><name>x</name><memory unit='EiB'>8</memory></domain>", "/domain/memory", "exceeds libvirt's maximum" },
		{ "<domain type='kvm'><name>x</name><memory>99999999999999999999999</memory></domain>", "/domain/memory", "overflows 64 bits" },
		{ "<domain type='kvm'><name>x</name><memory>lots</memory></domain>", "/domain/memory", "not a number" },
		{ "<domain type='kvm'><name>x</name><memory>0</memory></domain>", "/domain/memory", "zero memory" },
		{ "<domain type='kvm'><name>x</name></domain>", "/domain/memory", "missing (and no NUMA cells to sum)" },
		{ "<domain type='kvm'><name>x</name><memory>1</memory><vcpu>0</vcpu></domain>", "/domain/vcpu", "zero vCPUs" },
		{ "<domain type='kvm'><name>x</name><memory>1</memory><vcpu current='0'>2</vcpu></domain>", "/domain/vcpu/@current", "zero vCPUs" },
		{ "<domain type='kvm'><name>x</name><memory>1</memory><vcpu current='4'>2</vcpu></domain>", "/domain/vcpu/@current", "above the maximum" },
		{ "<domain type='kvm'><name>x</name><memory>1</memory><vcpu>-2</vcpu></domain>", "/domain/vcpu", "negative value" },
		{ "<domain type='kvm'><name>x</name><memory>1</memory><vcpu>99999</vcpu></domain>", "/domain/vcpu", "above the maximum of 16384" },
		{ "<domain type='kvm'><name>x</name><memory>1</memory><memoryBacking><hugepages><page unit='KiB'/></hugepages></memoryBacking></domain>",
		  "/domain/memoryBacking/hugepages/page[1]/@size", "missing" },
		{ "<domain type='kvm'><name>x</name><memory>1</memory><memoryBacking><hugepages><page size='2' unit='MiB'/><page size='1' unit='Q'/></hugepages></memoryBacking></domain>",
		  "/domain/memoryBacking/hugepages/page[2]/@size", "unknown unit" },
		{ "<domain type='kvm'><name>x</name><memory>1</memory><features><smm state='maybe'/></features></domain>",
		  "/domain/features/smm/@state", "expected 'on' or 'off', got 'maybe'" },
		{ "<domain type='kvm'><name>x</name><memory>1</memory><devices><memballoon model='virtio' freePageReporting='yes'/></devices></domain>",
		  "/domain/devices/memballoon/@freePageReporting", "expected 'on' or 'off'" },
		{ "<domain type='kvm'><name>x</name><memory>1</memory><devices><memory model='dimm'><target><node>0</node></target></memory></devices></domain>",
		  "/domain/devices/memory[1]/target/size", "missing" },
		{ "<domain type='kvm'><name>x</name><memory>1</memory><devices><memory><target><size>1</size></target></memory></devices></domain>",
		  "/domain/devices/memory[1]/@model", "missing" },
		{ "<domain type='kvm'><name>x</name><memory>1</memory><maxMemory slots='4' unit='GiB'>-1</maxMemory></domain>",
		  "/domain/maxMemory", "negative value" },
		{ "<domain type='kvm'><name>x</name><memory>1</memory><metadata><nova:instance xmlns:nova='http://openstack.org/xmlns/libvirt/nova/1.1'><nova:flavor/></nova:instance></metadata></domain>",
		  "/domain/metadata/instance/flavor/@name", "missing" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pp_errs errs = { 0 };
		struct pp_domain d;

		if (tu_domain_str(cases[i].xml, &d, &errs) != -1)
			fail_msg("case %zu parsed: %s", i, cases[i].xml);
		if (!tu_has_err(&errs, "inline.xml", cases[i].path, cases[i].msg)) {
			tu_dump_errs(&errs);
			fail_msg("case %zu: no error %s \"%s\"", i,
				 cases[i].path ? cases[i].path : "-", cases[i].msg);
		}
		assert_null(d.name);	/* left empty */
		pp_errs_free(&errs);
	}
}

static void test_all_errors_at_once(void **state)
{
	struct pp_errs errs = { 0 };
	struct pp_domain d;

	(void)state;
	assert_int_equal(tu_domain_str(
		"<domain><name>x</name><memory unit='zz'>1</memory><vcpu>0</vcpu>"
		"<features><smm state='x'/></features></domain>", &d, &errs), -1);
	assert_int_equal(errs.n, 4);
	pp_errs_free(&errs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nova_2m_numa),
		cmocka_unit_test(test_nova10_1g_per_node),
		cmocka_unit_test(test_small_fpr_balloon),
		cmocka_unit_test(test_secure_boot_and_smm),
		cmocka_unit_test(test_virtio_mem),
		cmocka_unit_test(test_memory_backing_facts),
		cmocka_unit_test(test_tcg_and_defaults),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_all_errors_at_once),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
