/* SPDX-License-Identifier: GPL-2.0-only */
/* Fleet rollout gates: kill switch, host groups, percent by a stable host hash. */
#ifndef PREPOP_ROLLOUT_H
#define PREPOP_ROLLOUT_H

#include <stdbool.h>
#include <stdint.h>

#include "prepop/facts.h"
#include "prepop/policy.h"

#define PP_ROLLOUT_BUCKETS 10000u

enum pp_rollout_why {
	PP_ROLLOUT_DISABLED,		/* kill switch: enabled = false */
	PP_ROLLOUT_EXCLUDED_GROUP,
	PP_ROLLOUT_INCLUDED_GROUP,
	PP_ROLLOUT_IN_PERCENT,
	PP_ROLLOUT_OUT_OF_PERCENT,
};

struct pp_rollout_result {
	bool in;
	enum pp_rollout_why why;
	uint32_t bucket;	/* 0 .. PP_ROLLOUT_BUCKETS-1 */
	const char *group;	/* the group that decided, if any */
	char text[256];		/* one line for humans */
};

/* Stable across hosts, runs and versions: a documented function of salt and id. */
uint32_t pp_rollout_bucket(const char *salt, const char *host_id);
void pp_rollout_check(const struct pp_rollout *r, const struct pp_host *h,
		      struct pp_rollout_result *out);

#endif
