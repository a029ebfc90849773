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
	char *state_dir;	/* /run/prepop: status.json, and the control socket by default */
	char *control_socket;	/* STATE_DIR/control */
	char *control_group;	/* prepop: besides root, who may use the control socket */
	char *lib_dir;		/* /var/lib/prepop: what outlives a restart (operator overrides) */
	char *metrics_file;	/* node-exporter's textfile collector: metrics.h */
	bool observe_only;	/* decide and report, never populate */
};

#define PP_DEFAULT_STATE_DIR "/run/prepop"
#define PP_DEFAULT_LIB_DIR "/var/lib/prepop"
#define PP_DEFAULT_CONTROL_GROUP "prepop"
#define PP_CONTROL_NAME "control"	/* the socket's name in the state directory */

/*
 * Defaults, then the file (absent is fine unless required).  0 or -1 with
 * errors.  control_socket stays NULL unless set: config_finish puts it in
 * the state directory, once the command line has had its say.
 */
int config_load(struct config *c, const char *path, bool required, struct pp_errs *errs);
void config_finish(struct config *c);
void config_free(struct config *c);

#endif
