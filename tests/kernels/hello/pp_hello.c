// SPDX-License-Identifier: GPL-2.0
/*
 * The smallest out-of-tree module: it proves the build plumbing of a kernel
 * (headers, compiler, chroot) and that the emulated host loads what it builds.
 */
#include <linux/init.h>
#include <linux/module.h>
#include <linux/utsname.h>

static int __init pp_hello_init(void)
{
	pr_info("pp_hello: loaded on %s\n", init_utsname()->release);
	return 0;
}

static void __exit pp_hello_exit(void)
{
	pr_info("pp_hello: unloaded\n");
}

module_init(pp_hello_init);
module_exit(pp_hello_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("prepop testbed: build plumbing check");
