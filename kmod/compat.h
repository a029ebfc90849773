/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Everything that depends on the kernel version, in one place.
 *
 * Baseline: Debian 12's 6.1 (built and tested in the testbed).  What each
 * helper reads is KVM-internal state that 6.1 exposes in
 * <asm/kvm_host.h>; the helpers mirror KVM's own private inlines of the
 * same kernel (arch/x86/kvm/mmu.h, kvm_cache_regs.h, mmu.c) so that what
 * we predict is what KVM's fault path will do.
 */
#ifndef KVM_PREPOP_COMPAT_H
#define KVM_PREPOP_COMPAT_H

#include <linux/kvm_host.h>
#include <linux/mm.h>
#include <linux/pgtable.h>
#include <linux/version.h>

#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 1, 0) || \
	LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
/*
 * 6.3 moved tdp_mmu_enabled from struct kvm_arch to a KVM-private global,
 * and later kernels rename pud_large()/pmd_large(): port this file first.
 */
#error "kvm_prepop is built and tested against Linux 6.1 and 6.2 only"
#endif

/* The VM uses the TDP MMU (the only stage-2 we populate). */
static inline bool pp_vm_tdp_mmu(struct kvm *kvm)
{
	return READ_ONCE(kvm->arch.tdp_mmu_enabled);
}

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

/* arch/x86/kvm/mmu.h: gfn_to_index() */
static inline unsigned long pp_gfn_to_index(gfn_t gfn, gfn_t base_gfn, int level)
{
	return (gfn >> KVM_HPAGE_GFN_SHIFT(level)) -
	       (base_gfn >> KVM_HPAGE_GFN_SHIFT(level));
}

/* mmu.c: lpage_info_slot()->disallow_lpage (unaligned slot ends, write tracking). */
static inline bool pp_lpage_disallowed(const struct kvm_memory_slot *slot,
				       gfn_t gfn, int level)
{
	unsigned long idx = pp_gfn_to_index(gfn, slot->base_gfn, level);

	return slot->arch.lpage_info[level - 2][idx].disallow_lpage;
}

/* mmu.c: host_pfn_mapping_level(): the size the host maps hva with. */
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
	if (pud_large(pud)) {
		level = PG_LEVEL_1G;
		goto out;
	}
	pmd = READ_ONCE(*pmd_offset(&pud, hva));
	if (pmd_none(pmd) || !pmd_present(pmd))
		goto out;
	if (pmd_large(pmd))
		level = PG_LEVEL_2M;
out:
	local_irq_restore(flags);
	return level;
}

/* Fault host pages in for write, waiting for I/O, with current->mm. */
static inline long pp_gup_write(unsigned long hva, unsigned long n,
				struct page **pages)
{
	return get_user_pages_unlocked(hva, n, pages, FOLL_WRITE);
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
