/* SPDX-License-Identifier: GPL-2.0-only */
/* Helpers for the unit tests: cmocka, temporary policy trees, fixtures. */
#ifndef PP_TESTUTIL_H
#define PP_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "prepop/errors.h"
#include "prepop/facts.h"
#include "prepop/policy.h"

/* A fresh temporary directory; tu_rmtree removes it. */
char *tu_mkdtemp(void);
void tu_write(const char *dir, const char *name, const char *text);
void tu_rmtree(char *dir);
/* Contents of a file; aborts the test if it cannot be read. */
char *tu_read(const char *path, size_t *len);

/* A policy directory of {name, text} pairs, NULL-terminated. */
char *tu_policy_dir(const char *const *files);

/* True if some error has this file suffix (or NULL), path (or NULL) and message substring. */
int tu_has_err(const struct pp_errs *e, const char *file_suffix,
	       const char *path, const char *msg_part);
void tu_dump_errs(const struct pp_errs *e);

/* Parse an example domain from policy/examples/domains, asserting success. */
void tu_domain(const char *example, struct pp_domain *d);
/* Parse an inline XML string, returning the result of pp_domain_parse. */
int tu_domain_str(const char *xml, struct pp_domain *d, struct pp_errs *errs);

#endif
