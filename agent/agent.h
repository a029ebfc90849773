/* SPDX-License-Identifier: GPL-2.0-only */
/* prepopd's state: one struct, owned by the event loop thread. */
#ifndef PREPOP_AGENT_H
#define PREPOP_AGENT_H

#include <event2/event.h>
#include <libvirt/libvirt.h>
#include <stdbool.h>

#include "config.h"
#include "domstate.h"
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
	struct event *job_timer;
	struct pjob *job;	/* the populate in progress */
	bool seen;		/* resync mark */
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
	bool module_present;
	int prepop_fd;		/* /dev/kvm_prepop, or -1 */
	unsigned jobs;		/* populates in progress */
	bool stopping;		/* exit once the last job has resumed its guest */
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

/* domains.c */
struct adom *dom_find(struct agent *a, const char *uuid);
void dom_event(struct agent *a, virDomainPtr d, enum ds_event ev);
void dom_redecide_all(struct agent *a);
void dom_forget_all(struct agent *a);
/* Resync: mark all unseen, then dom_seen for each found, then dom_sweep. */
void dom_mark_unseen(struct agent *a);
void dom_seen(struct agent *a, virDomainPtr d, bool migrating);
void dom_sweep(struct agent *a);

/* status.c */
void status_write(struct agent *a);
const char *status_line(struct agent *a);

#endif
