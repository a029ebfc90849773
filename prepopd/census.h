/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The host's facts at the moment of a decision: the loaded ones (host.json),
 * what the host says of itself (RAM, huge page pools, KSM: hostprobe.h),
 * and the memory of every guest libvirt runs, asked of libvirt and not
 * summed from the guests decided so far, so that the first guests decided
 * after a restart or in a boot storm see all the others.
 */
#ifndef PREPOP_CENSUS_H
#define PREPOP_CENSUS_H

#include <libvirt/libvirt.h>
#include <stdint.h>

#include "prepop/facts.h"

/* The list of running guests is asked again when older than this, or when it lacks the guest decided. */
#define CENSUS_LIST_NS 250000000ull
/* A guest's size is asked again when older than this (memory hot-plugged into another guest). */
#define CENSUS_SIZE_NS 30000000000ull

/*
 * The sum of every active domain's <memory> (virDomainListAllDomains, then
 * virDomainGetMaxMemory for the guests it has not asked yet: neither takes
 * a libvirt job, so neither waits behind one).  uuid (may be NULL) is the
 * guest being decided, memory_bytes its size from its own XML and
 * hugepages its backing; *hugetlb_bytes: what the guests known to be on
 * huge pages take of the sum.  If libvirt cannot be asked, the last sum
 * known; 0 if none.
 */
uint64_t census_guest_memory(virConnectPtr c, const char *uuid, uint64_t memory_bytes,
			     bool hugepages, uint64_t *hugetlb_bytes);
/* Drop everything known (tests; a new connection). */
void census_reset(void);
/*
 * h = loaded (a shallow copy: loaded keeps owning its strings), then the
 * probe under $PREPOP_HOST_ROOT (default: this host) for what loaded leaves
 * unknown, then libvirt's guest memory (which beats the file's).
 */
void census_host_facts(virConnectPtr c, const struct pp_host *loaded, const char *uuid,
		       uint64_t memory_bytes, bool hugepages, struct pp_host *h);

#endif
