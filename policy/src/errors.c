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

char *pp_err_format(const struct pp_err *x)
{
	return xasprintf("%s%s%s%s%s", x->file ? x->file : "", x->file ? ": " : "",
			 x->path ? x->path : "", x->path ? ": " : "", x->msg);
}

void pp_errs_print(const struct pp_errs *e, FILE *out)
{
	for (size_t i = 0; i < e->n; i++) {
		char *s = pp_err_format(&e->v[i]);

		fprintf(out, "%s\n", s);
		free(s);
	}
}

char *pp_errs_join(const struct pp_errs *e)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		xoom();
	pp_errs_print(e, f);
	if (fclose(f) != 0 || !buf)
		xoom();
	return buf;
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
