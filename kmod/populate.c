// SPDX-License-Identifier: GPL-2.0
/*
 * KVM_PREPOP_POPULATE: map guest RAM in a VM's stage-2 tables through KVM's
 * own fault path, from kthreads that each hold one of the VM's vCPUs.
 *
 * The range is cut into chunks (2 MiB of guest-physical space, 1 GiB on
 * 1 GiB hugetlbfs) handed out in address order from one atomic counter.
 * A worker takes its vCPU (hold.c) for one chunk at a time and lets go of
 * it between chunks, so the VMM's vCPU thread gets its turn.  Within a
 * chunk the deadline is checked after every batch (PP_BATCH 4K pages or
 * one huge leaf), and a batch that would not fit before it, taking as long
 * as the longest so far, is not begun (pp_batch_stop).
 * A worker that stops inside a chunk records where; the cursor a call
 * returns is the lowest such place, or the first chunk not handed out, so
 * everything below it is mapped.
 */
#include <linux/highmem.h>
#include <linux/hugetlb.h>
#include <linux/kthread.h>
#include <linux/memcontrol.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>

#include "compat.h"
#include "job.h"

static unsigned int slot_chunk_shift(struct mm_struct *mm, unsigned long hva)
{
	struct vm_area_struct *vma;
	unsigned int shift = PMD_SHIFT - PAGE_SHIFT;

	mmap_read_lock(mm);
	vma = vma_lookup(mm, hva);
	if (vma && is_vm_hugetlb_page(vma) &&
	    huge_page_size(hstate_vma(vma)) >= PUD_SIZE)
		shift = PUD_SHIFT - PAGE_SHIFT;
	mmap_read_unlock(mm);
	return shift;
}

/* The writable user memslots' parts of [start, end); *end is clipped to RAM. */
static int build_segs(struct pp_job *job, gfn_t start, gfn_t *end)
{
	struct kvm *kvm = job->vm->kvm;
	struct kvm_memslot_iter iter;
	struct kvm_memslots *slots;
	gfn_t last = start;
	int idx, ret = 0;

	job->segs = kvcalloc(KVM_USER_MEM_SLOTS, sizeof(*job->segs), GFP_KERNEL);
	if (!job->segs)
		return -ENOMEM;
	idx = srcu_read_lock(&kvm->srcu);
	slots = kvm_memslots(kvm);
	kvm_for_each_memslot_in_gfn_range(&iter, slots, start, *end) {
		struct kvm_memory_slot *slot = iter.slot;
		struct pp_seg *seg;
		unsigned long hva;
		gfn_t s, e;

		if (!kvm_is_visible_memslot(slot))
			continue;
		if (slot->flags & KVM_MEM_LOG_DIRTY_PAGES) {
			ret = -EBUSY;
			break;
		}
		if ((slot->flags & KVM_MEM_READONLY) || pp_slot_private(slot))
			continue;
		if (job->nsegs == KVM_USER_MEM_SLOTS)
			break;
		s = max(start, slot->base_gfn);
		e = min(*end, slot->base_gfn + slot->npages);
		hva = __gfn_to_hva_memslot(slot, s);
		if (pp_uffd_armed(job->vm->mm, hva, hva + ((e - s) << PAGE_SHIFT))) {
			ret = -EBUSY;
			break;
		}
		seg = &job->segs[job->nsegs++];
		seg->start = s;
		seg->end = e;
		seg->shift = slot_chunk_shift(job->vm->mm, hva);
		seg->base = round_down(s, 1ULL << seg->shift);
		seg->first = job->nchunks;
		job->nchunks += (round_up(e, 1ULL << seg->shift) - seg->base) >> seg->shift;
		last = e;
	}
	srcu_read_unlock(&kvm->srcu, idx);
	*end = min(*end, last);
	return ret;
}

static void chunk_range(struct pp_job *job, u64 chunk, gfn_t *s, gfn_t *e)
{
	int lo = 0, hi = job->nsegs - 1;
	struct pp_seg *seg;
	gfn_t cs;

	while (lo < hi) {
		int mid = (lo + hi + 1) / 2;

		if (job->segs[mid].first <= chunk)
			lo = mid;
		else
			hi = mid - 1;
	}
	seg = &job->segs[lo];
	cs = seg->base + ((chunk - seg->first) << seg->shift);
	*s = max(cs, seg->start);
	*e = min(cs + (1ULL << seg->shift), seg->end);
}

bool pp_past_deadline(struct pp_job *job)
{
	return job->deadline && ktime_get_ns() >= job->deadline;
}

bool pp_job_vm_gone(struct pp_job *job)
{
	if (atomic_read(&job->gone))
		return true;
	if (!pp_vm_gone(job->vm))
		return false;
	atomic_set(&job->gone, 1);
	atomic_set(&job->stop, 1);
	return true;
}

int pp_slot_run(struct kvm *kvm, gfn_t gfn, gfn_t end,
		struct kvm_memory_slot **slotp, gfn_t *run_end)
{
	struct kvm_memory_slot *slot = __gfn_to_memslot(kvm_memslots(kvm), gfn);

	if (!kvm_is_visible_memslot(slot))
		return -ENOENT;	/* deleted or moved since we started */
	if (slot->flags & KVM_MEM_LOG_DIRTY_PAGES)
		return -EBUSY;	/* write faults would dirty the whole guest mid-migration */
	*run_end = min(end, slot->base_gfn + slot->npages);
	*slotp = slot;
	if ((slot->flags & KVM_MEM_READONLY) || pp_slot_private(slot))
		return 1;
	if (pp_uffd_armed(kvm->mm, __gfn_to_hva_memslot(slot, gfn),
			  __gfn_to_hva_memslot(slot, *run_end - 1) + 1))
		return -EBUSY;	/* post-copy: GUP would wait for a page for ever */
	return 0;
}

bool pp_batch_stop(struct pp_worker *w, u64 t0)
{
	struct pp_job *job = w->job;
	u64 now = ktime_get_ns();

	w->max_batch_ns = max(w->max_batch_ns, now - t0);
	return atomic_read(&job->stop) || pp_job_vm_gone(job) ||
	       now + w->max_batch_ns >= job->deadline;
}

/* Is there work left for a worker to take its vCPU for? */
static bool more_work(struct pp_job *job)
{
	if (atomic_read(&job->stop))
		return false;
	if (atomic64_read(&job->next) > 0 && pp_past_deadline(job))
		return false;
	return READ_ONCE(job->nrequeue) || (u64)atomic64_read(&job->next) < job->nchunks;
}

static bool next_chunk(struct pp_job *job, u64 *chunk)
{
	if (atomic_read(&job->stop) || pp_job_vm_gone(job))
		return false;
	/* the budget is checked between chunks; every call maps at least one */
	if (atomic64_read(&job->next) > 0 && pp_past_deadline(job))
		return false;
	if (READ_ONCE(job->nrequeue)) {
		bool got = false;

		spin_lock(&job->lock);
		if (job->nrequeue) {
			*chunk = job->requeue[--job->nrequeue];
			got = true;
		}
		spin_unlock(&job->lock);
		if (got)
			return true;
	}
	*chunk = atomic64_fetch_inc(&job->next);
	return *chunk < job->nchunks;
}

/* A worker that could not get its vCPU hands its untouched chunk back. */
static bool requeue(struct pp_job *job, u64 chunk)
{
	bool ok = false;

	spin_lock(&job->lock);
	if (job->nrequeue < PP_REQUEUE) {
		job->requeue[job->nrequeue++] = chunk;
		ok = true;
	}
	spin_unlock(&job->lock);
	return ok;
}

/* A worker left chunk unfinished at gfn: with err, or at the deadline (0). */
static void job_unfinished(struct pp_job *job, u64 chunk, gfn_t gfn, int err)
{
	spin_lock(&job->lock);
	if (chunk < job->failed) {
		job->failed = chunk;
		job->failed_gfn = gfn;
		job->error = err;
	}
	spin_unlock(&job->lock);
	if (err)
		atomic_set(&job->stop, 1);
}

static int worker_fn(void *data)
{
	struct pp_worker *w = data;
	struct pp_job *job = w->job;
	const struct pp_engine *eng = job->engine;
	struct mem_cgroup *memcg, *old_memcg;
	enum pp_vcpu_state st;
	bool held;
	u64 chunk;
	gfn_t s, s0, e;
	int ret;

	allow_signal(SIGKILL);	/* how a bounded wait for the vCPU ends */
	/* never adopt the mm of a VMM that has gone: nothing to do for it */
	if (pp_job_vm_gone(job)) {
		w->state = PP_VCPU_RUNNING;
		w->error = -ESRCH;
		complete(&w->claimed);
		goto exit;
	}
	pp_adopt_placement(w->vcpu, job->vm->mm);
	kthread_use_mm(job->vm->mm);
	/*
	 * KVM's page-table pages are charged (GFP_KERNEL_ACCOUNT) to the
	 * current task's memory cgroup, and a kthread has none: charge them
	 * to the VMM's, as when its own vCPU threads fault.
	 */
	memcg = get_mem_cgroup_from_mm(job->vm->mm);
	old_memcg = set_active_memcg(memcg);
	/* the batch's pages, for either engine's write fault-in */
	w->pages = kmalloc_array(PP_BATCH, sizeof(*w->pages), GFP_KERNEL);
	ret = w->pages ? 0 : -ENOMEM;
	if (!ret && eng->start)
		ret = eng->start(w);
	if (ret) {
		w->state = PP_VCPU_RUNNING;
		w->error = ret;
		complete(&w->claimed);
		goto out;
	}
	/* the first take says whether this vCPU can be used at all */
	st = eng->take(w);
	w->state = st;
	complete(&w->claimed);
	held = st == PP_VCPU_USABLE;
	while (held || st == PP_VCPU_USABLE) {
		if (!more_work(job))
			break;	/* no kick, no hold for nothing */
		/* nor one that would end past the deadline, if it takes as long as the longest */
		if (w->max_batch_ns && ktime_get_ns() + w->max_batch_ns >= job->deadline)
			break;
		if (!next_chunk(job, &chunk))
			break;
		chunk_range(job, chunk, &s, &e);
		if (eng->prepare) {
			/* what needs no vCPU (the host's page faults) is done without one */
			if (held)
				eng->release(w);
			held = false;
			/*
			 * at the caller's priority (prepopd's unit sets it), not
			 * below it: a busy guest's vCPU threads would starve it
			 */
			set_user_nice(current, job->nice);
			eng->prepare(w, s, e);
			set_user_nice(current, 0);	/* holding: as fast as it can */
		}
		if (!held) {
			st = eng->take(w);
			if (st != PP_VCPU_USABLE) {
				if (!requeue(job, chunk))
					job_unfinished(job, chunk, s, 0);
				break;
			}
		}
		held = false;
		s0 = s;
		ret = eng->chunk(w, &s, e);
		eng->release(w);
		if (s > s0)
			atomic_inc(&job->progress);
		if (ret == -ETIMEDOUT && s == s0 && requeue(job, chunk))
			break;	/* another worker may map it */
		if (ret || s < e) {
			job_unfinished(job, chunk, s, ret == -ETIMEDOUT ? 0 : ret);
			break;
		}
	}
	if (held)
		eng->release(w);
	if (eng->stop)
		eng->stop(w);
out:
	kfree(w->pages);
	set_active_memcg(old_memcg);
	mem_cgroup_put(memcg);
	kthread_unuse_mm(job->vm->mm);
exit:
	kthread_complete_and_exit(&w->exited, 0);
}

/* Start one worker per vCPU until max are usable; returns how many are. */
/* A started worker's first take: tally its state. */
static void claimed(struct pp_worker *w, int states[], int *used, int *err)
{
	wait_for_completion(&w->claimed);
	if (w->error)
		*err = w->error;	/* the engine could not start on this vCPU */
	states[w->state]++;
	if (w->state == PP_VCPU_USABLE)
		(*used)++;
}

/*
 * Start one worker per vCPU; returns how many got their vCPU.  With no cap
 * below the vCPU count they all start at once, so their first takes (and
 * kicks) overlap; with a cap, one after another until max are usable.
 */
static int start_workers(struct pp_job *job, struct pp_worker *workers,
			 int nvcpus, unsigned int max, int *nstarted,
			 int states[], int *err)
{
	bool all = max >= (unsigned int)nvcpus;
	struct kvm_vcpu *vcpu;
	unsigned long i;
	int n, used = 0;

	*err = 0;
	kvm_for_each_vcpu(i, vcpu, job->vm->kvm) {
		struct pp_worker *w = &workers[*nstarted];
		struct task_struct *t;

		if (used == max || *nstarted == nvcpus)
			break;
		w->job = job;
		w->vcpu = vcpu;
		init_completion(&w->claimed);
		init_completion(&w->exited);
		t = kthread_run(worker_fn, w, "kvm_prepop/%lu", i);
		if (IS_ERR(t)) {
			*err = PTR_ERR(t);	/* -ENOMEM, or -EINTR if we were killed */
			break;
		}
		w->task = t;
		(*nstarted)++;
		if (!all)
			claimed(w, states, &used, err);
	}
	for (n = 0; all && n < *nstarted; n++)
		claimed(&workers[n], states, &used, err);
	return used;
}

/* Wait for every worker; a fatal signal stops them after their chunk. */
static bool wait_workers(struct pp_job *job, struct pp_worker *workers, int n)
{
	bool killed = false;
	int i;

	for (i = 0; i < n; i++) {
		if (!killed && wait_for_completion_killable(&workers[i].exited)) {
			killed = true;
			atomic_set(&job->stop, 1);
		}
		if (killed)
			wait_for_completion(&workers[i].exited);
	}
	return killed;
}

static void count_leaves(struct kvm *kvm, u64 *v)
{
	int l;

	for (l = PG_LEVEL_4K; l <= PG_LEVEL_1G; l++)
		v[l - PG_LEVEL_4K] = pp_vm_pages(kvm, l);
}

static long run_job(struct pp_job *job, struct kvm_prepop_populate *arg,
		    gfn_t end)
{
	struct kvm *kvm = job->vm->kvm;
	int nvcpus = atomic_read(&kvm->online_vcpus);
	int states[PP_VCPU_GUEST_MODE + 1] = { 0 };
	struct pp_worker *workers;
	int i, used, nstarted = 0, err;
	u64 done;
	long ret = 0;

	workers = kvcalloc(max(nvcpus, 1), sizeof(*workers), GFP_KERNEL);
	if (!workers)
		return -ENOMEM;
	used = start_workers(job, workers, nvcpus,
			     arg->max_threads ? arg->max_threads : PP_MAX_WORKERS,
			     &nstarted, states, &err);
	/* a caller killed while its workers finished anyway was still killed */
	if (wait_workers(job, workers, nstarted) || fatal_signal_pending(current))
		ret = -EINTR;
	for (i = 0; i < nstarted; i++) {
		arg->fault_calls += workers[i].calls;
		arg->kicks += workers[i].kicks;
		arg->max_hold_ns = max(arg->max_hold_ns, workers[i].max_hold_ns);
		arg->max_kick_ns = max(arg->max_kick_ns, workers[i].max_kick_ns);
	}
	kvfree(workers);
	/* a chunk handed back that no worker took again is not done */
	while (job->nrequeue) {
		u64 c = job->requeue[--job->nrequeue];
		gfn_t cs, ce;

		chunk_range(job, c, &cs, &ce);
		job_unfinished(job, c, cs, 0);
	}
	arg->workers = used;
	if (!used && !ret)
		return err ?: states[PP_VCPU_NO_ROOT] ? -EAGAIN : -EBUSY;
	done = min3((u64)atomic64_read(&job->next), job->nchunks, job->failed);
	if (done == job->failed) {
		arg->next_gpa = gfn_to_gpa(job->failed_gfn);
	} else if (done == job->nchunks) {
		arg->next_gpa = gfn_to_gpa(end);
	} else {
		gfn_t s, e;

		chunk_range(job, done, &s, &e);
		arg->next_gpa = gfn_to_gpa(s);
	}
	if (!ret && atomic_read(&job->gone))
		ret = -ESRCH;	/* the VMM exited: nothing to resume */
	if (!ret)
		ret = job->error;
	if (!ret && !atomic_read(&job->progress) && job->nchunks)
		ret = -EBUSY;	/* no worker got its vCPU in time: nothing done */
	return ret;
}

long pp_populate(struct pp_vm *vm, struct kvm_prepop_populate *arg)
{
	struct kvm *kvm = vm->kvm;
	struct pp_job job = { .engine = pp_engine(), .vm = vm, .failed = U64_MAX };
	u64 t0 = ktime_get_ns(), before[3], after[3];
	gfn_t start = gpa_to_gfn(arg->start_gpa);
	gfn_t end = arg->end_gpa ? gpa_to_gfn(arg->end_gpa) : (gfn_t)-1;
	long ret;

	arg->next_gpa = arg->start_gpa;
	if (arg->end_gpa && arg->end_gpa == arg->start_gpa)
		return 0;	/* an empty range is done */
	/* first: a dying VM may have no roots, which would read as -EAGAIN */
	if (pp_vm_gone(vm))
		return -ESRCH;
	/*
	 * The fault engine needs the TDP MMU and no nested shadow pages (see
	 * fault.c); KVM_PRE_FAULT_MEMORY checks what it needs for itself.
	 */
	if (job.engine->id == KVM_PREPOP_ENGINE_FAULT) {
		ret = pp_vm_tdp_mmu(kvm);
		if (ret <= 0)
			return ret ?: -EOPNOTSUPP;
		if (pp_vm_has_shadow_pages(kvm))
			return -EBUSY;
	}
	ret = pp_vm_claim(kvm);
	if (ret)
		return ret;
	spin_lock_init(&job.lock);
	/* no budget, not even 0 (none), holds a vCPU past the ceiling */
	job.deadline = t0 + min_not_zero(arg->budget_ns, pp_hold_ceiling_ns());
	job.nice = task_nice(current);
	count_leaves(kvm, before);
	ret = build_segs(&job, start, &end);
	if (ret)
		goto out;	/* refused as a whole: next_gpa and end_gpa as given */
	if (job.nchunks)
		ret = run_job(&job, arg, end);
	else
		arg->next_gpa = gfn_to_gpa(max(start, end));
	if (!arg->end_gpa)
		arg->end_gpa = gfn_to_gpa(max(start, end));	/* tell the caller where RAM ends */
	else if (!ret && arg->next_gpa >= gfn_to_gpa(max(start, end)))
		arg->next_gpa = arg->end_gpa;	/* no RAM past here: the range is done */
out:
	count_leaves(kvm, after);
	arg->mapped_4k = after[0] > before[0] ? after[0] - before[0] : 0;
	arg->mapped_2m = after[1] > before[1] ? after[1] - before[1] : 0;
	arg->mapped_1g = after[2] > before[2] ? after[2] - before[2] : 0;
	arg->elapsed_ns = ktime_get_ns() - t0;
	kvfree(job.segs);
	pp_vm_unclaim(kvm);
	return ret;
}
