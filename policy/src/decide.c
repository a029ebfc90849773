// SPDX-License-Identifier: GPL-2.0-only
/*
 * The order of the rules is the contract documented in docs/policy.md:
 * fleet gates, then what cannot work, then what the flavor forces, then the
 * safety fallbacks (which a forced prepopulate still obeys), then whether
 * the guest is worth it.  Every rule checked leaves a step in the decision,
 * so `prepopctl explain` shows the chain up to the rule that decided.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "prepop/decide.h"
#include "prepop/hostmem.h"
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
	[PP_R_VIRTIO_MEM] = "virtio-mem",
	[PP_R_FILE_BACKED] = "file-backed",
	[PP_R_KSM] = "ksm",
	[PP_R_OVERRIDE_FAULT] = "override-fault",
	[PP_R_OVERRIDE_PREPOPULATE] = "override-prepopulate",
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

const char *pp_step_result_str(enum pp_step_result r)
{
	return r == PP_STEP_PASS ? "pass" : r == PP_STEP_OFF ? "off" : "decided";
}

/* What a rule sees. */
struct in {
	const struct pp_params *p;
	const struct pp_domain *d;
	const struct pp_host *h;
	enum pp_migration mig;
};

/* A rule: PP_STEP_DECIDED after set(), else a note of what it checked in note. */
struct rule {
	const char *name;
	enum pp_step_result (*check)(const struct in *in, struct pp_decision *o,
				     char *note, size_t len);
};

static enum pp_step_result set(struct pp_decision *o, enum pp_mode mode, enum pp_reason r,
			       const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static enum pp_step_result set(struct pp_decision *o, enum pp_mode mode, enum pp_reason r,
			       const char *fmt, ...)
{
	va_list ap;

	o->mode = mode;
	o->reason = r;
	va_start(ap, fmt);
	vsnprintf(o->explanation, sizeof(o->explanation), fmt, ap);
	va_end(ap);
	return PP_STEP_DECIDED;
}

static enum pp_step_result note(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static enum pp_step_result note(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	return PP_STEP_PASS;
}

static enum pp_step_result off(char *buf, size_t len, const char *key)
{
	snprintf(buf, len, "not checked: fallbacks.%s.enabled is false", key);
	return PP_STEP_OFF;
}

static const char *entry(const struct pp_decision *o, char *buf, size_t len)
{
	if (o->flavor)
		snprintf(buf, len, "flavor \"%s\"", o->flavor->name);
	else
		snprintf(buf, len, "the defaults");
	return buf;
}

static enum pp_step_result r_kill_switch(const struct in *in, struct pp_decision *o,
					 char *n, size_t len)
{
	(void)in;
	if (o->rollout.why == PP_ROLLOUT_DISABLED)
		return set(o, PP_MODE_FAULT, PP_R_DISABLED, "%s", o->rollout.text);
	return note(n, len, "rollout.enabled is true");
}

static enum pp_step_result r_rollout(const struct in *in, struct pp_decision *o,
				     char *n, size_t len)
{
	(void)in;
	if (!o->rollout.in)
		return set(o, PP_MODE_FAULT, PP_R_ROLLOUT_EXCLUDED,
			   "host is outside the rollout: %s", o->rollout.text);
	return note(n, len, "%s", o->rollout.text);
}

static enum pp_step_result r_domain_type(const struct in *in, struct pp_decision *o,
					 char *n, size_t len)
{
	const char *t = in->d->domain_type;

	if (!t || strcmp(t, "kvm"))
		return set(o, PP_MODE_FAULT, PP_R_NOT_KVM,
			   "domain type '%s' has no KVM stage-2 tables to fill", t ? t : "?");
	return note(n, len, "domain type 'kvm'");
}

static enum pp_step_result r_override(const struct in *in, struct pp_decision *o,
				      char *n, size_t len)
{
	switch (in->d->override) {
	case PP_MODE_FAULT:
		return set(o, PP_MODE_FAULT, PP_R_OVERRIDE_FAULT,
			   "an operator set fault mode for this guest (prepopctl fault; prepopctl auto clears it)");
	case PP_MODE_PREPOPULATE:
		return note(n, len, "an operator asked to populate this guest (prepopctl populate): the policy's mode and thresholds give way, the safety fallbacks do not");
	default:
		return note(n, len, "no operator override");
	}
}

static enum pp_step_result r_mode_fault(const struct in *in, struct pp_decision *o,
					char *n, size_t len)
{
	char e[160];

	if (in->d->override == PP_MODE_PREPOPULATE)
		return note(n, len, "mode \"%s\" for %s, overridden by the operator",
			    pp_mode_str(in->p->mode), entry(o, e, sizeof(e)));
	if (in->p->mode == PP_MODE_FAULT)
		return set(o, PP_MODE_FAULT, PP_R_FORCED_FAULT,
			   "the policy sets mode \"fault\" for %s", entry(o, e, sizeof(e)));
	return note(n, len, "mode \"%s\" for %s", pp_mode_str(in->p->mode), entry(o, e, sizeof(e)));
}

static enum pp_step_result r_postcopy(const struct in *in, struct pp_decision *o,
				      char *n, size_t len)
{
	if (!in->p->fb.postcopy)
		return off(n, len, "postcopy");
	if (in->mig == PP_MIG_POSTCOPY)
		return set(o, PP_MODE_FAULT, PP_R_POSTCOPY,
			   "post-copy migration is running: guest pages arrive through userfaultfd faults");
	return note(n, len, "migration: %s", pp_migration_str(in->mig));
}

static enum pp_step_result r_smm(const struct in *in, struct pp_decision *o,
				 char *n, size_t len)
{
	const struct pp_domain *d = in->d;

	if (!in->p->fb.smm)
		return off(n, len, "smm");
	if (d->smm_state == PP_SMM_ON)
		return set(o, PP_MODE_FAULT, PP_R_SMM,
			   "SMM asked for (<smm state='on'/>): the firmware's SMIs gather every vCPU in SMM, and a vCPU the populate holds keeps them waiting up to a slice");
	if (d->secure_boot)
		return set(o, PP_MODE_FAULT, PP_R_SMM,
			   "EFI secure boot keeps its variable store in SMM: each SMI gathers every vCPU, and a vCPU the populate holds keeps them waiting up to a slice");
	if (d->smm_state == PP_SMM_OFF)
		return note(n, len, "SMM off (<smm state='off'/>)");
	if (in->p->fb.smm_default_is_on)
		return set(o, PP_MODE_FAULT, PP_R_SMM,
			   "no <smm> element: QEMU turns SMM on under KVM, and the policy counts that as on (default_is_on)");
	return note(n, len, "no <smm> element: SMM is on by QEMU's default but not asked for by the firmware (default_is_on is false)");
}

static enum pp_step_result r_overcommit(const struct in *in, struct pp_decision *o,
					char *n, size_t len)
{
	struct pp_commit c;
	char what[200];

	if (!in->p->fb.overcommit)
		return off(n, len, "overcommit");
	pp_commit_weigh(in->d, in->h, &c);
	pp_commit_str(&c, in->h, what, sizeof(what));
	if (c.known && c.ratio > in->p->fb.overcommit_max_ratio)
		return set(o, PP_MODE_FAULT, PP_R_OVERCOMMIT, "%s, above the policy's %.2fx",
			   what, in->p->fb.overcommit_max_ratio);
	if (!c.known)
		return note(n, len, "%s", what);
	return note(n, len, "%s, within the policy's %.2fx", what, in->p->fb.overcommit_max_ratio);
}

static enum pp_step_result r_balloon(const struct in *in, struct pp_decision *o,
				     char *n, size_t len)
{
	const struct pp_domain *d = in->d;
	const char *model = d->balloon_model ? d->balloon_model : "memory";
	char a[32], b[32];

	if (!in->p->fb.balloon)
		return off(n, len, "balloon");
	if (!d->balloon)
		return note(n, len, "no balloon device");
	if (d->current_memory_bytes < d->memory_bytes)
		return set(o, PP_MODE_FAULT, PP_R_BALLOON,
			   "%s balloon inflated to leave the guest %s of %s: a populate would allocate the pages the balloon took back",
			   model, pp_fmt_bytes(a, sizeof(a), d->current_memory_bytes),
			   pp_fmt_bytes(b, sizeof(b), d->memory_bytes));
	if (d->balloon_free_page_reporting)
		return set(o, PP_MODE_FAULT, PP_R_BALLOON,
			   "%s balloon with free page reporting returns the guest's free pages to the host: a populate would allocate them again",
			   model);
	if (d->balloon_autodeflate)
		return set(o, PP_MODE_FAULT, PP_R_BALLOON,
			   "%s balloon with autodeflate is in use to take memory back from the guest", model);
	return note(n, len, "%s balloon deflated (currentMemory = memory), no free page reporting, no autodeflate",
		    model);
}

static uint64_t plugged(const struct pp_memdev *m)
{
	return m->has_current ? m->current_bytes : m->has_requested ? m->requested_bytes : 0;
}

static enum pp_step_result r_virtio_mem(const struct in *in, struct pp_decision *o,
					char *n, size_t len)
{
	const struct pp_domain *d = in->d;
	char a[32], b[32];
	size_t found = 0;

	for (size_t i = 0; i < d->n_memdevs; i++) {
		const struct pp_memdev *m = &d->memdevs[i];

		if (strcmp(m->model, "virtio-mem"))
			continue;
		found++;
		if (plugged(m) < m->size_bytes)
			return set(o, PP_MODE_FAULT, PP_R_VIRTIO_MEM,
				   "virtio-mem device %zu has %s of its %s unplugged: a populate would allocate memory the guest was not given",
				   i, pp_fmt_bytes(a, sizeof(a), m->size_bytes - plugged(m)),
				   pp_fmt_bytes(b, sizeof(b), m->size_bytes));
	}
	if (found)
		return note(n, len, "%zu virtio-mem device%s, fully plugged", found, found == 1 ? "" : "s");
	return note(n, len, "no virtio-mem device");
}

static enum pp_step_result r_file_backed(const struct in *in, struct pp_decision *o,
					 char *n, size_t len)
{
	const struct pp_domain *d = in->d;

	/* with <hugepages> libvirt maps the file from hugetlbfs: huge pages, no disk */
	if (d->mem_source && !strcmp(d->mem_source, "file") && !d->hugepages)
		return set(o, PP_MODE_FAULT, PP_R_FILE_BACKED,
			   "guest RAM is a file (<memoryBacking><source type='file'/>): a populate would dirty every page of it");
	for (size_t i = 0; i < d->n_memdevs; i++) {
		const struct pp_memdev *m = &d->memdevs[i];

		if (!strcmp(m->model, "nvdimm") || !strcmp(m->model, "virtio-pmem"))
			return set(o, PP_MODE_FAULT, PP_R_FILE_BACKED,
				   "%s device %zu is the file %s: a populate would dirty every page of it",
				   m->model, i, m->source_path ? m->source_path : "(no path)");
	}
	return note(n, len, "guest RAM is %s%s; no nvdimm or virtio-pmem device",
		    d->hugepages ? "huge pages" : d->mem_source ? d->mem_source : "anonymous",
		    d->hugepages || !d->mem_source ? "" : " memory");
}

static enum pp_step_result r_ksm(const struct in *in, struct pp_decision *o,
				 char *n, size_t len)
{
	const struct pp_domain *d = in->d;

	if (!in->p->fb.ksm)
		return off(n, len, "ksm");
	if (d->nosharepages)
		return note(n, len, "<nosharepages/>: KSM may not merge the guest's RAM");
	if (d->hugepages)
		return note(n, len, "huge pages: KSM merges small pages only");
	/* KSM skips shared mappings; QEMU maps memfd and file RAM shared unless told private */
	if ((d->mem_access && !strcmp(d->mem_access, "shared")) ||
	    (d->mem_source && (!strcmp(d->mem_source, "memfd") || !strcmp(d->mem_source, "file")) &&
	     !(d->mem_access && !strcmp(d->mem_access, "private"))))
		return note(n, len, "shared memory (vhost-user, virtiofs): KSM does not merge it");
	switch (in->h->ksm) {
	case PP_KSM_RUNNING:
		return set(o, PP_MODE_FAULT, PP_R_KSM,
			   "KSM is merging (/sys/kernel/mm/ksm/run is 1) and the guest lets it (no <nosharepages/>): a populate's write faults would unshare every merged page");
	case PP_KSM_UNKNOWN:
		return note(n, len, "KSM state unknown");
	default:
		return note(n, len, "KSM is not merging");
	}
}

static enum pp_step_result r_mode_prepopulate(const struct in *in, struct pp_decision *o,
					      char *n, size_t len)
{
	char e[160];

	if (in->d->override == PP_MODE_PREPOPULATE)
		return set(o, PP_MODE_PREPOPULATE, PP_R_OVERRIDE_PREPOPULATE,
			   "an operator asked to populate this guest (prepopctl populate; prepopctl auto clears it)");
	if (in->p->mode == PP_MODE_PREPOPULATE)
		return set(o, PP_MODE_PREPOPULATE, PP_R_FORCED_PREPOPULATE,
			   "the policy sets mode \"prepopulate\" for %s", entry(o, e, sizeof(e)));
	return note(n, len, "mode \"auto\": the eligibility thresholds decide");
}

static enum pp_step_result r_vcpus(const struct in *in, struct pp_decision *o,
				   char *n, size_t len)
{
	unsigned want = in->p->elig.min_vcpus;

	if (in->d->vcpus < want)
		return set(o, PP_MODE_FAULT, PP_R_TOO_FEW_VCPUS,
			   "%u vCPUs is fewer than the policy's minimum of %u", in->d->vcpus, want);
	return note(n, len, "%u vCPUs, at least %u", in->d->vcpus, want);
}

static enum pp_step_result r_memory(const struct in *in, struct pp_decision *o,
				    char *n, size_t len)
{
	uint64_t min_mem = in->p->elig.min_memory_mib << 20;
	char a[32], b[32];

	pp_fmt_bytes(a, sizeof(a), in->d->memory_bytes);
	pp_fmt_bytes(b, sizeof(b), min_mem);
	if (in->d->memory_bytes < min_mem)
		return set(o, PP_MODE_FAULT, PP_R_TOO_LITTLE_MEMORY,
			   "%s of memory is less than the policy's minimum of %s", a, b);
	return note(n, len, "%s of memory, at least %s", a, b);
}

static enum pp_step_result r_hugepages(const struct in *in, struct pp_decision *o,
				       char *n, size_t len)
{
	const struct pp_params *p = in->p;
	const struct pp_domain *d = in->d;
	size_t np = d->n_pages ? d->n_pages : 1;
	char sz[32];

	if (!p->elig.require_hugepages)
		return note(n, len, "huge pages not required");
	if (!d->hugepages)
		return set(o, PP_MODE_FAULT, PP_R_NO_HUGEPAGES,
			   "guest RAM is not backed by huge pages and the policy requires them");
	for (size_t i = 0; p->elig.n_page_sizes && i < np; i++) {
		uint64_t b = pp_domain_page_bytes(d, in->h, i);
		bool ok = false;

		for (size_t j = 0; j < p->elig.n_page_sizes; j++)
			ok |= p->elig.page_sizes_kib[j] * 1024 == b;
		if (!ok)
			return set(o, PP_MODE_FAULT, PP_R_NO_HUGEPAGES,
				   "huge page size %s is not one the policy accepts",
				   pp_fmt_bytes(sz, sizeof(sz), b));
	}
	return note(n, len, "huge pages required: %s pages", pp_fmt_bytes(sz, sizeof(sz),
		    pp_domain_page_bytes(d, in->h, 0)));
}

static enum pp_step_result r_eligible(const struct in *in, struct pp_decision *o,
				      char *n, size_t len)
{
	const struct pp_domain *d = in->d;
	char a[32], b[32], on[48];

	(void)n;
	(void)len;
	if (d->hugepages)
		snprintf(on, sizeof(on), "on %s pages",
			 pp_fmt_bytes(b, sizeof(b), pp_domain_page_bytes(d, in->h, 0)));
	else
		snprintf(on, sizeof(on), "on small pages");
	return set(o, PP_MODE_PREPOPULATE, PP_R_ELIGIBLE,
		   "%u vCPUs and %s %s meet the policy's thresholds",
		   d->vcpus, pp_fmt_bytes(a, sizeof(a), d->memory_bytes), on);
}

/* The chain, in the documented order; the last rule always decides. */
static const struct rule rules[] = {
	{ "kill-switch", r_kill_switch },
	{ "rollout", r_rollout },
	{ "domain-type", r_domain_type },
	{ "override", r_override },
	{ "mode-fault", r_mode_fault },
	{ "postcopy", r_postcopy },
	{ "smm", r_smm },
	{ "overcommit", r_overcommit },
	{ "balloon", r_balloon },
	{ "virtio-mem", r_virtio_mem },
	{ "file-backed", r_file_backed },
	{ "ksm", r_ksm },
	{ "mode-prepopulate", r_mode_prepopulate },
	{ "min-vcpus", r_vcpus },
	{ "min-memory", r_memory },
	{ "hugepages", r_hugepages },
	{ "eligible", r_eligible },
};

_Static_assert(sizeof(rules) / sizeof(rules[0]) <= PP_MAX_STEPS, "PP_MAX_STEPS too small");

void pp_decide(const struct pp_policy *p, const struct pp_domain *d,
	       const struct pp_host *h, enum pp_migration mig,
	       struct pp_decision *o)
{
	struct in in = { .d = d, .h = h, .mig = mig };

	memset(o, 0, sizeof(*o));
	o->subject = pp_domain_match_subject(d, &o->subject_kind);
	o->flavor = pp_policy_match(p, o->subject, &o->glob);
	in.p = o->flavor ? &o->flavor->params : &p->defaults;
	o->params = *in.p;
	o->dry_run = p->rollout.dry_run;
	pp_rollout_check(&p->rollout, h, &o->rollout);

	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		struct pp_step *s = &o->steps[o->n_steps++];

		s->rule = rules[i].name;
		s->result = rules[i].check(&in, o, s->detail, sizeof(s->detail));
		if (s->result == PP_STEP_DECIDED) {
			snprintf(s->detail, sizeof(s->detail), "%s", o->explanation);
			return;
		}
	}
}
