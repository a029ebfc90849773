// SPDX-License-Identifier: GPL-2.0-only
/*
 * Watching someone else's libvirt job on a guest (an outgoing migration, a
 * save, a dump, a snapshot) until it ends: libvirt 9.0 sends the source no
 * event when a pre-copy is cancelled, so the job is polled once a second.
 * The query can wait behind a synchronous job, so it runs off the loop
 * (probe_async); a tick whose previous answer is still out asks nothing.
 */
#include <stdlib.h>

#include "conn.h"
#include "domains.h"
#include "jobwatch.h"
#include "log.h"
#include "prepop/xalloc.h"
#include "prepopd.h"
#include "probe.h"

#define JOB_POLL_MS 1000

struct jobwatch {
	struct agent *a;
	struct adom *d;
	struct event *timer;
	bool probing;	/* a query is out */
};

static void answered(void *arg, const char *uuid, const struct probe *p)
{
	struct agent *a = arg;
	struct adom *d = dom_find(a, uuid);
	struct jobwatch *w = d ? d->watch : NULL;

	agent_thread_ended(a);
	if (!w)
		return;	/* forgotten meanwhile */
	log_dom(LOG_DEBUG, d->name, d->uuid, NULL, NULL, "job watch: %s: %s (%.0f ms)",
		probe_verdict_str(p->verdict), p->msg, p->took_ns / 1e6);
	w->probing = false;
	if (!event_pending(w->timer, EV_TIMEOUT, NULL))
		return;	/* no longer watched */
	if (p->took_ns > PROBE_STALE_NS)
		return;	/* too old to act on: the next tick asks again */
	switch (p->verdict) {
	case PV_RUNNING:
	case PV_NOT_RUNNING:
		jobwatch_stop(d);
		log_dom(LOG_INFO, d->name, d->uuid, NULL, NULL,
			"the libvirt job ended and the domain is still here (%s)", p->msg);
		dom_event_uuid(a, uuid, DE_JOB_ENDED_HERE);
		break;
	case PV_GONE:
		jobwatch_stop(d);	/* its STOPPED event forgets it */
		break;
	case PV_JOB:
	case PV_SYNC_JOB:
	case PV_ERROR:
		break;	/* still going, or ask again */
	}
}

static void tick(evutil_socket_t fd, short what, void *arg)
{
	struct jobwatch *w = arg;
	struct agent *a = w->a;

	(void)fd;
	(void)what;
	if (w->probing || a->stopping)
		return;
	if (probe_async(a->base, conn_get(a->conn), w->d->uuid, answered, a) == 0)
		w->probing = true;
}

void jobwatch_start(struct agent *a, struct adom *d)
{
	static const struct timeval tv = { JOB_POLL_MS / 1000, (JOB_POLL_MS % 1000) * 1000 };

	if (!d->watch) {
		d->watch = xcalloc(1, sizeof(*d->watch));
		d->watch->a = a;
		d->watch->d = d;
		d->watch->timer = event_new(a->base, -1, EV_PERSIST, tick, d->watch);
	}
	event_add(d->watch->timer, &tv);
}

void jobwatch_stop(struct adom *d)
{
	if (d->watch)
		event_del(d->watch->timer);
}

void jobwatch_free(struct adom *d)
{
	if (!d->watch)
		return;
	event_free(d->watch->timer);
	free(d->watch);
	d->watch = NULL;
}
