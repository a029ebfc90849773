// SPDX-License-Identifier: GPL-2.0-only
/*
 * The system tier's guest workload (static, run by the guest's /init): one
 * thread per CPU, pinned, sleeps 1 ms at a time on CLOCK_MONOTONIC and keeps
 * the longest gap between two wake-ups.  Every second it prints
 *	GAP <seq> <worst µs over all CPUs> <worst µs of cpu0> <cpu1> ...
 * so a host-side hold of the guest's vCPUs (or a pause) shows up as a gap.
 * "clockloop.dirty=MIB" on the kernel command line also writes one byte per
 * page of a MIB MiB buffer, over and over (RAM the guest keeps dirtying).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define MAX_CPUS 64

static _Atomic unsigned long long worst_ns[MAX_CPUS];

static unsigned long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void *sleeper(void *arg)
{
	long cpu = (long)arg;
	struct timespec ms = { 0, 1000000 };
	unsigned long long prev = now_ns();
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
	for (;;) {
		unsigned long long t, gap, w;

		clock_nanosleep(CLOCK_MONOTONIC, 0, &ms, NULL);
		t = now_ns();
		gap = t - prev;
		prev = t;
		w = atomic_load(&worst_ns[cpu]);
		while (gap > w && !atomic_compare_exchange_weak(&worst_ns[cpu], &w, gap))
			;
	}
	return NULL;
}

static void *dirtier(void *arg)
{
	size_t len = (size_t)(long)arg << 20;
	volatile char *buf = mmap(NULL, len, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct timespec pause = { 0, 100000000 };

	if (buf == MAP_FAILED) {
		perror("clockloop: mmap");
		return NULL;
	}
	for (unsigned char v = 1;; v++) {
		for (size_t off = 0; off < len; off += 4096)
			buf[off] = v;
		nanosleep(&pause, NULL);
	}
	return NULL;
}

static long cmdline_long(const char *key)
{
	char line[4096], *p;
	FILE *f = fopen("/proc/cmdline", "r");
	long v = 0;

	if (!f)
		return 0;
	if (fgets(line, sizeof(line), f) && (p = strstr(line, key)))
		v = strtol(p + strlen(key), NULL, 10);
	fclose(f);
	return v;
}

int main(void)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN), dirty = cmdline_long("clockloop.dirty=");
	struct timespec next;
	pthread_t t;
	char line[64 + MAX_CPUS * 12];

	if (ncpu < 1 || ncpu > MAX_CPUS)
		ncpu = ncpu < 1 ? 1 : MAX_CPUS;
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (long i = 0; i < ncpu; i++)
		if (pthread_create(&t, NULL, sleeper, (void *)i) != 0) {
			perror("clockloop: pthread_create");
			return 1;
		}
	if (dirty > 0 && pthread_create(&t, NULL, dirtier, (void *)dirty) != 0)
		perror("clockloop: pthread_create");
	printf("CLOCKLOOP up: %ld CPUs, dirtying %ld MiB\n", ncpu, dirty);
	clock_gettime(CLOCK_MONOTONIC, &next);
	for (unsigned long seq = 1;; seq++) {
		unsigned long long all = 0, w[MAX_CPUS];
		int n;

		next.tv_sec++;
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL))
			;
		for (long i = 0; i < ncpu; i++) {
			w[i] = atomic_exchange(&worst_ns[i], 0);
			all = w[i] > all ? w[i] : all;
		}
		n = snprintf(line, sizeof(line), "GAP %lu %llu", seq, all / 1000);
		for (long i = 0; i < ncpu; i++)
			n += snprintf(line + n, sizeof(line) - n, " %llu", w[i] / 1000);
		puts(line);
	}
}
