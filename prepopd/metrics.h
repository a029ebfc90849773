/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Prometheus metrics, in the text format, through node-exporter's textfile
 * collector: the file is written whole every METRICS_INTERVAL_S seconds and
 * METRICS_SOON_MS after a decision or a guest gone (to a temporary file in
 * the same directory, then renamed), and removed at a clean exit.  Per guest (labels domain, uuid, flavor) and host-wide:
 * populates, populate seconds, leaves mapped by size, the vCPU hold
 * histogram, decisions by mode and reason; for the agent: policy reload
 * failures, libvirt reconnects, module errors by errno.  A guest's series
 * go when prepopd forgets the guest.  Loop thread only.
 */
#ifndef PREPOP_METRICS_H
#define PREPOP_METRICS_H

#include <stdio.h>

#include "prepop/decide.h"

#define PP_DEFAULT_METRICS_FILE "/var/lib/prometheus/node-exporter/prepop.prom"
#define METRICS_INTERVAL_S 10
#define METRICS_SOON_MS 500

struct event_base;
struct kvm_prepop_populate;

/* What the agent's other parts count, asked for at each write. */
struct metrics_counts {
	unsigned reload_failures;
	unsigned reconnects;
};
typedef void metrics_counts_fn(void *arg, struct metrics_counts *c);

/* Write path every METRICS_INTERVAL_S (path NULL: keep figures, write nothing). */
void metrics_init(struct event_base *base, const char *path, metrics_counts_fn *counts, void *arg);
/* Stop; remove the file (a stopped prepopd exports nothing stale). */
void metrics_free(void);

/* A guest's decision: its current one, and counted. */
void metrics_decided(const char *uuid, const char *name, const char *flavor,
		     enum pp_mode mode, enum pp_reason reason);
/* One KVM_PREPOP_POPULATE call (result 0 or -errno) of populate populate_id of guest uuid. */
void metrics_call(const char *uuid, unsigned long populate_id,
		  const struct kvm_prepop_populate *r, int result);
/* The guest is gone: its series go. */
void metrics_forget(const char *uuid);

/* The whole exposition (tests); metrics_write: now, 0 or -errno. */
void metrics_render(FILE *f, const struct metrics_counts *c);
int metrics_write(void);

#endif
