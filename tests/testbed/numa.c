// SPDX-License-Identifier: GPL-2.0-only
/*
 * Host NUMA placement: a VMM bound to node 1 by its cgroup's cpuset (as
 * libvirt binds a guest with <numatune> through cpuset.mems, the only
 * binding in mode "restrictive"), its VM populated by a caller that is not
 * bound (as prepopd is not).  Every page of the guest's RAM must land on
 * node 1, and so must KVM's stage-2 page tables built for it: the
 * populate allocates what the guest's own faults would have, where they
 * would have.  Three variants of the VMM's cpuset (t_numa_bound).  Needs
 * the emulated host's two nodes (run.sh).
 */
#define _GNU_SOURCE	/* pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "qemu.h"
#include "scenario.h"

#define RT_SIZE (64 * MiB)
#define RT_BUDGET_NS 2000000000ull
#define NUMA_SIZE (256 * MiB)	/* more page tables than the vCPUs' caches hold */
#define CG "/sys/fs/cgroup"
#define CG_VM CG "/pp-node1"

static int put(const char *path, const char *val)
{
	int r = kt_put(path, val);

	return r ? kt_err("%s <- %s: %s", path, val, strerror(-r)) : 0;
}

/* A line of a file, whole, by its prefix; "" if none. */
static void line_of(const char *path, const char *prefix, char *out, size_t len)
{
	FILE *f = fopen(path, "r");
	char l[4096];	/* /proc/cmdline whole */

	out[0] = '\0';
	while (f && fgets(l, sizeof(l), f))
		if (strstr(l, prefix)) {
			snprintf(out, len, "%s", l);
			break;
		}
	if (f)
		fclose(f);
}

/* KVM's page tables on a node: SecPageTables in kB (6.1+), or -1. */
static long long sec_pagetables_kb(int node)
{
	char path[96], l[4096], *p;

	/* fold the CPUs' pending counts in first (node 0 asked first: do it once a pair) */
	if (node == 0)
		put("/proc/sys/vm/stat_refresh", "1");

	snprintf(path, sizeof(path), "/sys/devices/system/node/node%d/meminfo", node);
	line_of(path, "SecPageTables:", l, sizeof(l));
	p = strstr(l, "SecPageTables:");
	return p ? atoll(p + strlen("SecPageTables:")) : -1;
}

/* The node of every page of [hva, hva + size) of this process: counts per node, absent. */
static void page_nodes(void *hva, uint64_t size, long n[2], long *absent, long *other)
{
	enum { N = 512 };
	void *pages[N];
	int status[N];

	n[0] = n[1] = *absent = *other = 0;
	for (uint64_t off = 0; off < size; off += N * 4096ull) {
		for (int i = 0; i < N; i++)
			pages[i] = (char *)hva + off + i * 4096ull;
		/* nodes NULL: where each page is, nothing moved, nothing faulted in */
		if (syscall(SYS_move_pages, 0, N, pages, NULL, status, 0) != 0) {
			*other += N;
			continue;
		}
		for (int i = 0; i < N; i++) {
			if (status[i] == 0 || status[i] == 1)
				n[status[i]]++;
			else if (status[i] == -ENOENT)
				(*absent)++;
			else
				(*other)++;
		}
	}
}

/*
 * The bound VMM, exec'ed inside the cgroup: a VM ready, then where its RAM
 * is.  rt: all its threads SCHED_FIFO (libvirt's <vcpusched
 * scheduler='fifo'>), vCPU 1 running a guest that spins.
 */
int numa_vmm_child(int rfd, int wfd, bool rt)
{
	struct sched_param main_sp = { .sched_priority = 2 }, spin_sp = { .sched_priority = 1 };
	long n[2], absent, other;
	struct vm vm;
	char c;

	kt_init_vmm();
	if (setup(&vm, B_ANON4K, rt ? RT_SIZE : NUMA_SIZE, 2) != 0) {
		fprintf(stderr, "numa VMM: %s\n", kt_errbuf);
		return 3;
	}
	if (rt && vcpu_spin_start(&vm, 1) != 0) {
		fprintf(stderr, "numa VMM: %s\n", kt_errbuf);
		return 3;
	}
	/*
	 * Both vCPUs' threads real-time: this one (vCPU 0's) above the spinning
	 * one, on the same CPU, or it would never run again to answer.
	 */
	if (rt && (sched_setscheduler(0, SCHED_FIFO, &main_sp) != 0 ||
		   pthread_setschedparam(vm.vcpus[1].thread, SCHED_FIFO, &spin_sp) != 0))
		return 6;
	if (write(wfd, "R", 1) != 1 || read(rfd, &c, 1) != 1)
		return 4;
	if (rt) {
		dprintf(wfd, "0 0 0 0\n");
		_exit(0);	/* the spinning vCPU thread with it */
	}
	page_nodes(vm.slots[1].hva, NUMA_SIZE, n, &absent, &other);
	dprintf(wfd, "%ld %ld %ld %ld\n", n[0], n[1], absent, other);
	return 0;
}

/* the VMM's cgroup: CPUs on node cpu_node, memory on nodes mems */
static int cgroup_bind(int cpu_node, const char *mems)
{
	char cpus[64], path[64];
	struct stat st;

	if (stat(CG "/cgroup.controllers", &st) != 0 &&
	    mount("cgroup2", CG, "cgroup2", 0, NULL) != 0)
		return kt_err("mount cgroup2: %s", strerror(errno));
	TRY(put(CG "/cgroup.subtree_control", "+cpuset"));
	if (mkdir(CG_VM, 0755) != 0 && errno != EEXIST)
		return kt_err("mkdir %s: %s", CG_VM, strerror(errno));
	snprintf(path, sizeof(path), "/sys/devices/system/node/node%d/cpulist", cpu_node);
	line_of(path, "", cpus, sizeof(cpus));
	CHECK(cpus[0], "node %d has no CPUs", cpu_node);
	TRY(put(CG_VM "/cpuset.cpus", cpus));
	TRY(put(CG_VM "/cpuset.mems", mems));
	return 0;
}

/*
 * A real-time VMM on node 1's one CPU, vCPU 1 spinning in its guest: a
 * worker on that CPU alone could never run beside it (nor take vCPU 0,
 * nor fault a page in), so workers of a real-time vCPU thread keep the
 * CPUs they had.  With them pinned the call mapped nothing and returned
 * -EBUSY after 800-900 ms (the review's measurement).
 */
static int rt_run(pid_t pid, int to, int from, bool *reaped)
{
	struct kvm_prepop_populate p;
	char buf[64];
	int vfd, r, status;
	uint64_t t0;

	vfd = qemu_vm_fd(pid);
	CHECK(vfd >= 0, "qemu_vm_fd: %s", strerror(-vfd));
	t0 = now_ns();
	r = pp_populate_once(vfd, 0, 0, RT_BUDGET_NS, 0, &p);
	close(vfd);
	printf("# real-time VMM: %s in %.1f ms, %llu 4K leaves, %u workers, %u kicks, longest hold %.1f ms\n",
	       r ? strerror(-r) : "ok", (now_ns() - t0) / 1e6, (unsigned long long)p.mapped_4k,
	       p.workers, p.kicks, p.max_hold_ns / 1e6);
	CHECK(write(to, "T", 1) == 1, "pipe");
	(void)!read(from, buf, sizeof(buf));
	*reaped = waitpid(pid, &status, 0) == pid;
	CHECK(*reaped && WIFEXITED(status) && WEXITSTATUS(status) == 0, "the real-time VMM exited %d",
	      WEXITSTATUS(status));
	CHECK(r == 0 && p.mapped_4k > 0 && p.next_gpa > 0,
	      "populate beside a real-time vCPU thread: %s, %llu leaves", r ? strerror(-r) : "ok",
	      (unsigned long long)p.mapped_4k);
	return 0;
}

static int numa_run(pid_t pid, int to, int from, bool *reaped)
{
	long long pt0[2], pt1[2];
	long n0, n1, absent, other;
	struct kvm_prepop_populate p;
	char buf[128] = "";
	int vfd, r, status;
	ssize_t len;

	vfd = qemu_vm_fd(pid);
	CHECK(vfd >= 0, "qemu_vm_fd: %s", strerror(-vfd));
	/* the scenarios before may still be freeing their VMs' tables: wait for a steady count */
	for (int k = 0; k < 50; k++) {
		for (int i = 0; i < 2; i++)
			pt0[i] = sec_pagetables_kb(i);
		usleep(100 * 1000);
		if (sec_pagetables_kb(0) == pt0[0] && sec_pagetables_kb(1) == pt0[1])
			break;
	}
	r = pp_populate(vfd, 0, 0, 0, 0, &p);
	for (int i = 0; i < 2; i++)
		pt1[i] = sec_pagetables_kb(i);
	close(vfd);
	CHECK(r == 0, "populate: %s", strerror(-r));
	CHECK(p.next_gpa == p.end_gpa && p.mapped_4k >= NUMA_SIZE / 4096, "next %#llx end %#llx, 4K leaves %llu",
	      (unsigned long long)p.next_gpa, (unsigned long long)p.end_gpa,
	      (unsigned long long)p.mapped_4k);
	CHECK(write(to, "T", 1) == 1, "pipe");
	len = read(from, buf, sizeof(buf) - 1);
	buf[len > 0 ? len : 0] = '\0';
	*reaped = waitpid(pid, &status, 0) == pid;
	CHECK(*reaped && WIFEXITED(status) && WEXITSTATUS(status) == 0, "the bound VMM exited %d",
	      WEXITSTATUS(status));
	CHECK(sscanf(buf, "%ld %ld %ld %ld", &n0, &n1, &absent, &other) == 4, "the VMM said '%s'", buf);
	printf("# RAM pages on node 0 / 1 / absent: %ld / %ld / %ld; KVM page tables added on node 0 / 1: %lld / %lld kB; %u workers\n",
	       n0, n1, absent, pt1[0] - pt0[0], pt1[1] - pt0[1], p.workers);
	CHECK(pt0[0] >= 0 && pt1[1] >= 0, "no SecPageTables in the nodes' meminfo");
	CHECK(absent == 0 && other == 0, "%ld pages absent, %ld unreadable after the populate", absent, other);
	CHECK(n0 == 0 && n1 == NUMA_SIZE / 4096, "%ld of the VMM's pages on node 0, %ld on node 1: want all on 1",
	      n0, n1);
	CHECK(pt1[0] <= pt0[0] && pt1[1] > pt0[1],
	      "KVM's page tables: %+lld kB on node 0, %+lld kB on node 1: want all on 1",
	      pt1[0] - pt0[0], pt1[1] - pt0[1]);
	return 0;
}

/*
 * variant 1: CPUs and memory on node 1 (pinned); 0: memory on node 1, CPUs
 * on node 0 (only mems_allowed keeps the worker's allocations on node 1);
 * 2: CPUs on node 1, memory on both (only the worker's CPUs put the
 * allocations on node 1, the local node); 3: as 1, the VMM real-time (rt_run)
 */
int t_numa_bound(int variant)
{
	int to[2] = { -1, -1 }, from[2] = { -1, -1 }, ret;
	char rs[16], ws[16], c, cmdline[4096];
	bool reaped = false;
	pid_t pid;

	line_of("/proc/cmdline", "", cmdline, sizeof(cmdline));
	if (!strstr(cmdline, " nodes=2")) {
		kt_err("one NUMA node (run.sh boots two with an even --smp)");
		return SKIP;
	}
	CHECK(access("/sys/devices/system/node/node1", F_OK) == 0, "nodes=2, but no node 1");
	ret = cgroup_bind(variant == 0 ? 0 : 1, variant == 2 ? "0-1" : "1");
	if (!ret && (pipe2(to, O_CLOEXEC) || pipe2(from, O_CLOEXEC)))
		ret = kt_err("pipe: %s", strerror(errno));
	pid = ret ? -1 : fork();
	if (pid == 0) {
		snprintf(rs, sizeof(rs), "%d", getpid());
		if (put(CG_VM "/cgroup.procs", rs) != 0) {
			fprintf(stderr, "numa VMM: %s\n", kt_errbuf);
			_exit(5);
		}
		/* the VMM's ends only: it must not hold ours when we go */
		fcntl(to[0], F_SETFD, 0);
		fcntl(from[1], F_SETFD, 0);
		snprintf(rs, sizeof(rs), "%d", to[0]);
		snprintf(ws, sizeof(ws), "%d", from[1]);
		execl("/proc/self/exe", "numa-vmm", variant == 3 ? "--numa-vmm-rt" : "--numa-vmm", rs, ws,
		      (char *)NULL);
		_exit(5);
	}
	if (!ret && pid < 0)
		ret = kt_err("fork: %s", strerror(errno));
	if (to[0] >= 0)
		close(to[0]);	/* the VMM's ends */
	if (from[1] >= 0)
		close(from[1]);
	if (!ret && read(from[0], &c, 1) != 1) {
		waitpid(pid, NULL, 0);
		ret = kt_err("the bound VMM did not start");
	} else if (!ret) {
		ret = (variant == 3 ? rt_run : numa_run)(pid, to[1], from[0], &reaped);
		if (ret && !reaped) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
		}
	}
	if (to[1] >= 0)
		close(to[1]);
	if (from[0] >= 0)
		close(from[0]);
	rmdir(CG_VM);
	return ret;
}
