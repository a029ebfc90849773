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
 *    mapping's policy, which come from the allocating CPU's node.
 * So a worker takes, before it touches anything, the allowed CPUs and
 * mems_allowed of the thread that last ran its vCPU (else the VMM's main
 * thread, for a vCPU that never ran).  A pinned guest's populate then
 * also stays on the guest's own CPUs.
 *
 * Not adopted: a task memory policy (set_mempolicy) of the VMM's threads,
 * which no export lets a module copy; libvirt always puts the binding on
 * the RAM's mapping as well.  CPU time stays the worker's, in the root
 * cgroup; memory is charged to the VMM's memcg (populate.c).
 */
#include <linux/cpumask.h>
#include <linux/cpuset.h>
#include <linux/sched.h>
#include <linux/sched/task.h>
#include <linux/slab.h>

#include "compat.h"
#include "job.h"

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
	/* cpus_mask, not cpus_ptr: what the thread asked for, not a migrate_disable() */
	if (zalloc_cpumask_var(&cpus, GFP_KERNEL)) {
		if (cpumask_and(cpus, &task->cpus_mask, cpu_online_mask))
			set_cpus_allowed_ptr(current, cpus);
		free_cpumask_var(cpus);
	}
	if (!nodes_empty(mems))
		set_mems_allowed(mems);
out:
	put_task_struct(task);
}
