/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Host memory as the overcommit fallback weighs it: a guest's RAM comes
 * either from a huge page pool or from what the pools leave of RAM, less
 * the host's reserve; the guests already there draw on the same.
 */
#ifndef PREPOP_HOSTMEM_H
#define PREPOP_HOSTMEM_H

#include <stdbool.h>
#include <stdint.h>

#include "prepop/facts.h"

struct pp_commit {
	bool known;		/* false: host RAM unknown, nothing weighed */
	bool hugetlb;		/* weighed against the pool of page_bytes pages */
	uint64_t page_bytes;
	uint64_t committed;	/* guest memory drawing on it, this guest included */
	uint64_t capacity;	/* what it can draw on */
	uint64_t pools_bytes;	/* small pages: RAM set aside in every huge page pool */
	uint64_t pools_used;	/* small pages: guest memory the pools already serve */
	double ratio;		/* committed / capacity (capacity 0: committed / 1 byte) */
};

void pp_commit_weigh(const struct pp_domain *d, const struct pp_host *h, struct pp_commit *c);
/* One line: "guests on small pages commit 300 GiB of 250 GiB (RAM 512 GiB - pools 256 GiB - reserve 6 GiB)". */
void pp_commit_str(const struct pp_commit *c, const struct pp_host *h, char *buf, size_t len);

#endif
