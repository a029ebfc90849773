/* SPDX-License-Identifier: GPL-2.0-only */
/* Scaled integers with units read as libvirt's virScaleInteger() reads them. */
#ifndef PREPOP_UNITS_H
#define PREPOP_UNITS_H

#include <stdint.h>

/*
 * value: decimal digits (surrounding white space allowed); unit: NULL or
 * empty for default_scale, else b/byte/bytes, k/KiB, KB, M/MiB, MB, ... E/EiB,
 * EB, case-insensitive.  Returns 0, or -1 with *err set to a static reason.
 */
int pp_scale(const char *value, const char *unit, uint64_t default_scale,
	     uint64_t *out, const char **err);



/* "64 GiB", "1.5 MiB", "512 B" into buf; returns buf. */
char *pp_fmt_bytes(char *buf, unsigned long len, uint64_t bytes);
#endif
