// SPDX-License-Identifier: GPL-2.0-only
/*
 * Committed is what the guests on the host (libvirt's view, this guest
 * included) take from the memory this guest's RAM comes from, so the first
 * guest decided after a restart or in a boot storm sees every other one.
 * A pool's pages in use or reserved are guest memory it already serves;
 * what the guests take beyond that comes from small pages.
 */
#include <stdio.h>
#include <string.h>

#include "prepop/hostmem.h"
#include "prepop/units.h"

static uint64_t sub0(uint64_t a, uint64_t b)
{
	return a > b ? a - b : 0;
}

static uint64_t max64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

/* Pages of a pool guests hold or were promised. */
static uint64_t pool_used(const struct pp_hugepool *p)
{
	return (sub0(p->pages, p->free) + p->reserved) * p->page_bytes;
}

void pp_commit_weigh(const struct pp_domain *d, const struct pp_host *h, struct pp_commit *c)
{
	const struct pp_hugepool *pool = NULL;

	memset(c, 0, sizeof(*c));
	if (!h->mem_total_bytes)
		return;
	c->known = true;
	if (d->hugepages) {
		c->page_bytes = pp_domain_page_bytes(d, h, 0);
		pool = pp_host_pool(h, c->page_bytes);
	}
	if (pool && pool->pages) {
		/* hugetlbfs reserves a guest's pages when QEMU maps them */
		c->hugetlb = true;
		c->capacity = pool->pages * pool->page_bytes;
		c->committed = max64(pool_used(pool), d->memory_bytes);
	} else {
		/* small pages, or huge pages with no pool: surplus pages come from RAM too */
		for (size_t i = 0; i < h->n_hugepools; i++) {
			const struct pp_hugepool *p = &h->hugepools[i];

			if (p->node >= 0)
				continue;
			c->pools_bytes += p->pages * p->page_bytes;
			c->pools_used += pool_used(p);
		}
		c->capacity = sub0(sub0(h->mem_total_bytes, c->pools_bytes), h->reserved_bytes);
		c->committed = max64(sub0(h->guest_memory_bytes, h->guest_hugetlb_bytes),
				     d->memory_bytes);
	}
	c->ratio = (double)c->committed / (double)(c->capacity ? c->capacity : 1);
}

void pp_commit_str(const struct pp_commit *c, const struct pp_host *h, char *buf, size_t len)
{
	char a[32], b[32], m[32], p[32], r[32], x[32];

	if (!c->known) {
		snprintf(buf, len, "host RAM unknown: nothing weighed");
		return;
	}
	pp_fmt_bytes(a, sizeof(a), c->committed);
	pp_fmt_bytes(b, sizeof(b), c->capacity);
	if (c->capacity)
		snprintf(x, sizeof(x), "%.2fx", c->ratio);
	else
		snprintf(x, sizeof(x), "no room at all");
	if (c->hugetlb) {
		snprintf(buf, len, "guests on %s pages take %s of that pool's %s (%s)",
			 pp_fmt_bytes(p, sizeof(p), c->page_bytes), a, b, x);
		return;
	}
	snprintf(buf, len, "guests on small pages take %s of %s (%s): RAM %s - huge page pools %s - reserve %s",
		 a, b, x, pp_fmt_bytes(m, sizeof(m), h->mem_total_bytes),
		 pp_fmt_bytes(p, sizeof(p), c->pools_bytes),
		 pp_fmt_bytes(r, sizeof(r), h->reserved_bytes));
}
