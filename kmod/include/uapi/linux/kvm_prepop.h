/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * kvm_prepop: build a KVM VM's stage-2 (NPT/EPT) tables ahead of the guest.
 *
 * /dev/kvm_prepop (0600; every ioctl needs CAP_SYS_ADMIN).  Each argument
 * struct starts with its own size: the kernel accepts any size from the
 * first published version up, as long as bytes it does not know are zero,
 * and rejects a smaller size, unknown flags or non-zero reserved fields
 * with -EINVAL.
 *
 * vm_fd is a KVM VM file descriptor in the *caller's* table.  A management
 * agent obtains QEMU's with pidfd_open(qemu_pid) + pidfd_getfd(pidfd,
 * qemu_vm_fd) (Linux 5.6+, needs PTRACE_MODE_ATTACH_REALCREDS over QEMU).
 */
#ifndef _UAPI_LINUX_KVM_PREPOP_H
#define _UAPI_LINUX_KVM_PREPOP_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define KVM_PREPOP_DEVICE	"/dev/kvm_prepop"
#define KVM_PREPOP_API_VERSION	2	/* 2: vCPUs are held in the kernel (FEAT_HOLD) */

/* ioctl type 0xB9, numbers 0x00-0x0F (Documentation/userspace-api/ioctl/ioctl-number.rst) */
#define KVM_PREPOP_IOC_TYPE	0xB9

/* KVM_PREPOP_VERSION: out only (size is in). */
#define KVM_PREPOP_FEAT_POPULATE	(1ULL << 0)
#define KVM_PREPOP_FEAT_QUERY		(1ULL << 1)
/*
 * POPULATE takes the vCPUs it uses itself, for its slice only: a vCPU in
 * KVM_RUN is kicked out of it with the VMM's own kick signal (module
 * parameter kick_signal, SIGUSR1 as QEMU uses) and its vcpu->mutex is held
 * until the slice ends, so its next KVM_RUN waits.  No call holds a vCPU
 * longer than the module parameter max_hold_ms (hold_ceiling_ns below).
 */
#define KVM_PREPOP_FEAT_HOLD		(1ULL << 2)

struct kvm_prepop_version {
	__u32 size;		/* in: sizeof(struct kvm_prepop_version) */
	__u32 api_version;	/* out: KVM_PREPOP_API_VERSION */
	__u64 features;		/* out: KVM_PREPOP_FEAT_* */
	__u32 max_workers;	/* out: the most workers one call may use */
	__u32 reserved;		/* zero */
	/* API 2 */
	__u64 hold_ceiling_ns;	/* out: no call holds a vCPU longer (max_hold_ms) */
	__u32 engine;		/* out: KVM_PREPOP_ENGINE_* this module runs */
	__u32 reserved2;	/* zero */
};

/*
 * Engines.  FAULT: KVM's own fault path, called with the vCPU held (needs
 * KVM internals exported to modules: 6.1, 6.12).  PREFAULT: the vCPU
 * file's KVM_PRE_FAULT_MEMORY (6.11+; the only one from 6.18 on).  Chosen
 * at load: FAULT where it exists, unless the module parameter engine=2.
 */
#define KVM_PREPOP_ENGINE_FAULT		1
#define KVM_PREPOP_ENGINE_PREFAULT	2

/*
 * KVM_PREPOP_POPULATE: map [start_gpa, end_gpa) of the VM's guest RAM
 * (start_gpa == end_gpa == 0: all of it) in its stage-2 tables, at the
 * largest page size the host backs, using up to max_threads idle vCPUs
 * (0: every usable one), for at most budget_ns (0: no limit).
 *
 * Returns 0 with next_gpa == end_gpa when done (a range reaching past the
 * end of RAM is clipped to it and done there), or 0 with next_gpa <
 * end_gpa when the budget ran out: call again from next_gpa.
 * Errors: -EBUSY (every vCPU is running, in SMM or in guest mode; a slot
 * in range logs dirty pages; guest RAM is userfaultfd-armed, as in
 * post-copy; another POPULATE of this VM is running), -EAGAIN (no idle
 * vCPU has a loaded stage-2 root yet: let the guest run, then retry),
 * -EOPNOTSUPP (the VM does not use the TDP MMU), -EINTR (the caller got
 * a fatal signal), -ESRCH (the VM is being destroyed, or the process that
 * runs it has exited or is exiting, also mid-call: nothing to resume),
 * -EBADF / -EINVAL (vm_fd is not open / not a KVM VM),
 * -EPERM (no CAP_SYS_ADMIN).  With -EINTR, -EBUSY and -EAGAIN the struct
 * is still written back: next_gpa (what is done), the leaves, the holds.
 */
struct kvm_prepop_populate {
	__u32 size;		/* in: sizeof(struct kvm_prepop_populate) */
	__u32 flags;		/* in: zero */
	__s32 vm_fd;		/* in */
	__u32 max_threads;	/* in: 0 = one per usable vCPU */
	__u64 start_gpa;	/* in: page aligned */
	__u64 end_gpa;		/* in: page aligned, exclusive, 0 = end of RAM;
				 * out: where RAM ends, when 0 was passed */
	__u64 budget_ns;	/* in: 0 = no limit */
	__u64 next_gpa;		/* out: resume here; end of range when done */
	__u64 mapped_4k;	/* out: leaves added, from the VM's pages_* stats */
	__u64 mapped_2m;
	__u64 mapped_1g;
	__u64 fault_calls;	/* out: calls into KVM's fault path */
	__u64 elapsed_ns;	/* out */
	__u32 workers;		/* out: vCPU workers used */
	__u32 reserved;		/* zero */
	/* API 2 */
	__u64 max_hold_ns;	/* out: the longest any vCPU was held by this call */
	__u64 max_kick_ns;	/* out: the longest wait from the first kick to a vCPU taken */
	__u32 kicks;		/* out: vCPU takes that needed a kick (the vCPU was in KVM_RUN) */
	__u32 reserved2;	/* zero */
};

#define KVM_PREPOP_STAGE2_UNKNOWN	0	/* no vCPU has loaded a root yet (6.3+) */
#define KVM_PREPOP_STAGE2_TDP_MMU	1
#define KVM_PREPOP_STAGE2_OTHER		2	/* shadow paging or legacy TDP */

/* KVM_PREPOP_QUERY: a VM's stage-2 state, for the agent and operators. */
struct kvm_prepop_query {
	__u32 size;		/* in */
	__u32 flags;		/* in: zero */
	__s32 vm_fd;		/* in */
	__u32 stage2;		/* out: KVM_PREPOP_STAGE2_* */
	__u32 vcpus;		/* out: created */
	__u32 vcpus_with_root;	/* out: idle with a valid stage-2 root */
	__u32 vcpus_running;	/* out: inside KVM_RUN (or another vCPU ioctl) */
	__u32 vcpus_in_smm;
	__u32 vcpus_in_guest_mode;	/* out: running a nested guest */
	__u32 memslots;		/* out: user memslots, address space 0 */
	__u32 memslots_readonly;	/* also guest_memfd slots: never populated */
	__u32 memslots_dirty_log;
	__u32 uffd_armed;	/* out: 1 if any guest RAM is userfaultfd-armed */
	__u32 reserved;		/* zero */
	__u64 ram_bytes;	/* out: in writable user memslots */
	__u64 pages_4k;		/* out: leaves mapped now, KVM's own stats */
	__u64 pages_2m;
	__u64 pages_1g;
};

#define KVM_PREPOP_VERSION	_IO(KVM_PREPOP_IOC_TYPE, 0x00)
#define KVM_PREPOP_POPULATE	_IO(KVM_PREPOP_IOC_TYPE, 0x01)
#define KVM_PREPOP_QUERY	_IO(KVM_PREPOP_IOC_TYPE, 0x02)

#endif /* _UAPI_LINUX_KVM_PREPOP_H */
