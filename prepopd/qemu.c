// SPDX-License-Identifier: GPL-2.0-only
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "qemu.h"

/* Does pid run with "-uuid <uuid>" on its command line? */
static bool runs_uuid(pid_t pid, const char *uuid)
{
	char path[64], buf[65536];
	bool prev_uuid = false, found = false;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	for (char *a = buf; a < buf + n; a += strlen(a) + 1) {
		if (prev_uuid && !strcasecmp(a, uuid))
			found = true;
		prev_uuid = !strcmp(a, "-uuid");
	}
	return found;
}

int qemu_find(const char *name, const char *uuid, pid_t *pid)
{
	char path[4096];
	FILE *f;
	DIR *d;
	struct dirent *de;
	int p;

	snprintf(path, sizeof(path), "/run/libvirt/qemu/%s.pid", name);
	f = fopen(path, "re");
	if (f) {
		if (fscanf(f, "%d", &p) == 1 && runs_uuid(p, uuid)) {
			fclose(f);
			*pid = p;
			return 0;
		}
		fclose(f);
	}
	d = opendir("/proc");
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		p = atoi(de->d_name);
		if (p > 0 && runs_uuid(p, uuid)) {
			closedir(d);
			*pid = p;
			return 0;
		}
	}
	closedir(d);
	return -ESRCH;
}

int qemu_vm_fd(pid_t pid)
{
	char dir[64], link[512], target[128];
	struct dirent *de;
	int pidfd, fd = -ENOENT;
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
	d = opendir(dir);
	if (!d)
		return -errno;
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0) {
		int e = errno;

		closedir(d);
		return -e;
	}
	while ((de = readdir(d))) {
		ssize_t n;

		snprintf(link, sizeof(link), "%s/%s", dir, de->d_name);
		n = readlink(link, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		if (!strcmp(target, "anon_inode:kvm-vm")) {
			fd = (int)syscall(SYS_pidfd_getfd, pidfd, atoi(de->d_name), 0);
			if (fd < 0)
				fd = -errno;
			break;
		}
	}
	closedir(d);
	close(pidfd);
	return fd;
}
