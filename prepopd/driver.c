// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <event2/event.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "clock.h"
#include "driver.h"
#include "linux/kvm_prepop.h"
#include "log.h"
#include "module.h"
#include "prepop/policy.h"
#include "prepop/xalloc.h"
#include "probe.h"

#define EAGAIN_RETRIES 50	/* no vCPU has a stage-2 root yet: the guest will run */
#define EBUSY_RETRIES 3
#define RETRY_MS 200
#define LIBVIRT_RETRY_MS 1000	/* libvirt did not answer, or too late */
#define INCOMING_RETRIES 50	/* 10 s for an arrival's migration job to end */

struct driver {
	struct event_base *base;
	const struct module *mod;
	driver_report_fn *report;
	void *arg;
	virConnectPtr conn;	/* NULL: disconnected */
	unsigned cap;		/* slots: rollout.max_concurrent_guests */
	struct pjob *jobs;	/* every job, attached or not */
	unsigned running;	/* jobs holding a slot */
	unsigned threads;	/* slices out on their threads */
	bool stopping;		/* start nothing more */
	unsigned long next_id;
	unsigned long long next_qseq;
};

struct pjob {
	struct driver *drv;
	bool attached;		/* false once cancelled: nobody is told of it but DN_LATE */
	struct pjob *next;	/* every job, drv->jobs */
	char uuid[VIR_UUID_STRING_BUFLEN];
	char *name;
	struct pp_params params;
	int vm_fd, dev_fd;
	uint64_t slice_ns;	/* the policy's slice, capped at the module's hold ceiling */
	unsigned long long qseq;	/* FIFO order in the queue */
	bool holds_slot;
	bool in_flight;
	atomic_bool while_paused;	/* slices run while its user keeps it paused, too */
	unsigned incoming;	/* checks that found the incoming migration's job */
	atomic_bool cancel;
	int again, busy;
	uint64_t t0_ns;		/* the first slice */
	uint64_t status_ns;	/* the last progress write of status.json */
	uint64_t cursor;
	struct pop_stats st;
	/* the slice in flight: written by its thread, read after the join */
	virConnectPtr conn;
	struct probe probe;
	bool ran;		/* the probe said go and POPULATE was called */
	bool stale;		/* the probe's answer came too late to act on */
	struct kvm_prepop_populate arg;
	int result;
	pthread_t thread;
	struct event *done_ev, *next_ev;
};

static void probe_default(virConnectPtr conn, const char *uuid, struct probe *p)
{
	probe_domain(conn, uuid, p);
}

static int ioctl_populate(int dev_fd, struct kvm_prepop_populate *arg)
{
	return ioctl(dev_fd, KVM_PREPOP_POPULATE, arg) < 0 ? -errno : 0;
}

static struct driver_ops ops = { probe_default, ioctl_populate };

void driver_set_ops(const struct driver_ops *o)
{
	ops = *o;
}

const char *pop_stop_str(enum pop_stop s)
{
	static const char *const names[] = {
		[POP_NONE] = NULL, [POP_DONE] = "done", [POP_BUDGET] = "total-budget",
		[POP_PAUSED] = "paused", [POP_MIGRATING] = "migrating", [POP_JOB] = "job",
		[POP_STOPPED] = "stopped", [POP_POLICY] = "policy", [POP_SHUTDOWN] = "shutdown",
		[POP_ERROR] = "error",
	};

	return names[s];
}

const char *pop_phase_str(enum pop_phase p)
{
	static const char *const names[] = {
		[PH_DELAY] = "delay", [PH_QUEUED] = "queued", [PH_RUNNING] = "running",
		[PH_FINISHED] = "finished",
	};

	return names[p];
}

static void later(struct pjob *j, unsigned ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	evtimer_add(j->next_ev, &tv);
}

static void tell(struct driver *drv, const struct pjob *j, enum driver_news what)
{
	struct driver_report r = { what, j->uuid, &j->st, NULL, 0 };

	if (what == DN_CALL) {
		r.call = &j->arg;
		r.result = j->result;
	}
	drv->report(drv->arg, &r);
}

static bool uuid_in_flight(const struct driver *drv, const struct pjob *self)
{
	for (const struct pjob *j = drv->jobs; j; j = j->next)
		if (j != self && j->in_flight && !strcmp(j->uuid, self->uuid))
			return true;
	return false;
}

/* Start queued jobs, oldest first, while slots are free. */
static void grant(struct driver *drv)
{
	while (drv->running < drv->cap && !drv->stopping) {
		struct pjob *best = NULL;

		for (struct pjob *j = drv->jobs; j; j = j->next)
			if (j->st.phase == PH_QUEUED && (!best || j->qseq < best->qseq) &&
			    !uuid_in_flight(drv, j))	/* a cancelled slice of it still runs */
				best = j;
		if (!best)
			return;
		best->holds_slot = true;
		drv->running++;
		best->st.phase = PH_RUNNING;
		best->st.started = wall_now();
		best->t0_ns = best->status_ns = mono_ns();
		tell(drv, best, DN_PROGRESS);
		log_dom(LOG_INFO, best->name, best->uuid, "prepopulate", NULL,
			"populating: %.1f ms slices (policy %u ms, module ceiling %.1f ms), %u ms gaps, %u workers (0: one per vCPU)%s",
			best->slice_ns / 1e6, best->params.pop.slice_ms, drv->mod->hold_ceiling_ns / 1e6,
			best->params.pop.gap_ms, best->params.pop.workers,
			atomic_load(&best->while_paused) ? "; also while its owner keeps it paused" : "");
		later(best, 0);
	}
}

static void free_job(struct pjob *j)
{
	struct driver *drv = j->drv;

	for (struct pjob **p = &drv->jobs; *p; p = &(*p)->next)
		if (*p == j) {
			*p = j->next;
			break;
		}
	if (j->holds_slot)
		drv->running--;
	close(j->vm_fd);
	event_free(j->done_ev);
	event_free(j->next_ev);
	free(j->name);
	free(j);
}

static void log_end(const struct pjob *j)
{
	const struct pop_stats *s = &j->st;

	/* a guest its owner paused, moved or stopped is nothing to warn about */
	log_dom(s->stop == POP_ERROR || s->stop == POP_BUDGET ? LOG_WARNING : LOG_INFO,
		j->name, j->uuid, "prepopulate", NULL,
		"populate %s: %u slice%s, leaves 4k %llu 2m %llu 1g %llu, %llu fault-path calls, longest vCPU hold %.2f ms, longest kick %.2f ms (%llu kicks), %.1f ms in POPULATE%s%s",
		s->stop == POP_DONE ? "done" : "stopped", s->slices, s->slices == 1 ? "" : "s",
		(unsigned long long)s->mapped_4k, (unsigned long long)s->mapped_2m,
		(unsigned long long)s->mapped_1g, (unsigned long long)s->fault_calls,
		s->max_hold_ns / 1e6, s->max_kick_ns / 1e6, (unsigned long long)s->kicks,
		s->populate_ns / 1e6, s->stop == POP_DONE ? "" : ": ", s->stop == POP_DONE ? "" : s->detail);
}

static void set_stop(struct pjob *j, enum pop_stop why, const char *detail)
{
	j->st.stop = why;
	j->st.phase = PH_FINISHED;
	j->st.finished = wall_now();
	snprintf(j->st.detail, sizeof(j->st.detail), "%s", detail);
	log_end(j);
}

/* j ended by itself, not in flight: tell its owner, free it. */
static void finish(struct pjob *j, enum pop_stop why, const char *detail)
{
	struct driver *drv = j->drv;
	char uuid[VIR_UUID_STRING_BUFLEN];
	struct pop_stats st;

	set_stop(j, why, detail);
	st = j->st;
	memcpy(uuid, j->uuid, sizeof(uuid));
	free_job(j);
	drv->report(drv->arg, &(struct driver_report){ DN_ENDED, uuid, &st, NULL, 0 });
	grant(drv);
}

/* What the slice's check found lets it call the module. */
static bool may_run(const struct pjob *j)
{
	const struct probe *p = &j->probe;

	return p->verdict == PV_RUNNING ||
	       (atomic_load(&j->while_paused) && p->verdict == PV_NOT_RUNNING &&
		probe_paused_by_user(p->state, p->reason));
}

static void *slice_thread(void *arg)
{
	struct pjob *j = arg;
	uint64_t t0 = mono_ns();

	if (atomic_load(&j->cancel))
		goto out;
	ops.probe(j->conn, j->uuid, &j->probe);
	if (may_run(j) && !atomic_load(&j->cancel)) {
		if (mono_ns() - t0 > PROBE_STALE_NS)
			j->stale = true;
		else {
			j->ran = true;
			j->result = ops.populate(j->dev_fd, &j->arg);
		}
	}
out:
	event_active(j->done_ev, EV_READ, 0);	/* back to the loop */
	return NULL;
}

static void slice(evutil_socket_t fd, short what, void *arg)
{
	struct pjob *j = arg;
	struct driver *drv = j->drv;

	(void)fd;
	(void)what;
	if ((mono_ns() - j->t0_ns) / 1000000 > j->params.pop.total_ms)
		return finish(j, POP_BUDGET, "the total budget is spent; the rest faults in");
	if (!drv->conn)
		return later(j, LIBVIRT_RETRY_MS);
	memset(&j->arg, 0, sizeof(j->arg));
	j->arg.size = sizeof(j->arg);
	j->arg.vm_fd = j->vm_fd;
	j->arg.start_gpa = j->cursor;
	j->arg.max_threads = j->params.pop.workers;
	j->arg.budget_ns = j->slice_ns;
	j->ran = j->stale = false;
	j->result = 0;
	memset(&j->probe, 0, sizeof(j->probe));
	j->probe.verdict = PV_ERROR;	/* until it is asked */
	j->conn = drv->conn;	/* the slice's own reference */
	virConnectRef(j->conn);
	if (pthread_create(&j->thread, NULL, slice_thread, j) != 0) {
		virConnectClose(j->conn);
		return later(j, LIBVIRT_RETRY_MS);
	}
	j->in_flight = true;
	drv->threads++;
}

static void account(struct pjob *j)
{
	const struct kvm_prepop_populate *r = &j->arg;
	struct pop_stats *s = &j->st;

	s->slices++;
	/* the module writes its figures back on these errors too: vCPUs were held */
	if (j->result < 0 && j->result != -EBUSY && j->result != -EAGAIN && j->result != -EINTR)
		return tell(j->drv, j, DN_CALL);
	if (r->next_gpa > j->cursor)
		j->cursor = r->next_gpa;	/* what is done stays done */
	s->mapped_4k += r->mapped_4k;
	s->mapped_2m += r->mapped_2m;
	s->mapped_1g += r->mapped_1g;
	s->fault_calls += r->fault_calls;
	s->populate_ns += r->elapsed_ns;
	s->kicks += r->kicks;
	if (r->max_hold_ns > s->max_hold_ns)
		s->max_hold_ns = r->max_hold_ns;
	if (r->max_kick_ns > s->max_kick_ns)
		s->max_kick_ns = r->max_kick_ns;
	tell(j->drv, j, DN_CALL);
}

/* A cancelled job's last slice landed: its figures go to the record it left. */
static void detached_done(struct pjob *j)
{
	struct driver *drv = j->drv;

	tell(drv, j, DN_LATE);
	free_job(j);
	grant(drv);
}

static void slice_done(evutil_socket_t fd, short what, void *arg)
{
	struct pjob *j = arg;
	struct driver *drv = j->drv;
	int r = j->result;

	(void)fd;
	(void)what;
	pthread_join(j->thread, NULL);
	j->in_flight = false;
	if (j->conn)
		virConnectClose(j->conn);
	j->conn = NULL;
	drv->threads--;
	if (j->ran)
		account(j);
	if (!j->attached)
		detached_done(j);
	else if (j->stale) {
		log_dom(LOG_INFO, j->name, j->uuid, NULL, NULL,
			"libvirt answered after %.1f s: not acted on; asking again",
			j->probe.took_ns / 1e9);
		later(j, LIBVIRT_RETRY_MS);
	} else if (!j->ran) {
		switch (j->probe.verdict) {
		case PV_NOT_RUNNING:
			finish(j, POP_PAUSED, j->probe.msg);
			break;
		case PV_JOB:
			/* it arrived paused: the incoming migration's job may still
			 * be finishing when libvirt says it is paused */
			if (atomic_load(&j->while_paused) &&
			    j->probe.job_op == VIR_DOMAIN_JOB_OPERATION_MIGRATION_IN &&
			    ++j->incoming <= INCOMING_RETRIES) {
				later(j, RETRY_MS);
				break;
			}
			finish(j, j->probe.job_op == VIR_DOMAIN_JOB_OPERATION_MIGRATION_OUT ?
			       POP_MIGRATING : POP_JOB, j->probe.msg);
			break;
		case PV_GONE:
			finish(j, POP_STOPPED, j->probe.msg);
			break;
		case PV_SYNC_JOB:
			later(j, RETRY_MS);
			break;
		default:	/* libvirt did not answer, or cancelled meanwhile */
			later(j, LIBVIRT_RETRY_MS);
			break;
		}
	} else if (r == 0) {
		j->again = j->busy = 0;	/* the retries count refusals in a row */
		if (mono_ns() - j->status_ns > 1000000000ull) {	/* progress, once a second */
			j->status_ns = mono_ns();
			tell(drv, j, DN_PROGRESS);
		}
		if (j->cursor >= j->arg.end_gpa)
			finish(j, POP_DONE, "all RAM mapped");
		else
			later(j, j->params.pop.gap_ms);
	} else if (r == -EAGAIN && ++j->again <= EAGAIN_RETRIES) {
		later(j, RETRY_MS);	/* no vCPU has a stage-2 root yet */
	} else if (r == -EBUSY && ++j->busy <= EBUSY_RETRIES) {
		later(j, RETRY_MS * 10);
	} else if (r == -ESRCH) {
		/* the module saw the VM's process exit mid-call: libvirt's stop event follows */
		finish(j, POP_STOPPED, "the guest's process exited during a slice");
	} else {
		char msg[160];

		snprintf(msg, sizeof(msg), "KVM_PREPOP_POPULATE: %s", strerror(-r));
		j->st.error = -r;
		finish(j, POP_ERROR, msg);
	}
	drv->report(drv->arg, &(struct driver_report){ .what = DN_THREAD_BACK });
}

static void enqueue(evutil_socket_t fd, short what, void *arg)
{
	struct pjob *j = arg;
	struct driver *drv = j->drv;

	(void)fd;
	(void)what;
	j->st.phase = PH_QUEUED;
	j->qseq = ++drv->next_qseq;
	event_assign(j->next_ev, drv->base, -1, 0, slice, j);
	if (drv->running >= drv->cap)
		log_dom(LOG_INFO, j->name, j->uuid, "prepopulate", NULL,
			"queued: %u guest%s populating, at most %u at once (rollout.max_concurrent_guests)",
			drv->running, drv->running == 1 ? "" : "s", drv->cap);
	tell(drv, j, DN_PROGRESS);
	grant(drv);
}

static struct pjob *attached(const struct driver *drv, const char *uuid)
{
	for (struct pjob *j = drv->jobs; j; j = j->next)
		if (j->attached && !strcmp(j->uuid, uuid))
			return j;
	return NULL;
}

struct driver *driver_new(struct event_base *base, const struct module *mod,
			  driver_report_fn *report, void *arg)
{
	struct driver *drv = xcalloc(1, sizeof(*drv));

	drv->base = base;
	drv->mod = mod;
	drv->report = report;
	drv->arg = arg;
	drv->cap = 1;
	return drv;
}

void driver_free(struct driver *drv)
{
	while (drv->jobs)
		free_job(drv->jobs);
	if (drv->conn)
		virConnectClose(drv->conn);
	free(drv);
}

void driver_set_conn(struct driver *drv, virConnectPtr conn)
{
	if (conn)
		virConnectRef(conn);
	if (drv->conn)
		virConnectClose(drv->conn);
	drv->conn = conn;
}

void driver_set_cap(struct driver *drv, unsigned cap)
{
	drv->cap = cap ? cap : 1;
	grant(drv);
}

int driver_start(struct driver *drv, const char *uuid, const char *name, int vm_fd,
		 const struct pp_params *p, unsigned delay_ms, bool while_paused)
{
	struct pjob *j;

	if (attached(drv, uuid) || drv->stopping) {
		close(vm_fd);
		return drv->stopping ? -ECANCELED : -EALREADY;
	}
	j = xcalloc(1, sizeof(*j));
	j->drv = drv;
	j->attached = true;
	snprintf(j->uuid, sizeof(j->uuid), "%s", uuid);
	j->name = xstrdup(name);
	j->params = *p;
	j->vm_fd = vm_fd;
	atomic_init(&j->while_paused, while_paused);
	j->dev_fd = drv->mod->fd;
	j->slice_ns = module_slice_ns(drv->mod, p->pop.slice_ms);
	atomic_init(&j->cancel, false);
	j->st.id = ++drv->next_id;
	j->st.phase = PH_DELAY;
	j->done_ev = event_new(drv->base, -1, 0, slice_done, j);
	j->next_ev = evtimer_new(drv->base, enqueue, j);
	j->next = drv->jobs;
	drv->jobs = j;
	if (delay_ms)
		log_dom(LOG_INFO, name, uuid, "prepopulate", NULL,
			"populating in %u ms, once the firmware has set up memory", delay_ms);
	later(j, delay_ms);
	return 0;
}

void driver_end_while_paused(struct driver *drv, const char *uuid)
{
	struct pjob *j = attached(drv, uuid);

	if (j)
		atomic_store(&j->while_paused, false);
}

bool driver_cancel(struct driver *drv, const char *uuid, enum pop_stop why,
		   const char *detail, struct pop_stats *last)
{
	struct pjob *j = attached(drv, uuid);

	if (!j)
		return false;
	atomic_store(&j->cancel, true);
	set_stop(j, why, detail);
	j->attached = false;
	*last = j->st;
	if (!j->in_flight) {
		free_job(j);
		grant(drv);
	}
	return true;
}

void driver_stop_all(struct driver *drv)
{
	struct pjob *j, *next;

	drv->stopping = true;
	for (j = drv->jobs; j; j = next) {
		char uuid[VIR_UUID_STRING_BUFLEN];
		struct pop_stats st;

		next = j->next;	/* j may be freed by the cancel */
		memcpy(uuid, j->uuid, sizeof(uuid));
		if (j->attached && driver_cancel(drv, uuid, POP_SHUTDOWN, "prepopd is stopping", &st))
			drv->report(drv->arg, &(struct driver_report){ DN_ENDED, uuid, &st, NULL, 0 });
	}
}

const struct pop_stats *driver_stats(const struct driver *drv, const char *uuid)
{
	const struct pjob *j = attached(drv, uuid);

	return j ? &j->st : NULL;
}

unsigned driver_running(const struct driver *drv)
{
	return drv->running;
}

unsigned driver_queued(const struct driver *drv)
{
	unsigned n = 0;

	for (const struct pjob *j = drv->jobs; j; j = j->next)
		n += j->attached && j->st.phase == PH_QUEUED;
	return n;
}

unsigned driver_threads(const struct driver *drv)
{
	return drv->threads;
}
