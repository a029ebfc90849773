/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A POPULATE call's job, shared by the job (populate.c) and the engines
 * that map a chunk with a vCPU (fault.c: KVM's fault path; prefault.c:
 * KVM_PRE_FAULT_MEMORY).
 */
#ifndef KVM_PREPOP_JOB_H
#define KVM_PREPOP_JOB_H

#include "kvm_prepop.h"

#define PP_BATCH	512	/* 4K pages faulted in by one GUP call */

struct pp_seg {
	gfn_t start, end;	/* [start, end) */
	gfn_t base;		/* start rounded down to a chunk */
	unsigned int shift;	/* a chunk is 1 << shift pages */
	u64 first;		/* index of the segment's first chunk */
};

struct pp_job {
	const struct pp_engine *engine;
	struct pp_vm *vm;
	struct pp_seg *segs;
	int nsegs;
	u64 nchunks;
	atomic64_t next;	/* chunk dispenser */
	u64 deadline;		/* ktime ns, 0 = none */
	atomic_t stop;
	atomic_t gone;		/* the VMM exited mid-call: -ESRCH */
	spinlock_t lock;
	u64 failed;		/* lowest chunk left unfinished */
	gfn_t failed_gfn;	/* where in it the worker stopped */
	int error;
	atomic_t progress;	/* chunks some of which got mapped */
	int nice;		/* the caller's: what the work without a vCPU runs at */
	/* chunks handed back by a worker that could not get its vCPU */
#define PP_REQUEUE 8
	u64 requeue[PP_REQUEUE];
	int nrequeue;		/* under lock */
};

struct pp_worker {
	struct pp_job *job;
	struct kvm_vcpu *vcpu;
	void *engine;		/* the engine's per-worker state */
	struct task_struct *task;
	struct completion claimed, exited;
	enum pp_vcpu_state state;
	int error;		/* why the engine could not start */
	struct page **pages;
	u64 calls;		/* calls into KVM */
	u64 t_taken;		/* when the vCPU was taken for this chunk */
	u64 max_batch_ns;	/* the longest batch so far: what the next may take */
	u64 max_hold_ns, max_kick_ns;
	u32 kicks;
};

bool pp_past_deadline(struct pp_job *job);
/* Run and allocate where the vCPU's own thread would (placement.c). */
void pp_adopt_placement(struct kvm_vcpu *vcpu, struct mm_struct *mm);
/* Has the VMM gone (pp_vm_gone)?  Then the job stops, and the call is -ESRCH. */
bool pp_job_vm_gone(struct pp_job *job);
/*
 * Within a chunk, after a batch that began at t0: is it time to stop?  The
 * deadline has passed, the call was stopped, the VMM has gone, or the next
 * batch, if it takes as long as the longest so far, would end past the
 * deadline.
 */
bool pp_batch_stop(struct pp_worker *w, u64 t0);
/*
 * Within a chunk, with kvm->srcu held: the memslot under gfn and where its
 * part of [gfn, end) ends.  0: map it; 1: skip it (read-only, guest_memfd);
 * -ENOENT: gone (stop, no error); -EBUSY: dirty logging or userfaultfd.
 */
int pp_slot_run(struct kvm *kvm, gfn_t gfn, gfn_t end,
		struct kvm_memory_slot **slot, gfn_t *run_end);

/*
 * An engine maps guest RAM with one vCPU per worker; the job gives each
 * worker its batch's page array (pages).  Optional start() once per
 * worker (in the worker, with the VMM's mm); prepare() a chunk without the
 * vCPU, if the engine has that; take() the vCPU for one chunk,
 * telling why not; chunk() maps [*pos, end), advancing *pos, checking the
 * deadline and the job's stop after every batch, pp_batch_stop() (-ETIMEDOUT: the vCPU
 * could not be had in time, which ends the worker, not the call);
 * release() after it; optional stop() once at the end.
 */
struct pp_engine {
	const char *name;
	u32 id;			/* KVM_PREPOP_ENGINE_* */
	int (*start)(struct pp_worker *w);
	enum pp_vcpu_state (*take)(struct pp_worker *w);
	/* optional: before take(), what needs no vCPU for [s, e) */
	void (*prepare)(struct pp_worker *w, gfn_t s, gfn_t e);
	int (*chunk)(struct pp_worker *w, gfn_t *pos, gfn_t end);
	void (*release)(struct pp_worker *w);
	void (*stop)(struct pp_worker *w);
};

extern const struct pp_engine pp_fault_engine, pp_prefault_engine;

#endif
