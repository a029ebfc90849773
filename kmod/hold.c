// SPDX-License-Identifier: GPL-2.0
/*
 * Holding a vCPU: taking its vcpu->mutex for one chunk of a populate, even
 * while the VMM runs it.
 *
 * A vCPU inside KVM_RUN holds its mutex for the whole run, halted or not.
 * To take it we queue on the mutex and kick the vCPU's thread out of
 * KVM_RUN with the VMM's own kick signal (kick_signal, SIGUSR1 for QEMU,
 * whose handler only sets kvm_run->immediate_exit; KVM_RUN returns -EINTR
 * and QEMU enters it again).  The thread usually retakes its mutex before
 * a waiter wakes, so a timer re-sends the kick every PP_KICK_PERIOD_NS
 * until the mutex is handed to us.  QEMU's next KVM_RUN then waits in
 * mutex_lock_killable() until we release: the guest sees a pause of the
 * hold's length and no event; libvirt and QEMU see nothing.
 *
 * Bounded: the wait gives up at the caller's deadline (or when the call is
 * stopped) by sending the waiting kthread SIGKILL, which it allowed, so
 * mutex_lock_killable() returns.  A process whose kick signal is ignored
 * or has its default action (which would kill it) is never kicked.
 */
#include <linux/hrtimer.h>
#include <linux/sched/signal.h>

#include "kvm_prepop.h"

#define PP_KICK_PERIOD_NS	(200 * NSEC_PER_USEC)

int pp_kick_signal = SIGUSR1;

struct pp_kick {
	struct hrtimer timer;
	struct task_struct *waiter;	/* the kthread queued on the mutex */
	struct task_struct *target;	/* the vCPU's thread, referenced */
	const atomic_t *stop;
	u64 give_up;			/* ktime ns */
	int sig;
};

static enum hrtimer_restart kick_fn(struct hrtimer *t)
{
	struct pp_kick *k = container_of(t, struct pp_kick, timer);

	if (atomic_read(k->stop) || ktime_get_ns() >= k->give_up) {
		send_sig(SIGKILL, k->waiter, 1);	/* ends mutex_lock_killable() */
		return HRTIMER_NORESTART;
	}
	send_sig(k->sig, k->target, 1);
	hrtimer_forward_now(t, ns_to_ktime(PP_KICK_PERIOD_NS));
	return HRTIMER_RESTART;
}

/* The thread that last ran the vCPU, if its handler makes the kick harmless. */
static struct task_struct *kick_target(struct kvm_vcpu *vcpu, int sig)
{
	struct sighand_struct *sighand;
	struct task_struct *task;
	__sighandler_t handler = SIG_DFL;

	rcu_read_lock();
	task = get_pid_task(rcu_dereference(vcpu->pid), PIDTYPE_PID);
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

/*
 * Take vcpu->mutex for the calling kthread (which must have called
 * allow_signal(SIGKILL)), kicking the vCPU out of KVM_RUN if need be.
 * 0 with the mutex held (*kick_ns: how long the kick took, 0 if none was
 * needed), -EBUSY if it could not be had by give_up or may not be kicked,
 * -EINTR if the call was stopped.
 */
int pp_hold_take(struct kvm_vcpu *vcpu, u64 give_up, const atomic_t *stop,
		 u64 *kick_ns)
{
	int sig = READ_ONCE(pp_kick_signal);
	struct pp_kick k = { .waiter = current, .stop = stop, .give_up = give_up, .sig = sig };
	u64 t0;
	int ret;

	*kick_ns = 0;
	if (mutex_trylock(&vcpu->mutex))
		return 0;
	if (sig <= 0 || sig > _NSIG || sig == SIGKILL || sig == SIGSTOP)
		return -EBUSY;	/* kicking is off: running vCPUs are skipped */
	k.target = kick_target(vcpu, sig);
	if (!k.target)
		return -EBUSY;
	t0 = ktime_get_ns();
	hrtimer_init_on_stack(&k.timer, CLOCK_MONOTONIC, HRTIMER_MODE_REL);
	k.timer.function = kick_fn;
	send_sig(sig, k.target, 1);
	hrtimer_start(&k.timer, ns_to_ktime(PP_KICK_PERIOD_NS), HRTIMER_MODE_REL);
	ret = mutex_lock_killable(&vcpu->mutex);
	hrtimer_cancel(&k.timer);
	destroy_hrtimer_on_stack(&k.timer);
	flush_signals(current);	/* a SIGKILL that raced with the take */
	put_task_struct(k.target);
	if (ret)
		return atomic_read(stop) ? -EINTR : -EBUSY;
	*kick_ns = max_t(u64, ktime_get_ns() - t0, 1);
	return 0;
}

void pp_hold_release(struct kvm_vcpu *vcpu)
{
	mutex_unlock(&vcpu->mutex);
}
