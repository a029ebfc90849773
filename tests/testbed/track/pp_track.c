// SPDX-License-Identifier: GPL-2.0
/*
 * pp_track: write-track one guest page of a KVM VM, as KVMGT (Debian builds
 * it) does for the GPU's page tables, so the testbed can check what a
 * populate does on a write-tracked gfn.  /dev/pp_track: PP_TRACK_ADD with a
 * VM fd of the calling process (the VMM) and a gfn; closing the file
 * untracks it.
 *
 * The page-track API differs by kernel:
 * - 6.1: kvm_slot_page_track_add_page() with the slot, under kvm->srcu and
 *   kvm->mmu_lock (as kvmgt.c does); external write tracking is always on.
 * - 6.12 and 7.x: kvm_write_track_add_gfn() takes the locks itself; it needs
 *   a notifier registered first (kvm_page_track_register_notifier(), from
 *   the VMM's own mm, takes a VM reference), which enables external write
 *   tracking for the VM.
 */
#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/kvm_host.h>
#include <linux/magic.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/version.h>
#include <asm/kvm_page_track.h>

#include "pp_track.h"

#define PP_TRACK_OLD_API (LINUX_VERSION_CODE < KERNEL_VERSION(6, 7, 0))

struct pp_tracked {
	struct kvm *kvm;	/* referenced while tracked */
	gfn_t gfn;
	struct kvm_page_track_notifier_node node;
};

/* A VM file: KVM's anon inode "kvm-vm" (file_is_kvm() is not exported from 6.18). */
static struct kvm *vm_of(struct file *file)
{
	if (file_inode(file)->i_sb->s_magic != ANON_INODE_FS_MAGIC ||
	    strcmp(file->f_path.dentry->d_name.name, "kvm-vm"))
		return NULL;
	return file->private_data;
}

static int track(struct pp_tracked *t, struct kvm *kvm, gfn_t gfn)
{
#if PP_TRACK_OLD_API
	struct kvm_memory_slot *slot;
	int idx = srcu_read_lock(&kvm->srcu);

	slot = gfn_to_memslot(kvm, gfn);
	if (!slot) {
		srcu_read_unlock(&kvm->srcu, idx);
		return -EINVAL;
	}
	write_lock(&kvm->mmu_lock);
	kvm_slot_page_track_add_page(kvm, slot, gfn, KVM_PAGE_TRACK_WRITE);
	write_unlock(&kvm->mmu_lock);
	srcu_read_unlock(&kvm->srcu, idx);
	return 0;
#else
	int r = kvm_page_track_register_notifier(kvm, &t->node);

	if (r)
		return r;
	r = kvm_write_track_add_gfn(kvm, gfn);
	if (r)
		kvm_page_track_unregister_notifier(kvm, &t->node);
	return r;
#endif
}

static void untrack(struct pp_tracked *t)
{
#if PP_TRACK_OLD_API
	struct kvm_memory_slot *slot;
	int idx = srcu_read_lock(&t->kvm->srcu);

	slot = gfn_to_memslot(t->kvm, t->gfn);
	if (slot) {	/* else the slot went, and its tracking with it */
		write_lock(&t->kvm->mmu_lock);
		kvm_slot_page_track_remove_page(t->kvm, slot, t->gfn, KVM_PAGE_TRACK_WRITE);
		write_unlock(&t->kvm->mmu_lock);
	}
	srcu_read_unlock(&t->kvm->srcu, idx);
#else
	kvm_write_track_remove_gfn(t->kvm, t->gfn);
	kvm_page_track_unregister_notifier(t->kvm, &t->node);
#endif
}

static long pp_track_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct pp_tracked *t = file->private_data;
	struct pp_track_gfn a;
	struct file *vm;
	struct kvm *kvm;
	long r;

	if (cmd != PP_TRACK_ADD)
		return -ENOTTY;
	if (copy_from_user(&a, (void __user *)arg, sizeof(a)))
		return -EFAULT;
	if (a.pad)
		return -EINVAL;
	if (t->kvm)
		return -EBUSY;
	vm = fget(a.vm_fd);
	if (!vm)
		return -EBADF;
	kvm = vm_of(vm);
	r = -EINVAL;
	if (kvm && kvm->mm == current->mm) {
		kvm_get_kvm(kvm);
		r = track(t, kvm, a.gfn);
		if (r) {
			kvm_put_kvm(kvm);
		} else {
			t->kvm = kvm;
			t->gfn = a.gfn;
		}
	}
	fput(vm);
	return r;
}

static int pp_track_open(struct inode *inode, struct file *file)
{
	struct pp_tracked *t = kzalloc(sizeof(*t), GFP_KERNEL);

	if (!t)
		return -ENOMEM;
	file->private_data = t;
	return 0;
}

static int pp_track_release(struct inode *inode, struct file *file)
{
	struct pp_tracked *t = file->private_data;

	if (t->kvm) {
		untrack(t);
		kvm_put_kvm(t->kvm);
	}
	kfree(t);
	return 0;
}

static const struct file_operations pp_track_fops = {
	.owner = THIS_MODULE,
	.open = pp_track_open,
	.release = pp_track_release,
	.unlocked_ioctl = pp_track_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice pp_track_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "pp_track",
	.fops = &pp_track_fops,
	.mode = 0600,
};

module_misc_device(pp_track_misc);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("prepop testbed: write-track a guest page as KVMGT does");
