// SPDX-License-Identifier: GPL-2.0-only
/*
 * prepopd: follows libvirt's domains, decides per guest with the policy,
 * and (with kvm_prepop loaded) prepopulates their stage-2 tables.
 * One libevent loop, here; libvirt's event loop runs inside it.
 */
#include <errno.h>
#include <event2/thread.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include <libvirt/virterror.h>

#include "conn.h"
#include "control.h"
#include "domains.h"
#include "driver.h"
#include "evbridge.h"
#include "linux/kvm_prepop.h"
#include "log.h"
#include "metrics.h"
#include "override.h"
#include "prepop/hostfacts.h"
#include "prepop/xalloc.h"
#include "prepopd.h"
#include "probe.h"

static void usage(FILE *out)
{
	fputs("usage: prepopd [-c CONFIG] [-u URI] [-p POLICY_DIR] [-H HOST_FACTS]\n"
	      "               [-s STATE_DIR] [-S CONTROL_SOCKET] [-L LIB_DIR] [-o] [-h]\n"
	      "  -c  configuration file (default " PP_DEFAULT_CONFIG ")\n"
	      "  -u  libvirt URI (default qemu:///system)\n"
	      "  -p  policy directory (default " PP_DEFAULT_POLICY_DIR ")\n"
	      "  -H  host facts file (default " PP_DEFAULT_HOST_FILE ")\n"
	      "  -s  state directory (default " PP_DEFAULT_STATE_DIR ")\n"
	      "  -S  control socket (default STATE_DIR/" PP_CONTROL_NAME ")\n"
	      "  -L  directory kept across restarts: overrides (default " PP_DEFAULT_LIB_DIR ")\n"
	      "  -o  observe only: decide and report, never populate\n", out);
}

#define STOP_GRACE_S 10	/* on SIGTERM, wait this long for threads out in libvirt */

bool agent_observe_only(const struct agent *a)
{
	return a->cfg.observe_only || !a->mod.usable;
}

unsigned agent_threads_out(const struct agent *a)
{
	return (a->drv ? driver_threads(a->drv) : 0) + probe_threads();
}

void agent_thread_ended(struct agent *a)
{
	if (a->stopping && !agent_threads_out(a))
		event_base_loopexit(a->base, NULL);
}

/* Every error of a policy that cannot be loaded, to the log. */
static void log_errors(const char *what, const struct pp_errs *errs)
{
	for (size_t i = 0; i < errs->n; i++) {
		char *e = pp_err_format(&errs->v[i]);

		log_msg(LOG_ERR, "%s: %s", what, e);
		free(e);
	}
}

int agent_reload(struct agent *a, struct pp_errs *errs)
{
	bool had_module = a->mod.usable;
	struct timespec ts;
	size_t before = errs->n;
	int r;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu",
		   (unsigned long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
	module_probe(&a->mod, KVM_PREPOP_DEVICE);
	r = policyset_load(&a->ps, a->cfg.policy_dir, a->cfg.host_facts, errs);
	if (r < 0) {
		struct pp_errs mine = { .v = errs->v + before, .n = errs->n - before };

		log_errors("policy", &mine);
		log_msg(LOG_ERR, "reload: the new policy is invalid; keeping generation %u",
			a->ps.generation);
	} else {
		log_msg(LOG_INFO, "reload: policy generation %u; deciding every domain again",
			a->ps.generation);
	}
	dom_policy_reloaded(a, r == 0, !had_module && a->mod.usable);
	sd_notify(0, "READY=1");
	return r;
}

/* What the metrics file reports for the agent itself. */
static void metrics_counts(void *arg, struct metrics_counts *c)
{
	const struct agent *a = arg;
	unsigned connects = conn_connects(a->conn);

	c->reload_failures = a->ps.failures;
	c->reconnects = connects > 1 ? connects - 1 : 0;
}

static void on_hup(evutil_socket_t fd, short what, void *arg)
{
	struct agent *a = arg;
	struct pp_errs errs = { 0 };

	(void)fd;
	(void)what;
	agent_reload(a, &errs);
	pp_errs_free(&errs);
}

static void on_term(evutil_socket_t fd, short what, void *arg)
{
	struct agent *a = arg;
	struct timeval grace = { STOP_GRACE_S, 0 };

	(void)fd;
	(void)what;
	if (a->stopping)
		return;
	sd_notify(0, "STOPPING=1");
	a->stopping = true;
	/*
	 * No guest is ever paused by prepopd, so nothing needs undoing: cancel
	 * every populate, and leave once the threads out (a slice, at most the
	 * module's hold ceiling; a libvirt query) are back, or after the grace
	 * (the kernel lets go of a dying caller's vCPUs).
	 */
	dom_stop_all(a);
	if (!agent_threads_out(a))
		event_base_loopexit(a->base, NULL);
	else
		event_base_loopexit(a->base, &grace);
}

static void on_watchdog(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	sd_notify(0, "WATCHDOG=1");
}

/* libvirt prints every error to stderr by default; the caller logs what matters */
static void on_libvirt_error(void *opaque, virErrorPtr err)
{
	(void)opaque;
	log_msg(LOG_DEBUG, "libvirt: %s", err && err->message ? err->message : "?");
}

static int parse_args(int argc, char **argv, struct agent *a)
{
	const char *cfg_path = PP_DEFAULT_CONFIG, *uri = NULL, *pol = NULL, *host = NULL,
		   *state = NULL, *sock = NULL, *lib = NULL;
	struct pp_errs errs = { 0 };
	bool observe = false, cfg_given = false;
	int c;

	while ((c = getopt(argc, argv, "c:u:p:H:s:S:L:oh")) != -1) {
		switch (c) {
		case 'c': cfg_path = optarg; cfg_given = true; break;
		case 'u': uri = optarg; break;
		case 'p': pol = optarg; break;
		case 'H': host = optarg; break;
		case 's': state = optarg; break;
		case 'S': sock = optarg; break;
		case 'L': lib = optarg; break;
		case 'o': observe = true; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return -1;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return -1;
	}
	if (config_load(&a->cfg, cfg_path, cfg_given, &errs) < 0) {
		pp_errs_print(&errs, stderr);
		pp_errs_free(&errs);
		return -1;
	}
#define OVERRIDE(field, v) do { if (v) { free(a->cfg.field); a->cfg.field = xstrdup(v); } } while (0)
	OVERRIDE(uri, uri);
	OVERRIDE(policy_dir, pol);
	OVERRIDE(host_facts, host);
	OVERRIDE(state_dir, state);
	OVERRIDE(control_socket, sock);
	OVERRIDE(lib_dir, lib);
	config_finish(&a->cfg);
	a->cfg.observe_only |= observe;
	return 0;
}

/* What prepopd refuses to start without: its state directory, a valid policy, readable overrides. */
static int load_inputs(struct agent *a)
{
	struct pp_errs errs = { 0 };
	int r = -1;

	if (mkdir(a->cfg.state_dir, 0755) < 0 && errno != EEXIST) {
		log_msg(LOG_ERR, "cannot create %s: %s", a->cfg.state_dir, strerror(errno));
		return -1;
	}
	if (policyset_load(&a->ps, a->cfg.policy_dir, a->cfg.host_facts, &errs) < 0) {
		log_errors("policy", &errs);
		log_msg(LOG_ERR, "cannot start: the policy in %s is invalid", a->cfg.policy_dir);
	} else if (!(a->ovr = override_load(a->cfg.lib_dir, &errs))) {
		log_errors("overrides", &errs);
		log_msg(LOG_ERR, "cannot start: the operator overrides cannot be read; fix or remove the file");
	} else {
		r = 0;
	}
	pp_errs_free(&errs);
	return r;
}

int main(int argc, char **argv)
{
	static struct agent a;
	struct event *ev_hup, *ev_term, *ev_int, *ev_wd = NULL;
	struct pp_errs errs = { 0 };
	uint64_t wd_usec;

	log_init("prepopd");
	if (parse_args(argc, argv, &a) < 0)
		return 2;
	if (load_inputs(&a) < 0)
		return 1;
	module_init(&a.mod);
	module_probe(&a.mod, KVM_PREPOP_DEVICE);
	srand((unsigned)time(NULL) ^ (unsigned)getpid());
	signal(SIGPIPE, SIG_IGN);
	evthread_use_pthreads();
	a.base = event_base_new();
	if (!a.base)
		return 1;
	evbridge_register(a.base);
	if (virInitialize() < 0)
		return 1;
	virSetErrorFunc(NULL, on_libvirt_error);
	ev_hup = evsignal_new(a.base, SIGHUP, on_hup, &a);
	ev_term = evsignal_new(a.base, SIGTERM, on_term, &a);
	ev_int = evsignal_new(a.base, SIGINT, on_term, &a);
	evsignal_add(ev_hup, NULL);
	evsignal_add(ev_term, NULL);
	evsignal_add(ev_int, NULL);
	if (sd_watchdog_enabled(0, &wd_usec) > 0) {
		struct timeval tv = { wd_usec / 2000000, (wd_usec / 2) % 1000000 };

		ev_wd = event_new(a.base, -1, EV_PERSIST, on_watchdog, NULL);
		event_add(ev_wd, &tv);
	}
	log_msg(LOG_INFO, "starting: %s, policy %s (generation %u), at most %u guests populating at once%s",
		a.cfg.uri, a.cfg.policy_dir, a.ps.generation,
		a.ps.policy->rollout.max_concurrent_guests,
		a.cfg.observe_only ? ", observe-only (configured)" :
		!a.mod.usable ? ", observe-only (no usable module)" : "");
	metrics_init(a.base, a.cfg.metrics_file, metrics_counts, &a);
	domains_init(&a);
	if (control_start(&a, &errs) < 0) {
		log_errors("control socket", &errs);
		log_msg(LOG_ERR, "cannot start: no control socket");
		return 1;
	}
	conn_start(&a);
	sd_notify(0, "READY=1");
	event_base_dispatch(a.base);

	if (agent_threads_out(&a)) {
		/* a thread still waits in libvirt: leave without tearing down what it uses */
		log_msg(LOG_WARNING, "stopping with %u thread%s still waiting on libvirt",
			agent_threads_out(&a), agent_threads_out(&a) == 1 ? "" : "s");
		_exit(0);
	}
	log_msg(LOG_INFO, "stopping");
	control_stop(&a);
	conn_stop(a.conn);
	a.conn = NULL;
	domains_free(&a);
	metrics_free();
	override_free(a.ovr);
	if (ev_wd)
		event_free(ev_wd);
	event_free(ev_hup);
	event_free(ev_term);
	event_free(ev_int);
	module_close(&a.mod);
	policyset_free(&a.ps);
	config_free(&a.cfg);
	return 0;
}
