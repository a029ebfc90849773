/* SPDX-License-Identifier: GPL-2.0-only */
/* JSON views of facts and decisions, shared by prepopctl and prepopd's status. */
#ifndef PREPOP_FACTS_JSON_H
#define PREPOP_FACTS_JSON_H

#include <json-c/json.h>

#include "prepop/decide.h"

json_object *pp_domain_to_json(const struct pp_domain *d);
json_object *pp_decision_to_json(const struct pp_decision *dec,
				 const struct pp_policy *p);

#endif
