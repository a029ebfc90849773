// SPDX-License-Identifier: GPL-2.0
/*
 * kvm_prepop: /dev/kvm_prepop, the ioctl entry points and the counters.
 */
#include <linux/debugfs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/seq_file.h>
#include <linux/uaccess.h>

#include "compat.h"
#include "job.h"

struct pp_counters pp_counters;

/*
 * max_hold_ms: the hard ceiling of a POPULATE call, and so of any vCPU hold
 * (plus one batch of pages): no budget, not even 0 (none), exceeds it.
 */
static unsigned int pp_max_hold_ms = 100;
#define PP_MAX_HOLD_MS_LIMIT	10000

static int set_max_hold_ms(const char *val, const struct kernel_param *kp)
{
	unsigned int v;
	int ret = kstrtouint(val, 0, &v);

	if (ret)
		return ret;
	if (v < 1 || v > PP_MAX_HOLD_MS_LIMIT)
		return -EINVAL;
	WRITE_ONCE(pp_max_hold_ms, v);
	return 0;
}

static const struct kernel_param_ops max_hold_ops = {
	.set = set_max_hold_ms,
	.get = param_get_uint,
};
module_param_cb(max_hold_ms, &max_hold_ops, &pp_max_hold_ms, 0644);
MODULE_PARM_DESC(max_hold_ms, "no POPULATE holds a vCPU longer than this, ms (1-10000, default 100)");

u64 pp_hold_ceiling_ns(void)
{
	return (u64)READ_ONCE(pp_max_hold_ms) * NSEC_PER_MSEC;
}

/*
 * engine: 0 the best this kernel has (the fault engine where KVM exports
 * its fault path, else the pre-fault engine), 1 fault, 2 pre-fault.  An
 * engine this kernel cannot run fails the load.
 */
static int pp_engine_param;
module_param_named(engine, pp_engine_param, int, 0444);
MODULE_PARM_DESC(engine, "0 auto, 1 KVM's fault path (6.1, 6.12), 2 KVM_PRE_FAULT_MEMORY (6.12, 7.x)");

static const struct pp_engine *pp_the_engine;

const struct pp_engine *pp_engine(void)
{
	return pp_the_engine;
}

static int pick_engine(void)
{
	const struct pp_engine *fault = NULL, *prefault = NULL;

#if PP_HAVE_FAULT_ENGINE
	fault = &pp_fault_engine;
#endif
#if PP_HAVE_PREFAULT_ENGINE
	prefault = &pp_prefault_engine;
#endif
	switch (pp_engine_param) {
	case 0:
		pp_the_engine = fault ?: prefault;
		break;
	case KVM_PREPOP_ENGINE_FAULT:
		pp_the_engine = fault;
		break;
	case KVM_PREPOP_ENGINE_PREFAULT:
		pp_the_engine = prefault;
		break;
	}
	if (!pp_the_engine) {
		pr_err("kvm_prepop: engine=%d: not available on this kernel (fault: %s, pre-fault: %s)\n",
		       pp_engine_param, fault ? "yes" : "no", prefault ? "yes" : "no");
		return -EINVAL;
	}
	pr_info("kvm_prepop: %s engine\n", pp_the_engine->name);
	return 0;
}

/*
 * kick_signal: what gets a running vCPU's thread out of KVM_RUN.  QEMU's
 * SIG_IPI on Linux is SIGUSR1, whose handler only sets immediate_exit.
 * 0: never kick; vCPUs inside KVM_RUN are skipped.
 */
static int set_kick_signal(const char *val, const struct kernel_param *kp)
{
	int v, ret = kstrtoint(val, 0, &v);

	if (ret)
		return ret;
	if (v < 0 || v > _NSIG || v == SIGKILL || v == SIGSTOP)
		return -EINVAL;
	WRITE_ONCE(pp_kick_signal, v);
	return 0;
}

static const struct kernel_param_ops kick_signal_ops = {
	.set = set_kick_signal,
	.get = param_get_int,
};
module_param_cb(kick_signal, &kick_signal_ops, &pp_kick_signal, 0644);
MODULE_PARM_DESC(kick_signal, "signal that kicks a vCPU thread out of KVM_RUN (default 10, SIGUSR1; 0: never kick)");

/* The first published size of each struct: smaller is -EINVAL. */
#define PP_VERSION_SIZE0	sizeof(struct kvm_prepop_version)
#define PP_POPULATE_SIZE0	sizeof(struct kvm_prepop_populate)
#define PP_QUERY_SIZE0		sizeof(struct kvm_prepop_query)

/*
 * Copy in a size-prefixed struct: any size from size0 up, with bytes
 * beyond what this module knows required to be zero.
 */
static int copy_in(void *k, size_t ksize, size_t size0, void __user *u, u32 *usize)
{
	int ret;

	if (get_user(*usize, (u32 __user *)u))
		return -EFAULT;
	if (*usize < size0 || *usize > PAGE_SIZE)
		return -EINVAL;
	ret = copy_struct_from_user(k, ksize, u, *usize);
	if (ret == -E2BIG)
		return -EINVAL;
	return ret;
}

static int copy_out(void __user *u, const void *k, size_t ksize, u32 usize)
{
	return copy_to_user(u, k, min_t(size_t, ksize, usize)) ? -EFAULT : 0;
}

static long ioctl_version(void __user *u)
{
	struct kvm_prepop_version v;
	u32 usize;
	int ret = copy_in(&v, sizeof(v), PP_VERSION_SIZE0, u, &usize);

	if (ret)
		return ret;
	if (v.reserved || v.reserved2)
		return -EINVAL;
	v.api_version = KVM_PREPOP_API_VERSION;
	v.features = KVM_PREPOP_FEAT_POPULATE | KVM_PREPOP_FEAT_QUERY |
		     KVM_PREPOP_FEAT_HOLD;
	v.max_workers = PP_MAX_WORKERS;
	v.hold_ceiling_ns = pp_hold_ceiling_ns();
	v.engine = pp_engine()->id;
	return copy_out(u, &v, sizeof(v), usize);
}

static void counter_max(atomic64_t *c, u64 v)
{
	s64 old = atomic64_read(c);

	while ((u64)old < v && !atomic64_try_cmpxchg(c, &old, v))
		;
}

static long ioctl_populate(void __user *u)
{
	struct kvm_prepop_populate p;
	struct pp_vm vm;
	u32 usize;
	long ret = copy_in(&p, sizeof(p), PP_POPULATE_SIZE0, u, &usize);

	if (ret)
		return ret;
	if (p.flags || p.reserved || p.reserved2 || p.max_threads > PP_MAX_WORKERS ||
	    !PAGE_ALIGNED(p.start_gpa) || !PAGE_ALIGNED(p.end_gpa) ||
	    (p.end_gpa && p.end_gpa < p.start_gpa) ||
	    p.start_gpa >= (1ULL << 52) || p.end_gpa > (1ULL << 52))
		return -EINVAL;
	/* outputs start from zero whatever the caller left in them */
	p.next_gpa = p.mapped_4k = p.mapped_2m = p.mapped_1g = 0;
	p.fault_calls = p.elapsed_ns = p.max_hold_ns = p.max_kick_ns = 0;
	p.workers = p.kicks = 0;
	ret = pp_vm_get(p.vm_fd, &vm);
	if (ret)
		return ret;
	atomic64_inc(&pp_counters.populate_calls);
	ret = pp_populate(&vm, &p);
	pp_vm_put(&vm);
	atomic64_add(p.fault_calls, &pp_counters.fault_calls);
	atomic64_add(p.workers, &pp_counters.workers);
	atomic64_add(p.kicks, &pp_counters.kicks);
	counter_max(&pp_counters.max_hold_ns, p.max_hold_ns);
	counter_max(&pp_counters.max_kick_ns, p.max_kick_ns);
	switch (ret) {
	case 0:
		atomic64_inc(p.end_gpa && p.next_gpa < p.end_gpa ?
			     &pp_counters.populate_partial :
			     &pp_counters.populate_done);
		break;
	case -EBUSY:
		atomic64_inc(&pp_counters.err_busy);
		break;
	case -EAGAIN:
		atomic64_inc(&pp_counters.err_again);
		break;
	case -EINTR:
		atomic64_inc(&pp_counters.err_intr);
		break;
	default:
		atomic64_inc(&pp_counters.err_other);
	}
	/*
	 * The cursor and the figures go back with success and with the errors
	 * that leave the VM as a retry finds it: -EINTR, -EBUSY, -EAGAIN.
	 */
	if (ret && ret != -EINTR && ret != -EBUSY && ret != -EAGAIN)
		return ret;
	return copy_out(u, &p, sizeof(p), usize) ?: ret;
}

static long ioctl_query(void __user *u)
{
	struct kvm_prepop_query q;
	struct pp_vm vm;
	u32 usize;
	long ret = copy_in(&q, sizeof(q), PP_QUERY_SIZE0, u, &usize);
	s32 fd;

	if (ret)
		return ret;
	fd = q.vm_fd;
	if (q.flags || q.reserved)
		return -EINVAL;
	memset(&q, 0, sizeof(q));
	q.size = usize;
	q.vm_fd = fd;
	ret = pp_vm_get(fd, &vm);
	if (ret)
		return ret;
	atomic64_inc(&pp_counters.query_calls);
	ret = pp_query(&vm, &q);
	pp_vm_put(&vm);
	return ret ?: copy_out(u, &q, sizeof(q), usize);
}

static long pp_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	void __user *u = (void __user *)arg;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	switch (cmd) {
	case KVM_PREPOP_VERSION:
		return ioctl_version(u);
	case KVM_PREPOP_POPULATE:
		return ioctl_populate(u);
	case KVM_PREPOP_QUERY:
		return ioctl_query(u);
	}
	return -ENOTTY;
}

static const struct file_operations pp_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = pp_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice pp_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "kvm_prepop",
	.fops = &pp_fops,
	.mode = 0600,
};

static int stats_show(struct seq_file *m, void *unused)
{
#define C(x) seq_printf(m, "%-18s %lld\n", #x, atomic64_read(&pp_counters.x))
	C(populate_calls);
	C(populate_done);
	C(populate_partial);
	C(err_busy);
	C(err_again);
	C(err_intr);
	C(err_other);
	C(fault_calls);
	C(workers);
	C(query_calls);
	C(kicks);
	C(fault_gave_up);
	C(err_emulate);
	C(max_hold_ns);
	C(max_kick_ns);
#undef C
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(stats);

static struct dentry *pp_debugfs;

static int __init pp_init(void)
{
	int ret = pick_engine();

	if (ret)
		return ret;
	ret = misc_register(&pp_misc);
	if (ret)
		return ret;
	pp_debugfs = debugfs_create_dir("kvm_prepop", NULL);
	debugfs_create_file("stats", 0400, pp_debugfs, NULL, &stats_fops);
	return 0;
}

static void __exit pp_exit(void)
{
	debugfs_remove_recursive(pp_debugfs);
	misc_deregister(&pp_misc);
}

module_init(pp_init);
module_exit(pp_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Populate KVM stage-2 page tables ahead of the guest");
MODULE_VERSION("0.1.0");
