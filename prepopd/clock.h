/* SPDX-License-Identifier: GPL-2.0-only */
/* prepopd's clocks: monotonic for budgets and latencies, wall for status. */
#ifndef PREPOP_CLOCK_H
#define PREPOP_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline struct timespec wall_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts;
}

#endif
