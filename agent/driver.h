/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The populate driver.  A job per guest: the boot delay, then a FIFO queue
 * for one of the policy's rollout.max_concurrent_guests slots, then slices
 * until all RAM is mapped or the total budget is spent.  A slice runs on a
 * thread of its own: ask libvirt whether anyone else is working on the
 * guest (probe.h), then KVM_PREPOP_POPULATE, which takes the vCPUs it uses
 * in the kernel for at most the slice.  prepopd never pauses or resumes a
 * guest.
 *
 * A job keeps its own copies of what its slices use and is detached from
 * its domain when cancelled: a stop, a pause or a migration never frees
 * what a slice in flight uses; that slice completes and is freed alone.
 */
#ifndef PREPOP_DRIVER_H
#define PREPOP_DRIVER_H

#include <libvirt/libvirt.h>
#include <stdint.h>
#include <time.h>

struct agent;
struct adom;
struct pp_params;

/* Why a populate ended; stable codes for status.json. */
enum pop_stop {
	POP_NONE,	/* still going */
	POP_DONE,	/* all RAM mapped */
	POP_BUDGET,	/* total budget spent; the rest faults in */
	POP_PAUSED,	/* its owner paused it */
	POP_MIGRATING,	/* an outgoing migration */
	POP_JOB,	/* another libvirt job: save, dump, snapshot, backup */
	POP_STOPPED,	/* the guest stopped or left */
	POP_POLICY,	/* the policy no longer populates it */
	POP_SHUTDOWN,	/* prepopd is stopping */
	POP_ERROR,	/* the module or libvirt failed */
};

enum pop_phase { PH_DELAY, PH_QUEUED, PH_RUNNING, PH_FINISHED };

/* A populate's figures, live while it runs, then kept as the domain's last. */
struct pop_stats {
	unsigned long id;		/* 0: never populated */
	enum pop_phase phase;
	unsigned slices;		/* POPULATE calls made */
	uint64_t mapped_4k, mapped_2m, mapped_1g, fault_calls;
	uint64_t max_hold_ns;		/* the longest any vCPU was held, over its slices */
	uint64_t max_kick_ns;		/* the longest wait for a kicked vCPU */
	uint64_t kicks;
	uint64_t populate_ns;		/* time inside POPULATE */
	struct timespec started, finished;	/* CLOCK_REALTIME; 0 if not yet */
	enum pop_stop stop;
	char detail[200];		/* why it stopped, in words */
};

/*
 * Populate d with a copy of vm_fd (taken over: closed when the job ends),
 * after delay_ms.  0, or -errno (vm_fd closed).
 */
int driver_start(struct agent *a, struct adom *d, int vm_fd, const struct pp_params *p,
		 unsigned delay_ms);
/* Detach d's job: a slice in flight completes alone; no event for d follows. */
void driver_cancel(struct adom *d, enum pop_stop why, const char *detail);
/* The slots changed (reload): start what now fits. */
void driver_reschedule(struct agent *a);
/* SIGTERM: cancel every job. */
void driver_stop_all(struct agent *a);
/* d's populate in progress, else its last one, else NULL. */
const struct pop_stats *driver_stats(const struct adom *d);
unsigned driver_running(const struct agent *a);	/* holding a slot */
unsigned driver_queued(const struct agent *a);
const char *pop_stop_str(enum pop_stop s);
const char *pop_phase_str(enum pop_phase p);

/*
 * The job of d ended by itself (done, budget, error) or because its slice
 * found the guest paused or busy; implemented by domains.c.  d is still
 * there, its job gone; this may free d.
 */
void dom_populate_ended(struct agent *a, struct adom *d, enum pop_stop why);

/* How a slice asks libvirt and the module; tests replace them. */
struct probe;
struct kvm_prepop_populate;
struct driver_ops {
	void (*probe)(virConnectPtr conn, const char *uuid, struct probe *p);
	int (*populate)(int dev_fd, struct kvm_prepop_populate *arg);	/* 0 or -errno */
};
void driver_set_ops(const struct driver_ops *ops);

#endif
