// SPDX-License-Identifier: GPL-2.0-only
/* What prepopctl's commands share: loading, the control socket, output. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl.h"
#include "hostprobe.h"
#include "prepop/hostfacts.h"
#include "prepop/xalloc.h"

#define DEFAULT_STATE_DIR "/run/prepop"	/* prepopd's default (prepopd/config.h) */
#define CONTROL_NAME "control"
#define ANSWER_TIMEOUT_S 30
#define MAX_ANSWER (64 << 20)

int ctl_usage_error(const struct ctl_cmd *c, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "prepopctl %s: ", c->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nusage: prepopctl %s %s\n", c->name, c->args);
	return CTL_BAD_INPUT;
}

struct pp_policy *ctl_load_policy(const char *dir)
{
	struct pp_errs errs = { 0 };
	struct pp_policy *p = pp_policy_load(dir, &errs);

	if (!p) {
		pp_errs_print(&errs, stderr);
		fprintf(stderr, "prepopctl: policy %s: %zu error%s\n", dir, errs.n,
			errs.n == 1 ? "" : "s");
	}
	pp_errs_free(&errs);
	return p;
}

int ctl_load_host(const char *host_file, struct pp_host *h)
{
	struct pp_errs errs = { 0 };
	const char *mid = getenv("PREPOP_MACHINE_ID_FILE");
	int r = pp_host_load(host_file ? host_file : PP_DEFAULT_HOST_FILE,
			     host_file != NULL, mid ? mid : PP_MACHINE_ID_FILE,
			     h, &errs);

	if (r < 0)
		pp_errs_print(&errs, stderr);
	else
		pp_host_probe(h, "");
	pp_errs_free(&errs);
	return r;
}

int ctl_online_args(const struct ctl_cmd *c, int argc, char **argv, struct ctl_online *o,
		    int nargs, const char **args)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "socket", required_argument, NULL, 'S' },
		{ "state-dir", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 }
	};
	const char *env = getenv("PREPOP_CONTROL_SOCKET");
	int ch;

	memset(o, 0, sizeof(*o));
	o->socket = env && *env ? env : DEFAULT_STATE_DIR "/" CONTROL_NAME;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "jS:s:", opts, NULL)) != -1) {
		switch (ch) {
		case 'j': o->json = true; break;
		case 'S': o->socket = optarg; break;
		case 's':
			snprintf(o->buf, sizeof(o->buf), "%s/" CONTROL_NAME, optarg);
			o->socket = o->buf;
			break;
		default: return ctl_usage_error(c, "unknown option");
		}
	}
	if (argc - optind != nargs)
		return ctl_usage_error(c, nargs ? "expected %d argument%s" : "expected no arguments%.0d%s",
				       nargs, nargs == 1 ? "" : "s");
	for (int i = 0; i < nargs; i++)
		args[i] = argv[optind + i];
	return CTL_OK;
}

json_object *ctl_request(const char *command, const char *domain)
{
	json_object *r = json_object_new_object();

	json_object_object_add(r, "version", json_object_new_int(1));
	json_object_object_add(r, "command", json_object_new_string(command));
	if (domain)
		json_object_object_add(r, "domain", json_object_new_string(domain));
	return r;
}

/* Connect, send one line, read one line.  NULL (said why, *status set) if it could not. */
static char *exchange(const char *path, const char *line, int *status)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { ANSWER_TIMEOUT_S, 0 };
	size_t len = 0, cap = 4096;
	char *buf;
	int fd;

	*status = CTL_FAILED;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "prepopctl: %s: a socket path is too long\n", path);
		*status = CTL_BAD_INPUT;
		return NULL;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;

		if (e == EACCES || e == EPERM) {
			fprintf(stderr, "prepopctl: %s: permission denied (root or the prepop group only)\n",
				path);
			*status = CTL_DENIED;
		} else {
			fprintf(stderr, "prepopctl: cannot reach prepopd at %s: %s (is prepopd running?)\n",
				path, strerror(e));
		}
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	/*
	 * A refused peer is told why at once and the socket closed: a failed
	 * send is not the end, the answer may be there to read.
	 */
	if (send(fd, line, strlen(line), MSG_NOSIGNAL) >= 0)
		send(fd, "\n", 1, MSG_NOSIGNAL);
	buf = xcalloc(cap, 1);
	for (;;) {
		ssize_t n;

		if (len + 1 >= cap) {
			if (cap >= MAX_ANSWER)
				break;
			buf = xreallocarray(buf, cap *= 2, 1);
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n <= 0) {
			if (n < 0)
				fprintf(stderr, "prepopctl: %s: %s\n", path,
					errno == EAGAIN ? "prepopd did not answer in time" : strerror(errno));
			break;
		}
		len += (size_t)n;
		buf[len] = '\0';
		if (memchr(buf + len - n, '\n', (size_t)n)) {
			close(fd);
			return buf;
		}
	}
	close(fd);
	if (len == 0 || !strchr(buf, '\n'))
		fprintf(stderr, "prepopctl: %s: no answer from prepopd\n", path);
	free(buf);
	return NULL;
}

int ctl_call(const struct ctl_online *o, json_object *req, json_object **answer)
{
	int status = CTL_FAILED;
	char *line = exchange(o->socket, json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN),
			      &status);
	json_object *a;
	const char *code;

	*answer = NULL;
	json_object_put(req);
	if (!line)
		return status;	/* exchange said why */
	a = json_tokener_parse(line);
	free(line);
	if (!a || !json_object_is_type(a, json_type_object)) {
		fprintf(stderr, "prepopctl: %s: prepopd's answer is not JSON\n", o->socket);
		json_object_put(a);
		return CTL_FAILED;
	}
	*answer = a;
	if (json_object_get_boolean(ctl_get(a, "ok")))
		return CTL_OK;
	if (o->json)
		ctl_print_json(a);	/* {"ok": false, "code", "error", ...} */
	code = ctl_str(a, "code");
	fprintf(stderr, "prepopctl: %s\n", ctl_str(a, "error"));
	if (!strcmp(code, "permission-denied"))
		return CTL_DENIED;
	if (!strcmp(code, "bad-request") || !strcmp(code, "unknown-domain") ||
	    !strcmp(code, "invalid-policy"))
		return CTL_BAD_INPUT;
	return CTL_FAILED;
}

int ctl_ask(const struct ctl_cmd *c, int argc, char **argv, const struct ctl_ask *q)
{
	struct ctl_online o;
	const char *dom = NULL;
	json_object *req, *a;
	int r = ctl_online_args(c, argc, argv, &o, q->domain ? 1 : 0, &dom);

	if (r != CTL_OK)
		return r;
	req = ctl_request(q->command, dom);
	if (q->mode)
		json_object_object_add(req, "mode", json_object_new_string(q->mode));
	r = ctl_call(&o, req, &a);
	if (r != CTL_OK && q->failed)
		q->failed(a);
	else if (r == CTL_OK && o.json)
		ctl_print_json(q->member ? ctl_get(a, q->member) : a);
	else if (r == CTL_OK)
		q->print(q->member ? ctl_get(a, q->member) : a);
	json_object_put(a);
	return r;
}

void ctl_print_json(json_object *o)
{
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
					       JSON_C_TO_STRING_SPACED |
					       JSON_C_TO_STRING_NOSLASHESCAPE));
}

json_object *ctl_get(json_object *o, const char *key)
{
	json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
		return NULL;
	return v;
}

const char *ctl_str(json_object *o, const char *key)
{
	json_object *v = ctl_get(o, key);

	return v ? json_object_get_string(v) : "-";
}

void ctl_print_members(json_object *o, const char *indent)
{
	json_object_object_foreach(o, key, val) {
		const char *text = !val ? "-" :
			json_object_is_type(val, json_type_object) ||
			json_object_is_type(val, json_type_array) ?
			json_object_to_json_string_ext(val, JSON_C_TO_STRING_PLAIN |
							    JSON_C_TO_STRING_NOSLASHESCAPE) :
			json_object_get_string(val);

		printf("%s%-24s %s\n", indent, key, text);
	}
}

static double ms(json_object *o, const char *key)
{
	json_object *v = ctl_get(o, key);

	return v ? json_object_get_double(v) / 1e6 : 0;
}

void ctl_print_populate(json_object *p, const char *indent)
{
	bool stopped = ctl_get(p, "stop") != NULL;

	printf("%spopulate: %s%s%s, %s slices, leaves %s (4k %s, 2m %s, 1g %s), longest vCPU hold %.2f ms, longest kick %.2f ms",
	       indent, stopped ? ctl_str(p, "stop") : ctl_str(p, "phase"), stopped ? ": " : "",
	       stopped ? ctl_str(p, "stop_detail") : "", ctl_str(p, "slices"), ctl_str(p, "leaves"),
	       ctl_str(p, "mapped_4k"), ctl_str(p, "mapped_2m"), ctl_str(p, "mapped_1g"),
	       ms(p, "max_hold_ns"), ms(p, "max_kick_ns"));
	if (ctl_get(p, "finished"))
		printf(", finished %s", ctl_str(p, "finished"));
	else if (ctl_get(p, "started"))
		printf(", started %s", ctl_str(p, "started"));
	putchar('\n');
}
