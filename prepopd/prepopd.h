/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * prepopd's parts, wired together by prepopd.c.  Each part owns its state
 * (conn.c the libvirt connection, domains.c the domain table, driver.c the
 * populate jobs, policyset.c the policy in force, override.c the operator's
 * overrides, control.c the control socket); this struct only holds them.
 * Everything runs on the one loop thread.
 */
#ifndef PREPOP_PREPOPD_H
#define PREPOP_PREPOPD_H

#include <event2/event.h>
#include <stdbool.h>

#include "config.h"
#include "module.h"
#include "policyset.h"

struct agent {
	struct event_base *base;
	struct config cfg;
	struct module mod;		/* /dev/kvm_prepop */
	struct policyset ps;		/* the policy and host facts in force */
	struct conn *conn;		/* conn.c */
	struct domains *doms;		/* domains.c */
	struct driver *drv;		/* driver.c */
	struct overrides *ovr;		/* override.c */
	struct control *ctl;		/* control.c */
	bool stopping;			/* SIGTERM: exit once no thread is out */
};

/* observe-only: by configuration, or no usable module */
bool agent_observe_only(const struct agent *a);
/* Threads out (slices, libvirt job queries): the loop never waits for them. */
unsigned agent_threads_out(const struct agent *a);
/* A thread was joined: once stopping and none is out, the loop ends. */
void agent_thread_ended(struct agent *a);
/*
 * Look for the module again and load the policy and host facts anew; on
 * any error the old ones stay in force and errs says why.  0 or -1.
 */
int agent_reload(struct agent *a, struct pp_errs *errs);

#endif
