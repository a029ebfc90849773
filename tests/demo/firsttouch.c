// SPDX-License-Identifier: GPL-2.0-only
/*
 * The demo's guest workload (static, run by the guest's /init on the host's
 * command): touch all the guest's free RAM once, as a guest does after it
 * starts or lands from a migration, and time it with the guest's own clock.
 * It maps MemFree less a reserve (16 MiB + 3 % of MemTotal, so the guest's
 * kernel keeps room to work) and writes one byte per 4 KiB page, one thread
 * per CPU each on its own share, all at once.  Prints
 *	FIRSTTOUCH mib=<MiB touched> pages=<4 KiB pages> cpus=<threads> ms=<guest ms>
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096ul
#define MAX_CPUS 64

struct share {
	volatile char *p;
	size_t len;
};

static long meminfo_kib(const char *key)
{
	char line[256];
	long v = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, strlen(key))) {
			v = strtol(line + strlen(key), NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void *toucher(void *arg)
{
	struct share *s = arg;

	for (size_t off = 0; off < s->len; off += PAGE)
		s->p[off] = 1;
	return NULL;
}

int main(void)
{
	long total = meminfo_kib("MemTotal:"), free_kib = meminfo_kib("MemFree:");
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN), reserve, mib;
	struct share share[MAX_CPUS];
	pthread_t t[MAX_CPUS];
	size_t len, pages, per;
	char *buf;
	double t0, t1;

	if (total <= 0 || free_kib <= 0) {
		printf("FIRSTTOUCH error: cannot read /proc/meminfo\n");
		return 1;
	}
	if (ncpu < 1 || ncpu > MAX_CPUS)
		ncpu = ncpu < 1 ? 1 : MAX_CPUS;
	reserve = 16 * 1024 + total * 3 / 100;
	mib = (free_kib - reserve) / 1024;
	if (mib <= 0) {
		printf("FIRSTTOUCH error: only %ld KiB free\n", free_kib);
		return 1;
	}
	len = (size_t)mib << 20;
	pages = len / PAGE;
	buf = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (buf == MAP_FAILED) {
		perror("FIRSTTOUCH error: mmap");
		return 1;
	}
	per = pages / ncpu * PAGE;
	t0 = now_ms();
	for (long i = 0; i < ncpu; i++) {
		share[i].p = buf + i * per;
		share[i].len = i == ncpu - 1 ? len - i * per : per;
		if (pthread_create(&t[i], NULL, toucher, &share[i]) != 0) {
			perror("FIRSTTOUCH error: pthread_create");
			return 1;
		}
	}
	for (long i = 0; i < ncpu; i++)
		pthread_join(t[i], NULL);
	t1 = now_ms();
	printf("FIRSTTOUCH mib=%ld pages=%zu cpus=%ld ms=%.1f\n", mib, pages, ncpu, t1 - t0);
	fflush(stdout);
	return 0;
}
