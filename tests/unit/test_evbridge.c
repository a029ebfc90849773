// SPDX-License-Identifier: GPL-2.0-only
/* libvirt's event API on libevent, driven directly as libvirt would drive it. */
#include <event2/thread.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "evbridge.h"
#include "testutil.h"

static struct event_base *base;

struct rec {
	int calls;
	int last_events;
	int freed;
	int remove_self;	/* handle id to remove from inside the callback */
};

static void on_fd(int watch, int fd, int events, void *opaque)
{
	struct rec *r = opaque;
	char buf[16];

	(void)fd;
	r->calls++;
	r->last_events = events;
	if (r->remove_self) {
		assert_int_equal(evbridge_remove_handle(watch), 0);
		r->remove_self = 0;
	}
	(void)buf;
}

static void on_timer(int timer, void *opaque)
{
	struct rec *r = opaque;

	(void)timer;
	r->calls++;
}

static void on_free(void *opaque)
{
	((struct rec *)opaque)->freed++;
}

static void spin(int n)
{
	for (int i = 0; i < n; i++)
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
}

static void test_handles(void **state)
{
	struct rec a = { 0 }, b = { 0 };
	int p[2], wa, wb;

	(void)state;
	assert_int_equal(pipe(p), 0);
	wa = evbridge_add_handle(p[0], VIR_EVENT_HANDLE_READABLE, on_fd, &a, on_free);
	wb = evbridge_add_handle(p[0], VIR_EVENT_HANDLE_READABLE, on_fd, &b, on_free);
	assert_true(wa > 0 && wb > 0 && wa != wb);
	spin(3);
	assert_int_equal(a.calls + b.calls, 0);	/* nothing to read yet */
	assert_int_equal(write(p[1], "x", 1), 1);
	spin(1);
	assert_true(a.calls >= 1 && b.calls >= 1);	/* both registrations of one fd */
	assert_int_equal(a.last_events, VIR_EVENT_HANDLE_READABLE);

	evbridge_update_handle(wa, 0);	/* disabled */
	a.calls = b.calls = 0;
	spin(2);
	assert_int_equal(a.calls, 0);
	assert_true(b.calls >= 1);
	evbridge_update_handle(wa, VIR_EVENT_HANDLE_READABLE);
	spin(1);
	assert_true(a.calls >= 1);

	/* the writer goes away: HANGUP is reported, as libvirt expects */
	close(p[1]);
	spin(1);
	assert_true(a.last_events & VIR_EVENT_HANDLE_HANGUP);

	/* free callbacks run later from the loop, never inside remove */
	assert_int_equal(evbridge_remove_handle(wa), 0);
	assert_int_equal(a.freed, 0);
	assert_int_equal(evbridge_remove_handle(wa), -1);	/* twice: an error */
	a.calls = 0;
	spin(1);
	assert_int_equal(a.freed, 1);
	assert_int_equal(a.calls, 0);

	/* removing itself from its own callback */
	b.remove_self = 1;
	spin(1);
	spin(1);
	assert_int_equal(b.freed, 1);
	assert_int_equal(evbridge_count(), 0);
	close(p[0]);
}

static void test_writable(void **state)
{
	struct rec a = { 0 };
	int p[2], w;

	(void)state;
	assert_int_equal(pipe(p), 0);
	w = evbridge_add_handle(p[1], VIR_EVENT_HANDLE_WRITABLE, on_fd, &a, NULL);
	spin(1);
	assert_true(a.calls >= 1);
	assert_int_equal(a.last_events, VIR_EVENT_HANDLE_WRITABLE);
	assert_int_equal(evbridge_remove_handle(w), 0);
	spin(1);
	close(p[0]);
	close(p[1]);
}

static void test_timeouts(void **state)
{
	struct rec off = { 0 }, every = { 0 }, ms = { 0 };
	int t_off, t_every, t_ms;

	(void)state;
	t_off = evbridge_add_timeout(-1, on_timer, &off, on_free);
	t_every = evbridge_add_timeout(0, on_timer, &every, on_free);
	t_ms = evbridge_add_timeout(20, on_timer, &ms, on_free);
	spin(5);
	assert_int_equal(off.calls, 0);	/* -1: disabled */
	if (every.calls < 4)
		fail_msg("0 ms timer fired %d times in 5 iterations", every.calls);
	usleep(50 * 1000);
	spin(1);
	assert_true(ms.calls >= 1);

	evbridge_update_timeout(t_every, -1);
	every.calls = 0;
	spin(3);
	assert_int_equal(every.calls, 0);
	evbridge_update_timeout(t_off, 0);	/* enabled */
	spin(2);
	assert_true(off.calls >= 1);

	assert_int_equal(evbridge_remove_timeout(t_off), 0);
	assert_int_equal(evbridge_remove_timeout(t_every), 0);
	assert_int_equal(evbridge_remove_timeout(t_ms), 0);
	assert_int_equal(off.freed + every.freed + ms.freed, 0);
	spin(1);
	assert_int_equal(off.freed + every.freed + ms.freed, 3);
	assert_int_equal(evbridge_remove_timeout(t_ms), -1);
}

/*
 * libvirt calls the bridge from whichever thread makes a call: a thread in a
 * libvirt call updates the connection's handle while the loop thread runs
 * that handle's callback, which updates it too.  Neither may wait for the
 * other (libevent's event_del waits for a callback running elsewhere).
 */
static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int in_callback, other_done;
	int watch;
} race = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0 };

static void *other_thread(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&race.mu);
	while (!race.in_callback)
		pthread_cond_wait(&race.cv, &race.mu);
	pthread_mutex_unlock(&race.mu);
	evbridge_update_handle(race.watch, 0);	/* while the callback runs */
	pthread_mutex_lock(&race.mu);
	race.other_done = 1;
	pthread_mutex_unlock(&race.mu);
	return NULL;
}

static void on_fd_racing(int watch, int fd, int events, void *opaque)
{
	(void)fd;
	(void)events;
	(void)opaque;
	pthread_mutex_lock(&race.mu);
	race.in_callback = 1;
	pthread_cond_broadcast(&race.cv);
	pthread_mutex_unlock(&race.mu);
	usleep(200 * 1000);	/* the other thread is inside its update by now */
	evbridge_update_handle(watch, 0);
}

static void on_alarm(int sig)
{
	static const char msg[] = "test_evbridge: deadlock between a callback and another thread's update\n";

	(void)sig;
	(void)!write(2, msg, sizeof(msg) - 1);
	_exit(1);
}

static void test_update_from_another_thread(void **state)
{
	pthread_t t;
	int p[2];

	(void)state;
	assert_int_equal(pipe(p), 0);
	race.watch = evbridge_add_handle(p[0], VIR_EVENT_HANDLE_READABLE, on_fd_racing, NULL, NULL);
	assert_int_equal(pthread_create(&t, NULL, other_thread, NULL), 0);
	assert_int_equal(write(p[1], "x", 1), 1);
	signal(SIGALRM, on_alarm);
	alarm(10);
	spin(1);	/* runs on_fd_racing */
	pthread_join(t, NULL);
	alarm(0);
	assert_int_equal(race.other_done, 1);
	assert_int_equal(evbridge_remove_handle(race.watch), 0);
	spin(1);
	close(p[0]);
	close(p[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_handles),
		cmocka_unit_test(test_writable),
		cmocka_unit_test(test_timeouts),
		cmocka_unit_test(test_update_from_another_thread),
	};
	int r;

	evthread_use_pthreads();
	base = event_base_new();
	evbridge_register(base);
	r = cmocka_run_group_tests(tests, NULL, NULL);
	event_base_free(base);
	return r;
}
