// SPDX-License-Identifier: GPL-2.0
/*
 * rtt_bug_sleep_in_probe - takes a spinlock_t in a sched_switch probe.
 *
 * On PREEMPT_RT a spinlock_t is a sleeping lock; the scheduler calls the
 * probe with its runqueue lock held and interrupts off. The debug kernel
 * must say so (DEBUG_ATOMIC_SLEEP: "sleeping function called from invalid
 * context"; PROVE_RAW_LOCK_NESTING: "Invalid wait context"). The lock is
 * never contended, so the mistake is reported without a real sleep.
 */
#include <linux/module.h>
#include <linux/tracepoint.h>
#include <linux/sched.h>
#include <linux/spinlock.h>
#include <linux/delay.h>

static DEFINE_SPINLOCK(bug_lock);
static struct tracepoint *bug_tp;
static atomic_t bug_hits = ATOMIC_INIT(0);

/* bug_probe - the sched_switch probe that takes the wrong kind of lock */
static void bug_probe(void *data, bool preempt, struct task_struct *prev,
		      struct task_struct *next, unsigned int prev_state)
{
	/* a few times are enough to be reported; the reports are ratelimited */
	if (atomic_inc_return(&bug_hits) > 4)
		return;
	spin_lock(&bug_lock);
	spin_unlock(&bug_lock);
}

static void bug_find_tp(struct tracepoint *tp, void *priv)
{
	if (!strcmp(tp->name, "sched_switch"))
		bug_tp = tp;
}

static int __init bug_init(void)
{
	int ret, i;

	for_each_kernel_tracepoint(bug_find_tp, NULL);
	if (!bug_tp) {
		pr_err("rtt_bug_sleep_in_probe: no sched_switch tracepoint\n");
		return -ENOENT;
	}
	ret = tracepoint_probe_register(bug_tp, bug_probe, NULL);
	if (ret)
		return ret;
	for (i = 0; i < 50 && atomic_read(&bug_hits) < 4; i++)
		msleep(20);
	tracepoint_probe_unregister(bug_tp, bug_probe, NULL);
	tracepoint_synchronize_unregister();
	pr_info("rtt_bug_sleep_in_probe: took a spinlock_t in %d sched_switch probes\n",
		min(atomic_read(&bug_hits), 4));
	return 0;
}

static void __exit bug_exit(void)
{
}

module_init(bug_init);
module_exit(bug_exit);
MODULE_DESCRIPTION("rt-tracer debug tier: a sleeping lock in a scheduler probe");
MODULE_LICENSE("GPL");
