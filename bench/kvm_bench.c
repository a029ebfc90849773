// SPDX-License-Identifier: GPL-2.0-only
/*
 * kvm_prepop's benchmark, run inside the testbed (bench/testbed-bench.sh).
 * For the same RAM size on 4K anon, THP and 2M hugetlbfs: the guest's
 * first touch in fault mode, against populate + first touch; populate with
 * 1 and with 2 workers; fault-path calls per GiB.  The touch is also timed
 * by the guest's own clock (its TSC), and once more with the populate begun
 * as the guest begins touching, the way prepopd runs it beside a guest that
 * has started: the guest's time from the same start.  Reports ratios: TCG
 * inflates absolute times, not their ratios within one run.  The testbed's
 * init runs it once per engine the kernel has (6.12: both).  Where the
 * time goes: the host's fault-in of the RAM alone (allocation, zeroing),
 * then stage 2 alone, populated or faulted by the guest.
 *
 * Then the vCPU hold: the same 4K RAM populated in 50 ms slices (the
 * policy's default) with both vCPUs idle, as they were under the old
 * libvirt pause, against both vCPUs running a busy guest, kicked out of
 * KVM_RUN and held per chunk: throughput, and per slice the longest hold
 * and how long the kick took (signal to vCPU held).
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "kvmtest.h"

#define BASE GiB

static const uint64_t leaf[B_COUNT] = { 4096, 2 * MiB, 2 * MiB, GiB };

static int setup(struct vm *vm, int b, uint64_t size)
{
	if (vm_create(vm) || vm_add_slot(vm, 0, 2 * MiB, B_ANON4K, false) ||
	    vm_add_slot(vm, BASE, size, b, false))
		return -1;
	vm_set_touch_all(vm);
	for (int i = 0; i < 2; i++)
		if (vm_add_vcpu(vm, GUEST_CODE) || vcpu_run_to(vm, i, PORT_READY))
			return -1;
	return 0;
}

/* host: around KVM_RUN; guest: the guest's own clock (TSC), start to end of its touch */
struct touch { double s, guest_s; long long faults; };

struct vcpu_touch {
	struct vm *vm;
	int i, r;
	pthread_t t;
};

static void *vcpu_touch(void *arg)
{
	struct vcpu_touch *v = arg;

	v->r = vcpu_run_to(v->vm, v->i, PORT_TOUCHED);
	return NULL;
}

/* vCPUs 0..n-1 (n: 1 or 2) touch their share (vm_set_touch_split) at once */
static int touch_n(struct vm *vm, int n, struct touch *t)
{
	struct vcpu_touch v[2] = { { vm, 0, 0, 0 }, { vm, 1, 0, 0 } };
	long long f0;
	uint64_t t0;
	int r = 0;

	if (n < 1 || n > 2)
		return kt_err("touch_n: %d vCPUs", n);
	f0 = vm_stat(vm, "pf_fixed");
	t0 = now_ns();

	for (int i = 1; i < n; i++)
		if (pthread_create(&v[i].t, NULL, vcpu_touch, &v[i]))
			return kt_err("pthread_create");
	vcpu_touch(&v[0]);
	for (int i = 1; i < n; i++) {
		pthread_join(v[i].t, NULL);
		r |= v[i].r;
	}
	if (r || v[0].r)
		return -1;
	t->s = (now_ns() - t0) / 1e9;
	t->guest_s = vm_guest_touch_s(vm, n);
	t->faults = vm_stat(vm, "pf_fixed") - f0;
	return 0;
}

static int touch(struct vm *vm, struct touch *t)
{
	return touch_n(vm, 1, t);
}

/* The host's pages of slot 1 faulted in for write, as the populate's GUP does: seconds. */
static int host_fault_in(struct vm *vm, double *s)
{
	uint64_t t0 = now_ns();

	if (madvise(vm->slots[1].hva, vm->slots[1].size, MADV_POPULATE_WRITE))
		return kt_err("MADV_POPULATE_WRITE: %s", strerror(errno));
	*s = (now_ns() - t0) / 1e9;
	return 0;
}

struct result {
	/*
	 * concurrent: the populate begun as the guest begins its touch, as
	 * prepopd does; *2: both vCPUs touching half each
	 */
	struct touch fault_mode, after, concurrent, fault_mode2, concurrent2;
	double pop1_s, pop2_s;
	unsigned long long calls, leaves;
	/* where the time goes: host fault-in; then stage 2 only, populated or faulted */
	double host_s, map_s;
	struct touch fault_present;
};

static int populate(struct vm *vm, unsigned threads, double *s,
		    struct kvm_prepop_populate *p)
{
	uint64_t t0 = now_ns();
	int r = pp_populate(vm->fd, 0, 0, 0, threads, p);

	*s = (now_ns() - t0) / 1e9;
	if (r)
		return kt_err("populate: %s", strerror(-r));
	return 0;
}

struct bgpop {
	struct vm *vm;
	double s;
	int r;
	struct kvm_prepop_populate p;
};

static void *bg_populate(void *arg)
{
	struct bgpop *b = arg;

	b->r = populate(b->vm, 2, &b->s, &b->p);
	return NULL;
}

/* n vCPUs touch the guest's RAM while 2 workers populate it, both from the same start. */
static int concurrent(struct vm *vm, int n, struct touch *t)
{
	struct bgpop b = { .vm = vm };
	pthread_t th;
	int r;

	if (pthread_create(&th, NULL, bg_populate, &b))
		return kt_err("pthread_create");
	r = touch_n(vm, n, t);
	pthread_join(th, NULL);
	return r ? r : b.r;
}

/* A fresh VM whose two vCPUs touch half each, in fault mode or during a populate. */
static int split_run(int b, uint64_t size, bool populating, struct touch *t)
{
	struct vm vm;

	if (setup(&vm, b, size))
		return -1;
	vm_set_touch_split(&vm, 2);
	if (populating ? concurrent(&vm, 2, t) : touch_n(&vm, 2, t))
		return -1;
	vm_destroy(&vm);
	return 0;
}

static int run(int b, uint64_t size, struct result *r)
{
	struct kvm_prepop_populate p;
	struct vm vm;
	double host_s;

	if (setup(&vm, b, size) || touch(&vm, &r->fault_mode))
		return -1;
	vm_destroy(&vm);
	if (setup(&vm, b, size) || populate(&vm, 1, &r->pop1_s, &p))
		return -1;
	vm_destroy(&vm);
	if (setup(&vm, b, size) || populate(&vm, 2, &r->pop2_s, &p) ||
	    touch(&vm, &r->after))
		return -1;
	if (p.workers != 2)
		return kt_err("%u workers, want 2", p.workers);
	r->calls = p.fault_calls;
	r->leaves = p.mapped_4k + p.mapped_2m + p.mapped_1g;
	vm_destroy(&vm);
	if (setup(&vm, b, size) || concurrent(&vm, 1, &r->concurrent))
		return -1;
	vm_destroy(&vm);
	if (split_run(b, size, false, &r->fault_mode2) || split_run(b, size, true, &r->concurrent2))
		return -1;
	/* the host's part alone, then KVM's part alone (populate, or the guest's faults) */
	if (setup(&vm, b, size) || host_fault_in(&vm, &r->host_s) ||
	    populate(&vm, 2, &r->map_s, &p))
		return -1;
	vm_destroy(&vm);
	if (setup(&vm, b, size) || host_fault_in(&vm, &host_s) ||
	    touch(&vm, &r->fault_present))
		return -1;
	vm_destroy(&vm);
	return 0;
}

#define SLICE_NS (50 * 1000000ull)
#define MAX_SLICES 4096

struct holdres {
	double s;
	unsigned slices, kicks;
	double hold_ms[MAX_SLICES], kick_ms[MAX_SLICES];
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int hold_run(uint64_t size, bool running, struct holdres *h)
{
	struct kvm_prepop_populate p;
	uint64_t cursor = 0, end = 0, t0;
	struct vm vm;
	int r = 0, busy = 0;

	memset(h, 0, sizeof(*h));
	if (setup(&vm, B_ANON4K, size))
		return -1;
	for (int i = 0; running && i < 2; i++)
		if (vcpu_spin_start(&vm, i))
			return -1;
	t0 = now_ns();
	do {
		r = pp_populate_once(vm.fd, cursor, end, SLICE_NS, 0, &p);
		if (r == -EBUSY && busy++ < 50)
			continue;	/* no vCPU had in time: the agent would try again */
		if (r || h->slices == MAX_SLICES)
			break;
		h->hold_ms[h->slices] = p.max_hold_ns / 1e6;
		h->kick_ms[h->slices] = p.max_kick_ns / 1e6;
		h->slices++;
		h->kicks += p.kicks;
		cursor = p.next_gpa;
		end = p.end_gpa;
	} while (cursor < end);
	h->s = (now_ns() - t0) / 1e9;
	for (int i = 0; running && i < 2; i++)
		vcpu_spin_stop(&vm, i);
	vm_destroy(&vm);
	if (r)
		return kt_err("populate: %s", strerror(-r));
	qsort(h->hold_ms, h->slices, sizeof(double), cmp_double);
	qsort(h->kick_ms, h->slices, sizeof(double), cmp_double);
	return 0;
}

static void hold_bench(uint64_t size)
{
	static struct holdres idle, busy;

	if (hold_run(size, false, &idle) || hold_run(size, true, &busy)) {
		printf("bench: hold: %s\n", kt_errbuf);
		return;
	}
	printf("bench: hold  %-28s %8s %7s %6s %12s %12s %12s %12s\n", "anon-4k, 50 ms slices",
	       "pop_s", "slices", "kicks", "hold_med_ms", "hold_max_ms", "kick_med_ms", "kick_max_ms");
	printf("bench: hold  %-28s %8.3f %7u %6u %12.2f %12.2f %12s %12s\n", "vCPUs idle (old pause)",
	       idle.s, idle.slices, idle.kicks, idle.hold_ms[idle.slices / 2],
	       idle.hold_ms[idle.slices - 1], "-", "-");
	printf("bench: hold  %-28s %8.3f %7u %6u %12.2f %12.2f %12.3f %12.3f\n",
	       "vCPUs running, kicked", busy.s, busy.slices, busy.kicks,
	       busy.hold_ms[busy.slices / 2], busy.hold_ms[busy.slices - 1],
	       busy.kick_ms[busy.slices / 2], busy.kick_ms[busy.slices - 1]);
	printf("bench: ratio hold populate throughput running/idle %.3f  longest hold %.1f ms "
	       "(ceiling 100 ms, slice 50 ms)\n", idle.s / busy.s, busy.hold_ms[busy.slices - 1]);
}

static const char *engine_name(void)
{
	struct kvm_prepop_version v = { .size = sizeof(v) };

	if (ioctl(prepop_fd, KVM_PREPOP_VERSION, &v) < 0)
		return "?";
	return v.engine == KVM_PREPOP_ENGINE_FAULT ? "fault" :
	       v.engine == KVM_PREPOP_ENGINE_PREFAULT ? "pre-fault" : "?";
}

int main(int argc, char **argv)
{
	uint64_t size = (argc > 1 && atoi(argv[1]) > 0 ? strtoull(argv[1], NULL, 0) : 256) * MiB;
	const int backings[] = { B_ANON4K, B_THP, B_HUGE2M };
	const char *eng;
	int bad = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	kt_init();
	eng = engine_name();
	printf("bench: engine %s; guest RAM %llu MiB per backing (+2 MiB 4K for code), 2 vCPUs, "
	       "vCPU 0 touching unless said\n",
	       eng, (unsigned long long)(size >> 20));
	printf("bench: %-11s %10s %9s %10s %10s %9s %9s %11s %10s %9s\n", "backing",
	       "fault_s", "faults", "pop1_s", "pop2_s", "touch_s", "faults", "calls/GiB",
	       "calls/leaf", "leaves");
	for (size_t i = 0; i < sizeof(backings) / sizeof(backings[0]); i++) {
		int b = backings[i];
		struct result r = { 0 };

		if (run(b, size, &r)) {
			printf("bench: %s: %s\n", backing_name[b], kt_errbuf);
			bad = 1;
			continue;
		}
		printf("bench: %-11s %10.3f %9lld %10.3f %10.3f %9.3f %9lld %11.0f %10.3f %9llu\n",
		       backing_name[b], r.fault_mode.s, r.fault_mode.faults, r.pop1_s, r.pop2_s,
		       r.after.s, r.after.faults, r.calls / ((double)size / GiB),
		       (double)r.calls / r.leaves, r.leaves);
		/*
		 * What the guest sees, by its own clock, from the moment it starts
		 * its work: fault mode against the populate begun at that moment,
		 * with one vCPU touching all and both a half each.
		 */
		printf("bench: guest %-11s 1 vCPU: fault mode %.3f s, after populate %.3f s, during populate %.3f s; "
		       "2 vCPUs: fault mode %.3f s, during populate %.3f s\n", backing_name[b],
		       r.fault_mode.guest_s, r.after.guest_s, r.concurrent.guest_s,
		       r.fault_mode2.guest_s, r.concurrent2.guest_s);
		printf("bench: ratio %s %-11s populate/fault-touch %.3f  (populate+touch)/fault-touch %.3f  "
		       "speedup 2 vs 1 workers %.2fx  faults after populate %lld  calls/leaves %.4f\n",
		       eng, backing_name[b], r.pop2_s / r.fault_mode.s,
		       (r.pop2_s + r.after.s) / r.fault_mode.s, r.pop1_s / r.pop2_s,
		       r.after.faults, (double)r.calls / r.leaves);
		printf("bench: split %s %-11s host fault-in %.3f s; then stage 2 only: populate %.3f s, "
		       "guest faults %.3f s (%lld)  host share of fault-mode touch %.2f\n", eng,
		       backing_name[b], r.host_s, r.map_s, r.fault_present.guest_s,
		       r.fault_present.faults, r.host_s / r.fault_mode.guest_s);
		printf("bench: ratio %s %-11s guest clock, same start: populated/fault mode, "
		       "1 vCPU touching %.3f, 2 vCPUs touching %.3f  (populate, then touch: %.3f)\n",
		       eng, backing_name[b], r.concurrent.guest_s / r.fault_mode.guest_s,
		       r.concurrent2.guest_s / r.fault_mode2.guest_s,
		       (r.pop2_s + r.after.guest_s) / r.fault_mode.guest_s);
		(void)leaf;
	}
	hold_bench(size);
	return bad;
}
