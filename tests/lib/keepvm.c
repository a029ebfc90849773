// SPDX-License-Identifier: GPL-2.0-only
/*
 * keepvm (static; run by the emulated hypervisor's /init before any guest):
 * create two VMs that never run (one without and one with an in-kernel
 * irqchip, a vCPU each) and sleep until killed.  KVM flips static keys when
 * the first VM or vCPU appears and the last goes; QEMU 7.2's TCG can keep
 * running a stale translation of the patched kernel text and hang.  VMs that
 * live for the whole run keep every key on (as the testbed's VMM does).
 */
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <unistd.h>

int main(void)
{
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	int plain, withirq;

	if (kvm < 0) {
		perror("keepvm: /dev/kvm");
		return 1;
	}
	plain = ioctl(kvm, KVM_CREATE_VM, 0);
	withirq = ioctl(kvm, KVM_CREATE_VM, 0);
	if (plain < 0 || withirq < 0 || ioctl(withirq, KVM_CREATE_IRQCHIP, 0) < 0 ||
	    ioctl(plain, KVM_CREATE_VCPU, 0) < 0 || ioctl(withirq, KVM_CREATE_VCPU, 0) < 0) {
		perror("keepvm");
		return 1;
	}
	printf("keeper: 2 idle VMs\n");
	fflush(stdout);
	for (;;)
		pause();
}
