/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The control socket (docs/control.md): a Unix stream socket, root or the
 * control group only (file mode, then the peer's credentials), one JSON
 * request a line, one JSON answer a line, served on the loop without ever
 * waiting on a client.
 */
#ifndef PREPOP_CONTROL_H
#define PREPOP_CONTROL_H

#include "prepop/errors.h"

struct agent;

/* a->ctl: listen on a->cfg.control_socket.  0, or -1 with errs. */
int control_start(struct agent *a, struct pp_errs *errs);
/* Close every client and the socket, and remove it. */
void control_stop(struct agent *a);

#endif
