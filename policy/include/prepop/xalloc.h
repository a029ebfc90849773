/* SPDX-License-Identifier: GPL-2.0-only */
/* Allocation that aborts on exhaustion: a daemon that cannot allocate a few bytes cannot recover. */
#ifndef PREPOP_XALLOC_H
#define PREPOP_XALLOC_H

#include <stddef.h>

void xoom(void) __attribute__((noreturn));
void *xcalloc(size_t n, size_t sz);
void *xreallocarray(void *p, size_t n, size_t sz);
char *xstrdup(const char *s);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
