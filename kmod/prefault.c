// SPDX-License-Identifier: GPL-2.0
/*
 * The pre-fault engine (6.11+, the only one from 6.18 on): KVM's public
 * KVM_PRE_FAULT_MEMORY, issued on the VM's own vCPU files.
 *
 * - The ioctl is a vCPU ioctl and fails unless current->mm == kvm->mm: each
 *   worker is a kthread that adopted the VMM's mm (kthread_use_mm) and puts
 *   the ioctl's argument in a scratch page it maps there (vm_mmap).
 * - The vCPU files are the VMM's own: found in the VMM's file table (the
 *   mm's owner, or a vCPU's thread) as the anon inode "kvm-vcpu:N" whose
 *   private data is the vCPU.  The agent passes nothing more than the VM fd.
 * - The ioctl takes vcpu->mutex itself: the worker arms the kick (hold.c)
 *   around every call, so a running vCPU is kicked out of KVM_RUN and the
 *   call (the hold) ends at the deadline, when the give-up SIGKILL makes
 *   KVM_PRE_FAULT_MEMORY return -EINTR with what it had done.
 * - Pre-fault maps with a read fault (no emulation), so the host pages are
 *   first faulted in for write (FOLL_WRITE): untouched anonymous memory
 *   would otherwise be mapped to the zero page, read-only.
 * - It loads the vCPU's MMU root itself: vCPUs that never ran can populate.
 */
#include <linux/fdtable.h>
#include <linux/file.h>
#include <linux/mman.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>

#include "compat.h"
#include "job.h"

#if PP_HAVE_PREFAULT_ENGINE

struct pp_prefault {
	struct file *file;	/* the vCPU's, referenced */
	unsigned long scratch;	/* user address of the ioctl's argument */
};

struct find_vcpu {
	struct kvm_vcpu *vcpu;
	struct file **out;
};

/* iterate_fd() passes its data const; the result goes back through *out */
static int match_vcpu_file(const void *data, struct file *file, unsigned int fd)
{
	const struct find_vcpu *f = data;

	if (file->private_data != f->vcpu || !pp_file_is_kvm_anon(file, "kvm-vcpu:"))
		return 0;
	*f->out = get_file(file);
	return 1;
}

static struct file *vcpu_file_of(struct task_struct *task, struct kvm_vcpu *vcpu)
{
	struct file *file = NULL;
	struct find_vcpu f = { .vcpu = vcpu, .out = &file };

	task_lock(task);	/* task->files; then files->file_lock, as __do_SAK */
	if (task->files)
		iterate_fd(task->files, 0, match_vcpu_file, &f);
	task_unlock(task);
	return file;
}

/* The VMM's file for this vCPU: through the mm's owner, else the vCPU's thread. */
static struct file *find_vcpu_file(struct kvm *kvm, struct kvm_vcpu *vcpu)
{
	struct task_struct *task = pp_mm_owner(kvm->mm);
	struct file *file = NULL;

	if (task) {
		file = vcpu_file_of(task, vcpu);
		put_task_struct(task);
	}
	if (!file) {
		task = pp_vcpu_task(vcpu);
		if (task) {
			file = vcpu_file_of(task, vcpu);
			put_task_struct(task);
		}
	}
	return file;
}

static int prefault_start(struct pp_worker *w)
{
	struct pp_prefault *pf = kzalloc(sizeof(*pf), GFP_KERNEL);
	unsigned long addr;

	if (!pf)
		return -ENOMEM;
	pf->file = find_vcpu_file(w->job->vm->kvm, w->vcpu);
	if (!pf->file) {
		kfree(pf);
		return -ESRCH;	/* the VMM closed it, or is gone */
	}
	addr = vm_mmap(NULL, 0, PAGE_SIZE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, 0);
	if (IS_ERR_VALUE(addr)) {
		fput(pf->file);
		kfree(pf);
		return (int)addr;
	}
	pf->scratch = addr;
	w->engine = pf;
	return 0;
}

static void prefault_stop(struct pp_worker *w)
{
	struct pp_prefault *pf = w->engine;

	flush_signals(current);	/* vm_munmap would fail on a pending SIGKILL */
	vm_munmap(pf->scratch, PAGE_SIZE);
	fput(pf->file);
	kfree(pf);
}

/* No mutex to take here: KVM_PRE_FAULT_MEMORY takes it.  Skip what it cannot use. */
static enum pp_vcpu_state prefault_take(struct pp_worker *w)
{
	if (mutex_is_locked(&w->vcpu->mutex) && !pp_kickable(w->vcpu))
		return PP_VCPU_RUNNING;	/* running, and not ours to kick */
	if (pp_vcpu_in_smm(w->vcpu))
		return PP_VCPU_SMM;	/* it would map the SMM address space */
	if (pp_vcpu_in_guest_mode(w->vcpu))
		return PP_VCPU_GUEST_MODE;	/* its MMU is the nested guest's */
	return PP_VCPU_USABLE;
}

static void prefault_release(struct pp_worker *w)
{
	pp_hold_yield(w->vcpu);
}

/*
 * Fault the host pages of [gfn, gfn + n) in for write; how many pages that
 * covered.  0: the first page has no host page (the VMM unmapped it, or it
 * is poisoned): never hand it to KVM, which would retry it for ever.
 */
static long gup_write(struct pp_worker *w, const struct kvm_memory_slot *slot,
		      gfn_t gfn, gfn_t n)
{
	unsigned long hva = __gfn_to_hva_memslot(slot, gfn);
	int level;
	long got;

	got = pp_gup_write(hva, 1, w->pages);
	if (got != 1)
		return 0;
	pp_gup_put(w->pages, 1);
	level = pp_host_level(w->job->vm->mm, hva);
	if (level > PG_LEVEL_4K)	/* one host huge page covers the rest */
		return min_t(gfn_t, n, round_down(gfn, KVM_PAGES_PER_HPAGE(level)) +
			     KVM_PAGES_PER_HPAGE(level) - gfn);
	got = pp_gup_write(hva, min_t(gfn_t, n, PP_BATCH), w->pages);
	if (got <= 0)
		return 1;	/* the first page was there a moment ago */
	pp_gup_put(w->pages, got);
	return got;
}

/*
 * One KVM_PRE_FAULT_MEMORY over [*gfn, *gfn + n), the kick armed around it;
 * advances *gfn.  -ETIMEDOUT: stopped before the range was done (the vCPU
 * was not had in time, the deadline, a stop, a slot going away), not an
 * error of the call.
 */
static int prefault_range(struct pp_worker *w, gfn_t *gfn, gfn_t n)
{
	struct pp_prefault *pf = w->engine;
	struct kvm_pre_fault_memory __user *u = (void __user *)pf->scratch;
	struct kvm_pre_fault_memory r = { .gpa = gfn_to_gpa(*gfn), .size = n << PAGE_SHIFT };
	struct pp_job *job = w->job;
	struct pp_kick k;
	long ret;
	u64 now;

	if (copy_to_user(u, &r, sizeof(r)))
		return -EFAULT;
	pp_kick_arm(&k, w->vcpu, job->deadline, &job->stop);
	ret = pf->file->f_op->unlocked_ioctl(pf->file, KVM_PRE_FAULT_MEMORY, (unsigned long)u);
	pp_kick_disarm(&k);
	now = ktime_get_ns();
	w->calls++;
	if (copy_from_user(&r, u, sizeof(r)))
		return -EFAULT;
	/* the hold: from when the kick timer saw us own the mutex, else the call */
	w->max_hold_ns = max(w->max_hold_ns, now - (k.owned_ns ?: k.t0));
	if (k.kicks) {
		w->kicks++;
		w->max_kick_ns = max(w->max_kick_ns, (k.owned_ns ?: now) - k.t0);
	}
	*gfn = gpa_to_gfn(r.gpa);
	switch (ret) {
	case 0:
		return r.size ? -ETIMEDOUT : 0;
	case -EINTR:	/* our deadline or stop */
	case -ENOENT:	/* the slot went away */
	case -EAGAIN:	/* the slot is being changed (7.x) */
	case -EOPNOTSUPP:	/* the vCPU entered guest mode meanwhile */
		return -ETIMEDOUT;
	case -EFAULT:
	case -EHWPOISON:
		*gfn = gpa_to_gfn(r.gpa) + 1;	/* no host page: left to fault mode */
		return 0;
	}
	return ret;
}

static int prefault_chunk(struct pp_worker *w, gfn_t *pos, gfn_t end)
{
	struct pp_job *job = w->job;
	struct kvm *kvm = job->vm->kvm;
	gfn_t gfn = *pos;
	int idx, ret = 0;
	u64 t0;

	idx = srcu_read_lock(&kvm->srcu);
	while (gfn < end && !ret) {
		struct kvm_memory_slot *slot;
		gfn_t slot_end, n;
		int r = pp_slot_run(kvm, gfn, end, &slot, &slot_end);

		if (r < 0) {
			ret = r == -ENOENT ? 0 : r;
			break;
		}
		if (r) {
			gfn = slot_end;
			continue;
		}
		n = gup_write(w, slot, gfn, slot_end - gfn);
		if (!n) {
			*pos = ++gfn;	/* no host page: left to fault mode */
			continue;
		}
		srcu_read_unlock(&kvm->srcu, idx);
		t0 = ktime_get_ns();
		ret = prefault_range(w, &gfn, n);
		idx = srcu_read_lock(&kvm->srcu);
		*pos = gfn;
		if (pp_batch_stop(w, t0) && gfn < end)
			goto out;
		cond_resched();
	}
	if (!ret)
		*pos = end;
out:
	srcu_read_unlock(&kvm->srcu, idx);
	return ret;
}

const struct pp_engine pp_prefault_engine = {
	.name = "prefault",
	.id = KVM_PREPOP_ENGINE_PREFAULT,
	.start = prefault_start,
	.take = prefault_take,
	.chunk = prefault_chunk,
	.release = prefault_release,
	.stop = prefault_stop,
};

#endif /* PP_HAVE_PREFAULT_ENGINE */
