// SPDX-License-Identifier: GPL-2.0-only
/*
 * The migration tier's helper inside the emulated hypervisor.
 *
 *   migtool cmd SOCK TIMEOUT_S WORD SEQ
 *	Send "WORD SEQ" to a guest's workload (tests/migration/migload.c)
 *	through its command port's unix socket and print its reply line (the
 *	first line whose second field is SEQ).  Exit 1 if no reply came.
 *
 *   migtool query PID
 *	KVM_PREPOP_QUERY on QEMU PID's VM, as "key=value ..." on one line.
 *
 *   migtool populate PID TIMEOUT_S [WATCH]
 *	The experiment of the early scenarios: populate QEMU PID's VM (all of
 *	its RAM) with KVM_PREPOP_POPULATE, call after call, each from where the
 *	last stopped; -EAGAIN (no vCPU has a root) and -EBUSY are retried every
 *	100 ms.  Without WATCH it stops once all RAM is mapped.  With WATCH (a
 *	file holding a number, such as the VM's KVM "exits": it moves once the
 *	guest runs) it goes on until the number changes, looking at the tables
 *	every 20 ms and populating again from the start whenever they lost more
 *	than a tenth of what was mapped (QEMU's device-state load, a memslot
 *	change).  Stops after TIMEOUT_S in any case.  Prints one line: calls,
 *	errors by kind, leaves added, when the first leaf and all RAM were
 *	mapped, how often the tables lost them, the share of RAM mapped at the
 *	last look before the end and at the end, when the guest ran.  Exit 0
 *	if all RAM was mapped at some point, 3 if not.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm_prepop.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "qemu.h"

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ll + ts.tv_nsec / 1000000;
}

static int cmd(const char *path, int timeout_s, const char *word, const char *seq)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	long long deadline = now_ms() + timeout_s * 1000ll;
	char out[64], in[512];
	size_t n = 0;
	int fd;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	for (;;) {	/* the socket may not be there yet, or another client has it */
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			break;
		if (fd >= 0)
			close(fd);
		if (now_ms() > deadline) {
			fprintf(stderr, "migtool: cannot connect to %s: %s\n", path, strerror(errno));
			return 1;
		}
		usleep(200000);
	}
	snprintf(out, sizeof(out), "%s %s\n", word, seq);
	if (write(fd, out, strlen(out)) != (ssize_t)strlen(out)) {
		fprintf(stderr, "migtool: write to %s: %s\n", path, strerror(errno));
		close(fd);
		return 1;
	}
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		long long left = deadline - now_ms();
		char *nl, f1[32], f2[32];
		ssize_t r;

		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			break;
		r = read(fd, in + n, sizeof(in) - 1 - n);
		if (r <= 0)
			break;
		n += r;
		in[n] = 0;
		while ((nl = strchr(in, '\n'))) {
			*nl = 0;
			if (sscanf(in, "%31s %31s", f1, f2) == 2 && !strcmp(f2, seq)) {
				printf("%s\n", in);
				close(fd);
				return 0;
			}
			n -= nl + 1 - in;
			memmove(in, nl + 1, n + 1);
		}
		if (n == sizeof(in) - 1)
			n = 0;	/* a line too long to be ours */
	}
	fprintf(stderr, "migtool: no reply to \"%s %s\" from %s in %d s\n", word, seq, path, timeout_s);
	close(fd);
	return 1;
}

static int open_vm(const char *pid_s, int *dev, int *vm)
{
	*dev = open(KVM_PREPOP_DEVICE, O_RDWR | O_CLOEXEC);
	if (*dev < 0) {
		fprintf(stderr, "migtool: %s: %s\n", KVM_PREPOP_DEVICE, strerror(errno));
		return -1;
	}
	*vm = qemu_vm_fd(atoi(pid_s));
	if (*vm < 0) {
		fprintf(stderr, "migtool: no KVM VM fd in process %s: %s\n", pid_s, strerror(-*vm));
		return -1;
	}
	return 0;
}

static int query(const char *pid_s)
{
	struct kvm_prepop_query q = { .size = sizeof(q) };
	int dev, vm;

	if (open_vm(pid_s, &dev, &vm) < 0)
		return 1;
	q.vm_fd = vm;
	if (ioctl(dev, KVM_PREPOP_QUERY, &q) < 0) {
		fprintf(stderr, "migtool: KVM_PREPOP_QUERY: %s\n", strerror(errno));
		return 1;
	}
	printf("stage2=%u vcpus=%u with_root=%u running=%u memslots=%u dirty_log=%u uffd=%u "
	       "ram_mib=%llu pages_4k=%llu pages_2m=%llu pages_1g=%llu\n",
	       q.stage2, q.vcpus, q.vcpus_with_root, q.vcpus_running, q.memslots,
	       q.memslots_dirty_log, q.uffd_armed, (unsigned long long)q.ram_bytes >> 20,
	       (unsigned long long)q.pages_4k, (unsigned long long)q.pages_2m,
	       (unsigned long long)q.pages_1g);
	return 0;
}

/* 4 KiB units of guest RAM mapped in stage-2, per KVM's own counters; -1 on error */
static long long mapped(int dev, int vm, struct kvm_prepop_query *q)
{
	*q = (struct kvm_prepop_query){ .size = sizeof(*q), .vm_fd = vm };
	if (ioctl(dev, KVM_PREPOP_QUERY, q) < 0)
		return -1;
	return q->pages_4k + 512 * q->pages_2m + 262144 * q->pages_1g;
}

static long long read_number(const char *path)
{
	char buf[64] = "";
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	return atoll(buf);
}

static int populate(const char *pid_s, int timeout_s, const char *watch)
{
	long long t0 = now_ms(), first = -1, done_ms = -1, ran_ms = -1, drop_ms = -1, max = 0,
		  last = 0, last_ms = -1, w0 = watch ? read_number(watch) : -1, m;
	unsigned long long next = 0, end = 0, l4 = 0, l2 = 0, l1 = 0, calls = 0, again = 0,
			   busy = 0, other = 0, hold = 0, elapsed = 0, drops = 0;
	struct kvm_prepop_query q;
	int dev, vm, last_err = 0;
	bool done = false;

	if (open_vm(pid_s, &dev, &vm) < 0)
		return 1;
	for (;;) {
		struct kvm_prepop_populate p = {
			.size = sizeof(p), .vm_fd = vm, .start_gpa = next, .end_gpa = end,
		};
		int r;

		if (watch && read_number(watch) != w0) {
			ran_ms = now_ms() - t0;
			break;
		}
		if (now_ms() - t0 > timeout_s * 1000ll || (done && !watch))
			break;
		m = mapped(dev, vm, &q);
		if (m >= 0) {
			/* the tables lost most of what was mapped: map it again */
			if (done && m < max * 9 / 10) {
				drops++;
				drop_ms = now_ms() - t0;
				done = false;
				next = 0;
				max = m;
			}
			max = m > max ? m : max;
			last = m;
			last_ms = now_ms() - t0;
		}
		if (done) {
			usleep(20000);
			continue;
		}
		calls++;
		r = ioctl(dev, KVM_PREPOP_POPULATE, &p);
		if (r == 0 || errno == EAGAIN || errno == EBUSY || errno == EINTR) {
			if (p.mapped_4k + p.mapped_2m + p.mapped_1g && first < 0)
				first = now_ms() - t0;
			l4 += p.mapped_4k;
			l2 += p.mapped_2m;
			l1 += p.mapped_1g;
			elapsed += p.elapsed_ns;
			hold = p.max_hold_ns > hold ? p.max_hold_ns : hold;
			if (p.next_gpa > next)
				next = p.next_gpa;
			if (!end && p.end_gpa)
				end = p.end_gpa;
		}
		if (r == 0 && end && next >= end) {
			done = true;
			done_ms = now_ms() - t0;
			continue;
		}
		if (r < 0) {
			last_err = errno;
			if (errno == EAGAIN)
				again++;
			else if (errno == EBUSY)
				busy++;
			else
				other++;
			if (errno != EAGAIN && errno != EBUSY && errno != EINTR)
				break;
			usleep(100000);
		}
	}
	m = mapped(dev, vm, &q);
	printf("populate: calls %llu, eagain %llu, ebusy %llu, other %llu, last error %s; "
	       "leaves added 4k %llu 2m %llu 1g %llu; first leaf %lld ms, all RAM mapped %lld ms "
	       "after the start; the tables lost it %llu times (last %lld ms); mapped %lld%% "
	       "at the last look before the end (%lld ms), %lld%% at the end; the guest ran "
	       "%lld ms after the start; %llu ms in POPULATE, longest hold %llu us\n",
	       calls, again, busy, other, last_err ? strerror(last_err) : "none", l4, l2, l1, first,
	       done_ms, drops, drop_ms, end ? last * 100 / (long long)(end >> 12) : 0, last_ms,
	       end && m >= 0 ? m * 100 / (long long)(end >> 12) : 0, ran_ms, elapsed / 1000000,
	       hold / 1000);
	return done_ms >= 0 ? 0 : 3;
}

int main(int argc, char **argv)
{
	if (argc == 6 && !strcmp(argv[1], "cmd"))
		return cmd(argv[2], atoi(argv[3]), argv[4], argv[5]);
	if (argc == 3 && !strcmp(argv[1], "query"))
		return query(argv[2]);
	if ((argc == 4 || argc == 5) && !strcmp(argv[1], "populate"))
		return populate(argv[2], atoi(argv[3]), argc == 5 ? argv[4] : NULL);
	fprintf(stderr, "usage: migtool cmd SOCK TIMEOUT_S WORD SEQ | query PID | "
		"populate PID TIMEOUT_S [WATCH]\n");
	return 2;
}
