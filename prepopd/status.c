// SPDX-License-Identifier: GPL-2.0-only
/* What prepopd believes, for prepopctl status: STATE_DIR/status.json, replaced atomically. */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "conn.h"
#include "domains.h"
#include "log.h"
#include "override.h"
#include "prepopd.h"
#include "status.h"
#include "timefmt.h"

static bool pending;	/* a write is scheduled */

static json_object *str_or_null(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
}

static json_object *time_or_null(const struct timespec *ts)
{
	char buf[40];

	return ts->tv_sec ? json_object_new_string(time_format(ts, buf, sizeof(buf))) : NULL;
}

/* The populate in progress, or the last one; null if none ever ran. */
static json_object *populate_json(const struct pop_stats *s)
{
	json_object *o;

	if (!s)
		return NULL;
	o = json_object_new_object();
	json_object_object_add(o, "phase", json_object_new_string(pop_phase_str(s->phase)));
	json_object_object_add(o, "slices", json_object_new_int64(s->slices));
	json_object_object_add(o, "leaves", json_object_new_uint64(s->mapped_4k + s->mapped_2m + s->mapped_1g));
	json_object_object_add(o, "mapped_4k", json_object_new_uint64(s->mapped_4k));
	json_object_object_add(o, "mapped_2m", json_object_new_uint64(s->mapped_2m));
	json_object_object_add(o, "mapped_1g", json_object_new_uint64(s->mapped_1g));
	json_object_object_add(o, "fault_calls", json_object_new_uint64(s->fault_calls));
	json_object_object_add(o, "max_hold_ns", json_object_new_uint64(s->max_hold_ns));
	json_object_object_add(o, "max_kick_ns", json_object_new_uint64(s->max_kick_ns));
	json_object_object_add(o, "kicks", json_object_new_uint64(s->kicks));
	json_object_object_add(o, "populate_ns", json_object_new_uint64(s->populate_ns));
	json_object_object_add(o, "started", time_or_null(&s->started));
	json_object_object_add(o, "finished", time_or_null(&s->finished));
	json_object_object_add(o, "stop", str_or_null(pop_stop_str(s->stop)));
	json_object_object_add(o, "stop_detail", s->stop ? json_object_new_string(s->detail) : NULL);
	return o;
}

json_object *status_dom_json(struct agent *a, const struct adom *d)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "name", json_object_new_string(d->name));
	json_object_object_add(o, "uuid", json_object_new_string(d->uuid));
	json_object_object_add(o, "state", json_object_new_string(ds_state_str(d->sm.state)));
	json_object_object_add(o, "while_paused", json_object_new_boolean(d->sm.while_paused));
	json_object_object_add(o, "decisions", json_object_new_int64(d->decisions));
	json_object_object_add(o, "mode", d->decided ? json_object_new_string(pp_mode_str(d->mode)) : NULL);
	json_object_object_add(o, "reason", d->decided ? json_object_new_string(pp_reason_str(d->reason)) : NULL);
	json_object_object_add(o, "explanation", d->decided ? json_object_new_string(d->explanation) : NULL);
	json_object_object_add(o, "dry_run", json_object_new_boolean(d->dry_run));
	json_object_object_add(o, "flavor", str_or_null(d->flavor));
	json_object_object_add(o, "override", override_get(a->ovr, d->uuid) ?
			       json_object_new_string(pp_mode_str(override_get(a->ovr, d->uuid)->mode)) : NULL);
	json_object_object_add(o, "error", str_or_null(d->error));
	json_object_object_add(o, "generation", d->decided ? json_object_new_int64(d->generation) : NULL);
	json_object_object_add(o, "decided_at", time_or_null(&d->decided_at));
	json_object_object_add(o, "populate", populate_json(dom_populate(a, d)));
	return o;
}

static const char *status_line(struct agent *a)
{
	static char buf[256];
	unsigned pre = 0;

	for (const struct adom *d = dom_first(a); d; d = d->next)
		pre += d->decided && d->mode == PP_MODE_PREPOPULATE;
	snprintf(buf, sizeof(buf), "%s; %u domains, %u prepopulate, %u populating, %u queued%s%s%s",
		 conn_get(a->conn) ? "connected" : "disconnected", dom_count(a), pre,
		 driver_running(a->drv), driver_queued(a->drv),
		 agent_observe_only(a) ? "; observe-only" : "",
		 a->cfg.observe_only ? " (configured)" : !a->mod.present ? " (no /dev/kvm_prepop)" :
		 !a->mod.usable ? " (the module cannot hold vCPUs)" : "",
		 a->ps.error ? "; policy reload FAILED, old policy kept" : "");
	return buf;
}

static void write_now(struct agent *a);

static void on_flush(evutil_socket_t fd, short what, void *arg)
{
	struct agent *a = arg;

	(void)fd;
	(void)what;
	pending = false;
	write_now(a);
}

/*
 * Coalesced: one write per loop iteration, however many domains changed
 * (a resync of 1,000 domains writes the file once, not 1,000 times).
 */
void status_write(struct agent *a)
{
	static const struct timeval now = { 0, 0 };

	if (pending)
		return;
	pending = true;
	event_base_once(a->base, -1, EV_TIMEOUT, on_flush, a, &now);
}

static int cmp_uint(const void *x, const void *y)
{
	unsigned a = *(const unsigned *)x, b = *(const unsigned *)y;

	return a < b ? -1 : a > b;
}

static json_object *latency_json(const struct agent *a)
{
	static unsigned v[LAT_SAMPLES];
	unsigned total, n = dom_latencies(a, v, &total);
	json_object *o = json_object_new_object();

	qsort(v, n, sizeof(*v), cmp_uint);
	json_object_object_add(o, "decisions", json_object_new_int64(total));
	json_object_object_add(o, "p50_us", n ? json_object_new_int64(v[n / 2]) : NULL);
	json_object_object_add(o, "p99_us", n ? json_object_new_int64(v[(n * 99) / 100]) : NULL);
	json_object_object_add(o, "max_us", n ? json_object_new_int64(v[n - 1]) : NULL);
	return o;
}

static json_object *module_json(const struct module *m)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "present", json_object_new_boolean(m->present));
	json_object_object_add(o, "usable", json_object_new_boolean(m->usable));
	json_object_object_add(o, "api_version", m->api_version ? json_object_new_int64(m->api_version) : NULL);
	json_object_object_add(o, "hold_ceiling_ns", m->usable ? json_object_new_uint64(m->hold_ceiling_ns) : NULL);
	json_object_object_add(o, "engine", m->usable ? json_object_new_string(module_engine_str(m->engine)) : NULL);
	json_object_object_add(o, "why_not", m->usable ? NULL : json_object_new_string(m->why));
	return o;
}

static json_object *populates_json(const struct agent *a)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "max_concurrent", json_object_new_int64(a->ps.policy->rollout.max_concurrent_guests));
	json_object_object_add(o, "running", json_object_new_int64(driver_running(a->drv)));
	json_object_object_add(o, "queued", json_object_new_int64(driver_queued(a->drv)));
	return o;
}

json_object *status_json(struct agent *a)
{
	json_object *o = json_object_new_object(), *p = json_object_new_object();
	json_object *doms = json_object_new_array();

	json_object_object_add(o, "version", json_object_new_int(1));
	json_object_object_add(o, "pid", json_object_new_int(getpid()));
	json_object_object_add(o, "uri", json_object_new_string(a->cfg.uri));
	json_object_object_add(o, "connected", json_object_new_boolean(conn_get(a->conn) != NULL));
	json_object_object_add(o, "connects", json_object_new_int64(conn_connects(a->conn)));
	json_object_object_add(o, "observe_only", json_object_new_boolean(agent_observe_only(a)));
	json_object_object_add(o, "module_present", json_object_new_boolean(a->mod.present));
	json_object_object_add(o, "module", module_json(&a->mod));
	json_object_object_add(o, "populates", populates_json(a));
	/* slices and libvirt job queries out on their threads: the loop never waits for them */
	json_object_object_add(o, "threads_out", json_object_new_int64(agent_threads_out(a)));
	json_object_object_add(p, "dir", json_object_new_string(a->cfg.policy_dir));
	json_object_object_add(p, "generation", json_object_new_int64(a->ps.generation));
	json_object_object_add(p, "reload_error", str_or_null(a->ps.error));
	json_object_object_add(o, "policy", p);
	for (const struct adom *d = dom_first(a); d; d = d->next)
		json_object_array_add(doms, status_dom_json(a, d));
	json_object_object_add(o, "domains", doms);
	json_object_object_add(o, "event_to_decision", latency_json(a));
	json_object_object_add(o, "status", json_object_new_string(status_line(a)));
	return o;
}

static void write_now(struct agent *a)
{
	json_object *o = status_json(a);
	const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY);
	char path[4096], tmp[4096];
	int fd;


	snprintf(path, sizeof(path), "%s/status.json", a->cfg.state_dir);
	snprintf(tmp, sizeof(tmp), "%s/.status.json.tmp", a->cfg.state_dir);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		log_msg(LOG_WARNING, "cannot create %s: %s", tmp, strerror(errno));
	} else {
		ssize_t n = write(fd, text, strlen(text));
		int werr = n < 0 ? errno : ENOSPC;	/* a short write says no more */

		if (close(fd) < 0 && n == (ssize_t)strlen(text)) {
			n = -1;
			werr = errno;
		}
		if (n != (ssize_t)strlen(text))
			log_msg(LOG_WARNING, "cannot write %s: %s", tmp, strerror(werr));
		else if (rename(tmp, path) < 0)
			log_msg(LOG_WARNING, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
	}
	json_object_put(o);
	sd_notifyf(0, "STATUS=%s", status_line(a));
}
