/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Everything that depends on the kernel version, in one place.
 *
 * Kernels: Debian 12's 6.1 and Debian 13's 6.12 (RHEL 10 is 6.12-based).
 * What each helper reads is KVM-internal state those kernels expose in
 * <asm/kvm_host.h> and <linux/kvm_host.h>; the helpers mirror KVM's own
 * private inlines and SPTE layout of the same kernels (arch/x86/kvm/mmu.h,
 * mmu.c, mmu/spte.h).  From 6.18 on KVM
 * exports its internals only to kvm-amd/kvm-intel, so this engine cannot
 * load there.
 */
#ifndef KVM_PREPOP_COMPAT_H
#define KVM_PREPOP_COMPAT_H

#include <linux/kvm_host.h>
#include <linux/magic.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/pgtable.h>
#include <linux/version.h>

#define PP_KERNEL_6_1	(LINUX_VERSION_CODE >= KERNEL_VERSION(6, 1, 0) && \
			 LINUX_VERSION_CODE < KERNEL_VERSION(6, 3, 0))
#define PP_KERNEL_6_12	(LINUX_VERSION_CODE >= KERNEL_VERSION(6, 12, 0) && \
			 LINUX_VERSION_CODE < KERNEL_VERSION(6, 13, 0))
#define PP_KERNEL_7	(LINUX_VERSION_CODE >= KERNEL_VERSION(7, 0, 0) && \
			 LINUX_VERSION_CODE < KERNEL_VERSION(7, 4, 0))

#if !PP_KERNEL_6_1 && !PP_KERNEL_6_12 && !PP_KERNEL_7
/* Each kernel's KVM internals were read before it was added here. */
#error "kvm_prepop is built and tested against Linux 6.1, 6.12 and 7.0-7.3 only"
#endif

/*
 * The engines: the fault engine calls KVM's exported fault path and needs
 * vcpu_load(), which 6.18 restricted to kvm-amd/kvm-intel; the pre-fault
 * engine uses only the vCPU file's KVM_PRE_FAULT_MEMORY (6.11+).
 */
#define PP_HAVE_FAULT_ENGINE	(PP_KERNEL_6_1 || PP_KERNEL_6_12)
#define PP_HAVE_PREFAULT_ENGINE	(PP_KERNEL_6_12 || PP_KERNEL_7)

/*
 * The VM's stage-2 MMU: 1 the TDP MMU (the only one we populate), 0 another
 * (shadow paging, the legacy TDP MMU), -EAGAIN not known yet.  6.3 made
 * tdp_mmu_enabled a KVM-private global that is not exported; a VM on the
 * TDP MMU keeps its roots on tdp_mmu_roots, and has none before a vCPU
 * first loaded one.
 */
static inline int pp_vm_tdp_mmu(struct kvm *kvm)
{
#if PP_KERNEL_6_1
	return READ_ONCE(kvm->arch.tdp_mmu_enabled);
#else
	return list_empty_careful(&kvm->arch.tdp_mmu_roots) ? -EAGAIN : 1;
#endif
}

/* The task that last ran the vCPU, referenced, or NULL. */
static inline struct task_struct *pp_vcpu_task(struct kvm_vcpu *vcpu)
{
	struct task_struct *task;

#if PP_KERNEL_7
	read_lock(&vcpu->pid_lock);	/* 6.13 put vcpu->pid under a rwlock */
	task = get_pid_task(vcpu->pid, PIDTYPE_PID);
	read_unlock(&vcpu->pid_lock);
#else
	rcu_read_lock();
	task = get_pid_task(rcu_dereference(vcpu->pid), PIDTYPE_PID);
	rcu_read_unlock();
#endif
	return task;
}

/* The task that owns an mm (the VMM's main thread), referenced, or NULL. */
static inline struct task_struct *pp_mm_owner(struct mm_struct *mm)
{
	struct task_struct *task = NULL;

#ifdef CONFIG_MEMCG
	rcu_read_lock();
	task = rcu_dereference(mm->owner);
	if (task)
		get_task_struct(task);
	rcu_read_unlock();
#endif
	return task;
}

/*
 * Who owns a mutex: kernel/locking/mutex.h's __mutex_owner(), the low
 * three bits being flags (not PREEMPT_RT, where a mutex is an rt_mutex).
 */
static inline struct task_struct *pp_mutex_owner(struct mutex *lock)
{
	return (struct task_struct *)(atomic_long_read(&lock->owner) & ~0x07UL);
}

/* Free, with tasks queued on it (MUTEX_FLAG_WAITERS): one of them is waking. */
static inline bool pp_mutex_free_for_waiter(struct mutex *lock)
{
	unsigned long owner = atomic_long_read(&lock->owner);

	return !(owner & ~0x07UL) && (owner & 0x01);
}

static inline void pp_hrtimer_setup_on_stack(struct hrtimer *t,
					     enum hrtimer_restart (*fn)(struct hrtimer *))
{
#if PP_KERNEL_7
	hrtimer_setup_on_stack(t, fn, CLOCK_MONOTONIC, HRTIMER_MODE_REL);
#else
	hrtimer_init_on_stack(t, CLOCK_MONOTONIC, HRTIMER_MODE_REL);
	t->function = fn;
#endif
}

/*
 * A KVM VM's (or vCPU's) file.  file_is_kvm() is restricted to kvm-amd and
 * kvm-intel from 6.18 on; there, the file must be an anon inode named as
 * KVM names it whose operations belong to a KVM module.
 */
static inline bool pp_file_is_kvm_anon(struct file *file, const char *prefix)
{
	const struct module *owner = file->f_op ? file->f_op->owner : NULL;

	return file_inode(file)->i_sb->s_magic == ANON_INODE_FS_MAGIC &&
	       !strncmp(file->f_path.dentry->d_name.name, prefix, strlen(prefix)) &&
	       owner && (!strcmp(owner->name, "kvm") || !strcmp(owner->name, "kvm_amd") ||
			 !strcmp(owner->name, "kvm_intel"));
}

static inline bool pp_file_is_kvm_vm(struct file *file)
{
#if PP_HAVE_FAULT_ENGINE
	return file_is_kvm(file);
#else
	return pp_file_is_kvm_anon(file, "kvm-vm") &&
	       !file->f_path.dentry->d_name.name[6];
#endif
}

/*
 * guest_memfd slots (6.8+): their private pages are not in userspace_addr,
 * and a fault on one exits to the VMM.  Never populated.
 */
static inline bool pp_slot_private(const struct kvm_memory_slot *slot)
{
#if PP_KERNEL_6_1
	return false;
#elif PP_KERNEL_6_12
	return kvm_slot_can_be_private(slot);
#else
	return kvm_slot_has_gmem(slot);	/* renamed in 6.17 */
#endif
}

#if PP_KERNEL_6_1
#define pp_pud_leaf(pud)	pud_large(pud)
#define pp_pmd_leaf(pmd)	pmd_large(pmd)
#else
#define pp_pud_leaf(pud)	pud_leaf(pud)
#define pp_pmd_leaf(pmd)	pmd_leaf(pmd)
#endif

static inline bool pp_vcpu_in_guest_mode(struct kvm_vcpu *vcpu)
{
	return READ_ONCE(vcpu->arch.hflags) & HF_GUEST_MASK;
}

static inline bool pp_vcpu_in_smm(struct kvm_vcpu *vcpu)
{
	return READ_ONCE(vcpu->arch.hflags) & HF_SMM_MASK;
}

/*
 * A valid, current, direct root on the vCPU's own (L1) MMU.  With
 * vcpu->mutex held the root cannot change under us: only vCPU context
 * loads or frees it.  kvm_mmu_page_fault() WARNs on an invalid root and
 * a module cannot load one on 6.1 (kvm_mmu_load is not exported).  An
 * obsolete root (memslot change pending) is reported by the request bit.
 */
static inline bool pp_vcpu_root_ok(struct kvm_vcpu *vcpu)
{
	struct kvm_mmu *mmu = vcpu->arch.mmu;

	return mmu == &vcpu->arch.root_mmu &&
	       VALID_PAGE(mmu->root.hpa) && mmu->root_role.direct &&
	       !kvm_test_request(KVM_REQ_MMU_FREE_OBSOLETE_ROOTS, vcpu);
}

/*
 * The fault engine learns what KVM mapped by reading the held vCPU's TDP MMU
 * root (6.1 and 6.12: arch/x86/kvm/mmu/spte.h, mmu.h, tdp_mmu.c).  The bits
 * are the same on NPT and EPT:
 * - bit 11, SPTE_MMU_PRESENT_MASK: set in every present SPTE, also an
 *   access-tracked one (EPT without A/D bits); never in a non-present, MMIO,
 *   or frozen (6.1 REMOVED_SPTE 0x5a0, 6.12 FROZEN_SPTE bit 63 | 0x5a0) one;
 * - bit 7, PT_PAGE_SIZE_MASK: a leaf above 4K;
 * - SPTE_BASE_ADDR_MASK, physical_mask & PAGE_MASK: the next table (the SME
 *   C-bit, in shadow_me_mask, is outside physical_mask).
 * The TDP MMU frees page tables through RCU (call_rcu in tdp_mmu.c), which
 * is what lets KVM's own lockless walks read them under rcu_read_lock(); the
 * root is the held vCPU's own, referenced until the vCPU unloads it.
 */
#if PP_HAVE_FAULT_ENGINE
#define PP_SPTE_PRESENT		BIT_ULL(11)
#define PP_SPTE_LARGE		BIT_ULL(7)
#define PP_SPTE_ADDR		((u64)__PHYSICAL_MASK & PAGE_MASK)
#define PP_SPTE_INDEX(gfn, level)	(((gfn) >> (((level) - 1) * 9)) & 511)

/*
 * With vcpu->mutex held and a TDP MMU root loaded (pp_vcpu_root_ok): the
 * level of the leaf that maps gfn now, 0 if none does.
 */
static inline int pp_vcpu_leaf_level(struct kvm_vcpu *vcpu, gfn_t gfn)
{
	struct kvm_mmu *mmu = vcpu->arch.mmu;
	int level = mmu->root_role.level;
	u64 *table, spte;

	if (!VALID_PAGE(mmu->root.hpa))
		return 0;
	rcu_read_lock();
	table = __va(mmu->root.hpa);
	for (;;) {
		spte = READ_ONCE(table[PP_SPTE_INDEX(gfn, level)]);
		if (!(spte & PP_SPTE_PRESENT)) {
			level = 0;
			break;
		}
		if (level == PG_LEVEL_4K || (spte & PP_SPTE_LARGE))
			break;
		table = __va(spte & PP_SPTE_ADDR);
		level--;
	}
	rcu_read_unlock();
	return level;
}
#endif

/*
 * mmu.c: host_pfn_mapping_level(): the size the host maps hva with.  Only a
 * hint of how many host pages to fault in at once: what KVM maps is read
 * back (pp_vcpu_leaf_level), or stepped by KVM itself (pre-fault).
 */
static inline int pp_host_level(struct mm_struct *mm, unsigned long hva)
{
	int level = PG_LEVEL_4K;
	unsigned long flags;
	pgd_t pgd;
	p4d_t p4d;
	pud_t pud;
	pmd_t pmd;

	local_irq_save(flags);
	pgd = READ_ONCE(*pgd_offset(mm, hva));
	if (pgd_none(pgd))
		goto out;
	p4d = READ_ONCE(*p4d_offset(&pgd, hva));
	if (p4d_none(p4d) || !p4d_present(p4d))
		goto out;
	pud = READ_ONCE(*pud_offset(&p4d, hva));
	if (pud_none(pud) || !pud_present(pud))
		goto out;
	if (pp_pud_leaf(pud)) {
		level = PG_LEVEL_1G;
		goto out;
	}
	pmd = READ_ONCE(*pmd_offset(&pud, hva));
	if (pmd_none(pmd) || !pmd_present(pmd))
		goto out;
	if (pp_pmd_leaf(pmd))
		level = PG_LEVEL_2M;
out:
	local_irq_restore(flags);
	return level;
}

/*
 * Fault host pages in for write, waiting for I/O, with current->mm, and pin
 * them (FOLL_PIN): reclaim cannot unmap a pinned page between here and
 * KVM's fault, which would otherwise take the async-PF path and inject a
 * "page not present" into the borrowed vCPU's guest.
 */
static inline long pp_gup_write(unsigned long hva, unsigned long n,
				struct page **pages)
{
	return pin_user_pages_unlocked(hva, n, pages, FOLL_WRITE);
}

static inline void pp_gup_put(struct page **pages, unsigned long n)
{
	unpin_user_pages(pages, n);
}

/*
 * Shadow pages for a nested guest write-protect L1 gfns; a write fault on
 * one returns RET_PF_EMULATE, and with no instruction bytes KVM would
 * emulate at the vCPU's current RIP.  Such VMs are refused.
 */
static inline bool pp_vm_has_shadow_pages(struct kvm *kvm)
{
	return READ_ONCE(kvm->arch.indirect_shadow_pages) != 0;
}

/* The held vCPU's fault outcome counters (mmu_internal.h: kvm_mmu_do_page_fault). */
struct pp_pf_stat {
	u64 fixed, spurious, emulate;
};

static inline void pp_vcpu_pf_stat(struct kvm_vcpu *vcpu, struct pp_pf_stat *s)
{
	s->fixed = READ_ONCE(vcpu->stat.pf_fixed);
	s->spurious = READ_ONCE(vcpu->stat.pf_spurious);
	s->emulate = READ_ONCE(vcpu->stat.pf_emulate);
}

static inline u64 pp_vm_pages(struct kvm *kvm, int level)
{
	return atomic64_read(&kvm->stat.pages[level - PG_LEVEL_4K]);
}

#endif
