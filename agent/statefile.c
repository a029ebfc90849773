// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "statefile.h"

#define MAX_ENTRIES 4096

int statefile_list(const char *dir, char ***uuids, size_t *n)
{
	char path[4096], line[128];
	FILE *f;

	*uuids = NULL;
	*n = 0;
	snprintf(path, sizeof(path), "%s/paused", dir);
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? 0 : -1;
	while (fgets(line, sizeof(line), f) && *n < MAX_ENTRIES) {
		line[strcspn(line, "\n")] = '\0';
		if (!line[0])
			continue;
		*uuids = realloc(*uuids, (*n + 1) * sizeof(char *));
		if (!*uuids)
			abort();
		(*uuids)[(*n)++] = strdup(line);
	}
	fclose(f);
	return 0;
}

static int write_all(const char *dir, char **uuids, size_t n)
{
	char path[4096], tmp[4096];
	int fd, dfd, ret = -1;
	FILE *f;

	snprintf(path, sizeof(path), "%s/paused", dir);
	snprintf(tmp, sizeof(tmp), "%s/.paused.tmp", dir);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s\n", uuids[i]);
	if (fflush(f) == 0 && fsync(fd) == 0)
		ret = 0;
	if (fclose(f) != 0)
		ret = -1;
	if (ret == 0 && rename(tmp, path) < 0)
		ret = -1;
	/* the rename itself must survive a crash */
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		if (fsync(dfd) < 0)
			ret = -1;
		close(dfd);
	}
	return ret;
}

static void free_list(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static int update(const char *dir, const char *uuid, bool add)
{
	char **v;
	size_t n, m = 0;
	bool present = false;
	int ret;

	if (statefile_list(dir, &v, &n) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(v[i], uuid)) {
			present = true;
			if (!add) {
				free(v[i]);
				continue;
			}
		}
		v[m++] = v[i];
	}
	if (add && !present) {
		v = realloc(v, (m + 1) * sizeof(char *));
		if (!v)
			abort();
		v[m++] = strdup(uuid);
	}
	ret = (add && present) || (!add && !present) ? 0 : write_all(dir, v, m);
	free_list(v, m);
	return ret;
}

int statefile_add(const char *dir, const char *uuid)
{
	return update(dir, uuid, true);
}

int statefile_remove(const char *dir, const char *uuid)
{
	return update(dir, uuid, false);
}
