/* SPDX-License-Identifier: GPL-2.0-only */
/* What the testbed's scenario files share. */
#ifndef SCENARIO_H
#define SCENARIO_H

#include <stdbool.h>

#include "kvmtest.h"

#define BASE GiB	/* the RAM under test starts at 1 GiB, aligned for every page size */
#define SKIP 1

#define CHECK(cond, ...) do { if (!(cond)) return kt_err(__VA_ARGS__); } while (0)
#define TRY(expr) do { if ((expr) < 0) return -1; } while (0)

/* slot 0: 2 MiB of 4K anon for code; slot 1: size at BASE with backing b; vCPUs ready */
int setup(struct vm *vm, int b, uint64_t size, int nvcpus);
/* vCPU 0 writes every page; returns the stage-2 faults KVM fixed meanwhile */
long long touch(struct vm *vm);
long long leaves(struct vm *vm);
/* KVM_PREPOP_ENGINE_* the module should run here */
unsigned expected_engine(void);
/* a line of /sys/kernel/debug/kvm_prepop/stats, or -1 */
long long counter(const char *name);
/* until a POPULATE begun after populate_calls was calls0 is inside the module */
int wait_running(long long calls0);

/* hold.c: the vCPU hold */
int t_kick_refused(int unused);
int t_hold_ceiling(int unused);
int t_hold_busy_guest(int unused);
int t_hold_caller_killed(int unused);

/* mapping.c: what KVM decides to map (NX huge pages, write tracking) */
int t_nx_huge_pages(int backing);
int t_write_tracked(int unused);

/* vmm_gone.c: the VMM dies mid-populate */
int t_vmm_gone(int unused);
int vmm_gone_child(int wfd);	/* the VMM, exec'ed with --vmm-gone WFD */

/* numa.c: host NUMA placement */
int t_numa_bound(int variant);	/* the VMM's cpuset: see numa.c */
int numa_vmm_child(int rfd, int wfd, bool rt);	/* the bound VMM: --numa-vmm[-rt] RFD WFD */

#endif
