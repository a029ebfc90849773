// SPDX-License-Identifier: GPL-2.0-only
/*
 * kvm_prepop's benchmark, run inside the testbed (bench/testbed-bench.sh).
 * For the same RAM size on 4K anon, THP and 2M hugetlbfs: the guest's
 * first touch in fault mode, against populate + first touch; populate with
 * 1 and with 2 workers; fault-path calls per GiB.  Reports ratios: TCG
 * inflates absolute times, not their ratios within one run.
 *
 * Then the vCPU hold: the same 4K RAM populated in 50 ms slices (the
 * policy's default) with both vCPUs idle, as they were under the old
 * libvirt pause, against both vCPUs running a busy guest, kicked out of
 * KVM_RUN and held per chunk: throughput, and per slice the longest hold
 * and how long the kick took (signal to vCPU held).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

struct touch { double s; long long faults; };

static int touch(struct vm *vm, struct touch *t)
{
	long long f0 = vm_stat(vm, "pf_fixed");
	uint64_t t0 = now_ns();

	if (vcpu_run_to(vm, 0, PORT_TOUCHED))
		return -1;
	t->s = (now_ns() - t0) / 1e9;
	t->faults = vm_stat(vm, "pf_fixed") - f0;
	return 0;
}

struct result {
	struct touch fault_mode, after;
	double pop1_s, pop2_s;
	unsigned long long calls, leaves;
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

static int run(int b, uint64_t size, struct result *r)
{
	struct kvm_prepop_populate p;
	struct vm vm;

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

int main(int argc, char **argv)
{
	uint64_t size = (argc > 1 && atoi(argv[1]) > 0 ? strtoull(argv[1], NULL, 0) : 256) * MiB;
	const int backings[] = { B_ANON4K, B_THP, B_HUGE2M };
	int bad = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	kt_init();
	printf("bench: guest RAM %llu MiB per backing (+2 MiB 4K for code), 2 vCPUs, one touching\n",
	       (unsigned long long)(size >> 20));
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
		printf("bench: ratio %-11s populate/fault-touch %.3f  (populate+touch)/fault-touch %.3f  "
		       "speedup 2 vs 1 workers %.2fx  faults after populate %lld  calls/leaves %.4f\n",
		       backing_name[b], r.pop2_s / r.fault_mode.s,
		       (r.pop2_s + r.after.s) / r.fault_mode.s, r.pop1_s / r.pop2_s,
		       r.after.faults, (double)r.calls / r.leaves);
		(void)leaf;
	}
	hold_bench(size);
	return bad;
}
