/* SPDX-License-Identifier: GPL-2.0-only */
/* Plain facts the decision is made from: a guest and the host it runs on. */
#ifndef PREPOP_FACTS_H
#define PREPOP_FACTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum pp_smm_state { PP_SMM_DEFAULT, PP_SMM_ON, PP_SMM_OFF };

struct pp_memdev {
	char *model;		/* dimm, nvdimm, virtio-mem, virtio-pmem */
	uint64_t size_bytes;
	uint64_t requested_bytes;	/* virtio-mem only */
	bool has_requested;
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

struct pp_host {
	char *host_id;		/* host.json host_id, else /etc/machine-id */
	char *host_id_source;	/* where host_id came from */
	size_t n_groups;
	char **groups;		/* groups, then labels as "key=value" */
	uint64_t mem_total_bytes;	/* 0 = unknown */
	uint64_t guest_memory_bytes;	/* committed to all guests; 0 = unknown */
	uint64_t default_hugepage_bytes;	/* 0 = unknown (2 MiB assumed) */
};

void pp_host_free(struct pp_host *h);

#endif
