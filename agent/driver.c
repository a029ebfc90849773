// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <libvirt/virterror.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "driver.h"
#include "linux/kvm_prepop.h"
#include "log.h"
#include "qemu.h"
#include "statefile.h"

#define EAGAIN_RETRIES 50	/* the guest has not run yet: it will */
#define EBUSY_RETRIES 3
#define RETRY_MS 200

struct pjob {
	struct agent *a;
	struct adom *d;
	struct pp_params params;
	int vm_fd;
	bool cancel;
	bool in_flight;
	int again, busy;
	uint64_t t0_ns, cursor;
	unsigned slices;
	uint64_t leaves, calls;
	struct kvm_prepop_populate arg;	/* the slice in flight */
	int result;
	pthread_t thread;
	struct event *done_ev, *next_ev;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void finish(struct pjob *j, const char *why)
{
	struct adom *d = j->d;
	uint64_t now = now_ns();

	log_dom(why ? LOG_WARNING : LOG_INFO, d->name, d->uuid, "prepopulate", NULL,
		"populate %s: %u slice%s, %llu leaves, %llu fault-path calls, %.1f ms%s%s",
		why ? "stopped" : "done", j->slices, j->slices == 1 ? "" : "s",
		(unsigned long long)j->leaves, (unsigned long long)j->calls,
		j->t0_ns && now > j->t0_ns ? (now - j->t0_ns) / 1e6 : 0.0, why ? ": " : "",
		why ? why : "");
	close(j->vm_fd);
	event_free(j->done_ev);
	event_free(j->next_ev);
	d->job = NULL;
	j->a->jobs--;
	free(j);
	ds_step(&d->sm, DE_POPULATE_DONE);
	status_write(d->agent);
	if (d->agent->stopping && !d->agent->jobs)
		event_base_loopexit(d->agent->base, NULL);
}

static void *slice_thread(void *arg)
{
	struct pjob *j = arg;

	j->result = ioctl(j->a->prepop_fd, KVM_PREPOP_POPULATE, &j->arg) < 0 ? -errno : 0;
	event_active(j->done_ev, EV_READ, 0);	/* back to the loop */
	return NULL;
}

static void later(struct pjob *j, unsigned ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	evtimer_add(j->next_ev, &tv);
}

static virDomainPtr lookup(struct pjob *j)
{
	return j->a->connected ? virDomainLookupByUUIDString(j->a->conn, j->d->uuid) : NULL;
}

static void slice(evutil_socket_t fd, short what, void *arg)
{
	struct pjob *j = arg;
	virDomainPtr vd;

	(void)fd;
	(void)what;
	if (j->cancel || j->a->stopping)
		return finish(j, "cancelled");
	if (!j->t0_ns)
		j->t0_ns = now_ns();
	if ((now_ns() - j->t0_ns) / 1000000 > j->params.pop.total_ms)
		return finish(j, "total budget spent; the rest faults in");
	vd = lookup(j);
	if (!vd)
		return finish(j, "domain not reachable");
	/* record first: a crash between here and the resume is recovered */
	if (statefile_add(j->a->cfg.state_dir, j->d->uuid) < 0) {
		virDomainFree(vd);
		return finish(j, "cannot write the crash-safety record; not pausing");
	}
	if (virDomainSuspend(vd) < 0) {
		statefile_remove(j->a->cfg.state_dir, j->d->uuid);
		virDomainFree(vd);
		return finish(j, "cannot pause the guest");
	}
	virDomainFree(vd);
	memset(&j->arg, 0, sizeof(j->arg));
	j->arg.size = sizeof(j->arg);
	j->arg.vm_fd = j->vm_fd;
	j->arg.start_gpa = j->cursor;
	j->arg.max_threads = j->params.pop.workers;
	j->arg.budget_ns = (uint64_t)j->params.pop.slice_ms * 1000000;
	j->in_flight = true;
	j->slices++;
	if (pthread_create(&j->thread, NULL, slice_thread, j) != 0) {
		j->result = -EAGAIN;
		event_active(j->done_ev, EV_READ, 0);
	}
}

static void slice_done(evutil_socket_t fd, short what, void *arg)
{
	struct pjob *j = arg;
	virDomainPtr vd = lookup(j);
	int r = j->result;

	(void)fd;
	(void)what;
	pthread_join(j->thread, NULL);
	j->in_flight = false;
	/* resume before anything else; the record goes only once it worked */
	if (vd && virDomainResume(vd) == 0)
		statefile_remove(j->a->cfg.state_dir, j->d->uuid);
	else
		log_dom(LOG_ERR, j->d->name, j->d->uuid, NULL, NULL,
			"cannot resume the guest: %s (recorded; retried at the next connect)",
			virGetLastErrorMessage());
	if (vd)
		virDomainFree(vd);
	if (r == 0) {
		j->leaves += j->arg.mapped_4k + j->arg.mapped_2m + j->arg.mapped_1g;
		j->calls += j->arg.fault_calls;
		j->cursor = j->arg.next_gpa;
		if (j->cursor >= j->arg.end_gpa)
			return finish(j, NULL);
		return later(j, j->params.pop.gap_ms);
	}
	if (r == -EAGAIN && ++j->again <= EAGAIN_RETRIES)
		return later(j, RETRY_MS);	/* no vCPU has a stage-2 root yet */
	if (r == -EBUSY && ++j->busy <= EBUSY_RETRIES)
		return later(j, RETRY_MS * 10);
	finish(j, strerror(-r));
}

int driver_start(struct agent *a, struct adom *d, const struct pp_params *params,
		 unsigned delay_ms)
{
	struct pjob *j;
	pid_t pid;
	int r, fd;

	if (d->job)
		return -EALREADY;
	r = qemu_find(d->name, d->uuid, &pid);
	if (r < 0)
		return r;
	fd = qemu_vm_fd(pid);
	if (fd < 0)
		return fd;
	j = calloc(1, sizeof(*j));
	if (!j)
		abort();
	j->a = a;
	j->d = d;
	j->params = *params;
	j->vm_fd = fd;
	/* t0_ns is set by the first slice: the budget starts after the delay */
	j->done_ev = event_new(a->base, -1, 0, slice_done, j);
	j->next_ev = evtimer_new(a->base, slice, j);
	d->job = j;
	a->jobs++;
	if (delay_ms)
		log_dom(LOG_INFO, d->name, d->uuid, "prepopulate", NULL,
			"populating in %u ms, once the firmware has set up memory", delay_ms);
	later(j, delay_ms);
	return 0;
}

void driver_cancel(struct adom *d)
{
	struct pjob *j = d->job;

	if (!j)
		return;
	j->cancel = true;
	if (!j->in_flight) {
		evtimer_del(j->next_ev);
		finish(j, "cancelled");
	}
}

void driver_recover(struct agent *a)
{
	char **uuids;
	size_t n;

	if (statefile_list(a->cfg.state_dir, &uuids, &n) < 0) {
		log_msg(LOG_ERR, "cannot read %s/paused: %s", a->cfg.state_dir, strerror(errno));
		return;
	}
	for (size_t i = 0; i < n; i++) {
		virDomainPtr vd = virDomainLookupByUUIDString(a->conn, uuids[i]);
		int state, reason;
		bool done = true;

		if (vd && virDomainGetState(vd, &state, &reason, 0) == 0 &&
		    state == VIR_DOMAIN_PAUSED && reason == VIR_DOMAIN_PAUSED_USER) {
			if (virDomainResume(vd) == 0)
				log_dom(LOG_WARNING, virDomainGetName(vd), uuids[i], NULL, NULL,
					"resumed: a previous prepopd paused it and did not resume it");
			else
				done = false;
		}
		if (done)
			statefile_remove(a->cfg.state_dir, uuids[i]);
		if (vd)
			virDomainFree(vd);
		free(uuids[i]);
	}
	free(uuids);
}
