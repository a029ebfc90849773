// SPDX-License-Identifier: GPL-2.0-only
#include <string.h>

#include "domstate.h"

static const char *const state_names[] = {
	[DS_NEW] = "new",
	[DS_WAIT_INCOMING] = "wait-incoming",
	[DS_POSTCOPY] = "postcopy",
	[DS_POPULATING] = "populating",
	[DS_SETTLED] = "settled",
	[DS_MIGRATING_OUT] = "migrating-out",
	[DS_GONE] = "gone",
};

static const char *const event_names[DE_COUNT] = {
	[DE_STARTED_BOOTED] = "started/booted",
	[DE_STARTED_MIGRATED] = "started/migrated",
	[DE_STARTED_OTHER] = "started/other",
	[DE_RESUMED] = "resumed",
	[DE_RESUMED_MIGRATED] = "resumed/migrated",
	[DE_RESUMED_POSTCOPY] = "resumed/postcopy",
	[DE_POSTCOPY_FAILED] = "postcopy-failed",
	[DE_SUSPENDED] = "suspended",
	[DE_SUSPENDED_MIGRATED] = "suspended/migrated",
	[DE_STOPPED] = "stopped",
	[DE_STOPPED_MIGRATED] = "stopped/migrated",
	[DE_MIGRATION_ITERATION] = "migration-iteration",
	[DE_JOB_ENDED_HERE] = "job-ended-here",
	[DE_MEMORY_ADDED] = "memory-added",
	[DE_METADATA_CHANGED] = "metadata-changed",
	[DE_POPULATE_DONE] = "populate-done",
	[DE_RESYNC_RUNNING] = "resync-running",
	[DE_RESYNC_MIGRATING] = "resync-migrating",
};

const char *ds_state_str(enum ds_state s)
{
	return state_names[s];
}

const char *ds_event_str(enum ds_event e)
{
	return e < DE_COUNT ? event_names[e] : "?";
}

void ds_init(struct ds *d)
{
	memset(d, 0, sizeof(*d));
}

static unsigned decide(struct ds *d, enum ds_migration mig)
{
	d->state = DS_POPULATING;
	d->mig = mig;
	d->decided_once = true;
	return DA_DECIDE;
}

unsigned ds_step(struct ds *d, enum ds_event ev)
{
	bool out = d->state == DS_MIGRATING_OUT;

	if (d->state == DS_GONE)
		return 0;
	switch (ev) {
	case DE_STOPPED:
	case DE_STOPPED_MIGRATED: {
		unsigned a = DA_FORGET | (d->state == DS_POPULATING ? DA_CANCEL : 0);

		d->state = DS_GONE;
		return a;
	}
	case DE_STARTED_BOOTED:
	case DE_STARTED_OTHER:
		/* libvirt 9.0 sends RESUMED/UNPAUSED before STARTED/BOOTED */
		if (d->decided_once && (d->state == DS_POPULATING || d->state == DS_SETTLED))
			return 0;
		return decide(d, DM_NONE);
	case DE_STARTED_MIGRATED:
		/* paused, and its vCPUs have no stage-2 roots until it resumes */
		d->state = DS_WAIT_INCOMING;
		d->mig = DM_PRECOPY;
		return 0;
	case DE_RESUMED_MIGRATED:
		if (out)	/* a failed outgoing migration resumed us: see the job */
			return 0;
		return decide(d, DM_PRECOPY);
	case DE_RESUMED_POSTCOPY:
		if (out)
			return 0;
		d->state = DS_POSTCOPY;
		d->mig = DM_POSTCOPY;
		d->decided_once = true;
		return DA_FAULT_POSTCOPY;
	case DE_POSTCOPY_FAILED:
		d->postcopy_failed = true;
		d->mig = DM_POSTCOPY;
		if (out)
			return 0;
		d->state = DS_SETTLED;
		return DA_FAULT_POSTCOPY;
	case DE_RESUMED:
		/* the first RESUMED of a domain never decided (started paused) */
		if (d->state == DS_NEW && !d->decided_once)
			return decide(d, DM_NONE);
		return 0;
	case DE_SUSPENDED:
		return 0;
	case DE_SUSPENDED_MIGRATED:
	case DE_MIGRATION_ITERATION:
	case DE_RESYNC_MIGRATING: {
		unsigned a = DA_WATCH_JOB;

		if (d->state == DS_POPULATING)
			a |= DA_CANCEL;	/* dirty logging is on: never populate now */
		if (out)
			return 0;
		d->state = DS_MIGRATING_OUT;
		return a;
	}
	case DE_JOB_ENDED_HERE:
		/* still running here: the migration failed, and KVM zapped the
		 * huge mappings when dirty logging stopped */
		if (!out)
			return 0;
		return decide(d, DM_NONE);
	case DE_MEMORY_ADDED:
	case DE_METADATA_CHANGED:
		if (d->state == DS_SETTLED || d->state == DS_NEW)
			return decide(d, d->mig == DM_POSTCOPY && !d->postcopy_failed ?
					 DM_NONE : d->mig);
		return 0;
	case DE_POPULATE_DONE:
		if (d->state == DS_POPULATING)
			d->state = DS_SETTLED;
		return 0;
	case DE_RESYNC_RUNNING:
		if (d->state == DS_NEW || d->state == DS_WAIT_INCOMING)
			return decide(d, DM_NONE);
		return 0;
	case DE_COUNT:
		break;
	}
	return 0;
}
