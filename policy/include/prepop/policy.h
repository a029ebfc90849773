/* SPDX-License-Identifier: GPL-2.0-only */
/* The policy: a defaults file and one file per flavor, loaded from a directory. */
#ifndef PREPOP_POLICY_H
#define PREPOP_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "prepop/errors.h"

#define PP_DEFAULT_POLICY_DIR "/etc/prepop/policy.d"
#define PP_DEFAULTS_FILE "defaults.json"
#define PP_MAX_PAGE_SIZES 8
#define PP_MAX_GROUPS 64

enum pp_mode { PP_MODE_AUTO, PP_MODE_PREPOPULATE, PP_MODE_FAULT };

struct pp_params {
	enum pp_mode mode;
	struct {
		unsigned min_vcpus;
		uint64_t min_memory_mib;
		bool require_hugepages;
		size_t n_page_sizes;
		uint64_t page_sizes_kib[PP_MAX_PAGE_SIZES];
	} elig;
	struct {
		bool smm;
		bool smm_default_is_on;
		bool overcommit;
		double overcommit_max_ratio;
		bool balloon;
		bool postcopy;
		bool ksm;
	} fb;
	struct {
		unsigned slice_ms, gap_ms, workers, total_ms;
		unsigned boot_delay_ms;	/* after a boot, let firmware settle the memslots */
	} pop;
};

struct pp_flavor {
	char *name;
	char *file;
	char *description;
	size_t n_match;
	char **match;
	struct pp_params params;
};

struct pp_rollout {
	bool enabled;
	bool dry_run;
	double percent;
	char *salt;
	size_t n_include, n_exclude;
	char **include_groups;	/* in the rollout whatever the percent */
	char **exclude_groups;	/* never in the rollout */
	unsigned max_concurrent_guests;	/* host-wide: guests populating at once */
};

struct pp_policy {
	char *dir;
	char *defaults_file;
	struct pp_params defaults;
	struct pp_rollout rollout;
	size_t n_flavors;
	struct pp_flavor *flavors;	/* sorted by file name */
};

const char *pp_mode_str(enum pp_mode m);

/*
 * Load and validate a whole directory.  Returns the policy, or NULL with
 * every error found appended to errs (never only the first).
 */
struct pp_policy *pp_policy_load(const char *dir, struct pp_errs *errs);
/*
 * Validate one file's text as a defaults file (is_defaults) or a flavor
 * file; used by the loader and the fuzzers.  Returns the number of errors.
 */
size_t pp_policy_check_text(const char *text, size_t len, const char *name,
			    bool is_defaults, struct pp_errs *errs);
void pp_policy_free(struct pp_policy *p);

struct json_object;
/* The effective parameters / rollout as JSON, in the files' own schema. */
struct json_object *pp_params_to_json(const struct pp_params *p);
struct json_object *pp_rollout_to_json(const struct pp_rollout *r);

/* The flavor entry whose globs match subject, or NULL (defaults apply). */
const struct pp_flavor *pp_policy_match(const struct pp_policy *p,
					const char *subject,
					const char **glob);

#endif
