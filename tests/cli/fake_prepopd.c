// SPDX-License-Identifier: GPL-2.0-only
/*
 * A stand-in for prepopd's control socket, for prepopctl's offline tests:
 * listens on SOCKET, appends every request line to LOG, and answers each
 * with the one line in ANSWER (read anew for each request, so a test can
 * change it between calls).  Runs until killed.
 *   fake_prepopd SOCKET ANSWER LOG
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static void answer(int fd, const char *answer_file)
{
	char buf[1 << 16];
	FILE *f = fopen(answer_file, "re");
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;

	if (f)
		fclose(f);
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	if (write(fd, buf, strlen(buf)) < 0 || write(fd, "\n", 1) < 0)
		perror("fake_prepopd: write");
}

int main(int argc, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int lfd;

	if (argc != 4 || strlen(argv[1]) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "usage: fake_prepopd SOCKET ANSWER LOG\n");
		return 2;
	}
	strcpy(sa.sun_path, argv[1]);
	unlink(argv[1]);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 8) < 0) {
		perror("fake_prepopd");
		return 1;
	}
	for (;;) {
		int fd = accept(lfd, NULL, NULL);
		FILE *in, *log;
		char *line = NULL;
		size_t cap = 0;

		if (fd < 0)
			continue;
		in = fdopen(dup(fd), "r");
		while (in && getline(&line, &cap, in) > 0) {
			log = fopen(argv[3], "ae");
			if (log) {
				fputs(line, log);
				fclose(log);
			}
			answer(fd, argv[2]);
		}
		free(line);
		if (in)
			fclose(in);
		close(fd);
	}
}
