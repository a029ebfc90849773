// SPDX-License-Identifier: GPL-2.0-only
#include <stdlib.h>

#include "domains.h"
#include "explain.h"
#include "facts_json.h"
#include "override.h"
#include "prepop/xalloc.h"
#include "prepopd.h"
#include "status.h"

/* What prepopd does with a decision on this host, in one word. */
static const char *acts(const struct agent *a, const struct pp_decision *dec)
{
	if (dec->mode != PP_MODE_PREPOPULATE)
		return "fault";
	if (dec->dry_run)
		return "dry-run";
	return agent_observe_only(a) ? "observe-only" : "populate";
}

json_object *explain_json(struct agent *a, struct adom *d, char **err)
{
	struct dom_eval *ev = xcalloc(1, sizeof(*ev));
	json_object *o, *pol;

	if (dom_evaluate(a, d, ev, err) < 0) {
		free(ev);
		return NULL;
	}
	o = json_object_new_object();
	pol = json_object_new_object();
	json_object_object_add(o, "domain", json_object_new_string(d->name));
	json_object_object_add(o, "uuid", json_object_new_string(d->uuid));
	/* what is in force: state, the last decision, the populate, the override */
	json_object_object_add(o, "status", status_dom_json(a, d));
	json_object_object_add(o, "override", override_json(a->ovr, d->uuid));
	/* every input */
	json_object_object_add(o, "facts", pp_domain_to_json(&ev->facts));
	json_object_object_add(o, "host", pp_host_to_json(&ev->host));
	json_object_object_add(o, "migration", json_object_new_string(pp_migration_str(ev->mig)));
	json_object_object_add(pol, "dir", json_object_new_string(a->cfg.policy_dir));
	json_object_object_add(pol, "generation", json_object_new_int64(a->ps.generation));
	json_object_object_add(pol, "defaults_file", json_object_new_string(a->ps.policy->defaults_file));
	json_object_object_add(o, "policy", pol);
	/* deciding now: the flavor entry, the rule chain, the outcome */
	json_object_object_add(o, "decision", pp_decision_to_json(&ev->dec, a->ps.policy));
	json_object_object_add(o, "acts", json_object_new_string(acts(a, &ev->dec)));
	json_object_object_add(o, "observe_only", json_object_new_boolean(agent_observe_only(a)));
	dom_eval_free(ev);
	free(ev);
	return o;
}
