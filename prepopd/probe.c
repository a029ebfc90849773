// SPDX-License-Identifier: GPL-2.0-only
#include <event2/event.h>
#include <libvirt/virterror.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "prepop/xalloc.h"
#include "probe.h"

static const char *state_str(int state, int reason)
{
	static const char *const paused[] = {
		"paused", "paused by a user", "paused for a migration", "paused for a save",
		"paused for a dump", "paused on an I/O error", "paused by its watchdog",
		"paused from a snapshot", "paused while shutting down", "paused for a snapshot",
		"paused after a crash", "paused while starting", "paused for post-copy",
		"paused after a failed post-copy", "paused after a failed API call",
	};

	switch (state) {
	case VIR_DOMAIN_RUNNING: return "running";
	case VIR_DOMAIN_BLOCKED: return "blocked";
	case VIR_DOMAIN_PAUSED:
		return reason >= 0 && reason < (int)(sizeof(paused) / sizeof(paused[0])) ?
		       paused[reason] : "paused";
	case VIR_DOMAIN_SHUTDOWN: return "shutting down";
	case VIR_DOMAIN_SHUTOFF: return "shut off";
	case VIR_DOMAIN_CRASHED: return "crashed";
	case VIR_DOMAIN_PMSUSPENDED: return "suspended by the guest (S3/S4)";
	}
	return "in an unknown state";
}

static const char *job_str(int op)
{
	static const char *const ops[] = {
		"a job", "a start", "a save", "a restore", "an incoming migration",
		"an outgoing migration", "a snapshot", "a snapshot revert", "a dump",
		"a backup", "a snapshot deletion",
	};

	return op >= 0 && op < (int)(sizeof(ops) / sizeof(ops[0])) ? ops[op] : ops[0];
}

static void set(struct probe *p, enum probe_verdict v, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set(struct probe *p, enum probe_verdict v, const char *fmt, ...)
{
	va_list ap;

	p->verdict = v;
	va_start(ap, fmt);
	vsnprintf(p->msg, sizeof(p->msg), fmt, ap);
	va_end(ap);
}

/* The async job, if any: 0 with p set, or -1 if libvirt did not answer. */
static int ask_job(virDomainPtr vd, struct probe *p)
{
	virTypedParameterPtr params = NULL;
	int nparams = 0, type, op = VIR_DOMAIN_JOB_OPERATION_UNKNOWN;

	if (virDomainGetJobStats(vd, &type, &params, &nparams, 0) < 0) {
		/* libvirt refuses job statistics during an incoming migration */
		if (virGetLastErrorCode() != VIR_ERR_OPERATION_UNSUPPORTED)
			return -1;
		type = VIR_DOMAIN_JOB_UNBOUNDED;
		op = VIR_DOMAIN_JOB_OPERATION_MIGRATION_IN;
	}
	if (type != VIR_DOMAIN_JOB_NONE) {
		if (params)
			virTypedParamsGetInt(params, nparams, VIR_DOMAIN_JOB_OPERATION, &op);
		p->job_op = op;
		set(p, PV_JOB, "%s is running", job_str(op));
	} else {
		set(p, PV_RUNNING, "%s, no job", "running");
	}
	virTypedParamsFree(params, nparams);
	return 0;
}

void probe_domain(virConnectPtr conn, const char *uuid, struct probe *p)
{
	uint64_t t0 = mono_ns();
	virDomainControlInfo ci;
	virDomainPtr vd;

	memset(p, 0, sizeof(*p));
	vd = conn ? virDomainLookupByUUIDString(conn, uuid) : NULL;
	if (!vd) {
		if (conn && virGetLastErrorCode() == VIR_ERR_NO_DOMAIN)
			set(p, PV_GONE, "%s", "not there any more");
		else
			set(p, PV_ERROR, "libvirt: %s", conn ? virGetLastErrorMessage() : "not connected");
	} else if (virDomainGetState(vd, &p->state, &p->reason, 0) < 0) {
		set(p, PV_ERROR, "libvirt: %s", virGetLastErrorMessage());
	} else if (p->state == VIR_DOMAIN_SHUTOFF) {
		set(p, PV_GONE, "%s", "shut off");
	} else if (virDomainGetControlInfo(vd, &ci, 0) < 0) {
		set(p, PV_ERROR, "libvirt: %s", virGetLastErrorMessage());
	} else if (ci.state != VIR_DOMAIN_CONTROL_OK) {
		/* answers at once; the job query below would wait for it */
		set(p, PV_SYNC_JOB, "%s", "a libvirt call is using its monitor");
	} else if (ask_job(vd, p) < 0) {
		set(p, PV_ERROR, "libvirt: %s", virGetLastErrorMessage());
	} else if (p->verdict == PV_RUNNING && p->state != VIR_DOMAIN_RUNNING) {
		set(p, PV_NOT_RUNNING, "%s", state_str(p->state, p->reason));
	}
	if (vd)
		virDomainFree(vd);
	p->took_ns = mono_ns() - t0;
}

bool probe_paused_by_user(int state, int reason)
{
	return state == VIR_DOMAIN_PAUSED && reason == VIR_DOMAIN_PAUSED_USER;
}

const char *probe_verdict_str(enum probe_verdict v)
{
	static const char *const names[] = {
		[PV_RUNNING] = "running", [PV_NOT_RUNNING] = "not-running", [PV_JOB] = "job",
		[PV_SYNC_JOB] = "sync-job", [PV_GONE] = "gone", [PV_ERROR] = "error",
	};

	return names[v];
}

struct async {
	virConnectPtr conn;	/* our own reference */
	char uuid[VIR_UUID_STRING_BUFLEN];
	probe_done_fn *done;
	void *arg;
	struct probe p;
	pthread_t thread;
	struct event *ev;
};

static unsigned threads;	/* touched on the loop thread only */

static void *run(void *arg)
{
	struct async *x = arg;

	probe_domain(x->conn, x->uuid, &x->p);
	event_active(x->ev, EV_READ, 0);	/* back to the loop */
	return NULL;
}

static void landed(evutil_socket_t fd, short what, void *arg)
{
	struct async *x = arg;

	(void)fd;
	(void)what;
	pthread_join(x->thread, NULL);
	threads--;
	virConnectClose(x->conn);
	event_free(x->ev);
	x->done(x->arg, x->uuid, &x->p);
	free(x);
}

int probe_async(struct event_base *base, virConnectPtr conn, const char *uuid,
		probe_done_fn *done, void *arg)
{
	struct async *x;

	if (!conn)
		return -1;
	x = xcalloc(1, sizeof(*x));
	x->done = done;
	x->arg = arg;
	snprintf(x->uuid, sizeof(x->uuid), "%s", uuid);
	x->ev = event_new(base, -1, 0, landed, x);
	x->conn = conn;
	virConnectRef(x->conn);
	if (pthread_create(&x->thread, NULL, run, x) != 0) {
		virConnectClose(x->conn);
		event_free(x->ev);
		free(x);
		return -1;
	}
	threads++;
	return 0;
}

unsigned probe_threads(void)
{
	return threads;
}
