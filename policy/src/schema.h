/* SPDX-License-Identifier: GPL-2.0-only */
/* The policy file schema: one table drives validation, merging and printing. */
#ifndef PREPOP_SCHEMA_H
#define PREPOP_SCHEMA_H

#include <json-c/json.h>

#include "prepop/policy.h"

enum pp_file_kind { PP_FILE_DEFAULTS, PP_FILE_FLAVOR };

void pp_params_builtin(struct pp_params *p);
void pp_rollout_builtin(struct pp_rollout *r);
void pp_rollout_free(struct pp_rollout *r);

/*
 * Validate a parsed file against its schema and apply it over *params (and
 * *rollout for defaults, *flavor for a flavor file).  Errors are appended;
 * returns how many were added.
 */
size_t pp_schema_apply(json_object *root, enum pp_file_kind kind,
		       const char *file, struct pp_params *params,
		       struct pp_rollout *rollout, struct pp_flavor *flavor,
		       struct pp_errs *errs);

#endif
