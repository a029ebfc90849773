/* SPDX-License-Identifier: GPL-2.0 */
#ifndef KVM_PREPOP_H
#define KVM_PREPOP_H

#include <linux/hrtimer.h>
#include <linux/kvm_host.h>
#include <uapi/linux/kvm_prepop.h>

#define PP_MAX_WORKERS	256

/* A KVM VM resolved from a file descriptor, with a reference on it and its mm. */
struct pp_vm {
	struct kvm *kvm;
	struct mm_struct *mm;
};

int pp_vm_get(int fd, struct pp_vm *vm);
void pp_vm_put(struct pp_vm *vm);
/* The VMM exited or is exiting (see vm.c): a populate stops, -ESRCH. */
bool pp_vm_gone(struct pp_vm *vm);
/* One POPULATE per VM at a time. */
int pp_vm_claim(struct kvm *kvm);
void pp_vm_unclaim(struct kvm *kvm);

enum pp_vcpu_state {
	PP_VCPU_USABLE,
	PP_VCPU_RUNNING,	/* vcpu->mutex held elsewhere (KVM_RUN) */
	PP_VCPU_NO_ROOT,	/* has not run since its last MMU reset */
	PP_VCPU_SMM,
	PP_VCPU_GUEST_MODE,
};

/* With vcpu->mutex held: can a worker use this vCPU? */
enum pp_vcpu_state pp_vcpu_state(struct kvm_vcpu *vcpu);
/* True if any VMA over [start, end) of mm is userfaultfd-armed. */
bool pp_uffd_armed(struct mm_struct *mm, unsigned long start, unsigned long end);

/* hold.c: take a vCPU's mutex, kicking it out of KVM_RUN (see there). */
extern int pp_kick_signal;
struct pp_kick {
	struct hrtimer timer;
	struct kvm_vcpu *vcpu;
	struct task_struct *waiter;	/* the kthread that waits for the mutex */
	struct task_struct *target;	/* the vCPU's thread, referenced, or NULL */
	const atomic_t *stop;
	u64 give_up, t0;		/* ktime ns */
	u64 owned_ns;			/* when the waiter was first seen owning it */
	unsigned int kicks;		/* signals sent */
	int sig;
};
void pp_kick_arm(struct pp_kick *k, struct kvm_vcpu *vcpu, u64 give_up,
		 const atomic_t *stop);
bool pp_kick_can(const struct pp_kick *k);
bool pp_kickable(struct kvm_vcpu *vcpu);
void pp_kick_disarm(struct pp_kick *k);
int pp_hold_take(struct kvm_vcpu *vcpu, u64 give_up, const atomic_t *stop,
		 u64 *kick_ns);
void pp_hold_release(struct kvm_vcpu *vcpu);
void pp_hold_yield(struct kvm_vcpu *vcpu);
/* main.c: the engine this module runs (module parameter engine). */
const struct pp_engine *pp_engine(void);
/* main.c: max_hold_ms, in ns: no call holds a vCPU longer. */
u64 pp_hold_ceiling_ns(void);

long pp_populate(struct pp_vm *vm, struct kvm_prepop_populate *arg);
long pp_query(struct pp_vm *vm, struct kvm_prepop_query *arg);

struct pp_counters {
	atomic64_t populate_calls;
	atomic64_t populate_done;
	atomic64_t populate_partial;
	atomic64_t err_busy;
	atomic64_t err_again;
	atomic64_t err_intr;
	atomic64_t err_other;
	atomic64_t fault_calls;
	atomic64_t workers;
	atomic64_t query_calls;
	atomic64_t kicks;
	atomic64_t fault_gave_up;	/* a page KVM would not map after PP_FAULT_TRIES */
	atomic64_t err_emulate;		/* KVM counted an emulation on a held vCPU: aborted */
	atomic64_t max_hold_ns;	/* the longest any vCPU was held */
	atomic64_t max_kick_ns;
};

extern struct pp_counters pp_counters;

#endif
