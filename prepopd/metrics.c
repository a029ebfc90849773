// SPDX-License-Identifier: GPL-2.0-only
/*
 * Figures are pushed in as things happen (a decision, each POPULATE call)
 * and kept here, per guest and host-wide; a timer writes them all.  Label
 * sets are bounded: guests prepopd knows, two modes, the reason codes,
 * three leaf sizes, the errnos the module returned.
 */
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "linux/kvm_prepop.h"
#include "log.h"
#include "metrics.h"
#include "prepop/xalloc.h"

#define NBUCKETS 11
static const double hold_le[NBUCKETS] = {
	0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
};
static const char *const leaf_size[3] = { "4k", "2m", "1g" };
#define NMODES 2	/* the outcomes: prepopulate, fault */
#define MAX_ERRNOS 32

struct figures {
	uint64_t populates;
	uint64_t populate_ns;
	uint64_t leaves[3];
	uint64_t hold[NBUCKETS + 1];	/* per bucket, not cumulative; the last is +Inf */
	uint64_t holds;
	double hold_sum;
	uint64_t decisions[NMODES][PP_R_COUNT];
};

struct guest {
	char *uuid, *name, *flavor;
	bool decided;
	enum pp_mode mode;
	enum pp_reason reason;
	unsigned long populate_id;	/* the populate its last call belonged to */
	struct figures fig;
	struct guest *next;
};

static struct {
	char *path;
	struct event *timer;
	struct event *soon;	/* a write METRICS_SOON_MS after a change, once */
	bool soon_pending;
	metrics_counts_fn *counts;
	void *arg;
	struct guest *guests;
	struct figures host;
	struct { int err; uint64_t n; } errnos[MAX_ERRNOS];
	size_t n_errnos;
	int write_errno;	/* the last write's failure, logged once */
} m;

/* Something changed: write soon, coalescing a burst (a resync) into one write. */
static void changed(void)
{
	struct timeval tv = { 0, METRICS_SOON_MS * 1000 };

	if (!m.soon || m.soon_pending)
		return;
	m.soon_pending = true;
	event_add(m.soon, &tv);
}

static int mode_ix(enum pp_mode mode)
{
	return mode == PP_MODE_PREPOPULATE ? 0 : 1;
}

static const char *mode_name(int ix)
{
	return pp_mode_str(ix == 0 ? PP_MODE_PREPOPULATE : PP_MODE_FAULT);
}

static struct guest *guest(const char *uuid, bool create)
{
	struct guest *g;

	for (g = m.guests; g; g = g->next)
		if (!strcmp(g->uuid, uuid))
			return g;
	if (!create)
		return NULL;
	g = xcalloc(1, sizeof(*g));
	g->uuid = xstrdup(uuid);
	g->name = xstrdup(uuid);
	g->flavor = xstrdup("");
	g->next = m.guests;
	m.guests = g;
	return g;
}

static void guest_free(struct guest *g)
{
	free(g->uuid);
	free(g->name);
	free(g->flavor);
	free(g);
}

void metrics_decided(const char *uuid, const char *name, const char *flavor,
		     enum pp_mode mode, enum pp_reason reason)
{
	struct guest *g = guest(uuid, true);

	free(g->name);
	g->name = xstrdup(name ? name : uuid);
	free(g->flavor);
	g->flavor = xstrdup(flavor ? flavor : "");
	g->decided = true;
	g->mode = mode;
	g->reason = reason;
	if (reason < PP_R_COUNT) {
		g->fig.decisions[mode_ix(mode)][reason]++;
		m.host.decisions[mode_ix(mode)][reason]++;
	}
	changed();
}

static void count_errno(int err)
{
	size_t i;

	for (i = 0; i < m.n_errnos && m.errnos[i].err != err; i++)
		;
	if (i == m.n_errnos) {
		if (i == MAX_ERRNOS)
			return;
		m.errnos[m.n_errnos++].err = err;
	}
	m.errnos[i].n++;
}

static void add_call(struct figures *f, bool first, const struct kvm_prepop_populate *r,
		     bool figures)
{
	double hold = r->max_hold_ns / 1e9;
	size_t b;

	f->populates += first;
	if (!figures)
		return;
	f->populate_ns += r->elapsed_ns;
	f->leaves[0] += r->mapped_4k;
	f->leaves[1] += r->mapped_2m;
	f->leaves[2] += r->mapped_1g;
	if (!r->max_hold_ns)
		return;	/* held no vCPU: not a hold */
	for (b = 0; b < NBUCKETS && hold > hold_le[b]; b++)
		;
	f->hold[b]++;
	f->holds++;
	f->hold_sum += hold;
}

void metrics_call(const char *uuid, unsigned long populate_id,
		  const struct kvm_prepop_populate *r, int result)
{
	struct guest *g = guest(uuid, false);
	/* the module writes its figures back on these errors too: vCPUs were held */
	bool figures = result == 0 || result == -EBUSY || result == -EAGAIN || result == -EINTR;
	/* a late slice of a guest already forgotten counts, but starts nothing */
	bool first = g && g->populate_id != populate_id;

	if (result < 0)
		count_errno(-result);
	if (g) {
		g->populate_id = populate_id;
		add_call(&g->fig, first, r, figures);
	}
	add_call(&m.host, first, r, figures);
}

void metrics_forget(const char *uuid)
{
	for (struct guest **p = &m.guests; *p; p = &(*p)->next)
		if (!strcmp((*p)->uuid, uuid)) {
			struct guest *g = *p;

			*p = g->next;
			guest_free(g);
			changed();
			return;
		}
}

/* A label value, escaped as the text format wants. */
static void esc(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fputc('\\', f);
		if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

static void head(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{labels,extra} or name{extra} or name: a guest's labels when g is given. */
static void sample(FILE *f, const char *name, const struct guest *g, const char *extra)
{
	fputs(name, f);
	if (!g && !extra)
		return;
	fputc('{', f);
	if (g) {
		fputs("domain=\"", f);
		esc(f, g->name);
		fputs("\",uuid=\"", f);
		esc(f, g->uuid);
		fputs("\",flavor=\"", f);
		esc(f, g->flavor);
		fputc('"', f);
	}
	if (extra)
		fprintf(f, "%s%s", g ? "," : "", extra);
	fputc('}', f);
}

/* What one family shows of a figures record. */
enum fam { F_POPULATES, F_SECONDS, F_LEAVES, F_HOLD, F_DECISIONS };

static void emit(FILE *f, enum fam fam, const char *name, const struct guest *g,
		 const struct figures *x)
{
	char extra[96];
	uint64_t cum = 0;

	switch (fam) {
	case F_POPULATES:
		sample(f, name, g, NULL);
		fprintf(f, " %llu\n", (unsigned long long)x->populates);
		break;
	case F_SECONDS:
		sample(f, name, g, NULL);
		fprintf(f, " %.9g\n", x->populate_ns / 1e9);
		break;
	case F_LEAVES:
		for (int i = 0; i < 3; i++) {
			snprintf(extra, sizeof(extra), "size=\"%s\"", leaf_size[i]);
			sample(f, name, g, extra);
			fprintf(f, " %llu\n", (unsigned long long)x->leaves[i]);
		}
		break;
	case F_HOLD:
		for (int b = 0; b <= NBUCKETS; b++) {
			char bucket[128];

			cum += x->hold[b];
			if (b < NBUCKETS)
				snprintf(extra, sizeof(extra), "le=\"%g\"", hold_le[b]);
			else
				snprintf(extra, sizeof(extra), "le=\"+Inf\"");
			snprintf(bucket, sizeof(bucket), "%s_bucket", name);
			sample(f, bucket, g, extra);
			fprintf(f, " %llu\n", (unsigned long long)cum);
		}
		snprintf(extra, sizeof(extra), "%s_sum", name);
		sample(f, extra, g, NULL);
		fprintf(f, " %.9g\n", x->hold_sum);
		snprintf(extra, sizeof(extra), "%s_count", name);
		sample(f, extra, g, NULL);
		fprintf(f, " %llu\n", (unsigned long long)x->holds);
		break;
	case F_DECISIONS:
		for (int mi = 0; mi < NMODES; mi++)
			for (int r = 0; r < PP_R_COUNT; r++) {
				if (!x->decisions[mi][r])
					continue;
				snprintf(extra, sizeof(extra), "mode=\"%s\",reason=\"%s\"",
					 mode_name(mi), pp_reason_str(r));
				sample(f, name, g, extra);
				fprintf(f, " %llu\n", (unsigned long long)x->decisions[mi][r]);
			}
		break;
	}
}

static const struct {
	enum fam fam;
	const char *name, *type, *help;
} families[] = {
	{ F_POPULATES, "populates_total", "counter", "Populates started" },
	{ F_SECONDS, "populate_seconds_total", "counter", "Time spent inside KVM_PREPOP_POPULATE" },
	{ F_LEAVES, "leaves_mapped_total", "counter", "Stage-2 leaves a populate mapped, by page size" },
	{ F_HOLD, "vcpu_hold_seconds", "histogram",
	  "The longest any vCPU was held, per KVM_PREPOP_POPULATE call that held one" },
	{ F_DECISIONS, "decisions_total", "counter", "Decisions made, by mode and reason" },
};

static void current_decisions(FILE *f)
{
	unsigned n[NMODES][PP_R_COUNT] = { { 0 } };
	char extra[96];

	head(f, "prepop_guests", "gauge", "Guests whose current decision is this mode and reason");
	for (const struct guest *g = m.guests; g; g = g->next)
		if (g->decided && g->reason < PP_R_COUNT)
			n[mode_ix(g->mode)][g->reason]++;
	for (int mi = 0; mi < NMODES; mi++)
		for (int r = 0; r < PP_R_COUNT; r++)
			if (n[mi][r]) {
				snprintf(extra, sizeof(extra), "mode=\"%s\",reason=\"%s\"",
					 mode_name(mi), pp_reason_str(r));
				sample(f, "prepop_guests", NULL, extra);
				fprintf(f, " %u\n", n[mi][r]);
			}
	head(f, "prepop_guest_decision", "gauge", "A guest's current decision (always 1)");
	for (const struct guest *g = m.guests; g; g = g->next)
		if (g->decided && g->reason < PP_R_COUNT) {
			snprintf(extra, sizeof(extra), "mode=\"%s\",reason=\"%s\"",
				 pp_mode_str(g->mode), pp_reason_str(g->reason));
			sample(f, "prepop_guest_decision", g, extra);
			fputs(" 1\n", f);
		}
}

void metrics_render(FILE *f, const struct metrics_counts *c)
{
	char name[96];

	for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++) {
		snprintf(name, sizeof(name), "prepop_%s", families[i].name);
		head(f, name, families[i].type, families[i].help);
		emit(f, families[i].fam, name, NULL, &m.host);
		snprintf(name, sizeof(name), "prepop_guest_%s", families[i].name);
		head(f, name, families[i].type, families[i].help);
		for (const struct guest *g = m.guests; g; g = g->next)
			emit(f, families[i].fam, name, g, &g->fig);
	}
	current_decisions(f);
	head(f, "prepop_policy_reload_failures_total", "counter", "Policy reloads that were refused");
	fprintf(f, "prepop_policy_reload_failures_total %u\n", c->reload_failures);
	head(f, "prepop_libvirt_reconnects_total", "counter", "Connections to libvirt after the first");
	fprintf(f, "prepop_libvirt_reconnects_total %u\n", c->reconnects);
	head(f, "prepop_module_errors_total", "counter", "KVM_PREPOP_POPULATE calls that failed, by errno");
	for (size_t i = 0; i < m.n_errnos; i++) {
		const char *e = strerrorname_np(m.errnos[i].err);

		fprintf(f, "prepop_module_errors_total{errno=\"");
		if (e)
			fputs(e, f);
		else
			fprintf(f, "%d", m.errnos[i].err);
		fprintf(f, "\"} %llu\n", (unsigned long long)m.errnos[i].n);
	}
}

int metrics_write(void)
{
	struct metrics_counts c = { 0 };
	char *tmp;
	int fd, err = 0;
	FILE *f;

	if (!m.path)
		return 0;
	if (m.counts)
		m.counts(m.arg, &c);
	tmp = xasprintf("%s.tmp", m.path);	/* the collector reads *.prom only */
	/*
	 * the directory's owner may not be root (node-exporter's package):
	 * never follow a link planted there, never write into someone's file
	 */
	if (unlink(tmp) < 0 && errno != ENOENT)
		log_msg(LOG_WARNING, "metrics: %s: %s", tmp, strerror(errno));
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	f = fd < 0 ? NULL : fdopen(fd, "w");
	if (!f) {
		err = errno;
		if (fd >= 0)
			close(fd);
	} else {
		metrics_render(f, &c);
		if (fflush(f) != 0 || ferror(f))
			err = errno ? errno : EIO;
		if (fclose(f) != 0 && !err)
			err = errno;
		if (!err && rename(tmp, m.path) < 0)
			err = errno;
		if (err)
			unlink(tmp);
	}
	if (err && err != m.write_errno)
		log_msg(LOG_WARNING, "metrics: cannot write %s: %s (tried again every %d s)",
			m.path, strerror(err), METRICS_INTERVAL_S);
	else if (!err && m.write_errno)
		log_msg(LOG_INFO, "metrics: writing %s again", m.path);
	m.write_errno = err;
	free(tmp);
	return -err;
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	if (m.soon_pending) {
		event_del(m.soon);
		m.soon_pending = false;
	}
	metrics_write();
}

void metrics_init(struct event_base *base, const char *path, metrics_counts_fn *counts, void *arg)
{
	struct timeval tv = { METRICS_INTERVAL_S, 0 };

	memset(&m, 0, sizeof(m));
	m.counts = counts;
	m.arg = arg;
	if (!path)
		return;
	m.path = xstrdup(path);
	if (base) {
		m.timer = event_new(base, -1, EV_PERSIST, on_timer, NULL);
		m.soon = evtimer_new(base, on_timer, NULL);
		if (!m.timer || !m.soon)
			xoom();
		event_add(m.timer, &tv);
	}
	metrics_write();
}

void metrics_free(void)
{
	if (m.timer)
		event_free(m.timer);
	if (m.soon)
		event_free(m.soon);
	if (m.path && !m.write_errno)
		unlink(m.path);
	while (m.guests) {
		struct guest *g = m.guests;

		m.guests = g->next;
		guest_free(g);
	}
	free(m.path);
	memset(&m, 0, sizeof(m));
}
