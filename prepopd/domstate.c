// SPDX-License-Identifier: GPL-2.0-only
#include <string.h>

#include <libvirt/libvirt.h>

#include "domstate.h"

static const char *const state_names[] = {
	[DS_NEW] = "new",
	[DS_WAIT_INCOMING] = "wait-incoming",
	[DS_POSTCOPY] = "postcopy",
	[DS_POPULATING] = "populating",
	[DS_SETTLED] = "settled",
	[DS_PAUSED] = "paused",
	[DS_MIGRATING_OUT] = "migrating-out",
	[DS_BUSY] = "busy",
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
	[DE_JOB_FOUND] = "job-found",
	[DE_JOB_ENDED_HERE] = "job-ended-here",
	[DE_FOUND_PAUSED] = "found-paused",
	[DE_MEMORY_ADDED] = "memory-added",
	[DE_METADATA_CHANGED] = "metadata-changed",
	[DE_POLICY_CHANGED] = "policy-changed",
	[DE_POPULATE_DONE] = "populate-done",
	[DE_RESYNC_RUNNING] = "resync-running",
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

/* Decide again in the context so far: a post-copy that completed is over. */
static unsigned redecide(struct ds *d)
{
	return decide(d, d->mig == DM_POSTCOPY && !d->postcopy_failed ? DM_NONE : d->mig);
}

/* Someone else's job holds the guest: never populate; watch the job. */
static unsigned enter_job(struct ds *d, enum ds_state to)
{
	unsigned a = d->state == DS_POPULATING ? DA_CANCEL : 0;

	if (d->state == DS_MIGRATING_OUT || d->state == DS_BUSY) {
		/* already watched; an outgoing migration says so by event later */
		if (to == DS_MIGRATING_OUT)
			d->state = to;
		return 0;
	}
	d->state = to;
	return a | DA_WATCH_JOB;
}

unsigned ds_step(struct ds *d, enum ds_event ev)
{
	bool out = d->state == DS_MIGRATING_OUT || d->state == DS_BUSY;

	if (d->state == DS_GONE)
		return 0;
	/* what keeps an arrival's populate-while-paused: its populate running
	 * or ending, a decision again on the same facts */
	if (ev != DE_POPULATE_DONE && ev != DE_METADATA_CHANGED && ev != DE_POLICY_CHANGED &&
	    ev != DE_MEMORY_ADDED && ev != DE_SUSPENDED)
		d->while_paused = false;
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
		if (out)
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
	case DE_RESUMED_POSTCOPY: {
		/* arriving by post-copy, or a failed one recovering */
		unsigned a = d->state == DS_POPULATING ? DA_CANCEL : 0;

		if (out || (d->state == DS_POSTCOPY && !d->postcopy_failed))
			return 0;	/* the source's, or known already (a resync) */
		d->state = DS_POSTCOPY;
		d->mig = DM_POSTCOPY;
		d->postcopy_failed = false;
		d->decided_once = true;
		return a | DA_FAULT_POSTCOPY;
	}
	case DE_POSTCOPY_FAILED: {
		unsigned a = d->state == DS_POPULATING ? DA_CANCEL : 0;

		if (d->postcopy_failed && d->state == DS_SETTLED)
			return 0;	/* known already (a resync) */
		d->postcopy_failed = true;
		d->mig = DM_POSTCOPY;
		if (out)
			return 0;
		d->state = DS_SETTLED;
		return a | DA_FAULT_POSTCOPY;
	}
	case DE_RESUMED:
		/* its owner resumed it: decide what was not decided while paused */
		if (d->state == DS_PAUSED || d->state == DS_WAIT_INCOMING)
			return redecide(d);
		/* the first RESUMED of a domain never decided */
		if (d->state == DS_NEW && !d->decided_once)
			return decide(d, DM_NONE);
		return 0;	/* a settled guest kept its tables while paused */
	case DE_SUSPENDED:
		/*
		 * an incoming migration completed paused (--suspend, or the
		 * source was paused): its tables can be built before its
		 * owner first runs it, where the module needs no vCPU to have
		 * run; what is mapped now survives the resume
		 */
		if (d->state == DS_WAIT_INCOMING && d->maps_unrun) {
			d->while_paused = true;
			return decide(d, DM_PRECOPY);
		}
		d->while_paused = false;
		/* fall through */
	case DE_FOUND_PAUSED:
		if (d->state == DS_POPULATING) {
			d->state = DS_PAUSED;
			return DA_CANCEL;	/* after the slice in flight */
		}
		/* not yet decided (an incoming migration with --suspend, too) */
		if (d->state == DS_NEW || d->state == DS_WAIT_INCOMING)
			d->state = DS_PAUSED;
		return 0;
	case DE_SUSPENDED_MIGRATED:
	case DE_MIGRATION_ITERATION:
		return enter_job(d, DS_MIGRATING_OUT);	/* dirty logging is on */
	case DE_JOB_FOUND:
		return enter_job(d, DS_BUSY);
	case DE_JOB_ENDED_HERE:
		/* still here: the job failed or was not a migration; after dirty
		 * logging KVM has zapped the huge mappings */
		if (!out)
			return 0;
		return decide(d, DM_NONE);
	case DE_MEMORY_ADDED:
		if (d->state == DS_SETTLED || d->state == DS_NEW)
			return redecide(d);
		return 0;	/* a populate in progress covers it */
	case DE_METADATA_CHANGED:
	case DE_POLICY_CHANGED:
		/* also while populating: the new decision may stop it */
		if (d->state == DS_SETTLED || d->state == DS_NEW || d->state == DS_POPULATING)
			return redecide(d);
		return 0;	/* paused, or busy: decided once it runs free again */
	case DE_POPULATE_DONE:
		if (d->state == DS_POPULATING)
			d->state = DS_SETTLED;
		return 0;
	case DE_RESYNC_RUNNING:
		if (d->state == DS_NEW || d->state == DS_WAIT_INCOMING)
			return decide(d, DM_NONE);
		/*
		 * running, and libvirt says neither post-copy nor a failed one:
		 * it completed (or was recovered) while we were away
		 */
		if (d->mig == DM_POSTCOPY && (d->state == DS_POSTCOPY || d->state == DS_SETTLED)) {
			d->postcopy_failed = false;
			return decide(d, DM_NONE);
		}
		if (d->state == DS_PAUSED)	/* resumed while we were away */
			return redecide(d);
		return 0;
	case DE_COUNT:
		break;
	}
	return 0;
}

enum ds_event ds_state_event(int state, int reason)
{
	if (state != VIR_DOMAIN_RUNNING)
		return DE_FOUND_PAUSED;
	if (reason == VIR_DOMAIN_RUNNING_POSTCOPY)
		return DE_RESUMED_POSTCOPY;
	if (reason == VIR_DOMAIN_RUNNING_POSTCOPY_FAILED)
		return DE_POSTCOPY_FAILED;
	return DE_RESYNC_RUNNING;
}
