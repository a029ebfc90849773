// SPDX-License-Identifier: GPL-2.0-only
/*
 * The testbed's scenarios, run inside the emulated hypervisor against the
 * real kvm_prepop.ko and KVM.  Each asserts what a user of the module
 * relies on; the closing line is "testbed: N passed, N failed, N skipped".
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "qemu.h"
#include "scenario.h"

#define SCENARIO_TIMEOUT 120

static const uint64_t leaf[B_COUNT] = { 4096, 2 * MiB, 2 * MiB, GiB };

/* slot 0: 2 MiB of 4K anon for code; slot 1: size at BASE with backing b */
int setup(struct vm *vm, int b, uint64_t size, int nvcpus)
{
	TRY(vm_create(vm));
	TRY(vm_add_slot(vm, 0, 2 * MiB, B_ANON4K, false));
	if (vm_add_slot(vm, BASE, size, b, false) < 0)
		return b >= B_HUGE2M ? SKIP : -1;
	vm_set_touch_all(vm);
	for (int i = 0; i < nvcpus; i++)
		TRY(vm_add_vcpu(vm, GUEST_CODE));
	for (int i = 0; i < nvcpus; i++)
		TRY(vcpu_run_to(vm, i, PORT_READY));
	return 0;
}

/* Guest writes every page; returns the stage-2 faults KVM fixed meanwhile. */
long long touch(struct vm *vm)
{
	long long before = vm_stat(vm, "pf_fixed");

	if (before < 0)
		return kt_err("cannot read pf_fixed from debugfs");
	if (vcpu_run_to(vm, 0, PORT_TOUCHED) < 0)
		return -1;
	return vm_stat(vm, "pf_fixed") - before;
}

long long leaves(struct vm *vm)
{
	return vm_stat(vm, "pages_4k") + vm_stat(vm, "pages_2m") + vm_stat(vm, "pages_1g");
}

/* ---- interface ---- */

/* The engine the module should have picked: the parameter, else by kernel. */
unsigned expected_engine(void)
{
	char rel[64] = "";
	int fd = open("/sys/module/kvm_prepop/parameters/engine", O_RDONLY), param = 0;
	FILE *f = fopen("/proc/sys/kernel/osrelease", "r");

	if (fd >= 0) {
		char b[8] = "";

		if (read(fd, b, sizeof(b) - 1) > 0)
			param = atoi(b);
		close(fd);
	}
	if (f) {
		if (!fgets(rel, sizeof(rel), f))
			rel[0] = '\0';
		fclose(f);
	}
	if (param)
		return param;
	return !strncmp(rel, "6.", 2) ? KVM_PREPOP_ENGINE_FAULT : KVM_PREPOP_ENGINE_PREFAULT;
}

static int t_version(int unused)
{
	(void)unused;
	struct kvm_prepop_version v = { .size = sizeof(v) };

	CHECK(ioctl(prepop_fd, KVM_PREPOP_VERSION, &v) == 0, "VERSION: %s", strerror(errno));
	CHECK(v.api_version == KVM_PREPOP_API_VERSION, "api_version %u", v.api_version);
	CHECK(v.api_version == 2, "api_version %u, want 2 (the hold)", v.api_version);
	CHECK(v.features == (KVM_PREPOP_FEAT_POPULATE | KVM_PREPOP_FEAT_QUERY | KVM_PREPOP_FEAT_HOLD),
	      "features %llx", (unsigned long long)v.features);
	CHECK(v.max_workers > 0, "max_workers 0");
	CHECK(v.hold_ceiling_ns == 100000000ull, "hold ceiling %llu ns, want the default 100 ms",
	      (unsigned long long)v.hold_ceiling_ns);
	CHECK(v.engine == expected_engine(), "engine %u, want %u", v.engine, expected_engine());
	return 0;
}

static int expect_errno(struct kvm_prepop_populate *p, int want, const char *what)
{
	int r = ioctl(prepop_fd, KVM_PREPOP_POPULATE, p);

	if (r == 0 || errno != want)
		return kt_err("%s: got %s, want %s", what, r == 0 ? "success" : strerror(errno),
			      strerror(want));
	return 0;
}

static int t_bad_args(int unused)
{
	(void)unused;
	struct vm vm;
	struct { struct kvm_prepop_populate p; uint64_t tail; } big;
	struct kvm_prepop_populate p;
	int null_fd = open("/dev/null", O_RDONLY);
	int ret = setup(&vm, B_ANON4K, 4 * MiB, 1);

	if (ret)
		return ret;
#define BASEARG(p) do { memset(&(p), 0, sizeof(p)); (p).size = sizeof(p); (p).vm_fd = vm.fd; } while (0)
	BASEARG(p); p.size = 8;
	TRY(expect_errno(&p, EINVAL, "size 8"));
	BASEARG(p); p.size = 1 << 20;
	TRY(expect_errno(&p, EINVAL, "size 1 MiB"));
	BASEARG(p); p.flags = 1;
	TRY(expect_errno(&p, EINVAL, "unknown flag"));
	BASEARG(p); p.reserved = 1;
	TRY(expect_errno(&p, EINVAL, "reserved field"));
	BASEARG(p); p.start_gpa = 123;
	TRY(expect_errno(&p, EINVAL, "unaligned start"));
	BASEARG(p); p.start_gpa = 8192; p.end_gpa = 4096;
	TRY(expect_errno(&p, EINVAL, "end before start"));
	BASEARG(p); p.max_threads = 100000;
	TRY(expect_errno(&p, EINVAL, "absurd max_threads"));
	BASEARG(p); p.vm_fd = 9999;
	TRY(expect_errno(&p, EBADF, "closed fd"));
	BASEARG(p); p.vm_fd = null_fd;
	TRY(expect_errno(&p, EINVAL, "/dev/null fd"));
	BASEARG(p); p.vm_fd = kvm_fd;
	TRY(expect_errno(&p, EINVAL, "/dev/kvm fd (not a VM)"));
	BASEARG(big.p); big.p.size = sizeof(big); big.tail = 1;
	TRY(expect_errno(&big.p, EINVAL, "non-zero bytes past the known struct"));
	BASEARG(big.p); big.p.size = sizeof(big); big.tail = 0;
	CHECK(ioctl(prepop_fd, KVM_PREPOP_POPULATE, &big) == 0, "larger zeroed struct: %s", strerror(errno));
	CHECK(ioctl(prepop_fd, _IO(KVM_PREPOP_IOC_TYPE, 0x0f), &p) < 0 && errno == ENOTTY,
	      "unknown ioctl: want ENOTTY");
	close(null_fd);
	vm_destroy(&vm);
	return 0;
}

static int t_no_cap(int unused)
{
	(void)unused;
	pid_t pid = fork();
	int status;

	if (pid == 0) {
		struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
		struct __user_cap_data_struct d[2];
		struct kvm_prepop_version v = { .size = sizeof(v) };

		if (syscall(SYS_capget, &h, d) < 0)
			_exit(3);
		d[0].effective &= ~(1u << CAP_SYS_ADMIN);
		if (syscall(SYS_capset, &h, d) < 0)
			_exit(4);
		_exit(ioctl(prepop_fd, KVM_PREPOP_VERSION, &v) < 0 && errno == EPERM ? 0 : 5);
	}
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status), "child died");
	CHECK(WEXITSTATUS(status) == 0, "without CAP_SYS_ADMIN: child exit %d (5 = not EPERM)",
	      WEXITSTATUS(status));
	return 0;
}

static int t_never_ran(int unused)
{
	(void)unused;
	struct vm vm;
	struct kvm_prepop_populate p;
	int r;

	TRY(vm_create(&vm));
	TRY(vm_add_slot(&vm, 0, 2 * MiB, B_ANON4K, false));
	TRY(vm_add_vcpu(&vm, GUEST_CODE));
	TRY(vm_add_vcpu(&vm, GUEST_CODE));
	r = pp_populate(vm.fd, 0, 0, 0, 0, &p);
	if (expected_engine() == KVM_PREPOP_ENGINE_PREFAULT) {
		/* KVM_PRE_FAULT_MEMORY loads the vCPU's root itself */
		CHECK(r == 0, "vCPUs that never ran, pre-fault engine: %s", strerror(-r));
		CHECK(leaves(&vm) == 512, "%lld leaves, want 512", leaves(&vm));
	} else {
		CHECK(r == -EAGAIN, "vCPUs that never ran: got %s, want EAGAIN", strerror(-r));
		CHECK(leaves(&vm) == 0, "something got mapped");
	}
	vm_destroy(&vm);
	return 0;
}

/* ---- populating ---- */

static int t_fault_mode(int b)
{
	struct vm vm;
	uint64_t size = b == B_HUGE1G ? GiB : 64 * MiB;
	long long faults;
	int ret = setup(&vm, b, size, 1);

	if (ret)
		return ret;
	faults = touch(&vm);
	TRY(faults);
	/* the control: without populate, every leaf of the test slot faults */
	CHECK(faults >= (long long)(size / leaf[b]), "fault mode: %lld faults, want >= %llu",
	      faults, (unsigned long long)(size / leaf[b]));
	vm_destroy(&vm);
	return 0;
}

static int t_populate(int b)
{
	struct vm vm;
	struct kvm_prepop_populate p;
	uint64_t size = b == B_HUGE1G ? GiB : 64 * MiB;
	long long before, added, faults, want = 512 + size / leaf[b];
	int r, ret = setup(&vm, b, size, 2);

	if (ret)
		return ret;
	before = leaves(&vm);
	r = pp_populate(vm.fd, 0, 0, 0, 0, &p);
	CHECK(r == 0, "populate: %s", strerror(-r));
	CHECK(p.next_gpa == BASE + size, "next_gpa %#llx, want %#llx",
	      (unsigned long long)p.next_gpa, (unsigned long long)(BASE + size));
	CHECK(p.workers == 2, "workers %u, want 2", p.workers);
	CHECK(p.end_gpa == BASE + size, "end_gpa %#llx: where RAM ends", (unsigned long long)p.end_gpa);
	added = leaves(&vm) - before;
	/* every page of RAM is mapped now, each exactly once, at the host's page size */
	CHECK(leaves(&vm) == want, "%lld leaves in all, want %lld (4k %lld, 2m %lld, 1g %lld)",
	      leaves(&vm), want, vm_stat(&vm, "pages_4k"), vm_stat(&vm, "pages_2m"),
	      vm_stat(&vm, "pages_1g"));
	CHECK((long long)(p.mapped_4k + p.mapped_2m + p.mapped_1g) == added,
	      "reported %llu+%llu+%llu leaves, KVM counted %lld",
	      (unsigned long long)p.mapped_4k, (unsigned long long)p.mapped_2m,
	      (unsigned long long)p.mapped_1g, added);
	CHECK((long long)p.fault_calls <= added + added / 100 + 2,
	      "%llu fault-path calls for %lld leaves", (unsigned long long)p.fault_calls, added);
	if (b == B_THP || b == B_HUGE2M)
		CHECK(p.mapped_2m == size / (2 * MiB), "2M leaves %llu", (unsigned long long)p.mapped_2m);
	if (b == B_HUGE1G)
		CHECK(p.mapped_1g == 1, "1G leaves %llu", (unsigned long long)p.mapped_1g);
	faults = touch(&vm);
	TRY(faults);
	CHECK(faults == 0, "guest took %lld stage-2 faults after populate", faults);
	vm_destroy(&vm);
	return 0;
}

static int t_slots(int unused)
{
	(void)unused;
	struct vm vm;
	struct kvm_prepop_populate p;
	struct kvm_prepop_query q;
	long long faults;
	int r;

	TRY(vm_create(&vm));
	TRY(vm_add_slot(&vm, 0, 2 * MiB, B_ANON4K, false));
	TRY(vm_add_slot(&vm, 16 * MiB, 8 * MiB, B_THP, false));
	/* 24-32 MiB: no slot (an MMIO gap) */
	TRY(vm_add_slot(&vm, 32 * MiB, 2 * MiB, B_ANON4K, true));
	TRY(vm_add_slot(&vm, 64 * MiB, 6 * MiB + 4096 * 3, B_ANON4K, false));
	vm_set_touch_all(&vm);
	TRY(vm_add_vcpu(&vm, GUEST_CODE));
	TRY(vcpu_run_to(&vm, 0, PORT_READY));
	TRY(pp_query(vm.fd, &q));
	CHECK(q.stage2 == KVM_PREPOP_STAGE2_TDP_MMU, "stage2 %u, want TDP MMU", q.stage2);
	CHECK(q.memslots == 4 && q.memslots_readonly == 1 && q.memslots_dirty_log == 0,
	      "query memslots %u ro %u dirty %u", q.memslots, q.memslots_readonly, q.memslots_dirty_log);
	CHECK(q.ram_bytes == 2 * MiB + 8 * MiB + 6 * MiB + 3 * 4096, "ram_bytes %llu",
	      (unsigned long long)q.ram_bytes);
	CHECK(q.vcpus == 1 && q.vcpus_with_root == 1 && q.vcpus_running == 0, "query vcpus %u/%u/%u",
	      q.vcpus, q.vcpus_with_root, q.vcpus_running);
	r = pp_populate(vm.fd, 0, 0, 0, 0, &p);
	CHECK(r == 0, "populate: %s", strerror(-r));
	CHECK(p.next_gpa == 70 * MiB + 3 * 4096, "next_gpa %#llx", (unsigned long long)p.next_gpa);
	/* the read-only slot and the gap stay unmapped: only RAM's leaves */
	CHECK(vm_stat(&vm, "pages_4k") == 512 + (6 * MiB + 3 * 4096) / 4096 &&
	      vm_stat(&vm, "pages_2m") == 4,
	      "leaves 4k %lld 2m %lld", vm_stat(&vm, "pages_4k"), vm_stat(&vm, "pages_2m"));
	faults = touch(&vm);
	TRY(faults);
	CHECK(faults == 0, "guest took %lld faults after populate", faults);
	TRY(pp_query(vm.fd, &q));
	CHECK(q.pages_4k == 512 + 1539 && q.pages_2m == 4, "query leaves %llu/%llu",
	      (unsigned long long)q.pages_4k, (unsigned long long)q.pages_2m);
	vm_destroy(&vm);
	return 0;
}

static int t_vcpus(int n)
{
	struct vm vm;
	struct kvm_prepop_populate p;
	long long faults;
	int r, ret = setup(&vm, B_ANON4K, 32 * MiB, n);

	if (ret)
		return ret;
	r = pp_populate(vm.fd, 0, 0, 0, 0, &p);
	CHECK(r == 0, "populate: %s", strerror(-r));
	CHECK(p.workers == (unsigned)n, "workers %u, want %d", p.workers, n);
	faults = touch(&vm);
	TRY(faults);
	CHECK(faults == 0, "%lld faults after populate with %d vCPUs", faults, n);
	if (n > 1) {
		/* max_threads caps the workers */
		struct vm vm2;

		TRY(setup(&vm2, B_ANON4K, 8 * MiB, n));
		r = pp_populate(vm2.fd, 0, 0, 0, 1, &p);
		CHECK(r == 0 && p.workers == 1, "max_threads 1: %s, %u workers", strerror(-r), p.workers);
		vm_destroy(&vm2);
	}
	vm_destroy(&vm);
	return 0;
}

static int t_one_running(int unused)
{
	(void)unused;
	struct vm vm;
	struct kvm_prepop_populate p;
	unsigned long runs;
	long long faults;
	int r, ret = setup(&vm, B_ANON4K, 16 * MiB, 2);

	if (ret)
		return ret;
	TRY(vcpu_spin_start(&vm, 1));
	runs = __atomic_load_n(&vm.vcpus[1].runs, __ATOMIC_RELAXED);
	r = pp_populate(vm.fd, 0, 0, 0, 0, &p);
	CHECK(r == 0, "populate with vCPU 1 in KVM_RUN: %s", strerror(-r));
	/* the running vCPU is kicked out of KVM_RUN and held, not skipped */
	CHECK(p.workers == 2, "workers %u, want 2 (the idle vCPU and the kicked one)", p.workers);
	/* the fault engine counts its kicks; the pre-fault engine's are a heuristic */
	CHECK(p.kicks >= 1 || expected_engine() == KVM_PREPOP_ENGINE_PREFAULT, "no kick counted");
	CHECK(p.next_gpa == BASE + 16 * MiB, "next_gpa %#llx", (unsigned long long)p.next_gpa);
	CHECK(__atomic_load_n(&vm.vcpus[1].runs, __ATOMIC_RELAXED) > runs,
	      "the kicked vCPU never left KVM_RUN");
	TRY(vcpu_spin_stop(&vm, 1));
	faults = touch(&vm);
	TRY(faults);
	CHECK(faults == 0, "%lld faults after populate", faults);
	vm_destroy(&vm);
	return 0;
}

static int t_all_running(int unused)
{
	(void)unused;
	struct vm vm;
	struct kvm_prepop_populate p;
	int r, ret = setup(&vm, B_ANON4K, 4 * MiB, 1);

	if (ret)
		return ret;
	TRY(vcpu_spin_start(&vm, 0));
	r = pp_populate(vm.fd, 0, 0, 0, 0, &p);
	TRY(vcpu_spin_stop(&vm, 0));
	CHECK(r == 0 && p.workers == 1 && p.kicks >= 1,
	      "every vCPU running: %s, %u workers, %u kicks", strerror(-r), p.workers, p.kicks);
	CHECK(p.next_gpa == BASE + 4 * MiB, "next_gpa %#llx", (unsigned long long)p.next_gpa);
	vm_destroy(&vm);
	return 0;
}

static int t_dirty_log(int unused)
{
	(void)unused;
	struct vm vm;
	struct kvm_prepop_populate p;
	int r, ret = setup(&vm, B_ANON4K, 4 * MiB, 1);

	if (ret)
		return ret;
	TRY(dirty_log(&vm, 1, true));
	r = pp_populate(vm.fd, 0, 0, 0, 0, &p);
	CHECK(r == -EBUSY, "dirty logging on: got %s, want EBUSY", strerror(-r));
	/* a range that avoids the logging slot is still allowed */
	r = pp_populate(vm.fd, 0, 2 * MiB, 0, 0, &p);
	CHECK(r == 0, "range without the logging slot: %s", strerror(-r));
	TRY(dirty_log(&vm, 1, false));
	TRY(vcpu_run_to(&vm, 0, PORT_TOUCHED));	/* the guest reloads its root */
	TRY(vcpu_run_to(&vm, 0, PORT_READY));
	r = pp_populate(vm.fd, 0, 0, 0, 0, &p);
	CHECK(r == 0, "dirty logging off again: %s", strerror(-r));
	vm_destroy(&vm);
	return 0;
}

static int t_budget(int unused)
{
	(void)unused;
	struct vm vm;
	struct kvm_prepop_populate p;
	uint64_t cursor = 0, sum = 0, calls = 0;
	long long before, faults;
	int r, rounds = 0, ret = setup(&vm, B_ANON4K, 16 * MiB, 2);

	if (ret)
		return ret;
	before = leaves(&vm);
	do {
		r = pp_populate_once(vm.fd, cursor, 0, 1, 0, &p);	/* 1 ns: one batch a call */
		CHECK(r == 0, "round %d: %s", rounds, strerror(-r));
		CHECK(p.next_gpa > cursor, "round %d made no progress", rounds);
		CHECK(p.end_gpa == BASE + 16 * MiB, "round %d: end_gpa %#llx", rounds,
		      (unsigned long long)p.end_gpa);
		cursor = p.next_gpa;
		sum += p.mapped_4k + p.mapped_2m + p.mapped_1g;
		calls += p.fault_calls;
		rounds++;
	} while (cursor < BASE + 16 * MiB && rounds < 1000);
	CHECK(cursor == BASE + 16 * MiB, "cursor stopped at %#llx", (unsigned long long)cursor);
	CHECK(rounds >= 4, "only %d rounds: the budget did not bound a call", rounds);
	CHECK((long long)sum == leaves(&vm) - before && leaves(&vm) == 512 + 4096,
	      "summed %llu leaves over %d rounds, KVM counted %lld", (unsigned long long)sum, rounds,
	      leaves(&vm) - before);
	CHECK(calls <= sum + sum / 100 + 2 * rounds, "%llu calls for %llu leaves",
	      (unsigned long long)calls, (unsigned long long)sum);
	faults = touch(&vm);
	TRY(faults);
	CHECK(faults == 0, "%lld faults after a budgeted populate", faults);
	vm_destroy(&vm);
	return 0;
}

struct bg {
	int fd;
	int ret;
	struct kvm_prepop_populate p;
	pthread_t t;
};

static void *bg_populate(void *arg)
{
	struct bg *b = arg;

	b->ret = pp_populate_once(b->fd, 0, 0, 0, 0, &b->p);
	return NULL;
}

/* Until the background POPULATE is inside the module (past its argument checks). */
int wait_running(long long calls0)
{
	for (int i = 0; i < 5000; i++) {
		if (counter("populate_calls") > calls0) {
			usleep(2000);	/* past the claim: a call lasts up to the 100 ms ceiling */
			return 0;
		}
		usleep(200);
	}
	return kt_err("populate never started");
}

static int t_second_busy(int unused)
{
	(void)unused;
	struct vm vm;
	struct bg b;
	struct kvm_prepop_populate p;
	long long calls0;
	int r, ret = setup(&vm, B_ANON4K, 256 * MiB, 1);

	if (ret)
		return ret;
	b.fd = vm.fd;
	calls0 = counter("populate_calls");
	pthread_create(&b.t, NULL, bg_populate, &b);
	TRY(wait_running(calls0));
	r = pp_populate_once(vm.fd, 0, 0, 0, 0, &p);
	pthread_join(b.t, NULL);
	CHECK(r == -EBUSY, "a second POPULATE: got %s, want EBUSY", strerror(-r));
	CHECK(b.ret == 0 || b.ret == -EBUSY, "the first POPULATE: %s", strerror(-b.ret));
	vm_destroy(&vm);
	return 0;
}

static int t_teardown_mid(int unused)
{
	(void)unused;
	struct vm vm;
	struct bg b;
	long long calls0;
	int ret = setup(&vm, B_ANON4K, 256 * MiB, 2);

	if (ret)
		return ret;
	b.fd = dup(vm.fd);
	calls0 = counter("populate_calls");
	pthread_create(&b.t, NULL, bg_populate, &b);
	TRY(wait_running(calls0));
	/* the VMM lets go of everything: fds, vCPUs and guest memory */
	close(b.fd);
	vm_destroy(&vm);
	pthread_join(b.t, NULL);
	/* whatever it says, it says it: no hang, no oops (dmesg is checked) */
	CHECK(b.ret == 0 || b.ret == -EAGAIN || b.ret == -EBUSY || b.ret == -ESRCH,
	      "populate across teardown: %s", strerror(-b.ret));
	return 0;
}

long long counter(const char *name)
{
	char line[128], key[64];
	long long v, found = -1;
	FILE *f = fopen("/sys/kernel/debug/kvm_prepop/stats", "r");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "%63s %lld", key, &v) == 2 && !strcmp(key, name))
			found = v;
	if (f)
		fclose(f);
	return found;
}

static int t_killed_mid(int unused)
{
	(void)unused;
	long long intr = counter("err_intr");
	int fds[2], status;
	pid_t pid;
	char c;

	CHECK(pipe(fds) == 0, "pipe");
	pid = fork();
	if (pid == 0) {
		struct vm vm;
		struct kvm_prepop_populate p;

		if (setup(&vm, B_ANON4K, 512 * MiB, 2))
			_exit(3);
		if (write(fds[1], "x", 1) != 1)
			_exit(4);
		pp_populate(vm.fd, 0, 0, 0, 0, &p);
		_exit(0);
	}
	close(fds[1]);
	CHECK(read(fds[0], &c, 1) == 1, "child failed to set up its VM");
	close(fds[0]);
	usleep(300 * 1000);
	kill(pid, SIGKILL);
	CHECK(waitpid(pid, &status, 0) == pid, "waitpid");
	CHECK(WIFSIGNALED(status), "the child finished before it was killed");
	CHECK(counter("err_intr") == intr + 1, "err_intr %lld, want %lld: no -EINTR seen",
	      counter("err_intr"), intr + 1);
	return t_populate(B_ANON4K);	/* and the module still works */
}

static int t_range(int unused)
{
	(void)unused;
	struct vm vm;
	struct kvm_prepop_populate p;
	long long faults;
	int r, ret = setup(&vm, B_THP, 32 * MiB, 1);

	if (ret)
		return ret;
	r = pp_populate(vm.fd, BASE, BASE + 16 * MiB, 0, 0, &p);
	CHECK(r == 0 && p.next_gpa == BASE + 16 * MiB, "first half: %s, next %#llx", strerror(-r),
	      (unsigned long long)p.next_gpa);
	CHECK(p.mapped_2m == 8, "first half mapped %llu 2M leaves", (unsigned long long)p.mapped_2m);
	r = pp_populate(vm.fd, BASE + 16 * MiB, 0, 0, 0, &p);
	CHECK(r == 0 && p.next_gpa == BASE + 32 * MiB, "second half: %s", strerror(-r));
	CHECK(p.mapped_2m == 8, "second half mapped %llu 2M leaves", (unsigned long long)p.mapped_2m);
	r = pp_populate(vm.fd, 0, 2 * MiB, 0, 0, &p);
	CHECK(r == 0, "low slot: %s", strerror(-r));
	/* ranges past the end of RAM are clipped to it and reported done */
	r = pp_populate_once(vm.fd, BASE + 16 * MiB, BASE + 128 * MiB, 0, 0, &p);
	CHECK(r == 0 && p.next_gpa == BASE + 128 * MiB, "a range past RAM: %s, next %#llx",
	      strerror(-r), (unsigned long long)p.next_gpa);
	r = pp_populate_once(vm.fd, BASE + 32 * MiB, BASE + 64 * MiB, 0, 0, &p);
	CHECK(r == 0 && p.next_gpa == BASE + 64 * MiB, "a range from the end of RAM: %s, next %#llx",
	      strerror(-r), (unsigned long long)p.next_gpa);
	faults = touch(&vm);
	TRY(faults);
	CHECK(faults == 0, "%lld faults after ranged populates", faults);
	vm_destroy(&vm);
	return 0;
}

/*
 * The agent's path: a VM owned by another process, found the way prepopd
 * finds QEMU (its command line carries -uuid), its fd taken with
 * pidfd_getfd, populated from here; the owner's guest then touches RAM.
 */
#define FAKE_UUID "5a1e0000-0000-4000-8000-00000000c0de"

static int fake_qemu(int rfd, int wfd)
{
	struct vm vm;
	long long faults;
	char c;

	kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);	/* no keeper VM: one kvm-vm fd */
	if (kvm_fd < 0 || setup(&vm, B_THP, 32 * MiB, 2) != 0)
		return 3;
	if (write(wfd, "R", 1) != 1 || read(rfd, &c, 1) != 1)
		return 4;
	faults = touch(&vm);
	dprintf(wfd, "%lld\n", faults);
	return 0;
}

static int t_cross_process(int unused)
{
	int to_child[2], from_child[2], vfd, r, status;
	struct kvm_prepop_populate p;
	char rs[16], ws[16], buf[64] = "";
	pid_t pid, found;
	ssize_t n;

	(void)unused;
	CHECK(pipe(to_child) == 0 && pipe(from_child) == 0, "pipe");
	pid = fork();
	if (pid == 0) {
		snprintf(rs, sizeof(rs), "%d", to_child[0]);
		snprintf(ws, sizeof(ws), "%d", from_child[1]);
		execl("/proc/self/exe", "qemu-system-x86_64", "-name", "guest=xp", "-uuid",
		      FAKE_UUID, "--fake-qemu", rs, ws, (char *)NULL);
		_exit(5);
	}
	close(to_child[0]);
	close(from_child[1]);
	CHECK(read(from_child[0], buf, 1) == 1 && buf[0] == 'R', "the fake QEMU did not start");
	r = qemu_find("xp", FAKE_UUID, &found);
	CHECK(r == 0 && found == pid, "qemu_find: %s, pid %d (want %d)", strerror(-r), found, pid);
	vfd = qemu_vm_fd(pid);
	CHECK(vfd >= 0, "qemu_vm_fd: %s", strerror(-vfd));
	r = pp_populate(vfd, 0, 0, 0, 0, &p);
	close(vfd);
	CHECK(r == 0, "populate through pidfd_getfd: %s", strerror(-r));
	CHECK(p.workers == 2 && p.next_gpa == p.end_gpa && p.end_gpa == BASE + 32 * MiB,
	      "workers %u next %#llx end %#llx", p.workers, (unsigned long long)p.next_gpa,
	      (unsigned long long)p.end_gpa);
	CHECK(p.mapped_2m == 16, "2M leaves %llu", (unsigned long long)p.mapped_2m);
	CHECK(write(to_child[1], "T", 1) == 1, "pipe");
	n = read(from_child[0], buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = '\0';
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "fake QEMU exit %d", WEXITSTATUS(status));
	CHECK(atoll(buf) == 0 && buf[0] == '0', "the owner's guest took %s faults", buf);
	CHECK(qemu_find("xp", FAKE_UUID, &found) == -ESRCH, "found a QEMU that has exited");
	close(to_child[1]);
	close(from_child[0]);
	return 0;
}

struct scenario {
	const char *name;
	int (*fn)(int);
	int arg;
};

static const struct scenario scenarios[] = {
	{ "version", t_version, 0 },
	{ "bad-arguments", t_bad_args, 0 },
	{ "no-cap-sys-admin", t_no_cap, 0 },
	{ "vcpus-never-ran-eagain", t_never_ran, 0 },
	{ "fault-mode-control-4k", t_fault_mode, B_ANON4K },
	{ "fault-mode-control-hugetlb-2m", t_fault_mode, B_HUGE2M },
	{ "populate-anon-4k", t_populate, B_ANON4K },
	{ "populate-thp", t_populate, B_THP },
	{ "populate-hugetlb-2m", t_populate, B_HUGE2M },
	{ "populate-hugetlb-1g", t_populate, B_HUGE1G },
	{ "memslots-readonly-and-gap", t_slots, 0 },
	{ "vcpus-1", t_vcpus, 1 },
	{ "vcpus-2", t_vcpus, 2 },
	{ "vcpus-4", t_vcpus, 4 },
	{ "one-vcpu-running-kicked", t_one_running, 0 },
	{ "all-vcpus-running-kicked", t_all_running, 0 },
	{ "hold-kick-refused", t_kick_refused, 0 },
	{ "hold-ceiling", t_hold_ceiling, 0 },
	{ "hold-busy-guest-bounded", t_hold_busy_guest, 0 },
	{ "hold-caller-killed-releases", t_hold_caller_killed, 0 },
	{ "dirty-logging-ebusy", t_dirty_log, 0 },
	{ "tiny-budget-cursor", t_budget, 0 },
	{ "partial-ranges", t_range, 0 },
	{ "second-populate-ebusy", t_second_busy, 0 },
	{ "vmm-teardown-mid-populate", t_teardown_mid, 0 },
	{ "vmm-killed-mid-populate", t_killed_mid, 0 },
	{ "other-process-vm-via-pidfd-getfd", t_cross_process, 0 },
	{ "nx-huge-pages-exec-hugetlb-2m", t_nx_huge_pages, B_HUGE2M },
	{ "nx-huge-pages-exec-thp", t_nx_huge_pages, B_THP },
	{ "write-tracked-gfn-not-emulated", t_write_tracked, 0 },
	{ "vmm-dies-mid-populate-esrch", t_vmm_gone, 0 },
	{ "numa-vmm-bound-node1", t_numa_bound, 1 },
	{ "numa-vmm-mems-node1-cpus-node0", t_numa_bound, 0 },
	{ "numa-vmm-cpus-node1-mems-any", t_numa_bound, 2 },
	{ "numa-realtime-vcpu-thread", t_numa_bound, 3 },
};

static const char *current;

/* A scenario that hangs fails with the kernel's blocked-task dump, not a CI timeout. */
static void on_alarm(int sig)
{
	int fd = open("/proc/sysrq-trigger", O_WRONLY);

	(void)sig;
	if (fd >= 0) {
		(void)!write(fd, "w", 1);
		close(fd);
	}
	dprintf(1, "not ok - %s: timed out after %d s (blocked tasks in dmesg)\n", current,
		SCENARIO_TIMEOUT);
	dprintf(1, "testbed: 0 passed, 1 failed, 0 skipped\n");
	_exit(1);
}

/* filter: "all", or names' substrings separated by commas */
static bool selected(const char *name, const char *filter)
{
	char f[256], *save, *tok;

	snprintf(f, sizeof(f), "%s", filter);
	for (tok = strtok_r(f, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		if (strstr(name, tok))
			return true;
	return false;
}

int main(int argc, char **argv)
{
	int pass = 0, fail = 0, skip = 0, n = 0;
	int repeat = argc > 2 ? atoi(argv[2]) : 1;

	if (argc > 1 && !strcmp(argv[1], "--keep-vm"))
		kt_keep_vm();
	for (int i = 1; i + 2 < argc; i++)	/* as exec'ed by t_cross_process */
		if (!strcmp(argv[i], "--fake-qemu"))
			return fake_qemu(atoi(argv[i + 1]), atoi(argv[i + 2]));
	if (argc == 3 && !strcmp(argv[1], "--vmm-gone"))	/* as exec'ed by t_vmm_gone */
		return vmm_gone_child(atoi(argv[2]));
	if (argc == 4 && !strncmp(argv[1], "--numa-vmm", 10))	/* as exec'ed by t_numa_bound */
		return numa_vmm_child(atoi(argv[2]), atoi(argv[3]), !strcmp(argv[1], "--numa-vmm-rt"));
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGALRM, on_alarm);
	kt_init();
	for (size_t k = 0; k < repeat * sizeof(scenarios) / sizeof(scenarios[0]); k++) {
		const struct scenario *s = &scenarios[k % (sizeof(scenarios) / sizeof(scenarios[0]))];
		uint64_t t0;
		int r;

		if (argc > 1 && strcmp(argv[1], "all") && !selected(s->name, argv[1]))
			continue;
		kt_errbuf[0] = '\0';
		current = s->name;
		alarm(SCENARIO_TIMEOUT);
		t0 = now_ns();
		r = s->fn(s->arg);
		n++;
		if (r == 0) {
			pass++;
			printf("ok %d - %s (%.1f s)\n", n, s->name, (now_ns() - t0) / 1e9);
		} else if (r == SKIP) {
			skip++;
			printf("ok %d - %s # SKIP %s\n", n, s->name, kt_errbuf);
		} else {
			fail++;
			printf("not ok %d - %s: %s\n", n, s->name, kt_errbuf);
		}
	}
	printf("testbed: %d passed, %d failed, %d skipped\n", pass, fail, skip);
	return fail ? 1 : 0;
}
