/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The per-domain state machine (docs/agent.md): libvirt events in, actions
 * out.  Pure: no libvirt, no I/O, so every event sequence is unit-tested.
 */
#ifndef PREPOP_DOMSTATE_H
#define PREPOP_DOMSTATE_H

#include <stdbool.h>

enum ds_state {
	DS_NEW,			/* known, nothing decided yet */
	DS_WAIT_INCOMING,	/* incoming migration: paused, no stage-2 roots yet */
	DS_POSTCOPY,		/* incoming post-copy running: fault mode */
	DS_POPULATING,		/* the agent is populating */
	DS_SETTLED,		/* decided and done (populated, or fault mode) */
	DS_MIGRATING_OUT,	/* outgoing migration: dirty logging, never populate */
	DS_GONE,		/* stopped or migrated away: forget */
};

enum ds_event {
	DE_STARTED_BOOTED,
	DE_STARTED_MIGRATED,
	DE_STARTED_OTHER,	/* restored, from snapshot, wakeup */
	DE_RESUMED,		/* unpaused (by someone else than the agent) */
	DE_RESUMED_MIGRATED,
	DE_RESUMED_POSTCOPY,
	DE_POSTCOPY_FAILED,	/* suspended or resumed with POSTCOPY_FAILED */
	DE_SUSPENDED,		/* paused by someone else than the agent */
	DE_SUSPENDED_MIGRATED,
	DE_STOPPED,		/* any reason but MIGRATED */
	DE_STOPPED_MIGRATED,
	DE_MIGRATION_ITERATION,
	DE_JOB_ENDED_HERE,	/* the watched migration job ended and the domain still runs here */
	DE_MEMORY_ADDED,
	DE_METADATA_CHANGED,
	DE_POPULATE_DONE,	/* the agent finished (or gave up) populating */
	DE_RESYNC_RUNNING,	/* found running at start-up or after a reconnect */
	DE_RESYNC_MIGRATING,	/* found with an active outgoing migration job */
	DE_COUNT
};

/* Actions, a bit mask: what the agent must do after a step. */
#define DA_DECIDE	(1u << 0)	/* decide, then populate if the decision says so */
#define DA_CANCEL	(1u << 1)	/* stop a populate in progress (resuming the guest) */
#define DA_WATCH_JOB	(1u << 2)	/* poll the migration job until it ends */
#define DA_FORGET	(1u << 3)
#define DA_FAULT_POSTCOPY (1u << 4)	/* record fault mode, reason postcopy */

enum ds_migration { DM_NONE, DM_PRECOPY, DM_POSTCOPY };

struct ds {
	enum ds_state state;
	enum ds_migration mig;	/* context for the next decision */
	bool decided_once;
	bool postcopy_failed;
};

void ds_init(struct ds *d);
/* Apply one event; returns DA_* actions. */
unsigned ds_step(struct ds *d, enum ds_event ev);
const char *ds_state_str(enum ds_state s);
const char *ds_event_str(enum ds_event e);

#endif
