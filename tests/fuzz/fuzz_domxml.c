// SPDX-License-Identifier: GPL-2.0-only
/* libFuzzer: domain XML through the classifier, the JSON view and a decision. */
#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "domxml.h"
#include "facts_json.h"
#include "prepop/decide.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct pp_policy *policy;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct pp_errs errs = { 0 };

	(void)argc;
	(void)argv;
	policy = pp_policy_load(PP_POLICY_D, &errs);
	if (!policy) {
		pp_errs_print(&errs, stderr);
		abort();
	}
	pp_errs_free(&errs);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pp_errs errs = { 0 };
	struct pp_host host = { .host_id = (char *)"fuzz", .mem_total_bytes = 1ull << 38 };
	struct pp_decision dec;
	struct pp_domain d;

	if (pp_domain_parse((const char *)data, size, "fuzz.xml", &d, &errs) == 0) {
		json_object *o = pp_domain_to_json(&d);

		json_object_to_json_string(o);
		json_object_put(o);
		pp_decide(policy, &d, &host, PP_MIG_NONE, &dec);
		pp_domain_free(&d);
	}
	pp_errs_free(&errs);
	return 0;
}
