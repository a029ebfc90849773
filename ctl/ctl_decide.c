// SPDX-License-Identifier: GPL-2.0-only
/* prepopctl decide: one domain, one decision, every reason spelt out. */
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "domxml.h"
#include "facts_json.h"
#include "prepop/decide.h"
#include "prepop/xalloc.h"

#define MAX_DOMAIN_XML (16 << 20)

static char *read_file(const char *path, size_t *len)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "re") : stdin;
	char *buf;

	if (!f) {
		fprintf(stderr, "%s: cannot read: %s\n", path, strerror(errno));
		return NULL;
	}
	buf = xcalloc(MAX_DOMAIN_XML + 1, 1);
	*len = fread(buf, 1, MAX_DOMAIN_XML + 1, f);
	if (ferror(f) || *len > MAX_DOMAIN_XML) {
		fprintf(stderr, "%s: cannot read: %s\n", path,
			ferror(f) ? strerror(errno) : "larger than 16 MiB");
		free(buf);
		buf = NULL;
	}
	if (f != stdin)
		fclose(f);
	return buf;
}

static void print_text(const struct pp_decision *dec, const struct pp_domain *d,
		       const struct pp_policy *p)
{
	printf("domain:    %s (%s)\n", d->name, d->uuid ? d->uuid : "no uuid");
	printf("decision:  %s (%s)\n", pp_mode_str(dec->mode), pp_reason_str(dec->reason));
	printf("why:       %s\n", dec->explanation);
	if (dec->flavor)
		printf("policy:    %s, flavor \"%s\" (glob \"%s\" matched %s \"%s\")\n",
		       dec->flavor->file, dec->flavor->name, dec->glob,
		       dec->subject_kind, dec->subject);
	else
		printf("policy:    %s (no flavor matched %s \"%s\")\n",
		       p->defaults_file, dec->subject_kind, dec->subject);
	if (dec->mode == PP_MODE_PREPOPULATE) {
		printf("populate:  slices of %u ms, %u ms apart, ", dec->params.pop.slice_ms,
		       dec->params.pop.gap_ms);
		if (dec->params.pop.workers)
			printf("%u workers, ", dec->params.pop.workers);
		else
			printf("one worker per idle vCPU, ");
		printf("at most %u ms in all, after boot wait %u ms\n", dec->params.pop.total_ms,
		       dec->params.pop.boot_delay_ms);
	}
	if (dec->dry_run)
		printf("dry run:   yes: the agent logs this decision and does not act on it\n");
}

static int exec_decide(const struct ctl_cmd *self, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "policy", required_argument, NULL, 'p' },
		{ "domain-xml", required_argument, NULL, 'd' },
		{ "host-facts", required_argument, NULL, 'H' },
		{ "migration", required_argument, NULL, 'm' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 }
	};
	const char *dir = PP_DEFAULT_POLICY_DIR, *xml_path = NULL, *host_file = NULL;
	enum pp_migration mig = PP_MIG_NONE;
	bool json = false, ok;
	struct pp_errs errs = { 0 };
	struct pp_policy *p = NULL;
	struct pp_domain d;
	struct pp_host h = { 0 };
	struct pp_decision dec;
	int c, rc = CTL_BAD_INPUT;
	size_t len;
	char *xml = NULL;

	optind = 1;
	while ((c = getopt_long(argc, argv, "p:d:H:m:j", opts, NULL)) != -1) {
		switch (c) {
		case 'p': dir = optarg; break;
		case 'd': xml_path = optarg; break;
		case 'H': host_file = optarg; break;
		case 'j': json = true; break;
		case 'm':
			mig = pp_migration_parse(optarg, &ok);
			if (!ok) {
				fprintf(stderr, "prepopctl: --migration: expected none, precopy or postcopy, got \"%s\"\n",
					optarg);
				return CTL_BAD_INPUT;
			}
			break;
		default:
			return ctl_usage_error(self, "unknown option");
		}
	}
	if (!xml_path || optind != argc)
		return ctl_usage_error(self, "%s", xml_path ? "unexpected argument" :
				       "--domain-xml FILE is required");
	xml = read_file(xml_path, &len);
	if (!xml)
		return CTL_BAD_INPUT;
	if (pp_domain_parse(xml, len, xml_path, &d, &errs) < 0) {
		pp_errs_print(&errs, stderr);
		goto out;
	}
	p = ctl_load_policy(dir);
	if (p && ctl_load_host(host_file, &h) == 0) {
		pp_decide(p, &d, &h, mig, &dec);
		if (json) {
			json_object *o = pp_decision_to_json(&dec, p);

			json_object_object_add(o, "facts", pp_domain_to_json(&d));
			ctl_print_json(o);
			json_object_put(o);
		} else {
			print_text(&dec, &d, p);
		}
		rc = CTL_OK;
	}
	pp_domain_free(&d);
out:
	pp_host_free(&h);
	pp_policy_free(p);
	pp_errs_free(&errs);
	free(xml);
	return rc;
}

const struct ctl_cmd ctl_cmd_decide = {
	"decide",
	"[--policy DIR] --domain-xml FILE|- [--host-facts FILE] [--migration none|precopy|postcopy] [--json]",
	"what prepop decides for a domain's XML, and why (offline)",
	exec_decide,
};
