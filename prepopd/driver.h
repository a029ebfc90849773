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
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

struct event_base;
struct module;
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
	int error;			/* with POP_ERROR: the errno, if the module gave one */
	char detail[200];		/* why it stopped, in words */
};

/*
 * What the driver tells its owner, on the loop thread, through the one
 * callback it was given.  The driver never steps a domain's state machine,
 * writes status, counts metrics or stops the loop itself.
 */
enum driver_news {
	DN_PROGRESS,	/* a job's phase changed, or its figures (at most once a second) */
	DN_CALL,	/* one KVM_PREPOP_POPULATE call landed (also a cancelled job's):
			 * call and result are its own; st the job's figures with it */
	DN_ENDED,	/* a job ended by itself (done, budget, error), its check found the
			 * guest paused, busy or gone, or prepopd stops; st is final; the job is gone */
	DN_LATE,	/* a cancelled job's slice in flight landed: st is the record the
			 * cancel returned, with that slice's figures added */
	DN_THREAD_BACK,	/* a slice's thread was joined (no uuid, no st) */
};

struct kvm_prepop_populate;
struct driver_report {
	enum driver_news what;
	const char *uuid;			/* the guest; NULL with DN_THREAD_BACK */
	const struct pop_stats *st;		/* the job's figures; NULL with DN_THREAD_BACK */
	const struct kvm_prepop_populate *call;	/* DN_CALL: what the module wrote back */
	int result;				/* DN_CALL: 0 or -errno */
};
typedef void driver_report_fn(void *arg, const struct driver_report *r);

struct driver;
struct driver *driver_new(struct event_base *base, const struct module *mod,
			  driver_report_fn *report, void *arg);
/* Only with no thread out (driver_threads() == 0). */
void driver_free(struct driver *drv);
/* The libvirt connection slices ask (NULL: disconnected, slices wait). */
void driver_set_conn(struct driver *drv, virConnectPtr conn);
/* rollout.max_concurrent_guests: start what now fits. */
void driver_set_cap(struct driver *drv, unsigned cap);

/*
 * Populate guest uuid (name for logs) with vm_fd (taken over: closed when
 * the job ends) after delay_ms.  while_paused: its slices also run while
 * the guest is paused by its user (it arrived paused; the module maps a VM
 * whose vCPUs never ran), else a paused guest ends the job (POP_PAUSED).
 * 0, or -errno (vm_fd closed).
 */
int driver_start(struct driver *drv, const char *uuid, const char *name, int vm_fd,
		 const struct pp_params *p, unsigned delay_ms, bool while_paused);
/*
 * uuid's populate no longer runs while the guest is paused: from the next
 * slice's check on, a paused guest ends it (POP_PAUSED).
 */
void driver_end_while_paused(struct driver *drv, const char *uuid);
/*
 * Detach uuid's job: a slice in flight completes alone (DN_LATE), nothing
 * else about it follows.  False if it had none; else *last is its record.
 */
bool driver_cancel(struct driver *drv, const char *uuid, enum pop_stop why,
		   const char *detail, struct pop_stats *last);
/* SIGTERM: cancel every job (each reported as DN_ENDED, POP_SHUTDOWN); start none. */
void driver_stop_all(struct driver *drv);
/* uuid's populate in progress, or NULL. */
const struct pop_stats *driver_stats(const struct driver *drv, const char *uuid);
unsigned driver_running(const struct driver *drv);	/* holding a slot */
unsigned driver_queued(const struct driver *drv);
unsigned driver_threads(const struct driver *drv);	/* slices out on their threads */
const char *pop_stop_str(enum pop_stop s);
const char *pop_phase_str(enum pop_phase p);

/* How a slice asks libvirt and the module; tests replace them. */
struct probe;
struct kvm_prepop_populate;
struct driver_ops {
	void (*probe)(virConnectPtr conn, const char *uuid, struct probe *p);
	int (*populate)(int dev_fd, struct kvm_prepop_populate *arg);	/* 0 or -errno */
};
void driver_set_ops(const struct driver_ops *ops);

#endif
