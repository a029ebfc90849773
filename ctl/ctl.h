/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * prepopctl: a table of commands (prepopctl.c), one file each (ctl_NAME.c),
 * and the helpers they share (ctl_util.c), the way tmux lays out its own.
 */
#ifndef PREPOP_CTL_H
#define PREPOP_CTL_H

#include <json-c/json.h>
#include <stdbool.h>

#include "prepop/errors.h"
#include "prepop/facts.h"
#include "prepop/policy.h"

/* Exit status (docs/prepopctl.md). */
#define CTL_OK 0		/* the answer */
#define CTL_FAILED 1		/* prepopd cannot be reached, or could not do it */
#define CTL_BAD_INPUT 2		/* usage, a bad file, an unknown domain, an invalid policy */
#define CTL_DENIED 3		/* the control socket refused: root or the prepop group only */

struct ctl_cmd {
	const char *name;
	const char *args;	/* the usage line's arguments */
	const char *help;	/* one line */
	/* argv[0] is the command's name; returns the exit status */
	int (*exec)(const struct ctl_cmd *self, int argc, char **argv);
};

/* The commands, in the order the usage lists them. */
extern const struct ctl_cmd ctl_cmd_status, ctl_cmd_explain, ctl_cmd_populate, ctl_cmd_fault,
	ctl_cmd_auto, ctl_cmd_reload, ctl_cmd_decide, ctl_cmd_policy, ctl_cmd_rollout;

/* --- ctl_util.c: what the commands share */

/* "prepopctl NAME: message" and the command's usage on stderr; CTL_BAD_INPUT. */
int ctl_usage_error(const struct ctl_cmd *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Offline: load, or print every error and return NULL / -1. */
struct pp_policy *ctl_load_policy(const char *dir);
int ctl_load_host(const char *host_file, struct pp_host *h);

/* Commands that talk to the running prepopd, through its control socket. */
struct ctl_online {
	bool json;
	const char *socket;	/* --socket PATH, or STATE_DIR/control */
	char buf[4096];
};
/*
 * --json, --socket PATH, --state-dir DIR, then exactly nargs arguments
 * (into args).  CTL_OK, or CTL_BAD_INPUT (said why).
 */
int ctl_online_args(const struct ctl_cmd *c, int argc, char **argv, struct ctl_online *o,
		    int nargs, const char **args);
/*
 * Send req (taken over), read the answer.  CTL_OK with *answer if prepopd
 * did it (the command prints it); else the exit status, the error on
 * stderr (with --json the answer on stdout too), and *answer set if
 * prepopd answered at all (NULL if not).
 */
int ctl_call(const struct ctl_online *o, json_object *req, json_object **answer);
/* A request {"command": command, "domain": domain (if not NULL)}. */
json_object *ctl_request(const char *command, const char *domain);

/* The shape every command that asks prepopd has. */
struct ctl_ask {
	const char *command;		/* the request's */
	bool domain;			/* it takes a DOMAIN argument */
	const char *mode;		/* the request's "mode", or NULL */
	const char *member;		/* what --json prints of an answer: a member, or NULL: all of it */
	void (*print)(json_object *answer);	/* the human form of a successful answer */
	void (*failed)(json_object *answer);	/* after a refusal (answer NULL if none), or NULL */
};
/* Arguments, one request, the answer printed; the exit status. */
int ctl_ask(const struct ctl_cmd *c, int argc, char **argv, const struct ctl_ask *q);

/* Output */
void ctl_print_json(json_object *o);
/* A member as text: "-" if absent or null. */
const char *ctl_str(json_object *o, const char *key);
json_object *ctl_get(json_object *o, const char *key);	/* NULL if absent or null */
/* Each member of an object as "indent key  value" lines (nested values as compact JSON). */
void ctl_print_members(json_object *o, const char *indent);
/* "started 2026-..., finished ..." line for a populate object, under a domain. */
void ctl_print_populate(json_object *p, const char *indent);

#endif
