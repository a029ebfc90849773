/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Why a domain is in the mode it is in: every input fact, the policy file
 * and flavor entry, the rule chain in order, the outcome with its reason
 * code, what is in force and the operator's override (prepopctl explain).
 */
#ifndef PREPOP_EXPLAIN_H
#define PREPOP_EXPLAIN_H

#include <json-c/json.h>

struct agent;
struct adom;

/* The explain document; NULL with *err (allocated) if d cannot be evaluated now. */
json_object *explain_json(struct agent *a, struct adom *d, char **err);

#endif
