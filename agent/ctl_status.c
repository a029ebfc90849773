// SPDX-License-Identifier: GPL-2.0-only
/* prepopctl status: what prepopd believes, from the status file it keeps. */
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "ctl.h"

#define PP_DEFAULT_STATE_DIR "/run/prepop"

static const char *s(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
		return "-";
	return json_object_get_string(v);
}

static double ms(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_double(v) / 1e6 : 0;
}

/* "  populate: done, 12 slices, ..." under a domain's row, if it ever populated */
static void print_populate(json_object *d)
{
	json_object *p;

	if (!json_object_object_get_ex(d, "populate", &p) || json_object_is_type(p, json_type_null))
		return;
	printf("  populate: %s%s%s, %s slices, leaves %s (4k %s, 2m %s, 1g %s), longest vCPU hold %.2f ms, longest kick %.2f ms",
	       strcmp(s(p, "stop"), "-") ? s(p, "stop") : s(p, "phase"),
	       strcmp(s(p, "stop"), "-") ? ": " : "", strcmp(s(p, "stop"), "-") ? s(p, "stop_detail") : "",
	       s(p, "slices"), s(p, "leaves"), s(p, "mapped_4k"), s(p, "mapped_2m"), s(p, "mapped_1g"),
	       ms(p, "max_hold_ns"), ms(p, "max_kick_ns"));
	if (strcmp(s(p, "finished"), "-"))
		printf(", finished %s", s(p, "finished"));
	putchar('\n');
}

int ctl_status(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "state-dir", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 }
	};
	const char *dir = PP_DEFAULT_STATE_DIR;
	json_object *st, *doms, *pol;
	char path[4096];
	bool json = false;
	int c;

	while ((c = getopt_long(argc, argv, "s:j", opts, NULL)) != -1) {
		switch (c) {
		case 's': dir = optarg; break;
		case 'j': json = true; break;
		default: return CTL_BAD_INPUT;
		}
	}
	snprintf(path, sizeof(path), "%s/status.json", dir);
	st = json_object_from_file(path);
	if (!st) {
		fprintf(stderr, "prepopctl: %s: %s (is prepopd running?)\n", path,
			json_util_get_last_err());
		return 1;
	}
	if (json) {
		ctl_print_json(st);
		json_object_put(st);
		return CTL_OK;
	}
	printf("prepopd:   pid %s, %s\n", s(st, "pid"), s(st, "status"));
	printf("libvirt:   %s (%s)\n", s(st, "uri"), s(st, "connected")[0] == 't' ? "connected" : "disconnected");
	if (json_object_object_get_ex(st, "policy", &pol)) {
		printf("policy:    %s, generation %s\n", s(pol, "dir"), s(pol, "generation"));
		if (strcmp(s(pol, "reload_error"), "-"))
			printf("           the last reload FAILED and the old policy is in force:\n%s",
			       s(pol, "reload_error"));
	}
	if (json_object_object_get_ex(st, "domains", &doms)) {
		printf("%-24s %-14s %-12s %-18s %s\n", "DOMAIN", "STATE", "MODE", "REASON", "FLAVOR");
		for (size_t i = 0; i < json_object_array_length(doms); i++) {
			json_object *d = json_object_array_get_idx(doms, i);

			printf("%-24s %-14s %-12s %-18s %s\n", s(d, "name"), s(d, "state"),
			       s(d, "mode"), s(d, "reason"), s(d, "flavor"));
			print_populate(d);
		}
	}
	json_object_put(st);
	return CTL_OK;
}
