/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The populate driver: slices of pause → KVM_PREPOP_POPULATE → resume, the
 * ioctl on a worker thread so the loop keeps running, within the policy's
 * slice, gap and total budgets; and the start-up recovery of guests a
 * previous prepopd left paused.
 */
#ifndef PREPOP_DRIVER_H
#define PREPOP_DRIVER_H

#include "agent.h"

/* Start populating d; 0, or -errno (the caller stays in fault mode). */
int driver_start(struct agent *a, struct adom *d, const struct pp_params *params,
		 unsigned delay_ms);
/* Stop d's populate after its current slice; the guest is resumed. */
void driver_cancel(struct adom *d);
/* Resume the guests the state file says prepopd paused; on every connect. */
void driver_recover(struct agent *a);

#endif
