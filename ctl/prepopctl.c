// SPDX-License-Identifier: GPL-2.0-only
/* prepopctl: the operator's view of prepop's decisions, and its levers. */
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "prepop/hostfacts.h"

static const struct ctl_cmd *const table[] = {
	&ctl_cmd_status, &ctl_cmd_explain, &ctl_cmd_populate, &ctl_cmd_fault, &ctl_cmd_auto,
	&ctl_cmd_reload, &ctl_cmd_decide, &ctl_cmd_policy, &ctl_cmd_rollout,
};
#define NCMDS (sizeof(table) / sizeof(table[0]))

static void usage(FILE *out)
{
	fputs("usage:\n", out);
	for (size_t i = 0; i < NCMDS; i++)
		fprintf(out, "  prepopctl %s %s\n", table[i]->name, table[i]->args);
	fputs("  prepopctl help | --help | --version\n\n", out);
	for (size_t i = 0; i < NCMDS; i++)
		fprintf(out, "%-9s %s\n", table[i]->name, table[i]->help);
	fputs("\nstatus, explain, populate, fault, auto and reload ask the running prepopd, through its\n"
	      "control socket (--socket PATH, or --state-dir DIR for DIR/control; default\n"
	      "/run/prepop/control; root or the prepop group only).  decide, policy check and rollout\n"
	      "evaluate the policy themselves.  Defaults: --policy " PP_DEFAULT_POLICY_DIR
	      ", --host-facts\n" PP_DEFAULT_HOST_FILE " (optional), host identity from " PP_MACHINE_ID_FILE ".\n"
	      "Exit 0 with an answer, 1 if prepopd cannot be reached or could not do it, 2 on bad input\n"
	      "(usage, files, an unknown domain, an invalid policy), 3 if the control socket refused.\n",
	      out);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return CTL_BAD_INPUT;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return CTL_OK;
	}
	if (!strcmp(argv[1], "--version")) {
		puts("prepopctl " PREPOP_VERSION);
		return CTL_OK;
	}
	for (size_t i = 0; i < NCMDS; i++)
		if (!strcmp(argv[1], table[i]->name))
			return table[i]->exec(table[i], argc - 1, argv + 1);
	fprintf(stderr, "prepopctl: unknown command \"%s\"\n", argv[1]);
	usage(stderr);
	return CTL_BAD_INPUT;
}
