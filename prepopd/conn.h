/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The libvirt connection, and the only place libvirt's events arrive: each
 * is mapped to a state machine event for the domain table (domains.h).
 */
#ifndef PREPOP_CONN_H
#define PREPOP_CONN_H

#include <libvirt/libvirt.h>
#include <stdbool.h>

struct agent;
struct conn;

/* a->conn: connect now (and again, with backoff, whenever the connection closes). */
void conn_start(struct agent *a);
void conn_stop(struct conn *c);
/* The open connection, or NULL while disconnected. */
virConnectPtr conn_get(const struct conn *c);
unsigned conn_connects(const struct conn *c);	/* successful connects so far */

#endif
