// SPDX-License-Identifier: GPL-2.0-only
/* The agent's state machine, fed the exact event sequences libvirt 9.0 emits. */
#include <stdio.h>

#include <libvirt/libvirt.h>

#include "domstate.h"
#include "testutil.h"

struct stepx {
	enum ds_event ev;
	unsigned actions;
	enum ds_state state;
};

/* maps_unrun: the module's engine maps a VM whose vCPUs never ran */
static struct ds run(const char *name, const struct stepx *s, size_t n, enum ds_migration last_mig,
		     bool maps_unrun)
{
	struct ds d;

	ds_init(&d);
	for (size_t i = 0; i < n; i++) {
		unsigned a;

		d.maps_unrun = maps_unrun;
		a = ds_step(&d, s[i].ev);
		if (a != s[i].actions || d.state != s[i].state)
			fail_msg("%s, step %zu (%s): actions %#x state %s, want %#x %s", name, i,
				 ds_event_str(s[i].ev), a, ds_state_str(d.state), s[i].actions,
				 ds_state_str(s[i].state));
	}
	assert_int_equal(d.mig, last_mig);
	return d;
}

#define RUN(name, mig, ...) do { \
	const struct stepx s_[] = { __VA_ARGS__ }; \
	run(name, s_, sizeof(s_) / sizeof(s_[0]), mig, false); \
} while (0)
/* the same with the pre-fault engine; the final struct ds in d */
#define RUN_UNRUN(d, name, mig, ...) do { \
	const struct stepx s_[] = { __VA_ARGS__ }; \
	(d) = run(name, s_, sizeof(s_) / sizeof(s_[0]), mig, true); \
} while (0)

static void test_boot(void **state)
{
	(void)state;
	RUN("boot", DM_NONE,
	    { DE_STARTED_BOOTED, DA_DECIDE, DS_POPULATING },
	    { DE_POPULATE_DONE, 0, DS_SETTLED },
	    /* a settled guest keeps its tables while paused: nothing to do */
	    { DE_SUSPENDED, 0, DS_SETTLED },
	    { DE_RESUMED, 0, DS_SETTLED },
	    { DE_STOPPED, DA_FORGET, DS_GONE },
	    { DE_RESUMED, 0, DS_GONE });
	RUN("libvirt 9.0's order: resumed, then started/booted", DM_NONE,
	    { DE_RESUMED, DA_DECIDE, DS_POPULATING },
	    { DE_POPULATE_DONE, 0, DS_SETTLED },
	    { DE_STARTED_BOOTED, 0, DS_SETTLED });
	RUN("destroyed while populating", DM_NONE,
	    { DE_STARTED_BOOTED, DA_DECIDE, DS_POPULATING },
	    { DE_STOPPED, DA_FORGET | DA_CANCEL, DS_GONE });
}

/* A guest its owner paused is left alone; decided again once resumed. */
static void test_paused_by_owner(void **state)
{
	(void)state;
	/* virsh create --paused: libvirt 9.0 sends started/booted, then
	 * suspended/paused; the decision's own check finds it paused first */
	RUN("created paused: nothing until its owner resumes it", DM_NONE,
	    { DE_STARTED_BOOTED, DA_DECIDE, DS_POPULATING },
	    { DE_FOUND_PAUSED, DA_CANCEL, DS_PAUSED },
	    { DE_SUSPENDED, 0, DS_PAUSED },
	    { DE_METADATA_CHANGED, 0, DS_PAUSED },
	    { DE_POLICY_CHANGED, 0, DS_PAUSED },
	    { DE_MEMORY_ADDED, 0, DS_PAUSED },
	    { DE_RESUMED, DA_DECIDE, DS_POPULATING },
	    { DE_POPULATE_DONE, 0, DS_SETTLED });
	RUN("paused before anything was decided", DM_NONE,
	    { DE_SUSPENDED, 0, DS_PAUSED },
	    { DE_RESUMED, DA_DECIDE, DS_POPULATING });
	RUN("virsh suspend while populating: cancel, stay paused, decide on resume", DM_NONE,
	    { DE_STARTED_BOOTED, DA_DECIDE, DS_POPULATING },
	    { DE_SUSPENDED, DA_CANCEL, DS_PAUSED },
	    { DE_POPULATE_DONE, 0, DS_PAUSED },	/* a late report changes nothing */
	    { DE_SUSPENDED, 0, DS_PAUSED },
	    { DE_RESUMED, DA_DECIDE, DS_POPULATING },
	    { DE_POPULATE_DONE, 0, DS_SETTLED });
	RUN("a slice finds it paused before the event arrives", DM_NONE,
	    { DE_RESUMED, DA_DECIDE, DS_POPULATING },
	    { DE_FOUND_PAUSED, DA_CANCEL, DS_PAUSED },
	    { DE_SUSPENDED, 0, DS_PAUSED },
	    { DE_RESUMED, DA_DECIDE, DS_POPULATING });
	RUN("found paused at resync, resumed while we were away", DM_NONE,
	    { DE_FOUND_PAUSED, 0, DS_PAUSED },
	    { DE_RESYNC_RUNNING, DA_DECIDE, DS_POPULATING });
	RUN("pmsuspended or crashed (mapped to suspended), then woken", DM_NONE,
	    { DE_STARTED_BOOTED, DA_DECIDE, DS_POPULATING },
	    { DE_SUSPENDED, DA_CANCEL, DS_PAUSED },
	    { DE_STARTED_OTHER, DA_DECIDE, DS_POPULATING });
	RUN("paused while settled, then a metadata change: decided once resumed", DM_NONE,
	    { DE_STARTED_BOOTED, DA_DECIDE, DS_POPULATING },
	    { DE_POPULATE_DONE, 0, DS_SETTLED },
	    { DE_SUSPENDED, 0, DS_SETTLED },
	    { DE_METADATA_CHANGED, DA_DECIDE, DS_POPULATING },
	    { DE_FOUND_PAUSED, DA_CANCEL, DS_PAUSED },
	    { DE_RESUMED, DA_DECIDE, DS_POPULATING });
	RUN("virsh restore --paused", DM_NONE,
	    { DE_STARTED_OTHER, DA_DECIDE, DS_POPULATING },
	    { DE_FOUND_PAUSED, DA_CANCEL, DS_PAUSED },
	    { DE_SUSPENDED, 0, DS_PAUSED },
	    { DE_RESUMED, DA_DECIDE, DS_POPULATING });
}

/* Jobs of others: save, dump, snapshot; and reloads. */
static void test_jobs_and_reloads(void **state)
{
	(void)state;
	RUN("virsh save while populating", DM_NONE,
	    { DE_STARTED_BOOTED, DA_DECIDE, DS_POPULATING },
	    { DE_SUSPENDED, DA_CANCEL, DS_PAUSED },
	    { DE_MIGRATION_ITERATION, DA_WATCH_JOB, DS_MIGRATING_OUT },
	    { DE_JOB_ENDED_HERE, DA_DECIDE, DS_POPULATING },	/* job-completed, still here */
	    { DE_FOUND_PAUSED, DA_CANCEL, DS_PAUSED },	/* ... but paused */
	    { DE_STOPPED, DA_FORGET, DS_GONE });
	RUN("virsh dump of a settled guest: decided again after (dirty logging)", DM_NONE,
	    { DE_RESYNC_RUNNING, DA_DECIDE, DS_POPULATING },
	    { DE_POPULATE_DONE, 0, DS_SETTLED },
	    { DE_SUSPENDED, 0, DS_SETTLED },
	    { DE_MIGRATION_ITERATION, DA_WATCH_JOB, DS_MIGRATING_OUT },
	    { DE_RESUMED, 0, DS_MIGRATING_OUT },
	    { DE_JOB_ENDED_HERE, DA_DECIDE, DS_POPULATING });
	RUN("a slice finds another job (snapshot, backup)", DM_NONE,
	    { DE_STARTED_BOOTED, DA_DECIDE, DS_POPULATING },
	    { DE_JOB_FOUND, DA_WATCH_JOB | DA_CANCEL, DS_BUSY },
	    { DE_METADATA_CHANGED, 0, DS_BUSY },
	    { DE_POLICY_CHANGED, 0, DS_BUSY },
	    { DE_JOB_FOUND, 0, DS_BUSY },
	    { DE_JOB_ENDED_HERE, DA_DECIDE, DS_POPULATING });
	RUN("a slice finds an outgoing migration before its first iteration event", DM_NONE,
	    { DE_STARTED_BOOTED, DA_DECIDE, DS_POPULATING },
	    { DE_JOB_FOUND, DA_WATCH_JOB | DA_CANCEL, DS_BUSY },
	    { DE_MIGRATION_ITERATION, 0, DS_MIGRATING_OUT },	/* already watched */
	    { DE_SUSPENDED_MIGRATED, 0, DS_MIGRATING_OUT },
	    { DE_STOPPED_MIGRATED, DA_FORGET, DS_GONE });
	RUN("reloads: decided again while populating too (the new decision may stop it)", DM_NONE,
	    { DE_STARTED_BOOTED, DA_DECIDE, DS_POPULATING },
	    { DE_POLICY_CHANGED, DA_DECIDE, DS_POPULATING },
	    { DE_METADATA_CHANGED, DA_DECIDE, DS_POPULATING },
	    { DE_POPULATE_DONE, 0, DS_SETTLED },
	    { DE_POLICY_CHANGED, DA_DECIDE, DS_POPULATING });
}

static void test_precopy_in(void **state)
{
	(void)state;
	RUN("incoming pre-copy", DM_PRECOPY,
	    { DE_STARTED_MIGRATED, 0, DS_WAIT_INCOMING },
	    { DE_RESUMED_MIGRATED, DA_DECIDE, DS_POPULATING },
	    { DE_POPULATE_DONE, 0, DS_SETTLED });
	/* destination side of a cancelled pre-copy: started, then failed */
	RUN("incoming pre-copy cancelled", DM_PRECOPY,
	    { DE_STARTED_MIGRATED, 0, DS_WAIT_INCOMING },
	    { DE_STOPPED, DA_FORGET, DS_GONE });
	/* migrate --suspend: libvirt 9.0 sends the destination started/migrated,
	 * suspended/paused; its owner resumes it later */
	RUN("incoming pre-copy left paused", DM_PRECOPY,
	    { DE_STARTED_MIGRATED, 0, DS_WAIT_INCOMING },
	    { DE_SUSPENDED, 0, DS_PAUSED },
	    { DE_RESUMED, DA_DECIDE, DS_POPULATING });
}

/*
 * With the pre-fault engine a guest that arrives paused is decided at once
 * and populated while paused; what it maps survives the resume.  Anything
 * but the populate's own course or a new decision on the same facts ends
 * the permission.
 */
static void test_arrived_paused(void **state)
{
	struct ds d;

	(void)state;
	RUN_UNRUN(d, "arrived paused, populated, resumed", DM_PRECOPY,
		  { DE_STARTED_MIGRATED, 0, DS_WAIT_INCOMING },
		  { DE_SUSPENDED, DA_DECIDE, DS_POPULATING },
		  { DE_METADATA_CHANGED, DA_DECIDE, DS_POPULATING },
		  { DE_POPULATE_DONE, 0, DS_SETTLED },
		  { DE_MEMORY_ADDED, DA_DECIDE, DS_POPULATING },
		  { DE_POLICY_CHANGED, DA_DECIDE, DS_POPULATING },
		  { DE_POPULATE_DONE, 0, DS_SETTLED });
	assert_true(d.while_paused);
	RUN_UNRUN(d, "... and its owner resumes it: its tables stay", DM_PRECOPY,
		  { DE_STARTED_MIGRATED, 0, DS_WAIT_INCOMING },
		  { DE_SUSPENDED, DA_DECIDE, DS_POPULATING },
		  { DE_POPULATE_DONE, 0, DS_SETTLED },
		  { DE_RESUMED, 0, DS_SETTLED });
	assert_false(d.while_paused);
	RUN_UNRUN(d, "resumed while populating: goes on; paused again: cancelled", DM_PRECOPY,
		  { DE_STARTED_MIGRATED, 0, DS_WAIT_INCOMING },
		  { DE_SUSPENDED, DA_DECIDE, DS_POPULATING },
		  { DE_RESUMED, 0, DS_POPULATING },
		  { DE_SUSPENDED, DA_CANCEL, DS_PAUSED },
		  { DE_RESUMED, DA_DECIDE, DS_POPULATING });
	assert_false(d.while_paused);
	RUN_UNRUN(d, "migrated on while populating paused", DM_PRECOPY,
		  { DE_STARTED_MIGRATED, 0, DS_WAIT_INCOMING },
		  { DE_SUSPENDED, DA_DECIDE, DS_POPULATING },
		  { DE_MIGRATION_ITERATION, DA_WATCH_JOB | DA_CANCEL, DS_MIGRATING_OUT });
	assert_false(d.while_paused);
	/* also what domains.c steps when the populate was cut short while paused */
	RUN_UNRUN(d, "the check finds it paused otherwise", DM_PRECOPY,
		  { DE_STARTED_MIGRATED, 0, DS_WAIT_INCOMING },
		  { DE_SUSPENDED, DA_DECIDE, DS_POPULATING },
		  { DE_FOUND_PAUSED, DA_CANCEL, DS_PAUSED },
		  { DE_POLICY_CHANGED, 0, DS_PAUSED },
		  { DE_RESUMED, DA_DECIDE, DS_POPULATING });
	assert_false(d.while_paused);
	/* only an arrival: created paused, or paused by its owner, stays alone */
	RUN_UNRUN(d, "created paused, pre-fault engine", DM_NONE,
		  { DE_STARTED_BOOTED, DA_DECIDE, DS_POPULATING },
		  { DE_FOUND_PAUSED, DA_CANCEL, DS_PAUSED },
		  { DE_SUSPENDED, 0, DS_PAUSED });
	assert_false(d.while_paused);
	RUN_UNRUN(d, "paused while populating, pre-fault engine", DM_NONE,
		  { DE_STARTED_BOOTED, DA_DECIDE, DS_POPULATING },
		  { DE_SUSPENDED, DA_CANCEL, DS_PAUSED });
	assert_false(d.while_paused);
	RUN_UNRUN(d, "arrived live, pre-fault engine", DM_PRECOPY,
		  { DE_STARTED_MIGRATED, 0, DS_WAIT_INCOMING },
		  { DE_RESUMED_MIGRATED, DA_DECIDE, DS_POPULATING });
	assert_false(d.while_paused);
	RUN_UNRUN(d, "a post-copy's destination, pre-fault engine", DM_POSTCOPY,
		  { DE_STARTED_MIGRATED, 0, DS_WAIT_INCOMING },
		  { DE_RESUMED_POSTCOPY, DA_FAULT_POSTCOPY, DS_POSTCOPY });
	assert_false(d.while_paused);
}

static void test_precopy_out(void **state)
{
	(void)state;
	RUN("outgoing pre-copy success", DM_NONE,
	    { DE_STARTED_BOOTED, DA_DECIDE, DS_POPULATING },
	    { DE_POPULATE_DONE, 0, DS_SETTLED },
	    { DE_MIGRATION_ITERATION, DA_WATCH_JOB, DS_MIGRATING_OUT },
	    { DE_MIGRATION_ITERATION, 0, DS_MIGRATING_OUT },
	    { DE_SUSPENDED_MIGRATED, 0, DS_MIGRATING_OUT },
	    { DE_STOPPED_MIGRATED, DA_FORGET, DS_GONE });
	/* libvirt 9.0 emits nothing on the source when pre-copy is cancelled:
	 * the job watch sees the job end with the domain still here */
	RUN("outgoing pre-copy cancelled", DM_NONE,
	    { DE_STARTED_BOOTED, DA_DECIDE, DS_POPULATING },
	    { DE_POPULATE_DONE, 0, DS_SETTLED },
	    { DE_MIGRATION_ITERATION, DA_WATCH_JOB, DS_MIGRATING_OUT },
	    { DE_MIGRATION_ITERATION, 0, DS_MIGRATING_OUT },
	    { DE_JOB_ENDED_HERE, DA_DECIDE, DS_POPULATING });
	RUN("migration starts while populating", DM_NONE,
	    { DE_STARTED_BOOTED, DA_DECIDE, DS_POPULATING },
	    { DE_MIGRATION_ITERATION, DA_WATCH_JOB | DA_CANCEL, DS_MIGRATING_OUT },
	    { DE_POPULATE_DONE, 0, DS_MIGRATING_OUT },
	    { DE_METADATA_CHANGED, 0, DS_MIGRATING_OUT },	/* never while migrating */
	    { DE_MEMORY_ADDED, 0, DS_MIGRATING_OUT });
	RUN("migrating at resync: decided, the slice's check finds the job", DM_NONE,
	    { DE_RESYNC_RUNNING, DA_DECIDE, DS_POPULATING },
	    { DE_JOB_FOUND, DA_WATCH_JOB | DA_CANCEL, DS_BUSY },
	    { DE_JOB_ENDED_HERE, DA_DECIDE, DS_POPULATING });
}

static void test_postcopy(void **state)
{
	(void)state;
	RUN("incoming post-copy success", DM_PRECOPY,
	    { DE_STARTED_MIGRATED, 0, DS_WAIT_INCOMING },
	    { DE_RESUMED_POSTCOPY, DA_FAULT_POSTCOPY, DS_POSTCOPY },
	    { DE_METADATA_CHANGED, 0, DS_POSTCOPY },	/* not while post-copy runs */
	    { DE_RESUMED_MIGRATED, DA_DECIDE, DS_POPULATING });
	RUN("incoming post-copy failure", DM_POSTCOPY,
	    { DE_STARTED_MIGRATED, 0, DS_WAIT_INCOMING },
	    { DE_RESUMED_POSTCOPY, DA_FAULT_POSTCOPY, DS_POSTCOPY },
	    { DE_POSTCOPY_FAILED, DA_FAULT_POSTCOPY, DS_SETTLED });
	/* prepopd (re)started during it: resync reads libvirt's state reason,
	 * since libvirt refuses job queries on the destination */
	RUN("found in post-copy at resync, completed while away", DM_NONE,
	    { DE_RESUMED_POSTCOPY, DA_FAULT_POSTCOPY, DS_POSTCOPY },
	    { DE_RESYNC_RUNNING, DA_DECIDE, DS_POPULATING });
	RUN("found in a failed post-copy at resync, again at the next", DM_POSTCOPY,
	    { DE_POSTCOPY_FAILED, DA_FAULT_POSTCOPY, DS_SETTLED },
	    { DE_POSTCOPY_FAILED, 0, DS_SETTLED });	/* nothing decided twice */
	RUN("found in post-copy at two resyncs", DM_POSTCOPY,
	    { DE_RESUMED_POSTCOPY, DA_FAULT_POSTCOPY, DS_POSTCOPY },
	    { DE_RESUMED_POSTCOPY, 0, DS_POSTCOPY });
	RUN("a failed post-copy recovered while we were away", DM_NONE,
	    { DE_POSTCOPY_FAILED, DA_FAULT_POSTCOPY, DS_SETTLED },
	    { DE_RESYNC_RUNNING, DA_DECIDE, DS_POPULATING });
	RUN("a failed post-copy recovered (--postcopy-resume)", DM_PRECOPY,
	    { DE_STARTED_MIGRATED, 0, DS_WAIT_INCOMING },
	    { DE_RESUMED_POSTCOPY, DA_FAULT_POSTCOPY, DS_POSTCOPY },
	    { DE_POSTCOPY_FAILED, DA_FAULT_POSTCOPY, DS_SETTLED },
	    { DE_RESUMED_POSTCOPY, DA_FAULT_POSTCOPY, DS_POSTCOPY },
	    { DE_RESUMED_MIGRATED, DA_DECIDE, DS_POPULATING });
	RUN("decided, then found in post-copy (resumed by its owner)", DM_POSTCOPY,
	    { DE_RESUMED, DA_DECIDE, DS_POPULATING },
	    { DE_RESUMED_POSTCOPY, DA_CANCEL | DA_FAULT_POSTCOPY, DS_POSTCOPY });
	RUN("outgoing post-copy", DM_NONE,
	    { DE_RESYNC_RUNNING, DA_DECIDE, DS_POPULATING },
	    { DE_POPULATE_DONE, 0, DS_SETTLED },
	    { DE_MIGRATION_ITERATION, DA_WATCH_JOB, DS_MIGRATING_OUT },
	    { DE_RESUMED_POSTCOPY, 0, DS_MIGRATING_OUT },
	    { DE_STOPPED_MIGRATED, DA_FORGET, DS_GONE });
}

static void test_changes(void **state)
{
	(void)state;
	RUN("memory added and resized", DM_NONE,
	    { DE_STARTED_BOOTED, DA_DECIDE, DS_POPULATING },
	    { DE_MEMORY_ADDED, 0, DS_POPULATING },	/* the running populate covers it */
	    { DE_POPULATE_DONE, 0, DS_SETTLED },
	    { DE_MEMORY_ADDED, DA_DECIDE, DS_POPULATING },
	    { DE_POPULATE_DONE, 0, DS_SETTLED },
	    { DE_METADATA_CHANGED, DA_DECIDE, DS_POPULATING });
	RUN("resync after a reconnect", DM_NONE,
	    { DE_RESYNC_RUNNING, DA_DECIDE, DS_POPULATING },
	    { DE_POPULATE_DONE, 0, DS_SETTLED },
	    { DE_RESYNC_RUNNING, 0, DS_SETTLED });
}

/* libvirt's state and reason, as resync and a decision read them */
static void test_state_event(void **state)
{
	(void)state;
	assert_int_equal(ds_state_event(VIR_DOMAIN_RUNNING, VIR_DOMAIN_RUNNING_BOOTED), DE_RESYNC_RUNNING);
	assert_int_equal(ds_state_event(VIR_DOMAIN_RUNNING, VIR_DOMAIN_RUNNING_MIGRATED), DE_RESYNC_RUNNING);
	assert_int_equal(ds_state_event(VIR_DOMAIN_RUNNING, VIR_DOMAIN_RUNNING_POSTCOPY), DE_RESUMED_POSTCOPY);
	assert_int_equal(ds_state_event(VIR_DOMAIN_RUNNING, VIR_DOMAIN_RUNNING_POSTCOPY_FAILED),
			 DE_POSTCOPY_FAILED);
	/* a post-copy's source is paused, failed or not; so is a destination before its switch-over */
	assert_int_equal(ds_state_event(VIR_DOMAIN_PAUSED, VIR_DOMAIN_PAUSED_POSTCOPY), DE_FOUND_PAUSED);
	assert_int_equal(ds_state_event(VIR_DOMAIN_PAUSED, VIR_DOMAIN_PAUSED_POSTCOPY_FAILED), DE_FOUND_PAUSED);
	assert_int_equal(ds_state_event(VIR_DOMAIN_PAUSED, VIR_DOMAIN_PAUSED_MIGRATION), DE_FOUND_PAUSED);
	assert_int_equal(ds_state_event(VIR_DOMAIN_PAUSED, VIR_DOMAIN_PAUSED_USER), DE_FOUND_PAUSED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_boot),
		cmocka_unit_test(test_paused_by_owner),
		cmocka_unit_test(test_jobs_and_reloads),
		cmocka_unit_test(test_precopy_in),
		cmocka_unit_test(test_arrived_paused),
		cmocka_unit_test(test_precopy_out),
		cmocka_unit_test(test_postcopy),
		cmocka_unit_test(test_changes),
		cmocka_unit_test(test_state_event),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
