// SPDX-License-Identifier: GPL-2.0-only
/*
 * bucket = mix64(fnv1a64(salt "\n" host_id)) mod 10000, where mix64 is the
 * splitmix64 finaliser (FNV alone spreads sequential ids poorly in its low
 * bits).  A host is in a percent rollout when bucket < percent * 100, so
 * raising the percent only ever adds hosts; changing the salt reshuffles.
 */
#include <stdio.h>
#include <string.h>

#include "prepop/rollout.h"

static uint64_t fnv1a64(uint64_t h, const char *s)
{
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ull;
	}
	return h;
}

static uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

uint32_t pp_rollout_bucket(const char *salt, const char *host_id)
{
	uint64_t h = 0xcbf29ce484222325ull;

	h = fnv1a64(h, salt);
	h = fnv1a64(h, "\n");
	h = fnv1a64(h, host_id);
	return (uint32_t)(mix64(h) % PP_ROLLOUT_BUCKETS);
}

static const char *host_in(char *const *groups, size_t n,
			   const struct pp_host *h)
{
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < h->n_groups; j++)
			if (!strcmp(groups[i], h->groups[j]))
				return groups[i];
	return NULL;
}

void pp_rollout_check(const struct pp_rollout *r, const struct pp_host *h,
		      struct pp_rollout_result *out)
{
	memset(out, 0, sizeof(*out));
	out->bucket = pp_rollout_bucket(r->salt, h->host_id);
	if (!r->enabled) {
		out->why = PP_ROLLOUT_DISABLED;
		snprintf(out->text, sizeof(out->text),
			 "prepop is disabled fleet-wide (rollout.enabled = false)");
		return;
	}
	out->group = host_in(r->exclude_groups, r->n_exclude, h);
	if (out->group) {
		out->why = PP_ROLLOUT_EXCLUDED_GROUP;
		snprintf(out->text, sizeof(out->text),
			 "host is in excluded group \"%s\"", out->group);
		return;
	}
	out->group = host_in(r->include_groups, r->n_include, h);
	if (out->group) {
		out->in = true;
		out->why = PP_ROLLOUT_INCLUDED_GROUP;
		snprintf(out->text, sizeof(out->text),
			 "host is in included group \"%s\"", out->group);
		return;
	}
	/* percent has at most 0.01 resolution in buckets */
	out->in = out->bucket < (uint32_t)(r->percent * 100.0 + 0.5);
	out->why = out->in ? PP_ROLLOUT_IN_PERCENT : PP_ROLLOUT_OUT_OF_PERCENT;
	snprintf(out->text, sizeof(out->text),
		 "host bucket %u.%02u %s rollout percent %g",
		 out->bucket / 100, out->bucket % 100,
		 out->in ? "is below" : "is not below", r->percent);
}
