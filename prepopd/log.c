// SPDX-License-Identifier: GPL-2.0-only
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include "log.h"

static const char *ident = "prepopd";
static int to_journal, debug;

void log_init(const char *id)
{
	ident = id;
	debug = getenv("PREPOP_DEBUG") != NULL;
	/* under systemd stderr goes to the journal anyway; fields need the API */
	to_journal = access("/run/systemd/journal/socket", W_OK) == 0;
}

static void emit(int prio, const char *name, const char *uuid, const char *mode,
		 const char *reason, const char *msg)
{
	if (prio == LOG_DEBUG && !debug)
		return;
	if (to_journal) {
		sd_journal_send("MESSAGE=%s", msg, "PRIORITY=%d", prio,
				"SYSLOG_IDENTIFIER=%s", ident,
				"DOMAIN=%s", name ? name : "", "DOMAIN_UUID=%s", uuid ? uuid : "",
				"MODE=%s", mode ? mode : "", "REASON=%s", reason ? reason : "",
				NULL);
		return;
	}
	if (name)
		fprintf(stderr, "%s: %s: %s\n", ident, name, msg);
	else
		fprintf(stderr, "%s: %s\n", ident, msg);
}

static void vlog(int prio, const char *name, const char *uuid, const char *mode,
		 const char *reason, const char *fmt, va_list ap)
	__attribute__((format(printf, 6, 0)));

static void vlog(int prio, const char *name, const char *uuid, const char *mode,
		 const char *reason, const char *fmt, va_list ap)
{
	char buf[1024];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	emit(prio, name, uuid, mode, reason, buf);
}

void log_msg(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(prio, NULL, NULL, NULL, NULL, fmt, ap);
	va_end(ap);
}

void log_dom(int prio, const char *name, const char *uuid, const char *mode,
	     const char *reason, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(prio, name, uuid, mode, reason, fmt, ap);
	va_end(ap);
}
