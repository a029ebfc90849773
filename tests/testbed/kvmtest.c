// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>

#include "kvmtest.h"

#ifndef MAP_HUGE_2MB
#define MAP_HUGE_2MB (21 << MAP_HUGE_SHIFT)
#define MAP_HUGE_1GB (30 << MAP_HUGE_SHIFT)
#endif

const char *const backing_name[B_COUNT] = { "anon-4k", "thp", "hugetlb-2m", "hugetlb-1g" };
int kvm_fd = -1, prepop_fd = -1;
char kt_errbuf[512];

int kt_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(kt_errbuf, sizeof(kt_errbuf), fmt, ap);
	va_end(ap);
	return -1;
}

/*
 * EBX: the vCPU's table (GUEST_TABLE + GUEST_TOUCH_STRIDE * index), its clock
 * 0x100 below (GUEST_CLOCK).
 * out 0x10; rdtsc to the clock; for each {start,end} in the table write one
 * byte a page; rdtsc to the clock + 8; out 0x11; loop
 */
static const uint8_t touch_code[] = {
	0xe6, PORT_READY,		/* 00 out 0x10, al */
	0x0f, 0x31,			/* 02 rdtsc */
	0x89, 0x83, 0x00, 0xff, 0xff, 0xff, /* 04 mov [ebx - 0x100], eax */
	0x89, 0x93, 0x04, 0xff, 0xff, 0xff, /* 0a mov [ebx - 0xfc], edx */
	0x89, 0xde,			/* 10 mov esi, ebx */
	0x8b, 0x0e,			/* 12 mov ecx, [esi] */
	0x83, 0xc6, 0x04,		/* 14 add esi, 4 */
	0x8b, 0x3e,			/* 17 .range: mov edi, [esi] */
	0x8b, 0x56, 0x04,		/* 19 mov edx, [esi+4] */
	0xc6, 0x07, 0x01,		/* 1c .page: mov byte [edi], 1 */
	0x81, 0xc7, 0x00, 0x10, 0x00, 0x00, /* 1f add edi, 4096 */
	0x39, 0xd7,			/* 25 cmp edi, edx */
	0x72, 0xf3,			/* 27 jb .page */
	0x83, 0xc6, 0x08,		/* 29 add esi, 8 */
	0x49,				/* 2c dec ecx */
	0x75, 0xe8,			/* 2d jnz .range */
	0x0f, 0x31,			/* 2f rdtsc */
	0x89, 0x83, 0x08, 0xff, 0xff, 0xff, /* 31 mov [ebx - 0xf8], eax */
	0x89, 0x93, 0x0c, 0xff, 0xff, 0xff, /* 37 mov [ebx - 0xf4], edx */
	0xe6, PORT_TOUCHED,		/* 3d out 0x11, al */
	0xeb, 0xbf,			/* 3f jmp 0 */
};
static const uint8_t spin_code[] = { 0xeb, 0xfe };	/* jmp $ */

static void on_sigusr1(int sig)
{
	(void)sig;
}

/*
 * KVM flips static keys (preempt notifiers, kvm_has_noapic_vcpu) when the
 * first VM or vCPU appears and the last goes, and the kernel patches its
 * text for each flip.  QEMU's TCG (7.2) can keep running a stale
 * translation of the patched __schedule on the other vCPU, which then
 * loops on int3 forever.  A VM that lives as long as the test program
 * keeps every key on, so no test triggers the emulator's bug.
 */
static struct vm keeper;

void kt_init(void)
{
	struct sigaction sa = { .sa_handler = on_sigusr1 };

	sigaction(SIGUSR1, &sa, NULL);
	kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	prepop_fd = open(KVM_PREPOP_DEVICE, O_RDWR | O_CLOEXEC);
	if (kvm_fd < 0 || prepop_fd < 0) {
		perror("open /dev/kvm or " KVM_PREPOP_DEVICE);
		exit(2);
	}
	if (vm_create(&keeper) < 0 || vm_add_vcpu(&keeper, GUEST_CODE) < 0) {
		fprintf(stderr, "keeper VM: %s\n", kt_errbuf);
		exit(2);
	}
}

void kt_init_vmm(void)
{
	struct sigaction sa = { .sa_handler = on_sigusr1 };

	sigaction(SIGUSR1, &sa, NULL);
	kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm_fd < 0) {
		perror("open /dev/kvm");
		exit(2);
	}
	prepop_fd = open(KVM_PREPOP_DEVICE, O_RDWR | O_CLOEXEC);	/* vcpu_spin_start's query */
}

void kt_keep_vm(void)
{
	struct vm vm;

	kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm_fd < 0 || vm_create(&vm) < 0 || vm_add_vcpu(&vm, GUEST_CODE) < 0) {
		fprintf(stderr, "keep-vm: %s\n", kvm_fd < 0 ? strerror(errno) : kt_errbuf);
		exit(2);
	}
	for (;;)
		pause();
}

uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

int vm_create(struct vm *vm)
{
	memset(vm, 0, sizeof(*vm));
	vm->fd = ioctl(kvm_fd, KVM_CREATE_VM, 0);
	if (vm->fd < 0)
		return kt_err("KVM_CREATE_VM: %s", strerror(errno));
	return 0;
}

void vm_destroy(struct vm *vm)
{
	for (int i = 0; i < vm->nvcpus; i++) {
		if (vm->vcpus[i].spinning)
			vcpu_spin_stop(vm, i);
		munmap(vm->vcpus[i].run, ioctl(kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0));
		close(vm->vcpus[i].fd);
	}
	if (vm->fd >= 0)
		close(vm->fd);
	for (int i = 0; i < vm->nslots; i++)
		munmap(vm->slots[i].map, vm->slots[i].map_len);
	memset(vm, 0, sizeof(*vm));
	vm->fd = -1;
}

int vm_add_slot(struct vm *vm, uint64_t gpa, uint64_t size, enum backing b, bool readonly)
{
	struct slot *s = &vm->slots[vm->nslots];
	struct kvm_userspace_memory_region r;
	uint64_t align = b == B_HUGE1G ? GiB : 2 * MiB;
	int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
	char *p;

	if (vm->nslots == MAX_SLOTS)
		return kt_err("too many slots");
	s->gpa = gpa;
	s->size = size;
	s->readonly = readonly;
	if (b == B_HUGE2M || b == B_HUGE1G) {
		flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB |
			(b == B_HUGE2M ? MAP_HUGE_2MB : MAP_HUGE_1GB);
		s->map_len = size;
		s->map = mmap(NULL, size, PROT_READ | PROT_WRITE, flags, -1, 0);
		if (s->map == MAP_FAILED)
			return kt_err("mmap %s %llu MiB: %s", backing_name[b],
				      (unsigned long long)(size >> 20), strerror(errno));
		s->hva = s->map;
	} else {
		/* align the host address like the guest address, so huge pages can map */
		s->map_len = size + align;
		s->map = mmap(NULL, s->map_len, PROT_READ | PROT_WRITE, flags, -1, 0);
		if (s->map == MAP_FAILED)
			return kt_err("mmap: %s", strerror(errno));
		p = (char *)(((uintptr_t)s->map + align - 1) & ~(uintptr_t)(align - 1));
		s->hva = p;
		if (madvise(p, size, b == B_THP ? MADV_HUGEPAGE : MADV_NOHUGEPAGE) < 0)
			return kt_err("madvise: %s", strerror(errno));
	}
	r.slot = vm->nslots;
	r.flags = readonly ? KVM_MEM_READONLY : 0;
	r.guest_phys_addr = gpa;
	r.memory_size = size;
	r.userspace_addr = (uintptr_t)s->hva;
	if (ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &r) < 0)
		return kt_err("KVM_SET_USER_MEMORY_REGION: %s", strerror(errno));
	vm->nslots++;
	/* slot 0 carries the guest's code */
	if (gpa == 0) {
		memcpy((char *)s->hva + GUEST_CODE, touch_code, sizeof(touch_code));
		memcpy((char *)s->hva + GUEST_SPIN, spin_code, sizeof(spin_code));
	}
	return 0;
}

void *vm_hva(struct vm *vm, uint64_t gpa)
{
	for (int i = 0; i < vm->nslots; i++)
		if (gpa >= vm->slots[i].gpa && gpa < vm->slots[i].gpa + vm->slots[i].size)
			return (char *)vm->slots[i].hva + (gpa - vm->slots[i].gpa);
	return NULL;
}

/* TSC ticks per second, against CLOCK_MONOTONIC over 200 ms, once. */
static double tsc_hz(void)
{
	static double hz;

	if (!hz) {
		uint64_t t0 = now_ns(), c0 = __rdtsc(), t1, c1;

		usleep(200 * 1000);
		c1 = __rdtsc();
		t1 = now_ns();
		hz = (c1 - c0) * 1e9 / (t1 - t0);
	}
	return hz;
}

/* vCPU i's table */
static uint32_t *touch_table(struct vm *vm, int i)
{
	return vm_hva(vm, GUEST_TABLE + GUEST_TOUCH_STRIDE * i);
}

double vm_guest_touch_s(struct vm *vm, int n)
{
	uint64_t start = UINT64_MAX, end = 0;

	for (int i = 0; i < n; i++) {
		const uint64_t *clock = vm_hva(vm, GUEST_CLOCK + GUEST_TOUCH_STRIDE * i);

		start = clock[0] < start ? clock[0] : start;
		end = clock[1] > end ? clock[1] : end;
	}
	return (double)(end - start) / tsc_hz();
}

void vm_set_touch_split(struct vm *vm, int n)
{
	for (int v = 0; v < MAX_TOUCH_VCPUS; v++) {
		uint32_t *t = touch_table(vm, v);
		uint32_t k = 0;

		for (int i = 0; i < vm->nslots; i++) {
			uint64_t pages = vm->slots[i].size / 4096, first, last;

			if (vm->slots[i].readonly)
				continue;
			/* a vCPU past n: all of it */
			first = v < n ? pages * v / n : 0;
			last = v < n ? pages * (v + 1) / n : pages;
			if (first == last)
				continue;
			/* the last byte of each page: never the code at the start of one */
			t[1 + 2 * k] = (uint32_t)(vm->slots[i].gpa + first * 4096) + 0xfff;
			t[2 + 2 * k] = (uint32_t)(vm->slots[i].gpa + last * 4096);
			k++;
		}
		if (!k) {	/* nothing to touch: one byte of page 0 (a count of 0 would loop 2^32 times) */
			t[1] = 0xfff;
			t[2] = 0x1000;
			k = 1;
		}
		t[0] = k;
	}
}

void vm_set_touch_all(struct vm *vm)
{
	vm_set_touch_split(vm, 1);
}

static void flat_seg(struct kvm_segment *s, int sel, int type)
{
	memset(s, 0, sizeof(*s));
	s->base = 0;
	s->limit = 0xffffffff;
	s->selector = sel;
	s->type = type;
	s->present = 1;
	s->db = 1;
	s->s = 1;
	s->g = 1;
}

int vm_add_vcpu(struct vm *vm, uint64_t rip)
{
	struct vcpu *v = &vm->vcpus[vm->nvcpus];
	struct kvm_sregs sregs;
	/* the touch's table: its own for the first MAX_TOUCH_VCPUS, else vCPU 0's */
	struct kvm_regs regs = { .rip = rip, .rflags = 2,
		.rbx = GUEST_TABLE + GUEST_TOUCH_STRIDE * (vm->nvcpus < MAX_TOUCH_VCPUS ? vm->nvcpus : 0) };
	int sz = ioctl(kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);

	v->fd = ioctl(vm->fd, KVM_CREATE_VCPU, vm->nvcpus);
	if (v->fd < 0)
		return kt_err("KVM_CREATE_VCPU: %s", strerror(errno));
	v->run = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (v->run == MAP_FAILED)
		return kt_err("mmap kvm_run: %s", strerror(errno));
	if (ioctl(v->fd, KVM_GET_SREGS, &sregs) < 0)
		return kt_err("KVM_GET_SREGS: %s", strerror(errno));
	flat_seg(&sregs.cs, 8, 11);
	flat_seg(&sregs.ds, 16, 3);
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	sregs.cr0 = 0x11;	/* PE, ET; no paging */
	if (ioctl(v->fd, KVM_SET_SREGS, &sregs) < 0 ||
	    ioctl(v->fd, KVM_SET_REGS, &regs) < 0)
		return kt_err("set registers: %s", strerror(errno));
	vm->nvcpus++;
	return 0;
}

int vcpu_run_to(struct vm *vm, int i, int port)
{
	struct vcpu *v = &vm->vcpus[i];

	for (;;) {
		if (ioctl(v->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR)
				continue;
			return kt_err("KVM_RUN: %s", strerror(errno));
		}
		if (v->run->exit_reason == KVM_EXIT_IO && v->run->io.port == port)
			return 0;
		if (v->run->exit_reason == KVM_EXIT_IO)
			continue;	/* an earlier stage's port */
		return kt_err("vCPU %d: unexpected exit %u", i, v->run->exit_reason);
	}
}

static void *spin_thread(void *arg)
{
	struct vcpu *v = arg;

	/* returns with EINTR when vcpu_spin_stop() signals the thread */
	while (!__atomic_load_n(&v->run->immediate_exit, __ATOMIC_ACQUIRE)) {
		int r = ioctl(v->fd, KVM_RUN, 0);

		__atomic_add_fetch(&v->runs, 1, __ATOMIC_RELAXED);
		if (r < 0 && errno != EINTR)
			break;
	}
	return NULL;
}

int vcpu_spin_start(struct vm *vm, int i)
{
	struct vcpu *v = &vm->vcpus[i];
	struct kvm_regs regs = { .rip = GUEST_SPIN, .rflags = 2 };

	if (ioctl(v->fd, KVM_SET_REGS, &regs) < 0)
		return kt_err("KVM_SET_REGS: %s", strerror(errno));
	v->run->immediate_exit = 0;
	if (pthread_create(&v->thread, NULL, spin_thread, v))
		return kt_err("pthread_create");
	v->spinning = true;
	/* wait until the vCPU is really inside KVM_RUN: its mutex is taken */
	for (int t = 0; t < 2000; t++) {
		struct kvm_prepop_query q;

		if (pp_query(vm->fd, &q) == 0 && q.vcpus_running > 0)
			return 0;
		usleep(1000);
	}
	return kt_err("vCPU %d never entered KVM_RUN", i);
}

int vcpu_spin_stop(struct vm *vm, int i)
{
	struct vcpu *v = &vm->vcpus[i];

	__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_RELEASE);
	pthread_kill(v->thread, SIGUSR1);
	pthread_join(v->thread, NULL);
	v->run->immediate_exit = 0;
	v->spinning = false;
	return 0;
}

int dirty_log(struct vm *vm, int slot, bool on)
{
	struct slot *s = &vm->slots[slot];
	struct kvm_userspace_memory_region r = {
		.slot = slot,
		.flags = (on ? KVM_MEM_LOG_DIRTY_PAGES : 0) | (s->readonly ? KVM_MEM_READONLY : 0),
		.guest_phys_addr = s->gpa,
		.memory_size = s->size,
		.userspace_addr = (uintptr_t)s->hva,
	};

	if (ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &r) < 0)
		return kt_err("dirty log %s: %s", on ? "on" : "off", strerror(errno));
	return 0;
}

long long vm_stat(struct vm *vm, const char *name)
{
	char path[128];
	long long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/kernel/debug/kvm/%d-%d/%s", getpid(), vm->fd, name);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fscanf(f, "%lld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

static void param_path(char *path, size_t len, const char *module, const char *name)
{
	snprintf(path, len, "/sys/module/%s/parameters/%s", module, name);
}

int kt_put(const char *path, const char *val)
{
	ssize_t n;
	int fd, r = 0;

	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	if (n < 0)
		r = -errno;
	else if ((size_t)n != strlen(val))
		r = -EIO;
	close(fd);
	return r;
}

int module_param_set(const char *module, const char *name, const char *val)
{
	char path[128];

	param_path(path, sizeof(path), module, name);
	return kt_put(path, val);
}

int module_param_get(const char *module, const char *name, char *buf, size_t len)
{
	char path[128];
	ssize_t n;
	int fd;

	param_path(path, sizeof(path), module, name);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

int pp_populate_once(int vm_fd, uint64_t start, uint64_t end, uint64_t budget_ns,
		     unsigned max_threads, struct kvm_prepop_populate *out)
{
	memset(out, 0, sizeof(*out));
	out->size = sizeof(*out);
	out->vm_fd = vm_fd;
	out->start_gpa = start;
	out->end_gpa = end;
	out->budget_ns = budget_ns;
	out->max_threads = max_threads;
	return ioctl(prepop_fd, KVM_PREPOP_POPULATE, out) < 0 ? -errno : 0;
}

int pp_populate(int vm_fd, uint64_t start, uint64_t end, uint64_t budget_ns,
		unsigned max_threads, struct kvm_prepop_populate *out)
{
	struct kvm_prepop_populate p;
	int r, calls = 0, busy = 0;

	memset(out, 0, sizeof(*out));
	out->next_gpa = start;
	out->end_gpa = end;
	/*
	 * The header's rule: call again from next_gpa until it reaches end_gpa;
	 * -EBUSY (running vCPUs not taken in time) says what it did: try again.
	 */
	for (;;) {
		r = pp_populate_once(vm_fd, out->next_gpa, out->end_gpa, budget_ns, max_threads, &p);
		if (r && r != -EBUSY)
			return r;
		out->next_gpa = p.next_gpa > out->next_gpa ? p.next_gpa : out->next_gpa;
		if (p.end_gpa)
			out->end_gpa = p.end_gpa;
		out->mapped_4k += p.mapped_4k;
		out->mapped_2m += p.mapped_2m;
		out->mapped_1g += p.mapped_1g;
		out->fault_calls += p.fault_calls;
		out->elapsed_ns += p.elapsed_ns;
		out->kicks += p.kicks;
		out->workers = p.workers > out->workers ? p.workers : out->workers;
		out->max_hold_ns = p.max_hold_ns > out->max_hold_ns ? p.max_hold_ns : out->max_hold_ns;
		out->max_kick_ns = p.max_kick_ns > out->max_kick_ns ? p.max_kick_ns : out->max_kick_ns;
		if (r == -EBUSY) {
			if (++busy > 20)
				return r;
			usleep(10000);
			continue;
		}
		if ((out->end_gpa && out->next_gpa >= out->end_gpa) || ++calls >= 100000)
			return 0;
	}
}

int pp_query(int vm_fd, struct kvm_prepop_query *q)
{
	memset(q, 0, sizeof(*q));
	q->size = sizeof(*q);
	q->vm_fd = vm_fd;
	return ioctl(prepop_fd, KVM_PREPOP_QUERY, q) < 0 ? -errno : 0;
}
