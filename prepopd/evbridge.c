// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "evbridge.h"
#include "prepop/xalloc.h"

struct reg {
	int id;
	bool is_timer;
	bool removed;
	int fd;			/* handles */
	int events;		/* handles: VIR_EVENT_HANDLE_* wanted */
	int ms;			/* timers: -1 off, 0 every iteration */
	virEventHandleCallback hcb;
	virEventTimeoutCallback tcb;
	void *opaque;
	virFreeCallback ff;
	struct event *ev;
	struct reg *next;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct event_base *ebase;
static struct reg *regs;
static int next_id = 1;

static struct reg *find(int id, bool timer)
{
	for (struct reg *r = regs; r; r = r->next)
		if (r->id == id && r->is_timer == timer && !r->removed)
			return r;
	return NULL;
}

/* poll(2) revents into libvirt's flags: libevent folds ERR/HUP into read/write. */
static int to_vir(short revents)
{
	int e = 0;

	if (revents & POLLIN)
		e |= VIR_EVENT_HANDLE_READABLE;
	if (revents & POLLOUT)
		e |= VIR_EVENT_HANDLE_WRITABLE;
	if (revents & POLLERR)
		e |= VIR_EVENT_HANDLE_ERROR;
	if (revents & POLLHUP)
		e |= VIR_EVENT_HANDLE_HANGUP;
	return e;
}

static void on_handle(evutil_socket_t fd, short what, void *arg)
{
	struct reg *r = arg;
	struct pollfd p = { .fd = fd };
	virEventHandleCallback cb;
	void *opaque;
	int id, events;

	pthread_mutex_lock(&lock);
	if (r->removed) {
		pthread_mutex_unlock(&lock);
		return;
	}
	p.events = (r->events & VIR_EVENT_HANDLE_READABLE ? POLLIN : 0) |
		   (r->events & VIR_EVENT_HANDLE_WRITABLE ? POLLOUT : 0);
	cb = r->hcb;
	opaque = r->opaque;
	id = r->id;
	pthread_mutex_unlock(&lock);
	if (poll(&p, 1, 0) > 0)
		events = to_vir(p.revents);
	else
		events = (what & EV_READ ? VIR_EVENT_HANDLE_READABLE : 0) |
			 (what & EV_WRITE ? VIR_EVENT_HANDLE_WRITABLE : 0);
	if (events)
		cb(id, fd, events, opaque);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct reg *r = arg;
	virEventTimeoutCallback cb;
	void *opaque;
	int id;

	(void)fd;
	(void)what;
	pthread_mutex_lock(&lock);
	if (r->removed || r->ms < 0) {
		pthread_mutex_unlock(&lock);
		return;
	}
	cb = r->tcb;
	opaque = r->opaque;
	id = r->id;
	pthread_mutex_unlock(&lock);
	cb(id, opaque);
	/*
	 * Timers are one-shot libevent events re-armed after each run: a
	 * persistent 0 s timeout does not fire every iteration in libevent.
	 */
	pthread_mutex_lock(&lock);
	if (!r->removed && r->ms >= 0 && !event_pending(r->ev, EV_TIMEOUT, NULL)) {
		struct timeval tv = { r->ms / 1000, (r->ms % 1000) * 1000 };

		event_add(r->ev, &tv);
	}
	pthread_mutex_unlock(&lock);
}

/*
 * With the lock held: (re)arm r's libevent event for its current settings.
 * libvirt calls in from whichever thread makes a libvirt call, and
 * event_del would wait for r's callback if it runs on the loop thread
 * meanwhile -- while that callback, inside libvirt, may need the lock we
 * hold.  So never wait: the callback running elsewhere finishes with the
 * settings it started with (libvirt's client ignores a wake-up it did not
 * want) and libevent does not touch the event once it has returned.
 */
static void arm(struct reg *r)
{
	event_del_noblock(r->ev);
	if (r->is_timer) {
		struct timeval tv = { r->ms / 1000, (r->ms % 1000) * 1000 };

		event_assign(r->ev, ebase, -1, 0, on_timer, r);
		if (r->ms >= 0)
			event_add(r->ev, &tv);
	} else {
		short what = EV_PERSIST;

		if (r->events & VIR_EVENT_HANDLE_READABLE)
			what |= EV_READ;
		if (r->events & VIR_EVENT_HANDLE_WRITABLE)
			what |= EV_WRITE;
		event_assign(r->ev, ebase, r->fd, what, on_handle, r);
		/* ERROR/HANGUP alone: poll readability, as glib's bridge does */
		if (!(what & (EV_READ | EV_WRITE)) &&
		    (r->events & (VIR_EVENT_HANDLE_ERROR | VIR_EVENT_HANDLE_HANGUP)))
			event_assign(r->ev, ebase, r->fd, EV_PERSIST | EV_READ, on_handle, r);
		if (r->events)
			event_add(r->ev, NULL);
	}
}

static int add(struct reg *r)
{
	int id;

	r->ev = event_new(ebase, -1, 0, on_timer, r);
	if (!r->ev) {
		free(r);
		return -1;
	}
	pthread_mutex_lock(&lock);
	r->id = id = next_id++;
	r->next = regs;
	regs = r;
	arm(r);
	pthread_mutex_unlock(&lock);
	return id;
}

static struct reg *new_reg(void *opaque, virFreeCallback ff)
{
	struct reg *r = xcalloc(1, sizeof(*r));

	r->opaque = opaque;
	r->ff = ff;
	return r;
}

int evbridge_add_handle(int fd, int events, virEventHandleCallback cb,
			void *opaque, virFreeCallback ff)
{
	struct reg *r = new_reg(opaque, ff);

	r->fd = fd;
	r->events = events;
	r->hcb = cb;
	return add(r);
}

int evbridge_add_timeout(int ms, virEventTimeoutCallback cb, void *opaque,
			 virFreeCallback ff)
{
	struct reg *r = new_reg(opaque, ff);

	r->is_timer = true;
	r->ms = ms;
	r->tcb = cb;
	return add(r);
}

static void update(int id, bool timer, int value)
{
	struct reg *r;

	pthread_mutex_lock(&lock);
	r = find(id, timer);
	if (r) {
		if (timer)
			r->ms = value;
		else
			r->events = value;
		arm(r);
	}
	pthread_mutex_unlock(&lock);
}

void evbridge_update_handle(int watch, int events)
{
	update(watch, false, events);
}

void evbridge_update_timeout(int timer, int ms)
{
	update(timer, true, ms);
}

/* Runs from the loop, on a clean stack: free callbacks may call libvirt. */
static void reap(evutil_socket_t fd, short what, void *arg)
{
	struct reg *r = arg;

	(void)fd;
	(void)what;
	if (r->ff)
		r->ff(r->opaque);
	event_free(r->ev);
	free(r);
}

static int remove_reg(int id, bool timer)
{
	static const struct timeval now = { 0, 0 };
	struct reg **p, *r = NULL;

	pthread_mutex_lock(&lock);
	for (p = &regs; *p; p = &(*p)->next) {
		if ((*p)->id == id && (*p)->is_timer == timer && !(*p)->removed) {
			r = *p;
			*p = r->next;
			break;
		}
	}
	if (r) {
		r->removed = true;
		event_del_noblock(r->ev);	/* as in arm(); reap frees it from the loop */
	}
	pthread_mutex_unlock(&lock);
	if (!r)
		return -1;
	if (event_base_once(ebase, -1, EV_TIMEOUT, reap, r, &now) < 0)
		return -1;
	return 0;
}

int evbridge_remove_handle(int watch)
{
	return remove_reg(watch, false);
}

int evbridge_remove_timeout(int timer)
{
	return remove_reg(timer, true);
}

int evbridge_count(void)
{
	int n = 0;

	pthread_mutex_lock(&lock);
	for (struct reg *r = regs; r; r = r->next)
		n++;
	pthread_mutex_unlock(&lock);
	return n;
}

void evbridge_register(struct event_base *base)
{
	ebase = base;
	virEventRegisterImpl(evbridge_add_handle, evbridge_update_handle,
			     evbridge_remove_handle, evbridge_add_timeout,
			     evbridge_update_timeout, evbridge_remove_timeout);
}
