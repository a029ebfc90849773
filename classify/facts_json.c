// SPDX-License-Identifier: GPL-2.0-only
#include "facts_json.h"

static json_object *str_or_null(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
}

static const char *const smm_names[] = {
	[PP_SMM_DEFAULT] = "default",
	[PP_SMM_ON] = "on",
	[PP_SMM_OFF] = "off",
};

static json_object *hugepages_json(const struct pp_domain *d)
{
	json_object *a;

	if (!d->hugepages)
		return NULL;
	a = json_object_new_array();
	if (!d->n_pages)
		json_object_array_add(a, json_object_new_string("default"));
	for (size_t i = 0; i < d->n_pages; i++)
		json_object_array_add(a, json_object_new_uint64(d->page_bytes[i]));
	return a;
}

static json_object *balloon_json(const struct pp_domain *d)
{
	json_object *o;

	if (!d->balloon)
		return NULL;
	o = json_object_new_object();
	json_object_object_add(o, "model", json_object_new_string(d->balloon_model));
	json_object_object_add(o, "autodeflate",
			       json_object_new_boolean(d->balloon_autodeflate));
	json_object_object_add(o, "free_page_reporting",
			       json_object_new_boolean(d->balloon_free_page_reporting));
	return o;
}

static json_object *memdevs_json(const struct pp_domain *d)
{
	json_object *a = json_object_new_array();

	for (size_t i = 0; i < d->n_memdevs; i++) {
		const struct pp_memdev *m = &d->memdevs[i];
		json_object *o = json_object_new_object();

		json_object_object_add(o, "model", json_object_new_string(m->model));
		json_object_object_add(o, "size_bytes", json_object_new_uint64(m->size_bytes));
		json_object_object_add(o, "requested_bytes", m->has_requested ?
				       json_object_new_uint64(m->requested_bytes) : NULL);
		json_object_object_add(o, "current_bytes", m->has_current ?
				       json_object_new_uint64(m->current_bytes) : NULL);
		json_object_object_add(o, "source_path", str_or_null(m->source_path));
		json_object_object_add(o, "node", m->node >= 0 ?
				       json_object_new_int(m->node) : NULL);
		json_object_array_add(a, o);
	}
	return a;
}

json_object *pp_domain_to_json(const struct pp_domain *d)
{
	json_object *o = json_object_new_object();
	json_object *specs = json_object_new_object();

	json_object_object_add(o, "name", str_or_null(d->name));
	json_object_object_add(o, "uuid", str_or_null(d->uuid));
	json_object_object_add(o, "domain_type", str_or_null(d->domain_type));
	json_object_object_add(o, "vcpus", json_object_new_int64(d->vcpus));
	json_object_object_add(o, "vcpus_max", json_object_new_int64(d->vcpus_max));
	json_object_object_add(o, "memory_bytes", json_object_new_uint64(d->memory_bytes));
	json_object_object_add(o, "current_memory_bytes",
			       json_object_new_uint64(d->current_memory_bytes));
	json_object_object_add(o, "max_memory_bytes", d->has_max_memory ?
			       json_object_new_uint64(d->max_memory_bytes) : NULL);
	json_object_object_add(o, "hugepages", hugepages_json(d));
	json_object_object_add(o, "locked", json_object_new_boolean(d->locked));
	json_object_object_add(o, "memory_source", str_or_null(d->mem_source));
	json_object_object_add(o, "nosharepages", json_object_new_boolean(d->nosharepages));
	json_object_object_add(o, "smm", json_object_new_boolean(pp_domain_smm(d)));
	json_object_object_add(o, "smm_state",
			       json_object_new_string(smm_names[d->smm_state]));
	json_object_object_add(o, "balloon", balloon_json(d));
	json_object_object_add(o, "memory_devices", memdevs_json(d));
	json_object_object_add(o, "flavor", str_or_null(pp_domain_flavor(d)));
	for (size_t i = 0; i < d->n_extra_specs; i++)
		json_object_object_add(specs, d->extra_specs[i].name,
				       str_or_null(d->extra_specs[i].value));
	json_object_object_add(o, "extra_specs", specs);
	json_object_object_add(o, "override", d->override == PP_MODE_AUTO ? NULL :
			       json_object_new_string(pp_mode_str(d->override)));
	return o;
}

static json_object *pools_json(const struct pp_host *h)
{
	json_object *a;

	if (!h->hugepools_known)
		return NULL;
	a = json_object_new_array();
	for (size_t i = 0; i < h->n_hugepools; i++) {
		const struct pp_hugepool *p = &h->hugepools[i];
		json_object *o = json_object_new_object();

		json_object_object_add(o, "page_bytes", json_object_new_uint64(p->page_bytes));
		json_object_object_add(o, "node", p->node < 0 ? NULL : json_object_new_int(p->node));
		json_object_object_add(o, "pages", json_object_new_uint64(p->pages));
		json_object_object_add(o, "free", json_object_new_uint64(p->free));
		json_object_object_add(o, "reserved", json_object_new_uint64(p->reserved));
		json_object_object_add(o, "surplus", json_object_new_uint64(p->surplus));
		json_object_array_add(a, o);
	}
	return a;
}

static json_object *u64_or_null(uint64_t v)
{
	return v ? json_object_new_uint64(v) : NULL;
}

json_object *pp_host_to_json(const struct pp_host *h)
{
	static const char *const ksm[] = {
		[PP_KSM_UNKNOWN] = NULL, [PP_KSM_STOPPED] = "stopped",
		[PP_KSM_RUNNING] = "running", [PP_KSM_UNMERGING] = "unmerging",
	};
	json_object *o = json_object_new_object(), *g = json_object_new_array();

	json_object_object_add(o, "host_id", str_or_null(h->host_id));
	json_object_object_add(o, "host_id_source", str_or_null(h->host_id_source));
	for (size_t i = 0; i < h->n_groups; i++)
		json_object_array_add(g, json_object_new_string(h->groups[i]));
	json_object_object_add(o, "groups", g);
	json_object_object_add(o, "mem_total_bytes", u64_or_null(h->mem_total_bytes));
	json_object_object_add(o, "reserved_bytes", json_object_new_uint64(h->reserved_bytes));
	json_object_object_add(o, "guest_memory_bytes", u64_or_null(h->guest_memory_bytes));
	json_object_object_add(o, "guest_hugetlb_bytes", json_object_new_uint64(h->guest_hugetlb_bytes));
	json_object_object_add(o, "default_hugepage_bytes", u64_or_null(h->default_hugepage_bytes));
	json_object_object_add(o, "hugepage_pools", pools_json(h));
	json_object_object_add(o, "ksm", str_or_null(ksm[h->ksm]));
	return o;
}

json_object *pp_steps_to_json(const struct pp_decision *dec)
{
	json_object *a = json_object_new_array();

	for (size_t i = 0; i < dec->n_steps; i++) {
		const struct pp_step *s = &dec->steps[i];
		json_object *o = json_object_new_object();

		json_object_object_add(o, "rule", json_object_new_string(s->rule));
		json_object_object_add(o, "result", json_object_new_string(pp_step_result_str(s->result)));
		json_object_object_add(o, "detail", json_object_new_string(s->detail));
		json_object_array_add(a, o);
	}
	return a;
}

json_object *pp_decision_to_json(const struct pp_decision *dec,
				 const struct pp_policy *p)
{
	json_object *o = json_object_new_object();
	json_object *pol = json_object_new_object();
	json_object *params = pp_params_to_json(&dec->params), *pop;

	json_object_object_add(o, "mode", json_object_new_string(pp_mode_str(dec->mode)));
	json_object_object_add(o, "reason", json_object_new_string(pp_reason_str(dec->reason)));
	json_object_object_add(o, "explanation", json_object_new_string(dec->explanation));
	json_object_object_add(o, "dry_run", json_object_new_boolean(dec->dry_run));
	json_object_object_add(pol, "file", json_object_new_string(
		dec->flavor ? dec->flavor->file : p->defaults_file));
	json_object_object_add(pol, "flavor", str_or_null(dec->flavor ? dec->flavor->name : NULL));
	json_object_object_add(pol, "glob", str_or_null(dec->glob));
	json_object_object_add(pol, "matched", str_or_null(dec->subject));
	json_object_object_add(pol, "matched_on", json_object_new_string(dec->subject_kind));
	json_object_object_add(o, "policy", pol);
	json_object_object_add(o, "rules", pp_steps_to_json(dec));
	json_object_object_get_ex(params, "populate", &pop);
	json_object_object_add(o, "populate", json_object_get(pop));
	json_object_put(params);
	return o;
}
