/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef PREPOP_JSONFILE_H
#define PREPOP_JSONFILE_H

#include <json-c/json.h>

#include "prepop/errors.h"

#define MAX_POLICY_FILE (1 << 20)

/* Strict parse of a whole buffer; NULL with an error naming line and column. */
json_object *pp_json_parse(const char *text, size_t len, const char *file,
			   struct pp_errs *errs);
/* Read and parse a file (at most 1 MiB); NULL with an error. */
json_object *pp_json_load(const char *path, struct pp_errs *errs);

#endif
