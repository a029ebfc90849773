// SPDX-License-Identifier: GPL-2.0-only
/*
 * prepopctl reload: prepopd loads the policy and host facts again; an
 * invalid new policy is reported, error by error, and the old one stays in
 * force.
 */
#include <stdio.h>

#include "ctl.h"

static void print_reload(json_object *a)
{
	printf("prepopd: policy %s, generation %s in force; every guest decided again\n",
	       ctl_str(a, "policy_dir"), ctl_str(a, "generation"));
}

/* each error as FILE: PATH: message, after the summary ctl_call printed */
static void print_errors(json_object *a)
{
	json_object *errs = ctl_get(a, "errors");

	for (size_t i = 0; errs && i < json_object_array_length(errs); i++)
		fprintf(stderr, "%s\n", ctl_str(json_object_array_get_idx(errs, i), "text"));
}

static int exec_reload(const struct ctl_cmd *self, int argc, char **argv)
{
	static const struct ctl_ask q = { "reload", false, NULL, NULL, print_reload, print_errors };

	return ctl_ask(self, argc, argv, &q);
}

const struct ctl_cmd ctl_cmd_reload = {
	"reload", "[--socket PATH | --state-dir DIR] [--json]",
	"load the policy again; an invalid one is reported and the old one kept",
	exec_reload,
};
