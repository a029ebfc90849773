/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The operator's overrides (prepopctl populate / fault / auto DOMAIN): per
 * domain uuid, kept in LIB_DIR/overrides.json so that they outlive a
 * restart of prepopd (and of the host).  Each change is written (to a
 * temporary file, synced, renamed) before it takes effect.
 */
#ifndef PREPOP_OVERRIDE_H
#define PREPOP_OVERRIDE_H

#include <time.h>

#include "prepop/errors.h"
#include "prepop/policy.h"

#define PP_OVERRIDE_FILE "overrides.json"

struct override {
	char *uuid;
	char *name;		/* the domain's name when it was set */
	enum pp_mode mode;	/* PP_MODE_PREPOPULATE or PP_MODE_FAULT */
	struct timespec since;	/* CLOCK_REALTIME */
};

struct overrides;

/* Load dir's file (absent: none).  NULL with errors if it cannot be read or is invalid. */
struct overrides *override_load(const char *dir, struct pp_errs *errs);
void override_free(struct overrides *o);
/* uuid's override, or NULL. */
const struct override *override_get(const struct overrides *o, const char *uuid);
/*
 * Set (PP_MODE_PREPOPULATE, PP_MODE_FAULT) or clear (PP_MODE_AUTO) uuid's
 * override, and save.  0, or -1 with errs (nothing changed, in memory or on disk).
 */
int override_set(struct overrides *o, const char *uuid, const char *name, enum pp_mode mode,
		 struct pp_errs *errs);
/* "prepopulate", "fault", "auto" (the operator's words: populate, fault, auto). */
enum pp_mode override_mode_parse(const char *s, int *ok);
const char *override_path(const struct overrides *o);
/* uuid's override as JSON ({mode, since, name, file}), or NULL (JSON null). */
struct json_object *override_json(const struct overrides *o, const char *uuid);

#endif
