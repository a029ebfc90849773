// SPDX-License-Identifier: GPL-2.0
/* KVM_PREPOP_QUERY: what a populate would find, without changing anything. */
#include "compat.h"
#include "kvm_prepop.h"

static void query_vcpus(struct kvm *kvm, struct kvm_prepop_query *q)
{
	struct kvm_vcpu *vcpu;
	unsigned long i;

	kvm_for_each_vcpu(i, vcpu, kvm) {
		q->vcpus++;
		if (pp_vcpu_in_smm(vcpu))
			q->vcpus_in_smm++;
		if (pp_vcpu_in_guest_mode(vcpu))
			q->vcpus_in_guest_mode++;
		if (!mutex_trylock(&vcpu->mutex)) {
			q->vcpus_running++;
			continue;
		}
		if (pp_vcpu_state(vcpu) == PP_VCPU_USABLE)
			q->vcpus_with_root++;
		mutex_unlock(&vcpu->mutex);
	}
}

static void query_slots(struct pp_vm *vm, struct kvm_prepop_query *q)
{
	struct kvm *kvm = vm->kvm;
	struct kvm_memory_slot *slot;
	int bkt, idx;

	idx = srcu_read_lock(&kvm->srcu);
	kvm_for_each_memslot(slot, bkt, kvm_memslots(kvm)) {
		unsigned long hva = slot->userspace_addr;

		if (!kvm_is_visible_memslot(slot))
			continue;
		q->memslots++;
		if ((slot->flags & KVM_MEM_READONLY) || pp_slot_private(slot)) {
			q->memslots_readonly++;
			continue;
		}
		if (slot->flags & KVM_MEM_LOG_DIRTY_PAGES)
			q->memslots_dirty_log++;
		q->ram_bytes += slot->npages << PAGE_SHIFT;
		if (!q->uffd_armed &&
		    pp_uffd_armed(vm->mm, hva, hva + (slot->npages << PAGE_SHIFT)))
			q->uffd_armed = 1;
	}
	srcu_read_unlock(&kvm->srcu, idx);
}

long pp_query(struct pp_vm *vm, struct kvm_prepop_query *q)
{
	struct kvm *kvm = vm->kvm;
	int tdp = pp_vm_tdp_mmu(kvm);

	q->stage2 = tdp > 0 ? KVM_PREPOP_STAGE2_TDP_MMU :
		    tdp == 0 ? KVM_PREPOP_STAGE2_OTHER : KVM_PREPOP_STAGE2_UNKNOWN;
	query_vcpus(kvm, q);
	query_slots(vm, q);
	q->pages_4k = pp_vm_pages(kvm, PG_LEVEL_4K);
	q->pages_2m = pp_vm_pages(kvm, PG_LEVEL_2M);
	q->pages_1g = pp_vm_pages(kvm, PG_LEVEL_1G);
	return 0;
}
