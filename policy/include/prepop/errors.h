/* SPDX-License-Identifier: GPL-2.0-only */
/* A list of input errors, each naming the file and the JSON/XML path at fault. */
#ifndef PREPOP_ERRORS_H
#define PREPOP_ERRORS_H

#include <stddef.h>
#include <stdio.h>

struct pp_err {
	char *file;	/* may be NULL */
	char *path;	/* "$.a.b[2]", "/domain/memory", or NULL */
	char *msg;
};

struct pp_errs {
	struct pp_err *v;
	size_t n, cap;
};

void pp_errs_add(struct pp_errs *e, const char *file, const char *path,
		 const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* The one format of an error: "FILE: PATH: message", absent parts left out. */
char *pp_err_format(const struct pp_err *x);	/* allocated (xalloc) */
/* Every error, one a line, in that format: to a stream, or allocated ("" if none). */
void pp_errs_print(const struct pp_errs *e, FILE *out);
char *pp_errs_join(const struct pp_errs *e);
void pp_errs_free(struct pp_errs *e);

#endif
