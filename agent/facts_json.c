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
	return o;
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
	json_object_object_get_ex(params, "populate", &pop);
	json_object_object_add(o, "populate", json_object_get(pop));
	json_object_put(params);
	return o;
}
