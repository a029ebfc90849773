// SPDX-License-Identifier: GPL-2.0-only
#include <stdio.h>
#include <string.h>

#include "timefmt.h"

const char *time_format(const struct timespec *ts, char *buf, size_t len)
{
	struct tm tm;
	size_t n;

	if (!gmtime_r(&ts->tv_sec, &tm) || !(n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm)))
		snprintf(buf, len, "?");
	else
		snprintf(buf + n, len - n, ".%03ldZ", ts->tv_nsec / 1000000);
	return buf;
}

int time_parse(const char *s, struct timespec *ts)
{
	struct tm tm;
	const char *end;
	long ms = 0;
	int used = 0;

	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!end)
		return -1;
	if (*end == '.' && (sscanf(end, ".%3ld%n", &ms, &used) != 1 || used != 4))
		return -1;
	end += used;
	if (strcmp(end, "Z"))
		return -1;
	ts->tv_sec = timegm(&tm);
	ts->tv_nsec = ms * 1000000;
	return 0;
}
