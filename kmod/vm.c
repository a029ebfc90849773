// SPDX-License-Identifier: GPL-2.0
/* Resolving a VM fd, and the one-populate-per-VM rule. */
#include <linux/file.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/userfaultfd_k.h>

#include "compat.h"
#include "kvm_prepop.h"

int pp_vm_get(int fd, struct pp_vm *vm)
{
	struct file *file = fget(fd);
	struct kvm *kvm;
	int ret = 0;

	if (!file)
		return -EBADF;
	if (!pp_file_is_kvm_vm(file)) {
		ret = -EINVAL;
		goto out;
	}
	kvm = file->private_data;
	if (!kvm_get_kvm_safe(kvm)) {
		ret = -ESRCH;
		goto out;
	}
	if (!mmget_not_zero(kvm->mm)) {
		kvm_put_kvm(kvm);
		ret = -ESRCH;
		goto out;
	}
	vm->kvm = kvm;
	vm->mm = kvm->mm;
out:
	fput(file);
	return ret;
}

void pp_vm_put(struct pp_vm *vm)
{
	/*
	 * The last reference when the VMM died during the call: its whole
	 * address space is torn down then, not in the caller's ioctl.
	 */
	mmput_async(vm->mm);
	kvm_put_kvm(vm->kvm);
}

/*
 * Has the VMM gone, or is it going?  KVM would still map its RAM for us,
 * and GUP allocate it, for a process that will never run the guest again.
 * - No task uses its mm any more: the only user left is the reference
 *   pp_vm_get() took (which keeps the address space, so kthread_use_mm()
 *   and GUP stay safe, but nothing else).  exec() is seen here, once the
 *   old mm is dropped; so is an owner that has gone (mm->owner NULL), though
 *   any other holder of mm_users (a concurrent QUERY, vhost) delays it.
 * - The task that owns the mm is in a group exit: killed or exit_group().
 * A VM KVM marked dead (vm_dead: also an RSM failure or the source of an
 * SEV intra-host migration, with its process alive) is not "gone": KVM
 * refuses it itself (-EIO).
 */
bool pp_vm_gone(struct pp_vm *vm)
{
	struct task_struct *owner;
	bool gone;

	if (atomic_read(&vm->mm->mm_users) <= 1)
		return true;
	owner = pp_mm_owner(vm->mm);
	if (!owner)
		return false;	/* no CONFIG_MEMCG, or between owners: mm_users tells */
	/* owner->signal lives as long as the task_struct we hold */
	gone = READ_ONCE(owner->signal->flags) & SIGNAL_GROUP_EXIT;
	put_task_struct(owner);
	return gone;
}

struct pp_busy {
	struct list_head node;
	struct kvm *kvm;
};

static LIST_HEAD(pp_busy_list);
static DEFINE_MUTEX(pp_busy_lock);

int pp_vm_claim(struct kvm *kvm)
{
	struct pp_busy *b, *n = kzalloc(sizeof(*n), GFP_KERNEL);
	int ret = 0;

	if (!n)
		return -ENOMEM;
	mutex_lock(&pp_busy_lock);
	list_for_each_entry(b, &pp_busy_list, node) {
		if (b->kvm == kvm) {
			ret = -EBUSY;
			break;
		}
	}
	if (!ret) {
		n->kvm = kvm;
		list_add(&n->node, &pp_busy_list);
		n = NULL;
	}
	mutex_unlock(&pp_busy_lock);
	kfree(n);
	return ret;
}

void pp_vm_unclaim(struct kvm *kvm)
{
	struct pp_busy *b, *tmp;

	mutex_lock(&pp_busy_lock);
	list_for_each_entry_safe(b, tmp, &pp_busy_list, node) {
		if (b->kvm == kvm) {
			list_del(&b->node);
			kfree(b);
			break;
		}
	}
	mutex_unlock(&pp_busy_lock);
}

enum pp_vcpu_state pp_vcpu_state(struct kvm_vcpu *vcpu)
{
	lockdep_assert_held(&vcpu->mutex);
	if (pp_vcpu_in_smm(vcpu))
		return PP_VCPU_SMM;
	if (pp_vcpu_in_guest_mode(vcpu))
		return PP_VCPU_GUEST_MODE;
	if (!pp_vcpu_root_ok(vcpu))
		return PP_VCPU_NO_ROOT;
	return PP_VCPU_USABLE;
}

bool pp_uffd_armed(struct mm_struct *mm, unsigned long start, unsigned long end)
{
	struct vm_area_struct *vma;
	bool armed = false;

	mmap_read_lock(mm);
	for (vma = find_vma(mm, start); vma && vma->vm_start < end;
	     vma = find_vma(mm, vma->vm_end)) {
		if (userfaultfd_armed(vma)) {
			armed = true;
			break;
		}
	}
	mmap_read_unlock(mm);
	return armed;
}
