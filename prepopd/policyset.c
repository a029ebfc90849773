// SPDX-License-Identifier: GPL-2.0-only
#include <stdlib.h>
#include <string.h>

#include "policyset.h"
#include "prepop/hostfacts.h"

int policyset_load(struct policyset *ps, const char *policy_dir, const char *host_file,
		   struct pp_errs *errs)
{
	struct pp_errs mine = { 0 };
	struct pp_policy *p = pp_policy_load(policy_dir, &mine);
	const char *mid = getenv("PREPOP_MACHINE_ID_FILE");
	struct pp_host h;

	if (p && pp_host_load(host_file, false, mid ? mid : PP_MACHINE_ID_FILE, &h, &mine) < 0) {
		pp_policy_free(p);
		p = NULL;
	}
	free(ps->error);
	ps->error = NULL;
	if (!p) {
		ps->failures++;
		ps->error = pp_errs_join(&mine);
		for (size_t i = 0; i < mine.n; i++)
			pp_errs_add(errs, mine.v[i].file, mine.v[i].path, "%s", mine.v[i].msg);
		pp_errs_free(&mine);
		return -1;
	}
	pp_policy_free(ps->policy);
	ps->policy = p;
	pp_host_free(&ps->host);
	ps->host = h;
	ps->generation++;
	pp_errs_free(&mine);
	return 0;
}

void policyset_free(struct policyset *ps)
{
	pp_policy_free(ps->policy);
	pp_host_free(&ps->host);
	free(ps->error);
	memset(ps, 0, sizeof(*ps));
}
