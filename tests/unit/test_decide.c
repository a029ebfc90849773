// SPDX-License-Identifier: GPL-2.0-only
/* The decision table: every reason code, from plain structs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prepop/decide.h"
#include "testutil.h"

#define GiB (1ull << 30)
#define MiB (1ull << 20)

static const char *const flavors[] = {
	"strict.json", "{ \"flavor\": \"strict\", \"match\": [\"strict.*\"], \"eligibility\": { \"require_hugepages\": true, \"page_sizes_kib\": [2048] } }",
	"anyhuge.json", "{ \"flavor\": \"anyhuge\", \"match\": [\"anyhuge.*\"], \"eligibility\": { \"require_hugepages\": true } }",
	"off.json", "{ \"flavor\": \"off\", \"match\": [\"off.*\"], \"mode\": \"fault\" }",
	"force.json", "{ \"flavor\": \"force\", \"match\": [\"force.*\"], \"mode\": \"prepopulate\" }",
	"smmd.json", "{ \"flavor\": \"smmd\", \"match\": [\"smmd.*\"], \"fallbacks\": { \"smm\": { \"default_is_on\": true } } }",
	"nofb.json", "{ \"flavor\": \"nofb\", \"match\": [\"nofb.*\"], \"fallbacks\": { \"smm\": { \"enabled\": false }, \"overcommit\": { \"enabled\": false }, \"balloon\": { \"enabled\": false }, \"postcopy\": { \"enabled\": false } } }",
	"ratio.json", "{ \"flavor\": \"ratio\", \"match\": [\"ratio.*\"], \"fallbacks\": { \"overcommit\": { \"max_ratio\": 1.5 } } }",
};

static struct pp_policy *policy(const char *defaults)
{
	const char *files[2 + sizeof(flavors) / sizeof(flavors[0]) + 1];
	struct pp_errs errs = { 0 };
	struct pp_policy *p;
	size_t n = 0;
	char *dir;

	files[n++] = "defaults.json";
	files[n++] = defaults;
	for (size_t i = 0; i < sizeof(flavors) / sizeof(flavors[0]); i++)
		files[n++] = flavors[i];
	files[n] = NULL;
	dir = tu_policy_dir(files);
	p = pp_policy_load(dir, &errs);
	if (!p)
		tu_dump_errs(&errs);
	assert_non_null(p);
	pp_errs_free(&errs);
	tu_rmtree(dir);
	return p;
}

static uint64_t page_2m[] = { 2 * MiB };
static uint64_t page_1g[] = { GiB };
static char groups_canary[] = "canary", groups_noprep[] = "no-prepop";

struct row {
	const char *what;
	/* domain */
	const char *name;
	const char *type;
	unsigned vcpus;
	uint64_t mem;
	int pages;		/* 0 none, 1 default size, 2 = 2M, 3 = 1G */
	enum pp_smm_state smm;
	bool secure_boot;
	int balloon;		/* 0 none, 1 plain, 2 fpr, 3 autodeflate */
	/* host */
	uint64_t host_mem, guest_mem, host_default_page;
	char *group;
	enum pp_migration mig;
	/* policy variant: 0 base, 1 disabled, 2 percent 0, 3 dry run */
	int variant;
	enum pp_mode mode;
	enum pp_reason reason;
};

#define BIG "vm", "kvm", 16, 64 * GiB

static const struct row rows[] = {
	{ "eligible", BIG, 2, PP_SMM_DEFAULT, false, 0, 512 * GiB, 128 * GiB, 0, NULL, PP_MIG_NONE, 0, PP_MODE_PREPOPULATE, PP_R_ELIGIBLE },
	{ "eligible on small pages", BIG, 0, PP_SMM_OFF, false, 1, 512 * GiB, 0, 0, NULL, PP_MIG_NONE, 0, PP_MODE_PREPOPULATE, PP_R_ELIGIBLE },
	{ "eligible after pre-copy", BIG, 2, PP_SMM_DEFAULT, false, 0, 512 * GiB, 0, 0, NULL, PP_MIG_PRECOPY, 0, PP_MODE_PREPOPULATE, PP_R_ELIGIBLE },
	{ "too few vCPUs", "vm", "kvm", 4, 64 * GiB, 2, PP_SMM_DEFAULT, false, 0, 512 * GiB, 0, 0, NULL, PP_MIG_NONE, 0, PP_MODE_FAULT, PP_R_TOO_FEW_VCPUS },
	{ "too little memory", "vm", "kvm", 16, 8 * GiB, 2, PP_SMM_DEFAULT, false, 0, 512 * GiB, 0, 0, NULL, PP_MIG_NONE, 0, PP_MODE_FAULT, PP_R_TOO_LITTLE_MEMORY },
	{ "memory exactly at the minimum", "vm", "kvm", 8, 16 * GiB, 0, PP_SMM_DEFAULT, false, 0, 512 * GiB, 0, 0, NULL, PP_MIG_NONE, 0, PP_MODE_PREPOPULATE, PP_R_ELIGIBLE },
	{ "huge pages required, none", "strict.a", "kvm", 16, 64 * GiB, 0, PP_SMM_DEFAULT, false, 0, 512 * GiB, 0, 0, NULL, PP_MIG_NONE, 0, PP_MODE_FAULT, PP_R_NO_HUGEPAGES },
	{ "huge pages required, wrong size", "strict.a", "kvm", 16, 64 * GiB, 3, PP_SMM_DEFAULT, false, 0, 512 * GiB, 0, 0, NULL, PP_MIG_NONE, 0, PP_MODE_FAULT, PP_R_NO_HUGEPAGES },
	{ "huge pages required, 2M", "strict.a", "kvm", 16, 64 * GiB, 2, PP_SMM_DEFAULT, false, 0, 512 * GiB, 0, 0, NULL, PP_MIG_NONE, 0, PP_MODE_PREPOPULATE, PP_R_ELIGIBLE },
	{ "default size is the host's 2M", "strict.a", "kvm", 16, 64 * GiB, 1, PP_SMM_DEFAULT, false, 0, 512 * GiB, 0, 2 * MiB, NULL, PP_MIG_NONE, 0, PP_MODE_PREPOPULATE, PP_R_ELIGIBLE },
	{ "default size is the host's 1G", "strict.a", "kvm", 16, 64 * GiB, 1, PP_SMM_DEFAULT, false, 0, 512 * GiB, 0, GiB, NULL, PP_MIG_NONE, 0, PP_MODE_FAULT, PP_R_NO_HUGEPAGES },
	{ "any huge page size", "anyhuge.a", "kvm", 16, 64 * GiB, 3, PP_SMM_DEFAULT, false, 0, 512 * GiB, 0, 0, NULL, PP_MIG_NONE, 0, PP_MODE_PREPOPULATE, PP_R_ELIGIBLE },
	{ "forced fault", "off.a", "kvm", 16, 64 * GiB, 2, PP_SMM_DEFAULT, false, 0, 512 * GiB, 0, 0, NULL, PP_MIG_NONE, 0, PP_MODE_FAULT, PP_R_FORCED_FAULT },
	{ "forced prepopulate, small guest", "force.a", "kvm", 1, 1 * GiB, 0, PP_SMM_DEFAULT, false, 0, 512 * GiB, 0, 0, NULL, PP_MIG_NONE, 0, PP_MODE_PREPOPULATE, PP_R_FORCED_PREPOPULATE },
	{ "forced prepopulate obeys SMM", "force.a", "kvm", 16, 64 * GiB, 2, PP_SMM_ON, false, 0, 512 * GiB, 0, 0, NULL, PP_MIG_NONE, 0, PP_MODE_FAULT, PP_R_SMM },
	{ "forced prepopulate obeys post-copy", "force.a", "kvm", 16, 64 * GiB, 2, PP_SMM_DEFAULT, false, 0, 512 * GiB, 0, 0, NULL, PP_MIG_POSTCOPY, 0, PP_MODE_FAULT, PP_R_POSTCOPY },
	{ "SMM on", BIG, 2, PP_SMM_ON, false, 0, 512 * GiB, 0, 0, NULL, PP_MIG_NONE, 0, PP_MODE_FAULT, PP_R_SMM },
	{ "secure boot implies SMM", BIG, 2, PP_SMM_DEFAULT, true, 0, 512 * GiB, 0, 0, NULL, PP_MIG_NONE, 0, PP_MODE_FAULT, PP_R_SMM },
	{ "SMM default counted as on", "smmd.a", "kvm", 16, 64 * GiB, 2, PP_SMM_DEFAULT, false, 0, 512 * GiB, 0, 0, NULL, PP_MIG_NONE, 0, PP_MODE_FAULT, PP_R_SMM },
	{ "SMM off with default counted", "smmd.a", "kvm", 16, 64 * GiB, 2, PP_SMM_OFF, false, 0, 512 * GiB, 0, 0, NULL, PP_MIG_NONE, 0, PP_MODE_PREPOPULATE, PP_R_ELIGIBLE },
	{ "overcommit", BIG, 2, PP_SMM_DEFAULT, false, 0, 512 * GiB, 600 * GiB, 0, NULL, PP_MIG_NONE, 0, PP_MODE_FAULT, PP_R_OVERCOMMIT },
	{ "guest alone larger than the host", "vm", "kvm", 16, 1024 * GiB, 2, PP_SMM_DEFAULT, false, 0, 512 * GiB, 0, 0, NULL, PP_MIG_NONE, 0, PP_MODE_FAULT, PP_R_OVERCOMMIT },
	{ "overcommit within a 1.5 ratio", "ratio.a", "kvm", 16, 64 * GiB, 2, PP_SMM_DEFAULT, false, 0, 512 * GiB, 600 * GiB, 0, NULL, PP_MIG_NONE, 0, PP_MODE_PREPOPULATE, PP_R_ELIGIBLE },
	{ "unknown host RAM: no overcommit check", BIG, 2, PP_SMM_DEFAULT, false, 0, 0, 600 * GiB, 0, NULL, PP_MIG_NONE, 0, PP_MODE_PREPOPULATE, PP_R_ELIGIBLE },
	{ "balloon with free page reporting", BIG, 2, PP_SMM_DEFAULT, false, 2, 512 * GiB, 0, 0, NULL, PP_MIG_NONE, 0, PP_MODE_FAULT, PP_R_BALLOON },
	{ "balloon with autodeflate", BIG, 2, PP_SMM_DEFAULT, false, 3, 512 * GiB, 0, 0, NULL, PP_MIG_NONE, 0, PP_MODE_FAULT, PP_R_BALLOON },
	{ "post-copy", BIG, 2, PP_SMM_DEFAULT, false, 0, 512 * GiB, 0, 0, NULL, PP_MIG_POSTCOPY, 0, PP_MODE_FAULT, PP_R_POSTCOPY },
	{ "fallbacks switched off", "nofb.a", "kvm", 16, 64 * GiB, 2, PP_SMM_ON, true, 2, 512 * GiB, 900 * GiB, 0, NULL, PP_MIG_POSTCOPY, 0, PP_MODE_PREPOPULATE, PP_R_ELIGIBLE },
	{ "not KVM", "vm", "qemu", 16, 64 * GiB, 2, PP_SMM_DEFAULT, false, 0, 512 * GiB, 0, 0, NULL, PP_MIG_NONE, 0, PP_MODE_FAULT, PP_R_NOT_KVM },
	{ "not KVM, even forced", "force.a", "qemu", 16, 64 * GiB, 2, PP_SMM_DEFAULT, false, 0, 512 * GiB, 0, 0, NULL, PP_MIG_NONE, 0, PP_MODE_FAULT, PP_R_NOT_KVM },
	{ "kill switch", BIG, 2, PP_SMM_DEFAULT, false, 0, 512 * GiB, 0, 0, NULL, PP_MIG_NONE, 1, PP_MODE_FAULT, PP_R_DISABLED },
	{ "kill switch beats an included group", BIG, 2, PP_SMM_DEFAULT, false, 0, 512 * GiB, 0, 0, groups_canary, PP_MIG_NONE, 1, PP_MODE_FAULT, PP_R_DISABLED },
	{ "outside a 0% rollout", BIG, 2, PP_SMM_DEFAULT, false, 0, 512 * GiB, 0, 0, NULL, PP_MIG_NONE, 2, PP_MODE_FAULT, PP_R_ROLLOUT_EXCLUDED },
	{ "canary group inside a 0% rollout", BIG, 2, PP_SMM_DEFAULT, false, 0, 512 * GiB, 0, 0, groups_canary, PP_MIG_NONE, 2, PP_MODE_PREPOPULATE, PP_R_ELIGIBLE },
	{ "excluded group in a 100% rollout", BIG, 2, PP_SMM_DEFAULT, false, 0, 512 * GiB, 0, 0, groups_noprep, PP_MIG_NONE, 0, PP_MODE_FAULT, PP_R_ROLLOUT_EXCLUDED },
	{ "dry run still decides", BIG, 2, PP_SMM_DEFAULT, false, 0, 512 * GiB, 0, 0, NULL, PP_MIG_NONE, 3, PP_MODE_PREPOPULATE, PP_R_ELIGIBLE },
};

#define ROLLOUT_GROUPS "\"include_groups\": [\"canary\"], \"exclude_groups\": [\"no-prepop\"]"
static const char *const variants[] = {
	"{ \"rollout\": { " ROLLOUT_GROUPS " } }",
	"{ \"rollout\": { \"enabled\": false, " ROLLOUT_GROUPS " } }",
	"{ \"rollout\": { \"percent\": 0, " ROLLOUT_GROUPS " } }",
	"{ \"rollout\": { \"dry_run\": true, " ROLLOUT_GROUPS " } }",
};

static void build(const struct row *r, struct pp_domain *d, struct pp_host *h)
{
	memset(d, 0, sizeof(*d));
	memset(h, 0, sizeof(*h));
	d->name = (char *)r->name;
	d->domain_type = (char *)r->type;
	d->vcpus = d->vcpus_max = r->vcpus;
	d->memory_bytes = d->current_memory_bytes = r->mem;
	d->hugepages = r->pages != 0;
	if (r->pages >= 2) {
		d->n_pages = 1;
		d->page_bytes = r->pages == 2 ? page_2m : page_1g;
	}
	d->smm_state = r->smm;
	d->secure_boot = r->secure_boot;
	d->balloon = r->balloon != 0;
	d->balloon_model = (char *)"virtio";
	d->balloon_free_page_reporting = r->balloon == 2;
	d->balloon_autodeflate = r->balloon == 3;
	h->host_id = (char *)"host-under-test";
	h->mem_total_bytes = r->host_mem;
	h->guest_memory_bytes = r->guest_mem;
	h->default_hugepage_bytes = r->host_default_page;
	if (r->group) {
		h->groups = (char **)&r->group;
		h->n_groups = 1;
	}
}

static void test_table(void **state)
{
	struct pp_policy *p[4];
	bool seen[PP_R_COUNT] = { false };

	(void)state;
	for (int v = 0; v < 4; v++)
		p[v] = policy(variants[v]);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];
		struct pp_decision dec;
		struct pp_domain d;
		struct pp_host h;

		build(r, &d, &h);
		pp_decide(p[r->variant], &d, &h, r->mig, &dec);
		if (dec.mode != r->mode || dec.reason != r->reason)
			fail_msg("%s: got %s/%s (%s), want %s/%s", r->what,
				 pp_mode_str(dec.mode), pp_reason_str(dec.reason),
				 dec.explanation, pp_mode_str(r->mode),
				 pp_reason_str(r->reason));
		assert_true(strlen(dec.explanation) > 10);
		assert_int_equal(dec.dry_run, r->variant == 3);
		seen[dec.reason] = true;
	}
	for (int i = 0; i < PP_R_COUNT; i++)
		if (!seen[i])
			fail_msg("reason %s is not covered by the table", pp_reason_str(i));
	for (int v = 0; v < 4; v++)
		pp_policy_free(p[v]);
}

static void test_match_subject_and_params(void **state)
{
	struct pp_policy *p = policy(variants[0]);
	struct pp_decision dec;
	struct pp_domain d;
	struct pp_host h;

	(void)state;
	build(&rows[0], &d, &h);
	d.name = (char *)"off.by-name";
	pp_decide(p, &d, &h, PP_MIG_NONE, &dec);
	assert_string_equal(dec.subject_kind, "domain-name");
	assert_int_equal(dec.reason, PP_R_FORCED_FAULT);

	d.prepop_flavor = (char *)"force.by-prepop";	/* beats the name */
	pp_decide(p, &d, &h, PP_MIG_NONE, &dec);
	assert_string_equal(dec.subject_kind, "prepop-flavor");
	assert_string_equal(dec.flavor->name, "force");

	d.nova_flavor = (char *)"m5.nothing";	/* beats both; no flavor matches */
	pp_decide(p, &d, &h, PP_MIG_NONE, &dec);
	assert_string_equal(dec.subject_kind, "nova-flavor");
	assert_null(dec.flavor);
	assert_int_equal(dec.reason, PP_R_ELIGIBLE);
	assert_int_equal(dec.params.pop.slice_ms, 50);
	assert_string_equal(pp_reason_str(PP_R_ROLLOUT_EXCLUDED), "rollout-excluded");
	assert_int_equal(pp_reason_parse("postcopy"), PP_R_POSTCOPY);
	assert_int_equal(pp_reason_parse("nope"), -1);
	pp_policy_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_match_subject_and_params),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
