// SPDX-License-Identifier: GPL-2.0-only
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hostprobe.h"
#include "prepop/xalloc.h"

#define HUGEPAGES "/sys/kernel/mm/hugepages"
#define NODES "/sys/devices/system/node"

static void probe_meminfo(struct pp_host *h, const char *root)
{
	char *path = xasprintf("%s/proc/meminfo", root), line[256];
	unsigned long long kib;
	FILE *f = fopen(path, "re");

	free(path);
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

/* One number from dir/name; false if absent or not a number. */
static bool read_num(const char *dir, const char *name, uint64_t *out)
{
	char *path = xasprintf("%s/%s", dir, name), buf[64], *end;
	unsigned long long v;
	FILE *f = fopen(path, "re");
	bool ok = false;

	free(path);
	if (!f)
		return false;
	if (fgets(buf, sizeof(buf), f)) {
		v = strtoull(buf, &end, 10);
		ok = end != buf && (*end == '\n' || *end == '\0');
		if (ok)
			*out = v;
	}
	fclose(f);
	return ok;
}

/* Every hugepages-<N>kB pool under dir, for node (-1: host-wide). */
static void probe_pools(struct pp_host *h, const char *dir, int node)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d)) && h->n_hugepools < PP_MAX_HUGEPOOLS) {
		struct pp_hugepool p = { .node = node };
		unsigned long long kib;
		char *sub;
		int end = 0;

		if (sscanf(de->d_name, "hugepages-%llukB%n", &kib, &end) != 1 || !end ||
		    de->d_name[end] || !kib)
			continue;
		sub = xasprintf("%s/%s", dir, de->d_name);
		p.page_bytes = kib * 1024;
		if (read_num(sub, "nr_hugepages", &p.pages) &&
		    read_num(sub, "free_hugepages", &p.free)) {
			read_num(sub, "resv_hugepages", &p.reserved);	/* host-wide only */
			read_num(sub, "surplus_hugepages", &p.surplus);
			h->hugepools[h->n_hugepools++] = p;
		}
		free(sub);
	}
	closedir(d);
}

static int cmp_pool(const void *x, const void *y)
{
	const struct pp_hugepool *a = x, *b = y;

	if (a->node != b->node)
		return a->node < b->node ? -1 : 1;
	return a->page_bytes < b->page_bytes ? -1 : a->page_bytes > b->page_bytes;
}

static void probe_hugepages(struct pp_host *h, const char *root)
{
	char *path = xasprintf("%s" HUGEPAGES, root);
	struct dirent *de;
	DIR *d = opendir(path);

	if (d) {	/* else no hugetlbfs: unknown */
		closedir(d);
		h->hugepools_known = true;
		probe_pools(h, path, -1);
	}
	free(path);
	if (!h->hugepools_known)
		return;
	path = xasprintf("%s" NODES, root);
	d = opendir(path);
	while (d && (de = readdir(d))) {
		char *sub, tail;
		int node;

		if (sscanf(de->d_name, "node%d%c", &node, &tail) != 1 || node < 0)
			continue;
		sub = xasprintf("%s/%s/hugepages", path, de->d_name);
		probe_pools(h, sub, node);
		free(sub);
	}
	if (d)
		closedir(d);
	free(path);
	qsort(h->hugepools, h->n_hugepools, sizeof(h->hugepools[0]), cmp_pool);
}

static void probe_ksm(struct pp_host *h, const char *root)
{
	char *dir = xasprintf("%s/sys/kernel/mm/ksm", root);
	uint64_t run;

	if (read_num(dir, "run", &run))
		h->ksm = run == 1 ? PP_KSM_RUNNING : run == 2 ? PP_KSM_UNMERGING : PP_KSM_STOPPED;
	free(dir);
}

void pp_host_probe(struct pp_host *h, const char *root)
{
	probe_meminfo(h, root);
	if (!h->hugepools_known)
		probe_hugepages(h, root);
	if (h->ksm == PP_KSM_UNKNOWN)
		probe_ksm(h, root);
}
