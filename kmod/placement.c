// SPDX-License-Identifier: GPL-2.0
/*
 * Where a worker runs and allocates: where its vCPU's own thread would.
 *
 * A worker is a kthread.  Left alone it runs on any housekeeping CPU and
 * allocates from any node (the root cpuset), whatever the VMM was bound
 * to.  Guest RAM whose mapping carries a memory policy (mbind: QEMU's
 * memory-backend host-nodes/policy, which is how libvirt passes <numatune>
 * modes strict, preferred and interleave) is placed by that policy whoever
 * faults it in.  Two things are not:
 *  - the VMM's cgroup's cpuset.mems (libvirt's <numatune> with cpuset
 *    cgroups, the only binding in mode "restrictive"), which the page
 *    allocator reads from the allocating task;
 *  - KVM's stage-2 page-table pages and anything else allocated without a
 *    mapping's policy, which come preferably from the allocating CPU's node
 *    (within the allocating task's mems_allowed).
 * So a worker takes, before it touches anything, the mems_allowed of the
 * thread that last ran its vCPU (else the mm's owner, the VMM's main
 * thread: a vCPU that never ran, or whose thread exited), and runs on the
 * CPUs of the NUMA nodes that thread may run on: only their housekeeping
 * CPUs, not the isolated ones pinned guests usually sit on.  A worker keeps
 * the CPUs it had when none is left (the whole node isolated), and beside
 * a real-time vCPU thread, which would starve a normal worker on its CPU.
 *
 * Not adopted: a task memory policy (set_mempolicy) of the VMM's threads,
 * which no export lets a module copy; libvirt always puts the binding on
 * the RAM's mapping as well.  CPU time stays the worker's, in the root
 * cgroup; memory is charged to the VMM's memcg (populate.c).  A change of
 * the VMM's binding during a call is not followed.
 */
#include <linux/cpumask.h>
#include <linux/cpuset.h>
#include <linux/nodemask.h>
#include <linux/sched.h>
#include <linux/sched/isolation.h>
#include <linux/sched/task.h>
#include <uapi/linux/sched.h>

#include "compat.h"
#include "job.h"

static bool realtime(struct task_struct *task)
{
	unsigned int policy = READ_ONCE(task->policy);

	return policy == SCHED_FIFO || policy == SCHED_RR ||
	       policy == SCHED_DEADLINE;
}

/* The CPUs of the nodes task may run on: housekeeping and active ones. */
static void node_cpus(struct task_struct *task, struct cpumask *cpus)
{
	nodemask_t nodes = NODE_MASK_NONE;
	unsigned long flags;
	int cpu, node;

	raw_spin_lock_irqsave(&task->pi_lock, flags);	/* as sched_getaffinity() */
	for_each_cpu(cpu, &task->cpus_mask) {
		node = cpu_to_node(cpu);
		if (node >= 0)	/* NUMA_NO_NODE: a CPU not present */
			node_set(node, nodes);
	}
	raw_spin_unlock_irqrestore(&task->pi_lock, flags);
	cpumask_clear(cpus);
	for_each_node_mask(node, nodes)
		cpumask_or(cpus, cpus, cpumask_of_node(node));
	/*
	 * Not isolated: before 7.x isolcpus= isolates from the scheduler's
	 * domains only (HK_TYPE_DOMAIN), nohz_full= from kthreads too; 7.x
	 * made HK_TYPE_KTHREAD an alias of HK_TYPE_DOMAIN and updates the
	 * masks under RCU.
	 */
	rcu_read_lock();
	cpumask_and(cpus, cpus, housekeeping_cpumask(HK_TYPE_KTHREAD));
	cpumask_and(cpus, cpus, housekeeping_cpumask(HK_TYPE_DOMAIN));
	rcu_read_unlock();
	cpumask_and(cpus, cpus, cpu_active_mask);
}

void pp_adopt_placement(struct kvm_vcpu *vcpu, struct mm_struct *mm)
{
	struct task_struct *task = pp_vcpu_task(vcpu);
	cpumask_var_t cpus;
	nodemask_t mems;
	bool same_mm;

	if (!task)
		task = pp_mm_owner(mm);
	if (!task)
		return;
	task_lock(task);	/* task->mm, and mems_allowed against cpuset */
	same_mm = task->mm == mm;
	mems = task->mems_allowed;
	task_unlock(task);
	/* a thread of another process that ran the vCPU binds nothing here */
	if (!same_mm)
		goto out;
	if (!nodes_empty(mems))
		set_mems_allowed(mems);
	if (!realtime(task) && alloc_cpumask_var(&cpus, GFP_KERNEL)) {
		node_cpus(task, cpus);
		if (!cpumask_empty(cpus))
			set_cpus_allowed_ptr(current, cpus);
		free_cpumask_var(cpus);
	}
out:
	put_task_struct(task);
}
