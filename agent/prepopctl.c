// SPDX-License-Identifier: GPL-2.0-only
/* prepopctl: the operator's view of prepop's decisions. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "hostprobe.h"
#include "prepop/hostfacts.h"

static void usage(FILE *out)
{
	fputs("usage: prepopctl decide [--policy DIR] --domain-xml FILE [--host-facts FILE]\n"
	      "                        [--migration none|precopy|postcopy] [--json]\n"
	      "       prepopctl policy check [DIR] [--json]\n"
	      "       prepopctl rollout [--policy DIR] [--host-facts FILE] [--json]\n"
	      "       prepopctl status [--state-dir DIR] [--json]\n"
	      "\n"
	      "decide       explain what prepop decides for a domain, and why\n"
	      "policy check validate a policy directory; print the effective policy per flavor\n"
	      "rollout      is this host in the fleet rollout, and why\n"
	      "status       what prepopd believes: connection, policy, domains and decisions\n"
	      "\n"
	      "Defaults: --policy " PP_DEFAULT_POLICY_DIR ", --host-facts " PP_DEFAULT_HOST_FILE
	      " (optional),\nhost identity from " PP_MACHINE_ID_FILE ". Exit 0 on an answer, 2 on bad input.\n",
	      out);
}

struct pp_policy *ctl_load_policy(const char *dir)
{
	struct pp_errs errs = { 0 };
	struct pp_policy *p = pp_policy_load(dir, &errs);

	if (!p) {
		pp_errs_print(&errs, stderr);
		fprintf(stderr, "prepopctl: policy %s: %zu error%s\n", dir, errs.n,
			errs.n == 1 ? "" : "s");
	}
	pp_errs_free(&errs);
	return p;
}

int ctl_load_host(const char *host_file, struct pp_host *h)
{
	struct pp_errs errs = { 0 };
	const char *mid = getenv("PREPOP_MACHINE_ID_FILE");
	int r = pp_host_load(host_file ? host_file : PP_DEFAULT_HOST_FILE,
			     host_file != NULL, mid ? mid : PP_MACHINE_ID_FILE,
			     h, &errs);

	if (r < 0)
		pp_errs_print(&errs, stderr);
	else
		pp_host_probe(h, "/proc/meminfo");
	pp_errs_free(&errs);
	return r;
}

void ctl_print_json(struct json_object *o)
{
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
					       JSON_C_TO_STRING_SPACED |
					       JSON_C_TO_STRING_NOSLASHESCAPE));
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return CTL_BAD_INPUT;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") ||
	    !strcmp(argv[1], "help")) {
		usage(stdout);
		return CTL_OK;
	}
	if (!strcmp(argv[1], "--version")) {
		puts("prepopctl " PREPOP_VERSION);
		return CTL_OK;
	}
	if (!strcmp(argv[1], "decide"))
		return ctl_decide(argc - 1, argv + 1);
	if (!strcmp(argv[1], "policy"))
		return ctl_policy(argc - 1, argv + 1);
	if (!strcmp(argv[1], "rollout"))
		return ctl_rollout(argc - 1, argv + 1);
	if (!strcmp(argv[1], "status"))
		return ctl_status(argc - 1, argv + 1);
	fprintf(stderr, "prepopctl: unknown command \"%s\"\n", argv[1]);
	usage(stderr);
	return CTL_BAD_INPUT;
}
