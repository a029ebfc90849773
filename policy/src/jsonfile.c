// SPDX-License-Identifier: GPL-2.0-only
/* Strict JSON files: whole-file parse, errors with line and column. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonfile.h"
#include "prepop/xalloc.h"


/* Read a whole file; NULL with errno on failure. */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "re");
	char *buf;
	size_t n;

	if (!f)
		return NULL;
	buf = xcalloc(MAX_POLICY_FILE + 1, 1);
	n = fread(buf, 1, MAX_POLICY_FILE + 1, f);
	if (ferror(f)) {
		int e = errno;

		fclose(f);
		free(buf);
		errno = e ? e : EIO;
		return NULL;
	}
	fclose(f);
	if (n > MAX_POLICY_FILE) {
		free(buf);
		errno = EFBIG;
		return NULL;
	}
	*len = n;
	return buf;
}

static void offset_to_linecol(const char *text, size_t off, int *line, int *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < off && text[i]; i++) {
		if (text[i] == '\n') {
			(*line)++;
			*col = 1;
		} else {
			(*col)++;
		}
	}
}

/* Strict parse of a whole buffer; NULL with an error naming line and column. */
json_object *pp_json_parse(const char *text, size_t len, const char *file,
			       struct pp_errs *errs)
{
	struct json_tokener *tok = json_tokener_new();
	enum json_tokener_error jerr;
	json_object *root;
	size_t end;
	int line, col;

	if (!tok)
		xoom();
	if (memchr(text, '\0', len)) {
		pp_errs_add(errs, file, NULL, "invalid JSON: contains a NUL byte");
		json_tokener_free(tok);
		return NULL;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
				    JSON_TOKENER_ALLOW_TRAILING_CHARS);
	root = json_tokener_parse_ex(tok, text, (int)len);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	if (jerr == json_tokener_continue) {
		offset_to_linecol(text, len, &line, &col);
		pp_errs_add(errs, file, NULL,
			    "invalid JSON at line %d, column %d: unexpected end of file",
			    line, col);
	} else if (jerr != json_tokener_success) {
		offset_to_linecol(text, end, &line, &col);
		pp_errs_add(errs, file, NULL, "invalid JSON at line %d, column %d: %s",
			    line, col, json_tokener_error_desc(jerr));
	} else {
		while (end < len && strchr(" \t\r\n", text[end]))
			end++;
		if (end < len) {
			offset_to_linecol(text, end, &line, &col);
			pp_errs_add(errs, file, NULL,
				    "invalid JSON at line %d, column %d: text after the top-level value",
				    line, col);
			json_object_put(root);
			root = NULL;
		}
	}
	json_tokener_free(tok);
	if (jerr != json_tokener_success) {
		json_object_put(root);
		return NULL;
	}
	return root;
}

json_object *pp_json_load(const char *path, struct pp_errs *errs)
{
	size_t len;
	char *text = slurp(path, &len);
	json_object *root;

	if (!text) {
		pp_errs_add(errs, path, NULL, "cannot read: %s", strerror(errno));
		return NULL;
	}
	root = pp_json_parse(text, len, path, errs);
	free(text);
	return root;
}
