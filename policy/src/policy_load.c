// SPDX-License-Identifier: GPL-2.0-only
/*
 * Loading a policy directory: defaults.json first, then every other *.json
 * in name order as a flavor file.  Everything is validated before anything
 * is returned, and every error is reported, so a caller can keep its old
 * policy when the new one has any fault.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prepop/glob.h"
#include "jsonfile.h"
#include "schema.h"
#include "prepop/xalloc.h"

#define MAX_FLAVOR_FILES 4096

static void flavor_free(struct pp_flavor *f)
{
	free(f->name);
	free(f->file);
	free(f->description);
	for (size_t i = 0; i < f->n_match; i++)
		free(f->match[i]);
	free(f->match);
}

size_t pp_policy_check_text(const char *text, size_t len, const char *name,
			    bool is_defaults, struct pp_errs *errs)
{
	struct pp_params params;
	struct pp_rollout rollout;
	struct pp_flavor fl = { 0 };
	size_t before = errs->n;
	json_object *root = pp_json_parse(text, len, name, errs);

	if (!root)
		return errs->n - before;
	pp_params_builtin(&params);
	pp_rollout_builtin(&rollout);
	pp_schema_apply(root, is_defaults ? PP_FILE_DEFAULTS : PP_FILE_FLAVOR,
			name, &params, &rollout, &fl, errs);
	pp_rollout_free(&rollout);
	flavor_free(&fl);
	json_object_put(root);
	return errs->n - before;
}

static bool is_policy_name(const char *n)
{
	size_t len = strlen(n);

	return n[0] != '.' && len > 5 && !strcmp(n + len - 5, ".json");
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Names of the *.json files in dir, sorted; NULL with an error if unreadable. */
static char **list_dir(const char *dir, size_t *n, struct pp_errs *errs)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **names = NULL;
	size_t cap = 0;

	*n = 0;
	if (!d) {
		pp_errs_add(errs, dir, NULL, "cannot open policy directory: %s",
			    strerror(errno));
		return NULL;
	}
	while ((de = readdir(d))) {
		if (!is_policy_name(de->d_name))
			continue;
		if (*n == MAX_FLAVOR_FILES) {
			pp_errs_add(errs, dir, NULL, "more than %d policy files",
				    MAX_FLAVOR_FILES);
			break;
		}
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			names = xreallocarray(names, cap, sizeof(*names));
		}
		names[(*n)++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (*n)
		qsort(names, *n, sizeof(*names), cmp_str);
	return names ? names : xcalloc(1, sizeof(char *));
}

static void check_flavors(struct pp_policy *p, struct pp_errs *errs)
{
	for (size_t i = 0; i < p->n_flavors; i++) {
		struct pp_flavor *a = &p->flavors[i];

		for (size_t j = 0; j < i; j++) {
			struct pp_flavor *b = &p->flavors[j];

			if (!strcmp(a->name, b->name))
				pp_errs_add(errs, a->file, "$.flavor",
					    "flavor \"%s\" is already defined in %s",
					    a->name, b->file);
			for (size_t x = 0; x < a->n_match; x++)
				for (size_t y = 0; y < b->n_match; y++)
					if (pp_glob_overlap(a->match[x], b->match[y])) {
						char *path = xasprintf("$.match[%zu]", x);

						pp_errs_add(errs, a->file, path,
							    "glob \"%s\" overlaps glob \"%s\" of flavor \"%s\" in %s",
							    a->match[x], b->match[y],
							    b->name, b->file);
						free(path);
					}
		}
	}
}

struct pp_policy *pp_policy_load(const char *dir, struct pp_errs *errs)
{
	struct pp_policy *p = xcalloc(1, sizeof(*p));
	size_t before = errs->n, n_names;
	char **names;
	bool have_defaults = false;
	json_object *root;

	p->dir = xstrdup(dir);
	p->defaults_file = xasprintf("%s/%s", dir, PP_DEFAULTS_FILE);
	pp_params_builtin(&p->defaults);
	pp_rollout_builtin(&p->rollout);
	names = list_dir(dir, &n_names, errs);
	if (!names)
		goto out;
	for (size_t i = 0; i < n_names; i++)
		if (!strcmp(names[i], PP_DEFAULTS_FILE))
			have_defaults = true;
	if (!have_defaults) {
		pp_errs_add(errs, p->defaults_file, NULL, "missing: a policy directory needs %s",
			    PP_DEFAULTS_FILE);
	} else if ((root = pp_json_load(p->defaults_file, errs))) {
		pp_schema_apply(root, PP_FILE_DEFAULTS, p->defaults_file,
				&p->defaults, &p->rollout, NULL, errs);
		json_object_put(root);
	}
	p->flavors = xcalloc(n_names, sizeof(*p->flavors));
	for (size_t i = 0; i < n_names; i++) {
		struct pp_flavor *fl = &p->flavors[p->n_flavors];
		char *path;

		if (!strcmp(names[i], PP_DEFAULTS_FILE))
			continue;
		memset(fl, 0, sizeof(*fl));
		path = xasprintf("%s/%s", dir, names[i]);
		root = pp_json_load(path, errs);
		if (!root) {
			free(path);
			continue;
		}
		fl->params = p->defaults;
		fl->file = path;
		if (pp_schema_apply(root, PP_FILE_FLAVOR, path, &fl->params,
				    NULL, fl, errs) || !fl->name || !fl->n_match)
			flavor_free(fl);
		else
			p->n_flavors++;
		json_object_put(root);
	}
	check_flavors(p, errs);
out:
	for (size_t i = 0; i < n_names; i++)
		free(names[i]);
	free(names);
	if (errs->n != before) {
		pp_policy_free(p);
		return NULL;
	}
	return p;
}

void pp_policy_free(struct pp_policy *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n_flavors; i++)
		flavor_free(&p->flavors[i]);
	free(p->flavors);
	pp_rollout_free(&p->rollout);
	free(p->dir);
	free(p->defaults_file);
	free(p);
}

const struct pp_flavor *pp_policy_match(const struct pp_policy *p,
					const char *subject, const char **glob)
{
	if (!subject)
		return NULL;
	for (size_t i = 0; i < p->n_flavors; i++)
		for (size_t j = 0; j < p->flavors[i].n_match; j++)
			if (pp_glob_match(p->flavors[i].match[j], subject)) {
				if (glob)
					*glob = p->flavors[i].match[j];
				return &p->flavors[i];
			}
	return NULL;
}
