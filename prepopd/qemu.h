/* SPDX-License-Identifier: GPL-2.0-only */
/* Finding a domain's QEMU and taking a copy of its KVM VM file descriptor. */
#ifndef PREPOP_QEMU_H
#define PREPOP_QEMU_H

#include <sys/types.h>

/*
 * The QEMU process of domain name/uuid: libvirt's pid file first, else a
 * scan of /proc; either way checked to run "-uuid <uuid>".  0 or -errno.
 */
int qemu_find(const char *name, const char *uuid, pid_t *pid);
/* Our own fd for pid's anon_inode:kvm-vm (pidfd_open + pidfd_getfd); fd or -errno. */
int qemu_vm_fd(pid_t pid);

#endif
