// SPDX-License-Identifier: GPL-2.0-only
/*
 * Scenarios where KVM, not the host page size, decides how a page is
 * mapped, and a populate must map what KVM chose: every page once, the
 * figures exact, never the emulator.
 * - NX huge pages (on by default on CPUs with the iTLB multihit erratum):
 *   a 2M region in which the guest executed code gets a page table, and
 *   KVM maps the rest of it 4K by 4K.
 * - A write-tracked gfn (KVMGT, nested shadow pages): KVM maps its 2M 4K by
 *   4K, the gfn itself read-only, and a write fault there is emulated.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "pp_track.h"
#include "scenario.h"

/* guest code in slot 0, past kvmtest.c's */
#define GUEST_EXEC_DONE 0x1200	/* out 0x12; jmp $ */
#define GUEST_STORE 0x1300	/* mov byte [edi], 0x5a; out 0x13; jmp $ */
#define PORT_EXEC_DONE 0x12
#define PORT_STORED 0x13

static const uint8_t exec_done_code[] = { 0xe6, PORT_EXEC_DONE, 0xeb, 0xfe };
static const uint8_t store_code[] = { 0xc6, 0x07, 0x5a, 0xe6, PORT_STORED, 0xeb, 0xfe };

static int set_regs(struct vm *vm, int i, uint64_t rip, uint64_t rdi)
{
	struct kvm_regs regs;

	if (ioctl(vm->vcpus[i].fd, KVM_GET_REGS, &regs) < 0)
		return kt_err("KVM_GET_REGS: %s", strerror(errno));
	regs.rip = rip;
	regs.rdi = rdi;
	regs.rflags = 2;
	if (ioctl(vm->vcpus[i].fd, KVM_SET_REGS, &regs) < 0)
		return kt_err("KVM_SET_REGS: %s", strerror(errno));
	return 0;
}

/* ---- NX huge pages ---- */

#define NX_SIZE (32 * MiB)
#define NX_REGIONS ((int)(NX_SIZE / (2 * MiB)))

/*
 * vCPU 0 jumps through code placed in every other 2M region of the test
 * slot (mov eax, next; jmp eax), then back to slot 0.
 */
static int exec_odd_regions(struct vm *vm)
{
	uint64_t at[NX_REGIONS / 2];
	int n = NX_REGIONS / 2;

	memcpy(vm_hva(vm, GUEST_EXEC_DONE), exec_done_code, sizeof(exec_done_code));
	for (int i = 0; i < n; i++)	/* a different page of each region */
		at[i] = BASE + (2 * i + 1) * 2 * MiB + i * 0x11000 + 0x10;
	for (int i = 0; i < n; i++) {
		uint8_t *p = vm_hva(vm, at[i]);
		uint32_t next = i + 1 < n ? (uint32_t)at[i + 1] : GUEST_EXEC_DONE;

		p[0] = 0xb8;	/* mov eax, imm32 */
		memcpy(p + 1, &next, 4);
		p[5] = 0xff;	/* jmp eax */
		p[6] = 0xe0;
	}
	TRY(set_regs(vm, 0, at[0], 0));
	TRY(vcpu_run_to(vm, 0, PORT_EXEC_DONE));
	return set_regs(vm, 0, GUEST_CODE, 0);	/* the touch, later */
}

static int nx_populate(int b)
{
	/* slot 0 and the executed regions 4K by 4K; the other regions one 2M leaf each */
	const long long want_4k = 512 + NX_REGIONS / 2 * 512, want_2m = NX_REGIONS / 2;
	long long before_4k, before_2m, added, faults;
	struct kvm_prepop_populate p;
	struct vm vm;
	int r, ret = setup(&vm, b, NX_SIZE, 2);

	if (ret)
		return ret;
	TRY(exec_odd_regions(&vm));
	before_4k = vm_stat(&vm, "pages_4k");
	before_2m = vm_stat(&vm, "pages_2m");
	CHECK(before_2m == 0 && before_4k > NX_REGIONS / 2,
	      "after the guest ran: %lld 4K and %lld 2M leaves", before_4k, before_2m);
	r = pp_populate(vm.fd, 0, 0, 0, 0, &p);
	CHECK(r == 0, "populate: %s", strerror(-r));
	CHECK(p.next_gpa == BASE + NX_SIZE, "next_gpa %#llx", (unsigned long long)p.next_gpa);
	/* every page of RAM mapped, at the size KVM chose */
	CHECK(vm_stat(&vm, "pages_4k") == want_4k && vm_stat(&vm, "pages_2m") == want_2m &&
	      vm_stat(&vm, "pages_1g") == 0, "leaves 4k %lld (want %lld) 2m %lld (want %lld)",
	      vm_stat(&vm, "pages_4k"), want_4k, vm_stat(&vm, "pages_2m"), want_2m);
	CHECK((long long)p.mapped_4k == want_4k - before_4k && (long long)p.mapped_2m == want_2m &&
	      p.mapped_1g == 0, "reported 4k %llu (want %lld) 2m %llu (want %lld) 1g %llu",
	      (unsigned long long)p.mapped_4k, want_4k - before_4k,
	      (unsigned long long)p.mapped_2m, want_2m, (unsigned long long)p.mapped_1g);
	added = want_4k - before_4k + want_2m;
	/* one call per leaf; the executed pages were mapped already */
	CHECK((long long)p.fault_calls <= added + added / 100 + NX_REGIONS,
	      "%llu calls for %lld leaves", (unsigned long long)p.fault_calls, added);
	faults = touch(&vm);
	TRY(faults);
	CHECK(faults == 0, "guest took %lld stage-2 faults after populate", faults);
	vm_destroy(&vm);
	return 0;
}

/*
 * nx_huge_pages=force (auto is off on this emulated AMD CPU), recovery off
 * so that KVM does not zap the split regions back meanwhile; both restored.
 * Changing nx_huge_pages zaps every VM's stage-2: done before the VM exists.
 */
int t_nx_huge_pages(int b)
{
	char nx[16], ratio[16];
	int ret, r1, r2;

	if (module_param_get("kvm", "nx_huge_pages", nx, sizeof(nx)) < 0 ||
	    module_param_get("kvm", "nx_huge_pages_recovery_ratio", ratio, sizeof(ratio)) < 0)
		return kt_err("kvm's nx_huge_pages parameters are not there");
	CHECK(module_param_set("kvm", "nx_huge_pages_recovery_ratio", "0") == 0 &&
	      module_param_set("kvm", "nx_huge_pages", "force") == 0,
	      "cannot set nx_huge_pages=force");
	ret = nx_populate(b);
	r1 = module_param_set("kvm", "nx_huge_pages", nx);
	r2 = module_param_set("kvm", "nx_huge_pages_recovery_ratio", ratio);
	if (!ret)
		CHECK(r1 == 0 && r2 == 0, "cannot restore nx_huge_pages=%s, recovery ratio %s", nx, ratio);
	return ret;
}

/* ---- a write-tracked gfn ---- */

#define WT_SIZE (8 * MiB)
#define WT_GPA (BASE + 2 * MiB + 5 * 4096)	/* in the second 2M region */

static int get_events(struct vm *vm, int i, struct kvm_vcpu_events *ev)
{
	memset(ev, 0, sizeof(*ev));
	if (ioctl(vm->vcpus[i].fd, KVM_GET_VCPU_EVENTS, ev) < 0)
		return kt_err("KVM_GET_VCPU_EVENTS: %s", strerror(errno));
	return 0;
}

/* vCPU i parked at a store into the tracked page with a #GP pending (KVM_CAP_EXCEPTION_PAYLOAD) */
static int park_with_exception(struct vm *vm, int i, struct kvm_vcpu_events *ev)
{
	TRY(set_regs(vm, i, GUEST_STORE, WT_GPA + 0x10));
	TRY(get_events(vm, i, ev));
	ev->flags = KVM_VCPUEVENT_VALID_PAYLOAD;
	ev->exception.pending = 1;
	ev->exception.injected = 0;
	ev->exception.nr = 13;
	ev->exception.has_error_code = 1;
	ev->exception.error_code = 0x18;
	ev->exception_has_payload = 0;
	if (ioctl(vm->vcpus[i].fd, KVM_SET_VCPU_EVENTS, ev) < 0)
		return kt_err("KVM_SET_VCPU_EVENTS: %s", strerror(errno));
	return get_events(vm, i, ev);
}

static int tracked_populate(int tfd)
{
	struct kvm_enable_cap cap = { .cap = KVM_CAP_EXCEPTION_PAYLOAD, .args = { 1 } };
	struct pp_track_gfn t = { .gfn = WT_GPA >> 12 };
	struct kvm_vcpu_events ev0, ev;
	struct kvm_prepop_populate p;
	struct kvm_regs regs;
	static uint8_t copy[4096];
	long long emulated, k4;
	uint8_t *page;
	struct vm vm;
	int r, ret = setup(&vm, B_THP, WT_SIZE, 2);

	if (ret)
		return ret;
	CHECK(ioctl(vm.fd, KVM_ENABLE_CAP, &cap) == 0, "KVM_CAP_EXCEPTION_PAYLOAD: %s", strerror(errno));
	memcpy(vm_hva(&vm, GUEST_STORE), store_code, sizeof(store_code));
	page = vm_hva(&vm, WT_GPA);
	memset(page, 0xa5, 4096);
	memcpy(copy, page, sizeof(copy));
	TRY(park_with_exception(&vm, 0, &ev0));
	CHECK(ev0.exception.pending && ev0.exception.nr == 13, "the #GP did not stick: pending %u nr %u",
	      ev0.exception.pending, ev0.exception.nr);
	TRY(set_regs(&vm, 1, GUEST_STORE, WT_GPA + 0x20));	/* stores after the populate */
	t.vm_fd = vm.fd;
	CHECK(ioctl(tfd, PP_TRACK_ADD, &t) == 0, "PP_TRACK_ADD: %s", strerror(errno));
	emulated = vm_stat(&vm, "pf_emulate");
	r = pp_populate(vm.fd, 0, 0, 0, 0, &p);
	CHECK(r == 0, "populate: %s", strerror(-r));
	CHECK(p.next_gpa == BASE + WT_SIZE, "next_gpa %#llx", (unsigned long long)p.next_gpa);
	/* the borrowed vCPU is as it was: nothing emulated, nothing dropped */
	CHECK(vm_stat(&vm, "pf_emulate") == emulated, "KVM emulated %lld instructions during the populate",
	      vm_stat(&vm, "pf_emulate") - emulated);
	CHECK(ioctl(vm.vcpus[0].fd, KVM_GET_REGS, &regs) == 0 && regs.rip == GUEST_STORE &&
	      regs.rdi == WT_GPA + 0x10, "vCPU 0 moved: rip %#llx rdi %#llx", (unsigned long long)regs.rip,
	      (unsigned long long)regs.rdi);
	TRY(get_events(&vm, 0, &ev));
	CHECK(!memcmp(&ev.exception, &ev0.exception, sizeof(ev.exception)) &&
	      ev.exception_has_payload == ev0.exception_has_payload,
	      "vCPU 0's exception changed: pending %u injected %u nr %u (was pending %u nr %u)",
	      ev.exception.pending, ev.exception.injected, ev.exception.nr, ev0.exception.pending,
	      ev0.exception.nr);
	CHECK(!memcmp(page, copy, sizeof(copy)), "the tracked page changed");
	/* all RAM mapped: the tracked page's 2M 4K by 4K, itself mapped read-only or not at all */
	k4 = vm_stat(&vm, "pages_4k");
	CHECK((k4 == 512 + 512 || k4 == 512 + 511) && vm_stat(&vm, "pages_2m") == WT_SIZE / (2 * MiB) - 1,
	      "leaves 4k %lld 2m %lld", k4, vm_stat(&vm, "pages_2m"));
	/* not writable: vCPU 1's store traps and KVM emulates it, as the tracker needs */
	TRY(vcpu_run_to(&vm, 1, PORT_STORED));
	CHECK(vm_stat(&vm, "pf_emulate") > emulated, "vCPU 1's store to the tracked page did not trap");
	CHECK(page[0x20] == 0x5a, "vCPU 1's store did not land");
	close(tfd);	/* untracks */
	vm_destroy(&vm);
	return 0;
}

int t_write_tracked(int unused)
{
	int tfd = open(PP_TRACK_DEVICE, O_RDWR | O_CLOEXEC), ret;

	(void)unused;
	CHECK(tfd >= 0, "open " PP_TRACK_DEVICE ": %s (pp_track.ko not loaded?)", strerror(errno));
	ret = tracked_populate(tfd);
	if (ret)
		close(tfd);
	return ret;
}
