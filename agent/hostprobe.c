// SPDX-License-Identifier: GPL-2.0-only
#include <stdio.h>

#include "hostprobe.h"

void pp_host_probe(struct pp_host *h, const char *meminfo_path)
{
	FILE *f = fopen(meminfo_path, "re");
	char line[256];
	unsigned long long kib;

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (!h->mem_total_bytes &&
		    sscanf(line, "MemTotal: %llu kB", &kib) == 1)
			h->mem_total_bytes = kib * 1024;
		else if (!h->default_hugepage_bytes &&
			 sscanf(line, "Hugepagesize: %llu kB", &kib) == 1)
			h->default_hugepage_bytes = kib * 1024;
	}
	fclose(f);
}
