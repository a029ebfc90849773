// SPDX-License-Identifier: GPL-2.0-only
/* The domains prepopd knows, their state machines, decisions and actions. */
#include <errno.h>
#include <libvirt/virterror.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "census.h"
#include "clock.h"
#include "conn.h"
#include "domains.h"
#include "domxml.h"
#include "jobwatch.h"
#include "log.h"
#include "metrics.h"
#include "override.h"
#include "prepop/xalloc.h"
#include "prepopd.h"
#include "probe.h"
#include "qemu.h"
#include "status.h"

struct domains {
	struct adom *list;
	unsigned n;
	/* event -> decision latency, microseconds, the last LAT_SAMPLES decisions */
	unsigned lat_n;
	unsigned lat_us[LAT_SAMPLES];
};

static void on_driver(void *arg, const struct driver_report *r);

void domains_init(struct agent *a)
{
	a->doms = xcalloc(1, sizeof(*a->doms));
	a->drv = driver_new(a->base, &a->mod, on_driver, a);
	driver_set_cap(a->drv, a->ps.policy->rollout.max_concurrent_guests);
}

const struct adom *dom_first(const struct agent *a)
{
	return a->doms->list;
}

unsigned dom_count(const struct agent *a)
{
	return a->doms->n;
}

struct adom *dom_find(struct agent *a, const char *uuid)
{
	for (struct adom *d = a->doms->list; d; d = d->next)
		if (!strcmp(d->uuid, uuid))
			return d;
	return NULL;
}

struct adom *dom_lookup(struct agent *a, const char *name_or_uuid)
{
	for (struct adom *d = a->doms->list; d; d = d->next)
		if (!strcmp(d->name, name_or_uuid))
			return d;
	return dom_find(a, name_or_uuid);
}

const struct pop_stats *dom_populate(const struct agent *a, const struct adom *d)
{
	const struct pop_stats *s = driver_stats(a->drv, d->uuid);

	return s ? s : d->last.id ? &d->last : NULL;
}

unsigned dom_latencies(const struct agent *a, unsigned *v, unsigned *total)
{
	unsigned n = a->doms->lat_n < LAT_SAMPLES ? a->doms->lat_n : LAT_SAMPLES;

	memcpy(v, a->doms->lat_us, n * sizeof(*v));
	*total = a->doms->lat_n;
	return n;
}

static bool populating(const struct agent *a, const struct adom *d)
{
	return driver_stats(a->drv, d->uuid) != NULL;
}

/* Stop d's populate (if any) after its slice in flight; d keeps its figures. */
static void stop_populate(struct agent *a, struct adom *d, enum pop_stop why, const char *detail)
{
	struct pop_stats last;

	if (driver_cancel(a->drv, d->uuid, why, detail, &last))
		d->last = last;
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
	d->name = xstrdup(virDomainGetName(vd));
	ds_init(&d->sm);
	d->next = a->doms->list;
	a->doms->list = d;
	a->doms->n++;
	return d;
}

static void dom_free(struct agent *a, struct adom *d, const char *why)
{
	stop_populate(a, d, POP_STOPPED, why);
	jobwatch_free(d);
	metrics_forget(d->uuid);
	free(d->name);
	free(d->flavor);
	free(d->error);
	free(d);
}

static void dom_forget(struct agent *a, struct adom *gone, const char *why)
{
	for (struct adom **p = &a->doms->list; *p; p = &(*p)->next) {
		if (*p == gone) {
			*p = gone->next;
			a->doms->n--;
			log_dom(LOG_INFO, gone->name, gone->uuid, NULL, NULL, "forgotten: %s", why);
			dom_free(a, gone, why);
			return;
		}
	}
}

void domains_free(struct agent *a)
{
	if (!a->doms)
		return;
	while (a->doms->list) {
		struct adom *d = a->doms->list;

		a->doms->list = d->next;
		dom_free(a, d, "prepopd is stopping");
	}
	driver_free(a->drv);
	a->drv = NULL;
	free(a->doms);
	a->doms = NULL;
}

static enum pp_migration mig_of(const struct ds *s)
{
	return s->mig == DM_POSTCOPY ? PP_MIG_POSTCOPY :
	       s->mig == DM_PRECOPY ? PP_MIG_PRECOPY : PP_MIG_NONE;
}

static void set_error(struct adom *d, char *msg)	/* takes msg over */
{
	free(d->error);
	d->error = msg;
}

static int classify(struct adom *d, virDomainPtr vd, struct pp_domain *facts, char **err)
{
	struct pp_errs errs = { 0 };
	char *xml = virDomainGetXMLDesc(vd, 0);
	int r;

	if (!xml) {
		*err = xasprintf("cannot read the domain XML: %s", virGetLastErrorMessage());
		return -1;
	}
	r = pp_domain_parse(xml, strlen(xml), d->name, facts, &errs);
	if (r < 0) {
		char *e = errs.n ? pp_err_format(&errs.v[0]) : xstrdup("invalid domain XML");

		*err = xasprintf("cannot classify: %s", e);
		free(e);
	}
	pp_errs_free(&errs);
	free(xml);
	return r;
}

static int evaluate(struct agent *a, struct adom *d, virDomainPtr vd, struct dom_eval *ev,
		    char **err)
{
	const struct override *ov = override_get(a->ovr, d->uuid);

	memset(ev, 0, sizeof(*ev));
	if (classify(d, vd, &ev->facts, err) < 0)
		return -1;
	ev->facts.override = ov ? ov->mode : PP_MODE_AUTO;
	census_host_facts(conn_get(a->conn), &a->ps.host, d->uuid, ev->facts.memory_bytes,
			  ev->facts.hugepages, &ev->host);
	ev->mig = mig_of(&d->sm);
	pp_decide(a->ps.policy, &ev->facts, &ev->host, ev->mig, &ev->dec);
	return 0;
}

int dom_evaluate(struct agent *a, struct adom *d, struct dom_eval *ev, char **err)
{
	virConnectPtr c = conn_get(a->conn);
	virDomainPtr vd = c ? virDomainLookupByUUIDString(c, d->uuid) : NULL;
	int r;

	if (!vd) {
		*err = xasprintf("libvirt cannot be asked: %s",
				 c ? virGetLastErrorMessage() : "not connected");
		return -1;
	}
	r = evaluate(a, d, vd, ev, err);
	virDomainFree(vd);
	return r;
}

void dom_eval_free(struct dom_eval *ev)
{
	pp_domain_free(&ev->facts);
}

/* Decide; true if the agent should populate now (with *params). */
static bool decide(struct agent *a, struct adom *d, virDomainPtr vd, struct pp_params *params)
{
	struct dom_eval *ev = xcalloc(1, sizeof(*ev));	/* the rule chain makes it large */
	const struct pp_decision *dec = &ev->dec;
	char *err = NULL;
	bool pop;

	d->decisions++;
	if (evaluate(a, d, vd, ev, &err) < 0) {
		log_dom(LOG_WARNING, d->name, d->uuid, NULL, NULL, "%s", err);
		set_error(d, err);
		free(ev);
		return false;
	}
	set_error(d, NULL);
	d->memory_bytes = ev->facts.memory_bytes;
	d->decided = true;
	d->generation = a->ps.generation;
	d->decided_at = wall_now();
	d->mode = dec->mode;
	d->reason = dec->reason;
	d->dry_run = dec->dry_run;
	snprintf(d->explanation, sizeof(d->explanation), "%s", dec->explanation);
	free(d->flavor);
	d->flavor = dec->flavor ? xstrdup(dec->flavor->name) : NULL;
	d->inputs = pp_decision_inputs(&ev->facts, dec);
	metrics_decided(d->uuid, d->name, d->flavor, dec->mode, dec->reason);
	log_dom(LOG_INFO, d->name, d->uuid, pp_mode_str(dec->mode), pp_reason_str(dec->reason),
		"%s (%s): %s%s%s", pp_mode_str(dec->mode), pp_reason_str(dec->reason),
		dec->explanation, dec->dry_run ? " [dry run]" : "",
		dec->mode == PP_MODE_PREPOPULATE && agent_observe_only(a) ? " [observe-only]" : "");
	*params = dec->params;
	pop = dec->mode == PP_MODE_PREPOPULATE && !dec->dry_run && !agent_observe_only(a);
	dom_eval_free(ev);
	free(ev);
	return pop;
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
		r = fd < 0 ? fd : driver_start(a->drv, d->uuid, d->name, fd, params, delay_ms,
					       d->sm.while_paused);
	}
	if (r == 0)
		return;
	snprintf(msg, sizeof(msg), "cannot populate: %s", strerror(-r));
	set_error(d, xstrdup(msg));
	log_dom(LOG_WARNING, d->name, d->uuid, NULL, NULL, "%s", msg);
}

/*
 * What libvirt says of the domain now (running if it cannot say); *by_user:
 * paused by a user (probe.h).
 */
static enum ds_event found_now(virDomainPtr vd, bool *by_user)
{
	int state, reason;

	*by_user = false;
	if (virDomainGetState(vd, &state, &reason, 0) < 0)
		return DE_RESYNC_RUNNING;
	*by_user = probe_paused_by_user(state, reason);
	return ds_state_event(state, reason);
}

static void step(struct agent *a, struct adom *d, virDomainPtr vd, enum ds_event ev);

/*
 * One step of d's state machine.  A populate loses its leave to run while
 * the guest is paused (an arrival's) as soon as the machine takes it back.
 */
static unsigned sm_step(struct agent *a, struct adom *d, enum ds_event ev)
{
	bool wp = d->sm.while_paused;
	unsigned act;

	d->sm.maps_unrun = module_maps_unrun(&a->mod);
	act = ds_step(&d->sm, ev);
	if (wp && !d->sm.while_paused)
		driver_end_while_paused(a->drv, d->uuid);
	return act;
}

static void cancel(struct agent *a, struct adom *d, enum ds_event ev)
{
	switch (ev) {
	case DE_SUSPENDED:
		return stop_populate(a, d, POP_PAUSED, "its owner paused it");
	case DE_FOUND_PAUSED:
		return stop_populate(a, d, POP_PAUSED, "found paused by its owner");
	case DE_SUSPENDED_MIGRATED:
	case DE_MIGRATION_ITERATION:
		return stop_populate(a, d, POP_MIGRATING,
				     "an outgoing migration (or a save or dump) began");
	case DE_JOB_FOUND:
		return stop_populate(a, d, POP_JOB, "another libvirt job began");
	case DE_RESUMED_POSTCOPY:
	case DE_POSTCOPY_FAILED:
		return stop_populate(a, d, POP_MIGRATING, "an incoming post-copy migration is running");
	default:
		return stop_populate(a, d, POP_STOPPED, "the guest stopped or left");
	}
}

/*
 * A metadata change (Nova rewrites its metadata often), a reload or an
 * operator's override decides again, but populates again only if what a
 * populate depends on changed since the last one started
 * (pp_decision_inputs): the guest's stage-2 tables are still there, and a
 * reload must not start populates on every guest at once.  A populate
 * that did not finish clears the record (populated_inputs 0).  Any other
 * reason to decide again may follow a zap (dirty logging ended, a resume
 * after a migration) and populates.
 */
static bool worth_populating(const struct adom *d, enum ds_event ev)
{
	if (ev != DE_METADATA_CHANGED && ev != DE_POLICY_CHANGED)
		return true;
	return d->inputs != d->populated_inputs;
}

static void act_decide(struct agent *a, struct adom *d, virDomainPtr vd, enum ds_event ev)
{
	struct pp_params params;
	bool boot = ev == DE_STARTED_BOOTED || ev == DE_STARTED_OTHER || ev == DE_RESUMED;
	bool pop, by_user;
	enum ds_event found = found_now(vd, &by_user);

	if (found == DE_RESUMED_POSTCOPY || found == DE_POSTCOPY_FAILED) {
		/* resumed by its owner during a post-copy (libvirt's event said
		 * only "resumed"): the post-copy fallback, not a decision */
		step(a, d, vd, found);
		return;
	}
	if (found == DE_FOUND_PAUSED && d->sm.while_paused && by_user && module_maps_unrun(&a->mod)) {
		/* it arrived paused: decided, and populated while paused */
		if (ev == DE_SUSPENDED)
			log_dom(LOG_INFO, d->name, d->uuid, NULL, NULL,
				"arrived paused (an incoming migration): decided now, populated while its owner keeps it paused if eligible (%s engine: no vCPU has to have run, none is held)",
				module_engine_str(a->mod.engine));
	} else if (found == DE_FOUND_PAUSED) {
		/* paused (started paused, restored paused, ...): its owner's; decided
		 * once it is resumed */
		if (sm_step(a, d, DE_FOUND_PAUSED) & DA_CANCEL)
			cancel(a, d, DE_FOUND_PAUSED);
		log_dom(LOG_INFO, d->name, d->uuid, NULL, NULL,
			"paused by its owner: left alone, decided once it is resumed");
		return;
	}
	pop = decide(a, d, vd, &params);
	if (pop && !populating(a, d) && !worth_populating(d, ev))
		log_dom(LOG_INFO, d->name, d->uuid, NULL, NULL,
			"decided again (%s), nothing a populate depends on changed: not populated again",
			ev == DE_METADATA_CHANGED ? "metadata" : "policy or override");
	else if (pop && !populating(a, d)) {
		start_populate(a, d, &params, boot ? params.pop.boot_delay_ms : 0);
		if (populating(a, d))
			d->populated_inputs = d->inputs;
	} else if (!pop)
		stop_populate(a, d, POP_POLICY, "the new decision does not populate this guest");
	if (!populating(a, d))
		sm_step(a, d, DE_POPULATE_DONE);
}

/* Carry out a step's actions.  vd may be NULL: looked up if a decision needs it. */
static void apply(struct agent *a, struct adom *d, virDomainPtr vd, enum ds_event ev,
		  unsigned act)
{
	if (act & DA_CANCEL)
		cancel(a, d, ev);
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
		metrics_decided(d->uuid, d->name, d->flavor, PP_MODE_FAULT, PP_R_POSTCOPY);
	}
	if (act & DA_DECIDE) {
		virDomainPtr own = NULL;

		if (!vd && conn_get(a->conn))
			vd = own = virDomainLookupByUUIDString(conn_get(a->conn), d->uuid);
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
			stop_populate(a, d, POP_POLICY, "libvirt could not be asked for a new decision");
			d->undecided = true;
			sm_step(a, d, DE_POPULATE_DONE);
		}
		if (own)
			virDomainFree(own);
	}
}

static void step(struct agent *a, struct adom *d, virDomainPtr vd, enum ds_event ev)
{
	uint64_t t0 = mono_ns();
	unsigned act = sm_step(a, d, ev);

	log_dom(LOG_DEBUG, d->name, d->uuid, NULL, NULL, "event %s -> %s", ds_event_str(ev),
		ds_state_str(d->sm.state));
	apply(a, d, vd, ev, act);	/* may free d */
	if (act & DA_DECIDE)
		a->doms->lat_us[a->doms->lat_n++ % LAT_SAMPLES] = (unsigned)((mono_ns() - t0) / 1000);
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
	virConnectPtr c = conn_get(a->conn);
	virDomainPtr vd = c ? virDomainLookupByUUIDString(c, uuid) : NULL;

	if (!vd)
		return false;
	dom_event(a, vd, ev);
	virDomainFree(vd);
	return true;
}

/* The driver's one callback. */
static void on_driver(void *arg, const struct driver_report *r)
{
	struct agent *a = arg;
	struct adom *d = r->uuid ? dom_find(a, r->uuid) : NULL;
	const struct pop_stats *st = r->st;
	enum ds_event ev = DE_POPULATE_DONE;

	switch (r->what) {
	case DN_THREAD_BACK:
		agent_thread_ended(a);
		return;
	case DN_CALL:
		metrics_call(r->uuid, st->id, r->call, r->result);
		return;
	case DN_PROGRESS:
		break;
	case DN_LATE:
		/* a cancelled job's slice landed: its figures go to the record it left */
		if (d && d->last.id == st->id)
			d->last = *st;
		break;
	case DN_ENDED:
		if (!d)
			break;
		d->last = *st;
		if (st->stop != POP_DONE)
			d->populated_inputs = 0;	/* not all mapped: a new decision populates */
		if (st->stop == POP_SHUTDOWN)
			break;
		if (st->stop == POP_PAUSED)
			ev = DE_FOUND_PAUSED;
		else if (st->stop == POP_MIGRATING || st->stop == POP_JOB)
			ev = DE_JOB_FOUND;	/* an iteration event says "migrating-out" later */
		if (st->stop == POP_ERROR)
			set_error(d, xstrdup(st->detail));
		/* an arrival's populate cut short while paused: decided again
		 * once its owner resumes it, as any paused guest */
		if (d->sm.while_paused && (st->stop == POP_BUDGET || st->stop == POP_ERROR))
			ev = DE_FOUND_PAUSED;
		step(a, d, NULL, ev);	/* writes status */
		return;
	}
	status_write(a);
}

static void redecide_all(struct agent *a)
{
	struct adom *d, *next;

	for (d = a->doms->list; d; d = next) {
		next = d->next;
		/* only these decide again; paused and busy guests do once free */
		if (d->sm.state == DS_SETTLED || d->sm.state == DS_NEW ||
		    d->sm.state == DS_POPULATING)
			step(a, d, NULL, DE_POLICY_CHANGED);
	}
}

void dom_policy_reloaded(struct agent *a, bool ok, bool module_appeared)
{
	driver_set_cap(a->drv, a->ps.policy->rollout.max_concurrent_guests);
	if (ok || module_appeared)	/* what observe-only decided may populate now */
		redecide_all(a);
	status_write(a);
}

void dom_override_changed(struct agent *a, struct adom *d)
{
	if (d->sm.state == DS_SETTLED || d->sm.state == DS_NEW || d->sm.state == DS_POPULATING)
		step(a, d, NULL, DE_POLICY_CHANGED);
	status_write(a);
}

void dom_stop_all(struct agent *a)
{
	driver_stop_all(a->drv);	/* each job reported back: DN_ENDED, shutdown */
	status_write(a);
}

void dom_connection_changed(struct agent *a)
{
	status_write(a);
}

void dom_mark_unseen(struct agent *a)
{
	for (struct adom *d = a->doms->list; d; d = d->next)
		d->seen = false;
}

void dom_seen(struct agent *a, virDomainPtr vd, int state, int reason)
{
	struct adom *d = dom_get(a, vd);
	bool running = state == VIR_DOMAIN_RUNNING;

	if (!d)
		return;
	d->seen = true;
	step(a, d, vd, ds_state_event(state, reason));
	/* a decision libvirt could not be asked for while disconnected */
	if (d->undecided && running && d->sm.state == DS_SETTLED)
		step(a, d, vd, DE_POLICY_CHANGED);
}

void dom_sweep(struct agent *a)
{
	struct adom *d = a->doms->list, *next;

	for (; d; d = next) {
		next = d->next;
		if (!d->seen)
			dom_forget(a, d, "not there at resync");
	}
	status_write(a);
}
