/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * libvirt's event loop hosted by a libevent base (virEventRegisterImpl),
 * after libvirt-glib's bridge: handles with READABLE/WRITABLE/ERROR/HANGUP,
 * several registrations of one fd, timeouts where -1 disables and 0 fires
 * every iteration, free callbacks run later from the loop, never from inside
 * the remove call.  Safe to call from any thread.
 */
#ifndef PREPOP_EVBRIDGE_H
#define PREPOP_EVBRIDGE_H

#include <event2/event.h>
#include <libvirt/libvirt.h>

/* Install the bridge on base; call once, before virConnectOpen. */
void evbridge_register(struct event_base *base);

/* The same functions, exposed for the unit test. */
int evbridge_add_handle(int fd, int events, virEventHandleCallback cb,
			void *opaque, virFreeCallback ff);
void evbridge_update_handle(int watch, int events);
int evbridge_remove_handle(int watch);
int evbridge_add_timeout(int ms, virEventTimeoutCallback cb, void *opaque,
			 virFreeCallback ff);
void evbridge_update_timeout(int timer, int ms);
int evbridge_remove_timeout(int timer);
/* Live registrations, for tests and status. */
int evbridge_count(void);

#endif
