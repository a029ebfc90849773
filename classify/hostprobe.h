/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the host says of itself: RAM and the default huge page size
 * (/proc/meminfo), the huge page pools by size, host-wide and per NUMA
 * node (/sys/kernel/mm/hugepages, /sys/devices/system/node/node*), and
 * whether KSM merges pages (/sys/kernel/mm/ksm/run).
 */
#ifndef PREPOP_HOSTPROBE_H
#define PREPOP_HOSTPROBE_H

#include "prepop/facts.h"

/*
 * Fill what h leaves unknown (host.json wins) from the files under root
 * ("" or "/" for this host; a test gives a fake tree).  Quiet: what cannot
 * be read stays unknown.
 */
void pp_host_probe(struct pp_host *h, const char *root);

#endif
