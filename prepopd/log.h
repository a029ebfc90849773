/* SPDX-License-Identifier: GPL-2.0-only */
/* Logging: journald with structured fields when it is there, stderr otherwise. */
#ifndef PREPOP_LOG_H
#define PREPOP_LOG_H

#include <syslog.h>

void log_init(const char *ident);
void log_msg(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A message about one domain: DOMAIN=, DOMAIN_UUID=, MODE=, REASON= fields. */
void log_dom(int prio, const char *name, const char *uuid, const char *mode,
	     const char *reason, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

#endif
