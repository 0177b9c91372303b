// SPDX-License-Identifier: GPL-2.0
/*
 * rtt_bug_armed_free - frees memory holding an armed hrtimer.
 *
 * DEBUG_OBJECTS_TIMERS (which covers hrtimers; 6.12 has no separate
 * DEBUG_OBJECTS_HRTIMERS) with DEBUG_OBJECTS_FREE must report the free of
 * an active hrtimer, and its fixup cancels the timer. Without that fixup the timer would later
 * fire in freed memory: the module refuses to load on a kernel without
 * the checker.
 */
#include <linux/module.h>
#include <linux/hrtimer.h>
#include <linux/slab.h>

struct bug_obj {
	struct hrtimer timer;
	int fired;
};

static enum hrtimer_restart bug_fn(struct hrtimer *t)
{
	container_of(t, struct bug_obj, timer)->fired++;
	return HRTIMER_NORESTART;
}

static int __init bug_init(void)
{
	struct bug_obj *o;

	if (!IS_ENABLED(CONFIG_DEBUG_OBJECTS_TIMERS) ||
	    !IS_ENABLED(CONFIG_DEBUG_OBJECTS_FREE)) {
		pr_err("rtt_bug_armed_free: needs CONFIG_DEBUG_OBJECTS_TIMERS and _FREE (the debug kernel)\n");
		return -EOPNOTSUPP;
	}
	o = kzalloc(sizeof(*o), GFP_KERNEL);
	if (!o)
		return -ENOMEM;
	hrtimer_init(&o->timer, CLOCK_MONOTONIC, HRTIMER_MODE_REL);
	o->timer.function = bug_fn;
	hrtimer_start(&o->timer, ms_to_ktime(10000), HRTIMER_MODE_REL);
	kfree(o);
	pr_info("rtt_bug_armed_free: freed an armed hrtimer\n");
	return 0;
}

static void __exit bug_exit(void)
{
}

module_init(bug_init);
module_exit(bug_exit);
MODULE_DESCRIPTION("rt-tracer debug tier: an armed hrtimer freed");
MODULE_LICENSE("GPL");
