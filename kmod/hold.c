// SPDX-License-Identifier: GPL-2.0
/*
 * Holding a vCPU: its vcpu->mutex, for one chunk of a populate, even while
 * the VMM runs it.
 *
 * A vCPU inside KVM_RUN holds its mutex for the whole run, halted or not.
 * To get it we queue on the mutex (the fault engine's mutex_lock_killable,
 * or the one KVM_PRE_FAULT_MEMORY takes inside kvm_vcpu_ioctl) and kick the
 * vCPU's thread out of KVM_RUN with the VMM's own kick signal (kick_signal,
 * SIGUSR1 for QEMU, whose handler only sets kvm_run->immediate_exit;
 * KVM_RUN returns -EINTR and QEMU enters it again).  The thread usually
 * retakes its mutex before a waiter wakes, so a timer re-sends the kick
 * every PP_KICK_PERIOD_NS until the waiter owns the mutex; the mutex's
 * hand-off then gives it to the waiter at the next exit.  QEMU's next
 * KVM_RUN waits in mutex_lock_killable() until we release: the guest sees a
 * pause of the hold's length and no event; libvirt and QEMU see nothing.
 *
 * Bounded: at give_up (the call's deadline, at least PP_MIN_WAIT_NS after
 * the wait began), or when the call is stopped, the timer sends the waiting
 * kthread SIGKILL, which it allowed, ending mutex_lock_killable() or the
 * wait inside KVM_PRE_FAULT_MEMORY.  Once the waiter owns the mutex the
 * kicks stop; the batch it holds the vCPU for may finish until the deadline
 * or PP_BATCH_GRACE_NS after it got the mutex, whichever is later, and is
 * then interrupted too (a page KVM keeps retrying, a slot being deleted).  A process
 * whose kick signal is ignored or has its default action (which would kill
 * it) is never kicked.
 */
#include <linux/delay.h>
#include <linux/sched/signal.h>

#include "compat.h"
#include "kvm_prepop.h"

#define PP_KICK_PERIOD_NS	(200 * NSEC_PER_USEC)
#define PP_MIN_WAIT_NS		(10 * NSEC_PER_MSEC)
#define PP_YIELD_NS		(1 * NSEC_PER_MSEC)
#define PP_BATCH_GRACE_NS	(5 * NSEC_PER_MSEC)

int pp_kick_signal = SIGUSR1;

static enum hrtimer_restart kick_fn(struct hrtimer *t)
{
	struct pp_kick *k = container_of(t, struct pp_kick, timer);
	u64 now = ktime_get_ns();

	if (atomic_read(k->stop) || (now >= k->give_up && !k->owned_ns)) {
		send_sig(SIGKILL, k->waiter, 1);	/* ends the wait */
		return HRTIMER_NORESTART;
	}
	if (k->owned_ns) {	/* the grace for the batch in progress is over */
		send_sig(SIGKILL, k->waiter, 1);
		return HRTIMER_NORESTART;
	}
	if (pp_mutex_owner(&k->vcpu->mutex) == k->waiter) {
		/* held: the batch in progress may finish, within a grace */
		k->owned_ns = now;
		hrtimer_forward_now(t, ns_to_ktime(max(k->give_up, now + PP_BATCH_GRACE_NS) - now));
		return HRTIMER_RESTART;
	}
	if (k->target && mutex_is_locked(&k->vcpu->mutex)) {
		send_sig(k->sig, k->target, 1);
		k->kicks++;
	}
	hrtimer_forward_now(t, ns_to_ktime(PP_KICK_PERIOD_NS));
	return HRTIMER_RESTART;
}

/* The thread that last ran the vCPU, if its handler makes the kick harmless. */
static struct task_struct *kick_target(struct kvm_vcpu *vcpu, int sig)
{
	struct sighand_struct *sighand;
	struct task_struct *task;
	__sighandler_t handler = SIG_DFL;

	if (sig <= 0 || sig > _NSIG || sig == SIGKILL || sig == SIGSTOP)
		return NULL;	/* kicking is off */
	task = pp_vcpu_task(vcpu);
	rcu_read_lock();
	/* type-safe by RCU; the handler is read once, as signal delivery does */
	sighand = task ? rcu_dereference(task->sighand) : NULL;
	if (sighand)
		handler = READ_ONCE(sighand->action[sig - 1].sa.sa_handler);
	rcu_read_unlock();
	if (task && (handler == SIG_DFL || handler == SIG_IGN)) {
		put_task_struct(task);
		task = NULL;
	}
	return task;
}

/* Can the thread running this vCPU be kicked out of KVM_RUN? */
bool pp_kickable(struct kvm_vcpu *vcpu)
{
	struct task_struct *task = kick_target(vcpu, READ_ONCE(pp_kick_signal));

	if (task)
		put_task_struct(task);
	return task;
}

/*
 * Arm the kick for the calling kthread (which allowed SIGKILL) about to wait
 * for vcpu->mutex.  Without a kickable thread only the give-up is armed;
 * pp_kick_can() tells.
 */
void pp_kick_arm(struct pp_kick *k, struct kvm_vcpu *vcpu, u64 give_up,
		 const atomic_t *stop)
{
	*k = (struct pp_kick){
		.vcpu = vcpu, .waiter = current, .stop = stop,
		.sig = READ_ONCE(pp_kick_signal), .t0 = ktime_get_ns(),
	};
	/* every call maps a batch: a wait gets PP_MIN_WAIT_NS whatever the budget */
	k->give_up = max(give_up, k->t0 + PP_MIN_WAIT_NS);
	k->target = kick_target(vcpu, k->sig);
	pp_hrtimer_setup_on_stack(&k->timer, kick_fn);
	if (k->target && mutex_is_locked(&vcpu->mutex)) {
		send_sig(k->sig, k->target, 1);
		k->kicks++;
	}
	hrtimer_start(&k->timer, ns_to_ktime(PP_KICK_PERIOD_NS), HRTIMER_MODE_REL);
}

bool pp_kick_can(const struct pp_kick *k)
{
	return k->target;
}

/* Disarm; a SIGKILL that raced with the end of the wait is dropped. */
void pp_kick_disarm(struct pp_kick *k)
{
	hrtimer_cancel(&k->timer);
	destroy_hrtimer_on_stack(&k->timer);
	flush_signals(current);
	if (k->target)
		put_task_struct(k->target);
}

/*
 * Take vcpu->mutex for the calling kthread, kicking the vCPU out of KVM_RUN
 * if need be.  0 with the mutex held (*kick_ns: how long the kick took, 0 if
 * none was needed), -EBUSY if it could not be had by give_up or may not be
 * kicked, -EINTR if the call was stopped.
 */
int pp_hold_take(struct kvm_vcpu *vcpu, u64 give_up, const atomic_t *stop,
		 u64 *kick_ns)
{
	struct pp_kick k;
	int ret;

	*kick_ns = 0;
	if (mutex_trylock(&vcpu->mutex))
		return 0;
	pp_kick_arm(&k, vcpu, give_up, stop);
	if (!pp_kick_can(&k)) {
		pp_kick_disarm(&k);
		return -EBUSY;	/* running, and not ours to kick */
	}
	ret = mutex_lock_killable(&vcpu->mutex);
	pp_kick_disarm(&k);
	if (ret)
		return atomic_read(stop) ? -EINTR : -EBUSY;
	*kick_ns = max_t(u64, ktime_get_ns() - k.t0, 1);
	return 0;
}

void pp_hold_release(struct kvm_vcpu *vcpu)
{
	mutex_unlock(&vcpu->mutex);
}

/*
 * After a chunk: if the VMM's vCPU thread queued on the mutex meanwhile,
 * let it have its turn before the next take, which would otherwise steal
 * the mutex back before the woken thread runs; at most PP_YIELD_NS.
 */
void pp_hold_yield(struct kvm_vcpu *vcpu)
{
	u64 until = ktime_get_ns() + PP_YIELD_NS;

	while (pp_mutex_free_for_waiter(&vcpu->mutex) && ktime_get_ns() < until)
		usleep_range(20, 50);
}
