// SPDX-License-Identifier: GPL-2.0-only
/*
 * The populate driver, on a real libevent loop and real threads, with the
 * libvirt question and the POPULATE ioctl replaced: a populate can be held
 * "in flight" while the test stops, pauses or forgets its guest (under
 * ASan, any use of what was freed is a failure), and the slot cap and FIFO
 * order are observed from inside the calls.
 */
#include <errno.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "driver.h"
#include "linux/kvm_prepop.h"
#include "module.h"
#include "prepop/policy.h"
#include "probe.h"
#include "testutil.h"

#define NDOM 4
#define RAM (1ull << 30)
#define CEILING_NS 100000000ull	/* the module's hold ceiling: 100 ms */

static struct event_base *base;
static struct module mod;
static struct driver *drv;
static virConnectPtr conn;	/* libvirt's test driver: slices hold a reference */

/* the driver's owner, as domains.c is: a record per guest */
struct tdom {
	char uuid[VIR_UUID_STRING_BUFLEN];
	struct pop_stats last;	/* what the reports and cancels left */
};
static struct tdom *doms[NDOM];
static int job_fds[NDOM];	/* the fd each guest's latest job was given */

/* what the fake module and libvirt do, and what they saw */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int permits;		/* populate calls allowed to return */
static int inside, max_inside;	/* calls in progress, and the most at once */
static int entered[64], n_entered;	/* which domain each call was for */
static struct kvm_prepop_populate last_arg;
static uint64_t step = RAM / 4;	/* how far one call gets */
static int fail_next;		/* -errno for the next call */
static enum probe_verdict verdict;
static int verdict_op;
static int verdict_state, verdict_reason;	/* virDomainGetState's, with PV_NOT_RUNNING */
static unsigned probe_sleep_ms;
static int probes;

/* what the driver reported */
static int ended[NDOM];
static enum pop_stop ended_why[NDOM];
static int late_any;
static int progress, threads_back, calls_reported;
static uint64_t call_2m;	/* leaves the successful calls reported, one by one */
static int free_on_end = -1;	/* the owner forgets this guest when told it ended */

static int dom_index(const char *uuid)
{
	for (int i = 0; i < NDOM; i++)
		if (doms[i] && !strcmp(doms[i]->uuid, uuid))
			return i;
	return -1;
}

static int fd_index(int fd)
{
	for (int i = 0; i < NDOM; i++)
		if (job_fds[i] == fd)
			return i;
	return -1;
}

static void fake_probe(virConnectPtr c, const char *uuid, struct probe *p)
{
	(void)c;
	(void)uuid;
	if (probe_sleep_ms)
		usleep(probe_sleep_ms * 1000);
	memset(p, 0, sizeof(*p));
	p->verdict = verdict;
	p->job_op = verdict_op;
	p->state = verdict_state;
	p->reason = verdict_reason;
	snprintf(p->msg, sizeof(p->msg), "fake verdict %s", probe_verdict_str(verdict));
	__atomic_add_fetch(&probes, 1, __ATOMIC_SEQ_CST);
}

static int fake_populate(int dev_fd, struct kvm_prepop_populate *arg)
{
	int r;

	(void)dev_fd;
	pthread_mutex_lock(&mu);
	entered[n_entered++ % 64] = fd_index(arg->vm_fd);
	last_arg = *arg;
	if (++inside > max_inside)
		max_inside = inside;
	pthread_cond_broadcast(&cv);
	while (!permits)
		pthread_cond_wait(&cv, &mu);
	permits--;
	inside--;
	r = fail_next;
	fail_next = 0;
	pthread_mutex_unlock(&mu);
	if (r && r != -EBUSY && r != -EAGAIN)
		return r;
	arg->end_gpa = RAM;
	arg->next_gpa = arg->start_gpa + step < RAM ? arg->start_gpa + step : RAM;
	arg->mapped_2m = step >> 21;
	arg->fault_calls = step >> 21;
	arg->max_hold_ns = 1000000 + arg->start_gpa / 1000;	/* grows per slice */
	arg->max_kick_ns = 5000;
	arg->kicks = 2;
	arg->elapsed_ns = 3000000;
	if (r) {	/* -EBUSY, -EAGAIN: written back, with half the step done */
		arg->next_gpa = arg->start_gpa + step / 2;
		arg->mapped_2m = (step / 2) >> 21;
		return r;
	}
	return 0;
}

static const struct driver_ops fake = { fake_probe, fake_populate };

static void free_dom(int i)
{
	free(doms[i]);
	doms[i] = NULL;
}

/* The one callback: what domains.c does with it, recorded. */
static void report(void *arg, const struct driver_report *r)
{
	const struct pop_stats *st = r->st;
	int i = r->uuid ? dom_index(r->uuid) : -1;

	assert_ptr_equal(arg, &mod);
	switch (r->what) {
	case DN_THREAD_BACK:
		assert_null(r->uuid);
		assert_null(st);
		threads_back++;
		return;
	case DN_CALL:	/* every call, a cancelled job's too: its own figures */
		assert_non_null(r->call);
		assert_true(st->slices >= 1);
		calls_reported++;
		if (!r->result)
			call_2m += r->call->mapped_2m;
		return;
	case DN_PROGRESS:
		assert_true(i >= 0);
		progress++;
		return;
	case DN_LATE:	/* for a guest forgotten meanwhile too */
		late_any++;
		if (i >= 0 && doms[i]->last.id == st->id)
			doms[i]->last = *st;
		return;
	case DN_ENDED:
		assert_true(i >= 0);
		/* the job is gone when its end is reported */
		assert_null(driver_stats(drv, r->uuid));
		ended[i]++;
		ended_why[i] = st->stop;
		doms[i]->last = *st;
		if (i == free_on_end)
			free_dom(i);
		return;
	}
	fail_msg("unknown report %d", r->what);
}

/* what domains.c shows: the populate in progress, else the last */
static const struct pop_stats *stats(int i)
{
	const struct pop_stats *s = driver_stats(drv, doms[i]->uuid);

	return s ? s : doms[i]->last.id ? &doms[i]->last : NULL;
}

static bool cancel(int i, enum pop_stop why, const char *detail)
{
	struct pop_stats last;

	if (!driver_cancel(drv, doms[i]->uuid, why, detail, &last))
		return false;
	doms[i]->last = last;
	return true;
}

/* --- helpers */
static void release(int n)
{
	pthread_mutex_lock(&mu);
	permits += n;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
}

static int calls(void)
{
	int n;

	pthread_mutex_lock(&mu);
	n = n_entered;
	pthread_mutex_unlock(&mu);
	return n;
}

/* Run the loop until cond() holds (or fail after ms). */
static void run_until(int (*cond)(void), unsigned ms, const char *what)
{
	for (unsigned t = 0; !cond(); t++) {
		if (t > ms)
			fail_msg("timed out waiting for %s (threads %u, running %u, queued %u, calls %d, probes %d, permits %d)",
				 what, driver_threads(drv), driver_running(drv), driver_queued(drv), calls(),
				 probes, permits);
		event_base_loop(base, EVLOOP_NONBLOCK);
		usleep(1000);
	}
}

/* Run the loop for ms, whatever happens. */
static void run_for(unsigned ms)
{
	for (unsigned t = 0; t < ms; t++) {
		event_base_loop(base, EVLOOP_NONBLOCK);
		usleep(1000);
	}
}

static int want_calls;
static int have_calls(void) { return calls() >= want_calls; }
static int idle(void)
{
	if (driver_threads(drv))
		return 0;
	for (int i = 0; i < NDOM; i++)
		if (doms[i] && driver_stats(drv, doms[i]->uuid))
			return 0;
	return 1;
}

static struct pp_params params(unsigned slice_ms, unsigned gap_ms, unsigned total_ms)
{
	struct pp_params p;

	memset(&p, 0, sizeof(p));
	p.pop.slice_ms = slice_ms;
	p.pop.gap_ms = gap_ms;
	p.pop.workers = 3;
	p.pop.total_ms = total_ms;
	return p;
}

static void start_job(int i, unsigned delay_ms, const struct pp_params *p, bool while_paused)
{
	/* the driver takes the fd over; its number tells whose a call is */
	job_fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
	assert_true(job_fds[i] >= 0);
	assert_int_equal(driver_start(drv, doms[i]->uuid, "guest", job_fds[i], p, delay_ms, while_paused), 0);
}

static void start(int i, unsigned delay_ms, const struct pp_params *p)
{
	start_job(i, delay_ms, p, false);
}

static int setup(void **state)
{
	(void)state;
	module_init(&mod);
	mod.usable = true;
	mod.hold_ceiling_ns = CEILING_NS;
	mod.fd = -1;
	driver_set_ops(&fake);
	drv = driver_new(base, &mod, report, &mod);
	driver_set_cap(drv, 2);
	driver_set_conn(drv, conn);
	for (int i = 0; i < NDOM; i++) {
		doms[i] = calloc(1, sizeof(*doms[i]));
		snprintf(doms[i]->uuid, sizeof(doms[i]->uuid), "00000000-0000-0000-0000-00000000000%d", i);
		ended[i] = 0;
		ended_why[i] = POP_NONE;
	}
	progress = threads_back = late_any = calls_reported = 0;
	call_2m = 0;
	permits = inside = max_inside = n_entered = fail_next = 0;
	verdict = PV_RUNNING;
	verdict_op = 0;
	verdict_state = VIR_DOMAIN_RUNNING;
	verdict_reason = VIR_DOMAIN_RUNNING_BOOTED;
	probe_sleep_ms = 0;
	probes = 0;
	step = RAM / 4;
	free_on_end = -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	release(1000);
	run_until(idle, 5000, "the driver to go idle");
	for (int i = 0; i < NDOM; i++)
		if (doms[i]) {
			cancel(i, POP_STOPPED, "test over");
			free_dom(i);
		}
	run_until(idle, 5000, "the driver to go idle");
	driver_free(drv);
	drv = NULL;
	return 0;
}

/* --- the tests */

static void test_done_figures_and_budget(void **state)
{
	struct pp_params p = params(200, 1, 60000);	/* a slice above the ceiling */
	const struct pop_stats *s;

	(void)state;
	start(0, 0, &p);
	release(4);
	run_until(idle, 5000, "the populate to finish");
	assert_int_equal(calls(), 4);
	assert_int_equal(ended[0], 1);
	assert_int_equal(ended_why[0], POP_DONE);
	/* a 200 ms slice asks for half the 100 ms ceiling: a batch may end past it */
	assert_int_equal(last_arg.budget_ns, CEILING_NS / 2);
	assert_int_equal(last_arg.max_threads, 3);
	assert_int_equal(last_arg.size, sizeof(struct kvm_prepop_populate));
	s = stats(0);
	assert_non_null(s);
	assert_int_equal(s->slices, 4);
	assert_int_equal(s->mapped_2m, 4 * (step >> 21));
	assert_int_equal(s->kicks, 8);
	assert_int_equal(s->max_kick_ns, 5000);
	assert_int_equal(s->max_hold_ns, 1000000 + 3 * step / 1000);	/* the longest slice's */
	assert_int_equal(s->populate_ns, 4 * 3000000);
	assert_int_equal(s->stop, POP_DONE);
	assert_int_equal(s->phase, PH_FINISHED);
	assert_true(s->finished.tv_sec > 0 && s->started.tv_sec > 0);
	assert_int_equal(driver_running(drv), 0);
	assert_int_equal(threads_back, 4);	/* one thread a slice, each reported back */
	assert_int_equal(calls_reported, 4);	/* each call, with its own figures */
	assert_int_equal(call_2m, s->mapped_2m);
	assert_true(progress >= 2);	/* queued, running */
}

static void test_slice_under_ceiling_kept(void **state)
{
	struct pp_params p = params(20, 1, 60000);

	(void)state;
	start(0, 0, &p);
	release(4);
	run_until(idle, 5000, "the populate to finish");
	assert_int_equal(last_arg.budget_ns, 20000000);
}

/* virsh destroy during a slice: the domain is freed, the slice lands later */
static void test_destroy_during_slice(void **state)
{
	struct pp_params p = params(50, 1, 60000);

	(void)state;
	start(0, 0, &p);
	want_calls = 1;
	run_until(have_calls, 5000, "the first slice");
	assert_true(cancel(0, POP_STOPPED, "the guest stopped or left"));
	assert_null(driver_stats(drv, doms[0]->uuid));
	free_dom(0);	/* what dom_forget does */
	release(1);
	run_until(idle, 5000, "the slice in flight to land");
	assert_int_equal(calls(), 1);
	assert_int_equal(ended[0], 0);	/* nothing reported for a forgotten guest */
	assert_int_equal(late_any, 1);	/* but its slice's landing, by uuid alone */
	assert_int_equal(driver_running(drv), 0);
}

/* virsh suspend during a slice: that slice completes, no other starts */
static void test_pause_during_slice(void **state)
{
	struct pp_params p = params(50, 1, 60000);
	const struct pop_stats *s;

	(void)state;
	start(0, 0, &p);
	want_calls = 1;
	run_until(have_calls, 5000, "the first slice");
	assert_true(cancel(0, POP_PAUSED, "its owner paused it"));
	s = stats(0);
	assert_int_equal(s->stop, POP_PAUSED);
	assert_int_equal(s->slices, 0);
	release(5);
	run_until(idle, 5000, "the slice in flight to land");
	run_for(50);
	assert_int_equal(calls(), 1);
	assert_int_equal(ended[0], 0);
	assert_int_equal(calls_reported, 1);	/* a cancelled job's call counts too */
	/* the landed slice's figures go to the record, the reason stays */
	s = stats(0);
	assert_int_equal(s->slices, 1);
	assert_int_equal(s->mapped_2m, step >> 21);
	assert_int_equal(s->stop, POP_PAUSED);
	assert_string_equal(s->detail, "its owner paused it");
}

/* The slice's own check finds the guest paused: no call */
static void test_probe_finds_paused(void **state)
{
	struct pp_params p = params(50, 1, 60000);

	(void)state;
	verdict = PV_NOT_RUNNING;
	free_on_end = 0;	/* domains.c may free the domain when told */
	start(0, 0, &p);
	run_until(idle, 5000, "the populate to stop");
	assert_int_equal(calls(), 0);
	assert_int_equal(ended[0], 1);
	assert_int_equal(ended_why[0], POP_PAUSED);
	assert_null(doms[0]);
}

/*
 * A guest that arrived paused (while_paused): its slices run while its user
 * keeps it paused, and to the end; paused for anything else, it stops.
 */
static void test_while_paused(void **state)
{
	struct pp_params p = params(50, 1, 60000);

	(void)state;
	/* the incoming migration's job still finishing: asked again */
	verdict = PV_JOB;
	verdict_op = VIR_DOMAIN_JOB_OPERATION_MIGRATION_IN;
	start_job(0, 0, &p, true);
	run_for(100);
	assert_int_equal(calls(), 0);
	assert_non_null(driver_stats(drv, doms[0]->uuid));
	verdict = PV_NOT_RUNNING;
	verdict_state = VIR_DOMAIN_PAUSED;
	verdict_reason = VIR_DOMAIN_PAUSED_USER;
	release(4);
	run_until(idle, 5000, "the populate while paused");
	assert_int_equal(calls(), 4);
	assert_int_equal(ended_why[0], POP_DONE);
	/* the same pause does not let an ordinary job run */
	verdict_op = 0;
	start(1, 0, &p);
	run_until(idle, 5000, "the populate to stop");
	assert_int_equal(calls(), 4);
	assert_int_equal(ended_why[1], POP_PAUSED);
	/* paused on an I/O error: not its user's pause */
	verdict_reason = VIR_DOMAIN_PAUSED_IOERROR;
	start_job(2, 0, &p, true);
	run_until(idle, 5000, "the populate to stop");
	assert_int_equal(calls(), 4);
	assert_int_equal(ended_why[2], POP_PAUSED);
	/* migrated onward: dirty logging, never wait for it */
	verdict = PV_JOB;
	verdict_op = VIR_DOMAIN_JOB_OPERATION_MIGRATION_OUT;
	start_job(1, 0, &p, true);
	run_until(idle, 5000, "the populate to stop");
	assert_int_equal(calls(), 4);
	assert_int_equal(ended_why[1], POP_MIGRATING);
	verdict = PV_NOT_RUNNING;
	verdict_op = 0;
	verdict_state = VIR_DOMAIN_PAUSED;
	/* its owner ran it: the leave is taken back, the same pause stops it */
	verdict_reason = VIR_DOMAIN_PAUSED_USER;
	start_job(0, 0, &p, true);
	driver_end_while_paused(drv, doms[0]->uuid);
	run_until(idle, 5000, "the populate to stop");
	assert_int_equal(calls(), 4);
	assert_int_equal(ended_why[0], POP_PAUSED);
	/* shut down meanwhile (pmsuspended, crashed: likewise) */
	verdict_state = VIR_DOMAIN_PMSUSPENDED;
	verdict_reason = VIR_DOMAIN_PMSUSPENDED_UNKNOWN;
	start_job(3, 0, &p, true);
	run_until(idle, 5000, "the populate to stop");
	assert_int_equal(calls(), 4);
	assert_int_equal(ended_why[3], POP_PAUSED);
}

/* ... or an outgoing migration, or another job */
static void test_probe_finds_job(void **state)
{
	struct pp_params p = params(50, 1, 60000);

	(void)state;
	verdict = PV_JOB;
	verdict_op = VIR_DOMAIN_JOB_OPERATION_MIGRATION_OUT;
	start(0, 0, &p);
	run_until(idle, 5000, "the populate to stop");
	assert_int_equal(ended_why[0], POP_MIGRATING);
	verdict_op = VIR_DOMAIN_JOB_OPERATION_DUMP;
	start(1, 0, &p);
	run_until(idle, 5000, "the populate to stop");
	assert_int_equal(ended_why[1], POP_JOB);
	assert_string_equal(stats(1)->detail, "fake verdict job");
	assert_int_equal(calls(), 0);
}

/* A synchronous job (a hotplug) or no answer: asked again, then populated */
static void test_probe_asks_again(void **state)
{
	struct pp_params p = params(50, 1, 60000);

	(void)state;
	step = RAM;
	verdict = PV_SYNC_JOB;
	start(0, 0, &p);
	run_for(100);
	assert_int_equal(calls(), 0);
	assert_non_null(driver_stats(drv, doms[0]->uuid));
	verdict = PV_RUNNING;
	release(1);
	run_until(idle, 5000, "the populate");
	assert_int_equal(calls(), 1);
	assert_int_equal(ended_why[0], POP_DONE);
}

static int two_calls(void) { return calls() >= 2; }

/* At most max_concurrent_guests at once; the rest in FIFO order */
static void test_cap_and_fifo(void **state)
{
	struct pp_params p = params(50, 1, 60000);

	(void)state;
	step = RAM;	/* one slice each */
	for (int i = 0; i < NDOM; i++)
		start(i, 1 + 2 * i, &p);	/* distinct delays: a known queue order */
	run_until(two_calls, 5000, "two populates");
	run_for(50);
	assert_int_equal(calls(), 2);
	assert_int_equal(driver_running(drv), 2);
	assert_int_equal(driver_queued(drv), 2);
	assert_int_equal(stats(3)->phase, PH_QUEUED);
	release(1);
	want_calls = 3;
	run_until(have_calls, 5000, "the third");
	release(3);
	run_until(idle, 5000, "all to finish");
	assert_int_equal(max_inside, 2);
	/* the first two in either order (two threads), then the queue's order */
	assert_int_equal(entered[0] + entered[1], 0 + 1);
	assert_int_equal(entered[2], 2);
	assert_int_equal(entered[3], 3);
	for (int i = 0; i < NDOM; i++)
		assert_int_equal(ended_why[i], POP_DONE);
}

/* A reload that raises the cap starts what now fits */
static void test_reschedule(void **state)
{
	struct pp_params p = params(50, 1, 60000);

	(void)state;
	driver_set_cap(drv, 1);
	step = RAM;
	start(0, 0, &p);
	start(1, 5, &p);
	run_for(60);
	assert_int_equal(calls(), 1);
	driver_set_cap(drv, 2);
	run_until(two_calls, 5000, "the second after the reschedule");
	release(2);
	run_until(idle, 5000, "both to finish");
}

/* A cancelled slice still in flight holds its guest: a new populate waits */
static void test_new_job_waits_for_old_slice(void **state)
{
	struct pp_params p = params(50, 1, 60000);

	(void)state;
	step = RAM;
	start(0, 0, &p);
	want_calls = 1;
	run_until(have_calls, 5000, "the first slice");
	assert_true(cancel(0, POP_PAUSED, "its owner paused it"));
	start(0, 0, &p);	/* resumed: decided again */
	run_for(60);
	assert_int_equal(calls(), 1);
	release(1);
	want_calls = 2;
	run_until(have_calls, 5000, "the new populate");
	release(1);
	run_until(idle, 5000, "it to finish");
	assert_int_equal(ended[0], 1);
	assert_int_equal(ended_why[0], POP_DONE);
}

static void test_total_budget(void **state)
{
	struct pp_params p = params(1, 20, 1);

	(void)state;
	start(0, 0, &p);
	release(10);
	run_until(idle, 5000, "the budget to run out");
	assert_int_equal(calls(), 1);
	assert_int_equal(ended_why[0], POP_BUDGET);
	assert_int_equal(stats(0)->slices, 1);
}

static void test_retries_and_errors(void **state)
{
	struct pp_params p = params(50, 1, 60000);

	(void)state;
	step = RAM;
	fail_next = -EAGAIN;	/* no vCPU has a root yet: asked again */
	start(0, 0, &p);
	release(2);
	run_until(idle, 5000, "the retry");
	assert_int_equal(calls(), 2);
	assert_int_equal(ended_why[0], POP_DONE);
	assert_int_equal(stats(0)->slices, 2);
	/* what the failed call wrote back counts, and the next starts after it */
	assert_int_equal(stats(0)->mapped_2m, (RAM / 2 + RAM) >> 21);
	assert_int_equal(last_arg.start_gpa, RAM / 2);
	assert_int_equal(stats(0)->kicks, 4);
	fail_next = -EOPNOTSUPP;
	start(1, 0, &p);
	release(1);
	run_until(idle, 5000, "the error");
	assert_int_equal(ended_why[1], POP_ERROR);
	assert_string_equal(stats(1)->detail,
			    "KVM_PREPOP_POPULATE: Operation not supported");
	/* the VM's process exited mid-call: a stop, not an error, and no retry */
	fail_next = -ESRCH;
	start(2, 0, &p);
	release(1);
	run_until(idle, 5000, "the exit");
	assert_int_equal(ended_why[2], POP_STOPPED);
	assert_int_equal(stats(2)->error, 0);
}

static int one_probe(void) { return __atomic_load_n(&probes, __ATOMIC_SEQ_CST) >= 1 && driver_threads(drv) == 0; }

static void test_stale_answer_then_fresh(void **state)
{
	struct pp_params p = params(50, 1, 60000);

	(void)state;
	step = RAM;
	probe_sleep_ms = 1100;
	start(0, 0, &p);
	run_until(one_probe, 5000, "the slow answer");
	assert_int_equal(calls(), 0);	/* not acted on */
	assert_non_null(driver_stats(drv, doms[0]->uuid));	/* asked again later */
	probe_sleep_ms = 0;
	release(1);
	run_until(idle, 5000, "the fresh answer");
	assert_int_equal(calls(), 1);
	assert_int_equal(ended_why[0], POP_DONE);
}

/* SIGTERM: every job cancelled; the slice in flight lands alone */
static void test_stop_all(void **state)
{
	struct pp_params p = params(50, 1, 60000);

	(void)state;
	for (int i = 0; i < NDOM; i++)
		start(i, i, &p);
	want_calls = 2;
	run_until(have_calls, 5000, "two slices");
	driver_stop_all(drv);
	/* each reported once, as shut down; none left attached or queued */
	for (int i = 0; i < NDOM; i++) {
		assert_null(driver_stats(drv, doms[i]->uuid));
		assert_int_equal(ended[i], 1);
		assert_int_equal(ended_why[i], POP_SHUTDOWN);
		assert_int_equal(doms[i]->last.stop, POP_SHUTDOWN);
	}
	assert_int_equal(driver_queued(drv), 0);
	assert_int_equal(driver_running(drv), 2);	/* the two slices out keep their slots */
	release(2);
	run_until(idle, 5000, "the slices in flight to land");
	assert_int_equal(calls(), 2);
	assert_int_equal(late_any, 2);
	assert_int_equal(driver_running(drv), 0);
	/* a stopping driver starts nothing */
	job_fds[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
	assert_int_equal(driver_start(drv, doms[0]->uuid, "guest", job_fds[0], &p, 0, false), -ECANCELED);
	for (int i = 0; i < NDOM; i++)
		assert_int_equal(ended[i], 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_done_figures_and_budget, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slice_under_ceiling_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_destroy_during_slice, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pause_during_slice, setup, teardown),
		cmocka_unit_test_setup_teardown(test_probe_finds_paused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_while_paused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_probe_finds_job, setup, teardown),
		cmocka_unit_test_setup_teardown(test_probe_asks_again, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cap_and_fifo, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reschedule, setup, teardown),
		cmocka_unit_test_setup_teardown(test_new_job_waits_for_old_slice, setup, teardown),
		cmocka_unit_test_setup_teardown(test_total_budget, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retries_and_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale_answer_then_fresh, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_all, setup, teardown),
	};
	int r;

	evthread_use_pthreads();
	base = event_base_new();
	conn = virConnectOpen("test:///default");
	if (!conn)
		return 1;
	r = cmocka_run_group_tests(tests, NULL, NULL);
	virConnectClose(conn);
	event_base_free(base);
	return r;
}
