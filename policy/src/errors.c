// SPDX-License-Identifier: GPL-2.0-only
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "prepop/errors.h"
#include "prepop/xalloc.h"

void pp_errs_add(struct pp_errs *e, const char *file, const char *path,
		 const char *fmt, ...)
{
	va_list ap;
	struct pp_err *x;

	if (e->n == e->cap) {
		e->cap = e->cap ? e->cap * 2 : 8;
		e->v = xreallocarray(e->v, e->cap, sizeof(*e->v));
	}
	x = &e->v[e->n++];
	x->file = file ? xstrdup(file) : NULL;
	x->path = path ? xstrdup(path) : NULL;
	va_start(ap, fmt);
	if (vasprintf(&x->msg, fmt, ap) < 0)
		xoom();
	va_end(ap);
}

void pp_errs_print(const struct pp_errs *e, FILE *out)
{
	for (size_t i = 0; i < e->n; i++) {
		const struct pp_err *x = &e->v[i];

		if (x->file)
			fprintf(out, "%s: ", x->file);
		if (x->path)
			fprintf(out, "%s: ", x->path);
		fprintf(out, "%s\n", x->msg);
	}
}

void pp_errs_free(struct pp_errs *e)
{
	for (size_t i = 0; i < e->n; i++) {
		free(e->v[i].file);
		free(e->v[i].path);
		free(e->v[i].msg);
	}
	free(e->v);
	memset(e, 0, sizeof(*e));
}
