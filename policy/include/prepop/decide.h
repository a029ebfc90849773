/* SPDX-License-Identifier: GPL-2.0-only */
/* The decision: a pure function of policy, guest, host and migration state. */
#ifndef PREPOP_DECIDE_H
#define PREPOP_DECIDE_H

#include "prepop/facts.h"
#include "prepop/policy.h"
#include "prepop/rollout.h"

enum pp_reason {
	PP_R_ELIGIBLE,
	PP_R_FORCED_PREPOPULATE,
	PP_R_FORCED_FAULT,
	PP_R_SMM,
	PP_R_OVERCOMMIT,
	PP_R_BALLOON,
	PP_R_POSTCOPY,
	PP_R_TOO_FEW_VCPUS,
	PP_R_TOO_LITTLE_MEMORY,
	PP_R_NO_HUGEPAGES,
	PP_R_NOT_KVM,
	PP_R_DISABLED,
	PP_R_ROLLOUT_EXCLUDED,
	PP_R_COUNT
};

enum pp_migration {
	PP_MIG_NONE,
	PP_MIG_PRECOPY,		/* pre-copy incoming or completed */
	PP_MIG_POSTCOPY,	/* post-copy running: pages arrive by userfaultfd */
};

struct pp_decision {
	enum pp_mode mode;	/* PP_MODE_PREPOPULATE or PP_MODE_FAULT */
	enum pp_reason reason;
	bool dry_run;		/* decided, but the agent must not act */
	char explanation[320];
	const struct pp_flavor *flavor;	/* NULL: the defaults applied */
	const char *glob;	/* the glob that matched */
	const char *subject;	/* the name matched */
	const char *subject_kind;	/* "nova-flavor", "prepop-flavor", "domain-name" */
	struct pp_params params;	/* effective populate parameters */
	struct pp_rollout_result rollout;
};

const char *pp_reason_str(enum pp_reason r);
/* -1 if unknown */
int pp_reason_parse(const char *s);
enum pp_migration pp_migration_parse(const char *s, bool *ok);
const char *pp_migration_str(enum pp_migration m);

void pp_decide(const struct pp_policy *p, const struct pp_domain *d,
	       const struct pp_host *h, enum pp_migration mig,
	       struct pp_decision *out);

#endif
