/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Is anyone else working on a guest?  Asked of libvirt before every slice
 * and while a guest's job is watched.  virDomainGetJobStats is the only
 * call that sees an async job (outgoing migration, save, dump, snapshot,
 * backup) -- virDomainGetControlInfo reports only a synchronous job, and
 * says "ok" all through a save, a live dump or a migration -- and it takes
 * a query job, so it waits behind any synchronous job (up to libvirt's
 * 30 s).  So it is never asked on the loop thread: probe_domain runs on a
 * slice's thread, probe_async on a thread of its own.
 */
#ifndef PREPOP_PROBE_H
#define PREPOP_PROBE_H

#include <libvirt/libvirt.h>
#include <stdbool.h>
#include <stdint.h>

#define PROBE_STALE_NS 1000000000ull	/* an answer older than this is not acted on */

/* In the order they are found: the first that applies. */
enum probe_verdict {
	PV_GONE,	/* not there, or shut off */
	PV_ERROR,	/* libvirt did not answer */
	PV_SYNC_JOB,	/* a synchronous job (a hotplug, a monitor call of an async
			 * job): ask again shortly */
	PV_JOB,		/* an async job: migration, save, dump, snapshot, backup */
	PV_NOT_RUNNING,	/* no job; paused, pmsuspended, crashed: its owner's */
	PV_RUNNING,	/* running, no job: nobody else is working on it */
};

struct probe {
	enum probe_verdict verdict;
	int state, reason;	/* virDomainGetState */
	int job_op;		/* VIR_DOMAIN_JOB_OPERATION_*, with PV_JOB */
	uint64_t took_ns;
	char msg[200];		/* what was found, for logs and status */
};

/* Blocking: may wait on a libvirt job.  Never call it on the loop thread. */
void probe_domain(virConnectPtr conn, const char *uuid, struct probe *p);
const char *probe_verdict_str(enum probe_verdict v);
/*
 * Paused by a user (virsh suspend, or an incoming migration that completed
 * paused), not for an I/O error, a watchdog, a crash or anyone's job.
 */
bool probe_paused_by_user(int state, int reason);

struct event_base;
typedef void probe_done_fn(void *arg, const char *uuid, const struct probe *p);
/*
 * probe_domain on a thread of its own; done(arg, ...) runs on base's loop
 * with the answer (the caller counts the thread back there).  Owns copies
 * of what it needs, so the domain may go meanwhile.  0, or -1 (conn NULL,
 * no thread).
 */
int probe_async(struct event_base *base, virConnectPtr conn, const char *uuid,
		probe_done_fn *done, void *arg);
/* Threads probe_async has out. */
unsigned probe_threads(void);

#endif
