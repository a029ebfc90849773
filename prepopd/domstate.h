/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The per-domain state machine (docs/agent.md): libvirt events in, actions
 * out.  Pure: no libvirt, no I/O, so every event sequence is unit-tested.
 *
 * prepopd never pauses or resumes a guest, so every SUSPENDED and RESUMED
 * is someone else's.  A guest its owner has paused is left alone: no
 * populate while it is paused (a populate in progress stops after its
 * slice in flight), and once its owner resumes it, it is decided again.
 * One exception: a guest that arrives paused (an incoming migration that
 * completed paused: --suspend, or a source that was paused) is decided at
 * once and may be populated while paused, if the module maps a VM whose
 * vCPUs never ran (the pre-fault engine); nothing is held, its run state
 * stays its owner's.
 */
#ifndef PREPOP_DOMSTATE_H
#define PREPOP_DOMSTATE_H

#include <stdbool.h>

enum ds_state {
	DS_NEW,			/* known, nothing decided yet */
	DS_WAIT_INCOMING,	/* incoming migration: paused, no stage-2 roots yet */
	DS_POSTCOPY,		/* incoming post-copy running: fault mode */
	DS_POPULATING,		/* decided to populate: waiting, queued or in slices */
	DS_SETTLED,		/* decided and done (populated, or fault mode) */
	DS_PAUSED,		/* paused by its owner before it was populated: decide once resumed */
	DS_MIGRATING_OUT,	/* outgoing migration (or a save or dump, which libvirt runs
				 * as one): dirty logging, never populate; the job is watched */
	DS_BUSY,		/* another libvirt job found running (snapshot, backup, ...):
				 * never populate; the job is watched */
	DS_GONE,		/* stopped or migrated away: forget */
};

enum ds_event {
	DE_STARTED_BOOTED,
	DE_STARTED_MIGRATED,
	DE_STARTED_OTHER,	/* restored, from snapshot, wakeup */
	DE_RESUMED,		/* its owner resumed it */
	DE_RESUMED_MIGRATED,
	DE_RESUMED_POSTCOPY,
	DE_POSTCOPY_FAILED,	/* suspended or resumed with POSTCOPY_FAILED */
	DE_SUSPENDED,		/* its owner paused it (or it crashed, or the guest suspended itself) */
	DE_SUSPENDED_MIGRATED,
	DE_STOPPED,		/* any reason but MIGRATED */
	DE_STOPPED_MIGRATED,
	DE_MIGRATION_ITERATION,	/* also for a save or a dump: libvirt runs them as migrations */
	DE_JOB_FOUND,		/* a check found another libvirt job running */
	DE_JOB_ENDED_HERE,	/* the watched job ended and the domain still runs here */
	DE_FOUND_PAUSED,	/* a check (decide, slice, resync) found it not running */
	DE_MEMORY_ADDED,
	DE_METADATA_CHANGED,
	DE_POLICY_CHANGED,	/* a reload */
	DE_POPULATE_DONE,	/* the populate ended (done, budget, error), or none was started */
	DE_RESYNC_RUNNING,	/* found running at start-up or after a reconnect */
	DE_COUNT
};

/* Actions, a bit mask: what the agent must do after a step. */
#define DA_DECIDE	(1u << 0)	/* decide, then populate if the decision says so (a
					 * populate in progress is kept if it still does, else
					 * cancelled) */
#define DA_CANCEL	(1u << 1)	/* stop the populate in progress after its slice in flight */
#define DA_WATCH_JOB	(1u << 2)	/* poll the libvirt job until it ends */
#define DA_FORGET	(1u << 3)
#define DA_FAULT_POSTCOPY (1u << 4)	/* record fault mode, reason postcopy */

enum ds_migration { DM_NONE, DM_PRECOPY, DM_POSTCOPY };

struct ds {
	enum ds_state state;
	enum ds_migration mig;	/* context for the next decision */
	bool decided_once;
	bool postcopy_failed;
	/* in, set by the caller: the module maps a VM none of whose vCPUs has
	 * run (KVM_PRE_FAULT_MEMORY loads the MMU root itself) */
	bool maps_unrun;
	/* out: it arrived paused and was decided so: its populate may run
	 * while it stays paused by its owner; cleared once anyone else acts */
	bool while_paused;
};

void ds_init(struct ds *d);
/* Apply one event; returns DA_* actions. */
unsigned ds_step(struct ds *d, enum ds_event ev);
/*
 * A domain found in a state (virDomainState) with a reason, at resync or
 * before a decision: running (DE_RESYNC_RUNNING), running in an incoming
 * post-copy (DE_RESUMED_POSTCOPY) or a failed one (DE_POSTCOPY_FAILED), or
 * not running (DE_FOUND_PAUSED).  libvirt refuses job queries on a
 * migration's destination: the reason is what tells a post-copy.
 */
enum ds_event ds_state_event(int state, int reason);
const char *ds_state_str(enum ds_state s);
const char *ds_event_str(enum ds_event e);

#endif
