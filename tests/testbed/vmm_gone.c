// SPDX-License-Identifier: GPL-2.0-only
/*
 * The VMM dies while the agent populates its VM: the call stops at once
 * with -ESRCH instead of going on allocating and mapping the RAM of a
 * process that will never run the guest again, and a call on the VM fd the
 * agent still holds is refused.  The VMM is another process, as QEMU is
 * for prepopd, which took its VM fd with pidfd_getfd.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "qemu.h"
#include "scenario.h"

#define MS 1000000ull
#define GONE_SIZE (512 * MiB)
/* how long after SIGKILL the call may take: a batch, the kill, TCG's slowness */
#define GONE_PROMPT_NS (2000 * MS)

/* The VMM: a VM with 2 vCPUs, one of them running, until killed. */
int vmm_gone_child(int wfd)
{
	struct vm vm;

	kt_init_vmm();
	if (setup(&vm, B_ANON4K, GONE_SIZE, 2) != 0) {
		fprintf(stderr, "exiting VMM: %s\n", kt_errbuf);
		return 3;
	}
	if (vcpu_spin_start(&vm, 1) < 0 || write(wfd, "R", 1) != 1)
		return 4;
	for (;;)
		pause();
}

struct gone_call {
	int fd, ret;
	uint64_t end_ns;
	int done;
	struct kvm_prepop_populate p;
};

static void *gone_populate(void *arg)
{
	struct gone_call *c = arg;

	c->ret = pp_populate_once(c->fd, 0, 0, 0, 0, &c->p);
	c->end_ns = now_ns();
	__atomic_store_n(&c->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static int gone_run(pid_t pid, int vfd)
{
	struct gone_call c = { .fd = vfd };
	long long calls0 = counter("populate_calls");
	struct kvm_prepop_populate p;
	uint64_t t_kill;
	pthread_t t;
	int status, r;

	pthread_create(&t, NULL, gone_populate, &c);
	if (wait_running(calls0) < 0) {
		pthread_join(t, NULL);
		return -1;
	}
	usleep(200 * 1000);	/* mapping, holding the vCPUs in turn */
	CHECK(!__atomic_load_n(&c.done, __ATOMIC_ACQUIRE),
	      "the populate ended before the VMM was killed (%s): no test", strerror(-c.ret));
	t_kill = now_ns();
	kill(pid, SIGKILL);
	CHECK(waitpid(pid, &status, 0) == pid && WIFSIGNALED(status), "the VMM was not killed");
	pthread_join(t, NULL);
	printf("# VMM killed: the call returned %s %.1f ms later\n", strerror(-c.ret),
	       (c.end_ns - t_kill) / 1e6);
	CHECK(c.ret == -ESRCH, "populate across the VMM's death: %s, want ESRCH", strerror(-c.ret));
	CHECK(c.end_ns - t_kill < GONE_PROMPT_NS, "the call went on %.1f ms after the VMM died",
	      (c.end_ns - t_kill) / 1e6);
	/* the VM lives on through our fd, its process's memory does not */
	r = pp_populate_once(vfd, 0, 0, 0, 0, &p);
	CHECK(r == -ESRCH, "a call on the dead VMM's VM: %s, want ESRCH", strerror(-r));
	return 0;
}

int t_vmm_gone(int unused)
{
	char ws[16], c;
	int fds[2], vfd, ret;
	pid_t pid;

	(void)unused;
	CHECK(pipe(fds) == 0, "pipe");
	pid = fork();
	if (pid == 0) {
		close(fds[0]);
		snprintf(ws, sizeof(ws), "%d", fds[1]);
		execl("/proc/self/exe", "vmm-gone", "--vmm-gone", ws, (char *)NULL);
		_exit(5);
	}
	close(fds[1]);
	if (read(fds[0], &c, 1) != 1) {
		close(fds[0]);
		waitpid(pid, NULL, 0);
		return kt_err("the VMM did not start");
	}
	close(fds[0]);
	vfd = qemu_vm_fd(pid);
	if (vfd < 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return kt_err("qemu_vm_fd: %s", strerror(-vfd));
	}
	/* a ceiling far above what the call needs once the VMM is gone */
	CHECK(module_param_set("kvm_prepop", "max_hold_ms", "10000") == 0, "max_hold_ms=10000 refused");
	ret = gone_run(pid, vfd);
	module_param_set("kvm_prepop", "max_hold_ms", "100");
	if (ret) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	close(vfd);
	return ret;
}
