// SPDX-License-Identifier: GPL-2.0-only
/*
 * Scenarios of the vCPU hold: POPULATE takes running vCPUs by kicking them
 * out of KVM_RUN with the VMM's kick signal, never longer than the module's
 * ceiling, lets the guest run between chunks, and lets go when its caller
 * dies.  The test VMM's vCPU threads behave as QEMU's: SIGUSR1 has a
 * handler, and KVM_RUN is entered again after -EINTR.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "scenario.h"

#define MS 1000000ull
/* a hold may pass the deadline by one batch of pages; generous under TCG */
#define BATCH_SLACK_NS (50 * MS)

/* Write one of kvm_prepop's parameters; 0 or -errno. */
static int param_set(const char *name, const char *val)
{
	return module_param_set("kvm_prepop", name, val);
}

int t_kick_refused(int unused)
{
	(void)unused;
	static const char *const bad_signal[] = { "9", "19", "-1", "65", "x" };
	static const char *const bad_ceiling[] = { "0", "10001", "-5", "many" };
	struct kvm_prepop_populate p;
	struct vm vm;
	int r, ret = setup(&vm, B_ANON4K, 4 * MiB, 1);

	if (ret)
		return ret;
	for (size_t i = 0; i < sizeof(bad_signal) / sizeof(bad_signal[0]); i++)
		CHECK(param_set("kick_signal", bad_signal[i]) == -EINVAL,
		      "kick_signal=%s accepted", bad_signal[i]);
	for (size_t i = 0; i < sizeof(bad_ceiling) / sizeof(bad_ceiling[0]); i++)
		CHECK(param_set("max_hold_ms", bad_ceiling[i]) == -EINVAL,
		      "max_hold_ms=%s accepted", bad_ceiling[i]);
	TRY(vcpu_spin_start(&vm, 0));
	/* kicking off: a vCPU inside KVM_RUN is skipped, as before the hold */
	CHECK(param_set("kick_signal", "0") == 0, "kick_signal=0 refused");
	r = pp_populate_once(vm.fd, 0, 0, 0, 0, &p);
	CHECK(r == -EBUSY, "kick_signal=0, the vCPU running: %s, want EBUSY", strerror(-r));
	/* SIGUSR2 has its default action here (it would kill us): never sent */
	CHECK(param_set("kick_signal", "12") == 0, "kick_signal=12 refused");
	r = pp_populate_once(vm.fd, 0, 0, 0, 0, &p);
	param_set("kick_signal", "10");
	CHECK(r == -EBUSY, "a kick signal with the default action: %s, want EBUSY", strerror(-r));
	r = pp_populate(vm.fd, 0, 0, 0, 0, &p);
	TRY(vcpu_spin_stop(&vm, 0));
	CHECK(r == 0 && p.kicks >= 1, "kick_signal back to SIGUSR1: %s, %u kicks", strerror(-r),
	      p.kicks);
	vm_destroy(&vm);
	return 0;
}

int t_hold_ceiling(int unused)
{
	(void)unused;
	static const uint64_t budgets[] = { 0, UINT64_MAX, 5000 * MS };
	struct kvm_prepop_version v = { .size = sizeof(v) };
	struct kvm_prepop_populate p;
	struct vm vm;
	uint64_t cursor = 0;
	int r, progress = 0, ret = setup(&vm, B_ANON4K, 256 * MiB, 2);

	if (ret)
		return ret;
	TRY(vcpu_spin_start(&vm, 0));
	TRY(vcpu_spin_start(&vm, 1));
	CHECK(param_set("max_hold_ms", "20") == 0, "max_hold_ms=20 refused");
	CHECK(ioctl(prepop_fd, KVM_PREPOP_VERSION, &v) == 0 && v.hold_ceiling_ns == 20 * MS &&
	      (v.features & KVM_PREPOP_FEAT_HOLD), "VERSION: ceiling %llu, features %#llx",
	      (unsigned long long)v.hold_ceiling_ns, (unsigned long long)v.features);
	/* each budget at least once; on a loaded host a call may get no vCPU in 20 ms */
	for (size_t i = 0; i < 12 && (i < 3 || !progress); i++) {
		uint64_t budget = budgets[i % 3];

		r = pp_populate_once(vm.fd, cursor, 0, budget, 0, &p);
		printf("# budget %llu: %s, %.1f ms, longest hold %.1f ms, kick %.2f ms, %u kicks\n",
		       (unsigned long long)budget, strerror(-r), p.elapsed_ns / 1e6,
		       p.max_hold_ns / 1e6, p.max_kick_ns / 1e6, p.kicks);
		/* no budget, not even none or the largest, passes the ceiling */
		if ((r && r != -EBUSY) || p.max_hold_ns > 20 * MS + BATCH_SLACK_NS ||
		    (!r && p.next_gpa >= p.end_gpa)) {
			r = r ?: -1;
			break;
		}
		if (!r && p.next_gpa > cursor) {
			cursor = p.next_gpa;
			progress++;
		}
		r = 0;
	}
	param_set("max_hold_ms", "100");
	TRY(vcpu_spin_stop(&vm, 0));
	TRY(vcpu_spin_stop(&vm, 1));
	CHECK(r == 0, "a call past the 20 ms ceiling: %s; next %#llx end %#llx, hold %.1f ms",
	      r != -1 ? strerror(-r) : "done in one call", (unsigned long long)p.next_gpa,
	      (unsigned long long)p.end_gpa, p.max_hold_ns / 1e6);
	CHECK(progress > 0, "no call made progress within the 20 ms ceiling");
	CHECK(counter("max_hold_ns") >= (long long)p.max_hold_ns, "stats max_hold_ns %lld",
	      counter("max_hold_ns"));
	vm_destroy(&vm);
	return 0;
}

/* The guest is held per chunk, not for the whole call: it runs in between. */
int t_hold_busy_guest(int unused)
{
	(void)unused;
	struct kvm_prepop_populate p;
	struct vm vm;
	unsigned long runs;
	long long faults;
	int r, ret = setup(&vm, B_ANON4K, 64 * MiB, 2);

	if (ret)
		return ret;
	TRY(vcpu_spin_start(&vm, 1));	/* vCPU 0 stays at the touch code */
	runs = __atomic_load_n(&vm.vcpus[1].runs, __ATOMIC_RELAXED);
	/* one call that got the vCPUs (a loaded host may refuse a call as busy) */
	for (int i = 0; (r = pp_populate_once(vm.fd, 0, 0, 0, 0, &p)) == -EBUSY && i < 20; i++)
		usleep(10000);
	runs = __atomic_load_n(&vm.vcpus[1].runs, __ATOMIC_RELAXED) - runs;
	printf("# one call: %llu MiB mapped, %u kicks, KVM_RUN re-entered %lu times, longest hold %.1f ms\n",
	       (unsigned long long)((p.next_gpa - BASE) >> 20), p.kicks, runs, p.max_hold_ns / 1e6);
	TRY(vcpu_spin_stop(&vm, 1));
	CHECK(r == 0, "populate: %s", strerror(-r));
	/* the vCPU ran in between: it left KVM_RUN for a kick and came back to it */
	CHECK(p.kicks >= 1 && runs >= 2,
	      "the vCPU was held across the whole call: %u kicks, %lu KVM_RUN returns", p.kicks, runs);
	CHECK(p.max_hold_ns < p.elapsed_ns, "longest hold %llu ns of a %llu ns call",
	      (unsigned long long)p.max_hold_ns, (unsigned long long)p.elapsed_ns);
	TRY(pp_populate(vm.fd, p.next_gpa, 0, 0, 0, &p));
	faults = touch(&vm);
	TRY(faults);
	CHECK(faults == 0, "%lld faults after populate", faults);
	vm_destroy(&vm);
	return 0;
}

/* kill -9 of the caller mid-call: the call ends and the vCPUs run again. */
int t_hold_caller_killed(int unused)
{
	(void)unused;
	long long calls0 = counter("populate_calls");
	struct kvm_prepop_populate p;
	unsigned long runs;
	uint64_t t_kill, took;
	int fds[2], status, r;
	struct vm vm;
	pid_t pid;
	char c;

	TRY(setup(&vm, B_ANON4K, 256 * MiB, 2));
	TRY(vcpu_spin_start(&vm, 0));
	TRY(vcpu_spin_start(&vm, 1));
	CHECK(pipe(fds) == 0, "pipe");
	pid = fork();	/* the child inherits the VM fd: an agent holding QEMU's */
	if (pid == 0) {
		close(fds[0]);
		if (write(fds[1], "x", 1) != 1)
			_exit(4);
		for (;;)
			pp_populate_once(vm.fd, 0, 0, 0, 0, &p);
	}
	close(fds[1]);
	CHECK(read(fds[0], &c, 1) == 1, "the child did not start");
	close(fds[0]);
	for (int i = 0; i < 5000 && counter("populate_calls") < calls0 + 2; i++)
		usleep(1000);
	usleep(10 * 1000);	/* inside a call, most likely holding both vCPUs */
	t_kill = now_ns();
	kill(pid, SIGKILL);
	CHECK(waitpid(pid, &status, 0) == pid && WIFSIGNALED(status), "the child was not killed");
	took = now_ns() - t_kill;
	runs = __atomic_load_n(&vm.vcpus[0].runs, __ATOMIC_RELAXED) +
	       __atomic_load_n(&vm.vcpus[1].runs, __ATOMIC_RELAXED);
	/* both vCPUs are back in KVM_RUN and a new call is not refused as busy */
	r = pp_populate(vm.fd, 0, 0, 0, 0, &p);
	for (int i = 0; r && i < 5; i++) {
		printf("# after the kill: %s; busy %lld again %lld\n", strerror(-r), counter("err_busy"),
		       counter("err_again"));
		usleep(100 * 1000);
		r = pp_populate(vm.fd, 0, 0, 0, 0, &p);
	}
	printf("# caller killed: gone %.1f ms after SIGKILL; the next call %s, %u kicks\n",
	       took / 1e6, strerror(-r), p.kicks);
	CHECK(__atomic_load_n(&vm.vcpus[0].runs, __ATOMIC_RELAXED) +
	      __atomic_load_n(&vm.vcpus[1].runs, __ATOMIC_RELAXED) > runs,
	      "the vCPUs did not run again");
	TRY(vcpu_spin_stop(&vm, 0));
	TRY(vcpu_spin_stop(&vm, 1));
	CHECK(r == 0 && p.kicks >= 1, "after the kill: %s", strerror(-r));
	/* the process could not exit before the call let go of the vCPUs */
	CHECK(took < 100 * MS + 1000 * MS, "the killed caller took %.1f ms to go", took / 1e6);
	vm_destroy(&vm);
	return 0;
}
