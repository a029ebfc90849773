/* SPDX-License-Identifier: GPL-2.0-only */
/* Plain facts the decision is made from: a guest and the host it runs on. */
#ifndef PREPOP_FACTS_H
#define PREPOP_FACTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "prepop/policy.h"

enum pp_smm_state { PP_SMM_DEFAULT, PP_SMM_ON, PP_SMM_OFF };

struct pp_memdev {
	char *model;		/* dimm, nvdimm, virtio-mem, virtio-pmem */
	uint64_t size_bytes;
	uint64_t requested_bytes;	/* virtio-mem only */
	bool has_requested;
	uint64_t current_bytes;	/* virtio-mem: plugged now (the live XML's <current>) */
	bool has_current;
	char *source_path;	/* nvdimm, virtio-pmem: the file behind it; NULL if none */
	int node;		/* -1 when absent */
};

struct pp_kv {
	char *name;
	char *value;
};

struct pp_domain {
	char *name;
	char *uuid;
	char *domain_type;	/* kvm, qemu, ... */
	char *machine;		/* <os><type machine=...>, may be NULL */
	unsigned vcpus, vcpus_max;
	uint64_t memory_bytes, current_memory_bytes, max_memory_bytes;
	bool has_max_memory;
	bool hugepages;		/* <hugepages> present */
	size_t n_pages;
	uint64_t *page_bytes;	/* one per <page>, in document order */
	bool locked;
	char *mem_source, *mem_access, *mem_allocation;	/* NULL if absent */
	bool nosharepages;	/* <memoryBacking><nosharepages/>: KSM may not merge its RAM */
	enum pp_smm_state smm_state;
	bool secure_boot;	/* EFI secure boot: implies SMM on */
	bool balloon;		/* present and model != none */
	char *balloon_model;
	bool balloon_autodeflate, balloon_free_page_reporting;
	size_t n_memdevs;
	struct pp_memdev *memdevs;
	char *nova_flavor;	/* <nova:flavor name=...> */
	char *prepop_flavor;	/* <prepop:flavor> in prepop's namespace */
	size_t n_extra_specs;
	struct pp_kv *extra_specs;
	enum pp_mode override;	/* the operator's (prepopctl populate/fault); PP_MODE_AUTO: none.
				 * Never from the XML: prepopd fills it in. */
};

/* prepop's own domain metadata namespace. */
#define PP_METADATA_NS "urn:prepop:domain:1.0"

static inline bool pp_domain_smm(const struct pp_domain *d)
{
	return d->smm_state == PP_SMM_ON || d->secure_boot;
}

/* The name flavor globs match: Nova flavor, else prepop:flavor, else domain name. */
const char *pp_domain_match_subject(const struct pp_domain *d, const char **kind);
/* The flavor as reported in facts: Nova's or prepop's, else NULL. */
const char *pp_domain_flavor(const struct pp_domain *d);
void pp_domain_free(struct pp_domain *d);

/* One huge page pool: host-wide for a size (node -1), or one NUMA node's share of it. */
struct pp_hugepool {
	uint64_t page_bytes;
	int node;		/* -1: the host-wide pool */
	uint64_t pages;		/* nr_hugepages */
	uint64_t free;		/* free_hugepages (reserved ones included) */
	uint64_t reserved;	/* resv_hugepages: promised, not yet faulted (host-wide only) */
	uint64_t surplus;	/* surplus_hugepages: taken from general RAM beyond the pool */
};

#define PP_MAX_HUGEPOOLS 64

/* /sys/kernel/mm/ksm/run, plus one: zeroed facts know nothing. */
enum pp_ksm { PP_KSM_UNKNOWN, PP_KSM_STOPPED, PP_KSM_RUNNING, PP_KSM_UNMERGING };

/*
 * Only the identity and groups are pointers: a shallow copy is a valid
 * copy while the original lives (the daemon copies its loaded facts and
 * fills in what it learns at each decision).
 */
struct pp_host {
	char *host_id;		/* host.json host_id, else /etc/machine-id */
	char *host_id_source;	/* where host_id came from */
	size_t n_groups;
	char **groups;		/* groups, then labels as "key=value" */
	uint64_t mem_total_bytes;	/* 0 = unknown */
	uint64_t reserved_bytes;	/* kept for the host itself, never for guests */
	uint64_t guest_memory_bytes;	/* every running guest's memory, libvirt's view; 0 = unknown */
	/*
	 * Of that, what guests known to be on huge pages take: their pools
	 * weigh them.  The rest counts against small-page RAM, including
	 * guests whose backing is not known yet (and the pools' other users
	 * are never taken for guests).
	 */
	uint64_t guest_hugetlb_bytes;
	uint64_t default_hugepage_bytes;	/* 0 = unknown (2 MiB assumed) */
	bool hugepools_known;	/* probed or given: no pool listed then means none */
	size_t n_hugepools;
	struct pp_hugepool hugepools[PP_MAX_HUGEPOOLS];
	enum pp_ksm ksm;	/* is KSM merging pages? */
};

/* The host-wide pool of pages of this size, or NULL. */
const struct pp_hugepool *pp_host_pool(const struct pp_host *h, uint64_t page_bytes);
/* The size of the huge pages behind <page> i: its size, else the host's default, else 2 MiB. */
uint64_t pp_domain_page_bytes(const struct pp_domain *d, const struct pp_host *h, size_t i);

void pp_host_free(struct pp_host *h);

#endif
