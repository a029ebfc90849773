/* SPDX-License-Identifier: GPL-2.0-only */
/* The policy and host facts in force, and their reloads: all or nothing. */
#ifndef PREPOP_POLICYSET_H
#define PREPOP_POLICYSET_H

#include "prepop/errors.h"
#include "prepop/facts.h"
#include "prepop/policy.h"

struct policyset {
	struct pp_policy *policy;	/* NULL until the first load succeeds */
	struct pp_host host;		/* the host facts file's */
	unsigned generation;		/* loads that took */
	unsigned failures;		/* loads that did not */
	char *error;			/* the last load's errors if it failed, else NULL */
};

/*
 * Load policy_dir and host_file (absent: fine), and swap them in only if
 * every part is valid; else keep what is in force, keep the errors (one a
 * line) and append them to errs.  0 or -1.
 */
int policyset_load(struct policyset *ps, const char *policy_dir, const char *host_file,
		   struct pp_errs *errs);
void policyset_free(struct policyset *ps);

#endif
