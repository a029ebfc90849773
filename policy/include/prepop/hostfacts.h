/* SPDX-License-Identifier: GPL-2.0-only */
/* Host facts from /etc/prepop/host.json, with /etc/machine-id as the identity. */
#ifndef PREPOP_HOSTFACTS_H
#define PREPOP_HOSTFACTS_H

#include <stdbool.h>

#include "prepop/errors.h"
#include "prepop/facts.h"

#define PP_DEFAULT_HOST_FILE "/etc/prepop/host.json"
#define PP_MACHINE_ID_FILE "/etc/machine-id"

/*
 * Load host facts.  host_file may be absent unless required; host_id
 * falls back to the first line of machine_id_file.  Returns 0, or -1 with
 * every error appended.
 */
int pp_host_load(const char *host_file, bool required,
		 const char *machine_id_file, struct pp_host *h,
		 struct pp_errs *errs);

#endif
