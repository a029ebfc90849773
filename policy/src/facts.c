// SPDX-License-Identifier: GPL-2.0-only
#include <stdlib.h>
#include <string.h>

#include "prepop/facts.h"

const char *pp_domain_match_subject(const struct pp_domain *d, const char **kind)
{
	const char *k = "domain-name", *s = d->name;

	if (d->nova_flavor) {
		k = "nova-flavor";
		s = d->nova_flavor;
	} else if (d->prepop_flavor) {
		k = "prepop-flavor";
		s = d->prepop_flavor;
	}
	if (kind)
		*kind = k;
	return s;
}

const char *pp_domain_flavor(const struct pp_domain *d)
{
	return d->nova_flavor ? d->nova_flavor : d->prepop_flavor;
}

void pp_domain_free(struct pp_domain *d)
{
	free(d->name);
	free(d->uuid);
	free(d->domain_type);
	free(d->machine);
	free(d->page_bytes);
	free(d->mem_source);
	free(d->mem_access);
	free(d->mem_allocation);
	free(d->balloon_model);
	for (size_t i = 0; i < d->n_memdevs; i++) {
		free(d->memdevs[i].model);
		free(d->memdevs[i].source_path);
	}
	free(d->memdevs);
	free(d->nova_flavor);
	free(d->prepop_flavor);
	for (size_t i = 0; i < d->n_extra_specs; i++) {
		free(d->extra_specs[i].name);
		free(d->extra_specs[i].value);
	}
	free(d->extra_specs);
	memset(d, 0, sizeof(*d));
}

uint64_t pp_domain_page_bytes(const struct pp_domain *d, const struct pp_host *h, size_t i)
{
	uint64_t b = i < d->n_pages ? d->page_bytes[i] : 0;

	if (b)
		return b;
	return h->default_hugepage_bytes ? h->default_hugepage_bytes : 2u << 20;
}

const struct pp_hugepool *pp_host_pool(const struct pp_host *h, uint64_t page_bytes)
{
	for (size_t i = 0; i < h->n_hugepools; i++)
		if (h->hugepools[i].node < 0 && h->hugepools[i].page_bytes == page_bytes)
			return &h->hugepools[i];
	return NULL;
}

void pp_host_free(struct pp_host *h)
{
	free(h->host_id);
	free(h->host_id_source);
	for (size_t i = 0; i < h->n_groups; i++)
		free(h->groups[i]);
	free(h->groups);
	memset(h, 0, sizeof(*h));
}
