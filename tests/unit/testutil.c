// SPDX-License-Identifier: GPL-2.0-only
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "domxml.h"
#include "testutil.h"

char *tu_mkdtemp(void)
{
	char tmpl[] = "/tmp/pp-test-XXXXXX";
	char *d = mkdtemp(tmpl);

	assert_non_null(d);
	return strdup(d);
}

void tu_write(const char *dir, const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

void tu_rmtree(char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char path[512];

	while (d && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (unlink(path) < 0)
			rmdir(path);
	}
	if (d)
		closedir(d);
	rmdir(dir);
	free(dir);
}

char *tu_read(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	char *buf = malloc(1 << 20);

	assert_non_null(f);
	assert_non_null(buf);
	*len = fread(buf, 1, (1 << 20) - 1, f);
	buf[*len] = '\0';
	fclose(f);
	return buf;
}

char *tu_policy_dir(const char *const *files)
{
	char *dir = tu_mkdtemp();

	for (size_t i = 0; files[i]; i += 2)
		tu_write(dir, files[i], files[i + 1]);
	return dir;
}

static int ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && !strcmp(s + a - b, suffix);
}

int tu_has_err(const struct pp_errs *e, const char *file_suffix,
	       const char *path, const char *msg_part)
{
	for (size_t i = 0; i < e->n; i++) {
		const struct pp_err *x = &e->v[i];

		if (file_suffix && (!x->file || !ends_with(x->file, file_suffix)))
			continue;
		if (path && (!x->path || strcmp(x->path, path)))
			continue;
		if (msg_part && !strstr(x->msg, msg_part))
			continue;
		return 1;
	}
	return 0;
}

void tu_dump_errs(const struct pp_errs *e)
{
	pp_errs_print(e, stderr);
}

void tu_domain(const char *example, struct pp_domain *d)
{
	char path[512];
	struct pp_errs errs = { 0 };
	size_t len;
	char *xml;

	snprintf(path, sizeof(path), "%s/domains/%s", PP_EXAMPLES, example);
	xml = tu_read(path, &len);
	if (pp_domain_parse(xml, len, example, d, &errs) < 0)
		tu_dump_errs(&errs);
	assert_int_equal(errs.n, 0);
	pp_errs_free(&errs);
	free(xml);
}

int tu_domain_str(const char *xml, struct pp_domain *d, struct pp_errs *errs)
{
	return pp_domain_parse(xml, strlen(xml), "inline.xml", d, errs);
}
