// SPDX-License-Identifier: GPL-2.0-only
/* The decision table: every reason code, from plain structs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prepop/decide.h"
#include "testutil.h"

#define GiB (1ull << 30)
#define MiB (1ull << 20)

static const char *const flavors[] = {
	"strict.json", "{ \"flavor\": \"strict\", \"match\": [\"strict.*\"], \"eligibility\": { \"require_hugepages\": true, \"page_sizes_kib\": [2048] } }",
	"anyhuge.json", "{ \"flavor\": \"anyhuge\", \"match\": [\"anyhuge.*\"], \"eligibility\": { \"require_hugepages\": true } }",
	"off.json", "{ \"flavor\": \"off\", \"match\": [\"off.*\"], \"mode\": \"fault\" }",
	"force.json", "{ \"flavor\": \"force\", \"match\": [\"force.*\"], \"mode\": \"prepopulate\" }",
	"smmd.json", "{ \"flavor\": \"smmd\", \"match\": [\"smmd.*\"], \"fallbacks\": { \"smm\": { \"default_is_on\": true } } }",
	"nofb.json", "{ \"flavor\": \"nofb\", \"match\": [\"nofb.*\"], \"fallbacks\": { \"smm\": { \"enabled\": false }, \"overcommit\": { \"enabled\": false }, \"balloon\": { \"enabled\": false }, \"postcopy\": { \"enabled\": false }, \"ksm\": { \"enabled\": false } } }",
	"ratio.json", "{ \"flavor\": \"ratio\", \"match\": [\"ratio.*\"], \"fallbacks\": { \"overcommit\": { \"max_ratio\": 1.5 } } }",
};

static struct pp_policy *policy(const char *defaults)
{
	const char *files[2 + sizeof(flavors) / sizeof(flavors[0]) + 1];
	struct pp_errs errs = { 0 };
	struct pp_policy *p;
	size_t n = 0;
	char *dir;

	files[n++] = "defaults.json";
	files[n++] = defaults;
	for (size_t i = 0; i < sizeof(flavors) / sizeof(flavors[0]); i++)
		files[n++] = flavors[i];
	files[n] = NULL;
	dir = tu_policy_dir(files);
	p = pp_policy_load(dir, &errs);
	if (!p)
		tu_dump_errs(&errs);
	assert_non_null(p);
	pp_errs_free(&errs);
	tu_rmtree(dir);
	return p;
}

static uint64_t page_2m[] = { 2 * MiB };
static uint64_t page_1g[] = { GiB };
static char groups_canary[] = "canary", groups_noprep[] = "no-prepop";

struct row {
	const char *what;
	/* domain */
	const char *name;
	const char *type;
	unsigned vcpus;
	uint64_t mem;
	int pages;		/* 0 none, 1 default size, 2 = 2M, 3 = 1G */
	enum pp_smm_state smm;
	bool secure_boot;
	int balloon;		/* 0 none, 1 plain, 2 fpr, 3 autodeflate */
	/* host */
	uint64_t host_mem, guest_mem, host_default_page;
	char *group;
	enum pp_migration mig;
	/* policy variant: 0 base, 1 disabled, 2 percent 0, 3 dry run */
	int variant;
	enum pp_mode mode;
	enum pp_reason reason;
	unsigned extra;		/* X_* below */
};

/* What a row adds to its guest or host. */
enum {
	X_INFLATED = 1 << 0,		/* balloon (plain) inflated: currentMemory = memory / 2 */
	X_VMEM_UNPLUGGED = 1 << 1,	/* virtio-mem 16 GiB, 8 GiB requested */
	X_VMEM_CURRENT_LOW = 1 << 2,	/* virtio-mem 16 GiB, all requested, 4 GiB plugged */
	X_VMEM_PLUGGED = 1 << 3,	/* virtio-mem 16 GiB, all plugged */
	X_FILE_RAM = 1 << 4,		/* <memoryBacking><source type='file'/> */
	X_MEMFD = 1 << 5,		/* <source type='memfd'/> */
	X_NVDIMM = 1 << 6,
	X_PMEM = 1 << 7,		/* virtio-pmem */
	X_KSM = 1 << 8,			/* host: KSM merging */
	X_KSM_STOPPED = 1 << 9,
	X_NOSHARE = 1 << 10,		/* <nosharepages/> */
	X_POOL_1G_FREE = 1 << 11,	/* host: 256 x 1 GiB pages, none in use */
	X_RESERVE = 1 << 12,		/* host: 64 GiB reserved */
	X_POOL_2M_HALF = 1 << 13,	/* host: 128 GiB of 2 MiB pages, half in use */
	X_POOL_2M_SMALL = 1 << 14,	/* host: 32 GiB of 2 MiB pages, all free */
	X_OP_FAULT = 1 << 15,		/* prepopctl fault */
	X_OP_POPULATE = 1 << 16,	/* prepopctl populate */
	X_PRIVATE = 1 << 17,		/* <access mode='private'/> */
	X_SHARED = 1 << 18,		/* <access mode='shared'/> */
	X_GUESTS_HUGE_64G = 1 << 19,	/* host: 64 GiB of the guests are known to be on huge pages */
};

#define BIG "vm", "kvm", 16, 64 * GiB

static const struct row rows[] = {
	{ "eligible", BIG, 2, PP_SMM_DEFAULT, false, 0, 512 * GiB, 128 * GiB, 0, NULL, PP_MIG_NONE, 0, PP_MODE_PREPOPULATE, PP_R_ELIGIBLE, 0 },
	{ "eligible on small pages", BIG, 0, PP_SMM_OFF, false, 1, 512 * GiB, 0, 0, NULL, PP_MIG_NONE, 0, PP_MODE_PREPOPULATE, PP_R_ELIGIBLE, 0 },
	{ "eligible after pre-copy", BIG, 2, PP_SMM_DEFAULT, false, 0, 512 * GiB, 0, 0, NULL, PP_MIG_PRECOPY, 0, PP_MODE_PREPOPULATE, PP_R_ELIGIBLE, 0 },
	{ "too few vCPUs", "vm", "kvm", 4, 64 * GiB, 2, PP_SMM_DEFAULT, false, 0, 512 * GiB, 0, 0, NULL, PP_MIG_NONE, 0, PP_MODE_FAULT, PP_R_TOO_FEW_VCPUS, 0 },
	{ "too little memory", "vm", "kvm", 16, 8 * GiB, 2, PP_SMM_DEFAULT, false, 0, 512 * GiB, 0, 0, NULL, PP_MIG_NONE, 0, PP_MODE_FAULT, PP_R_TOO_LITTLE_MEMORY, 0 },
	{ "memory exactly at the minimum", "vm", "kvm", 8, 16 * GiB, 0, PP_SMM_DEFAULT, false, 0, 512 * GiB, 0, 0, NULL, PP_MIG_NONE, 0, PP_MODE_PREPOPULATE, PP_R_ELIGIBLE, 0 },
	{ "huge pages required, none", "strict.a", "kvm", 16, 64 * GiB, 0, PP_SMM_DEFAULT, false, 0, 512 * GiB, 0, 0, NULL, PP_MIG_NONE, 0, PP_MODE_FAULT, PP_R_NO_HUGEPAGES, 0 },
	{ "huge pages required, wrong size", "strict.a", "kvm", 16, 64 * GiB, 3, PP_SMM_DEFAULT, false, 0, 512 * GiB, 0, 0, NULL, PP_MIG_NONE, 0, PP_MODE_FAULT, PP_R_NO_HUGEPAGES, 0 },
	{ "huge pages required, 2M", "strict.a", "kvm", 16, 64 * GiB, 2, PP_SMM_DEFAULT, false, 0, 512 * GiB, 0, 0, NULL, PP_MIG_NONE, 0, PP_MODE_PREPOPULATE, PP_R_ELIGIBLE, 0 },
	{ "default size is the host's 2M", "strict.a", "kvm", 16, 64 * GiB, 1, PP_SMM_DEFAULT, false, 0, 512 * GiB, 0, 2 * MiB, NULL, PP_MIG_NONE, 0, PP_MODE_PREPOPULATE, PP_R_ELIGIBLE, 0 },
	{ "default size is the host's 1G", "strict.a", "kvm", 16, 64 * GiB, 1, PP_SMM_DEFAULT, false, 0, 512 * GiB, 0, GiB, NULL, PP_MIG_NONE, 0, PP_MODE_FAULT, PP_R_NO_HUGEPAGES, 0 },
	{ "any huge page size", "anyhuge.a", "kvm", 16, 64 * GiB, 3, PP_SMM_DEFAULT, false, 0, 512 * GiB, 0, 0, NULL, PP_MIG_NONE, 0, PP_MODE_PREPOPULATE, PP_R_ELIGIBLE, 0 },
	{ "forced fault", "off.a", "kvm", 16, 64 * GiB, 2, PP_SMM_DEFAULT, false, 0, 512 * GiB, 0, 0, NULL, PP_MIG_NONE, 0, PP_MODE_FAULT, PP_R_FORCED_FAULT, 0 },
	{ "forced prepopulate, small guest", "force.a", "kvm", 1, 1 * GiB, 0, PP_SMM_DEFAULT, false, 0, 512 * GiB, 0, 0, NULL, PP_MIG_NONE, 0, PP_MODE_PREPOPULATE, PP_R_FORCED_PREPOPULATE, 0 },
	{ "forced prepopulate obeys SMM", "force.a", "kvm", 16, 64 * GiB, 2, PP_SMM_ON, false, 0, 512 * GiB, 0, 0, NULL, PP_MIG_NONE, 0, PP_MODE_FAULT, PP_R_SMM, 0 },
	{ "forced prepopulate obeys post-copy", "force.a", "kvm", 16, 64 * GiB, 2, PP_SMM_DEFAULT, false, 0, 512 * GiB, 0, 0, NULL, PP_MIG_POSTCOPY, 0, PP_MODE_FAULT, PP_R_POSTCOPY, 0 },
	{ "SMM on", BIG, 2, PP_SMM_ON, false, 0, 512 * GiB, 0, 0, NULL, PP_MIG_NONE, 0, PP_MODE_FAULT, PP_R_SMM, 0 },
	{ "secure boot implies SMM", BIG, 2, PP_SMM_DEFAULT, true, 0, 512 * GiB, 0, 0, NULL, PP_MIG_NONE, 0, PP_MODE_FAULT, PP_R_SMM, 0 },
	{ "SMM default counted as on", "smmd.a", "kvm", 16, 64 * GiB, 2, PP_SMM_DEFAULT, false, 0, 512 * GiB, 0, 0, NULL, PP_MIG_NONE, 0, PP_MODE_FAULT, PP_R_SMM, 0 },
	{ "SMM off with default counted", "smmd.a", "kvm", 16, 64 * GiB, 2, PP_SMM_OFF, false, 0, 512 * GiB, 0, 0, NULL, PP_MIG_NONE, 0, PP_MODE_PREPOPULATE, PP_R_ELIGIBLE, 0 },
	{ "overcommit", BIG, 2, PP_SMM_DEFAULT, false, 0, 512 * GiB, 600 * GiB, 0, NULL, PP_MIG_NONE, 0, PP_MODE_FAULT, PP_R_OVERCOMMIT, 0 },
	{ "guest alone larger than the host", "vm", "kvm", 16, 1024 * GiB, 2, PP_SMM_DEFAULT, false, 0, 512 * GiB, 0, 0, NULL, PP_MIG_NONE, 0, PP_MODE_FAULT, PP_R_OVERCOMMIT, 0 },
	{ "overcommit within a 1.5 ratio", "ratio.a", "kvm", 16, 64 * GiB, 2, PP_SMM_DEFAULT, false, 0, 512 * GiB, 600 * GiB, 0, NULL, PP_MIG_NONE, 0, PP_MODE_PREPOPULATE, PP_R_ELIGIBLE, 0 },
	{ "unknown host RAM: no overcommit check", BIG, 2, PP_SMM_DEFAULT, false, 0, 0, 600 * GiB, 0, NULL, PP_MIG_NONE, 0, PP_MODE_PREPOPULATE, PP_R_ELIGIBLE, 0 },
	{ "balloon with free page reporting", BIG, 2, PP_SMM_DEFAULT, false, 2, 512 * GiB, 0, 0, NULL, PP_MIG_NONE, 0, PP_MODE_FAULT, PP_R_BALLOON, 0 },
	{ "balloon with autodeflate", BIG, 2, PP_SMM_DEFAULT, false, 3, 512 * GiB, 0, 0, NULL, PP_MIG_NONE, 0, PP_MODE_FAULT, PP_R_BALLOON, 0 },
	{ "post-copy", BIG, 2, PP_SMM_DEFAULT, false, 0, 512 * GiB, 0, 0, NULL, PP_MIG_POSTCOPY, 0, PP_MODE_FAULT, PP_R_POSTCOPY, 0 },
	{ "fallbacks switched off", "nofb.a", "kvm", 16, 64 * GiB, 0, PP_SMM_ON, true, 2, 512 * GiB, 900 * GiB, 0, NULL, PP_MIG_POSTCOPY, 0, PP_MODE_PREPOPULATE, PP_R_ELIGIBLE, X_INFLATED | X_KSM },
	{ "not KVM", "vm", "qemu", 16, 64 * GiB, 2, PP_SMM_DEFAULT, false, 0, 512 * GiB, 0, 0, NULL, PP_MIG_NONE, 0, PP_MODE_FAULT, PP_R_NOT_KVM, 0 },
	{ "not KVM, even forced", "force.a", "qemu", 16, 64 * GiB, 2, PP_SMM_DEFAULT, false, 0, 512 * GiB, 0, 0, NULL, PP_MIG_NONE, 0, PP_MODE_FAULT, PP_R_NOT_KVM, 0 },
	{ "kill switch", BIG, 2, PP_SMM_DEFAULT, false, 0, 512 * GiB, 0, 0, NULL, PP_MIG_NONE, 1, PP_MODE_FAULT, PP_R_DISABLED, 0 },
	{ "kill switch beats an included group", BIG, 2, PP_SMM_DEFAULT, false, 0, 512 * GiB, 0, 0, groups_canary, PP_MIG_NONE, 1, PP_MODE_FAULT, PP_R_DISABLED, 0 },
	{ "outside a 0% rollout", BIG, 2, PP_SMM_DEFAULT, false, 0, 512 * GiB, 0, 0, NULL, PP_MIG_NONE, 2, PP_MODE_FAULT, PP_R_ROLLOUT_EXCLUDED, 0 },
	{ "canary group inside a 0% rollout", BIG, 2, PP_SMM_DEFAULT, false, 0, 512 * GiB, 0, 0, groups_canary, PP_MIG_NONE, 2, PP_MODE_PREPOPULATE, PP_R_ELIGIBLE, 0 },
	{ "excluded group in a 100% rollout", BIG, 2, PP_SMM_DEFAULT, false, 0, 512 * GiB, 0, 0, groups_noprep, PP_MIG_NONE, 0, PP_MODE_FAULT, PP_R_ROLLOUT_EXCLUDED, 0 },
	{ "dry run still decides", BIG, 2, PP_SMM_DEFAULT, false, 0, 512 * GiB, 0, 0, NULL, PP_MIG_NONE, 3, PP_MODE_PREPOPULATE, PP_R_ELIGIBLE, 0 },
	/* balloon: inflated counts, whatever its options */
	{ "plain balloon inflated", BIG, 2, PP_SMM_DEFAULT, false, 1, 512 * GiB, 0, 0, NULL, PP_MIG_NONE, 0, PP_MODE_FAULT, PP_R_BALLOON, X_INFLATED },
	{ "inflated, balloon fallback off", "nofb.a", "kvm", 16, 64 * GiB, 2, PP_SMM_DEFAULT, false, 1, 512 * GiB, 0, 0, NULL, PP_MIG_NONE, 0, PP_MODE_PREPOPULATE, PP_R_ELIGIBLE, X_INFLATED },
	{ "currentMemory below memory, no balloon", BIG, 2, PP_SMM_DEFAULT, false, 0, 512 * GiB, 0, 0, NULL, PP_MIG_NONE, 0, PP_MODE_PREPOPULATE, PP_R_ELIGIBLE, X_INFLATED },
	/* virtio-mem: unplugged blocks are never populated */
	{ "virtio-mem with unplugged blocks", BIG, 0, PP_SMM_DEFAULT, false, 0, 512 * GiB, 0, 0, NULL, PP_MIG_NONE, 0, PP_MODE_FAULT, PP_R_VIRTIO_MEM, X_VMEM_UNPLUGGED },
	{ "virtio-mem: what is plugged beats what is requested", BIG, 0, PP_SMM_DEFAULT, false, 0, 512 * GiB, 0, 0, NULL, PP_MIG_NONE, 0, PP_MODE_FAULT, PP_R_VIRTIO_MEM, X_VMEM_CURRENT_LOW },
	{ "virtio-mem fully plugged", BIG, 0, PP_SMM_DEFAULT, false, 0, 512 * GiB, 0, 0, NULL, PP_MIG_NONE, 0, PP_MODE_PREPOPULATE, PP_R_ELIGIBLE, X_VMEM_PLUGGED },
	{ "forced prepopulate obeys virtio-mem", "force.a", "kvm", 16, 64 * GiB, 0, PP_SMM_DEFAULT, false, 0, 512 * GiB, 0, 0, NULL, PP_MIG_NONE, 0, PP_MODE_FAULT, PP_R_VIRTIO_MEM, X_VMEM_UNPLUGGED },
	{ "virtio-mem has no switch", "nofb.a", "kvm", 16, 64 * GiB, 0, PP_SMM_DEFAULT, false, 0, 512 * GiB, 0, 0, NULL, PP_MIG_NONE, 0, PP_MODE_FAULT, PP_R_VIRTIO_MEM, X_VMEM_UNPLUGGED },
	/* file-backed memory is never dirtied */
	{ "file-backed RAM", BIG, 0, PP_SMM_DEFAULT, false, 0, 512 * GiB, 0, 0, NULL, PP_MIG_NONE, 0, PP_MODE_FAULT, PP_R_FILE_BACKED, X_FILE_RAM },
	{ "file on hugetlbfs is huge pages", BIG, 2, PP_SMM_DEFAULT, false, 0, 512 * GiB, 0, 0, NULL, PP_MIG_NONE, 0, PP_MODE_PREPOPULATE, PP_R_ELIGIBLE, X_FILE_RAM },
	{ "memfd RAM", BIG, 0, PP_SMM_DEFAULT, false, 0, 512 * GiB, 0, 0, NULL, PP_MIG_NONE, 0, PP_MODE_PREPOPULATE, PP_R_ELIGIBLE, X_MEMFD },
	{ "nvdimm", BIG, 2, PP_SMM_DEFAULT, false, 0, 512 * GiB, 0, 0, NULL, PP_MIG_NONE, 0, PP_MODE_FAULT, PP_R_FILE_BACKED, X_NVDIMM },
	{ "virtio-pmem", BIG, 2, PP_SMM_DEFAULT, false, 0, 512 * GiB, 0, 0, NULL, PP_MIG_NONE, 0, PP_MODE_FAULT, PP_R_FILE_BACKED, X_PMEM },
	{ "file-backed has no switch", "nofb.a", "kvm", 16, 64 * GiB, 0, PP_SMM_DEFAULT, false, 0, 512 * GiB, 0, 0, NULL, PP_MIG_NONE, 0, PP_MODE_FAULT, PP_R_FILE_BACKED, X_FILE_RAM },
	/* KSM */
	{ "KSM merging small pages", BIG, 0, PP_SMM_DEFAULT, false, 0, 512 * GiB, 0, 0, NULL, PP_MIG_NONE, 0, PP_MODE_FAULT, PP_R_KSM, X_KSM },
	{ "KSM merging, <nosharepages/>", BIG, 0, PP_SMM_DEFAULT, false, 0, 512 * GiB, 0, 0, NULL, PP_MIG_NONE, 0, PP_MODE_PREPOPULATE, PP_R_ELIGIBLE, X_KSM | X_NOSHARE },
	{ "KSM merging, huge pages", BIG, 2, PP_SMM_DEFAULT, false, 0, 512 * GiB, 0, 0, NULL, PP_MIG_NONE, 0, PP_MODE_PREPOPULATE, PP_R_ELIGIBLE, X_KSM },
	/* KSM skips shared mappings: memfd RAM is shared unless private, <access mode='shared'/> is */
	{ "KSM merging, memfd RAM (shared)", BIG, 0, PP_SMM_DEFAULT, false, 0, 512 * GiB, 0, 0, NULL, PP_MIG_NONE, 0, PP_MODE_PREPOPULATE, PP_R_ELIGIBLE, X_KSM | X_MEMFD },
	{ "KSM merging, memfd RAM private", BIG, 0, PP_SMM_DEFAULT, false, 0, 512 * GiB, 0, 0, NULL, PP_MIG_NONE, 0, PP_MODE_FAULT, PP_R_KSM, X_KSM | X_MEMFD | X_PRIVATE },
	{ "KSM merging, access shared", BIG, 0, PP_SMM_DEFAULT, false, 0, 512 * GiB, 0, 0, NULL, PP_MIG_NONE, 0, PP_MODE_PREPOPULATE, PP_R_ELIGIBLE, X_KSM | X_SHARED },
	{ "KSM stopped", BIG, 0, PP_SMM_DEFAULT, false, 0, 512 * GiB, 0, 0, NULL, PP_MIG_NONE, 0, PP_MODE_PREPOPULATE, PP_R_ELIGIBLE, X_KSM_STOPPED },
	{ "forced prepopulate obeys KSM", "force.a", "kvm", 16, 64 * GiB, 0, PP_SMM_DEFAULT, false, 0, 512 * GiB, 0, 0, NULL, PP_MIG_NONE, 0, PP_MODE_FAULT, PP_R_KSM, X_KSM },
	{ "KSM fallback off", "nofb.a", "kvm", 16, 64 * GiB, 0, PP_SMM_DEFAULT, false, 0, 512 * GiB, 0, 0, NULL, PP_MIG_NONE, 0, PP_MODE_PREPOPULATE, PP_R_ELIGIBLE, X_KSM },
	/* operator overrides: after the fleet gates, before the flavor; populate obeys the fallbacks */
	{ "operator fault", BIG, 2, PP_SMM_DEFAULT, false, 0, 512 * GiB, 0, 0, NULL, PP_MIG_NONE, 0, PP_MODE_FAULT, PP_R_OVERRIDE_FAULT, X_OP_FAULT },
	{ "operator fault beats a forced prepopulate", "force.a", "kvm", 16, 64 * GiB, 2, PP_SMM_DEFAULT, false, 0, 512 * GiB, 0, 0, NULL, PP_MIG_NONE, 0, PP_MODE_FAULT, PP_R_OVERRIDE_FAULT, X_OP_FAULT },
	{ "operator populate, small guest", "vm", "kvm", 1, 1 * GiB, 0, PP_SMM_DEFAULT, false, 0, 512 * GiB, 0, 0, NULL, PP_MIG_NONE, 0, PP_MODE_PREPOPULATE, PP_R_OVERRIDE_PREPOPULATE, X_OP_POPULATE },
	{ "operator populate beats the flavor's fault", "off.a", "kvm", 16, 64 * GiB, 2, PP_SMM_DEFAULT, false, 0, 512 * GiB, 0, 0, NULL, PP_MIG_NONE, 0, PP_MODE_PREPOPULATE, PP_R_OVERRIDE_PREPOPULATE, X_OP_POPULATE },
	{ "operator populate obeys SMM", BIG, 2, PP_SMM_ON, false, 0, 512 * GiB, 0, 0, NULL, PP_MIG_NONE, 0, PP_MODE_FAULT, PP_R_SMM, X_OP_POPULATE },
	{ "operator populate obeys file-backed", BIG, 0, PP_SMM_DEFAULT, false, 0, 512 * GiB, 0, 0, NULL, PP_MIG_NONE, 0, PP_MODE_FAULT, PP_R_FILE_BACKED, X_OP_POPULATE | X_FILE_RAM },
	{ "kill switch beats an operator populate", BIG, 2, PP_SMM_DEFAULT, false, 0, 512 * GiB, 0, 0, NULL, PP_MIG_NONE, 1, PP_MODE_FAULT, PP_R_DISABLED, X_OP_POPULATE },
	{ "operator populate, not KVM", "vm", "qemu", 16, 64 * GiB, 2, PP_SMM_DEFAULT, false, 0, 512 * GiB, 0, 0, NULL, PP_MIG_NONE, 0, PP_MODE_FAULT, PP_R_NOT_KVM, X_OP_POPULATE },
	/* overcommit from the host's truth: pools, reserve, every running guest */
	{ "pools leave too little for small pages", BIG, 0, PP_SMM_DEFAULT, false, 0, 512 * GiB, 300 * GiB, 0, NULL, PP_MIG_NONE, 0, PP_MODE_FAULT, PP_R_OVERCOMMIT, X_POOL_1G_FREE },
	{ "same guests, no pools", BIG, 0, PP_SMM_DEFAULT, false, 0, 512 * GiB, 300 * GiB, 0, NULL, PP_MIG_NONE, 0, PP_MODE_PREPOPULATE, PP_R_ELIGIBLE, 0 },
	{ "the reserve counts", BIG, 0, PP_SMM_DEFAULT, false, 0, 512 * GiB, 480 * GiB, 0, NULL, PP_MIG_NONE, 0, PP_MODE_FAULT, PP_R_OVERCOMMIT, X_RESERVE },
	{ "same guests, no reserve", BIG, 0, PP_SMM_DEFAULT, false, 0, 512 * GiB, 480 * GiB, 0, NULL, PP_MIG_NONE, 0, PP_MODE_PREPOPULATE, PP_R_ELIGIBLE, 0 },
	{ "huge page guest within its pool", BIG, 2, PP_SMM_DEFAULT, false, 0, 512 * GiB, 600 * GiB, 0, NULL, PP_MIG_NONE, 0, PP_MODE_PREPOPULATE, PP_R_ELIGIBLE, X_POOL_2M_HALF },
	{ "huge page guest beyond its pool", BIG, 2, PP_SMM_DEFAULT, false, 0, 512 * GiB, 0, 0, NULL, PP_MIG_NONE, 0, PP_MODE_FAULT, PP_R_OVERCOMMIT, X_POOL_2M_SMALL },
	{ "small page guest beside a used 2M pool", BIG, 0, PP_SMM_DEFAULT, false, 0, 512 * GiB, 400 * GiB, 0, NULL, PP_MIG_NONE, 0, PP_MODE_PREPOPULATE, PP_R_ELIGIBLE, X_POOL_2M_HALF | X_GUESTS_HUGE_64G },
	/* the pool's pages in use are not the guests' (DPDK, a database): all 400 GiB on small pages */
	{ "small page guest, a 2M pool used by others", BIG, 0, PP_SMM_DEFAULT, false, 0, 512 * GiB, 400 * GiB, 0, NULL, PP_MIG_NONE, 0, PP_MODE_FAULT, PP_R_OVERCOMMIT, X_POOL_2M_HALF },
	{ "huge pages with no pool of that size", BIG, 3, PP_SMM_DEFAULT, false, 0, 512 * GiB, 600 * GiB, 0, NULL, PP_MIG_NONE, 0, PP_MODE_FAULT, PP_R_OVERCOMMIT, X_POOL_2M_HALF },
};

#define ROLLOUT_GROUPS "\"include_groups\": [\"canary\"], \"exclude_groups\": [\"no-prepop\"]"
static const char *const variants[] = {
	"{ \"rollout\": { " ROLLOUT_GROUPS " } }",
	"{ \"rollout\": { \"enabled\": false, " ROLLOUT_GROUPS " } }",
	"{ \"rollout\": { \"percent\": 0, " ROLLOUT_GROUPS " } }",
	"{ \"rollout\": { \"dry_run\": true, " ROLLOUT_GROUPS " } }",
};

static struct pp_memdev memdev;

static void pool(struct pp_host *h, uint64_t size, uint64_t pages, uint64_t free)
{
	h->hugepools_known = true;
	h->hugepools[h->n_hugepools++] = (struct pp_hugepool){
		.page_bytes = size, .node = -1, .pages = pages, .free = free,
	};
}

static void build_extra(unsigned x, struct pp_domain *d, struct pp_host *h)
{
	memset(&memdev, 0, sizeof(memdev));
	memdev.size_bytes = 16 * GiB;
	memdev.node = -1;
	if (x & (X_VMEM_UNPLUGGED | X_VMEM_CURRENT_LOW | X_VMEM_PLUGGED | X_NVDIMM | X_PMEM)) {
		d->memdevs = &memdev;
		d->n_memdevs = 1;
	}
	memdev.model = (char *)(x & X_NVDIMM ? "nvdimm" : x & X_PMEM ? "virtio-pmem" : "virtio-mem");
	memdev.source_path = x & (X_NVDIMM | X_PMEM) ? (char *)"/var/lib/pmem/guest.img" : NULL;
	memdev.has_requested = x & (X_VMEM_UNPLUGGED | X_VMEM_CURRENT_LOW);
	memdev.requested_bytes = x & X_VMEM_UNPLUGGED ? 8 * GiB : 16 * GiB;
	memdev.has_current = x & (X_VMEM_CURRENT_LOW | X_VMEM_PLUGGED);
	memdev.current_bytes = x & X_VMEM_CURRENT_LOW ? 4 * GiB : 16 * GiB;
	if (x & X_INFLATED)
		d->current_memory_bytes = d->memory_bytes / 2;
	d->mem_source = (char *)(x & X_FILE_RAM ? "file" : x & X_MEMFD ? "memfd" : NULL);
	d->mem_access = (char *)(x & X_PRIVATE ? "private" : x & X_SHARED ? "shared" : NULL);
	d->nosharepages = x & X_NOSHARE;
	d->override = x & X_OP_FAULT ? PP_MODE_FAULT : x & X_OP_POPULATE ? PP_MODE_PREPOPULATE : PP_MODE_AUTO;
	h->ksm = x & X_KSM ? PP_KSM_RUNNING : x & X_KSM_STOPPED ? PP_KSM_STOPPED : PP_KSM_UNKNOWN;
	if (x & X_POOL_1G_FREE)
		pool(h, GiB, 256, 256);
	if (x & X_RESERVE)
		h->reserved_bytes = 64 * GiB;
	if (x & X_POOL_2M_HALF)
		pool(h, 2 * MiB, 65536, 32768);
	if (x & X_POOL_2M_SMALL)
		pool(h, 2 * MiB, 16384, 16384);
	if (x & X_GUESTS_HUGE_64G)
		h->guest_hugetlb_bytes = 64 * GiB;
}

static void build(const struct row *r, struct pp_domain *d, struct pp_host *h)
{
	memset(d, 0, sizeof(*d));
	memset(h, 0, sizeof(*h));
	d->name = (char *)r->name;
	d->domain_type = (char *)r->type;
	d->vcpus = d->vcpus_max = r->vcpus;
	d->memory_bytes = d->current_memory_bytes = r->mem;
	d->hugepages = r->pages != 0;
	if (r->pages >= 2) {
		d->n_pages = 1;
		d->page_bytes = r->pages == 2 ? page_2m : page_1g;
	}
	d->smm_state = r->smm;
	d->secure_boot = r->secure_boot;
	d->balloon = r->balloon != 0;
	d->balloon_model = (char *)"virtio";
	d->balloon_free_page_reporting = r->balloon == 2;
	d->balloon_autodeflate = r->balloon == 3;
	h->host_id = (char *)"host-under-test";
	h->mem_total_bytes = r->host_mem;
	h->guest_memory_bytes = r->guest_mem;
	h->default_hugepage_bytes = r->host_default_page;
	if (r->group) {
		h->groups = (char **)&r->group;
		h->n_groups = 1;
	}
	build_extra(r->extra, d, h);
}

static void test_table(void **state)
{
	struct pp_policy *p[4];
	bool seen[PP_R_COUNT] = { false };

	(void)state;
	for (int v = 0; v < 4; v++)
		p[v] = policy(variants[v]);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];
		struct pp_decision dec;
		struct pp_domain d;
		struct pp_host h;

		build(r, &d, &h);
		pp_decide(p[r->variant], &d, &h, r->mig, &dec);
		if (dec.mode != r->mode || dec.reason != r->reason)
			fail_msg("%s: got %s/%s (%s), want %s/%s", r->what,
				 pp_mode_str(dec.mode), pp_reason_str(dec.reason),
				 dec.explanation, pp_mode_str(r->mode),
				 pp_reason_str(r->reason));
		assert_true(strlen(dec.explanation) > 10);
		assert_int_equal(dec.dry_run, r->variant == 3);
		seen[dec.reason] = true;
	}
	for (int i = 0; i < PP_R_COUNT; i++)
		if (!seen[i])
			fail_msg("reason %s is not covered by the table", pp_reason_str(i));
	for (int v = 0; v < 4; v++)
		pp_policy_free(p[v]);
}

static void test_match_subject_and_params(void **state)
{
	struct pp_policy *p = policy(variants[0]);
	struct pp_decision dec;
	struct pp_domain d;
	struct pp_host h;

	(void)state;
	build(&rows[0], &d, &h);
	d.name = (char *)"off.by-name";
	pp_decide(p, &d, &h, PP_MIG_NONE, &dec);
	assert_string_equal(dec.subject_kind, "domain-name");
	assert_int_equal(dec.reason, PP_R_FORCED_FAULT);

	d.prepop_flavor = (char *)"force.by-prepop";	/* beats the name */
	pp_decide(p, &d, &h, PP_MIG_NONE, &dec);
	assert_string_equal(dec.subject_kind, "prepop-flavor");
	assert_string_equal(dec.flavor->name, "force");

	d.nova_flavor = (char *)"m5.nothing";	/* beats both; no flavor matches */
	pp_decide(p, &d, &h, PP_MIG_NONE, &dec);
	assert_string_equal(dec.subject_kind, "nova-flavor");
	assert_null(dec.flavor);
	assert_int_equal(dec.reason, PP_R_ELIGIBLE);
	assert_int_equal(dec.params.pop.slice_ms, 50);
	assert_string_equal(pp_reason_str(PP_R_ROLLOUT_EXCLUDED), "rollout-excluded");
	assert_int_equal(pp_reason_parse("postcopy"), PP_R_POSTCOPY);
	assert_int_equal(pp_reason_parse("nope"), -1);
	for (int i = 0; i < PP_R_COUNT; i++)	/* one table: names round-trip */
		assert_int_equal(pp_reason_parse(pp_reason_str(i)), i);
	assert_string_equal(pp_reason_str(PP_R_VIRTIO_MEM), "virtio-mem");
	assert_string_equal(pp_reason_str(PP_R_FILE_BACKED), "file-backed");
	assert_string_equal(pp_reason_str(PP_R_KSM), "ksm");
	assert_string_equal(pp_reason_str(PP_R_OVERRIDE_FAULT), "override-fault");
	assert_string_equal(pp_reason_str(PP_R_OVERRIDE_PREPOPULATE), "override-prepopulate");
	pp_policy_free(p);
}

static const struct row *row_named(const char *what)
{
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		if (!strcmp(rows[i].what, what))
			return &rows[i];
	fail_msg("no row \"%s\"", what);
	return NULL;
}

static void decide_row(struct pp_policy *p, const char *what, struct pp_decision *dec)
{
	const struct row *r = row_named(what);
	struct pp_domain d;
	struct pp_host h;

	build(r, &d, &h);
	pp_decide(p, &d, &h, r->mig, dec);
}

/* The chain as explain shows it: every rule in the documented order, up to the one that decided. */
static void test_rule_chain(void **state)
{
	static const char *const order[] = {
		"kill-switch", "rollout", "domain-type", "override", "mode-fault", "postcopy", "smm",
		"overcommit", "balloon", "virtio-mem", "file-backed", "ksm", "mode-prepopulate",
		"min-vcpus", "min-memory", "hugepages", "eligible",
	};
	struct pp_policy *p = policy(variants[0]);
	struct pp_decision dec;

	(void)state;
	decide_row(p, "eligible", &dec);
	assert_int_equal(dec.n_steps, sizeof(order) / sizeof(order[0]));
	for (size_t i = 0; i < dec.n_steps; i++) {
		assert_string_equal(dec.steps[i].rule, order[i]);
		assert_int_equal(dec.steps[i].result, i + 1 == dec.n_steps ? PP_STEP_DECIDED : PP_STEP_PASS);
		assert_true(strlen(dec.steps[i].detail) > 5);
	}
	assert_string_equal(dec.steps[dec.n_steps - 1].detail, dec.explanation);
	assert_non_null(strstr(dec.steps[7].detail, "within the policy's 1.00x"));

	decide_row(p, "SMM on", &dec);
	assert_int_equal(dec.n_steps, 7);
	assert_string_equal(dec.steps[6].rule, "smm");
	assert_int_equal(dec.steps[6].result, PP_STEP_DECIDED);

	decide_row(p, "fallbacks switched off", &dec);
	for (size_t i = 0; i < dec.n_steps; i++) {
		const char *r = dec.steps[i].rule;
		bool sw = !strcmp(r, "postcopy") || !strcmp(r, "smm") || !strcmp(r, "overcommit") ||
			  !strcmp(r, "balloon") || !strcmp(r, "ksm");

		if (sw != (dec.steps[i].result == PP_STEP_OFF))
			fail_msg("%s: %s", r, pp_step_result_str(dec.steps[i].result));
	}
	assert_string_equal(pp_step_result_str(PP_STEP_OFF), "off");

	decide_row(p, "pools leave too little for small pages", &dec);
	assert_non_null(strstr(dec.explanation, "guests on small pages take 300 GiB of 256 GiB"));
	decide_row(p, "huge page guest within its pool", &dec);
	assert_non_null(strstr(dec.steps[7].detail, "guests on 2 MiB pages take 64 GiB of that pool's 128 GiB"));
	pp_policy_free(p);
}

/* What a metadata change compares: the guest's memory and how it is populated, nothing else. */
static void test_inputs_fingerprint(void **state)
{
	struct pp_policy *p = policy(variants[0]), *dry = policy(variants[3]);
	struct pp_kv spec = { (char *)"hw:cpu_policy", (char *)"dedicated" };
	struct pp_decision dec;
	struct pp_domain d;
	struct pp_host h;
	uint64_t fp;

	(void)state;
	build(row_named("eligible"), &d, &h);
	pp_decide(p, &d, &h, PP_MIG_NONE, &dec);
	fp = pp_decision_inputs(&d, &dec);
	assert_int_equal(fp, pp_decision_inputs(&d, &dec));

	/* metadata that selects nothing, other guests, the host: the same */
	d.extra_specs = &spec;
	d.n_extra_specs = 1;
	d.uuid = (char *)"e5a3d0e0-0000-4000-8000-000000000001";
	h.guest_memory_bytes = 300 * GiB;
	pp_decide(p, &d, &h, PP_MIG_NONE, &dec);
	assert_int_equal(pp_decision_inputs(&d, &dec), fp);

	/* more memory, other backing, another flavor entry, dry run: different */
	d.memory_bytes += GiB;
	pp_decide(p, &d, &h, PP_MIG_NONE, &dec);
	assert_int_not_equal(pp_decision_inputs(&d, &dec), fp);
	d.memory_bytes -= GiB;
	d.page_bytes = page_1g;
	pp_decide(p, &d, &h, PP_MIG_NONE, &dec);
	assert_int_not_equal(pp_decision_inputs(&d, &dec), fp);
	d.page_bytes = page_2m;
	d.prepop_flavor = (char *)"anyhuge.x";
	pp_decide(p, &d, &h, PP_MIG_NONE, &dec);
	assert_string_equal(dec.flavor->name, "anyhuge");
	assert_int_equal(dec.reason, PP_R_ELIGIBLE);
	assert_int_not_equal(pp_decision_inputs(&d, &dec), fp);
	d.prepop_flavor = NULL;
	d.override = PP_MODE_PREPOPULATE;
	pp_decide(p, &d, &h, PP_MIG_NONE, &dec);
	assert_int_not_equal(pp_decision_inputs(&d, &dec), fp);
	d.override = PP_MODE_AUTO;
	pp_decide(dry, &d, &h, PP_MIG_NONE, &dec);
	assert_int_not_equal(pp_decision_inputs(&d, &dec), fp);
	pp_decide(p, &d, &h, PP_MIG_NONE, &dec);
	assert_int_equal(pp_decision_inputs(&d, &dec), fp);
	pp_policy_free(p);
	pp_policy_free(dry);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_match_subject_and_params),
		cmocka_unit_test(test_rule_chain),
		cmocka_unit_test(test_inputs_fingerprint),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
