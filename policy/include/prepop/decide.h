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
	PP_R_VIRTIO_MEM,
	PP_R_FILE_BACKED,
	PP_R_KSM,
	PP_R_OVERRIDE_FAULT,
	PP_R_OVERRIDE_PREPOPULATE,
	PP_R_COUNT
};

enum pp_migration {
	PP_MIG_NONE,
	PP_MIG_PRECOPY,		/* pre-copy incoming or completed */
	PP_MIG_POSTCOPY,	/* post-copy running: pages arrive by userfaultfd */
};

/* One rule of the chain, in the order checked. */
enum pp_step_result {
	PP_STEP_PASS,		/* checked: does not apply */
	PP_STEP_OFF,		/* a fallback the policy switched off */
	PP_STEP_DECIDED,	/* applies: decided here; the chain ends */
};

#define PP_MAX_STEPS 20

struct pp_step {
	const char *rule;	/* "rollout", "smm", "overcommit", ... (docs/policy.md) */
	enum pp_step_result result;
	char detail[320];	/* what was checked, with the values */
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
	size_t n_steps;
	struct pp_step steps[PP_MAX_STEPS];	/* the rule chain, up to the rule that decided */
};

const char *pp_reason_str(enum pp_reason r);
/* -1 if unknown */
int pp_reason_parse(const char *s);
enum pp_migration pp_migration_parse(const char *s, bool *ok);
const char *pp_migration_str(enum pp_migration m);
const char *pp_step_result_str(enum pp_step_result r);	/* "pass", "off", "decided" */

void pp_decide(const struct pp_policy *p, const struct pp_domain *d,
	       const struct pp_host *h, enum pp_migration mig,
	       struct pp_decision *out);

/*
 * A fingerprint of a decision's inputs that a populate depends on: the
 * guest's memory layout and backing, the flavor entry, the mode and the
 * populate parameters (not the host's facts, not other metadata).  Equal
 * fingerprints: populating again would do the same work again.
 */
uint64_t pp_decision_inputs(const struct pp_domain *d, const struct pp_decision *dec);

#endif
