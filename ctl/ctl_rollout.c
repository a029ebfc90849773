// SPDX-License-Identifier: GPL-2.0-only
/* prepopctl rollout: is this host in, and why. */
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>

#include "ctl.h"
#include "prepop/rollout.h"

static const char *const why_names[] = {
	[PP_ROLLOUT_DISABLED] = "disabled",
	[PP_ROLLOUT_EXCLUDED_GROUP] = "excluded-group",
	[PP_ROLLOUT_INCLUDED_GROUP] = "included-group",
	[PP_ROLLOUT_IN_PERCENT] = "in-percent",
	[PP_ROLLOUT_OUT_OF_PERCENT] = "out-of-percent",
};

static int exec_rollout(const struct ctl_cmd *self, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "policy", required_argument, NULL, 'p' },
		{ "host-facts", required_argument, NULL, 'H' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 }
	};
	const char *dir = PP_DEFAULT_POLICY_DIR, *host_file = NULL;
	struct pp_rollout_result r;
	struct pp_policy *p;
	struct pp_host h;
	bool json = false;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "p:H:j", opts, NULL)) != -1) {
		switch (c) {
		case 'p': dir = optarg; break;
		case 'H': host_file = optarg; break;
		case 'j': json = true; break;
		default: return ctl_usage_error(self, "unknown option");
		}
	}
	if (optind != argc)
		return ctl_usage_error(self, "unexpected argument \"%s\"", argv[optind]);
	p = ctl_load_policy(dir);
	if (!p)
		return CTL_BAD_INPUT;
	if (ctl_load_host(host_file, &h) < 0) {
		pp_policy_free(p);
		return CTL_BAD_INPUT;
	}
	pp_rollout_check(&p->rollout, &h, &r);
	if (json) {
		json_object *o = json_object_new_object(), *g = json_object_new_array();

		for (size_t i = 0; i < h.n_groups; i++)
			json_object_array_add(g, json_object_new_string(h.groups[i]));
		json_object_object_add(o, "host_id", json_object_new_string(h.host_id));
		json_object_object_add(o, "host_id_source", json_object_new_string(h.host_id_source));
		json_object_object_add(o, "groups", g);
		json_object_object_add(o, "in_rollout", json_object_new_boolean(r.in));
		json_object_object_add(o, "why", json_object_new_string(why_names[r.why]));
		json_object_object_add(o, "bucket", json_object_new_double(r.bucket / 100.0));
		json_object_object_add(o, "percent", json_object_new_double(p->rollout.percent));
		json_object_object_add(o, "dry_run", json_object_new_boolean(p->rollout.dry_run));
		json_object_object_add(o, "explanation", json_object_new_string(r.text));
		ctl_print_json(o);
		json_object_put(o);
	} else {
		printf("host:      %s (from %s)\n", h.host_id, h.host_id_source);
		printf("rollout:   %s\n", r.in ? "in" : "out");
		printf("why:       %s\n", r.text);
		if (p->rollout.dry_run)
			printf("dry run:   yes: decisions are logged, not acted on\n");
	}
	pp_host_free(&h);
	pp_policy_free(p);
	return CTL_OK;
}

const struct ctl_cmd ctl_cmd_rollout = {
	"rollout", "[--policy DIR] [--host-facts FILE] [--json]",
	"is this host in the fleet rollout, and why (offline)",
	exec_rollout,
};
