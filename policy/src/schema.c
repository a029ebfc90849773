// SPDX-License-Identifier: GPL-2.0-only
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prepop/glob.h"
#include "schema.h"
#include "prepop/xalloc.h"

enum kind {
	K_BOOL,		/* bool */
	K_UINT,		/* unsigned */
	K_U64,		/* uint64_t */
	K_NUM,		/* double */
	K_MODE,		/* enum pp_mode */
	K_PAGES,	/* page_sizes_kib + n_page_sizes */
	K_STR,		/* char * (owned) */
	K_STRLIST,	/* char ** + size_t count at off2 */
	K_SECTION,	/* nested object */
	K_IGNORE,	/* handled elsewhere (version, flavor, match) */
};

struct field {
	const char *key;
	enum kind kind;
	double min, max;
	size_t off, off2;
	const struct field *sub;
	bool min_open;	/* min is exclusive */
};

#define P(m) offsetof(struct pp_params, m)
#define R(m) offsetof(struct pp_rollout, m)
#define BOOL(k, o) { .key = k, .kind = K_BOOL, .off = o }
#define INT(k, t, lo, hi, o) { .key = k, .kind = t, .min = lo, .max = hi, .off = o }
#define LIST(k, t, lo, hi, o, o2) \
	{ .key = k, .kind = t, .min = lo, .max = hi, .off = o, .off2 = o2 }
#define SECTION(k, s) { .key = k, .kind = K_SECTION, .sub = s }
#define IGNORE(k) { .key = k, .kind = K_IGNORE }
#define END { .key = NULL }

static const struct field f_elig[] = {
	INT("min_vcpus", K_UINT, 1, 4096, P(elig.min_vcpus)),
	INT("min_memory_mib", K_U64, 0, 1ull << 40, P(elig.min_memory_mib)),
	BOOL("require_hugepages", P(elig.require_hugepages)),
	LIST("page_sizes_kib", K_PAGES, 4, 16ull << 20, P(elig.page_sizes_kib),
	     P(elig.n_page_sizes)),
	END
};

static const struct field f_smm[] = {
	BOOL("enabled", P(fb.smm)),
	BOOL("default_is_on", P(fb.smm_default_is_on)),
	END
};

static const struct field f_overcommit[] = {
	BOOL("enabled", P(fb.overcommit)),
	{ .key = "max_ratio", .kind = K_NUM, .min = 0, .max = 100,
	  .off = P(fb.overcommit_max_ratio), .min_open = true },
	END
};

static const struct field f_balloon[] = {
	BOOL("enabled", P(fb.balloon)),
	END
};

static const struct field f_postcopy[] = {
	BOOL("enabled", P(fb.postcopy)),
	END
};

static const struct field f_ksm[] = {
	BOOL("enabled", P(fb.ksm)),
	END
};

static const struct field f_fallbacks[] = {
	SECTION("smm", f_smm),
	SECTION("overcommit", f_overcommit),
	SECTION("balloon", f_balloon),
	SECTION("postcopy", f_postcopy),
	SECTION("ksm", f_ksm),
	END
};

static const struct field f_populate[] = {
	INT("slice_budget_ms", K_UINT, 1, 60000, P(pop.slice_ms)),
	INT("slice_gap_ms", K_UINT, 0, 60000, P(pop.gap_ms)),
	INT("workers", K_UINT, 0, 1024, P(pop.workers)),
	INT("total_budget_ms", K_UINT, 1, 86400000, P(pop.total_ms)),
	INT("boot_delay_ms", K_UINT, 0, 600000, P(pop.boot_delay_ms)),
	END
};

/* Keys shared by defaults and flavor files; offsets into struct pp_params. */
#define PARAM_FIELDS \
	{ .key = "mode", .kind = K_MODE, .off = P(mode) }, \
	SECTION("eligibility", f_elig), \
	SECTION("fallbacks", f_fallbacks), \
	SECTION("populate", f_populate)

static const struct field f_params[] = { PARAM_FIELDS, END };

static const struct field f_rollout[] = {
	BOOL("enabled", R(enabled)),
	BOOL("dry_run", R(dry_run)),
	{ .key = "percent", .kind = K_NUM, .min = 0, .max = 100,
	  .off = R(percent) },
	INT("salt", K_STR, 1, 128, R(salt)),
	LIST("include_groups", K_STRLIST, 1, 128, R(include_groups), R(n_include)),
	LIST("exclude_groups", K_STRLIST, 1, 128, R(exclude_groups), R(n_exclude)),
	INT("max_concurrent_guests", K_UINT, 1, 256, R(max_concurrent_guests)),
	END
};

static const char *const mode_names[] = {
	[PP_MODE_AUTO] = "auto",
	[PP_MODE_PREPOPULATE] = "prepopulate",
	[PP_MODE_FAULT] = "fault",
};

const char *pp_mode_str(enum pp_mode m)
{
	return mode_names[m];
}

void pp_params_builtin(struct pp_params *p)
{
	memset(p, 0, sizeof(*p));
	p->mode = PP_MODE_AUTO;
	p->elig.min_vcpus = 8;
	p->elig.min_memory_mib = 16384;
	p->elig.require_hugepages = false;
	p->fb.smm = true;
	p->fb.smm_default_is_on = false;
	p->fb.overcommit = true;
	p->fb.overcommit_max_ratio = 1.0;
	p->fb.balloon = true;
	p->fb.postcopy = true;
	p->fb.ksm = true;
	p->pop.slice_ms = 50;
	p->pop.gap_ms = 20;
	p->pop.workers = 0;
	p->pop.total_ms = 60000;
	p->pop.boot_delay_ms = 10000;
}

void pp_rollout_builtin(struct pp_rollout *r)
{
	memset(r, 0, sizeof(*r));
	r->enabled = true;
	r->percent = 100;
	r->salt = xstrdup("prepop");
	r->max_concurrent_guests = 2;
}

static void strlist_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void pp_rollout_free(struct pp_rollout *r)
{
	free(r->salt);
	strlist_free(r->include_groups, r->n_include);
	strlist_free(r->exclude_groups, r->n_exclude);
	memset(r, 0, sizeof(*r));
}

static const char *type_name(json_object *o)
{
	switch (json_object_get_type(o)) {
	case json_type_null: return "null";
	case json_type_boolean: return "boolean";
	case json_type_double: return "number";
	case json_type_int: return "integer";
	case json_type_object: return "object";
	case json_type_array: return "array";
	case json_type_string: return "string";
	}
	return "unknown";
}

struct ctx {
	const char *file;
	struct pp_errs *errs;
	size_t n;
};

#define ERR(c, path, ...) do { \
	pp_errs_add((c)->errs, (c)->file, (path), __VA_ARGS__); \
	(c)->n++; \
} while (0)

/* An integer in [min, max]; false (error added) otherwise. */
static bool get_int(struct ctx *c, const char *path, json_object *v,
		    double min, double max, uint64_t *out)
{
	int64_t x;

	if (!json_object_is_type(v, json_type_int)) {
		ERR(c, path, "expected an integer, got %s", type_name(v));
		return false;
	}
	x = json_object_get_int64(v);	/* clamps beyond int64 */
	if ((double)x < min || (double)x > max) {
		ERR(c, path, "value %s is out of range [%.0f, %.0f]",
		    json_object_to_json_string(v), min, max);
		return false;
	}
	*out = (uint64_t)x;
	return true;
}

static void apply_pages(struct ctx *c, const char *path, json_object *v,
			const struct field *f, void *base)
{
	uint64_t *sizes = (uint64_t *)((char *)base + f->off);
	size_t *count = (size_t *)((char *)base + f->off2);
	uint64_t tmp[PP_MAX_PAGE_SIZES];
	size_t n, errs_before = c->n;

	if (!json_object_is_type(v, json_type_array)) {
		ERR(c, path, "expected an array of page sizes in KiB, got %s",
		    type_name(v));
		return;
	}
	n = json_object_array_length(v);
	if (n > PP_MAX_PAGE_SIZES) {
		ERR(c, path, "at most %d page sizes, got %zu",
		    PP_MAX_PAGE_SIZES, n);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		char *ip = xasprintf("%s[%zu]", path, i);
		uint64_t x;

		if (get_int(c, ip, json_object_array_get_idx(v, i), f->min,
			    f->max, &x)) {
			if (x & (x - 1))
				ERR(c, ip, "page size %llu KiB is not a power of two",
				    (unsigned long long)x);
			for (size_t j = 0; j < i; j++)
				if (tmp[j] == x)
					ERR(c, ip, "page size %llu KiB listed twice",
					    (unsigned long long)x);
			tmp[i] = x;
		}
		free(ip);
	}
	if (c->n == errs_before) {
		memcpy(sizes, tmp, n * sizeof(*tmp));
		*count = n;
	}
}

static void apply_strlist(struct ctx *c, const char *path, json_object *v,
			  const struct field *f, void *base)
{
	char ***list = (char ***)((char *)base + f->off);
	size_t *count = (size_t *)((char *)base + f->off2);
	size_t n, errs_before = c->n;

	if (!json_object_is_type(v, json_type_array)) {
		ERR(c, path, "expected an array of strings, got %s",
		    type_name(v));
		return;
	}
	n = json_object_array_length(v);
	if (n > PP_MAX_GROUPS) {
		ERR(c, path, "at most %d entries, got %zu", PP_MAX_GROUPS, n);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(v, i);
		size_t len;

		if (!json_object_is_type(e, json_type_string)) {
			char *ip = xasprintf("%s[%zu]", path, i);

			ERR(c, ip, "expected a string, got %s", type_name(e));
			free(ip);
			continue;
		}
		len = strlen(json_object_get_string(e));
		if (len < f->min || len > f->max) {
			char *ip = xasprintf("%s[%zu]", path, i);

			ERR(c, ip, "length %zu is out of range [%.0f, %.0f]",
			    len, f->min, f->max);
			free(ip);
		}
	}
	if (c->n != errs_before)
		return;
	strlist_free(*list, *count);
	*list = xcalloc(n, sizeof(char *));
	for (size_t i = 0; i < n; i++)
		(*list)[i] = xstrdup(json_object_get_string(
					json_object_array_get_idx(v, i)));
	*count = n;
}

static void apply_fields(struct ctx *c, const char *path, json_object *obj,
			 const struct field *fields, void *base);

static void apply_one(struct ctx *c, const char *path, json_object *v,
		      const struct field *f, void *base)
{
	void *dst = (char *)base + f->off;
	uint64_t x;

	switch (f->kind) {
	case K_BOOL:
		if (!json_object_is_type(v, json_type_boolean))
			ERR(c, path, "expected true or false, got %s",
			    type_name(v));
		else
			*(bool *)dst = json_object_get_boolean(v);
		break;
	case K_UINT:
		if (get_int(c, path, v, f->min, f->max, &x))
			*(unsigned *)dst = (unsigned)x;
		break;
	case K_U64:
		if (get_int(c, path, v, f->min, f->max, &x))
			*(uint64_t *)dst = x;
		break;
	case K_NUM: {
		double d;

		if (!json_object_is_type(v, json_type_double) &&
		    !json_object_is_type(v, json_type_int)) {
			ERR(c, path, "expected a number, got %s", type_name(v));
			break;
		}
		d = json_object_get_double(v);
		if (!isfinite(d) || d > f->max ||
		    (f->min_open ? d <= f->min : d < f->min)) {
			ERR(c, path, "value %g is out of range %s%g, %g]", d,
			    f->min_open ? "(" : "[", f->min, f->max);
			break;
		}
		*(double *)dst = d;
		break;
	}
	case K_MODE: {
		const char *s;
		size_t m;

		if (!json_object_is_type(v, json_type_string)) {
			ERR(c, path, "expected \"auto\", \"prepopulate\" or \"fault\", got %s",
			    type_name(v));
			break;
		}
		s = json_object_get_string(v);
		for (m = 0; m < 3; m++)
			if (!strcmp(s, mode_names[m]))
				break;
		if (m == 3)
			ERR(c, path, "unknown mode \"%s\" (expected \"auto\", \"prepopulate\" or \"fault\")",
			    s);
		else
			*(enum pp_mode *)dst = (enum pp_mode)m;
		break;
	}
	case K_PAGES:
		apply_pages(c, path, v, f, base);
		break;
	case K_STR: {
		size_t len;

		if (!json_object_is_type(v, json_type_string)) {
			ERR(c, path, "expected a string, got %s", type_name(v));
			break;
		}
		len = strlen(json_object_get_string(v));
		if (len < f->min || len > f->max) {
			ERR(c, path, "length %zu is out of range [%.0f, %.0f]",
			    len, f->min, f->max);
			break;
		}
		free(*(char **)dst);
		*(char **)dst = xstrdup(json_object_get_string(v));
		break;
	}
	case K_STRLIST:
		apply_strlist(c, path, v, f, base);
		break;
	case K_SECTION:
		apply_fields(c, path, v, f->sub, base);
		break;
	case K_IGNORE:
		break;
	}
}

/* A host-wide key given where only per-flavor keys go: say where it belongs. */
static bool is_rollout_key(const char *key)
{
	for (const struct field *f = f_rollout; f->key; f++)
		if (!strcmp(f->key, key))
			return true;
	return false;
}

static void apply_fields(struct ctx *c, const char *path, json_object *obj,
			 const struct field *fields, void *base)
{
	if (!json_object_is_type(obj, json_type_object)) {
		ERR(c, path, "expected an object, got %s", type_name(obj));
		return;
	}
	json_object_object_foreach(obj, key, v) {
		const struct field *f;
		char *kp = xasprintf("%s.%s", path, key);

		for (f = fields; f->key; f++)
			if (!strcmp(f->key, key))
				break;
		if (!f->key && fields != f_rollout && is_rollout_key(key))
			ERR(c, kp, "unknown key \"%s\" (host-wide: set rollout.%s in %s)",
			    key, key, PP_DEFAULTS_FILE);
		else if (!f->key)
			ERR(c, kp, "unknown key \"%s\"", key);
		else
			apply_one(c, kp, v, f, base);
		free(kp);
	}
}

static const struct field f_defaults_top[] = {
	IGNORE("version"), IGNORE("description"), PARAM_FIELDS,
	IGNORE("rollout"), END
};

static const struct field f_flavor_top[] = {
	IGNORE("version"), IGNORE("description"), IGNORE("flavor"),
	IGNORE("match"), PARAM_FIELDS, END
};

static void check_version(struct ctx *c, json_object *root)
{
	json_object *v;

	if (!json_object_object_get_ex(root, "version", &v))
		return;
	if (!json_object_is_type(v, json_type_int) ||
	    json_object_get_int64(v) != 1)
		ERR(c, "$.version", "unsupported version %s (this prepop reads version 1)",
		    json_object_to_json_string(v));
}

static char *get_string(struct ctx *c, json_object *root, const char *key,
			bool required, size_t maxlen)
{
	json_object *v;
	char *path = xasprintf("$.%s", key);
	char *s = NULL;

	if (!json_object_object_get_ex(root, key, &v)) {
		if (required)
			ERR(c, "$", "missing required key \"%s\"", key);
	} else if (!json_object_is_type(v, json_type_string)) {
		ERR(c, path, "expected a string, got %s", type_name(v));
	} else if (!json_object_get_string_len(v) ||
		   (size_t)json_object_get_string_len(v) > maxlen) {
		ERR(c, path, "length %d is out of range [1, %zu]",
		    json_object_get_string_len(v), maxlen);
	} else {
		s = xstrdup(json_object_get_string(v));
	}
	free(path);
	return s;
}

static void apply_match(struct ctx *c, json_object *root,
			struct pp_flavor *fl)
{
	json_object *v;
	size_t n, errs_before = c->n;

	if (!json_object_object_get_ex(root, "match", &v)) {
		ERR(c, "$", "missing required key \"match\"");
		return;
	}
	if (!json_object_is_type(v, json_type_array)) {
		ERR(c, "$.match", "expected an array of globs, got %s",
		    type_name(v));
		return;
	}
	n = json_object_array_length(v);
	if (n == 0) {
		ERR(c, "$.match", "must list at least one glob");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(v, i);
		char *ip = xasprintf("$.match[%zu]", i);
		char why[128];

		if (!json_object_is_type(e, json_type_string))
			ERR(c, ip, "expected a glob string, got %s",
			    type_name(e));
		else if (pp_glob_check(json_object_get_string(e), why,
					sizeof(why)) < 0)
			ERR(c, ip, "invalid glob \"%s\": %s",
			    json_object_get_string(e), why);
		free(ip);
	}
	if (c->n != errs_before || !fl)
		return;
	fl->match = xcalloc(n, sizeof(char *));
	for (size_t i = 0; i < n; i++)
		fl->match[i] = xstrdup(json_object_get_string(
					json_object_array_get_idx(v, i)));
	fl->n_match = n;
}

static void check_budgets(struct ctx *c, const struct pp_params *p)
{
	if (p->pop.total_ms < p->pop.slice_ms)
		ERR(c, "$.populate.total_budget_ms",
		    "total budget %u ms is shorter than one slice (%u ms)",
		    p->pop.total_ms, p->pop.slice_ms);
}

size_t pp_schema_apply(json_object *root, enum pp_file_kind kind,
		       const char *file, struct pp_params *params,
		       struct pp_rollout *rollout, struct pp_flavor *flavor,
		       struct pp_errs *errs)
{
	struct ctx c = { .file = file, .errs = errs };
	json_object *v;
	char *desc;

	if (!json_object_is_type(root, json_type_object)) {
		ERR(&c, "$", "expected an object at the top level, got %s",
		    type_name(root));
		return c.n;
	}
	check_version(&c, root);
	desc = get_string(&c, root, "description", false, 1024);
	apply_fields(&c, "$", root,
		     kind == PP_FILE_DEFAULTS ? f_defaults_top : f_flavor_top,
		     params);
	if (kind == PP_FILE_DEFAULTS) {
		free(desc);
		if (json_object_object_get_ex(root, "rollout", &v))
			apply_fields(&c, "$.rollout", v, f_rollout, rollout);
	} else {
		char *name = get_string(&c, root, "flavor", true, 128);

		if (flavor) {
			flavor->name = name;
			flavor->description = desc;
		} else {
			free(name);
			free(desc);
		}
		apply_match(&c, root, flavor);
	}
	check_budgets(&c, params);
	return c.n;
}

static json_object *emit_fields(const struct field *fields, const void *base)
{
	json_object *o = json_object_new_object();

	for (const struct field *f = fields; f->key; f++) {
		const void *src = (const char *)base + f->off;
		json_object *v = NULL;

		switch (f->kind) {
		case K_BOOL:
			v = json_object_new_boolean(*(const bool *)src);
			break;
		case K_UINT:
			v = json_object_new_int64(*(const unsigned *)src);
			break;
		case K_U64:
			v = json_object_new_uint64(*(const uint64_t *)src);
			break;
		case K_NUM:
			v = json_object_new_double(*(const double *)src);
			break;
		case K_MODE:
			v = json_object_new_string(
				mode_names[*(const enum pp_mode *)src]);
			break;
		case K_PAGES: {
			size_t n = *(const size_t *)((const char *)base + f->off2);

			v = json_object_new_array();
			for (size_t i = 0; i < n; i++)
				json_object_array_add(v, json_object_new_uint64(
					((const uint64_t *)src)[i]));
			break;
		}
		case K_STR:
			v = json_object_new_string(*(char *const *)src);
			break;
		case K_STRLIST: {
			size_t n = *(const size_t *)((const char *)base + f->off2);

			v = json_object_new_array();
			for (size_t i = 0; i < n; i++)
				json_object_array_add(v, json_object_new_string(
					(*(char **const *)src)[i]));
			break;
		}
		case K_SECTION:
			v = emit_fields(f->sub, base);
			break;
		case K_IGNORE:
			continue;
		}
		json_object_object_add(o, f->key, v);
	}
	return o;
}

json_object *pp_params_to_json(const struct pp_params *p)
{
	return emit_fields(f_params, p);
}

json_object *pp_rollout_to_json(const struct pp_rollout *r)
{
	return emit_fields(f_rollout, r);
}
