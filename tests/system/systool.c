// SPDX-License-Identifier: GPL-2.0-only
/*
 * The system tier's helper inside the emulated hypervisor.
 *
 *   systool at during|between TIMEOUT_MS ACTION ARGS...
 *	Wait until a KVM_PREPOP_POPULATE is in flight (during) or until one has
 *	finished since we started and none is in flight (between), per the
 *	module's counters, then at once:
 *	  suspend DOM | destroy DOM | save DOM FILE   (libvirt, a connection
 *	                                              opened beforehand)
 *	  migrate DOM DCONNURI MIGRATEURI             (live, peer to peer; it
 *	                                              returns once complete)
 *	  kill PID                                    (SIGKILL)
 *	Prints "at: window=during|between|missed ..." with the counters before
 *	and after the action and how long it took; for kill also how long until
 *	no call was in flight any more.  Exit status: 0 if the action ran in the
 *	window asked for and succeeded, 1 if it failed, 3 if the window never came.
 *	libvirt's connection: $LIBVIRT_DEFAULT_URI if set, else qemu:///system.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define STATS "/sys/kernel/debug/kvm_prepop/stats"

struct counts {
	long long calls, finished, max_hold_ns;
};

static long long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000ll + ts.tv_nsec / 1000;
}

static int read_counts(struct counts *c)
{
	static const char *const finished[] = {
		"populate_done", "populate_partial", "err_busy", "err_again", "err_intr", "err_other",
	};
	char buf[4096], *line, *save;
	int fd = open(STATS, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	memset(c, 0, sizeof(*c));
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char key[64];
		long long v;

		if (sscanf(line, "%63s %lld", key, &v) != 2)
			continue;
		if (!strcmp(key, "populate_calls"))
			c->calls = v;
		else if (!strcmp(key, "max_hold_ns"))
			c->max_hold_ns = v;
		for (size_t i = 0; i < sizeof(finished) / sizeof(*finished); i++)
			if (!strcmp(key, finished[i]))
				c->finished += v;
	}
	return 0;
}

/* A live, peer-to-peer migration to DCONNURI over MIGRATEURI, as virsh migrate --live --p2p. */
static int migrate(virDomainPtr dom, const char *dconnuri, const char *migrateuri)
{
	virTypedParameterPtr params = NULL;
	int n = 0, max = 0, r;

	if (virTypedParamsAddString(&params, &n, &max, VIR_MIGRATE_PARAM_URI, migrateuri) < 0)
		return -1;
	r = virDomainMigrateToURI3(dom, dconnuri, params, n, VIR_MIGRATE_LIVE | VIR_MIGRATE_PEER2PEER);
	virTypedParamsFree(params, n);
	return r;
}

static void quiet_libvirt(void *opaque, virErrorPtr err)
{
	(void)opaque;
	(void)err;
}

static int at(int argc, char **argv)
{
	const char *when = argv[0], *action = argv[2];
	long long timeout_us = atoll(argv[1]) * 1000, t0 = now_us(), t_act, t_done, t_free = -1;
	bool during = !strcmp(when, "during");
	struct timespec tick = { 0, 200000 };
	struct counts start, c, before, after;
	virConnectPtr conn = NULL;
	virDomainPtr dom = NULL;
	pid_t pid = 0;
	int r = -1;

	if (!during && strcmp(when, "between")) {
		fprintf(stderr, "systool at: during or between, not %s\n", when);
		return 2;
	}
	if (!strcmp(action, "kill") && argc == 4) {
		pid = atoi(argv[3]);
	} else if ((!strcmp(action, "suspend") || !strcmp(action, "destroy")) && argc == 4) {
	} else if (!strcmp(action, "save") && argc == 5) {
	} else if (!strcmp(action, "migrate") && argc == 6) {
	} else {
		fprintf(stderr, "systool at: bad action\n");
		return 2;
	}
	if (!pid) {
		virSetErrorFunc(NULL, quiet_libvirt);
		conn = virConnectOpen(getenv("LIBVIRT_DEFAULT_URI") ? NULL : "qemu:///system");
		dom = conn ? virDomainLookupByName(conn, argv[3]) : NULL;
		if (!dom) {
			printf("at: window=missed: cannot find domain %s: %s\n", argv[3],
			       virGetLastErrorMessage());
			return 1;
		}
	}
	if (read_counts(&start) < 0) {
		printf("at: window=missed: cannot read " STATS "\n");
		return 1;
	}
	for (;;) {
		if (read_counts(&c) < 0)
			return 1;
		if (during ? c.calls > c.finished :
			     c.calls > start.calls && c.calls == c.finished)
			break;
		if (now_us() - t0 > timeout_us) {
			printf("at: window=missed: no %s window in %s ms (calls %lld, finished %lld)\n",
			       when, argv[1], c.calls, c.finished);
			return 3;
		}
		nanosleep(&tick, NULL);
	}
	before = c;
	t_act = now_us();
	if (pid)
		r = kill(pid, SIGKILL);
	else if (!strcmp(action, "suspend"))
		r = virDomainSuspend(dom);
	else if (!strcmp(action, "destroy"))
		r = virDomainDestroy(dom);
	else if (!strcmp(action, "save"))
		r = virDomainSave(dom, argv[4]);
	else
		r = migrate(dom, argv[4], argv[5]);
	t_done = now_us();
	read_counts(&after);
	if (pid && r == 0)
		for (;;) {	/* how long until the killed caller's call is over */
			struct counts k;

			if (read_counts(&k) < 0)
				break;
			if (k.calls == k.finished) {
				t_free = now_us();
				break;
			}
			if (now_us() - t_act > 10000000)
				break;
			nanosleep(&tick, NULL);
		}
	/* the window as it was when the action was issued */
	printf("at: window=%s %s %s: %s after %.1f ms; waited %.1f s for the window; "
	       "counters calls/finished before %lld/%lld, after %lld/%lld",
	       (during ? before.calls > before.finished : before.calls == before.finished) ?
	       when : "missed",
	       action, argv[3], r == 0 ? "ok" : "FAILED",
	       (t_done - t_act) / 1000.0, (t_act - t0) / 1e6,
	       before.calls, before.finished, after.calls, after.finished);
	if (pid)
		printf("; no call in flight %s", t_free < 0 ? "after 10 s either" : "");
	if (pid && t_free >= 0)
		printf("%.1f ms after the kill", (t_free - t_act) / 1000.0);
	if (r < 0 && !pid)
		printf("; libvirt: %s", virGetLastErrorMessage());
	if (r < 0 && pid)
		printf("; kill: %s", strerror(errno));
	printf("\n");
	if (dom)
		virDomainFree(dom);
	if (conn)
		virConnectClose(conn);
	if (r < 0)
		return 1;
	return (during ? before.calls > before.finished : before.calls == before.finished) ? 0 : 3;
}

int main(int argc, char **argv)
{
	if (argc >= 5 && !strcmp(argv[1], "at"))
		return at(argc - 2, argv + 2);
	fprintf(stderr, "usage: systool at during|between TIMEOUT_MS ACTION ARGS...\n");
	return 2;
}
