// SPDX-License-Identifier: GPL-2.0-only
/* The domains prepopd knows, their state machines, decisions and actions. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "clock.h"
#include "domxml.h"
#include "hostprobe.h"
#include "log.h"
#include "prepop/xalloc.h"
#include "qemu.h"

struct adom *dom_find(struct agent *a, const char *uuid)
{
	for (struct adom *d = a->doms; d; d = d->next)
		if (!strcmp(d->uuid, uuid))
			return d;
	return NULL;
}

static struct adom *dom_get(struct agent *a, virDomainPtr vd)
{
	char uuid[VIR_UUID_STRING_BUFLEN];
	struct adom *d;

	if (virDomainGetUUIDString(vd, uuid) < 0)
		return NULL;
	d = dom_find(a, uuid);
	if (d)
		return d;
	d = xcalloc(1, sizeof(*d));
	memcpy(d->uuid, uuid, sizeof(uuid));
	d->agent = a;
	d->name = xstrdup(virDomainGetName(vd));
	ds_init(&d->sm);
	d->next = a->doms;
	a->doms = d;
	a->ndoms++;
	return d;
}

static void dom_free(struct adom *d, const char *why)
{
	driver_cancel(d, POP_STOPPED, why);
	if (d->job_timer)
		event_free(d->job_timer);
	free(d->name);
	free(d->flavor);
	free(d->error);
	free(d);
}

static void dom_forget(struct agent *a, struct adom *gone, const char *why)
{
	for (struct adom **p = &a->doms; *p; p = &(*p)->next) {
		if (*p == gone) {
			*p = gone->next;
			a->ndoms--;
			log_dom(LOG_INFO, gone->name, gone->uuid, NULL, NULL, "forgotten: %s", why);
			dom_free(gone, why);
			return;
		}
	}
}

void dom_forget_all(struct agent *a)
{
	while (a->doms) {
		struct adom *d = a->doms;

		a->doms = d->next;
		dom_free(d, "prepopd is stopping");
	}
	a->ndoms = 0;
}

static enum pp_migration mig_of(const struct ds *s)
{
	return s->mig == DM_POSTCOPY ? PP_MIG_POSTCOPY :
	       s->mig == DM_PRECOPY ? PP_MIG_PRECOPY : PP_MIG_NONE;
}

static void set_error(struct adom *d, const char *msg)
{
	free(d->error);
	d->error = msg ? xstrdup(msg) : NULL;
}

/* Host facts for the overcommit fallback: the file's, /proc/meminfo, and the guests'. */
static void host_facts(struct agent *a, struct pp_host *h)
{
	*h = a->host;	/* shallow: a->host owns the strings */
	h->guest_memory_bytes = 0;
	for (struct adom *d = a->doms; d; d = d->next)
		h->guest_memory_bytes += d->memory_bytes;
	pp_host_probe(h, "/proc/meminfo");
}

/* Decide; true if the agent should populate now (with *params). */
static bool decide(struct agent *a, struct adom *d, virDomainPtr vd, struct pp_params *params)
{
	struct pp_errs errs = { 0 };
	struct pp_domain facts;
	struct pp_decision dec;
	struct pp_host h;
	char *xml = virDomainGetXMLDesc(vd, 0);

	d->decisions++;
	if (!xml) {
		set_error(d, "cannot read the domain XML");
		log_dom(LOG_WARNING, d->name, d->uuid, NULL, NULL, "cannot read the domain XML");
		return false;
	}
	if (pp_domain_parse(xml, strlen(xml), d->name, &facts, &errs) < 0) {
		char msg[512];

		snprintf(msg, sizeof(msg), "%s%s", errs.n ? errs.v[0].path ? errs.v[0].path : "" : "",
			 errs.n ? errs.v[0].msg : "invalid domain XML");
		set_error(d, msg);
		log_dom(LOG_WARNING, d->name, d->uuid, NULL, NULL, "cannot classify: %s", msg);
		pp_errs_free(&errs);
		free(xml);
		return false;
	}
	free(xml);
	set_error(d, NULL);
	d->memory_bytes = facts.memory_bytes;
	host_facts(a, &h);
	pp_decide(a->policy, &facts, &h, mig_of(&d->sm), &dec);
	d->decided = true;
	d->mode = dec.mode;
	d->reason = dec.reason;
	d->dry_run = dec.dry_run;
	snprintf(d->explanation, sizeof(d->explanation), "%s", dec.explanation);
	free(d->flavor);
	d->flavor = dec.flavor ? xstrdup(dec.flavor->name) : NULL;
	log_dom(LOG_INFO, d->name, d->uuid, pp_mode_str(dec.mode), pp_reason_str(dec.reason),
		"%s (%s): %s%s%s", pp_mode_str(dec.mode), pp_reason_str(dec.reason),
		dec.explanation, dec.dry_run ? " [dry run]" : "",
		dec.mode == PP_MODE_PREPOPULATE && agent_observe_only(a) ? " [observe-only]" : "");
	pp_domain_free(&facts);
	*params = dec.params;
	return dec.mode == PP_MODE_PREPOPULATE && !dec.dry_run && !agent_observe_only(a);
}

/* Find the guest's QEMU and its VM fd, and start the populate. */
static void start_populate(struct agent *a, struct adom *d, const struct pp_params *params,
			   unsigned delay_ms)
{
	char msg[160];
	pid_t pid;
	int r, fd;

	r = qemu_find(d->name, d->uuid, &pid);
	if (r == 0) {
		fd = qemu_vm_fd(pid);
		r = fd < 0 ? fd : driver_start(a, d, fd, params, delay_ms);
	}
	if (r == 0)
		return;
	snprintf(msg, sizeof(msg), "cannot populate: %s", strerror(-r));
	set_error(d, msg);
	log_dom(LOG_WARNING, d->name, d->uuid, NULL, NULL, "%s", msg);
}

static bool running_now(virDomainPtr vd)
{
	int state, reason;

	return virDomainGetState(vd, &state, &reason, 0) < 0 || state == VIR_DOMAIN_RUNNING;
}

static void cancel(struct adom *d, enum ds_event ev)
{
	switch (ev) {
	case DE_SUSPENDED:
		return driver_cancel(d, POP_PAUSED, "its owner paused it");
	case DE_FOUND_PAUSED:
		return driver_cancel(d, POP_PAUSED, "found paused by its owner");
	case DE_SUSPENDED_MIGRATED:
	case DE_MIGRATION_ITERATION:
		return driver_cancel(d, POP_MIGRATING,
				     "an outgoing migration (or a save or dump) began");
	case DE_JOB_FOUND:
		return driver_cancel(d, POP_JOB, "another libvirt job began");
	default:
		return driver_cancel(d, POP_STOPPED, "the guest stopped or left");
	}
}

static void act_decide(struct agent *a, struct adom *d, virDomainPtr vd, enum ds_event ev)
{
	struct pp_params params;
	bool boot = ev == DE_STARTED_BOOTED || ev == DE_STARTED_OTHER || ev == DE_RESUMED;
	bool pop;

	if (!running_now(vd)) {
		/* paused (started paused, restored paused, ...): its owner's; decided
		 * once it is resumed */
		if (ds_step(&d->sm, DE_FOUND_PAUSED) & DA_CANCEL)
			cancel(d, DE_FOUND_PAUSED);
		log_dom(LOG_INFO, d->name, d->uuid, NULL, NULL,
			"paused by its owner: left alone, decided once it is resumed");
		return;
	}
	pop = decide(a, d, vd, &params);
	if (pop && !d->job)
		start_populate(a, d, &params, boot ? params.pop.boot_delay_ms : 0);
	else if (!pop && d->job)
		driver_cancel(d, POP_POLICY, "the new decision does not populate this guest");
	if (!d->job)
		ds_step(&d->sm, DE_POPULATE_DONE);
}

/* Carry out a step's actions.  vd may be NULL: looked up if a decision needs it. */
static void apply(struct agent *a, struct adom *d, virDomainPtr vd, enum ds_event ev,
		  unsigned act)
{
	if (act & DA_CANCEL)
		cancel(d, ev);
	if (act & DA_FORGET) {
		dom_forget(a, d, ev == DE_STOPPED_MIGRATED ? "migrated away" : "stopped");
		return;
	}
	if (act & DA_WATCH_JOB) {
		log_dom(LOG_INFO, d->name, d->uuid, NULL, NULL,
			"%s: never populate now; watching the job",
			ev == DE_JOB_FOUND ? "another libvirt job is running" :
			"an outgoing migration (or a save or dump) is running");
		jobwatch_start(a, d);
	}
	if (act & DA_FAULT_POSTCOPY) {
		d->decided = true;
		d->mode = PP_MODE_FAULT;
		d->reason = PP_R_POSTCOPY;
		snprintf(d->explanation, sizeof(d->explanation), "%s",
			 d->sm.postcopy_failed ?
			 "post-copy migration failed: staying in fault mode" :
			 "post-copy migration is running: guest pages arrive through userfaultfd faults");
		log_dom(LOG_INFO, d->name, d->uuid, "fault", "postcopy", "%s", d->explanation);
	}
	if (act & DA_DECIDE) {
		virDomainPtr own = NULL;

		if (!vd && a->connected)
			vd = own = virDomainLookupByUUIDString(a->conn, d->uuid);
		if (vd) {
			d->undecided = false;
			act_decide(a, d, vd, ev);
		} else {
			/*
			 * libvirt cannot be asked (disconnected, or the guest is
			 * gone: its event forgets it).  Stopping a populate never
			 * harms a guest, and a reload may have turned populating
			 * off: stop it, and decide again at the next resync.
			 */
			driver_cancel(d, POP_POLICY, "libvirt could not be asked for a new decision");
			d->undecided = true;
			ds_step(&d->sm, DE_POPULATE_DONE);
		}
		if (own)
			virDomainFree(own);
	}
}

static void step(struct agent *a, struct adom *d, virDomainPtr vd, enum ds_event ev)
{
	uint64_t t0 = mono_ns();
	unsigned act = ds_step(&d->sm, ev);

	log_dom(LOG_DEBUG, d->name, d->uuid, NULL, NULL, "event %s -> %s", ds_event_str(ev),
		ds_state_str(d->sm.state));
	apply(a, d, vd, ev, act);	/* may free d */
	if (act & DA_DECIDE)
		a->lat_us[a->lat_n++ % LAT_SAMPLES] = (unsigned)((mono_ns() - t0) / 1000);
	status_write(a);
}

void dom_event(struct agent *a, virDomainPtr vd, enum ds_event ev)
{
	struct adom *d = dom_get(a, vd);

	if (d)
		step(a, d, vd, ev);
}

bool dom_event_uuid(struct agent *a, const char *uuid, enum ds_event ev)
{
	virDomainPtr vd = a->connected ? virDomainLookupByUUIDString(a->conn, uuid) : NULL;

	if (!vd)
		return false;
	dom_event(a, vd, ev);
	virDomainFree(vd);
	return true;
}

void dom_populate_ended(struct agent *a, struct adom *d, enum pop_stop why)
{
	enum ds_event ev = DE_POPULATE_DONE;

	if (why == POP_PAUSED)
		ev = DE_FOUND_PAUSED;
	else if (why == POP_MIGRATING || why == POP_JOB)
		ev = DE_JOB_FOUND;	/* an iteration event says "migrating-out" later */
	else if (why == POP_ERROR)
		set_error(d, d->last.detail);
	step(a, d, NULL, ev);
}

void dom_redecide_all(struct agent *a)
{
	struct adom *d, *next;

	for (d = a->doms; d; d = next) {
		next = d->next;
		/* only these decide again; paused and busy guests do once free */
		if (d->sm.state == DS_SETTLED || d->sm.state == DS_NEW ||
		    d->sm.state == DS_POPULATING)
			step(a, d, NULL, DE_POLICY_CHANGED);
	}
	driver_reschedule(a);
	status_write(a);
}

void dom_mark_unseen(struct agent *a)
{
	for (struct adom *d = a->doms; d; d = d->next)
		d->seen = false;
}

void dom_seen(struct agent *a, virDomainPtr vd, bool running)
{
	struct adom *d = dom_get(a, vd);

	if (!d)
		return;
	d->seen = true;
	step(a, d, vd, running ? DE_RESYNC_RUNNING : DE_FOUND_PAUSED);
	/* a decision libvirt could not be asked for while disconnected */
	if (d->undecided && running && d->sm.state == DS_SETTLED)
		step(a, d, vd, DE_POLICY_CHANGED);
}

void dom_sweep(struct agent *a)
{
	struct adom *d = a->doms, *next;

	for (; d; d = next) {
		next = d->next;
		if (!d->seen)
			dom_forget(a, d, "not there at resync");
	}
	status_write(a);
}
