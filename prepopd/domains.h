/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The domain table: the domains prepopd knows.  The only place that steps
 * their state machines (domstate.h), decides, starts and cancels populates
 * (driver.h, whose reports it handles), and writes status (status.h).
 */
#ifndef PREPOP_DOMAINS_H
#define PREPOP_DOMAINS_H

#include <libvirt/libvirt.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "domstate.h"
#include "driver.h"
#include "prepop/decide.h"

struct agent;
struct jobwatch;

/* One domain's record; read by status.c and control.c, written only by domains.c. */
struct adom {
	char uuid[VIR_UUID_STRING_BUFLEN];
	char *name;
	struct ds sm;
	unsigned decisions;	/* how many times decided */
	bool decided;
	enum pp_mode mode;
	enum pp_reason reason;
	bool dry_run;
	char explanation[320];
	char *flavor;
	char *error;		/* why the last decision could not be made */
	unsigned generation;	/* the policy generation of the last decision */
	struct timespec decided_at;	/* CLOCK_REALTIME */
	unsigned long long memory_bytes;
	uint64_t inputs;	/* pp_decision_inputs() of the last decision */
	uint64_t populated_inputs;	/* ... of the decision the last populate started from */
	struct jobwatch *watch;	/* jobwatch.c: the libvirt job being watched */
	struct pop_stats last;	/* the last populate's figures (id 0: none yet) */
	bool seen;		/* resync mark */
	bool undecided;		/* a decision could not ask libvirt: decide at resync */
	struct adom *next;
};

/* a->doms */
void domains_init(struct agent *a);
/* Forget every domain (cancelling what they do), free the table. */
void domains_free(struct agent *a);

/* Iteration and lookup (by uuid; by name or uuid). */
const struct adom *dom_first(const struct agent *a);
unsigned dom_count(const struct agent *a);
struct adom *dom_find(struct agent *a, const char *uuid);
struct adom *dom_lookup(struct agent *a, const char *name_or_uuid);
/* d's populate in progress, else its last one, else NULL. */
const struct pop_stats *dom_populate(const struct agent *a, const struct adom *d);
/* event -> decision latencies, microseconds: the last n (at most LAT_SAMPLES) */
#define LAT_SAMPLES 4096
unsigned dom_latencies(const struct agent *a, unsigned *v, unsigned *total);

/* conn.c: an event for a domain */
void dom_event(struct agent *a, virDomainPtr d, enum ds_event ev);
/* dom_event for a domain known by uuid (looked up); false if not reachable */
bool dom_event_uuid(struct agent *a, const char *uuid, enum ds_event ev);
/* Resync: mark all unseen, then dom_seen for each found, then dom_sweep. */
void dom_mark_unseen(struct agent *a);
void dom_seen(struct agent *a, virDomainPtr d, int state, int reason);
void dom_sweep(struct agent *a);
/* The connection came or went. */
void dom_connection_changed(struct agent *a);

/*
 * A reload (ok: it took) or a module found at a reload: the driver's slots
 * follow the policy, and every settled or populating domain is decided
 * again (if ok, or if the module just became usable).
 */
void dom_policy_reloaded(struct agent *a, bool ok, bool module_appeared);
/* d's operator override changed: decide it again (if it runs free). */
void dom_override_changed(struct agent *a, struct adom *d);
/* SIGTERM: cancel every populate. */
void dom_stop_all(struct agent *a);

/* What deciding a domain now would give, without acting on it. */
struct dom_eval {
	struct pp_domain facts;		/* from libvirt's live XML, with the operator's override */
	struct pp_host host;		/* shallow: valid until the next reload */
	enum pp_migration mig;
	struct pp_decision dec;
};
/* 0, or -1 with *err set (allocated).  Free with dom_eval_free. */
int dom_evaluate(struct agent *a, struct adom *d, struct dom_eval *ev, char **err);
void dom_eval_free(struct dom_eval *ev);

#endif
