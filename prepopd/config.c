// SPDX-License-Identifier: GPL-2.0-only
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "metrics.h"
#include "prepop/hostfacts.h"
#include "prepop/policy.h"
#include "prepop/xalloc.h"

static void set(char **dst, const char *v)
{
	free(*dst);
	*dst = xstrdup(v);
}

int config_load(struct config *c, const char *path, bool required, struct pp_errs *errs)
{
	static const char *const keys[] = {
		"uri", "policy_dir", "host_facts", "state_dir", "control_socket", "control_group",
		"lib_dir", "metrics_file",
	};
	enum { NKEYS = sizeof(keys) / sizeof(keys[0]) };
	char **fields[NKEYS] = {
		&c->uri, &c->policy_dir, &c->host_facts, &c->state_dir, &c->control_socket,
		&c->control_group, &c->lib_dir, &c->metrics_file,
	};
	size_t before = errs->n;
	json_object *root;

	memset(c, 0, sizeof(*c));
	set(&c->uri, "qemu:///system");
	set(&c->policy_dir, PP_DEFAULT_POLICY_DIR);
	set(&c->host_facts, PP_DEFAULT_HOST_FILE);
	set(&c->state_dir, PP_DEFAULT_STATE_DIR);
	set(&c->control_group, PP_DEFAULT_CONTROL_GROUP);
	set(&c->lib_dir, PP_DEFAULT_LIB_DIR);
	set(&c->metrics_file, PP_DEFAULT_METRICS_FILE);
	if (!required && access(path, F_OK) != 0)
		return 0;
	root = json_object_from_file(path);
	if (!root) {
		pp_errs_add(errs, path, NULL, "cannot load: %s", json_util_get_last_err());
		return -1;
	}
	if (!json_object_is_type(root, json_type_object)) {
		pp_errs_add(errs, path, "$", "expected an object");
		json_object_put(root);
		return -1;
	}
	json_object_object_foreach(root, key, val) {
		char jp[64];
		size_t i;

		snprintf(jp, sizeof(jp), "$.%s", key);
		for (i = 0; i < NKEYS; i++)
			if (!strcmp(key, keys[i]))
				break;
		if (i < NKEYS) {
			if (!json_object_is_type(val, json_type_string) ||
			    !json_object_get_string_len(val))
				pp_errs_add(errs, path, jp, "expected a non-empty string");
			else
				set(fields[i], json_object_get_string(val));
		} else if (!strcmp(key, "observe_only")) {
			if (!json_object_is_type(val, json_type_boolean))
				pp_errs_add(errs, path, jp, "expected true or false");
			else
				c->observe_only = json_object_get_boolean(val);
		} else {
			pp_errs_add(errs, path, jp, "unknown key \"%s\"", key);
		}
	}
	json_object_put(root);
	return errs->n == before ? 0 : -1;
}

void config_finish(struct config *c)
{
	if (!c->control_socket)
		c->control_socket = xasprintf("%s/" PP_CONTROL_NAME, c->state_dir);
}

void config_free(struct config *c)
{
	free(c->uri);
	free(c->policy_dir);
	free(c->host_facts);
	free(c->state_dir);
	free(c->control_socket);
	free(c->control_group);
	free(c->lib_dir);
	free(c->metrics_file);
	memset(c, 0, sizeof(*c));
}
