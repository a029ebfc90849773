// SPDX-License-Identifier: GPL-2.0-only
/*
 * A fingerprint of what a populate depends on: the guest's memory layout
 * and backing as its facts say, and the outcome with the parameters it
 * populates with.  Not the host's facts: a populate done under other
 * host conditions is still done.  Not Nova's or prepop's metadata beyond
 * the flavor entry it selects: metadata changes all the time.
 */
#include <string.h>

#include "prepop/decide.h"

#define FNV_OFFSET 0xcbf29ce484222325ull
#define FNV_PRIME 0x100000001b3ull

static void mix(uint64_t *h, const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++) {
		*h ^= b[i];
		*h *= FNV_PRIME;
	}
}

static void mix_u64(uint64_t *h, uint64_t v)
{
	mix(h, &v, sizeof(v));
}

/* With its length, so "ab","c" and "a","bc" differ; NULL differs from "". */
static void mix_str(uint64_t *h, const char *s)
{
	mix_u64(h, s ? strlen(s) : ~0ull);
	if (s)
		mix(h, s, strlen(s));
}

uint64_t pp_decision_inputs(const struct pp_domain *d, const struct pp_decision *dec)
{
	const struct pp_params *p = &dec->params;
	uint64_t h = FNV_OFFSET;

	mix_str(&h, d->domain_type);
	mix_str(&h, d->machine);
	mix_u64(&h, d->vcpus);
	mix_u64(&h, d->vcpus_max);
	mix_u64(&h, d->memory_bytes);
	mix_u64(&h, d->current_memory_bytes);
	mix_u64(&h, d->has_max_memory ? d->max_memory_bytes : ~0ull);
	mix_u64(&h, d->hugepages);
	mix_u64(&h, d->n_pages);
	for (size_t i = 0; i < d->n_pages; i++)
		mix_u64(&h, d->page_bytes[i]);
	mix_u64(&h, (uint64_t)d->locked << 1 | d->nosharepages);
	mix_str(&h, d->mem_source);
	mix_str(&h, d->mem_access);
	mix_str(&h, d->mem_allocation);
	mix_u64(&h, (uint64_t)d->smm_state << 1 | d->secure_boot);
	mix_u64(&h, (uint64_t)d->balloon << 2 | d->balloon_autodeflate << 1 |
		    d->balloon_free_page_reporting);
	mix_str(&h, d->balloon_model);
	mix_u64(&h, d->n_memdevs);
	for (size_t i = 0; i < d->n_memdevs; i++) {
		const struct pp_memdev *m = &d->memdevs[i];

		mix_str(&h, m->model);
		mix_u64(&h, m->size_bytes);
		mix_u64(&h, m->has_requested ? m->requested_bytes : ~0ull);
		mix_u64(&h, m->has_current ? m->current_bytes : ~0ull);
		mix_u64(&h, (uint64_t)(int64_t)m->node);
		mix_str(&h, m->source_path);
	}
	mix_u64(&h, d->override);
	mix_str(&h, dec->flavor ? dec->flavor->name : NULL);
	mix_u64(&h, dec->mode);
	mix_u64(&h, dec->dry_run);
	mix_u64(&h, p->pop.slice_ms);
	mix_u64(&h, p->pop.gap_ms);
	mix_u64(&h, p->pop.workers);
	mix_u64(&h, p->pop.total_ms);
	mix_u64(&h, p->pop.boot_delay_ms);
	return h;
}
