// SPDX-License-Identifier: GPL-2.0-only
/*
 * The order of the checks is the contract documented in docs/policy.md:
 * fleet gates, then what cannot work, then what the flavor forces, then the
 * safety fallbacks (which a forced prepopulate still obeys), then whether
 * the guest is worth it.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "prepop/decide.h"
#include "prepop/units.h"

static const char *const reason_names[PP_R_COUNT] = {
	[PP_R_ELIGIBLE] = "eligible",
	[PP_R_FORCED_PREPOPULATE] = "forced-prepopulate",
	[PP_R_FORCED_FAULT] = "forced-fault",
	[PP_R_SMM] = "smm",
	[PP_R_OVERCOMMIT] = "overcommit",
	[PP_R_BALLOON] = "balloon",
	[PP_R_POSTCOPY] = "postcopy",
	[PP_R_TOO_FEW_VCPUS] = "too-few-vcpus",
	[PP_R_TOO_LITTLE_MEMORY] = "too-little-memory",
	[PP_R_NO_HUGEPAGES] = "no-hugepages",
	[PP_R_NOT_KVM] = "not-kvm",
	[PP_R_DISABLED] = "disabled",
	[PP_R_ROLLOUT_EXCLUDED] = "rollout-excluded",
};

const char *pp_reason_str(enum pp_reason r)
{
	return r < PP_R_COUNT ? reason_names[r] : "unknown";
}

int pp_reason_parse(const char *s)
{
	for (int i = 0; i < PP_R_COUNT; i++)
		if (!strcmp(s, reason_names[i]))
			return i;
	return -1;
}

static const char *const mig_names[] = {
	[PP_MIG_NONE] = "none",
	[PP_MIG_PRECOPY] = "precopy",
	[PP_MIG_POSTCOPY] = "postcopy",
};

const char *pp_migration_str(enum pp_migration m)
{
	return mig_names[m];
}

enum pp_migration pp_migration_parse(const char *s, bool *ok)
{
	for (size_t i = 0; i < sizeof(mig_names) / sizeof(mig_names[0]); i++)
		if (!strcmp(s, mig_names[i])) {
			*ok = true;
			return (enum pp_migration)i;
		}
	*ok = false;
	return PP_MIG_NONE;
}

static void set(struct pp_decision *o, enum pp_mode mode, enum pp_reason r,
		const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void set(struct pp_decision *o, enum pp_mode mode, enum pp_reason r,
		const char *fmt, ...)
{
	va_list ap;

	o->mode = mode;
	o->reason = r;
	va_start(ap, fmt);
	vsnprintf(o->explanation, sizeof(o->explanation), fmt, ap);
	va_end(ap);
}

static uint64_t page_bytes(const struct pp_domain *d, const struct pp_host *h,
			   size_t i)
{
	uint64_t b = i < d->n_pages ? d->page_bytes[i] : 0;

	if (b)
		return b;
	return h->default_hugepage_bytes ? h->default_hugepage_bytes : 2u << 20;
}

/* NULL if the guest's huge pages satisfy the policy, else why not. */
static const char *hugepages_unmet(const struct pp_params *p,
				   const struct pp_domain *d,
				   const struct pp_host *h, char *buf, size_t len)
{
	size_t n = d->n_pages ? d->n_pages : 1;
	char sz[32];

	if (!p->elig.require_hugepages)
		return NULL;
	if (!d->hugepages) {
		snprintf(buf, len, "guest RAM is not backed by huge pages and the policy requires them");
		return buf;
	}
	if (!p->elig.n_page_sizes)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		uint64_t b = page_bytes(d, h, i);
		bool ok = false;

		for (size_t j = 0; j < p->elig.n_page_sizes; j++)
			ok |= p->elig.page_sizes_kib[j] * 1024 == b;
		if (!ok) {
			snprintf(buf, len, "huge page size %s is not one the policy accepts",
				 pp_fmt_bytes(sz, sizeof(sz), b));
			return buf;
		}
	}
	return NULL;
}

static bool fallbacks(const struct pp_params *p, const struct pp_domain *d,
		      const struct pp_host *h, enum pp_migration mig,
		      struct pp_decision *o)
{
	char a[32], b[32];

	if (p->fb.postcopy && mig == PP_MIG_POSTCOPY) {
		set(o, PP_MODE_FAULT, PP_R_POSTCOPY,
		    "post-copy migration is running: guest pages arrive through userfaultfd faults");
		return true;
	}
	if (p->fb.smm) {
		if (d->smm_state == PP_SMM_ON) {
			set(o, PP_MODE_FAULT, PP_R_SMM,
			    "SMM is on (<smm state='on'/>): vCPUs in SMM use a separate address space");
			return true;
		}
		if (d->secure_boot) {
			set(o, PP_MODE_FAULT, PP_R_SMM,
			    "EFI secure boot needs SMM: vCPUs in SMM use a separate address space");
			return true;
		}
		if (d->smm_state == PP_SMM_DEFAULT && p->fb.smm_default_is_on) {
			set(o, PP_MODE_FAULT, PP_R_SMM,
			    "SMM left at the hypervisor default, which the policy counts as on");
			return true;
		}
	}
	if (p->fb.overcommit && h->mem_total_bytes) {
		uint64_t g = h->guest_memory_bytes > d->memory_bytes ?
			     h->guest_memory_bytes : d->memory_bytes;
		double ratio = (double)g / (double)h->mem_total_bytes;

		if (ratio > p->fb.overcommit_max_ratio) {
			set(o, PP_MODE_FAULT, PP_R_OVERCOMMIT,
			    "guest memory %s is %.2fx host RAM %s, above the policy's %.2fx",
			    pp_fmt_bytes(a, sizeof(a), g), ratio,
			    pp_fmt_bytes(b, sizeof(b), h->mem_total_bytes),
			    p->fb.overcommit_max_ratio);
			return true;
		}
	}
	if (p->fb.balloon && d->balloon &&
	    (d->balloon_free_page_reporting || d->balloon_autodeflate)) {
		set(o, PP_MODE_FAULT, PP_R_BALLOON,
		    "%s balloon with %s returns guest pages to the host",
		    d->balloon_model ? d->balloon_model : "memory",
		    d->balloon_free_page_reporting ? "free page reporting" :
						     "autodeflate");
		return true;
	}
	return false;
}

static void eligibility(const struct pp_params *p, const struct pp_domain *d,
			const struct pp_host *h, struct pp_decision *o)
{
	uint64_t min_mem = p->elig.min_memory_mib << 20;
	char a[32], b[32], why[160];

	if (d->vcpus < p->elig.min_vcpus) {
		set(o, PP_MODE_FAULT, PP_R_TOO_FEW_VCPUS,
		    "%u vCPUs is fewer than the policy's minimum of %u",
		    d->vcpus, p->elig.min_vcpus);
		return;
	}
	if (d->memory_bytes < min_mem) {
		set(o, PP_MODE_FAULT, PP_R_TOO_LITTLE_MEMORY,
		    "%s of memory is less than the policy's minimum of %s",
		    pp_fmt_bytes(a, sizeof(a), d->memory_bytes),
		    pp_fmt_bytes(b, sizeof(b), min_mem));
		return;
	}
	if (hugepages_unmet(p, d, h, why, sizeof(why))) {
		set(o, PP_MODE_FAULT, PP_R_NO_HUGEPAGES, "%s", why);
		return;
	}
	if (d->hugepages)
		snprintf(why, sizeof(why), "on %s pages",
			 pp_fmt_bytes(b, sizeof(b), page_bytes(d, h, 0)));
	else
		snprintf(why, sizeof(why), "on small pages");
	set(o, PP_MODE_PREPOPULATE, PP_R_ELIGIBLE,
	    "%u vCPUs and %s %s meet the policy's thresholds",
	    d->vcpus, pp_fmt_bytes(a, sizeof(a), d->memory_bytes), why);
}

void pp_decide(const struct pp_policy *p, const struct pp_domain *d,
	       const struct pp_host *h, enum pp_migration mig,
	       struct pp_decision *o)
{
	const struct pp_params *params;

	memset(o, 0, sizeof(*o));
	o->subject = pp_domain_match_subject(d, &o->subject_kind);
	o->flavor = pp_policy_match(p, o->subject, &o->glob);
	params = o->flavor ? &o->flavor->params : &p->defaults;
	o->params = *params;
	o->dry_run = p->rollout.dry_run;
	pp_rollout_check(&p->rollout, h, &o->rollout);

	if (o->rollout.why == PP_ROLLOUT_DISABLED) {
		set(o, PP_MODE_FAULT, PP_R_DISABLED, "%s", o->rollout.text);
		return;
	}
	if (!o->rollout.in) {
		set(o, PP_MODE_FAULT, PP_R_ROLLOUT_EXCLUDED,
		    "host is outside the rollout: %s", o->rollout.text);
		return;
	}
	if (!d->domain_type || strcmp(d->domain_type, "kvm")) {
		set(o, PP_MODE_FAULT, PP_R_NOT_KVM,
		    "domain type '%s' has no KVM stage-2 tables to fill",
		    d->domain_type ? d->domain_type : "?");
		return;
	}
	if (params->mode == PP_MODE_FAULT) {
		set(o, PP_MODE_FAULT, PP_R_FORCED_FAULT,
		    "the policy sets mode \"fault\" for %s%s%s",
		    o->flavor ? "flavor \"" : "the defaults",
		    o->flavor ? o->flavor->name : "", o->flavor ? "\"" : "");
		return;
	}
	if (fallbacks(params, d, h, mig, o))
		return;
	if (params->mode == PP_MODE_PREPOPULATE) {
		set(o, PP_MODE_PREPOPULATE, PP_R_FORCED_PREPOPULATE,
		    "the policy sets mode \"prepopulate\" for %s%s%s",
		    o->flavor ? "flavor \"" : "the defaults",
		    o->flavor ? o->flavor->name : "", o->flavor ? "\"" : "");
		return;
	}
	eligibility(params, d, h, o);
}
