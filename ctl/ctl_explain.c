// SPDX-License-Identifier: GPL-2.0-only
/*
 * prepopctl explain DOMAIN: every input fact, the policy file and flavor
 * entry, the rule chain in order, the outcome and its reason code, what is
 * in force and the operator's override; prepopd decides it afresh to say.
 */
#include <stdio.h>
#include <string.h>

#include "ctl.h"

static const char *acts_text(const char *acts)
{
	if (!strcmp(acts, "populate"))
		return "populates it (when it runs free of other libvirt jobs)";
	if (!strcmp(acts, "observe-only"))
		return "observe-only: decides and reports, populates nothing";
	if (!strcmp(acts, "dry-run"))
		return "dry run: logs the decision, does not act on it";
	return "leaves it in KVM's fault mode";
}

static void print_policy(json_object *e, json_object *dec)
{
	json_object *pol = ctl_get(dec, "policy"), *p = ctl_get(e, "policy");

	printf("policy:    %s, generation %s: ", ctl_str(p, "dir"), ctl_str(p, "generation"));
	if (ctl_get(pol, "flavor"))
		printf("%s, flavor \"%s\" (glob \"%s\" matched %s \"%s\")\n", ctl_str(pol, "file"),
		       ctl_str(pol, "flavor"), ctl_str(pol, "glob"), ctl_str(pol, "matched_on"),
		       ctl_str(pol, "matched"));
	else
		printf("%s (no flavor matched %s \"%s\")\n", ctl_str(pol, "file"),
		       ctl_str(pol, "matched_on"), ctl_str(pol, "matched"));
}

static void print_rules(json_object *rules)
{
	printf("rules, in the order checked:\n");
	for (size_t i = 0; rules && i < json_object_array_length(rules); i++) {
		json_object *r = json_object_array_get_idx(rules, i);

		printf("  %2zu. %-18s %-8s %s\n", i + 1, ctl_str(r, "rule"), ctl_str(r, "result"),
		       ctl_str(r, "detail"));
	}
}

static void print_explain(json_object *e)
{
	json_object *st = ctl_get(e, "status"), *dec = ctl_get(e, "decision");
	json_object *ovr = ctl_get(e, "override"), *pop = ctl_get(dec, "populate");

	printf("domain:    %s (%s)\n", ctl_str(e, "domain"), ctl_str(e, "uuid"));
	printf("state:     %s, decided %s time%s", ctl_str(st, "state"), ctl_str(st, "decisions"),
	       strcmp(ctl_str(st, "decisions"), "1") ? "s" : "");
	if (ctl_get(st, "decided_at"))
		printf(", last at %s with policy generation %s", ctl_str(st, "decided_at"),
		       ctl_str(st, "generation"));
	printf("\nin force:  ");
	if (ctl_get(st, "mode"))
		printf("%s (%s)\n", ctl_str(st, "mode"), ctl_str(st, "reason"));
	else
		printf("nothing decided yet\n");
	if (ovr)
		printf("override:  %s, set %s by the operator (%s); `prepopctl auto %s` clears it\n",
		       ctl_str(ovr, "mode"), ctl_str(ovr, "since"), ctl_str(ovr, "file"),
		       ctl_str(e, "domain"));
	else
		printf("override:  none\n");
	print_policy(e, dec);
	printf("migration: %s\n", ctl_str(e, "migration"));
	printf("facts (the domain's live XML):\n");
	ctl_print_members(ctl_get(e, "facts"), "  ");
	printf("host facts:\n");
	ctl_print_members(ctl_get(e, "host"), "  ");
	print_rules(ctl_get(dec, "rules"));
	printf("outcome:   %s (%s): %s\n", ctl_str(dec, "mode"), ctl_str(dec, "reason"),
	       ctl_str(dec, "explanation"));
	if (ctl_get(st, "mode") && (strcmp(ctl_str(st, "mode"), ctl_str(dec, "mode")) ||
				    strcmp(ctl_str(st, "reason"), ctl_str(dec, "reason"))))
		printf("           (in force is still %s (%s): it is decided again once it runs free)\n",
		       ctl_str(st, "mode"), ctl_str(st, "reason"));
	printf("prepopd:   %s\n", acts_text(ctl_str(e, "acts")));
	if (!strcmp(ctl_str(dec, "mode"), "prepopulate") && pop)
		printf("populate:  slices of %s ms, %s ms apart, %s workers (0: one per vCPU), at most %s ms in all, after a boot wait %s ms\n",
		       ctl_str(pop, "slice_budget_ms"), ctl_str(pop, "slice_gap_ms"), ctl_str(pop, "workers"),
		       ctl_str(pop, "total_budget_ms"), ctl_str(pop, "boot_delay_ms"));
	if (ctl_get(st, "populate"))
		ctl_print_populate(ctl_get(st, "populate"), "last ");
	if (ctl_get(st, "error"))
		printf("error:     %s\n", ctl_str(st, "error"));
}

static int exec_explain(const struct ctl_cmd *self, int argc, char **argv)
{
	static const struct ctl_ask q = { "explain", true, NULL, "explain", print_explain, NULL };

	return ctl_ask(self, argc, argv, &q);
}

const struct ctl_cmd ctl_cmd_explain = {
	"explain", "DOMAIN [--socket PATH | --state-dir DIR] [--json]",
	"why a running guest is in its mode: its facts, the policy entry, the rule chain, the outcome",
	exec_explain,
};
