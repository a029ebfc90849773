// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jsonfile.h"
#include "prepop/hostfacts.h"
#include "prepop/xalloc.h"

static void add_group(struct pp_host *h, char *g)
{
	h->groups = xreallocarray(h->groups, h->n_groups + 1, sizeof(char *));
	h->groups[h->n_groups++] = g;
}

static bool get_u64(json_object *v, uint64_t *out)
{
	if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 0)
		return false;
	*out = json_object_get_uint64(v);
	return true;
}

static void read_u64(json_object *root, const char *key, const char *file,
		     uint64_t *out, struct pp_errs *errs)
{
	json_object *v;

	if (!json_object_object_get_ex(root, key, &v))
		return;
	if (!get_u64(v, out)) {
		char *path = xasprintf("$.%s", key);

		pp_errs_add(errs, file, path, "expected a non-negative integer (bytes)");
		free(path);
	}
}

static void pool_err(struct pp_errs *errs, const char *file, size_t i, const char *key,
		     const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void pool_err(struct pp_errs *errs, const char *file, size_t i, const char *key,
		     const char *fmt, ...)
{
	char *path = xasprintf("$.hugepage_pools[%zu]%s%s", i, key ? "." : "", key ? key : "");
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pp_errs_add(errs, file, path, "%s", msg);
	free(path);
}

/* One pool: { "page_bytes": N, "pages": N, "free": N, "reserved": N, "surplus": N, "node": N }. */
static void read_pool(json_object *o, const char *file, size_t i, struct pp_hugepool *p,
		      struct pp_errs *errs)
{
	static const char *const keys[] = { "page_bytes", "pages", "free", "reserved", "surplus", "node" };
	uint64_t node = 0, *dst[] = { &p->page_bytes, &p->pages, &p->free, &p->reserved,
				      &p->surplus, &node };
	bool have[6] = { false };

	memset(p, 0, sizeof(*p));
	p->node = -1;
	if (!json_object_is_type(o, json_type_object)) {
		pool_err(errs, file, i, NULL, "expected an object");
		return;
	}
	json_object_object_foreach(o, key, val) {
		size_t k;

		for (k = 0; k < 6 && strcmp(key, keys[k]); k++)
			;
		if (k == 6)
			pool_err(errs, file, i, key, "unknown key \"%s\"", key);
		else if (!get_u64(val, dst[k]) || (k == 5 && node > 4095))
			pool_err(errs, file, i, key, "expected a non-negative integer%s",
				 k == 5 ? " (a NUMA node, 0-4095)" : "");
		else
			have[k] = true;
	}
	if (have[5])
		p->node = (int)node;
	if (!have[2])
		p->free = p->pages;	/* unsaid: all free */
	for (size_t k = 0; k < 2; k++)
		if (!have[k])
			pool_err(errs, file, i, NULL, "missing required key \"%s\"", keys[k]);
	if (have[0] && (!p->page_bytes || (p->page_bytes & (p->page_bytes - 1))))
		pool_err(errs, file, i, "page_bytes", "page size %llu is not a power of two",
			 (unsigned long long)p->page_bytes);
	if (p->free > p->pages)
		pool_err(errs, file, i, "free", "more free pages (%llu) than pages (%llu)",
			 (unsigned long long)p->free, (unsigned long long)p->pages);
}

static void read_pools(json_object *root, const char *file, struct pp_host *h,
		       struct pp_errs *errs)
{
	json_object *v;
	size_t n;

	if (!json_object_object_get_ex(root, "hugepage_pools", &v))
		return;
	if (!json_object_is_type(v, json_type_array)) {
		pp_errs_add(errs, file, "$.hugepage_pools", "expected an array of pools");
		return;
	}
	n = json_object_array_length(v);
	if (n > PP_MAX_HUGEPOOLS) {
		pp_errs_add(errs, file, "$.hugepage_pools", "at most %d pools, got %zu",
			    PP_MAX_HUGEPOOLS, n);
		return;
	}
	for (size_t i = 0; i < n; i++)
		read_pool(json_object_array_get_idx(v, i), file, i, &h->hugepools[i], errs);
	h->n_hugepools = n;
	h->hugepools_known = true;
}

static void read_ksm(json_object *root, const char *file, struct pp_host *h,
		     struct pp_errs *errs)
{
	json_object *v;

	if (!json_object_object_get_ex(root, "ksm_running", &v))
		return;
	if (!json_object_is_type(v, json_type_boolean))
		pp_errs_add(errs, file, "$.ksm_running", "expected true or false");
	else
		h->ksm = json_object_get_boolean(v) ? PP_KSM_RUNNING : PP_KSM_STOPPED;
}

static void read_host_json(json_object *root, const char *file,
			   struct pp_host *h, struct pp_errs *errs)
{
	json_object *v;

	if (!json_object_is_type(root, json_type_object)) {
		pp_errs_add(errs, file, "$", "expected an object at the top level");
		return;
	}
	json_object_object_foreach(root, key, val) {
		(void)val;
		if (strcmp(key, "host_id") && strcmp(key, "groups") &&
		    strcmp(key, "labels") && strcmp(key, "mem_total_bytes") &&
		    strcmp(key, "reserved_bytes") && strcmp(key, "guest_memory_bytes") &&
		    strcmp(key, "guest_hugetlb_bytes") &&
		    strcmp(key, "default_hugepage_bytes") && strcmp(key, "hugepage_pools") &&
		    strcmp(key, "ksm_running")) {
			char *path = xasprintf("$.%s", key);

			pp_errs_add(errs, file, path, "unknown key \"%s\"", key);
			free(path);
		}
	}
	if (json_object_object_get_ex(root, "host_id", &v)) {
		if (!json_object_is_type(v, json_type_string) ||
		    !json_object_get_string_len(v))
			pp_errs_add(errs, file, "$.host_id", "expected a non-empty string");
		else {
			h->host_id = xstrdup(json_object_get_string(v));
			h->host_id_source = xstrdup(file);
		}
	}
	if (json_object_object_get_ex(root, "groups", &v)) {
		if (!json_object_is_type(v, json_type_array)) {
			pp_errs_add(errs, file, "$.groups", "expected an array of strings");
		} else {
			for (size_t i = 0; i < json_object_array_length(v); i++) {
				json_object *g = json_object_array_get_idx(v, i);

				if (json_object_is_type(g, json_type_string) &&
				    json_object_get_string_len(g)) {
					add_group(h, xstrdup(json_object_get_string(g)));
				} else {
					char *path = xasprintf("$.groups[%zu]", i);

					pp_errs_add(errs, file, path, "expected a non-empty string");
					free(path);
				}
			}
		}
	}
	if (json_object_object_get_ex(root, "labels", &v)) {
		if (!json_object_is_type(v, json_type_object)) {
			pp_errs_add(errs, file, "$.labels", "expected an object of strings");
		} else {
			json_object_object_foreach(v, lk, lv) {
				if (json_object_is_type(lv, json_type_string)) {
					add_group(h, xasprintf("%s=%s", lk,
						json_object_get_string(lv)));
				} else {
					char *path = xasprintf("$.labels.%s", lk);

					pp_errs_add(errs, file, path, "expected a string");
					free(path);
				}
			}
		}
	}
	read_u64(root, "mem_total_bytes", file, &h->mem_total_bytes, errs);
	read_u64(root, "guest_memory_bytes", file, &h->guest_memory_bytes, errs);
	read_u64(root, "guest_hugetlb_bytes", file, &h->guest_hugetlb_bytes, errs);
	read_u64(root, "default_hugepage_bytes", file,
		 &h->default_hugepage_bytes, errs);
	read_u64(root, "reserved_bytes", file, &h->reserved_bytes, errs);
	read_pools(root, file, h, errs);
	read_ksm(root, file, h, errs);
}

static char *read_machine_id(const char *path, struct pp_errs *errs)
{
	FILE *f = fopen(path, "re");
	char buf[128], *nl;

	if (!f) {
		pp_errs_add(errs, path, NULL,
			    "cannot read the host identity: %s (set host_id in %s)",
			    strerror(errno), PP_DEFAULT_HOST_FILE);
		return NULL;
	}
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	nl = strchr(buf, '\n');
	if (nl)
		*nl = '\0';
	if (!buf[0]) {
		pp_errs_add(errs, path, NULL, "empty host identity (set host_id in %s)",
			    PP_DEFAULT_HOST_FILE);
		return NULL;
	}
	return xstrdup(buf);
}

int pp_host_load(const char *host_file, bool required,
		 const char *machine_id_file, struct pp_host *h,
		 struct pp_errs *errs)
{
	size_t before = errs->n;

	memset(h, 0, sizeof(*h));
	if (host_file && (required || access(host_file, F_OK) == 0)) {
		json_object *root = pp_json_load(host_file, errs);

		if (root) {
			read_host_json(root, host_file, h, errs);
			json_object_put(root);
		}
	}
	if (!h->host_id && errs->n == before) {
		h->host_id = read_machine_id(machine_id_file, errs);
		if (h->host_id)
			h->host_id_source = xstrdup(machine_id_file);
	}
	if (errs->n != before) {
		pp_host_free(h);
		return -1;
	}
	return 0;
}
