/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The testbed's write-tracking helper (pp_track.ko): /dev/pp_track write-
 * tracks a guest page the way KVMGT does, through KVM's exported page-track
 * API.  What the file descriptor tracked is untracked when it is closed.
 */
#ifndef PP_TRACK_H
#define PP_TRACK_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define PP_TRACK_DEVICE "/dev/pp_track"

struct pp_track_gfn {
	__s32 vm_fd;	/* a KVM VM of the calling process */
	__u32 pad;	/* 0 */
	__u64 gfn;
};

/* Write-track gfn; one gfn per open file.  -EBUSY if this file tracks one. */
#define PP_TRACK_ADD _IOW(0xB8, 0x01, struct pp_track_gfn)

#endif
