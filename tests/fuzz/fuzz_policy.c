// SPDX-License-Identifier: GPL-2.0-only
/* libFuzzer: one policy file's text, as a defaults file and as a flavor file. */
#include <stddef.h>
#include <stdint.h>

#include "prepop/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pp_errs errs = { 0 };

	pp_policy_check_text((const char *)data, size, "fuzz.json", true, &errs);
	pp_policy_check_text((const char *)data, size, "fuzz.json", false, &errs);
	pp_errs_free(&errs);
	return 0;
}
