// SPDX-License-Identifier: GPL-2.0-only
/* prepopctl status: what prepopd believes, per guest the last populate. */
#include <stdio.h>
#include <string.h>

#include "ctl.h"

static void print_status(json_object *st)
{
	json_object *pol = ctl_get(st, "policy"), *doms = ctl_get(st, "domains");

	printf("prepopd:   pid %s, %s\n", ctl_str(st, "pid"), ctl_str(st, "status"));
	printf("libvirt:   %s (%s)\n", ctl_str(st, "uri"),
	       json_object_get_boolean(ctl_get(st, "connected")) ? "connected" : "disconnected");
	if (pol) {
		printf("policy:    %s, generation %s\n", ctl_str(pol, "dir"), ctl_str(pol, "generation"));
		if (ctl_get(pol, "reload_error"))
			printf("           the last reload FAILED and the old policy is in force:\n%s",
			       ctl_str(pol, "reload_error"));
	}
	if (!doms)
		return;
	printf("%-24s %-14s %-12s %-20s %-14s %s\n", "DOMAIN", "STATE", "MODE", "REASON", "FLAVOR",
	       "OVERRIDE");
	for (size_t i = 0; i < json_object_array_length(doms); i++) {
		json_object *d = json_object_array_get_idx(doms, i);

		printf("%-24s %-14s %-12s %-20s %-14s %s\n", ctl_str(d, "name"), ctl_str(d, "state"),
		       ctl_str(d, "mode"), ctl_str(d, "reason"), ctl_str(d, "flavor"),
		       ctl_str(d, "override"));
		if (ctl_get(d, "error"))
			printf("  error: %s\n", ctl_str(d, "error"));
		if (ctl_get(d, "populate"))
			ctl_print_populate(ctl_get(d, "populate"), "  ");
	}
}

static int exec_status(const struct ctl_cmd *self, int argc, char **argv)
{
	/* --json: the status document, as STATE_DIR/status.json */
	static const struct ctl_ask q = { "status", false, NULL, "status", print_status, NULL };

	return ctl_ask(self, argc, argv, &q);
}

const struct ctl_cmd ctl_cmd_status = {
	"status", "[--socket PATH | --state-dir DIR] [--json]",
	"what prepopd believes: connection, policy, per guest its mode, override and last populate",
	exec_status,
};
