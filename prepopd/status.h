/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What prepopd believes: STATE_DIR/status.json (replaced atomically,
 * coalesced to one write per loop iteration), the control socket's status
 * answer and sd_notify STATUS=.  Called by the domain table only.
 */
#ifndef PREPOP_STATUS_H
#define PREPOP_STATUS_H

#include <json-c/json.h>

struct agent;
struct adom;

void status_write(struct agent *a);
/* The whole status document (the control socket's "status"). */
json_object *status_json(struct agent *a);
/* One domain's entry in it. */
json_object *status_dom_json(struct agent *a, const struct adom *d);

#endif
