/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The crash-safety record: the domains prepopd has paused, one UUID a line
 * in STATE_DIR/paused.  Written before every pause (write, fsync, rename,
 * fsync the directory) and cleared after the resume, so a prepopd killed at
 * any instant finds, when it is back, every guest it may have left paused.
 */
#ifndef PREPOP_STATEFILE_H
#define PREPOP_STATEFILE_H

#include <stddef.h>

int statefile_add(const char *dir, const char *uuid);
int statefile_remove(const char *dir, const char *uuid);
/* The recorded UUIDs (caller frees each and the array); 0, or -1 with errno. */
int statefile_list(const char *dir, char ***uuids, size_t *n);

#endif
