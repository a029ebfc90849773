/* SPDX-License-Identifier: GPL-2.0-only */
/* prepopd's state: one struct, owned by the event loop thread. */
#ifndef PREPOP_AGENT_H
#define PREPOP_AGENT_H

#include <event2/event.h>
#include <libvirt/libvirt.h>
#include <stdbool.h>

#include "config.h"
#include "domstate.h"
#include "driver.h"
#include "module.h"
#include "prepop/decide.h"

struct adom {
	struct agent *agent;
	char uuid[VIR_UUID_STRING_BUFLEN];
	char *name;
	struct ds sm;
	unsigned decisions;	/* how many times decided */
	bool decided;
	enum pp_mode mode;
	enum pp_reason reason;
	bool dry_run;
	char explanation[320];
	char *flavor;
	char *error;		/* why the last decision could not be made */
	unsigned long long memory_bytes;
	struct event *job_timer;	/* jobwatch.c: the libvirt job being watched */
	bool job_probing;	/* a watch probe is out */
	struct pjob *job;	/* driver.c: the populate in progress, or NULL */
	struct pop_stats last;	/* the last populate's figures (id 0: none yet) */
	bool seen;		/* resync mark */
	bool undecided;		/* a decision could not ask libvirt: decide at resync */
	struct adom *next;
};

struct pjob;

struct agent {
	struct event_base *base;
	struct config cfg;
	virConnectPtr conn;
	bool connected;
	unsigned reconnects;
	int backoff_ms;
	struct event *reconnect_timer;
	int callbacks[8];
	int ncallbacks;
	struct pp_policy *policy;
	char *policy_error;	/* the last reload's errors, if it failed */
	unsigned policy_generation;
	struct pp_host host;
	struct module mod;	/* /dev/kvm_prepop */
	struct pjob *jobs;	/* driver.c: every populate job, attached or not */
	unsigned pop_running;	/* driver.c: jobs holding a slot */
	unsigned threads;	/* slice and probe threads not yet joined */
	bool stopping;		/* exit once no thread is out */
	bool status_pending;	/* a status write is scheduled */
	/* event → decision latency, microseconds, the last LAT_SAMPLES decisions */
#define LAT_SAMPLES 4096
	unsigned lat_n;
	unsigned lat_us[LAT_SAMPLES];
	struct adom *doms;
	unsigned ndoms;
};

/* conn.c */
void conn_start(struct agent *a);
void conn_stop(struct agent *a);

/* prepopd.c: a slice or probe thread was joined */
void agent_thread_ended(struct agent *a);
/* observe-only: by configuration, or no usable module */
bool agent_observe_only(const struct agent *a);

/* domains.c */
struct adom *dom_find(struct agent *a, const char *uuid);
void dom_event(struct agent *a, virDomainPtr d, enum ds_event ev);
/* dom_event for a domain known by uuid (looked up); false if not reachable */
bool dom_event_uuid(struct agent *a, const char *uuid, enum ds_event ev);
void dom_redecide_all(struct agent *a);
void dom_forget_all(struct agent *a);
/* Resync: mark all unseen, then dom_seen for each found, then dom_sweep. */
void dom_mark_unseen(struct agent *a);
void dom_seen(struct agent *a, virDomainPtr d, bool running);
void dom_sweep(struct agent *a);

/* jobwatch.c: poll d's libvirt job off the loop until it ends */
void jobwatch_start(struct agent *a, struct adom *d);
void jobwatch_stop(struct adom *d);

/* status.c */
void status_write(struct agent *a);
const char *status_line(struct agent *a);

#endif
