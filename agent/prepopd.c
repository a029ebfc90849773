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

#include "agent.h"
#include "driver.h"
#include "evbridge.h"
#include "log.h"
#include "prepop/hostfacts.h"
#include "linux/kvm_prepop.h"

static void usage(FILE *out)
{
	fputs("usage: prepopd [-c CONFIG] [-u URI] [-p POLICY_DIR] [-H HOST_FACTS]\n"
	      "               [-s STATE_DIR] [-o] [-h]\n"
	      "  -c  configuration file (default " PP_DEFAULT_CONFIG ")\n"
	      "  -u  libvirt URI (default qemu:///system)\n"
	      "  -p  policy directory (default " PP_DEFAULT_POLICY_DIR ")\n"
	      "  -H  host facts file (default " PP_DEFAULT_HOST_FILE ")\n"
	      "  -s  state directory (default /run/prepop)\n"
	      "  -o  observe only: decide and report, never populate\n", out);
}

static char *join_errors(const struct pp_errs *e)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		abort();
	pp_errs_print(e, f);
	fclose(f);
	return buf;
}

#define STOP_GRACE_S 10	/* on SIGTERM, wait this long for threads out in libvirt */

bool agent_observe_only(const struct agent *a)
{
	return a->cfg.observe_only || !a->mod.usable;
}

void agent_thread_ended(struct agent *a)
{
	a->threads--;
	if (a->stopping && !a->threads)
		event_base_loopexit(a->base, NULL);
}

/* Load everything new first; swap only if all of it is valid. */
static int load_policy(struct agent *a)
{
	struct pp_errs errs = { 0 };
	struct pp_policy *p = pp_policy_load(a->cfg.policy_dir, &errs);
	struct pp_host h;
	const char *mid = getenv("PREPOP_MACHINE_ID_FILE");

	if (p && pp_host_load(a->cfg.host_facts, false, mid ? mid : PP_MACHINE_ID_FILE,
			      &h, &errs) < 0) {
		pp_policy_free(p);
		p = NULL;
	}
	free(a->policy_error);
	a->policy_error = NULL;
	if (!p) {
		for (size_t i = 0; i < errs.n; i++)
			log_msg(LOG_ERR, "policy: %s%s%s%s%s", errs.v[i].file ? errs.v[i].file : "",
				errs.v[i].file ? ": " : "", errs.v[i].path ? errs.v[i].path : "",
				errs.v[i].path ? ": " : "", errs.v[i].msg);
		a->policy_error = join_errors(&errs);
		pp_errs_free(&errs);
		return -1;
	}
	pp_policy_free(a->policy);
	a->policy = p;
	pp_host_free(&a->host);
	a->host = h;
	a->policy_generation++;
	pp_errs_free(&errs);
	return 0;
}

static void on_hup(evutil_socket_t fd, short what, void *arg)
{
	struct agent *a = arg;
	bool had_module = a->mod.usable;
	struct timespec ts;

	(void)fd;
	(void)what;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu",
		   (unsigned long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
	module_probe(&a->mod, KVM_PREPOP_DEVICE);
	if (load_policy(a) < 0) {
		log_msg(LOG_ERR, "reload: the new policy is invalid; keeping generation %u",
			a->policy_generation);
		if (!had_module && a->mod.usable)	/* what observe-only decided may populate now */
			dom_redecide_all(a);
		status_write(a);
	} else {
		log_msg(LOG_INFO, "reload: policy generation %u; deciding every domain again",
			a->policy_generation);
		dom_redecide_all(a);
	}
	sd_notify(0, "READY=1");
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
	driver_stop_all(a);
	if (!a->threads)
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
		   *state = NULL;
	struct pp_errs errs = { 0 };
	bool observe = false, cfg_given = false;
	int c;

	while ((c = getopt(argc, argv, "c:u:p:H:s:oh")) != -1) {
		switch (c) {
		case 'c': cfg_path = optarg; cfg_given = true; break;
		case 'u': uri = optarg; break;
		case 'p': pol = optarg; break;
		case 'H': host = optarg; break;
		case 's': state = optarg; break;
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
#define OVERRIDE(field, v) do { if (v) { free(a->cfg.field); a->cfg.field = strdup(v); } } while (0)
	OVERRIDE(uri, uri);
	OVERRIDE(policy_dir, pol);
	OVERRIDE(host_facts, host);
	OVERRIDE(state_dir, state);
	a->cfg.observe_only |= observe;
	return 0;
}

int main(int argc, char **argv)
{
	static struct agent a;
	struct event *ev_hup, *ev_term, *ev_int, *ev_wd = NULL;
	uint64_t wd_usec;

	log_init("prepopd");
	if (parse_args(argc, argv, &a) < 0)
		return 2;
	if (mkdir(a.cfg.state_dir, 0755) < 0 && errno != EEXIST) {
		log_msg(LOG_ERR, "cannot create %s: %s", a.cfg.state_dir, strerror(errno));
		return 1;
	}
	if (load_policy(&a) < 0) {
		log_msg(LOG_ERR, "cannot start: the policy in %s is invalid", a.cfg.policy_dir);
		return 1;
	}
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
		a.cfg.uri, a.cfg.policy_dir, a.policy_generation,
		a.policy->rollout.max_concurrent_guests,
		a.cfg.observe_only ? ", observe-only (configured)" :
		!a.mod.usable ? ", observe-only (no usable module)" : "");
	conn_start(&a);
	sd_notify(0, "READY=1");
	event_base_dispatch(a.base);

	if (a.threads) {
		/* a thread still waits in libvirt: leave without tearing down what it uses */
		log_msg(LOG_WARNING, "stopping with %u thread%s still waiting on libvirt",
			a.threads, a.threads == 1 ? "" : "s");
		_exit(0);
	}
	log_msg(LOG_INFO, "stopping");
	conn_stop(&a);
	dom_forget_all(&a);
	if (ev_wd)
		event_free(ev_wd);
	event_free(ev_hup);
	event_free(ev_term);
	event_free(ev_int);
	module_close(&a.mod);
	pp_policy_free(a.policy);
	pp_host_free(&a.host);
	free(a.policy_error);
	config_free(&a.cfg);
	return 0;
}
