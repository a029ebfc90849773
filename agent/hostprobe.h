/* SPDX-License-Identifier: GPL-2.0-only */
/* What the host says of itself: RAM and the default huge page size. */
#ifndef PREPOP_HOSTPROBE_H
#define PREPOP_HOSTPROBE_H

#include "prepop/facts.h"

/* Fill fields of h still unknown (0) from a meminfo file; quiet on failure. */
void pp_host_probe(struct pp_host *h, const char *meminfo_path);

#endif
