// SPDX-License-Identifier: GPL-2.0-only
/* prepopctl policy check: every error at once, else the effective policy. */
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "ctl.h"

static json_object *effective(const struct pp_policy *p)
{
	json_object *o = json_object_new_object(), *fl = json_object_new_array();

	json_object_object_add(o, "directory", json_object_new_string(p->dir));
	json_object_object_add(o, "rollout", pp_rollout_to_json(&p->rollout));
	json_object_object_add(o, "defaults", pp_params_to_json(&p->defaults));
	for (size_t i = 0; i < p->n_flavors; i++) {
		const struct pp_flavor *f = &p->flavors[i];
		json_object *e = pp_params_to_json(&f->params);
		json_object *m = json_object_new_array();

		for (size_t j = 0; j < f->n_match; j++)
			json_object_array_add(m, json_object_new_string(f->match[j]));
		json_object_object_add(e, "flavor", json_object_new_string(f->name));
		json_object_object_add(e, "file", json_object_new_string(f->file));
		json_object_object_add(e, "match", m);
		json_object_array_add(fl, e);
	}
	json_object_object_add(o, "flavors", fl);
	return o;
}

static int exec_policy(const struct ctl_cmd *self, int argc, char **argv)
{
	const char *dir = PP_DEFAULT_POLICY_DIR;
	struct pp_policy *p;
	json_object *o;
	bool json = false;
	int i = 1;

	if (argc < 2 || strcmp(argv[1], "check"))
		return ctl_usage_error(self, "the only subcommand is check");
	for (i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			json = true;
		else if (argv[i][0] == '-')
			return ctl_usage_error(self, "unknown option %s", argv[i]);
		else
			dir = argv[i];
	}
	p = ctl_load_policy(dir);
	if (!p)
		return CTL_BAD_INPUT;
	o = effective(p);
	if (!json)
		printf("policy %s is valid: defaults and %zu flavor%s\n", dir,
		       p->n_flavors, p->n_flavors == 1 ? "" : "s");
	ctl_print_json(o);
	json_object_put(o);
	pp_policy_free(p);
	return CTL_OK;
}

const struct ctl_cmd ctl_cmd_policy = {
	"policy", "check [DIR] [--json]",
	"validate a policy directory; print the effective policy per flavor (offline)",
	exec_policy,
};
