/* SPDX-License-Identifier: GPL-2.0-only */
/* prepopd's configuration: /etc/prepop/prepopd.conf (JSON), then the command line. */
#ifndef PREPOP_CONFIG_H
#define PREPOP_CONFIG_H

#include <stdbool.h>

#include "prepop/errors.h"

#define PP_DEFAULT_CONFIG "/etc/prepop/prepopd.conf"

struct config {
	char *uri;		/* qemu:///system */
	char *policy_dir;	/* /etc/prepop/policy.d */
	char *host_facts;	/* /etc/prepop/host.json */
	char *state_dir;	/* /run/prepop */
	bool observe_only;	/* decide and report, never populate */
};

/* Defaults, then the file (absent is fine unless required).  0 or -1 with errors. */
int config_load(struct config *c, const char *path, bool required, struct pp_errs *errs);
void config_free(struct config *c);

#endif
