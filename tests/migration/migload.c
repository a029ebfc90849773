// SPDX-License-Identifier: GPL-2.0-only
/*
 * The migration tier's guest workload (static, run by the guest's /init).
 *
 * At start it maps a buffer of "migload.mib=N" MiB (kernel command line) and
 * leaves it untouched, starts one worker and one clock thread per CPU (each
 * pinned), prints "MIGLOAD up: <cpus> CPUs, <mib> MiB", and reads commands,
 * one a line, from the second serial port (the host's end is a unix
 * socket).  It drives that UART itself (I/O ports 0x2f8 through /dev/port,
 * polled every millisecond, its interrupts off) rather than through
 * /dev/ttyS1: under nested SVM in QEMU TCG the UART's receive interrupt was
 * sometimes lost, and a command then never reached a guest idling in HLT.
 * Not ioperm() and in/out: the guest then took a #GP on the first out
 * (the TSS I/O bitmap is not honoured there), and /init died.
 *
 *	touch SEQ	every worker writes one byte in each 4 KiB page of its
 *			share of the buffer (the byte changes every time: the
 *			pages are dirty).  Reply:
 *			TOUCH SEQ <wall µs> <slowest worker µs> <pages>
 *	gap SEQ		GAP SEQ <worst µs>: the longest any CPU's clock thread
 *			waited for a 1 ms sleep since the previous "gap" (a
 *			vCPU the host held, a migration's downtime)
 *	ping SEQ	PONG SEQ
 *
 * Every reply goes to the command port and to the console (stdout).  All
 * times come from the guest's own CLOCK_MONOTONIC.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define MAX_CPUS 64
#define PAGE 4096

static long ncpu;
static volatile unsigned char *buf;
static size_t buf_len;
static _Atomic unsigned long long worst_gap_ns;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t go = PTHREAD_COND_INITIALIZER, done = PTHREAD_COND_INITIALIZER;
static unsigned long generation;	/* bumped for every touch */
static unsigned char value;		/* what this touch writes */
static long finished;			/* workers done with this generation */
static unsigned long long worker_ns[MAX_CPUS];

static unsigned long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void pin(long cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

static void *clock_thread(void *arg)
{
	struct timespec ms = { 0, 1000000 };
	unsigned long long prev;

	pin((long)arg);
	prev = now_ns();
	for (;;) {
		unsigned long long t, gap, w;

		clock_nanosleep(CLOCK_MONOTONIC, 0, &ms, NULL);
		t = now_ns();
		gap = t - prev;
		prev = t;
		w = atomic_load(&worst_gap_ns);
		while (gap > w && !atomic_compare_exchange_weak(&worst_gap_ns, &w, gap))
			;
	}
	return NULL;
}

/* Worker cpu: its share is the cpu'th of ncpu equal, page-aligned parts. */
static void *worker(void *arg)
{
	long cpu = (long)arg;
	size_t pages = buf_len / PAGE, from = pages * cpu / ncpu, to = pages * (cpu + 1) / ncpu;
	unsigned long seen = 0;

	pin(cpu);
	for (;;) {
		unsigned long long t0;
		unsigned char v;

		pthread_mutex_lock(&lock);
		while (generation == seen)
			pthread_cond_wait(&go, &lock);
		seen = generation;
		v = value;
		pthread_mutex_unlock(&lock);
		t0 = now_ns();
		for (size_t p = from; p < to; p++)
			buf[p * PAGE] = v;
		pthread_mutex_lock(&lock);
		worker_ns[cpu] = now_ns() - t0;
		if (++finished == ncpu)
			pthread_cond_signal(&done);
		pthread_mutex_unlock(&lock);
	}
	return NULL;
}

static void touch(unsigned long long *wall_ns, unsigned long long *slowest_ns)
{
	unsigned long long t0 = now_ns();

	pthread_mutex_lock(&lock);
	finished = 0;
	value++;
	generation++;
	pthread_cond_broadcast(&go);
	while (finished < ncpu)
		pthread_cond_wait(&done, &lock);
	*wall_ns = now_ns() - t0;
	*slowest_ns = 0;
	for (long i = 0; i < ncpu; i++)
		if (worker_ns[i] > *slowest_ns)
			*slowest_ns = worker_ns[i];
	pthread_mutex_unlock(&lock);
}

static long cmdline_long(const char *key)
{
	char line[4096], *p;
	FILE *f = fopen("/proc/cmdline", "r");
	long v = 0;

	if (!f)
		return 0;
	if (fgets(line, sizeof(line), f) && (p = strstr(line, key)))
		v = strtol(p + strlen(key), NULL, 10);
	fclose(f);
	return v;
}

/* The second serial port (COM2), a 16550A, driven by polling. */
#define COM2		0x2f8
#define UART_RBR_THR	0	/* receive buffer / transmit holding */
#define UART_IER	1	/* interrupts: all off */
#define UART_LCR	3	/* line control: 8N1 */
#define UART_MCR	4	/* modem control: DTR, RTS, no OUT2 (no IRQ) */
#define UART_LSR	5	/* line status */
#define UART_LSR_DR	0x01	/* a byte to read */
#define UART_LSR_THRE	0x20	/* room to write */

static int port_fd = -1;

static unsigned char inb_p(unsigned int port)
{
	unsigned char b = 0xff;

	if (pread(port_fd, &b, 1, port) != 1)
		b = 0xff;
	return b;
}

static void outb_p(unsigned char b, unsigned int port)
{
	if (pwrite(port_fd, &b, 1, port) != 1)
		perror("migload: write to /dev/port");
}

static int uart_init(void)
{
	port_fd = open("/dev/port", O_RDWR | O_CLOEXEC);
	if (port_fd < 0)
		return -1;
	/*
	 * Interrupts off and 8N1; the FIFO control is left alone: QEMU's
	 * model clears its FIFOs when their enable bit changes, and a
	 * command sent before we came up is waiting there.
	 */
	outb_p(0x00, COM2 + UART_IER);
	outb_p(0x03, COM2 + UART_LCR);
	outb_p(0x03, COM2 + UART_MCR);
	return 0;
}

/* The next byte, waiting a millisecond at a time for one. */
static char uart_getc(void)
{
	static const struct timespec ms = { 0, 1000000 };

	while (!(inb_p(COM2 + UART_LSR) & UART_LSR_DR))
		nanosleep(&ms, NULL);
	return (char)inb_p(COM2 + UART_RBR_THR);
}

static void reply(const char *line)
{
	fputs(line, stdout);
	for (; *line; line++) {
		while (!(inb_p(COM2 + UART_LSR) & UART_LSR_THRE))
			;
		outb_p((unsigned char)*line, COM2 + UART_RBR_THR);
	}
}

static void command(char *line)
{
	char out[160], word[16];
	unsigned long seq = 0;

	if (sscanf(line, "%15s %lu", word, &seq) < 1)
		return;
	if (!strcmp(word, "touch")) {
		unsigned long long wall, slowest;

		touch(&wall, &slowest);
		snprintf(out, sizeof(out), "TOUCH %lu %llu %llu %zu\n", seq, wall / 1000,
			 slowest / 1000, buf_len / PAGE);
	} else if (!strcmp(word, "gap")) {
		snprintf(out, sizeof(out), "GAP %lu %llu\n", seq,
			 atomic_exchange(&worst_gap_ns, 0) / 1000);
	} else if (!strcmp(word, "ping")) {
		snprintf(out, sizeof(out), "PONG %lu\n", seq);
	} else {
		snprintf(out, sizeof(out), "ERROR %lu unknown command %s\n", seq, word);
	}
	reply(out);
}

int main(void)
{
	long mib = cmdline_long("migload.mib=");
	char line[256];
	size_t n = 0;
	pthread_t t;

	setvbuf(stdout, NULL, _IOLBF, 0);
	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	if (ncpu < 1 || ncpu > MAX_CPUS)
		ncpu = ncpu < 1 ? 1 : MAX_CPUS;
	if (mib <= 0)
		mib = 64;
	buf_len = (size_t)mib << 20;
	buf = mmap(NULL, buf_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED) {
		perror("migload: mmap");
		return 1;
	}
	if (uart_init() < 0) {
		perror("migload: /dev/port (the second serial port)");
		return 1;
	}
	for (long i = 0; i < ncpu; i++)
		if (pthread_create(&t, NULL, worker, (void *)i) ||
		    pthread_create(&t, NULL, clock_thread, (void *)i)) {
			perror("migload: pthread_create");
			return 1;
		}
	printf("MIGLOAD up: %ld CPUs, %ld MiB\n", ncpu, mib);
	for (;;) {
		line[n] = uart_getc();
		if (line[n] == '\n' || line[n] == '\r' || n == sizeof(line) - 2) {
			line[n] = 0;
			if (n)
				command(line);
			n = 0;
		} else {
			n++;
		}
	}
}
