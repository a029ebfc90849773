/* SPDX-License-Identifier: GPL-2.0-only */
/* Wall-clock times as prepopd writes them: RFC 3339, UTC, milliseconds. */
#ifndef PREPOP_TIMEFMT_H
#define PREPOP_TIMEFMT_H

#include <stddef.h>
#include <time.h>

/* "2026-01-02T03:04:05.678Z" into buf (at least 32 bytes); returns buf. */
const char *time_format(const struct timespec *ts, char *buf, size_t len);
/* What time_format writes (fraction optional).  0 or -1. */
int time_parse(const char *s, struct timespec *ts);

#endif
