// SPDX-License-Identifier: GPL-2.0
/*
 * rtt_bug_lock_order - takes two locks in opposite orders on two paths.
 *
 * The paths run one after the other, so nothing deadlocks here; lockdep
 * (PROVE_LOCKING) must still report the possible circular dependency, as
 * it would before two CPUs ever met in it.
 */
#include <linux/module.h>
#include <linux/mutex.h>

static DEFINE_MUTEX(bug_a);
static DEFINE_MUTEX(bug_b);
static int bug_state;

/* bug_path_ab - the first path: a, then b */
static noinline void bug_path_ab(void)
{
	mutex_lock(&bug_a);
	mutex_lock(&bug_b);
	bug_state++;
	mutex_unlock(&bug_b);
	mutex_unlock(&bug_a);
}

/* bug_path_ba - the second path: b, then a (the inversion) */
static noinline void bug_path_ba(void)
{
	mutex_lock(&bug_b);
	mutex_lock(&bug_a);
	bug_state++;
	mutex_unlock(&bug_a);
	mutex_unlock(&bug_b);
}

static int __init bug_init(void)
{
	bug_path_ab();
	bug_path_ba();
	pr_info("rtt_bug_lock_order: took a/b in both orders (%d)\n", bug_state);
	return 0;
}

static void __exit bug_exit(void)
{
}

module_init(bug_init);
module_exit(bug_exit);
MODULE_DESCRIPTION("rt-tracer debug tier: a lock-order inversion");
MODULE_LICENSE("GPL");
