/* SPDX-License-Identifier: GPL-2.0-only */
/* JSON views of facts and decisions, shared by prepopctl and prepopd's status. */
#ifndef PREPOP_FACTS_JSON_H
#define PREPOP_FACTS_JSON_H

#include <json-c/json.h>

#include "prepop/decide.h"

json_object *pp_domain_to_json(const struct pp_domain *d);
/* The decision: mode, reason, explanation, policy entry, populate parameters, "rules". */
json_object *pp_decision_to_json(const struct pp_decision *dec,
				 const struct pp_policy *p);
/* The rule chain: [{rule, result, detail}], in the order checked. */
json_object *pp_steps_to_json(const struct pp_decision *dec);
/* Host facts as decided from: identity, groups, memory, huge page pools, KSM. */
json_object *pp_host_to_json(const struct pp_host *h);

#endif
