// SPDX-License-Identifier: GPL-2.0
/*
 * The fault engine (6.1, 6.12): each worker holds its vCPU's mutex for a
 * chunk (hold.c) and maps pages through KVM's own exported fault path,
 * kvm_mmu_page_fault(), one call per leaf: after each call it reads back
 * the size of the leaf KVM mapped and steps past it.  Needs KVM's internals
 * exported to modules, which ends with 6.18.
 */
#include <linux/delay.h>
#include <linux/mm.h>
#include <linux/sched.h>

#include "compat.h"
#include "job.h"

#if PP_HAVE_FAULT_ENGINE

#define PP_FAULT_TRIES 16
#define PP_RT_HOLD_NS	(200 * NSEC_PER_MSEC)

/*
 * Fault gfn in through KVM's own fault path, on the held vCPU, as a read
 * (error code 0).  A write fault on a write-tracked gfn (shadow pages of a
 * nested guest, KVMGT) returns RET_PF_EMULATE, and KVM would then emulate
 * the instruction at the borrowed vCPU's RIP; a read fault cannot, and it
 * still maps the page writable because it was faulted in for write first.
 * kvm_mmu_page_fault() returns 1 for fixed, spurious and retried faults
 * alike; the held vCPU's own stats tell them apart, so a fault KVM gave up
 * on (an invalidation raced with it, another worker linked the same table
 * first, the slot is being deleted) is asked again, bounded.
 */
static int fault(struct pp_worker *w, gfn_t gfn)
{
	struct kvm_vcpu *vcpu = w->vcpu;
	struct kvm *kvm = vcpu->kvm;
	struct pp_pf_stat before, after;
	int r, tries = 0;

	do {
		if (tries)	/* the worker may be real-time: let the invalidation run */
			usleep_range(20, 50);
		pp_vcpu_pf_stat(vcpu, &before);
		r = kvm_mmu_page_fault(vcpu, gfn_to_gpa(gfn), 0, NULL, 0);
		w->calls++;
		pp_vcpu_pf_stat(vcpu, &after);
		if (after.emulate != before.emulate) {
			atomic64_inc(&pp_counters.err_emulate);
			return -EIO;	/* cannot happen for a read fault in a slot */
		}
		if (r < 0)	/* no host page (the VMM unmapped it): left to fault mode */
			return READ_ONCE(kvm->vm_bugged) ? -EIO : 0;
		if (after.fixed != before.fixed || after.spurious != before.spurious)
			return 0;	/* mapped now, or it already was */
		if (atomic_read(&w->job->stop))
			return -ETIMEDOUT;	/* not mapped: stop here, not an error */
	} while (++tries < PP_FAULT_TRIES);
	atomic64_inc(&pp_counters.fault_gave_up);
	return -EAGAIN;	/* not mapped: stop here, the caller may try again */
}

/*
 * After a fault at gfn: the first gfn past the leaf KVM maps it with, read
 * back from the held vCPU's root rather than predicted.  KVM's choice
 * depends on more than the host mapping and the slot: NX huge pages (no
 * huge page over a page table made for an executed page), the EPT/NPT
 * large-page caps (1G), the guest MTRRs with non-coherent DMA (6.1, VMX),
 * write tracking.  A page no leaf maps any more (zapped since) steps by one.
 */
static gfn_t leaf_end(struct kvm_vcpu *vcpu, gfn_t gfn, int *level)
{
	*level = pp_vcpu_leaf_level(vcpu, gfn);
	/* no leaf (zapped meanwhile), or none KVM makes (above 1G): one page */
	if (*level > PG_LEVEL_1G)
		*level = 0;
	if (*level <= PG_LEVEL_4K)
		return gfn + 1;
	return round_down(gfn, KVM_PAGES_PER_HPAGE(*level)) +
	       KVM_PAGES_PER_HPAGE(*level);
}

/*
 * Map one batch of [*gfn, end) of one slot: the page at *gfn if the host
 * maps it huge (KVM maps all of the leaf it chooses in one call), else up
 * to PP_BATCH 4K pages; advances *gfn past what got mapped.  *small_end:
 * the end of the 2M a host huge page's page was mapped at 4K in; up to
 * there pages go in 4K batches.
 */
static int map_run(struct pp_worker *w, const struct kvm_memory_slot *slot,
		   gfn_t *gfn, gfn_t end, gfn_t *small_end)
{
	struct kvm_vcpu *vcpu = w->vcpu;
	unsigned long hva = __gfn_to_hva_memslot(slot, *gfn);
	gfn_t g, n = min_t(gfn_t, end - *gfn, PP_BATCH);
	int host = PG_LEVEL_4K, level, ret = 0;
	long got;

	if (*gfn < *small_end)
		n = min(n, *small_end - *gfn);
	else
		host = pp_host_level(vcpu->kvm->mm, hva);
	if (host > PG_LEVEL_4K)
		n = 1;
	/* Fault the host pages in first: KVM then finds them without async PF. */
	got = pp_gup_write(hva, n, w->pages);
	if (got <= 0) {
		(*gfn)++;	/* not mappable: the guest will fault it */
		return 0;
	}
	for (g = *gfn; g < *gfn + got; ) {
		gfn_t next;

		ret = fault(w, g);
		if (ret)
			break;	/* g is not done */
		next = leaf_end(vcpu, g, &level);
		/* a page table under this 2M: the rest of it is 4K too */
		if (host > PG_LEVEL_4K && level == PG_LEVEL_4K)
			*small_end = round_down(g, KVM_PAGES_PER_HPAGE(PG_LEVEL_2M)) +
				     KVM_PAGES_PER_HPAGE(PG_LEVEL_2M);
		g = next;
	}
	pp_gup_put(w->pages, got);
	*gfn = g;
	return ret;
}

/*
 * Map [*gfn, end); advances *gfn.  Returns early, with *gfn < end, when the
 * deadline is near or the call is stopped: pp_batch_stop() after every batch.
 */
static int fault_chunk(struct pp_worker *w, gfn_t *pos, gfn_t end)
{
	gfn_t gfn = *pos, small_end = 0;
	struct kvm_vcpu *vcpu = w->vcpu;
	struct kvm *kvm = vcpu->kvm;
	int ret = 0;

	if (!pp_vcpu_root_ok(vcpu))
		return -EAGAIN;	/* memslots changed: the root is obsolete */
	if (pp_vm_has_shadow_pages(kvm))
		return -EBUSY;
	kvm_vcpu_srcu_read_lock(vcpu);
	while (gfn < end && !ret) {
		struct kvm_memory_slot *slot;
		gfn_t slot_end;
		int r = pp_slot_run(kvm, gfn, end, &slot, &slot_end);

		if (r < 0) {
			ret = r == -ENOENT ? 0 : r;
			break;
		}
		if (r) {
			gfn = slot_end;
			continue;
		}
		while (gfn < slot_end && !ret) {
			u64 t0 = ktime_get_ns();

			ret = map_run(w, slot, &gfn, slot_end, &small_end);
			*pos = gfn;
			if (pp_batch_stop(w, t0) && gfn < end)
				goto out;
			cond_resched();
		}
	}
	if (!ret)
		*pos = end;	/* the rest of the chunk has no RAM to map */
out:
	kvm_vcpu_srcu_read_unlock(vcpu);
	return ret;
}

/* Take the vCPU for one chunk; PP_VCPU_RUNNING if it could not be had in time. */
static enum pp_vcpu_state fault_take(struct pp_worker *w)
{
	struct pp_job *job = w->job;
	enum pp_vcpu_state st;
	u64 kick_ns;

	if (pp_hold_take(w->vcpu, job->deadline, &job->stop, &kick_ns))
		return PP_VCPU_RUNNING;
	w->t_taken = ktime_get_ns();
	if (kick_ns) {
		w->kicks++;
		w->max_kick_ns = max(w->max_kick_ns, kick_ns);
	}
	st = pp_vcpu_state(w->vcpu);
	if (st != PP_VCPU_USABLE) {
		pp_hold_release(w->vcpu);
		return st;
	}
	/*
	 * While it holds the vCPU the worker runs at the lowest real-time
	 * priority: the hold is bounded by the deadline checked per batch,
	 * and a runnable neighbour preempting the worker mid-batch stretched
	 * a hold past the ceiling (134 ms against 100 ms, prepopd restarting
	 * next to the populate).  The vCPU's own thread waits on the mutex
	 * meanwhile.  Only for a deadline PP_RT_HOLD_NS away at most, so no
	 * neighbour on this CPU waits longer than that and a batch (a
	 * max_hold_ms of seconds holds at normal priority).
	 */
	if (job->deadline && job->deadline <= w->t_taken + PP_RT_HOLD_NS)
		sched_set_fifo_low(current);
	vcpu_load(w->vcpu);
	return st;
}

static void fault_release(struct pp_worker *w)
{
	vcpu_put(w->vcpu);
	pp_hold_release(w->vcpu);
	w->max_hold_ns = max(w->max_hold_ns, ktime_get_ns() - w->t_taken);
	/* after the release: dropping to normal may switch to a waiting task */
	if (rt_task(current))
		sched_set_normal(current, 0);
	pp_hold_yield(w->vcpu);
}

/*
 * Before the vCPU is taken: fault the chunk's host pages in for write, so
 * the hold is KVM's faults only.  Allocating, zeroing or compacting host
 * memory (a THP under direct compaction: 100 ms in the emulated host) with
 * the guest's vCPU held stretched holds past the ceiling.  What reclaim
 * takes back meanwhile is faulted in again under the hold, pinned.
 */
static void fault_prepare(struct pp_worker *w, gfn_t s, gfn_t e)
{
	struct kvm *kvm = w->job->vm->kvm;
	int idx = srcu_read_lock(&kvm->srcu);

	while (s < e && !atomic_read(&w->job->stop) && !pp_job_vm_gone(w->job)) {
		struct kvm_memory_slot *slot;
		gfn_t run_end, g;
		int r = pp_slot_run(kvm, s, e, &slot, &run_end);

		if (r < 0)
			break;
		for (g = s; !r && g < run_end; ) {
			long got = pp_gup_write(__gfn_to_hva_memslot(slot, g),
						min_t(gfn_t, run_end - g, PP_BATCH), w->pages);

			if (got <= 0) {
				g++;
				continue;
			}
			pp_gup_put(w->pages, got);
			g += got;
		}
		s = run_end;
	}
	srcu_read_unlock(&kvm->srcu, idx);
}

const struct pp_engine pp_fault_engine = {
	.name = "fault",
	.id = KVM_PREPOP_ENGINE_FAULT,
	.take = fault_take,
	.prepare = fault_prepare,
	.chunk = fault_chunk,
	.release = fault_release,
};

#endif /* PP_HAVE_FAULT_ENGINE */
