// SPDX-License-Identifier: GPL-2.0-only
#include <libvirt/virterror.h>
#include <stdlib.h>
#include <string.h>

#include "census.h"
#include "clock.h"
#include "hostprobe.h"
#include "log.h"
#include "prepop/xalloc.h"

struct guest {
	char uuid[VIR_UUID_STRING_BUFLEN];
	uint64_t bytes;
	uint64_t at_ns;		/* when its size was learnt */
	bool huge;		/* on huge pages, as its last decision read it */
};

static struct {
	struct guest *v;
	size_t n;
	uint64_t listed_ns;	/* 0: never listed */
} cs;

void census_reset(void)
{
	free(cs.v);
	memset(&cs, 0, sizeof(cs));
}

static struct guest *find(const char *uuid)
{
	for (size_t i = 0; uuid && i < cs.n; i++)
		if (!strcmp(cs.v[i].uuid, uuid))
			return &cs.v[i];
	return NULL;
}

/* The running guests now: sizes known and fresh are kept, the others asked. */
static int relist(virConnectPtr c, uint64_t now)
{
	virDomainPtr *doms = NULL;
	struct guest *v;
	int n = virConnectListAllDomains(c, &doms, VIR_CONNECT_LIST_DOMAINS_ACTIVE);

	if (n < 0) {
		log_msg(LOG_WARNING, "overcommit check: cannot list the running guests: %s",
			virGetLastErrorMessage());
		return -1;
	}
	v = xcalloc((size_t)n, sizeof(*v));
	for (int i = 0; i < n; i++) {
		struct guest *old;

		if (virDomainGetUUIDString(doms[i], v[i].uuid) < 0)
			v[i].uuid[0] = '\0';
		old = v[i].uuid[0] ? find(v[i].uuid) : NULL;
		if (old && now - old->at_ns < CENSUS_SIZE_NS) {
			v[i] = *old;
		} else {
			v[i].bytes = virDomainGetMaxMemory(doms[i]) * 1024ull;	/* 0: unknown */
			v[i].at_ns = now;
		}
		virDomainFree(doms[i]);
	}
	free(doms);
	free(cs.v);
	cs.v = v;
	cs.n = (size_t)n;
	cs.listed_ns = now;
	return 0;
}

uint64_t census_guest_memory(virConnectPtr c, const char *uuid, uint64_t memory_bytes,
			     bool hugepages, uint64_t *hugetlb_bytes)
{
	uint64_t now = mono_ns(), sum = 0;
	struct guest *g;

	*hugetlb_bytes = 0;
	if (!c)
		return 0;
	/* libvirt not answering: what was known last, if anything, beats nothing */
	if ((!cs.listed_ns || now - cs.listed_ns >= CENSUS_LIST_NS || (uuid && !find(uuid))) &&
	    relist(c, now) < 0 && !cs.n)
		return 0;
	g = find(uuid);
	if (g && memory_bytes) {	/* its own XML was just read: the freshest size */
		g->bytes = memory_bytes;
		g->at_ns = now;
		g->huge = hugepages;
	}
	for (size_t i = 0; i < cs.n; i++) {
		sum += cs.v[i].bytes;
		if (cs.v[i].huge)
			*hugetlb_bytes += cs.v[i].bytes;
	}
	return sum;
}

void census_host_facts(virConnectPtr c, const struct pp_host *loaded, const char *uuid,
		       uint64_t memory_bytes, bool hugepages, struct pp_host *h)
{
	const char *root = getenv("PREPOP_HOST_ROOT");
	uint64_t huge;
	uint64_t guests = census_guest_memory(c, uuid, memory_bytes, hugepages, &huge);

	*h = *loaded;
	pp_host_probe(h, root ? root : "");
	if (guests) {
		h->guest_memory_bytes = guests;
		h->guest_hugetlb_bytes = huge;
	}
}
