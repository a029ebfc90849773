// SPDX-License-Identifier: GPL-2.0-only
#include <ctype.h>
#include <stdio.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "prepop/units.h"

static int unit_scale(const char *unit, uint64_t *scale)
{
	uint64_t base;
	int power;

	if (!strcasecmp(unit, "b") || !strcasecmp(unit, "byte") ||
	    !strcasecmp(unit, "bytes")) {
		*scale = 1;
		return 0;
	}
	if (unit[1] == '\0' || !strcasecmp(unit + 1, "iB"))
		base = 1024;
	else if (!strcasecmp(unit + 1, "B"))
		base = 1000;
	else
		return -1;
	switch (tolower((unsigned char)unit[0])) {
	case 'k': power = 1; break;
	case 'm': power = 2; break;
	case 'g': power = 3; break;
	case 't': power = 4; break;
	case 'p': power = 5; break;
	case 'e': power = 6; break;
	default: return -1;
	}
	*scale = 1;
	while (power--)
		*scale *= base;
	return 0;
}

int pp_scale(const char *value, const char *unit, uint64_t default_scale,
	     uint64_t *out, const char **err)
{
	const char *p = value;
	unsigned long long v;
	uint64_t scale;
	char *end;

	while (isspace((unsigned char)*p))
		p++;
	if (*p == '-') {
		*err = "negative value";
		return -1;
	}
	if (!isdigit((unsigned char)*p)) {
		*err = *p ? "not a number" : "empty value";
		return -1;
	}
	errno = 0;
	v = strtoull(p, &end, 10);
	if (errno == ERANGE) {
		*err = "value overflows 64 bits";
		return -1;
	}
	while (isspace((unsigned char)*end))
		end++;
	if (*end) {
		*err = "trailing characters after the number";
		return -1;
	}
	if (!unit || !*unit) {
		scale = default_scale;
	} else if (unit_scale(unit, &scale) < 0) {
		*err = "unknown unit";
		return -1;
	}
	if (scale && v > UINT64_MAX / scale) {
		*err = "value overflows 64 bits once scaled";
		return -1;
	}
	*out = v * scale;
	return 0;
}

char *pp_fmt_bytes(char *buf, unsigned long len, uint64_t bytes)
{
	static const char *const suffix[] = { "B", "KiB", "MiB", "GiB", "TiB",
					      "PiB", "EiB" };
	double v = (double)bytes;
	int i = 0;

	while (v >= 1024 && i < 6) {
		v /= 1024;
		i++;
	}
	if (v == (double)(uint64_t)v)
		snprintf(buf, len, "%llu %s", (unsigned long long)v, suffix[i]);
	else
		snprintf(buf, len, "%.1f %s", v, suffix[i]);
	return buf;
}
