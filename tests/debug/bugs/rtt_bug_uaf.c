// SPDX-License-Identifier: GPL-2.0
/*
 * rtt_bug_uaf - reads memory after freeing it.
 *
 * KASAN must report a slab use-after-free at the read. The module refuses
 * to load on a kernel without KASAN, where the read would go unnoticed.
 */
#include <linux/module.h>
#include <linux/slab.h>

static int __init bug_init(void)
{
	int *p, v;

	if (!IS_ENABLED(CONFIG_KASAN)) {
		pr_err("rtt_bug_uaf: needs CONFIG_KASAN (the debug kernel)\n");
		return -EOPNOTSUPP;
	}
	p = kmalloc(64, GFP_KERNEL);
	if (!p)
		return -ENOMEM;
	p[0] = 42;
	kfree(p);
	v = READ_ONCE(p[0]);
	pr_info("rtt_bug_uaf: read %d from freed memory\n", v);
	return 0;
}

static void __exit bug_exit(void)
{
}

module_init(bug_init);
module_exit(bug_exit);
MODULE_DESCRIPTION("rt-tracer debug tier: a use-after-free");
MODULE_LICENSE("GPL");
