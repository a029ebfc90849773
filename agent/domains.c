// SPDX-License-Identifier: GPL-2.0-only
/* The domains prepopd knows, their state machines, decisions and actions. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent.h"
#include "domxml.h"
#include "driver.h"
#include "hostprobe.h"
#include "log.h"

#define JOB_POLL_MS 1000

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
	d = calloc(1, sizeof(*d));
	if (!d)
		abort();
	memcpy(d->uuid, uuid, sizeof(uuid));
	d->agent = a;
	d->name = strdup(virDomainGetName(vd));
	ds_init(&d->sm);
	d->next = a->doms;
	a->doms = d;
	a->ndoms++;
	return d;
}

static void dom_free(struct adom *d)
{
	driver_cancel(d);
	if (d->job_timer)
		event_free(d->job_timer);
	free(d->name);
	free(d->flavor);
	free(d->error);
	free(d);
}

static void dom_forget(struct agent *a, struct adom *gone)
{
	for (struct adom **p = &a->doms; *p; p = &(*p)->next) {
		if (*p == gone) {
			*p = gone->next;
			a->ndoms--;
			log_dom(LOG_INFO, gone->name, gone->uuid, NULL, NULL, "forgotten");
			dom_free(gone);
			return;
		}
	}
}

void dom_forget_all(struct agent *a)
{
	while (a->doms) {
		struct adom *d = a->doms;

		a->doms = d->next;
		dom_free(d);
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
	d->error = msg ? strdup(msg) : NULL;
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
	d->flavor = dec.flavor ? strdup(dec.flavor->name) : NULL;
	log_dom(LOG_INFO, d->name, d->uuid, pp_mode_str(dec.mode), pp_reason_str(dec.reason),
		"%s (%s): %s%s%s", pp_mode_str(dec.mode), pp_reason_str(dec.reason),
		dec.explanation, dec.dry_run ? " [dry run]" : "",
		dec.mode == PP_MODE_PREPOPULATE && (a->cfg.observe_only || a->prepop_fd < 0) ?
		" [observe-only]" : "");
	pp_domain_free(&facts);
	*params = dec.params;
	return dec.mode == PP_MODE_PREPOPULATE && !dec.dry_run && !a->cfg.observe_only &&
	       a->prepop_fd >= 0;
}

static void job_poll(evutil_socket_t fd, short what, void *arg);

static void watch_job(struct agent *a, struct adom *d)
{
	static const struct timeval tv = { JOB_POLL_MS / 1000, (JOB_POLL_MS % 1000) * 1000 };

	if (!d->job_timer)
		d->job_timer = event_new(a->base, -1, EV_PERSIST, job_poll, d);
	event_add(d->job_timer, &tv);
}

static void apply(struct agent *a, struct adom *d, virDomainPtr vd, enum ds_event ev,
		  unsigned act)
{
	if (act & DA_CANCEL)
		driver_cancel(d);
	if (act & DA_FORGET) {
		dom_forget(a, d);
		return;
	}
	if (act & DA_WATCH_JOB) {
		log_dom(LOG_INFO, d->name, d->uuid, NULL, NULL,
			"outgoing migration: no populate while dirty logging; watching the job");
		watch_job(a, d);
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
		struct pp_params params;
		int r = -ENOSYS;

		bool boot = ev == DE_STARTED_BOOTED || ev == DE_STARTED_OTHER || ev == DE_RESUMED;

		if (decide(a, d, vd, &params) &&
		    (r = driver_start(a, d, &params, boot ? params.pop.boot_delay_ms : 0)) < 0) {
			char msg[160];

			snprintf(msg, sizeof(msg), "cannot populate: %s", strerror(-r));
			set_error(d, msg);
			log_dom(LOG_WARNING, d->name, d->uuid, NULL, NULL, "%s", msg);
		}
		if (!d->job)
			ds_step(&d->sm, DE_POPULATE_DONE);
	}
}

static uint64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000ull + ts.tv_nsec / 1000;
}

void dom_event(struct agent *a, virDomainPtr vd, enum ds_event ev)
{
	uint64_t t0 = mono_us();
	struct adom *d = dom_get(a, vd);
	unsigned act;

	if (!d)
		return;
	act = ds_step(&d->sm, ev);
	log_dom(LOG_DEBUG, d->name, d->uuid, NULL, NULL, "event %s -> %s", ds_event_str(ev),
		ds_state_str(d->sm.state));
	apply(a, d, vd, ev, act);
	if (act & DA_DECIDE)
		a->lat_us[a->lat_n++ % LAT_SAMPLES] = (unsigned)(mono_us() - t0);
	status_write(a);
}

static void job_poll(evutil_socket_t fd, short what, void *arg)
{
	struct adom *d = arg;
	struct agent *a = d->agent;
	virDomainJobInfo info;
	virDomainPtr vd;

	(void)fd;
	(void)what;
	if (!a->connected)
		return;
	vd = virDomainLookupByUUIDString(a->conn, d->uuid);
	if (!vd)
		return;	/* gone: its STOPPED event forgets it */
	if (virDomainGetJobInfo(vd, &info) == 0 && info.type == VIR_DOMAIN_JOB_NONE) {
		event_del(d->job_timer);
		if (virDomainIsActive(vd) == 1) {
			log_dom(LOG_INFO, d->name, d->uuid, NULL, NULL,
				"migration job ended and the domain still runs here: it failed");
			dom_event(a, vd, DE_JOB_ENDED_HERE);
		}
	}
	virDomainFree(vd);
}

void dom_redecide_all(struct agent *a)
{
	for (struct adom *d = a->doms; d; d = d->next) {
		virDomainPtr vd;

		if (d->sm.state != DS_SETTLED || !a->connected)
			continue;
		vd = virDomainLookupByUUIDString(a->conn, d->uuid);
		if (vd) {
			dom_event(a, vd, DE_METADATA_CHANGED);
			virDomainFree(vd);
		}
	}
	status_write(a);
}

void dom_mark_unseen(struct agent *a)
{
	for (struct adom *d = a->doms; d; d = d->next)
		d->seen = false;
}

void dom_seen(struct agent *a, virDomainPtr vd, bool migrating)
{
	struct adom *d;

	dom_event(a, vd, migrating ? DE_RESYNC_MIGRATING : DE_RESYNC_RUNNING);
	d = dom_get(a, vd);
	if (d)
		d->seen = true;
}

void dom_sweep(struct agent *a)
{
	struct adom *d = a->doms, *next;

	for (; d; d = next) {
		next = d->next;
		if (!d->seen)
			dom_forget(a, d);
	}
	status_write(a);
}
