// SPDX-License-Identifier: GPL-2.0-only
/*
 * prepopctl populate | fault | auto DOMAIN: the operator's override of the
 * policy's mode for one guest, kept by prepopd across restarts; auto
 * clears it.  The fleet's gates and the safety fallbacks still apply to
 * populate (prepopctl explain shows which rule decided).
 */
#include <stdio.h>

#include "ctl.h"

static void print_override(json_object *a)
{
	json_object *st = ctl_get(a, "status");
	const char *dom = ctl_str(a, "domain");

	printf("%s: override %s (was %s)\n", dom,
	       ctl_get(a, "override") ? ctl_str(a, "override") : "cleared: the policy decides",
	       ctl_get(a, "previous") ? ctl_str(a, "previous") : "none");
	if (st && ctl_get(st, "mode"))
		printf("%s: %s (%s), %s\n", dom, ctl_str(st, "mode"), ctl_str(st, "reason"),
		       ctl_str(st, "state"));
	else if (!json_object_get_boolean(ctl_get(a, "running")))
		printf("%s: not running: applies once it starts\n", dom);
	else
		printf("%s: %s: decided once it runs free\n", dom, ctl_str(st, "state"));
}

static int exec_override(const struct ctl_cmd *self, int argc, char **argv)
{
	struct ctl_ask q = { "override", true, NULL, NULL, print_override, NULL };

	q.mode = self->name[0] == 'p' ? "prepopulate" : self->name;	/* populate, fault, auto */
	return ctl_ask(self, argc, argv, &q);
}

#define ONLINE "DOMAIN [--socket PATH | --state-dir DIR] [--json]"

const struct ctl_cmd ctl_cmd_populate = {
	"populate", ONLINE,
	"override: populate this guest whatever its flavor says (kept across restarts)",
	exec_override,
};

const struct ctl_cmd ctl_cmd_fault = {
	"fault", ONLINE,
	"override: leave this guest in KVM's fault mode (kept across restarts)",
	exec_override,
};

const struct ctl_cmd ctl_cmd_auto = {
	"auto", ONLINE,
	"clear the override: the policy decides again",
	exec_override,
};
