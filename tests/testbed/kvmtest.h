/* SPDX-License-Identifier: GPL-2.0-only */
/* A minimal VMM for the testbed: VMs, memslots, vCPUs running flat 32-bit code. */
#ifndef KVMTEST_H
#define KVMTEST_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "linux/kvm_prepop.h"

#define MiB (1ull << 20)
#define GiB (1ull << 30)
#define MAX_SLOTS 8
#define MAX_VCPUS 8

/* Guest entry points (gpa) and the exits they make. */
/* vCPU i's: + GUEST_TOUCH_STRIDE * i (up to MAX_TOUCH_VCPUS) */
#define GUEST_TOUCH_STRIDE 0x200
#define GUEST_CLOCK 0x700	/* u64 TSC at the touch's start, then at its end */
#define GUEST_TABLE 0x800	/* u32 count, then {u32 start, u32 end} ranges to touch */
#define MAX_TOUCH_VCPUS 4
#define GUEST_CODE 0x1000	/* out 0x10 (ready); touch the table, timed; out 0x11; loop */
#define GUEST_SPIN 0x1100	/* jmp $ */
#define PORT_READY 0x10
#define PORT_TOUCHED 0x11

enum backing { B_ANON4K, B_THP, B_HUGE2M, B_HUGE1G, B_COUNT };
extern const char *const backing_name[B_COUNT];

struct slot {
	uint64_t gpa, size;
	void *hva;
	size_t map_len;
	void *map;
	bool readonly;
};

struct vcpu {
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool spinning;
	unsigned long runs;	/* KVM_RUN returns while spinning (kicks included) */
};

struct vm {
	int fd;
	int nslots, nvcpus;
	struct slot slots[MAX_SLOTS];
	struct vcpu vcpus[MAX_VCPUS];
};

extern int kvm_fd, prepop_fd;

void kt_init(void);
/* A VMM of its own (a child exec'ed by a scenario): the device fds and the kick handler, no keeper VM. */
void kt_init_vmm(void);
/*
 * Hold one idle VM until killed.  KVM flips static keys when the first VM
 * appears and the last goes; QEMU's TCG can then run a stale translation of
 * the patched kernel text (an int3 in __schedule): the testbed's init keeps
 * one VM from boot to power-off so that happens once, before any test.
 */
void kt_keep_vm(void) __attribute__((noreturn));
/* All return 0 or -1 with a message printed by the caller through kt_err(). */
extern char kt_errbuf[512];
int kt_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

int vm_create(struct vm *vm);
void vm_destroy(struct vm *vm);
int vm_add_slot(struct vm *vm, uint64_t gpa, uint64_t size, enum backing b, bool readonly);
int vm_add_vcpu(struct vm *vm, uint64_t rip);
/* Write the touch tables: every vCPU touches every writable slot... */
void vm_set_touch_all(struct vm *vm);
/* ... or vCPU i < n its nth of each (vCPUs n..MAX_TOUCH_VCPUS-1 all of it; later ones share vCPU 0's). */
void vm_set_touch_split(struct vm *vm, int n);
void *vm_hva(struct vm *vm, uint64_t gpa);
/* The last touch of vCPUs 0..n-1, first start to last end, by the guest's own clock (TSC), in s. */
double vm_guest_touch_s(struct vm *vm, int n);
/* KVM_RUN until an OUT to port; -1 on any other exit. */
int vcpu_run_to(struct vm *vm, int i, int port);
/* Start / stop vCPU i spinning inside KVM_RUN on another thread. */
int vcpu_spin_start(struct vm *vm, int i);
int vcpu_spin_stop(struct vm *vm, int i);
int dirty_log(struct vm *vm, int slot, bool on);
/* A per-VM KVM stat from debugfs (sum over vCPUs), or -1. */
long long vm_stat(struct vm *vm, const char *name);
/* Write val to a file (sysfs, procfs, cgroupfs) whole: 0 or -errno. */
int kt_put(const char *path, const char *val);
/* A module's parameter (/sys/module/M/parameters/N): 0 or -errno; get strips the newline. */
int module_param_set(const char *module, const char *name, const char *val);
int module_param_get(const char *module, const char *name, char *buf, size_t len);

/* One POPULATE call. */
int pp_populate_once(int vm_fd, uint64_t start, uint64_t end, uint64_t budget_ns,
		     unsigned max_threads, struct kvm_prepop_populate *out);
/* POPULATE as the header says a caller does: again from next_gpa until done; sums the outputs. */
int pp_populate(int vm_fd, uint64_t start, uint64_t end, uint64_t budget_ns,
		unsigned max_threads, struct kvm_prepop_populate *out);
int pp_query(int vm_fd, struct kvm_prepop_query *q);
uint64_t now_ns(void);

#endif
