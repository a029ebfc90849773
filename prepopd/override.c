// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "override.h"
#include "prepop/xalloc.h"
#include "timefmt.h"

struct overrides {
	char *dir, *path;
	size_t n;
	struct override *v;
};

enum pp_mode override_mode_parse(const char *s, int *ok)
{
	*ok = 1;
	if (!strcmp(s, "prepopulate") || !strcmp(s, "populate"))
		return PP_MODE_PREPOPULATE;
	if (!strcmp(s, "fault"))
		return PP_MODE_FAULT;
	if (!strcmp(s, "auto"))
		return PP_MODE_AUTO;
	*ok = 0;
	return PP_MODE_AUTO;
}

static void add(struct overrides *o, const char *uuid, const char *name, enum pp_mode mode,
		struct timespec since)
{
	struct override *x;

	o->v = xreallocarray(o->v, o->n + 1, sizeof(*o->v));
	x = &o->v[o->n++];
	x->uuid = xstrdup(uuid);
	x->name = xstrdup(name);
	x->mode = mode;
	x->since = since;
}

static void drop(struct overrides *o, size_t i)
{
	free(o->v[i].uuid);
	free(o->v[i].name);
	memmove(&o->v[i], &o->v[i + 1], (o->n - i - 1) * sizeof(*o->v));
	o->n--;
}

static const char *str(json_object *e, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(e, key, &v) || !json_object_is_type(v, json_type_string) ||
	    !json_object_get_string_len(v))
		return NULL;
	return json_object_get_string(v);
}

static void parse(struct overrides *o, json_object *root, struct pp_errs *errs)
{
	json_object *list, *v;

	if (!json_object_is_type(root, json_type_object)) {
		pp_errs_add(errs, o->path, "$", "expected an object");
		return;
	}
	if (!json_object_object_get_ex(root, "version", &v) || json_object_get_int(v) != 1)
		pp_errs_add(errs, o->path, "$.version", "expected 1");
	if (!json_object_object_get_ex(root, "overrides", &list) ||
	    !json_object_is_type(list, json_type_array)) {
		pp_errs_add(errs, o->path, "$.overrides", "expected an array");
		return;
	}
	for (size_t i = 0; i < json_object_array_length(list); i++) {
		json_object *e = json_object_array_get_idx(list, i);
		const char *uuid = str(e, "uuid"), *name = str(e, "name"), *mode = str(e, "mode");
		const char *since = str(e, "since");
		struct timespec ts = { 0, 0 };
		enum pp_mode m = PP_MODE_AUTO;
		char jp[64];
		int ok = 0;

		snprintf(jp, sizeof(jp), "$.overrides[%zu]", i);
		if (mode)
			m = override_mode_parse(mode, &ok);
		if (!uuid || !name || !ok || m == PP_MODE_AUTO)
			pp_errs_add(errs, o->path, jp,
				    "expected uuid, name and mode (\"prepopulate\" or \"fault\")");
		else if (override_get(o, uuid))
			pp_errs_add(errs, o->path, jp, "uuid %s appears twice", uuid);
		else if (since && time_parse(since, &ts) < 0)
			pp_errs_add(errs, o->path, jp, "since: expected an RFC 3339 UTC time");
		else
			add(o, uuid, name, m, ts);
	}
}

struct overrides *override_load(const char *dir, struct pp_errs *errs)
{
	struct overrides *o = xcalloc(1, sizeof(*o));
	size_t before = errs->n;
	json_object *root;

	o->dir = xstrdup(dir);
	o->path = xasprintf("%s/" PP_OVERRIDE_FILE, dir);
	if (access(o->path, F_OK) != 0 && errno == ENOENT)
		return o;
	root = json_object_from_file(o->path);
	if (!root)
		pp_errs_add(errs, o->path, NULL, "cannot load: %s", json_util_get_last_err());
	else
		parse(o, root, errs);
	json_object_put(root);
	if (errs->n != before) {
		override_free(o);
		return NULL;
	}
	return o;
}

void override_free(struct overrides *o)
{
	if (!o)
		return;
	while (o->n)
		drop(o, o->n - 1);
	free(o->v);
	free(o->dir);
	free(o->path);
	free(o);
}

const struct override *override_get(const struct overrides *o, const char *uuid)
{
	for (size_t i = 0; i < o->n; i++)
		if (!strcmp(o->v[i].uuid, uuid))
			return &o->v[i];
	return NULL;
}

const char *override_path(const struct overrides *o)
{
	return o->path;
}

json_object *override_json(const struct overrides *o, const char *uuid)
{
	const struct override *x = override_get(o, uuid);
	json_object *j;
	char t[40];

	if (!x)
		return NULL;
	j = json_object_new_object();
	json_object_object_add(j, "mode", json_object_new_string(pp_mode_str(x->mode)));
	json_object_object_add(j, "since", json_object_new_string(time_format(&x->since, t, sizeof(t))));
	json_object_object_add(j, "name", json_object_new_string(x->name));
	json_object_object_add(j, "file", json_object_new_string(o->path));
	return j;
}

/* The file's contents. */
static json_object *to_json(const struct overrides *o)
{
	json_object *root = json_object_new_object(), *list = json_object_new_array();

	json_object_object_add(root, "version", json_object_new_int(1));
	for (size_t i = 0; i < o->n; i++) {
		json_object *e = json_object_new_object();
		char t[40];

		json_object_object_add(e, "uuid", json_object_new_string(o->v[i].uuid));
		json_object_object_add(e, "name", json_object_new_string(o->v[i].name));
		json_object_object_add(e, "mode", json_object_new_string(pp_mode_str(o->v[i].mode)));
		json_object_object_add(e, "since", json_object_new_string(time_format(&o->v[i].since, t, sizeof(t))));
		json_object_array_add(list, e);
	}
	json_object_object_add(root, "overrides", list);
	return root;
}

static int save(const struct overrides *o, struct pp_errs *errs)
{
	json_object *root = to_json(o);
	const char *text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY);
	char *tmp = xasprintf("%s/.%s.tmp", o->dir, PP_OVERRIDE_FILE);
	size_t len = strlen(text);
	int fd, r = -1;

	if (mkdir(o->dir, 0755) < 0 && errno != EEXIST) {
		pp_errs_add(errs, o->dir, NULL, "cannot create: %s", strerror(errno));
		goto out;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		pp_errs_add(errs, tmp, NULL, "cannot create: %s", strerror(errno));
		goto out;
	}
	if (write(fd, text, len) != (ssize_t)len || write(fd, "\n", 1) != 1 || fsync(fd) < 0) {
		pp_errs_add(errs, tmp, NULL, "cannot write: %s", strerror(errno ? errno : ENOSPC));
		close(fd);
		unlink(tmp);
		goto out;
	}
	if (close(fd) < 0 || rename(tmp, o->path) < 0) {
		pp_errs_add(errs, o->path, NULL, "cannot replace: %s", strerror(errno));
		unlink(tmp);
		goto out;
	}
	r = 0;
out:
	free(tmp);
	json_object_put(root);
	return r;
}

int override_set(struct overrides *o, const char *uuid, const char *name, enum pp_mode mode,
		 struct pp_errs *errs)
{
	struct overrides next = *o;	/* the new list, saved before it replaces the old */
	struct override *v = xcalloc(o->n + 1, sizeof(*v));
	size_t n = 0;
	struct timespec now;
	int r;

	clock_gettime(CLOCK_REALTIME, &now);
	for (size_t i = 0; i < o->n; i++)
		if (strcmp(o->v[i].uuid, uuid))
			v[n++] = o->v[i];	/* shallow: o keeps owning the strings */
	if (mode != PP_MODE_AUTO)
		v[n++] = (struct override){ (char *)uuid, (char *)name, mode, now };
	next.v = v;
	next.n = n;
	r = save(&next, errs);
	free(v);
	if (r < 0)
		return -1;
	for (size_t i = 0; i < o->n; i++)
		if (!strcmp(o->v[i].uuid, uuid)) {
			drop(o, i);
			break;
		}
	if (mode != PP_MODE_AUTO)
		add(o, uuid, name, mode, now);
	return 0;
}
