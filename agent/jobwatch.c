// SPDX-License-Identifier: GPL-2.0-only
/*
 * Watching someone else's libvirt job on a guest (an outgoing migration, a
 * save, a dump, a snapshot) until it ends: libvirt 9.0 sends the source no
 * event when a pre-copy is cancelled, so the job is polled once a second.
 * The query can wait behind a synchronous job, so it runs off the loop
 * (probe_async); a tick whose previous answer is still out asks nothing.
 */
#include "agent.h"
#include "log.h"
#include "probe.h"

#define JOB_POLL_MS 1000

static void answered(struct agent *a, const char *uuid, const struct probe *p)
{
	struct adom *d = dom_find(a, uuid);

	if (!d)
		return;	/* forgotten meanwhile */
	log_dom(LOG_DEBUG, d->name, d->uuid, NULL, NULL, "job watch: %s: %s (%.0f ms)",
		probe_verdict_str(p->verdict), p->msg, p->took_ns / 1e6);
	d->job_probing = false;
	if (!d->job_timer || !event_pending(d->job_timer, EV_TIMEOUT, NULL))
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
	struct adom *d = arg;

	(void)fd;
	(void)what;
	if (d->job_probing)
		return;
	if (probe_async(d->agent, d->uuid, answered) == 0)
		d->job_probing = true;
}

void jobwatch_start(struct agent *a, struct adom *d)
{
	static const struct timeval tv = { JOB_POLL_MS / 1000, (JOB_POLL_MS % 1000) * 1000 };

	if (!d->job_timer)
		d->job_timer = event_new(a->base, -1, EV_PERSIST, tick, d);
	event_add(d->job_timer, &tv);
}

void jobwatch_stop(struct adom *d)
{
	if (d->job_timer)
		event_del(d->job_timer);
}
