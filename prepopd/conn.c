// SPDX-License-Identifier: GPL-2.0-only
/*
 * The libvirt connection: open, keepalive, domain events, and on close a
 * reconnect with capped exponential backoff and jitter, every registration
 * redone, then a full resync with what libvirt reports.
 */
#include <stdlib.h>
#include <string.h>

#include <libvirt/virterror.h>

#include "conn.h"
#include "domains.h"
#include "driver.h"
#include "log.h"
#include "prepop/xalloc.h"
#include "prepopd.h"

#define BACKOFF_MIN_MS 250
#define BACKOFF_MAX_MS 30000

struct conn {
	struct agent *a;
	virConnectPtr conn;
	bool connected;
	unsigned connects;
	int backoff_ms;
	struct event *reconnect_timer;
	int callbacks[8];
	int ncallbacks;
};

static void try_connect(evutil_socket_t fd, short what, void *arg);

static enum ds_event map_lifecycle(int event, int detail, bool *known)
{
	*known = true;
	switch (event) {
	case VIR_DOMAIN_EVENT_STARTED:
		return detail == VIR_DOMAIN_EVENT_STARTED_BOOTED ? DE_STARTED_BOOTED :
		       detail == VIR_DOMAIN_EVENT_STARTED_MIGRATED ? DE_STARTED_MIGRATED :
		       DE_STARTED_OTHER;
	case VIR_DOMAIN_EVENT_SUSPENDED:
		if (detail == VIR_DOMAIN_EVENT_SUSPENDED_MIGRATED ||
		    detail == VIR_DOMAIN_EVENT_SUSPENDED_POSTCOPY)
			return DE_SUSPENDED_MIGRATED;
		if (detail == VIR_DOMAIN_EVENT_SUSPENDED_POSTCOPY_FAILED)
			return DE_POSTCOPY_FAILED;
		return DE_SUSPENDED;
	case VIR_DOMAIN_EVENT_RESUMED:
		if (detail == VIR_DOMAIN_EVENT_RESUMED_MIGRATED)
			return DE_RESUMED_MIGRATED;
		if (detail == VIR_DOMAIN_EVENT_RESUMED_POSTCOPY)
			return DE_RESUMED_POSTCOPY;
		if (detail == VIR_DOMAIN_EVENT_RESUMED_POSTCOPY_FAILED)
			return DE_POSTCOPY_FAILED;
		return DE_RESUMED;
	case VIR_DOMAIN_EVENT_STOPPED:
		return detail == VIR_DOMAIN_EVENT_STOPPED_MIGRATED ? DE_STOPPED_MIGRATED : DE_STOPPED;
	case VIR_DOMAIN_EVENT_PMSUSPENDED:	/* the guest suspended itself (S3/S4) */
	case VIR_DOMAIN_EVENT_CRASHED:		/* kept paused by on_crash=preserve */
		return DE_SUSPENDED;
	}
	*known = false;
	return DE_COUNT;
}

static int on_lifecycle(virConnectPtr c, virDomainPtr d, int event, int detail, void *opaque)
{
	struct conn *cn = opaque;
	bool known;
	enum ds_event ev = map_lifecycle(event, detail, &known);

	(void)c;
	if (known)
		dom_event(cn->a, d, ev);
	return 0;
}

static void on_iteration(virConnectPtr c, virDomainPtr d, int iteration, void *opaque)
{
	struct conn *cn = opaque;

	(void)c;
	(void)iteration;
	dom_event(cn->a, d, DE_MIGRATION_ITERATION);
}

static void on_job_completed(virConnectPtr c, virDomainPtr d, virTypedParameterPtr p,
			     int n, void *opaque)
{
	(void)c;
	(void)p;
	(void)n;
	struct conn *cn = opaque;

	/* the state machine acts on it only for a domain migrating out */
	if (virDomainIsActive(d) == 1)
		dom_event(cn->a, d, DE_JOB_ENDED_HERE);
}

static bool is_memory_alias(const char *alias)
{
	static const char *const prefixes[] = { "dimm", "nvdimm", "virtiomem", "virtiopmem" };

	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (alias && !strncmp(alias, prefixes[i], strlen(prefixes[i])))
			return true;
	return false;
}

static void on_device_added(virConnectPtr c, virDomainPtr d, const char *alias, void *opaque)
{
	struct conn *cn = opaque;

	(void)c;
	if (is_memory_alias(alias))
		dom_event(cn->a, d, DE_MEMORY_ADDED);
}

static void on_device_removed(virConnectPtr c, virDomainPtr d, const char *alias, void *opaque)
{
	(void)c;
	(void)opaque;
	if (is_memory_alias(alias))
		log_dom(LOG_INFO, virDomainGetName(d), NULL, NULL, NULL,
			"memory device %s removed", alias);
}

static void on_metadata(virConnectPtr c, virDomainPtr d, int type, const char *nsuri, void *opaque)
{
	struct conn *cn = opaque;

	(void)c;
	(void)type;
	(void)nsuri;
	dom_event(cn->a, d, DE_METADATA_CHANGED);
}

static void on_memdev_size(virConnectPtr c, virDomainPtr d, const char *alias,
			   unsigned long long size, void *opaque)
{
	struct conn *cn = opaque;

	(void)c;
	(void)alias;
	(void)size;
	dom_event(cn->a, d, DE_MEMORY_ADDED);
}

static void schedule_reconnect(struct conn *c)
{
	struct timeval tv;
	int ms;

	c->backoff_ms = c->backoff_ms ? c->backoff_ms * 2 : BACKOFF_MIN_MS;
	if (c->backoff_ms > BACKOFF_MAX_MS)
		c->backoff_ms = BACKOFF_MAX_MS;
	ms = c->backoff_ms + rand() % (c->backoff_ms / 4 + 1);	/* jitter */
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(c->reconnect_timer, &tv);
}

static void on_close(virConnectPtr c, int reason, void *opaque);

static void drop(struct conn *c)
{
	for (int i = 0; i < c->ncallbacks; i++)
		virConnectDomainEventDeregisterAny(c->conn, c->callbacks[i]);
	c->ncallbacks = 0;
	virConnectUnregisterCloseCallback(c->conn, on_close);
	virConnectClose(c->conn);
	c->conn = NULL;
	c->connected = false;
	driver_set_conn(c->a->drv, NULL);
}

static void on_close_later(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	(void)fd;
	(void)what;
	if (c->conn)
		drop(c);
	dom_connection_changed(c->a);
	schedule_reconnect(c);
}

static void on_close(virConnectPtr vc, int reason, void *opaque)
{
	struct conn *c = opaque;
	static const struct timeval now = { 0, 0 };

	(void)vc;
	log_msg(LOG_WARNING, "connection to %s closed (%s); reconnecting", c->a->cfg.uri,
		reason == VIR_CONNECT_CLOSE_REASON_ERROR ? "error" :
		reason == VIR_CONNECT_CLOSE_REASON_EOF ? "libvirtd went away" :
		reason == VIR_CONNECT_CLOSE_REASON_KEEPALIVE ? "keepalive timed out" : "closed");
	/*
	 * libvirt calls this on whichever thread found the socket closed (a
	 * slice's, a probe's): the loop alone marks the connection gone, closes
	 * and reopens it.
	 */
	event_base_once(c->a->base, -1, EV_TIMEOUT, on_close_later, c, &now);
}

static void register_events(struct conn *c)
{
	static const struct {
		int id;
		virConnectDomainEventGenericCallback cb;
	} evs[] = {
		{ VIR_DOMAIN_EVENT_ID_LIFECYCLE, VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle) },
		{ VIR_DOMAIN_EVENT_ID_MIGRATION_ITERATION, VIR_DOMAIN_EVENT_CALLBACK(on_iteration) },
		{ VIR_DOMAIN_EVENT_ID_JOB_COMPLETED, VIR_DOMAIN_EVENT_CALLBACK(on_job_completed) },
		{ VIR_DOMAIN_EVENT_ID_DEVICE_ADDED, VIR_DOMAIN_EVENT_CALLBACK(on_device_added) },
		{ VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED, VIR_DOMAIN_EVENT_CALLBACK(on_device_removed) },
		{ VIR_DOMAIN_EVENT_ID_METADATA_CHANGE, VIR_DOMAIN_EVENT_CALLBACK(on_metadata) },
		{ VIR_DOMAIN_EVENT_ID_MEMORY_DEVICE_SIZE_CHANGE, VIR_DOMAIN_EVENT_CALLBACK(on_memdev_size) },
	};

	for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++) {
		int id = virConnectDomainEventRegisterAny(c->conn, NULL, evs[i].id, evs[i].cb, c, NULL);

		if (id < 0)
			log_msg(LOG_WARNING, "cannot register domain event %d", evs[i].id);
		else
			c->callbacks[c->ncallbacks++] = id;
	}
}

static void resync(struct conn *cn)
{
	struct agent *a = cn->a;
	virDomainPtr *doms = NULL;
	int n = virConnectListAllDomains(cn->conn, &doms, VIR_CONNECT_LIST_DOMAINS_ACTIVE);

	if (n < 0) {
		log_msg(LOG_WARNING, "cannot list domains: %s", virGetLastErrorMessage());
		return;
	}
	dom_mark_unseen(a);
	for (int i = 0; i < n; i++) {
		int state, reason;

		/* the state only: a job query could wait behind a libvirt job, and a
		 * populate asks about jobs before every slice anyway */
		if (virDomainGetState(doms[i], &state, &reason, 0) == 0 &&
		    state != VIR_DOMAIN_SHUTOFF)
			dom_seen(a, doms[i], state, reason);
		virDomainFree(doms[i]);
	}
	free(doms);
	dom_sweep(a);
	log_msg(LOG_INFO, "resync: %d running domain%s", n, n == 1 ? "" : "s");
}

static void try_connect(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	const char *uri = c->a->cfg.uri;

	(void)fd;
	(void)what;
	c->conn = virConnectOpen(uri);
	if (!c->conn) {
		log_msg(LOG_WARNING, "cannot connect to %s: %s", uri, virGetLastErrorMessage());
		schedule_reconnect(c);
		dom_connection_changed(c->a);
		return;
	}
	/*
	 * A hung libvirtd is declared dead after interval * (count + 1): 15 s,
	 * under the unit's WatchdogSec=30s even for a loop-thread call waiting
	 * on it.
	 */
	if (virConnectSetKeepAlive(c->conn, 5, 2) < 0)
		log_msg(LOG_WARNING, "no keepalive on %s", uri);
	virConnectRegisterCloseCallback(c->conn, on_close, c, NULL);
	register_events(c);
	c->connected = true;
	c->backoff_ms = 0;
	c->connects++;
	driver_set_conn(c->a->drv, c->conn);
	log_msg(LOG_INFO, "connected to %s", uri);
	resync(c);
	dom_connection_changed(c->a);
}

void conn_start(struct agent *a)
{
	struct conn *c = xcalloc(1, sizeof(*c));

	c->a = a;
	c->reconnect_timer = evtimer_new(a->base, try_connect, c);
	a->conn = c;
	try_connect(-1, 0, c);
}

void conn_stop(struct conn *c)
{
	if (!c)
		return;
	if (c->conn)
		drop(c);
	if (c->reconnect_timer)
		event_free(c->reconnect_timer);
	free(c);
}

virConnectPtr conn_get(const struct conn *c)
{
	return c && c->connected ? c->conn : NULL;
}

unsigned conn_connects(const struct conn *c)
{
	return c ? c->connects : 0;
}
